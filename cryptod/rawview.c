/* SPDX-License-Identifier: MIT */
/*
 * --encrypted-view: the lower tree as it is on disk, read-only (eCryptfs's
 * ecryptfs_encrypted_view), for backups. A separate op table: names, sizes,
 * bytes, symlink targets and user.* xattrs are the lower ones unchanged;
 * the volume's own files (config, dir ids, long-name side files) are listed
 * too, since a backup needs them all. Every modifying op is EROFS. No key
 * is used: nothing is decrypted.
 *
 * Shares the inode table (inode.c) and the lower I/O helpers (uring.c) with
 * the normal ops; handles are kept here (a raw handle is a lower fd or a
 * directory snapshot, never a cd_file). Path safety as in ops.c: lookups
 * are single lower components opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) and O_PATH|O_NOFOLLOW.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cryptod.h"
#include "log.h"

/* --- handles ------------------------------------------------------------ */

struct rv_ent {
	uint64_t ino;
	uint32_t type;
	uint32_t namelen;
	char *name; /* lower name */
	bool dot;   /* . or .. (not looked up for READDIRPLUS) */
};

struct rv_handle {
	uint64_t fh;
	struct cd_inode *n;
	int fd;		     /* regular file: O_RDONLY lower fd; dir: -1 */
	pthread_mutex_t dmu; /* directory snapshot */
	struct rv_ent *ents;
	size_t nents;
	struct rv_handle *next;
};

#define RV_HBUCKETS 1024u
static pthread_mutex_t rv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rv_handle *rv_tab[RV_HBUCKETS];
static uint64_t rv_next_fh = 1;

static void rv_snap_free(struct rv_handle *h)
{
	for (size_t i = 0; i < h->nents; i++)
		free(h->ents[i].name);
	free(h->ents);
	h->ents = NULL;
	h->nents = 0;
}

/* Frees a handle that is in no table. */
static void rv_handle_free(struct rv_handle *h)
{
	if (h->fd >= 0)
		close(h->fd);
	rv_snap_free(h);
	pthread_mutex_destroy(&h->dmu);
	cd_inode_open_ref(h->n, -1);
	free(h);
}

/* A new handle on n holding fd (ownership passes in); NULL on ENOMEM (fd
 * closed). */
static struct rv_handle *rv_handle_new(struct cd_inode *n, int fd)
{
	struct rv_handle *h = calloc(1, sizeof(*h));
	if (!h) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	h->n = n;
	h->fd = fd;
	pthread_mutex_init(&h->dmu, NULL);
	cd_inode_open_ref(n, 1);
	pthread_mutex_lock(&rv_mu);
	h->fh = rv_next_fh++;
	h->next = rv_tab[h->fh % RV_HBUCKETS];
	rv_tab[h->fh % RV_HBUCKETS] = h;
	pthread_mutex_unlock(&rv_mu);
	return h;
}

/* The handle fh of node ino, or NULL (absent or another node's). */
static struct rv_handle *rv_handle_find(uint64_t fh, uint64_t ino)
{
	pthread_mutex_lock(&rv_mu);
	struct rv_handle *h = rv_tab[fh % RV_HBUCKETS];
	while (h && h->fh != fh)
		h = h->next;
	pthread_mutex_unlock(&rv_mu);
	if (h && h->n->nodeid != ino)
		return NULL;
	return h;
}

static struct rv_handle *rv_handle_remove(uint64_t fh, uint64_t ino)
{
	pthread_mutex_lock(&rv_mu);
	struct rv_handle **p = &rv_tab[fh % RV_HBUCKETS];
	while (*p && (*p)->fh != fh)
		p = &(*p)->next;
	struct rv_handle *h = *p;
	if (h && h->n->nodeid == ino)
		*p = h->next;
	else
		h = NULL;
	pthread_mutex_unlock(&rv_mu);
	return h;
}

void cd_rawview_close_all(void)
{
	for (unsigned b = 0; b < RV_HBUCKETS; b++) {
		while (rv_tab[b]) {
			struct rv_handle *h = rv_tab[b];
			rv_tab[b] = h->next;
			rv_handle_free(h);
		}
	}
}

/* --- helpers ------------------------------------------------------------ */

static int rv_open_beneath(int dirfd, const char *name, uint64_t flags)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Attributes exactly as the lower stat says (sizes are lower sizes). */
static void rv_fill_attr(const struct stat *st, struct cs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = st->st_atim.tv_sec;
	a->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	a->mtime = st->st_mtim.tv_sec;
	a->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctime = st->st_ctim.tv_sec;
	a->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = 4096;
}

/* Checks a lower name from the argument block (1..255 bytes, no '/', no
 * NUL, not . or ..) and copies it NUL-terminated into out. */
static int rv_name(const uint8_t *p, uint32_t len, char out[CS_NAME_MAX + 1])
{
	if (len == 0)
		return -EINVAL;
	if (len > CS_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(p, '/', len) || memchr(p, 0, len))
		return -EINVAL;
	memcpy(out, p, len);
	out[len] = 0;
	if (!strcmp(out, ".") || !strcmp(out, ".."))
		return -EINVAL;
	return 0;
}

/* Looks up lower entry name in directory p: one more lookup on the node,
 * e filled. */
static int rv_lookup_in(struct cd_inode *p, const char *name,
			struct cs_entry *e)
{
	struct stat st;
	int fd = rv_open_beneath(p->fd, name, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int e0 = -errno;
		close(fd);
		return e0;
	}
	int err = -ENOMEM;
	struct cd_inode *n = cd_inode_lookup_fd(fd, &st, &err);
	if (!n)
		return err;
	memset(e, 0, sizeof(*e));
	e->nodeid = n->nodeid;
	rv_fill_attr(&st, &e->attr);
	cd_inode_put(n);
	return 0;
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

static int rv_lookup(struct cd_req *r)
{
	struct cd_inode *p = cd_inode_get(r->sqe.ino);
	char name[CS_NAME_MAX + 1];
	struct cs_entry e;
	int rc;
	if (!p)
		return -ESTALE;
	if (p->type != S_IFDIR) {
		rc = -ENOTDIR;
		goto out;
	}
	rc = rv_name(r->arg, r->arg_len, name);
	if (rc < 0)
		goto out;
	rc = rv_lookup_in(p, name, &e);
	if (rc < 0)
		goto out;
	memcpy(cd_reply_buf(r, sizeof(e)), &e, sizeof(e));
out:
	cd_inode_put(p);
	return rc;
}

static int rv_getattr(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	struct stat st;
	struct cs_attr a;
	int rc = 0;
	if (!n)
		return -ESTALE;
	if (fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		goto out;
	}
	rv_fill_attr(&st, &a);
	memcpy(cd_reply_buf(r, sizeof(a)), &a, sizeof(a));
out:
	cd_inode_put(n);
	return rc;
}

static int rv_readlink(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	char t[PATH_MAX];
	int rc = 0;
	if (!n)
		return -ESTALE;
	if (n->type != S_IFLNK) {
		rc = -EINVAL;
		goto out;
	}
	ssize_t l = readlinkat(n->fd, "", t, sizeof(t));
	if (l < 0) {
		rc = -errno;
		goto out;
	}
	if ((size_t)l > CS_SYMLINK_MAX) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	char *b = cd_reply_buf(r, (uint32_t)l);
	if (!b) {
		rc = -EOVERFLOW;
		goto out;
	}
	memcpy(b, t, (size_t)l);
out:
	cd_inode_put(n);
	return rc;
}

static int rv_open(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	struct cs_open_arg oa;
	struct rv_handle *h;
	int rc = 0, fd = -1;
	if (!n)
		return -ESTALE;
	if (r->arg_len != sizeof(oa)) {
		rc = -EINVAL;
		goto out;
	}
	memcpy(&oa, r->arg, sizeof(oa));
	bool dir = r->sqe.op == CS_OP_OPENDIR;
	if (dir != (n->type == S_IFDIR)) {
		rc = dir ? -ENOTDIR : -EISDIR;
		goto out;
	}
	if (!dir && n->type != S_IFREG) {
		rc = -ENXIO;
		goto out;
	}
	if ((oa.flags & O_ACCMODE) != O_RDONLY || (oa.flags & O_TRUNC)) {
		rc = -EROFS;
		goto out;
	}
	if (!dir) {
		fd = cd_inode_reopen(n, O_RDONLY);
		if (fd < 0) {
			rc = fd;
			goto out;
		}
	}
	h = rv_handle_new(n, fd);
	if (!h) {
		rc = -ENOMEM;
		goto out;
	}
	/* The lower tree may change under a backup view (another mount of
	 * the volume): no KEEP_CACHE. */
	struct cs_open_reply orep = {.fh = h->fh, .open_flags = 0};
	memcpy(cd_reply_buf(r, sizeof(orep)), &orep, sizeof(orep));
out:
	cd_inode_put(n);
	return rc;
}

static int rv_release(struct cd_req *r)
{
	struct rv_handle *h = rv_handle_remove(r->sqe.fh, r->sqe.ino);
	if (!h)
		return -EBADF;
	rv_handle_free(h);
	return 0;
}

static int rv_read(struct cd_req *r)
{
	struct rv_handle *h = rv_handle_find(r->sqe.fh, r->sqe.ino);
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

static int rv_flush_fsync(struct cd_req *r)
{
	/* Nothing was written through this mount. */
	return rv_handle_find(r->sqe.fh, r->sqe.ino) ? 0 : -EBADF;
}

/* Snapshot of every lower entry of h's directory, volume files included;
 * cookies are indices + 1. */
static int rv_snap_build(struct rv_handle *h)
{
	int fd = cd_inode_reopen(h->n, O_RDONLY);
	if (fd < 0)
		return fd;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	rv_snap_free(h);
	size_t cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len == 0 || len > CS_NAME_MAX)
			continue;
		if (h->nents == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct rv_ent *ne = realloc(h->ents, nc * sizeof(*ne));
			if (!ne) {
				rc = -ENOMEM;
				break;
			}
			h->ents = ne;
			cap = nc;
		}
		struct rv_ent *e = &h->ents[h->nents];
		e->ino = de->d_ino;
		e->type = de->d_type;
		e->namelen = (uint32_t)len;
		e->dot = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		e->name = strdup(de->d_name);
		if (!e->name) {
			rc = -ENOMEM;
			break;
		}
		h->nents++;
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

static int rv_readdir(struct cd_req *r)
{
	struct rv_handle *h = rv_handle_find(r->sqe.fh, r->sqe.ino);
	bool plus = r->sqe.op == CS_OP_READDIRPLUS;
	int rc = 0;
	if (!h || h->fd >= 0 || h->n->type != S_IFDIR)
		return -EBADF;
	pthread_mutex_lock(&h->dmu);
	if (r->sqe.off == 0 || !h->ents) {
		rc = rv_snap_build(h);
		if (rc < 0)
			goto out;
	}
	uint32_t cap = r->sqe.len < r->slot_size ? r->sqe.len : r->slot_size;
	uint8_t *b = cd_reply_buf(r, cap);
	uint32_t used = 0;
	for (uint64_t i = r->sqe.off; i < h->nents; i++) {
		struct rv_ent *e = &h->ents[i];
		if (cd_dirent_len(e->namelen, plus) > cap - used)
			break;
		struct cs_dirent de = {.ino = e->ino,
				       .off = i + 1,
				       .type = e->type,
				       .namelen = e->namelen};
		struct cs_entry ent;
		memset(&ent, 0, sizeof(ent));
		if (plus && !e->dot && rv_lookup_in(h->n, e->name, &ent) < 0)
			memset(&ent, 0, sizeof(ent));
		used += cd_dirent_put(b + used, &de, e->name,
				      plus ? &ent : NULL);
	}
	r->cqe.data_len = used;
out:
	pthread_mutex_unlock(&h->dmu);
	return rc;
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
	r->cqe.val = (uint64_t)l;
	if (r->sqe.len == 0)
		r->cqe.data_len = 0;
	else if ((uint64_t)l > r->sqe.len)
		rc = -ERANGE;
	else
		r->cqe.data_len = (uint32_t)l;
out:
	if (rc < 0)
		r->cqe.data_len = 0;
	cd_inode_put(n);
	return rc;
}

static int rv_listxattr(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	char pp[64], *list = NULL;
	int rc = 0;
	if (!n)
		return -ESTALE;
	uint32_t cap =
	    r->slot_size < CS_XATTR_SIZE_MAX ? r->slot_size : CS_XATTR_SIZE_MAX;
	uint8_t *b = cd_reply_buf(r, cap);
	uint32_t used = 0;
	if (n->type != S_IFREG && n->type != S_IFDIR)
		goto done;
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d", n->fd);
	ssize_t l = listxattr(pp, NULL, 0);
	if (l < 0) {
		rc = -errno;
		goto out;
	}
	list = malloc((size_t)l + 1);
	if (!list) {
		rc = -ENOMEM;
		goto out;
	}
	l = listxattr(pp, list, (size_t)l);
	if (l < 0) {
		rc = errno == ERANGE ? -EAGAIN : -errno;
		goto out;
	}
	for (size_t i = 0; i < (size_t)l;) {
		size_t nl = strnlen(list + i, (size_t)l - i);
		const char *nm = list + i;
		i += nl + 1;
		/* The frontend answers every other namespace itself. */
		if (nl < 5 || nl > CS_XATTR_NAME_MAX || strncmp(nm, "user.", 5))
			continue;
		if (nl + 1 > cap - used) {
			rc = -E2BIG;
			goto out;
		}
		memcpy(b + used, nm, nl);
		b[used + nl] = 0;
		used += (uint32_t)nl + 1;
	}
done:
	r->cqe.val = used;
	if (r->sqe.len == 0)
		r->cqe.data_len = 0;
	else if (used > r->sqe.len)
		rc = -ERANGE;
	else
		r->cqe.data_len = used;
out:
	if (rc < 0)
		r->cqe.data_len = 0;
	free(list);
	cd_inode_put(n);
	return rc;
}

static int rv_lseek(struct cd_req *r)
{
	struct cs_lseek_arg la;
	struct rv_handle *h = rv_handle_find(r->sqe.fh, r->sqe.ino);
	if (!h || h->fd < 0)
		return -EBADF;
	if (r->arg_len != sizeof(la))
		return -EINVAL;
	memcpy(&la, r->arg, sizeof(la));
	if (la.whence != SEEK_DATA && la.whence != SEEK_HOLE)
		return -EINVAL;
	if (r->sqe.off > (uint64_t)INT64_MAX)
		return -ENXIO;
	off_t o = lseek(h->fd, (off_t)r->sqe.off, (int)la.whence);
	if (o < 0)
		return -errno;
	r->cqe.val = (uint64_t)o;
	return 0;
}

const struct cd_op cd_rawview_ops[CS_OP__MAX] = {
    [CS_OP_LOOKUP] = {rv_lookup, "LOOKUP(raw)"},
    [CS_OP_GETATTR] = {rv_getattr, "GETATTR(raw)"},
    [CS_OP_SETATTR] = {rv_rofs, "SETATTR(raw)"},
    [CS_OP_READLINK] = {rv_readlink, "READLINK(raw)"},
    [CS_OP_MKNOD] = {rv_rofs, "MKNOD(raw)"},
    [CS_OP_MKDIR] = {rv_rofs, "MKDIR(raw)"},
    [CS_OP_UNLINK] = {rv_rofs, "UNLINK(raw)"},
    [CS_OP_RMDIR] = {rv_rofs, "RMDIR(raw)"},
    [CS_OP_SYMLINK] = {rv_rofs, "SYMLINK(raw)"},
    [CS_OP_RENAME] = {rv_rofs, "RENAME(raw)"},
    [CS_OP_LINK] = {rv_rofs, "LINK(raw)"},
    [CS_OP_OPEN] = {rv_open, "OPEN(raw)"},
    [CS_OP_READ] = {rv_read, "READ(raw)"},
    [CS_OP_WRITE] = {rv_rofs, "WRITE(raw)"},
    [CS_OP_FLUSH] = {rv_flush_fsync, "FLUSH(raw)"},
    [CS_OP_RELEASE] = {rv_release, "RELEASE(raw)"},
    [CS_OP_FSYNC] = {rv_flush_fsync, "FSYNC(raw)"},
    [CS_OP_OPENDIR] = {rv_open, "OPENDIR(raw)"},
    [CS_OP_READDIR] = {rv_readdir, "READDIR(raw)"},
    [CS_OP_READDIRPLUS] = {rv_readdir, "READDIRPLUS(raw)"},
    [CS_OP_RELEASEDIR] = {rv_release, "RELEASEDIR(raw)"},
    [CS_OP_FSYNCDIR] = {rv_flush_fsync, "FSYNCDIR(raw)"},
    [CS_OP_STATFS] = {rv_statfs, "STATFS(raw)"},
    [CS_OP_SETXATTR] = {rv_rofs, "SETXATTR(raw)"},
    [CS_OP_GETXATTR] = {rv_getxattr, "GETXATTR(raw)"},
    [CS_OP_LISTXATTR] = {rv_listxattr, "LISTXATTR(raw)"},
    [CS_OP_REMOVEXATTR] = {rv_rofs, "REMOVEXATTR(raw)"},
    [CS_OP_CREATE] = {rv_rofs, "CREATE(raw)"},
    [CS_OP_FALLOCATE] = {rv_rofs, "FALLOCATE(raw)"},
    [CS_OP_LSEEK] = {rv_lseek, "LSEEK(raw)"},
};
