/* SPDX-License-Identifier: MIT */
/*
 * Lower I/O through the worker's own io_uring. A request submits a batch of
 * reads/writes (one sqe per contiguous lower run, not per extent), then
 * waits for exactly those completions. Buffers inside the worker's
 * registered ciphertext buffer use READ_FIXED/WRITE_FIXED.
 *
 * Completions that are not lower I/O (the peer-fd poll, the doorbell futex
 * wait) can arrive at any time; cd_uring_reap() handles them so the I/O
 * wait and the idle wait share one io_uring.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cryptod.h"
#include "log.h"

#define IO_TAG	    0x494f000000000000ull
#define IO_TAG_MASK 0xffff000000000000ull

/* Handles a completion that is not lower I/O; returns 1 if it was one. */
static int special_cqe(struct cd_worker *w, const struct io_uring_cqe *cqe)
{
	if (cqe->user_data == CD_UD_POLL) {
		w->poll_armed = false;
		if (cqe->res < 0 ||
		    (cqe->res & (POLLHUP | POLLERR | POLLRDHUP)))
			w->hangup = true;
		return 1;
	}
	if (cqe->user_data == CD_UD_FUTEX) {
		w->futex_armed = false;
		return 1;
	}
	return 0;
}

int cd_uring_wait_special(struct cd_worker *w)
{
	struct io_uring_cqe *cqe;
	int rc = io_uring_submit_and_wait(w->uring, 1);
	if (rc < 0 && rc != -EINTR && rc != -ETIME)
		return rc;
	unsigned head, n = 0;
	io_uring_for_each_cqe(w->uring, head, cqe)
	{
		if (!special_cqe(w, cqe))
			log_warnx("stray completion %llx",
				  (unsigned long long)cqe->user_data);
		n++;
	}
	io_uring_cq_advance(w->uring, n);
	return 0;
}

static struct io_uring_sqe *get_sqe(struct cd_worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(w->uring);
	if (!sqe) {
		io_uring_submit(w->uring);
		sqe = io_uring_get_sqe(w->uring);
	}
	return sqe;
}

static void prep_one(struct cd_worker *w, struct io_uring_sqe *sqe,
		     struct cd_io *io, unsigned i)
{
	uint8_t *b = (uint8_t *)io->buf + io->done;
	size_t len = io->len - io->done;
	uint64_t off = io->off + io->done;
	bool fixed = b >= w->ctbuf && b + len <= w->ctbuf + w->ctbuf_len;

	switch (io->op) {
	case CD_IO_READ:
		if (fixed)
			io_uring_prep_read_fixed(sqe, io->fd, b, (unsigned)len,
						 off, 0);
		else
			io_uring_prep_read(sqe, io->fd, b, (unsigned)len, off);
		break;
	case CD_IO_WRITE:
		if (fixed)
			io_uring_prep_write_fixed(sqe, io->fd, b, (unsigned)len,
						  off, 0);
		else
			io_uring_prep_write(sqe, io->fd, b, (unsigned)len, off);
		break;
	case CD_IO_FSYNC:
	case CD_IO_FDATASYNC:
		io_uring_prep_fsync(
		    sqe, io->fd,
		    io->op == CD_IO_FDATASYNC ? IORING_FSYNC_DATASYNC : 0);
		break;
	}
	if (io->fd >= 0 && io->fd < (int)CD_FIXED_MAX &&
	    __atomic_load_n(&cd_fixed[io->fd], __ATOMIC_ACQUIRE))
		sqe->flags |= IOSQE_FIXED_FILE; /* slot index == fd */
	io_uring_sqe_set_data64(sqe, IO_TAG | i);
}

/* 1 when lower I/O is forced to plain syscalls (tests); otherwise it is
 * plain on an in-memory lower file system (cd.lower_in_memory): on
 * tmpfs/ramfs io_uring can complete no buffered read or write inline (no
 * FMODE_BUF_RASYNC/WASYNC), so every one is punted to an io-wq thread, two
 * extra context switches for what is a memcpy. */
static int sync_io;

void cd_io_force_sync(void)
{
	__atomic_store_n(&sync_io, 1, __ATOMIC_RELAXED);
}

bool cd_io_sync(void)
{
	return __atomic_load_n(&sync_io, __ATOMIC_RELAXED) ||
	       cd.lower_in_memory;
}

/* cd_io_batch() with plain syscalls, one io after the other. */
static int batch_sync(struct cd_io *ios, unsigned n)
{
	int rc = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cd_io *io = &ios[i];
		ssize_t r = 0;
		if (io->op == CD_IO_FSYNC || io->op == CD_IO_FDATASYNC) {
			do
				r = io->op == CD_IO_FSYNC ? fsync(io->fd)
							  : fdatasync(io->fd);
			while (r < 0 && errno == EINTR);
			io->res = r < 0 ? -errno : 0;
		} else {
			while (io->done < io->len) {
				uint8_t *b = (uint8_t *)io->buf + io->done;
				size_t len = io->len - io->done;
				off_t off = (off_t)(io->off + io->done);
				r = io->op == CD_IO_READ
					? pread(io->fd, b, len, off)
					: pwrite(io->fd, b, len, off);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break;
				io->done += (size_t)r;
			}
			if (r < 0)
				io->res = -errno;
			else if (io->op == CD_IO_WRITE && io->done < io->len)
				io->res = -EIO;
			else
				io->res = (int)io->done;
		}
		if (io->res < 0 && !rc)
			rc = io->res;
	}
	return rc;
}

int cd_io_batch(struct cd_worker *w, struct cd_io *ios, unsigned n)
{
	unsigned pending = 0;
	int rc = 0;

	if (cd_io_sync()) {
		for (unsigned i = 0; i < n; i++) {
			ios[i].res = 0;
			ios[i].done = 0;
			if (ios[i].len > CD_IO_MAX_ONE)
				return -EINVAL;
		}
		return batch_sync(ios, n);
	}

	for (unsigned i = 0; i < n; i++) {
		ios[i].res = 0;
		ios[i].done = 0;
		if (ios[i].len > CD_IO_MAX_ONE)
			return -EINVAL;
		struct io_uring_sqe *sqe = get_sqe(w);
		if (!sqe)
			return -EAGAIN;
		prep_one(w, sqe, &ios[i], i);
		pending++;
	}
	while (pending) {
		int s = io_uring_submit_and_wait(w->uring, 1);
		if (s < 0 && s != -EINTR && s != -EAGAIN && s != -EBUSY)
			return s;
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		unsigned resubmit[64], nres = 0;
		io_uring_for_each_cqe(w->uring, head, cqe)
		{
			seen++;
			if (special_cqe(w, cqe))
				continue;
			if ((cqe->user_data & IO_TAG_MASK) != IO_TAG)
				continue;
			unsigned i = (unsigned)(cqe->user_data & 0xffffffff);
			if (i >= n)
				continue;
			struct cd_io *io = &ios[i];
			int res = cqe->res;
			if (res == -EAGAIN || res == -EINTR) {
				if (nres < ARRAY_LEN(resubmit)) {
					resubmit[nres++] = i;
					continue;
				}
				res = -EIO;
			}
			if (res < 0) {
				io->res = res;
				if (!rc)
					rc = res;
				pending--;
				continue;
			}
			io->done += (size_t)res;
			bool rw = io->op == CD_IO_READ || io->op == CD_IO_WRITE;
			if (rw && res > 0 && io->done < io->len &&
			    nres < ARRAY_LEN(resubmit)) {
				/* Short transfer: continue where it stopped
				 * (a read that returns 0 is EOF). */
				resubmit[nres++] = i;
				continue;
			}
			if (io->op == CD_IO_WRITE && io->done < io->len) {
				io->res = -EIO;
				if (!rc)
					rc = -EIO;
			} else {
				io->res = (int)io->done;
			}
			pending--;
		}
		io_uring_cq_advance(w->uring, seen);
		for (unsigned k = 0; k < nres; k++) {
			struct io_uring_sqe *sqe = get_sqe(w);
			if (!sqe)
				return -EAGAIN;
			prep_one(w, sqe, &ios[resubmit[k]], resubmit[k]);
		}
	}
	return rc;
}

ssize_t cd_io_read(struct cd_worker *w, int fd, void *buf, size_t len,
		   uint64_t off)
{
	struct cd_io io = {
	    .op = CD_IO_READ, .fd = fd, .buf = buf, .len = len, .off = off};
	int rc = cd_io_batch(w, &io, 1);
	return rc < 0 ? rc : (ssize_t)io.done;
}

int cd_io_write(struct cd_worker *w, int fd, const void *buf, size_t len,
		uint64_t off)
{
	struct cd_io io = {.op = CD_IO_WRITE,
			   .fd = fd,
			   .buf = (void *)buf,
			   .len = len,
			   .off = off};
	return cd_io_batch(w, &io, 1);
}

int cd_io_fsync(struct cd_worker *w, int fd, bool datasync)
{
	struct cd_io io = {.op = datasync ? CD_IO_FDATASYNC : CD_IO_FSYNC,
			   .fd = fd};
	return cd_io_batch(w, &io, 1);
}
