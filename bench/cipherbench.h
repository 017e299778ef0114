/* SPDX-License-Identifier: MIT */
/*
 * The raw cscipher batch workload (header only, link cscipher): a batch of
 * 4 KiB extents, each with its own nonce, 24-byte AD (file ID + extent
 * index, as the format's) and tag, out of place (slot -> ciphertext buffer
 * and back). bench-cipher uses it; the format benchmark can call
 * cb_raw_gbps() in the same run to compare its own encrypt path against
 * raw ipsec-mb AES-256-GCM on 1 MiB batches, e.g. in bench/fmt.c:
 *
 *   struct bench_cfg cfg;
 *   bench_cfg_parse(&cfg, argc, argv);
 *   double raw = cb_raw_gbps(&cfg, CIPHER_BACKEND_IPSECMB,
 *                            CIPHER_AES256GCM, 1 << 20, 0);
 *   double fmt = bench_gbps(&cfg, my_fmt_encrypt_1mib, &state, 1 << 20);
 *   bench_line(fmt, "cipher backend=ipsecmb alg=aes256gcm batch=1048576 "
 *              "op=fmt-seal ratio=%.3f", fmt / raw);
 *
 * (link cscipher; add ${CMAKE_CURRENT_LIST_DIR} to the include path.)
 */
#ifndef CS_CIPHERBENCH_H
#define CS_CIPHERBENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "cipher.h"

#define CB_EXTENT 4096
#define CB_ADLEN  24

struct cb_batch {
	struct cipher_thread *th;
	struct cipher_key *key;
	uint8_t *pt, *ct;
	uint8_t *nonces, *ads, *tags;
	struct cipher_op *ops;
	unsigned n;
	int open;
};

static inline void cb_batch_free(struct cb_batch *b)
{
	cipher_key_free(b->key);
	cipher_thread_free(b->th);
	free(b->pt);
	free(b->ct);
	free(b->nonces);
	free(b->ads);
	free(b->tags);
	free(b->ops);
	memset(b, 0, sizeof(*b));
}

/* One iteration: seal (or open) the whole batch. 0, or -1 on any failure. */
static inline int cb_batch_run(void *arg)
{
	struct cb_batch *b = arg;
	int r = b->open ? cipher_open_batch(b->th, b->key, b->ops, b->n)
			: cipher_seal_batch(b->th, b->key, b->ops, b->n);
	return r == 0 ? 0 : -1;
}

/* Sets up a batch of batch_bytes (a multiple of 4 KiB) for backend/alg with
 * a random key; open != 0 prepares valid ciphertext to open. 0 or -errno. */
static inline int cb_batch_init(struct cb_batch *b, int backend, int alg,
				size_t batch_bytes, int open)
{
	uint8_t key[CIPHER_KEY_MAX];
	int r;

	memset(b, 0, sizeof(*b));
	b->n = (unsigned)(batch_bytes / CB_EXTENT);
	b->open = open;
	if (b->n == 0 || cipher_alg_keylen(alg) < 0)
		return -EINVAL;
	r = cipher_thread_new(backend, &b->th);
	if (r != 0)
		goto fail;
	cipher_random(key, sizeof(key));
	r = cipher_key_new(alg, backend, key, (size_t)cipher_alg_keylen(alg),
			   &b->key);
	memset(key, 0, sizeof(key));
	if (r != 0)
		goto fail;
	r = -ENOMEM;
	b->pt = aligned_alloc(4096, batch_bytes);
	b->ct = aligned_alloc(4096, batch_bytes);
	b->nonces = malloc((size_t)b->n * CIPHER_NONCE_LEN);
	b->ads = malloc((size_t)b->n * CB_ADLEN);
	b->tags = malloc((size_t)b->n * CIPHER_TAG_LEN);
	b->ops = calloc(b->n, sizeof(*b->ops));
	if (!b->pt || !b->ct || !b->nonces || !b->ads || !b->tags || !b->ops)
		goto fail;
	cipher_random(b->pt, batch_bytes);
	cipher_random(b->nonces, (size_t)b->n * CIPHER_NONCE_LEN);
	cipher_random(b->ads, (size_t)b->n * CB_ADLEN);
	for (unsigned i = 0; i < b->n; i++) {
		struct cipher_op *op = &b->ops[i];
		op->in = b->pt + (size_t)i * CB_EXTENT;
		op->out = b->ct + (size_t)i * CB_EXTENT;
		op->len = CB_EXTENT;
		op->nonce = b->nonces + (size_t)i * CIPHER_NONCE_LEN;
		op->ad = b->ads + (size_t)i * CB_ADLEN;
		op->adlen = CB_ADLEN;
		op->tag = b->tags + (size_t)i * CIPHER_TAG_LEN;
	}
	if (cipher_seal_batch(b->th, b->key, b->ops, b->n) != 0) {
		r = -EIO;
		goto fail;
	}
	if (open) {
		/* Open ciphertext back into the plaintext buffer. */
		for (unsigned i = 0; i < b->n; i++) {
			b->ops[i].in = b->ct + (size_t)i * CB_EXTENT;
			b->ops[i].out = b->pt + (size_t)i * CB_EXTENT;
		}
	}
	return 0;
fail:
	cb_batch_free(b);
	return r;
}

/* Raw cscipher throughput in GB/s per core for one configuration, or a
 * negative value (-errno, or -1.0 if an operation failed). */
static inline double cb_raw_gbps(const struct bench_cfg *cfg, int backend,
				 int alg, size_t batch_bytes, int open)
{
	struct cb_batch b;
	int r = cb_batch_init(&b, backend, alg, batch_bytes, open);
	if (r != 0)
		return r;
	double g = bench_gbps(cfg, cb_batch_run, &b, (uint64_t)b.n * CB_EXTENT);
	cb_batch_free(&b);
	return g;
}

#endif
