/* tree: one directory's listing, stored as one record (REC_TREE); see docs/FORMAT.md 9.
 * Two encodings, chosen by the store's format: 1 = JSON (tree_json.c), 2 = binary
 * (tree_bin.c, decoded without an allocation per entry). tree_decode treats its input as
 * hostile, and both decoders apply the same rules: they reject bad names ("", ".", "..", "/"
 * or NUL inside, > 255 bytes), unsorted or duplicate names, unknown types, chunk lists that
 * overlap, run past the file size or are out of order, and absurd sizes, with -EBADMSG. */
#ifndef EMBASSY_TREE_H
#define EMBASSY_TREE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define PACK_ID_LEN	     16
#define TREE_NAME_MAX	     255
#define TREE_MAX_ENTRIES     (4u << 20)
#define TREE_MAX_XATTR_VALUE (64u << 10)
#define TREE_MAX_XATTRS	     1024
#define TREE_MAX_DEPTH	     4096 /* directory nesting readers follow */

/* Where a record lives: enough to fetch and open it without any index. */
struct rec_ref {
	uint8_t id[ID_LEN];
	uint8_t pack[PACK_ID_LEN];
	uint64_t off;  /* byte offset of the record in the pack object */
	uint32_t len;  /* record length (ciphertext incl. nonce and tag) */
	uint32_t plen; /* plaintext length */
};

/* A data chunk of a file: its file offset and its record. Gaps between chunks are holes. */
struct chunk_ref {
	uint64_t foff;
	struct rec_ref rec;
};

struct xattr {
	char *name;
	uint8_t *value;
	size_t len;
};

/* ENT_SOCK exists in format 2 only (a socket bound on a --rw mount; seal skips sockets). */
enum entry_type { ENT_FILE = 1, ENT_DIR, ENT_SYMLINK, ENT_FIFO, ENT_CHR, ENT_BLK, ENT_SOCK };

/* The S_IFMT bits of a type (S_IFREG for one out of range), and the type of st_mode's S_IFMT
 * bits (0 for none a tree can hold). One table, so every layer maps types alike. */
uint32_t tree_type_mode(enum entry_type t);
enum entry_type tree_mode_type(uint32_t mode);

struct tree_entry {
	char *name; /* NUL-terminated; any bytes but '/' and NUL */
	size_t namelen;
	enum entry_type type;
	uint32_t mode; /* permission bits incl. suid/sgid/sticky (07777) */
	uint32_t uid, gid;
	int64_t mtime_ns;
	uint64_t size;	  /* file: length in bytes; symlink: target length */
	uint64_t rdev;	  /* char/block devices */
	uint64_t link_id; /* non-zero: hard-link group, unique within a snapshot */
	uint32_t nlink;	  /* the source's link count when sealed (names may lie outside) */
	char *target;	  /* symlink target, verbatim */
	struct xattr *xattrs;
	size_t nxattrs;
	struct chunk_ref *chunks; /* file: sorted by foff */
	size_t nchunks;
	struct rec_ref subtree;	  /* dir */
	uint64_t subtree_entries; /* dir: number of entries in the subtree record */
};

struct tree {
	struct tree_entry *e; /* sorted by name (bytewise) */
	size_t n;
	/* true: one allocation (this struct) holds the entries, chunk lists, xattrs and a copy
	 * of the record whose bytes the names, targets and values point into (format 2
	 * decoding); the entries must not be changed or cleared one by one */
	bool packed;
};

/* Encode for a store of the given format (1 or 2); *out malloc'd. The encoder trusts its
 * input (writers validate); -EINVAL for what the encoding cannot represent. */
int tree_encode(const struct tree *t, int format, uint8_t **out, size_t *len);
/* Decode and validate a record of a store of the given format: 0, -EBADMSG (malformed),
 * -ENOMEM, -EPROTONOSUPPORT (unknown format). */
int tree_decode(const void *buf, size_t len, int format, struct tree **out);
void tree_free(struct tree *t);
/* A deep copy whose entries are allocated one by one (so a writer may change them). */
int tree_dup(const struct tree *t, struct tree **out);
/* A deep copy of n xattrs (*out NULL when n is 0); on -ENOMEM nothing is left allocated. */
int tree_xattrs_dup(const struct xattr *src, size_t n, struct xattr **out, size_t *nout);
/* Free one entry's members (not the entry itself); not for entries of a packed tree. */
void tree_entry_clear(struct tree_entry *e);
/* Binary search by name; NULL if absent. */
const struct tree_entry *tree_find(const struct tree *t, const char *name, size_t len);
/* Index of the first chunk that covers or follows off (nchunks if none). */
size_t tree_chunk_at(const struct tree_entry *e, uint64_t off);
/* Sort entries by name (for writers). */
void tree_sort(struct tree *t);
/* Name ordering used everywhere: bytewise, shorter first on a common prefix. */
int tree_namecmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
