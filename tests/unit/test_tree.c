/* Trees are host-supplied (after authentication, but a sealer bug or a read-key holder
 * colluding with the host must still not crash a reader): round trips in both encodings
 * (format 1 JSON, format 2 binary), a known answer for the binary layout, and hostile
 * inputs: edited JSON, hostile entries encoded as a writer would, and every truncation and
 * bit flip of a binary record. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "tree.h"

static struct tree *sample(void)
{
	struct tree *t = calloc(1, sizeof(*t));
	t->n = 5;
	t->e = calloc(5, sizeof(*t->e));
	const char *names[] = {"b\xff\xfe", "a file", "dir", "link", "tty"};
	for (int i = 0; i < 5; i++) {
		t->e[i].name = strdup(names[i]);
		t->e[i].namelen = strlen(names[i]);
		t->e[i].mode = 0644;
		t->e[i].uid = 1000 + (uint32_t)i;
		t->e[i].gid = 4000000000u;
		t->e[i].mtime_ns = 1700000000123456789LL;
		t->e[i].nlink = 1;
	}
	t->e[0].type = ENT_FIFO;
	t->e[0].mtime_ns = -1500000000; /* before 1970 */
	t->e[1].type = ENT_FILE;
	t->e[1].size = 3000;
	t->e[1].nchunks = 2;
	t->e[1].chunks = calloc(2, sizeof(struct chunk_ref));
	t->e[1].chunks[0] =
	    (struct chunk_ref){.foff = 0, .rec = {.off = 8, .len = 1041, .plen = 1000}};
	t->e[1].chunks[1] =
	    (struct chunk_ref){.foff = 2000, .rec = {.off = 1049, .len = 1041, .plen = 1000}};
	t->e[1].chunks[1].rec.id[0] = 7;
	t->e[1].chunks[1].rec.pack[15] = 9;
	t->e[1].link_id = 3;
	t->e[1].nlink = 2;
	t->e[1].nxattrs = 2;
	t->e[1].xattrs = calloc(2, sizeof(struct xattr));
	t->e[1].xattrs[0].name = strdup("user.bin");
	t->e[1].xattrs[0].value = malloc(3);
	memcpy(t->e[1].xattrs[0].value, "a\0\xff", 3);
	t->e[1].xattrs[0].len = 3;
	t->e[1].xattrs[1].name = strdup("user.empty");
	t->e[1].xattrs[1].value = malloc(1);
	t->e[2].type = ENT_DIR;
	t->e[2].mode = 01755;
	t->e[2].subtree = (struct rec_ref){.off = 99, .len = 100, .plen = 59};
	t->e[2].subtree_entries = 12;
	t->e[3].type = ENT_SYMLINK;
	t->e[3].target = strdup("../x\n");
	t->e[3].size = 5;
	t->e[4].type = ENT_CHR;
	t->e[4].rdev = 0x8804;
	tree_sort(t);
	return t;
}

static uint8_t *encode(const struct tree *t, int format, size_t *len)
{
	uint8_t *buf;
	cr_assert_eq(tree_encode(t, format, &buf, len), 0);
	return buf;
}

/* Everything the sample holds came back. */
static void check_sample(const struct tree *t, const struct tree *u)
{
	cr_assert_eq(u->n, t->n);
	for (size_t i = 0; i < t->n; i++) {
		const struct tree_entry *a = &t->e[i], *b = &u->e[i];
		cr_assert_eq(b->namelen, a->namelen);
		cr_assert_eq(memcmp(b->name, a->name, a->namelen), 0);
		cr_assert_eq(b->name[b->namelen], 0);
		cr_assert_eq(b->type, a->type);
		cr_assert_eq(b->mode, a->mode);
		cr_assert_eq(b->uid, a->uid);
		cr_assert_eq(b->gid, a->gid);
		cr_assert_eq(b->mtime_ns, a->mtime_ns);
		cr_assert_eq(b->size, a->size);
		cr_assert_eq(b->rdev, a->rdev);
		cr_assert_eq(b->nlink, a->nlink);
		cr_assert_eq(b->nchunks, a->nchunks);
		if (a->nchunks)
			cr_assert_eq(memcmp(b->chunks, a->chunks, a->nchunks * sizeof(*a->chunks)),
				     0);
		cr_assert_eq(memcmp(&b->subtree, &a->subtree, sizeof(a->subtree)), 0);
		cr_assert_eq(b->subtree_entries, a->subtree_entries);
		cr_assert_eq(b->nxattrs, a->nxattrs);
		for (size_t x = 0; x < a->nxattrs; x++) {
			cr_assert_str_eq(b->xattrs[x].name, a->xattrs[x].name);
			cr_assert_eq(b->xattrs[x].len, a->xattrs[x].len);
			cr_assert_eq(
			    memcmp(b->xattrs[x].value, a->xattrs[x].value, a->xattrs[x].len), 0);
		}
	}
	const struct tree_entry *f = tree_find(u, "a file", 6);
	cr_assert_not_null(f);
	cr_assert_eq(f->chunks[1].foff, 2000);
	cr_assert_eq(f->chunks[1].rec.id[0], 7);
	cr_assert_eq(f->link_id, 3);
	cr_assert_eq(tree_chunk_at(f, 0), 0);
	cr_assert_eq(tree_chunk_at(f, 1500), 1); /* in the hole: next chunk */
	cr_assert_eq(tree_chunk_at(f, 2999), 1);
	cr_assert_eq(tree_chunk_at(f, 3000), 2);
	const struct tree_entry *l = tree_find(u, "link", 4);
	cr_assert_str_eq(l->target, "../x\n");
	cr_assert_null(tree_find(u, "nope", 4));
}

static void round_trip(int format)
{
	struct tree *t = sample(), *u = NULL, *d = NULL;
	size_t len;
	uint8_t *buf = encode(t, format, &len);
	cr_assert_eq(tree_decode(buf, len, format, &u), 0);
	cr_assert_eq(u->packed, format == 2);
	check_sample(t, u);
	/* a copy a writer may change, whatever the decoder's layout */
	cr_assert_eq(tree_dup(u, &d), 0);
	cr_assert_not(d->packed);
	check_sample(t, d);
	free(buf);
	tree_free(t);
	tree_free(u);
	tree_free(d);
}

Test(tree, round_trip_json)
{
	round_trip(1);
}

Test(tree, round_trip_binary)
{
	round_trip(2);
}

Test(tree, unknown_format)
{
	struct tree *t = sample(), *u = (struct tree *)1;
	uint8_t *buf = (uint8_t *)1;
	size_t len;
	cr_assert_eq(tree_encode(t, 3, &buf, &len), -EPROTONOSUPPORT);
	cr_assert_null(buf);
	cr_assert_eq(tree_decode("{}", 2, 0, &u), -EPROTONOSUPPORT);
	cr_assert_null(u);
	/* one encoding is never read as the other */
	buf = encode(t, 1, &len);
	cr_assert_eq(tree_decode(buf, len, 2, &u), -EBADMSG);
	free(buf);
	buf = encode(t, 2, &len);
	cr_assert_eq(tree_decode(buf, len, 1, &u), -EBADMSG);
	free(buf);
	tree_free(t);
}

/* The binary layout byte by byte (docs/FORMAT.md 9.7 shows the same vector): a file "a" of
 * 5 bytes in one chunk, and a directory "d" with an xattr. */
Test(tree, binary_known_answer)
{
	struct chunk_ref c = {.foff = 0, .rec = {.off = 8, .len = 46, .plen = 5}};
	struct xattr x = {.name = "user.k", .value = (uint8_t *)"v", .len = 1};
	struct tree_entry e[2] = {{.name = "a",
				   .namelen = 1,
				   .type = ENT_FILE,
				   .mode = 0644,
				   .uid = 1,
				   .gid = 2,
				   .mtime_ns = 1000000000,
				   .size = 5,
				   .nlink = 1,
				   .chunks = &c,
				   .nchunks = 1},
				  {.name = "d",
				   .namelen = 1,
				   .type = ENT_DIR,
				   .mode = 0755,
				   .mtime_ns = -1,
				   .nlink = 1,
				   .subtree = {.off = 53, .len = 100, .plen = 59},
				   .subtree_entries = 3,
				   .xattrs = &x,
				   .nxattrs = 1}};
	struct tree t = {.e = e, .n = 2}, *u;
	memset(c.rec.id, 0x11, ID_LEN);
	memset(c.rec.pack, 0x22, PACK_ID_LEN);
	memset(e[1].subtree.id, 0x33, ID_LEN);
	memset(e[1].subtree.pack, 0x44, PACK_ID_LEN);
	static const char want[] =
	    "454d425402000000"
	    "02000000"
	    "01000000"
	    "01000000" /* EMBT 2; 2 entries, 1, 1 */
	    "01"
	    "00"
	    "a401"
	    "01000000"
	    "02000000" /* file, no flags, 0644, 1, 2 */
	    "00ca9a3b00000000"
	    "0500000000000000"
	    "01"
	    "6100" /* mtime 1 s, size 5, "a" */
	    "01000000"
	    "0000000000000000" /* 1 chunk, at offset 0: */
	    "1111111111111111111111111111111111111111111111111111111111111111"
	    "22222222222222222222222222222222"
	    "0800000000000000"
	    "2e000000"
	    "05000000" /* off 8, len 46, plen 5 */
	    "02"
	    "02"
	    "ed01"
	    "00000000"
	    "00000000" /* dir, xattrs, 0755, 0, 0 */
	    "ffffffffffffffff"
	    "0000000000000000"
	    "01"
	    "6400" /* mtime -1 ns, size 0, "d" */
	    "3333333333333333333333333333333333333333333333333333333333333333"
	    "44444444444444444444444444444444"
	    "3500000000000000"
	    "64000000"
	    "3b000000"
	    "03000000" /* off 53, 100, 59; 3 entries */
	    "0100"
	    "06"
	    "757365722e6b00"
	    "01000000"
	    "76"; /* 1 xattr: user.k = "v" */
	uint8_t *buf;
	size_t len;
	char *hex;
	cr_assert_eq(tree_encode(&t, 2, &buf, &len), 0);
	hex = malloc(2 * len + 1);
	hex_encode(buf, len, hex);
	cr_assert_str_eq(hex, want);
	cr_assert_eq(tree_decode(buf, len, 2, &u), 0);
	cr_assert_eq(u->n, 2);
	cr_assert_eq(u->e[1].mtime_ns, -1);
	cr_assert_eq(u->e[1].xattrs[0].value[0], 'v');
	tree_free(u);
	free(hex);
	free(buf);
}

/* ---- format 1: edits of the JSON text ---- */

/* Replace the first occurrence of from by to in the encoding, then expect rejection. */
static void expect_bad(const char *from, const char *to)
{
	struct tree *t = sample(), *u = NULL;
	size_t len;
	char *json = (char *)encode(t, 1, &len), *p = strstr(json, from);
	cr_assert_not_null(p, "sample encoding lacks %s: %s", from, json);
	size_t fl = strlen(from), tl = strlen(to);
	char *bad = malloc(len - fl + tl + 1);
	memcpy(bad, json, (size_t)(p - json));
	memcpy(bad + (p - json), to, tl);
	strcpy(bad + (p - json) + tl, p + fl);
	cr_assert_eq(tree_decode(bad, strlen(bad), 1, &u), -EBADMSG, "accepted: %s", bad);
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
	expect_bad("\"uid\":1000", "\"uid\":-5");
	expect_bad("\"target\":\"../x\\n\"", "\"target\":\"\"");
	expect_bad("\"entries\":12", "\"entries\":99999999999");
	expect_bad("\"v\":1", "\"v\":2");
	struct tree *u;
	cr_assert_eq(tree_decode("[]", 2, 1, &u), -EBADMSG);
	cr_assert_eq(tree_decode("{\"v\":1,\"entries\":{}}", 20, 1, &u), -EBADMSG);
	cr_assert_eq(tree_decode("\xff\xfe", 2, 1, &u), -EBADMSG);
	cr_assert_eq(tree_decode("", 0, 1, &u), -EBADMSG);
}

/* ---- format 2: hostile entries encoded as a writer would (the encoder does not check) ---- */

typedef void (*spoil_fn)(struct tree *t);

static struct tree_entry *ent(struct tree *t, const char *name)
{
	struct tree_entry *e = (struct tree_entry *)tree_find(t, name, strlen(name));
	cr_assert_not_null(e);
	return e;
}

static void rename_to(struct tree_entry *e, const char *name, size_t len)
{
	free(e->name);
	e->name = malloc(len + 1);
	memcpy(e->name, name, len);
	e->name[len] = 0;
	e->namelen = len;
}

/* Spoil the sample, encode it in binary (in the given entry order), expect rejection. */
static void expect_bad_bin(spoil_fn spoil)
{
	struct tree *t = sample(), *u = (struct tree *)1;
	uint8_t *buf;
	size_t len;
	spoil(t);
	cr_assert_eq(tree_encode(t, 2, &buf, &len), 0);
	cr_assert_eq(tree_decode(buf, len, 2, &u), -EBADMSG);
	free(buf);
	tree_free(t);
}

static void n_dotdot(struct tree *t)
{
	rename_to(ent(t, "dir"), "..", 2);
}
static void n_dot(struct tree *t)
{
	rename_to(ent(t, "dir"), ".", 1);
}
static void n_empty(struct tree *t)
{
	rename_to(ent(t, "dir"), "", 0);
}
static void n_slash(struct tree *t)
{
	rename_to(ent(t, "dir"), "a/b", 3);
}
static void n_nul(struct tree *t)
{
	rename_to(ent(t, "dir"), "d\0", 2);
}
static void n_dup(struct tree *t)
{
	rename_to(ent(t, "dir"), "a file", 6);
}
static void n_order(struct tree *t)
{
	rename_to(ent(t, "dir"), "0", 1);
}
static void c_overlap(struct tree *t)
{
	ent(t, "a file")->chunks[1].foff = 500;
}
static void c_past_end(struct tree *t)
{
	ent(t, "a file")->chunks[1].foff = 2500;
}
static void c_size(struct tree *t)
{
	ent(t, "a file")->size = 2999;
}
static void c_plen0(struct tree *t)
{
	ent(t, "a file")->chunks[1].rec.plen = 0;
}
static void c_plen_big(struct tree *t)
{
	ent(t, "a file")->chunks[1].rec.plen = 999999999;
}
static void c_len_small(struct tree *t)
{
	ent(t, "a file")->chunks[1].rec.len = 40;
}
static void c_off_big(struct tree *t)
{
	ent(t, "a file")->chunks[1].rec.off = 1ull << 63;
}
static void c_more_than_size(struct tree *t)
{
	ent(t, "a file")->size = 1;
}
static void s_mode(struct tree *t)
{
	ent(t, "dir")->mode = 010000;
}
static void s_size(struct tree *t)
{
	ent(t, "tty")->size = 1ull << 63;
}
static void s_rdev(struct tree *t)
{
	ent(t, "tty")->rdev = 1ull << 63;
}
static void s_entries(struct tree *t)
{
	ent(t, "dir")->subtree_entries = (4u << 20) + 1;
}
static void s_dir_len(struct tree *t)
{
	ent(t, "dir")->subtree.len = 0;
}
static void s_link_on_dir(struct tree *t)
{
	ent(t, "dir")->link_id = 5;
}
static void s_nlink0(struct tree *t)
{
	ent(t, "a file")->nlink = 0;
}
static void s_link_big(struct tree *t)
{
	ent(t, "a file")->link_id = 1ull << 63;
}
static void s_target_empty(struct tree *t)
{
	ent(t, "link")->size = 0;
}
static void s_target_nul(struct tree *t)
{
	ent(t, "link")->target[2] = 0;
}
static void s_target_long(struct tree *t)
{
	struct tree_entry *e = ent(t, "link");
	free(e->target);
	e->target = calloc(4097, 1);
	memset(e->target, 'x', 4096);
	e->size = 4096;
}
static void x_name_empty(struct tree *t)
{
	ent(t, "a file")->xattrs[1].name[0] = 0;
}
static void x_value_big(struct tree *t)
{
	struct xattr *x = &ent(t, "a file")->xattrs[1];
	free(x->value);
	x->value = calloc(1, (64u << 10) + 1);
	x->len = (64u << 10) + 1;
}
static void x_too_many(struct tree *t)
{
	struct tree_entry *e = ent(t, "dir");
	e->nxattrs = 1025;
	e->xattrs = calloc(e->nxattrs, sizeof(*e->xattrs));
	for (size_t i = 0; i < e->nxattrs; i++) {
		e->xattrs[i].name = strdup("user.x");
		e->xattrs[i].value = malloc(1);
	}
}

/* A socket: format 2 holds one (type 7, no kind bytes), format 1 refuses to write one (an
 * older reader would reject the directory), and type 8 is unknown. */
Test(tree, sockets_in_format_2_only)
{
	struct tree *t = sample(), *u = NULL;
	uint8_t *buf = (uint8_t *)1, *p;
	size_t len;

	ent(t, "b\xff\xfe")->type = ENT_SOCK;
	cr_assert_eq(tree_encode(t, 1, &buf, &len), -EOPNOTSUPP);
	buf = encode(t, 2, &len);
	cr_assert_eq(tree_decode(buf, len, 2, &u), 0);
	check_sample(t, u);
	cr_assert_eq(tree_find(u, "b\xff\xfe", 3)->type, ENT_SOCK);
	tree_free(u);
	u = (struct tree *)1;
	p = memmem(buf, len, "b\xff\xfe", 4); /* the name and its 00 */
	cr_assert_not_null(p);
	cr_assert_eq(p[-29], ENT_SOCK, "type u8 is 29 bytes before the name");
	p[-29] = ENT_SOCK + 1;
	cr_assert_eq(tree_decode(buf, len, 2, &u), -EBADMSG);
	free(buf);
	tree_free(t);
}

Test(tree, hostile_binary_entries)
{
	static const spoil_fn all[] = {
	    n_dotdot,	  n_dot,	 n_empty,	   n_slash,	n_nul,	    n_dup,
	    n_order,	  c_overlap,	 c_past_end,	   c_size,	c_plen0,    c_plen_big,
	    c_len_small,  c_off_big,	 c_more_than_size, s_mode,	s_size,	    s_rdev,
	    s_entries,	  s_dir_len,	 s_link_on_dir,	   s_nlink0,	s_link_big, s_target_empty,
	    s_target_nul, s_target_long, x_name_empty,	   x_value_big, x_too_many};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		expect_bad_bin(all[i]);
}

/* ---- format 2: byte-level damage ---- */

static void le32_at(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* What tree.h promises of an accepted tree. */
static void check_invariants(const struct tree *u)
{
	for (size_t i = 0; i < u->n; i++) {
		const struct tree_entry *e = &u->e[i];
		uint64_t end = 0;
		cr_assert(e->namelen >= 1 && e->namelen <= 255);
		cr_assert_eq(strlen(e->name), e->namelen);
		cr_assert_null(memchr(e->name, '/', e->namelen));
		cr_assert(strcmp(e->name, ".") && strcmp(e->name, ".."));
		if (i)
			cr_assert_lt(tree_namecmp(u->e[i - 1].name, u->e[i - 1].namelen, e->name,
						  e->namelen),
				     0);
		for (size_t c = 0; c < e->nchunks; c++) {
			cr_assert_geq(e->chunks[c].foff, end);
			cr_assert_gt(e->chunks[c].rec.plen, 0);
			cr_assert_leq(e->chunks[c].foff + e->chunks[c].rec.plen, e->size);
			end = e->chunks[c].foff + e->chunks[c].rec.plen;
		}
		if (e->type == ENT_SYMLINK)
			cr_assert_eq(strlen(e->target), e->size);
	}
}

Test(tree, binary_truncated_extended_and_totals)
{
	struct tree *t = sample(), *u = (struct tree *)1;
	size_t len;
	uint8_t *buf = encode(t, 2, &len), *big = malloc(len + 1);
	for (size_t n = 0; n < len; n++)
		cr_assert_eq(tree_decode(buf, n, 2, &u), -EBADMSG, "a %zu-byte prefix accepted", n);
	memcpy(big, buf, len);
	big[len] = 0;
	cr_assert_eq(tree_decode(big, len + 1, 2, &u), -EBADMSG, "a trailing byte accepted");
	/* header: magic, version, reserved bytes, and each total off by one either way */
	for (size_t at = 0; at < 8; at++) {
		memcpy(big, buf, len);
		big[at] ^= 0x01;
		cr_assert_eq(tree_decode(big, len, 2, &u), -EBADMSG, "header byte %zu", at);
	}
	for (size_t at = 8; at < 20; at += 4)
		for (int d = -1; d <= 1; d += 2) {
			memcpy(big, buf, len);
			big[at] = (uint8_t)(big[at] + d);
			cr_assert_eq(tree_decode(big, len, 2, &u), -EBADMSG, "total at %zu %+d", at,
				     d);
		}
	/* the first entry's type (0 and 7 are none) and flags (bits 2-7 are reserved) */
	for (int v = 0; v < 3; v++) {
		memcpy(big, buf, len);
		big[20 + (v == 2)] = v == 0 ? 0 : v == 1 ? 7 : 0x04;
		cr_assert_eq(tree_decode(big, len, 2, &u), -EBADMSG, "entry byte variant %d", v);
	}
	/* absurd totals are refused before anything is allocated for them */
	for (size_t at = 8; at < 20; at += 4) {
		memcpy(big, buf, len);
		le32_at(big + at, 0xffffffffu);
		cr_assert_eq(tree_decode(big, len, 2, &u), -EBADMSG);
	}
	free(big);
	free(buf);
	tree_free(t);
}

/* Every single-bit flip of a binary record is rejected or gives a tree that keeps the
 * promises of tree.h (a flip in an id, a time or a mode is still a well-formed tree). */
Test(tree, binary_every_bit_flip)
{
	struct tree *t = sample(), *u;
	size_t len, accepted = 0;
	uint8_t *buf = encode(t, 2, &len);
	for (size_t at = 0; at < len; at++)
		for (int bit = 0; bit < 8; bit++) {
			buf[at] ^= (uint8_t)(1u << bit);
			int ret = tree_decode(buf, len, 2, &u);
			cr_assert(ret == 0 || ret == -EBADMSG);
			if (ret == 0) {
				check_invariants(u);
				tree_free(u);
				accepted++;
			}
			buf[at] ^= (uint8_t)(1u << bit);
		}
	cr_assert_gt(accepted, 0); /* ids and times flip freely */
	cr_assert_lt(accepted, len * 8);
	free(buf);
	tree_free(t);
}

Test(tree, empty_and_large)
{
	for (int format = 1; format <= 2; format++) {
		struct tree t = {0}, *u;
		size_t len;
		uint8_t *buf = encode(&t, format, &len);
		cr_assert_eq(tree_decode(buf, len, format, &u), 0);
		cr_assert_eq(u->n, 0);
		tree_free(u);
		free(buf);
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
		buf = encode(&t, format, &len);
		cr_assert_eq(tree_decode(buf, len, format, &u), 0);
		cr_assert_eq(u->n, 100000);
		cr_assert_not_null(tree_find(u, "f054321", 7));
		free(buf);
		tree_free(u);
		for (size_t i = 0; i < t.n; i++)
			tree_entry_clear(&t.e[i]);
		free(t.e);
	}
}
