/* pipe_server.c - see pipe_server.h. */
#include "pipe_server.h"

#include <ctype.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "log.h"
#include "nlbctld_msg.h"
#include "winutil.h"

enum inst_state { INST_CONNECTING, INST_READING, INST_DEFERRED, INST_WRITING };

struct instance {
    HANDLE pipe;
    OVERLAPPED ov;
    int state;
    uint32_t serial;   /* grows per request, so stale tokens are refused */
    uint32_t req_id;   /* the id the answer must echo */
    uint8_t buf[WIRE_MAX_FRAME];
    DWORD len;
};

struct pipe_server {
    wchar_t path[128];
    struct instance inst[PIPE_SERVER_INSTANCES];
};

/* ---- who may do what --------------------------------------------------------- */

/* Requests that change nothing: served to anyone the DACL let in (SYSTEM,
 * Administrators, the status group). Keep this list short and obvious.
 * WIRE_HISTORY_REQ (nlbctl history) belongs here once it exists. */
static int request_is_read_only(uint8_t type)
{
    switch (type) {
    case WIRE_STATUS_REQ:
    case WIRE_HISTORY_REQ:
        return 1;
    default:
        return 0;
    }
}

/* The whole decision, pure so it can be tested: under Wine every process is
 * an administrator, so the refusal path can only be reached through this
 * table in unit tests (and for real in tests/windows/lab.ps1). */
static int may_run(uint8_t type, int client_is_admin)
{
    return client_is_admin || request_is_read_only(type);
}

int pipe_server_may_run(uint8_t type, int client_is_admin)
{
    return may_run(type, client_is_admin);
}

/* A string SID as ConvertSidToStringSidW writes it: S-1- then digits and
 * dashes. Anything else could change the SDDL's meaning. */
static int is_string_sid(const wchar_t *s)
{
    if (wcsncmp(s, L"S-1-", 4) != 0 || !s[4])
        return 0;
    for (const wchar_t *p = s + 4; *p; p++)
        if (!(*p >= L'0' && *p <= L'9') && *p != L'-')
            return 0;
    return 1;
}

int pipe_server_sddl(const wchar_t *group_sid, wchar_t *out, size_t cap)
{
    /* P: protected, nothing inherited. GA for LocalSystem and Administrators. */
    static const wchar_t base[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)";
    int n;
    if (!group_sid || !group_sid[0])
        n = swprintf(out, cap, L"%ls", base);
    else if (!is_string_sid(group_sid))
        return -1;
    else
        n = swprintf(out, cap, L"%ls(A;;0x%lx;;;%ls)", base,
                     (unsigned long)PIPE_SERVER_READER_ACCESS, group_sid);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Looks status_group up on this host and writes its string SID into sid
 * (cap wide chars). Returns 0, or -1 with a sentence in err. */
static int resolve_group(const char *group, wchar_t *sid, size_t cap, char *err, size_t ecap)
{
    wchar_t wgroup[512], domain[256];
    BYTE sid_buf[SECURITY_MAX_SID_SIZE];
    DWORD sid_len = sizeof sid_buf, domain_len = sizeof domain / sizeof domain[0];
    SID_NAME_USE use;
    char why[256];
    if (win_to_wide(group, wgroup, sizeof wgroup / sizeof wgroup[0]) != 0) {
        snprintf(err, ecap, "status_group '%s': the name is too long", group);
        return -1;
    }
    if (!LookupAccountNameW(NULL, wgroup, sid_buf, &sid_len, domain, &domain_len, &use)) {
        DWORD e = GetLastError();
        snprintf(err, ecap, "status_group '%s': %s: %s", group,
                 e == ERROR_NONE_MAPPED ? "no such group or user on this host"
                                        : "cannot look the name up (is its domain reachable?)",
                 win_error_text(e, why, sizeof why));
        return -1;
    }
    if (use != SidTypeUser && use != SidTypeGroup && use != SidTypeAlias &&
        use != SidTypeWellKnownGroup) {
        const char *what = use == SidTypeDomain     ? "domain"
                           : use == SidTypeComputer ? "computer"
                                                    : "deleted or unknown account";
        snprintf(err, ecap,
                 "status_group '%s': names a %s, not a group or user; give a group as GROUP "
                 "or DOMAIN\\GROUP",
                 group, what);
        return -1;
    }
    wchar_t *str = NULL;
    if (!ConvertSidToStringSidW(sid_buf, &str)) {
        snprintf(err, ecap, "status_group '%s': cannot convert its SID: %s", group,
                 win_error_text(GetLastError(), why, sizeof why));
        return -1;
    }
    int fits = wcslen(str) < cap;
    if (fits)
        wcscpy(sid, str);
    LocalFree(str);
    if (!fits) {
        snprintf(err, ecap, "status_group '%s': its SID is too long", group);
        return -1;
    }
    return 0;
}

/* Who is on the other end of pipe: *is_admin is 1 for a member of
 * Administrators (an elevated token: a filtered UAC token has the group
 * deny-only and does not count) or LocalSystem. The client's token is taken
 * while impersonating and the thread reverts before anything else happens.
 * who gets the client's SID and process id, for the log. Returns 0, or a
 * Win32 code (then *is_admin is 0: unknown counts as not an administrator). */
static DWORD client_identity(HANDLE pipe, int *is_admin, char *who, size_t cap)
{
    *is_admin = 0;
    ULONG pid = 0;
    GetNamedPipeClientProcessId(pipe, &pid);
    snprintf(who, cap, "pid %lu", (unsigned long)pid);

    if (!ImpersonateNamedPipeClient(pipe))
        return GetLastError();
    HANDLE tok = NULL;
    /* OpenAsSelf: open the thread's token with the service's own rights. */
    DWORD rc = OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &tok) ? 0 : GetLastError();
    if (!RevertToSelf()) {
        /* Carrying on would run the service as its client. */
        log_event(LOG_ERROR, MSG_INTERNAL_ERROR, "internal: cannot stop impersonating a pipe client (error %lu); "
                             "stopping",
                  (unsigned long)GetLastError());
        abort();
    }
    if (rc != 0)
        return rc;

    BYTE admins[SECURITY_MAX_SID_SIZE], system[SECURITY_MAX_SID_SIZE];
    DWORD admins_len = sizeof admins, system_len = sizeof system;
    BOOL in_admins = FALSE, is_system = FALSE;
    if (!CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &admins_len) ||
        !CreateWellKnownSid(WinLocalSystemSid, NULL, system, &system_len) ||
        !CheckTokenMembership(tok, admins, &in_admins) ||
        !CheckTokenMembership(tok, system, &is_system)) {
        rc = GetLastError();
        in_admins = is_system = FALSE;
    }
    *is_admin = in_admins || is_system;

    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } info;
    DWORD n = 0;
    wchar_t *wsid = NULL;
    if (GetTokenInformation(tok, TokenUser, &info, sizeof info, &n) &&
        ConvertSidToStringSidW(info.user.User.Sid, &wsid)) {
        char sid[192];
        if (win_to_utf8(wsid, sid, sizeof sid) == 0)
            snprintf(who, cap, "user %s, pid %lu", sid, (unsigned long)pid);
        LocalFree(wsid);
    }
    CloseHandle(tok);
    return rc;
}

/* "switchover" for WIRE_SWITCHOVER_REQ: the request as nlbctl's user knows it. */
static void request_word(uint8_t type, char *out, size_t cap)
{
    snprintf(out, cap, "%s", wire_type_name(type));
    size_t n = strlen(out);
    if (n > 4 && strcmp(out + n - 4, "_REQ") == 0)
        out[n - 4] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
}

/* ---- pipe instances ---------------------------------------------------------- */

static uint32_t token_of(int i, const struct instance *in)
{
    return (in->serial << 4) | (uint32_t)i;
}

static void start_connect(struct pipe_server *ps, int i);

/* Drops the client and waits for the next one. */
static void recycle(struct pipe_server *ps, int i)
{
    DisconnectNamedPipe(ps->inst[i].pipe);
    start_connect(ps, i);
}

static void start_read(struct pipe_server *ps, int i)
{
    struct instance *in = &ps->inst[i];
    in->state = INST_READING;
    ResetEvent(in->ov.hEvent);
    if (!ReadFile(in->pipe, in->buf, sizeof in->buf, NULL, &in->ov) &&
        GetLastError() != ERROR_IO_PENDING)
        recycle(ps, i);
}

static void start_write(struct pipe_server *ps, int i, const struct wire_msg *reply)
{
    struct instance *in = &ps->inst[i];
    struct wire_msg r = *reply;
    r.id = in->req_id;
    size_t len = 0;
    if (wire_encode(&r, in->buf, sizeof in->buf, &len) != WIRE_OK) {
        log_event(LOG_ERROR, MSG_INTERNAL_ERROR, "internal: cannot encode a %s answer", wire_type_name(r.type));
        recycle(ps, i);
        return;
    }
    in->state = INST_WRITING;
    ResetEvent(in->ov.hEvent);
    if (!WriteFile(in->pipe, in->buf, (DWORD)len, NULL, &in->ov) &&
        GetLastError() != ERROR_IO_PENDING)
        recycle(ps, i);
}

static void start_connect(struct pipe_server *ps, int i)
{
    struct instance *in = &ps->inst[i];
    in->state = INST_CONNECTING;
    ResetEvent(in->ov.hEvent);
    if (ConnectNamedPipe(in->pipe, &in->ov))
        return; /* the event is signalled */
    DWORD e = GetLastError();
    if (e == ERROR_PIPE_CONNECTED)
        SetEvent(in->ov.hEvent); /* a client slipped in before the call */
    else if (e != ERROR_IO_PENDING)
        log_write(LOG_ERROR, "pipe instance %d cannot wait for clients (error %lu)", i,
                  (unsigned long)e);
}

struct pipe_server *pipe_server_open(const char *name, const char *status_group, char *err,
                                     size_t cap)
{
    int has_group = status_group && status_group[0];
    wchar_t group_sid[192] = L"", sddl[320];
    if (has_group && resolve_group(status_group, group_sid, sizeof group_sid / sizeof group_sid[0],
                                   err, cap) != 0)
        return NULL;
    if (pipe_server_sddl(group_sid, sddl, sizeof sddl / sizeof sddl[0]) != 0) {
        snprintf(err, cap, "internal: the pipe's security descriptor does not fit");
        return NULL;
    }
    struct pipe_server *ps = calloc(1, sizeof *ps);
    if (!ps) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    wchar_t wname[64];
    if (win_to_wide(name, wname, 64) != 0) {
        snprintf(err, cap, "pipe name '%s' is not usable", name);
        free(ps);
        return NULL;
    }
    swprintf(ps->path, sizeof ps->path / sizeof ps->path[0], L"\\\\.\\pipe\\%ls", wname);

    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                              &sa.lpSecurityDescriptor, NULL)) {
        char why[256];
        snprintf(err, cap, "cannot build the pipe's security descriptor: %s",
                 win_error_text(GetLastError(), why, sizeof why));
        free(ps);
        return NULL;
    }
    for (int i = 0; i < PIPE_SERVER_INSTANCES; i++) {
        struct instance *in = &ps->inst[i];
        in->serial = 1;
        /* The first instance must be ours: if another process already owns
         * the name, a client could be talking to an impostor. */
        DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                          (i == 0 ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
        in->pipe = CreateNamedPipeW(ps->path, open_mode,
                                    PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                                        PIPE_REJECT_REMOTE_CLIENTS,
                                    PIPE_SERVER_INSTANCES, WIRE_MAX_FRAME, WIRE_MAX_FRAME, 0, &sa);
        in->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (in->pipe == INVALID_HANDLE_VALUE || !in->ov.hEvent) {
            char why[256];
            DWORD e = GetLastError();
            snprintf(err, cap, "cannot create pipe \\\\.\\pipe\\%s: %s%s", name,
                     win_error_text(e, why, sizeof why),
                     e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY
                         ? " - is another nlbctld using this pipe name?"
                         : "");
            LocalFree(sa.lpSecurityDescriptor);
            pipe_server_close(ps);
            return NULL;
        }
    }
    LocalFree(sa.lpSecurityDescriptor);
    for (int i = 0; i < PIPE_SERVER_INSTANCES; i++)
        start_connect(ps, i);
    if (has_group) {
        char sid[192];
        win_to_utf8(group_sid, sid, sizeof sid);
        log_write(LOG_INFO, "control pipe \\\\.\\pipe\\%s: SYSTEM and Administrators may "
                            "do everything; status_group '%s' (%s) may read status",
                  name, status_group, sid);
    } else {
        log_write(LOG_INFO, "control pipe \\\\.\\pipe\\%s: SYSTEM and Administrators only "
                            "(no status_group)",
                  name);
    }
    return ps;
}

/* Answers every deferred request with ABORTED, then closes. No
 * DisconnectNamedPipe here: it would throw away answers the clients have not
 * read yet; closing our end lets them read, then see the pipe broken. */
void pipe_server_close(struct pipe_server *ps)
{
    if (!ps)
        return;
    struct wire_msg bye;
    memset(&bye, 0, sizeof bye);
    bye.type = WIRE_RESULT;
    bye.u.result.code = MODEL_ERR_ABORTED;
    snprintf(bye.u.result.text, sizeof bye.u.result.text, "%s",
             model_result_text(MODEL_ERR_ABORTED));
    for (int i = 0; i < PIPE_SERVER_INSTANCES; i++) {
        struct instance *in = &ps->inst[i];
        if (in->state == INST_DEFERRED)
            start_write(ps, i, &bye);
    }
    for (int i = 0; i < PIPE_SERVER_INSTANCES; i++) {
        struct instance *in = &ps->inst[i];
        if (in->pipe && in->pipe != INVALID_HANDLE_VALUE) {
            if (in->state != INST_WRITING)
                CancelIo(in->pipe);
            else
                WaitForSingleObject(in->ov.hEvent, 1000); /* small answers: at once */
            CloseHandle(in->pipe);
        }
        if (in->ov.hEvent)
            CloseHandle(in->ov.hEvent);
    }
    free(ps);
}

int pipe_server_events(const struct pipe_server *ps, HANDLE *events)
{
    for (int i = 0; i < PIPE_SERVER_INSTANCES; i++)
        events[i] = ps->inst[i].ov.hEvent;
    return PIPE_SERVER_INSTANCES;
}

static void on_request(struct pipe_server *ps, int i, DWORD len, pipe_request_fn fn, void *ctx)
{
    struct instance *in = &ps->inst[i];
    struct wire_msg req, reply;
    size_t used = 0;
    memset(&reply, 0, sizeof reply);
    int rc = wire_decode(in->buf, len, &req, &used);
    in->serial++;
    if (rc != WIRE_OK || used != len) {
        log_event(LOG_WARNING, MSG_REQUEST_REFUSED,
                  "refused a malformed request on the control pipe: %s",
                  rc == WIRE_OK ? "trailing bytes" : wire_error_text(rc));
        in->req_id = 0;
        reply.type = WIRE_RESULT;
        reply.u.result.code = MODEL_ERR_BAD_REQUEST;
        snprintf(reply.u.result.text, sizeof reply.u.result.text, "malformed request: %s",
                 rc == WIRE_OK ? "trailing bytes" : wire_error_text(rc));
        start_write(ps, i, &reply);
        return;
    }
    in->req_id = req.id;
    /* The client's identity before the handler sees anything. */
    int admin = 0;
    char who[256];
    DWORD id_rc = client_identity(in->pipe, &admin, who, sizeof who);
    if (!may_run(req.type, admin)) {
        char word[32];
        request_word(req.type, word, sizeof word);
        if (id_rc != 0) {
            char why[256];
            log_write(LOG_WARNING, "cannot tell who sent a %s request on the control pipe (%s): %s",
                      wire_type_name(req.type), who, win_error_text(id_rc, why, sizeof why));
        }
        log_event(LOG_WARNING, MSG_REQUEST_REFUSED,
                  "refused a %s request on the control pipe from a client that is not an "
                  "administrator (%s)",
                  wire_type_name(req.type), who);
        reply.type = WIRE_RESULT;
        reply.u.result.code = PIPE_RESULT_ACCESS_DENIED;
        snprintf(reply.u.result.text, sizeof reply.u.result.text,
                 "access denied: %s needs an administrator; members of the status group may "
                 "only read status",
                 word);
        start_write(ps, i, &reply);
        return;
    }
    if (fn(ctx, token_of(i, in), &req, &reply) == PIPE_ANSWER_LATER) {
        in->state = INST_DEFERRED;
        ResetEvent(in->ov.hEvent);
        return;
    }
    start_write(ps, i, &reply);
}

void pipe_server_service(struct pipe_server *ps, int i, pipe_request_fn fn, void *ctx)
{
    struct instance *in = &ps->inst[i];
    DWORD n = 0;
    BOOL ok = GetOverlappedResult(in->pipe, &in->ov, &n, FALSE);
    switch (in->state) {
    case INST_CONNECTING:
        if (ok || GetLastError() == ERROR_PIPE_CONNECTED)
            start_read(ps, i);
        else
            recycle(ps, i);
        break;
    case INST_READING:
        if (!ok) {
            /* ERROR_BROKEN_PIPE: the client is done; ERROR_MORE_DATA: a
             * message over the frame limit. Either way, next client. */
            if (GetLastError() == ERROR_MORE_DATA)
                log_event(LOG_WARNING, MSG_REQUEST_REFUSED,
                          "refused an oversized request on the control pipe");
            recycle(ps, i);
        } else {
            on_request(ps, i, n, fn, ctx);
        }
        break;
    case INST_WRITING:
        /* Wait for the client's next request or its close: disconnecting now
         * could throw away the answer before the client has read it. */
        if (ok)
            start_read(ps, i);
        else
            recycle(ps, i);
        break;
    default:
        ResetEvent(in->ov.hEvent);
        break;
    }
}

void pipe_server_reply(struct pipe_server *ps, uint32_t token, const struct wire_msg *reply)
{
    int i = (int)(token & 0xF);
    if (i >= PIPE_SERVER_INSTANCES)
        return;
    struct instance *in = &ps->inst[i];
    if (in->state != INST_DEFERRED || token_of(i, in) != token)
        return;
    start_write(ps, i, reply);
}

HANDLE pipe_server_handle(const struct pipe_server *ps, int i)
{
    if (!ps || i < 0 || i >= PIPE_SERVER_INSTANCES)
        return INVALID_HANDLE_VALUE;
    return ps->inst[i].pipe;
}
