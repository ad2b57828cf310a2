/* main.c - nlbctl.exe, the console for people and scripts.
 *
 *   nlbctl [--pipe NAME] status [--json]
 *   nlbctl [--pipe NAME] history [--json]
 *   nlbctl [--pipe NAME] switchover [--to NODE] [--timeout SECONDS]
 *   nlbctl port enable|disable|drain|query VIP:PORT [--backend wmi|exec|sim] ...
 *
 * Results on stdout, diagnostics on stderr, exit codes below (README.md
 * documents them; scripts rely on them). The words are parsed in args.c
 * (portable, unit-tested and fuzzed natively); this file carries them out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "args.h"
#include "config.h"
#include "nlb_worker.h"
#include "pipe_client.h"
#include "status_print.h"
#include "winutil.h"

enum nlbctl_exit {
    EXIT_OK = 0,
    EXIT_USAGE = 1,       /* bad command line */
    EXIT_NOT_RUNNING = 2, /* nlbctld is not running */
    EXIT_COMM = 3,        /* talking to nlbctld failed */
    EXIT_REFUSED = 4,     /* nlbctld refused the request (reason on stderr) */
    EXIT_TIMEOUT = 5,     /* the change did not complete in time */
    EXIT_DENIED = 6,      /* not allowed to use the pipe */
    EXIT_NLB = 7          /* nlbctl port: the NLB command failed (reason on stderr) */
};

#define STATUS_TIMEOUT_MS 5000

static const char *pipe_name = NLBCTL_DEFAULT_PIPE;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nlbctl [--pipe NAME] <command> [options]\n"
            "\n"
            "commands:\n"
            "  status [--json]               who is primary, and every node's port state\n"
            "  history [--json]              the last transitions, newest first, with reasons\n"
            "  switchover [--to NODE] [--timeout SECONDS]\n"
            "                                make the other node (or NODE) primary and wait\n"
            "                                until its port is confirmed enabled (default 30 s)\n"
            "  port enable|disable|drain|query VIP:PORT [--json] [--timeout SECONDS]\n"
            "       [--backend wmi|exec|sim] [--cluster-ip IP] [--exec-command T]\n"
            "       [--exec-query T] [--sim-dir DIR --node NAME]\n"
            "                                drive this host's NLB port rule directly (no\n"
            "                                nlbctld needed); the state is read back after\n"
            "                                every change (default backend wmi, 10 s)\n"
            "\n"
            "options:\n"
            "  --pipe NAME   the nlbctld instance to talk to (default nlbctld)\n"
            "  --version     print the version\n"
            "\n"
            "exit codes: 0 ok, 1 bad command line, 2 nlbctld not running, 3 communication\n"
            "error, 4 request refused, 5 timed out, 6 access denied (not an administrator),\n"
            "7 the NLB command failed\n");
}

static int client_exit(int rc)
{
    switch (rc) {
    case PIPE_CLIENT_NOT_RUNNING: return EXIT_NOT_RUNNING;
    case PIPE_CLIENT_DENIED: return EXIT_DENIED;
    case PIPE_CLIENT_TIMEOUT: return EXIT_TIMEOUT;
    default: return EXIT_COMM;
    }
}

static int result_exit(int32_t code)
{
    if (code == MODEL_OK)
        return EXIT_OK;
    if (code == MODEL_ERR_ACCESS_DENIED)
        return EXIT_DENIED;
    return code == MODEL_ERR_TIMEOUT ? EXIT_TIMEOUT : EXIT_REFUSED;
}

/* status and history: a read-only request, an answer printed as a table or JSON. */
static int cmd_read(uint8_t type, int json)
{
    struct wire_msg req, reply;
    memset(&req, 0, sizeof req);
    req.type = type;
    req.id = GetCurrentProcessId();
    char err[512];
    int rc = pipe_client_call(pipe_name, &req, &reply, STATUS_TIMEOUT_MS, err, sizeof err);
    if (rc != PIPE_CLIENT_OK) {
        fprintf(stderr, "nlbctl: %s\n", err);
        return client_exit(rc);
    }
    if (reply.type == WIRE_RESULT) {
        fprintf(stderr, "nlbctl: %s\n", reply.u.result.text);
        return result_exit(reply.u.result.code);
    }
    if (reply.type == WIRE_HISTORY_REPLY && type == WIRE_HISTORY_REQ) {
        history_print(stdout, &reply.u.history, json);
        return EXIT_OK;
    }
    if (reply.type != WIRE_STATUS_REPLY || type != WIRE_STATUS_REQ) {
        fprintf(stderr, "nlbctl: unexpected answer %s\n", wire_type_name(reply.type));
        return EXIT_COMM;
    }
    if (json)
        status_print_json(stdout, &reply.u.status);
    else
        status_print_table(stdout, &reply.u.status);
    return EXIT_OK;
}

static int cmd_switchover(const struct nlbctl_args *args)
{
    struct wire_msg req, reply;
    memset(&req, 0, sizeof req);
    req.type = WIRE_SWITCHOVER_REQ;
    req.id = GetCurrentProcessId();
    uint32_t seconds = args->timeout_s;
    memcpy(req.u.switchover_req.target, args->target, sizeof req.u.switchover_req.target);
    req.u.switchover_req.timeout_ms = seconds * 1000;
    char err[512];
    /* The service enforces the limit and answers; our own limit is a little
     * longer so that its answer, not ours, explains a timeout. */
    int rc = pipe_client_call(pipe_name, &req, &reply, seconds * 1000 + 5000, err, sizeof err);
    if (rc != PIPE_CLIENT_OK) {
        fprintf(stderr, "nlbctl: %s\n", err);
        return client_exit(rc);
    }
    if (reply.type != WIRE_RESULT) {
        fprintf(stderr, "nlbctl: unexpected answer %s\n", wire_type_name(reply.type));
        return EXIT_COMM;
    }
    FILE *to = reply.u.result.code == MODEL_OK ? stdout : stderr;
    fprintf(to, "%s%s\n", reply.u.result.code == MODEL_OK ? "" : "nlbctl: switchover failed: ",
            reply.u.result.text);
    return result_exit(reply.u.result.code);
}

static void port_print(const struct config *cfg, const char *action, int ok, uint8_t state,
                       const char *err, int json)
{
    if (json) {
        char rule[80];
        snprintf(rule, sizeof rule, "%s:%u", cfg->vip, (unsigned)cfg->port);
        printf("{\"rule\":");
        json_string(stdout, rule);
        printf(",\"backend\":");
        json_string(stdout, cfg->backend);
        printf(",\"action\":");
        json_string(stdout, action);
        printf(",\"ok\":%s,\"state\":\"%s\"", ok ? "true" : "false", model_port_name(state));
        if (!ok) {
            printf(",\"error\":");
            json_string(stdout, err);
        }
        printf("}\n");
    } else if (ok) {
        printf("%s:%u is %s\n", cfg->vip, (unsigned)cfg->port, model_port_name(state));
    }
    if (!ok)
        fprintf(stderr, "nlbctl port %s: %s\n", action, err);
}

/* Drives the local NLB rule directly through the same backends and worker
 * as nlbctld (so the same time limit applies), for scripts: the seed's
 * "cluster control script" in one command. */
static int cmd_port(struct nlbctl_args *args)
{
    static const struct {
        int job;
        uint8_t state;
    } actions[] = {[NLBCTL_PORT_ENABLE] = {NLB_JOB_SET, MODEL_PORT_ENABLED},
                   [NLBCTL_PORT_DISABLE] = {NLB_JOB_SET, MODEL_PORT_DISABLED},
                   [NLBCTL_PORT_DRAIN] = {NLB_JOB_SET, MODEL_PORT_DRAINING},
                   [NLBCTL_PORT_QUERY] = {NLB_JOB_QUERY, MODEL_PORT_UNKNOWN}};
    int a = args->action;
    struct config *cfg = &args->nlb;
    const char *node = args->node;
    const char *word = args->action_word;
    int json = args->json;
    uint32_t seconds = args->timeout_s;
    cfg->nlb_timeout_ms = seconds * 1000;
    char err[512];
    struct nlb_worker *w = nlb_worker_start(cfg, node, seconds * 1000, err, sizeof err);
    if (!w) {
        port_print(cfg, word, 0, MODEL_PORT_UNKNOWN, err, json);
        return strstr(err, "did not finish within") ? EXIT_TIMEOUT : EXIT_NLB;
    }
    nlb_worker_submit(w, actions[a].job, actions[a].state);
    uint8_t state = MODEL_PORT_UNKNOWN;
    int ok = 0;
    if (WaitForSingleObject(nlb_worker_done_event(w), seconds * 1000) != WAIT_OBJECT_0) {
        snprintf(err, sizeof err, "the NLB command did not finish within %u s", seconds);
        port_print(cfg, word, 0, MODEL_PORT_UNKNOWN, err, json);
        return EXIT_TIMEOUT; /* the worker is stuck: exiting ends it */
    }
    nlb_worker_collect(w, &state, &ok, err, sizeof err, NULL);
    nlb_worker_stop(w, 2000);
    /* A change counts only if the read-back shows it. */
    if (ok && actions[a].job == NLB_JOB_SET && state != actions[a].state) {
        ok = 0;
        snprintf(err, sizeof err, "NLB accepted the command but the rule reads %s",
                 model_port_name(state));
    }
    port_print(cfg, word, ok, state, err, json);
    return ok ? EXIT_OK : EXIT_NLB;
}

int wmain(int argc, wchar_t **wargv)
{
    /* Arguments as UTF-8, like everything inside. */
    static char storage[32][512];
    char *argv[32];
    if (argc > 32) {
        fprintf(stderr, "nlbctl: too many arguments\n");
        return EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++) {
        if (win_to_utf8(wargv[i], storage[i], sizeof storage[i]) != 0) {
            fprintf(stderr, "nlbctl: argument %d is too long\n", i);
            return EXIT_USAGE;
        }
        argv[i] = storage[i];
    }
    static struct nlbctl_args args; /* holds a whole config: not on the stack */
    int show_usage = 0;
    char err[NLBCTL_ARGS_ERROR_MAX];
    if (nlbctl_args_parse(argc, argv, &args, &show_usage, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        if (show_usage)
            usage(stderr);
        return EXIT_USAGE;
    }
    pipe_name = args.pipe;
    switch (args.cmd) {
    case NLBCTL_CMD_VERSION:
        printf("nlbctl %s\n", NLBCTL_VERSION);
        return EXIT_OK;
    case NLBCTL_CMD_HELP:
        usage(stdout);
        return EXIT_OK;
    case NLBCTL_CMD_STATUS:
        return cmd_read(WIRE_STATUS_REQ, args.json);
    case NLBCTL_CMD_HISTORY:
        return cmd_read(WIRE_HISTORY_REQ, args.json);
    case NLBCTL_CMD_SWITCHOVER:
        return cmd_switchover(&args);
    case NLBCTL_CMD_PORT:
        return cmd_port(&args);
    }
    return EXIT_USAGE;
}
