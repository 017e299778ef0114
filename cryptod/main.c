/* SPDX-License-Identifier: MIT */
/*
 * cryptod: the crypto server. Arguments and start-up follow
 * docs/PROCESSES.md: attach the region, fetch the names key, set up the
 * workers (one io_uring and one cipher context each), enter the sandbox
 * (one place, after all setup), report ready, serve until the frontend's
 * liveness socket hangs up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/magic.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cd_sandbox.h"
#include "cipher.h"
#include "cryptod.h"
#include "fekcache.h"
#include "log.h"
#include "ring.h"
#include "sandbox.h"
#include "secmem.h"
#include "supervise.h"
#include "util.h"

struct cd_ctx cd = {
    .lower_fd = -1,
    .keyd_fd = -1,
    .peer_fd = -1,
    .keyd_mu = PTHREAD_MUTEX_INITIALIZER,
};

static void usage(void)
{
	fprintf(stderr, "usage: cryptstack-cryptod --lower-fd N --region-fd N "
			"--keyd-fd N --ctl-fd N --peer-fd N [--workers N] "
			"[--sandbox=on|off] [--passthrough] [--encrypted-view] "
			"[--user UID:GID] [--backend ipsecmb|mbedtls] "
			"[--fek-cache SECONDS] [-d]\n");
	exit(2);
}

static int parse_fd(const char *s)
{
	uint64_t v;
	if (parse_size(s, &v) < 0 || v > INT_MAX || !s[0] ||
	    s[strlen(s) - 1] < '0' || s[strlen(s) - 1] > '9')
		usage();
	return (int)v;
}

static void send_ready(int ctl_fd, int status, const char *msg)
{
	struct cs_ready rd;
	memset(&rd, 0, sizeof(rd));
	rd.status = status;
	rd.pid = (uint32_t)getpid();
	snprintf(rd.msg, sizeof(rd.msg), "%s", msg ? msg : "");
	if (ctl_fd >= 0 && write_full(ctl_fd, &rd, sizeof(rd)) < 0)
		log_warn("ready message");
}

/* The one place where confinement is entered, after every fd, mapping and
 * io_uring instance exists and before the worker threads start (they
 * inherit it): seccomp allowlist, Landlock beneath the lower directory.
 * Sanitizer builds skip it (their runtime needs more syscalls). */
static int cd_sandbox(bool on)
{
#if defined(__SANITIZE_ADDRESS__)
	on = false;
#endif
	if (!on) {
		log_debug("sandbox disabled");
		return 0;
	}
	/* cryptod/sandbox.c: allowlist, io_uring_register only for file
	 * table updates, Landlock beneath the lower directory */
	return cd_sandbox_enter(cd.lower_fd);
}

int main(int argc, char **argv)
{
	int region_fd = -1, ctl_fd = -1, level = LOG_LVL_INFO;
	long workers = 0;
	bool sandbox = true;
	const char *run_user = NULL, *backend = NULL;
	unsigned fek_ttl = CD_FEKC_TTL_DEFAULT;
	uint64_t v;
	char err[200] = "";
	int rc;

	enum {
		O_LOWER = 256,
		O_REGION,
		O_KEYD,
		O_CTL,
		O_PEER,
		O_WORKERS,
		O_SANDBOX,
		O_PASSTHRU,
		O_ENCVIEW,
		O_PLAINNAMES,
		O_USER,
		O_BACKEND,
		O_FEKCACHE
	};
	static const struct option opts[] = {
	    {"lower-fd", required_argument, NULL, O_LOWER},
	    {"region-fd", required_argument, NULL, O_REGION},
	    {"keyd-fd", required_argument, NULL, O_KEYD},
	    {"ctl-fd", required_argument, NULL, O_CTL},
	    {"peer-fd", required_argument, NULL, O_PEER},
	    {"workers", required_argument, NULL, O_WORKERS},
	    {"sandbox", required_argument, NULL, O_SANDBOX},
	    {"passthrough", no_argument, NULL, O_PASSTHRU},
	    {"encrypted-view", no_argument, NULL, O_ENCVIEW},
	    {"user", required_argument, NULL, O_USER},
	    {"backend", required_argument, NULL, O_BACKEND},
	    {"fek-cache", required_argument, NULL, O_FEKCACHE},
	    {"debug", no_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "d", opts, NULL)) != -1) {
		switch (c) {
		case O_LOWER:
			cd.lower_fd = parse_fd(optarg);
			break;
		case O_REGION:
			region_fd = parse_fd(optarg);
			break;
		case O_KEYD:
			cd.keyd_fd = parse_fd(optarg);
			break;
		case O_CTL:
			ctl_fd = parse_fd(optarg);
			break;
		case O_PEER:
			cd.peer_fd = parse_fd(optarg);
			break;
		case O_WORKERS:
			workers = strtol(optarg, NULL, 10);
			if (workers < 1 || workers > 64)
				usage();
			break;
		case O_SANDBOX:
			if (!strcmp(optarg, "off"))
				sandbox = false;
			else if (!strcmp(optarg, "on"))
				sandbox = true;
			else
				usage();
			break;
		case O_PASSTHRU:
			cd.passthrough = true;
			break;
		case O_ENCVIEW: /* raw read-only lower tree, rawview.c */
			cd.encrypted_view = true;
			break;
		case O_USER: /* UID:GID, docs/SANDBOX.md */
			run_user = optarg;
			break;
		case O_BACKEND: /* -o backend=, docs/MOUNT.md */
			backend = optarg;
			break;
		case O_FEKCACHE: /* -o fekcache=, docs/CRYPTOD.md */
			if (parse_size(optarg, &v) < 0 || v > 86400)
				usage();
			fek_ttl = (unsigned)v;
			break;
		case 'd':
			level = LOG_LVL_DEBUG;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || cd.lower_fd < 0 || region_fd < 0 ||
	    cd.keyd_fd < 0 || ctl_fd < 0 || cd.peer_fd < 0)
		usage();
	log_init("cryptod", level);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* Registered buffers and locked keys count against RLIMIT_MEMLOCK. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}

	rc = ring_region_attach(&cd.region, region_fd);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot attach region: %s",
			 strerror(-rc));
		goto fail;
	}
	close(region_fd);
	region_fd = -1;
	unsigned nrings = ring_region_params(cd.region)->nrings;
	if (workers == 0)
		workers = nrings;
	if ((unsigned long)workers != nrings) {
		/* Ring i is served by worker i: one each, no more, no less. */
		log_warnx("--workers %ld != %u rings: using %u", workers,
			  nrings, nrings);
		workers = nrings;
	}
	cd.nworkers = (unsigned)workers;

	struct statfs sfs;
	if (fstatfs(cd.lower_fd, &sfs) < 0) {
		rc = -errno;
		snprintf(err, sizeof(err), "lower directory: %s",
			 strerror(-rc));
		goto fail;
	}
	cd.lower_namemax = sfs.f_namelen ? (uint64_t)sfs.f_namelen : 255;
	cd.lower_in_memory =
	    sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;

	if (backend) {
		rc = cipher_backend_set_default(cipher_backend_from_name(backend));
		if (rc < 0) {
			snprintf(err, sizeof(err),
				 "cipher backend '%s': %s (ipsecmb, mbedtls)",
				 backend,
				 rc == -ENOTSUP ? "not available on this CPU"
						: "unknown");
			goto fail;
		}
	}
	log_info("cipher backend %s",
		 cipher_backend_name(cipher_backend_default()));

	rc = cd_volume_load();
	if (rc < 0) {
		snprintf(err, sizeof(err), "volume config: %s", strerror(-rc));
		goto fail;
	}
	rc = cd_keyd_init();
	if (rc < 0) {
		snprintf(err, sizeof(err), "keyd: %s", strerror(-rc));
		goto fail;
	}
	/* A cache that cannot lock its memory is off: not a failure. */
	if (cd_fekc_init(CD_FEKC_ENTRIES, fek_ttl) == 0)
		atexit(cd_fekc_exit);
	rc = cd_itab_init();
	if (rc < 0) {
		snprintf(err, sizeof(err), "lower root: %s", strerror(-rc));
		goto fail;
	}
	rc = cd_workers_setup();
	if (rc < 0) {
		snprintf(err, sizeof(err), "workers: %s", strerror(-rc));
		goto fail;
	}
	rc = cd_drop_user(run_user);
	if (rc < 0) {
		snprintf(err, sizeof(err), "--user %s: %s", run_user,
			 strerror(-rc));
		goto fail;
	}
	rc = cd_sandbox(sandbox);
	if (rc < 0) {
		snprintf(err, sizeof(err), "sandbox: %s", strerror(-rc));
		goto fail;
	}
	rc = cd_fekc_start_sweeper();
	if (rc == 0)
		rc = cd_keyd_start_refill();
	if (rc == 0)
		rc = cd_workers_start();
	if (rc < 0) {
		snprintf(err, sizeof(err), "workers: %s", strerror(-rc));
		goto fail;
	}
	send_ready(ctl_fd, 0, "");
	close(ctl_fd);
	log_debug("ready: %u workers", cd.nworkers);

	/* Each worker also watches the peer fd in its own io_uring and leaves
	 * on hang-up; the main thread only waits for them. */
	cd_workers_join();
	log_debug("peer hung up, exiting");
	/* Every request was answered and every lower write completed: close
	 * what is still open cleanly (size slots lose FMT_SZ_DIRTY, keys
	 * are wiped). The kernel's handles died with the frontend. */
	cd_handles_close_all(&cd.workers[0]);
	secmem_free(cd.names_key, 64);
	return 0;

fail:
	log_warnx("%s", err);
	send_ready(ctl_fd, rc < 0 ? rc : -EIO, err);
	return 1;
}
