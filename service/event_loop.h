/* event_loop.h - the one wait of nlbctld's single thread: a list of handles
 * rebuilt each round, each with a tag saying whose it is. */
#ifndef NLBCTL_EVENT_LOOP_H
#define NLBCTL_EVENT_LOOP_H

#include <windows.h>

#define EVENT_LOOP_MAX MAXIMUM_WAIT_OBJECTS

enum { EVENT_LOOP_TIMEOUT = -1, EVENT_LOOP_FAILED = -2 };

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
 * added wins ties, so add the stop event first), or EVENT_LOOP_TIMEOUT. */
static inline int event_loop_wait(const struct event_loop *l, DWORD timeout_ms)
{
    DWORD rc = WaitForMultipleObjects(l->count, l->handles, FALSE, timeout_ms);
    if (rc == WAIT_TIMEOUT)
        return EVENT_LOOP_TIMEOUT;
    if (rc < WAIT_OBJECT_0 + l->count)
        return l->tags[rc - WAIT_OBJECT_0];
    return EVENT_LOOP_FAILED;
}

#endif
