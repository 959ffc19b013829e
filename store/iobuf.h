/* iobuf: buffers for ciphertext on its way from the store to the decryptor (ranged reads of
 * frames and whole records). They live outside the malloc heap, in their own mappings, so
 * short-lived megabyte buffers never fragment the heap that holds the memory cache's frames
 * (which kept a mount's RSS far above its cache), and they are reused, so a read does not pay
 * for page faults and zeroing of fresh memory.
 *
 * Bound: at most IOBUF_KEEP bytes of free buffers are kept (the rest are unmapped when given
 * back); buffers in use are bounded by their users (readers: one read each; the prefetcher:
 * its jobs). Every mapped buffer, in use or kept, is charged to the memory cache's bound
 * (cbuf_charge): it is resident ciphertext beside the cached plaintext. Thread-safe (one
 * lock around the free list). */
#ifndef EMBASSY_IOBUF_H
#define EMBASSY_IOBUF_H
#include <stddef.h>
#include <stdint.h>

#define IOBUF_KEEP (16u << 20)

/* A buffer of at least len bytes (its real size in *cap), or NULL (-ENOMEM). */
uint8_t *iobuf_get(size_t len, size_t *cap);
/* Give it back (p may be NULL). */
void iobuf_put(uint8_t *p, size_t cap);

#endif
