#include "cbuf.h"

#include <stdlib.h>
#include <string.h>

struct cbuf *cbuf_new(size_t len)
{
	struct cbuf *b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = len;
	return b;
}

struct cbuf *cbuf_from(uint8_t *p, size_t len)
{
	struct cbuf *b = cbuf_new(len);
	if (b)
		memcpy(b->data, p, len);
	free(p);
	return b;
}

struct cbuf *cbuf_adopt(uint8_t *block, size_t len)
{
	struct cbuf *b = (struct cbuf *)(void *)block;
	atomic_init(&b->refs, 1);
	b->len = len;
	return b;
}

struct cbuf *cbuf_ref(struct cbuf *b)
{
	atomic_fetch_add(&b->refs, 1);
	return b;
}

void cbuf_unref(struct cbuf *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}
