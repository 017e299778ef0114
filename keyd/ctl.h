/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between the cryptstack CLI and cryptstack-keyd
 * (--admin and --serve modes), over a SOCK_SEQPACKET socketpair: one
 * message = struct kc_hdr + exactly len payload bytes. The CLI sends
 * KC_OP, then unlock/new-key items, then KC_GO; keyd answers with zero or
 * more KC_DATA, then one KC_RESULT. Shared by keyd/ and cli/keyd_client.c
 * only (both built from this tree, so no version field).
 */
#ifndef CS_KEYD_CTL_H
#define CS_KEYD_CTL_H

#include <stdint.h>

#define KC_MAX_MSG 32768u /* header + payload */

enum kc_type {
	KC_INVALID = 0,
	KC_OP,          /* struct kc_op, first message */
	KC_UNLOCK_PASS, /* passphrase bytes: unlock a passphrase slot */
	KC_UNLOCK_KEY,  /* u32 pem_len, private key file bytes, passphrase */
	KC_NEW_PASS,    /* passphrase bytes for a new/changed slot */
	KC_NEW_PUBKEY,  /* PEM public key for a new slot */
	KC_GO,          /* no payload: end of input */
	KC_DATA,        /* keyd -> CLI: u32 which (KC_DATA_*), bytes */
	KC_RESULT,      /* keyd -> CLI: struct kc_result, last message */
	KC__MAX
};

enum kc_opcode {
	KC_OP_SERVE = 1, /* unlock, then serve proto/keymsg.h */
	KC_OP_INIT,      /* new volume with one slot (KC_NEW_PASS|PUBKEY) */
	KC_OP_PASSWD,    /* rewrap the passphrase slot that KC_UNLOCK_PASS opens */
	KC_OP_KEY_ADD,   /* add a slot; unlock items authorize it */
	KC_OP_KEY_REMOVE,/* remove slot kc_op.slot; unlock items authorize it */
	KC_OP_KEYGEN,    /* RSA key pair; KC_NEW_PASS (optional) protects it */
	KC_OP_CHECK,     /* unlock only; result msg lists the opened slots */
	KC_OP__MAX
};

#define KC_F_NEW_KEY 0x1u  /* key add: create a new FEKEK */
#define KC_F_KEY_ID 0x2u   /* key add: wrap the FEKEK kc_op.key_id */
#define KC_F_FORCE 0x4u    /* key remove: allow dropping a FEKEK's last slot */
#define KC_F_SLOT 0x8u     /* passwd: only slot kc_op.slot */

#define KC_DATA_PRIV 1u
#define KC_DATA_PUB 2u

struct kc_hdr {
	uint32_t type; /* enum kc_type */
	uint32_t len;  /* payload bytes after the header */
};

struct kc_op {
	uint32_t op;      /* enum kc_opcode */
	uint32_t flags;   /* KC_F_* */
	uint32_t cipher;  /* init: enum vol_cipher */
	uint32_t names;   /* init: enum vol_names */
	uint32_t kdf_t;   /* new passphrase slot: Argon2id params, 0: default */
	uint32_t kdf_m;   /* KiB */
	uint32_t kdf_p;
	int32_t slot;     /* key remove / passwd --slot */
	uint8_t key_id[8];
	uint32_t rsa_bits; /* keygen: 0 = 3072 */
	uint32_t pad;
};
_Static_assert(sizeof(struct kc_op) == 48, "kc_op size");

struct kc_result {
	int32_t status;   /* 0 or -errno */
	uint32_t pad;
	char msg[512];    /* NUL-terminated: error or summary */
};

/* Argon2id defaults for new passphrase slots: ~0.5 s on the dev machine. */
#define KC_KDF_T_DEFAULT 5u
#define KC_KDF_M_DEFAULT 65536u /* KiB */
#define KC_KDF_P_DEFAULT 2u

#endif
