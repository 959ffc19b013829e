/* jlog_write: appending to the journal — segments started and rotated, disk space allocated
 * ahead, records reserved in order, sealed and written (possibly after the caller's lock is
 * released), and fdatasync (see jlog.h; the log's layout is docs/FORMAT.md 18.1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jlog_int.h"
#include "log.h"

/* ---- appending ---- */

static int fsync_dir(struct jlog *j)
{
	return fsync(j->dirfd) < 0 ? -errno : 0;
}

static int new_segment(struct jlog *j, uint64_t no)
{
	uint8_t h[JLOG_HDR_LEN], salt[16];
	char name[32];
	struct jseg *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	jl_seg_name(no, name);
	randombytes_buf(salt, sizeof(salt));
	jl_header_make(j, no, salt, h);
	s->fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->fd < 0) {
		ret = -errno;
		free(s);
		return ret;
	}
	if (pwrite(s->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		ret = errno ? -errno : -ENOSPC;
		close(s->fd);
		unlinkat(j->dirfd, name, 0);
		free(s);
		return ret;
	}
	s->no = no;
	s->refs = 1;
	s->size = JLOG_HDR_LEN;
	memcpy(s->salt, salt, sizeof(salt));
	if ((ret = fdatasync(s->fd) < 0 ? -errno : 0) || (ret = fsync_dir(j))) {
		close(s->fd);
		unlinkat(j->dirfd, name, 0);
		free(s);
		return ret;
	}
	pthread_mutex_lock(&j->lock);
	ret = jl_table_add(j, s);
	if (!ret)
		j->cur = s;
	pthread_mutex_unlock(&j->lock);
	if (ret) {
		close(s->fd);
		unlinkat(j->dirfd, name, 0);
		free(s);
	}
	return ret;
}

int jlog_start(struct jlog *j)
{
	uint64_t next = j->nsegs ? j->segs[j->nsegs - 1]->no + 1 : 1;
	return new_segment(j, next);
}

int jlog_rotate(struct jlog *j)
{
	int ret;

	if (!j->cur)
		return -EINVAL;
	/* a segment is closed whole: every batch reserved in it written first; after a failed
	 * one no new segment begins, so a hole is always in the last segment, where replay cuts
	 * it off as a torn tail */
	pthread_mutex_lock(&j->lock);
	jl_wait_written(j, j->cur->no, 0, UINT64_MAX);
	ret = j->err;
	pthread_mutex_unlock(&j->lock);
	if (ret)
		return ret;
	jl_seg_trim(j->cur);
	if (fdatasync(j->cur->fd) < 0)
		return -errno;
	return new_segment(j, j->cur->no + 1);
}

/* Hand written data to the disk as it comes: asynchronous writeback of whole pages every
 * JLOG_KICK bytes written without a gap. Without it the page cache holds a segment's 64 MiB
 * until the fdatasync that closes it (or the writer's fsync), which then writes them all while
 * every writer waits: a long sequential write ran at disk speed plus that stall each 64 MiB.
 * With it the disk writes while the writer goes on and the fdatasync finds little left.
 * j->lock: the range to start writeback of, if it is time. */
static bool kick_range(struct jlog *j, struct jseg *s, uint64_t *from, uint64_t *to)
{
	uint64_t done = s->size;

	for (const struct jlog_batch *b = j->busy; b; b = b->next)
		if (b->s == s && b->off < done)
			done = b->off;
	done &= ~(uint64_t)(JLOG_KICK_ALIGN - 1);
	if (done < s->kicked + JLOG_KICK)
		return false;
	*from = s->kicked;
	*to = done;
	s->kicked = done;
	return true;
}

/* Disk space for s up to need, allocated ahead (JLOG_PREALLOC at a time): a reserved batch is
 * then written into space the disk already gave, so a full disk is an -ENOSPC at reservation,
 * where nothing has been reserved yet, never a failed write of a batch whose writer was told
 * it succeeded. A file system that cannot allocate ahead makes every batch synchronous
 * (jlog_async). */
static int prealloc(struct jlog *j, struct jseg *s, uint64_t need)
{
	uint64_t from = s->alloc > s->size ? s->alloc : s->size, want = need + JLOG_PREALLOC;

	if (j->no_falloc || need <= s->alloc)
		return 0;
	if (want > JLOG_SEG_MAX && need <= JLOG_SEG_MAX)
		want = JLOG_SEG_MAX;
	if (!fallocate(s->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(want - from))) {
		s->alloc = want;
		return 0;
	}
	if (errno == EOPNOTSUPP || errno == ENOSYS) {
		log_debug("journal %s: no fallocate here: writes are written before they return",
			  j->dir);
		j->no_falloc = true;
		return 0;
	}
	if (errno != ENOSPC)
		return -errno;
	/* a nearly full disk: exactly what is needed (the last bytes are usable) */
	if (!fallocate(s->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(need - from))) {
		s->alloc = need;
		return 0;
	}
	return -errno;
}

bool jlog_async(const struct jlog *j)
{
	return !j->no_falloc;
}

int jlog_reserve(struct jlog *j, const size_t *blen, size_t n, struct jlog_batch **out)
{
	struct jlog_batch *b;
	uint64_t total = 0, off;
	struct jseg *s;
	int ret;

	*out = NULL;
	if (!j->cur)
		return -EINVAL;
	if (n == 0 || n > JLOG_BATCH_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (blen[i] > JLOG_BODY_MAX)
			return -EFBIG;
		total += blen[i] + JLOG_REC_OVERHEAD;
	}
	pthread_mutex_lock(&j->lock);
	ret = j->err;
	pthread_mutex_unlock(&j->lock);
	if (ret)
		return ret;
	if (j->cur->size + total > JLOG_SEG_MAX && j->cur->size > JLOG_HDR_LEN) {
		ret = jlog_rotate(j);
		if (ret)
			return ret;
	}
	s = j->cur;
	ret = prealloc(j, s, s->size + total);
	if (ret)
		return ret;
	b = calloc(1, sizeof(*b));
	if (b)
		b->buf = malloc(total);
	if (!b || !b->buf) {
		free(b);
		return -ENOMEM;
	}
	b->n = n;
	pthread_mutex_lock(&j->lock);
	b->s = s;
	s->refs++;
	b->off = off = s->size;
	for (size_t i = 0; i < n; i++) {
		b->pos[i] = (struct jlog_pos){
		    .seg = s->no, .off = off, .len = (uint32_t)(blen[i] + JLOG_REC_OVERHEAD)};
		off += b->pos[i].len;
	}
	b->end = s->size = off;
	b->next = j->busy;
	j->busy = b;
	pthread_mutex_unlock(&j->lock);
	*out = b;
	return 0;
}

const struct jlog_pos *jlog_batch_pos(const struct jlog_batch *b, size_t i)
{
	return &b->pos[i];
}

void jlog_batch_set(struct jlog_batch *b, size_t i, const void *head, size_t hlen, const void *data,
		    size_t dlen)
{
	uint8_t *r = b->buf + (b->pos[i].off - b->off);

	memcpy(r + 4 + NONCE_LEN, head, hlen);
	b->hlen[i] = hlen;
	b->data[i] = data;
	b->dlen[i] = dlen;
}

static int pwrite_full(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENOSPC;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Seal each record of b in place: length prefix, nonce, then the body encrypted where it lies
 * (head already there, data copied after it) and its tag. */
static void batch_seal(const struct jlog *j, struct jlog_batch *b)
{
	uint8_t ad[AD_LEN];

	for (size_t i = 0; i < b->n; i++) {
		uint8_t *r = b->buf + (b->pos[i].off - b->off), *m = r + 4 + NONCE_LEN;
		size_t blen = b->hlen[i] + b->dlen[i];
		if (b->dlen[i])
			memcpy(m + b->hlen[i], b->data[i], b->dlen[i]);
		put32(r, b->pos[i].len - 4);
		randombytes_buf(r + 4, NONCE_LEN);
		jl_ad_make(j, b->s, b->pos[i].off, ad);
		crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		    m, m + blen, NULL, m, blen, ad, sizeof(ad), NULL, r + 4, j->key);
	}
}

int jlog_batch_write(struct jlog *j, struct jlog_batch *b, bool undo)
{
	struct jseg *s = b->s;
	uint64_t from = 0, to = 0;
	bool kick = false;
	int ret;

	batch_seal(j, b);
	ret = pwrite_full(s->fd, b->buf, b->end - b->off, b->off);
	pthread_mutex_lock(&j->lock);
	for (struct jlog_batch **p = &j->busy; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
	if (ret && undo && b->end == s->size) {
		/* the last reservation, its writer still waiting for it: as if never made. Any
		 * part that landed is cut off so a replay never meets it */
		s->size = b->off;
		if (ftruncate(s->fd, (off_t)b->off) < 0)
			log_debug("journal %s: cannot cut a failed write: %s", j->dir,
				  strerror(errno));
	} else if (ret) {
		/* records after it may be written already: replay would stop at this hole and
		 * drop them, so nothing after it may ever be reported durable */
		if (!j->err)
			log_err(
			    "journal %s: a write failed (%s): the journal takes no more changes "
			    "and fsync fails until it is mounted again",
			    j->dir, strerror(-ret));
		j->err = -EIO;
	} else {
		kick = kick_range(j, s, &from, &to);
	}
	pthread_cond_broadcast(&j->written);
	pthread_mutex_unlock(&j->lock);
	/* only a hint: a failure leaves the data to the next fdatasync, which reports errors */
	if (kick)
		(void)sync_file_range(s->fd, (off_t)from, (off_t)(to - from),
				      SYNC_FILE_RANGE_WRITE);
	jl_seg_put(j, s); /* after the kick: the reference keeps s->fd open */
	free(b->buf);
	free(b);
	return ret;
}

int jlog_append(struct jlog *j, const void *body, size_t len, struct jlog_pos *pos)
{
	struct jlog_batch *b;
	int ret = jlog_reserve(j, &len, 1, &b);

	if (ret)
		return ret;
	*pos = b->pos[0];
	jlog_batch_set(b, 0, body, len, NULL, 0);
	return jlog_batch_write(j, b, true);
}

int jlog_sync(struct jlog *j)
{
	struct jseg *s;
	uint64_t end;
	int ret = 0;

	pthread_mutex_lock(&j->lock);
	s = j->cur;
	if (!s) {
		pthread_mutex_unlock(&j->lock);
		return 0;
	}
	s->refs++;
	end = s->size;
	/* every record reserved before this call is written (earlier segments were closed
	 * whole), and none failed */
	jl_wait_written(j, s->no, 0, end);
	ret = j->err;
	pthread_mutex_unlock(&j->lock);
	if (!ret) {
		pthread_mutex_lock(&j->sync_lock);
		if (fdatasync(s->fd) < 0)
			ret = -errno;
		pthread_mutex_unlock(&j->sync_lock);
	}
	jl_seg_put(j, s);
	return ret;
}
