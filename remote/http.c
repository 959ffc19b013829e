/* http: objects on an HTTP(S)/WebDAV server (nginx dav + dav_ext).
 * GET/HEAD/PUT/DELETE map one to one; collections are made with MKCOL (known ones cached);
 * create-only puts go to a temporary name and are published with MOVE + "Overwrite: F",
 * which the server refuses with 412 when the target exists; listings walk PROPFIND Depth: 1. */
#include "backend.h"
#include "secmem.h"
#include "xfer.h"
#include "xmlscan.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define LIST_REPLY_MAX (64u << 20)
#define LIST_DEPTH_MAX 32
#define DIR_CACHE_MAX  4096

struct http {
	/* Immutable after open: */
	char *base;	 /* "scheme://host[:port]/path/" (ends in '/') */
	char *base_path; /* "/path/" decoded, what PROPFIND hrefs must start with */
	struct xfer *x;

	pthread_mutex_t lock; /* guards dirs and n_dirs */
	char **dirs;	      /* URLs of collections known to exist */
	size_t n_dirs;
};

static char *key_url(const struct http *h, const char *key)
{
	char *esc = xfer_escape(key, 1), *url = NULL;
	size_t n;

	/* malloc + snprintf rather than asprintf: gcc 12 -O3 misreads asprintf's failure path
	 * as a dangling pointer in the callers */
	if (esc) {
		n = strlen(h->base) + strlen(esc) + 1;
		url = malloc(n);
		if (url)
			snprintf(url, n, "%s%s", h->base, esc);
	}
	free(esc);
	return url;
}

static int http_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		    uint8_t **data, size_t *n)
{
	struct http *h = be;
	struct xfer_resp resp;
	struct xfer_req q = {.method = "GET", .off = off, .len = len, .max_len = max_len};
	int ret;

	q.url = key_url(h, key);
	if (!q.url)
		return -ENOMEM;
	ret = xfer_do(h->x, &q, &resp);
	if (ret == 0) {
		*data = resp.body ? resp.body : calloc(1, 1);
		*n = resp.len;
		ret = *data ? 0 : -ENOMEM;
	}
	free((char *)q.url);
	return ret;
}

static int dir_known(struct http *h, const char *dir)
{
	int found = 0;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n_dirs && !found; i++)
		found = !strcmp(h->dirs[i], dir);
	pthread_mutex_unlock(&h->lock);
	return found;
}

static void dir_remember(struct http *h, const char *dir)
{
	char *d = strdup(dir);

	pthread_mutex_lock(&h->lock);
	if (d && h->n_dirs < DIR_CACHE_MAX) {
		char **nd = realloc(h->dirs, (h->n_dirs + 1) * sizeof(*nd));
		if (nd) {
			h->dirs = nd;
			h->dirs[h->n_dirs++] = d;
			d = NULL;
		}
	}
	pthread_mutex_unlock(&h->lock);
	free(d); /* cache full: we just MKCOL again next time */
}

static int mkcol(struct http *h, const char *url)
{
	static const int pass[] = {405, 0}; /* 405: it exists already */
	struct xfer_req q = {.method = "MKCOL", .url = url, .pass = pass};
	struct xfer_resp resp;
	int ret = xfer_do(h->x, &q, &resp);

	xfer_resp_free(&resp);
	return ret;
}

/* MKCOL every collection on the way to key (the base path's too: a fresh store has none)
 * that is not known to exist, outermost first. */
static int make_parents(struct http *h, const char *key)
{
	char *url = key_url(h, key), *slash;
	int ret = 0;

	if (!url)
		return -ENOMEM;
	slash = strchr(strstr(url, "://") + 3, '/');
	while (slash && (slash = strchr(slash + 1, '/')) && ret == 0) {
		char keep = slash[1];
		slash[1] = '\0';
		if (!dir_known(h, url)) {
			ret = mkcol(h, url);
			if (ret == 0)
				dir_remember(h, url);
		}
		slash[1] = keep;
	}
	free(url);
	return ret;
}

static int put_to(struct http *h, const char *key, const void *data, size_t len)
{
	struct xfer_req q = {.method = "PUT", .body = data, .body_len = len, .has_body = 1};
	struct xfer_resp resp;
	int ret;

	q.url = key_url(h, key);
	if (!q.url)
		return -ENOMEM;
	ret = xfer_do(h->x, &q, &resp);
	xfer_resp_free(&resp);
	free((char *)q.url);
	return ret;
}

static int delete_url(struct http *h, const char *url)
{
	struct xfer_req q = {.method = "DELETE", .url = url};
	struct xfer_resp resp;
	int ret = xfer_do(h->x, &q, &resp);

	xfer_resp_free(&resp);
	return ret;
}

/* Publish tmp as key with MOVE "Overwrite: F": the server refuses (412) if key exists.
 * *retried: we sent the MOVE more than once. */
static int move_create(struct http *h, const char *tmp, const char *key, int *retried)
{
	char *dest = key_url(h, key), *hdr = NULL;
	const char *hdrs[] = {NULL, "Overwrite: F", NULL};
	struct xfer_req q = {.method = "MOVE", .headers = hdrs};
	struct xfer_resp resp;
	int ret = -ENOMEM;

	q.url = key_url(h, tmp);
	if (!dest || !q.url || asprintf(&hdr, "Destination: %s", dest) < 0) {
		hdr = NULL;
		goto out;
	}
	hdrs[0] = hdr;
	ret = xfer_do(h->x, &q, &resp);
	*retried = resp.attempts > 1;
	xfer_resp_free(&resp);
	if (ret < 0)
		delete_url(h, q.url); /* best effort: do not leave the temp object behind */
out:
	free(hdr);
	free(dest);
	free((char *)q.url);
	return ret;
}

/* 1 if key holds exactly data. A MOVE repeated after its first reply was lost (by us, or
 * by libcurl itself, which silently resends a request whose reused connection died
 * before any reply byte) sees 412 (our own object is there) or 404 (our temp object is
 * gone): success if the content is ours. */
static int http_stat(void *be, const char *key, uint64_t *size);

static int holds(struct http *h, const char *key, const void *data, size_t len)
{
	uint8_t *got = NULL;
	uint64_t size = 0;
	size_t n = 0;
	int same;

	/* the size first: no download of a large object that cannot match */
	if (http_stat(h, key, &size) < 0 || size != len)
		return 0;
	same = http_get(h, key, 0, 0, len + 1, &got, &n) == 0 && n == len &&
	       memcmp(got, data, len) == 0;

	free(got);
	return same;
}

static int http_put(void *be, const char *key, const void *data, size_t len, int flags)
{
	struct http *h = be;
	const char *base = strrchr(key, '/');
	char *tmp = NULL;
	int ret, retried = 0;

	ret = make_parents(h, key);
	if (ret < 0)
		return ret;
	if (!(flags & REMOTE_CREATE_ONLY))
		return put_to(h, key, data, len); /* nginx PUT is atomic (temp file + rename) */
	base = base ? base + 1 : key;
	if (asprintf(&tmp, "%.*s" REMOTE_TMP_PREFIX "%s.%08x%08x", (int)(base - key), key, base,
		     randombytes_random(), randombytes_random()) < 0)
		return -ENOMEM;
	ret = put_to(h, tmp, data, len);
	if (ret == 0)
		ret = move_create(h, tmp, key, &retried);
	if ((ret == -EEXIST || (retried && ret == -ENOENT)) && holds(h, key, data, len))
		ret = 0;
	else if (ret == -ENOENT)
		ret = -EIO; /* our temp object vanished and the key is not ours */
	free(tmp);
	return ret;
}

static int http_del(void *be, const char *key)
{
	struct http *h = be;
	char *url = key_url(h, key);
	int ret;

	if (!url)
		return -ENOMEM;
	ret = delete_url(h, url);
	free(url);
	return ret;
}

static int http_stat(void *be, const char *key, uint64_t *size)
{
	struct http *h = be;
	struct xfer_req q = {.method = "HEAD"};
	struct xfer_resp resp;
	int ret;

	q.url = key_url(h, key);
	if (!q.url)
		return -ENOMEM;
	ret = xfer_do(h->x, &q, &resp);
	if (ret == 0 && resp.content_length < 0)
		ret = -EBADMSG;
	if (ret == 0)
		*size = (uint64_t)resp.content_length;
	xfer_resp_free(&resp);
	free((char *)q.url);
	return ret;
}

static void http_free(void *be)
{
	struct http *h = be;

	if (!h)
		return;
	xfer_free(h->x);
	for (size_t i = 0; i < h->n_dirs; i++)
		free(h->dirs[i]);
	free(h->dirs);
	pthread_mutex_destroy(&h->lock);
	free(h->base);
	free(h->base_path);
	free(h);
}

static uint64_t http_retries(void *be)
{
	return xfer_retries(((struct http *)be)->x);
}

int http_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx);
int http_get_many(void *be, struct remote_req *reqs, size_t n);

static const struct backend_ops http_ops = {
    .get = http_get,
    .put = http_put,
    .del = http_del,
    .stat = http_stat,
    .list = http_list,
    .get_many = http_get_many,
    .free = http_free,
    .retries = http_retries,
};

/* ---- listing: PROPFIND Depth: 1, walked recursively ---- */

/* Decode %XX; refuses NUL and malformed escapes. */
static int pct_decode(const char *s, char **out)
{
	size_t n = strlen(s), k = 0;
	char *o = malloc(n + 1);

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (s[i] != '%') {
			o[k++] = s[i];
			continue;
		}
		if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]) || sscanf(s + i + 1, "%2x", &v) != 1 ||
		    v == 0) {
			free(o);
			return -EBADMSG;
		}
		o[k++] = (char)v;
		i += 2;
	}
	o[k] = '\0';
	*out = o;
	return 0;
}

struct walk {
	struct http *h;
	const char *prefix; /* keys must start with this (may be a partial name) */
	int (*cb)(void *ctx, const char *key);
	void *ctx;
};

static int walk_dir(struct walk *w, const char *rel, int depth);

/* 1 if a directory child (ending in '/') may hold keys under the listed prefix. */
static int dir_matches(const char *child, const char *prefix)
{
	size_t cl = strlen(child), pl = strlen(prefix);

	return !strncmp(child, prefix, cl < pl ? cl : pl);
}

static int on_collection(struct walk *w, const char *name, int depth)
{
	char *child = NULL;
	int ret = 0;

	if (asprintf(&child, "%s%s", name, name[strlen(name) - 1] == '/' ? "" : "/") < 0)
		return -ENOMEM;
	/* names that cannot be store keys (lost+found, …) hold nothing of ours */
	if (remote_prefix_check(child) == 0 && dir_matches(child, w->prefix))
		ret = walk_dir(w, child, depth + 1);
	free(child);
	return ret;
}

static int on_object(struct walk *w, const char *name)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	if (strncmp(name, w->prefix, strlen(w->prefix)) ||
	    !strncmp(base, REMOTE_TMP_PREFIX, strlen(REMOTE_TMP_PREFIX)) ||
	    remote_key_check(name) < 0)
		return 0; /* beside the prefix, a temp object, or a name not ours */
	return w->cb(w->ctx, name);
}

/* One <response>: href relative to base; collections recurse, objects go to cb. */
static int on_entry(struct walk *w, const char *rel, const char *href, int is_coll, int depth)
{
	const char *path = href, *name;
	char *dec = NULL;
	size_t bl = strlen(w->h->base_path), rl = strlen(rel), nl;
	int ret;

	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8)) {
		path = strchr(strstr(path, "//") + 2, '/'); /* absolute URL: keep the path */
		if (!path)
			goto hostile;
	}
	if (pct_decode(path, &dec) < 0 || strlen(dec) + 1 < bl ||
	    strncmp(dec, w->h->base_path, bl - 1))
		goto hostile;
	name = strlen(dec) >= bl ? dec + bl : "";
	nl = strlen(name);
	if (nl < rl && !(rl && nl == rl - 1 && !strncmp(name, rel, nl)))
		goto hostile;
	if (nl <= rl) {
		if (strncmp(name, rel, nl))
			goto hostile;
		ret = 0; /* the directory itself, with or without its slash */
	} else if (strncmp(name, rel, rl)) {
		goto hostile; /* outside the directory we asked about */
	} else if (is_coll || name[nl - 1] == '/') {
		ret = on_collection(w, name, depth);
	} else {
		ret = on_object(w, name);
	}
	free(dec);
	return ret;
hostile:
	remote_log("PROPFIND %s%s: refusing entry '%s' outside the listed directory", w->h->base,
		   rel, href);
	free(dec);
	return -EBADMSG;
}

/* Parse a multistatus body: for each <response>, its <href> and whether a <collection/>
 * appears in it. Any namespace prefix is accepted. Returns 0, cb's non-zero result, or
 * -errno. */
static int parse_multistatus(struct walk *w, const char *rel, const char *body, size_t len,
			     int depth)
{
	struct xmlscan s;
	struct xml_tok t;
	char *href = NULL;
	int in_resp = 0, is_coll = 0, ret, stop = 0;

	xmlscan_init(&s, body, len);
	while (!stop && (ret = xmlscan_next(&s, &t)) == 1) {
		if (t.type == XML_START && xmlscan_is(&t, "response")) {
			in_resp = 1;
			is_coll = 0;
			free(href);
			href = NULL;
		} else if (in_resp && t.type == XML_START && xmlscan_is(&t, "href") && !href) {
			if (xmlscan_text(&s, &t, &href) < 0)
				ret = -EBADMSG;
			if (ret < 0)
				break;
		} else if (in_resp && (t.type == XML_START || t.type == XML_EMPTY) &&
			   xmlscan_is(&t, "collection")) {
			is_coll = 1;
		} else if (in_resp && t.type == XML_END && xmlscan_is(&t, "response")) {
			in_resp = 0;
			if (!href || !*href)
				ret = -EBADMSG;
			else
				stop = on_entry(w, rel, href, is_coll, depth);
			if (ret < 0)
				break;
		}
	}
	free(href);
	if (stop)
		return stop; /* a callback's answer, or an error already logged */
	if (ret < 0 || in_resp) {
		remote_log("PROPFIND %s%s: malformed multistatus reply", w->h->base, rel);
		return -EBADMSG;
	}
	return 0;
}

static int walk_dir(struct walk *w, const char *rel, int depth)
{
	static const char body[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
				   "<D:propfind xmlns:D=\"DAV:\"><D:prop><D:resourcetype/>"
				   "</D:prop></D:propfind>";
	static const char *const hdrs[] = {"Depth: 1", "Content-Type: application/xml", NULL};
	static const int pass[] = {207, 0};
	struct xfer_req q = {.method = "PROPFIND",
			     .headers = hdrs,
			     .body = body,
			     .body_len = sizeof(body) - 1,
			     .has_body = 1,
			     .max_len = LIST_REPLY_MAX,
			     .pass = pass};
	struct xfer_resp resp;
	int ret;

	if (depth > LIST_DEPTH_MAX) {
		remote_log("PROPFIND %s%s: collections nested too deep", w->h->base, rel);
		return -EBADMSG;
	}
	q.url = key_url(w->h, rel);
	if (!q.url)
		return -ENOMEM;
	ret = xfer_do(w->h->x, &q, &resp);
	if (ret == -ENOENT)
		ret = 0; /* no such directory: nothing stored under it yet */
	else if (ret == 0 && resp.status != 207)
		ret = -EBADMSG;
	else if (ret == 0)
		ret = parse_multistatus(w, rel, (const char *)resp.body, resp.len, depth);
	xfer_resp_free(&resp);
	free((char *)q.url);
	return ret;
}

int http_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx)
{
	struct walk w = {.h = be, .prefix = prefix, .cb = cb, .ctx = ctx};
	const char *slash = strrchr(prefix, '/');
	char *start = strndup(prefix, slash ? (size_t)(slash - prefix + 1) : 0);
	int ret;

	if (!start)
		return -ENOMEM;
	ret = walk_dir(&w, start, 0);
	free(start);
	return ret;
}

/* ---- parallel ranged reads ---- */

int http_get_many(void *be, struct remote_req *reqs, size_t n)
{
	struct http *h = be;
	struct xfer_req *q = calloc(n ? n : 1, sizeof(*q));
	struct xfer_resp *resp = calloc(n ? n : 1, sizeof(*resp));
	int *res = calloc(n ? n : 1, sizeof(*res));
	size_t *map = calloc(n ? n : 1, sizeof(*map)), m = 0;
	int ret = -ENOMEM;

	if (!q || !resp || !res || !map)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].result)
			continue;
		q[m] = (struct xfer_req){.method = "GET",
					 .off = reqs[i].off,
					 .len = reqs[i].len,
					 .max_len = reqs[i].len,
					 .url = key_url(h, reqs[i].key)};
		if (!q[m].url)
			goto out;
		map[m++] = i;
	}
	ret = xfer_do_many(h->x, q, resp, res, m);
	for (size_t j = 0; ret == 0 && j < m; j++) {
		reqs[map[j]].result = res[j];
		reqs[map[j]].data = res[j] == 0 ? resp[j].body : NULL;
		if (res[j] == 0 && resp[j].len != reqs[map[j]].len) {
			free(resp[j].body); /* xfer checked the range; this is a last guard */
			reqs[map[j]].data = NULL;
			reqs[map[j]].result = -EBADMSG;
		}
	}
out:
	for (size_t j = 0; q && j < m; j++) {
		free((char *)q[j].url);
		if (ret < 0 && res && res[j] == 0 && resp)
			xfer_resp_free(&resp[j]);
	}
	free(q);
	free(resp);
	free(res);
	free(map);
	return ret;
}

/* ---- open ---- */

/* Split url into base ("…/", scheme and authority as given, without credentials), its
 * decoded path, and the user name and password of "https://user:password@host/…"
 * (percent-decoded; *user and *pass are secmem, NULL when absent). Credentials are never
 * part of a URL given to libcurl or a log line: they go as CURLOPT_USERNAME/PASSWORD. */
static int parse_base(struct http *h, const char *url, char **user, char **pass)
{
	CURLU *u = curl_url();
	char *path = NULL, *query = NULL, *frag = NULL, *cu = NULL, *cp = NULL;
	const char *auth = strstr(url, "://") + 3, *at = NULL;
	size_t alen = strcspn(auth, "/?#");
	const char *slash = auth[alen] == '/' ? auth + alen : NULL;
	int ret = -EINVAL;

	*user = *pass = NULL;
	for (const char *p = auth; p < auth + alen; p++)
		if (*p == '@')
			at = p; /* userinfo ends at the last '@' of the authority */
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	if (query || frag || curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		goto out;
	if (!slash || slash == auth || (at && at + 1 == slash) || strchr(url, ' '))
		goto out;
	curl_url_get(u, CURLUPART_USER, &cu, CURLU_URLDECODE);
	curl_url_get(u, CURLUPART_PASSWORD, &cp, CURLU_URLDECODE);
	ret = -ENOMEM;
	if ((cu && !(*user = secmem_alloc(strlen(cu) + 1))) ||
	    (cp && !(*pass = secmem_alloc(strlen(cp) + 1))))
		goto out;
	if (cu)
		strcpy(*user, cu);
	if (cp)
		strcpy(*pass, cp);
	if (asprintf(&h->base, "%.*s%s%s", (int)(auth - url), url, at ? at + 1 : auth,
		     url[strlen(url) - 1] == '/' ? "" : "/") < 0) {
		h->base = NULL;
		goto out;
	}
	if (asprintf(&h->base_path, "%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/") < 0) {
		h->base_path = NULL;
		goto out;
	}
	ret = 0;
out:
	if (ret == -EINVAL) /* never the query: it may hold a signature or a token */
		remote_log("malformed URL '%.*s%s' (want http(s)://[user:password@]host/path/, "
			   "without a query or fragment)",
			   (int)(auth - url + alen) + (slash ? (int)strcspn(slash, "?#") : 0), url,
			   query || frag ? "?…" : "");
	if (ret < 0) {
		secmem_free(*user);
		secmem_free(*pass);
		*user = *pass = NULL;
	}
	if (cp)
		secmem_wipe(cp, strlen(cp));
	if (cu)
		secmem_wipe(cu, strlen(cu));
	curl_free(cu);
	curl_free(cp);
	curl_free(path);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return ret;
}

int http_backend_open(const char *url, const struct remote_opts *o, void **be,
		      const struct backend_ops **ops)
{
	struct xfer_cfg cfg = {
	    .opts = o,
	    .denied_hint = "check the credentials in the URL and the client certificate "
			   "(--cert/--key or EMBASSY_CERT/EMBASSY_KEY)",
	};
	struct http *h = calloc(1, sizeof(*h));
	char *user = NULL, *pass = NULL;
	int ret;

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	ret = parse_base(h, url, &user, &pass);
	cfg.username = user;
	cfg.password = pass;
	if (ret == 0)
		ret = xfer_new(&cfg, &h->x);
	secmem_free(user);
	secmem_free(pass);
	if (ret < 0) {
		http_free(h);
		return ret;
	}
	*be = h;
	*ops = &http_ops;
	return 0;
}
