/* SPDX-License-Identifier: MIT */
/* keyd's crypto helpers: thin wrappers over mbedTLS and libargon2. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <argon2.h>
#include <mbedtls/error.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "kd.h"
#include "log.h"

int kd_rng(void *unused, unsigned char *out, size_t len)
{
	(void)unused;
	while (len > 0) {
		ssize_t n = getrandom(out, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return MBEDTLS_ERR_ERROR_GENERIC_ERROR;
		}
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

void kd_random(void *out, size_t len)
{
	if (kd_rng(NULL, out, len) != 0)
		fatal("getrandom");
}

int kd_argon2id(const uint8_t *pass, size_t pass_len, const uint8_t *salt,
		size_t salt_len, uint32_t t, uint32_t m_kib, uint32_t p,
		uint8_t out[static 32])
{
	int r = argon2id_hash_raw(t, m_kib, p, pass, pass_len, salt, salt_len,
				  out, 32);
	if (r != ARGON2_OK) {
		mbedtls_platform_zeroize(out, 32);
		log_warnx("argon2id: %s", argon2_error_message(r));
		return r == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EINVAL;
	}
	return 0;
}

int kd_gcm_seal(const uint8_t key[static 32], const uint8_t nonce[static 12],
		const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		uint8_t *out, uint8_t tag[static 16])
{
	mbedtls_gcm_context g;
	mbedtls_gcm_init(&g);
	int r = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256);
	if (r == 0)
		r = mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, len,
					      nonce, 12, ad, ad_len, in, out,
					      16, tag);
	mbedtls_gcm_free(&g);
	return r ? -EIO : 0;
}

int kd_gcm_open(const uint8_t key[static 32], const uint8_t nonce[static 12],
		const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		const uint8_t tag[static 16], uint8_t *out)
{
	mbedtls_gcm_context g;
	mbedtls_gcm_init(&g);
	int r = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256);
	if (r == 0)
		r = mbedtls_gcm_auth_decrypt(&g, len, nonce, 12, ad, ad_len,
					     tag, 16, in, out);
	mbedtls_gcm_free(&g);
	if (r) {
		mbedtls_platform_zeroize(out, len);
		return -EBADMSG;
	}
	return 0;
}

int kd_names_key(const uint8_t nmk[static 32], const uint8_t *volume_id,
		 uint8_t out[static KD_NAMES_KEY_LEN])
{
	static const char info[] = "cryptstack names key v1";
	int r = mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
			     volume_id, VOL_ID_LEN, nmk, 32,
			     (const unsigned char *)info, sizeof(info) - 1,
			     out, KD_NAMES_KEY_LEN);
	return r ? -EIO : 0;
}
