/* verify: check a store: descriptor, every snapshot manifest's signature, the head pointer
 * and the signed snapshot list it names (every listed snapshot present), every live
 * snapshot's trees (structure, decodes), and that every referenced record exists (its pack
 * is present and long enough); with read_data, every record is fetched and opened.
 * Manifests outside the signed list are checked for forgery only: they are no live
 * snapshot (forgotten, or left by an interrupted seal) and their data may be pruned. */
#ifndef EMBASSY_VERIFY_H
#define EMBASSY_VERIFY_H
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct verify_progress {
	uint64_t records_done, records_total;
};

struct verify_opts {
	bool read_data;
	/* with read_data: open only the records in packs of subset subset_n (1..subset_m) of
	 * subset_m; a pack's subset is the first 4 bytes of its (random) id, big-endian, mod
	 * subset_m. subset_m 0: every pack. Runs 1/M .. M/M together read every record once. */
	uint32_t subset_n, subset_m;
	/* or (subset_m 0) with read_data: open the records of randomly chosen packs in use, as
	 * many as make subset_percent of those packs (0 < p <= 100), or as many as hold at
	 * least subset_bytes of records in use; 0: unused. A new choice every run: successive
	 * runs cover the store with high probability, not with certainty (N/M does). */
	double subset_percent;
	uint64_t subset_bytes;
	/* every problem is reported here as one line (default: log_err) */
	void (*report)(void *ctx, const char *line);
	void *report_ctx;
	void (*progress)(void *ctx, const struct verify_progress *p);
	void *progress_ctx;
};

struct verify_result {
	uint64_t snapshots, trees, records, packs;
	uint64_t problems;
	uint64_t unlisted; /* manifests outside the signed snapshot list (not problems) */
};

/* 0 when all is well, -EBADMSG when problems were found, other -errno on failure. */
int verify_run(struct store *s, const struct verify_opts *o, struct verify_result *res);

#endif
