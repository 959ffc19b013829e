/* diskcache: see diskcache.h for the layout, the protocol and the bound. */
#include "diskcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "xdg.h"

#define HDR_LEN	   32
#define SUM_LEN	   16
#define NAME_LEN   (2 * ID_LEN)
#define NAME_MAX_  (3 + NAME_LEN + 12)	     /* "xx/" id [".<part>"] NUL */
#define PART_MAX   (RECORD_MAX_PLAIN / 1024) /* frames of a record, with room to spare */
#define TMP_PREFIX ".tmp."
#define NFANOUT	   256

static const uint8_t MAGIC[8] = "EMBDC01";

/* One cached record. Entries are created by put/scan and freed when evicted or dropped; a
 * reader that found one remembers its gen (unique per insertion) rather than its address,
 * because the address may be reused by the time it comes back to delete a torn file. */
struct entry {
	uint8_t id[ID_LEN];
	uint32_t part; /* REC_WHOLE, or a frame index */
	uint64_t size; /* file size: header + record */
	uint64_t gen;
	struct entry *hnext;	   /* hash chain */
	struct entry *prev, *next; /* LRU list, most recent at lru.next */
};

struct diskcache {
	/* immutable after open */
	int dirfd;  /* the store's cache directory */
	int lockfd; /* holds the flock that keeps other processes out */
	char *path; /* of the store's cache directory, for messages */
	uint64_t max_bytes;
	struct store_fetch_hook hook;
	atomic_uint tmpseq; /* makes temp names unique within the process */
	atomic_ullong hits; /* counted outside the lock, after the entry checked out */

	pthread_mutex_t lock;
	/* all below guarded by lock */
	struct entry **table;
	size_t nbuckets; /* power of two */
	struct entry lru;
	uint64_t next_gen;
	struct diskcache_stats st; /* all but hits */
};

/* ---- in-memory index (callers hold dc->lock) ---- */

static size_t bucket(size_t nbuckets, const uint8_t id[ID_LEN], uint32_t part)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h)); /* ids are keyed hashes: uniform already */
	h ^= (uint64_t)part * 0x9e3779b97f4a7c15ull;
	return (h ^ h >> 29) & (nbuckets - 1);
}

static struct entry *find(struct diskcache *dc, const uint8_t id[ID_LEN], uint32_t part)
{
	for (struct entry *e = dc->table[bucket(dc->nbuckets, id, part)]; e; e = e->hnext)
		if (e->part == part && !memcmp(e->id, id, ID_LEN))
			return e;
	return NULL;
}

static void lru_push(struct diskcache *dc, struct entry *e)
{
	e->prev = &dc->lru;
	e->next = dc->lru.next;
	e->next->prev = e;
	dc->lru.next = e;
}

static void lru_unlink(struct entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

/* Doubling keeps chains short however many small records the directory holds; if the
 * allocation fails, the old table still works, only slower. */
static void grow(struct diskcache *dc)
{
	size_t n = dc->nbuckets * 2;
	struct entry **t = calloc(n, sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < dc->nbuckets; i++)
		for (struct entry *e = dc->table[i], *nx; e; e = nx) {
			nx = e->hnext;
			e->hnext = t[bucket(n, e->id, e->part)];
			t[bucket(n, e->id, e->part)] = e;
		}
	free(dc->table);
	dc->table = t;
	dc->nbuckets = n;
}

/* Insert as most recently used. */
static void insert(struct diskcache *dc, struct entry *e)
{
	size_t b = bucket(dc->nbuckets, e->id, e->part);
	e->gen = ++dc->next_gen;
	e->hnext = dc->table[b];
	dc->table[b] = e;
	lru_push(dc, e);
	dc->st.bytes += e->size;
	if (++dc->st.entries > dc->nbuckets)
		grow(dc);
}

/* "xx/<id hex>" for a whole record, "xx/<id hex>.<frame>" for one frame */
static void entry_name(const uint8_t id[ID_LEN], uint32_t part, char out[NAME_MAX_])
{
	snprintf(out, 4, "%02x/", id[0]);
	hex_encode(id, ID_LEN, out + 3);
	if (part != REC_WHOLE)
		snprintf(out + 3 + NAME_LEN, NAME_MAX_ - 3 - NAME_LEN, ".%u", part);
}

/* Delete the entry and its file. Under the lock, so that a put of the same id cannot rename
 * a fresh file into place between our decision and the unlink. */
static void remove_entry(struct diskcache *dc, struct entry *e)
{
	char name[NAME_MAX_];
	struct entry **pp = &dc->table[bucket(dc->nbuckets, e->id, e->part)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	entry_name(e->id, e->part, name);
	if (unlinkat(dc->dirfd, name, 0) && errno != ENOENT)
		log_warn("disk cache: cannot remove %s: %s", name, strerror(errno));
	dc->st.bytes -= e->size;
	dc->st.entries--;
	free(e);
}

/* Evict least recently used entries until the bound holds; never `keep` (the entry just
 * put, which alone fits the bound). */
static void evict(struct diskcache *dc, const struct entry *keep)
{
	while (dc->st.bytes > dc->max_bytes && dc->lru.prev != &dc->lru && dc->lru.prev != keep) {
		remove_entry(dc, dc->lru.prev);
		dc->st.evictions++;
	}
}

/* ---- entry files ---- */

/* Covers the header only (which record, how long): the record itself is authenticated by the
 * store on every use (AEAD tag and id), which drops a bad entry and fetches it again, so
 * hashing every record here too doubled the crypto work of a read (measured in the bench). */
static void checksum(const uint8_t id[ID_LEN], const uint8_t len_part_le[8], uint8_t out[SUM_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SUM_LEN);
	crypto_generichash_update(&st, id, ID_LEN);
	crypto_generichash_update(&st, len_part_le, 4);
	/* a frame's entry also says which frame (a whole record's keeps the zeros of old) */
	if (len_part_le[4] | len_part_le[5] | len_part_le[6] | len_part_le[7])
		crypto_generichash_update(&st, len_part_le + 4, 4);
	crypto_generichash_final(&st, out, SUM_LEN);
}

/* bytes 12..15: 0 for a whole record, frame index + 1 for a frame */
static void hdr_fill(uint8_t hdr[HDR_LEN], const uint8_t id[ID_LEN], uint32_t part, uint32_t len)
{
	uint32_t p = part == REC_WHOLE ? 0 : part + 1;

	memset(hdr, 0, HDR_LEN);
	memcpy(hdr, MAGIC, sizeof(MAGIC));
	for (int i = 0; i < 4; i++) {
		hdr[8 + i] = (uint8_t)(len >> (8 * i));
		hdr[12 + i] = (uint8_t)(p >> (8 * i));
	}
	checksum(id, hdr + 8, hdr + 16);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 0, or -EBADMSG when the file ends early (it changed size under us: treat as torn). */
static int pread_all(int fd, uint8_t *p, size_t n, off_t off)
{
	while (n) {
		ssize_t r = pread(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EBADMSG;
		p += r;
		off += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read and check one entry file. 0 with a malloc'd *rec; -ENOENT if the file is gone;
 * -EBADMSG if torn (or not a regular file); -EIO if the disk fails to read it; other -errno
 * (-EMFILE, -ENOMEM) when the fault is ours, not the entry's. */
static int read_entry(struct diskcache *dc, const uint8_t id[ID_LEN], uint32_t part, uint8_t **rec,
		      size_t *len)
{
	char name[NAME_MAX_];
	uint8_t hdr[HDR_LEN], want[HDR_LEN], sum[SUM_LEN], *buf = NULL;
	struct stat sb;
	uint32_t n = 0;
	int fd, ret;

	entry_name(id, part, name);
	fd = openat(dc->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno; /* ELOOP: a symlink, not ours */
	ret = fstat(fd, &sb) ? -errno : pread_all(fd, hdr, HDR_LEN, 0);
	if (ret)
		goto out;
	for (int i = 0; i < 4; i++)
		n |= (uint32_t)hdr[8 + i] << (8 * i);
	ret = -EBADMSG;
	hdr_fill(want, id, part, n);
	if (memcmp(hdr, MAGIC, sizeof(MAGIC)) || memcmp(hdr + 12, want + 12, 4) ||
	    (uint64_t)sb.st_size != HDR_LEN + (uint64_t)n)
		goto out;
	ret = -ENOMEM;
	if (!(buf = malloc(n ? n : 1)))
		goto out;
	if ((ret = pread_all(fd, buf, n, HDR_LEN)))
		goto out;
	checksum(id, hdr + 8, sum);
	ret = memcmp(sum, hdr + 16, SUM_LEN) ? -EBADMSG : 0;
	if (!ret)
		futimens(fd, NULL); /* mtime = last use: the LRU order the next open rebuilds */
out:
	close(fd);
	if (ret)
		free(buf);
	else {
		*rec = buf;
		*len = n;
	}
	return ret;
}

/* Write header + record to a new temp file in the entry's fan-out dir (same filesystem as
 * the final name, so the rename is atomic). */
static int write_temp(struct diskcache *dc, const struct rec_ref *ref, uint32_t part,
		      const uint8_t *rec, uint32_t len, char tmp[64])
{
	uint8_t hdr[HDR_LEN];
	int fd, ret;

	snprintf(tmp, 64, "%02x/" TMP_PREFIX "%ld.%u", ref->id[0], (long)getpid(),
		 atomic_fetch_add(&dc->tmpseq, 1));
	fd = openat(dc->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	hdr_fill(hdr, ref->id, part, len);
	ret = write_all(fd, hdr, HDR_LEN);
	if (!ret)
		ret = write_all(fd, rec, len);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlinkat(dc->dirfd, tmp, 0);
	return ret;
}

/* ---- the hook ---- */

static int dc_get(void *ctx, const struct rec_ref *ref, uint32_t part, uint8_t **rec, size_t *len)
{
	struct diskcache *dc = ctx;
	struct entry *e;
	uint64_t gen;
	bool forget;
	int ret;

	pthread_mutex_lock(&dc->lock);
	e = find(dc, ref->id, part);
	if (!e) {
		dc->st.misses++;
		pthread_mutex_unlock(&dc->lock);
		return -ENOENT;
	}
	lru_unlink(e);
	lru_push(dc, e);
	gen = e->gen;
	pthread_mutex_unlock(&dc->lock);

	ret = read_entry(dc, ref->id, part, rec, len);
	if (!ret) {
		atomic_fetch_add(&dc->hits, 1);
		return 0;
	}
	/* Gone (removed behind our back), torn or unreadable: forget it, unless it was dropped
	 * and put again meanwhile. Out of fds or memory says nothing about the entry: keep it. */
	forget = ret == -ENOENT || ret == -EBADMSG || ret == -EIO;
	pthread_mutex_lock(&dc->lock);
	dc->st.misses++;
	e = find(dc, ref->id, part);
	if (forget && e && e->gen == gen) {
		if (ret != -ENOENT) {
			dc->st.torn++;
			log_debug("disk cache %s: torn entry deleted (%s)", dc->path,
				  strerror(-ret));
		}
		remove_entry(dc, e);
	}
	pthread_mutex_unlock(&dc->lock);
	return -ENOENT;
}

static void dc_put(void *ctx, const struct rec_ref *ref, uint32_t part, const uint8_t *rec,
		   size_t len)
{
	struct diskcache *dc = ctx;
	struct entry *e = NULL;
	char tmp[64];
	int ret;

	if (!rec || len > UINT32_MAX || HDR_LEN + (uint64_t)len > dc->max_bytes ||
	    (part != REC_WHOLE && part >= PART_MAX))
		return; /* would evict everything else and still not fit */
	pthread_mutex_lock(&dc->lock);
	ret = find(dc, ref->id, part) ? -EEXIST : 0; /* ids name content: nothing to update */
	pthread_mutex_unlock(&dc->lock);
	if (ret || !(e = calloc(1, sizeof(*e))))
		return;
	memcpy(e->id, ref->id, ID_LEN);
	e->part = part;
	e->size = HDR_LEN + len;
	if ((ret = write_temp(dc, ref, part, rec, (uint32_t)len, tmp)))
		goto out;

	pthread_mutex_lock(&dc->lock);
	if (find(dc, ref->id, part))
		ret = -EEXIST; /* a concurrent put of the same record won */
	else {
		char name[NAME_MAX_];
		entry_name(ref->id, part, name);
		ret = renameat(dc->dirfd, tmp, dc->dirfd, name) ? -errno : 0;
	}
	if (!ret) {
		insert(dc, e);
		dc->st.puts++;
		evict(dc, e);
		e = NULL;
	}
	pthread_mutex_unlock(&dc->lock);
	if (ret)
		unlinkat(dc->dirfd, tmp, 0);
out:
	if (ret && ret != -EEXIST)
		log_debug("disk cache: put failed: %s",
			  strerror(-ret)); /* e.g. ENOSPC: a miss later */
	free(e);
}

static void dc_drop(void *ctx, const struct rec_ref *ref, uint32_t part)
{
	struct diskcache *dc = ctx;
	struct entry *e;

	pthread_mutex_lock(&dc->lock);
	if ((e = find(dc, ref->id, part))) {
		remove_entry(dc, e);
		dc->st.drops++;
	}
	pthread_mutex_unlock(&dc->lock);
}

struct store_fetch_hook *diskcache_hook(struct diskcache *dc)
{
	return &dc->hook;
}

void diskcache_get_stats(struct diskcache *dc, struct diskcache_stats *out)
{
	pthread_mutex_lock(&dc->lock);
	*out = dc->st;
	pthread_mutex_unlock(&dc->lock);
	out->hits = atomic_load(&dc->hits);
}

/* ---- open: directories, permissions, scan ---- */

/* Whoever can write the cache can make every mount refetch forever (or fill the disk), and
 * one owned by someone else is not ours to use. */
static int check_dir_fd(int fd, const char *path)
{
	struct stat sb;

	if (fstat(fd, &sb))
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if (sb.st_uid != geteuid()) {
		log_err("disk cache %s: owned by uid %u, not by us (uid %u): refused", path,
			(unsigned)sb.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		log_err("disk cache %s: writable by group or others (mode %03o): refused", path,
			(unsigned)(sb.st_mode & 0777));
		return -EPERM;
	}
	return 0;
}

/* mkdir -p with 0700 for every component we create. */
static int mkdir_p(char *path)
{
	for (char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		int r = mkdir(path, 0700);
		int err = errno;
		if (p)
			*p = '/';
		if (r && err != EEXIST)
			return -err;
		if (!p)
			return 0;
	}
}

static int root_path(const char *dir, char *out, size_t size)
{
	char *x = dir ? NULL : xdg_dir("XDG_CACHE_HOME", ".cache");
	int n;

	if (!dir && !x) {
		log_err("disk cache: no directory given and neither XDG_CACHE_HOME nor HOME is an "
			"absolute path");
		return -EINVAL;
	}
	n = snprintf(out, size, "%s", dir ? dir : x);
	free(x);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* Open (creating) path as a directory and check it. */
static int open_dir(const char *path, int *fd)
{
	int ret;

	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if ((ret = check_dir_fd(*fd, path))) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

struct seen {
	struct timespec mtime;
	struct entry *e;
};

struct scan {
	struct seen *v;
	size_t n, cap;
	size_t stray, torn;
};

static int seen_add(struct scan *sc, const uint8_t id[ID_LEN], uint32_t part, const struct stat *sb)
{
	struct entry *e;

	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 1024;
		struct seen *v = realloc(sc->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sc->v = v;
		sc->cap = cap;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	memcpy(e->id, id, ID_LEN);
	e->part = part;
	e->size = (uint64_t)sb->st_size;
	sc->v[sc->n++] = (struct seen){sb->st_mtim, e};
	return 0;
}

/* ".<decimal>" of a frame's entry: true with *part set, false if it is not one. */
static bool parse_part(const char *s, uint32_t *part)
{
	uint32_t v = 0;

	if (!*s || (*s == '0' && s[1]) || strlen(s) > 7)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	if (v >= PART_MAX)
		return false;
	*part = v;
	return true;
}

/* The id in the first NAME_LEN characters of name. */
static int hex_decode_n(const char *name, uint8_t id[ID_LEN])
{
	char h[NAME_LEN + 1];

	memcpy(h, name, NAME_LEN);
	h[NAME_LEN] = '\0';
	return hex_decode(h, id, ID_LEN);
}

/* One directory entry of fan-out dir `fan`. Only sizes are checked here: reading 2 GiB to
 * verify checksums would make every mount slow; get() checks each entry on use. */
static int scan_name(struct scan *sc, int dfd, unsigned fan, const char *name)
{
	uint8_t id[ID_LEN];
	uint32_t part = REC_WHOLE;
	struct stat sb;

	if (!strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX))) {
		/* a put cut short by a crash; the flock says no put of ours is running */
		if (!unlinkat(dfd, name, 0))
			sc->stray++;
		return 0;
	}
	if (strlen(name) > NAME_LEN && name[NAME_LEN] == '.' &&
	    !parse_part(name + NAME_LEN + 1, &part))
		return 0; /* not ours: leave it alone */
	if ((strlen(name) != NAME_LEN && part == REC_WHOLE) || hex_decode_n(name, id) ||
	    id[0] != fan)
		return 0;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return 0;
	if (!S_ISREG(sb.st_mode) || sb.st_size < HDR_LEN ||
	    (uint64_t)sb.st_size > HDR_LEN + (uint64_t)UINT32_MAX) {
		if (!unlinkat(dfd, name, 0))
			sc->torn++;
		return 0;
	}
	return seen_add(sc, id, part, &sb);
}

static int scan_fan(struct diskcache *dc, struct scan *sc, unsigned fan)
{
	char sub[4], msg[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int dfd, ret;

	snprintf(sub, sizeof(sub), "%02x", fan);
	if (mkdirat(dc->dirfd, sub, 0700) && errno != EEXIST)
		return -errno;
	if ((dfd = openat(dc->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	snprintf(msg, sizeof(msg), "%s/%s", dc->path, sub);
	if ((ret = check_dir_fd(dfd, msg)) || !(d = fdopendir(dfd))) {
		ret = ret ? ret : -errno;
		close(dfd);
		return ret;
	}
	while (!ret && (errno = 0, de = readdir(d)))
		ret = scan_name(sc, dfd, fan, de->d_name);
	if (!ret && errno)
		ret = -errno;
	closedir(d);
	return ret;
}

static int cmp_mtime(const void *a, const void *b)
{
	const struct timespec *x = &((const struct seen *)a)->mtime;
	const struct timespec *y = &((const struct seen *)b)->mtime;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return (x->tv_nsec > y->tv_nsec) - (x->tv_nsec < y->tv_nsec);
}

/* Build the index from the directory: oldest mtime = least recently used. */
static int scan(struct diskcache *dc)
{
	struct scan sc = {0};
	int ret = 0;

	for (unsigned i = 0; !ret && i < NFANOUT; i++)
		ret = scan_fan(dc, &sc, i);
	if (!ret && sc.n) /* qsort wants a non-NULL array even when empty */
		qsort(sc.v, sc.n, sizeof(*sc.v), cmp_mtime);
	for (size_t i = 0; i < sc.n; i++)
		if (ret)
			free(sc.v[i].e);
		else
			insert(dc, sc.v[i].e); /* each goes to the head: the newest ends first */
	free(sc.v);
	if (ret)
		return ret;
	dc->st.torn = sc.torn;
	evict(dc, NULL); /* the bound may have been lowered since the last mount */
	log_info("disk cache %s: %llu entries, %llu bytes; removed %zu temp and %zu torn files",
		 dc->path, (unsigned long long)dc->st.entries, (unsigned long long)dc->st.bytes,
		 sc.stray, sc.torn);
	return 0;
}

int diskcache_lock_wait_ms = 10000;

/* One process per store cache: two indexes over one directory would each keep their own
 * bound, and one's temp-file cleanup would delete the other's puts in flight. A mount that
 * was just unmounted holds the lock until its daemon has exited (a moment, seconds on a
 * loaded host), so `umount; mount` waits for it; a mount that stays is -EBUSY. */
static int lock_dir(struct diskcache *dc)
{
	const struct timespec step = {0, 20 * 1000 * 1000};
	bool said = false;

	dc->lockfd = openat(dc->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (dc->lockfd < 0)
		return -errno;
	for (int waited = 0;; waited += 20) {
		if (!flock(dc->lockfd, LOCK_EX | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (waited >= diskcache_lock_wait_ms)
			break;
		if (!said && waited >= 500) {
			log_info(
			    "disk cache %s is in use (a mount that is ending?); waiting up to %d s",
			    dc->path, diskcache_lock_wait_ms / 1000);
			said = true;
		}
		nanosleep(&step, NULL);
	}
	log_warn("disk cache %s: in use by another process", dc->path);
	return -EBUSY;
}

static bool valid_store_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return false;
	return strspn(s, "0123456789abcdef") == n; /* also keeps '/' and ".." out of the path */
}

static struct diskcache *dc_new(uint64_t max_bytes)
{
	struct diskcache *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return NULL;
	dc->nbuckets = 1024;
	if (!(dc->table = calloc(dc->nbuckets, sizeof(*dc->table)))) {
		free(dc);
		return NULL;
	}
	dc->dirfd = dc->lockfd = -1;
	dc->max_bytes = max_bytes;
	dc->lru.prev = dc->lru.next = &dc->lru;
	pthread_mutex_init(&dc->lock, NULL);
	dc->hook = (struct store_fetch_hook){dc_get, dc_put, dc_drop, dc};
	return dc;
}

/* Create and check <root> and <root>/<store id>; returns the latter's fd and path. */
static int open_store_dir(const char *dir, const char *store_id_hex, int *fd, char **spath)
{
	char path[PATH_MAX];
	size_t n;
	int ret, rootfd = -1;

	*fd = -1;
	if ((ret = root_path(dir, path, sizeof(path) - 66)))
		return ret;
	if ((ret = mkdir_p(path)) || (ret = open_dir(path, &rootfd)))
		goto out;
	n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "/%s", store_id_hex);
	if (!(ret = open_dir(path, fd)) && !(*spath = strdup(path)))
		ret = -ENOMEM;
out:
	if (ret && ret != -EPERM) /* -EPERM was logged with its reason */
		log_err("disk cache %s: %s", path, strerror(-ret));
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

int diskcache_open(const char *dir, const char *store_id_hex, uint64_t max_bytes,
		   struct diskcache **out)
{
	struct diskcache *dc = NULL;
	int ret;

	*out = NULL;
	if (!valid_store_id(store_id_hex) || (dir && !dir[0]))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	ret = -ENOMEM;
	if (!(dc = dc_new(max_bytes)))
		goto out;
	if ((ret = open_store_dir(dir, store_id_hex, &dc->dirfd, &dc->path)))
		goto out;
	if ((ret = lock_dir(dc)) || (ret = scan(dc)))
		goto out;
	*out = dc;
	dc = NULL;
out:
	diskcache_close(dc);
	return ret;
}

void diskcache_close(struct diskcache *dc)
{
	if (!dc)
		return;
	for (struct entry *e = dc->lru.next, *nx; e != &dc->lru; e = nx) {
		nx = e->next;
		free(e);
	}
	free(dc->table);
	if (dc->dirfd >= 0)
		close(dc->dirfd);
	if (dc->lockfd >= 0)
		close(dc->lockfd); /* releases the flock */
	pthread_mutex_destroy(&dc->lock);
	free(dc->path);
	free(dc);
}
