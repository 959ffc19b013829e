/* key root, key rotate-signing: the store's root document — officers, threshold, snapshot
 * and timestamp keys — and the rotation of a stolen or lost snapshot (sealer) key confirmed
 * by an officer quorum (docs/KEYS.md 4.10–4.12, docs/FORMAT.md 19). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"
#include "key_root.h"
#include "keyfile.h"
#include "root.h"
#include "secmem.h"
#include "snaplist.h"
#include "store_write.h"

struct root_args {
	const char *officers[ROOT_OFFICERS_MAX], *signers[ROOT_SIGS_MAX];
	size_t nofficers, nsigners;
	uint64_t threshold, valid_through;
	bool has_valid_through;
	const char *timestamp, *new_sealer;
	/* officers apart: a proposal file (the roots/<version> object, partly signed) */
	const char *prepare, *apply, *proposal;
};

static int opt_valid_through(struct cli_ctx *c, const struct opts_spec *o, const char *arg)
{
	struct root_args *a = o->target;

	if (opts_parse_u64(arg, INT64_MAX, &a->valid_through) < 0)
		return opts_usage(c, "--valid-through needs a sequence number, not '%s'", arg);
	a->has_valid_through = true;
	return EXIT_OK;
}

static int parse(struct cli_ctx *c, struct root_args *a, int argc, char **argv)
{
	const struct opts_spec options[] = {
	    OPTS_LIST(0, "officer", a->officers, &a->nofficers, ROOT_OFFICERS_MAX, NULL),
	    OPTS_U64(0, "threshold", &a->threshold, 1, ROOT_OFFICERS_MAX,
		     "--threshold needs a number (1..{max}), not '{arg}'"),
	    OPTS_LIST(0, "sign", a->signers, &a->nsigners, ROOT_SIGS_MAX - 1, NULL),
	    OPTS_STRING(0, "timestamp-key", &a->timestamp),
	    OPTS_STRING(0, "new-sealer-key", &a->new_sealer),
	    OPTS_CALL(0, "valid-through", required_argument, opt_valid_through, a),
	    OPTS_STRING(0, "prepare", &a->prepare),
	    OPTS_STRING(0, "apply", &a->apply),
	    OPTS_STRING(0, "proposal", &a->proposal),
	    OPTS_END};

	return opts_parse(c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options);
}

/* The public half of a signing key file (either file of 'keygen --signing'). */
static int load_pub(const char *path, uint8_t pk[SIGN_PK_LEN])
{
	struct keyfile kf;
	int err = keyfile_load(path, &kf);
	if (!err && kf.kind != KEYFILE_SIGNING && kf.kind != KEYFILE_SIGNING_PUB) {
		keyfile_clear(&kf); /* another kind of key file: its secret is freed too */
		err = -EBADMSG;
	}
	if (err) {
		cli_error("%s: %s", path,
			  err == -EBADMSG ? "not a signing key file ('embassy keygen --signing')"
					  : strerror(-err));
		return err == -EPERM || err == -EBADMSG ? EXIT_AUTH : EXIT_FAIL;
	}
	memcpy(pk, kf.pub, SIGN_PK_LEN);
	keyfile_clear(&kf);
	return EXIT_OK;
}

static int sign_with(struct root *r, const char *path)
{
	struct keyfile kf;
	int err = keyfile_load(path, &kf);
	if (!err && kf.kind != KEYFILE_SIGNING)
		err = -EBADMSG;
	if (!err)
		err = root_sign(r, kf.secret);
	keyfile_clear(&kf);
	if (err) {
		cli_error("%s: %s", path,
			  err == -EBADMSG ? "not an officer's signing key file ('embassy keygen "
					    "--signing')"
			  : err == -EPERM ? "readable by group or others; run 'chmod 600' on it"
					  : strerror(-err));
		return EXIT_AUTH;
	}
	return EXIT_OK;
}

/* ---- officers apart: a proposal file passed from officer to officer ---- */

/* Read a proposal: the roots/<version> object as key root --prepare wrote it, with the
 * signatures added so far (checked only when it is applied). */
static int proposal_load(const char *path, struct root *r)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(ROOT_OBJECT_MAX + 1);
	size_t n = 0;
	int err = f && buf ? 0 : -errno;

	if (!err) {
		n = fread(buf, 1, ROOT_OBJECT_MAX + 1, f);
		err = ferror(f) ? -EIO : n > ROOT_OBJECT_MAX ? -EFBIG : 0;
	}
	if (!err)
		err = root_decode((const uint8_t *)buf, n, r);
	if (f)
		fclose(f);
	free(buf);
	if (err)
		cli_error("proposal %s: %s", path,
			  err == -EBADMSG ? "not a root document proposal (malformed)"
			  : err == -EFBIG ? "too large for a root document"
					  : strerror(-err));
	return err ? (err == -EBADMSG || err == -EFBIG ? EXIT_INTEGRITY : EXIT_FAIL) : EXIT_OK;
}

/* Write it: exclusively (a new proposal), or replacing the file atomically (signed). */
static int proposal_write(const char *path, const struct root *r, bool replace)
{
	char *env = NULL, *tmp = NULL;
	int fd = -1, err = root_envelope(r, &env);

	if (!err && replace && asprintf(&tmp, "%s.tmp", path) < 0)
		err = -ENOMEM;
	if (!err) {
		fd = open(replace ? tmp : path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		err = fd < 0 ? -errno : 0;
	}
	if (!err && (write(fd, env, strlen(env)) != (ssize_t)strlen(env) || fsync(fd)))
		err = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) && !err)
		err = -errno;
	if (!err && replace && rename(tmp, path))
		err = -errno;
	if (err && fd >= 0)
		unlink(replace ? tmp : path);
	if (err)
		cli_error("cannot write the proposal %s: %s", path, strerror(-err));
	free(tmp);
	free(env);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* What an officer signs, shown before signing: they compare it with what they agreed to. */
static void proposal_show(const struct root *r)
{
	char h[2 * SIGN_PK_LEN + 1];

	hex_encode(r->store_id, STORE_ID_LEN, h);
	fprintf(stderr, "root document version %llu of store %s\n", (unsigned long long)r->version,
		h);
	hex_encode(r->snapshot_pk, SIGN_PK_LEN, h);
	fprintf(stderr, "  snapshot key   %s\n", h);
	hex_encode(r->timestamp_pk, SIGN_PK_LEN, h);
	fprintf(stderr, "  timestamp key  %s\n", h);
	fprintf(stderr, "  officers (%u of them must sign a change):\n", r->threshold);
	for (unsigned i = 0; i < r->nofficers; i++) {
		hex_encode(r->officers[i], SIGN_PK_LEN, h);
		fprintf(stderr, "    %s\n", h);
	}
	for (unsigned i = 0; i < r->nretired; i++) {
		hex_encode(r->retired[i].pk, SIGN_PK_LEN, h);
		fprintf(stderr, "  retired        %s valid through sequence %llu\n", h,
			(unsigned long long)r->retired[i].max_seq);
	}
	fprintf(stderr, "  signatures so far: %u\n", r->nsigs);
}

/* key root --proposal FILE --sign KEY...: an officer signs, offline, with their key only. */
static int proposal_sign(const struct root_args *a)
{
	struct root r = {0};
	int ret = proposal_load(a->proposal, &r);

	if (ret == EXIT_OK)
		proposal_show(&r);
	for (size_t i = 0; ret == EXIT_OK && i < a->nsigners; i++) {
		struct keyfile kf;
		/* a signature already there under this key is made again: it may be bogus */
		if (!keyfile_load(a->signers[i], &kf) && kf.kind == KEYFILE_SIGNING)
			for (unsigned k = 0; k < r.nsigs; k++)
				if (!memcmp(r.sig_pk[k], kf.pub, SIGN_PK_LEN)) {
					memmove(r.sig_pk[k], r.sig_pk[k + 1],
						(r.nsigs - k - 1) * SIGN_PK_LEN);
					memmove(r.sig[k], r.sig[k + 1],
						(r.nsigs - k - 1) * SIGN_LEN);
					r.nsigs--;
					k--;
				}
		keyfile_clear(&kf);
		ret = sign_with(&r, a->signers[i]);
	}
	if (ret == EXIT_OK)
		ret = proposal_write(a->proposal, &r, true);
	if (ret == EXIT_OK)
		cli_note("signed: %s now carries %u signature(s); pass it on", a->proposal,
			 r.nsigs);
	root_clear(&r);
	return ret;
}

/* --apply FILE: the proposal must be the store's next version (checked again, with every
 * signature, by store_root_put). */
static int proposal_for(struct store *s, const char *path, bool rotation, struct root *r)
{
	const struct root *cur = store_root(s);
	char sid[2 * STORE_ID_LEN + 1];
	int ret = proposal_load(path, r);

	if (ret != EXIT_OK)
		return ret;
	hex_encode(r->store_id, STORE_ID_LEN, sid);
	if (rotation && cur && r->version == cur->version && r->body_len == cur->body_len &&
	    !memcmp(r->body, cur->body, r->body_len))
		return EXIT_OK; /* applied already: what is left is the list and head */
	if (strcmp(sid, store_id_hex(s)) || r->version != (cur ? cur->version + 1 : 1)) {
		cli_error("proposal %s is version %llu of store %s, not the next version (%llu) of "
			  "this store (%s)",
			  path, (unsigned long long)r->version, sid,
			  (unsigned long long)(cur ? cur->version + 1 : 1), store_id_hex(s));
		return EXIT_FAIL;
	}
	if (r->version == 1 && store_sign_sk(s) && root_sign(r, store_sign_sk(s)))
		return EXIT_FAIL; /* the origin may vouch for version 1 here, or at --prepare */
	return EXIT_OK;
}

/* The next version's fields: the current version's, changed by the options. */
static int build(const struct cli_ctx *c, const struct root_args *a, struct store *s,
		 struct root *r)
{
	const struct root *cur = store_root(s);
	struct timespec now;
	int ret;

	memset(r, 0, sizeof(*r));
	hex_decode(store_id_hex(s), r->store_id, STORE_ID_LEN);
	r->version = cur ? cur->version + 1 : 1;
	clock_gettime(CLOCK_REALTIME, &now);
	r->time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	memcpy(r->snapshot_pk, store_sign_pk(s), SIGN_PK_LEN);
	if (cur) {
		memcpy(r->timestamp_pk, cur->timestamp_pk, SIGN_PK_LEN);
		memcpy(r->officers, cur->officers, sizeof(r->officers));
		r->nofficers = cur->nofficers;
		r->threshold = cur->threshold;
		memcpy(r->retired, cur->retired, sizeof(r->retired));
		r->nretired = cur->nretired;
	} else if (!a->nofficers || !a->threshold || !a->timestamp) {
		return opts_usage(c, "the first root document needs --officer (each officer's "
				     "signing .pub), --threshold and --timestamp-key");
	}
	if (a->timestamp && (ret = load_pub(a->timestamp, r->timestamp_pk)) != EXIT_OK)
		return ret;
	if (a->nofficers) {
		r->nofficers = (unsigned)a->nofficers;
		for (size_t i = 0; i < a->nofficers; i++)
			if ((ret = load_pub(a->officers[i], r->officers[i])) != EXIT_OK)
				return ret;
	}
	if (a->threshold)
		r->threshold = (unsigned)a->threshold;
	return EXIT_OK;
}

/* Retire the current snapshot key (valid through seq) and name new_pk instead. */
static int retire(struct root *r, const uint8_t old[SIGN_PK_LEN], uint64_t seq,
		  const uint8_t new_pk[SIGN_PK_LEN])
{
	if (r->nretired == ROOT_RETIRED_MAX) {
		cli_error("the root document already retired %d snapshot keys", ROOT_RETIRED_MAX);
		return EXIT_FAIL;
	}
	memcpy(r->retired[r->nretired].pk, old, SIGN_PK_LEN);
	r->retired[r->nretired++].max_seq = seq;
	memcpy(r->snapshot_pk, new_pk, SIGN_PK_LEN);
	return EXIT_OK;
}

static int seal_and_sign(const struct root_args *a, struct store *s, struct root *r)
{
	int ret;
	if (root_seal_body(r)) {
		cli_error("the new root document is inconsistent: 1 <= threshold <= officers, "
			  "distinct officers, and officer, snapshot and timestamp keys all "
			  "different");
		return EXIT_USAGE;
	}
	if (r->version == 1 && store_sign_sk(s) && root_sign(r, store_sign_sk(s)))
		return EXIT_FAIL; /* the origin vouches for version 1 */
	for (size_t i = 0; i < a->nsigners; i++)
		if ((ret = sign_with(r, a->signers[i])) != EXIT_OK)
			return ret;
	return EXIT_OK;
}

static int put(struct store *s, const struct root *r, const char *url)
{
	int err = store_root_put(s, r);
	if (err == -EBADMSG) {
		cli_error("root document version %llu of %s is not signed as required: version 1 "
			  "by the sealer key and a threshold of its officers, a later one by a "
			  "threshold of the current officers and a threshold of its own (--sign)",
			  (unsigned long long)r->version, url);
		return EXIT_AUTH;
	}
	if (err == -EEXIST) {
		cli_error("root document version %llu of %s exists already (another change?)",
			  (unsigned long long)r->version, url);
		return EXIT_FAIL;
	}
	if (err < 0) {
		cli_error("cannot write the root document of %s: %s", url, strerror(-err));
		return cli_exit_for(err);
	}
	return EXIT_OK;
}

/* ---- the list and head under the new snapshot key ---- */

static int republish(struct store *s, const struct snaplist *cur, uint64_t through)
{
	struct snaplist next = {0};
	const struct snaplist_snap *nw;
	struct head h = {0};
	struct timespec now;
	char *obj = NULL, key[40];
	size_t len;
	int ret = snaplist_copy(&next, cur);

	for (size_t i = next.nsnaps; !ret && i-- > 0;)
		if (next.snaps[i].seq > through)
			snaplist_remove(&next, next.snaps[i].id);
	if (!ret && !(nw = snaplist_newest(&next))) {
		cli_error(
		    "no snapshot with a sequence up to %llu: nothing for the new head to name",
		    (unsigned long long)through);
		ret = -ENOENT;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	next.time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	/* the next free generation: the thief may have taken some beyond the head */
	for (int tries = 0; !ret && tries < 64; tries++) {
		next.gen = cur->gen + 1 + (uint64_t)tries;
		free(obj);
		ret = snaplist_encode(s, &next, &obj, &len);
		snaplist_key(next.gen, key);
		if (!ret)
			ret = remote_put(store_remote(s), key, obj, len, REMOTE_CREATE_ONLY);
		if (ret != -EEXIST)
			break;
	}
	if (!ret) {
		nw = snaplist_newest(&next);
		h.seq = nw->seq;
		memcpy(h.snapshot, nw->id, ID_LEN);
		h.time_ns = next.time_ns;
		h.expires_ns = h.time_ns + 7 * 24 * 3600 * 1000000000LL;
		h.has_list = true;
		h.gen = next.gen;
		snaplist_hash((const uint8_t *)obj, len, h.list);
		ret = store_write_head(s, &h);
	}
	if (!ret)
		cli_note(
		    "snapshot list generation %llu and head (sequence %llu) signed with the new "
		    "key: %zu snapshot(s) kept",
		    (unsigned long long)h.gen, (unsigned long long)h.seq, next.nsnaps);
	free(obj);
	snaplist_clear(&next);
	return ret;
}

/* ---- a rotation killed part way, run again (docs/KEYS.md 4.12) ---- */

/* The head and the list it names, as found: the list decoded under whichever of keys
 * signed it (*which: its index), after its hash matched the head's. */
static int found_list(struct store *s, const uint8_t (*keys)[SIGN_PK_LEN], int nkeys,
		      struct snaplist *out, int *which)
{
	uint8_t *data = NULL, *obj = NULL, sid[STORE_ID_LEN], hash[ID_LEN];
	size_t n, on;
	struct head h;
	char key[40];
	int ret = remote_get(store_remote(s), STORE_KEY_HEAD, 0, 0, SNAPLIST_MAX, &data, &n);

	hex_decode(store_id_hex(s), sid, STORE_ID_LEN);
	for (int i = 0; !ret; i++) {
		if (i == nkeys) {
			ret = -EBADMSG;
			break;
		}
		if (!store_head_decode(sid, keys[i], data, n, &h))
			break;
	}
	if (!ret && !h.has_list)
		ret = -ENOENT;
	if (!ret) {
		snaplist_key(h.gen, key);
		ret = remote_get(store_remote(s), key, 0, 0, SNAPLIST_MAX, &obj, &on);
	}
	if (!ret) {
		snaplist_hash(obj, on, hash);
		ret = sodium_memcmp(hash, h.list, ID_LEN) ? -EBADMSG : -EKEYREJECTED;
	}
	for (int i = 0; ret == -EKEYREJECTED && i < nkeys; i++)
		if (!snaplist_decode(sid, keys[i], h.gen, obj, on, out)) {
			*which = i;
			ret = 0;
		}
	free(data);
	free(obj);
	return ret == -EKEYREJECTED ? -EBADMSG : ret;
}

/* The root version names the new key already (the earlier run was killed after writing it):
 * what is left is the list and head under the new key, from the list the retired key
 * signed, up to the sequence the root gives it. */
static int resume_publish(const struct cli_ctx *c, const struct root_args *a, struct store *s,
			  const char *url)
{
	const struct root *cur = store_root(s);
	const struct root_retired *old = &cur->retired[cur->nretired - 1];
	uint8_t keys[3][SIGN_PK_LEN];
	struct store_auth au = {.trust = &c->trust, .sealer_key = a->new_sealer};
	struct snaplist l = {0};
	struct store *s2 = NULL;
	int which = 0, err;

	memcpy(keys[0], cur->snapshot_pk, SIGN_PK_LEN);
	memcpy(keys[1], cur->timestamp_pk, SIGN_PK_LEN);
	memcpy(keys[2], old->pk, SIGN_PK_LEN);
	err = found_list(s, (const uint8_t(*)[SIGN_PK_LEN])keys, 3, &l, &which);
	if (!err && which < 2) {
		cli_note("root document version %llu names the key of %s already, and the head "
			 "and list are signed with it: nothing left to do",
			 (unsigned long long)cur->version, a->new_sealer);
		goto out;
	}
	if (a->valid_through != old->max_seq)
		cli_warn("the rotation was written with --valid-through %llu: that stays",
			 (unsigned long long)old->max_seq);
	cli_note("root document version %llu names the key of %s already (an earlier run was "
		 "interrupted): publishing the list and head under it",
		 (unsigned long long)cur->version, a->new_sealer);
	if (!err)
		err = store_open(url, &c->ro, &au, &s2);
	if (!err)
		err = republish(s2, &l, old->max_seq);
out:
	if (err < 0)
		cli_error("cannot publish the snapshot list and head of %s under the new key: %s",
			  url, strerror(-err));
	store_close(s2);
	snaplist_clear(&l);
	return err < 0 ? cli_exit_for(err) : EXIT_OK;
}

/* --new-sealer-key names a file that exists: the sealer key file an earlier, interrupted
 * run of this rotation wrote (this store, its original key as origin, the same master
 * key), else it is refused as any existing key. 1: its key is the root's snapshot key
 * (resume after the root); 0: no root names it (use it: *new_sk filled); < 0 refused. */
static int earlier_run(struct store *s, const char *path, uint8_t new_pk[SIGN_PK_LEN],
		       uint8_t *new_sk)
{
	const struct keys *k = store_keys(s);
	const struct root *cur = store_root(s);
	struct keyfile kf;
	uint8_t sid[STORE_ID_LEN];
	int ret = keyfile_load(path, &kf);

	hex_decode(store_id_hex(s), sid, STORE_ID_LEN);
	if (ret || kf.kind != KEYFILE_SEALER || memcmp(kf.store_id, sid, STORE_ID_LEN) ||
	    !kf.has_origin || memcmp(kf.origin, store_anchor_pk(s), SIGN_PK_LEN) ||
	    sodium_memcmp(kf.master, keys_master(keys_at(k, 0)), KEY_LEN)) {
		cli_error("%s exists; refusing to overwrite a key", path);
		ret = -EEXIST;
	} else if (!memcmp(kf.pub, cur->snapshot_pk, SIGN_PK_LEN)) {
		ret = 1;
	} else if (!root_snapshot_key_ok(cur, kf.pub, 0)) {
		memcpy(new_pk, kf.pub, SIGN_PK_LEN);
		memcpy(new_sk, kf.secret, SIGN_SK_LEN);
		cli_note("%s is the new sealer key of an interrupted run: used again", path);
		/* the epoch lines follow the key: an interrupted write may lack some */
		for (unsigned e = kf.nepochs + 1; !ret && e <= keys_epoch(k); e++)
			ret = keyfile_add_epoch(path, e, keys_master(keys_at(k, e)));
	} else {
		cli_error("%s holds a snapshot key the root document retired", path);
		ret = -EKEYREVOKED;
	}
	keyfile_clear(&kf);
	return ret;
}

/* A new snapshot key: the new sealer key file first (a root naming a key nobody holds would
 * leave the store unsealable), then the root, then the list and head under the new key. */
static int rotate(const struct cli_ctx *c, const struct root_args *a, struct store *s,
		  struct root *r, const char *url)
{
	uint8_t new_pk[SIGN_PK_LEN], *new_sk = secmem_alloc(SIGN_SK_LEN), sid[STORE_ID_LEN];
	struct snaplist cur = {0};
	struct head h;
	struct store_auth au = {.trust = &c->trust, .sealer_key = a->new_sealer};
	struct store *s2 = NULL;
	struct stat st;
	int ret = EXIT_FAIL, err, again = 0;
	uint64_t through = a->valid_through;

	if (!new_sk)
		goto out;
	if (lstat(a->new_sealer, &st) == 0) {
		again = earlier_run(s, a->new_sealer, new_pk, new_sk);
		if (again == 1) {
			r->version = store_root(s)->version;
			ret = resume_publish(c, a, s, url);
		}
		if (again < 0)
			ret = again == -EEXIST ? EXIT_FAIL : EXIT_AUTH;
		if (again)
			goto out;
		again = 1; /* the key file is there: not written, not removed on failure */
	}
	/* the list the head names, verified under the current root; not the head's own claims
	 * (a thief's head may name a snapshot it made, with any sequence): only entries up to
	 * --valid-through are carried over */
	err = store_read_head(s, &h);
	if (!err && h.has_list)
		err = snaplist_fetch(s, h.gen, h.list, &cur);
	else if (!err)
		cli_warn("the head of %s names no snapshot list: seal with the new key to publish "
			 "one",
			 url);
	if (err < 0 && err != -ENOENT) {
		cli_error("cannot read the snapshot list of %s: %s", url, strerror(-err));
		ret = cli_exit_for(err);
		goto out;
	}
	if (a->apply && !again) {
		cli_error("--apply needs the sealer key file the rotation's --prepare wrote (%s "
			  "does not exist)",
			  a->new_sealer);
		goto out;
	}
	if (!again)
		sign_keypair(new_pk, new_sk);
	if (a->apply && memcmp(r->snapshot_pk, new_pk, SIGN_PK_LEN)) {
		cli_error("proposal %s names another snapshot key than %s", a->apply,
			  a->new_sealer);
		ret = EXIT_AUTH;
		goto out;
	}
	if (a->apply) /* the list keeps what the proposal keeps valid of the current key */
		for (unsigned i = 0; i < r->nretired; i++)
			if (!memcmp(r->retired[i].pk, store_sign_pk(s), SIGN_PK_LEN))
				through = r->retired[i].max_seq;
	if (!a->apply && (ret = retire(r, store_sign_pk(s), a->valid_through, new_pk)) != EXIT_OK)
		goto out;
	if (!a->apply && (ret = seal_and_sign(a, s, r)) != EXIT_OK)
		goto out;
	hex_decode(store_id_hex(s), sid, STORE_ID_LEN);
	/* epoch 0's master, then every key epoch the old file held (FORMAT.md 2.4, 15.2) */
	const struct keys *k = store_keys(s);
	err = again ? 0
		    : keyfile_write_sealer_origin(a->new_sealer, sid, keys_master(keys_at(k, 0)),
						  new_sk, store_anchor_pk(s));
	for (unsigned e = 1; !again && err >= 0 && e <= keys_epoch(k); e++)
		err = keyfile_add_epoch(a->new_sealer, e, keys_master(keys_at(k, e)));
	if (err < 0) {
		cli_error("cannot write the new sealer key file %s: %s", a->new_sealer,
			  strerror(-err));
		ret = EXIT_FAIL;
		goto out;
	}
	if (a->prepare) { /* officers sign apart; --apply writes it */
		ret = proposal_write(a->prepare, r, false);
		if (ret == EXIT_OK)
			cli_note(
			    "proposal %s written (version %llu, the new key in %s): each officer "
			    "signs it with 'embassy key root --proposal %s --sign KEY', then "
			    "'embassy key rotate-signing STORE --new-sealer-key %s --apply %s'",
			    a->prepare, (unsigned long long)r->version, a->new_sealer, a->prepare,
			    a->new_sealer, a->prepare);
		else if (!again)
			unlink(a->new_sealer);
		goto out;
	}
	if ((ret = put(s, r, url)) != EXIT_OK) {
		if (!a->apply)
			unlink(a->new_sealer); /* names a key no root does */
		goto out;
	}
	cli_note("root document version %llu: new snapshot key, the old one valid through "
		 "sequence %llu; new sealer key file %s",
		 (unsigned long long)r->version, (unsigned long long)through, a->new_sealer);
	err = store_open(url, &c->ro, &au, &s2);
	if (!err && cur.nsnaps)
		err = republish(s2, &cur, through);
	if (err < 0) {
		cli_error("the rotation is written, but the snapshot list and head under the new "
			  "key are not (%s): seal with %s to publish them",
			  strerror(-err), a->new_sealer);
		ret = cli_exit_for(err);
	}
out:
	store_close(s2);
	snaplist_clear(&cur);
	secmem_free(new_sk);
	return ret;
}

static int run_root(int argc, char **argv, const char *help, bool rotation)
{
	struct cli_ctx c;
	struct root_args a = {0};
	struct store *s = NULL;
	struct root r = {0};
	const char *url;
	int ret;

	opts_init(&c, "key");
	ret = parse(&c, &a, argc, argv);
	if (ret != EXIT_OK)
		return ret;
	if (c.help) {
		fputs(help, stdout);
		return EXIT_OK;
	}
	if (a.proposal) {
		if (argc != optind || a.prepare || a.apply || !a.nsigners)
			return opts_usage(&c, "--proposal FILE takes --sign KEY... only (no STORE: "
					      "an officer signs offline)");
		return proposal_sign(&a);
	}
	if (argc - optind != 1)
		return opts_usage(&c, "needs exactly one STORE");
	url = argv[optind];
	if (a.prepare && a.apply)
		return opts_usage(&c, "--prepare or --apply, not both");
	if (a.apply &&
	    (a.nofficers || a.threshold || a.timestamp || a.nsigners || a.has_valid_through))
		return opts_usage(&c, "--apply FILE takes the proposal as it was signed: no "
				      "--officer, --threshold, --timestamp-key, --sign or "
				      "--valid-through");
	if (rotation && (!a.new_sealer || (!a.has_valid_through && !a.apply)))
		return opts_usage(&c, "rotate-signing needs --new-sealer-key FILE and "
				      "--valid-through SEQ");
	if (!rotation && (a.new_sealer || a.has_valid_through))
		return opts_usage(&c, "key root takes no --new-sealer-key or --valid-through (see "
				      "'key rotate-signing')");
	if (!a.nsigners && !a.prepare && !a.apply)
		return opts_usage(&c, "needs the officers' signing key files (--sign), or "
				      "--prepare FILE for officers who sign apart");
	ret = cli_open_store(&c, url, false, &s);
	if (ret != EXIT_OK)
		return ret;
	if (rotation && !store_root(s)) {
		cli_error("store %s has no root document: make one first ('embassy key root')",
			  url);
		ret = EXIT_FAIL;
	} else if (!rotation && !store_root(s) && !store_can_seal(s) && !a.apply) {
		cli_error("the first root document of %s needs the sealer key (--sealer-key)", url);
		ret = EXIT_AUTH;
	} else if ((ret = a.apply ? proposal_for(s, a.apply, rotation, &r)
				  : build(&c, &a, s, &r)) == EXIT_OK) {
		if (rotation)
			ret = rotate(&c, &a, s, &r, url);
		else if (!a.apply && (ret = seal_and_sign(&a, s, &r)) != EXIT_OK)
			;
		else if (a.prepare) {
			if ((ret = proposal_write(a.prepare, &r, false)) == EXIT_OK)
				cli_note(
				    "proposal %s written (version %llu): each officer signs it "
				    "with 'embassy key root --proposal %s --sign KEY', then "
				    "'embassy key root STORE --apply %s'",
				    a.prepare, (unsigned long long)r.version, a.prepare, a.prepare);
		} else if ((ret = put(s, &r, url)) == EXIT_OK)
			cli_note("root document version %llu written: %u officer(s), threshold %u",
				 (unsigned long long)r.version, r.nofficers, r.threshold);
	}
	if (ret == EXIT_OK && !cli_quiet())
		printf("%llu\n", (unsigned long long)r.version);
	root_clear(&r);
	store_close(s);
	return ret;
}

int key_cmd_root(int argc, char **argv, const char *help)
{
	return run_root(argc, argv, help, false);
}

int key_cmd_rotate(int argc, char **argv, const char *help)
{
	return run_root(argc, argv, help, true);
}
