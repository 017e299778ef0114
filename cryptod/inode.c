/* SPDX-License-Identifier: MIT */
/*
 * The inode table: one node per lower object, keyed by lower (st_dev,
 * st_ino) so hard links share a node, and by FUSE node id. Each node holds
 * an O_PATH fd of its lower object; the fd pins the lower inode, so its
 * number cannot be reused while the node lives.
 *
 * A node lives while the kernel holds lookups on it (nlookup), a request is
 * using it (uses) or a handle is open on it (opens). Node ids come from a
 * counter and are never reused within a mount.
 *
 * Reopening: directories are reopened relative to their own O_PATH fd
 * (openat(fd, ".")); regular files through /proc/self/fd/N, as libfuse's
 * passthrough_ll does. That magic link names exactly the pinned inode, so it
 * cannot leave the lower tree; under Landlock it stays allowed because the
 * access check applies to the reopened file, which is beneath the lower
 * directory (docs/CRYPTOD.md).
 *
 * Regular files are reopened O_NOATIME where allowed: the lower atime is
 * the file's atime, and cryptod reads headers for a stat or an open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptod.h"
#include "log.h"

#define NBUCKETS 16384u

struct itab {
	pthread_mutex_t lock;
	uint64_t next_id;
	struct cd_inode *by_id[NBUCKETS];
	struct cd_inode *by_key[NBUCKETS];
};

static struct itab itab = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* uses is kept beside nlookup under itab.lock. */
struct node_ext {
	struct cd_inode n;
	uint64_t uses;
};

static unsigned hid(uint64_t id)
{
	return (unsigned)((id * 0x9e3779b97f4a7c15ull) >> 50) % NBUCKETS;
}

static unsigned hkey(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;
	return (unsigned)((h * 0xff51afd7ed558ccdull) >> 50) % NBUCKETS;
}

static struct cd_inode *find_id(uint64_t id)
{
	struct cd_inode *n = itab.by_id[hid(id)];
	while (n && n->nodeid != id)
		n = n->hnext_id;
	return n;
}

static struct cd_inode *find_key(dev_t dev, ino_t ino)
{
	struct cd_inode *n = itab.by_key[hkey(dev, ino)];
	while (n && (n->dev != dev || n->ino != ino))
		n = n->hnext_key;
	return n;
}

static void unlink_node(struct cd_inode *n)
{
	struct cd_inode **p = &itab.by_id[hid(n->nodeid)];
	while (*p != n)
		p = &(*p)->hnext_id;
	*p = n->hnext_id;
	p = &itab.by_key[hkey(n->dev, n->ino)];
	while (*p != n)
		p = &(*p)->hnext_key;
	*p = n->hnext_key;
}

/* Frees n if nothing references it; caller holds itab.lock. */
static void maybe_free(struct cd_inode *n)
{
	struct node_ext *x = (struct node_ext *)n;
	if (n->nodeid == CD_ROOT_ID || n->nlookup || x->uses || n->opens)
		return;
	unlink_node(n);
	if (n->fd >= 0)
		close(n->fd);
	pthread_mutex_destroy(&n->lock);
	free(x);
}

static struct cd_inode *new_node(int fd, const struct stat *st, uint64_t id)
{
	struct node_ext *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	struct cd_inode *n = &x->n;
	n->nodeid = id;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->type = st->st_mode & S_IFMT;
	n->fd = fd;
	pthread_mutex_init(&n->lock, NULL);
	n->hnext_id = itab.by_id[hid(id)];
	itab.by_id[hid(id)] = n;
	n->hnext_key = itab.by_key[hkey(n->dev, n->ino)];
	itab.by_key[hkey(n->dev, n->ino)] = n;
	return n;
}

int cd_itab_init(void)
{
	struct stat st;
	int fd = openat(cd.lower_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	pthread_mutex_lock(&itab.lock);
	struct cd_inode *root = new_node(fd, &st, CD_ROOT_ID);
	itab.next_id = CD_ROOT_ID + 1;
	if (root)
		root->nlookup = 1;
	pthread_mutex_unlock(&itab.lock);
	if (!root) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

struct cd_inode *cd_inode_get(uint64_t nodeid)
{
	pthread_mutex_lock(&itab.lock);
	struct cd_inode *n = find_id(nodeid);
	if (n)
		((struct node_ext *)n)->uses++;
	pthread_mutex_unlock(&itab.lock);
	return n;
}

struct cd_inode *cd_inode_find(dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&itab.lock);
	struct cd_inode *n = find_key(dev, ino);
	if (n)
		((struct node_ext *)n)->uses++;
	pthread_mutex_unlock(&itab.lock);
	return n;
}

void cd_inode_put(struct cd_inode *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&itab.lock);
	((struct node_ext *)n)->uses--;
	maybe_free(n);
	pthread_mutex_unlock(&itab.lock);
}

struct cd_inode *cd_inode_lookup_fd(int fd, const struct stat *st, int *err)
{
	pthread_mutex_lock(&itab.lock);
	struct cd_inode *n = find_key(st->st_dev, st->st_ino);
	if (n) {
		close(fd);
	} else {
		n = new_node(fd, st, itab.next_id);
		if (!n) {
			pthread_mutex_unlock(&itab.lock);
			close(fd);
			*err = -ENOMEM;
			return NULL;
		}
		itab.next_id++;
	}
	n->nlookup++;
	((struct node_ext *)n)->uses++;
	pthread_mutex_unlock(&itab.lock);
	return n;
}

void cd_inode_forget(uint64_t nodeid, uint64_t cnt)
{
	pthread_mutex_lock(&itab.lock);
	struct cd_inode *n = find_id(nodeid);
	if (n) {
		n->nlookup = cnt > n->nlookup ? 0 : n->nlookup - cnt;
		if (n->nodeid == CD_ROOT_ID && n->nlookup == 0)
			n->nlookup = 1;
		maybe_free(n);
	}
	pthread_mutex_unlock(&itab.lock);
}

void cd_inode_open_ref(struct cd_inode *n, int delta)
{
	pthread_mutex_lock(&itab.lock);
	n->opens = (unsigned)((int)n->opens + delta);
	maybe_free(n);
	pthread_mutex_unlock(&itab.lock);
}

int cd_inode_reopen(struct cd_inode *n, int flags)
{
	int fd;
	flags |= O_CLOEXEC | O_NOFOLLOW;
	if (n->type == S_IFDIR) {
		fd = openat(n->fd, ".", (flags & ~O_NOFOLLOW) | O_DIRECTORY);
	} else if (n->type == S_IFREG) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", n->fd);
		/* O_NOFOLLOW would refuse the magic link itself. */
		fd = open(p, flags & ~O_NOFOLLOW);
	} else {
		return -ELOOP;
	}
	return fd < 0 ? -errno : fd;
}

int cd_inode_reopen_noatime(struct cd_inode *n, int flags, bool *noatime)
{
	int fd = -EPERM;
	if (*noatime)
		fd = cd_inode_reopen(n, flags | O_NOATIME);
	if (fd == -EPERM) {
		/* O_NOATIME needs ownership or CAP_FOWNER; the open may also
		 * have been refused for itself (O_RDWR of an immutable file):
		 * only a success without it clears *noatime */
		fd = cd_inode_reopen(n, flags);
		if (fd >= 0)
			*noatime = false;
	}
	return fd;
}
