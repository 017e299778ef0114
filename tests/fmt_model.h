/* SPDX-License-Identifier: MIT */
/*
 * A small model of a lower file and of cryptod's use of csfmt, shared by
 * the format tests and the fuzz/golden helpers: an in-memory "lower file",
 * a stand-in for keyd that wraps FEKs exactly as proto/keymsg.h describes
 * (AES-256-GCM under a FEKEK, AD = fmt_header_ad() || FEKEK id), and the
 * documented write order (records, then data, then size).
 */
#ifndef CS_TEST_FMT_MODEL_H
#define CS_TEST_FMT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cipher.h"
#include "fmt.h"

struct lower {
	uint8_t *b;
	size_t len;
	size_t cap;
};

void lower_free(struct lower *lf);
void lower_write(struct lower *lf, uint64_t off, const void *p, size_t n);
/* Reads n bytes at off; bytes beyond EOF read as zeros. */
void lower_read(const struct lower *lf, uint64_t off, void *p, size_t n);
void lower_truncate(struct lower *lf, size_t len);
int lower_copy(struct lower *dst, const struct lower *src);

/* The test's keyd: one FEKEK with a fixed id. */
struct fake_keyd {
	struct cipher_key *kek;
	uint8_t id[KD_ID_LEN];
};
int fake_keyd_init(struct fake_keyd *kd, const uint8_t kek[32],
		   const uint8_t id[KD_ID_LEN]);
void fake_keyd_free(struct fake_keyd *kd);

/* An open file as cryptod would hold it. */
struct tfile {
	struct fmt_header h;
	struct cipher_key *key;
	struct lower lf;
};

extern struct cipher_thread *model_th;
extern int model_backend;

/* Required flags of files tf_create() makes (default FMT_RF_NEW; 0 gives
 * the v1 layout of the old golden files). */
extern uint32_t model_req_flags;
/* Records digest of tf for plaintext size `size` (FORMAT.md "Records
 * seal"); 0 or -errno. */
int tf_digest(const struct tfile *tf, uint64_t size,
	      uint8_t d[FMT_DIGEST_LEN]);
/* Seals the records for the clean size slot of `size` written next and
 * writes the seal (sealed files); 0 or -errno. */
int tf_seal(struct tfile *tf, uint64_t size);
/* Creates a new file (random file id) with this FEK. */
int tf_create(struct tfile *tf, struct fake_keyd *kd, int alg,
	      const uint8_t fek[32]);
/* Opens tf->lf: parse, unwrap, key, size, lower size check. */
int tf_open(struct tfile *tf, struct fake_keyd *kd);
void tf_close(struct tfile *tf); /* frees the key, keeps lf */
/* Writes [off, off+len) following FORMAT.md's update order. */
int tf_pwrite(struct tfile *tf, uint64_t off, const uint8_t *p, size_t len);
/* Reads [off, off+len) (clamped to the size); returns bytes or -errno. */
long tf_pread(struct tfile *tf, uint64_t off, uint8_t *p, size_t len);
/* Truncates to size (down or up). */
int tf_truncate(struct tfile *tf, uint64_t size);
/* Reads the whole file into a malloc'd buffer; returns size or -errno. */
long tf_read_all(struct tfile *tf, uint8_t **out);

#endif
