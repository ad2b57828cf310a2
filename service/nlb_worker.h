/* nlb_worker.h - runs NLB commands on a thread of their own, so a slow or
 * hung WMI call or script never freezes the agent's loop.
 *
 * The worker opens the backend, runs every job and closes it, all on its
 * thread (which initialises COM for itself). A job is a command and its
 * read-back, or a read alone. The caller waits on the done event and sets
 * its own deadline: a job past it is reported as failed and abandoned (a
 * thread cannot be safely killed); while it hangs, new jobs are refused,
 * and if it ever returns its read-back is delivered like any other. */
#ifndef NLBCTL_NLB_WORKER_H
#define NLBCTL_NLB_WORKER_H

#include <stdint.h>
#include <windows.h>

#include "config.h"
#include "nlb.h"

enum nlb_job { NLB_JOB_SET = 1, NLB_JOB_QUERY = 2 };

struct nlb_worker;

/* Starts the thread and opens the backend on it, waiting up to open_ms.
 * NULL with err on failure (the backend's own sentence). */
struct nlb_worker *nlb_worker_start(const struct config *cfg, const char *node,
                                    uint32_t open_ms, char *err, size_t cap);
/* Asks the worker to stop and waits up to wait_ms; a thread stuck in a call
 * is left to end with the process. */
void nlb_worker_stop(struct nlb_worker *w, uint32_t wait_ms);

/* Queues a job (state: the port state for NLB_JOB_SET). -1 if one runs. */
int nlb_worker_submit(struct nlb_worker *w, int job, uint8_t state);
int nlb_worker_busy(const struct nlb_worker *w);
/* Signalled when a job's result is ready. */
HANDLE nlb_worker_done_event(const struct nlb_worker *w);
/* With a read-back of draining, the job also counts the connections left
 * (nlb_connections): conns, or NLB_CONNECTIONS_UNKNOWN; err says why the
 * count failed, "" when it did not. */
struct nlb_worker_count {
    uint32_t conns;
    char err[512];
};

/* Takes the finished job's result: 1 if there was one. ok: the command (or
 * read) succeeded; state: what the read-back says (UNKNOWN if it failed);
 * err: the first failure's sentence; count (may be NULL): the connections. */
int nlb_worker_collect(struct nlb_worker *w, uint8_t *state, int *ok, char *err, size_t cap,
                       struct nlb_worker_count *count);
const char *nlb_worker_describe(const struct nlb_worker *w);

#endif
