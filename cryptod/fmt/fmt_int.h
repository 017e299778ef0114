/* SPDX-License-Identifier: MIT */
/* csfmt internals: little-endian accessors shared by the format's files. */
#ifndef CS_FMT_INT_H
#define CS_FMT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t fmt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t fmt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t fmt_get64(const uint8_t *p)
{
	return (uint64_t)fmt_get32(p) | (uint64_t)fmt_get32(p + 4) << 32;
}

static inline void fmt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void fmt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void fmt_put64(uint8_t *p, uint64_t v)
{
	fmt_put32(p, (uint32_t)v);
	fmt_put32(p + 4, (uint32_t)(v >> 32));
}

/* True if all len bytes are zero (not constant time: only for public
 * ciphertext and layout bytes). */
static inline bool fmt_all_zero(const uint8_t *p, size_t len)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		acc |= v;
	}
	for (; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

struct fmt_header;
/* The seq and slot index the next size slot write of h gets (a new file:
 * 1 and 0); 0 or -EINVAL (a parsed header not size-opened, overflow). */
int fmt_size_next(const struct fmt_header *h, uint64_t *seq, unsigned *slot);

#endif
