/* test_seal.c - link authentication: the HMAC in use gives the RFC 4231
 * answers; a sealed frame opens on the other side of its own connection and
 * nowhere else; any altered bit, a replay, a reordering, a gap, a reflection,
 * another connection's frame or another key is refused with its own code;
 * the hello codec; the trailer matches a known answer computed outside the
 * project, so Linux and Windows seal identically.
 *
 * The HMAC is OpenSSL's natively and CNG's (hmac_cng.c) under Windows/Wine.
 * Every unwrap and hello decode runs on a heap copy of exactly the bytes
 * under test, so the sanitizer build catches any read past `len`. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

/* ---- the HMAC under test ---------------------------------------------------- */

#ifdef _WIN32
#include "hmac_cng.h"

static struct hmac_cng cng;
static const seal_hmac_fn test_hmac = hmac_cng_sha256;
#define TEST_CTX ((void *)&cng)

static void hmac_setup(void) { ck_assert_uint_eq(hmac_cng_open(&cng), ERROR_SUCCESS); }
static void hmac_teardown(void) { hmac_cng_close(&cng); }
#else
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* OpenSSL's one-shot HMAC over the parts joined in one buffer. The context
 * must be the one seal_init was given: proves seal passes it through. */
static int ctx_marker;
#define TEST_CTX ((void *)&ctx_marker)

static int openssl_hmac(void *ctx, const uint8_t *key, size_t key_len,
                        const uint8_t *const *parts, const size_t *part_lens, size_t nparts,
                        uint8_t out[32])
{
    if (ctx != TEST_CTX)
        return -1;
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += part_lens[i];
    uint8_t *joined = malloc(total ? total : 1);
    if (joined == NULL)
        return -1;
    size_t at = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (part_lens[i] > 0)
            memcpy(joined + at, parts[i], part_lens[i]);
        at += part_lens[i];
    }
    unsigned int out_len = 0;
    const unsigned char *r =
        HMAC(EVP_sha256(), key, (int)key_len, joined, total, out, &out_len);
    free(joined);
    return (r != NULL && out_len == 32) ? 0 : -1;
}

static const seal_hmac_fn test_hmac = openssl_hmac;

static void hmac_setup(void) {}
static void hmac_teardown(void) {}
#endif

/* ---- helpers ---------------------------------------------------------------- */

static const uint8_t key1[] = "correct horse battery staple, 32b";
static const uint8_t key2[] = "correct horse battery staple, 32c";
#define KEY1_LEN (sizeof key1 - 1)
#define KEY2_LEN (sizeof key2 - 1)

static void nonce_fill(uint8_t n[SEAL_NONCE], uint8_t seed)
{
    for (int i = 0; i < SEAL_NONCE; i++)
        n[i] = (uint8_t)(seed + i * 7);
}

/* Both ends of one connection: ini connected, acc accepted. */
struct link {
    struct seal ini;
    struct seal acc;
};

static void link_open(struct link *l, const uint8_t *key, size_t key_len, uint8_t ini_seed,
                      uint8_t acc_seed)
{
    uint8_t ni[SEAL_NONCE], na[SEAL_NONCE];
    nonce_fill(ni, ini_seed);
    nonce_fill(na, acc_seed);
    ck_assert_int_eq(seal_init(&l->ini, key, key_len, 1, ni, test_hmac, TEST_CTX), SEAL_OK);
    ck_assert_int_eq(seal_init(&l->acc, key, key_len, 0, na, test_hmac, TEST_CTX), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&l->ini, na), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&l->acc, ni), SEAL_OK);
}

/* A frame of n bytes whose content depends on tag. */
static void frame_fill(uint8_t *f, size_t n, uint8_t tag)
{
    for (size_t i = 0; i < n; i++)
        f[i] = (uint8_t)(tag * 31 + i);
}

/* seal_unwrap on a heap copy of exactly len bytes; on SEAL_OK checks the
 * frame is the expected one. */
static int unwrap_copy(struct seal *s, const uint8_t *buf, size_t len, const uint8_t *want,
                       size_t want_len)
{
    uint8_t *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    if (len)
        memcpy(copy, buf, len);
    size_t flen = (size_t)-1;
    int rc = seal_unwrap(s, copy, len, &flen);
    if (rc == SEAL_OK) {
        ck_assert_uint_eq(flen, want_len);
        if (want_len)
            ck_assert_mem_eq(copy, want, want_len);
    }
    free(copy);
    return rc;
}

static int hello_copy(const uint8_t *buf, size_t len, uint8_t nonce[SEAL_NONCE])
{
    uint8_t *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    if (len)
        memcpy(copy, buf, len);
    int rc = seal_hello_decode(copy, len, nonce);
    free(copy);
    return rc;
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + (size_t)j];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
}

/* ---- the HMAC: RFC 4231 ------------------------------------------------------ */

static void check_hmac(const uint8_t *key, size_t key_len, const char *data, const char *hex)
{
    uint8_t want[32], got[32];
    hex_to_bytes(hex, want, 32);
    const uint8_t *parts[1] = {(const uint8_t *)data};
    size_t lens[1] = {strlen(data)};
    memset(got, 0, sizeof got);
    ck_assert_int_eq(test_hmac(TEST_CTX, key, key_len, parts, lens, 1, got), 0);
    ck_assert_mem_eq(got, want, 32);
}

START_TEST(rfc4231_case1)
{
    uint8_t key[20];
    memset(key, 0x0b, sizeof key);
    check_hmac(key, sizeof key, "Hi There",
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
END_TEST

START_TEST(rfc4231_case2)
{
    check_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

/* The same message cut into parts at every place, with empty parts between:
 * the HMAC must hash the concatenation, whatever the cut. */
START_TEST(rfc4231_case2_in_parts)
{
    const char *data = "what do ya want for nothing?";
    size_t n = strlen(data);
    uint8_t want[32];
    hex_to_bytes("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
    for (size_t cut = 0; cut <= n; cut++) {
        const uint8_t *parts[4] = {(const uint8_t *)data, (const uint8_t *)"",
                                   (const uint8_t *)data + cut, (const uint8_t *)""};
        size_t lens[4] = {cut, 0, n - cut, 0};
        uint8_t got[32];
        memset(got, 0, sizeof got);
        ck_assert_int_eq(test_hmac(TEST_CTX, (const uint8_t *)"Jefe", 4, parts, lens, 4, got), 0);
        ck_assert_mem_eq(got, want, 32);
    }
}
END_TEST

START_TEST(rfc4231_case6)
{
    uint8_t key[131];
    memset(key, 0xaa, sizeof key);
    check_hmac(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First",
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(rfc4231_case7)
{
    uint8_t key[131];
    memset(key, 0xaa, sizeof key);
    check_hmac(key, sizeof key,
               "This is a test using a larger than block-size key and a larger than "
               "block-size data. The key needs to be hashed before being used by the "
               "HMAC algorithm.",
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}
END_TEST

#ifdef _WIN32
START_TEST(cng_random_bytes)
{
    uint8_t a[64], b[64], zero[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    memset(zero, 0, sizeof zero);
    ck_assert_uint_eq(random_bytes(a, sizeof a), ERROR_SUCCESS);
    ck_assert_uint_eq(random_bytes(b, sizeof b), ERROR_SUCCESS);
    ck_assert(memcmp(a, zero, sizeof a) != 0);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    ck_assert_uint_eq(random_bytes(a, 0), ERROR_SUCCESS);
}
END_TEST

/* A closed provider gives an error and a reason, never a crash; closing
 * twice is harmless. */
START_TEST(cng_closed_provider)
{
    struct hmac_cng closed;
    memset(&closed, 0, sizeof closed);
    const uint8_t *parts[1] = {(const uint8_t *)"x"};
    size_t lens[1] = {1};
    uint8_t out[32];
    ck_assert_int_ne(hmac_cng_sha256(&closed, (const uint8_t *)"k", 1, parts, lens, 1, out), 0);
    ck_assert_int_eq(closed.last_error, ERROR_INVALID_HANDLE);
    ck_assert_int_ne(hmac_cng_sha256(NULL, (const uint8_t *)"k", 1, parts, lens, 1, out), 0);
    ck_assert_uint_eq(hmac_cng_open(&closed), ERROR_SUCCESS);
    hmac_cng_close(&closed);
    hmac_cng_close(&closed);
    ck_assert_ptr_null(closed.alg);
}
END_TEST
#endif

/* ---- round trips -------------------------------------------------------------- */

static void one_way(struct seal *from, struct seal *to, size_t n, uint8_t tag)
{
    uint8_t frame[256], out[256 + SEAL_TRAILER];
    ck_assert_uint_le(n, sizeof frame);
    frame_fill(frame, n, tag);
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(from, frame, n, out, sizeof out, &out_len), SEAL_OK);
    ck_assert_uint_eq(out_len, n + SEAL_TRAILER);
    ck_assert_mem_eq(out, frame, n);
    ck_assert_int_eq(unwrap_copy(to, out, out_len, frame, n), SEAL_OK);
}

START_TEST(initiator_to_acceptor)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 1, 2);
    one_way(&l.ini, &l.acc, 20, 1);
}
END_TEST

START_TEST(acceptor_to_initiator)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 1, 2);
    one_way(&l.acc, &l.ini, 20, 1);
}
END_TEST

/* Each direction counts on its own: interleaving does not disturb either. */
START_TEST(many_frames_both_ways)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 3, 4);
    for (int i = 0; i < 200; i++) {
        if (i % 3 != 0)
            one_way(&l.ini, &l.acc, (size_t)(12 + i % 50), (uint8_t)i);
        else
            one_way(&l.acc, &l.ini, (size_t)(12 + i % 37), (uint8_t)i);
    }
    ck_assert_uint_eq(l.ini.send_seq, l.acc.recv_seq);
    ck_assert_uint_eq(l.acc.send_seq, l.ini.recv_seq);
}
END_TEST

START_TEST(wrap_in_place)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 5, 6);
    uint8_t buf[64 + SEAL_TRAILER], frame[64];
    frame_fill(frame, sizeof frame, 9);
    memcpy(buf, frame, sizeof frame);
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(&l.ini, buf, sizeof frame, buf, sizeof buf, &out_len), SEAL_OK);
    ck_assert_uint_eq(out_len, sizeof buf);
    ck_assert_int_eq(unwrap_copy(&l.acc, buf, out_len, frame, sizeof frame), SEAL_OK);
}
END_TEST

START_TEST(empty_frame)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 5, 6);
    uint8_t out[SEAL_TRAILER];
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(&l.ini, NULL, 0, out, sizeof out, &out_len), SEAL_OK);
    ck_assert_uint_eq(out_len, SEAL_TRAILER);
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len, NULL, 0), SEAL_OK);
}
END_TEST

/* The largest wire frame (12-byte header + 4096 payload) and the longest key. */
START_TEST(largest_frame_longest_key)
{
    uint8_t key[SEAL_KEY_MAX];
    memset(key, 0x5c, sizeof key);
    struct link l;
    link_open(&l, key, sizeof key, 7, 8);
    enum { N = 12 + 4096 };
    static uint8_t frame[N], out[N + SEAL_TRAILER];
    frame_fill(frame, N, 3);
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(&l.acc, frame, N, out, sizeof out, &out_len), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.ini, out, out_len, frame, N), SEAL_OK);
}
END_TEST

/* ---- the format: a known answer computed outside the project ------------------ */

/* Python: hmac.new(bytes(range(1,33)), b"nlbctl-seal-v1" + bytes([dir])
 *   + ini_nonce + acc_nonce + seq.to_bytes(8, "big") + frame, sha256) with
 * ini_nonce = A0..AF, acc_nonce = B0..BF, and the frame below. */
static const uint8_t ka_frame[] = {'N', 'L', 1, 4, 0, 0, 0, 8, 0, 0, 0, 0x2a,
                                   0,   0,   0, 0, 0, 0, 0, 7};

static void ka_link(struct link *l)
{
    uint8_t key[32], ni[SEAL_NONCE], na[SEAL_NONCE];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i + 1);
    for (int i = 0; i < SEAL_NONCE; i++) {
        ni[i] = (uint8_t)(0xA0 + i);
        na[i] = (uint8_t)(0xB0 + i);
    }
    ck_assert_int_eq(seal_init(&l->ini, key, 32, 1, ni, test_hmac, TEST_CTX), SEAL_OK);
    ck_assert_int_eq(seal_init(&l->acc, key, 32, 0, na, test_hmac, TEST_CTX), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&l->ini, na), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&l->acc, ni), SEAL_OK);
}

static void check_trailer(struct seal *from, uint64_t seq, const char *mac_hex)
{
    uint8_t out[sizeof ka_frame + SEAL_TRAILER], want[SEAL_MAC];
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(from, ka_frame, sizeof ka_frame, out, sizeof out, &out_len),
                     SEAL_OK);
    ck_assert_uint_eq(out_len, sizeof out);
    const uint8_t *t = out + sizeof ka_frame;
    for (int i = 0; i < 7; i++)
        ck_assert_uint_eq(t[i], 0);
    ck_assert_uint_eq(t[7], seq);
    hex_to_bytes(mac_hex, want, SEAL_MAC);
    ck_assert_mem_eq(t + SEAL_SEQ, want, SEAL_MAC);
}

START_TEST(known_answer)
{
    struct link l;
    ka_link(&l);
    check_trailer(&l.ini, 1, "4766028b80fb441469972924a31479d106cbcb887ec4c520b4acff87771965d7");
    check_trailer(&l.ini, 2, "b8d079503b2bfbba16761556a2588c73cbbb451191a2d3832cfb52b836b3a0d5");
    /* The acceptor orders the nonces the same way, initiator's first, and
     * uses the other direction byte. */
    check_trailer(&l.acc, 1, "ff574ddbaf122f768e348e2bef96ac155758aca44c3438297137704545c562de");
}
END_TEST

/* ---- tampering ------------------------------------------------------------------ */

/* Every single-bit change, in the frame, the sequence number or the MAC,
 * is refused as a bad MAC, and none of them disturbs the receiver. */
START_TEST(every_bit_flip_is_bad_mac)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 11, 12);
    uint8_t frame[24], out[24 + SEAL_TRAILER], bad[24 + SEAL_TRAILER];
    frame_fill(frame, sizeof frame, 5);
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(&l.ini, frame, sizeof frame, out, sizeof out, &out_len), SEAL_OK);
    for (size_t bit = 0; bit < out_len * 8; bit++) {
        memcpy(bad, out, out_len);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_msg(unwrap_copy(&l.acc, bad, out_len, frame, sizeof frame) == SEAL_BAD_MAC,
                      "bit %u of %u accepted", (unsigned)bit, (unsigned)(out_len * 8));
    }
    ck_assert_uint_eq(l.acc.recv_seq, 0);
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len, frame, sizeof frame), SEAL_OK);
}
END_TEST

/* A byte cut off or added moves the trailer: refused, not misread. */
START_TEST(cut_or_extended_is_bad_mac)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 11, 12);
    uint8_t frame[24], out[24 + SEAL_TRAILER + 1];
    frame_fill(frame, sizeof frame, 6);
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(&l.ini, frame, sizeof frame, out, sizeof out, &out_len), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len - 1, frame, sizeof frame), SEAL_BAD_MAC);
    out[out_len] = 0;
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len + 1, frame, sizeof frame), SEAL_BAD_MAC);
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len, frame, sizeof frame), SEAL_OK);
}
END_TEST

/* ---- replay, reordering, loss --------------------------------------------------- */

START_TEST(replay_refused)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 21, 22);
    uint8_t frame[16], out[16 + SEAL_TRAILER];
    frame_fill(frame, sizeof frame, 1);
    size_t out_len = 0;
    ck_assert_int_eq(seal_wrap(&l.ini, frame, sizeof frame, out, sizeof out, &out_len), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len, frame, sizeof frame), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len, frame, sizeof frame), SEAL_REPLAY);
    ck_assert_int_eq(unwrap_copy(&l.acc, out, out_len, frame, sizeof frame), SEAL_REPLAY);
    /* The stream goes on with the next genuine frame. */
    one_way(&l.ini, &l.acc, 16, 2);
}
END_TEST

START_TEST(reorder_refused)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 23, 24);
    uint8_t f1[16], f2[16], o1[16 + SEAL_TRAILER], o2[16 + SEAL_TRAILER];
    frame_fill(f1, sizeof f1, 1);
    frame_fill(f2, sizeof f2, 2);
    size_t n1 = 0, n2 = 0;
    ck_assert_int_eq(seal_wrap(&l.ini, f1, sizeof f1, o1, sizeof o1, &n1), SEAL_OK);
    ck_assert_int_eq(seal_wrap(&l.ini, f2, sizeof f2, o2, sizeof o2, &n2), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.acc, o2, n2, f2, sizeof f2), SEAL_REPLAY);
    ck_assert_uint_eq(l.acc.recv_seq, 0);
    /* In order they are fine; then the first again is a replay. */
    ck_assert_int_eq(unwrap_copy(&l.acc, o1, n1, f1, sizeof f1), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.acc, o2, n2, f2, sizeof f2), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.acc, o1, n1, f1, sizeof f1), SEAL_REPLAY);
}
END_TEST

START_TEST(gap_refused)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 25, 26);
    uint8_t f[16], o[3][16 + SEAL_TRAILER];
    size_t n[3];
    frame_fill(f, sizeof f, 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(seal_wrap(&l.acc, f, sizeof f, o[i], sizeof o[i], &n[i]), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.ini, o[0], n[0], f, sizeof f), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.ini, o[2], n[2], f, sizeof f), SEAL_REPLAY); /* 2 lost */
    ck_assert_uint_eq(l.ini.recv_seq, 1);
}
END_TEST

/* ---- binding to connection, direction and key ------------------------------------ */

/* Same key, same roles, another connection (other nonces): refused. */
START_TEST(other_connection_refused)
{
    struct link a, b;
    link_open(&a, key1, KEY1_LEN, 31, 32);
    link_open(&b, key1, KEY1_LEN, 33, 34);
    uint8_t f[16], o[16 + SEAL_TRAILER];
    size_t n = 0;
    frame_fill(f, sizeof f, 1);
    ck_assert_int_eq(seal_wrap(&a.ini, f, sizeof f, o, sizeof o, &n), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&b.acc, o, n, f, sizeof f), SEAL_BAD_MAC);
    ck_assert_int_eq(seal_wrap(&a.acc, f, sizeof f, o, sizeof o, &n), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&b.ini, o, n, f, sizeof f), SEAL_BAD_MAC);

    /* Sharing one nonce is not enough either: only the acceptor's differs. */
    struct link c;
    link_open(&c, key1, KEY1_LEN, 31, 35);
    ck_assert_int_eq(seal_wrap(&a.ini, f, sizeof f, o, sizeof o, &n), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&c.acc, o, n, f, sizeof f), SEAL_BAD_MAC);
}
END_TEST

/* A frame sent back to the side that sealed it: refused both ways. */
START_TEST(reflection_refused)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 41, 42);
    uint8_t f[16], o[16 + SEAL_TRAILER];
    size_t n = 0;
    frame_fill(f, sizeof f, 1);
    ck_assert_int_eq(seal_wrap(&l.ini, f, sizeof f, o, sizeof o, &n), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.ini, o, n, f, sizeof f), SEAL_BAD_MAC);
    ck_assert_int_eq(seal_wrap(&l.acc, f, sizeof f, o, sizeof o, &n), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&l.acc, o, n, f, sizeof f), SEAL_BAD_MAC);
}
END_TEST

/* Our own hello coming back would give both MAC inputs the same nonces:
 * refused at the hello. */
START_TEST(own_nonce_refused)
{
    uint8_t n[SEAL_NONCE];
    nonce_fill(n, 43);
    struct seal s;
    ck_assert_int_eq(seal_init(&s, key1, KEY1_LEN, 1, n, test_hmac, TEST_CTX), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&s, n), SEAL_BAD_HELLO);
    uint8_t f[4] = {1, 2, 3, 4}, o[4 + SEAL_TRAILER];
    size_t len = 0;
    ck_assert_int_eq(seal_wrap(&s, f, sizeof f, o, sizeof o, &len), SEAL_NOT_READY);
}
END_TEST

/* Both ends believing they are the initiator (or both the acceptor)
 * cannot talk: each would read the other's frames as its own reflected. */
START_TEST(same_role_refused)
{
    uint8_t n1[SEAL_NONCE], n2[SEAL_NONCE];
    nonce_fill(n1, 51);
    nonce_fill(n2, 52);
    for (int role = 0; role <= 1; role++) {
        struct seal a, b;
        ck_assert_int_eq(seal_init(&a, key1, KEY1_LEN, role, n1, test_hmac, TEST_CTX), SEAL_OK);
        ck_assert_int_eq(seal_init(&b, key1, KEY1_LEN, role, n2, test_hmac, TEST_CTX), SEAL_OK);
        ck_assert_int_eq(seal_set_peer_nonce(&a, n2), SEAL_OK);
        ck_assert_int_eq(seal_set_peer_nonce(&b, n1), SEAL_OK);
        uint8_t f[16], o[16 + SEAL_TRAILER];
        size_t n = 0;
        frame_fill(f, sizeof f, 1);
        ck_assert_int_eq(seal_wrap(&a, f, sizeof f, o, sizeof o, &n), SEAL_OK);
        ck_assert_int_eq(unwrap_copy(&b, o, n, f, sizeof f), SEAL_BAD_MAC);
    }
}
END_TEST

START_TEST(wrong_key_refused)
{
    struct link good, bad;
    link_open(&good, key1, KEY1_LEN, 61, 62);
    link_open(&bad, key2, KEY2_LEN, 61, 62); /* same nonces, one byte of key differs */
    uint8_t f[16], o[16 + SEAL_TRAILER];
    size_t n = 0;
    frame_fill(f, sizeof f, 1);
    ck_assert_int_eq(seal_wrap(&good.ini, f, sizeof f, o, sizeof o, &n), SEAL_OK);
    ck_assert_int_eq(unwrap_copy(&bad.acc, o, n, f, sizeof f), SEAL_BAD_MAC);

    /* A key that is a prefix of the right one is another key. */
    struct link prefix;
    link_open(&prefix, key1, KEY1_LEN - 1, 61, 62);
    ck_assert_int_eq(unwrap_copy(&prefix.acc, o, n, f, sizeof f), SEAL_BAD_MAC);
    ck_assert_int_eq(unwrap_copy(&good.acc, o, n, f, sizeof f), SEAL_OK);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */

START_TEST(too_short)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 71, 72);
    uint8_t junk[SEAL_TRAILER];
    memset(junk, 0, sizeof junk);
    for (size_t n = 0; n < SEAL_TRAILER; n++)
        ck_assert_int_eq(unwrap_copy(&l.acc, junk, n, NULL, 0), SEAL_TOO_SHORT);
    /* A trailer's worth of zeros is long enough, and forged. */
    ck_assert_int_eq(unwrap_copy(&l.acc, junk, SEAL_TRAILER, NULL, 0), SEAL_BAD_MAC);
}
END_TEST

START_TEST(not_ready)
{
    uint8_t n[SEAL_NONCE];
    nonce_fill(n, 73);
    struct seal s;
    ck_assert_int_eq(seal_init(&s, key1, KEY1_LEN, 0, n, test_hmac, TEST_CTX), SEAL_OK);
    uint8_t f[8] = {0}, o[8 + SEAL_TRAILER] = {0};
    size_t len = 0;
    ck_assert_int_eq(seal_wrap(&s, f, sizeof f, o, sizeof o, &len), SEAL_NOT_READY);
    ck_assert_int_eq(unwrap_copy(&s, o, sizeof o, f, sizeof f), SEAL_NOT_READY);
    ck_assert_uint_eq(s.send_seq, 0);

    /* Cleared at close: nothing more goes through, and the key is gone. */
    struct link l;
    link_open(&l, key1, KEY1_LEN, 74, 75);
    seal_clear(&l.ini);
    ck_assert_int_eq(seal_wrap(&l.ini, f, sizeof f, o, sizeof o, &len), SEAL_NOT_READY);
    uint8_t zero[SEAL_KEY_MAX] = {0};
    ck_assert_mem_eq(l.ini.key, zero, SEAL_KEY_MAX);
}
END_TEST

START_TEST(no_space)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 76, 77);
    uint8_t f[16], o[16 + SEAL_TRAILER];
    frame_fill(f, sizeof f, 1);
    memset(o, 0xEE, sizeof o);
    size_t n = 0;
    ck_assert_int_eq(seal_wrap(&l.ini, f, sizeof f, o, sizeof o - 1, &n), SEAL_NO_SPACE);
    ck_assert_int_eq(seal_wrap(&l.ini, f, sizeof f, o, 0, &n), SEAL_NO_SPACE);
    ck_assert_int_eq(seal_wrap(&l.ini, f, SIZE_MAX, o, sizeof o, &n), SEAL_NO_SPACE);
    ck_assert_uint_eq(o[0], 0xEE); /* nothing written */
    ck_assert_uint_eq(l.ini.send_seq, 0);
    one_way(&l.ini, &l.acc, 16, 1); /* still sequence 1 */
}
END_TEST

START_TEST(bad_key)
{
    uint8_t n[SEAL_NONCE], key[SEAL_KEY_MAX + 1];
    nonce_fill(n, 78);
    memset(key, 1, sizeof key);
    struct seal s;
    ck_assert_int_eq(seal_init(&s, key, 0, 1, n, test_hmac, TEST_CTX), SEAL_BAD_KEY);
    ck_assert_int_eq(seal_init(&s, key, SEAL_KEY_MAX + 1, 1, n, test_hmac, TEST_CTX),
                     SEAL_BAD_KEY);
    /* A refused init leaves a state that seals nothing. */
    ck_assert_int_eq(seal_set_peer_nonce(&s, key), SEAL_OK);
    uint8_t f[4] = {0}, o[4 + SEAL_TRAILER];
    size_t len = 0;
    ck_assert_int_eq(seal_wrap(&s, f, sizeof f, o, sizeof o, &len), SEAL_NOT_READY);
    ck_assert_int_eq(seal_init(&s, key, SEAL_KEY_MAX, 1, n, test_hmac, TEST_CTX), SEAL_OK);
}
END_TEST

static int failing_calls;
static int failing_hmac(void *ctx, const uint8_t *key, size_t key_len,
                        const uint8_t *const *parts, const size_t *part_lens, size_t nparts,
                        uint8_t out[32])
{
    (void)ctx, (void)key, (void)key_len, (void)parts, (void)part_lens, (void)nparts;
    memset(out, 0, 32);
    failing_calls++;
    return -1;
}

START_TEST(hmac_failure)
{
    uint8_t n1[SEAL_NONCE], n2[SEAL_NONCE];
    nonce_fill(n1, 81);
    nonce_fill(n2, 82);
    struct seal s;
    ck_assert_int_eq(seal_init(&s, key1, KEY1_LEN, 1, n1, failing_hmac, NULL), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&s, n2), SEAL_OK);
    uint8_t f[8] = {0}, o[8 + SEAL_TRAILER];
    size_t len = 0;
    failing_calls = 0;
    ck_assert_int_eq(seal_wrap(&s, f, sizeof f, o, sizeof o, &len), SEAL_HMAC_FAILED);
    ck_assert_uint_eq(s.send_seq, 0);
    /* An all-zero MAC from a failed HMAC must never pass as a match. */
    memset(o, 0, sizeof o);
    o[sizeof f + 7] = 1;
    ck_assert_int_eq(unwrap_copy(&s, o, sizeof o, f, sizeof f), SEAL_HMAC_FAILED);
    ck_assert_uint_eq(s.recv_seq, 0);
    ck_assert_int_eq(failing_calls, 2);
}
END_TEST

/* The ends of the sequence range: the last number is usable once, then the
 * sender stops and the receiver accepts nothing more. */
START_TEST(sequence_exhausted)
{
    struct link l;
    link_open(&l, key1, KEY1_LEN, 83, 84);
    l.ini.send_seq = UINT64_MAX - 1;
    l.acc.recv_seq = UINT64_MAX - 1;
    one_way(&l.ini, &l.acc, 16, 1);
    ck_assert_uint_eq(l.acc.recv_seq, UINT64_MAX);
    uint8_t f[16], o[16 + SEAL_TRAILER];
    size_t n = 0;
    frame_fill(f, sizeof f, 2);
    ck_assert_int_eq(seal_wrap(&l.ini, f, sizeof f, o, sizeof o, &n), SEAL_EXHAUSTED);

    /* A sequence number that wrapped to 0 is not the next one. */
    struct link m;
    link_open(&m, key1, KEY1_LEN, 83, 84);
    ck_assert_int_eq(seal_wrap(&m.ini, f, sizeof f, o, sizeof o, &n), SEAL_OK); /* seq 1 */
    m.acc.recv_seq = UINT64_MAX;
    ck_assert_int_eq(unwrap_copy(&m.acc, o, n, f, sizeof f), SEAL_REPLAY);
    m.acc.recv_seq = 1;
    ck_assert_int_eq(unwrap_copy(&m.acc, o, n, f, sizeof f), SEAL_REPLAY);
    m.acc.recv_seq = 0;
    ck_assert_int_eq(unwrap_copy(&m.acc, o, n, f, sizeof f), SEAL_OK);
}
END_TEST

/* ---- hello ------------------------------------------------------------------------ */

START_TEST(hello_round_trip)
{
    uint8_t n[SEAL_NONCE], h[SEAL_HELLO_SIZE], got[SEAL_NONCE];
    nonce_fill(n, 91);
    seal_hello_encode(n, h);
    const uint8_t head[4] = {'N', 'L', 'S', 1};
    ck_assert_mem_eq(h, head, 4);
    ck_assert_mem_eq(h + 4, n, SEAL_NONCE);
    memset(got, 0, sizeof got);
    ck_assert_int_eq(hello_copy(h, sizeof h, got), SEAL_OK);
    ck_assert_mem_eq(got, n, SEAL_NONCE);

    /* Bytes after the hello are the first sealed frame: not the decoder's. */
    uint8_t longer[SEAL_HELLO_SIZE + 5];
    memcpy(longer, h, sizeof h);
    memset(longer + sizeof h, 0x77, 5);
    memset(got, 0, sizeof got);
    ck_assert_int_eq(hello_copy(longer, sizeof longer, got), SEAL_OK);
    ck_assert_mem_eq(got, n, SEAL_NONCE);
}
END_TEST

START_TEST(hello_truncated)
{
    uint8_t n[SEAL_NONCE], h[SEAL_HELLO_SIZE], got[SEAL_NONCE];
    nonce_fill(n, 92);
    seal_hello_encode(n, h);
    for (size_t len = 0; len < SEAL_HELLO_SIZE; len++)
        ck_assert_int_eq(hello_copy(h, len, got), SEAL_TOO_SHORT);
}
END_TEST

/* A wrong byte in the magic or version is refused as soon as it arrives. */
START_TEST(hello_bad_magic)
{
    uint8_t n[SEAL_NONCE], h[SEAL_HELLO_SIZE], bad[SEAL_HELLO_SIZE], got[SEAL_NONCE];
    nonce_fill(n, 93);
    seal_hello_encode(n, h);
    for (size_t at = 0; at < 4; at++) {
        memcpy(bad, h, sizeof h);
        bad[at] ^= 0x20;
        for (size_t len = at + 1; len <= SEAL_HELLO_SIZE; len++)
            ck_assert_int_eq(hello_copy(bad, len, got), SEAL_BAD_HELLO);
    }
    /* Version 2, and a plain wire frame ('N' 'L' version 1) from a peer that
     * does not seal. */
    memcpy(bad, h, sizeof h);
    bad[3] = 2;
    ck_assert_int_eq(hello_copy(bad, sizeof bad, got), SEAL_BAD_HELLO);
    const uint8_t wire[12] = {'N', 'L', 1, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    ck_assert_int_eq(hello_copy(wire, sizeof wire, got), SEAL_BAD_HELLO);
}
END_TEST

/* Two sides doing the whole exchange through hello bytes. */
START_TEST(hello_then_frames)
{
    uint8_t ni[SEAL_NONCE], na[SEAL_NONCE], hi[SEAL_HELLO_SIZE], ha[SEAL_HELLO_SIZE];
    uint8_t got[SEAL_NONCE];
    nonce_fill(ni, 94);
    nonce_fill(na, 95);
    struct link l;
    ck_assert_int_eq(seal_init(&l.ini, key1, KEY1_LEN, 1, ni, test_hmac, TEST_CTX), SEAL_OK);
    ck_assert_int_eq(seal_init(&l.acc, key1, KEY1_LEN, 0, na, test_hmac, TEST_CTX), SEAL_OK);
    seal_hello_encode(ni, hi);
    seal_hello_encode(na, ha);
    ck_assert_int_eq(hello_copy(hi, sizeof hi, got), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&l.acc, got), SEAL_OK);
    ck_assert_int_eq(hello_copy(ha, sizeof ha, got), SEAL_OK);
    ck_assert_int_eq(seal_set_peer_nonce(&l.ini, got), SEAL_OK);
    one_way(&l.ini, &l.acc, 30, 1);
    one_way(&l.acc, &l.ini, 30, 2);
}
END_TEST

/* ---- names ------------------------------------------------------------------------- */

START_TEST(error_texts)
{
    const int codes[] = {SEAL_OK,        SEAL_BAD_MAC,   SEAL_REPLAY,      SEAL_TOO_SHORT,
                         SEAL_NO_SPACE,  SEAL_NOT_READY, SEAL_BAD_HELLO,   SEAL_BAD_KEY,
                         SEAL_HMAC_FAILED, SEAL_EXHAUSTED};
    const size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = seal_error_text(12345);
    ck_assert_ptr_nonnull(unknown);
    for (size_t i = 0; i < n; i++) {
        const char *t = seal_error_text(codes[i]);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_gt(strlen(t), 0);
        ck_assert_str_ne(t, unknown);
        for (size_t j = 0; j < i; j++) {
            ck_assert_int_ne(codes[i], codes[j]);
            ck_assert_str_ne(t, seal_error_text(codes[j]));
        }
    }
}
END_TEST

/* ---- suite ----------------------------------------------------------------------- */

static TCase *with_hmac(TCase *tc)
{
    tcase_add_checked_fixture(tc, hmac_setup, hmac_teardown);
    return tc;
}

Suite *make_suite(void)
{
    Suite *s = suite_create("seal");
    TCase *tc;

    tc = with_hmac(tcase_create("hmac_rfc4231"));
    tcase_add_test(tc, rfc4231_case1);
    tcase_add_test(tc, rfc4231_case2);
    tcase_add_test(tc, rfc4231_case2_in_parts);
    tcase_add_test(tc, rfc4231_case6);
    tcase_add_test(tc, rfc4231_case7);
#ifdef _WIN32
    tcase_add_test(tc, cng_random_bytes);
    tcase_add_test(tc, cng_closed_provider);
#endif
    suite_add_tcase(s, tc);

    tc = with_hmac(tcase_create("round_trip"));
    tcase_add_test(tc, initiator_to_acceptor);
    tcase_add_test(tc, acceptor_to_initiator);
    tcase_add_test(tc, many_frames_both_ways);
    tcase_add_test(tc, wrap_in_place);
    tcase_add_test(tc, empty_frame);
    tcase_add_test(tc, largest_frame_longest_key);
    suite_add_tcase(s, tc);

    tc = with_hmac(tcase_create("known_answer"));
    tcase_add_test(tc, known_answer);
    suite_add_tcase(s, tc);

    tc = with_hmac(tcase_create("tamper"));
    tcase_add_test(tc, every_bit_flip_is_bad_mac);
    tcase_add_test(tc, cut_or_extended_is_bad_mac);
    suite_add_tcase(s, tc);

    tc = with_hmac(tcase_create("replay"));
    tcase_add_test(tc, replay_refused);
    tcase_add_test(tc, reorder_refused);
    tcase_add_test(tc, gap_refused);
    suite_add_tcase(s, tc);

    tc = with_hmac(tcase_create("binding"));
    tcase_add_test(tc, other_connection_refused);
    tcase_add_test(tc, reflection_refused);
    tcase_add_test(tc, own_nonce_refused);
    tcase_add_test(tc, same_role_refused);
    tcase_add_test(tc, wrong_key_refused);
    suite_add_tcase(s, tc);

    tc = with_hmac(tcase_create("errors"));
    tcase_add_test(tc, too_short);
    tcase_add_test(tc, not_ready);
    tcase_add_test(tc, no_space);
    tcase_add_test(tc, bad_key);
    tcase_add_test(tc, hmac_failure);
    tcase_add_test(tc, sequence_exhausted);
    suite_add_tcase(s, tc);

    tc = with_hmac(tcase_create("hello"));
    tcase_add_test(tc, hello_round_trip);
    tcase_add_test(tc, hello_truncated);
    tcase_add_test(tc, hello_bad_magic);
    tcase_add_test(tc, hello_then_frames);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, error_texts);
    suite_add_tcase(s, tc);

    return s;
}
