/* SPDX-License-Identifier: MIT */
/* cryptstack info: volume parameters and key slots from the config file
 * (public data only: no passphrase is asked, no key is opened). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"
#include "volume.h"

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int cmd_info(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: cryptstack info LOWER\n");
		return 2;
	}
	const char *path = argv[1];
	struct vol_config *c = calloc(1, sizeof(*c));
	uint8_t *buf = malloc(VOL_MAX_SIZE + 1);
	int ret = 1, lower = -1, fd = -1;
	const char *why = NULL;
	if (!c || !buf)
		goto out;
	lower = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lower < 0) {
		fprintf(stderr, "cryptstack: %s: %s\n", path, strerror(errno));
		goto out;
	}
	fd = openat(lower, VOL_CONF_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cryptstack: %s: not a cryptstack volume (%s: "
			"%s)\n", path, VOL_CONF_NAME, strerror(errno));
		goto out;
	}
	ssize_t n = read_full(fd, buf, VOL_MAX_SIZE + 1);
	if (n < 0) {
		fprintf(stderr, "cryptstack: %s: %s\n", VOL_CONF_NAME,
			strerror((int)-n));
		goto out;
	}
	if (vol_parse(buf, (size_t)n, c, &why)) {
		fprintf(stderr, "cryptstack: %s/%s: %s\n", path, VOL_CONF_NAME,
			why);
		goto out;
	}
	printf("volume:      %s\n", path);
	printf("format:      %u (config %zd bytes)\n", c->version, n);
	printf("volume id:   ");
	hex(c->volume_id, VOL_ID_LEN);
	printf("\ncipher:      %s (id %u)\n", vol_cipher_name(c->cipher),
	       c->cipher);
	printf("names:       %s\n", c->names == VOL_NAMES_PLAIN ? "plaintext"
				: "encrypted (AES-SIV)");
	printf("flags:       required 0x%08x optional 0x%08x\n", c->req_flags,
	       c->opt_flags);
	printf("key slots:   %u\n", c->nslots);
	for (uint32_t i = 0; i < c->nslots; i++) {
		const struct vol_slot *s = &c->slot[i];
		printf("  slot %u: key ", i);
		hex(s->key_id, VOL_KEY_ID_LEN);
		if (s->type == VOL_SLOT_PASS) {
			printf("  passphrase, Argon2id t=%u m=%u KiB p=%u\n",
			       s->kdf_t, s->kdf_m, s->kdf_p);
		} else {
			printf("  public key RSA-%u OAEP-SHA256, key sha256 ",
			       s->rsa_len * 8u);
			hex(s->fpr, 8);
			printf("...\n");
		}
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (lower >= 0)
		close(lower);
	free(buf);
	free(c);
	return ret;
}
