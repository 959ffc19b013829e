/* common: error reporting, errno → exit code, and resolving SNAPSHOT[:PATH] arguments. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* Through the one logger: escaped, credentials redacted, and to syslog or the log file
 * when the command (a mount) is detached. */
void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
}

json_t *cli_mirrors_json(const struct remote *r)
{
	static const char *const head[] = {"unknown", "current", "older",
					   "bad",     "missing", "unreachable"};
	struct remote_mirror_stats m;
	json_t *a;

	if (!r || remote_mirrors(r) < 2 || !(a = json_array()))
		return NULL;
	for (size_t i = 0; i < remote_mirrors(r); i++) {
		remote_mirror_stats(r, i, &m);
		json_array_append_new(
		    a, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:I, s:b}", "url",
				 m.name, "requests", (json_int_t)m.gets, "bytes",
				 (json_int_t)m.bytes, "failures", (json_int_t)m.failures, "missing",
				 (json_int_t)m.missing, "rejected", (json_int_t)m.rejected,
				 "cost_ms", m.cost_us / 1000.0, "head",
				 m.head >= 0 && m.head <= REMOTE_HEAD_UNREACHABLE ? head[m.head]
										  : "unknown",
				 "head_seq", (json_int_t)m.head_seq, "down", m.down));
	}
	return a;
}

int cli_refuse_multi(const struct cli_ctx *c, const char *url)
{
	if (!remote_url_is_multi(url))
		return EXIT_OK;
	cli_error("%s writes to one store: several stores (URL1,URL2,...) are for reading; write "
		  "to one, then bring the others up to date with 'embassy copy'",
		  c && c->cmd ? c->cmd : "this command");
	return EXIT_USAGE;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

int cli_exit_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case -EKEYREJECTED:
	case -EKEYREVOKED: /* a sealer key retired by a root document rotation, or a snapshot of
			    * a key epoch this credential was left out of */
	case -ENOKEY:
	case -EPERM:
	case -EACCES:
		return EXIT_AUTH;
	case -EPROTONOSUPPORT:
		return EXIT_NOSTORE;
	case -ENOTUNIQ:
		return EXIT_NOTFOUND;
	case -EBADMSG:
	case -ESTALE:	   /* rolled-back head pointer */
	case -EKEYEXPIRED: /* expired head with --require-fresh */
	case -E2BIG:	   /* a host listing more names than any real store has */
	case -ELOOP:	   /* more root document versions than a reader walks */
		return EXIT_INTEGRITY;
	case -EIO:
	case -ETIMEDOUT:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ENOSPC:
	case -EDQUOT:
		return EXIT_IO;
	case -EINVAL:
		return EXIT_USAGE;
	default:
		return EXIT_FAIL;
	}
}

int cli_snapshot_error(const char *url, const char *spec, int err)
{
	switch (err) {
	case -ENOENT:
		if (strcmp(spec, "latest") == 0)
			cli_error("store %s has no snapshot yet", url);
		else
			cli_error("no snapshot '%s' in store %s (see 'embassy snapshots')", spec,
				  url);
		return EXIT_NOTFOUND;
	case -ENOTUNIQ:
		cli_error("snapshot prefix '%s' matches several snapshots in store %s; give more "
			  "characters",
			  spec, url);
		return EXIT_NOTFOUND;
	case -EBADMSG:
		cli_error("snapshot '%s' in store %s failed authentication (tampered or damaged)",
			  spec, url);
		return EXIT_INTEGRITY;
	case -EINVAL:
		cli_error("'%s' is not a snapshot id: give 'latest', an id or an id prefix", spec);
		return EXIT_USAGE;
	case -EKEYREVOKED:
		cli_error("snapshot '%s' in store %s is sealed under a key epoch this key does not "
			  "hold: it was left out of a key rotation ('embassy key rotate'), or the "
			  "store serves an outdated key entry",
			  spec, url);
		return EXIT_AUTH;
	case -ESTALE:
	case -EKEYEXPIRED: /* the reason (rollback / expiry) was logged just before */
		cli_error("snapshot '%s' in store %s refused: the head pointer is not trustworthy",
			  spec, url);
		return EXIT_INTEGRITY;
	default:
		cli_error("cannot read snapshot '%s' in store %s: %s", spec, url, strerror(-err));
		return cli_exit_for(err);
	}
}

static int lookup_error(const char *spec, const char *path, int err)
{
	switch (err) {
	case -ENOENT:
		cli_error("no '%s' in snapshot %s", path, spec);
		return EXIT_NOTFOUND;
	case -ENOTDIR:
		cli_error("'%s' in snapshot %s: a parent is not a directory", path, spec);
		return EXIT_NOTFOUND;
	case -EBADMSG:
		cli_error("a directory on the way to '%s' in snapshot %s failed authentication "
			  "(tampered or damaged); run 'embassy verify'",
			  path, spec);
		return EXIT_INTEGRITY;
	default:
		cli_error("cannot look up '%s' in snapshot %s: %s", path, spec, strerror(-err));
		return cli_exit_for(err);
	}
}

int cli_resolve(struct store *s, const char *url, const char *spec, struct snapshot *sn,
		const char **path, struct tree **dir, const struct tree_entry **ent)
{
	char *snap = NULL;
	int err, ret = EXIT_FAIL;

	memset(sn, 0, sizeof(*sn));
	if (opts_split_spec(spec, &snap, path) < 0)
		goto out;
	if (!*snap) {
		cli_error("'%s' names no snapshot: write SNAPSHOT[:PATH], e.g. latest:etc/passwd",
			  spec);
		ret = EXIT_USAGE;
		goto out;
	}
	err = store_resolve_snapshot(s, snap, sn);
	if (err < 0) {
		ret = cli_snapshot_error(url, snap, err);
		goto out;
	}
	/* a path is relative to the snapshot root however it is written */
	while (**path == '/')
		(*path)++;
	err = store_lookup(s, sn, *path, dir, ent);
	if (err < 0) {
		ret = lookup_error(snap, *path, err);
		snapshot_clear(sn);
		goto out;
	}
	ret = EXIT_OK;
out:
	free(snap);
	return ret;
}
