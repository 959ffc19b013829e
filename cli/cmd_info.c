/* info: what a store is — id, format, the signing key's fingerprint (the value of --trust),
 * key entries, the head pointer and its freshness, snapshots, size. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hex.h"
#include "keyadmin.h"

static const char help[] =
    "NAME\n"
    "  embassy info - show what a store is: id, format, signing key, keys, head, size\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy info STORE [--json] [--stored-size]\n"
    "\n"
    "DESCRIPTION\n"
    "  Opens STORE with the credentials given (like 'embassy snapshots') and prints:\n"
    "    id           the store id\n"
    "    format       the store format version\n"
    "    fingerprint  the signing key's fingerprint: what recovery hosts give to --trust\n"
    "                 (compare it with the one 'embassy init' printed, out of band)\n"
    "    chunker      the content-defined chunking parameters\n"
    "    keys         the key entries: passphrase, recipient, quorum (M-of-N)\n"
    "    head         the signed head pointer: sequence, snapshot, when it was sealed and\n"
    "                 until when it is fresh (an expired head may mean a frozen store)\n"
    "    snapshots    how many snapshots verify, the oldest and the newest\n"
    "    latest       files and bytes of the snapshot the head names\n"
    "    packs        how many pack objects the store holds; with --stored-size also\n"
    "                 their total size (one request per pack: slow on a distant store)\n"
    "\n"
    "  Everything shown was verified as every reader verifies it, except the key entries'\n"
    "  kinds and the pack count, which are read from the untrusted host as they are.\n"
    "\n"
    "OPTIONS\n"
    "  --json         one JSON object (docs/JSON.md)\n"
    "  --stored-size  add up the size of every pack object\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy info https://embassy.example/registers/ --cacert ca.pem --key-file o1.key\n"
    "  embassy info --profile registers --json | jq -r .fingerprint\n";

struct info {
	struct store *s;
	const char *url;
	struct key_entry_info *keys;
	size_t nkeys;
	struct head head;
	bool has_head;
	struct snapshot *snaps, latest;
	size_t nsnaps, bad;
	bool has_latest;
	uint64_t packs, stored;
	bool stored_size;
	int ret;
};

static int count_pack(void *ctx, const char *key)
{
	struct info *in = ctx;
	uint64_t size;
	int err;

	in->packs++;
	if (in->stored_size) {
		err = remote_stat(store_remote(in->s), key, &size);
		if (err < 0)
			return err;
		in->stored += size;
	}
	return 0;
}

/* Everything but the descriptor (read by cli_open_store); an exit code. */
static int gather(struct info *in)
{
	int err = keyadmin_list(store_remote(in->s), &in->keys, &in->nkeys);

	if (err == 0)
		err = store_list_snapshots(in->s, &in->snaps, &in->nsnaps, &in->bad);
	if (err == 0) {
		err = store_read_head(in->s, &in->head);
		in->has_head = err == 0;
		if (err == -ENOENT)
			err = 0;
	}
	if (err == 0 && in->has_head) {
		err = store_read_snapshot(in->s, in->head.snapshot, &in->latest);
		in->has_latest = err == 0;
	}
	if (err == 0)
		err = remote_list(store_remote(in->s), "packs/", count_pack, in);
	if (err < 0) {
		if (err == -ESTALE || err == -EKEYEXPIRED)
			cli_error("the head pointer of store %s is refused (see above)", in->url);
		else
			cli_error("cannot read store %s: %s", in->url, strerror(-err));
		return cli_exit_for(err) == EXIT_OK ? EXIT_FAIL : cli_exit_for(err);
	}
	return in->bad ? EXIT_INTEGRITY : EXIT_OK;
}

static bool expired(const struct head *h)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return h->expires_ns < (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec;
}

static json_t *keys_json(const struct info *in)
{
	json_t *arr = json_array(), *o;

	for (size_t i = 0; arr && i < in->nkeys; i++) {
		const struct key_entry_info *k = &in->keys[i];

		o = json_pack("{s:s, s:s, s:I}", "name", k->name, "type", k->type, "size",
			      (json_int_t)k->size);
		if (o && k->m) {
			json_object_set_new(o, "m", json_integer(k->m));
			json_object_set_new(o, "n", json_integer(k->n));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *head_json(const struct info *in)
{
	char id[2 * ID_LEN + 1], t[48], e[48];

	if (!in->has_head)
		return json_null();
	hex_encode(in->head.snapshot, ID_LEN, id);
	cli_format_time(in->head.time_ns, false, t);
	cli_format_time(in->head.expires_ns, false, e);
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:b}", "seq", (json_int_t)in->head.seq,
			 "snapshot", id, "time", t, "time_ns", (json_int_t)in->head.time_ns,
			 "expires", e, "expires_ns", (json_int_t)in->head.expires_ns, "expired",
			 expired(&in->head));
}

static int print_json(const struct info *in, const char *fpr)
{
	uint32_t mn, avg, mx;
	char id[2 * ID_LEN + 1];
	json_t *o;

	store_chunker_params(in->s, &mn, &avg, &mx);
	o = json_pack("{s:s, s:s, s:i, s:s, s:{s:i, s:i, s:i}, s:o, s:o, s:I, s:I}", "url", in->url,
		      "id", store_id_hex(in->s), "format", store_format(in->s), "fingerprint", fpr,
		      "chunker", "min", mn, "avg", avg, "max", mx, "keys", keys_json(in), "head",
		      head_json(in), "snapshots", (json_int_t)in->nsnaps, "packs",
		      (json_int_t)in->packs);
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "stored_bytes",
			    in->stored_size ? json_integer((json_int_t)in->stored) : json_null());
	if (in->has_latest) {
		hex_encode(in->latest.id, ID_LEN, id);
		json_object_set_new(o, "latest",
				    json_pack("{s:s, s:I, s:I, s:I}", "snapshot", id, "files",
					      (json_int_t)in->latest.files, "dirs",
					      (json_int_t)in->latest.dirs, "bytes",
					      (json_int_t)in->latest.bytes));
	} else {
		json_object_set_new(o, "latest", json_null());
	}
	return cli_print_json(o);
}

static void print_keys(const struct info *in)
{
	printf("keys         %zu\n", in->nkeys);
	for (size_t i = 0; i < in->nkeys; i++) {
		printf("             %-10s ", in->keys[i].type);
		cli_print_name(stdout, in->keys[i].name, strlen(in->keys[i].name));
		if (in->keys[i].m)
			printf(" (%u-of-%u)", in->keys[i].m, in->keys[i].n);
		putchar('\n');
	}
}

static void print_text(const struct info *in, const char *fpr)
{
	uint32_t mn, avg, mx;
	char a[32], b[32], c[32], t[48], e[48], id[2 * ID_LEN + 1];

	store_chunker_params(in->s, &mn, &avg, &mx);
	cli_format_size(mn, a);
	cli_format_size(avg, b);
	cli_format_size(mx, c);
	printf("store        ");
	cli_print_text(stdout, in->url, strlen(in->url));
	printf("\nid           %s\nformat       %d\nfingerprint  %s  (--trust %s)\n"
	       "chunker      %s min, %s average, %s max\n",
	       store_id_hex(in->s), store_format(in->s), fpr, fpr, a, b, c);
	print_keys(in);
	if (in->has_head) {
		hex_encode(in->head.snapshot, ID_LEN, id);
		cli_format_time(in->head.time_ns, false, t);
		cli_format_time(in->head.expires_ns, false, e);
		printf("head         sequence %llu, snapshot %.12s, sealed %s, %s %s\n",
		       (unsigned long long)in->head.seq, id, t,
		       expired(&in->head) ? "EXPIRED at" : "fresh until", e);
	} else {
		printf("head         none (no snapshot yet)\n");
	}
	printf("snapshots    %zu", in->nsnaps);
	if (in->nsnaps) {
		cli_format_time(in->snaps[0].time_ns, false, t);
		cli_format_time(in->snaps[in->nsnaps - 1].time_ns, false, e);
		printf(", oldest %s, newest %s", t, e);
	}
	putchar('\n');
	if (in->has_latest) {
		cli_format_size(in->latest.bytes, a);
		printf("latest       %llu files, %llu directories, %s\n",
		       (unsigned long long)in->latest.files, (unsigned long long)in->latest.dirs,
		       a);
	}
	printf("packs        %llu", (unsigned long long)in->packs);
	if (in->stored_size) {
		cli_format_size(in->stored, a);
		printf(", %s stored", a);
	}
	putchar('\n');
}

static int parse(struct cli_ctx *c, struct info *in, bool *json, int argc, char **argv)
{
	const struct opts_spec options[] = {
	    OPTS_FLAG(0, "json", json), OPTS_FLAG(0, "stored-size", &in->stored_size), OPTS_END};

	return opts_parse(c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options);
}

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct info in = {0};
	char fpr[33];
	bool json = false;
	int ret;

	opts_init(&c, "info");
	ret = parse(&c, &in, &json, argc, argv);
	if (ret != EXIT_OK || c.help)
		return ret != EXIT_OK ? ret : opts_help(&c);
	if (!(in.url = opts_one_store(&c, argc, argv)))
		return EXIT_USAGE;
	ret = cli_open_store(&c, in.url, false, &in.s);
	if (ret != EXIT_OK)
		return ret;
	ret = gather(&in);
	if (ret == EXIT_OK || ret == EXIT_INTEGRITY) {
		sign_fingerprint(store_anchor_pk(in.s), fpr);
		if (json ? print_json(&in, fpr) < 0 : (print_text(&in, fpr), false))
			ret = EXIT_IO;
		if (in.bad)
			cli_error("%zu snapshot manifest(s) of store %s failed verification; run "
				  "'embassy verify'",
				  in.bad, in.url);
	}
	if (fflush(stdout) != 0 && ret == EXIT_OK)
		ret = EXIT_IO;
	if (ret == EXIT_OK && in.has_head && expired(&in.head))
		cli_warn("the head pointer of store %s has expired: the host may be serving a "
			 "stale copy; ask the sealers when they last sealed",
			 in.url);
	snapshot_clear(&in.latest);
	store_free_snapshots(in.snaps, in.nsnaps);
	free(in.keys);
	store_close(in.s);
	return ret;
}

const struct cli_cmd cli_cmd_info = {
    "info", "show what a store is: id, format, signing key, keys, head, size", help, run};
