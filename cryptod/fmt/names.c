/* SPDX-License-Identifier: MIT */
/*
 * Names, directory ids, long-name side files, symlink targets and xattrs
 * (docs/FORMAT.md "Names"). Everything is AES-SIV (RFC 5297, cscipher) under
 * the volume's names key, each use with its own label as the first AD
 * component so that no ciphertext of one kind is accepted as another.
 */
#include <errno.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "cipher.h"
#include "fmt.h"
#include "fmt_int.h"
#include "secmem.h"

static const char b64_alpha[65] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_";

static const char lbl_name[] = "cryptstack name v1";
static const char lbl_symlink[] = "cryptstack symlink v1";
static const char lbl_xname[] = "cryptstack xattr name v1";
static const char lbl_xval[] = "cryptstack xattr value v1";

#define SIV_TAG CIPHER_SIV_TAG_LEN
/* A label as the AD component it is. */
#define LABEL_AD(l) { (const uint8_t *)(l), sizeof(l) - 1 }
#define MAX_RAW_NAME (SIV_TAG + FMT_NAME_MAX) /* 271 */
#define HASH_LEN 32u
#define HASH_B64 43u
#define SIDE_HDR 8u
#define DIRID_MAGIC "CSDI"

_Static_assert(FMT_LONG_LEN == 3 + HASH_B64, "long name length");

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static size_t b64_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

int fmt_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	if ((len && !in) || !out)
		return -EINVAL;
	if (len > (SIZE_MAX - 1) / 2 || b64_len(len) + 1 > cap ||
	    b64_len(len) > INT32_MAX)
		return -ENOSPC;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];
		out[o++] = b64_alpha[v >> 18];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = b64_alpha[(v >> 6) & 63];
		out[o++] = b64_alpha[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alpha[v >> 18];
		out[o++] = b64_alpha[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alpha[v >> 18];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = b64_alpha[(v >> 6) & 63];
	}
	out[o] = '\0';
	return (int)o;
}

int fmt_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0, i = 0, need;
	int v[4];

	if ((len && !in) || (cap && !out))
		return -EINVAL;
	if (len % 4 == 1 || len > INT32_MAX)
		return -EINVAL;
	need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > cap)
		return -ENOSPC;
	for (; i < len; i++)
		if (b64_val((unsigned char)in[i]) < 0)
			return -EINVAL;
	for (i = 0; i + 4 <= len; i += 4) {
		for (int k = 0; k < 4; k++)
			v[k] = b64_val((unsigned char)in[i + k]);
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (uint8_t)(w >> 16);
		out[o++] = (uint8_t)(w >> 8);
		out[o++] = (uint8_t)w;
	}
	if (len - i == 2) {
		v[0] = b64_val((unsigned char)in[i]);
		v[1] = b64_val((unsigned char)in[i + 1]);
		if (v[1] & 15) /* non-canonical: unused bits set */
			return -EINVAL;
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
	} else if (len - i == 3) {
		v[0] = b64_val((unsigned char)in[i]);
		v[1] = b64_val((unsigned char)in[i + 1]);
		v[2] = b64_val((unsigned char)in[i + 2]);
		if (v[2] & 3)
			return -EINVAL;
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
	}
	return (int)o;
}

/* ---- directory ids --------------------------------------------------- */

int fmt_dirid_new(uint8_t id[static FMT_DIRID_LEN],
		  uint8_t file[static FMT_DIRID_FILE_LEN])
{
	int r = cipher_random(id, FMT_DIRID_LEN);

	if (r < 0)
		return r;
	memcpy(file, DIRID_MAGIC, 4);
	fmt_put16(file + 4, 1);
	fmt_put16(file + 6, 0);
	memcpy(file + 8, id, FMT_DIRID_LEN);
	return 0;
}

int fmt_dirid_parse(const uint8_t *buf, size_t len,
		    uint8_t id[static FMT_DIRID_LEN])
{
	memset(id, 0, FMT_DIRID_LEN);
	if (!buf || len != FMT_DIRID_FILE_LEN || memcmp(buf, DIRID_MAGIC, 4))
		return -EINVAL;
	if (fmt_get16(buf + 4) != 1)
		return -EPROTONOSUPPORT;
	if (fmt_get16(buf + 6) != 0)
		return -EINVAL;
	memcpy(id, buf + 8, FMT_DIRID_LEN);
	return 0;
}

/* ---- names ------------------------------------------------------------ */

static int plain_valid(const char *s, size_t len)
{
	if (!s || len == 0)
		return -EINVAL;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	if (memchr(s, '/', len) || memchr(s, '\0', len))
		return -EINVAL;
	return 0;
}

static int name_siv(const uint8_t *nk, const uint8_t *dirid, const char *plain,
		    size_t len, uint8_t raw[static MAX_RAW_NAME])
{
	struct cipher_ad ads[2] = { LABEL_AD(lbl_name),
				    { dirid, FMT_DIRID_LEN } };
	return cipher_siv_encrypt(nk, FMT_NAMES_KEY_LEN, ads, 2,
				  (const uint8_t *)plain, len, raw);
}

static int hash_name(const uint8_t *raw, size_t len, char out[static 47])
{
	uint8_t hash[HASH_LEN];
	int r;

	if (mbedtls_sha256_ret(raw, len, hash, 0) != 0)
		return -EINVAL;
	memcpy(out, FMT_LONG_PREFIX, 3);
	r = fmt_b64_encode(hash, HASH_LEN, out + 3, HASH_B64 + 1);
	return r < 0 ? r : (int)FMT_LONG_LEN;
}

int fmt_name_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		     const uint8_t dirid[static FMT_DIRID_LEN],
		     const char *plain, size_t len, char *out, size_t outcap,
		     bool *is_long)
{
	uint8_t raw[MAX_RAW_NAME];
	size_t rawlen = len + SIV_TAG;
	int r;

	if (is_long)
		*is_long = false;
	if (!names_key || !dirid || !out)
		return -EINVAL;
	r = plain_valid(plain, len);
	if (r < 0)
		return r;
	if (len > FMT_NAME_MAX)
		return -ENAMETOOLONG;
	r = name_siv(names_key, dirid, plain, len, raw);
	if (r < 0)
		goto out;
	if (b64_len(rawlen) <= FMT_LOWER_NAME_MAX) {
		r = fmt_b64_encode(raw, rawlen, out, outcap);
	} else {
		char tmp[FMT_LONG_LEN + 1];
		r = hash_name(raw, rawlen, tmp);
		if (r >= 0 && outcap < FMT_LONG_LEN + 1)
			r = -ENOSPC;
		if (r >= 0) {
			memcpy(out, tmp, FMT_LONG_LEN + 1);
			if (is_long)
				*is_long = true;
		}
	}
out:
	secmem_wipe(raw, sizeof(raw));
	return r;
}

static int raw_to_plain(const uint8_t *nk, const uint8_t *dirid,
			const uint8_t *raw, size_t rawlen, char *out,
			size_t outcap)
{
	struct cipher_ad ads[2] = { LABEL_AD(lbl_name),
				    { dirid, FMT_DIRID_LEN } };
	char plain[FMT_NAME_MAX + 1];
	size_t plen;
	int r;

	if (rawlen <= SIV_TAG || rawlen > MAX_RAW_NAME)
		return -EINVAL;
	plen = rawlen - SIV_TAG;
	r = cipher_siv_decrypt(nk, FMT_NAMES_KEY_LEN, ads, 2, raw, rawlen,
			       (uint8_t *)plain);
	if (r < 0) {
		r = r == -EBADMSG ? -EBADMSG : -EINVAL;
		goto out;
	}
	/* Authentic but not a valid name (we never write those). */
	if (plain_valid(plain, plen) < 0) {
		r = -EBADMSG;
		goto out;
	}
	if (outcap < plen + 1) {
		r = -ENOSPC;
		goto out;
	}
	memcpy(out, plain, plen);
	out[plen] = '\0';
	r = (int)plen;
out:
	secmem_wipe(plain, sizeof(plain));
	return r;
}

int fmt_name_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		     const uint8_t dirid[static FMT_DIRID_LEN],
		     const char *lower, size_t len, char *out, size_t outcap)
{
	uint8_t raw[MAX_RAW_NAME];
	int n;

	if (!names_key || !dirid || !lower || !out)
		return -EINVAL;
	if (fmt_name_classify(lower, len) != FMT_NAME_REGULAR)
		return -EINVAL;
	n = fmt_b64_decode(lower, len, raw, sizeof(raw));
	if (n < 0)
		return -EINVAL;
	return raw_to_plain(names_key, dirid, raw, (size_t)n, out, outcap);
}

static bool all_b64(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b64_val((unsigned char)s[i]) < 0)
			return false;
	return true;
}

enum fmt_name_kind fmt_name_classify(const char *lower, size_t len)
{
	const size_t sl = sizeof(FMT_LONG_SUFFIX) - 1;

	if (!lower || len == 0 || len > FMT_LOWER_NAME_MAX)
		return FMT_NAME_INVALID;
	if (lower[0] == '.')
		return FMT_NAME_HIDDEN; /* config, dir ids, ".", ".." */
	if (len >= 3 && !memcmp(lower, FMT_LONG_PREFIX, 3)) {
		if (len == FMT_LONG_LEN && all_b64(lower + 3, HASH_B64))
			return FMT_NAME_LONG;
		if (len == FMT_LONG_LEN + sl && all_b64(lower + 3, HASH_B64) &&
		    !memcmp(lower + FMT_LONG_LEN, FMT_LONG_SUFFIX, sl))
			return FMT_NAME_HIDDEN;
		return FMT_NAME_INVALID;
	}
	/* Shortest: 1-byte name -> 17 raw bytes -> 23 chars. */
	if (len < b64_len(SIV_TAG + 1) || len > b64_len(MAX_RAW_NAME) ||
	    len % 4 == 1 || !all_b64(lower, len))
		return FMT_NAME_INVALID;
	return FMT_NAME_REGULAR;
}

int fmt_side_name(const char *lower, size_t len, char *out, size_t cap)
{
	const size_t sl = sizeof(FMT_LONG_SUFFIX) - 1;

	if (!lower || !out || fmt_name_classify(lower, len) != FMT_NAME_LONG)
		return -EINVAL;
	if (cap < FMT_LONG_LEN + sl + 1)
		return -ENOSPC;
	memcpy(out, lower, FMT_LONG_LEN);
	memcpy(out + FMT_LONG_LEN, FMT_LONG_SUFFIX, sl + 1);
	return (int)(FMT_LONG_LEN + sl);
}

int fmt_side_build(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		   const uint8_t dirid[static FMT_DIRID_LEN],
		   const char *plain, size_t len, char *side_name,
		   size_t side_cap, uint8_t *buf, size_t cap)
{
	uint8_t raw[MAX_RAW_NAME];
	char lname[FMT_LONG_LEN + 1];
	size_t rawlen = len + SIV_TAG;
	int r;

	if (!names_key || !dirid || !side_name || !buf)
		return -EINVAL;
	r = plain_valid(plain, len);
	if (r < 0)
		return r;
	if (len > FMT_NAME_MAX)
		return -ENAMETOOLONG;
	if (b64_len(rawlen) <= FMT_LOWER_NAME_MAX)
		return -EINVAL; /* a short name has no side file */
	if (cap < SIDE_HDR + rawlen)
		return -ENOSPC;
	r = name_siv(names_key, dirid, plain, len, raw);
	if (r < 0)
		goto out;
	r = hash_name(raw, rawlen, lname);
	if (r < 0)
		goto out;
	r = fmt_side_name(lname, FMT_LONG_LEN, side_name, side_cap);
	if (r < 0)
		goto out;
	memcpy(buf, FMT_SIDE_MAGIC, 4);
	fmt_put16(buf + 4, 1);
	fmt_put16(buf + 6, (uint16_t)rawlen);
	memcpy(buf + SIDE_HDR, raw, rawlen);
	r = (int)(SIDE_HDR + rawlen);
out:
	secmem_wipe(raw, sizeof(raw));
	return r;
}

int fmt_side_parse(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		   const uint8_t dirid[static FMT_DIRID_LEN],
		   const char *lower, size_t lower_len, const uint8_t *buf,
		   size_t len, char *out, size_t outcap)
{
	char lname[FMT_LONG_LEN + 1];
	size_t rawlen;
	int r;

	if (!names_key || !dirid || !lower || !buf || !out)
		return -EINVAL;
	if (fmt_name_classify(lower, lower_len) != FMT_NAME_LONG)
		return -EINVAL;
	if (len < SIDE_HDR || memcmp(buf, FMT_SIDE_MAGIC, 4))
		return -EINVAL;
	if (fmt_get16(buf + 4) != 1)
		return -EPROTONOSUPPORT;
	rawlen = fmt_get16(buf + 6);
	if (rawlen != len - SIDE_HDR || rawlen > MAX_RAW_NAME ||
	    b64_len(rawlen) <= FMT_LOWER_NAME_MAX)
		return -EINVAL;
	r = hash_name(buf + SIDE_HDR, rawlen, lname);
	if (r < 0)
		return r;
	/* Public values, but constant time costs nothing here. */
	if (secmem_cmp(lname, lower, FMT_LONG_LEN) != 0)
		return -EBADMSG;
	return raw_to_plain(names_key, dirid, buf + SIDE_HDR, rawlen, out,
			    outcap);
}

int fmt_plain_name_check(const char *name, size_t len)
{
	int r = plain_valid(name, len);

	if (r < 0)
		return r;
	if (len > FMT_NAME_MAX)
		return -ENAMETOOLONG;
	if ((len == sizeof(FMT_DIRID_NAME) - 1 &&
	     !memcmp(name, FMT_DIRID_NAME, len)) ||
	    (len == sizeof(FMT_CONF_NAME) - 1 &&
	     !memcmp(name, FMT_CONF_NAME, len)))
		return -EPERM;
	return 0;
}

/* ---- symlinks and xattrs ------------------------------------------- */

/* Symlink targets and xattr names: AES-SIV under the names key with the
 * label as the only AD, stored as b64 text. */
#define LABELLED_MAX FMT_SYMLINK_MAX
#define XPFX_UP "user."
#define XPFX_UP_LEN 5u
#define XPFX_LOW_LEN (sizeof(FMT_XATTR_PREFIX) - 1)
#define XREST_MAX 169u /* 8 + b64(16 + 169) = 255 */
_Static_assert(XREST_MAX <= LABELLED_MAX, "xattr names are labelled texts");

/* Seals plain (len <= LABELLED_MAX bytes) under label ad into b64 text at
 * out; returns the text length or -errno. */
static int labelled_seal(const uint8_t *nk, const struct cipher_ad *ad,
			 const char *plain, size_t len, char *out,
			 size_t outcap)
{
	uint8_t raw[SIV_TAG + LABELLED_MAX];
	int r = cipher_siv_encrypt(nk, FMT_NAMES_KEY_LEN, ad, 1,
				   (const uint8_t *)plain, len, raw);
	if (r == 0)
		r = fmt_b64_encode(raw, len + SIV_TAG, out, outcap);
	secmem_wipe(raw, sizeof(raw));
	return r;
}

/* Opens b64 text lower[0..len) sealed under label ad into plain (room for
 * max <= LABELLED_MAX bytes, not terminated); returns the plaintext length,
 * -EBADMSG (forged, or it holds a NUL: we never write those) or -EINVAL
 * (not b64, empty, longer than max). */
static int labelled_open(const uint8_t *nk, const struct cipher_ad *ad,
			 const char *lower, size_t len, char *plain,
			 size_t max)
{
	uint8_t raw[SIV_TAG + LABELLED_MAX];
	int n, r;

	n = fmt_b64_decode(lower, len, raw, SIV_TAG + max);
	if (n < 0 || (size_t)n <= SIV_TAG)
		return -EINVAL;
	r = cipher_siv_decrypt(nk, FMT_NAMES_KEY_LEN, ad, 1, raw, (size_t)n,
			       (uint8_t *)plain);
	if (r < 0)
		return r == -EBADMSG ? -EBADMSG : -EINVAL;
	n -= (int)SIV_TAG;
	if (memchr(plain, '\0', (size_t)n))
		return -EBADMSG;
	return n;
}

int fmt_symlink_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			const char *target, size_t len, char *out,
			size_t outcap)
{
	struct cipher_ad ad = LABEL_AD(lbl_symlink);

	if (!names_key || !target || !out || len == 0 ||
	    memchr(target, '\0', len))
		return -EINVAL;
	if (len > FMT_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return labelled_seal(names_key, &ad, target, len, out, outcap);
}

int fmt_symlink_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			const char *lower, size_t len, char *out,
			size_t outcap)
{
	struct cipher_ad ad = LABEL_AD(lbl_symlink);
	char plain[FMT_SYMLINK_MAX];
	int r;

	if (!names_key || !lower || !out)
		return -EINVAL;
	r = labelled_open(names_key, &ad, lower, len, plain, sizeof(plain));
	if (r < 0)
		goto out;
	if (outcap < (size_t)r + 1) {
		r = -ENOSPC;
		goto out;
	}
	memcpy(out, plain, (size_t)r);
	out[r] = '\0';
out:
	secmem_wipe(plain, sizeof(plain));
	return r;
}

int fmt_xattr_name_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			   const char *name, size_t len, char *out,
			   size_t outcap)
{
	struct cipher_ad ad = LABEL_AD(lbl_xname);
	size_t rest;
	int r;

	if (!names_key || !name || !out || memchr(name, '\0', len))
		return -EINVAL;
	if (len < XPFX_UP_LEN || memcmp(name, XPFX_UP, XPFX_UP_LEN))
		return -EOPNOTSUPP;
	rest = len - XPFX_UP_LEN;
	if (rest == 0)
		return -EINVAL;
	if (rest > XREST_MAX)
		return -ERANGE;
	if (outcap < XPFX_LOW_LEN + 1)
		return -ENOSPC;
	r = labelled_seal(names_key, &ad, name + XPFX_UP_LEN, rest,
			  out + XPFX_LOW_LEN, outcap - XPFX_LOW_LEN);
	if (r < 0)
		return r;
	memcpy(out, FMT_XATTR_PREFIX, XPFX_LOW_LEN);
	return r + (int)XPFX_LOW_LEN;
}

int fmt_xattr_name_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			   const char *lower, size_t len, char *out,
			   size_t outcap)
{
	struct cipher_ad ad = LABEL_AD(lbl_xname);
	char plain[XREST_MAX];
	int n;

	if (!names_key || !lower || !out)
		return -EINVAL;
	if (len <= XPFX_LOW_LEN || memcmp(lower, FMT_XATTR_PREFIX, XPFX_LOW_LEN))
		return -EINVAL;
	n = labelled_open(names_key, &ad, lower + XPFX_LOW_LEN,
			  len - XPFX_LOW_LEN, plain, sizeof(plain));
	if (n < 0)
		return n;
	if (outcap < XPFX_UP_LEN + (size_t)n + 1)
		return -ENOSPC;
	memcpy(out, XPFX_UP, XPFX_UP_LEN);
	memcpy(out + XPFX_UP_LEN, plain, (size_t)n);
	out[XPFX_UP_LEN + (size_t)n] = '\0';
	return (int)XPFX_UP_LEN + n;
}

int fmt_xattr_value_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			    const char *name, size_t namelen,
			    const uint8_t *val, size_t len, uint8_t *out,
			    size_t outcap)
{
	struct cipher_ad ads[2] = { LABEL_AD(lbl_xval),
				    { (const uint8_t *)name, namelen } };
	int r;

	if (!names_key || !name || !out || (len && !val))
		return -EINVAL;
	if (len > FMT_XATTR_VALUE_MAX)
		return -E2BIG;
	if (outcap < len + SIV_TAG)
		return -ENOSPC;
	r = cipher_siv_encrypt(names_key, FMT_NAMES_KEY_LEN, ads, 2, val, len,
			       out);
	return r < 0 ? r : (int)(len + SIV_TAG);
}

int fmt_xattr_value_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			    const char *name, size_t namelen,
			    const uint8_t *in, size_t len, uint8_t *out,
			    size_t outcap)
{
	struct cipher_ad ads[2] = { LABEL_AD(lbl_xval),
				    { (const uint8_t *)name, namelen } };
	int r;

	if (!names_key || !name || !in || !out || len < SIV_TAG ||
	    len > INT32_MAX)
		return -EINVAL;
	if (outcap < len - SIV_TAG)
		return -ENOSPC;
	r = cipher_siv_decrypt(names_key, FMT_NAMES_KEY_LEN, ads, 2, in, len,
			       out);
	if (r < 0)
		return r == -EBADMSG ? -EBADMSG : -EINVAL;
	return (int)(len - SIV_TAG);
}
