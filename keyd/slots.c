/* SPDX-License-Identifier: MIT */
/*
 * Key slots: sealing and opening passphrase (Argon2id + AES-256-GCM) and
 * public-key (RSA-OAEP SHA-256) slots, the unlocked context, and RSA key
 * generation with our encrypted private key container (docs/VOLUME.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>

#include "kd.h"
#include "log.h"
#include "secmem.h"

#define PRIV_MAGIC "CSPRIVK1"
#define PRIV_HDR "-----BEGIN CRYPTSTACK ENCRYPTED PRIVATE KEY-----\n"
#define PRIV_FTR "-----END CRYPTSTACK ENCRYPTED PRIVATE KEY-----\n"
/* mbedtls_pem_read_buffer() wants the armor lines without their newline. */
#define PRIV_HDR_R "-----BEGIN CRYPTSTACK ENCRYPTED PRIVATE KEY-----"
#define PRIV_FTR_R "-----END CRYPTSTACK ENCRYPTED PRIVATE KEY-----"
#define PRIV_AD_LEN 52u
#define PRIV_DER_MAX 8192u

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

struct kd_ctx *kd_ctx_new(void)
{
	struct kd_ctx *ctx = secmem_alloc(sizeof(*ctx));
	if (!ctx)
		return NULL;
	for (unsigned i = 0; i < KD_MAX_KEYS; i++)
		mbedtls_gcm_init(&ctx->gcm[i]);
	return ctx;
}

void kd_ctx_free(struct kd_ctx *ctx)
{
	if (!ctx)
		return;
	for (unsigned i = 0; i < KD_MAX_KEYS; i++)
		mbedtls_gcm_free(&ctx->gcm[i]);
	secmem_free(ctx, sizeof(*ctx));
}

int kd_ctx_find(const struct kd_ctx *ctx, const uint8_t id[static KD_ID_LEN])
{
	for (uint32_t i = 0; i < ctx->nkeys; i++)
		if (!memcmp(ctx->id[i], id, KD_ID_LEN))
			return (int)i;
	return -1;
}

int kd_ctx_add(struct kd_ctx *ctx, const uint8_t id[static KD_ID_LEN],
	       const uint8_t key[static VOL_KEY_LEN])
{
	int i = kd_ctx_find(ctx, id);
	if (i >= 0)
		return secmem_cmp(ctx->fekek[i], key, VOL_KEY_LEN) ? -EINVAL
								    : 0;
	if (ctx->nkeys >= KD_MAX_KEYS)
		return -ENOSPC;
	uint32_t n = ctx->nkeys;
	if (mbedtls_gcm_setkey(&ctx->gcm[n], MBEDTLS_CIPHER_ID_AES, key, 256))
		return -EIO;
	memcpy(ctx->id[n], id, KD_ID_LEN);
	memcpy(ctx->fekek[n], key, VOL_KEY_LEN);
	ctx->nkeys = n + 1;
	return 0;
}

int kd_slot_pass_seal(struct vol_config *c, unsigned i, const uint8_t *pass,
		      size_t pass_len, const uint8_t payload[static 64])
{
	struct vol_slot *s = &c->slot[i];
	uint8_t ad[VOL_AD_LEN + VOL_PASS_AD_LEN];
	uint8_t *key = secmem_alloc(32);
	int r;
	if (!key)
		return -ENOMEM;
	s->type = VOL_SLOT_PASS;
	kd_random(s->salt, sizeof(s->salt));
	kd_random(s->nonce, sizeof(s->nonce));
	size_t adl = vol_slot_ad(c, i, ad);
	if (adl == 0) {
		r = -EINVAL;
		goto out;
	}
	r = kd_argon2id(pass, pass_len, s->salt, sizeof(s->salt), s->kdf_t,
			s->kdf_m, s->kdf_p, key);
	if (r)
		goto out;
	r = kd_gcm_seal(key, s->nonce, ad, adl, payload, VOL_PAYLOAD_LEN,
			s->ct, s->tag);
out:
	secmem_free(key, 32);
	return r;
}

/* Opens passphrase slot i into payload; 0, -EBADMSG (wrong passphrase). */
static int slot_pass_open(const struct vol_config *c, unsigned i,
			  const uint8_t *pass, size_t pass_len,
			  uint8_t payload[static 64])
{
	const struct vol_slot *s = &c->slot[i];
	uint8_t ad[VOL_AD_LEN + VOL_PASS_AD_LEN];
	uint8_t *key = secmem_alloc(32);
	int r;
	if (!key)
		return -ENOMEM;
	size_t adl = vol_slot_ad(c, i, ad);
	if (adl == 0) {
		r = -EINVAL;
		goto out;
	}
	r = kd_argon2id(pass, pass_len, s->salt, sizeof(s->salt), s->kdf_t,
			s->kdf_m, s->kdf_p, key);
	if (r)
		goto out;
	r = kd_gcm_open(key, s->nonce, ad, adl, s->ct, VOL_PAYLOAD_LEN, s->tag,
			payload);
out:
	secmem_free(key, 32);
	return r;
}

/* SHA-256 of the DER SubjectPublicKeyInfo of pk (public or private). */
static int pk_fingerprint(mbedtls_pk_context *pk, uint8_t fpr[static 32])
{
	uint8_t der[2100];
	int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof(der));
	if (n <= 0)
		return -EINVAL;
	if (mbedtls_sha256_ret(der + sizeof(der) - (size_t)n, (size_t)n, fpr,
			       0))
		return -EIO;
	return 0;
}

int kd_slot_rsa_seal(struct vol_config *c, unsigned i, const uint8_t *pem,
		     size_t pem_len, const uint8_t payload[static 64],
		     const char **why)
{
	struct vol_slot *s = &c->slot[i];
	mbedtls_pk_context pk;
	uint8_t ad[VOL_AD_LEN + VOL_PASS_AD_LEN];
	uint8_t *buf = NULL;
	int r = -EINVAL;
	mbedtls_pk_init(&pk);
	s->type = VOL_SLOT_RSA;
	*why = "not a PEM RSA public key";
	/* mbedTLS wants PEM NUL-terminated and counted with the NUL. */
	buf = malloc(pem_len + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(buf, pem, pem_len);
	buf[pem_len] = 0;
	if (mbedtls_pk_parse_public_key(&pk, buf, pem_len + 1) != 0 ||
	    mbedtls_pk_get_type(&pk) != MBEDTLS_PK_RSA)
		goto out;
	size_t klen = mbedtls_pk_get_len(&pk);
	if (klen < VOL_RSA_MIN || klen > VOL_RSA_MAX) {
		*why = "RSA key size must be 2048..8192 bits";
		goto out;
	}
	mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
	mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
	if (pk_fingerprint(&pk, s->fpr))
		goto out;
	s->rsa_len = (uint16_t)klen;
	size_t adl = vol_slot_ad(c, i, ad);
	if (adl == 0)
		goto out;
	if (mbedtls_rsa_rsaes_oaep_encrypt(rsa, kd_rng, NULL,
					   MBEDTLS_RSA_PUBLIC, ad, adl,
					   VOL_PAYLOAD_LEN, payload,
					   s->rsa_ct) != 0) {
		*why = "RSA-OAEP encryption failed";
		r = -EIO;
		goto out;
	}
	*why = NULL;
	r = 0;
out:
	mbedtls_pk_free(&pk);
	free(buf);
	return r;
}

/* Decrypts our private key container (pem is NUL-terminated, pem_len
 * counts the NUL) into a parsed key. 0, -EKEYREJECTED, -EINVAL. */
static int parse_cs_privkey(mbedtls_pk_context *pk, const uint8_t *pem,
			    size_t pem_len, const uint8_t *pass,
			    size_t pass_len)
{
	mbedtls_pem_context pc;
	uint8_t *key = secmem_alloc(32), *der = secmem_alloc(PRIV_DER_MAX);
	size_t used;
	int r = -EINVAL;
	mbedtls_pem_init(&pc);
	if (!key || !der) {
		r = -ENOMEM;
		goto out;
	}
	(void)pem_len;
	if (mbedtls_pem_read_buffer(&pc, PRIV_HDR_R, PRIV_FTR_R, pem, NULL, 0,
				    &used) != 0)
		goto out;
	size_t blen = pc.buflen; /* mbedTLS 2.28: public fields */
	const uint8_t *b = pc.buf;
	if (blen < PRIV_AD_LEN + 16 || memcmp(b, PRIV_MAGIC, 8) != 0)
		goto out;
	uint32_t t = get32(b + 8), m = get32(b + 12), p = get32(b + 16);
	uint32_t dlen = get32(b + 20);
	if (t < 1 || t > VOL_KDF_T_MAX || p < 1 || p > VOL_KDF_P_MAX ||
	    m < 8 * p || m > VOL_KDF_M_MAX || dlen > PRIV_DER_MAX ||
	    blen - PRIV_AD_LEN - 16 != dlen)
		goto out;
	if (pass_len == 0) {
		r = -EKEYREJECTED;
		goto out;
	}
	r = kd_argon2id(pass, pass_len, b + 24, 16, t, m, p, key);
	if (r)
		goto out;
	if (kd_gcm_open(key, b + 40, b, PRIV_AD_LEN, b + PRIV_AD_LEN, dlen,
			b + PRIV_AD_LEN + dlen, der) != 0) {
		r = -EKEYREJECTED;
		goto out;
	}
	r = mbedtls_pk_parse_key(pk, der, dlen, NULL, 0) ? -EINVAL : 0;
out:
	mbedtls_pem_free(&pc);
	secmem_free(der, PRIV_DER_MAX);
	secmem_free(key, 32);
	return r;
}

/* Parses a private key file (our container, or any PEM/DER mbedTLS reads,
 * encrypted ones included). 0, -EKEYREJECTED (wrong passphrase), -EINVAL. */
static int parse_privkey(mbedtls_pk_context *pk, const struct kd_item *it)
{
	size_t len = it->pem_len;
	uint8_t *buf = secmem_alloc(len + 1);
	int r;
	if (!buf)
		return -ENOMEM;
	memcpy(buf, it->pem, len);
	buf[len] = 0;
	if (memmem(buf, len, PRIV_HDR_R, strlen(PRIV_HDR_R))) {
		r = parse_cs_privkey(pk, buf, len + 1, it->pass, it->pass_len);
		goto out;
	}
	int m = mbedtls_pk_parse_key(pk, buf, len + 1, it->pass, it->pass_len);
	if (m == MBEDTLS_ERR_PK_PASSWORD_MISMATCH ||
	    m == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
		r = -EKEYREJECTED;
	else
		r = m ? -EINVAL : 0;
out:
	secmem_free(buf, len + 1);
	return r;
}

/* Records an opened payload in ctx; 0, or -EINVAL if the volume's slots
 * disagree on the names master key. */
static int ctx_take(struct kd_ctx *ctx, const struct vol_slot *s,
		    const uint8_t payload[static 64])
{
	if (ctx->have_nmk) {
		if (secmem_cmp(ctx->nmk, payload + 32, 32))
			return -EINVAL;
	} else {
		memcpy(ctx->nmk, payload + 32, 32);
		ctx->have_nmk = 1;
	}
	return kd_ctx_add(ctx, s->key_id, payload);
}

static int unlock_rsa(const struct vol_config *c, const struct kd_item *it,
		      struct kd_ctx *ctx, uint8_t payload[static 64])
{
	mbedtls_pk_context pk;
	uint8_t fpr[32], ad[VOL_AD_LEN + VOL_PASS_AD_LEN];
	int r, opened = 0;
	mbedtls_pk_init(&pk);
	r = parse_privkey(&pk, it);
	if (r)
		goto out;
	r = -EINVAL;
	if (mbedtls_pk_get_type(&pk) != MBEDTLS_PK_RSA ||
	    pk_fingerprint(&pk, fpr))
		goto out;
	mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
	mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
	for (uint32_t i = 0; i < c->nslots; i++) {
		const struct vol_slot *s = &c->slot[i];
		size_t olen = 0;
		if (s->type != VOL_SLOT_RSA || memcmp(s->fpr, fpr, 32) ||
		    s->rsa_len != mbedtls_pk_get_len(&pk))
			continue;
		size_t adl = vol_slot_ad(c, i, ad);
		if (adl == 0)
			continue;
		if (mbedtls_rsa_rsaes_oaep_decrypt(
			    rsa, kd_rng, NULL, MBEDTLS_RSA_PRIVATE, ad, adl,
			    &olen, s->rsa_ct, payload, VOL_PAYLOAD_LEN) != 0 ||
		    olen != VOL_PAYLOAD_LEN)
			continue;
		r = ctx_take(ctx, s, payload);
		mbedtls_platform_zeroize(payload, VOL_PAYLOAD_LEN);
		if (r)
			goto out;
		ctx->opened[i] = 1;
		opened = 1;
	}
	r = opened ? 0 : -EKEYREJECTED;
out:
	mbedtls_pk_free(&pk);
	return r;
}

int kd_unlock(const struct vol_config *c, struct kd_item *items,
	      unsigned nitems, struct kd_ctx *ctx, char *why, size_t whylen)
{
	uint8_t *payload = secmem_alloc(VOL_PAYLOAD_LEN);
	int r = 0;
	if (!payload)
		return -ENOMEM;
	if (nitems == 0) {
		snprintf(why, whylen, "no passphrase or key given");
		r = -EKEYREJECTED;
		goto out;
	}
	for (unsigned k = 0; k < nitems; k++) {
		struct kd_item *it = &items[k];
		if (it->is_key) {
			r = unlock_rsa(c, it, ctx, payload);
		} else {
			/* One passphrase opens the first slot it fits. */
			r = -EKEYREJECTED;
			for (uint32_t i = 0; i < c->nslots && r; i++) {
				if (c->slot[i].type != VOL_SLOT_PASS ||
				    (ctx->only_slot_set &&
				     ctx->only_slot != i))
					continue;
				int o = slot_pass_open(c, i, it->pass,
						       it->pass_len, payload);
				if (o == -EBADMSG)
					continue;
				if (o == 0) {
					o = ctx_take(ctx, &c->slot[i], payload);
					if (o == 0)
						ctx->opened[i] = 1;
				}
				mbedtls_platform_zeroize(payload,
							 VOL_PAYLOAD_LEN);
				r = o;
				if (r)
					break;
			}
		}
		if (r == -EKEYREJECTED) {
			if (nitems > 1)
				snprintf(why, whylen,
					 "wrong passphrase or key (item %u "
					 "of %u)", k + 1, nitems);
			else
				snprintf(why, whylen,
					 "wrong passphrase or key");
			goto out;
		}
		if (r == -ENOSPC) {
			snprintf(why, whylen, "more than %u keys in the "
				 "mount context", KD_MAX_KEYS);
			goto out;
		}
		if (r) {
			snprintf(why, whylen, "%s", it->is_key ?
				 "cannot read the private key file" :
				 "inconsistent or damaged key slots");
			goto out;
		}
	}
	if (kd_names_key(ctx->nmk, c->volume_id, ctx->names_key)) {
		r = -EIO;
		snprintf(why, whylen, "names key derivation failed");
	}
out:
	secmem_free(payload, VOL_PAYLOAD_LEN);
	return r;
}

int kd_keygen(unsigned bits, const uint8_t *pass, size_t pass_len,
	      const struct kc_op *op, char **pub, size_t *pub_len, char **priv,
	      size_t *priv_len, size_t *privcap)
{
	mbedtls_pk_context pk;
	size_t cap = 16384;
	uint8_t *der = secmem_alloc(PRIV_DER_MAX);
	uint8_t *blob = secmem_alloc(PRIV_DER_MAX + 128);
	uint8_t *key = secmem_alloc(32);
	char *pubbuf = calloc(1, 4096), *privbuf = secmem_alloc(cap);
	int r = -EIO;
	mbedtls_pk_init(&pk);
	if (!der || !blob || !key || !pubbuf || !privbuf) {
		r = -ENOMEM;
		goto out;
	}
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) ||
	    mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), kd_rng, NULL, bits, 65537))
		goto out;
	if (mbedtls_pk_write_pubkey_pem(&pk, (unsigned char *)pubbuf, 4096))
		goto out;
	if (pass_len == 0) {
		if (mbedtls_pk_write_key_pem(&pk, (unsigned char *)privbuf,
					     cap))
			goto out;
	} else {
		int n = mbedtls_pk_write_key_der(&pk, der, PRIV_DER_MAX);
		if (n <= 0)
			goto out;
		uint32_t t = op->kdf_t ? op->kdf_t : KC_KDF_T_DEFAULT;
		uint32_t m = op->kdf_m ? op->kdf_m : KC_KDF_M_DEFAULT;
		uint32_t p = op->kdf_p ? op->kdf_p : KC_KDF_P_DEFAULT;
		memcpy(blob, PRIV_MAGIC, 8);
		put32(blob + 8, t);
		put32(blob + 12, m);
		put32(blob + 16, p);
		put32(blob + 20, (uint32_t)n);
		kd_random(blob + 24, 16);
		kd_random(blob + 40, 12);
		r = kd_argon2id(pass, pass_len, blob + 24, 16, t, m, p, key);
		if (r)
			goto out;
		r = kd_gcm_seal(key, blob + 40, blob, PRIV_AD_LEN,
				der + PRIV_DER_MAX - n, (size_t)n,
				blob + PRIV_AD_LEN,
				blob + PRIV_AD_LEN + (size_t)n);
		if (r)
			goto out;
		size_t olen;
		r = -EIO;
		if (mbedtls_pem_write_buffer(PRIV_HDR, PRIV_FTR, blob,
					     PRIV_AD_LEN + (size_t)n + 16,
					     (unsigned char *)privbuf, cap,
					     &olen))
			goto out;
	}
	*pub = pubbuf;
	*pub_len = strlen(pubbuf);
	*priv = privbuf;
	*priv_len = strlen(privbuf);
	*privcap = cap;
	pubbuf = NULL;
	privbuf = NULL;
	r = 0;
out:
	mbedtls_pk_free(&pk);
	secmem_free(der, PRIV_DER_MAX);
	secmem_free(blob, PRIV_DER_MAX + 128);
	secmem_free(key, 32);
	free(pubbuf);
	secmem_free(privbuf, cap);
	return r;
}
