/* sip_probe: OPTIONS requests, answer matching, rise/fall hysteresis. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sip_probe.h"

static void init(struct sip_probe *p, uint64_t now)
{
    struct sip_probe_settings set;
    memset(&set, 0, sizeof set);
    set.interval_ms = 1000;
    set.timeout_ms = 500;
    set.rise = 2;
    set.fall = 3;
    set.used[0] = set.used[1] = 1;
    strcpy(set.tag, "t");
    sip_probe_init(p, &set, now);
}

/* Sends a probe to target i and returns the answer text for it with `code`. */
static int probe_and_answer(struct sip_probe *p, int i, int code, uint64_t now)
{
    char req[1024], ans[512];
    ck_assert_uint_gt(sip_probe_request(p, i, "192.0.2.11", 5060, "192.0.2.1", 40000, now, req,
                                        sizeof req), 0);
    int n = snprintf(ans, sizeof ans,
                     "SIP/2.0 %d Whatever\r\nVia: x\r\ni: %s\r\nCSeq: 1 OPTIONS\r\n\r\n", code,
                     p->t[i].call_id);
    return sip_probe_answer(p, ans, (size_t)n, now + 5);
}

START_TEST(request_is_sip_options)
{
    struct sip_probe p;
    init(&p, 0);
    char req[1024];
    size_t n = sip_probe_request(&p, 1, "192.0.2.12", 5060, "192.0.2.1", 40000, 0, req,
                                 sizeof req);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(strlen(req), n);
    ck_assert(strncmp(req, "OPTIONS sip:192.0.2.12:5060 SIP/2.0\r\n", 37) == 0);
    ck_assert_ptr_nonnull(strstr(req, "\r\nCall-ID: nlbctl-t-1-1\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bK"));
    ck_assert(strcmp(req + n - 4, "\r\n\r\n") == 0);
    /* too small a buffer: nothing, not waiting */
    struct sip_probe q;
    init(&q, 0);
    ck_assert_uint_eq(sip_probe_request(&q, 0, "h", 1, "l", 2, 0, req, 40), 0);
    ck_assert_uint_eq(q.t[0].waiting, 0);
}
END_TEST

START_TEST(rise_and_fall)
{
    struct sip_probe p;
    init(&p, 0);
    ck_assert_int_eq(probe_and_answer(&p, 0, 200, 0), -1); /* one answer: still unknown */
    ck_assert_uint_eq(p.t[0].verdict, SIP_PROBE_UNKNOWN);
    ck_assert_int_eq(probe_and_answer(&p, 0, 404, 1000), 0); /* any SIP answer proves a stack */
    ck_assert_uint_eq(p.t[0].verdict, SIP_PROBE_UP);
    /* two failures (503 and a timeout): still up */
    ck_assert_int_eq(probe_and_answer(&p, 0, 503, 2000), -1);
    char req[1024];
    sip_probe_request(&p, 0, "h", 1, "l", 2, 3000, req, sizeof req);
    ck_assert_uint_eq(sip_probe_tick(&p, 3499), 0);
    ck_assert_uint_eq(sip_probe_tick(&p, 3500), 0);
    ck_assert_uint_eq(p.t[0].verdict, SIP_PROBE_UP);
    /* the third in a row: down, with the reason */
    sip_probe_request(&p, 0, "h", 1, "l", 2, 4000, req, sizeof req);
    ck_assert_uint_eq(sip_probe_tick(&p, 4500), 1u);
    ck_assert_uint_eq(p.t[0].verdict, SIP_PROBE_DOWN);
    ck_assert_str_eq(p.t[0].last_failure, "no answer in 500 ms");
    /* an answer resets the failure run but needs `rise` to come back */
    ck_assert_int_eq(probe_and_answer(&p, 0, 200, 5000), -1);
    ck_assert_int_eq(probe_and_answer(&p, 0, 200, 6000), 0);
    ck_assert_uint_eq(p.t[0].verdict, SIP_PROBE_UP);
    /* target 1 untouched */
    ck_assert_uint_eq(p.t[1].verdict, SIP_PROBE_UNKNOWN);
}
END_TEST

START_TEST(answers_that_do_not_count)
{
    struct sip_probe p;
    init(&p, 0);
    char req[1024];
    sip_probe_request(&p, 0, "h", 1, "l", 2, 0, req, sizeof req);
    const char *bad[] = {
        "",
        "OPTIONS sip:x SIP/2.0\r\nCall-ID: nlbctl-t-0-1\r\n\r\n", /* a request */
        "SIP/2.0 2x0 OK\r\nCall-ID: nlbctl-t-0-1\r\n\r\n",
        "SIP/2.0 700 Odd\r\nCall-ID: nlbctl-t-0-1\r\n\r\n",
        "SIP/2.0 200 OK\r\nCall-ID: someone-else\r\n\r\n",
        "SIP/2.0 200 OK\r\n\r\nCall-ID: nlbctl-t-0-1\r\n", /* in the body */
        "SIP/2.0 100 Trying\r\nCall-ID: nlbctl-t-0-1\r\n\r\n",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_int_eq(sip_probe_answer(&p, bad[k], strlen(bad[k]), 1), -1);
        ck_assert_uint_eq(p.t[0].waiting, 1);
        ck_assert_uint_eq(p.t[0].ok_run, 0);
    }
    /* header names ignore case; the compact form counts */
    const char *good = "SIP/2.0 200 OK\r\ncall-id :  nlbctl-t-0-1 \r\n\r\n";
    ck_assert_int_eq(sip_probe_answer(&p, good, strlen(good), 2), -1);
    ck_assert_uint_eq(p.t[0].ok_run, 1);
    ck_assert_uint_eq(p.t[0].waiting, 0);
    /* the same answer again: not waiting any more, ignored */
    ck_assert_int_eq(sip_probe_answer(&p, good, strlen(good), 3), -1);
    ck_assert_uint_eq(p.t[0].ok_run, 1);
}
END_TEST

START_TEST(rounds_and_send_failures)
{
    struct sip_probe p;
    init(&p, 100);
    ck_assert_int_eq(sip_probe_round_due(&p, 100), 1);
    ck_assert_int_eq(sip_probe_round_due(&p, 1099), 0);
    ck_assert_int_eq(sip_probe_round_due(&p, 1100), 1);
    /* never answered: no verdict, however often it fails; one warning */
    for (int k = 1; k <= 40; k++) {
        ck_assert_int_eq(sip_probe_send_failed(&p, 1, "unreachable"), -1);
        ck_assert_int_eq(sip_probe_never_answered(&p, 1, 30), k >= 30);
    }
    ck_assert_uint_eq(p.t[1].verdict, SIP_PROBE_UNKNOWN);
    /* once up, send failures count */
    ck_assert_int_eq(probe_and_answer(&p, 1, 200, 2000), -1);
    ck_assert_int_eq(probe_and_answer(&p, 1, 200, 3000), 1);
    ck_assert_int_eq(sip_probe_never_answered(&p, 1, 0), 0);
    ck_assert_int_eq(sip_probe_send_failed(&p, 1, "unreachable"), -1);
    ck_assert_int_eq(sip_probe_send_failed(&p, 1, "unreachable"), -1);
    ck_assert_int_eq(sip_probe_send_failed(&p, 1, "no route"), 1);
    ck_assert_uint_eq(p.t[1].verdict, SIP_PROBE_DOWN);
    ck_assert_str_eq(p.t[1].last_failure, "no route");
    ck_assert_str_eq(sip_probe_verdict_name(SIP_PROBE_DOWN), "not answering");
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("sip_probe");
    TCase *tc = tcase_create("probe");
    tcase_add_test(tc, request_is_sip_options);
    tcase_add_test(tc, rise_and_fall);
    tcase_add_test(tc, answers_that_do_not_count);
    tcase_add_test(tc, rounds_and_send_failures);
    suite_add_tcase(s, tc);
    return s;
}
