/* SPDX-License-Identifier: MIT */
/*
 * Starting keyd for a mount (docs/PROCESSES.md step 2). The supervisor
 * collects the unlock material, calls cli_keyd_start(), wipes the material
 * and hands the returned service socket (SOCK_SEQPACKET, proto/keymsg.h) to
 * cryptod as --keyd-fd. Typical use:
 *
 *	struct cli_pass_src src = { .passfile = passfile, .extpass = extpass };
 *	struct cli_unlock u = { 0 };
 *	int r = keyfile ? cli_unlock_add_privkey(&u, keyfile, &src)
 *			: cli_unlock_add_pass(&u, &src, "Passphrase: ");
 *	if (r == 0)
 *		r = cli_keyd_start(lower_fd, &u, &svc_fd, &keyd_pid,
 *				   err, sizeof(err));
 *	cli_unlock_clear(&u);
 *	if (r < 0) { fprintf(stderr, "cryptstack: %s\n", err); exit(1); }
 */
#ifndef CS_CLI_KEYD_CLIENT_H
#define CS_CLI_KEYD_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pass.h"

#define CLI_UNLOCK_MAX 8

/* One unlock item: a passphrase (for a passphrase slot), or a private key
 * file's contents plus its passphrase (pass_len 0 when unencrypted). */
struct cli_unlock_item {
	char *pass;        /* locked memory (cli_pass_read) or NULL */
	size_t pass_len;
	uint8_t *privkey;  /* NULL for a passphrase item; locked memory */
	size_t privkey_len;
};

struct cli_unlock {
	unsigned count;
	struct cli_unlock_item item[CLI_UNLOCK_MAX];
};

/* Appends a passphrase item read from src (prompt shown on a terminal).
 * Returns 0, or -errno after printing a message. */
int cli_unlock_add_pass(struct cli_unlock *u, const struct cli_pass_src *src,
			const char *prompt);
/* Appends a passphrase item copied from memory (scratch volumes); 0 or
 * -errno. */
int cli_unlock_add_secret(struct cli_unlock *u, const char *pass, size_t len);
/* Appends a private-key item: reads the PEM private key file at path and,
 * if it is encrypted, its passphrase from src. Returns 0 or -errno (printed). */
int cli_unlock_add_privkey(struct cli_unlock *u, const char *path,
			   const struct cli_pass_src *src);
/* Wipes and frees every item; u is empty afterwards. */
void cli_unlock_clear(struct cli_unlock *u);

/* Makes the next serving keyds drop to uid:gid (keeping CAP_IPC_LOCK
 * only) once unlocked: mount -o user=NAME as root. uid 0: no drop. */
void cli_keyd_set_user(unsigned uid, unsigned gid);

/* Execs `cryptstack-keyd --serve` (from cli_helper_dir()) for the volume at
 * lower_fd (the lower root directory; keyd reads .cryptstack.conf through a
 * dup of it), sends the unlock material and waits for the verdict.
 * Returns 0 with *service_fd (close-on-exec; clear it before passing it to
 * cryptod) and *pid of keyd, or -errno with a message in err:
 * -EKEYREJECTED wrong passphrase or key, -ENOENT no volume config,
 * -EINVAL/-EPROTONOSUPPORT bad or unsupported config, others. keyd exits
 * by itself when every holder of the service socket has closed it. */
int cli_keyd_start(int lower_fd, const struct cli_unlock *unlock,
		   int *service_fd, pid_t *pid, char *err, size_t errlen);

/* --- Admin operations (cryptstack init, passwd, key, keygen) --- */

struct kc_op; /* keyd/ctl.h */

/* Called for each KC_DATA message keyd sends back (keygen outputs). */
typedef int (*cli_keyd_data_fn)(void *arg, uint32_t which, const uint8_t *buf,
				size_t len);

/* Runs `cryptstack-keyd --admin` for op on the volume at lower_fd (-1 for
 * keygen) with the unlock items u (may be NULL), a new passphrase and/or a
 * new PEM public key (NULL/0 when absent). keyd's summary or error is put
 * in msg. Returns keyd's status: 0 or -errno. */
int cli_keyd_admin(int lower_fd, const struct kc_op *op,
		   const struct cli_unlock *u, const char *new_pass,
		   size_t new_pass_len, const uint8_t *new_pub,
		   size_t new_pub_len, cli_keyd_data_fn fn, void *arg,
		   char *msg, size_t msglen);

/* Reads a whole file of at most max bytes into *buf (locked memory if
 * locked, else malloc; free with cli_file_free). 0 or -errno (printed). */
int cli_read_file(const char *path, size_t max, int locked, uint8_t **buf,
		  size_t *len);
/* Frees a buffer from cli_read_file(). */
void cli_file_free(uint8_t *buf, size_t len, int locked);

/* Unlock options as the commands take them: --passfile/--extpass (a
 * passphrase item), --key PRIV.pem with --key-passfile/--key-extpass (a
 * private-key item). With neither a key nor a passphrase source given, a
 * passphrase is taken from the options file or the terminal. */
struct cli_unlock_opts {
	struct cli_pass_src pass;
	const char *keyfile;
	struct cli_pass_src keypass;
};
/* Stores getopt result o with its argument in u if it is one of the
 * unlock options (--passfile 'p', --extpass 'e', --key 'k',
 * --key-passfile 'K', --key-extpass 'X'); returns 1 then, else 0. */
int cli_unlock_opt(int o, const char *arg, struct cli_unlock_opts *u);
/* Fills u from o; 0 or -errno (printed). */
int cli_unlock_collect(struct cli_unlock *u, const struct cli_unlock_opts *o,
		       const char *prompt);
/* Applies --kdf-memory SIZE (bytes, K/M/G suffix), --kdf-time N,
 * --kdf-parallelism N (each NULL: the options file's kdf-memory= etc., else
 * keyd's default) to op. 0 or -EINVAL (printed). */
int cli_kdf_opts(struct kc_op *op, const char *mem, const char *t,
		 const char *par);
/* Long options the key commands (init, passwd, key, keygen) share; they
 * end a `struct option` array with CLI_LO_END. */
#define CLI_LO_PASS                                                            \
	{ "passfile", required_argument, NULL, 'p' },                          \
	    { "extpass", required_argument, NULL, 'e' }
#define CLI_LO_KDF                                                             \
	{ "kdf-memory", required_argument, NULL, 'm' },                        \
	    { "kdf-time", required_argument, NULL, 't' },                      \
	    { "kdf-parallelism", required_argument, NULL, 'L' }
#define CLI_LO_END                                                             \
	{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }

/* What CLI_LO_PASS and CLI_LO_KDF set. */
struct cli_common_args {
	struct cli_pass_src pass;
	const char *kdf_m, *kdf_t, *kdf_p;
};
/* Stores getopt result o with its argument if it is one of the shared
 * options; returns 1 then, else 0 (the command handles o itself). */
int cli_common_opt(int o, const char *arg, struct cli_common_args *a);
/* cli_kdf_opts() with the strings from a. */
int cli_common_kdf(struct kc_op *op, const struct cli_common_args *a);
/* Parses a --slot value (0..65535) into *slot; 0 or -EINVAL. */
int cli_parse_slot(const char *s, int32_t *slot);
/* Parses a --key-id value (16 hex digits, as cryptstack info shows them)
 * into id; 0, or -EINVAL (printed). */
int cli_parse_key_id(const char *s, uint8_t id[static 8]);
/* Opens the lower directory O_RDONLY|O_DIRECTORY; -errno (printed). */
int cli_open_lower(const char *path);

#endif
