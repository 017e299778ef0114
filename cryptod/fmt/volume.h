/* SPDX-License-Identifier: MIT */
/*
 * The volume config file (.cryptstack.conf at the lower root): parse and
 * serialize a byte buffer, nothing else (no I/O, no crypto). Byte format:
 * docs/VOLUME.md. All integers little-endian. The file is written only by
 * keyd; cryptod and the CLI read it (cipher, names mode, volume id, slots).
 */
#ifndef CS_FMT_VOLUME_H
#define CS_FMT_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#define VOL_CONF_NAME ".cryptstack.conf"
#define VOL_MAGIC "CSVOLCFG"       /* 8 bytes, no NUL on disk */
#define VOL_VERSION 1u
#define VOL_HDR_LEN 64u
#define VOL_AD_LEN 48u             /* immutable header prefix bound by slots */
#define VOL_MAX_SLOTS 32u
#define VOL_MAX_SIZE 65536u
#define VOL_ID_LEN 16u
#define VOL_KEY_ID_LEN 8u          /* FEKEK id == proto/keymsg.h KD_ID_LEN */
#define VOL_KEY_LEN 32u            /* FEKEK, names master key */
#define VOL_PAYLOAD_LEN 64u        /* a slot wraps FEKEK || names master key */
#define VOL_SALT_LEN 16u
#define VOL_NONCE_LEN 12u
#define VOL_TAG_LEN 16u
#define VOL_FPR_LEN 32u            /* SHA-256 of the public key's DER */
#define VOL_RSA_MIN 256u           /* RSA ciphertext bytes: 2048..8192 bits */
#define VOL_RSA_MAX 1024u

#define VOL_SLOT_HDR_LEN 16u
#define VOL_PASS_SLOT_LEN 140u
#define VOL_PASS_AD_LEN 60u        /* slot bytes before the ciphertext */
#define VOL_RSA_FIXED_LEN 52u      /* slot bytes before the RSA ciphertext */

/* Argon2id parameter bounds accepted from a config (hostile input). */
#define VOL_KDF_T_MAX 64u
#define VOL_KDF_M_MIN 8u           /* KiB, and at least 8 * p */
#define VOL_KDF_M_MAX (4u << 20)   /* KiB: 4 GiB */
#define VOL_KDF_P_MAX 16u

/* Numeric ids match cryptod/cipher/cipher.h's enum cipher_alg. */
enum vol_cipher {
	VOL_CIPHER_AES256GCM = 1,
	VOL_CIPHER_AES128GCM = 2,
	VOL_CIPHER_CHACHA20POLY1305 = 3,
};

enum vol_names {
	VOL_NAMES_ENCRYPTED = 0,
	VOL_NAMES_PLAIN = 1,
};

enum vol_slot_type {
	VOL_SLOT_PASS = 1, /* Argon2id + AES-256-GCM */
	VOL_SLOT_RSA = 2,  /* RSA-OAEP (SHA-256) */
};

/* Feature flags. A set required flag this version does not know makes the
 * volume unusable (refused); unknown optional flags are kept and ignored. */
#define VOL_REQ_KNOWN 0u
#define VOL_OPT_KNOWN 0u

struct vol_slot {
	uint8_t type;                    /* enum vol_slot_type */
	uint8_t key_id[VOL_KEY_ID_LEN];  /* the FEKEK this slot wraps */
	/* VOL_SLOT_PASS */
	uint32_t kdf_t;                  /* Argon2id passes */
	uint32_t kdf_m;                  /* Argon2id memory, KiB */
	uint32_t kdf_p;                  /* Argon2id lanes (threads) */
	uint8_t salt[VOL_SALT_LEN];
	uint8_t nonce[VOL_NONCE_LEN];
	uint8_t ct[VOL_PAYLOAD_LEN];
	uint8_t tag[VOL_TAG_LEN];
	/* VOL_SLOT_RSA */
	uint8_t fpr[VOL_FPR_LEN];
	uint16_t rsa_len;
	uint8_t rsa_ct[VOL_RSA_MAX];
};

struct vol_config {
	uint16_t version;
	uint32_t req_flags;
	uint32_t opt_flags;
	uint8_t cipher;                  /* enum vol_cipher */
	uint8_t names;                   /* enum vol_names */
	uint8_t volume_id[VOL_ID_LEN];
	uint32_t nslots;
	struct vol_slot slot[VOL_MAX_SLOTS];
};

/* Parses a whole config file of len bytes into *c (zeroed first). Returns 0,
 * -EINVAL (malformed: *why says how), or -EPROTONOSUPPORT (newer version or
 * an unknown required feature flag). why may be NULL; it is a static string. */
int vol_parse(const uint8_t *buf, size_t len, struct vol_config *c,
	      const char **why);
/* Serializes c into buf (cap bytes). Returns 0 with *len set, -EINVAL if c
 * is not valid (same rules as vol_parse), -ENOSPC if cap is too small. */
int vol_serialize(const struct vol_config *c, uint8_t *buf, size_t cap,
		  size_t *len);
/* Bytes a serialized c takes, or 0 if c is not valid. */
size_t vol_size(const struct vol_config *c);
/* Writes the associated data that binds slot i to the volume: the
 * immutable header prefix (VOL_AD_LEN bytes) || the slot's bytes before its
 * ciphertext. Returns its length (0 if i or the slot is invalid); out must
 * hold VOL_AD_LEN + VOL_PASS_AD_LEN (the larger of the two slot prefixes). */
size_t vol_slot_ad(const struct vol_config *c, unsigned i,
		   uint8_t out[static VOL_AD_LEN + VOL_PASS_AD_LEN]);
/* Cipher name ("aes-256-gcm", "aes-128-gcm", "chacha20-poly1305") or NULL. */
const char *vol_cipher_name(unsigned cipher);
/* Parses a cipher name (also "aes256gcm", "aes128gcm", "chacha20"); returns
 * the enum vol_cipher value or -EINVAL. */
int vol_cipher_parse(const char *name);

#endif
