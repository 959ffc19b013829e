/* multi: one logical store served by several embassies (URL1,URL2,...), see multi.c. */
#ifndef EMBASSY_MULTI_H
#define EMBASSY_MULTI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define MULTI_MAX 8 /* mirrors in one multi-URL */

/* ---- selection (pure: no I/O, no clock of its own, no lock; multi.c holds one) ----
 * Which mirror to ask first: the ones that are up, fastest measured first; the ones that
 * failed lately (in their cool-down) after them, soonest back first. Every MPICK_PROBE-th
 * choice puts the up mirror measured longest ago first, so a mirror that was slow once (or
 * never asked) is measured again rather than avoided for ever. */
#define MPICK_PROBE	  64
#define MPICK_COOL_MIN_MS 1000u	 /* first cool-down after a failure */
#define MPICK_COOL_MAX_MS 60000u /* cool-downs double up to this */

struct mpick {
	size_t n;
	uint64_t cost_us[MULTI_MAX];	/* smoothed cost of a request (0: never measured) */
	uint64_t seen_at[MULTI_MAX];	/* the choice count at its last measurement */
	uint64_t down_until[MULTI_MAX]; /* ms (caller's clock); 0: up */
	unsigned fails[MULTI_MAX];	/* failures in a row */
	uint64_t choices;
};

void mpick_init(struct mpick *p, size_t n);
/* Fill order[] with the mirrors not in skip (a bit per mirror), first choice first; returns
 * how many. now_ms: the caller's monotonic clock. */
size_t mpick_order(struct mpick *p, uint64_t now_ms, uint32_t skip, size_t order[MULTI_MAX]);
/* Mirror i answered a request of bytes bytes in us microseconds. */
void mpick_ok(struct mpick *p, size_t i, uint64_t us, uint64_t bytes);
/* Mirror i failed (unreachable, refused, timed out): cool it down. */
void mpick_fail(struct mpick *p, size_t i, uint64_t now_ms);
bool mpick_is_down(const struct mpick *p, size_t i, uint64_t now_ms);

/* ---- the backend ---- */

/* Split url at its commas and open a backend for each part (open_one: remote.c's dispatch).
 * -EINVAL (logged) for an empty part, a duplicate, more than MULTI_MAX parts or a part
 * open_one refuses. */
int multi_backend_open(const char *url,
		       int (*open_one)(const char *part, void **be, const struct backend_ops **ops,
				       void *ctx),
		       void *ctx, uint64_t timeout_ms, void **be, const struct backend_ops **ops);
size_t multi_count(void *be);
const char *multi_name(void *be, size_t i);
/* A whole object from mirror i only (the head checks ask each mirror). */
int multi_get_from(void *be, size_t i, const char *key, size_t max_len, uint8_t **data, size_t *n);
/* key (whole, at most max_len) from every mirror at once, out[i] from mirror i (multi_fan.c);
 * a mirror cooling down after a failure is not asked (-EHOSTDOWN). */
struct remote_copy;
void multi_get_all(void *be, const char *key, size_t max_len, struct remote_copy *out);
/* Mirror i's bytes of key failed verification (the store layer found it on a copy from
 * multi_get_all): skip it for key from now on, report it; 1 while another mirror may still
 * serve key. */
int multi_reject_from(void *be, size_t i, const char *key);
/* What the head checks found at mirror i (remote.h: REMOTE_HEAD_*). */
void multi_note_head(void *be, size_t i, int state, uint64_t seq);
struct remote_mirror_stats;
void multi_stats(void *be, size_t i, struct remote_mirror_stats *out);

#endif
