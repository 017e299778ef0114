/* SPDX-License-Identifier: MIT */
/* cryptstack passwd: change a passphrase. keyd rewraps the one slot the old
 * passphrase opens (new salt, optionally new KDF parameters); no file is
 * re-encrypted. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../keyd/ctl.h"
#include "cli.h"
#include "keyd_client.h"
#include "util.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: cryptstack passwd [--slot N] [--passfile OLDFILE | "
		"--extpass CMD]\n"
		"         [--new-passfile FILE | --new-extpass CMD]\n"
		"         [--kdf-memory SIZE] [--kdf-time N] "
		"[--kdf-parallelism N] LOWER\n");
}

int cmd_passwd(int argc, char **argv)
{
	static const struct option lo[] = {
		CLI_LO_PASS,
		{ "new-passfile", required_argument, NULL, 'P' },
		{ "new-extpass", required_argument, NULL, 'E' },
		{ "slot", required_argument, NULL, 's' },
		CLI_LO_KDF,
		CLI_LO_END,
	};
	struct cli_common_args ca = { 0 };
	struct cli_pass_src neu = { 0 };
	struct kc_op op = { .op = KC_OP_PASSWD };
	struct cli_unlock u = { 0 };
	char *pass = NULL, msg[600];
	size_t pass_len = 0;
	int o, lower = -1, ret = 1;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (cli_common_opt(o, optarg, &ca))
			continue;
		switch (o) {
		case 'P':
			neu.passfile = optarg;
			break;
		case 'E':
			neu.extpass = optarg;
			break;
		case 's':
			if (cli_parse_slot(optarg, &op.slot)) {
				usage();
				return 2;
			}
			op.flags |= KC_F_SLOT;
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
	if (cli_common_kdf(&op, &ca))
		return 2;
	lower = cli_open_lower(argv[optind]);
	if (lower < 0)
		return 1;
	if (cli_unlock_add_pass(&u, &ca.pass, "Old passphrase: "))
		goto out;
	if (cli_pass_read_new(&neu, &pass, &pass_len))
		goto out;
	int r = cli_keyd_admin(lower, &op, &u, pass, pass_len, NULL, 0, NULL,
			       NULL, msg, sizeof(msg));
	if (r) {
		fprintf(stderr, "cryptstack: passwd: %s\n", msg);
		goto out;
	}
	printf("%s\n", msg);
	ret = 0;
out:
	cli_unlock_clear(&u);
	cli_pass_free(pass, pass_len);
	if (lower >= 0)
		close(lower);
	return ret;
}
