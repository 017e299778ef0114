/* SPDX-License-Identifier: MIT */
/*
 * The records seal (FMT_RF_ROLLBACK_MAC; docs/FORMAT.md "Records seal"): a
 * digest over every record of a file, authenticated with the file key and
 * bound to the clean size slot it was made for. Made at clean close,
 * checked when a clean file is opened: an extent rolled back together with
 * its record (or replaced by a hole) no longer matches. No cost per write:
 * a file being written is DIRTY and not checked until it is closed again.
 */
#include <errno.h>
#include <mbedtls/sha256.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "fmt.h"
#include "fmt_int.h"

static const char digest_label[] = "cryptstack records v2"; /* no NUL */
static const char seal_label[16] = "cryptstack recs";
#define SEAL_AD_LEN (16 + FMT_FIXED_LEN + 8 + 8 + FMT_DIGEST_LEN)

_Static_assert(FMT_PKT_OFF + FMT_MAX_PACKETS * FMT_PKT_LEN <= FMT_SEAL_OFF,
	       "seal after the packet area");
_Static_assert(FMT_SEAL_OFF + FMT_SEAL_LEN == FMT_HDR_AREA,
	       "seal ends the header area");
_Static_assert(FMT_SEAL_OFF / FMT_SECTOR ==
		   (FMT_SEAL_OFF + FMT_SEAL_LEN - 1) / FMT_SECTOR,
	       "seal in one sector");

bool fmt_recs_check_needed(const struct fmt_header *h)
{
	return h && (h->req_flags & FMT_RF_ROLLBACK_MAC) && h->size_ok &&
	       !h->recovering && !(h->size_flags & FMT_SZ_DIRTY);
}

/* Reads the records of group g (extents 256g..) valid for a file of n
 * extents into buf (FMT_GROUP_RECS_LEN; records >= n zero). Group 0 is the
 * header block's 52 records followed by its meta region's 204. */
static int group_read(const struct fmt_recs_io *io, uint64_t g, uint64_t n,
		      uint8_t *buf)
{
	uint64_t first = g * FMT_GROUP_EXTENTS;
	uint64_t valid =
	    n - first < FMT_GROUP_EXTENTS ? n - first : FMT_GROUP_EXTENTS;
	uint64_t done = 0;
	int r = 0;

	memset(buf + valid * FMT_REC_LEN, 0,
	       (size_t)(FMT_GROUP_EXTENTS - valid) * FMT_REC_LEN);
	while (done < valid && r == 0) {
		uint64_t e = first + done, cnt = valid - done;
		if (e < FMT_HDR_RECS && cnt > FMT_HDR_RECS - e)
			cnt = FMT_HDR_RECS - e; /* header block part */
		r = io->read(io->arg, buf + done * FMT_REC_LEN,
			     (size_t)(cnt * FMT_REC_LEN), fmt_rec_off(e));
		done += cnt;
	}
	return r;
}

/* Groups hashed in one cipher_sha256_batch() call: enough for ipsec-mb's
 * SHA-NI (2 lanes) and AVX2 (8 lanes) paths; 112 KiB of scratch beside the
 * caller's buffer. */
#define DIGEST_BATCH 8

/* Non-zero groups read but not yet hashed: buf[i] holds group g[i]. */
struct dig_batch {
	uint8_t *buf[DIGEST_BATCH];
	uint64_t g[DIGEST_BATCH];
	unsigned n, cap;
};

/* Hashes the batch's groups and adds le64(g) || SHA-256(records) of each,
 * in group order, to the file digest c. 0 or -EINVAL. */
static int batch_flush(mbedtls_sha256_context *c, struct dig_batch *b)
{
	const uint8_t *msgs[DIGEST_BATCH];
	size_t lens[DIGEST_BATCH];
	uint8_t h[DIGEST_BATCH][32], le[8];
	int r;

	for (unsigned i = 0; i < b->n; i++) {
		msgs[i] = b->buf[i];
		lens[i] = FMT_GROUP_RECS_LEN;
	}
	r = cipher_sha256_batch(0, msgs, lens, b->n, h);
	for (unsigned i = 0; i < b->n && r == 0; i++) {
		fmt_put64(le, b->g[i]);
		if (mbedtls_sha256_update_ret(c, le, 8) != 0 ||
		    mbedtls_sha256_update_ret(c, h[i], 32) != 0)
			r = -EINVAL;
	}
	b->n = 0;
	return r < 0 ? -EINVAL : 0;
}

/* Before group g is read: hints the record ranges of the groups up to
 * two batches ahead, a batch at a time (*hinted: first group not hinted).
 * Group 0 is not hinted: its first records are in the header block. */
static void prefetch_ahead(const struct fmt_recs_io *io, uint64_t g,
			   uint64_t groups, uint64_t *hinted)
{
	uint64_t h = *hinted > g ? *hinted : g;
	uint64_t end =
	    g + 2 * DIGEST_BATCH < groups ? g + 2 * DIGEST_BATCH : groups;

	if (!io->prefetch || *hinted > g + DIGEST_BATCH)
		return;
	for (h = h > 0 ? h : 1; h < end; h++)
		io->prefetch(io->arg, fmt_rec_off(h * FMT_GROUP_EXTENTS),
			     FMT_GROUP_RECS_LEN);
	*hinted = end > *hinted ? end : *hinted;
}

int fmt_recs_digest(const struct fmt_recs_io *io, uint64_t n, uint8_t *buf,
		    uint8_t d[static FMT_DIGEST_LEN])
{
	mbedtls_sha256_context c;
	struct dig_batch b = {.cap = 1};
	uint8_t le[8], *extra = NULL;
	uint64_t groups, g = 0, hinted = 0;
	int r = 0;

	if (!io || !io->read || !buf || !d)
		return -EINVAL;
	if (n > FMT_MAX_EXTENTS)
		return -EFBIG;
	groups = (n + FMT_GROUP_EXTENTS - 1) / FMT_GROUP_EXTENTS;
	/* The caller's buffer is the first slot; more slots only for files
	 * of several groups, and without them (no memory) one at a time. */
	b.buf[0] = buf;
	if (groups > 1) {
		unsigned want =
		    groups < DIGEST_BATCH ? (unsigned)groups : DIGEST_BATCH;
		extra = malloc((size_t)(want - 1) * FMT_GROUP_RECS_LEN);
		for (unsigned i = 1; extra && i < want; i++)
			b.buf[i] = extra + (size_t)(i - 1) * FMT_GROUP_RECS_LEN;
		b.cap = extra ? want : 1;
	}
	mbedtls_sha256_init(&c);
	fmt_put64(le, n);
	if (mbedtls_sha256_starts_ret(&c, 0) != 0 ||
	    mbedtls_sha256_update_ret(&c, (const uint8_t *)digest_label,
				      sizeof(digest_label) - 1) != 0 ||
	    mbedtls_sha256_update_ret(&c, le, 8) != 0) {
		r = -EINVAL;
		goto out;
	}
	while (g < groups) {
		uint64_t ro = fmt_rec_off(g * FMT_GROUP_EXTENTS);
		if (g > 0 && io->seek_data) {
			/* A meta region that is a lower hole holds zero
			 * records: skip to the group of the next data. */
			int64_t nd = io->seek_data(io->arg, ro);
			if (nd >= 0 &&
			    (uint64_t)nd >= ro + FMT_GROUP_RECS_LEN) {
				/* first group whose meta region ends past nd:
				 * it ends at block 5 + 260 g */
				uint64_t q = (uint64_t)nd / FMT_BLOCK;
				uint64_t ng = q < 5 ? 0 : (q - 5) / 260 + 1;
				g = ng > g ? ng : g + 1;
				continue;
			}
		}
		prefetch_ahead(io, g, groups, &hinted);
		r = group_read(io, g, n, b.buf[b.n]);
		if (r < 0)
			goto out;
		/* the first record decides for most written groups */
		if (!fmt_all_zero(b.buf[b.n], FMT_REC_LEN) ||
		    !fmt_all_zero(b.buf[b.n] + FMT_REC_LEN,
				  FMT_GROUP_RECS_LEN - FMT_REC_LEN)) {
			b.g[b.n++] = g;
			if (b.n == b.cap && (r = batch_flush(&c, &b)) < 0)
				goto out;
		}
		g++;
	}
	if (b.n && (r = batch_flush(&c, &b)) < 0)
		goto out;
	r = mbedtls_sha256_finish_ret(&c, d) != 0 ? -EINVAL : 0;
out:
	mbedtls_sha256_free(&c);
	free(extra);
	if (r < 0)
		memset(d, 0, FMT_DIGEST_LEN);
	return r;
}

/* AD of the seal: label || key-packet AD || le64(seq of the clean slot) ||
 * le64(extents) || digest. */
static void seal_ad(const struct fmt_header *h, uint64_t seq, uint64_t size,
		    const uint8_t d[static FMT_DIGEST_LEN],
		    uint8_t ad[static SEAL_AD_LEN])
{
	memcpy(ad, seal_label, 16);
	fmt_header_ad(h, ad + 16, FMT_FIXED_LEN);
	fmt_put64(ad + 16 + FMT_FIXED_LEN, seq);
	fmt_put64(ad + 16 + FMT_FIXED_LEN + 8, fmt_extent_count(size));
	memcpy(ad + 16 + FMT_FIXED_LEN + 16, d, FMT_DIGEST_LEN);
}

int fmt_recs_seal(struct fmt_header *h, struct cipher_thread *th,
		  const struct cipher_key *key, uint64_t size,
		  const uint8_t d[static FMT_DIGEST_LEN], uint64_t *off,
		  uint32_t *len)
{
	uint8_t ad[SEAL_AD_LEN], s[FMT_SEAL_LEN], none[1] = {0};
	uint64_t seq;
	unsigned slot;
	int r;

	/* The seal is for the seq fmt_size_update() gives the next slot. */
	if (!h || !th || !key || !d || size > FMT_MAX_SIZE ||
	    !(h->req_flags & FMT_RF_ROLLBACK_MAC) ||
	    fmt_size_next(h, &seq, &slot) < 0)
		return -EINVAL;
	memset(s, 0, sizeof(s));
	r = cipher_random(s, CIPHER_NONCE_LEN);
	if (r < 0)
		return r;
	seal_ad(h, seq, size, d, ad);
	r = cipher_seal(th, key, s, ad, sizeof(ad), none, none, 0,
			s + CIPHER_NONCE_LEN);
	if (r < 0)
		return r;
	memcpy(h->recs_seal, s, sizeof(s));
	h->seal_seq = seq;
	h->seal_size = size;
	h->seal_made = 1;
	if (off)
		*off = FMT_SEAL_OFF;
	if (len)
		*len = FMT_SEAL_LEN;
	return 0;
}

int fmt_recs_verify(const struct fmt_header *h, struct cipher_thread *th,
		    const struct cipher_key *key,
		    const uint8_t d[static FMT_DIGEST_LEN])
{
	uint8_t ad[SEAL_AD_LEN], none[1] = {0};

	if (!h || !th || !key || !d || !h->size_ok ||
	    !(h->req_flags & FMT_RF_ROLLBACK_MAC))
		return -EINVAL;
	if (h->size_lag > h->size_seq)
		return -EBADMSG;
	seal_ad(h, h->size_seq - h->size_lag, h->size, d, ad);
	return cipher_open(th, key, h->recs_seal, ad, sizeof(ad), none, none, 0,
			   h->recs_seal + CIPHER_NONCE_LEN) == 0
		   ? 0
		   : -EBADMSG;
}
