/* agent.c - the agent's state machine. See agent.h. */
#include "agent.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- actions --------------------------------------------------------------- */

static struct agent_action *push(struct agent_actions *out, uint8_t type)
{
    /* The step functions never emit more than AGENT_MAX_ACTIONS; the unit
     * tests hold them to that. Dropping rather than overflowing keeps a bug
     * from becoming memory corruption. */
    if (out->count >= AGENT_MAX_ACTIONS)
        return NULL;
    struct agent_action *act = &out->items[out->count++];
    memset(act, 0, sizeof *act);
    act->type = type;
    return act;
}

static void logf_(struct agent_actions *out, uint8_t level, uint8_t event, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void logf_(struct agent_actions *out, uint8_t level, uint8_t event, const char *fmt, ...)
{
    struct agent_action *act = push(out, AGENT_ACT_LOG);
    if (!act)
        return;
    act->level = level;
    act->event = event;
    va_list ap;
    va_start(ap, fmt);
    utf8_vformat(act->text, sizeof act->text, fmt, ap);
    va_end(ap);
}

uint32_t agent_peer_silent_ms(const struct agent *a, uint64_t now)
{
    if (!a->set.has_peer)
        return WIRE_SILENT_NEVER;
    uint64_t since = a->peer_heard ? a->peer_heard_at : a->started_at;
    uint64_t age = now > since ? now - since : 0;
    return age >= WIRE_SILENT_NEVER ? WIRE_SILENT_NEVER - 1 : (uint32_t)age;
}

static void fill_report(const struct agent *a, uint64_t now, struct wire_msg *m)
{
    struct wire_report *r = &m->u.report;
    m->type = WIRE_REPORT;
    r->epoch = a->epoch;
    r->mode = a->mode;
    /* A stopping agent can take no role: say so, and that it is going. */
    r->app_healthy = a->app_healthy && !a->stopping;
    r->stopping = a->stopping;
    r->port_desired = a->port_desired;
    /* While a command runs, the last read-back may already be wrong: say
     * unknown, so nobody takes it for a confirmation. */
    r->port_actual = a->pending == AGENT_NLB_SETTING ? MODEL_PORT_UNKNOWN : a->port_actual;
    /* "Out of the cluster" can end any moment without our doing: while a
     * new read is on its way, an older one is no confirmation of anything. */
    if (a->pending != AGENT_NLB_IDLE && r->port_actual == MODEL_PORT_DISCONNECTED)
        r->port_actual = MODEL_PORT_UNKNOWN;
    r->peer_silent_ms = agent_peer_silent_ms(a, now);
    r->peer_heard = a->peer_heard;
    if (a->peer_heard) {
        r->peer_mode = a->peer.mode;
        r->peer_app_healthy = a->peer.app_healthy;
        r->peer_port = a->peer.port_actual;
        r->peer_epoch = a->peer.epoch;
    }
    utf8_copy(r->reason, sizeof r->reason, a->last_reason);
    r->reason_age_ms = wire_age_ms(now, a->last_transition_at);
    r->sent_at = now; /* echoed in SET_ROLE: see on_set_role */
}

/* While out of the cluster: how often the desired state is commanded again
 * (cheap: NLB answers at once on a disconnected host). */
static uint32_t disconnected_retry_ms(const struct agent *a)
{
    return a->set.heartbeat_ms / 4 > 0 ? a->set.heartbeat_ms / 4 : 1;
}

/* The report is the heartbeat on both links: it goes to whoever is up. */
static void send_report(struct agent *a, uint64_t now, struct agent_actions *out)
{
    static const uint8_t kinds[2] = {AGENT_ACT_SEND, AGENT_ACT_SEND_PEER};
    const uint8_t up[2] = {a->coord_up, a->peer_up};
    for (int i = 0; i < 2; i++) {
        if (!up[i])
            continue;
        struct agent_action *act = push(out, kinds[i]);
        if (act)
            fill_report(a, now, &act->msg);
    }
    a->next_report_at = now + a->set.heartbeat_ms;
}

static void send_hello(const struct agent *a, uint8_t kind, struct agent_actions *out)
{
    struct agent_action *act = push(out, kind);
    if (!act)
        return;
    act->msg.type = WIRE_HELLO;
    utf8_copy(act->msg.u.hello.pair, sizeof act->msg.u.hello.pair, a->set.pair);
    utf8_copy(act->msg.u.hello.node, sizeof act->msg.u.hello.node, a->set.node);
}

static void nlb_set(struct agent *a, uint8_t port, struct agent_actions *out)
{
    struct agent_action *act = push(out, AGENT_ACT_NLB_SET);
    if (!act)
        return;
    act->port = port;
    a->pending = AGENT_NLB_SETTING;
    a->port_commanded = port;
}

static void nlb_query(struct agent *a, struct agent_actions *out)
{
    if (push(out, AGENT_ACT_NLB_QUERY))
        a->pending = AGENT_NLB_QUERYING;
}

static uint64_t sooner(uint64_t at, uint64_t limit)
{
    return at < limit ? at : limit;
}

/* ---- modes ----------------------------------------------------------------- */

enum trigger { T_ROLE_PRIMARY, T_ROLE_BACKUP, T_STOP, T_APP_FAILED, T_ISOLATED };

/* The mode table: anything not listed leaves the mode as it is. */
static const struct {
    uint8_t from;
    uint8_t trigger;
    uint8_t to;
} mode_table[] = {
    {MODEL_MODE_BACKUP, T_ROLE_PRIMARY, MODEL_MODE_PRIMARY},
    {MODEL_MODE_PRIMARY, T_ROLE_BACKUP, MODEL_MODE_BACKUP},
    {MODEL_MODE_PRIMARY, T_STOP, MODEL_MODE_BACKUP},
    {MODEL_MODE_PRIMARY, T_APP_FAILED, MODEL_MODE_BACKUP},
    {MODEL_MODE_PRIMARY, T_ISOLATED, MODEL_MODE_BACKUP},
};

static uint8_t desired_port(uint8_t mode)
{
    return mode == MODEL_MODE_PRIMARY ? MODEL_PORT_ENABLED : MODEL_PORT_DISABLED;
}

/* Applies the table; logs "A -> B because why" and remembers it for status. */
static void fire(struct agent *a, uint8_t trigger, const char *why, uint64_t now,
                 struct agent_actions *out)
{
    for (size_t i = 0; i < sizeof mode_table / sizeof mode_table[0]; i++) {
        if (mode_table[i].from != a->mode || mode_table[i].trigger != trigger)
            continue;
        uint8_t to = mode_table[i].to;
        logf_(out, AGENT_LOG_INFO, MODEL_EV_MODE_CHANGE, "%s -> %s because %s", model_mode_name(a->mode),
              model_mode_name(to), why);
        utf8_format(a->last_reason, sizeof a->last_reason, "%s -> %s because %s",
                 model_mode_name(a->mode), model_mode_name(to), why);
        model_history_add(&a->history, now, a->last_reason);
        a->mode = to;
        a->last_transition_at = now;
        break;
    }
    a->port_desired = desired_port(a->mode);
}

/* Starts an NLB command if the port is not where it should be and none is
 * running. A command already running is left alone: its NLB_DONE calls this
 * again with the newest desire. */
static void reconcile(struct agent *a, struct agent_actions *out)
{
    if (a->pending != AGENT_NLB_IDLE)
        return;
    if (a->port_actual != a->port_desired)
        nlb_set(a, a->port_desired, out);
}

/* ---- events ---------------------------------------------------------------- */

static void on_start(struct agent *a, uint64_t now, struct agent_actions *out)
{
    a->mode = MODEL_MODE_BACKUP;
    a->port_desired = MODEL_PORT_DISABLED;
    snprintf(a->last_reason, sizeof a->last_reason, "safe start as backup, port disabled");
    model_history_add(&a->history, now, a->last_reason);
    a->last_transition_at = now;
    logf_(out, AGENT_LOG_INFO, MODEL_EV_SAFE_START,
          "node %s starting as backup with epoch %llu; disabling its port until the "
          "coordinator says otherwise", a->set.node, (unsigned long long)a->epoch);
    /* Safe start: disable even if the port looks disabled; we do not yet know
     * what NLB really has, and a disable is harmless. */
    nlb_set(a, MODEL_PORT_DISABLED, out);
    a->next_reconcile_at = now + a->set.reconcile_ms;
}

static void on_set_role(struct agent *a, const struct wire_msg *m, uint64_t now,
                        struct agent_actions *out)
{
    const struct wire_set_role *r = &m->u.set_role;
    if (a->stopping)
        return;
    if (r->epoch < a->epoch) {
        logf_(out, AGENT_LOG_WARNING, MODEL_EV_EPOCH_REFUSED,
              "refused SET_ROLE %s with epoch %llu: this node already holds epoch %llu",
              model_mode_name(r->mode), (unsigned long long)r->epoch,
              (unsigned long long)a->epoch);
        send_report(a, now, out); /* tells the sender our epoch */
        return;
    }
    if (r->mode == MODEL_MODE_PRIMARY && !a->app_healthy) {
        logf_(out, AGENT_LOG_WARNING, MODEL_EV_ROLE_REFUSED,
              "refused SET_ROLE primary (epoch %llu): the application is not healthy",
              (unsigned long long)r->epoch);
        send_report(a, now, out);
        return;
    }
    /* Fencing must be able to keep its promise: a primary out of contact
     * for isolation_ms starts a disable, and that disable lands within one
     * NLB command. An enable still running then would hold it back by one
     * more command, so an enable is started only if it lands before the
     * fence could fire. (Already primary, nothing new is started.) */
    if (r->mode == MODEL_MODE_PRIMARY && a->mode != MODEL_MODE_PRIMARY &&
        now + a->set.nlb_timeout_ms >= a->last_contact_at + a->set.isolation_ms) {
        logf_(out, AGENT_LOG_WARNING, MODEL_EV_ROLE_REFUSED,
              "refused SET_ROLE primary (epoch %llu): no contact with coordinator or peer for "
              "%llu ms; an enable started now could outlast isolation_ms %u minus "
              "nlb_timeout_ms %u", (unsigned long long)r->epoch,
              (unsigned long long)(now - a->last_contact_at), (unsigned)a->set.isolation_ms,
              (unsigned)a->set.nlb_timeout_ms);
        send_report(a, now, out);
        return;
    }
    /* An order can be held back far longer than max_delay_ms (TCP keeps
     * retransmitting across a cut link), so its age is checked, not
     * assumed. echo is the sent_at of the newest report the coordinator had
     * from us when it ordered: it cannot fail us over before loss_ms after
     * receiving that report, which is no earlier than echo in real time. An
     * enable that lands before echo + loss_ms is covered by the fencing
     * above; a later one might overlap a promotion of the other node. An
     * echo from the future is from another boot; 0, from no report at all. */
    if (r->mode == MODEL_MODE_PRIMARY && a->mode != MODEL_MODE_PRIMARY &&
        (r->echo == 0 || r->echo > now || now + a->set.nlb_timeout_ms >= r->echo + r->loss_ms)) {
        if (r->loss_ms <= a->set.nlb_timeout_ms) {
            /* No order, however fresh, could be obeyed: a report would only
             * bring the next one at once (a message loop). The heartbeat
             * report goes on as usual. */
            logf_(out, AGENT_LOG_ERROR, MODEL_EV_ROLE_REFUSED,
                  "refused SET_ROLE primary (epoch %llu): the coordinator's loss_ms %u is not "
                  "above this node's nlb_timeout_ms %u, so no enable could be sure to land in "
                  "time; configure the timings of both alike", (unsigned long long)r->epoch,
                  (unsigned)r->loss_ms, (unsigned)a->set.nlb_timeout_ms);
            return;
        }
        if (r->echo == 0)
            logf_(out, AGENT_LOG_WARNING, MODEL_EV_ROLE_REFUSED,
                  "refused SET_ROLE primary (epoch %llu): it answers no report of this node",
                  (unsigned long long)r->epoch);
        else if (r->echo > now)
            logf_(out, AGENT_LOG_WARNING, MODEL_EV_ROLE_REFUSED,
                  "refused SET_ROLE primary (epoch %llu): it answers a report sent at %llu ms, "
                  "later than this node's clock (%llu ms): not a report of this run",
                  (unsigned long long)r->epoch, (unsigned long long)r->echo,
                  (unsigned long long)now);
        else
            logf_(out, AGENT_LOG_WARNING, MODEL_EV_ROLE_REFUSED,
                  "refused SET_ROLE primary (epoch %llu): it answers a report sent %llu ms ago; "
                  "an enable started now could land after the coordinator's loss_ms %u minus "
                  "nlb_timeout_ms %u, when the other node may have been promoted",
                  (unsigned long long)r->epoch, (unsigned long long)(now - r->echo),
                  (unsigned)r->loss_ms, (unsigned)a->set.nlb_timeout_ms);
        send_report(a, now, out); /* a fresh sent_at: the coordinator can order again */
        return;
    }
    if (r->epoch > a->epoch) {
        /* Persist before acting: after a crash we must never accept an
         * epoch older than one we already obeyed. */
        a->epoch = r->epoch;
        struct agent_action *act = push(out, AGENT_ACT_PERSIST_EPOCH);
        if (act)
            act->epoch = a->epoch;
    }
    char why[80];
    snprintf(why, sizeof why, "coordinator ordered %s (epoch %llu)", model_mode_name(r->mode),
             (unsigned long long)r->epoch);
    uint8_t was_enabled = a->mode == MODEL_MODE_PRIMARY && a->port_actual == MODEL_PORT_ENABLED;
    /* An order repeated while we drain must not cut the drain short. */
    uint8_t draining = a->port_desired == MODEL_PORT_DRAINING && r->mode == MODEL_MODE_BACKUP;
    fire(a, r->mode == MODEL_MODE_PRIMARY ? T_ROLE_PRIMARY : T_ROLE_BACKUP, why, now, out);
    if (draining) {
        a->port_desired = MODEL_PORT_DRAINING;
    } else if (r->mode == MODEL_MODE_BACKUP && r->drain && was_enabled && a->set.drain_ms > 0) {
        /* A planned switchover: new connections go to the new primary at
         * once, ours may finish for drain_ms before the rule is disabled. */
        a->port_desired = MODEL_PORT_DRAINING;
        a->drain_until = now + a->set.drain_ms;
        a->drain_since = now;
        a->drain_counting = 0;
        logf_(out, AGENT_LOG_INFO, MODEL_EV_DRAINING, "draining the port for %u ms before disabling it",
              (unsigned)a->set.drain_ms);
    }
    reconcile(a, out);
    send_report(a, now, out);
}

/* W4/W5: while the NLB host is out of the cluster, NLB ignores or refuses
 * every command, and the port gets no traffic whatever its rule says. Said
 * once each way (not at every retry: a cable can stay out for hours), and
 * retried often, so that a stale enabled rule is disabled as soon as the
 * host is back. Returns 1 when it has handled the result. */
static int note_cluster_membership(struct agent *a, const struct agent_event *ev, uint64_t now,
                                   struct agent_actions *out)
{
    int out_now = ev->ok && ev->port == MODEL_PORT_DISCONNECTED;
    if (out_now && !a->out_of_cluster)
        logf_(out, AGENT_LOG_WARNING, MODEL_EV_NLB_NOT_TAKEN,
              "the NLB host is out of the cluster (network cable of the cluster adapter "
              "unplugged, or NLB stopped): the port gets no traffic and NLB does not take "
              "commands; the port is not serving; retrying every %u ms until the host returns",
              (unsigned)disconnected_retry_ms(a));
    else if (!out_now && a->out_of_cluster && ev->ok)
        logf_(out, AGENT_LOG_INFO, MODEL_EV_REPAIR,
              "the NLB host is back in the cluster; the port reads %s, should be %s",
              model_port_name(ev->port), model_port_name(a->port_desired));
    if (ev->ok)
        a->out_of_cluster = (uint8_t)out_now;
    if (!out_now)
        return 0;
    a->next_reconcile_at = now + disconnected_retry_ms(a);
    send_report(a, now, out);
    return 1;
}

/* While draining, how often the rule is read again to count the
 * connections left: a quarter heartbeat, within 50..250 ms, so a drain
 * with nothing left ends promptly without hammering NLB. */
static uint32_t drain_check_ms(const struct agent *a)
{
    uint32_t ms = a->set.heartbeat_ms / 4;
    return ms > 250 ? 250 : ms < 50 ? 50 : ms;
}

/* A read-back of our draining rule carries the connections that remain,
 * if the backend can count them. None left: the drain has nothing more to
 * protect, so the rule is disabled now rather than at drain_until. A count
 * above 0 brings the next read forward; a backend that cannot tell (exec,
 * a UDP rule) leaves the full drain_ms. */
static void drain_note_count(struct agent *a, const struct agent_event *ev, uint64_t now,
                             struct agent_actions *out)
{
    if (a->port_desired != MODEL_PORT_DRAINING || a->stopping || !ev->ok ||
        ev->port != MODEL_PORT_DRAINING || a->pending != AGENT_NLB_IDLE)
        return;
    unsigned long long since = now > a->drain_since ? now - a->drain_since : 0;
    if (!ev->conns_known) {
        if (a->drain_counting == 0)
            logf_(out, AGENT_LOG_INFO, MODEL_EV_DRAINING,
                  "the NLB backend cannot count the connections left on the port: draining "
                  "the full %llu ms",
                  (unsigned long long)(a->drain_until - a->drain_since));
        a->drain_counting = 2;
        return;
    }
    if (ev->conns == 0) {
        logf_(out, AGENT_LOG_INFO, MODEL_EV_DRAINING,
              "no connections remain after %llu ms: disabling the port", since);
        a->port_desired = MODEL_PORT_DISABLED;
        reconcile(a, out);
        return;
    }
    if (a->drain_counting != 1)
        logf_(out, AGENT_LOG_INFO, MODEL_EV_DRAINING,
              "%u connection%s left on the port after %llu ms; counting again every %u ms",
              (unsigned)ev->conns, ev->conns == 1 ? "" : "s", since,
              (unsigned)drain_check_ms(a));
    a->drain_counting = 1;
    a->next_reconcile_at = sooner(a->next_reconcile_at, now + drain_check_ms(a));
}

static void on_nlb_done(struct agent *a, const struct agent_event *ev, uint64_t now,
                        struct agent_actions *out)
{
    uint8_t was = a->pending;
    a->pending = AGENT_NLB_IDLE;
    uint8_t before = a->port_actual;
    a->port_actual = ev->port;
    if (note_cluster_membership(a, ev, now, out))
        return;

    if (was == AGENT_NLB_SETTING && !ev->ok)
        logf_(out, AGENT_LOG_ERROR, MODEL_EV_NLB_FAILED, "NLB command to make the port %s failed; port is %s",
              model_port_name(a->port_commanded), model_port_name(ev->port));
    if (was == AGENT_NLB_QUERYING && !ev->ok)
        logf_(out, AGENT_LOG_ERROR, MODEL_EV_NLB_QUERY_FAILED, "reading the NLB port state failed");
    if (was == AGENT_NLB_QUERYING && ev->ok && before != MODEL_PORT_UNKNOWN &&
        ev->port != before)
        logf_(out, AGENT_LOG_WARNING, MODEL_EV_DRIFT, "drift: port found %s, last known %s",
              model_port_name(ev->port), model_port_name(before));

    if (a->port_actual != a->port_desired && !a->stopping) {
        if (was == AGENT_NLB_SETTING && a->port_commanded == a->port_desired) {
            /* The command ran and did not take: retry on the next heartbeat
             * rather than at once, so a broken NLB is not hammered. */
            if (ev->ok)
                logf_(out, AGENT_LOG_WARNING, MODEL_EV_NLB_NOT_TAKEN,
                      "NLB accepted the command but the port reads %s, not %s; retrying in "
                      "%u ms", model_port_name(a->port_actual), model_port_name(a->port_desired),
                      (unsigned)a->set.heartbeat_ms);
            a->next_reconcile_at = now + a->set.heartbeat_ms;
        } else {
            logf_(out, AGENT_LOG_WARNING, MODEL_EV_REPAIR, "repairing: port is %s, should be %s",
                  model_port_name(a->port_actual), model_port_name(a->port_desired));
            reconcile(a, out);
        }
    } else if (was == AGENT_NLB_SETTING && ev->ok) {
        logf_(out, AGENT_LOG_INFO, MODEL_EV_PORT_CONFIRMED, "port %s (confirmed by read-back)",
              model_port_name(a->port_actual));
    }
    drain_note_count(a, ev, now, out);
    send_report(a, now, out); /* to whoever is up: the peer relays it */
}

/* Contact counts from when the other side last heard us, so a link that
 * only works one way does not keep a cut-off primary serving. */
static void note_contact(struct agent *a, uint64_t now, uint32_t their_silence)
{
    if (their_silence == WIRE_SILENT_NEVER || their_silence > now)
        return;
    uint64_t at = now - their_silence;
    if (at > a->last_contact_at)
        a->last_contact_at = at;
}

static void on_coordinator_message(struct agent *a, const struct wire_msg *m, uint64_t now,
                                   struct agent_actions *out)
{
    if (m->type == WIRE_SET_ROLE)
        on_set_role(a, m, now, out);
    else if (m->type == WIRE_HEARTBEAT)
        note_contact(a, now, m->u.heartbeat.silent_ms);
    else
        logf_(out, AGENT_LOG_WARNING, MODEL_EV_PROTOCOL, "ignored unexpected %s from the coordinator",
              wire_type_name(m->type));
}

int agent_peer_hello_ok(const struct agent_settings *set, const struct wire_hello *h)
{
    if (strcmp(h->pair, set->pair) != 0)
        return 0;
    if (set->peer_node[0])
        return strcmp(h->node, set->peer_node) == 0;
    return strcmp(h->node, set->node) != 0;
}

static void on_peer_message(struct agent *a, const struct wire_msg *m, uint64_t now,
                            struct agent_actions *out)
{
    if (m->type == WIRE_HELLO) {
        if (!agent_peer_hello_ok(&a->set, &m->u.hello))
            logf_(out, AGENT_LOG_ERROR, MODEL_EV_PEER_MISMATCH,
                  "the peer link says it is node %s of pair %s; this is node %s of pair %s%s%s",
                  m->u.hello.node, m->u.hello.pair, a->set.node, a->set.pair,
                  a->set.peer_node[0] ? ", whose other node is " : "", a->set.peer_node);
        return;
    }
    if (m->type != WIRE_REPORT) {
        logf_(out, AGENT_LOG_WARNING, MODEL_EV_PROTOCOL, "ignored unexpected %s from the peer",
              wire_type_name(m->type));
        return;
    }
    int first = !a->peer_heard;
    a->peer = m->u.report;
    a->peer_heard = 1;
    a->peer_heard_at = now;
    note_contact(a, now, m->u.report.peer_silent_ms);
    if (first)
        logf_(out, AGENT_LOG_INFO, MODEL_EV_PEER_HEARD, "hearing the peer: it is %s, port %s",
              model_mode_name(a->peer.mode), model_port_name(a->peer.port_actual));
}

/* W2: a primary whose application dies disables its own port at once and
 * says so; the coordinator then promotes the other node. */
static void on_app(struct agent *a, uint64_t now, struct agent_actions *out)
{
    uint8_t healthy = a->app_running && a->app_available;
    if (healthy == a->app_healthy)
        return;
    a->app_healthy = healthy;
    if (a->stopping)
        return; /* the port is already on its way to disabled */
    if (!healthy) {
        logf_(out, AGENT_LOG_ERROR, MODEL_EV_APP_DOWN, "the application is %s",
              a->app_running ? "running but says it cannot serve" : "down");
        fire(a, T_APP_FAILED,
             a->app_running ? "the application reported SERVICE_UNAVAILABLE"
                            : "the application failed",
             now, out);
        reconcile(a, out);
    } else {
        logf_(out, AGENT_LOG_INFO, MODEL_EV_APP_UP, "the application is healthy again; this node can be backup");
    }
    send_report(a, now, out);
}

/* I5: a primary nobody has heard for isolation_ms may have been replaced;
 * it steps down before the coordinator can promote the other node. */
static void check_isolation(struct agent *a, uint64_t now, struct agent_actions *out)
{
    if (a->mode != MODEL_MODE_PRIMARY || now < a->last_contact_at + a->set.isolation_ms)
        return;
    char why[96];
    snprintf(why, sizeof why, "isolated: no contact with coordinator or peer for %llu ms",
             (unsigned long long)(now - a->last_contact_at));
    logf_(out, AGENT_LOG_ERROR, MODEL_EV_FENCED, "%s; disabling the port", why);
    fire(a, T_ISOLATED, why, now, out);
    reconcile(a, out);
    send_report(a, now, out);
}

static void on_tick(struct agent *a, uint64_t now, struct agent_actions *out)
{
    if (a->stopping)
        return;
    check_isolation(a, now, out);
    if (a->port_desired == MODEL_PORT_DRAINING && now >= a->drain_until) {
        logf_(out, AGENT_LOG_INFO, MODEL_EV_DRAINING, "drain time over: disabling the port");
        a->port_desired = MODEL_PORT_DISABLED;
        reconcile(a, out);
        send_report(a, now, out);
    }
    if (a->pending == AGENT_NLB_IDLE && now >= a->next_reconcile_at) {
        a->next_reconcile_at = now + a->set.reconcile_ms;
        /* Out of the cluster: command, do not just look, so that the rule
         * is right the moment the host is back (W5). */
        if (a->out_of_cluster)
            nlb_set(a, a->port_desired, out);
        else
            nlb_query(a, out);
    }
    if ((a->coord_up || a->peer_up) && now >= a->next_report_at)
        send_report(a, now, out);
}

static void on_stop(struct agent *a, uint64_t now, struct agent_actions *out)
{
    /* Someone to hand over to: a primary whose peer is heard, healthy and
     * not stopping too. Judged before the step down changes the mode. */
    a->handover = a->mode == MODEL_MODE_PRIMARY && a->set.has_peer && a->peer_heard &&
                  a->peer.app_healthy && !a->peer.stopping &&
                  agent_peer_silent_ms(a, now) < a->set.peer_loss_ms;
    a->stop_epoch = a->epoch;
    a->stopping = 1;
    fire(a, T_STOP, "the service is stopping", now, out);
    a->port_desired = MODEL_PORT_DISABLED;
    /* Disable even if a command is running: stopping must leave the port
     * disabled, and the shell runs this one after the running one ends. */
    nlb_set(a, MODEL_PORT_DISABLED, out);
}

void agent_init(struct agent *a, const struct agent_settings *set, uint64_t persisted_epoch,
                uint64_t now)
{
    memset(a, 0, sizeof *a);
    a->set = *set;
    a->mode = MODEL_MODE_BACKUP;
    a->epoch = persisted_epoch;
    a->port_desired = MODEL_PORT_DISABLED;
    a->port_actual = MODEL_PORT_UNKNOWN;
    /* No application monitor configured: nothing says otherwise. */
    a->app_healthy = a->app_running = a->app_available = 1;
    a->next_report_at = now;
    a->next_reconcile_at = now + set->reconcile_ms;
    a->last_transition_at = now;
    a->started_at = now;
    a->last_contact_at = now;
}

int agent_handover_state(const struct agent *a)
{
    if (!a->stopping || a->pending != AGENT_NLB_IDLE || !model_port_not_serving(a->port_actual))
        return AGENT_HANDOVER_WAIT;
    if (!a->handover)
        return AGENT_HANDOVER_NOBODY;
    /* The peer took over by a decision made after we stopped: a newer epoch. */
    if (a->peer.mode == MODEL_MODE_PRIMARY && a->peer.port_actual == MODEL_PORT_ENABLED &&
        a->peer.epoch > a->stop_epoch)
        return AGENT_HANDOVER_DONE;
    return AGENT_HANDOVER_WAIT;
}

void agent_set_settings(struct agent *a, const struct agent_settings *set, uint64_t now)
{
    /* Identity (pair, node, has_peer) stays: a reload never renames a node
     * or adds a peer link whose address the shell has not opened. */
    a->set.heartbeat_ms = set->heartbeat_ms;
    a->set.reconcile_ms = set->reconcile_ms;
    a->set.isolation_ms = set->isolation_ms;
    a->set.peer_loss_ms = set->peer_loss_ms;
    a->set.drain_ms = set->drain_ms;
    a->set.nlb_timeout_ms = set->nlb_timeout_ms;
    /* A shorter period takes effect now rather than after the old one; a
     * drain already begun keeps the end it was given. */
    a->next_report_at = sooner(a->next_report_at, now + set->heartbeat_ms);
    a->next_reconcile_at = sooner(a->next_reconcile_at, now + set->reconcile_ms);
}

void agent_step(struct agent *a, const struct agent_event *ev, uint64_t now,
                struct agent_actions *out)
{
    out->count = 0;
    switch (ev->type) {
    case AGENT_EV_START:
        on_start(a, now, out);
        break;
    case AGENT_EV_COORD_UP:
        a->coord_up = 1;
        logf_(out, AGENT_LOG_INFO, MODEL_EV_COORD_UP, "connected to the coordinator");
        send_hello(a, AGENT_ACT_SEND, out);
        send_report(a, now, out);
        break;
    case AGENT_EV_COORD_DOWN:
        if (a->coord_up)
            logf_(out, AGENT_LOG_WARNING, MODEL_EV_COORD_DOWN, "lost the link to the coordinator");
        a->coord_up = 0;
        break;
    case AGENT_EV_MESSAGE:
        if (ev->msg)
            on_coordinator_message(a, ev->msg, now, out);
        break;
    case AGENT_EV_PEER_MESSAGE:
        if (ev->msg)
            on_peer_message(a, ev->msg, now, out);
        break;
    case AGENT_EV_PEER_UP:
        a->peer_up = 1;
        logf_(out, AGENT_LOG_INFO, MODEL_EV_PEER_UP, "connected to the peer agent");
        send_hello(a, AGENT_ACT_SEND_PEER, out);
        send_report(a, now, out);
        break;
    case AGENT_EV_PEER_DOWN:
        if (a->peer_up)
            logf_(out, AGENT_LOG_WARNING, MODEL_EV_PEER_DOWN, "lost the link to the peer agent");
        a->peer_up = 0;
        break;
    case AGENT_EV_APP:
        a->app_running = ev->ok ? 1 : 0;
        on_app(a, now, out);
        break;
    case AGENT_EV_APP_REPORT:
        if ((ev->ok ? 1 : 0) != a->app_available)
            logf_(out, ev->ok ? AGENT_LOG_INFO : AGENT_LOG_WARNING, MODEL_EV_APP_REPORT, "the application says %s",
                  ev->ok ? "it can serve again" : "SERVICE_UNAVAILABLE");
        a->app_available = ev->ok ? 1 : 0;
        on_app(a, now, out);
        break;
    case AGENT_EV_NLB_DONE:
        on_nlb_done(a, ev, now, out);
        break;
    case AGENT_EV_TICK:
        on_tick(a, now, out);
        break;
    case AGENT_EV_STOP:
        on_stop(a, now, out);
        break;
    default:
        logf_(out, AGENT_LOG_ERROR, MODEL_EV_INTERNAL, "internal: unknown agent event %u", ev->type);
    }
}

void agent_status(const struct agent *a, uint64_t now, struct wire_status_reply *st)
{
    memset(st, 0, sizeof *st);
    st->role = MODEL_ROLE_AGENT;
    utf8_copy(st->pair, sizeof st->pair, a->set.pair);
    if (a->mode == MODEL_MODE_PRIMARY)
        utf8_copy(st->primary, sizeof st->primary, a->set.node);
    st->epoch = a->epoch;
    st->coordinator_link = a->coord_up;
    utf8_copy(st->last_reason, sizeof st->last_reason, a->last_reason);
    st->last_reason_age_ms = wire_age_ms(now, a->last_transition_at);
    st->node_count = 1;
    struct wire_node_status *n = &st->nodes[0];
    utf8_copy(n->name, sizeof n->name, a->set.node);
    n->connected = 1;
    n->mode = a->mode;
    n->app_healthy = a->app_healthy;
    n->port_desired = a->port_desired;
    n->port_actual = a->port_actual;
    n->epoch = a->epoch;
    n->last_heard_ms = 0;
    n->peer_link = a->peer_heard && agent_peer_silent_ms(a, now) < a->set.peer_loss_ms;
    utf8_copy(n->last_change, sizeof n->last_change, a->last_reason);
    n->last_change_age_ms = st->last_reason_age_ms;
}
