/* SPDX-License-Identifier: MIT */
/*
 * frontend/attrcache.c: which snapshots cryptod's replies may leave for
 * the kernel's next GETATTR, and which must not (an overlapping request
 * about the same node, RENAME/RMDIR, an untracked request, a forgotten
 * node, a bad reply block). The cache's state is global: every test uses
 * node ids of its own.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cunit_main.h"
#include "frontend.h"

struct fe_ctx fe;

#define SLOT 4096u
static uint8_t slot[SLOT];

static struct cs_attr attr(uint32_t mode, uint32_t nlink, uint64_t size)
{
	struct cs_attr a;
	memset(&a, 0, sizeof(a));
	a.mode = mode;
	a.nlink = nlink;
	a.size = size;
	a.mtime = 1000 + (int64_t)size;
	return a;
}

/* Completes request op about ino (stamp s) with res and the reply block
 * blk (len bytes) at offset 0 of the slot. */
static void complete(uint16_t op, uint64_t ino, uint64_t s, int32_t res,
		     const void *blk, uint32_t len)
{
	struct fe_pending p;
	struct cs_cqe c;
	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	p.op = op;
	p.ino = ino;
	p.ac_stamp = s;
	c.res = res;
	c.data_len = len;
	if (len)
		memcpy(slot, blk, len);
	fe_ac_complete(&p, &c, slot);
}

/* A CREATE reply for new node child in parent, parent nlink pn. */
static void create_reply(uint64_t parent, uint64_t s, uint64_t child,
			 uint32_t pn)
{
	uint8_t b[sizeof(struct cs_entry) + sizeof(struct cs_open_reply) +
		  sizeof(struct cs_attr)];
	struct cs_entry e;
	struct cs_attr pa = attr(S_IFDIR | 0755, pn, 4096);
	memset(b, 0, sizeof(b));
	memset(&e, 0, sizeof(e));
	e.nodeid = child;
	e.attr = attr(S_IFREG | 0644, 1, 0);
	memcpy(b, &e, sizeof(e));
	memcpy(b + sizeof(e) + sizeof(struct cs_open_reply), &pa, sizeof(pa));
	complete(CS_OP_CREATE, parent, s, 0, b, sizeof(b));
}

static int hit(uint64_t ino, uint32_t *nlink, int *unlinked)
{
	struct cs_attr a;
	int u = -1;
	int h = fe_ac_get(ino, &a, &u);
	if (h && nlink)
		*nlink = a.nlink;
	if (h && unlinked)
		*unlinked = u;
	return h;
}

static int setup(void)
{
	memset(&fe, 0, sizeof(fe));
	fe.slot_size = SLOT;
	return 0;
}

static void test_parent_after_create(void)
{
	uint32_t n = 0;
	int u = -1;
	CU_ASSERT_FALSE(hit(1001, NULL, NULL));
	uint64_t s = fe_ac_touch(1001, 0);
	CU_ASSERT_NOT_EQUAL(s, 0);
	create_reply(1001, s, 2001, 7);
	CU_ASSERT_TRUE(hit(1001, &n, &u));
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(u, 0);
	/* the new entry too */
	CU_ASSERT_TRUE(hit(2001, &n, NULL));
	CU_ASSERT_EQUAL(n, 1);
	/* anything sent about the directory: gone */
	uint64_t s2 = fe_ac_touch(1001, 0);
	CU_ASSERT_FALSE(hit(1001, NULL, NULL));
	fe_ac_done(1001, s2, 0);
	CU_ASSERT_FALSE(hit(1001, NULL, NULL));
	/* a failed request leaves nothing, and its count is returned */
	s = fe_ac_touch(1001, 0);
	create_reply(1001, s, 2002, 9); /* stands in: res below */
	s = fe_ac_touch(1001, 0);
	complete(CS_OP_CREATE, 1001, s, -EEXIST, NULL, 0);
	CU_ASSERT_FALSE(hit(1001, NULL, NULL));
	s = fe_ac_touch(1001, 0);
	create_reply(1001, s, 2003, 8);
	CU_ASSERT_TRUE(hit(1001, &n, NULL));
	CU_ASSERT_EQUAL(n, 8);

	/* CREATE opens (and may truncate) an existing cached file while an
	 * older request about it is in flight: its snapshot goes and that
	 * request cannot put an older one back */
	struct cs_attr a = attr(S_IFREG | 0644, 1, 50);
	s = fe_ac_touch(2050, 0);
	complete(CS_OP_SETATTR, 2050, s, 0, &a, sizeof(a));
	CU_ASSERT_TRUE(hit(2050, NULL, NULL));
	uint64_t w = fe_ac_touch(2050, 0);
	s = fe_ac_touch(1011, 0);
	create_reply(1011, s, 2050, 3);
	CU_ASSERT_FALSE(hit(2050, NULL, NULL));
	complete(CS_OP_SETATTR, 2050, w, 0, &a, sizeof(a));
	CU_ASSERT_FALSE(hit(2050, NULL, NULL));
}

static void test_overlap(void)
{
	/* two creates in one directory in flight: neither snapshot */
	uint64_t a = fe_ac_touch(1002, 0), b = fe_ac_touch(1002, 0);
	create_reply(1002, a, 2010, 3);
	CU_ASSERT_FALSE(hit(1002, NULL, NULL));
	create_reply(1002, b, 2011, 4); /* a completed after b's submission */
	CU_ASSERT_FALSE(hit(1002, NULL, NULL));
	/* the other order */
	a = fe_ac_touch(1003, 0);
	b = fe_ac_touch(1003, 0);
	create_reply(1003, b, 2012, 3);
	CU_ASSERT_FALSE(hit(1003, NULL, NULL));
	create_reply(1003, a, 2013, 4); /* b was submitted after a */
	CU_ASSERT_FALSE(hit(1003, NULL, NULL));
	/* one completed before the next was submitted: fine */
	a = fe_ac_touch(1003, 0);
	create_reply(1003, a, 2014, 5);
	CU_ASSERT_TRUE(hit(1003, NULL, NULL));
	/* a request about the node, any kind, in flight during ours */
	uint64_t w = fe_ac_touch(1003, 0); /* e.g. READDIR */
	a = fe_ac_touch(1003, 0);
	create_reply(1003, a, 2015, 6);
	CU_ASSERT_FALSE(hit(1003, NULL, NULL));
	fe_ac_done(1003, w, 0);
	CU_ASSERT_FALSE(hit(1003, NULL, NULL));
}

static void unlink_reply(uint64_t parent, uint64_t s, uint64_t victim,
			 uint32_t vnlink, uint32_t vmode)
{
	uint8_t b[sizeof(struct cs_unlinked) + sizeof(struct cs_attr)];
	struct cs_unlinked v;
	struct cs_attr pa = attr(S_IFDIR | 0755, 2, 4096);
	memset(&v, 0, sizeof(v));
	v.nodeid = victim;
	v.attr = attr(vmode, vnlink, 77);
	memcpy(b, &v, sizeof(v));
	memcpy(b + sizeof(v), &pa, sizeof(pa));
	complete(CS_OP_UNLINK, parent, s, 0, b, sizeof(b));
}

static void test_unlinked_victim(void)
{
	uint32_t n = 9;
	int u = 0;
	uint64_t s = fe_ac_touch(1004, 0);
	unlink_reply(1004, s, 3004, 0, S_IFREG | 0600);
	CU_ASSERT_TRUE(hit(3004, &n, &u));
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(u, 1);
	CU_ASSERT_TRUE(hit(1004, NULL, NULL));
	struct cs_attr a = attr(S_IFREG | 0600, 0, 77);
	a.ctime = 4242;
	fe_ac_set_times(3004, &a);
	struct cs_attr got;
	CU_ASSERT_TRUE(fe_ac_get(3004, &got, &u));
	CU_ASSERT_EQUAL(got.ctime, 4242);
	s = fe_ac_touch(3004, 0); /* a write through an open fd */
	CU_ASSERT_FALSE(hit(3004, NULL, NULL));
	fe_ac_done(3004, s, 0);

	/* still linked elsewhere, or not a regular file: not kept */
	s = fe_ac_touch(1004, 0);
	unlink_reply(1004, s, 3005, 1, S_IFREG | 0600);
	CU_ASSERT_FALSE(hit(3005, NULL, NULL));
	s = fe_ac_touch(1004, 0);
	unlink_reply(1004, s, 3006, 0, S_IFLNK | 0777);
	CU_ASSERT_FALSE(hit(3006, NULL, NULL));

	/* a request about the victim in flight during the unlink */
	uint64_t w = fe_ac_touch(3007, 0);
	s = fe_ac_touch(1004, 0);
	unlink_reply(1004, s, 3007, 0, S_IFREG | 0600);
	CU_ASSERT_FALSE(hit(3007, NULL, NULL));
	fe_ac_done(3007, w, 0);
	CU_ASSERT_FALSE(hit(3007, NULL, NULL));
	/* ... or submitted after it, completed before its reply */
	s = fe_ac_touch(1004, 0);
	w = fe_ac_touch(3008, 0);
	fe_ac_done(3008, w, 0);
	unlink_reply(1004, s, 3008, 0, S_IFREG | 0600);
	CU_ASSERT_FALSE(hit(3008, NULL, NULL));
	/* ... or submitted before it, completed after its submission */
	w = fe_ac_touch(3009, 0);
	s = fe_ac_touch(1004, 0);
	fe_ac_done(3009, w, 0);
	unlink_reply(1004, s, 3009, 0, S_IFREG | 0600);
	CU_ASSERT_FALSE(hit(3009, NULL, NULL));

	/* a file cached with two names loses one: its snapshot goes, and
	 * an older request about it, in flight, cannot put it back */
	struct cs_attr a2 = attr(S_IFREG | 0644, 2, 5);
	s = fe_ac_touch(3010, 0);
	complete(CS_OP_SETATTR, 3010, s, 0, &a2, sizeof(a2));
	CU_ASSERT_TRUE(hit(3010, NULL, NULL));
	w = fe_ac_touch(3010, 0); /* e.g. a SETATTR, before the unlink */
	s = fe_ac_touch(1004, 0);
	unlink_reply(1004, s, 3010, 1, S_IFREG | 0644);
	CU_ASSERT_FALSE(hit(3010, NULL, NULL));
	complete(CS_OP_SETATTR, 3010, w, 0, &a2, sizeof(a2));
	CU_ASSERT_FALSE(hit(3010, NULL, NULL));
	/* an UNLINK reply without the victim: every snapshot goes, and
	 * none older than it comes back */
	s = fe_ac_touch(1005, 0);
	create_reply(1005, s, 2005, 3);
	CU_ASSERT_TRUE(hit(1005, NULL, NULL));
	w = fe_ac_touch(4005, 0);
	s = fe_ac_touch(1004, 0);
	complete(CS_OP_UNLINK, 1004, s, 0, NULL, 0);
	CU_ASSERT_FALSE(hit(1005, NULL, NULL));
	CU_ASSERT_FALSE(hit(2005, NULL, NULL));
	complete(CS_OP_SETATTR, 4005, w, 0, &a2, sizeof(a2));
	CU_ASSERT_FALSE(hit(4005, NULL, NULL));
}

static void test_rename_rmdir_all(void)
{
	uint64_t s = fe_ac_touch(1006, 0);
	create_reply(1006, s, 2020, 3);
	CU_ASSERT_TRUE(hit(1006, NULL, NULL));
	CU_ASSERT_TRUE(hit(2020, NULL, NULL));
	/* a RENAME elsewhere may move a cached directory */
	uint64_t r1 = fe_ac_touch(1999, 0), r2 = fe_ac_touch(1999, 1);
	CU_ASSERT_FALSE(hit(1006, NULL, NULL));
	CU_ASSERT_FALSE(hit(2020, NULL, NULL));
	/* nothing is kept while it is in flight */
	s = fe_ac_touch(1006, 0);
	create_reply(1006, s, 2021, 4);
	CU_ASSERT_FALSE(hit(1006, NULL, NULL));
	fe_ac_done(1999, r1, 0);
	fe_ac_done(1999, r2, 1);
	s = fe_ac_touch(1006, 0);
	create_reply(1006, s, 2022, 5);
	CU_ASSERT_TRUE(hit(1006, NULL, NULL));
}

static void test_own_node(void)
{
	uint32_t n = 0;
	struct cs_attr a = attr(S_IFREG | 0644, 1, 5);
	uint64_t s = fe_ac_touch(4001, 0);
	complete(CS_OP_SETATTR, 4001, s, 0, &a, sizeof(a));
	CU_ASSERT_TRUE(hit(4001, &n, NULL));
	s = fe_ac_touch(4001, 0);
	CU_ASSERT_FALSE(hit(4001, NULL, NULL));
	a.nlink = 2;
	complete(CS_OP_RELEASE, 4001, s, 0, &a, sizeof(a));
	CU_ASSERT_TRUE(hit(4001, &n, NULL));
	CU_ASSERT_EQUAL(n, 2);
	/* a reply without the attributes (older cryptod): nothing */
	s = fe_ac_touch(4001, 0);
	complete(CS_OP_RELEASE, 4001, s, 0, NULL, 0);
	CU_ASSERT_FALSE(hit(4001, NULL, NULL));
	/* a WRITE's reply carries none */
	s = fe_ac_touch(4001, 0);
	complete(CS_OP_WRITE, 4001, s, 0, &a, sizeof(a));
	CU_ASSERT_FALSE(hit(4001, NULL, NULL));
	/* one byte short of an attribute block */
	s = fe_ac_touch(4001, 0);
	complete(CS_OP_SETATTR, 4001, s, 0, &a, sizeof(a) - 1);
	CU_ASSERT_FALSE(hit(4001, NULL, NULL));
}

static void test_bad_block(void)
{
	struct fe_pending p;
	struct cs_cqe c;
	struct cs_attr a = attr(S_IFREG, 1, 1);
	uint64_t s = fe_ac_touch(4002, 0);
	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	p.op = CS_OP_SETATTR;
	p.ino = 4002;
	p.ac_stamp = s;
	memcpy(slot, &a, sizeof(a));
	c.data_off = SLOT + 1; /* past the slot */
	c.data_len = sizeof(a);
	fe_ac_complete(&p, &c, slot);
	CU_ASSERT_FALSE(hit(4002, NULL, NULL));
	s = fe_ac_touch(4002, 0);
	p.ac_stamp = s;
	c.data_off = SLOT - 8; /* runs past the slot */
	fe_ac_complete(&p, &c, slot);
	CU_ASSERT_FALSE(hit(4002, NULL, NULL));
	/* the count went back each time: a good one is kept */
	s = fe_ac_touch(4002, 0);
	complete(CS_OP_SETATTR, 4002, s, 0, &a, sizeof(a));
	CU_ASSERT_TRUE(hit(4002, NULL, NULL));
}

/* The cache's slot of ino (attrcache.c's hash), to build collisions. */
static unsigned slot_no(uint64_t ino)
{
	return (unsigned)(((ino * 0x9e3779b97f4a7c15ull) >> 40) & 255u);
}

static uint64_t colliding(uint64_t ino, uint64_t from)
{
	for (uint64_t i = from;; i++)
		if (i != ino && slot_no(i) == slot_no(ino))
			return i;
}

static void test_collisions(void)
{
	/* the slot of a busy node: the other request is untracked, and
	 * nothing is kept while it is in flight */
	uint64_t x = 6001, y = colliding(x, 7000);
	uint64_t sx = fe_ac_touch(x, 0), sy = fe_ac_touch(y, 0);
	uint64_t s = fe_ac_touch(1008, 0);
	create_reply(1008, s, 2030, 3);
	CU_ASSERT_FALSE(hit(1008, NULL, NULL));
	fe_ac_done(y, sy, 0);
	fe_ac_done(x, sx, 0);
	s = fe_ac_touch(1008, 0);
	create_reply(1008, s, 2031, 3);
	CU_ASSERT_TRUE(hit(1008, NULL, NULL));

	/* a forgotten node: its history went to evicted_max, so a victim
	 * snapshot older than it is not taken */
	uint64_t v = 6100, z = colliding(v, 8000);
	s = fe_ac_touch(1009, 0); /* the unlink */
	uint64_t sv = fe_ac_touch(v, 0);
	fe_ac_done(v, sv, 0);
	uint64_t sz = fe_ac_touch(z, 0); /* takes v's idle slot */
	fe_ac_done(z, sz, 0);
	unlink_reply(1009, s, v, 0, S_IFREG | 0600);
	CU_ASSERT_FALSE(hit(v, NULL, NULL));
}

static void test_off(void)
{
	fe.shared_lower = 1;
	CU_ASSERT_EQUAL(fe_ac_touch(1010, 0), 0);
	create_reply(1010, 1, 2040, 3);
	CU_ASSERT_FALSE(hit(1010, NULL, NULL));
	fe.shared_lower = 0;
	fe.read_only = 1;
	CU_ASSERT_EQUAL(fe_ac_touch(1010, 0), 0);
	fe.read_only = 0;
	/* node 0 is nobody */
	CU_ASSERT_EQUAL(fe_ac_touch(0, 0), 0);
	CU_ASSERT_FALSE(hit(0, NULL, NULL));
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
		{ "parent_after_create", test_parent_after_create },
		{ "overlap", test_overlap },
		{ "unlinked_victim", test_unlinked_victim },
		{ "rename_rmdir_all", test_rename_rmdir_all },
		{ "own_node", test_own_node },
		{ "bad_block", test_bad_block },
		{ "collisions", test_collisions },
		{ "off", test_off },
		{ NULL, NULL },
	};
	return cs_add_suite("attrcache", setup, NULL, tests);
}
