#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct state {
	uint64_t seq;
	char fpr[33]; /* empty: none remembered */
};

static char *state_dir(const struct trust_opts *o)
{
	const char *e = getenv("EMBASSY_STATE_DIR"), *x = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *p = NULL;
	if (o && o->state_dir)
		return strdup(o->state_dir);
	if (e && *e)
		return strdup(e);
	if (x && *x)
		return asprintf(&p, "%s/embassy", x) < 0 ? NULL : p;
	return asprintf(&p, "%s/.local/state/embassy", home ? home : "/root") < 0 ? NULL : p;
}

char *trust_state_path(const struct trust_opts *o, const char *sid)
{
	char *d = state_dir(o), *p = NULL;
	if (d && asprintf(&p, "%s/%s.json", d, sid) < 0)
		p = NULL;
	free(d);
	return p;
}

static int load(const struct trust_opts *o, const char *sid, struct state *st)
{
	char *path = trust_state_path(o, sid);
	json_t *j = path ? json_load_file(path, 0, NULL) : NULL;
	memset(st, 0, sizeof(*st));
	if (!path)
		return -ENOMEM;
	if (j) {
		json_t *seq = json_object_get(j, "seq");
		const char *f = json_string_value(json_object_get(j, "sign_fpr"));
		if (json_is_integer(seq) && json_integer_value(seq) >= 0)
			st->seq = (uint64_t)json_integer_value(seq);
		if (f && strlen(f) == 32)
			memcpy(st->fpr, f, 33);
	}
	json_decref(j);
	free(path);
	return 0;
}

static int mkdirs(char *d)
{
	for (char *p = d + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(d, 0700);
			*p = '/';
		}
	return mkdir(d, 0700) && errno != EEXIST ? -errno : 0;
}

static int save(const struct trust_opts *o, const char *sid, const struct state *st)
{
	char *d = state_dir(o), *path = trust_state_path(o, sid), *tmp = NULL;
	json_t *j = json_pack("{s:I s:s}", "seq", (json_int_t)st->seq, "sign_fpr", st->fpr);
	int ret = -ENOMEM;
	if (!d || !path || !j || asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		goto out;
	ret = mkdirs(d);
	if (!ret && json_dump_file(j, tmp, JSON_COMPACT))
		ret = -EIO;
	if (!ret && (chmod(tmp, 0600) || rename(tmp, path)))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		log_warn("cannot record the verified state of store %s in %s: %s", sid, d,
			 strerror(-ret));
	}
out:
	json_decref(j);
	free(tmp);
	free(path);
	free(d);
	return ret;
}

int trust_check_key(const struct trust_opts *o, const char *sid, const uint8_t pk[SIGN_PK_LEN])
{
	struct state st;
	char fpr[33];
	sign_fingerprint(pk, fpr);
	if (o && o->trust_fpr && strcmp(o->trust_fpr, fpr)) {
		log_err("store %s is signed by key %s, not the trusted %s", sid, fpr, o->trust_fpr);
		return -EBADMSG;
	}
	if (o && o->no_state)
		return 0;
	if (load(o, sid, &st))
		return -ENOMEM;
	if (st.fpr[0] && strcmp(st.fpr, fpr)) {
		log_err("store %s is now signed by key %s, but %s signed it before: refusing "
			"(a host substituting keys?)",
			sid, fpr, st.fpr);
		return -EBADMSG;
	}
	return 0;
}

int trust_check_head(const struct trust_opts *o, const char *sid, const uint8_t pk[SIGN_PK_LEN],
		     const struct head *h)
{
	struct state st = {0};
	struct timespec now;
	bool no_state = o && o->no_state;
	uint64_t floor;

	if (!no_state && load(o, sid, &st))
		return -ENOMEM;
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
	if (no_state || h->seq <= st.seq)
		return 0;
	st.seq = h->seq;
	sign_fingerprint(pk, st.fpr);
	save(o, sid, &st);
	return 0;
}

int trust_check_missing_head(const struct trust_opts *o, const char *sid)
{
	struct state st = {0};
	if (!(o && o->no_state) && load(o, sid, &st))
		return -ENOMEM;
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

void trust_remember(const struct trust_opts *o, const char *sid, const uint8_t pk[SIGN_PK_LEN],
		    uint64_t seq)
{
	struct state st;
	if ((o && o->no_state) || load(o, sid, &st) || seq <= st.seq)
		return;
	st.seq = seq;
	sign_fingerprint(pk, st.fpr);
	save(o, sid, &st);
}
