/* fs: the FUSE driver — an opened store shown as an ordinary read-only directory tree.
 *
 * Thin glue over the core (store/): the core never includes libfuse, and nothing here knows
 * about records, packs or crypto beyond calling store_*(). The life of a mount:
 *
 *   fs_new()    reads the head pointer, its snapshot's manifest and root listing (or
 *               resolves --snapshot) and builds the layout; errors here are the store's
 *               (-ENOENT: no such snapshot) and nothing is mounted
 *   fs_mount()  creates the FUSE session and mounts it; the rest of the snapshot list is
 *               read in the background from then on
 *   fs_serve()  answers requests on a thread pool until unmounted or SIGTERM/SIGINT/SIGHUP
 *   fs_free()   unmounts if still mounted and frees everything
 */
#ifndef EMBASSY_FS_H
#define EMBASSY_FS_H
#include <stdbool.h>
#include <stddef.h>

struct store;
struct fs;

struct fs_opts {
	const char *snapshot; /* NULL: `latest` + `snapshots/<time>/`; else that one at the root */
	bool allow_other;     /* -o allow_other (non-root needs user_allow_other in fuse.conf) */
	bool debug;	      /* libfuse request tracing (-v -v -v) */
	const char *const *fuse_opts; /* extra -o values, passed to libfuse verbatim */
	size_t nfuse_opts;
	size_t memory_cache; /* bytes; bounds the prefetch window too */
	/* Re-read the head pointer this often (seconds; 0: never) and log when the store moved
	 * on, its head expired or was rolled back. The mount itself never changes. */
	int64_t recheck_s;
	/* Shown instead of the snapshot's owners and modes (-o uid=,gid=,umask=), so that an
	 * operator can read files of service accounts this host does not have. */
	bool set_uid, set_gid, set_umask;
	unsigned uid, gid, umask;
};

/* Build the mount's view of store s (which it borrows; close it after fs_free). */
int fs_new(struct store *s, const struct fs_opts *o, struct fs **out);
/* Mount at mountpoint. -errno (-EINVAL bad -o option, -EIO mount refused). */
int fs_mount(struct fs *f, const char *mountpoint);
/* Serve requests until unmounted (fusermount3 -u, umount) or a signal. 0 or -errno. */
int fs_serve(struct fs *f);
void fs_free(struct fs *f);

#endif
