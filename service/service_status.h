/* service_status.h - the one place that reports SERVICE_STATUS to the SCM and
 * knows its rules: no controls accepted while pending, checkpoints that grow
 * during a pending state, a service-specific exit code on failure so the
 * SCM's recovery actions fire. */
#ifndef NLBCTL_SERVICE_STATUS_H
#define NLBCTL_SERVICE_STATUS_H

#include <windows.h>

void service_status_init(SERVICE_STATUS_HANDLE handle);
/* state: SERVICE_START_PENDING, _RUNNING, _STOP_PENDING, _STOPPED.
 * exit_code: a daemon_exit value, used with SERVICE_STOPPED. */
void service_status_report(DWORD state, DWORD exit_code, DWORD wait_hint_ms);

#endif
