/* config.c - nlbctld's INI configuration: parse, validate, describe errors.
 *
 * The text is walked line by line as spans (pointer and length), never as
 * C strings, so a stray NUL byte or a missing final newline cannot confuse
 * it. Keys are data: one table says which section holds each key, what kind
 * of value it takes and where it is stored, so a new key is one line here
 * plus its documentation in nlbctld.example.ini.
 *
 * The result is built in a private copy and handed to the caller only when
 * the whole file is valid: a service must never start on half a config.
 * The first error stops the parse; one precise message beats a list whose
 * later entries are often echoes of the first.
 */
#include "config.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LINE_MAX_BYTES 1024 /* without the line ending */
#define SHOW_MAX 40         /* bytes of a bad value echoed in a message */

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

enum kind {
    KIND_ROLE,
    KIND_PIPE,
    KIND_NAME,
    KIND_PATH,
    KIND_LISTEN, /* host:port to bind */
    KIND_REMOTE, /* host:port to connect to: "any address" makes no sense */
    KIND_U32,
    KIND_PORT,
    KIND_IPV4,
    KIND_BACKEND,
    KIND_BOOL,    /* yes/no, true/false, 1/0 */
    KIND_SERVICE, /* a Windows service name */
    KIND_ARGS,    /* a command line's arguments, taken verbatim */
    KIND_HEX,     /* the pre-shared key: never shown in a message */
    KIND_GROUP    /* a Windows group, optionally DOMAIN\group */
};

struct key_spec {
    const char *section; /* canonical, lower case */
    const char *key;     /* canonical, lower case */
    enum kind kind;
    size_t offset;       /* of the field in struct config */
    size_t size;         /* of the field, terminator included for strings */
    uint32_t min, max;   /* numbers only */
    uint8_t live;        /* a reload (PARAMCHANGE) applies it to the running
                          * service; else it takes effect at the next start */
};

/* Whether a reload applies a key at once (LIVE) or only a restart does
 * (RESTART): identity (role, pair and node names), every address and name
 * something is bound to or opened with (listeners, the pipe and its group,
 * the coordinator and peer, the NLB backend and rule, the application), the
 * state folder and the key cannot change under a running service without
 * half-applying it. Timings, preempt, drain and SIP probing are read afresh
 * by the state machines and the monitor, and the log file can be reopened. */
#define LIVE 1
#define RESTART 0

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

static const struct key_spec keys[] = {
    { "nlbctld", "role", KIND_ROLE, FIELD(role), 0, 0, RESTART },
    { "nlbctld", "pipe", KIND_PIPE, FIELD(pipe), 0, 0, RESTART },
    { "nlbctld", "state_dir", KIND_PATH, FIELD(state_dir), 0, 0, RESTART },
    { "nlbctld", "log_file", KIND_PATH, FIELD(log_file), 0, 0, LIVE },
    { "pair", "name", KIND_NAME, FIELD(pair), 0, 0, RESTART },
    { "pair", "node1", KIND_NAME, FIELD(node1), 0, 0, RESTART },
    { "pair", "node2", KIND_NAME, FIELD(node2), 0, 0, RESTART },
    { "pair", "preferred", KIND_NAME, FIELD(preferred), 0, 0, RESTART },
    { "agent", "node", KIND_NAME, FIELD(node), 0, 0, RESTART },
    { "agent", "coordinator", KIND_REMOTE, FIELD(coordinator), 0, 0, RESTART },
    { "agent", "peer", KIND_REMOTE, FIELD(peer), 0, 0, RESTART },
    { "agent", "peer_listen", KIND_LISTEN, FIELD(peer_listen), 0, 0, RESTART },
    { "application", "service", KIND_SERVICE, FIELD(app_service), 0, 0, RESTART },
    { "application", "path", KIND_PATH, FIELD(app_path), 0, 0, RESTART },
    { "application", "args", KIND_ARGS, FIELD(app_args), 0, 0, RESTART },
    { "application", "start", KIND_BOOL, FIELD(app_start), 0, 0, RESTART },
    { "coordinator", "listen", KIND_LISTEN, FIELD(listen), 0, 0, RESTART },
    { "coordinator", "election_wait_ms", KIND_U32, FIELD(election_wait_ms), 0, 600000, LIVE },
    { "coordinator", "switchover_timeout_ms", KIND_U32, FIELD(switchover_timeout_ms),
      1000, 600000, LIVE },
    { "coordinator", "preempt", KIND_BOOL, FIELD(preempt), 0, 0, LIVE },
    { "coordinator", "preempt_delay_ms", KIND_U32, FIELD(preempt_delay_ms), 1000, 86400000, LIVE },
    { "nlb", "backend", KIND_BACKEND, FIELD(backend), 0, 0, RESTART },
    { "nlb", "vip", KIND_IPV4, FIELD(vip), 0, 0, RESTART },
    { "nlb", "port", KIND_PORT, FIELD(port), 1, 65535, RESTART },
    { "nlb", "sim_dir", KIND_PATH, FIELD(sim_dir), 0, 0, RESTART },
    { "nlb", "cluster_ip", KIND_IPV4, FIELD(cluster_ip), 0, 0, RESTART },
    { "nlb", "exec_command", KIND_ARGS, FIELD(exec_command), 0, 0, RESTART },
    { "nlb", "exec_query", KIND_ARGS, FIELD(exec_query), 0, 0, RESTART },
    { "nlb", "drain_ms", KIND_U32, FIELD(drain_ms), 0, 3600000, LIVE },
    { "timing", "heartbeat_ms", KIND_U32, FIELD(heartbeat_ms), 50, 60000, LIVE },
    { "timing", "reconcile_ms", KIND_U32, FIELD(reconcile_ms), 100, 3600000, LIVE },
    { "timing", "reconnect_ms", KIND_U32, FIELD(reconnect_ms), 50, 60000, LIVE },
    { "timing", "miss_count", KIND_U32, FIELD(miss_count), 2, 100, LIVE },
    { "timing", "isolation_ms", KIND_U32, FIELD(isolation_ms), 100, 600000, LIVE },
    { "timing", "nlb_timeout_ms", KIND_U32, FIELD(nlb_timeout_ms), 100, 600000, LIVE },
    { "timing", "max_delay_ms", KIND_U32, FIELD(max_delay_ms), 0, 60000, LIVE },
    { "security", "key", KIND_HEX, FIELD(key), 0, 0, RESTART },
    { "security", "key_file", KIND_PATH, FIELD(key_file), 0, 0, RESTART },
    { "security", "allow_unauthenticated", KIND_BOOL, FIELD(allow_unauthenticated), 0, 0, RESTART },
    { "security", "status_group", KIND_GROUP, FIELD(status_group), 0, 0, RESTART },
    { "sip_monitor", "node1", KIND_REMOTE, FIELD(mon_node1), 0, 0, LIVE },
    { "sip_monitor", "node2", KIND_REMOTE, FIELD(mon_node2), 0, 0, LIVE },
    { "sip_monitor", "vip", KIND_REMOTE, FIELD(mon_vip), 0, 0, LIVE },
    { "sip_monitor", "interval_ms", KIND_U32, FIELD(mon_interval_ms), 100, 60000, LIVE },
    { "sip_monitor", "timeout_ms", KIND_U32, FIELD(mon_timeout_ms), 50, 60000, LIVE },
    { "sip_monitor", "rise", KIND_U32, FIELD(mon_rise), 1, 100, LIVE },
    { "sip_monitor", "fall", KIND_U32, FIELD(mon_fall), 1, 100, LIVE },
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

static const char *const sections[] = {
    "nlbctld", "pair", "agent", "application", "coordinator", "sip_monitor", "nlb", "timing",
    "security"
};

#define SECTION_COUNT (sizeof sections / sizeof sections[0])

struct parser {
    const char *file;
    unsigned long line;     /* 0 once the text is read: messages name no line */
    const char *section;    /* canonical name of the open section, or NULL */
    unsigned long seen[KEY_COUNT]; /* line each key was set on, 0 = not yet */
    struct config cfg;
    char *err;
    size_t err_cap;
};

/* ---- small text helpers ------------------------------------------------- */

static unsigned char lower(unsigned char c)
{
    /* ASCII only: the C library's tolower depends on the locale. */
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int span_ieq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (lit[i] == '\0' || lower((unsigned char)s[i]) != lower((unsigned char)lit[i]))
            return 0;
    }
    return lit[n] == '\0';
}

static int str_ieq(const char *a, const char *b)
{
    return span_ieq(a, strlen(a), b);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*s)[*n - 1]))
        (*n)--;
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '-' || c == '_' || c == '.';
}

/* Callers check n < cap first; the clamp only keeps a mistake harmless. */
static void copy_span(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

#define SHOW_BUF (SHOW_MAX + 4) /* room for "..." and the terminator */

/* A copy of user text fit to quote in a one-line message: control bytes
 * (a tab, a stray CR) become '?', and a long value is cut, at a UTF-8
 * character boundary, with "..." after it. */
static const char *show(char buf[SHOW_BUF], const char *s, size_t n)
{
    size_t keep = n, i;

    if (n > SHOW_MAX) {
        keep = SHOW_MAX;
        while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
            keep--;
    }
    for (i = 0; i < keep; i++)
        buf[i] = is_control((unsigned char)s[i]) ? '?' : s[i];
    if (keep < n) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* ---- messages ----------------------------------------------------------- */

struct msg {
    char buf[CONFIG_ERROR_MAX];
    size_t len;
};

static void msg_vadd(struct msg *m, const char *fmt, va_list ap)
{
    size_t room = sizeof m->buf - m->len;
    int w;

    if (room <= 1)
        return;
    w = vsnprintf(m->buf + m->len, room, fmt, ap);
    /* Old MSVCRT answers -1 on truncation and may leave no terminator:
     * treat that as "full" and terminate ourselves. */
    if (w < 0 || (size_t)w >= room) {
        m->buf[sizeof m->buf - 1] = '\0';
        m->len = utf8_trim_partial(m->buf);
    } else {
        m->len += (size_t)w;
        m->buf[m->len] = '\0';
    }
}

static void msg_add(struct msg *m, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void msg_add(struct msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vadd(m, fmt, ap);
    va_end(ap);
}

/* Writes "<file>:<line>: [<section>] <key>: <detail>" to the caller's buffer;
 * the line is left out once the text is read, the section and key when
 * there are none. Returns -1 so callers can `return fail(...)`. */
static int fail(struct parser *p, const char *section, const char *key,
                const char *fmt, ...) PRINTF_LIKE(4, 5);

static int fail(struct parser *p, const char *section, const char *key,
                const char *fmt, ...)
{
    struct msg m;
    va_list ap;
    size_t n;

    m.len = 0;
    m.buf[0] = '\0';
    if (p->line > 0)
        msg_add(&m, "%s:%lu: ", p->file, p->line);
    else
        msg_add(&m, "%s: ", p->file);
    if (section && key)
        msg_add(&m, "[%s] %s: ", section, key);
    else if (section)
        msg_add(&m, "[%s]: ", section);
    else if (key)
        msg_add(&m, "%s: ", key);
    va_start(ap, fmt);
    msg_vadd(&m, fmt, ap);
    va_end(ap);

    if (p->err && p->err_cap > 0) {
        n = utf8_clip(m.buf, m.len, p->err_cap - 1);
        memcpy(p->err, m.buf, n);
        p->err[n] = '\0';
    }
    return -1;
}

/* ---- value syntax ------------------------------------------------------- */

/* Decimal digits only: no sign, no spaces, no hex. Stops accumulating as
 * soon as the value is past max, so any number of digits is safe. */
static int parse_u32(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        if (v <= max)
            v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Four decimal octets 0..255. A leading zero is refused: Windows' own
 * parsers read "010" as octal 8, so such an address means different
 * things to different tools. */
static int parse_ipv4(const char *s, size_t n)
{
    size_t i = 0, start;
    int octet;
    uint32_t v;

    for (octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= n || s[i] != '.')
                return -1;
            i++;
        }
        start = i;
        while (i < n && is_digit(s[i]) && i - start < 4)
            i++;
        if (i == start || (i - start > 1 && s[start] == '0'))
            return -1;
        if (parse_u32(s + start, i - start, 0, 255, &v) != 0)
            return -1;
    }
    return i == n ? 0 : -1;
}

/* A host name: letters, digits, '-' and '.', in dot-separated labels that
 * are neither empty nor start or end with '-'. Anything made only of
 * digits and dots is meant as an IPv4 address and must be a valid one. */
static const char *check_host(const char *s, size_t n)
{
    size_t i;
    int numeric = 1;

    if (n == 0)
        return "the host is empty";
    if (n > MODEL_NAME_MAX)
        return "the host is longer than 63 bytes";
    for (i = 0; i < n; i++) {
        if (!is_digit(s[i]) && s[i] != '.')
            numeric = 0;
        if (!is_name_char(s[i]) || s[i] == '_')
            return "the host may hold only letters, digits, '-' and '.'";
    }
    if (numeric)
        return parse_ipv4(s, n) == 0 ? NULL
                                     : "the host is not an IPv4 address (four numbers 0 to 255)";
    for (i = 0; i < n; i++) {
        int label_start = i == 0 || s[i - 1] == '.';
        int label_end = i + 1 == n || s[i + 1] == '.';
        if (s[i] == '.' && label_start)
            return "the host has an empty part between dots";
        if (s[i] == '-' && (label_start || label_end))
            return "a part of the host name starts or ends with '-'";
    }
    if (s[n - 1] == '.')
        return "the host ends with '.'";
    return NULL;
}

/* host:port, split at the last ':'. Returns what is wrong, or NULL. */
static const char *parse_endpoint(const char *s, size_t n, struct config_endpoint *ep)
{
    const char *colon = NULL, *why;
    size_t i, hn;
    uint32_t port;

    for (i = 0; i < n; i++) {
        if (s[i] == ':')
            colon = s + i;
    }
    if (!colon)
        return "there is no ':' before the port";
    hn = (size_t)(colon - s);
    why = check_host(s, hn);
    if (why)
        return why;
    if (parse_u32(colon + 1, n - hn - 1, 1, 65535, &port) != 0)
        return "the port is not a number from 1 to 65535";
    copy_span(ep->host, sizeof ep->host, s, hn);
    ep->port = (uint16_t)port;
    return NULL;
}

/* ---- setting one key ---------------------------------------------------- */

static void *field_of(struct parser *p, const struct key_spec *k)
{
    return (char *)&p->cfg + k->offset;
}

static int set_role(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];
    uint8_t *role = field_of(p, k);

    if (span_ieq(v, n, "agent"))
        *role = MODEL_ROLE_AGENT;
    else if (span_ieq(v, n, "coordinator"))
        *role = MODEL_ROLE_COORDINATOR;
    else
        return fail(p, k->section, k->key, "'%s' is not a role; use agent or coordinator",
                    show(shown, v, n));
    return 0;
}

static int set_backend(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];

    static const char *const names[] = {"wmi", "exec", "sim"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (span_ieq(v, n, names[i])) {
            copy_span(field_of(p, k), k->size, names[i], strlen(names[i]));
            return 0;
        }
    }
    return fail(p, k->section, k->key,
                "'%s' is not a backend; must be wmi (NLB through WMI, the default), exec "
                "(nlb.exe or your own script) or sim (simulated, for tests)",
                show(shown, v, n));
}

/* Names and pipe names share one alphabet: safe in a pipe path, a file
 * name, a log line and on the wire, without quoting. */
static int set_name(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];
    const char *what = k->kind == KIND_PIPE ? "a pipe name" : "a name";
    size_t i;

    if (n == 0)
        return fail(p, k->section, k->key,
                    "is empty; give %s of 1 to %lu letters, digits, '-', '_' or '.'", what,
                    (unsigned long)(k->size - 1));
    if (n > k->size - 1)
        return fail(p, k->section, k->key, "'%s' is %lu bytes long; at most %lu allowed",
                    show(shown, v, n), (unsigned long)n,
                    (unsigned long)(k->size - 1));
    for (i = 0; i < n; i++) {
        if (!is_name_char(v[i]))
            return fail(p, k->section, k->key,
                        "'%s' is not %s; use 1 to %lu letters, digits, '-', '_' or '.'",
                        show(shown, v, n), what, (unsigned long)(k->size - 1));
    }
    copy_span(field_of(p, k), k->size, v, n);
    return 0;
}

static int set_path(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];
    size_t i;

    if (n == 0)
        return fail(p, k->section, k->key,
                    "is empty; give a path of 1 to %lu bytes, or remove the line to use "
                    "the default", (unsigned long)(k->size - 1));
    if (n > k->size - 1)
        return fail(p, k->section, k->key, "'%s' is %lu bytes long; at most %lu allowed",
                    show(shown, v, n), (unsigned long)n,
                    (unsigned long)(k->size - 1));
    for (i = 0; i < n; i++) {
        if (is_control((unsigned char)v[i]))
            return fail(p, k->section, k->key,
                        "'%s' holds a control character (byte %u); a path may hold any "
                        "other character", show(shown, v, n),
                        (unsigned)(unsigned char)v[i]);
    }
    copy_span(field_of(p, k), k->size, v, n);
    return 0;
}

static int set_endpoint(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];
    struct config_endpoint ep;
    const char *why = parse_endpoint(v, n, &ep);

    if (!why && k->kind == KIND_REMOTE && strcmp(ep.host, "0.0.0.0") == 0)
        why = "0.0.0.0 means every local address, not a host to connect to";
    if (why)
        return fail(p, k->section, k->key, "'%s': %s; expected host:port, e.g. 192.0.2.5:7400",
                    show(shown, v, n), why);
    memcpy(field_of(p, k), &ep, sizeof ep);
    return 0;
}

static int set_number(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];
    uint32_t value;

    if (parse_u32(v, n, k->min, k->max, &value) != 0)
        return fail(p, k->section, k->key, "'%s' is not a number from %lu to %lu",
                    show(shown, v, n), (unsigned long)k->min,
                    (unsigned long)k->max);
    if (k->kind == KIND_PORT) {
        uint16_t port = (uint16_t)value;
        memcpy(field_of(p, k), &port, sizeof port);
    } else {
        memcpy(field_of(p, k), &value, sizeof value);
    }
    return 0;
}

static int set_ipv4(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];

    if (parse_ipv4(v, n) != 0)
        return fail(p, k->section, k->key,
                    "'%s' is not an IPv4 address; expected four numbers from 0 to 255 "
                    "separated by dots, without leading zeros, e.g. 192.0.2.10",
                    show(shown, v, n));
    copy_span(field_of(p, k), k->size, v, n);
    return 0;
}

static int set_bool(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];
    uint8_t *flag = field_of(p, k);

    if (span_ieq(v, n, "yes") || span_ieq(v, n, "true") || span_ieq(v, n, "1"))
        *flag = 1;
    else if (span_ieq(v, n, "no") || span_ieq(v, n, "false") || span_ieq(v, n, "0"))
        *flag = 0;
    else
        return fail(p, k->section, k->key, "'%s' is not yes or no; use yes, no, true, false, "
                    "1 or 0", show(shown, v, n));
    return 0;
}

/* Free text: a service name, a group name or a program's arguments. Any
 * character but a control character; a service name has no slashes, which
 * the service control manager refuses. Arguments alone may be empty. */
static int set_text(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    char shown[SHOW_BUF];
    const char *what = k->kind == KIND_SERVICE ? "a service name"
                       : k->kind == KIND_GROUP ? "a group name"
                                               : "arguments";
    size_t i;

    if (n == 0 && k->kind != KIND_ARGS)
        return fail(p, k->section, k->key,
                    "is empty; give %s of 1 to %lu bytes, or remove the line", what,
                    (unsigned long)(k->size - 1));
    if (n > k->size - 1)
        return fail(p, k->section, k->key, "'%s' is %lu bytes long; at most %lu allowed",
                    show(shown, v, n), (unsigned long)n,
                    (unsigned long)(k->size - 1));
    for (i = 0; i < n; i++) {
        if (is_control((unsigned char)v[i]))
            return fail(p, k->section, k->key,
                        "'%s' holds a control character (byte %u); %s may hold any other "
                        "character", show(shown, v, n), (unsigned)(unsigned char)v[i], what);
        if (k->kind == KIND_SERVICE && (v[i] == '/' || v[i] == '\\'))
            return fail(p, k->section, k->key,
                        "'%s' holds '%c'; a Windows service name has no '/' or '\\' (use "
                        "the service name shown in its properties, not a path)",
                        show(shown, v, n), v[i]);
    }
    copy_span(field_of(p, k), k->size, v, n);
    return 0;
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    c = (char)lower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The pre-shared key, in hex. Its value is a secret: messages give its
 * length or the position of a bad character, never the text. */
static int set_key(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    const size_t min_digits = 32, max_digits = 2 * sizeof p->cfg.key;
    uint8_t *key = field_of(p, k);
    size_t i;

    if (n == 0)
        return fail(p, k->section, k->key, "is empty; give the pre-shared key as %lu to %lu "
                    "hex digits (64 recommended)", (unsigned long)min_digits,
                    (unsigned long)max_digits);
    if (n >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
        return fail(p, k->section, k->key, "starts with 0x; write the hex digits alone "
                    "(the key is not shown)");
    for (i = 0; i < n; i++) {
        if (hex_value(v[i]) < 0)
            return fail(p, k->section, k->key, "character %lu of %lu is not a hex digit "
                        "(0-9, a-f); the key is not shown", (unsigned long)(i + 1),
                        (unsigned long)n);
    }
    if (n % 2 != 0)
        return fail(p, k->section, k->key, "has %lu hex digits, an odd number; each byte "
                    "takes two (the key is not shown)", (unsigned long)n);
    if (n < min_digits || n > max_digits)
        return fail(p, k->section, k->key, "has %lu hex digits (%lu bytes); give %lu to %lu "
                    "hex digits (%lu to %lu bytes), 64 recommended (the key is not shown)",
                    (unsigned long)n, (unsigned long)(n / 2), (unsigned long)min_digits,
                    (unsigned long)max_digits, (unsigned long)(min_digits / 2),
                    (unsigned long)(max_digits / 2));
    for (i = 0; i < n / 2; i++)
        key[i] = (uint8_t)(hex_value(v[2 * i]) * 16 + hex_value(v[2 * i + 1]));
    p->cfg.key_len = (uint8_t)(n / 2);
    return 0;
}

static int set_value(struct parser *p, const struct key_spec *k, const char *v, size_t n)
{
    switch (k->kind) {
    case KIND_ROLE: return set_role(p, k, v, n);
    case KIND_BACKEND: return set_backend(p, k, v, n);
    case KIND_PIPE:
    case KIND_NAME: return set_name(p, k, v, n);
    case KIND_PATH: return set_path(p, k, v, n);
    case KIND_LISTEN:
    case KIND_REMOTE: return set_endpoint(p, k, v, n);
    case KIND_U32:
    case KIND_PORT: return set_number(p, k, v, n);
    case KIND_IPV4: return set_ipv4(p, k, v, n);
    case KIND_BOOL: return set_bool(p, k, v, n);
    case KIND_SERVICE:
    case KIND_GROUP:
    case KIND_ARGS: return set_text(p, k, v, n);
    case KIND_HEX: return set_key(p, k, v, n);
    }
    return fail(p, k->section, k->key, "internal error: no parser for this key");
}

/* ---- lines -------------------------------------------------------------- */

static const struct key_spec *find_key(const char *section, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < KEY_COUNT; i++) {
        if ((!section || strcmp(keys[i].section, section) == 0) && span_ieq(s, n, keys[i].key))
            return &keys[i];
    }
    return NULL;
}

/* "backend, vip, port or sim_dir": what a section accepts, for messages. */
static const char *list_keys(const char *section, char *buf, size_t cap)
{
    size_t i, count = 0, done = 0, len = 0;

    for (i = 0; i < KEY_COUNT; i++)
        count += strcmp(keys[i].section, section) == 0;
    buf[0] = '\0';
    for (i = 0; i < KEY_COUNT; i++) {
        const char *sep;
        int w;
        if (strcmp(keys[i].section, section) != 0)
            continue;
        done++;
        sep = done == 1 ? "" : done == count ? " or " : ", ";
        w = snprintf(buf + len, cap - len, "%s%s", sep, keys[i].key);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* "[nlbctld], [pair], ... or [security]": the sections, for messages. */
static const char *list_sections(char *buf, size_t cap)
{
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < SECTION_COUNT; i++) {
        const char *sep = i == 0 ? "" : i + 1 == SECTION_COUNT ? " or " : ", ";
        int w = snprintf(buf + len, cap - len, "%s[%s]", sep, sections[i]);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    return buf;
}

static int parse_section(struct parser *p, const char *s, size_t n)
{
    char shown[SHOW_BUF], allowed[160];
    const char *name = s + 1;
    size_t nn, i;

    if (s[n - 1] != ']') {
        return fail(p, NULL, NULL, memchr(s, ']', n)
                        ? "'%s': text after ']'; a section header is [name] alone on its line"
                        : "'%s': no closing ']'; a section header is [name]",
                    show(shown, s, n));
    }
    nn = n - 2;
    trim(&name, &nn);
    for (i = 0; i < SECTION_COUNT; i++) {
        if (span_ieq(name, nn, sections[i])) {
            p->section = sections[i];
            return 0;
        }
    }
    return fail(p, show(shown, name, nn), NULL, "unknown section; use %s",
                list_sections(allowed, sizeof allowed));
}

/* Strips one pair of surrounding double quotes. There are no escapes:
 * Windows paths are full of backslashes and must arrive untouched. */
static int unquote(struct parser *p, const struct key_spec *k, const char **v, size_t *n)
{
    if (*n == 0 || (*v)[0] != '"')
        return 0;
    if (*n < 2 || (*v)[*n - 1] != '"')
        return fail(p, k->section, k->key, "the opening '\"' has no closing '\"'");
    (*v)++;
    *n -= 2;
    return 0;
}

static int parse_pair(struct parser *p, const char *key, size_t kn, const char *v, size_t vn)
{
    char shown[SHOW_BUF], allowed[256];
    const struct key_spec *k;
    size_t idx;

    trim(&key, &kn);
    trim(&v, &vn);
    if (kn == 0)
        return fail(p, p->section, NULL, "a line has '=' but no key before it");
    if (!p->section) {
        k = find_key(NULL, key, kn);
        if (k)
            return fail(p, NULL, show(shown, key, kn),
                        "key outside any section; put it under [%s]", k->section);
        return fail(p, NULL, show(shown, key, kn),
                    "key outside any section, and no section has such a key");
    }
    k = find_key(p->section, key, kn);
    if (!k)
        return fail(p, p->section, show(shown, key, kn),
                    "unknown key; [%s] takes %s", p->section,
                    list_keys(p->section, allowed, sizeof allowed));
    idx = (size_t)(k - keys);
    if (p->seen[idx])
        return fail(p, k->section, k->key, "set twice (first on line %lu); keep one",
                    p->seen[idx]);
    p->seen[idx] = p->line;
    /* Quotes in arguments are the program's: "C:\a b\x.cfg" -v must arrive
     * whole, so args is taken as written. */
    if (k->kind != KIND_ARGS && unquote(p, k, &v, &vn) != 0)
        return -1;
    return set_value(p, k, v, vn);
}

static int parse_line(struct parser *p, const char *s, size_t n)
{
    char shown[SHOW_BUF];
    const char *eq;

    if (n > LINE_MAX_BYTES)
        return fail(p, p->section, NULL, "the line is %lu bytes long; at most %u allowed",
                    (unsigned long)n, (unsigned)LINE_MAX_BYTES);
    trim(&s, &n);
    if (n == 0 || s[0] == ';' || s[0] == '#')
        return 0;
    if (s[0] == '[')
        return parse_section(p, s, n);
    eq = memchr(s, '=', n);
    if (!eq && p->section && strcmp(p->section, "security") == 0)
        return fail(p, p->section, NULL,
                    "a line is not a [section], a comment (; or #) or key = value (not "
                    "shown: in [security] it may hold the key)");
    if (!eq)
        return fail(p, p->section, NULL,
                    "'%s' is not a [section], a comment (; or #) or key = value",
                    show(shown, s, n));
    return parse_pair(p, s, (size_t)(eq - s), eq + 1, n - (size_t)(eq - s) - 1);
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
    size_t pos = 0;

    if (len >= 2 && (memcmp(text, "\xFF\xFE", 2) == 0 || memcmp(text, "\xFE\xFF", 2) == 0))
        return fail(p, NULL, NULL, "the file is saved as UTF-16 (Notepad's \"Unicode\"); "
                    "save it as UTF-8");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* Notepad's UTF-8 byte order mark */
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;

        pos += n + (nl ? 1 : 0);
        p->line++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        /* A file saved in an ANSI code page (a path with an accent, say)
         * would reach Windows as other characters than the ones typed. */
        size_t bad = utf8_invalid_at(line, n);
        if (bad < n)
            return fail(p, p->section, NULL,
                        "byte %lu of the line (0x%02X) is not UTF-8: save the file as UTF-8 "
                        "(Notepad: Save As, Encoding UTF-8)",
                        (unsigned long)bad + 1, (unsigned)(unsigned char)line[bad]);
        if (parse_line(p, line, n) != 0)
            return -1;
    }
    p->line = 0;
    return 0;
}

/* ---- the whole ---------------------------------------------------------- */

static int check_pair(struct parser *p)
{
    struct config *c = &p->cfg;
    int coordinator = c->role == MODEL_ROLE_COORDINATOR;
    const char *why = coordinator ? "required when role = coordinator"
                                  : "required once [pair] names a node";

    /* An agent may leave [pair] out; once it names a node, the pair must
     * be whole, or the agent would check its node against half a pair. */
    if (!coordinator && !c->node1[0] && !c->node2[0] && !c->preferred[0])
        return 0;
    if (!c->node1[0])
        return fail(p, "pair", "node1", "%s", why);
    if (!c->node2[0])
        return fail(p, "pair", "node2", "%s", why);
    /* Windows host names ignore case, so "WEB1" and "web1" are one host. */
    if (str_ieq(c->node1, c->node2))
        return fail(p, "pair", "node2", "'%s' is node1 too; the two nodes must differ "
                    "(and not only in case)", c->node2);
    if (!c->preferred[0])
        memcpy(c->preferred, c->node1, sizeof c->preferred);
    else if (strcmp(c->preferred, c->node1) != 0 && strcmp(c->preferred, c->node2) != 0)
        return fail(p, "pair", "preferred", "'%s' is neither node1 ('%s') nor node2 ('%s')",
                    c->preferred, c->node1, c->node2);
    return 0;
}

static int check_agent(struct parser *p)
{
    struct config *c = &p->cfg;

    if (!c->node[0])
        return fail(p, "agent", "node", "required when role = agent; this host's node name");
    if (c->coordinator.port == 0)
        return fail(p, "agent", "coordinator",
                    "required when role = agent; expected host:port, e.g. 192.0.2.5:7400");
    if (!c->vip[0])
        return fail(p, "nlb", "vip", "required when role = agent; the cluster's virtual "
                    "IPv4 address, e.g. 192.0.2.10");
    if (c->port == 0)
        return fail(p, "nlb", "port", "required when role = agent; the port rule's port, "
                    "a number from 1 to 65535");
    if (strcmp(c->backend, "sim") == 0 && !c->sim_dir[0])
        return fail(p, "nlb", "sim_dir", "required when role = agent and backend = sim");
    if (c->node1[0] && strcmp(c->node, c->node1) != 0 && strcmp(c->node, c->node2) != 0)
        return fail(p, "agent", "node", "'%s' is neither [pair] node1 ('%s') nor node2 ('%s')",
                    c->node, c->node1, c->node2);
    return 0;
}

/* The line a key was set on, 0 if it was not. */
static unsigned long seen_at(const struct parser *p, const char *section, const char *key)
{
    size_t i;
    for (i = 0; i < KEY_COUNT; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return p->seen[i];
    }
    return 0;
}

/* Checked whatever the role: a contradiction is a mistake even in a file
 * whose role does not use the section. */
static int check_application(struct parser *p)
{
    unsigned long service = seen_at(p, "application", "service");
    unsigned long path = seen_at(p, "application", "path");
    unsigned long args = seen_at(p, "application", "args");
    unsigned long start = seen_at(p, "application", "start");

    if (service && path)
        return fail(p, "application", "path", "service (line %lu) and path (line %lu) are "
                    "both set; monitor either a Windows service (service) or a program "
                    "(path), not both", service, path);
    if (args && !path)
        return fail(p, "application", "args", "set on line %lu without path; args and start "
                    "apply only to a program named by path", args);
    if (start && !path)
        return fail(p, "application", "start", "set on line %lu without path; args and start "
                    "apply only to a program named by path", start);
    return 0;
}

/* Checked whatever the role, like [application]; used only by the
 * coordinator (an agent ignores it, as it ignores [coordinator]). */
static int check_sip_monitor(struct parser *p)
{
    const struct config *c = &p->cfg;
    unsigned long n1 = seen_at(p, "sip_monitor", "node1");
    unsigned long n2 = seen_at(p, "sip_monitor", "node2");
    unsigned long vip = seen_at(p, "sip_monitor", "vip");
    if (n1 && !n2)
        return fail(p, "sip_monitor", "node2", "required once node1 is set (line %lu): the "
                    "monitor probes both nodes' own SIP addresses, e.g. 192.0.2.12:5060", n1);
    if (n2 && !n1)
        return fail(p, "sip_monitor", "node1", "required once node2 is set (line %lu): the "
                    "monitor probes both nodes' own SIP addresses, e.g. 192.0.2.11:5060", n2);
    if (vip && !n1)
        return fail(p, "sip_monitor", "vip", "set on line %lu without node1 and node2; the "
                    "VIP probe only adds to the nodes' probes", vip);
    if (c->mon_timeout_ms >= c->mon_interval_ms)
        return fail(p, "sip_monitor", "timeout_ms", "%lu ms must be less than interval_ms "
                    "%lu ms (one probe at a time per target)",
                    (unsigned long)c->mon_timeout_ms, (unsigned long)c->mon_interval_ms);
    return 0;
}

/* DESIGN.md, "The timing rule that makes fencing safe". The coordinator
 * counts from the last message it had from the primary, the primary from
 * the last message it had from anyone; both see the same [timing]. */
static int check_timing(struct parser *p)
{
    const struct config *c = &p->cfg;
    uint64_t fenced = (uint64_t)c->isolation_ms + c->nlb_timeout_ms + c->max_delay_ms;
    uint64_t loss = (uint64_t)c->heartbeat_ms * c->miss_count;
    uint64_t twice = 2 * (uint64_t)c->heartbeat_ms;

    /* Every figure is bounded well below 2^32 by its range: the casts to
     * unsigned long (32 bits on Windows) for printing lose nothing. */
    if (fenced >= loss)
        return fail(p, "timing", "isolation_ms", "%lu + nlb_timeout_ms %lu + max_delay_ms %lu "
                    "= %lu ms must be less than heartbeat_ms %lu x miss_count %lu = %lu ms, "
                    "so that a primary cut off from everything has disabled its port before "
                    "the coordinator promotes the other node; lower isolation_ms, "
                    "nlb_timeout_ms or max_delay_ms, or raise heartbeat_ms or miss_count",
                    (unsigned long)c->isolation_ms, (unsigned long)c->nlb_timeout_ms,
                    (unsigned long)c->max_delay_ms, (unsigned long)fenced,
                    (unsigned long)c->heartbeat_ms, (unsigned long)c->miss_count,
                    (unsigned long)loss);
    if (c->isolation_ms < twice)
        return fail(p, "timing", "isolation_ms", "%lu ms is less than 2 x heartbeat_ms %lu = "
                    "%lu ms; it must be at least that, or one late heartbeat would make a "
                    "healthy primary disable its own port",
                    (unsigned long)c->isolation_ms, (unsigned long)c->heartbeat_ms,
                    (unsigned long)twice);
    return 0;
}

static int check_security(struct parser *p)
{
    const struct config *c = &p->cfg;
    unsigned long key = seen_at(p, "security", "key");
    unsigned long key_file = seen_at(p, "security", "key_file");

    if (key && key_file)
        return fail(p, "security", "key_file", "key (line %lu) and key_file (line %lu) are "
                    "both set; give the pre-shared key one way only", key, key_file);
    if (c->allow_unauthenticated && (key || key_file))
        return fail(p, "security", "allow_unauthenticated", "yes contradicts %s (line %lu): "
                    "with a key every link is authenticated; remove one of the two",
                    key ? "key" : "key_file", key ? key : key_file);
    if (!key && !key_file && !c->allow_unauthenticated)
        return fail(p, "security", "key", "no pre-shared key configured; set key (64 hex "
                    "digits recommended) or key_file on every node and the coordinator "
                    "(allow_unauthenticated = yes exists for a lab only)");
    return 0;
}

static int check_whole(struct parser *p)
{
    if (p->cfg.role == 0)
        return fail(p, "nlbctld", "role", "required; use agent or coordinator");
    if (check_pair(p) != 0)
        return -1;
    if (p->cfg.role == MODEL_ROLE_AGENT && check_agent(p) != 0)
        return -1;
    if (check_application(p) != 0 || check_sip_monitor(p) != 0 || check_timing(p) != 0)
        return -1;
    return check_security(p);
}

/* ---- public ------------------------------------------------------------- */

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    copy_span(cfg->pipe, sizeof cfg->pipe, "nlbctld", 7);
    copy_span(cfg->pair, sizeof cfg->pair, "pair", 4);
    copy_span(cfg->listen.host, sizeof cfg->listen.host, "0.0.0.0", 7);
    cfg->listen.port = 7400;
    cfg->election_wait_ms = 3000;
    cfg->switchover_timeout_ms = 15000;
    copy_span(cfg->backend, sizeof cfg->backend, "wmi", 3);
    copy_span(cfg->exec_command, sizeof cfg->exec_command, "nlb.exe %ACTION% %VIP%:%PORT%",
              strlen("nlb.exe %ACTION% %VIP%:%PORT%"));
    copy_span(cfg->exec_query, sizeof cfg->exec_query, "nlb.exe queryport %VIP%:%PORT%",
              strlen("nlb.exe queryport %VIP%:%PORT%"));
    cfg->heartbeat_ms = 500;
    cfg->reconcile_ms = 5000;
    cfg->reconnect_ms = 1000;
    copy_span(cfg->peer_listen.host, sizeof cfg->peer_listen.host, "0.0.0.0", 7);
    cfg->peer_listen.port = 7401;
    cfg->app_start = 1;
    cfg->preempt_delay_ms = 60000;
    cfg->miss_count = 5;
    cfg->isolation_ms = 1500;
    cfg->nlb_timeout_ms = 600;
    cfg->max_delay_ms = 200;
    cfg->mon_interval_ms = 1000;
    cfg->mon_timeout_ms = 500;
    cfg->mon_rise = 2;
    cfg->mon_fall = 3;
}

/* Clears memory that held a secret; the volatile stores are not optimised
 * away as a memset of a dying object may be. */
static void wipe(void *mem, size_t n)
{
    volatile unsigned char *b = mem;
    while (n-- > 0)
        *b++ = 0;
}

int config_parse(const char *file, const char *text, size_t len, struct config *cfg,
                 char *err, size_t err_cap)
{
    struct parser p;
    int rc;

    memset(&p, 0, sizeof p);
    p.file = file ? file : "(config)";
    p.err = err;
    p.err_cap = err_cap;
    if (err && err_cap > 0)
        err[0] = '\0';
    config_defaults(&p.cfg);

    if (!text && len > 0)
        return fail(&p, NULL, NULL, "no text to read");
    rc = parse_text(&p, text, len) != 0 || check_whole(&p) != 0 ? -1 : 0;
    if (rc == 0 && cfg)
        *cfg = p.cfg;
    wipe(p.cfg.key, sizeof p.cfg.key); /* the private copy's */
    return rc;
}

int config_key_from_file_text(const char *file, const char *text, size_t len, uint8_t *key,
                              uint8_t *key_len, char *err, size_t err_cap)
{
    /* The same rules and messages as [security] key, naming the key file. */
    static const struct key_spec spec = {"security", "key_file", KIND_HEX, FIELD(key), 0, 0, RESTART};
    struct parser p;
    memset(&p, 0, sizeof p);
    p.file = file;
    p.err = err;
    p.err_cap = err_cap;
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    while (len > 0 && (is_blank(text[len - 1]) || text[len - 1] == '\r' || text[len - 1] == '\n'))
        len--;
    while (len > 0 && is_blank(*text)) {
        text++;
        len--;
    }
    int rc = set_key(&p, &spec, text, len);
    if (rc == 0) {
        memcpy(key, p.cfg.key, p.cfg.key_len);
        *key_len = p.cfg.key_len;
    }
    memset(&p.cfg, 0, sizeof p.cfg); /* no stray copy of the secret */
    return rc;
}

/* ---- reload --------------------------------------------------------------- */

/* Two values of one key are the same setting. Strings are compared up to
 * their terminator: the bytes after it are whatever an earlier value left. */
static int same_value(const struct key_spec *k, const struct config *a, const struct config *b)
{
    const char *fa = (const char *)a + k->offset;
    const char *fb = (const char *)b + k->offset;
    switch (k->kind) {
    case KIND_ROLE:
    case KIND_U32:
    case KIND_PORT:
    case KIND_BOOL:
        return memcmp(fa, fb, k->size) == 0;
    case KIND_LISTEN:
    case KIND_REMOTE: {
        const struct config_endpoint *ea = (const void *)fa, *eb = (const void *)fb;
        return ea->port == eb->port && strcmp(ea->host, eb->host) == 0;
    }
    case KIND_HEX:
        return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
    default:
        return strncmp(fa, fb, k->size) == 0;
    }
}

void config_compare(const struct config *cur, const struct config *next, struct config *applied,
                    struct config_changes *ch)
{
    struct config out = *cur;
    memset(ch, 0, sizeof *ch);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const struct key_spec *k = &keys[i];
        if (same_value(k, cur, next))
            continue;
        if (ch->count < CONFIG_CHANGES_MAX) {
            ch->items[ch->count].section = k->section;
            ch->items[ch->count].key = k->key;
            ch->items[ch->count].live = k->live;
            ch->count++;
        }
        if (k->live) {
            ch->live_count++;
            memcpy((char *)&out + k->offset, (const char *)next + k->offset, k->size);
        } else {
            ch->restart_count++;
        }
    }
    if (applied)
        *applied = out;
    wipe(out.key, sizeof out.key);
}

int config_changed(const struct config_changes *ch, const char *section, const char *key)
{
    for (unsigned i = 0; i < ch->count; i++)
        if (strcmp(ch->items[i].section, section) == 0 &&
            (!key || strcmp(ch->items[i].key, key) == 0))
            return 1;
    return 0;
}

size_t config_changes_text(const struct config_changes *ch, int live, char *out, size_t cap)
{
    struct msg m;
    m.len = 0;
    m.buf[0] = '\0';
    for (unsigned i = 0; i < ch->count; i++)
        if (ch->items[i].live == (live ? 1 : 0))
            msg_add(&m, "%s[%s] %s", m.len ? ", " : "", ch->items[i].section, ch->items[i].key);
    if (cap > 0) {
        size_t n = m.len < cap - 1 ? m.len : cap - 1;
        memcpy(out, m.buf, n);
        out[n] = '\0';
    }
    return m.len;
}
