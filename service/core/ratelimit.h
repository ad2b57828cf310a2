/* ratelimit.h - at most one log line per (kind, peer address) per window.
 * Hostile traffic (a connection flood, a stream of forged frames) must not
 * flood the log or the Event Log: the first line of a kind from an address
 * is logged, the rest of the window is only counted, and the count is
 * reported with the next line or when the window closes. Portable and
 * sans-I/O: the caller gives the time and does the logging. */
#ifndef NLBCTL_RATELIMIT_H
#define NLBCTL_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_SLOTS 64 /* bounded: distinct (kind, address) pairs tracked at once */
#define RATELIMIT_KIND_MAX 64
#define RATELIMIT_ADDR_MAX 48

struct ratelimit_entry {
    char kind[RATELIMIT_KIND_MAX];
    char addr[RATELIMIT_ADDR_MAX];
    uint64_t window_start;
    uint32_t suppressed; /* lines not logged since window_start */
    int used;
};

struct ratelimit {
    uint64_t window_ms;
    struct ratelimit_entry slots[RATELIMIT_SLOTS];
    uint32_t overflow; /* lines refused a slot, not yet reported */
    uint64_t overflow_since;
};

void ratelimit_init(struct ratelimit *r, uint64_t window_ms);

/* 1: log this line now; *suppressed is how many of its kind from addr were
 * not logged in the window before (say so in the line). 0: count it, do not
 * log it. With every slot busy in its window (over RATELIMIT_SLOTS kinds and
 * addresses at once) a line is not logged and counted as overflow, which
 * ratelimit_take_expired reports: nothing is dropped without a count. */
int ratelimit_allow(struct ratelimit *r, const char *kind, const char *addr, uint64_t now,
                    uint32_t *suppressed);

/* Finds one entry whose window has closed with lines still uncounted in the
 * log, copies it to *out and forgets it: 1, or 0 when there is none. The
 * overflow comes out as kind "any", address "other addresses". Call on a
 * timer so that a flood that stops is still summed up in the log. */
int ratelimit_take_expired(struct ratelimit *r, uint64_t now, struct ratelimit_entry *out);

/* "192.0.2.1:50123" -> "192.0.2.1": a flood comes from many source ports. */
void ratelimit_addr_of(const char *peer, char *addr, unsigned cap);

#endif
