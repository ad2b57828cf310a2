/* main.c - nlbctld.exe: the command line, the service entry points and the
 * console mode. One binary serves both roles; the config file says which.
 *
 *   nlbctld.exe [--config PATH]             run under the Service Control Manager
 *   nlbctld.exe --console [--config PATH]   run in this console (Ctrl+C stops)
 *   nlbctld.exe --check [--config PATH]     validate the config and exit
 *   nlbctld.exe --path-add DIR | --path-remove DIR
 *                                           for the installers: DIR on or off
 *                                           the system PATH (path_env.h says why)
 *   nlbctld.exe --wmi-check                 for the installers, after mofcomp:
 *                                           is the WMI status class there?
 */
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "daemon.h"
#include "log.h"
#include "nlbctld_msg.h"
#include "path_env.h"
#include "service_status.h"
#include "status_publisher.h"
#include "winutil.h"

/* A control of our own (user-defined codes are 128-255): stop as on a host
 * shutdown, handing over first. For planned maintenance ("sc control
 * nlbctld 128"), and the only way to run the PRESHUTDOWN path under Wine,
 * whose service manager never sends PRESHUTDOWN and, like Windows, refuses
 * it from ControlService. README.md lists it. */
#define CONTROL_HANDOVER_STOP 128

#define START_WAIT_HINT_MS 10000
#define STOP_WAIT_HINT_MS 15000

static char config_path[CONFIG_PATH_MAX];
static struct config cfg;
static struct daemon_signals signals;
static wchar_t service_name[257] = L"nlbctld"; /* as the SCM started us */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nlbctld [--console | --check] [--config PATH]\n"
            "\n"
            "  --config PATH  the configuration file (default: %%ProgramData%%\\nlbctl\\nlbctld.ini)\n"
            "  --console      run in this console instead of as a service; Ctrl+C stops\n"
            "  --check        validate the configuration file and exit\n"
            "  --version      print the version and exit\n"
            "  --path-add DIR, --path-remove DIR\n"
            "                 put DIR on, or take it off, the system PATH (used by the\n"
            "                 installers; needs an elevated prompt)\n"
            "  --wmi-check    say whether the WMI status class (root\\nlbctl\n"
            "                 Nlbctl_Status, mof\\nlbctl.mof) can be used on this host\n"
            "\n"
            "Exit codes: 0 ok, 1 bad command line, 2 bad config, 3 startup failed,\n"
            "4 state directory or epoch file unusable, 5 NLB backend unavailable.\n");
}

/* ---- service mode ----------------------------------------------------------- */

/* The control handler only records the request: the main loop does the work. */
static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        service_status_report(SERVICE_STOP_PENDING, 0, STOP_WAIT_HINT_MS);
        SetEvent(signals.stop);
        return NO_ERROR;
    case SERVICE_CONTROL_PRESHUTDOWN:
    case CONTROL_HANDOVER_STOP:
        /* The host is going down: the same stop, but a primary waits for
         * its backup to take over first (handover_event is read by the
         * host when it sees the stop, so it is set first). */
        service_status_report(SERVICE_STOP_PENDING, 0, daemon_preshutdown_ms(&cfg));
        SetEvent(signals.handover);
        SetEvent(signals.stop);
        return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
        SetEvent(signals.reload);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

/* The SCM waits this long for our PRESHUTDOWN handover before it shuts the
 * host down. Set by the service itself at every start, so both installers
 * and a hand-made registration get it, and a changed nlb_timeout_ms counts
 * (sc.exe has no command for it). A failure costs only the default. */
static void set_preshutdown_timeout(DWORD ms)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, service_name, SERVICE_CHANGE_CONFIG) : NULL;
    SERVICE_PRESHUTDOWN_INFO info = {ms};
    if (!svc || !ChangeServiceConfig2W(svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, &info)) {
        char why[256];
        log_write(LOG_WARNING,
                  "cannot set the preshutdown timeout to %lu ms: %s; a host shutdown may not "
                  "wait for the handover", (unsigned long)ms,
                  win_error_text(GetLastError(), why, sizeof why));
    } else {
        log_write(LOG_INFO, "preshutdown timeout %lu ms (handover on host shutdown)",
                  (unsigned long)ms);
    }
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
}

static void service_progress(void *ctx, int progress)
{
    (void)ctx;
    switch (progress) {
    case DAEMON_STARTING:
        service_status_report(SERVICE_START_PENDING, 0, START_WAIT_HINT_MS);
        break;
    case DAEMON_RUNNING:
        service_status_report(SERVICE_RUNNING, 0, 0);
        log_event(LOG_INFO, MSG_SERVICE_RUNNING, "running as a service");
        set_preshutdown_timeout(daemon_preshutdown_ms(&cfg));
        break;
    default:
        service_status_report(SERVICE_STOP_PENDING, 0, STOP_WAIT_HINT_MS);
        break;
    }
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    if (argv && argv[0] && wcslen(argv[0]) < sizeof service_name / sizeof service_name[0])
        wcscpy(service_name, argv[0]);
    SERVICE_STATUS_HANDLE handle = RegisterServiceCtrlHandlerExW(service_name, control_handler, NULL);
    if (!handle)
        return;
    service_status_init(handle);
    service_status_report(SERVICE_START_PENDING, 0, START_WAIT_HINT_MS);
    /* As a service, events also go to the Event Log (a console has its
     * window): a config error must reach it too. */
    log_eventlog_open();

    char err[CONFIG_ERROR_MAX];
    int rc;
    if (daemon_load_config(config_path, &cfg, err, sizeof err) != 0) {
        /* No log file is known yet: say it where the admin will look first. */
        char fallback[MAX_PATH];
        daemon_default_config_path(fallback, sizeof fallback);
        char *slash = strrchr(fallback, '\\');
        if (slash) {
            *slash = '\0';
            wchar_t wdir[MAX_PATH];
            if (win_to_wide(fallback, wdir, MAX_PATH) == 0)
                CreateDirectoryW(wdir, NULL);
            size_t used = strlen(fallback);
            snprintf(fallback + used, sizeof fallback - used, "\\nlbctld.log");
        }
        log_open(fallback, 0);
        log_event(LOG_ERROR, MSG_CONFIG_ERROR, "%s", err);
        log_close();
        rc = DAEMON_EXIT_CONFIG;
    } else {
        rc = daemon_run(&cfg, config_path, &signals, 0, service_progress, NULL);
    }
    log_eventlog_close();
    service_status_report(SERVICE_STOPPED, (DWORD)rc, 0);
}

/* ---- console mode ----------------------------------------------------------- */

static BOOL WINAPI console_handler(DWORD type)
{
    (void)type;
    SetEvent(signals.stop);
    return TRUE;
}

static void console_progress(void *ctx, int progress)
{
    (void)ctx;
    if (progress == DAEMON_RUNNING)
        log_write(LOG_INFO, "running; press Ctrl+C to stop");
}

static int run_console(void)
{
    char err[CONFIG_ERROR_MAX];
    if (daemon_load_config(config_path, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "nlbctld: %s\n", err);
        return DAEMON_EXIT_CONFIG;
    }
    SetConsoleCtrlHandler(console_handler, TRUE);
    return daemon_run(&cfg, config_path, &signals, 1, console_progress, NULL);
}

/* ---- installer helper ------------------------------------------------------------ */

static int run_path_edit(const wchar_t *arg, int add)
{
    /* "C:\dir\" and "C:\dir" are one folder: store it without the trailing
     * backslash an MSI folder property carries (a drive root keeps its own). */
    wchar_t dir[MAX_PATH];
    size_t n = wcslen(arg);
    if (n == 0 || n >= MAX_PATH) {
        fprintf(stderr, "nlbctld: the folder for the PATH is empty or too long\n");
        return DAEMON_EXIT_USAGE;
    }
    wmemcpy(dir, arg, n + 1);
    while (n > 3 && dir[n - 1] == L'\\')
        dir[--n] = L'\0';
    char err[512];
    if (path_env_apply(dir, add, err, sizeof err) != 0) {
        fprintf(stderr, "nlbctld: %s\n", err);
        return DAEMON_EXIT_STARTUP;
    }
    return DAEMON_EXIT_OK;
}

/* ---- entry ------------------------------------------------------------------- */

int wmain(int argc, wchar_t **argv)
{
    enum { MODE_SERVICE, MODE_CONSOLE, MODE_CHECK } mode = MODE_SERVICE;
    daemon_default_config_path(config_path, sizeof config_path);
    for (int i = 1; i < argc; i++) {
        if (wcscmp(argv[i], L"--console") == 0) {
            mode = MODE_CONSOLE;
        } else if (wcscmp(argv[i], L"--check") == 0) {
            mode = MODE_CHECK;
        } else if (wcscmp(argv[i], L"--config") == 0 && i + 1 < argc) {
            if (win_to_utf8(argv[++i], config_path, sizeof config_path) != 0) {
                fprintf(stderr, "nlbctld: --config: the path is too long\n");
                return DAEMON_EXIT_USAGE;
            }
        } else if ((wcscmp(argv[i], L"--path-add") == 0 ||
                    wcscmp(argv[i], L"--path-remove") == 0) && i + 1 < argc && argc == 3) {
            return run_path_edit(argv[i + 1], wcscmp(argv[i], L"--path-add") == 0);
        } else if (wcscmp(argv[i], L"--wmi-check") == 0 && argc == 2) {
            char err[512];
            if (status_publisher_check(err, sizeof err) != 0) {
                fprintf(stderr, "nlbctld: the WMI status class is not available: %s\n"
                                "nlbctld works without it (it logs event 19 once); compile "
                                "nlbctl.mof with mofcomp to publish its status\n", err);
                return DAEMON_EXIT_STARTUP;
            }
            printf("the WMI status class root\\nlbctl Nlbctl_Status is available\n");
            return DAEMON_EXIT_OK;
        } else if (wcscmp(argv[i], L"--version") == 0) {
            printf("nlbctld %s\n", NLBCTL_VERSION);
            return DAEMON_EXIT_OK;
        } else if (wcscmp(argv[i], L"--help") == 0 || wcscmp(argv[i], L"/?") == 0) {
            usage(stdout);
            return DAEMON_EXIT_OK;
        } else {
            char arg[256];
            win_to_utf8(argv[i], arg, sizeof arg);
            fprintf(stderr, "nlbctld: unknown argument '%s'%s\n", arg,
                    wcscmp(argv[i], L"--config") == 0 ? " (it needs a path)" : "");
            usage(stderr);
            return DAEMON_EXIT_USAGE;
        }
    }
    if (mode == MODE_CHECK) {
        char err[CONFIG_ERROR_MAX];
        if (daemon_load_config(config_path, &cfg, err, sizeof err) != 0) {
            fprintf(stderr, "nlbctld: %s\n", err);
            return DAEMON_EXIT_CONFIG;
        }
        printf("%s: valid (%s)\n", config_path, model_role_name(cfg.role));
        return DAEMON_EXIT_OK;
    }
    signals.stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    signals.reload = CreateEventW(NULL, FALSE, FALSE, NULL); /* one reload per signal */
    signals.handover = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (mode == MODE_CONSOLE)
        return run_console();

    SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)L"nlbctld", service_main}, {NULL, NULL}};
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD e = GetLastError();
        if (e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            fprintf(stderr, "nlbctld: not started by the Service Control Manager.\n"
                            "Start the service with 'net start nlbctld', or run it here with "
                            "--console.\n");
            return DAEMON_EXIT_USAGE;
        }
        char why[256];
        fprintf(stderr, "nlbctld: cannot reach the Service Control Manager: %s\n",
                win_error_text(e, why, sizeof why));
        return DAEMON_EXIT_STARTUP;
    }
    return DAEMON_EXIT_OK;
}
