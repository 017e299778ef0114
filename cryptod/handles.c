/* SPDX-License-Identifier: MIT */
/*
 * Open handles (fh) and directory snapshots, shared by the normal ops
 * (ops.c) and the encrypted view (rawview.c): one table, one snapshot and
 * one READDIR. A handle holds either the shared open state of a regular
 * file (cd_file, normal ops) or a read-only lower fd (encrypted view), or,
 * for a directory, its snapshot.
 *
 * The snapshot of the normal ops shows decrypted names and hides the
 * volume's own files and undecodable entries; the encrypted view shows
 * every lower entry under its lower name. Cookies are indices + 1; the
 * snapshot is rebuilt at cookie 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptod.h"
#include "log.h"

#define HBUCKETS 4096u
static pthread_mutex_t htab_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cd_handle *htab[HBUCKETS];
static uint64_t next_fh = 1;

struct cd_handle *cd_handle_new(struct cd_inode *n)
{
	struct cd_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->n = n;
	h->fd = -1;
	pthread_mutex_init(&h->dmu, NULL);
	cd_inode_open_ref(n, 1);
	pthread_mutex_lock(&htab_mu);
	h->fh = next_fh++;
	h->next = htab[h->fh % HBUCKETS];
	htab[h->fh % HBUCKETS] = h;
	pthread_mutex_unlock(&htab_mu);
	return h;
}

/* The frontend does not release a handle while requests on it are in
 * flight (the kernel sends RELEASE after the last use), so a found handle
 * stays valid for the request without a reference count. */
struct cd_handle *cd_handle_find(uint64_t fh, uint64_t ino)
{
	pthread_mutex_lock(&htab_mu);
	struct cd_handle *h = htab[fh % HBUCKETS];
	while (h && h->fh != fh)
		h = h->next;
	pthread_mutex_unlock(&htab_mu);
	if (h && h->n->nodeid != ino)
		return NULL;
	return h;
}

struct cd_handle *cd_handle_remove(uint64_t fh, uint64_t ino)
{
	pthread_mutex_lock(&htab_mu);
	struct cd_handle **p = &htab[fh % HBUCKETS];
	while (*p && (*p)->fh != fh)
		p = &(*p)->next;
	struct cd_handle *h = *p;
	if (h && h->n->nodeid == ino)
		*p = h->next;
	else
		h = NULL;
	pthread_mutex_unlock(&htab_mu);
	return h;
}

static void snap_free(struct cd_handle *h)
{
	for (size_t i = 0; i < h->nents; i++) {
		free(h->ents[i].name);
		free(h->ents[i].lname);
	}
	free(h->ents);
	h->ents = NULL;
	h->nents = 0;
}

void cd_handle_free(struct cd_worker *w, struct cd_handle *h)
{
	if (h->f)
		cd_file_put(w, h->n, h->f);
	if (h->fd >= 0)
		close(h->fd);
	snap_free(h);
	pthread_mutex_destroy(&h->dmu);
	cd_inode_open_ref(h->n, -1);
	free(h);
}

void cd_handles_close_all(struct cd_worker *w)
{
	for (unsigned b = 0; b < HBUCKETS; b++) {
		while (htab[b]) {
			struct cd_handle *h = htab[b];
			htab[b] = h->next;
			cd_handle_free(w, h);
		}
	}
}

int cd_op_release(struct cd_req *r)
{
	struct cd_handle *h = cd_handle_remove(r->sqe.fh, r->sqe.ino);
	if (!h)
		return -EBADF;
	cd_handle_free(r->w, h);
	return 0;
}

int cd_op_flush(struct cd_req *r)
{
	return cd_handle_find(r->sqe.fh, r->sqe.ino) ? 0 : -EBADF;
}

/* The name lower entry lname of n is shown under (name, cap bytes):
 * its length, or < 0 to leave the entry out. */
static int snap_name(struct cd_inode *n, int dirfd, const char *lname,
		     char *name, size_t cap)
{
	if (cd.encrypted_view) {
		/* every lower entry, as it is */
		size_t len = strlen(lname);
		if (len == 0 || len >= cap)
			return -ENAMETOOLONG;
		memcpy(name, lname, len + 1);
		return (int)len;
	}
	if (cd_name_hidden(lname))
		return -ENOENT;
	int len = cd_name_from_lower(n, dirfd, lname, name, cap);
	if (len < 0)
		log_debug("readdir: skipping undecodable entry");
	return len;
}

/* Builds the directory snapshot of handle h (see the top of the file). */
static int snap_build(struct cd_handle *h)
{
	struct cd_inode *n = h->n;
	int fd = cd_inode_reopen(n, O_RDONLY);
	if (fd < 0)
		return fd;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	snap_free(h);
	size_t cap = 0;
	int rc = 0;
	struct dirent *de;
	char name[CS_NAME_MAX + 1];
	while ((errno = 0, de = readdir(d))) {
		int len;
		bool dot =
		    !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		if (dot) {
			len = (int)strlen(de->d_name);
			memcpy(name, de->d_name, (size_t)len + 1);
		} else {
			len = snap_name(n, dirfd(d), de->d_name, name,
					sizeof(name));
			if (len < 0)
				continue;
		}
		if (h->nents == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct cd_dent *ne = realloc(h->ents, nc * sizeof(*ne));
			if (!ne) {
				rc = -ENOMEM;
				break;
			}
			h->ents = ne;
			cap = nc;
		}
		struct cd_dent *e = &h->ents[h->nents];
		e->ino = de->d_ino;
		e->type = de->d_type;
		e->namelen = (uint32_t)len;
		e->name = malloc((size_t)len + 1);
		e->lname = strdup(dot ? "" : de->d_name);
		if (!e->name || !e->lname) {
			free(e->name);
			free(e->lname);
			rc = -ENOMEM;
			break;
		}
		memcpy(e->name, name, (size_t)len);
		e->name[len] = 0;
		h->nents++;
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

uint32_t cd_dirent_len(uint32_t namelen, bool plus)
{
	uint32_t nl = (namelen + 7u) & ~7u;
	return (uint32_t)sizeof(struct cs_dirent) + nl +
	       (plus ? (uint32_t)sizeof(struct cs_entry) : 0);
}

uint32_t cd_dirent_put(uint8_t *b, const struct cs_dirent *de, const char *name,
		       struct cs_entry *ent)
{
	uint32_t nl = (de->namelen + 7u) & ~7u;
	memcpy(b, de, sizeof(*de));
	memcpy(b + sizeof(*de), name, de->namelen);
	memset(b + sizeof(*de) + de->namelen, 0, nl - de->namelen);
	if (ent) {
		if (!ent->nodeid)
			ent->attr.ino = de->ino;
		memcpy(b + sizeof(*de) + nl, ent, sizeof(*ent));
	}
	return cd_dirent_len(de->namelen, ent != NULL);
}

int cd_op_readdir(struct cd_req *r)
{
	struct cd_handle *h = cd_handle_find(r->sqe.fh, r->sqe.ino);
	bool plus = r->sqe.op == CS_OP_READDIRPLUS;
	int rc = 0;
	if (!h || h->n->type != S_IFDIR)
		return -EBADF;
	pthread_mutex_lock(&h->dmu);
	if (r->sqe.off == 0 || !h->ents) {
		rc = snap_build(h);
		if (rc < 0)
			goto out;
	}
	uint32_t cap = r->sqe.len < r->slot_size ? r->sqe.len : r->slot_size;
	uint8_t *b = cd_reply_buf(r, cap);
	uint32_t used = 0;
	for (uint64_t i = r->sqe.off; i < h->nents; i++) {
		struct cd_dent *e = &h->ents[i];
		if (cd_dirent_len(e->namelen, plus) > cap - used)
			break;
		struct cs_dirent de = {.ino = e->ino,
				       .off = i + 1,
				       .type = e->type,
				       .namelen = e->namelen};
		struct cs_entry ent;
		memset(&ent, 0, sizeof(ent));
		/* . and .. get no entry (no lookup count) */
		if (plus && e->lname[0] &&
		    cd_lookup_entry(r, h->n, e->lname, &ent) < 0)
			memset(&ent, 0, sizeof(ent));
		used +=
		    cd_dirent_put(b + used, &de, e->name, plus ? &ent : NULL);
	}
	r->cqe.data_len = used;
out:
	pthread_mutex_unlock(&h->dmu);
	return rc;
}
