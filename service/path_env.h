/* path_env.h - puts a folder on the system PATH and takes it off again,
 * for the installers (nlbctld --path-add / --path-remove).
 *
 * Why not the installers' own means: NSIS strings hold 1023 characters and
 * a server's PATH is often longer (cutting it short would break the host),
 * and Wine's msiexec leaves an empty element behind when it removes an
 * MSI Environment entry. Here the value is read and written whole, at any
 * length, as REG_EXPAND_SZ (PATH holds %SystemRoot% and must keep it), and
 * only our own element is touched. */
#ifndef NLBCTL_PATH_ENV_H
#define NLBCTL_PATH_ENV_H

#include <windows.h>

/* The pure part: `path` with `dir` appended (add) or with every element
 * equal to `dir` removed (remove). Elements compare without case and
 * without a trailing backslash. Other elements, empty ones included, stay
 * exactly as they were. Returns a malloc'd string, or NULL when nothing
 * needs to change (or out of memory: *oom is then set). */
wchar_t *path_env_edit(const wchar_t *path, const wchar_t *dir, int add, int *oom);

/* Edits the system PATH in the registry and tells running programs
 * (WM_SETTINGCHANGE "Environment"). Returns a Win32 code; err gets a
 * sentence on failure. */
DWORD path_env_apply(const wchar_t *dir, int add, char *err, size_t cap);

#endif
