/* model.c - names and sentences for the shared enums. */
#include "model.h"
#include "utf8.h"

#include <stdio.h>

void model_history_add(struct model_history *h, uint64_t at, const char *text)
{
    h->entries[h->next].at = at;
    utf8_copy(h->entries[h->next].text, sizeof h->entries[h->next].text, text);
    h->next = (h->next + 1) % MODEL_HISTORY_MAX;
    if (h->count < MODEL_HISTORY_MAX)
        h->count++;
}

const char *model_history_get(const struct model_history *h, unsigned i, uint64_t *at)
{
    if (i >= h->count)
        return NULL;
    unsigned idx = (h->next + MODEL_HISTORY_MAX - 1 - i) % MODEL_HISTORY_MAX;
    if (at)
        *at = h->entries[idx].at;
    return h->entries[idx].text;
}

const char *model_mode_name(uint8_t mode)
{
    switch (mode) {
    case MODEL_MODE_BACKUP: return "backup";
    case MODEL_MODE_PRIMARY: return "primary";
    default: return "unknown";
    }
}

const char *model_port_name(uint8_t port)
{
    switch (port) {
    case MODEL_PORT_ENABLED: return "enabled";
    case MODEL_PORT_DISABLED: return "disabled";
    case MODEL_PORT_DRAINING: return "draining";
    case MODEL_PORT_DISCONNECTED: return "disconnected";
    default: return "unknown";
    }
}

const char *model_probe_name(uint8_t probe)
{
    switch (probe) {
    case MODEL_PROBE_UNKNOWN: return "unknown";
    case MODEL_PROBE_UP: return "answering";
    case MODEL_PROBE_DOWN: return "not answering";
    default: return "off";
    }
}

int model_port_not_serving(uint8_t port)
{
    return port == MODEL_PORT_DISABLED || port == MODEL_PORT_DRAINING ||
           port == MODEL_PORT_DISCONNECTED;
}

const char *model_phase_name(uint8_t phase)
{
    switch (phase) {
    case MODEL_PHASE_ELECTING: return "electing";
    case MODEL_PHASE_STABLE: return "stable";
    case MODEL_PHASE_DEMOTING: return "demoting";
    case MODEL_PHASE_PROMOTING: return "promoting";
    default: return "unknown";
    }
}

const char *model_role_name(uint8_t role)
{
    switch (role) {
    case MODEL_ROLE_AGENT: return "agent";
    case MODEL_ROLE_COORDINATOR: return "coordinator";
    default: return "unknown";
    }
}

const char *model_result_text(int32_t code)
{
    switch (code) {
    case MODEL_OK: return "done";
    case MODEL_ERR_NO_PRIMARY: return "there is no primary to switch over from";
    case MODEL_ERR_NO_BACKUP: return "no connected node with a healthy application can take over";
    case MODEL_ERR_BUSY: return "a switchover is already in progress";
    case MODEL_ERR_TIMEOUT: return "the switchover did not complete in time";
    case MODEL_ERR_UNKNOWN_NODE: return "that node is not part of this pair";
    case MODEL_ERR_NOT_SUPPORTED: return "this instance's role cannot do that";
    case MODEL_ERR_BAD_REQUEST: return "the request was malformed";
    case MODEL_ERR_ABORTED: return "the service stopped before the request completed";
    case MODEL_ERR_ACCESS_DENIED: return "access denied: that request needs an administrator";
    case MODEL_ERR_PRIMARY_UNREACHABLE:
        return "the primary is not connected, so its port cannot be confirmed disabled";
    default: return "unknown result";
    }
}
