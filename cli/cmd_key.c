/* SPDX-License-Identifier: MIT */
/* cryptstack key add|remove: manage key slots. Adding wraps an opened FEKEK
 * (or a new one, --new-key) under a new passphrase or public key; removing
 * drops one slot (never the last). Both need an existing passphrase or
 * private key of the volume. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../keyd/ctl.h"
#include "cli.h"
#include "keyd_client.h"
#include "util.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: cryptstack key add [UNLOCK] [--new-passfile FILE | "
		"--new-extpass CMD | --pubkey PUB.pem]\n"
		"         [--new-key | --key-id HEX16] [--kdf-memory SIZE] "
		"[--kdf-time N] [--kdf-parallelism N] LOWER\n"
		"       cryptstack key remove --slot N [--force] [UNLOCK] LOWER\n"
		"UNLOCK: [--passfile FILE | --extpass CMD] [--key PRIV.pem "
		"[--key-passfile FILE | --key-extpass CMD]]\n");
}

int cmd_key(int argc, char **argv)
{
	static const struct option lo[] = {
		CLI_LO_PASS,
		{ "key", required_argument, NULL, 'k' },
		{ "key-passfile", required_argument, NULL, 'K' },
		{ "key-extpass", required_argument, NULL, 'X' },
		{ "new-passfile", required_argument, NULL, 'P' },
		{ "new-extpass", required_argument, NULL, 'E' },
		{ "pubkey", required_argument, NULL, 'u' },
		{ "new-key", no_argument, NULL, 'n' },
		{ "key-id", required_argument, NULL, 'i' },
		{ "slot", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		CLI_LO_KDF,
		CLI_LO_END,
	};
	struct cli_common_args ca = { 0 };
	struct cli_unlock_opts uo = { 0 };
	struct cli_pass_src neu = { 0 };
	struct kc_op op = { 0 };
	struct cli_unlock u = { 0 };
	const char *pubkey = NULL;
	char *pass = NULL, msg[600];
	size_t pass_len = 0, pub_len = 0;
	uint8_t *pub = NULL;
	int o, lower = -1, ret = 1, have_slot = 0;

	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "remove"))) {
		usage();
		return 2;
	}
	int add = !strcmp(argv[1], "add");
	op.op = add ? KC_OP_KEY_ADD : KC_OP_KEY_REMOVE;
	argc--;
	argv++;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		/* --passfile/--extpass: the passphrase that opens the volume */
		if (cli_unlock_opt(o, optarg, &uo) ||
		    cli_common_opt(o, optarg, &ca))
			continue;
		switch (o) {
		case 'P':
			neu.passfile = optarg;
			break;
		case 'E':
			neu.extpass = optarg;
			break;
		case 'u':
			pubkey = optarg;
			break;
		case 'n':
			op.flags |= KC_F_NEW_KEY;
			break;
		case 'i':
			if (cli_parse_key_id(optarg, op.key_id))
				return 2;
			op.flags |= KC_F_KEY_ID;
			break;
		case 's':
			if (cli_parse_slot(optarg, &op.slot)) {
				usage();
				return 2;
			}
			have_slot = 1;
			break;
		case 'f':
			op.flags |= KC_F_FORCE;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc - 1 || (!add && !have_slot) ||
	    ((op.flags & KC_F_NEW_KEY) && (op.flags & KC_F_KEY_ID)) ||
	    (pubkey && (neu.passfile || neu.extpass))) {
		usage();
		return 2;
	}
	if (cli_common_kdf(&op, &ca))
		return 2;
	lower = cli_open_lower(argv[optind]);
	if (lower < 0)
		return 1;
	if (cli_unlock_collect(&u, &uo, "Existing passphrase: "))
		goto out;
	if (add && pubkey) {
		if (cli_read_file(pubkey, 16384, 0, &pub, &pub_len))
			goto out;
	} else if (add && cli_pass_read_new(&neu, &pass, &pass_len)) {
		goto out;
	}
	int r = cli_keyd_admin(lower, &op, &u, pass, pass_len, pub, pub_len,
			       NULL, NULL, msg, sizeof(msg));
	if (r) {
		fprintf(stderr, "cryptstack: key %s: %s\n", add ? "add" :
			"remove", msg);
		goto out;
	}
	printf("%s\n", msg);
	ret = 0;
out:
	cli_unlock_clear(&u);
	cli_pass_free(pass, pass_len);
	cli_file_free(pub, pub_len, 0);
	if (lower >= 0)
		close(lower);
	return ret;
}
