/* deadline: see deadline.h. */
#include "deadline.h"

#include <time.h>

static _Thread_local uint64_t deadline; /* this thread's only */

uint64_t deadline_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t deadline_get(void)
{
	return deadline;
}

uint64_t deadline_set(uint64_t abs_ms)
{
	uint64_t old = deadline;

	deadline = abs_ms;
	return old;
}

uint64_t deadline_begin(uint64_t budget_ms)
{
	uint64_t old = deadline, want = deadline_now_ms() + budget_ms;

	if (!old || want < old)
		deadline = want;
	return old;
}

uint64_t deadline_cap(uint64_t abs_ms)
{
	if (!deadline)
		return abs_ms;
	return abs_ms && abs_ms < deadline ? abs_ms : deadline;
}
