/* conn_slots.h - which connection slot a new incoming connection takes, and
 * which connections have waited too long to say who they are. A connection
 * is "identified" once it has proved itself (a sealed HELLO the coordinator
 * accepted; a sealed message from the peer agent). Anyone who can reach a
 * listening port can open connections, so unidentified ones never push out
 * an identified one, and they hold a slot only for a limited time. Pure
 * and portable: the shell gives the slots' state and does the closing. */
#ifndef NLBCTL_CONN_SLOTS_H
#define NLBCTL_CONN_SLOTS_H

#include <stdint.h>

struct conn_slot_info {
    int used;
    int identified;
    uint64_t opened_at; /* when accepted; among equals, the oldest goes first */
};

/* The slot for a new connection: a free one, else the oldest unidentified
 * one (the caller closes it first), else the oldest identified one: with
 * every slot identified, only key holders hold them, and a newer connection
 * from the same peer replaces its old, possibly half-dead one. -1 for n 0. */
int conn_slots_pick(const struct conn_slot_info *slots, int n);

/* 1 when slot s is unidentified and was opened deadline_ms or more ago. */
int conn_slots_overdue(const struct conn_slot_info *s, uint64_t now, uint64_t deadline_ms);

#endif
