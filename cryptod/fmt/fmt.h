/* SPDX-License-Identifier: MIT */
/*
 * csfmt: the native on-disk format (docs/FORMAT.md is the byte-exact
 * specification; this header is its code). No I/O: every function works on
 * caller buffers, so the library is testable and fuzzable alone. Crypto comes
 * only from cryptod/cipher/cipher.h.
 *
 * Lower file (all integers little-endian, B = 4096):
 *
 *   block 0            header block: fixed header (64) | size slots (2 x 64)
 *                      | key packets (8 x 68 + pad) | records of extents 0..51
 *   blocks 1..52       data of extents 0..51
 *   blocks 53..56      records of extents 52..255 (group 0's meta region)
 *   blocks 57..260     data of extents 52..255
 *   group g >= 1       4 meta blocks (records of extents 256g..256g+255),
 *                      then 256 data blocks
 *
 * A record (64 bytes, never crosses a 512-byte sector) holds two slots
 * {nonce 12, tag 16, seq 4}; the slot with the higher seq is the newer
 * version, the other the previous one (crash consistency, FORMAT.md).
 *
 * Errors: -EMEDIUMTYPE not a cryptstack file (bad magic), -EPROTONOSUPPORT
 * unknown version, -EOPNOTSUPP unknown required feature flag, -EINVAL
 * malformed, -EBADMSG authentication failed (cryptod: EIO), -ENAMETOOLONG,
 * -ENOSPC output buffer too small.
 */
#ifndef CS_FMT_H
#define CS_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keymsg.h"

struct cipher_thread;
struct cipher_key;

#define FMT_VERSION 1u
#define FMT_MAGIC "cryptstk" /* 8 bytes, no NUL on disk */
#define FMT_MAGIC_LEN 8u

#define FMT_BLOCK 4096u /* lower block; data extents are block aligned */
#define FMT_EXTENT 4096u /* plaintext bytes per extent */
#define FMT_EXTENT_SHIFT 12u
#define FMT_HDR_BLOCK 4096u /* the header block (block 0) */
#define FMT_SECTOR 512u /* no record or slot crosses one */

#define FMT_FILE_ID_LEN 16u
#define FMT_FIXED_LEN 64u /* fixed header: the AD keyd binds packets to */
#define FMT_SIZE_SLOT_OFF 64u
#define FMT_SIZE_SLOT_LEN 64u
#define FMT_PKT_OFF 192u
#define FMT_PKT_LEN 68u /* sizeof(struct kd_packet) */
#define FMT_MAX_PACKETS KD_MAX_KEYS /* 8 */
#define FMT_HDR_AREA 768u /* fixed + size slots + packet area */
#define FMT_REC_LEN 64u
#define FMT_SLOT_LEN 32u
#define FMT_HDR_RECS 52u /* records in block 0, at FMT_HDR_AREA */
#define FMT_GROUP_EXTENTS 256u /* extents per group (1 MiB plaintext) */
#define FMT_GROUP_META_BLOCKS 4u /* meta region of a group, in blocks */
#define FMT_MAX_EXTENTS (1ull << 40) /* 4 PiB plaintext */
#define FMT_MAX_SIZE (FMT_MAX_EXTENTS * FMT_EXTENT)

/* Required feature flags (fixed header): a reader that does not know a set
 * bit refuses the file (-EOPNOTSUPP). Files without them (format v1 as first
 * released, the golden files) keep the v1 behaviour exactly. */
#define FMT_RF_ROLLBACK_MAC 0x00000001u /* records seal: header bytes
					   736..767 authenticate every
					   record of a clean file */
#define FMT_RF_NAME_BIND 0x00000002u /* size slots carry a tag of the
					lower name (dir id || name) the
					file was last given */
#define FMT_RF_KNOWN (FMT_RF_ROLLBACK_MAC | FMT_RF_NAME_BIND)
#define FMT_RF_NEW FMT_RF_KNOWN /* what cryptod gives new files */
#define FMT_BIND_LEN 12u /* name binding tag (size slot bytes 52..63) */
/* Optional flags: unknown bits are ignored (and preserved). */
#define FMT_OF_KNOWN 0x00000000u

/* Size slot flags. */
#define FMT_SZ_DIRTY 0x00000001u /* opened for writing and not cleanly
				    closed since: records may hold an
				    unconfirmed newer slot (FORMAT.md) */

/* The parsed header. The raw size slots are kept so that a size update
 * rewrites only one slot. */
struct fmt_header {
	uint16_t version;
	uint8_t cipher; /* enum cipher_alg */
	uint8_t npackets; /* 1..FMT_MAX_PACKETS */
	uint32_t req_flags;
	uint32_t opt_flags;
	uint8_t file_id[FMT_FILE_ID_LEN];
	struct kd_packet pkt[FMT_MAX_PACKETS];
	uint8_t size_slot[2][FMT_SIZE_SLOT_LEN]; /* raw, as on disk */
	/* Valid once fmt_size_open() or fmt_size_update() returned 0: */
	uint64_t size; /* authenticated plaintext size */
	uint64_t size_seq;
	uint32_t size_flags; /* FMT_SZ_* */
	uint8_t size_cur; /* index of the slot holding size */
	uint8_t size_ok;
	/* Bit i: slot i verified with the file key (fmt_size_open) or was
	 * written by us; a slot fmt_size_open_fallback() skipped is not
	 * trusted by fmt_size_bind_check(). */
	uint8_t size_verified;
	/* Set by fmt_size_open() when the file was not closed cleanly
	 * (FMT_SZ_DIRTY on disk): extents may then also match their older
	 * slot (an interrupted write). On a clean file only the newer slot
	 * is accepted, so replaying an extent's previous data is detected.
	 * fmt_size_update() leaves it alone. */
	uint8_t recovering;
	/* FMT_RF_ROLLBACK_MAC: the records seal as on disk (bytes
	 * FMT_SEAL_OFF..), and for which clean size slot fmt_recs_seal()
	 * last sealed it (not on disk: fmt_size_update() refuses a clean
	 * slot the seal was not made for). */
	uint8_t recs_seal[32];
	uint64_t seal_seq, seal_size;
	uint8_t seal_made;
	/* Set by fmt_size_open(): slots written since the seal was made
	 * (size slot bytes 20..23 of a sealed file; renames rewrite slots
	 * without resealing). */
	uint32_t size_lag;
	/* FMT_RF_NAME_BIND: the tag every slot written next carries (set by
	 * fmt_size_open() from the current slot, by fmt_size_bind_check()
	 * and fmt_size_rebind(); a new file: the creator sets it). */
	uint8_t bind_tag[FMT_BIND_LEN];
};

/* ---- header ---------------------------------------------------------- */

/* Starts a header for a new file: random file id, cipher alg (enum
 * cipher_alg), no required flags (the v1 layout; cryptod then sets
 * h->req_flags = FMT_RF_NEW before anything binds the fixed header), no
 * packets yet, size unset. 0, -EINVAL or -errno (random). */
int fmt_header_new(struct fmt_header *h, int alg);
/* Copies the FEK packets keyd returned (KD_WRAP, 1..FMT_MAX_PACKETS) into
 * h; 0 or -EINVAL. Also used to add/drop recipients (packets only). */
int fmt_header_set_packets(struct fmt_header *h, const struct kd_packet *pkt,
			   unsigned n);
/* Writes the exact bytes keyd binds packets to (the 64-byte fixed header)
 * into ad; returns FMT_FIXED_LEN, or -ENOSPC if cap is too small. */
int fmt_header_ad(const struct fmt_header *h, uint8_t *ad, size_t cap);
/* Parses the first len bytes of a lower file (hostile input; len >=
 * FMT_HDR_AREA is needed, the rest is ignored). Structure only: the size is
 * not yet authenticated (fmt_size_open). 0 or -EMEDIUMTYPE, -EPROTONOSUPPORT,
 * -EOPNOTSUPP, -EINVAL. */
int fmt_header_parse(const uint8_t *buf, size_t len, struct fmt_header *out);
/* Writes the header area (fixed header, both size slots, packets, zero
 * padding) into buf[0..FMT_HDR_AREA); the caller keeps the records that
 * follow in block 0. Works on a parsed header without the file key (e.g.
 * recipients: parse, fmt_header_set_packets, serialize, write 768 bytes).
 * 0 or -EINVAL (no size slot ever sealed). */
int fmt_header_serialize(const struct fmt_header *h,
			 uint8_t buf[static FMT_HDR_AREA]);

/* Derives the file's extent key from the FEK (HKDF-SHA256, salt = file id,
 * info names version and cipher) for backend into *out (cipher_key_free()).
 * The caller wipes fek. 0, -EINVAL, -ENOTSUP or -ENOMEM. */
int fmt_file_key_new(const struct fmt_header *h,
		     const uint8_t fek[static KD_FEK_LEN], int backend,
		     struct cipher_key **out);

/* ---- authenticated size --------------------------------------------- */

/* Verifies the size slots with the file key and sets h->size, size_seq,
 * size_flags, size_cur, size_ok, size_verified, recovering. Every
 * non-empty slot must verify; the higher seq wins. Only a new file (seq 1)
 * has an empty slot: an erased (zeroed) slot beside a later seq would make
 * the DIRTY commit before a clean close current (FORMAT.md "Rollback").
 * 0, -EBADMSG or -ESTALE (a slot erased; h is not size-opened). */
int fmt_size_open(struct fmt_header *h, struct cipher_thread *th,
		  const struct cipher_key *key);
/* fsck only: as fmt_size_open() but a slot that fails (a torn size write
 * after power loss) is skipped (sets h->recovering) and an erased slot is
 * accepted (fsck reports it). 0 or -EBADMSG (no slot verifies). */
int fmt_size_open_fallback(struct fmt_header *h, struct cipher_thread *th,
			   const struct cipher_key *key);
/* Seals size/flags into the slot not holding the current size (seq + 1)
 * and makes it current. While h->recovering, FMT_SZ_DIRTY is kept set
 * whatever flags says (records may still hold unconfirmed slots; only
 * fsck, after fmt_recovery_done(), clears it). *off, *len: the lower byte range to write (within
 * block 0's first sector; fmt_header_serialize() also includes it). Write
 * it only after the data and records it covers are written. A sealed file
 * (FMT_RF_ROLLBACK_MAC) gets a clean slot only right after fmt_recs_seal()
 * for that slot and size. 0 or -EINVAL (also when h came from
 * fmt_header_parse() but was not size-opened, or the seal is missing). */
int fmt_size_update(struct fmt_header *h, struct cipher_thread *th,
		    const struct cipher_key *key, uint64_t size,
		    uint32_t flags, uint64_t *off, uint32_t *len);

/* ---- name binding (FMT_RF_NAME_BIND) -------------------------------- */

/* The binding tag of lower name lname (len bytes) in a directory with id
 * dirid (NULL: a plaintext-names volume, 16 zero bytes): the first 12
 * bytes of SHA-256("cryptstack name bind v1" || dirid || lname). */
void fmt_name_bind_tag(const uint8_t *dirid, const char *lname, size_t len,
		       uint8_t tag[static FMT_BIND_LEN]);
/* After fmt_size_open(): checks that the file belongs to the name whose
 * tag is `expected`. 0 if the current slot carries it or is unbound (zero
 * tag), or if h has no FMT_RF_NAME_BIND; 1 if only the older slot carries
 * it and that slot verified and is exactly one seq below the current one
 * (a rename whose lower renameat did not land before a crash: h then
 * keeps `expected` for the slots it writes); -EBADMSG if the file is bound
 * to another name (renamed, swapped or copied in the lower directory, or
 * an older slot spliced in from a backup); -EINVAL if h was not
 * size-opened. */
int fmt_size_bind_check(struct fmt_header *h,
			const uint8_t expected[static FMT_BIND_LEN]);
/* Rename support: seals the current size and flags into the other slot
 * (seq + 1) with binding tag `tag` (zero: unbound, for hard links) and
 * makes it current; a clean sealed file stays sealed (the slot records how
 * many slots were written since the seal). *off, *len as fmt_size_update.
 * Rename = rebind to the new name, wait, renameat, rebind again (so both
 * slots name it). 0, -EINVAL (no FMT_RF_NAME_BIND, not size-opened),
 * -EOVERFLOW or -errno. */
int fmt_size_rebind(struct fmt_header *h, struct cipher_thread *th,
		    const struct cipher_key *key,
		    const uint8_t tag[static FMT_BIND_LEN], uint64_t *off,
		    uint32_t *len);

/* fsck --repair only, after every extent below EOF was opened and, where
 * it matched its older slot, re-sealed (or made a hole where neither slot
 * matched): clears h->recovering so the next fmt_size_update() can clear
 * FMT_SZ_DIRTY. */
void fmt_recovery_done(struct fmt_header *h);

/* Checks the lower file length against the authenticated size: 0 if
 * lower_size >= fmt_lower_size(h->size); -EBADMSG if the lower file was
 * cut (truncation attack or lost data). */
int fmt_check_lower_size(const struct fmt_header *h, uint64_t lower_size);

/* ---- records seal (FMT_RF_ROLLBACK_MAC) ----------------------------- */

#define FMT_SEAL_OFF 736u /* nonce 12 | tag 16 | reserved 4 */
#define FMT_SEAL_LEN 32u
#define FMT_DIGEST_LEN 32u
#define FMT_GROUP_RECS_LEN (FMT_GROUP_EXTENTS * FMT_REC_LEN) /* 16 KiB */

/* How fmt_recs_digest() reads the lower file (the library does no I/O). */
struct fmt_recs_io {
	/* Reads exactly len bytes at lower offset off into buf; bytes past
	 * the lower EOF read as zeros. 0 or -errno. */
	int (*read)(void *arg, uint8_t *buf, size_t len, uint64_t off);
	/* Optional (NULL: every group is read): the lower offset of the first
	 * data at or after off (SEEK_DATA), INT64_MAX if there is none, or
	 * -errno (then the group is read). Lets sparse files skip holes. */
	int64_t (*seek_data)(void *arg, uint64_t off);
	void *arg;
	/* Optional (NULL: none): a hint that [off, off + len) will be read
	 * soon (e.g. posix_fadvise WILLNEED), given for up to 16 groups
	 * ahead so a cold lower file is read with many requests in flight
	 * instead of one 16 KiB read at a time. Errors are the caller's. */
	void (*prefetch)(void *arg, uint64_t off, size_t len);
};
/* True when h is a sealed file (FMT_RF_ROLLBACK_MAC) whose current size
 * slot is clean (not FMT_SZ_DIRTY, not recovering): then its records must
 * match the seal (fmt_recs_verify) before content is trusted. */
bool fmt_recs_check_needed(const struct fmt_header *h);
/* The records digest of a file of n extents (FORMAT.md "Records seal"):
 * SHA-256 over a label, le64(n) and, per 256-extent group holding a
 * non-zero record, le64(group) || SHA-256(the group's 16 KiB of records)
 * (records of extents >= n count as zero); group hashes several at a time
 * (cipher_sha256_batch). buf: FMT_GROUP_RECS_LEN bytes of scratch (a file
 * of several groups also takes up to 112 KiB from the heap for the call).
 * 0, -EINVAL, -EFBIG or the error of io->read. */
int fmt_recs_digest(const struct fmt_recs_io *io, uint64_t n, uint8_t *buf,
		    uint8_t d[static FMT_DIGEST_LEN]);
/* Seals digest d (of fmt_extent_count(size) extents) into h->recs_seal for
 * the clean size slot the next fmt_size_update(h, .., size, 0, ..) writes.
 * *off, *len: the lower bytes to write (FMT_SEAL_OFF, FMT_SEAL_LEN): write
 * them and wait BEFORE writing that size slot. 0, -EINVAL (h not sealed,
 * or parsed but not size-opened) or -errno. */
int fmt_recs_seal(struct fmt_header *h, struct cipher_thread *th,
		  const struct cipher_key *key, uint64_t size,
		  const uint8_t d[static FMT_DIGEST_LEN], uint64_t *off,
		  uint32_t *len);
/* Verifies h->recs_seal against digest d of fmt_extent_count(h->size)
 * extents and the current size slot's seq. 0, -EBADMSG (an extent and its
 * record rolled back or replaced, or the seal itself tampered) or -EINVAL
 * (not sealed or not size-opened). */
int fmt_recs_verify(const struct fmt_header *h, struct cipher_thread *th,
		    const struct cipher_key *key,
		    const uint8_t d[static FMT_DIGEST_LEN]);

/* ---- geometry ------------------------------------------------------- */

/* Number of extents holding size plaintext bytes: ceil(size / 4096). */
uint64_t fmt_extent_count(uint64_t size);
/* Lower file length for a plaintext size (0 -> 4096, 100 -> 8192). Sizes
 * above FMT_MAX_SIZE give UINT64_MAX. */
uint64_t fmt_lower_size(uint64_t size);
/* Lower offset of extent i's data (4096-aligned) / of its 64-byte record. */
uint64_t fmt_data_off(uint64_t i);
uint64_t fmt_rec_off(uint64_t i);

/* A run of extents whose data is contiguous in the lower file and whose
 * records are contiguous too (never crosses a group boundary). */
struct fmt_seg {
	uint64_t first; /* extent index */
	uint32_t count;
	uint64_t data_off; /* lower offset of the data: count * 4096 bytes */
	uint64_t rec_off; /* lower offset of the records: count * 64 bytes */
};
/* Fills seg with the longest segment starting at extent first, at most
 * count extents; returns seg->count (0 if count == 0 or first is beyond
 * FMT_MAX_EXTENTS). Loop: first += n, count -= n. */
uint32_t fmt_seg(uint64_t first, uint64_t count, struct fmt_seg *seg);

/* The extents a plaintext byte range [off, off + len) touches. */
struct fmt_range {
	uint64_t first; /* first extent */
	uint64_t count; /* extents touched (0 if len == 0) */
	uint32_t head; /* offset of off inside the first extent */
	uint32_t tail; /* bytes used in the last extent (1..4096) */
	bool head_partial; /* a write must read-modify-write the first extent */
	bool tail_partial; /* ... and the last one (may be the same extent) */
};
/* Fills r for a write (or read) of [off, off + len) on a file of plaintext
 * size `size` (a partial extent at or beyond EOF need not be read: its
 * missing bytes are zeros). 0 or -EFBIG (beyond FMT_MAX_SIZE). */
int fmt_range(uint64_t off, uint64_t len, uint64_t size, struct fmt_range *r);

/* Records to zero when a file's size becomes `size` (truncate down, or
 * recovery of a stale tail after a crash: see FORMAT.md "Truncation"): the
 * records of extents >= fmt_extent_count(size) that remain inside
 * fmt_lower_size(size). Sets *off and *len (len may be 0). */
void fmt_tail_records(uint64_t size, uint64_t *off, uint64_t *len);

/* ---- extents -------------------------------------------------------- */

/* Seals count consecutive extents first.. (count * 4096 bytes; in == out
 * allowed). recs: the count current 64-byte records (all-zero for new
 * extents and for extents at or beyond the old EOF), updated in place: the
 * new version goes into the slot that does not hold the current one.
 * cur: NULL when each record's newer slot is known to match the lower data
 * (normal case); after a crash (FMT_SZ_DIRTY) pass the slot index each
 * extent verified with (fmt_open_run's which[]), or 2 for "neither/hole".
 * Write the records BEFORE the data. 0, -EINVAL or -errno (random). */
int fmt_seal_run(struct cipher_thread *th, const struct cipher_key *key,
		 const struct fmt_header *h, uint64_t first, uint32_t count,
		 const uint8_t *in, uint8_t *out, uint8_t *recs,
		 const uint8_t *cur);
/* Opens count consecutive extents: in = lower data (count * 4096), out =
 * plaintext (must not overlap in: a failed slot zeroes out, and the other
 * slot is tried next), recs = their records. The older slot is tried only
 * when h->recovering. A hole (empty slot and
 * all-zero data) gives zeros. which (optional): per extent, the slot that
 * verified (0/1; 2 = hole with an all-zero record). Returns the number of
 * extents that failed (their out zeroed; bad[] set when non-NULL), or
 * -EINVAL. */
int fmt_open_run(struct cipher_thread *th, const struct cipher_key *key,
		 const struct fmt_header *h, uint64_t first, uint32_t count,
		 const uint8_t *in, uint8_t *out, const uint8_t *recs,
		 uint8_t *which, uint8_t *bad);
/* Turns the record's next version into a hole (FALLOC punch): write the
 * record, then zero/punch the extent's data. cur as in fmt_seal_run (one
 * value; 255 = unknown, newer assumed). */
void fmt_rec_punch(uint8_t rec[static FMT_REC_LEN], uint8_t cur);
/* Returns true if the record is all-zero (a never-written extent). */
bool fmt_rec_is_zero(const uint8_t rec[static FMT_REC_LEN]);

/* ---- names ---------------------------------------------------------- */

#define FMT_DIRID_LEN 16u
#define FMT_DIRID_NAME ".cs.dirid" /* in every lower directory, root too */
#define FMT_DIRID_FILE_LEN 24u /* "CSDI" | u16 version | u16 0 | id */
#define FMT_CONF_NAME ".cryptstack.conf" /* volume config (docs/VOLUME.md) */
#define FMT_NAME_MAX 255u /* plaintext name bytes */
#define FMT_LOWER_NAME_MAX 255u /* lower NAME_MAX we assume */
#define FMT_LONG_PREFIX "cs~" /* hashed long names: "cs~" + 43 chars */
#define FMT_LONG_LEN 46u
#define FMT_LONG_SUFFIX ".name" /* side file: long name + ".name" */
#define FMT_SIDE_MAGIC "CSLN"
#define FMT_SIDE_MAX (8u + 16u + FMT_NAME_MAX) /* side file size bound */
#define FMT_NAMES_KEY_LEN KD_NAMES_KEY_LEN /* 64: AES-256-SIV */

/* Builds the 24-byte .cs.dirid file content for a new random id (written
 * to *id too). 0 or -errno. */
int fmt_dirid_new(uint8_t id[static FMT_DIRID_LEN],
		  uint8_t file[static FMT_DIRID_FILE_LEN]);
/* Parses a .cs.dirid file (exact length FMT_DIRID_FILE_LEN). 0, -EINVAL or
 * -EPROTONOSUPPORT. */
int fmt_dirid_parse(const uint8_t *buf, size_t len,
		    uint8_t id[static FMT_DIRID_LEN]);

/* Encrypts a plaintext name (1..255 bytes, no '/' or NUL, not "." or "..")
 * into the lower name (NUL-terminated) in out. If it does not fit the lower
 * NAME_MAX, out gets the hashed long name ("cs~...") and *is_long = true:
 * the caller then also writes the side file (fmt_side_build). Returns the
 * lower name length, or -EINVAL, -ENAMETOOLONG, -ENOSPC. */
int fmt_name_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		     const uint8_t dirid[static FMT_DIRID_LEN],
		     const char *plain, size_t len, char *out, size_t outcap,
		     bool *is_long);
/* Decrypts a (short) lower name into out (NUL-terminated); returns the
 * plaintext length, -EINVAL (not an encrypted name: hidden/foreign),
 * -EBADMSG (tampered or other directory), -ENOSPC. */
int fmt_name_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		     const uint8_t dirid[static FMT_DIRID_LEN],
		     const char *lower, size_t len, char *out, size_t outcap);

/* Kinds of lower directory entries. */
enum fmt_name_kind {
	FMT_NAME_REGULAR = 0, /* an encrypted name: fmt_name_decrypt */
	FMT_NAME_LONG, /* "cs~<hash>": read its side file, fmt_side_parse */
	FMT_NAME_HIDDEN, /* the volume's own files: config, dirid, side
			    files; readdir hides them */
	FMT_NAME_INVALID, /* anything else: foreign file, skipped */
};
/* Classifies a lower name (plaintext-names volumes: see
 * fmt_plain_name_check). */
enum fmt_name_kind fmt_name_classify(const char *lower, size_t len);
/* Builds the side file for a long name: the name of the side file
 * ("cs~<hash>.name", NUL-terminated) into side_name and its content into
 * buf. Returns the content length, or -EINVAL/-ENOSPC. */
int fmt_side_build(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		   const uint8_t dirid[static FMT_DIRID_LEN],
		   const char *plain, size_t len, char *side_name,
		   size_t side_cap, uint8_t *buf, size_t cap);
/* Parses and decrypts a side file (hostile) read for long lower name
 * `lower`: checks the hash binds it to that name, decrypts with dirid.
 * Returns the plaintext name length (NUL-terminated in out), or -EINVAL,
 * -EBADMSG, -ENOSPC. */
int fmt_side_parse(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
		   const uint8_t dirid[static FMT_DIRID_LEN],
		   const char *lower, size_t lower_len, const uint8_t *buf,
		   size_t len, char *out, size_t outcap);
/* The side file name for a long lower name (cs~<hash> -> cs~<hash>.name);
 * returns its length or -EINVAL/-ENOSPC. */
int fmt_side_name(const char *lower, size_t len, char *out, size_t cap);

/* Plaintext-names volumes: 0 if name may be stored as is, -EINVAL if empty,
 * "." "..", contains '/' or NUL, -ENAMETOOLONG, or -EPERM if it is one of
 * the volume's own files (FMT_CONF_NAME, FMT_DIRID_NAME). */
int fmt_plain_name_check(const char *name, size_t len);

/* ---- symlink targets and xattrs ------------------------------------- */

#define FMT_SYMLINK_MAX 3055u /* plaintext target bytes: encoded <= 4095 */
/* Encrypts a symlink target (AES-SIV, names key, AD label "symlink") into
 * a printable lower target (NUL-terminated). Returns its length, or
 * -EINVAL, -ENAMETOOLONG, -ENOSPC. */
int fmt_symlink_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			const char *target, size_t len, char *out,
			size_t outcap);
/* Decrypts a lower symlink target; returns the plaintext length (NUL-
 * terminated in out) or -EINVAL, -EBADMSG, -ENOSPC. */
int fmt_symlink_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			const char *lower, size_t len, char *out,
			size_t outcap);

#define FMT_XATTR_PREFIX "user.cs." /* lower xattr names */
#define FMT_XATTR_OVERHEAD 16u /* value: V (16) || C */
#define FMT_XATTR_VALUE_MAX 65520u /* lower value fits XATTR_SIZE_MAX */
/* Maps an upper xattr name "user.<rest>" (<= 255 bytes) to the lower name
 * "user.cs." + encoded AES-SIV(rest) (NUL-terminated). Returns its length,
 * or -EOPNOTSUPP (not user.*), -EINVAL, -ERANGE (too long), -ENOSPC. */
int fmt_xattr_name_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			   const char *name, size_t len, char *out,
			   size_t outcap);
/* Reverse of the above; -EINVAL for lower xattrs that are not ours. */
int fmt_xattr_name_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			   const char *lower, size_t len, char *out,
			   size_t outcap);
/* Encrypts an xattr value (AES-SIV, AD = label || upper name) into out
 * (len + 16 bytes). Returns len + 16 or -EINVAL, -E2BIG (len >
 * FMT_XATTR_VALUE_MAX), -ENOSPC. */
int fmt_xattr_value_encrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			    const char *name, size_t namelen,
			    const uint8_t *val, size_t len, uint8_t *out,
			    size_t outcap);
/* Decrypts; returns the value length or -EINVAL, -EBADMSG, -ENOSPC. */
int fmt_xattr_value_decrypt(const uint8_t names_key[static FMT_NAMES_KEY_LEN],
			    const char *name, size_t namelen,
			    const uint8_t *in, size_t len, uint8_t *out,
			    size_t outcap);

/* ---- base64 (the lower-name alphabet) ------------------------------- */

/* Encodes len bytes, base64url order but '+' in place of '-' (so a name
 * never starts with '-'): A-Z a-z 0-9 '+' '_', unpadded; out
 * gets the NUL-terminated text. Returns its length or -ENOSPC. */
int fmt_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
/* Strict decode (canonical only: no padding, unused bits zero); returns
 * the byte count or -EINVAL, -ENOSPC. */
int fmt_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
