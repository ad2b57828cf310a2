/* fuzz_wire.c - the message codec on arbitrary bytes.
 *
 * libFuzzer hands over exactly `size` bytes on the heap, so ASan reports any
 * read past them. Beyond "no crash", every answer is checked against the
 * codec's promises (wire.h):
 *   - the result is one of the documented codes;
 *   - wire_frame_size agrees with wire_decode on the header;
 *   - a decoded frame re-encodes to exactly the bytes it came from (the
 *     format has one encoding per message, so two payloads never mean the
 *     same thing), and every shorter prefix of it answers NEED_MORE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define FAIL(...)                                                               \
    do {                                                                        \
        fprintf(stderr, "fuzz_wire: " __VA_ARGS__);                            \
        fputc('\n', stderr);                                                    \
        abort();                                                                \
    } while (0)

static int known_code(int rc)
{
    return rc == WIRE_OK || rc == WIRE_NEED_MORE || rc == WIRE_BAD_MAGIC ||
           rc == WIRE_BAD_VERSION || rc == WIRE_TOO_LARGE || rc == WIRE_BAD_TYPE ||
           rc == WIRE_MALFORMED;
}

/* Decodes a heap copy of the first len bytes, so a read past len is caught
 * even when more input follows it. */
static int decode_prefix(const uint8_t *data, size_t len, struct wire_msg *m, size_t *used)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, data, len);
    int rc = wire_decode(copy, len, m, used);
    free(copy);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wire_msg m;
    size_t used = 0;
    int rc = wire_decode(data, size, &m, &used);
    if (!known_code(rc))
        FAIL("wire_decode returned %d", rc);
    (void)wire_error_text(rc);

    size_t frame_size = 0;
    int hrc = wire_frame_size(data, size, &frame_size);
    if (hrc == WIRE_OK && rc != WIRE_OK && rc != WIRE_NEED_MORE && rc != WIRE_MALFORMED)
        FAIL("header accepted but decode says %d", rc);
    if (hrc != WIRE_OK && hrc != rc)
        FAIL("header says %d, decode says %d", hrc, rc);
    if (hrc == WIRE_OK && (rc == WIRE_NEED_MORE) != (size < frame_size))
        FAIL("NEED_MORE with %zu of %zu bytes", size, frame_size);
    if (rc != WIRE_OK)
        return 0;

    if (used != frame_size || used > size || used < WIRE_HEADER_SIZE)
        FAIL("consumed %zu of %zu, frame size %zu", used, size, frame_size);
    (void)wire_type_name(m.type);

    static uint8_t again[WIRE_MAX_FRAME];
    size_t len = 0;
    int erc = wire_encode(&m, again, sizeof again, &len);
    if (erc != WIRE_OK)
        FAIL("decoded %s does not re-encode: %d", wire_type_name(m.type), erc);
    if (len != used || memcmp(again, data, len) != 0)
        FAIL("%s re-encodes to different bytes (%zu vs %zu)", wire_type_name(m.type), len,
             used);

    /* Prefixes: all of the header's, and a few of the payload's. */
    static struct wire_msg p;
    size_t cuts[WIRE_HEADER_SIZE + 3];
    size_t n = 0;
    for (size_t c = 0; c < WIRE_HEADER_SIZE; c++)
        cuts[n++] = c;
    cuts[n++] = used - 1;
    cuts[n++] = WIRE_HEADER_SIZE + (used - WIRE_HEADER_SIZE) / 2;
    cuts[n++] = WIRE_HEADER_SIZE + (data[used - 1] % (used - WIRE_HEADER_SIZE + 1));
    for (size_t i = 0; i < n; i++) {
        if (cuts[i] >= used)
            continue;
        size_t u = 0;
        int prc = decode_prefix(data, cuts[i], &p, &u);
        if (prc != WIRE_NEED_MORE)
            FAIL("%s cut at %zu of %zu: %d, not NEED_MORE", wire_type_name(m.type), cuts[i],
                 used, prc);
    }
    return 0;
}
