/* SPDX-License-Identifier: MIT */
/*
 * Completion side: one thread per ring pair pops cqes, matches each to its
 * pending fuse_req_t and answers the kernel from the slot cryptod filled
 * (READ: straight from the slot, no copy), then frees the slot.
 *
 * cryptod is a peer that may be dead or broken. ring_cq_pop() already
 * checked slot range and data bounds; here we also check that the slot
 * belongs to this ring and is in flight with that id, and every reply
 * block's size. Any violation fails the whole mount closed: every request
 * then gets EIO, none hangs.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "frontend.h"
#include "log.h"
#include "util.h"

#define FE_CQ_BATCH 64
/* Longest pause after a missed poll: 2^FE_MISS_MAX requests of the class. */
#define FE_MISS_MAX 6

void fe_slot_put(uint32_t slot)
{
	pthread_mutex_lock(&fe.mu);
	fe.freelist[fe.nfree++] = slot;
	pthread_cond_signal(&fe.slot_cv);
	pthread_mutex_unlock(&fe.mu);
}

void fe_fail_pending(void)
{
	pthread_mutex_lock(&fe.mu);
	fe.failed = 1;
	for (uint32_t i = 0; i < fe.nslots; i++) {
		struct fe_pending *p = &fe.pend[i];
		if (!p->req)
			continue;
		fuse_req_t req = p->req;
		p->req = NULL;
		fuse_reply_err(req, EIO);
		fe.freelist[fe.nfree++] = i;
	}
	for (unsigned i = 0; i < fe.nrings; i++) {
		fe.rings[i].inflight = 0;
		pthread_cond_broadcast(&fe.rings[i].idle_cv);
	}
	pthread_cond_broadcast(&fe.slot_cv);
	pthread_mutex_unlock(&fe.mu);
}

static void attr_to_stat(const struct cs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_atim.tv_sec = a->atime;
	st->st_atim.tv_nsec = a->atime_nsec;
	st->st_mtim.tv_sec = a->mtime;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_ctim.tv_sec = a->ctime;
	st->st_ctim.tv_nsec = a->ctime_nsec;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_blksize = a->blksize;
}

int fe_reply_cs_attr(fuse_req_t req, const struct cs_attr *a)
{
	struct stat st;
	attr_to_stat(a, &st);
	return fuse_reply_attr(req, &st, fe.attr_timeout);
}

static void entry_param(const struct cs_entry *ce, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ce->nodeid;
	e->generation = ce->generation;
	attr_to_stat(&ce->attr, &e->attr);
	e->attr_timeout = fe.attr_timeout;
	e->entry_timeout = fe.entry_timeout;
}

/* Pushes FORGETs for readdirplus entries the kernel never saw (they did
 * not fit its buffer), so cryptod's lookup counts stay right. */
static void forget_dropped(struct fe_ring *rg, const uint8_t *data,
			   size_t pos, size_t dlen)
{
	while (dlen - pos >= sizeof(struct cs_dirent)) {
		struct cs_dirent d;
		struct cs_entry ce;
		memcpy(&d, data + pos, sizeof(d));
		size_t nl = ((size_t)d.namelen + 7) & ~(size_t)7;
		size_t rec = sizeof(d) + nl + sizeof(ce);
		if (d.namelen > CS_NAME_MAX || rec > dlen - pos)
			return;
		memcpy(&ce, data + pos + sizeof(d) + nl, sizeof(ce));
		const char *nm = (const char *)data + pos + sizeof(d);
		int dot = (d.namelen == 1 && nm[0] == '.') ||
			  (d.namelen == 2 && nm[0] == '.' && nm[1] == '.');
		if (ce.nodeid && !dot) {
			struct cs_sqe s;
			memset(&s, 0, sizeof(s));
			s.op = CS_OP_FORGET;
			s.ino = ce.nodeid;
			s.off = 1;
			s.slot = CS_NO_SLOT;
			pthread_mutex_lock(&fe.mu);
			if (!fe.failed)
				(void)ring_sq_push(fe.region, rg->idx, &s, 1);
			pthread_mutex_unlock(&fe.mu);
		}
		pos += rec;
	}
	ring_sq_kick(fe.region, rg->idx);
}

/* Turns cryptod's directory records into the kernel's, in place for
 * READDIR (same record size), into a private buffer for READDIRPLUS.
 * Returns 0 after replying, or -EPROTO for a malformed listing. */
static int reply_dir(struct fe_ring *rg, fuse_req_t req,
		     const struct fe_pending *p, uint8_t *data, size_t dlen)
{
	int plus = !!(p->flags & FE_P_PLUS);
	size_t cap = p->size, pos = 0, out = 0;
	uint8_t *obuf = data;
	char name[CS_NAME_MAX + 1];

	if (plus) {
		obuf = malloc(cap ? cap : 1);
		if (!obuf) {
			fuse_reply_err(req, ENOMEM);
			return 0;
		}
	} else if (cap > dlen) {
		cap = dlen; /* in place: never write past what we read */
	}
	while (pos < dlen) {
		struct cs_dirent d;
		struct cs_entry ce;
		if (dlen - pos < sizeof(d))
			goto bad;
		memcpy(&d, data + pos, sizeof(d));
		if (d.namelen == 0 || d.namelen > CS_NAME_MAX)
			goto bad;
		size_t nl = ((size_t)d.namelen + 7) & ~(size_t)7;
		size_t rec = sizeof(d) + nl + (plus ? sizeof(ce) : 0);
		if (rec > dlen - pos)
			goto bad;
		memcpy(name, data + pos + sizeof(d), d.namelen);
		name[d.namelen] = '\0';
		if (memchr(name, '\0', d.namelen) || memchr(name, '/', d.namelen))
			goto bad;
		size_t used;
		if (plus) {
			struct fuse_entry_param e;
			memcpy(&ce, data + pos + sizeof(d) + nl, sizeof(ce));
			entry_param(&ce, &e);
			if (!e.ino) {
				/* no entry: the kernel only shows the name */
				e.attr.st_ino = d.ino;
				e.attr.st_mode = (mode_t)(d.type << 12);
			}
			used = fuse_add_direntry_plus(req, (char *)obuf + out,
						      cap - out, name, &e,
						      (off_t)d.off);
		} else {
			struct stat st;
			memset(&st, 0, sizeof(st));
			st.st_ino = d.ino;
			st.st_mode = (mode_t)(d.type << 12);
			used = fuse_add_direntry(req, (char *)obuf + out,
						 cap - out, name, &st,
						 (off_t)d.off);
		}
		if (used > cap - out) {
			if (plus)
				forget_dropped(rg, data, pos, dlen);
			break;
		}
		out += used;
		pos += rec;
	}
	fuse_reply_buf(req, (const char *)obuf, out);
	if (plus)
		free(obuf);
	return 0;
bad:
	if (plus)
		free(obuf);
	return -EPROTO;
}

/* Answers one completed request. Returns 0, or -EPROTO when the reply
 * block is malformed (the request itself was answered EIO). */
/* A successful request that changed directory dir's entries, so its
 * nlink, size or times: drop the kernel's attributes of dir with a notify,
 * which also bumps dir's attr_version, before the reply. The kernel's own
 * fuse_dir_changed() after the reply only invalidates: attributes of dir
 * that cryptod took before the change for a READDIRPLUS, LOOKUP or
 * GETATTR, applied by the kernel after the reply, were kept for the attr
 * timeout (nlink 3 after an rmdir, fs/fuse/readdir.c and dir.c compare
 * attr_version). Now the kernel refuses those sent before the bump, and
 * the invalidation covers those applied before it. dir's attributes are
 * invalid after the op anyway: no extra GETATTR, one write per op. */
static void dir_changed(uint64_t dir)
{
	if (dir)
		fuse_lowlevel_notify_inval_inode(fe.se, dir, -1, 0);
}

static int reply_one(struct fe_ring *rg, const struct fe_pending *p,
		     const struct cs_cqe *c)
{
	fuse_req_t req = p->req;
	uint8_t *slot = ring_slot(fe.region, c->slot);
	uint8_t *data;
	size_t dlen = c->data_len;
	int err;

	/* attrcache.c: before the kernel sees the reply and asks again */
	fe_ac_complete(p, c, slot);
	if (c->data_off > fe.slot_size || dlen > fe.slot_size - c->data_off)
		goto bad;
	data = slot + c->data_off;

	if (c->res < 0) {
		err = -c->res;
		if (err <= 0 || err >= 4096)
			err = EIO;
		if (p->op == CS_OP_LOOKUP && err == ENOENT &&
		    !fe.shared_lower) {
			/* negative entry, cached as long as positive ones */
			struct fuse_entry_param e;
			memset(&e, 0, sizeof(e));
			e.entry_timeout = fe.entry_timeout;
			fuse_reply_entry(req, &e);
		} else {
			fuse_reply_err(req, err);
		}
		return 0;
	}

	switch (p->op) {
	case CS_OP_CREATE:
	case CS_OP_MKNOD:
	case CS_OP_MKDIR:
	case CS_OP_SYMLINK:
	case CS_OP_UNLINK:
	case CS_OP_RMDIR:
		dir_changed(p->ino);
		break;
	case CS_OP_RENAME:
		dir_changed(p->ino);
		if (p->ac_ino2 != p->ino)
			dir_changed(p->ac_ino2);
		break;
	case CS_OP_LINK:
		dir_changed(p->ac_ino2);
		break;
	default:
		break;
	}

	switch (p->op) {
	case CS_OP_LOOKUP:
	case CS_OP_MKNOD:
	case CS_OP_MKDIR:
	case CS_OP_SYMLINK:
	case CS_OP_LINK: {
		struct cs_entry ce;
		struct fuse_entry_param e;
		if (dlen < sizeof(ce))
			goto bad;
		memcpy(&ce, data, sizeof(ce));
		entry_param(&ce, &e);
		if (!e.ino && p->op != CS_OP_LOOKUP)
			goto bad;
		fuse_reply_entry(req, &e);
		return 0;
	}
	case CS_OP_GETATTR:
	case CS_OP_SETATTR: {
		struct cs_attr a;
		struct stat st;
		if (dlen < sizeof(a))
			goto bad;
		memcpy(&a, data, sizeof(a));
		attr_to_stat(&a, &st);
		fuse_reply_attr(req, &st, fe.attr_timeout);
		return 0;
	}
	case CS_OP_READLINK: {
		char target[CS_SYMLINK_MAX + 1];
		if (dlen == 0 || dlen > CS_SYMLINK_MAX)
			goto bad;
		memcpy(target, data, dlen);
		target[dlen] = '\0';
		fuse_reply_readlink(req, target);
		return 0;
	}
	case CS_OP_OPEN:
	case CS_OP_OPENDIR: {
		struct cs_open_reply o;
		struct fuse_file_info fi;
		if (dlen < sizeof(o))
			goto bad;
		memcpy(&o, data, sizeof(o));
		memset(&fi, 0, sizeof(fi));
		fi.fh = o.fh;
		if (p->op == CS_OP_OPEN) {
			fi.keep_cache = (o.open_flags & CS_OPEN_KEEP_CACHE) &&
					!fe.shared_lower;
			fi.direct_io = !!(o.open_flags & CS_OPEN_DIRECT_IO);
		}
		fuse_reply_open(req, &fi);
		return 0;
	}
	case CS_OP_CREATE: {
		struct cs_entry ce;
		struct cs_open_reply o;
		struct fuse_entry_param e;
		struct fuse_file_info fi;
		if (dlen < sizeof(ce) + sizeof(o))
			goto bad;
		memcpy(&ce, data, sizeof(ce));
		memcpy(&o, data + sizeof(ce), sizeof(o));
		entry_param(&ce, &e);
		if (!e.ino)
			goto bad;
		memset(&fi, 0, sizeof(fi));
		fi.fh = o.fh;
		fi.keep_cache = (o.open_flags & CS_OPEN_KEEP_CACHE) &&
				!fe.shared_lower;
		fi.direct_io = !!(o.open_flags & CS_OPEN_DIRECT_IO);
		fuse_reply_create(req, &e, &fi);
		return 0;
	}
	case CS_OP_READ:
		/* Straight from the slot cryptod decrypted into. */
		if (dlen > p->size)
			dlen = p->size;
		fuse_reply_buf(req, (const char *)data, dlen);
		return 0;
	case CS_OP_WRITE:
		if ((uint32_t)c->res > p->size)
			goto bad;
		/* cryptod cleared suid/sgid (FUSE_HANDLE_KILLPRIV_V2): the
		 * kernel refreshes only size and times after a write, so
		 * drop its attributes before the writer returns. */
		if (c->val == CS_WRITE_MODE_CHANGED)
			fuse_lowlevel_notify_inval_inode(fe.se, p->ino, -1, 0);
		fuse_reply_write(req, (size_t)c->res);
		return 0;
	case CS_OP_READDIR:
	case CS_OP_READDIRPLUS:
		if (reply_dir(rg, req, p, data, dlen) < 0)
			goto bad;
		return 0;
	case CS_OP_STATFS: {
		struct cs_statfs s;
		struct statvfs v;
		if (dlen < sizeof(s))
			goto bad;
		memcpy(&s, data, sizeof(s));
		memset(&v, 0, sizeof(v));
		v.f_bsize = s.bsize;
		v.f_frsize = s.frsize;
		v.f_blocks = s.blocks;
		v.f_bfree = s.bfree;
		v.f_bavail = s.bavail;
		v.f_files = s.files;
		v.f_ffree = s.ffree;
		v.f_favail = s.favail;
		v.f_fsid = s.fsid;
		v.f_flag = s.flag;
		v.f_namemax = s.namemax;
		fuse_reply_statfs(req, &v);
		return 0;
	}
	case CS_OP_GETXATTR:
	case CS_OP_LISTXATTR:
		if (p->flags & FE_P_XATTR_SIZE) {
			if (c->val > CS_XATTR_SIZE_MAX)
				goto bad;
			fuse_reply_xattr(req, (size_t)c->val);
		} else {
			if (dlen > p->size)
				goto bad;
			fuse_reply_buf(req, (const char *)data, dlen);
		}
		return 0;
	case CS_OP_LSEEK:
		if (c->val > INT64_MAX)
			goto bad;
		fuse_reply_lseek(req, (off_t)c->val);
		return 0;
	case CS_OP_UNLINK:
	case CS_OP_RMDIR:
	case CS_OP_RENAME:
	case CS_OP_FLUSH:
	case CS_OP_RELEASE:
	case CS_OP_FSYNC:
	case CS_OP_RELEASEDIR:
	case CS_OP_FSYNCDIR:
	case CS_OP_FALLOCATE:
		/* suid/sgid cleared: as after a WRITE */
		if (c->val == CS_WRITE_MODE_CHANGED)
			fuse_lowlevel_notify_inval_inode(fe.se, p->ino, -1, 0);
		fuse_reply_err(req, 0);
		return 0;
	case CS_OP_SETXATTR:
	case CS_OP_REMOVEXATTR:
		fuse_reply_err(req, 0);
		return 0;
	default:
		break;
	}
bad:
	fuse_reply_err(req, EIO);
	return -EPROTO;
}

/* Takes the pending entry a cqe names. Returns 0, or -EPROTO if the cqe
 * names a slot that is not in flight on this ring with that id. */
static int take_pending(struct fe_ring *rg, const struct cs_cqe *c,
			struct fe_pending *out)
{
	int ret = -EPROTO;
	if (c->slot >= fe.nslots)
		return -EPROTO;
	pthread_mutex_lock(&fe.mu);
	struct fe_pending *p = &fe.pend[c->slot];
	if (p->req && p->id == c->id && p->ring == rg->idx) {
		*out = *p;
		p->req = NULL;
		rg->inflight--;
		rg->progress_ns = now_ns();
		ret = 0;
	}
	pthread_mutex_unlock(&fe.mu);
	return ret;
}

static void fail_all(const char *why)
{
	if (!atomic_exchange(&fe.dead, 1))
		log_warnx("%s: answering EIO to every request from now on",
			  why);
	/* Completion threads parked on idle_cv must see it. */
	pthread_mutex_lock(&fe.mu);
	for (unsigned i = 0; i < fe.nrings; i++)
		pthread_cond_broadcast(&fe.rings[i].idle_cv);
	pthread_mutex_unlock(&fe.mu);
}

/* Pops and answers one batch of rg's completions; caller holds rg->cq_mu.
 * Returns the count (0: none there) and sets *seen when `want` was among
 * them; a broken ring or reply fails the mount (fail_all) and returns
 * -EPROTO. */
static int drain_locked(struct fe_ring *rg, uint64_t want, int *seen)
{
	struct cs_cqe cqes[FE_CQ_BATCH];
	int n = ring_cq_pop(fe.region, rg->idx, cqes, FE_CQ_BATCH);
	if (n < 0) {
		fail_all("cryptod broke the ring protocol");
		return -EPROTO;
	}
	for (int i = 0; i < n; i++) {
		struct fe_pending p;
		if (take_pending(rg, &cqes[i], &p) < 0) {
			fail_all("cryptod completed an unknown request");
			return -EPROTO;
		}
		if (p.id == want)
			*seen = 1;
		if (reply_one(rg, &p, &cqes[i]) < 0)
			fail_all("cryptod sent a malformed reply");
		fe_slot_put(cqes[i].slot);
	}
	return n;
}

int fe_spin_want(uint16_t op, uint32_t len)
{
	unsigned cl = op;
	/* Nobody waits for these answers (the kernel sends them in the
	 * background): the thread goes back to /dev/fuse at once, and the
	 * answer waits for its next poll (fe_cur.deferred). */
	if (op == CS_OP_RELEASE || op == CS_OP_RELEASEDIR) {
		fe_cur.async = 1;
		return 0;
	}
	/* A large READ or WRITE takes longer than the window (a MiB is
	 * ~0.4 ms of cipher work): not waited for, and another receive
	 * thread reads the next request while this one finishes. */
	if ((op == CS_OP_READ || op == CS_OP_WRITE) && len > FE_SPIN_LARGE) {
		fe_role_pass();
		return 0;
	}
	if (!fe.spin_ns || op >= CS_OP__MAX)
		return 0;
	if (fe_cur.skip[cl]) {
		fe_cur.skip[cl]--;
		return 0;
	}
	fe_cur.poll_class = cl;
	return 1;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

int fe_spin_wait(void)
{
	struct fe_ring *rg = fe_cur.poll_ring;
	uint64_t id = fe_cur.poll_id, end = now_ns() + fe.spin_ns;
	unsigned cl = fe_cur.poll_class;
	int seen = 0;

	fe_cur.poll_ring = NULL;
	for (;;) {
		if (pthread_mutex_trylock(&rg->cq_mu) == 0) {
			int n = drain_locked(rg, id, &seen);
			pthread_mutex_unlock(&rg->cq_mu);
			if (n < 0)
				break;
		} else {
			/* Someone else consumes: look whether it was ours. */
			pthread_mutex_lock(&fe.mu);
			seen = fe.pend[(uint32_t)id].req == NULL ||
			       fe.pend[(uint32_t)id].id != id;
			pthread_mutex_unlock(&fe.mu);
		}
		if (seen || now_ns() >= end)
			break;
		/* A request of another application waits: let another
		 * receive thread read it. */
		fe_role_check();
		/* Between looks, give the CPU to a runnable thread (the
		 * cryptod worker may have been woken onto this CPU). The
		 * answer is on its way: keep looking on a contended CPU
		 * too (ring_yield() notes the contention for the polls
		 * that wait for new requests). */
		for (int i = 0; i < 32; i++)
			cpu_relax();
		(void)ring_yield();
	}
	pthread_mutex_lock(&fe.mu);
	rg->polling--;
	if (!rg->polling && rg->inflight)
		pthread_cond_signal(&rg->idle_cv);
	pthread_mutex_unlock(&fe.mu);
	if (seen) {
		fe_cur.miss[cl] = 0;
	} else {
		if (fe_cur.miss[cl] < FE_MISS_MAX)
			fe_cur.miss[cl]++;
		fe_cur.skip[cl] = (uint16_t)(1u << fe_cur.miss[cl]);
	}
	return seen;
}

void fe_kick_deferred_locked(void)
{
	struct fe_ring *rg = fe_cur.deferred;
	fe_cur.deferred = NULL;
	if (rg && !rg->polling && rg->inflight)
		pthread_cond_signal(&rg->idle_cv);
}

void fe_kick_deferred(void)
{
	pthread_mutex_lock(&fe.mu);
	fe_kick_deferred_locked();
	pthread_mutex_unlock(&fe.mu);
}

/* Completion thread of ring arg: consumes the ring while requests are in
 * flight on it that no receive thread polls for; parks on idle_cv (not on
 * the ring's doorbell, so cryptod's completions for a polling receive
 * thread cost no wake-up) otherwise. */
void *fe_completer(void *arg)
{
	struct fe_ring *rg = arg;

	for (;;) {
		if (atomic_load(&fe.dead)) {
			fe_fail_pending();
			return NULL;
		}
		pthread_mutex_lock(&fe.mu);
		while ((!rg->inflight || rg->polling) && !fe.failed &&
		       !atomic_load(&fe.dead))
			pthread_cond_wait(&rg->idle_cv, &fe.mu);
		pthread_mutex_unlock(&fe.mu);
		if (atomic_load(&fe.dead))
			continue;
		int seen = 0;
		pthread_mutex_lock(&rg->cq_mu);
		int n = drain_locked(rg, 0, &seen);
		pthread_mutex_unlock(&rg->cq_mu);
		if (n != 0)
			continue;
		int r = ring_cq_wait_peer(fe.region, rg->idx, fe.peer_fd, 1000);
		if (r == -EPIPE)
			fail_all("cryptod is gone");
		else if (r < 0 && r != -ETIMEDOUT && r != -EINTR &&
			 r != -EAGAIN)
			fail_all("ring wait failed");
	}
}
