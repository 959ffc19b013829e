/* libFuzzer target for tree_decode, the parser of directory records (host-supplied bytes once
 * the record opens), in both encodings: every input is decoded as a format 1 (JSON) and as a
 * format 2 (binary) record. Aborts when an accepted tree breaks the invariants tree.h
 * promises (names valid and strictly increasing, chunks ordered, non-overlapping and inside
 * the file) or does not survive an encode/decode round trip in its format. The corpus holds
 * records of both (tests/fuzz/corpus/tree: *.json and bin_*). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

static void check_entry(const struct tree_entry *e)
{
	uint64_t end = 0;
	if (!e->namelen || e->namelen > TREE_NAME_MAX || memchr(e->name, '/', e->namelen) ||
	    memchr(e->name, 0, e->namelen) || !strcmp(e->name, ".") || !strcmp(e->name, ".."))
		abort();
	for (size_t c = 0; c < e->nchunks; c++) {
		const struct chunk_ref *k = &e->chunks[c];
		if (k->foff < end || k->rec.plen == 0 || k->foff + k->rec.plen > e->size)
			abort();
		end = k->foff + k->rec.plen;
	}
	if (e->type == ENT_SYMLINK && (!e->target || strlen(e->target) != e->size))
		abort();
}

static void check_round_trip(const struct tree *t, int format)
{
	uint8_t *buf = NULL;
	size_t len;
	struct tree *u = NULL;
	if (tree_encode(t, format, &buf, &len))
		abort();
	if (tree_decode(buf, len, format, &u) || u->n != t->n)
		abort();
	for (size_t i = 0; i < t->n; i++)
		if (tree_namecmp(t->e[i].name, t->e[i].namelen, u->e[i].name, u->e[i].namelen) ||
		    t->e[i].type != u->e[i].type || t->e[i].size != u->e[i].size ||
		    t->e[i].nchunks != u->e[i].nchunks)
			abort();
	tree_free(u);
	free(buf);
}

static void one(const uint8_t *data, size_t size, int format)
{
	struct tree *t = NULL;
	int ret = tree_decode(data, size, format, &t);
	if (ret) {
		if ((ret != -EBADMSG && ret != -ENOMEM) || t)
			abort();
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		check_entry(&t->e[i]);
		if (i && tree_namecmp(t->e[i - 1].name, t->e[i - 1].namelen, t->e[i].name,
				      t->e[i].namelen) >= 0)
			abort();
		if (tree_find(t, t->e[i].name, t->e[i].namelen) != &t->e[i])
			abort();
	}
	check_round_trip(t, format);
	tree_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, 1);
	one(data, size, 2);
	return 0;
}
