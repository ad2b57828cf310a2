/* epoch_store.c - see epoch_store.h. */
#include "epoch_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "winutil.h"

static void path_of(const char *dir, char *out, size_t cap)
{
    snprintf(out, cap, "%s\\epoch", dir);
}

int epoch_load(const char *state_dir, uint64_t *epoch, char *err, size_t cap)
{
    char path[MAX_PATH + 8];
    path_of(state_dir, path, sizeof path);
    size_t len = 0;
    DWORD rc = 0;
    char *text = win_read_file(path, 64, &len, &rc);
    *epoch = 0;
    if (!text) {
        if (rc == ERROR_FILE_NOT_FOUND)
            return 0;
        char why[256];
        snprintf(err, cap, "cannot read %s: %s", path, win_error_text(rc, why, sizeof why));
        return -1;
    }
    uint64_t v = 0;
    size_t i = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            i = 0;
            break;
        }
        v = v * 10 + d;
    }
    size_t digits = i;
    while (i < len && (text[i] == '\r' || text[i] == '\n'))
        i++;
    free(text);
    if (digits == 0 || i != len) {
        snprintf(err, cap,
                 "%s is damaged (expected one decimal number); restore it, or delete it only if "
                 "every other nlbctld of this pair is stopped",
                 path);
        return -1;
    }
    *epoch = v;
    return 0;
}

int epoch_save(const char *state_dir, uint64_t epoch, char *err, size_t cap)
{
    char path[MAX_PATH + 8], text[32];
    path_of(state_dir, path, sizeof path);
    int n = snprintf(text, sizeof text, "%llu\r\n", (unsigned long long)epoch);
    DWORD rc = win_write_file_atomic(path, text, (size_t)n);
    if (rc != ERROR_SUCCESS) {
        char why[256];
        snprintf(err, cap, "cannot save the epoch to %s: %s", path,
                 win_error_text(rc, why, sizeof why));
        return -1;
    }
    return 0;
}
