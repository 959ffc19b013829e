#include "memtune.h"

#include <malloc.h>

void memtune_bulk(void)
{
	/* 32 MiB is glibc's ceiling for this knob on 64-bit */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
