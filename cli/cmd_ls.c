/* ls and cat: browse a snapshot without restoring it. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"

#define CAT_PIECE    (1u << 20)
#define PATH_MAX_LEN (1u << 16) /* deep trees: 60 levels of 255-byte names fit */

static const char ls_help[] =
    "NAME\n"
    "  embassy ls - list the contents of a snapshot\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy ls STORE SNAPSHOT[:PATH] [-l] [-R] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Lists the directory PATH (default: the snapshot's root) of SNAPSHOT, or the entry\n"
    "  PATH itself when it is not a directory. SNAPSHOT is 'latest', a full snapshot id or\n"
    "  a unique prefix of one. Only the directory records needed are fetched and verified.\n"
    "\n"
    "  Names are printed like 'ls -b': bytes that are not printable UTF-8 appear as C\n"
    "  escapes (\\n, \\t, \\377), and a space or backslash is preceded by a backslash, so\n"
    "  every name is one line and nothing raw reaches the terminal. --json gives the\n"
    "  exact bytes.\n"
    "\n"
    "OPTIONS\n"
    "  -l         long format: mode, links, uid, gid, size (or major, minor), mtime (UTC),\n"
    "             name, and '-> target' for symlinks\n"
    "  -R         recurse: every entry below PATH, printed as its path relative to PATH\n"
    "  --json     a JSON array, one entry a line: path, name, type (file, dir, symlink, fifo,\n"
    "             chr, blk, socket), mode (number), uid, gid, size, nlink, mtime_ns, mtime,\n"
    "             target, rdev, xattrs (names). A name or path that is not valid UTF-8\n"
    "             is given escaped, with its exact bytes in name_hex / path_hex.\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy ls /srv/embassy latest --key-file officer1.key\n"
    "  embassy ls /srv/embassy 3fa9c2:cadastre -l\n"
    "  embassy ls /srv/embassy latest -R --json | jq -r '.[].path'\n";

static const char cat_help[] =
    "NAME\n"
    "  embassy cat - write files of a snapshot to standard output\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy cat STORE SNAPSHOT:PATH...\n"
    "\n"
    "DESCRIPTION\n"
    "  Streams each regular file PATH of SNAPSHOT to standard output, in order. Every\n"
    "  record is verified before a byte of it is written; on a damaged or missing record\n"
    "  cat stops with an error naming the file and offset (output already written stays\n"
    "  written, so check the exit status). Holes read as zeros.\n"
    "\n"
    "OPTIONS\n"
    "  None besides the common ones below.\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy cat /srv/embassy latest:population/register.csv | head\n"
    "  embassy cat /srv/embassy latest:land/cadastre.db > cadastre.db\n";

struct ls_ctx {
	struct store *s;
	const char *snap;
	bool lng, recursive, json;
	json_t *arr;
	char *path;	/* PATH_MAX_LEN scratch: the relative path being printed */
	int ret;	/* first failure's exit code */
	unsigned depth; /* -R: directories entered; a hostile tree must not exhaust the stack */
};

static void mode_string(const struct tree_entry *e, char out[11])
{
	static const char types[] = "?-dlpcbs";
	uint32_t m = e->mode;

	out[0] = (unsigned)e->type < sizeof(types) - 1 ? types[e->type] : '?';
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400u >> i)) ? "rwxrwxrwx"[i] : '-';
	if (m & 04000)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (m & 02000)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (m & 01000)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = '\0';
}

static void print_long(const struct tree_entry *e)
{
	char mode[11], t[48], size[48];

	mode_string(e, mode);
	cli_format_time(e->mtime_ns, false, t);
	t[strlen(t) - 1] = '\0'; /* drop the Z: the header of --help says UTC */
	if (e->type == ENT_CHR || e->type == ENT_BLK)
		snprintf(size, sizeof(size), "%u, %u", major(e->rdev), minor(e->rdev));
	else
		snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
	printf("%s %3u %5u %5u %12s %s ", mode, e->nlink ? e->nlink : 1, e->uid, e->gid, size, t);
}

/* Set obj[key] to the string, or to its escaped form plus key_hex when not UTF-8. */
static void json_set_bytes(json_t *o, const char *key, const char *s, size_t len)
{
	char hexkey[32];
	char *buf = NULL, *hex;
	size_t size = 0;
	FILE *f;

	if (cli_utf8_ok(s, len)) {
		json_object_set_new(o, key, json_stringn(s, len));
		return;
	}
	f = open_memstream(&buf, &size);
	if (f) {
		cli_print_name(f, s, len);
		fclose(f);
		json_object_set_new(o, key, json_stringn(buf, size));
	}
	free(buf);
	hex = malloc(2 * len + 1);
	if (hex) {
		hex_encode((const uint8_t *)s, len, hex);
		snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
		json_object_set_new(o, hexkey, json_string(hex));
	}
	free(hex);
}

static json_t *entry_json(const struct tree_entry *e, const char *path, size_t pathlen)
{
	json_t *o = json_object(), *xa = json_array();
	char t[48];

	if (!o || !xa) {
		json_decref(o);
		json_decref(xa);
		return NULL;
	}
	cli_format_time(e->mtime_ns, true, t);
	json_set_bytes(o, "path", path, pathlen);
	json_set_bytes(o, "name", e->name, e->namelen);
	json_object_set_new(o, "type", json_string(cli_entry_type(e->type)));
	json_object_set_new(o, "mode", json_integer(e->mode));
	json_object_set_new(o, "uid", json_integer(e->uid));
	json_object_set_new(o, "gid", json_integer(e->gid));
	json_object_set_new(o, "size", json_integer((json_int_t)e->size));
	json_object_set_new(o, "nlink", json_integer(e->nlink ? e->nlink : 1));
	json_object_set_new(o, "mtime_ns", json_integer(e->mtime_ns));
	json_object_set_new(o, "mtime", json_string(t));
	if (e->type == ENT_SYMLINK && e->target)
		json_set_bytes(o, "target", e->target, strlen(e->target));
	if (e->type == ENT_CHR || e->type == ENT_BLK)
		json_object_set_new(o, "rdev", json_integer((json_int_t)e->rdev));
	for (size_t i = 0; i < e->nxattrs; i++)
		json_array_append_new(xa, json_string(e->xattrs[i].name));
	json_object_set_new(o, "xattrs", xa);
	return o;
}

static void print_entry(struct ls_ctx *l, const struct tree_entry *e, size_t pathlen)
{
	const char *name = l->recursive ? l->path : e->name;
	size_t namelen = l->recursive ? pathlen : e->namelen;

	if (l->json) {
		json_array_append_new(l->arr, entry_json(e, l->path, pathlen));
		return;
	}
	if (l->lng)
		print_long(e);
	cli_print_name(stdout, name, namelen);
	if (l->lng && e->type == ENT_SYMLINK && e->target) {
		fputs(" -> ", stdout);
		cli_print_name(stdout, e->target, strlen(e->target));
	}
	putchar('\n');
}

static void list_tree(struct ls_ctx *l, const struct tree *t, size_t base);

/* Descend into a directory entry (for -R); path holds base bytes of prefix + the name. */
static void list_subdir(struct ls_ctx *l, const struct tree_entry *e, size_t pathlen)
{
	struct tree *sub = NULL;
	int err;

	if (l->depth >= TREE_MAX_DEPTH) {
		/* deeper than any reader follows (restore and verify refuse it too) */
		l->path[pathlen] = '\0';
		fflush(stdout);
		cli_error("'%.200s…' of snapshot %s: directories nested deeper than %d (refused)",
			  l->path, l->snap, TREE_MAX_DEPTH);
		l->ret = EXIT_INTEGRITY;
		return;
	}
	err = store_load_tree(l->s, &e->subtree, &sub);
	if (err < 0) {
		l->path[pathlen] = '\0';
		fflush(stdout);
		cli_error("cannot read directory '%s' of snapshot %s: %s", l->path, l->snap,
			  err == -EBADMSG ? "failed authentication (tampered or damaged)"
					  : strerror(-err));
		if (!l->ret)
			l->ret = cli_exit_for(err);
		return;
	}
	if (pathlen + 1 >= PATH_MAX_LEN)
		goto out;
	l->path[pathlen] = '/';
	l->depth++;
	list_tree(l, sub, pathlen + 1);
	l->depth--;
out:
	tree_free(sub);
}

static void list_tree(struct ls_ctx *l, const struct tree *t, size_t base)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];
		size_t len = base + e->namelen;

		if (len >= PATH_MAX_LEN) {
			if (!l->ret)
				l->ret = EXIT_FAIL;
			continue;
		}
		memcpy(l->path + base, e->name, e->namelen);
		l->path[len] = '\0';
		print_entry(l, e, len);
		if (l->recursive && e->type == ENT_DIR)
			list_subdir(l, e, len);
	}
}

/* List the directory (or the entry) that PATH names. */
static int ls_target(struct ls_ctx *l, const struct tree *dir, const struct tree_entry *ent)
{
	struct tree *sub = NULL;
	int err;

	if (ent && ent->type != ENT_DIR) {
		size_t n = ent->namelen < PATH_MAX_LEN ? ent->namelen : PATH_MAX_LEN - 1;

		memcpy(l->path, ent->name, n);
		l->path[n] = '\0';
		print_entry(l, ent, n);
		return EXIT_OK;
	}
	if (ent) {
		err = store_load_tree(l->s, &ent->subtree, &sub);
		if (err < 0) {
			cli_error("cannot read directory of snapshot %s: %s", l->snap,
				  strerror(-err));
			return cli_exit_for(err);
		}
		dir = sub;
	}
	list_tree(l, dir, 0);
	tree_free(sub);
	return EXIT_OK;
}

static int parse(struct cli_ctx *c, struct ls_ctx *l, int argc, char **argv)
{
	const struct opts_spec options[] = {OPTS_FLAG('l', NULL, &l->lng),
					    OPTS_FLAG('R', NULL, &l->recursive),
					    OPTS_FLAG(0, "json", &l->json), OPTS_END};

	return opts_parse(c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options);
}

static int run_ls(int argc, char **argv)
{
	struct cli_ctx c;
	struct ls_ctx l = {0};
	struct snapshot sn = {0};
	struct tree *dir = NULL;
	const struct tree_entry *ent = NULL;
	const char *url, *path;
	int ret;

	opts_init(&c, "ls");
	ret = parse(&c, &l, argc, argv);
	if (ret != EXIT_OK || c.help)
		return ret != EXIT_OK ? ret : opts_help(&c);
	if (!(url = opts_store_arg(&c, argc, argv, 1, "SNAPSHOT[:PATH]")))
		return EXIT_USAGE;
	l.snap = argv[optind];
	l.path = malloc(PATH_MAX_LEN);
	l.arr = l.json ? json_array() : NULL;
	if (!l.path || (l.json && !l.arr)) {
		ret = EXIT_FAIL;
		goto out;
	}
	ret = cli_open_store(&c, url, false, &l.s);
	if (ret != EXIT_OK)
		goto out;
	ret = cli_resolve(l.s, url, l.snap, &sn, &path, &dir, &ent);
	if (ret != EXIT_OK)
		goto out;
	ret = ls_target(&l, dir, ent);
	if (ret == EXIT_OK && l.json) {
		if (cli_print_json_list(l.arr) < 0)
			ret = EXIT_IO;
		l.arr = NULL;
	}
	if (ret == EXIT_OK && l.ret)
		ret = l.ret;
	if (fflush(stdout) != 0 && ret == EXIT_OK)
		ret = EXIT_IO;
	snapshot_clear(&sn);
out:
	tree_free(dir);
	json_decref(l.arr);
	free(l.path);
	if (l.s)
		store_close(l.s);
	return ret;
}

/* Stream one file in verified 1 MiB pieces. */
static int cat_one(struct store *s, const char *spec, const struct tree_entry *e, uint8_t *buf)
{
	uint64_t off = 0;
	ssize_t n;

	while (off < e->size) {
		n = store_read_file(s, e, off, CAT_PIECE, buf);
		if (n < 0) {
			cli_error("cannot read %s at offset %llu: %s", spec,
				  (unsigned long long)off,
				  n == -EBADMSG ? "a record failed authentication (tampered or "
						  "damaged); run 'embassy verify --read-data'"
						: strerror((int)-n));
			return cli_exit_for((int)n);
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			cli_error("cannot write %s to standard output: %s", spec, strerror(errno));
			return EXIT_IO;
		}
		off += (uint64_t)n;
	}
	if (off != e->size) {
		cli_error("%s ended at %llu bytes, short of its size %llu", spec,
			  (unsigned long long)off, (unsigned long long)e->size);
		return EXIT_INTEGRITY;
	}
	return EXIT_OK;
}

static int cat_spec(struct store *s, const char *url, const char *spec, uint8_t *buf)
{
	struct snapshot sn;
	struct tree *dir = NULL;
	const struct tree_entry *ent = NULL;
	const char *path;
	int ret;

	ret = cli_resolve(s, url, spec, &sn, &path, &dir, &ent);
	if (ret != EXIT_OK)
		return ret;
	if (!ent || ent->type != ENT_FILE) {
		cli_error("'%s' is %s, not a regular file; cat prints files", spec,
			  !ent ? "the snapshot root" : cli_entry_type(ent->type));
		ret = EXIT_FAIL;
	} else {
		ret = cat_one(s, spec, ent, buf);
	}
	tree_free(dir);
	snapshot_clear(&sn);
	return ret;
}

static int run_cat(int argc, char **argv)
{
	struct cli_ctx c;
	struct store *s = NULL;
	uint8_t *buf = NULL;
	const char *url;
	int ret;

	opts_init(&c, "cat");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), NULL)))
		return ret;
	if (c.help)
		return opts_help(&c);
	if (!(url = opts_store_arg(&c, argc, argv, -1, "SNAPSHOT:PATH")))
		return EXIT_USAGE;
	buf = malloc(CAT_PIECE);
	if (!buf)
		return EXIT_FAIL;
	ret = cli_open_store(&c, url, false, &s);
	for (int i = optind; ret == EXIT_OK && i < argc; i++)
		ret = cat_spec(s, url, argv[i], buf);
	if (fflush(stdout) != 0 && ret == EXIT_OK) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		ret = EXIT_IO;
	}
	if (s)
		store_close(s);
	free(buf);
	return ret;
}

const struct cli_cmd cli_cmd_ls = {"ls", "list the contents of a snapshot", ls_help, run_ls};
const struct cli_cmd cli_cmd_cat = {"cat", "write files of a snapshot to standard output", cat_help,
				    run_cat};
