/* SPDX-License-Identifier: MIT */
/* Scratch volumes: a random key that lives only as long as the mount
 * (cli/scratch.c, docs in README "Command line"). */
#ifndef CS_CLI_SCRATCH_H
#define CS_CLI_SCRATCH_H

#include <stddef.h>

/* Creates a volume in lower (made if absent; it must be empty) under a
 * fresh random passphrase, returned in *pass (locked memory, *pass_len
 * bytes; release with scratch_forget()). 0, or -1 after a message. */
int scratch_create(const char *lower, char **pass, size_t *pass_len);
/* Wipes and frees the passphrase from scratch_create(); NULL: no-op. */
void scratch_forget(char *pass, size_t len);
/* Removes everything below lower (not lower itself, no other file
 * systems). 0, or -errno / -ENOTEMPTY if something stayed. */
int scratch_wipe(const char *lower);

#endif
