/* SPDX-License-Identifier: MIT */
/* The lower-file model used by the format tests (see fmt_model.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_model.h"

struct cipher_thread *model_th;
int model_backend;

void lower_free(struct lower *lf)
{
	free(lf->b);
	memset(lf, 0, sizeof(*lf));
}

static void lower_reserve(struct lower *lf, size_t len)
{
	if (len <= lf->cap)
		return;
	size_t cap = lf->cap ? lf->cap : 8192;
	while (cap < len)
		cap *= 2;
	uint8_t *nb = realloc(lf->b, cap);
	if (!nb)
		abort();
	memset(nb + lf->cap, 0, cap - lf->cap);
	lf->b = nb;
	lf->cap = cap;
}

void lower_write(struct lower *lf, uint64_t off, const void *p, size_t n)
{
	lower_reserve(lf, off + n);
	memcpy(lf->b + off, p, n);
	if (off + n > lf->len)
		lf->len = off + n;
}

void lower_read(const struct lower *lf, uint64_t off, void *p, size_t n)
{
	memset(p, 0, n);
	if (off >= lf->len)
		return;
	size_t avail = lf->len - off;
	memcpy(p, lf->b + off, avail < n ? avail : n);
}

void lower_truncate(struct lower *lf, size_t len)
{
	if (len < lf->len)
		memset(lf->b + len, 0, lf->len - len);
	else
		lower_reserve(lf, len);
	lf->len = len;
}

int lower_copy(struct lower *dst, const struct lower *src)
{
	memset(dst, 0, sizeof(*dst));
	lower_reserve(dst, src->len ? src->len : 1);
	if (src->len)
		memcpy(dst->b, src->b, src->len);
	dst->len = src->len;
	return 0;
}

int fake_keyd_init(struct fake_keyd *kd, const uint8_t kek[32],
		   const uint8_t id[KD_ID_LEN])
{
	memcpy(kd->id, id, KD_ID_LEN);
	return cipher_key_new(CIPHER_AES256GCM, model_backend, kek, 32,
			      &kd->kek);
}

void fake_keyd_free(struct fake_keyd *kd)
{
	cipher_key_free(kd->kek);
	kd->kek = NULL;
}

static int kd_ad(const struct fmt_header *h, const uint8_t id[KD_ID_LEN],
		 uint8_t ad[KD_AD_MAX])
{
	int n = fmt_header_ad(h, ad, KD_AD_MAX);
	if (n < 0)
		return n;
	memcpy(ad + n, id, KD_ID_LEN);
	return n + KD_ID_LEN;
}

static int kd_wrap(struct fake_keyd *kd, const struct fmt_header *h,
		   const uint8_t fek[32], struct kd_packet *p)
{
	uint8_t ad[KD_AD_MAX];
	int n = kd_ad(h, kd->id, ad), r;
	if (n < 0)
		return n;
	memcpy(p->id, kd->id, KD_ID_LEN);
	r = cipher_random(p->nonce, sizeof(p->nonce));
	if (r < 0)
		return r;
	return cipher_seal(model_th, kd->kek, p->nonce, ad, (size_t)n, fek,
			   p->wrapped, KD_FEK_LEN, p->tag);
}

static int kd_unwrap(struct fake_keyd *kd, const struct fmt_header *h,
		     const struct kd_packet *p, uint8_t fek[32])
{
	uint8_t ad[KD_AD_MAX];
	int n;
	if (memcmp(p->id, kd->id, KD_ID_LEN))
		return -ENOKEY;
	n = kd_ad(h, kd->id, ad);
	if (n < 0)
		return n;
	return cipher_open(model_th, kd->kek, p->nonce, ad, (size_t)n,
			   p->wrapped, fek, KD_FEK_LEN, p->tag);
}

static int lf_read(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	lower_read(arg, off, buf, len);
	return 0;
}

int tf_digest(const struct tfile *tf, uint64_t size,
	      uint8_t d[FMT_DIGEST_LEN])
{
	struct fmt_recs_io io = {.read = lf_read,
				 .arg = (void *)(uintptr_t)&tf->lf};
	uint8_t *buf = malloc(FMT_GROUP_RECS_LEN);
	if (!buf)
		abort();
	int r = fmt_recs_digest(&io, fmt_extent_count(size), buf, d);
	free(buf);
	return r;
}

int tf_seal(struct tfile *tf, uint64_t size)
{
	uint8_t d[FMT_DIGEST_LEN];
	uint64_t off;
	uint32_t len;
	int r = tf_digest(tf, size, d);
	if (r == 0)
		r = fmt_recs_seal(&tf->h, model_th, tf->key, size, d, &off,
				  &len);
	if (r == 0)
		lower_write(&tf->lf, off, tf->h.recs_seal, len);
	return r;
}

static int write_size(struct tfile *tf, uint64_t size, uint32_t flags)
{
	uint64_t off;
	uint32_t len;
	int r = 0;
	/* A clean slot of a sealed file: the seal first (the model closes
	 * cleanly after every change). */
	if ((tf->h.req_flags & FMT_RF_ROLLBACK_MAC) && !tf->h.recovering &&
	    !(flags & FMT_SZ_DIRTY))
		r = tf_seal(tf, size);
	if (r < 0)
		return r;
	r = fmt_size_update(&tf->h, model_th, tf->key, size, flags, &off,
			    &len);
	if (r < 0)
		return r;
	lower_write(&tf->lf, off, tf->h.size_slot[tf->h.size_cur], len);
	return 0;
}

uint32_t model_req_flags = FMT_RF_NEW;

int tf_create(struct tfile *tf, struct fake_keyd *kd, int alg,
	      const uint8_t fek[32])
{
	struct kd_packet p;
	uint8_t area[FMT_HDR_AREA];
	int r;

	memset(tf, 0, sizeof(*tf));
	r = fmt_header_new(&tf->h, alg);
	if (r < 0)
		return r;
	tf->h.req_flags = model_req_flags;
	r = kd_wrap(kd, &tf->h, fek, &p);
	if (r < 0)
		return r;
	r = fmt_header_set_packets(&tf->h, &p, 1);
	if (r < 0)
		return r;
	r = fmt_file_key_new(&tf->h, fek, model_backend, &tf->key);
	if (r < 0)
		return r;
	if (tf->h.req_flags & FMT_RF_ROLLBACK_MAC)
		r = tf_seal(tf, 0); /* no records: lf may still be empty */
	if (r == 0)
		r = fmt_size_update(&tf->h, model_th, tf->key, 0, 0, NULL,
				    NULL);
	if (r < 0)
		return r;
	r = fmt_header_serialize(&tf->h, area);
	if (r < 0)
		return r;
	lower_write(&tf->lf, 0, area, sizeof(area));
	lower_truncate(&tf->lf, FMT_HDR_BLOCK);
	return 0;
}

int tf_open(struct tfile *tf, struct fake_keyd *kd)
{
	uint8_t blk[FMT_HDR_BLOCK], fek[32];
	int r = -ENOKEY;

	tf->key = NULL;
	lower_read(&tf->lf, 0, blk, sizeof(blk));
	r = fmt_header_parse(blk, tf->lf.len < sizeof(blk) ? tf->lf.len :
							     sizeof(blk),
			     &tf->h);
	if (r < 0)
		return r;
	r = -ENOKEY;
	for (unsigned i = 0; i < tf->h.npackets && r < 0; i++)
		r = kd_unwrap(kd, &tf->h, &tf->h.pkt[i], fek);
	if (r < 0)
		return r;
	r = fmt_file_key_new(&tf->h, fek, model_backend, &tf->key);
	memset(fek, 0, sizeof(fek));
	if (r < 0)
		return r;
	r = fmt_size_open(&tf->h, model_th, tf->key);
	if (r == 0)
		r = fmt_check_lower_size(&tf->h, tf->lf.len);
	if (r == 0 && fmt_recs_check_needed(&tf->h)) {
		uint8_t d[FMT_DIGEST_LEN];
		r = tf_digest(tf, tf->h.size, d);
		if (r == 0)
			r = fmt_recs_verify(&tf->h, model_th, tf->key, d);
	}
	if (r < 0) {
		cipher_key_free(tf->key);
		tf->key = NULL;
	}
	return r;
}

void tf_close(struct tfile *tf)
{
	cipher_key_free(tf->key);
	tf->key = NULL;
}

/* Reads and opens extents [first, first + n) into pt (n * 4096). */
static int read_extents(struct tfile *tf, uint64_t first, uint64_t n,
			uint8_t *pt, uint8_t *which)
{
	struct fmt_seg s;
	uint64_t done = 0;

	while (done < n) {
		uint32_t c = fmt_seg(first + done, n - done, &s);
		if (c == 0)
			return -EINVAL;
		uint8_t *ct = malloc((size_t)c * FMT_EXTENT);
		uint8_t *recs = malloc((size_t)c * FMT_REC_LEN);
		if (!ct || !recs)
			abort();
		lower_read(&tf->lf, s.data_off, ct, (size_t)c * FMT_EXTENT);
		lower_read(&tf->lf, s.rec_off, recs, (size_t)c * FMT_REC_LEN);
		int r = fmt_open_run(model_th, tf->key, &tf->h, s.first, c, ct,
				     pt + done * FMT_EXTENT, recs,
				     which ? which + done : NULL, NULL);
		free(ct);
		free(recs);
		if (r != 0)
			return r < 0 ? r : -EBADMSG;
		done += c;
	}
	return 0;
}

long tf_pread(struct tfile *tf, uint64_t off, uint8_t *p, size_t len)
{
	struct fmt_range rg;
	uint8_t *pt;
	int r;

	if (off >= tf->h.size)
		return 0;
	if (len > tf->h.size - off)
		len = (size_t)(tf->h.size - off);
	r = fmt_range(off, len, tf->h.size, &rg);
	if (r < 0 || rg.count == 0)
		return r;
	pt = malloc(rg.count * FMT_EXTENT);
	if (!pt)
		abort();
	r = read_extents(tf, rg.first, rg.count, pt, NULL);
	if (r == 0)
		memcpy(p, pt + rg.head, len);
	free(pt);
	return r < 0 ? r : (long)len;
}

long tf_read_all(struct tfile *tf, uint8_t **out)
{
	uint64_t size = tf->h.size;
	uint8_t *p = malloc(size ? size : 1);
	long r;

	if (!p)
		abort();
	r = tf_pread(tf, 0, p, size);
	if (r < 0) {
		free(p);
		*out = NULL;
		return r;
	}
	*out = p;
	return (long)size;
}

/* Seals plaintext extents [first, first + n) from pt and writes them:
 * records first, then data (FORMAT.md). old_count: extents below the old
 * EOF; records at or beyond it are stale by definition and start as zero. */
static int write_extents(struct tfile *tf, uint64_t first, uint64_t n,
			 uint8_t *pt, uint64_t old_count, const uint8_t *cur)
{
	struct fmt_seg s;
	uint64_t done = 0;

	while (done < n) {
		uint32_t c = fmt_seg(first + done, n - done, &s);
		if (c == 0)
			return -EINVAL;
		uint8_t *ct = malloc((size_t)c * FMT_EXTENT);
		uint8_t *recs = malloc((size_t)c * FMT_REC_LEN);
		if (!ct || !recs)
			abort();
		lower_read(&tf->lf, s.rec_off, recs, (size_t)c * FMT_REC_LEN);
		for (uint32_t k = 0; k < c; k++)
			if (s.first + k >= old_count)
				memset(recs + (size_t)k * FMT_REC_LEN, 0,
				       FMT_REC_LEN);
		int r = fmt_seal_run(model_th, tf->key, &tf->h, s.first, c,
				     pt + done * FMT_EXTENT, ct, recs,
				     cur ? cur + done : NULL);
		if (r == 0) {
			lower_write(&tf->lf, s.rec_off, recs,
				    (size_t)c * FMT_REC_LEN);
			lower_write(&tf->lf, s.data_off, ct,
				    (size_t)c * FMT_EXTENT);
		}
		free(ct);
		free(recs);
		if (r < 0)
			return r;
		done += c;
	}
	return 0;
}

int tf_pwrite(struct tfile *tf, uint64_t off, const uint8_t *p, size_t len)
{
	struct fmt_range rg;
	uint64_t size = tf->h.size, old_count = fmt_extent_count(size);
	uint8_t *pt;
	int r;

	r = fmt_range(off, len, size, &rg);
	if (r < 0 || rg.count == 0)
		return r;
	pt = calloc(rg.count, FMT_EXTENT);
	if (!pt)
		abort();
	/* Read-modify-write only where fmt_range says so. */
	if (rg.head_partial)
		r = read_extents(tf, rg.first, 1, pt, NULL);
	if (r == 0 && rg.tail_partial && (rg.count > 1 || !rg.head_partial))
		r = read_extents(tf, rg.first + rg.count - 1, 1,
				 pt + (rg.count - 1) * FMT_EXTENT, NULL);
	if (r == 0) {
		memcpy(pt + rg.head, p, len);
		r = write_extents(tf, rg.first, rg.count, pt, old_count, NULL);
	}
	free(pt);
	/* A sealed clean file: every change ends with a clean close. */
	if (r == 0 && (off + len > size || fmt_recs_check_needed(&tf->h)))
		r = write_size(tf, off + len > size ? off + len : size,
			       tf->h.size_flags);
	return r;
}

int tf_truncate(struct tfile *tf, uint64_t size)
{
	uint64_t old = tf->h.size, toff, tlen;
	int r = 0;

	if (size >= old) {
		/* Grow: beyond-EOF extents are holes or absent (invariant),
		 * so only the lower length and then the size change. */
		if (tf->lf.len < fmt_lower_size(size))
			lower_truncate(&tf->lf, fmt_lower_size(size));
		return write_size(tf, size, tf->h.size_flags);
	}
	/* Shrink: re-seal the new partial last extent with a zero tail,
	 * then the size, then clear the records beyond EOF and cut. */
	if (size % FMT_EXTENT) {
		uint64_t last = size / FMT_EXTENT;
		uint8_t pt[FMT_EXTENT];
		r = read_extents(tf, last, 1, pt, NULL);
		if (r < 0)
			return r;
		memset(pt + size % FMT_EXTENT, 0, FMT_EXTENT - size % FMT_EXTENT);
		r = write_extents(tf, last, 1, pt, UINT64_MAX, NULL);
		if (r < 0)
			return r;
	}
	r = write_size(tf, size, tf->h.size_flags);
	if (r < 0)
		return r;
	fmt_tail_records(size, &toff, &tlen);
	if (tlen) {
		uint8_t *z = calloc(1, tlen);
		if (!z)
			abort();
		lower_write(&tf->lf, toff, z, tlen);
		free(z);
	}
	lower_truncate(&tf->lf, fmt_lower_size(size));
	return 0;
}
