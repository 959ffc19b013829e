/* rw: building, mounting and serving a `--rw` mount (see rw.h). */
#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

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

/* ---- the INIT reply libfuse 3.14 cannot ask for ----
 * FUSE_HANDLE_KILLPRIV_V2: we drop setuid/setgid on write, truncate, O_TRUNC and chown
 * ourselves (rw_ops.c: drop_privs, setattr's LIVE_SET_KILL_SUIDGID), so the kernel need not
 * ask for an inode's attributes again before each chown (one GETATTR round trip per file of a
 * tar -x as root) and may mark an inode found without security.capability as such (SB_NOSEC:
 * one GETXATTR per written file instead of one per write). libfuse 3.14 has no capability
 * bit for it, and silently drops FUSE_CAP_HANDLE_KILLPRIV from its reply: the flag is added
 * to the INIT reply on its way to the kernel, when the kernel offered it. Every other request
 * and reply passes through untouched. */
static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct rwfs *f = userdata;
	ssize_t n = read(fd, buf, len);

	if (!__atomic_load_n(&f->init_seen, __ATOMIC_ACQUIRE) &&
	    n >= (ssize_t)(sizeof(struct fuse_in_header) + offsetof(struct fuse_init_in, flags) +
			   sizeof(uint32_t))) {
		const struct fuse_in_header *h = buf;
		if (h->opcode == FUSE_INIT) {
			const struct fuse_init_in *in = (const void *)(h + 1);
			f->init_unique = h->unique;
			f->init_flags = in->flags;
		}
	}
	return n; /* as read(2) does: libfuse looks at errno */
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct rwfs *f = userdata;

	if (!__atomic_load_n(&f->init_seen, __ATOMIC_ACQUIRE) && count >= 2 &&
	    iov[0].iov_len == sizeof(struct fuse_out_header) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t)) {
		const struct fuse_out_header *h = iov[0].iov_base;
		if (h->unique == f->init_unique && h->error == 0) {
			struct fuse_init_out *out = iov[1].iov_base;
			if (f->init_flags & FUSE_HANDLE_KILLPRIV_V2)
				out->flags |= FUSE_HANDLE_KILLPRIV_V2;
			__atomic_store_n(&f->init_seen, true, __ATOMIC_RELEASE);
		}
	}
	return writev(fd, iov, count);
}

static const struct fuse_custom_io rw_io = {.read = io_read, .writev = io_writev};

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
	if (!ret)
		ret = fuse_session_custom_io(f->se, &rw_io, fuse_session_fd(f->se));
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
