/* status_publisher.h - publishes nlbctld's status as instances of the WMI
 * class Nlbctl_Status (mof/nlbctl.mof) in root\nlbctl, on every change.
 *
 * A WMI call can take seconds (or hang) on a busy host, and the event loop
 * must never wait for one: the instances are written by a thread of its own
 * (with its own COM apartment), which always takes the newest status and
 * drops the ones it had no time for. Where WMI refuses (the MOF is not
 * compiled, WMI is stopped, or Wine, which has no such namespace), the
 * service logs one warning (event 19) for its whole run and carries on;
 * the thread tries again at most once a minute, so a MOF compiled later is
 * picked up, and says so when it works. Everything but the thread runs on
 * the caller's (the event loop's) thread, which is also the only one that
 * logs. */
#ifndef NLBCTL_STATUS_PUBLISHER_H
#define NLBCTL_STATUS_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct status_publisher;

/* NULL if the thread cannot be started (logged; the service goes on). */
struct status_publisher *status_publisher_start(void);

/* The status as `nlbctl status` shows it, from the service whose pipe is
 * `instance`; last_transition_at: when its state machine last changed, on
 * win_now_ms()'s clock. Cheap when nothing changed: call it every tick.
 * Also logs what became of earlier writes. p may be NULL. */
void status_publisher_update(struct status_publisher *p, const struct wire_status_reply *st,
                             const char *instance, uint64_t last_transition_at);

/* Whether the class can be reached on this host (nlbctld --wmi-check, which
 * the installers run after mofcomp): 0, or -1 with a sentence in err. Runs
 * on the calling thread, which must not have initialised COM otherwise. */
int status_publisher_check(char *err, size_t cap);

/* Stops the thread (waits up to 2 s for a WMI call in hand). p may be NULL. */
void status_publisher_stop(struct status_publisher *p);

#endif
