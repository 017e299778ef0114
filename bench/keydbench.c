/* SPDX-License-Identifier: MIT */
/*
 * keydbench: keyd's cost as cryptod sees it. Creates a temporary volume with
 * the cryptstack CLI (default Argon2id parameters unless --quick), measures
 * the unlock (exec + KDF) time, then KD_WRAP / KD_UNWRAP round trips per
 * second over the service socket (one per file create / open), and the
 * cost per FEK of KD_WRAP_BATCH (cryptod's pool of new-file headers: one
 * exchange per KD_BATCH_MAX creates). Prints machine-readable
 * "keydbench ..." lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../cli/keyd_client.h"
#include "keymsg.h"

static char selfdir[4096];

const char *cli_helper_dir(void)
{
	return selfdir;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void call(int fd, const void *q, size_t ql, void *p, size_t pl)
{
	if (send(fd, q, ql, MSG_NOSIGNAL) != (ssize_t)ql ||
	    recv(fd, p, pl, 0) != (ssize_t)pl) {
		fprintf(stderr, "keydbench: keyd exchange failed\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && !strcmp(argv[1], "--quick");
	char dir[] = "/tmp/keydbench.XXXXXX", cmd[8400], pf[64], v[64];
	ssize_t n = readlink("/proc/self/exe", selfdir, sizeof(selfdir) - 1);
	if (n <= 0 || !mkdtemp(dir))
		return 1;
	selfdir[n] = '\0';
	*strrchr(selfdir, '/') = '\0';
	snprintf(pf, sizeof(pf), "%s/pass", dir);
	snprintf(v, sizeof(v), "%s/vol", dir);
	FILE *f = fopen(pf, "w");
	if (!f)
		return 1;
	fputs("benchmark passphrase\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/cryptstack init --passfile %s %s %s "
		 ">/dev/null", selfdir, pf, quick ? "--kdf-memory 1M "
		 "--kdf-time 1 --kdf-parallelism 1" : "", v);
	if (system(cmd) != 0)
		return 1;
	struct cli_pass_src src = { .passfile = pf };
	struct cli_unlock u = { 0 };
	int lower = open(v, O_RDONLY | O_DIRECTORY), fd;
	pid_t pid;
	char err[512];
	if (lower < 0 || cli_unlock_add_pass(&u, &src, NULL))
		return 1;
	double t0 = now();
	if (cli_keyd_start(lower, &u, &fd, &pid, err, sizeof(err))) {
		fprintf(stderr, "keydbench: %s\n", err);
		return 1;
	}
	double unlock = now() - t0;
	cli_unlock_clear(&u);
	printf("keydbench op=unlock kdf=%s seconds=%.3f\n",
	       quick ? "1MiB,t1,p1" : "default", unlock);
	struct kd_hello hq = { .h = { KD_HELLO, 0 },
			       .version = KD_PROTO_VERSION }, hp;
	call(fd, &hq, sizeof(hq), &hp, sizeof(hp));
	static struct kd_wrap_req wq;
	static struct kd_wrap_rep wp;
	static struct kd_unwrap_req uq;
	static struct kd_unwrap_rep up;
	wq.h.type = KD_WRAP;
	wq.ad_len = 64;
	memset(wq.fek, 7, sizeof(wq.fek));
	unsigned iters = quick ? 2000 : 20000;
	t0 = now();
	for (unsigned i = 0; i < iters; i++)
		call(fd, &wq, sizeof(wq), &wp, sizeof(wp));
	double w = now() - t0;
	uq.h.type = KD_UNWRAP;
	uq.pkt = wp.pkt[0];
	uq.ad_len = 64;
	t0 = now();
	for (unsigned i = 0; i < iters; i++)
		call(fd, &uq, sizeof(uq), &up, sizeof(up));
	double uw = now() - t0;
	if (up.status != 0)
		return 1;
	static struct kd_wrap_batch_req bq;
	static struct kd_wrap_batch_rep bp;
	bq.h.type = KD_WRAP_BATCH;
	bq.count = KD_BATCH_MAX;
	bq.ad_len = 64;
	memset(bq.fek, 7, sizeof(bq.fek));
	unsigned biters = iters / KD_BATCH_MAX;
	t0 = now();
	for (unsigned i = 0; i < biters; i++)
		call(fd, &bq, sizeof(bq), &bp, sizeof(bp));
	double bw = now() - t0;
	if (bp.status != 0 || bp.count != KD_BATCH_MAX)
		return 1;
	printf("keydbench op=wrap ops_per_sec=%.0f usec_per_op=%.1f\n",
	       iters / w, 1e6 * w / iters);
	printf("keydbench op=wrap_batch feks_per_sec=%.0f usec_per_fek=%.1f "
	       "batch=%u\n",
	       biters * KD_BATCH_MAX / bw, 1e6 * bw / (biters * KD_BATCH_MAX),
	       KD_BATCH_MAX);
	printf("keydbench op=unwrap ops_per_sec=%.0f usec_per_op=%.1f\n",
	       iters / uw, 1e6 * uw / iters);
	close(fd);
	waitpid(pid, NULL, 0);
	close(lower);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
