/* s3: objects in an S3-compatible bucket (Ceph RGW, MinIO, AWS), path-style URLs
 * ENDPOINT/bucket/prefix/key, SigV4 signed by libcurl (CURLOPT_AWS_SIGV4).
 * libcurl 7.88 does not send x-amz-content-sha256, which S3 requires: every request carries
 * it (the body's hex SHA-256), and curl signs it with the other headers. Query strings are
 * signed as written, so they are built sorted and percent-encoded. */
#include "backend.h"
#include "secenv.h"
#include "xfer.h"
#include "xmlscan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MULTIPART_MIN  (64u << 20) /* larger puts go in parts */
#define PART_SIZE      (16u << 20)
#define LIST_REPLY_MAX (16u << 20)
#define LIST_PAGES_MAX 1000000
#define EMPTY_SHA256   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_HDR	       "x-amz-content-sha256: "

struct s3 {
	/* All immutable after open; the backend needs no lock of its own. */
	char *bucket_url;	   /* "ENDPOINT/bucket" */
	char *prefix;		   /* "" or "some/prefix/" */
	char *token_hdr;	   /* "x-amz-security-token: …" or NULL */
	const char *plain_hdrs[3]; /* for requests without a body */
	struct xfer *x;
};

static char *obj_url(const struct s3 *s, const char *key, const char *query)
{
	char *full = NULL, *esc = NULL, *url = NULL;

	if (asprintf(&full, "%s%s", s->prefix, key) < 0)
		return NULL;
	esc = xfer_escape(full, 1);
	if (esc && asprintf(&url, "%s/%s%s%s", s->bucket_url, esc, query ? "?" : "",
			    query ? query : "") < 0)
		url = NULL;
	free(esc);
	free(full);
	return url;
}

static void sha_header(const void *data, size_t len, char out[sizeof(SHA_HDR) + 64])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	memcpy(out, SHA_HDR, sizeof(SHA_HDR) - 1);
	sodium_bin2hex(out + sizeof(SHA_HDR) - 1, 65, h, sizeof(h));
}

/* A request with a body: headers = sha256, token, extra (NULL-terminated). */
static int send_body(struct s3 *s, const char *method, const char *url, const void *data,
		     size_t len, const char *extra, struct xfer_resp *resp)
{
	char sha[sizeof(SHA_HDR) + 64];
	const char *hdrs[4] = {sha, NULL, NULL, NULL};
	struct xfer_req q = {.method = method,
			     .url = url,
			     .headers = hdrs,
			     .body = data,
			     .body_len = len,
			     .has_body = 1};
	int k = 1;

	sha_header(data, len, sha);
	if (s->token_hdr)
		hdrs[k++] = s->token_hdr;
	hdrs[k] = extra;
	return xfer_do(s->x, &q, resp);
}

static int s3_get(void *be, const char *key, uint64_t off, uint64_t len, size_t max_len,
		  uint8_t **data, size_t *n)
{
	struct s3 *s = be;
	struct xfer_req q = {
	    .method = "GET", .headers = s->plain_hdrs, .off = off, .len = len, .max_len = max_len};
	struct xfer_resp resp;
	int ret;

	q.url = obj_url(s, key, NULL);
	if (!q.url)
		return -ENOMEM;
	ret = xfer_do(s->x, &q, &resp);
	if (ret == 0) {
		*data = resp.body ? resp.body : calloc(1, 1);
		*n = resp.len;
		ret = *data ? 0 : -ENOMEM;
	}
	free((char *)q.url);
	return ret;
}

static int simple_op(struct s3 *s, const char *method, const char *url, struct xfer_resp *resp)
{
	struct xfer_req q = {.method = method, .url = url, .headers = s->plain_hdrs};

	return xfer_do(s->x, &q, resp);
}

static int s3_stat(void *be, const char *key, uint64_t *size)
{
	struct s3 *s = be;
	struct xfer_resp resp;
	char *url = obj_url(s, key, NULL);
	int ret;

	if (!url)
		return -ENOMEM;
	ret = simple_op(s, "HEAD", url, &resp);
	if (ret == 0 && resp.content_length < 0)
		ret = -EBADMSG;
	if (ret == 0)
		*size = (uint64_t)resp.content_length;
	xfer_resp_free(&resp);
	free(url);
	return ret;
}

static int s3_del(void *be, const char *key)
{
	struct s3 *s = be;
	struct xfer_resp resp;
	char *url = obj_url(s, key, NULL);
	int ret;

	if (!url)
		return -ENOMEM;
	/* S3 answers 204 whether or not the key existed: no -ENOENT from here. */
	ret = simple_op(s, "DELETE", url, &resp);
	xfer_resp_free(&resp);
	free(url);
	return ret;
}

/* Text of the first element named name in an XML reply (malloc'd), or -EBADMSG. */
static int xml_first(const struct xfer_resp *r, const char *name, char **out)
{
	struct xmlscan sc;
	struct xml_tok t;
	int ret;

	xmlscan_init(&sc, (const char *)r->body, r->body ? r->len : 0);
	while ((ret = xmlscan_next(&sc, &t)) == 1)
		if ((t.type == XML_START || t.type == XML_EMPTY) && xmlscan_is(&t, name))
			return xmlscan_text(&sc, &t, out);
	return -EBADMSG;
}

/* S3 may answer 200 and still fail (CompleteMultipartUpload): look for <Error>. */
static int reply_is_error(const struct xfer_resp *r)
{
	char *code = NULL;
	struct xmlscan sc;
	struct xml_tok t;
	int err = 0;

	xmlscan_init(&sc, (const char *)r->body, r->body ? r->len : 0);
	while (xmlscan_next(&sc, &t) == 1) {
		if (t.type == XML_TEXT)
			continue;
		err = xmlscan_is(&t, "Error"); /* only the root element counts */
		break;
	}
	if (err && xml_first(r, "Code", &code) == 0)
		remote_log("S3 error reply: %s", code);
	free(code);
	return err;
}

static int holds(struct s3 *s, const char *key, const void *data, size_t len);

/* ---- multipart upload (puts over MULTIPART_MIN) ---- */

struct mpu {
	struct s3 *s;
	const char *key;
	char *id_esc; /* upload id, percent-encoded for the query */
	char **etags; /* one per part */
	size_t n_parts;
};

static int mpu_start(struct mpu *m)
{
	struct xfer_resp resp;
	char *url = obj_url(m->s, m->key, "uploads="), *id = NULL;
	int ret;

	if (!url)
		return -ENOMEM;
	ret = send_body(m->s, "POST", url, "", 0, NULL, &resp);
	if (ret == 0)
		ret = xml_first(&resp, "UploadId", &id);
	if (ret == 0 && !*id)
		ret = -EBADMSG;
	if (ret == 0 && !(m->id_esc = xfer_escape(id, 0)))
		ret = -ENOMEM;
	xfer_resp_free(&resp);
	free(id);
	free(url);
	return ret;
}

/* The part's ETag goes back into XML we send: accept only what an ETag looks like. */
static int etag_ok(const char *e)
{
	if (!*e || strlen(e) > 130)
		return 0;
	for (; *e; e++)
		if (!strchr("\"-0123456789abcdefABCDEF", *e))
			return 0;
	return 1;
}

static int mpu_part(struct mpu *m, size_t i, const uint8_t *data, size_t len)
{
	struct xfer_resp resp;
	char *q = NULL, *url = NULL;
	int ret = -ENOMEM;

	/* parameters in sorted order: the query is signed as written */
	if (asprintf(&q, "partNumber=%zu&uploadId=%s", i + 1, m->id_esc) < 0)
		return -ENOMEM;
	url = obj_url(m->s, m->key, q);
	if (url)
		ret = send_body(m->s, "PUT", url, data, len, NULL, &resp);
	if (ret == 0 && !etag_ok(resp.etag)) {
		remote_log("PUT %s: part %zu came back without a valid ETag", m->key, i + 1);
		ret = -EBADMSG;
	}
	if (ret == 0 && !(m->etags[i] = strdup(resp.etag)))
		ret = -ENOMEM;
	if (url)
		xfer_resp_free(&resp);
	free(url);
	free(q);
	return ret;
}

static char *mpu_body(const struct mpu *m)
{
	size_t cap = 64 + m->n_parts * 220, k;
	char *b = malloc(cap);

	if (!b)
		return NULL;
	k = (size_t)snprintf(b, cap, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < m->n_parts; i++)
		k += (size_t)snprintf(b + k, cap - k,
				      "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
				      i + 1, m->etags[i]);
	snprintf(b + k, cap - k, "</CompleteMultipartUpload>");
	return b;
}

static int mpu_complete(struct mpu *m, int flags)
{
	struct xfer_resp resp = {0};
	char *q = NULL, *url = NULL, *body = mpu_body(m);
	int ret = -ENOMEM;

	if (!body || asprintf(&q, "uploadId=%s", m->id_esc) < 0) {
		q = NULL;
		goto out;
	}
	url = obj_url(m->s, m->key, q);
	if (!url)
		goto out;
	ret = send_body(m->s, "POST", url, body, strlen(body),
			(flags & REMOTE_CREATE_ONLY) ? "If-None-Match: *" : NULL, &resp);
	if (ret == 0 && reply_is_error(&resp))
		ret = -EIO;
	xfer_resp_free(&resp);
out:
	free(url);
	free(q);
	free(body);
	return ret;
}

static void mpu_abort(struct mpu *m)
{
	struct xfer_resp resp;
	char *q = NULL, *url = NULL;

	if (!m->id_esc || asprintf(&q, "uploadId=%s", m->id_esc) < 0)
		return;
	url = obj_url(m->s, m->key, q);
	if (url && simple_op(m->s, "DELETE", url, &resp) == 0)
		xfer_resp_free(&resp);
	free(url);
	free(q);
}

/* Create-only: HEAD first (servers without conditional CompleteMultipartUpload would
 * otherwise replace silently); If-None-Match on the completion covers the race where
 * the server supports it. */
static int multipart_put(struct s3 *s, const char *key, const uint8_t *data, size_t len, int flags)
{
	struct mpu m = {.s = s, .key = key, .n_parts = (len + PART_SIZE - 1) / PART_SIZE};
	uint64_t size;
	int ret;

	if ((flags & REMOTE_CREATE_ONLY)) {
		ret = s3_stat(s, key, &size);
		if (ret == 0)
			return size == len && holds(s, key, data, len) ? 0 : -EEXIST;
		if (ret != -ENOENT)
			return ret;
	}
	m.etags = calloc(m.n_parts, sizeof(*m.etags));
	if (!m.etags)
		return -ENOMEM;
	ret = mpu_start(&m);
	for (size_t i = 0; ret == 0 && i < m.n_parts; i++) {
		size_t off = i * (size_t)PART_SIZE;
		ret = mpu_part(&m, i, data + off, len - off < PART_SIZE ? len - off : PART_SIZE);
	}
	if (ret == 0)
		ret = mpu_complete(&m, flags);
	if (ret < 0)
		mpu_abort(&m);
	for (size_t i = 0; i < m.n_parts; i++)
		free(m.etags[i]);
	free(m.etags);
	free(m.id_esc);
	return ret;
}

/* 1 if key holds exactly data: a create-only put repeated after its reply was lost (by
 * us or silently by libcurl) sees 412 for its own object. */
static int holds(struct s3 *s, const char *key, const void *data, size_t len)
{
	uint8_t *got = NULL;
	uint64_t size = 0;
	size_t n = 0;
	int same;

	/* the size first: no download of a large object that cannot match */
	if (s3_stat(s, key, &size) < 0 || size != len)
		return 0;
	same =
	    s3_get(s, key, 0, 0, len + 1, &got, &n) == 0 && n == len && memcmp(got, data, len) == 0;

	free(got);
	return same;
}

static int s3_put(void *be, const char *key, const void *data, size_t len, int flags)
{
	struct s3 *s = be;
	struct xfer_resp resp;
	char *url;
	int ret;

	if (len > MULTIPART_MIN)
		return multipart_put(s, key, data, len, flags);
	url = obj_url(s, key, NULL);
	if (!url)
		return -ENOMEM;
	/* If-None-Match: * makes the server refuse (412) to replace an existing object */
	ret = send_body(s, "PUT", url, data, len,
			(flags & REMOTE_CREATE_ONLY) ? "If-None-Match: *" : NULL, &resp);
	xfer_resp_free(&resp);
	free(url);
	if (ret == -EEXIST && holds(s, key, data, len))
		ret = 0;
	return ret;
}

/* ---- listing: ListObjectsV2 with continuation tokens ---- */

struct page {
	struct s3 *s;
	const char *prefix; /* the caller's prefix, relative to the store */
	int (*cb)(void *ctx, const char *key);
	void *ctx;
	char *next;    /* NextContinuationToken */
	int truncated; /* IsTruncated */
};

static int on_key(struct page *p, const char *full)
{
	size_t sl = strlen(p->s->prefix);
	const char *key = full + sl;

	if (strncmp(full, p->s->prefix, sl) || strncmp(key, p->prefix, strlen(p->prefix))) {
		remote_log("S3 listing: refusing key '%s' outside the prefix '%s%s'", full,
			   p->s->prefix, p->prefix);
		return -EBADMSG;
	}
	if (remote_key_check(key) < 0)
		return 0; /* not a name this store writes: ignore */
	return p->cb(p->ctx, key);
}

static int parse_page(struct page *p, const struct xfer_resp *r)
{
	struct xmlscan sc;
	struct xml_tok t;
	char *v = NULL;
	int ret, stop = 0, root = 0;

	xmlscan_init(&sc, (const char *)r->body, r->body ? r->len : 0);
	while (!stop && (ret = xmlscan_next(&sc, &t)) == 1) {
		if (t.type != XML_START && t.type != XML_EMPTY)
			continue;
		if (!root++ && !xmlscan_is(&t, "ListBucketResult"))
			return -EBADMSG;
		if (!xmlscan_is(&t, "Key") && !xmlscan_is(&t, "IsTruncated") &&
		    !xmlscan_is(&t, "NextContinuationToken"))
			continue;
		if ((ret = xmlscan_text(&sc, &t, &v)) < 0)
			break;
		if (xmlscan_is(&t, "Key"))
			stop = on_key(p, v);
		else if (xmlscan_is(&t, "IsTruncated"))
			p->truncated = !strcmp(v, "true");
		else {
			free(p->next);
			p->next = v;
			v = NULL;
		}
		free(v);
		v = NULL;
	}
	if (stop)
		return stop;
	return ret < 0 || !root ? -EBADMSG : 0;
}

static int list_page(struct page *p, const char *token)
{
	struct s3 *s = p->s;
	char *full = NULL, *pfx = NULL, *tok = NULL, *url = NULL;
	struct xfer_req q = {.method = "GET", .headers = s->plain_hdrs, .max_len = LIST_REPLY_MAX};
	struct xfer_resp resp = {0};
	int ret = -ENOMEM;

	if (asprintf(&full, "%s%s", s->prefix, p->prefix) < 0) {
		full = NULL;
		goto out;
	}
	pfx = xfer_escape(full, 0);
	tok = token ? xfer_escape(token, 0) : NULL;
	if (!pfx || (token && !tok))
		goto out;
	/* sorted: continuation-token < list-type < prefix */
	if (asprintf(&url, "%s?%s%s%slist-type=2&prefix=%s", s->bucket_url,
		     tok ? "continuation-token=" : "", tok ? tok : "", tok ? "&" : "", pfx) < 0) {
		url = NULL;
		goto out;
	}
	q.url = url;
	ret = xfer_do(s->x, &q, &resp);
	if (ret == 0)
		ret = parse_page(p, &resp);
	if (ret == -EBADMSG)
		remote_log("S3 listing %s: malformed reply", url);
	xfer_resp_free(&resp);
out:
	free(url);
	free(tok);
	free(pfx);
	free(full);
	return ret;
}

static int s3_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx)
{
	struct page p = {.s = be, .prefix = prefix, .cb = cb, .ctx = ctx};
	char *token = NULL;
	int ret;

	for (int pages = 0;; pages++) {
		p.truncated = 0;
		ret = list_page(&p, token);
		if (ret != 0 || !p.truncated)
			break;
		if (!p.next || !*p.next || (token && !strcmp(token, p.next)) ||
		    pages >= LIST_PAGES_MAX) {
			remote_log("S3 listing: truncated reply without a new continuation token");
			ret = -EBADMSG;
			break;
		}
		free(token);
		token = p.next;
		p.next = NULL;
	}
	free(token);
	free(p.next);
	return ret;
}

/* ---- parallel ranged reads ---- */

static int s3_get_many(void *be, struct remote_req *reqs, size_t n)
{
	struct s3 *s = be;
	size_t cnt = n ? n : 1, m = 0;
	struct xfer_req *q = calloc(cnt, sizeof(*q));
	struct xfer_resp *resp = calloc(cnt, sizeof(*resp));
	int *res = calloc(cnt, sizeof(*res));
	size_t *map = calloc(cnt, sizeof(*map));
	int ret = -ENOMEM;

	if (!q || !resp || !res || !map)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].result)
			continue;
		q[m] = (struct xfer_req){.method = "GET",
					 .headers = s->plain_hdrs,
					 .off = reqs[i].off,
					 .len = reqs[i].len,
					 .max_len = reqs[i].len,
					 .url = obj_url(s, reqs[i].key, NULL)};
		if (!q[m].url)
			goto out;
		map[m++] = i;
	}
	ret = xfer_do_many(s->x, q, resp, res, m);
	for (size_t j = 0; ret == 0 && j < m; j++) {
		struct remote_req *r = &reqs[map[j]];
		r->result = res[j];
		r->data = res[j] == 0 ? resp[j].body : NULL;
		if (res[j] == 0 && resp[j].len != r->len) {
			free(resp[j].body);
			r->data = NULL;
			r->result = -EBADMSG;
		}
	}
out:
	for (size_t j = 0; q && j < m; j++)
		free((char *)q[j].url);
	free(q);
	free(resp);
	free(res);
	free(map);
	return ret;
}

/* ---- open ---- */

static uint64_t s3_retries(void *be)
{
	return xfer_retries(((struct s3 *)be)->x);
}

static void s3_free(void *be)
{
	struct s3 *s = be;

	if (!s)
		return;
	xfer_free(s->x);
	free(s->bucket_url);
	free(s->prefix);
	free(s->token_hdr);
	free(s);
}

static const struct backend_ops s3_ops = {
    .get = s3_get,
    .put = s3_put,
    .del = s3_del,
    .stat = s3_stat,
    .list = s3_list,
    .get_many = s3_get_many,
    .free = s3_free,
    .retries = s3_retries,
};

static int bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
			    b[i]))
			return 0;
	return 1;
}

/* s3://bucket[/prefix[/]] against the endpoint → bucket_url and prefix ("" or "p/"). */
static int parse_url(struct s3 *s, const char *url, const char *endpoint)
{
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t bl = slash ? (size_t)(slash - b) : strlen(b), el = strlen(endpoint);
	const char *p = slash ? slash + 1 : "";
	size_t pl = strlen(p);

	if (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8)) {
		remote_log("S3 endpoint '%s' must start with https:// (or http://)", endpoint);
		return -EINVAL;
	}
	while (el && endpoint[el - 1] == '/')
		el--;
	while (pl && p[pl - 1] == '/')
		pl--;
	if (!bucket_ok(b, bl) || asprintf(&s->prefix, "%.*s%s", (int)pl, p, pl ? "/" : "") < 0 ||
	    remote_prefix_check(s->prefix) < 0) {
		remote_log("malformed S3 URL '%s' (want s3://bucket/prefix)", url);
		return -EINVAL;
	}
	if (asprintf(&s->bucket_url, "%.*s/%.*s", (int)el, endpoint, (int)bl, b) < 0) {
		s->bucket_url = NULL;
		return -ENOMEM;
	}
	if (!strncmp(endpoint, "http://", 7))
		remote_log("warning: S3 endpoint %s uses unencrypted transport", endpoint);
	return 0;
}

static int s3_creds(struct s3 *s, const struct remote_opts *o)
{
	/* the secrets were taken out of the environment at start (secenv.h) */
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = secenv_get("AWS_SECRET_ACCESS_KEY");
	const char *tok = secenv_get("AWS_SESSION_TOKEN"), *region = getenv("AWS_REGION");
	char *sigv4 = NULL;
	struct xfer_cfg cfg = {.opts = o,
			       .denied_hint = "access denied: check AWS_ACCESS_KEY_ID/"
					      "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)"};
	int ret = -ENOMEM;

	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = "us-east-1";
	if (!ak || !*ak || !sk || !*sk || strchr(ak, ':')) {
		remote_log("S3 needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
		return -EINVAL;
	}
	if (tok && *tok && asprintf(&s->token_hdr, "x-amz-security-token: %s", tok) < 0) {
		s->token_hdr = NULL;
		goto out;
	}
	if (asprintf(&sigv4, "aws:amz:%s:s3", region) < 0) {
		sigv4 = NULL;
		goto out;
	}
	cfg.username = ak;
	cfg.password = sk;
	cfg.sigv4 = sigv4;
	ret = xfer_new(&cfg, &s->x);
out:
	free(sigv4);
	return ret;
}

int s3_backend_open(const char *url, const struct remote_opts *o, void **be,
		    const struct backend_ops **ops)
{
	struct s3 *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	ret = parse_url(s, url, o->s3_endpoint);
	if (ret == 0)
		ret = s3_creds(s, o);
	if (ret < 0) {
		s3_free(s);
		return ret;
	}
	s->plain_hdrs[0] = SHA_HDR EMPTY_SHA256;
	s->plain_hdrs[1] = s->token_hdr;
	*be = s;
	*ops = &s3_ops;
	return 0;
}
