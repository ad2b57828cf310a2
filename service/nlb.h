/* nlb.h - one interface to the local host's NLB port rule, whatever drives
 * it: `wmi` (root\MicrosoftNLB), `exec` (nlb.exe, wlbs.exe or a site's
 * script) or `sim` (files, for tests and the demo); nlb_backend.h says what
 * each provides. Calls block: the agent makes them on its NLB worker
 * (nlb_worker.h). Every call returns 0 or -1 with a sentence in err. */
#ifndef NLBCTL_NLB_H
#define NLBCTL_NLB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct nlb;

/* Opens the backend named by cfg->backend for this node's rule (vip:port). */
struct nlb *nlb_open(const struct config *cfg, const char *node, char *err, size_t cap);
void nlb_close(struct nlb *nlb);

/* Drives the rule to `state` (enum model_port: ENABLED, DISABLED, DRAINING). */
int nlb_set(struct nlb *nlb, uint8_t state, char *err, size_t cap);
/* Reads the rule's state. */
int nlb_query(struct nlb *nlb, uint8_t *state, char *err, size_t cap);
/* The connections to VIP:port left on this host (nlb_backend.h): *count,
 * NLB_CONNECTIONS_UNKNOWN when the backend cannot tell. */
#define NLB_CONNECTIONS_UNKNOWN UINT32_MAX
int nlb_connections(struct nlb *nlb, uint32_t *count, char *err, size_t cap);
/* e.g. "sim C:\nlbsim\node1_192.0.2.10_5060.state" - for logs. */
const char *nlb_describe(const struct nlb *nlb);

#endif
