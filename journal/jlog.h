/* jlog: the write-through mount's journal on the recovery host's disk — an append-only log of
 * encrypted records in numbered segment files (docs/FORMAT.md, "Write journal").
 *
 * Every record is sealed on its own with XChaCha20-Poly1305 under the journal subkey
 * (KEY_JOURNAL, derived from the store's master key), and its associated data binds it to the
 * store, the segment and its byte offset: the tag is the record's checksum, and a record
 * cannot be moved, reordered or replayed into another journal. A record carries its data
 * inline, so the data of a write is never durable without the record that names it, nor the
 * other way round.
 *
 * Durability: jlog_append writes (page cache); jlog_sync makes everything appended so far
 * durable (fdatasync of the current segment: a segment is fdatasync'd before the next one is
 * created, and the directory is fsync'd when a segment is created). Replay stops at the first
 * record that does not verify: in the last segment that is a torn tail from a crash (the tail is
 * cut off and reported), anywhere else it is damage (-EBADMSG, nothing is replayed). After
 * replay, appends always go to a new segment: a segment is never appended to after a restart,
 * so a torn tail is never followed by new records.
 *
 * Reserved writes: jlog_reserve places a batch of records (their positions are fixed at once,
 * in order) and jlog_batch_write seals and writes them later, possibly outside the caller's
 * lock and concurrently with other batches, so encryption and the copy into the page cache of
 * one write overlap the next. Until a batch is written, a read of its records waits for it,
 * jlog_sync waits for every batch reserved before it, and a segment is closed only when all of
 * its batches are written. Disk space is allocated ahead at reservation (a full disk is a clean
 * -ENOSPC there). A batch whose write fails after its writer let go (an I/O error) breaks the
 * journal: records after it may be on disk, but replay stops at the hole, so jlog_sync and
 * jlog_reserve fail with -EIO from then on (until the next mount replays it): nothing written
 * after the hole is ever reported durable, and no new segment starts after it.
 *
 * Threads: jlog_reserve, jlog_append, jlog_rotate, jlog_start and jlog_drop are called by one
 * thread at a time (the live tree's lock); jlog_batch_write, jlog_read and jlog_sync may run
 * concurrently with them and with each other (the segment table and the batches in flight
 * have their own lock, segments are reference-counted). */
#ifndef EMBASSY_JLOG_H
#define EMBASSY_JLOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"

#define JLOG_BODY_MAX	  (1u << 20)  /* largest record body */
#define JLOG_SEG_MAX	  (64u << 20) /* a segment is closed once it grows past this */
#define JLOG_HDR_LEN	  64
#define JLOG_REC_OVERHEAD (4 + 24 + 16) /* length prefix, nonce, tag */
#define JLOG_BATCH_MAX	  16		/* records reserved together */

struct jlog;
struct jlog_batch;

/* Where a record lives: segment number, byte offset of its length prefix, total length. */
struct jlog_pos {
	uint64_t seg;
	uint64_t off;
	uint32_t len;
};

struct jlog_replay_stats {
	uint64_t records, bytes;
	uint64_t torn_bytes; /* cut from the end of the last segment */
	uint64_t segments;
};

/* Open (creating it 0700 if needed) and lock the journal directory dir of the store with
 * store_id, whose records are sealed with key (KEY_JOURNAL). A lock held by a live process
 * that has marked itself ending (jlog_ending: its mount is gone, it is finishing) is waited
 * for as long as that process lives; any other holder for jlog_lock_wait_ms, then -EBUSY
 * (another mount uses the journal). -EXDEV: it holds another store's journal (or was written
 * with another key); -EBADMSG: a segment header is damaged. */
extern int jlog_lock_wait_ms; /* default 20 s; tests lower it */
int jlog_open(const char *dir, const uint8_t store_id[STORE_ID_LEN], const uint8_t key[KEY_LEN],
	      struct jlog **out);
void jlog_close(struct jlog *j);
/* The mount of j is gone: what remains is making it durable and exiting. A mount waiting for
 * the lock then waits for this process to exit rather than giving up after a fixed time. */
void jlog_ending(struct jlog *j);
/* Who holds (or last held) the lock of journal dir, as its holder noted it. -ENODATA: no
 * note (an empty or garbled file). alive: that pid is a live process. */
struct jlog_holder {
	pid_t pid;
	bool serving, ending, alive;
};
int jlog_lock_holder(const char *dir, struct jlog_holder *h);
/* Times a jlog_open found the lock taken and looked again (for tests: progress of a wait). */
unsigned long jlog_lock_polls(void);

/* Call cb for every record of the segments numbered from_seg and up, in order. A torn tail of
 * the last segment is cut off (and counted in st); damage elsewhere is -EBADMSG. cb's non-zero
 * result stops the replay and is returned. */
int jlog_replay(struct jlog *j, uint64_t from_seg,
		int (*cb)(void *ctx, const struct jlog_pos *pos, const uint8_t *body, size_t len),
		void *ctx, struct jlog_replay_stats *st);
/* jlog_replay, decrypting of a record's body only its first JLOG_PEEK bytes unless whole(ctx,
 * those bytes, their length) says the rest is needed: every record's tag is still checked
 * (the torn-tail rule is the same), but cb then sees the rest of the body still encrypted
 * (len is the whole body's). Replay of a journal of large writes reads their headers only. */
#define JLOG_PEEK 64 /* a multiple of the cipher's 64-byte block */
typedef bool jlog_whole_fn(void *ctx, const uint8_t *head, size_t n);
int jlog_replay_peek(struct jlog *j, uint64_t from_seg, jlog_whole_fn *whole,
		     int (*cb)(void *ctx, const struct jlog_pos *pos, const uint8_t *body,
			       size_t len),
		     void *ctx, struct jlog_replay_stats *st);
/* The first record of segment seg (*body malloc'd): -ENODATA if it has none, -EBADMSG if it
 * does not verify. */
int jlog_first(struct jlog *j, uint64_t seg, uint8_t **body, size_t *len);
/* Begin appending: a new segment after every existing one. */
int jlog_start(struct jlog *j);
/* Seal and append one record (len <= JLOG_BODY_MAX); fills pos. Not durable until jlog_sync.
 * -ENOSPC (or another write error): nothing was appended, the log is unchanged. */
int jlog_append(struct jlog *j, const void *body, size_t len, struct jlog_pos *pos);
/* Reserve n consecutive records with bodies of blen[i] bytes (n <= JLOG_BATCH_MAX, each
 * <= JLOG_BODY_MAX), rotating first if they do not fit the segment. Every reservation must be
 * written with jlog_batch_write. -ENOSPC: the disk has no room (nothing reserved); -EIO: the
 * journal is broken (see above). */
int jlog_reserve(struct jlog *j, const size_t *blen, size_t n, struct jlog_batch **out);
/* Where record i of b lies. */
const struct jlog_pos *jlog_batch_pos(const struct jlog_batch *b, size_t i);
/* Record i's body: hlen bytes of head (copied now) followed by dlen bytes of data (read by
 * jlog_batch_write: must stay valid until then); hlen + dlen = its reserved length. */
void jlog_batch_set(struct jlog_batch *b, size_t i, const void *head, size_t hlen, const void *data,
		    size_t dlen);
/* Seal and write b, make it readable, free it. undo: the caller still holds the lock it
 * reserved under and can report a failure to its writer, so a failed write of the last
 * reservation is undone (the log is unchanged, as for jlog_append); without undo (or when
 * later reservations exist) a failure breaks the journal. */
int jlog_batch_write(struct jlog *j, struct jlog_batch *b, bool undo);
/* Whether batches may be written after their writer let go: false where the disk cannot
 * allocate ahead (then a write's failure could not be reported to its writer). Known after
 * the first reservation. */
bool jlog_async(const struct jlog *j);
/* Make every record reserved so far durable (waiting for batches being written); -EIO once
 * the journal is broken. */
int jlog_sync(struct jlog *j);
/* Close the current segment (made durable) and start the next. */
int jlog_rotate(struct jlog *j);
/* Read and open one record; *body is malloc'd. -EBADMSG if it does not verify. */
int jlog_read(struct jlog *j, const struct jlog_pos *pos, uint8_t **body, size_t *len);
/* Read and open one record and copy len bytes of its body from doff to out (one copy, where
 * jlog_read moves the body and its caller copies again). -EIO if the body is shorter than
 * doff + len. */
int jlog_read_at(struct jlog *j, const struct jlog_pos *pos, size_t doff, size_t len, void *out);
/* Delete segment seg (never the current one); readers holding it finish first. */
int jlog_drop(struct jlog *j, uint64_t seg);

/* The segment appends go to (0 before jlog_start). */
uint64_t jlog_current(const struct jlog *j);
/* Bytes in all segments. */
uint64_t jlog_bytes(struct jlog *j);
/* Numbers of all segments, ascending (*v malloc'd). */
int jlog_list(struct jlog *j, uint64_t **v, size_t *n);
/* The directory (for messages). */
const char *jlog_dir(const struct jlog *j);

#endif
