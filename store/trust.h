/* trust: what a recovery host remembers about each store it has read, to defeat a host that
 * rolls back or freezes the head pointer, or swaps in another signing key.
 *
 * State: one small file per store id (not per URL: a host can serve one store under many
 * addresses) in the state directory ($EMBASSY_STATE_DIR, else $XDG_STATE_HOME/embassy, else
 * ~/.local/state/embassy), holding the highest head sequence verified and the signing key's
 * fingerprint. Written atomically (temp + rename), mode 0600.
 *
 * Checks on every verified head pointer (store_read_head):
 *   seq < remembered (or < min_seq)  → -ESTALE ("rollback"), unless allow_rollback (logged)
 *   expired                          → warning; -EKEYEXPIRED when require_fresh
 * and when the store is opened: a signing key other than the remembered one, or other than
 * trust_fpr when given → -EBADMSG. */
#ifndef EMBASSY_TRUST_H
#define EMBASSY_TRUST_H
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct trust_opts {
	const char *state_dir; /* NULL: default location */
	uint64_t min_seq;      /* --min-sequence */
	bool allow_rollback;   /* --allow-rollback */
	bool require_fresh;    /* --require-fresh */
	const char *trust_fpr; /* --trust: expected signing key fingerprint */
	bool no_state;	       /* do not read or write the state file (tests of the host side) */
};

/* Check the signing key at open (TOFU unless trust_fpr). */
int trust_check_key(const struct trust_opts *o, const char *store_id_hex,
		    const uint8_t sign_pk[SIGN_PK_LEN]);
/* Check a verified head against the remembered sequence and its expiry; remember it. */
int trust_check_head(const struct trust_opts *o, const char *store_id_hex,
		     const uint8_t sign_pk[SIGN_PK_LEN], const struct head *h);
/* No head pointer at all: -ENOENT (an empty store) unless a sequence was seen before, which
 * makes it a rollback (-ESTALE). */
int trust_check_missing_head(const struct trust_opts *o, const char *store_id_hex);
/* The sealer publishes seq: remember it, so its own next read cannot be rolled back. */
void trust_remember(const struct trust_opts *o, const char *store_id_hex,
		    const uint8_t sign_pk[SIGN_PK_LEN], uint64_t seq);
/* The state file's path for a store (for messages and tests); caller frees. */
char *trust_state_path(const struct trust_opts *o, const char *store_id_hex);

#endif
