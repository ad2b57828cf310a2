/* test_agent.c - the agent's state machine: safe start, orders from the
 * coordinator under epochs, NLB commands and their read-backs, drift repair,
 * heartbeats, stopping, and its status. Every step is checked to stay
 * within AGENT_MAX_ACTIONS and never to lower the epoch. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "agent.h"

#define T0 1000u  /* the clock does not start at zero */
#define HB 1000u  /* heartbeat_ms */
#define REC 5000u /* reconcile_ms */

/* ---- helpers ---------------------------------------------------------------- */

static void settings(struct agent_settings *set)
{
    memset(set, 0, sizeof *set);
    strcpy(set->pair, "pair1");
    strcpy(set->node, "web1");
    set->heartbeat_ms = HB;
    set->reconcile_ms = REC;
}

static void init_agent(struct agent *a, uint64_t persisted_epoch)
{
    struct agent_settings set;
    settings(&set);
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
        if ((act->type == AGENT_ACT_SEND || act->type == AGENT_ACT_NLB_SET) && acted < 0)
            acted = (int)i;
        if (act->type == AGENT_ACT_LOG)
            ck_assert_uint_gt(strlen(act->text), 0);
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
    ev_message(a, &m, now, out);
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

static void assert_report(const struct agent_actions *out, const struct agent *a)
{
    int i = find_send(out, WIRE_REPORT);
    ck_assert_int_ge(i, 0);
    const struct wire_report *r = &out->items[i].msg.u.report;
    ck_assert_uint_eq(r->epoch, a->epoch);
    ck_assert_uint_eq(r->mode, a->mode);
    ck_assert_uint_eq(r->app_healthy, a->app_healthy);
    ck_assert_uint_eq(r->port_desired, a->port_desired);
    ck_assert_uint_eq(r->port_actual, a->port_actual);
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

/* ready_backup, then made primary at `epoch` with the enable confirmed. */
static void ready_primary(struct agent *a, uint64_t epoch, struct agent_actions *out)
{
    ready_backup(a, epoch - 1, out);
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
    /* The report says what is true: primary now, port not yet enabled. */
    const struct wire_report *r = &out.items[report].msg.u.report;
    ck_assert_uint_eq(r->mode, MODEL_MODE_PRIMARY);
    ck_assert_uint_eq(r->epoch, 6);
    ck_assert_uint_eq(r->port_desired, MODEL_PORT_ENABLED);
    ck_assert_uint_eq(r->port_actual, MODEL_PORT_DISABLED);
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
    /* Ticks do not start anything either while it runs. */
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
    assert_report(&out, &a); /* the coordinator learns what was found */
    ck_assert_uint_eq(out.items[find_send(&out, WIRE_REPORT)].msg.u.report.port_actual,
                      MODEL_PORT_ENABLED);
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
    static const uint8_t types[] = {WIRE_HELLO, WIRE_REPORT, WIRE_STATUS_REQ,
                                    WIRE_SWITCHOVER_REQ, WIRE_STATUS_REPLY, WIRE_RESULT};
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
     * results, under random orders and link changes. Beyond the per-step
     * checks: one NLB command at a time (except the stop's disable), mode
     * and desire agree, and a stopped agent never enables. */
    for (uint32_t run = 0; run < 40; run++) {
        uint32_t seed = 0x9E3779B9u ^ (run * 2654435761u);
        if (seed == 0)
            seed = 1;
        struct agent a;
        struct agent_actions out;
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
            unsigned kind = (r >> 12) % 16;
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
                ev_set_role(&a, e, (uint8_t)((r >> 26) & 1), now, &out);
                if (e < epoch_before || was_stopping)
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
            } else if ((r >> 28) == 0) {
                ev_type = AGENT_EV_STOP;
                ev_plain(&a, ev_type, now, &out);
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
            if (a.stopping) {
                ck_assert_uint_eq(a.mode, MODEL_MODE_BACKUP);
                int set = find(&out, AGENT_ACT_NLB_SET, 0);
                if (set >= 0)
                    ck_assert_uint_eq(out.items[set].port, MODEL_PORT_DISABLED);
            }
        }
    }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc;

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

    tc = tcase_create("long_run");
    tcase_add_test(tc, random_event_sequence);
    suite_add_tcase(s, tc);

    return s;
}
