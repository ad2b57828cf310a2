/* event_loop.h - the one wait of nlbctld's single thread: a list of handles
 * rebuilt each round, each with a tag saying whose it is. */
#ifndef NLBCTL_EVENT_LOOP_H
#define NLBCTL_EVENT_LOOP_H

#include <windows.h>

#define EVENT_LOOP_MAX MAXIMUM_WAIT_OBJECTS

enum { EVENT_LOOP_TIMEOUT = -1, EVENT_LOOP_FAILED = -2, EVENT_LOOP_APC = -3 };

struct event_loop {
    DWORD count;
    HANDLE handles[EVENT_LOOP_MAX];
    int tags[EVENT_LOOP_MAX];
};

static inline void event_loop_reset(struct event_loop *l) { l->count = 0; }

static inline void event_loop_add(struct event_loop *l, HANDLE h, int tag)
{
    if (l->count < EVENT_LOOP_MAX && h) {
        l->handles[l->count] = h;
        l->tags[l->count++] = tag;
    }
}

/* Waits up to timeout_ms; returns the tag of a signalled handle (the first
 * added wins ties, so add the stop event first), EVENT_LOOP_TIMEOUT, or
 * EVENT_LOOP_APC when a queued callback (a service-status notification) ran.
 * The wait is alertable so that those callbacks can run here, on the one
 * thread that owns all state. */
static inline int event_loop_wait(const struct event_loop *l, DWORD timeout_ms)
{
    DWORD rc = WaitForMultipleObjectsEx(l->count, l->handles, FALSE, timeout_ms, TRUE);
    if (rc == WAIT_TIMEOUT)
        return EVENT_LOOP_TIMEOUT;
    if (rc == WAIT_IO_COMPLETION)
        return EVENT_LOOP_APC;
    if (rc < WAIT_OBJECT_0 + l->count)
        return l->tags[rc - WAIT_OBJECT_0];
    return EVENT_LOOP_FAILED;
}

#endif
