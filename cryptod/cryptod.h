/* SPDX-License-Identifier: MIT */
/*
 * cryptod internals: the process-wide context, the inode table, open files,
 * workers and the op dispatch table. Nothing here is protocol; the contract
 * with the frontend is proto/wire.h.
 *
 * Locking order (outer first): cd_itab.lock (table) -> cd_inode.lock ->
 * cd_file.lock; the keyd mutex is a leaf. Range locks (cd_rlock) are taken
 * before cd_file.lock and never while holding cd_itab.lock.
 */
#ifndef CS_CRYPTOD_H
#define CS_CRYPTOD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "wire.h"

struct ring_region;
struct io_uring;
struct cd_worker;
struct fmt_header;
struct cipher_key;

#define CD_ROOT_ID   1ull
#define CD_DIRID_LEN 16u

/* Per-file range lock: concurrent holders of disjoint ranges proceed, any
 * two overlapping holders of which one is exclusive wait for each other. */
struct cd_range {
	uint64_t start, end; /* [start, end) in extents */
	bool excl;
	struct cd_range *next;
};
struct cd_rlock {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cd_range *held;
};

/* Open state of a regular file, shared by every fh of its inode. Holds the
 * extent key derived from the FEK (cscipher, locked memory; the FEK itself
 * is wiped right after derivation) and the parsed header; freed (key
 * wiped) on last release. */
struct cd_file {
	pthread_mutex_t lock; /* size, header, refs */
	struct cd_rlock rl;
	unsigned refs; /* open fhs */
	int fd;	       /* data fd: O_DIRECT if direct, else == fd_buf */
	int fd_buf;    /* buffered fd: header, size slots, records */
	bool direct;
	bool plain;		/* --passthrough: foreign file, no crypto */
	ino_t ino;		/* lower inode number, for log lines */
	uint64_t size;		/* plaintext size (authoritative while open) */
	bool dirty;		/* FMT_SZ_DIRTY set on disk by us */
	bool writable;		/* fd is O_RDWR */
	int wr_err;		/* why not (-EACCES, -EROFS, ...) */
	struct fmt_header *hdr; /* parsed header (size slots current) */
	struct cipher_key *key; /* extent key derived from the FEK */
	/* Records seal (FORMAT.md): CD_SEAL_OK, or CD_SEAL_PENDING until
	 * the first content op verifies it (stat needs no records), or
	 * CD_SEAL_BAD (every content op: EIO). Written under lock, read
	 * atomically. */
	int seal_state;
	/* atime (cd_file_accessed): the lower fds are O_NOATIME (noatime),
	 * so a look at the header moves no atime; atime_at is the coarse
	 * monotonic second of the last READ's relatime check, 0 = due
	 * (reset by every change of the file). Atomic. */
	bool noatime;
	int64_t atime_at;
};
enum { CD_SEAL_OK = 0, CD_SEAL_PENDING, CD_SEAL_BAD };

struct cd_inode {
	uint64_t nodeid; /* FUSE node id, never reused in a mount */
	dev_t dev;	 /* lower identity */
	ino_t ino;
	mode_t type;	  /* S_IFMT bits */
	int fd;		  /* O_PATH fd of the lower object */
	uint64_t nlookup; /* kernel references (LOOKUP +1, FORGET -n) */
	unsigned opens;	  /* fhs referencing this inode (file or dir) */
	pthread_mutex_t lock;
	bool have_dirid;
	uint8_t dirid[CD_DIRID_LEN];
	struct cd_file *file; /* open state or NULL (under lock) */
	/* Plaintext size of a closed file, valid while the lower file's
	 * (size, mtime, ctime) are unchanged (under lock). */
	bool szc_valid;
	uint64_t szc_size;
	int64_t szc_lsize;
	struct timespec szc_mtime, szc_ctime;
	/* The records seal of the closed file was verified or written by
	 * this mount while the lower file had this (size, mtime, ctime):
	 * the next open with the same stat skips the records digest (under
	 * lock). */
	bool seal_valid;
	int64_t seal_lsize;
	struct timespec seal_mtime, seal_ctime;
	/* Regular files: the name binding tag (FMT_RF_NAME_BIND) of the
	 * lower name this node was last looked up, created or renamed by
	 * (under lock); its header must be bound to it or unbound. */
	bool bind_known;
	uint8_t bind_tag[12];
	struct cd_inode *hnext_id, *hnext_key;
};

/* Process-wide state; immutable after setup except where noted. */
struct cd_ctx {
	int lower_fd; /* lower root directory (O_RDONLY|O_DIRECTORY) */
	int keyd_fd;
	int peer_fd;
	unsigned nworkers;
	bool passthrough;
	bool encrypted_view; /* --encrypted-view: raw read-only (rawview.c) */
	bool plain_names;
	int cipher_alg; /* enum cipher_alg for new files */
	struct ring_region *region;
	void *names_key; /* locked memory, KD_NAMES_KEY_LEN bytes */
	pthread_mutex_t keyd_mu;
	uint32_t keyd_seq; /* under keyd_mu */
	uint64_t lower_namemax;
	/* The lower file system keeps every page in memory anyway (tmpfs,
	 * ramfs): no O_DIRECT data fd, whose only effect there would be a
	 * second open and close per file. */
	bool lower_in_memory;
	struct cd_worker *workers;
};

extern struct cd_ctx cd;

/* A request being served by a worker: private copy of the sqe, the slot,
 * and the completion under construction. */
struct cd_req {
	struct cd_worker *w;
	struct cs_sqe sqe;
	uint8_t *slot; /* shared slot base (write-only except payload) */
	uint32_t slot_size;
	const uint8_t *arg; /* private copy of the argument block */
	uint32_t arg_len;
	struct cs_cqe cqe;
};

struct cd_worker {
	unsigned idx;
	pthread_t thr;
	struct io_uring *uring;
	void *cipher;	/* cipher_thread context */
	uint8_t *ctbuf; /* registered ciphertext buffer */
	size_t ctbuf_len;
	uint8_t *argbuf;  /* private copy of the current argument block */
	uint8_t *pt;	  /* private plaintext of partial extents (8 KiB) */
	uint8_t *secret;  /* locked scratch page for a FEK */
	/* The FEK of the file this request just created (in secret at
	 * CD_FRESH_OFF) and the header block written with it: the next
	 * open of that header takes the FEK from here instead of a keyd
	 * unwrap. Valid only within one request (serve() wipes it). */
	uint8_t *fresh_hdr;
	struct cipher_key *fresh_key; /* its file key, taken by the open */
	bool fresh_valid;
	uint8_t *rbuf;	  /* recovery scratch (1 MiB), on first use */
	bool hangup;	  /* peer fd hung up: leave */
	bool poll_armed;  /* peer-fd poll sqe outstanding */
	bool futex_armed; /* doorbell FUTEX_WAIT outstanding */
	bool have_files;  /* sparse registered file table exists */
};

#define CD_FRESH_OFF 2048
#define CD_UD_POLL   1ull
#define CD_UD_FUTEX  2ull
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* --- inode table (inode.c) --------------------------------------------- */
/* Sets up the table with the root node for cd.lower_fd; 0 or -errno. */
int cd_itab_init(void);
/* Returns a referenced-for-use node by FUSE id (no nlookup change) or NULL;
 * release with cd_inode_put(). */
struct cd_inode *cd_inode_get(uint64_t nodeid);
void cd_inode_put(struct cd_inode *n);
/* The node of lower inode (dev, ino) if one exists, with a use reference
 * (cd_inode_put()), or NULL; no lookup count change. */
struct cd_inode *cd_inode_find(dev_t dev, ino_t ino);
/* Adds delta to the node's open-handle count (frees it at zero refs). */
void cd_inode_open_ref(struct cd_inode *n, int delta);
/* Finds or creates the node for the lower object opened as O_PATH fd `fd`
 * (ownership of fd passes in), adds one lookup; returns it (with a use
 * reference, cd_inode_put()) or NULL with errno-style *err. */
struct cd_inode *cd_inode_lookup_fd(int fd, const struct stat *st, int *err);
/* Drops n lookups of nodeid; frees unreferenced nodes. */
void cd_inode_forget(uint64_t nodeid, uint64_t n);
/* Opens the node's lower object with flags (regular files through
 * /proc/self/fd, directories relative to their O_PATH fd); fd or -errno. */
int cd_inode_reopen(struct cd_inode *n, int flags);
/* As cd_inode_reopen() with O_NOATIME while *noatime; an EPERM for it (a
 * file cryptod neither owns nor has CAP_FOWNER for) opens without and
 * clears *noatime. fd or -errno. */
int cd_inode_reopen_noatime(struct cd_inode *n, int flags, bool *noatime);
/* The node's directory id (reads the dir id file once); 0 or -errno. */
int cd_inode_dirid(struct cd_inode *n, uint8_t out[static CD_DIRID_LEN]);

/* --- keyd client (keys.c) ---------------------------------------------- */
/* Version handshake and names key fetch; 0 or -errno. */
int cd_keyd_init(void);
/* Wraps fek under every FEKEK of the context, bound to ad; returns the
 * packet count (1..KD_MAX_KEYS) or -errno. */
int cd_keyd_wrap(const uint8_t *fek, const uint8_t *ad, uint32_t ad_len,
		 void *pkts, unsigned max);
/* Unwraps one packet; 0, -ENOKEY, -EBADMSG or -errno; fek zero on error. */
int cd_keyd_unwrap(const void *pkt, const uint8_t *ad, uint32_t ad_len,
		   uint8_t *fek);
/* A new file's header: random file id, cd.cipher_alg, req_flags, packets
 * of a fresh random FEK wrapped under every FEKEK of the context (bound to
 * that header), from a pool refilled by one keyd exchange per KD_BATCH_MAX
 * files; the FEK (KD_FEK_LEN bytes) goes to fek (locked memory: the
 * caller wipes it). 0 or -errno (fek zeroed). */
int cd_fresh_header(struct fmt_header *h, uint32_t req_flags, uint8_t *fek);
/* Starts the thread that refills that pool in the background when half of
 * it is used (a create then seldom waits for keyd); 0 or -errno. */
int cd_keyd_start_refill(void);

/* --- lower I/O (uring.c) ----------------------------------------------- */
enum { CD_IO_READ, CD_IO_WRITE, CD_IO_FSYNC, CD_IO_FDATASYNC };
#define CD_IO_MAX_ONE (64u << 20)
struct cd_io {
	int op;
	int fd;
	void *buf;
	size_t len;
	uint64_t off;
	size_t done; /* bytes transferred */
	int res;     /* bytes or -errno */
};
/* Submits n lower operations at once and waits for all of them (short
 * transfers are continued; a read stops at EOF). Returns 0 or the first
 * error; each io's res/done say what happened. */
int cd_io_batch(struct cd_worker *w, struct cd_io *ios, unsigned n);
/* True when lower I/O bypasses io_uring (plain syscalls: tmpfs/ramfs,
 * where io_uring would punt every buffered transfer to a kernel thread). */
bool cd_io_sync(void);
/* Makes every lower I/O a plain syscall from now on (io_uring refused by
 * a seccomp profile or kernel.io_uring_disabled; worker.c). */
void cd_io_force_sync(void);
/* Submits what is queued and waits for one completion of the idle wait
 * (doorbell futex or peer poll); 0 or -errno. */
int cd_uring_wait_special(struct cd_worker *w);
/* Reads or writes exactly len bytes at off through the worker's io_uring;
 * buf inside ctbuf uses the registered buffer. Returns bytes (read may be
 * short at EOF) or -errno. */
ssize_t cd_io_read(struct cd_worker *w, int fd, void *buf, size_t len,
		   uint64_t off);
int cd_io_write(struct cd_worker *w, int fd, const void *buf, size_t len,
		uint64_t off);
int cd_io_fsync(struct cd_worker *w, int fd, bool datasync);

/* --- workers (worker.c) ------------------------------------------------ */
/* Creates each worker's io_uring, registered buffer and cipher context. */
int cd_workers_setup(void);
/* Starts the worker threads; 0 or -errno. */
int cd_workers_start(void);
/* Waits until every worker has left (peer hang-up). */
void cd_workers_join(void);

/* Registered files: slot = fd number, for fds below CD_FIXED_MAX. An open
 * lower file is registered in every worker's table after open and removed
 * before close; cd_fixed[fd] says whether fd may be used as fixed. */
#define CD_FIXED_MAX 16384u
extern bool cd_fixed[CD_FIXED_MAX];
void cd_files_register(int fd);
void cd_files_unregister(int fd);

/* --- volume (volume.c) ------------------------------------------------- */
/* Reads the volume config through cd.lower_fd; 0 or -errno. */
int cd_volume_load(void);

/* --- names (names.c) -------------------------------------------------- */
#define CD_FULLNAME_MAX 512u
/* A plaintext name's lower form in one directory. */
struct cd_lname {
	char name[256]; /* lower directory entry, NUL-terminated */
	size_t len;
	bool is_long; /* name is a hash; full form in a side file */
	char full[CD_FULLNAME_MAX]; /* full encoded name (is_long only) */
	size_t full_len;
};
/* Checks a plaintext name (1..255 bytes, no '/', no NUL, not . or ..) and
 * computes its lower form for directory dir; 0, -EINVAL, -ENAMETOOLONG. */
int cd_name_to_lower(struct cd_inode *dir, const char *name, size_t len,
		     struct cd_lname *out);
/* Decodes a lower directory entry of dir (dirfd: readable fd of it) into
 * out; returns the plaintext length, or -errno when the entry is not one
 * of ours (caller skips it). */
int cd_name_from_lower(struct cd_inode *dir, int dirfd, const char *lname,
		       char *out, size_t cap);
/* 1 if a lower entry is the volume's own (config, dir id, long-name side
 * file) and is hidden from listings, else 0. */
int cd_name_hidden(const char *lname);
/* Writes the side file of a long name (O_EXCL); *created says whether this
 * call created it. 0 or -errno. */
int cd_longname_store(int dirfd, const struct cd_lname *ln, bool *created);
/* Removes the side file of a long name (errors ignored). */
void cd_longname_remove(int dirfd, const struct cd_lname *ln);
/* Creates the dir id file in a new lower directory; 0 or -errno. */
int cd_dirid_create(int dirfd);
/* Removes the dir id file (before rmdir); stores its bytes in saved so a
 * failed rmdir can restore it with cd_dirid_restore(). */
int cd_dirid_remove(int dirfd, uint8_t saved[static CD_DIRID_LEN]);
int cd_dirid_restore(int dirfd, const uint8_t saved[static CD_DIRID_LEN]);
/* The name binding tag (FORMAT.md "Name binding") of lower name lname in
 * directory dir into tag (12 bytes); 0 or -errno (no dir id). */
int cd_bind_tag(struct cd_inode *dir, const char *lname, uint8_t *tag);
/* Records tag as the name binding regular-file node n answers to. */
void cd_inode_bind(struct cd_inode *n, const uint8_t *tag);
/* Symlink targets: encrypt to a lower target string / decrypt one; return
 * the output length or -errno. */
int cd_target_enc(const char *t, size_t len, char *out, size_t cap);
int cd_target_dec(const char *t, size_t len, char *out, size_t cap);
/* xattrs: "user.X" <-> lower name; value <-> lower value. Return lengths or
 * -errno (-EOPNOTSUPP for a namespace other than user.). */
int cd_xname_enc(const char *name, size_t len, char *out, size_t cap);
int cd_xname_dec(const char *lname, size_t len, char *out, size_t cap);
int cd_xval_enc(const char *uname, size_t ulen, const uint8_t *v, size_t len,
		uint8_t *out, size_t cap);
int cd_xval_dec(const char *uname, size_t ulen, const uint8_t *v, size_t len,
		uint8_t *out, size_t cap);
/* Opens a volume metadata file (config, dir id, side file) read-only,
 * non-blocking, regular files only; fd, -EIO or -errno. */
int cd_open_meta(int dirfd, const char *name);
/* Plaintext limit of names (statfs namemax). */
uint64_t cd_name_max(void);
/* Replies to STATFS from the lower filesystem, with namemax and extra
 * ST_* flags; 0 or -errno. */
int cd_statfs_reply(struct cd_req *r, uint64_t namemax, uint64_t flags);

/* --- file contents (fileio.c) ------------------------------------------ */
/* Allocates the worker's private plaintext and locked key scratch. */
int cd_worker_scratch(struct cd_worker *w);
/* Returns the node's open state, creating it on first use (opens the lower
 * file, reads the header, unwraps the FEK through keyd); takes a ref.
 * -EACCES when no key of the context unwraps it, -EIO for a bad header. */
int cd_file_get(struct cd_worker *w, struct cd_inode *n, struct cd_file **out);
/* As cd_file_get, but a first open takes fd (an O_RDWR fd of n's lower
 * inode, e.g. the one that just created it) instead of reopening the
 * inode: no second open. fd is consumed (closed where not taken). */
int cd_file_get_fd(struct cd_worker *w, struct cd_inode *n, int fd,
		   struct cd_file **out);
/* Verifies the records seal of a sealed clean file if not done yet (every
 * content op does it first; open calls it to fail early). 0 or -EIO (an
 * extent rolled back or replaced: logged once) or -errno. */
int cd_file_verify(struct cd_worker *w, struct cd_file *f);
/* Drops a ref; the last one seals the records and clears the dirty mark,
 * wipes the FEK and closes the lower fds. */
void cd_file_put(struct cd_worker *w, struct cd_inode *n, struct cd_file *f);
/* Writes a fresh header (random FEK, wrapped by keyd) into an empty lower
 * file fd, bound to the name whose binding tag (12 bytes) is tag (NULL:
 * unbound); 0 or -errno. */
int cd_file_init_new(struct cd_worker *w, int fd, const uint8_t *tag);
/* Rewrites the current size slot into the other one with binding tag
 * (12 bytes; zeros: unbound), waiting for the write (rename: before and
 * after the lower renameat; link: unbind first). 0 if the file has no
 * name binding, or -errno. */
int cd_file_rebind(struct cd_worker *w, struct cd_file *f, const uint8_t *tag);
/* As cd_file_rebind() with f->lock already held by the caller (a rename
 * holds it from its first slot write through the lower renameat, so no
 * size commit in between copies the new name into the older slot). */
int cd_file_rebind_locked(struct cd_worker *w, struct cd_file *f,
			  const uint8_t *tag);
/* Wipes the FEK cd_file_init_new() left for this request's own open. */
void cd_fresh_clear(struct cd_worker *w);
/* Drops the process-wide cached plaintext size of lower inode (dev, ino);
 * call before a name of it goes away (its number may be reused). */
void cd_size_forget(dev_t dev, ino_t ino);
/* cd_size_forget() for the regular file at lname in dirfd, if any. */
void cd_size_forget_name(int dirfd, const char *lname);
/* After cryptod itself changed only the metadata of a closed regular file
 * (times, mode, owner, links, name), whose lower stat was `before` and is
 * now `after`: moves the cached plaintext size to the new stat, so the
 * next stat() costs no keyd unwrap. Does nothing if the lower size
 * changed or the cache did not match `before`. */
void cd_size_rekey(const struct stat *before, const struct stat *after);
/* Plaintext size of a regular file that may not be open. */
int cd_file_size(struct cd_worker *w, struct cd_inode *n, const struct stat *st,
		 uint64_t *size);
/* After a READ of open file f through the mount: moves the
 * lower atime as a read on the lower file system would, checked at most
 * once per open file until it changes or for 24 h; no syscall when not
 * due. */
void cd_file_accessed(struct cd_file *f);
/* The open file of n, if any, gets its atime check due again (a change
 * of its times, mode or owner). */
void cd_file_atime_due(struct cd_inode *n);
/* Reads up to len plaintext bytes at off into dst (cap bytes of room);
 * the data starts at dst + *data_off. Returns bytes or -errno. */
ssize_t cd_file_read(struct cd_worker *w, struct cd_file *f, uint8_t *dst,
		     size_t cap, size_t len, uint64_t off, uint32_t *data_off);
/* Writes len bytes at off from src; bytes or -errno. */
ssize_t cd_file_write(struct cd_worker *w, struct cd_file *f,
		      const uint8_t *src, size_t len, uint64_t off);
int cd_file_truncate(struct cd_worker *w, struct cd_file *f, uint64_t size);
int cd_file_fallocate(struct cd_worker *w, struct cd_file *f, uint32_t mode,
		      uint64_t off, uint64_t len);
/* SEEK_DATA / SEEK_HOLE; the new offset or -errno (-ENXIO past data). */
int64_t cd_file_lseek(struct cd_worker *w, struct cd_file *f, uint64_t off,
		      int whence);

/* --- ops (ops_*.c) ----------------------------------------------------- */
typedef int (*cd_op_fn)(struct cd_req *r);
struct cd_op {
	cd_op_fn fn;
	const char *name;
};
/* Serves one validated request; fills r->cqe. */
void cd_dispatch(struct cd_req *r);
/* Ops the encrypted view serves as the normal ops do (ops.c); they show
 * lower names and attributes as they are when cd.encrypted_view is set. */
int cd_op_lookup(struct cd_req *r);
int cd_op_getattr(struct cd_req *r);
int cd_op_readlink(struct cd_req *r);
int cd_op_open(struct cd_req *r);
int cd_op_listxattr(struct cd_req *r);
int cd_op_lseek(struct cd_req *r);
/* Looks up lower entry lname in directory p: one more lookup on its node,
 * e filled (plaintext sizes, unless cd.encrypted_view); 0 or -errno. */
int cd_lookup_entry(struct cd_req *r, struct cd_inode *p, const char *lname,
		    struct cs_entry *e);
/* Finishes GETXATTR/LISTXATTR whose value (len bytes) is at the reply
 * start: the size alone for a size query (sqe.len 0), else the value;
 * 0 or -ERANGE. */
int cd_xattr_reply(struct cd_req *r, uint64_t len);

/* --- handles and directory snapshots (handles.c) ----------------------- */
/* One entry of a directory snapshot. */
struct cd_dent {
	uint64_t ino;
	uint32_t type;
	uint32_t namelen;
	char *name;  /* as listed: plaintext (lower name: encrypted view) */
	char *lname; /* lower name ("" for . and ..) */
};
/* An open file or directory (FUSE fh); holds an open ref on n. */
struct cd_handle {
	uint64_t fh;
	struct cd_inode *n;
	struct cd_file *f;   /* regular file (normal ops) or NULL */
	int fd;		     /* regular file (encrypted view): lower fd; -1 */
	bool noatime;	     /* opened O_NOATIME (or on a ro mount) */
	pthread_mutex_t dmu; /* directory snapshot */
	struct cd_dent *ents;
	size_t nents;
	struct cd_handle *next;
};
/* A new handle on n (fd -1, no file), in the table; NULL on ENOMEM. */
struct cd_handle *cd_handle_new(struct cd_inode *n);
/* The handle fh of node ino, or NULL (absent or another node's). */
struct cd_handle *cd_handle_find(uint64_t fh, uint64_t ino);
/* Takes handle fh of node ino out of the table; it or NULL. */
struct cd_handle *cd_handle_remove(uint64_t fh, uint64_t ino);
/* Frees a handle that is in no table: puts its file (w's resources),
 * closes its fd, frees its snapshot, drops its open ref. */
void cd_handle_free(struct cd_worker *w, struct cd_handle *h);
/* At exit, with the workers stopped: releases every handle still open
 * (clean close of the files) using worker w's resources. */
void cd_handles_close_all(struct cd_worker *w);
/* RELEASE/RELEASEDIR; FLUSH (the handle exists: 0, else -EBADF);
 * READDIR/READDIRPLUS from the handle's snapshot. */
int cd_op_release(struct cd_req *r);
int cd_op_flush(struct cd_req *r);
int cd_op_readdir(struct cd_req *r);
/* Size of one directory record (cs_dirent, name padded to 8, cs_entry for
 * READDIRPLUS). */
uint32_t cd_dirent_len(uint32_t namelen, bool plus);
/* Writes one record at b (the caller checked cd_dirent_len fits): de, name
 * (de->namelen bytes), and *ent when non-NULL (its attr.ino defaults to
 * de->ino when it carries no node). Returns the record's length. */
uint32_t cd_dirent_put(uint8_t *b, const struct cs_dirent *de,
		       const char *name, struct cs_entry *ent);

/* --encrypted-view (rawview.c): the op table serving the lower tree raw
 * and read-only. */
extern const struct cd_op cd_rawview_ops[CS_OP__MAX];
/* A name from a request is the lower name itself: checks it (1..255
 * bytes, no '/', no NUL, not . or ..) into out; 0 or -errno. */
int cd_rawview_name(const char *name, size_t len, struct cd_lname *out);
/* OPEN/OPENDIR of h: EROFS for any access but reading; a regular file
 * gets a read-only lower fd. 0 or -errno. */
int cd_rawview_open(struct cd_handle *h, uint32_t flags);
/* A lower xattr name as listed (user.* only, others skipped: -ENODATA);
 * the signature of cd_xname_dec(). */
int cd_rawview_xname(const char *lname, size_t len, char *out, size_t cap);

/* Reply helpers: reserve len bytes of reply space in the slot (after the
 * argument block is consumed, replies start at offset 0); pointer or NULL
 * when the slot is too small. */
void *cd_reply_buf(struct cd_req *r, uint32_t len);

#endif
