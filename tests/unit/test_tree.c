/* Trees are host-supplied (after authentication, but a sealer bug or a read-key holder
 * colluding with the host must still not crash a reader): round trips and hostile inputs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

static struct tree *sample(void)
{
	struct tree *t = calloc(1, sizeof(*t));
	t->n = 4;
	t->e = calloc(4, sizeof(*t->e));
	const char *names[] = {"b\xff\xfe", "a file", "dir", "link"};
	for (int i = 0; i < 4; i++) {
		t->e[i].name = strdup(names[i]);
		t->e[i].namelen = strlen(names[i]);
		t->e[i].mode = 0644;
		t->e[i].mtime_ns = 1700000000123456789LL;
		t->e[i].nlink = 1;
	}
	t->e[0].type = ENT_FIFO;
	t->e[1].type = ENT_FILE;
	t->e[1].size = 3000;
	t->e[1].nchunks = 2;
	t->e[1].chunks = calloc(2, sizeof(struct chunk_ref));
	t->e[1].chunks[0] =
	    (struct chunk_ref){.foff = 0, .rec = {.off = 8, .len = 1041, .plen = 1000}};
	t->e[1].chunks[1] =
	    (struct chunk_ref){.foff = 2000, .rec = {.off = 1049, .len = 1041, .plen = 1000}};
	t->e[1].chunks[1].rec.id[0] = 7;
	t->e[1].link_id = 3;
	t->e[1].nlink = 2;
	t->e[1].nxattrs = 1;
	t->e[1].xattrs = calloc(1, sizeof(struct xattr));
	t->e[1].xattrs[0].name = strdup("user.bin");
	t->e[1].xattrs[0].value = malloc(3);
	memcpy(t->e[1].xattrs[0].value, "a\0\xff", 3);
	t->e[1].xattrs[0].len = 3;
	t->e[2].type = ENT_DIR;
	t->e[2].subtree = (struct rec_ref){.off = 99, .len = 100, .plen = 59};
	t->e[2].subtree_entries = 12;
	t->e[3].type = ENT_SYMLINK;
	t->e[3].target = strdup("../x\n");
	t->e[3].size = 5;
	tree_sort(t);
	return t;
}

static char *encode(struct tree *t, size_t *len)
{
	char *json;
	cr_assert_eq(tree_encode(t, &json, len), 0);
	return json;
}

Test(tree, round_trip)
{
	struct tree *t = sample(), *u = NULL;
	size_t len;
	char *json = encode(t, &len);
	cr_assert_eq(tree_decode(json, len, &u), 0);
	cr_assert_eq(u->n, 4);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(u->e[i].namelen, t->e[i].namelen);
		cr_assert_eq(memcmp(u->e[i].name, t->e[i].name, t->e[i].namelen), 0);
		cr_assert_eq(u->e[i].type, t->e[i].type);
		cr_assert_eq(u->e[i].mtime_ns, t->e[i].mtime_ns);
	}
	const struct tree_entry *f = tree_find(u, "a file", 6);
	cr_assert_not_null(f);
	cr_assert_eq(f->nchunks, 2);
	cr_assert_eq(f->chunks[1].foff, 2000);
	cr_assert_eq(f->chunks[1].rec.id[0], 7);
	cr_assert_eq(f->link_id, 3);
	cr_assert_eq(f->xattrs[0].len, 3);
	cr_assert_eq(memcmp(f->xattrs[0].value, "a\0\xff", 3), 0);
	cr_assert_eq(tree_chunk_at(f, 0), 0);
	cr_assert_eq(tree_chunk_at(f, 1500), 1); /* in the hole: next chunk */
	cr_assert_eq(tree_chunk_at(f, 2999), 1);
	cr_assert_eq(tree_chunk_at(f, 3000), 2);
	const struct tree_entry *l = tree_find(u, "link", 4);
	cr_assert_str_eq(l->target, "../x\n");
	cr_assert_null(tree_find(u, "nope", 4));
	free(json);
	tree_free(t);
	tree_free(u);
}

/* Replace the first occurrence of from by to in the encoding, then expect rejection. */
static void expect_bad(const char *from, const char *to)
{
	struct tree *t = sample(), *u = NULL;
	size_t len;
	char *json = encode(t, &len), *p = strstr(json, from);
	cr_assert_not_null(p, "sample encoding lacks %s: %s", from, json);
	size_t fl = strlen(from), tl = strlen(to);
	char *bad = malloc(len - fl + tl + 1);
	memcpy(bad, json, (size_t)(p - json));
	memcpy(bad + (p - json), to, tl);
	strcpy(bad + (p - json) + tl, p + fl);
	cr_assert_eq(tree_decode(bad, strlen(bad), &u), -EBADMSG, "accepted: %s", bad);
	free(bad);
	free(json);
	tree_free(t);
}

Test(tree, hostile_names)
{
	expect_bad("\"name\":\"dir\"", "\"name\":\"..\"");
	expect_bad("\"name\":\"dir\"", "\"name\":\".\"");
	expect_bad("\"name\":\"dir\"", "\"name\":\"\"");
	expect_bad("\"name\":\"dir\"", "\"name\":\"a/b\"");
	expect_bad("\"name\":\"dir\"", "\"name\":\"d\\u0000\"");
	expect_bad("\"name\":\"dir\"", "\"name\":\"a file\"");	       /* duplicate */
	expect_bad("\"name\":\"dir\"", "\"name\":\"0\"");	       /* out of order */
	expect_bad("\"name\":\"dir\"", "\"name\":{\"hex\":\"2e2e\"}"); /* ".." spelt in hex */
}

Test(tree, hostile_chunks)
{
	expect_bad("[2000,", "[500,");	/* overlaps the first chunk */
	expect_bad("[2000,", "[2500,"); /* runs past the end of the file */
	expect_bad("\"size\":3000", "\"size\":2999");
	expect_bad("[2000,", "[-1,");
	expect_bad("[2000,", "[\"x\",");
	expect_bad(",1041,1000]", ",1041,999999999]");
}

Test(tree, hostile_shapes)
{
	expect_bad("\"type\":\"dir\"", "\"type\":\"socket\"");
	expect_bad("\"mode\":420", "\"mode\":65536");
	expect_bad("\"uid\":0", "\"uid\":-5");
	expect_bad("\"target\":\"../x\\n\"", "\"target\":\"\"");
	expect_bad("\"entries\":12", "\"entries\":99999999999");
	expect_bad("\"v\":1", "\"v\":2");
	struct tree *u;
	cr_assert_eq(tree_decode("[]", 2, &u), -EBADMSG);
	cr_assert_eq(tree_decode("{\"v\":1,\"entries\":{}}", 20, &u), -EBADMSG);
	cr_assert_eq(tree_decode("\xff\xfe", 2, &u), -EBADMSG);
	cr_assert_eq(tree_decode("", 0, &u), -EBADMSG);
}

Test(tree, empty_and_large)
{
	struct tree t = {0}, *u;
	size_t len;
	char *json = encode(&t, &len);
	cr_assert_eq(tree_decode(json, len, &u), 0);
	cr_assert_eq(u->n, 0);
	tree_free(u);
	free(json);
	/* 100,000 entries: sorted, found by binary search */
	t.n = 100000;
	t.e = calloc(t.n, sizeof(*t.e));
	for (size_t i = 0; i < t.n; i++) {
		char n[32];
		snprintf(n, sizeof(n), "f%06zu", i);
		t.e[i].name = strdup(n);
		t.e[i].namelen = strlen(n);
		t.e[i].type = ENT_FILE;
		t.e[i].nlink = 1;
	}
	json = encode(&t, &len);
	cr_assert_eq(tree_decode(json, len, &u), 0);
	cr_assert_eq(u->n, 100000);
	cr_assert_not_null(tree_find(u, "f054321", 7));
	free(json);
	tree_free(u);
	for (size_t i = 0; i < t.n; i++)
		tree_entry_clear(&t.e[i]);
	free(t.e);
}
