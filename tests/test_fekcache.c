/* SPDX-License-Identifier: MIT */
/*
 * cryptod's FEK cache (cryptod/fekcache.c): hits only for the exact key
 * packet and associated data, expiry after the TTL since the last use,
 * least-recently-used replacement within a set, wiping, the off switch.
 */
#include <errno.h>
#include <string.h>

#include "cunit_main.h"
#include "fekcache.h"
#include "keymsg.h"

#define S 1000000000ull /* ns per second */

static void pkt_of(struct kd_packet *p, unsigned i)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->wrapped, &i, sizeof(i));
	p->id[0] = 0x5a;
}

static void fek_of(uint8_t *k, unsigned i)
{
	memset(k, (int)(i & 0xff) | 1, KD_FEK_LEN);
	memcpy(k, &i, sizeof(i));
}

/* Test entry i: its key packet and its key. */
static void entry_of(struct kd_packet *p, uint8_t *k, unsigned i)
{
	pkt_of(p, i);
	fek_of(k, i);
}

static void test_hit_exact(void)
{
	struct kd_packet p, q;
	uint8_t ad[40], fek[KD_FEK_LEN], got[KD_FEK_LEN];
	memset(ad, 7, sizeof(ad));
	entry_of(&p, fek, 1);
	CU_ASSERT_EQUAL_FATAL(cd_fekc_init(64, 10), 0);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 1 * S), -ENOENT);
	cd_fekc_put(&p, ad, sizeof(ad), fek, 1 * S);
	memset(got, 0, sizeof(got));
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 2 * S), 0);
	CU_ASSERT_EQUAL(memcmp(got, fek, KD_FEK_LEN), 0);
	/* Another packet, other AD bytes, a shorter AD: misses. */
	q = p;
	q.tag[15] ^= 1;
	CU_ASSERT_EQUAL(cd_fekc_get(&q, ad, sizeof(ad), got, 2 * S), -ENOENT);
	ad[39] ^= 1;
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 2 * S), -ENOENT);
	ad[39] ^= 1;
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad) - 1, got, 2 * S),
			-ENOENT);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, KD_AD_MAX + 1, got, 2 * S),
			-ENOENT);
	cd_fekc_exit();
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 2 * S), -ENOENT);
}

static void test_expiry(void)
{
	struct kd_packet p;
	uint8_t ad[8] = {1}, fek[KD_FEK_LEN], got[KD_FEK_LEN];
	entry_of(&p, fek, 2);
	CU_ASSERT_EQUAL_FATAL(cd_fekc_init(64, 10), 0);
	cd_fekc_put(&p, ad, sizeof(ad), fek, 100 * S);
	/* Each use restarts the TTL. */
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 109 * S), 0);
	CU_ASSERT_EQUAL(cd_fekc_sweep(118 * S), 1);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 118 * S), 0);
	/* Unused for more than the TTL: gone, by sweep or by lookup. */
	CU_ASSERT_EQUAL(cd_fekc_sweep(129 * S), 0);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 129 * S),
			-ENOENT);
	cd_fekc_put(&p, ad, sizeof(ad), fek, 200 * S);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 211 * S),
			-ENOENT);
	CU_ASSERT_EQUAL(cd_fekc_sweep(211 * S), 0);
	cd_fekc_exit();
}

static void test_capacity_lru(void)
{
	enum { N = 64, M = 4 * N };
	struct kd_packet p;
	uint8_t ad[4] = {9}, fek[KD_FEK_LEN], got[KD_FEK_LEN];
	CU_ASSERT_EQUAL_FATAL(cd_fekc_init(N, 60), 0);
	for (unsigned i = 0; i < M; i++) {
		entry_of(&p, fek, i);
		cd_fekc_put(&p, ad, sizeof(ad), fek, (1 + i) * S / 1000);
	}
	/* Never more than the capacity, and every hit is the right key. */
	unsigned held = cd_fekc_sweep(1 * S), hits = 0;
	CU_ASSERT(held <= N);
	CU_ASSERT(held >= N / 2);
	for (unsigned i = 0; i < M; i++) {
		pkt_of(&p, i);
		if (cd_fekc_get(&p, ad, sizeof(ad), got, 1 * S) == 0) {
			fek_of(fek, i);
			CU_ASSERT_EQUAL(memcmp(got, fek, KD_FEK_LEN), 0);
			hits++;
			/* Least recently used goes first: a recent one stays. */
		}
	}
	CU_ASSERT_EQUAL(hits, held);
	pkt_of(&p, M - 1);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 1 * S), 0);
	pkt_of(&p, 0);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 1 * S), -ENOENT);
	cd_fekc_exit();
}

static void test_off(void)
{
	struct kd_packet p;
	uint8_t ad[4] = {3}, fek[KD_FEK_LEN], got[KD_FEK_LEN];
	entry_of(&p, fek, 3);
	CU_ASSERT_EQUAL(cd_fekc_init(64, 0), 0);
	cd_fekc_put(&p, ad, sizeof(ad), fek, 1 * S);
	CU_ASSERT_EQUAL(cd_fekc_get(&p, ad, sizeof(ad), got, 1 * S), -ENOENT);
	CU_ASSERT_EQUAL(cd_fekc_sweep(1 * S), 0);
	CU_ASSERT_EQUAL(cd_fekc_start_sweeper(), 0);
	cd_fekc_exit();
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
		{ "hit_exact", test_hit_exact },
		{ "expiry", test_expiry },
		{ "capacity_lru", test_capacity_lru },
		{ "off", test_off },
		{ NULL, NULL },
	};
	return cs_add_suite("fekcache", NULL, NULL, tests);
}
