/* fuse_floor.h: what bench/fuse_floor.c, floor_tree.c and floor_ops.c share (see
 * fuse_floor.c for what the tool is). */
#ifndef FUSE_FLOOR_H
#define FUSE_FLOOR_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define FUSE_USE_VERSION 312
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FL_RO_TIMEOUT (86400.0 * 365)
#define FL_RW_TIMEOUT 86400.0
#define FL_MAX_IO     (1u << 20)
#define FL_MAX_OPS    64

struct fl_xattr {
	char *name;
	char *value;
	size_t len;
};

struct fl_dirent {
	char *name;
	fuse_ino_t ino;
};

struct fl_node {
	struct stat st; /* st_ino, mode, nlink, uid, gid, rdev, size, times */
	char *data;	/* file contents (size st.st_size) or symlink target (NUL-ended) */
	size_t cap;
	struct fl_dirent *kids; /* directories */
	size_t nkids, capkids;
	struct fl_xattr *xa;
	size_t nxa;
};

struct fl_state {
	bool rw, writeback, no_default_perms, single, no_killpriv;
	const char *src, *mnt, *stats;
	pthread_mutex_t lock;	/* guards every field below and every node (rw mode) */
	struct fl_node **nodes; /* index = inode number; 0 unused, 1 the root */
	size_t nnodes, capnodes;
	bool any_xattr;		      /* ro: the loaded tree has at least one xattr */
	bool no_open, no_opendir;     /* set once by op_init */
	uint32_t init_flags;	      /* the kernel's INIT flags (io_read, before init_seen) */
	uint64_t init_unique;	      /* ditto */
	atomic_bool init_seen;	      /* the INIT reply went out */
	atomic_ulong ops[FL_MAX_OPS]; /* requests read, per opcode */
	atomic_ulong ops_other;
};
extern struct fl_state fl;

/* floor_tree.c: the inode table, directories, and loading SRC (--ro). Callers hold fl.lock
 * (rw mode) around everything but fl_load_root, which runs before the session. */
struct fl_node *fl_node_new(mode_t mode, uid_t uid, gid_t gid);
struct fl_node *fl_node_get(fuse_ino_t ino);
struct fl_dirent *fl_dir_find(struct fl_node *d, const char *name);
int fl_dir_add(struct fl_node *d, const char *name, struct fl_node *n);
void fl_dir_del(struct fl_node *d, struct fl_dirent *e);
int fl_data_reserve(struct fl_node *n, size_t len);
int fl_load_root(const char *src);

/* floor_ops.c: the requests, as two operation tables. */
extern const struct fuse_lowlevel_ops fl_ro_ops, fl_rw_ops;

#endif
