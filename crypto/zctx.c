#include "zctx.h"

#include <pthread.h>

static pthread_key_t ckey, dkey;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void free_c(void *p)
{
	ZSTD_freeCCtx(p);
}

static void free_d(void *p)
{
	ZSTD_freeDCtx(p);
}

static void make_keys(void)
{
	pthread_key_create(&ckey, free_c);
	pthread_key_create(&dkey, free_d);
}

ZSTD_CCtx *zctx_compress(void)
{
	pthread_once(&once, make_keys);
	ZSTD_CCtx *c = pthread_getspecific(ckey);
	if (!c && (c = ZSTD_createCCtx()))
		pthread_setspecific(ckey, c);
	return c;
}

ZSTD_DCtx *zctx_decompress(void)
{
	pthread_once(&once, make_keys);
	ZSTD_DCtx *d = pthread_getspecific(dkey);
	if (!d && (d = ZSTD_createDCtx()))
		pthread_setspecific(dkey, d);
	return d;
}
