/* store_rec: records in the format of the store they belong to. Format 1 seals every record
 * whole (crypto/record.h); format 2 frames data records (crypto/frec.h) and keeps the others
 * whole. Everything that writes or opens a record goes through here, so a store is always
 * written in its own format. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frec.h"
#include "store_int.h"

bool store_framed(const struct store *s, enum record_type type)
{
	return type == REC_DATA && s->format >= 2;
}

int store_record_id(const struct store *s, enum record_type type, const void *plain, size_t len,
		    uint8_t id[ID_LEN], uint8_t **hashes)
{
	if (hashes)
		*hashes = NULL;
	if (!store_framed(s, type)) {
		record_id(s->keys, type, plain, len, id);
		return 0;
	}
	if (len == 0 || len > RECORD_MAX_PLAIN)
		return -EINVAL;
	if (hashes) {
		*hashes = malloc((size_t)frec_nframes(len) * FREC_HASH_LEN);
		if (!*hashes)
			return -ENOMEM;
	}
	frec_id(s->keys, plain, len, id, hashes ? *hashes : NULL);
	return 0;
}

int store_record_seal(const struct store *s, enum record_type type, const uint8_t id[ID_LEN],
		      const uint8_t *hashes, const void *plain, size_t len, int zlevel,
		      uint8_t **out, size_t *outlen)
{
	uint8_t check[ID_LEN], *own = NULL;
	int ret;

	if (!store_framed(s, type))
		return record_seal(s->keys, type, id, plain, len, zlevel, out, outlen);
	if (!hashes) {
		ret = store_record_id(s, type, plain, len, check, &own);
		if (ret)
			return ret;
		hashes = own;
	}
	ret = frec_seal(s->keys, id, hashes, plain, len, zlevel, out, outlen);
	free(own);
	return ret;
}

int store_record_open(const struct store *s, enum record_type type, const struct rec_ref *ref,
		      const uint8_t *rec, size_t len, struct cbuf **out)
{
	uint8_t *base = NULL;
	size_t plen;
	int ret;

	*out = NULL;
	if (store_framed(s, type)) {
		struct cbuf *b = cbuf_new(ref->plen);
		if (!b)
			return -ENOMEM;
		ret = len == ref->len ? frec_open(s->keys, ref->id, rec, len, ref->plen, b->data)
				      : -EBADMSG;
		if (ret) {
			cbuf_unref(b);
			return ret;
		}
		*out = b;
		return 0;
	}
	/* the plaintext lands behind room for the cbuf header: no copy */
	ret =
	    record_open_room(s->keys, type, ref->id, rec, len, ref->plen, CBUF_ROOM, &base, &plen);
	if (!ret && plen != ref->plen)
		ret = -EBADMSG;
	if (ret) {
		free(base);
		return ret;
	}
	*out = cbuf_adopt(base, plen);
	return 0;
}
