/* pathmatch: component-wise glob matching of relative paths (see pathmatch.h). */
#include "pathmatch.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PATH_COMPONENTS_MAX 4096

struct pattern {
	char **c; /* components */
	size_t n;
	bool anchored;
};

struct pathmatch {
	struct pattern *v;
	size_t n;
};

struct pathmatch *pathmatch_new(void)
{
	return calloc(1, sizeof(struct pathmatch));
}

static void pattern_clear(struct pattern *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->c[i]);
	free(p->c);
}

void pathmatch_free(struct pathmatch *pm)
{
	for (size_t i = 0; pm && i < pm->n; i++)
		pattern_clear(&pm->v[i]);
	if (pm)
		free(pm->v);
	free(pm);
}

size_t pathmatch_count(const struct pathmatch *pm)
{
	return pm ? pm->n : 0;
}

/* Split on '/', dropping empty components (leading, doubled or trailing '/'). */
static int split(const char *s, char ***out, size_t *n)
{
	char **v = NULL;
	*n = 0;
	while (*s) {
		size_t len = strcspn(s, "/");
		if (len) {
			if (*n == PATH_COMPONENTS_MAX)
				goto fail;
			char **nv = realloc(v, (*n + 1) * sizeof(*v));
			if (!nv)
				goto fail;
			v = nv;
			if (!(v[*n] = strndup(s, len)))
				goto fail;
			(*n)++;
		}
		s += len + (s[len] == '/');
	}
	*out = v;
	return 0;
fail:
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	*n = 0;
	return -ENOMEM;
}

int pathmatch_add(struct pathmatch *pm, const char *pattern)
{
	struct pattern p = {.anchored = strchr(pattern, '/') != NULL};
	struct pattern *v;
	int ret = split(pattern, &p.c, &p.n);
	if (ret)
		return ret;
	if (!p.n) {
		pattern_clear(&p);
		return -EINVAL;
	}
	v = realloc(pm->v, (pm->n + 1) * sizeof(*v));
	if (!v) {
		pattern_clear(&p);
		return -ENOMEM;
	}
	pm->v = v;
	pm->v[pm->n++] = p;
	return 0;
}

int pathmatch_add_file(struct pathmatch *pm, const char *file)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned no = 0;
	int ret = 0;

	if (!f)
		return -errno;
	while (!ret && (len = getline(&line, &cap, f)) >= 0) {
		no++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len || line[0] == '#')
			continue;
		ret = pathmatch_add(pm, line);
		if (ret == -EINVAL)
			log_err("%s:%u: not a pattern", file, no);
	}
	if (!ret && ferror(f))
		ret = -EIO;
	free(line);
	fclose(f);
	return ret;
}

static bool comp(const char *pat, const char *name)
{
	return fnmatch(pat, name, 0) == 0;
}

/* Does the pattern match path components [ci..n) from pattern component pi on, where a
 * pattern used up means the path is at or below a match? */
static bool match_from(const struct pattern *p, size_t pi, char **c, size_t n, size_t ci)
{
	if (pi == p->n)
		return true;
	if (!strcmp(p->c[pi], "**"))
		return match_from(p, pi + 1, c, n, ci) ||
		       (ci < n && match_from(p, pi, c, n, ci + 1));
	return ci < n && comp(p->c[pi], c[ci]) && match_from(p, pi + 1, c, n, ci + 1);
}

/* Like match_from, but the pattern must end exactly at the path's last component. */
static bool exact_from(const struct pattern *p, size_t pi, char **c, size_t n, size_t ci)
{
	if (pi == p->n)
		return ci == n;
	if (!strcmp(p->c[pi], "**"))
		return exact_from(p, pi + 1, c, n, ci) ||
		       (ci < n && exact_from(p, pi, c, n, ci + 1));
	return ci < n && comp(p->c[pi], c[ci]) && exact_from(p, pi + 1, c, n, ci + 1);
}

/* Can a path below components [0..n) still match? */
static bool prefix_from(const struct pattern *p, size_t pi, char **c, size_t n, size_t ci)
{
	if (ci == n || pi == p->n || !strcmp(p->c[pi], "**"))
		return true;
	return comp(p->c[pi], c[ci]) && prefix_from(p, pi + 1, c, n, ci + 1);
}

static bool match_one(const struct pattern *p, char **c, size_t n)
{
	if (p->anchored)
		return match_from(p, 0, c, n, 0);
	for (size_t i = 0; i < n; i++)
		if (comp(p->c[0], c[i]))
			return true;
	return false;
}

enum test_kind { TEST_MATCH, TEST_PREFIX, TEST_SELF };

static bool test_one(const struct pattern *p, char **c, size_t n, enum test_kind k)
{
	switch (k) {
	case TEST_PREFIX:
		return !p->anchored || prefix_from(p, 0, c, n, 0);
	case TEST_SELF:
		return p->anchored ? exact_from(p, 0, c, n, 0) : n && comp(p->c[0], c[n - 1]);
	default:
		return match_one(p, c, n);
	}
}

static bool test(const struct pathmatch *pm, const char *path, enum test_kind k)
{
	char **c = NULL;
	size_t n = 0;
	bool hit = false;

	if (!pm || !pm->n || split(path, &c, &n))
		return false;
	for (size_t i = 0; !hit && i < pm->n; i++)
		hit = test_one(&pm->v[i], c, n, k);
	for (size_t i = 0; i < n; i++)
		free(c[i]);
	free(c);
	return hit;
}

bool pathmatch_match(const struct pathmatch *pm, const char *path)
{
	return test(pm, path, TEST_MATCH);
}

bool pathmatch_match_self(const struct pathmatch *pm, const char *path)
{
	return test(pm, path, TEST_SELF);
}

bool pathmatch_may_contain(const struct pathmatch *pm, const char *dir)
{
	return test(pm, dir, TEST_PREFIX);
}
