/* daemon.c - see daemon.h. */
#include "daemon.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoch_store.h"
#include "hmac_cng.h"
#include "log.h"
#include "net.h"
#include "nlbctld_msg.h"
#include "winutil.h"

#define CONFIG_FILE_MAX (256u * 1024u)

static void program_data(char *out, size_t cap)
{
    wchar_t w[MAX_PATH];
    DWORD n = GetEnvironmentVariableW(L"ProgramData", w, MAX_PATH);
    if (n == 0 || n >= MAX_PATH || win_to_utf8(w, out, cap) != 0)
        snprintf(out, cap, "C:\\ProgramData");
}

void daemon_default_config_path(char *out, size_t cap)
{
    char base[MAX_PATH];
    program_data(base, sizeof base);
    snprintf(out, cap, "%s\\nlbctl\\nlbctld.ini", base);
}

int daemon_load_config(const char *path, struct config *cfg, char *err, size_t cap)
{
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(path, CONFIG_FILE_MAX, &len, &rc);
    if (!text) {
        char why[256];
        if (rc == ERROR_FILE_TOO_LARGE)
            snprintf(err, cap, "%s: the file is larger than %u KiB; is it the right file?", path,
                     CONFIG_FILE_MAX / 1024);
        else
            snprintf(err, cap, "%s: cannot read the config file: %s", path,
                     win_error_text(rc, why, sizeof why));
        return -1;
    }
    int r = config_parse(path, text, len, cfg, err, cap);
    free(text);
    return r;
}

uint32_t daemon_preshutdown_ms(const struct config *cfg)
{
    uint64_t ms = 2ull * cfg->nlb_timeout_ms + DAEMON_HANDOVER_MS + 2000u;
    return ms < 10000u ? 10000u : ms > 1800000u ? 1800000u : (uint32_t)ms;
}

/* The pre-shared key: from the config, or from its key_file. */
static int load_key(const struct config *cfg, uint8_t *key, uint8_t *key_len, char *err,
                    size_t cap)
{
    *key_len = 0;
    if (cfg->key_len) {
        memcpy(key, cfg->key, cfg->key_len);
        *key_len = cfg->key_len;
        return 0;
    }
    if (!cfg->key_file[0])
        return 0; /* allow_unauthenticated: the config checked it is set */
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(cfg->key_file, 1024, &len, &rc);
    if (!text) {
        char why[256];
        snprintf(err, cap, "[security] key_file: cannot read %s: %s", cfg->key_file,
                 win_error_text(rc, why, sizeof why));
        return -1;
    }
    int r = config_key_from_file_text(cfg->key_file, text, len, key, key_len, err, cap);
    SecureZeroMemory(text, len);
    free(text);
    return r;
}

/* Creates dir and its missing parents. */
static int make_dirs(const char *dir, char *err, size_t cap)
{
    wchar_t w[MAX_PATH];
    if (win_to_wide(dir, w, MAX_PATH) != 0) {
        snprintf(err, cap, "state_dir '%s' is not a usable path", dir);
        return -1;
    }
    for (wchar_t *p = w + 1; *p; p++) {
        if ((*p == L'\\' || *p == L'/') && p[-1] != L':') {
            wchar_t keep = *p;
            *p = L'\0';
            CreateDirectoryW(w, NULL);
            *p = keep;
        }
    }
    if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
        char why[256];
        snprintf(err, cap, "cannot create state_dir '%s': %s", dir,
                 win_error_text(GetLastError(), why, sizeof why));
        return -1;
    }
    return 0;
}

/* The log file a config names: log_file, or nlbctld.log in the state folder. */
static void log_path_of(const struct config *cfg, const char *state_dir, char *out, size_t cap)
{
    if (cfg->log_file[0])
        utf8_copy(out, cap, cfg->log_file);
    else
        snprintf(out, cap, "%s\\nlbctld.log", state_dir);
}

int daemon_run(struct config *cfg, const char *config_path, const struct daemon_signals *sig,
               int console, daemon_progress_fn progress, void *progress_ctx)
{
    struct daemon_env env;
    memset(&env, 0, sizeof env);
    env.cfg = cfg;
    env.config_path = config_path;
    env.console = console;
    env.stop_event = sig->stop;
    env.reload_event = sig->reload;
    env.handover_event = sig->handover;
    env.progress = progress;
    env.progress_ctx = progress_ctx;
    if (cfg->state_dir[0]) {
        utf8_copy(env.state_dir, sizeof env.state_dir, cfg->state_dir);
    } else {
        char base[MAX_PATH];
        program_data(base, sizeof base);
        snprintf(env.state_dir, sizeof env.state_dir, "%s\\nlbctl", base);
    }
    char err[512];
    int dir_ok = make_dirs(env.state_dir, err, sizeof err) == 0;

    char log_path[CONFIG_PATH_MAX + 16];
    log_path_of(cfg, env.state_dir, log_path, sizeof log_path);
    unsigned long lrc = log_open(log_path, console);
    if (!dir_ok) {
        log_event(LOG_ERROR, MSG_STATE_ERROR, "%s", err);
        log_close();
        return DAEMON_EXIT_STATE;
    }
    if (lrc != 0)
        log_event(LOG_WARNING, MSG_LOG_FILE_ERROR,
                  "cannot open the log file %s (error %lu); logging to stderr only", log_path, lrc);
    log_event(LOG_INFO, MSG_SERVICE_STARTING, "nlbctld %s starting as %s (state in %s)",
              NLBCTL_VERSION, model_role_name(cfg->role), env.state_dir);

    if (net_startup(err, sizeof err) != 0) {
        log_event(LOG_ERROR, MSG_STARTUP_FAILED, "%s", err);
        log_close();
        return DAEMON_EXIT_STARTUP;
    }
    if (epoch_load(env.state_dir, &env.epoch, err, sizeof err) != 0) {
        log_event(LOG_ERROR, MSG_STATE_ERROR, "%s", err);
        net_cleanup();
        log_close();
        return DAEMON_EXIT_STATE;
    }
    static uint8_t key[64];
    uint8_t key_len = 0;
    struct hmac_cng hmac;
    memset(&hmac, 0, sizeof hmac);
    if (load_key(cfg, key, &key_len, err, sizeof err) != 0) {
        log_event(LOG_ERROR, MSG_CONFIG_ERROR, "%s", err);
        net_cleanup();
        log_close();
        return DAEMON_EXIT_CONFIG;
    }
    if (key_len) {
        DWORD hrc = hmac_cng_open(&hmac);
        if (hrc != 0) {
            char why[256];
            log_event(LOG_ERROR, MSG_STARTUP_FAILED, "cannot open CNG's HMAC-SHA256: %s",
                      win_error_text(hrc, why, sizeof why));
            net_cleanup();
            log_close();
            return DAEMON_EXIT_STARTUP;
        }
        log_write(LOG_INFO, "links are authenticated (HMAC-SHA256, %u-byte pre-shared key)",
                  (unsigned)key_len);
    } else {
        log_event(LOG_WARNING, MSG_UNAUTHENTICATED,
                  "LAB ONLY: [security] allow_unauthenticated = yes; links are NOT "
                  "authenticated and anyone who can reach them can take control");
    }
    net_set_security(key, key_len, &hmac);
    int rc = cfg->role == MODEL_ROLE_COORDINATOR ? coordinator_host_run(&env)
                                                 : agent_host_run(&env);
    net_set_security(NULL, 0, NULL);
    SecureZeroMemory(key, sizeof key);
    hmac_cng_close(&hmac);
    net_cleanup();
    if (rc == DAEMON_EXIT_OK)
        log_event(LOG_INFO, MSG_SERVICE_STOPPED, "nlbctld stopped (exit code %d)", rc);
    else
        log_event(LOG_ERROR, MSG_SERVICE_FAILED, "nlbctld stopped (exit code %d)", rc);
    log_close();
    return rc;
}

int daemon_reload(const struct daemon_env *env, struct config_changes *ch)
{
    static struct config next, applied; /* large, and they hold the key: not on the stack */
    char err[CONFIG_ERROR_MAX];
    memset(ch, 0, sizeof *ch);
    log_write(LOG_INFO, "reloading the configuration from %s (PARAMCHANGE)", env->config_path);
    if (daemon_load_config(env->config_path, &next, err, sizeof err) != 0) {
        log_event(LOG_ERROR, MSG_RELOAD_REFUSED,
                  "%s; the configuration in force is unchanged (%s, epoch kept)", err,
                  model_role_name(env->cfg->role));
        SecureZeroMemory(&next, sizeof next);
        return -1;
    }
    config_compare(env->cfg, &next, &applied, ch);
    SecureZeroMemory(&next, sizeof next);

    if (config_changed(ch, "nlbctld", "log_file")) {
        char old_path[CONFIG_PATH_MAX + 16], new_path[CONFIG_PATH_MAX + 16];
        log_path_of(env->cfg, env->state_dir, old_path, sizeof old_path);
        log_path_of(&applied, env->state_dir, new_path, sizeof new_path);
        log_write(LOG_INFO, "the log continues in %s", new_path);
        log_close();
        unsigned long lrc = log_open(new_path, env->console);
        if (lrc != 0) {
            /* Keep logging where it worked: the old file, and the old key. */
            log_open(old_path, env->console);
            log_event(LOG_WARNING, MSG_LOG_FILE_ERROR,
                      "cannot open the new log file %s (error %lu); the log stays in %s",
                      new_path, lrc, old_path);
            memcpy(applied.log_file, env->cfg->log_file, sizeof applied.log_file);
        } else {
            log_write(LOG_INFO, "log continued from %s", old_path);
        }
    }
    *env->cfg = applied;
    SecureZeroMemory(&applied, sizeof applied);

    char keys[CONFIG_ERROR_MAX];
    if (ch->live_count) {
        config_changes_text(ch, 1, keys, sizeof keys);
        log_event(LOG_INFO, MSG_CONFIG_RELOADED, "configuration %s reloaded: applied %s",
                  env->config_path, keys);
    } else {
        log_event(LOG_INFO, MSG_CONFIG_RELOADED,
                  "configuration %s reloaded: no setting that applies at once has changed",
                  env->config_path);
    }
    if (ch->restart_count) {
        config_changes_text(ch, 0, keys, sizeof keys);
        log_event(LOG_WARNING, MSG_RESTART_NEEDED,
                  "configuration %s: %s changed, takes effect at the next restart (the service "
                  "keeps the old values until then)",
                  env->config_path, keys);
    }
    return 0;
}
