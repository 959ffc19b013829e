/* fs_int: what the fs_*.c files share — the inode table (fs_inode.c), the root layout
 * (fs_layout.c), the prefetcher (fs_prefetch.c) and the FUSE handlers (fs_ops.c). */
#ifndef EMBASSY_FS_INT_H
#define EMBASSY_FS_INT_H
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fs.h"
#include "store.h"

/* The snapshot is immutable: the kernel may cache names and attributes for as long as it
 * likes (a year; the kernel caps what it stores anyway). */
#define FS_TIMEOUT    (86400.0 * 365)
#define FS_MAX_READ   (1u << 20)
#define FS_POOL_SLACK (32u << 20) /* frame slots kept beyond the memory cache: in flight */
#define FS_INO_ROOT   1

/* ---- directory listings ---- */

/* A decoded directory record, shared by the directory's inode, its children's inodes (whose
 * tree_entry pointers point into it) and open directory handles. Immutable once built. */
struct fs_tree {
	atomic_uint refs;
	struct tree *t;
	fuse_ino_t base; /* inode number of t->e[0]; entry i is base + i (hard links aside) */
	/* the small files' records were queued for prefetch: set by the first read of one of
	 * its files, not by opendir, so find and ls -lR (which read no file) fetch no data */
	atomic_bool files_prefetched;
};

struct fs_tree *fs_tree_ref(struct fs_tree *t);
void fs_tree_unref(struct fs_tree *t);

/* ---- inodes ---- */

enum fs_kind {
	FS_LAYOUT_ROOT, /* the root of the layout: latest, snapshots */
	FS_SNAPSHOTS,	/* snapshots/ */
	FS_LATEST,	/* the latest symlink */
	FS_SNAPROOT,	/* the root directory of one snapshot */
	FS_ENTRY,	/* an entry of a snapshot's tree */
};

struct fs_node {
	fuse_ino_t ino;	   /* immutable */
	fuse_ino_t parent; /* immutable; directories only (for "..") */
	enum fs_kind kind; /* immutable */
	unsigned snap;	   /* immutable: which snapshot (fs_snap) */
	bool pinned;	   /* immutable: synthetic nodes live as long as the mount */
	/* FS_ENTRY (immutable): the listing that e points into, and a reference on it */
	struct fs_tree *holder;
	const struct tree_entry *e;
	uint64_t nlookup;     /* fs.lock: the kernel's references (lookup count) */
	struct fs_tree *kids; /* fs.lock: directories, once loaded; then immutable */
	/* files: the read pattern the prefetcher follows, shared by every open of the file
	 * (the kernel opens files without asking: op_init); made by the first read (atomic
	 * exchange), freed with the node */
	_Atomic(struct prefetch_stream *) stream;
};

struct fs_snap {
	struct snapshot sn;
	/* under snapshots/: "2026-11-27T08:19:47Z"; a snapshot sealed in the same second as
	 * another gets "-<id prefix>" added, except the one the mount opened with */
	char name[64];
	fuse_ino_t ino; /* its root directory */
};

struct fs_inodes;   /* fs_inode.c */
struct fs_prefetch; /* fs_prefetch.c */

/* The snapshot list beyond the one the mount opened with, read once after mounting. */
enum fs_list_state { LIST_NONE, LIST_LOADING, LIST_DONE };

struct fs {
	struct store *s;  /* borrowed; thread-safe */
	struct fs_opts o; /* immutable */
	/* snapshot 0: the head's (or --snapshot's), read before the mount is ready; immutable */
	struct fs_snap head;
	/* Snapshots 1..nothers: the rest of the store's, listed in the background once mounted
	 * (fs_layout.c), so that mounting costs the head, its manifest and its root listing
	 * whatever the store holds. Set once under list_lock with list_state LIST_DONE, then
	 * immutable; nodes of these snapshots exist only after that (fs_snap needs no lock). */
	struct fs_snap *others;
	size_t nothers;
	unsigned *order; /* list_lock: all snapshots (0..nothers) by sequence, for readdir */
	enum fs_list_state list_state; /* list_lock */
	int list_err;		       /* list_lock: the last listing's error, 0 none */
	pthread_mutex_t list_lock;
	pthread_cond_t list_cond; /* list_lock: signalled when a listing ends */
	pthread_t list_thread;
	bool list_thread_started;
	/* No snapshot of the mount has an entry with xattrs (manifest counts): getxattr is
	 * answered ENOSYS, and the kernel asks no more (security.selinux of every ls -l) */
	atomic_bool no_xattrs;
	/* The kernel opens and releases files itself (FUSE_CAP_NO_OPEN_SUPPORT): set by init,
	 * before any other request */
	bool no_open;
	/* and directories (FUSE_CAP_NO_OPENDIR_SUPPORT): set by init likewise */
	bool no_opendir;
	bool single;			   /* --snapshot: snapshot 0's tree is the root */
	char latest_target[80];		   /* "snapshots/<name>" */
	uint64_t total_bytes, total_files; /* for statfs */
	pthread_mutex_t lock; /* guards the inode table and the fields marked fs.lock */
	struct fs_inodes *inodes;
	struct fs_prefetch *pf;
	struct fuse_session *se;
	bool mounted;
	uint64_t budget_ms; /* immutable: what one request may wait on the store (--timeout) */
	/* the head pointer re-check (fs_watch.c) */
	bool head_known;   /* head_seq holds the head's sequence at mount (or first check) */
	uint64_t head_seq; /* after fs_new: only the watch thread */
	bool w_expired;	   /* watch thread only */
	int w_last_err;	   /* watch thread only */
	pthread_t watch;   /* while watch_up */
	bool watch_up;	   /* set and cleared by the serving thread */
	bool watch_stop;   /* watch_lock */
	pthread_mutex_t watch_lock;
	pthread_cond_t watch_cond;
};

/* Snapshot i of the mount (0: the head's; see struct fs). */
static inline const struct fs_snap *fs_snap(const struct fs *fs, unsigned i)
{
	return i == 0 ? &fs->head : &fs->others[i - 1];
}

/* A request that may wait on the store must answer within the budget: this sets the
 * thread's deadline (remote/deadline.h) to now + budget_ms and returns the previous one,
 * which the request puts back (deadline_set) before it returns. */
uint64_t fs_deadline_begin(const struct fs *fs);
/* The periodic head re-check (fs_watch.c): a thread while the mount is served. */
int fs_watch_start(struct fs *fs);
void fs_watch_stop(struct fs *fs);

/* --uid, --gid, --umask applied to attributes about to be shown. */
void fs_override_attr(const struct fs_opts *o, struct stat *st);
/* The table; tree entries are numbered from first_dynamic (after the layout's inodes). */
int inode_table_new(struct fs *fs, fuse_ino_t first_dynamic);
void inode_table_free(struct fs *fs);
/* Register a synthetic (pinned) node (before serving: no lock taken). */
int inode_add_pinned(struct fs *fs, fuse_ino_t ino, fuse_ino_t parent, enum fs_kind kind,
		     unsigned snap);
/* While serving: root directories for snapshots first..first+n-1 (under parent), numbered
 * from the next free inode; ino[i] gets snapshot first+i's number. */
int inode_pin_snapshots(struct fs *fs, fuse_ino_t parent, unsigned first, size_t n,
			fuse_ino_t *ino);
/* The node for an inode number the kernel knows (NULL if it is not known). */
struct fs_node *inode_get(struct fs *fs, fuse_ino_t ino);
/* A directory node's listing (loaded on first use): a new reference, or -errno. */
int inode_kids(struct fs *fs, struct fs_node *dir, struct fs_tree **out);
/* The inode number entry i of dir's listing kids shows (for plain readdir). */
fuse_ino_t inode_child_ino(struct fs *fs, const struct fs_node *dir, const struct fs_tree *kids,
			   size_t i);
/* The node of entry i of dir's listing kids, its lookup count raised by one. */
int inode_child(struct fs *fs, struct fs_node *dir, struct fs_tree *kids, size_t i,
		struct fs_node **out);
/* Raise a pinned or known node's lookup count (synthetic entries). */
void inode_ref(struct fs *fs, struct fs_node *n);
/* The kernel dropped nlookup references. */
void inode_forget(struct fs *fs, fuse_ino_t ino, uint64_t nlookup);
/* S_IFREG, S_IFDIR, … of an entry type. */
mode_t inode_type_bits(enum entry_type t);
/* Attributes of a node (no I/O: a directory's listing is not needed). */
void inode_attr(const struct fs *fs, const struct fs_node *n, struct stat *st);
/* The file's read pattern (fs_node.stream), made on first use; NULL if out of memory. */
struct prefetch_stream *inode_stream(struct fs_node *n);
/* The tree entry describing a node: its own for a snapshot's entry, the manifest's
 * root_meta for a snapshot root that has one; NULL for the rest of the layout. */
const struct tree_entry *inode_entry(const struct fs *fs, const struct fs_node *n);

/* ---- layout (fs_layout.c): the synthetic part of the tree ---- */

/* Before mounting: read the head pointer and its snapshot's manifest (or resolve
 * o->snapshot), and name it. Nothing else of the store's snapshot list is read here. */
int layout_load(struct fs *fs);
/* The first inode number after the synthetic ones. */
fuse_ino_t layout_first_ino(const struct fs *fs);
/* Register the synthetic nodes. */
int layout_pin(struct fs *fs);
/* Once mounted: list the other snapshots in the background (no-op with --snapshot). */
void layout_start(struct fs *fs);
/* Wait for that listing to end (unmounting). */
void layout_stop(struct fs *fs);
bool layout_is_synthetic_dir(const struct fs_node *n);
/* A synthetic directory is being opened: what its listing needs is there (snapshots/ waits
 * for the snapshot list, or reads it if the background listing failed), or -errno. */
int layout_open_dir(struct fs *fs, const struct fs_node *dir);
/* For synthetic directories: number of children, and child i's name and node. */
size_t layout_count(struct fs *fs, const struct fs_node *dir);
int layout_child(struct fs *fs, const struct fs_node *dir, size_t i, const char **name,
		 struct fs_node **child);
/* Look a name up in a synthetic directory: -ENOENT or 0 with *child. */
int layout_lookup(struct fs *fs, const struct fs_node *dir, const char *name,
		  struct fs_node **child);
void layout_attr(const struct fs *fs, const struct fs_node *n, struct stat *st);
const char *layout_readlink(const struct fs *fs, const struct fs_node *n);
/* Where a snapshot-root or entry directory's listing lives. */
const struct rec_ref *layout_dir_ref(const struct fs *fs, const struct fs_node *dir);

/* ---- prefetch (fs_prefetch.c) ---- */

/* One open file's read pattern; guarded by its own lock. */
struct prefetch_stream {
	pthread_mutex_t lock;
	uint64_t hi;	 /* lock: highest end of a read so far */
	uint64_t ahead;	 /* lock: everything below this is fetched or queued */
	uint64_t window; /* lock: bytes to keep queued ahead of hi */
	unsigned seq;	 /* lock: consecutive reads that looked sequential */
	unsigned jumps;	 /* lock: reads that did not (random access) */
	bool filled;	 /* lock: the whole file was queued for a background fill */
};

int prefetch_new(struct store *s, size_t memory_cache, struct fs_prefetch **out);
void prefetch_free(struct fs_prefetch *p);
void prefetch_stream_init(struct prefetch_stream *ps);
void prefetch_stream_destroy(struct prefetch_stream *ps);
/* A read of [off, off+len) of file e happened: queue what a sequential reader needs next.
 * True when the read belongs to a sequential stream (PF_SEQ_DROP reads in a row): what it
 * was given will not be asked for again (fs_read_done). */
bool prefetch_on_read(struct fs_prefetch *p, struct prefetch_stream *ps, const struct tree_entry *e,
		      uint64_t off, size_t len);
/* A file of this listing was opened: queue the records of its small files among entries
 * [from, to) when they are neighbours. done(arg, ran) is called exactly once: on a worker
 * once they are fetched (ran true), or with ran false when nothing was queued or the job was
 * dropped (possibly in this call). */
void prefetch_dir_files(struct fs_prefetch *p, const struct tree *t, size_t from, size_t to,
			void (*done)(void *, bool), void *arg);
/* A directory's listing was loaded: queue its subdirectories' listings (one ranged read
 * where they are neighbours, instead of a round trip per directory). */
void prefetch_dir_trees(struct fs_prefetch *p, const struct tree *t);

/* ---- reading (fs_read.c) ---- */

/* A read's bytes as an iovec over cached buffers (held until fs_readv_release). */
struct fs_readv {
	struct iovec *iov;
	size_t niov, cap, len;
	struct cbuf **held;
	size_t nheld, capheld;
};

/* [off, off+size) of file e, cut at the end of the file; 0 or -errno (nothing held). */
int fs_readv(struct store *s, const struct tree_entry *e, uint64_t off, size_t size,
	     struct fs_readv *rv);
void fs_readv_release(struct fs_readv *rv);
/* A sequential reader was given [off, off+size) of e (the kernel keeps those pages): the
 * frames wholly inside leave the memory cache (store_forget_frames), so a stream through a
 * big file keeps the cache, and the frame pool, near its prefetch window. */
void fs_read_done(struct store *s, const struct tree_entry *e, uint64_t off, size_t size);
/* SEEK_DATA / SEEK_HOLE from the chunk list; the offset or -ENXIO. */
off_t fs_seek_data_hole(const struct tree_entry *e, uint64_t off, int whence);

/* ---- handlers (fs_ops.c) ---- */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
