/* net.h - TCP links between agents and the coordinator: non-blocking
 * sockets signalled through WSAEventSelect, framed with the wire codec.
 * A peer that sends anything the codec refuses is logged by the caller and
 * its connection closed; nothing it sent is acted on. */
#ifndef NLBCTL_NET_H
#define NLBCTL_NET_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hmac_cng.h"
#include "seal.h"
#include "wire.h"

#define NET_OUT_MAX (4 * (WIRE_MAX_FRAME + SEAL_TRAILER))

struct net_conn {
    SOCKET sock; /* INVALID_SOCKET when the slot is free */
    WSAEVENT event;
    uint32_t id;
    int connecting;
    char peer[64]; /* "192.0.2.1:50123", for logs */
    uint8_t in[2 * (WIRE_MAX_FRAME + SEAL_TRAILER)];
    size_t in_len;
    int initiator;
    int handshaking; /* waiting for the peer's nonce (authenticated links) */
    struct seal seal;
    uint8_t out[NET_OUT_MAX];
    size_t out_len;
    /* Incoming connections: when accepted, and whether the host has seen it
     * prove who it is (until then it may be anyone who can reach the port). */
    uint64_t opened_at;
    int identified;
    /* Why net_service last returned NET_CLOSED, as a short fixed phrase (a
     * kind of fault, for rate-limited logging); the details are in err. */
    const char *fault;
};

enum net_result { NET_OK = 0, NET_CONNECTED = 1, NET_CLOSED = -1 };

/* Called for each whole message; return nonzero if the connection was closed
 * or must not be read further. */
typedef int (*net_message_fn)(void *ctx, struct net_conn *c, const struct wire_msg *m);

/* Called once when an outgoing connect completes; same return rule. */
typedef int (*net_connected_fn)(void *ctx, struct net_conn *c);

/* Every link of this process is authenticated with this key (HMAC-SHA256
 * through CNG, per-connection nonces, sequence numbers: see seal.h), or,
 * with key_len 0 (lab only), not at all. Call once before any connection. */
void net_set_security(const uint8_t *key, size_t key_len, struct hmac_cng *hmac);

int net_startup(char *err, size_t cap);
void net_cleanup(void);

/* Listens on ep; returns the socket (INVALID_SOCKET on failure) and its event. */
SOCKET net_listen(const struct config_endpoint *ep, WSAEVENT *event, char *err, size_t cap);
/* Accepts one pending connection into c: 0, 1 when none is pending, or -1 with err. */
int net_accept(SOCKET listener, struct net_conn *c, uint32_t id, char *err, size_t cap);
/* Starts a non-blocking connect; completion comes as NET_CONNECTED or NET_CLOSED. */
int net_connect(const struct config_endpoint *ep, struct net_conn *c, uint32_t id, char *err,
                size_t cap);
/* Handles c's signalled event: connect completion, reads, writes, close. */
int net_service(struct net_conn *c, net_connected_fn on_connected, net_message_fn on_msg,
                void *ctx, char *err, size_t cap);
/* Queues and sends msg. 0, or -1 with err (the caller closes c). */
int net_send(struct net_conn *c, const struct wire_msg *msg, char *err, size_t cap);
void net_close(struct net_conn *c);
void net_conn_init(struct net_conn *c);

#endif
