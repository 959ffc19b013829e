/* live: opening a writable tree (resuming its journal or starting one on a snapshot),
 * closing it, and what it reports about itself. */
#include "live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "commit_int.h"
#include "hex.h"
#include "live_int.h"
#include "log.h"

static void live_free(struct live *l)
{
	if (!l)
		return;
	commit_state_free(l);
	commit_info_clear(&l->cinfo);
	links_free(l);
	for (size_t i = 0; i < l->ninv; i++)
		free(l->inv[i].name);
	free(l->inv);
	live_free_nodes(l);
	if (l->has_base)
		snapshot_clear(&l->base);
	jlog_close(l->j);
	jbuf_free(&l->jb);
	free(l->jdir);
	free(l->host);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->commit_lock);
	pthread_mutex_destroy(&l->inval_lock);
	pthread_cond_destroy(&l->space_cond);
	free(l);
}

void live_set_commit_kick(struct live *l, void (*kick)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&l->lock);
	l->kick = kick;
	l->kick_ctx = ctx;
	pthread_mutex_unlock(&l->lock);
}

void live_wake_writers(struct live *l)
{
	l->commit_gen++;
	pthread_cond_broadcast(&l->space_cond);
}

bool live_pending(struct live *l)
{
	for (size_t i = 0; i < l->inos.cap; i++) {
		const struct lnode *n = l->inos.vals[i];
		if (l->inos.keys[i] && n->nlink && (n->chg_epoch || n->kids_epoch))
			return true;
	}
	return l->root->chg_epoch || l->root->kids_epoch;
}

/* A new generation on snapshot spec (latest: the head; an empty store: no base). */
static int start_fresh(struct live *l, const char *spec)
{
	int ret;

	live_free_nodes(l);
	if (l->has_base)
		snapshot_clear(&l->base);
	l->has_base = false;
	l->next_ino = LIVE_INO_ROOT;
	l->next_jid = 2;
	l->epoch = 1;
	l->pending_write_bytes = 0;
	ret = store_resolve_snapshot(l->s, spec ? spec : "latest", &l->base);
	if (ret == 0)
		l->has_base = true;
	else if (!(ret == -ENOENT && !spec))
		return ret;
	ret = live_set_root(l);
	if (!ret)
		ret = jlog_current(l->j) ? 0 : jlog_start(l->j);
	return ret ? ret : live_checkpoint(l);
}

static bool base_is(const struct live *l, const char *spec)
{
	char hex[2 * ID_LEN + 1];

	if (!spec || !strcmp(spec, "latest"))
		return true; /* resuming the journal's own base is what "latest" means here */
	if (!l->has_base)
		return false;
	hex_encode(l->base.id, ID_LEN, hex);
	return strncmp(hex, spec, strlen(spec)) == 0;
}

static int open_journal(struct live *l)
{
	const struct keys *k = store_keys(l->s);
	int ret = jlog_open(l->jdir, keys_store_id(k), keys_get(k, KEY_JOURNAL), &l->j);

	/* -EBUSY and -EXDEV are the caller's to report (the CLI says which mount holds it) */
	if (ret == -EBUSY || ret == -EXDEV)
		log_debug("journal %s: %s", l->jdir, strerror(-ret));
	else if (ret)
		log_err("journal %s: %s", l->jdir, strerror(-ret));
	return ret;
}

int live_open(struct store *s, const struct live_opts *o, struct live **out)
{
	struct live *l = calloc(1, sizeof(*l));
	bool found = false;
	int ret;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->commit_lock, NULL);
	pthread_mutex_init(&l->inval_lock, NULL);
	pthread_cond_init(&l->space_cond, NULL);
	l->s = s;
	l->o = *o;
	l->o.journal_max = o->journal_max ? o->journal_max : LIVE_JOURNAL_MAX_DEFAULT;
	l->next_ino = LIVE_INO_ROOT;
	l->jdir = strdup(o->journal_dir);
	l->host = o->host ? strdup(o->host) : NULL;
	if (!l->jdir || (o->host && !l->host)) {
		live_free(l);
		return -ENOMEM;
	}
	l->o.journal_dir = l->jdir;
	l->o.host = l->host;
	ret = open_journal(l);
	pthread_mutex_lock(&l->lock);
	if (!ret)
		ret = live_replay(l, &found);
	if (!ret && found)
		ret = jlog_start(l->j);
	if (!ret && found)
		ret = commit_recover(l); /* a commit the head names, interrupted before its end */
	if (!ret && found && live_pending(l)) {
		if (!base_is(l, o->snapshot)) {
			char hex[2 * ID_LEN + 1] = "(none)";
			if (l->has_base)
				hex_encode(l->base.id, ID_LEN, hex);
			log_err("journal %s holds changes not yet committed on snapshot %.16s; "
				"mount that snapshot (or no --snapshot) to resume them",
				l->jdir, hex);
			ret = -ESTALE;
		}
	} else if (!ret) {
		ret = start_fresh(l, o->snapshot);
	}
	pthread_mutex_unlock(&l->lock);
	if (ret) {
		live_free(l);
		return ret;
	}
	*out = l;
	return 0;
}

void live_ending(struct live *l)
{
	if (l && l->j)
		jlog_ending(l->j);
}

void live_close(struct live *l)
{
	if (!l)
		return;
	if (l->j && jlog_sync(l->j) < 0)
		log_err("journal %s: the last changes may not be on disk", l->jdir);
	live_free(l);
}

/* ---- reports ---- */

void live_get_status(struct live *l, struct live_status *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&l->lock);
	st->has_base = l->has_base;
	if (l->has_base) {
		memcpy(st->base, l->base.id, ID_LEN);
		st->base_seq = l->base.seq;
		st->base_time_ns = l->base.time_ns;
	}
	for (size_t i = 0; i < l->inos.cap; i++) {
		const struct lnode *n = l->inos.vals[i];
		if (!l->inos.keys[i] || !n->nlink || !(n->chg_epoch || n->kids_epoch))
			continue;
		st->pending_entries++;
		st->pending_bytes += extmap_bytes(&n->ext);
	}
	st->journal_bytes = jlog_bytes(l->j);
	st->journal_max = l->o.journal_max;
	st->adopt_why = l->adopt_wait ? l->adopt_why : NULL;
	if (l->adopt_wait)
		memcpy(st->adopt_id, l->adopt_id, ID_LEN);
	snprintf(st->journal_dir, sizeof(st->journal_dir), "%s", l->jdir);
	pthread_mutex_unlock(&l->lock);
}

int live_statfs(struct live *l, struct statvfs *st)
{
	struct statvfs disk;
	uint64_t used, room, bsize = 4096;

	if (statvfs(l->jdir, &disk) < 0)
		return -errno;
	pthread_mutex_lock(&l->lock);
	used = jlog_bytes(l->j);
	memset(st, 0, sizeof(*st));
	st->f_bsize = st->f_frsize = bsize;
	st->f_namemax = TREE_NAME_MAX;
	st->f_files = l->inos.n;
	st->f_ffree = st->f_favail = UINT32_MAX;
	pthread_mutex_unlock(&l->lock);
	/* what can still be written: the journal's room, and the disk's */
	room = used < l->o.journal_max ? l->o.journal_max - used : 0;
	if ((uint64_t)disk.f_bavail * disk.f_frsize < room)
		room = (uint64_t)disk.f_bavail * disk.f_frsize;
	st->f_blocks = (l->o.journal_max + bsize - 1) / bsize;
	st->f_bfree = st->f_bavail = room / bsize;
	return 0;
}
