/* jlog: the encrypted, append-only journal — round trips, torn tails, damage, another store's
 * journal, locking, failed writes, and no plaintext on disk. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jlog.h"
#include "secmem.h"

static char dir[64];
static uint8_t sid[STORE_ID_LEN], key[KEY_LEN];

static void setup(void)
{
	cr_assert_eq(secmem_init(), 0);
	strcpy(dir, "/tmp/test_jlog.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	for (int i = 0; i < STORE_ID_LEN; i++)
		sid[i] = (uint8_t)(0x10 + i);
	for (int i = 0; i < KEY_LEN; i++)
		key[i] = (uint8_t)(0xa0 + i);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(jlog, .init = setup, .fini = teardown);

/* Record i: i+1 bytes (then every 97th a big one) of a pattern that depends on i. */
static size_t rec_len(int i)
{
	return i % 97 == 5 ? 200000 + (size_t)i : (size_t)i + 1;
}

static void rec_fill(int i, uint8_t *p)
{
	for (size_t k = 0; k < rec_len(i); k++)
		p[k] = (uint8_t)(i * 31 + k * 7);
}

struct seen {
	int n;
	bool bad;
	struct jlog_pos pos[512];
};

static int check_cb(void *ctx, const struct jlog_pos *pos, const uint8_t *body, size_t len)
{
	struct seen *s = ctx;
	uint8_t *want = malloc(rec_len(s->n));
	rec_fill(s->n, want);
	if (len != rec_len(s->n) || memcmp(body, want, len))
		s->bad = true;
	free(want);
	if (s->n < 512)
		s->pos[s->n] = *pos;
	s->n++;
	return 0;
}

static struct jlog *open_j(void)
{
	struct jlog *j = NULL;
	cr_assert_eq(jlog_open(dir, sid, key, &j), 0);
	return j;
}

static void append_n(struct jlog *j, int from, int to)
{
	uint8_t *buf = malloc(300000);
	struct jlog_pos pos;
	for (int i = from; i < to; i++) {
		rec_fill(i, buf);
		cr_assert_eq(jlog_append(j, buf, rec_len(i), &pos), 0);
	}
	free(buf);
}

static struct seen replay(struct jlog *j, int want_ret, struct jlog_replay_stats *st)
{
	struct seen s = {0};
	struct jlog_replay_stats dummy;
	cr_assert_eq(jlog_replay(j, 0, check_cb, &s, st ? st : &dummy), want_ret);
	cr_assert(!s.bad, "a replayed record differs from what was appended");
	return s;
}

/* After a refused or broken write, the journal (holding records 0..2) takes three more
 * records, and all six replay after a reopen. Closes j. */
static void three_more_then_six(struct jlog *j)
{
	append_n(j, 3, 6);
	cr_assert_eq(jlog_sync(j), 0);
	jlog_close(j);
	j = open_j();
	cr_assert_eq(replay(j, 0, NULL).n, 6);
	jlog_close(j);
}

static void seg_path(uint64_t no, char *out, size_t size)
{
	snprintf(out, size, "%s/seg-%016llx", dir, (unsigned long long)no);
}

static off_t file_size(const char *p)
{
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	return st.st_size;
}

Test(jlog, round_trip_in_order_across_segments)
{
	struct jlog *j = open_j();
	uint8_t *body;
	size_t len;

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 200);
	cr_assert_eq(jlog_rotate(j), 0);
	append_n(j, 200, 300);
	cr_assert_eq(jlog_sync(j), 0);
	jlog_close(j);

	j = open_j();
	struct seen s = replay(j, 0, NULL);
	cr_assert_eq(s.n, 300);
	/* positions read back the same records */
	cr_assert_eq(jlog_read(j, &s.pos[250], &body, &len), 0);
	cr_assert_eq(len, rec_len(250));
	free(body);
	/* a position one byte off is no record */
	struct jlog_pos p = s.pos[250];
	p.off++;
	cr_assert_eq(jlog_read(j, &p, &body, &len), -EBADMSG);
	/* appends after a restart go to a new segment */
	cr_assert_eq(jlog_start(j), 0);
	cr_assert_eq(jlog_current(j), 3);
	jlog_close(j);
}

Test(jlog, torn_tail_is_cut_and_later_appends_survive)
{
	struct jlog *j = open_j();
	char p[128];
	struct jlog_replay_stats st;

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 10);
	cr_assert_eq(jlog_sync(j), 0);
	jlog_close(j);
	seg_path(1, p, sizeof(p));
	off_t full = file_size(p);
	/* the crash cut the last record in half */
	cr_assert_eq(truncate(p, full - 5), 0);
	j = open_j();
	struct seen s = replay(j, 0, &st);
	cr_assert_eq(s.n, 9);
	cr_assert_gt(st.torn_bytes, 0);
	/* the tail was cut off, so the segment is clean for the next replay */
	cr_assert_lt(file_size(p), full - 5);
	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 9, 20);
	cr_assert_eq(jlog_sync(j), 0);
	jlog_close(j);
	j = open_j();
	s = replay(j, 0, &st);
	cr_assert_eq(s.n, 20);
	cr_assert_eq(st.torn_bytes, 0);
	jlog_close(j);
}

Test(jlog, garbage_after_the_last_record_is_dropped)
{
	struct jlog *j = open_j();
	char p[128];
	uint8_t junk[1000];
	int fd;

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 5);
	jlog_close(j);
	seg_path(1, p, sizeof(p));
	fd = open(p, O_WRONLY | O_APPEND);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13);
	junk[0] = 20; /* a plausible length prefix */
	junk[1] = junk[2] = junk[3] = 0;
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	j = open_j();
	cr_assert_eq(replay(j, 0, NULL).n, 5);
	jlog_close(j);
}

Test(jlog, a_flipped_byte_ends_the_last_segment_there)
{
	struct jlog *j = open_j();
	char p[128];
	uint8_t b;
	int fd;

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 10);
	jlog_close(j);
	j = open_j();
	struct seen s = replay(j, 0, NULL);
	jlog_close(j);
	seg_path(1, p, sizeof(p));
	fd = open(p, O_RDWR);
	cr_assert_eq(pread(fd, &b, 1, (off_t)s.pos[6].off + 30), 1);
	b ^= 1;
	cr_assert_eq(pwrite(fd, &b, 1, (off_t)s.pos[6].off + 30), 1);
	close(fd);
	j = open_j();
	cr_assert_eq(replay(j, 0, NULL).n, 6);
	jlog_close(j);
}

Test(jlog, damage_before_the_last_segment_is_an_error)
{
	struct jlog *j = open_j();
	char p[128];
	uint8_t b;
	int fd;

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 10);
	cr_assert_eq(jlog_rotate(j), 0);
	append_n(j, 10, 12);
	jlog_close(j);
	seg_path(1, p, sizeof(p));
	fd = open(p, O_RDWR);
	cr_assert_eq(pread(fd, &b, 1, 200), 1);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, 200), 1);
	close(fd);
	j = open_j();
	replay(j, -EBADMSG, NULL);
	jlog_close(j);
}

Test(jlog, another_store_or_key_is_refused)
{
	struct jlog *j = open_j();
	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 3);
	jlog_close(j);
	uint8_t other[STORE_ID_LEN];
	memcpy(other, sid, sizeof(other));
	other[0] ^= 1;
	cr_assert_eq(jlog_open(dir, other, key, &j), -EXDEV);
	uint8_t k2[KEY_LEN];
	memcpy(k2, key, sizeof(k2));
	k2[31] ^= 1;
	cr_assert_eq(jlog_open(dir, sid, k2, &j), -EXDEV);
}

Test(jlog, one_mount_at_a_time)
{
	struct jlog *j = open_j(), *j2 = NULL;
	jlog_lock_wait_ms = 100;
	cr_assert_eq(jlog_open(dir, sid, key, &j2), -EBUSY);
	jlog_close(j);
	cr_assert_eq(jlog_open(dir, sid, key, &j2), 0);
	jlog_close(j2);
}

static void *close_later(void *arg)
{
	const struct timespec t = {0, 300 * 1000 * 1000};
	nanosleep(&t, NULL); /* the ending mount's sync, as a stand-in */
	jlog_close(arg);
	return NULL;
}

/* `umount; mount --rw` at once: the old daemon may still hold the lock while it syncs the
 * journal; the new mount waits for it instead of failing (rw_posix's remounts failed so) */
Test(jlog, a_mount_that_is_ending_is_waited_for)
{
	struct jlog *j = open_j(), *j2 = NULL;
	pthread_t t;

	jlog_lock_wait_ms = 60000;
	cr_assert_eq(pthread_create(&t, NULL, close_later, j), 0);
	cr_assert_eq(jlog_open(dir, sid, key, &j2), 0);
	pthread_join(t, NULL);
	jlog_close(j2);
}

struct closer {
	struct jlog *j;
	unsigned long until; /* jlog_lock_polls() to wait for */
	atomic_bool done;    /* the waiter gave up or got in */
};

static void *close_after_polls(void *arg)
{
	struct closer *c = arg;
	const struct timespec t = {0, 1000 * 1000};

	while (jlog_lock_polls() < c->until && !atomic_load(&c->done))
		nanosleep(&t, NULL);
	jlog_close(c->j);
	return NULL;
}

/* The flake of rw_model_a/rw_posix at load 20-25: the old daemon's exit outlasted the fixed
 * wait. A holder that noted it is ending (its mount is gone) is waited for as long as it
 * lives: here well past jlog_lock_wait_ms (counted in the waiter's looks at the lock, not
 * in time), and the open succeeds once it lets go. A holder still serving is refused. */
Test(jlog, an_ending_holder_is_waited_for_past_the_fixed_wait)
{
	struct closer c = {.j = open_j()};
	struct jlog_holder h;
	struct jlog *j2 = NULL;
	pthread_t t;

	cr_assert_eq(jlog_lock_holder(dir, &h), 0);
	cr_assert(h.serving && h.alive && h.pid == getpid());
	jlog_lock_wait_ms = 100;
	cr_assert_eq(jlog_open(dir, sid, key, &j2), -EBUSY); /* serving: refused */
	jlog_ending(c.j);
	cr_assert_eq(jlog_lock_holder(dir, &h), 0);
	cr_assert(h.ending && !h.serving && h.alive);
	c.until = jlog_lock_polls() + 100 / 20 * 4; /* four times the fixed wait's looks */
	cr_assert_eq(pthread_create(&t, NULL, close_after_polls, &c), 0);
	int ret = jlog_open(dir, sid, key, &j2);
	atomic_store(&c.done, true);
	pthread_join(t, NULL);
	cr_assert_eq(ret, 0, "an ending holder was not waited for: %s", strerror(-ret));
	cr_assert_geq(jlog_lock_polls(), c.until);
	cr_assert_eq(jlog_lock_holder(dir, &h), 0);
	cr_assert(h.serving && h.pid == getpid());
	jlog_close(j2);
	cr_assert_eq(jlog_lock_holder(dir, &h), 0);
	cr_assert(!h.serving && !h.ending);
}

static bool file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	size_t n = strlen(needle), have = 0;
	char buf[65536 + 64];
	bool found = false;
	size_t got;

	cr_assert_not_null(f);
	while (!found && (got = fread(buf + have, 1, 65536, f)) > 0) {
		have += got;
		found = memmem(buf, have, needle, n) != NULL;
		if (have > n) {
			memmove(buf, buf + have - n, n);
			have = n;
		}
	}
	fclose(f);
	return found;
}

Test(jlog, no_plaintext_on_disk)
{
	const char *marker = "EMBASSY-PLAINTEXT-MARKER-7f3a";
	struct jlog *j = open_j();
	struct jlog_pos pos;
	char body[256];
	DIR *d;
	struct dirent *de;
	int files = 0;

	cr_assert_eq(jlog_start(j), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(body, sizeof(body), "%s %d %s", marker, i, marker);
		cr_assert_eq(jlog_append(j, body, strlen(body), &pos), 0);
	}
	cr_assert_eq(jlog_sync(j), 0);
	jlog_close(j);
	d = opendir(dir);
	while ((de = readdir(d))) {
		char p[512];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		cr_assert(!file_contains(p, marker), "%s holds the plaintext marker", p);
		cr_assert(!file_contains(p, "PLAINTEXT"), "%s holds plaintext", p);
		files++;
	}
	closedir(d);
	cr_assert_geq(files, 2); /* the lock and a segment */
}

/* A write the file system refuses (here: the file size limit, as a full disk would) leaves the
 * log exactly as it was: later appends and the replay see no trace of it. */
Test(jlog, a_refused_write_leaves_the_log_unchanged)
{
	struct jlog *j = open_j();
	struct jlog_pos pos;
	struct rlimit old, lim;
	char p[128];
	uint8_t *big = calloc(1, 200000);

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 3);
	seg_path(1, p, sizeof(p));
	off_t before = file_size(p);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 1000;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int ret = jlog_append(j, big, 200000, &pos);
	cr_assert(ret == -EFBIG || ret == -ENOSPC, "append over the limit gave %d", ret);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_assert_eq(file_size(p), before);
	three_more_then_six(j);
	free(big);
}

Test(jlog, dropped_segments_are_gone)
{
	struct jlog *j = open_j();
	uint64_t *v;
	size_t n;
	char p[128];

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 3);
	cr_assert_eq(jlog_rotate(j), 0);
	append_n(j, 3, 5);
	cr_assert_eq(jlog_drop(j, 2), -ENOENT); /* the current segment is never dropped */
	cr_assert_eq(jlog_drop(j, 1), 0);
	seg_path(1, p, sizeof(p));
	cr_assert_neq(access(p, F_OK), 0);
	cr_assert_eq(jlog_list(j, &v, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(v[0], 2);
	free(v);
	jlog_close(j);
}

/* ---- batches written after their reservation (outside the caller's lock) ---- */

static struct jlog_batch *reserve_rec(struct jlog *j, int i, uint8_t *buf)
{
	struct jlog_batch *b = NULL;
	size_t len = rec_len(i);
	rec_fill(i, buf);
	cr_assert_eq(jlog_reserve(j, &len, 1, &b), 0);
	jlog_batch_set(b, 0, buf, len / 2, buf + len / 2, len - len / 2); /* head, data apart */
	return b;
}

struct waiter {
	struct jlog *j;
	struct jlog_pos pos;
	int ret;
	uint8_t *body;
	size_t len;
	atomic_bool started, done;
};

static void *reader(void *arg)
{
	struct waiter *w = arg;
	atomic_store(&w->started, true);
	w->ret = jlog_read(w->j, &w->pos, &w->body, &w->len);
	atomic_store(&w->done, true);
	return NULL;
}

static void *syncer(void *arg)
{
	struct waiter *w = arg;
	atomic_store(&w->started, true);
	w->ret = jlog_sync(w->j);
	atomic_store(&w->done, true);
	return NULL;
}

/* A reserved record is read, and an fsync returns, only once it is written: a reader or an
 * fsync that comes first waits for it (not a wrong record, not a sync that skips it). */
Test(jlog, a_reserved_batch_is_waited_for_by_readers_and_sync)
{
	struct jlog *j = open_j();
	const struct timespec pause = {0, 30 * 1000 * 1000};
	uint8_t *b1 = malloc(300000), *want = malloc(300000);
	struct waiter r = {.j = j}, s = {.j = j};
	pthread_t tr, ts;

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 5);
	struct jlog_batch *b = reserve_rec(j, 5, b1);
	r.pos = *jlog_batch_pos(b, 0);
	cr_assert_eq(pthread_create(&tr, NULL, reader, &r), 0);
	cr_assert_eq(pthread_create(&ts, NULL, syncer, &s), 0);
	while (!atomic_load(&r.started) || !atomic_load(&s.started))
		sched_yield();
	nanosleep(&pause, NULL); /* room for a wrong early return; a right one never comes */
	cr_assert(!atomic_load(&r.done), "a read of a reserved record did not wait for it");
	cr_assert(!atomic_load(&s.done), "jlog_sync did not wait for a reserved record");
	cr_assert_eq(jlog_batch_write(j, b, false), 0);
	pthread_join(tr, NULL);
	pthread_join(ts, NULL);
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(s.ret, 0);
	rec_fill(5, want);
	cr_assert_eq(r.len, rec_len(5));
	cr_assert_eq(memcmp(r.body, want, r.len), 0);
	free(r.body);
	jlog_close(j);
	j = open_j();
	cr_assert_eq(replay(j, 0, NULL).n, 6);
	jlog_close(j);
	free(b1);
	free(want);
}

/* A reserved write that fails after a later one was written leaves a hole that replay stops
 * at: from then on jlog_sync and new records fail (nothing after the hole is ever reported
 * durable), the next open cuts the tail at the hole, and appends go on from there. */
Test(jlog, a_failed_reserved_write_breaks_the_journal_until_replay)
{
	struct jlog *j = open_j();
	uint8_t *b1 = malloc(300000), *b2 = malloc(300000), *one = malloc(16);
	struct jlog_replay_stats st;
	struct jlog_batch *a, *b, *c;
	struct rlimit old, lim;
	struct jlog_pos pos;
	size_t len = 8;

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 3);
	cr_assert_eq(jlog_sync(j), 0);
	a = reserve_rec(j, 3, b1);
	b = reserve_rec(j, 4, b2);
	uint64_t a_off = jlog_batch_pos(a, 0)->off;
	cr_assert_eq(jlog_batch_write(j, b, false), 0); /* the later one lands first */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)a_off + 10;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	cr_assert_neq(jlog_batch_write(j, a, false), 0);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_assert_eq(jlog_sync(j), -EIO);
	cr_assert_eq(jlog_reserve(j, &len, 1, &c), -EIO);
	memset(one, 1, 16);
	cr_assert_eq(jlog_append(j, one, 8, &pos), -EIO);
	cr_assert_eq(jlog_rotate(j), -EIO); /* no segment after the hole */
	cr_assert_eq(jlog_sync(j), -EIO);
	jlog_close(j);

	j = open_j();
	cr_assert_eq(replay(j, 0, &st).n, 3);
	cr_assert_gt(st.torn_bytes, 0);
	cr_assert_eq(st.segments, 1);
	cr_assert_eq(jlog_start(j), 0);
	three_more_then_six(j);
	free(b1);
	free(b2);
	free(one);
}

/* ---- replay reading only the head of a record it does not need whole ---- */

static bool never_whole(void *ctx, const uint8_t *head, size_t n)
{
	(void)ctx;
	(void)head;
	(void)n;
	return false;
}

struct peeked {
	int n;
	bool bad;
};

static int peek_cb(void *ctx, const struct jlog_pos *pos, const uint8_t *body, size_t len)
{
	struct peeked *p = ctx;
	uint8_t *want = malloc(rec_len(p->n));
	size_t head = len < JLOG_PEEK ? len : JLOG_PEEK;
	(void)pos;
	rec_fill(p->n, want);
	if (len != rec_len(p->n) || memcmp(body, want, head))
		p->bad = true;
	free(want);
	p->n++;
	return 0;
}

static int peek_replay(struct jlog *j, struct peeked *p, struct jlog_replay_stats *st)
{
	return jlog_replay_peek(j, 0, never_whole, peek_cb, p, st);
}

/* Replay that decrypts only heads sees the same heads and lengths as the full one (the
 * cipher taken apart agrees with libsodium's sealing), and still finds a damaged record by its
 * tag: a byte flipped deep inside a big record's data ends the last segment there. */
Test(jlog, replay_of_heads_verifies_every_tag)
{
	struct jlog *j = open_j();
	struct jlog_replay_stats st;
	struct peeked p = {0};
	char path[128];

	cr_assert_eq(jlog_start(j), 0);
	append_n(j, 0, 110); /* records 5 and 102 are 200 KB */
	cr_assert_eq(jlog_sync(j), 0);
	jlog_close(j);
	j = open_j();
	cr_assert_eq(peek_replay(j, &p, &st), 0);
	cr_assert(!p.bad, "a head or length differs from what was appended");
	cr_assert_eq(p.n, 110);
	cr_assert_eq(st.torn_bytes, 0);
	struct seen full = replay(j, 0, NULL); /* and the whole bodies still verify */
	cr_assert_eq(full.n, 110);
	uint64_t off = full.pos[102].off + full.pos[102].len - 5000;
	jlog_close(j);

	seg_path(1, path, sizeof(path));
	int fd = open(path, O_RDWR);
	uint8_t byte;
	cr_assert_eq(pread(fd, &byte, 1, (off_t)off), 1);
	byte ^= 0x40;
	cr_assert_eq(pwrite(fd, &byte, 1, (off_t)off), 1);
	close(fd);
	j = open_j();
	p = (struct peeked){0};
	cr_assert_eq(peek_replay(j, &p, &st), 0);
	cr_assert(!p.bad);
	cr_assert_eq(p.n, 102, "replay went past a damaged record (%d records)", p.n);
	cr_assert_gt(st.torn_bytes, 0);
	jlog_close(j);
}
