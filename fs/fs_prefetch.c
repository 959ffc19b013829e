/* fs_prefetch: fetching records before a reader asks for them, on a small thread pool.
 *
 * Protocol: callers queue jobs (lists of record references, copied); workers run each job
 * with store_fetch_many, which coalesces neighbours in a pack into one ranged read, verifies
 * and opens the records on all cores and offers the plaintext to the memory cache. Readers
 * then find them there. Nothing is returned to the caller, and a failed job is forgotten: the
 * reader who needs the record fetches it again and gets the error itself.
 *
 * Three sources of jobs:
 *  - sequential readers of one open file (prefetch_on_read): a read that starts near the
 *    highest offset read so far (within PF_SLACK either way, so the kernel's readahead
 *    arriving out of order on several threads still counts) is sequential; a sequential
 *    stream keeps `window` bytes queued ahead of its high-water mark, the window doubling
 *    from two average chunks up to PF_CAP (at most a quarter of the memory cache, so a
 *    prefetched chunk is not evicted before its reader arrives). A jump resets the window.
 *    Windows are cut into jobs of PF_JOB_MAX so the first chunks land early.
 *  - a file read at random (PF_RANDOM_JUMPS non-sequential reads, e.g. SQLite lookups): the
 *    whole file is queued once, low priority, if it fits in the queue bound — so it soon
 *    reads from memory, and every later cold miss costs nothing.
 *  - a directory of many small files whose records lie next to each other in a pack, when the
 *    first of them is opened (cp -a, rsync, tar; not opendir: find and ls read no file)
 *    (prefetch_dir_files): up to PF_DIR_MAX of them per call (a range of the listing; the
 *    caller cuts a directory into ranges so the first land early), in the low-priority
 *    queue, with a callback once they are in the memory cache.
 *  - a loaded directory listing (prefetch_dir_trees): its subdirectories' listings, and
 *    theirs in turn (workers decode what they fetched), within a budget of a quarter of the
 *    memory cache per mount; so a cold `ls -R` or `find` costs a few ranged reads per level
 *    instead of a round trip per directory.
 *
 * Bounds: queued and running bytes <= half the memory cache (further jobs are dropped, not
 * waited for); directory-file jobs at most PF_DIR_QUEUED. Lock: pf.lock guards the queues and
 * counters; a stream's fields are guarded by its own lock. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "fs_int.h"
#include "log.h"

#define PF_THREADS	3
#define PF_CAP		(64u << 20) /* largest window */
#define PF_JOB_MAX	(8u << 20)  /* largest single job */
#define PF_SLACK	(4u << 20)  /* reordering tolerated in a sequential stream */
#define PF_DIR_MAX	(32u << 20) /* small files prefetched per directory */
#define PF_DIR_QUEUED	(64u << 20) /* directory-file jobs queued at most */
#define PF_DIR_MIN	8	    /* fewer small files than this: not worth it */
#define PF_SMALL	(1u << 20)  /* a "small" file: one chunk of at most this */
#define PF_NEAR		(64u << 10) /* records closer than this count as neighbours */
#define PF_TREE_BATCH	1024	    /* listings per tree job */
#define PF_RANDOM_JUMPS 8	    /* random reads before a file is filled in the background */
#define PF_SEQ_DROP	2	    /* reads in a row that make a stream whose frames are dropped */

enum { Q_URGENT, Q_LOW, NQ };

struct job {
	struct job *next;
	enum record_type type;
	bool recurse; /* trees: queue the subdirectories of what was fetched */
	/* called once, on the worker after the job ran (true) or wherever it was dropped
	 * (false); NULL: nothing to call */
	void (*done)(void *arg, bool ran);
	void *arg;
	uint64_t bytes;
	size_t n;
	struct rec_ref refs[];
};

struct fs_prefetch {
	struct store *s;		  /* thread-safe */
	uint64_t cap, initial, queue_max; /* immutable */
	pthread_mutex_t lock;
	pthread_cond_t cond;		 /* lock: signalled when a job is queued or stop is set */
	struct job *head[NQ], *tail[NQ]; /* lock */
	uint64_t queued;		 /* lock: bytes of queued and running jobs */
	uint64_t dir_queued;		 /* lock: bytes of queued directory-file jobs */
	uint64_t tree_budget;		 /* lock: bytes of listings still allowed to prefetch */
	bool stop;			 /* lock */
	pthread_t threads[PF_THREADS];
	int nthreads;
};

/* Free j, calling its done callback (false: it did not run). */
static void job_drop(struct job *j)
{
	if (j && j->done)
		j->done(j->arg, false);
	free(j);
}

static struct job *job_new(enum record_type type, size_t cap)
{
	struct job *j = calloc(1, sizeof(*j) + cap * sizeof(j->refs[0]));

	if (j)
		j->type = type;
	return j;
}

/* Queue j (taking it) unless the queues are full. */
static void enqueue(struct fs_prefetch *p, int q, struct job *j)
{
	bool drop;

	if (!j || j->n == 0) {
		job_drop(j);
		return;
	}
	pthread_mutex_lock(&p->lock);
	drop = p->stop || p->queued + j->bytes > p->queue_max ||
	       (q == Q_LOW && p->dir_queued + j->bytes > PF_DIR_QUEUED);
	if (!drop) {
		p->queued += j->bytes;
		if (q == Q_LOW)
			p->dir_queued += j->bytes;
		if (p->tail[q])
			p->tail[q]->next = j;
		else
			p->head[q] = j;
		p->tail[q] = j;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	if (drop)
		job_drop(j);
}

/* Queue refs in jobs of at most PF_JOB_MAX bytes; done (if any) goes with the last job. */
static void enqueue_split(struct fs_prefetch *p, int q, enum record_type type,
			  const struct rec_ref *refs, size_t n, void (*done)(void *, bool),
			  void *arg)
{
	struct job *j = NULL;

	for (size_t i = 0; i < n; i++) {
		if (j && j->bytes + refs[i].len > PF_JOB_MAX) {
			enqueue(p, q, j);
			j = NULL;
		}
		if (!j && !(j = job_new(type, n - i)))
			break;
		j->refs[j->n++] = refs[i];
		j->bytes += refs[i].len;
	}
	if (j) {
		j->done = done;
		j->arg = arg;
	} else if (done) {
		done(arg, false);
	}
	enqueue(p, q, j);
}

/* ---- workers ---- */

static void queue_subtrees(struct fs_prefetch *p, const struct tree *t, bool recurse);

static void run_job(struct fs_prefetch *p, struct job *j)
{
	struct cbuf **bufs = NULL;
	int *res = NULL;

	if (store_framed(p->s, j->type)) { /* frames go to the cache one by one */
		store_prefetch_frames(p->s, j->refs, j->n);
		goto out;
	}
	bufs = calloc(j->n, sizeof(*bufs));
	res = calloc(j->n, sizeof(*res));
	if (bufs && res && store_fetch_many(p->s, j->type, j->refs, j->n, bufs, res) == 0) {
		for (size_t i = 0; j->recurse && i < j->n; i++) {
			struct tree *t = NULL;
			if (res[i] == 0 &&
			    tree_decode(bufs[i]->data, bufs[i]->len, store_format(p->s), &t) == 0 &&
			    store_reloc_tree(p->s, t) == 0)
				queue_subtrees(p, t, true);
			tree_free(t);
		}
	}
	for (size_t i = 0; bufs && i < j->n; i++)
		if (bufs[i])
			cbuf_unref(bufs[i]); /* the memory cache keeps its own reference */
	free(bufs);
	free(res);
out:
	if (j->done)
		j->done(j->arg, true);
	j->done = NULL;
}

static struct job *next_job(struct fs_prefetch *p)
{
	struct job *j = NULL;

	pthread_mutex_lock(&p->lock);
	while (!p->stop && !p->head[Q_URGENT] && !p->head[Q_LOW])
		pthread_cond_wait(&p->cond, &p->lock);
	for (int q = 0; !p->stop && !j && q < NQ; q++) {
		j = p->head[q];
		if (!j)
			continue;
		p->head[q] = j->next;
		if (!p->head[q])
			p->tail[q] = NULL;
		if (q == Q_LOW)
			p->dir_queued -= j->bytes;
	}
	pthread_mutex_unlock(&p->lock);
	return j;
}

static void *worker(void *arg)
{
	struct fs_prefetch *p = arg;
	struct job *j;

	while ((j = next_job(p)) != NULL) {
		run_job(p, j);
		pthread_mutex_lock(&p->lock);
		p->queued -= j->bytes;
		pthread_mutex_unlock(&p->lock);
		free(j);
	}
	return NULL;
}

int prefetch_new(struct store *s, size_t memory_cache, struct fs_prefetch **out)
{
	struct fs_prefetch *p = calloc(1, sizeof(*p));
	uint32_t mn, avg, mx;
	sigset_t all, old;

	if (!p)
		return -ENOMEM;
	store_chunker_params(s, &mn, &avg, &mx);
	p->s = s;
	p->cap = memory_cache / 4 < PF_CAP ? memory_cache / 4 : PF_CAP;
	p->initial = 2ull * (avg ? avg : 1u << 20);
	p->queue_max = memory_cache / 2;
	p->tree_budget = memory_cache / 4;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	/* signals (SIGTERM: unmount) belong to the FUSE loop's thread, never to a worker */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < PF_THREADS; i++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
			p->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = p;
	return 0;
}

void prefetch_free(struct fs_prefetch *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (int q = 0; q < NQ; q++)
		for (struct job *j = p->head[q], *n; j; j = n) {
			n = j->next;
			job_drop(j);
		}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

/* ---- sequential streams ---- */

void prefetch_stream_init(struct prefetch_stream *ps)
{
	memset(ps, 0, sizeof(*ps));
	pthread_mutex_init(&ps->lock, NULL);
}

void prefetch_stream_destroy(struct prefetch_stream *ps)
{
	pthread_mutex_destroy(&ps->lock);
}

/* Update the stream with a read; returns the byte range to queue ([*from, *to)), if any. */
static bool stream_advance(struct fs_prefetch *p, struct prefetch_stream *ps, uint64_t off,
			   uint64_t end, uint64_t *from, uint64_t *to)
{
	bool seq = off <= ps->hi + PF_SLACK && end + PF_SLACK >= ps->hi;

	if (!seq && ps->window)
		ps->jumps++;
	if (!seq || ps->window == 0) {
		ps->seq = 0;
		ps->window = p->initial;
		ps->ahead = end;
		ps->hi = end;
	}
	ps->seq += seq;
	if (end > ps->hi)
		ps->hi = end;
	if (!ps->seq || ps->ahead >= ps->hi + ps->window / 2)
		return false;
	*from = ps->ahead > ps->hi ? ps->ahead : ps->hi;
	*to = ps->hi + ps->window;
	ps->window = ps->window * 2 < p->cap ? ps->window * 2 : p->cap;
	return true;
}

/* Queue every chunk of a file read at random, once (bounded by the queue's byte limit). */
static void fill_file(struct fs_prefetch *p, const struct tree_entry *e)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < e->nchunks; i++)
		bytes += e->chunks[i].rec.plen;
	if (bytes > p->queue_max)
		return; /* bigger than what may be in flight: leave it to the reads */
	struct rec_ref *refs = malloc(e->nchunks * sizeof(*refs));
	if (!refs)
		return;
	for (size_t i = 0; i < e->nchunks; i++)
		refs[i] = e->chunks[i].rec;
	enqueue_split(p, Q_LOW, REC_DATA, refs, e->nchunks, NULL, NULL);
	free(refs);
}

bool prefetch_on_read(struct fs_prefetch *p, struct prefetch_stream *ps, const struct tree_entry *e,
		      uint64_t off, size_t len)
{
	uint64_t from = 0, to = 0;
	size_t first = 0, last = 0;
	bool go, fill = false, stream;

	if (!p || e->nchunks == 0)
		return false;
	pthread_mutex_lock(&ps->lock);
	go = stream_advance(p, ps, off, off + len, &from, &to);
	stream = ps->seq >= PF_SEQ_DROP;
	if (ps->jumps >= PF_RANDOM_JUMPS && !ps->filled && e->nchunks > 1) {
		ps->filled = fill = true;
		go = false;
	}
	if (go) {
		/* whole chunks that start at or after from: the one being read is the reader's */
		first = tree_chunk_at(e, from);
		if (first < e->nchunks && e->chunks[first].foff < from)
			first++;
		for (last = first; last < e->nchunks && e->chunks[last].foff < to; last++)
			;
		/* below `to`, what is not queued is a hole or the reader's own chunk */
		ps->ahead = to;
		if (last > first && e->chunks[last - 1].foff + e->chunks[last - 1].rec.plen > to)
			ps->ahead = e->chunks[last - 1].foff + e->chunks[last - 1].rec.plen;
	}
	pthread_mutex_unlock(&ps->lock);
	if (fill)
		fill_file(p, e);
	if (!go || last <= first)
		return stream;
	struct rec_ref *refs = malloc((last - first) * sizeof(*refs));
	if (!refs)
		return stream;
	for (size_t i = first; i < last; i++)
		refs[i - first] = e->chunks[i].rec;
	enqueue_split(p, Q_URGENT, REC_DATA, refs, last - first, NULL, NULL);
	free(refs);
	return stream;
}

/* ---- directories ---- */

static int ref_order(const void *a, const void *b)
{
	const struct rec_ref *x = a, *y = b;
	int c = memcmp(x->pack, y->pack, PACK_ID_LEN);

	return c ? c : x->off < y->off ? -1 : x->off > y->off;
}

/* Are most of the records (sorted) neighbours in their packs? */
static bool mostly_neighbours(const struct rec_ref *r, size_t n)
{
	size_t near = 0;

	for (size_t i = 1; i < n; i++)
		near += !memcmp(r[i].pack, r[i - 1].pack, PACK_ID_LEN) &&
			r[i].off >= r[i - 1].off + r[i - 1].len &&
			r[i].off <= r[i - 1].off + r[i - 1].len + PF_NEAR;
	return near * 2 >= n;
}

void prefetch_dir_files(struct fs_prefetch *p, const struct tree *t, size_t from, size_t to,
			void (*done)(void *, bool), void *arg)
{
	struct rec_ref *refs;
	size_t n = 0;
	uint64_t bytes = 0;

	refs = p ? malloc((t->n ? t->n : 1) * sizeof(*refs)) : NULL;
	if (!refs) {
		if (done)
			done(arg, false);
		return;
	}
	for (size_t i = from; i < to && i < t->n && bytes < PF_DIR_MAX; i++) {
		const struct tree_entry *e = &t->e[i];
		if (e->type != ENT_FILE || e->nchunks != 1 || e->size > PF_SMALL)
			continue;
		refs[n++] = e->chunks[0].rec;
		bytes += e->chunks[0].rec.len;
	}
	qsort(refs, n, sizeof(*refs), ref_order);
	if (n >= PF_DIR_MIN && mostly_neighbours(refs, n))
		enqueue_split(p, Q_LOW, REC_DATA, refs, n, done, arg);
	else if (done)
		done(arg, false);
	free(refs);
}

static void queue_subtrees(struct fs_prefetch *p, const struct tree *t, bool recurse)
{
	struct job *j = NULL;
	uint64_t bytes = 0;
	bool ok;

	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].type == ENT_DIR)
			bytes += t->e[i].subtree.plen;
	if (bytes == 0)
		return;
	pthread_mutex_lock(&p->lock);
	ok = bytes <= p->tree_budget; /* once spent, readers fetch listings as they go */
	if (ok)
		p->tree_budget -= bytes;
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; ok && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		if (e->type != ENT_DIR)
			continue;
		if (j && j->n == PF_TREE_BATCH) {
			enqueue(p, Q_URGENT, j);
			j = NULL;
		}
		if (!j && !(j = job_new(REC_TREE, PF_TREE_BATCH)))
			return;
		j->recurse = recurse;
		j->refs[j->n++] = e->subtree;
		j->bytes += e->subtree.len;
	}
	enqueue(p, Q_URGENT, j);
}

void prefetch_dir_trees(struct fs_prefetch *p, const struct tree *t)
{
	if (p)
		queue_subtrees(p, t, true);
}
