/* keyadmin: key entries beyond the first two kinds (their format: quorum.h), and managing
 * them on a live store.
 *
 * Unlocking with a quorum: trying the store's quorum entries (quorum.h) with the key files
 * and share files of the officers at hand.
 *
 * Key administration (the `embassy key` command): writing entries at init or later with
 * the sealer key, listing entries without credentials, removing one, and extracting an
 * officer's share into a share file. */
#ifndef EMBASSY_KEYADMIN_H
#define EMBASSY_KEYADMIN_H
#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"
#include "quorum.h"
#include "remote.h"
#include "store.h"

#define QUORUM_MAX_TRIES 64 /* quorum entries looked at while unlocking */
/* Names under keys/ read from a listing: a real store has a handful of entries; a host that
 * lists millions must not make a reader or the sealer hold them all (-E2BIG past this). */
#define KEY_NAMES_MAX 10000

/* ---- unlocking with a quorum (used by store_unlock.c) ---- */
struct quorum_creds {
	const struct keyfile *kfs; /* recipient key files of officers present */
	size_t nkf;
	const struct quorum_share *shares; /* share files of officers apart */
	size_t nshares;
};
/* Try the store's quorum entries with what creds provide. For a combination that opens to a
 * well-formed key bundle (of any key epoch: epoch.h), accept(ctx, bundle, len) is called; it takes
 * the bundle (secmem) and returns 0 to stop, or an error to go on with the next entry. st (may be
 * NULL) tells which entry came closest. 0, -ENOKEY (no entry with enough shares: st->m, st->given
 * say how many), -EKEYREJECTED (enough shares that do not open), -EBADMSG, or a remote error.
 * Of several embassies, an entry whose first copy does not open is tried in every mirror's
 * distinct copy (store_copies.c); *good (malloc'd, or NULL when the first copy opened it) is
 * the copy that did, for the metadata mirror to keep (remote_keep). */
int quorum_unlock(struct remote *r, const struct quorum_creds *creds,
		  int (*accept)(void *ctx, uint8_t *bundle, size_t len), void *ctx,
		  struct store_quorum_status *st, uint8_t **good, size_t *good_len);

/* ---- administration ---- */
/* Write the entries o asks for (passphrase, recipients, quorum of officers), create-only.
 * added (may be NULL) is told each object name written. -EINVAL bad quorum parameters or a
 * duplicate officer; -EBADMSG a public key file that is not one; -EEXIST an entry of that
 * name exists (a recipient added twice). */
int keyadmin_write_entries(struct remote *r, const struct store_init_opts *o, const uint8_t *bundle,
			   size_t blen, void (*added)(void *ctx, const char *name), void *ctx);
/* Add entries to a store opened with its sealer key (-EPERM otherwise). */
int keyadmin_add(struct store *s, const struct store_init_opts *o,
		 void (*added)(void *ctx, const char *name), void *ctx);

/* Open the store's remote without credentials; -ENOENT when url holds no store. */
int keyadmin_open_remote(const char *url, const struct remote_opts *ro, struct remote **out);

struct key_entry_info {
	char name[KEY_NAME_MAX]; /* object name, "keys/…" */
	char type[16];		 /* "passphrase", "recipient", "quorum", "unknown", "malformed" */
	unsigned m, n;		 /* quorum only */
	uint64_t size;
};
/* Every object under keys/, sorted by name, with its type read from the (unauthenticated)
 * entry. *out malloc'd. */
int keyadmin_list(struct remote *r, struct key_entry_info **out, size_t *n);
/* Accept "keys/NAME" or "NAME"; writes the object name. -EINVAL if not a key entry name. */
int keyadmin_entry_name(const char *arg, char out[KEY_NAME_MAX]);
/* Delete entry name (object name) from a store opened with its sealer key. -ENOENT no such
 * entry; -EBUSY it is the last entry of a kind that can open the store; -EPERM no sealer. */
int keyadmin_remove(struct store *s, const char *name);
/* An officer's share of a quorum entry: entry NULL means the only quorum entry that holds a
 * share for kf. -ENOKEY none; -ENOTUNIQ several (give the entry); -EKEYREJECTED. */
int keyadmin_share(struct remote *r, const struct keyfile *kf, const char *entry,
		   struct quorum_share *out);

/* ---- key epochs (keyrotate.c; docs/KEYS.md 4.13) ---- */
struct rotate_opts {
	const char *sealer_key;	   /* the sealer key file the store was opened with: gets the
				    * new epoch's key (keyfile_add_epoch) */
	const char *const *remove; /* entry object names ("keys/…") left out of the new epoch */
	size_t nremove;
	const char *const *recipients; /* public key files of the recipients whose entries stay */
	size_t nrecipients;
	const char *const *officers; /* public key files of the officers of quorum entries that
				      * stay (every officer of each) */
	size_t nofficers;
	const char *passphrase; /* opens the passphrase entries that stay (one for all) */
	size_t passlen;
};
/* A new key epoch: a random master key for future snapshots; every entry of keys/ not in
 * o->remove is wrapped again, under a new name, for the bundle of all epochs (its holder reads
 * old and new), the sealer key file gets the new key, then every old entry is deleted (*left:
 * how many could not be). An entry that stays needs its holder's public key (recipient,
 * officers) or passphrase: -ENOKEY, and nothing changes, when one is missing. -ENOENT a
 * name in o->remove is not an entry; -EBUSY nothing would stay; -EPERM no sealer key;
 * -E2BIG KEY_EPOCH_MAX reached. added (may be NULL) is told each entry written. */
int keyadmin_rotate(struct store *s, const struct rotate_opts *o,
		    void (*added)(void *ctx, const char *name), void *ctx, size_t *left);

#endif
