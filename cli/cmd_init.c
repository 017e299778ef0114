/* SPDX-License-Identifier: MIT */
/* cryptstack init: create a volume (config file with its first key slot).
 * keyd generates the keys and writes the config; the CLI only gathers
 * options and the passphrase. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../keyd/ctl.h"
#include "cli.h"
#include "keyd_client.h"
#include "volume.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: cryptstack init [--passfile FILE | --extpass CMD | "
		"--pubkey PUB.pem]\n"
		"         [--cipher aes-256-gcm|aes-128-gcm|chacha20-poly1305]"
		" [--plaintext-names]\n"
		"         [--kdf-memory SIZE] [--kdf-time N] "
		"[--kdf-parallelism N] LOWER\n");
}

static int yes(const char *v)
{
	return v && (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
		     !strcmp(v, "1") || !strcasecmp(v, "on"));
}

int cmd_init(int argc, char **argv)
{
	static const struct option lo[] = {
		CLI_LO_PASS,
		{ "pubkey", required_argument, NULL, 'k' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "plaintext-names", no_argument, NULL, 'n' },
		CLI_LO_KDF,
		CLI_LO_END,
	};
	struct cli_common_args ca = { 0 };
	const char *pubkey = NULL, *cipher = NULL;
	int plain = -1, o, lower = -1, ret = 1;
	char *pass = NULL;
	size_t pass_len = 0, pub_len = 0;
	uint8_t *pub = NULL;
	char msg[600];
	struct kc_op op = { .op = KC_OP_INIT };

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (cli_common_opt(o, optarg, &ca))
			continue;
		switch (o) {
		case 'k':
			pubkey = optarg;
			break;
		case 'c':
			cipher = optarg;
			break;
		case 'n':
			plain = 1;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 2;
	}
	const char *path = argv[optind];
	if (!cipher)
		cipher = cli_rc_get("cipher");
	if (plain < 0)
		plain = yes(cli_rc_get("plaintext-names"));
	int c = cipher ? vol_cipher_parse(cipher) : VOL_CIPHER_AES256GCM;
	if (c < 0) {
		fprintf(stderr, "cryptstack: unknown cipher '%s'\n", cipher);
		return 2;
	}
	op.cipher = (uint32_t)c;
	op.names = plain ? VOL_NAMES_PLAIN : VOL_NAMES_ENCRYPTED;
	if (cli_common_kdf(&op, &ca))
		return 2;
	if (pubkey && (ca.pass.passfile || ca.pass.extpass)) {
		fprintf(stderr, "cryptstack: --pubkey excludes --passfile and "
			"--extpass (add a passphrase slot with key add)\n");
		return 2;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "cryptstack: cannot create %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	lower = cli_open_lower(path);
	if (lower < 0)
		return 1;
	if (faccessat(lower, VOL_CONF_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		fprintf(stderr, "cryptstack: %s is already a cryptstack volume"
			" (%s exists)\n", path, VOL_CONF_NAME);
		goto out;
	}
	if (pubkey) {
		if (cli_read_file(pubkey, 16384, 0, &pub, &pub_len))
			goto out;
	} else if (cli_pass_read(&ca.pass, "New volume passphrase: ", 1, &pass,
				 &pass_len)) {
		goto out;
	}
	int r = cli_keyd_admin(lower, &op, NULL, pass, pass_len, pub, pub_len,
			       NULL, NULL, msg, sizeof(msg));
	if (r) {
		fprintf(stderr, "cryptstack: init %s: %s\n", path, msg);
		goto out;
	}
	printf("%s: %s\n", path, msg);
	ret = 0;
out:
	cli_pass_free(pass, pass_len);
	cli_file_free(pub, pub_len, 0);
	if (lower >= 0)
		close(lower);
	return ret;
}
