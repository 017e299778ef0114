/* SPDX-License-Identifier: MIT */
/*
 * Batch SHA-256: many independent messages at once through Intel ipsec-mb's
 * multi-buffer job API (IMB_AUTH_SHA_256 jobs, submit/flush), mbedTLS
 * otherwise. Both give plain FIPS 180-4 SHA-256, byte for byte.
 *
 * Which ipsec-mb manager: on a CPU with SHA extensions the SSE manager
 * (ipsec-mb 1.3 uses SHA-NI only there, two lanes), else the best
 * architecture init_mb_mgr_auto() finds (AVX2: eight lanes, AVX-512:
 * sixteen). Measured on this project's AMD EPYC (SHA-NI, AVX2), 16 KiB
 * messages, 8 per batch: SSE/SHA-NI 2.9 GB/s, AVX2 1.5 GB/s, mbedTLS
 * 0.26 GB/s per core (bench/digestbench.c).
 *
 * The manager is per thread (thread-local, made at a thread's first call,
 * freed by a pthread key destructor when the thread exits), so callers such
 * as the format library need no handle. It is separate from a struct
 * cipher_thread's manager, which init_mb_mgr_auto() sets up for AES-GCM
 * (AVX2 here: half the SHA-256 speed).
 */
#include "cipher.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <mbedtls/sha256.h>

static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha_key;
static bool sha_key_ok;
static __thread IMB_MGR *sha_mgr;
static __thread bool sha_tried;

static void sha_mgr_free(void *p)
{
	free_mb_mgr(p);
}

static void sha_key_init(void)
{
	sha_key_ok = pthread_key_create(&sha_key, sha_mgr_free) == 0;
}

/* This thread's hashing manager, made on first use; NULL when ipsec-mb
 * cannot run here (the caller uses mbedTLS; a failure is not retried). */
static IMB_MGR *sha_mgr_get(void)
{
	IMB_ARCH arch = IMB_ARCH_SSE;
	IMB_MGR *m;

	if (sha_mgr || sha_tried)
		return sha_mgr;
	sha_tried = true;
	pthread_once(&sha_once, sha_key_init);
	if (!sha_key_ok)
		return NULL;
	m = alloc_mb_mgr(0);
	if (!m)
		return NULL;
	if (m->features & IMB_FEATURE_SHANI)
		init_mb_mgr_sse(m);
	else
		init_mb_mgr_auto(m, &arch);
	if (imb_get_errno(m) != 0 || arch == IMB_ARCH_NONE ||
	    pthread_setspecific(sha_key, m) != 0) {
		free_mb_mgr(m);
		return NULL;
	}
	sha_mgr = m;
	return m;
}

static int mbed_sha256(const uint8_t *msg, size_t len, uint8_t out[32])
{
	return mbedtls_sha256_ret(msg, len, out, 0) == 0 ? 0 : -EINVAL;
}

/* A finished job: its digest is in place, or (a job ipsec-mb refused)
 * computed again with mbedTLS, so the output never depends on the path. */
static int job_done(const IMB_JOB *j, const uint8_t *const *msgs,
		    const size_t *lens, uint8_t (*out)[32])
{
	size_t i = (size_t)(uintptr_t)j->user_data;

	if (j->status == IMB_STATUS_COMPLETED)
		return 0;
	return mbed_sha256(msgs[i], lens[i], out[i]);
}

static int imb_sha256_batch(IMB_MGR *m, const uint8_t *const *msgs,
			    const size_t *lens, unsigned n, uint8_t (*out)[32])
{
	static const uint8_t empty[64];
	IMB_JOB *j;
	int r = 0;

	for (unsigned i = 0; i < n; i++) {
		j = IMB_GET_NEXT_JOB(m);
		j->cipher_mode = IMB_CIPHER_NULL;
		j->cipher_direction = IMB_DIR_ENCRYPT;
		j->chain_order = IMB_ORDER_HASH_CIPHER;
		j->src = lens[i] ? msgs[i] : empty;
		j->dst = NULL;
		j->cipher_start_src_offset_in_bytes = 0;
		j->msg_len_to_cipher_in_bytes = 0;
		j->hash_alg = IMB_AUTH_SHA_256;
		j->hash_start_src_offset_in_bytes = 0;
		j->msg_len_to_hash_in_bytes = lens[i];
		j->auth_tag_output = out[i];
		j->auth_tag_output_len_in_bytes = 32;
		j->user_data = (void *)(uintptr_t)i;
		/* Lanes fill up; a submit hands back the oldest job once it
		 * is done, the rest come from get_completed and flush. */
		for (j = IMB_SUBMIT_JOB(m); j; j = IMB_GET_COMPLETED_JOB(m))
			r |= job_done(j, msgs, lens, out);
	}
	while ((j = IMB_FLUSH_JOB(m)) != NULL)
		r |= job_done(j, msgs, lens, out);
	return r ? -EINVAL : 0;
}

int cipher_sha256_batch(int backend, const uint8_t *const *msgs,
			const size_t *lens, unsigned n, uint8_t (*out)[32])
{
	IMB_MGR *m = NULL;
	int r = 0;

	if ((n && (!msgs || !lens || !out)) ||
	    (backend != 0 && backend != CIPHER_BACKEND_IPSECMB &&
	     backend != CIPHER_BACKEND_MBEDTLS))
		return -EINVAL;
	if (backend != CIPHER_BACKEND_MBEDTLS) {
		m = sha_mgr_get();
		if (!m && backend == CIPHER_BACKEND_IPSECMB)
			return -ENOTSUP;
	}
	for (unsigned i = 0; i < n; i++)
		if (lens[i] && !msgs[i]) {
			r = -EINVAL;
			goto out;
		}
	if (m)
		r = imb_sha256_batch(m, msgs, lens, n, out);
	else
		for (unsigned i = 0; i < n && r == 0; i++)
			r = mbed_sha256(msgs[i], lens[i], out[i]);
out:
	if (r < 0)
		for (unsigned i = 0; i < n; i++)
			memset(out[i], 0, 32);
	return r;
}
