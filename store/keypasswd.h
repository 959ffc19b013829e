/* keypasswd: changing the passphrase of one passphrase key entry (`embassy key passwd`)
 * without touching anything else in the store (docs/KEYS.md, FORMAT.md 5.1).
 *
 * Like every change to keys/, it needs the store opened with its sealer key (as key add and
 * key remove); the old passphrase must also open the entry being replaced, to a key bundle
 * equal to the sealer's. The order makes a crash harmless: the new entry is written
 * (create-only, under a new name) and read back and opened with the new passphrase before
 * the old entry is deleted, so at every instant at least one of the two opens the store. */
#ifndef EMBASSY_KEYPASSWD_H
#define EMBASSY_KEYPASSWD_H
#include <stddef.h>

#include "quorum.h"
#include "store.h"

#define KEYPASSWD_MAX_TRIES 8 /* entries tried without --entry: as many as a reader tries */

struct keypasswd {
	const char *entry; /* "keys/pass-…" to change, or NULL: the one the old passphrase opens */
	const char *old, *new; /* passphrases (not NUL-terminated: oldlen, newlen bytes) */
	size_t oldlen, newlen;
	unsigned long long kdf_ops; /* Argon2id cost of the new entry; 0: defaults (wrap.h) */
	size_t kdf_mem;
	char old_name[KEY_NAME_MAX]; /* out: the entry the old passphrase opened */
	char new_name[KEY_NAME_MAX]; /* out: the entry written */
};

/* Step 1: find the entry. -EPERM s not opened with the sealer key; -ENOENT p->entry does
 * not exist; -EINVAL p->entry is not a passphrase entry; -ENOKEY the store has no passphrase
 * entry; -EKEYREJECTED the old passphrase opens none (or not p->entry: wrong passphrase, or
 * an entry changed by the host); -EBADMSG the entry opens to another store's key bundle, or
 * is malformed. Sets p->old_name. */
int keypasswd_find(struct store *s, struct keypasswd *p);
/* Step 2: write the new entry under a new name, create-only, then read it back and open it
 * with the new passphrase (-EIO if what was stored does not open to the bundle; the new
 * entry is then deleted again). Sets p->new_name; on an error it is empty unless the entry
 * may have been written (the read-back failed to reach the store). The old entry is
 * untouched. */
int keypasswd_write(struct store *s, struct keypasswd *p);
/* All three steps: find, write, delete the old entry. When only the delete fails, its error
 * is returned with both names set: the new entry is in place, the old one still opens. */
int keypasswd_change(struct store *s, struct keypasswd *p);

#endif
