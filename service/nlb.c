/* nlb.c - picks the backend named by [nlb] backend and forwards to it. */
#include "nlb.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nlb_backend.h"

struct nlb_handle {
    void *impl;
    const struct nlb_ops *ops;
};

struct nlb *nlb_open(const struct config *cfg, const char *node, char *err, size_t cap)
{
    static const struct {
        const char *name;
        void *(*open)(const struct config *, const char *, const struct nlb_ops **, char *,
                      size_t);
    } backends[] = {
        {"sim", nlb_sim_open},
        {"exec", nlb_exec_open},
        {"wmi", nlb_wmi_open},
    };
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        if (strcmp(cfg->backend, backends[i].name) != 0)
            continue;
        struct nlb_handle *h = calloc(1, sizeof *h);
        if (!h) {
            snprintf(err, cap, "out of memory");
            return NULL;
        }
        h->impl = backends[i].open(cfg, node, &h->ops, err, cap);
        if (!h->impl) {
            free(h);
            return NULL;
        }
        return (struct nlb *)h;
    }
    snprintf(err, cap, "[nlb] backend '%s' is unknown", cfg->backend);
    return NULL;
}

void nlb_close(struct nlb *nlb)
{
    struct nlb_handle *h = (struct nlb_handle *)nlb;
    if (!h)
        return;
    h->ops->close(h->impl);
    free(h);
}

int nlb_set(struct nlb *nlb, uint8_t state, char *err, size_t cap)
{
    struct nlb_handle *h = (struct nlb_handle *)nlb;
    int rc = h->ops->set(h->impl, state, err, cap);
    if (rc != 0 && cap > 0)
        utf8_trim_partial(err); /* backends quote tool output, maybe cut */
    return rc;
}

int nlb_query(struct nlb *nlb, uint8_t *state, char *err, size_t cap)
{
    struct nlb_handle *h = (struct nlb_handle *)nlb;
    int rc = h->ops->query(h->impl, state, err, cap);
    if (rc != 0 && cap > 0)
        utf8_trim_partial(err);
    return rc;
}

int nlb_connections(struct nlb *nlb, uint32_t *count, char *err, size_t cap)
{
    struct nlb_handle *h = (struct nlb_handle *)nlb;
    *count = NLB_CONNECTIONS_UNKNOWN;
    if (!h->ops->connections)
        return 0;
    int rc = h->ops->connections(h->impl, count, err, cap);
    if (rc != 0) {
        *count = NLB_CONNECTIONS_UNKNOWN;
        if (cap > 0)
            utf8_trim_partial(err);
    }
    return rc;
}

const char *nlb_describe(const struct nlb *nlb)
{
    const struct nlb_handle *h = (const struct nlb_handle *)nlb;
    return h->ops->describe(h->impl);
}
