/* SPDX-License-Identifier: MIT */
/*
 * Randomized model test: the same random operations (write, truncate,
 * punch, allocate, rename with flags, link, unlink, mkdir, rmdir, symlink,
 * chmod) against cryptod (real keyd + cryptod, through the rings) and
 * against a plain directory; return codes, contents and metadata compared
 * after every step, whole trees every 64 steps and after a restart.
 *
 * CDH_SEED=n replays a run (the seed is printed); CDH_STEPS=n sets the
 * length (default 3000, about 10 s).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cryptod_harness.h"
#include "cunit_main.h"

static struct cdh H;
static char plain[1100];
static uint64_t rng;
static unsigned step;
static int ring;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *dirs[] = {"", "d0", "d1", "d0/e"};
/* The last name is long: its lower form is a hashed name plus a side
 * file, so renames, links and removals of long names are exercised. */
#define LONGNAME                                                               \
	"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL" \
	"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL" \
	"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
static const char *names[] = {"a", "b", "c", "dd", "d0", "d1", "e", LONGNAME};

static void rand_path(char *out, size_t cap)
{
	const char *d = dirs[pick(4)];
	const char *n = names[pick(8)];
	snprintf(out, cap, "%s%s%s", d, *d ? "/" : "", n);
}

static void ppath(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", plain, rel);
}

/* Resolves a relative path through cryptod lookups; the caller forgets
 * the final node's lookup. */
static int resolve(const char *rel, uint64_t *parent, char *last,
		   uint64_t *node)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s", rel);
	uint64_t cur = 1;
	char *save = NULL, *tok = strtok_r(buf, "/", &save);
	*parent = 0; /* 0: an intermediate directory is missing */
	*node = 0;
	last[0] = 0;
	while (tok) {
		char *next = strtok_r(NULL, "/", &save);
		if (!next) {
			snprintf(last, 256, "%s", tok);
			*parent = cur;
			struct cs_entry e;
			int r = cdh_lookup(&H, ring, cur, tok, &e);
			*node = r == 0 ? e.nodeid : 0;
			return r;
		}
		struct cs_entry e;
		int r = cdh_lookup(&H, ring, cur, tok, &e);
		if (r < 0)
			return r == -ENOENT ? -ENOENT : r;
		if ((e.attr.mode & S_IFMT) != S_IFDIR) {
			cdh_forget(&H, ring, e.nodeid, 1);
			/* Symlink targets here never resolve ("target-N/..."),
			 * so the plain side sees ENOENT through them. */
			return (e.attr.mode & S_IFMT) == S_IFLNK ? -ENOENT
								 : -ENOTDIR;
		}
		/* Intermediate directories keep their lookup: the kernel
		 * would hold them as the dentry parents of the result. */
		cur = e.nodeid;
		tok = next;
	}
	return -EINVAL;
}

static int perr(int r)
{
	return r < 0 ? -errno : r;
}

static bool fail_now;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "step %u: ", step);                    \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                 \
			fail_now = true;                                       \
		}                                                              \
	} while (0)

/* Compares one path: existence, type, size, mode, nlink, content. */
static void compare_path(const char *rel)
{
	char pp[3300];
	struct stat st;
	uint64_t par, node = 0;
	char last[256];
	ppath(pp, sizeof(pp), rel);
	int pr = perr(lstat(pp, &st));
	int cr = resolve(rel, &par, last, &node);
	CHECK(pr == cr, "%s: lstat %d vs lookup %d", rel, pr, cr);
	if (pr < 0 || cr < 0) {
		if (cr == 0)
			cdh_forget(&H, ring, node, 1);
		return;
	}
	struct cs_attr a;
	int g = cdh_getattr(&H, ring, node, &a);
	CHECK(g == 0, "%s: getattr %d", rel, g);
	CHECK((a.mode & S_IFMT) == (st.st_mode & S_IFMT), "%s: type", rel);
	CHECK((a.mode & 07777) == (st.st_mode & 07777), "%s: mode %o vs %o",
	      rel, a.mode & 07777, st.st_mode & 07777);
	if (!S_ISDIR(st.st_mode)) {
		CHECK(a.nlink == st.st_nlink, "%s: nlink %u vs %lu", rel,
		      a.nlink, (unsigned long)st.st_nlink);
		CHECK(a.size == (uint64_t)st.st_size, "%s: size %llu vs %lld",
		      rel, (unsigned long long)a.size, (long long)st.st_size);
	}
	if (S_ISREG(st.st_mode)) {
		uint64_t fh;
		int o = cdh_open(&H, ring, node, O_RDONLY, &fh);
		CHECK(o == 0, "%s: open %d", rel, o);
		if (o == 0) {
			size_t n = (size_t)st.st_size;
			uint8_t *x = malloc(n ? n : 1), *y = malloc(CS_MAX_IO);
			int fd = open(pp, O_RDONLY);
			ssize_t got = pread(fd, x, n, 0);
			close(fd);
			CHECK(got == (ssize_t)n, "%s: plain read", rel);
			for (size_t off = 0; off < n && !fail_now;) {
				uint32_t want = n - off > CS_MAX_IO
						    ? CS_MAX_IO
						    : (uint32_t)(n - off);
				int r =
				    cdh_read(&H, ring, node, fh, off, y, want);
				CHECK(r == (int)want, "%s: read %d at %zu", rel,
				      r, off);
				if (r == (int)want)
					CHECK(!memcmp(x + off, y, want),
					      "%s: content differs near %zu",
					      rel, off);
				off += want;
			}
			free(x);
			free(y);
			cdh_release(&H, ring, node, fh);
		}
	} else if (S_ISLNK(st.st_mode)) {
		char t1[4096], t2[4096];
		ssize_t l = readlink(pp, t1, sizeof(t1) - 1);
		t1[l > 0 ? l : 0] = 0;
		int l2 = cdh_readlink(&H, ring, node, t2, sizeof(t2));
		CHECK(l2 == (int)l && !strcmp(t1, t2), "%s: symlink", rel);
	}
	cdh_forget(&H, ring, node, 1);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares directory listings (names) of every directory, recursively. */
static void compare_tree(const char *rel)
{
	char pp[3300];
	ppath(pp, sizeof(pp), rel);
	DIR *d = opendir(pp);
	if (!d)
		return;
	char *pn[64];
	int np = 0;
	struct dirent *de;
	while ((de = readdir(d)) && np < 64) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pn[np++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(pn, (size_t)np, sizeof(pn[0]), cmpstr);
	uint64_t par, node = 1;
	char last[256];
	int r = *rel ? resolve(rel, &par, last, &node) : 0;
	CHECK(r == 0, "tree %s: lookup %d", rel, r);
	struct cdh_dirent *v = NULL;
	int nc = r == 0 ? cdh_readdir(&H, ring, node, step & 1, &v) : -1;
	CHECK(nc == np, "tree %s: %d entries vs %d", rel, nc, np);
	if (nc == np) {
		char *cn[64];
		for (int i = 0; i < nc; i++)
			cn[i] = v[i].name;
		qsort(cn, (size_t)nc, sizeof(cn[0]), cmpstr);
		for (int i = 0; i < nc; i++)
			CHECK(!strcmp(cn[i], pn[i]), "tree %s: %s vs %s", rel,
			      cn[i], pn[i]);
		if (step & 1)
			for (int i = 0; i < nc; i++)
				if (v[i].nodeid)
					cdh_forget(&H, ring, v[i].nodeid, 1);
	}
	free(v);
	if (*rel && r == 0)
		cdh_forget(&H, ring, node, 1);
	for (int i = 0; i < np; i++) {
		char sub[2048];
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
			 pn[i]);
		struct stat st;
		char sp[3300];
		ppath(sp, sizeof(sp), sub);
		if (lstat(sp, &st) == 0) {
			compare_path(sub);
			if (S_ISDIR(st.st_mode))
				compare_tree(sub);
		}
		free(pn[i]);
	}
}

static uint8_t wbuf[CS_MAX_IO];

static void op_write(const char *rel)
{
	char pp[3300], last[256];
	uint64_t par, node = 0, fh;
	ppath(pp, sizeof(pp), rel);
	struct stat st;
	if (lstat(pp, &st) == 0 && !S_ISREG(st.st_mode))
		return;
	uint64_t off = rnd() % (pick(4) ? 300000 : 3000000);
	uint32_t len = 1 + (uint32_t)(rnd() % (pick(8) ? 20000 : CS_MAX_IO));
	for (uint32_t i = 0; i < len; i++)
		wbuf[i] = (uint8_t)rnd();
	int fd = open(pp, O_WRONLY | O_CREAT, 0644);
	int pr = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		CHECK(pwrite(fd, wbuf, len, (off_t)off) == (ssize_t)len,
		      "plain write");
		close(fd);
	}
	int cr = resolve(rel, &par, last, &node);
	if (cr == -ENOENT && par) {
		struct cs_entry e;
		memset(&e, 0, sizeof(e));
		cr = cdh_create(&H, ring, par, last, 0644, O_WRONLY | O_CREAT,
				&e, &fh);
		node = e.nodeid;
	} else if (cr == 0) {
		cr = cdh_open(&H, ring, node, O_WRONLY, &fh);
	}
	if (pr < 0 || cr < 0) {
		CHECK(pr == cr || (pr < 0 && cr < 0), "%s: write open %d vs %d",
		      rel, pr, cr);
		if (node && cr != -ENOENT)
			cdh_forget(&H, ring, node, 1);
		return;
	}
	int w = cdh_write(&H, ring, node, fh, off, wbuf, len);
	CHECK(w == (int)len, "%s: write %d", rel, w);
	cdh_release(&H, ring, node, fh);
	cdh_forget(&H, ring, node, 1);
}

static void op_truncate(const char *rel)
{
	char pp[3300], last[256];
	uint64_t par, node = 0;
	ppath(pp, sizeof(pp), rel);
	struct stat st;
	if (lstat(pp, &st) == 0 && S_ISLNK(st.st_mode))
		return;
	uint64_t sz = rnd() % (pick(4) ? 200000 : 2000000);
	if (pick(3) == 0)
		sz &= ~4095ull;
	int pr = perr(truncate(pp, (off_t)sz));
	int cr = resolve(rel, &par, last, &node);
	if (cr == 0) {
		struct cs_attr a;
		cr = cdh_truncate(&H, ring, node, sz, &a);
		cdh_forget(&H, ring, node, 1);
	}
	CHECK(pr == cr, "%s: truncate %d vs %d", rel, pr, cr);
}

static void op_falloc(const char *rel, bool punch)
{
	char pp[3300], last[256];
	uint64_t par, node = 0, fh;
	ppath(pp, sizeof(pp), rel);
	struct stat st;
	if (lstat(pp, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	uint64_t off = rnd() % 300000, len = 1 + rnd() % 100000;
	int mode = punch ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : 0;
	int fd = open(pp, O_RDWR);
	int pr = perr(fallocate(fd, mode, (off_t)off, (off_t)len));
	close(fd);
	int cr = resolve(rel, &par, last, &node);
	if (cr == 0) {
		cr = cdh_open(&H, ring, node, O_RDWR, &fh);
		if (cr == 0) {
			cr = cdh_fallocate(&H, ring, node, fh, (uint32_t)mode,
					   off, len);
			cdh_release(&H, ring, node, fh);
		}
		cdh_forget(&H, ring, node, 1);
	}
	CHECK(pr == cr, "%s: fallocate %d vs %d", rel, pr, cr);
}

static void op_rename(const char *a, const char *b)
{
	static const unsigned fl[] = {0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE};
	unsigned flags = fl[pick(4)];
	char pa[3300], pb[3300], la[256], lb[256];
	ppath(pa, sizeof(pa), a);
	ppath(pb, sizeof(pb), b);
	int pr = perr(renameat2(AT_FDCWD, pa, AT_FDCWD, pb, flags));
	uint64_t ppa, ppb, na = 0, nb = 0;
	int ra = resolve(a, &ppa, la, &na);
	int rb = resolve(b, &ppb, lb, &nb);
	int cr;
	/* The kernel resolves both parents before it looks at the names. */
	if (!ppa)
		cr = ra;
	else if (!ppb)
		cr = rb;
	else if (ra < 0)
		cr = ra;
	else
		cr = cdh_rename(&H, ring, ppa, la, ppb, lb, flags);
	if (na)
		cdh_forget(&H, ring, na, 1);
	if (nb)
		cdh_forget(&H, ring, nb, 1);
	/* rename(a, a) is a no-op with success in both. */
	CHECK(pr == cr, "rename %s %s (%u): %d vs %d", a, b, flags, pr, cr);
}

static void op_link(const char *a, const char *b)
{
	char pa[3300], pb[3300], la[256], lb[256];
	ppath(pa, sizeof(pa), a);
	ppath(pb, sizeof(pb), b);
	struct stat st;
	if (lstat(pa, &st) == 0 && S_ISLNK(st.st_mode))
		return; /* linkat(AT_SYMLINK_FOLLOW) semantics differ */
	int pr = perr(link(pa, pb));
	uint64_t ppa, ppb, na = 0, nb = 0;
	int ra = resolve(a, &ppa, la, &na);
	int rb = resolve(b, &ppb, lb, &nb);
	int cr;
	if (ra < 0)
		cr = ra;
	else if (rb == 0)
		cr = -EEXIST;
	else if (rb != -ENOENT || !ppb)
		cr = rb;
	else {
		struct cs_entry e;
		cr = cdh_link(&H, ring, na, ppb, lb, &e);
		if (cr == 0)
			cdh_forget(&H, ring, e.nodeid, 1);
	}
	if (na)
		cdh_forget(&H, ring, na, 1);
	if (nb)
		cdh_forget(&H, ring, nb, 1);
	CHECK(pr == cr, "link %s %s: %d vs %d", a, b, pr, cr);
}

static void op_name(const char *rel, int kind)
{
	char pp[3300], last[256];
	uint64_t par, node = 0;
	ppath(pp, sizeof(pp), rel);
	int pr, cr = resolve(rel, &par, last, &node);
	if (node)
		cdh_forget(&H, ring, node, 1);
	struct cs_entry e;
	switch (kind) {
	case 0:
		pr = perr(unlink(pp));
		if (cr == 0 || (cr == -ENOENT && par))
			cr = cdh_unlink(&H, ring, par, last);
		break;
	case 1:
		pr = perr(rmdir(pp));
		if (cr == 0 || (cr == -ENOENT && par))
			cr = cdh_rmdir(&H, ring, par, last);
		break;
	case 2:
		pr = perr(mkdir(pp, 0755));
		if (cr == 0)
			cr = -EEXIST;
		else if (cr == -ENOENT && par) {
			cr = cdh_mkdir(&H, ring, par, last, 0755, &e);
			if (cr == 0)
				cdh_forget(&H, ring, e.nodeid, 1);
		}
		break;
	default: {
		char tgt[64];
		snprintf(tgt, sizeof(tgt), "target-%u/%s", step, rel);
		pr = perr(symlink(tgt, pp));
		if (cr == 0)
			cr = -EEXIST;
		else if (cr == -ENOENT && par) {
			cr = cdh_symlink(&H, ring, par, last, tgt, &e);
			if (cr == 0)
				cdh_forget(&H, ring, e.nodeid, 1);
		}
	}
	}
	CHECK(pr == cr, "%s: op %d %d vs %d", rel, kind, pr, cr);
}

static void op_chmod(const char *rel)
{
	char pp[3300], last[256];
	uint64_t par, node = 0;
	ppath(pp, sizeof(pp), rel);
	struct stat st;
	if (lstat(pp, &st) == 0 && S_ISLNK(st.st_mode))
		return;
	unsigned mode = 0600 | (unsigned)pick(0200);
	int pr = perr(chmod(pp, mode));
	int cr = resolve(rel, &par, last, &node);
	if (cr == 0) {
		struct cs_setattr_arg sa = {.valid = 1, .mode = mode};
		cr = cdh_setattr(&H, ring, node, &sa, NULL);
		cdh_forget(&H, ring, node, 1);
	}
	CHECK(pr == cr, "%s: chmod %d vs %d", rel, pr, cr);
}

static void test_model(void)
{
	const char *s = getenv("CDH_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0)
			  : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	const char *n = getenv("CDH_STEPS");
	unsigned steps = n ? (unsigned)strtoul(n, NULL, 0) : 3000;
	fprintf(stderr, "\nmodel: CDH_SEED=%llu CDH_STEPS=%u\n",
		(unsigned long long)seed, steps);
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	CU_ASSERT_EQUAL_FATAL(cdh_start(&H, 2, NULL), 0);
	snprintf(plain, sizeof(plain), "%s/plain", H.dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(plain, 0755), 0);
	for (step = 0; step < steps && !fail_now; step++) {
		char a[600], b[600];
		ring = (int)(step & 1);
		rand_path(a, sizeof(a));
		rand_path(b, sizeof(b));
		switch (pick(16)) {
		case 0:
		case 1:
		case 2:
		case 3:
			op_write(a);
			break;
		case 4:
			op_truncate(a);
			break;
		case 5:
			op_falloc(a, true);
			break;
		case 6:
			op_falloc(a, false);
			break;
		case 7:
		case 8:
			op_rename(a, b);
			break;
		case 9:
			op_link(a, b);
			break;
		case 10:
			op_name(a, 0);
			break;
		case 11:
			op_name(a, 1);
			break;
		case 12:
		case 13:
			op_name(a, 2);
			break;
		case 14:
			op_name(a, 3);
			break;
		default:
			op_chmod(a);
			break;
		}
		compare_path(a);
		compare_path(b);
		if (step % 64 == 63)
			compare_tree("");
		if (step == steps / 2) {
			CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 2), 0);
			compare_tree("");
		}
	}
	if (!fail_now)
		compare_tree("");
	CU_ASSERT_FALSE(fail_now);
	if (fail_now)
		fprintf(stderr, "replay: CDH_SEED=%llu CDH_STEPS=%u\n",
			(unsigned long long)seed, step);
	/* Nothing of the plaintext names leaks into the lower tree. */
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, "target-", 7), 0);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, "LLLLLLLL", 8), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	cdh_stop(&H);
}

int cs_register_suites(void)
{
	if (access(CS_CRYPTOD_BIN, X_OK) || access(CS_CLI_BIN, X_OK)) {
		fprintf(stderr, "cryptod or cryptstack binary missing\n");
		return CS_TEST_SKIP;
	}
	static const struct cs_test tests[] = {
	    {"model", test_model},
	    {NULL, NULL},
	};
	return cs_add_suite("cryptod_model", NULL, NULL, tests);
}
