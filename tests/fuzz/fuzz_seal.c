/* fuzz_seal.c - the sealed framing of a TCP link, read the way the service
 * reads it (service/net.c: the peer's hello, then for each frame the header
 * alone gives its size, seal_unwrap checks the trailer, and only then is the
 * frame decoded), with the fixed test key of fuzz_hmac.h.
 *
 * Two kinds of input (the mode byte, see fuzz_hmac.h):
 *   - RAW: bytes from someone without the key. Nothing may be accepted,
 *     and nothing may crash or over-read.
 *   - RECORDS: frames sealed by an honest sender, then delivered, altered,
 *     replayed, dropped or cut. The receiver must accept exactly the frames
 *     that were sent, in order, each under its own sequence number: the
 *     j-th accepted frame is the j-th sealed one, byte for byte. When every
 *     record is delivered untouched and is a well-formed frame, every one
 *     must be accepted (the framing loses nothing honest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_hmac.h"
#include "wire.h"

#define FAIL(...)                                                               \
    do {                                                                        \
        fprintf(stderr, "fuzz_seal: " __VA_ARGS__);                            \
        fputc('\n', stderr);                                                    \
        abort();                                                                \
    } while (0)

#define MAX_RECORDS 16
#define STREAM_MAX (SEAL_HELLO_SIZE + 2 * MAX_RECORDS * (WIRE_MAX_FRAME + SEAL_TRAILER))

/* What the honest sender sealed, in sequence order. */
struct sent {
    size_t count;
    size_t off[MAX_RECORDS];
    size_t len[MAX_RECORDS];
    uint8_t bytes[MAX_RECORDS * WIRE_MAX_FRAME];
};

/* One connection's receiving side: net.c's handshake and drain_frames
 * without the socket. Calls back for every frame it accepts; returns how
 * many it accepted before the stream ended or was refused. */
typedef void (*accept_fn)(const uint8_t *frame, size_t len, size_t index, void *ctx);

static size_t receive(const uint8_t *stream, size_t len, accept_fn on_frame, void *ctx)
{
    uint8_t own[SEAL_NONCE], peer[SEAL_NONCE];
    struct seal s;
    fuzz_nonce(own, FUZZ_NONCE_RECEIVER);
    if (seal_init(&s, (const uint8_t *)FUZZ_KEY, FUZZ_KEY_LEN, 0, own, fuzz_hmac, NULL) !=
        SEAL_OK)
        FAIL("seal_init refused the test key");
    int rc = seal_hello_decode(stream, len, peer);
    if (rc != SEAL_OK) {
        if (rc != SEAL_TOO_SHORT && rc != SEAL_BAD_HELLO)
            FAIL("seal_hello_decode returned %d", rc);
        return 0;
    }
    if (seal_set_peer_nonce(&s, peer) != SEAL_OK)
        return 0; /* our own nonce came back */
    size_t off = SEAL_HELLO_SIZE, accepted = 0;
    while (off < len) {
        const uint8_t *at = stream + off;
        size_t have = len - off, frame_size = 0;
        rc = wire_frame_size(at, have, &frame_size);
        if (rc != WIRE_OK)
            break; /* NEED_MORE: wait for bytes that never come; else close */
        size_t total = frame_size + SEAL_TRAILER;
        if (have < total)
            break;
        size_t frame_len = 0;
        /* A heap copy of exactly the sealed frame: a read past it is caught. */
        uint8_t *copy = malloc(total);
        if (!copy)
            abort();
        memcpy(copy, at, total);
        uint64_t seq_before = s.recv_seq;
        rc = seal_unwrap(&s, copy, total, &frame_len);
        if (rc != SEAL_OK) {
            free(copy);
            if (rc != SEAL_BAD_MAC && rc != SEAL_REPLAY && rc != SEAL_HMAC_FAILED)
                FAIL("seal_unwrap returned %d", rc);
            if (s.recv_seq != seq_before)
                FAIL("a refused frame moved the sequence number");
            (void)seal_error_text(rc);
            break;
        }
        if (frame_len != frame_size || s.recv_seq != seq_before + 1)
            FAIL("unwrap: frame %zu of %zu, sequence %llu after %llu", frame_len, frame_size,
                 (unsigned long long)s.recv_seq, (unsigned long long)seq_before);
        struct wire_msg m;
        size_t used = 0;
        rc = wire_decode(copy, frame_len, &m, &used);
        if (rc == WIRE_OK && used != frame_len)
            FAIL("an opened frame decoded %zu of %zu bytes", used, frame_len);
        if (rc == WIRE_OK)
            on_frame(copy, frame_len, accepted, ctx);
        free(copy);
        if (rc != WIRE_OK)
            break; /* authentic but malformed: the service closes too */
        accepted++;
        off += total;
    }
    seal_clear(&s);
    return accepted;
}

static void never(const uint8_t *frame, size_t len, size_t index, void *ctx)
{
    (void)frame;
    (void)ctx;
    FAIL("accepted frame %zu (%zu bytes) from a sender without the key", index, len);
}

static void must_match(const uint8_t *frame, size_t len, size_t index, void *ctx)
{
    const struct sent *sent = ctx;
    if (index >= sent->count || sent->len[index] != len ||
        memcmp(sent->bytes + sent->off[index], frame, len) != 0)
        FAIL("accepted frame %zu is not the %zu-th frame sealed", index, index);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream[STREAM_MAX];
    static struct sent sent;
    if (size < 1)
        return 0;
    if ((data[0] & 1) == FUZZ_SEAL_RAW) {
        receive(data + 1, size - 1, never, NULL);
        return 0;
    }

    uint8_t own[SEAL_NONCE], peer[SEAL_NONCE];
    struct seal tx;
    fuzz_nonce(own, FUZZ_NONCE_SENDER);
    fuzz_nonce(peer, FUZZ_NONCE_RECEIVER);
    if (seal_init(&tx, (const uint8_t *)FUZZ_KEY, FUZZ_KEY_LEN, 1, own, fuzz_hmac, NULL) !=
            SEAL_OK ||
        seal_set_peer_nonce(&tx, peer) != SEAL_OK)
        FAIL("cannot set up the sender");
    seal_hello_encode(own, stream);
    size_t len = SEAL_HELLO_SIZE;
    sent.count = 0;
    size_t sent_bytes = 0;
    int honest = 1;
    const uint8_t *p = data + 1, *end = data + size;
    while (end - p >= 3 && sent.count < MAX_RECORDS) {
        uint8_t op = p[0] % FUZZ_OP_COUNT;
        size_t flen = ((size_t)p[1] << 8) | p[2];
        p += 3;
        if (flen > (size_t)(end - p))
            flen = (size_t)(end - p);
        if (flen > WIRE_MAX_FRAME)
            flen = WIRE_MAX_FRAME;
        uint8_t *out = stream + len;
        size_t sealed = 0;
        if (seal_wrap(&tx, p, flen, out, WIRE_MAX_FRAME + SEAL_TRAILER, &sealed) != SEAL_OK)
            FAIL("seal_wrap refused %zu bytes", flen);
        memcpy(sent.bytes + sent_bytes, p, flen);
        sent.off[sent.count] = sent_bytes;
        sent.len[sent.count++] = flen;
        sent_bytes += flen;
        struct wire_msg m;
        size_t used = 0;
        if (op != FUZZ_OP_DELIVER || wire_decode(p, flen, &m, &used) != WIRE_OK || used != flen)
            honest = 0;
        p += flen;
        switch (op) {
        case FUZZ_OP_FLIP:
            out[(flen * 7 + sent.count) % sealed] ^= (uint8_t)(1u << (sent.count % 8));
            len += sealed;
            break;
        case FUZZ_OP_REPLAY:
            memcpy(out + sealed, out, sealed);
            len += 2 * sealed;
            break;
        case FUZZ_OP_DROP:
            break;
        case FUZZ_OP_CUT:
            len += sealed - 1;
            break;
        default:
            len += sealed;
        }
    }
    seal_clear(&tx);
    size_t accepted = receive(stream, len, must_match, &sent);
    if (honest && accepted != sent.count)
        FAIL("%zu honest frames sent, %zu accepted", sent.count, accepted);
    return 0;
}
