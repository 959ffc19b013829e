/* store_init: creating a store (key bundle, key entries, signed descriptor). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "chunker.h"
#include "hex.h"
#include "keyadmin.h"
#include "keyfile.h"
#include "secmem.h"
#include "store.h"
#include "store_int.h"

/* The secret that key entries protect: magic || store id || master key || signing pk. */
static uint8_t *bundle_make(const uint8_t *sid, const uint8_t *master, const uint8_t *pk)
{
	uint8_t *b = secmem_alloc(BUNDLE_LEN);
	if (!b)
		return NULL;
	memcpy(b, BUNDLE_MAGIC, 8);
	memcpy(b + 8, sid, STORE_ID_LEN);
	memcpy(b + 8 + STORE_ID_LEN, master, KEY_LEN);
	memcpy(b + 8 + STORE_ID_LEN + KEY_LEN, pk, SIGN_PK_LEN);
	return b;
}

/* Passphrase, recipient and quorum entries: keyadmin.c, shared with 'embassy key add'. */
static int write_key_entries(struct remote *r, const struct store_init_opts *o,
			     const uint8_t *bundle)
{
	return keyadmin_write_entries(r, o, bundle, BUNDLE_LEN, NULL, NULL);
}

static json_t *descriptor_body(int format, const uint8_t *sid, const uint8_t *pk)
{
	char sidhex[2 * STORE_ID_LEN + 1], pkhex[2 * SIGN_PK_LEN + 1];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	hex_encode(sid, STORE_ID_LEN, sidhex);
	hex_encode(pk, SIGN_PK_LEN, pkhex);
	return json_pack("{s:i s:s s:s s:I s:{s:i s:i s:i}}", "format", format, "store_id", sidhex,
			 "sign_pk", pkhex, "created",
			 (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec, "chunker", "min",
			 CHUNKER_MIN, "avg", CHUNKER_AVG, "max", CHUNKER_MAX);
}

static int init_objects(struct store *s, const struct store_init_opts *o, const uint8_t *master)
{
	uint8_t *bundle = bundle_make(s->store_id, master, s->sign_pk);
	json_t *body = descriptor_body(s->format, s->store_id, s->sign_pk);
	char *env = NULL;
	int ret = -ENOMEM;

	if (!bundle || !body)
		goto out;
	ret = write_key_entries(s->remote, o, bundle);
	if (ret)
		goto out;
	ret = store_envelope_make(s, SIGCTX_DESCRIPTOR, body, &env);
	/* the descriptor last: until it exists, this is not a store */
	if (!ret)
		ret = remote_put(s->remote, DESCRIPTOR_KEY, env, strlen(env), REMOTE_CREATE_ONLY);
out:
	secmem_free(bundle);
	json_decref(body);
	free(env);
	return ret;
}

int store_init(const char *url, const struct remote_opts *ro, const struct store_init_opts *o,
	       char store_id_hex[2 * STORE_ID_LEN + 1])
{
	struct store s = {0};
	uint8_t *master = NULL;
	uint64_t size;
	struct stat st;
	int ret;

	if (!o->passphrase && !o->nrecipients && !o->nofficers)
		return -EINVAL;
	s.format = o->format ? o->format : STORE_FORMAT;
	if (s.format < STORE_FORMAT_MIN || s.format > STORE_FORMAT)
		return -EINVAL;
	if (!lstat(o->sealer_key_out, &st))
		return -EEXIST;
	ret = remote_open(url, ro, &s.remote);
	if (ret)
		return ret;
	ret = remote_stat(s.remote, DESCRIPTOR_KEY, &size);
	if (ret != -ENOENT) {
		ret = ret ? ret : -EEXIST;
		goto out;
	}
	master = secmem_alloc(KEY_LEN);
	s.sign_sk = secmem_alloc(SIGN_SK_LEN);
	if (!master || !s.sign_sk) {
		ret = -ENOMEM;
		goto out;
	}
	randombytes_buf(s.store_id, STORE_ID_LEN);
	randombytes_buf(master, KEY_LEN);
	sign_keypair(s.sign_pk, s.sign_sk);
	/* the sealer key first: a store nobody can seal into would be useless */
	ret = keyfile_write_sealer(o->sealer_key_out, s.store_id, master, s.sign_sk);
	if (!ret)
		ret = init_objects(&s, o, master);
	if (!ret)
		hex_encode(s.store_id, STORE_ID_LEN, store_id_hex);
out:
	secmem_free(master);
	secmem_free(s.sign_sk);
	remote_free(s.remote);
	return ret;
}

int store_key_bundle(const struct store *s, uint8_t *out)
{
	uint8_t *b;

	if (keys_epoch(s->keys))
		return -EOPNOTSUPP; /* the agent holds 88-byte bundles of epoch 0 only */
	b = bundle_make(s->store_id, keys_master(s->keys), s->sign_pk);
	if (!b)
		return -ENOMEM;
	memcpy(out, b, BUNDLE_LEN);
	secmem_free(b);
	return 0;
}
