/* log.c - see log.h. One process-wide log; the service has one thread that
 * logs, plus the SCM handler which never does, so no lock is needed beyond
 * the one WriteFile already takes. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "nlbctld_msg.h"
#include "utf8.h"
#include "winutil.h"

#define EVENT_SOURCE L"nlbctld"
#define EVENT_SOURCE_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\nlbctld"

static HANDLE log_file = INVALID_HANDLE_VALUE;
static int log_stderr = 1;
static HANDLE event_source;    /* NULL: no Event Log (console mode, or given up) */
static int event_source_checked; /* the registration was looked at (once) */
static DWORD event_open_error;   /* RegisterEventSourceW failed with this; not said yet */

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

/* One line to the file and stderr; never to the Event Log. */
static void put_line(int level, const char *text)
{
    SYSTEMTIME t;
    GetLocalTime(&t);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04u-%02u-%02u %02u:%02u:%02u.%03u %-7s %s", t.wYear,
                     t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds,
                     level_name(level), text);
    /* A long line is cut: terminate it ourselves (old MSVCRT may not) and
     * not inside a character, so the log stays valid UTF-8 for its readers
     * (Event Viewer, scripts decoding it strictly). */
    line[sizeof line - 3] = '\0';
    size_t len = n >= 0 && (size_t)n < sizeof line - 3 ? (size_t)n : utf8_trim_partial(line);
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

void log_eventlog_open(void)
{
    if (!event_source) {
        event_source = RegisterEventSourceW(NULL, EVENT_SOURCE);
        /* Said at the first event, when the log file is open. */
        event_open_error = event_source ? 0 : GetLastError();
    }
    event_source_checked = 0;
}

void log_eventlog_close(void)
{
    if (event_source)
        DeregisterEventSource(event_source);
    event_source = NULL;
}

static WORD event_type(int level)
{
    return level == LOG_ERROR     ? EVENTLOG_ERROR_TYPE
           : level == LOG_WARNING ? EVENTLOG_WARNING_TYPE
                                  : EVENTLOG_INFORMATION_TYPE;
}

static void report(int level, unsigned long id, const char *text)
{
    if (!event_source) {
        if (event_open_error) {
            char why[256], line[400];
            snprintf(line, sizeof line, "cannot open the Event Log: %s; logging to this file only",
                     win_error_text(event_open_error, why, sizeof why));
            event_open_error = 0;
            put_line(LOG_WARNING, line);
        }
        return;
    }
    if (!event_source_checked) {
        /* Windows takes events from an unregistered source, but Event
         * Viewer cannot show their text: say once how to fix that. */
        event_source_checked = 1;
        HKEY key;
        if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, EVENT_SOURCE_KEY, 0, KEY_QUERY_VALUE, &key) ==
            ERROR_SUCCESS)
            RegCloseKey(key);
        else
            put_line(LOG_WARNING, "the Event Log source nlbctld is not registered (nlbctld was "
                                  "not installed with nlbctl-setup.exe or nlbctl.msi): Event "
                                  "Viewer shows nlbctld's events without their descriptions");
    }
    wchar_t wide[1024];
    if (MultiByteToWideChar(CP_UTF8, 0, text, -1, wide, 1024) == 0)
        wcscpy(wide, L"(this event's text is not valid UTF-8; see nlbctld.log)");
    const wchar_t *strings[1] = {wide};
    if (!ReportEventW(event_source, event_type(level), 0, (DWORD)id, NULL, 1, 0, strings, NULL)) {
        char why[256], line[400];
        snprintf(line, sizeof line, "cannot write to the Event Log: %s; logging to this file "
                                    "only from now on",
                 win_error_text(GetLastError(), why, sizeof why));
        log_eventlog_close();
        put_line(LOG_WARNING, line);
    }
}

static void vlog(int level, unsigned long id, int own_id, const char *fmt, va_list ap)
{
    char text[1000];
    utf8_vformat(text, sizeof text, fmt, ap);
    put_line(level, text);
    if (own_id || level != LOG_INFO)
        report(level, id, text);
}

void log_event(int level, unsigned long id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, id, 1, fmt, ap);
    va_end(ap);
}

void log_write(int level, const char *fmt, ...)
{
    unsigned long id = level == LOG_ERROR     ? MSG_OTHER_ERROR
                       : level == LOG_WARNING ? MSG_OTHER_WARNING
                                              : MSG_OTHER_INFO;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, id, 0, fmt, ap);
    va_end(ap);
}
