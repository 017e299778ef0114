/* SPDX-License-Identifier: MIT */
/* keyd internals: crypto helpers, the unlocked key context, admin ops. */
#ifndef CS_KEYD_KD_H
#define CS_KEYD_KD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/gcm.h>

#include "ctl.h"
#include "keymsg.h"
#include "volume.h"

/* The mount context: FEKEKs opened by the unlock items, in locked memory. */
struct kd_ctx {
	uint32_t nkeys;
	uint8_t id[KD_MAX_KEYS][KD_ID_LEN];
	uint8_t fekek[KD_MAX_KEYS][VOL_KEY_LEN];
	mbedtls_gcm_context gcm[KD_MAX_KEYS]; /* keyed with fekek[i] */
	int have_nmk;
	uint8_t nmk[VOL_KEY_LEN];             /* names master key */
	uint8_t names_key[KD_NAMES_KEY_LEN];
	uint32_t opened[VOL_MAX_SLOTS];       /* slots that opened, 1/0 */
	/* Set before kd_unlock(): passphrase items try only this slot
	 * (passwd --slot), instead of the first slot they fit. */
	uint32_t only_slot_set;
	uint32_t only_slot;
};

/* One unlock item as received from the CLI (locked memory). */
struct kd_item {
	int is_key;
	uint8_t *pass;
	size_t pass_len;
	uint8_t *pem;    /* is_key: private key file bytes */
	size_t pem_len;
};

/* crypto.c */
/* mbedTLS f_rng over getrandom(2); returns 0 or an mbedTLS error. */
int kd_rng(void *unused, unsigned char *out, size_t len);
/* Fills out with random bytes or exits (fatal). */
void kd_random(void *out, size_t len);
/* Argon2id raw hash into out (32 bytes); 0 or -EINVAL/-ENOMEM. */
int kd_argon2id(const uint8_t *pass, size_t pass_len, const uint8_t *salt,
		size_t salt_len, uint32_t t, uint32_t m_kib, uint32_t p,
		uint8_t out[static 32]);
/* AES-256-GCM with a 32-byte key: seal returns 0; open returns 0 or
 * -EBADMSG (out zeroed on failure). */
int kd_gcm_seal(const uint8_t key[static 32], const uint8_t nonce[static 12],
		const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		uint8_t *out, uint8_t tag[static 16]);
int kd_gcm_open(const uint8_t key[static 32], const uint8_t nonce[static 12],
		const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		const uint8_t tag[static 16], uint8_t *out);
/* HKDF-SHA256(ikm = nmk, salt = volume id) -> the 64-byte names key. */
int kd_names_key(const uint8_t nmk[static 32], const uint8_t *volume_id,
		 uint8_t out[static KD_NAMES_KEY_LEN]);

/* slots.c */
/* Fills a passphrase slot s (type, kdf params, key_id set by the caller) of
 * config c at index i: new salt and nonce, wraps payload (64 bytes). */
int kd_slot_pass_seal(struct vol_config *c, unsigned i, const uint8_t *pass,
		      size_t pass_len, const uint8_t payload[static 64]);
/* Makes slot i an RSA-OAEP slot for the PEM public key (key_id set by the
 * caller; type set here). Returns 0, -EINVAL (not an RSA public key) with *why. */
int kd_slot_rsa_seal(struct vol_config *c, unsigned i, const uint8_t *pem,
		     size_t pem_len, const uint8_t payload[static 64],
		     const char **why);
/* Opens the slots of c with the items; every item must open at least one
 * slot. Fills ctx (FEKEKs, names master key, opened[]). Returns 0,
 * -EKEYREJECTED (some item opened nothing: *why says which), -EINVAL. */
int kd_unlock(const struct vol_config *c, struct kd_item *items,
	      unsigned nitems, struct kd_ctx *ctx, char *why, size_t whylen);
/* Adds a FEKEK to ctx (and keys its GCM context); 0 or -ENOSPC. */
int kd_ctx_add(struct kd_ctx *ctx, const uint8_t id[static KD_ID_LEN],
	       const uint8_t key[static VOL_KEY_LEN]);
/* Index of FEKEK id in ctx, or -1. */
int kd_ctx_find(const struct kd_ctx *ctx, const uint8_t id[static KD_ID_LEN]);
/* Allocates a locked, zeroed context; NULL on failure. */
struct kd_ctx *kd_ctx_new(void);
/* Wipes and frees a context; NULL is a no-op. */
void kd_ctx_free(struct kd_ctx *ctx);
/* Generates an RSA key pair (bits) and writes the public PEM and private
 * PEM (our Argon2id+GCM container if pass_len > 0, else plain PKCS#1).
 * Outputs are malloc'd NUL-terminated; *priv is locked memory of privcap
 * bytes. Returns 0 or -errno. */
int kd_keygen(unsigned bits, const uint8_t *pass, size_t pass_len,
	      const struct kc_op *op, char **pub, size_t *pub_len, char **priv,
	      size_t *priv_len, size_t *privcap);

/* kd_stop (main.c) is set by SIGTERM/SIGINT/SIGHUP, which are blocked
 * except while kd_serve() waits with kd_waitmask (serve.c). */
extern volatile sig_atomic_t kd_stop;
extern sigset_t kd_waitmask;

/* serve.c */
/* Serves proto/keymsg.h on fd until the peer hangs up; malformed messages
 * are fatal. Returns 0 on hang-up. */
int kd_serve(int fd, struct kd_ctx *ctx);

#endif
