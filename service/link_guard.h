/* link_guard.h - what a listening port does about connections that have not
 * yet proved who they are: their log lines are rate-limited (one per kind
 * of fault and peer address per minute, with a count of those not logged,
 * so a flood cannot flood the log or the Event Log), and they get a limited
 * time to identify themselves. The decisions are the core's (ratelimit.h,
 * conn_slots.h); this is their Windows side. */
#ifndef NLBCTL_LINK_GUARD_H
#define NLBCTL_LINK_GUARD_H

#include "net.h"

/* An incoming connection that has not identified itself (sealed handshake
 * and a first message its host accepts) within this time is closed: real
 * agents do it within milliseconds of connecting. */
#define LINK_GUARD_IDENTIFY_MS 5000u
#define LINK_GUARD_WINDOW_MS 60000u

/* A line about an unidentified connection from peer ("a.b.c.d:port"): logged
 * (log_event with id, or log_write with id 0) unless a line of the same kind
 * from the same address was logged in the last minute; then only counted. */
void link_guard_log(int level, unsigned long id, const char *kind, const char *peer,
                    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* On the host's timer: one summary line per kind and address whose minute
 * has passed with lines not logged. */
void link_guard_tick(void);

/* The slot for a new incoming connection among n (see conn_slots_pick): a
 * free one, else the oldest unidentified, else the oldest identified. */
struct net_conn *link_guard_slot(struct net_conn *slots, int n);

/* 1 when c is incoming, unidentified, and past LINK_GUARD_IDENTIFY_MS. */
int link_guard_overdue(const struct net_conn *c, uint64_t now);

#endif
