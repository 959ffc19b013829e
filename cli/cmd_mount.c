/* mount: show a store's snapshots as a read-only directory tree (FUSE).
 *
 * Order matters for clear errors: the store is opened and authenticated, and the head's
 * snapshot read, before anything is mounted (the rest of the list after: fs_layout.c). Without
 * --foreground the command forks first; the child does all of that, mounts, and only then tells the
 * waiting parent (through a pipe) to exit 0. If the child fails before, it prints its error on the
 * terminal it shares with the parent and exits with its code, which the parent passes on: nothing
 * is left mounted. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <sys/stat.h>

#include "cli.h"
#include "fs.h"
#include "hex.h"
#include "log.h"
#include "mount_rw.h"
#include "xdg.h"

#if __has_include("diskcache.h")
#include "diskcache.h"
#define HAVE_DISKCACHE 1
#else
#define HAVE_DISKCACHE 0
#endif

#define MAX_FUSE_OPTS	     64
#define DEFAULT_MEMORY_CACHE (256ull << 20)
#define DEFAULT_DISK_CACHE   (2ull << 30)
#define MIN_MEMORY_CACHE     (16ull << 20)
#define SYSTEM_CACHE_DIR     "/var/cache/embassy"

static const char help[] =
    "NAME\n"
    "  embassy mount - show a store's snapshots as a directory tree (writable with --rw)\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy mount STORE MOUNTPOINT [--snapshot SNAPSHOT] [--cache-dir DIR]\n"
    "                [--cache-size SIZE] [--memory-cache SIZE] [--foreground]\n"
    "                [--allow-other [--uid USER] [--gid GROUP] [--umask MODE]]\n"
    "                [--offline] [--recheck DURATION] [--log-file FILE]\n"
    "                [-o FUSE_OPTION]...\n"
    "  embassy mount STORE MOUNTPOINT --rw --sealer-key FILE [--snapshot SNAPSHOT]\n"
    "                [--journal-dir DIR] [--commit-every DURATION] [--journal-max SIZE]\n"
    "  mount -t fuse.embassy STORE MOUNTPOINT -o OPTION[,OPTION...]\n"
    "\n"
    "DESCRIPTION\n"
    "  Mounts STORE at MOUNTPOINT (an existing directory) with FUSE. The registers appear\n"
    "  as ordinary files: ls, find, cp -a, rsync -a, tar, sqlite3 on a mounted database\n"
    "  (open it as 'file:PATH?immutable=1'), mmap. Without --rw everything is read-only:\n"
    "  any change fails with EROFS (--rw: WRITE-THROUGH below).\n"
    "\n"
    "  Layout of the mount:\n"
    "    latest                      symlink to the snapshot the signed head names\n"
    "    snapshots/<UTC time>/...    one directory per snapshot, e.g.\n"
    "                                snapshots/2026-11-27T08:19:47Z; a snapshot sealed in\n"
    "                                the same second as another gets '-<id prefix>' added\n"
    "                                (never the one latest names)\n"
    "  With --snapshot, that one snapshot's files are the root of the mount; with --rw,\n"
    "  the root is that snapshot (default the latest) as a writable tree.\n"
    "\n"
    "  The store is opened and authenticated, and the head pointer and the manifest it\n"
    "  names verified (that snapshot's root listing read), before anything is mounted;\n"
    "  the rest of the snapshot list is read once mounted (snapshots/ waits for it), so\n"
    "  a store of many snapshots mounts as fast as one of a single snapshot. Without\n"
    "  --foreground the command returns once the mount is ready (exit 0) or with an error\n"
    "  and nothing mounted; the daemon then logs to syslog (or to --log-file). In the\n"
    "  foreground it logs to standard error (or to --log-file once mounted).\n"
    "\n"
    "  Every record is verified before a byte of it is shown. A record that is missing or\n"
    "  fails authentication makes reads that touch it fail with EIO (and is logged with\n"
    "  the object's name); the rest of the mount is unaffected. A file never reads short\n"
    "  or empty instead, and a directory is listed completely or not at all. When the\n"
    "  store is unreachable, what is cached still reads; other reads fail with EIO after\n"
    "  the --timeout budget, and work again once the store is back, without remounting.\n"
    "\n"
    "  Unmount with 'fusermount3 -u MOUNTPOINT' (or umount as root), or send the daemon\n"
    "  SIGTERM or SIGINT. If the daemon was killed, 'fusermount3 -u MOUNTPOINT' clears\n"
    "  the stale mountpoint.\n"
    "\n"
    "  With a profile, STORE and MOUNTPOINT may be left out: the profile's 'store' and\n"
    "  'mountpoint' are used. In the foreground under systemd (Type=notify) the service is\n"
    "  reported ready once the mount is.\n"
    "\n"
    "OPTIONS\n"
    "  --snapshot SNAPSHOT  mount only SNAPSHOT ('latest', an id or a unique prefix) at\n"
    "                       the root\n"
    "  --memory-cache SIZE  memory for opened records (default 256M; at least 16M). It\n"
    "                       also bounds the read-ahead: a quarter of it, at most 64M\n"
    "  --cache-dir DIR      persistent disk cache of encrypted records, reused by the\n"
    "                       next mount of the same store; one mount of a store at a\n"
    "                       time uses one cache directory (default:\n"
    "                       $XDG_CACHE_HOME/embassy or ~/.cache/embassy)\n"
    "  --cache-size SIZE    bound of the disk cache (default 2G; 0 disables it). A store\n"
    "                       in a local directory is not cached on disk unless\n"
    "                       --cache-dir or --cache-size is given\n"
    "  --offline            never contact the store: open it from the copies of its\n"
    "                       descriptor, key entries, manifests and head pointer kept by\n"
    "                       earlier mounts (beside the disk cache), read file data from\n"
    "                       the disk cache; what was never read fails with EIO. All of\n"
    "                       it is verified as if it came from the store.\n"
    "  --recheck DURATION   re-read the head pointer this often (default 5m; 0 never;\n"
    "                       never with --offline) and log - not unmount - when the store\n"
    "                       moved on (remount to see the new snapshot), its head expired\n"
    "                       (a freeze?) or was rolled back. The mount keeps showing what\n"
    "                       it verified when it started\n"
    "  -f, --foreground     stay in the foreground, log to standard error\n"
    "  --log-file FILE      once mounted, append the log to FILE (created 0600) instead\n"
    "                       of syslog or standard error: why reads failed, what the\n"
    "                       store answered. Errors before the mount is ready are still\n"
    "                       printed on standard error\n"
    "  --allow-other        let other users see the mount (for non-root users this\n"
    "                       needs 'user_allow_other' in /etc/fuse.conf); permissions\n"
    "                       are still checked, against the modes and owners shown\n"
    "  --uid USER           show every file as owned by USER (a name or number)\n"
    "                       instead of its owner in the snapshot: an operator reads\n"
    "                       files of service accounts this host does not have\n"
    "  --gid GROUP          likewise for the group\n"
    "  --umask MODE         show permissions 0777 & ~MODE on directories and files with\n"
    "                       an execute bit, 0666 & ~MODE on other files (octal, e.g.\n"
    "                       027); by default the snapshot's owners and modes are shown\n"
    "  -o FUSE_OPTION       pass an option to libfuse/the kernel (repeatable)\n"
    "\n"
    "  SIZE is a number of bytes with an optional K, M, G or T suffix (powers of 1024).\n"
    "\n"
    "MOUNT HELPER AND FSTAB\n"
    "  The package installs mount.fuse.embassy, so mount(8), /etc/fstab and systemd\n"
    "  mount units can mount a store. Every option above has an -o spelling: its name\n"
    "  with '_' or '-' (key_file=FILE, cache_dir=DIR, allow_other, uid=1000, profile=NAME,\n"
    "  passphrase_file=FILE). fstab and systemd options (_netdev, nofail, noauto,\n"
    "  x-systemd.*), and ro and rw (mount(8) passes rw unasked), are left to them: the\n"
    "  mount is read-only either way (a write-through mount is made with 'embassy mount\n"
    "  --rw' itself, not through mount(8)). FUSE's and the kernel's own (nosuid, nodev,\n"
    "  noexec, noatime, fsname=...) go to FUSE; any other option is an error and nothing\n"
    "  is mounted. Options name files: a passphrase is never written into them (they are\n"
    "  visible in ps and /proc/mounts). Run from fstab as root, without HOME, the caches\n"
    "  default to /var/cache/embassy and the trust state to /var/lib/embassy.\n"
    "\n"
    "      mount -t fuse.embassy https://embassy.example/registers/ /mnt/registers \\\n"
    "            -o key_file=/etc/embassy/officer1.key,cacert=/etc/embassy/ca.pem\n"
    "\n"
    "  A line of /etc/fstab (the profile names the key file, the CA, the trust):\n"
    "    https://e.example/regs /mnt/regs fuse.embassy "
    "profile=regs,_netdev,nofail,x-systemd.automount\n"
    "\n" MOUNT_RW_HELP "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy mount /srv/embassy /mnt/embassy --key-file officer1.key\n"
    "  sqlite3 'file:/mnt/embassy/latest/business/register.db?immutable=1' \\\n"
    "          'SELECT count(*) FROM company'\n"
    "  rsync -a /mnt/embassy/latest/ /srv/restored/\n"
    "  fusermount3 -u /mnt/embassy\n"
    "  embassy mount https://embassy.example/store /mnt/e --cacert ca.pem \\\n"
    "          --snapshot 3fa9c2 --memory-cache 1G --foreground\n";

#define DEFAULT_RECHECK_S 300

struct mount_args {
	const char *url, *mountpoint, *snapshot, *cache_dir;
	char *abs_url, *abs_mountpoint, *abs_cache_dir; /* the daemon leaves the cwd */
	char *abs_state_dir;
	char *mirror; /* metadata mirror directory (for --offline) */
	const char *log_file;
	int log_fd; /* --log-file, opened before the daemon leaves the cwd; -1 without */
	uint64_t cache_size, memory_cache;
	int64_t recheck_s;
	bool cache_given; /* --cache-size or --cache-dir on the command line */
	bool foreground, allow_other, offline;
	const char *fuse_opts[MAX_FUSE_OPTS];
	size_t nfuse_opts;
	struct fs_opts owner; /* --uid, --gid, --umask */
	struct mount_rw rw;   /* --rw and its options (mount_rw.c) */
};

/* A user or group by name or number. */
static int parse_id(const char *arg, bool group, unsigned *out)
{
	uint64_t v;
	struct passwd *pw;
	struct group *gr;

	if (opts_parse_u64(arg, UINT32_MAX - 1, &v) == 0) {
		*out = (unsigned)v;
		return 0;
	}
	if (group && (gr = getgrnam(arg)) != NULL) {
		*out = gr->gr_gid;
		return 0;
	}
	if (!group && (pw = getpwnam(arg)) != NULL) {
		*out = pw->pw_uid;
		return 0;
	}
	return -EINVAL;
}

/* --uid, --gid: a user or group by name or number. */
static int opt_id(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct fs_opts *owner = o->target;
	bool group = !strcmp(o->name, "gid");

	if (parse_id(arg, group, group ? &owner->gid : &owner->uid) < 0)
		return opts_usage(c, "--%s needs a %s name or number, not '%s'", o->name,
				  group ? "group" : "user", arg);
	if (group)
		owner->set_gid = true;
	else
		owner->set_uid = true;
	return EXIT_OK;
}

static int opt_umask(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct fs_opts *owner = o->target;
	char *end;
	unsigned long m = strtoul(arg, &end, 8);

	if (!*arg || *end || m > 0777)
		return opts_usage(c, "--umask needs an octal mode like 027, not '%s'", arg);
	owner->umask = (unsigned)m;
	owner->set_umask = true;
	return EXIT_OK;
}

/* --cache-dir, --cache-size: the disk cache is asked for (see open_disk_cache). */
static int opt_cache(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct mount_args *a = o->target;

	if (!strcmp(o->name, "cache-dir"))
		a->cache_dir = arg;
	else if (opts_parse_size(arg, &a->cache_size) < 0)
		return opts_usage(c, "--cache-size needs a size like 2G, not '%s'", arg);
	a->cache_given = true;
	return EXIT_OK;
}

static int positionals(struct cli_ctx *c, struct mount_args *a, int argc, char **argv);

static int parse(struct cli_ctx *c, struct mount_args *a, int argc, char **argv)
{
	const struct opts_spec options[] = {
	    OPTS_STRING(0, "snapshot", &a->snapshot),
	    OPTS_CALL(0, "cache-dir", required_argument, opt_cache, a),
	    OPTS_CALL(0, "cache-size", required_argument, opt_cache, a),
	    OPTS_SIZE(0, "memory-cache", &a->memory_cache, MIN_MEMORY_CACHE, 0,
		      "--memory-cache needs a size of at least 16M, not '{arg}'"),
	    OPTS_FLAG('f', "foreground", &a->foreground),
	    OPTS_FLAG(0, "allow-other", &a->allow_other),
	    OPTS_FLAG(0, "offline", &a->offline),
	    OPTS_CALL(0, "uid", required_argument, opt_id, &a->owner),
	    OPTS_CALL(0, "gid", required_argument, opt_id, &a->owner),
	    OPTS_CALL(0, "umask", required_argument, opt_umask, &a->owner),
	    OPTS_STRING(0, "log-file", &a->log_file),
	    OPTS_DURATION_OR_0(0, "recheck", &a->recheck_s, 0,
			       "--recheck needs a duration like 5m or 30s, or 0, not '{arg}'"),
	    OPTS_TABLE(mount_rw_options(&a->rw)),
	    OPTS_LIST('o', NULL, a->fuse_opts, &a->nfuse_opts, MAX_FUSE_OPTS,
		      "at most {max} -o options"),
	    OPTS_END};
	int r = opts_parse(c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options);

	if (r != EXIT_OK || c->help)
		return r;
	return positionals(c, a, argc, argv);
}

/* STORE MOUNTPOINT; either may come from the profile (store, mountpoint). */
static int positionals(struct cli_ctx *c, struct mount_args *a, int argc, char **argv)
{
	const char *mp = c->profile ? profile_get("mountpoint") : NULL;

	if (argc - optind == 0 && mp && c->store) {
		a->url = c->store;
		a->mountpoint = mp;
	} else if (argc - optind == 1 && mp && !c->store) {
		a->url = argv[optind];
		a->mountpoint = mp;
	} else {
		if (!(a->url = opts_store_arg(c, argc, argv, 1, "MOUNTPOINT")))
			return EXIT_USAGE;
		a->mountpoint = argv[optind];
	}
	if (!a->cache_dir && !getenv("XDG_CACHE_HOME") && !getenv("HOME") && geteuid() == 0)
		a->cache_dir = SYSTEM_CACHE_DIR; /* fstab, systemd: root without a home */
	if (a->offline && a->cache_size == 0)
		return opts_usage(c, "--offline reads from the disk cache: it needs one");
	if (a->rw.on && (a->offline || a->owner.set_uid || a->owner.set_gid || a->owner.set_umask))
		return opts_usage(c,
				  "--rw shows and keeps the real owners and modes, and needs the "
				  "store: not with --offline, --uid, --gid or --umask");
	if (a->rw.on && a->url)
		return cli_refuse_multi(c, a->url); /* --rw writes: one store */
	return EXIT_OK;
}

/* ---- the disk cache, when the module is built in ---- */

#if HAVE_DISKCACHE
static int open_disk_cache(const struct mount_args *a, struct store *s, struct diskcache **dc)
{
	int err;

	*dc = NULL;
	/* A store in a local directory is on a local disk already: a second copy would only
	 * cost writes (measured: a fifth of a cold read's CPU). Unless asked for (--cache-dir,
	 * --cache-size), or --offline (which reads nothing else). */
	if (remote_is_local(store_remote(s)) && !a->cache_given && !a->offline)
		return EXIT_OK;
	if (a->cache_size == 0)
		return EXIT_OK;
	err = diskcache_open(a->cache_dir, store_id_hex(s), a->cache_size, dc);
	if (err == -EBUSY) {
		cli_error("another mount of this store is using its disk cache; give this one "
			  "its own --cache-dir, or --cache-size 0");
		return EXIT_FAIL;
	}
	if (err < 0) {
		cli_error("cannot use the disk cache%s%s: %s (--cache-size 0 mounts without one)",
			  a->cache_dir ? " in " : "", a->cache_dir ? a->cache_dir : "",
			  strerror(-err));
		return err == -EPERM	   ? EXIT_FAIL
		       : cli_exit_for(err) ? cli_exit_for(err)
					   : EXIT_FAIL;
	}
	store_set_fetch_hook(s, diskcache_hook(*dc));
	return EXIT_OK;
}

/* What the mount cost, for the log (and the tests, which count requests). */
static void log_stats(struct store *s, struct diskcache *dc)
{
	struct remote_stats rs;
	struct diskcache_stats ds = {0};

	remote_get_stats(store_remote(s), &rs);
	if (dc)
		diskcache_get_stats(dc, &ds);
	log_info("unmounted: %llu GETs, %llu bytes from the store; disk cache %llu hits, "
		 "%llu misses, %llu torn",
		 (unsigned long long)rs.gets, (unsigned long long)rs.bytes_in,
		 (unsigned long long)ds.hits, (unsigned long long)ds.misses,
		 (unsigned long long)ds.torn);
}
#endif

/* ---- mounting ---- */

static int fs_error(const struct mount_args *a, int err)
{
	if (err == -ENOENT || err == -ENOTUNIQ || err == -EBADMSG)
		return cli_snapshot_error(a->url, a->snapshot ? a->snapshot : "latest", err);
	if (a->snapshot)
		cli_error("cannot read the root directory of snapshot '%s': %s", a->snapshot,
			  err == -EIO ? "missing, damaged or unreachable record (see the log)"
				      : strerror(-err));
	else
		cli_error("cannot read the snapshots of store %s: %s", a->url, strerror(-err));
	return cli_exit_for(err) == EXIT_OK ? EXIT_FAIL : cli_exit_for(err);
}

/* Leave the terminal: own session, no stdio, log to syslog. Then tell the parent. */
static void detach(int ready_fd)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_use_syslog(true);
	setsid();
	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (write(ready_fd, "R", 1) != 1)
		log_warn("cannot tell the starting process that the mount is ready");
	close(ready_fd);
}

/* Where the store's metadata objects are mirrored for --offline: beside the disk cache,
 * one directory per store URL (the store id is only known once the descriptor is read). */
static int mirror_dir(const struct mount_args *a, char **out)
{
	uint8_t h[16];
	char hex[33], *root;
	int ret = -ENOMEM;

	/* where the disk cache is (diskcache.c asks xdg.h too): absolute, the daemon leaves cwd */
	root = a->cache_dir ? xdg_absolute(a->cache_dir) : xdg_dir("XDG_CACHE_HOME", ".cache");
	if (!root)
		return -errno;
	/* keyed by the URL without its credentials: a new password is the same store */
	char *name = strdup(a->url);
	if (!name) {
		free(root);
		return -ENOMEM;
	}
	log_redact_urls(name, false);
	crypto_generichash(h, sizeof(h), (const uint8_t *)name, strlen(name), NULL, 0);
	free(name);
	hex_encode(h, sizeof(h), hex);
	if (root && asprintf(out, "%s/meta/%s", root, hex) > 0) {
		/* mkdir -p, private: what a host served is no business of other local users */
		for (char *p = *out + 1; *p; p++)
			if (*p == '/') {
				*p = 0;
				mkdir(*out, 0700);
				*p = '/';
			}
		ret = mkdir(*out, 0700) && errno != EEXIST ? -errno : 0;
	}
	free(root);
	return ret;
}

/* --rw: mount_rw.c serves it. */
static int serve_rw(struct cli_ctx *c, struct mount_args *a, int ready_fd)
{
	a->rw.url = a->url;
	a->rw.mountpoint = a->mountpoint;
	a->rw.snapshot = a->snapshot;
	a->rw.allow_other = a->allow_other;
	a->rw.debug = c->verbose >= 3;
	a->rw.fuse_opts = a->fuse_opts;
	a->rw.nfuse_opts = a->nfuse_opts;
	a->rw.detach = detach;
	a->rw.log_fd = &a->log_fd;
	return mount_rw_serve(c, &a->rw, ready_fd);
}

/* Open, build, mount, serve. ready_fd >= 0: the parent waiting for the mount. */
static int serve(struct cli_ctx *c, struct mount_args *a, int ready_fd)
{
	struct fs_opts fo = {.snapshot = a->snapshot,
			     .allow_other = a->allow_other,
			     .debug = c->verbose >= 3,
			     .fuse_opts = a->fuse_opts,
			     .nfuse_opts = a->nfuse_opts,
			     .memory_cache = a->memory_cache,
			     .recheck_s = a->offline ? 0 : a->recheck_s,
			     .set_uid = a->owner.set_uid,
			     .set_gid = a->owner.set_gid,
			     .set_umask = a->owner.set_umask,
			     .uid = a->owner.uid,
			     .gid = a->owner.gid,
			     .umask = a->owner.umask};
	struct store *s = NULL;
	struct fs *fs = NULL;
#if HAVE_DISKCACHE
	struct diskcache *dc = NULL;
#endif
	int ret, err;

	if (a->rw.on)
		return serve_rw(c, a, ready_fd);
	/* chunk buffers (~1 MiB) come and go on many threads. mmap'ing each one costs page
	 * faults and zeroing (half the CPU of a cold sequential read, measured); keeping them in
	 * per-thread arenas let RSS grow far past the memory cache. Few arenas and a fixed
	 * threshold keep freed buffers for reuse without that growth. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	if (a->cache_size && mirror_dir(a, &a->mirror) == 0) {
		c->ro.mirror_dir = a->mirror;
		c->ro.offline = a->offline;
	} else if (a->offline) {
		cli_error("--offline: no metadata mirror (%s)", strerror(errno));
		return EXIT_FAIL;
	}
	ret = cli_open_store(c, a->url, false, &s);
	if (ret != EXIT_OK)
		return ret;
	if (store_set_memory_cache(s, a->memory_cache) < 0) {
		cli_error("cannot allocate the memory cache");
		ret = EXIT_FAIL;
		goto out;
	}
#if HAVE_DISKCACHE
	ret = open_disk_cache(a, s, &dc);
	if (ret != EXIT_OK)
		goto out;
#endif
	err = fs_new(s, &fo, &fs);
	if (err < 0) {
		ret = fs_error(a, err);
		goto out;
	}
	err = fs_mount(fs, a->mountpoint);
	if (err < 0) {
		cli_error("cannot mount on %s%s", a->mountpoint,
			  err == -EINVAL ? ": bad -o option (see above)" : " (see above)");
		ret = err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	if (a->log_fd >= 0) {
		log_use_fd(a->log_fd); /* from now on the file, daemon or not */
		a->log_fd = -1;
	}
	log_info("mounted %s on %s", a->url, a->mountpoint);
	if (ready_fd >= 0)
		detach(ready_fd);
	else
		cli_sd_notify("READY=1"); /* Type=notify units: ready when mounted */
	err = fs_serve(fs);
	ret = err < 0 ? EXIT_FAIL : EXIT_OK;
	if (err < 0)
		log_err("serving %s ended: %s", a->mountpoint, strerror(-err));
#if HAVE_DISKCACHE
	log_stats(s, dc);
#endif
out:
	fs_free(fs);
#if HAVE_DISKCACHE
	if (dc)
		diskcache_close(dc);
#endif
	store_close(s);
	return ret;
}

/* The parent's half: wait for "ready" or for the child to exit with its error. */
static int wait_ready(pid_t pid, int fd)
{
	char b;
	ssize_t n;
	int status;

	do
		n = read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n == 1)
		return EXIT_OK;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_FAIL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) ? WEXITSTATUS(status) : EXIT_FAIL;
	cli_error("the mount daemon died (signal %d) before the mount was ready",
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return EXIT_FAIL;
}

/* The daemon changes to / once mounted: relative paths must not outlive the cwd. */
static int absolute_paths(struct cli_ctx *c, struct mount_args *a)
{
	/* the trust state too: the watch thread records what it verifies after detaching */
	a->abs_state_dir = trust_state_dir(&c->trust);
	if (!a->abs_state_dir)
		return EXIT_FAIL;
	c->trust.state_dir = a->abs_state_dir;
	if (!strstr(a->url, "://")) {
		a->abs_url = realpath(a->url, NULL);
		if (!a->abs_url && a->offline && a->url[0] == '/') {
			a->abs_url =
			    strdup(a->url); /* gone or unreachable: --offline needs no store */
		} else if (!a->abs_url && a->offline) {
			char *cwd = getcwd(NULL, 0);
			const char *rel = strncmp(a->url, "./", 2) ? a->url : a->url + 2;
			if (cwd && asprintf(&a->abs_url, "%s/%s", cwd, rel) < 0)
				a->abs_url = NULL;
			free(cwd);
		}
		if (!a->abs_url) {
			int err = errno;
			cli_error("%s is not an embassy store (%s); check the path or URL", a->url,
				  strerror(err));
			return err == ENOENT ? EXIT_NOSTORE : EXIT_FAIL;
		}
		a->url = a->abs_url;
	}
	a->abs_mountpoint = realpath(a->mountpoint, NULL);
	if (a->abs_mountpoint)
		a->mountpoint = a->abs_mountpoint;
	if (a->cache_dir && a->cache_dir[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (!cwd || asprintf(&a->abs_cache_dir, "%s/%s", cwd, a->cache_dir) < 0) {
			free(cwd);
			return EXIT_FAIL;
		}
		free(cwd);
		a->cache_dir = a->abs_cache_dir;
	}
	return EXIT_OK;
}

/* Is the directory st (at path) the root of an embassy mount already? Linux lets a second
 * FUSE mount stack on top of the first: 'fusermount3 -u' then uncovers the old one, and two
 * daemons serve one path. Other file systems under it (autofs for x-systemd.automount) are
 * fine. Found by device number in /proc/self/mountinfo, which needs no path unescaping. */
static bool embassy_mounted_on(const char *path, const struct stat *st)
{
	char parent[PATH_MAX + 4], line[4096], dev[32], fstype[256];
	struct stat pst;
	bool found = false;
	FILE *f;

	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(parent, &pst) < 0 || pst.st_dev == st->st_dev)
		return false; /* not a mount root */
	if (!(f = fopen("/proc/self/mountinfo", "re")))
		return false;
	snprintf(dev, sizeof(dev), "%u:%u", major(st->st_dev), minor(st->st_dev));
	while (!found && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE ... */
		char *sep = strstr(line, " - "), *field = strchr(line, ' ');

		field = field ? strchr(field + 1, ' ') : NULL; /* MAJ:MIN follows */
		if (!sep || !field || strncmp(field + 1, dev, strlen(dev)) ||
		    field[1 + strlen(dev)] != ' ' || sscanf(sep + 3, "%255s", fstype) != 1)
			continue;
		found = !strcmp(fstype, "fuse.embassy");
	}
	fclose(f);
	return found;
}

static int check_mountpoint(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		cli_error("mountpoint %s: %s%s", path, strerror(errno),
			  errno == ENOTCONN ? " (a dead mount: run 'fusermount3 -u' on it)" : "");
		return EXIT_FAIL;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("mountpoint %s is not a directory", path);
		return EXIT_FAIL;
	}
	if (embassy_mounted_on(path, &st)) {
		cli_error("mountpoint %s already has an embassy mount on it; unmount it first "
			  "('fusermount3 -u %s')",
			  path, path);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int run_mount(int argc, char **argv)
{
	struct cli_ctx c;
	struct mount_args a = {.cache_size = DEFAULT_DISK_CACHE,
			       .memory_cache = DEFAULT_MEMORY_CACHE,
			       .recheck_s = DEFAULT_RECHECK_S,
			       .log_fd = -1};
	int ret, p[2];
	pid_t pid;

	opts_init(&c, "mount");
	mount_rw_init(&a.rw);
	ret = parse(&c, &a, argc, argv);
	if (ret != EXIT_OK || c.help)
		return ret != EXIT_OK ? ret : opts_help(&c);
	ret = check_mountpoint(a.mountpoint);
	if (ret == EXIT_OK)
		ret = absolute_paths(&c, &a);
	if (ret == EXIT_OK && a.log_file && (a.log_fd = log_open_file(a.log_file)) < 0) {
		cli_error("--log-file %s: %s", a.log_file, strerror(-a.log_fd));
		ret = EXIT_USAGE;
	}
	if (ret != EXIT_OK || a.foreground) {
		if (ret == EXIT_OK)
			ret = serve(&c, &a, -1);
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		cli_error("cannot start the mount daemon: %s", strerror(errno));
		ret = EXIT_FAIL;
		goto out;
	}
	if (pid == 0) {
		close(p[0]);
		_exit(serve(&c, &a, p[1]));
	}
	close(p[1]);
	ret = wait_ready(pid, p[0]);
out:
	if (a.log_fd >= 0)
		close(a.log_fd);
	free(a.abs_url);
	free(a.abs_mountpoint);
	free(a.abs_cache_dir);
	free(a.abs_state_dir);
	free(a.mirror);
	return ret;
}

const struct cli_cmd cli_cmd_mount = {
    "mount", "show a store's snapshots as a directory tree (writable with --rw)", help, run_mount};
