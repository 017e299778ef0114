/* SPDX-License-Identifier: MIT */
/*
 * Locked, non-dumpable memory for key material. Allocations are whole pages,
 * mlock()ed and marked MADV_DONTDUMP; freeing wipes them first.
 */
#ifndef CS_SECMEM_H
#define CS_SECMEM_H

#include <stddef.h>

/* Returns zeroed, locked memory of at least len bytes, or NULL (errno set). */
void *secmem_alloc(size_t len);
/* Wipes and releases memory from secmem_alloc(); NULL is a no-op. */
void secmem_free(void *p, size_t len);
/* Wipes len bytes in a way the compiler cannot elide. */
void secmem_wipe(void *p, size_t len);
/* Constant-time comparison; returns 0 when equal. */
int secmem_cmp(const void *a, const void *b, size_t len);

#endif
