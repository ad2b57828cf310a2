/* coordinator_host.c - runs the coordinator state machine on Windows: the
 * listening socket and agent links, the control pipe and the epoch file.
 * Every decision is coordinator_step()'s. */
#include <stdio.h>
#include <string.h>

#include "coordinator.h"
#include "utf8.h"
#include "daemon.h"
#include "epoch_store.h"
#include "event_ids.h"
#include "event_loop.h"
#include "link_guard.h"
#include "log.h"
#include "net.h"
#include "nlbctld_msg.h"
#include "pipe_server.h"
#include "sip_monitor.h"
#include "status_publisher.h"
#include "winutil.h"

#define TICK_MS 100
#define MAX_LINKS 16 /* two agents, room for reconnects and strays */

enum { TAG_STOP = 1, TAG_LISTEN = 2, TAG_RELOAD = 3, TAG_LINK = 100, TAG_PIPE = 200, TAG_SIP = 300 };

struct coordinator_host {
    const struct daemon_env *env;
    struct coordinator core;
    struct pipe_server *pipe;
    struct sip_monitor *sip; /* NULL: no active SIP monitoring configured */
    struct status_publisher *pub; /* NULL: WMI status not published */
    SOCKET listener;
    WSAEVENT listen_event;
    struct net_conn links[MAX_LINKS];
    uint32_t next_conn_id;
    /* The pipe request being handled right now, so that an answer the core
     * gives in the same step goes back directly rather than deferred. */
    uint32_t current_token;
    int answered_now;
    struct wire_msg current_answer;
    /* The link whose message is being stepped, while it is unidentified:
     * what the core logs about it is rate-limited like a network fault. */
    const struct net_conn *unidentified;
    int fatal;
};

static void step(struct coordinator_host *h, const struct coordinator_event *ev);

static struct net_conn *link_by_id(struct coordinator_host *h, uint32_t id)
{
    for (int i = 0; i < MAX_LINKS; i++)
        if (h->links[i].sock != INVALID_SOCKET && h->links[i].id == id)
            return &h->links[i];
    return NULL;
}

/* tell: the link failed or was refused (logged as a warning, and the core
 * hears of it); otherwise the core itself asked for the close. */
static void drop_link(struct coordinator_host *h, struct net_conn *c, const char *why, int tell)
{
    uint32_t id = c->id;
    if (c->identified)
        log_write(tell ? LOG_WARNING : LOG_INFO, "closing link %u (%s): %s", (unsigned)id,
                  c->peer, why);
    else /* anyone can open one: a flood of these must not flood the log */
        link_guard_log(tell ? LOG_WARNING : LOG_INFO, tell ? MSG_LINK_REFUSED : 0,
                       tell && c->fault ? c->fault : "closed before HELLO", c->peer,
                       "closing link %u (%s): %s", (unsigned)id, c->peer, why);
    net_close(c);
    if (tell) {
        struct coordinator_event ev = {.type = COORD_EV_DISCONNECT, .conn = id};
        step(h, &ev);
    }
}

static int log_level(uint8_t level)
{
    return level == COORD_LOG_ERROR ? LOG_ERROR : level == COORD_LOG_WARNING ? LOG_WARNING : LOG_INFO;
}

static void answer(struct coordinator_host *h, const struct coordinator_action *act)
{
    struct wire_msg r;
    memset(&r, 0, sizeof r);
    r.type = WIRE_RESULT;
    r.u.result.code = act->code;
    utf8_copy(r.u.result.text, sizeof r.u.result.text, act->text);
    if (act->token == h->current_token && !h->answered_now) {
        h->current_answer = r;
        h->answered_now = 1;
    } else {
        pipe_server_reply(h->pipe, act->token, &r);
    }
}

static void run_actions(struct coordinator_host *h, const struct coordinator_actions *out)
{
    char err[512];
    for (unsigned i = 0; i < out->count && !h->fatal; i++) {
        const struct coordinator_action *act = &out->items[i];
        struct net_conn *c;
        switch (act->type) {
        case COORD_ACT_LOG:
            if (h->unidentified && (act->event == MODEL_EV_PROTOCOL ||
                                    act->event == MODEL_EV_NODE_REFUSED)) {
                char kind[32];
                snprintf(kind, sizeof kind, "core event %u", (unsigned)act->event);
                link_guard_log(log_level(act->level), event_id_of(act->event), kind,
                               h->unidentified->peer, "%s", act->text);
            } else if (event_id_of(act->event))
                log_event(log_level(act->level), event_id_of(act->event), "%s", act->text);
            else
                log_write(log_level(act->level), "%s", act->text);
            break;
        case COORD_ACT_PERSIST_EPOCH:
            if (epoch_save(h->env->state_dir, act->epoch, err, sizeof err) != 0) {
                log_event(LOG_ERROR, MSG_STATE_ERROR, "%s; stopping the service", err);
                h->fatal = DAEMON_EXIT_STATE;
            }
            break;
        case COORD_ACT_SEND:
            c = link_by_id(h, act->conn);
            if (c && net_send(c, &act->msg, err, sizeof err) != 0)
                drop_link(h, c, err, 1);
            break;
        case COORD_ACT_CLOSE:
            c = link_by_id(h, act->conn);
            if (c)
                drop_link(h, c, act->text, 0);
            break;
        case COORD_ACT_REPLY:
            answer(h, act);
            break;
        default:
            break;
        }
    }
}

static void step(struct coordinator_host *h, const struct coordinator_event *ev)
{
    struct coordinator_actions out;
    coordinator_step(&h->core, ev, win_now_ms(), &out);
    run_actions(h, &out);
}

static int on_link_message(void *ctx, struct net_conn *c, const struct wire_msg *m)
{
    struct coordinator_host *h = ctx;
    uint32_t id = c->id;
    struct coordinator_event ev = {.type = COORD_EV_MESSAGE, .conn = id, .msg = m};
    h->unidentified = c->identified ? NULL : c;
    step(h, &ev);
    h->unidentified = NULL;
    if (c->sock == INVALID_SOCKET || c->id != id)
        return 1;
    /* Identified once the core has bound the link to a node (an accepted
     * HELLO): from then on it no longer counts against the HELLO deadline
     * and strangers cannot push it out of its slot. */
    for (int i = 0; i < 2; i++)
        if (h->core.nodes[i].connected && h->core.nodes[i].conn == id)
            c->identified = 1;
    return 0;
}

static void accept_links(struct coordinator_host *h)
{
    WSANETWORKEVENTS ne;
    WSAEnumNetworkEvents(h->listener, h->listen_event, &ne);
    char err[512];
    for (int round = 0; round < 4 * MAX_LINKS; round++) {
        /* Full: the oldest connection that has not said HELLO makes room,
         * so strangers holding connections cannot keep an agent out. */
        struct net_conn *slot = link_guard_slot(h->links, MAX_LINKS);
        if (slot->sock != INVALID_SOCKET) {
            /* Accept first: with nothing pending, nobody is evicted. */
            struct net_conn fresh;
            int rc = net_accept(h->listener, &fresh, ++h->next_conn_id, err, sizeof err);
            if (rc != 0) {
                if (rc < 0)
                    log_write(LOG_WARNING, "%s", err);
                return;
            }
            if (slot->identified)
                drop_link(h, slot, "all link slots in use; replaced by a newer connection", 1);
            else
                link_guard_log(LOG_WARNING, MSG_LINK_REFUSED, "evicted: slots full", slot->peer,
                               "closing link %u (%s): all %d link slots in use, and it has not "
                               "said HELLO; making room for a new connection",
                               (unsigned)slot->id, slot->peer, MAX_LINKS);
            net_close(slot);
            *slot = fresh;
        } else {
            int rc = net_accept(h->listener, slot, ++h->next_conn_id, err, sizeof err);
            if (rc != 0) {
                if (rc < 0)
                    log_write(LOG_WARNING, "%s", err);
                net_conn_init(slot);
                return;
            }
        }
        link_guard_log(LOG_INFO, 0, "connected", slot->peer, "link %u from %s",
                       (unsigned)slot->id, slot->peer);
    }
    /* A flood is still pending: come back after the other events rather
     * than spin here (FD_ACCEPT alone is not re-signalled under Wine). */
    WSASetEvent(h->listen_event);
}

/* A connection that has not said HELLO in time is closed: otherwise idle
 * connections would hold the slots for ever. */
static void close_overdue(struct coordinator_host *h, uint64_t now)
{
    char why[96];
    for (int i = 0; i < MAX_LINKS; i++) {
        struct net_conn *c = &h->links[i];
        if (!link_guard_overdue(c, now))
            continue;
        snprintf(why, sizeof why, "it did not identify itself (HELLO) within %u ms",
                 LINK_GUARD_IDENTIFY_MS);
        c->fault = "HELLO deadline";
        drop_link(h, c, why, 1);
    }
}

static int on_pipe_request(void *ctx, uint32_t token, const struct wire_msg *req,
                           struct wire_msg *reply)
{
    struct coordinator_host *h = ctx;
    if (req->type == WIRE_STATUS_REQ) {
        reply->type = WIRE_STATUS_REPLY;
        coordinator_status(&h->core, win_now_ms(), &reply->u.status);
        return PIPE_ANSWER_NOW;
    }
    if (req->type == WIRE_HISTORY_REQ) {
        reply->type = WIRE_HISTORY_REPLY;
        wire_history_fill(&reply->u.history, &h->core.history, win_now_ms());
        return PIPE_ANSWER_NOW;
    }
    if (req->type == WIRE_SWITCHOVER_REQ) {
        h->current_token = token;
        h->answered_now = 0;
        struct coordinator_event ev = {.type = COORD_EV_SWITCHOVER, .token = token, .msg = req};
        step(h, &ev);
        h->current_token = 0;
        if (h->answered_now) {
            *reply = h->current_answer;
            return PIPE_ANSWER_NOW;
        }
        return PIPE_ANSWER_LATER;
    }
    reply->type = WIRE_RESULT;
    reply->u.result.code = MODEL_ERR_BAD_REQUEST;
    snprintf(reply->u.result.text, sizeof reply->u.result.text,
             "%s is not a request this service answers", wire_type_name(req->type));
    return PIPE_ANSWER_NOW;
}

/* Active SIP monitoring's verdicts: a node's go to the core; the VIP's is
 * logged only, with what it suggests (the VIP failing while the primary
 * answers on its own address points at NLB, not the application). */
static void on_sip_verdict(void *ctx, int target, uint8_t verdict, const char *why)
{
    struct coordinator_host *h = ctx;
    if (target == SIP_PROBE_VIP) {
        int p = h->core.primary;
        int primary_answers = p != COORD_NO_NODE && h->core.nodes[p].probe == MODEL_PROBE_UP;
        if (verdict == SIP_PROBE_DOWN)
            log_event(LOG_WARNING, MSG_SIP_PROBE, "SIP monitor: the VIP %s:%u does not answer (%s)%s",
                      h->env->cfg->mon_vip.host, (unsigned)h->env->cfg->mon_vip.port, why,
                      primary_answers ? "; the primary answers on its own address, so the VIP "
                                        "path (NLB port rule, convergence, network) is at fault"
                                      : "");
        else
            log_event(LOG_INFO, MSG_SIP_PROBE, "SIP monitor: the VIP %s:%u %s", h->env->cfg->mon_vip.host,
                      (unsigned)h->env->cfg->mon_vip.port, sip_probe_verdict_name(verdict));
        return;
    }
    if (verdict == SIP_PROBE_UNKNOWN)
        return;
    struct coordinator_event ev = {.type = COORD_EV_PROBE,
                                   .node = (uint8_t)target,
                                   .probe_down = verdict == SIP_PROBE_DOWN,
                                   .text = why};
    step(h, &ev);
}

static void settings_of(const struct config *cfg, struct coordinator_settings *set)
{
    memset(set, 0, sizeof *set);
    utf8_copy(set->pair, sizeof set->pair, cfg->pair);
    utf8_copy(set->node[0], sizeof set->node[0], cfg->node1);
    utf8_copy(set->node[1], sizeof set->node[1], cfg->node2);
    set->preferred = strcmp(cfg->preferred, cfg->node2) == 0 ? 1 : 0;
    set->heartbeat_ms = cfg->heartbeat_ms;
    set->election_wait_ms = cfg->election_wait_ms;
    set->switchover_timeout_ms = cfg->switchover_timeout_ms;
    set->loss_ms = cfg->heartbeat_ms * cfg->miss_count;
    set->max_delay_ms = cfg->max_delay_ms;
    set->preempt = cfg->preempt;
    set->preempt_delay_ms = cfg->preempt_delay_ms;
    /* the agent's retry while out of the cluster, one NLB command, one message */
    set->disconnect_confirm_ms = cfg->heartbeat_ms + cfg->nlb_timeout_ms + cfg->max_delay_ms;
    set->probe_enabled = cfg->mon_node1.port != 0;
}

static void log_sip_monitor(const struct config *cfg)
{
    log_write(LOG_INFO,
              "SIP monitor: OPTIONS to %s %s:%u and %s %s:%u%s%s every %lu ms (timeout %lu "
              "ms, up after %lu answers, down after %lu failures)",
              cfg->node1, cfg->mon_node1.host, (unsigned)cfg->mon_node1.port, cfg->node2,
              cfg->mon_node2.host, (unsigned)cfg->mon_node2.port,
              cfg->mon_vip.port ? " and the VIP " : "", cfg->mon_vip.port ? cfg->mon_vip.host : "",
              (unsigned long)cfg->mon_interval_ms, (unsigned long)cfg->mon_timeout_ms,
              (unsigned long)cfg->mon_rise, (unsigned long)cfg->mon_fall);
}

/* [sip_monitor] changed: a new monitor with the new settings. Verdicts
 * already given stand until the new monitor gives its own (after rise or
 * fall probes); with monitoring switched off, nodes held down by it are
 * released, since nothing would ever release them otherwise. */
static void reload_sip_monitor(struct coordinator_host *h)
{
    char err[512];
    sip_monitor_close(h->sip);
    h->sip = sip_monitor_open(h->env->cfg, err, sizeof err);
    if (h->sip) {
        log_sip_monitor(h->env->cfg);
        return;
    }
    if (!err[0]) {
        /* coordinator_set_settings has already set the verdicts to off */
        log_write(LOG_INFO, "SIP monitor: switched off");
        return;
    }
    log_write(LOG_ERROR, "SIP monitor: %s; active SIP monitoring is off until the next "
              "reload or restart", err);
    struct coordinator_event ev = {.type = COORD_EV_PROBE_OFF,
                                   .text = "it could not be restarted after the reload"};
    step(h, &ev);
}

/* PARAMCHANGE. */
static void reload(struct coordinator_host *h)
{
    struct config_changes ch;
    if (daemon_reload(h->env, &ch) != 0 || ch.live_count == 0)
        return;
    struct coordinator_settings set;
    settings_of(h->env->cfg, &set);
    coordinator_set_settings(&h->core, &set, win_now_ms());
    if (config_changed(&ch, "sip_monitor", NULL))
        reload_sip_monitor(h);
}

/* The WMI status class gets what `nlbctl status` would show now. */
static void publish(struct coordinator_host *h)
{
    struct wire_status_reply st;
    uint64_t now = win_now_ms(), at = now;
    coordinator_status(&h->core, now, &st);
    model_history_get(&h->core.history, 0, &at);
    status_publisher_update(h->pub, &st, h->env->cfg->pipe, at);
}

static int start(struct coordinator_host *h)
{
    const struct config *cfg = h->env->cfg;
    char err[512];
    struct coordinator_settings set;
    settings_of(cfg, &set);
    coordinator_init(&h->core, &set, h->env->epoch, win_now_ms());

    h->env->progress(h->env->progress_ctx, DAEMON_STARTING);
    h->pipe = pipe_server_open(cfg->pipe, cfg->status_group, err, sizeof err);
    if (!h->pipe) {
        log_event(LOG_ERROR, MSG_STARTUP_FAILED, "%s", err);
        return DAEMON_EXIT_STARTUP;
    }
    h->listener = net_listen(&cfg->listen, &h->listen_event, err, sizeof err);
    if (h->listener == INVALID_SOCKET) {
        log_event(LOG_ERROR, MSG_STARTUP_FAILED, "%s", err);
        return DAEMON_EXIT_STARTUP;
    }
    log_write(LOG_INFO, "listening for agents on %s:%u", cfg->listen.host,
              (unsigned)cfg->listen.port);
    h->sip = sip_monitor_open(cfg, err, sizeof err);
    if (!h->sip && err[0]) {
        log_write(LOG_ERROR, "%s", err);
        return DAEMON_EXIT_STARTUP;
    }
    if (h->sip)
        log_sip_monitor(cfg);
    struct coordinator_event ev = {.type = COORD_EV_START};
    step(h, &ev);
    h->pub = status_publisher_start();
    publish(h);
    return h->fatal;
}

static void stop(struct coordinator_host *h)
{
    h->env->progress(h->env->progress_ctx, DAEMON_STOPPING);
    pipe_server_close(h->pipe);
    sip_monitor_close(h->sip);
    h->sip = NULL;
    status_publisher_stop(h->pub);
    for (int i = 0; i < MAX_LINKS; i++)
        net_close(&h->links[i]);
    if (h->listener != INVALID_SOCKET)
        closesocket(h->listener);
    if (h->listen_event != WSA_INVALID_EVENT && h->listen_event)
        WSACloseEvent(h->listen_event);
}

int coordinator_host_run(const struct daemon_env *env)
{
    static struct coordinator_host host; /* large buffers: not on the stack */
    struct coordinator_host *h = &host;
    memset(h, 0, sizeof *h);
    h->env = env;
    h->listener = INVALID_SOCKET;
    h->listen_event = WSA_INVALID_EVENT;
    for (int i = 0; i < MAX_LINKS; i++)
        net_conn_init(&h->links[i]);

    int rc = start(h);
    if (rc == DAEMON_EXIT_OK)
        env->progress(env->progress_ctx, DAEMON_RUNNING);

    uint64_t next_tick = win_now_ms() + TICK_MS;
    while (rc == DAEMON_EXIT_OK && !h->fatal) {
        struct event_loop loop;
        event_loop_reset(&loop);
        event_loop_add(&loop, env->stop_event, TAG_STOP);
        event_loop_add(&loop, env->reload_event, TAG_RELOAD);
        event_loop_add(&loop, h->listen_event, TAG_LISTEN);
        for (int i = 0; i < MAX_LINKS; i++)
            if (h->links[i].sock != INVALID_SOCKET)
                event_loop_add(&loop, h->links[i].event, TAG_LINK + i);
        HANDLE pipe_events[PIPE_SERVER_INSTANCES];
        int np = pipe_server_events(h->pipe, pipe_events);
        for (int i = 0; i < np; i++)
            event_loop_add(&loop, pipe_events[i], TAG_PIPE + i);
        HANDLE sip_events[SIP_PROBE_TARGETS];
        int ns = sip_monitor_events(h->sip, sip_events);
        for (int i = 0; i < ns; i++)
            event_loop_add(&loop, sip_events[i], TAG_SIP + i);

        uint64_t now = win_now_ms();
        DWORD wait = next_tick > now ? (DWORD)(next_tick - now) : 0;
        int tag = event_loop_wait(&loop, wait);
        char err[512];
        if (tag == TAG_STOP) {
            if (env->handover_event && WaitForSingleObject(env->handover_event, 0) == WAIT_OBJECT_0)
                log_event(LOG_INFO, MSG_PRESHUTDOWN, "the host is shutting down: the coordinator "
                          "stops; the nodes keep their roles until it is back");
            break;
        }
        if (tag == TAG_RELOAD) {
            reload(h);
        } else if (tag == TAG_LISTEN) {
            accept_links(h);
        } else if (tag >= TAG_LINK && tag < TAG_LINK + MAX_LINKS) {
            struct net_conn *c = &h->links[tag - TAG_LINK];
            if (net_service(c, NULL, on_link_message, h, err, sizeof err) == NET_CLOSED &&
                c->sock != INVALID_SOCKET)
                drop_link(h, c, err, 1);
        } else if (tag >= TAG_PIPE && tag < TAG_PIPE + PIPE_SERVER_INSTANCES) {
            pipe_server_service(h->pipe, tag - TAG_PIPE, on_pipe_request, h);
        } else if (tag >= TAG_SIP && tag < TAG_SIP + SIP_PROBE_TARGETS) {
            sip_monitor_service(h->sip, tag - TAG_SIP, on_sip_verdict, h);
        } else if (tag == EVENT_LOOP_FAILED) {
            log_event(LOG_ERROR, MSG_INTERNAL_ERROR, "internal: wait failed (error %lu)",
                      (unsigned long)GetLastError());
            rc = DAEMON_EXIT_STARTUP;
        }
        now = win_now_ms();
        if (now >= next_tick) {
            next_tick = now + TICK_MS;
            struct coordinator_event ev = {.type = COORD_EV_TICK};
            step(h, &ev);
            close_overdue(h, now);
            /* Also accept on the timer: a lost FD_ACCEPT (seen under Wine
             * during a flood) must not leave the port deaf to agents. */
            accept_links(h);
            link_guard_tick();
            sip_monitor_tick(h->sip, on_sip_verdict, h);
            publish(h);
        }
    }
    if (h->fatal)
        rc = h->fatal;
    stop(h);
    return rc;
}
