/* SPDX-License-Identifier: MIT */
/* HKDF-SHA256 (mbedTLS) and random bytes (getrandom). */
#include "cipher.h"

#include <errno.h>
#include <sys/random.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>

int cipher_hkdf(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
		size_t ikmlen, const uint8_t *info, size_t infolen,
		uint8_t *out, size_t outlen)
{
	static const uint8_t empty[1];
	const mbedtls_md_info_t *md =
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (!md || !out || outlen == 0 || outlen > 255 * 32 ||
	    (saltlen && !salt) || (ikmlen && !ikm) || (infolen && !info))
		return -EINVAL;
	/* NULL salt means "hash-length zeros" to mbedTLS, as in RFC 5869. */
	if (mbedtls_hkdf(md, saltlen ? salt : NULL, saltlen, ikm ? ikm : empty,
			 ikmlen, info ? info : empty, infolen, out,
			 outlen) != 0)
		return -EINVAL;
	return 0;
}

int cipher_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	if (len && !buf)
		return -EINVAL;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
