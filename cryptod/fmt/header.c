/* SPDX-License-Identifier: MIT */
/*
 * The lower-file header: fixed header, authenticated size slots, key packet
 * area (layout: docs/FORMAT.md "Header block"). Parsing is structural only;
 * the size becomes trustworthy in fmt_size_open(), the fixed header through
 * the key packets (keyd binds them to it) and through the size slots' AD.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "cipher.h"
#include "fmt.h"
#include "fmt_int.h"
#include "secmem.h"

/* Fixed header offsets. */
#define FH_MAGIC 0
#define FH_VERSION 8
#define FH_CIPHER 10
#define FH_NPKT 11
#define FH_REQ 12
#define FH_OPT 16
#define FH_SHIFT 20
#define FH_RSV1 21 /* 3 bytes */
#define FH_ID 24
#define FH_RSV2 40 /* 24 bytes */

/* Size slot offsets. */
#define SS_SEQ 0
#define SS_SIZE 8 /* encrypted: the AEAD's 8-byte ciphertext */
#define SS_FLAGS 16
#define SS_RSV1 20
#define SS_NONCE 24
#define SS_TAG 36
#define SS_LAG 20 /* FMT_RF_ROLLBACK_MAC: slots written since the seal */
#define SS_RSV2 52 /* 12 bytes */
#define SS_BIND 52 /* FMT_RF_NAME_BIND: the name binding tag */
#define SS_AD_LEN (16 + FMT_FIXED_LEN + 16) /* label, fixed, seq, flags, rsv */
#define SS_AD_MAX (SS_AD_LEN + FMT_BIND_LEN)

static const char size_label[16] = "cryptstack size";
static const char key_info[] = "cryptstack v1 extent key";

_Static_assert(FMT_PKT_LEN == sizeof(struct kd_packet), "packet size");
_Static_assert(FMT_PKT_OFF + FMT_MAX_PACKETS * FMT_PKT_LEN <= FMT_HDR_AREA,
	       "packet area");
_Static_assert(FMT_HDR_AREA + FMT_HDR_RECS * FMT_REC_LEN == FMT_HDR_BLOCK,
	       "header block");
_Static_assert(FMT_SIZE_SLOT_OFF + 2 * FMT_SIZE_SLOT_LEN <= FMT_SECTOR,
	       "size slots in sector 0");

static bool alg_ok(int alg)
{
	return alg == CIPHER_AES256GCM || alg == CIPHER_AES128GCM ||
	       alg == CIPHER_CHACHA20POLY1305;
}

static void fixed_build(const struct fmt_header *h,
			uint8_t out[static FMT_FIXED_LEN])
{
	memset(out, 0, FMT_FIXED_LEN);
	memcpy(out + FH_MAGIC, FMT_MAGIC, FMT_MAGIC_LEN);
	fmt_put16(out + FH_VERSION, h->version);
	out[FH_CIPHER] = h->cipher;
	out[FH_NPKT] = h->npackets;
	fmt_put32(out + FH_REQ, h->req_flags);
	fmt_put32(out + FH_OPT, h->opt_flags);
	out[FH_SHIFT] = FMT_EXTENT_SHIFT;
	memcpy(out + FH_ID, h->file_id, FMT_FILE_ID_LEN);
}

int fmt_header_new(struct fmt_header *h, int alg)
{
	int r;

	if (!h || !alg_ok(alg))
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->version = FMT_VERSION;
	h->cipher = (uint8_t)alg;
	r = cipher_random(h->file_id, FMT_FILE_ID_LEN);
	if (r < 0)
		memset(h, 0, sizeof(*h));
	return r;
}

int fmt_header_set_packets(struct fmt_header *h, const struct kd_packet *pkt,
			   unsigned n)
{
	if (!h || !pkt || n == 0 || n > FMT_MAX_PACKETS)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (fmt_all_zero(pkt[i].id, KD_ID_LEN))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(pkt[i].id, pkt[j].id, KD_ID_LEN))
				return -EINVAL;
	}
	/* pkt may point into h->pkt (drop a recipient in place). */
	struct kd_packet tmp[FMT_MAX_PACKETS];
	memset(tmp, 0, sizeof(tmp));
	memcpy(tmp, pkt, n * sizeof(*pkt));
	memcpy(h->pkt, tmp, sizeof(tmp));
	h->npackets = (uint8_t)n;
	return 0;
}

int fmt_header_ad(const struct fmt_header *h, uint8_t *ad, size_t cap)
{
	if (!h || !ad)
		return -EINVAL;
	if (cap < FMT_FIXED_LEN)
		return -ENOSPC;
	fixed_build(h, ad);
	/* Recipients are added or dropped by rewriting packets only: the
	 * count must not invalidate the other packets. */
	ad[FH_NPKT] = 0;
	return FMT_FIXED_LEN;
}

static int slot_check(const uint8_t *s, uint32_t req)
{
	if (fmt_all_zero(s, FMT_SIZE_SLOT_LEN))
		return 0;
	if (fmt_get64(s + SS_SEQ) == 0 ||
	    (!(req & FMT_RF_ROLLBACK_MAC) && fmt_get32(s + SS_RSV1) != 0) ||
	    (!(req & FMT_RF_NAME_BIND) &&
	     !fmt_all_zero(s + SS_RSV2, FMT_SIZE_SLOT_LEN - SS_RSV2)))
		return -EINVAL;
	return 0;
}

int fmt_header_parse(const uint8_t *buf, size_t len, struct fmt_header *out)
{
	struct fmt_header h;
	int r = -EINVAL;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	if (len < FMT_MAGIC_LEN || memcmp(buf, FMT_MAGIC, FMT_MAGIC_LEN)) {
		r = -EMEDIUMTYPE;
		goto out;
	}
	if (len < FMT_HDR_AREA)
		goto out;
	h.version = fmt_get16(buf + FH_VERSION);
	if (h.version != FMT_VERSION) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	h.req_flags = fmt_get32(buf + FH_REQ);
	if (h.req_flags & ~FMT_RF_KNOWN) {
		r = -EOPNOTSUPP;
		goto out;
	}
	h.opt_flags = fmt_get32(buf + FH_OPT);
	h.cipher = buf[FH_CIPHER];
	h.npackets = buf[FH_NPKT];
	if (!alg_ok(h.cipher) || h.npackets == 0 ||
	    h.npackets > FMT_MAX_PACKETS || buf[FH_SHIFT] != FMT_EXTENT_SHIFT ||
	    !fmt_all_zero(buf + FH_RSV1, 3) ||
	    !fmt_all_zero(buf + FH_RSV2, FMT_FIXED_LEN - FH_RSV2))
		goto out;
	memcpy(h.file_id, buf + FH_ID, FMT_FILE_ID_LEN);

	for (unsigned i = 0; i < 2; i++) {
		const uint8_t *s = buf + FMT_SIZE_SLOT_OFF + i * FMT_SIZE_SLOT_LEN;
		if (slot_check(s, h.req_flags) < 0)
			goto out;
		memcpy(h.size_slot[i], s, FMT_SIZE_SLOT_LEN);
	}

	/* Packets, then zero padding up to the records (a sealed file: up to
	 * its records seal, whose last 4 bytes are reserved). */
	size_t pend = FMT_PKT_OFF + (size_t)h.npackets * FMT_PKT_LEN;
	size_t pad_end = FMT_HDR_AREA;
	memcpy(h.pkt, buf + FMT_PKT_OFF, (size_t)h.npackets * FMT_PKT_LEN);
	if (h.req_flags & FMT_RF_ROLLBACK_MAC) {
		pad_end = FMT_SEAL_OFF;
		memcpy(h.recs_seal, buf + FMT_SEAL_OFF, FMT_SEAL_LEN);
		if (!fmt_all_zero(h.recs_seal + 28, FMT_SEAL_LEN - 28))
			goto out;
	}
	if (!fmt_all_zero(buf + pend, pad_end - pend))
		goto out;
	for (unsigned i = 0; i < h.npackets; i++) {
		if (fmt_all_zero(h.pkt[i].id, KD_ID_LEN))
			goto out;
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(h.pkt[i].id, h.pkt[j].id, KD_ID_LEN))
				goto out;
	}
	*out = h;
	r = 0;
out:
	return r;
}

int fmt_header_serialize(const struct fmt_header *h,
			 uint8_t buf[static FMT_HDR_AREA])
{
	/* A parsed header may be re-serialized without the file key (keyd's
	 * `recipients` rewrites packets only); it just needs a size slot. */
	if (!h || !buf || h->npackets == 0 || h->npackets > FMT_MAX_PACKETS ||
	    (fmt_all_zero(h->size_slot[0], FMT_SIZE_SLOT_LEN) &&
	     fmt_all_zero(h->size_slot[1], FMT_SIZE_SLOT_LEN)))
		return -EINVAL;
	memset(buf, 0, FMT_HDR_AREA);
	fixed_build(h, buf);
	memcpy(buf + FMT_SIZE_SLOT_OFF, h->size_slot, sizeof(h->size_slot));
	memcpy(buf + FMT_PKT_OFF, h->pkt, (size_t)h->npackets * FMT_PKT_LEN);
	if (h->req_flags & FMT_RF_ROLLBACK_MAC)
		memcpy(buf + FMT_SEAL_OFF, h->recs_seal, FMT_SEAL_LEN);
	return 0;
}

int fmt_file_key_new(const struct fmt_header *h,
		     const uint8_t fek[static KD_FEK_LEN], int backend,
		     struct cipher_key **out)
{
	uint8_t info[sizeof(key_info) + 1]; /* label (no NUL) + 2 */
	uint8_t k[CIPHER_KEY_MAX];
	int r, klen;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!h || !fek || !alg_ok(h->cipher))
		return -EINVAL;
	klen = cipher_alg_keylen(h->cipher);
	if (klen < 0 || klen > CIPHER_KEY_MAX)
		return -EINVAL;
	/* info = label || version || cipher: a key never serves two
	 * algorithms or two format versions. */
	memcpy(info, key_info, sizeof(key_info) - 1);
	info[sizeof(key_info) - 1] = (uint8_t)h->version;
	info[sizeof(key_info)] = h->cipher;
	r = cipher_hkdf(h->file_id, FMT_FILE_ID_LEN, fek, KD_FEK_LEN, info,
			sizeof(info), k, (size_t)klen);
	if (r == 0)
		r = cipher_key_new(h->cipher, backend, k, (size_t)klen, out);
	secmem_wipe(k, sizeof(k));
	return r;
}

/* AD of a size slot: label || fixed header (npackets zeroed, as for keyd)
 * || the slot's seq || flags || reserved (the seal lag) [|| the name
 * binding tag, FMT_RF_NAME_BIND only]. The size itself is the AEAD's
 * plaintext: hidden, so the lower directory shows sizes only to 4 KiB.
 * Returns the AD length. */
static size_t size_ad(const struct fmt_header *h, const uint8_t *slot,
		      uint8_t ad[static SS_AD_MAX])
{
	memcpy(ad, size_label, 16);
	fmt_header_ad(h, ad + 16, FMT_FIXED_LEN);
	memcpy(ad + 16 + FMT_FIXED_LEN, slot + SS_SEQ, 8);
	memcpy(ad + 16 + FMT_FIXED_LEN + 8, slot + SS_FLAGS, 8);
	if (!(h->req_flags & FMT_RF_NAME_BIND))
		return SS_AD_LEN;
	memcpy(ad + SS_AD_LEN, slot + SS_BIND, FMT_BIND_LEN);
	return SS_AD_MAX;
}

/* Both slots are sealed by us and only rewritten whole, one at a time, so
 * a slot that is not empty must verify: otherwise flipping the current
 * slot's bits would silently select the older (smaller) size. A torn slot
 * write (power loss) is therefore an error; fsck uses the fallback. */
static int size_open(struct fmt_header *h, struct cipher_thread *th,
		     const struct cipher_key *key, bool fallback)
{
	uint8_t ad[SS_AD_MAX], pt[8];
	int best = -1, bad = 0;
	uint64_t best_seq = 0, best_size = 0;
	uint8_t verified = 0;
	bool empty = false;

	if (!h || !th || !key)
		return -EINVAL;
	h->size_ok = 0;
	h->size_verified = 0;
	for (int i = 0; i < 2; i++) {
		const uint8_t *s = h->size_slot[i];
		uint64_t seq = fmt_get64(s + SS_SEQ);
		if (seq == 0) {
			/* empty (fmt_header_parse checked) */
			empty = true;
			continue;
		}
		size_t adl = size_ad(h, s, ad);
		if (cipher_open(th, key, s + SS_NONCE, ad, adl, s + SS_SIZE,
				pt, 8, s + SS_TAG) != 0 ||
		    fmt_get64(pt) > FMT_MAX_SIZE) {
			bad++;
			continue;
		}
		verified |= (uint8_t)(1u << i);
		if (best < 0 || seq > best_seq) {
			best = i;
			best_seq = seq;
			best_size = fmt_get64(pt);
		}
	}
	if (best < 0 || (bad && !fallback))
		return -EBADMSG;
	/* Only a new file has an empty slot (the one beside seq 1): every
	 * later update alternates between both. A written file's older slot
	 * is the DIRTY commit before its clean close, so an erased current
	 * slot would make that state current: a clean file turned
	 * recovering, no records seal check, the older version of every
	 * extent accepted. */
	if (empty && best_seq != 1 && !fallback)
		return -ESTALE;
	h->size_cur = (uint8_t)best;
	h->size_seq = best_seq;
	h->size = best_size;
	h->size_flags = fmt_get32(h->size_slot[best] + SS_FLAGS);
	h->size_lag = fmt_get32(h->size_slot[best] + SS_LAG);
	memcpy(h->bind_tag, h->size_slot[best] + SS_BIND, FMT_BIND_LEN);
	h->recovering = (h->size_flags & FMT_SZ_DIRTY) != 0 || bad;
	h->size_verified = verified;
	h->size_ok = 1;
	return 0;
}

int fmt_size_open(struct fmt_header *h, struct cipher_thread *th,
		  const struct cipher_key *key)
{
	return size_open(h, th, key, false);
}

int fmt_size_open_fallback(struct fmt_header *h, struct cipher_thread *th,
			   const struct cipher_key *key)
{
	return size_open(h, th, key, true);
}

int fmt_size_next(const struct fmt_header *h, uint64_t *seq, unsigned *slot)
{
	/* A new file has no current slot: slot 0, seq 1. */
	if (h->size_ok) {
		*slot = h->size_cur ^ 1u;
		return __builtin_add_overflow(h->size_seq, 1, seq) ? -EINVAL
								   : 0;
	}
	/* Only a new file may start over: a parsed header must be opened
	 * first, or seq 1 could lose to an older slot. */
	if (!fmt_all_zero(h->size_slot[0], FMT_SIZE_SLOT_LEN) ||
	    !fmt_all_zero(h->size_slot[1], FMT_SIZE_SLOT_LEN))
		return -EINVAL;
	*slot = 0;
	*seq = 1;
	return 0;
}

/* Seals (size, flags, lag, h->bind_tag) into the slot not holding the
 * current size, with seq = current + 1 (a new file: slot 0, seq 1), and
 * makes it current. */
static int slot_write(struct fmt_header *h, struct cipher_thread *th,
		      const struct cipher_key *key, uint64_t size,
		      uint32_t flags, uint32_t lag, uint64_t *off,
		      uint32_t *len)
{
	uint8_t ad[SS_AD_MAX], pt[8];
	uint8_t s[FMT_SIZE_SLOT_LEN];
	unsigned t;
	uint64_t seq;
	int r;

	if (!h || !th || !key || size > FMT_MAX_SIZE ||
	    fmt_size_next(h, &seq, &t) < 0)
		return -EINVAL;
	if (h->recovering)
		flags |= FMT_SZ_DIRTY;
	/* A clean slot of a sealed file vouches for the records: only with
	 * the seal made for exactly this slot (FORMAT.md "Records seal"),
	 * or `lag` slots before it (a rebind). */
	if ((h->req_flags & FMT_RF_ROLLBACK_MAC) && !(flags & FMT_SZ_DIRTY) &&
	    (!h->seal_made || h->seal_seq != seq - lag || h->seal_size != size))
		return -EINVAL;
	if (lag && !(h->req_flags & FMT_RF_ROLLBACK_MAC))
		return -EINVAL;
	memset(s, 0, sizeof(s));
	fmt_put64(s + SS_SEQ, seq);
	fmt_put64(pt, size);
	fmt_put32(s + SS_FLAGS, flags);
	fmt_put32(s + SS_LAG, lag);
	if (h->req_flags & FMT_RF_NAME_BIND)
		memcpy(s + SS_BIND, h->bind_tag, FMT_BIND_LEN);
	r = cipher_random(s + SS_NONCE, CIPHER_NONCE_LEN);
	if (r < 0)
		return r;
	size_t adl = size_ad(h, s, ad);
	r = cipher_seal(th, key, s + SS_NONCE, ad, adl, pt, s + SS_SIZE, 8,
			s + SS_TAG);
	if (r < 0)
		return r;
	memcpy(h->size_slot[t], s, sizeof(s));
	h->size_cur = (uint8_t)t;
	h->size_seq = seq;
	h->size = size;
	h->size_flags = flags;
	h->size_lag = lag;
	h->size_verified |= (uint8_t)(1u << t);
	h->size_ok = 1;
	if (off)
		*off = FMT_SIZE_SLOT_OFF + (uint64_t)t * FMT_SIZE_SLOT_LEN;
	if (len)
		*len = FMT_SIZE_SLOT_LEN;
	return 0;
}

int fmt_size_update(struct fmt_header *h, struct cipher_thread *th,
		    const struct cipher_key *key, uint64_t size,
		    uint32_t flags, uint64_t *off, uint32_t *len)
{
	return slot_write(h, th, key, size, flags, 0, off, len);
}

void fmt_name_bind_tag(const uint8_t *dirid, const char *lname, size_t len,
		       uint8_t tag[static FMT_BIND_LEN])
{
	static const char label[] = "cryptstack name bind v1"; /* no NUL */
	static const uint8_t zero[FMT_DIRID_LEN];
	uint8_t d[32];
	mbedtls_sha256_context c;

	mbedtls_sha256_init(&c);
	if (mbedtls_sha256_starts_ret(&c, 0) != 0 ||
	    mbedtls_sha256_update_ret(&c, (const uint8_t *)label,
				      sizeof(label) - 1) != 0 ||
	    mbedtls_sha256_update_ret(&c, dirid ? dirid : zero,
				      FMT_DIRID_LEN) != 0 ||
	    mbedtls_sha256_update_ret(&c, (const uint8_t *)lname, len) != 0 ||
	    mbedtls_sha256_finish_ret(&c, d) != 0)
		memset(d, 0xff, sizeof(d)); /* matches no slot: fails closed */
	mbedtls_sha256_free(&c);
	memcpy(tag, d, FMT_BIND_LEN);
}

int fmt_size_bind_check(struct fmt_header *h,
			const uint8_t expected[static FMT_BIND_LEN])
{
	if (!h || !expected || !h->size_ok)
		return -EINVAL;
	if (!(h->req_flags & FMT_RF_NAME_BIND))
		return 0;
	const uint8_t *cur = h->size_slot[h->size_cur] + SS_BIND;
	const uint8_t *old = h->size_slot[h->size_cur ^ 1u];
	if (fmt_all_zero(cur, FMT_BIND_LEN) ||
	    !memcmp(cur, expected, FMT_BIND_LEN))
		return 0;
	/* The older-slot rule stands for a rename interrupted between its
	 * first slot write and the lower rename: that write made the current
	 * slot from the older one, so their seqs are adjacent, and the older
	 * slot verified (not skipped by fmt_size_open_fallback). A slot of
	 * an earlier name spliced in from a backup of the header is older
	 * than that and is refused (else the file's present content answers
	 * to any name it once had). */
	if ((h->size_verified & (1u << (h->size_cur ^ 1u))) &&
	    h->size_seq > 0 && fmt_get64(old + SS_SEQ) == h->size_seq - 1 &&
	    !memcmp(old + SS_BIND, expected, FMT_BIND_LEN)) {
		memcpy(h->bind_tag, expected, FMT_BIND_LEN);
		return 1;
	}
	return -EBADMSG;
}

int fmt_size_rebind(struct fmt_header *h, struct cipher_thread *th,
		    const struct cipher_key *key,
		    const uint8_t tag[static FMT_BIND_LEN], uint64_t *off,
		    uint32_t *len)
{
	uint32_t lag = 0;
	if (!h || !tag || !h->size_ok || !(h->req_flags & FMT_RF_NAME_BIND))
		return -EINVAL;
	bool clean = !h->recovering && !(h->size_flags & FMT_SZ_DIRTY);
	if (clean && (h->req_flags & FMT_RF_ROLLBACK_MAC)) {
		if (h->size_lag == UINT32_MAX)
			return -EOVERFLOW;
		lag = h->size_lag + 1;
		/* the seal on disk is the one made for seq - lag */
		h->seal_made = 1;
		h->seal_seq = h->size_seq - h->size_lag;
		h->seal_size = h->size;
	}
	uint8_t keep[FMT_BIND_LEN];
	memcpy(keep, h->bind_tag, FMT_BIND_LEN);
	memcpy(h->bind_tag, tag, FMT_BIND_LEN);
	int r = slot_write(h, th, key, h->size, h->size_flags, lag, off, len);
	if (r < 0)
		memcpy(h->bind_tag, keep, FMT_BIND_LEN);
	return r;
}

void fmt_recovery_done(struct fmt_header *h)
{
	if (h)
		h->recovering = 0;
}

int fmt_check_lower_size(const struct fmt_header *h, uint64_t lower_size)
{
	if (!h || !h->size_ok)
		return -EINVAL;
	return lower_size >= fmt_lower_size(h->size) ? 0 : -EBADMSG;
}
