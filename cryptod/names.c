/* SPDX-License-Identifier: MIT */
/*
 * Names, directory ids, long-name side files, symlink targets and xattrs:
 * cryptod's side of csfmt's name functions (the bytes are csfmt's). Every
 * lower name handed out here is a single path component.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryptod.h"
#include "fmt.h"
#include "log.h"
#include "util.h"

/* Opens a small metadata file of the volume (dir id, side file) for
 * reading: never blocks on a FIFO or device a hostile lower tree put
 * there, and refuses anything but a regular file (-EIO). fd or -errno. */
int cd_open_meta(int dirfd, const char *name)
{
	struct stat st;
	int fd =
	    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static int read_dirid(int dirfd, uint8_t id[static CD_DIRID_LEN])
{
	uint8_t buf[FMT_DIRID_FILE_LEN + 1];
	int fd = cd_open_meta(dirfd, FMT_DIRID_NAME);
	if (fd < 0)
		return fd;
	ssize_t n = read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return (int)n;
	int rc = fmt_dirid_parse(buf, (size_t)n, id);
	return rc < 0 ? -EIO : 0;
}

static int write_dirid_file(int dirfd, const uint8_t *file)
{
	int fd =
	    openat(dirfd, FMT_DIRID_NAME,
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	int rc = write_full(fd, file, FMT_DIRID_FILE_LEN);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		unlinkat(dirfd, FMT_DIRID_NAME, 0);
	return rc;
}

int cd_bind_tag(struct cd_inode *dir, const char *lname, uint8_t *tag)
{
	uint8_t id[CD_DIRID_LEN];
	if (cd.plain_names) {
		fmt_name_bind_tag(NULL, lname, strlen(lname), tag);
		return 0;
	}
	int rc = cd_inode_dirid(dir, id);
	if (rc == 0)
		fmt_name_bind_tag(id, lname, strlen(lname), tag);
	return rc;
}

int cd_inode_dirid(struct cd_inode *n, uint8_t out[static CD_DIRID_LEN])
{
	int rc = 0;
	pthread_mutex_lock(&n->lock);
	if (!n->have_dirid) {
		int dfd = cd_inode_reopen(n, O_RDONLY);
		if (dfd < 0) {
			rc = dfd;
			goto out;
		}
		rc = read_dirid(dfd, n->dirid);
		if (rc == -ENOENT && n->nodeid == CD_ROOT_ID) {
			/* A fresh volume: the root gets its id on first use. */
			uint8_t file[FMT_DIRID_FILE_LEN];
			rc = fmt_dirid_new(n->dirid, file);
			if (rc == 0)
				rc = write_dirid_file(dfd, file);
			if (rc == -EEXIST)
				rc = read_dirid(dfd, n->dirid);
		}
		close(dfd);
		if (rc < 0) {
			log_warnx(
			    "directory (lower ino %llu): no usable %s: %s",
			    (unsigned long long)n->ino, FMT_DIRID_NAME,
			    strerror(-rc));
			rc = -EIO;
			goto out;
		}
		n->have_dirid = true;
	}
	memcpy(out, n->dirid, CD_DIRID_LEN);
out:
	pthread_mutex_unlock(&n->lock);
	return rc;
}

uint64_t cd_name_max(void)
{
	return FMT_NAME_MAX;
}

int cd_name_to_lower(struct cd_inode *dir, const char *name, size_t len,
		     struct cd_lname *out)
{
	uint8_t id[CD_DIRID_LEN];
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > CS_NAME_MAX || memchr(name, '/', len) ||
	    memchr(name, 0, len) || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return len > CS_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
	if (cd.plain_names) {
		rc = fmt_plain_name_check(name, len);
		if (rc < 0)
			return rc;
		memcpy(out->name, name, len);
		out->len = len;
		return 0;
	}
	rc = cd_inode_dirid(dir, id);
	if (rc < 0)
		return rc;
	rc = fmt_name_encrypt(cd.names_key, id, name, len, out->name,
			      sizeof(out->name), &out->is_long);
	if (rc < 0)
		return rc == -ENOSPC ? -ENAMETOOLONG : rc;
	out->len = (size_t)rc;
	if (out->is_long) {
		char side[sizeof(out->name) + 8];
		rc = fmt_side_build(cd.names_key, id, name, len, side,
				    sizeof(side), (uint8_t *)out->full,
				    sizeof(out->full));
		if (rc < 0)
			return rc == -ENOSPC ? -ENAMETOOLONG : rc;
		out->full_len = (size_t)rc;
	}
	return 0;
}

int cd_name_from_lower(struct cd_inode *dir, int dirfd, const char *lname,
		       char *out, size_t cap)
{
	uint8_t id[CD_DIRID_LEN];
	size_t len = strlen(lname);
	int rc;

	if (cd.plain_names) {
		if (fmt_plain_name_check(lname, len) < 0 || len >= cap)
			return -EINVAL;
		memcpy(out, lname, len + 1);
		return (int)len;
	}
	rc = cd_inode_dirid(dir, id);
	if (rc < 0)
		return rc;
	switch (fmt_name_classify(lname, len)) {
	case FMT_NAME_REGULAR:
		return fmt_name_decrypt(cd.names_key, id, lname, len, out, cap);
	case FMT_NAME_LONG: {
		char side[300];
		uint8_t buf[FMT_SIDE_MAX + 1];
		rc = fmt_side_name(lname, len, side, sizeof(side));
		if (rc < 0)
			return rc;
		int fd = cd_open_meta(dirfd, side);
		if (fd < 0)
			return fd;
		ssize_t n = read_full(fd, buf, sizeof(buf));
		close(fd);
		if (n < 0)
			return (int)n;
		return fmt_side_parse(cd.names_key, id, lname, len, buf,
				      (size_t)n, out, cap);
	}
	default:
		return -EINVAL;
	}
}

int cd_name_hidden(const char *lname)
{
	size_t len = strlen(lname);
	if (cd.plain_names)
		return fmt_plain_name_check(lname, len) == -EPERM;
	return fmt_name_classify(lname, len) == FMT_NAME_HIDDEN;
}

int cd_longname_store(int dirfd, const struct cd_lname *ln, bool *created)
{
	char side[300];
	*created = false;
	int rc = fmt_side_name(ln->name, ln->len, side, sizeof(side));
	if (rc < 0)
		return rc;
	int fd =
	    openat(dirfd, side,
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	rc = write_full(fd, ln->full, ln->full_len);
	close(fd);
	if (rc < 0) {
		unlinkat(dirfd, side, 0);
		return rc;
	}
	*created = true;
	return 0;
}

void cd_longname_remove(int dirfd, const struct cd_lname *ln)
{
	char side[300];
	if (fmt_side_name(ln->name, ln->len, side, sizeof(side)) >= 0)
		unlinkat(dirfd, side, 0);
}

int cd_dirid_create(int dirfd)
{
	uint8_t id[FMT_DIRID_LEN], file[FMT_DIRID_FILE_LEN];
	int rc = fmt_dirid_new(id, file);
	if (rc < 0)
		return rc;
	return write_dirid_file(dirfd, file);
}

int cd_dirid_remove(int dirfd, uint8_t saved[static CD_DIRID_LEN])
{
	int rc = read_dirid(dirfd, saved);
	if (rc < 0)
		return rc;
	if (unlinkat(dirfd, FMT_DIRID_NAME, 0) < 0)
		return -errno;
	return 0;
}

int cd_dirid_restore(int dirfd, const uint8_t saved[static CD_DIRID_LEN])
{
	/* Rebuild the file around the saved id: same layout as
	 * fmt_dirid_new() produces, checked by parsing it back. */
	uint8_t id[FMT_DIRID_LEN], file[FMT_DIRID_FILE_LEN];
	int rc = fmt_dirid_new(id, file);
	if (rc < 0)
		return rc;
	memcpy(file + FMT_DIRID_FILE_LEN - FMT_DIRID_LEN, saved, FMT_DIRID_LEN);
	if (fmt_dirid_parse(file, sizeof(file), id) < 0 ||
	    memcmp(id, saved, FMT_DIRID_LEN))
		return -EIO;
	return write_dirid_file(dirfd, file);
}

int cd_target_enc(const char *t, size_t len, char *out, size_t cap)
{
	if (len > FMT_SYMLINK_MAX)
		return -ENAMETOOLONG;
	if (cd.plain_names) {
		if (len >= cap || memchr(t, 0, len))
			return -EINVAL;
		memcpy(out, t, len);
		out[len] = 0;
		return (int)len;
	}
	return fmt_symlink_encrypt(cd.names_key, t, len, out, cap);
}

int cd_target_dec(const char *t, size_t len, char *out, size_t cap)
{
	if (cd.plain_names) {
		if (len >= cap)
			return -EINVAL;
		memcpy(out, t, len);
		out[len] = 0;
		return (int)len;
	}
	return fmt_symlink_decrypt(cd.names_key, t, len, out, cap);
}

int cd_xname_enc(const char *name, size_t len, char *out, size_t cap)
{
	if (len == 0 || len > CS_XATTR_NAME_MAX || memchr(name, 0, len))
		return len > CS_XATTR_NAME_MAX ? -ERANGE : -EINVAL;
	return fmt_xattr_name_encrypt(cd.names_key, name, len, out, cap);
}

int cd_xname_dec(const char *lname, size_t len, char *out, size_t cap)
{
	return fmt_xattr_name_decrypt(cd.names_key, lname, len, out, cap);
}

int cd_xval_enc(const char *uname, size_t ulen, const uint8_t *v, size_t len,
		uint8_t *out, size_t cap)
{
	return fmt_xattr_value_encrypt(cd.names_key, uname, ulen, v, len, out,
				       cap);
}

int cd_xval_dec(const char *uname, size_t ulen, const uint8_t *v, size_t len,
		uint8_t *out, size_t cap)
{
	return fmt_xattr_value_decrypt(cd.names_key, uname, ulen, v, len, out,
				       cap);
}
