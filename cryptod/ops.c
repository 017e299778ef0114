/* SPDX-License-Identifier: MIT */
/*
 * The op dispatch table and every filesystem operation of proto/wire.h.
 *
 * Path safety: every lower access is relative to a directory fd we hold,
 * with a single-component lower name (no '/', never . or ..: encoded names
 * cannot be); lookups go through openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) with O_PATH|O_NOFOLLOW, so a symlink or a '..' in the
 * lower tree never takes us outside it.
 *
 * Argument blocks were copied to private memory by the worker; every length
 * inside them is checked by subtraction against arg_len before use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cd_sandbox.h"
#include "cryptod.h"
#include "fmt.h"
#include "log.h"

/* FUSE_SET_ATTR_* (fuse_lowlevel.h / fuse_kernel.h FATTR_*). */
#define SA_MODE	     (1u << 0)
#define SA_UID	     (1u << 1)
#define SA_GID	     (1u << 2)
#define SA_SIZE	     (1u << 3)
#define SA_ATIME     (1u << 4)
#define SA_MTIME     (1u << 5)
#define SA_ATIME_NOW (1u << 7)
#define SA_MTIME_NOW (1u << 8)
#define SA_CTIME     (1u << 10)

/* --- helpers ------------------------------------------------------------ */

void *cd_reply_buf(struct cd_req *r, uint32_t len)
{
	if (len > r->slot_size)
		return NULL;
	r->cqe.data_off = 0;
	r->cqe.data_len = len;
	return r->slot;
}

/* Copies the fixed head (len bytes) of the argument block into head;
 * 0 or -EINVAL (the block is shorter). */
static int arg_head(const struct cd_req *r, void *head, uint32_t len)
{
	if (r->arg_len < len)
		return -EINVAL;
	memcpy(head, r->arg, len);
	return 0;
}

/* 0 if the pieces after a head of hlen bytes (arg_head() checked it is
 * there), a then b bytes (b = 0 for one piece), fill the rest of the
 * argument block exactly; else -EINVAL. */
static int arg_rest(const struct cd_req *r, uint32_t hlen, uint32_t a,
		    uint32_t b)
{
	uint32_t rest = r->arg_len - hlen;
	return a <= rest && b == rest - a ? 0 : -EINVAL;
}

/* Takes a [len32][bytes] free-form piece from the argument block. */
static int arg_take(struct cd_req *r, uint32_t *pos, uint32_t len,
		    const void **out)
{
	if (*pos > r->arg_len || len > r->arg_len - *pos)
		return -EINVAL;
	*out = r->arg + *pos;
	*pos += len;
	return 0;
}

static int open_beneath(int dirfd, const char *name, uint64_t flags)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int lstat_node(struct cd_inode *n, struct stat *st)
{
	if (fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static void proc_path(char *p, size_t cap, int fd)
{
	snprintf(p, cap, "/proc/self/fd/%d", fd);
}

/* FUSE_HANDLE_KILLPRIV_V2 (CS_F_KILL_SUIDGID, CS_SA_KILL_SUIDGID): clears
 * S_ISUID, and S_ISGID when S_IXGRP is set (the kernel's rule), of regular
 * file n whose lower mode is st->st_mode, through the open fd, or with
 * fd < 0 through n's path; st->st_mode follows. The lower mode is the
 * file's mode, so the change persists. 1 changed, 0 nothing to clear, or
 * -errno. */
static int kill_suidgid(struct cd_inode *n, int fd, struct stat *st)
{
	mode_t m = st->st_mode & ~(mode_t)S_ISUID;
	char pp[64];
	int rc;
	if (m & S_IXGRP)
		m &= ~(mode_t)S_ISGID;
	if (!S_ISREG(st->st_mode) || m == st->st_mode)
		return 0;
	if (fd >= 0) {
		rc = fchmod(fd, m & 07777);
	} else {
		proc_path(pp, sizeof(pp), n->fd);
		rc = chmod(pp, m & 07777);
	}
	if (rc < 0)
		return -errno;
	st->st_mode = m;
	return 1;
}

/* Fills attributes from a lower stat; sizes become plaintext sizes,
 * except in the encrypted view (lower sizes, as on disk). */
static void fill_attr(struct cd_req *r, struct cd_inode *n,
		      const struct stat *st, struct cs_attr *a)
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
	if (cd.encrypted_view || !n)
		return;
	if (S_ISREG(st->st_mode)) {
		uint64_t sz = 0;
		if (cd_file_size(r->w, n, st, &sz) == 0)
			a->size = sz;
		else
			a->size = 0;
	} else if (S_ISLNK(st->st_mode)) {
		char enc[PATH_MAX], dec[PATH_MAX];
		ssize_t l = readlinkat(n->fd, "", enc, sizeof(enc));
		if (l > 0) {
			int d = cd_target_dec(enc, (size_t)l, dec, sizeof(dec));
			if (d >= 0)
				a->size = (uint64_t)d;
		}
	}
}

/* The node of lower entry lname in directory p, with one more lookup and
 * a use reference (cd_inode_put()), and its lower stat; NULL with
 * errno-style *err. */
static struct cd_inode *lookup_node(struct cd_inode *p, const char *lname,
				    struct stat *st, int *err)
{
	int fd = open_beneath(p->fd, lname, O_PATH | O_NOFOLLOW);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		*err = -errno;
		close(fd);
		return NULL;
	}
	return cd_inode_lookup_fd(fd, st, err);
}

int cd_lookup_entry(struct cd_req *r, struct cd_inode *p, const char *lname,
		    struct cs_entry *e)
{
	struct stat st;
	int err = 0;
	struct cd_inode *n = lookup_node(p, lname, &st, &err);
	if (!n)
		return err;
	uint8_t tag[FMT_BIND_LEN];
	if (S_ISREG(st.st_mode) && !cd.encrypted_view &&
	    cd_bind_tag(p, lname, tag) == 0)
		cd_inode_bind(n, tag); /* the name its header must carry */
	memset(e, 0, sizeof(*e));
	e->nodeid = n->nodeid;
	fill_attr(r, n, &st, &e->attr);
	cd_inode_put(n);
	return 0;
}

/* Parses "name" at [pos, pos + len) of the argument block into its lower
 * form in dir (in the encrypted view: the lower name itself). */
static int arg_name(struct cd_req *r, uint32_t pos, uint32_t len,
		    struct cd_inode *dir, struct cd_lname *ln)
{
	const void *name;
	int rc = arg_take(r, &pos, len, &name);
	if (rc < 0)
		return rc;
	if (cd.encrypted_view)
		return cd_rawview_name(name, len, ln);
	return cd_name_to_lower(dir, name, len, ln);
}

/* Gives a node created by us to the caller (we may run as root). */
static void chown_new(struct cd_req *r, int dirfd, const char *lname)
{
	if (geteuid() != 0 && !cd_chown_callers) /* cd_sandbox.h */
		return;
	if (r->sqe.uid == geteuid() && r->sqe.gid == getegid())
		return;
	if (fchownat(dirfd, lname, r->sqe.uid, r->sqe.gid,
		     AT_SYMLINK_NOFOLLOW) < 0)
		log_debug("chown new node: %s", strerror(errno));
}

/* --- ops ------------------------------------------------------------------ */

int cd_op_lookup(struct cd_req *r)
{
	struct cd_inode *p = cd_inode_get(r->sqe.ino);
	struct cd_lname ln;
	struct cs_entry e;
	int rc;
	if (!p)
		return -ESTALE;
	if (p->type != S_IFDIR) {
		rc = -ENOTDIR;
		goto out;
	}
	rc = arg_name(r, 0, r->arg_len, p, &ln);
	if (rc < 0)
		goto out;
	rc = cd_lookup_entry(r, p, ln.name, &e);
	if (rc < 0)
		goto out;
	void *b = cd_reply_buf(r, sizeof(e));
	memcpy(b, &e, sizeof(e));
out:
	cd_inode_put(p);
	return rc;
}

int cd_op_getattr(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	struct stat st;
	struct cs_attr a;
	int rc;
	if (!n)
		return -ESTALE;
	rc = lstat_node(n, &st);
	if (rc < 0)
		goto out;
	fill_attr(r, n, &st, &a);
	memcpy(cd_reply_buf(r, sizeof(a)), &a, sizeof(a));
out:
	cd_inode_put(n);
	return rc;
}

static int op_setattr(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	struct cs_setattr_arg sa;
	struct stat st;
	struct cs_attr a;
	char pp[64];
	int rc = 0;
	if (!n)
		return -ESTALE;
	if (r->arg_len != sizeof(sa)) {
		rc = -EINVAL;
		goto out;
	}
	memcpy(&sa, r->arg, sizeof(sa));
	proc_path(pp, sizeof(pp), n->fd);
	/* The stat before a size-keeping change: its cached plaintext size
	 * moves to the new lower ctime (cd_size_rekey). */
	struct stat before;
	bool keep = n->type == S_IFREG && !(sa.valid & SA_SIZE) &&
		    lstat_node(n, &before) == 0;
	if (sa.valid & SA_MODE) {
		if (n->type == S_IFLNK) {
			rc = -EOPNOTSUPP;
			goto out;
		}
		if (chmod(pp, sa.mode & 07777) < 0) {
			rc = -errno;
			goto out;
		}
	}
	if (sa.valid & (SA_UID | SA_GID)) {
		uid_t u = (sa.valid & SA_UID) ? sa.uid : (uid_t)-1;
		gid_t g = (sa.valid & SA_GID) ? sa.gid : (gid_t)-1;
		if (fchownat(n->fd, "", u, g,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			goto out;
		}
	}
	if ((sa.valid & CS_SA_KILL_SUIDGID) && n->type == S_IFREG) {
		/* after the chown (which may have cleared them already),
		 * before the truncate (its size bookkeeping sees the last
		 * ctime change) */
		rc = lstat_node(n, &st);
		if (rc == 0)
			rc = kill_suidgid(n, -1, &st);
		if (rc < 0)
			goto out;
		rc = 0;
	}
	if (sa.valid & SA_SIZE) {
		if (n->type == S_IFDIR) {
			rc = -EISDIR;
			goto out;
		}
		if (n->type != S_IFREG) {
			rc = -EINVAL;
			goto out;
		}
		struct cd_file *f;
		rc = cd_file_get(r->w, n, &f);
		if (rc < 0)
			goto out;
		rc = cd_file_truncate(r->w, f, sa.size);
		cd_file_put(r->w, n, f);
		if (rc < 0)
			goto out;
	}
	if (sa.valid & (SA_ATIME | SA_MTIME | SA_ATIME_NOW | SA_MTIME_NOW)) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
					 {.tv_nsec = UTIME_OMIT}};
		if (sa.valid & SA_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (sa.valid & SA_ATIME)
			ts[0] = (struct timespec){sa.atime, sa.atime_nsec};
		if (sa.valid & SA_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (sa.valid & SA_MTIME)
			ts[1] = (struct timespec){sa.mtime, sa.mtime_nsec};
		int u = n->type == S_IFLNK
			    ? utimensat(n->fd, "", ts,
					AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
			    : utimensat(AT_FDCWD, pp, ts, 0);
		if (u < 0) {
			rc = -errno;
			goto out;
		}
	}
	if (n->type == S_IFREG)
		cd_file_atime_due(n); /* new times, mode or owner */
	rc = lstat_node(n, &st);
	if (rc < 0)
		goto out;
	if (keep)
		cd_size_rekey(&before, &st);
	fill_attr(r, n, &st, &a);
	memcpy(cd_reply_buf(r, sizeof(a)), &a, sizeof(a));
out:
	cd_inode_put(n);
	return rc;
}

/* READLINK: the decrypted target (encrypted view: the lower one). */
int cd_op_readlink(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	char enc[PATH_MAX];
	int rc;
	if (!n)
		return -ESTALE;
	if (n->type != S_IFLNK) {
		rc = -EINVAL;
		goto out;
	}
	ssize_t l = readlinkat(n->fd, "", enc, sizeof(enc));
	if (l < 0) {
		rc = -errno;
		goto out;
	}
	char *b = cd_reply_buf(r, CS_SYMLINK_MAX);
	if (cd.encrypted_view) {
		/* the lower (encrypted) target as it is */
		if ((size_t)l > CS_SYMLINK_MAX) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		memcpy(b, enc, (size_t)l);
		rc = (int)l;
	} else {
		rc = cd_target_dec(enc, (size_t)l, b, CS_SYMLINK_MAX);
		if (rc < 0) {
			log_warnx("undecryptable symlink target (lower ino "
				  "%llu)",
				  (unsigned long long)n->ino);
			rc = -EIO;
			goto out;
		}
	}
	r->cqe.data_len = (uint32_t)rc;
	rc = 0;
out:
	cd_inode_put(n);
	return rc;
}

/* Parses the argument of CREATE/MKNOD/MKDIR (struct cs_create_arg, then
 * the name spanning the rest) into ca and the name's lower form in p;
 * 0 or -errno. */
static int create_args(struct cd_req *r, struct cd_inode *p,
		       struct cs_create_arg *ca, struct cd_lname *ln)
{
	int rc = arg_head(r, ca, sizeof(*ca));
	if (rc == 0)
		rc = arg_rest(r, sizeof(*ca), ca->namelen, 0);
	if (rc < 0)
		return rc;
	return arg_name(r, sizeof(*ca), ca->namelen, p, ln);
}

/* Finishes a name-creating op: looks the new entry up and replies. */
static int reply_entry(struct cd_req *r, struct cd_inode *p,
		       const struct cd_lname *ln, uint32_t extra)
{
	struct cs_entry e;
	int rc = cd_lookup_entry(r, p, ln->name, &e);
	if (rc < 0)
		return rc;
	void *b = cd_reply_buf(r, sizeof(e) + extra);
	if (!b)
		return -EOVERFLOW;
	memcpy(b, &e, sizeof(e));
	return 0;
}

/* Creates an encrypted empty regular file at ln in p. The header is
 * written into an O_TMPFILE first and the file linked in complete, so a
 * crash never leaves a header-less lower file (FORMAT.md "Create"); where
 * the lower filesystem has no O_TMPFILE the file is created in place. An
 * existing entry is left alone (excl: -EEXIST). */
static int create_regular(struct cd_req *r, struct cd_inode *p,
			  const struct cd_lname *ln, mode_t mode, bool excl,
			  int *keep)
{
	bool side = false, made = false;
	int rc = 0, fd = -1;
	uint8_t tag[FMT_BIND_LEN];
	mode &= 07777;
	rc = cd_bind_tag(p, ln->name, tag);
	if (rc < 0)
		return rc;
	if (ln->is_long) {
		rc = cd_longname_store(p->fd, ln, &side);
		if (rc < 0)
			return rc;
	}
	fd = openat(p->fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode | 0600);
	if (fd >= 0) {
		char pp[64];
		rc = cd_file_init_new(r->w, fd, tag);
		if (rc == 0 && (geteuid() == 0 || cd_chown_callers) &&
		    (r->sqe.uid != geteuid() || r->sqe.gid != getegid()) &&
		    fchown(fd, r->sqe.uid, r->sqe.gid) < 0)
			rc = -errno;
		if (rc == 0 && fchmod(fd, mode) < 0)
			rc = -errno;
		if (rc < 0)
			goto out;
		/* Linux 6.10+ links a file its opener holds by fd; older
		 * kernels want CAP_DAC_READ_SEARCH for that, so fall back
		 * on the /proc path there (a slower walk). */
		int lr = linkat(fd, "", p->fd, ln->name, AT_EMPTY_PATH);
		if (lr < 0 && (errno == ENOENT || errno == EPERM)) {
			proc_path(pp, sizeof(pp), fd);
			lr = linkat(AT_FDCWD, pp, p->fd, ln->name,
				    AT_SYMLINK_FOLLOW);
		}
		if (lr < 0) {
			rc = -errno;
			if (rc == -EEXIST && !excl)
				rc = 0; /* someone else's: open that one */
			goto out;
		}
		made = true;
		goto out;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		rc = -errno;
		goto out;
	}
	fd = openat(p->fd, ln->name,
		    O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC,
		    mode | 0600);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EEXIST && !excl)
			rc = 0;
		goto out;
	}
	made = true;
	rc = cd_file_init_new(r->w, fd, tag);
	if (rc < 0) {
		unlinkat(p->fd, ln->name, 0);
		made = false;
		goto out;
	}
	chown_new(r, p->fd, ln->name);
	if (fchmod(fd, mode) < 0)
		rc = -errno;
out:
	if (fd >= 0 && keep && made && rc == 0) {
		*keep = fd; /* the caller opens the new file through it */
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0 && side && !made)
		cd_longname_remove(p->fd, ln);
	return rc;
}

static int op_mknod_mkdir(struct cd_req *r)
{
	struct cd_inode *p = cd_inode_get(r->sqe.ino);
	struct cs_create_arg ca;
	struct cd_lname ln;
	bool side = false;
	int rc;
	if (!p)
		return -ESTALE;
	rc = create_args(r, p, &ca, &ln);
	if (rc < 0)
		goto out;
	mode_t mode = ca.mode & ~ca.umask & 07777;
	bool is_dir = r->sqe.op == CS_OP_MKDIR;
	if (!is_dir && S_ISREG(ca.mode)) {
		rc = create_regular(r, p, &ln, mode, true, NULL);
		if (rc == 0)
			rc = reply_entry(r, p, &ln, 0);
		goto out;
	}
	if (ln.is_long) {
		rc = cd_longname_store(p->fd, &ln, &side);
		if (rc < 0)
			goto out;
	}
	if (is_dir) {
		if (mkdirat(p->fd, ln.name, 0700) < 0) {
			rc = -errno;
			goto out;
		}
		int dfd = open_beneath(p->fd, ln.name,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		rc = dfd < 0 ? dfd : cd_dirid_create(dfd);
		if (rc == 0 && fchmod(dfd, mode) < 0)
			rc = -errno;
		if (dfd >= 0)
			close(dfd);
		if (rc < 0) {
			log_warnx("mkdir: dir id: %s", strerror(-rc));
			unlinkat(dfd >= 0 ? p->fd : p->fd, ln.name,
				 AT_REMOVEDIR);
			goto out;
		}
	} else {
		mode_t t = ca.mode & S_IFMT;
		if (t != S_IFIFO && t != S_IFSOCK && t != S_IFCHR &&
		    t != S_IFBLK) {
			rc = -EINVAL;
			goto out;
		}
		if (mknodat(p->fd, ln.name, t | mode, ca.rdev) < 0) {
			rc = -errno;
			goto out;
		}
	}
	chown_new(r, p->fd, ln.name);
	side = false; /* the entry exists now: keep its side file */
	rc = reply_entry(r, p, &ln, 0);
out:
	if (rc < 0 && side)
		cd_longname_remove(p->fd, &ln);
	cd_inode_put(p);
	return rc;
}

/* 0 if the lower directory holds only the volume's own files, else
 * -ENOTEMPTY (or -errno). */
static int dir_visible_empty(int dfd)
{
	int fd = dup(dfd);
	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -errno;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    cd_name_hidden(de->d_name) == 1)
			continue;
		rc = -ENOTEMPTY;
		break;
	}
	closedir(d);
	return rc;
}

static int op_unlink_rmdir(struct cd_req *r)
{
	struct cd_inode *p = cd_inode_get(r->sqe.ino);
	struct cd_lname ln;
	int rc, dfd = -1;
	if (!p)
		return -ESTALE;
	rc = arg_name(r, 0, r->arg_len, p, &ln);
	if (rc < 0)
		goto out;
	if (r->sqe.op == CS_OP_RMDIR) {
		uint8_t saved[CD_DIRID_LEN];
		dfd = open_beneath(p->fd, ln.name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (dfd < 0) {
			rc = dfd;
			goto out;
		}
		rc = dir_visible_empty(dfd);
		if (rc < 0)
			goto out;
		bool had = cd_dirid_remove(dfd, saved) == 0;
		if (unlinkat(p->fd, ln.name, AT_REMOVEDIR) < 0) {
			rc = -errno;
			if (had)
				cd_dirid_restore(dfd, saved);
			goto out;
		}
	} else {
		struct stat before, after;
		bool reg = fstatat(p->fd, ln.name, &before,
				   AT_SYMLINK_NOFOLLOW) == 0 &&
			   S_ISREG(before.st_mode);
		if (reg)
			cd_size_forget(before.st_dev, before.st_ino);
		if (unlinkat(p->fd, ln.name, 0) < 0) {
			rc = -errno;
			goto out;
		}
		/* A node still pins the inode (the kernel flushes its times
		 * with a SETATTR right after): keep its size cached. */
		struct cd_inode *n =
		    reg ? cd_inode_find(before.st_dev, before.st_ino) : NULL;
		struct cs_unlinked u;
		memset(&u, 0, sizeof(u));
		if (n && fstatat(n->fd, "", &after,
				 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0) {
			cd_size_rekey(&before, &after);
			/* its attributes now: the frontend answers that
			 * SETATTR itself when this was the last name */
			u.nodeid = n->nodeid;
			fill_attr(r, n, &after, &u.attr);
		}
		cd_inode_put(n);
		memcpy(cd_reply_buf(r, sizeof(u)), &u, sizeof(u));
	}
	if (ln.is_long)
		cd_longname_remove(p->fd, &ln);
out:
	if (dfd >= 0)
		close(dfd);
	cd_inode_put(p);
	return rc;
}

static int op_symlink(struct cd_req *r)
{
	struct cd_inode *p = cd_inode_get(r->sqe.ino);
	struct cs_symlink_arg sa;
	struct cd_lname ln;
	const void *tgt = NULL;
	char enc[PATH_MAX];
	bool side = false;
	int rc;
	if (!p)
		return -ESTALE;
	rc = arg_head(r, &sa, sizeof(sa));
	if (rc == 0)
		rc = arg_rest(r, sizeof(sa), sa.namelen, sa.targetlen);
	if (rc == 0 && (!sa.targetlen || sa.targetlen > CS_SYMLINK_MAX))
		rc = -EINVAL;
	if (rc < 0)
		goto out;
	uint32_t pos = sizeof(sa);
	rc = arg_name(r, pos, sa.namelen, p, &ln);
	if (rc < 0)
		goto out;
	pos += sa.namelen;
	rc = arg_take(r, &pos, sa.targetlen, &tgt);
	if (rc < 0)
		goto out;
	rc = cd_target_enc(tgt, sa.targetlen, enc, sizeof(enc));
	if (rc < 0)
		goto out;
	if (ln.is_long) {
		rc = cd_longname_store(p->fd, &ln, &side);
		if (rc < 0)
			goto out;
	}
	if (symlinkat(enc, p->fd, ln.name) < 0) {
		rc = -errno;
		goto out;
	}
	side = false;
	chown_new(r, p->fd, ln.name);
	rc = reply_entry(r, p, &ln, 0);
out:
	if (rc < 0 && side)
		cd_longname_remove(p->fd, &ln);
	cd_inode_put(p);
	return rc;
}

/* A plain rename of a directory over an empty one failed with err
 * because the lower target still holds its dir id file: when that is all
 * it holds, take the file out, retry, and put it back on failure. */
static int rename_over_dir(struct cd_inode *p, const struct cd_lname *ln,
			   struct cd_inode *np, const struct cd_lname *nln,
			   uint32_t flags, int err)
{
	struct stat sst, dst;
	uint8_t saved[CD_DIRID_LEN];
	if (flags & (RENAME_EXCHANGE | RENAME_NOREPLACE))
		return err;
	if (fstatat(np->fd, nln->name, &dst, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(dst.st_mode) ||
	    fstatat(p->fd, ln->name, &sst, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(sst.st_mode))
		return err;
	int tfd = open_beneath(np->fd, nln->name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (tfd < 0)
		return err;
	int rc = dir_visible_empty(tfd);
	if (rc == 0) {
		bool had = cd_dirid_remove(tfd, saved) == 0;
		if (renameat2(p->fd, ln->name, np->fd, nln->name, flags) < 0) {
			rc = -errno;
			if (had)
				cd_dirid_restore(tfd, saved);
		}
	}
	close(tfd);
	return rc;
}

/* A regular file taking part in a rename or link, opened so that its size
 * slots can be rebound (FORMAT.md "Name binding"). */
struct bind_side {
	struct cd_inode *n; /* use reference */
	struct cd_file *f;
	bool forget; /* we added the lookup that made n */
	nlink_t nlink;
	uint8_t old[FMT_BIND_LEN], tag[FMT_BIND_LEN];
};

/* Sets b->old to the tag of lname in dir and opens the regular file there
 * (if it is one: else b->f stays NULL). 0 or -errno (e.g.
 * -EACCES: no key of this mount opens it, so it cannot be rebound). */
static int bind_open(struct cd_req *r, struct cd_inode *dir, const char *lname,
		     struct bind_side *b)
{
	struct stat st;
	memset(b, 0, sizeof(*b));
	if (fstatat(dir->fd, lname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* the tag of this name also when it is not a file: a file that a
	 * RENAME_EXCHANGE moves here is bound to it */
	int rc = cd_bind_tag(dir, lname, b->old);
	if (rc < 0 || !S_ISREG(st.st_mode))
		return rc;
	b->nlink = st.st_nlink;
	b->n = cd_inode_find(st.st_dev, st.st_ino);
	if (!b->n) {
		int fd = open_beneath(dir->fd, lname, O_PATH | O_NOFOLLOW);
		if (fd < 0)
			return fd;
		b->n = cd_inode_lookup_fd(fd, &st, &rc);
		if (!b->n)
			return rc;
		b->forget = true;
		cd_inode_bind(b->n, b->old);
	}
	rc = cd_file_get(r->w, b->n, &b->f);
	if (rc < 0)
		b->f = NULL;
	return rc;
}

static void bind_close(struct cd_req *r, struct bind_side *b)
{
	if (b->f)
		cd_file_put(r->w, b->n, b->f);
	if (b->n && b->forget)
		cd_inode_forget(b->n->nodeid, 1);
	cd_inode_put(b->n);
	memset(b, 0, sizeof(*b));
}

/* Rebinds b's file to tag (or leaves it if it is not a regular file). */
static int bind_write(struct cd_req *r, struct bind_side *b, const uint8_t *tag)
{
	return b->f ? cd_file_rebind(r->w, b->f, tag) : 0;
}

/* A rename holds the files' locks from its first slot write through the
 * lower renameat: a size commit of a writer of the same open file in
 * between would write the new name's tag into the older slot too, and a
 * kill -9 before the renameat would leave the file at its old name with
 * both slots naming the new one (EIO until fsck --repair). Taken in
 * address order (two renames may exchange the same two files); no inode
 * lock is taken while they are held (inode locks come first). */
static void bind_lock(struct bind_side *a, struct bind_side *b, bool lock)
{
	struct cd_file *x = a->f, *y = b->f;
	if (x && y && (uintptr_t)y < (uintptr_t)x) {
		x = b->f;
		y = a->f;
	}
	if (y == x)
		y = NULL;
	if (lock) {
		if (x)
			pthread_mutex_lock(&x->lock);
		if (y)
			pthread_mutex_lock(&y->lock);
	} else {
		if (y)
			pthread_mutex_unlock(&y->lock);
		if (x)
			pthread_mutex_unlock(&x->lock);
	}
}

/* bind_write() with b's file locked by bind_lock(). */
static int bind_write_locked(struct cd_req *r, struct bind_side *b,
			     const uint8_t *tag)
{
	return b->f ? cd_file_rebind_locked(r->w, b->f, tag) : 0;
}

static int op_rename(struct cd_req *r)
{
	struct cs_rename_arg ra;
	struct cd_inode *p = cd_inode_get(r->sqe.ino), *np = NULL;
	struct cd_lname ln, nln;
	struct bind_side bs = {0}, bd = {0};
	bool side = false;
	int rc;
	if (!p)
		return -ESTALE;
	rc = arg_head(r, &ra, sizeof(ra));
	if (rc == 0)
		rc = arg_rest(r, sizeof(ra), ra.namelen, ra.newnamelen);
	if (rc == 0 && (ra.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)))
		rc = -EINVAL;
	if (rc < 0)
		goto out;
	uint32_t pos = sizeof(ra);
	np = cd_inode_get(ra.newparent);
	if (!np) {
		rc = -ESTALE;
		goto out;
	}
	rc = arg_name(r, pos, ra.namelen, p, &ln);
	if (rc < 0)
		goto out;
	rc = arg_name(r, pos + ra.namelen, ra.newnamelen, np, &nln);
	if (rc < 0)
		goto out;
	if (nln.is_long && !(ra.flags & RENAME_EXCHANGE)) {
		rc = cd_longname_store(np->fd, &nln, &side);
		if (rc < 0)
			goto out;
	}
	/* Name binding: the moved file(s) are rebound to their new names
	 * before the lower rename and again after it, so that after a crash
	 * a file opens under whichever name it has (FORMAT.md). A hard-
	 * linked file is unbound (it has several names). */
	uint8_t ntag[FMT_BIND_LEN];
	rc = cd_bind_tag(np, nln.name, ntag);
	if (rc < 0)
		goto out;
	rc = bind_open(r, p, ln.name, &bs);
	if (rc == 0 && (ra.flags & RENAME_EXCHANGE))
		rc = bind_open(r, np, nln.name, &bd);
	if (rc < 0)
		goto out;
	if (bd.n && bd.n == bs.n)
		bind_close(r, &bd); /* two links of one inode: unbound */
	memcpy(bs.tag, ntag, FMT_BIND_LEN);
	memcpy(bd.tag, bs.old, FMT_BIND_LEN);
	if (bs.nlink > 1)
		memset(bs.tag, 0, FMT_BIND_LEN);
	if (bd.nlink > 1)
		memset(bd.tag, 0, FMT_BIND_LEN);
	bind_lock(&bs, &bd, true);
	rc = bind_write_locked(r, &bs, bs.tag);
	if (rc == 0)
		rc = bind_write_locked(r, &bd, bd.tag);
	if (rc < 0) {
		bind_lock(&bs, &bd, false);
		goto unbind;
	}
	if (!(ra.flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)))
		cd_size_forget_name(np->fd, nln.name);
	struct stat before, after;
	bool reg = !(ra.flags & RENAME_EXCHANGE) &&
		   fstatat(p->fd, ln.name, &before, AT_SYMLINK_NOFOLLOW) == 0 &&
		   S_ISREG(before.st_mode);
	if (renameat2(p->fd, ln.name, np->fd, nln.name, ra.flags) < 0) {
		rc = -errno;
		if (rc == -ENOTEMPTY || rc == -EEXIST)
			rc = rename_over_dir(p, &ln, np, &nln, ra.flags, rc);
	}
	bind_lock(&bs, &bd, false);
	if (rc < 0)
		goto unbind;
	/* Second write: both slots name the new name now. */
	if (bind_write(r, &bs, bs.tag) < 0 || bind_write(r, &bd, bd.tag) < 0)
		log_warnx("rename: second binding write failed");
	if (bs.n)
		cd_inode_bind(bs.n, bs.tag);
	if (bd.n)
		cd_inode_bind(bd.n, bd.tag);
	/* The moved file's ctime changed, its size did not. */
	if (reg && fstatat(np->fd, nln.name, &after, AT_SYMLINK_NOFOLLOW) == 0)
		cd_size_rekey(&before, &after);
	rc = 0;
	side = false;
	/* The old side file goes with the old name, unless the name still
	 * exists (rename of a name onto itself or onto another hard link of
	 * the same inode is a no-op). */
	struct stat ost;
	if (ln.is_long && !(ra.flags & RENAME_EXCHANGE) &&
	    fstatat(p->fd, ln.name, &ost, AT_SYMLINK_NOFOLLOW) < 0)
		cd_longname_remove(p->fd, &ln);
	goto out;
unbind:
	/* The rename did not happen: back to the old names (twice, so the
	 * older slot does not name the new one). */
	for (int k = 0; k < 2; k++) {
		bind_write(r, &bs, bs.nlink > 1 ? bs.tag : bs.old);
		bind_write(r, &bd, bd.nlink > 1 ? bd.tag : bd.old);
	}
out:
	bind_close(r, &bd);
	bind_close(r, &bs);
	if (rc < 0 && side)
		cd_longname_remove(np->fd, &nln);
	cd_inode_put(np);
	cd_inode_put(p);
	return rc;
}

static int op_link(struct cd_req *r)
{
	struct cs_link_arg la;
	struct cd_inode *n = cd_inode_get(r->sqe.ino), *np = NULL;
	struct cd_lname nln;
	char pp[64];
	bool side = false;
	int rc;
	if (!n)
		return -ESTALE;
	rc = arg_head(r, &la, sizeof(la));
	if (rc == 0)
		rc = arg_rest(r, sizeof(la), la.namelen, 0);
	if (rc < 0)
		goto out;
	if (n->type == S_IFDIR) {
		rc = -EPERM;
		goto out;
	}
	np = cd_inode_get(la.newparent);
	if (!np) {
		rc = -ESTALE;
		goto out;
	}
	rc = arg_name(r, sizeof(la), la.namelen, np, &nln);
	if (rc < 0)
		goto out;
	if (nln.is_long) {
		rc = cd_longname_store(np->fd, &nln, &side);
		if (rc < 0)
			goto out;
	}
	/* A file with two names cannot be bound to one: unbind it (both
	 * slots) before the second name appears (FORMAT.md). */
	if (n->type == S_IFREG) {
		static const uint8_t zero[FMT_BIND_LEN];
		struct cd_file *f = NULL;
		rc = cd_file_get(r->w, n, &f);
		for (int k = 0; k < 2 && rc == 0; k++)
			rc = cd_file_rebind(r->w, f, zero);
		if (f)
			cd_file_put(r->w, n, f);
		if (rc < 0)
			goto out;
	}
	/* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the magic link
	 * with AT_SYMLINK_FOLLOW works for everyone (passthrough_ll). */
	proc_path(pp, sizeof(pp), n->fd);
	struct stat before, after;
	bool reg = n->type == S_IFREG && lstat_node(n, &before) == 0;
	if (linkat(AT_FDCWD, pp, np->fd, nln.name, AT_SYMLINK_FOLLOW) < 0) {
		rc = -errno;
		goto out;
	}
	if (reg && lstat_node(n, &after) == 0)
		cd_size_rekey(&before, &after);
	side = false;
	rc = reply_entry(r, np, &nln, 0);
out:
	if (rc < 0 && side)
		cd_longname_remove(np->fd, &nln);
	cd_inode_put(np);
	cd_inode_put(n);
	return rc;
}

/* Truncates open file h to 0 for an O_TRUNC open, clearing suid/sgid when
 * the kernel asked (CS_F_KILL_SUIDGID); *mode (may be NULL) gets the mode
 * after. 0 or -errno. */
static int open_trunc(struct cd_req *r, struct cd_handle *h, uint32_t *mode)
{
	struct stat st;
	int rc = cd_file_truncate(r->w, h->f, 0);
	if (rc < 0 || !(r->sqe.flags & CS_F_KILL_SUIDGID))
		return rc;
	if (fstat(h->f->fd_buf, &st) < 0)
		return -errno;
	rc = kill_suidgid(h->n, h->f->fd_buf, &st);
	if (rc < 0)
		return rc;
	if (mode)
		*mode = st.st_mode;
	return 0;
}

/* Gives handle h of a regular file its open state, with the records seal
 * verified, and truncates the file for O_TRUNC with write access; 0 or
 * -errno. */
static int open_file(struct cd_req *r, struct cd_handle *h, uint32_t flags,
		     int fd)
{
	int rc = cd_file_get_fd(r->w, h->n, fd, &h->f);
	if (rc == 0)
		rc = cd_file_verify(r->w, h->f);
	if (rc == 0 && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		rc = open_trunc(r, h, NULL);
	return rc;
}

/* The reply to an open of h. Every change goes through this mount, so the
 * kernel's cache of the plaintext stays valid across opens (the frontend
 * drops the flag when the lower directory is shared); not so for the
 * encrypted view (no cd_file): the lower tree may change under a backup
 * view (another mount of the volume). */
static struct cs_open_reply open_reply(const struct cd_handle *h)
{
	return (struct cs_open_reply){
	    .fh = h->fh,
	    .open_flags = h->f ? CS_OPEN_KEEP_CACHE : 0,
	};
}

static int op_create(struct cd_req *r)
{
	struct cd_inode *p = cd_inode_get(r->sqe.ino), *n = NULL;
	struct cs_create_arg ca;
	struct cd_lname ln;
	struct cs_entry e;
	struct cd_handle *h = NULL;
	int rc, nfd = -1;
	if (!p)
		return -ESTALE;
	rc = create_args(r, p, &ca, &ln);
	if (rc < 0)
		goto out;
	rc = create_regular(r, p, &ln, ca.mode & ~ca.umask & 07777,
			    (ca.flags & O_EXCL) != 0, &nfd);
	if (rc < 0)
		goto out;
	/* As cd_lookup_entry(), but the file is opened before its attributes
	 * are filled: the size then comes from the open file (no second
	 * header load). */
	struct stat st;
	n = lookup_node(p, ln.name, &st, &rc);
	if (!n)
		goto out;
	memset(&e, 0, sizeof(e));
	e.nodeid = n->nodeid;
	if (n->type != S_IFREG) {
		rc = -EISDIR;
		goto undo;
	}
	uint8_t tag[FMT_BIND_LEN];
	rc = cd_bind_tag(p, ln.name, tag);
	if (rc < 0)
		goto undo;
	cd_inode_bind(n, tag);
	h = cd_handle_new(n);
	if (!h) {
		rc = -ENOMEM;
		goto undo;
	}
	h->noatime = (ca.flags & O_NOATIME) != 0;
	rc = open_file(r, h, 0, nfd);
	nfd = -1;
	if (rc < 0)
		goto undo;
	fill_attr(r, n, &st, &e.attr);
	if ((ca.flags & O_TRUNC) && (ca.flags & O_ACCMODE) != O_RDONLY) {
		rc = open_trunc(r, h, &e.attr.mode);
		if (rc < 0)
			goto undo;
		e.attr.size = 0;
	}
	uint8_t *b = cd_reply_buf(r, sizeof(e) + sizeof(struct cs_open_reply));
	struct cs_open_reply orep = open_reply(h);
	memcpy(b, &e, sizeof(e));
	memcpy(b + sizeof(e), &orep, sizeof(orep));
	h = NULL;
	goto out;
undo:
	/* The kernel will not see this entry: drop the lookup we took. */
	cd_inode_forget(e.nodeid, 1);
out:
	if (nfd >= 0)
		close(nfd);
	if (h) {
		cd_handle_remove(h->fh, h->n->nodeid);
		cd_handle_free(r->w, h);
	}
	cd_inode_put(n);
	cd_inode_put(p);
	return rc;
}

int cd_op_open(struct cd_req *r)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	struct cs_open_arg oa;
	struct cd_handle *h = NULL;
	int rc = 0;
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
	h = cd_handle_new(n);
	if (!h) {
		rc = -ENOMEM;
		goto out;
	}
	/* the opener's O_NOATIME (the frontend adds it on a ro mount) */
	h->noatime = (oa.flags & O_NOATIME) != 0;
	if (cd.encrypted_view)
		rc = cd_rawview_open(h, oa.flags);
	else if (!dir)
		rc = open_file(r, h, oa.flags, -1);
	if (rc < 0)
		goto out;
	struct cs_open_reply orep = open_reply(h);
	memcpy(cd_reply_buf(r, sizeof(orep)), &orep, sizeof(orep));
	h = NULL;
out:
	if (h) {
		cd_handle_remove(h->fh, h->n->nodeid);
		cd_handle_free(r->w, h);
	}
	cd_inode_put(n);
	return rc;
}

static struct cd_handle *file_handle(struct cd_req *r)
{
	struct cd_handle *h = cd_handle_find(r->sqe.fh, r->sqe.ino);
	return h && h->f ? h : NULL;
}

static int op_read(struct cd_req *r)
{
	struct cd_handle *h = file_handle(r);
	if (!h)
		return -EBADF;
	uint8_t *dst = cd_reply_buf(r, r->slot_size);
	uint32_t doff = 0;
	ssize_t n = cd_file_read(r->w, h->f, dst, r->slot_size, r->sqe.len,
				 r->sqe.off, &doff);
	if (n < 0)
		return (int)n;
	if (!h->noatime)
		cd_file_accessed(h->f);
	r->cqe.data_off = doff;
	r->cqe.data_len = (uint32_t)n;
	return (int)n;
}

static int op_write(struct cd_req *r)
{
	struct cd_handle *h = file_handle(r);
	if (!h)
		return -EBADF;
	if (r->sqe.len > r->slot_size - r->sqe.arg_off ||
	    r->sqe.arg_len < r->sqe.len)
		return -EINVAL;
	/* Writeback cache: the kernel sends the times it wants in SETATTR,
	 * possibly before this write-back; keep the lower mtime as it was. */
	struct stat st;
	bool keep = r->sqe.flags & CS_F_KEEP_MTIME;
	bool kill = r->sqe.flags & CS_F_KILL_SUIDGID;
	if ((keep || kill) && fstat(h->f->fd_buf, &st) < 0) {
		if (kill)
			return -errno;
		keep = false;
	}
	/* The privileges go first, as file_remove_privs() does before a
	 * write. The kernel flags every write-through by a caller without
	 * CAP_FSETID: one fstat each, a chmod only when a bit is set. */
	if (kill) {
		int rc = kill_suidgid(h->n, h->f->fd_buf, &st);
		if (rc < 0)
			return rc;
		/* A WRITE reply carries no attributes: the frontend tells
		 * the kernel its cached mode is stale. */
		r->cqe.val = rc ? CS_WRITE_MODE_CHANGED : 0;
	}
	ssize_t n = cd_file_write(r->w, h->f, r->slot + r->sqe.arg_off,
				  r->sqe.len, r->sqe.off);
	if (keep && n > 0) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, st.st_mtim};
		if (futimens(h->f->fd_buf, ts) < 0)
			log_warn("write: keeping the lower mtime");
	}
	return (int)n;
}

static int op_fsync(struct cd_req *r)
{
	struct cd_handle *h = cd_handle_find(r->sqe.fh, r->sqe.ino);
	bool ds = r->sqe.flags & CS_F_DATASYNC;
	if (!h)
		return -EBADF;
	if (h->f)
		return cd_io_fsync(r->w, h->f->fd, ds);
	int fd = cd_inode_reopen(h->n, O_RDONLY);
	if (fd < 0)
		return fd;
	int rc = cd_io_fsync(r->w, fd, ds);
	close(fd);
	return rc;
}

int cd_statfs_reply(struct cd_req *r, uint64_t namemax, uint64_t flags)
{
	struct statfs s;
	if (fstatfs(cd.lower_fd, &s) < 0)
		return -errno;
	struct cs_statfs o = {
	    .bsize = (uint64_t)s.f_bsize,
	    .frsize = s.f_frsize ? (uint64_t)s.f_frsize : (uint64_t)s.f_bsize,
	    .blocks = s.f_blocks,
	    .bfree = s.f_bfree,
	    .bavail = s.f_bavail,
	    .files = s.f_files,
	    .ffree = s.f_ffree,
	    .favail = s.f_ffree,
	    .fsid = 0,
	    .flag = (uint64_t)s.f_flags | flags,
	    .namemax = namemax,
	};
	memcpy(cd_reply_buf(r, sizeof(o)), &o, sizeof(o));
	return 0;
}

static int op_statfs(struct cd_req *r)
{
	return cd_statfs_reply(r, cd_name_max(), 0);
}

/* --- xattrs ----------------------------------------------------------- */

#define XLNAME_MAX 256u
#define XVAL_MAX   (CS_XATTR_SIZE_MAX + 64u)

static int xattr_node(struct cd_req *r, struct cd_inode **np, char *pp)
{
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	if (!n)
		return -ESTALE;
	if (n->type != S_IFREG && n->type != S_IFDIR) {
		cd_inode_put(n);
		return -EPERM;
	}
	proc_path(pp, 64, n->fd);
	*np = n;
	return 0;
}

static int op_setxattr(struct cd_req *r)
{
	struct cs_xattr_arg xa;
	struct cd_inode *n = NULL;
	char pp[64], lname[XLNAME_MAX];
	uint8_t *val = NULL;
	int rc;
	rc = arg_head(r, &xa, sizeof(xa));
	if (rc == 0)
		rc = arg_rest(r, sizeof(xa), xa.namelen, xa.valuelen);
	if (rc == 0 && xa.valuelen > CS_XATTR_SIZE_MAX)
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	uint32_t pos = sizeof(xa);
	rc = cd_xname_enc((const char *)r->arg + pos, xa.namelen, lname,
			  sizeof(lname));
	if (rc < 0)
		return rc;
	rc = xattr_node(r, &n, pp);
	if (rc < 0)
		return rc;
	val = malloc(XVAL_MAX);
	if (!val) {
		rc = -ENOMEM;
		goto out;
	}
	int vl =
	    cd_xval_enc((const char *)r->arg + pos, xa.namelen,
			r->arg + pos + xa.namelen, xa.valuelen, val, XVAL_MAX);
	if (vl < 0) {
		rc = vl;
		goto out;
	}
	if (setxattr(pp, lname, val, (size_t)vl, (int)xa.flags) < 0)
		rc = -errno;
out:
	free(val);
	cd_inode_put(n);
	return rc;
}

/* The node (use reference) and lower name of the user.* name that is the
 * whole argument block of GETXATTR/REMOVEXATTR; another namespace or a
 * node without xattrs: -ENODATA. 0 or -errno. */
static int xattr_named(struct cd_req *r, struct cd_inode **np, char *pp,
		       char lname[static XLNAME_MAX])
{
	int rc =
	    cd_xname_enc((const char *)r->arg, r->arg_len, lname, XLNAME_MAX);
	if (rc == -EOPNOTSUPP)
		return -ENODATA;
	if (rc < 0)
		return rc;
	rc = xattr_node(r, np, pp);
	return rc == -EPERM ? -ENODATA : rc;
}

static int op_getxattr(struct cd_req *r)
{
	struct cd_inode *n = NULL;
	char pp[64], lname[XLNAME_MAX];
	uint8_t *val = NULL;
	int rc = xattr_named(r, &n, pp, lname);
	if (rc < 0)
		return rc;
	val = malloc(XVAL_MAX);
	if (!val) {
		rc = -ENOMEM;
		goto out;
	}
	ssize_t l = getxattr(pp, lname, val, XVAL_MAX);
	if (l < 0) {
		rc = -errno;
		goto out;
	}
	uint8_t *b = cd_reply_buf(r, CS_XATTR_SIZE_MAX);
	int d = cd_xval_dec((const char *)r->arg, r->arg_len, val, (size_t)l, b,
			    CS_XATTR_SIZE_MAX);
	if (d < 0) {
		log_warnx("xattr value fails authentication (lower ino %llu)",
			  (unsigned long long)n->ino);
		rc = -EIO;
		goto out;
	}
	rc = cd_xattr_reply(r, (uint64_t)d);
out:
	free(val);
	cd_inode_put(n);
	return rc;
}

int cd_xattr_reply(struct cd_req *r, uint64_t len)
{
	r->cqe.val = len;
	if (r->sqe.len == 0)
		r->cqe.data_len = 0;
	else if (len > r->sqe.len)
		return -ERANGE;
	else
		r->cqe.data_len = (uint32_t)len;
	return 0;
}

/* LISTXATTR: the user.* names (decrypted; in the encrypted view the lower
 * names as they are). Only regular files and directories have any. */
int cd_op_listxattr(struct cd_req *r)
{
	int (*name)(const char *, size_t, char *, size_t) =
	    cd.encrypted_view ? cd_rawview_xname : cd_xname_dec;
	struct cd_inode *n = cd_inode_get(r->sqe.ino);
	char pp[64];
	char *list = NULL;
	int rc = 0;
	if (!n)
		return -ESTALE;
	/* the kernel's limit (XATTR_LIST_MAX) and the frontend's */
	uint32_t cap =
	    r->slot_size < CS_XATTR_SIZE_MAX ? r->slot_size : CS_XATTR_SIZE_MAX;
	uint8_t *b = cd_reply_buf(r, cap);
	uint32_t used = 0;
	if (n->type != S_IFREG && n->type != S_IFDIR)
		goto done;
	proc_path(pp, sizeof(pp), n->fd);
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
		char dec[CS_XATTR_NAME_MAX + 1];
		int d = name(list + i, nl, dec, sizeof(dec));
		i += nl + 1;
		if (d < 0)
			continue;
		if ((uint32_t)d + 1 > cap - used) {
			rc = -E2BIG;
			goto out;
		}
		memcpy(b + used, dec, (size_t)d);
		b[used + (uint32_t)d] = 0;
		used += (uint32_t)d + 1;
	}
done:
	rc = cd_xattr_reply(r, used);
out:
	free(list);
	cd_inode_put(n);
	return rc;
}

static int op_removexattr(struct cd_req *r)
{
	struct cd_inode *n = NULL;
	char pp[64], lname[XLNAME_MAX];
	int rc = xattr_named(r, &n, pp, lname);
	if (rc < 0)
		return rc;
	if (removexattr(pp, lname) < 0)
		rc = -errno;
	cd_inode_put(n);
	return rc;
}

static int op_fallocate(struct cd_req *r)
{
	struct cs_fallocate_arg fa;
	struct cd_handle *h = file_handle(r);
	if (!h)
		return -EBADF;
	if (r->arg_len != sizeof(fa))
		return -EINVAL;
	memcpy(&fa, r->arg, sizeof(fa));
	/* As before a write (file_modified() in the kernel) */
	if (r->sqe.flags & CS_F_KILL_SUIDGID) {
		struct stat st;
		if (fstat(h->f->fd_buf, &st) < 0)
			return -errno;
		int rc = kill_suidgid(h->n, h->f->fd_buf, &st);
		if (rc < 0)
			return rc;
		r->cqe.val = rc ? CS_WRITE_MODE_CHANGED : 0;
	}
	return cd_file_fallocate(r->w, h->f, fa.mode, fa.offset, fa.length);
}

/* LSEEK (SEEK_DATA/SEEK_HOLE) in a file, or in the lower file as it is
 * for a handle of the encrypted view. */
int cd_op_lseek(struct cd_req *r)
{
	struct cs_lseek_arg la;
	struct cd_handle *h = cd_handle_find(r->sqe.fh, r->sqe.ino);
	if (!h || (!h->f && h->fd < 0))
		return -EBADF;
	if (r->arg_len != sizeof(la))
		return -EINVAL;
	memcpy(&la, r->arg, sizeof(la));
	if (la.whence != SEEK_DATA && la.whence != SEEK_HOLE)
		return -EINVAL;
	int64_t o;
	if (h->f)
		o = cd_file_lseek(r->w, h->f, r->sqe.off, (int)la.whence);
	else if (r->sqe.off > (uint64_t)INT64_MAX)
		o = -ENXIO;
	else if ((o = lseek(h->fd, (off_t)r->sqe.off, (int)la.whence)) < 0)
		o = -errno;
	if (o < 0)
		return (int)o;
	r->cqe.val = (uint64_t)o;
	return 0;
}

static int op_fsyncdir(struct cd_req *r)
{
	return op_fsync(r);
}

static const struct cd_op ops[CS_OP__MAX] = {
    [CS_OP_LOOKUP] = {cd_op_lookup, "LOOKUP"},
    [CS_OP_GETATTR] = {cd_op_getattr, "GETATTR"},
    [CS_OP_SETATTR] = {op_setattr, "SETATTR"},
    [CS_OP_READLINK] = {cd_op_readlink, "READLINK"},
    [CS_OP_MKNOD] = {op_mknod_mkdir, "MKNOD"},
    [CS_OP_MKDIR] = {op_mknod_mkdir, "MKDIR"},
    [CS_OP_UNLINK] = {op_unlink_rmdir, "UNLINK"},
    [CS_OP_RMDIR] = {op_unlink_rmdir, "RMDIR"},
    [CS_OP_SYMLINK] = {op_symlink, "SYMLINK"},
    [CS_OP_RENAME] = {op_rename, "RENAME"},
    [CS_OP_LINK] = {op_link, "LINK"},
    [CS_OP_OPEN] = {cd_op_open, "OPEN"},
    [CS_OP_READ] = {op_read, "READ"},
    [CS_OP_WRITE] = {op_write, "WRITE"},
    [CS_OP_FLUSH] = {cd_op_flush, "FLUSH"},
    [CS_OP_RELEASE] = {cd_op_release, "RELEASE"},
    [CS_OP_FSYNC] = {op_fsync, "FSYNC"},
    [CS_OP_OPENDIR] = {cd_op_open, "OPENDIR"},
    [CS_OP_READDIR] = {cd_op_readdir, "READDIR"},
    [CS_OP_READDIRPLUS] = {cd_op_readdir, "READDIRPLUS"},
    [CS_OP_RELEASEDIR] = {cd_op_release, "RELEASEDIR"},
    [CS_OP_FSYNCDIR] = {op_fsyncdir, "FSYNCDIR"},
    [CS_OP_STATFS] = {op_statfs, "STATFS"},
    [CS_OP_SETXATTR] = {op_setxattr, "SETXATTR"},
    [CS_OP_GETXATTR] = {op_getxattr, "GETXATTR"},
    [CS_OP_LISTXATTR] = {cd_op_listxattr, "LISTXATTR"},
    [CS_OP_REMOVEXATTR] = {op_removexattr, "REMOVEXATTR"},
    [CS_OP_CREATE] = {op_create, "CREATE"},
    [CS_OP_FALLOCATE] = {op_fallocate, "FALLOCATE"},
    [CS_OP_LSEEK] = {cd_op_lseek, "LSEEK"},
};

/* Appends the attributes of node sqe.ino to a successful reply: the
 * parent directory's for CS_PARENT_ATTR_OPS, the file's for RELEASE
 * (wire.h); left out when they cannot be had or do not fit. */
static void append_node_attr(struct cd_req *r, bool dir)
{
	struct cd_inode *p = cd_inode_get(r->sqe.ino);
	uint32_t end = r->cqe.data_off + r->cqe.data_len;
	struct cs_attr a;
	struct stat st;
	if (!p)
		return;
	if ((p->type == S_IFDIR) == dir && lstat_node(p, &st) == 0 &&
	    end <= r->slot_size && sizeof(a) <= r->slot_size - end) {
		fill_attr(r, p, &st, &a);
		memcpy(r->slot + end, &a, sizeof(a));
		r->cqe.data_len += sizeof(a);
	}
	cd_inode_put(p);
}

void cd_dispatch(struct cd_req *r)
{
	const struct cd_op *tab = cd.encrypted_view ? cd_rawview_ops : ops;
	uint16_t op = r->sqe.op;
	if (op >= CS_OP__MAX || !tab[op].fn) {
		r->cqe.res = -ENOSYS;
		return;
	}
	int rc = tab[op].fn(r);
	if (rc >= 0 && !cd.encrypted_view && ((1u << op) & CS_PARENT_ATTR_OPS))
		append_node_attr(r, true);
	else if (rc >= 0 && !cd.encrypted_view && op == CS_OP_RELEASE)
		append_node_attr(r, false);
	if (rc < 0) {
		r->cqe.data_off = 0;
		r->cqe.data_len = 0;
		if (rc < -4095)
			rc = -EIO;
	}
	r->cqe.res = rc;
	log_debug("worker %u: %s ino %llu -> %d", r->w->idx, tab[op].name,
		  (unsigned long long)r->sqe.ino, rc);
}
