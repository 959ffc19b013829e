/* agent: the unlocked-key agent (`embassy agent`), so the passphrase KDF (or a key file or
 * quorum) is paid once per host and session, not per command or mount — as ssh-agent does
 * for ssh keys.
 *
 * The agent is a daemon of one user that holds stores' key bundles (FORMAT.md 2.2: store
 * id, master key, signing public key) in guarded, locked memory (sodium_malloc), never on
 * disk; it is not dumpable (no core file, no ptrace by the same user); after its lifetime
 * (--timeout) it wipes every bundle and exits, as on `agent stop` or SIGTERM.
 *
 * Where: the directory $EMBASSY_AGENT_DIR, else $XDG_RUNTIME_DIR/embassy-agent, else
 * /tmp/embassy-agent-<uid>; the socket is DIR/agent.sock. Both sides refuse a directory that
 * is not a real directory owned by the user with no group or other access (0700), the
 * socket is 0600, and both sides check the other's uid (SO_PEERCRED): the agent answers
 * only its own user, and a client talks only to an agent of its own user.
 *
 * Protocol (one request per connection, fixed sizes, no parsing):
 *   request  "EMA1" | op u8 | store id (16) | bundle (88; zero unless op ADD)      109 bytes
 *   reply    status u8 | length u32 LE | payload (length bytes)
 *   ops      1 GET (payload: the bundle), 2 ADD, 3 REMOVE, 4 STATUS (payload: expiry u64
 *            LE, Unix seconds; count u32 LE; count store ids), 5 STOP, 6 REMOVE_ALL
 *   status   0 ok, 1 not held, 2 full, 3 bad request
 * A bundle from the agent is used like one unwrapped from a key entry: it must verify the
 * store's signed descriptor (store_unlock.c), so a wrong or stale one is never trusted. */
#ifndef EMBASSY_AGENT_H
#define EMBASSY_AGENT_H
#include <stddef.h>
#include <stdint.h>

#define AGENT_BUNDLE_LEN 88
#define AGENT_ID_LEN	 16
#define AGENT_MAX_KEYS	 64

struct agent_status {
	uint64_t expires; /* Unix seconds */
	size_t n;
	uint8_t ids[AGENT_MAX_KEYS][AGENT_ID_LEN];
};

/* The agent's directory and socket paths (see above). -ENAMETOOLONG if they do not fit. */
int agent_paths(char *dir, size_t dlen, char *sock, size_t slen);
/* Check that dir is a directory of ours with no group or other access: 0, -ENOENT, or
 * -EPERM (exists but unsafe: owner, mode, or a symlink). */
int agent_check_dir(const char *dir);

/* Client side. Every call: -ENOTCONN when no agent of ours runs (no socket, nobody
 * listening, or an unsafe directory or peer), -EIO on a broken reply. */
/* The bundle held for a store id into out (AGENT_BUNDLE_LEN bytes; give it secure memory):
 * 0, or -ENOKEY when the agent holds none for it. */
int agent_get(const uint8_t id[AGENT_ID_LEN], uint8_t *out);
/* Hand a bundle to the agent (replacing one of the same store id): 0 or -ENOSPC (full). */
int agent_add(const uint8_t id[AGENT_ID_LEN], const uint8_t *bundle);
/* Wipe one store's bundle (-ENOKEY if not held), or all of them (id NULL). */
int agent_remove(const uint8_t *id);
int agent_status(struct agent_status *st);
/* The agent wipes everything and exits. */
int agent_stop(void);

/* Server side (`embassy agent start`): run the agent on an already bound, listening socket
 * until expires (Unix seconds), STOP or SIGTERM/SIGINT/SIGHUP; then wipe and unlink sock.
 * ready(ctx) is called once it serves (the starting process may then exit). */
int agent_serve(int lfd, const char *sock, uint64_t expires, void (*ready)(void *), void *ctx);
/* Create the directory (0700) and bind + listen on its socket (0600); -EADDRINUSE when a
 * live agent answers there, -EPERM for an unsafe directory. */
int agent_listen(const char *dir, const char *sock, int *lfd);

#endif
