/* cbuf: an immutable, reference-counted byte buffer (a decrypted chunk or tree), shared
 * between the cache and readers without copying. */
#ifndef EMBASSY_CBUF_H
#define EMBASSY_CBUF_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cbuf {
	atomic_uint refs;
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
