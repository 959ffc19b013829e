/* memtune: process-wide allocator settings for bulk work (seal, restore, mount). */
#ifndef EMBASSY_MEMTUNE_H
#define EMBASSY_MEMTUNE_H

/* Chunks are 0.25–4 MiB: glibc would mmap and unmap each one, and every fresh mapping costs
 * page faults and zeroing (a third of a seal's CPU time, measured). Keep them in the heap. */
void memtune_bulk(void);

#endif
