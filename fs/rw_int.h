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
	/* the INIT exchange's request id while it is under way (rw.c: io_read/io_writev) */
	uint64_t init_unique;
	uint32_t init_flags; /* what the kernel offered */
	bool init_seen;
};

extern const struct fuse_lowlevel_ops rw_ops;

#endif
