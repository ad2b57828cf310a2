/* status_publisher.c - see status_publisher.h. */
#include "wmi_client.h" /* before windows.h: COBJMACROS */
#include "status_publisher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nlbctld_msg.h"
#include "status_class.h"
#include "winutil.h"

#define ROWS_MAX 2          /* a coordinator's two nodes; an agent's one */
#define RETRY_MS 60000u     /* after WMI refused: try again at most this often */
#define STOP_WAIT_MS 2000u

struct status_publisher {
    HANDLE thread;
    HANDLE stop;
    HANDLE wake; /* auto-reset: new rows to write */
    CRITICAL_SECTION lock;
    /* Under lock: the newest rows, and what became of the last write. */
    struct status_class_row rows[ROWS_MAX];
    unsigned count;
    unsigned long outcome_seq; /* bumped by the thread at each change of outcome */
    int outcome_ok;
    char outcome_text[512];
    /* The event loop's own: what it last handed over and last logged. */
    struct status_class_row sent[ROWS_MAX];
    unsigned sent_count;
    uint64_t transition_at;     /* win_now_ms() clock */
    uint64_t transition_unix_ms;
    unsigned long seen_seq;
    int warned;    /* event 19 said, once per run */
    int published; /* the last outcome seen was a success */
};

static uint64_t unix_now_ms(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
    return t / 10000u - 11644473600000ull;
}

/* One round of writes; S_OK or the failure with a sentence in err. */
static HRESULT write_rows(struct wmi **wmi, const struct status_class_row *rows, unsigned n,
                          char *err, size_t cap)
{
    HRESULT hr = S_OK;
    if (!*wmi)
        hr = wmi_connect(STATUS_CLASS_NAMESPACE, wmi, err, cap);
    for (unsigned i = 0; i < n && SUCCEEDED(hr); i++) {
        struct status_class_property p[STATUS_CLASS_PROPERTIES];
        struct wmi_arg args[STATUS_CLASS_PROPERTIES];
        size_t nargs = 0;
        status_class_properties(&rows[i], p);
        for (int k = 0; k < STATUS_CLASS_PROPERTIES; k++) {
            /* Empty is "no value": NULL in WMI (a datetime cannot be ""). */
            if (!p[k].value[0])
                continue;
            args[nargs].name = p[k].name;
            args[nargs].type = WMI_ARG_STRING;
            args[nargs].s = p[k].value;
            args[nargs].u = 0;
            nargs++;
        }
        hr = wmi_put_instance(*wmi, STATUS_CLASS_NAME, args, nargs, err, cap);
    }
    if (FAILED(hr)) {
        wmi_close(*wmi);
        *wmi = NULL;
    }
    return hr;
}

static void set_outcome(struct status_publisher *p, int ok, const char *text)
{
    EnterCriticalSection(&p->lock);
    if (p->outcome_seq == 0 || p->outcome_ok != ok) {
        p->outcome_ok = ok;
        snprintf(p->outcome_text, sizeof p->outcome_text, "%s", text);
        p->outcome_seq++;
    }
    LeaveCriticalSection(&p->lock);
}

static DWORD WINAPI worker(void *arg)
{
    struct status_publisher *p = arg;
    static struct status_class_row rows[ROWS_MAX]; /* one worker per process */
    struct wmi *wmi = NULL;
    uint64_t retry_at = 0; /* 0: no backoff */
    int dirty = 0;
    HRESULT co = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    for (;;) {
        DWORD wait = INFINITE;
        uint64_t now = win_now_ms();
        if (dirty && retry_at)
            wait = retry_at > now ? (DWORD)(retry_at - now) : 0;
        HANDLE hs[2] = {p->stop, p->wake};
        DWORD w = WaitForMultipleObjects(2, hs, FALSE, wait);
        if (w == WAIT_OBJECT_0 || w == WAIT_FAILED)
            break;
        if (w == WAIT_OBJECT_0 + 1)
            dirty = 1;
        if (!dirty || (retry_at && win_now_ms() < retry_at))
            continue;
        EnterCriticalSection(&p->lock);
        unsigned n = p->count;
        memcpy(rows, p->rows, sizeof rows);
        LeaveCriticalSection(&p->lock);
        char err[512];
        HRESULT hr = FAILED(co) ? co : write_rows(&wmi, rows, n, err, sizeof err);
        if (FAILED(co))
            snprintf(err, sizeof err, "COM cannot be initialised (0x%08lX)",
                     (unsigned long)(uint32_t)co);
        dirty = 0;
        if (FAILED(hr)) {
            retry_at = win_now_ms() + RETRY_MS;
            dirty = 1; /* the newest status is still unwritten */
            set_outcome(p, 0, err);
        } else {
            retry_at = 0;
            set_outcome(p, 1, "");
        }
    }
    wmi_close(wmi);
    if (SUCCEEDED(co))
        CoUninitialize();
    return 0;
}

struct status_publisher *status_publisher_start(void)
{
    struct status_publisher *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    InitializeCriticalSection(&p->lock);
    p->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    p->wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (p->stop && p->wake)
        p->thread = CreateThread(NULL, 0, worker, p, 0, NULL);
    if (!p->thread) {
        char why[256];
        log_event(LOG_WARNING, MSG_WMI_STATUS_UNAVAILABLE,
                  "cannot start the WMI status publisher: %s; nlbctld works without it",
                  win_error_text(GetLastError(), why, sizeof why));
        if (p->stop)
            CloseHandle(p->stop);
        if (p->wake)
            CloseHandle(p->wake);
        DeleteCriticalSection(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

/* What became of the thread's writes, said once per change: the warning
 * (event 19) once per run, later changes as plain lines. */
static void log_outcome(struct status_publisher *p)
{
    EnterCriticalSection(&p->lock);
    unsigned long seq = p->outcome_seq;
    int ok = p->outcome_ok;
    char text[512];
    memcpy(text, p->outcome_text, sizeof text);
    LeaveCriticalSection(&p->lock);
    if (seq == p->seen_seq)
        return;
    p->seen_seq = seq;
    if (ok) {
        log_write(LOG_INFO, "status published to WMI: %s %s", STATUS_CLASS_NAMESPACE,
                  STATUS_CLASS_NAME);
    } else if (!p->warned) {
        p->warned = 1;
        log_event(LOG_WARNING, MSG_WMI_STATUS_UNAVAILABLE,
                  "the WMI status class %s %s is not available: %s; nlbctld works without it "
                  "(compile mof\\nlbctl.mof with mofcomp, see mof/README.md); it tries again "
                  "once a minute and says so when it works",
                  STATUS_CLASS_NAMESPACE, STATUS_CLASS_NAME, text);
    } else if (p->published) {
        log_write(LOG_WARNING, "the WMI status class is no longer writable: %s", text);
    }
    p->published = ok;
}

void status_publisher_update(struct status_publisher *p, const struct wire_status_reply *st,
                             const char *instance, uint64_t last_transition_at)
{
    if (!p)
        return;
    log_outcome(p);
    /* The wall-clock time of the last transition, computed once per
     * transition so that clock arithmetic does not make every tick new. */
    if (last_transition_at != p->transition_at || !p->transition_unix_ms) {
        uint64_t now = win_now_ms();
        p->transition_at = last_transition_at;
        p->transition_unix_ms = unix_now_ms() - (now > last_transition_at ? now - last_transition_at : 0);
    }
    struct status_class_row rows[ROWS_MAX];
    unsigned n = status_class_rows(st, instance, p->transition_unix_ms, rows, ROWS_MAX);
    if (n == p->sent_count && memcmp(rows, p->sent, n * sizeof rows[0]) == 0)
        return;
    memcpy(p->sent, rows, n * sizeof rows[0]);
    p->sent_count = n;
    EnterCriticalSection(&p->lock);
    memcpy(p->rows, rows, n * sizeof rows[0]);
    p->count = n;
    LeaveCriticalSection(&p->lock);
    SetEvent(p->wake);
}

void status_publisher_stop(struct status_publisher *p)
{
    if (!p)
        return;
    SetEvent(p->stop);
    if (WaitForSingleObject(p->thread, STOP_WAIT_MS) != WAIT_OBJECT_0) {
        /* A WMI call is hung: leave the thread and its memory to the
         * process's end rather than free what it still uses. */
        log_write(LOG_WARNING, "the WMI status publisher did not stop within %u ms",
                  STOP_WAIT_MS);
        return;
    }
    CloseHandle(p->thread);
    CloseHandle(p->stop);
    CloseHandle(p->wake);
    DeleteCriticalSection(&p->lock);
    free(p);
}

int status_publisher_check(char *err, size_t cap)
{
    HRESULT co = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (FAILED(co)) {
        snprintf(err, cap, "COM cannot be initialised (0x%08lX)", (unsigned long)(uint32_t)co);
        return -1;
    }
    struct wmi *wmi = NULL;
    IEnumWbemClassObject *rows = NULL;
    /* A query of the class proves both the namespace and the class; its
     * instances need not exist yet. */
    HRESULT hr = wmi_connect(STATUS_CLASS_NAMESPACE, &wmi, err, cap);
    if (SUCCEEDED(hr))
        hr = wmi_query(wmi, "SELECT * FROM " STATUS_CLASS_NAME, &rows, err, cap);
    if (SUCCEEDED(hr)) {
        IWbemClassObject *obj = NULL;
        hr = wmi_next(wmi, rows, &obj, err, cap);
        if (obj)
            IWbemClassObject_Release(obj);
    }
    if (rows)
        IEnumWbemClassObject_Release(rows);
    wmi_close(wmi);
    CoUninitialize();
    return FAILED(hr) ? -1 : 0;
}
