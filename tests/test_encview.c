/* SPDX-License-Identifier: MIT */
/*
 * cryptod --encrypted-view (cryptod/rawview.c) through the real keyd and
 * cryptod, no FUSE: a tree is written through the normal ops, then cryptod
 * restarts raw and must show the lower tree exactly (names incl. the
 * volume's own files, sizes, bytes, symlink targets, user.* xattrs), refuse
 * every change with EROFS, and leave the lower tree untouched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cryptod_harness.h"
#include "cunit_main.h"

#define ROOT 1
#define MARK "ENCVIEW-PLAINTEXT-MARKER-0b5e"

static struct cdh H;
static bool started;

static int suite_init(void)
{
	unsetenv("CDH_ENCVIEW");
	int r = cdh_start(&H, 1, NULL);
	if (r < 0) {
		fprintf(stderr, "harness: %s\n", strerror(-r));
		return -1;
	}
	started = true;
	return 0;
}

static int suite_clean(void)
{
	unsetenv("CDH_ENCVIEW");
	if (started)
		cdh_stop(&H);
	started = false;
	return 0;
}

/* Reads a whole lower file (at most cap bytes); length or -1. */
static ssize_t lower_read(int dirfd, const char *name, uint8_t *buf, size_t cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = 0, r;
	while ((size_t)n < cap &&
	       (r = pread(fd, buf + n, cap - (size_t)n, n)) > 0)
		n += r;
	close(fd);
	return n;
}

/* Sorted-free check: every lower entry of dirfd is in ents and vice versa
 * (same count, each name found with the lower inode number). */
static void check_listing(int dirfd, const struct cdh_dirent *ents, int n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	DIR *d = fdopendir(fd);
	CU_ASSERT_FATAL(d != NULL);
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		count++;
		bool found = false;
		for (int i = 0; i < n; i++)
			if (!strcmp(ents[i].name, de->d_name)) {
				found = true;
				CU_ASSERT_EQUAL(ents[i].ino, de->d_ino);
			}
		CU_ASSERT(found);
		if (!found)
			fprintf(stderr, "missing in the view: %s\n",
				de->d_name);
	}
	closedir(d);
	CU_ASSERT_EQUAL(count, n);
}

/* LSEEK through the view's handle at off answers as lseek(2) on the
 * lower file lfd does. */
static void check_lseek(uint64_t ino, uint64_t fh, int lfd, uint64_t off,
			int whence)
{
	uint64_t got = 0;
	off_t want = lseek(lfd, (off_t)off, whence);
	int werr = want < 0 ? -errno : 0;
	int r = cdh_lseek(&H, 0, ino, fh, off, (uint32_t)whence, &got);
	CU_ASSERT_EQUAL(r, werr);
	if (want >= 0)
		CU_ASSERT_EQUAL(got, (uint64_t)want);
}

/* Every raw entry of directory node dir against lower dirfd: attributes
 * are the lower ones, file bytes and symlink targets too; recurses. */
static void check_tree(uint64_t dir, int dirfd, int depth)
{
	static uint8_t got[1u << 20], want[1u << 20];
	struct cdh_dirent *ents = NULL;
	int n = cdh_readdir(&H, 0, dir, true, &ents);
	CU_ASSERT_FATAL(n >= 0);
	check_listing(dirfd, ents, n);
	for (int i = 0; i < n; i++) {
		struct cs_entry e;
		struct stat st;
		CU_ASSERT_EQUAL_FATAL(
		    fstatat(dirfd, ents[i].name, &st, AT_SYMLINK_NOFOLLOW), 0);
		CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, dir, ents[i].name, &e),
				      0);
		CU_ASSERT_EQUAL(ents[i].nodeid, e.nodeid);
		CU_ASSERT_EQUAL(ents[i].attr.size, (uint64_t)st.st_size);
		CU_ASSERT_EQUAL(e.attr.size, (uint64_t)st.st_size);
		CU_ASSERT_EQUAL(e.attr.ino, st.st_ino);
		CU_ASSERT_EQUAL(e.attr.mode, st.st_mode);
		CU_ASSERT_EQUAL(e.attr.nlink, st.st_nlink);
		if (S_ISREG(st.st_mode)) {
			uint64_t fh;
			CU_ASSERT_FATAL((size_t)st.st_size <= sizeof(want));
			CU_ASSERT_EQUAL_FATAL(
			    cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), 0);
			int r =
			    cdh_read(&H, 0, e.nodeid, fh, 0, got, sizeof(got));
			ssize_t w =
			    lower_read(dirfd, ents[i].name, want, sizeof(want));
			CU_ASSERT_EQUAL(r, (int)w);
			CU_ASSERT(r < 0 || memcmp(got, want, (size_t)r) == 0);
			/* odd offset and length, and past EOF */
			if (w > 1000) {
				r = cdh_read(&H, 0, e.nodeid, fh, 333, got,
					     517);
				CU_ASSERT_EQUAL(r, 517);
				CU_ASSERT(memcmp(got, want + 333, 517) == 0);
			}
			CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh,
						 (uint64_t)w + 10, got, 100),
					0);
			/* SEEK_DATA/SEEK_HOLE as on the lower file: 0, inside,
			 * at and past EOF; other whence values EINVAL */
			int lfd = openat(dirfd, ents[i].name,
					 O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			CU_ASSERT_FATAL(lfd >= 0);
			uint64_t offs[] = {0, 1, (uint64_t)w, (uint64_t)w + 1};
			for (size_t k = 0; k < 4; k++) {
				check_lseek(e.nodeid, fh, lfd, offs[k],
					    SEEK_DATA);
				check_lseek(e.nodeid, fh, lfd, offs[k],
					    SEEK_HOLE);
			}
			close(lfd);
			uint64_t so;
			CU_ASSERT_EQUAL(
			    cdh_lseek(&H, 0, e.nodeid, fh, 0, SEEK_END, &so),
			    -EINVAL);
			/* changes through a read handle */
			CU_ASSERT_EQUAL(
			    cdh_write(&H, 0, e.nodeid, fh, 0, "x", 1), -EROFS);
			CU_ASSERT_EQUAL(
			    cdh_fallocate(&H, 0, e.nodeid, fh, 0, 0, 4096),
			    -EROFS);
			CU_ASSERT_EQUAL(cdh_flush(&H, 0, e.nodeid, fh), 0);
			CU_ASSERT_EQUAL(cdh_fsync(&H, 0, e.nodeid, fh, false),
					0);
			CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
			CU_ASSERT_EQUAL(cdh_open(&H, 0, e.nodeid, O_RDWR, &fh),
					-EROFS);
			CU_ASSERT_EQUAL(
			    cdh_open(&H, 0, e.nodeid, O_WRONLY, &fh), -EROFS);
			CU_ASSERT_EQUAL(
			    cdh_open(&H, 0, e.nodeid, O_RDONLY | O_TRUNC, &fh),
			    -EROFS);
		} else if (S_ISLNK(st.st_mode)) {
			char t[PATH_MAX], lt[PATH_MAX];
			ssize_t l =
			    readlinkat(dirfd, ents[i].name, lt, sizeof(lt) - 1);
			CU_ASSERT_FATAL(l > 0);
			lt[l] = 0;
			CU_ASSERT_EQUAL(
			    cdh_readlink(&H, 0, e.nodeid, t, sizeof(t)),
			    (int)l);
			CU_ASSERT_STRING_EQUAL(t, lt);
		} else if (S_ISDIR(st.st_mode) && depth < 8) {
			int sub = openat(dirfd, ents[i].name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			CU_ASSERT_FATAL(sub >= 0);
			check_tree(e.nodeid, sub, depth + 1);
			close(sub);
		}
		cdh_forget(&H, 0, e.nodeid, 2);
	}
	free(ents);
}

/* A digest of the lower tree's names, sizes, mtimes and bytes (FNV-1a). */
static void lower_digest(int dirfd, uint64_t *hsh)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		*hsh ^= 0xdead;
		return;
	}
	static uint8_t b[1u << 20];
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		uint64_t x = 0xcbf29ce484222325ull;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		for (const char *p = de->d_name; *p; p++)
			x = (x ^ (uint8_t)*p) * 0x100000001b3ull;
		x ^= (uint64_t)st.st_size * 31 ^ (uint64_t)st.st_mtim.tv_nsec ^
		     (uint64_t)st.st_mtim.tv_sec << 20 ^ st.st_mode;
		if (S_ISREG(st.st_mode)) {
			ssize_t n = lower_read(dirfd, de->d_name, b, sizeof(b));
			for (ssize_t i = 0; i < n; i++)
				x = (x ^ b[i]) * 0x100000001b3ull;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (sub >= 0) {
				lower_digest(sub, &x);
				close(sub);
			}
		}
		*hsh += x; /* order-free */
	}
	closedir(d);
}

static void test_raw_view(void)
{
	static uint8_t data[300000];
	struct cs_entry e, d, s;
	uint64_t fh;
	char longname[221];

	/* A tree through the normal ops. */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (i >> 9));
	memcpy(data, MARK, strlen(MARK));
	CU_ASSERT_EQUAL_FATAL(cdh_create(&H, 0, ROOT, "file.bin",
					 S_IFREG | 0640, O_RDWR, &e, &fh),
			      0);
	for (uint32_t off = 0; off < sizeof(data); off += 65536) {
		uint32_t l =
		    sizeof(data) - off < 65536 ? sizeof(data) - off : 65536;
		CU_ASSERT_EQUAL(
		    cdh_write(&H, 0, e.nodeid, fh, off, data + off, l), (int)l);
	}
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	CU_ASSERT_EQUAL(
	    cdh_setxattr(&H, 0, e.nodeid, "user.colour", "blue", 4, 0), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_mkdir(&H, 0, ROOT, "dir", 0755, &d), 0);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CU_ASSERT_EQUAL_FATAL(cdh_create(&H, 0, d.nodeid, longname,
					 S_IFREG | 0600, O_RDWR, &e, &fh),
			      0);
	CU_ASSERT_EQUAL(cdh_write(&H, 0, e.nodeid, fh, 0, MARK, strlen(MARK)),
			(int)strlen(MARK));
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_symlink(&H, 0, d.nodeid, "link", "../file.bin", &s),
			0);
	CU_ASSERT_EQUAL_FATAL(cdh_stop_daemons(&H), 0);

	uint64_t before = 0, after = 0;
	lower_digest(H.lower_fd, &before);

	/* The raw view. */
	setenv("CDH_ENCVIEW", "1", 1);
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	struct cdh_dirent *ents = NULL;
	int n = cdh_readdir(&H, 0, ROOT, false, &ents);
	bool conf = false;
	for (int i = 0; i < n; i++) {
		if (!strcmp(ents[i].name, ".cryptstack.conf"))
			conf = true;
		CU_ASSERT(strcmp(ents[i].name, "file.bin") != 0);
		CU_ASSERT(strcmp(ents[i].name, "dir") != 0);
	}
	free(ents);
	CU_ASSERT(conf);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "file.bin", &e), -ENOENT);
	check_tree(ROOT, H.lower_fd, 0);

	/* A lower xattr as it is, user.* names only. */
	{
		char list[4096], pp[PATH_MAX + 300], val[512], got[512];
		struct cdh_dirent *r = NULL;
		int m = cdh_readdir(&H, 0, ROOT, true, &r);
		int checked = 0;
		for (int i = 0; i < m; i++) {
			int pl = snprintf(pp, sizeof(pp), "%s/%s", H.lower,
					  r[i].name);
			CU_ASSERT_FATAL(pl > 0 && (size_t)pl < sizeof(pp));
			ssize_t l = llistxattr(pp, list, sizeof(list));
			if (l <= 0 || !S_ISREG(r[i].attr.mode))
				continue;
			char vl[4096];
			int gl =
			    cdh_listxattr(&H, 0, r[i].nodeid, vl, sizeof(vl));
			CU_ASSERT_FATAL(gl > 0);
			CU_ASSERT_EQUAL(strncmp(vl, "user.", 5), 0);
			ssize_t wl = lgetxattr(pp, vl, val, sizeof(val));
			CU_ASSERT_FATAL(wl > 0);
			CU_ASSERT_EQUAL(
			    cdh_getxattr(&H, 0, r[i].nodeid, vl, NULL, 0),
			    (int)wl);
			CU_ASSERT_EQUAL(cdh_getxattr(&H, 0, r[i].nodeid, vl,
						     got, sizeof(got)),
					(int)wl);
			CU_ASSERT(memcmp(got, val, (size_t)wl) == 0);
			CU_ASSERT_EQUAL(
			    cdh_getxattr(&H, 0, r[i].nodeid, vl, got, 1),
			    -ERANGE);
			CU_ASSERT_EQUAL(cdh_getxattr(&H, 0, r[i].nodeid,
						     "user.colour", got,
						     sizeof(got)),
					-ENODATA);
			CU_ASSERT_EQUAL(cdh_setxattr(&H, 0, r[i].nodeid,
						     "user.x", "y", 1, 0),
					-EROFS);
			CU_ASSERT_EQUAL(cdh_removexattr(&H, 0, r[i].nodeid, vl),
					-EROFS);
			struct cs_setattr_arg sa = {.valid = 1, .mode = 0600};
			struct cs_attr a;
			CU_ASSERT_EQUAL(
			    cdh_setattr(&H, 0, r[i].nodeid, &sa, &a), -EROFS);
			CU_ASSERT_EQUAL(cdh_truncate(&H, 0, r[i].nodeid, 0, &a),
					-EROFS);
			CU_ASSERT_EQUAL(
			    cdh_link(&H, 0, r[i].nodeid, ROOT, "hard", &e),
			    -EROFS);
			checked++;
		}
		free(r);
		CU_ASSERT_EQUAL(checked, 1);
	}

	/* Every name change is EROFS; bad names are refused. */
	CU_ASSERT_EQUAL(
	    cdh_create(&H, 0, ROOT, "new", S_IFREG | 0600, O_RDWR, &e, &fh),
	    -EROFS);
	CU_ASSERT_EQUAL(cdh_mkdir(&H, 0, ROOT, "newdir", 0755, &e), -EROFS);
	CU_ASSERT_EQUAL(cdh_mknod(&H, 0, ROOT, "fifo", S_IFIFO | 0600, 0, &e),
			-EROFS);
	CU_ASSERT_EQUAL(cdh_symlink(&H, 0, ROOT, "sl", "x", &e), -EROFS);
	CU_ASSERT_EQUAL(cdh_unlink(&H, 0, ROOT, ".cryptstack.conf"), -EROFS);
	CU_ASSERT_EQUAL(cdh_rmdir(&H, 0, ROOT, "x"), -EROFS);
	CU_ASSERT_EQUAL(
	    cdh_rename(&H, 0, ROOT, ".cryptstack.conf", ROOT, "c2", 0), -EROFS);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "..", &e), -EINVAL);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, ".", &e), -EINVAL);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "a/b", &e), -EINVAL);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, ROOT, "nope", &e), -ENOENT);
	CU_ASSERT_EQUAL(cdh_lookup(&H, 0, 999999, "nope", &e), -ESTALE);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, ROOT, 12345, 0, data, 10), -EBADF);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, ROOT, 12345), -EBADF);
	uint64_t dfh;
	CU_ASSERT_EQUAL(cdh_open(&H, 0, ROOT, O_RDONLY, &dfh), -EISDIR);
	CU_ASSERT_EQUAL_FATAL(cdh_opendir(&H, 0, ROOT, &dfh), 0);
	CU_ASSERT_EQUAL(cdh_fsyncdir(&H, 0, ROOT, dfh, false), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, ROOT, dfh, 0, data, 10), -EBADF);
	CU_ASSERT_EQUAL(cdh_releasedir(&H, 0, ROOT, dfh), 0);

	struct cs_statfs sf;
	struct statfs ls;
	CU_ASSERT_EQUAL(cdh_statfs(&H, 0, &sf), 0);
	CU_ASSERT_EQUAL(fstatfs(H.lower_fd, &ls), 0);
	CU_ASSERT_EQUAL(sf.namemax, (uint64_t)ls.f_namelen);

	/* An open handle at hang-up: clean exit, lower untouched. */
	CU_ASSERT_EQUAL(cdh_opendir(&H, 0, ROOT, &dfh), 0);
	CU_ASSERT_EQUAL(cdh_stop_daemons(&H), 0);
	lower_digest(H.lower_fd, &after);
	CU_ASSERT_EQUAL(before, after);

	/* The normal view reads the same tree back. */
	unsetenv("CDH_ENCVIEW");
	CU_ASSERT_EQUAL_FATAL(cdh_restart(&H, 1), 0);
	CU_ASSERT_EQUAL_FATAL(cdh_lookup(&H, 0, ROOT, "file.bin", &e), 0);
	CU_ASSERT_EQUAL(e.attr.size, sizeof(data));
	static uint8_t back[sizeof(data)];
	CU_ASSERT_EQUAL_FATAL(cdh_open(&H, 0, e.nodeid, O_RDONLY, &fh), 0);
	CU_ASSERT_EQUAL(cdh_read(&H, 0, e.nodeid, fh, 0, back, sizeof(back)),
			(int)sizeof(back));
	CU_ASSERT(memcmp(back, data, sizeof(data)) == 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	CU_ASSERT_EQUAL(cdh_lower_grep(&H, MARK, strlen(MARK)), 0);
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
	    {"raw_view", test_raw_view},
	    {NULL, NULL},
	};
	return cs_add_suite("encview", suite_init, suite_clean, tests);
}
