/* SPDX-License-Identifier: MIT */
/*
 * Crash test workload (tests/reliability/crash.sh).
 *
 *   cs_crashwriter write DIR JOURNAL SEED VERSION_BASE SECONDS
 *   cs_crashwriter check DIR JOURNAL [LOSTFILE LOSTBLOCK]
 *
 * write: NFILES files in DIR, whole 4 KiB blocks written at random
 * offsets (and appends, and block-aligned truncates), an fsync of a file
 * every few operations. Every block written carries a self-describing
 * header (file, block, version) and a fill derived from it, so any block
 * read back can be checked on its own. After each successful fsync the
 * file's acknowledged state (size, version of each block) is saved in
 * JOURNAL/f<i>.ack (tmp + rename: atomic even if this process is killed
 * too). Errors after the mount died (EIO, ENOTCONN) end the run with 0.
 *
 * check: reads every file back and requires
 *   - no read error (never EIO for data that was not torn: kill -9 cannot
 *     tear a lower write);
 *   - size >= acknowledged size (or the lowest truncate journaled since);
 *   - every block below that size: a valid block of this
 *     file/position with version >= the acknowledged one (zeros only where
 *     the acknowledged state is a hole);
 *   - every block beyond it: zeros or a valid block of this file/position.
 * Then the state found becomes the new acknowledged state (it is what the
 * lower files hold), so the next writer continues from it. Exit 1 on any
 * violation, listing each.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BS     4096u
#define NFILES 4u
#define MAXBLK 1024u	   /* 4 MiB per file */
#define MAGIC  0x57525343u /* "CSRW" */

struct ack {
	uint64_t size;
	uint64_t low; /* lowest size a truncate since the ack may have set */
	uint32_t ver[MAXBLK];
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void fill_block(uint8_t *b, uint32_t file, uint32_t blk, uint32_t ver)
{
	uint32_t h[4] = {MAGIC, file, blk, ver};
	uint64_t s = ((uint64_t)file << 48) ^ ((uint64_t)blk << 32) ^ ver ^
		     0x9E3779B97F4A7C15ull;
	memcpy(b, h, sizeof(h));
	for (unsigned i = 16; i < BS; i += 8) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		uint64_t v = s * 0x2545F4914F6CDD1Dull;
		memcpy(b + i, &v, 8);
	}
}

/* Returns the version of a valid block, 0 for all zeros, -1 otherwise. */
static int64_t block_version(const uint8_t *b, uint32_t file, uint32_t blk)
{
	static uint8_t want[BS];
	uint32_t h[4];
	memcpy(h, b, sizeof(h));
	if (h[0] != MAGIC) {
		for (unsigned i = 0; i < BS; i++)
			if (b[i])
				return -1;
		return 0;
	}
	if (h[1] != file || h[2] != blk || h[3] == 0)
		return -1;
	fill_block(want, file, blk, h[3]);
	return memcmp(want, b, BS) ? -1 : (int64_t)h[3];
}

static int ack_load(const char *jdir, unsigned i, struct ack *a)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/f%u.ack", jdir, i);
	memset(a, 0, sizeof(*a));
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ssize_t n = read(fd, a, sizeof(*a));
	close(fd);
	return n == (ssize_t)sizeof(*a) ? 0 : -EINVAL;
}

static int ack_save(const char *jdir, unsigned i, const struct ack *a)
{
	char p[4096], t[4200];
	snprintf(p, sizeof(p), "%s/f%u.ack", jdir, i);
	snprintf(t, sizeof(t), "%s.tmp", p);
	int fd = open(t, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, a, sizeof(*a));
	close(fd);
	if (n != (ssize_t)sizeof(*a))
		return -EIO;
	return rename(t, p) < 0 ? -errno : 0;
}

/* ---- metadata: creates, renames, unlinks of short and long names ---- */

#define NMETA	 8u
#define META_LEN 100u

static void meta_name(const char *dir, unsigned k, char *out, size_t cap)
{
	char n[256];
	unsigned len = k < NMETA / 2 ? 8u : 200u + k; /* long: side files */
	for (unsigned i = 0; i < len; i++)
		n[i] = (char)('a' + (k + i) % 26);
	n[len] = '\0';
	snprintf(out, cap, "%s/meta/%s", dir, n);
}

static void meta_fill(uint8_t *b)
{
	for (unsigned i = 0; i < META_LEN; i++)
		b[i] = (uint8_t)(i * 7 + 3);
}

/* One metadata operation; 0, or -errno when the mount is gone. */
static int meta_op(const char *dir)
{
	char a[4400], b[4400];
	uint8_t buf[META_LEN];
	unsigned x = (unsigned)(rnd() % NMETA), y = (unsigned)(rnd() % NMETA);
	meta_name(dir, x, a, sizeof(a));
	meta_name(dir, y, b, sizeof(b));
	int r = 0;
	switch (rnd() % 3) {
	case 0: {
		int fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			r = -errno;
			break;
		}
		meta_fill(buf);
		if (write(fd, buf, META_LEN) != (ssize_t)META_LEN)
			r = -errno;
		close(fd);
		break;
	}
	case 1:
		r = rename(a, b) < 0 ? -errno : 0;
		break;
	default:
		r = unlink(a) < 0 ? -errno : 0;
	}
	return r == -ENOENT || r == -EEXIST ? 0 : r;
}

static int do_write(const char *dir, const char *jdir, uint64_t seed,
		    uint32_t vbase, double secs)
{
	static struct ack cur[NFILES], acked[NFILES];
	static uint8_t buf[32 * BS];
	int fd[NFILES];
	unsigned ops_since[NFILES] = {0};
	uint32_t ver = vbase;
	unsigned long nops = 0, nsync = 0;
	struct timespec t0, t;
	char p[4096];

	rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
	for (unsigned i = 0; i < NFILES; i++) {
		if (ack_load(jdir, i, &acked[i])) {
			fprintf(stderr, "writer: bad journal f%u\n", i);
			return 2;
		}
		cur[i] = acked[i];
		snprintf(p, sizeof(p), "%s/f%u", dir, i);
		fd[i] = open(p, O_RDWR | O_CREAT, 0644);
		if (fd[i] < 0) {
			printf("writer: open %s: %s\n", p, strerror(errno));
			return 0;
		}
	}
	snprintf(p, sizeof(p), "%s/meta", dir);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		printf("writer: mkdir %s: %s\n", p, strerror(errno));
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) +
			(double)(t.tv_nsec - t0.tv_nsec) / 1e9 >
		    secs)
			break;
		unsigned f = (unsigned)(rnd() % NFILES);
		struct ack *c = &cur[f];
		uint64_t r = rnd() % 100;
		int rc = 0;
		if (r >= 90) {
			rc = meta_op(dir);
			if (rc) {
				printf("writer: stopped by %s (metadata)\n",
				       strerror(-rc));
				return 0;
			}
			nops++;
			continue;
		}
		if (r < 3) {
			/* block-aligned truncate (down or up) */
			uint32_t nb = (uint32_t)(rnd() % MAXBLK);
			/* journal the intent first: an unacknowledged
			 * truncate may land */
			if ((uint64_t)nb * BS < acked[f].low) {
				acked[f].low = (uint64_t)nb * BS;
				if (ack_save(jdir, f, &acked[f])) {
					fprintf(stderr, "writer: journal\n");
					return 2;
				}
			}
			if (ftruncate(fd[f], (off_t)nb * BS) < 0)
				rc = -errno;
			else {
				for (uint32_t b = nb; b < MAXBLK; b++)
					c->ver[b] = 0;
				c->size = (uint64_t)nb * BS;
			}
		} else {
			uint32_t nb = 1 + (uint32_t)(rnd() % 32), first;
			if (r < 30)
				first = (uint32_t)(c->size / BS); /* append */
			else
				first = (uint32_t)(rnd() % MAXBLK);
			if (first >= MAXBLK)
				first = (uint32_t)(rnd() % MAXBLK);
			if (first + nb > MAXBLK)
				nb = MAXBLK - first;
			for (uint32_t k = 0; k < nb; k++)
				fill_block(buf + (size_t)k * BS, f, first + k,
					   ++ver);
			ssize_t w = pwrite(fd[f], buf, (size_t)nb * BS,
					   (off_t)first * BS);
			if (w != (ssize_t)nb * BS) {
				rc = w < 0 ? -errno : -EIO;
			} else {
				for (uint32_t k = 0; k < nb; k++)
					c->ver[first + k] = ver - nb + 1 + k;
				if ((uint64_t)(first + nb) * BS > c->size)
					c->size = (uint64_t)(first + nb) * BS;
			}
		}
		if (rc == 0 && ++ops_since[f] >= 1 + rnd() % 8) {
			ops_since[f] = 0;
			if (fsync(fd[f]) < 0) {
				rc = -errno;
			} else {
				acked[f] = *c;
				acked[f].low = c->size;
				if (ack_save(jdir, f, &acked[f])) {
					fprintf(stderr, "writer: journal\n");
					return 2;
				}
				nsync++;
			}
		}
		if (rc) {
			printf("writer: stopped by %s after %lu ops, %lu "
			       "fsyncs\n",
			       strerror(-rc), nops, nsync);
			return 0;
		}
		nops++;
	}
	printf("writer: %lu ops, %lu fsyncs (time limit)\n", nops, nsync);
	for (unsigned i = 0; i < NFILES; i++)
		close(fd[i]);
	return 0;
}

/* lost_file/lost_blk: one block fsck --repair turned into a hole (the
 * power-loss phase of crash.sh): it may read as zeros. */
static int do_check(const char *dir, const char *jdir, int lost_file,
		    long lost_blk)
{
	static struct ack a, found;
	static uint8_t b[BS];
	unsigned long viol = 0, blocks = 0, newer = 0;
	char p[4096];

	for (uint32_t f = 0; f < NFILES; f++) {
		if (ack_load(jdir, f, &a)) {
			fprintf(stderr, "check: bad journal f%u\n", f);
			return 2;
		}
		snprintf(p, sizeof(p), "%s/f%u", dir, f);
		int fd = open(p, O_RDONLY);
		if (fd < 0) {
			if (errno == ENOENT && a.size == 0)
				continue;
			printf("VIOLATION f%u: open: %s\n", f, strerror(errno));
			viol++;
			continue;
		}
		struct stat st;
		fstat(fd, &st);
		uint64_t size = (uint64_t)st.st_size;
		memset(&found, 0, sizeof(found));
		found.size = found.low = size;
		if (size < a.low) {
			printf("VIOLATION f%u: size %" PRIu64 " < acknowledged "
			       "%" PRIu64 " (no truncate below since)\n",
			       f, size, a.low);
			viol++;
		}
		if (size % BS || size > (uint64_t)MAXBLK * BS) {
			printf("VIOLATION f%u: size %" PRIu64 " was never "
			       "written\n",
			       f, size);
			viol++;
			size = size > (uint64_t)MAXBLK * BS
				   ? (uint64_t)MAXBLK * BS
				   : size / BS * BS;
		}
		for (uint32_t k = 0; (uint64_t)k * BS < size; k++) {
			ssize_t n = pread(fd, b, BS, (off_t)k * BS);
			blocks++;
			if (n != (ssize_t)BS) {
				printf("VIOLATION f%u block %u: read: %s\n", f,
				       k, n < 0 ? strerror(errno) : "short");
				viol++;
				continue;
			}
			int64_t v = block_version(b, f, k);
			uint64_t bo = (uint64_t)k * BS;
			if (v < 0) {
				printf("VIOLATION f%u block %u: content is "
				       "neither a written block nor zeros\n",
				       f, k);
				viol++;
				continue;
			}
			found.ver[k] = (uint32_t)v;
			if ((int)f == lost_file && (long)k == lost_blk &&
			    v == 0)
				continue; /* repaired into a hole */
			if (bo < a.low && (uint32_t)v < a.ver[k]) {
				printf(
				    "VIOLATION f%u block %u: version %" PRId64
				    " older than acknowledged %u\n",
				    f, k, v, a.ver[k]);
				viol++;
			} else if (bo < a.low && (uint32_t)v > a.ver[k]) {
				newer++;
			}
		}
		close(fd);
		if (ack_save(jdir, f, &found)) {
			fprintf(stderr, "check: journal\n");
			return 2;
		}
	}
	/* metadata files: each is empty (create not yet written) or whole */
	unsigned nmeta = 0;
	for (unsigned k = 0; k < NMETA; k++) {
		uint8_t want[META_LEN], got[META_LEN + 1];
		meta_name(dir, k, p, sizeof(p));
		int fd = open(p, O_RDONLY);
		if (fd < 0) {
			if (errno != ENOENT) {
				printf("VIOLATION meta %u: open: %s\n", k,
				       strerror(errno));
				viol++;
			}
			continue;
		}
		nmeta++;
		ssize_t n = read(fd, got, sizeof(got));
		close(fd);
		meta_fill(want);
		if (n < 0 || (n != 0 && (n != (ssize_t)META_LEN ||
					 memcmp(got, want, META_LEN)))) {
			printf("VIOLATION meta %u: %s\n", k,
			       n < 0 ? strerror(errno) : "bad content");
			viol++;
		}
	}
	snprintf(p, sizeof(p), "%s/meta", dir);
	DIR *d = opendir(p);
	unsigned listed = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		listed += de->d_name[0] != '.';
	if (d)
		closedir(d);
	if (d && listed != nmeta) {
		printf("VIOLATION meta: readdir lists %u entries, %u open\n",
		       listed, nmeta);
		viol++;
	}
	printf("check: %lu blocks, %lu newer than acknowledged, %u metadata "
	       "files, %lu violations\n",
	       blocks, newer, nmeta, viol);
	return viol ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], strtoull(argv[4], NULL, 0),
				(uint32_t)strtoul(argv[5], NULL, 0),
				strtod(argv[6], NULL));
	if (argc == 4 && !strcmp(argv[1], "check"))
		return do_check(argv[2], argv[3], -1, -1);
	if (argc == 6 && !strcmp(argv[1], "check"))
		return do_check(argv[2], argv[3], atoi(argv[4]),
				strtol(argv[5], NULL, 0));
	fprintf(stderr, "usage: cs_crashwriter write DIR JOURNAL SEED VBASE "
			"SECONDS | check DIR JOURNAL [LOSTFILE LOSTBLOCK]\n");
	return 2;
}
