/* app_monitor.c - see app_monitor.h. */
#include "app_monitor.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tlhelp32.h>

#include "log.h"
#include "nlbctld_msg.h"
#include "winutil.h"

#define RESTART_DELAY_MS 1000

struct app_monitor {
    int is_service;
    int healthy;
    char description[CONFIG_PATH_MAX + 64];
    /* process */
    wchar_t path[MAX_PATH];
    wchar_t cmdline[MAX_PATH + 520];
    int start_it;
    int started_by_us;
    HANDLE process; /* NULL when not running */
    DWORD pid;
    unsigned long long restart_at;
    /* service */
    SC_HANDLE scm, service;
    SERVICE_NOTIFYW notify;
    HANDLE notify_event; /* signalled by the APC */
    volatile LONG notified;
    DWORD service_state;
    int notify_armed;
};

/* ---- process --------------------------------------------------------------- */

static int same_path(const wchar_t *a, const wchar_t *b)
{
    return CompareStringOrdinal(a, -1, b, -1, TRUE) == CSTR_EQUAL;
}

/* Looks for a running process whose image is m->path. */
static void find_process(struct app_monitor *m)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return;
    PROCESSENTRY32W pe;
    pe.dwSize = sizeof pe;
    for (BOOL ok = Process32FirstW(snap, &pe); ok && !m->process; ok = Process32NextW(snap, &pe)) {
        HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                               pe.th32ProcessID);
        if (!h)
            continue;
        wchar_t image[MAX_PATH];
        DWORD len = MAX_PATH;
        if (QueryFullProcessImageNameW(h, 0, image, &len) && same_path(image, m->path)) {
            m->process = h;
            m->pid = pe.th32ProcessID;
            m->started_by_us = 0;
        } else {
            CloseHandle(h);
        }
    }
    CloseHandle(snap);
}

static void start_process(struct app_monitor *m)
{
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    wchar_t cmd[sizeof m->cmdline / sizeof m->cmdline[0]];
    wcscpy(cmd, m->cmdline); /* CreateProcessW may write to it */
    if (!CreateProcessW(m->path, cmd, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
        char why[256];
        log_event(LOG_ERROR, MSG_APP_START_FAILED, "cannot start the application %s: %s",
                  m->description,
                  win_error_text(GetLastError(), why, sizeof why));
        return;
    }
    CloseHandle(pi.hThread);
    m->process = pi.hProcess;
    m->pid = pi.dwProcessId;
    m->started_by_us = 1;
    log_event(LOG_INFO, MSG_APP_STARTED, "started the application %s (pid %lu)", m->description,
              (unsigned long)m->pid);
}

static int check_process(struct app_monitor *m, unsigned long long now)
{
    if (m->process && WaitForSingleObject(m->process, 0) == WAIT_OBJECT_0) {
        DWORD code = 0;
        GetExitCodeProcess(m->process, &code);
        log_event(LOG_ERROR, MSG_APP_EXITED, "the application %s (pid %lu) exited with code %lu",
                  m->description, (unsigned long)m->pid, (unsigned long)code);
        CloseHandle(m->process);
        m->process = NULL;
        m->restart_at = now + RESTART_DELAY_MS;
    }
    if (!m->process) {
        find_process(m);
        if (!m->process && m->start_it && now >= m->restart_at)
            start_process(m);
    }
    return m->process != NULL;
}

/* ---- service ----------------------------------------------------------------- */

/* Runs as an APC on the main thread; its argument is the SERVICE_NOTIFY
 * buffer we registered, whose pContext is the monitor. */
static void CALLBACK service_changed(PVOID param)
{
    struct app_monitor *m = ((SERVICE_NOTIFYW *)param)->pContext;
    InterlockedExchange(&m->notified, 1);
    m->notify_armed = 0; /* one notification per registration */
    SetEvent(m->notify_event);
}

/* Asks for the states the service is not in: a state it is already in
 * would fire at once, and again after every re-arm. */
static void arm_notify(struct app_monitor *m, int running)
{
    memset(&m->notify, 0, sizeof m->notify);
    m->notify.dwVersion = SERVICE_NOTIFY_STATUS_CHANGE;
    m->notify.pfnNotifyCallback = service_changed;
    m->notify.pContext = m;
    DWORD mask = running ? SERVICE_NOTIFY_STOPPED | SERVICE_NOTIFY_STOP_PENDING |
                               SERVICE_NOTIFY_PAUSED | SERVICE_NOTIFY_DELETE_PENDING
                         : SERVICE_NOTIFY_RUNNING | SERVICE_NOTIFY_DELETE_PENDING;
    DWORD rc = NotifyServiceStatusChangeW(m->service, mask, &m->notify);
    m->notify_armed = rc == ERROR_SUCCESS;
    if (rc != ERROR_SUCCESS && rc != ERROR_SERVICE_MARKED_FOR_DELETE) {
        char why[256];
        log_write(LOG_WARNING, "cannot watch %s for changes: %s", m->description,
                  win_error_text(rc, why, sizeof why));
    }
}

static int check_service(struct app_monitor *m)
{
    SERVICE_STATUS st;
    ResetEvent(m->notify_event);
    InterlockedExchange(&m->notified, 0);
    if (!QueryServiceStatus(m->service, &st))
        st.dwCurrentState = SERVICE_STOPPED;
    if (st.dwCurrentState != m->service_state)
        log_event(st.dwCurrentState == SERVICE_RUNNING ? LOG_INFO : LOG_ERROR,
                  st.dwCurrentState == SERVICE_RUNNING ? MSG_APP_STARTED : MSG_APP_EXITED,
                  "the application %s is %s", m->description,
                  st.dwCurrentState == SERVICE_RUNNING ? "running" : "not running");
    m->service_state = st.dwCurrentState;
    /* A notification is one-shot: ask for the next one once it has fired
     * (a second registration while one is pending is refused). */
    if (!m->notify_armed)
        arm_notify(m, st.dwCurrentState == SERVICE_RUNNING);
    return st.dwCurrentState == SERVICE_RUNNING;
}

/* ---- interface --------------------------------------------------------------- */

struct app_monitor *app_monitor_open(const struct config *cfg, char *err, size_t cap)
{
    err[0] = '\0';
    if (!cfg->app_service[0] && !cfg->app_path[0])
        return NULL;
    struct app_monitor *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    char why[256];
    if (cfg->app_service[0]) {
        m->is_service = 1;
        snprintf(m->description, sizeof m->description, "service %s", cfg->app_service);
        wchar_t name[257];
        win_to_wide(cfg->app_service, name, 257);
        m->scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
        m->service = m->scm ? OpenServiceW(m->scm, name, SERVICE_QUERY_STATUS) : NULL;
        m->notify_event = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (!m->service || !m->notify_event) {
            snprintf(err, cap, "[application] service: cannot open service '%s': %s",
                     cfg->app_service, win_error_text(GetLastError(), why, sizeof why));
            app_monitor_close(m);
            return NULL;
        }
        m->service_state = 0;
    } else {
        utf8_copy(m->description, sizeof m->description, cfg->app_path);
        if (win_to_wide(cfg->app_path, m->path, MAX_PATH) != 0) {
            snprintf(err, cap, "[application] path: '%s' is not a usable path", cfg->app_path);
            free(m);
            return NULL;
        }
        wchar_t args[512];
        win_to_wide(cfg->app_args, args, 512);
        swprintf(m->cmdline, sizeof m->cmdline / sizeof m->cmdline[0], L"\"%ls\"%ls%ls", m->path,
                 args[0] ? L" " : L"", args);
        m->start_it = cfg->app_start;
        if (GetFileAttributesW(m->path) == INVALID_FILE_ATTRIBUTES && m->start_it) {
            snprintf(err, cap, "[application] path: '%s': %s", cfg->app_path,
                     win_error_text(GetLastError(), why, sizeof why));
            free(m);
            return NULL;
        }
    }
    int changed = 0;
    m->healthy = -1;
    app_monitor_check(m, GetTickCount64(), &changed);
    return m;
}

void app_monitor_close(struct app_monitor *m)
{
    if (!m)
        return;
    /* The application keeps running: this service watches it, it does not
     * own its life. */
    if (m->process)
        CloseHandle(m->process);
    if (m->service)
        CloseServiceHandle(m->service); /* also cancels a pending notification */
    if (m->scm)
        CloseServiceHandle(m->scm);
    if (m->notify_event) {
        SleepEx(0, TRUE); /* let a queued APC run before its context goes */
        CloseHandle(m->notify_event);
    }
    free(m);
}

HANDLE app_monitor_handle(const struct app_monitor *m)
{
    if (!m)
        return NULL;
    return m->is_service ? m->notify_event : m->process;
}

int app_monitor_check(struct app_monitor *m, unsigned long long now_ms, int *changed)
{
    int healthy = m->is_service ? check_service(m) : check_process(m, now_ms);
    *changed = healthy != m->healthy;
    m->healthy = healthy;
    return healthy;
}

int app_monitor_tick(struct app_monitor *m, unsigned long long now_ms, int *changed)
{
    /* Only a process that is not running needs time: to be found or started
     * again. Death itself is never learnt here. */
    if (!m->is_service && !m->process)
        return app_monitor_check(m, now_ms, changed);
    *changed = 0;
    return m->healthy;
}

const char *app_monitor_describe(const struct app_monitor *m) { return m->description; }
