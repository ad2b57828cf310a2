/* make_seeds.c - writes the generated part of the fuzz seed corpus:
 *
 *   <dir>/wire/<type>...   one encoded frame of every message type, plus
 *                          the largest status and history replies;
 *   <dir>/seal/...         the same frames as sealed records (fuzz_hmac.h),
 *                          delivered, then one of each meddling, and a raw
 *                          stream from a sender with the wrong key;
 *   <dir>/args/...         typical nlbctl command lines, words split by NUL.
 *
 * Config seeds are hand-written files (and a copy of nlbctld.example.ini);
 * scripts/fuzz.sh --seeds runs this and copies the example.
 *
 *   make_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_hmac.h"
#include "wire.h"

static const char *dir;

static void write_file(const char *sub, const char *name, const void *bytes, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

/* One message of each type, its fields filled as a live system would. */
static void sample(uint8_t type, struct wire_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->id = 7;
    switch (type) {
    case WIRE_HELLO:
        strcpy(m->u.hello.pair, "sip");
        strcpy(m->u.hello.node, "WEB1");
        break;
    case WIRE_REPORT:
        m->u.report.epoch = 3;
        m->u.report.mode = MODEL_MODE_PRIMARY;
        m->u.report.app_healthy = 1;
        m->u.report.port_desired = MODEL_PORT_ENABLED;
        m->u.report.port_actual = MODEL_PORT_ENABLED;
        m->u.report.peer_silent_ms = 120;
        m->u.report.peer_mode = MODEL_MODE_BACKUP;
        m->u.report.peer_app_healthy = 1;
        m->u.report.peer_port = MODEL_PORT_DISABLED;
        m->u.report.peer_epoch = 3;
        strcpy(m->u.report.reason, "backup -> primary because the coordinator said so");
        m->u.report.sent_at = 86400000;
        break;
    case WIRE_SET_ROLE:
        m->u.set_role.epoch = 4;
        m->u.set_role.mode = MODEL_MODE_BACKUP;
        m->u.set_role.drain = 1;
        m->u.set_role.echo = 86400000;
        m->u.set_role.loss_ms = 3000;
        break;
    case WIRE_HEARTBEAT:
        m->u.heartbeat.epoch = 4;
        m->u.heartbeat.silent_ms = 250;
        break;
    case WIRE_SWITCHOVER_REQ:
        strcpy(m->u.switchover_req.target, "WEB2");
        m->u.switchover_req.timeout_ms = 30000;
        break;
    case WIRE_RESULT:
        m->u.result.code = MODEL_ERR_BUSY;
        strcpy(m->u.result.text, "a switchover is already running");
        break;
    case WIRE_APP_STATUS:
        m->u.app_status.available = 0;
        strcpy(m->u.app_status.reason, "no SIP received for 1500 ms");
        break;
    case WIRE_STATUS_REPLY: {
        struct wire_status_reply *s = &m->u.status;
        s->role = MODEL_ROLE_COORDINATOR;
        strcpy(s->pair, "sip");
        strcpy(s->primary, "WEB1");
        s->epoch = 3;
        s->phase = MODEL_PHASE_STABLE;
        strcpy(s->last_reason, "promoting -> stable because WEB1 confirmed its port enabled");
        s->node_count = 2;
        for (int i = 0; i < 2; i++) {
            snprintf(s->nodes[i].name, sizeof s->nodes[i].name, "WEB%d", i + 1);
            s->nodes[i].connected = 1;
            s->nodes[i].mode = i == 0 ? MODEL_MODE_PRIMARY : MODEL_MODE_BACKUP;
            s->nodes[i].app_healthy = 1;
            s->nodes[i].port_desired = i == 0 ? MODEL_PORT_ENABLED : MODEL_PORT_DISABLED;
            s->nodes[i].port_actual = s->nodes[i].port_desired;
            s->nodes[i].epoch = 3;
            s->nodes[i].last_heard_ms = 90;
            s->nodes[i].peer_link = 1;
            strcpy(s->nodes[i].last_change, "started");
        }
        break;
    }
    case WIRE_HISTORY_REPLY:
        m->u.history.count = 2;
        m->u.history.entries[0].age_ms = 1000;
        strcpy(m->u.history.entries[0].text, "stable -> demoting because switchover requested");
        m->u.history.entries[1].age_ms = 5000;
        strcpy(m->u.history.entries[1].text, "electing -> stable");
        break;
    default:
        break;
    }
}

static size_t encode(const struct wire_msg *m, uint8_t *buf)
{
    size_t len = 0;
    if (wire_encode(m, buf, WIRE_MAX_FRAME, &len) != WIRE_OK) {
        fprintf(stderr, "make_seeds: cannot encode %s\n", wire_type_name(m->type));
        exit(1);
    }
    return len;
}

/* The largest replies: every field at its limit. */
static void largest(struct wire_msg *status, struct wire_msg *history)
{
    sample(WIRE_STATUS_REPLY, status);
    struct wire_status_reply *s = &status->u.status;
    memset(s->pair, 'p', MODEL_NAME_MAX);
    memset(s->primary, 'q', MODEL_NAME_MAX);
    memset(s->last_reason, 'r', sizeof s->last_reason - 1);
    s->node_count = WIRE_MAX_NODES;
    for (int i = 0; i < WIRE_MAX_NODES; i++) {
        s->nodes[i] = s->nodes[i % 2];
        memset(s->nodes[i].name, 'a' + i, MODEL_NAME_MAX);
        memset(s->nodes[i].last_change, 'c', WIRE_REASON_MAX);
        s->nodes[i].epoch = UINT64_MAX;
        s->nodes[i].last_heard_ms = 0xFFFFFFFFu;
        s->nodes[i].port_actual = MODEL_PORT_DISCONNECTED;
    }
    sample(WIRE_HISTORY_REPLY, history);
    history->u.history.count = WIRE_HISTORY_MAX;
    for (int i = 0; i < WIRE_HISTORY_MAX; i++) {
        history->u.history.entries[i].age_ms = (uint64_t)i << 40;
        memset(history->u.history.entries[i].text, 'h', WIRE_HISTORY_TEXT);
    }
}

/* A sealed record: [op][length, 2 bytes][frame]. */
static size_t record(uint8_t *out, uint8_t op, const uint8_t *frame, size_t len)
{
    out[0] = op;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    memcpy(out + 3, frame, len);
    return 3 + len;
}

static void wire_and_seal_seeds(void)
{
    static const uint8_t types[] = {WIRE_HELLO,         WIRE_REPORT,      WIRE_SET_ROLE,
                                    WIRE_HEARTBEAT,     WIRE_STATUS_REQ,  WIRE_SWITCHOVER_REQ,
                                    WIRE_STATUS_REPLY,  WIRE_RESULT,      WIRE_HISTORY_REQ,
                                    WIRE_HISTORY_REPLY, WIRE_APP_STATUS};
    static uint8_t frame[WIRE_MAX_FRAME], rec[1 + 3 * (WIRE_MAX_FRAME + 3)];
    static struct wire_msg m, big_status, big_history;
    char name[64];
    for (size_t i = 0; i < sizeof types; i++) {
        sample(types[i], &m);
        size_t len = encode(&m, frame);
        write_file("wire", wire_type_name(types[i]), frame, len);
        rec[0] = FUZZ_SEAL_RECORDS;
        size_t n = 1 + record(rec + 1, FUZZ_OP_DELIVER, frame, len);
        snprintf(name, sizeof name, "records-%s", wire_type_name(types[i]));
        write_file("seal", name, rec, n);
    }
    largest(&big_status, &big_history);
    size_t ls = encode(&big_status, frame);
    write_file("wire", "STATUS_REPLY-largest", frame, ls);
    size_t lh = encode(&big_history, frame);
    write_file("wire", "HISTORY_REPLY-largest", frame, lh);

    /* A link's life: HELLO, REPORT, then one meddling each. */
    static const char *const ops[] = {"deliver", "flip", "replay", "drop", "cut"};
    for (uint8_t op = 0; op < FUZZ_OP_COUNT; op++) {
        rec[0] = FUZZ_SEAL_RECORDS;
        size_t n = 1;
        sample(WIRE_HELLO, &m);
        size_t len = encode(&m, frame);
        n += record(rec + n, FUZZ_OP_DELIVER, frame, len);
        sample(WIRE_REPORT, &m);
        len = encode(&m, frame);
        n += record(rec + n, op, frame, len);
        sample(WIRE_HEARTBEAT, &m);
        len = encode(&m, frame);
        n += record(rec + n, FUZZ_OP_DELIVER, frame, len);
        snprintf(name, sizeof name, "records-link-%s", ops[op]);
        write_file("seal", name, rec, n);
    }

    /* Raw: a hello and a frame sealed with another key, as someone without
     * the key would send them. */
    uint8_t nonce[SEAL_NONCE], peer[SEAL_NONCE];
    fuzz_nonce(nonce, FUZZ_NONCE_SENDER);
    fuzz_nonce(peer, FUZZ_NONCE_RECEIVER);
    struct seal tx;
    static const char wrong_key[] = "not the fuzz key, also 32 bytes.";
    if (seal_init(&tx, (const uint8_t *)wrong_key, 32, 1, nonce, fuzz_hmac, NULL) != SEAL_OK ||
        seal_set_peer_nonce(&tx, peer) != SEAL_OK) {
        fprintf(stderr, "make_seeds: cannot set up the wrong-key sender\n");
        exit(1);
    }
    rec[0] = FUZZ_SEAL_RAW;
    seal_hello_encode(nonce, rec + 1);
    sample(WIRE_SET_ROLE, &m);
    size_t len = encode(&m, frame), sealed = 0;
    if (seal_wrap(&tx, frame, len, rec + 1 + SEAL_HELLO_SIZE, sizeof rec - 1 - SEAL_HELLO_SIZE,
                  &sealed) != SEAL_OK)
        exit(1);
    write_file("seal", "raw-wrong-key", rec, 1 + SEAL_HELLO_SIZE + sealed);
    /* Raw: an unsealed zero-payload frame straight after the hello. */
    sample(WIRE_STATUS_REQ, &m);
    len = encode(&m, frame);
    memcpy(rec + 1 + SEAL_HELLO_SIZE, frame, len);
    write_file("seal", "raw-unsealed-status-req", rec, 1 + SEAL_HELLO_SIZE + len);
}

/* Command lines: words joined by NUL. */
static void args_seeds(void)
{
    static const struct {
        const char *name;
        const char *words[16];
    } lines[] = {
        {"status", {"status"}},
        {"status-json-pipe", {"--pipe", "nlbctld-test", "status", "--json"}},
        {"history-json", {"history", "--json"}},
        {"switchover", {"switchover"}},
        {"switchover-to", {"switchover", "--to", "WEB2", "--timeout", "60"}},
        {"port-query", {"port", "query", "192.0.2.10:5060"}},
        {"port-enable-json", {"port", "enable", "192.0.2.10:5060", "--json", "--timeout", "10"}},
        {"port-drain-sim",
         {"port", "drain", "10.0.0.1:5060", "--backend", "sim", "--sim-dir", "C:\\sim",
          "--node", "node1"}},
        {"port-disable-exec",
         {"port", "disable", "192.0.2.10:5060", "--backend", "exec", "--exec-command",
          "C:\\nlb.cmd %ACTION% %VIP% %PORT%", "--exec-query", "C:\\nlb.cmd query",
          "--cluster-ip", "192.0.2.1"}},
        {"version", {"--version"}},
        {"help", {"help"}},
        {"bad-timeout", {"switchover", "--timeout", "0"}},
        {"bad-rule", {"port", "query", "192.0.2.300:5060"}},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char buf[1024];
        size_t n = 0;
        for (int w = 0; w < 16 && lines[i].words[w]; w++) {
            size_t l = strlen(lines[i].words[w]);
            if (w > 0)
                buf[n++] = '\0';
            memcpy(buf + n, lines[i].words[w], l);
            n += l;
        }
        write_file("args", lines[i].name, buf, n);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    dir = argv[1];
    wire_and_seal_seeds();
    args_seeds();
    return 0;
}
