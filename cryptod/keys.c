/* SPDX-License-Identifier: MIT */
/*
 * keyd client (proto/keymsg.h). One service socket, shared by all workers
 * and serialized on cd.keyd_mu: a request and its reply are one critical
 * section, so replies cannot cross. A malformed reply is fatal (fail
 * closed); a status < 0 is an ordinary error for the caller.
 *
 * New files take their header from a pool of ready ones (random file id,
 * random FEK, packets wrapped by keyd): one KD_WRAP_BATCH round trip fills
 * KD_BATCH_MAX entries, so a create costs no keyd round trip most of the
 * time; a refill thread makes the next batch while the current one is
 * half used. The FEKs wait in locked memory and are wiped when taken, when
 * the pool is dropped and at exit. Lock order: pool.mu, then keyd_mu.
 *
 * Unwraps are answered from the FEK cache (fekcache.h) when cryptod
 * unwrapped or created the same key packet under the same header a short
 * while ago; new headers from the pool enter it as they are handed out.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cipher.h"
#include "cryptod.h"
#include "fekcache.h"
#include "fmt.h"
#include "keymsg.h"
#include "log.h"
#include "secmem.h"
#include "util.h"

static void pool_exit(void);

/* Sends req (len bytes) and receives exactly rep_len bytes of reply with
 * type and seq echoed; caller holds keyd_mu. 0 or -errno. */
static int keyd_call(void *req, size_t len, void *rep, size_t rep_len)
{
	struct kd_hdr *h = req;
	h->seq = ++cd.keyd_seq;
	ssize_t n;
	do
		n = send(cd.keyd_fd, req, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* keyd is gone (EPIPE/ECONNRESET): no key can be had any
		 * more; callers answer EIO, as for any dead stage. */
		log_warn("keyd unreachable");
		return -EIO;
	}
	if ((size_t)n != len)
		fatalx("keyd: short send");
	do
		n = recv(cd.keyd_fd, rep, rep_len, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		log_warn("keyd unreachable");
		return -EIO;
	}
	if (n == 0)
		fatalx("keyd hung up");
	const struct kd_hdr *rh = rep;
	if ((size_t)n != rep_len || rh->type != h->type || rh->seq != h->seq)
		fatalx("keyd: malformed reply (len %zd type %u)", n,
		       (unsigned)rh->type);
	return 0;
}

/* One locked page for the secret half of every keyd exchange (a wrap
 * request's FEK, an unwrap reply's FEK), used under keyd_mu and wiped
 * after each use: no mmap/mlock/munlock/munmap per call. */
static void *kbuf;
#define MAX2(a, b) ((a) > (b) ? (a) : (b))
#define KBUF_LEN                                                               \
	MAX2(sizeof(struct kd_wrap_batch_req),                                 \
	     MAX2(sizeof(struct kd_wrap_req), sizeof(struct kd_unwrap_rep)))

/* Returns the locked exchange buffer (caller holds keyd_mu) or NULL. */
static void *kbuf_get(void)
{
	if (!kbuf)
		kbuf = secmem_alloc(KBUF_LEN);
	return kbuf;
}

int cd_keyd_init(void)
{
	int rc;
	struct kd_hello hi = {.h = {.type = KD_HELLO},
			      .version = KD_PROTO_VERSION};
	struct kd_hello hrep;
	struct kd_names_key_req nreq = {.h = {.type = KD_NAMES_KEY}};
	struct kd_names_key_rep *nrep = NULL;

	atexit(pool_exit);
	pthread_mutex_lock(&cd.keyd_mu);
	rc = keyd_call(&hi, sizeof(hi), &hrep, sizeof(hrep));
	if (rc < 0)
		goto out;
	if (hrep.version != KD_PROTO_VERSION) {
		log_warnx("keyd speaks version %u, want %u", hrep.version,
			  KD_PROTO_VERSION);
		rc = -EPROTO;
		goto out;
	}
	/* The reply carries a key: receive it straight into locked memory. */
	nrep = secmem_alloc(sizeof(*nrep));
	cd.names_key = secmem_alloc(KD_NAMES_KEY_LEN);
	if (!nrep || !cd.names_key) {
		rc = -ENOMEM;
		goto out;
	}
	rc = keyd_call(&nreq, sizeof(nreq), nrep, sizeof(*nrep));
	if (rc < 0)
		goto out;
	if (nrep->status < 0) {
		rc = nrep->status;
		goto out;
	}
	memcpy(cd.names_key, nrep->key, KD_NAMES_KEY_LEN);
out:
	pthread_mutex_unlock(&cd.keyd_mu);
	secmem_free(nrep, sizeof(*nrep));
	if (rc < 0) {
		secmem_free(cd.names_key, KD_NAMES_KEY_LEN);
		cd.names_key = NULL;
	}
	return rc;
}

int cd_keyd_wrap(const uint8_t *fek, const uint8_t *ad, uint32_t ad_len,
		 void *pkts, unsigned max)
{
	struct kd_wrap_req *req = NULL;
	struct kd_wrap_rep rep;
	int rc;

	if (ad_len > KD_AD_MAX)
		return -EINVAL;
	pthread_mutex_lock(&cd.keyd_mu);
	req = kbuf_get();
	if (!req) {
		pthread_mutex_unlock(&cd.keyd_mu);
		return -ENOMEM;
	}
	memset(req, 0, sizeof(*req));
	req->h.type = KD_WRAP;
	memcpy(req->fek, fek, KD_FEK_LEN);
	req->ad_len = ad_len;
	memcpy(req->ad, ad, ad_len);
	rc = keyd_call(req, sizeof(*req), &rep, sizeof(rep));
	secmem_wipe(req, sizeof(*req));
	pthread_mutex_unlock(&cd.keyd_mu);
	if (rc < 0)
		return rc;
	if (rep.status < 0)
		return rep.status;
	if (rep.count < 1 || rep.count > KD_MAX_KEYS)
		fatalx("keyd: wrap reply with %u packets", rep.count);
	unsigned n = rep.count < max ? rep.count : max;
	memcpy(pkts, rep.pkt, n * sizeof(struct kd_packet));
	return (int)n;
}

int cd_keyd_unwrap(const void *pkt, const uint8_t *ad, uint32_t ad_len,
		   uint8_t *fek)
{
	struct kd_unwrap_req req;
	struct kd_unwrap_rep *rep = NULL;
	int rc;

	memset(fek, 0, KD_FEK_LEN);
	if (ad_len > KD_AD_MAX)
		return -EINVAL;
	if (cd_fekc_get(pkt, ad, ad_len, fek, now_ns()) == 0)
		return 0;
	memset(&req, 0, sizeof(req));
	req.h.type = KD_UNWRAP;
	memcpy(&req.pkt, pkt, sizeof(req.pkt));
	req.ad_len = ad_len;
	memcpy(req.ad, ad, ad_len);
	pthread_mutex_lock(&cd.keyd_mu);
	rep = kbuf_get();
	if (!rep) {
		pthread_mutex_unlock(&cd.keyd_mu);
		return -ENOMEM;
	}
	rc = keyd_call(&req, sizeof(req), rep, sizeof(*rep));
	if (rc == 0 && rep->status < 0)
		rc = rep->status;
	if (rc == 0)
		memcpy(fek, rep->fek, KD_FEK_LEN);
	secmem_wipe(rep, sizeof(*rep));
	pthread_mutex_unlock(&cd.keyd_mu);
	if (rc == 0)
		cd_fekc_put(pkt, ad, ad_len, fek, now_ns());
	return rc;
}

/* ---- pool of fresh new-file headers ---------------------------------- */

/* KD_BATCH_MAX headers for one (alg, req_flags), their FEKs in locked
 * memory: FEK i at feks + i * 32, headers hdr[0..n) ready. */
struct hbatch {
	unsigned n;
	int alg;
	uint32_t req_flags;
	uint8_t *feks;
	struct fmt_header hdr[KD_BATCH_MAX];
	struct kd_wrap_batch_rep rep; /* packets only, no secret */
};

/* Creates take from cur. When cur runs low, the refill thread fills spare
 * (outside mu, flagged by filling: nobody else touches spare then), and
 * the create that empties cur swaps the two: no create waits for keyd
 * unless creates outrun the refills (then it fills cur itself, as without
 * the thread). */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hbatch b[2];
	struct hbatch *cur, *spare;
	bool want, filling, thread;
	int want_alg;
	uint32_t want_flags;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
	  .cv = PTHREAD_COND_INITIALIZER,
	  .cur = &pool.b[0],
	  .spare = &pool.b[1]};

/* Wipes every ready FEK of b. */
static void batch_drop(struct hbatch *b)
{
	if (b->feks)
		secmem_wipe(b->feks, KD_BATCH_MAX * KD_FEK_LEN);
	b->n = 0;
}

/* At exit: the FEKs are wiped; a batch the refill thread is filling is
 * left to it (the process ends anyway, its pages are not dumpable). */
static void pool_exit(void)
{
	pthread_mutex_lock(&pool.mu);
	batch_drop(pool.cur);
	if (!pool.filling)
		batch_drop(pool.spare);
	pthread_mutex_unlock(&pool.mu);
}

/* Makes KD_BATCH_MAX headers for alg and req_flags with fresh FEKs in b and
 * has keyd wrap them in one exchange; the caller owns b (b->n == 0) and
 * does not hold keyd_mu. 0 or -errno (b stays empty). */
static int batch_fill(struct hbatch *b, int alg, uint32_t req_flags)
{
	struct kd_wrap_batch_req *req;
	int rc = 0, adl = 0;

	if (!b->feks) {
		b->feks = secmem_alloc(KD_BATCH_MAX * KD_FEK_LEN);
		if (!b->feks)
			return -ENOMEM;
	}
	pthread_mutex_lock(&cd.keyd_mu);
	req = kbuf_get();
	if (!req) {
		rc = -ENOMEM;
		goto out;
	}
	memset(req, 0, sizeof(*req));
	req->h.type = KD_WRAP_BATCH;
	req->count = KD_BATCH_MAX;
	for (unsigned e = 0; e < KD_BATCH_MAX; e++) {
		struct fmt_header *h = &b->hdr[e];
		rc = fmt_header_new(h, alg);
		if (rc < 0)
			goto out;
		/* Set before anything binds the fixed header (fmt.h). */
		h->req_flags = req_flags;
		adl = fmt_header_ad(h, req->ad[e], KD_BATCH_AD_MAX);
		if (adl < 0) {
			rc = adl;
			goto out;
		}
		rc = cipher_random(b->feks + e * KD_FEK_LEN, KD_FEK_LEN);
		if (rc < 0)
			goto out;
		memcpy(req->fek[e], b->feks + e * KD_FEK_LEN, KD_FEK_LEN);
	}
	req->ad_len = (uint32_t)adl;
	rc = keyd_call(req, sizeof(*req), &b->rep, sizeof(b->rep));
	if (rc < 0)
		goto out;
	if (b->rep.status < 0) {
		rc = b->rep.status;
		goto out;
	}
	if (b->rep.count != KD_BATCH_MAX || b->rep.npkts < 1 ||
	    b->rep.npkts > KD_MAX_KEYS)
		fatalx("keyd: batch reply with %u entries of %u packets",
		       b->rep.count, b->rep.npkts);
	for (unsigned e = 0; e < KD_BATCH_MAX && rc == 0; e++)
		rc = fmt_header_set_packets(&b->hdr[e], b->rep.pkt[e],
					    b->rep.npkts);
out:
	if (req)
		secmem_wipe(req, sizeof(*req));
	pthread_mutex_unlock(&cd.keyd_mu);
	if (rc < 0) {
		batch_drop(b);
		return rc;
	}
	b->n = KD_BATCH_MAX;
	b->alg = alg;
	b->req_flags = req_flags;
	return 0;
}

static void *refiller(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		while (!pool.want)
			pthread_cond_wait(&pool.cv, &pool.mu);
		pool.want = false;
		pool.filling = true;
		int alg = pool.want_alg;
		uint32_t flags = pool.want_flags;
		pthread_mutex_unlock(&pool.mu);
		int rc = batch_fill(pool.spare, alg, flags);
		if (rc < 0)
			log_warnx("new-file header pool: refill failed (%s)",
				  strerror(-rc));
		pthread_mutex_lock(&pool.mu);
		pool.filling = false;
	}
	return NULL;
}

int cd_keyd_start_refill(void)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &a, refiller, NULL);
	pthread_attr_destroy(&a);
	if (rc != 0)
		return -rc;
	pthread_mutex_lock(&pool.mu);
	pool.thread = true;
	pthread_mutex_unlock(&pool.mu);
	return 0;
}

static bool batch_fits(const struct hbatch *b, int alg, uint32_t req_flags)
{
	return b->alg == alg && b->req_flags == req_flags;
}

int cd_fresh_header(struct fmt_header *h, uint32_t req_flags, uint8_t *fek)
{
	int rc = 0, alg = cd.cipher_alg;

	pthread_mutex_lock(&pool.mu);
	if (pool.cur->n && !batch_fits(pool.cur, alg, req_flags))
		batch_drop(pool.cur);
	if (!pool.cur->n && !pool.filling && pool.spare->n) {
		struct hbatch *t = pool.cur;
		pool.cur = pool.spare;
		pool.spare = t;
		if (!batch_fits(pool.cur, alg, req_flags))
			batch_drop(pool.cur);
	}
	if (!pool.cur->n)
		rc = batch_fill(pool.cur, alg, req_flags);
	if (rc == 0) {
		struct hbatch *b = pool.cur;
		unsigned e = --b->n;
		*h = b->hdr[e];
		memcpy(fek, b->feks + e * KD_FEK_LEN, KD_FEK_LEN);
		secmem_wipe(b->feks + e * KD_FEK_LEN, KD_FEK_LEN);
		/* The file's first open after its close needs no keyd. */
		uint8_t ad[KD_AD_MAX];
		int adl = fmt_header_ad(h, ad, sizeof(ad));
		for (unsigned i = 0; adl > 0 && i < h->npackets &&
				     i < FMT_MAX_PACKETS;
		     i++)
			cd_fekc_put(&h->pkt[i], ad, (uint32_t)adl, fek,
				    now_ns());
		/* Half used: have the next batch made in the background. */
		if (pool.thread && !pool.filling && !pool.want &&
		    b->n <= KD_BATCH_MAX / 2 &&
		    (!pool.spare->n || !batch_fits(pool.spare, alg, req_flags))) {
			batch_drop(pool.spare);
			pool.want = true;
			pool.want_alg = alg;
			pool.want_flags = req_flags;
			pthread_cond_signal(&pool.cv);
		}
	} else {
		memset(fek, 0, KD_FEK_LEN);
	}
	pthread_mutex_unlock(&pool.mu);
	return rc;
}
