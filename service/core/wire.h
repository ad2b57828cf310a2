/* wire.h - nlbctl's message codec: framing, versioning and explicit packing.
 *
 * Every message on a TCP link or the named pipe is a 12-byte header followed
 * by a payload of at most WIRE_MAX_PAYLOAD bytes:
 *
 *   offset  size  field
 *   0       2     magic 'N' 'L'
 *   2       1     protocol version (WIRE_VERSION)
 *   3       1     message type (enum wire_type)
 *   4       4     payload length, big-endian
 *   8       4     request id, big-endian (echoed in the answer)
 *
 * Payload fields are packed big-endian one by one, never as raw structs.
 * Strings are a 1-byte length then that many bytes, no terminator, and must
 * fit the field they are decoded into. The decoder checks every size before
 * it reads: truncated, oversized or malformed input yields an error code,
 * never an over-read. Portable C, no Windows headers.
 */
#ifndef NLBCTL_WIRE_H
#define NLBCTL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define WIRE_MAGIC0 'N'
#define WIRE_MAGIC1 'L'
#define WIRE_VERSION 1
#define WIRE_HEADER_SIZE 12
#define WIRE_MAX_PAYLOAD 4096
#define WIRE_MAX_FRAME (WIRE_HEADER_SIZE + WIRE_MAX_PAYLOAD)

enum wire_type {
    /* agent -> coordinator */
    WIRE_HELLO = 1,  /* first message on a link: who is speaking */
    WIRE_REPORT = 2, /* agent state; also the agent's heartbeat */
    /* coordinator -> agent */
    WIRE_SET_ROLE = 3,  /* become primary or backup under an epoch */
    WIRE_HEARTBEAT = 4, /* coordinator is alive; carries its epoch */
    /* nlbctl -> local instance (named pipe) */
    WIRE_STATUS_REQ = 16,
    WIRE_SWITCHOVER_REQ = 17,
    /* local instance -> nlbctl */
    WIRE_STATUS_REPLY = 18,
    WIRE_RESULT = 19, /* answer to a request: result code and a sentence */
    WIRE_HISTORY_REQ = 20,
    WIRE_HISTORY_REPLY = 21,
    /* the cooperating application -> its local agent (named pipe) */
    WIRE_APP_STATUS = 22,
    WIRE_TYPE_MAX = 22
};

enum wire_error {
    WIRE_OK = 0,
    WIRE_NEED_MORE = 1,   /* not a whole frame yet: read more and retry */
    WIRE_BAD_MAGIC = -1,  /* not an nlbctl frame */
    WIRE_BAD_VERSION = -2,
    WIRE_TOO_LARGE = -3,  /* declared payload above WIRE_MAX_PAYLOAD */
    WIRE_BAD_TYPE = -4,   /* unknown message type */
    WIRE_MALFORMED = -5,  /* payload does not match its type's layout */
    WIRE_NO_SPACE = -6    /* encoder: output buffer too small */
};

struct wire_hello {
    char pair[MODEL_NAME_MAX + 1];
    char node[MODEL_NAME_MAX + 1];
};

#define WIRE_SILENT_NEVER 0xFFFFFFFFu /* no peer link configured */
#define WIRE_REASON_MAX 95

/* An agent's state; sent to the coordinator and to the peer agent, and the
 * heartbeat on both links. The peer_* fields are what this agent last
 * heard from its peer over the peer link. */
struct wire_report {
    uint64_t epoch;
    uint8_t mode;         /* enum model_mode */
    uint8_t app_healthy;  /* 0 or 1 */
    uint8_t port_desired; /* enum model_port */
    uint8_t port_actual;  /* enum model_port */
    uint32_t peer_silent_ms; /* since the last message from the peer */
    uint8_t peer_mode;
    uint8_t peer_app_healthy;
    uint8_t peer_port;
    uint64_t peer_epoch;
    char reason[WIRE_REASON_MAX + 1]; /* the last transition and why */
    uint8_t stopping; /* the agent is shutting down: it will not enable again */
    uint8_t peer_heard; /* it has heard its peer since it started (peer_silent_ms
                         * counts from its start until then) */
    uint32_t reason_age_ms; /* how long ago the transition in reason happened */
    uint64_t sent_at; /* the agent's own monotonic clock when it built this
                       * report; the coordinator echoes the newest in SET_ROLE */
};

struct wire_set_role {
    uint64_t epoch;
    uint8_t mode;  /* enum model_mode */
    uint8_t drain; /* backup by a planned switchover: drain before disabling */
    uint64_t echo;    /* sent_at of the newest REPORT the coordinator had from this
                       * node when it sent the order (0: none) */
    uint32_t loss_ms; /* the coordinator's host-loss timeout */
};

struct wire_heartbeat {
    uint64_t epoch;
    uint32_t silent_ms; /* since the coordinator last heard this agent */
};

/* The application's own word on whether it can serve: SERVICE_UNAVAILABLE
 * (for example no SIP received for a while) is available = 0. */
struct wire_app_status {
    uint8_t available;
    char reason[WIRE_REASON_MAX + 1];
};

struct wire_switchover_req {
    char target[MODEL_NAME_MAX + 1]; /* empty: the other node */
    uint32_t timeout_ms;
};

struct wire_result {
    int32_t code; /* enum model_result */
    char text[256];
};

/* One node as the answering instance sees it. */
struct wire_node_status {
    char name[MODEL_NAME_MAX + 1];
    uint8_t connected;
    uint8_t mode;
    uint8_t app_healthy;
    uint8_t port_desired;
    uint8_t port_actual;
    uint64_t epoch;
    uint32_t last_heard_ms; /* age of the last message; 0xFFFFFFFF never */
    uint8_t peer_link;      /* 1: it hears its peer agent */
    uint8_t sip_probe;      /* enum model_probe (coordinator only; agents say off) */
    char last_change[WIRE_REASON_MAX + 1];
    uint32_t last_change_age_ms; /* how long ago; WIRE_AGE_UNKNOWN: not known */
};

#define WIRE_MAX_NODES 8
#define WIRE_AGE_UNKNOWN 0xFFFFFFFFu /* an age in ms nobody knows */
/* now - at in ms, for the wire: 0 if at is later, capped below WIRE_AGE_UNKNOWN. */
uint32_t wire_age_ms(uint64_t now, uint64_t at);
/* age plus the time since it was learnt, capped; unknown stays unknown. */
uint32_t wire_age_add(uint32_t age, uint64_t now, uint64_t learnt_at);

struct wire_status_reply {
    uint8_t role; /* enum model_role */
    char pair[MODEL_NAME_MAX + 1];
    char primary[MODEL_NAME_MAX + 1]; /* empty: none */
    uint64_t epoch;
    uint8_t phase; /* coordinator: enum model_phase; agent: 0 */
    uint8_t coordinator_link; /* agent: 1 if connected to its coordinator */
    char last_reason[128];   /* the last transition and why */
    uint32_t last_reason_age_ms; /* how long ago; WIRE_AGE_UNKNOWN: not known */
    uint8_t node_count;
    struct wire_node_status nodes[WIRE_MAX_NODES];
};

#define WIRE_HISTORY_MAX 16
#define WIRE_HISTORY_TEXT 111

struct wire_history_reply {
    uint8_t count;
    struct {
        uint64_t age_ms; /* how long ago */
        char text[WIRE_HISTORY_TEXT + 1];
    } entries[WIRE_HISTORY_MAX];
};

struct wire_msg {
    uint8_t type; /* enum wire_type */
    uint32_t id;
    union {
        struct wire_hello hello;
        struct wire_report report;
        struct wire_set_role set_role;
        struct wire_heartbeat heartbeat;
        struct wire_switchover_req switchover_req;
        struct wire_result result;
        struct wire_status_reply status;
        struct wire_history_reply history;
        struct wire_app_status app_status;
    } u;
};

/* Encodes msg into buf. On success returns WIRE_OK and sets *out_len. */
int wire_encode(const struct wire_msg *msg, uint8_t *buf, size_t cap, size_t *out_len);

/* Decodes one frame from the start of buf. WIRE_OK: *msg filled and
 * *consumed set to the frame's size. WIRE_NEED_MORE: buf holds a valid
 * prefix of a frame. Negative: the stream is bad and should be dropped. */
int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *msg, size_t *consumed);

/* Checks a frame's header without touching its payload. WIRE_OK: the
 * header is sound and *frame_size is the whole frame's size (header plus the
 * declared payload, which need not have arrived yet). WIRE_NEED_MORE: fewer
 * than WIRE_HEADER_SIZE bytes, all a valid prefix. Negative: the header's
 * error. A sealed link uses it to find where a frame's trailer starts, so
 * that nothing of the frame is decoded before its MAC is checked. */
int wire_frame_size(const uint8_t *buf, size_t len, size_t *frame_size);

/* A state machine's history as an answer, newest first, ages as of now. */
void wire_history_fill(struct wire_history_reply *r, const struct model_history *h, uint64_t now);

/* A sentence for an error code, for logs. */
const char *wire_error_text(int err);
/* The message type's name, e.g. "SET_ROLE"; "?" if unknown. */
const char *wire_type_name(uint8_t type);

#endif
