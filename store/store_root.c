/* store_root: fetch and verify the root document chain at open (docs/FORMAT.md 19).
 *
 * The chain starts at the key the reader pinned (the descriptor's, checked by store_open
 * before this runs) and is walked version by version, never skipping one, at most
 * ROOT_CHAIN_MAX versions: a host cannot make a reader fetch without end. The trust state
 * remembers the newest version verified, so a host that withholds later versions (to keep
 * a retired snapshot key in use) or all of them is refused, not trusted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "keyfile.h"
#include "log.h"
#include "root.h"
#include "secmem.h"
#include "store_int.h"

static int chain_bad(const char *sid, uint64_t version)
{
	log_err("store %s: root document version %llu does not verify (not signed by the "
		"threshold of officers the version before names, or not by its own): refusing "
		"(a forged rotation?)",
		sid, (unsigned long long)version);
	return -EBADMSG;
}

/* Fetch, parse and check one version (after prev; prev NULL: version 1 against the pinned
 * key). Only a version that verified is kept by the mount's metadata mirror; a local copy
 * that fails is fetched once more from the store (remote.h: remote_reject). */
static int fetch_checked(struct store *s, uint64_t version, const struct root *prev,
			 struct root *out)
{
	char key[32];
	uint8_t *data = NULL;
	size_t n;
	int ret;

	root_object_name(version, key);
	for (int again = 1; again >= 0; again--) {
		ret = remote_get(s->remote, key, 0, 0, ROOT_OBJECT_MAX, &data, &n);
		if (ret)
			return ret;
		ret = root_decode(data, n, out);
		if (!ret && (prev ? root_verify_next(prev, out)
				  : root_verify_first(out, s->store_id, s->sign_pk))) {
			root_clear(out);
			ret = -EBADMSG;
		}
		if (!ret)
			remote_keep(s->remote, key, data, n);
		free(data);
		data = NULL;
		if (ret != -EBADMSG || !again || !remote_reject(s->remote, key))
			break;
	}
	if (ret == -EBADMSG)
		chain_bad(s->store_id_hex, version);
	return ret;
}

/* Walk 1 … newest; *at_known: a copy of version `known` (to compare with the state). */
static int walk(struct store *s, uint64_t known, struct root *cur, struct root *at_known)
{
	struct root next;
	int ret = fetch_checked(s, 1, NULL, cur);

	if (ret)
		return ret;
	for (;;) {
		if (cur->version == known) {
			*at_known = *cur;
			at_known->body = malloc(cur->body_len + 1);
			if (!at_known->body)
				return -ENOMEM;
			memcpy(at_known->body, cur->body, cur->body_len + 1);
		}
		if (cur->version >= ROOT_CHAIN_MAX) {
			/* more would be fetched without bound: refuse rather than stop short */
			char key[32];
			uint8_t *d = NULL;
			size_t n;
			root_object_name(cur->version + 1, key);
			ret = remote_get(s->remote, key, 0, 0, ROOT_OBJECT_MAX, &d, &n);
			free(d);
			if (ret == -ENOENT)
				return 0;
			log_err("store %s: more than %d root document versions: refusing",
				s->store_id_hex, ROOT_CHAIN_MAX);
			return -ELOOP;
		}
		ret = fetch_checked(s, cur->version + 1, cur, &next);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		root_clear(cur);
		*cur = next;
	}
}

/* Compare the newest verified version with what the state remembers, and remember it. */
static int check_state(struct store *s, uint64_t known, const char *known_hash,
		       const struct root *cur, const struct root *at_known)
{
	uint8_t h[32];
	char hex[65];
	bool reset;

	if (cur->version < known) {
		log_err("store %s: the host serves root document versions up to %llu, but version "
			"%llu was verified before: refusing (a host hiding a key rotation?)",
			s->store_id_hex, (unsigned long long)cur->version,
			(unsigned long long)known);
		return -ESTALE;
	}
	if (known) {
		root_hash(at_known, h);
		hex_encode(h, 32, hex);
		if (strcmp(hex, known_hash)) {
			log_err("store %s: root document version %llu is not the one verified "
				"before: refusing",
				s->store_id_hex, (unsigned long long)known);
			return -EBADMSG;
		}
	}
	if (cur->version == known)
		return 0;
	root_hash(cur, h);
	hex_encode(h, 32, hex);
	/* a new snapshot or timestamp key (a rotation after a theft): the sequence numbers and
	 * list generations the old keys may have pushed up start afresh */
	reset = memcmp(known ? at_known->snapshot_pk : s->sign_pk, cur->snapshot_pk, SIGN_PK_LEN) ||
		(known && memcmp(at_known->timestamp_pk, cur->timestamp_pk, SIGN_PK_LEN));
	if (reset)
		log_info("store %s: root document version %llu rotated the signing keys: the "
			 "remembered sequence starts again",
			 s->store_id_hex, (unsigned long long)cur->version);
	return trust_root_advance(&s->trust, s->store_id_hex, s->sign_pk, cur->version, hex, reset);
}

static int no_root(struct store *s, uint64_t known)
{
	if (known) {
		log_err("store %s: the root document is gone although version %llu was verified "
			"before: refusing (a host hiding a key rotation?)",
			s->store_id_hex, (unsigned long long)known);
		return -ESTALE;
	}
	memcpy(s->snap_pk, s->sign_pk, SIGN_PK_LEN); /* as before root documents */
	return 0;
}

int store_root_load(struct store *s)
{
	struct root cur = {0}, at_known = {0};
	uint64_t known = 0;
	char known_hash[65] = "";
	int ret = trust_root_get(&s->trust, s->store_id_hex, &known, known_hash);

	if (ret)
		return ret;
	ret = walk(s, known, &cur, &at_known);
	if (ret == -ENOENT && !cur.body) {
		root_clear(&at_known);
		return no_root(s, known);
	}
	if (!ret)
		ret = check_state(s, known, known_hash, &cur, &at_known);
	root_clear(&at_known);
	if (ret) {
		root_clear(&cur);
		return ret;
	}
	s->root = malloc(sizeof(*s->root));
	if (!s->root) {
		root_clear(&cur);
		return -ENOMEM;
	}
	*s->root = cur;
	memcpy(s->snap_pk, cur.snapshot_pk, SIGN_PK_LEN);
	if (s->sign_sk && memcmp(s->seal_pk, s->snap_pk, SIGN_PK_LEN)) {
		log_err("store %s: this sealer key was retired by root document version %llu: it "
			"can no longer seal (use the sealer key file the rotation wrote)",
			s->store_id_hex, (unsigned long long)cur.version);
		return -EKEYREVOKED;
	}
	return 0;
}

int store_set_timestamp_key(struct store *s, const char *path)
{
	struct keyfile kf;
	int ret = keyfile_load(path, &kf);

	if (ret)
		return ret;
	if (kf.kind != KEYFILE_SIGNING) {
		log_err("%s: not a signing key file (embassy keygen --signing)", path);
		ret = -EBADMSG;
	} else if (!s->root || memcmp(kf.pub, s->root->timestamp_pk, SIGN_PK_LEN)) {
		log_err("%s is not the timestamp key of store %s%s", path, s->store_id_hex,
			s->root ? " (its root document names another)"
				: " (it has no root document)");
		ret = -EKEYREJECTED;
	} else if (!(s->ts_sk = secmem_alloc(SIGN_SK_LEN))) {
		ret = -ENOMEM;
	} else {
		memcpy(s->ts_sk, kf.secret, SIGN_SK_LEN);
	}
	keyfile_clear(&kf);
	return ret;
}

const struct root *store_root(const struct store *s)
{
	return s->root;
}

int store_root_put(struct store *s, const struct root *r)
{
	char key[32], *env = NULL;
	int ret =
	    s->root ? root_verify_next(s->root, r) : root_verify_first(r, s->store_id, s->sign_pk);

	if (ret) {
		log_err("root document version %llu is not signed as the chain requires: not "
			"written",
			(unsigned long long)r->version);
		return -EBADMSG;
	}
	ret = root_envelope(r, &env);
	root_object_name(r->version, key);
	if (!ret)
		ret = remote_put(s->remote, key, env, strlen(env), REMOTE_CREATE_ONLY);
	free(env);
	return ret;
}
