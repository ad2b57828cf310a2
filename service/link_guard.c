/* link_guard.c - see link_guard.h. One process-wide limiter: the hosts run
 * on one thread. */
#include "link_guard.h"

#include <stdarg.h>
#include <stdio.h>

#include "conn_slots.h"
#include "log.h"
#include "nlbctld_msg.h"
#include "ratelimit.h"
#include "utf8.h"
#include "winutil.h"

static struct ratelimit limiter;
static int limiter_ready;

static struct ratelimit *get_limiter(void)
{
    if (!limiter_ready) {
        ratelimit_init(&limiter, LINK_GUARD_WINDOW_MS);
        limiter_ready = 1;
    }
    return &limiter;
}

static void put(int level, unsigned long id, const char *text)
{
    if (id)
        log_event(level, id, "%s", text);
    else
        log_write(level, "%s", text);
}

void link_guard_log(int level, unsigned long id, const char *kind, const char *peer,
                    const char *fmt, ...)
{
    char addr[RATELIMIT_ADDR_MAX];
    ratelimit_addr_of(peer, addr, sizeof addr);
    uint32_t suppressed = 0;
    if (!ratelimit_allow(get_limiter(), kind, addr, win_now_ms(), &suppressed))
        return;
    char text[900];
    va_list ap;
    va_start(ap, fmt);
    utf8_vformat(text, sizeof text, fmt, ap);
    va_end(ap);
    if (suppressed) {
        char line[1000];
        snprintf(line, sizeof line, "%s (and %lu more like it from %s in the last minute, "
                 "not logged)", text, (unsigned long)suppressed, addr);
        put(level, id, line);
    } else {
        put(level, id, text);
    }
}

void link_guard_tick(void)
{
    struct ratelimit_entry e;
    uint64_t now = win_now_ms();
    while (ratelimit_take_expired(get_limiter(), now, &e))
        log_event(LOG_WARNING, MSG_LINK_REFUSED,
                  "%lu more lines of kind '%s' from %s were not logged in the last minute "
                  "(rate-limited)", (unsigned long)e.suppressed, e.kind, e.addr);
}

struct net_conn *link_guard_slot(struct net_conn *slots, int n)
{
    struct conn_slot_info info[32];
    if (n > 32)
        n = 32;
    for (int i = 0; i < n; i++) {
        info[i].used = slots[i].sock != INVALID_SOCKET;
        info[i].identified = slots[i].identified;
        info[i].opened_at = slots[i].opened_at;
    }
    int i = conn_slots_pick(info, n);
    return i < 0 ? NULL : &slots[i];
}

int link_guard_overdue(const struct net_conn *c, uint64_t now)
{
    struct conn_slot_info info = {c->sock != INVALID_SOCKET, c->identified, c->opened_at};
    return conn_slots_overdue(&info, now, LINK_GUARD_IDENTIFY_MS);
}
