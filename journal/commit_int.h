/* commit_int: what commit.c, commit_plan.c, commit_build.c and merge.c share. */
#ifndef EMBASSY_COMMIT_INT_H
#define EMBASSY_COMMIT_INT_H
#include "commit.h"
#include "live_int.h"
#include "seal_session.h"

/* A file's content as frozen: the origin's chunks below base_len, the journal's extents on
 * top (the journal records stay until the rebase, so reading them later is safe). */
struct cfile {
	uint64_t size, base_len;
	struct chunk_ref *oc;
	size_t noc;
	struct extent *ext;
	size_t next;
};

/* Per entry of a directory to rewrite. */
struct cextra {
	uint64_t ino;	      /* the live node (for the rebase) */
	uint64_t frozen_size; /* its size at the freeze */
	struct cdir *sub;     /* a directory rewritten too (else the entry's subtree is final) */
	struct cfile *file;   /* content to chunk (else the entry's chunks are final) */
	bool pristine;	      /* copied from the base as it was */
	long link_first;      /* >= 0: another name of a file listed earlier (index in plan) */
};

/* A directory to rewrite: its entries as they will be sealed (sorted by name). */
struct cdir {
	uint64_t ino;
	char *path;		/* at the freeze ("" for the root) */
	struct tree t;		/* the entries; sealed into ref (moved out by the rebase) */
	struct cextra *x;	/* parallel to t.e */
	size_t n;		/* entries (x) */
	struct ltree *old;	/* the base listing it replaces (a reference), or NULL */
	bool has_old;		/* it is a directory of the base: */
	struct rec_ref old_ref; /* its listing there (for the snapshot's counts) */
	struct rec_ref ref;	/* after the build */
	bool built;
};

struct cplan {
	uint64_t epoch;	   /* the epoch frozen */
	struct cdir *root; /* NULL: nothing to commit */
	bool root_changed;
	struct tree_entry root_meta; /* the live root's attributes */
	uint64_t entries;	     /* entries written (not copied from the base) */
	/* hard links: entries of files with more than one name, in plan order */
	struct cplan_link {
		struct tree_entry *e;
		uint64_t ino;
	} * links;
	size_t nlinks, caplinks;
};

/* commit_plan.c: freezing (l->lock held) and rebasing (l->lock held). */
/* A deep copy of entry o, named name. */
int centry_copy(struct tree_entry *e, const struct tree_entry *o, const char *name);
int cplan_freeze(struct live *l, struct cplan **out);
void cplan_free(struct live *l, struct cplan *p);
/* The tree's base becomes snapshot sn (taken over), whose trees are what p built (or, when
 * replaying, what the store holds at p's paths: cplan_load). */
int cplan_rebase(struct live *l, struct cplan *p, struct snapshot *sn);

/* commit_build.c: sealing a plan (no lock held). */
int cplan_build(struct live *l, struct cplan *p, struct seal_session *ss, struct rec_ref *root);
/* The snapshot's file, directory and byte counts: the base's, plus what the plan changed. */
int cplan_counts(struct live *l, const struct cplan *p, uint64_t *files, uint64_t *dirs,
		 uint64_t *bytes);
/* The store's trees at p's paths under root (recovery: the snapshot a crashed commit
 * published). */
int cplan_load(struct live *l, struct cplan *p, const struct rec_ref *root);

/* commit_links.c: load the directories of every name of changed hard-linked base files
 * (called before the freeze, without the lock), and forget what was found (lock held). */
int links_prepare(struct live *l);
void links_free(struct live *l);
/* The highest hard-link id in a subtree (raises *max; walks all of it). */
int links_max(struct store *s, const struct rec_ref *ref, uint64_t *max);

/* merge.c: three-way merge of trees (refs may be NULL: absent). */
struct merge {
	struct store *s;
	struct seal_session *ss;
	const char *host;
	int64_t time_ns;
	struct commit_conflict *c;
	size_t nc, capc;
	/* merge_links.c, set by mlinks_prepare: ours' link ids above base_max move up by shift;
	 * dirty: our subtrees holding such ids (first 8 bytes of their record ids) */
	uint64_t base_max, shift;
	struct u64map dirty;
};
int merge_trees(struct merge *m, const struct rec_ref *base, const struct rec_ref *theirs,
		const struct rec_ref *ours, struct rec_ref *out);

/* The same entry, content included (a directory by its listing's id). */
bool merge_same_entry(const struct tree_entry *a, const struct tree_entry *b);
/* The same xattrs, name for name and byte for byte (merge.c; adopt.c compares directories with it).
 */
bool merge_same_xattrs(const struct tree_entry *a, const struct tree_entry *b);

/* adopt.c: the tree moves onto the merge a commit published (the rule is in its header). */
struct adopt;
/* What differs between ours (root ours_root) and the merge id, read without a lock. */
int adopt_prepare(struct store *s, const struct rec_ref *ours_root, const uint8_t id[ID_LEN],
		  struct adopt **out);
void adopt_free(struct adopt *a);
/* Lock held, the tree on ours: NULL if it can move onto the merge, else why not. */
const char *adopt_check(struct live *l, const struct adopt *a);
/* Lock held, after adopt_check and the ADOPT record: the tree moves (a's merge taken over). */
int adopt_apply(struct live *l, struct adopt *a);
/* Replay of an ADOPT record; the kernel told what changed (after the locks are released). */
int commit_replay_adopt(struct live *l, uint64_t epoch, const uint8_t id[ID_LEN]);
void live_flush_inval(struct live *l);

/* merge_links.c: hard-link ids across a merge (the rule is in its header comment). */
int mlinks_prepare(struct merge *m, const struct rec_ref *base, const struct rec_ref *theirs,
		   const struct rec_ref *ours);
void mlinks_free(struct merge *m);
/* An entry the merge takes from ours (a copy, in the result); head_deleted: kept because the
 * head deleted it. */
int mlinks_fix_entry(struct merge *m, struct tree_entry *e, bool head_deleted, int depth);
/* A subtree of ours the merge takes by reference: rewritten if it holds ids that move. */
int mlinks_fix_ref(struct merge *m, struct rec_ref *ref, int depth);

/* commit.c: replay's hooks (FREEZE, INTENT, COMMITTED records) and recovery at open. */
int commit_replay_freeze(struct live *l, uint64_t epoch);
int commit_replay_intent(struct live *l, uint64_t epoch, const uint8_t id[ID_LEN]);
int commit_replay_committed(struct live *l, uint64_t epoch, const uint8_t id[ID_LEN]);
int commit_recover(struct live *l);
void commit_state_free(struct live *l);

#endif
