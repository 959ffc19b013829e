/* live_int: what the live_*.c files share — nodes, base listings, the tables and the journal
 * plumbing. Everything here is guarded by live.lock unless a field says otherwise. */
#ifndef EMBASSY_LIVE_INT_H
#define EMBASSY_LIVE_INT_H
#include <pthread.h>

#include "commit.h"
#include "extmap.h"
#include "jlog.h"
#include "jrec.h"
#include "live.h"
#include "u64map.h"

/* A directory listing of the base snapshot, decoded, and the nodes made for its entries.
 * Reference-counted: held by the directory whose entries came from it (ktree) and by every
 * node whose origin is one of its entries. It holds a reference on that directory (owner), so
 * an origin's path can always be computed (live_origin_path). */
struct ltree {
	unsigned refs;
	struct tree *t;
	struct lnode *owner; /* the directory it lists; NULL for the base root's listing */
	struct lnode **made; /* made[i]: the node of entry i, if any (weak) */
};

/* A directory's entries: an open-addressing table keyed by name. */
struct kid {
	char *name; /* NULL: empty slot; TOMBSTONE_NAME: deleted slot */
	struct lnode *n;
};
struct kidmap {
	struct kid *v;
	size_t cap, n, used; /* used counts deleted slots too */
};

struct lnode {
	uint64_t ino; /* for the kernel; this mount only */
	uint64_t jid; /* in the journal; 0 until the journal mentions the node */
	/* origin: entry oidx of otree (a reference), or NULL for a node made in the journal */
	struct ltree *otree;
	size_t oidx;
	/* attributes */
	enum entry_type type;
	uint32_t mode, uid, gid, nlink;
	uint64_t rdev, size;
	int64_t atime, mtime, ctime;
	char *target;
	struct xattr *xattrs;
	size_t nxattrs;
	/* content: the origin's chunks below base_len, then what the journal holds on top */
	uint64_t base_len;
	struct extmap ext;
	/* directories */
	struct lnode *parent;
	struct kidmap kids;
	bool loaded;	     /* kids holds every entry */
	struct ltree *ktree; /* the listing kids was made from (a reference), or NULL */
	uint32_t nsubdirs;   /* entries that are directories (for nlink) */
	/* life */
	uint64_t nlookup; /* the kernel's references */
	uint32_t nopen;	  /* open handles */
	uint32_t refs;	  /* ltrees owned, and threads waiting on a load */
	/* changes: epoch of the last change (0: as the origin) */
	uint64_t chg_epoch;  /* attributes, xattrs or content */
	uint64_t kids_epoch; /* directories: the entries */
	uint64_t low_water;  /* smallest size since the last freeze */
};

struct live {
	pthread_mutex_t lock;
	struct store *s;
	struct jlog *j;
	struct live_opts o;
	char *jdir, *host;
	/* the base: the snapshot the journal's current generation is relative to */
	struct snapshot base;
	bool has_base;
	struct lnode *root;
	struct ltree *root_tree; /* the base root's listing, once loaded */
	/* tables */
	struct u64map inos;  /* ino -> node */
	struct u64map jids;  /* jid -> node */
	struct u64map links; /* hard-link id of the base -> node */
	uint64_t next_ino, next_jid;
	/* journal */
	uint64_t gen;	/* current generation */
	uint64_t epoch; /* current epoch: changes now are tagged with it */
	bool replaying; /* applying records: nothing is appended */
	struct jbuf jb;
	uint64_t pending_write_bytes;
	/* commits (commit.c) */
	pthread_mutex_t commit_lock; /* one commit at a time (taken before lock, never after) */
	struct commit_info cinfo;    /* lock: what status shows */
	struct cplan *rplan;	     /* replay: the plan of the last FREEZE */
	bool rintent;		     /* replay: an INTENT for rplan's epoch, no COMMITTED yet */
	uint8_t rintent_id[ID_LEN];
	/* commit_links.c: base link id -> directories holding its names (cached per base) */
	struct u64map linkdirs;
	bool linkdirs_loaded;
	/* writers waiting for journal space (live_write) */
	pthread_cond_t space_cond; /* with lock: a commit attempt ended */
	uint64_t commit_gen;	   /* lock: commit attempts ended so far */
	void (*kick)(void *ctx);   /* asks for a commit (the mount's committer thread) */
	void *kick_ctx;
	/* adopt.c: kernel caches to drop once the locks are released (live_flush_inval) */
	pthread_mutex_t inval_lock; /* held while calling inval, so unsetting it waits */
	void (*inval)(void *ctx, uint64_t parent, const char *name, uint64_t ino); /* both */
	void *inval_ctx;							   /* both */
	struct linval {
		uint64_t parent, ino;
		char *name; /* NULL: the inode's attributes and pages */
	} * inv;
	size_t ninv, capinv;
	/* a merge the tree could not move onto yet (adopt.c says why); retried by the next
	 * commit that finds nothing to commit */
	bool adopt_wait;
	uint8_t adopt_id[ID_LEN];
	const char *adopt_why; /* static text; NULL: the tree shows the head's merge */
};

struct cplan;

#define TOMBSTONE_NAME ((char *)1)

/* ---- live_node.c ---- */
int64_t live_now(void);
struct lnode *node_by_ino(struct live *l, uint64_t ino);
struct lnode *node_by_jid(struct live *l, uint64_t jid);
/* A new node (not in any directory), registered under a fresh inode number. */
struct lnode *node_new(struct live *l, enum entry_type type);
/* Free n if nothing refers to it any more. */
void node_maybe_free(struct live *l, struct lnode *n);
void node_attr(struct live *l, const struct lnode *n, struct stat *st);
/* The base entry n comes from, or NULL. */
const struct tree_entry *node_origin(const struct lnode *n);
void ltree_unref(struct live *l, struct ltree *t);
/* n's origin is entry i of t. */
void node_set_origin(struct live *l, struct lnode *n, struct ltree *t, size_t i);
/* The path of n's origin in the base ("" for the root); malloc'd, NULL on ENOMEM. */
char *live_origin_path(struct live *l, const struct lnode *n);
/* Entries of d in memory. 0: they were; 1: they were loaded and l->lock was dropped meanwhile
 * (the caller must look its nodes up again); -errno. */
int dir_ensure(struct live *l, struct lnode *d);
/* A node made from base entry e of listing t (or the hard link it belongs to). */
struct lnode *node_from_base(struct live *l, struct ltree *t, size_t i);
/* n's attributes become base entry e's (a directory the base changed under it). */
int node_reset_attrs(struct lnode *n, const struct tree_entry *e);
/* The node of the base entry at path (materialising directories on the way): 1 lock dropped
 * (call again), 0 with *out, -errno. */
int node_by_origin_path(struct live *l, const char *path, size_t len, struct lnode **out);
int live_set_root(struct live *l);
void live_free_nodes(struct live *l);

/* ---- live_dir.c: directory entries ---- */
struct lnode *kids_get(const struct kidmap *m, const char *name);
/* Room for one more entry (so the next kids_put of a new name cannot fail but for the
 * name's copy). */
int kids_reserve(struct kidmap *m);
int kids_put(struct kidmap *m, const char *name, struct lnode *n);
void kids_del(struct kidmap *m, const char *name);
void kids_free(struct kidmap *m);
/* The name under which n is an entry of d (NULL if none). */
const char *kids_name_of(const struct kidmap *m, const struct lnode *n);

/* ---- live_journal.c ---- */
/* Append op (unless replaying). */
int jemit(struct live *l, struct jop *op);
/* Give n a journal id, writing a BIND record for a base node. */
int jbind(struct live *l, struct lnode *n);
/* Replay the journal into a fresh tree; *pending: whether it held changes. */
int live_replay(struct live *l, bool *pending);
/* Anything changed since the base? (lock held) */
bool live_pending(struct live *l);
/* A commit attempt ended: writers waiting for space look again (lock held). */
void live_wake_writers(struct live *l);
/* Remove segments from seg on: an unfinished checkpoint and nothing else. */
int jdrop_from(struct live *l, uint64_t seg);
/* ---- live_ckpt.c ---- */
/* Is n, the entry name of d, exactly d's base entry there, unchanged? */
bool live_pristine(const struct lnode *n, const struct lnode *d, const char *name);
/* Start a generation on the current base with the current state as its checkpoint. */
int live_checkpoint(struct live *l);

/* ---- operations shared by the live calls and the replay (live_ops.c, live_file.c,
 * live_xattr.c) ---- */
int x_mknod(struct live *l, struct lnode *p, const char *name, uint32_t mode, uint64_t rdev,
	    uint32_t uid, uint32_t gid, const char *target, int64_t t, uint64_t jid,
	    struct lnode **out);
int x_link(struct live *l, struct lnode *n, struct lnode *p, const char *name, int64_t t);
int x_unlink(struct live *l, struct lnode *p, const char *name, bool dir, int64_t t);
int x_rename(struct live *l, struct lnode *p, const char *name, struct lnode *np,
	     const char *newname, unsigned flags, int64_t t);
int x_setattr(struct live *l, struct lnode *n, unsigned valid, uint32_t mode, uint32_t uid,
	      uint32_t gid, uint64_t size, int64_t atime, int64_t mtime, int64_t ctime);
int x_setxattr(struct live *l, struct lnode *n, const char *name, const void *value, size_t size,
	       int flags, int64_t t);
int x_rmxattr(struct live *l, struct lnode *n, const char *name, int64_t t);
/* WRITE: live, or from a replayed record at pos. defer (live only, may be NULL): a write of
 * at most 1 MiB may leave its records' batch there, written by the caller outside the lock
 * (live_write_end). */
int x_write(struct live *l, struct lnode *n, uint64_t off, const void *data, size_t len, int64_t t,
	    const struct jlog_pos *replay_pos, struct jlog_batch **defer);
/* Reading file content (live_file.c): a plan of pieces made under the lock (what comes from
 * the journal, the base, or is a hole), served after it. */
enum piece_kind { P_ZERO, P_JOURNAL, P_BASE };
struct piece {
	enum piece_kind kind;
	uint64_t len;
	struct jlog_pos pos; /* P_JOURNAL */
	uint32_t doff;	     /* P_JOURNAL: offset in the record's body */
	struct rec_ref rec;  /* P_BASE */
	uint64_t coff;	     /* P_BASE: offset in the chunk */
};
struct plan {
	struct piece *v;
	size_t n, cap;
};
int plan_add(struct plan *p, const struct piece *x);
/* [off, end) of content made of extents over base chunks oc below base_len. */
int content_plan(const struct extent *ext, size_t next, const struct chunk_ref *oc, size_t noc,
		 uint64_t base_len, uint64_t off, uint64_t end, struct plan *p);
/* The pieces' bytes, back to back into out. -ENOENT: a journal segment is gone. */
int content_serve(struct live *l, const struct plan *p, uint8_t *out);
/* Make a node's attributes changeable and mark it changed. */
void node_touch(struct live *l, struct lnode *n);
void node_touch_kids(struct live *l, struct lnode *d);

#endif
