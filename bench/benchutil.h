/* SPDX-License-Identifier: MIT */
/*
 * Small timing harness shared by the benchmark programs (header only).
 *
 *   struct bench_cfg cfg;
 *   if (bench_cfg_parse(&cfg, argc, argv) != 0) return 2;
 *   double gbps = bench_gbps(&cfg, my_iter, arg, bytes_per_iter);
 *   bench_line("cipher backend=%s alg=%s batch=%zu op=seal", gbps, ...);
 *   bench_table_add(&tab, "ipsecmb aes256gcm seal", "1 MiB", gbps);
 *   bench_table_print(&tab, "backend alg op");
 *
 * Throughput is per core: one thread, measured in that thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so other processes competing for the cores
 * skew it less than wall time. Best of cfg->trials runs. GB/s = 1e9 B/s.
 */
#ifndef CS_BENCHUTIL_H
#define CS_BENCHUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bench_cfg {
	double min_sec; /* minimum measured time per trial */
	int trials;
	int quick;
};

/* Parses --quick and --seconds=S (per trial) / --trials=N. Unknown options
 * are left for the caller: returns the index of the first one, or 0. */
static inline int bench_cfg_parse(struct bench_cfg *c, int argc, char **argv)
{
	c->min_sec = 0.3;
	c->trials = 3;
	c->quick = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			c->quick = 1;
			c->min_sec = 0.05;
			c->trials = 1;
		} else if (strncmp(argv[i], "--seconds=", 10) == 0) {
			c->min_sec = atof(argv[i] + 10);
		} else if (strncmp(argv[i], "--trials=", 9) == 0) {
			c->trials = atoi(argv[i] + 9);
		} else {
			return i;
		}
	}
	if (c->min_sec <= 0)
		c->min_sec = 0.01;
	if (c->trials < 1)
		c->trials = 1;
	return 0;
}

/* Thread CPU time in seconds. */
static inline double bench_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One iteration processes a fixed number of bytes; nonzero return aborts
 * the measurement (bench_gbps then returns a negative value). */
typedef int (*bench_fn)(void *arg);

/* Runs fn until cfg->min_sec of CPU time has passed, cfg->trials times (one
 * untimed warm-up call first); returns the best throughput in GB/s, or -1.0
 * if fn failed. */
static inline double bench_gbps(const struct bench_cfg *c, bench_fn fn,
				void *arg, uint64_t bytes_per_iter)
{
	double best = 0;

	if (fn(arg) != 0)
		return -1.0;
	for (int t = 0; t < c->trials; t++) {
		uint64_t iters = 0;
		double t0 = bench_cpu_now(), el;
		do {
			/* Batches of calls keep clock reads off the profile. */
			for (int i = 0; i < 8; i++)
				if (fn(arg) != 0)
					return -1.0;
			iters += 8;
			el = bench_cpu_now() - t0;
		} while (el < c->min_sec);
		double g = (double)iters * (double)bytes_per_iter / el / 1e9;
		if (g > best)
			best = g;
	}
	return best;
}

/* Prints one machine-readable line: "<fields> gbps=X.XX". */
static inline void bench_line(double gbps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void bench_line(double gbps, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" gbps=%.2f\n", gbps);
	fflush(stdout);
}

/* A pivot table for the Markdown summary: rows and columns keep their
 * insertion order. Fixed capacity, no allocation. */
#define BENCH_MAX_ROWS 64
#define BENCH_MAX_COLS 8
#define BENCH_LABEL    48

struct bench_table {
	char rows[BENCH_MAX_ROWS][BENCH_LABEL];
	char cols[BENCH_MAX_COLS][BENCH_LABEL];
	double val[BENCH_MAX_ROWS][BENCH_MAX_COLS];
	int set[BENCH_MAX_ROWS][BENCH_MAX_COLS];
	int nrows, ncols;
};

static inline int bench__find(char (*labels)[BENCH_LABEL], int *n, int max,
			      const char *s)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(labels[i], s) == 0)
			return i;
	if (*n >= max)
		return -1;
	snprintf(labels[*n], BENCH_LABEL, "%s", s);
	return (*n)++;
}

/* Records a cell; silently drops it when the table is full. */
static inline void bench_table_add(struct bench_table *t, const char *row,
				   const char *col, double v)
{
	int r = bench__find(t->rows, &t->nrows, BENCH_MAX_ROWS, row);
	int c = bench__find(t->cols, &t->ncols, BENCH_MAX_COLS, col);
	if (r < 0 || c < 0)
		return;
	t->val[r][c] = v;
	t->set[r][c] = 1;
}

/* Prints the table in Markdown; corner names the row-label column. */
static inline void bench_table_print(const struct bench_table *t,
				     const char *corner, const char *unit)
{
	printf("\n| %s |", corner);
	for (int c = 0; c < t->ncols; c++)
		printf(" %s |", t->cols[c]);
	printf("\n|---|");
	for (int c = 0; c < t->ncols; c++)
		printf("---:|");
	printf("\n");
	for (int r = 0; r < t->nrows; r++) {
		printf("| %s |", t->rows[r]);
		for (int c = 0; c < t->ncols; c++) {
			if (t->set[r][c])
				printf(" %.2f |", t->val[r][c]);
			else
				printf(" – |");
		}
		printf("\n");
	}
	if (unit)
		printf("\n%s\n", unit);
	fflush(stdout);
}

/* Pins the calling thread to cpu, or lets it run on every CPU (cpu < 0). */
static inline void bench_pin_cpu(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	if (cpu >= 0) {
		CPU_SET(cpu, &s);
	} else {
		long n = sysconf(_SC_NPROCESSORS_CONF);
		for (long i = 0; i < n && i < CPU_SETSIZE; i++)
			CPU_SET(i, &s);
	}
	(void)sched_setaffinity(0, sizeof(s), &s);
}

#endif
