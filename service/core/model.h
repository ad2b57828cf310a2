/* model.h - the words every part of nlbctl shares: roles, modes, port
 * states, coordinator phases and request results, with their names.
 * Portable C, no Windows headers. */
#ifndef NLBCTL_MODEL_H
#define NLBCTL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define MODEL_NAME_MAX 63 /* node and pair names, bytes without terminator */

enum model_role { MODEL_ROLE_AGENT = 1, MODEL_ROLE_COORDINATOR = 2 };

enum model_mode { MODEL_MODE_BACKUP = 0, MODEL_MODE_PRIMARY = 1 };

/* The NLB port rule's state; 0-3 match MicrosoftNLB_PortRuleEx PortState
 * (0 not found, 1 enabled, 2 disabled, 3 draining). DISCONNECTED is ours:
 * whatever the rule says, the NLB host is out of the cluster (network
 * cable unplugged, NLB stopped or suspended), so it receives no traffic
 * for the VIP and NLB refuses or ignores commands for the rule (the seed's
 * W4). It counts as not serving; an agent that wants its port disabled
 * keeps commanding it, so the rule is disabled the moment the host
 * returns (W5). */
enum model_port {
    MODEL_PORT_UNKNOWN = 0,
    MODEL_PORT_ENABLED = 1,
    MODEL_PORT_DISABLED = 2,
    MODEL_PORT_DRAINING = 3,
    MODEL_PORT_DISCONNECTED = 4
};

/* A port in this state can receive no new traffic for the VIP. */
int model_port_not_serving(uint8_t port);

enum model_phase {
    MODEL_PHASE_ELECTING = 0, /* no primary yet */
    MODEL_PHASE_STABLE = 1,   /* one primary, nothing in progress */
    MODEL_PHASE_DEMOTING = 2, /* switchover: waiting for the old primary's disable */
    MODEL_PHASE_PROMOTING = 3 /* waiting for the new primary's enable */
};

/* Results of requests from nlbctl; also nlbctl's exit codes where noted. */
enum model_result {
    MODEL_OK = 0,
    MODEL_ERR_NO_PRIMARY = 10,   /* nothing to switch over from */
    MODEL_ERR_NO_BACKUP = 11,    /* no connected, healthy node to switch to */
    MODEL_ERR_BUSY = 12,         /* another switchover is in progress */
    MODEL_ERR_TIMEOUT = 13,      /* did not complete in time */
    MODEL_ERR_UNKNOWN_NODE = 14, /* target is not a node of this pair */
    MODEL_ERR_NOT_SUPPORTED = 15,/* this instance's role cannot do that */
    MODEL_ERR_BAD_REQUEST = 16,
    MODEL_ERR_ABORTED = 17,      /* the service stopped before the end */
    MODEL_ERR_PRIMARY_UNREACHABLE = 18, /* cannot confirm the primary's disable */
    MODEL_ERR_ACCESS_DENIED = 19 /* the client may only read status */
};

/* The last transitions of a state machine, with the time (the machine's
 * clock, ms) and the reason; feeds status, `nlbctl history` and the log. */
#define MODEL_HISTORY_MAX 16
#define MODEL_HISTORY_TEXT 112

struct model_history {
    unsigned count; /* entries held, at most MODEL_HISTORY_MAX */
    unsigned next;  /* where the next one goes */
    struct {
        uint64_t at;
        char text[MODEL_HISTORY_TEXT];
    } entries[MODEL_HISTORY_MAX];
};

void model_history_add(struct model_history *h, uint64_t at, const char *text);
/* The i-th newest entry (0 = newest), or NULL. */
const char *model_history_get(const struct model_history *h, unsigned i, uint64_t *at);

const char *model_mode_name(uint8_t mode);   /* "primary", "backup" */
const char *model_port_name(uint8_t port);   /* "enabled", ... "unknown" */
const char *model_phase_name(uint8_t phase); /* "electing", ... */
const char *model_role_name(uint8_t role);   /* "agent", "coordinator" */
const char *model_result_text(int32_t code); /* a sentence */

#endif
