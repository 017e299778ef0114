/* SPDX-License-Identifier: MIT */
/*
 * Extent sealing and opening (docs/FORMAT.md "Extents" and "Crash
 * consistency"). A record holds two slots {nonce, tag, seq}; the AD of an
 * extent is file id || index || seq, so an extent cannot move to another
 * file or position, nor be paired with another version's slot.
 *
 * Work is done in chunks of CHUNK extents so that the nonces, ADs and
 * cipher ops live on the stack (no allocation) and one getrandom() call
 * serves a whole chunk.
 */
#include <errno.h>
#include <string.h>

#include "cipher.h"
#include "fmt.h"
#include "fmt_int.h"

#define CHUNK 256u /* one 1 MiB batch: one getrandom() call */
#define AD_LEN (FMT_FILE_ID_LEN + 8 + 4)

/* Slot layout inside a record. */
#define SL_NONCE 0
#define SL_TAG 12
#define SL_SEQ 28

_Static_assert(2 * FMT_SLOT_LEN == FMT_REC_LEN, "record");
_Static_assert(SL_SEQ + 4 == FMT_SLOT_LEN, "slot");

static inline uint8_t *slot_p(uint8_t *rec, unsigned s)
{
	return rec + s * FMT_SLOT_LEN;
}

static inline const uint8_t *slot_cp(const uint8_t *rec, unsigned s)
{
	return rec + s * FMT_SLOT_LEN;
}

/* An empty slot (nonce and tag zero) stands for a hole version. */
static inline bool slot_empty(const uint8_t *s)
{
	return fmt_all_zero(s, SL_SEQ);
}

/* The newer slot: serial-number order on the 32-bit seq; a tie (only in an
 * all-zero record) picks slot 0. */
static inline unsigned rec_newer(const uint8_t *rec)
{
	uint32_t a = fmt_get32(rec + SL_SEQ);
	uint32_t b = fmt_get32(rec + FMT_SLOT_LEN + SL_SEQ);

	return (int32_t)(b - a) > 0 ? 1u : 0u;
}

static inline void ext_ad(uint8_t ad[static AD_LEN],
			  const struct fmt_header *h, uint64_t idx,
			  uint32_t seq)
{
	memcpy(ad, h->file_id, FMT_FILE_ID_LEN);
	fmt_put64(ad + FMT_FILE_ID_LEN, idx);
	fmt_put32(ad + FMT_FILE_ID_LEN + 8, seq);
}

bool fmt_rec_is_zero(const uint8_t rec[static FMT_REC_LEN])
{
	return fmt_all_zero(rec, FMT_REC_LEN);
}

/* Picks the slot the next version goes to and its seq. cur: index of the
 * slot matching the lower data, or >= 2 when none/unknown. */
static unsigned rec_target(const uint8_t *rec, unsigned cur, uint32_t *seq)
{
	uint32_t a = fmt_get32(rec + SL_SEQ);
	uint32_t b = fmt_get32(rec + FMT_SLOT_LEN + SL_SEQ);
	unsigned newer = rec_newer(rec), t;

	if (fmt_all_zero(rec, FMT_REC_LEN)) {
		*seq = 1;
		return 0;
	}
	if (cur < 2)
		t = cur ^ 1u; /* keep the verified version */
	else
		t = newer ^ 1u; /* keep the newer one (unknown: assume it) */
	*seq = (newer ? b : a) + 1;
	return t;
}

void fmt_rec_punch(uint8_t rec[static FMT_REC_LEN], uint8_t cur)
{
	uint32_t seq;
	unsigned t = rec_target(rec, cur == 255 ? 2u : cur, &seq);
	uint8_t *s;

	if (fmt_all_zero(rec, FMT_REC_LEN))
		return; /* already a hole in every version */
	s = slot_p(rec, t);
	memset(s, 0, FMT_SLOT_LEN);
	fmt_put32(s + SL_SEQ, seq);
}

int fmt_seal_run(struct cipher_thread *th, const struct cipher_key *key,
		 const struct fmt_header *h, uint64_t first, uint32_t count,
		 const uint8_t *in, uint8_t *out, uint8_t *recs,
		 const uint8_t *cur)
{
	uint8_t nonce[CHUNK][CIPHER_NONCE_LEN];
	uint8_t ad[CHUNK][AD_LEN];
	struct cipher_op ops[CHUNK];
	uint8_t *slot[CHUNK];
	uint64_t end;
	int r;

	if (!th || !key || !h || (count && (!in || !out || !recs)) ||
	    __builtin_add_overflow(first, (uint64_t)count, &end) ||
	    end > FMT_MAX_EXTENTS)
		return -EINVAL;
	for (uint32_t done = 0; done < count;) {
		unsigned n = count - done < CHUNK ? count - done : CHUNK;

		r = cipher_random(nonce, n * CIPHER_NONCE_LEN);
		if (r < 0)
			return r;
		for (unsigned j = 0; j < n; j++) {
			uint32_t k = done + j, seq;
			uint8_t *rec = recs + (size_t)k * FMT_REC_LEN;
			unsigned t = rec_target(rec, cur ? cur[k] : 2u, &seq);

			/* A nonce of all zeros would make the slot read as
			 * empty (hole); 2^-96, but cheap to exclude. */
			nonce[j][0] |= fmt_all_zero(nonce[j], 12) ? 1 : 0;
			slot[j] = slot_p(rec, t);
			ext_ad(ad[j], h, first + k, seq);
			ops[j] = (struct cipher_op){
				.in = in + (size_t)k * FMT_EXTENT,
				.out = out + (size_t)k * FMT_EXTENT,
				.len = FMT_EXTENT,
				.adlen = AD_LEN,
				.nonce = nonce[j],
				.ad = ad[j],
				.tag = slot[j] + SL_TAG,
			};
			fmt_put32(slot[j] + SL_SEQ, seq);
		}
		r = cipher_seal_batch(th, key, ops, n);
		if (r != 0)
			return -EINVAL;
		for (unsigned j = 0; j < n; j++)
			memcpy(slot[j] + SL_NONCE, nonce[j], CIPHER_NONCE_LEN);
		done += n;
	}
	return 0;
}

/* Tries one slot for extent idx; 0 (out filled) or -EBADMSG. */
static int try_slot(struct cipher_thread *th, const struct cipher_key *key,
		    const struct fmt_header *h, uint64_t idx, const uint8_t *s,
		    const uint8_t *in, uint8_t *out)
{
	uint8_t ad[AD_LEN];

	if (slot_empty(s)) {
		if (!fmt_all_zero(in, FMT_EXTENT))
			return -EBADMSG;
		memset(out, 0, FMT_EXTENT);
		return 0;
	}
	ext_ad(ad, h, idx, fmt_get32(s + SL_SEQ));
	return cipher_open(th, key, s + SL_NONCE, ad, AD_LEN, in, out,
			   FMT_EXTENT, s + SL_TAG) == 0 ? 0 : -EBADMSG;
}

static bool overlap(const uint8_t *a, const uint8_t *b, size_t len)
{
	return a < b + len && b < a + len;
}

int fmt_open_run(struct cipher_thread *th, const struct cipher_key *key,
		 const struct fmt_header *h, uint64_t first, uint32_t count,
		 const uint8_t *in, uint8_t *out, const uint8_t *recs,
		 uint8_t *which, uint8_t *bad)
{
	uint8_t ad[CHUNK][AD_LEN];
	struct cipher_op ops[CHUNK];
	uint32_t opk[CHUNK];
	uint64_t end;
	int fails = 0;

	if (!th || !key || !h || (count && (!in || !out || !recs)) ||
	    __builtin_add_overflow(first, (uint64_t)count, &end) ||
	    end > FMT_MAX_EXTENTS ||
	    (count && overlap(in, out, (size_t)count * FMT_EXTENT)))
		return -EINVAL;
	for (uint32_t done = 0; done < count;) {
		unsigned n = count - done < CHUNK ? count - done : CHUNK, nops = 0;

		/* Pass 1: the newer slot of every extent, batched. */
		for (unsigned j = 0; j < n; j++) {
			uint32_t k = done + j;
			const uint8_t *rec = recs + (size_t)k * FMT_REC_LEN;
			const uint8_t *ci = in + (size_t)k * FMT_EXTENT;
			uint8_t *po = out + (size_t)k * FMT_EXTENT;
			unsigned nw = rec_newer(rec);
			const uint8_t *s = slot_cp(rec, nw);

			if (bad)
				bad[k] = 0;
			if (slot_empty(s)) {
				/* Resolved now (hole) or in pass 2. */
				if (fmt_all_zero(ci, FMT_EXTENT)) {
					memset(po, 0, FMT_EXTENT);
					if (which)
						which[k] = fmt_rec_is_zero(rec) ?
								   2 : (uint8_t)nw;
					continue;
				}
				opk[nops] = k;
				ops[nops] = (struct cipher_op){ .status = -EBADMSG };
				nops++;
				continue;
			}
			ext_ad(ad[nops], h, first + k, fmt_get32(s + SL_SEQ));
			opk[nops] = k;
			ops[nops] = (struct cipher_op){
				.in = ci,
				.out = po,
				.len = FMT_EXTENT,
				.adlen = AD_LEN,
				.nonce = s + SL_NONCE,
				.ad = ad[nops],
				.tag = (uint8_t *)(uintptr_t)(s + SL_TAG),
				.status = 1, /* to run */
			};
			nops++;
		}
		/* Run only the real ops (status 1), in one batch when all
		 * are real, which is the common case. */
		unsigned nreal = 0;
		for (unsigned j = 0; j < nops; j++)
			nreal += ops[j].status == 1;
		if (nreal == nops && nops) {
			if (cipher_open_batch(th, key, ops, nops) < 0)
				return -EINVAL;
		} else {
			for (unsigned j = 0; j < nops; j++)
				if (ops[j].status == 1 &&
				    cipher_open_batch(th, key, &ops[j], 1) < 0)
					return -EINVAL;
		}
		/* Pass 2: the older slot where the newer one failed. */
		for (unsigned j = 0; j < nops; j++) {
			uint32_t k = opk[j];
			const uint8_t *rec = recs + (size_t)k * FMT_REC_LEN;
			unsigned old = rec_newer(rec) ^ 1u;

			if (ops[j].status == 0) {
				if (which)
					which[k] = (uint8_t)(old ^ 1u);
				continue;
			}
			if (h->recovering &&
			    try_slot(th, key, h, first + k, slot_cp(rec, old),
				     in + (size_t)k * FMT_EXTENT,
				     out + (size_t)k * FMT_EXTENT) == 0) {
				if (which)
					which[k] = (uint8_t)old;
				continue;
			}
			memset(out + (size_t)k * FMT_EXTENT, 0, FMT_EXTENT);
			if (which)
				which[k] = 2;
			if (bad)
				bad[k] = 1;
			fails++;
		}
		done += n;
	}
	return fails;
}
