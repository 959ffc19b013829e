/* store_head: moving the head with a compare-and-swap, so that two writers racing for the same
 * next head (a seal from home, commits from recovery hosts) can never both win.
 *
 * heads/latest is replaced in place and so cannot arbitrate. Before it, a writer creates the
 * claim heads/next-<hex id of the head it builds on> (create-only: link(2), WebDAV MOVE with
 * Overwrite: F, S3 If-None-Match: *) holding the same signed head envelope; whoever creates it
 * first succeeds, the other gets -EEXIST and must build on the winner's snapshot. The claim
 * names its parent, so the claims form a chain: a writer that died between its claim and
 * heads/latest leaves heads/latest one step behind, and the next writer finds the true head by
 * following the chain from heads/latest (store_head_walk). docs/FORMAT.md section 11.1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "refjson.h"
#include "store_int.h"

#define WALK_MAX 100000 /* claims followed at most (a host serving a cycle cannot hang us) */

static const uint8_t no_parent[ID_LEN];

static void claim_key(const uint8_t *parent, char out[96])
{
	char hex[2 * ID_LEN + 1];
	hex_encode(parent ? parent : no_parent, ID_LEN, hex);
	snprintf(out, 96, "heads/next-%s", hex);
}

/* The signed head envelope, with the parent it was claimed on. */
static int head_envelope(struct store *s, const uint8_t *parent, const struct head *h, char **env)
{
	char snap[2 * ID_LEN + 1], par[2 * ID_LEN + 1];
	json_t *body;
	int ret;

	hex_encode(h->snapshot, ID_LEN, snap);
	body = json_pack("{s:i s:s s:I s:s s:I s:I}", "v", 1, "store_id", s->store_id_hex, "seq",
			 (json_int_t)h->seq, "snapshot", snap, "time", (json_int_t)h->time_ns,
			 "expires", (json_int_t)h->expires_ns);
	if (!body)
		return -ENOMEM;
	if (parent) {
		hex_encode(parent, ID_LEN, par);
		json_object_set_new(body, "parent", json_string(par));
	}
	ret = store_envelope_make(s, SIGCTX_HEAD, body, env);
	json_decref(body);
	return ret;
}

int store_publish_head(struct store *s, const uint8_t *parent, const struct head *h)
{
	char key[96], *env = NULL;
	int ret;

	if (!store_can_seal(s))
		return -EPERM;
	claim_key(parent, key);
	ret = head_envelope(s, parent, h, &env);
	if (!ret)
		ret = remote_put(s->remote, key, env, strlen(env), REMOTE_CREATE_ONLY);
	if (ret == -EEXIST)
		log_info("%s: another writer moved the head first", key);
	/* the claim won: heads/latest follows (a writer that dies here leaves it behind, and
	 * the next writer's walk finds this claim) */
	if (!ret)
		ret = remote_put(s->remote, HEAD_KEY, env, strlen(env), 0);
	if (!ret)
		trust_remember(&s->trust, s->store_id_hex, s->sign_pk, h->seq);
	free(env);
	return ret;
}

/* The claim made on parent, verified: 0 with *next, -ENOENT if there is none. */
static int read_claim(struct store *s, const uint8_t *parent, const struct head *cur,
		      struct head *next)
{
	char key[96];
	uint8_t *data = NULL, sid[STORE_ID_LEN], par[ID_LEN];
	json_t *root = NULL, *b = NULL;
	const char *text;
	size_t n, len;
	int ret;

	claim_key(parent, key);
	ret = remote_get(s->remote, key, 0, 0, SMALL_OBJECT_MAX, &data, &n);
	if (ret)
		return ret;
	ret = store_envelope_open(data, n, SIGCTX_HEAD, s->sign_pk, &root, &text, &len);
	if (ret)
		goto out;
	ret = -EBADMSG;
	b = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *t = json_object_get(b, "time"), *e = json_object_get(b, "expires");
	if (json_integer_value(json_object_get(b, "v")) != 1 ||
	    refjson_get_hex(b, "store_id", sid, STORE_ID_LEN) ||
	    memcmp(sid, s->store_id, STORE_ID_LEN) ||
	    refjson_get_uint(b, "seq", INT64_MAX, &next->seq) ||
	    refjson_get_hex(b, "snapshot", next->snapshot, ID_LEN) || !json_is_integer(t) ||
	    !json_is_integer(e))
		goto out;
	/* it must name the head it was claimed on, and come after it */
	if (parent ? refjson_get_hex(b, "parent", par, ID_LEN) || memcmp(par, parent, ID_LEN)
		   : json_object_get(b, "parent") != NULL)
		goto out;
	if (cur && next->seq <= cur->seq)
		goto out;
	next->time_ns = json_integer_value(t);
	next->expires_ns = json_integer_value(e);
	ret = 0;
out:
	if (ret == -EBADMSG)
		log_err("%s: head claim does not verify (forged, from another store, or out of "
			"order)",
			key);
	json_decref(b);
	json_decref(root);
	free(data);
	return ret;
}

int store_head_walk(struct store *s, struct head *out)
{
	struct head cur, next;
	bool have;
	int ret = store_read_head(s, &cur), steps = 0;

	if (ret && ret != -ENOENT)
		return ret;
	have = ret == 0;
	/* an empty store may already have its first snapshot claimed */
	while (steps++ < WALK_MAX) {
		ret = read_claim(s, have ? cur.snapshot : NULL, have ? &cur : NULL, &next);
		if (ret == -ENOENT)
			break;
		if (ret)
			return ret;
		cur = next;
		have = true;
	}
	if (steps > WALK_MAX)
		return -ELOOP;
	if (!have)
		return -ENOENT;
	if (steps > 1) { /* a claim beyond heads/latest: the rollback and freeze checks apply */
		ret = trust_check_head(&s->trust, s->store_id_hex, s->sign_pk, &cur);
		if (ret)
			return ret;
		log_info("heads/latest was %d step(s) behind its claims", steps - 1);
	}
	*out = cur;
	return 0;
}
