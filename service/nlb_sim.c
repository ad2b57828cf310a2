/* nlb_sim.c - the simulated NLB: one file per host and port rule,
 *   <sim_dir>\<node>_<vip>_<port>.state
 * holding one word: enabled, disabled or draining. A missing file is a rule
 * that does not exist yet, as NLB's PortState 0 ("not found"); the first
 * command creates it. Writes replace the file atomically, so a test reading
 * it never sees half a word.
 *
 * Fault switches, for tests: a file <same name>.fault beside it holding
 *   ignore          commands report success and change nothing
 *   disconnected    the host is out of the cluster (the seed's W4: the SIP
 *                   NIC unplugged): commands report success and change
 *                   nothing, queries say disconnected; the rule's own
 *                   state is kept, and is what NLB has when the host
 *                   returns
 *   fail            commands fail ("simulated NLB failure")
 *   unreachable     commands and queries fail, as if WMI did not answer
 *   slow <ms>       every call takes that long first (a hung WMI call)
 * read at every call, so a test switches faults on and off while it runs.
 *
 * Connections, for drains (issue #4): a file <same name>.connections beside
 * it holding a decimal number is the count of connections to VIP:port left
 * on this host, as the wmi backend counts them; without the file the count
 * is unknown (old sim directories read as before, and a drain lasts its
 * full drain_ms). A file of its own, not a second line in the state file,
 * so that a test writing the count never races the agent writing the state,
 * and a command does not wipe it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "nlb_backend.h"
#include "winutil.h"

#define SIM_PATH_MAX (CONFIG_PATH_MAX + 2 * MODEL_NAME_MAX + 16)

struct sim_rule { /* the sim's instance */
    char path[SIM_PATH_MAX];
    char description[SIM_PATH_MAX + 8];
};

static int sim_set(void *impl, uint8_t state, char *err, size_t cap);
static int sim_query(void *impl, uint8_t *state, char *err, size_t cap);
static int sim_connections(void *impl, uint32_t *count, char *err, size_t cap);
static const char *sim_describe(void *impl);
static void sim_close(void *impl);

static const struct nlb_ops sim_ops = {sim_set, sim_query, sim_connections, sim_describe,
                                       sim_close};

void *nlb_sim_open(const struct config *cfg, const char *node, const struct nlb_ops **ops,
                   char *err, size_t cap)
{
    *ops = &sim_ops;
    if (!cfg->sim_dir[0]) {
        snprintf(err, cap, "the sim backend needs [nlb] sim_dir");
        return NULL;
    }
    wchar_t wdir[MAX_PATH];
    if (win_to_wide(cfg->sim_dir, wdir, MAX_PATH) != 0) {
        snprintf(err, cap, "sim_dir '%s' is not a usable path", cfg->sim_dir);
        return NULL;
    }
    DWORD attr = GetFileAttributesW(wdir);
    if (attr == INVALID_FILE_ATTRIBUTES && !CreateDirectoryW(wdir, NULL)) {
        char why[256];
        snprintf(err, cap, "cannot create sim_dir '%s': %s", cfg->sim_dir,
                 win_error_text(GetLastError(), why, sizeof why));
        return NULL;
    }
    struct sim_rule *nlb = calloc(1, sizeof *nlb);
    if (!nlb) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    snprintf(nlb->path, sizeof nlb->path, "%s\\%s_%s_%u.state", cfg->sim_dir, node, cfg->vip,
             (unsigned)cfg->port);
    snprintf(nlb->description, sizeof nlb->description, "sim %s", nlb->path);
    return nlb;
}

static void sim_close(void *impl) { free(impl); }

static const char *sim_describe(void *impl) { return ((struct sim_rule *)impl)->description; }

enum sim_fault { FAULT_NONE, FAULT_IGNORE, FAULT_DISCONNECTED, FAULT_FAIL, FAULT_UNREACHABLE };

/* Reads the fault switch; sleeps here for "slow". */
static int sim_fault(const struct sim_rule *nlb)
{
    char path[SIM_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s.fault", nlb->path);
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(path, 64, &len, &rc);
    if (!text)
        return FAULT_NONE;
    int fault = FAULT_NONE;
    if (strncmp(text, "ignore", 6) == 0)
        fault = FAULT_IGNORE;
    else if (strncmp(text, "disconnected", 12) == 0)
        fault = FAULT_DISCONNECTED;
    else if (strncmp(text, "fail", 4) == 0)
        fault = FAULT_FAIL;
    else if (strncmp(text, "unreachable", 11) == 0)
        fault = FAULT_UNREACHABLE;
    else if (strncmp(text, "slow ", 5) == 0)
        Sleep((DWORD)strtoul(text + 5, NULL, 10));
    free(text);
    return fault;
}

static int sim_set(void *impl, uint8_t state, char *err, size_t cap)
{
    struct sim_rule *nlb = impl;
    switch (sim_fault(nlb)) {
    case FAULT_IGNORE:
    case FAULT_DISCONNECTED:
        return 0;
    case FAULT_FAIL:
        snprintf(err, cap, "simulated NLB failure (%s.fault)", nlb->path);
        return -1;
    case FAULT_UNREACHABLE:
        snprintf(err, cap, "simulated NLB does not answer (%s.fault)", nlb->path);
        return -1;
    default:
        break;
    }
    if (state != MODEL_PORT_ENABLED && state != MODEL_PORT_DISABLED &&
        state != MODEL_PORT_DRAINING) {
        snprintf(err, cap, "internal: cannot set port state %u", state);
        return -1;
    }
    char line[16];
    int n = snprintf(line, sizeof line, "%s\n", model_port_name(state));
    DWORD rc = win_write_file_atomic(nlb->path, line, (size_t)n);
    if (rc != ERROR_SUCCESS) {
        char why[256];
        snprintf(err, cap, "cannot write %s: %s", nlb->path, win_error_text(rc, why, sizeof why));
        return -1;
    }
    return 0;
}

static int sim_query(void *impl, uint8_t *state, char *err, size_t cap)
{
    struct sim_rule *nlb = impl;
    int fault = sim_fault(nlb);
    if (fault == FAULT_UNREACHABLE) {
        *state = MODEL_PORT_UNKNOWN;
        snprintf(err, cap, "simulated NLB does not answer (%s.fault)", nlb->path);
        return -1;
    }
    if (fault == FAULT_DISCONNECTED) {
        *state = MODEL_PORT_DISCONNECTED;
        return 0;
    }
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(nlb->path, 64, &len, &rc);
    *state = MODEL_PORT_UNKNOWN;
    if (!text) {
        char why[256];
        if (rc == ERROR_FILE_NOT_FOUND)
            snprintf(err, cap, "no port rule yet (%s does not exist)", nlb->path);
        else
            snprintf(err, cap, "cannot read %s: %s", nlb->path, win_error_text(rc, why, sizeof why));
        return -1;
    }
    static const uint8_t states[] = {MODEL_PORT_ENABLED, MODEL_PORT_DISABLED, MODEL_PORT_DRAINING};
    for (size_t i = 0; i < sizeof states; i++) {
        const char *word = model_port_name(states[i]);
        size_t wl = strlen(word);
        if (strncmp(text, word, wl) == 0 && (text[wl] == '\0' || text[wl] == '\r' || text[wl] == '\n'))
            *state = states[i];
    }
    free(text);
    if (*state == MODEL_PORT_UNKNOWN) {
        snprintf(err, cap, "%s holds no port state (expected enabled, disabled or draining)",
                 nlb->path);
        return -1;
    }
    return 0;
}

static int sim_connections(void *impl, uint32_t *count, char *err, size_t cap)
{
    struct sim_rule *nlb = impl;
    *count = NLB_CONNECTIONS_UNKNOWN;
    char path[SIM_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s.connections", nlb->path);
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(path, 64, &len, &rc);
    if (!text) {
        if (rc == ERROR_FILE_NOT_FOUND || rc == ERROR_PATH_NOT_FOUND)
            return 0; /* no count: unknown */
        char why[256];
        snprintf(err, cap, "cannot read %s: %s", path, win_error_text(rc, why, sizeof why));
        return -1;
    }
    char *end = text;
    unsigned long n = strtoul(text, &end, 10);
    int ok = end != text && (*end == '\0' || *end == '\r' || *end == '\n') &&
             text[0] >= '0' && text[0] <= '9' && n < NLB_CONNECTIONS_UNKNOWN;
    free(text);
    if (!ok) {
        snprintf(err, cap, "%s holds no connection count (expected a number)", path);
        return -1;
    }
    *count = (uint32_t)n;
    return 0;
}
