/* SPDX-License-Identifier: MIT */
/*
 * The volume config as cryptod needs it: cipher of new files and the names
 * mode. Parsing is csfmt's (fmt/volume.h); keys stay in keyd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cipher.h"
#include "cryptod.h"
#include "log.h"
#include "util.h"
#include "volume.h"

int cd_volume_load(void)
{
	struct vol_config *c = NULL;
	uint8_t *buf = NULL;
	const char *why = NULL;
	int rc, fd;

	fd = cd_open_meta(cd.lower_fd, VOL_CONF_NAME);
	if (fd < 0)
		return fd;
	buf = malloc(VOL_MAX_SIZE + 1);
	c = malloc(sizeof(*c));
	if (!buf || !c) {
		rc = -ENOMEM;
		goto out;
	}
	ssize_t n = read_full(fd, buf, VOL_MAX_SIZE + 1);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	rc = vol_parse(buf, (size_t)n, c, &why);
	if (rc < 0) {
		log_warnx("%s: %s", VOL_CONF_NAME, why ? why : strerror(-rc));
		goto out;
	}
	if (cipher_alg_keylen(c->cipher) < 0) {
		log_warnx("%s: unknown cipher %u", VOL_CONF_NAME, c->cipher);
		rc = -EINVAL;
		goto out;
	}
	cd.cipher_alg = c->cipher;
	cd.plain_names = c->names == VOL_NAMES_PLAIN;
	rc = 0;
out:
	close(fd);
	free(buf);
	free(c);
	return rc;
}
