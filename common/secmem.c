/* SPDX-License-Identifier: MIT */
#include "secmem.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t round_pages(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	if (len == 0)
		len = 1;
	if (len > SIZE_MAX - pg)
		return 0;
	return (len + pg - 1) & ~(pg - 1);
}

void *secmem_alloc(size_t len)
{
	size_t sz = round_pages(len);
	if (sz == 0) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Keys must not reach swap or a core dump; failure to lock is an
	 * error because the caller asked for locked memory. */
	if (mlock(p, sz) != 0 || madvise(p, sz, MADV_DONTDUMP) != 0 ||
	    madvise(p, sz, MADV_WIPEONFORK) != 0) {
		int e = errno;
		munmap(p, sz);
		errno = e;
		return NULL;
	}
	return p;
}

void secmem_free(void *p, size_t len)
{
	if (!p)
		return;
	size_t sz = round_pages(len);
	explicit_bzero(p, sz);
	munlock(p, sz);
	munmap(p, sz);
}

void secmem_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}

int secmem_cmp(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}
