/* par: run fn(ctx, i) for i in [0, n) on up to nthreads threads (the caller is one of them). */
#ifndef EMBASSY_PAR_H
#define EMBASSY_PAR_H
#include <stddef.h>

void par_for(size_t n, int nthreads, void (*fn)(void *ctx, size_t i), void *ctx);
/* Number of online CPUs, at least 1. */
int par_ncpu(void);

#endif
