/* sip_app.c - a stand-in SIP server for the W4 scenario (passive SIP
 * monitoring): it answers SIP over UDP and tells the local nlbctld agent,
 * over the agent's named pipe, whether it can serve.
 *
 *   sip_app.exe --port 5060 [--bind IP] [--agent-pipe NAME] [--silence-ms N]
 *               [--log FILE]
 *
 * It listens on UDP and TCP at the same port (up to TCP_CLIENTS connections,
 * messages framed by Content-Length). Answers (minimal RFC 3261 responses,
 * Via/From/To/Call-ID/CSeq copied, a To tag added, Content-Length always
 * present, sent back to the datagram's source address or on the connection
 * the request came on):
 *   OPTIONS -> 200 OK          INVITE -> 100 Trying, then 200 OK with an SDP body
 *   ACK     -> nothing         BYE    -> 200 OK          other -> 501 Not Implemented
 *
 * With --agent-pipe it sends WIRE_APP_STATUS to the agent: available = 1 at
 * start and whenever SIP arrives again after a silence; available = 0 with
 * the reason "no SIP received for N ms" once no SIP request arrived for
 * --silence-ms (0, the default: silence is never reported). A report is sent
 * only on a change, re-sent every 5 s while unavailable (the agent may have
 * restarted), and retried every second after a pipe error; pipe errors are
 * printed, never fatal. One line per state change goes to stdout (and to
 * --log FILE, since an agent starts its application without a console).
 *
 * Note: passive monitoring needs a steady trickle of SIP (OPTIONS pings from
 * a monitor, say); an idle but healthy server would report SERVICE_UNAVAILABLE.
 */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "pipe_client.h"
#include "wire.h"

#define RESEND_UNAVAILABLE_MS 5000
#define RETRY_AFTER_ERROR_MS 1000
#define PIPE_TIMEOUT_MS 2000
#define MAX_DGRAM 65535

static CRITICAL_SECTION lock;
static int desired_available = 1; /* under lock */
static char desired_reason[WIRE_REASON_MAX + 1] = "SIP server started";
static char pipe_name[64];
static FILE *log_file;
static volatile LONG requests;

static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    SYSTEMTIME t;
    GetLocalTime(&t);
    EnterCriticalSection(&lock);
    printf("%02u:%02u:%02u.%03u sip_app: %s\n", t.wHour, t.wMinute, t.wSecond,
           t.wMilliseconds, line);
    fflush(stdout);
    if (log_file) {
        fprintf(log_file, "%02u:%02u:%02u.%03u sip_app: %s\n", t.wHour, t.wMinute, t.wSecond,
                t.wMilliseconds, line);
        fflush(log_file);
    }
    LeaveCriticalSection(&lock);
}

/* ---- reports to the agent ------------------------------------------------ */

static int send_report(int available, const char *reason, uint32_t id)
{
    struct wire_msg req, reply;
    memset(&req, 0, sizeof req);
    memset(&reply, 0, sizeof reply);
    req.type = WIRE_APP_STATUS;
    req.id = id;
    req.u.app_status.available = (uint8_t)(available ? 1 : 0);
    snprintf(req.u.app_status.reason, sizeof req.u.app_status.reason, "%s", reason);
    char err[512];
    int rc = pipe_client_call(pipe_name, &req, &reply, PIPE_TIMEOUT_MS, err, sizeof err);
    if (rc != PIPE_CLIENT_OK) {
        say("cannot report to the agent (will retry): %s", err);
        return -1;
    }
    if (reply.type != WIRE_RESULT) {
        say("the agent answered with %s, not RESULT (will retry)", wire_type_name(reply.type));
        return -1;
    }
    if (reply.u.result.code != 0) {
        say("the agent refused the report (code %d): %s", (int)reply.u.result.code,
            reply.u.result.text);
        return -1;
    }
    say("reported available=%d to the agent: %s", available, reply.u.result.text);
    return 0;
}

static DWORD WINAPI reporter(LPVOID arg)
{
    (void)arg;
    int reported = -1; /* nothing sent yet */
    ULONGLONG last_try = 0;
    int last_failed = 0;
    uint32_t id = 1;
    for (;;) {
        EnterCriticalSection(&lock);
        int want = desired_available;
        char reason[WIRE_REASON_MAX + 1];
        memcpy(reason, desired_reason, sizeof reason);
        LeaveCriticalSection(&lock);
        ULONGLONG now = GetTickCount64();
        int due = 0;
        if (want != reported)
            due = !last_failed || now - last_try >= RETRY_AFTER_ERROR_MS;
        else if (!want && now - last_try >= RESEND_UNAVAILABLE_MS)
            due = 1;
        else if (last_failed && now - last_try >= RETRY_AFTER_ERROR_MS)
            due = 1;
        if (due) {
            last_try = now;
            if (send_report(want, reason, id++) == 0) {
                reported = want;
                last_failed = 0;
            } else {
                last_failed = 1;
            }
        }
        Sleep(100);
    }
    return 0;
}

static void set_available(int available, const char *reason)
{
    EnterCriticalSection(&lock);
    int changed = desired_available != available;
    desired_available = available;
    snprintf(desired_reason, sizeof desired_reason, "%s", reason);
    LeaveCriticalSection(&lock);
    if (changed)
        say("%s: %s (%ld requests so far)", available ? "AVAILABLE" : "SERVICE_UNAVAILABLE",
            reason, (long)requests);
}

/* ---- SIP ------------------------------------------------------------------- */

/* Appends to out; returns -1 when it would not fit. */
static int put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return -1;
    *len += (size_t)n;
    return 0;
}

/* Header name match, long or compact form, case-insensitive. */
static int is_header(const char *line, size_t n, const char *name, const char *compact)
{
    size_t colon = 0;
    while (colon < n && line[colon] != ':')
        colon++;
    if (colon == n)
        return 0;
    size_t end = colon;
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    if (end == strlen(name) && _strnicmp(line, name, end) == 0)
        return 1;
    return compact && end == strlen(compact) && _strnicmp(line, compact, end) == 0;
}

static const char *header_value(const char *line, size_t n, size_t *vn)
{
    const char *c = memchr(line, ':', n);
    c++;
    while (c < line + n && (*c == ' ' || *c == '\t'))
        c++;
    *vn = (size_t)(line + n - c);
    return c;
}

struct sip_req {
    char method[32];
    const char *via[16];
    size_t via_n[16];
    int vias;
    const char *from, *to, *call_id, *cseq;
    size_t from_n, to_n, call_id_n, cseq_n;
};

static int parse(char *buf, size_t len, struct sip_req *r)
{
    memset(r, 0, sizeof r[0]);
    char *end = buf + len;
    char *eol = strstr(buf, "\r\n");
    if (!eol)
        return -1;
    /* Request line: METHOD SP Request-URI SP SIP/2.0 */
    char *sp = memchr(buf, ' ', (size_t)(eol - buf));
    if (!sp || (size_t)(sp - buf) >= sizeof r->method || sp == buf)
        return -1;
    if (eol - buf < 8 || memcmp(eol - 7, "SIP/2.0", 7) != 0)
        return -1; /* a response, or not SIP */
    memcpy(r->method, buf, (size_t)(sp - buf));
    char *line = eol + 2;
    while (line < end) {
        char *next = strstr(line, "\r\n");
        if (!next)
            next = end;
        size_t n = (size_t)(next - line);
        if (n == 0)
            break; /* end of headers */
        size_t vn;
        if (is_header(line, n, "Via", "v")) {
            if (r->vias < 16) {
                r->via[r->vias] = header_value(line, n, &vn);
                r->via_n[r->vias++] = vn;
            }
        } else if (is_header(line, n, "From", "f")) {
            r->from = header_value(line, n, &r->from_n);
        } else if (is_header(line, n, "To", "t")) {
            r->to = header_value(line, n, &r->to_n);
        } else if (is_header(line, n, "Call-ID", "i")) {
            r->call_id = header_value(line, n, &r->call_id_n);
        } else if (is_header(line, n, "CSeq", NULL)) {
            r->cseq = header_value(line, n, &r->cseq_n);
        }
        line = next + 2;
    }
    if (!r->vias || !r->from || !r->to || !r->call_id || !r->cseq)
        return -1;
    return 0;
}

static int has_tag(const char *v, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (_strnicmp(v + i, "tag=", 4) == 0 && i > 0 && (v[i - 1] == ';' || v[i - 1] == ' '))
            return 1;
    return 0;
}

static int build(char *out, size_t cap, const struct sip_req *r, int code, const char *phrase,
                 int tag, const char *extra, const char *body, const char *local_ip,
                 unsigned port)
{
    size_t len = 0;
    int bad = put(out, cap, &len, "SIP/2.0 %d %s\r\n", code, phrase);
    for (int i = 0; i < r->vias; i++)
        bad |= put(out, cap, &len, "Via: %.*s\r\n", (int)r->via_n[i], r->via[i]);
    bad |= put(out, cap, &len, "From: %.*s\r\n", (int)r->from_n, r->from);
    if (tag && !has_tag(r->to, r->to_n)) {
        /* The same tag for the whole dialog: derived from the Call-ID. */
        unsigned long h = 5381;
        for (size_t i = 0; i < r->call_id_n; i++)
            h = h * 33 + (unsigned char)r->call_id[i];
        bad |= put(out, cap, &len, "To: %.*s;tag=sa%08lx\r\n", (int)r->to_n, r->to, h);
    } else {
        bad |= put(out, cap, &len, "To: %.*s\r\n", (int)r->to_n, r->to);
    }
    bad |= put(out, cap, &len, "Call-ID: %.*s\r\nCSeq: %.*s\r\n", (int)r->call_id_n, r->call_id,
               (int)r->cseq_n, r->cseq);
    if (code >= 200 && strcmp(r->method, "INVITE") == 0)
        bad |= put(out, cap, &len, "Contact: <sip:sip_app@%s:%u>\r\n", local_ip, port);
    bad |= put(out, cap, &len, "Server: nlbctl-sip-app\r\n%s", extra ? extra : "");
    size_t blen = body ? strlen(body) : 0;
    if (blen)
        bad |= put(out, cap, &len, "Content-Type: application/sdp\r\n");
    bad |= put(out, cap, &len, "Content-Length: %u\r\n\r\n%s", (unsigned)blen, body ? body : "");
    return bad ? -1 : (int)len;
}

/* to: the datagram's source (UDP), or NULL for a TCP connection. */
static void reply(SOCKET s, const struct sockaddr_in *to, const char *msg, int len)
{
    if (len <= 0)
        return;
    if (to)
        sendto(s, msg, len, 0, (const struct sockaddr *)to, sizeof *to);
    else
        send(s, msg, len, 0);
}

static void handle(SOCKET s, char *buf, size_t len, const struct sockaddr_in *from,
                   const char *local_ip, unsigned port)
{
    struct sip_req r;
    if (parse(buf, len, &r) != 0)
        return; /* not a request we can answer: ignore it */
    InterlockedIncrement(&requests);
    static char out[8192];
    int n;
    if (strcmp(r.method, "ACK") == 0)
        return;
    if (strcmp(r.method, "OPTIONS") == 0) {
        n = build(out, sizeof out, &r, 200, "OK", 1,
                  "Allow: INVITE, ACK, BYE, OPTIONS\r\nAccept: application/sdp\r\n", NULL,
                  local_ip, port);
        reply(s, from, out, n);
    } else if (strcmp(r.method, "INVITE") == 0) {
        n = build(out, sizeof out, &r, 100, "Trying", 0, NULL, NULL, local_ip, port);
        reply(s, from, out, n);
        char sdp[256];
        snprintf(sdp, sizeof sdp,
                 "v=0\r\no=sip_app 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                 "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
                 local_ip, local_ip);
        n = build(out, sizeof out, &r, 200, "OK", 1, NULL, sdp, local_ip, port);
        reply(s, from, out, n);
    } else if (strcmp(r.method, "BYE") == 0) {
        n = build(out, sizeof out, &r, 200, "OK", 1, NULL, NULL, local_ip, port);
        reply(s, from, out, n);
    } else {
        n = build(out, sizeof out, &r, 501, "Not Implemented", 1,
                  "Allow: INVITE, ACK, BYE, OPTIONS\r\n", NULL, local_ip, port);
        reply(s, from, out, n);
    }
}

/* ---- TCP ---------------------------------------------------------------------- */

#define TCP_CLIENTS 60 /* select()'s 64 minus the UDP and listening sockets */
#define TCP_BUF 16384

struct tcp_client {
    SOCKET s;
    size_t used;
    char buf[TCP_BUF + 1];
};

static struct tcp_client clients[TCP_CLIENTS];

static void tcp_close(struct tcp_client *c)
{
    closesocket(c->s);
    c->s = INVALID_SOCKET;
    c->used = 0;
}

static void tcp_accept(SOCKET listener)
{
    SOCKET s = accept(listener, NULL, NULL);
    if (s == INVALID_SOCKET)
        return;
    for (int i = 0; i < TCP_CLIENTS; i++) {
        if (clients[i].s == INVALID_SOCKET) {
            clients[i].s = s;
            clients[i].used = 0;
            return;
        }
    }
    closesocket(s); /* full: refused */
}

/* The length of the first whole message in buf (headers + Content-Length
 * bytes of body), 0 if it is not all there yet, -1 if it cannot be one. */
static long message_length(const char *buf, size_t used)
{
    const char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        return used >= TCP_BUF ? -1 : 0;
    size_t head = (size_t)(end - buf) + 4;
    unsigned long body = 0;
    for (const char *p = buf; p < end;) {
        const char *eol = strstr(p, "\r\n");
        size_t n = (size_t)(eol - p);
        if (is_header(p, n, "Content-Length", "l")) {
            size_t vn;
            body = strtoul(header_value(p, n, &vn), NULL, 10);
        }
        p = eol + 2;
    }
    if (body > TCP_BUF)
        return -1;
    return used >= head + body ? (long)(head + body) : 0;
}

/* Reads what arrived on c and answers every whole message; returns the
 * number of requests answered, -1 once the connection is over. */
static int tcp_service(struct tcp_client *c, const char *local_ip, unsigned port)
{
    int got = recv(c->s, c->buf + c->used, (int)(TCP_BUF - c->used), 0);
    if (got <= 0)
        return -1;
    c->used += (size_t)got;
    c->buf[c->used] = 0;
    int answered = 0;
    for (;;) {
        long len = message_length(c->buf, c->used);
        if (len < 0)
            return -1;
        if (len == 0)
            return answered;
        char saved = c->buf[len];
        c->buf[len] = 0;
        LONG before = requests;
        handle(c->s, c->buf, (size_t)len, NULL, local_ip, port);
        answered += requests != before;
        c->buf[len] = saved;
        memmove(c->buf, c->buf + len, c->used - (size_t)len);
        c->used -= (size_t)len;
        c->buf[c->used] = 0;
    }
}

/* ---- main -------------------------------------------------------------------- */

static int usage(const char *why)
{
    fprintf(stderr, "sip_app: %s\nusage: sip_app.exe --port N [--bind IP] [--agent-pipe NAME] "
                    "[--silence-ms N] [--log FILE]\n", why);
    return 2;
}

int wmain(int argc, wchar_t **argv)
{
    InitializeCriticalSection(&lock);
    unsigned long port = 0, silence_ms = 0;
    char bind_ip[64] = "0.0.0.0";
    for (int i = 1; i < argc; i++) {
        char val[MAX_PATH * 3] = "";
        if (i + 1 < argc &&
            !WideCharToMultiByte(CP_UTF8, 0, argv[i + 1], -1, val, sizeof val, NULL, NULL))
            return usage("an argument is too long");
        if (wcscmp(argv[i], L"--port") == 0 && i + 1 < argc) {
            port = strtoul(val, NULL, 10);
        } else if (wcscmp(argv[i], L"--bind") == 0 && i + 1 < argc) {
            snprintf(bind_ip, sizeof bind_ip, "%s", val);
        } else if (wcscmp(argv[i], L"--agent-pipe") == 0 && i + 1 < argc) {
            if (strlen(val) >= sizeof pipe_name)
                return usage("the pipe name is too long");
            snprintf(pipe_name, sizeof pipe_name, "%s", val);
        } else if (wcscmp(argv[i], L"--silence-ms") == 0 && i + 1 < argc) {
            silence_ms = strtoul(val, NULL, 10);
        } else if (wcscmp(argv[i], L"--log") == 0 && i + 1 < argc) {
            log_file = _wfopen(argv[i + 1], L"a");
            if (!log_file)
                return usage("cannot open the log file");
        } else {
            char a[256];
            WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, a, sizeof a, NULL, NULL);
            a[sizeof a - 1] = 0;
            fprintf(stderr, "sip_app: unknown argument '%s'\n", a);
            return 2;
        }
        i++;
    }
    if (port == 0 || port > 65535)
        return usage("--port is required (1-65535)");

    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return usage("WSAStartup failed");
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (s == INVALID_SOCKET) {
        fprintf(stderr, "sip_app: socket failed: %d\n", WSAGetLastError());
        return 1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((u_short)port);
    if (inet_pton(AF_INET, bind_ip, &addr.sin_addr) != 1)
        return usage("--bind needs an IPv4 address");
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
        say("cannot bind UDP %s:%lu: error %d", bind_ip, port, WSAGetLastError());
        return 1;
    }
    SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (listener == INVALID_SOCKET || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, 16) != 0) {
        say("cannot listen on TCP %s:%lu: error %d", bind_ip, port, WSAGetLastError());
        return 1;
    }
    for (int i = 0; i < TCP_CLIENTS; i++)
        clients[i].s = INVALID_SOCKET;
    const char *local_ip = strcmp(bind_ip, "0.0.0.0") == 0 ? "127.0.0.1" : bind_ip;
    say("listening on UDP and TCP %s:%lu; agent pipe %s; silence limit %lu ms", bind_ip, port,
        pipe_name[0] ? pipe_name : "(none)", silence_ms);
    if (pipe_name[0] && !CreateThread(NULL, 0, reporter, NULL, 0, NULL)) {
        say("cannot start the reporter thread: error %lu", GetLastError());
        return 1;
    }

    static char buf[MAX_DGRAM + 1];
    ULONGLONG last_rx = GetTickCount64();
    int available = 1;
    for (;;) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(s, &rd);
        FD_SET(listener, &rd);
        for (int i = 0; i < TCP_CLIENTS; i++)
            if (clients[i].s != INVALID_SOCKET)
                FD_SET(clients[i].s, &rd);
        struct timeval tv = {0, 50 * 1000};
        int n = select(0, &rd, NULL, NULL, &tv);
        int tcp_requests = 0;
        if (n > 0) {
            if (FD_ISSET(listener, &rd))
                tcp_accept(listener);
            for (int i = 0; i < TCP_CLIENTS; i++) {
                if (clients[i].s == INVALID_SOCKET || !FD_ISSET(clients[i].s, &rd))
                    continue;
                int r = tcp_service(&clients[i], local_ip, (unsigned)port);
                if (r < 0)
                    tcp_close(&clients[i]);
                else
                    tcp_requests += r;
            }
        }
        if (tcp_requests > 0) {
            last_rx = GetTickCount64();
            if (!available) {
                available = 1;
                set_available(1, "SIP received again");
            }
        }
        if (n > 0 && FD_ISSET(s, &rd)) {
            struct sockaddr_in from;
            int flen = sizeof from;
            int got = recvfrom(s, buf, MAX_DGRAM, 0, (struct sockaddr *)&from, &flen);
            if (got > 0) {
                buf[got] = 0;
                LONG before = requests;
                handle(s, buf, (size_t)got, &from, local_ip, (unsigned)port);
                if (requests != before) {
                    last_rx = GetTickCount64();
                    if (!available) {
                        available = 1;
                        set_available(1, "SIP received again");
                    }
                }
            }
            /* got <= 0: e.g. WSAECONNRESET after an ICMP port unreachable; ignore. */
        } else if (n < 0) {
            Sleep(50);
        }
        if (silence_ms && available && GetTickCount64() - last_rx >= silence_ms) {
            available = 0;
            char why[WIRE_REASON_MAX + 1];
            snprintf(why, sizeof why, "no SIP received for %lu ms", silence_ms);
            set_available(0, why);
        }
    }
}
