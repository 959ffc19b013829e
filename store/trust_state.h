/* trust_state: the recovery host's state files, kept safe from other local users.
 *
 * One directory (trust.h says which), owned by the user and not writable by group or others
 * (refused otherwise: whoever can write it can lower a remembered sequence or swap a pinned
 * key). Files in it are small JSON objects, opened relative to the directory's fd with
 * O_NOFOLLOW and checked (regular, ours, not group/other-writable) before they are
 * believed; written to a new, unpredictable temp name (O_EXCL | O_NOFOLLOW, 0600), fsync'd
 * and renamed into place. A read-modify-write happens under an exclusive flock of
 * "<dir>/.lock", so two readers can never lose each other's update.
 *
 * Errors: -ENOENT (no such file, or no directory yet when not creating),
 * -ENOTRECOVERABLE (unsafe owner or mode, a symlink, unreadable or not JSON: logged with
 * the path and what to do), -ETIMEDOUT (the lock is held for more than a few seconds),
 * other -errno from the file system. */
#ifndef EMBASSY_TRUST_STATE_H
#define EMBASSY_TRUST_STATE_H
#include <jansson.h>
#include <stdbool.h>

struct tstate {
	int dirfd;
	int lockfd; /* -1 unless locked */
	char *dir;  /* for messages */
};

/* Open the state directory dir (created, with its parents, mode 0700, when create). */
int tstate_open(struct tstate *t, const char *dir, bool create);
/* Take the exclusive lock (released by tstate_close). */
int tstate_lock(struct tstate *t);
void tstate_close(struct tstate *t);
/* Read name as a JSON object (*out a new reference). */
int tstate_read(struct tstate *t, const char *name, json_t **out);
/* Replace name with j atomically (temp + fsync + rename + fsync of the directory). */
int tstate_write(struct tstate *t, const char *name, const json_t *j);

#endif
