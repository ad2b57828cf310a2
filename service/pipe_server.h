/* pipe_server.h - the local control pipe \\.\pipe\<name> that nlbctl talks to.
 *
 * A few overlapped instances serve clients side by side, so `nlbctl status`
 * answers while a `switchover` waits. Each request is one wire message; its
 * answer carries the request's id. A handler answers at once or defers: a
 * deferred request is answered later with pipe_server_reply(token, ...).
 * The pipe admits SYSTEM and Administrators only, and local clients only. */
#ifndef NLBCTL_PIPE_SERVER_H
#define NLBCTL_PIPE_SERVER_H

#include <stdint.h>
#include <windows.h>

#include "wire.h"

#define PIPE_SERVER_INSTANCES 4

enum pipe_answer { PIPE_ANSWER_NOW = 0, PIPE_ANSWER_LATER = 1 };

/* Fills reply and returns PIPE_ANSWER_NOW, or keeps token and returns
 * PIPE_ANSWER_LATER. */
typedef int (*pipe_request_fn)(void *ctx, uint32_t token, const struct wire_msg *req,
                               struct wire_msg *reply);

struct pipe_server;

struct pipe_server *pipe_server_open(const char *name, char *err, size_t cap);
/* Answers deferred requests with MODEL_ERR_ABORTED, then closes the pipe. */
void pipe_server_close(struct pipe_server *ps);

/* The instance events to wait on; returns how many (PIPE_SERVER_INSTANCES). */
int pipe_server_events(const struct pipe_server *ps, HANDLE *events);
/* Handles instance i's signalled event. */
void pipe_server_service(struct pipe_server *ps, int i, pipe_request_fn fn, void *ctx);
/* Answers a deferred request; a token whose client has gone is ignored. */
void pipe_server_reply(struct pipe_server *ps, uint32_t token, const struct wire_msg *reply);

/* The security descriptor the pipe is created with, as SDDL. */
extern const wchar_t PIPE_SERVER_SDDL[];

#endif
