/* SPDX-License-Identifier: MIT */
/*
 * What the frontend tells the kernel beyond libfuse 3.14's API.
 *
 * FUSE_HANDLE_KILLPRIV_V2. Without it the kernel asks the file system for
 * security.capability before every write(2) (file_remove_privs): one
 * synchronous GETXATTR per write. With it the super block gets SB_NOSEC,
 * the first write to an inode latches S_NOSEC, and later writes ask
 * nothing; in exchange the file system clears S_ISUID (and S_ISGID with
 * S_IXGRP) itself when the kernel says so (docs/MOUNT.md). libfuse 3.14 has
 * no FUSE_CAP for it, so a custom io on the same /dev/fuse fd
 * (fuse_session_custom_io after fuse_session_mount: the fd and the
 * mountpoint libfuse unmounts stay the same) does two things:
 *  - read: unchanged (straight into the caller's buffer, our slot), then a
 *    look at the raw request: INIT's offered flags and unique, and the
 *    kill-suid bits libfuse drops (WRITE's write_flags, CREATE's and
 *    OPEN's open_flags) into fe_kin for the handler on this thread.
 *    SETATTR's FATTR_KILL_SUIDGID reaches fe_setattr in to_set
 *    (libfuse keeps bit 11 as FUSE_SET_ATTR_KILL_SUID).
 *  - writev: the INIT reply goes out as a copy with
 *    FUSE_HANDLE_KILLPRIV_V2 added when the kernel offered it.
 *
 * Dirty limits. A FUSE bdi starts with strict_limit=1 and max_ratio=1: a
 * writer is throttled to the writeback speed once ~1% of the dirty limit
 * is dirty. The server here is trusted and owned by the mount, so as root
 * the frontend turns strict_limit off: writers are throttled as on a
 * local file system (fe_bdi_tune; -o kernel_dirty_limits keeps it on).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frontend.h"
#include "log.h"
#include "util.h"

__thread uint32_t fe_kin;

/* The INIT request's unique (0: none pending) and the flags it offered. */
static _Atomic uint64_t init_unique;
static _Atomic uint32_t init_flags;

/* The fixed head of the request's argument that we look into: NULL when
 * the request is shorter than the header and need bytes. */
static const void *req_arg(const uint8_t *buf, size_t n, size_t need)
{
	const struct fuse_in_header *h = (const void *)buf;
	if (need > n - sizeof(*h))
		return NULL;
	return buf + sizeof(*h);
}

/* Whether bit is set in the uint32_t field of the request's argument, a
 * struct type (0 when the request is shorter than the whole struct). */
#define ARG_FLAG(buf, n, type, field, bit)                                   \
	({                                                                   \
		const type *a_ = req_arg(buf, n, sizeof(type));              \
		a_ && (a_->field & (bit));                                   \
	})

/* Looks at one request the kernel sent (n >= header bytes in buf). */
static void peek(const uint8_t *buf, size_t n)
{
	const struct fuse_in_header *h = (const void *)buf;
	const struct fuse_init_in *i;
	int kill = 0;

	switch (h->opcode) {
	case FUSE_WRITE:
		kill = ARG_FLAG(buf, n, struct fuse_write_in, write_flags,
				FUSE_WRITE_KILL_SUIDGID);
		break;
	case FUSE_CREATE:
		kill = ARG_FLAG(buf, n, struct fuse_create_in, open_flags,
				FUSE_OPEN_KILL_SUIDGID);
		break;
	case FUSE_OPEN:
		kill = ARG_FLAG(buf, n, struct fuse_open_in, open_flags,
				FUSE_OPEN_KILL_SUIDGID);
		break;
	case FUSE_INIT:
		i = req_arg(buf, n,
			    offsetof(struct fuse_init_in, flags) +
				    sizeof(i->flags));
		if (i && i->major == FUSE_KERNEL_VERSION) {
			atomic_store(&init_flags, i->flags);
			atomic_store(&init_unique, h->unique);
		}
		break;
	}
	if (kill)
		fe_kin |= FE_KIN_KILL_SUIDGID;
}

/* libfuse reads errno after this returns -1: peek() leaves it alone. */
static ssize_t k_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	(void)userdata;
	fe_kin = 0;
	if (n >= (ssize_t)sizeof(struct fuse_in_header))
		peek(buf, (size_t)n);
	return n;
}

/* Sends INIT's reply with FUSE_HANDLE_KILLPRIV_V2 added, from a copy:
 * libfuse's buffer is not ours to write. */
static ssize_t init_reply(int fd, struct iovec *iov, int count)
{
	struct fuse_init_out out;
	struct iovec v[2];

	if (count != 2 || iov[1].iov_len > sizeof(out) ||
	    iov[1].iov_len < offsetof(struct fuse_init_out, flags) +
				 sizeof(out.flags))
		return writev(fd, iov, count);
	memset(&out, 0, sizeof(out));
	memcpy(&out, iov[1].iov_base, iov[1].iov_len);
	out.flags |= FUSE_HANDLE_KILLPRIV_V2;
	v[0] = iov[0];
	v[1].iov_base = &out;
	v[1].iov_len = iov[1].iov_len;
	fe.killpriv = 1;
	return writev(fd, v, 2);
}

static ssize_t k_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	uint64_t u = atomic_load_explicit(&init_unique, memory_order_relaxed);
	(void)userdata;
	if (u && count >= 1 && iov[0].iov_len >= sizeof(struct fuse_out_header)) {
		const struct fuse_out_header *oh = iov[0].iov_base;
		if (oh->unique == u && oh->error == 0 &&
		    atomic_compare_exchange_strong(&init_unique, &u, 0) &&
		    (atomic_load(&init_flags) & FUSE_HANDLE_KILLPRIV_V2))
			return init_reply(fd, iov, count);
	}
	return writev(fd, iov, count);
}

int fe_kernel_io(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = k_read,
		.writev = k_writev,
	};

	if (!env_knob("CS_FRONTEND_KILLPRIV_V2", 1, 1) || fe.read_only) {
		log_debug("FUSE_HANDLE_KILLPRIV_V2 not asked for");
		return 0;
	}
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

int fe_bdi_write(const char *mnt, const char *knob, const char *val)
{
	struct stat st;
	char path[128];
	int fd, rc = 0;

	if (stat(mnt, &st) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/%s",
		 major(st.st_dev), minor(st.st_dev), knob);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		log_debug("%s: %s (stays at the kernel's value)", path,
			  strerror(errno));
		return 0;
	}
	if (write_full(fd, val, strlen(val)) < 0)
		log_debug("%s: write of %s failed", path, val);
	else
		rc = 1;
	close(fd);
	return rc;
}

/* Only strict_limit goes: the writer is then throttled like one of a local
 * disk (only above the global thresholds), while the bdi's small share
 * (max_ratio 1) still starts background writeback early, so encryption
 * runs beside the writer. A larger max_ratio delays that writeback and
 * made 1 MiB writes with fsync no faster (docs/MOUNT.md). For
 * measurements CS_FRONTEND_BDI_MAX_RATIO=N also sets max_ratio N; 0 keeps
 * the kernel's limits, as -o kernel_dirty_limits. */
int fe_bdi_tune(const char *mnt)
{
	unsigned ratio = 1;
	char val[16];
	int rc, set;

	if (fe.read_only || fe.kernel_dirty)
		return 0;
	set = env_uint("CS_FRONTEND_BDI_MAX_RATIO", 100, &ratio);
	if (set < 0)
		log_warnx("CS_FRONTEND_BDI_MAX_RATIO ignored (0..100)");
	if (set > 0 && ratio == 0)
		return 0; /* as -o kernel_dirty_limits */
	if (set > 0) {
		snprintf(val, sizeof(val), "%u", ratio);
		rc = fe_bdi_write(mnt, "max_ratio", val);
		if (rc <= 0)
			return rc;
	}
	rc = fe_bdi_write(mnt, "strict_limit", "0");
	if (rc > 0)
		log_debug("bdi of %s: strict_limit 0", mnt);
	return rc < 0 ? rc : 0;
}
