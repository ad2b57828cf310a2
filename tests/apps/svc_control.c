/* svc_control.c - sends a control code to a service, for the tests: Wine's
 * sc.exe has no `control` command ("fixme:sc:wmain command not supported"),
 * so `sc control nlbctld paramchange` cannot be used there. Also reads the
 * service's preshutdown timeout, which Wine's sc cannot show either.
 *
 *   svc_control NAME paramchange|preshutdown|stop|interrogate|NUMBER
 *       ControlService; prints the state the SCM returns; exit 0, or the
 *       Win32 error code (printed) when the SCM refuses
 *   svc_control NAME preshutdown-timeout
 *       prints QueryServiceConfig2W(SERVICE_CONFIG_PRESHUTDOWN_INFO)
 */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <windows.h>

static int fail(const char *what)
{
    DWORD e = GetLastError();
    fprintf(stderr, "svc_control: %s: error %lu\n", what, (unsigned long)e);
    return e ? (int)e : 1;
}

int wmain(int argc, wchar_t **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: svc_control NAME paramchange|preshutdown|stop|interrogate|"
                        "NUMBER|preshutdown-timeout\n");
        return 1;
    }
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm)
        return fail("OpenSCManager");
    SC_HANDLE svc = OpenServiceW(scm, argv[1], SERVICE_ALL_ACCESS);
    if (!svc)
        return fail("OpenService");
    if (wcscmp(argv[2], L"preshutdown-timeout") == 0) {
        SERVICE_PRESHUTDOWN_INFO info;
        DWORD need = 0;
        if (!QueryServiceConfig2W(svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, (BYTE *)&info,
                                  sizeof info, &need))
            return fail("QueryServiceConfig2W(SERVICE_CONFIG_PRESHUTDOWN_INFO)");
        printf("preshutdown timeout: %lu\n", (unsigned long)info.dwPreshutdownTimeout);
        return 0;
    }
    DWORD code;
    if (wcscmp(argv[2], L"paramchange") == 0)
        code = SERVICE_CONTROL_PARAMCHANGE;
    else if (wcscmp(argv[2], L"preshutdown") == 0)
        code = SERVICE_CONTROL_PRESHUTDOWN;
    else if (wcscmp(argv[2], L"stop") == 0)
        code = SERVICE_CONTROL_STOP;
    else if (wcscmp(argv[2], L"interrogate") == 0)
        code = SERVICE_CONTROL_INTERROGATE;
    else
        code = (DWORD)wcstoul(argv[2], NULL, 10);
    SERVICE_STATUS st;
    if (!ControlService(svc, code, &st))
        return fail("ControlService");
    printf("control %lu sent; state %lu, controls accepted 0x%lx\n", (unsigned long)code,
           (unsigned long)st.dwCurrentState, (unsigned long)st.dwControlsAccepted);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return 0;
}
