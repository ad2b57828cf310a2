/* coordinator.c - the coordinator's state machine. See coordinator.h. */
#include "coordinator.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- actions --------------------------------------------------------------- */

static struct coordinator_action *push(struct coordinator_actions *out, uint8_t type)
{
    if (out->count >= COORD_MAX_ACTIONS)
        return NULL; /* never reached: the unit tests bound every step */
    struct coordinator_action *act = &out->items[out->count++];
    memset(act, 0, sizeof *act);
    act->type = type;
    return act;
}

static void logf_(struct coordinator_actions *out, uint8_t level, uint8_t event,
                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void logf_(struct coordinator_actions *out, uint8_t level, uint8_t event,
                  const char *fmt, ...)
{
    struct coordinator_action *act = push(out, COORD_ACT_LOG);
    if (!act)
        return;
    act->level = level;
    act->event = event;
    va_list ap;
    va_start(ap, fmt);
    utf8_vformat(act->text, sizeof act->text, fmt, ap);
    va_end(ap);
}

static void close_conn(struct coordinator_actions *out, uint32_t conn, const char *why)
{
    struct coordinator_action *act = push(out, COORD_ACT_CLOSE);
    if (!act)
        return;
    act->conn = conn;
    utf8_copy(act->text, sizeof act->text, why);
}

static void send_role(struct coordinator *c, int idx, uint8_t mode, uint64_t now,
                      struct coordinator_actions *out)
{
    const struct coordinator_node *n = &c->nodes[idx];
    if (!n->connected)
        return;
    /* A primary order answers a report of this link (its echo, below): with
     * none yet, the order waits for the first, which is sent right after
     * HELLO and brings it out again (repeat_order, enforce_roles). */
    if (mode == MODEL_MODE_PRIMARY && !n->have_report)
        return;
    struct coordinator_action *act = push(out, COORD_ACT_SEND);
    if (!act)
        return;
    act->conn = c->nodes[idx].conn;
    if (mode == MODEL_MODE_PRIMARY) {
        c->nodes[idx].primary_order_at = now;
        /* The agent obeys it only before loss_ms after it sent the report
         * the order answers, so before loss_ms after we received that. */
        uint64_t until = n->report_at + c->set.loss_ms;
        if (until > c->nodes[idx].primary_order_until)
            c->nodes[idx].primary_order_until = until;
    }
    act->msg.type = WIRE_SET_ROLE;
    act->msg.u.set_role.epoch = c->epoch;
    act->msg.u.set_role.mode = mode;
    /* The agent takes a primary order only while it is young enough (see
     * on_set_role in agent.c): the newest report's own timestamp, back (the
     * last received, not the largest: a rebooted host's clock starts again). */
    act->msg.u.set_role.echo = n->have_report ? n->report.sent_at : 0;
    act->msg.u.set_role.loss_ms = c->set.loss_ms;
    /* Only a planned transfer drains the old primary; a failure, never. */
    act->msg.u.set_role.drain = mode == MODEL_MODE_BACKUP && c->drain && idx == c->from &&
                                (c->phase == MODEL_PHASE_DEMOTING ||
                                 c->phase == MODEL_PHASE_STABLE);
}

static void send_heartbeat(struct coordinator *c, int idx, uint64_t now,
                           struct coordinator_actions *out)
{
    struct coordinator_action *act = push(out, COORD_ACT_SEND);
    if (!act)
        return;
    act->conn = c->nodes[idx].conn;
    act->msg.type = WIRE_HEARTBEAT;
    act->msg.u.heartbeat.epoch = c->epoch;
    uint64_t silent = now - c->nodes[idx].last_heard_at;
    act->msg.u.heartbeat.silent_ms = silent >= WIRE_SILENT_NEVER ? WIRE_SILENT_NEVER - 1
                                                                 : (uint32_t)silent;
    c->nodes[idx].next_heartbeat_at = now + c->set.heartbeat_ms;
}

static void reply(struct coordinator *c, int32_t code, const char *text,
                  struct coordinator_actions *out)
{
    if (!c->request_pending)
        return;
    struct coordinator_action *act = push(out, COORD_ACT_REPLY);
    if (act) {
        act->token = c->request_token;
        act->code = code;
        utf8_copy(act->text, sizeof act->text, text);
    }
    c->request_pending = 0;
}

static void new_epoch(struct coordinator *c, struct coordinator_actions *out)
{
    c->epoch++;
    struct coordinator_action *act = push(out, COORD_ACT_PERSIST_EPOCH);
    if (act)
        act->epoch = c->epoch;
}

/* ---- phases ---------------------------------------------------------------- */

/* The phase table: a move not listed here is a bug, logged and refused. */
static const struct {
    uint8_t from;
    uint8_t to;
} phase_table[] = {
    {MODEL_PHASE_ELECTING, MODEL_PHASE_DEMOTING},  {MODEL_PHASE_ELECTING, MODEL_PHASE_PROMOTING},
    {MODEL_PHASE_ELECTING, MODEL_PHASE_STABLE},    /* adopting a primary found running */
    {MODEL_PHASE_STABLE, MODEL_PHASE_DEMOTING},    {MODEL_PHASE_DEMOTING, MODEL_PHASE_PROMOTING},
    {MODEL_PHASE_STABLE, MODEL_PHASE_PROMOTING},   /* failover from a lost, fenced primary */
    {MODEL_PHASE_DEMOTING, MODEL_PHASE_ELECTING},  /* election's demote timed out */
    {MODEL_PHASE_PROMOTING, MODEL_PHASE_STABLE},
};

static void enter(struct coordinator *c, uint8_t to, const char *why, uint64_t now,
                  struct coordinator_actions *out)
{
    int allowed = 0;
    for (size_t i = 0; i < sizeof phase_table / sizeof phase_table[0]; i++)
        if (phase_table[i].from == c->phase && phase_table[i].to == to)
            allowed = 1;
    if (!allowed) {
        logf_(out, COORD_LOG_ERROR, MODEL_EV_INTERNAL, "internal: phase %s -> %s is not allowed",
              model_phase_name(c->phase), model_phase_name(to));
        return;
    }
    logf_(out, COORD_LOG_INFO, MODEL_EV_PHASE_CHANGE, "%s -> %s because %s (epoch %llu)", model_phase_name(c->phase),
          model_phase_name(to), why, (unsigned long long)c->epoch);
    snprintf(c->last_reason, sizeof c->last_reason, "%s -> %s because %s",
             model_phase_name(c->phase), model_phase_name(to), why);
    model_history_add(&c->history, now, c->last_reason);
    c->last_reason_at = now;
    c->phase = to;
}

/* Disabled, or draining (it takes no new connections: they go to the new
 * primary, while its own finish; it disables at the end of the drain), or
 * its NLB host out of the cluster (W4: NLB ignores the disable, but the
 * host gets no VIP traffic; the agent disables the rule when it returns). */
/* A stopping agent's read-back of its disable is final at any epoch: it
 * takes no more orders and starts safe next time. */
static int confirmed_disabled(const struct coordinator_node *n, uint64_t epoch)
{
    return n->connected && n->have_report && n->report.mode == MODEL_MODE_BACKUP &&
           model_port_not_serving(n->report.port_actual) &&
           (n->report.epoch == epoch || n->report.stopping);
}

static int confirmed_enabled(const struct coordinator_node *n, uint64_t epoch)
{
    return n->connected && n->have_report && n->report.mode == MODEL_MODE_PRIMARY &&
           n->report.port_actual == MODEL_PORT_ENABLED && n->report.epoch == epoch;
}

/* A node whose NLB host is out of the cluster could enable nothing that
 * receives traffic. */
static int eligible(const struct coordinator_node *n)
{
    return n->connected && n->have_report && n->report.app_healthy &&
           n->report.port_actual != MODEL_PORT_DISCONNECTED && n->probe != MODEL_PROBE_DOWN;
}

static const char *why_not_eligible(const struct coordinator_node *n)
{
    if (!n->connected || !n->have_report)
        return "it is not connected";
    if (!n->report.app_healthy)
        return "its application is not healthy";
    if (n->probe == MODEL_PROBE_DOWN)
        return "it does not answer SIP probes";
    return "its NLB host is out of the cluster";
}

static void promote(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    char why[96];
    snprintf(why, sizeof why, "%s may now enable its port", c->set.node[c->to]);
    enter(c, MODEL_PHASE_PROMOTING, why, now, out);
    send_role(c, c->to, MODEL_MODE_PRIMARY, now, out);
}

/* Starts moving the primary role from `from` (may be COORD_NO_NODE's peer
 * in an election) to `to`, under a new epoch, break before make. */
static void begin_transfer(struct coordinator *c, int from, int to, uint8_t drain,
                           uint32_t limit_ms, const char *why, uint64_t now,
                           struct coordinator_actions *out)
{
    c->drain = drain;
    new_epoch(c, out);
    c->from = from;
    c->to = to;
    c->deadline = now + limit_ms;
    const struct coordinator_node *old = &c->nodes[from];
    /* From a stable pair, the old primary must confirm its disable at the
     * new epoch even if its last report said disabled: a SET_ROLE primary we
     * sent it may still be on its way. While electing we have sent no one
     * primary, so a node reporting backup with its port disabled is already
     * safe; one that is not connected starts safe (a switchover from an
     * unreachable primary is refused before it gets here). */
    int already_off = old->have_report && old->report.mode == MODEL_MODE_BACKUP &&
                      old->report.port_actual == MODEL_PORT_DISABLED;
    int need_wait = old->connected && !(already_off && (c->phase == MODEL_PHASE_ELECTING ||
                                                        old->report.stopping));
    send_role(c, from, MODEL_MODE_BACKUP, now, out);
    if (need_wait) {
        char text[96];
        snprintf(text, sizeof text, "%s: %s must disable its port first", why,
                 c->set.node[from]);
        enter(c, MODEL_PHASE_DEMOTING, text, now, out);
    } else {
        logf_(out, COORD_LOG_INFO, MODEL_EV_STEPPED_DOWN, "%s: %s is %s, its port disabled", why, c->set.node[from],
              old->connected ? "backup" : "not connected and starts");
        promote(c, now, out);
    }
}

/* The backup's word on x: its last report said it had not heard x for
 * peer_silent_ms. Returns 1 and the window [*from, *to] (our clock) in which
 * that report proves x heard nothing from it, widened nowhere: the report
 * left the backup at most max_delay_ms before it reached us. */
static int peer_silence_window(const struct coordinator *c, int x, uint64_t *from, uint64_t *to)
{
    const struct coordinator_node *b = &c->nodes[1 - x];
    if (!b->connected || !b->have_report)
        return 0;
    uint64_t got = b->last_heard_at;
    uint64_t silent = b->report.peer_silent_ms;
    *from = got > silent ? got - silent : 0;
    *to = got > c->set.max_delay_ms ? got - c->set.max_delay_ms : 0;
    return 1;
}

int coordinator_not_serving(const struct coordinator *c, int x, uint64_t now)
{
    const struct coordinator_node *n = &c->nodes[x];
    const struct coordinator_node *b = &c->nodes[1 - x];
    if (n->connected)
        return n->have_report && n->report.mode == MODEL_MODE_BACKUP &&
               model_port_not_serving(n->report.port_actual);
    uint64_t from = 0, to = 0;
    int have_peer_view = peer_silence_window(c, x, &from, &to);
    int no_peer_link = have_peer_view && b->report.peer_silent_ms == WIRE_SILENT_NEVER;
    /* Its peer hears it and says it is backup with its port disabled; that
     * counts only if the peer saw it after any order to be primary could
     * have reached it (a report is a snapshot, and may predate the order). */
    /* The backup's sighting is from `from` at the latest, and may be up to
     * two message delays older (its report of x, then its report to us); an
     * order reaches x up to one delay after we sent it. */
    uint64_t last_primary = n->primary_order_at > n->serving_seen_at ? n->primary_order_at
                                                                       : n->serving_seen_at;
    /* An order can also take far longer than max_delay_ms (TCP retransmits
     * across a cut link): the agent refuses it once it is older than its
     * echo allows (see on_set_role in agent.c), so until then it counts as
     * just sent. */
    if (n->primary_order_until > last_primary)
        last_primary = n->primary_order_until;
    if (have_peer_view && !no_peer_link && b->report.peer_silent_ms < c->set.loss_ms &&
        b->report.peer_mode == MODEL_MODE_BACKUP && b->report.peer_port == MODEL_PORT_DISABLED &&
        from > last_primary + 3ull * c->set.max_delay_ms)
        return 1;
    /* Fenced: there was a stretch of loss_ms in which neither we nor its
     * peer heard it (by the timing rule it disabled its port in there). Our
     * silence runs from when we last heard it; the peer's, from its report. */
    uint64_t since = n->heard ? n->last_heard_at : c->started_at;
    if (no_peer_link)
        return now - since >= c->set.loss_ms;
    if (!have_peer_view)
        return 0;
    uint64_t start = since > from ? since : from;
    uint64_t end = now < to ? now : to;
    return end > start && end - start >= c->set.loss_ms;
}

static void try_elect(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    int both_known = c->nodes[0].have_report && c->nodes[1].have_report &&
                     c->nodes[0].connected && c->nodes[1].connected;
    if (now < c->elect_at && (!both_known || c->elect_hold))
        return;
    c->elect_hold = 0;
    int pref = c->set.preferred;
    int other = 1 - pref;
    int chosen = eligible(&c->nodes[pref]) ? pref : eligible(&c->nodes[other]) ? other : -1;
    if (chosen < 0)
        return;
    /* An absent other node may be a primary that lost only us: elect only
     * once it is known not to serve. */
    if (!c->nodes[1 - chosen].connected && !coordinator_not_serving(c, 1 - chosen, now))
        return;
    char why[96];
    snprintf(why, sizeof why, "election: %s is the %s node with a healthy application",
             c->set.node[chosen], chosen == pref ? "preferred" : "only");
    begin_transfer(c, 1 - chosen, chosen, 0, c->set.switchover_timeout_ms, why, now, out);
}

/* In a stable pair every node must hold the role the coordinator gave it;
 * anyone who says otherwise (a restarted agent, a stale primary) is told. */
static void enforce_roles(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    for (int i = 0; i < 2; i++) {
        const struct coordinator_node *n = &c->nodes[i];
        if (!n->connected || !n->have_report)
            continue;
        uint8_t want = i == c->primary ? MODEL_MODE_PRIMARY : MODEL_MODE_BACKUP;
        /* A node whose application is down would refuse; check_primary
         * decides what happens to such a primary. */
        if (want == MODEL_MODE_PRIMARY && !n->report.app_healthy)
            continue;
        if (n->report.mode != want || n->report.epoch < c->epoch) {
            logf_(out, COORD_LOG_WARNING, MODEL_EV_ROLE_CORRECTED, "%s reports %s at epoch %llu; telling it: %s",
                  c->set.node[i], model_mode_name(n->report.mode),
                  (unsigned long long)n->report.epoch, model_mode_name(want));
            send_role(c, i, want, now, out);
        }
    }
}

static void fail_over(struct coordinator *c, const char *why, uint64_t now,
                      struct coordinator_actions *out)
{
    int p = c->primary, o = 1 - p;
    if (!eligible(&c->nodes[o])) {
        if (!c->stuck_logged)
            logf_(out, COORD_LOG_ERROR, MODEL_EV_FAILOVER_BLOCKED,
                  "%s, but %s cannot take over (%s)", why, c->set.node[o],
                  why_not_eligible(&c->nodes[o]));
        c->stuck_logged = 1;
        return;
    }
    c->stuck_logged = 0;
    logf_(out, COORD_LOG_WARNING, MODEL_EV_FAILOVER, "%s: failing over to %s", why, c->set.node[o]);
    begin_transfer(c, p, o, 0, c->set.switchover_timeout_ms, why, now, out);
}

/* W2 and W3: is the primary still fit to serve? */
static void check_primary(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    int p = c->primary;
    if (p == COORD_NO_NODE)
        return;
    const struct coordinator_node *n = &c->nodes[p];
    char why[128];
    if (n->connected && n->have_report && n->report.stopping) {
        snprintf(why, sizeof why, "the agent on %s (primary) is stopping", c->set.node[p]);
        fail_over(c, why, now, out);
    } else if (n->connected && n->have_report && !n->report.app_healthy) {
        snprintf(why, sizeof why, "the application on %s (primary) failed", c->set.node[p]);
        fail_over(c, why, now, out);
    } else if (n->connected && n->have_report &&
               n->report.port_actual == MODEL_PORT_DISCONNECTED && n->disconnected_since &&
               now - n->disconnected_since >= c->set.disconnect_confirm_ms) {
        /* Not at the first report: the host may be back already, and its
         * agent's next command (within this window) would say so. */
        snprintf(why, sizeof why,
                 "the NLB host on %s (primary) is out of the cluster (network cable unplugged, "
                 "or NLB stopped)",
                 c->set.node[p]);
        fail_over(c, why, now, out);
    } else if (n->connected && n->probe == MODEL_PROBE_DOWN) {
        snprintf(why, sizeof why, "%s (primary) does not answer SIP probes on its own address",
                 c->set.node[p]);
        fail_over(c, why, now, out);
    } else if (!n->connected && coordinator_not_serving(c, p, now)) {
        snprintf(why, sizeof why, "%s (primary) is lost and no longer serving", c->set.node[p]);
        fail_over(c, why, now, out);
    } else {
        c->stuck_logged = 0;
    }
}

/* Opt-in failback: the preferred node, eligible for preempt_delay_ms,
 * takes the role back through an ordinary switchover. */
static void check_preempt(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    int pref = c->set.preferred;
    if (!c->set.preempt || c->phase != MODEL_PHASE_STABLE || c->primary == pref ||
        c->request_pending || !eligible(&c->nodes[pref]) ||
        (c->primary != COORD_NO_NODE && !c->nodes[c->primary].connected)) {
        c->preferred_ready_since = 0;
        return;
    }
    if (c->preferred_ready_since == 0)
        c->preferred_ready_since = now;
    if (now - c->preferred_ready_since < c->set.preempt_delay_ms)
        return;
    c->preferred_ready_since = 0;
    char why[128];
    snprintf(why, sizeof why, "preempt: preferred node %s has been healthy for %u ms",
             c->set.node[pref], (unsigned)c->set.preempt_delay_ms);
    begin_transfer(c, c->primary, pref, 1, c->set.switchover_timeout_ms, why, now, out);
}

/* During a transfer, an order lost on a dead connection is sent again
 * when the node reports an older epoch, and anyone but the new primary who
 * claims to be primary is told to step down. */
static void repeat_order(struct coordinator *c, int i, uint64_t now,
                         struct coordinator_actions *out)
{
    const struct coordinator_node *n = &c->nodes[i];
    if (!n->connected || !n->have_report)
        return;
    uint8_t want = i == c->to && c->phase == MODEL_PHASE_PROMOTING ? MODEL_MODE_PRIMARY
                                                                    : MODEL_MODE_BACKUP;
    if (want == MODEL_MODE_PRIMARY && !n->report.app_healthy)
        return; /* it would refuse; the deadline decides */
    if (n->report.epoch < c->epoch || n->report.mode != want)
        send_role(c, i, want, now, out);
}

static void progress(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    switch (c->phase) {
    case MODEL_PHASE_ELECTING:
        try_elect(c, now, out);
        break;
    case MODEL_PHASE_DEMOTING:
        if (confirmed_disabled(&c->nodes[c->from], c->epoch) ||
            (!c->nodes[c->from].connected && coordinator_not_serving(c, c->from, now)))
            promote(c, now, out);
        break;
    case MODEL_PHASE_STABLE:
        check_primary(c, now, out);
        break;
    case MODEL_PHASE_PROMOTING:
        if (confirmed_enabled(&c->nodes[c->to], c->epoch)) {
            c->primary = c->to;
            char why[96];
            snprintf(why, sizeof why, "%s confirmed its port enabled", c->set.node[c->to]);
            enter(c, MODEL_PHASE_STABLE, why, now, out);
            char text[160];
            snprintf(text, sizeof text, "%s is primary (epoch %llu)", c->set.node[c->to],
                     (unsigned long long)c->epoch);
            reply(c, MODEL_OK, text, out);
        }
        break;
    default:
        break;
    }
}

static void check_deadline(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    if ((c->phase != MODEL_PHASE_DEMOTING && c->phase != MODEL_PHASE_PROMOTING) ||
        now < c->deadline)
        return;
    char text[200];
    if (c->phase == MODEL_PHASE_DEMOTING) {
        snprintf(text, sizeof text,
                 "%s did not confirm its port disabled in time; %s was not promoted",
                 c->set.node[c->from], c->set.node[c->to]);
        logf_(out, COORD_LOG_ERROR, MODEL_EV_SWITCHOVER_TIMEOUT, "%s", text);
        reply(c, MODEL_ERR_TIMEOUT, text, out);
        if (c->primary != COORD_NO_NODE && eligible(&c->nodes[c->primary])) {
            /* A failed switchover leaves the old primary serving: give the
             * role back to it under a fresh epoch (the new node never got it). */
            int back = c->primary;
            c->primary = COORD_NO_NODE;
            enter(c, MODEL_PHASE_ELECTING, "the switchover was abandoned", now, out);
            begin_transfer(c, 1 - back, back, 0, c->set.switchover_timeout_ms,
                           "switchover abandoned", now, out);
        } else {
            /* An election, or a failover away from a node that cannot serve
             * any more: start over and elect whoever can. */
            c->primary = COORD_NO_NODE;
            enter(c, MODEL_PHASE_ELECTING, "transfer abandoned", now, out);
            /* Pause a heartbeat before the next try, even with both nodes
             * present, so a stuck node is not hammered with new epochs. */
            c->elect_at = now + c->set.heartbeat_ms;
            c->elect_hold = 1;
        }
        return;
    }
    snprintf(text, sizeof text,
             "%s has not confirmed its port enabled in time; it remains primary and keeps "
             "retrying", c->set.node[c->to]);
    logf_(out, COORD_LOG_ERROR, MODEL_EV_SWITCHOVER_TIMEOUT, "%s", text);
    reply(c, MODEL_ERR_TIMEOUT, text, out);
    c->primary = c->to;
    enter(c, MODEL_PHASE_STABLE, "promotion timed out", now, out);
}

/* ---- events ---------------------------------------------------------------- */

static int node_of_conn(const struct coordinator *c, uint32_t conn)
{
    for (int i = 0; i < 2; i++)
        if (c->nodes[i].connected && c->nodes[i].conn == conn)
            return i;
    return COORD_NO_NODE;
}

static void on_hello(struct coordinator *c, uint32_t conn, const struct wire_hello *h,
                     uint64_t now, struct coordinator_actions *out)
{
    char why[COORD_TEXT_MAX];
    if (strcmp(h->pair, c->set.pair) != 0) {
        snprintf(why, sizeof why, "agent %s belongs to pair '%s'; this coordinator manages '%s'",
                 h->node, h->pair, c->set.pair);
        logf_(out, COORD_LOG_ERROR, MODEL_EV_NODE_REFUSED, "%s", why);
        close_conn(out, conn, why);
        return;
    }
    int idx = coordinator_node_index(c, h->node);
    if (idx == COORD_NO_NODE) {
        snprintf(why, sizeof why, "node '%s' is not a node of pair '%s' (expected %s or %s)",
                 h->node, c->set.pair, c->set.node[0], c->set.node[1]);
        logf_(out, COORD_LOG_ERROR, MODEL_EV_NODE_REFUSED, "%s", why);
        close_conn(out, conn, why);
        return;
    }
    int bound = node_of_conn(c, conn);
    if (bound != COORD_NO_NODE && bound != idx) {
        /* A link cannot change which node it speaks for. */
        snprintf(why, sizeof why, "a link of %s said HELLO as %s", c->set.node[bound], h->node);
        logf_(out, COORD_LOG_ERROR, MODEL_EV_NODE_REFUSED, "%s; closing it", why);
        c->nodes[bound].connected = 0;
        close_conn(out, conn, why);
        return;
    }
    struct coordinator_node *n = &c->nodes[idx];
    if (n->connected && n->conn != conn) {
        logf_(out, COORD_LOG_WARNING, MODEL_EV_NODE_UP, "%s connected again; dropping its older link", h->node);
        close_conn(out, n->conn, "replaced by a newer connection from the same node");
    }
    n->connected = 1;
    n->conn = conn;
    n->have_report = 0;
    if (idx == c->set.preferred)
        c->preferred_ready_since = 0; /* eligible again only from its next report */
    n->heard = 1;
    n->last_heard_at = now;
    logf_(out, COORD_LOG_INFO, MODEL_EV_NODE_UP, "%s connected", h->node);
    send_heartbeat(c, idx, now, out);
}

static void on_report(struct coordinator *c, int idx, const struct wire_report *r, uint64_t now,
                      struct coordinator_actions *out)
{
    struct coordinator_node *n = &c->nodes[idx];
    n->report = *r;
    n->report_at = now;
    n->have_report = 1;
    /* A read-back of "out of the cluster" is only as fresh as the agent's
     * last NLB command; UNKNOWN (a command running) continues a run. */
    if (r->port_actual == MODEL_PORT_DISCONNECTED) {
        if (!n->disconnected_since)
            n->disconnected_since = now;
    } else if (r->port_actual != MODEL_PORT_UNKNOWN) {
        n->disconnected_since = 0;
    }
    if (r->mode == MODEL_MODE_PRIMARY || r->port_actual != MODEL_PORT_DISABLED)
        n->serving_seen_at = now; /* a later sighting of it disabled must beat this */
    if (idx == c->set.preferred && !r->app_healthy)
        c->preferred_ready_since = 0; /* a flap between ticks restarts the preempt delay */
    if (r->epoch > c->epoch) {
        /* A node saw a later decision than we remember (we lost our state
         * file, or restarted from a backup): never go back below it. */
        logf_(out, COORD_LOG_WARNING, MODEL_EV_EPOCH_ADOPTED, "%s holds epoch %llu, above ours (%llu); adopting it",
              c->set.node[idx], (unsigned long long)r->epoch, (unsigned long long)c->epoch);
        c->epoch = r->epoch;
        struct coordinator_action *act = push(out, COORD_ACT_PERSIST_EPOCH);
        if (act)
            act->epoch = c->epoch;
    }
    if (c->phase == MODEL_PHASE_ELECTING && confirmed_enabled(n, c->epoch)) {
        /* We restarted while the pair was serving: keep its primary. */
        c->primary = idx;
        char why[96];
        snprintf(why, sizeof why, "%s is already serving as primary", c->set.node[idx]);
        enter(c, MODEL_PHASE_STABLE, why, now, out);
    }
    uint8_t phase = c->phase;
    progress(c, now, out);
    if (c->phase == MODEL_PHASE_STABLE)
        enforce_roles(c, now, out);
    else if (c->phase == phase && (phase == MODEL_PHASE_DEMOTING || phase == MODEL_PHASE_PROMOTING))
        repeat_order(c, idx, now, out);
}

static void on_message(struct coordinator *c, const struct coordinator_event *ev, uint64_t now,
                       struct coordinator_actions *out)
{
    const struct wire_msg *m = ev->msg;
    if (m->type == WIRE_HELLO) {
        on_hello(c, ev->conn, &m->u.hello, now, out);
        return;
    }
    int idx = node_of_conn(c, ev->conn);
    if (idx == COORD_NO_NODE) {
        logf_(out, COORD_LOG_WARNING, MODEL_EV_PROTOCOL, "connection %u sent %s before HELLO", ev->conn,
              wire_type_name(m->type));
        close_conn(out, ev->conn, "a link must start with HELLO");
        return;
    }
    /* Only a REPORT (or a HELLO, above) proves the agent alive as an agent:
     * anything else on its link must not postpone its loss. */
    if (m->type == WIRE_REPORT) {
        c->nodes[idx].last_heard_at = now;
        on_report(c, idx, &m->u.report, now, out);
    } else
        logf_(out, COORD_LOG_WARNING, MODEL_EV_PROTOCOL, "ignored unexpected %s from %s", wire_type_name(m->type),
              c->set.node[idx]);
}

static void on_disconnect(struct coordinator *c, uint32_t conn, struct coordinator_actions *out)
{
    int idx = node_of_conn(c, conn);
    if (idx == COORD_NO_NODE)
        return;
    c->nodes[idx].connected = 0;
    if (idx == c->set.preferred)
        c->preferred_ready_since = 0; /* a link that drops between ticks restarts it */
    logf_(out, idx == c->primary ? COORD_LOG_WARNING : COORD_LOG_INFO, MODEL_EV_NODE_LOST,
          "lost the link to %s%s", c->set.node[idx], idx == c->primary ? " (primary)" : "");
}

static void on_switchover(struct coordinator *c, const struct coordinator_event *ev,
                          uint64_t now, struct coordinator_actions *out)
{
    struct coordinator_action *act;
    const struct wire_switchover_req *req = &ev->msg->u.switchover_req;
    int32_t code = MODEL_OK;
    char text[COORD_TEXT_MAX] = "";
    int target = COORD_NO_NODE;

    if (c->phase == MODEL_PHASE_ELECTING) {
        code = MODEL_ERR_NO_PRIMARY;
    } else if (c->phase != MODEL_PHASE_STABLE || c->request_pending) {
        code = MODEL_ERR_BUSY;
    } else {
        target = req->target[0] ? coordinator_node_index(c, req->target) : 1 - c->primary;
        if (target == COORD_NO_NODE) {
            code = MODEL_ERR_UNKNOWN_NODE;
            snprintf(text, sizeof text, "'%s' is not a node of pair '%s' (nodes: %s, %s)",
                     req->target, c->set.pair, c->set.node[0], c->set.node[1]);
        } else if (target == c->primary) {
            snprintf(text, sizeof text, "%s is already primary (epoch %llu)",
                     c->set.node[target], (unsigned long long)c->epoch);
        } else if (!c->nodes[c->primary].connected) {
            code = MODEL_ERR_PRIMARY_UNREACHABLE;
            snprintf(text, sizeof text,
                     "%s (primary) is not connected, so its port cannot be confirmed disabled "
                     "before %s is enabled", c->set.node[c->primary], c->set.node[target]);
        } else if (!eligible(&c->nodes[target])) {
            code = MODEL_ERR_NO_BACKUP;
            snprintf(text, sizeof text, "%s cannot take over: %s", c->set.node[target],
                     why_not_eligible(&c->nodes[target]));
        }
    }
    if (code != MODEL_OK || target == c->primary) {
        act = push(out, COORD_ACT_REPLY);
        if (act) {
            act->token = ev->token;
            act->code = code;
            snprintf(act->text, sizeof act->text, "%s",
                     text[0] ? text : model_result_text(code));
        }
        return;
    }
    c->request_pending = 1;
    c->request_token = ev->token;
    char why[96];
    snprintf(why, sizeof why, "switchover requested from %s to %s", c->set.node[c->primary],
             c->set.node[target]);
    begin_transfer(c, c->primary, target, 1,
                   req->timeout_ms ? req->timeout_ms : c->set.switchover_timeout_ms, why, now,
                   out);
}

static void check_losses(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    for (int i = 0; i < 2; i++) {
        struct coordinator_node *n = &c->nodes[i];
        if (!n->connected || now - n->last_heard_at < c->set.loss_ms)
            continue;
        char why[128];
        snprintf(why, sizeof why, "no message from %s for %llu ms", c->set.node[i],
                 (unsigned long long)(now - n->last_heard_at));
        logf_(out, COORD_LOG_WARNING, MODEL_EV_NODE_LOST, "%s: link lost%s", why, i == c->primary ? " (primary)" : "");
        n->connected = 0;
        if (i == c->set.preferred)
            c->preferred_ready_since = 0;
        close_conn(out, n->conn, why);
    }
}

static void on_tick(struct coordinator *c, uint64_t now, struct coordinator_actions *out)
{
    check_losses(c, now, out);
    for (int i = 0; i < 2; i++)
        if (c->nodes[i].connected && now >= c->nodes[i].next_heartbeat_at)
            send_heartbeat(c, i, now, out);
    check_deadline(c, now, out);
    progress(c, now, out);
    check_preempt(c, now, out);
}

/* Active SIP monitoring: a node that stops answering on its own address is
 * treated like one whose application failed (not eligible; a primary is
 * failed over); the agent's own monitoring (passive) is not overruled. */
static void on_probe(struct coordinator *c, const struct coordinator_event *ev, uint64_t now,
                     struct coordinator_actions *out)
{
    if (ev->node > 1)
        return;
    struct coordinator_node *n = &c->nodes[ev->node];
    uint8_t down = ev->probe_down ? 1 : 0;
    uint8_t verdict = down ? MODEL_PROBE_DOWN : MODEL_PROBE_UP;
    if (n->probe == verdict)
        return;
    int was_down = n->probe == MODEL_PROBE_DOWN;
    n->probe = verdict;
    if (!down && !was_down)
        return; /* the first answer: nothing to say */
    logf_(out, down ? COORD_LOG_WARNING : COORD_LOG_INFO, MODEL_EV_SIP_PROBE,
          "SIP monitor: %s %s%s%s",
          c->set.node[ev->node], down ? "stopped answering" : "answers again",
          ev->text && ev->text[0] ? ": " : "", ev->text ? ev->text : "");
    progress(c, now, out);
}

/* The monitor could not be restarted: its verdicts are void. A node held
 * down by it is released (nothing else ever would), and status says "off",
 * not a verdict nobody is giving. */
static void on_probe_off(struct coordinator *c, const struct coordinator_event *ev, uint64_t now,
                         struct coordinator_actions *out)
{
    int changed = 0;
    for (int i = 0; i < 2; i++) {
        changed |= c->nodes[i].probe != MODEL_PROBE_OFF;
        c->nodes[i].probe = MODEL_PROBE_OFF;
    }
    if (!changed)
        return;
    logf_(out, COORD_LOG_WARNING, MODEL_EV_SIP_PROBE,
          "SIP monitor: no verdicts any more%s%s", ev->text && ev->text[0] ? ": " : "",
          ev->text ? ev->text : "");
    progress(c, now, out);
}

void coordinator_init(struct coordinator *c, const struct coordinator_settings *set,
                      uint64_t persisted_epoch, uint64_t now)
{
    memset(c, 0, sizeof *c);
    c->set = *set;
    c->epoch = persisted_epoch;
    c->phase = MODEL_PHASE_ELECTING;
    c->primary = c->from = c->to = COORD_NO_NODE;
    c->elect_at = now + set->election_wait_ms;
    c->started_at = now;
    for (int i = 0; i < 2; i++) {
        c->nodes[i].probe = set->probe_enabled ? MODEL_PROBE_UNKNOWN : MODEL_PROBE_OFF;
        /* A primary order of an earlier run may still be on its way: it was
         * sent before now, answering a report received before now. */
        c->nodes[i].primary_order_until = now + set->loss_ms;
    }
    snprintf(c->last_reason, sizeof c->last_reason, "started; electing");
    model_history_add(&c->history, now, c->last_reason);
    c->last_reason_at = now;
}

void coordinator_set_settings(struct coordinator *c, const struct coordinator_settings *set,
                              uint64_t now)
{
    /* pair, node names and preferred are identity: kept. */
    c->set.heartbeat_ms = set->heartbeat_ms;
    c->set.election_wait_ms = set->election_wait_ms;
    c->set.switchover_timeout_ms = set->switchover_timeout_ms;
    c->set.loss_ms = set->loss_ms;
    c->set.max_delay_ms = set->max_delay_ms;
    if (!set->preempt || set->preempt_delay_ms != c->set.preempt_delay_ms)
        c->preferred_ready_since = 0; /* the delay counts under the new rule */
    c->set.preempt = set->preempt;
    c->set.preempt_delay_ms = set->preempt_delay_ms;
    c->set.disconnect_confirm_ms = set->disconnect_confirm_ms;
    /* Active SIP monitoring switched on or off: no verdict carries over. */
    if (set->probe_enabled != c->set.probe_enabled)
        for (int i = 0; i < 2; i++)
            c->nodes[i].probe = set->probe_enabled ? MODEL_PROBE_UNKNOWN : MODEL_PROBE_OFF;
    c->set.probe_enabled = set->probe_enabled;
    /* A shorter heartbeat takes effect now; a transfer in progress keeps
     * the deadline it was given. */
    for (int i = 0; i < 2; i++)
        if (c->nodes[i].next_heartbeat_at > now + set->heartbeat_ms)
            c->nodes[i].next_heartbeat_at = now + set->heartbeat_ms;
}

void coordinator_step(struct coordinator *c, const struct coordinator_event *ev, uint64_t now,
                      struct coordinator_actions *out)
{
    out->count = 0;
    switch (ev->type) {
    case COORD_EV_START:
        c->elect_at = now + c->set.election_wait_ms;
        c->started_at = now;
        for (int i = 0; i < 2; i++)
            if (c->nodes[i].primary_order_until < now + c->set.loss_ms)
                c->nodes[i].primary_order_until = now + c->set.loss_ms;
        logf_(out, COORD_LOG_INFO, MODEL_EV_COORD_STARTED,
              "coordinator for pair %s (%s, %s; preferred %s) started at epoch %llu",
              c->set.pair, c->set.node[0], c->set.node[1], c->set.node[c->set.preferred],
              (unsigned long long)c->epoch);
        break;
    case COORD_EV_MESSAGE:
        if (ev->msg)
            on_message(c, ev, now, out);
        break;
    case COORD_EV_DISCONNECT:
        on_disconnect(c, ev->conn, out);
        break;
    case COORD_EV_SWITCHOVER:
        if (ev->msg && ev->msg->type == WIRE_SWITCHOVER_REQ)
            on_switchover(c, ev, now, out);
        break;
    case COORD_EV_TICK:
        on_tick(c, now, out);
        break;
    case COORD_EV_PROBE:
        on_probe(c, ev, now, out);
        break;
    case COORD_EV_PROBE_OFF:
        on_probe_off(c, ev, now, out);
        break;
    default:
        logf_(out, COORD_LOG_ERROR, MODEL_EV_INTERNAL, "internal: unknown coordinator event %u", ev->type);
    }
}

int coordinator_node_index(const struct coordinator *c, const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(c->set.node[i], name) == 0)
            return i;
    return COORD_NO_NODE;
}

void coordinator_status(const struct coordinator *c, uint64_t now, struct wire_status_reply *st)
{
    memset(st, 0, sizeof *st);
    st->role = MODEL_ROLE_COORDINATOR;
    utf8_copy(st->pair, sizeof st->pair, c->set.pair);
    if (c->primary != COORD_NO_NODE)
        utf8_copy(st->primary, sizeof st->primary, c->set.node[c->primary]);
    st->epoch = c->epoch;
    st->phase = c->phase;
    utf8_copy(st->last_reason, sizeof st->last_reason, c->last_reason);
    st->last_reason_age_ms = wire_age_ms(now, c->last_reason_at);
    st->node_count = 2;
    for (int i = 0; i < 2; i++) {
        const struct coordinator_node *n = &c->nodes[i];
        struct wire_node_status *s = &st->nodes[i];
        utf8_copy(s->name, sizeof s->name, c->set.node[i]);
        s->connected = n->connected;
        s->mode = n->have_report ? n->report.mode : MODEL_MODE_BACKUP;
        s->app_healthy = n->have_report ? n->report.app_healthy : 0;
        s->port_desired = n->have_report ? n->report.port_desired : MODEL_PORT_UNKNOWN;
        s->port_actual = n->have_report ? n->report.port_actual : MODEL_PORT_UNKNOWN;
        s->epoch = n->have_report ? n->report.epoch : 0;
        s->sip_probe = n->probe;
        if (n->have_report) {
            /* The report's view, aged: a node we no longer hear says nothing new. */
            /* Never heard: peer_silent_ms counts from the agent's start, which
             * says nothing of a link that was never up. */
            s->peer_link = n->connected && n->report.peer_heard &&
                           n->report.peer_silent_ms != WIRE_SILENT_NEVER &&
                           (uint64_t)n->report.peer_silent_ms + (now - n->last_heard_at) <
                               c->set.loss_ms;
            utf8_copy(s->last_change, sizeof s->last_change, n->report.reason);
            s->last_change_age_ms = wire_age_add(n->report.reason_age_ms, now, n->report_at);
        } else {
            s->last_change_age_ms = WIRE_AGE_UNKNOWN;
        }
        uint64_t age = now - n->last_heard_at;
        s->last_heard_ms = !n->heard ? 0xFFFFFFFFu
                           : age > 0xFFFFFFFEu ? 0xFFFFFFFEu
                                               : (uint32_t)age;
    }
}
