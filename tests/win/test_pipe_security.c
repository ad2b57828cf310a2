/* test_pipe_security.c - the control pipe's lock: the DACL it is created
 * with, the status group lookup, the per-request access decision, and a
 * request served end to end.
 *
 * What Wine can and cannot show (tests/TESTING.md): Wine stores a pipe's
 * DACL and GetSecurityInfo returns it, so the exact descriptor is checked
 * here; Wine does not enforce it, and every Wine process is an
 * administrator, so a refusal can only be seen through the decision table
 * (pipe_server_may_run) here and for real in tests/windows/lab.ps1. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include "pipe_server.h"
#include "winutil.h"

#define NO_GROUP_SDDL L"D:P(A;;GA;;;SY)(A;;GA;;;BA)"
#define USERS_SID L"S-1-5-32-545"
#define USERS_SDDL L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12018b;;;S-1-5-32-545)"
/* The same descriptor as Windows writes it back: a well-known SID comes
 * back as its SDDL alias, BUILTIN\Users as BU. */
#define USERS_SDDL_READ_BACK L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12018b;;;BU)"

/* ---- helpers ---------------------------------------------------------------- */

/* A pipe name no other test process uses at the same time. */
static void unique_name(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "nlbctl-test-%s-%lu", tag, (unsigned long)GetCurrentProcessId());
}

static const char *utf8(const wchar_t *w, char *buf, size_t cap)
{
    if (win_to_utf8(w, buf, cap) != 0)
        snprintf(buf, cap, "(does not fit)");
    return buf;
}

/* The DACL of a pipe handle as SDDL, read back from the object itself;
 * *protected_dacl tells whether SE_DACL_PROTECTED is set. */
static void read_back_sddl(HANDLE h, char *out, size_t cap, int *protected_dacl)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    DWORD rc = GetSecurityInfo(h, SE_KERNEL_OBJECT,
                               DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                               NULL, NULL, &dacl, NULL, &sd);
    ck_assert_msg(rc == ERROR_SUCCESS, "GetSecurityInfo: error %lu", (unsigned long)rc);
    ck_assert_ptr_nonnull(dacl);
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    ck_assert(GetSecurityDescriptorControl(sd, &control, &revision));
    *protected_dacl = (control & SE_DACL_PROTECTED) != 0;
    wchar_t *s = NULL;
    ck_assert(ConvertSecurityDescriptorToStringSecurityDescriptorW(
        sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &s, NULL));
    utf8(s, out, cap);
    LocalFree(s);
    LocalFree(sd);
}

/* An SDDL string as Windows writes it back after parsing it (aliases for
 * well-known SIDs), so an expected string compares with a read-back one. */
static void canonical_sddl(const wchar_t *sddl, char *out, size_t cap)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd,
                                                                    NULL));
    wchar_t *s = NULL;
    ck_assert(ConvertSecurityDescriptorToStringSecurityDescriptorW(
        sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &s, NULL));
    utf8(s, out, cap);
    LocalFree(s);
    LocalFree(sd);
}

/* Every instance of ps carries exactly `expected` (as written back), protected. */
static void assert_every_instance(const struct pipe_server *ps, const char *expected)
{
    for (int i = 0; i < PIPE_SERVER_INSTANCES; i++) {
        char got[512];
        int protected_dacl = 0;
        HANDLE h = pipe_server_handle(ps, i);
        ck_assert_msg(h != INVALID_HANDLE_VALUE && h != NULL, "instance %d has no handle", i);
        read_back_sddl(h, got, sizeof got, &protected_dacl);
        ck_assert_msg(strcmp(got, expected) == 0, "instance %d: DACL %s, expected %s", i, got,
                      expected);
        ck_assert_msg(protected_dacl, "instance %d: DACL is not protected", i);
    }
}

/* What the handler saw, and what it answers. */
struct handler_log {
    int calls;
    uint8_t last_type;
};

static int test_handler(void *ctx, uint32_t token, const struct wire_msg *req,
                        struct wire_msg *reply)
{
    struct handler_log *log = ctx;
    (void)token;
    log->calls++;
    log->last_type = req->type;
    if (req->type == WIRE_STATUS_REQ) {
        reply->type = WIRE_STATUS_REPLY;
        reply->u.status.role = MODEL_ROLE_AGENT;
        snprintf(reply->u.status.pair, sizeof reply->u.status.pair, "test-pair");
        reply->u.status.epoch = 42;
    } else {
        reply->type = WIRE_RESULT;
        reply->u.result.code = MODEL_OK;
        snprintf(reply->u.result.text, sizeof reply->u.result.text, "handled %s",
                 wire_type_name(req->type));
    }
    return PIPE_ANSWER_NOW;
}

/* One request and its answer through the real pipe, in this one thread: the
 * client's I/O is overlapped and the server is pumped the way nlbctld's
 * event loop does it, for a bounded number of rounds. */
static void exchange(struct pipe_server *ps, const char *name, const struct wire_msg *req,
                     struct wire_msg *reply, struct handler_log *log)
{
    wchar_t wname[64], path[96];
    ck_assert_int_eq(win_to_wide(name, wname, 64), 0);
    swprintf(path, sizeof path / sizeof path[0], L"\\\\.\\pipe\\%ls", wname);
    HANDLE c = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED, NULL);
    ck_assert_msg(c != INVALID_HANDLE_VALUE, "client cannot open the pipe: error %lu",
                  (unsigned long)GetLastError());
    DWORD mode = PIPE_READMODE_MESSAGE;
    ck_assert(SetNamedPipeHandleState(c, &mode, NULL, NULL));

    uint8_t out[WIRE_MAX_FRAME], in[WIRE_MAX_FRAME];
    size_t len = 0;
    ck_assert_int_eq(wire_encode(req, out, sizeof out, &len), WIRE_OK);
    OVERLAPPED wov, rov;
    memset(&wov, 0, sizeof wov);
    memset(&rov, 0, sizeof rov);
    wov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    rov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert(wov.hEvent && rov.hEvent);
    ck_assert(WriteFile(c, out, (DWORD)len, NULL, &wov) || GetLastError() == ERROR_IO_PENDING);
    ck_assert(ReadFile(c, in, sizeof in, NULL, &rov) || GetLastError() == ERROR_IO_PENDING);

    int answered = 0;
    for (int round = 0; round < 200 && !answered; round++) {
        HANDLE events[PIPE_SERVER_INSTANCES];
        int n = pipe_server_events(ps, events);
        DWORD w = WaitForMultipleObjects((DWORD)n, events, FALSE, 50);
        if (w < WAIT_OBJECT_0 + (DWORD)n)
            pipe_server_service(ps, (int)(w - WAIT_OBJECT_0), test_handler, log);
        answered = WaitForSingleObject(rov.hEvent, 0) == WAIT_OBJECT_0;
    }
    ck_assert_msg(answered, "no answer within 200 rounds of the server loop");
    DWORD got = 0, sent = 0;
    ck_assert(GetOverlappedResult(c, &wov, &sent, TRUE));
    ck_assert_uint_eq(sent, len);
    ck_assert(GetOverlappedResult(c, &rov, &got, FALSE));
    size_t used = 0;
    ck_assert_int_eq(wire_decode(in, got, reply, &used), WIRE_OK);
    ck_assert_uint_eq(used, got);
    CloseHandle(wov.hEvent);
    CloseHandle(rov.hEvent);
    CloseHandle(c);
}

/* ---- the SDDL the pipe is built from ---------------------------------------- */

START_TEST(sddl_text)
{
    wchar_t out[320];
    char buf[512];
    ck_assert_int_eq(pipe_server_sddl(NULL, out, 320), 0);
    ck_assert_str_eq(utf8(out, buf, sizeof buf), "D:P(A;;GA;;;SY)(A;;GA;;;BA)");
    ck_assert_int_eq(pipe_server_sddl(L"", out, 320), 0);
    ck_assert(wcscmp(out, NO_GROUP_SDDL) == 0);
    ck_assert_int_eq(pipe_server_sddl(USERS_SID, out, 320), 0);
    ck_assert_str_eq(utf8(out, buf, sizeof buf),
                     "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12018b;;;S-1-5-32-545)");
    /* The group's mask: FILE_GENERIC_READ | FILE_WRITE_DATA, nothing more. */
    ck_assert_uint_eq(PIPE_SERVER_READER_ACCESS,
                      FILE_GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES);
    ck_assert_uint_eq(PIPE_SERVER_READER_ACCESS & FILE_CREATE_PIPE_INSTANCE, 0);
    ck_assert_uint_eq(PIPE_SERVER_READER_ACCESS & (WRITE_DAC | WRITE_OWNER | DELETE), 0);
    /* A domain group's SID is longer; it must still fit the service's buffer. */
    ck_assert_int_eq(pipe_server_sddl(L"S-1-5-21-4294967295-4294967295-4294967295-4294967295",
                                      out, 320),
                     0);
    /* Not a string SID: refused, so nothing can be slipped into the DACL. */
    ck_assert_int_eq(pipe_server_sddl(L"BU", out, 320), -1);
    ck_assert_int_eq(pipe_server_sddl(L"S-1-5-32-545)(A;;GA;;;WD", out, 320), -1);
    ck_assert_int_eq(pipe_server_sddl(L"S-1-", out, 320), -1);
    /* Too small a buffer is an error, not a truncated descriptor. */
    ck_assert_int_eq(pipe_server_sddl(NULL, out, 10), -1);
    ck_assert_int_eq(pipe_server_sddl(USERS_SID, out, wcslen(NO_GROUP_SDDL) + 5), -1);
}
END_TEST

/* ---- the descriptor on the pipe itself --------------------------------------- */

START_TEST(dacl_without_group)
{
    char name[64], err[512];
    unique_name(name, sizeof name, "nogroup");
    struct pipe_server *ps = pipe_server_open(name, NULL, err, sizeof err);
    ck_assert_msg(ps != NULL, "pipe_server_open: %s", err);
    assert_every_instance(ps, "D:P(A;;GA;;;SY)(A;;GA;;;BA)");
    pipe_server_close(ps);

    /* "" means no group as well. */
    ps = pipe_server_open(name, "", err, sizeof err);
    ck_assert_msg(ps != NULL, "pipe_server_open: %s", err);
    wchar_t expected[320];
    char canon[512];
    ck_assert_int_eq(pipe_server_sddl(NULL, expected, 320), 0);
    canonical_sddl(expected, canon, sizeof canon);
    assert_every_instance(ps, canon);
    pipe_server_close(ps);
}
END_TEST

START_TEST(dacl_with_status_group)
{
    /* The SID as the test looks it up itself, independently of the server. */
    BYTE sid[SECURITY_MAX_SID_SIZE];
    wchar_t domain[256], *sid_text = NULL;
    DWORD sid_len = sizeof sid, domain_len = 256;
    SID_NAME_USE use;
    ck_assert_msg(LookupAccountNameW(NULL, L"Users", sid, &sid_len, domain, &domain_len, &use),
                  "LookupAccountNameW(Users): error %lu", (unsigned long)GetLastError());
    ck_assert(ConvertSidToStringSidW(sid, &sid_text));
    ck_assert(wcscmp(sid_text, USERS_SID) == 0);
    wchar_t expected[320];
    ck_assert_int_eq(pipe_server_sddl(sid_text, expected, 320), 0);
    LocalFree(sid_text);
    ck_assert(wcscmp(expected, USERS_SDDL) == 0);
    char canon[512];
    canonical_sddl(expected, canon, sizeof canon);
    ck_assert_str_eq(canon, "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12018b;;;BU)");

    /* Both spellings an administrator may write in the config. */
    const char *names[] = {"Users", "BUILTIN\\Users"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char name[64], err[512];
        unique_name(name, sizeof name, "group");
        struct pipe_server *ps = pipe_server_open(name, names[k], err, sizeof err);
        ck_assert_msg(ps != NULL, "pipe_server_open with status_group %s: %s", names[k], err);
        assert_every_instance(ps, canon);

        /* And the group's ACE itself: its SID and its exact mask. */
        PSECURITY_DESCRIPTOR sd = NULL;
        PACL dacl = NULL;
        ck_assert_uint_eq(GetSecurityInfo(pipe_server_handle(ps, 0), SE_KERNEL_OBJECT,
                                          DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                                          &sd),
                          ERROR_SUCCESS);
        ck_assert_uint_eq(dacl->AceCount, 3);
        ACCESS_ALLOWED_ACE *ace = NULL;
        ck_assert(GetAce(dacl, 2, (void **)&ace));
        ck_assert_uint_eq(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
        ck_assert_uint_eq(ace->Mask, 0x12018Bu);
        ck_assert(EqualSid((PSID)&ace->SidStart, sid));
        LocalFree(sd);
        pipe_server_close(ps);
    }
}
END_TEST

START_TEST(unknown_group_refused)
{
    char name[64], err[512];
    unique_name(name, sizeof name, "unknown");
    err[0] = '\0';
    struct pipe_server *ps =
        pipe_server_open(name, "nlbctl-no-such-group-7f3a", err, sizeof err);
    ck_assert_ptr_null(ps);
    const char *want =
        "status_group 'nlbctl-no-such-group-7f3a': no such group or user on this host: ";
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "message: %s", err);
    /* The Win32 text ends with the code: ERROR_NONE_MAPPED. */
    ck_assert_msg(strstr(err, "(1332)") != NULL, "message: %s", err);

    /* The same for a domain-qualified name. */
    ps = pipe_server_open(name, "NOSUCHDOMAIN7F3A\\ops", err, sizeof err);
    ck_assert_ptr_null(ps);
    want = "status_group 'NOSUCHDOMAIN7F3A\\ops': ";
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "message: %s", err);

    /* Nothing was left behind: the name is free for a good open. */
    ps = pipe_server_open(name, NULL, err, sizeof err);
    ck_assert_msg(ps != NULL, "pipe_server_open after a refused one: %s", err);
    pipe_server_close(ps);
}
END_TEST

/* ---- who may do what ----------------------------------------------------------- */

START_TEST(may_run_table)
{
    /* Status and history: anyone who could open the pipe. */
    ck_assert_int_eq(pipe_server_may_run(WIRE_STATUS_REQ, 0), 1);
    ck_assert_int_eq(pipe_server_may_run(WIRE_STATUS_REQ, 1), 1);
    ck_assert_int_eq(pipe_server_may_run(WIRE_HISTORY_REQ, 0), 1);
    /* A change: administrators and SYSTEM only. */
    ck_assert_int_eq(pipe_server_may_run(WIRE_SWITCHOVER_REQ, 0), 0);
    ck_assert_int_eq(pipe_server_may_run(WIRE_SWITCHOVER_REQ, 1), 1);
    /* Everything else a reader might send (link messages, answers, unknown
     * numbers) is not read-only, so the handler never sees it from a reader. */
    for (int t = 0; t <= 255; t++) {
        ck_assert_int_eq(pipe_server_may_run((uint8_t)t, 1), 1);
        if (t != WIRE_STATUS_REQ && t != WIRE_HISTORY_REQ)
            ck_assert_msg(pipe_server_may_run((uint8_t)t, 0) == 0,
                          "type %d (%s) runs for a non-administrator", t,
                          wire_type_name((uint8_t)t));
    }
}
END_TEST

/* ---- end to end through the pipe --------------------------------------------------- */

START_TEST(status_request_end_to_end)
{
    char name[64], err[512];
    unique_name(name, sizeof name, "status");
    struct pipe_server *ps = pipe_server_open(name, "Users", err, sizeof err);
    ck_assert_msg(ps != NULL, "pipe_server_open: %s", err);
    struct handler_log log = {0, 0};
    struct wire_msg req, reply;
    memset(&req, 0, sizeof req);
    req.type = WIRE_STATUS_REQ;
    req.id = 0x5157u;
    exchange(ps, name, &req, &reply, &log);
    ck_assert_int_eq(log.calls, 1);
    ck_assert_uint_eq(log.last_type, WIRE_STATUS_REQ);
    ck_assert_uint_eq(reply.type, WIRE_STATUS_REPLY);
    ck_assert_uint_eq(reply.id, 0x5157u);
    ck_assert_str_eq(reply.u.status.pair, "test-pair");
    ck_assert_uint_eq(reply.u.status.epoch, 42);
    pipe_server_close(ps);
}
END_TEST

/* Under Wine the client is an administrator, so the identity check must let
 * a switchover through to the handler: this runs client_identity for real
 * (impersonate, token, membership, revert) and shows it does not refuse an
 * administrator. The refusal itself: may_run_table here, lab.ps1 on Windows. */
START_TEST(admin_switchover_reaches_handler)
{
    char name[64], err[512];
    unique_name(name, sizeof name, "switch");
    struct pipe_server *ps = pipe_server_open(name, NULL, err, sizeof err);
    ck_assert_msg(ps != NULL, "pipe_server_open: %s", err);
    struct handler_log log = {0, 0};
    struct wire_msg req, reply;
    memset(&req, 0, sizeof req);
    req.type = WIRE_SWITCHOVER_REQ;
    req.id = 77;
    req.u.switchover_req.timeout_ms = 1000;
    exchange(ps, name, &req, &reply, &log);
    ck_assert_int_eq(log.calls, 1);
    ck_assert_uint_eq(log.last_type, WIRE_SWITCHOVER_REQ);
    ck_assert_uint_eq(reply.type, WIRE_RESULT);
    ck_assert_uint_eq(reply.id, 77);
    ck_assert_int_eq(reply.u.result.code, MODEL_OK);
    ck_assert_str_eq(reply.u.result.text, "handled SWITCHOVER_REQ");

    /* The thread is itself again: no impersonation token left behind. */
    HANDLE tok = NULL;
    BOOL has_token = OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &tok);
    DWORD e = GetLastError();
    if (has_token)
        CloseHandle(tok);
    ck_assert_msg(!has_token, "the thread still impersonates the client");
    ck_assert_uint_eq(e, ERROR_NO_TOKEN);
    pipe_server_close(ps);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("pipe_security");
    TCase *tc;

    tc = tcase_create("sddl_text");
    tcase_add_test(tc, sddl_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("dacl_without_group");
    tcase_add_test(tc, dacl_without_group);
    suite_add_tcase(s, tc);

    tc = tcase_create("dacl_with_status_group");
    tcase_add_test(tc, dacl_with_status_group);
    suite_add_tcase(s, tc);

    tc = tcase_create("unknown_group_refused");
    tcase_add_test(tc, unknown_group_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("may_run_table");
    tcase_add_test(tc, may_run_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("status_request_end_to_end");
    tcase_add_test(tc, status_request_end_to_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("admin_switchover_reaches_handler");
    tcase_add_test(tc, admin_switchover_reaches_handler);
    suite_add_tcase(s, tc);

    return s;
}
