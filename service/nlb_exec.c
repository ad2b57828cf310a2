/* nlb_exec.c - the exec backend: drives the port rule by running a command,
 * nlb.exe by default or a site's own control script:
 *
 *   exec_command  "nlb.exe %ACTION% %VIP%:%PORT%"   %ACTION% = enable|disable|drain
 *   exec_query    "nlb.exe queryport %VIP%:%PORT%"  %ACTION% = query
 *
 * Placeholders are %ACTION%, %VIP% and %PORT% (any case); any other %WORD%
 * is passed on untouched. The line is run as given: its first token (quoted
 * or not) is the program, found the way CreateProcess finds it. A .cmd or
 * .bat program is run through "%SystemRoot%\system32\cmd.exe /d /s /c", as
 * CreateProcess cannot start a script itself.
 *
 * Every run: stdout and stderr share one pipe which this thread reads with
 * overlapped I/O while it waits for the process, so a chatty program never
 * blocks on a full pipe; the first EXEC_OUTPUT_MAX bytes are kept, the rest
 * read and dropped. The process runs in a job object: at nlb_timeout_ms the
 * whole job (the script and whatever it started) is terminated, and when the
 * call returns the job is closed, which kills anything it left behind. Exit
 * code 0 is success; anything else is an error quoting the last line printed.
 *
 * nlb.exe's output and exit codes are undocumented: see parse_state() for
 * the rule used to read a query's answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "log.h"
#include "nlb_backend.h"
#include "utf8.h"
#include "winutil.h"

#define EXEC_LINE_MAX 2048     /* bytes of an expanded command line, with its NUL */
#define EXEC_OUTPUT_MAX 4096   /* bytes of output kept per run */
#define EXEC_TEXT_MAX (3 * EXEC_OUTPUT_MAX + 1) /* that output as UTF-8 */
#define EXEC_DRAIN_MS 200      /* once the process has exited, how long to wait
                                * for output still held open by its children */
#define EXEC_SHOWN_MAX 120     /* characters of a command line quoted in errors */

/* One run's output; kept in the instance (its calls all come from one thread). */
struct run {
    DWORD exit_code;
    char raw[EXEC_OUTPUT_MAX];    /* the bytes it printed */
    char text[EXEC_TEXT_MAX];     /* the same as UTF-8 */
};

struct exec_nlb {
    struct run run;
    char command[sizeof ((struct config *)0)->exec_command];
    char query[sizeof ((struct config *)0)->exec_query];
    char vip[MODEL_NAME_MAX + 1];
    uint16_t port;
    DWORD timeout_ms;
    char description[sizeof ((struct config *)0)->exec_command + MODEL_NAME_MAX + 32];
};

/* ---- the command line ------------------------------------------------------ */

/* Fills tmpl's placeholders into out. Returns 0, or -1 if it does not fit. */
static int expand(const char *tmpl, const char *action, const char *vip, uint16_t port,
                  char *out, size_t cap)
{
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    const struct {
        const char *name;
        const char *value;
    } words[] = {{"%ACTION%", action}, {"%VIP%", vip}, {"%PORT%", port_text}};
    size_t n = 0;
    for (const char *p = tmpl; *p;) {
        const char *value = NULL;
        size_t skip = 1;
        if (*p == '%') {
            for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
                size_t wl = strlen(words[i].name);
                if (_strnicmp(p, words[i].name, wl) == 0) {
                    value = words[i].value;
                    skip = wl;
                    break;
                }
            }
        }
        size_t vl = value ? strlen(value) : 1;
        if (n + vl >= cap)
            return -1;
        memcpy(out + n, value ? value : p, vl);
        n += vl;
        p += skip;
    }
    out[n] = '\0';
    return 0;
}

/* The program: the line's first token, without its quotes. */
static void first_token(const char *line, char *out, size_t cap)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *end;
    if (*line == '"') {
        line++;
        end = strchr(line, '"');
        if (!end)
            end = line + strlen(line);
    } else {
        end = line + strcspn(line, " \t");
    }
    size_t n = (size_t)(end - line);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, line, n);
    out[n] = '\0';
}

static int is_script(const char *program)
{
    size_t n = strlen(program);
    return n > 4 && (_stricmp(program + n - 4, ".cmd") == 0 || _stricmp(program + n - 4, ".bat") == 0);
}

/* A command line short enough to quote in an error sentence. */
static const char *shown(const char *line, char *buf, size_t cap)
{
    if (strlen(line) <= EXEC_SHOWN_MAX)
        return line;
    snprintf(buf, cap, "%.*s...", (int)utf8_clip(line, strlen(line), EXEC_SHOWN_MAX), line);
    return buf;
}

/* ---- output ----------------------------------------------------------------- */

/* Output as UTF-8 text: kept as is if it is valid UTF-8, else read in the
 * OEM code page (what console programs write); control characters other
 * than tab and line breaks become '?', so garbage cannot spoil the log. */
static void output_text(const char *raw, size_t len, char *text, size_t cap)
{
    text[0] = '\0';
    if (len > 0) {
        UINT cp = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, raw, (int)len, NULL, 0) > 0
                      ? CP_UTF8
                      : CP_OEMCP;
        /* A character of the OEM code page can take three bytes in UTF-8:
         * convert in full, then keep what fits without cutting a character. */
        wchar_t *wide = calloc(len + 1, sizeof *wide);
        char *utf8 = calloc(3 * len + 1, 1);
        if (wide && utf8) {
            int wn = MultiByteToWideChar(cp, 0, raw, (int)len, wide, (int)len);
            int n = wn > 0 ? WideCharToMultiByte(CP_UTF8, 0, wide, wn, utf8, (int)(3 * len), NULL,
                                                 NULL)
                           : 0;
            size_t keep = utf8_clip(utf8, n > 0 ? (size_t)n : 0, cap - 1);
            memcpy(text, utf8, keep);
            text[keep] = '\0';
        }
        free(wide);
        free(utf8);
    }
    for (unsigned char *p = (unsigned char *)text; *p; p++)
        if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
            *p = '?';
}

/* Calls fn for each non-blank line of text, without its line break and
 * trailing blanks. */
static void each_line(const char *text, void (*fn)(const char *line, size_t len, void *ctx),
                      void *ctx)
{
    while (*text) {
        size_t n = strcspn(text, "\r\n"), len = n;
        while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
            len--;
        if (len > 0)
            fn(text, len, ctx);
        text += n;
        text += strspn(text, "\r\n");
    }
}

static void log_line(const char *line, size_t len, void *ctx)
{
    log_write(LOG_INFO, "nlb exec %s: %.*s", (const char *)ctx, (int)len, line);
}

struct pick_line {
    char *out;
    size_t cap;
    int last; /* 0: keep the first line, 1: keep the last */
};

static void pick_line(const char *line, size_t len, void *ctx)
{
    struct pick_line *pl = ctx;
    if (pl->out[0] && !pl->last)
        return;
    snprintf(pl->out, pl->cap, "%.*s", (int)utf8_clip(line, len, pl->cap - 1), line);
}

static void first_or_last_line(const char *text, int last, char *out, size_t cap)
{
    struct pick_line pl = {out, cap, last};
    out[0] = '\0';
    each_line(text, pick_line, &pl);
    if (!out[0])
        snprintf(out, cap, "(no output)");
}

/* ---- running one command ------------------------------------------------------ */

/* The child's ends: the write end of a fresh inbound pipe (our end is read
 * overlapped) and NUL as stdin, both inheritable. */
static DWORD make_pipe(HANDLE *ours, HANDLE *child_out, HANDLE *child_in)
{
    static volatile LONG serial;
    wchar_t name[96];
    swprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\nlbctl-exec-%lu-%ld",
             (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&serial));
    *ours = CreateNamedPipeW(name,
                             PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED |
                                 FILE_FLAG_FIRST_PIPE_INSTANCE,
                             PIPE_TYPE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 0,
                             EXEC_OUTPUT_MAX, 0, NULL);
    if (*ours == INVALID_HANDLE_VALUE)
        return GetLastError();
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    *child_out = CreateFileW(name, GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
    if (*child_out == INVALID_HANDLE_VALUE)
        return GetLastError();
    *child_in = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                            OPEN_EXISTING, 0, NULL);
    if (*child_in == INVALID_HANDLE_VALUE)
        return GetLastError();
    return ERROR_SUCCESS;
}

/* Starts line suspended, inheriting only the two handles given, puts it in
 * a job that kills it and its children when closed, and lets it run.
 * Returns a Win32 code; *job may stay NULL if jobs are unavailable (a
 * process already in a job that forbids nesting, before Windows 8). */
static DWORD start(const char *line, const char *program, HANDLE out, HANDLE in,
                   PROCESS_INFORMATION *pi, HANDLE *job)
{
    wchar_t cmdline[EXEC_LINE_MAX + MAX_PATH + 32];
    wchar_t wline[EXEC_LINE_MAX];
    wchar_t shell[MAX_PATH];
    const wchar_t *app = NULL;
    if (win_to_wide(line, wline, EXEC_LINE_MAX) != 0)
        return ERROR_NO_UNICODE_TRANSLATION;
    if (is_script(program)) {
        /* cmd /s /c strips exactly the outer quotes added here. */
        UINT n = GetSystemDirectoryW(shell, MAX_PATH - 16);
        if (n == 0 || n >= MAX_PATH - 16)
            return GetLastError() ? GetLastError() : ERROR_BUFFER_OVERFLOW;
        wcscat(shell, L"\\cmd.exe");
        app = shell;
        swprintf(cmdline, sizeof cmdline / sizeof cmdline[0], L"\"%ls\" /d /s /c \"%ls\"", shell,
                 wline);
    } else {
        wcscpy(cmdline, wline);
    }

    DWORD rc = ERROR_SUCCESS;
    SIZE_T size = 0;
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
    HANDLE inherit[2] = {out, in};
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = in;
    si.StartupInfo.hStdOutput = out;
    si.StartupInfo.hStdError = out;
    DWORD flags = CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    attrs = size ? malloc(size) : NULL;
    if (attrs && InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
        if (UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit,
                                      sizeof inherit, NULL, NULL)) {
            si.lpAttributeList = attrs;
            flags |= EXTENDED_STARTUPINFO_PRESENT;
        } else {
            DeleteProcThreadAttributeList(attrs);
            free(attrs);
            attrs = NULL;
        }
    } else {
        free(attrs);
        attrs = NULL;
    }

    if (!CreateProcessW(app, cmdline, NULL, NULL, TRUE, flags, NULL, NULL, &si.StartupInfo, pi)) {
        rc = GetLastError();
        goto out;
    }
    *job = CreateJobObjectW(NULL, NULL);
    if (*job) {
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
        memset(&limit, 0, sizeof limit);
        limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (!SetInformationJobObject(*job, JobObjectExtendedLimitInformation, &limit,
                                     sizeof limit) ||
            !AssignProcessToJobObject(*job, pi->hProcess)) {
            CloseHandle(*job);
            *job = NULL;
        }
    }
    ResumeThread(pi->hThread);
out:
    if (attrs) {
        DeleteProcThreadAttributeList(attrs);
        free(attrs);
    }
    return rc;
}

/* Reads pipe into raw until it closes, the process has exited and gone
 * quiet for EXEC_DRAIN_MS, or the deadline. Returns 1 if the deadline came
 * first with the process still running. */
static int collect(HANDLE pipe, HANDLE process, unsigned long long deadline, char *raw,
                   size_t *used, int *truncated)
{
    /* On the heap: a cancelled read that does not end in time keeps them. */
    struct read_slot {
        OVERLAPPED ov;
        char chunk[1024];
    } *rs = calloc(1, sizeof *rs);
    HANDLE ev = rs ? CreateEventW(NULL, TRUE, FALSE, NULL) : NULL;
    if (!ev) { /* no output then, but still the time limit */
        free(rs);
        unsigned long long now = win_now_ms();
        return WaitForSingleObject(process, now >= deadline ? 0 : (DWORD)(deadline - now)) ==
               WAIT_TIMEOUT;
    }
    rs->ov.hEvent = ev;
    OVERLAPPED *ov = &rs->ov;
    char *chunk = rs->chunk;
    int exited = 0, timed_out = 0, pending = 0;
    for (;;) {
        DWORD got = 0;
        if (!pending) {
            if (!ReadFile(pipe, chunk, sizeof rs->chunk, NULL, ov)) {
                if (GetLastError() != ERROR_IO_PENDING)
                    break; /* ERROR_BROKEN_PIPE: every writer has closed its end */
            }
            pending = 1;
        }
        unsigned long long now = win_now_ms();
        DWORD wait = now >= deadline ? 0 : (DWORD)(deadline - now);
        if (exited && wait > EXEC_DRAIN_MS)
            wait = EXEC_DRAIN_MS;
        HANDLE h[2] = {ev, process};
        DWORD w = WaitForMultipleObjects(exited ? 1 : 2, h, FALSE, wait);
        if (w == WAIT_OBJECT_0) {
            pending = 0;
            if (!GetOverlappedResult(pipe, ov, &got, FALSE))
                break;
            size_t keep = got;
            if (keep > EXEC_OUTPUT_MAX - *used) {
                keep = EXEC_OUTPUT_MAX - *used;
                *truncated = 1;
            }
            memcpy(raw + *used, chunk, keep);
            *used += keep;
        } else if (w == WAIT_OBJECT_0 + 1) {
            exited = 1;
        } else {
            timed_out = !exited;
            break;
        }
    }
    if (pending && !win_cancel_io_bounded(pipe, ov, 1000))
        return timed_out; /* rs and its event stay with the read */
    CloseHandle(ev);
    free(rs);
    return timed_out;
}

/* Runs one command to completion or its time limit. Returns 0 with r filled
 * (whatever the exit code), or -1 with err if it could not run or finish. */
static int run(const struct exec_nlb *x, const char *action, const char *line, int log_output,
               struct run *r, char *err, size_t cap)
{
    char program[MAX_PATH], why[256], sbuf[EXEC_SHOWN_MAX + 8];
    first_token(line, program, sizeof program);
    if (!program[0]) {
        snprintf(err, cap, "the %s command is empty", action);
        return -1;
    }
    if (is_script(program)) {
        /* cmd.exe would run, fail and blame the path: say it plainly instead. */
        wchar_t wprog[MAX_PATH], found[MAX_PATH];
        if (win_to_wide(program, wprog, MAX_PATH) != 0 ||
            SearchPathW(NULL, wprog, NULL, MAX_PATH, found, NULL) == 0) {
            snprintf(err, cap, "cannot run '%s': %s", program,
                     win_error_text(ERROR_FILE_NOT_FOUND, why, sizeof why));
            return -1;
        }
    }

    int result = -1;
    HANDLE pipe = INVALID_HANDLE_VALUE, child_out = INVALID_HANDLE_VALUE,
           child_in = INVALID_HANDLE_VALUE, job = NULL;
    PROCESS_INFORMATION pi;
    memset(&pi, 0, sizeof pi);
    size_t used = 0;
    int truncated = 0;

    DWORD rc = make_pipe(&pipe, &child_out, &child_in);
    if (rc != ERROR_SUCCESS) {
        snprintf(err, cap, "cannot make an output pipe for '%s': %s", program,
                 win_error_text(rc, why, sizeof why));
        goto out;
    }
    unsigned long long started = win_now_ms();
    rc = start(line, program, child_out, child_in, &pi, &job);
    CloseHandle(child_out);
    CloseHandle(child_in);
    child_out = child_in = INVALID_HANDLE_VALUE;
    if (rc != ERROR_SUCCESS) {
        snprintf(err, cap, "cannot run '%s': %s", program, win_error_text(rc, why, sizeof why));
        goto out;
    }

    int timed_out = collect(pipe, pi.hProcess, started + x->timeout_ms, r->raw, &used, &truncated);
    output_text(r->raw, used, r->text, sizeof r->text);
    if (timed_out) {
        if (!job || !TerminateJobObject(job, ERROR_TIMEOUT))
            TerminateProcess(pi.hProcess, ERROR_TIMEOUT);
        WaitForSingleObject(pi.hProcess, 5000);
        log_output = 1;
    }
    if (log_output) {
        each_line(r->text, log_line, (void *)action);
        if (truncated)
            log_write(LOG_INFO, "nlb exec %s: (output cut after %u bytes)", action,
                      (unsigned)EXEC_OUTPUT_MAX);
    }
    if (timed_out) {
        snprintf(err, cap, "'%s' did not finish within %lu ms and was stopped",
                 shown(line, sbuf, sizeof sbuf), (unsigned long)x->timeout_ms);
        goto out;
    }
    if (!GetExitCodeProcess(pi.hProcess, &r->exit_code)) {
        rc = GetLastError();
        snprintf(err, cap, "cannot read the exit code of '%s': %s", shown(line, sbuf, sizeof sbuf),
                 win_error_text(rc, why, sizeof why));
        goto out;
    }
    result = 0;
out:
    if (job)
        CloseHandle(job); /* kills whatever the command left running */
    if (pi.hThread)
        CloseHandle(pi.hThread);
    if (pi.hProcess)
        CloseHandle(pi.hProcess);
    if (child_out != INVALID_HANDLE_VALUE)
        CloseHandle(child_out);
    if (child_in != INVALID_HANDLE_VALUE)
        CloseHandle(child_in);
    if (pipe != INVALID_HANDLE_VALUE)
        CloseHandle(pipe);
    return result;
}

static int failed(const char *line, const struct run *r, char *err, size_t cap)
{
    char last[256], sbuf[EXEC_SHOWN_MAX + 8];
    first_or_last_line(r->text, 1, last, sizeof last);
    if (r->exit_code > 0xFFFF)
        snprintf(err, cap, "'%s' failed with exit code 0x%08lX: %s", shown(line, sbuf, sizeof sbuf),
                 (unsigned long)r->exit_code, last);
    else
        snprintf(err, cap, "'%s' failed with exit code %lu: %s", shown(line, sbuf, sizeof sbuf),
                 (unsigned long)r->exit_code, last);
    return -1;
}

/* ---- reading the state ------------------------------------------------------- */

static int word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c & 0x80); }

/* Where word occurs in text as a whole word (any case) not preceded by the
 * word "not"; NULL if nowhere. */
static const char *find_word(const char *text, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = text; *p; p++) {
        if (_strnicmp(p, word, wl) != 0 || (p > text && word_char(p[-1])) || word_char(p[wl]))
            continue;
        const char *q = p;
        while (q > text && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (q - text >= 3 && _strnicmp(q - 3, "not", 3) == 0 && (q - 3 == text || !word_char(q[-4])))
            continue;
        return p;
    }
    return NULL;
}

/* The line of text containing p, into out. */
static void line_at(const char *text, const char *p, char *out, size_t cap)
{
    while (p > text && p[-1] != '\n' && p[-1] != '\r')
        p--;
    snprintf(out, cap, "%.*s", (int)strcspn(p, "\r\n"), p);
}

/* The parsing rule for a query's output, since nlb.exe documents neither
 * its text nor its exit codes (an administrator's own script can simply
 * print one of the words):
 *   1. A non-zero exit code is an error.
 *   2. Output saying "not found", "no port rule" or "does not exist"
 *      anywhere is an error: the rule is missing, whatever else is printed.
 *   3. Otherwise the state is the first of "draining", "disabled",
 *      "enabled" found as a whole word, in any case, not right after "not"
 *      ("Rule state: Enabled", "port 5060 is DISABLED"). The order matters
 *      only for output that names more than one: draining is a special case
 *      of enabled, and anything disabled is reported as disabled rather
 *      than enabled. Whole words keep "disabled" from ever counting as
 *      "enabled" and "enabledness" from counting at all.
 *   4. None of the words: an error quoting the first line of output.
 * Output is read in English: on a localised Windows whose nlb.exe prints
 * other words, set exec_query to a script that prints the English word. */
static int parse_state(const char *text, uint8_t *state, char *why, size_t cap)
{
    static const char *const missing[] = {"not found", "no port rule", "does not exist"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        for (const char *p = text; *p; p++) {
            if (_strnicmp(p, missing[i], strlen(missing[i])) == 0) {
                char line[256];
                line_at(text, p, line, sizeof line);
                snprintf(why, cap, "no such port rule: \"%s\"", line);
                return -1;
            }
        }
    }
    static const uint8_t order[] = {MODEL_PORT_DRAINING, MODEL_PORT_DISABLED, MODEL_PORT_ENABLED};
    for (size_t i = 0; i < sizeof order; i++) {
        if (find_word(text, model_port_name(order[i]))) {
            *state = order[i];
            return 0;
        }
    }
    char first[256];
    first_or_last_line(text, 0, first, sizeof first);
    snprintf(why, cap, "its output names no port state (expected enabled, disabled or draining): \"%s\"",
             first);
    return -1;
}

/* ---- the backend ---------------------------------------------------------------- */

static const char *action_of(uint8_t state)
{
    switch (state) {
    case MODEL_PORT_ENABLED: return "enable";
    case MODEL_PORT_DISABLED: return "disable";
    case MODEL_PORT_DRAINING: return "drain";
    default: return NULL;
    }
}

static int exec_set(void *impl, uint8_t state, char *err, size_t cap)
{
    struct exec_nlb *x = impl;
    const char *action = action_of(state);
    if (!action) {
        snprintf(err, cap, "internal: cannot set port state %u", state);
        return -1;
    }
    char line[EXEC_LINE_MAX];
    if (expand(x->command, action, x->vip, x->port, line, sizeof line) != 0) {
        snprintf(err, cap, "exec_command is longer than %u characters once filled in",
                 (unsigned)EXEC_LINE_MAX - 1);
        return -1;
    }
    log_write(LOG_INFO, "nlb exec %s: running %s", action, line);
    struct run *r = &x->run;
    if (run(x, action, line, 1, r, err, cap) != 0)
        return -1;
    return r->exit_code == 0 ? 0 : failed(line, r, err, cap);
}

static int exec_query(void *impl, uint8_t *state, char *err, size_t cap)
{
    struct exec_nlb *x = impl;
    *state = MODEL_PORT_UNKNOWN;
    char line[EXEC_LINE_MAX];
    if (expand(x->query, "query", x->vip, x->port, line, sizeof line) != 0) {
        snprintf(err, cap, "exec_query is longer than %u characters once filled in",
                 (unsigned)EXEC_LINE_MAX - 1);
        return -1;
    }
    /* Queries repeat every reconcile_ms: their output is logged only when
     * it cannot be used. */
    struct run *r = &x->run;
    if (run(x, "query", line, 0, r, err, cap) != 0)
        return -1;
    char why[384], sbuf[EXEC_SHOWN_MAX + 8];
    int rc = r->exit_code == 0 ? parse_state(r->text, state, why, sizeof why)
                               : failed(line, r, err, cap);
    if (rc != 0) {
        if (r->exit_code == 0)
            snprintf(err, cap, "cannot read the port rule's state from '%s': %s",
                     shown(line, sbuf, sizeof sbuf), why);
        log_write(LOG_WARNING, "nlb exec query: %s", err);
        each_line(r->text, log_line, (void *)"query");
    }
    return rc;
}

static const char *exec_describe(void *impl) { return ((struct exec_nlb *)impl)->description; }

static void exec_close(void *impl) { free(impl); }

/* No connections: nlb.exe does not count them, and a site's script has no
 * documented way to say; a drain through exec lasts its full drain_ms. */
static const struct nlb_ops exec_ops = {exec_set, exec_query, NULL, exec_describe, exec_close};

void *nlb_exec_open(const struct config *cfg, const char *node, const struct nlb_ops **ops,
                    char *err, size_t cap)
{
    (void)node;
    static const struct {
        const char *key;
        size_t offset;
        const char *action; /* the longest %ACTION% it is filled with */
    } templates[] = {{"exec_command", offsetof(struct config, exec_command), "disable"},
                     {"exec_query", offsetof(struct config, exec_query), "query"}};
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++) {
        const char *tmpl = (const char *)cfg + templates[i].offset;
        char line[EXEC_LINE_MAX], program[MAX_PATH];
        first_token(tmpl, program, sizeof program);
        if (!program[0]) {
            snprintf(err, cap, "[nlb] %s is empty: it must name the program to run", templates[i].key);
            return NULL;
        }
        if (expand(tmpl, templates[i].action, cfg->vip, cfg->port, line, sizeof line) != 0) {
            snprintf(err, cap, "[nlb] %s is longer than %u characters once its placeholders are "
                     "filled in", templates[i].key, (unsigned)EXEC_LINE_MAX - 1);
            return NULL;
        }
        wchar_t wide[EXEC_LINE_MAX];
        if (win_to_wide(line, wide, EXEC_LINE_MAX) != 0) {
            snprintf(err, cap, "[nlb] %s is not valid UTF-8", templates[i].key);
            return NULL;
        }
    }
    struct exec_nlb *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    utf8_copy(x->command, sizeof x->command, cfg->exec_command);
    utf8_copy(x->query, sizeof x->query, cfg->exec_query);
    utf8_copy(x->vip, sizeof x->vip, cfg->vip);
    x->port = cfg->port;
    x->timeout_ms = cfg->nlb_timeout_ms;
    snprintf(x->description, sizeof x->description, "exec %s:%u by '%s'", cfg->vip,
             (unsigned)cfg->port, cfg->exec_command);
    *ops = &exec_ops;
    return x;
}
