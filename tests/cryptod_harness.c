/* SPDX-License-Identifier: MIT */
#include "cryptod_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../cli/keyd_client.h"
#include "ring.h"
#include "supervise.h"
#include "util.h"

extern char **environ;

/* keyd_client.c wants the CLI's helper directory. */
const char *cli_helper_dir(void)
{
	return CS_BIN_DIR;
}

static int run_init(struct cdh *h, const char *opts)
{
	char cmd[PATH_MAX * 4];
	snprintf(cmd, sizeof(cmd),
		 "%s init --passfile %s/pass --kdf-memory 8K --kdf-time 1 "
		 "--kdf-parallelism 1 %s %s >%s/init.log 2>&1",
		 CS_CLI_BIN, h->dir, opts ? opts : "", h->lower, h->dir);
	int st = system(cmd);
	if (st != 0) {
		fprintf(stderr, "cryptstack init failed (%d), see:\n", st);
		snprintf(cmd, sizeof(cmd), "cat %s/init.log >&2", h->dir);
		if (system(cmd) != 0)
			return -EIO;
		return -EIO;
	}
	return 0;
}

static int start_keyd(struct cdh *h)
{
	struct cli_pass_src src = {0};
	struct cli_unlock u;
	char pf[PATH_MAX + 8], err[256] = "";
	memset(&u, 0, sizeof(u));
	snprintf(pf, sizeof(pf), "%s/pass", h->dir);
	src.passfile = pf;
	int r = cli_unlock_add_pass(&u, &src, "Passphrase: ");
	if (r == 0)
		r = cli_keyd_start(h->lower_fd, &u, &h->keyd_fd, &h->keyd_pid,
				   err, sizeof(err));
	cli_unlock_clear(&u);
	if (r < 0)
		fprintf(stderr, "keyd: %s (%s)\n", err, strerror(-r));
	return r;
}

static int start_cryptod(struct cdh *h, unsigned nrings)
{
	struct ring_params p = {.nrings = nrings,
				.entries = 64,
				.nslots = nrings,
				.slot_size = CS_SLOT_SIZE_DEFAULT};
	int ctl[2], peer[2], r;
	r = ring_region_create(&h->region, &p);
	if (r < 0)
		return r;
	h->nrings = nrings;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, peer) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* fds 3..7 in the child: lower, region, keyd, ctl, peer. */
		int src[5] = {h->lower_fd, ring_region_fd(h->region),
			      h->keyd_fd, ctl[1], peer[0]};
		int tmp[5];
		for (int i = 0; i < 5; i++)
			tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 20);
		for (int i = 0; i < 5; i++)
			if (tmp[i] < 0 || dup2(tmp[i], 3 + i) < 0)
				_exit(126);
		char w[16];
		snprintf(w, sizeof(w), "%u", nrings);
		const char *dbg = getenv("CDH_DEBUG") ? "-d" : NULL;
		const char *pt =
		    getenv("CDH_PASSTHROUGH") ? "--passthrough" : dbg;
		if (pt == dbg)
			dbg = NULL;
		/* CDH_ENCVIEW: --encrypted-view in front of the others. */
		const char *ev =
		    getenv("CDH_ENCVIEW") ? "--encrypted-view" : NULL;
		execl(CS_CRYPTOD_BIN, "cryptstack-cryptod", "--lower-fd", "3",
		      "--region-fd", "4", "--keyd-fd", "5", "--ctl-fd", "6",
		      "--peer-fd", "7", "--workers", w,
		      getenv("CDH_NOSANDBOX") ? "--sandbox=off"
					      : "--sandbox=on",
		      ev ? ev : pt, ev ? pt : dbg, ev ? dbg : NULL,
		      (char *)NULL);
		_exit(127);
	}
	close(ctl[1]);
	close(peer[0]);
	h->peer_fd = peer[1];
	h->cryptod_pid = pid;
	struct cs_ready rd;
	ssize_t n = read_full(ctl[0], &rd, sizeof(rd));
	close(ctl[0]);
	if (n != (ssize_t)sizeof(rd)) {
		fprintf(stderr, "cryptod: no ready message\n");
		return -EIO;
	}
	if (rd.status < 0) {
		fprintf(stderr, "cryptod: %s\n", rd.msg);
		return rd.status;
	}
	return 0;
}

int cdh_start(struct cdh *h, unsigned nrings, const char *init_opts)
{
	memset(h, 0, sizeof(*h));
	h->lower_fd = h->keyd_fd = h->peer_fd = -1;
	const char *tmp = getenv("CDH_TMPDIR");
	snprintf(h->dir, sizeof(h->dir), "%s/cdh.XXXXXX",
		 tmp ? tmp : "/var/tmp");
	if (!mkdtemp(h->dir)) {
		snprintf(h->dir, sizeof(h->dir), "/tmp/cdh.XXXXXX");
		if (!mkdtemp(h->dir))
			return -errno;
	}
	snprintf(h->lower, sizeof(h->lower), "%s/lower", h->dir);
	if (mkdir(h->lower, 0755) < 0)
		return -errno;
	char pf[PATH_MAX + 8];
	snprintf(pf, sizeof(pf), "%s/pass", h->dir);
	int fd = open(pf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write_full(fd, "correct horse\n", 14) < 0)
		return -EIO;
	close(fd);
	int r = run_init(h, init_opts);
	if (r < 0)
		return r;
	h->lower_fd = open(h->lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->lower_fd < 0)
		return -errno;
	r = start_keyd(h);
	if (r < 0)
		return r;
	return start_cryptod(h, nrings);
}

int cdh_stop_daemons(struct cdh *h)
{
	int status = -1;
	if (h->peer_fd >= 0) {
		close(h->peer_fd);
		h->peer_fd = -1;
	}
	if (h->cryptod_pid > 0) {
		/* Hang-up must make it leave by itself; give it 10 s. */
		for (int i = 0; i < 1000; i++) {
			pid_t p = waitpid(h->cryptod_pid, &status, WNOHANG);
			if (p == h->cryptod_pid)
				break;
			if (i == 999) {
				kill(h->cryptod_pid, SIGKILL);
				waitpid(h->cryptod_pid, &status, 0);
				status = -1;
				break;
			}
			usleep(10000);
		}
		h->cryptod_pid = 0;
	}
	if (h->keyd_fd >= 0) {
		close(h->keyd_fd);
		h->keyd_fd = -1;
	}
	if (h->keyd_pid > 0) {
		int ks;
		for (int i = 0; i < 500; i++) {
			if (waitpid(h->keyd_pid, &ks, WNOHANG) == h->keyd_pid)
				break;
			if (i == 499) {
				kill(h->keyd_pid, SIGKILL);
				waitpid(h->keyd_pid, &ks, 0);
			}
			usleep(10000);
		}
		h->keyd_pid = 0;
	}
	ring_region_destroy(h->region);
	h->region = NULL;
	if (status == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int cdh_restart(struct cdh *h, unsigned nrings)
{
	cdh_stop_daemons(h);
	int r = start_keyd(h);
	if (r < 0)
		return r;
	return start_cryptod(h, nrings);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

void cdh_stop(struct cdh *h)
{
	cdh_stop_daemons(h);
	if (h->lower_fd >= 0)
		close(h->lower_fd);
	h->lower_fd = -1;
	if (h->dir[0] && !getenv("CDH_KEEP"))
		nftw(h->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int cdh_call(struct cdh *h, unsigned ring, struct cs_sqe *sqe, const void *arg,
	     uint32_t arg_len, struct cs_cqe *cqe, const uint8_t **reply)
{
	uint8_t *slot = ring_slot(h->region, ring);
	sqe->id = ++h->ids[ring] | ((uint64_t)ring << 56);
	if (sqe->op == CS_OP_FORGET) {
		sqe->slot = CS_NO_SLOT;
	} else {
		sqe->slot = ring;
		if (arg_len)
			memcpy(slot + CS_SLOT_HDR_ROOM, arg, arg_len);
		sqe->arg_off = arg_len ? CS_SLOT_HDR_ROOM : 0;
		sqe->arg_len = arg_len;
	}
	if (!sqe->uid && !sqe->gid) {
		sqe->uid = getuid();
		sqe->gid = getgid();
	}
	sqe->pid = (uint32_t)getpid();
	while (ring_sq_push(h->region, ring, sqe, 1) != 1)
		usleep(100);
	ring_sq_kick(h->region, ring);
	if (sqe->op == CS_OP_FORGET)
		return 0;
	for (;;) {
		int n = ring_cq_pop(h->region, ring, cqe, 1);
		if (n < 0)
			return n;
		if (n == 1)
			break;
		int w = ring_cq_wait(h->region, ring,
				     h->timeout_ms ? h->timeout_ms : 20000);
		if (w == -ETIMEDOUT) {
			if (!h->timeout_ms)
				fprintf(stderr,
					"cdh: request op %u timed "
					"out\n",
					sqe->op);
			return -ETIMEDOUT;
		}
	}
	if (cqe->id != sqe->id || cqe->slot != sqe->slot) {
		fprintf(stderr, "cdh: completion mismatch\n");
		return -EPROTO;
	}
	if (reply)
		*reply = slot + cqe->data_off;
	return cqe->res;
}

static int simple(struct cdh *h, unsigned ring, uint16_t op, uint64_t ino,
		  const void *arg, uint32_t len, void *out, size_t outlen,
		  struct cs_cqe *cq)
{
	struct cs_sqe s = {.op = op, .ino = ino};
	struct cs_cqe c;
	const uint8_t *rep;
	int r = cdh_call(h, ring, &s, arg, len, &c, &rep);
	if (cq)
		*cq = c;
	if (r >= 0 && out) {
		if (c.data_len < outlen)
			return -EPROTO;
		memcpy(out, rep, outlen);
	}
	return r;
}

int cdh_lookup(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	       struct cs_entry *e)
{
	return simple(h, ring, CS_OP_LOOKUP, parent, name,
		      (uint32_t)strlen(name), e, sizeof(*e), NULL);
}

void cdh_forget(struct cdh *h, unsigned ring, uint64_t ino, uint64_t n)
{
	struct cs_sqe s = {.op = CS_OP_FORGET, .ino = ino, .off = n};
	struct cs_cqe c;
	cdh_call(h, ring, &s, NULL, 0, &c, NULL);
}

int cdh_getattr(struct cdh *h, unsigned ring, uint64_t ino, struct cs_attr *a)
{
	return simple(h, ring, CS_OP_GETATTR, ino, NULL, 0, a, sizeof(*a),
		      NULL);
}

static int create_like(struct cdh *h, unsigned ring, uint16_t op,
		       uint64_t parent, const char *name, uint32_t mode,
		       uint32_t rdev, uint32_t flags, struct cs_entry *e,
		       uint64_t *fh)
{
	uint8_t buf[sizeof(struct cs_create_arg) + 256];
	size_t nl = strlen(name);
	if (nl > 256)
		nl = 256;
	struct cs_create_arg ca = {.mode = mode,
				   .umask = 0,
				   .rdev = rdev,
				   .flags = flags,
				   .namelen = (uint32_t)nl};
	memcpy(buf, &ca, sizeof(ca));
	memcpy(buf + sizeof(ca), name, nl);
	struct cs_sqe s = {.op = op, .ino = parent};
	struct cs_cqe c;
	const uint8_t *rep;
	int r =
	    cdh_call(h, ring, &s, buf, (uint32_t)(sizeof(ca) + nl), &c, &rep);
	if (r < 0)
		return r;
	if (c.data_len < sizeof(*e))
		return -EPROTO;
	if (e)
		memcpy(e, rep, sizeof(*e));
	if (fh) {
		struct cs_open_reply o;
		if (c.data_len < sizeof(*e) + sizeof(o))
			return -EPROTO;
		memcpy(&o, rep + sizeof(*e), sizeof(o));
		*fh = o.fh;
	}
	return r;
}

int cdh_create(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	       uint32_t mode, uint32_t flags, struct cs_entry *e, uint64_t *fh)
{
	return create_like(h, ring, CS_OP_CREATE, parent, name, mode | S_IFREG,
			   0, flags, e, fh);
}

int cdh_mknod(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t rdev, struct cs_entry *e)
{
	return create_like(h, ring, CS_OP_MKNOD, parent, name, mode, rdev, 0, e,
			   NULL);
}

int cdh_mkdir(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	      uint32_t mode, struct cs_entry *e)
{
	return create_like(h, ring, CS_OP_MKDIR, parent, name, mode | S_IFDIR,
			   0, 0, e, NULL);
}

static int open_like(struct cdh *h, unsigned ring, uint16_t op, uint64_t ino,
		     uint32_t flags, uint64_t *fh)
{
	struct cs_open_arg oa = {.flags = flags};
	struct cs_open_reply o;
	int r = simple(h, ring, op, ino, &oa, sizeof(oa), &o, sizeof(o), NULL);
	if (r >= 0)
		*fh = o.fh;
	return r;
}

int cdh_open(struct cdh *h, unsigned ring, uint64_t ino, uint32_t flags,
	     uint64_t *fh)
{
	return open_like(h, ring, CS_OP_OPEN, ino, flags, fh);
}

int cdh_opendir(struct cdh *h, unsigned ring, uint64_t ino, uint64_t *fh)
{
	return open_like(h, ring, CS_OP_OPENDIR, ino, O_RDONLY, fh);
}

static int fh_op(struct cdh *h, unsigned ring, uint16_t op, uint64_t ino,
		 uint64_t fh, uint16_t flags)
{
	struct cs_sqe s = {
	    .op = op, .ino = ino, .fh = fh, .flags = CS_F_FH | flags};
	struct cs_cqe c;
	return cdh_call(h, ring, &s, NULL, 0, &c, NULL);
}

int cdh_release(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh)
{
	return fh_op(h, ring, CS_OP_RELEASE, ino, fh, 0);
}

int cdh_releasedir(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh)
{
	return fh_op(h, ring, CS_OP_RELEASEDIR, ino, fh, 0);
}

int cdh_fsync(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	      bool datasync)
{
	return fh_op(h, ring, CS_OP_FSYNC, ino, fh,
		     datasync ? CS_F_DATASYNC : 0);
}

int cdh_fsyncdir(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
		 bool datasync)
{
	return fh_op(h, ring, CS_OP_FSYNCDIR, ino, fh,
		     datasync ? CS_F_DATASYNC : 0);
}

int cdh_flush(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh)
{
	return fh_op(h, ring, CS_OP_FLUSH, ino, fh, 0);
}

int cdh_read(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	     uint64_t off, void *buf, uint32_t len)
{
	struct cs_sqe s = {.op = CS_OP_READ,
			   .ino = ino,
			   .fh = fh,
			   .off = off,
			   .len = len,
			   .flags = CS_F_FH};
	struct cs_cqe c;
	const uint8_t *rep;
	int r = cdh_call(h, ring, &s, NULL, 0, &c, &rep);
	if (r < 0)
		return r;
	if ((uint32_t)r != c.data_len || (uint32_t)r > len)
		return -EPROTO;
	memcpy(buf, rep, (size_t)r);
	return r;
}

int cdh_write(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	      uint64_t off, const void *buf, uint32_t len)
{
	struct cs_sqe s = {.op = CS_OP_WRITE,
			   .ino = ino,
			   .fh = fh,
			   .off = off,
			   .len = len,
			   .flags = CS_F_FH};
	struct cs_cqe c;
	return cdh_call(h, ring, &s, buf, len, &c, NULL);
}

static int name_op(struct cdh *h, unsigned ring, uint16_t op, uint64_t p,
		   const char *name)
{
	return simple(h, ring, op, p, name, (uint32_t)strlen(name), NULL, 0,
		      NULL);
}

int cdh_unlink(struct cdh *h, unsigned ring, uint64_t parent, const char *name)
{
	return name_op(h, ring, CS_OP_UNLINK, parent, name);
}

int cdh_rmdir(struct cdh *h, unsigned ring, uint64_t parent, const char *name)
{
	return name_op(h, ring, CS_OP_RMDIR, parent, name);
}

int cdh_rename(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	       uint64_t newparent, const char *newname, uint32_t flags)
{
	uint8_t buf[sizeof(struct cs_rename_arg) + 512];
	size_t a = strlen(name), b = strlen(newname);
	if (a > 256 || b > 256)
		return -EINVAL;
	struct cs_rename_arg ra = {.newparent = newparent,
				   .flags = flags,
				   .namelen = (uint32_t)a,
				   .newnamelen = (uint32_t)b};
	memcpy(buf, &ra, sizeof(ra));
	memcpy(buf + sizeof(ra), name, a);
	memcpy(buf + sizeof(ra) + a, newname, b);
	return simple(h, ring, CS_OP_RENAME, parent, buf,
		      (uint32_t)(sizeof(ra) + a + b), NULL, 0, NULL);
}

int cdh_link(struct cdh *h, unsigned ring, uint64_t ino, uint64_t newparent,
	     const char *newname, struct cs_entry *e)
{
	uint8_t buf[sizeof(struct cs_link_arg) + 256];
	size_t b = strlen(newname);
	if (b > 256)
		return -EINVAL;
	struct cs_link_arg la = {.newparent = newparent,
				 .namelen = (uint32_t)b};
	memcpy(buf, &la, sizeof(la));
	memcpy(buf + sizeof(la), newname, b);
	return simple(h, ring, CS_OP_LINK, ino, buf, (uint32_t)(sizeof(la) + b),
		      e, e ? sizeof(*e) : 0, NULL);
}

int cdh_symlink(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
		const char *target, struct cs_entry *e)
{
	size_t a = strlen(name), b = strlen(target);
	uint8_t *buf = malloc(sizeof(struct cs_symlink_arg) + a + b);
	if (!buf)
		return -ENOMEM;
	struct cs_symlink_arg sa = {.namelen = (uint32_t)a,
				    .targetlen = (uint32_t)b};
	memcpy(buf, &sa, sizeof(sa));
	memcpy(buf + sizeof(sa), name, a);
	memcpy(buf + sizeof(sa) + a, target, b);
	int r =
	    simple(h, ring, CS_OP_SYMLINK, parent, buf,
		   (uint32_t)(sizeof(sa) + a + b), e, e ? sizeof(*e) : 0, NULL);
	free(buf);
	return r;
}

int cdh_readlink(struct cdh *h, unsigned ring, uint64_t ino, char *buf,
		 size_t cap)
{
	struct cs_sqe s = {.op = CS_OP_READLINK, .ino = ino};
	struct cs_cqe c;
	const uint8_t *rep;
	int r = cdh_call(h, ring, &s, NULL, 0, &c, &rep);
	if (r < 0)
		return r;
	if (c.data_len >= cap)
		return -ERANGE;
	memcpy(buf, rep, c.data_len);
	buf[c.data_len] = 0;
	return (int)c.data_len;
}

int cdh_setattr(struct cdh *h, unsigned ring, uint64_t ino,
		const struct cs_setattr_arg *sa, struct cs_attr *a)
{
	struct cs_attr tmp;
	return simple(h, ring, CS_OP_SETATTR, ino, sa, sizeof(*sa),
		      a ? a : &tmp, sizeof(tmp), NULL);
}

int cdh_truncate(struct cdh *h, unsigned ring, uint64_t ino, uint64_t size,
		 struct cs_attr *a)
{
	struct cs_setattr_arg sa = {.valid = 1u << 3, .size = size};
	return cdh_setattr(h, ring, ino, &sa, a);
}

int cdh_statfs(struct cdh *h, unsigned ring, struct cs_statfs *st)
{
	return simple(h, ring, CS_OP_STATFS, 1, NULL, 0, st, sizeof(*st), NULL);
}

int cdh_setxattr(struct cdh *h, unsigned ring, uint64_t ino, const char *name,
		 const void *val, uint32_t len, uint32_t flags)
{
	size_t nl = strlen(name);
	uint8_t *buf = malloc(sizeof(struct cs_xattr_arg) + nl + len);
	if (!buf)
		return -ENOMEM;
	struct cs_xattr_arg xa = {
	    .flags = flags, .namelen = (uint32_t)nl, .valuelen = len};
	memcpy(buf, &xa, sizeof(xa));
	memcpy(buf + sizeof(xa), name, nl);
	memcpy(buf + sizeof(xa) + nl, val, len);
	int r = simple(h, ring, CS_OP_SETXATTR, ino, buf,
		       (uint32_t)(sizeof(xa) + nl + len), NULL, 0, NULL);
	free(buf);
	return r;
}

int cdh_getxattr(struct cdh *h, unsigned ring, uint64_t ino, const char *name,
		 void *buf, uint32_t size)
{
	struct cs_sqe s = {.op = CS_OP_GETXATTR, .ino = ino, .len = size};
	struct cs_cqe c;
	const uint8_t *rep;
	int r = cdh_call(h, ring, &s, name, (uint32_t)strlen(name), &c, &rep);
	if (r < 0)
		return r;
	if (size == 0)
		return (int)c.val;
	if (c.data_len > size)
		return -EPROTO;
	memcpy(buf, rep, c.data_len);
	return (int)c.data_len;
}

int cdh_listxattr(struct cdh *h, unsigned ring, uint64_t ino, char *buf,
		  uint32_t size)
{
	struct cs_sqe s = {.op = CS_OP_LISTXATTR, .ino = ino, .len = size};
	struct cs_cqe c;
	const uint8_t *rep;
	int r = cdh_call(h, ring, &s, NULL, 0, &c, &rep);
	if (r < 0)
		return r;
	if (size == 0)
		return (int)c.val;
	memcpy(buf, rep, c.data_len);
	return (int)c.data_len;
}

int cdh_removexattr(struct cdh *h, unsigned ring, uint64_t ino,
		    const char *name)
{
	return name_op(h, ring, CS_OP_REMOVEXATTR, ino, name);
}

int cdh_fallocate(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
		  uint32_t mode, uint64_t off, uint64_t len)
{
	struct cs_fallocate_arg fa = {
	    .mode = mode, .offset = off, .length = len};
	struct cs_sqe s = {
	    .op = CS_OP_FALLOCATE, .ino = ino, .fh = fh, .flags = CS_F_FH};
	struct cs_cqe c;
	return cdh_call(h, ring, &s, &fa, sizeof(fa), &c, NULL);
}

int cdh_lseek(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	      uint64_t off, uint32_t whence, uint64_t *res)
{
	struct cs_lseek_arg la = {.whence = whence};
	struct cs_sqe s = {.op = CS_OP_LSEEK,
			   .ino = ino,
			   .fh = fh,
			   .off = off,
			   .flags = CS_F_FH};
	struct cs_cqe c;
	int r = cdh_call(h, ring, &s, &la, sizeof(la), &c, NULL);
	if (r >= 0)
		*res = c.val;
	return r;
}

int cdh_readdir(struct cdh *h, unsigned ring, uint64_t ino, bool plus,
		struct cdh_dirent **out)
{
	uint64_t fh;
	int r = cdh_opendir(h, ring, ino, &fh);
	if (r < 0)
		return r;
	size_t n = 0, cap = 16;
	struct cdh_dirent *v = malloc(cap * sizeof(*v));
	uint64_t cookie = 0;
	for (;;) {
		struct cs_sqe s = {.op =
				       plus ? CS_OP_READDIRPLUS : CS_OP_READDIR,
				   .ino = ino,
				   .fh = fh,
				   .off = cookie,
				   .len = 600,
				   .flags = CS_F_FH};
		struct cs_cqe c;
		const uint8_t *rep;
		r = cdh_call(h, ring, &s, NULL, 0, &c, &rep);
		if (r < 0)
			goto out;
		if (c.data_len == 0)
			break;
		uint32_t pos = 0;
		while (pos < c.data_len) {
			struct cs_dirent de;
			memcpy(&de, rep + pos, sizeof(de));
			uint32_t nl = (de.namelen + 7u) & ~7u;
			char name[256];
			memcpy(name, rep + pos + sizeof(de), de.namelen);
			name[de.namelen] = 0;
			struct cs_entry e;
			memset(&e, 0, sizeof(e));
			if (plus)
				memcpy(&e, rep + pos + sizeof(de) + nl,
				       sizeof(e));
			pos += (uint32_t)sizeof(de) + nl +
			       (plus ? (uint32_t)sizeof(e) : 0);
			cookie = de.off;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			if (n == cap) {
				cap *= 2;
				v = realloc(v, cap * sizeof(*v));
			}
			memset(&v[n], 0, sizeof(v[n]));
			memcpy(v[n].name, name, de.namelen + 1);
			v[n].ino = de.ino;
			v[n].type = de.type;
			v[n].nodeid = e.nodeid;
			v[n].attr = e.attr;
			n++;
		}
	}
	r = (int)n;
out:
	cdh_releasedir(h, ring, ino, fh);
	if (r < 0)
		free(v);
	else
		*out = v;
	return r;
}

static const void *g_marker;
static size_t g_marker_len;
static int g_hits;

static int grep_cb(const char *p, const struct stat *st, int flag,
		   struct FTW *f)
{
	const char *base = p + f->base;
	if (g_marker_len && memmem(base, strlen(base), g_marker, g_marker_len))
		g_hits++;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return 0;
	size_t cap = (size_t)st->st_size;
	uint8_t *b = malloc(cap + 1);
	ssize_t n = b ? read_full(fd, b, cap) : -1;
	if (n > 0 && memmem(b, (size_t)n, g_marker, g_marker_len))
		g_hits++;
	free(b);
	close(fd);
	return 0;
}

int cdh_lower_grep(struct cdh *h, const void *marker, size_t len)
{
	g_marker = marker;
	g_marker_len = len;
	g_hits = 0;
	nftw(h->lower, grep_cb, 16, FTW_PHYS);
	return g_hits;
}
