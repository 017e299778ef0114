/* SPDX-License-Identifier: MIT */
/*
 * Load test workload (tests/reliability/load.sh):
 *
 *   cs_loadtest DIR THREADS SECONDS [SEED]
 *
 * Half of the threads are writers: each owns a file, writes random
 * unaligned ranges (1 byte .. 256 KiB, up to 8 MiB), truncates now and
 * then, fsyncs, and reads random ranges back, comparing with an in-memory
 * copy. The other half are readers: they read random ranges of four shared
 * 8 MiB files whose content is a function of the offset, and do metadata
 * work in a private directory (create, write, rename, readdir, unlink).
 * Every mismatch or error is printed; exit 1 if there was any. The last
 * line is machine-readable: "load: ops=N bytes_written=N bytes_read=N
 * errors=N".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHARED	    4
#define SHARED_SIZE (8u << 20)
#define MAXFILE	    (8u << 20)
#define MAXIO	    (256u << 10)

static const char *dir;
static double secs;
static uint64_t seed;
static atomic_ulong n_ops, n_err;
static atomic_ullong n_wr, n_rd;

struct th {
	pthread_t t;
	unsigned id;
	uint64_t rng;
};

static uint64_t rnd(struct th *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545F4914F6CDD1Dull;
}

static uint8_t shared_byte(unsigned k, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9E3779B97F4A7C15ull ^
		     (k + 1) * 0xC2B2AE3D27D4EB4Full;
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 32;
	return (uint8_t)(x >> ((off & 7) * 8));
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

#define ERR(...)                                                               \
	do {                                                                   \
		atomic_fetch_add(&n_err, 1);                                   \
		printf(__VA_ARGS__);                                           \
		fflush(stdout);                                                \
	} while (0)

static int full_pread(int fd, uint8_t *b, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, b + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : (int)got;
		got += (size_t)r;
	}
	return (int)got;
}

static void *writer(void *arg)
{
	struct th *t = arg;
	uint8_t *model = calloc(1, MAXFILE), *buf = malloc(MAXIO);
	uint64_t size = 0;
	char p[4096];
	struct timespec t0;
	snprintf(p, sizeof(p), "%s/w%u", dir, t->id);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !model || !buf) {
		ERR("writer %u: open %s: %s\n", t->id, p, strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed(&t0) < secs) {
		uint64_t r = rnd(t) % 100;
		if (r < 55) {
			size_t len = 1 + rnd(t) % MAXIO;
			uint64_t off = rnd(t) % (MAXFILE - len);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rnd(t);
			ssize_t w = pwrite(fd, buf, len, (off_t)off);
			if (w != (ssize_t)len) {
				ERR("writer %u: pwrite %zu@%" PRIu64 ": %s\n",
				    t->id, len, off,
				    w < 0 ? strerror(errno) : "short");
				continue;
			}
			memcpy(model + off, buf, len);
			if (off + len > size)
				size = off + len;
			atomic_fetch_add(&n_wr, len);
		} else if (r < 90) {
			size_t len = 1 + rnd(t) % MAXIO;
			uint64_t off = rnd(t) % (MAXFILE - len);
			int n = full_pread(fd, buf, len, (off_t)off);
			size_t want =
			    off >= size ? 0
					: (size - off < len ? size - off : len);
			if (n < 0 || (size_t)n != want) {
				ERR("writer %u: pread %zu@%" PRIu64 ": got %d, "
				    "want %zu (%s)\n",
				    t->id, len, off, n, want,
				    n < 0 ? strerror(-n) : "size");
				continue;
			}
			if (memcmp(buf, model + off, want)) {
				size_t i = 0;
				while (buf[i] == model[off + i])
					i++;
				ERR("writer %u: MISMATCH at %" PRIu64 "\n",
				    t->id, off + i);
			}
			atomic_fetch_add(&n_rd, (unsigned long long)want);
		} else if (r < 95) {
			uint64_t ns = rnd(t) % MAXFILE;
			if (ftruncate(fd, (off_t)ns) < 0) {
				ERR("writer %u: ftruncate: %s\n", t->id,
				    strerror(errno));
				continue;
			}
			if (ns < size)
				memset(model + ns, 0, size - ns);
			size = ns;
		} else {
			if (fsync(fd) < 0)
				ERR("writer %u: fsync: %s\n", t->id,
				    strerror(errno));
		}
		struct stat st;
		if ((rnd(t) & 63) == 0 &&
		    (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size))
			ERR("writer %u: size %lld, want %" PRIu64 "\n", t->id,
			    (long long)st.st_size, size);
		atomic_fetch_add(&n_ops, 1);
	}
	close(fd);
out:
	free(model);
	free(buf);
	return NULL;
}

static void *reader(void *arg)
{
	struct th *t = arg;
	uint8_t *buf = malloc(MAXIO);
	int fd[SHARED];
	char p[4200], q[4200], d[4096];
	struct timespec t0;
	unsigned seq = 0;
	snprintf(d, sizeof(d), "%s/r%u", dir, t->id);
	if (mkdir(d, 0755) < 0 && errno != EEXIST)
		ERR("reader %u: mkdir: %s\n", t->id, strerror(errno));
	for (unsigned k = 0; k < SHARED; k++) {
		snprintf(p, sizeof(p), "%s/shared%u", dir, k);
		fd[k] = open(p, O_RDONLY);
		if (fd[k] < 0)
			ERR("reader %u: open %s: %s\n", t->id, p,
			    strerror(errno));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (buf && elapsed(&t0) < secs) {
		uint64_t r = rnd(t) % 100;
		if (r < 80) {
			unsigned k = (unsigned)(rnd(t) % SHARED);
			size_t len = 1 + rnd(t) % MAXIO;
			uint64_t off = rnd(t) % (SHARED_SIZE - len);
			if (fd[k] < 0)
				continue;
			int n = full_pread(fd[k], buf, len, (off_t)off);
			if (n != (int)len) {
				ERR("reader %u: shared%u pread %zu@%" PRIu64
				    ": %d (%s)\n",
				    t->id, k, len, off, n,
				    n < 0 ? strerror(-n) : "short");
				continue;
			}
			for (size_t i = 0; i < len; i++)
				if (buf[i] != shared_byte(k, off + i)) {
					ERR("reader %u: shared%u MISMATCH at "
					    "%" PRIu64 "\n",
					    t->id, k, off + i);
					break;
				}
			atomic_fetch_add(&n_rd, len);
		} else {
			/* metadata: create, write, rename, list, unlink */
			snprintf(p, sizeof(p), "%s/f%u", d, seq);
			snprintf(q, sizeof(q), "%s/g%u", d, seq);
			seq++;
			int f = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (f < 0) {
				ERR("reader %u: create: %s\n", t->id,
				    strerror(errno));
				continue;
			}
			if (write(f, p, strlen(p)) != (ssize_t)strlen(p))
				ERR("reader %u: write: %s\n", t->id,
				    strerror(errno));
			close(f);
			if (rename(p, q) < 0)
				ERR("reader %u: rename: %s\n", t->id,
				    strerror(errno));
			DIR *dd = opendir(d);
			unsigned cnt = 0;
			struct dirent *de;
			while (dd && (de = readdir(dd)))
				cnt += de->d_name[0] != '.';
			if (dd)
				closedir(dd);
			if (cnt < 1)
				ERR("reader %u: readdir saw %u entries\n",
				    t->id, cnt);
			f = open(q, O_RDONLY);
			char rb[4096];
			ssize_t n = f >= 0 ? read(f, rb, sizeof(rb)) : -1;
			if (n != (ssize_t)strlen(p) || memcmp(rb, p, (size_t)n))
				ERR("reader %u: read back of a renamed file "
				    "failed\n",
				    t->id);
			if (f >= 0)
				close(f);
			if ((rnd(t) & 1) && unlink(q) < 0)
				ERR("reader %u: unlink: %s\n", t->id,
				    strerror(errno));
		}
		atomic_fetch_add(&n_ops, 1);
	}
	for (unsigned k = 0; k < SHARED; k++)
		if (fd[k] >= 0)
			close(fd[k]);
	free(buf);
	return NULL;
}

static int make_shared(void)
{
	uint8_t *b = malloc(1u << 20);
	char p[4096];
	for (unsigned k = 0; b && k < SHARED; k++) {
		snprintf(p, sizeof(p), "%s/shared%u", dir, k);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -errno;
		for (uint64_t o = 0; o < SHARED_SIZE; o += 1u << 20) {
			for (uint32_t i = 0; i < (1u << 20); i++)
				b[i] = shared_byte(k, o + i);
			if (pwrite(fd, b, 1u << 20, (off_t)o) != 1 << 20) {
				close(fd);
				return -EIO;
			}
		}
		close(fd);
	}
	free(b);
	return b ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
			"usage: cs_loadtest DIR THREADS SECONDS [SEED]\n");
		return 2;
	}
	dir = argv[1];
	unsigned n = (unsigned)strtoul(argv[2], NULL, 0);
	secs = strtod(argv[3], NULL);
	seed = argc > 4 ? strtoull(argv[4], NULL, 0) : (uint64_t)time(NULL);
	if (n < 2 || n > 1024)
		return 2;
	printf("load: %u threads, %.0f s, seed %" PRIu64 "\n", n, secs, seed);
	int r = make_shared();
	if (r) {
		printf("load: creating the shared files: %s\n", strerror(-r));
		return 1;
	}
	struct th *t = calloc(n, sizeof(*t));
	for (unsigned i = 0; i < n; i++) {
		t[i].id = i;
		t[i].rng = seed * 0x9E3779B97F4A7C15ull + i + 1;
		pthread_create(&t[i].t, NULL, i % 2 ? reader : writer, &t[i]);
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i].t, NULL);
	free(t);
	printf("load: ops=%lu bytes_written=%llu bytes_read=%llu errors=%lu\n",
	       atomic_load(&n_ops), atomic_load(&n_wr), atomic_load(&n_rd),
	       atomic_load(&n_err));
	return atomic_load(&n_err) ? 1 : 0;
}
