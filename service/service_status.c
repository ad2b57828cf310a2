/* service_status.c - see service_status.h. */
#include "service_status.h"

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;

void service_status_init(SERVICE_STATUS_HANDLE handle)
{
    status_handle = handle;
    status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    status.dwCurrentState = SERVICE_STOPPED;
}

void service_status_report(DWORD state, DWORD exit_code, DWORD wait_hint_ms)
{
    int pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
    /* The checkpoint must grow on every report of the same pending state and
     * be zero otherwise; the SCM uses it to tell progress from a hang. */
    if (pending)
        status.dwCheckPoint = status.dwCurrentState == state ? status.dwCheckPoint + 1 : 1;
    else
        status.dwCheckPoint = 0;
    status.dwCurrentState = state;
    status.dwWaitHint = pending ? wait_hint_ms : 0;
    /* PRESHUTDOWN comes first on a host shutdown, while the network is
     * still up, so a primary can hand over; SHUTDOWN stays accepted for a
     * service that is still running then. PARAMCHANGE reloads the config. */
    status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                                       SERVICE_ACCEPT_PRESHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
                                 : 0;
    if (state == SERVICE_STOPPED && exit_code != 0) {
        status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        status.dwServiceSpecificExitCode = exit_code;
    } else {
        status.dwWin32ExitCode = NO_ERROR;
        status.dwServiceSpecificExitCode = 0;
    }
    if (status_handle)
        SetServiceStatus(status_handle, &status);
}
