/* winutil.c - see winutil.h. */
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>

int win_to_wide(const char *utf8, wchar_t *out, size_t cap)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, out, (int)cap);
    if (n <= 0) {
        if (cap)
            out[0] = L'\0';
        return -1;
    }
    return 0;
}

int win_to_utf8(const wchar_t *wide, char *out, size_t cap)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, out, (int)cap, NULL, NULL);
    if (n <= 0) {
        if (cap)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

const char *win_error_text(DWORD code, char *buf, size_t cap)
{
    wchar_t wide[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             code, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), wide,
                             sizeof wide / sizeof wide[0], NULL);
    /* Windows ends its messages with ".\r\n": keep the sentence, drop the break. */
    while (n > 0 && (wide[n - 1] == L'\r' || wide[n - 1] == L'\n' || wide[n - 1] == L' '))
        wide[--n] = L'\0';
    char text[512];
    if (n == 0 || win_to_utf8(wide, text, sizeof text) != 0)
        snprintf(buf, cap, "Windows error %lu", (unsigned long)code);
    else
        snprintf(buf, cap, "%s (%lu)", text, (unsigned long)code);
    return buf;
}

char *win_read_file(const char *path, size_t max, size_t *len, DWORD *error)
{
    wchar_t wpath[MAX_PATH];
    if (win_to_wide(path, wpath, MAX_PATH) != 0) {
        *error = ERROR_FILENAME_EXCED_RANGE;
        return NULL;
    }
    HANDLE h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        *error = GetLastError();
        return NULL;
    }
    char *data = NULL;
    LARGE_INTEGER size;
    if (!GetFileSizeEx(h, &size)) {
        *error = GetLastError();
        goto out;
    }
    if ((unsigned long long)size.QuadPart > max) {
        *error = ERROR_FILE_TOO_LARGE;
        goto out;
    }
    data = malloc((size_t)size.QuadPart + 1);
    if (!data) {
        *error = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    DWORD got = 0;
    if (!ReadFile(h, data, (DWORD)size.QuadPart, &got, NULL)) {
        *error = GetLastError();
        free(data);
        data = NULL;
        goto out;
    }
    data[got] = '\0';
    *len = got;
    *error = ERROR_SUCCESS;
out:
    CloseHandle(h);
    return data;
}

DWORD win_write_file_atomic(const char *path, const void *data, size_t len)
{
    wchar_t wpath[MAX_PATH], wtmp[MAX_PATH + 8];
    if (win_to_wide(path, wpath, MAX_PATH) != 0)
        return ERROR_FILENAME_EXCED_RANGE;
    swprintf(wtmp, sizeof wtmp / sizeof wtmp[0], L"%ls.tmp", wpath);
    HANDLE h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError();
    DWORD put = 0, rc = ERROR_SUCCESS;
    if (!WriteFile(h, data, (DWORD)len, &put, NULL) || put != len)
        rc = GetLastError() ? GetLastError() : ERROR_WRITE_FAULT;
    else if (!FlushFileBuffers(h))
        rc = GetLastError();
    CloseHandle(h);
    if (rc == ERROR_SUCCESS &&
        !MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        rc = GetLastError();
    if (rc != ERROR_SUCCESS)
        DeleteFileW(wtmp);
    return rc;
}

unsigned long long win_now_ms(void) { return GetTickCount64(); }

int win_cancel_io_bounded(HANDLE h, OVERLAPPED *ov, DWORD wait_ms)
{
    CancelIoEx(h, ov);
    if (WaitForSingleObject(ov->hEvent, wait_ms) != WAIT_OBJECT_0)
        return 0;
    DWORD done;
    GetOverlappedResult(h, ov, &done, FALSE);
    return 1;
}
