/* mount_rw: serving a `--rw` mount — the store opened with the sealer key, the journal
 * resumed or started, the FUSE mount, and on the way out a journal made durable. */
#include "mount_rw.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "hex.h"
#include "jlog.h"
#include "live.h"
#include "log.h"
#include "rw.h"
#include "trust.h"

void mount_rw_init(struct mount_rw *rw)
{
	memset(rw, 0, sizeof(*rw));
	rw->commit_every = MOUNT_RW_COMMIT_EVERY_DEFAULT;
}

const struct opts_spec *mount_rw_options(struct mount_rw *rw)
{
	static struct opts_spec table[5];
	const struct opts_spec t[] = {
	    OPTS_FLAG(0, "rw", &rw->on), OPTS_STRING(0, "journal-dir", &rw->journal_dir),
	    OPTS_SIZE(0, "journal-max", &rw->journal_max, 64u << 20, 0,
		      "--journal-max needs a size of at least 64M, not '{arg}'"),
	    OPTS_DURATION_OR_0(0, "commit-every", &rw->commit_every, 0,
			       "--commit-every needs a duration like 5m, or 0, not '{arg}'"),
	    OPTS_END};

	_Static_assert(sizeof(t) == sizeof(table), "the table's size");
	memcpy(table, t, sizeof(t));
	return table;
}

/* The journal's directory: --journal-dir, else journal/<store id> beside the trust state. */
static char *journal_dir(const struct cli_ctx *c, const struct mount_rw *rw, struct store *s)
{
	char *state, *dir, *out = NULL;

	if (rw->journal_dir) {
		char *r = realpath(rw->journal_dir, NULL);
		return r ? r : strdup(rw->journal_dir);
	}
	state = trust_state_path(&c->trust, store_id_hex(s));
	if (!state)
		return NULL;
	dir = dirname(state);
	if (asprintf(&out, "%s/journal/%s", dir, store_id_hex(s)) < 0)
		out = NULL;
	free(state);
	return out;
}

static int open_error(const struct mount_rw *rw, const char *jdir, int err)
{
	switch (err) {
	case -EBUSY: {
		struct jlog_holder h;
		char who[48] = "another mount of this store";
		if (!jlog_lock_holder(jdir, &h) && h.alive)
			snprintf(who, sizeof(who), "another mount of this store (pid %ld)",
				 (long)h.pid);
		cli_error("journal %s is in use by %s; give this mount its own --journal-dir", jdir,
			  who);
		return EXIT_FAIL;
	}
	case -EXDEV:
		cli_error("journal %s belongs to another store (or another master key)", jdir);
		return EXIT_FAIL;
	case -ESTALE:
		cli_error("journal %s holds uncommitted changes on another snapshot than '%s'; "
			  "mount without --snapshot to resume (and commit) them",
			  jdir, rw->snapshot);
		return EXIT_FAIL;
	case -EBADMSG:
		cli_error("journal %s is damaged (see the log); nothing was mounted", jdir);
		return EXIT_INTEGRITY;
	case -ENOENT:
		return cli_snapshot_error(rw->url, rw->snapshot ? rw->snapshot : "latest", err);
	default:
		cli_error("cannot open journal %s: %s", jdir, strerror(-err));
		return cli_exit_for(err) == EXIT_OK ? EXIT_FAIL : cli_exit_for(err);
	}
}

static double lap(struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	double d = (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
	*t = now;
	return d;
}

/* Tests only: an exit made slow on purpose (a journal disk that takes long to sync), held
 * until something writes to (and closes) the FIFO EMBASSY_TEST_EXIT_FIFO names. */
static void test_exit_gate(void)
{
	const char *fifo = getenv("EMBASSY_TEST_EXIT_FIFO");
	char b[64];
	int fd = fifo ? open(fifo, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0)
		return;
	log_info("exit held until %s is written (EMBASSY_TEST_EXIT_FIFO)", fifo);
	while (read(fd, b, sizeof(b)) > 0)
		;
	close(fd);
}

/* The way out, in order, each step timed (a slow exit holds the journal's lock: the log says
 * which step took the time): the mount goes, a commit under way finishes, the journal is made
 * durable and unlocked, the store is closed. */
static void exit_steps(struct rwfs *f, struct ctl *ctl, struct live *l, struct store *s)
{
	struct timespec t;
	double d[4], sum;

	clock_gettime(CLOCK_MONOTONIC, &t);
	rwfs_free(f); /* unmounted: no more changes */
	d[0] = lap(&t);
	ctl_stop(ctl); /* a commit under way finishes */
	d[1] = lap(&t);
	test_exit_gate();
	live_close(l); /* makes the journal durable: nothing pending is lost */
	d[2] = lap(&t);
	store_close(s);
	d[3] = lap(&t);
	sum = d[0] + d[1] + d[2] + d[3];
	log_msg(sum >= 1 ? LOG_INFO : LOG_DEBUG,
		"ending took %.2f s: unmount %.2f, commit under way %.2f, journal sync and "
		"close %.2f, store close %.2f",
		sum, d[0], d[1], d[2], d[3]);
}

int mount_rw_serve(struct cli_ctx *c, struct mount_rw *rw, int ready_fd)
{
	struct rwfs_opts fo = {.allow_other = rw->allow_other,
			       .debug = rw->debug,
			       .fuse_opts = rw->fuse_opts,
			       .nfuse_opts = rw->nfuse_opts};
	struct live_opts lo = {.snapshot = rw->snapshot, .journal_max = rw->journal_max};
	struct store *s = NULL;
	struct live *l = NULL;
	struct rwfs *f = NULL;
	struct ctl *ctl = NULL;
	char *jdir = NULL;
	int ret, err;

	if (!c->sealer_key) {
		cli_error("--rw needs the sealer key (--sealer-key FILE): a reader's credential "
			  "cannot sign the snapshots that commits write");
		return EXIT_AUTH;
	}
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	ret = cli_open_store(c, rw->url, true, &s);
	if (ret != EXIT_OK)
		return ret;
	jdir = journal_dir(c, rw, s);
	if (!jdir) {
		ret = EXIT_FAIL;
		goto out;
	}
	lo.journal_dir = jdir;
	err = live_open(s, &lo, &l);
	if (err < 0) {
		ret = open_error(rw, jdir, err);
		goto out;
	}
	err = rwfs_new(l, &fo, &f);
	if (!err)
		err = rwfs_mount(f, rw->mountpoint);
	if (err < 0) {
		cli_error("cannot mount on %s%s", rw->mountpoint,
			  err == -EINVAL ? ": bad -o option (see above)" : " (see above)");
		ret = err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	if (rw->log_fd && *rw->log_fd >= 0) {
		log_use_fd(*rw->log_fd); /* from now on the file, daemon or not */
		*rw->log_fd = -1;
	}
	struct ctl_opts co = {.mountpoint = rw->mountpoint, .commit_every = rw->commit_every};
	err = ctl_start(l, &co, &ctl);
	if (err < 0) {
		cli_error("cannot open the control socket of the mount (%s): 'embassy commit' "
			  "would not reach it; unmounting",
			  strerror(-err));
		ret = EXIT_FAIL;
		goto out;
	}
	log_info("mounted %s on %s, writable (journal %s)", rw->url, rw->mountpoint, jdir);
	if (ready_fd >= 0)
		rw->detach(ready_fd);
	else
		cli_sd_notify("READY=1");
	err = rwfs_serve(f);
	ret = err < 0 ? EXIT_FAIL : EXIT_OK;
	if (err < 0)
		log_err("serving %s ended: %s", rw->mountpoint, strerror(-err));
out:
	live_ending(l); /* a remount of this journal now waits for this process to end */
	exit_steps(f, ctl, l, s);
	free(jdir);
	return ret;
}
