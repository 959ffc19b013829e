#include "refjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

json_t *refjson_bytes(const uint8_t *p, size_t len)
{
	/* jansson refuses invalid UTF-8, which is exactly when hex is needed */
	json_t *s = json_stringn((const char *)p, len);
	if (s)
		return s;
	char *h = malloc(2 * len + 1);
	if (!h)
		return NULL;
	hex_encode(p, len, h);
	json_t *o = json_pack("{s:s}", "hex", h);
	free(h);
	return o;
}

json_t *refjson_name(const char *name, size_t len)
{
	return refjson_bytes((const uint8_t *)name, len);
}

json_t *refjson_ref(const struct rec_ref *r)
{
	char id[2 * ID_LEN + 1], pack[2 * PACK_ID_LEN + 1];
	hex_encode(r->id, ID_LEN, id);
	hex_encode(r->pack, PACK_ID_LEN, pack);
	return json_pack("[s s I I I]", id, pack, (json_int_t)r->off, (json_int_t)r->len,
			 (json_int_t)r->plen);
}

json_t *refjson_chunk(const struct chunk_ref *c)
{
	char id[2 * ID_LEN + 1], pack[2 * PACK_ID_LEN + 1];
	hex_encode(c->rec.id, ID_LEN, id);
	hex_encode(c->rec.pack, PACK_ID_LEN, pack);
	return json_pack("[I s s I I I]", (json_int_t)c->foff, id, pack, (json_int_t)c->rec.off,
			 (json_int_t)c->rec.len, (json_int_t)c->rec.plen);
}

int refjson_get_bytes(const json_t *v, size_t max, uint8_t **out, size_t *len)
{
	const char *src;
	size_t n;
	uint8_t *buf;

	if (json_is_string(v)) {
		src = json_string_value(v);
		n = json_string_length(v);
		if (n > max || !(buf = malloc(n + 1)))
			return n > max ? -EBADMSG : -ENOMEM;
		memcpy(buf, src, n);
	} else if (json_is_object(v) && json_object_size(v) == 1 &&
		   json_is_string(json_object_get(v, "hex"))) {
		const json_t *h = json_object_get(v, "hex");
		size_t hl = json_string_length(h);
		n = hl / 2;
		if (hl % 2 || n > max || !(buf = malloc(n + 1)))
			return (hl % 2 || n > max) ? -EBADMSG : -ENOMEM;
		if (hex_decode(json_string_value(h), buf, n)) {
			free(buf);
			return -EBADMSG;
		}
	} else {
		return -EBADMSG;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static int get_uint_at(const json_t *a, size_t i, uint64_t max, uint64_t *out)
{
	const json_t *v = json_array_get(a, i);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return -EBADMSG;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_hex_at(const json_t *a, size_t i, uint8_t *out, size_t len)
{
	const json_t *v = json_array_get(a, i);
	if (!json_is_string(v) || json_string_length(v) != 2 * len)
		return -EBADMSG;
	return hex_decode(json_string_value(v), out, len) ? -EBADMSG : 0;
}

/* Fields of a ref starting at array index base. */
static int get_ref_at(const json_t *a, size_t base, struct rec_ref *r)
{
	uint64_t off, len, plen;
	if (get_hex_at(a, base, r->id, ID_LEN) || get_hex_at(a, base + 1, r->pack, PACK_ID_LEN) ||
	    get_uint_at(a, base + 2, INT64_MAX, &off) ||
	    get_uint_at(a, base + 3, RECORD_MAX_PLAIN + (1u << 20), &len) ||
	    get_uint_at(a, base + 4, RECORD_MAX_PLAIN, &plen) || len < RECORD_OVERHEAD)
		return -EBADMSG;
	r->off = off;
	r->len = (uint32_t)len;
	r->plen = (uint32_t)plen;
	return 0;
}

int refjson_get_ref(const json_t *v, struct rec_ref *r)
{
	if (!json_is_array(v) || json_array_size(v) != 5)
		return -EBADMSG;
	return get_ref_at(v, 0, r);
}

int refjson_get_chunk(const json_t *v, struct chunk_ref *c)
{
	if (!json_is_array(v) || json_array_size(v) != 6)
		return -EBADMSG;
	if (get_uint_at(v, 0, INT64_MAX, &c->foff))
		return -EBADMSG;
	return get_ref_at(v, 1, &c->rec);
}

int refjson_get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return -EBADMSG;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int refjson_get_hex(const json_t *o, const char *key, uint8_t *out, size_t len)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || json_string_length(v) != 2 * len)
		return -EBADMSG;
	return hex_decode(json_string_value(v), out, len) ? -EBADMSG : 0;
}
