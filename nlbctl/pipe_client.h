/* pipe_client.h - one request to the local nlbctld over its control pipe,
 * one answer back, with a time limit. */
#ifndef NLBCTL_PIPE_CLIENT_H
#define NLBCTL_PIPE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum pipe_client_error {
    PIPE_CLIENT_OK = 0,
    PIPE_CLIENT_NOT_RUNNING = 1, /* no such pipe: the service is not running */
    PIPE_CLIENT_DENIED = 2,      /* the pipe's DACL refused us */
    PIPE_CLIENT_FAILED = 3,      /* broken pipe, bad answer, ... */
    PIPE_CLIENT_TIMEOUT = 4      /* no answer within the limit */
};

/* Sends req to \\.\pipe\<name> and waits up to timeout_ms for the answer.
 * On failure err holds a sentence for the administrator. */
int pipe_client_call(const char *name, const struct wire_msg *req, struct wire_msg *reply,
                     uint32_t timeout_ms, char *err, size_t cap);

#endif
