/* SPDX-License-Identifier: MIT */
/*
 * bench-cipher: AEAD throughput per core, backend x algorithm x batch size,
 * seal and open, with OpenSSL's EVP AES-256-GCM as a yardstick in the same
 * run. Each batch is made of 4 KiB extents, each with its own nonce, AD and
 * tag, as the on-disk format uses them.
 *
 *   bench-cipher [--quick] [--seconds=S] [--trials=N]
 *
 * Output: one line per measurement,
 *   cipher backend=ipsecmb alg=aes256gcm batch=1048576 op=seal gbps=3.41
 * then a Markdown table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "cipher.h"
#include "cipherbench.h"

#ifdef CS_HAVE_OPENSSL
#include <openssl/evp.h>
#include <openssl/opensslv.h>

struct ossl_batch {
	EVP_CIPHER_CTX *ctx;
	uint8_t *pt, *ct, *nonces, *ads, *tags;
	unsigned n;
	int open;
};

/* One batch through EVP: key schedule once (set at init), then per
 * extent: IV, AD, data, final, tag, as an application would. */
static int ossl_run(void *arg)
{
	struct ossl_batch *b = arg;
	int l;

	for (unsigned i = 0; i < b->n; i++) {
		const uint8_t *iv = b->nonces + (size_t)i * 12;
		const uint8_t *ad = b->ads + (size_t)i * CB_ADLEN;
		uint8_t *tag = b->tags + (size_t)i * 16;
		uint8_t *p = b->pt + (size_t)i * CB_EXTENT;
		uint8_t *c = b->ct + (size_t)i * CB_EXTENT;
		if (!b->open) {
			if (EVP_EncryptInit_ex(b->ctx, NULL, NULL, NULL, iv) !=
				1 ||
			    EVP_EncryptUpdate(b->ctx, NULL, &l, ad, CB_ADLEN) !=
				1 ||
			    EVP_EncryptUpdate(b->ctx, c, &l, p, CB_EXTENT) !=
				1 ||
			    EVP_EncryptFinal_ex(b->ctx, c + l, &l) != 1 ||
			    EVP_CIPHER_CTX_ctrl(b->ctx, EVP_CTRL_AEAD_GET_TAG,
						16, tag) != 1)
				return -1;
		} else {
			if (EVP_DecryptInit_ex(b->ctx, NULL, NULL, NULL, iv) !=
				1 ||
			    EVP_DecryptUpdate(b->ctx, NULL, &l, ad, CB_ADLEN) !=
				1 ||
			    EVP_DecryptUpdate(b->ctx, p, &l, c, CB_EXTENT) !=
				1 ||
			    EVP_CIPHER_CTX_ctrl(b->ctx, EVP_CTRL_AEAD_SET_TAG,
						16, tag) != 1 ||
			    EVP_DecryptFinal_ex(b->ctx, p + l, &l) != 1)
				return -1;
		}
	}
	return 0;
}

/* Seals with cscipher (ipsec-mb or mbedTLS, same bytes) so the open runs
 * check OpenSSL against our ciphertext too. */
static double ossl_gbps(const struct bench_cfg *cfg, size_t batch, int open,
			int backend)
{
	struct cb_batch cb;
	struct ossl_batch b;
	uint8_t key[32];
	double g = -1.0;

	memset(&b, 0, sizeof(b));
	if (cb_batch_init(&cb, backend, CIPHER_AES256GCM, batch, 0) != 0)
		return -1.0;
	/* Same key for OpenSSL: a fresh cscipher key from known bytes. */
	cipher_random(key, sizeof(key));
	cipher_key_free(cb.key);
	cb.key = NULL;
	if (cipher_key_new(CIPHER_AES256GCM, backend, key, 32, &cb.key) != 0 ||
	    cipher_seal_batch(cb.th, cb.key, cb.ops, cb.n) != 0)
		goto out;
	b.ctx = EVP_CIPHER_CTX_new();
	if (!b.ctx)
		goto out;
	if ((open
		 ? EVP_DecryptInit_ex(b.ctx, EVP_aes_256_gcm(), NULL, key, NULL)
		 : EVP_EncryptInit_ex(b.ctx, EVP_aes_256_gcm(), NULL, key,
				      NULL)) != 1)
		goto out;
	b.pt = cb.pt;
	b.ct = cb.ct;
	b.nonces = cb.nonces;
	b.ads = cb.ads;
	b.tags = cb.tags;
	b.n = cb.n;
	b.open = open;
	g = bench_gbps(cfg, ossl_run, &b, (uint64_t)b.n * CB_EXTENT);
out:
	memset(key, 0, sizeof(key));
	EVP_CIPHER_CTX_free(b.ctx);
	cb_batch_free(&cb);
	return g;
}
#endif

static const size_t batches[] = {4096, 65536, 1048576};
static const char *const batch_names[] = {"4 KiB", "64 KiB", "1 MiB"};
static const int algs[] = {CIPHER_AES256GCM, CIPHER_AES128GCM,
			   CIPHER_CHACHA20POLY1305};
static const int backends[] = {CIPHER_BACKEND_IPSECMB, CIPHER_BACKEND_MBEDTLS};
static const char *const ops[] = {"seal", "open"};

int main(int argc, char **argv)
{
	static struct bench_table tab;
	struct bench_cfg cfg;
	char row[BENCH_LABEL];
	int bad = bench_cfg_parse(&cfg, argc, argv);
	int failures = 0;

	if (bad) {
		fprintf(stderr,
			"usage: %s [--quick] [--seconds=S] [--trials=N]\n",
			argv[0]);
		return 2;
	}
	printf("# bench-cipher: GB/s (1e9 B/s) per core, thread CPU time, "
	       "best of %d x %.2fs; 4 KiB extents, own nonce/AD/tag each\n",
	       cfg.trials, cfg.min_sec);
	for (size_t bi = 0; bi < sizeof(backends) / sizeof(*backends); bi++) {
		int be = backends[bi];
		if (!cipher_backend_available(be)) {
			printf("# backend %s unavailable here\n",
			       cipher_backend_name(be));
			continue;
		}
		for (size_t ai = 0; ai < sizeof(algs) / sizeof(*algs); ai++) {
			for (int op = 0; op < 2; op++) {
				snprintf(row, sizeof(row), "%s %s %s",
					 cipher_backend_name(be),
					 cipher_alg_name(algs[ai]), ops[op]);
				for (size_t s = 0; s < 3; s++) {
					double g = cb_raw_gbps(
					    &cfg, be, algs[ai], batches[s], op);
					if (g < 0) {
						failures++;
						continue;
					}
					bench_line(g,
						   "cipher backend=%s alg=%s "
						   "batch=%zu op=%s",
						   cipher_backend_name(be),
						   cipher_alg_name(algs[ai]),
						   batches[s], ops[op]);
					bench_table_add(&tab, row,
							batch_names[s], g);
				}
			}
		}
	}
#ifdef CS_HAVE_OPENSSL
	for (int op = 0; op < 2; op++) {
		snprintf(row, sizeof(row), "openssl-evp aes256gcm %s", ops[op]);
		for (size_t s = 0; s < 3; s++) {
			double g = ossl_gbps(&cfg, batches[s], op,
					     cipher_backend_default());
			if (g < 0) {
				failures++;
				continue;
			}
			bench_line(g,
				   "cipher backend=openssl alg=aes256gcm "
				   "batch=%zu op=%s",
				   batches[s], ops[op]);
			bench_table_add(&tab, row, batch_names[s], g);
		}
	}
	printf("# yardstick: %s\n", OPENSSL_VERSION_TEXT);
#else
	printf("# OpenSSL yardstick not built (libssl-dev missing)\n");
#endif
	bench_table_print(&tab, "backend alg op \\ batch",
			  "GB/s per core (1e9 bytes/s), higher is better.");
	if (failures)
		fprintf(stderr, "bench-cipher: %d measurements failed\n",
			failures);
	return failures ? 1 : 0;
}
