/* store_frames_int: what reading framed records a frame at a time (store_frames.c: a
 * reader's frames) and the prefetcher's whole records (store_pf.c) share. Private to
 * store/. */
#ifndef EMBASSY_STORE_FRAMES_INT_H
#define EMBASSY_STORE_FRAMES_INT_H
#include <stdlib.h>

#include "frec.h"
#include "iobuf.h"
#include "store_int.h"

#define ONE_READ_GAP (256u << 10) /* records or frames this close: one ranged read (network) */

/* A missing pack is as much an integrity failure as a tampered record. */
static inline int frames_integrity(int err)
{
	return err == -ENOENT ? -EBADMSG : err;
}

/* Bytes read from the store: an iobuf (cap > 0), or malloc'd by a parallel read (cap 0). */
struct rbuf {
	uint8_t *p;
	size_t cap;
};

static inline void rbuf_free(struct rbuf *b)
{
	if (b->cap)
		iobuf_put(b->p, b->cap);
	else
		free(b->p);
	b->p = NULL;
	b->cap = 0;
}

/* ---- headers ---- */

/* A header in the memory cache: which record instance it belongs to (the same content may
 * be stored twice, with other nonces and lengths), the verified table, and its raw bytes
 * (the disk cache stores them in front of each frame). */
struct hmeta {
	uint8_t pack[PACK_ID_LEN];
	uint64_t off;
	uint32_t rawlen, tablen;
};

static inline const struct hmeta *meta_of(const struct cbuf *b)
{
	return (const struct hmeta *)(const void *)b->data;
}

static inline const struct frec_hdr *hdr_of(const struct cbuf *b)
{
	return (const struct frec_hdr *)(const void *)(b->data + sizeof(struct hmeta));
}

static inline const uint8_t *hraw_of(const struct cbuf *b)
{
	return b->data + sizeof(struct hmeta) + meta_of(b)->tablen;
}

/* Log why a frame (frame >= 0) or the header (frame -1) of ref's record failed. */
void frames_log(const struct rec_ref *ref, int64_t frame, int err);
/* Verify the header in bytes (the record's first hl bytes) for ref; *out holds it. Offered
 * to the memory cache only when it came from ref's own place in its pack (offer). */
int frames_open_header(struct store *s, const struct rec_ref *ref, const uint8_t *bytes, size_t hl,
		       bool offer, struct cbuf **out);

#endif
