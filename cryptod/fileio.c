/* SPDX-License-Identifier: MIT */
/*
 * File contents: open state (FEK-derived extent key, header), extent-range
 * locks, read, write, truncate, fallocate and SEEK_DATA/SEEK_HOLE on the
 * csfmt layout (cryptod/fmt/fmt.h).
 *
 * Lower I/O: records and the header block go through the buffered fd;
 * extent data through an O_DIRECT fd when the lower filesystem accepts one
 * (tmpfs does not: then the buffered fd). Data blocks and record/header
 * blocks never share a page, so the two views stay coherent.
 *
 * Update order (FORMAT.md): records before data, the size slot last; the
 * file is marked FMT_SZ_DIRTY (one size-slot write) before its first change
 * after open and cleaned on last close. Truncating down writes the size
 * before cutting the lower file; growing cuts/extends the lower file first.
 *
 * Invariant kept by every writer: plaintext bytes of the last extent beyond
 * EOF are zero, so growing a file never needs to re-seal old extents.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cipher.h"
#include "cryptod.h"
#include "fmt.h"
#include "log.h"
#include "secmem.h"
#include "util.h"

#define REC_AREA_OFF  0u
#define REC_AREA_LEN  (64u << 10)
#define DATA_AREA_OFF REC_AREA_LEN
#define MAXSEG	      8u
#define B	      FMT_EXTENT

/* ---- range locks ------------------------------------------------------ */

static void rl_init(struct cd_rlock *rl)
{
	pthread_mutex_init(&rl->mu, NULL);
	pthread_cond_init(&rl->cv, NULL);
	rl->held = NULL;
}

static bool rl_conflict(const struct cd_rlock *rl, const struct cd_range *r)
{
	for (const struct cd_range *h = rl->held; h; h = h->next)
		if (h->start < r->end && r->start < h->end &&
		    (h->excl || r->excl))
			return true;
	return false;
}

/* Locks extents [start, end) of f; r is caller storage until unlock. */
static void rl_lock(struct cd_rlock *rl, struct cd_range *r, uint64_t start,
		    uint64_t end, bool excl)
{
	r->start = start;
	r->end = end;
	r->excl = excl;
	pthread_mutex_lock(&rl->mu);
	while (rl_conflict(rl, r))
		pthread_cond_wait(&rl->cv, &rl->mu);
	r->next = rl->held;
	rl->held = r;
	pthread_mutex_unlock(&rl->mu);
}

static void rl_unlock(struct cd_rlock *rl, struct cd_range *r)
{
	pthread_mutex_lock(&rl->mu);
	struct cd_range **p = &rl->held;
	while (*p != r)
		p = &(*p)->next;
	*p = r->next;
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
}

/* ---- helpers ---------------------------------------------------------- */

static uint8_t *recbuf(struct cd_worker *w)
{
	return w->ctbuf + REC_AREA_OFF;
}

static uint8_t *databuf(struct cd_worker *w)
{
	return w->ctbuf + DATA_AREA_OFF;
}

static size_t data_cap(struct cd_worker *w)
{
	return w->ctbuf_len - DATA_AREA_OFF;
}

int cd_worker_scratch(struct cd_worker *w)
{
	if (!w->pt) {
		w->pt = aligned_alloc(4096, 2 * B);
		if (!w->pt)
			return -ENOMEM;
	}
	if (!w->secret) {
		w->secret = secmem_alloc(4096);
		if (!w->secret)
			return -ENOMEM;
	}
	return 0;
}

/* Writes header-area bytes area[o, o + l) (size slot or records seal)
 * through fd (f->fd_buf, or a writable fd of the same file). */
static int hdr_write_fd(struct cd_worker *w, struct cd_file *f, int fd,
			const uint8_t area[static FMT_HDR_AREA], uint64_t o,
			uint32_t l)
{
	if (o > FMT_HDR_AREA || l > FMT_HDR_AREA - o)
		return -EINVAL;
	/* The size slot and the seal are bookkeeping, not a change of
	 * content the user made: keep the lower mtime (which is the file's
	 * mtime) as it was, so a last close or a crash mark never moves a
	 * time that tar, cp -p or the kernel's writeback cache set. */
	struct stat st;
	bool keep = fstat(f->fd_buf, &st) == 0;
	int rc = cd_io_write(w, fd, area + o, l, o);
	if (rc >= 0 && keep) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, st.st_mtim};
		if (futimens(f->fd_buf, ts) < 0)
			log_warn("size slot: keeping the lower mtime");
	}
	return rc;
}

static int hdr_write(struct cd_worker *w, struct cd_file *f,
		     const uint8_t area[static FMT_HDR_AREA], uint64_t o,
		     uint32_t l)
{
	return hdr_write_fd(w, f, f->fd_buf, area, o, l);
}

/* Seals the size (with flags) into the next slot and writes that slot;
 * caller holds f->lock. */
static int size_commit(struct cd_worker *w, struct cd_file *f, uint64_t size,
		       uint32_t flags)
{
	uint64_t o;
	uint32_t l;
	uint8_t area[FMT_HDR_AREA];
	int rc =
	    fmt_size_update(f->hdr, w->cipher, f->key, size, flags, &o, &l);
	if (rc < 0)
		return rc;
	rc = fmt_header_serialize(f->hdr, area);
	if (rc < 0)
		return rc;
	return hdr_write(w, f, area, o, l);
}

/* ---- records seal (FORMAT.md "Records seal") --------------------------- */

struct dig_io {
	int fd;
};

static int dig_read(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	/* Plain pread: the records are small, mostly cached reads one after
	 * the other (an io_uring round trip per 16 KiB group cost 3x). */
	struct dig_io *d = arg;
	ssize_t n = pread_full(d->fd, buf, len, off);
	if (n < 0)
		return (int)n;
	memset(buf + n, 0, len - (size_t)n); /* past the lower EOF */
	return 0;
}

static int64_t dig_seek_data(void *arg, uint64_t off)
{
	struct dig_io *d = arg;
	off_t r = lseek(d->fd, (off_t)off, SEEK_DATA);
	if (r < 0)
		return errno == ENXIO ? INT64_MAX : -errno;
	return (int64_t)r;
}

static void dig_prefetch(void *arg, uint64_t off, size_t len)
{
	/* Only a hint (a cold file is read with many requests in flight
	 * instead of one group at a time): a failure costs speed only. */
	struct dig_io *d = arg;
	(void)posix_fadvise(d->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

/* Digest of the records of a file of plaintext size `size` (the worker's
 * record buffer is the scratch). */
static int recs_digest(struct cd_worker *w, struct cd_file *f, uint64_t size,
		       uint8_t d[static FMT_DIGEST_LEN])
{
	struct dig_io di = {.fd = f->fd_buf};
	struct fmt_recs_io io = {.read = dig_read,
				 .seek_data = dig_seek_data,
				 .prefetch = dig_prefetch,
				 .arg = &di};
	_Static_assert(FMT_GROUP_RECS_LEN <= REC_AREA_LEN, "digest scratch");
	return fmt_recs_digest(&io, fmt_extent_count(size), recbuf(w), d);
}

/* Clean close of a sealed file: seal the records for the clean slot of
 * `size` and write the seal (waited for) before that slot; f->lock held. */
static int recs_seal(struct cd_worker *w, struct cd_file *f, uint64_t size)
{
	uint8_t d[FMT_DIGEST_LEN], area[FMT_HDR_AREA];
	uint64_t o;
	uint32_t l;
	int rc = recs_digest(w, f, size, d);
	if (rc == 0)
		rc = fmt_recs_seal(f->hdr, w->cipher, f->key, size, d, &o, &l);
	if (rc == 0)
		rc = fmt_header_serialize(f->hdr, area);
	if (rc == 0)
		rc = hdr_write(w, f, area, o, l);
	return rc;
}

int cd_file_verify(struct cd_worker *w, struct cd_file *f)
{
	uint8_t d[FMT_DIGEST_LEN];
	int rc = 0;
	if (__atomic_load_n(&f->seal_state, __ATOMIC_ACQUIRE) == CD_SEAL_OK)
		return 0;
	pthread_mutex_lock(&f->lock);
	if (f->seal_state == CD_SEAL_PENDING) {
		/* Pending means nothing changed the file since open. */
		rc = recs_digest(w, f, f->hdr->size, d);
		if (rc == 0 && fmt_recs_verify(f->hdr, w->cipher, f->key, d)) {
			log_warnx("lower file ino %llu: records do not match "
				  "the seal: an extent was rolled back or "
				  "replaced",
				  (unsigned long long)f->ino);
			__atomic_store_n(&f->seal_state, CD_SEAL_BAD,
					 __ATOMIC_RELEASE);
		} else if (rc == 0) {
			__atomic_store_n(&f->seal_state, CD_SEAL_OK,
					 __ATOMIC_RELEASE);
		}
	}
	if (rc == 0 && f->seal_state == CD_SEAL_BAD)
		rc = -EIO;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Marks the file dirty on disk before its first change; f->lock held. */
static int mark_dirty(struct cd_worker *w, struct cd_file *f)
{
	if (f->dirty || f->plain)
		return 0;
	int rc = size_commit(w, f, f->size, FMT_SZ_DIRTY);
	if (rc == 0)
		f->dirty = true;
	return rc;
}

static int begin_change(struct cd_worker *w, struct cd_file *f, uint64_t *size)
{
	if (!f->writable)
		return -EBADF;
	int vr = cd_file_verify(w, f);
	if (vr < 0)
		return vr;
	pthread_mutex_lock(&f->lock);
	int rc = mark_dirty(w, f);
	*size = f->size;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Raises the size to at least end (writers extending the file). */
static int grow_size(struct cd_worker *w, struct cd_file *f, uint64_t end)
{
	int rc = 0;
	pthread_mutex_lock(&f->lock);
	if (end > f->size) {
		rc = size_commit(w, f, end, FMT_SZ_DIRTY);
		if (rc == 0)
			f->size = end;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static void log_bad(struct cd_file *f, uint64_t ext)
{
	log_warnx("authentication failed: lower file ino %llu extent %llu",
		  (unsigned long long)f->ino, (unsigned long long)ext);
}

static int rmw_extent(struct cd_worker *w, struct cd_file *f, uint64_t size,
		      uint64_t e, uint32_t a, uint32_t b, const uint8_t *src);

/* ---- open state ------------------------------------------------------- */

static void file_free(struct cd_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0 && f->fd != f->fd_buf) {
		cd_files_unregister(f->fd);
		close(f->fd);
	}
	if (f->fd_buf >= 0) {
		cd_files_unregister(f->fd_buf);
		close(f->fd_buf);
	}
	cipher_key_free(f->key);
	if (f->hdr) {
		secmem_wipe(f->hdr, sizeof(*f->hdr));
		free(f->hdr);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
}

_Static_assert(sizeof(((struct cd_inode *)0)->bind_tag) == FMT_BIND_LEN,
	       "binding tag");

/* Reads the header, unwraps the FEK and derives the extent key; checks the
 * name binding against n's (n->lock held). */
static int file_load(struct cd_worker *w, struct cd_file *f,
		     const struct cd_inode *node)
{
	uint8_t ad[FMT_FIXED_LEN];
	uint8_t *blk = recbuf(w);
	struct stat st;
	int rc;

	ssize_t n = cd_io_read(w, f->fd_buf, blk, FMT_HDR_BLOCK, 0);
	if (n < 0)
		return (int)n;
	f->hdr = calloc(1, sizeof(*f->hdr));
	if (!f->hdr)
		return -ENOMEM;
	rc = fmt_header_parse(blk, (size_t)n, f->hdr);
	if (rc < 0 && cd.passthrough &&
	    (rc == -EMEDIUMTYPE || (size_t)n < FMT_MAGIC_LEN ||
	     memcmp(blk, FMT_MAGIC, FMT_MAGIC_LEN))) {
		/* Not one of ours: shown as a plain file (eCryptfs's
		 * ecryptfs_passthrough). */
		if (fstat(f->fd_buf, &st) < 0)
			return -errno;
		f->plain = true;
		f->size = (uint64_t)st.st_size;
		return 0;
	}
	if (rc < 0) {
		log_warnx("lower file ino %llu: bad header (%s)",
			  (unsigned long long)f->ino, strerror(-rc));
		return -EIO;
	}
	rc = fmt_header_ad(f->hdr, ad, sizeof(ad));
	if (rc < 0)
		return -EIO;
	uint8_t *fek = w->secret;
	char missing[KD_MAX_KEYS * (2 * KD_ID_LEN + 1) + 1] = "";
	rc = -EACCES;
	bool fresh = false;
	if (w->fresh_valid && (size_t)n == FMT_HDR_BLOCK &&
	    memcmp(blk, w->fresh_hdr, FMT_HDR_BLOCK) == 0) {
		/* The header this request just wrote: its FEK is known. */
		memcpy(fek, w->secret + CD_FRESH_OFF, KD_FEK_LEN);
		rc = 0;
		fresh = true;
	}
	for (unsigned i = 0; rc != 0 && i < f->hdr->npackets &&
			     i < FMT_MAX_PACKETS;
	     i++) {
		int u = cd_keyd_unwrap(&f->hdr->pkt[i], ad, FMT_FIXED_LEN, fek);
		if (u == 0) {
			rc = 0;
			break;
		}
		if (u != -ENOKEY && u != -EBADMSG) {
			rc = u;
			break;
		}
		size_t ml = strlen(missing);
		for (unsigned k = 0; k < KD_ID_LEN; k++)
			snprintf(missing + ml + 2 * k, 3, "%02x",
				 f->hdr->pkt[i].id[k]);
		strcat(missing, u == -EBADMSG ? "! " : " ");
	}
	if (rc == -EACCES)
		log_warnx("lower file ino %llu: no key of this mount unwraps "
			  "it (key ids: %s)",
			  (unsigned long long)f->ino, missing);
	if (rc < 0)
		goto out;
	if (fresh && w->fresh_key) {
		/* Derived from the same FEK and header moments ago. */
		f->key = w->fresh_key;
		w->fresh_key = NULL;
	} else {
		rc = fmt_file_key_new(f->hdr, fek,
				      cipher_thread_backend(w->cipher), &f->key);
		if (rc < 0)
			goto out;
	}
	rc = fmt_size_open(f->hdr, w->cipher, f->key);
	if (rc < 0) {
		log_warnx("lower file ino %llu: %s", (unsigned long long)f->ino,
			  rc == -ESTALE ? "a size slot was erased"
					: "size fails authentication");
		rc = -EIO;
		goto out;
	}
	if (node->bind_known &&
	    fmt_size_bind_check(f->hdr, node->bind_tag) < 0) {
		log_warnx("lower file ino %llu: bound to another name: renamed "
			  "or swapped in the lower directory",
			  (unsigned long long)f->ino);
		rc = -EIO;
		goto out;
	}
	if (fstat(f->fd_buf, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (fmt_check_lower_size(f->hdr, (uint64_t)st.st_size) < 0) {
		log_warnx("lower file ino %llu: cut short (size %llu)",
			  (unsigned long long)f->ino,
			  (unsigned long long)f->hdr->size);
		rc = -EIO;
		goto out;
	}
	f->size = f->hdr->size;
	f->dirty = (f->hdr->size_flags & FMT_SZ_DIRTY) != 0;
	/* A header this request just wrote carries a seal it just made. */
	if (fmt_recs_check_needed(f->hdr) && !fresh)
		f->seal_state = CD_SEAL_PENDING;
	uint64_t want = fmt_lower_size(f->size);
	if (f->writable && (uint64_t)st.st_size > want) {
		/* A crash left a tail past the authenticated size: its
		 * records must not be taken for extents later. */
		uint64_t o, l;
		fmt_tail_records(f->size, &o, &l);
		if (l && l <= REC_AREA_LEN) {
			memset(recbuf(w), 0, l);
			rc = cd_io_write(w, f->fd_buf, recbuf(w), l, o);
			if (rc < 0)
				goto out;
		}
		if (ftruncate(f->fd_buf, (off_t)want) < 0) {
			rc = -errno;
			goto out;
		}
	}
	if (f->writable && f->hdr->recovering && f->size % B) {
		/* An interrupted write inside the last extent may have left
		 * bytes past EOF: re-seal it with the tail zeroed before the
		 * file can grow (FORMAT.md, "Stale tail"). */
		int r2 = rmw_extent(w, f, f->size, f->size / B,
				    (uint32_t)(f->size % B), B, NULL);
		if (r2 < 0)
			log_warnx(
			    "lower file ino %llu: recovering, last extent "
			    "unreadable (%s)",
			    (unsigned long long)f->ino, strerror(-r2));
	}
	rc = 0;
out:
	secmem_wipe(fek, KD_FEK_LEN);
	return rc;
}

/* ---- process-wide size cache --------------------------------------------
 * The plaintext size of closed files outlives their nodes (the kernel
 * FORGETs nodes under memory pressure or drop_caches, and a later stat()
 * would otherwise cost a keyd unwrap per file). Direct-mapped by lower
 * (dev, ino); an entry is used only while the lower file's (size, mtime,
 * ctime) are unchanged, and this mount forgets an inode's entry before it
 * unlinks or renames over a name (inode numbers are reused). An entry also
 * says whether this mount verified or wrote the records seal of exactly
 * that lower state (as a node's seal_valid does, past the node). */
#define GSZ_BITS 15
struct gsz_ent {
	dev_t dev;
	ino_t ino;
	int64_t lsize;
	struct timespec mt, ct;
	uint64_t size;
	bool valid;
	bool sealed;
};
static struct gsz_ent *gsz;
static pthread_mutex_t gsz_mu = PTHREAD_MUTEX_INITIALIZER;

static struct gsz_ent *gsz_slot(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32)) *
		     0x9E3779B97F4A7C15ull;
	if (!gsz) {
		gsz = calloc((size_t)1 << GSZ_BITS, sizeof(*gsz));
		if (!gsz)
			return NULL;
	}
	return &gsz[h >> (64 - GSZ_BITS)];
}

static bool st_same(const struct gsz_ent *e, const struct stat *st)
{
	return e->lsize == st->st_size &&
	       e->mt.tv_sec == st->st_mtim.tv_sec &&
	       e->mt.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ct.tv_sec == st->st_ctim.tv_sec &&
	       e->ct.tv_nsec == st->st_ctim.tv_nsec;
}

static void gsz_store(const struct stat *st, uint64_t size, bool sealed)
{
	pthread_mutex_lock(&gsz_mu);
	struct gsz_ent *e = gsz_slot(st->st_dev, st->st_ino);
	if (e) {
		e->dev = st->st_dev;
		e->ino = st->st_ino;
		e->lsize = st->st_size;
		e->mt = st->st_mtim;
		e->ct = st->st_ctim;
		e->size = size;
		e->valid = true;
		e->sealed = sealed;
	}
	pthread_mutex_unlock(&gsz_mu);
}

/* Whether the seal of the lower state st was verified or written here. */
static bool gsz_sealed(const struct stat *st)
{
	bool ok = false;
	pthread_mutex_lock(&gsz_mu);
	struct gsz_ent *e = gsz_slot(st->st_dev, st->st_ino);
	if (e && e->valid && e->dev == st->st_dev && e->ino == st->st_ino &&
	    st_same(e, st))
		ok = e->sealed;
	pthread_mutex_unlock(&gsz_mu);
	return ok;
}

static bool gsz_find(const struct stat *st, uint64_t *size)
{
	bool hit = false;
	pthread_mutex_lock(&gsz_mu);
	struct gsz_ent *e = gsz_slot(st->st_dev, st->st_ino);
	if (e && e->valid && e->dev == st->st_dev && e->ino == st->st_ino &&
	    st_same(e, st)) {
		*size = e->size;
		hit = true;
	}
	pthread_mutex_unlock(&gsz_mu);
	return hit;
}

void cd_size_forget(dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&gsz_mu);
	struct gsz_ent *e = gsz_slot(dev, ino);
	if (e && e->valid && e->dev == dev && e->ino == ino)
		e->valid = false;
	pthread_mutex_unlock(&gsz_mu);
}

void cd_size_forget_name(int dirfd, const char *lname)
{
	struct stat st;
	if (fstatat(dirfd, lname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		cd_size_forget(st.st_dev, st.st_ino);
}

void cd_size_rekey(const struct stat *before, const struct stat *after)
{
	if (!S_ISREG(before->st_mode) || before->st_dev != after->st_dev ||
	    before->st_ino != after->st_ino ||
	    before->st_size != after->st_size)
		return;
	struct cd_inode *n = cd_inode_find(before->st_dev, before->st_ino);
	if (n) {
		pthread_mutex_lock(&n->lock);
		if (!n->file && n->szc_valid &&
		    n->szc_lsize == before->st_size &&
		    n->szc_mtime.tv_sec == before->st_mtim.tv_sec &&
		    n->szc_mtime.tv_nsec == before->st_mtim.tv_nsec &&
		    n->szc_ctime.tv_sec == before->st_ctim.tv_sec &&
		    n->szc_ctime.tv_nsec == before->st_ctim.tv_nsec) {
			n->szc_mtime = after->st_mtim;
			n->szc_ctime = after->st_ctim;
		}
		pthread_mutex_unlock(&n->lock);
		cd_inode_put(n);
	}
	pthread_mutex_lock(&gsz_mu);
	struct gsz_ent *e = gsz_slot(before->st_dev, before->st_ino);
	if (e && e->valid && e->dev == before->st_dev &&
	    e->ino == before->st_ino && st_same(e, before)) {
		if (after->st_nlink > 0) {
			e->mt = after->st_mtim;
			e->ct = after->st_ctim;
		} else {
			e->valid = false;
		}
	}
	pthread_mutex_unlock(&gsz_mu);
}

/* The names this thread's last cd_file_rebind() calls bound files to (a
 * rename rebinds up to two files, then tells their nodes with
 * cd_inode_bind()). */
static __thread struct {
	ino_t ino;
	bool set;
	uint8_t tag[FMT_BIND_LEN];
} rebound[2];

static void rebound_note(ino_t ino, const uint8_t *tag)
{
	unsigned i = rebound[0].set && rebound[0].ino != ino;
	if (i && rebound[1].set && rebound[1].ino != ino)
		rebound[0] = rebound[1];
	rebound[i].ino = ino;
	rebound[i].set = true;
	memcpy(rebound[i].tag, tag, FMT_BIND_LEN);
}

static bool rebound_take(ino_t ino, const uint8_t *tag)
{
	for (unsigned i = 0; i < 2; i++)
		if (rebound[i].set && rebound[i].ino == ino &&
		    !memcmp(rebound[i].tag, tag, FMT_BIND_LEN)) {
			rebound[i].set = false;
			return true;
		}
	return false;
}

/* A node stands for a lower inode, and FUSE opens a node, not a name: a
 * node looked up under two names answers only while its file is unbound
 * (hard links are). Its tag then matches no bound header. */
static const uint8_t bind_alias[FMT_BIND_LEN] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void cd_inode_bind(struct cd_inode *n, const uint8_t *tag)
{
	pthread_mutex_lock(&n->lock);
	if (rebound_take(n->ino, tag) || !n->bind_known ||
	    !memcmp(n->bind_tag, tag, FMT_BIND_LEN))
		memcpy(n->bind_tag, tag, FMT_BIND_LEN); /* renamed here */
	else
		memcpy(n->bind_tag, bind_alias, FMT_BIND_LEN);
	n->bind_known = true;
	pthread_mutex_unlock(&n->lock);
}

/* An open file serves a new open of its node only under the name it is
 * bound to (or unbound); n->lock held. */
static bool bind_serves(struct cd_inode *n, struct cd_file *f)
{
	static const uint8_t zero[FMT_BIND_LEN];
	if (!n->bind_known || f->plain)
		return true;
	pthread_mutex_lock(&f->lock);
	bool ok = !memcmp(f->hdr->bind_tag, zero, FMT_BIND_LEN) ||
		  !memcmp(f->hdr->bind_tag, n->bind_tag, FMT_BIND_LEN);
	pthread_mutex_unlock(&f->lock);
	return ok;
}

/* fd (-1: none): an O_RDWR fd of the node's lower inode to use instead of
 * a reopen; always consumed. */
static int file_get(struct cd_worker *w, struct cd_inode *n, int fd,
		    struct cd_file **out)
{
	struct cd_file *f = NULL;
	struct stat fst;
	int rc = cd_worker_scratch(w);
	if (rc < 0)
		goto out_fd;
	if (fd >= 0 && (fstat(fd, &fst) < 0 || fst.st_ino != n->ino ||
			fst.st_dev != n->dev)) {
		close(fd); /* not this node's inode: open it as usual */
		fd = -1;
	}
	pthread_mutex_lock(&n->lock);
	if (n->file) {
		if (!bind_serves(n, n->file)) {
			log_warnx("lower file ino %llu: bound to another name: "
				  "hard-linked in the lower directory",
				  (unsigned long long)n->ino);
			rc = -EIO;
			goto out;
		}
		n->file->refs++;
		*out = n->file;
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&f->lock, NULL);
	rl_init(&f->rl);
	f->fd = f->fd_buf = -1;
	f->ino = n->ino;
	f->writable = true;
	f->noatime = true;
	if (fd >= 0) {
		/* As cd_inode_reopen_noatime() would have opened it. */
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NOATIME) < 0)
			f->noatime = false;
		f->fd_buf = fd;
		fd = -1;
	} else {
		f->fd_buf = cd_inode_reopen_noatime(n, O_RDWR, &f->noatime);
	}
	if (f->fd_buf == -EACCES || f->fd_buf == -EROFS ||
	    f->fd_buf == -EPERM || f->fd_buf == -ETXTBSY) {
		f->writable = false;
		f->wr_err = f->fd_buf;
		f->fd_buf = cd_inode_reopen_noatime(n, O_RDONLY, &f->noatime);
	}
	if (f->fd_buf < 0) {
		rc = f->fd_buf;
		f->fd_buf = -1;
		goto out;
	}
	f->fd = cd.lower_in_memory
		    ? -1
		    : cd_inode_reopen_noatime(
			  n, (f->writable ? O_RDWR : O_RDONLY) | O_DIRECT,
			  &f->noatime);
	if (f->fd < 0)
		f->fd = f->fd_buf; /* in memory, or no O_DIRECT (EINVAL) */
	else
		f->direct = true;
	cd_files_register(f->fd_buf);
	if (f->fd != f->fd_buf)
		cd_files_register(f->fd);
	rc = file_load(w, f, n);
	if (rc < 0)
		goto out;
	struct stat st;
	if (f->seal_state == CD_SEAL_PENDING && fstat(f->fd_buf, &st) == 0 &&
	    ((n->seal_valid && st.st_size == n->seal_lsize &&
	      st.st_mtim.tv_sec == n->seal_mtime.tv_sec &&
	      st.st_mtim.tv_nsec == n->seal_mtime.tv_nsec &&
	      st.st_ctim.tv_sec == n->seal_ctime.tv_sec &&
	      st.st_ctim.tv_nsec == n->seal_ctime.tv_nsec) ||
	     gsz_sealed(&st)))
		f->seal_state = CD_SEAL_OK; /* unchanged since this mount
					       verified or wrote the seal */
	n->seal_valid = false;
	f->refs = 1;
	n->file = f;
	n->szc_valid = false;
	*out = f;
	f = NULL;
out:
	pthread_mutex_unlock(&n->lock);
	file_free(f);
out_fd:
	if (fd >= 0)
		close(fd);
	return rc;
}

int cd_file_get(struct cd_worker *w, struct cd_inode *n, struct cd_file **out)
{
	return file_get(w, n, -1, out);
}

int cd_file_get_fd(struct cd_worker *w, struct cd_inode *n, int fd,
		   struct cd_file **out)
{
	return file_get(w, n, fd, out);
}

void cd_file_put(struct cd_worker *w, struct cd_inode *n, struct cd_file *f)
{
	pthread_mutex_lock(&n->lock);
	if (--f->refs > 0) {
		pthread_mutex_unlock(&n->lock);
		return;
	}
	n->file = NULL;
	if (f->dirty && f->writable) {
		pthread_mutex_lock(&f->lock);
		/* A sealed file: the seal before the clean slot (a crash in
		 * between leaves the file DIRTY, i.e. not checked). A
		 * recovering file stays DIRTY and needs no seal. */
		int rc = 0;
		if ((f->hdr->req_flags & FMT_RF_ROLLBACK_MAC) &&
		    !f->hdr->recovering)
			rc = recs_seal(w, f, f->size);
		if (rc == 0)
			rc = size_commit(w, f, f->size, 0);
		if (rc < 0)
			log_warnx(
			    "lower file ino %llu: cannot clear dirty mark (%s)",
			    (unsigned long long)f->ino, strerror(-rc));
		pthread_mutex_unlock(&f->lock);
	}
	/* Cache the size for stat() of the closed file. */
	struct stat st;
	if (fstat(f->fd_buf, &st) == 0) {
		n->seal_valid = !f->plain && f->seal_state == CD_SEAL_OK &&
				fmt_recs_check_needed(f->hdr);
		n->seal_lsize = st.st_size;
		n->seal_mtime = st.st_mtim;
		n->seal_ctime = st.st_ctim;
		n->szc_valid = true;
		n->szc_size = f->size;
		n->szc_lsize = st.st_size;
		n->szc_mtime = st.st_mtim;
		n->szc_ctime = st.st_ctim;
		if (!f->plain && st.st_nlink > 0)
			gsz_store(&st, f->size, n->seal_valid);
	}
	pthread_mutex_unlock(&n->lock);
	file_free(f);
}

/* cd_file_rebind(); `lock`: take f->lock for the slot write (false: the
 * caller holds it). */
static int file_rebind(struct cd_worker *w, struct cd_file *f,
		       const uint8_t *tag, bool lock)
{
	uint8_t area[FMT_HDR_AREA];
	uint64_t o;
	uint32_t l;
	int rc = 0, wfd = f->fd_buf;
	struct stat st;
	bool chm = false;
	if (f->plain || !(f->hdr->req_flags & FMT_RF_NAME_BIND)) {
		rebound_note(f->ino, tag);
		return 0;
	}
	if (!f->writable) {
		/* A read-only file (mode 0444, e.g. git objects) of a mount
		 * without CAP_DAC_OVERRIDE: its owner may still rename it,
		 * so write the slot with u+w for the moment. */
		if (f->wr_err != -EACCES)
			return f->wr_err ? f->wr_err : -EACCES;
		if (fstat(f->fd_buf, &st) < 0 ||
		    fchmod(f->fd_buf, (st.st_mode & 07777) | S_IWUSR) < 0)
			return -EACCES;
		chm = true;
		char pp[64];
		snprintf(pp, sizeof(pp), "/proc/self/fd/%d", f->fd_buf);
		wfd = open(pp, O_WRONLY | O_CLOEXEC);
		if (wfd < 0) {
			rc = -errno;
			goto out;
		}
	}
	if (lock)
		pthread_mutex_lock(&f->lock);
	rc = fmt_size_rebind(f->hdr, w->cipher, f->key, tag, &o, &l);
	if (rc == 0)
		rc = fmt_header_serialize(f->hdr, area);
	if (rc == 0)
		rc = hdr_write_fd(w, f, wfd, area, o, l);
	if (lock)
		pthread_mutex_unlock(&f->lock);
	if (rc == 0)
		rebound_note(f->ino, tag);
out:
	if (wfd >= 0 && wfd != f->fd_buf)
		close(wfd);
	if (chm && fchmod(f->fd_buf, st.st_mode & 07777) < 0)
		log_warn("lower file ino %llu: restoring its mode",
			 (unsigned long long)f->ino);
	return rc;
}

int cd_file_rebind(struct cd_worker *w, struct cd_file *f, const uint8_t *tag)
{
	return file_rebind(w, f, tag, true);
}

int cd_file_rebind_locked(struct cd_worker *w, struct cd_file *f,
			  const uint8_t *tag)
{
	return file_rebind(w, f, tag, false);
}

int cd_file_init_new(struct cd_worker *w, int fd, const uint8_t *tag)
{
	struct fmt_header h;
	struct cipher_key *key = NULL;
	uint64_t o;
	uint32_t l;
	int rc = cd_worker_scratch(w);
	if (rc < 0)
		return rc;
	uint8_t *fek = w->secret;

	/* Header, random FEK and its packets from the pre-wrapped pool
	 * (keys.c): no keyd round trip per create. */
	memset(&h, 0, sizeof(h));
	rc = cd_fresh_header(&h, FMT_RF_NEW, fek);
	if (rc < 0)
		goto out;
	if (tag)
		memcpy(h.bind_tag, tag, FMT_BIND_LEN);
	rc = fmt_file_key_new(&h, fek, cipher_thread_backend(w->cipher), &key);
	if (rc < 0)
		goto out;
	if (h.req_flags & FMT_RF_ROLLBACK_MAC) {
		/* No records yet: the digest of 0 extents reads nothing. */
		uint8_t d[FMT_DIGEST_LEN];
		struct dig_io di = {.fd = fd};
		struct fmt_recs_io io = {.read = dig_read, .arg = &di};
		rc = fmt_recs_digest(&io, 0, recbuf(w), d);
		if (rc == 0)
			rc = fmt_recs_seal(&h, w->cipher, key, 0, d, NULL, NULL);
		if (rc < 0)
			goto out;
	}
	rc = fmt_size_update(&h, w->cipher, key, 0, 0, &o, &l);
	if (rc < 0)
		goto out;
	uint8_t *blk = recbuf(w);
	memset(blk, 0, FMT_HDR_BLOCK);
	rc = fmt_header_serialize(&h, blk);
	if (rc < 0)
		goto out;
	rc = cd_io_write(w, fd, blk, FMT_HDR_BLOCK, 0);
	if (rc == 0) {
		cd_fresh_clear(w);
		if (!w->fresh_hdr)
			w->fresh_hdr = malloc(FMT_HDR_BLOCK);
		if (w->fresh_hdr) {
			memcpy(w->fresh_hdr, blk, FMT_HDR_BLOCK);
			memcpy(w->secret + CD_FRESH_OFF, fek, KD_FEK_LEN);
			w->fresh_key = key;
			key = NULL;
			w->fresh_valid = true;
		}
	}
out:
	secmem_wipe(fek, KD_FEK_LEN);
	secmem_wipe(&h, sizeof(h));
	cipher_key_free(key);
	return rc;
}

void cd_fresh_clear(struct cd_worker *w)
{
	if (!w->fresh_valid)
		return;
	secmem_wipe(w->secret + CD_FRESH_OFF, KD_FEK_LEN);
	cipher_key_free(w->fresh_key);
	w->fresh_key = NULL;
	w->fresh_valid = false;
}

int cd_file_size(struct cd_worker *w, struct cd_inode *n, const struct stat *st,
		 uint64_t *size)
{
	pthread_mutex_lock(&n->lock);
	if (n->file) {
		pthread_mutex_lock(&n->file->lock);
		*size = n->file->size;
		pthread_mutex_unlock(&n->file->lock);
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	if (n->szc_valid && n->szc_lsize == st->st_size &&
	    n->szc_mtime.tv_sec == st->st_mtim.tv_sec &&
	    n->szc_mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    n->szc_ctime.tv_sec == st->st_ctim.tv_sec &&
	    n->szc_ctime.tv_nsec == st->st_ctim.tv_nsec) {
		*size = n->szc_size;
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	if (st->st_dev == n->dev && st->st_ino == n->ino &&
	    gsz_find(st, size)) {
		n->szc_valid = true;
		n->szc_size = *size;
		n->szc_lsize = st->st_size;
		n->szc_mtime = st->st_mtim;
		n->szc_ctime = st->st_ctim;
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	pthread_mutex_unlock(&n->lock);
	struct cd_file *f;
	int rc = cd_file_get(w, n, &f);
	if (rc == -EIO || rc == -EACCES) {
		/* Remember the verdict for this lower state too: repeated
		 * stat() of a foreign or locked file costs no keyd round
		 * trip and logs once. */
		pthread_mutex_lock(&n->lock);
		if (!n->file) {
			n->szc_valid = true;
			n->szc_size = 0;
			n->szc_lsize = st->st_size;
			n->szc_mtime = st->st_mtim;
			n->szc_ctime = st->st_ctim;
		}
		pthread_mutex_unlock(&n->lock);
	}
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&f->lock);
	*size = f->size;
	pthread_mutex_unlock(&f->lock);
	cd_file_put(w, n, f);
	return 0;
}

/* ---- atime ------------------------------------------------------------ */

#define ATIME_RECHECK 86400 /* relatime's "older than a day" */

/* A change of f: the next READ checks atime again (relatime moves it when
 * atime <= mtime or ctime). */
static void atime_due(struct cd_file *f)
{
	if (__atomic_load_n(&f->atime_at, __ATOMIC_RELAXED))
		__atomic_store_n(&f->atime_at, 0, __ATOMIC_RELAXED);
}

void cd_file_atime_due(struct cd_inode *n)
{
	pthread_mutex_lock(&n->lock);
	if (n->file)
		atime_due(n->file);
	pthread_mutex_unlock(&n->lock);
}

static bool ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

void cd_file_accessed(struct cd_file *f)
{
	struct timespec now, ts;
	struct stat st;
	uint8_t b;
	if (!f->noatime)
		return; /* the reads themselves moved it */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	int64_t t = now.tv_sec ? now.tv_sec : 1;
	int64_t last = __atomic_load_n(&f->atime_at, __ATOMIC_RELAXED);
	if (last && t - last < ATIME_RECHECK)
		return;
	/* one worker checks; the others go on reading */
	if (!__atomic_compare_exchange_n(&f->atime_at, &last, t, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	if (fstat(f->fd_buf, &st) < 0 ||
	    clock_gettime(CLOCK_REALTIME_COARSE, &ts) < 0)
		return;
	if (ts_after(&st.st_atim, &st.st_mtim) &&
	    ts_after(&st.st_atim, &st.st_ctim) &&
	    ts.tv_sec - st.st_atim.tv_sec < ATIME_RECHECK)
		return; /* relatime would not move it */
	/* A one-byte read with O_NOATIME cleared on the file's own fd for
	 * the moment: the lower file system applies its own atime rule
	 * (relatime, noatime, strict) and leaves ctime alone, which
	 * futimens() would not. (A reopen through /proc cost 6-20 us; other
	 * reads of this fd in the window are reads of the file too.) */
	int fl = fcntl(f->fd_buf, F_GETFL);
	if (fl < 0 || fcntl(f->fd_buf, F_SETFL, fl & ~O_NOATIME) < 0)
		return;
	if (pread(f->fd_buf, &b, 1, 0) < 0)
		log_debug("lower file ino %llu: atime read: %s",
			  (unsigned long long)f->ino, strerror(errno));
	(void)fcntl(f->fd_buf, F_SETFL, fl);
}

/* ---- segments --------------------------------------------------------- */

struct segs {
	unsigned n;
	struct fmt_seg s[MAXSEG];
	uint8_t *recs[MAXSEG];
	uint8_t *data[MAXSEG];
};

/* Splits extents [first, first + count) into segments laid out in the
 * worker's buffers; -EINVAL if they do not fit. */
static int segs_plan(struct cd_worker *w, uint64_t first, uint64_t count,
		     struct segs *sg)
{
	size_t roff = 0, doff = 0;
	sg->n = 0;
	while (count) {
		if (sg->n == MAXSEG)
			return -EINVAL;
		struct fmt_seg *s = &sg->s[sg->n];
		uint32_t c = fmt_seg(first, count, s);
		if (!c)
			return -EFBIG;
		if ((size_t)c * FMT_REC_LEN > REC_AREA_LEN - roff ||
		    (size_t)c * B > data_cap(w) - doff)
			return -EINVAL;
		sg->recs[sg->n] = recbuf(w) + roff;
		sg->data[sg->n] = databuf(w) + doff;
		roff += (size_t)c * FMT_REC_LEN;
		doff += (size_t)c * B;
		sg->n++;
		first += c;
		count -= c;
	}
	return 0;
}

/* Finds the segment holding extent e; returns its index. */
static unsigned seg_of(const struct segs *sg, uint64_t e)
{
	for (unsigned i = 0; i < sg->n; i++)
		if (e >= sg->s[i].first && e - sg->s[i].first < sg->s[i].count)
			return i;
	return 0;
}

/* Reads the records (and, if with_data, the data) of every segment in one
 * batch; data past the lower EOF reads as zeros. */
static int segs_read(struct cd_worker *w, struct cd_file *f, struct segs *sg,
		     bool with_data)
{
	struct cd_io io[2 * MAXSEG];
	unsigned k = 0;
	for (unsigned i = 0; i < sg->n; i++) {
		io[k++] =
		    (struct cd_io){.op = CD_IO_READ,
				   .fd = f->fd_buf,
				   .buf = sg->recs[i],
				   .len = (size_t)sg->s[i].count * FMT_REC_LEN,
				   .off = sg->s[i].rec_off};
		if (with_data)
			io[k++] =
			    (struct cd_io){.op = CD_IO_READ,
					   .fd = f->fd,
					   .buf = sg->data[i],
					   .len = (size_t)sg->s[i].count * B,
					   .off = sg->s[i].data_off};
	}
	int rc = cd_io_batch(w, io, k);
	if (rc < 0)
		return rc;
	for (unsigned j = 0; j < k; j++)
		if (io[j].done < io[j].len)
			memset((uint8_t *)io[j].buf + io[j].done, 0,
			       io[j].len - io[j].done);
	return 0;
}

/* Writes the records of every segment (one batch), then the data. */
static int segs_write(struct cd_worker *w, struct cd_file *f, struct segs *sg)
{
	struct cd_io io[MAXSEG];
	for (unsigned i = 0; i < sg->n; i++)
		io[i] =
		    (struct cd_io){.op = CD_IO_WRITE,
				   .fd = f->fd_buf,
				   .buf = sg->recs[i],
				   .len = (size_t)sg->s[i].count * FMT_REC_LEN,
				   .off = sg->s[i].rec_off};
	int rc = cd_io_batch(w, io, sg->n);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < sg->n; i++)
		io[i] = (struct cd_io){.op = CD_IO_WRITE,
				       .fd = f->fd,
				       .buf = sg->data[i],
				       .len = (size_t)sg->s[i].count * B,
				       .off = sg->s[i].data_off};
	return cd_io_batch(w, io, sg->n);
}

/* Opens one extent e (data + record already in sg) into out; *which
 * (optional) gets the slot that verified (fmt_open_run). */
static int open_one(struct cd_worker *w, struct cd_file *f,
		    const struct segs *sg, uint64_t e, uint8_t *out,
		    uint8_t *which)
{
	unsigned i = seg_of(sg, e);
	uint64_t k = e - sg->s[i].first;
	uint8_t bad = 0;
	int rc =
	    fmt_open_run(w->cipher, f->key, f->hdr, e, 1, sg->data[i] + k * B,
			 out, sg->recs[i] + k * FMT_REC_LEN, which, &bad);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		log_bad(f, e);
		return -EIO;
	}
	return 0;
}

/* Seals cnt extents from e; cur: per-extent verified slot (recovering
 * files) or NULL (clean files: the newer slot matches the data). */
static int seal_some(struct cd_worker *w, struct cd_file *f,
		     const struct segs *sg, uint64_t e, uint32_t cnt,
		     const uint8_t *in, const uint8_t *cur)
{
	unsigned i = seg_of(sg, e);
	uint64_t k = e - sg->s[i].first;
	return fmt_seal_run(w->cipher, f->key, f->hdr, e, cnt, in,
			    sg->data[i] + k * B, sg->recs[i] + k * FMT_REC_LEN,
			    cur);
}

/* Recovering files: which slot of each extent [first, first + count)
 * matches the lower data (2: neither, a hole, or at/after EOF nold).
 * Reads and opens the extents below nold into the worker's scratch. */
static int recover_cur(struct cd_worker *w, struct cd_file *f, uint64_t first,
		       uint64_t count, uint64_t nold, uint8_t *cur)
{
	struct segs sg;
	memset(cur, 2, count);
	if (first >= nold)
		return 0;
	uint64_t n = nold - first < count ? nold - first : count;
	int rc = segs_plan(w, first, n, &sg);
	if (rc == 0)
		rc = segs_read(w, f, &sg, true);
	if (rc < 0)
		return rc;
	if (!w->rbuf) {
		w->rbuf = aligned_alloc(4096, (size_t)FMT_GROUP_EXTENTS * B);
		if (!w->rbuf)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < sg.n; i++) {
		uint8_t bad[FMT_GROUP_EXTENTS];
		uint64_t rel = sg.s[i].first - first;
		rc = fmt_open_run(w->cipher, f->key, f->hdr, sg.s[i].first,
				  sg.s[i].count, sg.data[i], w->rbuf,
				  sg.recs[i], cur + rel, bad);
		if (rc < 0)
			return rc;
		for (uint32_t k = 0; k < sg.s[i].count; k++)
			if (bad[k])
				cur[rel + k] = 2;
	}
	secmem_wipe(w->rbuf, (size_t)FMT_GROUP_EXTENTS * B);
	return 0;
}

/* ---- read ------------------------------------------------------------- */

ssize_t cd_file_read(struct cd_worker *w, struct cd_file *f, uint8_t *dst,
		     size_t cap, size_t len, uint64_t off, uint32_t *data_off)
{
	struct cd_range rg;
	struct segs sg;
	ssize_t ret;
	*data_off = 0;
	if (len == 0)
		return 0;
	if (off + len < off)
		return -EINVAL;
	if (f->plain)
		return cd_io_read(w, f->fd_buf, dst, len < cap ? len : cap,
				  off);
	int vr = cd_file_verify(w, f);
	if (vr < 0)
		return vr;
	uint64_t first = off / B;
	uint64_t last = (off + len - 1) / B;
	rl_lock(&f->rl, &rg, first, last + 1, false);
	pthread_mutex_lock(&f->lock);
	uint64_t size = f->size;
	pthread_mutex_unlock(&f->lock);
	if (off >= size) {
		ret = 0;
		goto out;
	}
	if (len > size - off)
		len = (size_t)(size - off);
	last = (off + len - 1) / B;
	uint64_t count = last - first + 1;
	int rc = segs_plan(w, first, count, &sg);
	if (rc == 0)
		rc = segs_read(w, f, &sg, true);
	if (rc < 0) {
		ret = rc;
		goto out;
	}
	/* Decrypt straight into the slot when the whole extents fit: the
	 * reply then starts at the offset inside the first extent. */
	bool direct = count * B <= cap;
	uint32_t head = (uint32_t)(off % B);
	for (unsigned i = 0; i < sg.n; i++) {
		uint64_t rel = sg.s[i].first - first;
		uint8_t bad[FMT_GROUP_EXTENTS];
		uint8_t *out = direct ? dst + rel * B : NULL;
		if (!direct) {
			/* Rare: a slot smaller than the extents. Decrypt
			 * extent by extent and copy the wanted bytes. */
			for (uint32_t k = 0; k < sg.s[i].count; k++) {
				uint64_t e = sg.s[i].first + k;
				rc = open_one(w, f, &sg, e, w->pt, NULL);
				if (rc < 0) {
					ret = rc;
					goto out;
				}
				uint64_t eo = e * B;
				uint64_t a = eo < off ? off : eo;
				uint64_t bnd =
				    eo + B < off + len ? eo + B : off + len;
				memcpy(dst + (a - off), w->pt + (a - eo),
				       (size_t)(bnd - a));
			}
			continue;
		}
		rc = fmt_open_run(w->cipher, f->key, f->hdr, sg.s[i].first,
				  sg.s[i].count, sg.data[i], out, sg.recs[i],
				  NULL, bad);
		if (rc < 0) {
			ret = rc;
			goto out;
		}
		if (rc > 0) {
			for (uint32_t k = 0; k < sg.s[i].count; k++)
				if (bad[k])
					log_bad(f, sg.s[i].first + k);
			ret = -EIO;
			goto out;
		}
	}
	*data_off = direct ? head : 0;
	ret = (ssize_t)len;
out:
	rl_unlock(&f->rl, &rg);
	return ret;
}

/* ---- write ------------------------------------------------------------ */

/* Read-modify-write of extent e (file size `size`): bytes [a, b) of it
 * become src (or zeros when src is NULL). */
static int rmw_extent(struct cd_worker *w, struct cd_file *f, uint64_t size,
		      uint64_t e, uint32_t a, uint32_t b, const uint8_t *src)
{
	struct segs sg;
	int rc = segs_plan(w, e, 1, &sg);
	if (rc < 0)
		return rc;
	bool has = e < fmt_extent_count(size);
	uint8_t which = 2;
	rc = segs_read(w, f, &sg, has);
	if (rc < 0)
		return rc;
	if (has) {
		rc = open_one(w, f, &sg, e, w->pt, &which);
		if (rc < 0)
			return rc;
	} else {
		memset(w->pt, 0, B);
		memset(sg.recs[0], 0, FMT_REC_LEN);
	}
	if (src)
		memcpy(w->pt + a, src, b - a);
	else
		memset(w->pt + a, 0, b - a);
	rc = seal_some(w, f, &sg, e, 1, w->pt,
		       f->hdr->recovering ? &which : NULL);
	if (rc < 0)
		return rc;
	return segs_write(w, f, &sg);
}

/* Reads the data of a write's partial first and last extents (need_head,
 * need_tail) into sg's data area; bytes past the lower EOF read as zeros. */
static int read_edges(struct cd_worker *w, struct cd_file *f, struct segs *sg,
		      uint64_t first, uint64_t last, bool need_head,
		      bool need_tail)
{
	struct cd_io io[2];
	unsigned k = 0;
	uint64_t es[2] = {first, last};
	bool need[2] = {need_head, need_tail};
	for (unsigned j = 0; j < 2; j++) {
		if (!need[j])
			continue;
		unsigned i = seg_of(sg, es[j]);
		uint64_t rel = es[j] - sg->s[i].first;
		io[k++] = (struct cd_io){.op = CD_IO_READ,
					 .fd = f->fd,
					 .buf = sg->data[i] + rel * B,
					 .len = B,
					 .off = fmt_data_off(es[j])};
	}
	if (k == 0)
		return 0;
	int rc = cd_io_batch(w, io, k);
	if (rc < 0)
		return rc;
	for (unsigned j = 0; j < k; j++)
		if (io[j].done < B)
			memset((uint8_t *)io[j].buf + io[j].done, 0,
			       B - io[j].done);
	return 0;
}

/* Extents at or past the old EOF (nold extents) have no valid record yet:
 * zero theirs in sg. */
static void zero_stale_recs(struct segs *sg, uint64_t first, uint64_t last,
			    uint64_t nold)
{
	for (uint64_t e = first > nold ? first : nold; e <= last; e++) {
		unsigned i = seg_of(sg, e);
		memset(sg->recs[i] + (e - sg->s[i].first) * FMT_REC_LEN, 0,
		       FMT_REC_LEN);
	}
}

ssize_t cd_file_write(struct cd_worker *w, struct cd_file *f,
		      const uint8_t *src, size_t len, uint64_t off)
{
	struct cd_range rg;
	struct segs sg;
	uint64_t size, end;
	int rc;

	if (len == 0)
		return 0;
	if (__builtin_add_overflow(off, (uint64_t)len, &end) ||
	    end > FMT_MAX_SIZE)
		return -EFBIG;
	atime_due(f);
	if (f->plain) {
		if (!f->writable)
			return -EBADF;
		rc = cd_io_write(w, f->fd_buf, src, len, off);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&f->lock);
		if (end > f->size)
			f->size = end;
		pthread_mutex_unlock(&f->lock);
		return (ssize_t)len;
	}
	uint64_t first = off / B, last = (end - 1) / B;
	uint64_t count = last - first + 1;
	rl_lock(&f->rl, &rg, first, last + 1, true);
	rc = begin_change(w, f, &size);
	if (rc < 0)
		goto out;
	rc = segs_plan(w, first, count, &sg);
	if (rc < 0)
		goto out;
	uint64_t nold = fmt_extent_count(size);
	uint32_t head = (uint32_t)(off % B);
	uint32_t tail_end = (uint32_t)(end - last * B); /* 1..4096 */
	bool head_part = head != 0 || (count == 1 && tail_end != B);
	bool tail_part = count > 1 && tail_end != B;
	bool need_head = head_part && first < nold;
	bool need_tail = tail_part && last < nold;

	/* Records of the touched extents below the old EOF (the others are
	 * zeroed below: an appending write reads no record), data only of
	 * partial extents. */
	if (first < nold) {
		struct segs below = sg;
		below.n = 0;
		while (below.n < sg.n && sg.s[below.n].first < nold)
			below.n++;
		rc = segs_read(w, f, &below, false);
		if (rc < 0)
			goto out;
	}
	rc = read_edges(w, f, &sg, first, last, need_head, need_tail);
	if (rc < 0)
		goto out;
	zero_stale_recs(&sg, first, last, nold);
	/* A recovering file: never overwrite the slot that matches the data
	 * on disk (FORMAT.md "Update order"). */
	uint8_t curv[2 * FMT_GROUP_EXTENTS + 8];
	const uint8_t *cur = NULL;
	if (f->hdr->recovering) {
		if (count > sizeof(curv)) {
			rc = -EINVAL;
			goto out;
		}
		rc = recover_cur(w, f, first, count, nold, curv);
		if (rc < 0)
			goto out;
		cur = curv;
		rc = segs_read(w, f, &sg, false);
		if (rc < 0)
			goto out;
		zero_stale_recs(&sg, first, last, nold);
		/* recover_cur() used the data area: read again. */
		rc = read_edges(w, f, &sg, first, last, need_head, need_tail);
		if (rc < 0)
			goto out;
	}
	uint8_t *ph = w->pt, *pt = w->pt + B;
	if (head_part) {
		if (need_head) {
			rc = open_one(w, f, &sg, first, ph, NULL);
			if (rc < 0)
				goto out;
		} else {
			memset(ph, 0, B);
		}
		uint32_t n = count == 1 ? tail_end - head : B - head;
		memcpy(ph + head, src, n);
	}
	if (tail_part) {
		if (need_tail) {
			rc = open_one(w, f, &sg, last, pt, NULL);
			if (rc < 0)
				goto out;
		} else {
			memset(pt, 0, B);
		}
		memcpy(pt, src + (len - tail_end), tail_end);
	}
	/* Seal: partial extents from private copies, the rest straight from
	 * the slot, in runs per segment. */
	for (unsigned i = 0; i < sg.n && rc == 0; i++) {
		uint64_t e = sg.s[i].first, stop = e + sg.s[i].count;
		while (e < stop && rc == 0) {
			if (e == first && head_part) {
				rc = seal_some(w, f, &sg, e, 1, ph,
					       cur ? cur + (e - first) : NULL);
				e++;
				continue;
			}
			if (e == last && tail_part) {
				rc = seal_some(w, f, &sg, e, 1, pt,
					       cur ? cur + (e - first) : NULL);
				e++;
				continue;
			}
			uint64_t run_end = stop;
			if (tail_part && last < run_end)
				run_end = last;
			rc = seal_some(w, f, &sg, e, (uint32_t)(run_end - e),
				       src + (e * B - off),
				       cur ? cur + (e - first) : NULL);
			e = run_end;
		}
	}
	if (rc < 0)
		goto out;
	rc = segs_write(w, f, &sg);
	if (rc < 0)
		goto out;
	if (end > size)
		rc = grow_size(w, f, end);
out:
	rl_unlock(&f->rl, &rg);
	if (rc < 0)
		log_debug("write ino %llu off %llu len %zu: %s",
			  (unsigned long long)f->ino, (unsigned long long)off,
			  len, strerror(-rc));
	return rc < 0 ? rc : (ssize_t)len;
}

/* ---- truncate ----------------------------------------------------------- */

static int zero_tail_records(struct cd_worker *w, struct cd_file *f,
			     uint64_t size)
{
	uint64_t o, l;
	fmt_tail_records(size, &o, &l);
	while (l) {
		uint64_t n = l < REC_AREA_LEN ? l : REC_AREA_LEN;
		memset(recbuf(w), 0, n);
		int rc = cd_io_write(w, f->fd_buf, recbuf(w), n, o);
		if (rc < 0)
			return rc;
		o += n;
		l -= n;
	}
	return 0;
}

/* Sets the size to nsz; caller holds the whole-file range lock. */
static int resize_locked(struct cd_worker *w, struct cd_file *f, uint64_t size,
			 uint64_t nsz)
{
	int rc = 0;
	if (nsz == size)
		return 0;
	if (nsz < size) {
		if (nsz % B) {
			uint64_t e = nsz / B;
			rc = rmw_extent(w, f, size, e, (uint32_t)(nsz % B), B,
					NULL);
			if (rc < 0)
				return rc;
		}
		/* Size slot before the tail records: a crash in between
		 * leaves a stale tail (cleaned at next open), never EIO
		 * inside the old size. */
		pthread_mutex_lock(&f->lock);
		rc = size_commit(w, f, nsz, FMT_SZ_DIRTY);
		if (rc == 0)
			f->size = nsz;
		pthread_mutex_unlock(&f->lock);
		if (rc < 0)
			return rc;
		rc = zero_tail_records(w, f, nsz);
		if (rc < 0)
			return rc;
		if (ftruncate(f->fd_buf, (off_t)fmt_lower_size(nsz)) < 0)
			return -errno;
		return 0;
	}
	/* Growing: whatever lies past the old lower end must read as a
	 * hole, so cut to the old geometry first, then extend (sparse). */
	rc = zero_tail_records(w, f, size);
	if (rc < 0)
		return rc;
	if (ftruncate(f->fd_buf, (off_t)fmt_lower_size(size)) < 0 ||
	    ftruncate(f->fd_buf, (off_t)fmt_lower_size(nsz)) < 0)
		return -errno;
	pthread_mutex_lock(&f->lock);
	rc = size_commit(w, f, nsz, FMT_SZ_DIRTY);
	if (rc == 0)
		f->size = nsz;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int cd_file_truncate(struct cd_worker *w, struct cd_file *f, uint64_t nsz)
{
	struct cd_range rg;
	uint64_t size;
	if (nsz > FMT_MAX_SIZE)
		return -EFBIG;
	atime_due(f);
	if (f->plain) {
		if (!f->writable)
			return -EACCES;
		if (ftruncate(f->fd_buf, (off_t)nsz) < 0)
			return -errno;
		pthread_mutex_lock(&f->lock);
		f->size = nsz;
		pthread_mutex_unlock(&f->lock);
		return 0;
	}
	rl_lock(&f->rl, &rg, 0, UINT64_MAX, true);
	int rc = begin_change(w, f, &size);
	if (rc == -EBADF)
		rc = -EACCES;
	if (rc == 0)
		rc = resize_locked(w, f, size, nsz);
	rl_unlock(&f->rl, &rg);
	return rc;
}

/* ---- fallocate ---------------------------------------------------------- */

static int punch(struct cd_worker *w, struct cd_file *f, uint64_t off,
		 uint64_t len)
{
	struct cd_range rg;
	uint64_t size, end;
	int rc;
	if (__builtin_add_overflow(off, len, &end))
		end = UINT64_MAX;
	rl_lock(&f->rl, &rg, 0, UINT64_MAX, true);
	rc = begin_change(w, f, &size);
	if (rc < 0)
		goto out;
	if (end > size)
		end = size;
	if (off >= end)
		goto out;
	uint64_t first = off / B, last = (end - 1) / B;
	uint64_t ffull = (off + B - 1) / B; /* first fully covered */
	uint64_t lfull = end / B;	    /* one past the last full */
	if (end == size && size % B)
		lfull = last + 1; /* the EOF extent's tail is zero anyway */
	if (first == last && !(ffull <= first && lfull > first)) {
		rc = rmw_extent(w, f, size, first, (uint32_t)(off % B),
				(uint32_t)(end - first * B), NULL);
		goto out;
	}
	if (ffull > first) {
		rc =
		    rmw_extent(w, f, size, first, (uint32_t)(off % B), B, NULL);
		if (rc < 0)
			goto out;
	}
	if (lfull <= last && last >= ffull) {
		rc = rmw_extent(w, f, size, last, 0, (uint32_t)(end - last * B),
				NULL);
		if (rc < 0)
			goto out;
	}
	/* Whole extents: records become holes, then the data is punched. */
	uint64_t e = ffull;
	while (e < lfull) {
		struct segs sg;
		uint64_t n = lfull - e;
		if (n > FMT_GROUP_EXTENTS)
			n = FMT_GROUP_EXTENTS;
		uint8_t curv[FMT_GROUP_EXTENTS];
		memset(curv, 255, sizeof(curv));
		if (f->hdr->recovering) {
			rc = recover_cur(w, f, e, n, fmt_extent_count(size),
					 curv);
			if (rc < 0)
				goto out;
		}
		rc = segs_plan(w, e, n, &sg);
		if (rc == 0)
			rc = segs_read(w, f, &sg, false);
		if (rc < 0)
			goto out;
		struct cd_io io[MAXSEG];
		for (unsigned i = 0; i < sg.n; i++) {
			for (uint32_t k = 0; k < sg.s[i].count; k++) {
				uint8_t *rec = sg.recs[i] + k * FMT_REC_LEN;
				if (!fmt_rec_is_zero(rec))
					fmt_rec_punch(
					    rec, curv[sg.s[i].first - e + k]);
			}
			io[i] = (struct cd_io){.op = CD_IO_WRITE,
					       .fd = f->fd_buf,
					       .buf = sg.recs[i],
					       .len = (size_t)sg.s[i].count *
						      FMT_REC_LEN,
					       .off = sg.s[i].rec_off};
		}
		rc = cd_io_batch(w, io, sg.n);
		if (rc < 0)
			goto out;
		for (unsigned i = 0; i < sg.n; i++) {
			off_t o = (off_t)sg.s[i].data_off;
			off_t l = (off_t)sg.s[i].count * B;
			if (fallocate(f->fd_buf,
				      FALLOC_FL_PUNCH_HOLE |
					  FALLOC_FL_KEEP_SIZE,
				      o, l) < 0) {
				/* No punch support: write zeros. */
				memset(sg.data[i], 0, (size_t)l);
				rc = cd_io_write(w, f->fd, sg.data[i],
						 (size_t)l, (uint64_t)o);
				if (rc < 0)
					goto out;
			}
			e += sg.s[i].count;
		}
	}
out:
	rl_unlock(&f->rl, &rg);
	return rc;
}

int cd_file_fallocate(struct cd_worker *w, struct cd_file *f, uint32_t mode,
		      uint64_t off, uint64_t len)
{
	uint64_t end;
	if (len == 0)
		return -EINVAL;
	if (__builtin_add_overflow(off, len, &end) || end > FMT_MAX_SIZE)
		return -EFBIG;
	if (!f->writable)
		return -EBADF;
	atime_due(f);
	if (f->plain) {
		if (fallocate(f->fd_buf, (int)mode, (off_t)off, (off_t)len) < 0)
			return -errno;
		struct stat st;
		if (fstat(f->fd_buf, &st) < 0)
			return -errno;
		pthread_mutex_lock(&f->lock);
		f->size = (uint64_t)st.st_size;
		pthread_mutex_unlock(&f->lock);
		return 0;
	}
	if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return punch(w, f, off, len);
	if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	struct cd_range rg;
	uint64_t size;
	rl_lock(&f->rl, &rg, 0, UINT64_MAX, true);
	int rc = begin_change(w, f, &size);
	if (rc == 0 && mode == 0 && end > size)
		rc = resize_locked(w, f, size, end);
	if (rc == 0) {
		/* Reserve the lower blocks (zeros under zero records read as
		 * holes, so this changes no content). */
		uint64_t cur = mode == 0 ? (end > size ? end : size) : size;
		uint64_t lo = fmt_data_off(off / B);
		uint64_t hi = fmt_lower_size(end < cur ? end : cur);
		if (hi > lo &&
		    fallocate(f->fd_buf, FALLOC_FL_KEEP_SIZE, (off_t)lo,
			      (off_t)(hi - lo)) < 0 &&
		    errno != EOPNOTSUPP)
			rc = -errno;
	}
	rl_unlock(&f->rl, &rg);
	return rc;
}

/* ---- SEEK_DATA / SEEK_HOLE ---------------------------------------------- */

/* 1 if extent e's data is a lower hole, 0 if it holds data, -errno. */
static int extent_is_hole(struct cd_file *f, uint64_t e)
{
	off_t d = fmt_data_off(e);
	off_t r = lseek(f->fd_buf, d, SEEK_DATA);
	if (r < 0)
		return errno == ENXIO ? 1 : -errno;
	return r >= d + (off_t)B;
}

/* The first extent whose data starts at or after lower offset lo. */
static uint64_t extent_at_or_after(uint64_t lo, uint64_t lim)
{
	uint64_t a = 0, b = lim;
	while (a < b) {
		uint64_t m = a + (b - a) / 2;
		if (fmt_data_off(m) + B <= lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

int64_t cd_file_lseek(struct cd_worker *w, struct cd_file *f, uint64_t off,
		      int whence)
{
	if (f->plain) {
		off_t o = lseek(f->fd_buf, (off_t)off, whence);
		return o < 0 ? -errno : (int64_t)o;
	}
	int vr = cd_file_verify(w, f);
	if (vr < 0)
		return vr;
	pthread_mutex_lock(&f->lock);
	uint64_t size = f->size;
	pthread_mutex_unlock(&f->lock);
	if (off >= size)
		return -ENXIO;
	uint64_t n = fmt_extent_count(size);
	uint64_t e = off / B;
	while (e < n) {
		int h = extent_is_hole(f, e);
		if (h < 0)
			return h;
		if ((whence == SEEK_DATA) == !h) {
			uint64_t p = e * B;
			return (int64_t)(p < off ? off : p);
		}
		/* Jump with the lower file's own answer. */
		off_t d = fmt_data_off(e);
		off_t r = lseek(f->fd_buf, d,
				whence == SEEK_DATA ? SEEK_DATA : SEEK_HOLE);
		if (r < 0) {
			if (errno != ENXIO)
				return -errno;
			break;
		}
		uint64_t ne = extent_at_or_after((uint64_t)r, n);
		e = ne > e ? ne : e + 1;
	}
	if (whence == SEEK_DATA)
		return -ENXIO;
	return (int64_t)size;
}
