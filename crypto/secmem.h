/* secmem: memory for secrets (libsodium guarded pages, wiped on free). */
#ifndef EMBASSY_SECMEM_H
#define EMBASSY_SECMEM_H
#include <stddef.h>

/* Initialise libsodium once; returns 0 or -EIO. Safe to call repeatedly. */
int secmem_init(void);
/* Allocate len bytes of guarded, mlock'ed memory; NULL on failure. */
void *secmem_alloc(size_t len);
/* Wipe and release memory from secmem_alloc; NULL is a no-op. */
void secmem_free(void *p);
/* Wipe any memory (e.g. a passphrase read into an ordinary buffer). */
void secmem_wipe(void *p, size_t len);

#endif
