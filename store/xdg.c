/* xdg: absolute per-user directories (see xdg.h). */
#include "xdg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *xdg_dir(const char *env, const char *home_sub)
{
	const char *x = getenv(env), *home = getenv("HOME");
	char *p = NULL;
	int n;

	if (x && x[0] == '/')
		n = asprintf(&p, "%s/embassy", x);
	else if (home && home[0] == '/')
		n = asprintf(&p, "%s/%s/embassy", home, home_sub);
	else {
		errno = ENOENT;
		return NULL;
	}
	if (n < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

char *xdg_absolute(const char *path)
{
	char *cwd, *p = NULL;
	int n;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	n = asprintf(&p, "%s/%s", cwd, strncmp(path, "./", 2) ? path : path + 2);
	free(cwd);
	if (n < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}
