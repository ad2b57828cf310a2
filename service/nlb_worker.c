/* nlb_worker.c - see nlb_worker.h. */
#include "nlb_worker.h"
#include "utf8.h"

#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "nlb.h"

struct nlb_worker {
    const struct config *cfg;
    char node[MODEL_NAME_MAX + 1];
    HANDLE thread;
    HANDLE job_event;  /* auto-reset: a job or a stop is waiting */
    HANDLE done_event; /* manual-reset: a result (or the open's) is ready */
    CRITICAL_SECTION lock;
    struct nlb *nlb;
    char description[CONFIG_PATH_MAX + 160];
    /* under lock */
    int quit;
    int job;           /* 0: none queued */
    uint8_t job_state;
    int busy;          /* a job is queued or running */
    int have_result;
    int res_ok;
    uint8_t res_state;
    uint32_t res_conns; /* NLB_CONNECTIONS_UNKNOWN unless counted */
    char res_err[512];
    char res_conns_err[512]; /* why counting failed ("" if it did not) */
    int opened;        /* -1 failed, 1 ok */
};

static void run_job(struct nlb_worker *w, int job, uint8_t want)
{
    char err[512] = "";
    int ok = 1;
    if (job == NLB_JOB_SET && nlb_set(w->nlb, want, err, sizeof err) != 0)
        ok = 0;
    uint8_t state = MODEL_PORT_UNKNOWN;
    char qerr[512] = "";
    if (nlb_query(w->nlb, &state, qerr, sizeof qerr) != 0) {
        state = MODEL_PORT_UNKNOWN;
        if (ok)
            utf8_copy(err, sizeof err, qerr);
        ok = 0;
    }
    /* Connections are counted only where they matter: a draining rule. */
    uint32_t conns = NLB_CONNECTIONS_UNKNOWN;
    char cerr[512] = "";
    if (state == MODEL_PORT_DRAINING && nlb_connections(w->nlb, &conns, cerr, sizeof cerr) != 0)
        conns = NLB_CONNECTIONS_UNKNOWN;
    EnterCriticalSection(&w->lock);
    w->res_ok = ok;
    w->res_state = state;
    w->res_conns = conns;
    utf8_copy(w->res_conns_err, sizeof w->res_conns_err, cerr);
    utf8_copy(w->res_err, sizeof w->res_err, err);
    w->have_result = 1;
    LeaveCriticalSection(&w->lock);
    SetEvent(w->done_event);
}

static DWORD WINAPI worker_main(LPVOID arg)
{
    struct nlb_worker *w = arg;
    /* The wmi backend needs COM on the thread that uses it. */
    HRESULT co = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    char err[512] = "";
    w->nlb = nlb_open(w->cfg, w->node, err, sizeof err);
    EnterCriticalSection(&w->lock);
    w->opened = w->nlb ? 1 : -1;
    if (w->nlb)
        utf8_copy(w->description, sizeof w->description, nlb_describe(w->nlb));
    else
        utf8_copy(w->res_err, sizeof w->res_err, err);
    LeaveCriticalSection(&w->lock);
    SetEvent(w->done_event);
    while (w->nlb) {
        WaitForSingleObject(w->job_event, INFINITE);
        EnterCriticalSection(&w->lock);
        int quit = w->quit, job = w->job;
        uint8_t state = w->job_state;
        w->job = 0;
        LeaveCriticalSection(&w->lock);
        if (quit)
            break;
        if (job)
            run_job(w, job, state);
    }
    if (w->nlb)
        nlb_close(w->nlb);
    if (SUCCEEDED(co))
        CoUninitialize();
    return 0;
}

struct nlb_worker *nlb_worker_start(const struct config *cfg, const char *node,
                                    uint32_t open_ms, char *err, size_t cap)
{
    struct nlb_worker *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    utf8_copy(w->node, sizeof w->node, node);
    InitializeCriticalSection(&w->lock);
    w->job_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    w->done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    w->thread = w->job_event && w->done_event ? CreateThread(NULL, 0, worker_main, w, 0, NULL)
                                              : NULL;
    if (!w->thread) {
        snprintf(err, cap, "cannot start the NLB worker thread (error %lu)",
                 (unsigned long)GetLastError());
        return NULL; /* leaks a few handles on a path that ends the process */
    }
    if (WaitForSingleObject(w->done_event, open_ms) != WAIT_OBJECT_0) {
        snprintf(err, cap, "opening the %s NLB backend did not finish within %lu ms",
                 cfg->backend, (unsigned long)open_ms);
        return NULL; /* the thread is stuck in the backend: leave it */
    }
    ResetEvent(w->done_event);
    if (w->opened != 1) {
        snprintf(err, cap, "%s", w->res_err);
        WaitForSingleObject(w->thread, 1000);
        CloseHandle(w->thread);
        CloseHandle(w->job_event);
        CloseHandle(w->done_event);
        DeleteCriticalSection(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void nlb_worker_stop(struct nlb_worker *w, uint32_t wait_ms)
{
    if (!w)
        return;
    EnterCriticalSection(&w->lock);
    w->quit = 1;
    LeaveCriticalSection(&w->lock);
    SetEvent(w->job_event);
    if (WaitForSingleObject(w->thread, wait_ms) != WAIT_OBJECT_0)
        return; /* stuck in a call: its memory must outlive it */
    CloseHandle(w->thread);
    CloseHandle(w->job_event);
    CloseHandle(w->done_event);
    DeleteCriticalSection(&w->lock);
    free(w);
}

int nlb_worker_submit(struct nlb_worker *w, int job, uint8_t state)
{
    EnterCriticalSection(&w->lock);
    int busy = w->busy;
    if (!busy) {
        w->busy = 1;
        w->job = job;
        w->job_state = state;
    }
    LeaveCriticalSection(&w->lock);
    if (busy)
        return -1;
    SetEvent(w->job_event);
    return 0;
}

int nlb_worker_busy(const struct nlb_worker *w) { return w->busy; }

HANDLE nlb_worker_done_event(const struct nlb_worker *w) { return w->done_event; }

int nlb_worker_collect(struct nlb_worker *w, uint8_t *state, int *ok, char *err, size_t cap,
                       struct nlb_worker_count *count)
{
    EnterCriticalSection(&w->lock);
    int have = w->have_result;
    if (have) {
        *state = w->res_state;
        *ok = w->res_ok;
        snprintf(err, cap, "%s", w->res_err);
        if (count) {
            count->conns = w->res_conns;
            utf8_copy(count->err, sizeof count->err, w->res_conns_err);
        }
        w->have_result = 0;
        w->busy = 0;
    }
    ResetEvent(w->done_event);
    LeaveCriticalSection(&w->lock);
    return have;
}

const char *nlb_worker_describe(const struct nlb_worker *w) { return w->description; }
