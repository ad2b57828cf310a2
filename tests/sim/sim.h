/* sim.h - the deterministic simulation of one coordinator and two agents:
 * configuration, results, and the invariant checkers' interface.
 *
 * sim.c is the world (clock, event queue, network, NLB, applications,
 * processes); sim_check.c holds the invariant checkers, which see the world
 * only through struct sim_view and the step hooks below, so the self-test
 * can feed them hand-made bad sequences; sim_main.c is the command line.
 * Portable C11: no Windows headers, no threads, no real time.
 */
#ifndef NLBCTL_SIM_H
#define NLBCTL_SIM_H

#include <stdint.h>

#include "agent.h"
#include "coordinator.h"
#include "model.h"
#include "wire.h"

/* ---- random numbers: splitmix64 seeds xorshift64* ------------------------- */

struct sim_rng {
    uint64_t s;
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [lo, hi] (inclusive); lo when hi <= lo. */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);
/* 1 with probability pct/100. */
int sim_rng_pct(struct sim_rng *r, unsigned pct);

/* ---- configuration ---------------------------------------------------------- */

/* Deliberate defects for --selftest: each makes one checker's rule break. */
enum sim_mutant {
    SIM_MUT_NONE = 0,
    SIM_MUT_STUCK_ENABLE,   /* node1's disables are turned into enables once it was primary */
    SIM_MUT_DROP_PROMOTE,   /* every SET_ROLE primary is lost on the wire */
    SIM_MUT_QUIET_SWITCH,   /* a manual switchover in the quiet phase, after convergence */
    SIM_MUT_DROP_QUERY,     /* quiet phase: query results never reach the agents */
    SIM_MUT_EPOCH_LOST,     /* an agent restarts with its epoch file lost (epoch 0) */
    SIM_MUT_LIAR_HEARTBEAT, /* a cut-off agent is fed forged fresh heartbeats */
    SIM_MUT_NO_START,       /* agents are initialised but never get AGENT_EV_START */
    SIM_MUT_DROP_REPLY,     /* the coordinator's REPLY actions are lost */
    SIM_MUT_DUP_REPLY,      /* ... or carried out twice */
    SIM_MUT_EARLY_DONE,     /* a fake NLB_DONE arrives while the command still runs */
    SIM_MUT_FAILBACK,       /* fault phase: the coordinator fails back to the preferred node
                             * at once, with preempt off */
    SIM_MUT_FRESH_ECHO,     /* every SET_ROLE reaches its agent looking fresh (echo = its
                             * clock now): the agent's check of an order's age is void */
    SIM_MUT_COUNT
};

const char *sim_mutant_name(int m);

struct sim_cfg {
    /* the product's timing (defaults = the product's defaults; they satisfy
     * isolation + nlb_timeout + max_delay < heartbeat * miss_count) */
    uint32_t heartbeat_ms, miss_count, loss_ms, isolation_ms, nlb_timeout_ms, max_delay_ms;
    uint32_t reconcile_ms, reconnect_ms, election_wait_ms, switchover_timeout_ms;
    uint32_t tick_ms; /* how often the shells tick their machines (TICK_MS in the hosts) */
    /* the simulation */
    uint32_t fault_min_ms, fault_max_ms; /* length of the fault phase */
    uint32_t quiet_ms;                   /* length of the quiet phase */
    uint32_t i1_bound_ms;                /* longest tolerated double-enabled overlap */
    int verbose;                         /* print every event and every core log line */
    int report;                          /* print a failure with its trace */
    int mutant;                          /* enum sim_mutant */
    unsigned check_mask;                 /* checks allowed to fail the run (1 << id) */
};

void sim_cfg_defaults(struct sim_cfg *cfg);

/* ---- results ------------------------------------------------------------------ */

struct sim_result {
    int failed;
    int check;            /* enum sim_check_id of the failure */
    uint64_t fail_at;     /* virtual ms */
    char why[512];
    uint64_t events;      /* simulation events processed */
    uint64_t virtual_ms;  /* virtual time simulated */
    uint64_t failovers;   /* automatic moves of the primary role (coordinator's view) */
    uint64_t switchovers; /* manual switchovers that completed (OK reply, role moved) */
    uint64_t requests;    /* switchover requests made */
    uint64_t overlap_max; /* longest double-enabled overlap counted by I1, ms */
    uint64_t overlap_excused_max; /* ... while drift or a refusing NLB explained it */
    uint64_t fences;      /* primaries that stepped down by isolation */
    uint64_t restarts;    /* agent and coordinator restarts */
    /* how much each check was exercised */
    uint64_t converge_max;  /* quiet phase: longest time to converge, ms */
    uint64_t preempt_moves; /* quiet phase: preempt moves checked (I3) */
    uint64_t quiet_drifts;  /* quiet phase: drifts injected and repaired in time (I4) */
    uint64_t stale_roles;   /* SET_ROLEs older than the agent's epoch delivered (I5) */
    uint64_t late_orders;   /* SET_ROLE primaries held back in a cut link, delivered late */
    uint64_t late_refused;  /* ... to a backup that refused them */
    uint64_t moves[4];      /* moves of the coordinator's primary judged by I3_MOVE, by
                             * enum sim_move */
    unsigned agent_actions_max, coord_actions_max; /* most actions in one step */
};

/* Runs one seed. Returns 0 if every invariant held. */
int sim_run_seed(const struct sim_cfg *cfg, uint64_t seed, struct sim_result *res);

/* ---- invariant checkers ---------------------------------------------------- */

enum sim_check_id {
    CK_I1 = 0,        /* single primary: overlap no longer than one NLB command */
    CK_I2,            /* availability in the quiet phase */
    CK_I3,            /* no flapping in the quiet phase; preempt rules */
    CK_I3_MOVE,       /* every step: each move of the coordinator's primary is justified */
    CK_I4,            /* convergence: desired = actual = NLB, drift repaired */
    CK_I5_EPOCH,      /* epochs only grow, persisted before use, one primary per epoch */
    CK_I5_STALE,      /* an agent never acts on a SET_ROLE older than its epoch */
    CK_I5_FENCE,      /* an isolated primary disables its port in time */
    CK_I6,            /* safe start */
    CK_ACTIONS,       /* actions per step below *_MAX_ACTIONS */
    CK_SWITCHOVER,    /* every request gets exactly one consistent REPLY in time */
    CK_NLB_ONE,       /* one NLB command at a time per node */
    CK_CODEC,         /* every message encodes and decodes */
    CK_STORM,         /* no process floods a link (a message loop) */
    CK_COUNT
};

/* Why a move of the coordinator's primary role is allowed (I3_MOVE). */
enum sim_move { SIM_MOVE_FAILOVER = 0, SIM_MOVE_SWITCHOVER, SIM_MOVE_PREEMPT, SIM_MOVE_ELECTION };

#define SIM_CHECK_ALL ((1u << CK_COUNT) - 1)

const char *sim_check_name(int id);
/* The short name used by --skip and NLBCTL_SIM_SKIP_<NAME>, e.g. "I5_FENCE". */
const char *sim_check_key(int id);
/* The most messages one process may send on one link in one second. */
#define SIM_STORM_MAX 40

/* The world's truth after an event, as the checkers see it. */
struct sim_node_view {
    uint8_t alive;        /* the agent process runs */
    uint8_t stopping;     /* ... and is carrying out a stop */
    uint8_t nlb;          /* the host's NLB port state (enum model_port) */
    uint8_t nlb_setting;  /* an NLB_SET is running on it */
    uint8_t drift_on;     /* enabled by injected drift the agent has not yet read back */
    uint8_t refused;      /* its NLB failed the last disable (injected NLB fault) */
    uint8_t app;          /* the application is healthy */
    uint8_t coord_link;   /* an established connection to the coordinator */
    uint8_t coord_sees;   /* the coordinator's machine counts it connected */
    uint8_t mode, port_desired, port_actual; /* the agent's state (when alive) */
    uint64_t epoch;
    uint64_t contact;     /* truth: the latest time someone had heard this agent, as
                           * learnt by it (its start counts as contact) */
    uint64_t believed_contact; /* the agent's own last_contact_at */
    uint8_t qdrift;       /* a quiet-phase drift is waiting for repair */
    uint64_t qdrift_at;
};

struct sim_view {
    uint64_t now;
    uint8_t quiet;
    uint64_t quiet_start;
    uint8_t preempt;
    uint8_t preferred;
    uint32_t preempt_delay_ms;
    struct sim_node_view node[2];
    uint8_t peer_link;    /* the agents' peer connection is established */
    uint8_t coord_alive;
    uint8_t coord_phase;
    int coord_primary;
    uint64_t coord_epoch;
    uint64_t pref_eligible_since; /* truth: preferred node healthy and linked since; 0 no */
};

/* One agent step as the checkers see it. */
struct sim_agent_step {
    int node;
    uint64_t now;
    const struct agent_event *ev;
    uint8_t mode_before;
    uint64_t epoch_before;
    uint8_t desired_before;
    const struct agent *after;
    const struct agent_actions *out;
    uint64_t contact;     /* truth of its two-way contact (see sim_node_view) */
};

struct sim_coord_step {
    uint64_t now;
    const struct coordinator_event *ev;
    uint64_t epoch_before;
    uint64_t persisted_before;
    const struct coordinator *after;
    const struct coordinator_actions *out;
    const int8_t *send_node; /* per action: the node a SEND goes to, -1 unknown */
    /* the coordinator before the step, for I3_MOVE (judged only when
     * have_before is set; the self-test's other hand-made steps leave it 0) */
    uint8_t have_before;
    uint8_t phase_before;
    int primary_before, from_before, to_before;
};

#define SIM_PENDING_MAX 64

struct sim_check {
    struct sim_cfg cfg;
    unsigned mask;
    int failed;
    int fail_id;
    uint64_t fail_at;
    char fail_text[512];

    /* I1 */
    uint8_t overlapping, excused_overlapping;
    uint64_t overlap_since, excused_since;
    uint64_t overlap_max, overlap_excused_max;

    /* I2, I3, I4: the quiet phase */
    uint8_t converged;
    uint64_t conv_at;
    int serving;           /* the node that serves since convergence */
    unsigned changes;      /* serving node changes after convergence */
    uint8_t in_gap;
    uint64_t gap_since;
    uint8_t mismatch[2];
    uint64_t mismatch_since[2];
    uint8_t pref_healthy_quiet; /* the preferred node's application is healthy in quiet */

    /* I3_MOVE: every step */
    uint8_t pref_ok;           /* the coordinator's view: the preferred node is eligible */
    uint64_t pref_ok_since;    /* ... since this step */
    int move_to;               /* target of the last move that was checked, -1 none */
    uint64_t moves[4];         /* coverage: moves judged, by enum sim_move */

    /* I5 */
    uint64_t agent_epoch_max[2];   /* highest epoch any incarnation of the agent held */
    uint64_t agent_persisted[2];   /* its persisted epoch */
    uint64_t coord_epoch_max;
    uint64_t coord_persisted;
    uint8_t *primary_of;           /* per epoch: 0 none, 1 + node told primary */
    uint64_t primary_of_cap;

    /* I6 */
    uint8_t fresh[2];          /* no SET_ROLE primary has arrived since the start */
    uint8_t first_cmd_seen[2];

    /* switchover requests */
    struct {
        uint32_t token;
        int target;             /* node index, -1 "the other", -2 not a node */
        uint64_t at, deadline;
        int primary_at_request;
    } pending[SIM_PENDING_MAX];
    unsigned npending;
    uint64_t last_enabled_at[2]; /* when each node's port was last seen enabled */
    uint64_t switchovers;

    /* coverage, see struct sim_result */
    uint64_t converge_time, preempt_moves, quiet_drifts, stale_roles;
    unsigned agent_actions_max, coord_actions_max;
    uint8_t prev_qdrift[2];
};

void check_init(struct sim_check *ck, const struct sim_cfg *cfg, unsigned mask);
void check_free(struct sim_check *ck);
/* Records a failure (the first one wins) if `id` is in the mask. */
void check_fail(struct sim_check *ck, int id, uint64_t now, const char *fmt, ...);

void check_world(struct sim_check *ck, const struct sim_view *v);
void check_quiet_start(struct sim_check *ck, const struct sim_view *v, int pref_healthy);
void check_end(struct sim_check *ck, const struct sim_view *v);

void check_agent_started(struct sim_check *ck, int node, uint64_t now, const struct agent *a);
void check_agent_step(struct sim_check *ck, const struct sim_agent_step *s);
void check_coord_started(struct sim_check *ck, uint64_t now, const struct coordinator *c);
void check_coord_step(struct sim_check *ck, const struct sim_coord_step *s,
                      const struct sim_view *v);
/* The agent asked for an NLB command while one was running (stop excepted). */
void check_nlb_busy(struct sim_check *ck, int node, uint64_t now, uint8_t running,
                    uint8_t asked);
/* A switchover request was handed to the coordinator; target as in pending[]. */
void check_switchover_request(struct sim_check *ck, uint64_t now, uint32_t token, int target,
                              uint32_t timeout_ms, int primary);
/* The coordinator died: its pending requests are answered by the pipe (aborted). */
void check_switchover_abort(struct sim_check *ck);
/* Converged and steady: quiet-phase drift may be injected from then on. */
int check_steady(const struct sim_check *ck, uint64_t now);

/* Self-test: feeds each checker a deliberately bad sequence; returns failures. */
int check_selftest(int verbose);

#endif
