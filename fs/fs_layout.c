/* fs_layout: the synthetic top of the tree.
 *
 *   /latest -> snapshots/<time of the head's snapshot>
 *   /snapshots/<UTC time, e.g. 2026-11-27T08:19:47Z>/...   one directory per snapshot
 *
 * or, with --snapshot SPEC, that one snapshot's tree at the root. Inode numbers: 1 the root,
 * 2 snapshots/, 3 latest, 4 + i the root of snapshot i; tree entries are numbered after them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"
#include "hex.h"
#include "log.h"

enum { INO_SNAPSHOTS = 2, INO_LATEST = 3, INO_FIRST_SNAP = 4 };

static fuse_ino_t snap_ino(const struct fs *fs, size_t i)
{
	return fs->single ? FS_INO_ROOT : INO_FIRST_SNAP + i;
}

static void time_name(int64_t ns, char out[64])
{
	time_t t = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 64, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 64, "%lld", (long long)t);
}

/* Name every snapshot by its time; snapshots sealed within one second get "-<id>" added. */
static void name_snapshots(struct fs *fs)
{
	for (size_t i = 0; i < fs->nsnaps; i++)
		time_name(fs->snaps[i].sn.time_ns, fs->snaps[i].name);
	for (size_t i = 0; i < fs->nsnaps; i++) {
		bool dup = false;
		for (size_t j = 0; j < fs->nsnaps && !dup; j++)
			dup = j != i && fs->snaps[j].sn.time_ns / 1000000000 ==
					    fs->snaps[i].sn.time_ns / 1000000000;
		if (dup) {
			char id[2 * ID_LEN + 1];
			size_t len = strlen(fs->snaps[i].name);
			hex_encode(fs->snaps[i].sn.id, ID_LEN, id);
			snprintf(fs->snaps[i].name + len, sizeof(fs->snaps[i].name) - len, "-%.12s",
				 id);
		}
	}
}

/* Which snapshot `latest` means: the verified head pointer's. */
static int find_latest(struct fs *fs)
{
	struct head h;
	struct timespec now;
	int ret = store_read_head(fs->s, &h);

	if (ret < 0) {
		log_err("cannot read the head pointer: %s", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < fs->nsnaps; i++) {
		if (memcmp(fs->snaps[i].sn.id, h.snapshot, ID_LEN) != 0)
			continue;
		if (fs->snaps[i].sn.seq != h.seq) {
			log_err("the head pointer says sequence %llu, but the manifest of the "
				"snapshot it names says %llu: refusing (forged or mixed-up head)",
				(unsigned long long)h.seq, (unsigned long long)fs->snaps[i].sn.seq);
			return -EBADMSG;
		}
		fs->latest = i;
		clock_gettime(CLOCK_REALTIME, &now);
		if (h.expires_ns < (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec)
			log_warn("the head pointer has expired: the host may be serving a frozen "
				 "copy of the store; newer snapshots may exist");
		if (fs->snaps[fs->nsnaps - 1].sn.seq > h.seq)
			log_warn("a snapshot newer than the head pointer exists (sequence %llu)",
				 (unsigned long long)fs->snaps[fs->nsnaps - 1].sn.seq);
		return 0;
	}
	log_err("the head pointer names a snapshot whose manifest is missing or fails to verify");
	return -EBADMSG;
}

static int load_all(struct fs *fs)
{
	struct snapshot *v = NULL;
	size_t n = 0, bad = 0;
	int ret = store_list_snapshots(fs->s, &v, &n, &bad);

	if (ret < 0)
		return ret;
	if (bad)
		log_warn("%zu snapshot manifest(s) failed verification and are not shown", bad);
	if (n == 0) {
		free(v);
		return -ENOENT;
	}
	fs->snaps = calloc(n, sizeof(*fs->snaps));
	if (!fs->snaps) {
		store_free_snapshots(v, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		fs->snaps[i].sn = v[i]; /* the tags move with the struct */
	free(v);
	fs->nsnaps = n;
	return find_latest(fs);
}

int layout_load(struct fs *fs)
{
	int ret;

	fs->single = fs->o.snapshot != NULL;
	if (fs->single) {
		fs->snaps = calloc(1, sizeof(*fs->snaps));
		if (!fs->snaps)
			return -ENOMEM;
		ret = store_resolve_snapshot(fs->s, fs->o.snapshot, &fs->snaps[0].sn);
		if (ret < 0)
			return ret;
		fs->nsnaps = 1;
	} else if ((ret = load_all(fs)) < 0) {
		return ret;
	}
	name_snapshots(fs);
	snprintf(fs->latest_target, sizeof(fs->latest_target), "snapshots/%s",
		 fs->snaps[fs->latest].name);
	fs->total_bytes = fs->snaps[fs->latest].sn.bytes;
	fs->total_files = fs->snaps[fs->latest].sn.files + fs->snaps[fs->latest].sn.dirs;
	return 0;
}

fuse_ino_t layout_first_ino(const struct fs *fs)
{
	return fs->single ? FS_INO_ROOT + 1 : INO_FIRST_SNAP + fs->nsnaps;
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
	for (size_t i = 0; !ret && i < fs->nsnaps; i++)
		ret =
		    inode_add_pinned(fs, snap_ino(fs, i), INO_SNAPSHOTS, FS_SNAPROOT, (unsigned)i);
	return ret;
}

bool layout_is_synthetic_dir(const struct fs_node *n)
{
	return n->kind == FS_LAYOUT_ROOT || n->kind == FS_SNAPSHOTS;
}

size_t layout_count(const struct fs *fs, const struct fs_node *dir)
{
	return dir->kind == FS_LAYOUT_ROOT ? 2 : dir->kind == FS_SNAPSHOTS ? fs->nsnaps : 0;
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
		*name = fs->snaps[i].name;
		ino = snap_ino(fs, i);
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

int layout_lookup(struct fs *fs, const struct fs_node *dir, const char *name,
		  struct fs_node **child)
{
	const char *n;

	for (size_t i = 0; i < layout_count(fs, dir); i++)
		if (child_at(fs, dir, i, &n, child) == 0 && strcmp(n, name) == 0)
			return layout_child(fs, dir, i, &n, child);
	return -ENOENT;
}

void layout_attr(const struct fs *fs, const struct fs_node *n, struct stat *st)
{
	const struct snapshot *sn = &fs->snaps[n->kind == FS_SNAPROOT ? n->snap : fs->latest].sn;
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
	/* synthetic directories know their subdirectories; a snapshot's root does not */
	st->st_nlink = n->kind == FS_LAYOUT_ROOT ? 3
		       : n->kind == FS_SNAPSHOTS ? 2 + (nlink_t)fs->nsnaps
						 : 1;
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
		return &fs->snaps[dir->snap].sn.root;
	if (dir->kind == FS_ENTRY && dir->e->type == ENT_DIR)
		return &dir->e->subtree;
	return NULL;
}
