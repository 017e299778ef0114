/* SPDX-License-Identifier: MIT */
/*
 * cryptstack fsck [--repair]: verifies an unmounted volume offline, through
 * the same csfmt code and a real keyd (cli_keyd_start) as a mount. Checked:
 * every directory's .cs.dirid, every lower name (decrypted with the names
 * key; long names through their side files), symlink targets, user xattrs,
 * every lower file's header, key packets (unwrapped by keyd), size slots,
 * lower length and every extent below EOF. docs/RELIABILITY.md documents the
 * report lines and exit codes:
 *   0 clean, 1 corrupt or unsettled (needs --repair), 2 operational error
 *   (wrong passphrase, not a volume, I/O error, mounted), 3 --repair found
 *   problems and repaired all of them.
 * --repair turns unreadable extents into holes (reporting the plaintext
 * byte ranges lost), settles files a crash left recovering (FMT_SZ_DIRTY:
 * re-seals extents that matched their older slot, then fmt_recovery_done),
 * rewrites a torn size slot from the other one, removes stale tails, empty
 * (header-less) lower files and orphaned long-name side files.
 */
#include <ctype.h>
#include <endian.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cipher.h"
#include "cli.h"
#include "fmt.h"
#include "keyd_client.h"
#include "secmem.h"
#include "util.h"
#include "volume.h"

#define SEG_MAX		FMT_GROUP_EXTENTS /* extents per read: 1 MiB */
#define XATTR_LIST_MAX_ 65536u

enum { EXIT_CLEAN = 0, EXIT_CORRUPT = 1, EXIT_OPERR = 2, EXIT_REPAIRED = 3 };

struct ino_seen {
	dev_t dev;
	ino_t ino;
	/* the name binding tag of its current size slot, as checked (or
	 * repaired) under the first name: every other name must match it
	 * unless it is zero (unbound) */
	uint8_t tag[FMT_BIND_LEN];
};

static struct {
	int repair;
	int tty;
	int plain_names;
	int svc; /* keyd service socket */
	uint32_t seq;
	uint8_t *names_key;	    /* locked, FMT_NAMES_KEY_LEN */
	struct kd_unwrap_rep *urep; /* locked */
	struct cipher_thread *th;
	uint8_t *data;	/* SEG_MAX * 4096 lower bytes */
	uint8_t *plain; /* locked, SEG_MAX * 4096 */
	uint8_t recs[SEG_MAX * FMT_REC_LEN];
	uint8_t which[SEG_MAX], bad[SEG_MAX];
	/* counters */
	unsigned long dirs, files, symlinks, others, foreign;
	unsigned long corrupt, unsettled, repaired, unrepaired, operr;
	uint64_t extents, bad_extents, lost_bytes, bytes_done;
	unsigned long tail_bad; /* files with non-zero bytes past EOF */
	/* progress */
	unsigned long total_files;
	uint64_t total_bytes;
	uint64_t last_report;
	int bar_shown;
	/* hard links: files with st_nlink > 1 are checked once */
	struct ino_seen *seen;
	size_t nseen, capseen;
} fs = {.svc = -1};

/* ---- report ------------------------------------------------------------ */

static void bar_clear(void)
{
	if (fs.bar_shown) {
		fputs("\r\033[K", stderr);
		fs.bar_shown = 0;
	}
}

__attribute__((format(printf, 3, 4))) static void
report(const char *tag, const char *path, const char *fmt, ...)
{
	va_list ap;
	bar_clear();
	printf("%-9s %s: ", tag, path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void progress(int force)
{
	uint64_t now = now_ns();
	if (fs.tty) {
		if (!force && now - fs.last_report < 100000000ull)
			return;
		fs.last_report = now;
		unsigned long tot = fs.total_files ? fs.total_files : 1;
		unsigned long done = fs.files < tot ? fs.files : tot;
		unsigned pct = fs.total_files ? (unsigned)(done * 100 / tot)
					      : (force ? 100u : 0u);
		unsigned fill = pct * 30 / 100;
		char bar[31];
		for (unsigned i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[30] = '\0';
		fprintf(stderr,
			"\r\033[K[%s] %3u%% %lu/%lu files, %" PRIu64 " MiB",
			bar, pct, done, fs.total_files, fs.bytes_done >> 20);
		fs.bar_shown = 1;
		return;
	}
	if (!force && now - fs.last_report < 5000000000ull)
		return;
	fs.last_report = now;
	fprintf(stderr,
		"fsck: %lu/%lu files checked, %" PRIu64 " MiB, %lu "
		"problems\n",
		fs.files, fs.total_files, fs.bytes_done >> 20,
		fs.corrupt + fs.unsettled);
}

/* ---- keyd -------------------------------------------------------------- */

static int kd_call(const void *req, size_t len, void *rep, size_t replen)
{
	if (send(fs.svc, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -EPIPE;
	ssize_t n = recv(fs.svc, rep, replen, MSG_TRUNC);
	return n == (ssize_t)replen ? 0 : -EPROTO;
}

/* Unwraps the first packet of h keyd opens into fek (locked, caller wipes).
 * 0, -ENOKEY (no packet is for our keys), -EBADMSG (a packet for one of our
 * keys failed), -EPIPE/-EPROTO (keyd gone). */
static int unwrap(const struct fmt_header *h, uint8_t fek[static KD_FEK_LEN])
{
	struct kd_unwrap_req q;
	uint8_t ad[FMT_FIXED_LEN];
	int r = -ENOKEY;
	if (fmt_header_ad(h, ad, sizeof(ad)) != FMT_FIXED_LEN)
		return -EINVAL;
	for (unsigned i = 0; i < h->npackets && i < FMT_MAX_PACKETS; i++) {
		memset(&q, 0, sizeof(q));
		q.h.type = KD_UNWRAP;
		q.h.seq = ++fs.seq;
		q.pkt = h->pkt[i];
		q.ad_len = FMT_FIXED_LEN;
		memcpy(q.ad, ad, FMT_FIXED_LEN);
		int k = kd_call(&q, sizeof(q), fs.urep, sizeof(*fs.urep));
		if (k)
			return k;
		if (fs.urep->status == 0) {
			memcpy(fek, fs.urep->fek, KD_FEK_LEN);
			secmem_wipe(fs.urep, sizeof(*fs.urep));
			return 0;
		}
		if (fs.urep->status == -EBADMSG)
			r = -EBADMSG;
		else if (fs.urep->status != -ENOKEY)
			return fs.urep->status;
	}
	secmem_wipe(fs.urep, sizeof(*fs.urep));
	return r;
}

__attribute__((format(printf, 2, 3))) static void corrupt(const char *path,
							  const char *fmt, ...);

/* ---- lost ranges ------------------------------------------------------- */

struct lost {
	uint64_t start, end; /* current merged plaintext range, end 0: none */
	unsigned long ranges;
};

static void lost_flush(struct lost *l, const char *path)
{
	if (l->end > l->start) {
		report(fs.repair ? "LOST" : "BAD-DATA", path,
		       "plaintext bytes %" PRIu64 "..%" PRIu64 " (%" PRIu64
		       " bytes)%s",
		       l->start, l->end - 1, l->end - l->start,
		       fs.repair ? " now read as zeros" : " unreadable");
		fs.lost_bytes += l->end - l->start;
		l->ranges++;
	}
	l->start = l->end = 0;
}

static void lost_add(struct lost *l, const char *path, uint64_t ext,
		     uint64_t size)
{
	uint64_t a = ext * FMT_EXTENT, b = a + FMT_EXTENT;
	if (b > size)
		b = size;
	if (l->end > l->start && l->end == a) {
		l->end = b;
		return;
	}
	lost_flush(l, path);
	l->start = a;
	l->end = b;
}

/* ---- files ------------------------------------------------------------- */

/* pread of exactly len bytes; bytes beyond the lower EOF read as zeros. */
static int pread_zero(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	ssize_t got = pread_full(fd, buf, len, off);
	if (got < 0)
		return (int)got;
	memset(buf + got, 0, len - (size_t)got);
	return 0;
}

static int pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n =
		    pwrite(fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The newer slot of a record (FORMAT.md: serial-number order, tie: 0). */
static unsigned rec_newer(const uint8_t *rec)
{
	uint32_t s0, s1;
	memcpy(&s0, rec + 28, 4);
	memcpy(&s1, rec + FMT_SLOT_LEN + 28, 4);
	s0 = le32toh(s0);
	s1 = le32toh(s1);
	return (int32_t)(s1 - s0) > 0 ? 1u : 0u;
}

static bool slot_empty(const uint8_t *slot)
{
	for (unsigned i = 0; i < 28; i++)
		if (slot[i])
			return false;
	return true;
}

/* Verifies (and with --repair fixes) every extent below EOF. cut: the
 * lower length when it is shorter than the size needs (extents from there
 * on are lost), else UINT64_MAX. Returns the number of bad extents or
 * -errno (I/O). */
static long check_extents(int fd, const char *path, struct fmt_header *h,
			  const struct cipher_key *key, uint64_t cut,
			  struct lost *lost)
{
	uint64_t n = fmt_extent_count(h->size), first = 0;
	long nbad = 0;
	int r = 0;
	static const uint8_t zero[FMT_EXTENT];

	while (first < n) {
		struct fmt_seg sg;
		uint32_t c = fmt_seg(first, n - first, &sg);
		if (c == 0)
			return -EFBIG;
		size_t dlen = (size_t)c * FMT_EXTENT;
		r = pread_zero(fd, fs.data, dlen, sg.data_off);
		if (r == 0)
			r = pread_zero(fd, fs.recs, (size_t)c * FMT_REC_LEN,
				       sg.rec_off);
		if (r)
			return r;
		int nf = fmt_open_run(fs.th, key, h, sg.first, c, fs.data,
				      fs.plain, fs.recs, fs.which, fs.bad);
		if (nf < 0)
			return nf;
		bool recs_dirty = false;
		for (uint32_t i = 0; i < c; i++) {
			uint64_t e = sg.first + i;
			uint8_t *rec = fs.recs + (size_t)i * FMT_REC_LEN;
			uint8_t *d = fs.data + (size_t)i * FMT_EXTENT;
			bool gone = fmt_data_off(e) + FMT_EXTENT > cut;
			if (fs.bad[i] || gone) {
				nbad++;
				lost_add(lost, path, e, h->size);
				if (!fs.repair)
					continue;
				/* A hole: the next version is an empty slot
				 * (newer), its data zeros. */
				fmt_rec_punch(rec, 255);
				recs_dirty = true;
				memset(d, 0, FMT_EXTENT);
				fs.which[i] = 255; /* data to write */
				continue;
			}
			/* FORMAT.md: the bytes of the last extent at and past
			 * the size are zero (a later extension exposes them).
			 */
			uint8_t *pl = fs.plain + (size_t)i * FMT_EXTENT;
			uint32_t tail = (uint32_t)(h->size % FMT_EXTENT);
			bool dirty_tail = false;
			if (e + 1 == n && tail &&
			    memcmp(pl + tail, zero, FMT_EXTENT - tail)) {
				dirty_tail = true;
				fs.tail_bad++;
				corrupt(path,
					"%" PRIu64 " bytes past the end of "
					"the file in its last extent are not "
					"zero (they would show if it grew)%s",
					(uint64_t)(FMT_EXTENT - tail),
					fs.repair ? ": zeroed" : "");
			}
			bool older = h->recovering && fs.which[i] <= 1 &&
				     fs.which[i] != rec_newer(rec);
			if (!fs.repair || (!older && !dirty_tail)) {
				fs.which[i] = 254; /* untouched */
				continue;
			}
			/* Matched its older slot (interrupted write): make
			 * that content the newer version again (with a clean
			 * tail). */
			uint8_t cur = fs.which[i];
			recs_dirty = true;
			if (!dirty_tail &&
			    slot_empty(rec + cur * FMT_SLOT_LEN)) {
				fmt_rec_punch(rec, cur);
				fs.which[i] = 254; /* data already zeros */
				continue;
			}
			if (dirty_tail)
				memset(pl + tail, 0, FMT_EXTENT - tail);
			r = fmt_seal_run(fs.th, key, h, e, 1, pl, d, rec,
					 cur <= 1 ? &cur : NULL);
			if (r)
				return r;
			fs.which[i] = 255;
		}
		if (recs_dirty) {
			/* Records first, then data (FORMAT.md update order). */
			r = pwrite_full(fd, fs.recs, (size_t)c * FMT_REC_LEN,
					sg.rec_off);
			if (r == 0)
				r = fdatasync(fd) < 0 ? -errno : 0;
			for (uint32_t i = 0; i < c && r == 0; i++) {
				if (fs.which[i] != 255)
					continue;
				uint8_t *d = fs.data + (size_t)i * FMT_EXTENT;
				r = pwrite_full(
				    fd, memcmp(d, zero, FMT_EXTENT) ? d : zero,
				    FMT_EXTENT,
				    sg.data_off + (uint64_t)i * FMT_EXTENT);
			}
			if (r)
				return r;
		}
		secmem_wipe(fs.plain, dlen);
		fs.extents += c;
		fs.bytes_done += dlen;
		first += c;
		progress(0);
	}
	return nbad;
}

static int dig_read(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	return pread_zero(*(int *)arg, buf, len, off);
}

static int64_t dig_seek_data(void *arg, uint64_t off)
{
	off_t r = lseek(*(int *)arg, (off_t)off, SEEK_DATA);
	if (r < 0)
		return errno == ENXIO ? INT64_MAX : -errno;
	return (int64_t)r;
}

static void dig_prefetch(void *arg, uint64_t off, size_t len)
{
	/* A hint only: fsck reads every file cold. */
	(void)posix_fadvise(*(int *)arg, (off_t)off, (off_t)len,
			    POSIX_FADV_WILLNEED);
}

/* The records digest of the lower file fd for h's size (FORMAT.md
 * "Records seal"); fs.data is the scratch. 0 or -errno. */
static int recs_digest(int fd, const struct fmt_header *h,
		       uint8_t d[static FMT_DIGEST_LEN])
{
	struct fmt_recs_io io = {.read = dig_read,
				 .seek_data = dig_seek_data,
				 .prefetch = dig_prefetch,
				 .arg = &fd};
	return fmt_recs_digest(&io, fmt_extent_count(h->size), fs.data, d);
}

/* Writes h's header area bytes [off, off + len) (a slot or the seal). */
static int write_area(int fd, const struct fmt_header *h, uint64_t off,
		      uint32_t len)
{
	uint8_t area[FMT_HDR_AREA];
	int r = fmt_header_serialize(h, area);
	if (r == 0 && (off > FMT_HDR_AREA || len > FMT_HDR_AREA - off))
		r = -EINVAL;
	return r ? r : pwrite_full(fd, area + off, len, off);
}

/* Rewrites the size slot (same size) without FMT_SZ_DIRTY; a sealed file
 * first gets a records seal over its records as they are now. */
static int settle_size(int fd, struct fmt_header *h,
		       const struct cipher_key *key)
{
	uint8_t d[FMT_DIGEST_LEN];
	uint64_t off;
	uint32_t len;
	int r = 0;
	fmt_recovery_done(h);
	if (h->req_flags & FMT_RF_ROLLBACK_MAC) {
		r = recs_digest(fd, h, d);
		if (r == 0)
			r = fmt_recs_seal(h, fs.th, key, h->size, d, &off,
					  &len);
		if (r == 0)
			r = write_area(fd, h, off, len);
		/* the seal must be on disk before the clean slot */
		if (r == 0 && fdatasync(fd) < 0)
			r = -errno;
		if (r)
			return r;
	}
	r = fmt_size_update(h, fs.th, key, h->size, 0, &off, &len);
	if (r == 0)
		r = write_area(fd, h, off, len);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	return r;
}

__attribute__((format(printf, 2, 3))) static void corrupt(const char *path,
							  const char *fmt, ...)
{
	va_list ap;
	fs.corrupt++;
	bar_clear();
	printf("%-9s %s: ", "CORRUPT", path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char alias_msg[] =
    "content belongs to another name: the file has several lower names "
    "(hard-linked in the lower directory)";

/* True if name (in a directory with id dirid) is not the name the file
 * seen under another name is bound to. */
static bool alias_name(const struct ino_seen *s, const uint8_t *dirid,
		       const char *name)
{
	static const uint8_t zero[FMT_BIND_LEN];
	uint8_t t[FMT_BIND_LEN];
	if (!memcmp(s->tag, zero, FMT_BIND_LEN) || (!dirid && !fs.plain_names))
		return false;
	fmt_name_bind_tag(dirid, name, strlen(name), t);
	return memcmp(s->tag, t, FMT_BIND_LEN) != 0;
}

/* Checks one lower regular file (dirfd/name) of a directory with id dirid
 * (NULL: unknown or plaintext names), shown as path. */
static void check_file(int dirfd, const char *name, const uint8_t *dirid,
		       const char *path, const struct stat *st)
{
	uint8_t blk[FMT_HDR_BLOCK];
	struct fmt_header *h = NULL;
	struct cipher_key *key = NULL;
	uint8_t *fek = NULL;
	struct lost lost = {0};
	struct ino_seen *seen = NULL;
	int fd = -1, r;
	bool problem = false, fixed_all = true;

	fs.files++;
	if (st->st_nlink > 1) {
		for (size_t i = 0; i < fs.nseen; i++) {
			if (fs.seen[i].dev != st->st_dev ||
			    fs.seen[i].ino != st->st_ino)
				continue;
			if (!alias_name(&fs.seen[i], dirid, name))
				return;
			/* a lower hard link made in place of another name:
			 * --repair unbinds the file (a full check below) */
			if (!fs.repair) {
				corrupt(path, "%s", alias_msg);
				return;
			}
			seen = &fs.seen[i];
			break;
		}
		if (seen) {
			/* checked again to be unbound */
		} else if (fs.nseen == fs.capseen) {
			size_t nc = fs.capseen ? 2 * fs.capseen : 64;
			void *p = realloc(fs.seen, nc * sizeof(*fs.seen));
			if (p) {
				fs.seen = p;
				fs.capseen = nc;
			}
		}
		if (!seen && fs.nseen < fs.capseen) {
			seen = &fs.seen[fs.nseen++];
			*seen = (struct ino_seen){.dev = st->st_dev,
						  .ino = st->st_ino};
		}
	}
	fd = openat(dirfd, name,
		    (fs.repair ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC |
			O_NOCTTY);
	if (fd < 0) {
		fs.operr++;
		report("ERROR", path, "open: %s", strerror(errno));
		goto out;
	}
	if (st->st_size == 0) {
		if (fs.repair && unlinkat(dirfd, name, 0) == 0) {
			fs.corrupt++;
			fs.repaired++;
			report("REMOVED", path,
			       "empty lower file (a create "
			       "interrupted before its header was written)");
		} else {
			corrupt(path, "%s",
				"empty lower file (no header: a "
				"create was interrupted); --repair removes it");
			fs.unrepaired += fs.repair;
		}
		goto out;
	}
	r = pread_zero(fd, blk, sizeof(blk), 0);
	if (r) {
		fs.operr++;
		report("ERROR", path, "read: %s", strerror(-r));
		goto out;
	}
	h = calloc(1, sizeof(*h));
	fek = secmem_alloc(KD_FEK_LEN);
	if (!h || !fek) {
		fs.operr++;
		report("ERROR", path, "%s", strerror(ENOMEM));
		goto out;
	}
	r = (size_t)st->st_size < FMT_HDR_AREA
		? -EINVAL
		: fmt_header_parse(blk, sizeof(blk), h);
	if (r) {
		corrupt(path, "bad header: %s",
			r == -EMEDIUMTYPE ? "not a cryptstack file (bad magic)"
			: r == -EPROTONOSUPPORT ? "unsupported format version"
			: r == -EOPNOTSUPP
			    ? "unknown required feature flag"
			    : "malformed (short or reserved bytes set)");
		fs.unrepaired += fs.repair;
		goto out;
	}
	r = unwrap(h, fek);
	if (r == -EPIPE || r == -EPROTO) {
		fs.operr++;
		report("ERROR", path, "keyd failed");
		goto out;
	}
	if (r) {
		corrupt(
		    path, "%s",
		    r == -ENOKEY
			? "no key packet is for the given passphrase/keys "
			  "(cannot verify)"
			: "key packet fails authentication (header or packet "
			  "tampered)");
		fs.unrepaired += fs.repair;
		goto out;
	}
	r = fmt_file_key_new(h, fek, cipher_thread_backend(fs.th), &key);
	secmem_wipe(fek, KD_FEK_LEN);
	if (r) {
		fs.operr++;
		report("ERROR", path, "file key: %s", strerror(-r));
		goto out;
	}
	bool size_fallback = false, erased = false;
	int so = fmt_size_open(h, fs.th, key);
	if (so) {
		if (fmt_size_open_fallback(h, fs.th, key)) {
			corrupt(
			    path, "%s",
			    "both size slots fail "
			    "authentication: size unknown, file unreadable");
			fs.unrepaired += fs.repair;
			goto out;
		}
		problem = true;
	}
	if (so == -ESTALE) {
		/* an erased current slot exposes the DIRTY commit before the
		 * last clean close (older extent versions accepted, no
		 * records seal check). cryptod: EIO. */
		erased = true;
		corrupt(path, "%s",
			"a size slot is erased (zeroed): an older state of "
			"the file is exposed; --repair settles it as is");
	} else if (so) {
		size_fallback = true;
		corrupt(path,
			"a size slot fails authentication (torn or "
			"tampered); the other slot is used: size %" PRIu64
			" (if the bad slot was the newer one, the bytes past "
			"this size are lost)",
			h->size);
	}
	if (h->size_flags & FMT_SZ_DIRTY) {
		problem = true;
		fs.unsettled++;
		report("UNSETTLED", path,
		       "not closed cleanly (FMT_SZ_DIRTY): "
		       "older extent versions accepted until settled");
	}
	/* Name binding: the file must be bound to this name (or unbound; a
	 * file with several names is unbound, FORMAT.md: a bound file with
	 * several lower names was hard-linked in the lower directory, and
	 * cryptod refuses it under the other names). */
	bool rebind = false;
	uint8_t tag[FMT_BIND_LEN];
	if ((h->req_flags & FMT_RF_NAME_BIND) && (dirid || fs.plain_names)) {
		fmt_name_bind_tag(dirid, name, strlen(name), tag);
		/* 1 (an interrupted rename) only for a verified older slot
		 * one seq below the current one (not a slot of an earlier
		 * name spliced in from a backup). */
		int b = fmt_size_bind_check(h, tag);
		if (st->st_nlink > 1 &&
		    (b != 0 || (seen && alias_name(seen, dirid, name)))) {
			/* --repair unbinds it: every name keeps it */
			problem = rebind = true;
			memset(tag, 0, sizeof(tag));
			corrupt(path, "%s", alias_msg);
		} else if (b < 0) {
			problem = rebind = true;
			corrupt(path, "%s",
				"content belongs to another name: the lower "
				"file was renamed, swapped or copied over in "
				"the lower directory");
		} else if (b == 1) {
			problem = rebind = true;
			fs.unsettled++;
			report("UNSETTLED", path, "%s",
			       "a rename was interrupted before its lower "
			       "rename: bound to the name it has now");
		}
	}
	bool seal_bad = false;
	if (fmt_recs_check_needed(h)) {
		uint8_t d[FMT_DIGEST_LEN];
		r = recs_digest(fd, h, d);
		if (r) {
			fs.operr++;
			report("ERROR", path, "records: %s", strerror(-r));
			goto out;
		}
		if (fmt_recs_verify(h, fs.th, key, d)) {
			problem = true;
			seal_bad = true;
			corrupt(path, "%s",
				"records do not match the records seal: an "
				"extent was rolled back or replaced together "
				"with its record (or a clean close was torn "
				"by power loss)");
		}
	}
	uint64_t want = fmt_lower_size(h->size), have = (uint64_t)st->st_size;
	uint64_t cut = UINT64_MAX;
	if (fmt_check_lower_size(h, have)) {
		problem = true;
		cut = have;
		corrupt(path,
			"lower file cut short (%" PRIu64 " of %" PRIu64
			" bytes): the extents past the cut are lost",
			have, want);
		if (fs.repair && ftruncate(fd, (off_t)want) < 0) {
			fs.operr++;
			report("ERROR", path, "ftruncate: %s", strerror(errno));
			goto out;
		}
	} else if (have > want) {
		problem = true;
		fs.unsettled++;
		report("UNSETTLED", path,
		       "stale tail past the size (%" PRIu64 " > %" PRIu64
		       " bytes: an extension or truncate was "
		       "interrupted)",
		       have, want);
		if (fs.repair) {
			uint64_t o, l;
			fmt_tail_records(h->size, &o, &l);
			uint8_t z[FMT_GROUP_META_BLOCKS * FMT_BLOCK] = {0};
			r = l <= sizeof(z) ? pwrite_full(fd, z, l, o) : -EINVAL;
			if (r == 0 && ftruncate(fd, (off_t)want) < 0)
				r = -errno;
			if (r) {
				fs.operr++;
				report("ERROR", path,
				       "removing the stale "
				       "tail: %s",
				       strerror(-r));
				goto out;
			}
		}
	}
	unsigned long tails = fs.tail_bad;
	long nbad = check_extents(fd, path, h, key, cut, &lost);
	if (fs.tail_bad != tails)
		problem = true;
	lost_flush(&lost, path);
	if (nbad < 0) {
		fs.operr++;
		report("ERROR", path, "extents: %s", strerror((int)-nbad));
		goto out;
	}
	if (nbad > 0) {
		problem = true;
		fs.bad_extents += (uint64_t)nbad;
		corrupt(path, "%s",
			"extents fail authentication (ranges "
			"above)");
	}
	if (problem && fs.repair) {
		/* A sealed file whose records changed needs a new seal and
		 * with it a new clean slot. */
		if (h->recovering || size_fallback || erased ||
		    (h->size_flags & FMT_SZ_DIRTY) ||
		    (h->req_flags & FMT_RF_ROLLBACK_MAC)) {
			r = settle_size(fd, h, key);
			if (r) {
				fixed_all = false;
				report("ERROR", path,
				       "writing the size slot: "
				       "%s",
				       strerror(-r));
				fs.operr++;
			}
		}
		/* rebind after the settling: twice, so both slots name it */
		for (int k = 0; k < 2 && rebind && fixed_all; k++) {
			uint64_t off;
			uint32_t len;
			r = fmt_size_rebind(h, fs.th, key, tag, &off, &len);
			if (r == 0)
				r = write_area(fd, h, off, len);
			if (r) {
				fixed_all = false;
				fs.operr++;
				report("ERROR", path, "rebinding: %s",
				       strerror(-r));
			}
		}
		if (fixed_all && fdatasync(fd) == 0) {
			fs.repaired++;
			const char *bound = !rebind ? ""
					    : st->st_nlink > 1
						? "unbound (several names); "
						: "rebound to this name; ";
			report("REPAIRED", path, "%s%s%s%s%s", bound,
			       nbad ? "bad extents are holes now; " : "",
			       fs.tail_bad != tails
				   ? "last extent's tail zeroed; "
				   : "",
			       seal_bad ? "records resealed: rolled-back or "
					  "replaced extents accepted as is; "
					: "",
			       "settled");
		} else {
			fs.unrepaired++;
		}
	}
out:
	/* the tag its other names are checked against: the current slot's
	 * (slot bytes 52..63), as found or repaired */
	if (seen && h && h->size_ok && (h->req_flags & FMT_RF_NAME_BIND))
		memcpy(seen->tag, h->size_slot[h->size_cur] + 52, FMT_BIND_LEN);
	cipher_key_free(key);
	secmem_free(fek, KD_FEK_LEN);
	if (h) {
		secmem_wipe(h, sizeof(*h));
		free(h);
	}
	if (fd >= 0)
		close(fd);
	progress(0);
}

/* ---- names, symlinks, xattrs ------------------------------------------- */

static void check_xattrs(int fd, const char *path)
{
	char list[XATTR_LIST_MAX_], name[512];
	static uint8_t val[FMT_XATTR_VALUE_MAX + FMT_XATTR_OVERHEAD];
	static uint8_t out[FMT_XATTR_VALUE_MAX];
	ssize_t n = flistxattr(fd, list, sizeof(list));
	if (n < 0 && errno == ERANGE) {
		corrupt(path, "%s", "xattr list longer than 64 KiB");
		fs.unrepaired += fs.repair;
		return;
	}
	if (n <= 0)
		return;
	for (ssize_t o = 0; o < n;) {
		const char *x = list + o;
		size_t xl = strnlen(x, (size_t)(n - o));
		o += (ssize_t)xl + 1;
		if (strncmp(x, FMT_XATTR_PREFIX, strlen(FMT_XATTR_PREFIX)))
			continue;
		int nl = fmt_xattr_name_decrypt(fs.names_key, x, xl, name,
						sizeof(name));
		if (nl < 0) {
			corrupt(path, "%s",
				"an xattr name fails "
				"authentication");
			fs.unrepaired += fs.repair;
			continue;
		}
		ssize_t vl = fgetxattr(fd, x, val, sizeof(val));
		if (vl < 0 && errno == ERANGE) {
			corrupt(path,
				"xattr %s: value longer than cryptstack "
				"writes",
				name);
			fs.unrepaired += fs.repair;
			continue;
		}
		if (vl < 0) {
			fs.operr++;
			report("ERROR", path, "getxattr: %s", strerror(errno));
			continue;
		}
		if (fmt_xattr_value_decrypt(fs.names_key, name, (size_t)nl, val,
					    (size_t)vl, out, sizeof(out)) < 0) {
			corrupt(path, "xattr %s: value fails authentication",
				name);
			fs.unrepaired += fs.repair;
		}
		secmem_wipe(out, sizeof(out));
	}
}

static void check_dir(int dfd, const char *path, const char *lpath, int depth);

/* One lower entry of a directory with id dirid (NULL: unknown/plain). */
static void check_entry(int dfd, const uint8_t *dirid, const char *path,
			const char *lpath, const char *lname, int depth)
{
	char plain[FMT_NAME_MAX + 1], cpath[PATH_MAX], clpath[PATH_MAX];
	size_t ll = strlen(lname);
	struct stat st;
	int pl = -1;

	if (fstatat(dfd, lname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return; /* removed by a repair of a sibling */
		fs.operr++;
		report("ERROR", lpath, "stat %s: %s", lname, strerror(errno));
		return;
	}
	snprintf(clpath, sizeof(clpath), "%s/%s", lpath, lname);
	if (fs.plain_names) {
		if (lname[0] == '.' && (!strcmp(lname, FMT_DIRID_NAME) ||
					!strcmp(lname, FMT_CONF_NAME)))
			return;
		snprintf(plain, sizeof(plain), "%s", lname);
		pl = (int)ll;
	} else {
		enum fmt_name_kind k = fmt_name_classify(lname, ll);
		if (k == FMT_NAME_HIDDEN) {
			size_t sl = strlen(FMT_LONG_SUFFIX);
			if (!strncmp(lname, FMT_LONG_PREFIX, 3) &&
			    ll == FMT_LONG_LEN + sl) {
				char base[FMT_LONG_LEN + 1];
				memcpy(base, lname, FMT_LONG_LEN);
				base[FMT_LONG_LEN] = '\0';
				struct stat bs;
				if (fstatat(dfd, base, &bs,
					    AT_SYMLINK_NOFOLLOW) < 0 &&
				    errno == ENOENT) {
					/* a crash between the side file
					 * and the entry (or the reverse on
					 * unlink) leaves one: harmless */
					fs.unsettled++;
					if (fs.repair &&
					    unlinkat(dfd, lname, 0) == 0) {
						fs.repaired++;
						report("REMOVED", clpath,
						       "orphaned long-name "
						       "side file");
					} else {
						report("UNSETTLED", clpath,
						       "orphaned long-name "
						       "side file (no entry "
						       "%s)",
						       base);
						fs.unrepaired += fs.repair;
					}
				}
			}
			return;
		}
		if (k == FMT_NAME_INVALID) {
			fs.foreign++;
			report("FOREIGN", clpath,
			       "not a cryptstack name "
			       "(ignored by the mount)");
			return;
		}
		if (!dirid) {
			pl = -1;
		} else if (k == FMT_NAME_LONG) {
			char side[FMT_LONG_LEN + 8];
			uint8_t buf[FMT_SIDE_MAX + 1];
			snprintf(side, sizeof(side), "%s%s", lname,
				 FMT_LONG_SUFFIX);
			int sfd = openat(dfd, side,
					 O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			ssize_t n = sfd >= 0 ? read(sfd, buf, sizeof(buf)) : -1;
			if (sfd >= 0)
				close(sfd);
			if (n < 0) {
				fs.corrupt++;
				fs.unrepaired += fs.repair;
				report("CORRUPT", clpath,
				       "long name: side file "
				       "%s: %s",
				       side, strerror(errno));
			} else {
				pl = fmt_side_parse(fs.names_key, dirid, lname,
						    ll, buf, (size_t)n, plain,
						    sizeof(plain));
				if (pl < 0) {
					fs.corrupt++;
					fs.unrepaired += fs.repair;
					report("CORRUPT", clpath,
					       "long name: "
					       "side file fails "
					       "authentication");
				}
			}
		} else {
			pl = fmt_name_decrypt(fs.names_key, dirid, lname, ll,
					      plain, sizeof(plain));
			if (pl < 0) {
				fs.corrupt++;
				fs.unrepaired += fs.repair;
				report("CORRUPT", clpath,
				       "name fails "
				       "authentication (tampered, or moved "
				       "from another directory)");
			}
		}
	}
	if (pl >= 0)
		snprintf(cpath, sizeof(cpath), "%s/%s", path, plain);
	else
		snprintf(cpath, sizeof(cpath), "%s/?%s", path, lname);
	char shown[2 * PATH_MAX + 16];
	if (fs.plain_names)
		snprintf(shown, sizeof(shown), "%s", cpath);
	else
		snprintf(shown, sizeof(shown), "%s [%s]", cpath, clpath);

	if (S_ISDIR(st.st_mode)) {
		int cfd =
		    openat(dfd, lname,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			fs.operr++;
			report("ERROR", shown, "open: %s", strerror(errno));
			return;
		}
		check_xattrs(cfd, shown);
		check_dir(cfd, cpath, clpath, depth + 1);
		close(cfd);
	} else if (S_ISLNK(st.st_mode)) {
		char enc[4097], out[FMT_SYMLINK_MAX + 1];
		fs.symlinks++;
		ssize_t n = readlinkat(dfd, lname, enc, sizeof(enc) - 1);
		if (n < 0) {
			fs.operr++;
			report("ERROR", shown, "readlink: %s", strerror(errno));
			return;
		}
		enc[n] = '\0';
		if (!fs.plain_names) {
			if (fmt_symlink_decrypt(fs.names_key, enc, (size_t)n,
						out, sizeof(out)) < 0) {
				fs.corrupt++;
				fs.unrepaired += fs.repair;
				report("CORRUPT", shown,
				       "symlink target fails "
				       "authentication");
			}
		}
	} else if (S_ISREG(st.st_mode)) {
		check_file(dfd, lname, dirid, shown, &st);
		int xfd = openat(dfd, lname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (xfd >= 0) {
			check_xattrs(xfd, shown);
			close(xfd);
		}
	} else {
		fs.others++;
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks the lower directory dfd (plaintext path, lower path). */
static void check_dir(int dfd, const char *path, const char *lpath, int depth)
{
	uint8_t dirid[FMT_DIRID_LEN], buf[FMT_DIRID_FILE_LEN + 1];
	const uint8_t *idp = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = NULL;

	fs.dirs++;
	if (depth > 512) {
		fs.operr++;
		report("ERROR", lpath, "directory tree deeper than 512");
		return;
	}
	int dup_fd = dup(dfd);
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		fs.operr++;
		report("ERROR", lpath, "opendir: %s", strerror(errno));
		return;
	}
	/* Read all names first: repairs unlink entries. Sorted so that the
	 * report is stable. */
	struct dirent *de;
	rewinddir(d); /* the dup shares the offset with earlier walks */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (depth == 0 && !strcmp(de->d_name, FMT_CONF_NAME))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			char **p = realloc(names, nc * sizeof(*names));
			if (!p)
				break;
			names = p;
			cap = nc;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), name_cmp);
	if (!fs.plain_names) {
		int fd = openat(dfd, FMT_DIRID_NAME,
				O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t l = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		int e = errno;
		if (fd >= 0)
			close(fd);
		bool named = false;
		for (size_t i = 0; i < n; i++) {
			enum fmt_name_kind k =
			    fmt_name_classify(names[i], strlen(names[i]));
			named |= k == FMT_NAME_REGULAR || k == FMT_NAME_LONG;
		}
		if (l < 0 && e == ENOENT && depth == 0 && !named) {
			/* a fresh volume: cryptod creates the root's id on
			 * first use */
		} else if (l < 0) {
			fs.corrupt++;
			fs.unrepaired += fs.repair;
			report("CORRUPT", lpath,
			       "directory id file %s: %s "
			       "(names in it cannot be decrypted)",
			       FMT_DIRID_NAME, strerror(e));
		} else if (fmt_dirid_parse(buf, (size_t)l, dirid)) {
			fs.corrupt++;
			fs.unrepaired += fs.repair;
			report("CORRUPT", lpath,
			       "directory id file %s is "
			       "malformed",
			       FMT_DIRID_NAME);
		} else {
			idp = dirid;
		}
	}
	for (size_t i = 0; i < n; i++) {
		check_entry(dfd, idp, path, lpath, names[i], depth);
		free(names[i]);
	}
	free(names);
}

/* ---- mounted? ---------------------------------------------------------- */

/* Undoes the octal escapes of /proc/self/mountinfo in place. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Returns 1 (and the mountpoint in mnt) if a cryptstack mount of the
 * volume at real (canonical lower path, st its stat) is active, or a
 * cryptod holds the lower directory open; else 0. */
static int volume_in_use(const char *real, const struct stat *lst, char *mnt,
			 size_t mlen)
{
	char line[3 * PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char fstype[64], src[PATH_MAX + 16], mp[PATH_MAX];
		if (sscanf(sep + 3, "%63s %4111s", fstype, src) != 2 ||
		    strcmp(fstype, "fuse.cryptstack"))
			continue;
		unescape(src);
		if (strncmp(src, "cryptstack:", 11))
			continue;
		char rs[PATH_MAX];
		const char *s = src + 11;
		if (realpath(s, rs))
			s = rs;
		if (strcmp(s, real))
			continue;
		/* field 5 is the mountpoint */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1) {
			unescape(mp);
			snprintf(mnt, mlen, "%s", mp);
		}
		found = 1;
	}
	if (f)
		fclose(f);
	if (found)
		return 1;
	/* A cryptod of this volume (its mount may be gone, it may not). */
	DIR *p = opendir("/proc");
	struct dirent *de;
	while (p && !found && (de = readdir(p))) {
		char comm[64] = "", fn[300];
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(fn, sizeof(fn), "/proc/%s/comm", de->d_name);
		FILE *c = fopen(fn, "re");
		if (!c)
			continue;
		if (!fgets(comm, sizeof(comm), c))
			comm[0] = '\0';
		fclose(c);
		if (strncmp(comm, "cryptstack-cryp", 15))
			continue;
		snprintf(fn, sizeof(fn), "/proc/%s/fd", de->d_name);
		DIR *fdd = opendir(fn);
		struct dirent *fe;
		while (fdd && !found && (fe = readdir(fdd))) {
			struct stat fst;
			char lp[600];
			snprintf(lp, sizeof(lp), "%s/%s", fn, fe->d_name);
			if (stat(lp, &fst) == 0 && S_ISDIR(fst.st_mode) &&
			    fst.st_dev == lst->st_dev &&
			    fst.st_ino == lst->st_ino) {
				snprintf(mnt, mlen, "(cryptod pid %s)",
					 de->d_name);
				found = 1;
			}
		}
		if (fdd)
			closedir(fdd);
	}
	if (p)
		closedir(p);
	return found;
}

/* ---- counting (progress) ---------------------------------------------- */

static void count_tree(int dfd, int depth)
{
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || !strcmp(de->d_name, "..") ||
		     !strcmp(de->d_name, FMT_DIRID_NAME) ||
		     !strcmp(de->d_name, FMT_CONF_NAME)))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) &&
		    !strstr(de->d_name, FMT_LONG_SUFFIX)) {
			fs.total_files++;
			fs.total_bytes += (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode) && depth < 512) {
			int c = openat(dfd, de->d_name,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					   O_CLOEXEC);
			if (c >= 0) {
				count_tree(c, depth + 1);
				close(c);
			}
		}
	}
	closedir(d);
}

/* ---- command ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: cryptstack fsck [--repair] [--force] [--passfile FILE | "
	       "--extpass CMD]\n"
	       "                       [--key PRIV.pem [--key-passfile FILE]] "
	       "[--progress|--no-progress] LOWER\n"
	       "exit status: 0 clean, 1 corrupt or unsettled files (run "
	       "--repair), 2 operational\n"
	       "error (wrong passphrase, not a volume, I/O error, volume "
	       "mounted), 3 everything\nfound was repaired (lost ranges "
	       "listed).\n");
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"repair", no_argument, NULL, 'r'},
	    {"force", no_argument, NULL, 'F'},
	    {"passfile", required_argument, NULL, 'p'},
	    {"extpass", required_argument, NULL, 'e'},
	    {"key", required_argument, NULL, 'k'},
	    {"key-passfile", required_argument, NULL, 'K'},
	    {"progress", no_argument, NULL, 'P'},
	    {"no-progress", no_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_unlock_opts uo = {0};
	struct cli_unlock u = {0};
	int o, ret = EXIT_OPERR, lower = -1, force = 0, prog = -1;
	pid_t kpid = -1;
	char err[600], real[PATH_MAX], mnt[PATH_MAX] = "";
	uint8_t *conf = NULL;
	struct vol_config *vc = NULL;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (cli_unlock_opt(o, optarg, &uo))
			continue;
		switch (o) {
		case 'r':
			fs.repair = 1;
			break;
		case 'F':
			force = 1;
			break;
		case 'P':
			prog = 1;
			break;
		case 'N':
			prog = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_OPERR;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return EXIT_OPERR;
	}
	const char *root = argv[optind];
	fs.tty = prog >= 0 ? prog : isatty(2);
	lower = cli_open_lower(root);
	if (lower < 0)
		return EXIT_OPERR;
	struct stat lst;
	if (!realpath(root, real) || fstat(lower, &lst) < 0) {
		fprintf(stderr, "cryptstack: %s: %s\n", root, strerror(errno));
		goto out;
	}
	/* One fsck --repair at a time, and no check while one repairs (a
	 * supervisor holding LOCK_SH on the lower directory while mounted
	 * would close the race with a mount starting now too). */
	if (flock(lower, (fs.repair ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		fprintf(stderr,
			"cryptstack: fsck: %s is locked by another "
			"fsck%s\n",
			real, fs.repair ? " (or a mount)" : " --repair");
		goto out;
	}
	if (volume_in_use(real, &lst, mnt, sizeof(mnt))) {
		fprintf(
		    stderr,
		    "cryptstack: fsck: %s is in use: mounted on %s"
		    "%s\n",
		    real, mnt,
		    force
			? " (--force: checking "
			  "anyway; results may be wrong, repairs may race the "
			  "mount)"
			: "; unmount it first (or --force)");
		if (!force || fs.repair)
			goto out;
	}
	/* The config: names mode (keyd validates the rest). */
	int cfd =
	    openat(lower, FMT_CONF_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0) {
		fprintf(stderr,
			"cryptstack: not a cryptstack volume (no %s in "
			"%s)\n",
			FMT_CONF_NAME, root);
		goto out;
	}
	conf = malloc(VOL_MAX_SIZE + 1);
	vc = calloc(1, sizeof(*vc));
	ssize_t cl = conf ? read_full(cfd, conf, VOL_MAX_SIZE + 1) : -1;
	close(cfd);
	const char *why = NULL;
	if (!vc || cl < 0 || vol_parse(conf, (size_t)cl, vc, &why)) {
		fprintf(stderr, "cryptstack: %s/%s: %s\n", root, FMT_CONF_NAME,
			why ? why : "unreadable");
		goto out;
	}
	fs.plain_names = vc->names == VOL_NAMES_PLAIN;

	int r = cli_unlock_collect(&u, &uo, "Passphrase: ");
	if (r)
		goto out;
	r = cli_keyd_start(lower, &u, &fs.svc, &kpid, err, sizeof(err));
	cli_unlock_clear(&u);
	if (r) {
		fprintf(stderr, "cryptstack: %s\n", err);
		goto out;
	}
	fs.urep = secmem_alloc(sizeof(*fs.urep));
	fs.names_key = secmem_alloc(FMT_NAMES_KEY_LEN);
	fs.plain = secmem_alloc((size_t)SEG_MAX * FMT_EXTENT);
	fs.data = malloc((size_t)SEG_MAX * FMT_EXTENT);
	if (!fs.urep || !fs.names_key || !fs.plain || !fs.data) {
		fprintf(stderr, "cryptstack: fsck: out of (locked) memory\n");
		goto out;
	}
	struct kd_hello hq = {.h = {KD_HELLO, 0}, .version = KD_PROTO_VERSION},
			hp;
	struct kd_names_key_req nq = {.h = {KD_NAMES_KEY, 1}};
	struct kd_names_key_rep *np = secmem_alloc(sizeof(*np));
	r = np ? kd_call(&hq, sizeof(hq), &hp, sizeof(hp)) : -ENOMEM;
	if (r == 0)
		r = kd_call(&nq, sizeof(nq), np, sizeof(*np));
	if (r == 0 && np->status)
		r = np->status;
	if (r == 0)
		memcpy(fs.names_key, np->key, FMT_NAMES_KEY_LEN);
	secmem_free(np, sizeof(*np));
	if (r) {
		fprintf(stderr, "cryptstack: fsck: keyd: %s\n", strerror(-r));
		goto out;
	}
	fs.seq = 1;
	r = cipher_thread_new(cipher_backend_default(), &fs.th);
	if (r) {
		fprintf(stderr, "cryptstack: fsck: cipher: %s\n", strerror(-r));
		goto out;
	}
	count_tree(lower, 0);
	fs.last_report = now_ns();
	check_xattrs(lower, "/");
	check_dir(lower, "", real, 0);
	if (fs.tty)
		progress(1); /* the bar at 100 %, then cleared */
	bar_clear();
	printf("fsck %s: %lu directories, %lu files, %lu symlinks, %" PRIu64
	       " extents checked; %lu corrupt, %lu unsettled, %" PRIu64
	       " bad extents, %lu foreign entries, %lu errors",
	       real, fs.dirs, fs.files, fs.symlinks, fs.extents, fs.corrupt,
	       fs.unsettled, fs.bad_extents, fs.foreign, fs.operr);
	if (fs.repair)
		printf("; repaired %lu, not repairable %lu, %" PRIu64
		       " plaintext bytes lost",
		       fs.repaired, fs.unrepaired, fs.lost_bytes);
	printf("\n");
	if (fs.operr)
		ret = EXIT_OPERR;
	else if (fs.corrupt + fs.unsettled == 0)
		ret = EXIT_CLEAN;
	else if (fs.repair && fs.unrepaired == 0)
		ret = EXIT_REPAIRED;
	else
		ret = EXIT_CORRUPT;
out:
	bar_clear();
	cli_unlock_clear(&u);
	if (fs.svc >= 0)
		close(fs.svc);
	if (kpid > 0)
		waitpid(kpid, NULL, 0);
	cipher_thread_free(fs.th);
	secmem_free(fs.urep, sizeof(*fs.urep));
	secmem_free(fs.names_key, FMT_NAMES_KEY_LEN);
	secmem_free(fs.plain, (size_t)SEG_MAX * FMT_EXTENT);
	free(fs.data);
	free(fs.seen);
	free(conf);
	free(vc);
	if (lower >= 0)
		close(lower);
	return ret;
}
