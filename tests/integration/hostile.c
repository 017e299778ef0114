/* SPDX-License-Identifier: MIT */
/*
 * cs_hostile_cryptod FRONTEND_BIN: the real frontend against a cryptod that
 * breaks the ring protocol (a hostile or buggy peer cannot be the real
 * cryptod). For each kind of violation: mount through the frontend, check
 * that good requests work, send the bad completion, and check that the
 * request and every later one get EIO at once, that the frontend neither
 * crashes nor hangs, and that the mount still unmounts cleanly. Root and
 * /dev/fuse needed (exit 77 otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"
#include "supervise.h"
#include "wire.h"

enum mode { BAD_SHORT_ENTRY, BAD_UNKNOWN_ID, BAD_FOREIGN_SLOT, PEER_DIES, NMODES };
static const char *const mode_name[NMODES] = {
	"reply block too short", "completion for an unknown id",
	"completion naming a slot not in flight", "peer hangs up",
};

struct fake {
	struct ring_region *r;
	int peer_fd;
	enum mode mode;
	atomic_int stop;
};

static void attr(struct cs_attr *a, uint64_t ino, uint32_t mode, uint64_t size)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = mode;
	a->nlink = 1;
	a->size = size;
	a->blksize = 4096;
}

/* cryptod's part: answers GETATTR and LOOKUP of "good"; misbehaves on
 * LOOKUP of "bad" according to the mode. */
static void *fake_cryptod(void *arg)
{
	struct fake *f = arg;
	struct cs_sqe s;
	while (!atomic_load(&f->stop)) {
		int n = ring_sq_pop(f->r, 0, &s, 1);
		if (n < 0)
			break;
		if (n == 0) {
			ring_sq_wait(f->r, 0, 50);
			continue;
		}
		if (s.op == CS_OP_FORGET)
			continue;
		struct cs_cqe c = { .id = s.id, .slot = s.slot };
		uint8_t *slot = ring_slot(f->r, s.slot);
		const char *name = (const char *)slot + s.arg_off;
		if (s.op == CS_OP_GETATTR) {
			struct cs_attr a;
			attr(&a, s.ino, s.ino == 1 ? (S_IFDIR | 0755) :
						     (S_IFREG | 0644),
			     s.ino == 1 ? 0 : 5);
			memcpy(slot, &a, sizeof(a));
			c.data_len = sizeof(a);
		} else if (s.op == CS_OP_LOOKUP && s.arg_len == 4 &&
			   !memcmp(name, "good", 4)) {
			struct cs_entry e = { .nodeid = 2 };
			attr(&e.attr, 2, S_IFREG | 0644, 5);
			memcpy(slot, &e, sizeof(e));
			c.data_len = sizeof(e);
		} else if (s.op == CS_OP_LOOKUP && s.arg_len == 3 &&
			   !memcmp(name, "bad", 3)) {
			switch (f->mode) {
			case BAD_SHORT_ENTRY:
				c.data_len = 10;
				break;
			case BAD_UNKNOWN_ID:
				c.id ^= 0x5a5a00000000ull;
				break;
			case BAD_FOREIGN_SLOT:
				/* a slot of the region that is not in flight */
				c.slot = s.slot == 0 ? 1 : 0;
				break;
			case PEER_DIES:
				close(f->peer_fd);
				f->peer_fd = -1;
				return NULL; /* never answers */
			default:
				break;
			}
		} else {
			c.res = -ENOENT;
		}
		while (ring_cq_push(f->r, 0, &c, 1) == 0)
			usleep(100);
		ring_cq_kick(f->r, 0);
	}
	return NULL;
}

static int fails;
#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fails++;                                              \
			printf("FAIL %s:%d: %s (errno %d %s)\n", __func__,    \
			       __LINE__, #c, errno, strerror(errno));         \
		}                                                             \
	} while (0)

static void run(const char *fe_bin, enum mode mode)
{
	char mnt[] = "/tmp/cs-hostile.XXXXXX", path[64];
	struct ring_params p = { .nrings = 1, .entries = 64, .nslots = 4,
				 .slot_size = CS_SLOT_SIZE_DEFAULT };
	struct fake f = { .mode = mode };
	int L[2], ctl[2];
	pthread_t th;
	struct stat st;

	printf("== %s\n", mode_name[mode]);
	if (!mkdtemp(mnt) || ring_region_create(&f.r, &p) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, L) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl) < 0) {
		perror("setup");
		exit(1);
	}
	f.peer_fd = L[0];
	pid_t pid = fork();
	if (pid == 0) {
		int fds[3] = { fcntl(ring_region_fd(f.r), F_DUPFD, 64),
			       fcntl(ctl[1], F_DUPFD, 64),
			       fcntl(L[1], F_DUPFD, 64) };
		for (int i = 0; i < 3; i++)
			dup2(fds[i], 3 + i);
		for (int fd = 6; fd < 1024; fd++)
			close(fd);
		execl(fe_bin, "cryptstack-frontend", "--region-fd", "3",
		      "--ctl-fd", "4", "--peer-fd", "5", "--mountpoint", mnt,
		      (char *)NULL);
		_exit(127);
	}
	close(ctl[1]);
	close(L[1]);
	pthread_create(&th, NULL, fake_cryptod, &f);
	struct cs_ready rd;
	CHECK(recv(ctl[0], &rd, sizeof(rd), 0) == (ssize_t)sizeof(rd) &&
	      rd.status == 0);

	snprintf(path, sizeof(path), "%s/good", mnt);
	CHECK(stat(path, &st) == 0 && st.st_size == 5);
	snprintf(path, sizeof(path), "%s/bad", mnt);
	CHECK(stat(path, &st) < 0 && errno == EIO);
	snprintf(path, sizeof(path), "%s/other", mnt);
	CHECK(stat(path, &st) < 0 && errno == EIO);
	snprintf(path, sizeof(path), "%s/new", mnt);
	CHECK(open(path, O_CREAT | O_WRONLY, 0644) < 0 && errno == EIO);
	int ws;
	CHECK(waitpid(pid, &ws, WNOHANG) == 0); /* still serving */

	CHECK(umount2(mnt, 0) == 0);
	int waited = 0;
	while (waitpid(pid, &ws, WNOHANG) == 0 && waited++ < 100)
		usleep(50000);
	CHECK(waited <= 100 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	if (waited > 100) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	atomic_store(&f.stop, 1);
	pthread_join(th, NULL);
	if (f.peer_fd >= 0)
		close(f.peer_fd);
	close(ctl[0]);
	ring_region_destroy(f.r);
	rmdir(mnt);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: cs_hostile_cryptod FRONTEND_BIN\n");
		return 2;
	}
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) < 0) {
		printf("SKIP: needs root and /dev/fuse\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int m = 0; m < NMODES; m++)
		run(argv[1], (enum mode)m);
	printf("hostile: %s\n", fails ? "FAILED" : "all passed");
	return fails ? 1 : 0;
}
