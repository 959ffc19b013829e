/* verify: check a store: descriptor, every snapshot manifest's signature, the head pointer,
 * every tree (structure, decodes), and that every referenced record exists (its pack is
 * present and long enough); with read_data, every record is fetched and opened. */
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
	/* every problem is reported here as one line (default: log_err) */
	void (*report)(void *ctx, const char *line);
	void *report_ctx;
	void (*progress)(void *ctx, const struct verify_progress *p);
	void *progress_ctx;
};

struct verify_result {
	uint64_t snapshots, trees, records, packs;
	uint64_t problems;
};

/* 0 when all is well, -EBADMSG when problems were found, other -errno on failure. */
int verify_run(struct store *s, const struct verify_opts *o, struct verify_result *res);

#endif
