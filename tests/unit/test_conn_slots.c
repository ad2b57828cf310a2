/* test_conn_slots.c - a new connection takes a free slot, else pushes out
 * the oldest unidentified one, never an identified one while any is
 * unidentified; unidentified connections are overdue after the deadline. */
#include <check.h>

#include "conn_slots.h"

START_TEST(free_slot_first)
{
    struct conn_slot_info s[3] = {{1, 0, 10}, {0, 0, 0}, {1, 1, 5}};
    ck_assert_int_eq(conn_slots_pick(s, 3), 1);
    ck_assert_int_eq(conn_slots_pick(s, 0), -1);
}
END_TEST

START_TEST(oldest_unidentified_evicted)
{
    /* The identified link is the oldest of all: it still stays. */
    struct conn_slot_info s[4] = {{1, 1, 1}, {1, 0, 30}, {1, 0, 20}, {1, 0, 40}};
    ck_assert_int_eq(conn_slots_pick(s, 4), 2);
}
END_TEST

START_TEST(attacker_cannot_displace_identified)
{
    /* An agent's slots: the real peer's link and a flood of strangers. Each
     * new stranger takes the place of the oldest stranger, round after round. */
    struct conn_slot_info s[2] = {{1, 1, 0}, {0, 0, 0}};
    for (uint64_t t = 1; t < 1000; t++) {
        int i = conn_slots_pick(s, 2);
        ck_assert_int_eq(i, 1);
        s[i].used = 1;
        s[i].identified = 0;
        s[i].opened_at = t;
    }
    ck_assert_int_eq(s[0].identified, 1);
}
END_TEST

START_TEST(all_identified_oldest_replaced)
{
    struct conn_slot_info s[2] = {{1, 1, 50}, {1, 1, 40}};
    ck_assert_int_eq(conn_slots_pick(s, 2), 1);
}
END_TEST

START_TEST(overdue_after_deadline)
{
    struct conn_slot_info s = {1, 0, 1000};
    ck_assert_int_eq(conn_slots_overdue(&s, 5999, 5000), 0);
    ck_assert_int_eq(conn_slots_overdue(&s, 6000, 5000), 1);
    ck_assert_int_eq(conn_slots_overdue(&s, 500, 5000), 0); /* clock before opening */
    s.identified = 1;
    ck_assert_int_eq(conn_slots_overdue(&s, 60000, 5000), 0);
    s.identified = 0;
    s.used = 0;
    ck_assert_int_eq(conn_slots_overdue(&s, 60000, 5000), 0);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("conn_slots");
    TCase *tc = tcase_create("pick");
    tcase_add_test(tc, free_slot_first);
    tcase_add_test(tc, oldest_unidentified_evicted);
    tcase_add_test(tc, attacker_cannot_displace_identified);
    tcase_add_test(tc, all_identified_oldest_replaced);
    suite_add_tcase(s, tc);
    tc = tcase_create("deadline");
    tcase_add_test(tc, overdue_after_deadline);
    suite_add_tcase(s, tc);
    return s;
}
