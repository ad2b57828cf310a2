/* daemon.h - nlbctld's life from config to exit, shared by the service and
 * console modes: open the log and state, run the role's loop until the stop
 * event, leave the port disabled. */
#ifndef NLBCTL_DAEMON_H
#define NLBCTL_DAEMON_H

#include <windows.h>

#include "config.h"

/* Process exit codes; also the service-specific exit code the SCM records,
 * so recovery actions fire on failure. Documented in README.md. */
enum daemon_exit {
    DAEMON_EXIT_OK = 0,
    DAEMON_EXIT_USAGE = 1,   /* bad command line */
    DAEMON_EXIT_CONFIG = 2,  /* config file missing or invalid */
    DAEMON_EXIT_STARTUP = 3, /* could not listen, open the pipe, ... */
    DAEMON_EXIT_STATE = 4,   /* state directory or epoch file unusable */
    DAEMON_EXIT_NLB = 5      /* NLB backend could not be opened */
};

enum daemon_progress { DAEMON_STARTING = 0, DAEMON_RUNNING = 1, DAEMON_STOPPING = 2 };

typedef void (*daemon_progress_fn)(void *ctx, int progress);

struct daemon_env {
    /* The config in force. Hosts read it; only daemon_reload changes it
     * (its live keys), on the one thread that runs the host. */
    struct config *cfg;
    const char *config_path; /* where it was read from, for reloads */
    int console;
    char state_dir[CONFIG_PATH_MAX];
    uint64_t epoch; /* the epoch stored by the last run (0 if none) */
    HANDLE stop_event;
    /* Set by the SCM handler: re-read the config (PARAMCHANGE). */
    HANDLE reload_event;
    /* Set before stop_event when the host is shutting down (PRESHUTDOWN):
     * a primary agent waits for its backup to take over before it stops. */
    HANDLE handover_event;
    daemon_progress_fn progress; /* STARTING is repeated as a checkpoint */
    void *progress_ctx;
};

/* PRESHUTDOWN: how long a stopping primary agent waits for its backup to
 * take over (its peer reports itself primary with the port enabled). */
#define DAEMON_HANDOVER_MS 6000u

/* The preshutdown timeout the service asks the SCM for: the NLB command in
 * hand and the disable (nlb_timeout_ms each), the handover wait and 2 s for
 * the rest of the stop; at least 10 s (Windows' default is 3 minutes, which
 * would hold up every shutdown of a host whose stop hangs). */
uint32_t daemon_preshutdown_ms(const struct config *cfg);

/* Reads and validates the config file; on failure err names file, line, key. */
int daemon_load_config(const char *path, struct config *cfg, char *err, size_t cap);

/* The default config path: %ProgramData%\nlbctl\nlbctld.ini. */
void daemon_default_config_path(char *out, size_t cap);

/* The events that steer a running daemon from outside (the SCM handler, or
 * the console's Ctrl+C): stop is required, reload and handover may be NULL
 * (never signalled). */
struct daemon_signals {
    HANDLE stop;
    HANDLE reload;
    HANDLE handover;
};

/* Runs until the stop event is set; returns an enum daemon_exit. cfg is the
 * config in force, read from config_path; a reload updates it in place. */
int daemon_run(struct config *cfg, const char *config_path, const struct daemon_signals *sig,
               int console, daemon_progress_fn progress, void *progress_ctx);

/* PARAMCHANGE: re-reads env->config_path with the same validator as at
 * start. An invalid file is refused (event 16, naming file, line and key)
 * and nothing changes: returns -1. Otherwise the live keys are applied to
 * *env->cfg (the log file is reopened if it moved), the applied keys are
 * logged (event 17) and the keys that need a restart too (event 18), and
 * ch says what changed so the host can pass it on to its state machine:
 * returns 0. Role and epoch are never touched. */
int daemon_reload(const struct daemon_env *env, struct config_changes *ch);

int agent_host_run(const struct daemon_env *env);
int coordinator_host_run(const struct daemon_env *env);

#endif
