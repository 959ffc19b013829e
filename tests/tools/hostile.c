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
 * Exit status: 0, or 1 with a message.
 * The sections: hostile/hostile_common.c (arguments, raw objects, opening as one party),
 * hostile_pack.c (packs by hand, publishing), hostile_tree.c, hostile_forge.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frec.h"
#include "hex.h"
#include "hostile.h"
#include "secmem.h"
#include "store_int.h"

static int cmd_flip(int argc, char **argv)
{
	uint8_t *d;
	size_t n;
	unsigned long long off;
	unsigned mask = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 0) : 1;
	int ret;

	if (argc < 5)
		return hostile_die("usage: flip STORE OBJECT OFFSET [MASK]", 0);
	off = strtoull(argv[4], NULL, 0);
	ret = hostile_obj_get(argv[2], argv[3], &d, &n);
	if (ret)
		return hostile_die(argv[3], ret);
	if (off >= n)
		return hostile_die("offset past the end of the object", EINVAL);
	d[off] ^= (uint8_t)(mask ? mask : 1);
	ret = hostile_obj_put(argv[2], argv[3], d, n);
	free(d);
	return ret ? hostile_die(argv[3], ret) : 0;
}

static int cmd_resize(int argc, char **argv, int append)
{
	uint8_t *d;
	size_t n, arg;
	int ret;

	if (argc < 5)
		return hostile_die("usage: truncate|append STORE OBJECT N", 0);
	arg = (size_t)strtoull(argv[4], NULL, 0);
	ret = hostile_obj_get(argv[2], argv[3], &d, &n);
	if (ret)
		return hostile_die(argv[3], ret);
	if (append) {
		uint8_t *b = realloc(d, n + arg + 1);
		if (!b)
			return hostile_die("realloc", ENOMEM);
		d = b;
		memset(d + n, 'A', arg);
		n += arg;
	} else if (arg < n) {
		n = arg;
	}
	ret = hostile_obj_put(argv[2], argv[3], d, n);
	free(d);
	return ret ? hostile_die(argv[3], ret) : 0;
}

static int cmd_copy(int argc, char **argv)
{
	uint8_t *d;
	size_t n;
	int ret;

	if (argc < 5)
		return hostile_die("usage: copy-from-store SRC DST OBJECT", 0);
	ret = hostile_obj_get(argv[2], argv[4], &d, &n);
	if (ret)
		return hostile_die(argv[4], ret);
	ret = hostile_obj_put(argv[3], argv[4], d, n);
	free(d);
	return ret ? hostile_die(argv[4], ret) : 0;
}

static int cmd_swap(int argc, char **argv)
{
	uint8_t *a, *b, tmp;
	size_t na, nb;
	unsigned long long oa, ob, len;
	int same, ret;

	if (argc < 8)
		return hostile_die("usage: swap-records STORE PACK1 OFF1 PACK2 OFF2 LEN", 0);
	oa = strtoull(argv[4], NULL, 0);
	ob = strtoull(argv[6], NULL, 0);
	len = strtoull(argv[7], NULL, 0);
	same = !strcmp(argv[3], argv[5]);
	ret = hostile_obj_get(argv[2], argv[3], &a, &na);
	if (!ret && !same)
		ret = hostile_obj_get(argv[2], argv[5], &b, &nb);
	if (ret)
		return hostile_die("get", ret);
	if (same) {
		b = a;
		nb = na;
	}
	if (oa + len > na || ob + len > nb)
		return hostile_die("range past the end of an object", EINVAL);
	for (unsigned long long i = 0; i < len; i++) {
		tmp = a[oa + i];
		a[oa + i] = b[ob + i];
		b[ob + i] = tmp;
	}
	ret = hostile_obj_put(argv[2], argv[3], a, na);
	if (!ret && !same)
		ret = hostile_obj_put(argv[2], argv[5], b, nb);
	free(a);
	if (!same)
		free(b);
	return ret ? hostile_die("put", ret) : 0;
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
	const char *spec = hostile_opt(argc, argv, "--snapshot");
	int ret = hostile_open_reader(argv[2], hostile_opt(argc, argv, "--passphrase-file"), &s);

	if (ret)
		return hostile_die("open (list-records STORE --passphrase-file F)", ret);
	ret = store_resolve_snapshot(s, spec ? spec : "latest", &sn);
	if (!ret) {
		ret = list_tree(s, &sn.root, "", 0);
		snapshot_clear(&sn);
	}
	store_close(s);
	return ret ? hostile_die("list-records", ret) : 0;
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
	const char *spec = hostile_opt(argc, argv, "--snapshot");
	int ret = hostile_open_reader(argv[2], hostile_opt(argc, argv, "--passphrase-file"), &s);

	if (ret)
		return hostile_die("open (list-frames STORE --passphrase-file F)", ret);
	if (!store_framed(s, REC_DATA)) {
		store_close(s);
		return hostile_die("list-frames: not a format 2 store", EINVAL);
	}
	ret = store_resolve_snapshot(s, spec ? spec : "latest", &sn);
	if (!ret) {
		ret = frames_tree(s, &sn.root, "", 0);
		snapshot_clear(&sn);
	}
	store_close(s);
	return ret ? hostile_die("list-frames", ret) : 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 2 ? argv[1] : "";
	if (secmem_init())
		return hostile_die("libsodium", EIO);
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
