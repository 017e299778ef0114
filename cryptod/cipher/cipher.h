/* SPDX-License-Identifier: MIT */
/*
 * cscipher: AEAD backends behind one small interface (Intel ipsec-mb and
 * mbedTLS), AES-SIV for names, HKDF-SHA256, batch SHA-256, random bytes.
 *
 * Every AEAD here uses a 96-bit nonce and a 128-bit tag. No primitive or mode
 * is implemented here: AES-GCM and ChaCha20-Poly1305 come from ipsec-mb or
 * mbedTLS; AES-SIV (RFC 5297) is composed from mbedTLS's CMAC and AES-CTR.
 *
 * Threads: a struct cipher_thread belongs to one thread at a time (it holds
 * the backend's per-thread state, e.g. an IMB_MGR). A struct cipher_key is
 * immutable after cipher_key_new() and may be shared by any number of
 * threads, but only with threads of the same backend.
 *
 * Decryption verifies the tag in constant time before anything is returned;
 * on failure the output buffer is zeroed (in place: the ciphertext is gone
 * too) and the call returns -EBADMSG.
 */
#ifndef CS_CIPHER_H
#define CS_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#define CIPHER_NONCE_LEN 12
#define CIPHER_TAG_LEN	 16
#define CIPHER_KEY_MAX	 32
/* AES-SIV: output = V (16 bytes) || C; key = K1 (CMAC) || K2 (CTR). */
#define CIPHER_SIV_TAG_LEN 16
#define CIPHER_SIV_KEY_LEN 64  /* AES-256-SIV; 32 (AES-128-SIV) also works */
#define CIPHER_SIV_MAX_AD  126 /* RFC 5297: at most 126 AD components */

/* On-disk values: never renumber. */
enum cipher_alg {
	CIPHER_AES256GCM = 1,	     /* default; 32-byte key */
	CIPHER_AES128GCM = 2,	     /* 16-byte key */
	CIPHER_CHACHA20POLY1305 = 3, /* 32-byte key, RFC 8439 */
};

enum cipher_backend {
	CIPHER_BACKEND_IPSECMB = 1,
	CIPHER_BACKEND_MBEDTLS = 2,
};

struct cipher_thread; /* opaque, per thread */
struct cipher_key;    /* opaque expanded key, in locked memory */

/* One extent of a batch. in == out (in place) is allowed; other overlap is
 * not. seal writes tag, open reads it. status: 0, -EBADMSG (open: tag
 * mismatch, out zeroed) or -EINVAL (bad pointers). */
struct cipher_op {
	const uint8_t *in;
	uint8_t *out;
	uint32_t len;
	uint32_t adlen;
	const uint8_t *nonce; /* CIPHER_NONCE_LEN bytes */
	const uint8_t *ad;    /* may be NULL when adlen == 0 */
	uint8_t *tag;	      /* CIPHER_TAG_LEN bytes */
	int status;
};

/* One associated-data component for AES-SIV's S2V. */
struct cipher_ad {
	const uint8_t *data; /* may be NULL when len == 0 */
	size_t len;
};

/* Returns the key length in bytes of alg (16 or 32), or -EINVAL. */
int cipher_alg_keylen(int alg);
/* Returns "aes256gcm", "aes128gcm", "chacha20poly1305", or NULL. */
const char *cipher_alg_name(int alg);
/* Parses a name from cipher_alg_name(); returns the alg or -EINVAL. */
int cipher_alg_from_name(const char *name);
/* Returns "ipsecmb", "mbedtls", or NULL. */
const char *cipher_backend_name(int backend);
/* Parses "ipsecmb" / "mbedtls"; returns the backend or -EINVAL. */
int cipher_backend_from_name(const char *name);
/* Returns 1 when backend can run on this CPU/build, else 0. */
int cipher_backend_available(int backend);
/* ipsec-mb when the CPU has AES-NI, else mbedTLS; the environment variable
 * CRYPTSTACK_CIPHER_BACKEND=ipsecmb|mbedtls overrides (if available). */
enum cipher_backend cipher_backend_default(void);
/* Makes backend the process's default (cryptod --backend). 0, -EINVAL
 * (unknown) or -ENOTSUP (cannot run on this CPU/build). */
int cipher_backend_set_default(int backend);

/* Creates per-thread state for backend in *out; 0, -EINVAL, -ENOTSUP
 * (backend unavailable) or -ENOMEM. Free with cipher_thread_free(). */
int cipher_thread_new(int backend, struct cipher_thread **out);
/* Wipes and frees th; NULL is a no-op. */
void cipher_thread_free(struct cipher_thread *th);
/* Returns th's backend. */
enum cipher_backend cipher_thread_backend(const struct cipher_thread *th);
/* Drops any key material th still holds from earlier calls (mbedTLS keeps
 * the last key's schedule loaded); call when a file's key is retired or the
 * worker goes idle. th stays usable. NULL is a no-op. */
void cipher_thread_flush(struct cipher_thread *th);

/* Expands key (keylen must equal cipher_alg_keylen(alg)) for backend into
 * locked memory; 0, -EINVAL, -ENOTSUP or -ENOMEM. Thread-independent: the
 * key may be used from any thread of the same backend. The caller still
 * owns (and wipes) the raw key bytes. */
int cipher_key_new(int alg, int backend, const uint8_t *key, size_t keylen,
		   struct cipher_key **out);
/* Wipes and frees k; NULL is a no-op. */
void cipher_key_free(struct cipher_key *k);
/* Return k's algorithm / backend. */
enum cipher_alg cipher_key_alg(const struct cipher_key *k);
enum cipher_backend cipher_key_backend(const struct cipher_key *k);

/* Encrypts len bytes in -> out and writes the tag; 0 or -EINVAL (e.g. key
 * and thread of different backends). in == out is allowed. */
int cipher_seal(struct cipher_thread *th, const struct cipher_key *k,
		const uint8_t nonce[static CIPHER_NONCE_LEN], const uint8_t *ad,
		size_t adlen, const uint8_t *in, uint8_t *out, size_t len,
		uint8_t tag[static CIPHER_TAG_LEN]);
/* Verifies and decrypts; 0, -EBADMSG (out zeroed) or -EINVAL. */
int cipher_open(struct cipher_thread *th, const struct cipher_key *k,
		const uint8_t nonce[static CIPHER_NONCE_LEN], const uint8_t *ad,
		size_t adlen, const uint8_t *in, uint8_t *out, size_t len,
		const uint8_t tag[static CIPHER_TAG_LEN]);

/* Seals n ops with one key (the hot path: no allocation, key schedule
 * reused). Sets each op's status; returns the number of failed ops, or
 * -EINVAL if th/k are unusable or n > INT_MAX (then no op was touched). */
int cipher_seal_batch(struct cipher_thread *th, const struct cipher_key *k,
		      struct cipher_op *ops, unsigned n);
/* Opens n ops; a failed op has status -EBADMSG and its out zeroed, the
 * others are still processed. Returns the number of failed ops or -EINVAL. */
int cipher_open_batch(struct cipher_thread *th, const struct cipher_key *k,
		      struct cipher_op *ops, unsigned n);

/* AES-SIV (RFC 5297) with AES-CMAC S2V over ads[0..nad) then the plaintext.
 * keylen is 64 (AES-256-SIV: K1 || K2) or 32 (AES-128-SIV). out receives
 * len + 16 bytes (V || C). 0 or -EINVAL. For a nonce-based use, pass the
 * nonce as the last AD component (RFC 5297 section 3). in and out must not
 * overlap, except in == out + 16 (encrypting in place behind V). */
int cipher_siv_encrypt(const uint8_t *key, size_t keylen,
		       const struct cipher_ad *ads, unsigned nad,
		       const uint8_t *in, size_t len, uint8_t *out);
/* Decrypts in (len >= 16 bytes: V || C) into out (len - 16 bytes); 0,
 * -EINVAL, or -EBADMSG (out zeroed). out == in + 16 (in place) is allowed;
 * other overlap is not. */
int cipher_siv_decrypt(const uint8_t *key, size_t keylen,
		       const struct cipher_ad *ads, unsigned nad,
		       const uint8_t *in, size_t len, uint8_t *out);

/* HKDF-SHA256 (RFC 5869) extract-and-expand into out (outlen <= 8160);
 * salt/info may be NULL with length 0. 0 or -EINVAL. */
int cipher_hkdf(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
		size_t ikmlen, const uint8_t *info, size_t infolen,
		uint8_t *out, size_t outlen);

/* SHA-256 (FIPS 180-4) of n independent messages: out[i] = SHA-256 of
 * msgs[i][0..lens[i]) (msgs[i] may be NULL when lens[i] is 0). backend:
 * CIPHER_BACKEND_IPSECMB (ipsec-mb's multi-buffer job API, several
 * messages at once, through a manager kept per thread), _MBEDTLS, or 0 for
 * the fastest available here; all give the same bytes. For public data
 * only: the manager is not wiped. 0, -EINVAL (bad arguments; out zeroed)
 * or -ENOTSUP (ipsec-mb asked for and unavailable). */
int cipher_sha256_batch(int backend, const uint8_t *const *msgs,
			const size_t *lens, unsigned n, uint8_t (*out)[32]);

/* Fills buf with len bytes from getrandom(2); 0 or -errno. */
int cipher_random(void *buf, size_t len);

#endif
