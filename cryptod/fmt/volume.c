/* SPDX-License-Identifier: MIT */
/* Volume config parser/serializer: docs/VOLUME.md. Pure byte-buffer code;
 * the input is hostile (exact lengths, bounds by subtraction). */
#include "volume.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= p[i];
	return d == 0;
}

/* Checks one slot's fields; returns NULL if valid, else why not. */
static const char *slot_check(const struct vol_slot *s)
{
	switch (s->type) {
	case VOL_SLOT_PASS:
		if (s->kdf_t < 1 || s->kdf_t > VOL_KDF_T_MAX)
			return "Argon2id time cost out of range";
		if (s->kdf_p < 1 || s->kdf_p > VOL_KDF_P_MAX)
			return "Argon2id parallelism out of range";
		if (s->kdf_m < VOL_KDF_M_MIN || s->kdf_m > VOL_KDF_M_MAX ||
		    s->kdf_m < 8 * s->kdf_p)
			return "Argon2id memory cost out of range";
		return NULL;
	case VOL_SLOT_RSA:
		if (s->rsa_len < VOL_RSA_MIN || s->rsa_len > VOL_RSA_MAX)
			return "RSA ciphertext length out of range";
		return NULL;
	default:
		return "unknown key slot type";
	}
}

static size_t slot_size(const struct vol_slot *s)
{
	return s->type == VOL_SLOT_PASS ? VOL_PASS_SLOT_LEN
					: VOL_RSA_FIXED_LEN + s->rsa_len;
}

static const char *config_check(const struct vol_config *c)
{
	if (c->version != VOL_VERSION)
		return "unsupported config version";
	if (c->req_flags & ~VOL_REQ_KNOWN)
		return "unknown required feature flag";
	if (!vol_cipher_name(c->cipher))
		return "unknown cipher";
	if (c->names != VOL_NAMES_ENCRYPTED && c->names != VOL_NAMES_PLAIN)
		return "unknown names mode";
	if (c->nslots < 1 || c->nslots > VOL_MAX_SLOTS)
		return "key slot count out of range";
	for (uint32_t i = 0; i < c->nslots; i++) {
		const char *w = slot_check(&c->slot[i]);
		if (w)
			return w;
	}
	return NULL;
}

size_t vol_size(const struct vol_config *c)
{
	if (config_check(c))
		return 0;
	size_t n = VOL_HDR_LEN;
	for (uint32_t i = 0; i < c->nslots; i++)
		n += slot_size(&c->slot[i]);
	return n;
}

static void put_header_prefix(const struct vol_config *c, uint8_t *p)
{
	memset(p, 0, VOL_AD_LEN);
	memcpy(p, VOL_MAGIC, 8);
	put16(p + 8, c->version);
	put16(p + 10, VOL_HDR_LEN);
	put32(p + 12, c->req_flags);
	put32(p + 16, c->opt_flags);
	p[20] = c->cipher;
	p[21] = c->names;
	memcpy(p + 24, c->volume_id, VOL_ID_LEN);
}

/* Writes the slot's bytes before its ciphertext; returns their length. */
static size_t put_slot_prefix(const struct vol_slot *s, uint8_t *p)
{
	size_t len = slot_size(s);
	memset(p, 0, s->type == VOL_SLOT_PASS ? VOL_PASS_AD_LEN
					      : VOL_RSA_FIXED_LEN);
	p[0] = s->type;
	put32(p + 4, (uint32_t)len);
	memcpy(p + 8, s->key_id, VOL_KEY_ID_LEN);
	if (s->type == VOL_SLOT_PASS) {
		put32(p + 16, s->kdf_t);
		put32(p + 20, s->kdf_m);
		put32(p + 24, s->kdf_p);
		memcpy(p + 32, s->salt, VOL_SALT_LEN);
		memcpy(p + 48, s->nonce, VOL_NONCE_LEN);
		return VOL_PASS_AD_LEN;
	}
	memcpy(p + 16, s->fpr, VOL_FPR_LEN);
	put16(p + 48, s->rsa_len);
	return VOL_RSA_FIXED_LEN;
}

int vol_serialize(const struct vol_config *c, uint8_t *buf, size_t cap,
		  size_t *len)
{
	size_t total = vol_size(c);
	if (total == 0)
		return -EINVAL;
	if (total > cap || total > VOL_MAX_SIZE)
		return -ENOSPC;
	memset(buf, 0, VOL_HDR_LEN);
	put_header_prefix(c, buf);
	put16(buf + 48, (uint16_t)c->nslots);
	put32(buf + 52, (uint32_t)total);
	size_t off = VOL_HDR_LEN;
	for (uint32_t i = 0; i < c->nslots; i++) {
		const struct vol_slot *s = &c->slot[i];
		uint8_t *p = buf + off;
		size_t pre = put_slot_prefix(s, p);
		if (s->type == VOL_SLOT_PASS) {
			memcpy(p + pre, s->ct, VOL_PAYLOAD_LEN);
			memcpy(p + pre + VOL_PAYLOAD_LEN, s->tag, VOL_TAG_LEN);
		} else {
			memcpy(p + pre, s->rsa_ct, s->rsa_len);
		}
		off += slot_size(s);
	}
	*len = total;
	return 0;
}

size_t vol_slot_ad(const struct vol_config *c, unsigned i,
		   uint8_t out[static VOL_AD_LEN + VOL_PASS_AD_LEN])
{
	if (i >= c->nslots || i >= VOL_MAX_SLOTS || slot_check(&c->slot[i]))
		return 0;
	put_header_prefix(c, out);
	return VOL_AD_LEN + put_slot_prefix(&c->slot[i], out + VOL_AD_LEN);
}

/* Parses one slot at p (avail bytes left in the file); returns its length,
 * or 0 with *why set. */
static size_t parse_slot(const uint8_t *p, size_t avail, struct vol_slot *s,
			 const char **why)
{
	if (avail < VOL_SLOT_HDR_LEN) {
		*why = "truncated key slot";
		return 0;
	}
	uint32_t len = get32(p + 4);
	s->type = p[0];
	if (p[1] || p[2] || p[3]) {
		*why = "nonzero reserved bytes in a key slot";
		return 0;
	}
	if (len < VOL_SLOT_HDR_LEN || len > avail) {
		*why = "key slot length out of range";
		return 0;
	}
	memcpy(s->key_id, p + 8, VOL_KEY_ID_LEN);
	if (s->type == VOL_SLOT_PASS) {
		if (len != VOL_PASS_SLOT_LEN) {
			*why = "bad passphrase slot length";
			return 0;
		}
		s->kdf_t = get32(p + 16);
		s->kdf_m = get32(p + 20);
		s->kdf_p = get32(p + 24);
		if (!all_zero(p + 28, 4)) {
			*why = "nonzero reserved bytes in a key slot";
			return 0;
		}
		memcpy(s->salt, p + 32, VOL_SALT_LEN);
		memcpy(s->nonce, p + 48, VOL_NONCE_LEN);
		memcpy(s->ct, p + 60, VOL_PAYLOAD_LEN);
		memcpy(s->tag, p + 124, VOL_TAG_LEN);
	} else if (s->type == VOL_SLOT_RSA) {
		if (len < VOL_RSA_FIXED_LEN) {
			*why = "bad public-key slot length";
			return 0;
		}
		memcpy(s->fpr, p + 16, VOL_FPR_LEN);
		s->rsa_len = get16(p + 48);
		if (p[50] || p[51]) {
			*why = "nonzero reserved bytes in a key slot";
			return 0;
		}
		if (s->rsa_len < VOL_RSA_MIN || s->rsa_len > VOL_RSA_MAX ||
		    len - VOL_RSA_FIXED_LEN != s->rsa_len) {
			*why = "bad public-key slot length";
			return 0;
		}
		memcpy(s->rsa_ct, p + VOL_RSA_FIXED_LEN, s->rsa_len);
	} else {
		*why = "unknown key slot type";
		return 0;
	}
	const char *w = slot_check(s);
	if (w) {
		*why = w;
		return 0;
	}
	return len;
}

int vol_parse(const uint8_t *buf, size_t len, struct vol_config *c,
	      const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	memset(c, 0, sizeof(*c));
	if (len < VOL_HDR_LEN || memcmp(buf, VOL_MAGIC, 8) != 0) {
		*why = "not a cryptstack volume config (bad magic)";
		return -EINVAL;
	}
	c->version = get16(buf + 8);
	if (c->version != VOL_VERSION) {
		*why = "config format version not supported by this cryptstack";
		return -EPROTONOSUPPORT;
	}
	if (get16(buf + 10) != VOL_HDR_LEN) {
		*why = "bad config header length";
		return -EINVAL;
	}
	c->req_flags = get32(buf + 12);
	c->opt_flags = get32(buf + 16);
	if (c->req_flags & ~VOL_REQ_KNOWN) {
		*why = "volume needs a feature this cryptstack does not know "
		       "(unknown required feature flag)";
		return -EPROTONOSUPPORT;
	}
	c->cipher = buf[20];
	c->names = buf[21];
	memcpy(c->volume_id, buf + 24, VOL_ID_LEN);
	if (!all_zero(buf + 22, 2) || !all_zero(buf + 40, 8) ||
	    !all_zero(buf + 50, 2) || !all_zero(buf + 56, 8)) {
		*why = "nonzero reserved bytes in the config header";
		return -EINVAL;
	}
	if (get32(buf + 52) != len || len > VOL_MAX_SIZE) {
		*why = "config length does not match its header";
		return -EINVAL;
	}
	if (!vol_cipher_name(c->cipher)) {
		*why = "unknown cipher id";
		return -EINVAL;
	}
	if (c->names != VOL_NAMES_ENCRYPTED && c->names != VOL_NAMES_PLAIN) {
		*why = "unknown names mode";
		return -EINVAL;
	}
	uint16_t n = get16(buf + 48);
	if (n < 1 || n > VOL_MAX_SLOTS) {
		*why = "key slot count out of range";
		return -EINVAL;
	}
	size_t off = VOL_HDR_LEN;
	for (uint16_t i = 0; i < n; i++) {
		size_t sl = parse_slot(buf + off, len - off, &c->slot[i], why);
		if (sl == 0)
			goto bad;
		off += sl;
	}
	if (off != len) {
		*why = "trailing bytes after the last key slot";
		goto bad;
	}
	c->nslots = n;
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	return -EINVAL;
}

const char *vol_cipher_name(unsigned cipher)
{
	switch (cipher) {
	case VOL_CIPHER_AES256GCM:
		return "aes-256-gcm";
	case VOL_CIPHER_AES128GCM:
		return "aes-128-gcm";
	case VOL_CIPHER_CHACHA20POLY1305:
		return "chacha20-poly1305";
	default:
		return NULL;
	}
}

int vol_cipher_parse(const char *name)
{
	static const struct {
		const char *name;
		int id;
	} t[] = {
		{ "aes-256-gcm", VOL_CIPHER_AES256GCM },
		{ "aes256gcm", VOL_CIPHER_AES256GCM },
		{ "aes-128-gcm", VOL_CIPHER_AES128GCM },
		{ "aes128gcm", VOL_CIPHER_AES128GCM },
		{ "chacha20-poly1305", VOL_CIPHER_CHACHA20POLY1305 },
		{ "chacha20poly1305", VOL_CIPHER_CHACHA20POLY1305 },
		{ "chacha20", VOL_CIPHER_CHACHA20POLY1305 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcasecmp(name, t[i].name))
			return t[i].id;
	return -EINVAL;
}
