/* hostile: the parts of the hostile test tool (tests/tools/hostile.c, its usage and main;
 * the sections in tests/tools/hostile/). */
#ifndef EMBASSY_HOSTILE_H
#define EMBASSY_HOSTILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* ---- hostile_common.c ---- */

/* Print "hostile: what: why" (err: a negative or positive errno, 0 for none); returns 1. */
int hostile_die(const char *what, int err);
/* The argument after name in argv, or NULL. */
const char *hostile_opt(int argc, char **argv, const char *name);
/* 1 if name is in argv. */
int hostile_flag(int argc, char **argv, const char *name);
int64_t hostile_now_ns(void);
/* One object of the store at url, whole, as the host sees it. */
int hostile_obj_get(const char *url, const char *key, uint8_t **data, size_t *n);
int hostile_obj_put(const char *url, const char *key, const uint8_t *data, size_t n);
/* The first line of a passphrase file, without its newline. */
int hostile_read_pass(const char *path, char *buf, size_t cap);
/* Open as one party, with no client state (no pin, rollback allowed). */
int hostile_open_reader(const char *url, const char *passfile, struct store **s);
int hostile_open_sealer(const char *url, const char *keyfile, struct store **s);

/* ---- hostile_pack.c: building packs by hand ---- */

struct pbuild {
	uint8_t id[PACK_ID_LEN];
	uint8_t *buf;
	size_t len, cap;
};

int pb_init(struct pbuild *p);
/* Seal plain as a record of type (id computed honestly) and append it. */
int pb_add(struct pbuild *p, const struct store *s, enum record_type type, const void *plain,
	   size_t len, struct rec_ref *ref);
/* Write the pack (create-only) and free its buffer. */
int pb_put(struct store *s, struct pbuild *p);
/* Publish a manifest for root (signed with whatever s->sign_sk holds) and a head for it;
 * prints the snapshot id. */
int hostile_publish(struct store *s, const struct rec_ref *root, uint64_t seq, const char *host,
		    const char *tag, bool head, bool listed);
/* The latest head's sequence number, 0 if none reads. */
uint64_t hostile_head_seq(struct store *s);

/* ---- the subcommands of the section files ---- */
int cmd_forge_snapshot(int argc, char **argv); /* hostile_forge.c */
int cmd_forge_head(int argc, char **argv);
int cmd_sign_head(int argc, char **argv);
int cmd_forge_root(int argc, char **argv);
int cmd_twin(int argc, char **argv);
int cmd_forge_epoch(int argc, char **argv);
int cmd_hostile_tree(int argc, char **argv); /* hostile_tree.c */

#endif
