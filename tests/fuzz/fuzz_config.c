/* fuzz_config.c - nlbctld's INI parser on arbitrary bytes (the shell reads
 * the file and hands its bytes over as they are), and the key file reader.
 *
 * Beyond "no crash, no over-read": the result is 0 or -1; an error is one
 * terminated line within its buffer; a failed parse leaves the caller's
 * config untouched (a service never starts on half a config); an accepted
 * config obeys what config.h promises (the timing rule, a key or the lab
 * switch, terminated strings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FAIL(...)                                                               \
    do {                                                                        \
        fprintf(stderr, "fuzz_config: " __VA_ARGS__);                          \
        fputc('\n', stderr);                                                    \
        abort();                                                                \
    } while (0)

#define ERR_CAP 200 /* smaller than CONFIG_ERROR_MAX: messages must be cut, not overflow */

static void check_message(const char *err, size_t cap, const char *what)
{
    const char *nul = memchr(err, '\0', cap);
    if (!nul)
        FAIL("%s: message not terminated within %zu bytes", what, cap);
    size_t n = (size_t)(nul - err);
    if (n == 0)
        FAIL("%s: failed without a message", what);
    if (memchr(err, '\n', n) || memchr(err, '\r', n))
        FAIL("%s: message has a line break: %s", what, err);
}

#define TERMINATED(f) (memchr((f), '\0', sizeof(f)) != NULL)

static void check_config(const struct config *c)
{
    if (c->role != MODEL_ROLE_AGENT && c->role != MODEL_ROLE_COORDINATOR)
        FAIL("accepted role %u", c->role);
    if (!TERMINATED(c->pipe) || !TERMINATED(c->pair) || !TERMINATED(c->node) ||
        !TERMINATED(c->node1) || !TERMINATED(c->node2) || !TERMINATED(c->vip) ||
        !TERMINATED(c->state_dir) || !TERMINATED(c->app_args) || !TERMINATED(c->exec_command) ||
        !TERMINATED(c->key_file) || !TERMINATED(c->status_group) || !TERMINATED(c->backend))
        FAIL("an accepted string field is not terminated");
    uint64_t fence = (uint64_t)c->isolation_ms + c->nlb_timeout_ms + c->max_delay_ms;
    uint64_t loss = (uint64_t)c->heartbeat_ms * c->miss_count;
    if (fence >= loss)
        FAIL("accepted a config that breaks the timing rule: %llu >= %llu",
             (unsigned long long)fence, (unsigned long long)loss);
    int has_key = c->key_len != 0 || c->key_file[0] != '\0';
    if (c->allow_unauthenticated ? has_key : !has_key)
        FAIL("accepted key_len %u, key_file '%s', allow_unauthenticated %u", c->key_len,
             c->key_file, c->allow_unauthenticated);
    if (c->key_len != 0 && (c->key_len < 16 || c->key_len > 64))
        FAIL("accepted a %u-byte key", c->key_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config cfg, untouched;
    char err[ERR_CAP];
    memset(&cfg, 0xA5, sizeof cfg);
    memcpy(&untouched, &cfg, sizeof cfg);
    int rc = config_parse("fuzz.ini", (const char *)data, size, &cfg, err, sizeof err);
    if (rc == 0)
        check_config(&cfg);
    else if (rc == -1) {
        check_message(err, sizeof err, "config_parse");
        if (memcmp(&cfg, &untouched, sizeof cfg) != 0)
            FAIL("a failed parse changed the caller's config");
    } else
        FAIL("config_parse returned %d", rc);

    uint8_t key[64];
    uint8_t key_len = 0;
    rc = config_key_from_file_text("fuzz.key", (const char *)data, size, key, &key_len, err,
                                   sizeof err);
    if (rc == 0 && (key_len < 16 || key_len > 64))
        FAIL("key file gave a %u-byte key", key_len);
    if (rc == -1)
        check_message(err, sizeof err, "config_key_from_file_text");
    else if (rc != 0)
        FAIL("config_key_from_file_text returned %d", rc);
    return 0;
}
