/* app_monitor.h - watches the application this node serves: a Windows
 * service (by name) or a process (by image path, started here or found
 * running). Death is seen by waiting, never by polling: the process handle
 * is one of the main loop's wait handles; a service's stop arrives through
 * NotifyServiceStatusChangeW, whose callback runs as an APC while the main
 * loop waits alertably and signals the monitor's event.
 *
 * A process this monitor started is started again after restart_delay_ms
 * when it dies (its health stays "down" until it runs). A process found
 * running, or a service, is only watched: the service's own recovery
 * settings restart it. */
#ifndef NLBCTL_APP_MONITOR_H
#define NLBCTL_APP_MONITOR_H

#include <stdint.h>
#include <windows.h>

#include "config.h"

struct app_monitor;

/* NULL without an error means nothing to watch (no [application]). */
struct app_monitor *app_monitor_open(const struct config *cfg, char *err, size_t cap);
void app_monitor_close(struct app_monitor *m);

/* The handle to add to the main loop's wait (NULL: nothing to wait on now). */
HANDLE app_monitor_handle(const struct app_monitor *m);
/* After its handle was signalled, or on a tick: updates and returns health
 * (1 healthy, 0 down). *changed says whether it differs from last time. */
int app_monitor_check(struct app_monitor *m, unsigned long long now_ms, int *changed);
/* On every tick: finds or restarts a process that is not running; nothing
 * otherwise. Same results as app_monitor_check. */
int app_monitor_tick(struct app_monitor *m, unsigned long long now_ms, int *changed);
/* "service SipServer" / "process C:\...\sip.exe (pid 1234)", for logs. */
const char *app_monitor_describe(const struct app_monitor *m);

#endif
