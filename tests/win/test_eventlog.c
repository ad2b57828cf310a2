/* test_eventlog.c - the Event Log side of the log: the core's event kinds
 * each have their own message ID, every ID has its text in nlbctld.exe's
 * message table and a row in README.md, and the log keeps working (with
 * one warning) where the source is not registered.
 *
 * What Wine can show (installer/README.md): RegisterEventSourceW and
 * ReportEventW are stubs that succeed and store nothing, so no event can be
 * read back here. The installer tests see the service's ReportEventW calls,
 * IDs included, in Wine's debug output; this test covers the mapping, the
 * message table itself (FormatMessageW on nlbctld.exe, as Event Viewer
 * does) and the log file's behaviour. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "event_ids.h"
#include "log.h"
#include "model.h"
#include "nlbctld_msg.h"
#include "winutil.h"

#ifndef NLBCTLD_EXE
#error "NLBCTLD_EXE must name nlbctld.exe"
#endif

/* A Linux path from CMake as Wine sees it (drive Z: is the root). */
static void wine_path(const char *unix_path, char *out, size_t cap)
{
    if (unix_path[0] == '/') {
        snprintf(out, cap, "Z:%s", unix_path);
        for (char *p = out; *p; p++)
            if (*p == '/')
                *p = '\\';
    } else {
        snprintf(out, cap, "%s", unix_path);
    }
}

static char *read_text(const char *unix_path)
{
    char path[MAX_PATH];
    wine_path(unix_path, path, sizeof path);
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(path, 1u << 20, &len, &rc);
    ck_assert_msg(text != NULL, "cannot read %s: error %lu", path, (unsigned long)rc);
    return text;
}

/* The message IDs (low 16 bits, as Event Viewer shows them) in the .mc. */
static int mc_ids(unsigned *ids, int cap)
{
    char *mc = read_text(NLBCTL_SOURCE_DIR "/service/nlbctld_msg.mc");
    int n = 0;
    for (char *p = strstr(mc, "\nMessageId="); p && n < cap; p = strstr(p + 1, "\nMessageId="))
        ids[n++] = (unsigned)strtoul(p + strlen("\nMessageId="), NULL, 10);
    free(mc);
    return n;
}

START_TEST(every_event_kind_has_its_own_id)
{
    unsigned long seen[MODEL_EV_COUNT];
    for (int ev = MODEL_EV_NONE + 1; ev < MODEL_EV_COUNT; ev++) {
        unsigned long id = event_id_of((uint8_t)ev);
        ck_assert_msg(id != 0, "model event %d has no Event Log ID (service/event_ids.c)", ev);
        for (int j = 1; j < ev; j++)
            ck_assert_msg(seen[j] != id, "model events %d and %d share ID %lu", j, ev,
                          id & 0xFFFF);
        seen[ev] = id;
    }
    ck_assert_uint_eq(event_id_of(MODEL_EV_NONE), 0);
    ck_assert_uint_eq(event_id_of(MODEL_EV_COUNT), 0);
    ck_assert_uint_eq(event_id_of(255), 0);
    /* The ones the issue names, spot-checked by number. */
    ck_assert_uint_eq(event_id_of(MODEL_EV_MODE_CHANGE) & 0xFFFF, 100);
    ck_assert_uint_eq(event_id_of(MODEL_EV_FENCED) & 0xFFFF, 102);
    ck_assert_uint_eq(event_id_of(MODEL_EV_DRIFT) & 0xFFFF, 130);
    ck_assert_uint_eq(event_id_of(MODEL_EV_REPAIR) & 0xFFFF, 131);
    ck_assert_uint_eq(event_id_of(MODEL_EV_NLB_FAILED) & 0xFFFF, 120);
    ck_assert_uint_eq(event_id_of(MODEL_EV_FAILOVER) & 0xFFFF, 202);
    ck_assert_uint_eq(MSG_CONFIG_ERROR & 0xFFFF, 10);
    /* Severity bits (Event Viewer's level for the ID itself). */
    ck_assert_uint_eq(event_id_of(MODEL_EV_FENCED) >> 30, 3);
    ck_assert_uint_eq(event_id_of(MODEL_EV_DRIFT) >> 30, 2);
    ck_assert_uint_eq(event_id_of(MODEL_EV_MODE_CHANGE) >> 30, 1);
}
END_TEST

/* Event Viewer reads the text from EventMessageFile = nlbctld.exe with
 * FormatMessage; so does this test, for every ID the .mc defines. */
START_TEST(every_id_has_text_in_nlbctld_exe)
{
    char exe[MAX_PATH];
    wine_path(NLBCTLD_EXE, exe, sizeof exe);
    wchar_t wexe[MAX_PATH];
    ck_assert_int_eq(win_to_wide(exe, wexe, MAX_PATH), 0);
    HMODULE m = LoadLibraryExW(wexe, NULL, LOAD_LIBRARY_AS_DATAFILE);
    ck_assert_msg(m != NULL, "cannot load %s: error %lu", exe, (unsigned long)GetLastError());
    unsigned ids[128];
    int n = mc_ids(ids, 128);
    ck_assert_int_ge(n, MODEL_EV_COUNT);
    static const DWORD severity[4] = {0x00000000, 0x40000000, 0x80000000, 0xC0000000};
    for (int i = 0; i < n; i++) {
        /* The .mc gives the low part; try the severities for the full ID. */
        int found = 0;
        for (int s = 0; s < 4 && !found; s++) {
            wchar_t buf[1024];
            const wchar_t *args[1] = {L"<the log line>"};
            DWORD len = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY,
                                       m, severity[s] | ids[i], 0x409, buf, 1024,
                                       (va_list *)args);
            if (len > 0) {
                found = 1;
                ck_assert_msg(wcsstr(buf, L"<the log line>") != NULL,
                              "message %u does not show the log line (%%1): %ls", ids[i], buf);
            }
        }
        ck_assert_msg(found, "message %u is not in %s's message table", ids[i], exe);
    }
    /* ... and an ID that is not defined is not found (the lookup is real). */
    wchar_t buf[256];
    ck_assert_uint_eq(FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_IGNORE_INSERTS,
                                     m, 0x40000000 | 4999, 0x409, buf, 256, NULL),
                      0);
    FreeLibrary(m);
}
END_TEST

/* README.md's "Event Log" table lists every ID, for administrators
 * setting up alerts. */
START_TEST(readme_lists_every_id)
{
    char *readme = read_text(NLBCTL_SOURCE_DIR "/README.md");
    char *section = strstr(readme, "\n## Event Log\n");
    ck_assert_msg(section != NULL, "README.md has no '## Event Log' section");
    char *end = strstr(section + 1, "\n## ");
    if (end)
        *end = '\0';
    unsigned ids[128];
    int n = mc_ids(ids, 128);
    for (int i = 0; i < n; i++) {
        char row[32];
        snprintf(row, sizeof row, "\n| %u |", ids[i]);
        ck_assert_msg(strstr(section, row) != NULL,
                      "README.md's Event Log section has no row for event ID %u", ids[i]);
    }
    free(readme);
}
END_TEST

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

/* This test's Wine host has no nlbctld source registered (only the
 * installer tests, on hosts of their own, install one): the log goes on,
 * every line reaches the file, and the missing source costs one warning. */
START_TEST(unregistered_source_costs_one_warning)
{
    char dir[MAX_PATH], path[MAX_PATH];
    DWORD n = GetTempPathA(sizeof dir, dir);
    ck_assert(n > 0 && n < sizeof dir);
    snprintf(path, sizeof path, "%snlbctl-test-eventlog-%lu.log", dir,
             (unsigned long)GetCurrentProcessId());
    DeleteFileA(path);
    ck_assert_uint_eq(log_open(path, 0), 0);
    log_eventlog_open();
    log_event(LOG_INFO, MSG_MODE_CHANGE, "backup -> primary because test %d", 1);
    log_event(LOG_ERROR, MSG_FENCED, "isolated: test %d", 2);
    log_write(LOG_WARNING, "a line without an ID of its own");
    log_write(LOG_INFO, "an info line (file only)");
    log_eventlog_close();
    log_close();
    char *text = read_text(path);
    DeleteFileA(path);
    ck_assert_msg(strstr(text, "INFO    backup -> primary because test 1") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "ERROR   isolated: test 2") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "WARNING a line without an ID of its own") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "INFO    an info line (file only)") != NULL, "%s", text);
    HKEY key;
    int registered = RegOpenKeyExW(HKEY_LOCAL_MACHINE,
                                   L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\nlbctld",
                                   0, KEY_QUERY_VALUE, &key) == ERROR_SUCCESS;
    if (registered)
        RegCloseKey(key);
    ck_assert_msg(count(text, "Event Log source nlbctld is not registered") == !registered,
                  "expected %d warning(s) about the source:\n%s", !registered, text);
    free(text);
}
END_TEST

/* A line too long for the log is cut on a character boundary: a cut
 * inside a UTF-8 sequence made readers of the log (Python's decoder in
 * tests/scenario/nlbctl_port.py, for one) fail. */
START_TEST(long_line_cut_on_a_character)
{
    char dir[MAX_PATH], path[MAX_PATH];
    DWORD n = GetTempPathA(sizeof dir, dir);
    ck_assert(n > 0 && n < sizeof dir);
    snprintf(path, sizeof path, "%snlbctl-test-longline-%lu.log", dir,
             (unsigned long)GetCurrentProcessId());
    DeleteFileA(path);
    ck_assert_uint_eq(log_open(path, 0), 0);
    /* Every offset: 1 to 3 ASCII bytes, then 3-byte characters (U+2026). */
    for (int shift = 0; shift < 3; shift++) {
        char big[4000];
        size_t len = 0;
        for (int i = 0; i <= shift; i++)
            big[len++] = 'x';
        while (len + 3 < sizeof big) {
            big[len++] = (char)0xE2;
            big[len++] = (char)0x80;
            big[len++] = (char)0xA6;
        }
        big[len] = '\0';
        log_write(LOG_INFO, "%s", big);
        log_event(LOG_INFO, MSG_DRIFT, "%s", big);
    }
    log_close();
    char *text = read_text(path);
    DeleteFileA(path);
    ck_assert_msg(MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text, -1, NULL, 0) > 0,
                  "the log is not valid UTF-8 after cutting long lines");
    ck_assert_int_eq(count(text, "\r\n"), 6);
    free(text);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("eventlog");
    TCase *tc = tcase_create("every_event_kind_has_its_own_id");
    tcase_add_test(tc, every_event_kind_has_its_own_id);
    suite_add_tcase(s, tc);
    tc = tcase_create("every_id_has_text_in_nlbctld_exe");
    tcase_add_test(tc, every_id_has_text_in_nlbctld_exe);
    suite_add_tcase(s, tc);
    tc = tcase_create("readme_lists_every_id");
    tcase_add_test(tc, readme_lists_every_id);
    suite_add_tcase(s, tc);
    tc = tcase_create("long_line_cut_on_a_character");
    tcase_add_test(tc, long_line_cut_on_a_character);
    suite_add_tcase(s, tc);
    tc = tcase_create("unregistered_source_costs_one_warning");
    tcase_add_test(tc, unregistered_source_costs_one_warning);
    suite_add_tcase(s, tc);
    return s;
}
