/* SPDX-License-Identifier: MIT */
/*
 * The mount supervisor (docs/PROCESSES.md, docs/MOUNT.md): starts keyd,
 * cryptod and the frontend with explicit fds, waits for their cs_ready
 * messages, then watches them until the mount goes away. Used by
 * `cryptstack mount`; `cryptstack umount` finds it through its pid file.
 */
#ifndef CS_CLI_SUPERVISOR_H
#define CS_CLI_SUPERVISOR_H

#include <stddef.h>
#include <sys/types.h>

struct sup_opts {
	char lower[4096];      /* canonical absolute paths */
	char mnt[4096];
	const char *passfile;  /* unlock material sources (cli/pass.h) */
	const char *extpass;
	const char *keyfile;   /* PEM private key instead of a passphrase */
	int scratch;           /* --scratch: a random key, LOWER emptied at
				* the end (cli/scratch.c) */
	/* Further passphrases (second and later --passfile): each unlocks
	 * one more FEKEK into the mount context (docs/MOUNT.md). */
	const char *more_pass[8];
	unsigned nmore;
	const char *logfile;   /* daemon mode: log here (default: run dir) */
	int foreground;
	int debug;
	int shared_lower;      /* short cache timeouts, no keep_cache */
	int encrypted_view;    /* read-only raw ciphertext view */
	int sandbox_off;       /* cryptod --sandbox=off */
	const char *backend;   /* -o backend=NAME: cryptod --backend */
	const char *fekcache;  /* -o fekcache=SECONDS: cryptod --fek-cache */
	int run_as;            /* -o user=NAME (root): cryptod runs as */
	int run_as_set;        /* user= given (else: the lower's owner) */
	unsigned run_uid, run_gid; /* run_uid:run_gid (docs/SANDBOX.md) */
	unsigned workers;      /* ring pairs = cryptod workers = frontend
				* threads; 0: automatic */
	unsigned slots;        /* data slots per ring pair; 0: default */
	char fuse_opts[4096];  /* passed on to the frontend's -o */
};

/* Runs a whole mount: foreground (returns when it is unmounted) or daemon
 * (returns in the caller as soon as the mount is ready or has failed;
 * the daemon child never returns). Returns the process exit status. */
int sup_run(struct sup_opts *o);

/* Writes the pid file path of the mount at mnt (a canonical absolute
 * path) into buf: /run/cryptstack/<hash>.pid for root, else under
 * $XDG_RUNTIME_DIR (or /tmp/cryptstack-<uid>). ext replaces ".pid"
 * (".log"). Returns 0 or -ENAMETOOLONG. mkdirs when create != 0. */
int sup_run_path(const char *mnt, const char *ext, int create, char *buf,
		 size_t len);

/* Makes path absolute and canonical without touching a possibly dead
 * mount: realpath() when it works, else cwd + path with "." and ".."
 * folded lexically. Returns 0 or -errno. */
int sup_canon(const char *path, char *out, size_t len);

/* Runs fusermount3 -u mnt (lazy: -z -q, its stderr silenced) and waits for
 * it: 0 when it exits 0, -EBUSY when it fails, -errno when it cannot run. */
int sup_fusermount(const char *mnt, int lazy);

/* Returns 1 if path is a mount point listed in /proc/self/mountinfo
 * (and *fstype gets its type, up to fslen bytes), 0 if not, -errno. */
int sup_is_mountpoint(const char *path, char *fstype, size_t fslen);

#endif
