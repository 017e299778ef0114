/* SPDX-License-Identifier: MIT */
/*
 * cryptod's parsing of argument blocks with a fixed head and variable
 * pieces (CREATE/MKNOD/MKDIR, SYMLINK, RENAME, LINK, SETXATTR) through the
 * real keyd and cryptod: the pieces must fill the block exactly. Boundary
 * values: a block shorter than its head (0, head - 1), pieces one byte
 * short and one byte long, a first piece one byte past the block or of
 * UINT32_MAX bytes, an empty name or target, a bad rename flag; each
 * malformed block is EINVAL and changes nothing, and the exact block
 * works.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cryptod_harness.h"
#include "cunit_main.h"

#define ROOT 1

static struct cdh H;
static bool started;

static int suite_init(void)
{
	int r = cdh_start(&H, 1, NULL);
	if (r < 0)
		fprintf(stderr, "harness: %s\n", strerror(-r));
	started = r == 0;
	return started ? 0 : -1;
}

static int suite_clean(void)
{
	if (started)
		cdh_stop(&H);
	started = false;
	return 0;
}

/* Sends op on ino with the first len bytes of blk; the result. */
static int send(uint16_t op, uint64_t ino, const void *blk, uint32_t len)
{
	struct cs_sqe s = {.op = op, .ino = ino};
	struct cs_cqe c;
	return cdh_call(&H, 0, &s, blk, len, &c, NULL);
}

/* Builds head (hlen bytes) + a + b into blk; the block's length. */
static uint32_t build(uint8_t *blk, const void *head, uint32_t hlen,
		      const char *a, const char *b)
{
	size_t al = strlen(a), bl = b ? strlen(b) : 0;
	memcpy(blk, head, hlen);
	memcpy(blk + hlen, a, al);
	if (b)
		memcpy(blk + hlen + al, b, bl);
	return hlen + (uint32_t)(al + bl);
}

static bool exists(const char *name)
{
	struct cs_entry e;
	return cdh_lookup(&H, 0, ROOT, name, &e) == 0;
}

/* Sends blk (n bytes, a head of hlen bytes whose first piece's length is
 * at offset off_a) malformed: cut short of the head (0, head - 1 bytes),
 * one byte short, one byte long, the first piece running one byte past
 * the block, a first piece of UINT32_MAX: each must be EINVAL. blk is
 * left as it was. */
static void malformed(uint16_t op, uint64_t ino, uint8_t *blk, uint32_t hlen,
		      uint32_t n, size_t off_a)
{
	uint32_t a, bad[] = {n - hlen + 1, UINT32_MAX};
	memcpy(&a, blk + off_a, sizeof(a));
	CU_ASSERT_EQUAL(send(op, ino, blk, 0), -EINVAL);
	CU_ASSERT_EQUAL(send(op, ino, blk, hlen - 1), -EINVAL);
	CU_ASSERT_EQUAL(send(op, ino, blk, n - 1), -EINVAL);
	blk[n] = 0;
	CU_ASSERT_EQUAL(send(op, ino, blk, n + 1), -EINVAL);
	for (size_t k = 0; k < 2; k++) {
		memcpy(blk + off_a, &bad[k], sizeof(bad[k]));
		CU_ASSERT_EQUAL(send(op, ino, blk, n), -EINVAL);
	}
	memcpy(blk + off_a, &a, sizeof(a));
}

static void test_mkdir(void)
{
	uint8_t blk[256];
	struct cs_create_arg ca = {.mode = S_IFDIR | 0755, .namelen = 0};
	uint32_t n = build(blk, &ca, sizeof(ca), "", NULL);
	CU_ASSERT_EQUAL(send(CS_OP_MKDIR, ROOT, blk, n), -EINVAL); /* no name */
	ca.namelen = 2;
	n = build(blk, &ca, sizeof(ca), "d1", NULL);
	malformed(CS_OP_MKDIR, ROOT, blk, sizeof(ca), n,
		  offsetof(struct cs_create_arg, namelen));
	CU_ASSERT(!exists("d1"));
	CU_ASSERT_EQUAL(send(CS_OP_MKDIR, ROOT, blk, n), 0);
	CU_ASSERT(exists("d1"));
}

static void test_symlink(void)
{
	uint8_t blk[256];
	struct cs_symlink_arg sa = {.namelen = 2, .targetlen = 0};
	uint32_t n = build(blk, &sa, sizeof(sa), "s1", NULL);
	CU_ASSERT_EQUAL(send(CS_OP_SYMLINK, ROOT, blk, n), -EINVAL); /* "" */
	sa.targetlen = 3;
	n = build(blk, &sa, sizeof(sa), "s1", "tgt");
	malformed(CS_OP_SYMLINK, ROOT, blk, sizeof(sa), n,
		  offsetof(struct cs_symlink_arg, namelen));
	CU_ASSERT(!exists("s1"));
	CU_ASSERT_EQUAL(send(CS_OP_SYMLINK, ROOT, blk, n), 0);
	CU_ASSERT(exists("s1"));
}

static void test_rename(void)
{
	uint8_t blk[256];
	struct cs_entry e;
	CU_ASSERT_EQUAL_FATAL(cdh_mkdir(&H, 0, ROOT, "r1", 0755, &e), 0);
	/* a flag that is neither NOREPLACE nor EXCHANGE */
	struct cs_rename_arg ra = {
	    .newparent = ROOT, .flags = 1u << 2, .namelen = 2, .newnamelen = 2};
	uint32_t n = build(blk, &ra, sizeof(ra), "r1", "r2");
	CU_ASSERT_EQUAL(send(CS_OP_RENAME, ROOT, blk, n), -EINVAL);
	ra.flags = 0;
	n = build(blk, &ra, sizeof(ra), "r1", "r2");
	malformed(CS_OP_RENAME, ROOT, blk, sizeof(ra), n,
		  offsetof(struct cs_rename_arg, namelen));
	CU_ASSERT(exists("r1") && !exists("r2"));
	CU_ASSERT_EQUAL(send(CS_OP_RENAME, ROOT, blk, n), 0);
	CU_ASSERT(!exists("r1") && exists("r2"));
}

static void test_link(void)
{
	uint8_t blk[256];
	struct cs_entry e;
	uint64_t fh;
	CU_ASSERT_EQUAL_FATAL(
	    cdh_create(&H, 0, ROOT, "f1", 0644, O_RDWR, &e, &fh), 0);
	CU_ASSERT_EQUAL(cdh_release(&H, 0, e.nodeid, fh), 0);
	struct cs_link_arg la = {.newparent = ROOT, .namelen = 2};
	uint32_t n = build(blk, &la, sizeof(la), "l1", NULL);
	malformed(CS_OP_LINK, e.nodeid, blk, sizeof(la), n,
		  offsetof(struct cs_link_arg, namelen));
	CU_ASSERT(!exists("l1"));
	CU_ASSERT_EQUAL(send(CS_OP_LINK, e.nodeid, blk, n), 0);
	CU_ASSERT(exists("l1"));
}

static void test_setxattr(void)
{
	uint8_t blk[256];
	char val[16];
	struct cs_xattr_arg xa = {.namelen = 6, .valuelen = 3};
	uint32_t n = build(blk, &xa, sizeof(xa), "user.a", "abc");
	malformed(CS_OP_SETXATTR, ROOT, blk, sizeof(xa), n,
		  offsetof(struct cs_xattr_arg, namelen));
	CU_ASSERT_EQUAL(cdh_getxattr(&H, 0, ROOT, "user.a", val, sizeof(val)),
			-ENODATA);
	CU_ASSERT_EQUAL(send(CS_OP_SETXATTR, ROOT, blk, n), 0);
	CU_ASSERT_EQUAL(cdh_getxattr(&H, 0, ROOT, "user.a", val, sizeof(val)),
			3);
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
	    {"mkdir", test_mkdir},	 {"symlink", test_symlink},
	    {"rename", test_rename},	 {"link", test_link},
	    {"setxattr", test_setxattr}, {NULL, NULL},
	};
	return cs_add_suite("cryptod_args", suite_init, suite_clean, tests);
}
