/* trust_state: safe state files (see trust_state.h). */
#include "trust_state.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"

#define STATE_FILE_MAX (64u << 10)
#define LOCK_WAIT_MS   5000

/* mkdir -p, private; only the last component has to be ours (checked by the caller). */
static int mkdirs(const char *dir)
{
	char *d = strdup(dir);
	int ret = 0;

	if (!d)
		return -ENOMEM;
	for (char *p = d + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(d, 0700);
			*p = '/';
		}
	if (mkdir(d, 0700) && errno != EEXIST)
		ret = -errno;
	free(d);
	return ret;
}

/* Believe only what the user alone can have written. */
static int safe_stat(const char *what, const char *path, const struct stat *st, mode_t type)
{
	if ((st->st_mode & S_IFMT) != type) {
		log_err("%s %s is not a %s: refusing the trust state", what, path,
			type == S_IFDIR ? "directory" : "regular file");
		return -ENOTRECOVERABLE;
	}
	if (st->st_uid != geteuid() || (st->st_mode & 022)) {
		log_err("%s %s belongs to uid %u with mode %04o: another user could change what "
			"this host remembers (rollback, pinned keys); refusing it. It must be "
			"yours and not writable by group or others (chown, chmod 700), or give "
			"--state-dir",
			what, path, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
		return -ENOTRECOVERABLE;
	}
	return 0;
}

int tstate_open(struct tstate *t, const char *dir, bool create)
{
	struct stat st;
	int ret;

	t->dirfd = t->lockfd = -1;
	t->dir = strdup(dir);
	if (!t->dir)
		return -ENOMEM;
	if (create && (ret = mkdirs(dir)) < 0)
		return ret;
	t->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0)
		return -errno;
	if (fstat(t->dirfd, &st))
		return -errno;
	return safe_stat("state directory", dir, &st, S_IFDIR);
}

int tstate_lock(struct tstate *t)
{
	struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};
	int waited = 0;

	t->lockfd = openat(t->dirfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t->lockfd < 0)
		return -errno;
	/* the holder only reads, raises and writes a few bytes: a long wait is a stuck peer */
	while (flock(t->lockfd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (waited >= LOCK_WAIT_MS) {
			log_err("the trust state in %s stays locked by another process", t->dir);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
		waited += 10;
	}
	return 0;
}

void tstate_close(struct tstate *t)
{
	if (t->lockfd >= 0)
		close(t->lockfd); /* releases the flock */
	if (t->dirfd >= 0)
		close(t->dirfd);
	free(t->dir);
	t->dirfd = t->lockfd = -1;
	t->dir = NULL;
}

int tstate_read(struct tstate *t, const char *name, json_t **out)
{
	int fd = openat(t->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ret;
	char *buf = NULL, path[512];
	struct stat st;
	ssize_t n = 0;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ELOOP)
			log_err("%s is a symlink: refusing the trust state", path);
		return ret == -ELOOP ? -ENOTRECOVERABLE : ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if ((ret = safe_stat("state file", path, &st, S_IFREG)) < 0)
		goto out;
	ret = -ENOTRECOVERABLE;
	if (st.st_size > STATE_FILE_MAX || !(buf = malloc(STATE_FILE_MAX)))
		goto bad;
	n = pread(fd, buf, STATE_FILE_MAX, 0);
	if (n < 0 || !(*out = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL)) ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		goto bad;
	}
	ret = 0;
	goto out;
bad:
	log_err("state file %s cannot be read or is not what embassy wrote; move it away to "
		"start over for that store (what it remembered is then forgotten)",
		path);
out:
	free(buf);
	close(fd);
	return ret;
}

int tstate_write(struct tstate *t, const char *name, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), tmp[96], rnd[17];
	uint8_t r[8];
	size_t len = text ? strlen(text) : 0;
	int fd, ret = 0;

	if (!text)
		return -ENOMEM;
	randombytes_buf(r, sizeof(r));
	hex_encode(r, sizeof(r), rnd);
	snprintf(tmp, sizeof(tmp), ".tmp.%s", rnd);
	fd = openat(t->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(text);
		return -errno;
	}
	errno = 0;
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(t->dirfd, tmp, t->dirfd, name))
		ret = -errno;
	if (ret)
		unlinkat(t->dirfd, tmp, 0);
	else
		fsync(t->dirfd); /* the rename itself survives a crash */
	free(text);
	return ret;
}
