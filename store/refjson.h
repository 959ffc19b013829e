/* refjson: the JSON spellings shared by trees, manifests and index records.
 *   bytes  : a JSON string when the bytes are valid UTF-8, else {"hex": "<lower hex>"}
 *   ref    : [id hex64, pack hex32, offset, record length, plain length]
 *   chunk  : [file offset, id hex64, pack hex32, offset, record length, plain length]
 * Decoders treat input as hostile and return -EBADMSG on anything out of shape. */
#ifndef EMBASSY_REFJSON_H
#define EMBASSY_REFJSON_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tree.h"

json_t *refjson_bytes(const uint8_t *p, size_t len);
/* Same as bytes; names are never empty and never contain NUL (checked when decoding). */
json_t *refjson_name(const char *name, size_t len);
json_t *refjson_ref(const struct rec_ref *r);
json_t *refjson_chunk(const struct chunk_ref *c);

/* *out malloc'd with a NUL after len bytes. max bounds the decoded length. */
int refjson_get_bytes(const json_t *v, size_t max, uint8_t **out, size_t *len);
int refjson_get_ref(const json_t *v, struct rec_ref *r);
int refjson_get_chunk(const json_t *v, struct chunk_ref *c);
/* Non-negative integer member no greater than max. */
int refjson_get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out);
/* Fixed-length hex member. */
int refjson_get_hex(const json_t *o, const char *key, uint8_t *out, size_t len);

#endif
