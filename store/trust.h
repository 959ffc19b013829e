/* trust: what a recovery host remembers about the stores it has read, to defeat a host that
 * rolls back or freezes the head pointer, swaps in another signing key, or serves another
 * store at an address it knows.
 *
 * State (trust_state.h keeps it safe: private directory, no symlinks followed, atomic
 * writes, read-modify-write under a lock that only ever raises a sequence), in the state
 * directory ($EMBASSY_STATE_DIR, else $XDG_STATE_HOME/embassy, else ~/.local/state/embassy):
 *   <store id>.json      {"seq": highest head sequence verified, "gen": highest
 *                        snapshot-list generation, "sign_fpr": pinned key}
 *   url-<hash>.json      {"store_id": the store this address served, "url": the address}
 * Store ids, not URLs, key the sequence and the pin (a host can serve one store under many
 * addresses); the URL files catch the converse, another store under a known address.
 *
 * Checks:
 *   open      the signing key: trust_fpr when given; else the pinned one; pinned at the first
 *             successful open (TOFU unless trust_fpr or an anchor in the key file vouched)
 *   open      the URL served another store id before → a loud warning (accept_new_store
 *             records the new one)
 *   head      seq < remembered (or < min_seq) → -ESTALE ("rollback"), unless allow_rollback
 *             (logged); likewise a snapshot-list generation below the remembered one (a
 *             head without a list counts as 0: the host replays a list from before a
 *             forget); expired → warning, -EKEYEXPIRED when require_fresh
 * An unsafe or unreadable state is an error (-ENOTRECOVERABLE), never silently empty;
 * failing to *write* it is a warning for readers (they checked what they knew). */
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
	bool accept_new_store; /* --accept-new-store: an address may now serve another store */
	bool no_state;	       /* do not read or write the state file (tests of the host side) */
};

/* Check the signing key at open and pin it on first contact. anchored: the caller already
 * matched it against an anchor the user holds (a key file's trust lines). -EBADMSG when
 * it is not the trusted or the pinned key. */
int trust_check_key(const struct trust_opts *o, const char *store_id_hex,
		    const uint8_t sign_pk[SIGN_PK_LEN], bool anchored);
/* Remember which store an address serves; warn loudly when that changes. 0, or an unsafe
 * state (-ENOTRECOVERABLE). */
int trust_check_url(const struct trust_opts *o, const char *url, const char *store_id_hex);
/* Check a verified head against the remembered sequence and its expiry; remember it. */
int trust_check_head(const struct trust_opts *o, const char *store_id_hex,
		     const uint8_t sign_pk[SIGN_PK_LEN], const struct head *h);
/* No head pointer at all: -ENOENT (an empty store) unless a sequence was seen before, which
 * makes it a rollback (-ESTALE). */
int trust_check_missing_head(const struct trust_opts *o, const char *store_id_hex);
/* The sealer publishes seq (and snapshot-list generation gen, 0 for none): remember them,
 * so its own next read cannot be rolled back. 0 or -errno (the state could not be
 * written). */
int trust_remember(const struct trust_opts *o, const char *store_id_hex,
		   const uint8_t sign_pk[SIGN_PK_LEN], uint64_t seq, uint64_t gen);
/* What is remembered of a store, for a writer that must not act without it
 * (refresh-head): -ENOENT when nothing is, and it is checked that the state can be written
 * (-errno otherwise). */
int trust_known_seq(const struct trust_opts *o, const char *store_id_hex, uint64_t *seq);
/* The newest root document version (docs/FORMAT.md 19) verified for a store and the hex
 * BLAKE2b-256 of its body ("" and 0: none yet). */
int trust_root_get(const struct trust_opts *o, const char *store_id_hex, uint64_t *version,
		   char hash_hex[65]);
/* Remember a newer root version (pk: the store's pinned original key). reset: it names
 * another snapshot key than the version remembered before, so the remembered sequence and
 * generation start again at 0 (a thief who pushed them to the maximum with a stolen key
 * does not lock readers out after the rotation). -ESTALE when a newer one was recorded. */
int trust_root_advance(const struct trust_opts *o, const char *store_id_hex,
		       const uint8_t pk[SIGN_PK_LEN], uint64_t version, const char *hash_hex,
		       bool reset);
/* The state directory, absolute (a daemon resolves it before it leaves its cwd and keeps
 * it in state_dir); caller frees. */
char *trust_state_dir(const struct trust_opts *o);
/* The state file's path for a store (for messages and tests); caller frees. */
char *trust_state_path(const struct trust_opts *o, const char *store_id_hex);
/* The key of an address: credentials and a trailing '/' dropped, local paths made
 * absolute (for the url-<hash> files). Caller frees. */
char *trust_url_canonical(const char *url);

#endif
