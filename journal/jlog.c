/* jlog: segments, sealed records, replay with torn-tail handling, reading back (see jlog.h);
 * appending is jlog_write.c. */
#include "jlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jlog_int.h"
#include "log.h"
#include "secmem.h"

/* ---- segment headers ---- */

/* magic(8) store id(16) number(8) salt(16) | BLAKE2b-128(key, the 48 bytes before) */
void jl_header_make(const struct jlog *j, uint64_t no, const uint8_t salt[16],
		    uint8_t h[JLOG_HDR_LEN])
{
	memcpy(h, SEG_MAGIC, 8);
	memcpy(h + 8, j->store_id, STORE_ID_LEN);
	put64(h + 24, no);
	memcpy(h + 32, salt, 16);
	crypto_generichash(h + 48, 16, h, 48, j->key, KEY_LEN);
}

static int header_check(const struct jlog *j, const uint8_t h[JLOG_HDR_LEN], uint64_t no)
{
	uint8_t mac[16];
	if (memcmp(h, SEG_MAGIC, 8))
		return -EBADMSG;
	if (memcmp(h + 8, j->store_id, STORE_ID_LEN))
		return -EXDEV;
	crypto_generichash(mac, 16, h, 48, j->key, KEY_LEN);
	if (sodium_memcmp(mac, h + 48, 16))
		return -EXDEV; /* another master key: a journal this store cannot read */
	return get64(h + 24) == no ? 0 : -EBADMSG;
}

void jl_seg_name(uint64_t no, char out[32])
{
	snprintf(out, 32, "seg-%016llx", (unsigned long long)no);
}

void jl_ad_make(const struct jlog *j, const struct jseg *s, uint64_t off, uint8_t ad[AD_LEN])
{
	memcpy(ad, AD_MAGIC, 5);
	memcpy(ad + 5, j->store_id, STORE_ID_LEN);
	memcpy(ad + 5 + STORE_ID_LEN, s->salt, 16);
	put64(ad + 5 + STORE_ID_LEN + 16, s->no);
	put64(ad + 5 + STORE_ID_LEN + 24, off);
}

/* ---- the segment table ---- */

static void seg_unref_locked(struct jlog *j, struct jseg *s)
{
	if (--s->refs)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

int jl_table_add(struct jlog *j, struct jseg *s)
{
	if (j->nsegs == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 16;
		struct jseg **v = realloc(j->segs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		j->segs = v;
		j->cap = cap;
	}
	j->segs[j->nsegs++] = s;
	return 0;
}

/* A segment by number, with a reference; NULL if there is none. */
static struct jseg *seg_get(struct jlog *j, uint64_t no)
{
	struct jseg *s = NULL;
	size_t lo = 0, hi;

	pthread_mutex_lock(&j->lock);
	hi = j->nsegs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (j->segs[mid]->no < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < j->nsegs && j->segs[lo]->no == no) {
		s = j->segs[lo];
		s->refs++;
	}
	pthread_mutex_unlock(&j->lock);
	return s;
}

void jl_seg_put(struct jlog *j, struct jseg *s)
{
	pthread_mutex_lock(&j->lock);
	seg_unref_locked(j, s);
	pthread_mutex_unlock(&j->lock);
}

static int seg_cmp(const void *a, const void *b)
{
	const struct jseg *x = *(struct jseg *const *)a, *y = *(struct jseg *const *)b;
	return x->no < y->no ? -1 : x->no > y->no;
}

/* j->lock: does a batch not written yet lie in [off, end) of segment seg? */
static bool busy_in(const struct jlog *j, uint64_t seg, uint64_t off, uint64_t end)
{
	for (const struct jlog_batch *b = j->busy; b; b = b->next)
		if (b->s->no == seg && b->off < end && off < b->end)
			return true;
	return false;
}

/* j->lock: wait until [off, end) of segment seg holds no batch still being written. */
void jl_wait_written(struct jlog *j, uint64_t seg, uint64_t off, uint64_t end)
{
	while (busy_in(j, seg, off, end))
		pthread_cond_wait(&j->written, &j->lock);
}

/* Give back the disk space allocated ahead past the segment's end (a hint: errors ignored). */
void jl_seg_trim(struct jseg *s)
{
	if (s->alloc > s->size)
		(void)fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s->size,
				(off_t)(s->alloc - s->size));
	s->alloc = 0;
}

static int load_segment(struct jlog *j, const char *name, uint64_t no)
{
	uint8_t h[JLOG_HDR_LEN];
	struct stat st;
	struct jseg *s;
	int fd = openat(j->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW), ret;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		/* a header that never reached the disk: the segment was created by a crash, empty
		 */
		ret = fstat(fd, &st) == 0 && st.st_size < JLOG_HDR_LEN ? -ENODATA : -EBADMSG;
		close(fd);
		return ret;
	}
	ret = header_check(j, h, no);
	if (ret) {
		close(fd);
		return ret;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->no = no;
	s->fd = fd;
	s->refs = 1;
	s->size = (uint64_t)st.st_size;
	memcpy(s->salt, h + 32, 16);
	ret = jl_table_add(j, s);
	if (ret)
		seg_unref_locked(j, s);
	return ret;
}

static int scan_dir(struct jlog *j)
{
	int dfd = dup(j->dirfd), ret = 0;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		unsigned long long no;
		char tail;
		if (sscanf(de->d_name, "seg-%16llx%c", &no, &tail) != 1 || strlen(de->d_name) != 20)
			continue;
		ret = load_segment(j, de->d_name, no);
		if (ret == -ENODATA) { /* created, then the crash: nothing was in it */
			log_warn("journal %s: removing empty segment %s", j->dir, de->d_name);
			ret = unlinkat(j->dirfd, de->d_name, 0) < 0 ? -errno : 0;
		} else if (ret == -EXDEV) {
			log_err("journal %s: %s belongs to another store or key", j->dir,
				de->d_name);
		} else if (ret) {
			log_err("journal %s: %s: damaged header", j->dir, de->d_name);
		}
	}
	closedir(d);
	if (!ret && j->nsegs)
		qsort(j->segs, j->nsegs, sizeof(*j->segs), seg_cmp);
	return ret;
}

/* mkdir -p, private. */
static int make_dirs(const char *path)
{
	char *p = strdup(path);
	int ret = 0;

	if (!p)
		return -ENOMEM;
	for (char *q = p + 1; *q && !ret; q++)
		if (*q == '/') {
			*q = 0;
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				ret = -errno;
			*q = '/';
		}
	if (!ret && mkdir(p, 0700) < 0 && errno != EEXIST)
		ret = -errno;
	free(p);
	return ret;
}

int jlog_open(const char *dir, const uint8_t store_id[STORE_ID_LEN], const uint8_t key[KEY_LEN],
	      struct jlog **out)
{
	struct jlog *j = calloc(1, sizeof(*j));
	int ret = j ? make_dirs(dir) : -ENOMEM;

	*out = NULL;
	if (!j)
		return ret;
	j->dirfd = j->lockfd = -1;
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->sync_lock, NULL);
	pthread_cond_init(&j->written, NULL);
	j->dir = strdup(dir);
	j->key = secmem_alloc(KEY_LEN);
	j->scratch = malloc(JLOG_BODY_MAX + JLOG_REC_OVERHEAD);
	if (!ret && (!j->dir || !j->key || !j->scratch))
		ret = -ENOMEM;
	if (ret)
		goto out;
	memcpy(j->key, key, KEY_LEN);
	memcpy(j->store_id, store_id, STORE_ID_LEN);
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		ret = -errno;
		goto out;
	}
	j->lockfd = openat(j->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->lockfd < 0) {
		ret = -errno;
		goto out;
	}
	ret = jl_lock_take(j->lockfd, dir);
	if (!ret)
		ret = scan_dir(j);
out:
	if (ret) {
		jlog_close(j);
		return ret;
	}
	*out = j;
	return 0;
}

void jlog_close(struct jlog *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	while (j->busy) /* nothing should be in flight by now; never free under a writer */
		pthread_cond_wait(&j->written, &j->lock);
	if (j->cur)
		jl_seg_trim(j->cur);
	for (size_t i = 0; i < j->nsegs; i++)
		seg_unref_locked(j, j->segs[i]);
	pthread_mutex_unlock(&j->lock);
	free(j->segs);
	if (j->lockfd >= 0) {
		jl_lock_state(j->lockfd, "closed");
		close(j->lockfd); /* releases the flock */
	}
	if (j->dirfd >= 0)
		close(j->dirfd);
	secmem_free(j->key);
	free(j->scratch);
	free(j->dir);
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->sync_lock);
	pthread_cond_destroy(&j->written);
	free(j);
}

/* ---- records ---- */

/* Open the record whose length prefix is at rec[0] (len bytes in all), in place: the body
 * ends up at rec + 4 + NONCE_LEN. */
static int rec_open(const struct jlog *j, const struct jseg *s, uint64_t off, uint8_t *rec,
		    size_t len, size_t *blen)
{
	uint8_t ad[AD_LEN];
	size_t n = get32(rec);
	unsigned long long plen;

	if (len < JLOG_REC_OVERHEAD || n != len - 4 || n - NONCE_LEN - TAG_LEN > JLOG_BODY_MAX)
		return -EBADMSG;
	jl_ad_make(j, s, off, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(rec + 4 + NONCE_LEN, &plen, NULL,
						       rec + 4 + NONCE_LEN, n - NONCE_LEN, ad,
						       sizeof(ad), rec + 4, j->key) != 0)
		return -EBADMSG;
	*blen = (size_t)plen;
	return 0;
}

/* Replay's opening of a record in place: its tag is checked over the ciphertext, and only the
 * first JLOG_PEEK bytes of its body are decrypted unless whole(ctx, those bytes) asks for all
 * of it (whole NULL: always all). This is XChaCha20-Poly1305 (IETF) exactly as libsodium's
 * crypto_aead_xchacha20poly1305_ietf seals it (HChaCha20 subkey, Poly1305 key from block 0,
 * the body's keystream from block 1), taken apart so that a WRITE record's data need not be
 * decrypted to be verified: replay applies its header and reads the data only when it is
 * read. The torn-tail rule is kept: a record that does not verify is found here, as before. */
static int rec_open_peek(const struct jlog *j, const struct jseg *s, uint64_t off, uint8_t *rec,
			 size_t len, size_t *blen, jlog_whole_fn *whole, void *ctx)
{
	static const uint8_t pad0[16];
	crypto_onetimeauth_poly1305_state st;
	uint8_t ad[AD_LEN], k2[crypto_core_hchacha20_OUTPUTBYTES], block0[64], mac[16], l8[8];
	uint8_t npub2[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
	uint8_t *nonce = rec + 4, *c = rec + 4 + NONCE_LEN;
	size_t n = get32(rec), mlen, head;
	int ret;

	if (len < JLOG_REC_OVERHEAD || n != len - 4 || n - NONCE_LEN - TAG_LEN > JLOG_BODY_MAX)
		return -EBADMSG;
	mlen = n - NONCE_LEN - TAG_LEN;
	jl_ad_make(j, s, off, ad);
	crypto_core_hchacha20(k2, nonce, j->key, NULL);
	memcpy(npub2 + 4, nonce + crypto_core_hchacha20_INPUTBYTES, sizeof(npub2) - 4);
	crypto_stream_chacha20_ietf(block0, sizeof(block0), npub2, k2);
	crypto_onetimeauth_poly1305_init(&st, block0);
	crypto_onetimeauth_poly1305_update(&st, ad, sizeof(ad));
	crypto_onetimeauth_poly1305_update(&st, pad0, (0x10 - sizeof(ad)) & 0xf);
	crypto_onetimeauth_poly1305_update(&st, c, mlen);
	crypto_onetimeauth_poly1305_update(&st, pad0, (0x10 - mlen) & 0xf);
	put64(l8, sizeof(ad));
	crypto_onetimeauth_poly1305_update(&st, l8, sizeof(l8));
	put64(l8, mlen);
	crypto_onetimeauth_poly1305_update(&st, l8, sizeof(l8));
	crypto_onetimeauth_poly1305_final(&st, mac);
	ret = crypto_verify_16(mac, c + mlen) ? -EBADMSG : 0;
	if (!ret) {
		head = mlen < JLOG_PEEK ? mlen : JLOG_PEEK;
		crypto_stream_chacha20_ietf_xor_ic(c, c, head, npub2, 1, k2);
		if (mlen > head && (!whole || whole(ctx, c, head)))
			crypto_stream_chacha20_ietf_xor_ic(c + head, c + head, mlen - head, npub2,
							   1 + JLOG_PEEK / 64, k2);
		*blen = mlen;
	}
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(block0, sizeof(block0));
	sodium_memzero(&st, sizeof(st));
	return ret;
}

static ssize_t pread_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Read the record at off of s into buf (room for the largest record): its total length, 0 at
 * the end of the segment, or -EBADMSG when what is there is not a whole valid record. */
static ssize_t rec_at(const struct jlog *j, const struct jseg *s, uint64_t off, uint8_t *buf,
		      size_t *blen, jlog_whole_fn *whole, void *ctx)
{
	ssize_t n = pread_full(s->fd, buf, 4, off);
	size_t len;
	int ret;

	if (n < 0)
		return n;
	if (n == 0)
		return 0;
	if (n < 4)
		return -EBADMSG;
	len = (size_t)get32(buf) + 4;
	if (len < JLOG_REC_OVERHEAD || len > JLOG_BODY_MAX + JLOG_REC_OVERHEAD)
		return -EBADMSG;
	n = pread_full(s->fd, buf + 4, len - 4, off + 4);
	if (n < 0)
		return n;
	if ((size_t)n != len - 4)
		return -EBADMSG;
	ret = rec_open_peek(j, s, off, buf, len, blen, whole, ctx);
	return ret ? ret : (ssize_t)len;
}

static int cut_tail(struct jlog *j, struct jseg *s, uint64_t off, struct jlog_replay_stats *st)
{
	char name[32];
	jl_seg_name(s->no, name);
	log_warn("journal %s: %s: %llu bytes at the end do not verify (a write cut short by a "
		 "crash); dropped",
		 j->dir, name, (unsigned long long)(s->size - off));
	st->torn_bytes += s->size - off;
	if (ftruncate(s->fd, (off_t)off) < 0 || fdatasync(s->fd) < 0)
		return -errno;
	s->size = off;
	return 0;
}

static int replay_segment(struct jlog *j, struct jseg *s, bool last, jlog_whole_fn *whole,
			  int (*cb)(void *, const struct jlog_pos *, const uint8_t *, size_t),
			  void *ctx, struct jlog_replay_stats *st)
{
	uint64_t off = JLOG_HDR_LEN;
	char name[32];
	int ret = 0;

	jl_seg_name(s->no, name);
	while (!ret && off < s->size) {
		size_t blen = 0;
		ssize_t n = rec_at(j, s, off, j->scratch, &blen, whole, ctx);
		if (n == 0)
			break;
		if (n == -EBADMSG && last)
			return cut_tail(j, s, off, st);
		if (n == -EBADMSG) {
			log_err("journal %s: %s: the record at offset %llu does not verify, and "
				"later segments exist: the journal is damaged",
				j->dir, name, (unsigned long long)off);
			return -EBADMSG;
		}
		if (n < 0)
			return (int)n;
		struct jlog_pos pos = {.seg = s->no, .off = off, .len = (uint32_t)n};
		st->records++;
		st->bytes += (uint64_t)n;
		ret = cb(ctx, &pos, j->scratch + 4 + NONCE_LEN, blen);
		off += (uint64_t)n;
	}
	return ret;
}

int jlog_replay_peek(struct jlog *j, uint64_t from_seg, jlog_whole_fn *whole,
		     int (*cb)(void *ctx, const struct jlog_pos *pos, const uint8_t *body,
			       size_t len),
		     void *ctx, struct jlog_replay_stats *st)
{
	int ret = 0;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; !ret && i < j->nsegs; i++) {
		if (j->segs[i]->no < from_seg)
			continue;
		st->segments++;
		ret = replay_segment(j, j->segs[i], i + 1 == j->nsegs, whole, cb, ctx, st);
	}
	return ret;
}

int jlog_replay(struct jlog *j, uint64_t from_seg,
		int (*cb)(void *ctx, const struct jlog_pos *pos, const uint8_t *body, size_t len),
		void *ctx, struct jlog_replay_stats *st)
{
	return jlog_replay_peek(j, from_seg, NULL, cb, ctx, st);
}

int jlog_first(struct jlog *j, uint64_t seg, uint8_t **body, size_t *len)
{
	struct jseg *s = seg_get(j, seg);
	uint8_t *buf = malloc(JLOG_BODY_MAX + JLOG_REC_OVERHEAD);
	ssize_t n = -ENOMEM;
	size_t blen = 0;

	if (!s) {
		free(buf);
		return -ENOENT;
	}
	pthread_mutex_lock(&j->lock);
	jl_wait_written(j, seg, JLOG_HDR_LEN, JLOG_HDR_LEN + JLOG_BODY_MAX + JLOG_REC_OVERHEAD);
	pthread_mutex_unlock(&j->lock);
	if (buf)
		n = s->size > JLOG_HDR_LEN ? rec_at(j, s, JLOG_HDR_LEN, buf, &blen, NULL, NULL) : 0;
	jl_seg_put(j, s);
	if (n <= 0) {
		free(buf);
		return n == 0 ? -ENODATA : (int)n;
	}
	memmove(buf, buf + 4 + NONCE_LEN, blen);
	*body = buf;
	*len = blen;
	return 0;
}

/* Read and open the record at pos into buf (pos->len bytes); *blen: its body's length, which
 * starts at buf + 4 + NONCE_LEN (opened in place). */
static int read_open(struct jlog *j, const struct jlog_pos *pos, uint8_t *buf, size_t *blen)
{
	struct jseg *s = seg_get(j, pos->seg);
	ssize_t n;
	int ret;

	if (!s)
		return -ENOENT;
	pthread_mutex_lock(&j->lock);
	jl_wait_written(j, pos->seg, pos->off, pos->off + pos->len);
	pthread_mutex_unlock(&j->lock);
	n = pread_full(s->fd, buf, pos->len, pos->off);
	if (n < 0)
		ret = (int)n;
	else if ((size_t)n != pos->len)
		ret = -EBADMSG;
	else
		ret = rec_open(j, s, pos->off, buf, pos->len, blen);
	jl_seg_put(j, s);
	return ret;
}

static bool pos_ok(const struct jlog_pos *pos)
{
	return pos->len >= JLOG_REC_OVERHEAD && pos->len <= JLOG_BODY_MAX + JLOG_REC_OVERHEAD;
}

/* The record at pos read and opened in a buffer of its own (*buf; the body starts after the
 * prefix and nonce, *blen bytes); nothing to free on error. */
static int read_rec(struct jlog *j, const struct jlog_pos *pos, uint8_t **buf, size_t *blen)
{
	int ret;

	*buf = NULL;
	*blen = 0;
	if (!pos_ok(pos))
		return -EBADMSG;
	*buf = malloc(pos->len);
	if (!*buf)
		return -ENOMEM;
	ret = read_open(j, pos, *buf, blen);
	if (ret) {
		free(*buf);
		*buf = NULL;
	}
	return ret;
}

int jlog_read(struct jlog *j, const struct jlog_pos *pos, uint8_t **body, size_t *len)
{
	uint8_t *buf;
	size_t blen;
	int ret;

	*body = NULL;
	ret = read_rec(j, pos, &buf, &blen);
	if (ret)
		return ret;
	/* the body starts after the prefix and nonce: move it to the front */
	memmove(buf, buf + 4 + NONCE_LEN, blen);
	*body = buf;
	*len = blen;
	return 0;
}

int jlog_read_at(struct jlog *j, const struct jlog_pos *pos, size_t doff, size_t len, void *out)
{
	uint8_t *buf;
	size_t blen;
	int ret = read_rec(j, pos, &buf, &blen);

	if (!ret && (doff > blen || len > blen - doff))
		ret = -EIO;
	if (!ret) /* opened in place: the slice is copied once, straight from there */
		memcpy(out, buf + 4 + NONCE_LEN + doff, len);
	free(buf);
	return ret;
}

int jlog_drop(struct jlog *j, uint64_t no)
{
	struct jseg *s = NULL;
	char name[32];
	size_t i;

	pthread_mutex_lock(&j->lock);
	for (i = 0; i < j->nsegs; i++)
		if (j->segs[i]->no == no)
			break;
	if (i < j->nsegs && j->segs[i] != j->cur) {
		s = j->segs[i];
		memmove(&j->segs[i], &j->segs[i + 1], (j->nsegs - i - 1) * sizeof(*j->segs));
		j->nsegs--;
	}
	pthread_mutex_unlock(&j->lock);
	if (!s)
		return -ENOENT;
	jl_seg_name(no, name);
	int ret = unlinkat(j->dirfd, name, 0) < 0 ? -errno : 0;
	jl_seg_put(j, s); /* closed when the last reader lets go */
	return ret;
}

uint64_t jlog_current(const struct jlog *j)
{
	return j->cur ? j->cur->no : 0;
}

uint64_t jlog_bytes(struct jlog *j)
{
	uint64_t sum = 0;
	pthread_mutex_lock(&j->lock);
	for (size_t i = 0; i < j->nsegs; i++)
		sum += j->segs[i]->size;
	pthread_mutex_unlock(&j->lock);
	return sum;
}

int jlog_list(struct jlog *j, uint64_t **v, size_t *n)
{
	pthread_mutex_lock(&j->lock);
	*v = malloc((j->nsegs ? j->nsegs : 1) * sizeof(**v));
	if (*v) {
		for (size_t i = 0; i < j->nsegs; i++)
			(*v)[i] = j->segs[i]->no;
		*n = j->nsegs;
	}
	pthread_mutex_unlock(&j->lock);
	return *v ? 0 : -ENOMEM;
}

const char *jlog_dir(const struct jlog *j)
{
	return j->dir;
}
