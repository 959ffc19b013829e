/* secenv: see secenv.h. */
#include "secenv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"

static const char *const names[] = {"EMBASSY_PASSPHRASE", "AWS_SECRET_ACCESS_KEY",
				    "AWS_SESSION_TOKEN"};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static char *values[NNAMES]; /* secmem copies; written before threads only */
static bool captured;

static int index_of(const char *name)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int secenv_capture(void)
{
	int ret = 0;

	for (size_t i = 0; i < NNAMES; i++) {
		char *v = getenv(names[i]);
		size_t n;

		if (!v)
			continue;
		n = strlen(v);
		if (n && !values[i] && (values[i] = secmem_alloc(n + 1)))
			memcpy(values[i], v, n + 1);
		else if (n && !values[i])
			ret = -ENOMEM;
		/* the bytes the kernel shows in /proc/PID/environ, then the variable itself */
		secmem_wipe(v, n);
		unsetenv(names[i]);
	}
	captured = true;
	return ret;
}

const char *secenv_get(const char *name)
{
	int i = index_of(name);
	const char *v;

	if (i >= 0 && captured)
		return values[i];
	v = getenv(name);
	return v && *v ? v : NULL;
}

void secenv_forget(const char *name)
{
	int i = index_of(name);

	if (i < 0 || !values[i])
		return;
	secmem_free(values[i]); /* wipes */
	values[i] = NULL;
}
