/* secmem: thin wrapper over libsodium's guarded allocations. */
#include "secmem.h"

#include <errno.h>
#include <sodium.h>

int secmem_init(void)
{
	/* sodium_init returns 1 when already initialised, which is fine. */
	return sodium_init() < 0 ? -EIO : 0;
}

void *secmem_alloc(size_t len)
{
	/* sodium_malloc(0) is legal but callers never need it; keep one byte so
	 * a zero-length secret still has a distinct, freeable pointer. */
	return sodium_malloc(len ? len : 1);
}

void secmem_free(void *p)
{
	sodium_free(p);
}

void secmem_wipe(void *p, size_t len)
{
	if (p && len)
		sodium_memzero(p, len);
}
