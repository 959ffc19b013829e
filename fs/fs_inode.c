/* fs_inode: the inode table — stable inode numbers, lookup counts, directory listings.
 *
 * Numbering: when a directory's listing is first loaded it is given a block of inode numbers,
 * one per entry (entry i is base + i), and the block is remembered for the life of the mount
 * (dirbase: one word per directory ever listed). So a name keeps its number across forget and
 * lookup again, without remembering anything per file. Hard links (tree_entry.link_id, unique
 * within a snapshot) take the number of the first of their names looked up, remembered per
 * snapshot (links), so every name of one file shows the same inode.
 *
 * Lifetime: a node exists while the kernel holds lookups on it (nlookup > 0); forget() frees
 * it and drops its references on the listings it uses. Synthetic nodes (the layout) are
 * pinned for the life of the mount.
 *
 * Locking: fs.lock guards this table and the node fields marked fs.lock; listings are
 * decoded outside the lock (two threads may both decode one; the loser's copy is dropped). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "log.h"

/* ---- a small open-addressing map from non-zero u64 keys to u64 values ---- */

struct u64map {
	uint64_t *keys; /* 0: empty slot */
	uint64_t *vals;
	size_t cap, n; /* cap a power of two */
};

static size_t slot_of(const struct u64map *m, uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (m->cap - 1);
}

static bool map_get(const struct u64map *m, uint64_t k, uint64_t *v)
{
	if (!m->cap)
		return false;
	for (size_t i = slot_of(m, k);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == k) {
			*v = m->vals[i];
			return true;
		}
		if (!m->keys[i])
			return false;
	}
}

static int map_grow(struct u64map *m)
{
	struct u64map g = {.cap = m->cap ? m->cap * 2 : 1024};

	g.keys = calloc(g.cap, sizeof(*g.keys));
	g.vals = calloc(g.cap, sizeof(*g.vals));
	if (!g.keys || !g.vals) {
		free(g.keys);
		free(g.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = slot_of(&g, m->keys[i]);
		while (g.keys[j])
			j = (j + 1) & (g.cap - 1);
		g.keys[j] = m->keys[i];
		g.vals[j] = m->vals[i];
	}
	g.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = g;
	return 0;
}

/* Insert or overwrite. */
static int map_put(struct u64map *m, uint64_t k, uint64_t v)
{
	size_t i;

	if ((m->n + 1) * 10 > m->cap * 7 && map_grow(m) < 0)
		return -ENOMEM;
	for (i = slot_of(m, k); m->keys[i] && m->keys[i] != k; i = (i + 1) & (m->cap - 1))
		;
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
	return 0;
}

/* Remove by backward shifting, so lookups never need tombstones. */
static void map_del(struct u64map *m, uint64_t k)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return;
	for (i = slot_of(m, k); m->keys[i] != k; i = (i + 1) & mask)
		if (!m->keys[i])
			return;
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = slot_of(m, m->keys[j]);
		/* move j back into the hole at i unless its home lies in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->n--;
}

static void map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
}

/* ---- the table ---- */

struct fs_inodes {
	struct u64map nodes;   /* ino -> struct fs_node * (live nodes) */
	struct u64map dirbase; /* directory ino -> base of its block (kept for the mount) */
	struct u64map *links;  /* per snapshot: link_id -> ino (kept for the mount) */
	size_t nlinks;	       /* snapshots links has room for */
	fuse_ino_t next;       /* first unallocated inode number */
};

struct fs_tree *fs_tree_ref(struct fs_tree *t)
{
	atomic_fetch_add(&t->refs, 1);
	return t;
}

void fs_tree_unref(struct fs_tree *t)
{
	if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
		tree_free(t->t);
		free(t);
	}
}

int inode_table_new(struct fs *fs, fuse_ino_t first_dynamic)
{
	struct fs_inodes *in = calloc(1, sizeof(*in));

	if (!in)
		return -ENOMEM;
	in->links = calloc(1, sizeof(*in->links)); /* snapshot 0; the others when listed */
	if (!in->links) {
		free(in);
		return -ENOMEM;
	}
	in->nlinks = 1;
	in->next = first_dynamic;
	fs->inodes = in;
	return 0;
}

static void node_free(struct fs_node *n)
{
	struct prefetch_stream *ps = atomic_load(&n->stream);

	if (ps) {
		prefetch_stream_destroy(ps);
		free(ps);
	}
	fs_tree_unref(n->holder);
	fs_tree_unref(n->kids);
	free(n);
}

void inode_table_free(struct fs *fs)
{
	struct fs_inodes *in = fs->inodes;

	if (!in)
		return;
	for (size_t i = 0; i < in->nodes.cap; i++)
		if (in->nodes.keys[i])
			node_free((struct fs_node *)(uintptr_t)in->nodes.vals[i]);
	map_free(&in->nodes);
	map_free(&in->dirbase);
	for (size_t i = 0; i < in->nlinks; i++)
		map_free(&in->links[i]);
	free(in->links);
	free(in);
	fs->inodes = NULL;
}

int inode_add_pinned(struct fs *fs, fuse_ino_t ino, fuse_ino_t parent, enum fs_kind kind,
		     unsigned snap)
{
	struct fs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	*n = (struct fs_node){
	    .ino = ino, .parent = parent, .kind = kind, .snap = snap, .pinned = true, .nlookup = 1};
	if (map_put(&fs->inodes->nodes, ino, (uintptr_t)n) < 0) {
		free(n);
		return -ENOMEM;
	}
	return 0;
}

int inode_pin_snapshots(struct fs *fs, fuse_ino_t parent, unsigned first, size_t n, fuse_ino_t *ino)
{
	struct fs_inodes *in = fs->inodes;
	struct u64map *links;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	links = realloc(in->links, (first + n) * sizeof(*links));
	if (!links) {
		ret = -ENOMEM;
		goto out;
	}
	in->links = links;
	for (; in->nlinks < first + n; in->nlinks++)
		memset(&links[in->nlinks], 0, sizeof(*links));
	for (size_t i = 0; !ret && i < n; i++) {
		ino[i] = in->next++;
		ret = inode_add_pinned(fs, ino[i], parent, FS_SNAPROOT, first + (unsigned)i);
	}
out:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

struct prefetch_stream *inode_stream(struct fs_node *n)
{
	struct prefetch_stream *ps = atomic_load(&n->stream), *mine, *none = NULL;

	if (ps)
		return ps;
	mine = malloc(sizeof(*mine));
	if (!mine)
		return NULL;
	prefetch_stream_init(mine);
	if (atomic_compare_exchange_strong(&n->stream, &none, mine))
		return mine;
	prefetch_stream_destroy(mine); /* another reader's first read won */
	free(mine);
	return none;
}

struct fs_node *inode_get(struct fs *fs, fuse_ino_t ino)
{
	uint64_t v = 0;

	pthread_mutex_lock(&fs->lock);
	map_get(&fs->inodes->nodes, ino, &v);
	pthread_mutex_unlock(&fs->lock);
	return (struct fs_node *)(uintptr_t)v;
}

/* Publish a freshly decoded listing on dir, unless another thread was first. fs.lock held. */
static int install_kids(struct fs *fs, struct fs_node *dir, struct fs_tree *ft)
{
	struct fs_inodes *in = fs->inodes;
	uint64_t base;

	if (dir->kids)
		return -EEXIST;
	if (!map_get(&in->dirbase, dir->ino, &base)) {
		base = in->next;
		if (map_put(&in->dirbase, dir->ino, base) < 0)
			return -ENOMEM;
		in->next += ft->t->n ? ft->t->n : 1;
	}
	ft->base = base;
	dir->kids = ft;
	return 0;
}

static int load_kids(struct fs *fs, struct fs_node *dir, struct fs_tree **out)
{
	const struct rec_ref *ref = layout_dir_ref(fs, dir);
	struct fs_tree *ft = calloc(1, sizeof(*ft));
	int ret = ft ? 0 : -ENOMEM;

	if (!ret && !ref)
		ret = -ENOTDIR;
	if (!ret)
		ret = store_load_tree(fs->s, ref, &ft->t);
	if (ret < 0) {
		free(ft);
		return ret;
	}
	atomic_init(&ft->refs, 1);
	pthread_mutex_lock(&fs->lock);
	ret = install_kids(fs, dir, ft);
	*out = fs_tree_ref(dir->kids ? dir->kids : ft);
	pthread_mutex_unlock(&fs->lock);
	if (ret == 0)
		prefetch_dir_trees(fs->pf, ft->t);
	else
		fs_tree_unref(ft); /* lost the race (-EEXIST) or out of memory */
	return ret == -EEXIST ? 0 : ret;
}

int inode_kids(struct fs *fs, struct fs_node *dir, struct fs_tree **out)
{
	struct fs_tree *k;

	pthread_mutex_lock(&fs->lock);
	k = dir->kids ? fs_tree_ref(dir->kids) : NULL;
	pthread_mutex_unlock(&fs->lock);
	if (k) {
		*out = k;
		return 0;
	}
	*out = NULL;
	int ret = load_kids(fs, dir, out);
	if (ret < 0 && *out) {
		fs_tree_unref(*out);
		*out = NULL;
	}
	return ret;
}

/* The inode number entry i of a listing shows. fs.lock held. */
static int child_ino(struct fs *fs, const struct fs_node *dir, const struct fs_tree *kids, size_t i,
		     fuse_ino_t *ino)
{
	const struct tree_entry *e = &kids->t->e[i];
	struct u64map *links = &fs->inodes->links[dir->snap];
	uint64_t v;

	*ino = kids->base + i;
	if (!e->link_id || e->type == ENT_DIR)
		return 0;
	if (map_get(links, e->link_id, &v)) {
		*ino = v;
		return 0;
	}
	return map_put(links, e->link_id, *ino);
}

fuse_ino_t inode_child_ino(struct fs *fs, const struct fs_node *dir, const struct fs_tree *kids,
			   size_t i)
{
	fuse_ino_t ino;

	pthread_mutex_lock(&fs->lock);
	if (child_ino(fs, dir, kids, i, &ino) < 0)
		ino = kids->base + i; /* out of memory: a number, if not the shared one */
	pthread_mutex_unlock(&fs->lock);
	return ino;
}

int inode_child(struct fs *fs, struct fs_node *dir, struct fs_tree *kids, size_t i,
		struct fs_node **out)
{
	struct fs_node *n = NULL;
	fuse_ino_t ino;
	uint64_t v;
	int ret;

	pthread_mutex_lock(&fs->lock);
	ret = child_ino(fs, dir, kids, i, &ino);
	if (ret == 0 && map_get(&fs->inodes->nodes, ino, &v)) {
		n = (struct fs_node *)(uintptr_t)v;
		n->nlookup++;
	} else if (ret == 0) {
		n = calloc(1, sizeof(*n));
		ret = n ? 0 : -ENOMEM;
		if (n) {
			*n = (struct fs_node){.ino = ino,
					      .parent = dir->ino,
					      .kind = FS_ENTRY,
					      .snap = dir->snap,
					      .holder = fs_tree_ref(kids),
					      .e = &kids->t->e[i],
					      .nlookup = 1};
			ret = map_put(&fs->inodes->nodes, ino, (uintptr_t)n);
		}
		if (ret < 0 && n) {
			node_free(n);
			n = NULL;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	*out = n;
	return ret;
}

void inode_ref(struct fs *fs, struct fs_node *n)
{
	pthread_mutex_lock(&fs->lock);
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);
}

void inode_forget(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_node *n = NULL;
	uint64_t v;

	pthread_mutex_lock(&fs->lock);
	if (map_get(&fs->inodes->nodes, ino, &v)) {
		n = (struct fs_node *)(uintptr_t)v;
		n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
		if (n->nlookup == 0 && !n->pinned)
			map_del(&fs->inodes->nodes, ino);
		else
			n = NULL;
	}
	pthread_mutex_unlock(&fs->lock);
	if (n)
		node_free(n); /* nobody else can see it: the kernel forgot it */
}

mode_t inode_type_bits(enum entry_type t)
{
	return tree_type_mode(t);
}

static struct timespec ns_to_ts(int64_t ns)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;

	if (rem < 0) { /* before 1970: tv_nsec must stay in [0, 1e9) */
		rem += 1000000000;
		sec--;
	}
	return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)rem};
}

static void entry_attr(const struct tree_entry *e, struct stat *st)
{
	uint64_t alloc = 0;

	st->st_mode = inode_type_bits(e->type) | (e->mode & 07777);
	/* directories: 1 means "unknown" to find/fts, which then never skip a subdirectory;
	 * the true count would need every subdirectory's listing */
	st->st_nlink = e->type == ENT_DIR ? 1 : e->nlink ? e->nlink : 1;
	st->st_uid = e->uid;
	st->st_gid = e->gid;
	st->st_size = e->type == ENT_DIR ? 4096 : (off_t)e->size;
	if (e->type == ENT_CHR || e->type == ENT_BLK)
		st->st_rdev = (dev_t)e->rdev;
	for (size_t i = 0; i < e->nchunks; i++)
		alloc += e->chunks[i].rec.plen; /* holes are not allocated */
	st->st_blocks = (blkcnt_t)((alloc + 511) / 512);
	st->st_mtim = st->st_atim = st->st_ctim = ns_to_ts(e->mtime_ns);
}

const struct tree_entry *inode_entry(const struct fs *fs, const struct fs_node *n)
{
	if (n->kind == FS_ENTRY)
		return n->e;
	if (n->kind == FS_SNAPROOT && fs_snap(fs, n->snap)->sn.has_root_meta)
		return &fs_snap(fs, n->snap)->sn.root_meta;
	return NULL;
}

void inode_attr(const struct fs *fs, const struct fs_node *n, struct stat *st)
{
	const struct tree_entry *e = inode_entry(fs, n);

	memset(st, 0, sizeof(*st));
	if (e)
		entry_attr(e, st);
	else
		layout_attr(fs, n, st);
	st->st_ino = n->ino;
	st->st_blksize = FS_MAX_READ; /* cp and friends size their buffers by it */
	fs_override_attr(&fs->o, st);
}

void fs_override_attr(const struct fs_opts *o, struct stat *st)
{
	if (o->set_uid)
		st->st_uid = o->uid;
	if (o->set_gid)
		st->st_gid = o->gid;
	if (o->set_umask && !S_ISLNK(st->st_mode)) {
		/* as vfat and rclone: the umask decides; execute bits only where there were any */
		mode_t base = S_ISDIR(st->st_mode) || (st->st_mode & 0111) ? 0777 : 0666;

		st->st_mode = (st->st_mode & S_IFMT) | (base & ~(mode_t)o->umask);
	}
}
