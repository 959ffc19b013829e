/* hostile_pack: building packs by hand (records sealed honestly, in a pack of our own) and
 * publishing a manifest for a root record, as the sealer or as a forger. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "hostile.h"
#include "snaplist.h"
#include "store_int.h"

/* ---- building packs by hand ---- */

int pb_init(struct pbuild *p)
{
	randombytes_buf(p->id, PACK_ID_LEN);
	p->cap = 1u << 20;
	p->buf = malloc(p->cap);
	if (!p->buf)
		return -ENOMEM;
	memcpy(p->buf, PACK_MAGIC, 8);
	p->len = 8;
	return 0;
}

/* Seal plain as a record of type (id computed honestly) and append it. */
int pb_add(struct pbuild *p, const struct store *s, enum record_type type, const void *plain,
	   size_t len, struct rec_ref *ref)
{
	uint8_t *rec;
	size_t rlen;
	int ret = store_record_id(s, type, plain, len, ref->id, NULL);
	if (!ret)
		ret = store_record_seal(s, type, ref->id, NULL, plain, len, 0, &rec, &rlen);
	if (ret)
		return ret;
	while (p->len + rlen > p->cap) {
		uint8_t *b = realloc(p->buf, p->cap * 2);
		if (!b) {
			free(rec);
			return -ENOMEM;
		}
		p->buf = b;
		p->cap *= 2;
	}
	memcpy(ref->pack, p->id, PACK_ID_LEN);
	ref->off = p->len;
	ref->len = (uint32_t)rlen;
	ref->plen = (uint32_t)len;
	memcpy(p->buf + p->len, rec, rlen);
	p->len += rlen;
	free(rec);
	return 0;
}

int pb_put(struct store *s, struct pbuild *p)
{
	char key[64];
	int ret;
	store_pack_key(p->id, key);
	ret = remote_put(store_remote(s), key, p->buf, p->len, REMOTE_CREATE_ONLY);
	free(p->buf);
	p->buf = NULL;
	return ret;
}

/* The sealer's way: the manifest joins a new generation of the signed snapshot list. */
struct listed_pub {
	struct snapshot *sn;
	bool written;
};

static int listed_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct listed_pub *p = ctx;
	(void)cur;
	return snaplist_add(next, p->sn->id, p->sn->seq);
}

/* Publish a manifest for root (signed with whatever s->sign_sk holds) and a head for it.
 * listed: through the signed snapshot list (the real sealer key); otherwise a bare head
 * (a forger, whose list would not verify anyway). */
int hostile_publish(struct store *s, const struct rec_ref *root, uint64_t seq, const char *host,
		    const char *tag, bool head, bool listed)
{
	char *tags[1] = {(char *)tag};
	struct snapshot sn = {
	    .seq = seq, .time_ns = hostile_now_ns(), .root = *root, .tags = tags, .ntags = 1};
	struct head h = {.seq = seq, .time_ns = sn.time_ns};
	int ret;

	snprintf(sn.host, sizeof(sn.host), "%s", host);
	ret = store_write_snapshot(s, &sn);
	if (ret || !head)
		return ret;
	memcpy(h.snapshot, sn.id, ID_LEN);
	h.expires_ns = h.time_ns + 7LL * 86400 * 1000000000;
	if (listed)
		ret = snaplist_update(s, listed_edit, &(struct listed_pub){.sn = &sn}, 0, NULL);
	else
		ret = store_write_head(s, &h);
	if (!ret) {
		char idh[2 * ID_LEN + 1];
		hex_encode(sn.id, ID_LEN, idh);
		printf("%s\n", idh);
	}
	return ret;
}

uint64_t hostile_head_seq(struct store *s)
{
	struct head h;
	return store_read_head(s, &h) ? 0 : h.seq;
}
