/* sip_probe.h - active SIP monitoring, sans I/O: the coordinator sends a SIP
 * OPTIONS request to each target (each node's own SIP address, and the VIP)
 * every interval, and a target's verdict changes only after `rise` answers
 * in a row (up) or `fall` failures in a row (down), so one lost datagram
 * does not move the pair.
 *
 * A target that has never answered stays unknown however often it fails,
 * and unknown counts as no verdict: when the coordinator and the nodes
 * start together, the SIP servers are not up yet, and a probe monitor that
 * cannot reach them at all (a firewall, a wrong address) must not take the
 * pair down; the caller warns about such a target instead
 * (sip_probe_never_answered).
 *
 * A probe succeeds on any final SIP response except 5xx/6xx: a 404 or 405
 * still proves a SIP stack that reads and answers; 503 Service Unavailable
 * is the application saying it cannot serve. A probe fails on a 5xx/6xx
 * answer or no final answer within timeout_ms. */
#ifndef NLBCTL_SIP_PROBE_H
#define NLBCTL_SIP_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define SIP_PROBE_TARGETS 3 /* node 0, node 1, the VIP */
#define SIP_PROBE_VIP 2
#define SIP_PROBE_CALL_ID_MAX 64

enum sip_probe_verdict { SIP_PROBE_UNKNOWN = 0, SIP_PROBE_UP = 1, SIP_PROBE_DOWN = 2 };

struct sip_probe_settings {
    uint32_t interval_ms;
    uint32_t timeout_ms; /* < interval_ms */
    uint32_t rise, fall; /* >= 1 */
    uint8_t used[SIP_PROBE_TARGETS]; /* 1 = this target is probed */
    char tag[24];        /* makes Call-IDs unique per process, e.g. the pid */
};

struct sip_probe_target {
    uint8_t verdict;
    uint8_t waiting;     /* a request is out */
    uint32_t ok_run, fail_run;
    uint64_t sent_at;
    uint32_t seq;
    char call_id[SIP_PROBE_CALL_ID_MAX];
    char last_failure[96]; /* why the last probe failed, for the log */
};

struct sip_probe {
    struct sip_probe_settings set;
    struct sip_probe_target t[SIP_PROBE_TARGETS];
    uint64_t next_round_at;
};

void sip_probe_init(struct sip_probe *p, const struct sip_probe_settings *set, uint64_t now);

/* 1 when a round is due: the caller then sends sip_probe_request() to every
 * used target. Calling it starts the round. */
int sip_probe_round_due(struct sip_probe *p, uint64_t now);

/* The OPTIONS request for target i, to host:port, from local host:port, in
 * buf (cap bytes). Returns its length, or 0 if it does not fit. Marks the
 * target as waiting for an answer. */
size_t sip_probe_request(struct sip_probe *p, int i, const char *host, unsigned port,
                         const char *local_host, unsigned local_port, uint64_t now, char *buf,
                         size_t cap);

/* An answer datagram. Returns the target whose verdict changed, or -1 (no
 * change, not an answer to a waiting probe, or not SIP). */
int sip_probe_answer(struct sip_probe *p, const char *data, size_t len, uint64_t now);

/* The target could not be sent to (e.g. no route): counts as a failure.
 * Returns i if its verdict changed, else -1. */
int sip_probe_send_failed(struct sip_probe *p, int i, const char *why);

/* Timeouts. Returns a bit mask of the targets whose verdict changed. */
unsigned sip_probe_tick(struct sip_probe *p, uint64_t now);

/* 1 when target i has failed at least `n` probes in a row without ever
 * having answered (for a warning); 0 otherwise. */
int sip_probe_never_answered(const struct sip_probe *p, int i, uint32_t n);

const char *sip_probe_verdict_name(uint8_t verdict);

#endif
