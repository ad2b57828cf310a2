/* status_class.c - see status_class.h. */
#include "status_class.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* Days since 1970-01-01 -> proleptic Gregorian date; the usual era
 * arithmetic (400-year cycles of 146097 days), so no libc time zone or
 * thread-safety question arises. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t year = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(year + (*m <= 2));
}

void status_class_datetime(uint64_t unix_ms, char out[STATUS_CLASS_DATETIME])
{
    uint64_t secs = unix_ms / 1000;
    unsigned ms = (unsigned)(unix_ms % 1000);
    int y;
    unsigned mo, d;
    civil_from_days((int64_t)(secs / 86400), &y, &mo, &d);
    unsigned sod = (unsigned)(secs % 86400);
    snprintf(out, STATUS_CLASS_DATETIME, "%04d%02u%02u%02u%02u%02u.%03u000+000", y % 10000, mo,
             d, sod / 3600, sod / 60 % 60, sod % 60, ms);
}

static const char *up_down(int up) { return up ? "up" : "down"; }

unsigned status_class_rows(const struct wire_status_reply *st, const char *instance,
                           uint64_t last_change_unix_ms, struct status_class_row *rows,
                           unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < st->node_count && i < WIRE_MAX_NODES && n < max; i++) {
        const struct wire_node_status *ns = &st->nodes[i];
        struct status_class_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        utf8_copy(r->instance, sizeof r->instance, instance);
        utf8_copy(r->node, sizeof r->node, ns->name);
        utf8_copy(r->role, sizeof r->role, model_role_name(st->role));
        utf8_copy(r->pair, sizeof r->pair, st->pair);
        utf8_copy(r->primary, sizeof r->primary, st->primary);
        if (st->role == MODEL_ROLE_COORDINATOR)
            utf8_copy(r->phase, sizeof r->phase, model_phase_name(st->phase));
        /* A coordinator that has not heard a node knows nothing of it:
         * say unknown rather than repeat the defaults of an empty report. */
        int known = st->role == MODEL_ROLE_AGENT || ns->last_heard_ms != 0xFFFFFFFFu;
        utf8_copy(r->mode, sizeof r->mode, known ? model_mode_name(ns->mode) : "unknown");
        snprintf(r->epoch, sizeof r->epoch, "%llu", (unsigned long long)ns->epoch);
        utf8_copy(r->application, sizeof r->application,
                  !known ? "unknown" : ns->app_healthy ? "healthy" : "failed");
        utf8_copy(r->port_desired, sizeof r->port_desired, model_port_name(ns->port_desired));
        utf8_copy(r->port_actual, sizeof r->port_actual, model_port_name(ns->port_actual));
        /* The node's link to the coordinator: an agent says whether it has
         * one; a coordinator whether the node is connected to it. */
        utf8_copy(r->coordinator_link, sizeof r->coordinator_link,
                  up_down(st->role == MODEL_ROLE_AGENT ? st->coordinator_link : ns->connected));
        utf8_copy(r->peer_link, sizeof r->peer_link, up_down(ns->peer_link));
        utf8_copy(r->last_transition, sizeof r->last_transition, ns->last_change);
        utf8_copy(r->service_transition, sizeof r->service_transition, st->last_reason);
        if (last_change_unix_ms)
            status_class_datetime(last_change_unix_ms, r->last_change);
    }
    return n;
}

void status_class_properties(const struct status_class_row *r,
                             struct status_class_property p[STATUS_CLASS_PROPERTIES])
{
    const struct status_class_property all[STATUS_CLASS_PROPERTIES] = {
        {"Instance", r->instance},
        {"Node", r->node},
        {"Role", r->role},
        {"Pair", r->pair},
        {"Primary", r->primary},
        {"Phase", r->phase},
        {"Mode", r->mode},
        {"Epoch", r->epoch},
        {"ApplicationHealth", r->application},
        {"PortDesired", r->port_desired},
        {"PortActual", r->port_actual},
        {"CoordinatorLink", r->coordinator_link},
        {"PeerLink", r->peer_link},
        {"LastTransition", r->last_transition},
        {"ServiceLastTransition", r->service_transition},
        {"LastChange", r->last_change},
    };
    memcpy(p, all, sizeof all);
}
