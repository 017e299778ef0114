/* SPDX-License-Identifier: MIT */
/*
 * --encrypted-view: the lower tree as it is on disk, read-only (eCryptfs's
 * ecryptfs_encrypted_view), for backups. Names, sizes, bytes, symlink
 * targets and user.* xattrs are the lower ones unchanged; the volume's own
 * files (config, dir ids, long-name side files) are listed too, since a
 * backup needs them all. Every modifying op is EROFS. No key is used:
 * nothing is decrypted.
 *
 * Only what differs from the normal ops is here: the op table (EROFS for
 * every change, FSYNC a no-op), the check of lower names from requests,
 * OPEN's read-only check and lower fd, the user.* filter of LISTXATTR,
 * READ, GETXATTR and STATFS. LOOKUP, GETATTR, READLINK, OPEN/OPENDIR,
 * READDIR(PLUS), RELEASE, FLUSH, LISTXATTR and LSEEK are ops.c's and
 * handles.c's (they show lower names, sizes, targets and xattr names as
 * they are when cd.encrypted_view is set), with their handle table,
 * directory snapshot and path safety (single lower components, openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_PATH|O_NOFOLLOW).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cryptod.h"
#include "log.h"

/* --- names, open, xattr names -------------------------------------------- */

int cd_rawview_name(const char *name, size_t len, struct cd_lname *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return -EINVAL;
	if (len > CS_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || memchr(name, 0, len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	memcpy(out->name, name, len);
	out->name[len] = 0;
	out->len = len;
	return 0;
}

int cd_rawview_open(struct cd_handle *h, uint32_t flags)
{
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	if (h->n->type != S_IFREG)
		return 0;
	int fd = cd_inode_reopen(h->n, O_RDONLY);
	if (fd < 0)
		return fd;
	h->fd = fd;
	return 0;
}

int cd_rawview_xname(const char *lname, size_t len, char *out, size_t cap)
{
	/* The frontend answers every other namespace itself. */
	if (len < 5 || len > CS_XATTR_NAME_MAX || len >= cap ||
	    strncmp(lname, "user.", 5))
		return -ENODATA;
	memcpy(out, lname, len);
	out[len] = 0;
	return (int)len;
}

/* Checks a user.* xattr name from the argument block and copies it
 * NUL-terminated into out (CS_XATTR_NAME_MAX + 1 bytes). */
static int rv_xname(const uint8_t *p, uint32_t len, char *out)
{
	if (len == 0 || memchr(p, 0, len))
		return -EINVAL;
	if (len > CS_XATTR_NAME_MAX)
		return -ERANGE;
	memcpy(out, p, len);
	out[len] = 0;
	if (strncmp(out, "user.", 5) != 0)
		return -ENODATA; /* only user.* exists on a mount */
	return 0;
}

/* --- ops ------------------------------------------------------------------ */

static int rv_rofs(struct cd_req *r)
{
	(void)r;
	return -EROFS;
}

static int rv_read(struct cd_req *r)
{
	struct cd_handle *h = cd_handle_find(r->sqe.fh, r->sqe.ino);
	if (!h || h->fd < 0)
		return -EBADF;
	uint32_t len = r->sqe.len < r->slot_size ? r->sqe.len : r->slot_size;
	if (len > CD_IO_MAX_ONE)
		len = CD_IO_MAX_ONE;
	if (r->sqe.off > (uint64_t)INT64_MAX)
		return -EINVAL;
	uint8_t *dst = cd_reply_buf(r, len);
	if (len == 0)
		return 0;
	ssize_t n = cd_io_read(r->w, h->fd, dst, len, r->sqe.off);
	if (n < 0)
		return (int)n;
	r->cqe.data_len = (uint32_t)n;
	return (int)n;
}

static int rv_statfs(struct cd_req *r)
{
	return cd_statfs_reply(r, cd.lower_namemax, ST_RDONLY);
}

static int rv_getxattr(struct cd_req *r)
{
	char name[CS_XATTR_NAME_MAX + 1], pp[64];
	int rc = rv_xname(r->arg, r->arg_len, name);
	if (rc < 0)
		return rc;
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	if (!n)
		return -ESTALE;
	if (n->type != S_IFREG && n->type != S_IFDIR) {
		rc = -ENODATA;
		goto out;
	}
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d", n->fd);
	uint32_t cap =
	    r->slot_size < CS_XATTR_SIZE_MAX ? r->slot_size : CS_XATTR_SIZE_MAX;
	uint8_t *b = cd_reply_buf(r, cap);
	ssize_t l = getxattr(pp, name, b, cap);
	if (l < 0) {
		/* A lower value longer than a mount can carry. */
		rc = errno == ERANGE ? -E2BIG : -errno;
		goto out;
	}
	rc = cd_xattr_reply(r, (uint64_t)l);
out:
	cd_inode_put(n);
	return rc;
}

const struct cd_op cd_rawview_ops[CS_OP__MAX] = {
    [CS_OP_LOOKUP] = {cd_op_lookup, "LOOKUP(raw)"},
    [CS_OP_GETATTR] = {cd_op_getattr, "GETATTR(raw)"},
    [CS_OP_SETATTR] = {rv_rofs, "SETATTR(raw)"},
    [CS_OP_READLINK] = {cd_op_readlink, "READLINK(raw)"},
    [CS_OP_MKNOD] = {rv_rofs, "MKNOD(raw)"},
    [CS_OP_MKDIR] = {rv_rofs, "MKDIR(raw)"},
    [CS_OP_UNLINK] = {rv_rofs, "UNLINK(raw)"},
    [CS_OP_RMDIR] = {rv_rofs, "RMDIR(raw)"},
    [CS_OP_SYMLINK] = {rv_rofs, "SYMLINK(raw)"},
    [CS_OP_RENAME] = {rv_rofs, "RENAME(raw)"},
    [CS_OP_LINK] = {rv_rofs, "LINK(raw)"},
    [CS_OP_OPEN] = {cd_op_open, "OPEN(raw)"},
    [CS_OP_READ] = {rv_read, "READ(raw)"},
    [CS_OP_WRITE] = {rv_rofs, "WRITE(raw)"},
    [CS_OP_FLUSH] = {cd_op_flush, "FLUSH(raw)"},
    [CS_OP_RELEASE] = {cd_op_release, "RELEASE(raw)"},
    [CS_OP_FSYNC] = {cd_op_flush, "FSYNC(raw)"},
    [CS_OP_OPENDIR] = {cd_op_open, "OPENDIR(raw)"},
    [CS_OP_READDIR] = {cd_op_readdir, "READDIR(raw)"},
    [CS_OP_READDIRPLUS] = {cd_op_readdir, "READDIRPLUS(raw)"},
    [CS_OP_RELEASEDIR] = {cd_op_release, "RELEASEDIR(raw)"},
    [CS_OP_FSYNCDIR] = {cd_op_flush, "FSYNCDIR(raw)"},
    [CS_OP_STATFS] = {rv_statfs, "STATFS(raw)"},
    [CS_OP_SETXATTR] = {rv_rofs, "SETXATTR(raw)"},
    [CS_OP_GETXATTR] = {rv_getxattr, "GETXATTR(raw)"},
    [CS_OP_LISTXATTR] = {cd_op_listxattr, "LISTXATTR(raw)"},
    [CS_OP_REMOVEXATTR] = {rv_rofs, "REMOVEXATTR(raw)"},
    [CS_OP_CREATE] = {rv_rofs, "CREATE(raw)"},
    [CS_OP_FALLOCATE] = {rv_rofs, "FALLOCATE(raw)"},
    [CS_OP_LSEEK] = {cd_op_lseek, "LSEEK(raw)"},
};
