/* wire.c - explicit big-endian packing of nlbctl's messages.
 *
 * Encoding and decoding go through a cursor that knows its limit; every
 * read checks the remaining length first, and a decode succeeds only if the
 * payload is consumed exactly, so trailing garbage is malformed too. */
#include "wire.h"
#include "utf8.h"

#include <string.h>

struct cursor {
    uint8_t *w;       /* encoder: write position, NULL when decoding */
    const uint8_t *r; /* decoder: read position */
    size_t left;
    int bad; /* sticky: once set, every later operation is a no-op */
};

/* ---- writing -------------------------------------------------------------- */

static void put_bytes(struct cursor *c, const void *p, size_t n)
{
    if (c->bad || n > c->left) {
        c->bad = 1;
        return;
    }
    memcpy(c->w, p, n);
    c->w += n;
    c->left -= n;
}

static void put_u8(struct cursor *c, uint8_t v) { put_bytes(c, &v, 1); }

static void put_u32(struct cursor *c, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(c, b, 4);
}

static void put_u64(struct cursor *c, uint64_t v)
{
    put_u32(c, (uint32_t)(v >> 32));
    put_u32(c, (uint32_t)v);
}

/* Strings carry their own length; one longer than `max` cannot be sent. */
static void put_str(struct cursor *c, const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0')
        n++;
    if (n > max || n > 255) {
        c->bad = 1;
        return;
    }
    put_u8(c, (uint8_t)n);
    put_bytes(c, s, n);
}

/* ---- reading -------------------------------------------------------------- */

static void get_bytes(struct cursor *c, void *p, size_t n)
{
    if (c->bad || n > c->left) {
        c->bad = 1;
        return;
    }
    memcpy(p, c->r, n);
    c->r += n;
    c->left -= n;
}

static uint8_t get_u8(struct cursor *c)
{
    uint8_t v = 0;
    get_bytes(c, &v, 1);
    return v;
}

static uint32_t get_u32(struct cursor *c)
{
    uint8_t b[4] = {0, 0, 0, 0};
    get_bytes(c, b, 4);
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static uint64_t get_u64(struct cursor *c)
{
    uint64_t hi = get_u32(c);
    return (hi << 32) | get_u32(c);
}

/* Reads a string into a buffer of cap bytes (cap - 1 characters + NUL). An
 * embedded NUL would let two different payloads mean the same name, so it is
 * malformed. */
static void get_str(struct cursor *c, char *out, size_t cap)
{
    out[0] = '\0';
    size_t n = get_u8(c);
    if (c->bad || n >= cap || n > c->left) {
        c->bad = 1;
        return;
    }
    get_bytes(c, out, n);
    out[n] = '\0';
    if (strlen(out) != n)
        c->bad = 1;
}

/* A small enum field: anything above max is malformed. */
static uint8_t get_enum(struct cursor *c, uint8_t max)
{
    uint8_t v = get_u8(c);
    if (v > max)
        c->bad = 1;
    return v;
}

static uint8_t get_bool(struct cursor *c) { return get_enum(c, 1); }

/* ---- payloads -------------------------------------------------------------- */

static void pack_node(struct cursor *c, const struct wire_node_status *n)
{
    put_str(c, n->name, MODEL_NAME_MAX);
    put_u8(c, n->connected);
    put_u8(c, n->mode);
    put_u8(c, n->app_healthy);
    put_u8(c, n->port_desired);
    put_u8(c, n->port_actual);
    put_u64(c, n->epoch);
    put_u32(c, n->last_heard_ms);
    put_u8(c, n->peer_link);
    put_u8(c, n->sip_probe);
    put_str(c, n->last_change, WIRE_REASON_MAX);
    put_u32(c, n->last_change_age_ms);
}

static void unpack_node(struct cursor *c, struct wire_node_status *n)
{
    get_str(c, n->name, sizeof n->name);
    n->connected = get_bool(c);
    n->mode = get_enum(c, MODEL_MODE_PRIMARY);
    n->app_healthy = get_bool(c);
    n->port_desired = get_enum(c, MODEL_PORT_DISCONNECTED);
    n->port_actual = get_enum(c, MODEL_PORT_DISCONNECTED);
    n->epoch = get_u64(c);
    n->last_heard_ms = get_u32(c);
    n->peer_link = get_bool(c);
    n->sip_probe = get_enum(c, MODEL_PROBE_DOWN);
    get_str(c, n->last_change, sizeof n->last_change);
    n->last_change_age_ms = get_u32(c);
}

static void pack_payload(struct cursor *c, const struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        put_str(c, m->u.hello.pair, MODEL_NAME_MAX);
        put_str(c, m->u.hello.node, MODEL_NAME_MAX);
        break;
    case WIRE_REPORT:
        put_u64(c, m->u.report.epoch);
        put_u8(c, m->u.report.mode);
        put_u8(c, m->u.report.app_healthy);
        put_u8(c, m->u.report.port_desired);
        put_u8(c, m->u.report.port_actual);
        put_u32(c, m->u.report.peer_silent_ms);
        put_u8(c, m->u.report.peer_mode);
        put_u8(c, m->u.report.peer_app_healthy);
        put_u8(c, m->u.report.peer_port);
        put_u64(c, m->u.report.peer_epoch);
        put_str(c, m->u.report.reason, WIRE_REASON_MAX);
        put_u8(c, m->u.report.stopping);
        put_u8(c, m->u.report.peer_heard);
        put_u32(c, m->u.report.reason_age_ms);
        put_u64(c, m->u.report.sent_at);
        break;
    case WIRE_SET_ROLE:
        put_u64(c, m->u.set_role.epoch);
        put_u8(c, m->u.set_role.mode);
        put_u8(c, m->u.set_role.drain);
        put_u64(c, m->u.set_role.echo);
        put_u32(c, m->u.set_role.loss_ms);
        break;
    case WIRE_HEARTBEAT:
        put_u64(c, m->u.heartbeat.epoch);
        put_u32(c, m->u.heartbeat.silent_ms);
        break;
    case WIRE_STATUS_REQ:
    case WIRE_HISTORY_REQ:
        break;
    case WIRE_APP_STATUS:
        put_u8(c, m->u.app_status.available);
        put_str(c, m->u.app_status.reason, WIRE_REASON_MAX);
        break;
    case WIRE_HISTORY_REPLY:
        if (m->u.history.count > WIRE_HISTORY_MAX) {
            c->bad = 1;
            break;
        }
        put_u8(c, m->u.history.count);
        for (uint8_t i = 0; i < m->u.history.count; i++) {
            put_u64(c, m->u.history.entries[i].age_ms);
            put_str(c, m->u.history.entries[i].text, WIRE_HISTORY_TEXT);
        }
        break;
    case WIRE_SWITCHOVER_REQ:
        put_str(c, m->u.switchover_req.target, MODEL_NAME_MAX);
        put_u32(c, m->u.switchover_req.timeout_ms);
        break;
    case WIRE_RESULT:
        put_u32(c, (uint32_t)m->u.result.code);
        put_str(c, m->u.result.text, sizeof m->u.result.text - 1);
        break;
    case WIRE_STATUS_REPLY: {
        const struct wire_status_reply *s = &m->u.status;
        put_u8(c, s->role);
        put_str(c, s->pair, MODEL_NAME_MAX);
        put_str(c, s->primary, MODEL_NAME_MAX);
        put_u64(c, s->epoch);
        put_u8(c, s->phase);
        put_u8(c, s->coordinator_link);
        put_str(c, s->last_reason, sizeof s->last_reason - 1);
        put_u32(c, s->last_reason_age_ms);
        if (s->node_count > WIRE_MAX_NODES) {
            c->bad = 1;
            break;
        }
        put_u8(c, s->node_count);
        for (uint8_t i = 0; i < s->node_count; i++)
            pack_node(c, &s->nodes[i]);
        break;
    }
    default:
        c->bad = 1;
    }
}

static void unpack_payload(struct cursor *c, struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        get_str(c, m->u.hello.pair, sizeof m->u.hello.pair);
        get_str(c, m->u.hello.node, sizeof m->u.hello.node);
        break;
    case WIRE_REPORT:
        m->u.report.epoch = get_u64(c);
        m->u.report.mode = get_enum(c, MODEL_MODE_PRIMARY);
        m->u.report.app_healthy = get_bool(c);
        m->u.report.port_desired = get_enum(c, MODEL_PORT_DISCONNECTED);
        m->u.report.port_actual = get_enum(c, MODEL_PORT_DISCONNECTED);
        m->u.report.peer_silent_ms = get_u32(c);
        m->u.report.peer_mode = get_enum(c, MODEL_MODE_PRIMARY);
        m->u.report.peer_app_healthy = get_bool(c);
        m->u.report.peer_port = get_enum(c, MODEL_PORT_DISCONNECTED);
        m->u.report.peer_epoch = get_u64(c);
        get_str(c, m->u.report.reason, sizeof m->u.report.reason);
        m->u.report.stopping = get_bool(c);
        m->u.report.peer_heard = get_bool(c);
        m->u.report.reason_age_ms = get_u32(c);
        m->u.report.sent_at = get_u64(c);
        break;
    case WIRE_SET_ROLE:
        m->u.set_role.epoch = get_u64(c);
        m->u.set_role.mode = get_enum(c, MODEL_MODE_PRIMARY);
        m->u.set_role.drain = get_bool(c);
        m->u.set_role.echo = get_u64(c);
        m->u.set_role.loss_ms = get_u32(c);
        break;
    case WIRE_HEARTBEAT:
        m->u.heartbeat.epoch = get_u64(c);
        m->u.heartbeat.silent_ms = get_u32(c);
        break;
    case WIRE_STATUS_REQ:
    case WIRE_HISTORY_REQ:
        break;
    case WIRE_APP_STATUS:
        m->u.app_status.available = get_bool(c);
        get_str(c, m->u.app_status.reason, sizeof m->u.app_status.reason);
        break;
    case WIRE_HISTORY_REPLY:
        m->u.history.count = get_enum(c, WIRE_HISTORY_MAX);
        for (uint8_t i = 0; !c->bad && i < m->u.history.count; i++) {
            m->u.history.entries[i].age_ms = get_u64(c);
            get_str(c, m->u.history.entries[i].text, sizeof m->u.history.entries[i].text);
        }
        break;
    case WIRE_SWITCHOVER_REQ:
        get_str(c, m->u.switchover_req.target, sizeof m->u.switchover_req.target);
        m->u.switchover_req.timeout_ms = get_u32(c);
        break;
    case WIRE_RESULT:
        m->u.result.code = (int32_t)get_u32(c);
        get_str(c, m->u.result.text, sizeof m->u.result.text);
        break;
    case WIRE_STATUS_REPLY: {
        struct wire_status_reply *s = &m->u.status;
        s->role = get_u8(c);
        if (s->role != MODEL_ROLE_AGENT && s->role != MODEL_ROLE_COORDINATOR)
            c->bad = 1;
        get_str(c, s->pair, sizeof s->pair);
        get_str(c, s->primary, sizeof s->primary);
        s->epoch = get_u64(c);
        s->phase = get_enum(c, MODEL_PHASE_PROMOTING);
        s->coordinator_link = get_bool(c);
        get_str(c, s->last_reason, sizeof s->last_reason);
        s->last_reason_age_ms = get_u32(c);
        s->node_count = get_enum(c, WIRE_MAX_NODES);
        for (uint8_t i = 0; !c->bad && i < s->node_count; i++)
            unpack_node(c, &s->nodes[i]);
        break;
    }
    default:
        c->bad = 1;
    }
}

/* ---- frames ---------------------------------------------------------------- */

static int type_known(uint8_t t)
{
    switch (t) {
    case WIRE_HELLO:
    case WIRE_REPORT:
    case WIRE_SET_ROLE:
    case WIRE_HEARTBEAT:
    case WIRE_STATUS_REQ:
    case WIRE_SWITCHOVER_REQ:
    case WIRE_STATUS_REPLY:
    case WIRE_RESULT:
    case WIRE_HISTORY_REQ:
    case WIRE_HISTORY_REPLY:
    case WIRE_APP_STATUS:
        return 1;
    default:
        return 0;
    }
}

int wire_encode(const struct wire_msg *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (!type_known(msg->type))
        return WIRE_BAD_TYPE;
    if (cap < WIRE_HEADER_SIZE)
        return WIRE_NO_SPACE;
    size_t room = cap - WIRE_HEADER_SIZE;
    if (room > WIRE_MAX_PAYLOAD)
        room = WIRE_MAX_PAYLOAD;
    struct cursor c = {.w = buf + WIRE_HEADER_SIZE, .r = NULL, .left = room, .bad = 0};
    pack_payload(&c, msg);
    if (c.bad)
        return room < WIRE_MAX_PAYLOAD ? WIRE_NO_SPACE : WIRE_MALFORMED;
    uint32_t len = (uint32_t)(room - c.left);
    struct cursor h = {.w = buf, .r = NULL, .left = WIRE_HEADER_SIZE, .bad = 0};
    put_u8(&h, WIRE_MAGIC0);
    put_u8(&h, WIRE_MAGIC1);
    put_u8(&h, WIRE_VERSION);
    put_u8(&h, msg->type);
    put_u32(&h, len);
    put_u32(&h, msg->id);
    *out_len = WIRE_HEADER_SIZE + len;
    return WIRE_OK;
}

int wire_frame_size(const uint8_t *buf, size_t len, size_t *frame_size)
{
    /* Judge what we have of the header as early as possible, so garbage is
     * refused without waiting for twelve bytes of it. */
    if (len >= 1 && buf[0] != WIRE_MAGIC0)
        return WIRE_BAD_MAGIC;
    if (len >= 2 && buf[1] != WIRE_MAGIC1)
        return WIRE_BAD_MAGIC;
    if (len >= 3 && buf[2] != WIRE_VERSION)
        return WIRE_BAD_VERSION;
    if (len >= 4 && !type_known(buf[3]))
        return WIRE_BAD_TYPE;
    if (len < WIRE_HEADER_SIZE)
        return WIRE_NEED_MORE;
    struct cursor h = {.w = NULL, .r = buf + 4, .left = 4, .bad = 0};
    uint32_t plen = get_u32(&h);
    if (plen > WIRE_MAX_PAYLOAD)
        return WIRE_TOO_LARGE;
    *frame_size = WIRE_HEADER_SIZE + (size_t)plen;
    return WIRE_OK;
}

int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *msg, size_t *consumed)
{
    size_t size = 0;
    int rc = wire_frame_size(buf, len, &size);
    if (rc != WIRE_OK)
        return rc;
    if (len < size)
        return WIRE_NEED_MORE;

    struct cursor h = {.w = NULL, .r = buf + 8, .left = 4, .bad = 0};
    memset(msg, 0, sizeof *msg);
    msg->type = buf[3];
    msg->id = get_u32(&h);
    struct cursor c = {.w = NULL, .r = buf + WIRE_HEADER_SIZE, .left = size - WIRE_HEADER_SIZE,
                       .bad = 0};
    unpack_payload(&c, msg);
    if (c.bad || c.left != 0)
        return WIRE_MALFORMED;
    *consumed = size;
    return WIRE_OK;
}

void wire_history_fill(struct wire_history_reply *r, const struct model_history *h, uint64_t now)
{
    memset(r, 0, sizeof *r);
    uint64_t at = 0;
    const char *text;
    for (unsigned i = 0; i < WIRE_HISTORY_MAX && (text = model_history_get(h, i, &at)); i++) {
        r->entries[i].age_ms = now > at ? now - at : 0;
        size_t n = utf8_clip(text, strlen(text), WIRE_HISTORY_TEXT);
        memcpy(r->entries[i].text, text, n);
        r->entries[i].text[n] = '\0';
        r->count = (uint8_t)(i + 1);
    }
}

const char *wire_error_text(int err)
{
    switch (err) {
    case WIRE_OK: return "ok";
    case WIRE_NEED_MORE: return "incomplete frame";
    case WIRE_BAD_MAGIC: return "not an nlbctl message (bad magic)";
    case WIRE_BAD_VERSION: return "unsupported protocol version";
    case WIRE_TOO_LARGE: return "message larger than the 4096-byte limit";
    case WIRE_BAD_TYPE: return "unknown message type";
    case WIRE_MALFORMED: return "malformed message payload";
    case WIRE_NO_SPACE: return "output buffer too small";
    default: return "unknown codec error";
    }
}

const char *wire_type_name(uint8_t type)
{
    switch (type) {
    case WIRE_HELLO: return "HELLO";
    case WIRE_REPORT: return "REPORT";
    case WIRE_SET_ROLE: return "SET_ROLE";
    case WIRE_HEARTBEAT: return "HEARTBEAT";
    case WIRE_STATUS_REQ: return "STATUS_REQ";
    case WIRE_SWITCHOVER_REQ: return "SWITCHOVER_REQ";
    case WIRE_STATUS_REPLY: return "STATUS_REPLY";
    case WIRE_RESULT: return "RESULT";
    case WIRE_HISTORY_REQ: return "HISTORY_REQ";
    case WIRE_HISTORY_REPLY: return "HISTORY_REPLY";
    case WIRE_APP_STATUS: return "APP_STATUS";
    default: return "?";
    }
}

uint32_t wire_age_ms(uint64_t now, uint64_t at)
{
    uint64_t age = now > at ? now - at : 0;
    return age >= WIRE_AGE_UNKNOWN ? WIRE_AGE_UNKNOWN - 1 : (uint32_t)age;
}

uint32_t wire_age_add(uint32_t age, uint64_t now, uint64_t learnt_at)
{
    if (age == WIRE_AGE_UNKNOWN)
        return WIRE_AGE_UNKNOWN;
    uint64_t sum = (uint64_t)age + wire_age_ms(now, learnt_at);
    return sum >= WIRE_AGE_UNKNOWN ? WIRE_AGE_UNKNOWN - 1 : (uint32_t)sum;
}
