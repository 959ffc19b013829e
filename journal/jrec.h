/* jrec: the plaintext of journal records — one operation on the live tree each (docs/FORMAT.md,
 * "Write journal"). Little-endian integers, byte strings with a length prefix; decoding treats
 * its input as hostile (bounds, name rules) and returns -EBADMSG on anything malformed.
 *
 * Nodes are named by journal ids (jid), which survive remounts; jid 1 is the root. A node of
 * the base snapshot is given a jid by a BIND record naming its path in the base; a new node by
 * the CREATE record that makes it. A generation (GEN … GEN_END) restates the whole pending
 * state against a new base after a commit (checkpoint records NODE, XCLEAR, EXTENT, CHILD,
 * TOMB); the operations after it change that state. */
#ifndef EMBASSY_JREC_H
#define EMBASSY_JREC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jlog.h"
#include "record.h"

enum jop_type {
	JOP_GEN = 1, /* gen, epoch, next jid; id = base snapshot (has_id) */
	JOP_GEN_END, /* gen: the checkpoint before it is complete */
	JOP_NODE,    /* checkpoint: a node's attributes; name = origin path (has_origin);
		      * flags: JNODE_CHANGED, JNODE_KIDS_CHANGED */
	JOP_XCLEAR,  /* checkpoint: jid's xattrs are the SETXATTRs that follow, not its origin's */
	JOP_EXTENT,  /* checkpoint: jid's bytes [off, off+len) are record pos's data at doff */
	JOP_CHILD,   /* checkpoint: parent's entry name is jid */
	JOP_TOMB,    /* checkpoint: parent's origin entry name is gone */
	JOP_BIND,    /* jid is the base entry at path name */
	JOP_CREATE, /* parent, name, jid, mode (with type bits), uid, gid, rdev, time; data = target
		     */
	JOP_LINK,   /* jid gets the name (parent, name), time */
	JOP_UNLINK, /* (parent, name) goes away (files and directories), time */
	JOP_RENAME, /* (parent, name) to (newparent, name2), flags (RENAME_*), time */
	JOP_SETATTR,   /* jid, valid (LIVE_SET_*), mode, uid, gid, size, atime, mtime, ctime */
	JOP_WRITE,     /* jid, off, time; data */
	JOP_SETXATTR,  /* jid, flags, name, data = value, time */
	JOP_RMXATTR,   /* jid, name, time */
	JOP_FREEZE,    /* epoch: the changes so far are being committed */
	JOP_INTENT,    /* epoch, id: the commit of that epoch publishes snapshot id */
	JOP_COMMITTED, /* epoch, id: it did; the tree's base is now snapshot id */
	JOP_ADOPT,     /* epoch, id: the tree's base moves on to snapshot id, the merge that
			* commit published (journal/adopt.c) */
	JOP_MAX
};

#define JNODE_CHANGED	   1u
#define JNODE_KIDS_CHANGED 2u

#define JREC_WRITE_MAX	(64u << 10) /* data per WRITE record */
#define JREC_WRITE_HDR	29	    /* WRITE body bytes before the data */
#define JREC_PATH_MAX	(64u << 10)
#define JREC_VALUE_MAX	(64u << 10)
#define JREC_TARGET_MAX 4095

struct jop {
	uint8_t type;
	uint64_t jid, parent, newparent;
	uint64_t gen, epoch;
	uint32_t mode, uid, gid, flags, valid, nlink;
	uint64_t rdev, size, off, len, base_len;
	int64_t atime, mtime, ctime, time;
	bool has_origin;
	const char *name; /* name, origin path, or xattr name (not NUL-terminated) */
	size_t namelen;
	const char *name2; /* RENAME: the new name */
	size_t name2len;
	const uint8_t *data; /* WRITE data, xattr value, symlink target */
	size_t datalen;
	bool has_id;
	uint8_t id[ID_LEN];
	struct jlog_pos pos; /* EXTENT */
	uint32_t doff;
};

/* A growable output buffer. */
struct jbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};
void jbuf_free(struct jbuf *b);

/* Append op's encoding to b (after clearing it). -ENOMEM, -EINVAL for out-of-range fields. */
int jrec_encode(const struct jop *op, struct jbuf *b);
/* The first JREC_WRITE_HDR bytes of a JOP_WRITE's encoding (op->data is not read): the
 * record's body is these followed by op->datalen bytes of data, so a caller can place the data
 * itself with one copy. -EINVAL for another type. */
int jrec_write_head(const struct jop *op, uint8_t head[JREC_WRITE_HDR]);
/* Decode one record body; pointers in op point into p. -EBADMSG if malformed. */
int jrec_decode(const uint8_t *p, size_t len, struct jop *op);
/* A name as the tree format allows it: 1..255 bytes, no '/', no NUL, not "." or "..". */
bool jrec_name_ok(const char *name, size_t len);

#endif
