/* hostile_common: what every hostile subcommand uses: its arguments, raw objects of a store,
 * and opening the store as one party (a passphrase holder or the sealer). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostile.h"
#include "secmem.h"
#include "store_int.h"

#define OBJ_MAX (1ull << 31)

static struct trust_opts no_state = {.no_state = true, .allow_rollback = true};

int hostile_die(const char *what, int err)
{
	fprintf(stderr, "hostile: %s: %s\n", what, err ? strerror(err < 0 ? -err : err) : "failed");
	return 1;
}

const char *hostile_opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

int hostile_flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int64_t hostile_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- raw objects ---- */

int hostile_obj_get(const char *url, const char *key, uint8_t **data, size_t *n)
{
	struct remote *r;
	int ret = remote_open(url, NULL, &r);
	if (!ret)
		ret = remote_get(r, key, 0, 0, OBJ_MAX, data, n);
	if (!ret)
		remote_free(r);
	return ret;
}

int hostile_obj_put(const char *url, const char *key, const uint8_t *data, size_t n)
{
	struct remote *r;
	int ret = remote_open(url, NULL, &r);
	if (ret)
		return ret;
	ret = remote_put(r, key, data, n, 0);
	remote_free(r);
	return ret;
}

/* ---- opening the store as one party ---- */

int hostile_read_pass(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, (int)cap, f)) {
		if (f)
			fclose(f);
		return -ENOENT;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

int hostile_open_reader(const char *url, const char *passfile, struct store **s)
{
	char pass[1024];
	struct store_auth a = {.trust = &no_state};
	int ret;
	if (!passfile)
		return -EINVAL;
	ret = hostile_read_pass(passfile, pass, sizeof(pass));
	if (ret)
		return ret;
	a.passphrase = pass;
	a.passlen = strlen(pass);
	ret = store_open(url, NULL, &a, s);
	secmem_wipe(pass, sizeof(pass));
	return ret;
}

int hostile_open_sealer(const char *url, const char *keyfile, struct store **s)
{
	struct store_auth a = {.trust = &no_state, .sealer_key = keyfile};
	return keyfile ? store_open(url, NULL, &a, s) : -EINVAL;
}
