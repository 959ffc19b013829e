/* zctx: per-thread zstd contexts. ZSTD_compress() builds and frees a context (hundreds of KiB,
 * zeroed) on every call, which dominated sealing many small files; each thread keeps one
 * instead, freed when the thread exits. */
#ifndef EMBASSY_ZCTX_H
#define EMBASSY_ZCTX_H
#include <zstd.h>

/* NULL only when out of memory (callers then fall back to the one-shot functions). */
ZSTD_CCtx *zctx_compress(void);
ZSTD_DCtx *zctx_decompress(void);

#endif
