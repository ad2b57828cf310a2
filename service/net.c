/* net.c - see net.h. */
#include "net.h"

#include <stdio.h>
#include <string.h>

#include "winutil.h"

static int flush(struct net_conn *c, char *err, size_t cap);

static const uint8_t *link_key;
static size_t link_key_len;
static struct hmac_cng *link_hmac;

void net_set_security(const uint8_t *key, size_t key_len, struct hmac_cng *hmac)
{
    link_key = key;
    link_key_len = key_len;
    link_hmac = hmac;
}

/* A new connection says who it is before anything else: its random nonce,
 * which binds every MAC on it to this connection alone. */
static int begin_handshake(struct net_conn *c, char *err, size_t cap)
{
    if (link_key_len == 0)
        return 0;
    uint8_t nonce[SEAL_NONCE];
    if (random_bytes(nonce, sizeof nonce) != 0 ||
        seal_init(&c->seal, link_key, link_key_len, c->initiator, nonce, hmac_cng_sha256,
                  link_hmac) != SEAL_OK) {
        snprintf(err, cap, "cannot set up authentication for %s", c->peer);
        return -1;
    }
    seal_hello_encode(nonce, c->out + c->out_len);
    c->out_len += SEAL_HELLO_SIZE;
    c->handshaking = 1;
    return 0;
}

static void sock_error(char *err, size_t cap, const char *what, int code)
{
    char why[256];
    snprintf(err, cap, "%s: %s", what, win_error_text((DWORD)code, why, sizeof why));
}

int net_startup(char *err, size_t cap)
{
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        sock_error(err, cap, "cannot start Winsock", rc);
        return -1;
    }
    return 0;
}

void net_cleanup(void) { WSACleanup(); }

void net_conn_init(struct net_conn *c)
{
    memset(c, 0, sizeof *c);
    c->sock = INVALID_SOCKET;
    c->event = WSA_INVALID_EVENT;
}

static int resolve(const struct config_endpoint *ep, struct sockaddr_in *sa, char *err, size_t cap)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)ep->port);
    int rc = getaddrinfo(ep->host, port, &hints, &res);
    if (rc != 0 || !res) {
        char what[128];
        snprintf(what, sizeof what, "cannot resolve '%s'", ep->host);
        sock_error(err, cap, what, rc);
        return -1;
    }
    memcpy(sa, res->ai_addr, sizeof *sa);
    freeaddrinfo(res);
    return 0;
}

SOCKET net_listen(const struct config_endpoint *ep, WSAEVENT *event, char *err, size_t cap)
{
    struct sockaddr_in sa;
    if (resolve(ep, &sa, err, cap) != 0)
        return INVALID_SOCKET;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        sock_error(err, cap, "cannot create a socket", WSAGetLastError());
        return INVALID_SOCKET;
    }
    /* Refuse to share the port with another process: two coordinators on one
     * port would split the pair between them. */
    BOOL on = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&on, sizeof on);
    char what[128];
    snprintf(what, sizeof what, "cannot listen on %s:%u", ep->host, (unsigned)ep->port);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 16) != 0) {
        sock_error(err, cap, what, WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    *event = WSACreateEvent();
    if (*event == WSA_INVALID_EVENT || WSAEventSelect(s, *event, FD_ACCEPT) != 0) {
        sock_error(err, cap, what, WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

static int arm(struct net_conn *c, long mask, char *err, size_t cap)
{
    c->event = WSACreateEvent();
    if (c->event == WSA_INVALID_EVENT || WSAEventSelect(c->sock, c->event, mask) != 0) {
        sock_error(err, cap, "cannot watch the socket", WSAGetLastError());
        net_close(c);
        return -1;
    }
    BOOL nodelay = TRUE; /* small messages, latency matters */
    setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay, sizeof nodelay);
    return 0;
}

int net_accept(SOCKET listener, struct net_conn *c, uint32_t id, char *err, size_t cap)
{
    net_conn_init(c);
    struct sockaddr_in sa;
    int len = sizeof sa;
    c->sock = accept(listener, (struct sockaddr *)&sa, &len);
    if (c->sock == INVALID_SOCKET) {
        int e = WSAGetLastError();
        if (e == WSAEWOULDBLOCK)
            return 1; /* nothing more to accept */
        sock_error(err, cap, "accept failed", e);
        return -1;
    }
    c->id = id;
    c->opened_at = win_now_ms();
    char ip[32] = "?";
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)ntohs(sa.sin_port));
    if (arm(c, FD_READ | FD_WRITE | FD_CLOSE, err, cap) != 0)
        return -1;
    c->initiator = 0;
    if (begin_handshake(c, err, cap) != 0 || flush(c, err, cap) != 0) {
        net_close(c);
        return -1;
    }
    return 0;
}

int net_connect(const struct config_endpoint *ep, struct net_conn *c, uint32_t id, char *err,
                size_t cap)
{
    net_conn_init(c);
    struct sockaddr_in sa;
    if (resolve(ep, &sa, err, cap) != 0)
        return -1;
    c->sock = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (c->sock == INVALID_SOCKET) {
        sock_error(err, cap, "cannot create a socket", WSAGetLastError());
        return -1;
    }
    c->id = id;
    snprintf(c->peer, sizeof c->peer, "%s:%u", ep->host, (unsigned)ep->port);
    if (arm(c, FD_CONNECT | FD_READ | FD_WRITE | FD_CLOSE, err, cap) != 0)
        return -1;
    c->connecting = 1;
    c->initiator = 1;
    if (connect(c->sock, (struct sockaddr *)&sa, sizeof sa) != 0 &&
        WSAGetLastError() != WSAEWOULDBLOCK) {
        sock_error(err, cap, "connect failed", WSAGetLastError());
        net_close(c);
        return -1;
    }
    return 0;
}

static int flush(struct net_conn *c, char *err, size_t cap)
{
    while (c->out_len > 0) {
        int n = send(c->sock, (const char *)c->out, (int)c->out_len, 0);
        if (n == SOCKET_ERROR) {
            if (WSAGetLastError() == WSAEWOULDBLOCK)
                return 0; /* FD_WRITE will call us again */
            sock_error(err, cap, "send failed", WSAGetLastError());
            return -1;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    return 0;
}

int net_send(struct net_conn *c, const struct wire_msg *msg, char *err, size_t cap)
{
    if (c->sock == INVALID_SOCKET || c->connecting || c->handshaking) {
        snprintf(err, cap, "not connected");
        return -1;
    }
    uint8_t frame[WIRE_MAX_FRAME + SEAL_TRAILER];
    size_t len = 0;
    int rc = wire_encode(msg, frame, WIRE_MAX_FRAME, &len);
    if (rc != WIRE_OK) {
        snprintf(err, cap, "cannot encode %s: %s", wire_type_name(msg->type), wire_error_text(rc));
        return -1;
    }
    if (link_key_len && (rc = seal_wrap(&c->seal, frame, len, frame, sizeof frame, &len)) != SEAL_OK) {
        snprintf(err, cap, "cannot seal %s: %s", wire_type_name(msg->type), seal_error_text(rc));
        return -1;
    }
    if (len > sizeof c->out - c->out_len) {
        /* A full queue means the peer stopped reading for seconds: treat it
         * as gone rather than buffering without bound. */
        snprintf(err, cap, "cannot queue %s: the peer is not reading", wire_type_name(msg->type));
        return -1;
    }
    memcpy(c->out + c->out_len, frame, len);
    c->out_len += len;
    return flush(c, err, cap);
}

/* Decodes every whole frame in the input buffer. */
static int drain_frames(struct net_conn *c, net_message_fn on_msg, void *ctx, char *err,
                        size_t cap)
{
    size_t off = 0;
    while (off < c->in_len) {
        struct wire_msg m;
        size_t used = 0;
        uint8_t *at = c->in + off;
        size_t have = c->in_len - off;
        int rc;
        if (link_key_len) {
            /* Nothing of a frame is decoded before its MAC is checked: not
             * even a frame with an empty payload, whose header alone would
             * decode as a whole message. */
            size_t frame_size = 0;
            rc = wire_frame_size(at, have, &frame_size);
            if (rc == WIRE_NEED_MORE)
                break;
            if (rc == WIRE_OK) {
                size_t total = frame_size + SEAL_TRAILER;
                if (have < total)
                    break;
                size_t frame_len = 0;
                int sr = seal_unwrap(&c->seal, at, total, &frame_len);
                if (sr != SEAL_OK) {
                    c->fault = seal_error_text(sr);
                    snprintf(err, cap, "refused a message from %s: %s", c->peer,
                             seal_error_text(sr));
                    return NET_CLOSED;
                }
                rc = wire_decode(at, frame_len, &m, &used);
                used = total;
            }
        } else {
            rc = wire_decode(at, have, &m, &used);
            if (rc == WIRE_NEED_MORE)
                break;
        }
        if (rc != WIRE_OK) {
            c->fault = wire_error_text(rc);
            snprintf(err, cap, "refused a message from %s: %s", c->peer, wire_error_text(rc));
            return NET_CLOSED;
        }
        off += used;
        if (on_msg(ctx, c, &m))
            return NET_OK; /* the handler closed or replaced this connection */
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return NET_OK;
}

/* The peer's hello: its nonce. An initiator's link is up only now. */
static int finish_handshake(struct net_conn *c, net_connected_fn on_connected, void *ctx,
                            char *err, size_t cap)
{
    uint8_t nonce[SEAL_NONCE];
    int rc = seal_hello_decode(c->in, c->in_len, nonce);
    if (rc == SEAL_TOO_SHORT)
        return NET_OK;
    if (rc == SEAL_OK)
        rc = seal_set_peer_nonce(&c->seal, nonce);
    if (rc != SEAL_OK) {
        c->fault = "no authenticated handshake";
        snprintf(err, cap, "%s did not open an authenticated link (%s); do both ends have a "
                           "[security] key?", c->peer, seal_error_text(rc));
        return NET_CLOSED;
    }
    memmove(c->in, c->in + SEAL_HELLO_SIZE, c->in_len - SEAL_HELLO_SIZE);
    c->in_len -= SEAL_HELLO_SIZE;
    c->handshaking = 0;
    if (c->initiator && on_connected && on_connected(ctx, c))
        return NET_OK;
    return NET_OK;
}

static int read_all(struct net_conn *c, net_connected_fn on_connected, net_message_fn on_msg,
                    void *ctx, char *err, size_t cap)
{
    for (;;) {
        if (c->in_len == sizeof c->in) {
            c->fault = "oversized frame";
            snprintf(err, cap, "%s sent an oversized frame", c->peer);
            return NET_CLOSED;
        }
        int n = recv(c->sock, (char *)c->in + c->in_len, (int)(sizeof c->in - c->in_len), 0);
        if (n == 0) {
            c->fault = "closed by the far end";
            snprintf(err, cap, "%s closed the connection", c->peer);
            return NET_CLOSED;
        }
        if (n == SOCKET_ERROR) {
            int e = WSAGetLastError();
            if (e == WSAEWOULDBLOCK)
                return NET_OK;
            c->fault = "receive failed";
            sock_error(err, cap, "receive failed", e);
            return NET_CLOSED;
        }
        c->in_len += (size_t)n;
        uint32_t id = c->id;
        if (c->handshaking) {
            int hr = finish_handshake(c, on_connected, ctx, err, cap);
            if (hr != NET_OK)
                return hr;
            if (c->sock == INVALID_SOCKET || c->id != id)
                return NET_OK;
            if (c->handshaking)
                continue;
        }
        if (drain_frames(c, on_msg, ctx, err, cap) != NET_OK)
            return NET_CLOSED;
        if (c->sock == INVALID_SOCKET || c->id != id)
            return NET_OK;
    }
}

int net_service(struct net_conn *c, net_connected_fn on_connected, net_message_fn on_msg,
                void *ctx, char *err, size_t cap)
{
    WSANETWORKEVENTS ne;
    c->fault = "link failure";
    if (WSAEnumNetworkEvents(c->sock, c->event, &ne) != 0) {
        sock_error(err, cap, "socket wait failed", WSAGetLastError());
        return NET_CLOSED;
    }
    int result = NET_OK;
    if (ne.lNetworkEvents & FD_CONNECT) {
        if (ne.iErrorCode[FD_CONNECT_BIT] != 0) {
            char what[96];
            snprintf(what, sizeof what, "cannot connect to %s", c->peer);
            sock_error(err, cap, what, ne.iErrorCode[FD_CONNECT_BIT]);
            return NET_CLOSED;
        }
        c->connecting = 0;
        result = NET_CONNECTED;
        if (begin_handshake(c, err, cap) != 0 || flush(c, err, cap) != 0)
            return NET_CLOSED;
        uint32_t id = c->id;
        /* Without authentication the link is up now; the caller speaks first. */
        if (!c->handshaking && on_connected && on_connected(ctx, c))
            return NET_OK;
        if (c->sock == INVALID_SOCKET || c->id != id)
            return NET_OK;
    }
    if (ne.lNetworkEvents & FD_WRITE) {
        if (flush(c, err, cap) != 0)
            return NET_CLOSED;
    }
    if (ne.lNetworkEvents & (FD_READ | FD_CLOSE)) {
        if (read_all(c, on_connected, on_msg, ctx, err, cap) != NET_OK)
            return NET_CLOSED;
        if ((ne.lNetworkEvents & FD_CLOSE) && c->sock != INVALID_SOCKET) {
            c->fault = "closed by the far end";
            snprintf(err, cap, "%s closed the connection", c->peer);
            return NET_CLOSED;
        }
    }
    return result;
}

void net_close(struct net_conn *c)
{
    if (c->sock != INVALID_SOCKET)
        closesocket(c->sock);
    if (c->event != WSA_INVALID_EVENT)
        WSACloseEvent(c->event);
    c->sock = INVALID_SOCKET;
    c->event = WSA_INVALID_EVENT;
    c->in_len = c->out_len = 0;
    c->connecting = 0;
    c->handshaking = 0;
    seal_clear(&c->seal);
}
