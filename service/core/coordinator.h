/* coordinator.h - the coordinator's state machine: who of a pair is primary.
 *
 * Sans-I/O like the agent. The shell numbers each agent connection (conn)
 * and feeds HELLO, messages, disconnects, switchover requests and ticks; the
 * machine answers with messages to send, connections to close, replies to
 * pending requests and log lines.
 *
 * Phases (a table in coordinator.c):
 *   electing  --elect-->      demoting  (other node must confirm its port disabled)
 *   electing  --elect-->      promoting (other node absent or already disabled)
 *   stable    --switchover--> demoting
 *   demoting  --old primary confirms disabled--> promoting
 *   promoting --new primary confirms enabled-->  stable
 * Break before make: the new primary is told to enable only after the old
 * one's disable has been read back. Every decision takes a new epoch.
 */
#ifndef NLBCTL_COORDINATOR_H
#define NLBCTL_COORDINATOR_H

#include <stdint.h>

#include "model.h"
#include "wire.h"

struct coordinator_settings {
    char pair[MODEL_NAME_MAX + 1];
    char node[2][MODEL_NAME_MAX + 1];
    uint8_t preferred;              /* 0 or 1: index into node[] */
    uint32_t heartbeat_ms;
    uint32_t election_wait_ms;      /* after start, wait this long for both nodes */
    uint32_t switchover_timeout_ms; /* default limit for one transfer */
    uint32_t loss_ms;               /* a node silent this long is lost (and fenced) */
    uint32_t max_delay_ms;          /* the largest message delay allowed for */
    uint8_t preempt;                /* give the role back to the preferred node */
    uint32_t preempt_delay_ms;      /* ... once it has been eligible this long */
    uint8_t probe_enabled;          /* [sip_monitor] configured: verdicts start unknown */
    uint32_t disconnect_confirm_ms; /* a primary reported out of the cluster this long
                                     * (its agent retries within it) is failed over */
};

enum coordinator_event_type {
    COORD_EV_START = 1,
    COORD_EV_MESSAGE,     /* conn sent msg (HELLO binds conn to a node) */
    COORD_EV_DISCONNECT,  /* conn closed */
    COORD_EV_SWITCHOVER,  /* request `token` from nlbctl, target name in msg */
    COORD_EV_TICK,
    COORD_EV_PROBE,       /* active SIP monitoring: a node's verdict changed */
    COORD_EV_PROBE_OFF    /* active SIP monitoring stopped working (text: why):
                           * no verdicts until it is configured again */
};

struct coordinator_event {
    uint8_t type;
    uint32_t conn;
    uint32_t token;
    const struct wire_msg *msg;
    /* COORD_EV_PROBE: active SIP monitoring's verdict on node `node` (0, 1)
     * changed: probe_down 1 = it stopped answering, 0 = it answers again;
     * text says what failed. */
    uint8_t node;
    uint8_t probe_down;
    const char *text;
};

enum coordinator_action_type {
    COORD_ACT_SEND = 1,      /* msg on conn */
    COORD_ACT_CLOSE,         /* close conn; text says why */
    COORD_ACT_REPLY,         /* answer request `token` with code and text */
    COORD_ACT_PERSIST_EPOCH, /* store epoch durably before sending anything */
    COORD_ACT_LOG
};

enum coordinator_log_level { COORD_LOG_INFO = 0, COORD_LOG_WARNING = 1, COORD_LOG_ERROR = 2 };

#define COORD_TEXT_MAX 200

struct coordinator_action {
    uint8_t type;
    uint8_t level;
    uint8_t event; /* LOG: enum model_event */
    uint32_t conn;
    uint32_t token;
    int32_t code;
    uint64_t epoch;
    struct wire_msg msg;
    char text[COORD_TEXT_MAX];
};

#define COORD_MAX_ACTIONS 12

struct coordinator_actions {
    unsigned count;
    struct coordinator_action items[COORD_MAX_ACTIONS];
};

#define COORD_NO_NODE (-1)

struct coordinator_node {
    uint8_t connected;
    uint32_t conn;
    uint8_t have_report;
    struct wire_report report; /* the last one received */
    uint64_t report_at;        /* when it was received */
    uint8_t heard; /* ever heard from since start */
    uint64_t last_heard_at;
    uint64_t next_heartbeat_at;
    uint64_t primary_order_at; /* when it was last told to be primary */
    uint64_t primary_order_until; /* ... and until when such an order may still be obeyed:
                                   * loss_ms after the report it answered was received */
    uint64_t serving_seen_at;  /* when it last reported itself primary or not disabled */
    uint8_t probe;             /* enum model_probe: active SIP monitoring's verdict */
    uint64_t disconnected_since; /* first of its reports in a row saying out of the cluster; 0 */
};

struct coordinator {
    struct coordinator_settings set;
    struct coordinator_node nodes[2];
    uint64_t epoch;
    uint8_t phase;  /* enum model_phase */
    int primary;    /* index, or COORD_NO_NODE */
    int from, to;   /* the transfer in progress: old and new primary */
    uint8_t drain;  /* the transfer is planned: the old primary may drain */
    uint64_t deadline;
    uint64_t elect_at;
    uint8_t elect_hold; /* wait for elect_at even if both nodes have reported */
    uint8_t request_pending;
    uint32_t request_token;
    uint64_t started_at;
    uint64_t preferred_ready_since; /* 0: the preferred node is not eligible */
    uint8_t stuck_logged;           /* "cannot fail over" said once per episode */
    char last_reason[128];
    uint64_t last_reason_at;
    struct model_history history;
};

void coordinator_init(struct coordinator *c, const struct coordinator_settings *set,
                      uint64_t persisted_epoch, uint64_t now);

/* A reloaded config's settings, applied without losing any state (phase,
 * primary, epoch, nodes, history, a transfer in progress). Timings,
 * preempt and preempt_delay_ms are taken (a preempt delay being counted
 * starts again); pair, node[] and preferred are identity and stay. */
void coordinator_set_settings(struct coordinator *c, const struct coordinator_settings *set,
                              uint64_t now);

void coordinator_step(struct coordinator *c, const struct coordinator_event *ev, uint64_t now,
                      struct coordinator_actions *out);

void coordinator_status(const struct coordinator *c, uint64_t now, struct wire_status_reply *st);

/* True if node x is known not to be serving: it confirmed its port
 * disabled, or nobody (neither we nor its peer) has heard it for loss_ms,
 * so by the timing rule it has fenced itself. */
int coordinator_not_serving(const struct coordinator *c, int x, uint64_t now);

/* The index of the node named `name`, or COORD_NO_NODE. */
int coordinator_node_index(const struct coordinator *c, const char *name);

#endif
