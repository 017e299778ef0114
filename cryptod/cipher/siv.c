/* SPDX-License-Identifier: MIT */
/*
 * AES-SIV (RFC 5297) from mbedTLS's AES-CMAC and AES-CTR. Only S2V's
 * doubling and xor steps are written here, as the RFC specifies them.
 * Used for file names: short inputs, so contexts are set up per call.
 */
#include "cipher.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>

#include "secmem.h"

#define BLK 16

/* dbl() of RFC 5297 section 2.3: shift left one bit, xor 0x87 on carry. */
static void dbl(uint8_t d[BLK])
{
	uint8_t carry = d[0] >> 7;
	for (int i = 0; i < BLK - 1; i++)
		d[i] = (uint8_t)((d[i] << 1) | (d[i + 1] >> 7));
	/* Branch-free: the carry bit is secret-dependent. */
	d[BLK - 1] = (uint8_t)((d[BLK - 1] << 1) ^ (0x87 & (0 - carry)));
}

static void xor_block(uint8_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] ^= s[i];
}

/* One CMAC over buf (len bytes) with the key already set in ctx. */
static int cmac_one(mbedtls_cipher_context_t *ctx, const uint8_t *buf,
		    size_t len, uint8_t out[BLK])
{
	int r = mbedtls_cipher_cmac_reset(ctx);
	if (r == 0 && len)
		r = mbedtls_cipher_cmac_update(ctx, buf, len);
	if (r == 0)
		r = mbedtls_cipher_cmac_finish(ctx, out);
	return r;
}

/* S2V(K1, ads..., msg) into v; ctx holds K1. 0 or -EINVAL. */
static int s2v(mbedtls_cipher_context_t *ctx, const struct cipher_ad *ads,
	       unsigned nad, const uint8_t *msg, size_t len, uint8_t v[BLK])
{
	static const uint8_t zero[BLK];
	uint8_t d[BLK], t[BLK];
	int r;

	r = cmac_one(ctx, zero, BLK, d);
	for (unsigned i = 0; r == 0 && i < nad; i++) {
		r = cmac_one(ctx, ads[i].data, ads[i].len, t);
		dbl(d);
		xor_block(d, t, BLK);
	}
	if (r != 0)
		goto out;
	r = mbedtls_cipher_cmac_reset(ctx);
	if (r != 0)
		goto out;
	if (len >= BLK) {
		/* T = msg xorend D: stream all but the last block, then the
		 * last block xored with D. */
		memcpy(t, msg + (len - BLK), BLK);
		xor_block(t, d, BLK);
		if (len > BLK)
			r = mbedtls_cipher_cmac_update(ctx, msg, len - BLK);
		if (r == 0)
			r = mbedtls_cipher_cmac_update(ctx, t, BLK);
	} else {
		/* T = dbl(D) xor pad(msg): msg || 0x80 || 0... */
		dbl(d);
		memset(t, 0, BLK);
		if (len)
			memcpy(t, msg, len);
		t[len] = 0x80;
		xor_block(t, d, BLK);
		r = mbedtls_cipher_cmac_update(ctx, t, BLK);
	}
	if (r == 0)
		r = mbedtls_cipher_cmac_finish(ctx, v);
out:
	secmem_wipe(d, sizeof(d));
	secmem_wipe(t, sizeof(t));
	return r == 0 ? 0 : -EINVAL;
}

/* AES-CTR with the counter Q = V, bits 63 and 31 cleared (RFC 5297 2.6). */
static int siv_ctr(const uint8_t *k2, size_t klen, const uint8_t v[BLK],
		   const uint8_t *in, uint8_t *out, size_t len)
{
	mbedtls_aes_context aes;
	uint8_t q[BLK], stream[BLK];
	size_t nc_off = 0;
	int r;

	if (len == 0)
		return 0;
	mbedtls_aes_init(&aes);
	memcpy(q, v, BLK);
	q[8] &= 0x7f;
	q[12] &= 0x7f;
	r = mbedtls_aes_setkey_enc(&aes, k2, (unsigned)klen * 8);
	if (r == 0)
		r = mbedtls_aes_crypt_ctr(&aes, len, &nc_off, q, stream, in,
					  out);
	mbedtls_aes_free(&aes); /* zeroizes the schedule */
	secmem_wipe(stream, sizeof(stream));
	return r == 0 ? 0 : -EINVAL;
}

static int cmac_setup(mbedtls_cipher_context_t *ctx, const uint8_t *k1,
		      size_t klen)
{
	const mbedtls_cipher_info_t *ci = mbedtls_cipher_info_from_type(
	    klen == 32 ? MBEDTLS_CIPHER_AES_256_ECB
		       : MBEDTLS_CIPHER_AES_128_ECB);
	if (!ci || mbedtls_cipher_setup(ctx, ci) != 0 ||
	    mbedtls_cipher_cmac_starts(ctx, k1, klen * 8) != 0)
		return -EINVAL;
	return 0;
}

static int check_siv_args(const uint8_t *key, size_t keylen,
			  const struct cipher_ad *ads, unsigned nad)
{
	if (!key || (keylen != 32 && keylen != 64))
		return -EINVAL;
	if (nad > CIPHER_SIV_MAX_AD || (nad && !ads))
		return -EINVAL;
	for (unsigned i = 0; i < nad; i++)
		if (ads[i].len && !ads[i].data)
			return -EINVAL;
	return 0;
}

int cipher_siv_encrypt(const uint8_t *key, size_t keylen,
		       const struct cipher_ad *ads, unsigned nad,
		       const uint8_t *in, size_t len, uint8_t *out)
{
	mbedtls_cipher_context_t ctx;
	size_t half = keylen / 2;
	uint8_t v[BLK];
	int r;

	r = check_siv_args(key, keylen, ads, nad);
	if (r != 0 || !out || (len && !in) || len > SIZE_MAX - BLK)
		return -EINVAL;
	mbedtls_cipher_init(&ctx);
	r = cmac_setup(&ctx, key, half);
	if (r == 0)
		r = s2v(&ctx, ads, nad, in, len, v);
	/* CTR may run in place over out + 16 only if in is out + 16. */
	if (r == 0)
		r = siv_ctr(key + half, half, v, in, out + BLK, len);
	if (r == 0)
		memcpy(out, v, BLK);
	else
		secmem_wipe(out, len + BLK);
	mbedtls_cipher_free(&ctx);
	return r;
}

int cipher_siv_decrypt(const uint8_t *key, size_t keylen,
		       const struct cipher_ad *ads, unsigned nad,
		       const uint8_t *in, size_t len, uint8_t *out)
{
	mbedtls_cipher_context_t ctx;
	size_t half = keylen / 2;
	uint8_t v[BLK], calc[BLK];
	size_t plen;
	int r;

	r = check_siv_args(key, keylen, ads, nad);
	if (r != 0 || !in || len < BLK || (len > BLK && !out))
		return -EINVAL;
	plen = len - BLK;
	memcpy(v, in, BLK);
	mbedtls_cipher_init(&ctx);
	r = siv_ctr(key + half, half, v, in + BLK, out, plen);
	if (r == 0)
		r = cmac_setup(&ctx, key, half);
	if (r == 0)
		r = s2v(&ctx, ads, nad, out, plen, calc);
	if (r == 0 && secmem_cmp(calc, v, BLK) != 0)
		r = -EBADMSG;
	if (r != 0 && plen)
		secmem_wipe(out, plen);
	mbedtls_cipher_free(&ctx);
	return r;
}
