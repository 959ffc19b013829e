/* rw_int: what rw.c and rw_ops.c share. */
#ifndef EMBASSY_RW_INT_H
#define EMBASSY_RW_INT_H
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "rw.h"

struct rwfs {
	struct live *l; /* borrowed; thread-safe */
	struct rwfs_opts o;
	struct fuse_session *se;
	bool mounted;
};

extern const struct fuse_lowlevel_ops rw_ops;

#endif
