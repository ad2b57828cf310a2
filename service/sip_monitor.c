#include "sip_monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include "log.h"
#include "nlbctld_msg.h"
#include "utf8.h"
#include "winutil.h"

#define DGRAM_MAX 4096

struct monitor_target {
    SOCKET sock;
    WSAEVENT event;
    char host[MODEL_NAME_MAX + 1];
    unsigned port;
    char local_host[64];
    unsigned local_port;
};

struct sip_monitor {
    struct sip_probe probe;
    struct monitor_target t[SIP_PROBE_TARGETS];
    int index_of[SIP_PROBE_TARGETS]; /* event index -> target */
    uint8_t warned_silent[SIP_PROBE_TARGETS];
    int count;
};

static const char *const target_names[SIP_PROBE_TARGETS] = {"node1", "node2", "vip"};

/* A UDP socket connected to the target: the route picks the local address
 * named in Via, and an ICMP "port unreachable" comes back as an error on
 * the next receive, so a stopped SIP server is seen at once. */
static int open_target(struct monitor_target *t, const struct config_endpoint *ep, char *err,
                       size_t cap)
{
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)ep->port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(ep->host, port_text, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(err, cap, "cannot resolve '%s' (error %d)", ep->host, rc);
        return -1;
    }
    t->sock = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (t->sock == INVALID_SOCKET || connect(t->sock, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
        snprintf(err, cap, "cannot open a UDP socket to %s:%u (error %d)", ep->host,
                 (unsigned)ep->port, WSAGetLastError());
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_in local;
    int len = sizeof local;
    if (getsockname(t->sock, (struct sockaddr *)&local, &len) == 0) {
        inet_ntop(AF_INET, &local.sin_addr, t->local_host, sizeof t->local_host);
        t->local_port = ntohs(local.sin_port);
    } else {
        utf8_copy(t->local_host, sizeof t->local_host, "0.0.0.0");
    }
    t->event = WSACreateEvent();
    if (t->event == WSA_INVALID_EVENT || WSAEventSelect(t->sock, t->event, FD_READ) != 0) {
        snprintf(err, cap, "cannot watch the UDP socket to %s:%u (error %d)", ep->host,
                 (unsigned)ep->port, WSAGetLastError());
        return -1;
    }
    utf8_copy(t->host, sizeof t->host, ep->host);
    t->port = ep->port;
    return 0;
}

struct sip_monitor *sip_monitor_open(const struct config *cfg, char *err, size_t cap)
{
    err[0] = '\0';
    if (cfg->mon_node1.port == 0)
        return NULL;
    struct sip_monitor *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    struct sip_probe_settings set;
    memset(&set, 0, sizeof set);
    set.interval_ms = cfg->mon_interval_ms;
    set.timeout_ms = cfg->mon_timeout_ms;
    set.rise = cfg->mon_rise;
    set.fall = cfg->mon_fall;
    snprintf(set.tag, sizeof set.tag, "%lu", (unsigned long)GetCurrentProcessId());
    const struct config_endpoint *eps[SIP_PROBE_TARGETS] = {&cfg->mon_node1, &cfg->mon_node2,
                                                            &cfg->mon_vip};
    for (int i = 0; i < SIP_PROBE_TARGETS; i++)
        m->t[i].sock = INVALID_SOCKET;
    for (int i = 0; i < SIP_PROBE_TARGETS; i++) {
        if (eps[i]->port == 0)
            continue;
        char why[256];
        if (open_target(&m->t[i], eps[i], why, sizeof why) != 0) {
            snprintf(err, cap, "[sip_monitor] %s: %s", target_names[i], why);
            sip_monitor_close(m);
            return NULL;
        }
        set.used[i] = 1;
        m->index_of[m->count++] = i;
    }
    sip_probe_init(&m->probe, &set, win_now_ms());
    return m;
}

void sip_monitor_close(struct sip_monitor *m)
{
    if (!m)
        return;
    for (int i = 0; i < SIP_PROBE_TARGETS; i++) {
        if (m->t[i].sock != INVALID_SOCKET)
            closesocket(m->t[i].sock);
        if (m->t[i].event && m->t[i].event != WSA_INVALID_EVENT)
            WSACloseEvent(m->t[i].event);
    }
    free(m);
}

int sip_monitor_events(struct sip_monitor *m, HANDLE *events)
{
    if (!m)
        return 0;
    for (int k = 0; k < m->count; k++)
        events[k] = m->t[m->index_of[k]].event;
    return m->count;
}

static void tell(struct sip_monitor *m, int i, sip_monitor_fn fn, void *ctx)
{
    const struct sip_probe_target *t = &m->probe.t[i];
    fn(ctx, i, t->verdict, t->verdict == SIP_PROBE_DOWN ? t->last_failure : "");
}

/* Reads what is waiting on target i's socket (non-blocking). */
/* A fresh socket for target i after a receive error. Under Wine a
 * connected UDP socket that got an ICMP "port unreachable" (the SIP server
 * was down for a moment) was seen to receive nothing ever after, so a
 * restarted server stayed "not answering" and its silence detector, fed by
 * these probes, then called it unavailable too. */
static void reopen_target(struct monitor_target *t)
{
    struct config_endpoint ep;
    memset(&ep, 0, sizeof ep);
    utf8_copy(ep.host, sizeof ep.host, t->host);
    ep.port = (uint16_t)t->port;
    if (t->sock != INVALID_SOCKET)
        closesocket(t->sock);
    if (t->event && t->event != WSA_INVALID_EVENT)
        WSACloseEvent(t->event);
    t->sock = INVALID_SOCKET;
    t->event = WSA_INVALID_EVENT;
    char why[256];
    if (open_target(t, &ep, why, sizeof why) != 0)
        log_write(LOG_WARNING, "SIP monitor: %s (tried again at the next probe)", why);
}

static void drain(struct sip_monitor *m, int i, sip_monitor_fn fn, void *ctx)
{
    struct monitor_target *t = &m->t[i];
    if (t->sock == INVALID_SOCKET)
        return;
    /* Bounded: a flood cannot hold the coordinator's one thread. */
    for (int n = 0; n < 32; n++) {
        char buf[DGRAM_MAX];
        int got = recv(t->sock, buf, sizeof buf, 0);
        if (got == SOCKET_ERROR) {
            int e = WSAGetLastError();
            if (e == WSAEWOULDBLOCK)
                break;
            if (e == WSAECONNRESET && m->probe.t[i].waiting) {
                char why[96];
                snprintf(why, sizeof why, "nothing listens on %s:%u (ICMP port unreachable)",
                         t->host, t->port);
                if (sip_probe_send_failed(&m->probe, i, why) >= 0)
                    tell(m, i, fn, ctx);
            }
            reopen_target(t);
            break;
        }
        if (sip_probe_answer(&m->probe, buf, (size_t)got, win_now_ms()) >= 0)
            tell(m, i, fn, ctx);
    }
}

void sip_monitor_service(struct sip_monitor *m, int index, sip_monitor_fn fn, void *ctx)
{
    if (!m || index < 0 || index >= m->count)
        return;
    int i = m->index_of[index];
    WSANETWORKEVENTS ne;
    WSAEnumNetworkEvents(m->t[i].sock, m->t[i].event, &ne);
    drain(m, i, fn, ctx);
}

void sip_monitor_tick(struct sip_monitor *m, sip_monitor_fn fn, void *ctx)
{
    if (!m)
        return;
    /* Read before judging timeouts, events or not: after an ICMP error on a
     * connected UDP socket, Wine was seen to signal no further FD_READ. */
    for (int k = 0; k < m->count; k++)
        drain(m, m->index_of[k], fn, ctx);
    uint64_t now = win_now_ms();
    unsigned changed = sip_probe_tick(&m->probe, now);
    for (int i = 0; i < SIP_PROBE_TARGETS; i++)
        if (changed & (1u << i))
            tell(m, i, fn, ctx);
    for (int k = 0; k < m->count; k++) {
        int i = m->index_of[k];
        /* Once, after a while: a target that never answered gets no verdict
         * (see sip_probe.h), which an administrator must hear about. */
        if (!m->warned_silent[i] &&
            sip_probe_never_answered(&m->probe, i, 10 * m->probe.set.fall)) {
            m->warned_silent[i] = 1;
            log_event(LOG_WARNING, MSG_SIP_PROBE,
                      "SIP monitor: %s:%u has not answered any of %lu SIP probes since the "
                      "monitor started (%s); until it does, it counts neither way. Check "
                      "[sip_monitor] %s and that UDP from this host reaches it",
                      m->t[i].host, m->t[i].port, (unsigned long)(10 * m->probe.set.fall),
                      m->probe.t[i].last_failure, target_names[i]);
        }
    }
    if (!sip_probe_round_due(&m->probe, now))
        return;
    for (int k = 0; k < m->count; k++) {
        int i = m->index_of[k];
        struct monitor_target *t = &m->t[i];
        char req[1024];
        size_t len = sip_probe_request(&m->probe, i, t->host, t->port, t->local_host,
                                       t->local_port, now, req, sizeof req);
        /* A request still waiting was counted as failed by sip_probe_request. */
        if (len == 0)
            continue;
        if (t->sock == INVALID_SOCKET)
            reopen_target(t);
        if (t->sock == INVALID_SOCKET || send(t->sock, req, (int)len, 0) == SOCKET_ERROR) {
            char why[96];
            int e = WSAGetLastError();
            /* The last round's ICMP "port unreachable", reported on this send. */
            if (e == WSAECONNREFUSED || e == WSAECONNRESET)
                snprintf(why, sizeof why, "nothing listens on %s:%u (ICMP port unreachable)",
                         t->host, t->port);
            else
                snprintf(why, sizeof why, "cannot send to %s:%u (error %d)", t->host, t->port,
                         e);
            if (sip_probe_send_failed(&m->probe, i, why) >= 0)
                tell(m, i, fn, ctx);
            reopen_target(t);
        }
    }
}
