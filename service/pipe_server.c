/* pipe_server.c - see pipe_server.h. */
#include "pipe_server.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "winutil.h"

/* Protected DACL: full access for LocalSystem and Administrators, no one else. */
const wchar_t PIPE_SERVER_SDDL[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)";

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
        log_write(LOG_ERROR, "internal: cannot encode a %s answer", wire_type_name(r.type));
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

struct pipe_server *pipe_server_open(const char *name, char *err, size_t cap)
{
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
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(PIPE_SERVER_SDDL, SDDL_REVISION_1,
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
        log_write(LOG_WARNING, "refused a malformed request on the control pipe: %s",
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
                log_write(LOG_WARNING, "refused an oversized request on the control pipe");
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

