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

/* What the coordinator's active SIP monitoring says of a node. */
enum model_probe {
    MODEL_PROBE_OFF = 0,     /* no [sip_monitor] */
    MODEL_PROBE_UNKNOWN = 1, /* not answered yet: counts neither way */
    MODEL_PROBE_UP = 2,      /* answering */
    MODEL_PROBE_DOWN = 3     /* stopped answering: treated like a failed application */
};

const char *model_probe_name(uint8_t probe);

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

/* What a state machine's log line is about. Every LOG action carries one,
 * so that the Windows shell can give each kind of event its own Event Log
 * ID (service/event_ids.c) without the core knowing about the Event Log,
 * and administrators can filter and alert on them. Append only: the
 * numbers are not shown anywhere, but tests walk 1 .. MODEL_EV_COUNT - 1. */
enum model_event {
    MODEL_EV_NONE = 0,
    /* agent */
    MODEL_EV_MODE_CHANGE,     /* backup <-> primary, with the cause */
    MODEL_EV_SAFE_START,      /* started as backup, port being disabled */
    MODEL_EV_FENCED,          /* isolated primary disables its own port */
    MODEL_EV_EPOCH_REFUSED,   /* an order with an older epoch */
    MODEL_EV_ROLE_REFUSED,    /* primary refused: application unhealthy */
    MODEL_EV_APP_DOWN,        /* application failed or says it cannot serve */
    MODEL_EV_APP_UP,          /* application healthy again */
    MODEL_EV_APP_REPORT,      /* the application's own word */
    MODEL_EV_NLB_FAILED,      /* an enable/disable/drain command failed */
    MODEL_EV_NLB_QUERY_FAILED,
    MODEL_EV_NLB_NOT_TAKEN,   /* command accepted, read-back disagrees */
    MODEL_EV_PORT_CONFIRMED,  /* a change confirmed by read-back */
    MODEL_EV_DRAINING,        /* drain started or over */
    MODEL_EV_DRIFT,           /* port found in a state nobody set */
    MODEL_EV_REPAIR,          /* port being brought back to the desired state */
    MODEL_EV_COORD_UP,
    MODEL_EV_COORD_DOWN,
    MODEL_EV_PEER_UP,
    MODEL_EV_PEER_DOWN,
    MODEL_EV_PEER_HEARD,
    MODEL_EV_PEER_MISMATCH,   /* the peer link reaches the wrong pair or node */
    MODEL_EV_PROTOCOL,        /* an unexpected message, ignored or refused */
    MODEL_EV_INTERNAL,        /* a bug: a state machine refused its own step */
    /* coordinator */
    MODEL_EV_COORD_STARTED,
    MODEL_EV_PHASE_CHANGE,    /* electing / stable / demoting / promoting */
    MODEL_EV_FAILOVER,        /* the primary failed or was lost: promoting the other */
    MODEL_EV_FAILOVER_BLOCKED,/* failover needed, the other node cannot take over */
    MODEL_EV_STEPPED_DOWN,    /* the old primary is backup, its port disabled */
    MODEL_EV_ROLE_CORRECTED,  /* a node reports another mode or epoch: told its role */
    MODEL_EV_SWITCHOVER_TIMEOUT,
    MODEL_EV_NODE_UP,
    MODEL_EV_NODE_LOST,
    MODEL_EV_NODE_REFUSED,    /* an agent of another pair, or not a node of this one */
    MODEL_EV_EPOCH_ADOPTED,   /* a node holds a higher epoch than ours */
    MODEL_EV_SIP_PROBE,       /* active SIP monitoring: a node stopped answering, or answers */
    MODEL_EV_COUNT
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
