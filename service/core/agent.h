/* agent.h - the agent's state machine: one node's mode, epoch and NLB port.
 *
 * Sans-I/O: agent_step() takes an event and the current time (milliseconds
 * on any monotonic clock) and returns the actions the shell must carry out.
 * The shell reports each NLB command's outcome back as AGENT_EV_NLB_DONE, so
 * the machine never assumes a command worked: it believes only read-backs.
 *
 * Modes (a table in agent.c): backup -> primary on SET_ROLE(primary) with an
 * epoch not older than ours; primary -> backup on SET_ROLE(backup) or stop.
 * An agent starts as backup and disables its port (safe start) until its
 * coordinator says otherwise.
 */
#ifndef NLBCTL_AGENT_H
#define NLBCTL_AGENT_H

#include <stdint.h>

#include "model.h"
#include "wire.h"

struct agent_settings {
    char pair[MODEL_NAME_MAX + 1];
    char node[MODEL_NAME_MAX + 1];
    char peer_node[MODEL_NAME_MAX + 1]; /* the other node of the pair; empty:
                                         * not configured (any other name) */
    uint32_t heartbeat_ms; /* how often a REPORT goes out when nothing changes */
    uint32_t reconcile_ms; /* how often NLB is read back to catch drift */
    uint32_t isolation_ms; /* a primary out of contact this long disables its port */
    uint32_t peer_loss_ms; /* the peer counts as lost after this much silence */
    uint8_t has_peer;      /* a peer link is configured */
    uint32_t drain_ms;     /* planned step-down: drain this long, then disable */
    uint32_t nlb_timeout_ms; /* an NLB command's time limit (0: not known) */
};

enum agent_event_type {
    AGENT_EV_START = 1,  /* the service is up: take the safe state */
    AGENT_EV_COORD_UP,   /* the link to the coordinator is connected */
    AGENT_EV_COORD_DOWN, /* ... and lost */
    AGENT_EV_MESSAGE,    /* a decoded message from the coordinator */
    AGENT_EV_NLB_DONE,   /* the NLB command finished; port = state read back */
    AGENT_EV_TICK,       /* time passed */
    AGENT_EV_STOP,       /* the service is stopping: disable the port */
    AGENT_EV_APP,        /* the application's health changed: ok = healthy */
    AGENT_EV_PEER_UP,    /* the link to the peer agent is connected */
    AGENT_EV_PEER_DOWN,  /* ... and lost */
    AGENT_EV_PEER_MESSAGE, /* a decoded message from the peer agent */
    AGENT_EV_APP_REPORT    /* the application's own word: ok = it can serve */
};

struct agent_event {
    uint8_t type;               /* enum agent_event_type */
    const struct wire_msg *msg; /* AGENT_EV_MESSAGE */
    uint8_t port;               /* AGENT_EV_NLB_DONE: enum model_port read back */
    uint8_t ok;                 /* NLB_DONE: the command itself succeeded; APP: healthy */
    /* NLB_DONE, with a rule read back draining: the connections to VIP:port
     * that remain on this host, if the backend can count them (conns_known;
     * zero-initialised, an event says "cannot tell"). A drain ends early
     * when a known count reaches 0. */
    uint8_t conns_known;
    uint32_t conns;
};

enum agent_action_type {
    AGENT_ACT_NLB_SET = 1,   /* drive the port to `port`, read back, report NLB_DONE */
    AGENT_ACT_NLB_QUERY,     /* read the port's state, report NLB_DONE */
    AGENT_ACT_SEND,          /* send `msg` to the coordinator */
    AGENT_ACT_SEND_PEER,     /* send `msg` to the peer agent */
    AGENT_ACT_PERSIST_EPOCH, /* store `epoch` durably before anything else */
    AGENT_ACT_LOG            /* `text` at `level` */
};

enum agent_log_level { AGENT_LOG_INFO = 0, AGENT_LOG_WARNING = 1, AGENT_LOG_ERROR = 2 };

#define AGENT_TEXT_MAX 200

struct agent_action {
    uint8_t type;
    uint8_t port;  /* NLB_SET */
    uint8_t level; /* LOG */
    uint8_t event; /* LOG: enum model_event */
    uint64_t epoch;
    struct wire_msg msg;
    char text[AGENT_TEXT_MAX];
};

#define AGENT_MAX_ACTIONS 12

struct agent_actions {
    unsigned count;
    struct agent_action items[AGENT_MAX_ACTIONS];
};

enum agent_nlb_pending { AGENT_NLB_IDLE = 0, AGENT_NLB_SETTING, AGENT_NLB_QUERYING };

struct agent {
    struct agent_settings set;
    uint8_t mode;         /* enum model_mode */
    uint64_t epoch;       /* highest epoch accepted; only grows */
    uint8_t port_desired; /* enum model_port */
    uint8_t port_actual;  /* last state read back; UNKNOWN before the first */
    uint8_t port_commanded; /* what the running NLB_SET asked for */
    uint8_t pending;      /* enum agent_nlb_pending */
    uint8_t out_of_cluster; /* the last good read said the NLB host is out (W4) */
    uint8_t app_healthy;   /* app_running && app_available */
    uint8_t app_running;   /* the monitor sees the process or service running */
    uint8_t app_available; /* the application has not said SERVICE_UNAVAILABLE */
    uint8_t coord_up;
    uint8_t peer_up;      /* the peer link is connected */
    uint8_t peer_heard;   /* a REPORT came from the peer since start */
    uint8_t stopping;
    uint8_t handover;     /* at stop: primary with a healthy peer to hand over to */
    uint64_t stop_epoch;  /* the epoch when the stop began */
    struct wire_report peer; /* the peer's last REPORT */
    uint64_t peer_heard_at;
    uint64_t started_at;
    /* The latest moment someone (coordinator or peer) is known to have
     * heard this agent: two-way contact, not merely messages arriving. */
    uint64_t last_contact_at;
    uint64_t next_report_at;
    uint64_t next_reconcile_at;
    uint64_t last_transition_at;
    uint64_t drain_until;  /* draining ends then (port_desired DRAINING) */
    uint64_t drain_since;  /* ... and began then */
    uint8_t drain_counting; /* this drain's count: 0 not read yet, 1 known, 2 cannot tell */
    char last_reason[128];
    struct model_history history;
};

/* Starts in backup with the epoch persisted by an earlier run (0 if none). */
void agent_init(struct agent *a, const struct agent_settings *set, uint64_t persisted_epoch,
                uint64_t now);

/* A stop on host shutdown (PRESHUTDOWN) waits for the handover: after
 * AGENT_EV_STOP, the shell keeps running events until this says it need
 * wait no longer, or its own time limit passes. */
enum agent_handover {
    AGENT_HANDOVER_WAIT = 0,   /* the disable is not confirmed, or the peer not serving yet */
    AGENT_HANDOVER_NOBODY = 1, /* port disabled; this node was not primary, or had no
                                * healthy peer in view: nothing more to wait for */
    AGENT_HANDOVER_DONE = 2    /* port disabled and the peer reports itself primary
                                * with its port enabled, by a decision newer than the stop */
};
int agent_handover_state(const struct agent *a);

/* A reloaded config's settings, applied without losing any state: mode,
 * epoch, port, links and history stay. Only the timings (heartbeat_ms,
 * reconcile_ms, isolation_ms, peer_loss_ms) and drain_ms are taken; pair,
 * node and has_peer are identity and stay as agent_init set them (the shell
 * reports a change of them as needing a restart). */
void agent_set_settings(struct agent *a, const struct agent_settings *set, uint64_t now);

/* Runs one event; out receives the actions in the order they must run. */
void agent_step(struct agent *a, const struct agent_event *ev, uint64_t now,
                struct agent_actions *out);

/* How long since the peer was last heard (WIRE_SILENT_NEVER without a peer link). */
uint32_t agent_peer_silent_ms(const struct agent *a, uint64_t now);

/* Whether a HELLO on the peer port names our peer: our pair, the other node
 * (any other name when [pair] is not configured). Anyone holding the key
 * could otherwise pass as the peer under a name of their choosing. */
int agent_peer_hello_ok(const struct agent_settings *set, const struct wire_hello *h);

/* This agent as a status reply for nlbctl. */
void agent_status(const struct agent *a, uint64_t now, struct wire_status_reply *st);

#endif
