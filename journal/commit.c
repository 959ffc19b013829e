/* commit: freeze, build, publish with a compare-and-swap of the head (merging if it moved),
 * rebase; and finishing a commit a crash interrupted after the head named it (commit.h). */
#include "commit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commit_int.h"
#include "hex.h"
#include "log.h"

#define DEFAULT_VALID_FOR (7 * 24 * 3600)
#define PUBLISH_TRIES	  20 /* heads lost to other writers in a row before giving up */
#define CHAIN_MAX	  10000

int (*commit_failpoint)(const char *stage);

/* EMBASSY_COMMIT_HOLD=stage:FILE, for the tests: at that stage the commit creates FILE and
 * waits (up to a minute) until it is removed, while the mount goes on serving — so a test can
 * write "during the commit" at a known point. */
static void hold(const char *stage)
{
	const char *env = getenv("EMBASSY_COMMIT_HOLD"), *colon = env ? strchr(env, ':') : NULL;
	struct timespec ts = {0, 10 * 1000 * 1000};
	FILE *f;

	if (!colon || strlen(stage) != (size_t)(colon - env) || strncmp(env, stage, colon - env))
		return;
	if (!(f = fopen(colon + 1, "w")))
		return;
	fclose(f);
	log_warn("commit: EMBASSY_COMMIT_HOLD: held at %s until %s is removed", stage, colon + 1);
	for (int i = 0; i < 6000 && access(colon + 1, F_OK) == 0; i++)
		nanosleep(&ts, NULL);
}

/* A crash here, for the tests: -EINTR leaves everything as a killed process would.
 * EMBASSY_COMMIT_PAUSE=stage stops the daemon there once (SIGSTOP; SIGCONT resumes it), so
 * a test can make the server fail, or seal from home, at that very point of a commit, and
 * then see the next commit of the same mount succeed. */
static int failpoint(const char *stage)
{
	static int paused;
	const char *env = getenv("EMBASSY_COMMIT_CRASH");
	const char *pause = getenv("EMBASSY_COMMIT_PAUSE");

	if (env && !strcmp(env, stage)) {
		log_warn("commit: EMBASSY_COMMIT_CRASH=%s: killing myself", stage);
		raise(SIGKILL);
	}
	if (pause && !strcmp(pause, stage) && !__atomic_exchange_n(&paused, 1, __ATOMIC_SEQ_CST)) {
		log_warn("commit: EMBASSY_COMMIT_PAUSE=%s: stopped until SIGCONT", stage);
		raise(SIGSTOP);
	}
	hold(stage);
	return commit_failpoint && commit_failpoint(stage) ? -EINTR : 0;
}

void commit_result_clear(struct commit_result *r)
{
	for (size_t i = 0; r && i < r->nconflicts; i++) {
		free(r->conflicts[i].path);
		free(r->conflicts[i].copy);
	}
	if (r) {
		free(r->conflicts);
		memset(r, 0, sizeof(*r));
	}
}

void commit_info_clear(struct commit_info *i)
{
	commit_result_clear(&i->last);
	memset(i, 0, sizeof(*i));
}

static int64_t now_ns(void)
{
	return live_now();
}

/* ---- the journal's records of a commit ---- */

static int emit_marker(struct live *l, uint8_t type, uint64_t epoch, const uint8_t *id, bool sync)
{
	struct jop op = {.type = type, .epoch = epoch};
	int ret;

	if (id)
		memcpy(op.id, id, ID_LEN);
	pthread_mutex_lock(&l->lock);
	ret = jemit(l, &op);
	pthread_mutex_unlock(&l->lock);
	if (!ret && sync)
		ret = jlog_sync(l->j);
	return ret;
}

/* Under the lock: FREEZE, the plan, and the next epoch for what comes after. */
static int freeze(struct live *l, struct cplan **plan)
{
	struct jop op = {.type = JOP_FREEZE};
	int ret = 0;

	*plan = NULL;
	pthread_mutex_lock(&l->lock);
	if (live_pending(l)) {
		op.epoch = l->epoch;
		ret = jemit(l, &op);
		if (!ret)
			ret = cplan_freeze(l, plan);
		if (!ret)
			l->epoch++;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

/* ---- snapshots ---- */

static void fill_common(struct live *l, struct snapshot *sn, const struct commit_opts *o)
{
	sn->time_ns = now_ns();
	if (l->host)
		snprintf(sn->host, sizeof(sn->host), "%s", l->host);
	else if (gethostname(sn->host, sizeof(sn->host) - 1))
		snprintf(sn->host, sizeof(sn->host), "unknown");
	sn->tags = (char **)o->tags; /* borrowed: sn is never cleared */
	sn->ntags = o->ntags;
}

static struct head head_of(const struct snapshot *sn, const struct commit_opts *o)
{
	struct head h = {.seq = sn->seq, .time_ns = sn->time_ns};
	memcpy(h.snapshot, sn->id, ID_LEN);
	h.expires_ns =
	    sn->time_ns + (o->valid_for_s ? o->valid_for_s : DEFAULT_VALID_FOR) * 1000000000LL;
	return h;
}

/* Our changes on the base: a snapshot whose parent is the base. */
static int write_ours(struct live *l, struct cplan *p, const struct commit_opts *o,
		      const struct rec_ref *root, const struct head *h, bool have_head,
		      struct snapshot *sn)
{
	int ret;

	memset(sn, 0, sizeof(*sn));
	fill_common(l, sn, o);
	sn->seq = (have_head ? h->seq : 0) + 1;
	if (l->has_base && sn->seq <= l->base.seq)
		sn->seq = l->base.seq + 1;
	sn->has_parent = l->has_base;
	if (l->has_base)
		memcpy(sn->parent, l->base.id, ID_LEN);
	sn->root = *root;
	sn->has_root_meta = true;
	sn->root_meta = p->root_meta; /* borrowed */
	ret = cplan_counts(l, p, &sn->files, &sn->dirs, &sn->bytes);
	return ret ? ret : store_write_snapshot(l->s, sn);
}

/* The merge of ours into the head h: a snapshot whose parent is h and that names ours. */
static int write_merge(struct live *l, struct seal_session *ss, const struct commit_opts *o,
		       const struct snapshot *ours, const struct head *h, struct merge *m,
		       struct snapshot *sn)
{
	struct snapshot theirs;
	int ret = store_read_snapshot(l->s, h->snapshot, &theirs);

	if (ret)
		return ret;
	memset(sn, 0, sizeof(*sn));
	fill_common(l, sn, o);
	m->time_ns = sn->time_ns;
	ret = merge_trees(m, l->has_base ? &l->base.root : NULL, &theirs.root, &ours->root,
			  &sn->root);
	if (!ret)
		ret = seal_session_finish(ss);
	if (!ret) {
		sn->seq = (theirs.seq > ours->seq ? theirs.seq : ours->seq) + 1;
		sn->has_parent = true;
		memcpy(sn->parent, h->snapshot, ID_LEN);
		sn->has_merged = true;
		memcpy(sn->merged, ours->id, ID_LEN);
		/* the head's root attributes, unless only we changed them */
		sn->has_root_meta = theirs.has_root_meta || ours->has_root_meta;
		sn->root_meta = theirs.has_root_meta ? theirs.root_meta : ours->root_meta;
		if (ours->has_root_meta && l->has_base && l->base.has_root_meta &&
		    (ours->root_meta.mode != l->base.root_meta.mode ||
		     ours->root_meta.uid != l->base.root_meta.uid ||
		     ours->root_meta.gid != l->base.root_meta.gid))
			sn->root_meta = ours->root_meta;
		int64_t d = (int64_t)ours->files - (l->has_base ? (int64_t)l->base.files : 0);
		sn->files =
		    (uint64_t)((int64_t)theirs.files + d > 0 ? (int64_t)theirs.files + d : 0);
		d = (int64_t)ours->dirs - (l->has_base ? (int64_t)l->base.dirs : 0);
		sn->dirs = (uint64_t)((int64_t)theirs.dirs + d > 0 ? (int64_t)theirs.dirs + d : 0);
		d = (int64_t)ours->bytes - (l->has_base ? (int64_t)l->base.bytes : 0);
		sn->bytes =
		    (uint64_t)((int64_t)theirs.bytes + d > 0 ? (int64_t)theirs.bytes + d : 0);
		ret = store_write_snapshot(l->s, sn);
	}
	snapshot_clear(&theirs); /* sn borrowed its root_meta only until written */
	return ret;
}

/* Publish ours; if the head is no longer our base, merge into it (again and again while other
 * writers keep winning). *merged: the merge snapshot became the head. */
static int publish(struct live *l, struct seal_session *ss, const struct commit_opts *o,
		   const struct snapshot *ours, struct head h, bool have_head,
		   struct commit_result *res)
{
	struct merge m = {.s = l->s, .ss = ss, .host = ours->host};
	struct snapshot ms;
	int ret = -EEXIST;

	if (!have_head || (l->has_base && !memcmp(h.snapshot, l->base.id, ID_LEN))) {
		struct head mine = head_of(ours, o);
		ret = store_publish_head_claim(l->s, l->has_base ? l->base.id : NULL, &mine,
					       seal_session_claim, ss);
		if (!ret) {
			memcpy(res->snapshot, ours->id, ID_LEN);
			res->seq = ours->seq;
		}
	}
	for (int tries = 0; ret == -EEXIST && tries < PUBLISH_TRIES; tries++) {
		if ((ret = store_head_walk(l->s, &h)))
			break;
		for (size_t i = 0; i < m.nc; i++) { /* a new head: a new merge */
			free(m.c[i].path);
			free(m.c[i].copy);
		}
		m.nc = 0;
		ret = write_merge(l, ss, o, ours, &h, &m, &ms);
		if (!ret)
			ret = failpoint("merged");
		if (!ret) {
			struct head mh = head_of(&ms, o);
			ret =
			    store_publish_head_claim(l->s, h.snapshot, &mh, seal_session_claim, ss);
		}
		if (!ret) {
			memcpy(res->snapshot, ms.id, ID_LEN);
			res->seq = ms.seq;
			res->merged = true;
		}
	}
	if (ret == -EEXIST)
		ret = -EBUSY;
	res->conflicts = m.c;
	res->nconflicts = m.nc;
	if (ret) {
		commit_result_clear(res);
		memset(res, 0, sizeof(*res));
	}
	return ret;
}

/* ---- the rebase ---- */

/* Lock held, the tree on ours: ADOPT, then the tree moves onto the merge id (or stays, and
 * status says why: the next commit merges again, or retries this one if it finds nothing). */
static int adopt_step(struct live *l, struct adopt *a, uint64_t epoch, const uint8_t id[ID_LEN],
		      struct commit_result *res)
{
	struct jop op = {.type = JOP_ADOPT, .epoch = epoch};
	const char *why = a ? adopt_check(l, a) : "the merge could not be read from the store";
	int ret;

	memcpy(op.id, id, ID_LEN);
	if (!why && jemit(l, &op))
		why = "the journal could not record the move";
	if (why) {
		l->adopt_wait = true;
		memcpy(l->adopt_id, id, ID_LEN);
		l->adopt_why = why;
		res->adopt_why = why;
		log_warn("journal %s: the mount keeps showing its own tree, not the merge: %s",
			 l->jdir, why);
		return 0;
	}
	ret = adopt_apply(l, a);
	if (ret)
		log_err("journal %s: moving the tree onto the merge failed (%s); the next mount "
			"finishes it",
			l->jdir, strerror(-ret));
	res->adopted = ret == 0;
	return ret;
}

/* COMMITTED, the tree on ours (and on the merge, when the head had moved), and a checkpoint so
 * the journal can forget the epoch. */
static int rebase(struct live *l, struct cplan *p, const uint8_t ours_id[ID_LEN],
		  struct commit_result *res)
{
	struct snapshot sn;
	struct adopt *a = NULL;
	struct jop op = {.type = JOP_COMMITTED, .epoch = p->epoch};
	int ret = store_read_snapshot(l->s, ours_id, &sn);

	if (ret)
		return ret;
	if (res->merged && (ret = adopt_prepare(l->s, &sn.root, res->snapshot, &a)))
		log_warn("commit: the merge cannot be read back (%s)", strerror(-ret));
	memcpy(op.id, ours_id, ID_LEN);
	pthread_mutex_lock(&l->lock);
	ret = jemit(l, &op);
	if (!ret)
		ret = cplan_rebase(l, p, &sn);
	if (!ret && failpoint("rebased")) {
		pthread_mutex_unlock(&l->lock);
		snapshot_clear(&sn);
		adopt_free(a);
		return -EINTR;
	}
	if (!ret && res->merged)
		ret = adopt_step(l, a, p->epoch, res->snapshot, res);
	if (!ret && res->adopted && failpoint("adopted")) {
		pthread_mutex_unlock(&l->lock);
		snapshot_clear(&sn);
		adopt_free(a);
		return -EINTR;
	}
	if (!ret && live_checkpoint(l) < 0)
		log_warn("journal %s: the checkpoint after the commit failed; it is retried at the "
			 "next commit",
			 l->jdir);
	pthread_mutex_unlock(&l->lock);
	snapshot_clear(&sn); /* if not taken over */
	adopt_free(a);
	return ret;
}

/* Nothing to commit, but a merge the tree could not move onto before: try again now. */
static int adopt_retry(struct live *l, struct commit_result *res)
{
	struct adopt *a = NULL;
	struct rec_ref root;
	uint8_t id[ID_LEN];
	int ret;

	pthread_mutex_lock(&l->lock);
	bool wait = l->adopt_wait && l->has_base;
	root = l->base.root;
	memcpy(id, l->adopt_id, ID_LEN);
	pthread_mutex_unlock(&l->lock);
	if (!wait)
		return 0;
	ret = adopt_prepare(l->s, &root, id, &a); /* commit_lock held: the base stays */
	pthread_mutex_lock(&l->lock);
	ret = adopt_step(l, ret ? NULL : a, l->epoch, id, res);
	if (!ret && res->adopted && live_checkpoint(l) < 0)
		log_warn("journal %s: the checkpoint after moving onto the merge failed; it is "
			 "retried at the next commit",
			 l->jdir);
	pthread_mutex_unlock(&l->lock);
	adopt_free(a);
	return ret;
}

/* ---- a commit ---- */

static int build_and_publish(struct live *l, struct cplan *p, const struct commit_opts *o,
			     struct commit_result *res)
{
	struct seal_session *ss = NULL;
	struct snapshot ours;
	struct seal_result st;
	struct rec_ref root;
	struct head h;
	bool have_head;
	int ret = failpoint("frozen");

	if (!ret)
		ret = seal_session_new(l->s, &ss);
	if (!ret)
		ret = cplan_build(l, p, ss, &root);
	if (!ret)
		ret = seal_session_finish(ss);
	if (!ret)
		ret = failpoint("built");
	if (!ret) {
		ret = store_head_walk(l->s, &h); /* the rollback and freeze checks apply here */
		have_head = ret == 0;
		if (ret == -ENOENT)
			ret = 0;
	}
	if (!ret)
		ret = write_ours(l, p, o, &root, &h, have_head, &ours);
	if (!ret)
		ret = failpoint("manifest");
	/* recorded and synced before the head may name it: a crash from here on is finished by
	 * the next mount (commit_recover) */
	if (!ret)
		ret = emit_marker(l, JOP_INTENT, p->epoch, ours.id, true);
	if (!ret)
		ret = failpoint("intent");
	if (!ret)
		ret = publish(l, ss, o, &ours, h, have_head, res);
	if (!ret && (ret = failpoint("published")))
		commit_result_clear(res);
	if (!ret) {
		memcpy(res->ours, ours.id, ID_LEN);
		res->time_ns = ours.time_ns;
		res->entries = p->entries;
		seal_session_stats(ss, &st);
		res->chunks = st.chunks;
		res->chunks_new = st.chunks_new;
		res->bytes_new = st.bytes_new_stored;
		ret = rebase(l, p, ours.id, res);
		if (ret)
			log_err("commit: published, but the tree could not move onto it (%s); the "
				"next mount finishes that",
				strerror(-ret));
	}
	seal_session_free(ss);
	return ret;
}

static int do_commit(struct live *l, const struct commit_opts *o, struct commit_result *res)
{
	struct cplan *p = NULL;
	int ret;

	memset(res, 0, sizeof(*res));
	if (!store_can_seal(l->s))
		return -EPERM;
	ret = links_prepare(l);
	if (!ret)
		ret = freeze(l, &p);
	if (ret)
		return ret;
	if (!p) {
		res->nothing = true;
		ret = adopt_retry(l, res);
		res->no_base = !l->has_base;
		if (l->has_base) { /* what the embassy holds of this mount: its base */
			memcpy(res->snapshot, l->base.id, ID_LEN);
			res->seq = l->base.seq;
			res->time_ns = l->base.time_ns;
		}
		return ret;
	}
	ret = build_and_publish(l, p, o, res);
	pthread_mutex_lock(&l->lock);
	cplan_free(l, p);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int commit_run(struct live *l, const struct commit_opts *o, struct commit_result *res)
{
	int ret;

	pthread_mutex_lock(&l->commit_lock);
	pthread_mutex_lock(&l->lock);
	l->cinfo.running = true;
	pthread_mutex_unlock(&l->lock);
	ret = do_commit(l, o, res);
	pthread_mutex_lock(&l->lock);
	l->cinfo.running = false;
	if (ret) {
		l->cinfo.last_err = ret;
		l->cinfo.last_err_ns = now_ns();
	} else if (!res->nothing) {
		struct commit_result *k = &l->cinfo.last;
		commit_result_clear(k);
		*k = *res; /* status keeps its own copy of the conflicts */
		k->conflicts = calloc(res->nconflicts ? res->nconflicts : 1, sizeof(*k->conflicts));
		for (size_t i = 0; k->conflicts && i < res->nconflicts; i++) {
			k->conflicts[i] = res->conflicts[i];
			k->conflicts[i].path = strdup(res->conflicts[i].path);
			k->conflicts[i].copy =
			    res->conflicts[i].copy ? strdup(res->conflicts[i].copy) : NULL;
		}
		if (!k->conflicts)
			k->nconflicts = 0;
		l->cinfo.have_last = true;
		l->cinfo.last_err = 0;
	}
	live_wake_writers(l);
	pthread_mutex_unlock(&l->lock);
	pthread_mutex_unlock(&l->commit_lock);
	live_flush_inval(l); /* no lock held: the kernel may call back into the mount */
	return ret;
}

void commit_get_info(struct live *l, struct commit_info *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->cinfo;
	out->last.conflicts = calloc(l->cinfo.last.nconflicts + 1, sizeof(*out->last.conflicts));
	for (size_t i = 0; out->last.conflicts && i < l->cinfo.last.nconflicts; i++) {
		const struct commit_conflict *c = &l->cinfo.last.conflicts[i];
		out->last.conflicts[i] = *c;
		out->last.conflicts[i].path = strdup(c->path);
		out->last.conflicts[i].copy = c->copy ? strdup(c->copy) : NULL;
	}
	if (!out->last.conflicts)
		out->last.nconflicts = 0;
	pthread_mutex_unlock(&l->lock);
}

/* ---- replay and recovery ---- */

int commit_replay_freeze(struct live *l, uint64_t epoch)
{
	struct cplan *p;
	int ret;

	cplan_free(l, l->rplan);
	l->rplan = NULL;
	l->rintent = false;
	ret = cplan_freeze(l, &p); /* what that commit saw: a crash may need its rebase */
	if (!ret) {
		p->epoch = epoch;
		l->rplan = p;
	}
	return ret;
}

int commit_replay_intent(struct live *l, uint64_t epoch, const uint8_t id[ID_LEN])
{
	if (!l->rplan || l->rplan->epoch != epoch)
		return 0; /* an intent of a commit the journal no longer needs */
	l->rintent = true;
	memcpy(l->rintent_id, id, ID_LEN);
	return 0;
}

/* The tree moves onto snapshot id, the commit of plan p: its trees come from the store. */
static int rebase_loaded(struct live *l, struct cplan *p, const uint8_t id[ID_LEN])
{
	struct snapshot sn;
	int ret = store_read_snapshot(l->s, id, &sn);

	if (!ret)
		ret = cplan_load(l, p, &sn.root);
	if (!ret)
		ret = cplan_rebase(l, p, &sn);
	snapshot_clear(&sn);
	return ret;
}

int commit_replay_committed(struct live *l, uint64_t epoch, const uint8_t id[ID_LEN])
{
	int ret;

	if (!l->rplan || l->rplan->epoch != epoch) {
		log_err("journal %s: a commit record without its freeze", l->jdir);
		return -EBADMSG;
	}
	ret = rebase_loaded(l, l->rplan, id);
	cplan_free(l, l->rplan);
	l->rplan = NULL;
	l->rintent = false;
	return ret;
}

/* Did snapshot id become the head, or get merged into it (*merge: the merge that names it,
 * when *merged)? Walks back from the head. */
static int in_chain(struct live *l, const uint8_t id[ID_LEN], bool *yes, uint8_t merge[ID_LEN],
		    bool *merged_in)
{
	struct head h;
	struct snapshot sn;
	uint8_t cur[ID_LEN];
	int ret = store_head_walk(l->s, &h);

	*yes = false;
	*merged_in = false;
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	memcpy(cur, h.snapshot, ID_LEN);
	for (int i = 0; i < CHAIN_MAX; i++) {
		if (!memcmp(cur, id, ID_LEN) || (l->has_base && !memcmp(cur, l->base.id, ID_LEN)))
			break;
		if ((ret = store_read_snapshot(l->s, cur, &sn)))
			return ret;
		bool merged = sn.has_merged && !memcmp(sn.merged, id, ID_LEN);
		bool parent = sn.has_parent;
		if (merged)
			memcpy(merge, cur, ID_LEN);
		memcpy(cur, sn.parent, ID_LEN);
		snapshot_clear(&sn);
		if (merged || !parent) {
			*yes = *merged_in = merged;
			return 0;
		}
	}
	*yes = !memcmp(cur, id, ID_LEN);
	return 0;
}

/* The commit was merged into the head before the stop: the tree moves onto that merge too
 * (or stays on ours, as adopt_step decides). */
static int recover_adopt(struct live *l, const uint8_t merge[ID_LEN])
{
	struct commit_result res = {0};
	struct adopt *a = NULL;
	int ret = adopt_prepare(l->s, &l->base.root, merge, &a);

	ret = adopt_step(l, ret ? NULL : a, l->rplan->epoch, merge, &res);
	adopt_free(a);
	return ret;
}

int commit_recover(struct live *l)
{
	char hex[2 * ID_LEN + 1];
	uint8_t merge[ID_LEN];
	bool done = false, merged = false;
	int ret = 0;

	if (l->rintent) {
		hex_encode(l->rintent_id, ID_LEN, hex);
		ret = in_chain(l, l->rintent_id, &done, merge, &merged);
		if (!ret && done) {
			log_info(
			    "journal %s: the commit of snapshot %.16s was published before the "
			    "last stop; finishing it",
			    l->jdir, hex);
			struct jop op = {.type = JOP_COMMITTED, .epoch = l->rplan->epoch};
			memcpy(op.id, l->rintent_id, ID_LEN);
			ret = jemit(l, &op);
			if (!ret)
				ret = rebase_loaded(l, l->rplan, l->rintent_id);
			if (!ret && merged)
				ret = recover_adopt(l, merge);
			if (!ret)
				ret = live_checkpoint(l);
		} else if (!ret) {
			log_info("journal %s: an interrupted commit (snapshot %.16s) was not "
				 "published; its changes are still pending",
				 l->jdir, hex);
		}
	}
	commit_state_free(l);
	return ret;
}

void commit_state_free(struct live *l)
{
	cplan_free(l, l->rplan);
	l->rplan = NULL;
	l->rintent = false;
}
