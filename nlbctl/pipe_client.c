/* pipe_client.c - see pipe_client.h. */
#include "pipe_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "winutil.h"

#define BUSY_WAIT_MS 2000

static int open_pipe(const wchar_t *path, const char *name, HANDLE *out, char *err, size_t cap)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        /* Only what a request needs: a status-group member is granted no
         * more (GENERIC_WRITE would include creating pipe instances). */
        HANDLE h = CreateFileW(path, GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, 0,
                               NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            *out = h;
            return PIPE_CLIENT_OK;
        }
        DWORD e = GetLastError();
        if (e == ERROR_PIPE_BUSY && WaitNamedPipeW(path, BUSY_WAIT_MS))
            continue;
        char why[256];
        if (e == ERROR_FILE_NOT_FOUND) {
            snprintf(err, cap,
                     "nlbctld is not running (no pipe \\\\.\\pipe\\%s); start it with "
                     "'net start nlbctld' or check the pipe name with --pipe",
                     name);
            return PIPE_CLIENT_NOT_RUNNING;
        }
        if (e == ERROR_ACCESS_DENIED) {
            snprintf(err, cap,
                     "access denied to \\\\.\\pipe\\%s: run nlbctl as an administrator (or, to "
                     "read status, as a member of the configured status_group)", name);
            return PIPE_CLIENT_DENIED;
        }
        snprintf(err, cap, "cannot open \\\\.\\pipe\\%s: %s", name,
                 win_error_text(e, why, sizeof why));
        return e == ERROR_PIPE_BUSY ? PIPE_CLIENT_TIMEOUT : PIPE_CLIENT_FAILED;
    }
    snprintf(err, cap, "\\\\.\\pipe\\%s stayed busy; try again", name);
    return PIPE_CLIENT_TIMEOUT;
}

/* One overlapped read or write, bounded by deadline. */
static int transfer(HANDLE h, int writing, void *buf, DWORD len, DWORD *done, ULONGLONG deadline)
{
    /* On the heap: a cancelled read that does not end in time keeps it. */
    OVERLAPPED *ov = calloc(1, sizeof *ov);
    if (!ov)
        return PIPE_CLIENT_FAILED;
    ov->hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov->hEvent) {
        free(ov);
        return PIPE_CLIENT_FAILED;
    }
    BOOL ok = writing ? WriteFile(h, buf, len, NULL, ov) : ReadFile(h, buf, len, NULL, ov);
    int rc = PIPE_CLIENT_OK;
    if (!ok && GetLastError() != ERROR_IO_PENDING) {
        rc = PIPE_CLIENT_FAILED;
    } else {
        ULONGLONG now = GetTickCount64();
        DWORD wait = deadline > now ? (DWORD)(deadline - now) : 0;
        if (WaitForSingleObject(ov->hEvent, wait) != WAIT_OBJECT_0) {
            if (!win_cancel_io_bounded(h, ov, 1000))
                return PIPE_CLIENT_TIMEOUT; /* ov stays with the I/O */
            rc = PIPE_CLIENT_TIMEOUT;
        } else if (!GetOverlappedResult(h, ov, done, FALSE)) {
            rc = PIPE_CLIENT_FAILED;
        }
    }
    CloseHandle(ov->hEvent);
    free(ov);
    return rc;
}

int pipe_client_call(const char *name, const struct wire_msg *req, struct wire_msg *reply,
                     uint32_t timeout_ms, char *err, size_t cap)
{
    wchar_t wname[64], path[96];
    if (win_to_wide(name, wname, 64) != 0) {
        snprintf(err, cap, "pipe name '%s' is too long", name);
        return PIPE_CLIENT_FAILED;
    }
    swprintf(path, sizeof path / sizeof path[0], L"\\\\.\\pipe\\%ls", wname);
    HANDLE h;
    int rc = open_pipe(path, name, &h, err, cap);
    if (rc != PIPE_CLIENT_OK)
        return rc;
    DWORD mode = PIPE_READMODE_MESSAGE;
    SetNamedPipeHandleState(h, &mode, NULL, NULL);

    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    uint8_t buf[WIRE_MAX_FRAME];
    size_t len = 0;
    DWORD done = 0;
    if (wire_encode(req, buf, sizeof buf, &len) != WIRE_OK) {
        snprintf(err, cap, "internal: cannot encode the request");
        rc = PIPE_CLIENT_FAILED;
    } else if ((rc = transfer(h, 1, buf, (DWORD)len, &done, deadline)) != PIPE_CLIENT_OK) {
        snprintf(err, cap, "cannot send the request to nlbctld");
    } else if ((rc = transfer(h, 0, buf, sizeof buf, &done, deadline)) != PIPE_CLIENT_OK) {
        if (rc == PIPE_CLIENT_TIMEOUT)
            snprintf(err, cap, "nlbctld did not answer within %.1f s", timeout_ms / 1000.0);
        else
            snprintf(err, cap, "nlbctld closed the pipe without answering (is it stopping?)");
    } else {
        size_t used = 0;
        int d = wire_decode(buf, done, reply, &used);
        if (d != WIRE_OK || used != done || reply->id != req->id) {
            snprintf(err, cap, "nlbctld sent an answer this nlbctl cannot read (%s); are both "
                               "the same version?",
                     d == WIRE_OK ? "wrong request id" : wire_error_text(d));
            rc = PIPE_CLIENT_FAILED;
        }
    }
    CloseHandle(h);
    return rc;
}
