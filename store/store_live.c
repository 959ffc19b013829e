/* store_live: the reader's view of which snapshots exist — exactly those the signed snapshot
 * list names (lifecycle/snaplist.h), each checked to be present, authentic and numbered as
 * listed. A host that deletes or withholds an older manifest is reported, never silently
 * hidden (docs/THREAT-MODEL.md, "Deleting objects"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "par.h"
#include "refjson.h"
#include "snaplist.h"
#include "store_int.h"

struct fetch {
	struct store *s;
	const uint8_t (*ids)[ID_LEN];
	struct snapshot *v;
	int *res;
};

static void fetch_one(void *ctx, size_t i)
{
	struct fetch *f = ctx;
	f->res[i] = store_read_snapshot(f->s, f->ids[i], &f->v[i]);
}

/* Read the manifests of ids in parallel; res[i] per id. */
static int fetch_all(struct store *s, const uint8_t (*ids)[ID_LEN], size_t n, struct snapshot **v,
		     int **res)
{
	*v = calloc(n ? n : 1, sizeof(**v));
	*res = calloc(n ? n : 1, sizeof(**res));
	if (!*v || !*res)
		return -ENOMEM;
	par_for(n, 16, fetch_one, &(struct fetch){.s = s, .ids = ids, .v = *v, .res = *res});
	for (size_t i = 0; i < n; i++)
		if ((*res)[i] && (*res)[i] != -EBADMSG && (*res)[i] != -ENOENT &&
		    (*res)[i] != -EKEYREVOKED)
			return (*res)[i]; /* the store is unreachable: no partial answer */
	return 0;
}

static int listed_problem(const struct snaplist *l, size_t i, int res, const struct snapshot *sn)
{
	char idh[2 * ID_LEN + 1];
	hex_encode(l->snaps[i].id, ID_LEN, idh);
	if (res == -ENOENT)
		log_err("snapshot %s (sequence %llu) is in the signed snapshot list but its "
			"manifest is missing: deleted or withheld by the host",
			idh, (unsigned long long)l->snaps[i].seq);
	else if (!res && sn->seq != l->snaps[i].seq)
		log_err("snapshot %s: the signed snapshot list says sequence %llu, its manifest "
			"%llu",
			idh, (unsigned long long)l->snaps[i].seq, (unsigned long long)sn->seq);
	else
		return res;
	return -EBADMSG;
}

struct unlisted {
	const struct snaplist *l;
	uint8_t (*ids)[ID_LEN];
	size_t n, cap;
};

static int collect_unlisted(void *ctx, const char *key)
{
	struct unlisted *u = ctx;
	uint8_t id[ID_LEN];
	const char *name = key + strlen("snapshots/");
	if (strncmp(key, "snapshots/", 10) || strlen(name) != 2 * ID_LEN ||
	    hex_decode(name, id, ID_LEN) || snaplist_find(u->l, id))
		return 0;
	if (u->n >= SNAPSHOT_NAMES_MAX)
		return 1; /* a flood: the rest is not examined (check_unlisted says so) */
	if (u->n == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 16;
		void *p = realloc(u->ids, cap * ID_LEN);
		if (!p)
			return -ENOMEM;
		u->ids = p;
		u->cap = cap;
	}
	memcpy(u->ids[u->n++], id, ID_LEN);
	return 0;
}

/* Manifests outside the list are not live snapshots, but one that does not verify is still a
 * forgery or damage in the store: count it, as before lists. */
static int check_unlisted(struct store *s, const struct snaplist *l, size_t *bad)
{
	struct unlisted u = {.l = l};
	struct snapshot *v = NULL;
	int *res = NULL;
	int ret = remote_list(s->remote, "snapshots/", collect_unlisted, &u);

	if (ret > 0) {
		/* the live snapshots come from the signed list: a flood of other names is damage
		 * to report, not a reason to hold and fetch all of it */
		log_warn("the store lists more than %d snapshot names outside the signed snapshot "
			 "list: only the first %d were checked (a broken or hostile host)",
			 SNAPSHOT_NAMES_MAX, SNAPSHOT_NAMES_MAX);
		(*bad)++;
		ret = 0;
	}
	if (ret >= 0)
		ret = fetch_all(s, (const uint8_t(*)[ID_LEN])u.ids, u.n, &v, &res);
	for (size_t i = 0; i < u.n && v && res; i++) {
		if (!ret && res[i] == -EBADMSG)
			(*bad)++;
		if (res[i] == 0) {
			char idh[2 * ID_LEN + 1];
			hex_encode(u.ids[i], ID_LEN, idh);
			log_info("snapshot %s is not in the signed snapshot list (forgotten, or "
				 "left by an interrupted seal): not listed",
				 idh);
			snapshot_clear(&v[i]);
		}
	}
	free(v);
	free(res);
	free(u.ids);
	return ret < 0 ? ret : 0;
}

static int list_live(struct store *s, const struct snaplist *l, struct snapshot **out, size_t *n,
		     size_t *bad)
{
	uint8_t(*ids)[ID_LEN] = calloc(l->nsnaps ? l->nsnaps : 1, ID_LEN);
	struct snapshot *v = NULL;
	int *res = NULL, ret = ids ? 0 : -ENOMEM;
	size_t nv = 0, nbad = 0;

	for (size_t i = 0; ids && i < l->nsnaps; i++)
		memcpy(ids[i], l->snaps[i].id, ID_LEN);
	if (!ret)
		ret = fetch_all(s, (const uint8_t(*)[ID_LEN])ids, l->nsnaps, &v, &res);
	for (size_t i = 0; v && res && i < l->nsnaps; i++) {
		int r = ret ? res[i] : listed_problem(l, i, res[i], &v[i]);
		if (r == 0 && !ret)
			v[nv++] = v[i]; /* in list order: by seq */
		else if (r == -EKEYREVOKED && !ret)
			store_note_epoch_hidden(); /* genuine, of a key epoch this key lacks */
		else {
			if (res[i] == 0)
				snapshot_clear(&v[i]);
			nbad++;
		}
	}
	if (!ret)
		ret = check_unlisted(s, l, &nbad);
	if (ret) {
		store_free_snapshots(v, nv);
		v = NULL;
		nv = 0;
	}
	*out = v ? v : calloc(1, sizeof(**out));
	*n = nv;
	if (bad)
		*bad = nbad;
	free(res);
	free(ids);
	return ret ? ret : (*out ? 0 : -ENOMEM);
}

int store_list_snapshots(struct store *s, struct snapshot **out, size_t *n, size_t *bad)
{
	struct snaplist l;
	struct head h;
	int ret = store_read_head(s, &h);

	if (ret == -ENOENT || (!ret && !h.has_list))
		return store_list_manifests(s, out, n, bad); /* empty, or sealed before lists */
	if (ret)
		return ret;
	ret = snaplist_of_head(s, &h, &l);
	if (!ret)
		ret = list_live(s, &l, out, n, bad);
	snaplist_clear(&l);
	return ret;
}

struct prefixed {
	const char *prefix;
	uint8_t id[ID_LEN];
	size_t n;
};

static int collect_prefixed(void *ctx, const char *key)
{
	struct prefixed *p = ctx;
	const char *name = key + strlen("snapshots/");
	if (strncmp(key, "snapshots/", 10) || strlen(name) != 2 * ID_LEN ||
	    strncmp(name, p->prefix, strlen(p->prefix)) || hex_decode(name, p->id, ID_LEN))
		return 0;
	p->n++;
	return 0;
}

/* Not a live snapshot. A manifest the host serves under that name is either forgotten (it
 * verifies: "not found", with a note) or a forgery (an integrity failure, as it always was). */
static int resolve_unlisted(struct store *s, const char *prefix)
{
	struct prefixed p = {.prefix = prefix};
	struct snapshot sn;
	int ret = remote_list(s->remote, "snapshots/", collect_prefixed, &p);

	if (ret < 0)
		return ret;
	if (p.n != 1)
		return -ENOENT;
	ret = store_read_snapshot(s, p.id, &sn);
	if (ret == -EBADMSG || (ret && ret != -ENOENT))
		return ret;
	if (!ret) {
		log_warn(
		    "snapshot %s… is not in the signed snapshot list: it was forgotten (or left "
		    "by an interrupted seal) and is not a live snapshot",
		    prefix);
		snapshot_clear(&sn);
	}
	return -ENOENT;
}

int store_live_resolve(struct store *s, const char *prefix, struct snapshot *out)
{
	struct snaplist l;
	struct head h;
	size_t plen = strlen(prefix), hits = 0, at = 0;
	int ret = store_read_head(s, &h);

	if (ret == -ENOENT || (!ret && !h.has_list))
		return -ENODATA;
	if (ret)
		return ret;
	ret = snaplist_of_head(s, &h, &l);
	for (size_t i = 0; !ret && i < l.nsnaps; i++) {
		char idh[2 * ID_LEN + 1];
		hex_encode(l.snaps[i].id, ID_LEN, idh);
		if (!strncmp(idh, prefix, plen)) {
			hits++;
			at = i;
		}
	}
	if (!ret && hits == 0)
		ret = resolve_unlisted(s, prefix);
	else if (!ret && hits > 1)
		ret = -ENOTUNIQ;
	if (!ret)
		ret = store_read_snapshot(s, l.snaps[at].id, out);
	if (ret == -ENOENT && hits) {
		listed_problem(&l, at, ret, NULL);
		ret = -EBADMSG; /* listed but gone: an integrity problem, not "no such snapshot" */
	}
	if (!ret && out->seq != l.snaps[at].seq) {
		listed_problem(&l, at, 0, out);
		snapshot_clear(out);
		ret = -EBADMSG;
	}
	snaplist_clear(&l);
	return ret;
}

int store_descriptor_check(const uint8_t *data, size_t n, uint8_t sid[STORE_ID_LEN],
			   uint8_t pk[SIGN_PK_LEN])
{
	json_t *root = NULL, *b = NULL;
	const char *text;
	size_t len;
	int ret = store_envelope_open(data, n, NULL, NULL, &root, &text, &len); /* a peek */

	if (ret)
		return ret;
	b = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	ret = refjson_get_hex(b, "store_id", sid, STORE_ID_LEN) ||
		      refjson_get_hex(b, "sign_pk", pk, SIGN_PK_LEN)
		  ? -EBADMSG
		  : 0;
	json_decref(b);
	json_decref(root);
	if (!ret) /* now with the key it names */
		ret = store_envelope_open(data, n, SIGCTX_DESCRIPTOR, pk, &root, &text, &len);
	if (!ret)
		json_decref(root);
	return ret;
}
