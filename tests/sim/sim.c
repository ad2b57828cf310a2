/* sim.c - a deterministic simulation of one coordinator and two agents.
 *
 * WHAT IT IS
 *   The portable core (agent.c, coordinator.c, wire.c) run unchanged inside
 *   a simulated world: a virtual clock in milliseconds, one time-ordered
 *   event queue (ties broken by insertion order), and nothing else. No
 *   threads, no sockets, no real time. Every random choice comes from two
 *   xorshift64* streams seeded from the seed by splitmix64: one draws the
 *   seed's parameters and its whole fault schedule up front (so a seed's
 *   faults stay the same when the core changes), the other draws message
 *   delays, NLB timings and failures as the run goes. A seed replays
 *   exactly: `sim_run --seed S --verbose` prints every event and every log
 *   line of the three machines.
 *
 * THE MODEL
 *   Processes  coordinator, agent node1, agent node2. Each shell ticks its
 *              machine every tick_ms (100, TICK_MS in the hosts), each with
 *              its own phase.
 *   Links      coordinator-node1, coordinator-node2, node1-node2. Each
 *              carries at most one live connection per agent; messages are
 *              wire_encode()d on send and wire_decode()d on delivery, after
 *              a delay of 1..d ms (d = the seed's base delay, max_delay_ms
 *              during a delay spike), in order per direction. Agents connect
 *              (node1 dials node2 on the peer link) every reconnect_ms while
 *              down; the coordinator sees a new conn id for each connection,
 *              an agent gets COORD_UP, both agents PEER_UP.
 *              A cut is one of: clean (both ends are told after a detection
 *              delay: DISCONNECT / COORD_DOWN / PEER_DOWN), silent (nothing
 *              is said; the connection is dead and its messages lost), or
 *              one-way (one direction dead). In-flight messages die with the
 *              connection; that is the only message loss modelled: the
 *              links are TCP, so a live connection never drops one message
 *              and delivers the next. Late orders (EV_F_LATE, see
 *              hold_back): a SET_ROLE primary held back in a cut link far
 *              beyond max_delay_ms, delivered when the link heals. A message sent on a dead connection
 *              once the link passes again, or arriving at a closed end, draws a reset
 *              (RST) that closes the sender's end. Agents' shells close a
 *              link that has been silent for loss_ms (heartbeat_ms x
 *              miss_count); the coordinator's core does so itself (CLOSE).
 *              A process that dies closes its connections (the far ends are
 *              told, if the link passes).
 *   NLB        per node, the host's port state: it survives agent restarts.
 *              NLB_SET takes 1..nlb_timeout_ms, applies at a random moment
 *              within, or fails (2% of commands, 60% during a failure
 *              burst, none in the quiet phase) leaving the state as it was;
 *              a failure is sometimes a hang cut off at nlb_timeout_ms, and
 *              its read-back is sometimes unknown. NLB_DONE then carries the
 *              state read back. NLB_QUERY reads at a random moment. A host
 *              out of the cluster (W4) ignores commands (they "succeed")
 *              and reads "disconnected"; for I1 its port is not enabled;
 *              it returns with its rule as it was (W5). One
 *              command at a time per node: the agent must respect that (the
 *              disable of a stop waits for the running command, as the
 *              shell does). Drift flips a node's port behind the agent.
 *   Apps       healthy or crashed per node; changes reach the agent at once
 *              (AGENT_EV_APP), as a process-handle monitor would.
 *   Restarts   an agent crash loses everything but the persisted epoch; its
 *              running NLB command took effect or not (a coin); it is down
 *              for 100 ms .. isolation_ms - 100 ms, then agent_init + START
 *              (+ APP if the application is down). ASSUMPTION the product
 *              makes and the model keeps: the service is restarted quickly
 *              by SCM recovery; a dead agent cannot fence, so a primary
 *              whose agent stays dead for longer than isolation_ms could keep
 *              its port enabled after the coordinator promotes the other.
 *              A graceful stop (AGENT_EV_STOP) disables the port first. A
 *              coordinator restart loses everything but its persisted epoch
 *              and drops its connections; pending switchover requests are
 *              answered by the pipe (aborted), not by the machine.
 *
 * ONE SEED
 *   Parameters: the preferred node, preempt (on in 25% of seeds, with a
 *   delay of 1..8 s), the base message delay, the NLB state found at start,
 *   start offsets, the fault phase's length (fault_min_ms..fault_max_ms) and
 *   intensity. Fault phase: link cuts and heals (clean, silent, one-way),
 *   partitions (a node or the coordinator cut off), application crashes and
 *   flapping, agent crashes and graceful restarts, coordinator restarts,
 *   NLB failure bursts, drift, delay spikes, NLB hosts leaving the cluster
 *   and returning, the coordinator's SIP probes to a node failing (a hung
 *   application: only active monitoring sees it), manual switchover requests
 *   (COORD_EV_SWITCHOVER with a token; to the other node, a named node, or
 *   a name that is not a node; default or explicit time limit). Faults
 *   overlap freely. Then a quiet phase (quiet_ms): every link up, every
 *   process running, no NLB failures, at least one healthy application,
 *   no more faults except up to two drifts injected after convergence
 *   (to check their repair).
 *
 * THE CHECKS (sim_check.c has the exact bounds), after every event:
 *   I1 overlap, I2 availability, I3 no flapping (quiet phase) and every
 *   move of the coordinator's primary justified (I3_MOVE, every step), I4
 *   convergence, I5 epochs,
 *   stale SET_ROLE and fencing, I6 safe start, action bounds (and an event
 *   kind on every log line), exactly one consistent REPLY per switchover
 *   request, one NLB command at a time,
 *   codec round trips, no message storm (more than SIM_STORM_MAX messages
 *   from one process on one link in one second). The first failure stops
 *   the seed and prints the seed, the virtual time, the check, the last 30
 *   events and the state. The fencing check needs the truth of two-way
 *   contact: every message to an agent carries (outside the wire) the time
 *   its sender last heard that agent (the coordinator: its last receipt
 *   from it; the peer: its last REPORT from it, or its own start, exactly
 *   what peer_silent_ms counts from), and the agent's contact is the latest
 *   such time it has received.
 *
 * EXCUSES (not failures, counted apart as "excused overlap")
 *   A port enabled by a foreign hand (drift, or found enabled at start) until
 *   the agent's next set on it applies or it reads it back and wants it; a
 *   port whose NLB refused the last disable (an injected NLB failure) until
 *   a set applies. Those are double faults the design does not cover. And
 *   a host back in the cluster with a stale enabled rule its agent does not
 *   want (W5), until its agent's next set applies: real NLB converges for
 *   seconds before such a host takes traffic; the model has no such time.
 *
 * RUNNING
 *   sim_run                 seeds 1..1000 (the ctest entry sim_seeds)
 *   sim_run --seeds N --first S
 *   sim_run --seed S --verbose    replay one seed with every event printed
 *   sim_run --long          100000 seeds (about 100 x the default run's
 *                           time; for a soak before a release, not for CI)
 *   sim_run --selftest      proves every check can fire (see sim_main.c)
 *   sim_run --skip I5_FENCE look past a known bug (or NLBCTL_SIM_SKIP_I5_FENCE=1)
 *   sim_run --i1-bound 0    report every double-enabled moment, however short
 *   sim_run --mutant NAME   plant one of the self-test's defects
 * Seeds replay across platforms: the native and the MinGW/Wine builds print
 * the same results for the same seed and core. They do not replay across
 * core changes that alter behaviour (the fault schedule stays the same; what
 * the machines do about it may not).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ---- random numbers --------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    r->s = splitmix64(&x);
    if (r->s == 0)
        r->s = 0x2545F4914F6CDD1Dull;
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + sim_rng_next(r) % (hi - lo + 1);
}

int sim_rng_pct(struct sim_rng *r, unsigned pct) { return sim_rng_next(r) % 100 < pct; }

/* ---- configuration ---------------------------------------------------------------- */

static const char *const mutant_names[SIM_MUT_COUNT] = {
    "none",       "stuck-enable", "drop-promote", "quiet-switchover", "drop-query",
    "epoch-lost", "liar-heartbeat", "no-start",   "drop-reply",       "dup-reply",
    "early-done", "failback",     "fresh-echo",
};

const char *sim_mutant_name(int m) { return m >= 0 && m < SIM_MUT_COUNT ? mutant_names[m] : "?"; }

void sim_cfg_defaults(struct sim_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->heartbeat_ms = 500;
    c->miss_count = 5;
    c->loss_ms = c->heartbeat_ms * c->miss_count;
    c->isolation_ms = 1500;
    c->nlb_timeout_ms = 600;
    c->max_delay_ms = 200;
    c->reconcile_ms = 5000;
    c->reconnect_ms = 1000;
    c->election_wait_ms = 3000;
    c->switchover_timeout_ms = 15000;
    c->tick_ms = 100;
    c->fault_min_ms = 30000;
    c->fault_max_ms = 120000;
    c->quiet_ms = 45000;
    c->i1_bound_ms = c->nlb_timeout_ms;
    c->report = 1;
    c->check_mask = SIM_CHECK_ALL;
}

/* ---- the world -------------------------------------------------------------------- */

enum { P_COORD = 0, P_NODE1 = 1, P_NODE2 = 2 };
enum { L_C1 = 0, L_C2 = 1, L_PEER = 2 };
/* The processes at the two ends of each link; direction d runs from end d. */
static const uint8_t link_end[3][2] = {{P_COORD, P_NODE1}, {P_COORD, P_NODE2}, {P_NODE1, P_NODE2}};
static const char *const proc_name[3] = {"coordinator", "node1", "node2"};
static const char *const link_name[3] = {"coord-node1", "coord-node2", "node1-node2"};

#define SIM_MSG_CAP 256
#define SIM_CONNS 48
#define SIM_TRACE 30

enum ev_kind {
    EV_AGENT_TICK = 1, /* a: node, x: incarnation */
    EV_COORD_TICK,     /* x: incarnation */
    EV_DELIVER,        /* a: conn slot, b: direction, x: conn id, z: stamp, data */
    EV_NOTIFY_CLOSE,   /* a: conn slot, b: end told, x: conn id */
    EV_CONNECTED,      /* a: link, x: initiator's incarnation, y: target's */
    EV_NLB_APPLY,      /* a: node, x: command */
    EV_NLB_DONE,       /* a: node, x: command */
    EV_FAKE_DONE,      /* a: node (mutant early-done) */
    EV_AGENT_EXIT,     /* a: node, x: incarnation: a stop that took too long */
    EV_AGENT_START,    /* a: node */
    EV_COORD_START,
    EV_QUIET,
    EV_END,
    EV_QUIET_DRIFT, /* a: node */
    /* the fault schedule */
    EV_F_CUT,   /* a: link mask, b: 0 clean 1 silent 2 one-way, c: blocked direction */
    EV_F_HEAL,  /* a: link mask */
    EV_F_APP,   /* a: node, b: healthy */
    EV_F_CRASH, /* a: node, x: down ms */
    EV_F_STOP,  /* a: node, x: down ms */
    EV_F_COORD_CRASH, /* x: down ms */
    EV_F_BURST, /* a: node, b: on */
    EV_F_DRIFT, /* a: node */
    EV_F_SPIKE, /* a: link, b: on */
    EV_F_SWITCH, /* a: 0 other 1 node1 2 node2 3 not a node, x: timeout ms */
    EV_F_DISC,   /* a: node, b: 1 its NLB host leaves the cluster, 0 it returns */
    EV_F_PROBE,  /* a: node, b: 1 the coordinator's SIP probes to it fail, 0 answered */
    EV_F_LATE,   /* a: node, b: cut kind (0 clean, 1 silent), x: hold ms: the next SET_ROLE
                  * primary to it is held back in a link cut as it leaves */
    EV_LATE_DELIVER /* a: node, x: its incarnation, data: the held order */
};

struct sim_ev {
    uint64_t at;
    uint64_t seq;
    uint8_t kind, a, b, c;
    uint32_t x, y;
    uint64_t z;
    uint16_t len;
    uint8_t data[SIM_MSG_CAP];
};

struct sim_conn {
    uint8_t used;
    uint8_t link;
    uint32_t id;
    uint8_t open[2];
    uint32_t inc[2];
    uint8_t dead[2];       /* per direction: its messages are lost */
    uint8_t reset_sent[2]; /* per direction: its sender was already reset */
    uint64_t last_rx[2];   /* per end */
    uint64_t last_at[2];   /* per direction: latest delivery scheduled */
};

struct sim_link {
    uint8_t blocked[2]; /* per direction */
    int cuts;
    int spikes;
    uint32_t delay; /* current largest delay */
};

struct sim_proc {
    uint8_t alive, stopping;
    uint32_t inc;
    uint64_t persisted;
    uint64_t started_at;
    int conn[3]; /* per link: this process's newest open connection slot, -1 */
    uint8_t connecting[3];
    uint64_t next_connect_at[3];
};

struct sim_nlb {
    uint8_t port;
    uint8_t disconnected; /* out of the cluster: commands ignored, reads "disconnected" */
    uint8_t drift_on, refused;
    uint32_t drift_gen;
    uint8_t busy, type, target, fail, applied, read;
    uint32_t seq;
    uint32_t inc;
    uint8_t queued, queued_port;
    int burst;
    uint8_t qdrift;
    uint64_t qdrift_at;
};

struct world {
    struct sim_cfg cfg;
    uint64_t seed;
    struct sim_rng rs, rw;
    uint64_t now, seq;
    struct sim_ev *q;
    size_t nq, capq;
    uint8_t stop;

    struct sim_proc proc[3];
    struct agent agent[2];
    struct agent_settings aset[2];
    struct coordinator coord;
    struct coordinator_settings cset;
    struct sim_link link[3];
    struct sim_conn conn[SIM_CONNS];
    uint32_t next_conn_id;
    struct sim_nlb nlb[2];
    uint8_t app[2];
    int app_down[2];

    uint64_t heard_coord[2];    /* the coordinator last heard node n (this incarnation) */
    uint64_t peer_report_at[2]; /* agent n last had a REPORT from its peer (this incarnation) */
    uint64_t contact[2];        /* truth of two-way contact, see sim_node_view */

    uint8_t quiet;
    uint64_t quiet_start, fault_end, end_at;
    uint8_t preempt, preferred;
    uint32_t preempt_delay, base_delay;
    uint64_t pref_eligible_since;
    int disc_count[2], probe_count[2]; /* overlapping EV_F_DISC / EV_F_PROBE faults */
    uint8_t drifts_planned, mut_switch_done, was_primary[2];
    uint8_t late_armed[2], late_kind[2]; /* EV_F_LATE: the next primary order is held */
    uint32_t late_hold[2];

    uint32_t next_token;
    int last_primary;
    uint64_t role_changes;

    struct sim_check ck;
    struct sim_result *res;

    struct sim_ev ring[SIM_TRACE];
    unsigned ring_n, ring_next;

    uint64_t storm_window[3][3]; /* per sender and link: the second being counted */
    unsigned storm_count[3][3];

    struct agent_actions aout;
    struct coordinator_actions cout;
};

/* ---- the event queue: a binary heap on (at, seq) ---------------------------------- */

static int ev_before(const struct sim_ev *x, const struct sim_ev *y)
{
    return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

static struct sim_ev *push(struct world *w, uint64_t at, uint8_t kind)
{
    if (w->nq == w->capq) {
        size_t cap = w->capq ? 2 * w->capq : 1024;
        struct sim_ev *q = realloc(w->q, cap * sizeof *q);
        if (!q) {
            fprintf(stderr, "sim: out of memory\n");
            exit(2);
        }
        w->q = q;
        w->capq = cap;
    }
    size_t i = w->nq++;
    struct sim_ev ev;
    memset(&ev, 0, offsetof(struct sim_ev, data));
    ev.at = at < w->now ? w->now : at;
    ev.seq = w->seq++;
    ev.kind = kind;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(&ev, &w->q[parent]))
            break;
        w->q[i] = w->q[parent];
        i = parent;
    }
    w->q[i] = ev;
    return &w->q[i];
}

/* push() returns a slot that a later push may move: fill it at once. */

static void pop(struct world *w, struct sim_ev *out)
{
    *out = w->q[0];
    struct sim_ev last = w->q[--w->nq];
    size_t i = 0, n = w->nq;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct sim_ev *best = &last;
        if (l < n && ev_before(&w->q[l], best)) {
            m = l;
            best = &w->q[l];
        }
        if (r < n && ev_before(&w->q[r], best))
            m = r;
        if (m == i)
            break;
        w->q[i] = w->q[m];
        i = m;
    }
    if (n > 0)
        w->q[i] = last;
}

static uint64_t rnd(struct world *w, uint64_t lo, uint64_t hi)
{
    return sim_rng_range(&w->rw, lo, hi);
}

/* ---- output ----------------------------------------------------------------------- */

static void vlog(struct world *w, const char *who, const char *fmt, ...)
{
    if (!w->cfg.verbose)
        return;
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("%7llu.%03llu %-11s %s\n", (unsigned long long)(w->now / 1000),
           (unsigned long long)(w->now % 1000), who, text);
}

static void describe_msg(const struct wire_msg *m, char *buf, size_t cap)
{
    switch (m->type) {
    case WIRE_HELLO:
        snprintf(buf, cap, "HELLO %s/%s", m->u.hello.pair, m->u.hello.node);
        break;
    case WIRE_REPORT:
        snprintf(buf, cap, "REPORT epoch %llu %s app %s desired %s actual %s peer %s/%s silent %u",
                 (unsigned long long)m->u.report.epoch, model_mode_name(m->u.report.mode),
                 m->u.report.app_healthy ? "ok" : "down", model_port_name(m->u.report.port_desired),
                 model_port_name(m->u.report.port_actual), model_mode_name(m->u.report.peer_mode),
                 model_port_name(m->u.report.peer_port), (unsigned)m->u.report.peer_silent_ms);
        break;
    case WIRE_SET_ROLE:
        snprintf(buf, cap, "SET_ROLE %s epoch %llu echo %llu", model_mode_name(m->u.set_role.mode),
                 (unsigned long long)m->u.set_role.epoch, (unsigned long long)m->u.set_role.echo);
        break;
    case WIRE_HEARTBEAT:
        snprintf(buf, cap, "HEARTBEAT epoch %llu silent %u",
                 (unsigned long long)m->u.heartbeat.epoch, (unsigned)m->u.heartbeat.silent_ms);
        break;
    default:
        snprintf(buf, cap, "%s", wire_type_name(m->type));
    }
}

/* The message an event carries (a delivery, on time or late). */
static void describe_data(const struct sim_ev *e, char *buf, size_t cap)
{
    struct wire_msg m;
    size_t used;
    if (wire_decode(e->data, e->len, &m, &used) == WIRE_OK)
        describe_msg(&m, buf, cap);
    else
        snprintf(buf, cap, "(undecodable)");
}

static void describe_event(const struct sim_ev *e, char *buf, size_t cap)
{
    char msg[200];
    static const char *const cut_kind[3] = {"clean", "silent", "one-way"};
    switch (e->kind) {
    case EV_AGENT_TICK:
        snprintf(buf, cap, "tick %s", proc_name[e->a + 1]);
        break;
    case EV_COORD_TICK:
        snprintf(buf, cap, "tick coordinator");
        break;
    case EV_DELIVER: {
        describe_data(e, msg, sizeof msg);
        snprintf(buf, cap, "deliver conn %u dir %u: %s", (unsigned)e->x, (unsigned)e->b, msg);
        break;
    }
    case EV_NOTIFY_CLOSE:
        snprintf(buf, cap, "conn %u: end %u learns it is closed", (unsigned)e->x, (unsigned)e->b);
        break;
    case EV_CONNECTED:
        snprintf(buf, cap, "connect %s", link_name[e->a]);
        break;
    case EV_NLB_APPLY:
        snprintf(buf, cap, "NLB %s command %u takes effect", proc_name[e->a + 1], (unsigned)e->x);
        break;
    case EV_NLB_DONE:
        snprintf(buf, cap, "NLB %s command %u done", proc_name[e->a + 1], (unsigned)e->x);
        break;
    case EV_FAKE_DONE:
        snprintf(buf, cap, "mutant: fake NLB_DONE to %s", proc_name[e->a + 1]);
        break;
    case EV_AGENT_EXIT:
        snprintf(buf, cap, "%s stop times out", proc_name[e->a + 1]);
        break;
    case EV_AGENT_START:
        snprintf(buf, cap, "start agent %s", proc_name[e->a + 1]);
        break;
    case EV_COORD_START:
        snprintf(buf, cap, "start coordinator");
        break;
    case EV_QUIET:
        snprintf(buf, cap, "QUIET PHASE BEGINS");
        break;
    case EV_END:
        snprintf(buf, cap, "end");
        break;
    case EV_QUIET_DRIFT:
        snprintf(buf, cap, "quiet drift on %s", proc_name[e->a + 1]);
        break;
    case EV_F_CUT:
        snprintf(buf, cap, "FAULT cut %s%s%s(%s%s)", e->a & 1 ? "coord-node1 " : "",
                 e->a & 2 ? "coord-node2 " : "", e->a & 4 ? "node1-node2 " : "",
                 cut_kind[e->b % 3], e->b == 2 ? (e->c ? ", end1->end0 dead" : ", end0->end1 dead")
                                               : "");
        break;
    case EV_F_HEAL:
        snprintf(buf, cap, "FAULT heal %s%s%s", e->a & 1 ? "coord-node1 " : "",
                 e->a & 2 ? "coord-node2 " : "", e->a & 4 ? "node1-node2" : "");
        break;
    case EV_F_APP:
        snprintf(buf, cap, "FAULT application on %s %s", proc_name[e->a + 1],
                 e->b ? "recovers" : "crashes");
        break;
    case EV_F_CRASH:
        snprintf(buf, cap, "FAULT agent %s crashes for %u ms", proc_name[e->a + 1], (unsigned)e->x);
        break;
    case EV_F_STOP:
        snprintf(buf, cap, "FAULT agent %s stopped (graceful) for %u ms", proc_name[e->a + 1],
                 (unsigned)e->x);
        break;
    case EV_F_COORD_CRASH:
        snprintf(buf, cap, "FAULT coordinator crashes for %u ms", (unsigned)e->x);
        break;
    case EV_F_BURST:
        snprintf(buf, cap, "FAULT NLB failure burst on %s %s", proc_name[e->a + 1],
                 e->b ? "begins" : "ends");
        break;
    case EV_F_DRIFT:
        snprintf(buf, cap, "FAULT drift on %s", proc_name[e->a + 1]);
        break;
    case EV_F_SPIKE:
        snprintf(buf, cap, "FAULT delay spike on %s %s", link_name[e->a], e->b ? "begins" : "ends");
        break;
    case EV_F_SWITCH:
        snprintf(buf, cap, "FAULT switchover request to %s, limit %u ms",
                 e->a == 0 ? "the other node" : e->a == 1 ? "node1" : e->a == 2 ? "node2" : "node9",
                 (unsigned)e->x);
        break;
    case EV_F_DISC:
        snprintf(buf, cap, "FAULT NLB host of %s %s", proc_name[e->a + 1],
                 e->b ? "leaves the cluster (SIP card unplugged)" : "returns to the cluster");
        break;
    case EV_F_PROBE:
        snprintf(buf, cap, "FAULT the coordinator's SIP probes to %s %s", proc_name[e->a + 1],
                 e->b ? "fail (application hung)" : "are answered again");
        break;
    case EV_F_LATE:
        snprintf(buf, cap, "FAULT the next SET_ROLE primary to %s is held back %u ms in a %s "
                 "cut of its link", proc_name[e->a + 1], (unsigned)e->x, cut_kind[e->b % 3]);
        break;
    case EV_LATE_DELIVER: {
        describe_data(e, msg, sizeof msg);
        snprintf(buf, cap, "late delivery to %s: %s", proc_name[e->a + 1], msg);
        break;
    }
    default:
        snprintf(buf, cap, "event %u", (unsigned)e->kind);
    }
}

static int coord_link_of(int node);

/* ---- the checkers' view ----------------------------------------------------------- */

static int conn_live(const struct world *w, int ci)
{
    if (ci < 0)
        return 0;
    const struct sim_conn *c = &w->conn[ci];
    return c->used && c->open[0] && c->open[1] && !c->dead[0] && !c->dead[1];
}

static void build_view(const struct world *w, struct sim_view *v)
{
    memset(v, 0, sizeof *v);
    v->now = w->now;
    v->quiet = w->quiet;
    v->quiet_start = w->quiet_start;
    v->preempt = w->preempt;
    v->preferred = w->preferred;
    v->preempt_delay_ms = w->preempt_delay;
    for (int n = 0; n < 2; n++) {
        struct sim_node_view *x = &v->node[n];
        const struct sim_proc *p = &w->proc[n + 1];
        const struct agent *a = &w->agent[n];
        x->alive = p->alive;
        x->stopping = p->stopping;
        /* A host out of the cluster gets no VIP traffic whatever its rule
         * says: for I1 its port is not enabled. */
        x->nlb = w->nlb[n].disconnected ? MODEL_PORT_DISCONNECTED : w->nlb[n].port;
        x->nlb_setting = w->nlb[n].busy && w->nlb[n].type == AGENT_ACT_NLB_SET;
        x->drift_on = w->nlb[n].drift_on;
        x->refused = w->nlb[n].refused;
        x->app = w->app[n];
        x->coord_link = p->alive && conn_live(w, p->conn[coord_link_of(n)]);
        if (p->alive) {
            x->mode = a->mode;
            x->port_desired = a->port_desired;
            x->port_actual = a->port_actual;
            x->epoch = a->epoch;
        }
        x->contact = w->contact[n];
        x->believed_contact = p->alive ? a->last_contact_at : 0;
        x->coord_sees = w->proc[P_COORD].alive && w->coord.nodes[n].connected;
        x->qdrift = w->nlb[n].qdrift;
        x->qdrift_at = w->nlb[n].qdrift_at;
    }
    v->peer_link = w->proc[P_NODE1].alive && conn_live(w, w->proc[P_NODE1].conn[L_PEER]);
    v->coord_alive = w->proc[P_COORD].alive;
    v->coord_phase = w->coord.phase;
    v->coord_primary = w->proc[P_COORD].alive ? w->coord.primary : COORD_NO_NODE;
    v->coord_epoch = w->coord.epoch;
    v->pref_eligible_since = w->pref_eligible_since;
}

/* ---- network ---------------------------------------------------------------------- */

static int end_of(int link, int proc) { return link_end[link][0] == proc ? 0 : 1; }

static int coord_link_of(int node) { return node == 0 ? L_C1 : L_C2; }

static int find_conn(const struct world *w, uint32_t id)
{
    for (int i = 0; i < SIM_CONNS; i++)
        if (w->conn[i].used && w->conn[i].id == id)
            return i;
    return -1;
}

static void maybe_free(struct world *w, int ci)
{
    struct sim_conn *c = &w->conn[ci];
    if (c->used && !c->open[0] && !c->open[1])
        c->used = 0;
}

static uint64_t delay(struct world *w, int link) { return rnd(w, 1, w->link[link].delay); }

/* End `e` has closed its side: tell the other end, if the close can reach it. */
static void send_fin(struct world *w, int ci, int e)
{
    struct sim_conn *c = &w->conn[ci];
    int other = 1 - e;
    if (!c->open[other] || c->dead[e] || w->link[c->link].blocked[e])
        return;
    struct sim_ev *ev = push(w, w->now + delay(w, c->link), EV_NOTIFY_CLOSE);
    ev->a = (uint8_t)ci;
    ev->b = (uint8_t)other;
    ev->x = c->id;
}

/* The sender at end `e` is reset: its packets reached a peer that no longer
 * knows the connection, and the RST comes back. */
static void send_reset(struct world *w, int ci, int e)
{
    struct sim_conn *c = &w->conn[ci];
    if (c->reset_sent[e] || !c->open[e] || w->link[c->link].blocked[1 - e] ||
        w->link[c->link].blocked[e])
        return;
    c->reset_sent[e] = 1;
    struct sim_ev *ev = push(w, w->now + 2 * delay(w, c->link), EV_NOTIFY_CLOSE);
    ev->a = (uint8_t)ci;
    ev->b = (uint8_t)e;
    ev->x = c->id;
}

static void net_send(struct world *w, int ci, int e, const struct wire_msg *m, uint64_t stamp)
{
    if (ci < 0)
        return;
    struct sim_conn *c = &w->conn[ci];
    if (!c->used || !c->open[e])
        return;
    int sp = link_end[c->link][e];
    if (w->now >= w->storm_window[sp][c->link] + 1000) {
        w->storm_window[sp][c->link] = w->now;
        w->storm_count[sp][c->link] = 0;
    }
    if (++w->storm_count[sp][c->link] > SIM_STORM_MAX)
        check_fail(&w->ck, CK_STORM, w->now,
                   "%s sent more than %d messages on %s within one second (a message loop)",
                   proc_name[sp], SIM_STORM_MAX, link_name[c->link]);
    uint8_t buf[SIM_MSG_CAP];
    size_t len = 0;
    int rc = wire_encode(m, buf, sizeof buf, &len);
    if (rc != WIRE_OK) {
        check_fail(&w->ck, CK_CODEC, w->now, "%s could not encode %s: %s",
                   proc_name[link_end[c->link][e]], wire_type_name(m->type), wire_error_text(rc));
        return;
    }
    if (c->dead[e]) {
        if (!w->link[c->link].blocked[e])
            send_reset(w, ci, e);
        return;
    }
    uint64_t at = w->now + delay(w, c->link);
    if (at < c->last_at[e])
        at = c->last_at[e];
    c->last_at[e] = at;
    struct sim_ev *ev = push(w, at, EV_DELIVER);
    ev->a = (uint8_t)ci;
    ev->b = (uint8_t)e;
    ev->x = c->id;
    ev->z = stamp;
    ev->len = (uint16_t)len;
    memcpy(ev->data, buf, len);
}

/* ---- machine steps ---------------------------------------------------------------- */

static void coord_do(struct world *w, const struct coordinator_event *ev);
static int hold_back(struct world *w, int n, int ci, const struct wire_msg *m);
static void sched(struct world *w, uint64_t at, uint8_t kind, uint8_t a, uint8_t b, uint8_t c,
                  uint32_t x);
static void host_disconnected(struct world *w, int n, int on);
static void probe_verdict(struct world *w, int n, int down);
static void nlb_request(struct world *w, int n, const struct agent_action *act);

static void agent_do(struct world *w, int n, const struct agent_event *ev)
{
    struct agent *a = &w->agent[n];
    struct sim_proc *p = &w->proc[n + 1];
    uint8_t mode0 = a->mode, des0 = a->port_desired;
    uint64_t ep0 = a->epoch;
    struct agent_actions *out = &w->aout;
    agent_step(a, ev, w->now, out);
    if (a->mode == MODEL_MODE_PRIMARY)
        w->was_primary[n] = 1;
    if (w->cfg.mutant == SIM_MUT_STUCK_ENABLE && n == 0 && w->was_primary[0])
        for (unsigned i = 0; i < out->count; i++)
            if (out->items[i].type == AGENT_ACT_NLB_SET)
                out->items[i].port = MODEL_PORT_ENABLED;
    struct sim_agent_step s = {n, w->now, ev, mode0, ep0, des0, a, out, w->contact[n]};
    check_agent_step(&w->ck, &s);
    if (mode0 == MODEL_MODE_PRIMARY && a->mode == MODEL_MODE_BACKUP &&
        strstr(a->last_reason, "isolated"))
        w->res->fences++;

    for (unsigned i = 0; i < out->count; i++) {
        const struct agent_action *act = &out->items[i];
        char text[200];
        switch (act->type) {
        case AGENT_ACT_LOG:
            vlog(w, proc_name[n + 1], "log: %s", act->text);
            break;
        case AGENT_ACT_PERSIST_EPOCH:
            p->persisted = act->epoch;
            vlog(w, proc_name[n + 1], "persist epoch %llu", (unsigned long long)act->epoch);
            break;
        case AGENT_ACT_SEND:
            if (w->cfg.verbose) {
                describe_msg(&act->msg, text, sizeof text);
                vlog(w, proc_name[n + 1], "send to coordinator%s: %s",
                     p->conn[coord_link_of(n)] < 0 ? " (no link)" : "", text);
            }
            net_send(w, p->conn[coord_link_of(n)], 1, &act->msg, 0);
            break;
        case AGENT_ACT_SEND_PEER: {
            if (w->cfg.verbose) {
                describe_msg(&act->msg, text, sizeof text);
                vlog(w, proc_name[n + 1], "send to peer%s: %s",
                     p->conn[L_PEER] < 0 ? " (no link)" : "", text);
            }
            uint64_t stamp = w->peer_report_at[n] ? w->peer_report_at[n] : p->started_at;
            net_send(w, p->conn[L_PEER], n == 0 ? 0 : 1, &act->msg, stamp);
            break;
        }
        case AGENT_ACT_NLB_SET:
        case AGENT_ACT_NLB_QUERY:
            vlog(w, proc_name[n + 1], "NLB %s%s%s",
                 act->type == AGENT_ACT_NLB_SET ? "set " : "query",
                 act->type == AGENT_ACT_NLB_SET ? model_port_name(act->port) : "",
                 w->nlb[n].busy ? " (one is running)" : "");
            nlb_request(w, n, act);
            break;
        default:
            break;
        }
    }
}

static void agent_simple(struct world *w, int n, uint8_t type, uint8_t ok)
{
    struct agent_event ev = {.type = type, .ok = ok};
    agent_do(w, n, &ev);
}

static void coord_do(struct world *w, const struct coordinator_event *ev)
{
    struct coordinator *c = &w->coord;
    struct sim_proc *p = &w->proc[P_COORD];
    uint64_t ep0 = c->epoch, pers0 = p->persisted;
    uint8_t phase0 = c->phase;
    int primary0 = c->primary, from0 = c->from, to0 = c->to;
    struct coordinator_actions *out = &w->cout;
    if (w->cfg.mutant == SIM_MUT_FAILBACK) {
        /* a coordinator that fails back at once although preempt is off
         * (the world and the checker say off); only in the fault phase,
         * where the quiet phase's I3 check does not look */
        c->set.preempt = !w->quiet;
        c->set.preempt_delay_ms = 0;
    }
    coordinator_step(c, ev, w->now, out);

    if (w->cfg.mutant == SIM_MUT_DROP_REPLY || w->cfg.mutant == SIM_MUT_DUP_REPLY) {
        struct coordinator_actions copy = *out;
        out->count = 0;
        for (unsigned i = 0; i < copy.count; i++) {
            if (copy.items[i].type == COORD_ACT_REPLY && w->cfg.mutant == SIM_MUT_DROP_REPLY)
                continue;
            if (out->count < COORD_MAX_ACTIONS - 1)
                out->items[out->count++] = copy.items[i];
            if (copy.items[i].type == COORD_ACT_REPLY && out->count < COORD_MAX_ACTIONS - 1)
                out->items[out->count++] = copy.items[i];
        }
    }

    int8_t to[COORD_MAX_ACTIONS];
    for (unsigned i = 0; i < out->count; i++) {
        to[i] = -1;
        int ci = find_conn(w, out->items[i].conn);
        if (ci >= 0 && w->conn[ci].link != L_PEER)
            to[i] = (int8_t)(w->conn[ci].link == L_C1 ? 0 : 1);
    }
    struct sim_view v;
    build_view(w, &v);
    struct sim_coord_step s = {w->now, ev, ep0, pers0, c, out, to, 1, phase0, primary0, from0, to0};
    check_coord_step(&w->ck, &s, &v);

    for (unsigned i = 0; i < out->count; i++) {
        const struct coordinator_action *act = &out->items[i];
        char text[200];
        int ci = find_conn(w, act->conn);
        switch (act->type) {
        case COORD_ACT_LOG:
            vlog(w, "coordinator", "log: %s", act->text);
            break;
        case COORD_ACT_PERSIST_EPOCH:
            p->persisted = act->epoch;
            vlog(w, "coordinator", "persist epoch %llu", (unsigned long long)act->epoch);
            break;
        case COORD_ACT_REPLY:
            vlog(w, "coordinator", "REPLY request %u: %d %s", (unsigned)act->token, (int)act->code,
                 act->text);
            break;
        case COORD_ACT_SEND:
            if (w->cfg.verbose) {
                describe_msg(&act->msg, text, sizeof text);
                vlog(w, "coordinator", "send on conn %u (%s)%s: %s", (unsigned)act->conn,
                     ci >= 0 ? link_name[w->conn[ci].link] : "gone",
                     ci >= 0 && w->conn[ci].open[0] ? "" : " (closed)", text);
            }
            if (w->cfg.mutant == SIM_MUT_DROP_PROMOTE && act->msg.type == WIRE_SET_ROLE &&
                act->msg.u.set_role.mode == MODEL_MODE_PRIMARY)
                break;
            if (ci >= 0 && w->conn[ci].link != L_PEER) {
                int node = w->conn[ci].link == L_C1 ? 0 : 1;
                if (act->msg.type == WIRE_SET_ROLE &&
                    act->msg.u.set_role.mode == MODEL_MODE_PRIMARY && hold_back(w, node, ci, &act->msg))
                    break;
                net_send(w, ci, 0, &act->msg, w->heard_coord[node]);
            }
            break;
        case COORD_ACT_CLOSE:
            vlog(w, "coordinator", "close conn %u: %s", (unsigned)act->conn, act->text);
            if (ci >= 0 && w->conn[ci].open[0]) {
                w->conn[ci].open[0] = 0;
                if (w->proc[P_COORD].conn[w->conn[ci].link] == ci)
                    w->proc[P_COORD].conn[w->conn[ci].link] = -1;
                send_fin(w, ci, 0);
                maybe_free(w, ci);
            }
            break;
        default:
            break;
        }
    }

    if (c->primary != COORD_NO_NODE) {
        if (w->last_primary != COORD_NO_NODE && c->primary != w->last_primary)
            w->role_changes++;
        w->last_primary = c->primary;
    }
}

static void coord_simple(struct world *w, uint8_t type, uint32_t conn)
{
    struct coordinator_event ev = {.type = type, .conn = conn};
    coord_do(w, &ev);
}

/* ---- connections ------------------------------------------------------------------ */

/* End e of conn ci learns (or decides) that the connection is over. */
static void end_closed(struct world *w, int ci, int e, int tell_far_end)
{
    struct sim_conn *c = &w->conn[ci];
    if (!c->open[e])
        return;
    int p = link_end[c->link][e];
    int current = w->proc[p].conn[c->link] == ci;
    c->open[e] = 0;
    if (current)
        w->proc[p].conn[c->link] = -1;
    if (tell_far_end)
        send_fin(w, ci, e);
    uint32_t id = c->id;
    uint8_t link = c->link;
    maybe_free(w, ci);
    if (p == P_COORD) {
        coord_simple(w, COORD_EV_DISCONNECT, id);
    } else if (current) {
        int n = p - 1;
        agent_simple(w, n, link == L_PEER ? AGENT_EV_PEER_DOWN : AGENT_EV_COORD_DOWN, 0);
        w->proc[p].next_connect_at[link] = w->now + rnd(w, 100, w->cfg.reconnect_ms);
    }
}

static void close_all(struct world *w, int p)
{
    for (int ci = 0; ci < SIM_CONNS; ci++) {
        struct sim_conn *c = &w->conn[ci];
        if (!c->used)
            continue;
        for (int e = 0; e < 2; e++)
            if (link_end[c->link][e] == p && c->open[e]) {
                c->open[e] = 0;
                send_fin(w, ci, e);
            }
        maybe_free(w, ci);
    }
    for (int l = 0; l < 3; l++) {
        w->proc[p].conn[l] = -1;
        w->proc[p].connecting[l] = 0;
    }
}

static int link_passes(const struct world *w, int l)
{
    return !w->link[l].blocked[0] && !w->link[l].blocked[1];
}

/* Agents dial: node n dials the coordinator, node1 dials node2. */
static void try_connect(struct world *w, int n)
{
    struct sim_proc *p = &w->proc[n + 1];
    int links[2] = {coord_link_of(n), n == 0 ? L_PEER : -1};
    for (int k = 0; k < 2; k++) {
        int l = links[k];
        if (l < 0 || p->conn[l] >= 0 || p->connecting[l] || w->now < p->next_connect_at[l])
            continue;
        int t = link_end[l][1 - end_of(l, n + 1)];
        if (link_passes(w, l) && w->proc[t].alive && !w->proc[t].stopping && !p->stopping) {
            p->connecting[l] = 1;
            struct sim_ev *ev = push(w, w->now + delay(w, l) + delay(w, l), EV_CONNECTED);
            ev->a = (uint8_t)l;
            ev->x = p->inc;
            ev->y = w->proc[t].inc;
        } else {
            p->next_connect_at[l] = w->now + w->cfg.reconnect_ms;
        }
    }
}

static void on_connected(struct world *w, const struct sim_ev *e)
{
    int l = e->a;
    int ie = l == L_PEER ? 0 : 1; /* the dialling end */
    int ip = link_end[l][ie], tp = link_end[l][1 - ie];
    struct sim_proc *p = &w->proc[ip], *t = &w->proc[tp];
    if (!p->alive || p->inc != e->x)
        return;
    p->connecting[l] = 0;
    if (!t->alive || t->inc != e->y || t->stopping || p->stopping || !link_passes(w, l)) {
        p->next_connect_at[l] = w->now + w->cfg.reconnect_ms;
        return;
    }
    int ci = -1;
    for (int i = 0; i < SIM_CONNS; i++)
        if (!w->conn[i].used) {
            ci = i;
            break;
        }
    if (ci < 0) {
        fprintf(stderr, "sim: out of connection slots\n");
        exit(2);
    }
    struct sim_conn *c = &w->conn[ci];
    memset(c, 0, sizeof *c);
    c->used = 1;
    c->link = (uint8_t)l;
    c->id = ++w->next_conn_id;
    c->open[0] = c->open[1] = 1;
    c->inc[ie] = p->inc;
    c->inc[1 - ie] = t->inc;
    c->last_rx[0] = c->last_rx[1] = w->now;
    vlog(w, "net", "%s connected (conn %u)", link_name[l], (unsigned)c->id);
    if (l == L_PEER) {
        /* node2's shell replaces a connection it still believed open */
        int old = t->conn[l];
        if (old >= 0) {
            w->conn[old].open[1 - ie] = 0;
            maybe_free(w, old);
            t->conn[l] = -1;
            agent_simple(w, tp - 1, AGENT_EV_PEER_DOWN, 0);
        }
        p->conn[l] = ci;
        t->conn[l] = ci;
        int first = sim_rng_pct(&w->rw, 50) ? 0 : 1;
        agent_simple(w, first, AGENT_EV_PEER_UP, 0);
        if (w->proc[2 - first].alive && w->proc[2 - first].conn[l] == ci)
            agent_simple(w, 1 - first, AGENT_EV_PEER_UP, 0);
    } else {
        p->conn[l] = ci;
        t->conn[l] = ci;
        agent_simple(w, ip - 1, AGENT_EV_COORD_UP, 0);
    }
}

/* The fresh-echo mutant: every order looks as if it answered a report
 * sent just now, so the agent's check of its age never refuses. */
static void fresh_echo_mutant(const struct world *w, struct wire_msg *m)
{
    if (w->cfg.mutant == SIM_MUT_FRESH_ECHO && m->type == WIRE_SET_ROLE) {
        m->u.set_role.echo = w->now;
        m->u.set_role.loss_ms = 0x7FFFFFFFu;
    }
}

static void on_deliver(struct world *w, const struct sim_ev *e)
{
    int ci = e->a, dir = e->b, re = 1 - dir;
    struct sim_conn *c = &w->conn[ci];
    if (!c->used || c->id != e->x || c->dead[dir])
        return;
    if (!c->open[re]) {
        if (c->open[dir])
            send_reset(w, ci, dir);
        return;
    }
    struct wire_msg m;
    size_t used = 0;
    int rc = wire_decode(e->data, e->len, &m, &used);
    if (rc != WIRE_OK || used != e->len) {
        check_fail(&w->ck, CK_CODEC, w->now, "a %u-byte frame on %s did not decode: %s",
                   (unsigned)e->len, link_name[c->link], wire_error_text(rc));
        return;
    }
    c->last_rx[re] = w->now;
    int rp = link_end[c->link][re], sp = link_end[c->link][dir];
    if (rp == P_COORD) {
        w->heard_coord[sp - 1] = w->now;
        struct coordinator_event ev = {.type = COORD_EV_MESSAGE, .conn = c->id, .msg = &m};
        coord_do(w, &ev);
        return;
    }
    int n = rp - 1;
    if (e->z > w->contact[n])
        w->contact[n] = e->z;
    if (sp == P_COORD) {
        fresh_echo_mutant(w, &m);
        struct agent_event ev = {.type = AGENT_EV_MESSAGE, .msg = &m};
        agent_do(w, n, &ev);
    } else {
        if (m.type == WIRE_REPORT)
            w->peer_report_at[n] = w->now;
        struct agent_event ev = {.type = AGENT_EV_PEER_MESSAGE, .msg = &m};
        agent_do(w, n, &ev);
    }
}

static void on_notify_close(struct world *w, const struct sim_ev *e)
{
    int ci = e->a;
    struct sim_conn *c = &w->conn[ci];
    if (!c->used || c->id != e->x || !c->open[e->b])
        return;
    end_closed(w, ci, e->b, 0);
}

/* A cut kills the link's connections (one direction for one-way). */
static void cut_links(struct world *w, unsigned mask, int kind, int dir)
{
    for (int l = 0; l < 3; l++) {
        if (!(mask & (1u << l)))
            continue;
        struct sim_link *k = &w->link[l];
        k->cuts++;
        if (kind == 2) {
            k->blocked[dir] = 1;
        } else {
            k->blocked[0] = k->blocked[1] = 1;
        }
        for (int ci = 0; ci < SIM_CONNS; ci++) {
            struct sim_conn *c = &w->conn[ci];
            if (!c->used || c->link != l)
                continue;
            if (kind == 2) {
                c->dead[dir] = 1;
                continue;
            }
            c->dead[0] = c->dead[1] = 1;
            if (kind == 0) /* clean: each end's stack notices the link is gone */
                for (int end = 0; end < 2; end++)
                    if (c->open[end]) {
                        struct sim_ev *ev = push(w, w->now + rnd(w, 1, w->cfg.max_delay_ms),
                                                 EV_NOTIFY_CLOSE);
                        ev->a = (uint8_t)ci;
                        ev->b = (uint8_t)end;
                        ev->x = c->id;
                    }
        }
    }
}

static void heal_links(struct world *w, unsigned mask)
{
    for (int l = 0; l < 3; l++)
        if ((mask & (1u << l)) && w->link[l].cuts > 0 && --w->link[l].cuts == 0)
            w->link[l].blocked[0] = w->link[l].blocked[1] = 0;
}

/* EV_F_LATE: TCP keeps retransmitting a segment across a cut link for far
 * longer than max_delay_ms, and delivers it when the link heals. The armed
 * node's next SET_ROLE primary is taken off the wire as it leaves, the
 * link is cut (clean or silent) with it in flight, and at the end of the
 * hold the link heals and the order reaches the agent, if the same
 * incarnation still runs (a restart loses the connection). It is delivered
 * to the agent whatever its shell did with the connection meanwhile: an
 * agent's own silence limit is its own configuration and may be longer than
 * the coordinator's loss_ms, so its end can still be open. Only in the
 * fault phase: a hold that would end in the quiet phase is not taken. */
static int hold_back(struct world *w, int n, int ci, const struct wire_msg *m)
{
    if (!w->late_armed[n] || w->quiet || w->now + w->late_hold[n] >= w->fault_end)
        return 0;
    w->late_armed[n] = 0;
    uint8_t buf[SIM_MSG_CAP];
    size_t len = 0;
    if (wire_encode(m, buf, sizeof buf, &len) != WIRE_OK)
        return 0; /* net_send reports it */
    struct sim_ev *ev = push(w, w->now + w->late_hold[n], EV_LATE_DELIVER);
    ev->a = (uint8_t)n;
    ev->x = w->proc[n + 1].inc;
    ev->len = (uint16_t)len;
    memcpy(ev->data, buf, len);
    int l = w->conn[ci].link;
    cut_links(w, 1u << l, w->late_kind[n], 0);
    sched(w, w->now + w->late_hold[n] - 1, EV_F_HEAL, (uint8_t)(1u << l), 0, 0, 0);
    vlog(w, "net", "SET_ROLE primary to %s held back for %u ms; %s cut", proc_name[n + 1],
         (unsigned)w->late_hold[n], link_name[l]);
    return 1;
}

static void on_late_deliver(struct world *w, const struct sim_ev *e)
{
    int n = e->a;
    if (!w->proc[n + 1].alive || w->proc[n + 1].inc != e->x || w->proc[n + 1].stopping)
        return;
    struct wire_msg m;
    size_t used = 0;
    if (wire_decode(e->data, e->len, &m, &used) != WIRE_OK)
        return;
    w->res->late_orders++;
    fresh_echo_mutant(w, &m);
    uint8_t was = w->agent[n].mode;
    struct agent_event ev = {.type = AGENT_EV_MESSAGE, .msg = &m};
    agent_do(w, n, &ev);
    if (was == MODEL_MODE_BACKUP && w->agent[n].mode == MODEL_MODE_BACKUP)
        w->res->late_refused++;
}

/* ---- NLB -------------------------------------------------------------------------- */

static void nlb_start(struct world *w, int n, uint8_t type, uint8_t port)
{
    struct sim_nlb *b = &w->nlb[n];
    b->busy = 1;
    b->type = type;
    b->target = port;
    b->seq++;
    b->inc = w->proc[n + 1].inc;
    b->applied = 0;
    unsigned pfail = w->quiet ? 0 : b->burst > 0 ? 60 : 2;
    b->fail = (uint8_t)sim_rng_pct(&w->rw, pfail);
    uint64_t dur = rnd(w, 1, w->cfg.nlb_timeout_ms);
    if (b->fail && sim_rng_pct(&w->rw, 30))
        dur = w->cfg.nlb_timeout_ms; /* it hung; the shell's time limit ends it */
    if (!(type == AGENT_ACT_NLB_SET && b->fail)) {
        struct sim_ev *ev = push(w, w->now + rnd(w, 0, dur), EV_NLB_APPLY);
        ev->a = (uint8_t)n;
        ev->x = b->seq;
    }
    struct sim_ev *ev = push(w, w->now + dur, EV_NLB_DONE);
    ev->a = (uint8_t)n;
    ev->x = b->seq;
    if (w->cfg.mutant == SIM_MUT_EARLY_DONE && !w->proc[n + 1].stopping) {
        ev = push(w, w->now, EV_FAKE_DONE);
        ev->a = (uint8_t)n;
    }
}

static void nlb_request(struct world *w, int n, const struct agent_action *act)
{
    struct sim_nlb *b = &w->nlb[n];
    if (b->busy) {
        if (w->proc[n + 1].stopping && act->type == AGENT_ACT_NLB_SET) {
            b->queued = 1;
            b->queued_port = act->port;
            return;
        }
        check_nlb_busy(&w->ck, n, w->now, b->type, act->type);
        return;
    }
    nlb_start(w, n, act->type, act->port);
}

static void set_port(struct world *w, int n, uint8_t port)
{
    struct sim_nlb *b = &w->nlb[n];
    b->port = port;
    b->drift_on = 0;
    b->refused = 0;
}

static void agent_exit(struct world *w, int n, uint64_t down);

static void on_nlb_apply(struct world *w, const struct sim_ev *e)
{
    struct sim_nlb *b = &w->nlb[e->a];
    if (!b->busy || b->seq != e->x)
        return;
    b->applied = 1;
    if (b->disconnected) {
        /* the seed's W4: NLB does not react; a query says the host is out */
        if (b->type != AGENT_ACT_NLB_SET)
            b->read = MODEL_PORT_DISCONNECTED;
    } else if (b->type == AGENT_ACT_NLB_SET) {
        set_port(w, e->a, b->target);
    } else {
        b->read = b->port;
    }
}

static uint64_t down_time(struct world *w)
{
    return rnd(w, 100, w->cfg.isolation_ms > 200 ? w->cfg.isolation_ms - 100 : 100);
}

static void on_nlb_done(struct world *w, const struct sim_ev *e)
{
    int n = e->a;
    struct sim_nlb *b = &w->nlb[n];
    struct sim_proc *p = &w->proc[n + 1];
    if (!b->busy || b->seq != e->x)
        return;
    b->busy = 0;
    uint8_t ok = !b->fail, port;
    if (b->type == AGENT_ACT_NLB_SET && b->disconnected) {
        port = ok || sim_rng_pct(&w->rw, 50) ? MODEL_PORT_DISCONNECTED : MODEL_PORT_UNKNOWN;
    } else if (b->type == AGENT_ACT_NLB_SET) {
        port = ok || sim_rng_pct(&w->rw, 50) ? b->port : MODEL_PORT_UNKNOWN;
        if (!ok && b->target == MODEL_PORT_DISABLED && b->port == MODEL_PORT_ENABLED)
            b->refused = 1;
    } else {
        port = ok ? b->read : MODEL_PORT_UNKNOWN;
    }
    int drop = w->cfg.mutant == SIM_MUT_DROP_QUERY && b->type == AGENT_ACT_NLB_QUERY &&
               check_steady(&w->ck, w->now);
    if (p->alive && p->inc == b->inc && !drop) {
        /* a drifted port stays excused (I1) until the agent's next set applies */
        struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = port, .ok = ok};
        agent_do(w, n, &ev);
        /* ... or until the agent reads it enabled and wants it so: then it is its own */
        if (ok && port == MODEL_PORT_ENABLED && b->port == MODEL_PORT_ENABLED && p->alive &&
            w->agent[n].port_desired == MODEL_PORT_ENABLED)
            b->drift_on = 0;
    }
    if (!b->busy && b->queued) {
        b->queued = 0;
        nlb_start(w, n, AGENT_ACT_NLB_SET, b->queued_port);
    }
    if (p->alive && p->stopping && !b->busy)
        agent_exit(w, n, w->quiet ? 0 : down_time(w));
}

static void drift(struct world *w, int n)
{
    struct sim_nlb *b = &w->nlb[n];
    b->drift_gen++;
    if (b->port == MODEL_PORT_ENABLED) {
        b->port = MODEL_PORT_DISABLED;
        b->drift_on = 0;
    } else {
        b->port = MODEL_PORT_ENABLED;
        b->drift_on = 1;
    }
}

/* ---- processes -------------------------------------------------------------------- */

static void agent_start(struct world *w, int n)
{
    struct sim_proc *p = &w->proc[n + 1];
    p->alive = 1;
    p->stopping = 0;
    p->inc++;
    p->started_at = w->now;
    w->contact[n] = w->now;
    w->peer_report_at[n] = 0;
    w->was_primary[n] = 0;
    uint64_t epoch = w->cfg.mutant == SIM_MUT_EPOCH_LOST ? 0 : p->persisted;
    agent_init(&w->agent[n], &w->aset[n], epoch, w->now);
    vlog(w, proc_name[n + 1], "agent starts with persisted epoch %llu", (unsigned long long)epoch);
    check_agent_started(&w->ck, n, w->now, &w->agent[n]);
    if (w->cfg.mutant != SIM_MUT_NO_START)
        agent_simple(w, n, AGENT_EV_START, 0);
    if (!w->app[n])
        agent_simple(w, n, AGENT_EV_APP, 0);
    struct sim_ev *ev = push(w, w->now + rnd(w, 1, w->cfg.tick_ms), EV_AGENT_TICK);
    ev->a = (uint8_t)n;
    ev->x = p->inc;
    for (int l = 0; l < 3; l++) {
        p->conn[l] = -1;
        p->connecting[l] = 0;
        p->next_connect_at[l] = w->now + rnd(w, 0, 300);
    }
}

/* The agent process is gone: a crash, or the end of a graceful stop. */
static void agent_exit(struct world *w, int n, uint64_t down)
{
    struct sim_proc *p = &w->proc[n + 1];
    struct sim_nlb *b = &w->nlb[n];
    if (!p->alive)
        return;
    p->alive = 0;
    p->stopping = 0;
    if (b->busy) {
        /* the command the process had started took effect, or not */
        if (b->type == AGENT_ACT_NLB_SET && !b->fail && !b->applied && sim_rng_pct(&w->rw, 50))
            set_port(w, n, b->target);
        b->busy = 0;
        b->seq++;
    }
    b->queued = 0;
    close_all(w, n + 1);
    w->res->restarts++;
    struct sim_ev *ev = push(w, w->now + down, EV_AGENT_START);
    ev->a = (uint8_t)n;
}

static void coord_start(struct world *w)
{
    struct sim_proc *p = &w->proc[P_COORD];
    p->alive = 1;
    p->inc++;
    p->started_at = w->now;
    w->heard_coord[0] = w->heard_coord[1] = 0;
    coordinator_init(&w->coord, &w->cset, p->persisted, w->now);
    check_coord_started(&w->ck, w->now, &w->coord);
    coord_simple(w, COORD_EV_START, 0);
    for (int l = 0; l < 3; l++)
        p->conn[l] = -1;
    struct sim_ev *ev = push(w, w->now + rnd(w, 1, w->cfg.tick_ms), EV_COORD_TICK);
    ev->x = p->inc;
}

static void coord_crash(struct world *w, uint64_t down)
{
    struct sim_proc *p = &w->proc[P_COORD];
    if (!p->alive)
        return;
    p->alive = 0;
    close_all(w, P_COORD);
    check_switchover_abort(&w->ck);
    w->res->restarts++;
    push(w, w->now + down, EV_COORD_START);
}

static void set_app(struct world *w, int n, uint8_t healthy)
{
    if (w->app[n] == healthy)
        return;
    w->app[n] = healthy;
    if (w->proc[n + 1].alive)
        agent_simple(w, n, AGENT_EV_APP, healthy);
}

/* ---- ticks ------------------------------------------------------------------------ */

static void on_agent_tick(struct world *w, const struct sim_ev *e)
{
    int n = e->a;
    struct sim_proc *p = &w->proc[n + 1];
    if (!p->alive || p->inc != e->x)
        return;
    agent_simple(w, n, AGENT_EV_TICK, 0);
    /* the shell drops a link that has been silent for loss_ms */
    int links[2] = {coord_link_of(n), L_PEER};
    for (int k = 0; k < 2; k++) {
        int ci = p->conn[links[k]];
        if (ci < 0 || !p->alive)
            continue;
        int end = end_of(links[k], n + 1);
        if (w->now - w->conn[ci].last_rx[end] >= w->cfg.loss_ms) {
            vlog(w, proc_name[n + 1], "shell: %s silent for %u ms, closing it", link_name[links[k]],
                 (unsigned)w->cfg.loss_ms);
            end_closed(w, ci, end, 1);
        }
    }
    if (w->cfg.mutant == SIM_MUT_LIAR_HEARTBEAT && p->alive) {
        int ci = p->conn[coord_link_of(n)];
        if (ci < 0 || w->conn[ci].dead[0]) {
            struct wire_msg m;
            memset(&m, 0, sizeof m);
            m.type = WIRE_HEARTBEAT;
            m.u.heartbeat.epoch = w->agent[n].epoch;
            m.u.heartbeat.silent_ms = 0;
            struct agent_event ev = {.type = AGENT_EV_MESSAGE, .msg = &m};
            agent_do(w, n, &ev);
        }
    }
    if (p->alive)
        try_connect(w, n);
    struct sim_ev *ev = push(w, w->now + w->cfg.tick_ms, EV_AGENT_TICK);
    ev->a = (uint8_t)n;
    ev->x = p->inc;
}

static void on_coord_tick(struct world *w, const struct sim_ev *e)
{
    struct sim_proc *p = &w->proc[P_COORD];
    if (!p->alive || p->inc != e->x)
        return;
    coord_simple(w, COORD_EV_TICK, 0);
    struct sim_ev *ev = push(w, w->now + w->cfg.tick_ms, EV_COORD_TICK);
    ev->x = p->inc;
}

/* ---- switchover requests ---------------------------------------------------------- */

static void request_switchover(struct world *w, int which, uint32_t timeout_ms)
{
    if (!w->proc[P_COORD].alive)
        return; /* nlbctl cannot reach the pipe: no request is made */
    struct wire_msg m, back;
    memset(&m, 0, sizeof m);
    m.type = WIRE_SWITCHOVER_REQ;
    m.id = ++w->next_token;
    snprintf(m.u.switchover_req.target, sizeof m.u.switchover_req.target, "%s",
             which == 0 ? "" : which == 1 ? "node1" : which == 2 ? "node2" : "node9");
    m.u.switchover_req.timeout_ms = timeout_ms;
    uint8_t buf[SIM_MSG_CAP];
    size_t len = 0, used = 0;
    if (wire_encode(&m, buf, sizeof buf, &len) != WIRE_OK ||
        wire_decode(buf, len, &back, &used) != WIRE_OK || used != len) {
        check_fail(&w->ck, CK_CODEC, w->now, "SWITCHOVER_REQ did not round-trip");
        return;
    }
    int target = which == 0 ? -1 : which == 3 ? -2 : which - 1;
    w->res->requests++;
    check_switchover_request(&w->ck, w->now, m.id, target, timeout_ms, w->coord.primary);
    struct coordinator_event ev = {.type = COORD_EV_SWITCHOVER, .token = m.id, .msg = &back};
    coord_do(w, &ev);
}

/* ---- phases ----------------------------------------------------------------------- */

static void on_quiet(struct world *w)
{
    w->quiet = 1;
    w->late_armed[0] = w->late_armed[1] = 0;
    w->quiet_start = w->now;
    for (int l = 0; l < 3; l++) {
        w->link[l].blocked[0] = w->link[l].blocked[1] = 0;
        w->link[l].cuts = 0;
        w->link[l].spikes = 0;
        w->link[l].delay = w->base_delay;
    }
    int healthy[2] = {1, 1};
    if (sim_rng_pct(&w->rs, 30))
        healthy[sim_rng_range(&w->rs, 0, 1)] = 0;
    for (int n = 0; n < 2; n++) {
        w->nlb[n].burst = 0;
        w->app_down[n] = !healthy[n];
        set_app(w, n, (uint8_t)healthy[n]);
    }
    for (int n = 0; n < 2; n++) {
        if (w->proc[n + 1].alive && w->proc[n + 1].stopping)
            agent_exit(w, n, 0);
        if (!w->proc[n + 1].alive)
            agent_start(w, n);
    }
    if (!w->proc[P_COORD].alive)
        coord_start(w);
    for (int n = 0; n < 2; n++) { /* scheduled to end before; made sure of */
        if (w->disc_count[n] > 0) {
            w->disc_count[n] = 1;
            host_disconnected(w, n, 0);
        }
        if (w->probe_count[n] > 0) {
            w->probe_count[n] = 1;
            probe_verdict(w, n, 0);
        }
    }
    struct sim_view v;
    build_view(w, &v);
    check_quiet_start(&w->ck, &v, healthy[w->preferred]);
}

static void plan_quiet_drifts(struct world *w)
{
    w->drifts_planned = 1;
    if (w->preempt && w->ck.serving != w->preferred && w->ck.pref_healthy_quiet &&
        w->cfg.mutant != SIM_MUT_DROP_QUERY)
        return; /* a preempt move is due; keep the checks apart */
    uint64_t bound = (uint64_t)w->cfg.reconcile_ms + 2 * (uint64_t)w->cfg.nlb_timeout_ms +
                     2 * (uint64_t)w->cfg.tick_ms;
    unsigned count =
        w->cfg.mutant == SIM_MUT_DROP_QUERY ? 1 : (unsigned)sim_rng_range(&w->rs, 0, 2);
    uint64_t at = w->now + sim_rng_range(&w->rs, 0, 3000);
    for (unsigned i = 0; i < count; i++) {
        if (at + bound + 500 >= w->end_at)
            break;
        struct sim_ev *ev = push(w, at, EV_QUIET_DRIFT);
        ev->a = (uint8_t)sim_rng_range(&w->rs, 0, 1);
        at += bound + sim_rng_range(&w->rs, 500, 3000);
    }
}

/* ---- the fault schedule ----------------------------------------------------------- */

static void sched(struct world *w, uint64_t at, uint8_t kind, uint8_t a, uint8_t b, uint8_t c,
                  uint32_t x)
{
    struct sim_ev *ev = push(w, at, kind);
    ev->a = a;
    ev->b = b;
    ev->c = c;
    ev->x = x;
}

static void make_schedule(struct world *w)
{
    struct sim_rng *r = &w->rs;
    uint64_t gap = sim_rng_range(r, 800, 4000);
    uint64_t t = sim_rng_range(r, 2000, 6000);
    while (t < w->fault_end) {
        unsigned k = (unsigned)sim_rng_range(r, 0, 99);
        uint64_t d;
        if (k < 19) { /* one link */
            unsigned l = (unsigned)sim_rng_range(r, 0, 2);
            unsigned kind = sim_rng_pct(r, 40) ? 0 : sim_rng_pct(r, 75) ? 1 : 2;
            d = sim_rng_pct(r, 50) ? sim_rng_range(r, 100, 2400) : sim_rng_range(r, 2500, 12000);
            sched(w, t, EV_F_CUT, (uint8_t)(1u << l), (uint8_t)kind,
                  (uint8_t)sim_rng_range(r, 0, 1), 0);
            sched(w, t + d, EV_F_HEAL, (uint8_t)(1u << l), 0, 0, 0);
        } else if (k < 34) { /* a partition: a node or the coordinator cut off */
            unsigned mask = sim_rng_pct(r, 33) ? 3u : sim_rng_pct(r, 50) ? 1u | 4u : 2u | 4u;
            unsigned kind = sim_rng_pct(r, 40) ? 0 : 1;
            d = sim_rng_pct(r, 40) ? sim_rng_range(r, 100, 2400) : sim_rng_range(r, 2500, 15000);
            sched(w, t, EV_F_CUT, (uint8_t)mask, (uint8_t)kind, 0, 0);
            sched(w, t + d, EV_F_HEAL, (uint8_t)mask, 0, 0, 0);
        } else if (k < 47) { /* application crash */
            uint8_t n = (uint8_t)sim_rng_range(r, 0, 1);
            sched(w, t, EV_F_APP, n, 0, 0, 0);
            if (!sim_rng_pct(r, 20))
                sched(w, t + sim_rng_range(r, 300, 15000), EV_F_APP, n, 1, 0, 0);
            else
                sched(w, w->fault_end - 1, EV_F_APP, n, 1, 0, 0);
        } else if (k < 51) { /* application flapping */
            uint8_t n = (uint8_t)sim_rng_range(r, 0, 1);
            unsigned cycles = (unsigned)sim_rng_range(r, 3, 6);
            uint64_t s = t;
            for (unsigned i = 0; i < cycles; i++) {
                sched(w, s, EV_F_APP, n, 0, 0, 0);
                s += sim_rng_range(r, 100, 1500);
                sched(w, s, EV_F_APP, n, 1, 0, 0);
                s += sim_rng_range(r, 100, 1500);
            }
        } else if (k < 59) { /* agent crash */
            uint8_t n = (uint8_t)sim_rng_range(r, 0, 1);
            d = sim_rng_range(r, 100, w->cfg.isolation_ms - 100);
            sched(w, t, EV_F_CRASH, n, 0, 0, (uint32_t)d);
        } else if (k < 62) { /* agent service restarted by an administrator */
            uint8_t n = (uint8_t)sim_rng_range(r, 0, 1);
            d = sim_rng_range(r, 100, 5000);
            sched(w, t, EV_F_STOP, n, 0, 0, (uint32_t)d);
        } else if (k < 67) { /* coordinator restart */
            d = sim_rng_range(r, 200, 10000);
            sched(w, t, EV_F_COORD_CRASH, 0, 0, 0, (uint32_t)d);
        } else if (k < 74) { /* NLB failure burst */
            uint8_t n = (uint8_t)sim_rng_range(r, 0, 1);
            sched(w, t, EV_F_BURST, n, 1, 0, 0);
            sched(w, t + sim_rng_range(r, 500, 8000), EV_F_BURST, n, 0, 0, 0);
        } else if (k < 82) { /* drift */
            sched(w, t, EV_F_DRIFT, (uint8_t)sim_rng_range(r, 0, 1), 0, 0, 0);
        } else if (k < 88) { /* delay spike */
            uint8_t l = (uint8_t)sim_rng_range(r, 0, 2);
            sched(w, t, EV_F_SPIKE, l, 1, 0, 0);
            sched(w, t + sim_rng_range(r, 500, 10000), EV_F_SPIKE, l, 0, 0, 0);
        } else if (k < 91) { /* NLB host out of the cluster (W4), back before the quiet phase */
            uint8_t n = (uint8_t)sim_rng_range(r, 0, 1);
            d = sim_rng_range(r, 300, 12000);
            sched(w, t, EV_F_DISC, n, 1, 0, 0);
            sched(w, t + d < w->fault_end ? t + d : w->fault_end - 1, EV_F_DISC, n, 0, 0, 0);
        } else if (k < 94) { /* the application hangs: only active monitoring sees it */
            uint8_t n = (uint8_t)sim_rng_range(r, 0, 1);
            d = sim_rng_range(r, 300, 12000);
            sched(w, t, EV_F_PROBE, n, 1, 0, 0);
            sched(w, t + d < w->fault_end ? t + d : w->fault_end - 1, EV_F_PROBE, n, 0, 0, 0);
        } else { /* manual switchover */
            uint8_t which = (uint8_t)(sim_rng_pct(r, 10) ? 3 : sim_rng_range(r, 0, 2));
            uint32_t limit = sim_rng_pct(r, 50) ? 0 : (uint32_t)sim_rng_range(r, 1000, 15000);
            sched(w, t, EV_F_SWITCH, which, 0, 0, limit);
        }
        t += sim_rng_range(r, gap / 4, 2 * gap);
    }
}

/* Late orders (EV_F_LATE) are drawn from a stream of their own, so that
 * every other fault of a seed stays as it was before they existed. In a
 * third of the seeds (every seed with the fresh-echo mutant), one to four
 * arms in the fault phase; each holds the node's next primary order for
 * 2 x max_delay_ms .. loss_ms (half of them) or .. switchover_timeout_ms +
 * 2 x loss_ms (a promotion the order never reached is given up only at its
 * deadline). */
static void plan_late_orders(struct world *w)
{
    struct sim_rng r;
    sim_rng_seed(&r, w->seed ^ 0x1A7E0D3E5ull);
    if (!sim_rng_pct(&r, 33) && w->cfg.mutant != SIM_MUT_FRESH_ECHO)
        return;
    unsigned count = (unsigned)sim_rng_range(&r, 1, 4);
    for (unsigned i = 0; i < count; i++) {
        uint64_t at = sim_rng_range(&r, 1000, w->fault_end - 1);
        uint64_t longest = sim_rng_pct(&r, 50) ? (uint64_t)w->cfg.loss_ms
                                               : (uint64_t)w->cfg.switchover_timeout_ms +
                                                     2 * (uint64_t)w->cfg.loss_ms;
        uint32_t hold = (uint32_t)sim_rng_range(&r, 2 * (uint64_t)w->cfg.max_delay_ms, longest);
        sched(w, at, EV_F_LATE, (uint8_t)sim_rng_range(&r, 0, 1), (uint8_t)sim_rng_range(&r, 0, 1),
              0, hold);
    }
}

/* Counted per node, as overlapping faults of one kind must all end. */
static void host_disconnected(struct world *w, int n, int on)
{
    struct sim_nlb *b = &w->nlb[n];
    w->disc_count[n] += on ? 1 : -1;
    uint8_t now_out = w->disc_count[n] > 0;
    if (now_out == b->disconnected)
        return;
    b->disconnected = now_out;
    /* W5: it returns with whatever rule it had; an enabled one the agent
     * does not want is excused (I1) until the agent's next set applies, as
     * a refused disable is: real NLB converges for seconds before such a
     * host takes traffic, which the model does not time. */
    if (!now_out && b->port == MODEL_PORT_ENABLED &&
        !(w->proc[n + 1].alive && w->agent[n].port_desired == MODEL_PORT_ENABLED))
        b->refused = 1;
}

static void probe_verdict(struct world *w, int n, int down)
{
    w->probe_count[n] += down ? 1 : -1;
    if (!w->proc[P_COORD].alive)
        return;
    struct coordinator_event ev = {.type = COORD_EV_PROBE,
                                   .node = (uint8_t)n,
                                   .probe_down = w->probe_count[n] > 0,
                                   .text = "simulated"};
    coord_do(w, &ev);
}

static void on_fault(struct world *w, const struct sim_ev *e)
{
    if (w->quiet)
        return;
    switch (e->kind) {
    case EV_F_CUT:
        cut_links(w, e->a, e->b, e->c);
        break;
    case EV_F_HEAL:
        heal_links(w, e->a);
        break;
    case EV_F_APP:
        if (e->b) {
            if (w->app_down[e->a] > 0 && --w->app_down[e->a] == 0)
                set_app(w, e->a, 1);
        } else {
            w->app_down[e->a]++;
            set_app(w, e->a, 0);
        }
        break;
    case EV_F_CRASH:
        if (w->proc[e->a + 1].alive && !w->proc[e->a + 1].stopping)
            agent_exit(w, e->a, e->x);
        break;
    case EV_F_STOP: {
        struct sim_proc *p = &w->proc[e->a + 1];
        if (!p->alive || p->stopping)
            break;
        p->stopping = 1;
        agent_simple(w, e->a, AGENT_EV_STOP, 0);
        if (p->alive && !w->nlb[e->a].busy && !w->nlb[e->a].queued) {
            agent_exit(w, e->a, e->x);
        } else if (p->alive) {
            uint64_t limit = 3 * (uint64_t)w->cfg.nlb_timeout_ms;
            struct sim_ev *ev = push(w, w->now + limit, EV_AGENT_EXIT);
            ev->a = e->a;
            ev->x = p->inc;
            ev->y = e->x;
        }
        break;
    }
    case EV_F_COORD_CRASH:
        coord_crash(w, e->x);
        break;
    case EV_F_BURST:
        w->nlb[e->a].burst += e->b ? 1 : -1;
        break;
    case EV_F_DRIFT:
        drift(w, e->a);
        break;
    case EV_F_SPIKE: {
        struct sim_link *k = &w->link[e->a];
        k->spikes += e->b ? 1 : -1;
        k->delay = k->spikes > 0 ? w->cfg.max_delay_ms : w->base_delay;
        break;
    }
    case EV_F_SWITCH:
        request_switchover(w, e->a, e->x);
        break;
    case EV_F_DISC:
        host_disconnected(w, e->a, e->b);
        break;
    case EV_F_PROBE:
        probe_verdict(w, e->a, e->b);
        break;
    case EV_F_LATE:
        w->late_armed[e->a] = 1;
        w->late_kind[e->a] = e->b;
        w->late_hold[e->a] = e->x;
        break;
    default:
        break;
    }
}

/* ---- one seed --------------------------------------------------------------------- */

static void setup(struct world *w)
{
    struct sim_rng *r = &w->rs;
    const struct sim_cfg *cfg = &w->cfg;
    w->preferred = (uint8_t)sim_rng_range(r, 0, 1);
    w->preempt = (uint8_t)sim_rng_pct(r, 25);
    w->preempt_delay = (uint32_t)sim_rng_range(r, 1000, 8000);
    static const unsigned delay_pct[3] = {3, 25, 100};
    w->base_delay = cfg->max_delay_ms * delay_pct[sim_rng_range(r, 0, 2)] / 100;
    if (w->base_delay < 1)
        w->base_delay = 1;
    w->fault_end = sim_rng_range(r, cfg->fault_min_ms, cfg->fault_max_ms);
    w->end_at = w->fault_end + cfg->quiet_ms;
    w->last_primary = COORD_NO_NODE;
    if (w->cfg.mutant == SIM_MUT_QUIET_SWITCH || w->cfg.mutant == SIM_MUT_FAILBACK)
        w->preempt = 0;

    for (int l = 0; l < 3; l++)
        w->link[l].delay = w->base_delay;
    for (int p = 0; p < 3; p++)
        for (int l = 0; l < 3; l++)
            w->proc[p].conn[l] = -1;
    for (int n = 0; n < 2; n++) {
        struct agent_settings *s = &w->aset[n];
        memset(s, 0, sizeof *s);
        snprintf(s->pair, sizeof s->pair, "sip");
        snprintf(s->node, sizeof s->node, "node%d", n + 1);
        s->heartbeat_ms = cfg->heartbeat_ms;
        s->reconcile_ms = cfg->reconcile_ms;
        s->isolation_ms = cfg->isolation_ms;
        s->nlb_timeout_ms = cfg->nlb_timeout_ms;
        s->peer_loss_ms = cfg->loss_ms;
        s->has_peer = 1;
        /* The host as the agent finds it; an enabled port not set by the agent
         * counts like drift (excused in I1) until the agent reads it back. */
        w->nlb[n].port = sim_rng_pct(r, 50) ? MODEL_PORT_ENABLED : MODEL_PORT_DISABLED;
        w->nlb[n].drift_on = w->nlb[n].port == MODEL_PORT_ENABLED;
        w->app[n] = (uint8_t)!sim_rng_pct(r, 10);
        w->app_down[n] = !w->app[n];
        if (!w->app[n]) /* down at start, up again some time in the fault phase */
            sched(w, sim_rng_range(r, 1000, w->fault_end - 1), EV_F_APP, (uint8_t)n, 1, 0, 0);
        struct sim_ev *ev = push(w, sim_rng_range(r, 0, 1500), EV_AGENT_START);
        ev->a = (uint8_t)n;
    }
    struct coordinator_settings *cs = &w->cset;
    memset(cs, 0, sizeof *cs);
    snprintf(cs->pair, sizeof cs->pair, "sip");
    snprintf(cs->node[0], sizeof cs->node[0], "node1");
    snprintf(cs->node[1], sizeof cs->node[1], "node2");
    cs->preferred = w->preferred;
    cs->heartbeat_ms = cfg->heartbeat_ms;
    cs->election_wait_ms = cfg->election_wait_ms;
    cs->switchover_timeout_ms = cfg->switchover_timeout_ms;
    cs->loss_ms = cfg->loss_ms;
    cs->max_delay_ms = cfg->max_delay_ms;
    cs->preempt = w->preempt;
    cs->preempt_delay_ms = w->preempt_delay;
    cs->disconnect_confirm_ms = cfg->heartbeat_ms + cfg->nlb_timeout_ms + cfg->max_delay_ms;
    cs->probe_enabled = 1;
    push(w, sim_rng_range(r, 0, 1500), EV_COORD_START);
    make_schedule(w);
    plan_late_orders(w);
    push(w, w->fault_end, EV_QUIET);
    push(w, w->end_at, EV_END);
    vlog(w, "sim", "seed %llu: preferred node%d, preempt %s (%u ms), base delay %u ms, fault "
         "phase %llu ms, quiet phase %u ms, NLB at start %s/%s, apps %s/%s",
         (unsigned long long)w->seed, w->preferred + 1, w->preempt ? "on" : "off",
         (unsigned)w->preempt_delay, (unsigned)w->base_delay, (unsigned long long)w->fault_end,
         (unsigned)cfg->quiet_ms, model_port_name(w->nlb[0].port), model_port_name(w->nlb[1].port),
         w->app[0] ? "ok" : "down", w->app[1] ? "ok" : "down");
}

/* After every event: the truth the checkers need that no single event owns. */
static void after_event(struct world *w)
{
    for (int n = 0; n < 2; n++) {
        struct sim_nlb *b = &w->nlb[n];
        if (b->qdrift && w->proc[n + 1].alive && b->port == w->agent[n].port_desired)
            b->qdrift = 0;
    }
    int pn = w->preferred;
    const struct sim_proc *pp = &w->proc[pn + 1];
    int elig = w->app[pn] && pp->alive && !pp->stopping && w->proc[P_COORD].alive &&
               pp->conn[coord_link_of(pn)] >= 0 && conn_live(w, pp->conn[coord_link_of(pn)]);
    if (!elig)
        w->pref_eligible_since = 0;
    else if (!w->pref_eligible_since)
        w->pref_eligible_since = w->now;

    struct sim_view v;
    build_view(w, &v);
    check_world(&w->ck, &v);

    if (w->quiet && !w->drifts_planned && check_steady(&w->ck, w->now))
        plan_quiet_drifts(w);
    if (w->quiet && w->cfg.mutant == SIM_MUT_QUIET_SWITCH && !w->mut_switch_done &&
        w->ck.converged && w->now >= w->ck.conv_at + 1000) {
        w->mut_switch_done = 1;
        request_switchover(w, 0, 0);
    }
}

static void print_state(struct world *w)
{
    struct sim_view v;
    build_view(w, &v);
    for (int n = 0; n < 2; n++) {
        const struct agent *a = &w->agent[n];
        printf("  node%d: agent %s, %s epoch %llu, desired %s, actual %s, NLB %s%s%s, app %s, "
               "last: %s\n", n + 1, w->proc[n + 1].alive ? "up" : "down", model_mode_name(a->mode),
               (unsigned long long)a->epoch, model_port_name(a->port_desired),
               model_port_name(a->port_actual), model_port_name(w->nlb[n].port),
               w->nlb[n].drift_on ? " (drift)" : "", w->nlb[n].refused ? " (refusing)" : "",
               w->app[n] ? "ok" : "down", a->last_reason);
    }
    printf("  coordinator: %s, %s, primary %s, epoch %llu, last: %s\n",
           w->proc[P_COORD].alive ? "up" : "down", model_phase_name(w->coord.phase),
           w->coord.primary == COORD_NO_NODE ? "none" : w->coord.set.node[w->coord.primary],
           (unsigned long long)w->coord.epoch, w->coord.last_reason);
    printf("  links:");
    for (int l = 0; l < 3; l++)
        printf(" %s %s%s", link_name[l],
               w->link[l].blocked[0] && w->link[l].blocked[1] ? "cut"
               : w->link[l].blocked[0] || w->link[l].blocked[1] ? "one-way" : "up",
               l < 2 ? ";" : "\n");
}

int sim_run_seed(const struct sim_cfg *cfg, uint64_t seed, struct sim_result *res)
{
    struct world *w = calloc(1, sizeof *w);
    if (!w) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    memset(res, 0, sizeof *res);
    w->cfg = *cfg;
    w->seed = seed;
    w->res = res;
    sim_rng_seed(&w->rs, seed);
    sim_rng_seed(&w->rw, seed ^ 0x5EEDF00DCAFEBABEull);
    check_init(&w->ck, cfg, cfg->check_mask);
    setup(w);

    struct sim_ev e;
    while (w->nq > 0 && !w->ck.failed && !w->stop) {
        pop(w, &e);
        w->now = e.at;
        res->events++;
        w->ring[w->ring_next] = e;
        w->ring_next = (w->ring_next + 1) % SIM_TRACE;
        if (w->ring_n < SIM_TRACE)
            w->ring_n++;
        if (w->cfg.verbose) {
            char text[300];
            describe_event(&e, text, sizeof text);
            if (e.kind != EV_AGENT_TICK && e.kind != EV_COORD_TICK)
                vlog(w, "event", "%s", text);
        }
        switch (e.kind) {
        case EV_AGENT_TICK:
            on_agent_tick(w, &e);
            break;
        case EV_COORD_TICK:
            on_coord_tick(w, &e);
            break;
        case EV_DELIVER:
            on_deliver(w, &e);
            break;
        case EV_NOTIFY_CLOSE:
            on_notify_close(w, &e);
            break;
        case EV_CONNECTED:
            on_connected(w, &e);
            break;
        case EV_NLB_APPLY:
            on_nlb_apply(w, &e);
            break;
        case EV_NLB_DONE:
            on_nlb_done(w, &e);
            break;
        case EV_FAKE_DONE:
            if (w->proc[e.a + 1].alive) {
                struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = w->nlb[e.a].port,
                                         .ok = 1};
                agent_do(w, e.a, &ev);
            }
            break;
        case EV_AGENT_EXIT:
            if (w->proc[e.a + 1].alive && w->proc[e.a + 1].inc == e.x && w->proc[e.a + 1].stopping)
                agent_exit(w, e.a, e.y);
            break;
        case EV_AGENT_START:
            if (!w->proc[e.a + 1].alive)
                agent_start(w, e.a);
            break;
        case EV_COORD_START:
            if (!w->proc[P_COORD].alive)
                coord_start(w);
            break;
        case EV_QUIET:
            on_quiet(w);
            break;
        case EV_LATE_DELIVER:
            on_late_deliver(w, &e);
            break;
        case EV_END: {
            struct sim_view v;
            build_view(w, &v);
            check_end(&w->ck, &v);
            w->stop = 1;
            break;
        }
        case EV_QUIET_DRIFT:
            if (!w->nlb[0].qdrift && !w->nlb[1].qdrift) {
                drift(w, e.a);
                w->nlb[e.a].qdrift = 1;
                w->nlb[e.a].qdrift_at = w->now;
            }
            break;
        default:
            on_fault(w, &e);
            break;
        }
        if (!w->stop)
            after_event(w);
    }

    res->virtual_ms = w->now;
    res->overlap_max = w->ck.overlap_max;
    res->overlap_excused_max = w->ck.overlap_excused_max;
    res->switchovers = w->ck.switchovers;
    res->converge_max = w->ck.converge_time;
    res->preempt_moves = w->ck.preempt_moves;
    res->quiet_drifts = w->ck.quiet_drifts;
    res->stale_roles = w->ck.stale_roles;
    memcpy(res->moves, w->ck.moves, sizeof res->moves);
    res->agent_actions_max = w->ck.agent_actions_max;
    res->coord_actions_max = w->ck.coord_actions_max;
    res->failovers = w->role_changes > w->ck.switchovers ? w->role_changes - w->ck.switchovers : 0;
    if (w->ck.failed) {
        res->failed = 1;
        res->check = w->ck.fail_id;
        res->fail_at = w->ck.fail_at;
        snprintf(res->why, sizeof res->why, "%s", w->ck.fail_text);
        if (cfg->report) {
            printf("seed %llu failed at %llu.%03llu s: %s: %s\n", (unsigned long long)seed,
                   (unsigned long long)(w->now / 1000), (unsigned long long)(w->now % 1000),
                   sim_check_name(w->ck.fail_id), w->ck.fail_text);
            printf("  last %u events:\n", w->ring_n);
            unsigned start = (w->ring_next + SIM_TRACE - w->ring_n) % SIM_TRACE;
            for (unsigned i = 0; i < w->ring_n; i++) {
                const struct sim_ev *x = &w->ring[(start + i) % SIM_TRACE];
                char text[300];
                describe_event(x, text, sizeof text);
                printf("  %7llu.%03llu %s\n", (unsigned long long)(x->at / 1000),
                       (unsigned long long)(x->at % 1000), text);
            }
            printf("  state:\n");
            print_state(w);
        }
    }
    int failed = w->ck.failed;
    check_free(&w->ck);
    free(w->q);
    free(w);
    return failed ? 1 : 0;
}
