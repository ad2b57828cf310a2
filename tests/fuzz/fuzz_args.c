/* fuzz_args.c - nlbctl's command line parser (nlbctl/args.c) on arbitrary
 * argument vectors.
 *
 * The input is split at NUL bytes into words, as the console would receive
 * them after converting its wide arguments: at most 31 words after the
 * program name, each cut to 511 bytes (nlbctl.exe refuses more before it
 * parses). Each word is its own heap block, so reading past its end is
 * caught. Checks: the result is 0 or -1, an error is a terminated sentence
 * (it quotes the offending word as typed, line breaks included), an
 * accepted request is complete (a known command, a pipe name, a timeout in
 * range, a port rule with a port for `port`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

#define FAIL(...)                                                               \
    do {                                                                        \
        fprintf(stderr, "fuzz_args: " __VA_ARGS__);                            \
        fputc('\n', stderr);                                                    \
        abort();                                                                \
    } while (0)

#define MAX_WORDS 32
#define WORD_MAX 511

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAX_WORDS];
    int argc = 0;
    static char program[] = "nlbctl";
    argv[argc++] = program;
    size_t at = 0;
    while (at <= size && argc < MAX_WORDS) {
        const uint8_t *nul = memchr(data + at, '\0', size - at);
        size_t n = nul ? (size_t)(nul - (data + at)) : size - at;
        size_t keep = n > WORD_MAX ? WORD_MAX : n;
        char *w = malloc(keep + 1);
        if (!w)
            abort();
        memcpy(w, data + at, keep);
        w[keep] = '\0';
        argv[argc++] = w;
        at += n + 1;
    }

    static struct nlbctl_args a;
    char err[NLBCTL_ARGS_ERROR_MAX];
    int show_usage = -1;
    int rc = nlbctl_args_parse(argc, argv, &a, &show_usage, err, sizeof err);
    if (rc == -1) {
        const char *nul = memchr(err, '\0', sizeof err);
        size_t n = nul ? (size_t)(nul - err) : sizeof err;
        if (n == 0 || n == sizeof err)
            FAIL("bad error message (%zu bytes)", n);
        if (show_usage != 0 && show_usage != 1)
            FAIL("show_usage %d", show_usage);
    } else if (rc == 0) {
        if (!a.pipe || a.cmd > NLBCTL_CMD_VERSION)
            FAIL("incomplete request: command %d", (int)a.cmd);
        if ((a.cmd == NLBCTL_CMD_SWITCHOVER || a.cmd == NLBCTL_CMD_PORT) &&
            (a.timeout_s < 1 || a.timeout_s > 3600))
            FAIL("timeout %u s accepted", a.timeout_s);
        if (a.cmd == NLBCTL_CMD_PORT &&
            (a.nlb.port == 0 || !a.nlb.vip[0] || !a.action_word || a.action > NLBCTL_PORT_QUERY))
            FAIL("incomplete port request");
        if (strlen(a.target) > MODEL_NAME_MAX || strlen(a.node) > MODEL_NAME_MAX)
            FAIL("a name longer than %d bytes", MODEL_NAME_MAX);
    } else {
        FAIL("nlbctl_args_parse returned %d", rc);
    }
    for (int i = 1; i < argc; i++)
        free(argv[i]);
    return 0;
}
