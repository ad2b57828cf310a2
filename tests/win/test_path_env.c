/* test_path_env.c - the PATH editing the installers use (path_env_edit):
 * append once, remove only our element, never add an empty element, keep
 * everything else exactly. The registry side is exercised by the installer
 * tests on a host of their own (tests/installer). */
#include <check.h>
#include <stdlib.h>
#include <wchar.h>
#include <windows.h>

#include "path_env.h"

#define DIR_ L"C:\\Program Files\\nlbctl"

/* Expects path_env_edit(in) to give want (NULL: no change). */
static void expect(const wchar_t *in, int add, const wchar_t *want)
{
    int oom = 1;
    wchar_t *got = path_env_edit(in, DIR_, add, &oom);
    ck_assert_int_eq(oom, 0);
    if (!want) {
        ck_assert_msg(got == NULL, "%s '%ls': expected no change, got '%ls'",
                      add ? "add" : "remove", in, got);
        return;
    }
    ck_assert_msg(got != NULL, "%s '%ls': expected '%ls', got no change",
                  add ? "add" : "remove", in, want);
    ck_assert_msg(wcscmp(got, want) == 0, "%s '%ls': expected '%ls', got '%ls'",
                  add ? "add" : "remove", in, want, got);
    free(got);
}

START_TEST(add_appends_once)
{
    expect(L"%SystemRoot%\\system32;%SystemRoot%", 1,
           L"%SystemRoot%\\system32;%SystemRoot%;" DIR_);
    expect(L"", 1, DIR_);
    expect(L"A;", 1, L"A;" DIR_); /* no second separator */
    expect(L"A;" DIR_, 1, NULL);
    expect(L"A;" DIR_ L"\\;B", 1, NULL);                   /* a trailing backslash is the same folder */
    expect(L"A;c:\\program files\\NLBCTL;B", 1, NULL);     /* so is another case */
    expect(L"A;C:\\Program Files\\nlbctl2", 1, L"A;C:\\Program Files\\nlbctl2;" DIR_);
}
END_TEST

START_TEST(remove_only_ours)
{
    expect(L"A;B;" DIR_, 0, L"A;B");
    expect(DIR_ L";A;B", 0, L"A;B");
    expect(L"A;" DIR_ L";B", 0, L"A;B");
    expect(DIR_, 0, L"");
    expect(L"A;" DIR_ L"\\", 0, L"A");
    expect(L"A;" DIR_ L";B;" DIR_, 0, L"A;B");             /* every copy goes */
    expect(L"A;B", 0, NULL);
    expect(L"A;C:\\Program Files\\nlbctl2", 0, NULL);
    /* Elements that were already empty stay: they are not ours. */
    expect(L"A;;B;" DIR_, 0, L"A;;B");
    expect(L"A;" DIR_ L";", 0, L"A;");
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("path_env");
    TCase *tc = tcase_create("add_appends_once");
    tcase_add_test(tc, add_appends_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("remove_only_ours");
    tcase_add_test(tc, remove_only_ours);
    suite_add_tcase(s, tc);
    return s;
}
