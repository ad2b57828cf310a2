/* status_class.h - the WMI class Nlbctl_Status (mof/nlbctl.mof) as data:
 * the rows nlbctld publishes, mapped from the status reply that `nlbctl
 * status` shows, so WMI and the command line always say the same thing.
 *
 * One row (one WMI instance) per node as this service sees it: an agent
 * publishes its own node, a coordinator both nodes of its pair. The key is
 * (Instance, Node), Instance being the service's control pipe name, which is
 * unique on a host. Portable C, no Windows headers: the shell writes the
 * rows with IWbemServices::PutInstance; the property names and their order
 * match the MOF (a test reads the MOF and checks). */
#ifndef NLBCTL_STATUS_CLASS_H
#define NLBCTL_STATUS_CLASS_H

#include <stdint.h>

#include "model.h"
#include "wire.h"

#define STATUS_CLASS_NAMESPACE "root\\nlbctl"
#define STATUS_CLASS_NAME "Nlbctl_Status"
#define STATUS_CLASS_DATETIME 26 /* "yyyymmddHHMMSS.mmmmmm+000" and NUL */

struct status_class_row {
    char instance[MODEL_NAME_MAX + 1];      /* key: the service's pipe name */
    char node[MODEL_NAME_MAX + 1];          /* key: the node this row describes */
    char role[16];                          /* of the publishing service */
    char pair[MODEL_NAME_MAX + 1];
    char primary[MODEL_NAME_MAX + 1];       /* "" when none */
    char phase[16];                         /* coordinator's phase; "" for an agent */
    char mode[16];                          /* the node's: primary | backup */
    char epoch[24];                         /* the node's, decimal (uint64 travels as text) */
    char application[16];                   /* healthy | failed | unknown */
    char port_desired[16];                  /* enabled | disabled | draining | unknown ... */
    char port_actual[16];
    char coordinator_link[8];               /* up | down */
    char peer_link[8];                      /* up | down */
    char last_transition[WIRE_REASON_MAX + 1];  /* the node's last change and why */
    char service_transition[128];           /* the publishing service's own last transition */
    char last_change[STATUS_CLASS_DATETIME];    /* when that was, CIM DATETIME, UTC */
};

#define STATUS_CLASS_PROPERTIES 16

/* The properties in MOF order: name and the row's value as text. */
struct status_class_property {
    const char *name;
    const char *value;
};
void status_class_properties(const struct status_class_row *row,
                             struct status_class_property props[STATUS_CLASS_PROPERTIES]);

/* Maps a status reply to rows; returns how many were written (at most max).
 * last_change_unix_ms: wall-clock time of the service's last transition
 * (0: unknown, published as NULL-like "", which WMI takes as no value). */
unsigned status_class_rows(const struct wire_status_reply *st, const char *instance,
                           uint64_t last_change_unix_ms, struct status_class_row *rows,
                           unsigned max);

/* Milliseconds since 1970-01-01 UTC as a CIM DATETIME, e.g.
 * "20261126173000.123000+000". */
void status_class_datetime(uint64_t unix_ms, char out[STATUS_CLASS_DATETIME]);

#endif
