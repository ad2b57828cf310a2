/* sim_check.c - the invariant checkers of the simulation (DESIGN.md I1-I6).
 *
 * The checkers never look into the world directly: sim.c hands them a
 * struct sim_view of the truth after every event, and the agent and
 * coordinator steps with their actions. That keeps them small, and lets
 * check_selftest() feed each one a deliberately bad sequence and expect it
 * to trip. Bounds (all derived from the timing configuration):
 *
 *   I1  overlap of two enabled ports, not explained by injected drift or by
 *       an NLB that refuses to disable: at most i1_bound_ms (nlb_timeout_ms).
 *   I2  quiet phase: settled (exactly one port enabled, on a node whose
 *       application is healthy, the coordinator stable on it, agents agree)
 *       within loss_ms + election_wait_ms + switchover_timeout_ms + 2 s of
 *       the quiet phase's start, and one healthy node enabled from then on.
 *   I3  quiet phase after convergence: the serving node never changes with
 *       preempt off; with preempt on at most once, to the preferred node,
 *       and not before it has been eligible for preempt_delay_ms.
 *   I3_MOVE  every coordinator step, every phase (faults included): each
 *       time the coordinator starts moving the primary role from node p to
 *       node o (a transfer begins: DEMOTING or PROMOTING with a new from/to),
 *       the move needs one of: (a) failover: in the coordinator's view p
 *       cannot serve (its link is lost, or its last report says its
 *       application failed, its agent is stopping or its NLB host is out of
 *       the cluster, or its SIP probes fail); (b) a switchover request that
 *       is pending in the checker, to o, handed in this very step; (c)
 *       preempt: configured, o is the preferred node, and o has been
 *       eligible in the coordinator's view (connected, reported healthy, in
 *       the cluster, probes not failing) for preempt_delay_ms, counted by the
 *       checker from the coordinator's inputs; (d) an election: there was no
 *       primary. An election may demote a node that still serves at an older
 *       epoch (seed 393: a restarted coordinator finishing a preempt it had
 *       decided, and that was judged, before it crashed; it adopts a serving
 *       node only at its own epoch). Judged on what the coordinator was
 *       told (its node table), not on its reason strings. And the
 *       coordinator's primary never changes from one node to the other
 *       except to the target of a judged move.
 *   I4  quiet phase, from convergence + reconcile_ms + 2 nlb_timeout_ms +
 *       2 ticks: every agent's port_actual = port_desired = the NLB's state,
 *       except for a transient of 2 nlb_timeout_ms + 1 tick (a query that
 *       was running, then the set) and an injected drift, which must be
 *       repaired within reconcile_ms + 2 nlb_timeout_ms + 2 ticks.
 *   I5  epochs never go down (agents, coordinator, what each persisted,
 *       across restarts), are persisted before they are acted on or sent,
 *       and one epoch never names two different primaries; an agent never
 *       acts on a SET_ROLE older than its epoch; after each of its ticks, an
 *       agent whose last two-way contact (truth) is isolation_ms +
 *       max_delay_ms old or older is not primary and does not want its port.
 *   I6  after every (re)start the agent's first NLB command is a disable,
 *       and it stays backup, port disabled, until a SET_ROLE primary comes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char *const check_names[CK_COUNT] = {
    "I1 single primary", "I2 availability", "I3 no flapping", "I3 unjustified move",
    "I4 convergence",
    "I5 epochs", "I5 stale SET_ROLE", "I5 fencing", "I6 safe start",
    "action bound", "switchover reply", "one NLB command", "codec", "message storm",
};

static const char *const check_keys[CK_COUNT] = {
    "I1", "I2", "I3", "I3_MOVE", "I4", "I5_EPOCH", "I5_STALE", "I5_FENCE", "I6",
    "ACTIONS", "SWITCHOVER", "NLB_ONE", "CODEC", "STORM",
};

const char *sim_check_key(int id)
{
    return id >= 0 && id < CK_COUNT ? check_keys[id] : "?";
}

const char *sim_check_name(int id)
{
    return id >= 0 && id < CK_COUNT ? check_names[id] : "?";
}

void check_init(struct sim_check *ck, const struct sim_cfg *cfg, unsigned mask)
{
    memset(ck, 0, sizeof *ck);
    ck->cfg = *cfg;
    ck->mask = mask;
    ck->serving = -1;
    ck->move_to = COORD_NO_NODE;
}

void check_free(struct sim_check *ck)
{
    free(ck->primary_of);
    ck->primary_of = NULL;
    ck->primary_of_cap = 0;
}

void check_fail(struct sim_check *ck, int id, uint64_t now, const char *fmt, ...)
{
    if (ck->failed || !(ck->mask & (1u << id)))
        return;
    ck->failed = 1;
    ck->fail_id = id;
    ck->fail_at = now;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ck->fail_text, sizeof ck->fail_text, fmt, ap);
    va_end(ap);
}

/* ---- derived bounds --------------------------------------------------------------- */

static uint64_t converge_bound(const struct sim_cfg *c)
{
    return (uint64_t)c->loss_ms + c->election_wait_ms + c->switchover_timeout_ms + 2000;
}

static uint64_t steady_window(const struct sim_cfg *c)
{
    return (uint64_t)c->reconcile_ms + 2 * (uint64_t)c->nlb_timeout_ms + 2 * (uint64_t)c->tick_ms;
}

static uint64_t drift_bound(const struct sim_cfg *c) { return steady_window(c); }

static uint64_t transient_bound(const struct sim_cfg *c)
{
    return 2 * (uint64_t)c->nlb_timeout_ms + c->tick_ms;
}

static uint64_t fence_bound(const struct sim_cfg *c)
{
    return (uint64_t)c->isolation_ms + c->max_delay_ms;
}

int check_steady(const struct sim_check *ck, uint64_t now)
{
    return ck->converged && now >= ck->conv_at + steady_window(&ck->cfg);
}

static const char *pn(uint8_t p) { return model_port_name(p); }

static void describe(const struct sim_view *v, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "node1 %s/app %s/nlb %s/%s desired %s actual %s; node2 %s/app %s/nlb %s/%s desired %s "
             "actual %s; coordinator %s %s primary %d epoch %llu",
             v->node[0].alive ? "up" : "down", v->node[0].app ? "ok" : "down", pn(v->node[0].nlb),
             model_mode_name(v->node[0].mode), pn(v->node[0].port_desired),
             pn(v->node[0].port_actual), v->node[1].alive ? "up" : "down",
             v->node[1].app ? "ok" : "down", pn(v->node[1].nlb), model_mode_name(v->node[1].mode),
             pn(v->node[1].port_desired), pn(v->node[1].port_actual),
             v->coord_alive ? "up" : "down", model_phase_name(v->coord_phase),
             v->coord_primary + 1, (unsigned long long)v->coord_epoch);
}

/* ---- I1 --------------------------------------------------------------------------- */

static void check_i1(struct sim_check *ck, const struct sim_view *v)
{
    uint64_t now = v->now;
    int both = v->node[0].nlb == MODEL_PORT_ENABLED && v->node[1].nlb == MODEL_PORT_ENABLED;
    int excused = both && (v->node[0].drift_on || v->node[1].drift_on || v->node[0].refused ||
                           v->node[1].refused);
    if (both && !excused) {
        if (!ck->overlapping) {
            ck->overlapping = 1;
            ck->overlap_since = now;
        }
    }
    if (ck->overlapping) {
        uint64_t len = now - ck->overlap_since;
        if (len > ck->overlap_max)
            ck->overlap_max = len;
        if (len > ck->cfg.i1_bound_ms) {
            char st[400];
            describe(v, st, sizeof st);
            check_fail(ck, CK_I1, now,
                       "both nodes have had the port enabled for %llu ms (since %llu), more than "
                       "%u ms; %s", (unsigned long long)len, (unsigned long long)ck->overlap_since,
                       (unsigned)ck->cfg.i1_bound_ms, st);
        }
        if (!both || excused)
            ck->overlapping = 0;
    }
    if (excused && !ck->excused_overlapping) {
        ck->excused_overlapping = 1;
        ck->excused_since = now;
    }
    if (ck->excused_overlapping) {
        uint64_t len = now - ck->excused_since;
        if (len > ck->overlap_excused_max)
            ck->overlap_excused_max = len;
        if (!excused)
            ck->excused_overlapping = 0;
    }
}

/* ---- I5 fencing ------------------------------------------------------------- */

/* Run after every tick of an agent: its belief of its last contact is at
 * most the truth plus one message delay, so a tick at or past truth +
 * isolation_ms + max_delay_ms must find it fenced ("by the next tick"). */
static void check_fence(struct sim_check *ck, const struct sim_agent_step *s)
{
    const struct agent *a = s->after;
    if (a->mode != MODEL_MODE_PRIMARY && a->port_desired != MODEL_PORT_ENABLED)
        return;
    uint64_t limit = s->contact + fence_bound(&ck->cfg);
    if (s->now >= limit)
        check_fail(ck, CK_I5_FENCE, s->now,
                   "node%d is still %s (port desired %s) after its tick at %llu: its last "
                   "two-way contact was at %llu, %llu ms ago (the agent believes %llu); "
                   "isolation %u + max delay %u allow %llu ms", s->node + 1,
                   model_mode_name(a->mode), pn(a->port_desired), (unsigned long long)s->now,
                   (unsigned long long)s->contact, (unsigned long long)(s->now - s->contact),
                   (unsigned long long)a->last_contact_at, (unsigned)ck->cfg.isolation_ms,
                   (unsigned)ck->cfg.max_delay_ms, (unsigned long long)fence_bound(&ck->cfg));
}

/* ---- I2, I3, I4 ------------------------------------------------------------------- */

void check_quiet_start(struct sim_check *ck, const struct sim_view *v, int pref_healthy)
{
    (void)v;
    ck->pref_healthy_quiet = (uint8_t)pref_healthy;
    ck->converged = 0;
    ck->in_gap = 0;
    ck->changes = 0;
    ck->mismatch[0] = ck->mismatch[1] = 0;
}

static int sole_enabled(const struct sim_view *v)
{
    int e0 = v->node[0].nlb == MODEL_PORT_ENABLED, e1 = v->node[1].nlb == MODEL_PORT_ENABLED;
    return e0 + e1 != 1 ? -1 : e0 ? 0 : 1;
}

/* Settled: one healthy node serves, the coordinator is stable on it, the
 * agents agree, every link is up and seen up, no NLB set is running, and both
 * agents have had two-way contact since the quiet phase began (so nothing the
 * faults set in motion, such as a running isolation clock or a disable still
 * on its way, is left to play out). */
static int settled(const struct sim_view *v, int s)
{
    if (s < 0)
        return 0;
    const struct sim_node_view *p = &v->node[s], *b = &v->node[1 - s];
    return p->app && v->peer_link && !p->nlb_setting && !b->nlb_setting && p->coord_link &&
           b->coord_link && p->coord_sees && b->coord_sees && p->contact >= v->quiet_start &&
           b->contact >= v->quiet_start && v->coord_alive && v->coord_phase == MODEL_PHASE_STABLE &&
           v->coord_primary == s && p->alive && !p->stopping && p->mode == MODEL_MODE_PRIMARY &&
           p->port_actual == MODEL_PORT_ENABLED && b->alive && !b->stopping &&
           b->mode == MODEL_MODE_BACKUP && !p->drift_on && !b->drift_on;
}

static void check_quiet(struct sim_check *ck, const struct sim_view *v)
{
    uint64_t now = v->now;
    char st[400];
    int s = sole_enabled(v);
    if (!ck->converged) {
        if (settled(v, s)) {
            ck->converged = 1;
            ck->conv_at = now;
            ck->converge_time = now - v->quiet_start;
            ck->serving = s;
            ck->in_gap = 0;
        } else if (now > v->quiet_start + converge_bound(&ck->cfg)) {
            describe(v, st, sizeof st);
            check_fail(ck, CK_I2, now,
                       "not settled on one healthy primary %llu ms after the quiet phase began "
                       "(bound %llu); %s", (unsigned long long)(now - v->quiet_start),
                       (unsigned long long)converge_bound(&ck->cfg), st);
        }
        return;
    }
    int holds = s >= 0 && v->node[s].app;
    int drift = v->node[0].qdrift || v->node[1].qdrift;
    if (holds) {
        if (s != ck->serving) {
            if (!v->preempt)
                check_fail(ck, CK_I3, now,
                           "the primary moved from node%d to node%d in the quiet phase with "
                           "preempt off", ck->serving + 1, s + 1);
            else if (ck->changes >= 1)
                check_fail(ck, CK_I3, now, "a second move of the primary (to node%d) with preempt",
                           s + 1);
            else if (s != v->preferred)
                check_fail(ck, CK_I3, now, "preempt moved the primary to node%d, not the preferred",
                           s + 1);
            else if (!v->pref_eligible_since ||
                     now - v->pref_eligible_since < v->preempt_delay_ms)
                check_fail(ck, CK_I3, now,
                           "preempt moved the primary to node%d after it was eligible for only "
                           "%llu ms (preempt_delay %u)", s + 1,
                           (unsigned long long)(v->pref_eligible_since
                                                    ? now - v->pref_eligible_since : 0),
                           (unsigned)v->preempt_delay_ms);
            ck->changes++;
            ck->preempt_moves++;
            ck->serving = s;
        }
        ck->in_gap = 0;
    } else if (!drift) {
        if (!ck->in_gap) {
            ck->in_gap = 1;
            ck->gap_since = now;
        }
        int none = v->node[0].nlb != MODEL_PORT_ENABLED && v->node[1].nlb != MODEL_PORT_ENABLED;
        describe(v, st, sizeof st);
        if (v->preempt && ck->changes == 0 && none && ck->serving != v->preferred) {
            /* break before make during the one preempt move */
            if (now - ck->gap_since > ck->cfg.switchover_timeout_ms)
                check_fail(ck, CK_I2, now, "no port enabled for %llu ms during preempt; %s",
                           (unsigned long long)(now - ck->gap_since), st);
        } else {
            check_fail(ck, CK_I2, now,
                       "after converging on node%d at %llu the pair no longer has exactly one "
                       "healthy node enabled; %s", ck->serving + 1,
                       (unsigned long long)ck->conv_at, st);
        }
    }

    if (!check_steady(ck, now))
        return;
    for (int n = 0; n < 2; n++) {
        const struct sim_node_view *x = &v->node[n];
        int agree = x->alive && x->port_actual == x->port_desired && x->port_desired == x->nlb;
        if (ck->prev_qdrift[n] && !x->qdrift)
            ck->quiet_drifts++; /* repaired within the bound, or we would have failed */
        ck->prev_qdrift[n] = x->qdrift;
        if (x->qdrift) {
            if (now - x->qdrift_at > drift_bound(&ck->cfg))
                check_fail(ck, CK_I4, now,
                           "drift injected on node%d at %llu (NLB now %s, desired %s) not repaired "
                           "within %llu ms", n + 1, (unsigned long long)x->qdrift_at, pn(x->nlb),
                           pn(x->port_desired), (unsigned long long)drift_bound(&ck->cfg));
            ck->mismatch[n] = 1;
            ck->mismatch_since[n] = now; /* counts again from the repair */
            continue;
        }
        if (agree) {
            ck->mismatch[n] = 0;
            continue;
        }
        if (!ck->mismatch[n]) {
            ck->mismatch[n] = 1;
            ck->mismatch_since[n] = now;
        }
        if (now - ck->mismatch_since[n] > transient_bound(&ck->cfg))
            check_fail(ck, CK_I4, now,
                       "node%d: desired %s, actual %s, NLB %s disagree for %llu ms (bound %llu)",
                       n + 1, pn(x->port_desired), pn(x->port_actual), pn(x->nlb),
                       (unsigned long long)(now - ck->mismatch_since[n]),
                       (unsigned long long)transient_bound(&ck->cfg));
    }
}

void check_world(struct sim_check *ck, const struct sim_view *v)
{
    for (int n = 0; n < 2; n++)
        if (v->node[n].nlb == MODEL_PORT_ENABLED)
            ck->last_enabled_at[n] = v->now;
    check_i1(ck, v);
    for (unsigned i = 0; i < ck->npending; i++)
        if (v->now > ck->pending[i].deadline)
            check_fail(ck, CK_SWITCHOVER, v->now,
                       "switchover request %u made at %llu has no reply after %llu ms",
                       (unsigned)ck->pending[i].token, (unsigned long long)ck->pending[i].at,
                       (unsigned long long)(v->now - ck->pending[i].at));
    if (v->quiet)
        check_quiet(ck, v);
}

void check_end(struct sim_check *ck, const struct sim_view *v)
{
    char st[400];
    describe(v, st, sizeof st);
    if (!ck->converged) {
        check_fail(ck, CK_I2, v->now, "the quiet phase ended without converging; %s", st);
        return;
    }
    int s = sole_enabled(v);
    if (!settled(v, s) || s != ck->serving)
        check_fail(ck, CK_I2, v->now, "at the end the pair is not settled on node%d; %s",
                   ck->serving + 1, st);
    for (int n = 0; n < 2; n++) {
        const struct sim_node_view *x = &v->node[n];
        if (!(x->port_actual == x->port_desired && x->port_desired == x->nlb))
            check_fail(ck, CK_I4, v->now, "at the end node%d disagrees: %s", n + 1, st);
    }
    if (v->preempt && ck->pref_healthy_quiet && ck->serving != v->preferred &&
        v->now - ck->conv_at > (uint64_t)v->preempt_delay_ms + 5000)
        check_fail(ck, CK_I3, v->now,
                   "preempt is on and preferred node%d is healthy, but node%d still serves %llu "
                   "ms after convergence (preempt_delay %u)", v->preferred + 1, ck->serving + 1,
                   (unsigned long long)(v->now - ck->conv_at), (unsigned)v->preempt_delay_ms);
}

/* ---- agent steps ------------------------------------------------------------------ */

void check_agent_started(struct sim_check *ck, int node, uint64_t now, const struct agent *a)
{
    if (a->epoch < ck->agent_epoch_max[node])
        check_fail(ck, CK_I5_EPOCH, now,
                   "node%d restarted with epoch %llu, below the %llu it held before (its "
                   "persisted epoch went back)", node + 1, (unsigned long long)a->epoch,
                   (unsigned long long)ck->agent_epoch_max[node]);
    ck->fresh[node] = 1;
    ck->first_cmd_seen[node] = 0;
}

static int is_nlb(uint8_t t) { return t == AGENT_ACT_NLB_SET || t == AGENT_ACT_NLB_QUERY; }

void check_agent_step(struct sim_check *ck, const struct sim_agent_step *s)
{
    const struct agent *a = s->after;
    const struct agent_actions *out = s->out;
    int n = s->node;
    uint64_t now = s->now;

    if (out->count > ck->agent_actions_max)
        ck->agent_actions_max = out->count;
    if (out->count >= AGENT_MAX_ACTIONS)
        check_fail(ck, CK_ACTIONS, now, "node%d: one step (event %u) produced %u actions, bound %d",
                   n + 1, (unsigned)s->ev->type, out->count, AGENT_MAX_ACTIONS);
    /* Every log line names its kind of event: its Event Log ID hangs on it. */
    for (unsigned i = 0; i < out->count; i++)
        if (out->items[i].type == AGENT_ACT_LOG &&
            (out->items[i].event == MODEL_EV_NONE || out->items[i].event >= MODEL_EV_COUNT))
            check_fail(ck, CK_ACTIONS, now, "node%d: a log line without an event kind: %s", n + 1,
                       out->items[i].text);

    /* I5: epochs */
    if (a->epoch < s->epoch_before)
        check_fail(ck, CK_I5_EPOCH, now, "node%d's epoch went down from %llu to %llu", n + 1,
                   (unsigned long long)s->epoch_before, (unsigned long long)a->epoch);
    int persisted_new = a->epoch <= s->epoch_before;
    for (unsigned i = 0; i < out->count; i++) {
        const struct agent_action *act = &out->items[i];
        if (act->type == AGENT_ACT_PERSIST_EPOCH) {
            if (act->epoch < ck->agent_persisted[n])
                check_fail(ck, CK_I5_EPOCH, now, "node%d persisted epoch %llu after %llu", n + 1,
                           (unsigned long long)act->epoch,
                           (unsigned long long)ck->agent_persisted[n]);
            ck->agent_persisted[n] = act->epoch;
            if (act->epoch == a->epoch)
                persisted_new = 1;
        } else if (!persisted_new && (act->type == AGENT_ACT_NLB_SET ||
                                      act->type == AGENT_ACT_SEND ||
                                      act->type == AGENT_ACT_SEND_PEER)) {
            check_fail(ck, CK_I5_EPOCH, now,
                       "node%d took epoch %llu and acted (action %u) before persisting it", n + 1,
                       (unsigned long long)a->epoch, i);
            persisted_new = 1;
        }
    }
    if (!persisted_new)
        check_fail(ck, CK_I5_EPOCH, now, "node%d took epoch %llu without persisting it", n + 1,
                   (unsigned long long)a->epoch);
    if (a->epoch > ck->agent_epoch_max[n])
        ck->agent_epoch_max[n] = a->epoch;

    if (s->ev->type == AGENT_EV_TICK)
        check_fence(ck, s);

    /* I5: a stale SET_ROLE changes nothing */
    const struct wire_msg *m = s->ev->type == AGENT_EV_MESSAGE ? s->ev->msg : NULL;
    int set_role = m && m->type == WIRE_SET_ROLE;
    if (set_role && m->u.set_role.epoch < s->epoch_before) {
        ck->stale_roles++;
        int acted = a->mode != s->mode_before || a->epoch != s->epoch_before ||
                    a->port_desired != s->desired_before;
        for (unsigned i = 0; i < out->count; i++)
            if (out->items[i].type == AGENT_ACT_NLB_SET)
                acted = 1;
        if (acted)
            check_fail(ck, CK_I5_STALE, now,
                       "node%d acted on SET_ROLE %s with epoch %llu, older than its epoch %llu "
                       "(now %s, epoch %llu)", n + 1, model_mode_name(m->u.set_role.mode),
                       (unsigned long long)m->u.set_role.epoch,
                       (unsigned long long)s->epoch_before, model_mode_name(a->mode),
                       (unsigned long long)a->epoch);
    }

    /* I6: safe start */
    if (set_role && m->u.set_role.mode == MODEL_MODE_PRIMARY &&
        m->u.set_role.epoch >= s->epoch_before)
        ck->fresh[n] = 0;
    for (unsigned i = 0; i < out->count; i++) {
        const struct agent_action *act = &out->items[i];
        if (!is_nlb(act->type))
            continue;
        if (!ck->first_cmd_seen[n] &&
            !(act->type == AGENT_ACT_NLB_SET && act->port == MODEL_PORT_DISABLED))
            check_fail(ck, CK_I6, now,
                       "node%d's first NLB command after its start is %s %s, not a disable",
                       n + 1, act->type == AGENT_ACT_NLB_SET ? "set" : "query",
                       act->type == AGENT_ACT_NLB_SET ? pn(act->port) : "");
        ck->first_cmd_seen[n] = 1;
        if (ck->fresh[n] && act->type == AGENT_ACT_NLB_SET && act->port != MODEL_PORT_DISABLED)
            check_fail(ck, CK_I6, now,
                       "node%d sets its port %s before any SET_ROLE primary since its start",
                       n + 1, pn(act->port));
    }
    if (ck->fresh[n] && (a->mode != MODEL_MODE_BACKUP || a->port_desired != MODEL_PORT_DISABLED))
        check_fail(ck, CK_I6, now,
                   "node%d is %s with port desired %s before any SET_ROLE primary since its start",
                   n + 1, model_mode_name(a->mode), pn(a->port_desired));
}

void check_nlb_busy(struct sim_check *ck, int node, uint64_t now, uint8_t running, uint8_t asked)
{
    check_fail(ck, CK_NLB_ONE, now,
               "node%d asked for an NLB %s while its %s was still running", node + 1,
               asked == AGENT_ACT_NLB_SET ? "set" : "query",
               running == AGENT_ACT_NLB_SET ? "set" : "query");
}

/* ---- coordinator steps ------------------------------------------------------------ */

void check_coord_started(struct sim_check *ck, uint64_t now, const struct coordinator *c)
{
    if (c->epoch < ck->coord_epoch_max)
        check_fail(ck, CK_I5_EPOCH, now,
                   "the coordinator restarted with epoch %llu, below the %llu it held before",
                   (unsigned long long)c->epoch, (unsigned long long)ck->coord_epoch_max);
    ck->pref_ok = 0; /* it knows nobody yet */
    ck->move_to = COORD_NO_NODE;
}

/* ---- I3 at every step: a move of the primary role needs a reason ---------- */

static int in_transfer(uint8_t phase)
{
    return phase == MODEL_PHASE_DEMOTING || phase == MODEL_PHASE_PROMOTING;
}

/* Why node x cannot serve, as the coordinator was told; NULL if it can. */
static const char *cannot_serve(const struct coordinator *c, int x)
{
    const struct coordinator_node *n = &c->nodes[x];
    if (!n->connected)
        return "its link is lost";
    if (n->probe == MODEL_PROBE_DOWN)
        return "it does not answer SIP probes";
    if (!n->have_report)
        return NULL;
    if (n->report.stopping)
        return "its agent is stopping";
    if (!n->report.app_healthy)
        return "its application failed";
    if (n->report.port_actual == MODEL_PORT_DISCONNECTED)
        return "its NLB host is out of the cluster";
    return NULL;
}

/* Eligible to take the role, as the coordinator was told. */
static int can_take(const struct coordinator *c, int x)
{
    const struct coordinator_node *n = &c->nodes[x];
    return n->connected && n->have_report && n->report.app_healthy &&
           n->report.port_actual != MODEL_PORT_DISCONNECTED && n->probe != MODEL_PROBE_DOWN;
}

static void check_move(struct sim_check *ck, const struct sim_coord_step *s,
                       const struct sim_view *v)
{
    const struct coordinator *c = s->after;
    uint64_t now = s->now;
    int pref = v->preferred;

    if (!can_take(c, pref))
        ck->pref_ok = 0;
    else if (!ck->pref_ok) {
        ck->pref_ok = 1;
        ck->pref_ok_since = now;
    }

    /* A transfer begun from stable leaves the primary as it was (= from)
     * until the new one confirms; one begun from electing (an election, or
     * an abandoned switchover giving the role back) leaves no primary. Take
     * the origin from after the step: within one step a promotion can time
     * out (primary := to, stable) and a failover away from it begin. */
    int judged = ck->move_to;
    int p = c->primary, o = c->to;
    int begins = in_transfer(c->phase) &&
                 (!in_transfer(s->phase_before) || c->from != s->from_before ||
                  c->to != s->to_before);
    if (begins && o >= 0 && o != p) {
        ck->move_to = o;
        const char *why = NULL;
        int pi = -1;
        if (s->ev->type == COORD_EV_SWITCHOVER)
            for (unsigned i = 0; i < ck->npending; i++)
                if (ck->pending[i].token == s->ev->token)
                    pi = (int)i;
        int target = pi < 0 ? -2 : ck->pending[pi].target == -1 ? (p >= 0 ? 1 - p : -2)
                                                                 : ck->pending[pi].target;
        if (p == COORD_NO_NODE)
            ck->moves[SIM_MOVE_ELECTION]++;
        else if (target == o)
            ck->moves[SIM_MOVE_SWITCHOVER]++;
        else if ((why = cannot_serve(c, p)) != NULL)
            ck->moves[SIM_MOVE_FAILOVER]++;
        else if (v->preempt && o == pref && ck->pref_ok &&
                 now - ck->pref_ok_since >= v->preempt_delay_ms)
            ck->moves[SIM_MOVE_PREEMPT]++;
        else {
            const struct coordinator_node *n = &c->nodes[p];
            char pre[160];
            if (!v->preempt)
                snprintf(pre, sizeof pre, "preempt is off");
            else if (o != pref)
                snprintf(pre, sizeof pre, "preempt is on, but node%d is not the preferred node",
                         o + 1);
            else
                snprintf(pre, sizeof pre,
                         "preempt is on, but node%d has been eligible for %llu ms of %u",
                         o + 1,
                         (unsigned long long)(ck->pref_ok ? now - ck->pref_ok_since : 0),
                         (unsigned)v->preempt_delay_ms);
            check_fail(ck, CK_I3_MOVE, now,
                       "the coordinator moves the primary role from node%d to node%d (epoch "
                       "%llu, %s, on event %u) without a reason: node%d is connected and its "
                       "last report says %s, application %s, port %s, epoch %llu; probes %s; "
                       "no switchover request to node%d is pending; %s",
                       p + 1, o + 1, (unsigned long long)c->epoch, model_phase_name(c->phase),
                       (unsigned)s->ev->type, p + 1,
                       n->have_report ? model_mode_name(n->report.mode) : "(none)",
                       n->have_report && n->report.app_healthy ? "healthy" : "?",
                       n->have_report ? pn(n->report.port_actual) : "?",
                       (unsigned long long)(n->have_report ? n->report.epoch : 0),
                       n->probe == MODEL_PROBE_UP ? "answered" : "unknown", o + 1, pre);
        }
    }
    int q = s->primary_before;
    if (c->primary >= 0 && q >= 0 && c->primary != q && c->primary != judged)
        check_fail(ck, CK_I3_MOVE, now,
                   "the coordinator's primary changed from node%d to node%d without a judged "
                   "move to it (phase %s, epoch %llu)", q + 1, c->primary + 1,
                   model_phase_name(c->phase), (unsigned long long)c->epoch);
}

static void note_primary_epoch(struct sim_check *ck, uint64_t now, uint64_t epoch, int node)
{
    if (epoch >= ck->primary_of_cap) {
        uint64_t cap = ck->primary_of_cap ? ck->primary_of_cap : 256;
        while (cap <= epoch)
            cap *= 2;
        uint8_t *p = realloc(ck->primary_of, (size_t)cap);
        if (!p) {
            fprintf(stderr, "sim: out of memory\n");
            exit(2);
        }
        memset(p + ck->primary_of_cap, 0, (size_t)(cap - ck->primary_of_cap));
        ck->primary_of = p;
        ck->primary_of_cap = cap;
    }
    uint8_t want = (uint8_t)(node + 1);
    if (ck->primary_of[epoch] && ck->primary_of[epoch] != want)
        check_fail(ck, CK_I5_EPOCH, now, "epoch %llu made both node%d and node%d primary",
                   (unsigned long long)epoch, ck->primary_of[epoch], node + 1);
    ck->primary_of[epoch] = want;
}

static int find_pending(const struct sim_check *ck, uint32_t token)
{
    for (unsigned i = 0; i < ck->npending; i++)
        if (ck->pending[i].token == token)
            return (int)i;
    return -1;
}

static void check_reply(struct sim_check *ck, const struct coordinator_action *act,
                        const struct coordinator *c, uint64_t now)
{
    int i = find_pending(ck, act->token);
    if (i < 0) {
        check_fail(ck, CK_SWITCHOVER, now,
                   "REPLY (code %d) for request %u, which has no pending request (a second "
                   "reply, or an unknown token)", (int)act->code, (unsigned)act->token);
        return;
    }
    int target = ck->pending[i].target;
    uint64_t at = ck->pending[i].at;
    int before = ck->pending[i].primary_at_request;
    uint64_t limit_at = ck->pending[i].deadline - 2 * (uint64_t)ck->cfg.tick_ms - 1;
    if (act->code == MODEL_OK) {
        int want = target >= 0 ? target : target == -1 && before >= 0 ? 1 - before : -2;
        if (c->primary == COORD_NO_NODE || (want >= -1 && c->primary != want))
            check_fail(ck, CK_SWITCHOVER, now,
                       "request %u answered OK (\"%s\") but the coordinator's primary is node%d, "
                       "not the target node%d", (unsigned)act->token, act->text, c->primary + 1,
                       want + 1);
        else if (c->primary != before) {
            if (ck->last_enabled_at[c->primary] < at)
                check_fail(ck, CK_SWITCHOVER, now,
                           "request %u answered OK but node%d's port has not been enabled since "
                           "the request", (unsigned)act->token, c->primary + 1);
            ck->switchovers++;
        }
    } else if (act->code == MODEL_ERR_UNKNOWN_NODE && target != -2) {
        check_fail(ck, CK_SWITCHOVER, now, "request %u for a real node answered UNKNOWN_NODE",
                   (unsigned)act->token);
    } else if (act->code == MODEL_ERR_TIMEOUT && now < limit_at) {
        check_fail(ck, CK_SWITCHOVER, now,
                   "request %u answered TIMEOUT %llu ms after it was made, before its limit",
                   (unsigned)act->token, (unsigned long long)(now - at));
    }
    ck->pending[i] = ck->pending[--ck->npending];
}

void check_coord_step(struct sim_check *ck, const struct sim_coord_step *s,
                      const struct sim_view *v)
{
    const struct coordinator *c = s->after;
    const struct coordinator_actions *out = s->out;
    uint64_t now = s->now;

    if (out->count > ck->coord_actions_max)
        ck->coord_actions_max = out->count;
    if (out->count >= COORD_MAX_ACTIONS)
        check_fail(ck, CK_ACTIONS, now, "coordinator: one step (event %u) produced %u actions, "
                   "bound %d", (unsigned)s->ev->type, out->count, COORD_MAX_ACTIONS);
    for (unsigned i = 0; i < out->count; i++)
        if (out->items[i].type == COORD_ACT_LOG &&
            (out->items[i].event == MODEL_EV_NONE || out->items[i].event >= MODEL_EV_COUNT))
            check_fail(ck, CK_ACTIONS, now, "coordinator: a log line without an event kind: %s",
                       out->items[i].text);
    if (c->epoch < s->epoch_before)
        check_fail(ck, CK_I5_EPOCH, now, "the coordinator's epoch went down from %llu to %llu",
                   (unsigned long long)s->epoch_before, (unsigned long long)c->epoch);
    if (c->epoch > ck->coord_epoch_max)
        ck->coord_epoch_max = c->epoch;

    if (s->have_before)
        check_move(ck, s, v);

    uint64_t persisted = s->persisted_before;
    for (unsigned i = 0; i < out->count; i++) {
        const struct coordinator_action *act = &out->items[i];
        if (act->type == COORD_ACT_PERSIST_EPOCH) {
            if (act->epoch < persisted)
                check_fail(ck, CK_I5_EPOCH, now, "the coordinator persisted epoch %llu after %llu",
                           (unsigned long long)act->epoch, (unsigned long long)persisted);
            persisted = act->epoch;
        } else if (act->type == COORD_ACT_SEND) {
            uint64_t e = act->msg.type == WIRE_SET_ROLE    ? act->msg.u.set_role.epoch
                         : act->msg.type == WIRE_HEARTBEAT ? act->msg.u.heartbeat.epoch
                                                           : 0;
            if (e > persisted)
                check_fail(ck, CK_I5_EPOCH, now,
                           "the coordinator sent %s with epoch %llu before persisting it "
                           "(persisted %llu)", wire_type_name(act->msg.type),
                           (unsigned long long)e, (unsigned long long)persisted);
            if (act->msg.type == WIRE_SET_ROLE && act->msg.u.set_role.mode == MODEL_MODE_PRIMARY &&
                s->send_node && s->send_node[i] >= 0)
                note_primary_epoch(ck, now, act->msg.u.set_role.epoch, s->send_node[i]);
        } else if (act->type == COORD_ACT_REPLY) {
            check_reply(ck, act, c, now);
        }
    }
    if (c->epoch > persisted)
        check_fail(ck, CK_I5_EPOCH, now, "the coordinator holds epoch %llu but persisted only %llu",
                   (unsigned long long)c->epoch, (unsigned long long)persisted);
    ck->coord_persisted = persisted;
}

void check_switchover_request(struct sim_check *ck, uint64_t now, uint32_t token, int target,
                              uint32_t timeout_ms, int primary)
{
    if (ck->npending >= SIM_PENDING_MAX)
        return;
    unsigned i = ck->npending++;
    ck->pending[i].token = token;
    ck->pending[i].target = target;
    ck->pending[i].at = now;
    uint32_t limit = timeout_ms ? timeout_ms : ck->cfg.switchover_timeout_ms;
    ck->pending[i].deadline = now + limit + 2 * (uint64_t)ck->cfg.tick_ms + 1;
    ck->pending[i].primary_at_request = primary;
}

void check_switchover_abort(struct sim_check *ck) { ck->npending = 0; }

/* ---- self-test: every checker must trip on a bad sequence ------------------------- */

static void base_view(struct sim_view *v, uint64_t now)
{
    memset(v, 0, sizeof *v);
    v->now = now;
    v->coord_alive = 1;
    v->peer_link = 1;
    v->coord_phase = MODEL_PHASE_STABLE;
    v->coord_primary = 0;
    for (int n = 0; n < 2; n++) {
        v->node[n].alive = 1;
        v->node[n].app = 1;
        v->node[n].coord_link = 1;
        v->node[n].coord_sees = 1;
        v->node[n].contact = now;
        v->node[n].nlb = v->node[n].port_desired = v->node[n].port_actual =
            n == 0 ? MODEL_PORT_ENABLED : MODEL_PORT_DISABLED;
        v->node[n].mode = n == 0 ? MODEL_MODE_PRIMARY : MODEL_MODE_BACKUP;
    }
}

struct st_case {
    const char *what;
    int expect; /* check id that must trip */
};

static int st_result(const struct st_case *tc, struct sim_check *ck, int verbose, int control)
{
    int ok = control ? !ck->failed : ck->failed && ck->fail_id == tc->expect;
    if (verbose || !ok)
        printf("  selftest %-18s %-58s %s%s%s\n", sim_check_name(tc->expect), tc->what,
               ok ? "ok" : "FAILED", ck->failed ? ": " : "", ck->failed ? ck->fail_text : "");
    check_free(ck);
    return ok ? 0 : 1;
}

int check_selftest(int verbose)
{
    struct sim_cfg cfg;
    sim_cfg_defaults(&cfg);
    struct sim_check ck;
    struct sim_view v;
    int bad = 0;

    { /* I1: both enabled longer than one NLB command */
        struct st_case tc = {"two ports enabled for 700 ms", CK_I1};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 1000; t <= 1700; t += 100) {
            base_view(&v, t);
            v.node[1].nlb = MODEL_PORT_ENABLED;
            check_world(&ck, &v);
        }
        bad += st_result(&tc, &ck, verbose, 0);
        struct st_case ctl = {"control: overlap explained by drift", CK_I1};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 1000; t <= 3000; t += 100) {
            base_view(&v, t);
            v.node[1].nlb = MODEL_PORT_ENABLED;
            v.node[1].drift_on = 1;
            check_world(&ck, &v);
        }
        bad += st_result(&ctl, &ck, verbose, 1);
    }
    { /* I2: quiet phase never settles */
        struct st_case tc = {"quiet phase, no port ever enabled", CK_I2};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 0; t <= 30000; t += 100) {
            base_view(&v, t);
            v.quiet = 1;
            v.node[0].nlb = MODEL_PORT_DISABLED;
            check_world(&ck, &v);
        }
        bad += st_result(&tc, &ck, verbose, 0);
        struct st_case tc2 = {"converged, then the primary's port goes off", CK_I2};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 0; t <= 3000; t += 100) {
            base_view(&v, t);
            v.quiet = 1;
            if (t > 2000)
                v.node[0].nlb = MODEL_PORT_DISABLED;
            check_world(&ck, &v);
        }
        bad += st_result(&tc2, &ck, verbose, 0);
    }
    { /* I3: the primary moves in quiet with preempt off */
        struct st_case tc = {"converged on node1, then node2 serves (no preempt)", CK_I3};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 0; t <= 3000; t += 100) {
            base_view(&v, t);
            v.quiet = 1;
            if (t >= 2000) { /* swapped in one event: a gap would be I2's */
                v.node[0].nlb = MODEL_PORT_DISABLED;
                v.node[1].nlb = MODEL_PORT_ENABLED;
            }
            check_world(&ck, &v);
        }
        bad += st_result(&tc, &ck, verbose, 0);
        struct st_case tc2 = {"preempt moves the role before preempt_delay", CK_I3};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 0; t <= 3000; t += 100) {
            base_view(&v, t);
            v.quiet = 1;
            v.preempt = 1;
            v.preferred = 1;
            v.preempt_delay_ms = 5000;
            v.pref_eligible_since = 1;
            if (t >= 2000) {
                v.node[0].nlb = MODEL_PORT_DISABLED;
                v.node[1].nlb = MODEL_PORT_ENABLED;
            }
            check_world(&ck, &v);
        }
        bad += st_result(&tc2, &ck, verbose, 0);
    }
    { /* I3_MOVE: the coordinator moves the role away from a healthy primary */
        struct coordinator c;
        struct coordinator_settings cs;
        memset(&cs, 0, sizeof cs);
        coordinator_init(&c, &cs, 4, 0);
        for (int n = 0; n < 2; n++) {
            c.nodes[n].connected = 1;
            c.nodes[n].have_report = 1;
            c.nodes[n].report.app_healthy = 1;
            c.nodes[n].report.port_actual = n == 1 ? MODEL_PORT_ENABLED : MODEL_PORT_DISABLED;
            c.nodes[n].report.mode = n == 1 ? MODEL_MODE_PRIMARY : MODEL_MODE_BACKUP;
            c.nodes[n].report.epoch = 4;
        }
        /* stable on node2; after the step: demoting node2 for node1 */
        c.phase = MODEL_PHASE_DEMOTING;
        c.primary = 1;
        c.from = 1;
        c.to = 0;
        c.epoch = 5;
        struct coordinator_actions co;
        memset(&co, 0, sizeof co);
        struct coordinator_event cev = {.type = COORD_EV_TICK};
        struct sim_coord_step cstep = {100, &cev, 4, 5, &c, &co, NULL,
                                       1, MODEL_PHASE_STABLE, 1, COORD_NO_NODE, COORD_NO_NODE};
        base_view(&v, 100);
        v.coord_primary = 1;

        struct st_case tc = {"failback from a healthy node2 to node1, preempt off", CK_I3_MOVE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc, &ck, verbose, 0);

        struct st_case tc2 = {"preempt to node1 after 500 ms of 2000", CK_I3_MOVE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        v.preempt = 1;
        v.preferred = 0;
        v.preempt_delay_ms = 2000;
        ck.pref_ok = 1;
        ck.pref_ok_since = 0;
        cstep.now = v.now = 500;
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc2, &ck, verbose, 0);

        struct st_case ctl = {"control: preempt to node1 after 2500 ms of 2000", CK_I3_MOVE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        ck.pref_ok = 1;
        ck.pref_ok_since = 0;
        cstep.now = v.now = 2500;
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&ctl, &ck, verbose, 1);

        struct st_case ctl2 = {"control: failover, node2 reports its application failed",
                               CK_I3_MOVE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        v.preempt = 0;
        c.nodes[1].report.app_healthy = 0;
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&ctl2, &ck, verbose, 1);

        struct st_case ctl3 = {"control: a requested switchover to node1", CK_I3_MOVE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        c.nodes[1].report.app_healthy = 1;
        check_switchover_request(&ck, 2400, 9, -1, 0, 1);
        cev.type = COORD_EV_SWITCHOVER;
        cev.token = 9;
        check_coord_step(&ck, &cstep, &v);
        check_switchover_abort(&ck); /* no reply is due in a hand-made run */
        bad += st_result(&ctl3, &ck, verbose, 1);

        struct st_case tc3 = {"the primary flips to node1 with no move begun", CK_I3_MOVE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        cev.type = COORD_EV_TICK;
        c.phase = MODEL_PHASE_STABLE;
        c.primary = 0;
        c.from = c.to = COORD_NO_NODE;
        c.epoch = 4;
        cstep.epoch_before = cstep.persisted_before = 4;
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc3, &ck, verbose, 0);
    }
    { /* I4: an agent's actual port disagrees with NLB for good; drift never repaired */
        struct st_case tc = {"steady, node2 believes enabled while NLB is disabled", CK_I4};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 0; t <= 20000; t += 100) {
            base_view(&v, t);
            v.quiet = 1;
            if (t > 10000)
                v.node[1].port_actual = MODEL_PORT_ENABLED;
            check_world(&ck, &v);
        }
        bad += st_result(&tc, &ck, verbose, 0);
        struct st_case tc2 = {"quiet drift on node2 left unrepaired", CK_I4};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        for (uint64_t t = 0; t <= 30000; t += 100) {
            base_view(&v, t);
            v.quiet = 1;
            if (t >= 10000) {
                v.node[1].nlb = MODEL_PORT_ENABLED;
                v.node[1].drift_on = 1;
                v.node[1].qdrift = 1;
                v.node[1].qdrift_at = 10000;
            }
            check_world(&ck, &v);
        }
        bad += st_result(&tc2, &ck, verbose, 0);
    }
    struct agent a;
    struct agent_settings as;
    memset(&as, 0, sizeof as);
    snprintf(as.pair, sizeof as.pair, "p");
    snprintf(as.node, sizeof as.node, "node1");
    as.heartbeat_ms = 500;
    as.reconcile_ms = 5000;
    as.isolation_ms = 1500;
    struct agent_actions out;
    struct agent_event ev;
    struct wire_msg m;
    { /* I5: the agent's epoch goes down / epoch used before persisting */
        struct st_case tc = {"agent epoch goes from 5 to 4", CK_I5_EPOCH};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        agent_init(&a, &as, 4, 0);
        memset(&out, 0, sizeof out);
        ev = (struct agent_event){.type = AGENT_EV_TICK};
        struct sim_agent_step s = {0, 100, &ev, MODEL_MODE_BACKUP, 5, MODEL_PORT_DISABLED,
                                   &a, &out, 0};
        check_agent_step(&ck, &s);
        bad += st_result(&tc, &ck, verbose, 0);

        struct st_case tc2 = {"agent takes epoch 6, sets NLB, persists after", CK_I5_EPOCH};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        agent_init(&a, &as, 6, 0);
        out.count = 2;
        memset(out.items, 0, 2 * sizeof out.items[0]);
        out.items[0].type = AGENT_ACT_NLB_SET;
        out.items[0].port = MODEL_PORT_DISABLED;
        out.items[1].type = AGENT_ACT_PERSIST_EPOCH;
        out.items[1].epoch = 6;
        struct sim_agent_step s2 = {0, 100, &ev, MODEL_MODE_BACKUP, 5, MODEL_PORT_DISABLED, &a,
                                    &out, 0};
        check_agent_step(&ck, &s2);
        bad += st_result(&tc2, &ck, verbose, 0);

        struct st_case tc3 = {"restart with a lost epoch file", CK_I5_EPOCH};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        ck.agent_epoch_max[0] = 7;
        agent_init(&a, &as, 0, 0);
        check_agent_started(&ck, 0, 100, &a);
        bad += st_result(&tc3, &ck, verbose, 0);

        struct st_case tc4 = {"one epoch names both nodes primary", CK_I5_EPOCH};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        struct coordinator c;
        struct coordinator_settings cs;
        memset(&cs, 0, sizeof cs);
        coordinator_init(&c, &cs, 3, 0);
        struct coordinator_actions co;
        memset(&co, 0, sizeof co);
        co.count = 2;
        for (int i = 0; i < 2; i++) {
            co.items[i].type = COORD_ACT_SEND;
            co.items[i].msg.type = WIRE_SET_ROLE;
            co.items[i].msg.u.set_role.epoch = 3;
            co.items[i].msg.u.set_role.mode = MODEL_MODE_PRIMARY;
        }
        int8_t to[COORD_MAX_ACTIONS] = {0, 1};
        struct coordinator_event cev = {.type = COORD_EV_TICK};
        struct sim_coord_step cstep = {100, &cev, 3, 3, &c, &co, to, 0, 0, 0, 0, 0};
        base_view(&v, 100);
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc4, &ck, verbose, 0);

        struct st_case tc5 = {"coordinator sends SET_ROLE epoch 4, persisted 3", CK_I5_EPOCH};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        co.count = 1;
        co.items[0].msg.u.set_role.epoch = 4;
        c.epoch = 4;
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc5, &ck, verbose, 0);
    }
    { /* I5: acting on an old SET_ROLE */
        struct st_case tc = {"agent at epoch 5 obeys SET_ROLE primary epoch 3", CK_I5_STALE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        ck.fresh[0] = 0;
        ck.first_cmd_seen[0] = 1;
        agent_init(&a, &as, 5, 0);
        a.mode = MODEL_MODE_PRIMARY;
        a.port_desired = MODEL_PORT_ENABLED;
        memset(&m, 0, sizeof m);
        m.type = WIRE_SET_ROLE;
        m.u.set_role.epoch = 3;
        m.u.set_role.mode = MODEL_MODE_PRIMARY;
        ev = (struct agent_event){.type = AGENT_EV_MESSAGE, .msg = &m};
        out.count = 1;
        memset(out.items, 0, sizeof out.items[0]);
        out.items[0].type = AGENT_ACT_NLB_SET;
        out.items[0].port = MODEL_PORT_ENABLED;
        struct sim_agent_step s = {0, 100, &ev, MODEL_MODE_BACKUP, 5, MODEL_PORT_DISABLED,
                                   &a, &out, 0};
        check_agent_step(&ck, &s);
        bad += st_result(&tc, &ck, verbose, 0);
    }
    { /* I5: a primary out of contact keeps serving */
        struct st_case tc = {"primary ticks with no contact for 1.8 s", CK_I5_FENCE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        agent_init(&a, &as, 1, 0);
        a.mode = MODEL_MODE_PRIMARY;
        a.port_desired = MODEL_PORT_ENABLED;
        out.count = 0;
        ev = (struct agent_event){.type = AGENT_EV_TICK};
        struct sim_agent_step s = {0, 2800, &ev, MODEL_MODE_PRIMARY, 1, MODEL_PORT_ENABLED, &a,
                                   &out, 1000};
        check_agent_step(&ck, &s);
        bad += st_result(&tc, &ck, verbose, 0);
        struct st_case ctl = {"control: the same, 1.6 s", CK_I5_FENCE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        s.now = 2600;
        check_agent_step(&ck, &s);
        bad += st_result(&ctl, &ck, verbose, 1);
    }
    { /* I6 */
        struct st_case tc = {"first command after start is a query", CK_I6};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        agent_init(&a, &as, 0, 0);
        check_agent_started(&ck, 0, 0, &a);
        out.count = 1;
        memset(out.items, 0, sizeof out.items[0]);
        out.items[0].type = AGENT_ACT_NLB_QUERY;
        ev = (struct agent_event){.type = AGENT_EV_TICK};
        struct sim_agent_step s = {0, 100, &ev, MODEL_MODE_BACKUP, 0, MODEL_PORT_DISABLED,
                                   &a, &out, 0};
        check_agent_step(&ck, &s);
        bad += st_result(&tc, &ck, verbose, 0);

        struct st_case tc2 = {"primary without any SET_ROLE primary since start", CK_I6};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        agent_init(&a, &as, 0, 0);
        check_agent_started(&ck, 0, 0, &a);
        ck.first_cmd_seen[0] = 1;
        a.mode = MODEL_MODE_PRIMARY;
        out.count = 0;
        struct sim_agent_step s2 = {0, 100, &ev, MODEL_MODE_BACKUP, 0, MODEL_PORT_DISABLED, &a,
                                    &out, 0};
        check_agent_step(&ck, &s2);
        bad += st_result(&tc2, &ck, verbose, 0);
    }
    { /* action bound */
        struct st_case tc = {"a step with AGENT_MAX_ACTIONS actions", CK_ACTIONS};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        agent_init(&a, &as, 0, 0);
        out.count = AGENT_MAX_ACTIONS;
        memset(out.items, 0, sizeof out.items);
        for (unsigned i = 0; i < out.count; i++) {
            out.items[i].type = AGENT_ACT_LOG;
            out.items[i].event = MODEL_EV_DRIFT; /* only the bound is wrong */
        }
        ev = (struct agent_event){.type = AGENT_EV_TICK};
        struct sim_agent_step s = {0, 100, &ev, MODEL_MODE_BACKUP, 0, MODEL_PORT_DISABLED,
                                   &a, &out, 0};
        check_agent_step(&ck, &s);
        bad += st_result(&tc, &ck, verbose, 0);
    }
    { /* every log line names its kind of event */
        struct st_case tc = {"a log line without an event kind", CK_ACTIONS};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        agent_init(&a, &as, 0, 0);
        out.count = 1;
        memset(out.items, 0, sizeof out.items);
        out.items[0].type = AGENT_ACT_LOG;
        snprintf(out.items[0].text, sizeof out.items[0].text, "a line");
        ev = (struct agent_event){.type = AGENT_EV_TICK};
        struct sim_agent_step s = {0, 100, &ev, MODEL_MODE_BACKUP, 0, MODEL_PORT_DISABLED,
                                   &a, &out, 0};
        check_agent_step(&ck, &s);
        bad += st_result(&tc, &ck, verbose, 0);
    }
    { /* switchover replies */
        struct coordinator c;
        struct coordinator_settings cs;
        memset(&cs, 0, sizeof cs);
        coordinator_init(&c, &cs, 0, 0);
        struct coordinator_actions co;
        memset(&co, 0, sizeof co);
        co.count = 1;
        co.items[0].type = COORD_ACT_REPLY;
        co.items[0].token = 9;
        struct coordinator_event cev = {.type = COORD_EV_TICK};
        struct sim_coord_step cstep = {100, &cev, 0, 0, &c, &co, NULL, 0, 0, 0, 0, 0};
        base_view(&v, 100);

        struct st_case tc = {"a reply for a request never made", CK_SWITCHOVER};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc, &ck, verbose, 0);

        struct st_case tc2 = {"a request that is answered twice", CK_SWITCHOVER};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        check_switchover_request(&ck, 50, 9, -1, 0, 0);
        co.items[0].code = MODEL_ERR_NO_BACKUP;
        check_coord_step(&ck, &cstep, &v);
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc2, &ck, verbose, 0);

        struct st_case tc3 = {"a request that is never answered", CK_SWITCHOVER};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        check_switchover_request(&ck, 50, 9, -1, 1000, 0);
        for (uint64_t t = 100; t < 2000; t += 100) {
            base_view(&v, t);
            check_world(&ck, &v);
        }
        bad += st_result(&tc3, &ck, verbose, 0);

        struct st_case tc4 = {"an OK reply naming the wrong primary", CK_SWITCHOVER};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        check_switchover_request(&ck, 50, 9, 1, 0, 0);
        co.items[0].code = MODEL_OK;
        c.primary = 0;
        check_coord_step(&ck, &cstep, &v);
        bad += st_result(&tc4, &ck, verbose, 0);
    }
    { /* one NLB command at a time */
        struct st_case tc = {"a second command while one runs", CK_NLB_ONE};
        check_init(&ck, &cfg, SIM_CHECK_ALL);
        check_nlb_busy(&ck, 1, 100, AGENT_ACT_NLB_QUERY, AGENT_ACT_NLB_SET);
        bad += st_result(&tc, &ck, verbose, 0);
    }
    return bad;
}
