/* test_wire.c - the message codec: every type round trips, every truncation
 * asks for more, every bad frame is refused with its own code, the encoder
 * never writes past its buffer, and random input never crashes the decoder.
 *
 * Decoding always runs on a heap copy of exactly the bytes under test, so
 * the sanitizer build catches any read past `len`. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* ---- helpers ---------------------------------------------------------------- */

static const uint8_t all_types[] = {WIRE_HELLO,        WIRE_REPORT,        WIRE_SET_ROLE,
                                    WIRE_HEARTBEAT,    WIRE_STATUS_REQ,    WIRE_SWITCHOVER_REQ,
                                    WIRE_STATUS_REPLY, WIRE_RESULT,        WIRE_HISTORY_REQ,
                                    WIRE_HISTORY_REPLY, WIRE_APP_STATUS};
#define N_TYPES (sizeof all_types / sizeof all_types[0])

/* Fills dst with n copies of a character pattern and a terminator. */
static void fill_str(char *dst, size_t n, char first)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)(first + (char)(i % 26));
    dst[n] = '\0';
}

/* A message of `type` with every field set, strings at their longest and
 * numbers using all their bytes, so a dropped or swapped byte shows. */
static void sample_msg(uint8_t type, struct wire_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->id = 0xA1B2C3D4u;
    switch (type) {
    case WIRE_HELLO:
        fill_str(m->u.hello.pair, MODEL_NAME_MAX, 'a');
        fill_str(m->u.hello.node, MODEL_NAME_MAX, 'A');
        break;
    case WIRE_REPORT:
        m->u.report.epoch = 0x0102030405060708ull;
        m->u.report.mode = MODEL_MODE_PRIMARY;
        m->u.report.app_healthy = 1;
        m->u.report.port_desired = MODEL_PORT_ENABLED;
        m->u.report.port_actual = MODEL_PORT_DRAINING;
        m->u.report.peer_silent_ms = 0xFEDCBA98u;
        m->u.report.peer_mode = MODEL_MODE_PRIMARY;
        m->u.report.peer_app_healthy = 1;
        m->u.report.peer_port = MODEL_PORT_DRAINING;
        m->u.report.peer_epoch = 0x1112131415161718ull;
        fill_str(m->u.report.reason, WIRE_REASON_MAX, 'c');
        m->u.report.stopping = 1;
        m->u.report.peer_heard = 1;
        m->u.report.reason_age_ms = 0xABCDEF01u;
        m->u.report.sent_at = 0x2122232425262728ull;
        break;
    case WIRE_SET_ROLE:
        m->u.set_role.epoch = 0xFFFFFFFFFFFFFFFEull;
        m->u.set_role.mode = MODEL_MODE_PRIMARY;
        m->u.set_role.drain = 1;
        m->u.set_role.echo = 0x3132333435363738ull;
        m->u.set_role.loss_ms = 0x41424344u;
        break;
    case WIRE_HEARTBEAT:
        m->u.heartbeat.epoch = 0x8000000000000001ull;
        m->u.heartbeat.silent_ms = 0xCAFEBABEu;
        break;
    case WIRE_STATUS_REQ:
    case WIRE_HISTORY_REQ:
        break;
    case WIRE_APP_STATUS:
        m->u.app_status.available = 1;
        fill_str(m->u.app_status.reason, WIRE_REASON_MAX, 'r');
        break;
    case WIRE_HISTORY_REPLY:
        m->u.history.count = WIRE_HISTORY_MAX;
        for (unsigned i = 0; i < WIRE_HISTORY_MAX; i++) {
            m->u.history.entries[i].age_ms = 0x0A0B0C0D0E0F1011ull * (i + 1);
            fill_str(m->u.history.entries[i].text, WIRE_HISTORY_TEXT, (char)('a' + i));
        }
        break;
    case WIRE_SWITCHOVER_REQ:
        fill_str(m->u.switchover_req.target, MODEL_NAME_MAX, 'k');
        m->u.switchover_req.timeout_ms = 0xDEADBEEFu;
        break;
    case WIRE_RESULT:
        m->u.result.code = -123456789;
        fill_str(m->u.result.text, sizeof m->u.result.text - 1, 'b');
        break;
    case WIRE_STATUS_REPLY: {
        struct wire_status_reply *s = &m->u.status;
        s->role = MODEL_ROLE_COORDINATOR;
        fill_str(s->pair, MODEL_NAME_MAX, 'p');
        fill_str(s->primary, MODEL_NAME_MAX, 'q');
        s->epoch = 0x1122334455667788ull;
        s->phase = MODEL_PHASE_PROMOTING;
        s->coordinator_link = 1;
        fill_str(s->last_reason, sizeof s->last_reason - 1, 'r');
        s->last_reason_age_ms = 0x31323334u;
        s->node_count = WIRE_MAX_NODES;
        for (unsigned i = 0; i < WIRE_MAX_NODES; i++) {
            struct wire_node_status *n = &s->nodes[i];
            fill_str(n->name, MODEL_NAME_MAX, (char)('a' + i));
            n->connected = (uint8_t)(i & 1);
            n->mode = (uint8_t)((i >> 1) & 1);
            n->app_healthy = (uint8_t)(1 - (i & 1));
            n->port_desired = (uint8_t)(i % 4);
            n->port_actual = (uint8_t)(3 - i % 4);
            n->epoch = 0xF0E0D0C0B0A09080ull + i;
            n->last_heard_ms = i == 0 ? 0xFFFFFFFFu : 1000u * i;
            n->peer_link = (uint8_t)((i >> 2) & 1);
            fill_str(n->last_change, WIRE_REASON_MAX, (char)('A' + i));
            n->last_change_age_ms = i == 1 ? WIRE_AGE_UNKNOWN : 70000u * i;
        }
        break;
    }
    default:
        ck_abort_msg("sample_msg: no sample for type %u", type);
    }
}

static size_t encode_ok(const struct wire_msg *m, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    int rc = wire_encode(m, buf, cap, &len);
    ck_assert_msg(rc == WIRE_OK, "encoding %s: %s", wire_type_name(m->type), wire_error_text(rc));
    ck_assert_uint_ge(len, WIRE_HEADER_SIZE);
    ck_assert_uint_le(len, cap);
    return len;
}

/* Decodes from a heap copy of exactly len bytes; the copy is freed before
 * returning so a failed assertion afterwards leaks nothing. */
static int decode_exact(const uint8_t *src, size_t len, struct wire_msg *m, size_t *consumed)
{
    uint8_t *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    if (len)
        memcpy(copy, src, len);
    size_t used = (size_t)-1;
    int rc = wire_decode(copy, len, m, &used);
    free(copy);
    if (consumed)
        *consumed = used;
    return rc;
}

/* Writes a header by hand (independent of the encoder) and copies payload. */
static size_t raw_frame(uint8_t *buf, uint8_t type, uint32_t plen, const void *payload,
                        size_t copy_len)
{
    buf[0] = WIRE_MAGIC0;
    buf[1] = WIRE_MAGIC1;
    buf[2] = WIRE_VERSION;
    buf[3] = type;
    buf[4] = (uint8_t)(plen >> 24);
    buf[5] = (uint8_t)(plen >> 16);
    buf[6] = (uint8_t)(plen >> 8);
    buf[7] = (uint8_t)plen;
    buf[8] = 0;
    buf[9] = 0;
    buf[10] = 0;
    buf[11] = 7;
    if (copy_len)
        memcpy(buf + WIRE_HEADER_SIZE, payload, copy_len);
    return WIRE_HEADER_SIZE + copy_len;
}

static uint32_t frame_plen(const uint8_t *buf)
{
    return ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) | ((uint32_t)buf[6] << 8) | buf[7];
}

static void set_plen(uint8_t *buf, uint32_t plen)
{
    buf[4] = (uint8_t)(plen >> 24);
    buf[5] = (uint8_t)(plen >> 16);
    buf[6] = (uint8_t)(plen >> 8);
    buf[7] = (uint8_t)plen;
}

static void expect_decode(const uint8_t *buf, size_t len, int want, const char *what)
{
    struct wire_msg m;
    int rc = decode_exact(buf, len, &m, NULL);
    ck_assert_msg(rc == want, "%s: expected %d (%s), got %d (%s)", what, want,
                  wire_error_text(want), rc, wire_error_text(rc));
}

static void assert_node_equal(const struct wire_node_status *a, const struct wire_node_status *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert_uint_eq(a->connected, b->connected);
    ck_assert_uint_eq(a->mode, b->mode);
    ck_assert_uint_eq(a->app_healthy, b->app_healthy);
    ck_assert_uint_eq(a->port_desired, b->port_desired);
    ck_assert_uint_eq(a->port_actual, b->port_actual);
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_uint_eq(a->last_heard_ms, b->last_heard_ms);
    ck_assert_uint_eq(a->peer_link, b->peer_link);
    ck_assert_str_eq(a->last_change, b->last_change);
    ck_assert_uint_eq(a->last_change_age_ms, b->last_change_age_ms);
}

/* Field by field: padding in the structs must not decide equality. */
static void assert_msg_equal(const struct wire_msg *a, const struct wire_msg *b)
{
    ck_assert_uint_eq(a->type, b->type);
    ck_assert_uint_eq(a->id, b->id);
    switch (a->type) {
    case WIRE_HELLO:
        ck_assert_str_eq(a->u.hello.pair, b->u.hello.pair);
        ck_assert_str_eq(a->u.hello.node, b->u.hello.node);
        break;
    case WIRE_REPORT:
        ck_assert_uint_eq(a->u.report.epoch, b->u.report.epoch);
        ck_assert_uint_eq(a->u.report.mode, b->u.report.mode);
        ck_assert_uint_eq(a->u.report.app_healthy, b->u.report.app_healthy);
        ck_assert_uint_eq(a->u.report.port_desired, b->u.report.port_desired);
        ck_assert_uint_eq(a->u.report.port_actual, b->u.report.port_actual);
        ck_assert_uint_eq(a->u.report.peer_silent_ms, b->u.report.peer_silent_ms);
        ck_assert_uint_eq(a->u.report.peer_mode, b->u.report.peer_mode);
        ck_assert_uint_eq(a->u.report.peer_app_healthy, b->u.report.peer_app_healthy);
        ck_assert_uint_eq(a->u.report.peer_port, b->u.report.peer_port);
        ck_assert_uint_eq(a->u.report.peer_epoch, b->u.report.peer_epoch);
        ck_assert_str_eq(a->u.report.reason, b->u.report.reason);
        ck_assert_uint_eq(a->u.report.stopping, b->u.report.stopping);
        ck_assert_uint_eq(a->u.report.peer_heard, b->u.report.peer_heard);
        ck_assert_uint_eq(a->u.report.reason_age_ms, b->u.report.reason_age_ms);
        ck_assert_uint_eq(a->u.report.sent_at, b->u.report.sent_at);
        break;
    case WIRE_SET_ROLE:
        ck_assert_uint_eq(a->u.set_role.epoch, b->u.set_role.epoch);
        ck_assert_uint_eq(a->u.set_role.mode, b->u.set_role.mode);
        ck_assert_uint_eq(a->u.set_role.drain, b->u.set_role.drain);
        ck_assert_uint_eq(a->u.set_role.echo, b->u.set_role.echo);
        ck_assert_uint_eq(a->u.set_role.loss_ms, b->u.set_role.loss_ms);
        break;
    case WIRE_HEARTBEAT:
        ck_assert_uint_eq(a->u.heartbeat.epoch, b->u.heartbeat.epoch);
        ck_assert_uint_eq(a->u.heartbeat.silent_ms, b->u.heartbeat.silent_ms);
        break;
    case WIRE_STATUS_REQ:
    case WIRE_HISTORY_REQ:
        break;
    case WIRE_APP_STATUS:
        ck_assert_uint_eq(a->u.app_status.available, b->u.app_status.available);
        ck_assert_str_eq(a->u.app_status.reason, b->u.app_status.reason);
        break;
    case WIRE_HISTORY_REPLY:
        ck_assert_uint_eq(a->u.history.count, b->u.history.count);
        for (unsigned i = 0; i < a->u.history.count; i++) {
            ck_assert_uint_eq(a->u.history.entries[i].age_ms, b->u.history.entries[i].age_ms);
            ck_assert_str_eq(a->u.history.entries[i].text, b->u.history.entries[i].text);
        }
        break;
    case WIRE_SWITCHOVER_REQ:
        ck_assert_str_eq(a->u.switchover_req.target, b->u.switchover_req.target);
        ck_assert_uint_eq(a->u.switchover_req.timeout_ms, b->u.switchover_req.timeout_ms);
        break;
    case WIRE_RESULT:
        ck_assert_int_eq(a->u.result.code, b->u.result.code);
        ck_assert_str_eq(a->u.result.text, b->u.result.text);
        break;
    case WIRE_STATUS_REPLY: {
        const struct wire_status_reply *x = &a->u.status, *y = &b->u.status;
        ck_assert_uint_eq(x->role, y->role);
        ck_assert_str_eq(x->pair, y->pair);
        ck_assert_str_eq(x->primary, y->primary);
        ck_assert_uint_eq(x->epoch, y->epoch);
        ck_assert_uint_eq(x->phase, y->phase);
        ck_assert_uint_eq(x->coordinator_link, y->coordinator_link);
        ck_assert_str_eq(x->last_reason, y->last_reason);
        ck_assert_uint_eq(x->last_reason_age_ms, y->last_reason_age_ms);
        ck_assert_uint_eq(x->node_count, y->node_count);
        for (unsigned i = 0; i < x->node_count; i++)
            assert_node_equal(&x->nodes[i], &y->nodes[i]);
        break;
    }
    default:
        ck_abort_msg("assert_msg_equal: unexpected type %u", a->type);
    }
}

/* A deterministic generator so a failure reproduces exactly. */
static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static int valid_code(int rc)
{
    switch (rc) {
    case WIRE_OK:
    case WIRE_NEED_MORE:
    case WIRE_BAD_MAGIC:
    case WIRE_BAD_VERSION:
    case WIRE_TOO_LARGE:
    case WIRE_BAD_TYPE:
    case WIRE_MALFORMED:
        return 1;
    default:
        return 0;
    }
}

/* ---- round trip ------------------------------------------------------------- */

START_TEST(round_trip_every_type)
{
    for (size_t t = 0; t < N_TYPES; t++) {
        struct wire_msg in, out;
        uint8_t buf[WIRE_MAX_FRAME];
        sample_msg(all_types[t], &in);
        size_t len = encode_ok(&in, buf, sizeof buf);
        ck_assert_uint_eq(frame_plen(buf), len - WIRE_HEADER_SIZE);
        size_t used = 0;
        int rc = decode_exact(buf, len, &out, &used);
        ck_assert_msg(rc == WIRE_OK, "%s: %s", wire_type_name(in.type), wire_error_text(rc));
        ck_assert_uint_eq(used, len);
        assert_msg_equal(&in, &out);
    }
}
END_TEST

START_TEST(round_trip_status_at_limits)
{
    /* The largest status reply still fits one frame, with every node and
     * every string at its longest. */
    struct wire_msg in, out;
    uint8_t buf[WIRE_MAX_FRAME];
    sample_msg(WIRE_STATUS_REPLY, &in);
    ck_assert_uint_eq(strlen(in.u.status.last_reason), sizeof in.u.status.last_reason - 1);
    ck_assert_uint_eq(strlen(in.u.status.nodes[WIRE_MAX_NODES - 1].name), MODEL_NAME_MAX);
    size_t len = encode_ok(&in, buf, sizeof buf);
    ck_assert_uint_le(len, WIRE_MAX_FRAME);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);

    /* The smallest: an agent's reply with no nodes and empty strings. */
    memset(&in, 0, sizeof in);
    in.type = WIRE_STATUS_REPLY;
    in.u.status.role = MODEL_ROLE_AGENT;
    len = encode_ok(&in, buf, sizeof buf);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);
}
END_TEST

START_TEST(round_trip_edge_values)
{
    struct wire_msg in, out;
    uint8_t buf[WIRE_MAX_FRAME];

    /* Empty strings, zero numbers, the lowest enum values. */
    memset(&in, 0, sizeof in);
    in.type = WIRE_HELLO;
    size_t len = encode_ok(&in, buf, sizeof buf);
    ck_assert_uint_eq(len, WIRE_HEADER_SIZE + 2);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);

    memset(&in, 0, sizeof in);
    in.type = WIRE_SWITCHOVER_REQ; /* empty target: the other node */
    in.id = 0xFFFFFFFFu;
    len = encode_ok(&in, buf, sizeof buf);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);

    memset(&in, 0, sizeof in);
    in.type = WIRE_RESULT;
    in.u.result.code = INT32_MIN;
    len = encode_ok(&in, buf, sizeof buf);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);

    memset(&in, 0, sizeof in);
    in.type = WIRE_REPORT;
    in.u.report.epoch = UINT64_MAX;
    in.u.report.port_desired = MODEL_PORT_UNKNOWN;
    in.u.report.port_actual = MODEL_PORT_DISABLED;
    len = encode_ok(&in, buf, sizeof buf);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);
}
END_TEST

START_TEST(round_trip_exact_bytes)
{
    /* The layout is part of the protocol: pin it byte for byte. */
    struct wire_msg m;
    uint8_t buf[64];
    memset(&m, 0, sizeof m);
    m.type = WIRE_SET_ROLE;
    m.id = 0xA1B2C3D4u;
    m.u.set_role.epoch = 0x0102030405060708ull;
    m.u.set_role.mode = MODEL_MODE_PRIMARY;
    m.u.set_role.echo = 0x4142434445464748ull;
    m.u.set_role.loss_ms = 0x51525354u;
    /* SET_ROLE: epoch, mode, drain, echo, loss_ms. */
    static const uint8_t want_role[] = {'N',  'L',  1,    3,    0,    0,    0,    22,
                                        0xA1, 0xB2, 0xC3, 0xD4, 1,    2,    3,    4,
                                        5,    6,    7,    8,    1,    0,    0x41, 0x42,
                                        0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x51, 0x52,
                                        0x53, 0x54};
    size_t len = encode_ok(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, sizeof want_role);
    ck_assert_mem_eq(buf, want_role, sizeof want_role);

    memset(&m, 0, sizeof m);
    m.type = WIRE_HELLO;
    m.id = 5;
    strcpy(m.u.hello.pair, "p1");
    strcpy(m.u.hello.node, "web");
    static const uint8_t want_hello[] = {'N', 'L', 1, 1, 0, 0, 0, 7, 0, 0, 0, 5,
                                         2,   'p', '1', 3, 'w', 'e', 'b'};
    len = encode_ok(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, sizeof want_hello);
    ck_assert_mem_eq(buf, want_hello, sizeof want_hello);

    memset(&m, 0, sizeof m);
    m.type = WIRE_RESULT;
    m.u.result.code = -2;
    strcpy(m.u.result.text, "x");
    static const uint8_t want_result[] = {'N',  'L',  1,    19,   0, 0, 0, 6,  0, 0, 0, 0,
                                          0xFF, 0xFF, 0xFF, 0xFE, 1, 'x'};
    len = encode_ok(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, sizeof want_result);
    ck_assert_mem_eq(buf, want_result, sizeof want_result);

    /* REPORT: epoch, mode, app_healthy, port_desired, port_actual,
     * peer_silent_ms, peer_mode, peer_app_healthy, peer_port, peer_epoch,
     * reason, stopping, peer_heard, reason_age_ms, sent_at. */
    memset(&m, 0, sizeof m);
    m.type = WIRE_REPORT;
    m.id = 1;
    m.u.report.epoch = 0x0102030405060708ull;
    m.u.report.mode = MODEL_MODE_PRIMARY;
    m.u.report.app_healthy = 1;
    m.u.report.port_desired = MODEL_PORT_ENABLED;
    m.u.report.port_actual = MODEL_PORT_DISABLED;
    m.u.report.peer_silent_ms = 0x0A0B0C0Du;
    m.u.report.peer_mode = MODEL_MODE_BACKUP;
    m.u.report.peer_app_healthy = 1;
    m.u.report.peer_port = MODEL_PORT_DRAINING;
    m.u.report.peer_epoch = 0x1112131415161718ull;
    strcpy(m.u.report.reason, "ok");
    m.u.report.stopping = 1;
    m.u.report.peer_heard = 1;
    m.u.report.reason_age_ms = 0x21222324u;
    m.u.report.sent_at = 0x3132333435363738ull;
    static const uint8_t want_report[] = {
        'N', 'L', 1, 2, 0, 0, 0, 44, 0, 0, 0, 1,               /* header */
        1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 1, 2,                    /* epoch .. port_actual */
        0x0A, 0x0B, 0x0C, 0x0D, 0, 1, 3,                       /* peer_silent_ms .. port */
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 2, 'o', 'k', 1, 1,
        0x21, 0x22, 0x23, 0x24, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38};
    len = encode_ok(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, sizeof want_report);
    ck_assert_mem_eq(buf, want_report, sizeof want_report);

    /* HEARTBEAT: epoch, silent_ms. */
    memset(&m, 0, sizeof m);
    m.type = WIRE_HEARTBEAT;
    m.u.heartbeat.epoch = 9;
    m.u.heartbeat.silent_ms = 0x01020304u;
    static const uint8_t want_hb[] = {'N', 'L', 1, 4, 0, 0, 0, 12, 0, 0, 0, 0,
                                      0,   0,   0, 0, 0, 0, 0, 9,  1, 2, 3, 4};
    len = encode_ok(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, sizeof want_hb);
    ck_assert_mem_eq(buf, want_hb, sizeof want_hb);

    /* HISTORY_REQ: no payload. HISTORY_REPLY: count, then age_ms and text
     * per entry. */
    memset(&m, 0, sizeof m);
    m.type = WIRE_HISTORY_REQ;
    m.id = 3;
    static const uint8_t want_hreq[] = {'N', 'L', 1, 20, 0, 0, 0, 0, 0, 0, 0, 3};
    len = encode_ok(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, sizeof want_hreq);
    ck_assert_mem_eq(buf, want_hreq, sizeof want_hreq);

    memset(&m, 0, sizeof m);
    m.type = WIRE_HISTORY_REPLY;
    m.id = 3;
    m.u.history.count = 2;
    m.u.history.entries[0].age_ms = 0x0102;
    strcpy(m.u.history.entries[0].text, "a");
    m.u.history.entries[1].age_ms = 5;
    static const uint8_t want_hrep[] = {'N', 'L', 1, 21, 0, 0, 0, 20, 0, 0, 0, 3,
                                        2,
                                        0,   0,   0, 0,  0, 0, 1, 2,  1, 'a',
                                        0,   0,   0, 0,  0, 0, 0, 5,  0};
    len = encode_ok(&m, buf, sizeof buf);
    ck_assert_uint_eq(len, sizeof want_hrep);
    ck_assert_mem_eq(buf, want_hrep, sizeof want_hrep);
}
END_TEST

/* ---- truncation --------------------------------------------------------------- */

START_TEST(every_prefix_needs_more)
{
    for (size_t t = 0; t < N_TYPES; t++) {
        struct wire_msg in;
        uint8_t buf[WIRE_MAX_FRAME];
        sample_msg(all_types[t], &in);
        size_t len = encode_ok(&in, buf, sizeof buf);
        for (size_t cut = 0; cut < len; cut++) {
            struct wire_msg out;
            size_t used = 12345;
            int rc = decode_exact(buf, cut, &out, &used);
            ck_assert_msg(rc == WIRE_NEED_MORE, "%s cut at %u of %u: got %s",
                          wire_type_name(in.type), (unsigned)cut, (unsigned)len,
                          wire_error_text(rc));
        }
    }
}
END_TEST

START_TEST(bad_prefix_refused_early)
{
    /* Garbage is refused as soon as the bytes seen are wrong, without
     * waiting for a whole header. */
    static const uint8_t bad_magic0[] = {'X'};
    static const uint8_t bad_magic1[] = {'N', 'X'};
    static const uint8_t bad_version[] = {'N', 'L', 9};
    static const uint8_t bad_type[] = {'N', 'L', WIRE_VERSION, 99};
    expect_decode(bad_magic0, sizeof bad_magic0, WIRE_BAD_MAGIC, "1 byte of bad magic");
    expect_decode(bad_magic1, sizeof bad_magic1, WIRE_BAD_MAGIC, "bad second magic byte");
    expect_decode(bad_version, sizeof bad_version, WIRE_BAD_VERSION, "3 bytes, bad version");
    expect_decode(bad_type, sizeof bad_type, WIRE_BAD_TYPE, "4 bytes, bad type");

    /* A good header whose payload has not arrived: the declared length
     * alone cannot be judged yet, so it waits. */
    uint8_t buf[WIRE_HEADER_SIZE];
    raw_frame(buf, WIRE_REPORT, 12, NULL, 0);
    expect_decode(buf, sizeof buf, WIRE_NEED_MORE, "header only");
    raw_frame(buf, WIRE_REPORT, WIRE_MAX_PAYLOAD, NULL, 0);
    expect_decode(buf, sizeof buf, WIRE_NEED_MORE, "header declaring the maximum");
}
END_TEST

/* ---- the header alone: wire_frame_size --------------------------------------- */

/* A sealed link finds where a frame's trailer starts from the header alone.
 * A frame with an empty payload (STATUS_REQ, HISTORY_REQ) is a whole
 * message in its 12 header bytes: the sealed reader once decoded such a
 * header before checking the MAC, so an unauthenticated STATUS_REQ reached
 * the state machine (it refreshed the coordinator's "last heard" of the
 * node on that link). wire_frame_size gives the size without decoding. */
START_TEST(frame_size_from_header)
{
    uint8_t buf[WIRE_HEADER_SIZE];
    size_t size = 0;
    raw_frame(buf, WIRE_STATUS_REQ, 0, NULL, 0);
    ck_assert_int_eq(wire_frame_size(buf, sizeof buf, &size), WIRE_OK);
    ck_assert_uint_eq(size, WIRE_HEADER_SIZE);
    raw_frame(buf, WIRE_REPORT, WIRE_MAX_PAYLOAD, NULL, 0);
    ck_assert_int_eq(wire_frame_size(buf, sizeof buf, &size), WIRE_OK);
    ck_assert_uint_eq(size, WIRE_MAX_FRAME);
    for (size_t cut = 0; cut < WIRE_HEADER_SIZE; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, buf, cut);
        size = 99;
        int rc = wire_frame_size(copy, cut, &size);
        free(copy);
        ck_assert_int_eq(rc, WIRE_NEED_MORE);
        ck_assert_uint_eq(size, 99); /* untouched */
    }
    raw_frame(buf, WIRE_REPORT, WIRE_MAX_PAYLOAD + 1, NULL, 0);
    ck_assert_int_eq(wire_frame_size(buf, sizeof buf, &size), WIRE_TOO_LARGE);
    raw_frame(buf, WIRE_REPORT, 0xFFFFFFFFu, NULL, 0);
    ck_assert_int_eq(wire_frame_size(buf, sizeof buf, &size), WIRE_TOO_LARGE);
    raw_frame(buf, 99, 0, NULL, 0);
    ck_assert_int_eq(wire_frame_size(buf, sizeof buf, &size), WIRE_BAD_TYPE);
    raw_frame(buf, WIRE_REPORT, 0, NULL, 0);
    buf[2] = WIRE_VERSION + 1;
    ck_assert_int_eq(wire_frame_size(buf, 3, &size), WIRE_BAD_VERSION);
    buf[0] = 'X';
    ck_assert_int_eq(wire_frame_size(buf, 1, &size), WIRE_BAD_MAGIC);
}
END_TEST

/* ---- header errors -------------------------------------------------------------- */

START_TEST(oversized_declared_length)
{
    uint8_t buf[WIRE_HEADER_SIZE + 4];
    static const uint32_t sizes[] = {WIRE_MAX_PAYLOAD + 1, WIRE_MAX_PAYLOAD * 2, 0x7FFFFFFFu,
                                     0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        raw_frame(buf, WIRE_STATUS_REQ, sizes[i], NULL, 0);
        expect_decode(buf, WIRE_HEADER_SIZE, WIRE_TOO_LARGE, "oversized, header only");
        memset(buf + WIRE_HEADER_SIZE, 0, 4);
        expect_decode(buf, sizeof buf, WIRE_TOO_LARGE, "oversized, some payload");
    }
}
END_TEST

START_TEST(wrong_version)
{
    struct wire_msg m;
    uint8_t buf[WIRE_MAX_FRAME];
    sample_msg(WIRE_HEARTBEAT, &m);
    size_t len = encode_ok(&m, buf, sizeof buf);
    static const uint8_t versions[] = {0, WIRE_VERSION + 1, 0x7F, 0xFF};
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[2] = versions[i];
        expect_decode(buf, len, WIRE_BAD_VERSION, "whole frame, wrong version");
        expect_decode(buf, 3, WIRE_BAD_VERSION, "3 bytes, wrong version");
    }
}
END_TEST

START_TEST(bad_magic)
{
    struct wire_msg m;
    uint8_t buf[WIRE_MAX_FRAME];
    sample_msg(WIRE_REPORT, &m);
    size_t len = encode_ok(&m, buf, sizeof buf);
    buf[0] = 'n';
    expect_decode(buf, len, WIRE_BAD_MAGIC, "first magic byte");
    buf[0] = WIRE_MAGIC0;
    buf[1] = 'l';
    expect_decode(buf, len, WIRE_BAD_MAGIC, "second magic byte");
    buf[0] = WIRE_MAGIC1; /* swapped */
    buf[1] = WIRE_MAGIC0;
    expect_decode(buf, len, WIRE_BAD_MAGIC, "swapped magic");
    static const uint8_t http[] = "GET / HTTP/1.1\r\n\r\n";
    expect_decode(http, sizeof http - 1, WIRE_BAD_MAGIC, "an HTTP request");
}
END_TEST

START_TEST(unknown_type)
{
    uint8_t buf[WIRE_HEADER_SIZE];
    for (unsigned t = 0; t < 256; t++) {
        int known = 0;
        for (size_t i = 0; i < N_TYPES; i++)
            known |= all_types[i] == t;
        if (known)
            continue;
        raw_frame(buf, (uint8_t)t, 0, NULL, 0);
        expect_decode(buf, sizeof buf, WIRE_BAD_TYPE, "unknown type, whole header");
        expect_decode(buf, 4, WIRE_BAD_TYPE, "unknown type, 4 bytes");
    }
}
END_TEST

/* ---- payload errors --------------------------------------------------------------- */

START_TEST(trailing_bytes_malformed)
{
    for (size_t t = 0; t < N_TYPES; t++) {
        struct wire_msg m;
        uint8_t buf[WIRE_MAX_FRAME + 1];
        sample_msg(all_types[t], &m);
        size_t len = encode_ok(&m, buf, WIRE_MAX_FRAME);
        buf[len] = 0;
        set_plen(buf, frame_plen(buf) + 1);
        expect_decode(buf, len + 1, WIRE_MALFORMED, wire_type_name(m.type));
    }
}
END_TEST

START_TEST(short_payload_malformed)
{
    /* The declared payload is all there but too short for its type. */
    for (size_t t = 0; t < N_TYPES; t++) {
        if (all_types[t] == WIRE_STATUS_REQ || all_types[t] == WIRE_HISTORY_REQ)
            continue; /* has no payload */
        struct wire_msg m;
        uint8_t buf[WIRE_MAX_FRAME];
        sample_msg(all_types[t], &m);
        size_t len = encode_ok(&m, buf, sizeof buf);
        set_plen(buf, frame_plen(buf) - 1);
        expect_decode(buf, len - 1, WIRE_MALFORMED, wire_type_name(m.type));
        set_plen(buf, 0);
        expect_decode(buf, WIRE_HEADER_SIZE, WIRE_MALFORMED, "empty payload");
    }
}
END_TEST

START_TEST(string_past_end_malformed)
{
    uint8_t buf[64];
    /* HELLO: pair claims 10 bytes, 3 are there. */
    static const uint8_t hello[] = {10, 'a', 'b', 'c'};
    size_t len = raw_frame(buf, WIRE_HELLO, sizeof hello, hello, sizeof hello);
    expect_decode(buf, len, WIRE_MALFORMED, "HELLO pair past the end");
    /* HELLO: good pair, node length byte missing. */
    static const uint8_t hello2[] = {1, 'a'};
    len = raw_frame(buf, WIRE_HELLO, sizeof hello2, hello2, sizeof hello2);
    expect_decode(buf, len, WIRE_MALFORMED, "HELLO node length missing");
    /* HELLO: node claims 255 bytes. */
    static const uint8_t hello3[] = {1, 'a', 255, 'b'};
    len = raw_frame(buf, WIRE_HELLO, sizeof hello3, hello3, sizeof hello3);
    expect_decode(buf, len, WIRE_MALFORMED, "HELLO node length 255");
    /* SWITCHOVER_REQ: the string runs into where the timeout should be. */
    static const uint8_t sw[] = {5, 'w', 'e', 'b', '1', 0, 0, 0};
    len = raw_frame(buf, WIRE_SWITCHOVER_REQ, sizeof sw, sw, sizeof sw);
    expect_decode(buf, len, WIRE_MALFORMED, "SWITCHOVER_REQ target past the end");
    /* RESULT: code, then text longer than what is left. */
    static const uint8_t res[] = {0, 0, 0, 0, 2, 'x'};
    len = raw_frame(buf, WIRE_RESULT, sizeof res, res, sizeof res);
    expect_decode(buf, len, WIRE_MALFORMED, "RESULT text past the end");
}
END_TEST

START_TEST(string_too_long_for_field)
{
    /* 64 bytes would fit the payload but not a 63-character name field. */
    uint8_t payload[1 + 64 + 1];
    payload[0] = MODEL_NAME_MAX + 1;
    memset(payload + 1, 'n', MODEL_NAME_MAX + 1);
    payload[1 + MODEL_NAME_MAX + 1] = 0; /* empty node */
    uint8_t buf[WIRE_HEADER_SIZE + sizeof payload];
    size_t len = raw_frame(buf, WIRE_HELLO, sizeof payload, payload, sizeof payload);
    expect_decode(buf, len, WIRE_MALFORMED, "HELLO pair of 64 bytes");

    /* Exactly 63 is fine. */
    payload[0] = MODEL_NAME_MAX;
    payload[1 + MODEL_NAME_MAX] = 0;
    len = raw_frame(buf, WIRE_HELLO, 1 + MODEL_NAME_MAX + 1, payload, 1 + MODEL_NAME_MAX + 1);
    expect_decode(buf, len, WIRE_OK, "HELLO pair of 63 bytes");
}
END_TEST

START_TEST(embedded_nul_malformed)
{
    struct wire_msg m;
    uint8_t buf[WIRE_MAX_FRAME];
    memset(&m, 0, sizeof m);
    m.type = WIRE_HELLO;
    strcpy(m.u.hello.pair, "ab");
    strcpy(m.u.hello.node, "cd");
    size_t len = encode_ok(&m, buf, sizeof buf);
    /* payload: 2 'a' 'b' 2 'c' 'd' */
    buf[WIRE_HEADER_SIZE + 2] = 0;
    expect_decode(buf, len, WIRE_MALFORMED, "NUL inside the pair");
    buf[WIRE_HEADER_SIZE + 2] = 'b';
    buf[WIRE_HEADER_SIZE + 4] = 0;
    expect_decode(buf, len, WIRE_MALFORMED, "NUL at the start of the node");

    memset(&m, 0, sizeof m);
    m.type = WIRE_RESULT;
    strcpy(m.u.result.text, "done");
    len = encode_ok(&m, buf, sizeof buf);
    buf[len - 1] = 0; /* last character */
    expect_decode(buf, len, WIRE_MALFORMED, "NUL at the end of the result text");
}
END_TEST

/* Patches one byte of a valid frame and expects MALFORMED. */
static void expect_byte_malformed(const struct wire_msg *m, size_t offset, uint8_t value,
                                  const char *what)
{
    uint8_t buf[WIRE_MAX_FRAME];
    size_t len = encode_ok(m, buf, sizeof buf);
    ck_assert_uint_lt(offset, len);
    buf[offset] = value;
    expect_decode(buf, len, WIRE_MALFORMED, what);
}

START_TEST(enum_out_of_range_malformed)
{
    struct wire_msg m;
    const size_t p = WIRE_HEADER_SIZE;

    /* REPORT: epoch(8) mode app_healthy port_desired port_actual */
    sample_msg(WIRE_REPORT, &m);
    expect_byte_malformed(&m, p + 8, 2, "REPORT mode 2");
    expect_byte_malformed(&m, p + 8, 0xFF, "REPORT mode 255");
    expect_byte_malformed(&m, p + 9, 2, "REPORT app_healthy 2");
    expect_byte_malformed(&m, p + 10, 5, "REPORT port_desired 5");
    expect_byte_malformed(&m, p + 11, 5, "REPORT port_actual 5");
    /* ... peer_silent_ms(4) peer_mode peer_app_healthy peer_port */
    expect_byte_malformed(&m, p + 16, 2, "REPORT peer_mode 2");
    expect_byte_malformed(&m, p + 17, 2, "REPORT peer_app_healthy 2");
    expect_byte_malformed(&m, p + 18, 5, "REPORT peer_port 5");

    /* SET_ROLE: epoch(8) mode drain echo(8) loss_ms(4) */
    sample_msg(WIRE_SET_ROLE, &m);
    expect_byte_malformed(&m, p + 8, 2, "SET_ROLE mode 2");
    expect_byte_malformed(&m, p + 9, 2, "SET_ROLE drain 2");

    /* STATUS_REPLY with short strings so the offsets are easy:
     * role, pair "p", primary "", epoch(8), phase, link, reason "",
     * reason age(4), node_count, then one node: name "a", connected, mode,
     * app_healthy, port_desired, port_actual, epoch(8), last_heard(4),
     * peer_link, sip_probe, last_change "", its age(4). */
    memset(&m, 0, sizeof m);
    m.type = WIRE_STATUS_REPLY;
    m.u.status.role = MODEL_ROLE_COORDINATOR;
    strcpy(m.u.status.pair, "p");
    m.u.status.node_count = 1;
    strcpy(m.u.status.nodes[0].name, "a");
    uint8_t buf[WIRE_MAX_FRAME];
    size_t len = encode_ok(&m, buf, sizeof buf);
    /* 35 before issue 3; the node status gained peer_link (1 byte) and
     * last_change (an empty string, 1 byte); issue 5 sip_probe (1 byte);
     * the ages of the last changes (4 bytes each, reply and node). */
    ck_assert_uint_eq(len, p + 46);
    expect_decode(buf, len, WIRE_OK, "the unpatched status reply");
    expect_byte_malformed(&m, p + 0, 0, "STATUS_REPLY role 0");
    expect_byte_malformed(&m, p + 0, 3, "STATUS_REPLY role 3");
    expect_byte_malformed(&m, p + 12, MODEL_PHASE_PROMOTING + 1, "STATUS_REPLY phase 4");
    expect_byte_malformed(&m, p + 13, 2, "STATUS_REPLY coordinator_link 2");
    expect_byte_malformed(&m, p + 22, 2, "node connected 2");
    expect_byte_malformed(&m, p + 23, 2, "node mode 2");
    expect_byte_malformed(&m, p + 24, 2, "node app_healthy 2");
    expect_byte_malformed(&m, p + 25, 5, "node port_desired 5");
    expect_byte_malformed(&m, p + 26, 5, "node port_actual 5");
    expect_byte_malformed(&m, p + 39, 2, "node peer_link 2");
    expect_byte_malformed(&m, p + 39, 0xFF, "node peer_link 255");
    expect_byte_malformed(&m, p + 40, MODEL_PROBE_DOWN + 1, "node sip_probe 4");
}
END_TEST

START_TEST(node_count_over_max_malformed)
{
    struct wire_msg m;
    uint8_t buf[WIRE_MAX_FRAME + 200];
    sample_msg(WIRE_STATUS_REPLY, &m);
    size_t len = encode_ok(&m, buf, WIRE_MAX_FRAME);
    /* node_count sits just before the first node's name length. */
    size_t at = WIRE_HEADER_SIZE + 1 + (1 + MODEL_NAME_MAX) * 2 + 8 + 1 + 1 +
                (1 + sizeof m.u.status.last_reason - 1) + 4;
    ck_assert_uint_eq(buf[at], WIRE_MAX_NODES);
    buf[at] = WIRE_MAX_NODES + 1;
    expect_decode(buf, len, WIRE_MALFORMED, "node_count 9, 8 nodes present");

    /* Even with a ninth node's bytes really there. */
    size_t node_size = (len - at - 1) / WIRE_MAX_NODES;
    memcpy(buf + len, buf + len - node_size, node_size);
    set_plen(buf, frame_plen(buf) + (uint32_t)node_size);
    expect_decode(buf, len + node_size, WIRE_MALFORMED, "node_count 9, 9 nodes present");
    buf[at] = 0xFF;
    expect_decode(buf, len + node_size, WIRE_MALFORMED, "node_count 255");

    /* Fewer nodes declared than sent: trailing bytes. */
    set_plen(buf, frame_plen(buf) - (uint32_t)node_size);
    buf[at] = WIRE_MAX_NODES - 1;
    expect_decode(buf, len, WIRE_MALFORMED, "node_count 7, 8 nodes present");
}
END_TEST

/* ---- encoder ------------------------------------------------------------------- */

START_TEST(encoder_no_space)
{
    for (size_t t = 0; t < N_TYPES; t++) {
        struct wire_msg m;
        uint8_t full[WIRE_MAX_FRAME];
        sample_msg(all_types[t], &m);
        size_t need = encode_ok(&m, full, sizeof full);
        for (size_t cap = 0; cap < need; cap++) {
            /* Exactly cap bytes on the heap: a write past it is caught. */
            uint8_t *buf = malloc(cap ? cap : 1);
            ck_assert_ptr_nonnull(buf);
            size_t out_len = 777;
            int rc = wire_encode(&m, buf, cap, &out_len);
            free(buf);
            ck_assert_msg(rc == WIRE_NO_SPACE, "%s into %u of %u bytes: %s",
                          wire_type_name(m.type), (unsigned)cap, (unsigned)need,
                          wire_error_text(rc));
            ck_assert_uint_eq(out_len, 777); /* untouched on failure */
        }
        uint8_t *buf = malloc(need);
        ck_assert_ptr_nonnull(buf);
        size_t out_len = 0;
        int rc = wire_encode(&m, buf, need, &out_len);
        int same = rc == WIRE_OK && out_len == need && memcmp(buf, full, need) == 0;
        free(buf);
        ck_assert_msg(same, "%s into exactly %u bytes", wire_type_name(m.type), (unsigned)need);
    }
}
END_TEST

START_TEST(encoder_refuses_bad_messages)
{
    struct wire_msg m;
    uint8_t buf[WIRE_MAX_FRAME + 64]; /* more room than any frame may use */
    size_t len = 0;

    memset(&m, 0, sizeof m);
    m.type = 0;
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_BAD_TYPE);
    m.type = WIRE_TYPE_MAX + 1;
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_BAD_TYPE);
    m.type = 5;
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_BAD_TYPE);

    /* A name with no terminator inside its field cannot be sent. */
    memset(&m, 0, sizeof m);
    m.type = WIRE_HELLO;
    memset(m.u.hello.pair, 'x', sizeof m.u.hello.pair);
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_MALFORMED);

    sample_msg(WIRE_STATUS_REPLY, &m);
    m.u.status.node_count = WIRE_MAX_NODES + 1;
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_MALFORMED);
}
END_TEST

/* ---- streams ------------------------------------------------------------------- */

START_TEST(two_frames_back_to_back)
{
    struct wire_msg a, b, out;
    uint8_t buf[2 * WIRE_MAX_FRAME];
    sample_msg(WIRE_REPORT, &a);
    sample_msg(WIRE_STATUS_REPLY, &b);
    b.id = 99;
    size_t la = encode_ok(&a, buf, WIRE_MAX_FRAME);
    size_t lb = encode_ok(&b, buf + la, WIRE_MAX_FRAME);

    size_t used = 0;
    ck_assert_int_eq(decode_exact(buf, la + lb, &out, &used), WIRE_OK);
    ck_assert_uint_eq(used, la);
    assert_msg_equal(&a, &out);
    ck_assert_int_eq(decode_exact(buf + used, la + lb - used, &out, &used), WIRE_OK);
    ck_assert_uint_eq(used, lb);
    assert_msg_equal(&b, &out);

    /* A whole frame then part of the next: the first decodes, the rest waits. */
    ck_assert_int_eq(decode_exact(buf, la + 5, &out, &used), WIRE_OK);
    ck_assert_uint_eq(used, la);
    ck_assert_int_eq(decode_exact(buf + la, 5, &out, &used), WIRE_NEED_MORE);
    ck_assert_int_eq(decode_exact(buf + la, lb - 1, &out, &used), WIRE_NEED_MORE);

    /* A frame followed by garbage: the frame is still good. */
    buf[la] = 'Z';
    ck_assert_int_eq(decode_exact(buf, la + lb, &out, &used), WIRE_OK);
    ck_assert_uint_eq(used, la);
    ck_assert_int_eq(decode_exact(buf + la, lb, &out, &used), WIRE_BAD_MAGIC);
}
END_TEST

/* ---- garbage ------------------------------------------------------------------- */

/* Decodes one candidate; whatever it is, the answer is a known code, and a
 * frame the decoder accepts re-encodes to exactly the same bytes. */
static int fuzz_one(const uint8_t *bytes, size_t len)
{
    struct wire_msg m;
    size_t used = 0;
    int rc = decode_exact(bytes, len, &m, &used);
    ck_assert_msg(valid_code(rc), "decode returned %d", rc);
    if (rc == WIRE_OK) {
        ck_assert_uint_ge(used, WIRE_HEADER_SIZE);
        ck_assert_uint_le(used, len);
        uint8_t again[WIRE_MAX_FRAME];
        size_t len2 = encode_ok(&m, again, sizeof again);
        ck_assert_uint_eq(len2, used);
        ck_assert_mem_eq(again, bytes, used);
    }
    return rc;
}

START_TEST(random_garbage)
{
    uint32_t seed = 0x2545F491u;
    unsigned results[8] = {0}; /* by -code, WIRE_OK and NEED_MORE at 0 and 1 */
    uint8_t frames[N_TYPES][WIRE_MAX_FRAME];
    size_t frame_len[N_TYPES];
    for (size_t t = 0; t < N_TYPES; t++) {
        struct wire_msg m;
        sample_msg(all_types[t], &m);
        frame_len[t] = encode_ok(&m, frames[t], WIRE_MAX_FRAME);
    }

    for (unsigned iter = 0; iter < 20000; iter++) {
        uint8_t buf[WIRE_MAX_FRAME + 64];
        size_t len;
        uint32_t r = xorshift32(&seed);
        switch (r % 4) {
        case 0: /* pure noise, sometimes behind a good magic and version */
            len = xorshift32(&seed) % 80;
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)xorshift32(&seed);
            if (len >= 3 && (r & 0x10)) {
                buf[0] = WIRE_MAGIC0;
                buf[1] = WIRE_MAGIC1;
                buf[2] = WIRE_VERSION;
            }
            break;
        case 1: { /* a good header of a known type over a random payload */
            size_t plen = xorshift32(&seed) % 120;
            uint8_t payload[120];
            for (size_t i = 0; i < plen; i++)
                payload[i] = (uint8_t)(xorshift32(&seed) % ((r & 0x20) ? 256 : 4));
            len = raw_frame(buf, all_types[xorshift32(&seed) % N_TYPES], (uint32_t)plen,
                            payload, plen);
            break;
        }
        default: { /* a valid frame with a few bytes changed, cut or extended */
            size_t t = xorshift32(&seed) % N_TYPES;
            len = frame_len[t];
            memcpy(buf, frames[t], len);
            unsigned flips = 1 + xorshift32(&seed) % 4;
            for (unsigned f = 0; f < flips; f++) {
                uint32_t v = xorshift32(&seed);
                size_t at = v % len;
                if (v & 0x100000u) /* favour the header and the first fields */
                    at = (v >> 8) % 24;
                if (at < len)
                    buf[at] = (uint8_t)(v >> 24);
            }
            uint32_t shape = xorshift32(&seed) % 8;
            if (shape == 0)
                len = xorshift32(&seed) % len;
            else if (shape == 1) {
                size_t extra = xorshift32(&seed) % 64;
                for (size_t i = 0; i < extra; i++)
                    buf[len + i] = (uint8_t)xorshift32(&seed);
                len += extra;
            }
            break;
        }
        }
        int rc = fuzz_one(buf, len);
        results[rc <= 0 ? -rc + 1 : 0]++;
    }
    /* The generator must reach the payload parser, not just the magic check. */
    ck_assert_uint_gt(results[WIRE_OK + 1], 100);           /* accepted */
    ck_assert_uint_gt(results[-WIRE_MALFORMED + 1], 1000);  /* payload refused */
    ck_assert_uint_gt(results[-WIRE_BAD_MAGIC + 1], 1000);
    ck_assert_uint_gt(results[0], 100);                     /* need more */
}
END_TEST

/* ---- issue 3 fields: peer views, silences, last changes ------------------------- */

START_TEST(report_peer_fields_round_trip)
{
    struct wire_msg in, out;
    uint8_t buf[WIRE_MAX_FRAME];
    /* "No peer link" and every other extreme. */
    static const uint32_t silences[] = {0, 1, 2500, WIRE_SILENT_NEVER - 1, WIRE_SILENT_NEVER};
    for (size_t i = 0; i < sizeof silences / sizeof silences[0]; i++) {
        sample_msg(WIRE_REPORT, &in);
        in.u.report.peer_silent_ms = silences[i];
        in.u.report.peer_epoch = i == 0 ? 0 : UINT64_MAX;
        in.u.report.peer_mode = (uint8_t)(i & 1);
        in.u.report.peer_app_healthy = (uint8_t)((i >> 1) & 1);
        in.u.report.peer_port = (uint8_t)(i % 4);
        if (i == 2)
            in.u.report.reason[0] = '\0';
        size_t len = encode_ok(&in, buf, sizeof buf);
        ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
        assert_msg_equal(&in, &out);
    }
    /* The longest reason fits and is kept whole. */
    sample_msg(WIRE_REPORT, &in);
    ck_assert_uint_eq(strlen(in.u.report.reason), WIRE_REASON_MAX);
    size_t len = encode_ok(&in, buf, sizeof buf);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    ck_assert_uint_eq(strlen(out.u.report.reason), WIRE_REASON_MAX);
}
END_TEST

START_TEST(report_reason_too_long)
{
    struct wire_msg m;
    uint8_t buf[WIRE_MAX_FRAME];
    size_t len = 0;
    /* The encoder cannot send a reason with no terminator in its field. */
    sample_msg(WIRE_REPORT, &m);
    memset(m.u.report.reason, 'x', sizeof m.u.report.reason);
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &len), WIRE_MALFORMED);

    /* A 96-byte reason on the wire does not fit the 95-character field. */
    sample_msg(WIRE_REPORT, &m);
    len = encode_ok(&m, buf, sizeof buf);
    const size_t at = WIRE_HEADER_SIZE + 27; /* the reason's length byte */
    ck_assert_uint_eq(buf[at], WIRE_REASON_MAX);
    uint8_t big[WIRE_MAX_FRAME];
    memcpy(big, buf, len);
    big[at] = WIRE_REASON_MAX + 1;
    big[len] = 'y';
    set_plen(big, frame_plen(big) + 1);
    expect_decode(big, len + 1, WIRE_MALFORMED, "REPORT reason of 96 bytes");
    /* Exactly 95 is fine; a reason running past the payload is not. */
    expect_decode(buf, len, WIRE_OK, "REPORT reason of 95 bytes");
    buf[at] = WIRE_REASON_MAX - 1;
    expect_decode(buf, len, WIRE_MALFORMED, "REPORT reason shorter than sent");
}
END_TEST

START_TEST(heartbeat_silent_round_trip)
{
    static const uint32_t silences[] = {0, 500, 0x7FFFFFFFu, WIRE_SILENT_NEVER};
    for (size_t i = 0; i < sizeof silences / sizeof silences[0]; i++) {
        struct wire_msg in, out;
        uint8_t buf[WIRE_MAX_FRAME];
        memset(&in, 0, sizeof in);
        in.type = WIRE_HEARTBEAT;
        in.u.heartbeat.epoch = 77;
        in.u.heartbeat.silent_ms = silences[i];
        size_t len = encode_ok(&in, buf, sizeof buf);
        ck_assert_uint_eq(len, WIRE_HEADER_SIZE + 12);
        ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
        assert_msg_equal(&in, &out);
    }
    /* The old 8-byte heartbeat (epoch only) is malformed now. */
    uint8_t old[WIRE_HEADER_SIZE + 8];
    static const uint8_t epoch_only[8] = {0, 0, 0, 0, 0, 0, 0, 77};
    size_t len = raw_frame(old, WIRE_HEARTBEAT, sizeof epoch_only, epoch_only, sizeof epoch_only);
    expect_decode(old, len, WIRE_MALFORMED, "HEARTBEAT without silent_ms");
}
END_TEST

START_TEST(node_status_new_fields)
{
    struct wire_msg in, out;
    uint8_t buf[WIRE_MAX_FRAME];
    /* Every node's last_change at its longest, peer_link both ways. */
    sample_msg(WIRE_STATUS_REPLY, &in);
    for (unsigned i = 0; i < WIRE_MAX_NODES; i++)
        ck_assert_uint_eq(strlen(in.u.status.nodes[i].last_change), WIRE_REASON_MAX);
    size_t len = encode_ok(&in, buf, sizeof buf);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);
    ck_assert_uint_eq(out.u.status.nodes[0].peer_link, 0);
    ck_assert_uint_eq(out.u.status.nodes[4].peer_link, 1);

    /* last_change longer than its field: refused both ways. */
    memset(&in, 0, sizeof in);
    in.type = WIRE_STATUS_REPLY;
    in.u.status.role = MODEL_ROLE_AGENT;
    in.u.status.node_count = 1;
    memset(in.u.status.nodes[0].last_change, 'z', sizeof in.u.status.nodes[0].last_change);
    size_t dummy = 0;
    ck_assert_int_eq(wire_encode(&in, buf, sizeof buf, &dummy), WIRE_MALFORMED);
    in.u.status.nodes[0].last_change[WIRE_REASON_MAX] = '\0';
    len = encode_ok(&in, buf, sizeof buf);
    /* The last_change length byte sits WIRE_REASON_MAX + 1 before its age. */
    size_t at = len - 4 - WIRE_REASON_MAX - 1;
    ck_assert_uint_eq(buf[at], WIRE_REASON_MAX);
    uint8_t big[WIRE_MAX_FRAME];
    memcpy(big, buf, len);
    big[at] = WIRE_REASON_MAX + 1;
    big[len] = 'z';
    set_plen(big, frame_plen(big) + 1);
    expect_decode(big, len + 1, WIRE_MALFORMED, "node last_change of 96 bytes");
}
END_TEST

/* ---- history ----------------------------------------------------------------------- */

START_TEST(history_reply_at_limits)
{
    /* Sixteen entries, every text at its longest: one frame. */
    struct wire_msg in, out;
    uint8_t buf[WIRE_MAX_FRAME];
    sample_msg(WIRE_HISTORY_REPLY, &in);
    ck_assert_uint_eq(in.u.history.count, WIRE_HISTORY_MAX);
    ck_assert_uint_eq(WIRE_HISTORY_MAX, MODEL_HISTORY_MAX);
    ck_assert_uint_eq(WIRE_HISTORY_TEXT, MODEL_HISTORY_TEXT - 1); /* a model entry fits */
    for (unsigned i = 0; i < WIRE_HISTORY_MAX; i++)
        ck_assert_uint_eq(strlen(in.u.history.entries[i].text), WIRE_HISTORY_TEXT);
    size_t len = encode_ok(&in, buf, sizeof buf);
    ck_assert_uint_eq(len, WIRE_HEADER_SIZE + 1 + WIRE_HISTORY_MAX * (8 + 1 + WIRE_HISTORY_TEXT));
    size_t used = 0;
    ck_assert_int_eq(decode_exact(buf, len, &out, &used), WIRE_OK);
    ck_assert_uint_eq(used, len);
    assert_msg_equal(&in, &out);
    ck_assert_uint_eq(out.u.history.entries[15].age_ms, 0x0A0B0C0D0E0F1011ull * 16);

    /* None at all. */
    memset(&in, 0, sizeof in);
    in.type = WIRE_HISTORY_REPLY;
    len = encode_ok(&in, buf, sizeof buf);
    ck_assert_uint_eq(len, WIRE_HEADER_SIZE + 1);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    ck_assert_uint_eq(out.u.history.count, 0);

    /* The request has no payload; any payload is malformed. */
    memset(&in, 0, sizeof in);
    in.type = WIRE_HISTORY_REQ;
    len = encode_ok(&in, buf, sizeof buf);
    ck_assert_uint_eq(len, WIRE_HEADER_SIZE);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    ck_assert_uint_eq(out.type, WIRE_HISTORY_REQ);
    static const uint8_t one[1] = {0};
    len = raw_frame(buf, WIRE_HISTORY_REQ, 1, one, 1);
    expect_decode(buf, len, WIRE_MALFORMED, "HISTORY_REQ with a payload");
}
END_TEST

START_TEST(history_count_malformed)
{
    struct wire_msg m;
    uint8_t buf[WIRE_MAX_FRAME + 256];
    sample_msg(WIRE_HISTORY_REPLY, &m);
    size_t len = encode_ok(&m, buf, WIRE_MAX_FRAME);
    const size_t at = WIRE_HEADER_SIZE; /* the count */
    const size_t entry = 8 + 1 + WIRE_HISTORY_TEXT;
    ck_assert_uint_eq(buf[at], WIRE_HISTORY_MAX);

    buf[at] = WIRE_HISTORY_MAX + 1;
    expect_decode(buf, len, WIRE_MALFORMED, "count 17, 16 entries present");
    /* Even with a seventeenth entry really there. */
    memcpy(buf + len, buf + len - entry, entry);
    set_plen(buf, frame_plen(buf) + (uint32_t)entry);
    expect_decode(buf, len + entry, WIRE_MALFORMED, "count 17, 17 entries present");
    buf[at] = 0xFF;
    expect_decode(buf, len + entry, WIRE_MALFORMED, "count 255");
    set_plen(buf, frame_plen(buf) - (uint32_t)entry);

    /* Fewer declared than sent: trailing bytes; more: the payload ends. */
    buf[at] = WIRE_HISTORY_MAX - 1;
    expect_decode(buf, len, WIRE_MALFORMED, "count 15, 16 entries present");
    buf[at] = 0;
    expect_decode(buf, len, WIRE_MALFORMED, "count 0, 16 entries present");
    buf[at] = WIRE_HISTORY_MAX;
    set_plen(buf, frame_plen(buf) - (uint32_t)entry);
    expect_decode(buf, len - entry, WIRE_MALFORMED, "count 16, 15 entries present");
    set_plen(buf, frame_plen(buf) + (uint32_t)entry);
    expect_decode(buf, len, WIRE_OK, "restored");

    /* The encoder refuses a count it could not send. */
    size_t out_len = 0;
    uint8_t enc[WIRE_MAX_FRAME + 64];
    m.u.history.count = WIRE_HISTORY_MAX + 1;
    ck_assert_int_eq(wire_encode(&m, enc, sizeof enc, &out_len), WIRE_MALFORMED);
    m.u.history.count = 255;
    ck_assert_int_eq(wire_encode(&m, enc, sizeof enc, &out_len), WIRE_MALFORMED);
}
END_TEST

START_TEST(history_text_too_long)
{
    uint8_t buf[WIRE_MAX_FRAME];
    /* count 1, age 0, a 112-byte text: one more than the field holds. */
    uint8_t payload[1 + 8 + 1 + WIRE_HISTORY_TEXT + 1];
    memset(payload, 0, sizeof payload);
    payload[0] = 1;
    payload[9] = WIRE_HISTORY_TEXT + 1;
    memset(payload + 10, 't', WIRE_HISTORY_TEXT + 1);
    size_t len = raw_frame(buf, WIRE_HISTORY_REPLY, sizeof payload, payload, sizeof payload);
    expect_decode(buf, len, WIRE_MALFORMED, "history text of 112 bytes");
    /* Exactly 111 is fine. */
    payload[9] = WIRE_HISTORY_TEXT;
    len = raw_frame(buf, WIRE_HISTORY_REPLY, sizeof payload - 1, payload, sizeof payload - 1);
    expect_decode(buf, len, WIRE_OK, "history text of 111 bytes");
    /* An embedded NUL is refused here as in every string. */
    buf[WIRE_HEADER_SIZE + 10 + 5] = 0;
    expect_decode(buf, len, WIRE_MALFORMED, "history text with a NUL");

    /* The encoder cannot send a text with no terminator in its field. */
    struct wire_msg m;
    sample_msg(WIRE_HISTORY_REPLY, &m);
    memset(m.u.history.entries[3].text, 'q', sizeof m.u.history.entries[3].text);
    size_t out_len = 0;
    ck_assert_int_eq(wire_encode(&m, buf, sizeof buf, &out_len), WIRE_MALFORMED);
}
END_TEST

START_TEST(history_fill_from_model)
{
    /* wire_history_fill: a machine's history as nlbctl receives it,
     * newest first, each entry's age as of now. */
    struct model_history h;
    struct wire_history_reply r;
    memset(&h, 0, sizeof h);
    wire_history_fill(&r, &h, 5000);
    ck_assert_uint_eq(r.count, 0);

    char text[MODEL_HISTORY_TEXT + 50];
    for (unsigned i = 0; i < 20; i++) {
        memset(text, (char)('a' + i), sizeof text - 1);
        text[sizeof text - 1] = '\0';
        text[i] = '\0'; /* entry i has i characters */
        if (i == 19)
            text[i] = 'z'; /* the newest is longer than any field */
        model_history_add(&h, 1000 + 100 * i, text);
    }
    wire_history_fill(&r, &h, 5000);
    ck_assert_uint_eq(r.count, WIRE_HISTORY_MAX);
    /* Newest: cut to the model's field, which fits the wire's whole. */
    ck_assert_uint_eq(strlen(r.entries[0].text), WIRE_HISTORY_TEXT);
    ck_assert_str_eq(r.entries[0].text, model_history_get(&h, 0, NULL));
    ck_assert_uint_eq(r.entries[0].age_ms, 5000 - (1000 + 100 * 19));
    for (unsigned k = 1; k < WIRE_HISTORY_MAX; k++) {
        unsigned i = 19 - k;
        ck_assert_uint_eq(strlen(r.entries[k].text), i);
        ck_assert_uint_eq(r.entries[k].age_ms, 5000 - (1000 + 100 * i));
    }
    /* An entry stamped after `now` (a clock read early) is 0 ms old. */
    wire_history_fill(&r, &h, 1000);
    ck_assert_uint_eq(r.entries[0].age_ms, 0);

    /* It encodes, at the limit, and reads back the same. */
    struct wire_msg in, out;
    memset(&in, 0, sizeof in);
    in.type = WIRE_HISTORY_REPLY;
    wire_history_fill(&in.u.history, &h, 5000);
    uint8_t buf[WIRE_MAX_FRAME];
    size_t len = encode_ok(&in, buf, sizeof buf);
    ck_assert_int_eq(decode_exact(buf, len, &out, NULL), WIRE_OK);
    assert_msg_equal(&in, &out);
}
END_TEST

/* ---- names --------------------------------------------------------------------- */

START_TEST(error_texts)
{
    static const int codes[] = {WIRE_OK,      WIRE_NEED_MORE, WIRE_BAD_MAGIC, WIRE_BAD_VERSION,
                                WIRE_TOO_LARGE, WIRE_BAD_TYPE, WIRE_MALFORMED, WIRE_NO_SPACE};
    const size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = wire_error_text(-100);
    ck_assert_ptr_nonnull(unknown);
    ck_assert_str_eq(wire_error_text(2), unknown);
    ck_assert_str_eq(wire_error_text(-7), unknown);
    ck_assert_str_eq(wire_error_text(1000), unknown);
    for (size_t i = 0; i < n; i++) {
        const char *t = wire_error_text(codes[i]);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_gt(strlen(t), 1);
        ck_assert_str_ne(t, unknown);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(t, wire_error_text(codes[j]));
    }
    /* The size in the sentence is the real limit. */
    ck_assert_ptr_nonnull(strstr(wire_error_text(WIRE_TOO_LARGE), "4096"));
    ck_assert_int_eq(WIRE_MAX_PAYLOAD, 4096);
}
END_TEST

START_TEST(type_names)
{
    static const struct {
        uint8_t type;
        const char *name;
    } names[] = {
        {WIRE_HELLO, "HELLO"},
        {WIRE_REPORT, "REPORT"},
        {WIRE_SET_ROLE, "SET_ROLE"},
        {WIRE_HEARTBEAT, "HEARTBEAT"},
        {WIRE_STATUS_REQ, "STATUS_REQ"},
        {WIRE_SWITCHOVER_REQ, "SWITCHOVER_REQ"},
        {WIRE_STATUS_REPLY, "STATUS_REPLY"},
        {WIRE_RESULT, "RESULT"},
        {WIRE_HISTORY_REQ, "HISTORY_REQ"},
        {WIRE_HISTORY_REPLY, "HISTORY_REPLY"},
        {WIRE_APP_STATUS, "APP_STATUS"},
    };
    const size_t n = sizeof names / sizeof names[0];
    ck_assert_uint_eq(n, N_TYPES);
    for (unsigned t = 0; t < 256; t++) {
        const char *want = "?";
        for (size_t i = 0; i < n; i++)
            if (names[i].type == t)
                want = names[i].name;
        ck_assert_str_eq(wire_type_name((uint8_t)t), want);
    }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc;

    tc = tcase_create("round_trip");
    tcase_add_test(tc, round_trip_every_type);
    tcase_add_test(tc, round_trip_status_at_limits);
    tcase_add_test(tc, round_trip_edge_values);
    tcase_add_test(tc, round_trip_exact_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("truncated");
    tcase_add_test(tc, every_prefix_needs_more);
    tcase_add_test(tc, bad_prefix_refused_early);
    suite_add_tcase(s, tc);

    tc = tcase_create("frame_size");
    tcase_add_test(tc, frame_size_from_header);
    suite_add_tcase(s, tc);

    tc = tcase_create("header_errors");
    tcase_add_test(tc, oversized_declared_length);
    tcase_add_test(tc, wrong_version);
    tcase_add_test(tc, bad_magic);
    tcase_add_test(tc, unknown_type);
    suite_add_tcase(s, tc);

    tc = tcase_create("payload_errors");
    tcase_add_test(tc, trailing_bytes_malformed);
    tcase_add_test(tc, short_payload_malformed);
    tcase_add_test(tc, string_past_end_malformed);
    tcase_add_test(tc, string_too_long_for_field);
    tcase_add_test(tc, embedded_nul_malformed);
    tcase_add_test(tc, enum_out_of_range_malformed);
    tcase_add_test(tc, node_count_over_max_malformed);
    suite_add_tcase(s, tc);

    tc = tcase_create("encoder");
    tcase_add_test(tc, encoder_no_space);
    tcase_add_test(tc, encoder_refuses_bad_messages);
    suite_add_tcase(s, tc);

    tc = tcase_create("stream");
    tcase_add_test(tc, two_frames_back_to_back);
    suite_add_tcase(s, tc);

    tc = tcase_create("garbage");
    tcase_add_test(tc, random_garbage);
    suite_add_tcase(s, tc);

    tc = tcase_create("peer_fields");
    tcase_add_test(tc, report_peer_fields_round_trip);
    tcase_add_test(tc, report_reason_too_long);
    tcase_add_test(tc, heartbeat_silent_round_trip);
    tcase_add_test(tc, node_status_new_fields);
    suite_add_tcase(s, tc);

    tc = tcase_create("history");
    tcase_add_test(tc, history_reply_at_limits);
    tcase_add_test(tc, history_count_malformed);
    tcase_add_test(tc, history_text_too_long);
    tcase_add_test(tc, history_fill_from_model);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, error_texts);
    tcase_add_test(tc, type_names);
    suite_add_tcase(s, tc);

    return s;
}
