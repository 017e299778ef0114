/* SPDX-License-Identifier: MIT */
/* cryptstack keygen PRIV.pem PUB.pem: an RSA key pair for public-key slots.
 * keyd generates it; the private key is encrypted (Argon2id + AES-256-GCM
 * container, docs/VOLUME.md) unless --no-passphrase. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../keyd/ctl.h"
#include "cli.h"
#include "keyd_client.h"
#include "util.h"

struct outfiles {
	const char *priv, *pub;
	int wrote;
};

static int write_out(void *arg, uint32_t which, const uint8_t *buf,
		     size_t len)
{
	struct outfiles *o = arg;
	const char *path = which == KC_DATA_PRIV ? o->priv : o->pub;
	if (which != KC_DATA_PRIV && which != KC_DATA_PUB)
		return -EPROTO;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		      which == KC_DATA_PRIV ? 0600 : 0644);
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "cryptstack: %s: %s\n", path, strerror(e));
		return -e;
	}
	int r = write_full(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r) {
		fprintf(stderr, "cryptstack: %s: %s\n", path, strerror(-r));
		unlink(path);
		return r;
	}
	o->wrote |= which == KC_DATA_PRIV ? 1 : 2;
	return 0;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option lo[] = {
		CLI_LO_PASS,
		{ "no-passphrase", no_argument, NULL, 'N' },
		{ "bits", required_argument, NULL, 'b' },
		CLI_LO_KDF,
		CLI_LO_END,
	};
	struct cli_common_args ca = { 0 };
	struct kc_op op = { .op = KC_OP_KEYGEN };
	char *pass = NULL, msg[600];
	size_t pass_len = 0;
	int o, nopass = 0;
	uint64_t v;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (cli_common_opt(o, optarg, &ca))
			continue;
		switch (o) {
		case 'N':
			nopass = 1;
			break;
		case 'b':
			if (parse_size(optarg, &v) || v > 8192) {
				fprintf(stderr, "cryptstack: bad --bits\n");
				return 2;
			}
			op.rsa_bits = (uint32_t)v;
			break;
		case 'h':
		default:
			fprintf(stderr, "usage: cryptstack keygen [--no-passphrase"
				" | --passfile FILE | --extpass CMD] [--bits N]"
				"\n         [--kdf-memory SIZE] [--kdf-time N] "
				"[--kdf-parallelism N] PRIV.pem PUB.pem\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 2) {
		fprintf(stderr, "usage: cryptstack keygen [options] PRIV.pem "
			"PUB.pem\n");
		return 2;
	}
	struct outfiles out = { argv[optind], argv[optind + 1], 0 };
	if (access(out.priv, F_OK) == 0 || access(out.pub, F_OK) == 0) {
		fprintf(stderr, "cryptstack: %s or %s exists; not overwriting\n",
			out.priv, out.pub);
		return 1;
	}
	if (cli_common_kdf(&op, &ca))
		return 2;
	if (!nopass && cli_pass_read(&ca.pass, "Private key passphrase: ", 1,
				     &pass, &pass_len))
		return 1;
	int r = cli_keyd_admin(-1, &op, NULL, pass, pass_len, NULL, 0,
			       write_out, &out, msg, sizeof(msg));
	cli_pass_free(pass, pass_len);
	if (r || out.wrote != 3) {
		fprintf(stderr, "cryptstack: keygen: %s\n", msg);
		if (out.wrote & 1)
			unlink(out.priv);
		if (out.wrote & 2)
			unlink(out.pub);
		return 1;
	}
	printf("%s; private key %s, public key %s\n", msg, out.priv, out.pub);
	return 0;
}
