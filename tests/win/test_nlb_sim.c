/* test_nlb_sim.c - the sim NLB backend: commands written to its state file
 * and read back, an old state file (one word, no count) still readable, and
 * the connection count a test writes beside it (<state>.connections) for a
 * drain that may end early: absent means unknown, a number is the count,
 * anything else an error. Also through nlb.c, as the worker calls it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "config.h"
#include "nlb.h"
#include "nlb_backend.h"
#include "winutil.h"

static char dir[MAX_PATH];
static char state_file[MAX_PATH + 64];
static char conns_file[MAX_PATH + 80];
static struct config cfg;
static char err[1024];

static void remove_file(const char *path)
{
    wchar_t w[MAX_PATH + 80];
    ck_assert(win_to_wide(path, w, MAX_PATH + 80) == 0);
    DeleteFileW(w);
}

static void write_text(const char *path, const char *text)
{
    ck_assert_msg(win_write_file_atomic(path, text, strlen(text)) == ERROR_SUCCESS, "write %s",
                  path);
}

#define assert_contains(hay, needle)                                                               \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in \"%s\"", (needle), (hay))

/* A fresh sim_dir and config for one case. */
static void begin(const char *tag)
{
    wchar_t wtmp[MAX_PATH];
    char tmp[MAX_PATH];
    ck_assert(GetTempPathW(MAX_PATH, wtmp) > 0);
    ck_assert(win_to_utf8(wtmp, tmp, sizeof tmp) == 0);
    snprintf(dir, sizeof dir, "%snlbsim-%lu-%s", tmp, (unsigned long)GetCurrentProcessId(), tag);
    config_defaults(&cfg);
    snprintf(cfg.backend, sizeof cfg.backend, "sim");
    snprintf(cfg.vip, sizeof cfg.vip, "192.0.2.10");
    cfg.port = 5060;
    snprintf(cfg.sim_dir, sizeof cfg.sim_dir, "%s", dir);
    snprintf(state_file, sizeof state_file, "%s\\node1_192.0.2.10_5060.state", dir);
    snprintf(conns_file, sizeof conns_file, "%s.connections", state_file);
    remove_file(state_file);
    remove_file(conns_file);
    err[0] = '\0';
}

static uint32_t count_of(const struct nlb_ops *ops, void *x, int *rc)
{
    uint32_t n = 12345;
    err[0] = '\0';
    *rc = ops->connections(x, &n, err, sizeof err);
    return n;
}

START_TEST(state_round_trip_and_old_files)
{
    begin("state");
    const struct nlb_ops *ops = NULL;
    void *x = nlb_sim_open(&cfg, "node1", &ops, err, sizeof err);
    ck_assert_msg(x != NULL, "%s", err);
    uint8_t st = 0;
    ck_assert_int_eq(ops->query(x, &st, err, sizeof err), -1);
    assert_contains(err, "no port rule yet");
    ck_assert_msg(ops->set(x, MODEL_PORT_DRAINING, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(ops->query(x, &st, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(st, MODEL_PORT_DRAINING);
    /* A file written by an older build (or a test), CRLF and all. */
    write_text(state_file, "enabled\r\n");
    ck_assert_msg(ops->query(x, &st, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(st, MODEL_PORT_ENABLED);
    ops->close(x);
}
END_TEST

START_TEST(connection_count)
{
    begin("conns");
    const struct nlb_ops *ops = NULL;
    void *x = nlb_sim_open(&cfg, "node1", &ops, err, sizeof err);
    ck_assert_msg(x != NULL, "%s", err);
    ck_assert(ops->connections != NULL);
    ck_assert(ops->set(x, MODEL_PORT_DRAINING, err, sizeof err) == 0);
    int rc;
    /* No count file: unknown (the drain runs its full drain_ms). */
    ck_assert_uint_eq(count_of(ops, x, &rc), NLB_CONNECTIONS_UNKNOWN);
    ck_assert_int_eq(rc, 0);
    write_text(conns_file, "2\n");
    ck_assert_uint_eq(count_of(ops, x, &rc), 2);
    ck_assert_int_eq(rc, 0);
    write_text(conns_file, "0");
    ck_assert_uint_eq(count_of(ops, x, &rc), 0);
    ck_assert_int_eq(rc, 0);
    /* A command leaves the count alone, and the state file stays one word. */
    ck_assert(ops->set(x, MODEL_PORT_DRAINING, err, sizeof err) == 0);
    ck_assert_uint_eq(count_of(ops, x, &rc), 0);
    /* Garbage: an error with the file named, and unknown. */
    static const char *bad[] = {"two\n", "-1\n", "2 connections\n", "", "99999999999\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(conns_file, bad[i]);
        ck_assert_uint_eq(count_of(ops, x, &rc), NLB_CONNECTIONS_UNKNOWN);
        ck_assert_msg(rc == -1, "'%s' was taken", bad[i]);
        assert_contains(err, ".connections holds no connection count");
    }
    remove_file(conns_file);
    ck_assert_uint_eq(count_of(ops, x, &rc), NLB_CONNECTIONS_UNKNOWN);
    ck_assert_int_eq(rc, 0);
    ops->close(x);
}
END_TEST

START_TEST(count_through_nlb_api)
{
    begin("api");
    struct nlb *nlb = nlb_open(&cfg, "node1", err, sizeof err);
    ck_assert_msg(nlb != NULL, "%s", err);
    uint32_t n = 0;
    ck_assert_int_eq(nlb_connections(nlb, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, NLB_CONNECTIONS_UNKNOWN);
    write_text(conns_file, "3\n");
    ck_assert_int_eq(nlb_connections(nlb, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    write_text(conns_file, "x\n");
    ck_assert_int_eq(nlb_connections(nlb, &n, err, sizeof err), -1);
    ck_assert_uint_eq(n, NLB_CONNECTIONS_UNKNOWN);
    nlb_close(nlb);
    /* exec has no count: unknown, never an error. */
    snprintf(cfg.backend, sizeof cfg.backend, "exec");
    nlb = nlb_open(&cfg, "node1", err, sizeof err);
    ck_assert_msg(nlb != NULL, "%s", err);
    n = 0;
    ck_assert_int_eq(nlb_connections(nlb, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, NLB_CONNECTIONS_UNKNOWN);
    nlb_close(nlb);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("nlb_sim");
    TCase *tc = tcase_create("sim");
    tcase_add_test(tc, state_round_trip_and_old_files);
    tcase_add_test(tc, connection_count);
    tcase_add_test(tc, count_through_nlb_api);
    suite_add_tcase(s, tc);
    return s;
}
