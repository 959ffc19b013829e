/* pathmatch: --exclude / --include patterns for seal and restore (restic-like rules).
 *
 * Paths are relative to the snapshot's (or the sealed directory's) root, components
 * separated by '/', without a leading '/'. (Below, STAR stands for an asterisk.) A pattern
 *   - without '/' matches any single component at any depth ("STAR.tmp", "cache");
 *   - with '/' is anchored at the root ("/var/log", "data/STAR.csv"; a leading '/' is
 *     ignored) and matches component by component; a component of two STARs matches any
 *     number of components (also none);
 *   - matches a directory's whole subtree: excluding "cache" leaves out cache/ and all in it.
 * Within a component: STAR any bytes, '?' one byte, "[...]" a class, '\' escapes (fnmatch
 * on one component at a time, so STAR never crosses a '/').
 * An --exclude-file has one pattern per line; blank lines and lines starting with '#' are
 * ignored; a trailing CR is dropped. */
#ifndef EMBASSY_PATHMATCH_H
#define EMBASSY_PATHMATCH_H
#include <stdbool.h>
#include <stddef.h>

struct pathmatch;

struct pathmatch *pathmatch_new(void);
void pathmatch_free(struct pathmatch *pm);
/* -EINVAL for an empty pattern. */
int pathmatch_add(struct pathmatch *pm, const char *pattern);
/* Patterns from a file; -errno on I/O, -EINVAL on a bad line (logged with its number). */
int pathmatch_add_file(struct pathmatch *pm, const char *file);
size_t pathmatch_count(const struct pathmatch *pm);
/* Does a pattern match path (or one of its ancestors, i.e. is path inside a matched
 * directory)? */
bool pathmatch_match(const struct pathmatch *pm, const char *path);
/* Does a pattern match path itself (not merely one of its ancestors)? For find. */
bool pathmatch_match_self(const struct pathmatch *pm, const char *path);
/* Could something below directory path match (for --include: descend into it)? */
bool pathmatch_may_contain(const struct pathmatch *pm, const char *dir);

#endif
