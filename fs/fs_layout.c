/* fs_layout: the synthetic top of the tree.
 *
 *   /latest -> snapshots/<time of the head's snapshot>
 *   /snapshots/<UTC time, e.g. 2026-11-27T08:19:47Z>/...   one directory per snapshot
 *
 * or, with --snapshot SPEC, that one snapshot's tree at the root.
 *
 * Mounting reads the head pointer and the manifest it names (snapshot 0), nothing more, so
 * the mount is ready in the same time whatever the store holds. The rest of the snapshot
 * list (a LIST and a manifest per snapshot) is read by a thread started once the mount is
 * up; snapshots/ waits for it only when someone lists it or looks up a name other than the
 * head's. If that listing fails (store unreachable), the next access to snapshots/ tries
 * again and reports the error.
 *
 * Naming: a snapshot is named by its seal time; one sealed in the same second as another
 * gets "-<12 hex of its id>" added — except snapshot 0, so its name (and `latest`) is known
 * before the list is.
 *
 * Inode numbers: 1 the root, 2 snapshots/, 3 latest, 4 snapshot 0's root; the other
 * snapshots' roots get numbers from the inode table when the list arrives. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"
#include "hex.h"
#include "log.h"

enum { INO_SNAPSHOTS = 2, INO_LATEST = 3, INO_SNAP0 = 4 };

static void time_name(int64_t ns, char out[64])
{
	time_t t = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 64, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 64, "%lld", (long long)t);
}

static int64_t second_of(int64_t ns)
{
	return ns / 1000000000 - (ns % 1000000000 < 0);
}

/* Name the others; those sharing a second with any snapshot (snapshot 0 included) get
 * their id added. Snapshot 0 keeps its plain name. */
static void name_others(const struct fs_snap *head, struct fs_snap *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t sec = second_of(v[i].sn.time_ns);
		bool dup = second_of(head->sn.time_ns) == sec;
		for (size_t j = 0; j < n && !dup; j++)
			dup = j != i && second_of(v[j].sn.time_ns) == sec;
		time_name(v[i].sn.time_ns, v[i].name);
		if (dup) {
			char id[2 * ID_LEN + 1];
			size_t len = strlen(v[i].name);
			hex_encode(v[i].sn.id, ID_LEN, id);
			snprintf(v[i].name + len, sizeof(v[i].name) - len, "-%.12s", id);
		}
	}
}

static bool no_xattrs_in(const struct snapshot *sn)
{
	return sn->has_xattr_count && sn->xattr_entries == 0;
}

/* Snapshot 0: the one the verified head pointer names. */
static int load_head(struct fs *fs)
{
	struct head h;
	struct timespec now;
	int ret = store_read_head(fs->s, &h);

	if (ret < 0) {
		log_err("cannot read the head pointer: %s", strerror(-ret));
		return ret;
	}
	ret = store_read_snapshot(fs->s, h.snapshot, &fs->head.sn);
	if (ret < 0) {
		log_err("the head pointer names a snapshot whose manifest is missing or fails to "
			"verify");
		return ret == -ENOENT ? -EBADMSG : ret;
	}
	if (fs->head.sn.seq != h.seq) {
		log_err("the head pointer says sequence %llu, but the manifest of the snapshot it "
			"names says %llu: refusing (forged or mixed-up head)",
			(unsigned long long)h.seq, (unsigned long long)fs->head.sn.seq);
		return -EBADMSG;
	}
	fs->head_known = true;
	fs->head_seq = h.seq;
	clock_gettime(CLOCK_REALTIME, &now);
	if (h.expires_ns < (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec)
		log_warn("the head pointer has expired: the host may be serving a frozen copy of "
			 "the store; newer snapshots may exist");
	return 0;
}

int layout_load(struct fs *fs)
{
	const struct snapshot *sn = &fs->head.sn;
	int ret;

	fs->single = fs->o.snapshot != NULL;
	if (fs->single)
		ret = store_resolve_snapshot(fs->s, fs->o.snapshot, &fs->head.sn);
	else
		ret = load_head(fs);
	if (ret < 0)
		return ret;
	time_name(sn->time_ns, fs->head.name);
	fs->head.ino = fs->single ? FS_INO_ROOT : INO_SNAP0;
	snprintf(fs->latest_target, sizeof(fs->latest_target), "snapshots/%s", fs->head.name);
	fs->total_bytes = sn->bytes;
	fs->total_files = sn->files + sn->dirs;
	/* with --snapshot the mount shows nothing else: the answer is known now */
	atomic_init(&fs->no_xattrs, fs->single && no_xattrs_in(sn));
	return 0;
}

fuse_ino_t layout_first_ino(const struct fs *fs)
{
	return fs->single ? FS_INO_ROOT + 1 : INO_SNAP0 + 1;
}

int layout_pin(struct fs *fs)
{
	int ret;

	if (fs->single)
		return inode_add_pinned(fs, FS_INO_ROOT, FS_INO_ROOT, FS_SNAPROOT, 0);
	ret = inode_add_pinned(fs, FS_INO_ROOT, FS_INO_ROOT, FS_LAYOUT_ROOT, 0);
	if (!ret)
		ret = inode_add_pinned(fs, INO_SNAPSHOTS, FS_INO_ROOT, FS_SNAPSHOTS, 0);
	if (!ret)
		ret = inode_add_pinned(fs, INO_LATEST, FS_INO_ROOT, FS_LATEST, 0);
	if (!ret)
		ret = inode_add_pinned(fs, INO_SNAP0, INO_SNAPSHOTS, FS_SNAPROOT, 0);
	return ret;
}

/* ---- the rest of the snapshot list ---- */

struct listing {
	struct fs_snap *v;
	size_t n;
	unsigned *order;
};

static int order_cmp(const void *a, const void *b, void *ctx)
{
	const struct snapshot *x = &fs_snap(ctx, *(const unsigned *)a)->sn;
	const struct snapshot *y = &fs_snap(ctx, *(const unsigned *)b)->sn;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

/* The store's snapshots other than snapshot 0, named, in seq order. */
static int list_read(struct fs *fs, struct listing *l)
{
	struct snapshot *v = NULL;
	size_t n = 0, bad = 0;
	int ret = store_list_snapshots(fs->s, &v, &n, &bad);

	if (ret < 0)
		return ret;
	if (bad)
		log_warn("%zu snapshot manifest(s) failed verification and are not shown", bad);
	if (n && v[n - 1].seq > fs->head.sn.seq)
		log_warn("a snapshot newer than the head pointer exists (sequence %llu)",
			 (unsigned long long)v[n - 1].seq);
	l->v = calloc(n ? n : 1, sizeof(*l->v));
	if (!l->v) {
		store_free_snapshots(v, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(v[i].id, fs->head.sn.id, ID_LEN))
			snapshot_clear(&v[i]); /* snapshot 0, read before mounting */
		else
			l->v[l->n++].sn = v[i]; /* the tags move with the struct */
	}
	free(v);
	name_others(&fs->head, l->v, l->n);
	return 0;
}

static void list_free(struct listing *l)
{
	for (size_t i = 0; l->v && i < l->n; i++)
		snapshot_clear(&l->v[i].sn);
	free(l->v);
	free(l->order);
}

/* Read the list and publish it. Called with list_lock held and list_state LIST_LOADING;
 * drops the lock while reading. */
static int list_load(struct fs *fs)
{
	struct listing l = {0};
	fuse_ino_t *inos = NULL;
	int ret;

	pthread_mutex_unlock(&fs->list_lock);
	ret = list_read(fs, &l);
	if (!ret) {
		inos = calloc(l.n ? l.n : 1, sizeof(*inos));
		l.order = calloc(l.n + 1, sizeof(*l.order));
		ret = inos && l.order ? 0 : -ENOMEM;
	}
	if (!ret)
		ret = inode_pin_snapshots(fs, INO_SNAPSHOTS, 1, l.n, inos);
	pthread_mutex_lock(&fs->list_lock);
	if (ret < 0) {
		list_free(&l);
		free(inos);
		return ret;
	}
	bool none = no_xattrs_in(&fs->head.sn);
	for (size_t i = 0; i < l.n; i++) {
		l.v[i].ino = inos[i];
		none = none && no_xattrs_in(&l.v[i].sn);
	}
	free(inos);
	fs->others = l.v;
	fs->nothers = l.n;
	for (unsigned i = 0; i <= l.n; i++)
		l.order[i] = i;
	qsort_r(l.order, l.n + 1, sizeof(*l.order), order_cmp, fs);
	fs->order = l.order;
	/* every snapshot the mount can ever show is known now */
	atomic_store(&fs->no_xattrs, none);
	return 0;
}

/* The list, read if it is not yet (or failed before), waited for if another thread reads
 * it. 0 or the listing's -errno. */
static int list_ensure(struct fs *fs)
{
	int ret;

	pthread_mutex_lock(&fs->list_lock);
	while (fs->list_state == LIST_LOADING)
		pthread_cond_wait(&fs->list_cond, &fs->list_lock);
	if (fs->list_state == LIST_NONE) {
		fs->list_state = LIST_LOADING;
		ret = list_load(fs);
		fs->list_state = ret < 0 ? LIST_NONE : LIST_DONE;
		fs->list_err = ret;
		pthread_cond_broadcast(&fs->list_cond);
	}
	ret = fs->list_state == LIST_DONE ? 0 : fs->list_err;
	pthread_mutex_unlock(&fs->list_lock);
	if (ret < 0)
		log_err("cannot list the store's snapshots: %s", strerror(-ret));
	return ret;
}

static bool list_done(struct fs *fs)
{
	bool done;

	pthread_mutex_lock(&fs->list_lock);
	done = fs->list_state == LIST_DONE;
	pthread_mutex_unlock(&fs->list_lock);
	return done;
}

static void *list_thread(void *arg)
{
	list_ensure(arg);
	return NULL;
}

void layout_start(struct fs *fs)
{
	sigset_t all, old;

	if (fs->single)
		return;
	/* signals (SIGTERM: unmount) belong to the FUSE loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	fs->list_thread_started = pthread_create(&fs->list_thread, NULL, list_thread, fs) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void layout_stop(struct fs *fs)
{
	if (fs->list_thread_started)
		pthread_join(fs->list_thread, NULL);
	fs->list_thread_started = false;
	for (size_t i = 0; i < fs->nothers; i++)
		snapshot_clear(&fs->others[i].sn);
	free(fs->others);
	free(fs->order);
	fs->others = NULL;
	fs->order = NULL;
	fs->nothers = 0;
	snapshot_clear(&fs->head.sn);
}

/* ---- synthetic directories ---- */

bool layout_is_synthetic_dir(const struct fs_node *n)
{
	return n->kind == FS_LAYOUT_ROOT || n->kind == FS_SNAPSHOTS;
}

int layout_open_dir(struct fs *fs, const struct fs_node *dir)
{
	return dir->kind == FS_SNAPSHOTS ? list_ensure(fs) : 0;
}

size_t layout_count(struct fs *fs, const struct fs_node *dir)
{
	if (dir->kind == FS_LAYOUT_ROOT)
		return 2;
	if (dir->kind != FS_SNAPSHOTS)
		return 0;
	return list_done(fs) ? 1 + fs->nothers : 0; /* opendir waited for the list */
}

/* Child i of a synthetic directory, without touching its lookup count. */
static int child_at(struct fs *fs, const struct fs_node *dir, size_t i, const char **name,
		    struct fs_node **child)
{
	fuse_ino_t ino;

	if (i >= layout_count(fs, dir))
		return -ENOENT;
	if (dir->kind == FS_LAYOUT_ROOT) { /* sorted, like every listing: latest, snapshots */
		*name = i == 0 ? "latest" : "snapshots";
		ino = i == 0 ? INO_LATEST : INO_SNAPSHOTS;
	} else {
		const struct fs_snap *sn = fs_snap(fs, fs->order[i]);
		*name = sn->name;
		ino = sn->ino;
	}
	*child = inode_get(fs, ino);
	return *child ? 0 : -EIO;
}

int layout_child(struct fs *fs, const struct fs_node *dir, size_t i, const char **name,
		 struct fs_node **child)
{
	int ret = child_at(fs, dir, i, name, child);

	if (!ret)
		inode_ref(fs, *child);
	return ret;
}

/* The node of a pinned inode, its lookup count raised. */
static int pinned(struct fs *fs, fuse_ino_t ino, struct fs_node **child)
{
	*child = inode_get(fs, ino);
	if (!*child)
		return -EIO;
	inode_ref(fs, *child);
	return 0;
}

int layout_lookup(struct fs *fs, const struct fs_node *dir, const char *name,
		  struct fs_node **child)
{
	int ret;

	if (dir->kind == FS_LAYOUT_ROOT) {
		if (!strcmp(name, "latest") || !strcmp(name, "snapshots"))
			return pinned(fs, !strcmp(name, "latest") ? INO_LATEST : INO_SNAPSHOTS,
				      child);
		return -ENOENT;
	}
	if (dir->kind != FS_SNAPSHOTS)
		return -ENOENT;
	if (!strcmp(name, fs->head.name)) /* latest/ never waits for the list */
		return pinned(fs, fs->head.ino, child);
	ret = list_ensure(fs);
	for (size_t i = 0; !ret && i < fs->nothers; i++)
		if (!strcmp(fs->others[i].name, name))
			return pinned(fs, fs->others[i].ino, child);
	return ret < 0 ? ret : -ENOENT;
}

void layout_attr(const struct fs *fs, const struct fs_node *n, struct stat *st)
{
	const struct snapshot *sn = &fs_snap(fs, n->kind == FS_SNAPROOT ? n->snap : 0)->sn;
	struct timespec t = {.tv_sec = (time_t)(sn->time_ns / 1000000000),
			     .tv_nsec = (long)(sn->time_ns % 1000000000)};

	if (t.tv_nsec < 0) {
		t.tv_nsec += 1000000000;
		t.tv_sec--;
	}
	st->st_mtim = st->st_atim = st->st_ctim = t;
	if (n->kind == FS_LATEST) {
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)strlen(fs->latest_target);
		return;
	}
	st->st_mode = S_IFDIR | 0755;
	st->st_size = 4096;
	/* the root knows its subdirectories; snapshots/ does not before its list is read, and
	 * a snapshot's root never does: 1 is "unknown" to find and fts */
	st->st_nlink = n->kind == FS_LAYOUT_ROOT ? 3 : 1;
}

const char *layout_readlink(const struct fs *fs, const struct fs_node *n)
{
	if (n->kind == FS_LATEST)
		return fs->latest_target;
	if (n->kind == FS_ENTRY && n->e->type == ENT_SYMLINK)
		return n->e->target ? n->e->target : "";
	return NULL;
}

const struct rec_ref *layout_dir_ref(const struct fs *fs, const struct fs_node *dir)
{
	if (dir->kind == FS_SNAPROOT)
		return &fs_snap(fs, dir->snap)->sn.root;
	if (dir->kind == FS_ENTRY && dir->e->type == ENT_DIR)
		return &dir->e->subtree;
	return NULL;
}
