/* tree_int: what the tree encodings share (tree.c, tree_json.c, tree_bin.c). */
#ifndef EMBASSY_TREE_INT_H
#define EMBASSY_TREE_INT_H
#include "tree.h"

extern const char *const tree_type_names[];
int tree_entry_cmp(const void *x, const void *y);

/* Format 1: JSON. */
int tree_json_encode(const struct tree *t, uint8_t **out, size_t *len);
int tree_json_decode(const void *json, size_t len, struct tree **out);
/* Format 2: binary, decoded into one allocation (tree.packed). */
int tree_bin_encode(const struct tree *t, uint8_t **out, size_t *len);
int tree_bin_decode(const void *buf, size_t len, struct tree **out);

#endif
