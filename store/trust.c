/* trust: rollback, freeze, key-substitution and store-substitution checks (see trust.h). */
#include "trust.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "log.h"
#include "trust_state.h"
#include "xdg.h"

struct state {
	uint64_t seq;
	uint64_t gen;	    /* highest snapshot-list generation seen (0: none) */
	char fpr[33];	    /* empty: none pinned */
	uint64_t root;	    /* highest root document version verified (0: none) */
	char root_hash[65]; /* BLAKE2b-256 of that version's body, hex */
};

/* Absolute (xdg.h), so that a daemon that changed to / keeps using the same directory. */
static char *state_dir(const struct trust_opts *o)
{
	const char *e = getenv("EMBASSY_STATE_DIR");
	char *p;

	if (o && o->state_dir)
		return xdg_absolute(o->state_dir);
	if (e && *e)
		return xdg_absolute(e);
	p = xdg_dir("XDG_STATE_HOME", ".local/state");
	/* no usable HOME: root's place, as before (root without HOME gets the system's, opts.c) */
	return p || errno != ENOENT ? p : strdup("/root/.local/state/embassy");
}

char *trust_state_dir(const struct trust_opts *o)
{
	return state_dir(o);
}

char *trust_state_path(const struct trust_opts *o, const char *sid)
{
	char *d = state_dir(o), *p = NULL;
	if (d && asprintf(&p, "%s/%s.json", d, sid) < 0)
		p = NULL;
	free(d);
	return p;
}

/* ---- a store's state: {"seq":N,"gen":G,"sign_fpr":"<32 hex>"} ---- */

static int st_parse(const json_t *j, struct state *st)
{
	const json_t *seq = json_object_get(j, "seq"), *f = json_object_get(j, "sign_fpr");
	const json_t *gen = json_object_get(j, "gen"), *root = json_object_get(j, "root");
	const json_t *rh = json_object_get(j, "root_hash");
	const char *fs = json_string_value(f), *rhs = json_string_value(rh);

	memset(st, 0, sizeof(*st));
	if ((seq && (!json_is_integer(seq) || json_integer_value(seq) < 0)) ||
	    (gen && (!json_is_integer(gen) || json_integer_value(gen) < 0)) ||
	    (f && (!fs || strlen(fs) != 32 || strspn(fs, "0123456789abcdef") != 32)) ||
	    (root && (!json_is_integer(root) || json_integer_value(root) < 1 || !rhs)) ||
	    (rh && (!root || !rhs || strlen(rhs) != 64 || strspn(rhs, "0123456789abcdef") != 64)))
		return -ENOTRECOVERABLE;
	st->seq = seq ? (uint64_t)json_integer_value(seq) : 0;
	st->gen = gen ? (uint64_t)json_integer_value(gen) : 0;
	if (fs)
		memcpy(st->fpr, fs, 33);
	if (root) {
		st->root = (uint64_t)json_integer_value(root);
		memcpy(st->root_hash, rhs, 65);
	}
	return 0;
}

/* Read name from the state directory into *out (NULL when there is none). */
static int read_named(const struct trust_opts *o, const char *name, json_t **out)
{
	struct tstate t;
	char *dir = state_dir(o);
	int ret = dir ? tstate_open(&t, dir, false) : -ENOMEM;

	*out = NULL;
	if (!ret)
		ret = tstate_read(&t, name, out);
	if (dir)
		tstate_close(&t);
	free(dir);
	return ret == -ENOENT ? 0 : ret;
}

static int st_load(const struct trust_opts *o, const char *sid, struct state *st)
{
	char name[64];
	json_t *j;
	int ret;

	memset(st, 0, sizeof(*st));
	snprintf(name, sizeof(name), "%s.json", sid);
	ret = read_named(o, name, &j);
	if (!ret && j)
		ret = st_parse(j, st);
	json_decref(j);
	return ret;
}

/* Read-modify-write of name under the lock: fn returns 1 to write *j back, 0 to leave it,
 * or -errno. *j is NULL when the file does not exist yet. */
static int update_named(const struct trust_opts *o, const char *name,
			int (*fn)(json_t **j, void *ctx), void *ctx)
{
	struct tstate t;
	char *dir = state_dir(o);
	json_t *j = NULL;
	int ret = dir ? tstate_open(&t, dir, true) : -ENOMEM;

	if (!ret)
		ret = tstate_lock(&t);
	if (!ret)
		ret = tstate_read(&t, name, &j);
	if (ret == -ENOENT)
		ret = 0;
	if (!ret)
		ret = fn(&j, ctx);
	if (ret == 1)
		ret = j ? tstate_write(&t, name, j) : -ENOMEM;
	json_decref(j);
	if (dir)
		tstate_close(&t);
	free(dir);
	return ret;
}

struct raise {
	uint64_t seq;	  /* raise the remembered sequence to at least this */
	uint64_t gen;	  /* and the snapshot-list generation */
	const char *fpr;  /* pin this key when none is pinned */
	bool pin_refused; /* out: another key was pinned meanwhile */
	char pinned[33];  /* out: that key */
	uint64_t root;	  /* raise the root document version to this (0: leave it) */
	const char *root_hash;
	bool reset;	   /* with a higher root: seq and gen start again from seq, gen */
	bool root_refused; /* out: a newer root was recorded meanwhile */
};

/* Only ever raise: a concurrent reader that saw less can never lower what another saw. */
static int raise_fn(json_t **j, void *ctx)
{
	struct raise *r = ctx;
	struct state st = {0};
	int ret = *j ? st_parse(*j, &st) : 0;
	bool change = false;

	if (ret)
		return ret;
	if (st.fpr[0] && r->fpr && strcmp(st.fpr, r->fpr)) {
		r->pin_refused = true;
		memcpy(r->pinned, st.fpr, 33);
		return 0;
	}
	if (!st.fpr[0] && r->fpr) {
		memcpy(st.fpr, r->fpr, 33);
		change = true;
	}
	if (r->root && r->root < st.root) {
		r->root_refused = true; /* another reader saw a newer version meanwhile */
		return 0;
	}
	if (r->root > st.root) {
		st.root = r->root;
		snprintf(st.root_hash, sizeof(st.root_hash), "%s", r->root_hash);
		if (r->reset) /* a new snapshot key: its sequence numbers start afresh */
			st.seq = st.gen = 0;
		change = true;
	}
	if (r->seq > st.seq) {
		st.seq = r->seq;
		change = true;
	}
	if (r->gen > st.gen) {
		st.gen = r->gen;
		change = true;
	}
	if (!change)
		return 0;
	json_decref(*j);
	*j = json_pack("{s:I s:I}", "seq", (json_int_t)st.seq, "gen", (json_int_t)st.gen);
	if (*j && st.fpr[0] && json_object_set_new(*j, "sign_fpr", json_string(st.fpr)))
		return -ENOMEM;
	if (*j && st.root &&
	    (json_object_set_new(*j, "root", json_integer((json_int_t)st.root)) ||
	     json_object_set_new(*j, "root_hash", json_string(st.root_hash))))
		return -ENOMEM;
	return 1;
}

static int st_raise(const struct trust_opts *o, const char *sid, struct raise *r)
{
	char name[64];
	int ret;
	snprintf(name, sizeof(name), "%s.json", sid);
	ret = update_named(o, name, raise_fn, r);
	if (ret < 0 && ret != -ENOTRECOVERABLE) {
		char *d = state_dir(o);
		log_warn("cannot record the verified state of store %s in %s: %s", sid,
			 d ? d : "the state directory", strerror(-ret));
		free(d);
	}
	return ret;
}

/* ---- the signing key ---- */

static int key_refused(const char *sid, const char *fpr, const char *pinned)
{
	log_err("store %s is now signed by key %s, but %s signed it before: refusing (a host "
		"substituting keys?)",
		sid, fpr, pinned);
	return -EBADMSG;
}

int trust_check_key(const struct trust_opts *o, const char *sid, const uint8_t pk[SIGN_PK_LEN],
		    bool anchored)
{
	struct state st;
	struct raise r = {0};
	char fpr[33];
	int ret;

	sign_fingerprint(pk, fpr);
	if (o && o->trust_fpr && strcmp(o->trust_fpr, fpr)) {
		log_err("store %s is signed by key %s, not the trusted %s", sid, fpr, o->trust_fpr);
		return -EBADMSG;
	}
	if (o && o->no_state)
		return 0;
	if ((ret = st_load(o, sid, &st)) < 0)
		return ret;
	if (st.fpr[0])
		return strcmp(st.fpr, fpr) ? key_refused(sid, fpr, st.fpr) : 0;
	/* first contact: pin it now, also when this reader only reads a snapshot by id */
	if (!anchored && !(o && o->trust_fpr))
		log_warn("first contact with store %s: trusting its signing key %s from now on "
			 "(trust on first use). Compare it with the fingerprint the sealer gave "
			 "you, or pin that beforehand ('embassy key pin', --trust)",
			 sid, fpr);
	r.fpr = fpr;
	ret = st_raise(o, sid, &r);
	if (r.pin_refused)
		return key_refused(sid, fpr, r.pinned);
	return ret == -ENOTRECOVERABLE ? ret : 0;
}

/* ---- the head pointer ---- */

/* A snapshot-list generation below the one seen before is a rollback even at the same
 * sequence: the host replays the list from before a forget (lifecycle/snaplist.h). */
static int check_gen(const struct trust_opts *o, const char *sid, const struct head *h,
		     uint64_t seen)
{
	uint64_t gen = h->has_list ? h->gen : 0;
	if (gen >= seen)
		return 0;
	if (o && o->allow_rollback) {
		log_warn("store %s: accepting snapshot list generation %llu below %llu "
			 "(--allow-rollback)",
			 sid, (unsigned long long)gen, (unsigned long long)seen);
		return 0;
	}
	log_err("store %s: head pointer names snapshot list generation %llu but %llu was seen "
		"before: the host is serving an older set of snapshots (rollback); "
		"--allow-rollback overrides",
		sid, (unsigned long long)gen, (unsigned long long)seen);
	return -ESTALE;
}

int trust_check_head(const struct trust_opts *o, const char *sid, const uint8_t pk[SIGN_PK_LEN],
		     const struct head *h)
{
	struct state st = {0};
	struct timespec now;
	struct raise r = {.seq = h->seq, .gen = h->has_list ? h->gen : 0};
	bool no_state = o && o->no_state;
	char fpr[33];
	uint64_t floor;
	int ret;

	if (!no_state && (ret = st_load(o, sid, &st)) < 0)
		return ret;
	floor = o && o->min_seq > st.seq ? o->min_seq : st.seq;
	if (h->seq < floor) {
		if (!o || !o->allow_rollback) {
			log_err(
			    "store %s: head pointer has sequence %llu but %llu was seen before: "
			    "the host is serving an older state (rollback); --allow-rollback "
			    "overrides",
			    sid, (unsigned long long)h->seq, (unsigned long long)floor);
			return -ESTALE;
		}
		log_warn("store %s: accepting head sequence %llu below %llu (--allow-rollback)",
			 sid, (unsigned long long)h->seq, (unsigned long long)floor);
	}
	if (check_gen(o, sid, h, st.gen))
		return -ESTALE;
	clock_gettime(CLOCK_REALTIME, &now);
	if (h->expires_ns < (int64_t)now.tv_sec * 1000000000 + now.tv_nsec) {
		if (o && o->require_fresh) {
			log_err(
			    "store %s: head pointer expired; the host may be freezing the store "
			    "(--require-fresh)",
			    sid);
			return -EKEYEXPIRED;
		}
		log_warn("store %s: head pointer EXPIRED — the sealer has not refreshed it; the "
			 "host may be hiding newer snapshots",
			 sid);
	}
	if (no_state || (h->seq <= st.seq && r.gen <= st.gen))
		return 0;
	sign_fingerprint(pk, fpr);
	r.fpr = fpr;
	ret = st_raise(o, sid, &r);
	if (r.pin_refused)
		return key_refused(sid, fpr, r.pinned);
	return ret == -ENOTRECOVERABLE ? ret : 0;
}

int trust_check_missing_head(const struct trust_opts *o, const char *sid)
{
	struct state st = {0};
	int ret;
	if (!(o && o->no_state) && (ret = st_load(o, sid, &st)) < 0)
		return ret;
	if (o && o->min_seq > st.seq)
		st.seq = o->min_seq; /* a fresh host told which sequence to expect */
	if (st.seq == 0)
		return -ENOENT;
	if (o && o->allow_rollback) {
		log_warn("store %s: head pointer missing although sequence %llu was seen "
			 "(--allow-rollback)",
			 sid, (unsigned long long)st.seq);
		return -ENOENT;
	}
	log_err("store %s: the head pointer is gone although sequence %llu was seen before: the "
		"host is hiding the store's state (rollback); --allow-rollback overrides",
		sid, (unsigned long long)st.seq);
	return -ESTALE;
}

int trust_remember(const struct trust_opts *o, const char *sid, const uint8_t pk[SIGN_PK_LEN],
		   uint64_t seq, uint64_t gen)
{
	char fpr[33];
	struct raise r = {.seq = seq, .gen = gen, .fpr = fpr};
	int ret;
	if (o && o->no_state)
		return 0;
	sign_fingerprint(pk, fpr);
	ret = st_raise(o, sid, &r);
	return r.pin_refused ? key_refused(sid, fpr, r.pinned) : ret;
}

int trust_root_get(const struct trust_opts *o, const char *sid, uint64_t *version,
		   char hash_hex[65])
{
	struct state st;
	int ret = o && o->no_state ? (memset(&st, 0, sizeof(st)), 0) : st_load(o, sid, &st);
	*version = st.root;
	memcpy(hash_hex, st.root_hash, 65);
	return ret;
}

int trust_root_advance(const struct trust_opts *o, const char *sid, const uint8_t pk[SIGN_PK_LEN],
		       uint64_t version, const char *hash_hex, bool reset)
{
	char fpr[33];
	struct raise r = {.fpr = fpr, .root = version, .root_hash = hash_hex, .reset = reset};
	int ret;
	if (o && o->no_state)
		return 0;
	sign_fingerprint(pk, fpr);
	ret = st_raise(o, sid, &r);
	if (r.pin_refused)
		return key_refused(sid, fpr, r.pinned);
	if (r.root_refused) {
		log_err("store %s: a newer root document than version %llu was recorded "
			"meanwhile: refusing the older one",
			sid, (unsigned long long)version);
		return -ESTALE;
	}
	return ret == -ENOTRECOVERABLE ? ret : 0;
}

static int nothing_fn(json_t **j, void *ctx)
{
	(void)j;
	(void)ctx;
	return 0;
}

int trust_known_seq(const struct trust_opts *o, const char *sid, uint64_t *seq)
{
	char name[64];
	struct state st;
	int ret = st_load(o, sid, &st);

	*seq = st.seq;
	if (ret)
		return ret;
	if (!st.seq)
		return -ENOENT;
	/* and it can be written: take the lock (which creates a file in the directory) */
	snprintf(name, sizeof(name), "%s.json", sid);
	return update_named(o, name, nothing_fn, NULL);
}

/* ---- addresses ---- */

char *trust_url_canonical(const char *url)
{
	const char *sep = strstr(url, "://"), *auth, *slash, *at;
	char *out = NULL, *real;
	size_t n;

	if (!sep || !strncmp(url, "file://", 7)) { /* a local path: the directory it names */
		const char *path = sep ? url + 7 : url;
		real = realpath(path, NULL);
		if (asprintf(&out, "file://%s", real ? real : path) < 0)
			out = NULL;
		free(real);
		return out;
	}
	auth = sep + 3;
	slash = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(slash - auth));
	while (at && memchr(at + 1, '@', (size_t)(slash - at - 1)))
		at = memchr(at + 1, '@', (size_t)(slash - at - 1));
	if (at)
		auth = at + 1; /* user:password@ is not part of which store this is */
	if (asprintf(&out, "%.*s://%.*s%s", (int)(sep - url), url, (int)(slash - auth), auth,
		     slash) < 0)
		return NULL;
	for (char *p = out; *p && p < out + (sep - url) + 3 + (slash - auth); p++)
		*p = (char)tolower((unsigned char)*p); /* scheme and host are case-blind */
	n = strlen(out);
	while (n > (size_t)(sep - url) + 3 && out[n - 1] == '/')
		out[--n] = 0;
	return out;
}

struct url_ctx {
	const struct trust_opts *o;
	const char *url, *sid;
};

static int url_fn(json_t **j, void *ctx)
{
	struct url_ctx *u = ctx;
	const char *was = json_string_value(json_object_get(*j, "store_id"));

	if (*j && !was)
		return -ENOTRECOVERABLE;
	if (was && !strcmp(was, u->sid))
		return 0;
	if (was && !(u->o && u->o->accept_new_store)) {
		log_warn("ANOTHER STORE at %s: it served store %s before, now it serves store "
			 "%s. Serving another store at a known address is how a host substitutes "
			 "a store: check the new store id with the sealer before trusting what it "
			 "shows. --accept-new-store records the new store for this address (and "
			 "this warning stops)",
			 u->url, was, u->sid);
		return 0;
	}
	if (was)
		log_warn("%s now serves store %s instead of %s (--accept-new-store): recorded",
			 u->url, u->sid, was);
	json_decref(*j);
	*j = json_pack("{s:s s:s}", "store_id", u->sid, "url", u->url);
	return 1;
}

int trust_check_url(const struct trust_opts *o, const char *url, const char *sid)
{
	struct url_ctx u = {.o = o, .sid = sid};
	uint8_t h[16];
	char name[64], hex[33], *canon;
	int ret;

	if (o && o->no_state)
		return 0;
	canon = trust_url_canonical(url);
	if (!canon)
		return -ENOMEM;
	crypto_generichash(h, sizeof(h), (const uint8_t *)canon, strlen(canon), NULL, 0);
	hex_encode(h, sizeof(h), hex);
	snprintf(name, sizeof(name), "url-%s.json", hex);
	u.url = canon;
	ret = update_named(o, name, url_fn, &u);
	if (ret < 0 && ret != -ENOTRECOVERABLE) {
		log_warn("cannot record which store %s serves: %s", canon, strerror(-ret));
		ret = 0;
	}
	free(canon);
	return ret;
}
