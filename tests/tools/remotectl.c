/* remotectl: drive a remote backend from the shell (integration tests).
 *   remotectl [opts] URL put KEY FILE [--create-only]    (FILE "-" = stdin)
 *   remotectl [opts] URL get KEY [OFF LEN]               (to stdout)
 *   remotectl [opts] URL getmany KEY OFF LEN [KEY OFF LEN…]  (parallel; concatenated)
 *   remotectl [opts] URL list PREFIX | del KEY | stat KEY
 *   remotectl [opts] URL fill PREFIX N [SIZE]            (N small objects PREFIX00000…)
 * opts: --cacert F --cert F --key F --timeout S --s3-endpoint URL --inflight N --stats
 *       --max-len N (bound on whole-object gets)
 * Exit status: 0, or the errno of the failure (EEXIST 17, ENOENT 2, EACCES 13, …). */
#include "remote.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const char *key, int err)
{
	fprintf(stderr, "remotectl: %s %s: %s\n", what, key, strerror(-err));
	return -err;
}

static int read_file(const char *path, uint8_t **data, size_t *n)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, len = 0, r;
	uint8_t *buf = malloc(cap);

	if (!f || !buf) {
		free(buf);
		return -errno;
	}
	while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
	}
	if (f != stdin)
		fclose(f);
	*data = buf;
	*n = len;
	return 0;
}

static int print_key(void *ctx, const char *key)
{
	printf("%s\n", key);
	return 0;
}

struct fill {
	struct remote *r;
	const char *prefix;
	int n;
	size_t size;
	atomic_int next;
	atomic_int err;
};

static void *fill_worker(void *arg)
{
	struct fill *f = arg;
	char key[512];
	uint8_t *buf = malloc(f->size + 1);
	int i, ret;

	while (buf && (i = atomic_fetch_add(&f->next, 1)) < f->n && !atomic_load(&f->err)) {
		snprintf(key, sizeof(key), "%s%05d", f->prefix, i);
		for (size_t k = 0; k < f->size; k++)
			buf[k] = (uint8_t)key[k % strlen(key)];
		ret = remote_put(f->r, key, buf, f->size, 0);
		if (ret < 0) {
			fail("put", key, ret);
			atomic_store(&f->err, ret);
		}
	}
	free(buf);
	return NULL;
}

static int cmd_fill(struct remote *r, const char *prefix, int n, size_t size)
{
	struct fill f = {.r = r, .prefix = prefix, .n = n, .size = size};
	pthread_t t[8];

	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, fill_worker, &f);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	return -atomic_load(&f.err);
}

static int cmd_getmany(struct remote *r, char **argv, int argc)
{
	size_t n = (size_t)argc / 3;
	struct remote_req *q = calloc(n ? n : 1, sizeof(*q));
	int ret = 0;

	if (!q || argc % 3 || !n)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		q[i].key = argv[3 * i];
		q[i].off = strtoull(argv[3 * i + 1], NULL, 0);
		q[i].len = strtoull(argv[3 * i + 2], NULL, 0);
	}
	ret = remote_get_many(r, q, n);
	if (ret < 0)
		ret = fail("getmany", "", ret);
	for (size_t i = 0; i < n; i++) {
		if (!ret && q[i].result)
			ret = fail("getmany", q[i].key, q[i].result);
		if (!ret)
			fwrite(q[i].data, 1, q[i].len, stdout);
		free(q[i].data);
	}
	free(q);
	return ret;
}

static size_t max_len; /* --max-len */

static int cmd_get(struct remote *r, char **argv, int argc)
{
	uint64_t off = argc >= 3 ? strtoull(argv[1], NULL, 0) : 0;
	uint64_t len = argc >= 3 ? strtoull(argv[2], NULL, 0) : 0;
	uint8_t *data = NULL;
	size_t n = 0;
	int ret = remote_get(r, argv[0], off, len, max_len, &data, &n);

	if (ret < 0)
		return fail("get", argv[0], ret);
	fwrite(data, 1, n, stdout);
	free(data);
	return 0;
}

static int run(struct remote *r, const char *cmd, char **argv, int argc)
{
	uint8_t *data = NULL;
	uint64_t size;
	size_t n = 0;
	int ret;

	if (!strcmp(cmd, "put") && argc >= 2) {
		int flags = argc >= 3 && !strcmp(argv[2], "--create-only") ? REMOTE_CREATE_ONLY : 0;
		if ((ret = read_file(argv[1], &data, &n)) < 0)
			return fail("read", argv[1], ret);
		ret = remote_put(r, argv[0], data, n, flags);
		free(data);
		return ret < 0 ? fail("put", argv[0], ret) : 0;
	}
	if (!strcmp(cmd, "get") && argc >= 1)
		return cmd_get(r, argv, argc);
	if (!strcmp(cmd, "getmany"))
		return cmd_getmany(r, argv, argc);
	if (!strcmp(cmd, "list") && argc >= 1)
		return (ret = remote_list(r, argv[0], print_key, NULL)) < 0
			   ? fail("list", argv[0], ret)
			   : 0;
	if (!strcmp(cmd, "del") && argc >= 1)
		return (ret = remote_delete(r, argv[0])) < 0 ? fail("del", argv[0], ret) : 0;
	if (!strcmp(cmd, "stat") && argc >= 1) {
		if ((ret = remote_stat(r, argv[0], &size)) < 0)
			return fail("stat", argv[0], ret);
		printf("%llu\n", (unsigned long long)size);
		return 0;
	}
	if (!strcmp(cmd, "fill") && argc >= 2)
		return cmd_fill(r, argv[0], atoi(argv[1]),
				argc >= 3 ? (size_t)strtoull(argv[2], NULL, 0) : 64);
	fprintf(stderr, "remotectl: bad command '%s'\n", cmd);
	return EINVAL;
}

int main(int argc, char **argv)
{
	struct remote_opts o = {0};
	struct remote *r = NULL;
	int i = 1, ret, stats = 0;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--stats")) {
			stats = 1;
			continue;
		}
		if (!v)
			break;
		if (!strcmp(a, "--cacert"))
			o.cacert = v;
		else if (!strcmp(a, "--cert"))
			o.cert = v;
		else if (!strcmp(a, "--key"))
			o.key = v;
		else if (!strcmp(a, "--timeout"))
			o.timeout_s = atoi(v);
		else if (!strcmp(a, "--s3-endpoint"))
			o.s3_endpoint = v;
		else if (!strcmp(a, "--max-len"))
			max_len = (size_t)strtoull(v, NULL, 0);
		else if (!strcmp(a, "--inflight"))
			o.max_inflight = atoi(v);
		else
			break;
		i++;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: remotectl [--cacert F --cert F --key F --timeout S "
				"--s3-endpoint URL --inflight N --max-len N --stats] URL "
				"put|get|getmany|list|del|stat|fill ARGS\n");
		return EINVAL;
	}
	ret = remote_open(argv[i], &o, &r);
	if (ret < 0)
		return fail("open", argv[i], ret);
	ret = run(r, argv[i + 1], argv + i + 2, argc - i - 2);
	if (stats) {
		struct remote_stats s;
		remote_get_stats(r, &s);
		fprintf(stderr,
			"{\"gets\":%llu,\"puts\":%llu,\"lists\":%llu,\"bytes_in\":%llu,"
			"\"bytes_out\":%llu,\"retries\":%llu}\n",
			(unsigned long long)s.gets, (unsigned long long)s.puts,
			(unsigned long long)s.lists, (unsigned long long)s.bytes_in,
			(unsigned long long)s.bytes_out, (unsigned long long)s.retries);
	}
	remote_free(r);
	return ret;
}
