/* fs: building a mount, mounting it and serving it (see fs.h for the life of a mount). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "deadline.h"
#include "fs_int.h"
#include "log.h"

#define FS_MAX_THREADS	 16
#define FS_IDLE_THREADS	 8
#define FS_READAHEAD_KB	 1024
#define FS_DEFAULT_CACHE (256u << 20)

int fs_new(struct store *s, const struct fs_opts *o, struct fs **out)
{
	struct fs *fs = calloc(1, sizeof(*fs));
	struct fs_tree *root = NULL;
	int ret;

	if (!fs)
		return -ENOMEM;
	fs->s = s;
	fs->o = *o;
	fs->budget_ms = remote_timeout_ms(store_remote(s));
	if (!fs->o.memory_cache)
		fs->o.memory_cache = FS_DEFAULT_CACHE;
	/* frame slots stay resident up to the cache plus what is in flight (cbuf.h) */
	cbuf_pool_bound(fs->o.memory_cache + FS_POOL_SLACK);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->list_lock, NULL);
	pthread_cond_init(&fs->list_cond, NULL);
	ret = layout_load(fs);
	if (!ret)
		ret = inode_table_new(fs, layout_first_ino(fs));
	if (!ret)
		ret = layout_pin(fs);
	if (!ret)
		ret = prefetch_new(s, fs->o.memory_cache, &fs->pf);
	/* snapshot 0's root listing, the first thing anyone reads (and its subdirectories'
	 * prefetch starts); with --snapshot it is the mount's root and must open, or the mount
	 * would be an EIO; under latest/ a failure shows there, the other snapshots still read */
	if (!ret) {
		int r = inode_kids(fs, inode_get(fs, fs->head.ino), &root);
		if (fs->single)
			ret = r;
	}
	fs_tree_unref(root);
	if (ret < 0) {
		fs_free(fs);
		return ret;
	}
	*out = fs;
	return 0;
}

/* The mount options: read-only for the kernel too, permissions checked by the kernel
 * against the snapshot's modes and owners, 1 MiB reads. */
static int build_args(const struct fs *fs, struct fuse_args *args)
{
	char base[256];

	snprintf(base, sizeof(base),
		 "ro,default_permissions,fsname=embassy,subtype=embassy,max_read=%u%s", FS_MAX_READ,
		 fs->o.allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(args, "embassy") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, base))
		return -ENOMEM;
	if (fs->o.debug && fuse_opt_add_arg(args, "-d"))
		return -ENOMEM;
	for (size_t i = 0; i < fs->o.nfuse_opts; i++)
		if (fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, fs->o.fuse_opts[i]))
			return -ENOMEM;
	return 0;
}

/* Undo the \ooo escapes of /proc/self/mountinfo, in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The kernel reads ahead only 128 KiB on a FUSE mount by default; a larger window halves
 * the round trips of a sequential reader. Best effort (needs root): found through
 * mountinfo, since stat() of the mountpoint would wait for this very daemon. */
static void raise_readahead(const char *mountpoint)
{
	char real[PATH_MAX], line[PATH_MAX * 2], dev[32] = "", mnt[PATH_MAX], path[96];
	FILE *f;

	if (!realpath(mountpoint, real) || !(f = fopen("/proc/self/mountinfo", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char d[32];
		if (sscanf(line, "%*s %*s %31s %*s %4095s", d, mnt) != 2)
			continue;
		unescape(mnt);
		if (strcmp(mnt, real) == 0)
			snprintf(dev, sizeof(dev), "%s", d); /* the last one is on top */
	}
	fclose(f);
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	if (dev[0] && (f = fopen(path, "we"))) {
		fprintf(f, "%d\n", FS_READAHEAD_KB);
		if (fclose(f) != 0)
			log_debug("%s: %s", path, strerror(errno));
	}
}

uint64_t fs_deadline_begin(const struct fs *fs)
{
	return deadline_begin(fs->budget_ms);
}

/* libfuse's own messages (bad -o option, mount refused) go through the one logger, so a
 * daemonised mount does not lose them to /dev/null. */
static void fuse_to_log(enum fuse_log_level lvl, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg((int)lvl, "%s", line); /* libfuse says "fuse: " itself */
}

int fs_mount(struct fs *fs, const char *mountpoint)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	int ret;

	fuse_set_log_func(fuse_to_log);
	ret = build_args(fs, &args);

	if (!ret) {
		fs->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
		ret = fs->se ? 0 : -EINVAL; /* libfuse said which option it did not like */
	}
	fuse_opt_free_args(&args);
	if (!ret && fuse_set_signal_handlers(fs->se) != 0)
		ret = -EIO;
	if (!ret && fuse_session_mount(fs->se, mountpoint) != 0)
		ret = -EIO; /* libfuse printed why (not a directory, permission, …) */
	if (ret < 0)
		return ret;
	fs->mounted = true;
	raise_readahead(mountpoint);
	layout_start(fs); /* the rest of the snapshot list, while requests are served */
	return 0;
}

int fs_serve(struct fs *fs)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int ret;

	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, FS_MAX_THREADS);
	fuse_loop_cfg_set_idle_threads(cfg, FS_IDLE_THREADS);
	if (fs_watch_start(fs) < 0)
		log_warn("cannot start the head pointer re-check; the mount works without it");
	ret = fuse_session_loop_mt(fs->se, cfg);
	fs_watch_stop(fs);
	fuse_loop_cfg_destroy(cfg);
	fuse_session_unmount(fs->se);
	fs->mounted = false;
	return ret < 0 ? ret : 0; /* a signal ending the loop is a normal unmount */
}

void fs_free(struct fs *fs)
{
	if (!fs)
		return;
	layout_stop(fs); /* first: the listing thread pins nodes in the inode table */
	fs_watch_stop(fs);
	/* before the session: its workers push file bytes through it (fs_ops.c push_files) */
	prefetch_free(fs->pf);
	if (fs->se) {
		if (fs->mounted)
			fuse_session_unmount(fs->se);
		fuse_remove_signal_handlers(fs->se);
		fuse_session_destroy(fs->se);
	}
	inode_table_free(fs);
	pthread_mutex_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->list_lock);
	pthread_cond_destroy(&fs->list_cond);
	free(fs);
}
