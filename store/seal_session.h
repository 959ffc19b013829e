/* seal_session: the sealing machinery — chunker, deduplication against the store, record
 * sealing on all cores, packers, tree records — for writers other than seal.c's directory walk:
 * the write-through commit (journal/commit.c). It is the same code seal uses (seal_batch.c,
 * pack.c, dedup.c), so record and tree formats follow the store's format automatically.
 *
 * Protocol: add a file's chunks in file order with seal_session_room + seal_session_take (new
 * bytes, read straight into the batch) or seal_session_reuse (a chunk the store already has); the
 * entry's chunk list is final after seal_session_flush, and the entry must stay at its address
 * until then. Seal a directory's tree with seal_session_tree only after its entries are final.
 * seal_session_finish uploads everything still in a pack: only then may a manifest name these
 * records. One thread uses a session. */
#ifndef EMBASSY_SEAL_SESSION_H
#define EMBASSY_SEAL_SESSION_H
#include <stddef.h>
#include <stdint.h>

#include "seal.h"

struct seal_session;

int seal_session_new(struct store *s, struct seal_session **out);
void seal_session_free(struct seal_session *ss);
/* The chunker's parameters, and the length of the chunk that starts at buf (len must be at
 * least max unless the data ends within len). */
void seal_session_chunker(const struct seal_session *ss, uint32_t *min, uint32_t *max);
size_t seal_session_cut(const struct seal_session *ss, const uint8_t *buf, size_t len);
/* Zero-copy (what seal_file.c does): the bytes to chunk are read straight into the batch being
 * sealed. seal_session_room makes room for want more bytes after the `have` unchunked bytes the
 * caller read there before, and returns where those bytes now start (they move when a batch is
 * handed over); read the next ones to that + have. seal_session_take appends the first len of
 * them as e's next chunk, at file offset foff (have: all unchunked bytes there, len included).
 * A seal_session_reuse in between drops them (have is 0 after it). */
uint8_t *seal_session_room(struct seal_session *ss, size_t have, size_t want, int *err);
int seal_session_take(struct seal_session *ss, struct tree_entry *e, uint64_t foff, size_t len,
		      size_t have);
/* Append an existing chunk to e's chunks as it is. */
int seal_session_reuse(struct seal_session *ss, struct tree_entry *e, const struct chunk_ref *c);
/* Every chunk added so far is placed in its entry. */
int seal_session_flush(struct seal_session *ss);
/* Seal (or find) t's tree record. */
int seal_session_tree(struct seal_session *ss, struct tree *t, struct rec_ref *ref);
/* Upload what is still packed; afterwards every record added is in the store. */
int seal_session_finish(struct seal_session *ss);
/* For store_publish_head_claim (ctx = the session): take back the packs prune condemned that
 * the session's records refer to; -EIDRM if prune swept one (nothing may be published). */
struct snaplist;
int seal_session_claim(void *ss, struct snaplist *next);
/* Chunks and bytes so far (chunks, chunks_new, bytes_new_plain, bytes_new_stored, packs_new). */
void seal_session_stats(const struct seal_session *ss, struct seal_result *out);

#endif
