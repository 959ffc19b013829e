/* hostile: play the embassy host (or a read-key holder colluding with it) against a real
 * store, for tests/hostile/. Every subcommand changes the store the way an attacker could.
 *
 *   hostile flip STORE OBJECT OFFSET [MASK]        xor one byte (default mask 0x01)
 *   hostile truncate STORE OBJECT LEN              cut an object to LEN bytes
 *   hostile append STORE OBJECT N                  append N bytes (0x41)
 *   hostile list-records STORE --passphrase-file F [--snapshot S]
 *       one line per record of the snapshot (default latest), tab-separated:
 *       type id pack-object offset length path
 *   hostile list-frames STORE --passphrase-file F [--snapshot S]
 *       format 2: one line per frame of every data record of the snapshot, tab-separated:
 *       path file-offset pack-object record-offset frame frame-offset frame-length
 *       (frame-offset: of the frame's ciphertext in the pack; the header is at
 *       record-offset + 24 … record-offset + 40 + 36 n)
 *   hostile swap-records STORE PACK1 OFF1 PACK2 OFF2 LEN
 *   hostile forge-snapshot STORE --passphrase-file F [--no-head] [--swap-key]
 *       read-key holder: a manifest with a planted file FORGED.txt, signed with a random
 *       Ed25519 key, and (unless --no-head) a head pointer signed with it. --swap-key also
 *       replaces the passphrase key entry and the descriptor to name the random key.
 *   hostile forge-head STORE --sealer-key F --seq N --expires-in SECONDS [--snapshot ID]
 *       [--no-list]   (a head as written before snapshot lists: no gen, no list)
 *   hostile hostile-tree STORE --sealer-key F --kind KIND [--symlink-target PATH]
 *       kinds: slash dotdot dot empty nul dup unsorted hugesize overlap overflow deep
 *              cycle symlink-parent typeconfuse hugelink
 *       a sealer-signed snapshot: root = good.txt ("good\n") + dir "evil" (the hostile part)
 *   hostile twin-store SRC DST --sealer-key F --out-sealer-key F2 --passphrase-file P
 *       a store with the same master and signing keys, another store id
 *   hostile copy-from-store SRC DST OBJECT
 *   hostile sign-head STORE --passphrase-file P --key F --seq N --snapshot ID --expires-in S
 *       a head pointer on chosen fields signed with any key F (a sealer key file, or a
 *       signing key file: a stolen timestamp or retired sealer key), the list kept
 *   hostile forge-root STORE --passphrase-file P --snapshot-key F --sign F... [--officer F]...
 *       the next root document version (FORMAT.md 19) naming F's key as the snapshot key and
 *       the given officers (default: the signers), threshold 1, signed by every --sign key
 *       file (sealer or signing), written without any chain check
 *   hostile forge-epoch-entry STORE --recipient PUBFILE --epochs N
 *       the host alone: a recipient entry (keys/rcpt-<id>-ffffffffffffffff) for the public
 *       key, whose key bundle names the store's id and signing key (both public) with key
 *       epoch N (FORMAT.md 2.4) and made-up keys for every epoch
 * Exit status: 0, or 1 with a message. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "epoch.h"
#include "frec.h"
#include "hex.h"
#include "keyfile.h"
#include "refjson.h"
#include "root.h"
#include "secmem.h"
#include "snaplist.h"
#include "store_int.h"
#include "wrap.h"

#define OBJ_MAX	    (1ull << 31)
#define DEEP_LEVELS 10000

static struct trust_opts no_state = {.no_state = true, .allow_rollback = true};

static int die(const char *what, int err)
{
	fprintf(stderr, "hostile: %s: %s\n", what, err ? strerror(err < 0 ? -err : err) : "failed");
	return 1;
}

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static int flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- raw objects ---- */

static int obj_get(const char *url, const char *key, uint8_t **data, size_t *n)
{
	struct remote *r;
	int ret = remote_open(url, NULL, &r);
	if (!ret)
		ret = remote_get(r, key, 0, 0, OBJ_MAX, data, n);
	if (!ret)
		remote_free(r);
	return ret;
}

static int obj_put(const char *url, const char *key, const uint8_t *data, size_t n)
{
	struct remote *r;
	int ret = remote_open(url, NULL, &r);
	if (ret)
		return ret;
	ret = remote_put(r, key, data, n, 0);
	remote_free(r);
	return ret;
}

static int cmd_flip(int argc, char **argv)
{
	uint8_t *d;
	size_t n;
	unsigned long long off;
	unsigned mask = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 0) : 1;
	int ret;

	if (argc < 5)
		return die("usage: flip STORE OBJECT OFFSET [MASK]", 0);
	off = strtoull(argv[4], NULL, 0);
	ret = obj_get(argv[2], argv[3], &d, &n);
	if (ret)
		return die(argv[3], ret);
	if (off >= n)
		return die("offset past the end of the object", EINVAL);
	d[off] ^= (uint8_t)(mask ? mask : 1);
	ret = obj_put(argv[2], argv[3], d, n);
	free(d);
	return ret ? die(argv[3], ret) : 0;
}

static int cmd_resize(int argc, char **argv, int append)
{
	uint8_t *d;
	size_t n, arg;
	int ret;

	if (argc < 5)
		return die("usage: truncate|append STORE OBJECT N", 0);
	arg = (size_t)strtoull(argv[4], NULL, 0);
	ret = obj_get(argv[2], argv[3], &d, &n);
	if (ret)
		return die(argv[3], ret);
	if (append) {
		uint8_t *b = realloc(d, n + arg + 1);
		if (!b)
			return die("realloc", ENOMEM);
		d = b;
		memset(d + n, 'A', arg);
		n += arg;
	} else if (arg < n) {
		n = arg;
	}
	ret = obj_put(argv[2], argv[3], d, n);
	free(d);
	return ret ? die(argv[3], ret) : 0;
}

static int cmd_copy(int argc, char **argv)
{
	uint8_t *d;
	size_t n;
	int ret;

	if (argc < 5)
		return die("usage: copy-from-store SRC DST OBJECT", 0);
	ret = obj_get(argv[2], argv[4], &d, &n);
	if (ret)
		return die(argv[4], ret);
	ret = obj_put(argv[3], argv[4], d, n);
	free(d);
	return ret ? die(argv[4], ret) : 0;
}

static int cmd_swap(int argc, char **argv)
{
	uint8_t *a, *b, tmp;
	size_t na, nb;
	unsigned long long oa, ob, len;
	int same, ret;

	if (argc < 8)
		return die("usage: swap-records STORE PACK1 OFF1 PACK2 OFF2 LEN", 0);
	oa = strtoull(argv[4], NULL, 0);
	ob = strtoull(argv[6], NULL, 0);
	len = strtoull(argv[7], NULL, 0);
	same = !strcmp(argv[3], argv[5]);
	ret = obj_get(argv[2], argv[3], &a, &na);
	if (!ret && !same)
		ret = obj_get(argv[2], argv[5], &b, &nb);
	if (ret)
		return die("get", ret);
	if (same) {
		b = a;
		nb = na;
	}
	if (oa + len > na || ob + len > nb)
		return die("range past the end of an object", EINVAL);
	for (unsigned long long i = 0; i < len; i++) {
		tmp = a[oa + i];
		a[oa + i] = b[ob + i];
		b[ob + i] = tmp;
	}
	ret = obj_put(argv[2], argv[3], a, na);
	if (!ret && !same)
		ret = obj_put(argv[2], argv[5], b, nb);
	free(a);
	if (!same)
		free(b);
	return ret ? die("put", ret) : 0;
}

/* ---- opening the store as one party ---- */

static int read_pass(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, (int)cap, f)) {
		if (f)
			fclose(f);
		return -ENOENT;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static int open_reader(const char *url, const char *passfile, struct store **s)
{
	char pass[1024];
	struct store_auth a = {.trust = &no_state};
	int ret;
	if (!passfile)
		return -EINVAL;
	ret = read_pass(passfile, pass, sizeof(pass));
	if (ret)
		return ret;
	a.passphrase = pass;
	a.passlen = strlen(pass);
	ret = store_open(url, NULL, &a, s);
	secmem_wipe(pass, sizeof(pass));
	return ret;
}

static int open_sealer(const char *url, const char *keyfile, struct store **s)
{
	struct store_auth a = {.trust = &no_state, .sealer_key = keyfile};
	return keyfile ? store_open(url, NULL, &a, s) : -EINVAL;
}

/* ---- list-records ---- */

static void print_rec(const char *type, const struct rec_ref *r, const char *path)
{
	char id[2 * ID_LEN + 1], pk[64];
	hex_encode(r->id, ID_LEN, id);
	store_pack_key(r->pack, pk);
	printf("%s\t%s\t%s\t%llu\t%u\t%s\n", type, id, pk, (unsigned long long)r->off, r->len,
	       path);
}

static int list_tree(struct store *s, const struct rec_ref *ref, const char *path, int depth)
{
	struct tree *t;
	int ret;
	print_rec("tree", ref, *path ? path : "/");
	if (depth > 20000)
		return -ELOOP;
	ret = store_load_tree(s, ref, &t);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		char *sub;
		if (asprintf(&sub, "%s/%s", path, e->name) < 0)
			return -ENOMEM;
		for (size_t c = 0; e->type == ENT_FILE && c < e->nchunks; c++)
			print_rec("data", &e->chunks[c].rec, sub + 1);
		if (e->type == ENT_DIR)
			ret = list_tree(s, &e->subtree, sub, depth + 1);
		free(sub);
	}
	tree_free(t);
	return ret;
}

static int cmd_list(int argc, char **argv)
{
	struct store *s;
	struct snapshot sn;
	const char *spec = opt(argc, argv, "--snapshot");
	int ret = open_reader(argv[2], opt(argc, argv, "--passphrase-file"), &s);

	if (ret)
		return die("open (list-records STORE --passphrase-file F)", ret);
	ret = store_resolve_snapshot(s, spec ? spec : "latest", &sn);
	if (!ret) {
		ret = list_tree(s, &sn.root, "", 0);
		snapshot_clear(&sn);
	}
	store_close(s);
	return ret ? die("list-records", ret) : 0;
}

/* ---- list-frames ---- */

static int print_frames(struct store *s, const struct chunk_ref *c, const char *path)
{
	uint32_t n = frec_nframes(c->rec.plen);
	struct frec_hdr *h = NULL;
	uint8_t *hdr = NULL;
	size_t got;
	char pk[64];
	int ret;

	store_pack_key(c->rec.pack, pk);
	ret = remote_get(store_remote(s), pk, c->rec.off, frec_header_len(n), frec_header_len(n),
			 &hdr, &got);
	if (!ret)
		ret = frec_open_header(store_keys(s), c->rec.id, c->rec.plen, c->rec.len, hdr, got,
				       &h);
	for (uint32_t i = 0; !ret && i < n; i++)
		printf("%s\t%llu\t%s\t%llu\t%u\t%llu\t%u\n", path,
		       (unsigned long long)(c->foff + (uint64_t)i * FREC_FRAME), pk,
		       (unsigned long long)c->rec.off, i,
		       (unsigned long long)(c->rec.off + h->f[i].off), h->f[i].clen);
	free(h);
	free(hdr);
	return ret;
}

static int frames_tree(struct store *s, const struct rec_ref *ref, const char *path, int depth)
{
	struct tree *t;
	int ret = depth > 20000 ? -ELOOP : store_load_tree(s, ref, &t);

	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		char *sub;
		if (asprintf(&sub, "%s/%s", path, e->name) < 0)
			return -ENOMEM;
		for (size_t c = 0; e->type == ENT_FILE && !ret && c < e->nchunks; c++)
			ret = print_frames(s, &e->chunks[c], sub + 1);
		if (!ret && e->type == ENT_DIR)
			ret = frames_tree(s, &e->subtree, sub, depth + 1);
		free(sub);
	}
	tree_free(t);
	return ret;
}

static int cmd_frames(int argc, char **argv)
{
	struct store *s;
	struct snapshot sn;
	const char *spec = opt(argc, argv, "--snapshot");
	int ret = open_reader(argv[2], opt(argc, argv, "--passphrase-file"), &s);

	if (ret)
		return die("open (list-frames STORE --passphrase-file F)", ret);
	if (!store_framed(s, REC_DATA)) {
		store_close(s);
		return die("list-frames: not a format 2 store", EINVAL);
	}
	ret = store_resolve_snapshot(s, spec ? spec : "latest", &sn);
	if (!ret) {
		ret = frames_tree(s, &sn.root, "", 0);
		snapshot_clear(&sn);
	}
	store_close(s);
	return ret ? die("list-frames", ret) : 0;
}

/* ---- building packs by hand ---- */

struct pbuild {
	uint8_t id[PACK_ID_LEN];
	uint8_t *buf;
	size_t len, cap;
};

static int pb_init(struct pbuild *p)
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
static int pb_add(struct pbuild *p, const struct store *s, enum record_type type, const void *plain,
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

static int pb_put(struct store *s, struct pbuild *p)
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
static int publish(struct store *s, const struct rec_ref *root, uint64_t seq, const char *host,
		   const char *tag, bool head, bool listed)
{
	char *tags[1] = {(char *)tag};
	struct snapshot sn = {
	    .seq = seq, .time_ns = now_ns(), .root = *root, .tags = tags, .ntags = 1};
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

static uint64_t head_seq(struct store *s)
{
	struct head h;
	return store_read_head(s, &h) ? 0 : h.seq;
}

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
	int ret = read_pass(passfile, pass, sizeof(pass));

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

static int cmd_forge_snapshot(int argc, char **argv)
{
	const char *pf = opt(argc, argv, "--passphrase-file");
	struct store *s;
	struct snapshot sn;
	struct rec_ref root;
	uint8_t *fake = secmem_alloc(SIGN_SK_LEN);
	int ret = open_reader(argv[2], pf, &s);

	if (ret || !fake)
		return die("open (forge-snapshot STORE --passphrase-file F)", ret);
	ret = store_resolve_snapshot(s, "latest", &sn);
	if (!ret)
		ret = plant_file(s, &sn.root, &root);
	if (ret)
		return die("reading the latest snapshot", ret);
	sign_keypair(s->sign_pk, fake);
	memcpy(s->snap_pk, s->sign_pk, SIGN_PK_LEN); /* it signs snapshots, lists and heads */
	s->sign_sk = fake; /* the forger's own key: freed by store_close */
	if (flag(argc, argv, "--swap-key"))
		ret = swap_key(s, pf);
	if (!ret)
		ret = publish(s, &root, sn.seq + 1, "forger", "forged",
			      !flag(argc, argv, "--no-head"), false);
	snapshot_clear(&sn);
	store_close(s);
	return ret ? die("forge-snapshot", ret) : 0;
}

/* ---- forge-head: the sealer's signature on chosen fields ---- */

static int cmd_forge_head(int argc, char **argv)
{
	const char *seq = opt(argc, argv, "--seq"), *exp = opt(argc, argv, "--expires-in");
	const char *spec = opt(argc, argv, "--snapshot");
	struct store *s;
	struct snapshot sn;
	struct head h = {0};
	int ret;

	if (!seq || !exp)
		return die("usage: forge-head STORE --sealer-key F --seq N --expires-in S", 0);
	ret = open_sealer(argv[2], opt(argc, argv, "--sealer-key"), &s);
	if (ret)
		return die("open", ret);
	ret = store_resolve_snapshot(s, spec ? spec : "latest", &sn);
	if (ret)
		return die("snapshot", ret);
	if (store_read_head(s, &h) || flag(argc, argv, "--no-list"))
		memset(&h, 0, sizeof(h)); /* else keep the list it names: only the chosen fields */
	memcpy(h.snapshot, sn.id, ID_LEN);
	h.seq = strtoull(seq, NULL, 0);
	h.time_ns = now_ns();
	h.expires_ns = h.time_ns + strtoll(exp, NULL, 0) * 1000000000LL;
	ret = store_write_head(s, &h);
	snapshot_clear(&sn);
	store_close(s);
	return ret ? die("forge-head", ret) : 0;
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

static int cmd_sign_head(int argc, char **argv)
{
	const char *seq = opt(argc, argv, "--seq"), *exp = opt(argc, argv, "--expires-in");
	const char *snap = opt(argc, argv, "--snapshot");
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN), pk[SIGN_PK_LEN];
	char snaphex[2 * ID_LEN + 1], list[2 * ID_LEN + 1], *env = NULL;
	struct store *s;
	struct head h = {0};
	json_t *b;
	int ret;

	if (!seq || !exp || !snap || strlen(snap) != 2 * ID_LEN || !sk)
		return die("usage: sign-head STORE --passphrase-file P --key F --seq N "
			   "--snapshot ID --expires-in S",
			   0);
	ret = load_sk(opt(argc, argv, "--key"), sk, pk);
	if (ret)
		return die("--key", ret);
	ret = open_reader(argv[2], opt(argc, argv, "--passphrase-file"), &s);
	if (ret)
		return die("open", ret);
	if (store_read_head(s, &h)) /* keep the list the head names, if it verifies */
		memset(&h, 0, sizeof(h));
	snprintf(snaphex, sizeof(snaphex), "%s", snap);
	b = json_pack("{s:i s:s s:I s:s s:I s:I}", "v", 1, "store_id", s->store_id_hex, "seq",
		      (json_int_t)strtoull(seq, NULL, 0), "snapshot", snaphex, "time",
		      (json_int_t)now_ns(), "expires",
		      (json_int_t)(now_ns() + strtoll(exp, NULL, 0) * 1000000000LL));
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
	return ret ? die("sign-head", ret) : 0;
}

static int cmd_forge_root(int argc, char **argv)
{
	uint8_t *sk = secmem_alloc(SIGN_SK_LEN), pk[SIGN_PK_LEN];
	struct store *s;
	struct root r = {0};
	char key[32], *env = NULL;
	int ret = open_reader(argv[2], opt(argc, argv, "--passphrase-file"), &s);

	if (ret || !sk)
		return die("open (forge-root STORE --passphrase-file P ...)", ret);
	memcpy(r.store_id, s->store_id, STORE_ID_LEN);
	r.version = s->root ? s->root->version + 1 : 1;
	r.time_ns = now_ns();
	r.threshold = 1;
	ret = load_sk(opt(argc, argv, "--snapshot-key"), sk, r.snapshot_pk);
	randombytes_buf(r.timestamp_pk, SIGN_PK_LEN);
	for (int i = 0; !ret && i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--officer") ||
		    (!strcmp(argv[i], "--sign") && !opt(argc, argv, "--officer"))) {
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
	return ret ? die("forge-root", ret) : 0;
}

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

static int cmd_hostile_tree(int argc, char **argv)
{
	struct hctx h = {.kind = opt(argc, argv, "--kind"),
			 .symtarget = opt(argc, argv, "--symlink-target")};
	struct rec_ref evil, root;
	int ret = open_sealer(argv[2], opt(argc, argv, "--sealer-key"), &h.s);

	if (!h.symtarget)
		h.symtarget = "../../../outside";
	if (ret || !h.kind)
		return die("usage: hostile-tree STORE --sealer-key F --kind KIND", ret);
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
		ret = publish(h.s, &root, head_seq(h.s) + 1, "hostile", h.kind, true, true);
	store_close(h.s);
	return ret ? die(ret == -EINVAL ? "unknown --kind" : "hostile-tree", ret) : 0;
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
	int ret = read_pass(passfile, pass, sizeof(pass));

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

static int cmd_twin(int argc, char **argv)
{
	const char *out = opt(argc, argv, "--out-sealer-key"),
		   *pf = opt(argc, argv, "--passphrase-file");
	struct store *src, dst = {0};
	int ret;

	if (argc < 4 || !out || !pf)
		return die("usage: twin-store SRC DST --sealer-key F --out-sealer-key F2 "
			   "--passphrase-file P",
			   0);
	ret = open_sealer(argv[2], opt(argc, argv, "--sealer-key"), &src);
	if (ret)
		return die("open SRC", ret);
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
	return ret ? die("twin-store", ret) : 0;
}

static int cmd_forge_epoch(int argc, char **argv)
{
	const char *pub = opt(argc, argv, "--recipient"), *ne = opt(argc, argv, "--epochs"), *text;
	uint8_t b[BUNDLE_MAX], rid[32], *d = NULL;
	unsigned n = ne ? (unsigned)atoi(ne) : 0;
	char name[64], hex[17], *out = NULL;
	struct remote *r = NULL;
	struct keyfile kf;
	json_t *root = NULL, *body = NULL, *e = NULL;
	size_t dn, blen;
	int ret;

	if (argc < 3 || !pub || n < 1 || n > KEY_EPOCH_MAX)
		return die("usage: forge-epoch-entry STORE --recipient PUBFILE --epochs N", 0);
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
	return ret ? die("forge-epoch-entry", ret) : 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 2 ? argv[1] : "";
	if (secmem_init())
		return die("libsodium", EIO);
	if (!strcmp(c, "flip"))
		return cmd_flip(argc, argv);
	if (!strcmp(c, "truncate") || !strcmp(c, "append"))
		return cmd_resize(argc, argv, !strcmp(c, "append"));
	if (!strcmp(c, "copy-from-store"))
		return cmd_copy(argc, argv);
	if (!strcmp(c, "swap-records"))
		return cmd_swap(argc, argv);
	if (!strcmp(c, "list-records"))
		return cmd_list(argc, argv);
	if (!strcmp(c, "list-frames"))
		return cmd_frames(argc, argv);
	if (!strcmp(c, "forge-snapshot"))
		return cmd_forge_snapshot(argc, argv);
	if (!strcmp(c, "forge-head"))
		return cmd_forge_head(argc, argv);
	if (!strcmp(c, "hostile-tree"))
		return cmd_hostile_tree(argc, argv);
	if (!strcmp(c, "twin-store"))
		return cmd_twin(argc, argv);
	if (!strcmp(c, "sign-head"))
		return cmd_sign_head(argc, argv);
	if (!strcmp(c, "forge-root"))
		return cmd_forge_root(argc, argv);
	if (!strcmp(c, "forge-epoch-entry"))
		return cmd_forge_epoch(argc, argv);
	fprintf(stderr, "usage: hostile flip|truncate|append|copy-from-store|swap-records|"
			"list-records|list-frames|forge-snapshot|forge-head|hostile-tree|twin-"
			"store|sign-head|forge-root|forge-epoch-entry STORE ...\n");
	return 2;
}
