/* agent.c - the agent's state machine. See agent.h. */
#include "agent.h"

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

static void logf_(struct agent_actions *out, uint8_t level, const char *fmt, ...)
{
    struct agent_action *act = push(out, AGENT_ACT_LOG);
    if (!act)
        return;
    act->level = level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(act->text, sizeof act->text, fmt, ap);
    va_end(ap);
}

static void send_report(struct agent *a, uint64_t now, struct agent_actions *out)
{
    struct agent_action *act = push(out, AGENT_ACT_SEND);
    if (!act)
        return;
    act->msg.type = WIRE_REPORT;
    act->msg.u.report.epoch = a->epoch;
    act->msg.u.report.mode = a->mode;
    act->msg.u.report.app_healthy = a->app_healthy;
    act->msg.u.report.port_desired = a->port_desired;
    act->msg.u.report.port_actual = a->port_actual;
    a->next_report_at = now + a->set.heartbeat_ms;
}

static void send_hello(const struct agent *a, struct agent_actions *out)
{
    struct agent_action *act = push(out, AGENT_ACT_SEND);
    if (!act)
        return;
    act->msg.type = WIRE_HELLO;
    snprintf(act->msg.u.hello.pair, sizeof act->msg.u.hello.pair, "%s", a->set.pair);
    snprintf(act->msg.u.hello.node, sizeof act->msg.u.hello.node, "%s", a->set.node);
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

/* ---- modes ----------------------------------------------------------------- */

enum trigger { T_ROLE_PRIMARY, T_ROLE_BACKUP, T_STOP };

/* The mode table: anything not listed leaves the mode as it is. */
static const struct {
    uint8_t from;
    uint8_t trigger;
    uint8_t to;
} mode_table[] = {
    {MODEL_MODE_BACKUP, T_ROLE_PRIMARY, MODEL_MODE_PRIMARY},
    {MODEL_MODE_PRIMARY, T_ROLE_BACKUP, MODEL_MODE_BACKUP},
    {MODEL_MODE_PRIMARY, T_STOP, MODEL_MODE_BACKUP},
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
        logf_(out, AGENT_LOG_INFO, "%s -> %s because %s", model_mode_name(a->mode),
              model_mode_name(to), why);
        snprintf(a->last_reason, sizeof a->last_reason, "%s -> %s because %s",
                 model_mode_name(a->mode), model_mode_name(to), why);
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
    snprintf(a->last_reason, sizeof a->last_reason, "safe start as backup");
    a->last_transition_at = now;
    logf_(out, AGENT_LOG_INFO,
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
        logf_(out, AGENT_LOG_WARNING,
              "refused SET_ROLE %s with epoch %llu: this node already holds epoch %llu",
              model_mode_name(r->mode), (unsigned long long)r->epoch,
              (unsigned long long)a->epoch);
        send_report(a, now, out); /* tells the sender our epoch */
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
    fire(a, r->mode == MODEL_MODE_PRIMARY ? T_ROLE_PRIMARY : T_ROLE_BACKUP, why, now, out);
    reconcile(a, out);
    send_report(a, now, out);
}

static void on_nlb_done(struct agent *a, const struct agent_event *ev, uint64_t now,
                        struct agent_actions *out)
{
    uint8_t was = a->pending;
    a->pending = AGENT_NLB_IDLE;
    uint8_t before = a->port_actual;
    a->port_actual = ev->port;

    if (was == AGENT_NLB_SETTING && !ev->ok)
        logf_(out, AGENT_LOG_ERROR, "NLB command to make the port %s failed; port is %s",
              model_port_name(a->port_commanded), model_port_name(ev->port));
    if (was == AGENT_NLB_QUERYING && !ev->ok)
        logf_(out, AGENT_LOG_ERROR, "reading the NLB port state failed");
    if (was == AGENT_NLB_QUERYING && ev->ok && before != MODEL_PORT_UNKNOWN &&
        ev->port != before)
        logf_(out, AGENT_LOG_WARNING, "drift: port found %s, last known %s",
              model_port_name(ev->port), model_port_name(before));

    if (a->port_actual != a->port_desired && !a->stopping) {
        if (was == AGENT_NLB_SETTING && a->port_commanded == a->port_desired) {
            /* The command ran and did not take: retry on the next heartbeat
             * rather than at once, so a broken NLB is not hammered. */
            if (ev->ok)
                logf_(out, AGENT_LOG_WARNING,
                      "NLB accepted the command but the port reads %s, not %s; retrying in "
                      "%u ms", model_port_name(a->port_actual), model_port_name(a->port_desired),
                      (unsigned)a->set.heartbeat_ms);
            a->next_reconcile_at = now + a->set.heartbeat_ms;
        } else {
            logf_(out, AGENT_LOG_WARNING, "repairing: port is %s, should be %s",
                  model_port_name(a->port_actual), model_port_name(a->port_desired));
            reconcile(a, out);
        }
    } else if (was == AGENT_NLB_SETTING && ev->ok) {
        logf_(out, AGENT_LOG_INFO, "port %s (confirmed by read-back)",
              model_port_name(a->port_actual));
    }
    if (a->coord_up)
        send_report(a, now, out);
}

static void on_tick(struct agent *a, uint64_t now, struct agent_actions *out)
{
    if (a->stopping)
        return;
    if (a->pending == AGENT_NLB_IDLE && now >= a->next_reconcile_at) {
        a->next_reconcile_at = now + a->set.reconcile_ms;
        nlb_query(a, out);
    }
    if (a->coord_up && now >= a->next_report_at)
        send_report(a, now, out);
}

static void on_stop(struct agent *a, uint64_t now, struct agent_actions *out)
{
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
    a->app_healthy = 1; /* no application monitor configured: nothing says otherwise */
    a->next_report_at = now;
    a->next_reconcile_at = now + set->reconcile_ms;
    a->last_transition_at = now;
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
        logf_(out, AGENT_LOG_INFO, "connected to the coordinator");
        send_hello(a, out);
        send_report(a, now, out);
        break;
    case AGENT_EV_COORD_DOWN:
        if (a->coord_up)
            logf_(out, AGENT_LOG_WARNING, "lost the link to the coordinator");
        a->coord_up = 0;
        break;
    case AGENT_EV_MESSAGE:
        if (ev->msg && ev->msg->type == WIRE_SET_ROLE)
            on_set_role(a, ev->msg, now, out);
        else if (ev->msg && ev->msg->type != WIRE_HEARTBEAT)
            logf_(out, AGENT_LOG_WARNING, "ignored unexpected %s from the coordinator",
                  wire_type_name(ev->msg->type));
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
        logf_(out, AGENT_LOG_ERROR, "internal: unknown agent event %u", ev->type);
    }
}

void agent_status(const struct agent *a, uint64_t now, struct wire_status_reply *st)
{
    memset(st, 0, sizeof *st);
    st->role = MODEL_ROLE_AGENT;
    snprintf(st->pair, sizeof st->pair, "%s", a->set.pair);
    if (a->mode == MODEL_MODE_PRIMARY)
        snprintf(st->primary, sizeof st->primary, "%s", a->set.node);
    st->epoch = a->epoch;
    st->coordinator_link = a->coord_up;
    snprintf(st->last_reason, sizeof st->last_reason, "%s", a->last_reason);
    st->node_count = 1;
    struct wire_node_status *n = &st->nodes[0];
    snprintf(n->name, sizeof n->name, "%s", a->set.node);
    n->connected = 1;
    n->mode = a->mode;
    n->app_healthy = a->app_healthy;
    n->port_desired = a->port_desired;
    n->port_actual = a->port_actual;
    n->epoch = a->epoch;
    (void)now;
    n->last_heard_ms = 0;
}
