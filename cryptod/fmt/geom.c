/* SPDX-License-Identifier: MIT */
/*
 * Extent geometry (docs/FORMAT.md "Layout"). Block numbers in units of
 * FMT_BLOCK:
 *   extent i < 52:          data block i + 1, record in block 0
 *   52 <= i < 256:          data block i + 5, records in blocks 53..56
 *   i = 256g + j, g >= 1:   meta blocks 1 + 260g .. 4 + 260g,
 *                           data block i + 5 + 4g
 * so that from extent 256 on, every 1 MiB-aligned plaintext range is one
 * contiguous data run plus one contiguous 16 KiB record run.
 */
#include <errno.h>

#include "fmt.h"

#define G0_META_BLOCK 53u /* group 0's meta region, after data 0..51 */

_Static_assert(FMT_GROUP_EXTENTS * FMT_REC_LEN ==
		       FMT_GROUP_META_BLOCKS * FMT_BLOCK,
	       "group meta region");
_Static_assert((FMT_GROUP_EXTENTS - FMT_HDR_RECS) * FMT_REC_LEN <=
		       FMT_GROUP_META_BLOCKS * FMT_BLOCK,
	       "group 0 meta region");

uint64_t fmt_extent_count(uint64_t size)
{
	return (size >> FMT_EXTENT_SHIFT) + ((size & (FMT_EXTENT - 1)) != 0);
}

static uint64_t data_block(uint64_t i)
{
	if (i < FMT_HDR_RECS)
		return i + 1;
	return i + 5 + 4 * (i / FMT_GROUP_EXTENTS);
}

uint64_t fmt_data_off(uint64_t i)
{
	if (i >= FMT_MAX_EXTENTS)
		return UINT64_MAX;
	return data_block(i) * FMT_BLOCK;
}

uint64_t fmt_rec_off(uint64_t i)
{
	uint64_t g = i / FMT_GROUP_EXTENTS, j = i % FMT_GROUP_EXTENTS;

	if (i >= FMT_MAX_EXTENTS)
		return UINT64_MAX;
	if (i < FMT_HDR_RECS)
		return FMT_HDR_AREA + i * FMT_REC_LEN;
	if (g == 0)
		return (uint64_t)G0_META_BLOCK * FMT_BLOCK +
		       (i - FMT_HDR_RECS) * FMT_REC_LEN;
	return (1 + 260 * g) * FMT_BLOCK + j * FMT_REC_LEN;
}

uint64_t fmt_lower_size(uint64_t size)
{
	uint64_t n;

	if (size > FMT_MAX_SIZE)
		return UINT64_MAX;
	n = fmt_extent_count(size);
	if (n == 0)
		return FMT_HDR_BLOCK;
	/* The last extent's data block is the last block of the file: meta
	 * regions always precede the data they describe. */
	return fmt_data_off(n - 1) + FMT_BLOCK;
}

uint32_t fmt_seg(uint64_t first, uint64_t count, struct fmt_seg *seg)
{
	uint64_t end;

	if (!seg)
		return 0;
	seg->first = first;
	seg->count = 0;
	seg->data_off = 0;
	seg->rec_off = 0;
	if (count == 0 || first >= FMT_MAX_EXTENTS)
		return 0;
	if (first < FMT_HDR_RECS)
		end = FMT_HDR_RECS;
	else
		end = (first / FMT_GROUP_EXTENTS + 1) * FMT_GROUP_EXTENTS;
	if (end - first > count)
		end = first + count;
	if (end > FMT_MAX_EXTENTS)
		end = FMT_MAX_EXTENTS;
	seg->count = (uint32_t)(end - first);
	seg->data_off = fmt_data_off(first);
	seg->rec_off = fmt_rec_off(first);
	return seg->count;
}

/* Must extent e be read before a write of [ws, we) on a file of size
 * `size`? Yes if some byte of e below EOF is not overwritten. */
static bool need_read(uint64_t e, uint64_t ws, uint64_t we, uint64_t size)
{
	uint64_t es = e * FMT_EXTENT, ee = es + FMT_EXTENT;
	uint64_t live = size < ee ? size : ee; /* e's bytes below EOF */

	if (live <= es)
		return false;
	return es < ws || we < live;
}

int fmt_range(uint64_t off, uint64_t len, uint64_t size, struct fmt_range *r)
{
	uint64_t end, last;

	if (!r)
		return -EINVAL;
	*r = (struct fmt_range){ 0 };
	if (__builtin_add_overflow(off, len, &end) || end > FMT_MAX_SIZE)
		return -EFBIG;
	if (len == 0)
		return 0;
	r->first = off >> FMT_EXTENT_SHIFT;
	last = (end - 1) >> FMT_EXTENT_SHIFT;
	r->count = last - r->first + 1;
	r->head = (uint32_t)(off & (FMT_EXTENT - 1));
	r->tail = (uint32_t)(((end - 1) & (FMT_EXTENT - 1)) + 1);
	r->head_partial = need_read(r->first, off, end, size);
	r->tail_partial = need_read(last, off, end, size);
	return 0;
}

void fmt_tail_records(uint64_t size, uint64_t *off, uint64_t *len)
{
	uint64_t n = fmt_extent_count(size), o = 0, l = 0;

	if (size > FMT_MAX_SIZE) {
		/* nothing sensible to clear */
	} else if (n < FMT_HDR_RECS) {
		o = fmt_rec_off(n);
		l = (FMT_HDR_RECS - n) * FMT_REC_LEN;
	} else if (n > FMT_HDR_RECS && n % FMT_GROUP_EXTENTS != 0) {
		/* Extents n.. up to the end of n - 1's group share its meta
		 * region, which stays inside fmt_lower_size(size). */
		o = fmt_rec_off(n);
		l = (FMT_GROUP_EXTENTS - n % FMT_GROUP_EXTENTS) * FMT_REC_LEN;
	}
	if (off)
		*off = o;
	if (len)
		*len = l;
}
