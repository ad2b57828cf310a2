/* test_agent.c - the agent's state machine: safe start, orders from the
 * coordinator under epochs, NLB commands and their read-backs, drift repair,
 * heartbeats, stopping, and its status; the application's health (W2),
 * self-fencing after isolation_ms without two-way contact (I5), the peer
 * link, and the transition history. Every step is checked to stay within
 * AGENT_MAX_ACTIONS and never to lower the epoch. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

/* The product's defaults (config_defaults): heartbeat 500 ms, reconcile
 * 5000 ms, isolation 1500 ms, peer lost after heartbeat x miss_count 5. */
#define T0 1000u       /* the clock does not start at zero */
#define HB 500u        /* heartbeat_ms */
#define REC 5000u      /* reconcile_ms */
#define ISO 1500u      /* isolation_ms */
#define PEER_LOSS 2500u /* peer_loss_ms */
#define LOSS 2500u     /* the coordinator's loss_ms (heartbeat x miss_count), sent in SET_ROLE */

/* ---- helpers ---------------------------------------------------------------- */

static void settings(struct agent_settings *set)
{
    memset(set, 0, sizeof *set);
    strcpy(set->pair, "pair1");
    strcpy(set->node, "web1");
    set->heartbeat_ms = HB;
    set->reconcile_ms = REC;
    set->isolation_ms = ISO;
    set->peer_loss_ms = PEER_LOSS;
    set->has_peer = 0; /* the peer link is optional; the peer tests turn it on */
}

static void init_agent(struct agent *a, uint64_t persisted_epoch)
{
    struct agent_settings set;
    settings(&set);
    agent_init(a, &set, persisted_epoch, T0);
}

/* The same with a peer link configured. */
static void init_agent_peer(struct agent *a, uint64_t persisted_epoch)
{
    struct agent_settings set;
    settings(&set);
    set.has_peer = 1;
    agent_init(a, &set, persisted_epoch, T0);
}

/* Runs one event and checks what holds for every step: room to spare in
 * the action list (a full list may have dropped one), known action types,
 * an epoch that only grows, and PERSIST_EPOCH before anything it covers. */
static void step(struct agent *a, const struct agent_event *ev, uint64_t now,
                 struct agent_actions *out)
{
    uint64_t epoch_before = a->epoch;
    memset(out, 0xA5, sizeof *out);
    agent_step(a, ev, now, out);
    ck_assert_uint_lt(out->count, AGENT_MAX_ACTIONS);
    ck_assert_uint_ge(a->epoch, epoch_before);
    int persisted = -1, acted = -1;
    for (unsigned i = 0; i < out->count; i++) {
        const struct agent_action *act = &out->items[i];
        ck_assert_msg(act->type >= AGENT_ACT_NLB_SET && act->type <= AGENT_ACT_LOG,
                      "action %u has type %u", i, act->type);
        if (act->type == AGENT_ACT_PERSIST_EPOCH) {
            ck_assert_uint_eq(act->epoch, a->epoch);
            ck_assert_uint_gt(act->epoch, epoch_before);
            if (persisted < 0)
                persisted = (int)i;
        }
        if ((act->type == AGENT_ACT_SEND || act->type == AGENT_ACT_SEND_PEER ||
             act->type == AGENT_ACT_NLB_SET) && acted < 0)
            acted = (int)i;
        /* Whatever goes out must pass the codec. */
        if (act->type == AGENT_ACT_SEND || act->type == AGENT_ACT_SEND_PEER) {
            uint8_t buf[WIRE_MAX_FRAME];
            size_t len = 0;
            int rc = wire_encode(&act->msg, buf, sizeof buf, &len);
            ck_assert_msg(rc == WIRE_OK, "action %u: %s does not encode: %s", i,
                          wire_type_name(act->msg.type), wire_error_text(rc));
        }
        if (act->type == AGENT_ACT_LOG) {
            ck_assert_uint_gt(strlen(act->text), 0);
            /* Every line names its kind of event: the Event Log ID hangs on it. */
            ck_assert_msg(act->event > MODEL_EV_NONE && act->event < MODEL_EV_COUNT,
                          "log line without an event kind (%u): %s", act->event, act->text);
        }
    }
    if (persisted >= 0 && acted >= 0)
        ck_assert_int_lt(persisted, acted);
    if (a->epoch != epoch_before)
        ck_assert_int_ge(persisted, 0); /* a new epoch is always persisted */
}

static void ev_plain(struct agent *a, uint8_t type, uint64_t now, struct agent_actions *out)
{
    struct agent_event ev = {.type = type};
    step(a, &ev, now, out);
}

static void ev_nlb_done(struct agent *a, uint8_t port, uint8_t ok, uint64_t now,
                        struct agent_actions *out)
{
    struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = port, .ok = ok};
    step(a, &ev, now, out);
}

static void ev_message(struct agent *a, const struct wire_msg *m, uint64_t now,
                       struct agent_actions *out)
{
    struct agent_event ev = {.type = AGENT_EV_MESSAGE, .msg = m};
    step(a, &ev, now, out);
}

static void ev_set_role(struct agent *a, uint64_t epoch, uint8_t mode, uint64_t now,
                        struct agent_actions *out)
{
    struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_SET_ROLE;
    m.u.set_role.epoch = epoch;
    m.u.set_role.mode = mode;
    /* A fresh order: it answers a report sent just now. The tests of the
     * order's age build theirs with ev_set_role_echo. */
    m.u.set_role.echo = now;
    m.u.set_role.loss_ms = LOSS;
    ev_message(a, &m, now, out);
}

/* An order answering the report we sent at `echo`, from a coordinator
 * whose loss_ms is loss_ms. */
static void ev_set_role_echo(struct agent *a, uint64_t epoch, uint8_t mode, uint64_t echo,
                             uint32_t loss_ms, uint64_t now, struct agent_actions *out)
{
    struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_SET_ROLE;
    m.u.set_role.epoch = epoch;
    m.u.set_role.mode = mode;
    m.u.set_role.echo = echo;
    m.u.set_role.loss_ms = loss_ms;
    ev_message(a, &m, now, out);
}

static void ev_app(struct agent *a, uint8_t healthy, uint64_t now, struct agent_actions *out)
{
    struct agent_event ev = {.type = AGENT_EV_APP, .ok = healthy};
    step(a, &ev, now, out);
}

/* A HEARTBEAT from the coordinator: it last heard us silent_ms ago. */
static void ev_heartbeat(struct agent *a, uint64_t epoch, uint32_t silent_ms, uint64_t now,
                         struct agent_actions *out)
{
    struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_HEARTBEAT;
    m.u.heartbeat.epoch = epoch;
    m.u.heartbeat.silent_ms = silent_ms;
    ev_message(a, &m, now, out);
}

static void ev_peer_msg(struct agent *a, const struct wire_msg *m, uint64_t now,
                        struct agent_actions *out)
{
    struct agent_event ev = {.type = AGENT_EV_PEER_MESSAGE, .msg = m};
    step(a, &ev, now, out);
}

/* A REPORT from the peer agent; peer_silent_ms is how long ago it last
 * heard this agent. */
static void ev_peer_report(struct agent *a, uint8_t mode, uint8_t healthy, uint8_t port,
                           uint64_t epoch, uint32_t peer_silent_ms, uint64_t now,
                           struct agent_actions *out)
{
    struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_REPORT;
    m.u.report.epoch = epoch;
    m.u.report.mode = mode;
    m.u.report.app_healthy = healthy;
    m.u.report.port_desired = mode == MODEL_MODE_PRIMARY ? MODEL_PORT_ENABLED : MODEL_PORT_DISABLED;
    m.u.report.port_actual = port;
    m.u.report.peer_silent_ms = peer_silent_ms;
    strcpy(m.u.report.reason, "peer's last change");
    ev_peer_msg(a, &m, now, out);
}

/* Index of the first action of `type` at or after `from`, or -1. */
static int find(const struct agent_actions *out, uint8_t type, unsigned from)
{
    for (unsigned i = from; i < out->count; i++)
        if (out->items[i].type == type)
            return (int)i;
    return -1;
}

static unsigned count_of(const struct agent_actions *out, uint8_t type)
{
    unsigned n = 0;
    for (unsigned i = 0; i < out->count; i++)
        n += out->items[i].type == type;
    return n;
}

/* Index of the first SEND of a message of `wtype`, or -1. */
static int find_send(const struct agent_actions *out, uint8_t wtype)
{
    for (unsigned i = 0; i < out->count; i++)
        if (out->items[i].type == AGENT_ACT_SEND && out->items[i].msg.type == wtype)
            return (int)i;
    return -1;
}

/* Index of the first SEND_PEER of a message of `wtype`, or -1. */
static int find_send_peer(const struct agent_actions *out, uint8_t wtype)
{
    for (unsigned i = 0; i < out->count; i++)
        if (out->items[i].type == AGENT_ACT_SEND_PEER && out->items[i].msg.type == wtype)
            return (int)i;
    return -1;
}

/* The first log line at `level` containing `needle`, or -1. */
static int find_log(const struct agent_actions *out, uint8_t level, const char *needle)
{
    for (unsigned i = 0; i < out->count; i++)
        if (out->items[i].type == AGENT_ACT_LOG && out->items[i].level == level &&
            strstr(out->items[i].text, needle))
            return (int)i;
    return -1;
}

static unsigned nlb_commands(const struct agent_actions *out)
{
    return count_of(out, AGENT_ACT_NLB_SET) + count_of(out, AGENT_ACT_NLB_QUERY);
}

static void assert_report_at(const struct agent_actions *out, int i, const struct agent *a)
{
    ck_assert_int_ge(i, 0);
    const struct wire_report *r = &out->items[i].msg.u.report;
    ck_assert_uint_eq(r->epoch, a->epoch);
    ck_assert_uint_eq(r->mode, a->mode);
    ck_assert_uint_eq(r->app_healthy, a->app_healthy);
    ck_assert_uint_eq(r->port_desired, a->port_desired);
    /* While an NLB command runs the last read-back may be stale: reported
     * as unknown, so the coordinator never takes it for a confirmation
     * (a sim-found overlap of up to 683 ms otherwise). */
    if (a->pending == AGENT_NLB_SETTING ||
        (a->pending != AGENT_NLB_IDLE && a->port_actual == MODEL_PORT_DISCONNECTED))
        ck_assert_uint_eq(r->port_actual, MODEL_PORT_UNKNOWN);
    else
        ck_assert_uint_eq(r->port_actual, a->port_actual);
}

/* The REPORT to the coordinator in out says what the agent now is. */
static void assert_report(const struct agent_actions *out, const struct agent *a)
{
    assert_report_at(out, find_send(out, WIRE_REPORT), a);
}

/* An agent started, its safe-start disable done and confirmed, linked to
 * its coordinator: backup, port disabled, nothing running. */
static void ready_backup(struct agent *a, uint64_t persisted_epoch, struct agent_actions *out)
{
    init_agent(a, persisted_epoch);
    ev_plain(a, AGENT_EV_START, T0, out);
    ev_nlb_done(a, MODEL_PORT_DISABLED, 1, T0 + 10, out);
    ev_plain(a, AGENT_EV_COORD_UP, T0 + 20, out);
    ck_assert_uint_eq(a->pending, AGENT_NLB_IDLE);
    ck_assert_uint_eq(a->port_actual, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(a->mode, MODEL_MODE_BACKUP);
}

/* ready_backup, then made primary at `epoch` with the enable confirmed.
 * Its last contact is T0 + 100: the coordinator's HEARTBEAT then says it has
 * just heard this agent (silent_ms 0). The SET_ROLE that follows is not
 * contact (it carries no word of when the coordinator last heard us). */
static void ready_primary(struct agent *a, uint64_t epoch, struct agent_actions *out)
{
    ready_backup(a, epoch - 1, out);
    ev_heartbeat(a, epoch - 1, 0, T0 + 100, out);
    ev_set_role(a, epoch, MODEL_MODE_PRIMARY, T0 + 100, out);
    ev_nlb_done(a, MODEL_PORT_ENABLED, 1, T0 + 110, out);
    ck_assert_uint_eq(a->mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a->port_actual, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(a->pending, AGENT_NLB_IDLE);
}

/* ---- start ------------------------------------------------------------------- */

START_TEST(init_state)
{
    struct agent a;
    init_agent(&a, 42);
    ck_assert_str_eq(a.set.pair, "pair1");
    ck_assert_str_eq(a.set.node, "web1");
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 42);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_UNKNOWN);
    ck_assert_uint_eq(a.pending, AGENT_NLB_IDLE);
    ck_assert_uint_eq(a.coord_up, 0);
    ck_assert_uint_eq(a.stopping, 0);
    ck_assert_uint_eq(a.app_healthy, 1);
    ck_assert_uint_eq(a.next_reconcile_at, T0 + REC);
    ck_assert_uint_eq(a.peer_up, 0);
    ck_assert_uint_eq(a.peer_heard, 0);
    ck_assert_uint_eq(a.set.isolation_ms, ISO);
    ck_assert_uint_eq(a.started_at, T0);
    ck_assert_uint_eq(a.last_contact_at, T0); /* the isolation clock starts now */
    ck_assert_uint_eq(a.history.count, 0);
}
END_TEST

START_TEST(start_disables_port)
{
    struct agent a;
    struct agent_actions out;
    init_agent(&a, 7);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 7);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_SET), 1);
    ck_assert_uint_eq(out.items[find(&out, AGENT_ACT_NLB_SET, 0)].port, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "backup"), 0);
    /* Not linked yet: nothing to send, nothing to persist. */
    ck_assert_int_eq(find(&out, AGENT_ACT_SEND, 0), -1);
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    ck_assert_str_ne(a.last_reason, "");
}
END_TEST

START_TEST(start_disables_even_if_disabled)
{
    /* What NLB has before the first read-back is unknown: always disable. */
    struct agent a;
    struct agent_actions out;
    init_agent(&a, 0);
    a.port_actual = MODEL_PORT_DISABLED;
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
    ck_assert_uint_eq(out.items[find(&out, AGENT_ACT_NLB_SET, 0)].port, MODEL_PORT_DISABLED);
}
END_TEST

/* ---- coordinator link -------------------------------------------------------- */

START_TEST(coord_up_hello_then_report)
{
    struct agent a;
    struct agent_actions out;
    init_agent(&a, 3);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 5, &out);
    ck_assert_uint_eq(a.coord_up, 1);
    int hello = find_send(&out, WIRE_HELLO);
    int report = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(hello, 0);
    ck_assert_int_gt(report, hello);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND), 2);
    ck_assert_str_eq(out.items[hello].msg.u.hello.pair, "pair1");
    ck_assert_str_eq(out.items[hello].msg.u.hello.node, "web1");
    assert_report(&out, &a);
    const struct wire_report *r = &out.items[report].msg.u.report;
    ck_assert_uint_eq(r->epoch, 3);
    ck_assert_uint_eq(r->mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(r->port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(r->port_actual, MODEL_PORT_UNKNOWN);
    ck_assert_uint_eq(nlb_commands(&out), 0);
}
END_TEST

START_TEST(coord_down)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_plain(&a, AGENT_EV_COORD_DOWN, T0 + 30, &out);
    ck_assert_uint_eq(a.coord_up, 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "coordinator"), 0);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    /* Said once: a second loss of an already lost link is quiet. */
    ev_plain(&a, AGENT_EV_COORD_DOWN, T0 + 40, &out);
    ck_assert_uint_eq(out.count, 0);
    /* No heartbeat goes out while down. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 20 + 3 * HB, &out);
    ck_assert_int_eq(find(&out, AGENT_ACT_SEND, 0), -1);
}
END_TEST

START_TEST(coord_down_keeps_primary)
{
    /* Losing the coordinator alone is not a reason to give up the port. */
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out);
    ev_plain(&a, AGENT_EV_COORD_DOWN, T0 + 200, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
}
END_TEST

START_TEST(heartbeat_report_on_tick)
{
    struct agent a;
    struct agent_actions out;
    init_agent(&a, 2);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 10, &out);
    /* Not linked: no report however late. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 2 * HB, &out);
    ck_assert_int_eq(find(&out, AGENT_ACT_SEND, 0), -1);

    uint64_t up = T0 + 2 * HB + 1;
    ev_plain(&a, AGENT_EV_COORD_UP, up, &out);
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0);
    /* Not yet due. */
    ev_plain(&a, AGENT_EV_TICK, up + HB - 1, &out);
    ck_assert_int_eq(find_send(&out, WIRE_REPORT), -1);
    /* Due. */
    ev_plain(&a, AGENT_EV_TICK, up + HB, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND), 1);
    assert_report(&out, &a);
    /* The next one a heartbeat later, counted from this one. */
    ev_plain(&a, AGENT_EV_TICK, up + 2 * HB - 1, &out);
    ck_assert_int_eq(find_send(&out, WIRE_REPORT), -1);
    ev_plain(&a, AGENT_EV_TICK, up + 2 * HB, &out);
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0);
}
END_TEST

/* ---- orders from the coordinator ---------------------------------------------- */

START_TEST(set_role_primary_newer_epoch)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 5, &out);
    ev_set_role(&a, 6, MODEL_MODE_PRIMARY, T0 + 100, &out);
    int persist = find(&out, AGENT_ACT_PERSIST_EPOCH, 0);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    int report = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(persist, 0);
    ck_assert_int_gt(set, persist); /* persisted before acting on it */
    ck_assert_int_gt(report, persist);
    ck_assert_uint_eq(out.items[persist].epoch, 6);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_SET), 1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.epoch, 6);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "backup -> primary"), 0);
    ck_assert_ptr_nonnull(strstr(a.last_reason, "backup -> primary"));
    assert_report(&out, &a);
    /* The report says what is true: primary now, port being changed (so
     * unknown until read back). */
    const struct wire_report *r = &out.items[report].msg.u.report;
    ck_assert_uint_eq(r->mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(r->epoch, 6);
    ck_assert_uint_eq(r->port_desired, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(r->port_actual, MODEL_PORT_UNKNOWN);
}
END_TEST

START_TEST(set_role_equal_epoch)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 5, &out);
    ev_set_role(&a, 5, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.epoch, 5);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0);
}
END_TEST

START_TEST(set_role_older_epoch_refused)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 9, &out);
    ev_set_role(&a, 8, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 9);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "refused"), 0);
    assert_report(&out, &a); /* tells the sender our epoch */

    /* A primary refuses an old demotion too. */
    ready_primary(&a, 9, &out);
    ev_set_role(&a, 3, MODEL_MODE_BACKUP, T0 + 200, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "refused"), 0);
}
END_TEST

START_TEST(set_role_backup_from_primary)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out);
    ev_set_role(&a, 5, MODEL_MODE_BACKUP, T0 + 200, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 5);
    int persist = find(&out, AGENT_ACT_PERSIST_EPOCH, 0);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(persist, 0);
    ck_assert_int_gt(set, persist);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "primary -> backup"), 0);
    assert_report(&out, &a);
}
END_TEST

START_TEST(set_role_same_mode)
{
    /* Backup told backup at a newer epoch: persist the epoch, report, and
     * leave NLB alone since the port is already right. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 2, &out);
    ev_set_role(&a, 3, MODEL_MODE_BACKUP, T0 + 100, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 3);
    ck_assert_int_ge(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), 0);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "->"), -1);
    assert_report(&out, &a);
}
END_TEST

/* ---- NLB results ------------------------------------------------------------- */

START_TEST(nlb_done_reaches_desired)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_set_role(&a, 2, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 150, &out);
    ck_assert_uint_eq(a.pending, AGENT_NLB_IDLE);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "enabled"), 0);
    assert_report(&out, &a);
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.port_actual,
                      MODEL_PORT_ENABLED);
}
END_TEST

START_TEST(nlb_done_without_link)
{
    /* The result is recorded; with no coordinator there is no one to tell. */
    struct agent a;
    struct agent_actions out;
    init_agent(&a, 0);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 10, &out);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(a.pending, AGENT_NLB_IDLE);
    ck_assert_int_eq(find(&out, AGENT_ACT_SEND, 0), -1);
}
END_TEST

START_TEST(nlb_done_failed_retries_later)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_set_role(&a, 2, MODEL_MODE_PRIMARY, T0 + 100, &out);
    /* The enable fails; the port stays disabled. */
    uint64_t t = T0 + 200;
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 0, t, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0); /* not hammered at once */
    ck_assert_uint_eq(a.pending, AGENT_NLB_IDLE);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "failed"), 0);
    assert_report(&out, &a);
    /* Still nothing just before the retry is due. */
    ev_plain(&a, AGENT_EV_TICK, t + HB - 1, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    /* A later tick reads the port back first ... */
    ev_plain(&a, AGENT_EV_TICK, t + HB, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ck_assert_uint_eq(a.pending, AGENT_NLB_QUERYING);
    /* ... and, still wrong, sets it again, saying so. */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, t + HB + 10, &out);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "repairing"), 0);
    /* This time it works. */
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, t + HB + 20, &out);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
}
END_TEST

START_TEST(nlb_ignored_command_retries_later)
{
    /* The backend says it worked but the read-back disagrees (an NLB that
     * ignores commands): the read-back wins, and the retry waits too. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_set_role(&a, 2, MODEL_MODE_PRIMARY, T0 + 100, &out);
    uint64_t t = T0 + 200;
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, t, &out);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "confirmed"), -1);
    ev_plain(&a, AGENT_EV_TICK, t + HB, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
}
END_TEST

/* W4/W5: the NLB host leaves the cluster (its commands "succeed" and do
 * nothing; reads say disconnected). Said once; the desired state is
 * commanded again every HB/4 (not just read), so a stale enabled rule is
 * disabled the moment the host is back; said once when it is. */
START_TEST(out_of_cluster_retries_and_says_once)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 2, &out);
    uint64_t t = T0 + 1000;
    ev_set_role(&a, 3, MODEL_MODE_BACKUP, t, &out);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ev_nlb_done(&a, MODEL_PORT_DISCONNECTED, 1, t + 10, &out);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "out of the cluster"), 0);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    int r = find_send(&out, WIRE_REPORT);
    ck_assert_uint_eq(out.items[r].msg.u.report.port_actual, MODEL_PORT_DISCONNECTED);
    /* the retry is a set, after HB/4, and is not logged again */
    ev_plain(&a, AGENT_EV_TICK, t + 10 + HB / 4 - 1, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ev_plain(&a, AGENT_EV_TICK, t + 10 + HB / 4, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_SET), 1);
    ck_assert_uint_eq(out.items[find(&out, AGENT_ACT_NLB_SET, 0)].port, MODEL_PORT_DISABLED);
    /* while it runs, the old "disconnected" is no confirmation */
    ev_plain(&a, AGENT_EV_TICK, t + 10 + HB, &out);
    r = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(r, 0);
    ck_assert_uint_eq(out.items[r].msg.u.report.port_actual, MODEL_PORT_UNKNOWN);
    ev_nlb_done(&a, MODEL_PORT_DISCONNECTED, 1, t + 10 + HB + 5, &out);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_WARNING, "out of the cluster"), -1);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_LOG), 0);
    /* back: the next set lands; one line says so */
    uint64_t back = t + 10 + HB + 5 + HB / 4;
    ev_plain(&a, AGENT_EV_TICK, back, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_SET), 1);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, back + 5, &out);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "back in the cluster"), 0);
    ck_assert_uint_eq(a.out_of_cluster, 0);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_DISABLED);
    /* and reconcile goes back to reading every REC */
    ev_plain(&a, AGENT_EV_TICK, back + 5 + HB / 4, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
}
END_TEST

START_TEST(role_change_while_pending)
{
    struct agent a;
    struct agent_actions out;
    init_agent(&a, 1);
    ev_plain(&a, AGENT_EV_START, T0, &out); /* the safe-start disable is running */
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 1, &out);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ev_set_role(&a, 2, MODEL_MODE_PRIMARY, T0 + 2, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1); /* one command at a time */
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0);
    /* Ticks do not start anything either while it runs. (The coordinator's
     * heartbeat keeps this primary in contact: without it the tick, long
     * after isolation_ms, would rightly fence it; see the fencing cases.) */
    ev_heartbeat(&a, 2, 0, T0 + REC, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + REC + 1, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    /* The disable finishes: the newest desire follows at once. */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + REC + 2, &out);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_SET), 1);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);

    /* Back and forth while the enable runs: still one command, and the
     * last order is what NLB gets next. */
    ev_set_role(&a, 3, MODEL_MODE_BACKUP, T0 + REC + 3, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + REC + 4, &out);
    set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
}
END_TEST

/* ---- reconcile --------------------------------------------------------------- */

START_TEST(reconcile_queries_on_schedule)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out); /* START at T0 */
    ev_plain(&a, AGENT_EV_TICK, T0 + REC - 1, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ev_plain(&a, AGENT_EV_TICK, T0 + REC, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
    ck_assert_uint_eq(a.pending, AGENT_NLB_QUERYING);
    /* One query at a time. */
    ev_plain(&a, AGENT_EV_TICK, T0 + REC + 1, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    /* No drift: nothing to do, nothing logged as a warning. */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + REC + 2, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_WARNING, ""), -1);
    ck_assert_uint_eq(a.pending, AGENT_NLB_IDLE);
    /* The next read-back comes a full interval after the last one. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 2 * REC - 1, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ev_plain(&a, AGENT_EV_TICK, T0 + 2 * REC, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
}
END_TEST

START_TEST(reconcile_repairs_drift)
{
    /* W4/W5: a backup whose port was re-enabled behind its back. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + REC, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + REC + 5, &out);
    int drift = find_log(&out, AGENT_LOG_WARNING, "drift");
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(drift, 0);
    ck_assert_int_gt(set, drift);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    assert_report(&out, &a); /* the repair runs: the port is unknown until read back */
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.port_actual,
                      MODEL_PORT_UNKNOWN);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + REC + 10, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_DISABLED);
}
END_TEST

START_TEST(reconcile_repairs_primary)
{
    /* A primary whose port was disabled behind its back gets it back. */
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 3, &out);
    /* In contact with the coordinator, so the primary does not fence
     * itself before the reconcile is due (isolation_ms < reconcile_ms). */
    ev_heartbeat(&a, 3, 0, T0 + REC - 1, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + REC, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + REC + 5, &out);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "drift"), 0);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_ENABLED);
}
END_TEST

START_TEST(reconcile_query_fails)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + REC, &out);
    ev_nlb_done(&a, MODEL_PORT_UNKNOWN, 0, T0 + REC + 5, &out);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "reading"), 0);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_UNKNOWN);
    /* Unknown is not disabled: make sure of it. */
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
}
END_TEST

/* ---- stop -------------------------------------------------------------------- */

START_TEST(stop_from_primary)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 300, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.stopping, 1);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "primary -> backup"), 0);
    ck_assert_uint_eq(a.epoch, 4);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 310, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_DISABLED);
    /* Its last report says it is going: backup, disabled (read back),
     * stopping, and not able to take a role (so the coordinator moves the
     * primary role at once instead of waiting out the loss time). */
    int rep = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(rep, 0);
    const struct wire_report *r = &out.items[rep].msg.u.report;
    ck_assert_uint_eq(r->stopping, 1);
    ck_assert_uint_eq(r->app_healthy, 0);
    ck_assert_uint_eq(r->mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(r->port_actual, MODEL_PORT_DISABLED);
}
END_TEST

START_TEST(stop_while_command_running)
{
    /* The enable is still running when the stop comes: the disable is
     * issued anyway, to run after it. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_set_role(&a, 2, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ev_plain(&a, AGENT_EV_STOP, T0 + 110, &out);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    /* The enable's result does not trigger a repair towards enabled. */
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 120, &out);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
}
END_TEST

START_TEST(stop_ignores_later_orders)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 100, &out);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 110, &out);
    ev_set_role(&a, 5, MODEL_MODE_PRIMARY, T0 + 120, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    /* Ticks no longer query or repair. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 10 * REC, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
}
END_TEST

/* ---- misc -------------------------------------------------------------------- */

START_TEST(unexpected_messages)
{
    static const uint8_t types[] = {WIRE_HELLO,        WIRE_REPORT, WIRE_STATUS_REQ,
                                    WIRE_SWITCHOVER_REQ, WIRE_STATUS_REPLY, WIRE_RESULT,
                                    WIRE_HISTORY_REQ,  WIRE_HISTORY_REPLY};
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 2, &out);
    for (size_t i = 0; i < sizeof types; i++) {
        struct wire_msg m;
        memset(&m, 0, sizeof m);
        m.type = types[i];
        ev_message(&a, &m, T0 + 200, &out);
        ck_assert_uint_eq(out.count, 1);
        ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, wire_type_name(types[i])), 0);
        ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    }
    /* A heartbeat is expected and needs no answer. */
    struct wire_msg hb;
    memset(&hb, 0, sizeof hb);
    hb.type = WIRE_HEARTBEAT;
    hb.u.heartbeat.epoch = 2;
    ev_message(&a, &hb, T0 + 210, &out);
    ck_assert_uint_eq(out.count, 0);
    /* No message at all is ignored. */
    struct agent_event ev = {.type = AGENT_EV_MESSAGE, .msg = NULL};
    step(&a, &ev, T0 + 220, &out);
    ck_assert_uint_eq(out.count, 0);
}
END_TEST

START_TEST(unknown_event_logged)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_plain(&a, 99, T0 + 100, &out);
    ck_assert_uint_eq(out.count, 1);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "99"), 0);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
}
END_TEST

START_TEST(status_fields)
{
    struct agent a;
    struct agent_actions out;
    struct wire_status_reply st;
    ready_backup(&a, 6, &out);
    agent_status(&a, T0 + 50, &st);
    ck_assert_uint_eq(st.role, MODEL_ROLE_AGENT);
    ck_assert_str_eq(st.pair, "pair1");
    ck_assert_str_eq(st.primary, "");
    ck_assert_uint_eq(st.epoch, 6);
    ck_assert_uint_eq(st.phase, 0);
    ck_assert_uint_eq(st.coordinator_link, 1);
    ck_assert_str_eq(st.last_reason, a.last_reason);
    ck_assert_uint_eq(st.node_count, 1);
    ck_assert_str_eq(st.nodes[0].name, "web1");
    ck_assert_uint_eq(st.nodes[0].connected, 1);
    ck_assert_uint_eq(st.nodes[0].mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(st.nodes[0].app_healthy, 1);
    ck_assert_uint_eq(st.nodes[0].port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(st.nodes[0].port_actual, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(st.nodes[0].epoch, 6);
    ck_assert_uint_eq(st.nodes[0].last_heard_ms, 0);

    ev_set_role(&a, 7, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ev_plain(&a, AGENT_EV_COORD_DOWN, T0 + 110, &out);
    agent_status(&a, T0 + 120, &st);
    ck_assert_str_eq(st.primary, "web1");
    ck_assert_uint_eq(st.epoch, 7);
    ck_assert_uint_eq(st.coordinator_link, 0);
    ck_assert_uint_eq(st.nodes[0].mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(st.nodes[0].port_desired, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(st.nodes[0].port_actual, MODEL_PORT_DISABLED);
    ck_assert_ptr_nonnull(strstr(st.last_reason, "backup -> primary"));

    /* What nlbctl receives must pass the codec. */
    struct wire_msg m, back;
    memset(&m, 0, sizeof m);
    m.type = WIRE_STATUS_REPLY;
    m.u.status = st;
    uint8_t buf[WIRE_MAX_FRAME];
    size_t len = 0, used = 0;
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_OK);
    ck_assert_int_eq(wire_decode(buf, len, &back, &used), WIRE_OK);
    ck_assert_str_eq(back.u.status.nodes[0].name, "web1");
}
END_TEST

/* ---- the application (W2) ------------------------------------------------------ */

START_TEST(app_fail_primary_steps_down)
{
    /* W2: the primary's application dies. The agent goes backup and starts
     * disabling its own port in the same step, then says so: no new epoch,
     * it does not wait for the coordinator. */
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out);
    ev_app(&a, 0, T0 + 200, &out);
    ck_assert_uint_eq(a.app_healthy, 0);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(a.epoch, 4);
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    int report = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_SET), 1);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_int_gt(report, set); /* disables its port, then reports */
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    assert_report(&out, &a);
    const struct wire_report *r = &out.items[report].msg.u.report;
    ck_assert_uint_eq(r->app_healthy, 0);
    ck_assert_uint_eq(r->mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(r->port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(r->port_actual, MODEL_PORT_UNKNOWN); /* disable running, not read back */
    ck_assert_ptr_nonnull(strstr(r->reason, "application failed"));
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "application"), 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "primary -> backup"), 0);
    ck_assert_ptr_nonnull(strstr(a.last_reason, "primary -> backup because the application failed"));

    /* The disable is read back and reported. */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 210, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    assert_report(&out, &a);
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.port_actual,
                      MODEL_PORT_DISABLED);
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.app_healthy, 0);
}
END_TEST

START_TEST(app_fail_reports_on_both_links)
{
    /* The news goes to whoever can be reached: coordinator and peer. */
    struct agent a;
    struct agent_actions out;
    init_agent_peer(&a, 3);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 10, &out);
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 20, &out);
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 30, &out);
    ev_set_role(&a, 4, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 110, &out);
    ev_app(&a, 0, T0 + 200, &out);
    int to_coord = find_send(&out, WIRE_REPORT);
    int to_peer = find_send_peer(&out, WIRE_REPORT);
    assert_report_at(&out, to_coord, &a);
    assert_report_at(&out, to_peer, &a);
    ck_assert_uint_eq(out.items[to_peer].msg.u.report.app_healthy, 0);
    ck_assert_uint_eq(out.items[to_peer].msg.u.report.mode, MODEL_MODE_BACKUP);

    /* Coordinator gone: the peer alone hears it (and relays). */
    ready_backup(&a, 3, &out);
    a.set.has_peer = 1;
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 30, &out);
    ev_set_role(&a, 4, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 110, &out);
    ev_plain(&a, AGENT_EV_COORD_DOWN, T0 + 150, &out);
    ev_app(&a, 0, T0 + 200, &out);
    ck_assert_int_eq(find_send(&out, WIRE_REPORT), -1);
    assert_report_at(&out, find_send_peer(&out, WIRE_REPORT), &a);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
}
END_TEST

START_TEST(app_fail_backup_just_reports)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 2, &out);
    ev_app(&a, 0, T0 + 100, &out);
    ck_assert_uint_eq(a.app_healthy, 0);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0); /* already disabled */
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "->"), -1); /* no transition */
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "application"), 0);
    assert_report(&out, &a);
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.app_healthy, 0);
    ck_assert_uint_eq(a.history.count, 1); /* only the safe start */
    /* The same news again is no news. */
    ev_app(&a, 0, T0 + 110, &out);
    ck_assert_uint_eq(out.count, 0);
}
END_TEST

START_TEST(app_recovery_stays_backup)
{
    /* Healthy again: it reports so and stays backup (I3: no automatic
     * failback; only the coordinator gives the role). */
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out);
    ev_app(&a, 0, T0 + 200, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 210, &out);
    ev_app(&a, 1, T0 + 300, &out);
    ck_assert_uint_eq(a.app_healthy, 1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "->"), -1);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "healthy"), 0);
    assert_report(&out, &a);
    const struct wire_report *r = &out.items[find_send(&out, WIRE_REPORT)].msg.u.report;
    ck_assert_uint_eq(r->app_healthy, 1);
    ck_assert_uint_eq(r->mode, MODEL_MODE_BACKUP);
    ev_app(&a, 1, T0 + 310, &out);
    ck_assert_uint_eq(out.count, 0);
    ev_plain(&a, AGENT_EV_TICK, T0 + 300 + HB, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
}
END_TEST

START_TEST(set_role_primary_refused_while_unhealthy)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 5, &out);
    ev_app(&a, 0, T0 + 50, &out);
    ev_set_role(&a, 6, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    ck_assert_uint_eq(a.epoch, 5); /* the order is refused as a whole */
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "not healthy"), 0);
    assert_report(&out, &a); /* the coordinator learns why */
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.app_healthy, 0);

    /* A demotion is still obeyed. */
    ev_set_role(&a, 6, MODEL_MODE_BACKUP, T0 + 110, &out);
    ck_assert_uint_eq(a.epoch, 6);
    ck_assert_int_ge(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), 0);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);

    /* Healthy again: the next order to serve is obeyed. */
    ev_app(&a, 1, T0 + 200, &out);
    ev_set_role(&a, 7, MODEL_MODE_PRIMARY, T0 + 210, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_ENABLED);
}
END_TEST

START_TEST(app_fail_while_enable_running)
{
    /* The enable is still running when the application dies: one command
     * at a time, and the disable follows as soon as it ends. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_set_role(&a, 2, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ck_assert_uint_eq(a.pending, AGENT_NLB_SETTING);
    ev_app(&a, 0, T0 + 110, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 120, &out);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
}
END_TEST

/* ---- fencing (I5) -------------------------------------------------------------- */

START_TEST(fence_exact_boundary)
{
    /* ready_primary's HEARTBEAT at T0 + 100 (silent_ms 0) is the last
     * contact; its SET_ROLE at the same moment is not contact. */
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 100);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_ERROR, "isolated"), -1);

    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "isolated"), 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "primary -> backup"), 0);
    ck_assert_ptr_nonnull(strstr(a.last_reason, "isolated"));
    ck_assert_uint_eq(a.epoch, 4); /* its own decision: no new epoch */
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    assert_report(&out, &a);
    ck_assert_ptr_nonnull(strstr(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.reason,
                                 "isolated"));

    /* Once: later ticks do not fence again. */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 100 + ISO + 10, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO + HB, &out);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_ERROR, "isolated"), -1);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);

    /* Heard again and told primary again, it serves again. The contact is
     * the HEARTBEAT's (t - 10), not the order's (t): a SET_ROLE no longer
     * counts as contact, since it carries no proof of when the coordinator
     * last heard us (fence_set_role_is_not_contact). */
    uint64_t t = T0 + 100 + ISO + 2 * HB;
    ev_heartbeat(&a, 4, 0, t - 10, &out);
    ev_set_role(&a, 4, MODEL_MODE_PRIMARY, t, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.last_contact_at, t - 10);
    ev_plain(&a, AGENT_EV_TICK, t - 10 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, t - 10 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
}
END_TEST

/* Found by the SPIN model (tests/model): a backup already out of contact
 * for isolation_ms took a SET_ROLE primary and started an enable; the next
 * tick fenced it, but its disable could only start once the enable had
 * landed, so the port stayed enabled up to isolation_ms + 2 x nlb_timeout_ms
 * after its last contact, past the timing rule's one NLB command (the
 * coordinator, which last heard it about then, may promote the other node
 * once loss_ms > isolation_ms + nlb_timeout_ms + max_delay_ms has passed).
 * An isolated agent refuses to become primary. */
START_TEST(fence_isolated_backup_refuses_primary)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 5, &out);
    ck_assert_uint_eq(a.last_contact_at, T0);
    ev_set_role(&a, 6, MODEL_MODE_PRIMARY, T0 + ISO + 10, &out);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(a.pending, AGENT_NLB_IDLE);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "refused SET_ROLE primary"), 0);
    int report = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(report, 0); /* tells the coordinator it stays backup */
    ck_assert_uint_eq(out.items[report].msg.u.report.mode, MODEL_MODE_BACKUP);
    /* Contact again: the same order is obeyed. */
    ev_heartbeat(&a, 5, 0, T0 + ISO + 20, &out);
    ev_set_role(&a, 6, MODEL_MODE_PRIMARY, T0 + ISO + 30, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.epoch, 6);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
}
END_TEST

/* The same edge with the NLB time limit known: an enable started now must
 * land before the fence, so that the fence's disable starts on time. */
START_TEST(fence_primary_order_needs_time_to_enable)
{
    struct agent_settings set;
    settings(&set);
    set.nlb_timeout_ms = 600;
    struct agent a;
    struct agent_actions out;
    agent_init(&a, &set, 5, T0);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 10, &out);
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 20, &out);
    ev_heartbeat(&a, 5, 0, T0 + 100, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 100);
    /* 600 ms left before the fence: the enable might still be running. */
    ev_set_role(&a, 6, MODEL_MODE_PRIMARY, T0 + 100 + ISO - 600, &out);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    /* Contact at t, then 601 ms left: it lands before the fence. */
    uint64_t t = T0 + 100 + ISO - 590;
    ev_heartbeat(&a, 5, 0, t, &out);
    ev_set_role(&a, 6, MODEL_MODE_PRIMARY, t + ISO - 601, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
}
END_TEST

START_TEST(fence_heartbeat_is_contact)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out);
    ev_heartbeat(&a, 4, 0, T0 + 1000, &out);
    ck_assert_uint_eq(out.count, 0);
    ck_assert_uint_eq(a.last_contact_at, T0 + 1000);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO, &out); /* would have fenced */
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, T0 + 1000 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, T0 + 1000 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);

    /* A steady heartbeat keeps it serving indefinitely. */
    ready_primary(&a, 4, &out);
    for (uint64_t t = T0 + 100 + HB; t < T0 + 20 * ISO; t += HB) {
        ev_heartbeat(&a, 4, HB / 2, t, &out);
        ev_plain(&a, AGENT_EV_TICK, t + 1, &out);
        ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
        ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    }
}
END_TEST

START_TEST(fence_heartbeat_silent_is_not_fresh)
{
    /* A heartbeat arrives, but the coordinator says it has not heard this
     * agent for a while (its reports are lost on the way): traffic in one
     * direction is not contact. Contact is when the other side last heard
     * us: now - silent_ms. */
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 4, &out); /* contact at T0 + 100 */
    ev_heartbeat(&a, 4, 1400, T0 + 1500, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 100);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "isolated"), 0);

    /* Heard 1000 ms before the heartbeat: contact at T0 + 500. */
    ready_primary(&a, 4, &out);
    ev_heartbeat(&a, 4, 1000, T0 + 1500, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 500);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, T0 + 500 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, T0 + 500 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);

    /* Contact never moves back, and a silence that cannot be (longer than
     * the clock, or "never") changes nothing. */
    ready_primary(&a, 4, &out);
    ev_heartbeat(&a, 4, 0, T0 + 1000, &out);
    ev_heartbeat(&a, 4, 900, T0 + 1100, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 1000);
    ev_heartbeat(&a, 4, WIRE_SILENT_NEVER, T0 + 1200, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 1000);
    ev_heartbeat(&a, 4, T0 + 1300 + 1, T0 + 1300, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 1000);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
}
END_TEST

START_TEST(fence_set_role_is_not_contact)
{
    /* A SET_ROLE answers a REPORT of ours, but says nothing of when the
     * coordinator last heard us (it may be a stale order, or our reports
     * may be lost on the way): only a HEARTBEAT's silent_ms and a peer
     * REPORT's peer_silent_ms are contact. A primary that gets nothing but
     * SET_ROLEs fences isolation_ms after its last real contact. Here
     * that is agent_init at T0: no heartbeat ever arrives. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 3, &out);
    ck_assert_uint_eq(a.last_contact_at, T0);
    ev_set_role(&a, 4, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ck_assert_uint_eq(a.last_contact_at, T0);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 110, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    /* Orders keep coming: the same one, a newer epoch, a refused older one. */
    ev_set_role(&a, 4, MODEL_MODE_PRIMARY, T0 + 600, &out);
    ev_set_role(&a, 5, MODEL_MODE_PRIMARY, T0 + 1100, &out);
    ck_assert_uint_eq(a.epoch, 5);
    ev_set_role(&a, 3, MODEL_MODE_PRIMARY, T0 + 1200, &out);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "refused"), 0);
    ck_assert_uint_eq(a.last_contact_at, T0);
    ev_plain(&a, AGENT_EV_TICK, T0 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ev_set_role(&a, 5, MODEL_MODE_PRIMARY, T0 + ISO - 1, &out); /* right at the edge */
    ck_assert_uint_eq(a.last_contact_at, T0);
    ev_plain(&a, AGENT_EV_TICK, T0 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "isolated"), 0);
    ck_assert_uint_eq(a.epoch, 5);

    /* Ordered primary again, still with no heartbeat: it refuses, since
     * it is still out of contact (it used to obey and fence on the next
     * tick, with its disable held back behind the enable: see
     * fence_isolated_backup_refuses_primary). */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + ISO + 10, &out);
    ev_set_role(&a, 5, MODEL_MODE_PRIMARY, T0 + ISO + 100, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.last_contact_at, T0);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "refused SET_ROLE primary"), 0);

    /* The same from a peer-only primary: orders from the coordinator do
     * not keep it serving, the peer's word does. */
    init_agent_peer(&a, 3);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 10, &out);
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 20, &out);
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 30, &out);
    ev_set_role(&a, 4, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 110, &out);
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 4, 200, T0 + 1000, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 800);
    ev_set_role(&a, 4, MODEL_MODE_PRIMARY, T0 + 1500, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 800);
    ev_plain(&a, AGENT_EV_TICK, T0 + 800 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, T0 + 800 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
}
END_TEST

/* A primary with a peer link and no coordinator link: made primary at
 * T0 + 100, the coordinator lost at T0 + 200. Its last contact is the
 * coordinator's HEARTBEAT at T0 + 100 (silent_ms 0), not the SET_ROLE. */
static void primary_peer_only(struct agent *a, struct agent_actions *out)
{
    init_agent_peer(a, 3);
    ev_plain(a, AGENT_EV_START, T0, out);
    ev_nlb_done(a, MODEL_PORT_DISABLED, 1, T0 + 10, out);
    ev_plain(a, AGENT_EV_COORD_UP, T0 + 20, out);
    ev_plain(a, AGENT_EV_PEER_UP, T0 + 30, out);
    ev_heartbeat(a, 3, 0, T0 + 100, out);
    ev_set_role(a, 4, MODEL_MODE_PRIMARY, T0 + 100, out);
    ev_nlb_done(a, MODEL_PORT_ENABLED, 1, T0 + 110, out);
    ev_plain(a, AGENT_EV_COORD_DOWN, T0 + 200, out);
    ck_assert_uint_eq(a->mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a->last_contact_at, T0 + 100);
}

START_TEST(fence_peer_report_is_contact)
{
    /* The coordinator is gone but the peer still hears this primary: it
     * keeps serving (coordinator lost: no failover needed, none happens). */
    struct agent a;
    struct agent_actions out;
    primary_peer_only(&a, &out);
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 4, 0, T0 + 1000, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 1000);
    ev_plain(&a, AGENT_EV_TICK, T0 + 1000 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, T0 + 1000 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);

    /* The peer's report says when it last heard us. */
    primary_peer_only(&a, &out);
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 4, 300, T0 + 1000, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 700);
    ev_plain(&a, AGENT_EV_TICK, T0 + 700 + ISO - 1, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ev_plain(&a, AGENT_EV_TICK, T0 + 700 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);

    /* A peer that has not heard us for long is no contact; nor is one
     * without a link back (WIRE_SILENT_NEVER). */
    primary_peer_only(&a, &out);
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 4, 1400, T0 + 1500, &out);
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 4, WIRE_SILENT_NEVER,
                   T0 + 1550, &out);
    ck_assert_uint_eq(a.last_contact_at, T0 + 100);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "isolated"), 0);
    /* The fencing is told to the peer, the one link left. */
    assert_report_at(&out, find_send_peer(&out, WIRE_REPORT), &a);
    ck_assert_int_eq(find_send(&out, WIRE_REPORT), -1);
}
END_TEST

START_TEST(fence_never_backup)
{
    /* A backup serves nothing: however long it is cut off, it never fences
     * (and logs nothing about it). */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_plain(&a, AGENT_EV_COORD_DOWN, T0 + 30, &out);
    for (uint64_t t = T0 + HB; t < T0 + 20 * ISO; t += HB) {
        ev_plain(&a, AGENT_EV_TICK, t, &out);
        ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
        ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
        ck_assert_int_eq(find_log(&out, AGENT_LOG_ERROR, "isolated"), -1);
        if (a.pending == AGENT_NLB_QUERYING)
            ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, t + 1, &out);
    }
    ck_assert_uint_eq(a.history.count, 1);
}
END_TEST

/* ---- peer link ----------------------------------------------------------------- */

START_TEST(peer_up_hello_and_report)
{
    struct agent a;
    struct agent_actions out;
    init_agent_peer(&a, 3);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 10, &out);
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 20, &out);
    ck_assert_uint_eq(a.peer_up, 1);
    int hello = find_send_peer(&out, WIRE_HELLO);
    int report = find_send_peer(&out, WIRE_REPORT);
    ck_assert_int_ge(hello, 0);
    ck_assert_int_gt(report, hello);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND_PEER), 2);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND), 0); /* no coordinator link */
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_str_eq(out.items[hello].msg.u.hello.pair, "pair1");
    ck_assert_str_eq(out.items[hello].msg.u.hello.node, "web1");
    assert_report_at(&out, report, &a);
    const struct wire_report *r = &out.items[report].msg.u.report;
    ck_assert_uint_eq(r->epoch, 3);
    ck_assert_uint_eq(r->port_actual, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(r->peer_silent_ms, 20); /* never heard: counted from the start */
    ck_assert_uint_eq(r->peer_mode, 0);
    ck_assert_uint_eq(r->peer_epoch, 0);
    ck_assert_str_eq(r->reason, a.last_reason);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "peer"), 0);

    /* Heartbeat reports go to the peer alone while only it is up. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 20 + HB - 1, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND_PEER), 0);
    ev_plain(&a, AGENT_EV_TICK, T0 + 30 + HB, &out); /* the peer-up report reset the period */
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND_PEER), 1);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND), 0);

    /* Both links up: each heartbeat goes to both. */
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 600, &out);
    ck_assert_int_ge(find_send(&out, WIRE_HELLO), 0);
    ck_assert_int_eq(find_send_peer(&out, WIRE_HELLO), -1);
    ev_plain(&a, AGENT_EV_TICK, T0 + 600 + HB, &out);
    assert_report_at(&out, find_send(&out, WIRE_REPORT), &a);
    assert_report_at(&out, find_send_peer(&out, WIRE_REPORT), &a);
}
END_TEST

START_TEST(peer_down)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out); /* coordinator link up at T0 + 20 */
    a.set.has_peer = 1;
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 30, &out);
    ev_plain(&a, AGENT_EV_PEER_DOWN, T0 + 40, &out);
    ck_assert_uint_eq(a.peer_up, 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "peer"), 0);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ev_plain(&a, AGENT_EV_PEER_DOWN, T0 + 50, &out);
    ck_assert_uint_eq(out.count, 0); /* said once */
    ev_plain(&a, AGENT_EV_TICK, T0 + 30 + HB, &out);
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND_PEER), 0);
}
END_TEST

START_TEST(peer_report_reflected)
{
    struct agent a;
    struct agent_actions out;
    init_agent_peer(&a, 3);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 10, &out);
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 20, &out);
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 30, &out);

    /* The peer is primary with its port draining (port_actual, not the
     * desire, is what is relayed). */
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_DRAINING, 9, 100, T0 + 200, &out);
    ck_assert_uint_eq(a.peer_heard, 1);
    ck_assert_uint_eq(a.peer_heard_at, T0 + 200);
    ck_assert_uint_eq(a.peer.mode, MODEL_MODE_PRIMARY);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "hearing the peer"), 0);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_SEND) + count_of(&out, AGENT_ACT_SEND_PEER), 0);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    /* A peer's word is not an order. */
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 3);
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_DRAINING, 9, 100, T0 + 300, &out);
    ck_assert_uint_eq(out.count, 0); /* logged the first time only */

    ev_plain(&a, AGENT_EV_TICK, T0 + 700, &out);
    int i = find_send(&out, WIRE_REPORT);
    assert_report_at(&out, i, &a);
    const struct wire_report *r = &out.items[i].msg.u.report;
    ck_assert_uint_eq(r->peer_silent_ms, 400);
    ck_assert_uint_eq(r->peer_mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(r->peer_app_healthy, 1);
    ck_assert_uint_eq(r->peer_port, MODEL_PORT_DRAINING);
    ck_assert_uint_eq(r->peer_epoch, 9);
    /* The peer's copy says the same. */
    r = &out.items[find_send_peer(&out, WIRE_REPORT)].msg.u.report;
    ck_assert_uint_eq(r->peer_silent_ms, 400);
    ck_assert_uint_eq(r->peer_epoch, 9);

    /* Its next report replaces the last. */
    ev_peer_report(&a, MODEL_MODE_BACKUP, 0, MODEL_PORT_DISABLED, 10, 0, T0 + 800, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + 1200, &out);
    r = &out.items[find_send(&out, WIRE_REPORT)].msg.u.report;
    ck_assert_uint_eq(r->peer_silent_ms, 400);
    ck_assert_uint_eq(r->peer_mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(r->peer_app_healthy, 0);
    ck_assert_uint_eq(r->peer_port, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(r->peer_epoch, 10);

    /* The link drops: the view is kept and ages. */
    ev_plain(&a, AGENT_EV_PEER_DOWN, T0 + 1300, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + 4000, &out);
    r = &out.items[find_send(&out, WIRE_REPORT)].msg.u.report;
    ck_assert_uint_eq(r->peer_silent_ms, 3200);
    ck_assert_uint_eq(r->peer_epoch, 10);
}
END_TEST

START_TEST(peer_silent_ms_values)
{
    struct agent a;
    struct agent_actions out;
    /* No peer link configured: "never", whatever happens. */
    init_agent(&a, 1);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0), WIRE_SILENT_NEVER);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 100000), WIRE_SILENT_NEVER);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_plain(&a, AGENT_EV_COORD_UP, T0 + 10, &out);
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.peer_silent_ms,
                      WIRE_SILENT_NEVER);
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_ENABLED, 1, 0, T0 + 20, &out);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 30), WIRE_SILENT_NEVER);

    /* With one: from the start until the peer is first heard ... */
    init_agent_peer(&a, 1);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0), 0);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 700), 700);
    /* ... then from its last report. */
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_ENABLED, 1, 0, T0 + 1000, &out);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 1000), 0);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 1600), 600);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 500), 0); /* a clock read early */
    /* Losing the link does not reset it. */
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 1650, &out);
    ev_plain(&a, AGENT_EV_PEER_DOWN, T0 + 1700, &out);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 2000), 1000);
    /* Very long silences saturate below "never". */
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 1000 + 0x100000000ull), WIRE_SILENT_NEVER - 1);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 1000 + 0xFFFFFFFEull), WIRE_SILENT_NEVER - 1);
    ck_assert_uint_eq(agent_peer_silent_ms(&a, T0 + 1000 + 0xFFFFFFFDull), 0xFFFFFFFDu);
}
END_TEST

START_TEST(peer_hello_checked)
{
    struct agent a;
    struct agent_actions out;
    init_agent_peer(&a, 1);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_HELLO;
    strcpy(m.u.hello.pair, "pair1");
    strcpy(m.u.hello.node, "web2");
    ev_peer_msg(&a, &m, T0 + 10, &out);
    ck_assert_uint_eq(out.count, 0);
    strcpy(m.u.hello.pair, "pair2");
    ev_peer_msg(&a, &m, T0 + 20, &out);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "pair2"), 0);
    strcpy(m.u.hello.pair, "pair1");
    strcpy(m.u.hello.node, "web1"); /* our own name: a loop or a copied config */
    ev_peer_msg(&a, &m, T0 + 30, &out);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "web1"), 0);
    ck_assert_uint_eq(a.peer_heard, 0); /* a HELLO is not a report */
}
END_TEST

START_TEST(peer_cannot_give_orders)
{
    /* The peer link carries reports; a SET_ROLE on it is ignored. */
    static const uint8_t types[] = {WIRE_SET_ROLE, WIRE_HEARTBEAT, WIRE_STATUS_REQ,
                                    WIRE_SWITCHOVER_REQ, WIRE_RESULT, WIRE_HISTORY_REQ};
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    a.set.has_peer = 1;
    for (size_t i = 0; i < sizeof types; i++) {
        struct wire_msg m;
        memset(&m, 0, sizeof m);
        m.type = types[i];
        m.u.set_role.epoch = 99;
        m.u.set_role.mode = MODEL_MODE_PRIMARY;
        ev_peer_msg(&a, &m, T0 + 100, &out);
        ck_assert_uint_eq(out.count, 1);
        ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, wire_type_name(types[i])), 0);
    }
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 1);
    ck_assert_uint_eq(a.peer_heard, 0);
    struct agent_event ev = {.type = AGENT_EV_PEER_MESSAGE, .msg = NULL};
    step(&a, &ev, T0 + 110, &out);
    ck_assert_uint_eq(out.count, 0);
}
END_TEST

/* Only the other node of our pair may pass as the peer: another holder of
 * the key (the coordinator's host, a third node) must not. */
START_TEST(peer_hello_names_the_peer)
{
    struct agent_settings set;
    settings(&set);
    struct wire_hello h;
    memset(&h, 0, sizeof h);
    strcpy(h.pair, "pair1");
    strcpy(h.node, "web2");
    ck_assert_int_eq(agent_peer_hello_ok(&set, &h), 1); /* [pair] not set: any other name */
    strcpy(h.node, "web1");
    ck_assert_int_eq(agent_peer_hello_ok(&set, &h), 0); /* ourselves */
    strcpy(set.peer_node, "web2");
    strcpy(h.node, "web2");
    ck_assert_int_eq(agent_peer_hello_ok(&set, &h), 1);
    strcpy(h.node, "web3");
    ck_assert_int_eq(agent_peer_hello_ok(&set, &h), 0); /* unknown node */
    strcpy(h.node, "WEB2");
    ck_assert_int_eq(agent_peer_hello_ok(&set, &h), 0); /* names are exact on the wire */
    strcpy(h.node, "web2");
    strcpy(h.pair, "pair2");
    ck_assert_int_eq(agent_peer_hello_ok(&set, &h), 0); /* another pair */

    /* The core logs a mismatch it is fed, naming the expected peer. */
    struct agent a;
    struct agent_actions out;
    agent_init(&a, &set, 0, T0);
    struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_HELLO;
    m.u.hello = h;
    strcpy(m.u.hello.node, "web3");
    strcpy(m.u.hello.pair, "pair1");
    struct agent_event ev = {.type = AGENT_EV_PEER_MESSAGE, .msg = &m};
    step(&a, &ev, T0 + 1, &out);
    int found = 0;
    for (unsigned i = 0; i < out.count; i++)
        if (out.items[i].type == AGENT_ACT_LOG && strstr(out.items[i].text, "other node is web2"))
            found = 1;
    ck_assert_int_eq(found, 1);
}
END_TEST

START_TEST(status_peer_link_last_change)
{
    struct agent a;
    struct agent_actions out;
    struct wire_status_reply st;
    init_agent_peer(&a, 1);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 1, 0, T0 + 1000, &out);
    agent_status(&a, T0 + 1000 + PEER_LOSS - 1, &st);
    ck_assert_uint_eq(st.nodes[0].peer_link, 1);
    agent_status(&a, T0 + 1000 + PEER_LOSS, &st);
    ck_assert_uint_eq(st.nodes[0].peer_link, 0);
    ck_assert_str_eq(st.nodes[0].last_change, "safe start as backup, port disabled");

    /* No peer link configured: never up. */
    ready_primary(&a, 4, &out);
    agent_status(&a, T0 + 120, &st);
    ck_assert_uint_eq(st.nodes[0].peer_link, 0);
    ck_assert_str_eq(st.nodes[0].last_change, a.last_reason);
    ck_assert_ptr_nonnull(strstr(st.nodes[0].last_change, "backup -> primary"));

    /* The last change follows the transitions, cut to the wire's field. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO, &out); /* fenced */
    agent_status(&a, T0 + 100 + ISO, &st);
    ck_assert_ptr_nonnull(strstr(st.nodes[0].last_change, "isolated"));
    ck_assert_str_eq(st.last_reason, a.last_reason);
    ck_assert_uint_eq(st.last_reason_age_ms, 0);
    agent_status(&a, T0 + 100 + ISO + 250, &st);
    ck_assert_uint_eq(st.last_reason_age_ms, 250); /* when it happened travels as an age */
    ck_assert_uint_eq(st.nodes[0].last_change_age_ms, 250);
    ck_assert_uint_le(strlen(st.nodes[0].last_change), WIRE_REASON_MAX);
    ck_assert_int_eq(strncmp(st.nodes[0].last_change, a.last_reason, WIRE_REASON_MAX), 0);

    struct wire_msg m, back;
    memset(&m, 0, sizeof m);
    m.type = WIRE_STATUS_REPLY;
    m.u.status = st;
    uint8_t buf[WIRE_MAX_FRAME];
    size_t len = 0, used = 0;
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_OK);
    ck_assert_int_eq(wire_decode(buf, len, &back, &used), WIRE_OK);
    ck_assert_str_eq(back.u.status.nodes[0].last_change, st.nodes[0].last_change);
    ck_assert_uint_eq(back.u.status.nodes[0].peer_link, 0);
}
END_TEST

/* ---- history ------------------------------------------------------------------- */

START_TEST(history_in_order)
{
    struct agent a;
    struct agent_actions out;
    init_agent(&a, 3);
    ck_assert_uint_eq(a.history.count, 0);
    ck_assert_ptr_null(model_history_get(&a.history, 0, NULL));
    ready_primary(&a, 4, &out); /* start at T0, primary at T0 + 100 */
    ev_app(&a, 0, T0 + 200, &out);
    /* Events that change no mode leave no entry. */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 210, &out);
    ev_set_role(&a, 5, MODEL_MODE_BACKUP, T0 + 220, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + 230, &out);
    ck_assert_uint_eq(a.history.count, 3);
    uint64_t at = 0;
    const char *t = model_history_get(&a.history, 0, &at);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t, "primary -> backup because the application failed");
    ck_assert_uint_eq(at, T0 + 200);
    t = model_history_get(&a.history, 1, &at);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t, "backup -> primary because coordinator ordered primary (epoch 4)");
    ck_assert_uint_eq(at, T0 + 100);
    t = model_history_get(&a.history, 2, &at);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t, "safe start as backup, port disabled");
    ck_assert_uint_eq(at, T0);
    at = 777;
    ck_assert_ptr_null(model_history_get(&a.history, 3, &at));
    ck_assert_uint_eq(at, 777); /* untouched */
    ck_assert_ptr_nonnull(model_history_get(&a.history, 0, NULL)); /* `at` is optional */
}
END_TEST

START_TEST(history_capped)
{
    /* Twenty role changes after the start: the newest MODEL_HISTORY_MAX
     * are kept, newest first. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    for (unsigned i = 0; i < 20; i++)
        ev_set_role(&a, 2 + i, (i & 1) ? MODEL_MODE_BACKUP : MODEL_MODE_PRIMARY,
                    T0 + 100 + 10 * i, &out);
    ck_assert_uint_eq(a.history.count, MODEL_HISTORY_MAX);
    for (unsigned k = 0; k < MODEL_HISTORY_MAX; k++) {
        unsigned i = 19 - k; /* the k-th newest is change i */
        uint64_t at = 0;
        const char *t = model_history_get(&a.history, k, &at);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(at, T0 + 100 + 10 * i);
        char want[32];
        snprintf(want, sizeof want, "(epoch %u)", 2 + i);
        ck_assert_msg(strstr(t, want) != NULL, "entry %u is '%s', expected %s", k, t, want);
    }
    ck_assert_ptr_null(model_history_get(&a.history, MODEL_HISTORY_MAX, NULL));
}
END_TEST

/* ---- core bugs ------------------------------------------------------------------ */

START_TEST(app_change_while_stopping)
{
    /* REGRESSION (fixed): agent.c on_app() calls reconcile() even while stopping,
     * unlike on_tick(), on_set_role() and on_nlb_done(), which leave NLB
     * alone once the stop's disable is issued. on_stop() issues its disable
     * while another command may still run ("the shell runs this one after
     * the running one ends"); when that earlier command ends, pending is
     * IDLE though the stop's disable is still queued, and an application
     * event then starts a third command: two NLB commands outstanding
     * outside the one documented exception. Input: backup, SET_ROLE primary
     * (enable running), STOP (disable queued), NLB_DONE enabled for the
     * enable, APP ok=0. Expected: no NLB command from the APP event (the
     * stop's disable is still to run). Actual: NLB_SET disabled. */
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 1, &out);
    ev_set_role(&a, 2, MODEL_MODE_PRIMARY, T0 + 100, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 110, &out);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 1, T0 + 120, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ev_app(&a, 0, T0 + 130, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
}
END_TEST

START_TEST(nlb_done_reported_to_peer)
{
    /* REGRESSION (fixed): agent.c on_nlb_done() sends its report only `if
     * (a->coord_up)`, although send_report() serves both links and the
     * heartbeat (on_tick) already sends when either is up. With the
     * coordinator lost and the peer up, a primary whose application fails
     * tells the peer "backup, port still enabled" (on_app), but the
     * read-back that the port is now disabled is not sent to the peer; it
     * waits for the next heartbeat. That is the very report the peer must
     * relay so the coordinator can promote it (W2 through the peer, and
     * coordinator_not_serving()'s "peer says backup, port disabled").
     * Input: primary_peer_only(), APP ok=0, NLB_DONE disabled.
     * Expected: a SEND_PEER REPORT with port_actual disabled in the
     * NLB_DONE step. Actual: no SEND_PEER at all. */
    struct agent a;
    struct agent_actions out;
    primary_peer_only(&a, &out);
    ev_app(&a, 0, T0 + 300, &out);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 310, &out);
    int i = find_send_peer(&out, WIRE_REPORT);
    ck_assert_msg(i >= 0, "the confirmed disable was not reported to the peer");
    assert_report_at(&out, i, &a);
    ck_assert_uint_eq(out.items[i].msg.u.report.port_actual, MODEL_PORT_DISABLED);
}
END_TEST

START_TEST(status_peer_link_before_heard)
{
    /* REGRESSION (fixed): agent.c agent_status() sets peer_link from
     * agent_peer_silent_ms() < peer_loss_ms, and agent_peer_silent_ms()
     * counts from the agent's start while the peer has never been heard.
     * So for the first peer_loss_ms after a start, `nlbctl status` shows
     * the peer link up (wire.h: "1: it hears its peer agent") though no
     * message from the peer ever arrived, e.g. with the peer host down.
     * (Counting the silence from the start is right for the REPORT's
     * peer_silent_ms, which the coordinator reads conservatively; the
     * status flag is a statement of fact.) Input: has_peer = 1, START,
     * nothing from the peer, agent_status at T0 + 100. Expected peer_link
     * 0; actual 1. */
    struct agent a;
    struct agent_actions out;
    struct wire_status_reply st;
    init_agent_peer(&a, 1);
    ev_plain(&a, AGENT_EV_START, T0, &out);
    agent_status(&a, T0 + 100, &st);
    ck_assert_uint_eq(st.nodes[0].peer_link, 0);
}
END_TEST

/* ---- long runs --------------------------------------------------------------- */

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

START_TEST(random_event_sequence)
{
    /* A shell that answers every NLB command, in order, with random
     * results, under random orders, link changes, application health,
     * coordinator heartbeats and peer reports. Beyond the per-step checks:
     * one NLB command at a time (except the stop's disable), mode and
     * desire agree, a stopped agent never enables, a primary always has a
     * healthy application, and after every tick a primary has had two-way
     * contact within isolation_ms. */
    unsigned fenced = 0, app_steps_down = 0;
    for (uint32_t run = 0; run < 40; run++) {
        uint32_t seed = 0x9E3779B9u ^ (run * 2654435761u);
        if (seed == 0)
            seed = 1;
        struct agent a;
        struct agent_actions out;
        if (run & 1)
            init_agent_peer(&a, run);
        else
            init_agent(&a, run);
        ev_plain(&a, AGENT_EV_START, T0, &out);
        unsigned outstanding = nlb_commands(&out);
        uint64_t now = T0;
        for (unsigned i = 0; i < 500; i++) {
            uint32_t r = xorshift32(&seed);
            now += r % 1500;
            uint8_t mode_before = a.mode;
            uint64_t epoch_before = a.epoch;
            uint8_t was_stopping = a.stopping;
            uint8_t healthy_before = a.app_healthy;
            unsigned kind = (r >> 12) % 24;
            uint8_t ev_type;
            if (kind < 5 && outstanding > 0) {
                ev_type = AGENT_EV_NLB_DONE;
                ev_nlb_done(&a, (uint8_t)((r >> 20) % 4), ((r >> 22) & 3) != 0, now, &out);
                outstanding--;
            } else if (kind < 9) {
                ev_type = AGENT_EV_MESSAGE;
                /* Around the current epoch, sometimes older. */
                uint64_t e = a.epoch + (r >> 20) % 3;
                if (((r >> 24) & 3) == 0 && a.epoch > 0)
                    e = a.epoch - 1;
                uint8_t mode = (uint8_t)((r >> 26) & 1);
                ev_set_role(&a, e, mode, now, &out);
                if (e < epoch_before || was_stopping)
                    ck_assert_uint_eq(a.mode, mode_before);
                if (mode == MODEL_MODE_PRIMARY && !healthy_before)
                    ck_assert_uint_eq(a.mode, mode_before);
                /* Out of contact, it does not start an enable. */
                if (mode_before != MODEL_MODE_PRIMARY && now >= a.last_contact_at + ISO)
                    ck_assert_uint_eq(a.mode, mode_before);
            } else if (kind < 13) {
                ev_type = AGENT_EV_TICK;
                ev_plain(&a, ev_type, now, &out);
            } else if (kind == 13) {
                ev_type = AGENT_EV_COORD_UP;
                ev_plain(&a, ev_type, now, &out);
            } else if (kind == 14) {
                ev_type = AGENT_EV_COORD_DOWN;
                ev_plain(&a, ev_type, now, &out);
            } else if (kind == 15 && (r >> 28) == 0) {
                ev_type = AGENT_EV_STOP;
                ev_plain(&a, ev_type, now, &out);
            } else if ((kind == 16 || kind == 17) && !a.stopping) {
                /* Not once stopping: app_change_while_stopping in core_bugs. */
                ev_type = AGENT_EV_APP;
                ev_app(&a, ((r >> 20) & 3) != 0, now, &out);
            } else if (kind == 18) {
                ev_type = ((r >> 20) & 1) ? AGENT_EV_PEER_UP : AGENT_EV_PEER_DOWN;
                ev_plain(&a, ev_type, now, &out);
            } else if (kind < 21) {
                ev_type = AGENT_EV_PEER_MESSAGE;
                uint32_t silent = ((r >> 20) & 7) == 0 ? WIRE_SILENT_NEVER : (r >> 16) % 3000;
                ev_peer_report(&a, (uint8_t)((r >> 24) & 1), (r >> 25) & 1,
                               (uint8_t)((r >> 26) % 4), a.epoch, silent, now, &out);
            } else if (kind < 23) {
                ev_type = AGENT_EV_MESSAGE;
                uint32_t silent = ((r >> 20) & 7) == 0 ? WIRE_SILENT_NEVER : (r >> 16) % 3000;
                ev_heartbeat(&a, a.epoch, silent, now, &out);
            } else {
                ev_type = AGENT_EV_TICK;
                ev_plain(&a, ev_type, now, &out);
            }
            unsigned cmds = nlb_commands(&out);
            ck_assert_uint_le(cmds, 1);
            if (ev_type != AGENT_EV_STOP && outstanding > 0)
                ck_assert_msg(cmds == 0, "run %u step %u: a second NLB command while one runs",
                              run, i);
            outstanding += cmds;
            ck_assert_uint_eq(a.port_desired, a.mode == MODEL_MODE_PRIMARY
                                                  ? MODEL_PORT_ENABLED
                                                  : MODEL_PORT_DISABLED);
            if (a.mode == MODEL_MODE_PRIMARY)
                ck_assert_msg(a.app_healthy, "run %u step %u: primary with a failed application",
                              run, i);
            if (ev_type == AGENT_EV_TICK && a.mode == MODEL_MODE_PRIMARY)
                ck_assert_msg(now < a.last_contact_at + ISO,
                              "run %u step %u: primary out of contact for %llu ms", run, i,
                              (unsigned long long)(now - a.last_contact_at));
            if (a.stopping) {
                ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
                int set = find(&out, AGENT_ACT_NLB_SET, 0);
                if (set >= 0)
                    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
            }
            ck_assert_uint_le(a.history.count, MODEL_HISTORY_MAX);
            fenced += find_log(&out, AGENT_LOG_ERROR, "isolated") >= 0;
            app_steps_down += find_log(&out, AGENT_LOG_INFO, "application failed") >= 0;
        }
    }
    /* The generator reaches the new transitions. */
    ck_assert_uint_gt(fenced, 10);
    /* Rarer since an agent out of contact refuses to become primary (the
     * generator's heartbeats are sparse): 4 with these seeds. */
    ck_assert_uint_gt(app_steps_down, 2);
}
END_TEST

/* ---- the order's age (echo) ---------------------------------------------------- */

/* A backup with a peer link and the NLB time limit known, linked to its
 * coordinator: its first report to the coordinator left at T0 + 20. */
#define NLB_T 600u
static void ready_backup_timed(struct agent *a, struct agent_actions *out)
{
    struct agent_settings set;
    settings(&set);
    set.has_peer = 1;
    set.nlb_timeout_ms = NLB_T;
    agent_init(a, &set, 5, T0);
    ev_plain(a, AGENT_EV_START, T0, out);
    ev_nlb_done(a, MODEL_PORT_DISABLED, 1, T0 + 10, out);
    ev_plain(a, AGENT_EV_COORD_UP, T0 + 20, out);
    int r = find_send(out, WIRE_REPORT);
    ck_assert_int_ge(r, 0);
    ck_assert_uint_eq(out->items[r].msg.u.report.sent_at, T0 + 20);
}

/* The SPIN counterexample: the coordinator ordered us primary answering
 * our report of T0 + 20; the link was cut with the order in flight; after
 * loss_ms the coordinator promoted the other node; the link healed and TCP
 * delivered the old order. Our epoch is below the order's and the peer has
 * just heard us, so neither the epoch nor the isolation edge refuses it:
 * the order's age does. */
START_TEST(order_stale_primary_refused)
{
    struct agent a;
    struct agent_actions out;
    ready_backup_timed(&a, &out);
    uint64_t at = T0 + 20 + LOSS - NLB_T; /* the enable could land at echo + loss_ms */
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_ENABLED, 7, 0, at, &out);
    ck_assert_uint_eq(a.last_contact_at, at); /* contact is fresh */
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, T0 + 20, LOSS, at, &out);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ck_assert_int_eq(find(&out, AGENT_ACT_PERSIST_EPOCH, 0), -1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 5);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    int log = find_log(&out, AGENT_LOG_WARNING, "refused SET_ROLE primary (epoch 6)");
    ck_assert_int_ge(log, 0);
    ck_assert_uint_eq(out.items[log].event, MODEL_EV_ROLE_REFUSED);
    ck_assert_ptr_nonnull(strstr(out.items[log].text, "sent 1900 ms ago"));
    ck_assert_ptr_nonnull(strstr(out.items[log].text, "loss_ms 2500"));
    ck_assert_ptr_nonnull(strstr(out.items[log].text, "nlb_timeout_ms 600"));
    /* A report with a fresh sent_at, so the coordinator can order again. */
    int r = find_send(&out, WIRE_REPORT);
    assert_report_at(&out, r, &a);
    ck_assert_uint_eq(out.items[r].msg.u.report.sent_at, at);
    /* The coordinator's answer to that report is obeyed. */
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, at, LOSS, at + 5, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.epoch, 6);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
}
END_TEST

/* One ms younger, the enable lands before echo + loss_ms: obeyed. */
START_TEST(order_young_enough_accepted)
{
    struct agent a;
    struct agent_actions out;
    ready_backup_timed(&a, &out);
    uint64_t at = T0 + 20 + LOSS - NLB_T - 1;
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 5, 0, at, &out);
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, T0 + 20, LOSS, at, &out);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_WARNING, "refused"), -1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.epoch, 6);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
}
END_TEST

/* The coordinator's loss_ms is what counts, not any setting of ours. */
START_TEST(order_uses_the_coordinators_loss)
{
    struct agent a;
    struct agent_actions out;
    ready_backup_timed(&a, &out);
    uint64_t at = T0 + 1000;
    ev_peer_report(&a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 5, 0, at, &out);
    /* 980 ms old, 600 to enable: refused under a 1580 ms loss_ms ... */
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, T0 + 20, 1580, at, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "loss_ms 1580"), 0);
    /* ... obeyed under 1581. */
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, T0 + 20, 1581, at, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
}
END_TEST

/* An echo later than our clock answers a report of another boot: refused.
 * Echo 0 answers no report at all: refused too. */
START_TEST(order_echo_from_the_future_refused)
{
    struct agent a;
    struct agent_actions out;
    ready_backup_timed(&a, &out);
    uint64_t at = T0 + 100;
    ev_heartbeat(&a, 5, 0, at, &out);
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, at + 1, LOSS, at, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 5);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    int log = find_log(&out, AGENT_LOG_WARNING, "later than this node's clock");
    ck_assert_int_ge(log, 0);
    ck_assert_uint_eq(out.items[log].event, MODEL_EV_ROLE_REFUSED);
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0);
    /* Far in the future (a long-running host's report): refused as well. */
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, UINT64_MAX - 10, LOSS, at + 5, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    /* Echo 0: no report behind it; refused even this early in the clock's
     * life, when 0 + loss_ms would still leave room for the enable. */
    ck_assert_uint_lt(at + 10 + NLB_T, LOSS);
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, 0, LOSS, at + 10, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_WARNING, "answers no report"), 0);
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0);
}
END_TEST

/* A coordinator whose loss_ms is not above our nlb_timeout_ms: no order
 * can ever be obeyed. Refused without a report (it would only bring the
 * next order at once, a message loop), with the numbers. */
START_TEST(order_loss_not_above_nlb_timeout)
{
    struct agent a;
    struct agent_actions out;
    ready_backup_timed(&a, &out);
    uint64_t at = T0 + 100;
    ev_heartbeat(&a, 5, 0, at, &out);
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, at, NLB_T, at, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 5);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    ck_assert_int_eq(find_send(&out, WIRE_REPORT), -1);
    ck_assert_int_eq(find_send_peer(&out, WIRE_REPORT), -1);
    int log = find_log(&out, AGENT_LOG_ERROR, "loss_ms 600 is not above");
    ck_assert_int_ge(log, 0);
    ck_assert_uint_eq(out.items[log].event, MODEL_EV_ROLE_REFUSED);
    /* One ms more and a fresh order is obeyed. */
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, at, NLB_T + 1, at, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
}
END_TEST

/* Backup orders are obeyed whatever their age: stepping down is always safe. */
START_TEST(order_age_not_checked_for_backup)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 6, &out);
    ev_set_role_echo(&a, 7, MODEL_MODE_BACKUP, 0, 0, T0 + 200, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 7);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
    /* From the future too. */
    ready_primary(&a, 6, &out);
    ev_set_role_echo(&a, 7, MODEL_MODE_BACKUP, UINT64_MAX, LOSS, T0 + 200, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
}
END_TEST

/* Already primary, an old repeat of the order starts nothing new: no refusal. */
START_TEST(order_age_not_checked_when_already_primary)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 6, &out);
    ev_heartbeat(&a, 6, 0, T0 + 5000, &out);
    ev_set_role_echo(&a, 6, MODEL_MODE_PRIMARY, T0 + 20, LOSS, T0 + 5000, &out);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_WARNING, "refused"), -1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_ENABLED);
}
END_TEST

/* Every report carries the agent's clock at the moment it was built. */
START_TEST(report_carries_sent_at)
{
    struct agent a;
    struct agent_actions out;
    ready_backup_timed(&a, &out);
    ev_plain(&a, AGENT_EV_PEER_UP, T0 + 30, &out);
    int r = find_send_peer(&out, WIRE_REPORT);
    ck_assert_int_ge(r, 0);
    ck_assert_uint_eq(out.items[r].msg.u.report.sent_at, T0 + 30);
    ev_plain(&a, AGENT_EV_TICK, T0 + 30 + HB, &out); /* the peer-up report reset the period */
    r = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(r, 0);
    ck_assert_uint_eq(out.items[r].msg.u.report.sent_at, T0 + 30 + HB);
}
END_TEST

/* ---- drain --------------------------------------------------------------------- */

static void ev_set_role_drain(struct agent *a, uint64_t epoch, uint64_t now,
                              struct agent_actions *out)
{
    struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_SET_ROLE;
    m.u.set_role.epoch = epoch;
    m.u.set_role.mode = MODEL_MODE_BACKUP;
    m.u.set_role.drain = 1;
    ev_message(a, &m, now, out);
}

START_TEST(drain_then_disable)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 6, &out);
    a.set.drain_ms = 3000;
    ev_heartbeat(&a, 6, 0, T0 + 200, &out);
    ev_set_role_drain(&a, 7, T0 + 200, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DRAINING);
    ev_nlb_done(&a, MODEL_PORT_DRAINING, 1, T0 + 210, &out);
    /* A repeated order does not cut the drain short. */
    ev_set_role_drain(&a, 7, T0 + 300, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    ev_set_role(&a, 7, MODEL_MODE_BACKUP, T0 + 400, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    ck_assert_int_eq(find(&out, AGENT_ACT_NLB_SET, 0), -1);
    /* Not before drain_ms ... */
    ev_plain(&a, AGENT_EV_TICK, T0 + 200 + 3000 - 1, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    /* ... then disabled. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 200 + 3000, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "drain time over"), 0);
}
END_TEST

START_TEST(no_drain_without_flag_or_setting)
{
    struct agent a;
    struct agent_actions out;
    /* A failover's order (no drain flag): disabled at once. */
    ready_primary(&a, 6, &out);
    a.set.drain_ms = 3000;
    ev_set_role(&a, 7, MODEL_MODE_BACKUP, T0 + 200, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    /* drain_ms 0: the flag changes nothing. */
    ready_primary(&a, 6, &out);
    ev_set_role_drain(&a, 7, T0 + 200, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    /* The application fails while draining: disabled at once. */
    ready_primary(&a, 6, &out);
    a.set.drain_ms = 3000;
    ev_set_role_drain(&a, 7, T0 + 200, &out);
    ev_nlb_done(&a, MODEL_PORT_DRAINING, 1, T0 + 210, &out);
    ev_app(&a, 0, T0 + 300, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
}
END_TEST

/* A read-back of a draining rule with the connections left (issue #4). */
static void ev_nlb_done_conns(struct agent *a, uint8_t port, uint32_t conns, uint64_t now,
                              struct agent_actions *out)
{
    struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = port, .ok = 1,
                             .conns_known = 1, .conns = conns};
    step(a, &ev, now, out);
}

/* ready_primary, then a planned step-down draining for drain_ms from T0 + 200. */
static void draining_primary(struct agent *a, uint32_t drain_ms, struct agent_actions *out)
{
    ready_primary(a, 6, out);
    a->set.drain_ms = drain_ms;
    ev_heartbeat(a, 6, 0, T0 + 200, out);
    ev_set_role_drain(a, 7, T0 + 200, out);
    ck_assert_uint_eq(a->port_desired, MODEL_PORT_DRAINING);
    int set = find(out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out->items[set].port, MODEL_PORT_DRAINING);
}

START_TEST(drain_ends_early_when_no_connections_remain)
{
    struct agent a;
    struct agent_actions out;
    draining_primary(&a, 20000, &out);
    /* DrainEx read back with 2 connections left: keep draining, count again
     * after a quarter heartbeat (125 ms), not after reconcile_ms. */
    ev_nlb_done_conns(&a, MODEL_PORT_DRAINING, 2, T0 + 210, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "2 connections left"), 0);
    ev_plain(&a, AGENT_EV_TICK, T0 + 210 + HB / 4 - 1, &out);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ev_plain(&a, AGENT_EV_TICK, T0 + 210 + HB / 4, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
    /* Still one left: still draining, said once only. */
    ev_nlb_done_conns(&a, MODEL_PORT_DRAINING, 1, T0 + 340, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "left"), -1);
    ev_plain(&a, AGENT_EV_TICK, T0 + 340 + HB / 4, &out);
    ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
    /* None left, 265 ms into a 20 s drain: disabled now. */
    ev_nlb_done_conns(&a, MODEL_PORT_DRAINING, 0, T0 + 465, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO,
                              "no connections remain after 265 ms: disabling the port"), 0);
    /* The report that goes with it already says disabled is wanted. */
    int rep = find_send(&out, WIRE_REPORT);
    ck_assert_int_ge(rep, 0);
    ck_assert_uint_eq(out.items[rep].msg.u.report.port_desired, MODEL_PORT_DISABLED);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 475, &out);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    /* The drain's end time passing later changes nothing. */
    ev_plain(&a, AGENT_EV_TICK, T0 + 200 + 20000, &out);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "drain time over"), -1);
    ck_assert_int_eq(count_of(&out, AGENT_ACT_NLB_SET), 0);
}
END_TEST

START_TEST(drain_with_nothing_to_drain_disables_at_once)
{
    struct agent a;
    struct agent_actions out;
    draining_primary(&a, 20000, &out);
    /* The DrainEx read-back already counts none. */
    ev_nlb_done_conns(&a, MODEL_PORT_DRAINING, 0, T0 + 210, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "port draining (confirmed"), 0);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "no connections remain after 10 ms"), 0);
    int set = find(&out, AGENT_ACT_NLB_SET, 0);
    ck_assert_int_ge(set, 0);
    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
}
END_TEST

START_TEST(drain_unknown_count_waits_drain_ms)
{
    struct agent a;
    struct agent_actions out;
    draining_primary(&a, 20000, &out);
    /* The backend cannot count (exec, a UDP rule): the full drain_ms. */
    ev_nlb_done(&a, MODEL_PORT_DRAINING, 1, T0 + 210, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "cannot count"), 0);
    /* No faster reads than the usual reconcile_ms, and each says nothing new. */
    unsigned queries = 0;
    for (uint64_t t = T0 + 220; t < T0 + 200 + 20000; t += 50) {
        ev_plain(&a, AGENT_EV_TICK, t, &out);
        ck_assert_int_eq(count_of(&out, AGENT_ACT_NLB_SET), 0);
        if (count_of(&out, AGENT_ACT_NLB_QUERY)) {
            queries++;
            ev_nlb_done(&a, MODEL_PORT_DRAINING, 1, t + 5, &out);
            ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "cannot count"), -1);
        }
        ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    }
    ck_assert_uint_le(queries, 20000 / REC + 1);
    ev_plain(&a, AGENT_EV_TICK, T0 + 200 + 20000, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_INFO, "drain time over"), 0);
}
END_TEST

START_TEST(drain_count_only_for_a_draining_rule)
{
    struct agent a;
    struct agent_actions out;
    /* A count of 0 on a rule that is not draining means nothing. */
    ready_primary(&a, 6, &out);
    ev_nlb_done_conns(&a, MODEL_PORT_ENABLED, 0, T0 + 200, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
    /* Draining wanted but the rule reads enabled (DrainEx not taken): no
     * early end on that read; the drain is retried. */
    draining_primary(&a, 20000, &out);
    ev_nlb_done_conns(&a, MODEL_PORT_ENABLED, 0, T0 + 210, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    ck_assert_int_eq(find_log(&out, AGENT_LOG_INFO, "no connections remain"), -1);
    /* A failed read says nothing about the count either. */
    draining_primary(&a, 20000, &out);
    struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = MODEL_PORT_DRAINING, .ok = 0,
                             .conns_known = 1, .conns = 0};
    step(&a, &ev, T0 + 210, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DRAINING);
    /* Stopping while draining: the stop's disable, no second one. */
    draining_primary(&a, 20000, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 205, &out);
    ev_nlb_done_conns(&a, MODEL_PORT_DISABLED, 0, T0 + 210, &out);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_uint_eq(nlb_commands(&out), 0);
}
END_TEST

START_TEST(drain_count_cadence_bounded)
{
    struct agent a;
    struct agent_actions out;
    /* heartbeat 100 ms: every 50 ms at most; 2000 ms: every 250 ms at least. */
    static const struct {
        uint32_t hb, every;
    } cases[] = {{100, 50}, {500, 125}, {2000, 250}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        draining_primary(&a, 20000, &out);
        a.set.heartbeat_ms = cases[i].hb;
        ev_nlb_done_conns(&a, MODEL_PORT_DRAINING, 3, T0 + 210, &out);
        ev_plain(&a, AGENT_EV_TICK, T0 + 210 + cases[i].every - 1, &out);
        ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 0);
        ev_plain(&a, AGENT_EV_TICK, T0 + 210 + cases[i].every, &out);
        ck_assert_uint_eq(count_of(&out, AGENT_ACT_NLB_QUERY), 1);
    }
}
END_TEST

/* ---- the application's own report (passive monitoring) ------------------------- */

static void ev_app_report(struct agent *a, uint8_t available, uint64_t now,
                          struct agent_actions *out)
{
    struct agent_event ev = {.type = AGENT_EV_APP_REPORT, .ok = available};
    step(a, &ev, now, out);
}

START_TEST(app_unavailable_steps_down)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 6, &out);
    ev_app_report(&a, 0, T0 + 200, &out);
    ck_assert_uint_eq(a.app_healthy, 0);
    ck_assert_uint_eq(a.app_running, 1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_DISABLED);
    ck_assert_int_ge(find(&out, AGENT_ACT_NLB_SET, 0), 0);
    ck_assert_ptr_nonnull(strstr(a.last_reason, "SERVICE_UNAVAILABLE"));
    /* Available again: healthy, still backup (no failback by itself). */
    ev_app_report(&a, 1, T0 + 300, &out);
    ck_assert_uint_eq(a.app_healthy, 1);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
}
END_TEST

START_TEST(app_health_needs_both)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 5, &out);
    ev_app(&a, 0, T0 + 100, &out);
    ev_app_report(&a, 1, T0 + 110, &out);
    ck_assert_uint_eq(a.app_healthy, 0); /* not running: its word does not help */
    ev_app(&a, 1, T0 + 120, &out);
    ck_assert_uint_eq(a.app_healthy, 1);
    ev_app_report(&a, 0, T0 + 130, &out);
    ck_assert_uint_eq(a.app_healthy, 0);
    /* Repeated reports change nothing and say nothing. */
    ev_app_report(&a, 0, T0 + 140, &out);
    ck_assert_uint_eq(out.count, 0);
}
END_TEST


/* ---- reloaded settings (PARAMCHANGE) ---------------------------------------------- */

/* A primary keeps mode, epoch, port and history; the new timings rule the
 * next heartbeat and isolation; identity stays. */
START_TEST(set_settings_keeps_state)
{
    struct agent a;
    struct agent_actions out;
    ready_primary(&a, 7, &out);
    unsigned hist = a.history.count;
    struct agent_settings set;
    settings(&set);
    strcpy(set.node, "renamed");
    strcpy(set.pair, "otherpair");
    set.has_peer = 1;
    set.heartbeat_ms = 200;
    set.reconcile_ms = 1000;
    set.isolation_ms = 3000;
    set.peer_loss_ms = 4000;
    set.drain_ms = 2500;
    agent_set_settings(&a, &set, T0 + 120);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.epoch, 7);
    ck_assert_uint_eq(a.port_actual, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(a.history.count, hist);
    ck_assert_str_eq(a.set.node, "web1");
    ck_assert_str_eq(a.set.pair, "pair1");
    ck_assert_uint_eq(a.set.has_peer, 0);
    ck_assert_uint_eq(a.set.heartbeat_ms, 200);
    ck_assert_uint_eq(a.set.reconcile_ms, 1000);
    ck_assert_uint_eq(a.set.isolation_ms, 3000);
    ck_assert_uint_eq(a.set.peer_loss_ms, 4000);
    ck_assert_uint_eq(a.set.drain_ms, 2500);
    ck_assert_uint_le(a.next_report_at, T0 + 120 + 200);
    ck_assert_uint_le(a.next_reconcile_at, T0 + 120 + 1000);
    /* The longer isolation_ms is the one that counts: no fence at the old
     * limit (last contact T0 + 100), a fence after the new one. */
    ev_plain(&a, AGENT_EV_COORD_DOWN, T0 + 130, &out);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + ISO + 10, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(a.port_desired, MODEL_PORT_ENABLED);
    ev_plain(&a, AGENT_EV_TICK, T0 + 100 + 3000, &out);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_int_ge(find_log(&out, AGENT_LOG_ERROR, "isolated"), 0);
    ck_assert_uint_eq(a.epoch, 7);
}
END_TEST

/* A longer heartbeat does not postpone a report already due sooner. */
START_TEST(set_settings_longer_periods)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 3, &out);
    uint64_t report = a.next_report_at, reconcile = a.next_reconcile_at;
    struct agent_settings set;
    settings(&set);
    set.heartbeat_ms = 5000;
    set.reconcile_ms = 60000;
    agent_set_settings(&a, &set, T0 + 30);
    ck_assert_uint_eq(a.next_report_at, report);
    ck_assert_uint_eq(a.next_reconcile_at, reconcile);
    ck_assert_uint_eq(a.set.heartbeat_ms, 5000);
    ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
    ck_assert_uint_eq(a.epoch, 3);
}
END_TEST


/* ---- handover on host shutdown (PRESHUTDOWN) ------------------------------------- */

/* Primary at epoch 7 with a peer link, the peer a healthy backup. */
static void primary_with_backup_peer(struct agent *a, struct agent_actions *out)
{
    init_agent_peer(a, 6);
    ev_plain(a, AGENT_EV_START, T0, out);
    ev_nlb_done(a, MODEL_PORT_DISABLED, 1, T0 + 10, out);
    ev_plain(a, AGENT_EV_COORD_UP, T0 + 20, out);
    ev_plain(a, AGENT_EV_PEER_UP, T0 + 30, out);
    ev_heartbeat(a, 6, 0, T0 + 100, out);
    ev_set_role(a, 7, MODEL_MODE_PRIMARY, T0 + 100, out);
    ev_nlb_done(a, MODEL_PORT_ENABLED, 1, T0 + 110, out);
    ev_peer_report(a, MODEL_MODE_BACKUP, 1, MODEL_PORT_DISABLED, 7, 50, T0 + 150, out);
    ck_assert_uint_eq(a->mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(agent_handover_state(a), AGENT_HANDOVER_WAIT); /* not stopping */
}

/* Done only when our disable is read back and the peer reports itself
 * primary with its port enabled by a decision newer than the stop. */
START_TEST(handover_waits_for_peer)
{
    struct agent a;
    struct agent_actions out;
    primary_with_backup_peer(&a, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 200, &out);
    ck_assert_uint_eq(a.handover, 1);
    ck_assert_uint_eq(a.stop_epoch, 7);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_WAIT); /* disable running */
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 210, &out);
    ck_assert_int_ge(find_send(&out, WIRE_REPORT), 0); /* the coordinator hears "stopping" */
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_WAIT); /* peer still backup */
    /* A stale report (the old epoch) does not count. */
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_ENABLED, 7, 50, T0 + 250, &out);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_WAIT);
    /* Promoted, but the enable not read back yet. */
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_DISABLED, 8, 50, T0 + 300, &out);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_WAIT);
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_ENABLED, 8, 50, T0 + 320, &out);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_DONE);
}
END_TEST

/* A disable that is not confirmed keeps it waiting (the shell's limit ends it). */
START_TEST(handover_needs_confirmed_disable)
{
    struct agent a;
    struct agent_actions out;
    primary_with_backup_peer(&a, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 200, &out);
    ev_nlb_done(&a, MODEL_PORT_ENABLED, 0, T0 + 210, &out);
    ev_peer_report(&a, MODEL_MODE_PRIMARY, 1, MODEL_PORT_ENABLED, 8, 50, T0 + 320, &out);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_WAIT);
}
END_TEST

/* Nobody to wait for: a backup, a primary without a peer link, or one
 * whose peer is unhealthy or silent. */
START_TEST(handover_nobody)
{
    struct agent a;
    struct agent_actions out;
    ready_backup(&a, 3, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 200, &out);
    ck_assert_uint_eq(a.handover, 0);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 210, &out);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_NOBODY);

    ready_primary(&a, 7, &out); /* no peer link */
    ev_plain(&a, AGENT_EV_STOP, T0 + 200, &out);
    ck_assert_uint_eq(a.handover, 0);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_WAIT);
    ev_nlb_done(&a, MODEL_PORT_DISABLED, 1, T0 + 210, &out);
    ck_assert_uint_eq(agent_handover_state(&a), AGENT_HANDOVER_NOBODY);

    primary_with_backup_peer(&a, &out);
    ev_peer_report(&a, MODEL_MODE_BACKUP, 0, MODEL_PORT_DISABLED, 7, 50, T0 + 160, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 200, &out);
    ck_assert_uint_eq(a.handover, 0);

    primary_with_backup_peer(&a, &out);
    ev_plain(&a, AGENT_EV_STOP, T0 + 150 + PEER_LOSS, &out);
    ck_assert_uint_eq(a.handover, 0);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc;

    tc = tcase_create("app_report");
    tcase_add_test(tc, app_unavailable_steps_down);
    tcase_add_test(tc, app_health_needs_both);
    suite_add_tcase(s, tc);

    tc = tcase_create("drain");
    tcase_add_test(tc, drain_then_disable);
    tcase_add_test(tc, no_drain_without_flag_or_setting);
    tcase_add_test(tc, drain_ends_early_when_no_connections_remain);
    tcase_add_test(tc, drain_with_nothing_to_drain_disables_at_once);
    tcase_add_test(tc, drain_unknown_count_waits_drain_ms);
    tcase_add_test(tc, drain_count_only_for_a_draining_rule);
    tcase_add_test(tc, drain_count_cadence_bounded);
    suite_add_tcase(s, tc);

    tc = tcase_create("start");
    tcase_add_test(tc, init_state);
    tcase_add_test(tc, start_disables_port);
    tcase_add_test(tc, start_disables_even_if_disabled);
    suite_add_tcase(s, tc);

    tc = tcase_create("coordinator_link");
    tcase_add_test(tc, coord_up_hello_then_report);
    tcase_add_test(tc, coord_down);
    tcase_add_test(tc, coord_down_keeps_primary);
    tcase_add_test(tc, heartbeat_report_on_tick);
    suite_add_tcase(s, tc);

    tc = tcase_create("set_role");
    tcase_add_test(tc, set_role_primary_newer_epoch);
    tcase_add_test(tc, set_role_equal_epoch);
    tcase_add_test(tc, set_role_older_epoch_refused);
    tcase_add_test(tc, set_role_backup_from_primary);
    tcase_add_test(tc, set_role_same_mode);
    suite_add_tcase(s, tc);

    tc = tcase_create("nlb_results");
    tcase_add_test(tc, nlb_done_reaches_desired);
    tcase_add_test(tc, nlb_done_without_link);
    tcase_add_test(tc, nlb_done_failed_retries_later);
    tcase_add_test(tc, nlb_ignored_command_retries_later);
    tcase_add_test(tc, out_of_cluster_retries_and_says_once);
    tcase_add_test(tc, role_change_while_pending);
    suite_add_tcase(s, tc);

    tc = tcase_create("reconcile");
    tcase_add_test(tc, reconcile_queries_on_schedule);
    tcase_add_test(tc, reconcile_repairs_drift);
    tcase_add_test(tc, reconcile_repairs_primary);
    tcase_add_test(tc, reconcile_query_fails);
    suite_add_tcase(s, tc);

    tc = tcase_create("stop");
    tcase_add_test(tc, stop_from_primary);
    tcase_add_test(tc, stop_while_command_running);
    tcase_add_test(tc, stop_ignores_later_orders);
    suite_add_tcase(s, tc);

    tc = tcase_create("misc");
    tcase_add_test(tc, unexpected_messages);
    tcase_add_test(tc, unknown_event_logged);
    tcase_add_test(tc, status_fields);
    suite_add_tcase(s, tc);

    tc = tcase_create("app_health");
    tcase_add_test(tc, app_fail_primary_steps_down);
    tcase_add_test(tc, app_fail_reports_on_both_links);
    tcase_add_test(tc, app_fail_backup_just_reports);
    tcase_add_test(tc, app_recovery_stays_backup);
    tcase_add_test(tc, set_role_primary_refused_while_unhealthy);
    tcase_add_test(tc, app_fail_while_enable_running);
    suite_add_tcase(s, tc);

    tc = tcase_create("fencing");
    tcase_add_test(tc, fence_exact_boundary);
    tcase_add_test(tc, fence_heartbeat_is_contact);
    tcase_add_test(tc, fence_heartbeat_silent_is_not_fresh);
    tcase_add_test(tc, fence_set_role_is_not_contact);
    tcase_add_test(tc, fence_peer_report_is_contact);
    tcase_add_test(tc, fence_never_backup);
    tcase_add_test(tc, fence_isolated_backup_refuses_primary);
    tcase_add_test(tc, fence_primary_order_needs_time_to_enable);
    suite_add_tcase(s, tc);

    tc = tcase_create("order_age");
    tcase_add_test(tc, order_stale_primary_refused);
    tcase_add_test(tc, order_young_enough_accepted);
    tcase_add_test(tc, order_uses_the_coordinators_loss);
    tcase_add_test(tc, order_echo_from_the_future_refused);
    tcase_add_test(tc, order_loss_not_above_nlb_timeout);
    tcase_add_test(tc, order_age_not_checked_for_backup);
    tcase_add_test(tc, order_age_not_checked_when_already_primary);
    tcase_add_test(tc, report_carries_sent_at);
    suite_add_tcase(s, tc);

    tc = tcase_create("peer_link");
    tcase_add_test(tc, peer_up_hello_and_report);
    tcase_add_test(tc, peer_down);
    tcase_add_test(tc, peer_report_reflected);
    tcase_add_test(tc, peer_silent_ms_values);
    tcase_add_test(tc, peer_hello_checked);
    tcase_add_test(tc, peer_cannot_give_orders);
    tcase_add_test(tc, status_peer_link_last_change);
    tcase_add_test(tc, peer_hello_names_the_peer);
    suite_add_tcase(s, tc);

    tc = tcase_create("handover");
    tcase_add_test(tc, handover_waits_for_peer);
    tcase_add_test(tc, handover_needs_confirmed_disable);
    tcase_add_test(tc, handover_nobody);
    suite_add_tcase(s, tc);

    tc = tcase_create("settings");
    tcase_add_test(tc, set_settings_keeps_state);
    tcase_add_test(tc, set_settings_longer_periods);
    suite_add_tcase(s, tc);

    tc = tcase_create("history");
    tcase_add_test(tc, history_in_order);
    tcase_add_test(tc, history_capped);
    suite_add_tcase(s, tc);

    tc = tcase_create("long_run");
    tcase_add_test(tc, random_event_sequence);
    suite_add_tcase(s, tc);

    /* Bugs in the core these tests found, still open: each test asserts the
     * correct behaviour and its comment says what goes wrong. */
    tc = tcase_create("fixed_bugs");
    tcase_add_test(tc, nlb_done_reported_to_peer);
    tcase_add_test(tc, status_peer_link_before_heard);
    tcase_add_test(tc, app_change_while_stopping);
    suite_add_tcase(s, tc);

    return s;
}
