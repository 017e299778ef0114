/* SPDX-License-Identifier: MIT */
/*
 * cs_posix DIR [--unpriv]: POSIX behaviour checks, run by
 * tests/integration/posix.sh against a cryptstack mount AND a plain
 * directory with the same expectations. Prints one line per failed check
 * and a summary; exits 0 when everything passed, 1 otherwise.
 *
 * --unpriv: the checks an unprivileged user (run through setpriv) can
 * make: permission denials enforced by default_permissions.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *base;
static int failures, checks;

#define CHECK(cond)                                                          \
	do {                                                                 \
		checks++;                                                    \
		if (!(cond)) {                                               \
			failures++;                                          \
			printf("FAIL %s:%d: %s (errno %d %s)\n", __func__,   \
			       __LINE__, #cond, errno, strerror(errno));     \
		}                                                            \
	} while (0)

static char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Path under the test directory; a few rotating static buffers. */
static char *P(const char *fmt, ...)
{
	static char bufs[8][4096];
	static int i;
	char rel[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	char *b = bufs[i++ % 8];
	snprintf(b, 4096, "%s/%s", base, rel);
	return b;
}

static int put(const char *path, const void *buf, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, buf, len);
	int r = (n == (ssize_t)len) ? 0 : -1;
	if (close(fd) < 0)
		r = -1;
	return r;
}

/* Reads the whole file into a malloc'd buffer; returns its length or -1. */
static ssize_t get(const char *path, char **out)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t cap = 65536, len = 0;
	char *b = malloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			b = realloc(b, cap);
		}
		ssize_t n = read(fd, b + len, cap - len);
		if (n < 0) {
			free(b);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = b;
	return (ssize_t)len;
}

static int content_is(const char *path, const void *want, size_t len)
{
	char *b = NULL;
	ssize_t n = get(path, &b);
	int ok = n == (ssize_t)len && memcmp(b, want, len) == 0;
	free(b);
	return ok;
}

static void fill(uint8_t *b, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

static void t_lifecycle(void)
{
	struct stat st;
	const char *f = P("life");
	CHECK(put(f, "hello", 5, O_EXCL) == 0);
	CHECK(stat(f, &st) == 0 && st.st_size == 5 && S_ISREG(st.st_mode));
	CHECK(content_is(f, "hello", 5));
	CHECK(open(f, O_WRONLY | O_CREAT | O_EXCL, 0644) < 0 &&
	      errno == EEXIST);
	CHECK(put(f, "x", 1, O_TRUNC) == 0);
	CHECK(content_is(f, "x", 1));
	CHECK(put(f, "abc", 3, O_TRUNC) == 0);
	int fd = open(f, O_RDWR | O_TRUNC);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0);
	close(fd);
	CHECK(unlink(f) == 0);
	CHECK(stat(f, &st) < 0 && errno == ENOENT);
	CHECK(unlink(f) < 0 && errno == ENOENT);
	/* empty file */
	CHECK(put(f, "", 0, O_EXCL) == 0);
	CHECK(stat(f, &st) == 0 && st.st_size == 0);
	CHECK(unlink(f) == 0);
	/* open an unlinked file: still readable through the fd */
	CHECK(put(f, "still", 5, O_EXCL) == 0);
	fd = open(f, O_RDONLY);
	CHECK(fd >= 0 && unlink(f) == 0);
	char b[8] = { 0 };
	CHECK(read(fd, b, 8) == 5 && !memcmp(b, "still", 5));
	close(fd);
	/* a name of 255 bytes works, 256 does not */
	char nm[300];
	memset(nm, 'n', 255);
	nm[255] = '\0';
	CHECK(put(P("%s", nm), "1", 1, O_EXCL) == 0);
	CHECK(unlink(P("%s", nm)) == 0);
	nm[255] = 'n';
	nm[256] = '\0';
	CHECK(open(P("%s", nm), O_WRONLY | O_CREAT, 0644) < 0 &&
	      errno == ENAMETOOLONG);
}

static void t_append(void)
{
	const char *f = P("append");
	int a = open(f, O_WRONLY | O_CREAT | O_APPEND | O_EXCL, 0644);
	int b = open(f, O_WRONLY | O_APPEND);
	CHECK(a >= 0 && b >= 0);
	CHECK(write(a, "one,", 4) == 4);
	CHECK(write(b, "two,", 4) == 4);
	CHECK(write(a, "three", 5) == 5);
	close(a);
	close(b);
	CHECK(content_is(f, "one,two,three", 13));
	CHECK(unlink(f) == 0);
}

static void t_dirs(void)
{
	struct stat st;
	CHECK(mkdir(P("d"), 0755) == 0);
	CHECK(mkdir(P("d"), 0755) < 0 && errno == EEXIST);
	CHECK(mkdir(P("d/e"), 0700) == 0);
	CHECK(stat(P("d/e"), &st) == 0 && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 07777) == 0700);
	CHECK(put(P("d/e/f"), "x", 1, 0) == 0);
	CHECK(rmdir(P("d/e")) < 0 && errno == ENOTEMPTY);
	CHECK(unlink(P("d/e")) < 0 && (errno == EISDIR || errno == EPERM));
	CHECK(rmdir(P("d/e/f")) < 0 && errno == ENOTDIR);
	CHECK(unlink(P("d/e/f")) == 0);
	CHECK(rmdir(P("d/e")) == 0);
	CHECK(stat(P("d"), &st) == 0 && st.st_nlink == 2);

	/* many entries: readdir must list each exactly once */
	enum { N = 600 };
	for (int i = 0; i < N; i++)
		if (put(P("d/entry-with-a-longish-name-%04d", i), "", 0, 0))
			CHECK(!"create entry");
	DIR *dp = opendir(P("d"));
	CHECK(dp != NULL);
	static uint8_t seen[N];
	memset(seen, 0, sizeof(seen));
	int n = 0, dots = 0, bad = 0;
	struct dirent *de;
	while (dp && (de = readdir(dp))) {
		int k;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			dots++;
			continue;
		}
		if (sscanf(de->d_name, "entry-with-a-longish-name-%d", &k) ==
			    1 &&
		    k >= 0 && k < N && !seen[k] && de->d_type == DT_REG) {
			seen[k] = 1;
			n++;
		} else {
			bad++;
		}
	}
	if (dp)
		closedir(dp);
	CHECK(n == N && bad == 0);
	CHECK(dots == 2);
	for (int i = 0; i < N; i++)
		unlink(P("d/entry-with-a-longish-name-%04d", i));
	CHECK(rmdir(P("d")) == 0);
}

static void t_perms(int root)
{
	struct stat st;
	const char *f = P("perm");
	CHECK(put(f, "p", 1, O_EXCL) == 0);
	CHECK(chmod(f, 0640) == 0);
	CHECK(stat(f, &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK(chmod(f, 04755) == 0);
	CHECK(stat(f, &st) == 0 && (st.st_mode & 07777) == 04755);
	if (root) {
		CHECK(chown(f, 1234, 5678) == 0);
		CHECK(stat(f, &st) == 0 && st.st_uid == 1234 &&
		      st.st_gid == 5678);
		/* a chown drops setuid */
		CHECK((st.st_mode & 04000) == 0);
		CHECK(lchown(f, 0, 0) == 0);
		/* files created for another user keep the creator's ids */
		CHECK(mkdir(P("pub"), 0777) == 0 && chmod(P("pub"), 0777) == 0);
	}
	CHECK(chmod(f, 0644) == 0);
	CHECK(unlink(f) == 0);
}

/* As an unprivileged user, in base/pub (0777, made by the root run). */
static void t_unpriv(void)
{
	struct stat st;
	CHECK(open(P("rootfile"), O_WRONLY) < 0 && errno == EACCES);
	CHECK(put(P("pub/mine"), "u", 1, O_EXCL) == 0);
	CHECK(stat(P("pub/mine"), &st) == 0 && st.st_uid == geteuid() &&
	      st.st_gid == getegid());
	CHECK(chmod(P("rootfile"), 0666) < 0 && errno == EPERM);
	CHECK(chown(P("pub/mine"), 0, 0) < 0 && errno == EPERM);
	CHECK(chmod(P("pub/mine"), 0600) == 0);
	CHECK(unlink(P("pub/mine")) == 0);
	CHECK(mkdir(P("rootonly/x"), 0755) < 0 && errno == EACCES);
}

static int renameat2_(const char *a, const char *b, unsigned flags)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void t_rename(void)
{
	CHECK(put(P("ra"), "A", 1, O_EXCL) == 0);
	CHECK(put(P("rb"), "BB", 2, O_EXCL) == 0);
	CHECK(rename(P("ra"), P("rc")) == 0);
	CHECK(access(P("ra"), F_OK) < 0 && errno == ENOENT);
	CHECK(content_is(P("rc"), "A", 1));
	/* overwrite */
	CHECK(rename(P("rc"), P("rb")) == 0);
	CHECK(content_is(P("rb"), "A", 1));
	CHECK(put(P("rd"), "DDD", 3, O_EXCL) == 0);
	CHECK(renameat2_(P("rb"), P("rd"), RENAME_NOREPLACE) < 0 &&
	      errno == EEXIST);
	CHECK(renameat2_(P("rb"), P("re"), RENAME_NOREPLACE) == 0);
	CHECK(renameat2_(P("re"), P("rd"), RENAME_EXCHANGE) == 0);
	CHECK(content_is(P("re"), "DDD", 3) && content_is(P("rd"), "A", 1));
	CHECK(renameat2_(P("re"), P("nope"), RENAME_EXCHANGE) < 0 &&
	      errno == ENOENT);
	/* directories, across parents, with contents */
	CHECK(mkdir(P("rx"), 0755) == 0 && mkdir(P("ry"), 0755) == 0);
	CHECK(mkdir(P("rx/sub"), 0755) == 0);
	CHECK(put(P("rx/sub/f"), "deep", 4, 0) == 0);
	CHECK(rename(P("rx/sub"), P("ry/moved")) == 0);
	CHECK(content_is(P("ry/moved/f"), "deep", 4));
	CHECK(rename(P("rd"), P("ry/moved/f")) == 0);
	CHECK(content_is(P("ry/moved/f"), "A", 1));
	CHECK(mkdir(P("rx/full"), 0755) == 0 && put(P("rx/full/z"), "", 0, 0) == 0);
	CHECK(rename(P("ry/moved"), P("rx/full")) < 0 && errno == ENOTEMPTY);
	CHECK(rename(P("re"), P("missing/x")) < 0 && errno == ENOENT);
	/* exchange a file and a directory */
	CHECK(renameat2_(P("re"), P("ry"), RENAME_EXCHANGE) == 0);
	struct stat st;
	CHECK(stat(P("re/moved/f"), &st) == 0 && stat(P("ry"), &st) == 0 &&
	      S_ISREG(st.st_mode));
	CHECK(unlink(P("re/moved/f")) == 0 && rmdir(P("re/moved")) == 0 &&
	      rmdir(P("re")) == 0 && unlink(P("ry")) == 0);
	CHECK(unlink(P("rx/full/z")) == 0 && rmdir(P("rx/full")) == 0 &&
	      rmdir(P("rx")) == 0);
}

static void t_links(void)
{
	struct stat a, b;
	CHECK(put(P("h1"), "link", 4, O_EXCL) == 0);
	CHECK(link(P("h1"), P("h2")) == 0);
	CHECK(link(P("h1"), P("h2")) < 0 && errno == EEXIST);
	CHECK(stat(P("h1"), &a) == 0 && stat(P("h2"), &b) == 0);
	CHECK(a.st_ino == b.st_ino && a.st_nlink == 2 && b.st_nlink == 2);
	CHECK(put(P("h2"), "LINK!", 5, O_TRUNC) == 0);
	CHECK(content_is(P("h1"), "LINK!", 5));
	CHECK(unlink(P("h1")) == 0);
	CHECK(stat(P("h2"), &b) == 0 && b.st_nlink == 1);
	CHECK(content_is(P("h2"), "LINK!", 5));
	CHECK(unlink(P("h2")) == 0);

	char t[4096];
	CHECK(put(P("target"), "via", 3, O_EXCL) == 0);
	CHECK(symlink("target", P("sl")) == 0);
	CHECK(lstat(P("sl"), &a) == 0 && S_ISLNK(a.st_mode) && a.st_size == 6);
	ssize_t n = readlink(P("sl"), t, sizeof(t));
	CHECK(n == 6 && !memcmp(t, "target", 6));
	CHECK(content_is(P("sl"), "via", 3));
	/* long, but within cryptstack's encrypted-target limit (3055 bytes,
	 * FMT_SYMLINK_MAX: the encoded target must fit the lower PATH_MAX) */
	char longt[3001];
	memset(longt, 'L', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = '\0';
	CHECK(symlink(longt, P("sl2")) == 0);
	n = readlink(P("sl2"), t, sizeof(t));
	CHECK(n == (ssize_t)strlen(longt) && !memcmp(t, longt, (size_t)n));
	CHECK(symlink("/etc/passwd", P("sl3")) == 0);
	n = readlink(P("sl3"), t, sizeof(t));
	CHECK(n == 11 && !memcmp(t, "/etc/passwd", 11));
	CHECK(unlink(P("sl")) == 0 && unlink(P("sl2")) == 0 &&
	      unlink(P("sl3")) == 0 && unlink(P("target")) == 0);
}

static void t_truncate(void)
{
	struct stat st;
	uint8_t buf[20000], rd[20000];
	const char *f = P("trunc");
	fill(buf, sizeof(buf), 7);
	CHECK(put(f, buf, 6000, O_EXCL) == 0);
	CHECK(truncate(f, 5) == 0);
	CHECK(stat(f, &st) == 0 && st.st_size == 5);
	CHECK(truncate(f, 10000) == 0);
	int fd = open(f, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, rd, sizeof(rd), 0) == 10000);
	close(fd);
	CHECK(!memcmp(rd, buf, 5));
	int zero = 1;
	for (int i = 5; i < 10000; i++)
		zero &= rd[i] == 0;
	CHECK(zero);
	/* shrink into the middle of an extent, then write past it */
	CHECK(truncate(f, 4097) == 0);
	fd = open(f, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "Z", 1, 12000) == 1);
	close(fd);
	fd = open(f, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, rd, sizeof(rd), 0) == 12001);
	close(fd);
	zero = 1;
	for (int i = 4097; i < 12000; i++)
		zero &= rd[i] == 0;
	CHECK(zero && rd[12000] == 'Z' && !memcmp(rd, buf, 5));
	fd = open(f, O_RDWR);
	CHECK(fd >= 0 && ftruncate(fd, 0) == 0 && fstat(fd, &st) == 0 &&
	      st.st_size == 0);
	close(fd);
	CHECK(unlink(f) == 0);
}

static void t_sparse(void)
{
	struct stat st;
	const char *f = P("sparse");
	int fd = open(f, O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	off_t far = (1 << 20) + 3;
	CHECK(pwrite(fd, "end", 3, far) == 3);
	CHECK(pwrite(fd, "beg", 3, 0) == 3);
	CHECK(fstat(fd, &st) == 0 && st.st_size == far + 3);
	static uint8_t rd[(1 << 20) + 16];
	CHECK(pread(fd, rd, sizeof(rd), 0) == far + 3);
	int zero = 1;
	for (off_t i = 3; i < far; i++)
		zero &= rd[i] == 0;
	CHECK(zero && !memcmp(rd, "beg", 3) && !memcmp(rd + far, "end", 3));
	off_t d = lseek(fd, 0, SEEK_DATA);
	off_t h = lseek(fd, 0, SEEK_HOLE);
	CHECK(d == 0);
	CHECK(h > 0 && h <= far + 3);
	CHECK(lseek(fd, far + 3, SEEK_DATA) < 0 && errno == ENXIO);
	close(fd);
	CHECK(unlink(f) == 0);
}

static void t_fallocate(void)
{
	struct stat st;
	const char *f = P("falloc");
	int fd = open(f, O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	CHECK(fallocate(fd, 0, 0, 65536) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 65536);
	static uint8_t buf[65536], rd[65536];
	CHECK(pread(fd, rd, sizeof(rd), 0) == 65536);
	int zero = 1;
	for (size_t i = 0; i < sizeof(rd); i++)
		zero &= rd[i] == 0;
	CHECK(zero);
	memset(buf, 'x', sizeof(buf));
	CHECK(pwrite(fd, buf, sizeof(buf), 0) == 65536);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096,
			8192) == 0);
	/* an unaligned hole: the partial extents stay partly data */
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 30000,
			100) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 65536);
	CHECK(pread(fd, rd, sizeof(rd), 0) == 65536);
	memset(buf + 4096, 0, 8192);
	memset(buf + 30000, 0, 100);
	CHECK(!memcmp(rd, buf, sizeof(buf)));
	/* KEEP_SIZE beyond the end does not change the size */
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 65536, 65536) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 65536);
	close(fd);
	CHECK(unlink(f) == 0);
}

static void t_xattr(void)
{
	const char *f = P("xa");
	char v[256];
	CHECK(put(f, "x", 1, O_EXCL) == 0);
	CHECK(setxattr(f, "user.test", "value", 5, 0) == 0);
	CHECK(getxattr(f, "user.test", v, sizeof(v)) == 5 &&
	      !memcmp(v, "value", 5));
	CHECK(getxattr(f, "user.test", NULL, 0) == 5);
	CHECK(getxattr(f, "user.test", v, 2) < 0 && errno == ERANGE);
	CHECK(setxattr(f, "user.test", "v", 1, XATTR_CREATE) < 0 &&
	      errno == EEXIST);
	CHECK(setxattr(f, "user.other", "v", 1, XATTR_REPLACE) < 0 &&
	      errno == ENODATA);
	CHECK(setxattr(f, "user.empty", "", 0, 0) == 0);
	CHECK(getxattr(f, "user.empty", v, sizeof(v)) == 0);
	ssize_t n = listxattr(f, v, sizeof(v));
	int has = 0;
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(v + i) + 1)
		has += !strcmp(v + i, "user.test") + !strcmp(v + i, "user.empty");
	CHECK(has == 2);
	CHECK(removexattr(f, "user.test") == 0);
	CHECK(getxattr(f, "user.test", v, sizeof(v)) < 0 && errno == ENODATA);
	CHECK(removexattr(f, "user.test") < 0 && errno == ENODATA);
	struct statfs sf;
	if (statfs(f, &sf) == 0 && sf.f_type == 0x65735546 /* FUSE */) {
		/* On the mount only user.* exists: other namespaces are
		 * unsupported, as the VFS says for a file system without a
		 * handler for them (ls -l then stops asking for SELinux
		 * labels and ACLs on this device). */
		CHECK(getxattr(f, "security.capability", v, sizeof(v)) < 0 &&
		      errno == EOPNOTSUPP);
		CHECK(getxattr(f, "system.posix_acl_access", v, sizeof(v)) <
			  0 &&
		      errno == EOPNOTSUPP);
		CHECK(removexattr(f, "security.selinux") < 0 &&
		      errno == EOPNOTSUPP);
		CHECK(setxattr(f, "trusted.x", "v", 1, 0) < 0 &&
		      errno == EOPNOTSUPP);
	} else {
		CHECK(getxattr(f, "security.capability", v, sizeof(v)) < 0 &&
		      errno == ENODATA);
	}
	static char big[65536];
	memset(big, 'b', sizeof(big));
	/* ext4 keeps all xattrs of an inode in one 4 KiB block: a 4000-byte
	 * value fits in plain ext4 but not once encrypted, so 2000 */
	CHECK(setxattr(f, "user.big", big, 2000, 0) == 0);
	CHECK(getxattr(f, "user.big", big, sizeof(big)) == 2000);
	CHECK(unlink(f) == 0);
}

static void t_sync_mmap(void)
{
	const char *f = P("mm");
	int fd = open(f, O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 3 * 4096 + 100) == 0);
	char *m = mmap(NULL, 3 * 4096 + 100, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		memcpy(m + 4090, "across-pages", 12);
		memcpy(m + 3 * 4096 + 90, "tail", 4);
		CHECK(msync(m, 3 * 4096 + 100, MS_SYNC) == 0);
		CHECK(munmap(m, 3 * 4096 + 100) == 0);
	}
	CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
	close(fd);
	char b[16];
	fd = open(f, O_RDONLY);
	CHECK(pread(fd, b, 12, 4090) == 12 && !memcmp(b, "across-pages", 12));
	CHECK(pread(fd, b, 4, 3 * 4096 + 90) == 4 && !memcmp(b, "tail", 4));
	close(fd);
	/* read through a mapping what write(2) stored */
	CHECK(put(f, "mapped-read", 11, O_TRUNC) == 0);
	fd = open(f, O_RDONLY);
	m = mmap(NULL, 11, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED && !memcmp(m, "mapped-read", 11));
	if (m != MAP_FAILED)
		munmap(m, 11);
	close(fd);
	int dfd = open(base, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0 && fsync(dfd) == 0);
	close(dfd);
	CHECK(unlink(f) == 0);
}

static void t_big(void)
{
	size_t len = 3 * 1024 * 1024 + 12345;
	uint8_t *buf = malloc(len);
	fill(buf, len, 99);
	CHECK(put(P("big"), buf, len, O_EXCL) == 0);
	CHECK(content_is(P("big"), buf, len));
	/* unaligned overwrite across a 1 MiB boundary */
	int fd = open(P("big"), O_RDWR);
	uint8_t patch[10000];
	fill(patch, sizeof(patch), 5);
	CHECK(pwrite(fd, patch, sizeof(patch), (1 << 20) - 4321) ==
	      (ssize_t)sizeof(patch));
	close(fd);
	memcpy(buf + (1 << 20) - 4321, patch, sizeof(patch));
	CHECK(content_is(P("big"), buf, len));
	CHECK(unlink(P("big")) == 0);
	free(buf);
}

struct cw {
	int fd;
	int id;
	int ok;
};

#define CW_REGION 100000 /* not a multiple of 4096: threads share extents */
#define CW_THREADS 4

static void *cw_thread(void *arg)
{
	struct cw *c = arg;
	uint8_t buf[CW_REGION];
	fill(buf, sizeof(buf), (uint32_t)c->id + 1);
	c->ok = 1;
	for (size_t off = 0; off < CW_REGION;) {
		size_t n = 3000 + (size_t)c->id * 517;
		if (n > CW_REGION - off)
			n = CW_REGION - off;
		if (pwrite(c->fd, buf + off, n,
			   (off_t)c->id * CW_REGION + (off_t)off) != (ssize_t)n)
			c->ok = 0;
		off += n;
	}
	return NULL;
}

static void t_concurrent(void)
{
	pthread_t th[CW_THREADS];
	struct cw c[CW_THREADS];
	int fd = open(P("cw"), O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	for (int i = 0; i < CW_THREADS; i++) {
		/* half the writers share one fd, half open their own */
		c[i].fd = (i % 2) ? open(P("cw"), O_WRONLY) : fd;
		c[i].id = i;
		pthread_create(&th[i], NULL, cw_thread, &c[i]);
	}
	for (int i = 0; i < CW_THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(c[i].ok);
		if (i % 2)
			close(c[i].fd);
	}
	close(fd);
	uint8_t *want = malloc(CW_REGION * CW_THREADS);
	for (int i = 0; i < CW_THREADS; i++)
		fill(want + i * CW_REGION, CW_REGION, (uint32_t)i + 1);
	CHECK(content_is(P("cw"), want, CW_REGION * CW_THREADS));
	free(want);
	CHECK(unlink(P("cw")) == 0);
}

static void t_misc(void)
{
	struct stat st;
	struct timespec ts[2] = { { 1000000000, 123456789 },
				  { 1200000000, 987654321 } };
	CHECK(put(P("times"), "t", 1, O_EXCL) == 0);
	CHECK(utimensat(AT_FDCWD, P("times"), ts, 0) == 0);
	CHECK(stat(P("times"), &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
	      st.st_mtim.tv_sec == 1200000000 &&
	      st.st_mtim.tv_nsec == 987654321);
	CHECK(unlink(P("times")) == 0);
	CHECK(mkfifo(P("fifo"), 0600) == 0);
	CHECK(lstat(P("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(unlink(P("fifo")) == 0);
	struct statvfs sv;
	CHECK(statvfs(base, &sv) == 0 && sv.f_namemax >= 143 &&
	      sv.f_bsize > 0);
	/* write then read in one open file (writeback cache coherency) */
	int fd = open(P("rw"), O_RDWR | O_CREAT | O_EXCL, 0644);
	char b[8];
	CHECK(fd >= 0 && write(fd, "abcdef", 6) == 6 &&
	      pread(fd, b, 6, 0) == 6 && !memcmp(b, "abcdef", 6));
	CHECK(fstat(fd, &st) == 0 && st.st_size == 6);
	close(fd);
	CHECK(unlink(P("rw")) == 0);
	/* O_WRONLY file still works with the writeback cache */
	fd = open(P("wo"), O_WRONLY | O_CREAT | O_EXCL, 0200);
	CHECK(fd >= 0 && pwrite(fd, "w", 1, 5000) == 1);
	close(fd);
	CHECK(chmod(P("wo"), 0600) == 0 && stat(P("wo"), &st) == 0 &&
	      st.st_size == 5001);
	CHECK(unlink(P("wo")) == 0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: cs_posix DIR [--unpriv]\n");
		return 2;
	}
	base = argv[1];
	if (argc > 2 && !strcmp(argv[2], "--unpriv")) {
		t_unpriv();
	} else {
		int root = geteuid() == 0;
		t_lifecycle();
		t_append();
		t_dirs();
		t_perms(root);
		t_rename();
		t_links();
		t_truncate();
		t_sparse();
		t_fallocate();
		t_xattr();
		t_sync_mmap();
		t_big();
		t_concurrent();
		t_misc();
		if (root) {
			/* fixtures for the --unpriv run */
			CHECK(put(P("rootfile"), "r", 1, 0) == 0 &&
			      chmod(P("rootfile"), 0644) == 0);
			CHECK(mkdir(P("rootonly"), 0755) == 0);
		}
	}
	printf("%s: %d checks, %d failed\n", base, checks, failures);
	return failures ? 1 : 0;
}
