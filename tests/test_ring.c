/* SPDX-License-Identifier: MIT */
/*
 * proto/ring: single-process ring semantics, validation of hostile
 * descriptors and headers, cross-process streams, peer death, and the
 * io_uring FUTEX_WAIT doorbell.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "cunit_main.h"
#include "ring.h"
#include "ring_layout.h"
#include "ring_uring.h"
#include "util.h"

/* A region made with these parameters (the test stops if it cannot be). */
static struct ring_region *mk(uint32_t nrings, uint32_t entries,
			      uint32_t nslots, uint32_t start)
{
	struct ring_params p = {
	    .nrings = nrings,
	    .entries = entries,
	    .nslots = nslots,
	    .slot_size = 8192,
	    .start_index = start,
	};
	struct ring_region *r = NULL;
	CU_ASSERT_EQUAL_FATAL(ring_region_create(&r, &p), 0);
	return r;
}

static struct cs_sqe good_sqe(uint64_t id, uint32_t slot)
{
	struct cs_sqe s = {
	    .id = id,
	    .ino = 1,
	    .op = CS_OP_GETATTR,
	    .slot = slot,
	};
	return s;
}

static struct cs_cqe good_cqe(uint64_t id, uint32_t slot)
{
	struct cs_cqe c = {.id = id, .slot = slot};
	return c;
}

/* A second, independent mapping of the region: what a hostile peer
 * could write (the test stops if it cannot be made). Caller munmaps len
 * bytes. */
static uint8_t *peer_map(struct ring_region *r, size_t *len)
{
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(fstat(ring_region_fd(r), &st), 0);
	*len = (size_t)st.st_size;
	void *m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       ring_region_fd(r), 0);
	CU_ASSERT_FATAL(m != MAP_FAILED);
	return m;
}

static struct ring_pair_ctl *pair_ctl(uint8_t *base, uint32_t entries,
				      unsigned ring)
{
	return (struct ring_pair_ctl *)(base + RING_HDR_SIZE +
					ring_pair_size(entries) * ring);
}

/* --- single process ------------------------------------------------- */

static void test_params(void)
{
	struct ring_region *r = NULL;
	static const struct ring_params bad[] = {
	    {0, 8, 1, 4096, 0}, {65, 8, 1, 4096, 0},
	    {1, 0, 1, 4096, 0}, {1, 1, 1, 4096, 0},
	    {1, 3, 1, 4096, 0}, {1, 131072, 1, 4096, 0},
	    {1, 8, 0, 4096, 0}, {1, 8, 65537, 4096, 0},
	    {1, 8, 1, 0, 0},	{1, 8, 1, 4095, 0},
	    {1, 8, 1, 4097, 0}, {1, 8, 1, (64u << 20) + 4096, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CU_ASSERT_EQUAL(ring_region_create(&r, &bad[i]), -EINVAL);
		CU_ASSERT_PTR_NULL(r);
	}
	/* Boundaries that are valid. */
	static const struct ring_params ok[] = {
	    {1, 2, 1, 4096, 0},
	    {64, 65536, 4, 4096, 0},
	    {2, 64, 16, CS_SLOT_SIZE_DEFAULT, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		CU_ASSERT_EQUAL_FATAL(ring_region_create(&r, &ok[i]), 0);
		const struct ring_params *p = ring_region_params(r);
		CU_ASSERT_EQUAL(p->nrings, ok[i].nrings);
		CU_ASSERT_EQUAL(p->entries, ok[i].entries);
		int fd = ring_region_fd(r);
		int seals = fcntl(fd, F_GET_SEALS);
		CU_ASSERT_EQUAL(seals &
				    (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
				F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		CU_ASSERT(ftruncate(fd, 0) < 0);
		for (uint32_t s = 0; s < p->nslots; s++) {
			uint8_t *slot = ring_slot(r, s);
			CU_ASSERT_EQUAL((uintptr_t)slot % 4096, 0);
			/* Every byte of a slot is mapped. */
			slot[0] = 1;
			slot[p->slot_size - 1] = 2;
		}
		CU_ASSERT_PTR_NULL(ring_slot(r, p->nslots));
		ring_region_destroy(r);
	}
	ring_region_destroy(NULL);
}

static void test_empty(void)
{
	struct ring_region *r = mk(2, 8, 4, 0);
	struct cs_sqe s[4];
	struct cs_cqe c[4];
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, s, 4), 0);
	CU_ASSERT_EQUAL(ring_cq_pop(r, 1, c, 4), 0);
	CU_ASSERT_EQUAL(ring_sq_wait(r, 0, 0), -ETIMEDOUT);
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 10), -ETIMEDOUT);
	/* Out-of-range ring numbers are caller errors, never accesses. */
	CU_ASSERT_EQUAL(ring_sq_pop(r, 2, s, 4), -EINVAL);
	CU_ASSERT_EQUAL(ring_cq_pop(r, 2, c, 4), -EINVAL);
	CU_ASSERT_EQUAL(ring_sq_push(r, 2, s, 1), 0);
	CU_ASSERT_EQUAL(ring_cq_wait(r, 2, 0), -EINVAL);
	CU_ASSERT_EQUAL(ring_error(r, 2), -EINVAL);
	ring_sq_kick(r, 2);
	CU_ASSERT_EQUAL(ring_error(r, 0), 0);
	ring_region_destroy(r);
}

static void test_full(void)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	struct cs_sqe in[10], out[10];
	for (unsigned i = 0; i < 10; i++)
		in[i] = good_sqe(i, i % 4);
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, in, 10), 8);
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, in + 8, 2), 0);
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, in, 0), 0);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 10), 8);
	for (unsigned i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(out[i].id, i); /* nothing overwritten */
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 10), 0);
	/* Room again after the consumer released. */
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, in + 8, 2), 2);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 1), 1);
	CU_ASSERT_EQUAL(out[0].id, 8);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 1), 1);
	CU_ASSERT_EQUAL(out[0].id, 9);

	struct cs_cqe ci[9], co[9];
	for (unsigned i = 0; i < 9; i++)
		ci[i] = good_cqe(100 + i, 0);
	CU_ASSERT_EQUAL(ring_cq_push(r, 0, ci, 9), 8);
	CU_ASSERT_EQUAL(ring_cq_push(r, 0, ci + 8, 1), 0);
	CU_ASSERT_EQUAL(ring_cq_pop(r, 0, co, 9), 8);
	for (unsigned i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(co[i].id, 100 + i);
	ring_region_destroy(r);
}

/* Free-running indices crossing UINT32_MAX, for several start points. */
static void test_wrap(void)
{
	static const uint32_t starts[] = {UINT32_MAX - 5, UINT32_MAX,
					  UINT32_MAX - 3};
	for (size_t k = 0; k < ARRAY_SIZE(starts); k++) {
		struct ring_region *r = mk(1, 4, 2, starts[k]);
		size_t len = 0;
		uint8_t *m = peer_map(r, &len);
		struct ring_pair_ctl *ctl = pair_ctl(m, 4, 0);
		CU_ASSERT_EQUAL(ctl->sq.tail, starts[k]);
		uint64_t next_in = 0, next_out = 0, cnext_out = 0;
		for (int round = 0; round < 200; round++) {
			struct cs_sqe in[3], out[4];
			unsigned want = 1 + round % 3;
			for (unsigned i = 0; i < want; i++)
				in[i] = good_sqe(next_in + i, 1);
			unsigned n = ring_sq_push(r, 0, in, want);
			next_in += n;
			int got = ring_sq_pop(r, 0, out, 1 + round % 4);
			CU_ASSERT_FATAL(got >= 0);
			for (int i = 0; i < got; i++) {
				CU_ASSERT_EQUAL(out[i].id, next_out);
				struct cs_cqe c = good_cqe(next_out, 1);
				CU_ASSERT_EQUAL(ring_cq_push(r, 0, &c, 1), 1);
				next_out++;
			}
			struct cs_cqe co[4];
			int cg = ring_cq_pop(r, 0, co, 4);
			CU_ASSERT_FATAL(cg >= 0);
			for (int i = 0; i < cg; i++)
				CU_ASSERT_EQUAL(co[i].id, cnext_out++);
		}
		CU_ASSERT(next_in > 100);
		CU_ASSERT(next_out + 4 >= next_in);
		/* The shared indices really wrapped past zero. */
		CU_ASSERT(ctl->sq.tail < 1000);
		CU_ASSERT_EQUAL(ctl->sq.tail, (uint32_t)(starts[k] + next_in));
		CU_ASSERT_EQUAL(ring_error(r, 0), 0);
		munmap(m, len);
		ring_region_destroy(r);
	}
}

static void test_batch(void)
{
	struct ring_region *r = mk(1, 16, 4, 0);
	struct cs_sqe in[16], out[16];
	for (unsigned i = 0; i < 16; i++)
		in[i] = good_sqe(i, i % 4);
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, in, 16), 16);
	unsigned total = 0;
	int sizes[4];
	for (int k = 0; k < 4; k++) {
		sizes[k] = ring_sq_pop(r, 0, out + total, 5);
		CU_ASSERT_FATAL(sizes[k] >= 0);
		total += (unsigned)sizes[k];
	}
	CU_ASSERT_EQUAL(sizes[0], 5);
	CU_ASSERT_EQUAL(sizes[1], 5);
	CU_ASSERT_EQUAL(sizes[2], 5);
	CU_ASSERT_EQUAL(sizes[3], 1);
	CU_ASSERT_EQUAL(memcmp(in, out, sizeof(in)), 0);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 0), 0);
	ring_region_destroy(r);
}

/* Two mappings in one process: creator pushes, attacher pops. */
static void test_attach(void)
{
	struct ring_region *a = mk(3, 8, 4, 7), *b = NULL;
	CU_ASSERT_EQUAL_FATAL(ring_region_attach(&b, ring_region_fd(a)), 0);
	const struct ring_params *pb = ring_region_params(b);
	CU_ASSERT_EQUAL(pb->nrings, 3);
	CU_ASSERT_EQUAL(pb->entries, 8);
	CU_ASSERT_EQUAL(pb->nslots, 4);
	CU_ASSERT_EQUAL(pb->slot_size, 8192);
	struct cs_sqe s = good_sqe(42, 3), o;
	CU_ASSERT_EQUAL(ring_sq_push(a, 2, &s, 1), 1);
	CU_ASSERT_EQUAL(ring_sq_pop(b, 2, &o, 1), 1);
	CU_ASSERT_EQUAL(o.id, 42);
	memcpy(ring_slot(a, 3), "hello", 5);
	CU_ASSERT_EQUAL(memcmp(ring_slot(b, 3), "hello", 5), 0);
	struct cs_cqe c = good_cqe(42, 3), co;
	c.data_off = 8192 - 5;
	c.data_len = 5;
	CU_ASSERT_EQUAL(ring_cq_push(b, 2, &c, 1), 1);
	CU_ASSERT_EQUAL(ring_cq_pop(a, 2, &co, 1), 1);
	CU_ASSERT_EQUAL(co.data_off, 8192 - 5);
	ring_region_destroy(b);
	ring_region_destroy(a);
}

static void test_pick(void)
{
	struct ring_region *r = mk(4, 8, 1, 0);
	for (unsigned t = 0; t < 10; t++)
		CU_ASSERT_EQUAL(ring_pick(r, 123, 0, t), t % 4);
	/* Same file, same MiB: same ring; over many MiB: every ring used. */
	CU_ASSERT_EQUAL(ring_pick(r, 5, 0, RING_PICK_ANY),
			ring_pick(r, 5, 4096, RING_PICK_ANY));
	unsigned seen = 0;
	for (uint64_t mib = 0; mib < 64; mib++) {
		unsigned k = ring_pick(r, 5, mib << 20, RING_PICK_ANY);
		CU_ASSERT(k < 4);
		seen |= 1u << k;
	}
	CU_ASSERT_EQUAL(seen, 0xf);
	ring_region_destroy(r);
}

/* --- hostile descriptors -------------------------------------------- */

static const struct ring_params vp = {1, 8, 4, 8192, 0};

static void test_sqe_check(void)
{
	struct cs_sqe s;
	/* Accepted boundaries. */
	s = good_sqe(1, 3);
	CU_ASSERT_EQUAL(ring_sqe_check(&vp, &s), 0);
	s.arg_off = 8192; /* empty block at the very end */
	CU_ASSERT_EQUAL(ring_sqe_check(&vp, &s), 0);
	s.arg_off = 0;
	s.arg_len = 8192;
	CU_ASSERT_EQUAL(ring_sqe_check(&vp, &s), 0);
	s.op = CS_OP__MAX - 1;
	s.len = CS_MAX_IO;
	s.flags = CS_F_FH | CS_F_DATASYNC;
	CU_ASSERT_EQUAL(ring_sqe_check(&vp, &s), 0);
	s = good_sqe(1, CS_NO_SLOT);
	s.op = CS_OP_FORGET;
	s.off = UINT64_MAX;
	CU_ASSERT_EQUAL(ring_sqe_check(&vp, &s), 0);
	s = good_sqe(1, 0);
	s.op = CS_OP_WRITE;
	s.len = s.arg_len = 4096;
	s.arg_off = 4096;
	CU_ASSERT_EQUAL(ring_sqe_check(&vp, &s), 0);
	s.len = s.arg_len = 0;
	CU_ASSERT_EQUAL(ring_sqe_check(&vp, &s), 0);

	/* Rejected. */
	struct cs_sqe bad[16];
	unsigned nb = 0;
	bad[nb] = good_sqe(1, 0), bad[nb++].op = CS_OP_INVALID;
	bad[nb] = good_sqe(1, 0), bad[nb++].op = CS_OP__MAX;
	bad[nb] = good_sqe(1, 0), bad[nb++].op = UINT16_MAX;
	bad[nb] = good_sqe(1, 4); /* slot == nslots */
	nb++;
	bad[nb] = good_sqe(1, CS_NO_SLOT); /* no slot, not FORGET */
	nb++;
	bad[nb] = good_sqe(1, 0), bad[nb].op = CS_OP_FORGET; /* FORGET slot */
	nb++;
	bad[nb] = good_sqe(1, CS_NO_SLOT), bad[nb].op = CS_OP_FORGET,
	bad[nb++].arg_len = 1;
	bad[nb] = good_sqe(1, 0), bad[nb++].arg_off = 8193;
	bad[nb] = good_sqe(1, 0), bad[nb].arg_off = 4096,
	bad[nb++].arg_len = 4097;
	bad[nb] = good_sqe(1, 0), bad[nb].arg_off = UINT32_MAX,
	bad[nb++].arg_len = 2; /* wraps if added */
	bad[nb] = good_sqe(1, 0), bad[nb].arg_off = 1,
	bad[nb++].arg_len = UINT32_MAX;
	bad[nb] = good_sqe(1, 0), bad[nb++].len = CS_MAX_IO + 1;
	bad[nb] = good_sqe(1, 0), bad[nb].op = CS_OP_WRITE, bad[nb].len = 100,
	bad[nb++].arg_len = 99;
	bad[nb] = good_sqe(1, 0), bad[nb++].flags = CS_F_ALL + 1;
	for (unsigned i = 0; i < nb; i++) {
		CU_ASSERT_EQUAL(ring_sqe_check(&vp, &bad[i]), -EPROTO);
		/* Through a real ring: -EPROTO, sticky. */
		struct ring_region *r = mk(1, 8, 4, 0);
		struct cs_sqe g = good_sqe(7, 1), out[4];
		CU_ASSERT_EQUAL(ring_sq_push(r, 0, &g, 1), 1);
		CU_ASSERT_EQUAL(ring_sq_push(r, 0, &bad[i], 1), 1);
		CU_ASSERT_EQUAL(ring_sq_push(r, 0, &g, 1), 1);
		CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 4), 1);
		CU_ASSERT_EQUAL(out[0].id, 7);
		CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 4), -EPROTO);
		CU_ASSERT_EQUAL(ring_sq_pop(r, 0, out, 4), -EPROTO);
		CU_ASSERT_EQUAL(ring_error(r, 0), -EPROTO);
		CU_ASSERT_EQUAL(ring_sq_wait(r, 0, 0), -EPROTO);
		CU_ASSERT_EQUAL(ring_sq_spin(r, 0), -EPROTO);
		CU_ASSERT_EQUAL(ring_sq_poll(r, 0, 1000), -EPROTO);
		ring_region_destroy(r);
	}
}

static void test_cqe_check(void)
{
	struct cs_cqe c = good_cqe(1, 3);
	CU_ASSERT_EQUAL(ring_cqe_check(&vp, &c), 0);
	c.data_off = 8192;
	CU_ASSERT_EQUAL(ring_cqe_check(&vp, &c), 0);
	c.data_off = 0;
	c.data_len = 8192;
	c.res = -4095;
	CU_ASSERT_EQUAL(ring_cqe_check(&vp, &c), 0);
	c.res = INT32_MAX;
	CU_ASSERT_EQUAL(ring_cqe_check(&vp, &c), 0);

	struct cs_cqe bad[8];
	unsigned nb = 0;
	bad[nb++] = good_cqe(1, 4);
	bad[nb++] = good_cqe(1, CS_NO_SLOT);
	bad[nb] = good_cqe(1, 0), bad[nb++].data_off = 8193;
	bad[nb] = good_cqe(1, 0), bad[nb].data_off = 1,
	bad[nb++].data_len = 8192;
	bad[nb] = good_cqe(1, 0), bad[nb].data_off = UINT32_MAX,
	bad[nb++].data_len = 2;
	bad[nb] = good_cqe(1, 0), bad[nb++].res = -4096;
	bad[nb] = good_cqe(1, 0), bad[nb++].res = INT32_MIN;
	for (unsigned i = 0; i < nb; i++) {
		CU_ASSERT_EQUAL(ring_cqe_check(&vp, &bad[i]), -EPROTO);
		struct ring_region *r = mk(1, 8, 4, 0);
		struct cs_cqe out[2];
		CU_ASSERT_EQUAL(ring_cq_push(r, 0, &bad[i], 1), 1);
		CU_ASSERT_EQUAL(ring_cq_pop(r, 0, out, 2), -EPROTO);
		CU_ASSERT_EQUAL(ring_error(r, 0), -EPROTO);
		CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 0), -EPROTO);
		CU_ASSERT_EQUAL(ring_cq_spin(r, 0), -EPROTO);
		CU_ASSERT_EQUAL(ring_cq_poll(r, 0, 1000), -EPROTO);
		ring_region_destroy(r);
	}
}

/* The peer writes impossible indices into the shared control block. */
static void test_hostile_indices(void)
{
	for (int k = 0; k < 4; k++) {
		struct ring_region *r = mk(1, 8, 4, UINT32_MAX - 2);
		size_t len = 0;
		uint8_t *m = peer_map(r, &len);
		struct ring_pair_ctl *ctl = pair_ctl(m, 8, 0);
		struct cs_sqe s = good_sqe(1, 0), so[8];
		struct cs_cqe c = good_cqe(1, 0), co[8];
		switch (k) {
		case 0: /* sq tail more than entries ahead: consumer */
			ctl->sq.tail = ctl->sq.head + 9;
			CU_ASSERT_EQUAL(ring_sq_pop(r, 0, so, 8), -EPROTO);
			break;
		case 1: /* cq tail behind head (huge distance) */
			ctl->cq.tail = ctl->cq.head - 1;
			CU_ASSERT_EQUAL(ring_cq_pop(r, 0, co, 8), -EPROTO);
			break;
		case 2: /* sq head ahead of our tail: producer */
			ctl->sq.head = ctl->sq.tail + 1;
			CU_ASSERT_EQUAL(ring_sq_push(r, 0, &s, 1), 0);
			CU_ASSERT_EQUAL(ring_sq_pop(r, 0, so, 8), -EPROTO);
			break;
		case 3: /* cq head far behind our tail */
			ctl->cq.head = ctl->cq.tail - 9;
			CU_ASSERT_EQUAL(ring_cq_push(r, 0, &c, 1), 0);
			break;
		}
		CU_ASSERT_EQUAL(ring_error(r, 0), -EPROTO);
		munmap(m, len);
		ring_region_destroy(r);
	}
	/* Exactly `entries` ahead is a full ring, not an error. */
	struct ring_region *r = mk(1, 8, 4, 5);
	size_t len = 0;
	uint8_t *m = peer_map(r, &len);
	pair_ctl(m, 8, 0)->cq.tail = 5 + 8; /* zeroed cqes are valid */
	struct cs_cqe co[16];
	CU_ASSERT_EQUAL(ring_cq_pop(r, 0, co, 16), 8);
	CU_ASSERT_EQUAL(ring_error(r, 0), 0);
	munmap(m, len);
	ring_region_destroy(r);
}

/* --- hostile region headers ----------------------------------------- */

/* Builds a memfd of size sz holding hdr; seals it with `seals`. */
static int fake_region(const struct ring_shdr *hdr, off_t sz, int seals)
{
	int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, sz) < 0 ||
	    pwrite(fd, hdr, sizeof(*hdr), 0) != (ssize_t)sizeof(*hdr) ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

#define ALL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static void test_bad_headers(void)
{
	struct ring_region *r = mk(2, 8, 4, 0), *b = NULL;
	struct ring_shdr good;
	CU_ASSERT_EQUAL_FATAL(pread(ring_region_fd(r), &good, sizeof(good), 0),
			      (ssize_t)sizeof(good));
	off_t sz = (off_t)good.total_size;
	ring_region_destroy(r);

	/* A faithful copy attaches (the fake builder itself is sound). */
	int fd = fake_region(&good, sz, ALL_SEALS);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ring_region_attach(&b, fd), 0);
	ring_region_destroy(b);
	b = NULL;
	close(fd);

	struct ring_shdr h;
	for (int k = 0; k < 16; k++) {
		h = good;
		off_t fsz = sz;
		int seals = ALL_SEALS;
		switch (k) {
		case 0:
			h.magic ^= 1;
			break;
		case 1:
			h.version = CS_PROTO_VERSION + 1;
			break;
		case 2:
			h.sqe_size = 32;
			break;
		case 3:
			h.nrings = 0;
			break;
		case 4:
			h.entries = 12;
			break;
		case 5:
			h.slot_size = 4100;
			break;
		case 6:
			h.slab_off += 4096;
			break;
		case 7:
			h.total_size -= 4096;
			break;
		case 8:
			fsz = sz - 4096;
			break; /* fd smaller than region */
		case 9:	       /* huge but consistent: far larger than the fd */
			h.nslots = 65536;
			h.slot_size = 64u << 20;
			h.total_size = h.slab_off + (65536ull << 26);
			break;
		case 10:
			seals = 0;
			break; /* unsealed */
		case 11:
			seals = F_SEAL_GROW | F_SEAL_SEAL;
			break;
		case 12:
			seals = F_SEAL_SHRINK | F_SEAL_GROW;
			break;
		case 13:
			fsz = 100;
			break; /* shorter than a header */
		case 14:
			h.pad0 = 1;
			break;
		case 15:
			h.nslots = 0;
			break;
		}
		fd = fake_region(&h, fsz, seals);
		CU_ASSERT_FATAL(fd >= 0);
		int rc = ring_region_attach(&b, fd);
		if (rc != -EPROTO)
			fprintf(stderr, "bad header case %d: %d\n", k, rc);
		CU_ASSERT_EQUAL(rc, -EPROTO);
		CU_ASSERT_PTR_NULL(b);
		close(fd);
	}

	/* Not a memfd at all. */
	char path[] = "/tmp/test_ring_XXXXXX";
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	CU_ASSERT_EQUAL(pwrite(fd, &good, sizeof(good), 0),
			(ssize_t)sizeof(good));
	CU_ASSERT_EQUAL(ftruncate(fd, sz), 0);
	CU_ASSERT_EQUAL(ring_region_attach(&b, fd), -EPROTO);
	close(fd);
	int p[2];
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL(ring_region_attach(&b, p[0]), -EPROTO);
	close(p[0]);
	close(p[1]);
	CU_ASSERT_EQUAL(ring_region_attach(&b, -1), -EBADF);
	CU_ASSERT_EQUAL(ring_hdr_check(&good, sizeof(good) - 1, (uint64_t)sz,
				       &(struct ring_params){0}),
			-EPROTO);
}

/* --- doorbells ------------------------------------------------------ */

static void test_doorbell_flags(void)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	size_t len = 0;
	uint8_t *m = peer_map(r, &len);
	struct ring_ctl *sq = &pair_ctl(m, 8, 0)->sq;
	uint32_t *addr = NULL, val = 0;

	/* Kick with nobody asleep: the word is untouched (no wake). */
	ring_sq_kick(r, 0);
	CU_ASSERT_EQUAL(sq->doorbell, 0);
	/* Announce sleep on an empty ring. */
	CU_ASSERT_EQUAL(ring_sq_prepare_sleep(r, 0, &addr, &val), 0);
	/* addr is the doorbell in the region's own mapping: same page. */
	CU_ASSERT_EQUAL(__atomic_load_n(addr, __ATOMIC_SEQ_CST), sq->doorbell);
	CU_ASSERT_EQUAL((uintptr_t)addr % 4096,
			(uintptr_t)&sq->doorbell % 4096);
	CU_ASSERT_EQUAL(val, RING_DB_SLEEPING);
	CU_ASSERT_EQUAL(sq->doorbell, RING_DB_SLEEPING);
	/* Producer kicks: flag cleared, sequence bumped, so a FUTEX_WAIT
	 * on the old value would not sleep. */
	struct cs_sqe s = good_sqe(1, 0), o;
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, &s, 1), 1);
	ring_sq_kick(r, 0);
	CU_ASSERT_EQUAL(sq->doorbell, 1);
	ring_sq_wake_done(r, 0);
	CU_ASSERT_EQUAL(sq->doorbell, 1);
	/* Work queued: prepare_sleep refuses and leaves no flag. */
	CU_ASSERT_EQUAL(ring_sq_prepare_sleep(r, 0, &addr, &val), 1);
	CU_ASSERT_EQUAL(sq->doorbell, 1);
	CU_ASSERT_EQUAL(ring_sq_wait(r, 0, 1000), 0);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, &o, 1), 1);
	/* Sequence wraps within 31 bits, never touching the flag bit. */
	sq->doorbell = RING_DB_SEQ_MASK;
	CU_ASSERT_EQUAL(ring_sq_prepare_sleep(r, 0, &addr, &val), 0);
	ring_sq_kick(r, 0);
	CU_ASSERT_EQUAL(sq->doorbell, 0);
	munmap(m, len);
	ring_region_destroy(r);
}

struct waiter {
	struct ring_region *r;
	int rc;
	uint64_t ns;
};

static void *cq_waiter(void *arg)
{
	struct waiter *w = arg;
	uint64_t t = now_ns();
	w->rc = ring_cq_wait(w->r, 0, 5000);
	w->ns = now_ns() - t;
	return NULL;
}

/* rounds times: a thread waits for ring 0's completions while this one
 * pushes one and kicks, every other round only after sleep_us (past any
 * spin: the waiter really sleeps). The waiter must wake with the work
 * there, never time out. */
static void wait_kick_rounds(struct ring_region *r, int rounds,
			     unsigned sleep_us)
{
	for (int k = 0; k < rounds; k++) {
		struct waiter w = {.r = r};
		pthread_t th;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, cq_waiter, &w),
				      0);
		if (k % 2)
			usleep(sleep_us);
		struct cs_cqe c = good_cqe(k, 0), o;
		CU_ASSERT_EQUAL(ring_cq_push(r, 0, &c, 1), 1);
		ring_cq_kick(r, 0);
		pthread_join(th, NULL);
		CU_ASSERT_EQUAL(w.rc, 0);
		CU_ASSERT(w.ns < 4000000000ull); /* woken, not timed out */
		CU_ASSERT_EQUAL(ring_cq_pop(r, 0, &o, 1), 1);
		CU_ASSERT_EQUAL(o.id, (uint64_t)k);
	}
}

static void test_wait_kick_threads(void)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	wait_kick_rounds(r, 20, 2000);
	ring_region_destroy(r);
}

/* Spinning before the sleep: same results, timeouts still honoured. */
static void test_spin(void)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	ring_set_spin(r, 200000); /* 200 us */
	uint64_t t = now_ns();
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 0), -ETIMEDOUT);
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 20), -ETIMEDOUT);
	uint64_t ms = (now_ns() - t) / 1000000u;
	CU_ASSERT(ms >= 19 && ms < 2000);
	wait_kick_rounds(r, 10, 1000); /* 1 ms: past the spin */
	ring_set_spin(r, 0);
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 1), -ETIMEDOUT);
	ring_region_destroy(r);
}

/* Voluntary context switches of the calling thread (sleeps). */
static long thread_sleeps(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

/* Adaptive spinning: same results and timeouts as sleeping; it spins only
 * while the peer is awake, and never while the peer sleeps waiting for us
 * (its doorbell on the other direction has the flag). */
static void test_spin_auto(void)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	size_t len = 0;
	uint8_t *m = peer_map(r, &len);
	struct ring_pair_ctl *pc = pair_ctl(m, 8, 0);
	/* A cap above the timeouts: a wait that spins spins through its
	 * whole timeout and never sleeps (no voluntary context switch; its
	 * yields count as involuntary), a wait that sleeps switches. */
	ring_set_spin_auto(r, 1000000000);

	/* Peer (the sq consumer) asleep: a cq wait does not spin. */
	pc->sq.doorbell = RING_DB_SLEEPING;
	long sw = thread_sleeps();
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 100), -ETIMEDOUT);
	CU_ASSERT(thread_sleeps() > sw);
	pc->sq.doorbell = 0;
	/* Peer awake: it spins, finds nothing, then backs off: the next
	 * wait sleeps at once. */
	sw = thread_sleeps();
	uint64_t t = now_ns();
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 100), -ETIMEDOUT);
	CU_ASSERT((now_ns() - t) / 1000000u >= 99);
	CU_ASSERT_EQUAL(thread_sleeps(), sw);
	sw = thread_sleeps();
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 100), -ETIMEDOUT);
	CU_ASSERT(thread_sleeps() > sw);
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 0), -ETIMEDOUT);

	ring_set_spin_auto(r, 100000); /* 100 us */
	wait_kick_rounds(r, 10, 1000); /* 1 ms: past the spin */
	/* Back to fixed spinning (0): plain sleeps. */
	ring_set_spin(r, 0);
	CU_ASSERT_EQUAL(ring_cq_wait(r, 0, 1), -ETIMEDOUT);

	/* ring_*_spin(), for io_uring waiters: the same policy. Nothing
	 * by default; work found; no spin while the peer sleeps. */
	uint64_t t0 = now_ns();
	CU_ASSERT_EQUAL(ring_sq_spin(r, 0), 0);
	CU_ASSERT_EQUAL(ring_cq_spin(r, 0), 0);
	CU_ASSERT((now_ns() - t0) / 1000000u < 50);
	struct cs_sqe sq = good_sqe(7, 1), so;
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, &sq, 1), 1);
	ring_set_spin(r, 100000000);
	CU_ASSERT_EQUAL(ring_sq_spin(r, 0), 1);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, &so, 1), 1);
	ring_set_spin_auto(r, 1000000000);
	pc->cq.doorbell = RING_DB_SLEEPING; /* the frontend sleeps */
	t0 = now_ns();
	CU_ASSERT_EQUAL(ring_sq_spin(r, 0), 0);
	CU_ASSERT((now_ns() - t0) / 1000000u < 50);
	pc->cq.doorbell = 0;
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, &sq, 1), 1);
	CU_ASSERT_EQUAL(ring_sq_spin(r, 0), 1);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, &so, 1), 1);
	CU_ASSERT_EQUAL(ring_sq_spin(r, 1), -EINVAL);
	CU_ASSERT_EQUAL(ring_cq_spin(r, 1), -EINVAL);
	ring_set_spin(r, 0);
	munmap(m, len);
	ring_region_destroy(r);
}

struct late_push {
	struct ring_region *r;
	unsigned us;
};

static void *push_late(void *arg)
{
	struct late_push *lp = arg;
	struct cs_sqe s = good_sqe(9, 1);
	usleep(lp->us);
	CU_ASSERT_EQUAL(ring_sq_push(lp->r, 0, &s, 1), 1);
	return NULL;
}

/* ring_sq_poll()/ring_cq_poll(): bounded, no futex sleep, whether or not
 * the peer sleeps; a look with ns = 0; work pushed meanwhile is found. */
static void test_poll(void)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	size_t len = 0;
	uint8_t *m = peer_map(r, &len);
	struct ring_pair_ctl *pc = pair_ctl(m, 8, 0);

	uint64_t t = now_ns();
	CU_ASSERT_EQUAL(ring_sq_poll(r, 0, 0), 0);
	CU_ASSERT_EQUAL(ring_sq_poll(r, 0, 2000000), 0);
	CU_ASSERT_EQUAL(ring_cq_poll(r, 0, 2000000), 0);
	CU_ASSERT((now_ns() - t) / 1000000u < 1000);
	/* The peer's sleeping flag does not stop it (unlike the adaptive
	 * spin): the caller's own window decides. */
	pc->cq.doorbell = RING_DB_SLEEPING;
	struct cs_sqe sq = good_sqe(7, 1), so;
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, &sq, 1), 1);
	CU_ASSERT_EQUAL(ring_sq_poll(r, 0, 0), 1);
	t = now_ns();
	CU_ASSERT_EQUAL(ring_sq_poll(r, 0, 1000000000), 1);
	CU_ASSERT((now_ns() - t) / 1000000u < 100);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, &so, 1), 1);
	pc->cq.doorbell = 0;
	struct cs_cqe c = good_cqe(3, 0), co;
	CU_ASSERT_EQUAL(ring_cq_push(r, 0, &c, 1), 1);
	CU_ASSERT_EQUAL(ring_cq_poll(r, 0, 1000000), 1);
	CU_ASSERT_EQUAL(ring_cq_pop(r, 0, &co, 1), 1);
	CU_ASSERT_EQUAL(ring_sq_poll(r, 1, 1000), -EINVAL);
	CU_ASSERT_EQUAL(ring_cq_poll(r, 1, 1000), -EINVAL);

	/* Work from another thread 1 ms later: found by polling (a poll on
	 * a contended CPU may give up early; the loop looks again). */
	struct late_push lp = {.r = r, .us = 1000};
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, push_late, &lp), 0);
	int got = 0;
	t = now_ns();
	while (!got && now_ns() - t < 3000000000ull)
		got = ring_sq_poll(r, 0, 500000000) == 1;
	pthread_join(th, NULL);
	CU_ASSERT(got);
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, &so, 1), 1);
	CU_ASSERT_EQUAL(so.id, 9);
	munmap(m, len);
	ring_region_destroy(r);
}

struct busy {
	int cpu;
	atomic_int running, stop;
};

static void *busy_loop(void *arg)
{
	struct busy *b = arg;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(b->cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	atomic_store(&b->running, 1);
	while (!atomic_load(&b->stop))
		;
	return NULL;
}

static void *home_thread(void *arg)
{
	struct ring_region *r = arg;
	cpu_set_t before, set;
	CU_ASSERT_EQUAL(sched_getaffinity(0, sizeof(before), &before), 0);
	CU_ASSERT_EQUAL(ring_home_set(r, 0), -1);
	CU_ASSERT_EQUAL(ring_home_update(r, 1), 0); /* no home */
	int home = ring_home_set(r, 1);
	if (CPU_COUNT(&before) < 2) {
		CU_ASSERT_EQUAL(home, -1);
		return NULL;
	}
	CU_ASSERT(home >= 0 && CPU_ISSET(home, &before));
	/* Same region, same choice (the peer process computes the same). */
	CU_ASSERT_EQUAL(ring_home_set(r, 1), home);
	CU_ASSERT_EQUAL(ring_home_update(r, -1), 0); /* keeps: unpinned */
	CU_ASSERT_EQUAL(ring_home_update(r, 1), 1);
	CU_ASSERT_EQUAL(ring_home_update(r, 1), 0);
	CU_ASSERT_EQUAL(ring_home_update(r, -1), 0); /* keeps: pinned */
	CU_ASSERT_EQUAL(sched_getaffinity(0, sizeof(set), &set), 0);
	CU_ASSERT_EQUAL(CPU_COUNT(&set), 1);
	CU_ASSERT(CPU_ISSET(home, &set));
	CU_ASSERT_EQUAL(ring_home_update(r, 0), 1);
	CU_ASSERT_EQUAL(sched_getaffinity(0, sizeof(set), &set), 0);
	CU_ASSERT(CPU_EQUAL(&set, &before));
	CU_ASSERT_EQUAL(ring_home_update(r, 1), 1);

	/* Contended home CPU: a yield that lets a busy thread run its slice
	 * is long; polling is then off for a while and the thread gets all
	 * its CPUs back. */
	struct busy b = {.cpu = home};
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, busy_loop, &b), 0);
	while (!atomic_load(&b.running))
		usleep(100);
	int longy = 0;
	for (int i = 0; i < 1000 && !longy; i++)
		longy = ring_yield();
	atomic_store(&b.stop, 1);
	pthread_join(th, NULL);
	CU_ASSERT(longy);
	CU_ASSERT(!ring_poll_allowed());
	CU_ASSERT_EQUAL(ring_home_update(r, 1), 1);
	CU_ASSERT_EQUAL(sched_getaffinity(0, sizeof(set), &set), 0);
	CU_ASSERT(CPU_EQUAL(&set, &before));
	usleep(RING_CONTENDED_NS / 1000 + 5000);
	CU_ASSERT(ring_poll_allowed());
	/* No longer contended: pinned again. Off: the thread gets its CPUs
	 * back and stays unpinned. */
	CU_ASSERT_EQUAL(ring_home_update(r, 1), 1);
	CU_ASSERT_EQUAL(ring_home_set(r, 0), -1);
	CU_ASSERT_EQUAL(ring_home_update(r, 1), 1);
	CU_ASSERT_EQUAL(sched_getaffinity(0, sizeof(set), &set), 0);
	CU_ASSERT(CPU_EQUAL(&set, &before));
	return NULL;
}

/* ring_home_set()/ring_home_update()/ring_yield(), in a thread of its
 * own (the affinity it changes is per thread). */
static void test_home(void)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, home_thread, r), 0);
	pthread_join(th, NULL);
	ring_region_destroy(r);
}

/* --- lost wake-ups -------------------------------------------------- */

#define LOST_WAIT_MS 3000
#define LOST_SLOW_MS 1500

static void pin_to(int cpu)
{
	cpu_set_t set;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	if (cpu >= 0) {
		CPU_SET(cpu, &set);
	} else {
		for (long i = 0; i < sysconf(_SC_NPROCESSORS_ONLN); i++)
			CPU_SET(i, &set);
	}
	sched_setaffinity(0, sizeof(set), &set);
}

/* One side of the ping-pong: waits (with a timeout far above any real
 * wake-up) and reports a wait that ran into it: a lost wake-up turns into
 * a sleep until the timeout, after which the re-check finds the work. */
static int lost_wait(struct ring_region *r, int sq, uint64_t *slow)
{
	uint64_t t = now_ns();
	int rc = sq ? ring_sq_wait(r, 0, LOST_WAIT_MS)
		    : ring_cq_wait(r, 0, LOST_WAIT_MS);
	if (rc == -ETIMEDOUT || (now_ns() - t) / 1000000u >= LOST_SLOW_MS)
		(*slow)++;
	return rc == -EINTR || rc == -ETIMEDOUT ? 0 : rc;
}

/* Spin before sleeping for a length that changes every round (0..4 us,
 * both sides differently), so the sleep announcement sweeps across the
 * moment the peer publishes; jitter 0: the given policy unchanged. */
static void lost_jitter(struct ring_region *r, uint32_t i, int jitter)
{
	if (jitter)
		ring_set_spin(r,
			      (i * 7919u + (unsigned)jitter * 1237u) % 4000u);
}

/* Child: cryptod-like echo, one descriptor at a time. */
static int lost_child(int memfd, uint32_t rounds, uint32_t auto_ns, int jitter)
{
	struct ring_region *r = NULL;
	uint64_t slow = 0;
	if (ring_region_attach(&r, memfd) < 0)
		return 10;
	if (auto_ns)
		ring_set_spin_auto(r, auto_ns);
	pin_to(1);
	for (uint32_t i = 0; i < rounds; i++) {
		struct cs_sqe s;
		int n;
		lost_jitter(r, i, jitter);
		while ((n = ring_sq_pop(r, 0, &s, 1)) == 0)
			if (lost_wait(r, 1, &slow) < 0)
				return 11;
		if (slow) /* fail fast: the parent's wait times out too */
			return 14;
		if (n != 1 || s.id != i)
			return 12;
		struct cs_cqe c = good_cqe(s.id, s.slot);
		if (ring_cq_push(r, 0, &c, 1) != 1)
			return 13;
		ring_cq_kick(r, 0);
	}
	ring_region_destroy(r);
	return slow ? 14 : 0;
}

/* The Dekker pairing of docs/RINGS.md under stress: producer and consumer
 * on two CPUs ping-pong one descriptor at a time, so the consumer
 * announces its sleep just as the producer publishes, thousands of times.
 * A missing fence or a tail check before the flag is set loses wake-ups
 * here (checked by breaking prepare_sleep() on purpose). */
static void lost_wakeup_run(uint32_t rounds, uint32_t auto_ns, int jitter)
{
	struct ring_region *r = mk(1, 8, 4, 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		alarm(120);
		_exit(lost_child(ring_region_fd(r), rounds, auto_ns, jitter));
	}
	if (auto_ns)
		ring_set_spin_auto(r, auto_ns);
	pin_to(0);
	uint64_t slow = 0, t0 = now_ns();
	uint32_t i;
	for (i = 0; i < rounds; i++) {
		struct cs_sqe s = good_sqe(i, i % 4);
		struct cs_cqe c;
		int n;
		lost_jitter(r, i, jitter ? jitter + 1 : 0);
		CU_ASSERT_EQUAL_FATAL(ring_sq_push(r, 0, &s, 1), 1);
		ring_sq_kick(r, 0);
		while ((n = ring_cq_pop(r, 0, &c, 1)) == 0 && !slow)
			CU_ASSERT_EQUAL_FATAL(lost_wait(r, 0, &slow), 0);
		if (slow) /* fail fast (below), after the first one */
			break;
		CU_ASSERT_EQUAL_FATAL(n, 1);
		CU_ASSERT_EQUAL_FATAL(c.id, i);
	}
	pin_to(-1);
	int st = -1;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(slow, 0);
	fprintf(stderr,
		"  %u of %u round trips (%s) in %.2f s: %lu lost wake-ups "
		"here, %s in the child\n",
		i, rounds,
		jitter	  ? "spin jitter"
		: auto_ns ? "adaptive spin"
			  : "sleep",
		(now_ns() - t0) / 1e9, (unsigned long)slow,
		WIFEXITED(st) && WEXITSTATUS(st) == 14 ? "some" : "none");
	ring_region_destroy(r);
}

static void test_no_lost_wakeup(void)
{
	/* Plain sleeps: every round trip is two cross-CPU wake-ups (slow
	 * on a VM, hence fewer rounds). */
	lost_wakeup_run(20000, 0, 0);
	lost_wakeup_run(100000, 20000, 0);
	lost_wakeup_run(300000, 0, 1);
}

/* --- cross-process stream ------------------------------------------- */

#define STREAM_RINGS	2
#define STREAM_PER_RING 500000u
#define STREAM_ENTRIES	256u
#define STREAM_SLOTS	64u

/* Child: cryptod-like consumer of one ring pair; checks every id in
 * order, echoes a completion. Exit status 0 when all were seen. */
static int stream_child(int memfd, unsigned ring, int peer)
{
	struct ring_region *r = NULL;
	if (ring_region_attach(&r, memfd) < 0)
		return 10;
	uint64_t next = 0;
	struct cs_sqe s[64];
	struct cs_cqe c[64];
	while (next < STREAM_PER_RING) {
		int n = ring_sq_pop(r, ring, s, 64);
		if (n < 0)
			return 11;
		if (n == 0) {
			int rc = ring_sq_wait_peer(r, ring, peer, 10000);
			if (rc < 0 && rc != -EINTR)
				return 12;
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (s[i].id != ((uint64_t)ring << 40 | next) ||
			    s[i].slot != next % STREAM_SLOTS ||
			    s[i].off != next * 3)
				return 13;
			c[i] = good_cqe(s[i].id, s[i].slot);
			c[i].res = (int32_t)(next & 0xffff);
			next++;
		}
		unsigned done = 0;
		while (done < (unsigned)n) {
			done += ring_cq_push(r, ring, c + done, n - done);
			if (done < (unsigned)n)
				sched_yield(); /* cannot happen: window <=
						  entries */
		}
		ring_cq_kick(r, ring);
	}
	ring_region_destroy(r);
	return 0;
}

struct stream_arg {
	struct ring_region *r;
	unsigned ring;
	int peer;
	int err;
	uint64_t waits;
};

/* Parent thread: frontend-like producer of one ring pair, at most
 * STREAM_ENTRIES requests in flight (as slots bound the frontend). */
static void *stream_parent(void *arg)
{
	struct stream_arg *a = arg;
	uint64_t sent = 0, recv = 0;
	struct cs_sqe s[64];
	struct cs_cqe c[64];
	while (recv < STREAM_PER_RING) {
		unsigned room = STREAM_ENTRIES - (unsigned)(sent - recv);
		unsigned want = room < 64 ? room : 64;
		if (want > STREAM_PER_RING - sent)
			want = (unsigned)(STREAM_PER_RING - sent);
		for (unsigned i = 0; i < want; i++) {
			uint64_t k = sent + i;
			s[i] = good_sqe((uint64_t)a->ring << 40 | k,
					(uint32_t)(k % STREAM_SLOTS));
			s[i].off = k * 3;
		}
		unsigned pushed = ring_sq_push(a->r, a->ring, s, want);
		if (pushed) {
			ring_sq_kick(a->r, a->ring);
			sent += pushed;
		}
		int n = ring_cq_pop(a->r, a->ring, c, 64);
		if (n < 0) {
			a->err = 1;
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (c[i].id != ((uint64_t)a->ring << 40 | recv) ||
			    c[i].res != (int32_t)(recv & 0xffff)) {
				a->err = 2;
				return NULL;
			}
			recv++;
		}
		if (n == 0 && pushed == 0) {
			a->waits++;
			int rc =
			    ring_cq_wait_peer(a->r, a->ring, a->peer, 10000);
			if (rc < 0 && rc != -EINTR) {
				a->err = 3;
				return NULL;
			}
		}
	}
	return NULL;
}

static void test_cross_process_stream(void)
{
	struct ring_params p = {STREAM_RINGS, STREAM_ENTRIES, STREAM_SLOTS,
				4096, UINT32_MAX - 1000};
	struct ring_region *r = NULL;
	CU_ASSERT_EQUAL_FATAL(ring_region_create(&r, &p), 0);
	int sv[STREAM_RINGS][2];
	pid_t pid[STREAM_RINGS];
	for (unsigned i = 0; i < STREAM_RINGS; i++) {
		CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX,
						 SOCK_SEQPACKET | SOCK_CLOEXEC,
						 0, sv[i]),
				      0);
	}
	for (unsigned i = 0; i < STREAM_RINGS; i++) {
		pid[i] = fork();
		CU_ASSERT_FATAL(pid[i] >= 0);
		if (pid[i] == 0) {
			alarm(60);
			for (unsigned j = 0; j < STREAM_RINGS; j++)
				close(sv[j][0]);
			_exit(stream_child(ring_region_fd(r), i, sv[i][1]));
		}
		close(sv[i][1]);
	}
	uint64_t t0 = now_ns();
	struct stream_arg a[STREAM_RINGS];
	pthread_t th[STREAM_RINGS];
	for (unsigned i = 0; i < STREAM_RINGS; i++) {
		a[i] = (struct stream_arg){.r = r, .ring = i, .peer = sv[i][0]};
		CU_ASSERT_EQUAL_FATAL(
		    pthread_create(&th[i], NULL, stream_parent, &a[i]), 0);
	}
	for (unsigned i = 0; i < STREAM_RINGS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(a[i].err, 0);
		int st = -1;
		CU_ASSERT_EQUAL(waitpid(pid[i], &st, 0), pid[i]);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "child %u status %#x\n", i, st);
		close(sv[i][0]);
	}
	uint64_t ns = now_ns() - t0;
	fprintf(stderr,
		"  %u descriptors + completions in %.3f s (%lu+%lu "
		"sleeps)\n",
		STREAM_RINGS * STREAM_PER_RING, ns / 1e9,
		(unsigned long)a[0].waits, (unsigned long)a[1].waits);
	ring_region_destroy(r);
}

/* --- peer death ----------------------------------------------------- */

static void test_peer_death(void)
{
	struct ring_region *r = mk(1, 64, 64, 0);
	int sv[2];
	CU_ASSERT_EQUAL_FATAL(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	struct cs_sqe s[64];
	for (unsigned i = 0; i < 64; i++)
		s[i] = good_sqe(i, i);
	CU_ASSERT_EQUAL(ring_sq_push(r, 0, s, 64), 64);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* Answers half the stream, then hangs (as a wedged or dying
		 * cryptod would) until killed. */
		close(sv[0]);
		alarm(30);
		struct ring_region *c = NULL;
		if (ring_region_attach(&c, ring_region_fd(r)) < 0)
			_exit(1);
		struct cs_sqe in[32];
		int n = 0;
		while (n < 32) {
			int k = ring_sq_pop(c, 0, in + n, 32 - (unsigned)n);
			if (k < 0)
				_exit(2);
			n += k;
		}
		for (int i = 0; i < 32; i++) {
			struct cs_cqe cq = good_cqe(in[i].id, in[i].slot);
			ring_cq_push(c, 0, &cq, 1);
		}
		ring_cq_kick(c, 0);
		for (;;)
			pause();
	}
	close(sv[1]);
	struct cs_cqe out[64];
	int got = 0;
	while (got < 32) {
		int rc = ring_cq_wait_peer(r, 0, sv[0], 5000);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		int n = ring_cq_pop(r, 0, out + got, 64);
		CU_ASSERT_FATAL(n >= 0);
		got += n;
	}
	CU_ASSERT_EQUAL(got, 32);
	/* Peer alive, nothing coming: a plain timeout. */
	CU_ASSERT_EQUAL(ring_cq_wait_peer(r, 0, sv[0], 120), -ETIMEDOUT);
	CU_ASSERT_EQUAL(ring_peer_dead(sv[0]), 0);
	CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
	uint64_t t = now_ns();
	/* Forever-wait returns -EPIPE instead of hanging. */
	CU_ASSERT_EQUAL(ring_cq_wait_peer(r, 0, sv[0], -1), -EPIPE);
	uint64_t ms = (now_ns() - t) / 1000000u;
	CU_ASSERT(ms < 2000);
	fprintf(stderr, "  peer death seen after %lu ms\n", (unsigned long)ms);
	CU_ASSERT_EQUAL(ring_peer_dead(sv[0]), 1);
	int st;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	/* The cryptod side (a fresh attach starts at the shared head the
	 * dead child left): queued work is still reported before -EPIPE. */
	struct ring_region *c = NULL;
	CU_ASSERT_EQUAL_FATAL(ring_region_attach(&c, ring_region_fd(r)), 0);
	struct cs_sqe in[64];
	CU_ASSERT_EQUAL(ring_sq_wait_peer(c, 0, sv[0], -1), 0);
	CU_ASSERT_EQUAL(ring_sq_pop(c, 0, in, 64), 32);
	CU_ASSERT_EQUAL(in[0].id, 32);
	CU_ASSERT_EQUAL(ring_sq_wait_peer(c, 0, sv[0], -1), -EPIPE);
	ring_region_destroy(c);
	close(sv[0]);
	CU_ASSERT_EQUAL(ring_peer_dead(sv[0]), -EBADF);
	ring_region_destroy(r);
}

/* --- io_uring FUTEX_WAIT doorbell ------------------------------------ */

static int wait_cqe_ms(struct io_uring *u, struct io_uring_cqe **cqe, int ms)
{
	struct __kernel_timespec ts = {.tv_sec = ms / 1000,
				       .tv_nsec = (ms % 1000) * 1000000L};
	return io_uring_wait_cqe_timeout(u, cqe, &ts);
}

static void test_uring_futex_wait(void)
{
	struct io_uring u;
	int rc = io_uring_queue_init(8, &u, 0);
	if (rc < 0) {
		fprintf(stderr, "  io_uring unavailable (%s): not tested\n",
			strerror(-rc));
		return;
	}
	struct ring_region *r = mk(1, 8, 4, 0);
	struct io_uring_cqe *cqe = NULL;
	uint32_t *addr, val;

	/* A stale expected value completes at once with -EAGAIN (and shows
	 * the field mapping is understood by the kernel). */
	CU_ASSERT_EQUAL_FATAL(ring_sq_prepare_sleep(r, 0, &addr, &val), 0);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u);
	CU_ASSERT_EQUAL(ring_prep_futex_wait(sqe, addr, val + 1), 0);
	io_uring_sqe_set_data64(sqe, 1);
	CU_ASSERT_EQUAL(io_uring_submit(&u), 1);
	CU_ASSERT_EQUAL_FATAL(wait_cqe_ms(&u, &cqe, 2000), 0);
	if (cqe->res == -EINVAL || cqe->res == -EOPNOTSUPP) {
		fprintf(stderr,
			"  IORING_OP_FUTEX_WAIT unsupported (%d): not "
			"tested\n",
			cqe->res);
		io_uring_cqe_seen(&u, cqe);
		goto out;
	}
	CU_ASSERT_EQUAL(cqe->res, -EAGAIN);
	io_uring_cqe_seen(&u, cqe);

	/* The real thing: sleep on the doorbell through io_uring. */
	sqe = io_uring_get_sqe(&u);
	CU_ASSERT_EQUAL_FATAL(ring_prep_futex_wait(sqe, addr, val), 0);
	io_uring_sqe_set_data64(sqe, 2);
	CU_ASSERT_EQUAL(io_uring_submit(&u), 1);
	CU_ASSERT_EQUAL(wait_cqe_ms(&u, &cqe, 50), -ETIME);

	int go[2];
	CU_ASSERT_FATAL(pipe(go) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* Producer in another process: push without a kick first
		 * (must not wake: wakes are per kick), then kick. */
		alarm(10);
		struct ring_region *c = NULL;
		char b;
		if (ring_region_attach(&c, ring_region_fd(r)) < 0)
			_exit(1);
		struct cs_sqe s = good_sqe(99, 2);
		if (ring_sq_push(c, 0, &s, 1) != 1)
			_exit(2);
		if (read(go[0], &b, 1) != 1)
			_exit(3);
		ring_sq_kick(c, 0);
		_exit(0);
	}
	close(go[0]);
	/* Pushed but not kicked: still asleep. */
	CU_ASSERT_EQUAL(wait_cqe_ms(&u, &cqe, 100), -ETIME);
	CU_ASSERT_EQUAL(write(go[1], "k", 1), 1);
	close(go[1]);
	rc = wait_cqe_ms(&u, &cqe, 5000);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(io_uring_cqe_get_data64(cqe), 2);
	CU_ASSERT_EQUAL(cqe->res, 0);
	io_uring_cqe_seen(&u, cqe);
	ring_sq_wake_done(r, 0);
	struct cs_sqe o;
	CU_ASSERT_EQUAL(ring_sq_pop(r, 0, &o, 1), 1);
	CU_ASSERT_EQUAL(o.id, 99);
	int st;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
out:
	ring_region_destroy(r);
	io_uring_queue_exit(&u);
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
	    {"params", test_params},
	    {"empty", test_empty},
	    {"full", test_full},
	    {"wrap", test_wrap},
	    {"batch", test_batch},
	    {"attach", test_attach},
	    {"pick", test_pick},
	    {"sqe_check", test_sqe_check},
	    {"cqe_check", test_cqe_check},
	    {"hostile_indices", test_hostile_indices},
	    {"bad_headers", test_bad_headers},
	    {"doorbell_flags", test_doorbell_flags},
	    {"wait_kick_threads", test_wait_kick_threads},
	    {"spin", test_spin},
	    {"spin_auto", test_spin_auto},
	    {"poll", test_poll},
	    {"home", test_home},
	    {"no_lost_wakeup", test_no_lost_wakeup},
	    {"cross_process_stream", test_cross_process_stream},
	    {"peer_death", test_peer_death},
	    {"uring_futex_wait", test_uring_futex_wait},
	    {NULL, NULL},
	};
	return cs_add_suite("ring", NULL, NULL, tests);
}
