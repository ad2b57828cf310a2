/* test_ratelimit.c - one log line per kind and address per window: the
 * first passes, the rest are counted, the count comes with the next line
 * or when the window closes; the table stays bounded under a flood from
 * more addresses than it has slots, without losing counts. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"

#define WIN 60000u
#define T0 5000u

START_TEST(first_line_passes_rest_counted)
{
    struct ratelimit r;
    ratelimit_init(&r, WIN);
    uint32_t sup = 99;
    ck_assert_int_eq(ratelimit_allow(&r, "refused", "192.0.2.1", T0, &sup), 1);
    ck_assert_uint_eq(sup, 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(ratelimit_allow(&r, "refused", "192.0.2.1", T0 + (uint64_t)i, &sup), 0);
    /* Another kind, another address: each its own line. */
    ck_assert_int_eq(ratelimit_allow(&r, "timeout", "192.0.2.1", T0 + 10, &sup), 1);
    ck_assert_int_eq(ratelimit_allow(&r, "refused", "192.0.2.2", T0 + 10, &sup), 1);
    /* Just before the window closes: still counted. */
    ck_assert_int_eq(ratelimit_allow(&r, "refused", "192.0.2.1", T0 + WIN - 1, &sup), 0);
    /* The next window: one line, carrying the count. */
    ck_assert_int_eq(ratelimit_allow(&r, "refused", "192.0.2.1", T0 + WIN, &sup), 1);
    ck_assert_uint_eq(sup, 1001);
    ck_assert_int_eq(ratelimit_allow(&r, "refused", "192.0.2.1", T0 + WIN + 1, &sup), 0);
}
END_TEST

START_TEST(expired_counts_reported_once)
{
    struct ratelimit r;
    ratelimit_init(&r, WIN);
    uint32_t sup;
    struct ratelimit_entry e;
    ratelimit_allow(&r, "flood", "192.0.2.1", T0, &sup);
    ratelimit_allow(&r, "flood", "192.0.2.1", T0 + 1, &sup);
    ratelimit_allow(&r, "flood", "192.0.2.1", T0 + 2, &sup);
    ratelimit_allow(&r, "quiet", "192.0.2.9", T0, &sup);
    ck_assert_int_eq(ratelimit_take_expired(&r, T0 + WIN - 1, &e), 0);
    ck_assert_int_eq(ratelimit_take_expired(&r, T0 + WIN, &e), 1);
    ck_assert_str_eq(e.kind, "flood");
    ck_assert_str_eq(e.addr, "192.0.2.1");
    ck_assert_uint_eq(e.suppressed, 2);
    /* Reported once; the quiet entry has nothing to report. */
    ck_assert_int_eq(ratelimit_take_expired(&r, T0 + WIN, &e), 0);
    /* Forgotten: the next line of that kind passes at once. */
    ck_assert_int_eq(ratelimit_allow(&r, "flood", "192.0.2.1", T0 + WIN + 5, &sup), 1);
    ck_assert_uint_eq(sup, 0);
}
END_TEST

START_TEST(many_addresses_bounded_and_counted)
{
    struct ratelimit r;
    ratelimit_init(&r, WIN);
    uint32_t sup;
    char addr[32];
    int logged = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%d", i % 250);
        snprintf(addr + strlen(addr), sizeof addr - strlen(addr), "-%d", i / 250);
        logged += ratelimit_allow(&r, "connect", addr, T0 + (uint64_t)i, &sup);
    }
    ck_assert_int_eq(logged, RATELIMIT_SLOTS);
    ck_assert_uint_eq(r.overflow, 500 - RATELIMIT_SLOTS);
    /* After the window, the overflow is summed up once. */
    struct ratelimit_entry e;
    int overflow_seen = 0, n = 0;
    while (ratelimit_take_expired(&r, T0 + 500 + WIN, &e) && n++ < 1000)
        if (strcmp(e.addr, "other addresses") == 0) {
            overflow_seen = 1;
            ck_assert_uint_eq(e.suppressed, 500 - RATELIMIT_SLOTS);
        }
    ck_assert_int_eq(overflow_seen, 1);
    ck_assert_uint_eq(r.overflow, 0);
    /* Quiet slots are reusable again. */
    ck_assert_int_eq(ratelimit_allow(&r, "connect", "203.0.113.1", T0 + 500 + WIN, &sup), 1);
}
END_TEST

/* A kind longer than the table keeps is still one kind. */
START_TEST(long_kind_matches)
{
    struct ratelimit r;
    ratelimit_init(&r, WIN);
    uint32_t sup;
    char kind[RATELIMIT_KIND_MAX * 2];
    memset(kind, 'k', sizeof kind - 1);
    kind[sizeof kind - 1] = '\0';
    ck_assert_int_eq(ratelimit_allow(&r, kind, "192.0.2.1", T0, &sup), 1);
    ck_assert_int_eq(ratelimit_allow(&r, kind, "192.0.2.1", T0 + 1, &sup), 0);
    ck_assert_int_eq(ratelimit_allow(&r, kind, "192.0.2.1", T0 + 2, &sup), 0);
}
END_TEST

START_TEST(addr_of_strips_port)
{
    char a[RATELIMIT_ADDR_MAX];
    ratelimit_addr_of("192.0.2.1:50123", a, sizeof a);
    ck_assert_str_eq(a, "192.0.2.1");
    ratelimit_addr_of("host", a, sizeof a);
    ck_assert_str_eq(a, "host");
    ratelimit_addr_of("::1", a, sizeof a); /* not IPv4: kept whole */
    ck_assert_str_eq(a, "::1");
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("window");
    tcase_add_test(tc, first_line_passes_rest_counted);
    tcase_add_test(tc, expired_counts_reported_once);
    tcase_add_test(tc, long_kind_matches);
    suite_add_tcase(s, tc);
    tc = tcase_create("bounded");
    tcase_add_test(tc, many_addresses_bounded_and_counted);
    tcase_add_test(tc, addr_of_strips_port);
    suite_add_tcase(s, tc);
    return s;
}
