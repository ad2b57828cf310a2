/* seal.h - message authentication for nlbctl's TCP links: HMAC-SHA256 with
 * the pre-shared key, bound to one connection and one direction, with a
 * sequence number against replay, reordering and loss.
 *
 * Portable C: no Windows headers, no I/O, no allocation. The HMAC itself is
 * the caller's (a seal_hmac_fn: CNG in the service, see hmac_cng.h), so the
 * core builds and is tested anywhere.
 *
 * A connection, step by step
 * --------------------------
 *  1. Both sides make 16 fresh random bytes (their nonce; never reused) and
 *     call seal_init with the key, their role and that nonce. The side that
 *     called connect() is the initiator, the side that accept()ed is the
 *     acceptor.
 *  2. Each side sends its hello first thing on the connection, in the clear:
 *
 *       offset  size  field
 *       0       3     magic 'N' 'L' 'S'
 *       3       1     seal version (SEAL_VERSION, 1)
 *       4       16    the sender's nonce
 *
 *     (seal_hello_encode). The acceptor may send its hello as soon as it has
 *     accepted, or once it has read the initiator's: both work.
 *  3. Each side reads exactly SEAL_HELLO_SIZE bytes and passes them to
 *     seal_hello_decode (SEAL_TOO_SHORT: read more; SEAL_BAD_HELLO: close),
 *     then gives the nonce to seal_set_peer_nonce. Until then seal_wrap and
 *     seal_unwrap answer SEAL_NOT_READY. Bytes after the hello are the first
 *     sealed frame.
 *  4. Every frame sent is seal_wrap'ed: the frame (a whole wire.h frame,
 *     header included) followed by a SEAL_TRAILER-byte trailer:
 *
 *       offset       size  field
 *       len          8     sequence number, big-endian: 1, 2, 3 ... per
 *                          direction
 *       len + 8      32    MAC = HMAC-SHA256(key, "nlbctl-seal-v1"
 *                                || direction || initiator's nonce
 *                                || acceptor's nonce || sequence || frame)
 *
 *     direction is one byte, 0x01 for frames the initiator sends and 0x02
 *     for frames the acceptor sends; the label has no terminator. The nonces
 *     tie a MAC to this connection, the direction byte stops a frame being
 *     reflected back to its sender, the sequence number stops replay.
 *  5. The receiver takes its length from the frame's own header (wire.h:
 *     header, check the declared length, then payload + SEAL_TRAILER more
 *     bytes) and calls seal_unwrap on the whole sealed frame before it
 *     decodes anything from the payload. A sealed frame is accepted only if
 *     its MAC is right and its sequence number is exactly one more than the
 *     last accepted one.
 *
 * Any error from seal_unwrap means the stream can no longer be trusted:
 * log it (seal_error_text) and close the connection; a new connection starts
 * again at step 1 with new nonces. A failed call changes no state.
 */
#ifndef NLBCTL_SEAL_H
#define NLBCTL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_NONCE 16   /* bytes of nonce per side */
#define SEAL_MAC 32     /* HMAC-SHA256 output */
#define SEAL_SEQ 8      /* sequence number in the trailer */
#define SEAL_TRAILER 40 /* SEAL_SEQ + SEAL_MAC, appended to every frame */
#define SEAL_KEY_MAX 64 /* key bytes; the SHA-256 block size */
#define SEAL_VERSION 1
#define SEAL_HELLO_SIZE 20 /* 'N' 'L' 'S' version, then the nonce */

enum seal_error {
    SEAL_OK = 0,
    SEAL_BAD_MAC = -1,     /* tampered, wrong key, other connection or reflected */
    SEAL_REPLAY = -2,      /* sequence number is not the next one */
    SEAL_TOO_SHORT = -3,   /* shorter than a trailer; hello: read more */
    SEAL_NO_SPACE = -4,    /* output buffer too small */
    SEAL_NOT_READY = -5,   /* peer's nonce not set yet */
    SEAL_BAD_HELLO = -6,   /* not a seal hello, or our own nonce came back */
    SEAL_BAD_KEY = -7,     /* key empty or longer than SEAL_KEY_MAX */
    SEAL_HMAC_FAILED = -8, /* the HMAC function reported an error */
    SEAL_EXHAUSTED = -9    /* sequence numbers used up: reconnect */
};

/* Computes HMAC-SHA256(key, parts[0] || ... || parts[nparts-1]) into out.
 * A part may have length 0. Returns 0 on success, nonzero on failure. */
typedef int (*seal_hmac_fn)(void *hmac_ctx, const uint8_t *key, size_t key_len,
                            const uint8_t *const *parts, const size_t *part_lens,
                            size_t nparts, uint8_t out[32]);

/* One connection's state. The caller owns it (on the stack or in its
 * connection struct); treat the fields as private. */
struct seal {
    uint8_t key[SEAL_KEY_MAX];
    size_t key_len;
    uint8_t local_nonce[SEAL_NONCE];
    uint8_t peer_nonce[SEAL_NONCE];
    int initiator; /* 1: we called connect(); 0: we accepted */
    int ready;     /* peer nonce set */
    uint64_t send_seq; /* last sequence number sent; 0 before the first */
    uint64_t recv_seq; /* last sequence number accepted */
    seal_hmac_fn hmac;
    void *hmac_ctx;
};

/* Starts a connection's state: copies the key (1..SEAL_KEY_MAX bytes) and our
 * nonce; hmac(hmac_ctx, ...) computes every MAC. Returns SEAL_OK or
 * SEAL_BAD_KEY. */
int seal_init(struct seal *s, const uint8_t *key, size_t key_len, int initiator,
              const uint8_t local_nonce[SEAL_NONCE], seal_hmac_fn hmac, void *hmac_ctx);

/* Records the peer's nonce from its hello. Returns SEAL_OK, or SEAL_BAD_HELLO
 * if it equals our own (our hello was reflected back to us). */
int seal_set_peer_nonce(struct seal *s, const uint8_t nonce[SEAL_NONCE]);

/* Writes frame followed by its trailer into out (cap bytes; out may be frame
 * itself when cap >= len + SEAL_TRAILER) and sets *out_len. Returns SEAL_OK,
 * SEAL_NOT_READY, SEAL_NO_SPACE, SEAL_HMAC_FAILED or SEAL_EXHAUSTED; the
 * sequence number advances only on SEAL_OK. */
int seal_wrap(struct seal *s, const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
              size_t *out_len);

/* Checks one sealed frame (frame + trailer, len bytes). SEAL_OK: the frame is
 * buf[0 .. *frame_len) and the receive sequence advanced. Otherwise, checked
 * in this order: SEAL_NOT_READY, SEAL_TOO_SHORT, SEAL_HMAC_FAILED,
 * SEAL_BAD_MAC, SEAL_REPLAY; the state is unchanged. */
int seal_unwrap(struct seal *s, const uint8_t *buf, size_t len, size_t *frame_len);

/* Writes our hello (SEAL_HELLO_SIZE bytes) into out. */
void seal_hello_encode(const uint8_t nonce[SEAL_NONCE], uint8_t out[SEAL_HELLO_SIZE]);

/* Reads a hello from the start of buf. SEAL_OK: nonce filled (only the first
 * SEAL_HELLO_SIZE bytes are used). SEAL_TOO_SHORT: buf is a valid prefix of a
 * hello, read more. SEAL_BAD_HELLO: not a hello of this version, even if
 * only its first bytes have arrived. */
int seal_hello_decode(const uint8_t *buf, size_t len, uint8_t nonce[SEAL_NONCE]);

/* Overwrites the key and nonces, e.g. when the connection closes. */
void seal_clear(struct seal *s);

/* A sentence for an error code, for logs. */
const char *seal_error_text(int err);

#endif
