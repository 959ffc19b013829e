/* cbuf: an immutable, reference-counted byte buffer (a decrypted frame, chunk or tree),
 * shared between the cache and readers without copying.
 *
 * Buffers of exactly CBUF_SLOT_LEN bytes (a full frame of a framed record, frec.h: most of
 * what a mount caches) come from a pool of fixed 64 KiB slots outside the malloc heap, their
 * headers kept apart so a slot is exactly its data (no page lost per frame). A mount
 * allocates and frees thousands of them per second as its cache turns over; from the heap,
 * freed frames and short-lived buffers fragmented it (RSS far above the cache) and fresh
 * pages cost a fault each. Pool slots are reused, never unmapped.
 *
 * Residency: giving a free slot's pages back to the kernel (madvise) costs a TLB shootdown
 * on every CPU and a page fault per page when it is reused; a stream that turns the cache
 * over paid that per frame (perf: 9 % of a cold read in smp_call_function_many_cond, 8 %
 * in page faults). So free slots stay resident while the slots in memory (in use + free
 * resident) and the live buffers outside the pool (small files, trees: they share the memory
 * cache) are within the bound: the memory cache plus what is in flight, set by the mount
 * with cbuf_pool_bound (CBUF_POOL_KEEP until then). Only beyond it are pages given back, so
 * the pool's RSS is at most max(bound - live heap buffers, the most slots alive at once).
 * Heap buffers' freed pages are given back every CBUF_TRIM_EVERY bytes freed (malloc_trim),
 * so the heap's RSS follows the live heap buffers the bound counts; until then the bound
 * counts the freed bytes too (they are still resident).
 *
 * Charges: every buffer is counted at the memory it really takes (cbuf.charge: a whole slot,
 * or the heap block with malloc's own header and rounding, not the bytes asked for: a
 * 1-16 KiB small file's frame costs its header and rounding on top), by the bound above and
 * by the memory cache (cache.h). Memory that holds cached or in-flight bytes outside both
 * pool and heap buffers (iobuf.h's ciphertext buffers, the cache's own entries) is charged
 * with cbuf_charge, so the pool's free slots make room for it too: the bound is on the sum. */
#ifndef EMBASSY_CBUF_H
#define EMBASSY_CBUF_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CBUF_SLOT_LEN (64u << 10)
/* default bound (slots, heap buffers and other charges together): 16 MiB of slots beside
 * IOBUF_KEEP of kept ciphertext buffers, so a restore's frames are reused, not given back */
#define CBUF_POOL_KEEP	(48u << 20)
#define CBUF_TRIM_EVERY (16u << 20) /* heap buffers freed between giving free heap pages back */

struct cbuf {
	atomic_uint refs;
	uint8_t pooled; /* a pool slot (cbuf.c) */
	size_t len;
	size_t charge; /* memory it takes: CBUF_SLOT_LEN, or the heap block with malloc's header */
	uint8_t *data;
	struct cbuf *pnext; /* cbuf.c: the pool's free lists */
};

/* Room a block needs in front of its data for cbuf_adopt. */
#define CBUF_ROOM sizeof(struct cbuf)

struct cbuf *cbuf_new(size_t len);
/* Take ownership of a malloc'd buffer's bytes (copied; p is freed). */
struct cbuf *cbuf_from(uint8_t *p, size_t len);
/* Turn a malloc'd block whose first CBUF_ROOM bytes are free and whose data follows into a
 * cbuf (see record_open_room). */
struct cbuf *cbuf_adopt(uint8_t *block, size_t len);
struct cbuf *cbuf_ref(struct cbuf *b);
void cbuf_unref(struct cbuf *b);

/* Charge (bytes > 0) or release (bytes < 0) memory outside the buffers that shares the
 * bound (see above); free slots are given back when a charge passes it. */
void cbuf_charge(ptrdiff_t bytes);
/* Everything the bound counts: pool slots in memory, heap buffers at their real size and the
 * other charges (bytes). For tests and the bench's accounting. */
size_t cbuf_charged(void);

/* Keep up to bytes of pool slots resident (in use and free together); see above. */
void cbuf_pool_bound(size_t bytes);
/* Pool slots whose pages are in memory: in use + free resident (bytes). For tests and the
 * bench's accounting. */
size_t cbuf_pool_resident(void);

#endif
