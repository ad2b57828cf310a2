/* ratelimit.c - see ratelimit.h. A fixed table searched linearly: 64
 * entries are few, and the table must not grow with what an attacker sends. */
#include "ratelimit.h"

#include <string.h>

#include "utf8.h"

void ratelimit_init(struct ratelimit *r, uint64_t window_ms)
{
    memset(r, 0, sizeof *r);
    r->window_ms = window_ms;
}

static int expired(const struct ratelimit *r, const struct ratelimit_entry *e, uint64_t now)
{
    return now - e->window_start >= r->window_ms;
}

int ratelimit_allow(struct ratelimit *r, const char *kind, const char *addr, uint64_t now,
                    uint32_t *suppressed)
{
    *suppressed = 0;
    /* Compared as stored: a long kind is kept cut, and must still match. */
    char k[RATELIMIT_KIND_MAX], ad[RATELIMIT_ADDR_MAX];
    utf8_copy(k, sizeof k, kind);
    utf8_copy(ad, sizeof ad, addr);
    struct ratelimit_entry *free_slot = NULL, *stale = NULL;
    for (int i = 0; i < RATELIMIT_SLOTS; i++) {
        struct ratelimit_entry *e = &r->slots[i];
        if (!e->used) {
            if (!free_slot)
                free_slot = e;
            continue;
        }
        if (strcmp(e->kind, k) == 0 && strcmp(e->addr, ad) == 0) {
            if (!expired(r, e, now)) {
                e->suppressed++;
                return 0;
            }
            /* A new window: this line carries the old window's count. */
            *suppressed = e->suppressed;
            e->suppressed = 0;
            e->window_start = now;
            return 1;
        }
        if (!stale && expired(r, e, now) && e->suppressed == 0)
            stale = e; /* nothing left to report: reusable */
    }
    struct ratelimit_entry *e = free_slot ? free_slot : stale;
    if (!e) {
        if (r->overflow++ == 0)
            r->overflow_since = now;
        return 0;
    }
    memset(e, 0, sizeof *e);
    memcpy(e->kind, k, sizeof k);
    memcpy(e->addr, ad, sizeof ad);
    e->window_start = now;
    e->used = 1;
    return 1;
}

int ratelimit_take_expired(struct ratelimit *r, uint64_t now, struct ratelimit_entry *out)
{
    for (int i = 0; i < RATELIMIT_SLOTS; i++) {
        struct ratelimit_entry *e = &r->slots[i];
        if (!e->used || !expired(r, e, now))
            continue;
        if (e->suppressed == 0) {
            e->used = 0; /* a quiet window: forget it */
            continue;
        }
        *out = *e;
        e->used = 0;
        return 1;
    }
    if (r->overflow && now - r->overflow_since >= r->window_ms) {
        memset(out, 0, sizeof *out);
        utf8_copy(out->kind, sizeof out->kind, "any");
        utf8_copy(out->addr, sizeof out->addr, "other addresses");
        out->window_start = r->overflow_since;
        out->suppressed = r->overflow;
        out->used = 1;
        r->overflow = 0;
        return 1;
    }
    return 0;
}

void ratelimit_addr_of(const char *peer, char *addr, unsigned cap)
{
    if (cap == 0)
        return;
    utf8_copy(addr, cap, peer);
    char *colon = strrchr(addr, ':');
    if (colon && strchr(addr, ':') == colon) /* IPv4 "a.b.c.d:port" only */
        *colon = '\0';
}
