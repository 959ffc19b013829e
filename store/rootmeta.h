/* rootmeta: the snapshot root's own metadata (mode, owner, ns mtime, xattrs) as the
 * manifest's optional "root_meta" member (docs/FORMAT.md 10.2). Trees describe their
 * entries, never the directory they are: without this, the root of a snapshot (restore
 * target, mount root) would lose what the sealed directory had.
 *
 *   {"mode":493,"uid":0,"gid":0,"mtime":<ns>,"xattrs":[[name,value],...]}
 *
 * mode/uid/gid/mtime are required, xattrs optional, each with the bounds of a tree entry;
 * names and values use the trees' "bytes" spelling. The decoder treats input as hostile. */
#ifndef EMBASSY_ROOTMETA_H
#define EMBASSY_ROOTMETA_H
#include <jansson.h>
#include <stddef.h>

#include "tree.h"

/* A manifest must stay below 1 MiB: the root's xattrs may take at most this much
 * (counted as their hex-spelled size, the worst case). */
#define ROOTMETA_XATTR_BYTES (256u << 10)

/* A new JSON object for e's mode, uid, gid, mtime_ns and xattrs (NULL: out of memory). */
json_t *rootmeta_encode(const struct tree_entry *e);
/* Fill e (type ENT_DIR) from v; -EBADMSG when out of shape. On error e may hold partial
 * xattrs: clear it with tree_entry_clear either way. */
int rootmeta_decode(const json_t *v, struct tree_entry *e);
/* Worst-case encoded size of e's xattrs (to keep a manifest within its bound). */
size_t rootmeta_xattr_bytes(const struct tree_entry *e);

#endif
