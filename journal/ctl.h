/* ctl: a --rw mount's control — the socket `embassy commit` and `embassy status` talk to, and
 * the committer thread (every --commit-every, or at once when writers need journal space).
 *
 * The socket is <runtime dir>/rw-<BLAKE2b-128 of the mountpoint's real path>.sock, where the
 * runtime dir is $EMBASSY_RUNTIME_DIR, else /run/embassy for root, else $XDG_RUNTIME_DIR/embassy,
 * else /tmp/embassy-<uid>; directory 0700, socket 0600, and a caller must have the daemon's uid
 * (or be root: SO_PEERCRED). One request per connection: a JSON object on one line,
 * {"op":"status"} or {"op":"commit","tags":[...]}, answered by one JSON object (the fields are
 * those of `embassy status --json` and `embassy commit --json`, see docs/JSON.md). */
#ifndef EMBASSY_CTL_H
#define EMBASSY_CTL_H
#include <stdint.h>

#include "live.h"

struct ctl;

struct ctl_opts {
	const char *mountpoint; /* real path */
	int64_t commit_every;	/* seconds; 0: only on request (and when writers need room) */
	int64_t valid_for_s;	/* head expiry of commits (0: default) */
};

int ctl_start(struct live *l, const struct ctl_opts *o, struct ctl **out);
/* Stop answering and committing (waits for a commit under way). */
void ctl_stop(struct ctl *c);

/* Client: send request (one JSON line) to the mount at mountpoint; *reply malloc'd.
 * -ENOENT / -ECONNREFUSED: no --rw mount answers there. */
int ctl_call(const char *mountpoint, const char *request, char **reply);

#endif
