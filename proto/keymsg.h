/* SPDX-License-Identifier: MIT */
/*
 * keyd's message protocol (cryptod <-> keyd over a SOCK_SEQPACKET
 * socketpair). Every message is a fixed-size struct whose size is implied by
 * its type; a receiver checks the exact length and the type before looking
 * at any field, and a malformed message is fatal to the receiver (fail
 * closed). keyd never sends a FEKEK, a passphrase or anything derived from
 * a passphrase; the names key (for file names, derived from the volume's
 * names master key) and FEKs of files are the only keys that leave it.
 */
#ifndef CS_PROTO_KEYMSG_H
#define CS_PROTO_KEYMSG_H

#include <stddef.h>
#include <stdint.h>

/* Version 2 added KD_WRAP_BATCH (appended; every version-1 message is
 * unchanged). Both sides are built together and refuse any other version
 * at KD_HELLO. */
#define KD_PROTO_VERSION 2u
#define KD_MAX_KEYS 8u        /* FEKEKs in one mount context */
#define KD_ID_LEN 8u          /* FEKEK id */
#define KD_FEK_LEN 32u
#define KD_NAMES_KEY_LEN 64u  /* AES-SIV-256: MAC key + CTR key */
#define KD_AD_MAX 256u
#define KD_BATCH_MAX 16u     /* FEKs in one KD_WRAP_BATCH */
#define KD_BATCH_AD_MAX 128u /* AD bytes per FEK in a batch */

enum kd_type {
	KD_INVALID = 0,
	KD_HELLO,        /* version handshake, first message each way */
	KD_WRAP,         /* wrap a FEK under every FEKEK of the context */
	KD_UNWRAP,       /* unwrap one key packet */
	KD_NAMES_KEY,    /* get the volume's names key */
	KD_LIST,         /* list FEKEK ids of the context */
	KD_WRAP_BATCH,   /* version 2: KD_WRAP for up to KD_BATCH_MAX FEKs */
	KD__MAX
};

/* One wrapped FEK: AES-256-GCM(FEKEK, nonce, FEK, AD = ad || id). */
struct kd_packet {
	uint8_t id[KD_ID_LEN];
	uint8_t nonce[12];
	uint8_t wrapped[KD_FEK_LEN];
	uint8_t tag[16];
};
_Static_assert(sizeof(struct kd_packet) == 68, "kd_packet size");

struct kd_hdr {
	uint32_t type;   /* enum kd_type */
	uint32_t seq;    /* echoed in the reply */
};

struct kd_hello {
	struct kd_hdr h;
	uint32_t version;
	uint32_t pad;
};

/* ad: the lower-file header bytes the packets are bound to. */
struct kd_wrap_req {
	struct kd_hdr h;
	uint8_t fek[KD_FEK_LEN];
	uint32_t ad_len;
	uint8_t ad[KD_AD_MAX];
	uint32_t pad;
};

struct kd_wrap_rep {
	struct kd_hdr h;
	int32_t status;  /* 0 or -errno */
	uint32_t count;  /* packets filled, 1..KD_MAX_KEYS */
	struct kd_packet pkt[KD_MAX_KEYS];
};

struct kd_unwrap_req {
	struct kd_hdr h;
	struct kd_packet pkt;
	uint32_t ad_len;
	uint8_t ad[KD_AD_MAX];
};

/* status: 0, -ENOKEY (no FEKEK with that id in the context), -EBADMSG
 * (tag failed). fek is all zero unless status == 0. */
struct kd_unwrap_rep {
	struct kd_hdr h;
	int32_t status;
	uint8_t fek[KD_FEK_LEN];
};

struct kd_names_key_req {
	struct kd_hdr h;
};

struct kd_names_key_rep {
	struct kd_hdr h;
	int32_t status;
	uint8_t key[KD_NAMES_KEY_LEN];
};

struct kd_list_req {
	struct kd_hdr h;
};

struct kd_list_rep {
	struct kd_hdr h;
	int32_t status;
	uint32_t count;
	uint8_t id[KD_MAX_KEYS][KD_ID_LEN];
};

/* Wraps count fresh FEKs at once (cryptod keeps a pool of ready new-file
 * headers, so a create needs no keyd round trip). Entry i is fek[i] bound
 * to ad[i][0..ad_len) exactly as KD_WRAP would bind it; entries past count
 * are ignored (zero). count 1..KD_BATCH_MAX and ad_len <= KD_BATCH_AD_MAX,
 * else the message is malformed (fatal). */
struct kd_wrap_batch_req {
	struct kd_hdr h;
	uint32_t count;
	uint32_t ad_len;
	uint8_t fek[KD_BATCH_MAX][KD_FEK_LEN];
	uint8_t ad[KD_BATCH_MAX][KD_BATCH_AD_MAX];
};
_Static_assert(sizeof(struct kd_wrap_batch_req) == 16 + 16 * 32 + 16 * 128,
	       "kd_wrap_batch_req size");

/* status 0: entries 0..count-1 each hold npkts packets (one per FEKEK of
 * the context, as KD_WRAP); otherwise count = npkts = 0 and every packet
 * is zero. */
struct kd_wrap_batch_rep {
	struct kd_hdr h;
	int32_t status;
	uint32_t count;
	uint32_t npkts;
	uint32_t pad;
	struct kd_packet pkt[KD_BATCH_MAX][KD_MAX_KEYS];
};
_Static_assert(sizeof(struct kd_wrap_batch_rep) == 24 + 16 * 8 * 68,
	       "kd_wrap_batch_rep size");

/* The exact length of a request of type (keyd refuses any other); 0 for
 * KD_INVALID and unknown types. */
static inline size_t kd_req_size(uint32_t type)
{
	switch (type) {
	case KD_HELLO:
		return sizeof(struct kd_hello);
	case KD_WRAP:
		return sizeof(struct kd_wrap_req);
	case KD_UNWRAP:
		return sizeof(struct kd_unwrap_req);
	case KD_NAMES_KEY:
		return sizeof(struct kd_names_key_req);
	case KD_LIST:
		return sizeof(struct kd_list_req);
	case KD_WRAP_BATCH:
		return sizeof(struct kd_wrap_batch_req);
	}
	return 0;
}

#endif
