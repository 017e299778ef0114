/* SPDX-License-Identifier: MIT */
/*
 * Passphrase input for the CLI: --passfile FILE, --extpass CMD, the options
 * file (~/.cryptstackrc, key=value lines) and, last, a terminal prompt with
 * echo off. Passphrases live in locked memory (common/secmem.h) and are
 * wiped by cli_pass_free(); the CLI only forwards them to keyd.
 */
#ifndef CS_CLI_PASS_H
#define CS_CLI_PASS_H

#include <stddef.h>

#define CLI_PASS_MAX 1024 /* bytes, without the NUL */

/* Where a passphrase comes from. Both NULL: the options file's passfile= /
 * extpass= if set, else the terminal (an error when there is none). */
struct cli_pass_src {
	const char *passfile; /* file; one trailing "\n" (or "\r\n") stripped */
	const char *extpass;  /* shell command; its stdout is the passphrase */
};

/* Reads one passphrase. prompt is shown on the terminal only; confirm != 0
 * asks twice there (never for passfile/extpass). Returns 0 and *pass
 * (locked, NUL-terminated, *len > 0 bytes), which the caller releases with
 * cli_pass_free(); or prints a message and returns -errno (-ENOTTY: no
 * terminal and no other source; -EINVAL: empty, too long or mismatch). */
int cli_pass_read(const struct cli_pass_src *src, const char *prompt,
		  int confirm, char **pass, size_t *len);
/* Reads a new passphrase (asked twice on a terminal) from src, the
 * command's --new-passfile/--new-extpass, else from the terminal; never
 * from the options file, whose passfile=/extpass= give the old one (then
 * it refuses with a message, -EINVAL). Returns as cli_pass_read(). */
int cli_pass_read_new(const struct cli_pass_src *src, char **pass,
		      size_t *len);
/* Wipes and frees a passphrase from cli_pass_read(); NULL is a no-op. */
void cli_pass_free(char *pass, size_t len);

/* Returns the value for key in the options file ($CRYPTSTACKRC, else
 * ~/.cryptstackrc; "key=value" lines, '#' comments), or NULL. The string
 * stays valid until the process exits. */
const char *cli_rc_get(const char *key);

#endif
