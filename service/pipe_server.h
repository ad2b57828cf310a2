/* pipe_server.h - the local control pipe \\.\pipe\<name> that nlbctl talks to.
 *
 * A few overlapped instances serve clients side by side, so `nlbctl status`
 * answers while a `switchover` waits. Each request is one wire message; its
 * answer carries the request's id. A handler answers at once or defers: a
 * deferred request is answered later with pipe_server_reply(token, ...).
 *
 * Who may do what (the OpenVPN interactive service's pattern, two layers):
 *  - the pipe's DACL (protected, see pipe_server_sddl) lets SYSTEM and
 *    Administrators open it with full access and, if a status group is
 *    configured, that group with read and write of data only; remote clients
 *    are refused (PIPE_REJECT_REMOTE_CLIENTS), and the first instance must be
 *    ours (FILE_FLAG_FIRST_PIPE_INSTANCE), so no other process squats the name;
 *  - every request is checked against the client's own token before the
 *    handler runs: read-only requests (status) are served to anyone who could
 *    open the pipe; anything else needs a member of Administrators (elevated)
 *    or LocalSystem, and is otherwise answered with PIPE_RESULT_ACCESS_DENIED
 *    without the handler ever seeing it. */
#ifndef NLBCTL_PIPE_SERVER_H
#define NLBCTL_PIPE_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <windows.h>

#include "wire.h"

#define PIPE_SERVER_INSTANCES 4

/* The WIRE_RESULT code of a request refused because the client is not an
 * administrator. It belongs in enum model_result (model.h) as
 * MODEL_ERR_ACCESS_DENIED = 19, with a sentence in model_result_text; once
 * model.h has it, this define should become an alias of that. */
#define PIPE_RESULT_ACCESS_DENIED MODEL_ERR_ACCESS_DENIED

/* Access a status group member gets: FILE_GENERIC_READ | FILE_WRITE_DATA |
 * FILE_WRITE_ATTRIBUTES. Enough to send a request, switch its own handle to
 * message mode and read the answer; deliberately not
 * FILE_CREATE_PIPE_INSTANCE (0x4, which would let it serve the name itself),
 * WRITE_DAC, WRITE_OWNER or the rest of GENERIC_WRITE. */
#define PIPE_SERVER_READER_ACCESS 0x12018Bu

enum pipe_answer { PIPE_ANSWER_NOW = 0, PIPE_ANSWER_LATER = 1 };

/* Fills reply and returns PIPE_ANSWER_NOW, or keeps token and returns
 * PIPE_ANSWER_LATER. Called only for requests the client may make. */
typedef int (*pipe_request_fn)(void *ctx, uint32_t token, const struct wire_msg *req,
                               struct wire_msg *reply);

struct pipe_server;

/* Creates the pipe's instances. status_group (UTF-8, "GROUP" or
 * "DOMAIN\GROUP"; NULL or "" for none) is the group allowed to read status;
 * a name that does not resolve on this host is an error naming it. Returns
 * NULL with a sentence in err on failure. */
struct pipe_server *pipe_server_open(const char *name, const char *status_group, char *err,
                                     size_t cap);
/* Answers deferred requests with MODEL_ERR_ABORTED, then closes the pipe. */
void pipe_server_close(struct pipe_server *ps);

/* The instance events to wait on; returns how many (PIPE_SERVER_INSTANCES). */
int pipe_server_events(const struct pipe_server *ps, HANDLE *events);
/* Handles instance i's signalled event. */
void pipe_server_service(struct pipe_server *ps, int i, pipe_request_fn fn, void *ctx);
/* Answers a deferred request; a token whose client has gone is ignored. */
void pipe_server_reply(struct pipe_server *ps, uint32_t token, const struct wire_msg *reply);

/* The pipe's security descriptor as SDDL, into out (cap wide chars):
 *   D:P(A;;GA;;;SY)(A;;GA;;;BA)                       no status group
 *   D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12018b;;;<SID>)  group_sid, a string SID
 * group_sid NULL or L"" means no group. Returns 0, or -1 if out is too small
 * or group_sid is not of the form S-1-... */
int pipe_server_sddl(const wchar_t *group_sid, wchar_t *out, size_t cap);

/* For tests: the pure access decision the server applies to each request
 * (1 = run the handler, 0 = answer PIPE_RESULT_ACCESS_DENIED), and instance
 * i's pipe handle. Not for the service's own use. */
int pipe_server_may_run(uint8_t type, int client_is_admin);
HANDLE pipe_server_handle(const struct pipe_server *ps, int i);

#endif
