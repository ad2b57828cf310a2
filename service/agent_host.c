/* agent_host.c - runs the agent state machine on Windows: the coordinator
 * link, the NLB backend, the control pipe and the epoch file. Everything
 * here is plumbing; every decision is agent_step()'s. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "utf8.h"
#include "app_monitor.h"
#include "daemon.h"
#include "epoch_store.h"
#include "event_ids.h"
#include "event_loop.h"
#include "link_guard.h"
#include "log.h"
#include "net.h"
#include "nlb_worker.h"
#include "nlbctld_msg.h"
#include "pipe_server.h"
#include "status_publisher.h"
#include "winutil.h"

#define TICK_MS 100

enum {
    TAG_STOP = 1,
    TAG_LINK = 2,
    TAG_APP = 3,
    TAG_NLB = 6,
    TAG_RELOAD = 7,
    TAG_PEER_LISTEN = 4,
    TAG_PEER_OUT = 5,
    TAG_PEER_IN = 10,
    TAG_PIPE = 100
};

/* The peer's current link, one replacing it, and room for strangers, who
 * can only ever push out each other (link_guard_slot). */
#define PEER_IN_MAX 4

struct agent_host {
    const struct daemon_env *env;
    struct agent core;
    struct nlb_worker *nlb;
    uint64_t nlb_deadline; /* the running job's time limit */
    uint64_t nlb_started;
    int nlb_hung;          /* the running job passed its limit and was written off */
    uint8_t nlb_job_port;  /* what the running job asked for, for logs */
    struct pipe_server *pipe;
    struct net_conn link;
    uint32_t next_conn_id;
    uint64_t reconnect_at;
    struct app_monitor *app;
    struct status_publisher *pub; /* NULL: WMI status not published */
    /* The peer link is two one-way TCP connections: we send our reports on
     * the one we open, and hear the peer's on the one it opens to us. */
    SOCKET peer_listener;
    WSAEVENT peer_listen_event;
    struct net_conn peer_out;
    struct net_conn peer_in[PEER_IN_MAX];
    uint64_t peer_reconnect_at;
    int fatal; /* an action failed in a way that must stop the service */
    /* PRESHUTDOWN: stopping, but still running events until the backup has
     * taken over or handover_until passes. */
    int handing_over;
    uint64_t handover_started, handover_until;
};

static void step(struct agent_host *h, const struct agent_event *ev);

static void peer_down(struct agent_host *h, const char *why)
{
    int was_up = h->peer_out.sock != INVALID_SOCKET && !h->peer_out.connecting;
    net_close(&h->peer_out);
    h->peer_reconnect_at = win_now_ms() + h->env->cfg->reconnect_ms;
    if (was_up) {
        log_event(LOG_WARNING, MSG_PEER_LINK_DOWN, "peer link down: %s", why);
        struct agent_event ev = {.type = AGENT_EV_PEER_DOWN};
        step(h, &ev);
    }
}

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
        log_event(LOG_WARNING, MSG_COORD_LINK_DOWN, "coordinator link down: %s", why);
        struct agent_event ev = {.type = AGENT_EV_COORD_DOWN};
        step(h, &ev);
    }
}

/* Hands an NLB command (with its read-back) to the worker: the state
 * machine only ever believes what a query says, and hears of it as
 * NLB_DONE when the worker is done or the time limit has passed. */
static void run_nlb(struct agent_host *h, const struct agent_action *act)
{
    int job = act->type == AGENT_ACT_NLB_SET ? NLB_JOB_SET : NLB_JOB_QUERY;
    if (nlb_worker_submit(h->nlb, job, act->port) != 0) {
        log_event(LOG_ERROR, MSG_NLB_HUNG,
                  "cannot run NLB %s: the previous NLB command has not returned after %llu ms",
                  job == NLB_JOB_SET ? model_port_name(act->port) : "query",
                  (unsigned long long)(win_now_ms() - h->nlb_started));
        struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = MODEL_PORT_UNKNOWN, .ok = 0};
        step(h, &ev);
        return;
    }
    h->nlb_started = win_now_ms();
    h->nlb_deadline = h->nlb_started + h->env->cfg->nlb_timeout_ms;
    h->nlb_hung = 0;
    h->nlb_job_port = job == NLB_JOB_SET ? act->port : MODEL_PORT_UNKNOWN;
}

/* The worker finished: its read-back goes to the state machine, also for a
 * job written off as hung (a late answer is still the truth). */
static void nlb_finished(struct agent_host *h)
{
    uint8_t state = MODEL_PORT_UNKNOWN;
    int ok = 0;
    char err[512];
    struct nlb_worker_count count;
    if (!nlb_worker_collect(h->nlb, &state, &ok, err, sizeof err, &count))
        return;
    uint64_t took = win_now_ms() - h->nlb_started;
    if (!ok)
        log_event(LOG_ERROR, MSG_NLB_FAILED, "NLB %s failed: %s",
                  h->nlb_job_port ? model_port_name(h->nlb_job_port) : "query", err);
    if (h->nlb_hung)
        log_event(LOG_WARNING, MSG_NLB_HUNG,
                  "the NLB command written off as hung returned after %llu ms; port reads %s", (unsigned long long)took, model_port_name(state));
    if (count.err[0])
        log_event(LOG_WARNING, MSG_DRAINING,
                  "cannot count the connections left on the draining port (the drain runs its "
                  "full drain_ms): %s", count.err);
    h->nlb_hung = 0;
    struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = state, .ok = (uint8_t)ok};
    if (count.conns != NLB_CONNECTIONS_UNKNOWN) {
        ev.conns_known = 1;
        ev.conns = count.conns;
    }
    step(h, &ev);
}

/* A job past its limit is reported failed at once; the loop goes on. */
static void nlb_check_deadline(struct agent_host *h, uint64_t now)
{
    if (!nlb_worker_busy(h->nlb) || h->nlb_hung || now < h->nlb_deadline)
        return;
    h->nlb_hung = 1;
    log_event(LOG_ERROR, MSG_NLB_HUNG,
              "NLB %s has not returned within %lu ms (nlb_timeout_ms); treating it as failed "
              "and carrying on",
              h->nlb_job_port ? model_port_name(h->nlb_job_port) : "query",
              (unsigned long)h->env->cfg->nlb_timeout_ms);
    struct agent_event ev = {.type = AGENT_EV_NLB_DONE, .port = MODEL_PORT_UNKNOWN, .ok = 0};
    step(h, &ev);
}

/* Waits (bounded) for the running job: start-up and stop need its result.
 * The SCM hears a checkpoint every second meanwhile (progress: the state
 * being waited in), so an nlb_timeout_ms longer than the wait hint never
 * makes a slow but working start or stop look hung. */
#define NLB_WAIT_CHECKPOINT_MS 1000
static void nlb_wait(struct agent_host *h, int progress)
{
    while (nlb_worker_busy(h->nlb) && !h->nlb_hung) {
        uint64_t now = win_now_ms();
        DWORD left = h->nlb_deadline > now ? (DWORD)(h->nlb_deadline - now) : 0;
        DWORD slice = left < NLB_WAIT_CHECKPOINT_MS ? left : NLB_WAIT_CHECKPOINT_MS;
        DWORD rc = WaitForSingleObjectEx(nlb_worker_done_event(h->nlb), slice, TRUE);
        if (rc == WAIT_OBJECT_0)
            nlb_finished(h);
        else if (slice == left)
            nlb_check_deadline(h, win_now_ms());
        else
            h->env->progress(h->env->progress_ctx, progress);
    }
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
            if (event_id_of(act->event))
                log_event(log_level(act->level), event_id_of(act->event), "%s", act->text);
            else
                log_write(log_level(act->level), "%s", act->text);
            break;
        case AGENT_ACT_PERSIST_EPOCH:
            if (epoch_save(h->env->state_dir, act->epoch, err, sizeof err) != 0) {
                /* Acting on an epoch we could not store could let an older
                 * command win after a restart: stop instead. */
                log_event(LOG_ERROR, MSG_STATE_ERROR, "%s; stopping the service", err);
                h->fatal = DAEMON_EXIT_STATE;
            }
            break;
        case AGENT_ACT_SEND:
            if (h->link.sock != INVALID_SOCKET && !h->link.connecting &&
                net_send(&h->link, &act->msg, err, sizeof err) != 0)
                link_down(h, err);
            break;
        case AGENT_ACT_SEND_PEER:
            if (h->peer_out.sock != INVALID_SOCKET && !h->peer_out.connecting &&
                net_send(&h->peer_out, &act->msg, err, sizeof err) != 0)
                peer_down(h, err);
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

static int on_peer_up(void *ctx, struct net_conn *c)
{
    struct agent_host *h = ctx;
    log_write(LOG_INFO, "peer link to %s connected", c->peer);
    struct agent_event ev = {.type = AGENT_EV_PEER_UP};
    step(h, &ev);
    return h->peer_out.sock == INVALID_SOCKET;
}

/* Our outgoing peer connection only carries our reports; the peer never
 * answers on it. */
static int on_peer_out_message(void *ctx, struct net_conn *c, const struct wire_msg *m)
{
    (void)ctx;
    log_write(LOG_WARNING, "ignored %s from %s on our outgoing peer link", wire_type_name(m->type),
              c->peer);
    return 0;
}

/* A peer link proves itself with a sealed HELLO naming our peer: the seal
 * shows a holder of the key, the name that it is the other node, not some
 * third party with the key (a coordinator's host, say) posing as it. */
static int on_peer_message(void *ctx, struct net_conn *c, const struct wire_msg *m)
{
    struct agent_host *h = ctx;
    uint32_t id = c->id;
    if (!c->identified && m->type != WIRE_HELLO) {
        c->fault = "no HELLO";
        link_guard_log(LOG_WARNING, MSG_LINK_REFUSED, c->fault, c->peer,
                       "peer port: closing the connection from %s: it sent %s before HELLO",
                       c->peer, wire_type_name(m->type));
        net_close(c);
        return 1;
    }
    if (m->type == WIRE_HELLO && !agent_peer_hello_ok(&h->core.set, &m->u.hello)) {
        /* Said here, rate-limited: a misconfigured peer retries every
         * reconnect_ms. */
        const struct agent_settings *set = &h->core.set;
        c->fault = "not our peer";
        link_guard_log(LOG_ERROR, MSG_PEER_MISMATCH, c->fault, c->peer,
                       "peer port: closing the connection from %s: it says it is node %s of "
                       "pair %s; this is node %s of pair %s%s%s",
                       c->peer, m->u.hello.node, m->u.hello.pair, set->node, set->pair,
                       set->peer_node[0] ? ", whose other node is " : "", set->peer_node);
        net_close(c);
        return 1;
    }
    if (m->type == WIRE_HELLO)
        c->identified = 1;
    struct agent_event ev = {.type = AGENT_EV_PEER_MESSAGE, .msg = m};
    step(h, &ev);
    return c->sock == INVALID_SOCKET || c->id != id;
}

static void try_connect_peer(struct agent_host *h)
{
    char err[512];
    if (net_connect(&h->env->cfg->peer, &h->peer_out, ++h->next_conn_id, err, sizeof err) != 0) {
        h->peer_reconnect_at = win_now_ms() + h->env->cfg->reconnect_ms;
        log_write(LOG_WARNING, "peer link: %s", err);
    }
}

/* With every slot in use, the oldest connection that has not proved itself
 * makes room; only when all have (the peer reconnected after a cut) does
 * the oldest of the peer's own go, possibly half-dead. So connections from
 * strangers never push out the peer's link. */
static void accept_peer(struct agent_host *h)
{
    WSANETWORKEVENTS ne;
    WSAEnumNetworkEvents(h->peer_listener, h->peer_listen_event, &ne);
    char err[512];
    for (int round = 0; round < 16; round++) {
        struct net_conn *slot = link_guard_slot(h->peer_in, PEER_IN_MAX);
        if (slot->sock != INVALID_SOCKET) {
            /* Accept first: with nothing pending, nobody is evicted. */
            struct net_conn fresh;
            int rc = net_accept(h->peer_listener, &fresh, ++h->next_conn_id, err, sizeof err);
            if (rc != 0) {
                if (rc < 0)
                    log_write(LOG_WARNING, "peer link: %s", err);
                return;
            }
            if (slot->identified)
                log_write(LOG_INFO, "peer link from %s replaced by a newer connection",
                          slot->peer);
            else
                link_guard_log(LOG_WARNING, MSG_LINK_REFUSED, "evicted: slots full", slot->peer,
                               "peer port: closing the connection from %s: all %d slots in "
                               "use and it has not proved itself", slot->peer, PEER_IN_MAX);
            net_close(slot);
            *slot = fresh;
        } else {
            int rc = net_accept(h->peer_listener, slot, ++h->next_conn_id, err, sizeof err);
            if (rc != 0) {
                if (rc < 0)
                    log_write(LOG_WARNING, "peer link: %s", err);
                net_conn_init(slot);
                return;
            }
        }
        link_guard_log(LOG_INFO, 0, "connected", slot->peer, "peer link from %s", slot->peer);
    }
    /* Still pending: come back after the other events (see accept_links in
     * coordinator_host.c). */
    WSASetEvent(h->peer_listen_event);
}

/* Incoming peer connections that have not proved themselves in time are
 * closed, so that idle ones cannot hold the slots. */
static void close_overdue_peers(struct agent_host *h, uint64_t now)
{
    for (int i = 0; i < PEER_IN_MAX; i++) {
        struct net_conn *c = &h->peer_in[i];
        if (!link_guard_overdue(c, now))
            continue;
        link_guard_log(LOG_WARNING, MSG_LINK_REFUSED, "identify deadline", c->peer,
                       "peer port: closing the connection from %s: it did not identify itself "
                       "within %u ms", c->peer, LINK_GUARD_IDENTIFY_MS);
        net_close(c);
    }
}

static void app_changed(struct agent_host *h, int healthy, int changed)
{
    if (!changed)
        return;
    struct agent_event ev = {.type = AGENT_EV_APP, .ok = (uint8_t)healthy};
    step(h, &ev);
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
    if (req->type == WIRE_HISTORY_REQ) {
        reply->type = WIRE_HISTORY_REPLY;
        wire_history_fill(&reply->u.history, &h->core.history, win_now_ms());
        return PIPE_ANSWER_NOW;
    }
    if (req->type == WIRE_APP_STATUS) {
        /* The cooperating application's own word (passive SIP monitoring:
         * SERVICE_UNAVAILABLE after a silence). */
        if (!req->u.app_status.available || !h->core.app_available)
            log_write(req->u.app_status.available ? LOG_INFO : LOG_WARNING,
                      "the application reports %s: %s",
                      req->u.app_status.available ? "it can serve" : "SERVICE_UNAVAILABLE",
                      req->u.app_status.reason[0] ? req->u.app_status.reason : "(no reason)");
        struct agent_event ev = {.type = AGENT_EV_APP_REPORT,
                                 .ok = req->u.app_status.available};
        step(h, &ev);
        reply->type = WIRE_RESULT;
        reply->u.result.code = MODEL_OK;
        snprintf(reply->u.result.text, sizeof reply->u.result.text, "noted");
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

static void settings_of(const struct config *cfg, struct agent_settings *set)
{
    memset(set, 0, sizeof *set);
    utf8_copy(set->pair, sizeof set->pair, cfg->pair);
    utf8_copy(set->node, sizeof set->node, cfg->node);
    if (cfg->node1[0]) /* the config checks node is one of them */
        utf8_copy(set->peer_node, sizeof set->peer_node,
                  strcmp(cfg->node, cfg->node1) == 0 ? cfg->node2 : cfg->node1);
    set->heartbeat_ms = cfg->heartbeat_ms;
    set->reconcile_ms = cfg->reconcile_ms;
    set->isolation_ms = cfg->isolation_ms;
    set->peer_loss_ms = cfg->heartbeat_ms * cfg->miss_count;
    set->has_peer = cfg->peer.port != 0;
    set->drain_ms = cfg->drain_ms;
    set->nlb_timeout_ms = cfg->nlb_timeout_ms;
}

/* PARAMCHANGE. The shell reads the other live keys (nlb_timeout_ms,
 * reconnect_ms) from the config in force each time it needs them. */
static void reload(struct agent_host *h)
{
    struct config_changes ch;
    if (daemon_reload(h->env, &ch) != 0 || ch.live_count == 0)
        return;
    struct agent_settings set;
    settings_of(h->env->cfg, &set);
    agent_set_settings(&h->core, &set, win_now_ms());
}

/* PRESHUTDOWN: the ordinary stop (disable, read back, a last report that
 * says "stopping", so the coordinator promotes the backup at once), then
 * events keep running so that the peer's report that it serves can
 * arrive before the host goes down. */
static void begin_handover(struct agent_host *h)
{
    log_event(LOG_INFO, MSG_PRESHUTDOWN,
              "the host is shutting down: node %s (%s) stops%s", h->env->cfg->node,
              model_mode_name(h->core.mode),
              h->core.mode == MODEL_MODE_PRIMARY ? " and hands over to its backup" : "");
    h->handing_over = 1;
    h->handover_started = win_now_ms();
    h->handover_until = h->handover_started + DAEMON_HANDOVER_MS;
    struct agent_event ev = {.type = AGENT_EV_STOP};
    step(h, &ev);
}

/* 1 when the handover wait is over (and says how it ended). */
static int handover_over(struct agent_host *h, uint64_t now)
{
    int state = agent_handover_state(&h->core);
    unsigned long took = (unsigned long)(now - h->handover_started);
    if (state == AGENT_HANDOVER_DONE) {
        log_event(LOG_INFO, MSG_PRESHUTDOWN,
                  "handed over: port disabled here, the peer serves as primary (epoch %llu) "
                  "after %lu ms", (unsigned long long)h->core.peer.epoch, took);
        return 1;
    }
    if (state == AGENT_HANDOVER_NOBODY) {
        log_event(LOG_INFO, MSG_PRESHUTDOWN,
                  "port disabled after %lu ms; no handover to wait for (this node was not "
                  "primary, or no healthy peer was in view)", took);
        return 1;
    }
    if (now >= h->handover_until) {
        log_event(LOG_WARNING, MSG_PRESHUTDOWN,
                  "the handover is not confirmed after %lu ms (%s); stopping anyway", took,
                  model_port_not_serving(h->core.port_actual) ? "the peer does not report "
                  "itself serving yet" : "this node's disable is not confirmed");
        return 1;
    }
    return 0;
}

/* The WMI status class gets what `nlbctl status` would show now. */
static void publish(struct agent_host *h)
{
    struct wire_status_reply st;
    agent_status(&h->core, win_now_ms(), &st);
    status_publisher_update(h->pub, &st, h->env->cfg->pipe, h->core.last_transition_at);
}

static int start(struct agent_host *h)
{
    const struct config *cfg = h->env->cfg;
    char err[512];
    struct agent_settings set;
    settings_of(cfg, &set);
    agent_init(&h->core, &set, h->env->epoch, win_now_ms());

    /* Opening WMI can take seconds on a busy host: allow more than one command. */
    uint32_t open_ms = cfg->nlb_timeout_ms > 10000 ? cfg->nlb_timeout_ms : 10000;
    h->nlb = nlb_worker_start(cfg, cfg->node, open_ms, err, sizeof err);
    if (!h->nlb) {
        log_event(LOG_ERROR, MSG_NLB_BACKEND_ERROR, "%s", err);
        return DAEMON_EXIT_NLB;
    }
    log_write(LOG_INFO, "node %s drives NLB rule %s:%u through %s", cfg->node, cfg->vip,
              (unsigned)cfg->port, nlb_worker_describe(h->nlb));
    h->env->progress(h->env->progress_ctx, DAEMON_STARTING);
    h->pipe = pipe_server_open(cfg->pipe, cfg->status_group, err, sizeof err);
    if (!h->pipe) {
        log_event(LOG_ERROR, MSG_STARTUP_FAILED, "%s", err);
        return DAEMON_EXIT_STARTUP;
    }
    /* Safe start, done before RUNNING is reported: backup, port disabled. */
    struct agent_event ev = {.type = AGENT_EV_START};
    step(h, &ev);
    nlb_wait(h, DAEMON_STARTING);
    if (h->fatal)
        return h->fatal;
    h->app = app_monitor_open(cfg, err, sizeof err);
    if (!h->app && err[0]) {
        log_event(LOG_ERROR, MSG_STARTUP_FAILED, "%s", err);
        return DAEMON_EXIT_STARTUP;
    }
    if (h->app) {
        int changed = 0;
        int healthy = app_monitor_check(h->app, win_now_ms(), &changed);
        log_write(LOG_INFO, "watching the application %s: %s", app_monitor_describe(h->app),
                  healthy ? "running" : "not running");
        struct agent_event app_ev = {.type = AGENT_EV_APP, .ok = (uint8_t)healthy};
        step(h, &app_ev);
    }
    if (cfg->peer.port) {
        h->peer_listener = net_listen(&cfg->peer_listen, &h->peer_listen_event, err, sizeof err);
        if (h->peer_listener == INVALID_SOCKET) {
            log_event(LOG_ERROR, MSG_STARTUP_FAILED, "peer link: %s", err);
            return DAEMON_EXIT_STARTUP;
        }
        log_write(LOG_INFO, "peer link: listening on %s:%u, peer at %s:%u", cfg->peer_listen.host,
                  (unsigned)cfg->peer_listen.port, cfg->peer.host, (unsigned)cfg->peer.port);
        try_connect_peer(h);
    }
    try_connect(h);
    h->pub = status_publisher_start();
    publish(h);
    return DAEMON_EXIT_OK;
}

static void stop(struct agent_host *h)
{
    h->env->progress(h->env->progress_ctx, DAEMON_STOPPING);
    if (h->nlb) {
        /* The disable must run even after a fatal error, after the job in
         * hand (if it is not hung). */
        h->fatal = 0;
        nlb_wait(h, DAEMON_STOPPING);
        if (!h->core.stopping) { /* a PRESHUTDOWN stop has done this already */
            struct agent_event ev = {.type = AGENT_EV_STOP};
            step(h, &ev);
        }
        nlb_wait(h, DAEMON_STOPPING);
        if (nlb_worker_busy(h->nlb))
            log_event(LOG_ERROR, MSG_NLB_HUNG, "stopping with the NLB command still hung: the port may still "
                                 "be enabled; check it with nlbctl port query");
    }
    pipe_server_close(h->pipe);
    net_close(&h->link);
    net_close(&h->peer_out);
    for (int i = 0; i < PEER_IN_MAX; i++)
        net_close(&h->peer_in[i]);
    if (h->peer_listener != INVALID_SOCKET)
        closesocket(h->peer_listener);
    if (h->peer_listen_event != WSA_INVALID_EVENT)
        WSACloseEvent(h->peer_listen_event);
    app_monitor_close(h->app);
    status_publisher_stop(h->pub);
    /* A hung call has had its nlb_timeout_ms already: a short grace only. */
    nlb_worker_stop(h->nlb, nlb_worker_busy(h->nlb) ? NLB_WAIT_CHECKPOINT_MS
                                                    : h->env->cfg->nlb_timeout_ms);
}

int agent_host_run(const struct daemon_env *env)
{
    static struct agent_host host; /* large buffers: not on the stack */
    struct agent_host *h = &host;
    memset(h, 0, sizeof *h);
    h->env = env;
    net_conn_init(&h->link);
    net_conn_init(&h->peer_out);
    for (int i = 0; i < PEER_IN_MAX; i++)
        net_conn_init(&h->peer_in[i]);
    h->peer_listener = INVALID_SOCKET;
    h->peer_listen_event = WSA_INVALID_EVENT;

    int rc = start(h);
    if (rc == DAEMON_EXIT_OK)
        env->progress(env->progress_ctx, DAEMON_RUNNING);

    uint64_t next_tick = win_now_ms() + TICK_MS;
    while (rc == DAEMON_EXIT_OK && !h->fatal) {
        struct event_loop loop;
        event_loop_reset(&loop);
        if (!h->handing_over)
            event_loop_add(&loop, env->stop_event, TAG_STOP);
        event_loop_add(&loop, env->reload_event, TAG_RELOAD);
        if (h->link.sock != INVALID_SOCKET)
            event_loop_add(&loop, h->link.event, TAG_LINK);
        if (app_monitor_handle(h->app))
            event_loop_add(&loop, app_monitor_handle(h->app), TAG_APP);
        event_loop_add(&loop, nlb_worker_done_event(h->nlb), TAG_NLB);
        if (h->peer_listener != INVALID_SOCKET)
            event_loop_add(&loop, h->peer_listen_event, TAG_PEER_LISTEN);
        if (h->peer_out.sock != INVALID_SOCKET)
            event_loop_add(&loop, h->peer_out.event, TAG_PEER_OUT);
        for (int i = 0; i < PEER_IN_MAX; i++)
            if (h->peer_in[i].sock != INVALID_SOCKET)
                event_loop_add(&loop, h->peer_in[i].event, TAG_PEER_IN + i);
        HANDLE pipe_events[PIPE_SERVER_INSTANCES];
        int np = pipe_server_events(h->pipe, pipe_events);
        for (int i = 0; i < np; i++)
            event_loop_add(&loop, pipe_events[i], TAG_PIPE + i);

        uint64_t now = win_now_ms();
        DWORD wait = next_tick > now ? (DWORD)(next_tick - now) : 0;
        int tag = event_loop_wait(&loop, wait);
        char err[512];
        int changed = 0;
        if (tag == TAG_STOP) {
            if (!env->handover_event || WaitForSingleObject(env->handover_event, 0) != WAIT_OBJECT_0)
                break;
            begin_handover(h);
        } else if (tag == TAG_RELOAD) {
            reload(h);
        } else if (tag == TAG_LINK) {
            if (net_service(&h->link, on_link_up, on_link_message, h, err, sizeof err) ==
                NET_CLOSED)
                link_down(h, err);
        } else if (tag == TAG_NLB) {
            nlb_finished(h);
        } else if (tag == TAG_APP) {
            int healthy = app_monitor_check(h->app, win_now_ms(), &changed);
            app_changed(h, healthy, changed);
        } else if (tag == TAG_PEER_LISTEN) {
            accept_peer(h);
        } else if (tag == TAG_PEER_OUT) {
            if (net_service(&h->peer_out, on_peer_up, on_peer_out_message, h, err,
                            sizeof err) == NET_CLOSED)
                peer_down(h, err);
        } else if (tag >= TAG_PEER_IN && tag < TAG_PEER_IN + PEER_IN_MAX) {
            struct net_conn *c = &h->peer_in[tag - TAG_PEER_IN];
            if (net_service(c, NULL, on_peer_message, h, err, sizeof err) == NET_CLOSED) {
                if (c->identified)
                    log_write(LOG_INFO, "peer link from %s closed: %s", c->peer, err);
                else /* anyone can connect: rate-limited */
                    link_guard_log(LOG_WARNING, MSG_LINK_REFUSED,
                                   c->fault ? c->fault : "closed", c->peer,
                                   "peer port: connection from %s closed: %s", c->peer, err);
                net_close(c);
            }
        } else if (tag >= TAG_PIPE && tag < TAG_PIPE + PIPE_SERVER_INSTANCES) {
            pipe_server_service(h->pipe, tag - TAG_PIPE, on_pipe_request, h);
        } else if (tag == EVENT_LOOP_FAILED) {
            log_event(LOG_ERROR, MSG_INTERNAL_ERROR, "internal: wait failed (error %lu)",
                      (unsigned long)GetLastError());
            rc = DAEMON_EXIT_STARTUP;
        }
        now = win_now_ms();
        nlb_check_deadline(h, now);
        if (h->handing_over && handover_over(h, now))
            break;
        if (now >= next_tick) {
            next_tick = now + TICK_MS;
            if (h->handing_over) /* a checkpoint: the SCM sees progress */
                env->progress(env->progress_ctx, DAEMON_STOPPING);
            struct agent_event ev = {.type = AGENT_EV_TICK};
            step(h, &ev);
            close_overdue_peers(h, now);
            if (h->peer_listener != INVALID_SOCKET)
                accept_peer(h); /* a lost FD_ACCEPT must not deafen the port */
            link_guard_tick();
            if (h->link.sock == INVALID_SOCKET && now >= h->reconnect_at)
                try_connect(h);
            if (h->env->cfg->peer.port && h->peer_out.sock == INVALID_SOCKET &&
                now >= h->peer_reconnect_at)
                try_connect_peer(h);
            if (h->app) {
                int healthy = app_monitor_tick(h->app, now, &changed);
                app_changed(h, healthy, changed);
            }
            publish(h);
        }
    }
    if (h->fatal)
        rc = h->fatal;
    stop(h);
    return rc;
}
