#include "pack.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "store_int.h"

struct packer {
	struct store *s;
	struct dedup *d;
	size_t target;
	uint8_t id[PACK_ID_LEN];
	uint8_t *buf;
	size_t len, cap;
	struct index_entry *ents;
	size_t nents, capents;
	struct packer_stats st;
};

int packer_new(struct store *s, struct dedup *d, size_t target, struct packer **out)
{
	struct packer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->d = d;
	p->target = target;
	*out = p;
	return 0;
}

void packer_free(struct packer *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p->ents);
	free(p);
}

void packer_get_stats(const struct packer *p, struct packer_stats *st)
{
	*st = p->st;
}

static int reserve(struct packer *p, size_t more)
{
	if (p->len + more > p->cap) {
		size_t cap = p->cap ? p->cap : p->target + (1u << 20);
		while (cap < p->len + more)
			cap *= 2;
		uint8_t *b = realloc(p->buf, cap);
		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = cap;
	}
	if (p->nents == p->capents) {
		size_t cap = p->capents ? 2 * p->capents : 256;
		struct index_entry *e = realloc(p->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		p->ents = e;
		p->capents = cap;
	}
	return 0;
}

int packer_add(struct packer *p, enum record_type type, const uint8_t id[ID_LEN],
	       const uint8_t *rec, size_t len, uint32_t plen, struct rec_ref *ref)
{
	int ret = reserve(p, len + 8);
	if (ret)
		return ret;
	if (p->len == 0) { /* a new pack */
		randombytes_buf(p->id, PACK_ID_LEN);
		memcpy(p->buf, PACK_MAGIC, 8);
		p->len = 8;
	}
	memcpy(ref->id, id, ID_LEN);
	memcpy(ref->pack, p->id, PACK_ID_LEN);
	ref->off = p->len;
	ref->len = (uint32_t)len;
	ref->plen = plen;
	memcpy(p->buf + p->len, rec, len);
	p->len += len;
	p->ents[p->nents++] = (struct index_entry){.type = (uint8_t)type, .ref = *ref};
	ret = dedup_add(p->d, ref);
	if (!ret && p->len >= p->target)
		ret = packer_flush(p);
	return ret;
}

/* The index object of the pack just uploaded: sealed, named by its own id. */
static int write_index(struct packer *p)
{
	const struct keys *k = store_keys(p->s);
	char *json = NULL, key[128], idh[2 * ID_LEN + 1];
	uint8_t id[ID_LEN], *rec = NULL;
	size_t rlen;
	int ret = index_encode(p->id, p->ents, p->nents, &json);

	if (ret)
		return ret;
	record_id(k, REC_INDEX, json, strlen(json), id);
	ret = record_seal(k, REC_INDEX, id, json, strlen(json), 3, &rec, &rlen);
	if (!ret) {
		hex_encode(id, ID_LEN, idh);
		snprintf(key, sizeof(key), "index/%s", idh);
		ret = remote_put(store_remote(p->s), key, rec, rlen, 0);
	}
	free(rec);
	free(json);
	return ret;
}

int packer_flush(struct packer *p)
{
	char key[64];
	int ret;
	if (p->len == 0)
		return 0;
	store_pack_key(p->id, key);
	ret = remote_put(store_remote(p->s), key, p->buf, p->len, REMOTE_CREATE_ONLY);
	if (!ret)
		ret = write_index(p);
	if (ret) {
		log_err("uploading %s: %s", key, strerror(-ret));
		return ret;
	}
	p->st.packs++;
	p->st.bytes += p->len;
	p->st.records += p->nents;
	p->len = 0;
	p->nents = 0;
	return 0;
}
