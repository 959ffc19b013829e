/* hostile_forge: forging what a reader trusts: forge-snapshot, forge-head, sign-head,
 * forge-root, twin-store, forge-epoch-entry (see hostile.c for each one's arguments). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "epoch.h"
#include "hex.h"
#include "hostile.h"
#include "keyfile.h"
#include "refjson.h"
#include "root.h"
#include "secmem.h"
#include "snaplist.h"
#include "store_int.h"
#include "wrap.h"

/* ---- forge-snapshot: a read-key holder without the signing key ---- */

/* Add FORGED.txt to a copy of the latest root tree, in a new pack. */
static int plant_file(struct store *s, const struct rec_ref *root, struct rec_ref *out)
{
	static const char body[] = "FORGED\n";
	struct pbuild p;
	struct tree *t, *dec;
	struct tree_entry *e;
	uint8_t *plain;
	size_t plen;
	int ret = store_load_tree(s, root, &dec);

	if (!ret) { /* a decoded tree may be packed: change a copy */
		ret = tree_dup(dec, &t);
		tree_free(dec);
	}
	if (ret || (ret = pb_init(&p)))
		return ret;
	e = realloc(t->e, (t->n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	t->e = e;
	e = &t->e[t->n++];
	*e = (struct tree_entry){.name = strdup("FORGED.txt"),
				 .namelen = 10,
				 .type = ENT_FILE,
				 .mode = 0644,
				 .size = sizeof(body) - 1,
				 .nlink = 1};
	e->chunks = calloc(1, sizeof(*e->chunks));
	e->nchunks = 1;
	ret = pb_add(&p, s, REC_DATA, body, sizeof(body) - 1, &e->chunks[0].rec);
	tree_sort(t);
	if (!ret)
		ret = tree_encode(t, store_format(s), &plain, &plen);
	if (!ret) {
		ret = pb_add(&p, s, REC_TREE, plain, plen, out);
		free(plain);
	}
	tree_free(t);
	return ret ? ret : pb_put(s, &p);
}

static int delete_pass_entries(void *ctx, const char *key)
{
	if (!strncmp(key, "keys/pass-", 10))
		remote_delete(ctx, key);
	return 0;
}

/* The read-key holder re-wraps the master key with its own signing key and re-signs the
 * descriptor: only a remembered or --trust'ed fingerprint can tell. */
static int swap_key(struct store *s, const char *passfile)
{
	uint8_t bundle[BUNDLE_LEN], *d, rnd[8];
	char pass[1024], key[64], hex[17], *env = NULL;
	json_t *entry = NULL, *root, *body;
	const char *text;
	size_t n, blen;
	int ret = hostile_read_pass(passfile, pass, sizeof(pass));

	memcpy(bundle, BUNDLE_MAGIC, 8);
	memcpy(bundle + 8, s->store_id, STORE_ID_LEN);
	memcpy(bundle + 8 + STORE_ID_LEN, keys_master(s->keys), KEY_LEN);
	memcpy(bundle + 8 + STORE_ID_LEN + KEY_LEN, s->sign_pk, SIGN_PK_LEN);
	if (!ret)
		ret = wrap_passphrase(bundle, BUNDLE_LEN, pass, strlen(pass), 1, 8u << 20, &entry);
	if (ret)
		return ret;
	remote_list(s->remote, "keys/", delete_pass_entries, s->remote);
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(key, sizeof(key), "keys/pass-%s", hex);
	text = json_dumps(entry, JSON_COMPACT);
	ret = remote_put(s->remote, key, text, strlen(text), 0);
	free((char *)text);
	json_decref(entry);
	if (ret || (ret = remote_get(s->remote, DESCRIPTOR_KEY, 0, 0, 1 << 20, &d, &n)))
		return ret;
	ret = store_envelope_open(d, n, NULL, NULL, &root, &text, &blen);
	body = ret ? NULL : json_loadb(text, blen, 0, NULL);
	if (body) {
		char pkhex[2 * SIGN_PK_LEN + 1];
		hex_encode(s->sign_pk, SIGN_PK_LEN, pkhex);
		json_object_set_new(body, "sign_pk", json_string(pkhex));
		ret = store_envelope_make(s, SIGCTX_DESCRIPTOR, body, &env);
		if (!ret)
			ret = remote_put(s->remote, DESCRIPTOR_KEY, env, strlen(env), 0);
	}
	free(env);
	json_decref(body);
	if (!ret)
		json_decref(root);
	free(d);
	return ret;
}

int cmd_forge_snapshot(int argc, char **argv)
{
	const char *pf = hostile_opt(argc, argv, "--passphrase-file");
	struct store *s;
	struct snapshot sn;
	struct rec_ref root;
	uint8_t *fake = secmem_alloc(SIGN_SK_LEN);
	int ret = hostile_open_reader(argv[2], pf, &s);

	if (ret || !fake)
		return hostile_die("open (forge-snapshot STORE --passphrase-file F)", ret);
	ret = store_resolve_snapshot(s, "latest", &sn);
	if (!ret)
		ret = plant_file(s, &sn.root, &root);
	if (ret)
		return hostile_die("reading the latest snapshot", ret);
	sign_keypair(s->sign_pk, fake);
	memcpy(s->snap_pk, s->sign_pk, SIGN_PK_LEN); /* it signs snapshots, lists and heads */
	s->sign_sk = fake; /* the forger's own key: freed by store_close */
	if (hostile_flag(argc, argv, "--swap-key"))
		ret = swap_key(s, pf);
	if (!ret)
		ret = hostile_publish(s, &root, sn.seq + 1, "forger", "forged",
				      !hostile_flag(argc, argv, "--no-head"), false);
	snapshot_clear(&sn);
	store_close(s);
	return ret ? hostile_die("forge-snapshot", ret) : 0;
}

/* ---- forge-head: the sealer's signature on chosen fields ---- */

int cmd_forge_head(int argc, char **argv)
{
	const char *seq = hostile_opt(argc, argv, "--seq"),
		   *exp = hostile_opt(argc, argv, "--expires-in");
	const char *spec = hostile_opt(argc, argv, "--snapshot");
	struct store *s;
	struct snapshot sn;
	struct head h = {0};
	int ret;

	if (!seq || !exp)
		return hostile_die("usage: forge-head STORE --sealer-key F --seq N --expires-in S",
				   0);
	ret = hostile_open_sealer(argv[2], hostile_opt(argc, argv, "--sealer-key"), &s);
	if (ret)
		return hostile_die("open", ret);
	ret = store_resolve_snapshot(s, spec ? spec : "latest", &sn);
	if (ret)
		return hostile_die("snapshot", ret);
	if (store_read_head(s, &h) || hostile_flag(argc, argv, "--no-list"))
		memset(&h, 0, sizeof(h)); /* else keep the list it names: only the chosen fields */
	memcpy(h.snapshot, sn.id, ID_LEN);
	h.seq = strtoull(seq, NULL, 0);
	h.time_ns = hostile_now_ns();
	h.expires_ns = h.time_ns + strtoll(exp, NULL, 0) * 1000000000LL;
	ret = store_write_head(s, &h);
	snapshot_clear(&sn);
	store_close(s);
	return ret ? hostile_die("forge-head", ret) : 0;
}

/* ---- sign-head, forge-root: a stolen key and the host together ---- */

/* The secret key of a sealer key file or a signing key file. */
static int load_sk(const char *path, uint8_t sk[SIGN_SK_LEN], uint8_t pk[SIGN_PK_LEN])
{
	struct keyfile kf;
	int ret = path ? keyfile_load(path, &kf) : -EINVAL;
	if (ret)
		return ret;
	if (kf.kind == KEYFILE_SEALER || kf.kind == KEYFILE_SIGNING) {
		memcpy(sk, kf.secret, SIGN_SK_LEN);
		memcpy(pk, kf.pub, SIGN_PK_LEN);
	} else {
		ret = -EBADMSG;
	}
	keyfile_clear(&kf);
	return ret;
}

int cmd_sign_head(int argc, char **argv)
{
	const char *seq = hostile_opt(argc, argv, "--seq"),
		   *exp = hostile_opt(argc, argv, "--expires-in");
	const char *snap = hostile_opt(argc, argv, "--snapshot");
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN), pk[SIGN_PK_LEN];
	char snaphex[2 * ID_LEN + 1], list[2 * ID_LEN + 1], *env = NULL;
	struct store *s;
	struct head h = {0};
	json_t *b;
	int ret;

	if (!seq || !exp || !snap || strlen(snap) != 2 * ID_LEN || !sk)
		return hostile_die("usage: sign-head STORE --passphrase-file P --key F --seq N "
				   "--snapshot ID --expires-in S",
				   0);
	ret = load_sk(hostile_opt(argc, argv, "--key"), sk, pk);
	if (ret)
		return hostile_die("--key", ret);
	ret = hostile_open_reader(argv[2], hostile_opt(argc, argv, "--passphrase-file"), &s);
	if (ret)
		return hostile_die("open", ret);
	if (store_read_head(s, &h)) /* keep the list the head names, if it verifies */
		memset(&h, 0, sizeof(h));
	snprintf(snaphex, sizeof(snaphex), "%s", snap);
	b = json_pack("{s:i s:s s:I s:s s:I s:I}", "v", 1, "store_id", s->store_id_hex, "seq",
		      (json_int_t)strtoull(seq, NULL, 0), "snapshot", snaphex, "time",
		      (json_int_t)hostile_now_ns(), "expires",
		      (json_int_t)(hostile_now_ns() + strtoll(exp, NULL, 0) * 1000000000LL));
	if (b && h.has_list) {
		hex_encode(h.list, ID_LEN, list);
		json_object_set_new(b, "gen", json_integer((json_int_t)h.gen));
		json_object_set_new(b, "list", json_string(list));
	}
	ret = b ? store_envelope_sign(sk, s->format, SIGCTX_HEAD, b, &env) : -ENOMEM;
	if (!ret)
		ret = remote_put(s->remote, HEAD_KEY, env, strlen(env), 0);
	free(env);
	json_decref(b);
	store_close(s);
	secmem_free(sk);
	return ret ? hostile_die("sign-head", ret) : 0;
}

int cmd_forge_root(int argc, char **argv)
{
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN), pk[SIGN_PK_LEN];
	struct store *s;
	struct root r = {0};
	char key[32], *env = NULL;
	int ret = hostile_open_reader(argv[2], hostile_opt(argc, argv, "--passphrase-file"), &s);

	if (ret || !sk)
		return hostile_die("open (forge-root STORE --passphrase-file P ...)", ret);
	memcpy(r.store_id, s->store_id, STORE_ID_LEN);
	r.version = s->root ? s->root->version + 1 : 1;
	r.time_ns = hostile_now_ns();
	r.threshold = 1;
	ret = load_sk(hostile_opt(argc, argv, "--snapshot-key"), sk, r.snapshot_pk);
	randombytes_buf(r.timestamp_pk, SIGN_PK_LEN);
	for (int i = 0; !ret && i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--officer") ||
		    (!strcmp(argv[i], "--sign") && !hostile_opt(argc, argv, "--officer"))) {
			ret = load_sk(argv[i + 1], sk, pk);
			if (!ret && r.nofficers < ROOT_OFFICERS_MAX)
				memcpy(r.officers[r.nofficers++], pk, SIGN_PK_LEN);
		}
	}
	if (!ret)
		ret = root_seal_body(&r);
	for (int i = 0; !ret && i + 1 < argc; i++)
		if (!strcmp(argv[i], "--sign") && !(ret = load_sk(argv[i + 1], sk, pk)))
			ret = root_sign(&r, sk);
	if (!ret)
		ret = root_envelope(&r, &env);
	root_object_name(r.version, key);
	if (!ret)
		ret = remote_put(s->remote, key, env, strlen(env), REMOTE_CREATE_ONLY);
	if (!ret)
		printf("%s\n", key);
	free(env);
	root_clear(&r);
	store_close(s);
	secmem_free(sk);
	return ret ? hostile_die("forge-root", ret) : 0;
}

/* ---- twin-store: same master and signing keys, another store id ---- */

static int twin_descriptor(struct store *src, struct store *dst)
{
	uint8_t *d;
	size_t n, blen;
	json_t *root, *body = NULL;
	const char *text;
	char *env = NULL;
	int ret = remote_get(src->remote, DESCRIPTOR_KEY, 0, 0, 1 << 20, &d, &n);

	if (!ret)
		ret = store_envelope_open(d, n, NULL, NULL, &root, &text, &blen);
	if (ret)
		return ret;
	body = json_loadb(text, blen, 0, NULL);
	ret = -EBADMSG;
	if (body) {
		json_object_set_new(body, "store_id", json_string(dst->store_id_hex));
		ret = store_envelope_make(dst, SIGCTX_DESCRIPTOR, body, &env);
	}
	if (!ret)
		ret = remote_put(dst->remote, DESCRIPTOR_KEY, env, strlen(env), REMOTE_CREATE_ONLY);
	free(env);
	json_decref(body);
	json_decref(root);
	free(d);
	return ret;
}

static int twin_keyentry(struct store *dst, const uint8_t *master, const char *passfile)
{
	uint8_t b[BUNDLE_LEN];
	char pass[1024], *text;
	json_t *e;
	int ret = hostile_read_pass(passfile, pass, sizeof(pass));

	memcpy(b, BUNDLE_MAGIC, 8);
	memcpy(b + 8, dst->store_id, STORE_ID_LEN);
	memcpy(b + 8 + STORE_ID_LEN, master, KEY_LEN);
	memcpy(b + 8 + STORE_ID_LEN + KEY_LEN, dst->sign_pk, SIGN_PK_LEN);
	if (!ret)
		ret = wrap_passphrase(b, BUNDLE_LEN, pass, strlen(pass), 1, 8u << 20, &e);
	if (ret)
		return ret;
	text = json_dumps(e, JSON_COMPACT);
	ret = remote_put(dst->remote, "keys/pass-7717717717717717", text, strlen(text),
			 REMOTE_CREATE_ONLY);
	free(text);
	json_decref(e);
	return ret;
}

int cmd_twin(int argc, char **argv)
{
	const char *out = hostile_opt(argc, argv, "--out-sealer-key"),
		   *pf = hostile_opt(argc, argv, "--passphrase-file");
	struct store *src, dst = {0};
	int ret;

	if (argc < 4 || !out || !pf)
		return hostile_die("usage: twin-store SRC DST --sealer-key F --out-sealer-key F2 "
				   "--passphrase-file P",
				   0);
	ret = hostile_open_sealer(argv[2], hostile_opt(argc, argv, "--sealer-key"), &src);
	if (ret)
		return hostile_die("open SRC", ret);
	randombytes_buf(dst.store_id, STORE_ID_LEN);
	hex_encode(dst.store_id, STORE_ID_LEN, dst.store_id_hex);
	memcpy(dst.sign_pk, src->sign_pk, SIGN_PK_LEN);
	memcpy(dst.snap_pk, src->sign_pk, SIGN_PK_LEN);
	dst.sign_sk = src->sign_sk;
	dst.format = store_format(src); /* a twin in every respect but its id */
	ret = remote_open(argv[3], NULL, &dst.remote);
	if (!ret)
		ret = keyfile_write_sealer(out, dst.store_id, keys_master(src->keys), dst.sign_sk);
	if (!ret)
		ret = twin_keyentry(&dst, keys_master(src->keys), pf);
	if (!ret)
		ret = twin_descriptor(src, &dst);
	if (!ret)
		printf("%s\n", dst.store_id_hex);
	remote_free(dst.remote);
	store_close(src);
	return ret ? hostile_die("twin-store", ret) : 0;
}

int cmd_forge_epoch(int argc, char **argv)
{
	const char *pub = hostile_opt(argc, argv, "--recipient"),
		   *ne = hostile_opt(argc, argv, "--epochs"), *text;
	uint8_t b[BUNDLE_MAX], rid[32], *d = NULL;
	unsigned n = ne ? (unsigned)atoi(ne) : 0;
	char name[64], hex[17], *out = NULL;
	struct remote *r = NULL;
	struct keyfile kf;
	json_t *root = NULL, *body = NULL, *e = NULL;
	size_t dn, blen;
	int ret;

	if (argc < 3 || !pub || n < 1 || n > KEY_EPOCH_MAX)
		return hostile_die("usage: forge-epoch-entry STORE --recipient PUBFILE --epochs N",
				   0);
	ret = keyfile_load(pub, &kf);
	if (!ret)
		ret = remote_open(argv[2], NULL, &r);
	if (!ret)
		ret = remote_get(r, DESCRIPTOR_KEY, 0, 0, 1 << 20, &d, &dn);
	if (!ret)
		ret = store_envelope_open(d, dn, NULL, NULL, &root, &text, &blen);
	body = ret ? NULL : json_loadb(text, blen, 0, NULL);
	memcpy(b, BUNDLE2_MAGIC, 8);
	randombytes_buf(b + 8, sizeof(b) - 8); /* every key made up */
	if (!body || refjson_get_hex(body, "store_id", b + 8, STORE_ID_LEN) ||
	    refjson_get_hex(body, "sign_pk", b + 8 + STORE_ID_LEN + KEY_LEN, SIGN_PK_LEN))
		ret = ret ? ret : -EBADMSG;
	b[BUNDLE1_LEN] = (uint8_t)n;
	b[BUNDLE1_LEN + 1] = b[BUNDLE1_LEN + 2] = b[BUNDLE1_LEN + 3] = 0;
	if (!ret)
		ret = wrap_recipient(b, BUNDLE2_HDR + (size_t)n * KEY_LEN, kf.pub, &e);
	if (!ret && !(out = json_dumps(e, JSON_COMPACT)))
		ret = -ENOMEM;
	if (!ret) {
		wrap_recipient_id(kf.pub, rid);
		hex_encode(rid, 8, hex);
		snprintf(name, sizeof(name), "keys/rcpt-%s-ffffffffffffffff", hex);
		ret = remote_put(r, name, out, strlen(out), 0);
	}
	free(out);
	json_decref(e);
	json_decref(body);
	json_decref(root);
	free(d);
	remote_free(r);
	keyfile_clear(&kf);
	return ret ? hostile_die("forge-epoch-entry", ret) : 0;
}
