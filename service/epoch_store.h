/* epoch_store.h - the highest epoch this instance has obeyed or issued,
 * kept in <state_dir>\epoch so it survives restarts (fencing depends on it
 * never going back). */
#ifndef NLBCTL_EPOCH_STORE_H
#define NLBCTL_EPOCH_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Reads the stored epoch; a missing file is epoch 0. A file that exists but
 * is not a plain decimal number is an error: guessing could go backwards. */
int epoch_load(const char *state_dir, uint64_t *epoch, char *err, size_t cap);
/* Stores it atomically and durably. */
int epoch_save(const char *state_dir, uint64_t epoch, char *err, size_t cap);

#endif
