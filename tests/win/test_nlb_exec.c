/* test_nlb_exec.c - the exec NLB backend run against tests/apps/fake_nlb.exe:
 * commands and their read-back, a failing command, garbage output, a command
 * that hangs (and its process really gone afterwards), a missing program,
 * placeholder expansion, and a site's .cmd control script.
 *
 * The fake keeps its rule's state in FAKE_NLB_STATE and behaves as
 * FAKE_NLB_MODE says; both are set here with SetEnvironmentVariableW and
 * inherited by the child. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "config.h"
#include "log.h"
#include "nlb_backend.h"
#include "winutil.h"

#ifndef FAKE_NLB_EXE
#error "FAKE_NLB_EXE must name fake_nlb.exe"
#endif

#define VIP "192.0.2.10"

static char fake[MAX_PATH];     /* fake_nlb.exe as Windows sees it */
static char dir[MAX_PATH];      /* this case's own temporary directory */
static char state_file[MAX_PATH];
static char log_file[MAX_PATH];
static struct config cfg;
static char err[1024];

/* ---- helpers ---------------------------------------------------------------- */

static void set_env(const char *name, const char *value)
{
    wchar_t wn[64], wv[MAX_PATH];
    ck_assert(win_to_wide(name, wn, 64) == 0 && win_to_wide(value, wv, MAX_PATH) == 0);
    ck_assert(SetEnvironmentVariableW(wn, wv));
}

static void set_mode(const char *mode) { set_env("FAKE_NLB_MODE", mode); }

static void remove_file(const char *path)
{
    wchar_t w[MAX_PATH];
    ck_assert(win_to_wide(path, w, MAX_PATH) == 0);
    DeleteFileW(w);
}

static void write_text(const char *path, const char *text)
{
    ck_assert_msg(win_write_file_atomic(path, text, strlen(text)) == ERROR_SUCCESS, "write %s",
                  path);
}

/* The file's text, or "" if it does not exist; static, overwritten by the next call. */
static const char *read_text(const char *path)
{
    static char buf[64 * 1024];
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(path, sizeof buf - 1, &len, &rc);
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    free(text);
    return buf;
}

#define assert_contains(hay, needle)                                                               \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in \"%s\"", (needle), (hay))

/* A fresh directory, state file, log and config for one case; mode ok. */
static void begin(const char *tag)
{
    /* CMake gives a Linux path; Wine maps / to Z:\. */
    if (FAKE_NLB_EXE[0] == '/') {
        snprintf(fake, sizeof fake, "Z:%s", FAKE_NLB_EXE);
        for (char *p = fake; *p; p++)
            if (*p == '/')
                *p = '\\';
    } else {
        snprintf(fake, sizeof fake, "%s", FAKE_NLB_EXE);
    }
    wchar_t wtmp[MAX_PATH];
    char tmp[MAX_PATH];
    ck_assert(GetTempPathW(MAX_PATH, wtmp) > 0);
    ck_assert(win_to_utf8(wtmp, tmp, sizeof tmp) == 0);
    /* A space in the path checks the quoting of the program and of cmd /c. */
    snprintf(dir, sizeof dir, "%snlb exec-%lu-%s", tmp, (unsigned long)GetCurrentProcessId(), tag);
    wchar_t wdir[MAX_PATH];
    ck_assert(win_to_wide(dir, wdir, MAX_PATH) == 0);
    CreateDirectoryW(wdir, NULL);
    snprintf(state_file, sizeof state_file, "%s\\state", dir);
    snprintf(log_file, sizeof log_file, "%s\\nlbctld.log", dir);
    remove_file(state_file);
    char pid_file[MAX_PATH + 8];
    snprintf(pid_file, sizeof pid_file, "%s.pid", state_file);
    remove_file(pid_file);
    remove_file(log_file);
    ck_assert(log_open(log_file, 1) == 0);

    config_defaults(&cfg);
    snprintf(cfg.backend, sizeof cfg.backend, "exec");
    snprintf(cfg.vip, sizeof cfg.vip, VIP);
    cfg.port = 5060;
    cfg.nlb_timeout_ms = 20000; /* generous: Wine can be slow to start a process */
    snprintf(cfg.exec_command, sizeof cfg.exec_command, "\"%s\" %%ACTION%% %%VIP%%:%%PORT%%", fake);
    snprintf(cfg.exec_query, sizeof cfg.exec_query, "\"%s\" queryport %%VIP%%:%%PORT%%", fake);
    set_env("FAKE_NLB_STATE", state_file);
    set_mode("ok");
}

static void *open_exec(const struct nlb_ops **ops)
{
    err[0] = '\0';
    void *x = nlb_exec_open(&cfg, "node1", ops, err, sizeof err);
    ck_assert_msg(x != NULL, "nlb_exec_open: %s", err);
    return x;
}

static int query(const struct nlb_ops *ops, void *x, uint8_t *state)
{
    err[0] = '\0';
    *state = 0xff;
    return ops->query(x, state, err, sizeof err);
}

static int set(const struct nlb_ops *ops, void *x, uint8_t state)
{
    err[0] = '\0';
    return ops->set(x, state, err, sizeof err);
}

static void expect_state(const struct nlb_ops *ops, void *x, uint8_t want)
{
    uint8_t got;
    ck_assert_msg(query(ops, x, &got) == 0, "query: %s", err);
    ck_assert_msg(got == want, "query read %u, expected %u", got, want);
}

/* The .cmd control script a site might write, in this case's directory. */
static void write_script(char *path, size_t cap)
{
    snprintf(path, cap, "%s\\ctl script.cmd", dir);
    char text[1024];
    snprintf(text, sizeof text, "@echo off\r\n\"%s\" %%1 %%2:%%3\r\nexit /b %%ERRORLEVEL%%\r\n",
             fake);
    write_text(path, text);
}

/* After a hang was stopped: the fake's pid file names a process that is gone. */
static void assert_fake_gone(void)
{
    char pid_file[MAX_PATH + 8];
    snprintf(pid_file, sizeof pid_file, "%s.pid", state_file);
    const char *text = read_text(pid_file);
    ck_assert_msg(text[0], "the hanging fake never wrote %s", pid_file);
    DWORD pid = (DWORD)strtoul(text, NULL, 10);
    HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, pid);
    if (h) {
        /* Termination is asynchronous for a job's other members: give it a moment. */
        DWORD w = WaitForSingleObject(h, 1000);
        if (w != WAIT_OBJECT_0)
            TerminateProcess(h, 1); /* leave no hanging process behind the failure */
        CloseHandle(h);
        ck_assert_msg(w == WAIT_OBJECT_0, "fake_nlb.exe (pid %lu) is still running",
                      (unsigned long)pid);
    }
}

/* ---- cases --------------------------------------------------------------------- */

START_TEST(set_and_query)
{
    begin("set");
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    assert_contains(ops->describe(x), "exec " VIP ":5060");

    ck_assert_msg(set(ops, x, MODEL_PORT_ENABLED) == 0, "enable: %s", err);
    ck_assert_str_eq(read_text(state_file), "enabled\n");
    expect_state(ops, x, MODEL_PORT_ENABLED);
    ck_assert_msg(set(ops, x, MODEL_PORT_DISABLED) == 0, "disable: %s", err);
    expect_state(ops, x, MODEL_PORT_DISABLED);
    ck_assert_msg(set(ops, x, MODEL_PORT_DRAINING) == 0, "drain: %s", err);
    ck_assert_str_eq(read_text(state_file), "draining\n");
    expect_state(ops, x, MODEL_PORT_DRAINING);
    /* nlb.exe counts no connections: a drain through exec runs its full drain_ms. */
    ck_assert(ops->connections == NULL);

    /* A tool that says yes but does nothing: only the query can tell. */
    set_mode("ignore");
    ck_assert_msg(set(ops, x, MODEL_PORT_ENABLED) == 0, "enable: %s", err);
    expect_state(ops, x, MODEL_PORT_DRAINING);

    ck_assert_int_eq(set(ops, x, MODEL_PORT_UNKNOWN), -1);
    assert_contains(err, "cannot set port state");

    /* What the commands printed is in the log, one line each, by action. */
    const char *log = read_text(log_file);
    assert_contains(log, "nlb exec enable: running \"");
    assert_contains(log, "nlb exec enable: Port rule 5060 enabled.");
    assert_contains(log, "nlb exec disable: Port rule 5060 disabled.");
    assert_contains(log, "nlb exec drain: Port rule 5060 draining.");
    ops->close(x);
}
END_TEST

START_TEST(query_without_rule)
{
    begin("norule");
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    uint8_t state;
    ck_assert_int_eq(query(ops, x, &state), -1);
    ck_assert_int_eq(state, MODEL_PORT_UNKNOWN);
    assert_contains(err, "no such port rule");
    assert_contains(err, "Port 5060 not found in any port rule");
    /* A failed query's output is logged; a good one's is not. */
    assert_contains(read_text(log_file), "nlb exec query: Port 5060 not found");
    ops->close(x);
}
END_TEST

START_TEST(failing_command)
{
    begin("fail");
    write_text(state_file, "disabled\n");
    set_mode("fail");
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    ck_assert_int_eq(set(ops, x, MODEL_PORT_ENABLED), -1);
    assert_contains(err, "enable " VIP ":5060' failed with exit code 3");
    assert_contains(err, "Error: the NLB driver did not answer (fake failure)"); /* from stderr */
    ck_assert_str_eq(read_text(state_file), "disabled\n");

    uint8_t state;
    ck_assert_int_eq(query(ops, x, &state), -1);
    assert_contains(err, "queryport " VIP ":5060' failed with exit code 3");
    ck_assert_int_eq(state, MODEL_PORT_UNKNOWN);

    set_mode("ok");
    expect_state(ops, x, MODEL_PORT_DISABLED);
    ops->close(x);
}
END_TEST

START_TEST(garbage_output)
{
    begin("garbage");
    write_text(state_file, "enabled\n");
    set_mode("garbage");
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    uint8_t state;
    ck_assert_int_eq(query(ops, x, &state), -1);
    assert_contains(err, "names no port state (expected enabled, disabled or draining)");
    assert_contains(err, "Fake NLB Cluster Control Utility"); /* the first line, quoted */

    /* 8 KiB of noise from a command that worked: read through (no full
     * pipe), kept to 4 KiB, and the command still counts by its exit code. */
    ck_assert_msg(set(ops, x, MODEL_PORT_DISABLED) == 0, "disable: %s", err);
    set_mode("ok");
    expect_state(ops, x, MODEL_PORT_DISABLED);
    assert_contains(read_text(log_file), "nlb exec disable: (output cut after 4096 bytes)");
    ops->close(x);
}
END_TEST

/* How nlb.exe's undocumented queryport text is read: the tool is a script
 * printing what the case gives it. */
START_TEST(query_parsing)
{
    begin("parse");
    char script[MAX_PATH];
    snprintf(script, sizeof script, "%s\\say.cmd", dir);
    snprintf(cfg.exec_query, sizeof cfg.exec_query, "\"%s\"", script);
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    static const struct {
        const char *output;
        int state; /* -1: an error */
    } cases[] = {
        {"Rule state: Enabled", MODEL_PORT_ENABLED},
        {"Port rule 5060 is DISABLED", MODEL_PORT_DISABLED},
        {"disabled", MODEL_PORT_DISABLED},
        {"state=draining (enabled for existing connections)", MODEL_PORT_DRAINING},
        {"Rule is disabled; was enabled", MODEL_PORT_DISABLED},
        {"Remote control is not enabled", -1},
        {"enabledness: high", -1},
        {"No port rule contains port 5060 (enabled rules: 80)", -1},
        {"The rule does not exist", -1},
        {"Cluster 192.0.2.10 converged", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "@echo off\r\necho Header line\r\necho %s\r\n", cases[i].output);
        write_text(script, text);
        uint8_t state;
        int rc = query(ops, x, &state);
        if (cases[i].state < 0) {
            ck_assert_msg(rc == -1, "\"%s\" read as state %u", cases[i].output, state);
            ck_assert_msg(strstr(err, "Header line") || strstr(err, cases[i].output),
                          "\"%s\": error quotes no output: %s", cases[i].output, err);
        } else {
            ck_assert_msg(rc == 0, "\"%s\": %s", cases[i].output, err);
            ck_assert_msg(state == cases[i].state, "\"%s\" read as %u, expected %d",
                          cases[i].output, state, cases[i].state);
        }
    }
    ops->close(x);
}
END_TEST

START_TEST(hang_is_stopped)
{
    begin("hang");
    write_text(state_file, "disabled\n");
    cfg.nlb_timeout_ms = 500;
    set_mode("hang");
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    unsigned long long t0 = win_now_ms();
    ck_assert_int_eq(set(ops, x, MODEL_PORT_ENABLED), -1);
    unsigned long long took = win_now_ms() - t0;
    ck_assert_msg(took < 2000, "the call took %llu ms", took);
    assert_contains(err, "did not finish within 500 ms and was stopped");
    assert_contains(err, "enable " VIP ":5060");
    assert_fake_gone();
    ck_assert_str_eq(read_text(state_file), "disabled\n");
    ops->close(x);
}
END_TEST

/* The script is stopped and so is the program it started (the job object). */
START_TEST(hang_in_script_is_stopped)
{
    begin("hangcmd");
    char script[MAX_PATH];
    write_script(script, sizeof script);
    snprintf(cfg.exec_command, sizeof cfg.exec_command, "\"%s\" %%ACTION%% %%VIP%% %%PORT%%", script);
    cfg.nlb_timeout_ms = 500;
    set_mode("hang");
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    unsigned long long t0 = win_now_ms();
    ck_assert_int_eq(set(ops, x, MODEL_PORT_DISABLED), -1);
    unsigned long long took = win_now_ms() - t0;
    ck_assert_msg(took < 2000, "the call took %llu ms", took);
    assert_contains(err, "did not finish within 500 ms and was stopped");
    assert_fake_gone();
    ops->close(x);
}
END_TEST

START_TEST(missing_program)
{
    begin("missing");
    const struct nlb_ops *ops;
    snprintf(cfg.exec_command, sizeof cfg.exec_command,
             "nlb-not-installed-here.exe %%ACTION%% %%VIP%%:%%PORT%%");
    snprintf(cfg.exec_query, sizeof cfg.exec_query,
             "\"C:\\no such dir\\nlb.exe\" queryport %%VIP%%:%%PORT%%");
    void *x = open_exec(&ops);
    ck_assert_int_eq(set(ops, x, MODEL_PORT_ENABLED), -1);
    ck_assert_msg(strncmp(err, "cannot run 'nlb-not-installed-here.exe': ", 41) == 0, "%s", err);
    ck_assert_msg(strlen(err) > 45, "no reason given: %s", err);
    uint8_t state;
    ck_assert_int_eq(query(ops, x, &state), -1);
    ck_assert_msg(strncmp(err, "cannot run 'C:\\no such dir\\nlb.exe': ", 37) == 0, "%s", err);
    ops->close(x);

    /* A script that is not there is reported the same way, not by cmd.exe. */
    snprintf(cfg.exec_command, sizeof cfg.exec_command, "C:\\no\\such\\ctl.cmd %%ACTION%%");
    x = open_exec(&ops);
    ck_assert_int_eq(set(ops, x, MODEL_PORT_ENABLED), -1);
    ck_assert_msg(strncmp(err, "cannot run 'C:\\no\\such\\ctl.cmd': ", 33) == 0, "%s", err);
    ops->close(x);
}
END_TEST

START_TEST(template_expansion)
{
    begin("template");
    const struct nlb_ops *ops;
    /* Unknown %WORD%, a lone %, %% and an unterminated %VIP pass through;
     * placeholders match in any case. The fake refuses the extra arguments
     * (exit 2), so the error shows the line as it was run. */
    snprintf(cfg.exec_command, sizeof cfg.exec_command,
             "\"%s\" %%ACTION%% %%VIP%%:%%PORT%% %%NODE%% 100%% %%%% %%vip%% %%Port%% %%VIP", fake);
    /* %ACTION% in the query is "query". */
    snprintf(cfg.exec_query, sizeof cfg.exec_query, "\"%s\" %%ACTION%%port %%VIP%%:%%PORT%%", fake);
    void *x = open_exec(&ops);
    ck_assert_int_eq(set(ops, x, MODEL_PORT_DRAINING), -1);
    assert_contains(err, "drain " VIP ":5060 %NODE% 100% %% " VIP " 5060 %VIP' failed with exit code 2");
    write_text(state_file, "enabled\n");
    expect_state(ops, x, MODEL_PORT_ENABLED);
    ops->close(x);

    /* A line that does not fit once filled in is refused when opened. */
    char *p = cfg.exec_command;
    p += sprintf(p, "x.exe");
    for (int i = 0; i < 40; i++)
        p += sprintf(p, " %%VIP%%");
    snprintf(cfg.vip, sizeof cfg.vip, "%s", "a-very-long-virtual-ip-name-that-is-sixty-three-characters-long");
    ck_assert_int_eq(strlen(cfg.vip), 63);
    ck_assert_ptr_null(nlb_exec_open(&cfg, "node1", &ops, err, sizeof err));
    assert_contains(err, "[nlb] exec_command is longer than 2047 characters once its placeholders");

    snprintf(cfg.exec_command, sizeof cfg.exec_command, "x.exe %%ACTION%%");
    p = cfg.exec_query;
    p += sprintf(p, "x.exe");
    for (int i = 0; i < 40; i++)
        p += sprintf(p, " %%VIP%%");
    ck_assert_ptr_null(nlb_exec_open(&cfg, "node1", &ops, err, sizeof err));
    assert_contains(err, "[nlb] exec_query is longer than 2047 characters");

    /* An empty template names no program. */
    snprintf(cfg.exec_query, sizeof cfg.exec_query, "   ");
    ck_assert_ptr_null(nlb_exec_open(&cfg, "node1", &ops, err, sizeof err));
    assert_contains(err, "[nlb] exec_query is empty");
}
END_TEST

START_TEST(cmd_script)
{
    begin("cmd");
    char script[MAX_PATH];
    write_script(script, sizeof script);
    snprintf(cfg.exec_command, sizeof cfg.exec_command, "\"%s\" %%ACTION%% %%VIP%% %%PORT%%", script);
    snprintf(cfg.exec_query, sizeof cfg.exec_query, "\"%s\" queryport %%VIP%% %%PORT%%", script);
    const struct nlb_ops *ops;
    void *x = open_exec(&ops);
    ck_assert_msg(set(ops, x, MODEL_PORT_ENABLED) == 0, "enable: %s", err);
    ck_assert_str_eq(read_text(state_file), "enabled\n");
    expect_state(ops, x, MODEL_PORT_ENABLED);
    ck_assert_msg(set(ops, x, MODEL_PORT_DRAINING) == 0, "drain: %s", err);
    expect_state(ops, x, MODEL_PORT_DRAINING);

    /* The script's exit code is the command's. */
    set_mode("fail");
    ck_assert_int_eq(set(ops, x, MODEL_PORT_DISABLED), -1);
    assert_contains(err, "failed with exit code 3: Error: the NLB driver did not answer");
    set_mode("ok");
    expect_state(ops, x, MODEL_PORT_DRAINING);
    ops->close(x);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("nlb_exec");
    TCase *tc;

    tc = tcase_create("set_and_query");
    tcase_add_test(tc, set_and_query);
    suite_add_tcase(s, tc);

    tc = tcase_create("query_without_rule");
    tcase_add_test(tc, query_without_rule);
    suite_add_tcase(s, tc);

    tc = tcase_create("failing_command");
    tcase_add_test(tc, failing_command);
    suite_add_tcase(s, tc);

    tc = tcase_create("garbage_output");
    tcase_add_test(tc, garbage_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("query_parsing");
    tcase_add_test(tc, query_parsing);
    suite_add_tcase(s, tc);

    tc = tcase_create("hang_is_stopped");
    tcase_add_test(tc, hang_is_stopped);
    suite_add_tcase(s, tc);

    tc = tcase_create("hang_in_script_is_stopped");
    tcase_add_test(tc, hang_in_script_is_stopped);
    suite_add_tcase(s, tc);

    tc = tcase_create("missing_program");
    tcase_add_test(tc, missing_program);
    suite_add_tcase(s, tc);

    tc = tcase_create("template_expansion");
    tcase_add_test(tc, template_expansion);
    suite_add_tcase(s, tc);

    tc = tcase_create("cmd_script");
    tcase_add_test(tc, cmd_script);
    suite_add_tcase(s, tc);

    return s;
}
