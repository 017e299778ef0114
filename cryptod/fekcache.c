/* SPDX-License-Identifier: MIT */
/*
 * FEK cache (fekcache.h). A set-associative table in locked memory: the
 * key of an entry is SHA-256 over a label, the key packet and the
 * associated data given to keyd (all public), its value the FEK keyd
 * returned for exactly those bytes. keyd's unwrap is a function of those
 * bytes for the life of the mount (its FEKEKs do not change while
 * mounted), so a hit returns what keyd would. Entries are wiped when
 * unused for the TTL (by the sweeper), when replaced, and at exit.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "cipher.h"
#include "fekcache.h"
#include "keymsg.h"
#include "log.h"
#include "secmem.h"
#include "util.h"

#define FEKC_WAYS 8u
#define FEKC_LABEL "cryptstack fek cache v1"

struct fekc_ent {
	uint8_t tag[32];
	uint8_t fek[KD_FEK_LEN];
	uint64_t used; /* now_ns() of the last use; 0: free */
};

static struct {
	pthread_mutex_t mu;
	struct fekc_ent *e; /* nsets * FEKC_WAYS, locked */
	size_t bytes;
	unsigned nsets;
	uint64_t ttl_ns;
} fc = {.mu = PTHREAD_MUTEX_INITIALIZER};

int cd_fekc_init(unsigned entries, unsigned ttl_s)
{
	unsigned n = FEKC_WAYS;
	if (ttl_s == 0)
		return 0;
	while (n * 2 <= entries && n < (1u << 20))
		n *= 2;
	for (; n >= FEKC_WAYS; n /= 8) {
		fc.bytes = (size_t)n * sizeof(struct fekc_ent);
		fc.e = secmem_alloc(fc.bytes);
		if (fc.e)
			break;
	}
	if (!fc.e) {
		int e = errno ? errno : ENOMEM;
		log_warn("FEK cache disabled: no locked memory");
		fc.bytes = 0;
		return -e;
	}
	fc.nsets = n / FEKC_WAYS;
	fc.ttl_ns = (uint64_t)ttl_s * 1000000000u;
	return 0;
}

void cd_fekc_exit(void)
{
	pthread_mutex_lock(&fc.mu);
	secmem_free(fc.e, fc.bytes);
	fc.e = NULL;
	fc.nsets = 0;
	pthread_mutex_unlock(&fc.mu);
}

/* The entry key for (pkt, ad); -EINVAL for an oversized ad. */
static int tag_of(const void *pkt, const uint8_t *ad, uint32_t ad_len,
		  uint8_t tag[32])
{
	uint8_t buf[sizeof(FEKC_LABEL) + sizeof(struct kd_packet) + KD_AD_MAX];
	size_t n = 0;
	if (ad_len > KD_AD_MAX)
		return -EINVAL;
	memcpy(buf, FEKC_LABEL, sizeof(FEKC_LABEL));
	n += sizeof(FEKC_LABEL);
	memcpy(buf + n, pkt, sizeof(struct kd_packet));
	n += sizeof(struct kd_packet);
	memcpy(buf + n, ad, ad_len);
	n += ad_len;
	const uint8_t *msg = buf;
	uint8_t out[1][32];
	if (cipher_sha256_batch(0, &msg, &n, 1, out) < 0)
		return -EINVAL;
	memcpy(tag, out[0], 32);
	return 0;
}

/* First entry of tag's set; caller holds fc.mu and fc.e is set. */
static struct fekc_ent *set_of(const uint8_t tag[32])
{
	uint32_t h;
	memcpy(&h, tag, sizeof(h));
	return &fc.e[(size_t)(h & (fc.nsets - 1)) * FEKC_WAYS];
}

static void ent_wipe(struct fekc_ent *x)
{
	secmem_wipe(x, sizeof(*x));
}

static int expired(const struct fekc_ent *x, uint64_t now)
{
	return x->used && now - x->used > fc.ttl_ns;
}

int cd_fekc_get(const void *pkt, const uint8_t *ad, uint32_t ad_len,
		uint8_t *fek, uint64_t now)
{
	uint8_t tag[32];
	int rc = -ENOENT;
	if (!fc.e || tag_of(pkt, ad, ad_len, tag) < 0)
		return -ENOENT;
	pthread_mutex_lock(&fc.mu);
	if (!fc.e)
		goto out;
	struct fekc_ent *s = set_of(tag);
	for (unsigned i = 0; i < FEKC_WAYS; i++) {
		struct fekc_ent *x = &s[i];
		if (expired(x, now))
			ent_wipe(x);
		if (x->used && memcmp(x->tag, tag, sizeof(tag)) == 0) {
			memcpy(fek, x->fek, KD_FEK_LEN);
			x->used = now ? now : 1;
			rc = 0;
		}
	}
out:
	pthread_mutex_unlock(&fc.mu);
	return rc;
}

void cd_fekc_put(const void *pkt, const uint8_t *ad, uint32_t ad_len,
		 const uint8_t *fek, uint64_t now)
{
	uint8_t tag[32];
	if (!fc.e || tag_of(pkt, ad, ad_len, tag) < 0)
		return;
	pthread_mutex_lock(&fc.mu);
	if (!fc.e)
		goto out;
	struct fekc_ent *s = set_of(tag), *victim = NULL;
	for (unsigned i = 0; i < FEKC_WAYS; i++) {
		struct fekc_ent *x = &s[i];
		if (expired(x, now))
			ent_wipe(x);
		if (x->used && memcmp(x->tag, tag, sizeof(tag)) == 0) {
			victim = x; /* the same key again: refresh it */
			break;
		}
		if (!victim || (victim->used && x->used < victim->used))
			victim = x; /* a free one, else the oldest */
	}
	ent_wipe(victim);
	memcpy(victim->tag, tag, sizeof(tag));
	memcpy(victim->fek, fek, KD_FEK_LEN);
	victim->used = now ? now : 1;
out:
	pthread_mutex_unlock(&fc.mu);
}

unsigned cd_fekc_sweep(uint64_t now)
{
	unsigned held = 0;
	pthread_mutex_lock(&fc.mu);
	for (size_t i = 0; fc.e && i < (size_t)fc.nsets * FEKC_WAYS; i++) {
		if (expired(&fc.e[i], now))
			ent_wipe(&fc.e[i]);
		held += fc.e[i].used != 0;
	}
	pthread_mutex_unlock(&fc.mu);
	return held;
}

static void *sweeper(void *arg)
{
	struct timespec one = {.tv_sec = 1};
	(void)arg;
	for (;;) {
		while (clock_nanosleep(CLOCK_MONOTONIC, 0, &one, NULL) != 0)
			;
		cd_fekc_sweep(now_ns());
	}
	return NULL;
}

int cd_fekc_start_sweeper(void)
{
	pthread_t t;
	pthread_attr_t a;
	int rc;
	if (!fc.e)
		return 0;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &a, sweeper, NULL);
	pthread_attr_destroy(&a);
	return -rc;
}
