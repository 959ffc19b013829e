/* marker: "a writer is at work" objects, locks/<32 hex>, that prune honours.
 *
 * A seal (or commit, or a prune that repacks) may refer to packs it found when it started,
 * and uploads packs no snapshot names yet. Prune must not delete those. Protocol
 * (docs/FORMAT.md, "Garbage collection"):
 *   1. the writer reads the current list generation G, writes its marker naming G, then
 *      reads the list again and leaves every pack it condemns or sweeps out of its dedup;
 *   2. prune condemns unused packs in a new generation first, then lists the markers, and
 *      sweeps (deletes) only packs condemned at a generation <= every live marker's G;
 *   3. at publish the writer takes back ("rescues") condemned packs it refers to, and fails
 *      if one it refers to was swept or is gone, rather than publish a broken snapshot.
 * The marker is refreshed every MARKER_REFRESH_S by a thread of its own and counts as live
 * for MARKER_EXPIRY_S after its last refresh (by the reader's clock: the two hosts' clocks
 * must agree to well within that). A killed writer's marker expires; a host deleting markers
 * can only make a concurrent seal fail at publish, never lose its data. Plaintext JSON:
 * {"v":1,"kind":"seal","host":...,"pid":N,"gen":G,"started":ns,"refreshed":ns}. */
#ifndef EMBASSY_MARKER_H
#define EMBASSY_MARKER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define MARKER_PREFIX	 "locks/"
#define MARKER_REFRESH_S 120
#define MARKER_EXPIRY_S	 1800

struct marker;

struct marker_info {
	char key[64];
	char kind[16];
	char host[256];
	long pid;
	uint64_t gen;
	int64_t started_ns, refreshed_ns;
	bool valid; /* parsed; an unreadable one is not live (like a deleted one, see above) */
};

/* Write a marker naming generation gen and keep it fresh until marker_end. */
int marker_begin(struct store *s, const char *kind, uint64_t gen, struct marker **out);
/* Stop refreshing and delete it (NULL is fine). */
void marker_end(struct marker *m);
const char *marker_key(const struct marker *m);

/* Every marker under locks/; *out malloc'd. */
int marker_list(struct store *s, struct marker_info **out, size_t *n);
/* Live: valid and refreshed within MARKER_EXPIRY_S of now (ns). */
bool marker_live(const struct marker_info *m, int64_t now_ns);

#endif
