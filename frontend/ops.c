/* SPDX-License-Identifier: MIT */
/*
 * FUSE request handlers: each one builds the wire.h argument block inside
 * the request's own slot (after the bytes libfuse received there, or
 * pointing at a name already received there) and pushes one cs_sqe on the
 * least busy ring. Nothing here waits for cryptod: replies come from the
 * receive thread's poll after the handler returns or from the completion
 * thread (reply.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "util.h"
#include "log.h"

__thread struct fe_cur fe_cur;

/* Room for an argument block of need bytes after the received request,
 * 8-byte aligned. Returns a pointer into the slot and its offset, or NULL
 * when it does not fit. */
static uint8_t *arg_area(size_t need, uint32_t *off)
{
	size_t o = (fe_cur.rcvd + 7) & ~(size_t)7;
	if (o > fe.slot_size || need > fe.slot_size - o)
		return NULL;
	*off = (uint32_t)o;
	return fe_cur.mem + o;
}

/* Offset of bytes libfuse handed us that lie inside the received request
 * (names): no copy needed. Returns 0 and *off, or -EINVAL. */
static int in_slot(const void *p, size_t len, uint32_t *off)
{
	const uint8_t *b = p;
	if (b < fe_cur.mem || (size_t)(b - fe_cur.mem) > fe_cur.rcvd ||
	    len > fe_cur.rcvd - (size_t)(b - fe_cur.mem))
		return -EINVAL;
	*off = (uint32_t)(b - fe_cur.mem);
	return 0;
}

static void sqe_init(struct cs_sqe *s, fuse_req_t req, enum cs_op op,
		     fuse_ino_t ino)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	memset(s, 0, sizeof(*s));
	s->op = (uint16_t)op;
	s->ino = ino;
	s->slot = fe_cur.slot;
	s->uid = ctx->uid;
	s->gid = ctx->gid;
	s->pid = (uint32_t)ctx->pid;
}

static void sqe_fh(struct cs_sqe *s, const struct fuse_file_info *fi)
{
	if (fi) {
		s->fh = fi->fh;
		s->flags |= CS_F_FH;
	}
}

/* Ring 0 while it has fewer than FE_RING_WARM requests in flight, else
 * the ring pair with the fewest, lowest index first. An application that
 * waits for each answer then keeps one cryptod worker busy, still polling
 * when the next request comes (a queued asynchronous RELEASE or FORGET is
 * cheaper to wait behind than waking an idle worker); overlapping requests
 * spread. With entries >= 4 x slots per ring (docs/RINGS.md) the least
 * busy ring always has room for one more slot-holding request. Caller
 * holds fe.mu. */
#define FE_RING_WARM 2u
/* Ring 0 is not preferred while it has made no progress (no completion)
 * for this long: its worker may wait for keyd or for slow lower I/O, and
 * other applications' requests must not queue behind it. */
#define FE_RING_STUCK_NS 1000000ull
static struct fe_ring *pick_ring(void)
{
	struct fe_ring *best = &fe.rings[0];
	if (best->inflight < FE_RING_WARM &&
	    (!best->inflight ||
	     now_ns() - best->progress_ns < FE_RING_STUCK_NS))
		return best;
	for (unsigned i = 1; i < fe.nrings && best->inflight; i++)
		if (fe.rings[i].inflight < best->inflight)
			best = &fe.rings[i];
	return best;
}

static int failed(void)
{
	return fe.failed || atomic_load(&fe.dead);
}

/* Pushes s on ring rg; waits (briefly) while the ring is full. Returns 0
 * or -EIO when the mount failed. Caller holds fe.mu (dropped while
 * waiting). */
static int push_locked(struct fe_ring *rg, const struct cs_sqe *s)
{
	for (;;) {
		if (failed())
			return -EIO;
		if (ring_sq_push(fe.region, rg->idx, s, 1) == 1)
			return 0;
		if (ring_error(fe.region, rg->idx) < 0)
			return -EIO;
		/* Full: only possible with many FORGETs in flight (every
		 * other sqe holds one of our slots, and entries >= slots). */
		ring_sq_kick(fe.region, rg->idx);
		pthread_mutex_unlock(&fe.mu);
		usleep(100);
		pthread_mutex_lock(&fe.mu);
	}
}

/* Requests that change no node's attributes (attrcache.c). */
static int ac_unstamped(uint16_t op)
{
	return op == CS_OP_GETATTR || op == CS_OP_LOOKUP ||
	       op == CS_OP_STATFS || op == CS_OP_GETXATTR ||
	       op == CS_OP_LISTXATTR;
}

/* Records req in the pending table, hands the slot to cryptod and wakes
 * it. On a failed mount, answers EIO and keeps the slot. The entry is
 * filled only after the push succeeded (still under fe.mu, so no
 * completion can be taken before): fe_fail_pending() never sees a
 * request this function answers itself. */
static void submit(fuse_req_t req, struct cs_sqe *s, uint16_t pflags,
		   uint32_t size)
{
	struct fe_pending *p = &fe.pend[fe_cur.slot];
	struct fe_ring *rg;
	uint64_t st1 = 0, st2 = 0, ino2 = fe_cur.ac_ino2;
	int all = s->op == CS_OP_RENAME || s->op == CS_OP_RMDIR;

	/* attrcache.c: every request that may change a node, before cryptod
	 * can answer it; RENAME and RMDIR change nodes we cannot name. */
	fe_cur.ac_ino2 = 0;
	if (!ac_unstamped(s->op)) {
		st1 = fe_ac_touch(s->ino, 0);
		if (all && !ino2)
			ino2 = s->ino; /* RENAME keeps its newparent */
		st2 = fe_ac_touch(ino2, all);
	}
	pthread_mutex_lock(&fe.mu);
	rg = pick_ring();
	s->id = ((uint64_t)(fe.gen + 1) << 32) | fe_cur.slot;
	if (push_locked(rg, s) < 0) {
		pthread_mutex_unlock(&fe.mu);
		fe_ac_done(s->ino, st1, 0);
		fe_ac_done(ino2, st2, all);
		fuse_reply_err(req, EIO);
		return;
	}
	fe.gen++;
	p->req = req;
	p->id = s->id;
	p->op = s->op;
	p->flags = pflags | (all ? FE_P_AC_ALL : 0);
	p->size = size;
	p->ring = rg->idx;
	p->ino = s->ino;
	p->ac_stamp = st1;
	p->ac_ino2 = ino2;
	p->ac_stamp2 = st2;
	if (!rg->inflight)
		rg->progress_ns = now_ns();
	rg->inflight++;
	fe_cur.used = 1;
	fe_cur.poll_ring = NULL;
	if (fe_spin_want(s->op, s->len)) {
		fe_cur.poll_ring = rg;
		fe_cur.poll_id = s->id;
		rg->polling++;
	} else if (fe_cur.async && (!fe_cur.deferred || fe_cur.deferred == rg)) {
		fe_cur.deferred = rg;
		fe_cur.deferred_age = 0;
	} else if (!rg->polling) {
		/* The completion thread may be parked: it answers this one
		 * (no futex call when it is not waiting). */
		pthread_cond_signal(&rg->idle_cv);
	}
	pthread_mutex_unlock(&fe.mu);
	ring_sq_kick(fe.region, rg->idx);
}

/* A name-only request (LOOKUP, UNLINK, RMDIR, REMOVEXATTR, GETXATTR): the
 * argument is the name as the kernel sent it, already in the slot. */
static void submit_name(fuse_req_t req, enum cs_op op, fuse_ino_t ino,
			const char *name, size_t maxlen, uint32_t len,
			uint16_t pflags)
{
	struct cs_sqe s;
	size_t n = strlen(name);
	if (n == 0 || n > maxlen) {
		fuse_reply_err(req, n ? ENAMETOOLONG : EINVAL);
		return;
	}
	sqe_init(&s, req, op, ino);
	if (in_slot(name, n, &s.arg_off) < 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	s.arg_len = (uint32_t)n;
	s.len = len;
	submit(req, &s, pflags, len);
}

static void submit_plain(fuse_req_t req, enum cs_op op, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct cs_sqe s;
	sqe_init(&s, req, op, ino);
	sqe_fh(&s, fi);
	submit(req, &s, 0, 0);
}

/* A request with an argument block: copies a (alen bytes), then x (xlen
 * bytes) and y (ylen bytes) right after it into the slot's argument area,
 * points s at them and submits; answers EIO when the slot has no room
 * (and drops a LINK's or RENAME's fe_cur.ac_ino2). */
static void submit_arg(fuse_req_t req, struct cs_sqe *s, const void *a,
		       size_t alen, const void *x, size_t xlen, const void *y,
		       size_t ylen)
{
	uint8_t *p = arg_area(alen + xlen + ylen, &s->arg_off);
	if (!p) {
		fe_cur.ac_ino2 = 0;
		fuse_reply_err(req, EIO);
		return;
	}
	memcpy(p, a, alen);
	if (xlen)
		memcpy(p + alen, x, xlen);
	if (ylen)
		memcpy(p + alen + xlen, y, ylen);
	s->arg_len = (uint32_t)(alen + xlen + ylen);
	submit(req, s, 0, 0);
}

/* Pushes a FORGET (no slot, no completion); returns the ring to kick. */
static unsigned push_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fe_ring *rg;
	struct cs_sqe s;
	sqe_init(&s, req, CS_OP_FORGET, ino);
	s.slot = CS_NO_SLOT;
	s.off = nlookup;
	pthread_mutex_lock(&fe.mu);
	rg = pick_ring();
	(void)push_locked(rg, &s); /* failed: nothing to forget any more */
	pthread_mutex_unlock(&fe.mu);
	return rg->idx;
}

static void fe_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_write = CS_MAX_IO;
	conn->max_readahead = CS_MAX_IO;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	/* We touch every byte anyway: splice only adds a copy. libfuse turns
	 * SPLICE_READ on by default when write_buf exists: turn it off, or
	 * it would stop reading into our slots. */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
				  FUSE_CAP_SPLICE_MOVE);
	/* O_TRUNC arrives as a SETATTR(size=0) before OPEN instead. */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	/* Locks stay local to this host's kernel. */
	conn->want &= ~(unsigned)(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	unsigned want = FUSE_CAP_ASYNC_READ | FUSE_CAP_PARALLEL_DIROPS |
			FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_ASYNC_DIO;
	if (!fe.read_only)
		want |= FUSE_CAP_WRITEBACK_CACHE;
	if (!fe.shared_lower)
		want |= FUSE_CAP_CACHE_SYMLINKS; /* targets in the page cache */
	conn->want |= want & conn->capable;
	if (!(conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		log_info("kernel lacks FUSE writeback cache");
	fe.writeback = (conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0;
}

static void fe_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	submit_name(req, CS_OP_LOOKUP, parent, name, CS_NAME_MAX, 0, 0);
}

static void fe_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	ring_sq_kick(fe.region, push_forget(req, ino, nlookup));
	fuse_reply_none(req);
}

static void fe_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	uint64_t kick = 0; /* rings to kick, one bit each (nrings <= 64) */
	for (size_t i = 0; i < count; i++)
		kick |= 1ull << push_forget(req, forgets[i].ino,
					    forgets[i].nlookup);
	for (unsigned i = 0; i < fe.nrings; i++)
		if (kick & (1ull << i))
			ring_sq_kick(fe.region, i);
	fuse_reply_none(req);
}

static void fe_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct cs_attr a;
	int unlinked;

	/* attributes a reply just carried (attrcache.c) */
	if (fe_ac_get(ino, &a, &unlinked)) {
		fe_reply_cs_attr(req, &a);
		return;
	}
	submit_plain(req, CS_OP_GETATTR, ino, fi);
}

/* A SETATTR of mtime/ctime only, of a file whose last name is gone (the kernel
 * flushes its times after the unlink): nothing left to keep them but the
 * kernel's own inode, which takes its times from its cache (writeback
 * cache), so it is answered here. Returns 1 when answered. */
/* Not the atime: the kernel takes it from every later reply about the
 * node (a SETATTR of its mode, a GETATTR after a write), which would show
 * the lower file's, not the one set here; mtime and ctime of a regular
 * file are the kernel's own under the writeback cache. */
#define FE_SA_TIMES                                                        \
	(FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)
/* One time of a SETATTR: now when to_set has now_bit, t when it has bit,
 * else left alone. */
static void set_time(int to_set, int now_bit, int bit,
		     const struct timespec *now, const struct timespec *t,
		     int64_t *sec, uint32_t *nsec)
{
	if (to_set & now_bit)
		t = now;
	else if (!(to_set & bit))
		return;
	*sec = t->tv_sec;
	*nsec = (uint32_t)t->tv_nsec;
}

static int setattr_unlinked(fuse_req_t req, fuse_ino_t ino,
			    const struct stat *attr, int to_set)
{
	struct cs_attr a;
	struct timespec now;
	int unlinked;

	if (!fe.writeback || (to_set & ~FE_SA_TIMES) ||
	    !fe_ac_get(ino, &a, &unlinked) || !unlinked)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	set_time(to_set, FUSE_SET_ATTR_MTIME_NOW, FUSE_SET_ATTR_MTIME, &now,
		 &attr->st_mtim, &a.mtime, &a.mtime_nsec);
	set_time(to_set, 0, FUSE_SET_ATTR_CTIME, &now, &attr->st_ctim,
		 &a.ctime, &a.ctime_nsec);
	fe_ac_set_times(ino, &a);
	fe_reply_cs_attr(req, &a);
	return 1;
}

static void fe_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct cs_sqe s;
	struct cs_setattr_arg a;

	if (setattr_unlinked(req, ino, attr, to_set))
		return;
	sqe_init(&s, req, CS_OP_SETATTR, ino);
	sqe_fh(&s, fi);
	memset(&a, 0, sizeof(a));
	_Static_assert(FUSE_SET_ATTR_KILL_SUID == CS_SA_KILL_SUIDGID,
		       "FATTR_KILL_SUIDGID");
	/* FATTR_KILL_SUIDGID arrives as FUSE_SET_ATTR_KILL_SUID (bit 11,
	 * kept by libfuse 3.14's do_setattr) = CS_SA_KILL_SUIDGID. */
	a.valid = (uint32_t)to_set;
	a.mode = attr->st_mode;
	a.uid = attr->st_uid;
	a.gid = attr->st_gid;
	a.size = (uint64_t)attr->st_size;
	a.atime = attr->st_atim.tv_sec;
	a.atime_nsec = (uint32_t)attr->st_atim.tv_nsec;
	a.mtime = attr->st_mtim.tv_sec;
	a.mtime_nsec = (uint32_t)attr->st_mtim.tv_nsec;
	submit_arg(req, &s, &a, sizeof(a), NULL, 0, NULL, 0);
}

static void fe_readlink(fuse_req_t req, fuse_ino_t ino)
{
	submit_plain(req, CS_OP_READLINK, ino, NULL);
}

static void create_common(fuse_req_t req, enum cs_op op, fuse_ino_t parent,
			  const char *name, mode_t mode, dev_t rdev,
			  uint32_t flags)
{
	struct cs_sqe s;
	struct cs_create_arg a;
	size_t n = strlen(name);

	if (n == 0 || n > CS_NAME_MAX) {
		fuse_reply_err(req, n ? ENAMETOOLONG : EINVAL);
		return;
	}
	sqe_init(&s, req, op, parent);
	if (op == CS_OP_CREATE && (fe_kin & FE_KIN_KILL_SUIDGID))
		s.flags |= CS_F_KILL_SUIDGID;
	memset(&a, 0, sizeof(a));
	a.mode = mode;
	a.umask = fuse_req_ctx(req)->umask;
	a.rdev = (uint32_t)rdev;
	a.flags = flags;
	a.namelen = (uint32_t)n;
	submit_arg(req, &s, &a, sizeof(a), name, n, NULL, 0);
}

static void fe_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	create_common(req, CS_OP_MKNOD, parent, name, mode, rdev, 0);
}

static void fe_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	create_common(req, CS_OP_MKDIR, parent, name, mode | S_IFDIR, 0, 0);
}

static void fe_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	submit_name(req, CS_OP_UNLINK, parent, name, CS_NAME_MAX, 0, 0);
}

static void fe_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	submit_name(req, CS_OP_RMDIR, parent, name, CS_NAME_MAX, 0, 0);
}

static void fe_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct cs_sqe s;
	struct cs_symlink_arg a;
	size_t n = strlen(name), t = strlen(link);

	if (n == 0 || n > CS_NAME_MAX || t == 0 || t > CS_SYMLINK_MAX) {
		fuse_reply_err(req, (n == 0 || t == 0) ? EINVAL : ENAMETOOLONG);
		return;
	}
	sqe_init(&s, req, CS_OP_SYMLINK, parent);
	a.namelen = (uint32_t)n;
	a.targetlen = (uint32_t)t;
	submit_arg(req, &s, &a, sizeof(a), name, n, link, t);
}

static void fe_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct cs_sqe s;
	struct cs_rename_arg a;
	size_t n = strlen(name), m = strlen(newname);

	if (n == 0 || m == 0 || n > CS_NAME_MAX || m > CS_NAME_MAX) {
		fuse_reply_err(req, (n == 0 || m == 0) ? EINVAL : ENAMETOOLONG);
		return;
	}
	sqe_init(&s, req, CS_OP_RENAME, parent);
	memset(&a, 0, sizeof(a));
	a.newparent = newparent;
	a.flags = flags;
	a.namelen = (uint32_t)n;
	a.newnamelen = (uint32_t)m;
	fe_cur.ac_ino2 = newparent; /* reply.c dir_changed() */
	submit_arg(req, &s, &a, sizeof(a), name, n, newname, m);
}

static void fe_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct cs_sqe s;
	struct cs_link_arg a;
	size_t n = strlen(newname);

	if (n == 0 || n > CS_NAME_MAX) {
		fuse_reply_err(req, n ? ENAMETOOLONG : EINVAL);
		return;
	}
	sqe_init(&s, req, CS_OP_LINK, ino);
	memset(&a, 0, sizeof(a));
	a.newparent = newparent;
	a.namelen = (uint32_t)n;
	fe_cur.ac_ino2 = newparent;
	submit_arg(req, &s, &a, sizeof(a), newname, n, NULL, 0);
}

/* With the writeback cache the kernel reads pages of write-only files and
 * handles O_APPEND itself (as libfuse's passthrough_ll does). O_NOATIME
 * tells cryptod that READs of the handle move no atime: those of a
 * write-only open are the kernel's reads before a partial page write, and
 * a ro mount moves none. */
static uint32_t open_flags(int flags)
{
	if (fe.noatime)
		flags |= O_NOATIME;
	if (!fe.read_only) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR | O_NOATIME;
		flags &= ~O_APPEND;
	} else {
		flags |= O_NOATIME;
	}
	return (uint32_t)flags;
}

static void open_common(fuse_req_t req, enum cs_op op, fuse_ino_t ino,
			uint32_t flags)
{
	struct cs_sqe s;
	struct cs_open_arg a = { .flags = flags, .pad = 0 };

	sqe_init(&s, req, op, ino);
	if (op == CS_OP_OPEN && (fe_kin & FE_KIN_KILL_SUIDGID))
		s.flags |= CS_F_KILL_SUIDGID;
	submit_arg(req, &s, &a, sizeof(a), NULL, 0, NULL, 0);
}

static void fe_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	open_common(req, CS_OP_OPEN, ino, open_flags(fi->flags));
}

static void fe_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	open_common(req, CS_OP_OPENDIR, ino, (uint32_t)fi->flags);
}

static void fe_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct cs_sqe s;
	if (size > CS_MAX_IO)
		size = CS_MAX_IO;
	sqe_init(&s, req, CS_OP_READ, ino);
	sqe_fh(&s, fi);
	s.off = (uint64_t)off;
	s.len = (uint32_t)size;
	submit(req, &s, 0, (uint32_t)size);
}

/* The payload was read by the kernel straight into this slot: only its
 * offset travels. */
static void fe_write_buf(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_bufvec *bufv, off_t off,
			 struct fuse_file_info *fi)
{
	struct cs_sqe s;
	const struct fuse_buf *b = &bufv->buf[0];
	size_t size = fuse_buf_size(bufv);

	if (bufv->count != 1 || (b->flags & FUSE_BUF_IS_FD) || bufv->off ||
	    size > CS_MAX_IO) {
		log_warnx("write: unexpected buffer layout");
		fuse_reply_err(req, EIO);
		return;
	}
	sqe_init(&s, req, CS_OP_WRITE, ino);
	sqe_fh(&s, fi);
	if (in_slot(b->mem, size, &s.arg_off) < 0) {
		log_warnx("write: payload outside its slot");
		fuse_reply_err(req, EIO);
		return;
	}
	s.off = (uint64_t)off;
	s.len = (uint32_t)size;
	s.arg_len = (uint32_t)size;
	if (fe.writeback)
		s.flags |= CS_F_KEEP_MTIME;
	if (fe_kin & FE_KIN_KILL_SUIDGID)
		s.flags |= CS_F_KILL_SUIDGID;
	submit(req, &s, 0, (uint32_t)size);
}

/* FLUSH carries nothing for cryptod (it only checked the handle): the
 * kernel writes dirty pages back (write_inode_now) and collects their
 * errors before it sends FLUSH, and ENOSYS makes it stop sending FLUSH for
 * the rest of the mount, one ring round trip less per close(). */
static void fe_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, ENOSYS);
}

static void fe_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	submit_plain(req, CS_OP_RELEASE, ino, fi);
}

/* FSYNC and FSYNCDIR: the handle and the datasync flag. */
static void fsync_common(fuse_req_t req, enum cs_op op, fuse_ino_t ino,
			 int datasync, struct fuse_file_info *fi)
{
	struct cs_sqe s;
	sqe_init(&s, req, op, ino);
	sqe_fh(&s, fi);
	if (datasync)
		s.flags |= CS_F_DATASYNC;
	submit(req, &s, 0, 0);
}

static void fe_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	fsync_common(req, CS_OP_FSYNC, ino, datasync, fi);
}

static void readdir_common(fuse_req_t req, enum cs_op op, fuse_ino_t ino,
			   size_t size, off_t off, struct fuse_file_info *fi,
			   uint16_t pflags)
{
	struct cs_sqe s;
	size_t ask = size;
	if (size > CS_MAX_IO)
		size = ask = CS_MAX_IO;
	/* A cs_dirent + name + cs_entry record is 128 + name bytes and
	 * becomes 152 + name bytes as fuse_direntplus: ask for so little
	 * that every record cryptod returns fits (it counted a lookup for
	 * each one). */
	if (op == CS_OP_READDIRPLUS)
		ask = size * 128 / 152;
	sqe_init(&s, req, op, ino);
	sqe_fh(&s, fi);
	s.off = (uint64_t)off;
	s.len = (uint32_t)ask;
	submit(req, &s, pflags, (uint32_t)size);
}

static void fe_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	readdir_common(req, CS_OP_READDIR, ino, size, off, fi, 0);
}

static void fe_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	readdir_common(req, CS_OP_READDIRPLUS, ino, size, off, fi, FE_P_PLUS);
}

static void fe_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	submit_plain(req, CS_OP_RELEASEDIR, ino, fi);
}

static void fe_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	fsync_common(req, CS_OP_FSYNCDIR, ino, datasync, fi);
}

static void fe_statfs(fuse_req_t req, fuse_ino_t ino)
{
	submit_plain(req, CS_OP_STATFS, ino, NULL);
}

static int is_user_xattr(const char *name)
{
	return !strncmp(name, "user.", 5);
}

static void fe_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct cs_sqe s;
	struct cs_xattr_arg a;
	size_t n = strlen(name);

	if (!is_user_xattr(name)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (n > CS_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (size > CS_XATTR_SIZE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	sqe_init(&s, req, CS_OP_SETXATTR, ino);
	memset(&a, 0, sizeof(a));
	a.flags = (uint32_t)flags;
	a.namelen = (uint32_t)n;
	a.valuelen = (uint32_t)size;
	submit_arg(req, &s, &a, sizeof(a), name, n, value, size);
}

/* Only user.* names exist on a cryptstack mount. Every other namespace is
 * answered here without a ring round trip, with EOPNOTSUPP: what the VFS
 * answers for a namespace a file system has no handler for, and what
 * setxattr already answered. ls -l asks for security.selinux and
 * system.posix_acl_access of every file, and stops asking on a device
 * that said EOPNOTSUPP once (ENODATA made it ask for each file: two
 * round trips per entry). The kernel's security.capability probe before
 * the first write to an inode (file_remove_privs) takes any error as "no
 * capability". */
static void fe_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	if (!is_user_xattr(name)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (size > CS_XATTR_SIZE_MAX)
		size = CS_XATTR_SIZE_MAX;
	submit_name(req, CS_OP_GETXATTR, ino, name, CS_XATTR_NAME_MAX,
		    (uint32_t)size, size ? 0 : FE_P_XATTR_SIZE);
}

static void fe_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct cs_sqe s;
	if (size > CS_XATTR_SIZE_MAX)
		size = CS_XATTR_SIZE_MAX;
	sqe_init(&s, req, CS_OP_LISTXATTR, ino);
	s.len = (uint32_t)size;
	submit(req, &s, size ? 0 : FE_P_XATTR_SIZE, (uint32_t)size);
}

static void fe_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (!is_user_xattr(name)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	submit_name(req, CS_OP_REMOVEXATTR, ino, name, CS_XATTR_NAME_MAX, 0, 0);
}

static void fe_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	create_common(req, CS_OP_CREATE, parent, name, mode, 0,
		      open_flags(fi->flags));
}

static void fe_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length, struct fuse_file_info *fi)
{
	struct cs_sqe s;
	struct cs_fallocate_arg a;

	sqe_init(&s, req, CS_OP_FALLOCATE, ino);
	sqe_fh(&s, fi);
	/* FUSE_HANDLE_KILLPRIV_V2: the kernel's file_modified() before a
	 * fallocate leaves suid/sgid to us but FALLOCATE carries no kill
	 * flag; a caller other than root stands for one without
	 * CAP_FSETID. */
	if (fe.killpriv && fuse_req_ctx(req)->uid != 0)
		s.flags |= CS_F_KILL_SUIDGID;
	memset(&a, 0, sizeof(a));
	a.mode = (uint32_t)mode;
	a.offset = (uint64_t)offset;
	a.length = (uint64_t)length;
	submit_arg(req, &s, &a, sizeof(a), NULL, 0, NULL, 0);
}

static void fe_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct cs_sqe s;
	struct cs_lseek_arg a = { .whence = (uint32_t)whence, .pad = 0 };

	/* With the writeback cache, data may still sit in dirty kernel pages
	 * cryptod has not seen (the kernel does not flush before LSEEK), so
	 * its answer could call fresh data a hole. ENOSYS makes the kernel
	 * fall back for good to "all data up to i_size", which is always
	 * true; read-only mounts keep real SEEK_DATA/SEEK_HOLE. */
	if (!fe.read_only) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	sqe_init(&s, req, CS_OP_LSEEK, ino);
	sqe_fh(&s, fi);
	s.off = (uint64_t)off;
	submit_arg(req, &s, &a, sizeof(a), NULL, 0, NULL, 0);
}

const struct fuse_lowlevel_ops fe_ops = {
	.init = fe_init,
	.lookup = fe_lookup,
	.forget = fe_forget,
	.forget_multi = fe_forget_multi,
	.getattr = fe_getattr,
	.setattr = fe_setattr,
	.readlink = fe_readlink,
	.mknod = fe_mknod,
	.mkdir = fe_mkdir,
	.unlink = fe_unlink,
	.rmdir = fe_rmdir,
	.symlink = fe_symlink,
	.rename = fe_rename,
	.link = fe_link,
	.open = fe_open,
	.read = fe_read,
	.write_buf = fe_write_buf,
	.flush = fe_flush,
	.release = fe_release,
	.fsync = fe_fsync,
	.opendir = fe_opendir,
	.readdir = fe_readdir,
	.readdirplus = fe_readdirplus,
	.releasedir = fe_releasedir,
	.fsyncdir = fe_fsyncdir,
	.statfs = fe_statfs,
	.setxattr = fe_setxattr,
	.getxattr = fe_getxattr,
	.listxattr = fe_listxattr,
	.removexattr = fe_removexattr,
	.create = fe_create,
	.fallocate = fe_fallocate,
	.lseek = fe_lseek,
};
