/* deadline: the time by which the caller on this thread wants an answer, whatever it waits
 * on meanwhile. A FUSE request sets one (now + the --timeout budget) before it asks the
 * store for anything; every wait below it then ends by that time: a claim on a record that
 * another thread (a prefetcher, another reader) is fetching (store/cache.c), each HTTP
 * attempt and each backoff between attempts (remote/xfer.c). Without it, one kernel read
 * could wait on several of those in turn, each with a full budget of its own.
 *
 * The deadline is thread-local, so it flows from fs/ through store_read and the caches to
 * the remote layer without every signature carrying it. 0 means none: each remote operation
 * then has its own budget (the CLI, prefetch workers). Times are CLOCK_MONOTONIC ms. */
#ifndef EMBASSY_DEADLINE_H
#define EMBASSY_DEADLINE_H
#include <stdint.h>

uint64_t deadline_now_ms(void);
/* The current thread's deadline (0: none). */
uint64_t deadline_get(void);
/* Set the thread's deadline to abs_ms (0: none); returns the previous one, to restore. */
uint64_t deadline_set(uint64_t abs_ms);
/* Set it to now + budget_ms, unless an earlier one is already set; returns the previous. */
uint64_t deadline_begin(uint64_t budget_ms);
/* abs_ms (a budget's own end, 0 = none) capped by the thread's deadline. */
uint64_t deadline_cap(uint64_t abs_ms);

#endif
