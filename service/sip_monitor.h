/* sip_monitor.h - active SIP monitoring on the coordinator: UDP sockets that
 * send sip_probe's OPTIONS requests to each node's own SIP address and the
 * VIP, and feed the answers back. Verdicts (sip_probe.h) reach the caller
 * through a callback. */
#ifndef NLBCTL_SIP_MONITOR_H
#define NLBCTL_SIP_MONITOR_H

#include <stdint.h>
#include <windows.h>

#include "config.h"
#include "sip_probe.h"

struct sip_monitor;

/* target: 0 node1, 1 node2, SIP_PROBE_VIP; verdict: enum sip_probe_verdict;
 * why: the last failure when the verdict is down. */
typedef void (*sip_monitor_fn)(void *ctx, int target, uint8_t verdict, const char *why);

/* NULL with err[0] == '\0' when [sip_monitor] is not configured; NULL with
 * a sentence in err when it cannot start (an address that does not
 * resolve, no socket). */
struct sip_monitor *sip_monitor_open(const struct config *cfg, char *err, size_t cap);
void sip_monitor_close(struct sip_monitor *m);

/* The sockets' events for the wait; returns how many (at most 3). */
int sip_monitor_events(struct sip_monitor *m, HANDLE *events);

/* Reads what arrived on socket `index` (of sip_monitor_events). */
void sip_monitor_service(struct sip_monitor *m, int index, sip_monitor_fn fn, void *ctx);

/* Sends a round when due and counts timeouts; call every tick. */
void sip_monitor_tick(struct sip_monitor *m, sip_monitor_fn fn, void *ctx);

#endif
