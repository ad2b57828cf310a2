/* main.c - nlbctl.exe, the console for people and scripts.
 *
 *   nlbctl [--pipe NAME] status [--json]
 *   nlbctl [--pipe NAME] history [--json]
 *   nlbctl [--pipe NAME] switchover [--to NODE] [--timeout SECONDS]
 *
 * Results on stdout, diagnostics on stderr, exit codes below (README.md
 * documents them; scripts rely on them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

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
    EXIT_DENIED = 6       /* not allowed to use the pipe */
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
            "\n"
            "options:\n"
            "  --pipe NAME   the nlbctld instance to talk to (default nlbctld)\n"
            "  --version     print the version\n"
            "\n"
            "exit codes: 0 ok, 1 bad command line, 2 nlbctld not running, 3 communication\n"
            "error, 4 request refused, 5 timed out, 6 access denied (not an administrator)\n");
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
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "nlbctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
