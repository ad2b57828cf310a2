/* standin_app.c - a stand-in for the application an agent watches (the SIP
 * server in production). It only runs until it is killed or stopped, so
 * tests can make "the application" die and watch nlbctl react.
 *
 *   standin_app.exe [--exit-after MS]   a process
 *   standin_app.exe --service           a Windows service (sc create ...
 *                                       binpath= "...standin_app.exe --service")
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static SERVICE_STATUS_HANDLE status_handle;
static HANDLE stop_event;

static void report(DWORD state)
{
    SERVICE_STATUS st;
    memset(&st, 0, sizeof st);
    st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    st.dwCurrentState = state;
    st.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP : 0;
    SetServiceStatus(status_handle, &st);
}

static DWORD WINAPI handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    if (control == SERVICE_CONTROL_STOP) {
        report(SERVICE_STOP_PENDING);
        SetEvent(stop_event);
    }
    return NO_ERROR;
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    status_handle = RegisterServiceCtrlHandlerExW(argv[0], handler, NULL);
    if (!status_handle)
        return;
    report(SERVICE_RUNNING);
    WaitForSingleObject(stop_event, INFINITE);
    report(SERVICE_STOPPED);
}

int main(int argc, char **argv)
{
    DWORD limit = INFINITE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--service") == 0) {
            stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
            SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)L"standin", service_main}, {NULL, NULL}};
            return StartServiceCtrlDispatcherW(table) ? 0 : 1;
        }
        if (strcmp(argv[i], "--exit-after") == 0 && i + 1 < argc) {
            limit = (DWORD)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "standin_app: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    Sleep(limit);
    return 0;
}
