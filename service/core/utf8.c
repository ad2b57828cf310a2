#include "utf8.h"

#include <stdio.h>
#include <string.h>

static int is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Bytes a character takes, from its first byte; 0 for a byte that cannot
 * start one. */
static size_t sequence_length(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 0;
}

size_t utf8_clip(const char *s, size_t len, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len <= max)
        return len;
    /* u[max] is the first byte left out; if it continues a character, that
     * character started at most three bytes earlier and is left out too. */
    size_t n = max;
    for (int back = 0; back < 3 && n > 0 && is_continuation(u[n]); back++)
        n--;
    return is_continuation(u[n]) ? max : n;
}

size_t utf8_trim_partial(char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    size_t start = len;
    /* Find the first byte of the last character (at most 3 bytes back). */
    for (int back = 0; back < 3 && start > 0 && is_continuation(u[start - 1]); back++)
        start--;
    if (start == 0)
        return len;
    start--;
    size_t need = sequence_length(u[start]);
    if (need > 1 && len - start < need) {
        s[start] = '\0';
        return start;
    }
    return len;
}

size_t utf8_invalid_at(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = u[i];
        size_t need = sequence_length(c);
        if (need == 0 || i + need > len)
            return i;
        if (need == 1) {
            i++;
            continue;
        }
        for (size_t k = 1; k < need; k++)
            if (!is_continuation(u[i + k]))
                return i;
        unsigned char c1 = u[i + 1];
        if ((need == 2 && c < 0xC2) ||                   /* overlong */
            (need == 3 && c == 0xE0 && c1 < 0xA0) ||     /* overlong */
            (need == 3 && c == 0xED && c1 >= 0xA0) ||    /* surrogates */
            (need == 4 && c == 0xF0 && c1 < 0x90) ||     /* overlong */
            (need == 4 && (c > 0xF4 || (c == 0xF4 && c1 >= 0x90)))) /* > U+10FFFF */
            return i;
        i += need;
    }
    return len;
}

size_t utf8_copy(char *dst, size_t cap, const char *src)
{
    size_t n = utf8_clip(src, strlen(src), cap - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
    return n;
}

size_t utf8_vformat(char *dst, size_t cap, const char *fmt, va_list ap)
{
    int w = vsnprintf(dst, cap, fmt, ap);
    if (w >= 0 && (size_t)w < cap)
        return (size_t)w;
    /* Cut (old MSVCRT answers -1 and may leave no terminator). */
    dst[cap - 1] = '\0';
    return utf8_trim_partial(dst);
}

size_t utf8_format(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = utf8_vformat(dst, cap, fmt, ap);
    va_end(ap);
    return n;
}
