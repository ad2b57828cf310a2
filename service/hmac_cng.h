/* hmac_cng.h - HMAC-SHA256 and random bytes through Windows CNG (bcrypt):
 * the seal_hmac_fn the service hands to seal.h, and the nonces it needs.
 *
 *   struct hmac_cng cng;
 *   DWORD err = hmac_cng_open(&cng);          once, at start
 *   seal_init(&s, key, key_len, initiator, nonce, hmac_cng_sha256, &cng);
 *   ...
 *   hmac_cng_close(&cng);                     at exit
 *
 * The provider is opened once and shared by every connection; each MAC makes
 * and destroys its own hash object, so one struct hmac_cng may serve several
 * threads (last_error then belongs to whichever failed last). Link with
 * bcrypt and ntdll. */
#ifndef NLBCTL_HMAC_CNG_H
#define NLBCTL_HMAC_CNG_H

#include <stddef.h>
#include <stdint.h>
#include <windows.h>
#include <bcrypt.h>

struct hmac_cng {
    BCRYPT_ALG_HANDLE alg; /* HMAC-SHA256 provider; NULL when closed */
    /* The last CNG failure in hmac_cng_sha256, as a Win32 code, for the log
     * line after seal.h answers SEAL_HMAC_FAILED. Not reset on success. */
    volatile LONG last_error;
};

/* Opens the HMAC-SHA256 provider. Returns ERROR_SUCCESS or a Win32 code. */
DWORD hmac_cng_open(struct hmac_cng *ctx);

/* Closes the provider; safe on a closed or never opened (zeroed) ctx. */
void hmac_cng_close(struct hmac_cng *ctx);

/* A seal_hmac_fn: HMAC-SHA256(key, parts...) into out; hmac_ctx is an open
 * struct hmac_cng. Returns 0, or -1 (ctx->last_error says why). */
int hmac_cng_sha256(void *hmac_ctx, const uint8_t *key, size_t key_len,
                    const uint8_t *const *parts, const size_t *part_lens, size_t nparts,
                    uint8_t out[32]);

/* Fills buf with len bytes from the system's preferred random generator
 * (nonces, never anything predictable). Returns ERROR_SUCCESS or a Win32 code. */
DWORD random_bytes(uint8_t *buf, size_t len);

#endif
