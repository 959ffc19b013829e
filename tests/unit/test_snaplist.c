/* snaplist: the signed list of live snapshots — codec, forgery, and the create-only update
 * loop under a competing writer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "secmem.h"
#include "snaplist.h"
#include "store_write.h"
#include "trust.h"

static char dir[64], url[96], keyfile[96];
static struct trust_opts topts = {.no_state = true};
static struct store *s;

static void setup(void)
{
	char sid[2 * STORE_ID_LEN + 1];
	struct store_init_opts io = {
	    .passphrase = "pw", .passlen = 2, .kdf_ops = 1, .kdf_mem = 8192};
	struct store_auth a = {.trust = &topts};

	cr_assert_eq(secmem_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_snaplist.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "%s/store", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/sealer.key", dir);
	io.sealer_key_out = keyfile;
	cr_assert_eq(store_init(url, NULL, &io, sid), 0);
	a.sealer_key = keyfile;
	cr_assert_eq(store_open(url, NULL, &a, &s), 0);
}

static void teardown(void)
{
	char cmd[128];
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(snaplist, .init = setup, .fini = teardown);

static void sid_of(uint8_t sid[STORE_ID_LEN])
{
	cr_assert_eq(hex_decode(store_id_hex(s), sid, STORE_ID_LEN), 0);
}

static void fill_id(uint8_t *id, size_t len, uint8_t v)
{
	memset(id, v, len);
}

static struct snaplist sample(void)
{
	struct snaplist l = {.gen = 7, .time_ns = 123};
	uint8_t id[ID_LEN], pack[PACK_ID_LEN];
	for (int i = 3; i >= 1; i--) { /* added out of order: kept sorted by seq */
		fill_id(id, ID_LEN, (uint8_t)i);
		cr_assert_eq(snaplist_add(&l, id, (uint64_t)i * 10), 0);
	}
	fill_id(pack, PACK_ID_LEN, 0xbb);
	cr_assert_eq(snaplist_pack_add(&l.condemned, &l.ncondemned, pack, 5), 0);
	fill_id(pack, PACK_ID_LEN, 0xaa);
	cr_assert_eq(snaplist_pack_add(&l.condemned, &l.ncondemned, pack, 6), 0);
	cr_assert_eq(snaplist_pack_add(&l.swept, &l.nswept, pack, 4), 0);
	return l;
}

Test(snaplist, round_trip_sorted)
{
	struct snaplist l = sample(), d;
	uint8_t sid[STORE_ID_LEN], h[ID_LEN];
	char *obj;
	size_t len;

	cr_assert_eq(l.snaps[0].seq, 10);
	cr_assert_eq(l.condemned[0].pack[0], 0xaa); /* sorted by pack id */
	cr_assert_eq(snaplist_encode(s, &l, &obj, &len), 0);
	sid_of(sid);
	cr_assert_eq(snaplist_decode(sid, store_sign_pk(s), 7, (uint8_t *)obj, len, &d), 0);
	cr_assert_eq(d.nsnaps, 3);
	cr_assert_eq(d.ncondemned, 2);
	cr_assert_eq(d.nswept, 1);
	cr_assert_eq(memcmp(d.snaps, l.snaps, 3 * sizeof(*d.snaps)), 0);
	cr_assert_eq(memcmp(d.condemned, l.condemned, 2 * sizeof(*d.condemned)), 0);
	cr_assert_eq(d.time_ns, 123);
	snaplist_hash((uint8_t *)obj, len, h);
	cr_assert_eq(memcmp(h, d.hash, ID_LEN), 0);
	cr_assert_eq(snaplist_newest(&d)->seq, 30);
	snaplist_clear(&d);
	free(obj);
	snaplist_clear(&l);
}

Test(snaplist, forged_or_misplaced_is_refused)
{
	struct snaplist l = sample(), d;
	uint8_t sid[STORE_ID_LEN], other[SIGN_PK_LEN];
	char *obj;
	size_t len;

	cr_assert_eq(snaplist_encode(s, &l, &obj, &len), 0);
	sid_of(sid);
	cr_assert_eq(snaplist_decode(sid, store_sign_pk(s), 8, (uint8_t *)obj, len, &d), -EBADMSG,
		     "served as another generation");
	memcpy(other, store_sign_pk(s), SIGN_PK_LEN);
	other[0] ^= 1;
	cr_assert_neq(snaplist_decode(sid, other, 7, (uint8_t *)obj, len, &d), 0, "other key");
	sid[0] ^= 1;
	cr_assert_eq(snaplist_decode(sid, store_sign_pk(s), 7, (uint8_t *)obj, len, &d), -EBADMSG,
		     "another store's list");
	sid[0] ^= 1;
	for (size_t i = 0; i < len; i++) { /* every byte matters */
		obj[i] ^= 0x01;
		cr_assert_neq(snaplist_decode(sid, store_sign_pk(s), 7, (uint8_t *)obj, len, &d), 0,
			      "byte %zu flipped", i);
		obj[i] ^= 0x01;
	}
	free(obj);
	snaplist_clear(&l);
}

/* Signed but malformed bodies: only a bug or a stolen sealer key makes these, still refused. */
static int decode_body(const char *body)
{
	json_t *b = json_loads(body, 0, NULL);
	uint8_t sid[STORE_ID_LEN];
	struct snaplist d;
	char *env, *text;
	int ret;
	cr_assert_not_null(b, "%s", body);
	cr_assert_eq(asprintf(&text, "%s", store_id_hex(s)) > 0, 1);
	json_object_set_new(b, "store_id", json_string(text));
	free(text);
	cr_assert_eq(store_envelope_make(s, SIGCTX_LIST, b, &env), 0);
	sid_of(sid);
	ret = snaplist_decode(sid, store_sign_pk(s), 1, (uint8_t *)env, strlen(env), &d);
	if (!ret)
		snaplist_clear(&d);
	free(env);
	json_decref(b);
	return ret;
}

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define A32 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B32 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

Test(snaplist, malformed_bodies)
{
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[[\"" A64
				 "\",1],[\"" B64 "\",2]]}"),
		     0);
	cr_assert_eq(decode_body("{\"v\":2,\"gen\":1,\"time\":1,\"snapshots\":[]}"), -EBADMSG);
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1}"), -EBADMSG, "no snapshots");
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[[\"" B64
				 "\",2],[\"" A64 "\",1]]}"),
		     -EBADMSG, "unsorted");
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[[\"" A64
				 "\",1],[\"" A64 "\",2]]}"),
		     -EBADMSG, "one id twice");
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[[\"" A64 "\",-1]]}"),
		     -EBADMSG, "negative seq");
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[[\"abc\",1]]}"),
		     -EBADMSG, "short id");
	cr_assert_eq(
	    decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[],\"condemned\":[[\"" B32
			"\",1],[\"" A32 "\",1]]}"),
	    -EBADMSG, "unsorted packs");
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[],\"swept\":[[\"" A32
				 "\",1,2]]}"),
		     -EBADMSG, "three members");
	cr_assert_eq(
	    decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[],\"reloc\":\"" A64 "\"}"), 0,
	    "a relocation table");
	cr_assert_eq(
	    decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[],\"reloc\":\"" A32 "\"}"),
	    -EBADMSG, "a short relocation hash");
	cr_assert_eq(decode_body("{\"v\":1,\"gen\":1,\"time\":1,\"snapshots\":[],\"reloc\":7}"),
		     -EBADMSG, "a relocation hash that is no string");
}

/* The relocation table's hash rides along: encoded, decoded, and kept by a copy (every
 * edit starts from a copy, so a seal or forget never drops it). */
Test(snaplist, reloc_member_round_trip)
{
	struct snaplist l = sample(), d, c;
	uint8_t sid[STORE_ID_LEN];
	char *obj;
	size_t len;
	l.has_reloc = true;
	fill_id(l.reloc, ID_LEN, 0x5c);
	cr_assert_eq(snaplist_encode(s, &l, &obj, &len), 0);
	cr_assert_not_null(strstr(obj, "reloc"));
	sid_of(sid);
	cr_assert_eq(snaplist_decode(sid, store_sign_pk(s), 7, (uint8_t *)obj, len, &d), 0);
	cr_assert(d.has_reloc);
	cr_assert_eq(memcmp(d.reloc, l.reloc, ID_LEN), 0);
	cr_assert_eq(snaplist_copy(&c, &d), 0);
	cr_assert(c.has_reloc);
	cr_assert_eq(memcmp(c.reloc, l.reloc, ID_LEN), 0);
	free(obj);
	l.has_reloc = false;
	cr_assert_eq(snaplist_encode(s, &l, &obj, &len), 0);
	cr_assert_null(strstr(obj, "reloc"), "a list without a table has no member");
	free(obj);
	snaplist_clear(&c);
	snaplist_clear(&d);
	snaplist_clear(&l);
}

/* ---- the update loop ---- */

struct adder {
	uint8_t id[ID_LEN];
	int calls;
	bool nest; /* on the first call, let another writer publish first */
	uint8_t other[ID_LEN];
};

static int add_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	struct adder *a = ctx;
	const struct snaplist_snap *n = snaplist_newest(cur);
	a->calls++;
	if (a->nest && a->calls == 1) {
		struct adder b = {.nest = false};
		memcpy(b.id, a->other, ID_LEN);
		cr_assert_eq(snaplist_update(s, add_edit, &b, 0, NULL), 0);
	}
	return snaplist_add(next, a->id, (n ? n->seq : 0) + 1);
}

Test(snaplist, a_lost_race_builds_on_the_winner)
{
	struct adder a = {.nest = true};
	struct snaplist l;
	struct head h;

	fill_id(a.id, ID_LEN, 0x11);
	fill_id(a.other, ID_LEN, 0x22);
	cr_assert_eq(snaplist_current(s, &l), 0);
	cr_assert_eq(l.gen, 0);
	cr_assert_eq(l.nsnaps, 0);
	snaplist_clear(&l);
	cr_assert_eq(snaplist_update(s, add_edit, &a, 0, &l), 0);
	cr_assert_eq(a.calls, 2, "the loser's edit runs again on the winner's list");
	cr_assert_eq(l.gen, 2);
	cr_assert_eq(l.nsnaps, 2);
	cr_assert_eq(l.snaps[0].id[0], 0x22); /* the winner got seq 1 */
	cr_assert_eq(l.snaps[1].id[0], 0x11);
	cr_assert_eq(l.snaps[1].seq, 2);
	cr_assert_eq(store_read_head(s, &h), 0);
	cr_assert(h.has_list);
	cr_assert_eq(h.gen, 2);
	cr_assert_eq(h.seq, 2);
	cr_assert_eq(memcmp(h.list, l.hash, ID_LEN), 0);
	snaplist_clear(&l);
}

static int cancel_edit(void *ctx, const struct snaplist *cur, struct snaplist *next)
{
	(void)ctx;
	(void)cur;
	(void)next;
	return -ECANCELED;
}

Test(snaplist, a_generation_beyond_the_head_is_adopted)
{
	struct adder a = {0};
	struct snaplist l, extra;
	char *obj, key[40];
	size_t len;
	struct head h;

	fill_id(a.id, ID_LEN, 0x11);
	cr_assert_eq(snaplist_update(s, add_edit, &a, 0, &l), 0);
	/* a writer that died after writing generation 2 but before its head */
	cr_assert_eq(snaplist_copy(&extra, &l), 0);
	extra.gen = 2;
	fill_id(a.id, ID_LEN, 0x33);
	cr_assert_eq(snaplist_add(&extra, a.id, 2), 0);
	cr_assert_eq(snaplist_encode(s, &extra, &obj, &len), 0);
	snaplist_key(2, key);
	cr_assert_eq(remote_put(store_remote(s), key, obj, len, REMOTE_CREATE_ONLY), 0);
	free(obj);
	cr_assert_eq(store_read_head(s, &h), 0);
	cr_assert_eq(h.gen, 1, "readers still follow the head");
	snaplist_clear(&l);
	cr_assert_eq(snaplist_current(s, &l), 0);
	cr_assert_eq(l.gen, 2, "writers adopt what is beyond it");
	cr_assert_eq(l.nsnaps, 2);
	snaplist_clear(&l);
	cr_assert_eq(store_read_head(s, &h), 0);
	cr_assert_eq(h.gen, 2, "and finish it: the head names it now");
	cr_assert_eq(h.seq, 2);
	cr_assert_eq(snaplist_update(s, cancel_edit, NULL, 0, NULL), -ECANCELED);
	fill_id(a.id, ID_LEN, 0x44);
	cr_assert_eq(snaplist_update(s, add_edit, &a, 0, &l), 0);
	cr_assert_eq(l.gen, 3);
	cr_assert_eq(l.nsnaps, 3);
	cr_assert_eq(store_read_head(s, &h), 0);
	cr_assert_eq(h.gen, 3);
	snaplist_clear(&l);
	snaplist_clear(&extra);
}

Test(snaplist, pack_sets_stay_sorted)
{
	struct snaplist_pack *v = NULL;
	size_t n = 0;
	uint8_t p[PACK_ID_LEN];
	for (int i = 9; i >= 0; i--) {
		fill_id(p, PACK_ID_LEN, (uint8_t)(i * 7 % 10));
		cr_assert_eq(snaplist_pack_add(&v, &n, p, (uint64_t)i), 0);
		cr_assert_eq(snaplist_pack_add(&v, &n, p, 99), 0); /* twice: once */
	}
	cr_assert_eq(n, 10);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(v[i - 1].pack[0], v[i].pack[0]);
	fill_id(p, PACK_ID_LEN, 4);
	cr_assert_not_null(snaplist_pack_find(v, n, p));
	cr_assert(snaplist_pack_remove(&v, &n, p));
	cr_assert_null(snaplist_pack_find(v, n, p));
	cr_assert_not(snaplist_pack_remove(&v, &n, p));
	cr_assert_eq(n, 9);
	free(v);
}
