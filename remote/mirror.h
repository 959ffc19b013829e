/* mirror: local copies of a store's metadata objects, for offline mounts (see mirror.c). */
#ifndef EMBASSY_MIRROR_H
#define EMBASSY_MIRROR_H
#include <stdbool.h>

#include "backend.h"

/* Wrap an opened backend (*be, *ops) so its verified metadata is mirrored in dir; on success
 * *be and *ops are the mirror's (which owns and frees the inner backend). Offline, *ops may
 * be NULL: the inner backend is never called. no_copies: serve no copy this session (still
 * keep what is verified). */
int mirror_wrap(const char *dir, bool offline, bool no_copies, void **be,
		const struct backend_ops **ops);

#endif
