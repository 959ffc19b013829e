/* fuse_floor: the FUSE floor on this kernel — a minimal in-memory file system that answers
 * every request from RAM and does no other work, configured the way embassy's mounts are, so
 * that untar / cp -a / find through it show what FUSE itself costs (round trips, context
 * switches) beside local disk and embassy. A benchmark tool (bench/floor.sh), not a product.
 *
 *   fuse_floor --ro SRC MOUNTPOINT [options]   SRC's tree (data too) loaded at start, read-only
 *   fuse_floor --rw MOUNTPOINT [options]       empty, writable, everything kept in memory
 * options: --writeback-cache, --no-default-permissions, --single-thread, --no-killpriv-v2,
 *          --stats FILE (request counts per opcode written there at exit; also to stderr)
 *
 * Mirrored from embassy (fs/fs.c, fs/fs_ops.c op_init; fs/rw.c, fs/rw_ops.c op_init):
 *   --ro: "ro,default_permissions,max_read=1M"; readdirplus always (not auto), cached
 *         symlinks, POSIX ACLs, no auto_inval_data, max_readahead 1 MiB; open and opendir
 *         answer ENOSYS when the kernel can open by itself (keep_cache otherwise); getxattr
 *         ENOSYS when the tree has no xattrs, listxattr an empty list; timeouts one year.
 *   --rw: "rw,default_permissions"; no readdirplus, cached symlinks, POSIX ACLs, no
 *         auto_inval_data, max_write and max_readahead 1 MiB; FUSE_HANDLE_KILLPRIV_V2 added to
 *         the INIT reply (libfuse 3.14 cannot ask for it); no .flush; negative lookups cached;
 *         keep_cache on open/create; timeouts one day.
 *   both: fuse_session_loop_mt, clone_fd 0, 16 threads at most, 8 idle.
 * Requests are counted as they are read from /dev/fuse (a custom_io read, as embassy's --rw
 * mount already uses), so those libfuse answers by itself (FLUSH, ...) are counted too.
 *
 * One mutex guards the whole tree; in --ro mode nothing changes after loading, so reads take
 * no lock. Inodes are never freed (forget is counted, not acted on): the mount is short-lived.
 * Directories list no "." and ".." (the kernel does not need them). */
#include "fuse_floor.h"

struct fl_state fl = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- /dev/fuse: counting requests, the KILLPRIV_V2 INIT reply (as fs/rw.c) ---- */

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *h = buf;

	(void)userdata;
	if (n < (ssize_t)sizeof(*h))
		return n; /* as read(2) does: libfuse looks at errno */
	if (h->opcode < FL_MAX_OPS)
		atomic_fetch_add_explicit(&fl.ops[h->opcode], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&fl.ops_other, 1, memory_order_relaxed);
	if (h->opcode == FUSE_INIT && !atomic_load(&fl.init_seen) &&
	    n >= (ssize_t)(sizeof(*h) + offsetof(struct fuse_init_in, flags) + sizeof(uint32_t))) {
		const struct fuse_init_in *in = (const void *)(h + 1);
		fl.init_unique = h->unique;
		fl.init_flags = in->flags;
	}
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (!atomic_load(&fl.init_seen) && count >= 2 &&
	    iov[0].iov_len == sizeof(struct fuse_out_header) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t)) {
		const struct fuse_out_header *h = iov[0].iov_base;
		if (h->unique == fl.init_unique && h->error == 0) {
			struct fuse_init_out *out = iov[1].iov_base;
			if (fl.rw && !fl.no_killpriv && (fl.init_flags & FUSE_HANDLE_KILLPRIV_V2))
				out->flags |= FUSE_HANDLE_KILLPRIV_V2;
			atomic_store(&fl.init_seen, true);
		}
	}
	return writev(fd, iov, count);
}

static const struct fuse_custom_io fl_io = {.read = io_read, .writev = io_writev};

static const char *op_name(unsigned op)
{
	static const char *const names[FL_MAX_OPS] = {
	    [FUSE_LOOKUP] = "LOOKUP",
	    [FUSE_FORGET] = "FORGET",
	    [FUSE_GETATTR] = "GETATTR",
	    [FUSE_SETATTR] = "SETATTR",
	    [FUSE_READLINK] = "READLINK",
	    [FUSE_SYMLINK] = "SYMLINK",
	    [FUSE_MKNOD] = "MKNOD",
	    [FUSE_MKDIR] = "MKDIR",
	    [FUSE_UNLINK] = "UNLINK",
	    [FUSE_RMDIR] = "RMDIR",
	    [FUSE_RENAME] = "RENAME",
	    [FUSE_LINK] = "LINK",
	    [FUSE_OPEN] = "OPEN",
	    [FUSE_READ] = "READ",
	    [FUSE_WRITE] = "WRITE",
	    [FUSE_STATFS] = "STATFS",
	    [FUSE_RELEASE] = "RELEASE",
	    [FUSE_FSYNC] = "FSYNC",
	    [FUSE_SETXATTR] = "SETXATTR",
	    [FUSE_GETXATTR] = "GETXATTR",
	    [FUSE_LISTXATTR] = "LISTXATTR",
	    [FUSE_REMOVEXATTR] = "REMOVEXATTR",
	    [FUSE_FLUSH] = "FLUSH",
	    [FUSE_INIT] = "INIT",
	    [FUSE_OPENDIR] = "OPENDIR",
	    [FUSE_READDIR] = "READDIR",
	    [FUSE_RELEASEDIR] = "RELEASEDIR",
	    [FUSE_FSYNCDIR] = "FSYNCDIR",
	    [FUSE_GETLK] = "GETLK",
	    [FUSE_SETLK] = "SETLK",
	    [FUSE_SETLKW] = "SETLKW",
	    [FUSE_ACCESS] = "ACCESS",
	    [FUSE_CREATE] = "CREATE",
	    [FUSE_INTERRUPT] = "INTERRUPT",
	    [FUSE_BMAP] = "BMAP",
	    [FUSE_DESTROY] = "DESTROY",
	    [FUSE_IOCTL] = "IOCTL",
	    [FUSE_POLL] = "POLL",
	    [FUSE_NOTIFY_REPLY] = "NOTIFY_REPLY",
	    [FUSE_BATCH_FORGET] = "BATCH_FORGET",
	    [FUSE_FALLOCATE] = "FALLOCATE",
	    [FUSE_READDIRPLUS] = "READDIRPLUS",
	    [FUSE_RENAME2] = "RENAME2",
	    [FUSE_LSEEK] = "LSEEK",
	    [FUSE_COPY_FILE_RANGE] = "COPY_FILE_RANGE",
	};
	return op < FL_MAX_OPS && names[op] ? names[op] : NULL;
}

/* "NAME count" lines, one per opcode seen, then "TOTAL count". */
static void print_stats(FILE *f)
{
	unsigned long total = 0;

	for (unsigned op = 0; op < FL_MAX_OPS; op++) {
		unsigned long c = atomic_load(&fl.ops[op]);
		if (!c)
			continue;
		if (op_name(op))
			fprintf(f, "%s %lu\n", op_name(op), c);
		else
			fprintf(f, "OP%u %lu\n", op, c);
		total += c;
	}
	if (atomic_load(&fl.ops_other))
		fprintf(f, "OTHER %lu\n", atomic_load(&fl.ops_other));
	fprintf(f, "TOTAL %lu\n", total + atomic_load(&fl.ops_other));
}

static void write_stats(void)
{
	FILE *f;

	print_stats(stderr);
	if (!fl.stats)
		return;
	f = fopen(fl.stats, "w");
	if (!f) {
		fprintf(stderr, "fuse_floor: %s: %s\n", fl.stats, strerror(errno));
		return;
	}
	print_stats(f);
	fclose(f);
}

/* SIGUSR1: the counts so far, to the --stats file (written aside, then renamed into place so
 * a reader never sees half of it). Only async-signal-safe calls: the numbers by hand. */
static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, unsigned long v)
{
	char d[24];
	size_t n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(d));
	while (n && at < cap)
		buf[at++] = d[--n];
	return at;
}

static void on_usr1(int sig)
{
	char buf[4096], tmp[4096], num[8];
	size_t at = 0, cap = sizeof(buf);
	unsigned long total = atomic_load(&fl.ops_other);
	int saved = errno, fd;

	(void)sig;
	for (unsigned op = 0; op < FL_MAX_OPS; op++) {
		unsigned long c = atomic_load(&fl.ops[op]);
		if (!c)
			continue;
		if (op_name(op))
			at = put_str(buf, at, cap, op_name(op));
		else {
			num[put_num(num, 0, sizeof(num) - 1, op)] = 0;
			at = put_str(buf, put_str(buf, at, cap, "OP"), cap, num);
		}
		at = put_num(buf, put_str(buf, at, cap, " "), cap, c);
		at = put_str(buf, at, cap, "\n");
		total += c;
	}
	at = put_str(buf, put_num(buf, put_str(buf, at, cap, "TOTAL "), cap, total), cap, "\n");
	tmp[put_str(tmp, put_str(tmp, 0, sizeof(tmp) - 1, fl.stats), sizeof(tmp) - 1, ".tmp")] = 0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, at) == (ssize_t)at && close(fd) == 0)
			rename(tmp, fl.stats);
		else
			close(fd);
	}
	errno = saved;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: fuse_floor --ro SRC MOUNTPOINT [options]\n"
	    "       fuse_floor --rw MOUNTPOINT [options]\n"
	    "An in-memory FUSE file system configured as embassy's mounts (read-only: SRC\n"
	    "loaded into memory at start; --rw: empty). Runs in the foreground until\n"
	    "unmounted (fusermount3 -u) or signalled; request counts per opcode at exit.\n"
	    "  --writeback-cache          ask for the kernel's writeback cache (--rw)\n"
	    "  --no-default-permissions   no default_permissions mount option\n"
	    "  --single-thread            fuse_session_loop instead of the threaded loop\n"
	    "  --no-killpriv-v2           no FUSE_HANDLE_KILLPRIV_V2 in the INIT reply (--rw)\n"
	    "  --stats FILE               write the counts there too (\"OPCODE count\"), and on\n"
	    "                             SIGUSR1 the counts so far\n");
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"ro", required_argument, NULL, 'R'},
	    {"rw", no_argument, NULL, 'W'},
	    {"writeback-cache", no_argument, NULL, 'b'},
	    {"no-default-permissions", no_argument, NULL, 'p'},
	    {"single-thread", no_argument, NULL, 's'},
	    {"no-killpriv-v2", no_argument, NULL, 'k'},
	    {"stats", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'R':
			fl.src = optarg;
			break;
		case 'W':
			fl.rw = true;
			break;
		case 'b':
			fl.writeback = true;
			break;
		case 'p':
			fl.no_default_perms = true;
			break;
		case 's':
			fl.single = true;
			break;
		case 'k':
			fl.no_killpriv = true;
			break;
		case 'S':
			fl.stats = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind != argc - 1 || !fl.src == !fl.rw)
		return -1;
	fl.mnt = argv[optind];
	return 0;
}

static struct fuse_session *session(void)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char o[256];

	snprintf(o, sizeof(o), "%s%s,fsname=fuse_floor,subtype=floor%s", fl.rw ? "rw" : "ro",
		 fl.no_default_perms ? "" : ",default_permissions",
		 fl.rw ? "" : ",max_read=1048576");
	if (!fuse_opt_add_arg(&args, "fuse_floor") && !fuse_opt_add_arg(&args, "-o") &&
	    !fuse_opt_add_arg(&args, o))
		se = fuse_session_new(&args, fl.rw ? &fl_rw_ops : &fl_ro_ops, sizeof(fl_rw_ops),
				      NULL);
	fuse_opt_free_args(&args);
	return se;
}

static int serve(struct fuse_session *se)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (fl.single)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 16);
	fuse_loop_cfg_set_idle_threads(cfg, 8);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

int main(int argc, char **argv)
{
	struct fuse_session *se;
	int ret;

	if (parse(argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if (fl.rw)
		ret = fl_node_new(S_IFDIR | 0755, getuid(), getgid()) ? 0 : -ENOMEM;
	else
		ret = fl_load_root(fl.src);
	if (ret < 0) {
		fprintf(stderr, "fuse_floor: loading %s: %s\n", fl.src ? fl.src : "the root",
			strerror(-ret));
		return 1;
	}
	if (fl.stats)
		signal(SIGUSR1, on_usr1);
	se = session();
	if (!se || fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "fuse_floor: cannot start a FUSE session\n");
		return 1;
	}
	ret = fuse_session_mount(se, fl.mnt)
		  ? -EIO
		  : fuse_session_custom_io(se, &fl_io, fuse_session_fd(se));
	if (ret == 0)
		ret = serve(se);
	else
		fprintf(stderr, "fuse_floor: cannot mount %s\n", fl.mnt);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	write_stats();
	return ret ? 1 : 0;
}
