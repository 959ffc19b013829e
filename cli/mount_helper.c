/* mount_helper: the embassy binary called as mount.fuse.embassy, which mount(8) runs for
 * `mount -t fuse.embassy STORE DIR -o OPTIONS` and for /etc/fstab lines of that type:
 *
 *   mount.fuse.embassy STORE DIR [-sfnvrw] [-o OPTIONS] [-t fuse.embassy]
 *
 * It turns the -o list into `embassy mount` arguments and runs that command in this process.
 * Each `embassy mount` option has an -o spelling: its long name with '_' or '-' (key_file=F,
 * cache_dir=D, allow_other, profile=NAME). Options of mount(8) and systemd that concern
 * them and not us (_netdev, nofail, noauto, x-systemd.*, …) are dropped; FUSE's and the
 * kernel's own (nosuid, nodev, fsname=…, …) pass through as `-o`; anything else is refused
 * by the mount command's own parser with a clear message, before anything is mounted.
 * Options name files, never secrets: a passphrase given inline is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "secmem.h"

#define MAX_ARGS 256

/* Options for mount(8), fstab and systemd: not ours, not FUSE's. "rw" is among them: mount(8)
 * passes it unasked whenever "ro" is not given, so it cannot mean a write-through mount. */
static const char *const dropped[] = {"defaults", "auto",  "noauto", "user",	"nouser",
				      "users",	  "owner", "group",  "_netdev", "nofail",
				      "ro",	  "rw",	   "loud",   "silent",	"comment"};
static const char *const dropped_prefix[] = {"x-", "comment="};
/* Passed to libfuse as -o: FUSE's own options and the kernel's mount flags. */
static const char *const fuse_own[] = {"allow_root", "auto_unmount", "default_permissions",
				       "nosuid",     "suid",	     "nodev",
				       "dev",	     "noexec",	     "exec",
				       "noatime",    "atime",	     "relatime",
				       "nodiratime", "diratime",     "strictatime",
				       "lazytime",   "sync",	     "async",
				       "dirsync",    "blkdev",	     "kernel_cache",
				       "auto_cache", "max_read",     "fsname",
				       "subtype",    "blksize",	     "context",
				       "fscontext",  "defcontext",   "rootcontext"};

static bool in_list(const char *opt, size_t keylen, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == keylen && strncmp(opt, list[i], keylen) == 0)
			return true;
	return false;
}

bool mount_helper_called(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "mount.fuse.embassy") == 0 || strcmp(base, "mount.embassy") == 0;
}

struct args {
	char *v[MAX_ARGS + 1];
	int n;
};

static int push(struct args *a, char *s)
{
	if (!s || a->n == MAX_ARGS) {
		cli_error("mount.fuse.embassy: too many options");
		return -1;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

/* One -o option: dropped, passed to FUSE, or an `embassy mount` option. */
static int translate(struct args *a, const char *opt)
{
	const char *eq = strchr(opt, '=');
	size_t keylen = eq ? (size_t)(eq - opt) : strlen(opt);
	char *flag;

	if (!*opt)
		return 0;
	if (in_list(opt, keylen, dropped, sizeof(dropped) / sizeof(dropped[0])))
		return 0;
	for (size_t i = 0; i < sizeof(dropped_prefix) / sizeof(dropped_prefix[0]); i++)
		if (strncmp(opt, dropped_prefix[i], strlen(dropped_prefix[i])) == 0)
			return 0;
	if (in_list(opt, keylen, fuse_own, sizeof(fuse_own) / sizeof(fuse_own[0])))
		return push(a, strdup("-o")) || push(a, strdup(opt));
	if (keylen == 10 && strncmp(opt, "passphrase", 10) == 0) {
		cli_error("mount.fuse.embassy: option 'passphrase' refused: mount options are "
			  "visible to every user (ps, /proc/mounts); name a mode 0600 file with "
			  "passphrase_file=FILE, or use passphrase_command=CMD or key_file=FILE");
		return -1;
	}
	if (asprintf(&flag, "--%s", opt) < 0)
		return -1;
	for (char *p = flag + 2; *p && p < flag + 2 + keylen; p++)
		if (*p == '_')
			*p = '-';
	return push(a, flag);
}

static int split_options(struct args *a, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int ret = copy ? 0 : -1;

	for (char *o = copy ? strtok_r(copy, ",", &save) : NULL; o && !ret;
	     o = strtok_r(NULL, ",", &save))
		ret = translate(a, o);
	free(copy);
	return ret;
}

static int usage(void)
{
	cli_error("usage: mount.fuse.embassy STORE MOUNTPOINT [-o OPTION[,OPTION...]] (see "
		  "'embassy help mount')");
	return EXIT_USAGE;
}

int mount_helper_run(int argc, char **argv)
{
	const struct cli_cmd *mount = cli_find("mount");
	struct args a = {.n = 0};
	const char *pos[2];
	int npos = 0;

	if (!mount)
		return EXIT_FAIL;
	push(&a, "mount");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			if (split_options(&a, argv[++i]) < 0)
				return EXIT_USAGE;
		} else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2]) {
			if (split_options(&a, argv[i] + 2) < 0)
				return EXIT_USAGE;
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			i++; /* fuse.embassy: we know */
		} else if (argv[i][0] == '-' && argv[i][1]) {
			/* -s sloppy, -f fake, -n no mtab, -v verbose, -r read-only, -w
			 * read-write (mount(8)'s, see "rw" above) */
			if (strchr(argv[i], 'f'))
				return EXIT_OK; /* fake: do everything but the mount */
			if (strchr(argv[i], 'v'))
				push(&a, "-v");
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			return usage();
		}
	}
	if (npos != 2)
		return usage();
	if (push(&a, (char *)pos[0]) < 0 || push(&a, (char *)pos[1]) < 0)
		return EXIT_USAGE;
	if (secmem_init() < 0) {
		cli_error("cannot initialise libsodium");
		return EXIT_FAIL;
	}
	opts_set_helper();
	optind = 0;
	return mount->run(a.n, a.v);
}
