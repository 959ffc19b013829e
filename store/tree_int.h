/* tree_int: what the tree encodings share (tree.c, tree_json.c, tree_bin.c, and rootmeta.c
 * for the manifest root's xattrs). */
#ifndef EMBASSY_TREE_INT_H
#define EMBASSY_TREE_INT_H
#include <jansson.h>

#include "tree.h"

extern const char *const tree_type_names[];
int tree_entry_cmp(const void *x, const void *y);

/* Format 1: JSON. */
int tree_json_encode(const struct tree *t, uint8_t **out, size_t *len);
int tree_json_decode(const void *json, size_t len, struct tree **out);
int tree_json_decode_xattrs(const json_t *a, struct tree_entry *e);
/* Format 2: binary, decoded into one allocation (tree.packed). */
int tree_bin_encode(const struct tree *t, uint8_t **out, size_t *len);
int tree_bin_decode(const void *buf, size_t len, struct tree **out);

#endif
