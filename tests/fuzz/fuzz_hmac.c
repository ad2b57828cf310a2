/* fuzz_hmac.c - see fuzz_hmac.h. */
#include "fuzz_hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

void fuzz_nonce(uint8_t out[SEAL_NONCE], uint8_t seed)
{
    for (int i = 0; i < SEAL_NONCE; i++)
        out[i] = (uint8_t)(seed + 13 * i);
}

/* The parts joined in one buffer, then OpenSSL's one-shot HMAC. A sealed
 * frame is at most WIRE_MAX_FRAME bytes plus the fixed parts; anything
 * longer is refused as an HMAC failure, which the seal code must handle. */
int fuzz_hmac(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *const *parts,
              const size_t *part_lens, size_t nparts, uint8_t out[32])
{
    static uint8_t joined[1 << 16];
    (void)ctx;
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (part_lens[i] > sizeof joined - total)
            return -1;
        if (part_lens[i] > 0)
            memcpy(joined + total, parts[i], part_lens[i]);
        total += part_lens[i];
    }
    unsigned int out_len = 0;
    return HMAC(EVP_sha256(), key, (int)key_len, joined, total, out, &out_len) != NULL &&
                   out_len == 32
               ? 0
               : -1;
}
