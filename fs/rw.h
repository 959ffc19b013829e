/* rw: the FUSE driver of a `--rw` mount — the live tree (journal/live.h) as an ordinary
 * writable directory tree. Its own handler table (rw_ops.c), so the read-only driver's fast
 * path (fs_ops.c) is untouched; like it, thin glue that turns -errno into replies.
 *
 *   rwfs_new()    wraps an opened live tree (which it borrows)
 *   rwfs_mount()  creates the FUSE session and mounts it
 *   rwfs_serve()  answers requests until unmounted or SIGTERM/SIGINT/SIGHUP
 *   rwfs_free()   unmounts if still mounted */
#ifndef EMBASSY_RW_H
#define EMBASSY_RW_H
#include <stdbool.h>
#include <stddef.h>

struct live;
struct rwfs;

struct rwfs_opts {
	bool allow_other;
	bool debug;
	const char *const *fuse_opts; /* extra -o values */
	size_t nfuse_opts;
};

int rwfs_new(struct live *l, const struct rwfs_opts *o, struct rwfs **out);
int rwfs_mount(struct rwfs *f, const char *mountpoint);
int rwfs_serve(struct rwfs *f);
void rwfs_exit(struct rwfs *f);
void rwfs_free(struct rwfs *f);

#endif
