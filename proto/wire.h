/* SPDX-License-Identifier: MIT */
/*
 * The contract between frontend and cryptod: ring descriptors, filesystem
 * opcodes and the argument/reply blocks carried in data slots.
 *
 * Every request owns one data slot of the shared slab from submission until
 * the frontend has replied to the kernel (FORGET excepted: no slot, no
 * completion). Arguments live in the slot at [arg_off, arg_off + arg_len);
 * cryptod copies them to private memory once, validates the copy, and never
 * reads the shared bytes again. Replies are written to the same slot at
 * [data_off, data_off + data_len) of the completion.
 *
 * All integers are native-endian (both peers run on one host). Names are
 * not NUL-terminated; their lengths are explicit.
 */
#ifndef CS_PROTO_WIRE_H
#define CS_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define CS_PROTO_VERSION 1u

/* Room in front of the data in each slot: a FUSE WRITE request is received
 * straight into a slot, header first (libfuse's FUSE_BUFFER_HEADER_SIZE). */
#define CS_SLOT_HDR_ROOM 4096u
#define CS_MAX_IO (1u << 20)
#define CS_SLOT_SIZE_DEFAULT (CS_MAX_IO + CS_SLOT_HDR_ROOM)
#define CS_NO_SLOT UINT32_MAX
#define CS_NAME_MAX 255u
#define CS_SYMLINK_MAX 4095u
#define CS_XATTR_NAME_MAX 255u
#define CS_XATTR_SIZE_MAX 65536u

enum cs_op {
	CS_OP_INVALID = 0,
	CS_OP_LOOKUP,      /* ino=parent; arg: name */
	CS_OP_FORGET,      /* ino, off=nlookup; no slot, no completion */
	CS_OP_GETATTR,     /* ino, fh (if flags & CS_F_FH); reply cs_attr */
	CS_OP_SETATTR,     /* ino; arg cs_setattr_arg; reply cs_attr */
	CS_OP_READLINK,    /* ino; reply: target bytes */
	CS_OP_MKNOD,       /* ino=parent; arg cs_create_arg+name; reply cs_entry */
	CS_OP_MKDIR,       /* same as MKNOD */
	CS_OP_UNLINK,      /* ino=parent; arg: name; reply cs_unlinked */
	CS_OP_RMDIR,       /* ino=parent; arg: name */
	CS_OP_SYMLINK,     /* ino=parent; arg cs_symlink_arg+name+target */
	CS_OP_RENAME,      /* ino=parent; arg cs_rename_arg+name+newname */
	CS_OP_LINK,        /* ino=source; arg cs_link_arg+newname; cs_entry */
	CS_OP_OPEN,        /* ino; arg cs_open_arg; reply cs_open_reply */
	CS_OP_READ,        /* ino, fh, off, len; reply data at data_off */
	CS_OP_WRITE,       /* ino, fh, off, len; data at arg_off; res=written;
			    * val: CS_WRITE_MODE_CHANGED or 0 */
	CS_OP_FLUSH,       /* ino, fh */
	CS_OP_RELEASE,     /* ino, fh; reply: cs_attr of ino after the close
			    * (optional, data_len says) */
	CS_OP_FSYNC,       /* ino, fh; flags & CS_F_DATASYNC */
	CS_OP_OPENDIR,     /* ino; reply cs_open_reply */
	CS_OP_READDIR,     /* ino, fh, off=cookie, len=max bytes; cs_dirent* */
	CS_OP_READDIRPLUS, /* same, each cs_dirent followed by cs_entry */
	CS_OP_RELEASEDIR,  /* ino, fh */
	CS_OP_FSYNCDIR,    /* ino, fh; flags & CS_F_DATASYNC */
	CS_OP_STATFS,      /* ino; reply cs_statfs */
	CS_OP_SETXATTR,    /* ino; arg cs_xattr_arg+name+value */
	CS_OP_GETXATTR,    /* ino, len=size; arg name; reply value, val=size */
	CS_OP_LISTXATTR,   /* ino, len=size; reply names, val=size */
	CS_OP_REMOVEXATTR, /* ino; arg: name */
	CS_OP_CREATE,      /* ino=parent; arg cs_create_arg+name;
			    * reply cs_entry then cs_open_reply */
	CS_OP_FALLOCATE,   /* ino, fh; arg cs_fallocate_arg */
	CS_OP_LSEEK,       /* ino, fh, off; arg cs_lseek_arg; val=new offset */
	CS_OP__MAX
};

/* sqe.flags */
#define CS_F_FH 0x0001u       /* fh is valid */
#define CS_F_DATASYNC 0x0002u /* fsync: data only */
/* WRITE: the kernel owns c/mtime (FUSE writeback cache) and sends them in
 * SETATTR; the lower write must not move the file's mtime (a SETATTR that
 * set it may have come before this write-back). */
#define CS_F_KEEP_MTIME 0x0004u
/* WRITE, CREATE (O_TRUNC of an existing file), OPEN: the kernel asked the
 * file system to clear the file's S_ISUID, and S_ISGID when S_IXGRP is set
 * (FUSE_HANDLE_KILLPRIV_V2: the caller lacks CAP_FSETID), in the same
 * operation. */
#define CS_F_KILL_SUIDGID 0x0008u
/* Every flag above: ring_sqe_check() refuses others. */
#define CS_F_ALL (CS_F_FH | CS_F_DATASYNC | CS_F_KEEP_MTIME | CS_F_KILL_SUIDGID)
/* WRITE's cqe.val: CS_F_KILL_SUIDGID cleared a bit, the mode changed. */
#define CS_WRITE_MODE_CHANGED 1u

/* A submission: 64 bytes, no pointers. */
struct cs_sqe {
	uint64_t id;      /* frontend's request id, echoed in the cqe */
	uint64_t ino;     /* FUSE node id (parent for name ops) */
	uint64_t fh;      /* file handle from OPEN/CREATE/OPENDIR */
	uint64_t off;     /* file offset, dir cookie, or FORGET count */
	uint32_t len;     /* READ/WRITE byte count, size for xattr ops */
	uint32_t slot;    /* data slot index, CS_NO_SLOT for FORGET */
	uint32_t arg_off; /* argument block (WRITE: payload) in the slot */
	uint32_t arg_len;
	uint32_t uid;     /* caller's credentials */
	uint32_t gid;
	uint32_t pid;
	uint16_t op;      /* enum cs_op */
	uint16_t flags;   /* CS_F_* */
};
_Static_assert(sizeof(struct cs_sqe) == 64, "cs_sqe size");
_Static_assert(offsetof(struct cs_sqe, off) == 24, "cs_sqe.off");
_Static_assert(offsetof(struct cs_sqe, slot) == 36, "cs_sqe.slot");
_Static_assert(offsetof(struct cs_sqe, op) == 60, "cs_sqe.op");

/* A completion: 32 bytes. */
struct cs_cqe {
	uint64_t id;       /* the sqe's id */
	int32_t res;       /* >= 0 success (byte count for READ/WRITE), -errno */
	uint32_t slot;     /* the sqe's slot, returned to the frontend */
	uint32_t data_off; /* reply block in the slot */
	uint32_t data_len;
	uint64_t val;      /* LSEEK offset, xattr size */
};
_Static_assert(sizeof(struct cs_cqe) == 32, "cs_cqe size");
_Static_assert(offsetof(struct cs_cqe, val) == 24, "cs_cqe.val");

/* Attributes as reported to the kernel: sizes are plaintext sizes. */
struct cs_attr {
	uint64_t ino;
	uint64_t size;
	uint64_t blocks; /* 512-byte units of the lower file */
	int64_t atime;
	int64_t mtime;
	int64_t ctime;
	uint32_t atime_nsec;
	uint32_t mtime_nsec;
	uint32_t ctime_nsec;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint32_t rdev;
	uint32_t blksize;
	uint32_t pad;
};
_Static_assert(sizeof(struct cs_attr) == 88, "cs_attr size");

struct cs_entry {
	uint64_t nodeid;
	uint64_t generation;
	struct cs_attr attr;
};
_Static_assert(sizeof(struct cs_entry) == 104, "cs_entry size");

/* UNLINK's reply: the removed entry's node (0: none known) and its
 * attributes after the unlink (nlink 0 when that was its last name). */
struct cs_unlinked {
	uint64_t nodeid;
	struct cs_attr attr;
};
_Static_assert(sizeof(struct cs_unlinked) == 96, "cs_unlinked size");

/* The parent's attributes after a change of its entries: CREATE, MKNOD,
 * MKDIR, SYMLINK, UNLINK and RMDIR replies may end with the parent
 * directory's cs_attr (sqe.ino), taken right after the change, past the
 * reply block above (data_len says whether it is there). The frontend
 * answers the kernel's next GETATTR of that directory with it. */
#define CS_PARENT_ATTR_OPS                                                   \
	((1u << CS_OP_CREATE) | (1u << CS_OP_MKNOD) | (1u << CS_OP_MKDIR) |  \
	 (1u << CS_OP_SYMLINK) | (1u << CS_OP_UNLINK) | (1u << CS_OP_RMDIR))

/* MKNOD, MKDIR, CREATE; followed by namelen bytes of name. */
struct cs_create_arg {
	uint32_t mode;
	uint32_t umask;
	uint32_t rdev;
	uint32_t flags; /* CREATE: open flags */
	uint32_t namelen;
	uint32_t pad;
};
_Static_assert(sizeof(struct cs_create_arg) == 24, "cs_create_arg size");

/* Followed by name then target. */
struct cs_symlink_arg {
	uint32_t namelen;
	uint32_t targetlen;
};

/* Followed by name then newname. flags: RENAME_NOREPLACE, RENAME_EXCHANGE. */
struct cs_rename_arg {
	uint64_t newparent;
	uint32_t flags;
	uint32_t namelen;
	uint32_t newnamelen;
	uint32_t pad;
};
_Static_assert(sizeof(struct cs_rename_arg) == 24, "cs_rename_arg size");

/* Followed by newname. */
struct cs_link_arg {
	uint64_t newparent;
	uint32_t namelen;
	uint32_t pad;
};

/* valid: FUSE_SET_ATTR_* bits from fuse_lowlevel.h (same values), and
 * CS_SA_KILL_SUIDGID: clear S_ISUID, and S_ISGID when S_IXGRP is set, as
 * part of this change (the kernel's FATTR_KILL_SUIDGID: a truncate by a
 * caller without CAP_FSETID, a chown of a non-directory). */
#define CS_SA_KILL_SUIDGID (1u << 11)
struct cs_setattr_arg {
	uint32_t valid;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	int64_t atime;
	int64_t mtime;
	uint32_t atime_nsec;
	uint32_t mtime_nsec;
};
_Static_assert(sizeof(struct cs_setattr_arg) == 48, "cs_setattr_arg size");

struct cs_open_arg {
	uint32_t flags; /* open(2) flags */
	uint32_t pad;
};

/* open_flags: CS_OPEN_* */
#define CS_OPEN_KEEP_CACHE 0x1u
#define CS_OPEN_DIRECT_IO 0x2u
struct cs_open_reply {
	uint64_t fh;
	uint32_t open_flags;
	uint32_t pad;
};

/* Directory listing: records packed back to back, each 8-byte aligned:
 * cs_dirent, name (namelen bytes, padded to 8), and for READDIRPLUS a
 * cs_entry right after the padded name. off is the cookie of the NEXT
 * entry (as FUSE expects). data_len covers all records. */
struct cs_dirent {
	uint64_t ino;
	uint64_t off;
	uint32_t type; /* DT_* */
	uint32_t namelen;
};
_Static_assert(sizeof(struct cs_dirent) == 24, "cs_dirent size");

struct cs_statfs {
	uint64_t bsize;
	uint64_t frsize;
	uint64_t blocks;
	uint64_t bfree;
	uint64_t bavail;
	uint64_t files;
	uint64_t ffree;
	uint64_t favail;
	uint64_t fsid;
	uint64_t flag;
	uint64_t namemax; /* plaintext name limit */
};

/* Followed by name then value. flags: XATTR_CREATE, XATTR_REPLACE. */
struct cs_xattr_arg {
	uint32_t flags;
	uint32_t namelen;
	uint32_t valuelen;
	uint32_t pad;
};

struct cs_fallocate_arg {
	uint32_t mode; /* FALLOC_FL_* */
	uint32_t pad;
	uint64_t offset;
	uint64_t length;
};

struct cs_lseek_arg {
	uint32_t whence; /* SEEK_DATA, SEEK_HOLE, SEEK_SET, SEEK_CUR, SEEK_END */
	uint32_t pad;
};

#endif
