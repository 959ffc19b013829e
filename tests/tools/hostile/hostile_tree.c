/* hostile_tree: `hostile hostile-tree`: well-signed snapshots with malicious directory
 * records (see hostile.c for the kinds). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostile.h"
#include "store_int.h"

#define DEEP_LEVELS 10000

/* ---- hostile-tree: well-signed snapshots with malicious directory records ---- */

struct hctx {
	struct store *s;
	struct pbuild p;
	struct rec_ref good; /* "good\n" */
	const char *kind, *symtarget;
};

/* Hostile entries are built as a writer would build good ones: tree_encode trusts its input,
 * so the record holds exactly the hostile part, in the store's own encoding (JSON in format
 * 1, binary in format 2). Entries own malloc'd members; add_tree clears them. */
static struct tree_entry ent(const char *name, size_t namelen, enum entry_type type, uint32_t mode)
{
	char *n = malloc(namelen + 1);
	if (n) {
		memcpy(n, name, namelen);
		n[namelen] = 0;
	}
	return (struct tree_entry){
	    .name = n, .namelen = namelen, .type = type, .mode = mode, .nlink = 1};
}

static struct tree_entry ent_file(const char *name, size_t namelen, uint64_t size,
				  const struct chunk_ref *chunks, size_t n)
{
	struct tree_entry e = ent(name, namelen, ENT_FILE, 0644);
	e.size = size;
	e.chunks = calloc(n ? n : 1, sizeof(*chunks));
	if (e.chunks && n) {
		memcpy(e.chunks, chunks, n * sizeof(*chunks));
		e.nchunks = n;
	}
	return e;
}

static struct tree_entry ent_dir(const char *name, const struct rec_ref *r)
{
	struct tree_entry e = ent(name, strlen(name), ENT_DIR, 0755);
	e.subtree = *r;
	e.subtree_entries = 1;
	return e;
}

static struct tree_entry ent_link(const char *name, const char *target)
{
	struct tree_entry e = ent(name, strlen(name), ENT_SYMLINK, 0777);
	e.target = strdup(target);
	e.size = strlen(target);
	return e;
}

/* The good file ("good\n") under a name, optionally a hard link. */
static struct tree_entry good_file(struct hctx *h, const char *name, size_t namelen, uint64_t link,
				   uint32_t nlink)
{
	struct chunk_ref c = {.foff = 0, .rec = h->good};
	struct tree_entry e = ent_file(name, namelen, 5, &c, 1);
	e.link_id = link;
	e.nlink = link ? nlink : 1;
	return e;
}

/* Encode entries a and b (b may be NULL; in this order, unsorted if asked) as one tree
 * record in the store's format; clears them. */
static int encode_pair(struct hctx *h, struct tree_entry *a, struct tree_entry *b, uint8_t **plain,
		       size_t *len)
{
	struct tree_entry e[2] = {*a};
	struct tree t = {.e = e, .n = 1};
	int ret;
	if (b)
		e[t.n++] = *b;
	ret = tree_encode(&t, store_format(h->s), plain, len);
	for (size_t i = 0; i < t.n; i++)
		tree_entry_clear(&e[i]);
	return ret;
}

static int add_tree(struct hctx *h, struct tree_entry a, struct tree_entry *b, struct rec_ref *out)
{
	uint8_t *plain;
	size_t len;
	int ret = encode_pair(h, &a, b, &plain, &len);
	if (ret)
		return ret;
	ret = pb_add(&h->p, h->s, REC_TREE, plain, len, out);
	free(plain);
	return ret;
}

static int evil_deep(struct hctx *h, struct rec_ref *out)
{
	int ret = add_tree(h, good_file(h, "bottom.txt", 10, 0, 0), NULL, out);
	for (int i = 0; !ret && i < DEEP_LEVELS; i++)
		ret = add_tree(h, ent_dir("d", out), NULL, out);
	return ret;
}

/* A true cycle would need a BLAKE2b fixed point: the nearest thing is a subtree ref that
 * names this very record's location (with the only id the attacker can know: a wrong one). */
static int evil_cycle(struct hctx *h, struct rec_ref *out)
{
	struct rec_ref self = {.off = h->p.len, .len = 200, .plen = 0};
	memcpy(self.pack, h->p.id, PACK_ID_LEN);
	memcpy(self.id, h->good.id, ID_LEN);
	for (int i = 0; i < 8; i++) { /* the record's length may depend on its own digits */
		struct tree_entry e = ent_dir("up", &self);
		uint8_t *plain;
		size_t len;
		if (encode_pair(h, &e, NULL, &plain, &len))
			return -ENOMEM;
		free(plain);
		self.plen = (uint32_t)len;
		self.len = self.plen + RECORD_OVERHEAD;
	}
	return add_tree(h, ent_dir("up", &self), NULL, out);
}

static int evil_symlinks(struct hctx *h, struct rec_ref *out)
{
	struct rec_ref inner;
	struct tree_entry f = good_file(h, "z-linked", 8, 7, 2), d, first;
	int ret = add_tree(h, ent_link("evil", ".."), &f, &inner);
	if (ret)
		return ret;
	/* "a" → outside the target; "b/evil" → ".." named like its parent; a hard link pair */
	d = ent_dir("b", &inner);
	ret = add_tree(h, ent_link("a", h->symtarget), &d, &inner);
	if (ret)
		return ret;
	first = good_file(h, "first", 5, 7, 2);
	return add_tree(h, ent_dir("a-dir", &inner), &first, out);
}

static int evil_chunks(struct hctx *h, bool overlap, struct rec_ref *out)
{
	struct chunk_ref c[2] = {{.foff = 0, .rec = h->good},
				 {.foff = overlap ? 3 : (1ull << 63) - 3, .rec = h->good}};
	return add_tree(h, ent_file("bad", 3, overlap ? 10 : (1ull << 63) - 1, c, 2), NULL, out);
}

static int evil_simple(struct hctx *h, struct rec_ref *out)
{
	const char *k = h->kind;
	struct tree_entry b;
	struct chunk_ref c = {.foff = 0, .rec = h->good};
	if (!strcmp(k, "slash"))
		return add_tree(h, good_file(h, "sub/../../escape", 16, 0, 0), NULL, out);
	if (!strcmp(k, "dotdot"))
		return add_tree(h, good_file(h, "..", 2, 0, 0), NULL, out);
	if (!strcmp(k, "dot"))
		return add_tree(h, good_file(h, ".", 1, 0, 0), NULL, out);
	if (!strcmp(k, "empty"))
		return add_tree(h, good_file(h, "", 0, 0, 0), NULL, out);
	if (!strcmp(k, "nul"))
		return add_tree(h, good_file(h, "x\0", 2, 0, 0), NULL, out);
	if (!strcmp(k, "dup")) {
		b = good_file(h, "same", 4, 0, 0);
		return add_tree(h, good_file(h, "same", 4, 0, 0), &b, out);
	}
	if (!strcmp(k, "unsorted")) {
		b = good_file(h, "a", 1, 0, 0);
		return add_tree(h, good_file(h, "b", 1, 0, 0), &b, out);
	}
	if (!strcmp(k, "hugesize"))
		return add_tree(h, ent_file("huge", 4, 1ull << 62, &c, 1), NULL, out);
	if (!strcmp(k, "overlap") || !strcmp(k, "overflow"))
		return evil_chunks(h, !strcmp(k, "overlap"), out);
	if (!strcmp(k, "typeconfuse"))
		return add_tree(h, ent_dir("notadir", &h->good), NULL, out);
	if (!strcmp(k, "hugelink"))
		return add_tree(h, good_file(h, "linked", 6, 67108864, 1), NULL, out);
	return -EINVAL;
}

static int build_evil(struct hctx *h, struct rec_ref *out)
{
	if (!strcmp(h->kind, "deep"))
		return evil_deep(h, out);
	if (!strcmp(h->kind, "cycle"))
		return evil_cycle(h, out);
	if (!strcmp(h->kind, "symlink-parent"))
		return evil_symlinks(h, out);
	return evil_simple(h, out);
}

int cmd_hostile_tree(int argc, char **argv)
{
	struct hctx h = {.kind = hostile_opt(argc, argv, "--kind"),
			 .symtarget = hostile_opt(argc, argv, "--symlink-target")};
	struct rec_ref evil, root;
	int ret = hostile_open_sealer(argv[2], hostile_opt(argc, argv, "--sealer-key"), &h.s);

	if (!h.symtarget)
		h.symtarget = "../../../outside";
	if (ret || !h.kind)
		return hostile_die("usage: hostile-tree STORE --sealer-key F --kind KIND", ret);
	ret = pb_init(&h.p);
	if (!ret)
		ret = pb_add(&h.p, h.s, REC_DATA, "good\n", 5, &h.good);
	if (!ret)
		ret = build_evil(&h, &evil);
	if (!ret) {
		struct tree_entry good = good_file(&h, "good.txt", 8, 0, 0);
		ret = add_tree(&h, ent_dir("evil", &evil), &good, &root);
	}
	if (!ret)
		ret = pb_put(h.s, &h.p);
	if (!ret)
		ret = hostile_publish(h.s, &root, hostile_head_seq(h.s) + 1, "hostile", h.kind,
				      true, true);
	store_close(h.s);
	return ret ? hostile_die(ret == -EINVAL ? "unknown --kind" : "hostile-tree", ret) : 0;
}
