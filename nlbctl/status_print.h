/* status_print.h - `nlbctl status` output: a table for people, JSON for
 * scripts. The JSON fields are documented in README.md and stay stable. */
#ifndef NLBCTL_STATUS_PRINT_H
#define NLBCTL_STATUS_PRINT_H

#include <stdio.h>

#include "wire.h"

void status_print_table(FILE *out, const struct wire_status_reply *st);
void status_print_json(FILE *out, const struct wire_status_reply *st);
/* `nlbctl history`: newest first, local time; or a JSON array. */
void history_print(FILE *out, const struct wire_history_reply *h, int json);
/* s as a JSON string: quotes, backslashes and control characters escaped
 * (backend errors and script output may carry tabs and line breaks). */
void json_string(FILE *out, const char *s);

#endif
