/* SPDX-License-Identifier: MIT */
/*
 * Attributes the kernel is about to ask for, answered without cryptod.
 *
 * After a create or unlink the kernel drops the parent directory's cached
 * attributes, and default_permissions then sends a GETATTR of that
 * directory before the next name operation in it; after an unlink it
 * also flushes the victim's times with a SETATTR (writeback cache), and
 * a file whose times were flushed after a write is asked for again.
 * cryptod's replies to CREATE/MKNOD/MKDIR/SYMLINK/UNLINK/RMDIR carry the
 * parent's attributes taken right after the change, UNLINK's also the
 * victim's (wire.h), and those of the new entry; SETATTR's and RELEASE's
 * replies those of their node. They are kept here, per node id, until
 * anything else is sent to cryptod about that node.
 *
 * Exactness. Every request about node X (its target, parent or new
 * parent) is stamped at submission (fe_ac_touch: a global sequence) and
 * counted in flight on X's entry until its reply (fe_ac_done). A reply's
 * snapshot of X is taken only if no other request about X overlapped the
 * replying one: none in flight (pending is 1 when the replying request
 * stamped X itself, else 0), none submitted after it (last), none
 * completed after its submission (done_at; both would mean cryptod may
 * have changed X after or while taking the snapshot). Nodes a request
 * changes without having stamped them (an unlink's victim, the file a
 * CREATE opened) are stamped when the reply names them, so that older
 * requests still in flight cannot put back a snapshot from before; an
 * UNLINK reply without its victim drops every snapshot. RENAME and RMDIR
 * change nodes nobody names (the moved or replaced entry, the removed
 * directory): they count as a request about every node (the "all"
 * entry). A request whose node's slot is held by a busy node is
 * untracked: no snapshot is taken while one is in flight or completed
 * after the stamp. A node whose slot went to another forgets its history:
 * evicted_max keeps the newest, for nodes the cache no longer knows.
 * Every change to X goes through this mount and through a request about
 * X, or one of the above (not with shared_lower: the cache is off).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend.h"
#include "util.h"

#define AC_SLOTS 256u /* power of two */

struct ac_ent {
	uint64_t ino;	  /* 0: free */
	uint64_t last;	  /* stamp of the newest request about ino */
	uint64_t done_at; /* sequence value when the last one completed */
	uint32_t pending; /* requests about ino in flight */
	uint8_t valid;	  /* a describes ino now */
	uint8_t unlinked; /* a is a file whose last name is gone */
	struct cs_attr a;
};

static pthread_mutex_t ac_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ac_ent ac_tab[AC_SLOTS];
static struct ac_ent ac_all;  /* RENAME, RMDIR: about every node */
static struct ac_ent ac_lost; /* untracked requests */
static uint64_t evicted_max;  /* newest last/done_at of a forgotten node */
static uint64_t ac_seq;	      /* last stamp handed out */

static struct ac_ent *slot_of(uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull;
	return &ac_tab[(h >> 40) & (AC_SLOTS - 1)];
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Gives idle slot e to ino (caller holds ac_mu). */
static void forget(struct ac_ent *e, uint64_t ino)
{
	if (e->ino)
		evicted_max = max64(evicted_max, max64(e->last, e->done_at));
	memset(e, 0, sizeof(*e));
	e->ino = ino;
}

/* Off with shared_lower and ro, and with CS_FRONTEND_ATTRCACHE=0 in the
 * environment (A/B measurements; read once). */
static int enabled(void)
{
	static atomic_int env = -1;
	int on = atomic_load_explicit(&env, memory_order_relaxed);
	if (on < 0) {
		unsigned v = 1;
		if (env_uint("CS_FRONTEND_ATTRCACHE", 1, &v) < 0)
			v = 1;
		on = (int)v;
		atomic_store(&env, on);
	}
	return on && !fe.shared_lower && !fe.read_only;
}

/* Whether a snapshot taken by the request stamped s may be kept, as far
 * as the "all" and "lost" entries tell (caller holds ac_mu). */
static int globally_quiet(uint64_t s)
{
	return !ac_all.pending && ac_all.last < s && ac_all.done_at < s &&
	       !ac_lost.pending && ac_lost.last < s && ac_lost.done_at < s;
}

uint64_t fe_ac_touch(uint64_t ino, int all)
{
	uint64_t s;
	if (!enabled() || !ino)
		return 0;
	pthread_mutex_lock(&ac_mu);
	s = ++ac_seq;
	struct ac_ent *e = slot_of(ino);
	if (all) {
		e = &ac_all;
		for (unsigned i = 0; i < AC_SLOTS; i++)
			ac_tab[i].valid = 0;
	} else if (e->ino != ino && e->pending) {
		e = &ac_lost; /* the slot's node is busy: untracked */
	} else if (e->ino != ino) {
		forget(e, ino);
	}
	e->last = s;
	e->pending++;
	e->valid = 0;
	pthread_mutex_unlock(&ac_mu);
	return s;
}

void fe_ac_done(uint64_t ino, uint64_t stamp, int all)
{
	if (!enabled() || !ino || !stamp)
		return;
	pthread_mutex_lock(&ac_mu);
	struct ac_ent *e = all ? &ac_all : slot_of(ino);
	if (!all && (e->ino != ino || !e->pending))
		e = &ac_lost; /* it was untracked (a busy slot) */
	if (e->pending)
		e->pending--;
	e->done_at = ac_seq;
	pthread_mutex_unlock(&ac_mu);
}

/* Keeps a, the snapshot of ino by the request stamped stamp that stamped
 * ino itself, when no other request about ino overlapped that one. */
static void put(uint64_t ino, uint64_t stamp, const struct cs_attr *a)
{
	if (!ino)
		return;
	pthread_mutex_lock(&ac_mu);
	struct ac_ent *e = slot_of(ino);
	/* the replying request stamped it and is still counted */
	if (globally_quiet(stamp) && e->ino == ino && e->pending == 1 &&
	    e->last == stamp && e->done_at < stamp) {
		e->a = *a;
		e->valid = 1;
		e->unlinked = 0;
	}
	pthread_mutex_unlock(&ac_mu);
}

/* The request stamped stamp changed node ino, which it did not stamp (the
 * frontend knew only a name): an UNLINK's victim, a CREATE's entry (an
 * existing file it may have truncated), a new node; a (0: cryptod knew no
 * node) is ino now. ino is stamped now, so that a snapshot by an older
 * request about it, still in flight, is refused; a is kept (keep, and
 * unlinked: a file whose last name is gone) when no request about ino
 * overlapped the changing one. */
static void foreign(uint64_t ino, uint64_t stamp, const struct cs_attr *a,
		    int keep, int unlinked)
{
	if (!ino)
		return;
	pthread_mutex_lock(&ac_mu);
	struct ac_ent *e = slot_of(ino);
	int ok = keep && globally_quiet(stamp);
	if (e->ino == ino)
		ok = ok && !e->pending && e->last < stamp &&
		     e->done_at < stamp;
	else
		ok = ok && !e->pending && evicted_max < stamp;
	if (e->ino != ino && e->pending) {
		ac_lost.last = ++ac_seq; /* cannot stamp ino: refuse all older */
	} else {
		if (e->ino != ino)
			forget(e, ino);
		e->last = e->done_at = ++ac_seq;
		e->valid = ok;
		if (ok) {
			e->a = *a;
			e->unlinked = unlinked != 0;
		}
	}
	pthread_mutex_unlock(&ac_mu);
}

/* A successful UNLINK whose reply names no victim: any node may have lost
 * a name. */
static void note_unlinked_unknown(void)
{
	pthread_mutex_lock(&ac_mu);
	for (unsigned i = 0; i < AC_SLOTS; i++)
		ac_tab[i].valid = 0;
	ac_all.last = ++ac_seq;
	pthread_mutex_unlock(&ac_mu);
}

int fe_ac_get(uint64_t ino, struct cs_attr *a, int *unlinked)
{
	int hit = 0;
	if (!enabled() || !ino)
		return 0;
	pthread_mutex_lock(&ac_mu);
	struct ac_ent *e = slot_of(ino);
	if (e->ino == ino && e->valid) {
		*a = e->a;
		*unlinked = e->unlinked;
		hit = 1;
	}
	pthread_mutex_unlock(&ac_mu);
	return hit;
}

void fe_ac_set_times(uint64_t ino, const struct cs_attr *a)
{
	if (!enabled() || !ino)
		return;
	pthread_mutex_lock(&ac_mu);
	struct ac_ent *e = slot_of(ino);
	if (e->ino == ino && e->valid)
		e->a = *a;
	pthread_mutex_unlock(&ac_mu);
}

/* The size of the reply block of op before the parent's attributes
 * (wire.h CS_PARENT_ATTR_OPS). */
static size_t parent_off(uint16_t op)
{
	switch (op) {
	case CS_OP_CREATE:
		return sizeof(struct cs_entry) + sizeof(struct cs_open_reply);
	case CS_OP_MKNOD:
	case CS_OP_MKDIR:
	case CS_OP_SYMLINK:
		return sizeof(struct cs_entry);
	case CS_OP_UNLINK:
		return sizeof(struct cs_unlinked);
	default:
		return 0;
	}
}

void fe_ac_complete(const struct fe_pending *p, const struct cs_cqe *c,
		    const uint8_t *slot)
{
	if (!p->ac_stamp && !p->ac_stamp2)
		return;
	/* the reply block: bounds as reply_one() checks them */
	if (c->res >= 0 && p->ac_stamp &&
	    (p->op == CS_OP_SETATTR || p->op == CS_OP_RELEASE) &&
	    c->data_off <= fe.slot_size &&
	    c->data_len <= fe.slot_size - c->data_off &&
	    c->data_len >= sizeof(struct cs_attr)) {
		/* the node right after the change or the close (the
		 * kernel's next GETATTR of it, e.g. an unlink's permission
		 * check after a write) */
		struct cs_attr a;
		memcpy(&a, slot + c->data_off, sizeof(a));
		put(p->ino, p->ac_stamp, &a);
	}
	if (c->res >= 0 && p->ac_stamp && c->data_off <= fe.slot_size &&
	    c->data_len <= fe.slot_size - c->data_off &&
	    ((1u << p->op) & CS_PARENT_ATTR_OPS)) {
		const uint8_t *d = slot + c->data_off;
		size_t len = c->data_len, off = parent_off(p->op);
		struct cs_attr a;
		struct cs_unlinked u;
		struct cs_entry ce;
		if (len >= off && len - off >= sizeof(a)) {
			memcpy(&a, d + off, sizeof(a));
			if ((a.mode & S_IFMT) == S_IFDIR)
				put(p->ino, p->ac_stamp, &a);
		}
		if (p->op == CS_OP_UNLINK) {
			if (len >= sizeof(u))
				memcpy(&u, d, sizeof(u));
			/* nodeid 0: cryptod named no victim (not a regular
			 * file, e.g. a FIFO or symlink with another name:
			 * its nlink and ctime changed all the same) */
			if (len >= sizeof(u) && u.nodeid) {
				foreign(u.nodeid, p->ac_stamp, &u.attr,
					u.attr.nlink == 0 &&
					    (u.attr.mode & S_IFMT) == S_IFREG,
					1);
			} else {
				note_unlinked_unknown();
			}
		} else if (off >= sizeof(ce) && len >= sizeof(ce)) {
			/* the new entry (asked for right after a create) */
			memcpy(&ce, d, sizeof(ce));
			foreign(ce.nodeid, p->ac_stamp, &ce.attr, 1, 0);
		}
	}
	fe_ac_done(p->ino, p->ac_stamp, 0);
	fe_ac_done(p->ac_ino2, p->ac_stamp2, (p->flags & FE_P_AC_ALL) != 0);
}
