/* jlog_lock: the journal's lock file — one mount at a time, and who holds it (see jlog.h;
 * the file's content is docs/FORMAT.md 18.1).
 *
 * The lock is an exclusive flock on <dir>/lock, held from jlog_open to jlog_close. Its holder
 * also writes one line into the file: its pid and what it is doing — "serving" while the mount
 * is up, "ending" once the mount is gone and it is only making the journal durable and
 * exiting, "closed" just before it lets go. A mount that finds the lock taken reads that line:
 * a live process that is ending is waited for as long as it lives (`umount; mount --rw` at once
 * must not fail because the old daemon's exit is slow on a loaded host: the rw_model_a and
 * rw_posix remounts at load 20-25 did), anything else for jlog_lock_wait_ms, then -EBUSY (a
 * second mount of a journal that is in use is refused, as before). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "jlog.h"
#include "jlog_int.h"
#include "log.h"

#define STEP_MS	   20
#define REMIND_MS  10000
#define HOLDER_FMT "%10ld %-7s\n" /* fixed width: one pwrite at offset 0, no truncation */

int jlog_lock_wait_ms = 20000;
static atomic_ulong polls;

unsigned long jlog_lock_polls(void)
{
	return atomic_load(&polls);
}

/* Record what the holder of fd's lock (this process) is doing. A hint for waiters: a failed
 * write only makes them wait the fixed time. */
void jl_lock_state(int fd, const char *state)
{
	char line[32];
	int n = snprintf(line, sizeof(line), HOLDER_FMT, (long)getpid(), state);

	if (fd >= 0 && pwrite(fd, line, (size_t)n, 0) != n)
		log_debug("cannot note the journal lock's state '%s': %s", state, strerror(errno));
}

/* The holder's line; false if there is none (an old daemon's empty file) or it is garbled. */
static bool holder_read(int fd, struct jlog_holder *h)
{
	char line[32] = {0}, state[8] = {0};
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	long pid;

	memset(h, 0, sizeof(*h));
	if (n <= 0 || sscanf(line, "%ld %7s", &pid, state) != 2 || pid <= 0)
		return false;
	h->pid = (pid_t)pid;
	h->ending = !strcmp(state, "ending");
	h->serving = !strcmp(state, "serving");
	/* EPERM: alive, someone else's */
	h->alive = h->pid != getpid() ? kill(h->pid, 0) == 0 || errno == EPERM : true;
	return true;
}

int jlog_lock_holder(const char *dir, struct jlog_holder *h)
{
	char path[4096];
	int fd, ret;

	memset(h, 0, sizeof(*h));
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = holder_read(fd, h) ? 0 : -ENODATA;
	close(fd);
	return ret;
}

static void say_ending(const char *dir, const struct jlog_holder *h, int waited_ms)
{
	if (!waited_ms)
		log_info("journal %s: the mount that used it last (pid %ld) is still finishing "
			 "(making its journal durable); waiting for it to exit",
			 dir, (long)h->pid);
	else
		log_info("journal %s: still waiting for pid %ld to finish (%d s so far)", dir,
			 (long)h->pid, waited_ms / 1000);
}

/* Take fd's flock (see above for how long to wait), then note "serving" in it. */
int jl_lock_take(int fd, const char *dir)
{
	const struct timespec step = {0, STEP_MS * 1000 * 1000};
	int waited = 0, ending_ms = 0;
	bool said = false;

	for (;;) {
		struct jlog_holder h;
		if (!flock(fd, LOCK_EX | LOCK_NB))
			break;
		if (errno != EWOULDBLOCK)
			return -errno;
		atomic_fetch_add(&polls, 1);
		if (holder_read(fd, &h) && h.ending && h.alive) {
			if (ending_ms % REMIND_MS == 0)
				say_ending(dir, &h, ending_ms);
			ending_ms += STEP_MS;
		} else if (waited >= jlog_lock_wait_ms) {
			return -EBUSY;
		} else {
			if (!said && waited >= 500) {
				log_info(
				    "journal %s is locked by %s %ld (a mount that is ending?); "
				    "waiting up to %d s",
				    dir, h.pid ? "pid" : "another process, pid", (long)h.pid,
				    jlog_lock_wait_ms / 1000);
				said = true;
			}
			waited += STEP_MS;
		}
		nanosleep(&step, NULL);
	}
	jl_lock_state(fd, "serving");
	return 0;
}

void jlog_ending(struct jlog *j)
{
	jl_lock_state(j->lockfd, "ending");
}
