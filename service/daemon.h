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
    const struct config *cfg;
    char state_dir[CONFIG_PATH_MAX];
    uint64_t epoch; /* the epoch stored by the last run (0 if none) */
    HANDLE stop_event;
    daemon_progress_fn progress; /* STARTING is repeated as a checkpoint */
    void *progress_ctx;
};

/* Reads and validates the config file; on failure err names file, line, key. */
int daemon_load_config(const char *path, struct config *cfg, char *err, size_t cap);

/* The default config path: %ProgramData%\nlbctl\nlbctld.ini. */
void daemon_default_config_path(char *out, size_t cap);

/* Runs until stop_event is set; returns an enum daemon_exit. */
int daemon_run(const struct config *cfg, HANDLE stop_event, int console,
               daemon_progress_fn progress, void *progress_ctx);

int agent_host_run(const struct daemon_env *env);
int coordinator_host_run(const struct daemon_env *env);

#endif
