/* SPDX-License-Identifier: MIT */
/*
 * Test harness for cryptod without FUSE: creates a volume (`cryptstack
 * init`), starts the real keyd (cli_keyd_start) and the real cryptod
 * binary, and plays the frontend over the shared rings. One request in
 * flight per ring; ring i uses slot i, so one thread per ring may call in
 * parallel.
 */
#ifndef CS_TEST_CRYPTOD_HARNESS_H
#define CS_TEST_CRYPTOD_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

struct ring_region;

struct cdh {
	char dir[1024]; /* temp dir: lower/, passfile */
	char lower[PATH_MAX];
	int lower_fd;
	int keyd_fd;
	int peer_fd; /* our end of the liveness socketpair */
	pid_t keyd_pid, cryptod_pid;
	unsigned nrings;
	struct ring_region *region;
	uint64_t ids[64];
	int timeout_ms; /* per request; 0: 20 s */
};

/* Creates a fresh volume (init_opts: extra `cryptstack init` options or
 * NULL) and starts keyd and cryptod with nrings rings. 0, or -errno with a
 * message printed; CS_TEST_SKIP-worthy environment failures return
 * -EOPNOTSUPP. */
int cdh_start(struct cdh *h, unsigned nrings, const char *init_opts);
/* Restarts keyd + cryptod on the same lower directory. */
int cdh_restart(struct cdh *h, unsigned nrings);
/* Stops cryptod (peer hang-up) and keyd; returns cryptod's exit status
 * (0 clean) or -1. Keeps the lower directory. */
int cdh_stop_daemons(struct cdh *h);
/* Stops everything and removes the temp dir. */
void cdh_stop(struct cdh *h);

/* One request on ring: copies arg (arg_len bytes) into the ring's slot,
 * submits, waits for the completion; *reply points into the slot at the
 * reply (valid until the next call on that ring). Returns cqe.res. */
int cdh_call(struct cdh *h, unsigned ring, struct cs_sqe *sqe, const void *arg,
	     uint32_t arg_len, struct cs_cqe *cqe, const uint8_t **reply);

/* Convenience wrappers; each returns 0/-errno (or bytes). */
int cdh_lookup(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	       struct cs_entry *e);
void cdh_forget(struct cdh *h, unsigned ring, uint64_t ino, uint64_t n);
int cdh_getattr(struct cdh *h, unsigned ring, uint64_t ino, struct cs_attr *a);
int cdh_create(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	       uint32_t mode, uint32_t flags, struct cs_entry *e, uint64_t *fh);
int cdh_mknod(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t rdev, struct cs_entry *e);
int cdh_mkdir(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	      uint32_t mode, struct cs_entry *e);
int cdh_open(struct cdh *h, unsigned ring, uint64_t ino, uint32_t flags,
	     uint64_t *fh);
int cdh_opendir(struct cdh *h, unsigned ring, uint64_t ino, uint64_t *fh);
int cdh_release(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh);
int cdh_releasedir(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh);
/* Reads into buf; returns bytes. */
int cdh_read(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	     uint64_t off, void *buf, uint32_t len);
int cdh_write(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	      uint64_t off, const void *buf, uint32_t len);
int cdh_fsync(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	      bool datasync);
int cdh_flush(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh);
int cdh_fsyncdir(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
		 bool datasync);
int cdh_unlink(struct cdh *h, unsigned ring, uint64_t parent, const char *name);
int cdh_rmdir(struct cdh *h, unsigned ring, uint64_t parent, const char *name);
int cdh_rename(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
	       uint64_t newparent, const char *newname, uint32_t flags);
int cdh_link(struct cdh *h, unsigned ring, uint64_t ino, uint64_t newparent,
	     const char *newname, struct cs_entry *e);
int cdh_symlink(struct cdh *h, unsigned ring, uint64_t parent, const char *name,
		const char *target, struct cs_entry *e);
/* Returns the target length; buf gets it NUL-terminated. */
int cdh_readlink(struct cdh *h, unsigned ring, uint64_t ino, char *buf,
		 size_t cap);
int cdh_truncate(struct cdh *h, unsigned ring, uint64_t ino, uint64_t size,
		 struct cs_attr *a);
int cdh_setattr(struct cdh *h, unsigned ring, uint64_t ino,
		const struct cs_setattr_arg *sa, struct cs_attr *a);
int cdh_statfs(struct cdh *h, unsigned ring, struct cs_statfs *s);
int cdh_setxattr(struct cdh *h, unsigned ring, uint64_t ino, const char *name,
		 const void *val, uint32_t len, uint32_t flags);
/* size == 0: returns the value size; else copies and returns its length. */
int cdh_getxattr(struct cdh *h, unsigned ring, uint64_t ino, const char *name,
		 void *buf, uint32_t size);
int cdh_listxattr(struct cdh *h, unsigned ring, uint64_t ino, char *buf,
		  uint32_t size);
int cdh_removexattr(struct cdh *h, unsigned ring, uint64_t ino,
		    const char *name);
int cdh_fallocate(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
		  uint32_t mode, uint64_t off, uint64_t len);
/* Returns 0 and *res, or -errno. */
int cdh_lseek(struct cdh *h, unsigned ring, uint64_t ino, uint64_t fh,
	      uint64_t off, uint32_t whence, uint64_t *res);

/* A directory listing. */
struct cdh_dirent {
	char name[256];
	uint64_t ino; /* st_ino */
	uint32_t type;
	uint64_t nodeid; /* readdirplus only */
	struct cs_attr attr;
};
/* Lists a directory (all pages, small pages to exercise cookies); returns
 * the entry count (without . and ..) or -errno; *out is malloc()ed. */
int cdh_readdir(struct cdh *h, unsigned ring, uint64_t ino, bool plus,
		struct cdh_dirent **out);

/* Searches every lower file and name under the lower dir for marker bytes;
 * returns the number of hits (0 = no plaintext leaked). */
int cdh_lower_grep(struct cdh *h, const void *marker, size_t len);

#endif
