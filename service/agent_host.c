/* agent_host.c - runs the agent state machine on Windows: the coordinator
 * link, the NLB backend, the control pipe and the epoch file. Everything
 * here is plumbing; every decision is agent_step()'s. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "daemon.h"
#include "epoch_store.h"
#include "event_loop.h"
#include "log.h"
#include "net.h"
#include "nlb.h"
#include "pipe_server.h"
#include "winutil.h"

#define TICK_MS 100

enum { TAG_STOP = 1, TAG_LINK = 2, TAG_PIPE = 100 };

struct agent_host {
    const struct daemon_env *env;
    struct agent core;
    struct nlb *nlb;
    struct pipe_server *pipe;
    struct net_conn link;
    uint32_t next_conn_id;
    uint64_t reconnect_at;
    int fatal; /* an action failed in a way that must stop the service */
};

static void step(struct agent_host *h, const struct agent_event *ev);

static int log_level(uint8_t level)
{
    return level == AGENT_LOG_ERROR ? LOG_ERROR : level == AGENT_LOG_WARNING ? LOG_WARNING : LOG_INFO;
}

static void link_down(struct agent_host *h, const char *why)
{
    int was_up = h->link.sock != INVALID_SOCKET && !h->link.connecting;
    net_close(&h->link);
    h->reconnect_at = win_now_ms() + h->env->cfg->reconnect_ms;
    if (was_up) {
        log_write(LOG_WARNING, "coordinator link down: %s", why);
        struct agent_event ev = {.type = AGENT_EV_COORD_DOWN};
        step(h, &ev);
    }
}

/* Runs an NLB command and reads the result back: the state machine only
 * ever believes what a query says. */
static void run_nlb(struct agent_host *h, const struct agent_action *act)
{
    char err[512];
    uint8_t ok = 1;
    if (act->type == AGENT_ACT_NLB_SET && nlb_set(h->nlb, act->port, err, sizeof err) != 0) {
        log_write(LOG_ERROR, "NLB %s failed: %s", model_port_name(act->port), err);
        ok = 0;
    }
    uint8_t state = MODEL_PORT_UNKNOWN;
    if (nlb_query(h->nlb, &state, err, sizeof err) != 0) {
        if (act->type == AGENT_ACT_NLB_QUERY || ok)
            log_write(LOG_ERROR, "NLB query failed: %s", err);
        ok = 0;
    }
    struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = state, .ok = ok};
    step(h, &ev);
}

/* NLB commands run after the batch's other actions: a report queued in the
 * same batch describes the state before the command, and must not reach the
 * coordinator after the report that follows the command's read-back. */
static void run_actions(struct agent_host *h, const struct agent_actions *out)
{
    char err[512];
    for (unsigned i = 0; i < out->count && !h->fatal; i++) {
        const struct agent_action *act = &out->items[i];
        switch (act->type) {
        case AGENT_ACT_LOG:
            log_write(log_level(act->level), "%s", act->text);
            break;
        case AGENT_ACT_PERSIST_EPOCH:
            if (epoch_save(h->env->state_dir, act->epoch, err, sizeof err) != 0) {
                /* Acting on an epoch we could not store could let an older
                 * command win after a restart: stop instead. */
                log_write(LOG_ERROR, "%s; stopping the service", err);
                h->fatal = DAEMON_EXIT_STATE;
            }
            break;
        case AGENT_ACT_SEND:
            if (h->link.sock != INVALID_SOCKET && !h->link.connecting &&
                net_send(&h->link, &act->msg, err, sizeof err) != 0)
                link_down(h, err);
            break;
        default:
            break;
        }
    }
    for (unsigned i = 0; i < out->count && !h->fatal; i++)
        if (out->items[i].type == AGENT_ACT_NLB_SET || out->items[i].type == AGENT_ACT_NLB_QUERY)
            run_nlb(h, &out->items[i]);
}

static void step(struct agent_host *h, const struct agent_event *ev)
{
    struct agent_actions out;
    agent_step(&h->core, ev, win_now_ms(), &out);
    run_actions(h, &out);
}

static int on_link_up(void *ctx, struct net_conn *c)
{
    struct agent_host *h = ctx;
    (void)c;
    struct agent_event ev = {.type = AGENT_EV_COORD_UP};
    step(h, &ev);
    return h->link.sock == INVALID_SOCKET;
}

static int on_link_message(void *ctx, struct net_conn *c, const struct wire_msg *m)
{
    struct agent_host *h = ctx;
    (void)c;
    struct agent_event ev = {.type = AGENT_EV_MESSAGE, .msg = m};
    step(h, &ev);
    return h->link.sock == INVALID_SOCKET;
}

static void try_connect(struct agent_host *h)
{
    char err[512];
    const struct config_endpoint *ep = &h->env->cfg->coordinator;
    if (net_connect(ep, &h->link, ++h->next_conn_id, err, sizeof err) != 0) {
        h->reconnect_at = win_now_ms() + h->env->cfg->reconnect_ms;
        log_write(LOG_WARNING, "%s", err);
    }
}

static int on_pipe_request(void *ctx, uint32_t token, const struct wire_msg *req,
                           struct wire_msg *reply)
{
    struct agent_host *h = ctx;
    (void)token;
    if (req->type == WIRE_STATUS_REQ) {
        reply->type = WIRE_STATUS_REPLY;
        agent_status(&h->core, win_now_ms(), &reply->u.status);
        return PIPE_ANSWER_NOW;
    }
    reply->type = WIRE_RESULT;
    if (req->type == WIRE_SWITCHOVER_REQ) {
        reply->u.result.code = MODEL_ERR_NOT_SUPPORTED;
        snprintf(reply->u.result.text, sizeof reply->u.result.text,
                 "this is the agent of node %s; the coordinator at %s:%u decides switchovers: "
                 "run 'nlbctl switchover' on the coordinator's host",
                 h->env->cfg->node, h->env->cfg->coordinator.host,
                 (unsigned)h->env->cfg->coordinator.port);
    } else {
        reply->u.result.code = MODEL_ERR_BAD_REQUEST;
        snprintf(reply->u.result.text, sizeof reply->u.result.text,
                 "%s is not a request this service answers", wire_type_name(req->type));
    }
    return PIPE_ANSWER_NOW;
}

static int start(struct agent_host *h)
{
    const struct config *cfg = h->env->cfg;
    char err[512];
    uint64_t epoch = 0;
    if (epoch_load(h->env->state_dir, &epoch, err, sizeof err) != 0) {
        log_write(LOG_ERROR, "%s", err);
        return DAEMON_EXIT_STATE;
    }
    struct agent_settings set;
    memset(&set, 0, sizeof set);
    snprintf(set.pair, sizeof set.pair, "%s", cfg->pair);
    snprintf(set.node, sizeof set.node, "%s", cfg->node);
    set.heartbeat_ms = cfg->heartbeat_ms;
    set.reconcile_ms = cfg->reconcile_ms;
    agent_init(&h->core, &set, epoch, win_now_ms());

    h->nlb = nlb_open(cfg, cfg->node, err, sizeof err);
    if (!h->nlb) {
        log_write(LOG_ERROR, "%s", err);
        return DAEMON_EXIT_NLB;
    }
    log_write(LOG_INFO, "node %s drives NLB rule %s:%u through %s", cfg->node, cfg->vip,
              (unsigned)cfg->port, nlb_describe(h->nlb));
    h->env->progress(h->env->progress_ctx, DAEMON_STARTING);
    h->pipe = pipe_server_open(cfg->pipe, err, sizeof err);
    if (!h->pipe) {
        log_write(LOG_ERROR, "%s", err);
        return DAEMON_EXIT_STARTUP;
    }
    /* Safe start, done before RUNNING is reported: backup, port disabled. */
    struct agent_event ev = {.type = AGENT_EV_START};
    step(h, &ev);
    if (h->fatal)
        return h->fatal;
    try_connect(h);
    return DAEMON_EXIT_OK;
}

static void stop(struct agent_host *h)
{
    h->env->progress(h->env->progress_ctx, DAEMON_STOPPING);
    if (h->nlb) {
        struct agent_event ev = {.type = AGENT_EV_STOP};
        h->fatal = 0; /* the disable must run even after a fatal error */
        step(h, &ev);
    }
    pipe_server_close(h->pipe);
    net_close(&h->link);
    if (h->nlb)
        nlb_close(h->nlb);
}

int agent_host_run(const struct daemon_env *env)
{
    static struct agent_host host; /* large buffers: not on the stack */
    struct agent_host *h = &host;
    memset(h, 0, sizeof *h);
    h->env = env;
    net_conn_init(&h->link);

    int rc = start(h);
    if (rc == DAEMON_EXIT_OK)
        env->progress(env->progress_ctx, DAEMON_RUNNING);

    uint64_t next_tick = win_now_ms() + TICK_MS;
    while (rc == DAEMON_EXIT_OK && !h->fatal) {
        struct event_loop loop;
        event_loop_reset(&loop);
        event_loop_add(&loop, env->stop_event, TAG_STOP);
        if (h->link.sock != INVALID_SOCKET)
            event_loop_add(&loop, h->link.event, TAG_LINK);
        HANDLE pipe_events[PIPE_SERVER_INSTANCES];
        int np = pipe_server_events(h->pipe, pipe_events);
        for (int i = 0; i < np; i++)
            event_loop_add(&loop, pipe_events[i], TAG_PIPE + i);

        uint64_t now = win_now_ms();
        DWORD wait = next_tick > now ? (DWORD)(next_tick - now) : 0;
        int tag = event_loop_wait(&loop, wait);
        char err[512];
        if (tag == TAG_STOP)
            break;
        if (tag == TAG_LINK) {
            if (net_service(&h->link, on_link_up, on_link_message, h, err, sizeof err) ==
                NET_CLOSED)
                link_down(h, err);
        } else if (tag >= TAG_PIPE && tag < TAG_PIPE + PIPE_SERVER_INSTANCES) {
            pipe_server_service(h->pipe, tag - TAG_PIPE, on_pipe_request, h);
        } else if (tag == EVENT_LOOP_FAILED) {
            log_write(LOG_ERROR, "internal: wait failed (error %lu)", (unsigned long)GetLastError());
            rc = DAEMON_EXIT_STARTUP;
        }
        now = win_now_ms();
        if (now >= next_tick) {
            next_tick = now + TICK_MS;
            struct agent_event ev = {.type = AGENT_EV_TICK};
            step(h, &ev);
            if (h->link.sock == INVALID_SOCKET && now >= h->reconnect_at)
                try_connect(h);
        }
    }
    if (h->fatal)
        rc = h->fatal;
    stop(h);
    return rc;
}
