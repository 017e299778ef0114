/* SPDX-License-Identifier: MIT */
/*
 * Scratch volumes (`cryptstack mount --scratch LOWER MNT`, `-o scratch`): a
 * volume that lives exactly as long as its mount. The CLI creates it in an
 * empty LOWER under a random 256-bit passphrase that is never written
 * anywhere: it goes to keyd once (init, then unlock) and is wiped. When the
 * mount ends, the supervisor removes everything in LOWER. If the machine
 * or the processes die first, what is left in LOWER cannot be decrypted by
 * anyone (the key existed only in keyd's locked memory): crypto-shredded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../keyd/ctl.h"
#include "keyd_client.h"
#include "scratch.h"
#include "secmem.h"
#include "volume.h"

#define SCRATCH_RAW 32u /* random bytes; the passphrase is their hex */

/* 1 if dirfd's directory has no entry, 0 if it has one, -errno. */
static int dir_empty(int dirfd)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct dirent *de;
	int empty = 1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int random_pass(char **pass, size_t *len)
{
	uint8_t raw[SCRATCH_RAW];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	char *p = secmem_alloc(2 * SCRATCH_RAW + 1);
	if (!p) {
		explicit_bzero(raw, sizeof(raw));
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		static const char hex[] = "0123456789abcdef";
		p[2 * i] = hex[raw[i] >> 4];
		p[2 * i + 1] = hex[raw[i] & 15];
	}
	p[2 * SCRATCH_RAW] = '\0';
	explicit_bzero(raw, sizeof(raw));
	*pass = p;
	*len = 2 * SCRATCH_RAW;
	return 0;
}

int scratch_create(const char *lower, char **pass, size_t *pass_len)
{
	char msg[600];
	int ret = -1, lfd = -1;

	*pass = NULL;
	if (mkdir(lower, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "cryptstack: cannot create %s: %s\n", lower,
			strerror(errno));
		return -1;
	}
	lfd = cli_open_lower(lower);
	if (lfd < 0)
		return -1;
	int e = dir_empty(lfd);
	if (e != 1) {
		fprintf(stderr,
			"cryptstack: --scratch needs an empty (or absent) lower "
			"directory, and %s %s: everything in it is removed at "
			"unmount\n",
			lower, e < 0 ? "cannot be read" : "is not empty");
		goto out;
	}
	if (random_pass(pass, pass_len) < 0) {
		fprintf(stderr, "cryptstack: no random passphrase\n");
		goto out;
	}
	/* 256 random bits need no stretching: the cheapest Argon2id. */
	struct kc_op op = {
		.op = KC_OP_INIT,
		.cipher = VOL_CIPHER_AES256GCM,
		.names = VOL_NAMES_ENCRYPTED,
		.kdf_t = 1,
		.kdf_m = 1024,
		.kdf_p = 1,
	};
	if (cli_keyd_admin(lfd, &op, NULL, *pass, *pass_len, NULL, 0, NULL,
			   NULL, msg, sizeof(msg))) {
		fprintf(stderr, "cryptstack: scratch volume in %s: %s\n",
			lower, msg);
		goto out;
	}
	/* Root making a scratch volume in a user's directory: the user's
	 * keyd and cryptod must read what root's keyd wrote. */
	struct stat st;
	if (geteuid() == 0 && fstat(lfd, &st) == 0 && st.st_uid != 0 &&
	    fchownat(lfd, VOL_CONF_NAME, st.st_uid, st.st_gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		fprintf(stderr, "cryptstack: chown %s/%s: %s\n", lower,
			VOL_CONF_NAME, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		scratch_forget(*pass, *pass_len);
		*pass = NULL;
	}
	close(lfd);
	return ret;
}

void scratch_forget(char *pass, size_t len)
{
	if (pass)
		secmem_free(pass, len + 1);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	if (ftw->level == 0)
		return 0; /* LOWER itself stays */
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 &&
	    errno != ENOENT)
		fprintf(stderr, "cryptstack: scratch: cannot remove %s: %s\n",
			path, strerror(errno));
	return 0;
}

int scratch_wipe(const char *lower)
{
	/* Physical walk, no crossing into other file systems. */
	if (nftw(lower, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return -errno;
	int lfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return -errno;
	int e = dir_empty(lfd);
	close(lfd);
	return e == 1 ? 0 : -ENOTEMPTY;
}
