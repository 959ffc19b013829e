/* cbuf: an immutable, reference-counted byte buffer (a decrypted frame, chunk or tree),
 * shared between the cache and readers without copying.
 *
 * Buffers of exactly CBUF_SLOT_LEN bytes (a full frame of a framed record, frec.h: most of
 * what a mount caches) come from a pool of fixed slots outside the malloc heap. A mount
 * allocates and frees thousands of them per second as its cache turns over; from the heap,
 * freed frames and short-lived buffers fragmented it (RSS far above the cache) and fresh
 * pages cost a fault each. Pool slots are reused, never unmapped: the pool grows to the most
 * frames alive at once (the memory cache's bound plus the reads in flight), and free slots
 * beyond CBUF_POOL_KEEP are given back to the kernel (madvise) so they stop counting. */
#ifndef EMBASSY_CBUF_H
#define EMBASSY_CBUF_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CBUF_SLOT_LEN  (64u << 10)
#define CBUF_POOL_KEEP (16u << 20) /* free slots kept resident */

struct cbuf {
	atomic_uint refs;
	uint8_t pooled; /* a pool slot (cbuf.c) */
	size_t len;
	uint8_t data[];
};

struct cbuf *cbuf_new(size_t len);
/* Take ownership of a malloc'd buffer's bytes (copied; p is freed). */
struct cbuf *cbuf_from(uint8_t *p, size_t len);
/* Turn a malloc'd block whose first offsetof(struct cbuf, data) bytes are free and whose
 * data follows into a cbuf (see record_open_room). */
struct cbuf *cbuf_adopt(uint8_t *block, size_t len);
struct cbuf *cbuf_ref(struct cbuf *b);
void cbuf_unref(struct cbuf *b);

#endif
