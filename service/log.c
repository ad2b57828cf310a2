/* log.c - see log.h. One process-wide log; the service has one thread that
 * logs, plus the SCM handler which never does, so no lock is needed beyond
 * the one WriteFile already takes. */
#include "log.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "winutil.h"

static HANDLE log_file = INVALID_HANDLE_VALUE;
static int log_stderr = 1;

unsigned long log_open(const char *path, int to_stderr)
{
    log_stderr = to_stderr;
    wchar_t wpath[MAX_PATH];
    if (!path || !path[0] || win_to_wide(path, wpath, MAX_PATH) != 0)
        return ERROR_INVALID_NAME;
    log_file = CreateFileW(wpath, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (log_file == INVALID_HANDLE_VALUE) {
        log_stderr = 1;
        return GetLastError();
    }
    return 0;
}

void log_close(void)
{
    if (log_file != INVALID_HANDLE_VALUE)
        CloseHandle(log_file);
    log_file = INVALID_HANDLE_VALUE;
}

static const char *level_name(int level)
{
    switch (level) {
    case LOG_WARNING: return "WARNING";
    case LOG_ERROR: return "ERROR";
    default: return "INFO";
    }
}

void log_write(int level, const char *fmt, ...)
{
    SYSTEMTIME t;
    GetLocalTime(&t);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04u-%02u-%02u %02u:%02u:%02u.%03u %-7s ", t.wYear,
                     t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds,
                     level_name(level));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 2, fmt, ap);
    va_end(ap);
    /* A long line is cut: terminate it ourselves (old MSVCRT may not) and
     * not inside a character, so the log stays valid UTF-8. */
    line[sizeof line - 3] = '\0';
    size_t len = utf8_trim_partial(line);
    line[len++] = '\r';
    line[len++] = '\n';
    if (log_file != INVALID_HANDLE_VALUE) {
        DWORD put;
        WriteFile(log_file, line, (DWORD)len, &put, NULL);
    }
    if (log_stderr) {
        fwrite(line, 1, len - 2, stderr);
        fputc('\n', stderr);
        fflush(stderr);
    }
}
