/* mount_rw: the `--rw` half of `embassy mount` — a writable mount whose changes go to the
 * local journal and are committed back to the store (journal/live.h, journal/commit.h). The
 * option parsing and forking stay in cmd_mount.c; it hands over here to serve. */
#ifndef EMBASSY_MOUNT_RW_H
#define EMBASSY_MOUNT_RW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define MOUNT_RW_COMMIT_EVERY_DEFAULT (5 * 60)

struct mount_rw {
	bool on;		 /* --rw */
	const char *journal_dir; /* --journal-dir (NULL: under the state directory) */
	int64_t commit_every;	 /* --commit-every, seconds; 0: only on `embassy commit` */
	uint64_t journal_max;	 /* --journal-max (0: default) */
	/* filled in by cmd_mount.c before mount_rw_serve */
	const char *url, *mountpoint, *snapshot;
	bool allow_other, debug;
	const char *const *fuse_opts;
	size_t nfuse_opts;
	void (*detach)(int ready_fd); /* leave the terminal, tell the parent we are ready */
	int *log_fd;		      /* --log-file: taken over once mounted (-1: none) */
};

/* The --rw options' help text (for cmd_mount.c's manual). */
#define MOUNT_RW_HELP                                                                              \
	"WRITE-THROUGH (--rw)\n"                                                                   \
	"  --rw                 mount the snapshot (--snapshot, default the latest) as a\n"        \
	"                       writable tree. Needs --sealer-key: a reader's credential\n"        \
	"                       cannot sign the snapshots commits write (exit 4). Changes\n"       \
	"                       go to an encrypted journal on this host: fsync makes them\n"       \
	"                       durable here; 'embassy commit MOUNTPOINT' (or --commit-every)\n"   \
	"                       seals them into a signed snapshot whose parent is the base.\n"     \
	"                       Unmounting keeps what is not committed in the journal; the\n"      \
	"                       next --rw mount of the store with that journal resumes it.\n"      \
	"  --journal-dir DIR    where the journal lives (created 0700; one mount at a time uses\n" \
	"                       a journal). Default: journal/<store id> in the trust state\n"      \
	"                       directory (--state-dir, else $XDG_STATE_HOME/embassy)\n"           \
	"  --journal-max SIZE   past this much journal, writers wait for a commit; if it\n"        \
	"                       fails (store unreachable) they get ENOSPC, and nothing written\n"  \
	"                       before is lost (default 8G, at least 64M)\n"                       \
	"  --commit-every DURATION\n"                                                              \
	"                       commit pending changes this often (default 5m; 0: only on\n"       \
	"                       'embassy commit'); a failed one is retried after 30 s\n"           \
	"  Without --rw, --journal-dir, --journal-max and --commit-every are ignored.\n"

void mount_rw_init(struct mount_rw *rw);
/* The --rw options (opts.h), writing into rw: cmd_mount.c's table includes it (OPTS_TABLE).
 * One table per process, bound to the last rw given. */
const struct opts_spec *mount_rw_options(struct mount_rw *rw);
/* Open the store with the sealer key, the journal, mount and serve. Returns an exit code. */
int mount_rw_serve(struct cli_ctx *c, struct mount_rw *rw, int ready_fd);

#endif
