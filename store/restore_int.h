/* restore_int: the restorer's state, shared by restore.c (the walk) and restore_io.c (the
 * write-behind batch). Single-threaded: only store_fetch_many fans out internally. */
#ifndef EMBASSY_RESTORE_INT_H
#define EMBASSY_RESTORE_INT_H
#include <stdbool.h>

#include "restore.h"

#define RBATCH_BYTES	  (64u << 20)
#define RBATCH_FILES	  1000	      /* open files held (RLIMIT_NOFILE is raised for them) */
#define RSLICE_BYTES	  (16u << 20) /* fetched while the previous slice is written */
#define RESTORE_MAX_LINKS (1u << 20)  /* link ids beyond: restored as copies (bounded table) */
/* The store's memory cache during a restore. Each chunk is read once, so the default 256 MiB
 * cache of opened records only held memory (256 of the 399 MiB peak RSS measured on the bench
 * data set); what a cache still serves here is a tree read twice (lookup, then walk). */
#define RESTORE_MEMORY_CACHE (8u << 20)

/* A file created and waiting for its content; e points into a held tree. */
struct rfile {
	int fd;
	const struct tree_entry *e;
	char *rel; /* path relative to the target */
	bool failed, damaged;
	char **links; /* other names hard-linked to it meanwhile: removed too if it fails */
	size_t nlinks;
};

/* A hard-link group (tree_entry.link_id): its first name, and what became of its content. */
enum rlink_state { RLINK_NONE, RLINK_PENDING, RLINK_DONE, RLINK_FAILED };
struct rlink {
	char *first; /* path relative to the target */
	enum rlink_state state;
	size_t file;  /* RLINK_PENDING: index in restorer.files */
	bool damaged; /* RLINK_FAILED: because store data was tampered or missing */
};

struct rchunk {
	size_t file;
	uint64_t foff;
	struct rec_ref ref;
};

/* Directory metadata, applied at the very end (writing into a directory changes its mtime). */
struct dirmeta {
	char *rel;
	uint32_t mode, uid, gid;
	int64_t mtime_ns;
	struct xattr *xattrs;
	size_t nxattrs;
};

struct restorer {
	struct store *s;
	const struct restore_opts *o;
	struct restore_result *res;
	int rootfd;
	bool root_user;
	unsigned depth;	  /* of the directory being restored */
	const char *base; /* snapshot path of the restore's top ("" for the root), for patterns */
	struct rfile files[RBATCH_FILES];
	size_t nfiles;
	struct rchunk *chunks;
	size_t nchunks, capchunks, bytes;
	struct tree **held; /* trees whose entries queued files point into; freed by flush */
	size_t nheld, capheld;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	struct rlink *links; /* link_id-1 → its group */
	size_t nlinks;
	struct restore_progress prog;
};

int rfail(struct restorer *r, const char *rel, const char *what, int err);
/* Open rel (relative to the target) without following any symlink on the way. */
int rio_open_beneath(struct restorer *r, const char *rel, int flags);
/* The directory holding rel, opened component by component; *leaf = the last name. */
int rio_open_parent(struct restorer *r, const char *rel, const char **leaf);
void rio_set_meta(struct restorer *r, int fd, const struct tree_entry *e, const char *rel);
/* Take a created file (fd, rel owned) and queue its chunks; flushes as batches fill. */
int rio_queue_file(struct restorer *r, int fd, const struct tree_entry *e, char *rel);
/* The link group of a link id (NULL: none, or beyond RESTORE_MAX_LINKS: a copy). */
struct rlink *rio_link(struct restorer *r, uint64_t link_id);
int rio_hold(struct restorer *r, struct tree *t);
int rio_flush(struct restorer *r);
void rio_free(struct restorer *r);

#endif
