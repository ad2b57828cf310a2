/* conn_slots.c - see conn_slots.h. */
#include "conn_slots.h"

int conn_slots_pick(const struct conn_slot_info *slots, int n)
{
    int oldest_unidentified = -1, oldest_identified = -1;
    for (int i = 0; i < n; i++) {
        const struct conn_slot_info *s = &slots[i];
        if (!s->used)
            return i;
        int *best = s->identified ? &oldest_identified : &oldest_unidentified;
        if (*best < 0 || s->opened_at < slots[*best].opened_at)
            *best = i;
    }
    return oldest_unidentified >= 0 ? oldest_unidentified : oldest_identified;
}

int conn_slots_overdue(const struct conn_slot_info *s, uint64_t now, uint64_t deadline_ms)
{
    return s->used && !s->identified && now >= s->opened_at &&
           now - s->opened_at >= deadline_ms;
}
