/* config.h - nlbctld's INI configuration: parse, validate, describe errors.
 *
 * Portable C, no Windows headers: the shell reads the file into memory and
 * hands the text here. Every key is documented in nlbctld.example.ini at the
 * top of the tree; that file must load cleanly (a unit test checks it).
 */
#ifndef NLBCTL_CONFIG_H
#define NLBCTL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define CONFIG_PATH_MAX 260
#define CONFIG_ERROR_MAX 512

struct config_endpoint {
    char host[MODEL_NAME_MAX + 1]; /* IPv4 literal or host name */
    uint16_t port;
};

struct config {
    /* [nlbctld] */
    uint8_t role;                   /* enum model_role; required */
    char pipe[MODEL_NAME_MAX + 1];  /* pipe name; default "nlbctld" */
    char state_dir[CONFIG_PATH_MAX];/* default "" = the shell's default */
    char log_file[CONFIG_PATH_MAX]; /* default "" = the shell's default */

    /* [pair] - required for the coordinator, optional for an agent */
    char pair[MODEL_NAME_MAX + 1];      /* default "pair" */
    char node1[MODEL_NAME_MAX + 1];
    char node2[MODEL_NAME_MAX + 1];
    char preferred[MODEL_NAME_MAX + 1]; /* default: node1 */

    /* [agent] - required when role = agent */
    char node[MODEL_NAME_MAX + 1];      /* this host's node name */
    struct config_endpoint coordinator; /* where the coordinator listens */
    struct config_endpoint peer;        /* the other agent's peer_listen; optional:
                                         * port 0 = not set, no peer link */
    struct config_endpoint peer_listen; /* where this agent accepts its peer;
                                         * default 0.0.0.0:7401 */

    /* [application] - agent only, all optional. Neither app_service nor
     * app_path set = no application monitor: the application counts as
     * healthy. app_service and app_path exclude each other; app_args and
     * app_start may be given only with app_path. */
    char app_service[257];          /* Windows service name: 1..256 bytes, no '/'
                                     * or backslash; default "" */
    char app_path[CONFIG_PATH_MAX]; /* the program's executable; default "" */
    char app_args[512];             /* its command line arguments, taken verbatim
                                     * (quotes kept); default "" */
    uint8_t app_start;              /* 1 = start the program when it is not
                                     * running; default 1 */

    /* [coordinator] - used when role = coordinator */
    struct config_endpoint listen;  /* default 0.0.0.0:7400 */
    uint32_t election_wait_ms;      /* default 3000 */
    uint32_t switchover_timeout_ms; /* default 15000 */
    uint8_t preempt;                /* 1 = switch back to [pair] preferred once it is
                                     * healthy again (failback); default 0 */
    uint32_t preempt_delay_ms;      /* how long preferred must stay healthy before
                                     * that failback; default 60000, 1000..86400000 */

    /* [sip_monitor] - used when role = coordinator, optional: active SIP monitoring.
     * Off unless node1 and node2 are both set. */
    struct config_endpoint mon_node1; /* [pair] node1's own SIP address, host:port */
    struct config_endpoint mon_node2; /* [pair] node2's own SIP address */
    struct config_endpoint mon_vip;   /* the VIP's SIP address; optional, only logged */
    uint32_t mon_interval_ms;         /* default 1000, 100..60000 */
    uint32_t mon_timeout_ms;          /* default 500, less than mon_interval_ms */
    uint32_t mon_rise;                /* answers in a row to count as up; default 2 */
    uint32_t mon_fall;                /* failures in a row to count as down; default 3 */

    /* [nlb] */
    char backend[16];               /* "wmi" (default), "exec" or "sim" */
    char vip[MODEL_NAME_MAX + 1];   /* cluster virtual IP; required for an agent */
    uint16_t port;                  /* the port whose rule is driven; required for an agent */
    char sim_dir[CONFIG_PATH_MAX];  /* backend = sim: directory of the state files */
    char cluster_ip[MODEL_NAME_MAX + 1]; /* wmi: the NLB cluster's IP, to pick the
                                          * node instance; default "" = vip */
    char exec_command[512];  /* exec: %ACTION% (enable, disable, drain), %VIP%, %PORT%;
                              * default "nlb.exe %ACTION% %VIP%:%PORT%" */
    char exec_query[512];    /* exec: the query command; its output must name the
                              * state; default "nlb.exe queryport %VIP%:%PORT%" */
    uint32_t drain_ms;       /* switchover: drain the old primary at most this long
                              * before disabling it (sooner once no connections
                              * remain, where the backend can count them);
                              * default 0 = no drain (SIP over UDP has no
                              * connections to drain) */

    /* [timing] - checked together at load (see DESIGN.md, "The timing rule
     * that makes fencing safe"):
     *   isolation_ms + nlb_timeout_ms + max_delay_ms < heartbeat_ms * miss_count
     *   isolation_ms >= 2 * heartbeat_ms */
    uint32_t heartbeat_ms;   /* default 500 */
    uint32_t reconcile_ms;   /* default 5000 */
    uint32_t reconnect_ms;   /* default 1000 */
    uint32_t miss_count;     /* heartbeats missed before a link (coordinator<->agent
                              * or peer) counts as lost; host-loss timeout =
                              * heartbeat_ms * miss_count; default 5, 2..100 */
    uint32_t isolation_ms;   /* a primary that has heard from neither coordinator
                              * nor peer this long disables its own port;
                              * default 1500, 100..600000 */
    uint32_t nlb_timeout_ms; /* time limit for one NLB command; default 600,
                              * 100..600000 */
    uint32_t max_delay_ms;   /* the largest message delay allowed for; default 200,
                              * 0..60000 */

    /* [security] - a pre-shared key (key or key_file, not both) is required
     * unless allow_unauthenticated = yes, which excludes a key. */
    uint8_t key[64];         /* the pre-shared key's bytes; from 32..128 hex digits */
    uint8_t key_len;         /* bytes in key: 0 = not set, else 16..64 */
    char key_file[CONFIG_PATH_MAX]; /* file holding the key in hex, read by the
                                     * shell; default "" */
    uint8_t allow_unauthenticated;  /* 1 = links without a key; LAB ONLY; default 0 */
    char status_group[257];  /* Windows group (or DOMAIN\group) given read-only
                              * access to the control pipe; default "" = none */
};

/* Fills cfg with every default. */
void config_defaults(struct config *cfg);

/* Parses INI text (UTF-8, optional BOM, CRLF or LF) into cfg, starting from
 * defaults, then validates the whole. On failure returns -1 and writes one
 * line to err naming the file, the line when there is one, the section and
 * the key, and what is wrong, e.g.
 *   "C:\x\nlbctld.ini:12: [nlb] port: 'abc' is not a number from 1 to 65535"
 * Returns 0 on success. `file` is used only in messages. */
int config_parse(const char *file, const char *text, size_t len, struct config *cfg,
                 char *err, size_t err_cap);

/* Reads a key file's text (hex digits, optional BOM and surrounding
 * whitespace) into key (64 bytes of room). Same rules as [security] key;
 * messages name `file` and never show the key. 0 or -1. */
int config_key_from_file_text(const char *file, const char *text, size_t len, uint8_t *key,
                              uint8_t *key_len, char *err, size_t err_cap);

/* ---- reload (SERVICE_CONTROL_PARAMCHANGE) ----------------------------------
 *
 * A running service re-reads its file with config_parse (a file that does
 * not validate is refused whole and the config in force stays), then asks
 * here what changed. Each key is either live (the running service applies
 * it: [timing], [sip_monitor], [nlb] drain_ms, [coordinator] timings and
 * preempt, [nlbctld] log_file) or needs a restart (role, pair and node
 * names, preferred, every address, the pipe, the NLB backend and rule, the
 * application, the state folder, [security]); a restart key is never
 * half-applied: the service keeps its old value and says it changed. */

#define CONFIG_CHANGES_MAX 64

struct config_change {
    const char *section; /* canonical names, as in the file's documentation */
    const char *key;
    uint8_t live;        /* 1: applied by a reload; 0: at the next restart */
};

struct config_changes {
    unsigned count;          /* items used */
    unsigned live_count;     /* of them live */
    unsigned restart_count;  /* of them waiting for a restart */
    struct config_change items[CONFIG_CHANGES_MAX];
};

/* Compares the config in force (cur) with a newly parsed, valid one (next)
 * key by key. ch lists every key whose value differs; applied (may be NULL,
 * may be cur itself) receives the config to run with from now on: cur with
 * the value of every live key taken from next. Since every cross-key rule
 * of config_parse relates keys of the same kind (the timing rule relates
 * live keys only; preferred is restart like the node names it must match),
 * applied is as valid as cur and next. */
void config_compare(const struct config *cur, const struct config *next, struct config *applied,
                    struct config_changes *ch);

/* 1 if ch lists [section] key (key NULL: any key of the section). */
int config_changed(const struct config_changes *ch, const char *section, const char *key);

/* "[timing] heartbeat_ms, [nlb] drain_ms": the live (live = 1) or restart
 * (live = 0) keys of ch, for a log line; "" if none. Returns the length. */
size_t config_changes_text(const struct config_changes *ch, int live, char *out, size_t cap);

#endif
