/* seal.c - see seal.h. The MAC input is built as a list of parts handed to
 * the caller's HMAC, so nothing is copied and nothing is allocated. The MAC
 * is checked before the sequence number, so a frame whose number was altered
 * reads as tampered, and only a genuine old frame reads as a replay. */
#include "seal.h"

#include <string.h>

#define SEAL_LABEL "nlbctl-seal-v1"
#define SEAL_LABEL_LEN (sizeof SEAL_LABEL - 1) /* no terminator in the MAC */
#define DIR_FROM_INITIATOR 0x01
#define DIR_FROM_ACCEPTOR 0x02

static const uint8_t hello_magic[4] = {'N', 'L', 'S', SEAL_VERSION};

static void put_u64(uint8_t b[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t b[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

/* Every byte is compared whatever the earlier ones were, so the time taken
 * says nothing about where a forged MAC went wrong. */
static int equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

/* Writes zeros the compiler may not drop as dead stores. */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* The MAC of one frame travelling in one direction of this connection.
 * from_initiator says who sent it, not who we are. */
static int compute_mac(const struct seal *s, int from_initiator, uint64_t seq,
                       const uint8_t *frame, size_t len, uint8_t mac[SEAL_MAC])
{
    uint8_t dir = from_initiator ? DIR_FROM_INITIATOR : DIR_FROM_ACCEPTOR;
    uint8_t seq_be[SEAL_SEQ];
    put_u64(seq_be, seq);
    const uint8_t *init_nonce = s->initiator ? s->local_nonce : s->peer_nonce;
    const uint8_t *acc_nonce = s->initiator ? s->peer_nonce : s->local_nonce;
    const uint8_t *parts[6] = {(const uint8_t *)SEAL_LABEL, &dir, init_nonce, acc_nonce,
                               seq_be, frame};
    const size_t lens[6] = {SEAL_LABEL_LEN, 1, SEAL_NONCE, SEAL_NONCE, SEAL_SEQ, len};
    if (s->hmac(s->hmac_ctx, s->key, s->key_len, parts, lens, 6, mac) != 0)
        return SEAL_HMAC_FAILED;
    return SEAL_OK;
}

int seal_init(struct seal *s, const uint8_t *key, size_t key_len, int initiator,
              const uint8_t local_nonce[SEAL_NONCE], seal_hmac_fn hmac, void *hmac_ctx)
{
    memset(s, 0, sizeof *s);
    if (key_len == 0 || key_len > SEAL_KEY_MAX)
        return SEAL_BAD_KEY;
    memcpy(s->key, key, key_len);
    s->key_len = key_len;
    memcpy(s->local_nonce, local_nonce, SEAL_NONCE);
    s->initiator = initiator ? 1 : 0;
    s->hmac = hmac;
    s->hmac_ctx = hmac_ctx;
    return SEAL_OK;
}

int seal_set_peer_nonce(struct seal *s, const uint8_t nonce[SEAL_NONCE])
{
    if (memcmp(nonce, s->local_nonce, SEAL_NONCE) == 0)
        return SEAL_BAD_HELLO;
    memcpy(s->peer_nonce, nonce, SEAL_NONCE);
    s->ready = 1;
    return SEAL_OK;
}

int seal_wrap(struct seal *s, const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
              size_t *out_len)
{
    if (!s->ready || s->key_len == 0)
        return SEAL_NOT_READY;
    if (s->send_seq == UINT64_MAX)
        return SEAL_EXHAUSTED;
    if (len > cap || cap - len < SEAL_TRAILER)
        return SEAL_NO_SPACE;
    uint64_t seq = s->send_seq + 1;
    uint8_t mac[SEAL_MAC];
    int rc = compute_mac(s, s->initiator, seq, frame, len, mac);
    if (rc != SEAL_OK)
        return rc;
    /* The MAC is computed before anything is written, so out may overlap
     * frame. */
    if (out != frame && len > 0)
        memmove(out, frame, len);
    put_u64(out + len, seq);
    memcpy(out + len + SEAL_SEQ, mac, SEAL_MAC);
    s->send_seq = seq;
    *out_len = len + SEAL_TRAILER;
    return SEAL_OK;
}

int seal_unwrap(struct seal *s, const uint8_t *buf, size_t len, size_t *frame_len)
{
    if (!s->ready || s->key_len == 0)
        return SEAL_NOT_READY;
    if (len < SEAL_TRAILER)
        return SEAL_TOO_SHORT;
    size_t flen = len - SEAL_TRAILER;
    uint64_t seq = get_u64(buf + flen);
    uint8_t mac[SEAL_MAC];
    int rc = compute_mac(s, !s->initiator, seq, buf, flen, mac);
    if (rc != SEAL_OK)
        return rc;
    if (!equal_ct(mac, buf + flen + SEAL_SEQ, SEAL_MAC))
        return SEAL_BAD_MAC;
    /* recv_seq + 1 would wrap to 0 at the end of the range: nothing more
     * can be accepted there. */
    if (s->recv_seq == UINT64_MAX || seq != s->recv_seq + 1)
        return SEAL_REPLAY;
    s->recv_seq = seq;
    *frame_len = flen;
    return SEAL_OK;
}

void seal_hello_encode(const uint8_t nonce[SEAL_NONCE], uint8_t out[SEAL_HELLO_SIZE])
{
    memcpy(out, hello_magic, sizeof hello_magic);
    memcpy(out + sizeof hello_magic, nonce, SEAL_NONCE);
}

int seal_hello_decode(const uint8_t *buf, size_t len, uint8_t nonce[SEAL_NONCE])
{
    /* Refuse a wrong prefix as soon as it shows, not after 20 bytes. */
    size_t have = len < sizeof hello_magic ? len : sizeof hello_magic;
    if (have > 0 && memcmp(buf, hello_magic, have) != 0)
        return SEAL_BAD_HELLO;
    if (len < SEAL_HELLO_SIZE)
        return SEAL_TOO_SHORT;
    memcpy(nonce, buf + sizeof hello_magic, SEAL_NONCE);
    return SEAL_OK;
}

void seal_clear(struct seal *s)
{
    wipe(s->key, sizeof s->key);
    wipe(s->local_nonce, sizeof s->local_nonce);
    wipe(s->peer_nonce, sizeof s->peer_nonce);
    s->key_len = 0;
    s->ready = 0;
}

const char *seal_error_text(int err)
{
    switch (err) {
    case SEAL_OK:
        return "ok";
    case SEAL_BAD_MAC:
        return "message authentication failed: tampered, wrong pre-shared key, or not "
               "from this connection";
    case SEAL_REPLAY:
        return "sequence number out of order: replayed, reordered or lost frame";
    case SEAL_TOO_SHORT:
        return "too short to carry a seal";
    case SEAL_NO_SPACE:
        return "output buffer too small for the sealed frame";
    case SEAL_NOT_READY:
        return "peer's hello not received yet";
    case SEAL_BAD_HELLO:
        return "bad hello: not an nlbctl seal hello of version 1, or our own nonce came back";
    case SEAL_BAD_KEY:
        return "pre-shared key must be 1 to 64 bytes";
    case SEAL_HMAC_FAILED:
        return "HMAC computation failed";
    case SEAL_EXHAUSTED:
        return "sequence numbers used up: reconnect";
    default:
        return "unknown seal error";
    }
}
