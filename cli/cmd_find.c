/* find: which snapshots hold a path, and when it last changed. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "find.h"
#include "hex.h"
#include "pathmatch.h"

#define FIND_MAX_SNAPSHOTS 4096 /* --snapshot given this many times at most */

static const char help[] =
    "NAME\n"
    "  embassy find - find which snapshots hold a path, and when it last changed\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy find STORE PATTERN... [--snapshot SNAPSHOT]... [--all] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Searches the snapshots for entries whose path matches a PATTERN, and prints each\n"
    "  path found with the snapshots that hold it, oldest first: snapshot id, time (UTC),\n"
    "  type, size and what happened to it since the previous snapshot searched:\n"
    "\n"
    "      new        not in the previous snapshot (or in the first one searched)\n"
    "      modified   other contents (file data, symlink target, type)\n"
    "      metadata   the same contents, other mode, owner, mtime or xattrs\n"
    "      unchanged  the same\n"
    "\n"
    "  then the snapshot where it last changed and, when the newest snapshots no longer\n"
    "  hold it, the first one without it. PATTERNs follow the rules of seal --exclude: a\n"
    "  pattern without '/' matches a name at any depth ('*.db', 'cadastre'), one with '/'\n"
    "  is anchored at the snapshot root ('/land/*.csv'), '**' spans directories. A pattern\n"
    "  matches an entry by its own path, not by a directory above it. Only directories a\n"
    "  match can lie in are read; file data is never read.\n"
    "\n"
    "OPTIONS\n"
    "  --snapshot SNAPSHOT  search SNAPSHOT ('latest', an id or a unique prefix); repeatable\n"
    "  --all                search every snapshot in the store's signed list (the default)\n"
    "  --json               a JSON array, one match a line, sorted by path then snapshot:\n"
    "                       path, snapshot, seq, time, time_ns, type, size, mode, uid, gid,\n"
    "                       mtime, mtime_ns, change (new, modified, metadata, unchanged)\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT
    "  Nothing matching is exit 6 (the JSON array is then empty).\n"
    "\n"
    "EXAMPLES\n"
    "  embassy find /srv/embassy 'parcels*.csv'\n"
    "  embassy find /srv/embassy /land/cadastre.db --snapshot latest\n"
    "  embassy find /srv/embassy '*.db' --json |\n"
    "      jq -r '.[] | select(.change != \"unchanged\") | \"\\(.time) \\(.path)\"'\n";

struct match {
	char *path;
	size_t len;
	size_t snap; /* index into the snapshots searched */
	enum entry_type type;
	uint64_t size;
	uint32_t mode, uid, gid;
	int64_t mtime_ns;
	uint8_t content[32], meta[32]; /* digests: equal digests, equal contents / metadata */
};

struct finds {
	struct match *v;
	size_t n, cap;
	size_t snap; /* the snapshot being searched */
};

static void digest_entry(const struct tree_entry *e, struct match *m)
{
	crypto_generichash_state h;
	uint8_t t = (uint8_t)e->type;

	crypto_generichash_init(&h, NULL, 0, sizeof(m->content));
	crypto_generichash_update(&h, &t, 1);
	crypto_generichash_update(&h, (const uint8_t *)&e->size, sizeof(e->size));
	crypto_generichash_update(&h, (const uint8_t *)&e->rdev, sizeof(e->rdev));
	if (e->type == ENT_SYMLINK && e->target)
		crypto_generichash_update(&h, (const uint8_t *)e->target, strlen(e->target) + 1);
	if (e->type == ENT_DIR)
		crypto_generichash_update(&h, e->subtree.id, ID_LEN);
	for (size_t i = 0; e->type == ENT_FILE && i < e->nchunks; i++) {
		crypto_generichash_update(&h, (const uint8_t *)&e->chunks[i].foff, 8);
		crypto_generichash_update(&h, e->chunks[i].rec.id, ID_LEN);
	}
	crypto_generichash_final(&h, m->content, sizeof(m->content));
	crypto_generichash_init(&h, NULL, 0, sizeof(m->meta));
	crypto_generichash_update(&h, (const uint8_t *)&e->mode, sizeof(e->mode));
	crypto_generichash_update(&h, (const uint8_t *)&e->uid, sizeof(e->uid));
	crypto_generichash_update(&h, (const uint8_t *)&e->gid, sizeof(e->gid));
	crypto_generichash_update(&h, (const uint8_t *)&e->mtime_ns, sizeof(e->mtime_ns));
	for (size_t i = 0; i < e->nxattrs; i++) {
		crypto_generichash_update(&h, (const uint8_t *)e->xattrs[i].name,
					  strlen(e->xattrs[i].name) + 1);
		crypto_generichash_update(&h, (const uint8_t *)&e->xattrs[i].len, sizeof(size_t));
		crypto_generichash_update(&h, e->xattrs[i].value, e->xattrs[i].len);
	}
	crypto_generichash_final(&h, m->meta, sizeof(m->meta));
}

static int on_match(void *ctx, const char *path, size_t len, const struct tree_entry *e)
{
	struct finds *f = ctx;
	struct match *m;

	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct match *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	m = &f->v[f->n];
	memset(m, 0, sizeof(*m));
	if (!(m->path = malloc(len + 1)))
		return -ENOMEM;
	memcpy(m->path, path, len + 1);
	m->len = len;
	m->snap = f->snap;
	m->type = e->type;
	m->size = e->size;
	m->mode = e->mode;
	m->uid = e->uid;
	m->gid = e->gid;
	m->mtime_ns = e->mtime_ns;
	digest_entry(e, m);
	f->n++;
	return 0;
}

static int match_cmp(const void *a, const void *b)
{
	const struct match *x = a, *y = b;
	int c = tree_namecmp(x->path, x->len, y->path, y->len);

	return c ? c : (x->snap > y->snap) - (x->snap < y->snap);
}

/* What happened to v[i] since the previous snapshot searched (v sorted). */
static const char *change(const struct match *v, size_t i)
{
	const struct match *m = &v[i], *p = i ? &v[i - 1] : NULL;

	if (!p || p->len != m->len || memcmp(p->path, m->path, m->len) != 0 ||
	    p->snap + 1 != m->snap)
		return "new";
	if (memcmp(p->content, m->content, sizeof(m->content)) != 0)
		return "modified";
	if (memcmp(p->meta, m->meta, sizeof(m->meta)) != 0)
		return "metadata";
	return "unchanged";
}

static json_t *match_json(const struct match *v, size_t i, const struct snapshot *sn)
{
	const struct match *m = &v[i];
	char id[2 * ID_LEN + 1], t[48], mt[48];
	json_t *o = json_object();

	if (!o)
		return NULL;
	hex_encode(sn->id, ID_LEN, id);
	cli_format_time(sn->time_ns, false, t);
	cli_format_time(m->mtime_ns, true, mt);
	cli_json_set_name(o, "path", m->path, m->len);
	json_object_set_new(o, "snapshot", json_string(id));
	json_object_set_new(o, "seq", json_integer((json_int_t)sn->seq));
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "time_ns", json_integer(sn->time_ns));
	json_object_set_new(o, "type", json_string(cli_entry_type(m->type)));
	json_object_set_new(o, "size", json_integer((json_int_t)m->size));
	json_object_set_new(o, "mode", json_integer(m->mode));
	json_object_set_new(o, "uid", json_integer(m->uid));
	json_object_set_new(o, "gid", json_integer(m->gid));
	json_object_set_new(o, "mtime", json_string(mt));
	json_object_set_new(o, "mtime_ns", json_integer(m->mtime_ns));
	json_object_set_new(o, "change", json_string(change(v, i)));
	return o;
}

static int print_json(const struct finds *f, const struct snapshot *sv)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < f->n; i++)
		if (json_array_append_new(arr, match_json(f->v, i, &sv[f->v[i].snap])) < 0) {
			json_decref(arr);
			return -ENOMEM;
		}
	return cli_print_json_list(arr);
}

static void print_snap(const struct snapshot *sn, const char *what)
{
	char id[2 * ID_LEN + 1], t[48];

	hex_encode(sn->id, ID_LEN, id);
	cli_format_time(sn->time_ns, false, t);
	printf("%s %.12s (%s)\n", what, id, t);
}

/* One path's group: v[from..to). */
static void print_group(const struct match *v, size_t from, size_t to, const struct snapshot *sv,
			size_t nsv)
{
	size_t last = from;
	char id[2 * ID_LEN + 1], t[48];

	cli_print_name(stdout, v[from].path, v[from].len);
	putchar('\n');
	for (size_t i = from; i < to; i++) {
		const char *c = change(v, i);
		hex_encode(sv[v[i].snap].id, ID_LEN, id);
		cli_format_time(sv[v[i].snap].time_ns, false, t);
		printf("  %.12s  %s  %-7s  %12llu  %s\n", id, t, cli_entry_type(v[i].type),
		       (unsigned long long)v[i].size, c);
		if (strcmp(c, "unchanged") != 0)
			last = i;
	}
	print_snap(&sv[v[last].snap], "  last changed in");
	if (v[to - 1].snap + 1 < nsv)
		print_snap(&sv[v[to - 1].snap + 1], "  not in");
}

static void print_text(const struct finds *f, const struct snapshot *sv, size_t nsv)
{
	size_t from = 0, paths = 0;

	for (size_t i = 1; i <= f->n; i++)
		if (i == f->n ||
		    match_cmp(&(struct match){.path = f->v[from].path, .len = f->v[from].len},
			      &(struct match){.path = f->v[i].path, .len = f->v[i].len}) != 0) {
			print_group(f->v, from, i, sv, nsv);
			from = i;
			paths++;
		}
	if (!cli_quiet())
		printf("%zu path(s) found in %zu snapshot(s) searched\n", paths, nsv);
}

/* The snapshots to search, oldest first. */
static int select_snapshots(struct store *s, const char *url, const char **specs, size_t nspecs,
			    struct snapshot **out, size_t *n)
{
	size_t bad = 0;
	int err;

	if (!nspecs) {
		err = store_list_snapshots(s, out, n, &bad);
		if (err < 0) {
			cli_error("cannot list snapshots of store %s: %s", url, strerror(-err));
			return cli_exit_for(err);
		}
		if (bad)
			cli_warn("%zu snapshot(s) failed verification and are not searched (run "
				 "'embassy verify')",
				 bad);
		return EXIT_OK;
	}
	if (!(*out = calloc(nspecs, sizeof(**out))))
		return EXIT_FAIL;
	for (*n = 0; *n < nspecs; (*n)++)
		if ((err = store_resolve_snapshot(s, specs[*n], &(*out)[*n])) < 0)
			return cli_snapshot_error(url, specs[*n], err);
	return EXIT_OK;
}

static int snap_seq_cmp(const void *a, const void *b)
{
	const struct snapshot *x = a, *y = b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sort by seq and drop a snapshot named twice; returns how many are left. */
static size_t sort_unique(struct snapshot *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), snap_seq_cmp);
	for (size_t i = 0; i < n; i++)
		if (k && v[k - 1].seq == v[i].seq)
			snapshot_clear(&v[i]);
		else
			v[k++] = v[i];
	return k;
}

static int search(struct store *s, const char *url, const struct pathmatch *pm, const char **specs,
		  size_t nspecs, bool json)
{
	struct snapshot *sv = NULL;
	struct finds f = {0};
	size_t nsv = 0;
	int err = 0, ret = select_snapshots(s, url, specs, nspecs, &sv, &nsv);

	if (ret == EXIT_OK && nspecs)
		nsv = sort_unique(sv, nsv);
	for (size_t i = 0; ret == EXIT_OK && !err && i < nsv; i++) {
		f.snap = i;
		err = find_walk(s, &sv[i], pm, on_match, &f);
	}
	if (ret == EXIT_OK && err < 0) {
		cli_error("find in store %s stopped: %s", url, strerror(-err));
		ret = err == -ENAMETOOLONG ? EXIT_INTEGRITY : cli_exit_for(err);
	}
	if (ret == EXIT_OK) {
		if (f.n) /* no match: f.v is NULL, which qsort must not be given */
			qsort(f.v, f.n, sizeof(*f.v), match_cmp);
		if (json && print_json(&f, sv) < 0)
			ret = EXIT_FAIL;
		else if (!json)
			print_text(&f, sv, nsv);
		if (ret == EXIT_OK && !f.n) {
			cli_error("nothing in %zu snapshot(s) of store %s matches", nsv, url);
			ret = EXIT_NOTFOUND;
		}
	}
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i].path);
	free(f.v);
	store_free_snapshots(sv, nsv);
	return ret;
}

static int run(int argc, char **argv)
{
	static const char *specs[FIND_MAX_SNAPSHOTS];
	struct pathmatch *pm = NULL;
	struct cli_ctx c;
	struct store *s = NULL;
	size_t nspecs = 0;
	const char *url;
	bool json = false, all = false;
	int ret;
	const struct opts_spec options[] = {
	    OPTS_LIST(0, "snapshot", specs, &nspecs, FIND_MAX_SNAPSHOTS,
		      "--snapshot at most {max} times"),
	    OPTS_FLAG(0, "all", &all), OPTS_FLAG(0, "json", &json), OPTS_END};

	opts_init(&c, "find");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	if (all && nspecs)
		return opts_usage(&c, "--all and --snapshot exclude each other");
	if (!(url = opts_store_arg(&c, argc, argv, -1, "PATTERN...")))
		return EXIT_USAGE;
	if (optind >= argc)
		return opts_usage(&c, "needs STORE and at least one PATTERN");
	if (!(pm = pathmatch_new()))
		return EXIT_FAIL;
	for (int i = optind; i < argc; i++)
		if (pathmatch_add(pm, argv[i]) < 0) {
			pathmatch_free(pm);
			return opts_usage(&c, "'%s' is not a pattern", argv[i]);
		}
	ret = cli_open_store(&c, url, false, &s);
	if (ret == EXIT_OK)
		ret = search(s, url, pm, specs, nspecs, json);
	if (fflush(stdout) != 0)
		ret = EXIT_IO;
	store_close(s);
	pathmatch_free(pm);
	return ret;
}

const struct cli_cmd cli_cmd_find = {
    "find", "find which snapshots hold a path, and when it last changed", help, run};
