/* store_reloc: readers follow prune's relocation table (lifecycle/reloc.h, FORMAT 16.3.1).
 *
 * The table is loaded once per open store, the first time a tree is loaded: from the head,
 * the signed list it names, and the relocs/ object that list names. A store never repacked
 * has no table (one read of the head and the list, nothing else changes). Every ref of every
 * tree loaded, and the root ref of a snapshot, is pointed at where its record lies now;
 * everything downstream (the mount's reads, restore, verify, diff, copy, seal's reuse of
 * parent refs, commits) then sees current places only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "reloc.h"
#include "snaplist.h"
#include "store_int.h"

#define RELOAD_NS (30 * 1000000000LL) /* a table that failed to load: tried again after */

struct store_reloc {
	struct reloc r;
	bool complete;		   /* loaded (possibly empty: never repacked) */
	int64_t tried_ns;	   /* when a failed load was tried (CLOCK_MONOTONIC) */
	struct store_reloc *older; /* replaced ones stay until store_close: readers use them */
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int reloc_fetch(struct store *s, const uint8_t hash[ID_LEN], struct reloc *out)
{
	char key[80];
	uint8_t *data = NULL, h[ID_LEN];
	size_t n;
	int ret;

	reloc_key(hash, key);
	for (;;) {
		ret = remote_get(s->remote, key, 0, 0,
				 RELOC_HEAD + (size_t)RELOC_MAX_N * RELOC_ENTRY, &data, &n);
		if (!ret) {
			snaplist_hash(data, n, h);
			ret = memcmp(h, hash, ID_LEN) ? -EBADMSG : reloc_decode(data, n, out);
		}
		/* several embassies: bytes that fail come from one of them; ask another */
		if (ret != -EBADMSG || !remote_reject(s->remote, key))
			break;
		free(data);
		data = NULL;
	}
	if (!ret)
		remote_keep(s->remote, key, data, n); /* for offline mounts */
	if (ret == -ENOENT || ret == -EBADMSG || ret == -E2BIG || ret == -EFBIG) {
		log_err("%s: the relocation table the signed snapshot list names is %s: records "
			"prune moved cannot be found",
			key,
			ret == -ENOENT ? "missing (deleted or withheld by the host)"
				       : "tampered or malformed");
		ret = -EBADMSG;
	}
	free(data);
	return ret;
}

static int load(struct store *s, struct store_reloc *rl)
{
	struct head h;
	struct snaplist l = {0};
	int ret = store_read_head(s, &h);

	if (ret == -ENOENT || (!ret && !h.has_list))
		return 0; /* empty, or sealed before lists: never repacked */
	if (!ret)
		ret = snaplist_of_head(s, &h, &l);
	if (!ret && l.has_reloc)
		ret = reloc_fetch(s, l.reloc, &rl->r);
	snaplist_clear(&l);
	return ret;
}

/* The table in force. A load that fails (the head or list unreadable, the table missing or
 * bad: logged) leaves an empty table, tried again after RELOAD_NS: records that moved then
 * read as missing (EIO, exit 7), never as other bytes, and a reader is not slowed by a
 * reload per tree while the store misbehaves. */
static struct store_reloc *get(struct store *s, int *err)
{
	struct store_reloc *cur = __atomic_load_n(&s->reloc, __ATOMIC_ACQUIRE), *rl;
	int64_t now = 0;
	if (cur && (cur->complete || (now = mono_ns()) - cur->tried_ns < RELOAD_NS))
		return cur;
	rl = calloc(1, sizeof(*rl));
	if (!rl) {
		*err = -ENOMEM;
		return NULL;
	}
	rl->older = cur;
	if (load(s, rl)) {
		reloc_clear(&rl->r);
		rl->tried_ns = now ? now : mono_ns();
	} else {
		rl->complete = true;
	}
	if (!__atomic_compare_exchange_n(&s->reloc, &cur, rl, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		reloc_clear(&rl->r); /* another thread got there first: use its table */
		free(rl);
		rl = cur;
	}
	return rl;
}

int store_reloc_ref(struct store *s, struct rec_ref *ref)
{
	int err = 0;
	struct store_reloc *rl = get(s, &err);
	if (!rl)
		return err;
	reloc_apply(&rl->r, ref);
	return 0;
}

int store_reloc_tree(struct store *s, struct tree *t)
{
	int err = 0;
	struct store_reloc *rl = get(s, &err);
	if (!rl)
		return err;
	if (!rl->r.n)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		struct tree_entry *e = &t->e[i];
		if (e->type == ENT_DIR)
			reloc_apply(&rl->r, &e->subtree);
		for (size_t c = 0; c < e->nchunks; c++)
			reloc_apply(&rl->r, &e->chunks[c].rec);
	}
	return 0;
}

int store_reloc_set(struct store *s, const struct reloc *r)
{
	struct store_reloc *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)
		if (reloc_add(&rl->r, &r->v[i])) {
			store_reloc_free(rl);
			return -ENOMEM;
		}
	rl->complete = true;
	rl->older = __atomic_exchange_n(&s->reloc, rl, __ATOMIC_ACQ_REL);
	return 0;
}

void store_reloc_free(struct store_reloc *rl)
{
	while (rl) {
		struct store_reloc *older = rl->older;
		reloc_clear(&rl->r);
		free(rl);
		rl = older;
	}
}
