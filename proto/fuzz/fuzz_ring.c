/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for everything proto/ring.c parses from a hostile peer:
 * the region header, submission and completion descriptors, and a whole
 * ring pair's shared control block + entries (indices included).
 *
 * Input: byte 0 selects the mode, the rest is the data.
 *   0: header (ring_hdr_check) — 8 bytes fd size, then header bytes
 *   1: a sqe against small params (ring_sqe_check)
 *   2: a cqe (ring_cqe_check)
 *   3: shared memory of ring pair 0 overwritten with the data, then
 *      spin (adaptive), kick, pop everything from both rings; every
 *      accepted descriptor must satisfy the documented invariants (else
 *      abort()).
 * Built only with CS_FUZZ=ON and clang; fuzz_ring_replay.c replays the seed
 * corpus (proto/fuzz/corpus) as a unit test in every build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ring.h"
#include "ring_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_ENTRIES 8u
#define F_NSLOTS  4u
#define F_SLOT	  8192u

static const struct ring_params fp = {1, F_ENTRIES, F_NSLOTS, F_SLOT, 0};

static void check_sqe_invariants(const struct cs_sqe *s)
{
	if (s->op == CS_OP_INVALID || s->op >= CS_OP__MAX || s->len > CS_MAX_IO)
		abort();
	if (s->op == CS_OP_FORGET) {
		if (s->slot != CS_NO_SLOT || s->arg_len)
			abort();
		return;
	}
	if (s->slot >= F_NSLOTS || (uint64_t)s->arg_off + s->arg_len > F_SLOT)
		abort();
	if (s->op == CS_OP_WRITE && s->arg_len != s->len)
		abort();
}

static void check_cqe_invariants(const struct cs_cqe *c)
{
	if (c->slot >= F_NSLOTS || (uint64_t)c->data_off + c->data_len > F_SLOT)
		abort();
}

static void fuzz_region(const uint8_t *data, size_t size)
{
	struct ring_region *r = NULL;
	if (ring_region_create(&r, &fp) < 0)
		abort();
	struct stat st;
	if (fstat(ring_region_fd(r), &st) < 0)
		abort();
	uint8_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, ring_region_fd(r), 0);
	if (m == MAP_FAILED)
		abort();
	/* The peer may write anything into ring pair 0 (control + entries);
	 * the header page is the creator's and was validated already. */
	size_t pair = (size_t)ring_pair_size(F_ENTRIES);
	memcpy(m + RING_HDR_SIZE, data, size < pair ? size : pair);

	struct cs_sqe s[F_ENTRIES + 1];
	struct cs_cqe c[F_ENTRIES + 1];
	/* Hostile doorbells too: the adaptive spin reads the peer's flag
	 * (2 us cap keeps each call short) and kicks CAS the word. */
	ring_set_spin_auto(r, 2000);
	for (int round = 0; round < 3; round++) {
		if (ring_sq_spin(r, 0) > 1 || ring_cq_spin(r, 0) > 1)
			abort();
		ring_sq_kick(r, 0);
		ring_cq_kick(r, 0);
		int n = ring_sq_pop(r, 0, s, F_ENTRIES + 1);
		if (n > (int)F_ENTRIES)
			abort();
		for (int i = 0; i < n; i++)
			check_sqe_invariants(&s[i]);
		n = ring_cq_pop(r, 0, c, F_ENTRIES + 1);
		if (n > (int)F_ENTRIES)
			abort();
		for (int i = 0; i < n; i++)
			check_cqe_invariants(&c[i]);
		/* Pushing into a ring with a hostile head never overfills. */
		struct cs_sqe z = {.op = CS_OP_GETATTR, .slot = 0};
		(void)ring_sq_push(r, 0, &z, 1);
		(void)ring_sq_wait(r, 0, 0);
	}
	munmap(m, (size_t)st.st_size);
	ring_region_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	switch (mode % 4) {
	case 0: {
		uint64_t fdsz = 0;
		struct ring_params out;
		if (size < 8)
			return 0;
		memcpy(&fdsz, data, 8);
		if (ring_hdr_check(data + 8, size - 8, fdsz, &out) == 0) {
			/* Accepted: the layout fits the claimed fd size. */
			uint64_t total =
			    RING_HDR_SIZE +
			    ring_pair_size(out.entries) * out.nrings +
			    (uint64_t)out.nslots * out.slot_size;
			if (total > fdsz || out.nrings == 0 ||
			    out.entries < 2 ||
			    (out.entries & (out.entries - 1)) ||
			    out.slot_size % 4096)
				abort();
		}
		break;
	}
	case 1: {
		struct cs_sqe s;
		if (size < sizeof(s))
			return 0;
		memcpy(&s, data, sizeof(s));
		if (ring_sqe_check(&fp, &s) == 0)
			check_sqe_invariants(&s);
		break;
	}
	case 2: {
		struct cs_cqe c;
		if (size < sizeof(c))
			return 0;
		memcpy(&c, data, sizeof(c));
		if (ring_cqe_check(&fp, &c) == 0)
			check_cqe_invariants(&c);
		break;
	}
	case 3:
		fuzz_region(data, size);
		break;
	}
	return 0;
}
