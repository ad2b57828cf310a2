/* main.c - nlbctl.exe, the console for people and scripts.
 *
 *   nlbctl [--pipe NAME] status [--json]
 *   nlbctl [--pipe NAME] history [--json]
 *   nlbctl [--pipe NAME] switchover [--to NODE] [--timeout SECONDS]
 *   nlbctl port enable|disable|drain|query VIP:PORT [--backend wmi|exec|sim] ...
 *
 * Results on stdout, diagnostics on stderr, exit codes below (README.md
 * documents them; scripts rely on them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "config.h"
#include "utf8.h"
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
#define DEFAULT_SWITCHOVER_S 30

static const char *pipe_name = "nlbctld";

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
static int cmd_read(const char *name, uint8_t type, int argc, char **argv)
{
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr, "nlbctl %s: unknown option '%s'\n", name, argv[i]);
            return EXIT_USAGE;
        }
    }
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

/* Parses a whole number of seconds from 1 to 3600. */
static int parse_seconds(const char *s, uint32_t *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 3600)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int cmd_switchover(int argc, char **argv)
{
    struct wire_msg req, reply;
    memset(&req, 0, sizeof req);
    req.type = WIRE_SWITCHOVER_REQ;
    req.id = GetCurrentProcessId();
    uint32_t seconds = DEFAULT_SWITCHOVER_S;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            if (strlen(argv[++i]) > MODEL_NAME_MAX) {
                fprintf(stderr, "nlbctl switchover: --to: node name longer than %d characters\n",
                        MODEL_NAME_MAX);
                return EXIT_USAGE;
            }
            snprintf(req.u.switchover_req.target, sizeof req.u.switchover_req.target, "%s",
                     argv[i]);
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (parse_seconds(argv[++i], &seconds) != 0) {
                fprintf(stderr,
                        "nlbctl switchover: --timeout: '%s' is not a number of seconds from 1 "
                        "to 3600\n", argv[i]);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "nlbctl switchover: unknown or incomplete option '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
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

/* "192.0.2.10:5060" -> vip, port. */
static int parse_rule(const char *text, struct config *cfg)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) > MODEL_NAME_MAX)
        return -1;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 1 || port > 65535)
        return -1;
    snprintf(cfg->vip, sizeof cfg->vip, "%.*s", (int)(colon - text), text);
    cfg->port = (uint16_t)port;
    unsigned a, b, c, d;
    char extra;
    return sscanf(cfg->vip, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a < 256 &&
                   b < 256 && c < 256 && d < 256
               ? 0
               : -1;
}

static int port_option(struct config *cfg, char *node, const char *opt, const char *val)
{
    if (strcmp(opt, "--backend") == 0) {
        if (strcmp(val, "wmi") && strcmp(val, "exec") && strcmp(val, "sim"))
            return -1;
        utf8_copy(cfg->backend, sizeof cfg->backend, val);
    } else if (strcmp(opt, "--cluster-ip") == 0) {
        utf8_copy(cfg->cluster_ip, sizeof cfg->cluster_ip, val);
    } else if (strcmp(opt, "--exec-command") == 0) {
        utf8_copy(cfg->exec_command, sizeof cfg->exec_command, val);
    } else if (strcmp(opt, "--exec-query") == 0) {
        utf8_copy(cfg->exec_query, sizeof cfg->exec_query, val);
    } else if (strcmp(opt, "--sim-dir") == 0) {
        utf8_copy(cfg->sim_dir, sizeof cfg->sim_dir, val);
    } else if (strcmp(opt, "--node") == 0) {
        snprintf(node, MODEL_NAME_MAX + 1, "%s", val);
    } else {
        return -1;
    }
    return 0;
}

static void port_print(const struct config *cfg, const char *action, int ok, uint8_t state,
                       const char *err, int json)
{
    if (json) {
        printf("{\"rule\":\"%s:%u\",\"backend\":\"%s\",\"action\":\"%s\",\"ok\":%s,"
               "\"state\":\"%s\"",
               cfg->vip, (unsigned)cfg->port, cfg->backend, action, ok ? "true" : "false",
               model_port_name(state));
        if (!ok) {
            printf(",\"error\":\"");
            for (const char *p = err; *p; p++)
                printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
            printf("\"");
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
static int cmd_port(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "nlbctl port: usage: nlbctl port enable|disable|drain|query VIP:PORT "
                        "[options]\n");
        return EXIT_USAGE;
    }
    static const struct {
        const char *word;
        int job;
        uint8_t state;
    } actions[] = {{"enable", NLB_JOB_SET, MODEL_PORT_ENABLED},
                   {"disable", NLB_JOB_SET, MODEL_PORT_DISABLED},
                   {"drain", NLB_JOB_SET, MODEL_PORT_DRAINING},
                   {"query", NLB_JOB_QUERY, MODEL_PORT_UNKNOWN}};
    int a = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(argv[0], actions[i].word) == 0)
            a = i;
    if (a < 0) {
        fprintf(stderr, "nlbctl port: '%s' is not an action: enable, disable, drain or query\n",
                argv[0]);
        return EXIT_USAGE;
    }
    static struct config cfg;
    config_defaults(&cfg);
    char node[MODEL_NAME_MAX + 1] = "local";
    if (parse_rule(argv[1], &cfg) != 0) {
        fprintf(stderr, "nlbctl port: '%s' is not VIP:PORT, e.g. 192.0.2.10:5060\n", argv[1]);
        return EXIT_USAGE;
    }
    int json = 0;
    uint32_t seconds = 10;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (parse_seconds(argv[++i], &seconds) != 0) {
                fprintf(stderr, "nlbctl port: --timeout: '%s' is not a number of seconds from 1 "
                                "to 3600\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (i + 1 < argc && port_option(&cfg, node, argv[i], argv[i + 1]) == 0) {
            i++;
        } else {
            fprintf(stderr, "nlbctl port: unknown or incomplete option '%s'%s\n", argv[i],
                    strcmp(argv[i], "--backend") == 0 ? " (wmi, exec or sim)" : "");
            return EXIT_USAGE;
        }
    }
    if (strcmp(cfg.backend, "sim") == 0 && !cfg.sim_dir[0]) {
        fprintf(stderr, "nlbctl port: --backend sim needs --sim-dir DIR (and --node NAME)\n");
        return EXIT_USAGE;
    }
    cfg.nlb_timeout_ms = seconds * 1000;
    char err[512];
    struct nlb_worker *w = nlb_worker_start(&cfg, node, seconds * 1000, err, sizeof err);
    if (!w) {
        port_print(&cfg, argv[0], 0, MODEL_PORT_UNKNOWN, err, json);
        return strstr(err, "did not finish within") ? EXIT_TIMEOUT : EXIT_NLB;
    }
    nlb_worker_submit(w, actions[a].job, actions[a].state);
    uint8_t state = MODEL_PORT_UNKNOWN;
    int ok = 0;
    if (WaitForSingleObject(nlb_worker_done_event(w), seconds * 1000) != WAIT_OBJECT_0) {
        snprintf(err, sizeof err, "the NLB command did not finish within %u s", seconds);
        port_print(&cfg, argv[0], 0, MODEL_PORT_UNKNOWN, err, json);
        return EXIT_TIMEOUT; /* the worker is stuck: exiting ends it */
    }
    nlb_worker_collect(w, &state, &ok, err, sizeof err);
    nlb_worker_stop(w, 2000);
    /* A change counts only if the read-back shows it. */
    if (ok && actions[a].job == NLB_JOB_SET && state != actions[a].state) {
        ok = 0;
        snprintf(err, sizeof err, "NLB accepted the command but the rule reads %s",
                 model_port_name(state));
    }
    port_print(&cfg, argv[0], ok, state, err, json);
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
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--pipe") == 0 && i + 1 < argc) {
            pipe_name = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("nlbctl %s\n", NLBCTL_VERSION);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else {
            fprintf(stderr, "nlbctl: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[i++];
    if (strcmp(cmd, "status") == 0)
        return cmd_read("status", WIRE_STATUS_REQ, argc - i, argv + i);
    if (strcmp(cmd, "history") == 0)
        return cmd_read("history", WIRE_HISTORY_REQ, argc - i, argv + i);
    if (strcmp(cmd, "switchover") == 0)
        return cmd_switchover(argc - i, argv + i);
    if (strcmp(cmd, "port") == 0)
        return cmd_port(argc - i, argv + i);
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "nlbctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
