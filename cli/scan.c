/* scan: count what a seal will read — the regular files under its PATHs and their bytes,
 * each inode once, as the sealer counts them — in a thread of its own while the seal runs,
 * so that seal's progress has a total and an ETA (an operator must know whether a nightly
 * seal will finish in time). Only metadata is read (fstatat, getdents), a small fraction of
 * the seal's own work; until the walk is done the totals are marked partial. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define MAX_DEPTH 256 /* deeper trees are counted in part: the bar stops short, no harm */

struct inode_set {
	struct {
		dev_t dev;
		ino_t ino;
	} * v;
	size_t n, cap; /* cap: a power of two, or 0 */
};

struct scan {
	const char *const *paths;
	size_t npaths;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_uint_fast64_t files, bytes;
	atomic_bool done;
	struct inode_set links; /* the scan thread's own */
};

/* Seen this multiply-linked inode before? Adds it if not. Out of memory: say no (it is
 * counted twice, a slightly high total). */
static bool seen(struct inode_set *s, dev_t dev, ino_t ino)
{
	size_t i;

	if (s->n * 2 >= s->cap) {
		struct inode_set g = {.cap = s->cap ? 2 * s->cap : 256};

		g.v = calloc(g.cap, sizeof(*g.v));
		if (!g.v)
			return false;
		for (size_t k = 0; k < s->cap; k++)
			if (s->v[k].ino)
				seen(&g, s->v[k].dev, s->v[k].ino);
		free(s->v);
		*s = g;
	}
	for (i = (size_t)(ino * 0x9e3779b97f4a7c15ull ^ dev) & (s->cap - 1); s->v[i].ino;
	     i = (i + 1) & (s->cap - 1))
		if (s->v[i].ino == ino && s->v[i].dev == dev)
			return true;
	s->v[i].dev = dev;
	s->v[i].ino = ino ? ino : 1;
	s->n++;
	return false;
}

static void count(struct scan *sc, const struct stat *st)
{
	if (!S_ISREG(st->st_mode) || (st->st_nlink > 1 && seen(&sc->links, st->st_dev, st->st_ino)))
		return;
	atomic_fetch_add(&sc->files, 1);
	atomic_fetch_add(&sc->bytes, (uint_fast64_t)st->st_size);
}

static void walk(struct scan *sc, int dirfd, int depth)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	struct stat st;
	int fd;

	if (!d) {
		close(dirfd);
		return;
	}
	while (!atomic_load(&sc->stop) && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		count(sc, &st);
		if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH &&
		    (fd = openat(dirfd, de->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
			walk(sc, fd, depth + 1);
	}
	closedir(d);
}

static void *run(void *arg)
{
	struct scan *sc = arg;
	struct stat st;
	int fd;

	for (size_t i = 0; i < sc->npaths && !atomic_load(&sc->stop); i++) {
		if (lstat(sc->paths[i], &st) < 0)
			continue;
		count(sc, &st);
		if (S_ISDIR(st.st_mode) &&
		    (fd = open(sc->paths[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
			walk(sc, fd, 1);
	}
	atomic_store(&sc->done, true);
	return NULL;
}

struct scan *scan_start(const char *const *paths, size_t npaths)
{
	struct scan *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->paths = paths;
	sc->npaths = npaths;
	sc->started = pthread_create(&sc->thread, NULL, run, sc) == 0;
	if (!sc->started) {
		free(sc);
		return NULL; /* progress without a total */
	}
	return sc;
}

void scan_get(struct scan *sc, uint64_t *files, uint64_t *bytes, bool *done)
{
	*files = sc ? atomic_load(&sc->files) : 0;
	*bytes = sc ? atomic_load(&sc->bytes) : 0;
	*done = sc ? atomic_load(&sc->done) : false;
}

void scan_stop(struct scan *sc)
{
	if (!sc)
		return;
	atomic_store(&sc->stop, true);
	pthread_join(sc->thread, NULL);
	free(sc->links.v);
	free(sc);
}
