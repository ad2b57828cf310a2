/* args.c - see args.h. Every word is checked whole: numbers are digits only
 * (no sign, no spaces, no trailing text), so what a script typed is exactly
 * what nlbctl acts on, and a typo is refused rather than half-read. */
#include "args.h"

#include <string.h>

#include "utf8.h"

/* Digits only, at most max_digits of them, value at most max. */
static int parse_uint(const char *s, size_t len, unsigned max_digits, unsigned long max,
                      unsigned long *out)
{
    if (len == 0 || len > max_digits)
        return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int nlbctl_args_seconds(const char *text, uint32_t *out)
{
    unsigned long v;
    if (parse_uint(text, strlen(text), 4, 3600, &v) != 0 || v < 1)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Four dotted decimal numbers 0..255: the form NLB's port rules name. */
static int ipv4_literal(const char *s, size_t len)
{
    size_t start = 0;
    for (int part = 0; part < 4; part++) {
        size_t end = start;
        while (end < len && s[end] != '.')
            end++;
        if ((end == len) != (part == 3))
            return -1;
        unsigned long v;
        if (parse_uint(s + start, end - start, 3, 255, &v) != 0)
            return -1;
        start = end + 1;
    }
    return 0;
}

int nlbctl_args_rule(const char *text, struct config *cfg)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) > MODEL_NAME_MAX)
        return -1;
    size_t vip_len = (size_t)(colon - text);
    unsigned long port;
    if (ipv4_literal(text, vip_len) != 0 ||
        parse_uint(colon + 1, strlen(colon + 1), 5, 65535, &port) != 0 || port < 1)
        return -1;
    memcpy(cfg->vip, text, vip_len);
    cfg->vip[vip_len] = '\0';
    cfg->port = (uint16_t)port;
    return 0;
}

/* The port command's options that take a value. 0, or -1 if opt is not one
 * of them or val is not allowed. */
static int port_option(struct nlbctl_args *a, const char *opt, const char *val)
{
    struct config *cfg = &a->nlb;
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
        utf8_copy(a->node, sizeof a->node, val);
    } else {
        return -1;
    }
    return 0;
}

/* status and history take only --json. */
static int parse_read(const char *name, int argc, char *const *argv, struct nlbctl_args *a,
                      char *err, size_t cap)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else {
            utf8_format(err, cap, "nlbctl %s: unknown option '%s'", name, argv[i]);
            return -1;
        }
    }
    return 0;
}

static int parse_switchover(int argc, char *const *argv, struct nlbctl_args *a, char *err,
                            size_t cap)
{
    a->timeout_s = NLBCTL_DEFAULT_SWITCHOVER_S;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            if (strlen(argv[++i]) > MODEL_NAME_MAX) {
                utf8_format(err, cap,
                            "nlbctl switchover: --to: node name longer than %d characters",
                            MODEL_NAME_MAX);
                return -1;
            }
            utf8_copy(a->target, sizeof a->target, argv[i]);
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (nlbctl_args_seconds(argv[++i], &a->timeout_s) != 0) {
                utf8_format(err, cap,
                            "nlbctl switchover: --timeout: '%s' is not a number of seconds "
                            "from 1 to 3600", argv[i]);
                return -1;
            }
        } else {
            utf8_format(err, cap, "nlbctl switchover: unknown or incomplete option '%s'",
                        argv[i]);
            return -1;
        }
    }
    return 0;
}

static int parse_port(int argc, char *const *argv, struct nlbctl_args *a, char *err, size_t cap)
{
    static const char *const words[] = {"enable", "disable", "drain", "query"};
    if (argc < 2) {
        utf8_format(err, cap, "nlbctl port: usage: nlbctl port enable|disable|drain|query "
                              "VIP:PORT [options]");
        return -1;
    }
    int found = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(argv[0], words[i]) == 0)
            found = i;
    if (found < 0) {
        utf8_format(err, cap,
                    "nlbctl port: '%s' is not an action: enable, disable, drain or query",
                    argv[0]);
        return -1;
    }
    a->action = (enum nlbctl_port_action)found;
    a->action_word = words[found];
    a->timeout_s = NLBCTL_DEFAULT_PORT_S;
    if (nlbctl_args_rule(argv[1], &a->nlb) != 0) {
        utf8_format(err, cap, "nlbctl port: '%s' is not VIP:PORT, e.g. 192.0.2.10:5060",
                    argv[1]);
        return -1;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (nlbctl_args_seconds(argv[++i], &a->timeout_s) != 0) {
                utf8_format(err, cap,
                            "nlbctl port: --timeout: '%s' is not a number of seconds from 1 "
                            "to 3600", argv[i]);
                return -1;
            }
        } else if (i + 1 < argc && port_option(a, argv[i], argv[i + 1]) == 0) {
            i++;
        } else {
            utf8_format(err, cap, "nlbctl port: unknown or incomplete option '%s'%s", argv[i],
                        strcmp(argv[i], "--backend") == 0 ? " (wmi, exec or sim)" : "");
            return -1;
        }
    }
    if (strcmp(a->nlb.backend, "sim") == 0 && !a->nlb.sim_dir[0]) {
        utf8_format(err, cap, "nlbctl port: --backend sim needs --sim-dir DIR (and --node NAME)");
        return -1;
    }
    return 0;
}

int nlbctl_args_parse(int argc, char *const *argv, struct nlbctl_args *a, int *show_usage,
                      char *err, size_t err_cap)
{
    memset(a, 0, sizeof *a);
    a->pipe = NLBCTL_DEFAULT_PIPE;
    utf8_copy(a->node, sizeof a->node, "local");
    config_defaults(&a->nlb);
    *show_usage = 0;
    err[0] = '\0';

    /* Global options come before the command; --version and --help win at
     * once, whatever follows them. */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--pipe") == 0 && i + 1 < argc) {
            a->pipe = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0) {
            a->cmd = NLBCTL_CMD_VERSION;
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            a->cmd = NLBCTL_CMD_HELP;
            return 0;
        } else {
            utf8_format(err, err_cap, "nlbctl: unknown or incomplete option '%s'", argv[i]);
            *show_usage = 1;
            return -1;
        }
    }
    if (i >= argc) {
        utf8_format(err, err_cap, "nlbctl: no command given");
        *show_usage = 1;
        return -1;
    }
    const char *cmd = argv[i++];
    int rest = argc - i;
    char *const *rest_v = argv + i;
    if (strcmp(cmd, "status") == 0) {
        a->cmd = NLBCTL_CMD_STATUS;
        return parse_read("status", rest, rest_v, a, err, err_cap);
    }
    if (strcmp(cmd, "history") == 0) {
        a->cmd = NLBCTL_CMD_HISTORY;
        return parse_read("history", rest, rest_v, a, err, err_cap);
    }
    if (strcmp(cmd, "switchover") == 0) {
        a->cmd = NLBCTL_CMD_SWITCHOVER;
        return parse_switchover(rest, rest_v, a, err, err_cap);
    }
    if (strcmp(cmd, "port") == 0) {
        a->cmd = NLBCTL_CMD_PORT;
        return parse_port(rest, rest_v, a, err, err_cap);
    }
    if (strcmp(cmd, "help") == 0) {
        a->cmd = NLBCTL_CMD_HELP;
        return 0;
    }
    utf8_format(err, err_cap, "nlbctl: unknown command '%s'", cmd);
    *show_usage = 1;
    return -1;
}
