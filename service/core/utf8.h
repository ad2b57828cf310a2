/* UTF-8 text that has to fit a fixed buffer.
 *
 * Log lines, error sentences and tool output are UTF-8 and are cut to fit
 * fixed buffers; a cut inside a character leaves bytes that readers (Event
 * Viewer, PowerShell, scripts decoding strictly) reject, so cuts go back to
 * the last character boundary. */
#ifndef NLBCTL_UTF8_H
#define NLBCTL_UTF8_H

#include <stdarg.h>
#include <stddef.h>

/* The longest prefix of s[0..len) that is at most max bytes and does not
 * end inside a multi-byte character. */
size_t utf8_clip(const char *s, size_t len, size_t max);

/* Ends the string s (held in a buffer that was filled up to its end, or
 * shorter) at a character boundary: if the last character is incomplete it
 * is removed. Returns the new length. */
size_t utf8_trim_partial(char *s);

/* The offset of the first byte of s[0..len) that is not part of valid
 * UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), or len
 * if it all is. */
size_t utf8_invalid_at(const char *s, size_t len);

/* Copies src into dst (cap bytes, cap > 0), cut at a character boundary if
 * it does not fit. Returns the length copied. */
size_t utf8_copy(char *dst, size_t cap, const char *src);

/* vsnprintf into dst (cap > 0), always terminated, a cut made at a
 * character boundary. Returns the length written. */
size_t utf8_vformat(char *dst, size_t cap, const char *fmt, va_list ap);

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
size_t utf8_format(char *dst, size_t cap, const char *fmt, ...);

#endif
