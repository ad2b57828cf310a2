/* hmac_cng.c - see hmac_cng.h. CNG reports NTSTATUS; it is turned into a
 * Win32 code here, so callers log it with win_error_text like any other. */
#include "hmac_cng.h"

#include <limits.h>
#include <winternl.h>

#include "seal.h"

/* hmac_cng_sha256 must stay a seal_hmac_fn. */
_Static_assert(_Generic(&hmac_cng_sha256, seal_hmac_fn: 1, default: 0),
               "hmac_cng_sha256 does not match seal_hmac_fn");

static DWORD from_status(NTSTATUS st)
{
    /* A status without a Win32 equivalent maps to ERROR_MR_MID_NOT_FOUND,
     * still an error; only a success status could map to 0. */
    ULONG err = RtlNtStatusToDosError(st);
    return err == ERROR_SUCCESS ? ERROR_INTERNAL_ERROR : (DWORD)err;
}

DWORD hmac_cng_open(struct hmac_cng *ctx)
{
    ctx->alg = NULL;
    ctx->last_error = ERROR_SUCCESS;
    NTSTATUS st = BCryptOpenAlgorithmProvider(&ctx->alg, BCRYPT_SHA256_ALGORITHM, NULL,
                                              BCRYPT_ALG_HANDLE_HMAC_FLAG);
    if (!BCRYPT_SUCCESS(st)) {
        ctx->alg = NULL;
        return from_status(st);
    }
    return ERROR_SUCCESS;
}

void hmac_cng_close(struct hmac_cng *ctx)
{
    if (ctx->alg != NULL)
        BCryptCloseAlgorithmProvider(ctx->alg, 0);
    ctx->alg = NULL;
}

int hmac_cng_sha256(void *hmac_ctx, const uint8_t *key, size_t key_len,
                    const uint8_t *const *parts, const size_t *part_lens, size_t nparts,
                    uint8_t out[32])
{
    struct hmac_cng *ctx = hmac_ctx;
    BCRYPT_HASH_HANDLE hash = NULL;
    NTSTATUS st;
    DWORD err = ERROR_SUCCESS;

    if (ctx == NULL || ctx->alg == NULL) {
        err = ERROR_INVALID_HANDLE;
        goto done;
    }
    if (key_len > ULONG_MAX) {
        err = ERROR_INVALID_PARAMETER;
        goto done;
    }
    /* No hash object buffer: CNG allocates and frees it (Windows 7 and later). */
    st = BCryptCreateHash(ctx->alg, &hash, NULL, 0, (PUCHAR)key, (ULONG)key_len, 0);
    if (!BCRYPT_SUCCESS(st)) {
        hash = NULL;
        err = from_status(st);
        goto done;
    }
    for (size_t i = 0; i < nparts; i++) {
        size_t left = part_lens[i];
        const uint8_t *p = parts[i];
        while (left > 0) { /* BCryptHashData takes a ULONG length */
            ULONG n = left > ULONG_MAX ? ULONG_MAX : (ULONG)left;
            st = BCryptHashData(hash, (PUCHAR)p, n, 0);
            if (!BCRYPT_SUCCESS(st)) {
                err = from_status(st);
                goto done;
            }
            p += n;
            left -= n;
        }
    }
    st = BCryptFinishHash(hash, out, 32, 0);
    if (!BCRYPT_SUCCESS(st))
        err = from_status(st);

done:
    if (hash != NULL)
        BCryptDestroyHash(hash);
    if (err != ERROR_SUCCESS) {
        if (ctx != NULL)
            InterlockedExchange(&ctx->last_error, (LONG)err);
        return -1;
    }
    return 0;
}

DWORD random_bytes(uint8_t *buf, size_t len)
{
    while (len > 0) {
        ULONG n = len > ULONG_MAX ? ULONG_MAX : (ULONG)len;
        NTSTATUS st = BCryptGenRandom(NULL, buf, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        if (!BCRYPT_SUCCESS(st))
            return from_status(st);
        buf += n;
        len -= n;
    }
    return ERROR_SUCCESS;
}
