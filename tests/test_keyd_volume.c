/* SPDX-License-Identifier: MIT */
/*
 * keyd, in process: the volume config parser/serializer against hostile
 * bytes, Argon2id known answers (RFC 9106 and the reference test.c), and
 * key slots sealed and opened through keyd's own slot code (passphrase,
 * RSA-OAEP with a generated key cross-checked by direct mbedTLS calls).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "../keyd/kd.h"
#include "cunit_main.h"
#include "secmem.h"
#include "volume.h"

static const uint8_t pass1[] = "correct horse";
static const uint8_t pass2[] = "battery staple";

static void hexeq(const uint8_t *got, const char *hex)
{
	char buf[3];
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%02x", got[i]);
		CU_ASSERT_EQUAL(memcmp(buf, hex + 2 * i, 2), 0);
	}
}

/* A valid two-slot config with cheap KDF parameters (not sealed). */
static void sample(struct vol_config *c)
{
	memset(c, 0, sizeof(*c));
	c->version = VOL_VERSION;
	c->cipher = VOL_CIPHER_AES256GCM;
	c->names = VOL_NAMES_ENCRYPTED;
	memset(c->volume_id, 0x11, VOL_ID_LEN);
	c->nslots = 2;
	c->slot[0].type = VOL_SLOT_PASS;
	c->slot[0].kdf_t = 1;
	c->slot[0].kdf_m = 1024;
	c->slot[0].kdf_p = 1;
	memset(c->slot[0].key_id, 0xa1, VOL_KEY_ID_LEN);
	memset(c->slot[0].ct, 0x5c, VOL_PAYLOAD_LEN);
	c->slot[1].type = VOL_SLOT_RSA;
	c->slot[1].rsa_len = 384;
	memset(c->slot[1].key_id, 0xb2, VOL_KEY_ID_LEN);
	memset(c->slot[1].rsa_ct, 0x77, 384);
}

static uint8_t buf[VOL_MAX_SIZE + 64];
static struct vol_config cfg, cfg2;

static void test_roundtrip(void)
{
	size_t len;
	sample(&cfg);
	CU_ASSERT_EQUAL_FATAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	CU_ASSERT_EQUAL(len, VOL_HDR_LEN + VOL_PASS_SLOT_LEN +
			VOL_RSA_FIXED_LEN + 384);
	CU_ASSERT_EQUAL(len, vol_size(&cfg));
	CU_ASSERT_EQUAL(memcmp(buf, "CSVOLCFG", 8), 0);
	CU_ASSERT_EQUAL_FATAL(vol_parse(buf, len, &cfg2, NULL), 0);
	CU_ASSERT_EQUAL(cfg2.nslots, 2);
	CU_ASSERT_EQUAL(cfg2.slot[0].kdf_m, 1024);
	CU_ASSERT_EQUAL(cfg2.slot[1].rsa_len, 384);
	CU_ASSERT_EQUAL(memcmp(&cfg, &cfg2, sizeof(cfg)), 0);
	/* Too small an output buffer. */
	CU_ASSERT_EQUAL(vol_serialize(&cfg, buf, len - 1, &len), -ENOSPC);
}

static void test_truncated(void)
{
	size_t len;
	sample(&cfg);
	CU_ASSERT_EQUAL_FATAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	for (size_t n = 0; n < len; n++)
		CU_ASSERT_EQUAL(vol_parse(buf, n, &cfg2, NULL), -EINVAL);
	/* One byte more than the header says. */
	CU_ASSERT_EQUAL(vol_parse(buf, len + 1, &cfg2, NULL), -EINVAL);
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL), 0);
}

/* Flips each byte of the header and of the slot headers: either parses to
 * something valid or is rejected; never crashes, never reads past len. */
static void test_every_byte(void)
{
	size_t len;
	sample(&cfg);
	CU_ASSERT_EQUAL_FATAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	uint8_t *copy = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	for (size_t i = 0; i < len; i++) {
		for (int v = 0; v < 3; v++) {
			memcpy(copy, buf, len);
			copy[i] = v == 0 ? 0 : v == 1 ? 0xff : copy[i] ^ 0x80;
			int r = vol_parse(copy, len, &cfg2, NULL);
			CU_ASSERT(r == 0 || r == -EINVAL ||
				  r == -EPROTONOSUPPORT);
			if (r == 0) {
				size_t l2;
				CU_ASSERT_EQUAL(vol_serialize(&cfg2, buf + 0,
							      0, &l2),
						-ENOSPC);
			}
		}
	}
	free(copy);
}

static void test_flags_version(void)
{
	size_t len;
	const char *why = NULL;
	sample(&cfg);
	CU_ASSERT_EQUAL_FATAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	buf[12] = 0x01; /* unknown required flag */
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, &why), -EPROTONOSUPPORT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "required feature flag"));
	buf[12] = 0;
	buf[15] = 0x80;
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, &why), -EPROTONOSUPPORT);
	buf[15] = 0;
	buf[16] = 0x01; /* unknown optional flag: kept, ignored */
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, &why), 0);
	CU_ASSERT_EQUAL(cfg2.opt_flags, 1);
	buf[16] = 0;
	buf[8] = 2; /* version 2 */
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, &why), -EPROTONOSUPPORT);
	buf[8] = 0;
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, &why), -EPROTONOSUPPORT);
	buf[8] = 1;
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, &why), 0);
	/* cipher ids: 0 and 4 unknown, 1..3 known */
	for (int c = 0; c < 6; c++) {
		buf[20] = (uint8_t)c;
		CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL),
				(c >= 1 && c <= 3) ? 0 : -EINVAL);
	}
	buf[20] = 1;
	buf[21] = 2; /* names mode */
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL), -EINVAL);
	buf[21] = 1;
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL), 0);
	CU_ASSERT_EQUAL(cfg2.names, VOL_NAMES_PLAIN);
	buf[21] = 0;
	buf[40] = 1; /* reserved */
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL), -EINVAL);
	buf[40] = 0;
	memcpy(buf, "CSVOLCFH", 8);
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "magic"));
}

static void test_limits(void)
{
	size_t len;
	sample(&cfg);
	/* Slot counts 0, 1, max, max + 1. */
	cfg.nslots = 0;
	CU_ASSERT_EQUAL(vol_serialize(&cfg, buf, sizeof(buf), &len), -EINVAL);
	cfg.nslots = 1;
	CU_ASSERT_EQUAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL), 0);
	for (unsigned i = 1; i < VOL_MAX_SLOTS; i++)
		cfg.slot[i] = cfg.slot[i % 2];
	cfg.nslots = VOL_MAX_SLOTS;
	CU_ASSERT_EQUAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL), 0);
	CU_ASSERT_EQUAL(cfg2.nslots, VOL_MAX_SLOTS);
	cfg.nslots = VOL_MAX_SLOTS + 1;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	/* Slot count field VOL_MAX_SLOTS + 1 on disk. */
	cfg.nslots = VOL_MAX_SLOTS;
	CU_ASSERT_EQUAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	buf[48] = VOL_MAX_SLOTS + 1;
	CU_ASSERT_EQUAL(vol_parse(buf, len, &cfg2, NULL), -EINVAL);
	/* KDF bounds. */
	sample(&cfg);
	struct vol_slot *s = &cfg.slot[0];
	s->kdf_t = 0;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	s->kdf_t = VOL_KDF_T_MAX;
	CU_ASSERT(vol_size(&cfg) > 0);
	s->kdf_t = VOL_KDF_T_MAX + 1;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	s->kdf_t = 1;
	s->kdf_m = VOL_KDF_M_MAX + 1;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	s->kdf_m = VOL_KDF_M_MAX;
	CU_ASSERT(vol_size(&cfg) > 0);
	s->kdf_m = 8;
	s->kdf_p = 2; /* m < 8p */
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	s->kdf_p = 0;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	s->kdf_p = 1;
	CU_ASSERT(vol_size(&cfg) > 0);
	/* RSA ciphertext lengths. */
	cfg.slot[1].rsa_len = VOL_RSA_MIN - 1;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	cfg.slot[1].rsa_len = VOL_RSA_MAX + 1;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	cfg.slot[1].rsa_len = VOL_RSA_MAX;
	CU_ASSERT(vol_size(&cfg) > 0);
	cfg.slot[1].type = 3;
	CU_ASSERT_EQUAL(vol_size(&cfg), 0);
	/* Trailing garbage after the last slot. */
	sample(&cfg);
	CU_ASSERT_EQUAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	buf[52] = (uint8_t)(len + 1);
	buf[53] = (uint8_t)((len + 1) >> 8);
	buf[len] = 0;
	CU_ASSERT_EQUAL(vol_parse(buf, len + 1, &cfg2, NULL), -EINVAL);
}

static void test_names(void)
{
	CU_ASSERT_EQUAL(vol_cipher_parse("aes-256-gcm"), 1);
	CU_ASSERT_EQUAL(vol_cipher_parse("AES-128-GCM"), 2);
	CU_ASSERT_EQUAL(vol_cipher_parse("chacha20-poly1305"), 3);
	CU_ASSERT_EQUAL(vol_cipher_parse("aes-256-cbc"), -EINVAL);
	CU_ASSERT_EQUAL(vol_cipher_parse(""), -EINVAL);
	CU_ASSERT_STRING_EQUAL(vol_cipher_name(3), "chacha20-poly1305");
	CU_ASSERT_PTR_NULL(vol_cipher_name(0));
	CU_ASSERT_PTR_NULL(vol_cipher_name(4));
}

static void test_slot_ad(void)
{
	uint8_t ad[VOL_AD_LEN + VOL_PASS_AD_LEN], ad2[sizeof(ad)];
	sample(&cfg);
	CU_ASSERT_EQUAL(vol_slot_ad(&cfg, 0, ad), VOL_AD_LEN + VOL_PASS_AD_LEN);
	CU_ASSERT_EQUAL(vol_slot_ad(&cfg, 1, ad2),
			VOL_AD_LEN + VOL_RSA_FIXED_LEN);
	CU_ASSERT_EQUAL(vol_slot_ad(&cfg, 2, ad2), 0);
	/* Adding slots changes neither slot's AD (count/length excluded). */
	cfg.nslots = 3;
	cfg.slot[2] = cfg.slot[0];
	CU_ASSERT_EQUAL(vol_slot_ad(&cfg, 0, ad2), sizeof(ad));
	CU_ASSERT_EQUAL(memcmp(ad, ad2, sizeof(ad)), 0);
	/* The cipher is bound. */
	cfg.cipher = 2;
	vol_slot_ad(&cfg, 0, ad2);
	CU_ASSERT_NOT_EQUAL(memcmp(ad, ad2, sizeof(ad)), 0);
}

/* RFC 9106 section 5.3 (Argon2id, with secret and associated data). */
static void test_argon2_rfc9106(void)
{
	uint8_t out[32], pwd[32], salt[16], secret[8], ad[12];
	memset(pwd, 1, sizeof(pwd));
	memset(salt, 2, sizeof(salt));
	memset(secret, 3, sizeof(secret));
	memset(ad, 4, sizeof(ad));
	argon2_context c = {
		.out = out, .outlen = 32, .pwd = pwd, .pwdlen = 32,
		.salt = salt, .saltlen = 16, .secret = secret, .secretlen = 8,
		.ad = ad, .adlen = 12, .t_cost = 3, .m_cost = 32, .lanes = 4,
		.threads = 4, .version = ARGON2_VERSION_13,
	};
	CU_ASSERT_EQUAL_FATAL(argon2_ctx(&c, Argon2_id), ARGON2_OK);
	hexeq(out, "0d640df58d78766c08c037a34a8b53c9"
		   "d01ef0452d75b65eb52520e96b01e659");
}

/* The reference implementation's test.c vector, through keyd's wrapper:
 * "password", "somesalt", t=2, m=64 MiB, p=1. */
static void test_argon2_reference(void)
{
	uint8_t out[32];
	CU_ASSERT_EQUAL_FATAL(kd_argon2id((const uint8_t *)"password", 8,
					  (const uint8_t *)"somesalt", 8, 2,
					  1u << 16, 1, out), 0);
	hexeq(out, "09316115d5cf24ed5a15a31a3ba326e5"
		   "cf32edc24702987c02b6566f61913cf7");
	/* Out-of-range parameters are an error, never a crash. */
	CU_ASSERT_EQUAL(kd_argon2id((const uint8_t *)"p", 1,
				    (const uint8_t *)"somesalt", 8, 0, 1024, 1,
				    out), -EINVAL);
}

static struct kd_item pass_item(const uint8_t *p)
{
	struct kd_item it = { .pass = (uint8_t *)p,
			      .pass_len = strlen((const char *)p) };
	return it;
}

static void test_pass_slots(void)
{
	uint8_t payload[64], payload2[64];
	char why[200];
	sample(&cfg);
	cfg.nslots = 2;
	cfg.slot[1] = cfg.slot[0];
	memset(cfg.slot[1].key_id, 0xb2, VOL_KEY_ID_LEN);
	for (int i = 0; i < 64; i++) {
		payload[i] = (uint8_t)i;
		payload2[i] = (uint8_t)(i < 32 ? 0xf0 + i : i);
	}
	CU_ASSERT_EQUAL_FATAL(kd_slot_pass_seal(&cfg, 0, pass1,
						sizeof(pass1) - 1, payload),
			      0);
	CU_ASSERT_EQUAL_FATAL(kd_slot_pass_seal(&cfg, 1, pass2,
						sizeof(pass2) - 1, payload2),
			      0);
	/* Through the serialized form, as keyd reads it. */
	size_t len;
	CU_ASSERT_EQUAL_FATAL(vol_serialize(&cfg, buf, sizeof(buf), &len), 0);
	CU_ASSERT_EQUAL_FATAL(vol_parse(buf, len, &cfg2, NULL), 0);
	struct kd_item items[2] = { pass_item(pass2), pass_item(pass1) };
	struct kd_ctx *ctx = kd_ctx_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(kd_unlock(&cfg2, items, 2, ctx, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(ctx->nkeys, 2);
	CU_ASSERT_EQUAL(memcmp(ctx->fekek[0], payload2, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ctx->fekek[1], payload, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ctx->nmk, payload + 32, 32), 0);
	CU_ASSERT(ctx->opened[0] && ctx->opened[1]);
	kd_ctx_free(ctx);
	/* Wrong passphrase: rejected, no hint beyond that. */
	ctx = kd_ctx_new();
	struct kd_item bad = pass_item((const uint8_t *)"correct horsf");
	CU_ASSERT_EQUAL(kd_unlock(&cfg2, &bad, 1, ctx, why, sizeof(why)),
			-EKEYREJECTED);
	CU_ASSERT_STRING_EQUAL(why, "wrong passphrase or key");
	CU_ASSERT_EQUAL(ctx->nkeys, 0);
	kd_ctx_free(ctx);
	/* No item at all. */
	ctx = kd_ctx_new();
	CU_ASSERT_EQUAL(kd_unlock(&cfg2, NULL, 0, ctx, why, sizeof(why)),
			-EKEYREJECTED);
	kd_ctx_free(ctx);
	/* The slot is bound to the header: another cipher id fails it. */
	cfg2.cipher = VOL_CIPHER_CHACHA20POLY1305;
	ctx = kd_ctx_new();
	CU_ASSERT_EQUAL(kd_unlock(&cfg2, items + 1, 1, ctx, why, sizeof(why)),
			-EKEYREJECTED);
	kd_ctx_free(ctx);
	/* A flipped ciphertext bit fails it too. */
	cfg2.cipher = VOL_CIPHER_AES256GCM;
	cfg2.slot[0].ct[5] ^= 1;
	ctx = kd_ctx_new();
	CU_ASSERT_EQUAL(kd_unlock(&cfg2, items + 1, 1, ctx, why, sizeof(why)),
			-EKEYREJECTED);
	kd_ctx_free(ctx);
}

/* keygen -> RSA slot -> unlock with the private key through keyd's code;
 * the slot is also opened directly with mbedTLS as a cross-check. */
static void test_rsa_slots(void)
{
	char *pub = NULL, *priv = NULL, why[200];
	size_t pub_len, priv_len, cap;
	struct kc_op op = { .kdf_t = 1, .kdf_m = 1024, .kdf_p = 1 };
	uint8_t payload[64], out[64], ad[VOL_AD_LEN + VOL_PASS_AD_LEN];
	const char *w = NULL;
	for (int i = 0; i < 64; i++)
		payload[i] = (uint8_t)(0x30 + i);
	/* Unencrypted private key: readable by plain mbedTLS. */
	CU_ASSERT_EQUAL_FATAL(kd_keygen(2048, NULL, 0, &op, &pub, &pub_len,
					&priv, &priv_len, &cap), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(pub, "BEGIN PUBLIC KEY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(priv, "BEGIN RSA PRIVATE KEY"));
	sample(&cfg);
	cfg.nslots = 2;
	CU_ASSERT_EQUAL_FATAL(kd_slot_rsa_seal(&cfg, 1, (uint8_t *)pub,
					       pub_len, payload, &w), 0);
	CU_ASSERT_EQUAL(cfg.slot[1].rsa_len, 256);
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	CU_ASSERT_EQUAL_FATAL(mbedtls_pk_parse_key(&pk, (uint8_t *)priv,
						   priv_len + 1, NULL, 0), 0);
	mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
	mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
	size_t adl = vol_slot_ad(&cfg, 1, ad), olen = 0;
	CU_ASSERT_EQUAL(mbedtls_rsa_rsaes_oaep_decrypt(
				rsa, kd_rng, NULL, MBEDTLS_RSA_PRIVATE, ad,
				adl, &olen, cfg.slot[1].rsa_ct, out,
				sizeof(out)), 0);
	CU_ASSERT_EQUAL(olen, 64);
	CU_ASSERT_EQUAL(memcmp(out, payload, 64), 0);
	mbedtls_pk_free(&pk);
	struct kd_item it = { .is_key = 1, .pem = (uint8_t *)priv,
			      .pem_len = priv_len };
	struct kd_ctx *ctx = kd_ctx_new();
	CU_ASSERT_EQUAL(kd_unlock(&cfg, &it, 1, ctx, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(ctx->nkeys, 1);
	CU_ASSERT_EQUAL(memcmp(ctx->fekek[0], payload, 32), 0);
	kd_ctx_free(ctx);
	secmem_free(priv, cap);
	/* A second key pair, private key in our encrypted container: it
	 * does not open the first key's slot, and needs its passphrase. */
	char *pub2 = NULL, *priv2 = NULL;
	CU_ASSERT_EQUAL_FATAL(kd_keygen(2048, pass1, sizeof(pass1) - 1, &op,
					&pub2, &pub_len, &priv2, &priv_len,
					&cap), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(priv2, "CRYPTSTACK ENCRYPTED PRIVATE"));
	struct kd_item it2 = { .is_key = 1, .pem = (uint8_t *)priv2,
			       .pem_len = priv_len, .pass = (uint8_t *)pass1,
			       .pass_len = sizeof(pass1) - 1 };
	ctx = kd_ctx_new();
	CU_ASSERT_EQUAL(kd_unlock(&cfg, &it2, 1, ctx, why, sizeof(why)),
			-EKEYREJECTED);
	kd_ctx_free(ctx);
	CU_ASSERT_EQUAL_FATAL(kd_slot_rsa_seal(&cfg, 0, (uint8_t *)pub2,
					       strlen(pub2), payload, &w), 0);
	cfg.slot[0].type = VOL_SLOT_RSA;
	ctx = kd_ctx_new();
	CU_ASSERT_EQUAL(kd_unlock(&cfg, &it2, 1, ctx, why, sizeof(why)), 0);
	kd_ctx_free(ctx);
	it2.pass = (uint8_t *)pass2; /* wrong private key passphrase */
	it2.pass_len = sizeof(pass2) - 1;
	ctx = kd_ctx_new();
	CU_ASSERT_EQUAL(kd_unlock(&cfg, &it2, 1, ctx, why, sizeof(why)),
			-EKEYREJECTED);
	CU_ASSERT_STRING_EQUAL(why, "wrong passphrase or key");
	kd_ctx_free(ctx);
	/* Not a public key. */
	CU_ASSERT_EQUAL(kd_slot_rsa_seal(&cfg, 1, (const uint8_t *)"junk", 4,
					 payload, &w), -EINVAL);
	secmem_free(priv2, cap);
	free(pub);
	free(pub2);
}

int cs_register_suites(void)
{
	static const struct cs_test vol[] = {
		{ "roundtrip", test_roundtrip },
		{ "truncated", test_truncated },
		{ "every byte", test_every_byte },
		{ "flags and version", test_flags_version },
		{ "limits", test_limits },
		{ "cipher names", test_names },
		{ "slot AD", test_slot_ad },
		{ NULL, NULL },
	};
	static const struct cs_test crypto[] = {
		{ "argon2id RFC 9106", test_argon2_rfc9106 },
		{ "argon2id reference", test_argon2_reference },
		{ "passphrase slots", test_pass_slots },
		{ "RSA-OAEP slots", test_rsa_slots },
		{ NULL, NULL },
	};
	if (cs_add_suite("volume config", NULL, NULL, vol) ||
	    cs_add_suite("keyd slots", NULL, NULL, crypto))
		return -1;
	return 0;
}
