/* jlog_int.h: what jlog.c (segments, replay, reading) and jlog_write.c (appending: reserved
 * batches, preallocation, sync) share — the segment and journal structures and the segment
 * table's helpers. Not for use outside the journal's log. */
#ifndef EMBASSY_JLOG_INT_H
#define EMBASSY_JLOG_INT_H
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>

#include "jlog.h"

#define SEG_MAGIC	"EMBJSEG1"
#define AD_MAGIC	"EMBJ1"
#define AD_LEN		(5 + STORE_ID_LEN + 16 + 8 + 8)
#define NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN		crypto_aead_xchacha20poly1305_ietf_ABYTES
#define JLOG_KICK	(4u << 20) /* start writeback of appended data every this many bytes */
#define JLOG_KICK_ALIGN 4096
#define JLOG_PREALLOC	(4u << 20) /* a segment's disk space is allocated this far ahead */

/* One segment file. Freed when dropped and no reader holds it. */
struct jseg {
	uint64_t no;
	int fd;
	uint8_t salt[16];
	uint64_t size;	 /* bytes of valid records (plus the header) */
	uint64_t alloc;	 /* the reserving thread: disk space allocated up to here (0: none) */
	uint64_t kicked; /* j->lock: bytes already handed to writeback */
	unsigned refs;	 /* j->lock: the table's reference plus readers' */
	bool dropped;	 /* j->lock */
};

struct jlog {
	char *dir;
	int dirfd, lockfd;
	uint8_t store_id[STORE_ID_LEN];
	uint8_t *key;	      /* secmem */
	pthread_mutex_t lock; /* guards segs, nsegs, refs and dropped of each segment */
	struct jseg **segs;   /* ascending by number */
	size_t nsegs, cap;
	struct jseg *cur;	   /* appends go here (NULL before jlog_start) */
	uint8_t *scratch;	   /* replay: one record being read */
	pthread_mutex_t sync_lock; /* one fdatasync at a time */
	struct jlog_batch *busy;   /* j->lock: reserved batches not written yet */
	pthread_cond_t written;	   /* j->lock: a batch left busy */
	int err;		   /* j->lock: a reserved write failed: the journal is broken */
	bool no_falloc;		   /* the reserving thread: the disk cannot allocate ahead */
};

/* Records reserved together (consecutive in one segment), sealed and written by one thread,
 * possibly outside the caller's lock. */
struct jlog_batch {
	struct jseg *s; /* with a reference */
	uint64_t off, end;
	size_t n;
	struct jlog_pos pos[JLOG_BATCH_MAX];
	const void *data[JLOG_BATCH_MAX];
	size_t hlen[JLOG_BATCH_MAX], dlen[JLOG_BATCH_MAX];
	uint8_t *buf;		 /* end - off bytes: the records, sealed in place */
	struct jlog_batch *next; /* j->busy */
};

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The segment header of segment no (its salt given), and a segment's file name. */
void jl_header_make(const struct jlog *j, uint64_t no, const uint8_t salt[16],
		    uint8_t h[JLOG_HDR_LEN]);
void jl_seg_name(uint64_t no, char out[32]);
/* The associated data of the record at off in s. */
void jl_ad_make(const struct jlog *j, const struct jseg *s, uint64_t off, uint8_t ad[AD_LEN]);
/* Add s to the table (ascending); drop a reader's reference. */
int jl_table_add(struct jlog *j, struct jseg *s);
void jl_seg_put(struct jlog *j, struct jseg *s);
/* Wait (j->lock held) until no reserved batch covers [off, end) of segment seg. */
void jl_wait_written(struct jlog *j, uint64_t seg, uint64_t off, uint64_t end);
/* Give back disk space allocated past a closed segment's end. */
void jl_seg_trim(struct jseg *s);

/* jlog_lock.c: take the lock of fd (the journal's lock file), waiting as jlog.h says; note
 * this process's state in it ("serving", "ending", "closed"). */
int jl_lock_take(int fd, const char *dir);
void jl_lock_state(int fd, const char *state);

#endif
