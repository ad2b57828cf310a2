/* args.h - nlbctl's command line as data: the words a person or a script
 * types, turned into one request, or into one sentence saying what is wrong.
 *
 * Portable C, no Windows headers and no I/O, so the parsing is unit-tested
 * and fuzzed natively; main.c converts the wide arguments to UTF-8, calls
 * nlbctl_args_parse and carries the request out. */
#ifndef NLBCTL_ARGS_H
#define NLBCTL_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define NLBCTL_ARGS_ERROR_MAX 512
#define NLBCTL_DEFAULT_PIPE "nlbctld"
#define NLBCTL_DEFAULT_SWITCHOVER_S 30
#define NLBCTL_DEFAULT_PORT_S 10

enum nlbctl_cmd {
    NLBCTL_CMD_STATUS,
    NLBCTL_CMD_HISTORY,
    NLBCTL_CMD_SWITCHOVER,
    NLBCTL_CMD_PORT,
    NLBCTL_CMD_HELP,   /* --help, -h or help: usage on stdout */
    NLBCTL_CMD_VERSION /* --version */
};

enum nlbctl_port_action {
    NLBCTL_PORT_ENABLE,
    NLBCTL_PORT_DISABLE,
    NLBCTL_PORT_DRAIN,
    NLBCTL_PORT_QUERY
};

struct nlbctl_args {
    enum nlbctl_cmd cmd;
    const char *pipe; /* points into argv, or NLBCTL_DEFAULT_PIPE */
    int json;         /* status, history, port: --json */
    /* switchover */
    char target[MODEL_NAME_MAX + 1]; /* --to NODE; "" = the other node */
    /* switchover and port: --timeout, 1..3600 */
    uint32_t timeout_s;
    /* port */
    enum nlbctl_port_action action;
    const char *action_word;         /* argv's word for it, for messages */
    char node[MODEL_NAME_MAX + 1];   /* --node, for the sim backend; default "local" */
    struct config nlb;               /* defaults, plus vip, port, backend and the
                                      * backend's options from the command line */
};

/* Parses argv[1 .. argc-1] (argv[0] is the program). Returns 0 and fills a;
 * or -1 with one line in err (no newline) naming the bad word, e.g.
 * "nlbctl switchover: --timeout: '0' is not a number of seconds from 1 to
 * 3600", and *show_usage set when the usage text should follow it. */
int nlbctl_args_parse(int argc, char *const *argv, struct nlbctl_args *a, int *show_usage,
                      char *err, size_t err_cap);

/* "192.0.2.10:5060": an IPv4 literal and a port 1..65535 into cfg->vip and
 * cfg->port. 0 or -1. */
int nlbctl_args_rule(const char *text, struct config *cfg);

/* A whole number of seconds from 1 to 3600. 0 or -1. */
int nlbctl_args_seconds(const char *text, uint32_t *out);

#endif
