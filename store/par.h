/* par: run fn(ctx, i) for i in [0, n) on several threads (the caller is one of them). */
#ifndef EMBASSY_PAR_H
#define EMBASSY_PAR_H
#include <stddef.h>

/* On up to nthreads threads, started for this call: for work that blocks (network fetches),
 * where the parallelism wanted exceeds the CPUs. */
void par_for(size_t n, int nthreads, void (*fn)(void *ctx, size_t i), void *ctx);
/* On the caller and the CPU pool: par_ncpu() - 1 helper threads started once and reused, so
 * CPU work (opening frames as a stream is read) pays no thread start and exit per call (a
 * thread's exit madvises its stack away: a TLB shootdown on every CPU). Any number of
 * callers at once; each makes progress on its own thread whatever the helpers do. fn must
 * not block for long nor depend on thread-local state of the caller. */
void par_cpu_for(size_t n, void (*fn)(void *ctx, size_t i), void *ctx);
/* Number of online CPUs, at least 1. */
int par_ncpu(void);

#endif
