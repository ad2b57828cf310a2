/* fuzz_hmac.h - what the seal fuzz target and the seed generator share: a
 * seal_hmac_fn (OpenSSL's HMAC-SHA256, as the native unit tests use), the
 * fixed test key and nonces, and the record format of sealed inputs. */
#ifndef NLBCTL_FUZZ_HMAC_H
#define NLBCTL_FUZZ_HMAC_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"

/* A fixed key: the target checks framing and refusals, not key secrecy. */
#define FUZZ_KEY "nlbctl fuzz key, 32 bytes long.."
#define FUZZ_KEY_LEN 32

/* The sender (initiator) and receiver (acceptor) nonces of the test link. */
void fuzz_nonce(uint8_t out[SEAL_NONCE], uint8_t seed);
#define FUZZ_NONCE_SENDER 0x11
#define FUZZ_NONCE_RECEIVER 0x77

int fuzz_hmac(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *const *parts,
              const size_t *part_lens, size_t nparts, uint8_t out[32]);

/* Inputs of fuzz_seal start with a mode byte:
 *   FUZZ_SEAL_RAW: the rest is a byte stream from someone without the key
 *     (a hello, then whatever follows), read as the service reads a link;
 *   FUZZ_SEAL_RECORDS: the rest is records [op][len: 2 bytes, big-endian]
 *     [len bytes of frame]; each frame is sealed with the key by an honest
 *     sender, then op says what the network or a meddler does to it. */
#define FUZZ_SEAL_RAW 0
#define FUZZ_SEAL_RECORDS 1
enum fuzz_seal_op {
    FUZZ_OP_DELIVER = 0, /* as sealed */
    FUZZ_OP_FLIP = 1,    /* one bit flipped */
    FUZZ_OP_REPLAY = 2,  /* delivered twice */
    FUZZ_OP_DROP = 3,    /* lost: its sequence number is a gap */
    FUZZ_OP_CUT = 4,     /* its last byte lost */
    FUZZ_OP_COUNT = 5
};

#endif
