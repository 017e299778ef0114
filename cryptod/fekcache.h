/* SPDX-License-Identifier: MIT */
/*
 * Cache of recently used file keys (FEKs) in cryptod: a reopen of a file
 * whose FEK cryptod unwrapped or created a short while ago costs no keyd
 * round trip. docs/CRYPTOD.md "FEK cache" has the policy and why it widens
 * no trust boundary.
 */
#ifndef CD_FEKCACHE_H
#define CD_FEKCACHE_H

#include <stdint.h>

/* Default time a FEK stays after its last use, and capacity. */
#define CD_FEKC_TTL_DEFAULT 60u
#define CD_FEKC_ENTRIES 16384u

/* Sets the cache up for about entries FEKs (rounded down to a power of
 * two, at least 4) kept ttl_s seconds after their last use, in locked
 * memory. ttl_s == 0 disables the cache (every call below is then a
 * no-op / miss). Falls back to fewer entries when memory cannot be
 * locked. Not thread-safe against the other calls: once, at start-up.
 * 0 or -errno (the cache is then disabled). */
int cd_fekc_init(unsigned entries, unsigned ttl_s);

/* Wipes every entry and releases the memory. */
void cd_fekc_exit(void);

/* Looks the FEK up that keyd's unwrap of key packet pkt (68 bytes, public)
 * under associated data ad would give; on a hit copies it to fek and
 * returns 0, else -ENOENT. now: now_ns(). */
int cd_fekc_get(const void *pkt, const uint8_t *ad, uint32_t ad_len,
		uint8_t *fek, uint64_t now);

/* Remembers fek as the unwrap of (pkt, ad), replacing the least recently
 * used entry of its set when the set is full. */
void cd_fekc_put(const void *pkt, const uint8_t *ad, uint32_t ad_len,
		 const uint8_t *fek, uint64_t now);

/* Wipes every entry unused for more than the TTL at time now; returns the
 * number of entries still held. */
unsigned cd_fekc_sweep(uint64_t now);

/* Starts a detached thread that sweeps once a second (the FEK of a file
 * nobody used for the TTL is gone within a second after). 0 or -errno. */
int cd_fekc_start_sweeper(void);

#endif
