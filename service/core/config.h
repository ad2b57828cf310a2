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

    /* [coordinator] - used when role = coordinator */
    struct config_endpoint listen;  /* default 0.0.0.0:7400 */
    uint32_t election_wait_ms;      /* default 3000 */
    uint32_t switchover_timeout_ms; /* default 15000 */

    /* [nlb] */
    char backend[16];               /* "sim" (more backends later); default "sim" */
    char vip[MODEL_NAME_MAX + 1];   /* cluster virtual IP; required for an agent */
    uint16_t port;                  /* the port whose rule is driven; required for an agent */
    char sim_dir[CONFIG_PATH_MAX];  /* backend = sim: directory of the state files */

    /* [timing] */
    uint32_t heartbeat_ms;   /* default 500 */
    uint32_t reconcile_ms;   /* default 5000 */
    uint32_t reconnect_ms;   /* default 1000 */
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

#endif
