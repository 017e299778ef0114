/* SPDX-License-Identifier: MIT */
/*
 * bench-digest: the records digest (docs/FORMAT.md "Records seal") of a
 * 1 GiB file (262144 extents = 1024 groups = 16 MiB of records), read from
 * memory (a 16 KiB copy per group, as from the page
 * cache), against the first definition of the digest (one mbedTLS SHA-256
 * stream over all groups) computed here, in the same run. Also the batch
 * SHA-256 of 16 KiB buffers by backend.
 *
 *   build/bench-digest [--quick] [--seconds=S] [--trials=N]
 *
 * Lines: "digest path=fmt|v1-mbedtls extents=262144 gbps=X" (GB/s of
 * records hashed, per core; ms per 1 GiB file = 16.8 / gbps), "digest
 * ratio fmt/v1=R" (same run) and
 * "sha256 backend=ipsecmb|mbedtls len=16384 batch=8 gbps=X"; then a table.
 */
#include <errno.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "cipher.h"
#include "fmt.h"

#define NEXT   ((uint64_t)1 << 18) /* extents of a 1 GiB file */
#define NGROUP (NEXT / FMT_GROUP_EXTENTS)
#define POOL   ((size_t)NGROUP * FMT_GROUP_RECS_LEN)
#define BATCH  8

struct dig_state {
	uint8_t *pool; /* stands for the lower file's records */
	uint8_t *buf;  /* FMT_GROUP_RECS_LEN scratch, as cryptod passes */
	uint8_t d[FMT_DIGEST_LEN];
	int backend;
};

/* Lower reads come from the pool, at an offset derived from the lower
 * offset (all groups differ, none is all zero). */
static int pool_read(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	struct dig_state *s = arg;
	uint64_t at = off / FMT_BLOCK * 64 % (POOL - len);

	memcpy(buf, s->pool + at, len);
	return 0;
}

static int run_fmt(void *arg)
{
	struct dig_state *s = arg;
	struct fmt_recs_io io = {.read = pool_read, .arg = s};

	return fmt_recs_digest(&io, NEXT, s->buf, s->d);
}

/* The first definition: SHA-256("cryptstack records v1" || le64(n) ||
 * per group: le64(g) || records), one mbedTLS stream; the same reads. */
static int run_v1(void *arg)
{
	static const char label[] = "cryptstack records v1";
	struct dig_state *s = arg;
	mbedtls_sha256_context c;
	uint8_t le[8];
	int r = 0;

	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	memcpy(le, &(uint64_t){NEXT}, 8); /* x86: little endian */
	mbedtls_sha256_update_ret(&c, (const uint8_t *)label,
				  sizeof(label) - 1);
	mbedtls_sha256_update_ret(&c, le, 8);
	for (uint64_t g = 0; g < NGROUP && r == 0; g++) {
		r = pool_read(s, s->buf, FMT_GROUP_RECS_LEN,
			      fmt_rec_off(g * FMT_GROUP_EXTENTS));
		memcpy(le, &g, 8);
		mbedtls_sha256_update_ret(&c, le, 8);
		mbedtls_sha256_update_ret(&c, s->buf, FMT_GROUP_RECS_LEN);
	}
	mbedtls_sha256_finish_ret(&c, s->d);
	mbedtls_sha256_free(&c);
	return r;
}

static int run_batch(void *arg)
{
	struct dig_state *s = arg;
	const uint8_t *msgs[BATCH];
	size_t lens[BATCH];
	uint8_t out[BATCH][32];

	for (unsigned i = 0; i < BATCH; i++) {
		msgs[i] = s->pool + (size_t)i * FMT_GROUP_RECS_LEN;
		lens[i] = FMT_GROUP_RECS_LEN;
	}
	return cipher_sha256_batch(s->backend, msgs, lens, BATCH, out);
}

int main(int argc, char **argv)
{
	struct bench_cfg cfg;
	struct bench_table tab;
	struct dig_state s;
	static const int backends[] = {CIPHER_BACKEND_IPSECMB,
				       CIPHER_BACKEND_MBEDTLS};
	static const struct {
		const char *name, *row;
		bench_fn fn;
	} paths[] = {
	    {"v1-mbedtls", "digest v1 (mbedTLS stream)", run_v1},
	    {"fmt", "digest fmt_recs_digest", run_fmt},
	};
	char row[64];
	double g, gd[2];

	if (bench_cfg_parse(&cfg, argc, argv) != 0) {
		fprintf(stderr, "usage: bench-digest [--quick] [--seconds=S] "
				"[--trials=N]\n");
		return 2;
	}
	memset(&tab, 0, sizeof(tab));
	memset(&s, 0, sizeof(s));
	s.pool = malloc(POOL);
	s.buf = malloc(FMT_GROUP_RECS_LEN);
	if (!s.pool || !s.buf || cipher_random(s.pool, POOL) != 0)
		return 1;

	for (unsigned i = 0; i < 2; i++) {
		g = bench_gbps(&cfg, paths[i].fn, &s, POOL);
		bench_line(g, "digest path=%s extents=%llu", paths[i].name,
			   (unsigned long long)NEXT);
		bench_table_add(&tab, paths[i].row, "GB/s", g);
		bench_table_add(&tab, paths[i].row, "ms / 1 GiB file",
				g > 0 ? POOL / g / 1e6 : -1);
		gd[i] = g;
	}
	printf("digest ratio fmt/v1=%.2f\n", gd[0] > 0 ? gd[1] / gd[0] : -1);
	for (unsigned i = 0; i < sizeof(backends) / sizeof(*backends); i++) {
		const char *bn = cipher_backend_name(backends[i]);
		s.backend = backends[i];
		g = bench_gbps(&cfg, run_batch, &s,
			       (uint64_t)BATCH * FMT_GROUP_RECS_LEN);
		bench_line(g, "sha256 backend=%s len=%u batch=%u", bn,
			   (unsigned)FMT_GROUP_RECS_LEN, BATCH);
		snprintf(row, sizeof(row), "sha256 batch %s", bn);
		bench_table_add(&tab, row, "GB/s", g);
	}
	bench_table_print(&tab, "per core", "16 MiB of records = 1 GiB file");
	free(s.pool);
	free(s.buf);
	return 0;
}
