/* copy: bring a second embassy up to a store, ciphertext only. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "copy.h"
#include "verify.h"

static const char help[] =
    "NAME\n"
    "  embassy copy - bring a second embassy up to a store (ciphertext only)\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy copy SRC DST --trust FINGERPRINT [--parallel N] [--dry-run] [--json]\n"
    "  embassy copy SRC DST [SNAPSHOT...] (--key-file FILE | --passphrase-file FILE)\n"
    "               [--read-data | --no-verify] [--parallel N] [--dry-run] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Copies to DST every object of SRC it lacks - packs, index objects, the manifests of\n"
    "  the live snapshots, key entries, the descriptor, the signed snapshot list - and then\n"
    "  SRC's head pointer, last. Nothing is decrypted or re-encrypted: DST becomes a second\n"
    "  copy of the same store, readable with the same credentials and the same pinned key.\n"
    "  DST may be another kind of backend (a directory, WebDAV, S3). Run it again at any\n"
    "  time: what DST holds is skipped, so an interrupted copy resumes and a finished one\n"
    "  copies nothing but a newer head.\n"
    "\n"
    "  Without credentials the copier only needs the sealer's signing key pinned (--trust,\n"
    "  or the state file of an earlier read): it checks the descriptor, head, snapshot list\n"
    "  and every manifest against it, refuses a rolled-back head, copies every pack (it cannot\n"
    "  tell which are in use) and checks that each arrives whole. With a read credential it\n"
    "  copies only the packs the snapshots use and then verifies DST like 'embassy verify'\n"
    "  (with --read-data: every record opened).\n"
    "\n"
    "  DST must be empty or hold this store, and must not be ahead of SRC (a newer or\n"
    "  diverged snapshot list is refused). With SNAPSHOT ids (needs a read credential) only\n"
    "  those snapshots and their data are copied, not the head or list: a way to ship the\n"
    "  bulk first; DST lists them after the next full copy. Snapshots forgotten at SRC stay\n"
    "  at DST until 'embassy prune DST'.\n"
    "\n"
    "OPTIONS\n"
    "  --dst-cacert FILE       CA bundle for DST (default: as --cacert)\n"
    "  --dst-tls-cert FILE     client certificate for DST (default: as --tls-cert)\n"
    "  --dst-tls-key FILE      its key (default: as --tls-key)\n"
    "  --dst-s3-endpoint URL   endpoint for an s3:// DST (default: as --s3-endpoint)\n"
    "  --parallel N            objects in flight (default 4, at most 64)\n"
    "  --dry-run               count what would be copied; copy nothing\n"
    "  --read-data             with a read credential: open every record at DST afterwards\n"
    "  --no-verify             with a read credential: skip the verification of DST\n"
    "  --json                  print one object: objects, copied, skipped, bytes_copied,\n"
    "                          snapshots, packs, generation, seq, head_copied, dry_run,\n"
    "                          verified (signatures and sizes; with a read credential\n"
    "                          the whole store; null for a dry run), elapsed_s\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy copy /srv/embassy s3://embassy-2/regs --trust 49606dc38cf8cee9b463e765e2071d95\n"
    "  embassy copy https://emb1.example/s/ /srv/mirror --key-file officer.key --read-data\n";

struct copy_args {
	struct copy_opts co;
	struct remote_opts dst_ro;
	bool json, read_data, no_verify;
	int64_t start_ns;
};

static bool has_credentials(const struct cli_ctx *c)
{
	const char *p = getenv("EMBASSY_PASSPHRASE");
	return c->passphrase_file || c->passphrase_command || c->key_file || c->nkey_files ||
	       c->nshare_files || c->sealer_key || (p && *p);
}

/* DST's transport options: its own where given, else SRC's. */
static void dst_defaults(const struct cli_ctx *c, struct remote_opts *d)
{
	struct remote_opts o = c->ro;
	if (d->cacert)
		o.cacert = d->cacert;
	if (d->cert)
		o.cert = d->cert;
	if (d->key)
		o.key = d->key;
	if (d->s3_endpoint)
		o.s3_endpoint = d->s3_endpoint;
	o.mirror_dir = NULL;
	o.offline = 0;
	*d = o;
}

struct bar {
	struct progress *p;
};

static void on_progress(void *ctx, const struct copy_progress *p)
{
	progress_update(ctx, p->objects_done, p->objects_total);
}

/* With a read credential: DST read as a store, as any reader would. */
static int verify_dst(const struct cli_ctx *c, const struct copy_args *a, const char *dst,
		      int *verified)
{
	struct cli_ctx dc = *c;
	struct store *s = NULL;
	struct verify_opts vo = {.read_data = a->read_data};
	struct verify_result vr;
	int ret, err;

	dc.ro = a->dst_ro;
	ret = cli_open_store(&dc, dst, false, &s);
	if (ret != EXIT_OK)
		return ret;
	err = verify_run(s, &vo, &vr);
	store_close(s);
	*verified = err == 0;
	if (err == -EBADMSG || vr.problems) {
		cli_error("the copy at %s has %llu problem(s) (see above)", dst,
			  (unsigned long long)vr.problems);
		return EXIT_INTEGRITY;
	}
	if (err < 0) {
		cli_error("cannot verify the copy at %s: %s", dst, strerror(-err));
		return cli_exit_for(err);
	}
	return EXIT_OK;
}

static int report(const struct copy_args *a, const struct copy_result *r, int verified)
{
	char b[32];
	if (a->json) {
		json_t *o =
		    json_pack("{s:I s:I s:I s:I s:I s:I s:I s:I s:b s:b s:o s:f}", "objects",
			      (json_int_t)r->objects, "copied", (json_int_t)r->copied, "skipped",
			      (json_int_t)r->skipped, "bytes_copied", (json_int_t)r->bytes_copied,
			      "snapshots", (json_int_t)r->snapshots, "packs", (json_int_t)r->packs,
			      "generation", (json_int_t)r->gen, "seq", (json_int_t)r->seq,
			      "head_copied", r->head_copied, "dry_run", a->co.dry_run, "verified",
			      verified < 0 ? json_null() : json_boolean(verified), "elapsed_s",
			      cli_elapsed_s(a->start_ns));
		return cli_print_json(o) < 0 ? EXIT_IO : EXIT_OK;
	}
	if (cli_quiet() && !a->co.dry_run)
		return EXIT_OK;
	cli_format_size(r->bytes_copied, b);
	printf("%s %llu of %llu object(s), %s (%llu snapshot(s), %llu pack(s)); %llu already "
	       "there; head %s\n",
	       a->co.dry_run ? "would copy" : "copied", (unsigned long long)r->copied,
	       (unsigned long long)r->objects, b, (unsigned long long)r->snapshots,
	       (unsigned long long)r->packs, (unsigned long long)r->skipped,
	       r->head_copied ? "moved" : "unchanged");
	return EXIT_OK;
}

static int run_copy(struct cli_ctx *c, struct copy_args *a, const char *src, const char *dst,
		    char **snaps, size_t nsnaps)
{
	struct copy_src cs;
	struct copy_result r;
	struct store *s = NULL;
	struct remote *sr = NULL, *dr = NULL;
	int ret = EXIT_OK, err, verified = -1;

	a->co.snapshots = (const char *const *)snaps;
	a->co.nsnapshots = nsnaps;
	dst_defaults(c, &a->dst_ro);
	if ((ret = cli_refuse_multi(c, dst)) != EXIT_OK)
		return ret; /* DST is written: one store */
	if (has_credentials(c)) {
		ret = cli_open_store(c, src, false, &s);
		err = ret == EXIT_OK ? copy_src_store(s, &c->trust, &cs) : 0;
	} else {
		err = remote_open(src, &c->ro, &sr);
		if (!err)
			err = copy_src_keyless(sr, &c->trust, &cs);
	}
	if (ret != EXIT_OK)
		goto out;
	if (!err)
		err = remote_open(dst, &a->dst_ro, &dr);
	struct progress *bar = a->json || cli_quiet() ? NULL : progress_new("copy", false);
	a->co.progress = bar ? on_progress : NULL;
	a->co.progress_ctx = bar;
	if (!err)
		err = copy_run(&cs, dr, &a->co, &r);
	progress_free(bar);
	if (err == -ENOENT) {
		cli_error("store %s has no snapshot to copy (or is not a store)", src);
		ret = EXIT_NOTFOUND;
	} else if (err == -ENOKEY) {
		ret = EXIT_AUTH;
	} else if (err == -EEXIST || err == -ESTALE) {
		cli_error("copy from %s to %s refused (see above)", src, dst);
		ret = err == -ESTALE ? EXIT_INTEGRITY : EXIT_FAIL;
	} else if (err < 0) {
		cli_error("copy from %s to %s stopped: %s (run it again to resume)", src, dst,
			  strerror(-err));
		ret = cli_exit_for(err);
	}
	if (!err && !a->co.dry_run)
		verified = 1; /* signatures and sizes, as copied (copy.h) */
	if (ret == EXIT_OK && s && !a->no_verify && !a->co.dry_run)
		ret = verify_dst(c, a, dst, &verified);
	if (ret == EXIT_OK || ret == EXIT_INTEGRITY)
		if (!err && report(a, &r, verified) != EXIT_OK)
			ret = EXIT_IO;
out:
	if (s)
		store_close(s);
	remote_free(sr);
	remote_free(dr);
	return ret;
}

static int run(int argc, char **argv)
{
	struct copy_args a = {.start_ns = cli_monotonic_ns()};
	struct cli_ctx c;
	const char *src, *dst;
	int ret;
	const struct opts_spec options[] = {
	    OPTS_STRING(0, "dst-cacert", &a.dst_ro.cacert),
	    OPTS_STRING(0, "dst-tls-cert", &a.dst_ro.cert),
	    OPTS_STRING(0, "dst-tls-key", &a.dst_ro.key),
	    OPTS_STRING(0, "dst-s3-endpoint", &a.dst_ro.s3_endpoint),
	    OPTS_INT(0, "parallel", &a.co.parallel, 1, 64, "--parallel needs 1..64, not '{arg}'"),
	    OPTS_FLAG(0, "dry-run", &a.co.dry_run),
	    OPTS_FLAG(0, "read-data", &a.read_data),
	    OPTS_FLAG(0, "no-verify", &a.no_verify),
	    OPTS_FLAG(0, "json", &a.json),
	    OPTS_END};

	opts_init(&c, "copy");
	if ((ret = opts_parse(&c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options)))
		return ret;
	if (c.help)
		return opts_help(&c);
	if (argc - optind < 2)
		return opts_usage(&c, "needs SRC and DST");
	if (a.read_data && a.no_verify)
		return opts_usage(&c, "--read-data and --no-verify contradict each other");
	src = argv[optind];
	dst = argv[optind + 1];
	return run_copy(&c, &a, src, dst, argv + optind + 2, (size_t)(argc - optind - 2));
}

const struct cli_cmd cli_cmd_copy = {
    "copy", "bring a second embassy up to a store (ciphertext only)", help, run};
