/* winutil.h - small Win32 helpers the shell and nlbctl share: UTF-8 <->
 * UTF-16 at the API edge, Win32 error text made in one place, whole-file
 * reads and atomic whole-file writes. */
#ifndef NLBCTL_WINUTIL_H
#define NLBCTL_WINUTIL_H

#include <stddef.h>
#include <windows.h>

/* UTF-8 -> UTF-16 into out (cap wide chars). Returns 0, or -1 if it does not fit. */
int win_to_wide(const char *utf8, wchar_t *out, size_t cap);
/* UTF-16 -> UTF-8 into out (cap bytes). Returns 0, or -1 if it does not fit. */
int win_to_utf8(const wchar_t *wide, char *out, size_t cap);

/* "The system cannot find the file specified. (2)" for a Win32 error code. */
const char *win_error_text(DWORD code, char *buf, size_t cap);

/* Reads a whole file (at most max bytes) into a malloc'd, NUL-terminated
 * buffer. Returns NULL and sets *error (a Win32 code) on failure; a file
 * larger than max gives ERROR_FILE_TOO_LARGE. */
char *win_read_file(const char *path, size_t max, size_t *len, DWORD *error);

/* Replaces path's content with data: writes path.tmp, flushes it, then
 * renames over path, so a reader sees the old or the new content, never a
 * mix, and a crash never leaves a half-written file. Returns a Win32 code. */
DWORD win_write_file_atomic(const char *path, const void *data, size_t len);

/* Milliseconds on a monotonic clock. */
unsigned long long win_now_ms(void);

/* Cancels the overlapped I/O *ov on h and waits at most wait_ms for it to
 * end. Returns 1 if it ended (*ov may be reused or freed), 0 if not: then
 * *ov and its event must stay alive, since the I/O may still write into
 * them (the caller leaks them; it is about to give up on h anyway). An
 * unbounded wait here once hung nlbctl under Wine. */
int win_cancel_io_bounded(HANDLE h, OVERLAPPED *ov, DWORD wait_ms);

#endif
