#include "sip_probe.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

void sip_probe_init(struct sip_probe *p, const struct sip_probe_settings *set, uint64_t now)
{
    memset(p, 0, sizeof *p);
    p->set = *set;
    p->next_round_at = now;
}

int sip_probe_round_due(struct sip_probe *p, uint64_t now)
{
    if (now < p->next_round_at)
        return 0;
    p->next_round_at = now + p->set.interval_ms;
    return 1;
}

/* One result into the target's runs; returns 1 if the verdict changed. */
static int record(struct sip_probe *p, int i, int ok)
{
    struct sip_probe_target *t = &p->t[i];
    t->waiting = 0;
    uint8_t before = t->verdict;
    if (ok) {
        t->fail_run = 0;
        if (t->ok_run < UINT32_MAX)
            t->ok_run++;
        if (t->ok_run >= p->set.rise)
            t->verdict = SIP_PROBE_UP;
    } else {
        t->ok_run = 0;
        if (t->fail_run < UINT32_MAX)
            t->fail_run++;
        if (t->fail_run >= p->set.fall && t->verdict == SIP_PROBE_UP)
            t->verdict = SIP_PROBE_DOWN;
    }
    return t->verdict != before;
}

size_t sip_probe_request(struct sip_probe *p, int i, const char *host, unsigned port,
                         const char *local_host, unsigned local_port, uint64_t now, char *buf,
                         size_t cap)
{
    struct sip_probe_target *t = &p->t[i];
    /* A request still out at the next round has timed out by the rule
     * timeout_ms < interval_ms; tick() normally counted it already. */
    if (t->waiting)
        record(p, i, 0);
    t->seq++;
    snprintf(t->call_id, sizeof t->call_id, "nlbctl-%s-%d-%lu", p->set.tag, i,
             (unsigned long)t->seq);
    int n = snprintf(buf, cap,
                     "OPTIONS sip:%s:%u SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK%s%d%lu;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:nlbctl@%s:%u>;tag=%s%d\r\n"
                     "To: <sip:%s:%u>\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %lu OPTIONS\r\n"
                     "Accept: application/sdp\r\n"
                     "User-Agent: nlbctl monitor\r\n"
                     "Content-Length: 0\r\n\r\n",
                     host, port, local_host, local_port, p->set.tag, i, (unsigned long)t->seq,
                     local_host, local_port, p->set.tag, i, host, port, t->call_id,
                     (unsigned long)t->seq);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    t->waiting = 1;
    t->sent_at = now;
    return (size_t)n;
}

/* The value of header `name` (case-insensitive, also its compact form) in a
 * SIP message, copied into out; 0 if absent. */
static int header(const char *data, size_t len, const char *name, char compact, char *out,
                  size_t cap)
{
    size_t nl = strlen(name), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && data[end] != '\r' && data[end] != '\n')
            end++;
        if (end == i)
            return 0; /* the blank line: headers are over */
        size_t k = 0;
        int match = end - i > nl;
        for (; match && k < nl; k++) {
            char c = data[i + k], w = name[k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            match = c == w;
        }
        if (!match && end - i > 1 && (data[i] == compact || data[i] == compact - 32)) {
            k = 1;
            match = 1;
        }
        if (match) {
            size_t j = i + k;
            while (j < end && (data[j] == ' ' || data[j] == '\t'))
                j++;
            if (j < end && data[j] == ':') {
                j++;
                while (j < end && (data[j] == ' ' || data[j] == '\t'))
                    j++;
                size_t vl = end - j;
                while (vl > 0 && (data[j + vl - 1] == ' ' || data[j + vl - 1] == '\t'))
                    vl--;
                if (vl >= cap)
                    return 0;
                memcpy(out, data + j, vl);
                out[vl] = '\0';
                return 1;
            }
        }
        i = end;
        while (i < len && (data[i] == '\r' || data[i] == '\n') && i - end < 2)
            i++;
    }
    return 0;
}

int sip_probe_answer(struct sip_probe *p, const char *data, size_t len, uint64_t now)
{
    (void)now;
    /* "SIP/2.0 200 OK" */
    if (len < 12 || memcmp(data, "SIP/2.0 ", 8) != 0)
        return -1;
    int code = 0;
    for (int k = 8; k < 11; k++) {
        if (data[k] < '0' || data[k] > '9')
            return -1;
        code = code * 10 + (data[k] - '0');
    }
    if (code < 100 || code > 699)
        return -1;
    char cid[SIP_PROBE_CALL_ID_MAX];
    if (!header(data, len, "call-id", 'i', cid, sizeof cid))
        return -1;
    for (int i = 0; i < SIP_PROBE_TARGETS; i++) {
        struct sip_probe_target *t = &p->t[i];
        if (!t->waiting || strcmp(t->call_id, cid) != 0)
            continue;
        if (code < 200)
            return -1; /* provisional: wait for the final answer */
        int ok = code < 500;
        if (!ok)
            snprintf(t->last_failure, sizeof t->last_failure, "answered %d", code);
        return record(p, i, ok) ? i : -1;
    }
    return -1;
}

int sip_probe_send_failed(struct sip_probe *p, int i, const char *why)
{
    utf8_copy(p->t[i].last_failure, sizeof p->t[i].last_failure, why);
    return record(p, i, 0) ? i : -1;
}

unsigned sip_probe_tick(struct sip_probe *p, uint64_t now)
{
    unsigned changed = 0;
    for (int i = 0; i < SIP_PROBE_TARGETS; i++) {
        struct sip_probe_target *t = &p->t[i];
        if (!t->waiting || now < t->sent_at + p->set.timeout_ms)
            continue;
        snprintf(t->last_failure, sizeof t->last_failure, "no answer in %lu ms",
                 (unsigned long)p->set.timeout_ms);
        if (record(p, i, 0))
            changed |= 1u << i;
    }
    return changed;
}

int sip_probe_never_answered(const struct sip_probe *p, int i, uint32_t n)
{
    const struct sip_probe_target *t = &p->t[i];
    return t->verdict == SIP_PROBE_UNKNOWN && t->fail_run >= n;
}

const char *sip_probe_verdict_name(uint8_t verdict)
{
    switch (verdict) {
    case SIP_PROBE_UP: return "answering";
    case SIP_PROBE_DOWN: return "not answering";
    default: return "unknown";
    }
}
