/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the paths that take hostile bytes: AEAD open (extent
 * data, key packets) and AES-SIV decrypt (file names), on both backends.
 * Also differential: the input, taken as plaintext, must seal to the same
 * bytes on ipsec-mb and mbedTLS and open again; every input, cut into
 * messages, must hash the same through both batch SHA-256 paths. Any
 * mismatch aborts.
 *
 * Input: byte 0 = mode (bits 0-1: 0 SIV, 1-3 AEAD alg; bit 2: backend;
 * bit 3: in place), then for AEAD: nonce(12) tag(16) adlen(1) ad ct;
 * for SIV: nad(1), nad lengths(1 each), ads, then V || C.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cipher_thread *th[3];
static struct cipher_key *keys[3][4];
static int have_imb;
static uint8_t buf[1 << 17], buf2[1 << 17];

static void setup(void)
{
	static const uint8_t raw[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	int bs[2] = {CIPHER_BACKEND_IPSECMB, CIPHER_BACKEND_MBEDTLS};

	have_imb = cipher_backend_available(CIPHER_BACKEND_IPSECMB);
	for (int i = 0; i < 2; i++) {
		int b = bs[i];
		if (b == CIPHER_BACKEND_IPSECMB && !have_imb)
			continue;
		if (cipher_thread_new(b, &th[b]) != 0)
			abort();
		for (int a = 1; a <= 3; a++)
			if (cipher_key_new(a, b, raw,
					   (size_t)cipher_alg_keylen(a),
					   &keys[b][a]) != 0)
				abort();
	}
}

static void fuzz_siv(const uint8_t *d, size_t n)
{
	static const uint8_t key[64] = {0x42};
	struct cipher_ad ads[CIPHER_SIV_MAX_AD + 2];
	unsigned nad;

	if (n < 1)
		return;
	nad = d[0];
	d++;
	n--;
	if (nad > n)
		return;
	const uint8_t *lens = d;
	d += nad;
	n -= nad;
	for (unsigned i = 0; i < nad && i < CIPHER_SIV_MAX_AD + 2; i++) {
		size_t l = lens[i] % 40;
		if (l > n)
			l = n;
		ads[i] = (struct cipher_ad){d, l};
		d += l;
		n -= l;
	}
	if (nad > CIPHER_SIV_MAX_AD + 2)
		nad = CIPHER_SIV_MAX_AD + 2;
	if (n > sizeof(buf))
		return;
	int r = cipher_siv_decrypt(key, 64, ads, nad, d, n, buf);
	if (nad > CIPHER_SIV_MAX_AD || n < 16) {
		if (r != -EINVAL)
			abort();
		return;
	}
	if (r == 0)
		return; /* a forgery found by a fuzzer would be news */
	/* Round trip with the bytes as plaintext. */
	if (n + 16 > sizeof(buf))
		return;
	if (cipher_siv_encrypt(key, 64, ads, nad, d, n, buf) != 0 ||
	    cipher_siv_decrypt(key, 64, ads, nad, buf, n + 16, buf2) != 0 ||
	    memcmp(buf2, d, n) != 0)
		abort();
}

static void fuzz_aead(int alg, int backend, int inplace, const uint8_t *d,
		      size_t n)
{
	uint8_t tag[16], t1[16], t2[16];

	if (n < 29 || n - 29 > sizeof(buf))
		return;
	const uint8_t *nonce = d, *tg = d + 12;
	size_t adlen = d[28];
	d += 29;
	n -= 29;
	if (adlen > n)
		adlen = n;
	const uint8_t *ad = d, *ct = d + adlen;
	size_t len = n - adlen;

	memcpy(tag, tg, 16);
	memcpy(buf, ct, len);
	int r = cipher_open(th[backend], keys[backend][alg], nonce, ad, adlen,
			    inplace ? buf : ct, inplace ? buf : buf2, len, tag);
	if (r != -EBADMSG && r != 0)
		abort();
	if (r != 0)
		for (size_t i = 0; i < len; i++)
			if ((inplace ? buf : buf2)[i])
				abort(); /* failed open must zero output */

	/* Differential seal/open of ct as plaintext. */
	if (cipher_seal(th[backend], keys[backend][alg], nonce, ad, adlen, ct,
			buf, len, t1) != 0)
		abort();
	if (have_imb) {
		int other = backend == CIPHER_BACKEND_IPSECMB
				? CIPHER_BACKEND_MBEDTLS
				: CIPHER_BACKEND_IPSECMB;
		if (cipher_seal(th[other], keys[other][alg], nonce, ad, adlen,
				ct, buf2, len, t2) != 0 ||
		    memcmp(buf, buf2, len) != 0 || memcmp(t1, t2, 16) != 0)
			abort();
		backend = other;
	}
	if (cipher_open(th[backend], keys[backend][alg], nonce, ad, adlen, buf,
			buf, len, t1) != 0 ||
	    memcmp(buf, ct, len) != 0)
		abort();
}

/* Batch SHA-256, differential: the input cut into up to 9 messages (the
 * first byte of each, times 8, is its length) must hash to the same bytes
 * through ipsec-mb's jobs and through mbedTLS. */
static void fuzz_sha(const uint8_t *d, size_t n)
{
	const uint8_t *msgs[9];
	size_t lens[9], off = 0;
	uint8_t a[9][32], b[9][32];
	unsigned k = 0;
	int r;

	for (; k < 9 && off <= n; k++) {
		size_t l = off < n ? (size_t)d[off] * 8 : 0;
		if (l > n - off)
			l = n - off;
		msgs[k] = d + off;
		lens[k] = l;
		off += l ? l : 1;
	}
	if (cipher_sha256_batch(CIPHER_BACKEND_MBEDTLS, msgs, lens, k, a) != 0)
		abort();
	r = cipher_sha256_batch(CIPHER_BACKEND_IPSECMB, msgs, lens, k, b);
	if (r == -ENOTSUP)
		return;
	if (r != 0 || memcmp(a, b, (size_t)k * 32) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;

	if (!inited) {
		setup();
		inited = 1;
	}
	if (size < 1)
		return 0;
	fuzz_sha(data, size);
	int mode = data[0] & 3;
	int backend = (data[0] & 4) && have_imb ? CIPHER_BACKEND_IPSECMB
						: CIPHER_BACKEND_MBEDTLS;
	int inplace = !!(data[0] & 8);
	if (mode == 0)
		fuzz_siv(data + 1, size - 1);
	else
		fuzz_aead(mode, backend, inplace, data + 1, size - 1);
	return 0;
}
