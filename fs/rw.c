/* rw: building, mounting and serving a `--rw` mount (see rw.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "log.h"
#include "rw_int.h"

#define RW_MAX_THREADS	16
#define RW_IDLE_THREADS 8

int rwfs_new(struct live *l, const struct rwfs_opts *o, struct rwfs **out)
{
	struct rwfs *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->l = l;
	f->o = *o;
	*out = f;
	return 0;
}

/* Writable, permissions checked by the kernel against the tree's modes and owners. */
static int build_args(const struct rwfs *f, struct fuse_args *args)
{
	char base[256];

	snprintf(base, sizeof(base), "rw,default_permissions,fsname=embassy,subtype=embassy%s",
		 f->o.allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(args, "embassy") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, base))
		return -ENOMEM;
	if (f->o.debug && fuse_opt_add_arg(args, "-d"))
		return -ENOMEM;
	for (size_t i = 0; i < f->o.nfuse_opts; i++)
		if (fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, f->o.fuse_opts[i]))
			return -ENOMEM;
	return 0;
}

/* The tree changed under the kernel's caches (a commit moved it onto a merge): drop a name,
 * or an inode's attributes and pages. Called from the committer, never from a request, so the
 * kernel's locks for the request it would need are not held by us. -ENOENT: not cached. */
static void inval(void *ctx, uint64_t parent, const char *name, uint64_t ino)
{
	struct rwfs *f = ctx;
	int ret = name ? fuse_lowlevel_notify_inval_entry(f->se, parent, name, strlen(name))
		       : fuse_lowlevel_notify_inval_inode(f->se, ino, 0, 0);

	if (ret < 0 && ret != -ENOENT)
		log_warn("cannot drop the kernel's cache of %s%s: %s", name ? "name " : "inode",
			 name ? name : "", strerror(-ret));
}

int rwfs_mount(struct rwfs *f, const char *mountpoint)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	int ret = build_args(f, &args);

	if (!ret) {
		f->se = fuse_session_new(&args, &rw_ops, sizeof(rw_ops), f);
		ret = f->se ? 0 : -EINVAL;
	}
	fuse_opt_free_args(&args);
	if (!ret && fuse_set_signal_handlers(f->se) != 0)
		ret = -EIO;
	if (!ret && fuse_session_mount(f->se, mountpoint) != 0)
		ret = -EIO;
	if (ret < 0)
		return ret;
	f->mounted = true;
	live_set_inval(f->l, inval, f);
	return 0;
}

int rwfs_serve(struct rwfs *f)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int ret;

	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, RW_MAX_THREADS);
	fuse_loop_cfg_set_idle_threads(cfg, RW_IDLE_THREADS);
	ret = fuse_session_loop_mt(f->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	fuse_session_unmount(f->se);
	f->mounted = false;
	return ret < 0 ? ret : 0;
}

/* Ask the serving loop to end (the mount goes away as with fusermount3 -u). */
void rwfs_exit(struct rwfs *f)
{
	if (f->se)
		fuse_session_exit(f->se);
}

void rwfs_free(struct rwfs *f)
{
	if (!f)
		return;
	if (f->mounted || f->se)
		live_set_inval(f->l, NULL, NULL); /* no kernel to tell any more */
	if (f->se) {
		if (f->mounted)
			fuse_session_unmount(f->se);
		fuse_remove_signal_handlers(f->se);
		fuse_session_destroy(f->se);
	}
	free(f);
}
