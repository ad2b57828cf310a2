/* path_env.c - see path_env.h. */
#include "path_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "winutil.h"

#define ENV_KEY L"SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment"

/* Length of an element once a trailing backslash is ignored. */
static size_t trimmed_len(const wchar_t *s, size_t n)
{
    while (n > 0 && s[n - 1] == L'\\')
        n--;
    return n;
}

static int same_dir(const wchar_t *elem, size_t elen, const wchar_t *dir)
{
    size_t a = trimmed_len(elem, elen);
    size_t b = trimmed_len(dir, wcslen(dir));
    return a == b && a > 0 && _wcsnicmp(elem, dir, a) == 0;
}

wchar_t *path_env_edit(const wchar_t *path, const wchar_t *dir, int add, int *oom)
{
    *oom = 0;
    size_t plen = wcslen(path);
    size_t dlen = wcslen(dir);
    int found = 0;
    for (const wchar_t *p = path;;) {
        const wchar_t *end = wcschr(p, L';');
        size_t n = end ? (size_t)(end - p) : wcslen(p);
        if (same_dir(p, n, dir))
            found = 1;
        if (!end)
            break;
        p = end + 1;
    }
    if (add ? found : !found)
        return NULL;

    wchar_t *out = malloc((plen + dlen + 2) * sizeof *out);
    if (!out) {
        *oom = 1;
        return NULL;
    }
    if (add) {
        /* No empty element: nothing before an empty PATH, no second ';'. */
        size_t o = plen;
        wmemcpy(out, path, plen);
        if (plen > 0 && path[plen - 1] != L';')
            out[o++] = L';';
        wmemcpy(out + o, dir, dlen + 1);
        return out;
    }
    /* Remove: copy every other element, each with the separator that
     * followed it, and drop the separator left trailing by a removed
     * last element. */
    size_t o = 0;
    for (const wchar_t *p = path;;) {
        const wchar_t *end = wcschr(p, L';');
        size_t n = end ? (size_t)(end - p) : wcslen(p);
        if (!same_dir(p, n, dir)) {
            memcpy(out + o, p, n * sizeof *out);
            o += n;
            if (end)
                out[o++] = L';';
        }
        if (!end)
            break;
        p = end + 1;
    }
    /* A removed last element leaves the previous element's ';' behind, which
     * was not there before: take it off (one, the one we caused). */
    if (o > 0 && out[o - 1] == L';' && (plen == 0 || path[plen - 1] != L';'))
        o--;
    out[o] = L'\0';
    return out;
}

DWORD path_env_apply(const wchar_t *dir, int add, char *err, size_t cap)
{
    HKEY key;
    DWORD rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, ENV_KEY, 0, KEY_QUERY_VALUE | KEY_SET_VALUE, &key);
    char why[256];
    if (rc != ERROR_SUCCESS) {
        snprintf(err, cap, "cannot open the system environment in the registry: %s",
                 win_error_text(rc, why, sizeof why));
        return rc;
    }
    wchar_t *path = NULL;
    DWORD type = REG_EXPAND_SZ;
    DWORD bytes = 0;
    rc = RegQueryValueExW(key, L"Path", NULL, &type, NULL, &bytes);
    if (rc == ERROR_FILE_NOT_FOUND) {
        type = REG_EXPAND_SZ;
        bytes = 0;
        rc = ERROR_SUCCESS;
    }
    if (rc == ERROR_SUCCESS && type != REG_SZ && type != REG_EXPAND_SZ) {
        snprintf(err, cap, "the system PATH is not a string in the registry (type %lu); "
                           "not changing it", (unsigned long)type);
        rc = ERROR_INVALID_DATA;
    }
    if (rc == ERROR_SUCCESS) {
        /* Room for a missing terminator: registry strings need not have one. */
        path = calloc(bytes / sizeof(wchar_t) + 2, sizeof(wchar_t));
        if (!path)
            rc = ERROR_OUTOFMEMORY;
        else if (bytes > 0)
            rc = RegQueryValueExW(key, L"Path", NULL, &type, (BYTE *)path, &bytes);
        if (rc != ERROR_SUCCESS)
            snprintf(err, cap, "cannot read the system PATH: %s",
                     win_error_text(rc, why, sizeof why));
    }
    if (rc == ERROR_SUCCESS) {
        int oom = 0;
        wchar_t *edited = path_env_edit(path, dir, add, &oom);
        if (oom) {
            rc = ERROR_OUTOFMEMORY;
            snprintf(err, cap, "out of memory");
        } else if (edited) {
            /* Keep PATH expandable: it normally holds %SystemRoot%. */
            rc = RegSetValueExW(key, L"Path", 0, type == REG_SZ ? REG_SZ : REG_EXPAND_SZ,
                                (const BYTE *)edited,
                                (DWORD)((wcslen(edited) + 1) * sizeof(wchar_t)));
            free(edited);
            if (rc != ERROR_SUCCESS)
                snprintf(err, cap, "cannot write the system PATH: %s",
                         win_error_text(rc, why, sizeof why));
            else
                SendMessageTimeoutW(HWND_BROADCAST, WM_SETTINGCHANGE, 0, (LPARAM)L"Environment",
                                    SMTO_ABORTIFHUNG, 5000, NULL);
        }
    }
    free(path);
    RegCloseKey(key);
    return rc;
}
