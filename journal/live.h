/* live: the writable tree of a `--rw` mount — a base snapshot plus the changes made since,
 * kept in memory and in the journal (jlog.h). No libfuse here: fs/rw_ops.c is thin glue over
 * these calls, and the unit tests drive them directly.
 *
 * Nodes. Every file, directory, symlink or device the tree shows is a node with an inode
 * number (stable while mounted) and, once the journal has mentioned it, a journal id (jid,
 * stable across remounts). A directory's entries are loaded from its base listing the first
 * time they are needed ("materialised"); an unchanged file reads its base chunks; a written
 * file reads what was written from the journal and the rest from its base chunks. Changes are
 * keyed by node, not by path: renaming a directory moves one entry, never copies its subtree.
 *
 * Every change is one journal record, appended before it takes effect; replaying the journal
 * on the same base rebuilds the same tree. fsync of anything makes every change so far durable
 * on the local disk (live_sync). A commit (commit.h) writes the changes as a snapshot and makes
 * it the tree's new base.
 *
 * Errors are negative errno values, as a local file system would return them (ENOENT,
 * EEXIST, ENOTEMPTY, ENOTDIR, EISDIR, EINVAL, ENAMETOOLONG, EXDEV, ENODATA, ERANGE, ENOSPC;
 * EIO when the store cannot be read).
 *
 * Locking: one mutex (live.lock) guards the whole tree and the journal's appends. Reading file
 * data from the store or the journal happens outside it. */
#ifndef EMBASSY_LIVE_H
#define EMBASSY_LIVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "store.h"

#define LIVE_INO_ROOT 1

struct live;

struct live_opts {
	const char *journal_dir; /* where the journal lives (created 0700) */
	const char *snapshot;	 /* base when the journal holds no changes: NULL = latest */
	uint64_t journal_max;	 /* bytes; writers wait for a commit beyond (0: default) */
	const char *host;	 /* recorded in snapshots (NULL: gethostname) */
};

#define LIVE_JOURNAL_MAX_DEFAULT (8ull << 30)

/* Open the journal (locking it) and rebuild the tree: resume the journal's pending changes on
 * their base, or start from o->snapshot. -EBUSY journal in use; -EXDEV journal of another
 * store; -EBADMSG damaged journal; -ESTALE the journal's base is not o->snapshot; store errors. */
int live_open(struct store *s, const struct live_opts *o, struct live **out);
/* The mount is gone (no more requests): a mount of the same journal starting now waits for
 * this process to finish closing instead of giving up after a fixed time (jlog_ending). */
void live_ending(struct live *l);
/* Make everything durable and free the tree. */
void live_close(struct live *l);

/* ---- names and attributes ---- */

/* Look name up in directory parent; on success the node's lookup count is raised by one. */
int live_lookup(struct live *l, uint64_t parent, const char *name, struct stat *st);
/* The kernel dropped n lookups. */
void live_forget(struct live *l, uint64_t ino, uint64_t n);
int live_getattr(struct live *l, uint64_t ino, struct stat *st);

enum {
	LIVE_SET_MODE = 1,
	LIVE_SET_UID = 2,
	LIVE_SET_GID = 4,
	LIVE_SET_SIZE = 8,
	LIVE_SET_ATIME = 16,
	LIVE_SET_MTIME = 32,
	LIVE_SET_ATIME_NOW = 64,
	LIVE_SET_MTIME_NOW = 128,
	LIVE_SET_CTIME = 256,
	/* a change of owner (or the kernel's bare "drop privileges" request): a non-directory
	 * loses its setuid bit, and its setgid bit if group-executable, unless the same call sets
	 * the mode (what the kernel's FUSE client did itself before FUSE_CAP_HANDLE_KILLPRIV) */
	LIVE_SET_KILL_SUIDGID = 512,
};
/* Change what valid names (LIVE_SET_*) from attr; *st gets the result. */
int live_setattr(struct live *l, uint64_t ino, const struct stat *attr, unsigned valid,
		 struct stat *st);
/* POSIX privilege dropping before a write or truncate by a caller without CAP_FSETID (as the
 * kernel's VFS does for a local file system): a regular file loses its setuid bit, and its
 * setgid bit if it is group-executable or the caller is not a member of its group. gid and
 * groups[0..ngroups) are the caller's groups; groups == NULL: not known yet, and -EAGAIN if
 * they are needed (the bit is set, not group-executable, gid is not the file's group).
 * 1 when bits were dropped, 0 when there was nothing to drop, or -errno. */
int live_drop_privs(struct live *l, uint64_t ino, gid_t gid, const gid_t *groups, size_t ngroups);
/* Symlink target into buf (NUL-terminated); -EINVAL if not a symlink. */
int live_readlink(struct live *l, uint64_t ino, char *buf, size_t size);

/* ---- creating and removing names (each raises the new node's lookup count) ---- */

/* mode carries the type (S_IFREG, S_IFDIR, S_IFIFO, S_IFCHR, S_IFBLK); uid/gid: the caller. */
int live_mknod(struct live *l, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
	       uid_t uid, gid_t gid, struct stat *st);
int live_symlink(struct live *l, uint64_t parent, const char *name, const char *target, uid_t uid,
		 gid_t gid, struct stat *st);
int live_link(struct live *l, uint64_t ino, uint64_t parent, const char *name, struct stat *st);
int live_unlink(struct live *l, uint64_t parent, const char *name);
int live_rmdir(struct live *l, uint64_t parent, const char *name);
#define LIVE_RENAME_NOREPLACE 1
#define LIVE_RENAME_EXCHANGE  2
int live_rename(struct live *l, uint64_t parent, const char *name, uint64_t newparent,
		const char *newname, unsigned flags);

/* ---- directories ---- */

struct live_dirent {
	char *name;
	uint64_t ino;
	mode_t type; /* S_IF* */
};
/* The entries of a directory at this moment (without "." and ".."), *v malloc'd. */
int live_readdir(struct live *l, uint64_t ino, struct live_dirent **v, size_t *n);
void live_dirents_free(struct live_dirent *v, size_t n);
/* The parent of a directory (for ".."). */
uint64_t live_parent(struct live *l, uint64_t ino);

/* ---- files ---- */

/* An open handle keeps an unlinked file readable and writable until released. */
int live_open_file(struct live *l, uint64_t ino);
void live_release(struct live *l, uint64_t ino);
/* Read up to len bytes at off: the count (short only at end of file) or -errno. */
ssize_t live_read(struct live *l, uint64_t ino, uint64_t off, size_t len, void *buf);
/* Write len bytes at off: len or -errno (ENOSPC: nothing written). */
ssize_t live_write(struct live *l, uint64_t ino, uint64_t off, const void *buf, size_t len);
/* The same in two steps, so the caller can answer its writer in between: live_write_begin
 * journals and applies the write (its result is live_write's) but may leave the sealing and
 * writing of its records (up to 1 MiB) to live_write_end, outside the tree's lock, so that
 * the next write is taken in while this one is encrypted (buf must stay valid until then).
 * Reads of those bytes and fsync wait for it. live_write_end must always follow; its failure
 * (an I/O error: disk space was allocated at begin) is too late for this writer and breaks the
 * journal (fsync fails from then on, see jlog.h). */
struct jlog_batch;
struct live_wr {
	struct live *l;
	struct jlog_batch *b;
};
ssize_t live_write_begin(struct live *l, uint64_t ino, uint64_t off, const void *buf, size_t len,
			 struct live_wr *w);
int live_write_end(struct live_wr *w);
/* SEEK_DATA / SEEK_HOLE. */
off_t live_lseek(struct live *l, uint64_t ino, off_t off, int whence);
/* Everything changed so far is durable on the local disk. */
int live_sync(struct live *l);

/* ---- extended attributes ---- */

/* Value into buf (size 0: only its length); the length, -ENODATA, -ERANGE. */
ssize_t live_getxattr(struct live *l, uint64_t ino, const char *name, void *buf, size_t size);
/* NUL-separated names (size 0: only the length). */
ssize_t live_listxattr(struct live *l, uint64_t ino, char *buf, size_t size);
/* flags: XATTR_CREATE / XATTR_REPLACE. */
int live_setxattr(struct live *l, uint64_t ino, const char *name, const void *value, size_t size,
		  int flags);
int live_removexattr(struct live *l, uint64_t ino, const char *name);

/* ---- the mount as a whole ---- */

int live_statfs(struct live *l, struct statvfs *st);

/* Who to ask for a commit when writers need journal space (without a hook, they get ENOSPC
 * at once). kick is called without any lock held, and must not wait for the commit. */
void live_set_commit_kick(struct live *l, void (*kick)(void *ctx), void *ctx);

/* Who drops the kernel's caches of names and inodes when the tree changes under them (a commit
 * that moves the tree onto a merge with another side's changes, adopt.c): name in directory
 * parent, or inode ino's attributes and pages when name is NULL. Called without any lock held,
 * never from a request of the mount itself. */
void live_set_inval(struct live *l,
		    void (*inval)(void *ctx, uint64_t parent, const char *name, uint64_t ino),
		    void *ctx);

struct live_status {
	uint8_t base[ID_LEN]; /* the snapshot the tree is based on */
	bool has_base;
	uint64_t base_seq; /* its sequence number and when it was sealed */
	int64_t base_time_ns;
	uint64_t pending_entries; /* nodes changed since the base */
	uint64_t pending_bytes;	  /* bytes written since the base (journal data) */
	uint64_t journal_bytes;	  /* on disk */
	uint64_t journal_max;
	/* a commit merged with another side's changes that the tree could not move onto yet:
	 * why (static text), and the merge; NULL: the tree shows what it was last merged into */
	const char *adopt_why;
	uint8_t adopt_id[ID_LEN];
	char journal_dir[4096];
};
void live_get_status(struct live *l, struct live_status *st);

#endif
