/* SPDX-License-Identifier: MIT */
/* Temporary stubs: replaced by the real implementation. */
#include <errno.h>
#include "fmt.h"

int
fmt_header_new(struct fmt_header *h, int alg)
{
	(void)h;
	(void)alg;
	return -ENOSYS;
}

int
fmt_header_set_packets(struct fmt_header *h, const struct kd_packet *pkt,
			   unsigned n)
{
	(void)h;
	(void)pkt;
	(void)n;
	return -ENOSYS;
}

int
fmt_header_ad(const struct fmt_header *h, uint8_t *ad, size_t cap)
{
	(void)h;
	(void)ad;
	(void)cap;
	return -ENOSYS;
}

int
fmt_header_parse(const uint8_t *buf, size_t len, struct fmt_header *out)
{
	(void)buf;
	(void)len;
	(void)out;
	return -ENOSYS;
}

int
fmt_header_serialize(const struct fmt_header *h,
			 uint8_t buf[static FMT_HDR_AREA])
{
	(void)h;
	(void)buf;
	return -ENOSYS;
}

int
fmt_file_key_new(const struct fmt_header *h,
		     const uint8_t fek[static KD_FEK_LEN], int backend,
		     struct cipher_key **out)
{
	(void)h;
	(void)fek;
	(void)backend;
	(void)out;
	return -ENOSYS;
}

int
fmt_size_open(struct fmt_header *h, struct cipher_thread *th,
		  const struct cipher_key *key)
{
	(void)h;
	(void)th;
	(void)key;
	return -ENOSYS;
}

int
fmt_size_update(struct fmt_header *h, struct cipher_thread *th,
		    const struct cipher_key *key, uint64_t size,
		    uint32_t flags, uint64_t *off, uint32_t *len)
{
	(void)h;
	(void)th;
	(void)key;
	(void)size;
	(void)flags;
	(void)off;
	(void)len;
	return -ENOSYS;
}

int
fmt_check_lower_size(const struct fmt_header *h, uint64_t lower_size)
{
	(void)h;
	(void)lower_size;
	return -ENOSYS;
}

uint64_t
fmt_extent_count(uint64_t size)
{
	(void)size;
	return 0;
}

uint64_t
fmt_lower_size(uint64_t size)
{
	(void)size;
	return 0;
}

uint64_t
fmt_data_off(uint64_t i)
{
	(void)i;
	return 0;
}

uint64_t
fmt_rec_off(uint64_t i)
{
	(void)i;
	return 0;
}

uint32_t
fmt_seg(uint64_t first, uint64_t count, struct fmt_seg *seg)
{
	(void)first;
	(void)count;
	(void)seg;
	return 0;
}

int
fmt_range(uint64_t off, uint64_t len, uint64_t size, struct fmt_range *r)
{
	(void)off;
	(void)len;
	(void)size;
	(void)r;
	return -ENOSYS;
}

void
fmt_tail_records(uint64_t size, uint64_t *off, uint64_t *len)
{
	(void)size;
	(void)off;
	(void)len;
}

int
fmt_seal_run(struct cipher_thread *th, const struct cipher_key *key,
		 const struct fmt_header *h, uint64_t first, uint32_t count,
		 const uint8_t *in, uint8_t *out, uint8_t *recs,
		 const uint8_t *cur)
{
	(void)th;
	(void)key;
	(void)h;
	(void)first;
	(void)count;
	(void)in;
	(void)out;
	(void)recs;
	(void)cur;
	return -ENOSYS;
}

int
fmt_open_run(struct cipher_thread *th, const struct cipher_key *key,
		 const struct fmt_header *h, uint64_t first, uint32_t count,
		 const uint8_t *in, uint8_t *out, const uint8_t *recs,
		 uint8_t *which, uint8_t *bad)
{
	(void)th;
	(void)key;
	(void)h;
	(void)first;
	(void)count;
	(void)in;
	(void)out;
	(void)recs;
	(void)which;
	(void)bad;
	return -ENOSYS;
}

void
fmt_rec_punch(uint8_t rec[static FMT_REC_LEN], uint8_t cur)
{
	(void)rec;
	(void)cur;
}

bool
fmt_rec_is_zero(const uint8_t rec[static FMT_REC_LEN])
{
	(void)rec;
	return false;
}

int
fmt_dirid_new(uint8_t id[static FMT_DIRID_LEN],
		  uint8_t file[static FMT_DIRID_FILE_LEN])
{
	(void)id;
	(void)file;
	return -ENOSYS;
}

int
fmt_dirid_parse(const uint8_t *buf, size_t len,
		    uint8_t id[static FMT_DIRID_LEN])
{
	(void)buf;
	(void)len;
	(void)id;
	return -ENOSYS;
}

int
fmt_name_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		     const uint8_t dirid[static FMT_DIRID_LEN],
		     const char *plain, size_t len, char *out, size_t outcap,
		     bool *is_long)
{
	(void)names_key;
	(void)dirid;
	(void)plain;
	(void)len;
	(void)out;
	(void)outcap;
	(void)is_long;
	return -ENOSYS;
}

int
fmt_name_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		     const uint8_t dirid[static FMT_DIRID_LEN],
		     const char *lower, size_t len, char *out, size_t outcap)
{
	(void)names_key;
	(void)dirid;
	(void)lower;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

enum
fmt_name_kind fmt_name_classify(const char *lower, size_t len)
{
	(void)lower;
	(void)len;
	return FMT_NAME_INVALID;
}

int
fmt_side_build(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		   const uint8_t dirid[static FMT_DIRID_LEN],
		   const char *plain, size_t len, char *side_name,
		   size_t side_cap, uint8_t *buf, size_t cap)
{
	(void)names_key;
	(void)dirid;
	(void)plain;
	(void)len;
	(void)side_name;
	(void)side_cap;
	(void)buf;
	(void)cap;
	return -ENOSYS;
}

int
fmt_side_parse(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		   const uint8_t dirid[static FMT_DIRID_LEN],
		   const char *lower, size_t lower_len, const uint8_t *buf,
		   size_t len, char *out, size_t outcap)
{
	(void)names_key;
	(void)dirid;
	(void)lower;
	(void)lower_len;
	(void)buf;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

int
fmt_side_name(const char *lower, size_t len, char *out, size_t cap)
{
	(void)lower;
	(void)len;
	(void)out;
	(void)cap;
	return -ENOSYS;
}

int
fmt_plain_name_check(const char *name, size_t len)
{
	(void)name;
	(void)len;
	return -ENOSYS;
}

int
fmt_symlink_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			const char *target, size_t len, char *out,
			size_t outcap)
{
	(void)names_key;
	(void)target;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

int
fmt_symlink_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			const char *lower, size_t len, char *out,
			size_t outcap)
{
	(void)names_key;
	(void)lower;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

int
fmt_xattr_name_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			   const char *name, size_t len, char *out,
			   size_t outcap)
{
	(void)names_key;
	(void)name;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

int
fmt_xattr_name_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			   const char *lower, size_t len, char *out,
			   size_t outcap)
{
	(void)names_key;
	(void)lower;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

int
fmt_xattr_value_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			    const char *name, size_t namelen,
			    const uint8_t *val, size_t len, uint8_t *out,
			    size_t outcap)
{
	(void)names_key;
	(void)name;
	(void)namelen;
	(void)val;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

int
fmt_xattr_value_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			    const char *name, size_t namelen,
			    const uint8_t *in, size_t len, uint8_t *out,
			    size_t outcap)
{
	(void)names_key;
	(void)name;
	(void)namelen;
	(void)in;
	(void)len;
	(void)out;
	(void)outcap;
	return -ENOSYS;
}

int
fmt_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	(void)in;
	(void)len;
	(void)out;
	(void)cap;
	return -ENOSYS;
}

int
fmt_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	(void)in;
	(void)len;
	(void)out;
	(void)cap;
	return -ENOSYS;
}
