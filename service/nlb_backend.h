/* nlb_backend.h - what every NLB backend provides (sim, wmi, exec). One
 * backend instance drives one port rule (VIP:port) on the local host.
 *
 * Calls block; the agent makes them on its NLB worker thread (nlb_worker.h),
 * which opens the backend, makes every call and closes it, all on that one
 * thread (COM-friendly: the worker initialises COM for itself). A call that
 * hangs is abandoned by the agent after nlb_timeout_ms; the backend need not
 * time itself out, but must never touch the agent's state.
 *
 * Every function returns 0, or -1 with a sentence in err an administrator
 * understands ("NLB is not installed on this host", "no port rule contains
 * port 5060", ...), never a bare code. */
#ifndef NLBCTL_NLB_BACKEND_H
#define NLBCTL_NLB_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "nlb.h"

struct nlb_ops {
    /* Drives the rule to state: MODEL_PORT_ENABLED, _DISABLED or _DRAINING. */
    int (*set)(void *impl, uint8_t state, char *err, size_t cap);
    /* Reads the rule's state (enum model_port). */
    int (*query)(void *impl, uint8_t *state, char *err, size_t cap);
    /* Counts the connections to VIP:port that remain on this host, for a
     * drain that may end as soon as none do: 0 with *count, or with
     * NLB_CONNECTIONS_UNKNOWN when the backend cannot tell (a UDP rule, a
     * sim without a count). NULL: never can tell (exec). Asked only while
     * the rule reads back draining. */
    int (*connections)(void *impl, uint32_t *count, char *err, size_t cap);
    /* For logs: "wmi 192.0.2.10:5060 on cluster 192.0.2.10", "sim C:\...". */
    const char *(*describe)(void *impl);
    void (*close)(void *impl);
};

/* Each backend's constructor: returns its instance and sets *ops, or NULL
 * with err. `node` is this host's node name (the sim keys its files by it). */
void *nlb_sim_open(const struct config *cfg, const char *node, const struct nlb_ops **ops,
                   char *err, size_t cap);
void *nlb_wmi_open(const struct config *cfg, const char *node, const struct nlb_ops **ops,
                   char *err, size_t cap);
/* The wmi backend's count (nlb_wmi.c), open for tests: this host's IPv4 TCP
 * connections with local address vip (NULL: any) and a local port in
 * start_port..end_port, not yet over. 0 with *count (NLB_CONNECTIONS_UNKNOWN
 * for a vip that is not IPv4), or -1 with err. */
int nlb_wmi_count_tcp(const char *vip, unsigned start_port, unsigned end_port, uint32_t *count,
                      char *err, size_t cap);
void *nlb_exec_open(const struct config *cfg, const char *node, const struct nlb_ops **ops,
                    char *err, size_t cap);

#endif
