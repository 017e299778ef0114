/* SPDX-License-Identifier: MIT */
/*
 * cryptod through its rings, with the real keyd and cryptod processes
 * (tests/cryptod_harness.c): every wire.h operation, boundary sizes,
 * persistence across restarts, tampering, concurrency, and the lower
 * directory holding no plaintext.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cryptod_harness.h"
#include "cunit_main.h"

#define ROOT 1
#define MARK "PLAINTEXT-MARKER-7f3a"

static struct cdh H;
static bool started;

static int suite_init(void)
{
	int r = cdh_start(&H, 2, NULL);
	if (r < 0) {
		fprintf(stderr, "harness: %s\n", strerror(-r));
		return -1;
	}
	started = true;
	return 0;
}

static int suite_clean(void)
{
	if (started)
		cdh_stop(&H);
	started = false;
	return 0;
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

/* The rest of a test runs on a volume of its own: starts one with nrings
 * rings (init_opts for cryptstack init, or NULL) as H and keeps the
 * suite's in *save until own_volume_end() stops it and puts that back. */
static void own_volume(struct cdh *save, unsigned nrings,
		       const char *init_opts)
{
	struct cdh v;
	CU_ASSERT_EQUAL_FATAL(cdh_start(&v, nrings, init_opts), 0);
	*save = H;
	H = v;
}

static void own_volume_end(const struct cdh *save)
{
	cdh_stop(&H);
	H = *save;
}

/* Creates name in ROOT and writes data in pieces of at most CS_MAX_IO. */
static uint64_t make_file(const char *name, const uint8_t *data, size_t len,
			  uint64_t *fh)
{
	struct cs_entry e;
	int r = cdh_create(&H, 0, ROOT, name, 0644, O_RDWR | O_CREAT, &e, fh);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	for (size_t off = 0; off < len;) {
		uint32_t n =
		    len - off > CS_MAX_IO ? CS_MAX_IO : (uint32_t)(len - off);
		r = cdh_write(&H, 0, e.nodeid, *fh, off, data + off, n);
		CU_ASSERT_EQUAL_FATAL(r, (int)n);
		off += n;
	}
	return e.nodeid;
}

/* make_file() and its RELEASE: a closed file; returns its node id. */
static uint64_t make_closed(const char *name, const uint8_t *data, size_t len)
{
	uint64_t fh;
	uint64_t ino = make_file(name, data, len, &fh);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	return ino;
}

/* Opens ino read-only, reads up to len bytes at offset 0 into buf and
 * releases it: the read's result, or the open's error. */
static int open_read(uint64_t ino, void *buf, uint32_t len)
{
	uint64_t fh;
	int n = cdh_open(&H, 0, ino, O_RDONLY, &fh);
	if (n == 0) {
		n = cdh_read(&H, 0, ino, fh, 0, buf, len);
		cdh_release(&H, 0, ino, fh);
	}
	return n;
}

static bool read_all_eq(unsigned ring, uint64_t ino, uint64_t fh,
			const uint8_t *data, size_t len)
{
	uint8_t *b = malloc(CS_MAX_IO);
	bool ok = true;
	for (size_t off = 0; off <= len && ok;) {
		int r = cdh_read(&H, ring, ino, fh, off, b, CS_MAX_IO);
		size_t want = len - off > CS_MAX_IO ? CS_MAX_IO : len - off;
		if (r != (int)want || memcmp(b, data + off, want)) {
			fprintf(stderr, "read at %zu: %d want %zu\n", off, r,
				want);
			ok = false;
		}
		if (want == 0)
			break;
		off += want;
	}
	free(b);
	return ok;
}

static void test_basic(void)
{
	struct cs_entry e;
	uint64_t fh;
	const char *msg = "hello " MARK " world";
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "basic", &e), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(
	    cdh_create(&H, 0, ROOT, "basic", 0640, O_RDWR | O_CREAT, &e, &fh),
	    0);
	CU_ASSERT(e.nodeid > 1);
	CU_ASSERT_EQUAL(e.attr.size, 0);
	CU_ASSERT_EQUAL(e.attr.mode, S_IFREG | 0640);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, e.nodeid, fh, 0, msg, strlen(msg)),
			(int)strlen(msg));
	char buf[100];
	CU_ASSERT_EQUAL(cdh_read(&H, 1, e.nodeid, fh, 0, buf, sizeof(buf)),
			(int)strlen(msg));
	CU_ASSERT_EQUAL(memcmp(buf, msg, strlen(msg)), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh, 6, buf, 4), 4);
	CU_ASSERT_EQUAL(memcmp(buf, "PLAI", 4), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh, 1000, buf, 4), 0);
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, e.nodeid, &a), 0);
	CU_ASSERT_EQUAL(a.size, strlen(msg));
	CU_ASSERT_EQUAL(cdh_flush(&H, 0, e.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_fsync(&H, 0, e.nodeid, fh, false), 0);
	CU_ASSERT_EQUAL(cdh_fsync(&H, 0, e.nodeid, fh, true), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), -EBADF);
	/* Closed file: size from the header; same node id on lookup. */
	struct cs_entry e2;
	CU_ASSERT_EQUAL(cdh_lookup(&H, 1, ROOT, "basic", &e2), 0);
	CU_ASSERT_EQUAL(e2.nodeid, e.nodeid);
	CU_ASSERT_EQUAL(e2.attr.size, strlen(msg));
	CU_ASSERT_EQUAL(e2.attr.ino, e.attr.ino);
	CU_ASSERT_EQUAL(cdh_open(&H, 1, e.nodeid, O_RDONLY, &fh), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 1, e.nodeid, fh, 0, buf, sizeof(buf)),
			(int)strlen(msg));
	CU_ASSERT_EQUAL(cdh_release(&H, 1, e.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, MARK, strlen(MARK)), 0);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, "basic", 5), 0);
	/* An open file keeps working after its last name is gone. */
	CU_ASSERT_EQUAL(cdh_open(&H, 0, e.nodeid, O_RDWR, &fh), 0);
	CU_ASSERT_EQUAL(cdh_link(&H, 0, e.nodeid, ROOT, "basic2", &e2), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "basic"), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "basic2"), 0);
	CU_ASSERT_EQUAL(cdh_write(&H, 1, e.nodeid, fh, 100, "zz", 2), 2);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh, 99, buf, 10), 3);
	CU_ASSERT_EQUAL(memcmp(buf + 1, "zz", 2), 0);
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, e.nodeid, &a), 0);
	CU_ASSERT_EQUAL(a.nlink, 0);
	CU_ASSERT_EQUAL(a.size, 102);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	cdh_forget(&H, 0, e.nodeid, 1);
	cdh_forget(&H, 0, e.nodeid, 2);
	/* Bad handles and nodes. */
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, 999999, 0, buf, 4), -EBADF);
	CU_ASSERT(cdh_getattr(&H, 0, 777777, &a) < 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "a/b", &e2), -EINVAL);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "..", &e2), -EINVAL);
}

static const size_t sizes[] = {
    0, 1, 4095, 4096, 4097, 52 * 4096 + 7, 1u << 20, (1u << 20) + 1, 3u << 20};

static void test_boundary_sizes(void)
{
	size_t max = 3u << 20;
	uint8_t *data = malloc(max), *b = malloc(CS_MAX_IO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		uint64_t fh;
		snprintf(name, sizeof(name), "size-%zu", sizes[i]);
		fill(data, sizes[i], (uint32_t)i + 1);
		uint64_t ino = make_file(name, data, sizes[i], &fh);
		struct cs_attr a;
		CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &a), 0);
		CU_ASSERT_EQUAL(a.size, sizes[i]);
		CU_ASSERT(read_all_eq(1, ino, fh, data, sizes[i]));
		/* Unaligned reads across extent edges. */
		if (sizes[i] > 5000) {
			uint64_t off = 4095;
			uint32_t n = (uint32_t)(sizes[i] - off > CS_MAX_IO
						    ? CS_MAX_IO
						    : sizes[i] - off);
			CU_ASSERT_EQUAL(cdh_read(&H, 0, ino, fh, off, b, n),
					(int)n);
			CU_ASSERT_EQUAL(memcmp(b, data + off, n), 0);
		}
		CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	}
	/* Everything again after a restart of keyd and cryptod. */
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 2), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		struct cs_entry e;
		uint64_t fh;
		snprintf(name, sizeof(name), "size-%zu", sizes[i]);
		fill(data, sizes[i], (uint32_t)i + 1);
		CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, name, &e), 0);
		CU_ASSERT_EQUAL(e.attr.size, sizes[i]);
		CU_ASSERT_EQUAL_FATAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh),
				      0);
		CU_ASSERT(read_all_eq(0, e.nodeid, fh, data, sizes[i]));
		CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	}
	free(data);
	free(b);
}

/* Random small overwrites against an in-memory copy (RMW paths). */
static void test_partial_writes(void)
{
	size_t cap = 300000;
	uint8_t *model = calloc(1, cap), *b = malloc(cap), *w = malloc(70000);
	uint64_t fh;
	size_t size = 0;
	uint64_t ino = make_file("partial", model, 0, &fh);
	uint32_t x = 12345;
	for (int i = 0; i < 300; i++) {
		x = x * 1103515245u + 12345u;
		size_t off = (x >> 8) % 200000;
		x = x * 1103515245u + 12345u;
		size_t len = 1 + (x >> 8) % (i % 10 == 0 ? 70000 : 9000);
		fill(w, len, x);
		int wr = cdh_write(&H, i & 1, ino, fh, off, w, (uint32_t)len);
		if (wr != (int)len)
			fprintf(stderr, "write %d at %zu len %zu: %d\n", i, off,
				len, wr);
		CU_ASSERT_EQUAL_FATAL(wr, (int)len);
		memcpy(model + off, w, len);
		if (off + len > size)
			size = off + len;
	}
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &a), 0);
	CU_ASSERT_EQUAL(a.size, size);
	CU_ASSERT(read_all_eq(0, ino, fh, model, size));
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	free(model);
	free(b);
	free(w);
}

static void test_truncate(void)
{
	size_t cap = 1u << 21;
	uint8_t *model = calloc(1, cap);
	uint64_t fh;
	fill(model, 100000, 7);
	uint64_t ino = make_file("trunc", model, 100000, &fh);
	const uint64_t steps[] = {100000, 50001, 4096,		 4095,	1,
				  0,	  9000,	 (1u << 20) + 1, 12345, 0};
	size_t size = 100000;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct cs_attr a;
		uint64_t ns = steps[i];
		CU_ASSERT_EQUAL(cdh_truncate(&H, i & 1, ino, ns, &a), 0);
		CU_ASSERT_EQUAL(a.size, ns);
		if (ns < size)
			memset(model + ns, 0, size - ns);
		size = ns;
		CU_ASSERT(read_all_eq(0, ino, fh, model, size));
		/* Write past the end after shrinking: the gap is zeros. */
		if (i == 3) {
			uint8_t w[10];
			fill(w, 10, 99);
			CU_ASSERT_EQUAL(cdh_write(&H, 0, ino, fh, 20000, w, 10),
					10);
			memcpy(model + 20000, w, 10);
			size = 20010;
			CU_ASSERT(read_all_eq(1, ino, fh, model, size));
			CU_ASSERT_EQUAL(cdh_truncate(&H, 0, ino, 4095, &a), 0);
			memset(model + 4095, 0, size - 4095);
			size = 4095;
		}
	}
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	/* Truncate of a closed file, and O_TRUNC on open. */
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_truncate(&H, 1, ino, 5000, &a), 0);
	CU_ASSERT_EQUAL(a.size, 5000);
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &a), 0);
	CU_ASSERT_EQUAL(a.size, 5000);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ino, O_RDWR | O_TRUNC, &fh), 0);
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &a), 0);
	CU_ASSERT_EQUAL(a.size, 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	free(model);
}

static int find_name(struct cdh_dirent *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return i;
	return -1;
}

static void test_dirs(void)
{
	struct cs_entry d, e, f;
	uint64_t fh;
	CU_ASSERT_EQUAL_FATAL(cdh_mkdir(&H, 0, ROOT, "dir", 0750, &d), 0);
	CU_ASSERT_EQUAL(d.attr.mode, S_IFDIR | 0750);
	CU_ASSERT_EQUAL(cdh_mkdir(&H, 0, ROOT, "dir", 0750, &e), -EEXIST);
	CU_ASSERT_EQUAL(cdh_mkdir(&H, 0, d.nodeid, "sub", 0700, &e), 0);
	CU_ASSERT_EQUAL(
	    cdh_create(&H, 1, d.nodeid, "file", 0600, O_RDWR, &f, &fh), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 1, f.nodeid, fh), 0);
	/* Same plaintext name in another directory: another lower name. */
	CU_ASSERT_EQUAL(
	    cdh_create(&H, 1, e.nodeid, "file", 0600, O_RDWR, &f, &fh), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 1, f.nodeid, fh), 0);
	char longname[256];
	memset(longname, 'L', 255);
	longname[255] = 0;
	CU_ASSERT_EQUAL(
	    cdh_create(&H, 0, d.nodeid, longname, 0600, O_RDWR, &f, &fh), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, f.nodeid, fh), 0);
	struct cs_entry lf;
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, d.nodeid, longname, &lf), 0);
	CU_ASSERT_EQUAL(lf.nodeid, f.nodeid);
	char toolong[300];
	memset(toolong, 'x', 256);
	toolong[256] = 0;
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, d.nodeid, toolong, &lf),
			-ENAMETOOLONG);
	for (int plus = 0; plus < 2; plus++) {
		struct cdh_dirent *v = NULL;
		int n = cdh_readdir(&H, plus, d.nodeid, plus, &v);
		CU_ASSERT_EQUAL(n, 3);
		CU_ASSERT(find_name(v, n, "sub") >= 0);
		CU_ASSERT(find_name(v, n, "file") >= 0);
		int li = find_name(v, n, longname);
		CU_ASSERT(li >= 0);
		if (plus && li >= 0) {
			CU_ASSERT_EQUAL(v[li].nodeid, f.nodeid);
			cdh_forget(&H, 0, v[li].nodeid, 1);
			int si = find_name(v, n, "sub");
			CU_ASSERT_EQUAL(v[si].attr.mode, S_IFDIR | 0700);
			cdh_forget(&H, 0, v[si].nodeid, 1);
			cdh_forget(&H, 0, v[find_name(v, n, "file")].nodeid, 1);
		}
		free(v);
	}
	uint64_t dfh;
	CU_ASSERT_EQUAL(cdh_opendir(&H, 0, d.nodeid, &dfh), 0);
	CU_ASSERT_EQUAL(cdh_fsyncdir(&H, 0, d.nodeid, dfh, false), 0);
	CU_ASSERT_EQUAL(cdh_fsyncdir(&H, 1, d.nodeid, dfh, true), 0);
	CU_ASSERT_EQUAL(cdh_releasedir(&H, 0, d.nodeid, dfh), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, d.nodeid, O_RDONLY, &dfh), -EISDIR);
	CU_ASSERT_EQUAL(cdh_opendir(&H, 0, f.nodeid, &dfh), -ENOTDIR);
	CU_ASSERT_EQUAL(cdh_rmdir(&H, 0, ROOT, "dir"), -ENOTEMPTY);
	CU_ASSERT_EQUAL(cdh_rmdir(&H, 0, d.nodeid, "sub"), -ENOTEMPTY);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, e.nodeid, "file"), 0);
	CU_ASSERT_EQUAL(cdh_rmdir(&H, 0, d.nodeid, "sub"), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, d.nodeid, longname), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, d.nodeid, longname), -ENOENT);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, d.nodeid, "file"), 0);
	struct cdh_dirent *v = NULL;
	CU_ASSERT_EQUAL(cdh_readdir(&H, 0, d.nodeid, false, &v), 0);
	free(v);
	CU_ASSERT_EQUAL(cdh_rmdir(&H, 0, ROOT, "dir"), 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "dir", &e), -ENOENT);
	/* The root listing hides the config and dir id files. */
	int n = cdh_readdir(&H, 0, ROOT, false, &v);
	CU_ASSERT(n >= 0);
	for (int i = 0; i < n; i++)
		CU_ASSERT(v[i].name[0] != '.');
	free(v);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, "LLLLLLLL", 8), 0);
}

static void test_rename_link(void)
{
	struct cs_entry a, b, l;
	uint64_t fh;
	CU_ASSERT_EQUAL_FATAL(
	    cdh_create(&H, 0, ROOT, "ra", 0644, O_RDWR, &a, &fh), 0);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, a.nodeid, fh, 0, "AAAA", 4), 4);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, a.nodeid, fh), 0);
	CU_ASSERT_EQUAL_FATAL(
	    cdh_create(&H, 0, ROOT, "rb", 0644, O_RDWR, &b, &fh), 0);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, b.nodeid, fh, 0, "BB", 2), 2);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, b.nodeid, fh), 0);
	CU_ASSERT_EQUAL(
	    cdh_rename(&H, 0, ROOT, "ra", ROOT, "rb", RENAME_NOREPLACE),
	    -EEXIST);
	CU_ASSERT_EQUAL(
	    cdh_rename(&H, 0, ROOT, "ra", ROOT, "rb", RENAME_EXCHANGE), 0);
	struct cs_entry x;
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "rb", &x), 0);
	CU_ASSERT_EQUAL(x.nodeid, a.nodeid);
	CU_ASSERT_EQUAL(x.attr.size, 4);
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "rb", ROOT, "rc", 0), 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "rb", &x), -ENOENT);
	struct cs_entry d;
	CU_ASSERT_EQUAL(cdh_mkdir(&H, 0, ROOT, "rdir", 0755, &d), 0);
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "rc", d.nodeid, "moved", 0), 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, d.nodeid, "moved", &x), 0);
	CU_ASSERT_EQUAL(x.nodeid, a.nodeid);
	/* Overwriting rename. */
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "ra", d.nodeid, "moved", 0), 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, d.nodeid, "moved", &x), 0);
	CU_ASSERT_EQUAL(x.nodeid, b.nodeid);
	CU_ASSERT_EQUAL(x.attr.size, 2);
	/* Hard link: same st_ino, nlink 2, same content. */
	CU_ASSERT_EQUAL(cdh_link(&H, 0, b.nodeid, ROOT, "hard", &l), 0);
	CU_ASSERT_EQUAL(l.nodeid, b.nodeid);
	CU_ASSERT_EQUAL(l.attr.ino, x.attr.ino);
	CU_ASSERT_EQUAL(l.attr.nlink, 2);
	CU_ASSERT_EQUAL(l.attr.size, 2);
	char buf[8];
	CU_ASSERT_EQUAL(cdh_open(&H, 1, l.nodeid, O_RDONLY, &fh), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 1, l.nodeid, fh, 0, buf, 8), 2);
	CU_ASSERT_EQUAL(memcmp(buf, "BB", 2), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 1, l.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, d.nodeid, "moved"), 0);
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, l.nodeid, &x.attr), 0);
	CU_ASSERT_EQUAL(x.attr.nlink, 1);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "hard"), 0);
	CU_ASSERT_EQUAL(cdh_rmdir(&H, 0, ROOT, "rdir"), 0);
	/* Long names through rename. */
	char ln[256];
	memset(ln, 'q', 250);
	ln[250] = 0;
	CU_ASSERT_EQUAL(cdh_create(&H, 0, ROOT, "short", 0644, O_RDWR, &a, &fh),
			0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, a.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "short", ROOT, ln, 0), 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, ln, &x), 0);
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, ln, ROOT, "short2", 0), 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, ln, &x), -ENOENT);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "short2"), 0);
	/* No side files left behind. */
	struct cdh_dirent *v;
	int n = cdh_readdir(&H, 0, ROOT, false, &v);
	CU_ASSERT(find_name(v, n, "short2") < 0);
	free(v);
}

static void test_symlink_special(void)
{
	struct cs_entry s, f;
	char buf[4096];
	const char *tgt = "../some/where/" MARK;
	CU_ASSERT_EQUAL_FATAL(cdh_symlink(&H, 0, ROOT, "sl", tgt, &s), 0);
	CU_ASSERT_EQUAL(s.attr.mode & S_IFMT, S_IFLNK);
	CU_ASSERT_EQUAL(s.attr.size, strlen(tgt));
	CU_ASSERT_EQUAL(cdh_readlink(&H, 0, s.nodeid, buf, sizeof(buf)),
			(int)strlen(tgt));
	CU_ASSERT_STRING_EQUAL(buf, tgt);
	char big[3100];
	memset(big, 'a', 3055);
	big[3055] = 0;
	CU_ASSERT_EQUAL(cdh_symlink(&H, 0, ROOT, "slbig", big, &f), 0);
	CU_ASSERT_EQUAL(cdh_readlink(&H, 0, f.nodeid, buf, sizeof(buf)), 3055);
	big[3055] = 'a';
	big[3056] = 0;
	CU_ASSERT_EQUAL(cdh_symlink(&H, 0, ROOT, "slbig2", big, &f),
			-ENAMETOOLONG);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, MARK, strlen(MARK)), 0);
	/* mknod: fifo and socket are real lower nodes; a regular mknod is an
	 * encrypted empty file. */
	CU_ASSERT_EQUAL(cdh_mknod(&H, 0, ROOT, "fifo", S_IFIFO | 0600, 0, &f),
			0);
	CU_ASSERT_EQUAL(f.attr.mode, S_IFIFO | 0600);
	CU_ASSERT_EQUAL(cdh_mknod(&H, 0, ROOT, "sock", S_IFSOCK | 0600, 0, &f),
			0);
	CU_ASSERT_EQUAL(f.attr.mode & S_IFMT, S_IFSOCK);
	CU_ASSERT_EQUAL(cdh_mknod(&H, 0, ROOT, "reg", S_IFREG | 0600, 0, &f),
			0);
	CU_ASSERT_EQUAL(f.attr.size, 0);
	uint64_t fh;
	CU_ASSERT_EQUAL(cdh_open(&H, 0, f.nodeid, O_RDWR, &fh), 0);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, f.nodeid, fh, 0, "x", 1), 1);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, f.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "fifo"), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "sock"), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "reg"), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "sl"), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "slbig"), 0);
}

static void test_setattr(void)
{
	struct cs_entry e;
	uint64_t fh;
	CU_ASSERT_EQUAL_FATAL(
	    cdh_create(&H, 0, ROOT, "attrs", 0644, O_RDWR, &e, &fh), 0);
	struct cs_setattr_arg sa = {.valid = 1 | 16 | 32,
				    .mode = 0600,
				    .atime = 1000000,
				    .atime_nsec = 5,
				    .mtime = 2000000,
				    .mtime_nsec = 7};
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_setattr(&H, 0, e.nodeid, &sa, &a), 0);
	CU_ASSERT_EQUAL(a.mode, S_IFREG | 0600);
	CU_ASSERT_EQUAL(a.atime, 1000000);
	CU_ASSERT_EQUAL(a.mtime, 2000000);
	CU_ASSERT_EQUAL(a.mtime_nsec, 7);
	sa = (struct cs_setattr_arg){.valid = 2 | 4, .uid = 1234, .gid = 4321};
	int r = cdh_setattr(&H, 0, e.nodeid, &sa, &a);
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_EQUAL(a.uid, 1234);
		CU_ASSERT_EQUAL(a.gid, 4321);
	}
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	struct cs_statfs st;
	CU_ASSERT_EQUAL(cdh_statfs(&H, 0, &st), 0);
	CU_ASSERT_EQUAL(st.namemax, 255);
	CU_ASSERT(st.blocks > 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "attrs"), 0);
}

static void test_xattr(void)
{
	struct cs_entry e;
	uint64_t fh;
	CU_ASSERT_EQUAL_FATAL(
	    cdh_create(&H, 0, ROOT, "xa", 0644, O_RDWR, &e, &fh), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	int r =
	    cdh_setxattr(&H, 0, e.nodeid, "user.color", MARK, strlen(MARK), 0);
	if (r == -EOPNOTSUPP) {
		fprintf(stderr, "lower fs has no user xattrs: skipped\n");
		cdh_unlink(&H, 0, ROOT, "xa");
		return;
	}
	CU_ASSERT_EQUAL(r, 0);
	char buf[256];
	CU_ASSERT_EQUAL(cdh_getxattr(&H, 0, e.nodeid, "user.color", NULL, 0),
			(int)strlen(MARK));
	CU_ASSERT_EQUAL(
	    cdh_getxattr(&H, 0, e.nodeid, "user.color", buf, sizeof(buf)),
	    (int)strlen(MARK));
	CU_ASSERT_EQUAL(memcmp(buf, MARK, strlen(MARK)), 0);
	CU_ASSERT_EQUAL(cdh_getxattr(&H, 0, e.nodeid, "user.color", buf, 3),
			-ERANGE);
	CU_ASSERT_EQUAL(
	    cdh_getxattr(&H, 0, e.nodeid, "user.none", buf, sizeof(buf)),
	    -ENODATA);
	CU_ASSERT_EQUAL(cdh_setxattr(&H, 0, e.nodeid, "user.color", "x", 1,
				     1 /* XATTR_CREATE */),
			-EEXIST);
	CU_ASSERT_EQUAL(cdh_setxattr(&H, 0, e.nodeid, "user.empty", "", 0, 0),
			0);
	CU_ASSERT_EQUAL(cdh_setxattr(&H, 0, e.nodeid, "trusted.x", "x", 1, 0),
			-EOPNOTSUPP);
	int n = cdh_listxattr(&H, 0, e.nodeid, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, (int)(sizeof("user.color") + sizeof("user.empty")));
	CU_ASSERT(memmem(buf, (size_t)(n > 0 ? n : 0), "user.color", 11) !=
		  NULL);
	CU_ASSERT_EQUAL(cdh_listxattr(&H, 0, e.nodeid, NULL, 0), n);
	CU_ASSERT_EQUAL(cdh_removexattr(&H, 0, e.nodeid, "user.color"), 0);
	CU_ASSERT_EQUAL(cdh_removexattr(&H, 0, e.nodeid, "user.color"),
			-ENODATA);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, MARK, strlen(MARK)), 0);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, "xa"), 0);
}

static void test_fallocate_seek(void)
{
	size_t len = 300000;
	uint8_t *data = malloc(len), *b = malloc(len);
	fill(data, len, 3);
	uint64_t fh;
	uint64_t ino = make_file("holes", data, len, &fh);
	/* Punch whole and partial extents. */
	CU_ASSERT_EQUAL(
	    cdh_fallocate(&H, 0, ino, fh,
			  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192,
			  65536),
	    0);
	memset(data + 8192, 0, 65536);
	CU_ASSERT_EQUAL(
	    cdh_fallocate(&H, 1, ino, fh,
			  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100001,
			  3000),
	    0);
	memset(data + 100001, 0, 3000);
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &a), 0);
	CU_ASSERT_EQUAL(a.size, len);
	CU_ASSERT(read_all_eq(0, ino, fh, data, len));
	uint64_t o = 0;
	CU_ASSERT_EQUAL(cdh_lseek(&H, 0, ino, fh, 0, SEEK_HOLE, &o), 0);
	CU_ASSERT_EQUAL(o, 8192);
	CU_ASSERT_EQUAL(cdh_lseek(&H, 0, ino, fh, 8192, SEEK_DATA, &o), 0);
	CU_ASSERT_EQUAL(o, 8192 + 65536);
	CU_ASSERT_EQUAL(cdh_lseek(&H, 0, ino, fh, 10, SEEK_DATA, &o), 0);
	CU_ASSERT_EQUAL(o, 10);
	CU_ASSERT_EQUAL(cdh_lseek(&H, 0, ino, fh, 200000, SEEK_HOLE, &o), 0);
	CU_ASSERT_EQUAL(o, len);
	CU_ASSERT_EQUAL(cdh_lseek(&H, 0, ino, fh, len, SEEK_DATA, &o), -ENXIO);
	/* Allocate past EOF extends the size; KEEP_SIZE does not. */
	CU_ASSERT_EQUAL(cdh_fallocate(&H, 0, ino, fh, 0, len, 10000), 0);
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &a), 0);
	CU_ASSERT_EQUAL(a.size, len + 10000);
	CU_ASSERT_EQUAL(cdh_fallocate(&H, 0, ino, fh, FALLOC_FL_KEEP_SIZE,
				      len + 10000, 50000),
			0);
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &a), 0);
	CU_ASSERT_EQUAL(a.size, len + 10000);
	uint8_t *big = calloc(1, len + 10000);
	memcpy(big, data, len);
	CU_ASSERT(read_all_eq(0, ino, fh, big, len + 10000));
	CU_ASSERT_EQUAL(
	    cdh_fallocate(&H, 0, ino, fh, FALLOC_FL_ZERO_RANGE, 0, 10),
	    -EOPNOTSUPP);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	free(big);
	free(data);
	free(b);
}

/* Finds the single regular lower file that is not the volume's own. */
static int lower_file_of(const char *dir, char *out, size_t cap,
			 const char *skip)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = -1;
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_REG || de->d_name[0] == '.')
			continue;
		if (skip && !strcmp(de->d_name, skip))
			continue;
		snprintf(out, cap, "%s/%s", dir, de->d_name);
		found = 0;
	}
	if (d)
		closedir(d);
	return found;
}

static void test_tamper(void)
{
	struct cdh T;
	CU_ASSERT_EQUAL_FATAL(cdh_start(&T, 1, NULL), 0);
	struct cdh save = H;
	H = T;
	uint8_t data[20000];
	fill(data, sizeof(data), 11);
	uint64_t fh;
	uint64_t ino = make_closed("victim", data, sizeof(data));
	char p[PATH_MAX + 300];
	CU_ASSERT_EQUAL_FATAL(lower_file_of(H.lower, p, sizeof(p), NULL), 0);
	int fd = open(p, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	uint8_t x;
	/* Extent 1's data is lower block 2. */
	CU_ASSERT_EQUAL(pread(fd, &x, 1, 2 * 4096 + 100), 1);
	x ^= 1;
	CU_ASSERT_EQUAL(pwrite(fd, &x, 1, 2 * 4096 + 100), 1);
	close(fd);
	uint8_t b[20000];
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ino, O_RDONLY, &fh), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, ino, fh, 0, b, 4096), 4096);
	CU_ASSERT_EQUAL(memcmp(b, data, 4096), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, ino, fh, 4096, b, 10), -EIO);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, ino, fh, 0, b, sizeof(b)), -EIO);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	/* A lower file cut short is refused. */
	CU_ASSERT_EQUAL(truncate(p, 4096 * 3), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ino, O_RDONLY, &fh), -EIO);
	/* A foreign file (not ours) is EIO, not garbage. */
	fd = open(p, O_WRONLY | O_TRUNC);
	CU_ASSERT(write(fd, "just some text\n", 15) == 15);
	close(fd);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ino, O_RDONLY, &fh), -EIO);

	/* A file of another volume: no key unwraps it -> EACCES. */
	struct cdh U;
	CU_ASSERT_EQUAL_FATAL(cdh_start(&U, 1, NULL), 0);
	H = U;
	make_closed("other", data, 100);
	char q[PATH_MAX + 300];
	CU_ASSERT_EQUAL_FATAL(lower_file_of(U.lower, q, sizeof(q), NULL), 0);
	/* Replace T's victim with U's file bytes. */
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", q, p);
	CU_ASSERT_EQUAL(system(cmd), 0);
	H = T;
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ino, O_RDONLY, &fh), -EACCES);
	cdh_stop(&U);
	cdh_stop(&T);
	H = save;
}

/* Lower path of the file a lookup of name gives (by inode). */
static int lower_of(const char *name, char *out, size_t cap)
{
	struct cs_entry e;
	struct stat st;
	int r = cdh_lookup(&H, 0, ROOT, name, &e);
	if (r < 0)
		return r;
	DIR *d = opendir(H.lower);
	struct dirent *de;
	r = -ENOENT;
	while (d && (de = readdir(d))) {
		snprintf(out, cap, "%s/%s", H.lower, de->d_name);
		if (de->d_name[0] != '.' && stat(out, &st) == 0 &&
		    st.st_ino == e.attr.ino) {
			r = 0;
			break;
		}
	}
	if (d)
		closedir(d);
	return r;
}

static void copy_range(const char *from, const char *to, off_t off, size_t n)
{
	uint8_t b[4096];
	int a = open(from, O_RDONLY), c = open(to, O_WRONLY);
	CU_ASSERT(n <= sizeof(b) && a >= 0 && c >= 0);
	CU_ASSERT_EQUAL(pread(a, b, n, off), (ssize_t)n);
	CU_ASSERT_EQUAL(pwrite(c, b, n, off), (ssize_t)n);
	close(a);
	close(c);
}

/* Records seal and name binding (FORMAT.md): an extent rolled back with
 * its record, and two files' lower names swapped, are EIO; stat still
 * works; a rename through cryptod keeps the file readable, also after a
 * restart. */
static void test_seal_bind(void)
{
	struct cdh save;
	own_volume(&save, 1, NULL);
	uint8_t a[20000], b2[4096], c[5000], r[20000];
	fill(a, sizeof(a), 71);
	fill(b2, sizeof(b2), 72);
	fill(c, sizeof(c), 73);
	uint64_t fh, fh2;
	uint64_t ino = make_closed("f1", a, sizeof(a));
	uint64_t ino2 = make_file("f2", c, sizeof(c), &fh2);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino2, fh2), 0);
	char p1[PATH_MAX + 300], p2[PATH_MAX + 300], old[PATH_MAX + 400];
	CU_ASSERT_EQUAL_FATAL(lower_of("f1", p1, sizeof(p1)), 0);
	snprintf(old, sizeof(old), "%s/f1.old", H.dir); /* cdh_stop removes */
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", p1, old);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ino, O_RDWR, &fh), 0);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, ino, fh, 4096, b2, 4096), 4096);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	memcpy(a + 4096, b2, 4096);
	/* renamed through cryptod: readable under the new name, also after a
	 * restart (fresh lookups) */
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "f2", ROOT, "f3x", 0), 0);
	/* exchanged with a directory: the file takes the directory's name */
	struct cs_entry e;
	CU_ASSERT_EQUAL(cdh_mkdir(&H, 0, ROOT, "f3", 0755, &e), 0);
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "f3", ROOT, "f3x",
				   RENAME_EXCHANGE),
			0);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "f3", &e), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh, 0, r, 5000), 5000);
	CU_ASSERT_EQUAL(memcmp(r, c, sizeof(c)), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	/* and bound to it: both size slots carry a (non-zero) name tag */
	CU_ASSERT_EQUAL_FATAL(lower_of("f3", p2, sizeof(p2)), 0);
	int lfd = open(p2, O_RDONLY);
	uint8_t slots[128], zero[12] = {0};
	CU_ASSERT_EQUAL(pread(lfd, slots, sizeof(slots), 64), 128);
	close(lfd);
	CU_ASSERT(memcmp(slots + 52, zero, 12) && memcmp(slots + 116, zero, 12));
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "f1", &e), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), 0);
	CU_ASSERT(read_all_eq(0, e.nodeid, fh, a, sizeof(a)));
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);

	/* extent 1 and its record rolled back (offline) */
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	copy_range(old, p1, 2 * 4096, 4096);
	copy_range(old, p1, 768 + 64, 64);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "f1", &e), 0);
	struct cs_attr at;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, e.nodeid, &at), 0);
	CU_ASSERT_EQUAL(at.size, sizeof(a)); /* stat reads no records */
	CU_ASSERT_EQUAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), -EIO);

	/* names of f1 and f3 swapped in the lower directory */
	CU_ASSERT_EQUAL_FATAL(lower_of("f3", p2, sizeof(p2)), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	snprintf(old, sizeof(old), "%s/swap.x", H.lower);
	CU_ASSERT(rename(p1, old) == 0 && rename(p2, p1) == 0 &&
		  rename(old, p2) == 0);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "f1", &e), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), -EIO);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "f3", &e), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), -EIO);
	own_volume_end(&save);
}

/* Which of the two size slots (header bytes 64..191, in slots) is the
 * current one: the higher seq (le64 at each slot's start). */
static unsigned newer_slot(const uint8_t slots[static 128])
{
	uint64_t s[2] = {0, 0};
	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < 8; i++)
			s[k] |= (uint64_t)slots[64 * k + i] << (8 * i);
	return s[1] > s[0];
}

/* Review of the name binding (FORMAT.md "Name binding"): the older-slot
 * rule accepts only the state an interrupted rename leaves (the older slot
 * exactly one seq below the current one). An older slot taken from a
 * backup of the header (the file's earlier name) spliced into the current
 * header must not let the file's present content answer to that earlier
 * name, here over the new file that now has it. */
static void test_bind_splice(void)
{
	struct cdh save;
	own_volume(&save, 1, NULL);
	uint8_t a[9000], g[5000], r[9000];
	fill(a, sizeof(a), 81);
	fill(g, sizeof(g), 82);
	uint64_t fh;
	make_closed("x", a, sizeof(a));
	char px[PATH_MAX + 300], py[PATH_MAX + 300];
	CU_ASSERT_EQUAL_FATAL(lower_of("x", px, sizeof(px)), 0);
	/* the attacker's backup of x's size slots (bound to x) */
	uint8_t slots[128];
	int fd = open(px, O_RDONLY);
	CU_ASSERT_EQUAL_FATAL(pread(fd, slots, sizeof(slots), 64), 128);
	close(fd);
	uint8_t old[64]; /* the current one */
	memcpy(old, slots + 64 * newer_slot(slots), 64);
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "x", ROOT, "y", 0), 0);
	make_closed("x", g, sizeof(g));
	CU_ASSERT_EQUAL_FATAL(lower_of("y", py, sizeof(py)), 0);
	CU_ASSERT_EQUAL_FATAL(lower_of("x", px, sizeof(px)), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	/* y's older slot <- the backed-up slot bound to x; y over x */
	fd = open(py, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, slots, sizeof(slots), 64), 128);
	CU_ASSERT_EQUAL(pwrite(fd, old, 64, 128 - 64 * newer_slot(slots)), 64);
	close(fd);
	CU_ASSERT_EQUAL(rename(py, px), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	struct cs_entry e;
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "x", &e), 0);
	int o = cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh);
	CU_ASSERT_EQUAL(o, -EIO);
	if (o == 0) {
		int n = cdh_read(&H, 0, e.nodeid, fh, 0, r, sizeof(r));
		if (n == (int)sizeof(a) && !memcmp(r, a, sizeof(a)))
			fprintf(stderr, "y's content answers to x\n");
		cdh_release(&H, 0, e.nodeid, fh);
	}

	/* The honest state it must not break: a rename of z to w killed
	 * after its first slot write (current slot bound to w, the older one
	 * to z, one seq apart), lower file still at z: opens under z. */
	make_closed("z", g, sizeof(g));
	CU_ASSERT_EQUAL_FATAL(lower_of("z", px, sizeof(px)), 0);
	fd = open(px, O_RDONLY);
	CU_ASSERT_EQUAL_FATAL(pread(fd, slots, sizeof(slots), 64), 128);
	close(fd);
	unsigned cur = newer_slot(slots);
	memcpy(old, slots + 64 * cur, 64);
	CU_ASSERT_EQUAL(cdh_rename(&H, 0, ROOT, "z", ROOT, "w", 0), 0);
	CU_ASSERT_EQUAL_FATAL(lower_of("w", py, sizeof(py)), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	fd = open(py, O_RDWR);
	CU_ASSERT(fd >= 0 && pwrite(fd, old, 64, 64 + 64 * cur) == 64);
	close(fd);
	CU_ASSERT_EQUAL(rename(py, px), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "z", &e), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), 0);
	CU_ASSERT(read_all_eq(0, e.nodeid, fh, g, sizeof(g)));
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	own_volume_end(&save);
}

/* A lower hard link made offline of a bound file, in place of another
 * file's name: cryptod's node stands for the lower inode, so whichever name
 * the kernel looked up last is the tag it remembers. With the file open
 * (or looked up last) under its own name, the alias must still not serve
 * its content. */
static void test_bind_alias(void)
{
	struct cdh save;
	own_volume(&save, 1, NULL);
	uint8_t a[6000], c[3000], r[6000];
	fill(a, sizeof(a), 91);
	fill(c, sizeof(c), 92);
	uint64_t fh;
	make_closed("a", a, sizeof(a));
	make_closed("c", c, sizeof(c));
	char pa[PATH_MAX + 300], pc[PATH_MAX + 300];
	CU_ASSERT_EQUAL_FATAL(lower_of("a", pa, sizeof(pa)), 0);
	CU_ASSERT_EQUAL_FATAL(lower_of("c", pc, sizeof(pc)), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	CU_ASSERT_EQUAL(unlink(pc), 0);
	CU_ASSERT_EQUAL(link(pa, pc), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	struct cs_entry ea, ec;
	/* open under its own name, then the alias looked up and opened */
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "a", &ea), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_open(&H, 0, ea.nodeid, O_RDONLY, &fh), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "c", &ec), 0);
	CU_ASSERT(open_read(ec.nodeid, r, sizeof(r)) < 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ea.nodeid, fh), 0);
	/* closed; the alias looked up first, its own name last, then the
	 * alias's node opened (the kernel opens by node, not by name) */
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "c", &ec), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "a", &ea), 0);
	CU_ASSERT(open_read(ec.nodeid, r, sizeof(r)) < 0);
	own_volume_end(&save);
}

/* The records seal is checked only on a clean file, and a written file's
 * older size slot is DIRTY (the last commit before the clean close): an
 * erased (zeroed) current slot must not expose that DIRTY state, or every
 * extent accepts its older version again (here extent 1 put back from a
 * backup taken before the last write). */
static void test_seal_erased_slot(void)
{
	struct cdh save;
	own_volume(&save, 1, NULL);
	uint8_t a[12000], b1[4096], r[12000];
	fill(a, sizeof(a), 101);
	fill(b1, sizeof(b1), 102);
	uint64_t fh;
	uint64_t ino = make_closed("e", a, sizeof(a));
	char pe[PATH_MAX + 300], old[PATH_MAX + 400], cmd[3 * PATH_MAX];
	CU_ASSERT_EQUAL_FATAL(lower_of("e", pe, sizeof(pe)), 0);
	snprintf(old, sizeof(old), "%s/e.old", H.dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", pe, old);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ino, O_RDWR, &fh), 0);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, ino, fh, 4096, b1, 4096), 4096);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	uint8_t slots[128], zero[64] = {0};
	int fd = open(pe, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, slots, sizeof(slots), 64), 128);
	CU_ASSERT_EQUAL(pwrite(fd, zero, 64, 64 + 64 * newer_slot(slots)), 64);
	close(fd);
	copy_range(old, pe, 2 * 4096, 4096); /* extent 1's old data */
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	struct cs_entry e;
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "e", &e), 0);
	int n = open_read(e.nodeid, r, sizeof(r));
	CU_ASSERT(n < 0);
	if (n == (int)sizeof(a) && !memcmp(r, a, sizeof(a)))
		fprintf(stderr, "extent 1 rolled back and read\n");
	own_volume_end(&save);
}

#if !defined(__SANITIZE_ADDRESS__)
struct race_arg {
	uint64_t ino, fh;
	const uint8_t *g;
	int rc;
};

static void *race_rename(void *p)
{
	struct race_arg *a = p;
	a->rc = cdh_rename(&H, 0, ROOT, "x", ROOT, "y", 0);
	return NULL;
}

static void *race_write(void *p)
{
	struct race_arg *a = p;
	a->rc = cdh_write(&H, 1, a->ino, a->fh, 9000, a->g, 5000);
	return NULL;
}

/* A rename racing a writer of the same open file (review item 4): while
 * the rename sits between its first slot write and the lower renameat (a
 * shim stalls renameat2), the writer extends the file, then cryptod is
 * killed. The writer's size commit must not have copied the new name's
 * tag into the older slot: the file, still at its old name, opens there
 * (older-slot rule) with its old content. Before the fix: EIO. */
static void test_rename_writer_race(void)
{
	struct cdh V;
	setenv("LD_PRELOAD", CDH_RENAME_STALL, 1);
	setenv("CS_TEST_RENAME_STALL_MS", "2500", 1);
	int st = cdh_start(&V, 2, NULL);
	unsetenv("LD_PRELOAD");
	unsetenv("CS_TEST_RENAME_STALL_MS");
	CU_ASSERT_EQUAL_FATAL(st, 0);
	struct cdh save = H;
	H = V;
	uint8_t a[9000], g[5000];
	fill(a, sizeof(a), 91);
	fill(g, sizeof(g), 92);
	struct race_arg ra = {0}, wa = {0};
	wa.ino = make_file("x", a, sizeof(a), &wa.fh);
	wa.g = g;
	pthread_t tr, tw;
	H.timeout_ms = 1800;
	pthread_create(&tr, NULL, race_rename, &ra);
	/* the rename's first slot is written, its renameat2 stalls */
	usleep(400000);
	pthread_create(&tw, NULL, race_write, &wa);
	usleep(500000); /* unlocked, the write's size commit lands here */
	kill(H.cryptod_pid, SIGKILL);
	pthread_join(tr, NULL);
	pthread_join(tw, NULL);
	H.timeout_ms = 0;
	CU_ASSERT(ra.rc < 0); /* killed before its lower rename */
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	struct cs_entry e;
	uint64_t fh;
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "x", &e), 0);
	int o = cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh);
	CU_ASSERT_EQUAL(o, 0);
	if (o == 0) {
		CU_ASSERT(read_all_eq(0, e.nodeid, fh, a, sizeof(a)));
		CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	}
	own_volume_end(&save);
}
#else
static void test_rename_writer_race(void)
{
	printf("\n  ASan build: the LD_PRELOAD shim cannot come before the "
	       "ASan runtime: skipped\n");
}
#endif

/* --passthrough: a lower file that is not ours reads as a plain file. */
static void test_passthrough(void)
{
	struct cdh T;
	setenv("CDH_PASSTHROUGH", "1", 1);
	int r = cdh_start(&T, 1, NULL);
	unsetenv("CDH_PASSTHROUGH");
	CU_ASSERT_EQUAL_FATAL(r, 0);
	struct cdh save = H;
	H = T;
	uint64_t fh;
	uint64_t ino = make_closed("foreign", (const uint8_t *)"x", 1);
	cdh_forget(&H, 0, ino, 1);
	char p[PATH_MAX + 300];
	CU_ASSERT_EQUAL_FATAL(lower_file_of(H.lower, p, sizeof(p), NULL), 0);
	int fd = open(p, O_WRONLY | O_TRUNC);
	CU_ASSERT(write(fd, "plain text here\n", 16) == 16);
	close(fd);
	struct cs_entry e;
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "foreign", &e), 0);
	CU_ASSERT_EQUAL(e.attr.size, 16);
	CU_ASSERT_EQUAL_FATAL(cdh_open(&H, 0, e.nodeid, O_RDWR, &fh), 0);
	char b[64];
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh, 0, b, sizeof(b)), 16);
	CU_ASSERT_EQUAL(memcmp(b, "plain text here\n", 16), 0);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, e.nodeid, fh, 16, "more", 4), 4);
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, e.nodeid, &a), 0);
	CU_ASSERT_EQUAL(a.size, 20);
	CU_ASSERT_EQUAL(cdh_truncate(&H, 0, e.nodeid, 5, &a), 0);
	CU_ASSERT_EQUAL(a.size, 5);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	struct stat st;
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 5);
	/* Our own files are still encrypted as usual. */
	ino = make_file("mine", (const uint8_t *)"secret", 6, &fh);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, ino, fh, 0, b, sizeof(b)), 6);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, "secret", 6), 0);
	cdh_stop(&T);
	H = save;
}

/* A hostile lower tree: a FIFO where a dir id file belongs must not hang
 * a worker; a symlink in the lower tree is never followed out. */
static void test_hostile_lower(void)
{
	struct cdh save;
	own_volume(&save, 1, NULL);
	struct cs_entry d, e;
	CU_ASSERT_EQUAL_FATAL(cdh_mkdir(&H, 0, ROOT, "hostile", 0755, &d), 0);
	DIR *dir = opendir(H.lower);
	struct dirent *de;
	char sub[PATH_MAX + 300] = "";
	while (dir && (de = readdir(dir)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			snprintf(sub, sizeof(sub), "%s/%s", H.lower,
				 de->d_name);
	if (dir)
		closedir(dir);
	CU_ASSERT_FATAL(sub[0] != 0);
	char p[PATH_MAX + 400];
	snprintf(p, sizeof(p), "%s/.cs.dirid", sub);
	CU_ASSERT_EQUAL(unlink(p), 0);
	CU_ASSERT_EQUAL(mkfifo(p, 0644), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "hostile", &d), 0);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, d.nodeid, "x", &e), -EIO);
	CU_ASSERT_EQUAL(
	    cdh_create(&H, 0, d.nodeid, "x", 0644, O_RDWR, &e, NULL), -EIO);
	/* The lower root's own entries stay hidden and the root works. */
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ROOT, &a), 0);
	own_volume_end(&save);
}

/* A plaintext-names volume: names stored as they are, contents still
 * encrypted, the volume's own files hidden and reserved. */
static void test_plain_names(void)
{
	struct cdh save;
	own_volume(&save, 1, "--plaintext-names");
	uint64_t fh;
	uint64_t ino =
	    make_file("visible-name", (const uint8_t *)MARK, strlen(MARK), &fh);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	char p[PATH_MAX + 300];
	snprintf(p, sizeof(p), "%s/visible-name", H.lower);
	CU_ASSERT_EQUAL(access(p, F_OK), 0);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, MARK, strlen(MARK)), 0);
	struct cs_entry e;
	CU_ASSERT_EQUAL(cdh_mkdir(&H, 0, ROOT, "sub", 0755, &e), 0);
	CU_ASSERT(cdh_create(&H, 0, ROOT, ".cs.dirid", 0644, O_RDWR, &e, &fh) <
		  0);
	struct cdh_dirent *v = NULL;
	int n = cdh_readdir(&H, 0, ROOT, false, &v);
	CU_ASSERT_EQUAL(n, 2);
	for (int i = 0; i < n; i++)
		CU_ASSERT(v[i].name[0] != '.');
	free(v);
	own_volume_end(&save);
}

struct conc_arg {
	unsigned ring;
	uint64_t ino, fh;
	int fails;
};

static void *conc_worker(void *p)
{
	struct conc_arg *a = p;
	uint8_t *w = malloc(70000), *r = malloc(70000);
	/* Each thread owns every 4th 64 KiB stripe of the shared file. */
	for (int round = 0; round < 3; round++) {
		for (unsigned s = a->ring; s < 64; s += 4) {
			uint64_t off = (uint64_t)s * 65536 + 1000;
			fill(w, 65536, s * 31 + round);
			if (cdh_write(&H, a->ring, a->ino, a->fh, off, w,
				      65536) != 65536)
				a->fails++;
			if (cdh_read(&H, a->ring, a->ino, a->fh, off, r,
				     65536) != 65536 ||
			    memcmp(w, r, 65536))
				a->fails++;
		}
	}
	free(w);
	free(r);
	return NULL;
}

static void test_concurrent(void)
{
	struct cdh save;
	own_volume(&save, 4, NULL);
	uint64_t fh;
	uint64_t ino = make_file("shared", NULL, 0, &fh);
	pthread_t t[4];
	struct conc_arg a[4];
	for (unsigned i = 0; i < 4; i++) {
		a[i] = (struct conc_arg){.ring = i, .ino = ino, .fh = fh};
		pthread_create(&t[i], NULL, conc_worker, &a[i]);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(a[i].fails, 0);
	}
	/* Final content: every stripe holds its last round. */
	uint8_t *w = malloc(65536), *r = malloc(65536);
	for (unsigned s = 0; s < 64; s++) {
		fill(w, 65536, s * 31 + 2);
		CU_ASSERT_EQUAL(cdh_read(&H, s % 4, ino, fh,
					 (uint64_t)s * 65536 + 1000, r, 65536),
				65536);
		CU_ASSERT_EQUAL(memcmp(w, r, 65536), 0);
	}
	struct cs_attr at;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ino, &at), 0);
	CU_ASSERT_EQUAL(at.size, 63ull * 65536 + 1000 + 65536);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	free(w);
	free(r);
	own_volume_end(&save);
}

/* Per-extent content of "version" v of the crash file. */
static void crash_extent(uint8_t *b, unsigned ext, unsigned v)
{
	fill(b, 4096, ext * 1000 + v);
}

struct crash_arg {
	uint64_t ino, fh;
	volatile int stop;
	unsigned writes;
};

static void *crash_writer(void *p)
{
	struct crash_arg *a = p;
	uint8_t *b = malloc(CS_MAX_IO);
	unsigned v = 1;
	while (!a->stop) {
		/* 1 MiB overwrites at extent-aligned offsets, version v. */
		unsigned first = (unsigned)(v * 37 % 256);
		for (unsigned k = 0; k < 256; k++)
			crash_extent(b + k * 4096, first + k, v);
		if (cdh_write(&H, 0, a->ino, a->fh, (uint64_t)first * 4096, b,
			      CS_MAX_IO) != (int)CS_MAX_IO)
			break;
		a->writes++;
		v = v % 7 + 1;
	}
	free(b);
	return NULL;
}

static void test_crash_recovery(void)
{
	/* Base: 512 extents of version 0. */
	size_t len = 512 * 4096;
	uint8_t *data = malloc(len), *r = malloc(CS_MAX_IO);
	for (unsigned e = 0; e < 512; e++)
		crash_extent(data + (size_t)e * 4096, e, 0);
	uint64_t fh;
	uint64_t ino = make_file("crash", data, len, &fh);
	struct crash_arg a = {.ino = ino, .fh = fh};
	pthread_t t;
	H.timeout_ms = 300;
	pthread_create(&t, NULL, crash_writer, &a);
	usleep(150000);
	kill(H.cryptod_pid, SIGKILL);
	a.stop = 1;
	pthread_join(t, NULL);
	H.timeout_ms = 0;
	CU_ASSERT(a.writes > 0);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 2), 0);
	struct cs_entry e;
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "crash", &e), 0);
	CU_ASSERT_EQUAL(e.attr.size, len);
	CU_ASSERT_EQUAL_FATAL(cdh_open(&H, 0, e.nodeid, O_RDWR, &fh), 0);
	/* Every extent is some whole version: never EIO, never torn. */
	unsigned bad = 0;
	for (size_t off = 0; off < len; off += CS_MAX_IO) {
		int n = cdh_read(&H, 0, e.nodeid, fh, off, r, CS_MAX_IO);
		CU_ASSERT_EQUAL(n, (int)CS_MAX_IO);
		if (n != (int)CS_MAX_IO)
			break;
		for (unsigned k = 0; k < 256; k++) {
			unsigned ext = (unsigned)(off / 4096) + k;
			bool ok = false;
			for (unsigned v = 0; v < 8 && !ok; v++) {
				crash_extent(data, ext, v);
				ok = !memcmp(data, r + k * 4096, 4096);
			}
			bad += !ok;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* The recovering file stays writable and readable. */
	crash_extent(data, 3, 5);
	CU_ASSERT_EQUAL(
	    cdh_write(&H, 1, e.nodeid, fh, 3 * 4096 + 10, data + 10, 100), 100);
	CU_ASSERT_EQUAL(cdh_read(&H, 1, e.nodeid, fh, 3 * 4096 + 10, r, 100),
			100);
	CU_ASSERT_EQUAL(memcmp(r, data + 10, 100), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	free(data);
	free(r);
}

struct torn_arg {
	unsigned ring;
	uint64_t ino, fh;
	volatile int *stop;
	unsigned reads, torn;
};

/* Readers check that every extent they get is one whole version. */
static void *torn_reader(void *p)
{
	struct torn_arg *a = p;
	uint8_t *r = malloc(64 * 4096), *x = malloc(4096);
	while (!*a->stop) {
		/* Unaligned reads across extent edges too. */
		uint64_t off = (uint64_t)(a->reads % 7) * 4096;
		int n = cdh_read(&H, a->ring, a->ino, a->fh, off, r, 32 * 4096);
		if (n != 32 * 4096) {
			a->torn++;
			break;
		}
		for (unsigned k = 0; k < 32; k++) {
			unsigned ext = (unsigned)(off / 4096) + k;
			bool ok = false;
			for (unsigned v = 0; v < 8 && !ok; v++) {
				crash_extent(x, ext, v);
				ok = !memcmp(x, r + k * 4096, 4096);
			}
			a->torn += !ok;
		}
		a->reads++;
	}
	free(r);
	free(x);
	return NULL;
}

static void test_no_torn_reads(void)
{
	struct cdh save;
	own_volume(&save, 3, NULL);
	uint8_t *w = malloc(64 * 4096);
	for (unsigned e = 0; e < 64; e++)
		crash_extent(w + e * 4096, e, 0);
	uint64_t fh;
	uint64_t ino = make_file("torn", w, 64 * 4096, &fh);
	volatile int stop = 0;
	struct torn_arg a[2];
	pthread_t t[2];
	for (unsigned i = 0; i < 2; i++) {
		a[i] = (struct torn_arg){
		    .ring = i + 1, .ino = ino, .fh = fh, .stop = &stop};
		pthread_create(&t[i], NULL, torn_reader, &a[i]);
	}
	/* The writer rewrites overlapping ranges (partial extents too:
	 * read-modify-write) with whole new versions. */
	for (unsigned i = 0; i < 300; i++) {
		unsigned v = i % 7 + 1, first = (i * 13) % 40, cnt = 1 + i % 24;
		for (unsigned k = 0; k < cnt; k++)
			crash_extent(w + k * 4096, first + k, v);
		CU_ASSERT_EQUAL(cdh_write(&H, 0, ino, fh,
					  (uint64_t)first * 4096, w,
					  cnt * 4096),
				(int)(cnt * 4096));
	}
	stop = 1;
	for (unsigned i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT(a[i].reads > 0);
		CU_ASSERT_EQUAL(a[i].torn, 0);
	}
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ino, fh), 0);
	free(w);
	own_volume_end(&save);
}

/* Frontend gone with a file still open: cryptod closes it cleanly, so
 * the file is not left "recovering" and a replayed old extent is still
 * detected (EIO) after the restart. */
static void test_hangup_clean_close(void)
{
	struct cdh save;
	own_volume(&save, 1, NULL);
	uint8_t a[4096], b[4096], old[4096];
	fill(a, sizeof(a), 101);
	fill(b, sizeof(b), 202);
	uint64_t fh;
	uint64_t ino = make_file("replay", a, sizeof(a), &fh);
	char p[PATH_MAX + 300];
	CU_ASSERT_EQUAL_FATAL(lower_file_of(H.lower, p, sizeof(p), NULL), 0);
	int fd = open(p, O_RDWR);
	CU_ASSERT_EQUAL(pread(fd, old, 4096, 4096), 4096);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, ino, fh, 0, b, sizeof(b)), 4096);
	/* No RELEASE: the frontend "dies" with the file open. */
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	CU_ASSERT_EQUAL(pwrite(fd, old, 4096, 4096), 4096);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	struct cs_entry e;
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "replay", &e), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), 0);
	uint8_t r[4096];
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh, 0, r, 4096), -EIO);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	own_volume_end(&save);
}

struct open_job {
	uint64_t ino, fh;
	int rc;
	atomic_int done;
};

static void *open_job(void *p)
{
	struct open_job *j = p;
	j->rc = cdh_open(&H, 1, j->ino, O_RDONLY, &j->fh);
	atomic_store(&j->done, 1);
	return NULL;
}

/* A file created or unwrapped a moment ago reopens from cryptod's FEK
 * cache: with keyd stopped (SIGSTOP), the open must still complete. */
static void test_fek_cache(void)
{
	uint8_t a[5000], r[5000];
	fill(a, sizeof(a), 303);
	uint64_t fh;
	uint64_t ino = make_file("fekcache", a, sizeof(a), &fh);
	CU_ASSERT_EQUAL_FATAL(cdh_release(&H, 0, ino, fh), 0);
	CU_ASSERT_EQUAL_FATAL(kill(H.keyd_pid, SIGSTOP), 0);
	struct open_job j = {.ino = ino, .rc = -1};
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, open_job, &j), 0);
	for (int i = 0; i < 500 && !atomic_load(&j.done); i++)
		usleep(10000);
	int done = atomic_load(&j.done);
	kill(H.keyd_pid, SIGCONT);
	pthread_join(t, NULL);
	CU_ASSERT(done); /* else the open waited for keyd */
	CU_ASSERT_EQUAL_FATAL(j.rc, 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 1, ino, j.fh, 0, r, sizeof(r)),
			(int)sizeof(r));
	CU_ASSERT_EQUAL(memcmp(a, r, sizeof(r)), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 1, ino, j.fh), 0);
}

static void test_hangup_exit(void)
{
	/* A clean exit (status 0) when the frontend's peer fd hangs up. */
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	CU_ASSERT_EQUAL(cdh_restart(&H, 2), 0);
	struct cs_attr a;
	CU_ASSERT_EQUAL(cdh_getattr(&H, 0, ROOT, &a), 0);
}

int cs_register_suites(void)
{
	if (access(CS_CRYPTOD_BIN, X_OK) || access(CS_CLI_BIN, X_OK)) {
		fprintf(stderr, "cryptod or cryptstack binary missing\n");
		return CS_TEST_SKIP;
	}
	static const struct cs_test tests[] = {
	    {"basic", test_basic},
	    {"boundary_sizes", test_boundary_sizes},
	    {"partial_writes", test_partial_writes},
	    {"truncate", test_truncate},
	    {"dirs", test_dirs},
	    {"rename_link", test_rename_link},
	    {"symlink_special", test_symlink_special},
	    {"setattr", test_setattr},
	    {"xattr", test_xattr},
	    {"fallocate_seek", test_fallocate_seek},
	    {"tamper", test_tamper},
	    {"seal_bind", test_seal_bind},
	    {"bind_splice", test_bind_splice},
	    {"bind_alias", test_bind_alias},
	    {"seal_erased_slot", test_seal_erased_slot},
	    {"rename_writer_race", test_rename_writer_race},
	    {"passthrough", test_passthrough},
	    {"hostile_lower", test_hostile_lower},
	    {"plain_names", test_plain_names},
	    {"concurrent", test_concurrent},
	    {"crash_recovery", test_crash_recovery},
	    {"no_torn_reads", test_no_torn_reads},
	    {"fek_cache", test_fek_cache},
	    {"hangup_clean_close", test_hangup_clean_close},
	    {"hangup_exit", test_hangup_exit},
	    {NULL, NULL},
	};
	/* CDH_ONLY=name runs one test (debugging). */
	const char *only = getenv("CDH_ONLY");
	static struct cs_test sel[2];
	if (only) {
		for (const struct cs_test *t = tests; t->name; t++)
			if (!strcmp(t->name, only))
				sel[0] = *t;
		return cs_add_suite("cryptod", suite_init, suite_clean, sel);
	}
	return cs_add_suite("cryptod", suite_init, suite_clean, tests);
}
