/* SPDX-License-Identifier: MIT */
/*
 * csfmt: the native on-disk format. Round trips through a model lower file
 * (fmt_model.c, which follows FORMAT.md's update order), every single-bit
 * flip, extent swaps and moves, truncation, replay, crash states, names,
 * side files, symlinks, xattrs, and the committed golden files.
 */
#include <errno.h>
#include <mbedtls/sha256.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "fmt_model.h"
#include "util.h"

static const uint8_t FEKEK[32] = "golden FEKEK: not a secret key!";
static const uint8_t KID[KD_ID_LEN] = { 'g', 'o', 'l', 'd', 'k', 'e', 'y', '1' };
static const uint8_t FEK[32] = "golden FEK for the format tests";
static uint8_t NAMES_KEY[FMT_NAMES_KEY_LEN];
static const uint8_t DIRID[FMT_DIRID_LEN] = "dir id of golden";
static struct fake_keyd kd;

static void pattern(uint8_t *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static int suite_init(void)
{
	model_backend = cipher_backend_default();
	if (cipher_thread_new(model_backend, &model_th) != 0)
		return -1;
	for (unsigned i = 0; i < FMT_NAMES_KEY_LEN; i++)
		NAMES_KEY[i] = (uint8_t)(0x40 + i);
	return fake_keyd_init(&kd, FEKEK, KID) == 0 ? 0 : -1;
}

static int suite_fini(void)
{
	fake_keyd_free(&kd);
	cipher_thread_free(model_th);
	return 0;
}

/* Creates a file of `size` bytes of pattern(seed) through the model. */
static int make_file(struct tfile *tf, int alg, uint64_t size, unsigned seed,
		     uint8_t **plain)
{
	uint8_t *p = malloc(size ? size : 1);
	int r;
	if (!p)
		abort();
	pattern(p, size, seed);
	r = tf_create(tf, &kd, alg, FEK);
	if (r == 0 && size)
		r = tf_pwrite(tf, 0, p, size);
	if (plain)
		*plain = p;
	else
		free(p);
	return r;
}

/* Re-opens lf from scratch and compares its content with want. */
static int reopen_check(const struct lower *lf, const uint8_t *want,
			uint64_t size)
{
	struct tfile t = { 0 };
	uint8_t *got = NULL;
	long n;
	int r;

	lower_copy(&t.lf, lf);
	r = tf_open(&t, &kd);
	if (r == 0) {
		n = tf_read_all(&t, &got);
		if (n < 0)
			r = (int)n;
		else if ((uint64_t)n != size || (size && memcmp(got, want, size)))
			r = 1; /* wrong data: the worst outcome */
	}
	free(got);
	tf_close(&t);
	lower_free(&t.lf);
	return r;
}

/* ---- geometry -------------------------------------------------------- */

static void test_geometry(void)
{
	CU_ASSERT_EQUAL(fmt_lower_size(0), 4096);
	CU_ASSERT_EQUAL(fmt_lower_size(1), 8192);
	CU_ASSERT_EQUAL(fmt_lower_size(100), 8192); /* eCryptfs: 12288 */
	CU_ASSERT_EQUAL(fmt_lower_size(4096), 8192);
	CU_ASSERT_EQUAL(fmt_lower_size(4097), 12288);
	CU_ASSERT_EQUAL(fmt_lower_size(52 * 4096), 53 * 4096);
	CU_ASSERT_EQUAL(fmt_lower_size(52 * 4096 + 1), 58 * 4096);
	CU_ASSERT_EQUAL(fmt_lower_size(256 * 4096), 261 * 4096);
	CU_ASSERT_EQUAL(fmt_lower_size(256 * 4096 + 1), 266 * 4096);
	CU_ASSERT_EQUAL(fmt_lower_size(FMT_MAX_SIZE + 1), UINT64_MAX);
	CU_ASSERT_EQUAL(fmt_extent_count(0), 0);
	CU_ASSERT_EQUAL(fmt_extent_count(4096), 1);
	CU_ASSERT_EQUAL(fmt_extent_count(4097), 2);
	CU_ASSERT_EQUAL(fmt_rec_off(0), FMT_HDR_AREA);
	CU_ASSERT_EQUAL(fmt_rec_off(51), 4096 - 64);
	CU_ASSERT_EQUAL(fmt_rec_off(52), 53 * 4096);
	CU_ASSERT_EQUAL(fmt_rec_off(256), 261 * 4096);
	CU_ASSERT_EQUAL(fmt_data_off(0), 4096);
	CU_ASSERT_EQUAL(fmt_data_off(52), 57 * 4096);
	CU_ASSERT_EQUAL(fmt_data_off(256), 265 * 4096);

	/* No two extents' data or records overlap, data never overlaps any
	 * record, records never cross a sector, data is block aligned. */
	enum { N = 1200 };
	static uint8_t map[(N + 20) * 5]; /* one byte per block */
	memset(map, 0, sizeof(map));
	map[0] = 2;
	for (uint64_t i = 0; i < N; i++) {
		uint64_t d = fmt_data_off(i), ro = fmt_rec_off(i);
		CU_ASSERT_EQUAL(d % FMT_BLOCK, 0);
		CU_ASSERT_EQUAL(ro / FMT_SECTOR, (ro + FMT_REC_LEN - 1) / FMT_SECTOR);
		CU_ASSERT(d / FMT_BLOCK < sizeof(map));
		CU_ASSERT_EQUAL(map[d / FMT_BLOCK], 0);
		map[d / FMT_BLOCK] = 1;
		CU_ASSERT(ro < fmt_data_off(i)); /* records before data */
		CU_ASSERT(fmt_lower_size((i + 1) * 4096) == d + 4096);
		if (i)
			CU_ASSERT(fmt_rec_off(i) == fmt_rec_off(i - 1) + 64 ||
				  i == 52 || i % 256 == 0);
	}
	for (uint64_t i = 0; i < N; i++) {
		uint64_t ro = fmt_rec_off(i);
		CU_ASSERT_NOT_EQUAL(map[ro / FMT_BLOCK], 1);
		map[ro / FMT_BLOCK] = 2;
	}

	struct fmt_seg s;
	CU_ASSERT_EQUAL(fmt_seg(0, 1000, &s), 52);
	CU_ASSERT_EQUAL(fmt_seg(52, 1000, &s), 204);
	CU_ASSERT_EQUAL(s.data_off, 57 * 4096);
	CU_ASSERT_EQUAL(fmt_seg(256, 1000, &s), 256);
	CU_ASSERT_EQUAL(fmt_seg(300, 5, &s), 5);
	CU_ASSERT_EQUAL(fmt_seg(300, 0, &s), 0);
	CU_ASSERT_EQUAL(fmt_seg(FMT_MAX_EXTENTS, 1, &s), 0);
	CU_ASSERT_EQUAL(fmt_seg(FMT_MAX_EXTENTS - 1, 9, &s), 1);

	struct fmt_range r;
	CU_ASSERT_EQUAL(fmt_range(0, 4096, 10000, &r), 0);
	CU_ASSERT(r.first == 0 && r.count == 1 && !r.head_partial && !r.tail_partial);
	CU_ASSERT_EQUAL(fmt_range(100, 10, 10000, &r), 0);
	CU_ASSERT(r.count == 1 && r.head_partial && r.tail_partial && r.head == 100 && r.tail == 110);
	CU_ASSERT_EQUAL(fmt_range(4096, 50, 4100, &r), 0);
	CU_ASSERT(r.first == 1 && !r.tail_partial); /* covers the live bytes */
	CU_ASSERT_EQUAL(fmt_range(4097, 50, 4100, &r), 0);
	CU_ASSERT(r.first == 1 && r.head_partial);
	CU_ASSERT_EQUAL(fmt_range(4096, 4, 4100, &r), 0);
	CU_ASSERT(!r.head_partial && !r.tail_partial); /* covers all live bytes */
	CU_ASSERT_EQUAL(fmt_range(5000, 10, 4100, &r), 0);
	CU_ASSERT(r.head_partial); /* bytes 4096..4099 live */
	CU_ASSERT_EQUAL(fmt_range(8192, 10, 4100, &r), 0);
	CU_ASSERT(!r.head_partial && !r.tail_partial); /* beyond EOF: zeros */
	CU_ASSERT_EQUAL(fmt_range(4095, 2, 8192, &r), 0);
	CU_ASSERT(r.count == 2 && r.head_partial && r.tail_partial);
	CU_ASSERT_EQUAL(fmt_range(0, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(r.count, 0);
	CU_ASSERT_EQUAL(fmt_range(UINT64_MAX, 2, 0, &r), -EFBIG);
	CU_ASSERT_EQUAL(fmt_range(FMT_MAX_SIZE, 1, 0, &r), -EFBIG);

	uint64_t o, l;
	fmt_tail_records(0, &o, &l);
	CU_ASSERT(o == FMT_HDR_AREA && l == 52 * 64);
	fmt_tail_records(100, &o, &l);
	CU_ASSERT(o == FMT_HDR_AREA + 64 && l == 51 * 64);
	fmt_tail_records(52 * 4096, &o, &l);
	CU_ASSERT_EQUAL(l, 0);
	fmt_tail_records(53 * 4096, &o, &l);
	CU_ASSERT(o == fmt_rec_off(53) && l == 203 * 64);
	fmt_tail_records(256 * 4096, &o, &l);
	CU_ASSERT_EQUAL(l, 0);
	fmt_tail_records(257 * 4096, &o, &l);
	CU_ASSERT(o == fmt_rec_off(257) && l == 255 * 64);
}

/* ---- header --------------------------------------------------------- */

static void test_header_parse(void)
{
	struct tfile tf;
	struct fmt_header h;
	uint8_t b[FMT_HDR_BLOCK];

	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, 0, 1, NULL), 0);
	memcpy(b, tf.lf.b, sizeof(b));
	CU_ASSERT_EQUAL(fmt_header_parse(b, sizeof(b), &h), 0);
	CU_ASSERT_EQUAL(fmt_header_parse(b, FMT_HDR_AREA, &h), 0);
	CU_ASSERT_EQUAL(fmt_header_parse(b, FMT_HDR_AREA - 1, &h), -EINVAL);
	CU_ASSERT_EQUAL(fmt_header_parse(b, 0, &h), -EMEDIUMTYPE);
	CU_ASSERT_EQUAL(fmt_header_parse(NULL, 10, &h), -EINVAL);
	CU_ASSERT_EQUAL(h.npackets, 0); /* zeroed on error */

	uint8_t c[FMT_HDR_BLOCK];
#define MUT(stmt, err)                                                  \
	do {                                                            \
		memcpy(c, b, sizeof(c));                                \
		stmt;                                                   \
		CU_ASSERT_EQUAL(fmt_header_parse(c, sizeof(c), &h), err); \
	} while (0)
	MUT(c[0] = 'C', -EMEDIUMTYPE);
	MUT(c[8] = 2, -EPROTONOSUPPORT);
	MUT(c[9] = 1, -EPROTONOSUPPORT);
	MUT(c[12] |= 0x80, -EOPNOTSUPP); /* unknown required flag */
	/* Stripping the records seal flag leaves a non-zero seal where v1
	 * has zero padding (and the flags are bound to the packets). */
	MUT(c[12] &= (uint8_t)~FMT_RF_ROLLBACK_MAC, -EINVAL);
	MUT(c[FMT_SEAL_OFF + 28] = 1, -EINVAL); /* seal reserved */
	MUT(c[15] = 0x80, -EOPNOTSUPP);
	MUT(c[16] = 0x80, 0); /* unknown optional flag: fine */
	MUT(c[10] = 0, -EINVAL); /* cipher */
	MUT(c[10] = 4, -EINVAL);
	MUT(c[11] = 0, -EINVAL); /* npackets */
	MUT(c[11] = 9, -EINVAL);
	MUT(c[11] = 2, -EINVAL); /* second packet all zero */
	MUT(c[20] = 13, -EINVAL); /* extent shift */
	MUT(c[21] = 1, -EINVAL);
	MUT(c[63] = 1, -EINVAL);
	MUT(c[FMT_HDR_AREA - 1] = 1, -EINVAL); /* packet padding */
	/* a sealed, bound file: slot bytes 20..23 (seal lag) and 52..63
	 * (name tag) are fields, checked by the AEAD (test_name_bind; v1
	 * files: reserved) */
	MUT(c[FMT_SIZE_SLOT_OFF + 20] = 1, 0);
	MUT(c[FMT_SIZE_SLOT_OFF + 64 + 30] = 1, -EINVAL); /* seq 0, not empty */
	MUT(memcpy(c + FMT_PKT_OFF + 68, c + FMT_PKT_OFF, 68); c[11] = 2,
	    -EINVAL); /* duplicate key id */
	MUT(c[FMT_HDR_AREA] ^= 1, 0); /* records are not the header's */
#undef MUT
	/* A parsed header must be size-opened before a size update. */
	CU_ASSERT_EQUAL(fmt_header_parse(b, sizeof(b), &h), 0);
	CU_ASSERT_EQUAL(fmt_size_update(&h, model_th, tf.key, 5, FMT_SZ_DIRTY,
					NULL, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(fmt_size_open(&h, model_th, tf.key), 0);
	/* A clean slot of a sealed file needs the seal made for it. */
	CU_ASSERT_EQUAL(fmt_size_update(&h, model_th, tf.key, 5, 0, NULL, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(fmt_size_update(&h, model_th, tf.key, 5, FMT_SZ_DIRTY,
					NULL, NULL),
			0);

	/* AD: the fixed header with npackets zeroed (recipients change). */
	uint8_t ad[FMT_FIXED_LEN];
	CU_ASSERT_EQUAL(fmt_header_ad(&tf.h, ad, sizeof(ad) - 1), -ENOSPC);
	CU_ASSERT_EQUAL(fmt_header_ad(&tf.h, ad, sizeof(ad)), FMT_FIXED_LEN);
	CU_ASSERT_EQUAL(memcmp(ad, "cryptstk", 8), 0);
	CU_ASSERT_EQUAL(ad[11], 0);
	CU_ASSERT_EQUAL(memcmp(ad + 24, tf.h.file_id, 16), 0);

	/* Bad inputs to the builders. */
	struct kd_packet p[9];
	memset(p, 0, sizeof(p));
	CU_ASSERT_EQUAL(fmt_header_new(&h, 0), -EINVAL);
	CU_ASSERT_EQUAL(fmt_header_new(&h, 4), -EINVAL);
	CU_ASSERT_EQUAL(fmt_header_new(&h, CIPHER_AES128GCM), 0);
	CU_ASSERT_EQUAL(fmt_header_set_packets(&h, p, 0), -EINVAL);
	CU_ASSERT_EQUAL(fmt_header_set_packets(&h, p, 9), -EINVAL);
	CU_ASSERT_EQUAL(fmt_header_set_packets(&h, p, 1), -EINVAL); /* zero id */
	p[0].id[0] = 1;
	p[1].id[0] = 1;
	CU_ASSERT_EQUAL(fmt_header_set_packets(&h, p, 2), -EINVAL); /* dup */
	p[1].id[0] = 2;
	CU_ASSERT_EQUAL(fmt_header_set_packets(&h, p, 2), 0);
	uint8_t area[FMT_HDR_AREA];
	CU_ASSERT_EQUAL(fmt_header_serialize(&h, area), -EINVAL); /* no size */

	/* Recipients: adding a packet keeps the first one valid. */
	struct kd_packet two[2];
	two[0] = tf.h.pkt[0];
	memset(&two[1], 0, sizeof(two[1]));
	memcpy(two[1].id, "other-id", 8);
	CU_ASSERT_EQUAL(fmt_header_set_packets(&tf.h, two, 2), 0);
	CU_ASSERT_EQUAL(fmt_header_serialize(&tf.h, area), 0);
	lower_write(&tf.lf, 0, area, sizeof(area));
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, NULL, 0), 0);
	/* ... and dropping it again without the file key (keyd's
	 * `recipients`: parse, set packets, serialize). */
	struct fmt_header ph;
	CU_ASSERT_EQUAL(fmt_header_parse(tf.lf.b, tf.lf.len, &ph), 0);
	CU_ASSERT_EQUAL(ph.npackets, 2);
	CU_ASSERT_EQUAL(fmt_header_set_packets(&ph, ph.pkt, 1), 0);
	CU_ASSERT_EQUAL(fmt_header_serialize(&ph, area), 0);
	lower_write(&tf.lf, 0, area, sizeof(area));
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, NULL, 0), 0);
	CU_ASSERT_EQUAL(tf.lf.b[11], 1);

	tf_close(&tf);
	lower_free(&tf.lf);
}

/* ---- round trips ---------------------------------------------------- */

static void roundtrip(int alg, uint64_t size)
{
	struct tfile tf;
	uint8_t *p;
	int r = make_file(&tf, alg, size, (unsigned)size, &p);

	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(tf.lf.len, fmt_lower_size(size));
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, size), 0);
	/* No plaintext in the lower file (beyond trivial matches). */
	if (size >= 64)
		CU_ASSERT_PTR_NULL(memmem(tf.lf.b, tf.lf.len, p, 32));
	tf_close(&tf);
	lower_free(&tf.lf);
	free(p);
}

static void test_roundtrip(void)
{
	static const uint64_t sizes[] = { 0, 1, 100, 4095, 4096, 4097,
					  52 * 4096, 52 * 4096 + 1,
					  (1 << 20) + 1, 3 << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		roundtrip(CIPHER_AES256GCM, sizes[i]);
	roundtrip(CIPHER_AES128GCM, 4097);
	roundtrip(CIPHER_CHACHA20POLY1305, 4097);
	roundtrip(CIPHER_CHACHA20POLY1305, (1 << 20) + 1);
}

/* Random writes and truncations against a plain buffer. */
static void test_random_ops(void)
{
	enum { MAXSZ = 1300 * 1024 };
	uint8_t *ref = calloc(1, MAXSZ), *buf = malloc(MAXSZ), *got = NULL;
	uint64_t size = 0;
	struct tfile tf;
	uint32_t x = 12345;

	CU_ASSERT_EQUAL_FATAL(tf_create(&tf, &kd, CIPHER_AES256GCM, FEK), 0);
	for (int step = 0; step < 120; step++) {
		x = x * 1103515245u + 12345u;
		unsigned kind = (x >> 8) % 8;
		x = x * 1103515245u + 12345u;
		uint64_t off = (x >> 4) % (MAXSZ - 70000);
		x = x * 1103515245u + 12345u;
		uint64_t len = (x >> 4) % 65536;
		if (kind == 0) { /* far sparse write near the max */
			off = MAXSZ - 5000;
			len = 100;
		}
		if (kind < 6) {
			pattern(buf, len, (unsigned)step);
			CU_ASSERT_EQUAL_FATAL(tf_pwrite(&tf, off, buf, len), 0);
			memcpy(ref + off, buf, len);
			if (off + len > size)
				size = off + len;
		} else {
			uint64_t ns = kind == 6 ? off / 3 : off;
			CU_ASSERT_EQUAL_FATAL(tf_truncate(&tf, ns), 0);
			if (ns < size)
				memset(ref + ns, 0, size - ns);
			size = ns;
		}
		CU_ASSERT_EQUAL_FATAL(tf.h.size, size);
		CU_ASSERT_EQUAL(tf.lf.len >= fmt_lower_size(size), 1);
		if (step % 10 == 9 || kind >= 6) {
			CU_ASSERT_EQUAL(reopen_check(&tf.lf, ref, size), 0);
		}
	}
	/* Single-byte reads at extent edges. */
	uint8_t one;
	for (uint64_t o = 4090; o < 4100 && o < size; o++) {
		CU_ASSERT_EQUAL(tf_pread(&tf, o, &one, 1), 1);
		CU_ASSERT_EQUAL(one, ref[o]);
	}
	CU_ASSERT_EQUAL(tf_read_all(&tf, &got), (long)size);
	CU_ASSERT(got && memcmp(got, ref, size) == 0);
	free(got);
	tf_close(&tf);
	lower_free(&tf.lf);
	free(ref);
	free(buf);
}

static void test_sparse(void)
{
	struct tfile tf;
	uint8_t a[100], *got = NULL;
	uint64_t far = 300 * 4096 + 7;

	pattern(a, sizeof(a), 7);
	CU_ASSERT_EQUAL_FATAL(tf_create(&tf, &kd, CIPHER_AES256GCM, FEK), 0);
	CU_ASSERT_EQUAL(tf_pwrite(&tf, 10, a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(tf_pwrite(&tf, far, a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(tf.h.size, far + sizeof(a));
	/* Extents 1..299 were never written: zero records, zero data. */
	CU_ASSERT(fmt_rec_is_zero(tf.lf.b + fmt_rec_off(100)));
	CU_ASSERT_EQUAL(tf_read_all(&tf, &got), (long)(far + sizeof(a)));
	CU_ASSERT(got && memcmp(got + 10, a, 100) == 0);
	CU_ASSERT(got && memcmp(got + far, a, 100) == 0);
	int zero = 1;
	for (uint64_t i = 110; got && i < far; i++)
		zero &= got[i] == 0;
	CU_ASSERT(zero);
	free(got);
	/* Truncate up: new space reads as zeros. */
	CU_ASSERT_EQUAL(tf_truncate(&tf, 1 << 21), 0);
	uint8_t z[64];
	CU_ASSERT_EQUAL(tf_pread(&tf, (1 << 21) - 64, z, 64), 64);
	CU_ASSERT(fmt_rec_is_zero(tf.lf.b + fmt_rec_off(400)));
	/* Punch extent 0 into a hole (record first, then data). */
	fmt_rec_punch(tf.lf.b + fmt_rec_off(0), 255);
	memset(tf.lf.b + fmt_data_off(0), 0, 4096);
	CU_ASSERT_EQUAL(tf_pread(&tf, 0, z, 64), 64);
	CU_ASSERT(z[10] == 0 && z[20] == 0);
	tf_close(&tf);
	lower_free(&tf.lf);
}

/* ---- tampering ------------------------------------------------------ */

/* Flips bit `bit` of a copy of lf; 0 if detected (error), 1 if the content
 * read back is unchanged (harmless: e.g. a stale slot), 2 if wrong data. */
static int flip_one(const struct lower *lf, const uint8_t *want,
		    uint64_t size, uint64_t bit)
{
	struct lower c;
	lower_copy(&c, lf);
	c.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	int r = reopen_check(&c, want, size);
	lower_free(&c);
	return r < 0 ? 0 : r == 0 ? 1 : 2;
}

static void test_bitflip_one_extent(void)
{
	struct tfile tf;
	uint8_t *p;
	unsigned wrong = 0, live_missed = 0;

	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, 4000, 3, &p), 0);
	tf_close(&tf);
	uint64_t cur = FMT_SIZE_SLOT_OFF + tf.h.size_cur * FMT_SIZE_SLOT_LEN;
	/* Live bytes: fixed header, the current size slot, the packet, the
	 * packet padding, record 0's current slot, the data. */
	for (uint64_t bit = 0; bit < tf.lf.len * 8; bit++) {
		int o = flip_one(&tf.lf, p, 4000, bit);
		uint64_t byte = bit / 8;
		bool live = byte < FMT_FIXED_LEN ||
			    (byte >= cur && byte < cur + FMT_SIZE_SLOT_LEN) ||
			    (byte >= FMT_PKT_OFF && byte < FMT_HDR_AREA) ||
			    (byte >= FMT_HDR_AREA && byte < FMT_HDR_AREA + 32) ||
			    byte >= FMT_HDR_BLOCK;
		wrong += o == 2;
		live_missed += o != 0 && live;
		if (o == 2 || (o != 0 && live))
			printf("bit %lu byte %lu: %d\n", (unsigned long)bit,
			       (unsigned long)byte, o);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(live_missed, 0);
	lower_free(&tf.lf);
	free(p);
}

static void test_bitflip_sampled(void)
{
	struct tfile tf;
	uint8_t *p, buf[300];
	unsigned wrong = 0, detected = 0, tried = 0;
	uint64_t size = 60 * 4096 + 123; /* header records and group 0 meta */

	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, size, 4, &p), 0);
	/* Overwrite a few extents so that records hold two full slots. */
	pattern(buf, sizeof(buf), 99);
	CU_ASSERT_EQUAL(tf_pwrite(&tf, 4096 * 3 + 5, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(tf_pwrite(&tf, 4096 * 55, buf, sizeof(buf)), 0);
	memcpy(p + 4096 * 3 + 5, buf, sizeof(buf));
	memcpy(p + 4096 * 55, buf, sizeof(buf));
	tf_close(&tf);
	for (uint64_t bit = 3; bit < tf.lf.len * 8; bit += 997) {
		int o = flip_one(&tf.lf, p, size, bit);
		wrong += o == 2;
		detected += o == 0;
		tried++;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(detected > tried * 9 / 10);
	lower_free(&tf.lf);
	free(p);
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[4096];
	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

static void test_swap_and_move(void)
{
	struct tfile a, b;
	uint8_t *pa, *pb;
	uint64_t size = 300 * 4096;
	struct lower c;

	CU_ASSERT_EQUAL_FATAL(make_file(&a, CIPHER_AES256GCM, size, 5, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(make_file(&b, CIPHER_AES256GCM, size, 6, &pb), 0);
	static const uint64_t pos[][2] = { { 0, 1 }, { 3, 51 }, { 51, 52 },
					   { 52, 255 }, { 0, 256 }, { 256, 299 } };
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		uint64_t x = pos[i][0], y = pos[i][1];
		/* Data and records swapped together. */
		lower_copy(&c, &a.lf);
		swap_bytes(c.b + fmt_data_off(x), c.b + fmt_data_off(y), 4096);
		swap_bytes(c.b + fmt_rec_off(x), c.b + fmt_rec_off(y), 64);
		CU_ASSERT(reopen_check(&c, pa, size) < 0);
		lower_free(&c);
		/* Data only. */
		lower_copy(&c, &a.lf);
		swap_bytes(c.b + fmt_data_off(x), c.b + fmt_data_off(y), 4096);
		CU_ASSERT(reopen_check(&c, pa, size) < 0);
		lower_free(&c);
		/* Moved from the other file (same position, with record). */
		lower_copy(&c, &a.lf);
		memcpy(c.b + fmt_data_off(x), b.lf.b + fmt_data_off(x), 4096);
		memcpy(c.b + fmt_rec_off(x), b.lf.b + fmt_rec_off(x), 64);
		CU_ASSERT(reopen_check(&c, pa, size) < 0);
		lower_free(&c);
	}
	/* A whole header from another file (same FEK!): the file id differs,
	 * so the size slot and all extents fail. */
	lower_copy(&c, &a.lf);
	memcpy(c.b, b.lf.b, FMT_HDR_AREA);
	CU_ASSERT(reopen_check(&c, pa, size) < 0);
	lower_free(&c);
	/* Size slot from the other file. */
	lower_copy(&c, &a.lf);
	memcpy(c.b + FMT_SIZE_SLOT_OFF, b.lf.b + FMT_SIZE_SLOT_OFF, 128);
	CU_ASSERT(reopen_check(&c, pa, size) < 0);
	lower_free(&c);
	tf_close(&a);
	tf_close(&b);
	lower_free(&a.lf);
	lower_free(&b.lf);
	free(pa);
	free(pb);
}

/* Every pair of extents of an 8-extent file swapped (data and records),
 * and every extent replaced by the other file's at the same position. */
static void test_swap_exhaustive(void)
{
	struct tfile a, b;
	uint8_t *pa;
	uint64_t size = 8 * 4096 - 1;
	struct lower c;
	unsigned undetected = 0;

	CU_ASSERT_EQUAL_FATAL(make_file(&a, CIPHER_AES256GCM, size, 21, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(make_file(&b, CIPHER_AES256GCM, size, 21, NULL), 0);
	for (uint64_t x = 0; x < 8; x++) {
		for (uint64_t y = x + 1; y < 8; y++) {
			lower_copy(&c, &a.lf);
			swap_bytes(c.b + fmt_data_off(x), c.b + fmt_data_off(y), 4096);
			swap_bytes(c.b + fmt_rec_off(x), c.b + fmt_rec_off(y), 64);
			undetected += reopen_check(&c, pa, size) >= 0;
			lower_free(&c);
		}
		/* Same plaintext, same FEK, other file: still rejected. */
		lower_copy(&c, &a.lf);
		memcpy(c.b + fmt_data_off(x), b.lf.b + fmt_data_off(x), 4096);
		memcpy(c.b + fmt_rec_off(x), b.lf.b + fmt_rec_off(x), 64);
		undetected += reopen_check(&c, pa, size) >= 0;
		lower_free(&c);
	}
	CU_ASSERT_EQUAL(undetected, 0);
	tf_close(&a);
	tf_close(&b);
	lower_free(&a.lf);
	lower_free(&b.lf);
	free(pa);
}

static void test_truncation(void)
{
	struct tfile tf;
	uint8_t *p;
	uint64_t size = 70 * 4096;
	struct lower c;

	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, size, 8, &p), 0);
	tf_close(&tf);
	/* Cut whole extents, or one byte: the authenticated size says more. */
	static const uint64_t cuts[] = { 1, 4096, 5 * 4096, 30 * 4096 };
	for (size_t i = 0; i < 4; i++) {
		lower_copy(&c, &tf.lf);
		lower_truncate(&c, c.len - cuts[i]);
		CU_ASSERT_EQUAL(reopen_check(&c, p, size), -EBADMSG);
		/* Cut and padded back with zeros: the data now disagrees with
		 * records that are still there. */
		lower_truncate(&c, tf.lf.len);
		if (!memcmp(c.b, tf.lf.b, c.len)) { /* the cut bytes were 0 */
			lower_free(&c);
			continue;
		}
		int rr = reopen_check(&c, p, size);
		if (rr >= 0)
			printf("cut %lu: %d\n", (unsigned long)cuts[i], rr);
		CU_ASSERT(rr < 0);
		lower_free(&c);
	}
	/* The size cannot be forged (a replayed older slot pair can:
	 * FORMAT.md "Rollback"). */
	lower_copy(&c, &tf.lf);
	c.b[FMT_SIZE_SLOT_OFF + 8] ^= 1; /* size field of slot 0 */
	CU_ASSERT(reopen_check(&c, p, size) < 0);
	lower_free(&c);
	lower_free(&tf.lf);
	free(p);
}

static void test_replay(void)
{
	struct tfile tf;
	uint8_t *p, v2[4096];
	struct lower v1;

	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, 8192, 9, &p), 0);
	lower_copy(&v1, &tf.lf);
	pattern(v2, sizeof(v2), 10);
	CU_ASSERT_EQUAL(tf_pwrite(&tf, 0, v2, 4096), 0);
	memcpy(p, v2, 4096);
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, 8192), 0);

	/* Previous data of extent 0 with the current record: a clean file
	 * accepts only the newer slot -> detected. */
	struct lower c;
	lower_copy(&c, &tf.lf);
	memcpy(c.b + fmt_data_off(0), v1.b + fmt_data_off(0), 4096);
	CU_ASSERT_EQUAL(reopen_check(&c, p, 8192), -EBADMSG);
	lower_free(&c);
	/* Old data AND old record of the same position: the records seal
	 * of the clean file no longer matches (FORMAT.md "Records seal"). */
	lower_copy(&c, &tf.lf);
	memcpy(c.b + fmt_data_off(0), v1.b + fmt_data_off(0), 4096);
	memcpy(c.b + fmt_rec_off(0), v1.b + fmt_rec_off(0), 64);
	CU_ASSERT_EQUAL(reopen_check(&c, p, 8192), -EBADMSG);
	lower_free(&c);
	/* ... also with the older header area (size slots and seal) put back
	 * with it, once a second extent changed too: the older seal covers
	 * extent 1's older record. (Had only extent 0 changed, old header +
	 * old extent would be the whole older file: undetectable without
	 * state outside the file, FORMAT.md.) */
	uint8_t v3[4096];
	pattern(v3, sizeof(v3), 30);
	CU_ASSERT_EQUAL(tf_pwrite(&tf, 4096, v3, 4096), 0);
	memcpy(p + 4096, v3, 4096);
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, 8192), 0);
	lower_copy(&c, &tf.lf);
	memcpy(c.b, v1.b, FMT_HDR_AREA);
	memcpy(c.b + fmt_data_off(0), v1.b + fmt_data_off(0), 4096);
	memcpy(c.b + fmt_rec_off(0), v1.b + fmt_rec_off(0), 64);
	CU_ASSERT_EQUAL(reopen_check(&c, p, 8192), -EBADMSG);
	/* and the seal of the current state with the older size slots: the
	 * seal names the seq of the slot it was made for. */
	memcpy(c.b, tf.lf.b, FMT_HDR_AREA);
	memcpy(c.b + fmt_rec_off(0), tf.lf.b + fmt_rec_off(0), 64);
	memcpy(c.b + fmt_data_off(0), tf.lf.b + fmt_data_off(0), 4096);
	CU_ASSERT_EQUAL(reopen_check(&c, p, 8192), 0);
	memcpy(c.b + FMT_SIZE_SLOT_OFF, v1.b + FMT_SIZE_SLOT_OFF,
	       2 * FMT_SIZE_SLOT_LEN);
	CU_ASSERT_EQUAL(reopen_check(&c, p, 8192), -EBADMSG);
	lower_free(&c);
	lower_free(&v1);
	tf_close(&tf);
	lower_free(&tf.lf);
	free(p);

	/* Format v1 files (no FMT_RF_ROLLBACK_MAC) keep the v1 behaviour:
	 * not detected (the documented gap of that layout). */
	model_req_flags = 0;
	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, 8192, 9, &p), 0);
	model_req_flags = FMT_RF_NEW;
	lower_copy(&v1, &tf.lf);
	CU_ASSERT_EQUAL(tf_pwrite(&tf, 0, v2, 4096), 0);
	lower_copy(&c, &tf.lf);
	memcpy(c.b + fmt_data_off(0), v1.b + fmt_data_off(0), 4096);
	memcpy(c.b + fmt_rec_off(0), v1.b + fmt_rec_off(0), 64);
	struct tfile t2 = { .lf = c };
	CU_ASSERT_EQUAL(tf_open(&t2, &kd), 0);
	uint8_t got[16];
	CU_ASSERT_EQUAL(tf_pread(&t2, 0, got, 16), 16);
	CU_ASSERT_EQUAL(memcmp(got, p, 16), 0); /* the old content */
	tf_close(&t2);
	lower_free(&t2.lf);
	lower_free(&v1);
	tf_close(&tf);
	lower_free(&tf.lf);
	free(p);
}

/* Crash states (FORMAT.md "Crash consistency"): the record of a write is
 * on disk, its data is not. */
static void test_crash_states(void)
{
	struct tfile tf;
	uint8_t *p, nv[4096], got[4096], which[1];
	uint64_t off;
	uint32_t len;

	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, 8192, 11, &p), 0);
	uint8_t orig[8192];
	memcpy(orig, p, sizeof(orig));
	/* cryptod marks the file dirty before its first write. */
	CU_ASSERT_EQUAL(fmt_size_update(&tf.h, model_th, tf.key, 8192,
					FMT_SZ_DIRTY, &off, &len), 0);
	lower_write(&tf.lf, off, tf.h.size_slot[tf.h.size_cur], len);
	CU_ASSERT(off >= FMT_SIZE_SLOT_OFF && off + len <= FMT_SECTOR);

	/* Write v2 of extent 1: record written, then "kill -9". */
	uint8_t rec[64], ct[4096];
	memcpy(rec, tf.lf.b + fmt_rec_off(1), 64);
	pattern(nv, sizeof(nv), 12);
	CU_ASSERT_EQUAL(fmt_seal_run(model_th, tf.key, &tf.h, 1, 1, nv, ct, rec,
				     NULL), 0);
	lower_write(&tf.lf, fmt_rec_off(1), rec, 64);
	/* After the crash: old content, found in the older slot. */
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, 8192), 0);

	/* Recovery session: the writer learns which slot matches and keeps
	 * it, so a second crash still leaves the old content readable. */
	struct tfile t2 = { 0 };
	lower_copy(&t2.lf, &tf.lf);
	CU_ASSERT_EQUAL_FATAL(tf_open(&t2, &kd), 0);
	CU_ASSERT_EQUAL(t2.h.recovering, 1);
	CU_ASSERT_EQUAL(fmt_open_run(model_th, t2.key, &t2.h, 1, 1,
				     t2.lf.b + fmt_data_off(1), got,
				     t2.lf.b + fmt_rec_off(1), which, NULL), 0);
	CU_ASSERT_EQUAL(memcmp(got, p + 4096, 4096), 0);
	uint8_t verified = which[0];
	memcpy(rec, t2.lf.b + fmt_rec_off(1), 64);
	pattern(nv, sizeof(nv), 13);
	CU_ASSERT_EQUAL(fmt_seal_run(model_th, t2.key, &t2.h, 1, 1, nv, ct, rec,
				     which), 0);
	lower_write(&t2.lf, fmt_rec_off(1), rec, 64); /* crash again */
	CU_ASSERT_EQUAL(reopen_check(&t2.lf, p, 8192), 0);
	/* Had it trusted the newer (unconfirmed) slot, it would have
	 * overwritten the verified one: check the verified slot survived. */
	CU_ASSERT_EQUAL(memcmp(rec + verified * 32,
			       tf.lf.b + fmt_rec_off(1) + verified * 32, 32), 0);
	/* Now the data lands too: new content. */
	lower_write(&t2.lf, fmt_data_off(1), ct, 4096);
	memcpy(p + 4096, nv, 4096);
	CU_ASSERT_EQUAL(reopen_check(&t2.lf, p, 8192), 0);

	/* A torn data write (half old, half new): EIO, and the repair
	 * (record cleared, data zeroed) turns it into a hole. */
	memcpy(t2.lf.b + fmt_data_off(1) + 2048, tf.lf.b + fmt_data_off(1) + 2048,
	       2048);
	CU_ASSERT_EQUAL(reopen_check(&t2.lf, p, 8192), -EBADMSG);
	memset(t2.lf.b + fmt_rec_off(1), 0, 64);
	memset(t2.lf.b + fmt_data_off(1), 0, 4096);
	memset(p + 4096, 0, 4096);
	CU_ASSERT_EQUAL(reopen_check(&t2.lf, p, 8192), 0);
	tf_close(&t2);
	lower_free(&t2.lf);

	/* A recovering file keeps FMT_SZ_DIRTY whatever the caller asks. */
	struct tfile t3 = { 0 };
	lower_copy(&t3.lf, &tf.lf);
	CU_ASSERT_EQUAL_FATAL(tf_open(&t3, &kd), 0);
	CU_ASSERT_EQUAL(fmt_size_update(&t3.h, model_th, t3.key, 8192, 0, &off,
					&len), 0);
	CU_ASSERT_EQUAL(t3.h.size_flags, FMT_SZ_DIRTY);
	/* fsck: settle extent 1 (it matched its older slot), then clear. */
	uint8_t pt[4096];
	memcpy(rec, t3.lf.b + fmt_rec_off(1), 64);
	CU_ASSERT_EQUAL(fmt_open_run(model_th, t3.key, &t3.h, 1, 1,
				     t3.lf.b + fmt_data_off(1), pt, rec, which,
				     NULL), 0);
	CU_ASSERT_EQUAL(fmt_seal_run(model_th, t3.key, &t3.h, 1, 1, pt, ct, rec,
				     which), 0);
	lower_write(&t3.lf, fmt_rec_off(1), rec, 64);
	lower_write(&t3.lf, fmt_data_off(1), ct, 4096);
	fmt_recovery_done(&t3.h);
	/* A clean slot needs the records seal made for it first. */
	CU_ASSERT_EQUAL(fmt_size_update(&t3.h, model_th, t3.key, 8192, 0, &off,
					&len), -EINVAL);
	CU_ASSERT_EQUAL(tf_seal(&t3, 8192), 0);
	CU_ASSERT_EQUAL(fmt_size_update(&t3.h, model_th, t3.key, 8192, 0, &off,
					&len), 0);
	lower_write(&t3.lf, off, t3.h.size_slot[t3.h.size_cur], len);
	CU_ASSERT_EQUAL(t3.h.size_flags, 0);
	tf_close(&t3);
	CU_ASSERT_EQUAL(tf_open(&t3, &kd), 0);
	CU_ASSERT_EQUAL(t3.h.recovering, 0);
	tf_close(&t3);
	CU_ASSERT_EQUAL(reopen_check(&t3.lf, orig, 8192), 0);
	lower_free(&t3.lf);

	/* Why the flag may only be cleared once every record is confirmed:
	 * with it gone the older slot is no longer tried, and an
	 * unconfirmed record becomes an error. */
	tf.h.recovering = 0;
	CU_ASSERT_EQUAL(tf_seal(&tf, 8192), 0);
	CU_ASSERT_EQUAL(fmt_size_update(&tf.h, model_th, tf.key, 8192, 0, &off,
					&len), 0);
	lower_write(&tf.lf, off, tf.h.size_slot[tf.h.size_cur], len);
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, orig, 8192), -EBADMSG);
	tf_close(&tf);
	lower_free(&tf.lf);
	free(p);
}

/* Records seal (FMT_RF_ROLLBACK_MAC): a SEEK_DATA stand-in that reports
 * every all-zero 4 KiB block of the model file as a hole. */
static int64_t lf_seek_data(void *arg, uint64_t off)
{
	const struct lower *lf = arg;
	static const uint8_t zero[4096];
	for (uint64_t o = off & ~4095ull; o < lf->len; o += 4096) {
		size_t n = lf->len - o < 4096 ? (size_t)(lf->len - o) : 4096;
		if (memcmp(lf->b + o, zero, n))
			return (int64_t)(o > off ? o : off);
	}
	return INT64_MAX;
}

static unsigned seal_reads;

static int lf_read_cnt(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	seal_reads++;
	lower_read(arg, off, buf, len);
	return 0;
}

static void test_recs_seal(void)
{
	struct tfile tf;
	uint8_t d1[32], d2[32], *buf = malloc(FMT_GROUP_RECS_LEN);
	uint8_t a[100];
	struct lower c;

	pattern(a, sizeof(a), 40);
	for (int alg = CIPHER_AES256GCM; alg <= CIPHER_CHACHA20POLY1305;
	     alg++) {
		/* a new file's seal (0 extents) verifies; a bit flip of its
		 * nonce or tag does not */
		CU_ASSERT_EQUAL_FATAL(tf_create(&tf, &kd, alg, FEK), 0);
		CU_ASSERT_EQUAL(tf.h.req_flags, FMT_RF_NEW);
		CU_ASSERT_EQUAL(reopen_check(&tf.lf, NULL, 0), 0);
		for (unsigned b = 0; b < 28; b += 9) {
			lower_copy(&c, &tf.lf);
			c.b[FMT_SEAL_OFF + b] ^= 4;
			CU_ASSERT_EQUAL(reopen_check(&c, NULL, 0), -EBADMSG);
			lower_free(&c);
		}
		tf_close(&tf);
		lower_free(&tf.lf);
	}

	/* Sparse: extents 0, 300 and 2000 (groups 0, 1, 7). */
	CU_ASSERT_EQUAL_FATAL(tf_create(&tf, &kd, CIPHER_AES256GCM, FEK), 0);
	uint64_t offs[3] = {10, 300 * 4096 + 5, 2000 * 4096 + 1};
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(tf_pwrite(&tf, offs[i], a, sizeof(a)), 0);
	uint64_t size = tf.h.size, n = fmt_extent_count(size);
	uint8_t *want = calloc(1, size);
	for (int i = 0; i < 3; i++)
		memcpy(want + offs[i], a, sizeof(a));
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, want, size), 0);
	/* skipping holes gives the same digest, reading fewer groups */
	struct fmt_recs_io io = {.read = lf_read_cnt, .arg = &tf.lf};
	seal_reads = 0;
	CU_ASSERT_EQUAL(fmt_recs_digest(&io, n, buf, d1), 0);
	unsigned all = seal_reads;
	io.seek_data = lf_seek_data;
	seal_reads = 0;
	CU_ASSERT_EQUAL(fmt_recs_digest(&io, n, buf, d2), 0);
	unsigned some = seal_reads;
	CU_ASSERT_EQUAL(memcmp(d1, d2, 32), 0);
	CU_ASSERT(some < all);
	CU_ASSERT(some <= 4); /* group 0 (2 reads), group 1, group 7 */
	/* records past the last extent do not count; the count does */
	lower_copy(&c, &tf.lf);
	c.b[fmt_rec_off(n) + 3] ^= 1;
	io.arg = &c;
	CU_ASSERT_EQUAL(fmt_recs_digest(&io, n, buf, d2), 0);
	CU_ASSERT_EQUAL(memcmp(d1, d2, 32), 0);
	CU_ASSERT_EQUAL(fmt_recs_digest(&io, n + 1, buf, d2), 0);
	CU_ASSERT(memcmp(d1, d2, 32) != 0);
	lower_free(&c);
	/* an extent of group 7 replaced by a hole (record and data zeroed):
	 * each extent verifies alone, the seal does not */
	lower_copy(&c, &tf.lf);
	memset(c.b + fmt_rec_off(2000), 0, 64);
	memset(c.b + fmt_data_off(2000), 0, 4096);
	CU_ASSERT_EQUAL(reopen_check(&c, want, size), -EBADMSG);
	lower_free(&c);
	/* the older slot of a record (no effect on reads) is sealed too */
	lower_copy(&c, &tf.lf);
	unsigned older = tf.lf.b[fmt_rec_off(300) + 28] >
				 tf.lf.b[fmt_rec_off(300) + 32 + 28]
			     ? 1u
			     : 0u;
	c.b[fmt_rec_off(300) + older * 32 + 5] ^= 0x10;
	CU_ASSERT_EQUAL(reopen_check(&c, want, size), -EBADMSG);
	lower_free(&c);
	/* a DIRTY (recovering) file is not checked: replays are then
	 * indistinguishable from an interrupted write (FORMAT.md) */
	uint64_t off;
	uint32_t len;
	CU_ASSERT_EQUAL(fmt_size_update(&tf.h, model_th, tf.key, size,
					FMT_SZ_DIRTY, &off, &len), 0);
	lower_write(&tf.lf, off, tf.h.size_slot[tf.h.size_cur], len);
	lower_copy(&c, &tf.lf);
	memset(c.b + fmt_rec_off(2000), 0, 64);
	memset(c.b + fmt_data_off(2000), 0, 4096);
	memset(want + offs[2], 0, sizeof(a));
	CU_ASSERT_EQUAL(reopen_check(&c, want, size), 0);
	lower_free(&c);
	/* verify/seal misuse */
	CU_ASSERT_EQUAL(fmt_recs_digest(NULL, n, buf, d1), -EINVAL);
	CU_ASSERT_EQUAL(fmt_recs_digest(&io, FMT_MAX_EXTENTS + 1, buf, d1),
			-EFBIG);
	struct fmt_header h1;
	CU_ASSERT_EQUAL(fmt_header_parse(tf.lf.b, FMT_HDR_BLOCK, &h1), 0);
	CU_ASSERT_EQUAL(fmt_recs_verify(&h1, model_th, tf.key, d1), -EINVAL);
	CU_ASSERT_EQUAL(fmt_recs_seal(&h1, model_th, tf.key, 0, d1, NULL,
				      NULL),
			-EINVAL);
	CU_ASSERT(!fmt_recs_check_needed(&h1));
	free(want);
	tf_close(&tf);
	lower_free(&tf.lf);
	free(buf);
}

/* Name binding (FMT_RF_NAME_BIND): the rename protocol's three states. */
static bool bytes_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void le64_put(uint8_t b[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static int lf_read_fail(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	(void)arg;
	(void)buf;
	(void)len;
	(void)off;
	return -EIO;
}

/* The digest's definition (FORMAT.md "Records seal"), computed here from
 * the records one by one with plain mbedTLS SHA-256: label || le64(n) ||
 * per non-zero group le64(g) || SHA-256(its 256 records). */
static void digest_ref(const struct lower *lf, uint64_t n, uint8_t d[32])
{
	static const char label[] = "cryptstack records v2";
	static uint8_t grp[FMT_GROUP_RECS_LEN];
	mbedtls_sha256_context c;
	uint8_t le[8], h[32];

	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	mbedtls_sha256_update_ret(&c, (const uint8_t *)label,
				  sizeof(label) - 1);
	le64_put(le, n);
	mbedtls_sha256_update_ret(&c, le, 8);
	for (uint64_t g = 0; g * FMT_GROUP_EXTENTS < n; g++) {
		memset(grp, 0, sizeof(grp));
		for (uint64_t i = 0; i < FMT_GROUP_EXTENTS; i++)
			if (g * FMT_GROUP_EXTENTS + i < n)
				lower_read(lf,
					   fmt_rec_off(g * FMT_GROUP_EXTENTS +
						       i),
					   grp + i * FMT_REC_LEN, FMT_REC_LEN);
		if (bytes_zero(grp, sizeof(grp)))
			continue;
		mbedtls_sha256_ret(grp, sizeof(grp), h, 0);
		le64_put(le, g);
		mbedtls_sha256_update_ret(&c, le, 8);
		mbedtls_sha256_update_ret(&c, h, 32);
	}
	mbedtls_sha256_finish_ret(&c, d);
	mbedtls_sha256_free(&c);
}

/* Prefetch hints seen: per group, how often; a read of a group's meta
 * region that was not hinted first counts as unhinted. */
static unsigned hint_count[32], unhinted_reads;
static bool hint_bad;

static void lf_prefetch(void *arg, uint64_t off, size_t len)
{
	(void)arg;
	uint64_t g = (off / FMT_BLOCK - 1) / 260;
	if (g == 0 || g >= 32 || off != fmt_rec_off(g * FMT_GROUP_EXTENTS) ||
	    len != FMT_GROUP_RECS_LEN)
		hint_bad = true;
	else
		hint_count[g]++;
}

static int lf_read_hinted(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	uint64_t g = (off / FMT_BLOCK - 1) / 260;
	if (g > 0 && g < 32 && off == fmt_rec_off(g * FMT_GROUP_EXTENTS) &&
	    !hint_count[g])
		unhinted_reads++;
	return lf_read_cnt(arg, buf, len, off);
}

/* fmt_recs_digest() == the definition, for files of 0, 1, 2 and 20
 * groups with non-zero groups in runs shorter and longer than the batch
 * (8), holes between them, records past n, with and without SEEK_DATA and
 * prefetch hints. */
static void test_recs_digest_def(void)
{
	static const uint64_t ns[] = {0, 1, 52, 256, 257, 511, 20 * 256 - 3};
	static const uint64_t ext[] = {0,    51,   52,   255,  256,	 300,
				       600,  900,  1200, 1500, 1800, 2100,
				       2400, 2500, 3100, 4864, 5116, 5117};
	uint8_t *buf = malloc(FMT_GROUP_RECS_LEN), rec[64], d1[32], d2[32];
	struct lower lf = {0};
	struct fmt_recs_io io = {.read = lf_read_cnt, .arg = &lf};

	CU_ASSERT_FATAL(buf != NULL);
	lower_write(&lf, fmt_lower_size((uint64_t)20 * 256 * 4096) - 1,
		    "", 1);
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		memset(rec, (int)(i + 1), sizeof(rec));
		lower_write(&lf, fmt_rec_off(ext[i]), rec, sizeof(rec));
	}
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		digest_ref(&lf, ns[i], d1);
		io.seek_data = NULL;
		memset(d2, 0, 32);
		CU_ASSERT_EQUAL(fmt_recs_digest(&io, ns[i], buf, d2), 0);
		CU_ASSERT_EQUAL(memcmp(d1, d2, 32), 0);
		io.seek_data = lf_seek_data;
		memset(d2, 0, 32);
		CU_ASSERT_EQUAL(fmt_recs_digest(&io, ns[i], buf, d2), 0);
		CU_ASSERT_EQUAL(memcmp(d1, d2, 32), 0);
	}
	/* with prefetch hints: each group after 0 hinted once, before it
	 * is read; the same digest */
	digest_ref(&lf, ns[6], d1);
	for (int sd = 0; sd < 2; sd++) {
		io.read = lf_read_hinted;
		io.prefetch = lf_prefetch;
		io.seek_data = sd ? lf_seek_data : NULL;
		memset(hint_count, 0, sizeof(hint_count));
		unhinted_reads = 0;
		hint_bad = false;
		CU_ASSERT_EQUAL(fmt_recs_digest(&io, ns[6], buf, d2), 0);
		CU_ASSERT_EQUAL(memcmp(d1, d2, 32), 0);
		CU_ASSERT(!hint_bad);
		CU_ASSERT_EQUAL(unhinted_reads, 0);
		for (unsigned g = 1; g < 20; g++)
			CU_ASSERT(sd ? hint_count[g] <= 1 : hint_count[g] == 1);
		CU_ASSERT_EQUAL(hint_count[0] + hint_count[20], 0);
	}
	io.read = lf_read_cnt;
	io.prefetch = NULL;
	/* one record changed in any group of a batch changes the digest */
	digest_ref(&lf, ns[6], d1);
	for (size_t i = 0; i < ARRAY_SIZE(ext) - 1; i++) {
		lf.b[fmt_rec_off(ext[i]) + 17] ^= 0x80;
		CU_ASSERT_EQUAL(fmt_recs_digest(&io, ns[6], buf, d2), 0);
		CU_ASSERT(memcmp(d1, d2, 32) != 0);
		lf.b[fmt_rec_off(ext[i]) + 17] ^= 0x80;
	}
	CU_ASSERT_EQUAL(fmt_recs_digest(&io, ns[6], buf, d2), 0);
	CU_ASSERT_EQUAL(memcmp(d1, d2, 32), 0);
	/* a read error is returned, the digest zeroed */
	io.read = lf_read_fail;
	memset(d2, 0xaa, 32);
	CU_ASSERT_EQUAL(fmt_recs_digest(&io, ns[6], buf, d2), -EIO);
	CU_ASSERT(bytes_zero(d2, 32));
	lower_free(&lf);
	free(buf);
}

/* Opens a copy of `good` (strict fmt_size_open()) and checks its binding
 * to name. With lf: then reopens lf's size slots with
 * fmt_size_open_fallback() (fsck: a slot failing authentication is
 * skipped) under good's file key (the size slots do not affect it). */
static int open_bound_fallback(const struct lower *good,
			       const struct lower *lf, const char *name)
{
	struct tfile t = { 0 };
	uint8_t tag[FMT_BIND_LEN];
	lower_copy(&t.lf, good);
	int r = tf_open(&t, &kd);
	if (r == 0 && lf)
		r = fmt_header_parse(lf->b, FMT_HDR_BLOCK, &t.h);
	if (r == 0 && lf)
		r = fmt_size_open_fallback(&t.h, model_th, t.key);
	fmt_name_bind_tag(DIRID, name, strlen(name), tag);
	if (r == 0)
		r = fmt_size_bind_check(&t.h, tag);
	tf_close(&t);
	lower_free(&t.lf);
	return r;
}

static int open_bound(const struct lower *lf, const char *name)
{
	return open_bound_fallback(lf, NULL, name);
}

static int rebind(struct tfile *tf, const char *name)
{
	uint8_t tag[FMT_BIND_LEN];
	uint64_t off;
	uint32_t len;
	if (name)
		fmt_name_bind_tag(DIRID, name, strlen(name), tag);
	else
		memset(tag, 0, sizeof(tag));
	int r = fmt_size_rebind(&tf->h, model_th, tf->key, tag, &off, &len);
	if (r == 0)
		lower_write(&tf->lf, off, tf->h.size_slot[tf->h.size_cur], len);
	return r;
}

static void test_name_bind(void)
{
	struct tfile tf;
	uint8_t *p, t1[FMT_BIND_LEN], t2[FMT_BIND_LEN];

	fmt_name_bind_tag(DIRID, "abc", 3, t1);
	fmt_name_bind_tag(NULL, "abc", 3, t2);
	CU_ASSERT(memcmp(t1, t2, sizeof(t1)) != 0); /* dir id counts */
	fmt_name_bind_tag(DIRID, "abd", 3, t2);
	CU_ASSERT(memcmp(t1, t2, sizeof(t1)) != 0);

	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, 70000, 50, &p),
			      0);
	CU_ASSERT_EQUAL(tf.h.req_flags, FMT_RF_ROLLBACK_MAC | FMT_RF_NAME_BIND);
	/* unbound (zero tag): any name */
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "A"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "B"), 0);
	/* bound to A (create binds both: rebind twice) */
	CU_ASSERT_EQUAL(rebind(&tf, "A"), 0);
	CU_ASSERT_EQUAL(rebind(&tf, "A"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "A"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "B"), -EBADMSG);
	struct lower bak; /* the header while bound to A */
	lower_copy(&bak, &tf.lf);
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, 70000), 0); /* seal: lag 2 */
	CU_ASSERT_EQUAL(tf.h.size_lag, 2);
	/* rename A -> B, step 1 written, crash before the lower rename: the
	 * file is still named A and opens (older slot); had the rename landed
	 * (name B), it opens too. */
	CU_ASSERT_EQUAL(rebind(&tf, "B"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "A"), 1);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "B"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "C"), -EBADMSG);
	/* ... but not with the older slot failing authentication (fsck's
	 * fallback open skips it: it vouches for no name) */
	struct lower c;
	lower_copy(&c, &tf.lf);
	unsigned older = tf.h.size_cur ^ 1u;
	c.b[FMT_SIZE_SLOT_OFF + older * 64 + 36] ^= 1; /* its AEAD tag */
	CU_ASSERT_EQUAL(open_bound(&c, "A"), -EBADMSG); /* strict: slot bad */
	CU_ASSERT_EQUAL(open_bound_fallback(&tf.lf, &c, "A"), -EBADMSG);
	CU_ASSERT_EQUAL(open_bound_fallback(&tf.lf, &c, "B"), 0);
	CU_ASSERT_EQUAL(open_bound_fallback(&tf.lf, &tf.lf, "A"), 1);
	lower_free(&c);
	/* step 3: both slots name B, A is refused */
	CU_ASSERT_EQUAL(rebind(&tf, "B"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "A"), -EBADMSG);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "B"), 0);
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, 70000), 0);
	/* a write (DIRTY, then clean close with a new seal): still bound */
	CU_ASSERT_EQUAL(tf_pwrite(&tf, 5, p + 5, 10), 0);
	CU_ASSERT_EQUAL(tf.h.size_lag, 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "B"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "A"), -EBADMSG);
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, 70000), 0);
	/* an older slot of name A spliced in from the backup verifies but
	 * is not one seq below the current slot: not an interrupted rename */
	lower_copy(&c, &tf.lf);
	older = tf.h.size_cur ^ 1u;
	memcpy(c.b + FMT_SIZE_SLOT_OFF + older * 64,
	       bak.b + FMT_SIZE_SLOT_OFF + older * 64, 64);
	CU_ASSERT_EQUAL(open_bound(&c, "A"), -EBADMSG);
	CU_ASSERT_EQUAL(open_bound(&c, "B"), 0);
	lower_free(&c);
	lower_free(&bak);
	/* an erased (zeroed) current slot would make the DIRTY commit before
	 * the clean close current: refused (-ESTALE); fsck's fallback open
	 * takes it (and reports it); a new file's empty slot is fine */
	lower_copy(&c, &tf.lf);
	memset(c.b + FMT_SIZE_SLOT_OFF + tf.h.size_cur * 64, 0, 64);
	CU_ASSERT_EQUAL(open_bound(&c, "B"), -ESTALE);
	CU_ASSERT_EQUAL(open_bound_fallback(&tf.lf, &c, "B"), 0);
	lower_free(&c);
	/* the tag is authenticated: flipping it fails the slot */
	lower_copy(&c, &tf.lf);
	c.b[FMT_SIZE_SLOT_OFF + tf.h.size_cur * 64 + 52] ^= 1;
	CU_ASSERT(reopen_check(&c, p, 70000) < 0);
	lower_free(&c);
	/* ... and so is the lag: a larger lag cannot point the newer slot at
	 * an older seal */
	lower_copy(&c, &tf.lf);
	c.b[FMT_SIZE_SLOT_OFF + tf.h.size_cur * 64 + 20] ^= 1;
	CU_ASSERT(reopen_check(&c, p, 70000) < 0);
	lower_free(&c);
	/* hard link: unbound again, any name */
	CU_ASSERT_EQUAL(rebind(&tf, NULL), 0);
	CU_ASSERT_EQUAL(rebind(&tf, NULL), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "A"), 0);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "Z"), 0);
	CU_ASSERT_EQUAL(reopen_check(&tf.lf, p, 70000), 0);
	/* a DIRTY file rebinds with its flag kept */
	uint64_t off;
	uint32_t len;
	CU_ASSERT_EQUAL(fmt_size_update(&tf.h, model_th, tf.key, 70000,
					FMT_SZ_DIRTY, &off, &len), 0);
	lower_write(&tf.lf, off, tf.h.size_slot[tf.h.size_cur], len);
	CU_ASSERT_EQUAL(rebind(&tf, "Q"), 0);
	CU_ASSERT_EQUAL(tf.h.size_flags, FMT_SZ_DIRTY);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "Q"), 0);
	tf_close(&tf);
	lower_free(&tf.lf);
	free(p);

	/* v1 files: the binding bytes and the lag are reserved */
	model_req_flags = 0;
	CU_ASSERT_EQUAL_FATAL(make_file(&tf, CIPHER_AES256GCM, 10, 51, &p), 0);
	model_req_flags = FMT_RF_NEW;
	CU_ASSERT_EQUAL(rebind(&tf, "A"), -EINVAL);
	struct fmt_header h;
	lower_copy(&c, &tf.lf);
	c.b[FMT_SIZE_SLOT_OFF + 60] = 1;
	CU_ASSERT_EQUAL(fmt_header_parse(c.b, FMT_HDR_BLOCK, &h), -EINVAL);
	c.b[FMT_SIZE_SLOT_OFF + 60] = 0;
	c.b[FMT_SIZE_SLOT_OFF + 21] = 1;
	CU_ASSERT_EQUAL(fmt_header_parse(c.b, FMT_HDR_BLOCK, &h), -EINVAL);
	lower_free(&c);
	CU_ASSERT_EQUAL(open_bound(&tf.lf, "anything"), 0);
	tf_close(&tf);
	lower_free(&tf.lf);
	free(p);
}

/* ---- names ---------------------------------------------------------- */

static void test_b64(void)
{
	uint8_t raw[64], back[64];
	char enc[100];
	for (size_t n = 0; n <= 40; n++) {
		pattern(raw, n, (unsigned)n);
		int e = fmt_b64_encode(raw, n, enc, sizeof(enc));
		CU_ASSERT_EQUAL(e, (int)((n * 4 + 2) / 3));
		CU_ASSERT_EQUAL(fmt_b64_decode(enc, (size_t)e, back, sizeof(back)), (int)n);
		CU_ASSERT(memcmp(raw, back, n) == 0);
		CU_ASSERT(strchr(enc, '-') == NULL && strchr(enc, '.') == NULL &&
			  strchr(enc, '/') == NULL && strchr(enc, '=') == NULL);
	}
	CU_ASSERT_EQUAL(fmt_b64_decode("A", 1, back, 64), -EINVAL);
	CU_ASSERT_EQUAL(fmt_b64_decode("AB", 2, back, 64), -EINVAL); /* bits */
	CU_ASSERT_EQUAL(fmt_b64_decode("AA", 2, back, 64), 1);
	CU_ASSERT_EQUAL(fmt_b64_decode("AAB", 3, back, 64), -EINVAL);
	CU_ASSERT_EQUAL(fmt_b64_decode("AA-A", 4, back, 64), -EINVAL);
	CU_ASSERT_EQUAL(fmt_b64_decode("AA=A", 4, back, 64), -EINVAL);
	CU_ASSERT_EQUAL(fmt_b64_decode("AAAA", 4, back, 2), -ENOSPC);
	CU_ASSERT_EQUAL(fmt_b64_encode(raw, 3, enc, 4), -ENOSPC);
	CU_ASSERT_EQUAL(fmt_b64_encode(raw, 3, enc, 5), 4);
}

static void test_names(void)
{
	char plain[300], lower[300], out[300], side_name[64];
	uint8_t side[400], dir2[16];
	bool is_long;

	memset(dir2, 7, sizeof(dir2));
	for (size_t n = 1; n <= 255; n++) {
		for (size_t i = 0; i < n; i++)
			plain[i] = (char)('a' + (i * 7 + n) % 26);
		int l = fmt_name_encrypt(NAMES_KEY, DIRID, plain, n, lower,
					 sizeof(lower), &is_long);
		CU_ASSERT_FATAL(l > 0);
		CU_ASSERT_EQUAL((size_t)l, strlen(lower));
		CU_ASSERT(l <= 255);
		CU_ASSERT(lower[0] != '.' && lower[0] != '-');
		CU_ASSERT_EQUAL(is_long, n > 175);
		if (!is_long) {
			CU_ASSERT_EQUAL(fmt_name_classify(lower, (size_t)l),
					FMT_NAME_REGULAR);
			CU_ASSERT_EQUAL(fmt_name_decrypt(NAMES_KEY, DIRID, lower,
							 (size_t)l, out,
							 sizeof(out)), (int)n);
			CU_ASSERT(memcmp(out, plain, n) == 0 && out[n] == 0);
			/* Another directory: rejected. */
			CU_ASSERT_EQUAL(fmt_name_decrypt(NAMES_KEY, dir2, lower,
							 (size_t)l, out,
							 sizeof(out)), -EBADMSG);
			/* Deterministic. */
			char again[300];
			fmt_name_encrypt(NAMES_KEY, DIRID, plain, n, again,
					 sizeof(again), NULL);
			CU_ASSERT_STRING_EQUAL(again, lower);
			/* Every character changed: rejected, never another
			 * name. */
			if (n == 1 || n == 100 || n == 175) {
				for (int i = 0; i < l; i++) {
					char c = lower[i];
					lower[i] = c == 'A' ? 'B' : 'A';
					int d = fmt_name_decrypt(NAMES_KEY, DIRID,
								 lower, (size_t)l,
								 out, sizeof(out));
					CU_ASSERT(d == -EBADMSG || d == -EINVAL);
					lower[i] = c;
				}
			}
		} else {
			CU_ASSERT_EQUAL(l, FMT_LONG_LEN);
			CU_ASSERT_EQUAL(fmt_name_classify(lower, (size_t)l),
					FMT_NAME_LONG);
			int s = fmt_side_build(NAMES_KEY, DIRID, plain, n,
					       side_name, sizeof(side_name), side,
					       sizeof(side));
			CU_ASSERT_EQUAL(s, (int)(8 + 16 + n));
			char sn[64];
			CU_ASSERT_EQUAL(fmt_side_name(lower, (size_t)l, sn, sizeof(sn)),
					FMT_LONG_LEN + 5);
			CU_ASSERT_STRING_EQUAL(sn, side_name);
			CU_ASSERT_EQUAL(fmt_name_classify(sn, strlen(sn)),
					FMT_NAME_HIDDEN);
			CU_ASSERT_EQUAL(fmt_side_parse(NAMES_KEY, DIRID, lower,
						       (size_t)l, side, (size_t)s,
						       out, sizeof(out)), (int)n);
			CU_ASSERT(memcmp(out, plain, n) == 0);
			CU_ASSERT_EQUAL(fmt_side_parse(NAMES_KEY, dir2, lower,
						       (size_t)l, side, (size_t)s,
						       out, sizeof(out)), -EBADMSG);
			/* Truncated / extended side files. */
			CU_ASSERT_EQUAL(fmt_side_parse(NAMES_KEY, DIRID, lower,
						       (size_t)l, side, (size_t)s - 1,
						       out, sizeof(out)), -EINVAL);
			if (n == 255) {
				for (int i = 0; i < s * 8; i++) {
					side[i / 8] ^= (uint8_t)(1 << (i % 8));
					int d = fmt_side_parse(NAMES_KEY, DIRID, lower,
							       (size_t)l, side,
							       (size_t)s, out,
							       sizeof(out));
					CU_ASSERT(d < 0);
					side[i / 8] ^= (uint8_t)(1 << (i % 8));
				}
				/* Side file of another long name. */
				lower[5] = lower[5] == 'A' ? 'B' : 'A';
				CU_ASSERT_EQUAL(fmt_side_parse(NAMES_KEY, DIRID,
							       lower, (size_t)l,
							       side, (size_t)s,
							       out, sizeof(out)),
						-EBADMSG);
			}
		}
	}
	/* Invalid plaintext names. */
	CU_ASSERT_EQUAL(fmt_name_encrypt(NAMES_KEY, DIRID, "", 0, lower, 300, NULL), -EINVAL);
	CU_ASSERT_EQUAL(fmt_name_encrypt(NAMES_KEY, DIRID, ".", 1, lower, 300, NULL), -EINVAL);
	CU_ASSERT_EQUAL(fmt_name_encrypt(NAMES_KEY, DIRID, "..", 2, lower, 300, NULL), -EINVAL);
	CU_ASSERT_EQUAL(fmt_name_encrypt(NAMES_KEY, DIRID, "a/b", 3, lower, 300, NULL), -EINVAL);
	CU_ASSERT_EQUAL(fmt_name_encrypt(NAMES_KEY, DIRID, "a\0b", 3, lower, 300, NULL), -EINVAL);
	memset(plain, 'x', 256);
	CU_ASSERT_EQUAL(fmt_name_encrypt(NAMES_KEY, DIRID, plain, 256, lower, 300, NULL), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(fmt_name_encrypt(NAMES_KEY, DIRID, "abc", 3, lower, 10, NULL), -ENOSPC);
	CU_ASSERT(fmt_name_encrypt(NAMES_KEY, DIRID, "...", 3, lower, 300, NULL) > 0);

	/* Classification of lower names. */
	CU_ASSERT_EQUAL(fmt_name_classify(".", 1), FMT_NAME_HIDDEN);
	CU_ASSERT_EQUAL(fmt_name_classify("..", 2), FMT_NAME_HIDDEN);
	CU_ASSERT_EQUAL(fmt_name_classify(FMT_DIRID_NAME, 9), FMT_NAME_HIDDEN);
	CU_ASSERT_EQUAL(fmt_name_classify(FMT_CONF_NAME, 16), FMT_NAME_HIDDEN);
	CU_ASSERT_EQUAL(fmt_name_classify("hello", 5), FMT_NAME_INVALID);
	CU_ASSERT_EQUAL(fmt_name_classify("cs~abc", 6), FMT_NAME_INVALID);
	CU_ASSERT_EQUAL(fmt_name_classify("", 0), FMT_NAME_INVALID);
	CU_ASSERT_EQUAL(fmt_name_classify("AAAAAAAAAAAAAAAAAAAAAAA", 23), FMT_NAME_REGULAR);
	CU_ASSERT_EQUAL(fmt_name_decrypt(NAMES_KEY, DIRID, "AAAAAAAAAAAAAAAAAAAAAAA", 23,
					 out, sizeof(out)), -EBADMSG);
	CU_ASSERT_EQUAL(fmt_name_decrypt(NAMES_KEY, DIRID, "hello", 5, out, sizeof(out)), -EINVAL);

	/* Plaintext-names volumes. */
	CU_ASSERT_EQUAL(fmt_plain_name_check("a", 1), 0);
	CU_ASSERT_EQUAL(fmt_plain_name_check(".cs.dirid", 9), -EPERM);
	CU_ASSERT_EQUAL(fmt_plain_name_check(".cryptstack.conf", 16), -EPERM);
	CU_ASSERT_EQUAL(fmt_plain_name_check("..", 2), -EINVAL);

	/* Directory id files. */
	uint8_t id[16], id2[16], file[24];
	CU_ASSERT_EQUAL(fmt_dirid_new(id, file), 0);
	CU_ASSERT_EQUAL(fmt_dirid_parse(file, 24, id2), 0);
	CU_ASSERT(memcmp(id, id2, 16) == 0);
	CU_ASSERT_EQUAL(fmt_dirid_parse(file, 23, id2), -EINVAL);
	CU_ASSERT_EQUAL(fmt_dirid_parse(file, 25, id2), -EINVAL);
	file[4] = 2;
	CU_ASSERT_EQUAL(fmt_dirid_parse(file, 24, id2), -EPROTONOSUPPORT);
	file[4] = 1;
	file[0] = 'X';
	CU_ASSERT_EQUAL(fmt_dirid_parse(file, 24, id2), -EINVAL);
}

static void test_symlink_xattr(void)
{
	char t[FMT_SYMLINK_MAX + 2], low[4200], out[FMT_SYMLINK_MAX + 2];
	static const size_t lens[] = { 1, 2, 100, 4000 - 945, FMT_SYMLINK_MAX };

	for (size_t i = 0; i < 5; i++) {
		size_t n = lens[i];
		memset(t, 'p', n);
		t[0] = '/';
		int l = fmt_symlink_encrypt(NAMES_KEY, t, n, low, sizeof(low));
		CU_ASSERT(l > 0 && l <= 4095);
		CU_ASSERT_EQUAL(fmt_symlink_decrypt(NAMES_KEY, low, (size_t)l,
						    out, sizeof(out)), (int)n);
		CU_ASSERT(memcmp(out, t, n) == 0);
		low[l / 2] = low[l / 2] == 'A' ? 'B' : 'A';
		CU_ASSERT(fmt_symlink_decrypt(NAMES_KEY, low, (size_t)l, out,
					      sizeof(out)) < 0);
	}
	memset(t, 'p', FMT_SYMLINK_MAX + 1);
	CU_ASSERT_EQUAL(fmt_symlink_encrypt(NAMES_KEY, t, FMT_SYMLINK_MAX + 1,
					    low, sizeof(low)), -ENAMETOOLONG);
	/* A name ciphertext is not a symlink ciphertext (labels). */
	int l = fmt_name_encrypt(NAMES_KEY, DIRID, "abc", 3, low, sizeof(low), NULL);
	CU_ASSERT_EQUAL(fmt_symlink_decrypt(NAMES_KEY, low, (size_t)l, out,
					    sizeof(out)), -EBADMSG);

	char xn[300], xo[300];
	l = fmt_xattr_name_encrypt(NAMES_KEY, "user.mime", 9, xn, sizeof(xn));
	CU_ASSERT(l > 8 && strncmp(xn, "user.cs.", 8) == 0);
	CU_ASSERT_EQUAL(fmt_xattr_name_decrypt(NAMES_KEY, xn, (size_t)l, xo,
					       sizeof(xo)), 9);
	CU_ASSERT_STRING_EQUAL(xo, "user.mime");
	CU_ASSERT_EQUAL(fmt_xattr_name_encrypt(NAMES_KEY, "trusted.x", 9, xn,
					       sizeof(xn)), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(fmt_xattr_name_encrypt(NAMES_KEY, "user.", 5, xn,
					       sizeof(xn)), -EINVAL);
	memset(xo, 'n', 255);
	memcpy(xo, "user.", 5);
	CU_ASSERT_EQUAL(fmt_xattr_name_encrypt(NAMES_KEY, xo, 174, xn, sizeof(xn)), 255);
	CU_ASSERT_EQUAL(fmt_xattr_name_encrypt(NAMES_KEY, xo, 175, xn, sizeof(xn)), -ERANGE);
	CU_ASSERT_EQUAL(fmt_xattr_name_decrypt(NAMES_KEY, "user.other", 10, xo,
					       sizeof(xo)), -EINVAL);

	uint8_t v[1000], ev[1100], dv[1000];
	pattern(v, sizeof(v), 3);
	for (size_t n = 0; n <= 1000; n += 250) {
		int e = fmt_xattr_value_encrypt(NAMES_KEY, "user.a", 6, v, n,
						ev, sizeof(ev));
		CU_ASSERT_EQUAL(e, (int)n + 16);
		CU_ASSERT_EQUAL(fmt_xattr_value_decrypt(NAMES_KEY, "user.a", 6, ev,
							(size_t)e, dv, sizeof(dv)),
				(int)n);
		CU_ASSERT(memcmp(v, dv, n) == 0);
		/* Bound to the xattr name. */
		CU_ASSERT_EQUAL(fmt_xattr_value_decrypt(NAMES_KEY, "user.b", 6, ev,
							(size_t)e, dv, sizeof(dv)),
				-EBADMSG);
		ev[0] ^= 1;
		CU_ASSERT_EQUAL(fmt_xattr_value_decrypt(NAMES_KEY, "user.a", 6, ev,
							(size_t)e, dv, sizeof(dv)),
				-EBADMSG);
	}
	CU_ASSERT_EQUAL(fmt_xattr_value_decrypt(NAMES_KEY, "user.a", 6, ev, 15,
						dv, sizeof(dv)), -EINVAL);
	static uint8_t big[FMT_XATTR_VALUE_MAX + 1], bigout[65536 + 16];
	CU_ASSERT_EQUAL(fmt_xattr_value_encrypt(NAMES_KEY, "user.a", 6, big,
						FMT_XATTR_VALUE_MAX, bigout,
						sizeof(bigout)), 65536);
	CU_ASSERT_EQUAL(fmt_xattr_value_encrypt(NAMES_KEY, "user.a", 6, big,
						FMT_XATTR_VALUE_MAX + 1, bigout,
						sizeof(bigout)), -E2BIG);
}

/* ---- golden files ---------------------------------------------------- */

#include "fmt_golden.h"

static void test_golden(void)
{
	const char *w = getenv("CS_FMT_WRITE_GOLDEN");
	if (w && *w) {
		CU_ASSERT_EQUAL(golden_write(w, &kd, FEK, NAMES_KEY, DIRID), 0);
		return;
	}
	CU_ASSERT_EQUAL(golden_check(CS_GOLDEN_DIR, &kd, NAMES_KEY, DIRID), 0);
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
		{ "geometry", test_geometry },
		{ "header_parse", test_header_parse },
		{ "roundtrip", test_roundtrip },
		{ "random_ops", test_random_ops },
		{ "sparse", test_sparse },
		{ "bitflip_one_extent", test_bitflip_one_extent },
		{ "bitflip_sampled", test_bitflip_sampled },
		{ "swap_and_move", test_swap_and_move },
		{ "swap_exhaustive", test_swap_exhaustive },
		{ "truncation", test_truncation },
		{ "replay", test_replay },
		{ "crash_states", test_crash_states },
		{ "recs_seal", test_recs_seal },
		{ "recs_digest_def", test_recs_digest_def },
		{ "name_bind", test_name_bind },
		{ "b64", test_b64 },
		{ "names", test_names },
		{ "symlink_xattr", test_symlink_xattr },
		{ "golden", test_golden },
		{ NULL, NULL },
	};
	return cs_add_suite("fmt", suite_init, suite_fini, tests);
}
