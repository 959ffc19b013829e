/* libFuzzer target for the signed small objects a host serves: the envelope
 * {"format","body","sig"} (store_envelope_open), and behind a valid signature the bodies of
 * the head pointer (store_read_head), the snapshot manifest (store_read_snapshot → its
 * static parser) and the descriptor (store_open → check_descriptor). A temporary local store
 * with fixed keys holds the objects; the harness signs/seals the fuzzed body so that the
 * parsers behind the signature are reached. Input: byte 0 = mode, the rest = payload.
 *   mode 0  payload is an envelope, parsed without a key
 *   mode 1  payload is a manifest plaintext (sealed, signed, then read)
 *   mode 2  payload is a head pointer body (enveloped, signed, then read)
 *   mode 3  payload is a descriptor body (enveloped, signed, then the store is opened)
 *   mode 4  payload is a whole snapshot object ("EMBSNAP1" || sig || record) */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "keyfile.h"
#include "log.h"
#include "secmem.h"
#include "store_int.h"

static struct store S;
static char dir[64], keypath[96];
static struct trust_opts no_state = {.no_state = true, .allow_rollback = true};

static void setup(void)
{
	uint8_t master[KEY_LEN] = {1, 2, 3};
	if (secmem_init())
		abort();
	log_use_syslog(true); /* keep stderr for the fuzzer's own reports */
	snprintf(dir, sizeof(dir), "%s/fuzz-env-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(dir) || remote_open(dir, NULL, &S.remote))
		abort();
	memset(S.store_id, 0x5e, STORE_ID_LEN);
	hex_encode(S.store_id, STORE_ID_LEN, S.store_id_hex);
	S.sign_sk = secmem_alloc(SIGN_SK_LEN);
	if (!S.sign_sk || sign_keypair(S.sign_pk, S.sign_sk) ||
	    keys_new(master, S.store_id, &S.keys))
		abort();
	memcpy(S.snap_pk, S.sign_pk, SIGN_PK_LEN); /* no root document: the same key */
	S.trust = no_state;
	S.format = STORE_FORMAT;
	snprintf(keypath, sizeof(keypath), "%s/sealer.key", dir);
	if (keyfile_write_sealer(keypath, S.store_id, master, S.sign_sk))
		abort();
}

/* {"format":1,"body":payload,"sig":sign(ctx, payload)} */
static char *envelope(const char *ctx, const uint8_t *p, size_t n)
{
	uint8_t sig[SIGN_LEN];
	char hex[2 * SIGN_LEN + 1], *out;
	json_t *body = json_stringn((const char *)p, n), *env;
	if (!body)
		return NULL; /* not UTF-8: cannot be a JSON string body */
	sign_detached(S.sign_sk, ctx, p, n, sig);
	hex_encode(sig, SIGN_LEN, hex);
	env = json_pack("{s:i s:o s:s}", "format", 1, "body", body, "sig", hex);
	out = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return out;
}

static void put(const char *key, const void *d, size_t n)
{
	if (remote_put(S.remote, key, d, n, 0))
		abort();
}

static void read_snapshot(const uint8_t id[ID_LEN])
{
	struct snapshot sn;
	int ret = store_read_snapshot(&S, id, &sn);
	if (ret && ret != -EBADMSG && ret != -ENOMEM)
		abort();
	if (!ret) {
		if (sn.ntags > 256)
			abort();
		snapshot_clear(&sn);
	}
}

static void manifest(const uint8_t *p, size_t n)
{
	uint8_t id[ID_LEN], *rec, *obj;
	size_t rlen;
	char key[128], idh[2 * ID_LEN + 1];
	record_id(S.keys, REC_MANIFEST, p, n, id);
	if (record_seal(S.keys, REC_MANIFEST, id, p, n, 0, &rec, &rlen))
		return;
	obj = malloc(8 + SIGN_LEN + rlen);
	uint8_t *msg = malloc(STORE_ID_LEN + ID_LEN + rlen);
	memcpy(msg, S.store_id, STORE_ID_LEN);
	memcpy(msg + STORE_ID_LEN, id, ID_LEN);
	memcpy(msg + STORE_ID_LEN + ID_LEN, rec, rlen);
	memcpy(obj, SNAP_MAGIC, 8);
	sign_detached(S.sign_sk, SIGCTX_SNAPSHOT, msg, STORE_ID_LEN + ID_LEN + rlen, obj + 8);
	memcpy(obj + 8 + SIGN_LEN, rec, rlen);
	hex_encode(id, ID_LEN, idh);
	snprintf(key, sizeof(key), "snapshots/%s", idh);
	put(key, obj, 8 + SIGN_LEN + rlen);
	read_snapshot(id);
	remote_delete(S.remote, key);
	free(msg);
	free(obj);
	free(rec);
}

static void head(const uint8_t *p, size_t n)
{
	struct head h;
	char *env = envelope(SIGCTX_HEAD, p, n);
	if (!env)
		return;
	put(HEAD_KEY, env, strlen(env));
	int ret = store_read_head(&S, &h);
	if (ret && ret != -EBADMSG && ret != -EPROTONOSUPPORT && ret != -ENOMEM)
		abort();
	free(env);
}

static void descriptor(const uint8_t *p, size_t n)
{
	struct store_auth a = {.trust = &no_state, .sealer_key = keypath};
	struct store *s = NULL;
	char *env = envelope(SIGCTX_DESCRIPTOR, p, n);
	if (!env)
		return;
	put(DESCRIPTOR_KEY, env, strlen(env));
	int ret = store_open(dir, NULL, &a, &s);
	if (ret && ret != -EBADMSG && ret != -EPROTONOSUPPORT && ret != -ENOMEM)
		abort();
	store_close(s);
	free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t fixed_id[ID_LEN] = {0x42};
	json_t *root;
	const char *body;
	size_t blen;

	if (!S.keys)
		setup();
	if (size < 1 || size > (256u << 10))
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (!store_envelope_open(data + 1, size - 1, SIGCTX_HEAD, NULL, &root, &body,
					 &blen)) {
			if (strlen(body) > blen)
				abort();
			json_decref(root);
		}
		break;
	case 1:
		manifest(data + 1, size - 1);
		break;
	case 2:
		head(data + 1, size - 1);
		break;
	case 3:
		descriptor(data + 1, size - 1);
		break;
	default: {
		char key[128], idh[2 * ID_LEN + 1];
		hex_encode(fixed_id, ID_LEN, idh);
		snprintf(key, sizeof(key), "snapshots/%s", idh);
		put(key, data + 1, size - 1);
		read_snapshot(fixed_id);
	}
	}
	return 0;
}
