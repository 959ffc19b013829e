/* store: an opened embassy store — its remote, its keys, its signing identity — and the
 * read side of the format (snapshots, head pointer, trees, file contents).
 * Used by the CLI and the FUSE driver alike; never includes libfuse. */
#ifndef EMBASSY_STORE_H
#define EMBASSY_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"
#include "record.h"
#include "remote.h"
#include "sign.h"
#include "tree.h"

/* Store formats this code reads and writes: 1 (whole records) and 2 (framed data records,
 * docs/FORMAT.md 3.4). STORE_FORMAT is the highest supported, and what `init` creates;
 * every object is written in the format its store's descriptor names (store_format). */
#define STORE_FORMAT	 2
#define STORE_FORMAT_MIN 1

struct store;

/* What a quorum unlock found, for a clear message (store_auth.quorum, optional). */
struct store_quorum_status {
	unsigned m, n;	/* the quorum entry that came closest; m = 0: no entry had a share */
	unsigned given; /* distinct shares of that entry among the credentials */
	char entry[64]; /* its object name */
};

/* How a party authenticates. Exactly one of the sources is used, in this order:
 * sealer_key (full identity: may seal); key files and share files (a recipient key file, a
 * sealer key file, or officers of a quorum entry: key_file and key_files[] together, plus
 * share_files[] from 'embassy key share'); passphrase. */
struct trust_opts;
struct store_auth {
	const struct trust_opts *trust; /* rollback / freeze / key-pinning policy (trust.h) */
	const char *sealer_key;
	const char *key_file;
	const char *const *key_files; /* more key files: officers present together */
	size_t nkey_files;
	const char *const *share_files; /* officers' share files (keyadmin.h) */
	size_t nshare_files;
	struct store_quorum_status *quorum; /* out, may be NULL */
	const char *passphrase;		    /* not necessarily NUL-terminated: passlen bytes */
	size_t passlen;
	/* First ask `embassy agent` (agent/agent.h) for this store's key bundle; it is checked
	 * against the signed descriptor like an unwrapped key entry. Without other credentials
	 * a store the agent holds nothing for is -ENOKEY. Never with sealer_key. */
	bool agent;
};

struct store_init_opts {
	const char *sealer_key_out; /* written 0600; must not exist */
	const char *passphrase;	    /* may be NULL if recipients or a quorum given */
	size_t passlen;
	const char **recipients; /* recipient public key files */
	size_t nrecipients;
	unsigned quorum_m;     /* with officers: any quorum_m of them open the store */
	const char **officers; /* officers' recipient public key files (one quorum entry) */
	size_t nofficers;
	unsigned long long kdf_ops; /* 0: defaults (wrap.h) */
	size_t kdf_mem;
	int format; /* 0: STORE_FORMAT; else STORE_FORMAT_MIN..STORE_FORMAT */
};

/* Create an empty store at url. -EEXIST if it already holds a store. */
int store_init(const char *url, const struct remote_opts *ro, const struct store_init_opts *o,
	       char store_id_hex[2 * STORE_ID_LEN + 1]);
/* Open and authenticate. Errors: -ENOENT not a store, -EPROTONOSUPPORT newer format,
 * -EKEYREJECTED wrong passphrase/key (or quorum shares that do not combine), -ENOKEY no key
 * entry for this key file (or fewer quorum shares than the entry's m: see a->quorum),
 * -EPERM key file readable by group/others, -EBADMSG forged descriptor. */
int store_open(const char *url, const struct remote_opts *ro, const struct store_auth *a,
	       struct store **out);
void store_close(struct store *s);

struct remote *store_remote(const struct store *s);
const struct keys *store_keys(const struct store *s);
bool store_can_seal(const struct store *s);
/* The key that signs snapshots and snapshot lists now: the root document's snapshot key
 * (docs/FORMAT.md 19), else the store's original signing key. */
const uint8_t *store_sign_pk(const struct store *s);
/* The store's original signing key: the descriptor's, the one anchors and pins name. */
const uint8_t *store_anchor_pk(const struct store *s);
/* Chunker parameters recorded in the descriptor. */
void store_chunker_params(const struct store *s, uint32_t *min, uint32_t *avg, uint32_t *max);
/* Signing secret (NULL unless opened with a sealer key). */
const uint8_t *store_sign_sk(const struct store *s);
/* Hex store id. */
const char *store_id_hex(const struct store *s);
/* The key bundle (FORMAT.md 2.2) that opened s, for `embassy agent add`: out must be secure
 * memory of 88 bytes (AGENT_BUNDLE_LEN). */
int store_key_bundle(const struct store *s, uint8_t *out);
/* The store id a descriptor claims, without authenticating anything (agent remove). */
int store_peek_id(const char *url, const struct remote_opts *ro, uint8_t id[STORE_ID_LEN]);
/* The store's format version (its signed descriptor's `format`). */
int store_format(const struct store *s);

/* ---- snapshots and head ---- */
#define SNAP_SOURCE_LEN 32
struct snapshot {
	uint8_t id[ID_LEN];
	uint64_t seq;
	int64_t time_ns;
	char host[256];
	char **tags;
	size_t ntags;
	bool has_parent;
	uint8_t parent[ID_LEN];
	struct rec_ref root;
	uint64_t files, dirs, bytes;
	/* the sealed directory's own mode, owner, mtime and xattrs (manifest "root_meta");
	 * absent in snapshots of several paths and in those sealed before it was kept */
	bool has_root_meta;
	struct tree_entry root_meta; /* type ENT_DIR; owned (snapshot_clear frees it) */
	/* entries carrying xattrs, the root's own included (manifest "xattrs"; absent in
	 * snapshots sealed before it was kept): with 0, a mount knows no getxattr can find
	 * anything without looking */
	bool has_xattr_count;
	uint64_t xattr_entries;
	/* a write-through commit that merged (manifest "merged"): the snapshot of its own
	 * changes, merged with the head it found (parent) */
	bool has_merged;
	uint8_t merged[ID_LEN];
	/* the key epoch it is sealed under (manifest "epoch", absent = 0; FORMAT.md 2.4) */
	unsigned epoch;
	/* a seal's source (manifest "source", "started"; absent in commits and in seals before
	 * it was kept): a keyed hash of the sealing host and the sealed paths' identities, and
	 * when the seal began. The next seal skips reading a file only if its parent has the
	 * same source and the file's status did not change after that seal began. */
	bool has_source;
	uint8_t source[SNAP_SOURCE_LEN];
	int64_t started_ns;
};
void snapshot_clear(struct snapshot *sn);

struct head {
	uint64_t seq;
	uint8_t snapshot[ID_LEN];
	int64_t time_ns, expires_ns;
	/* The signed snapshot list this head names (lifecycle/snaplist.h): its generation and
	 * the BLAKE2b-256 of the object's bytes. has_list false: a head written before lists. */
	bool has_list;
	uint64_t gen;
	uint8_t list[ID_LEN];
};

/* Read and verify one snapshot manifest. -ENOENT, -EBADMSG (bad signature or record). */
int store_read_snapshot(struct store *s, const uint8_t id[ID_LEN], struct snapshot *out);
/* The live snapshots, sorted by seq: those the signed snapshot list names (lifecycle/
 * snaplist.h) when the head names one, else (a store sealed before lists) every manifest
 * that verifies. A listed manifest that is missing or does not verify, and any other
 * manifest that does not verify, is logged and counted in *bad (may be NULL); manifests
 * outside the list that verify (forgotten, or left by an interrupted seal) are not listed.
 * Errors of the head pointer (-ESTALE rollback, -EKEYEXPIRED, -EBADMSG) are returned. */
int store_list_snapshots(struct store *s, struct snapshot **out, size_t *n, size_t *bad);
/* Every manifest under snapshots/ that verifies, list or not, sorted by seq. */
int store_list_manifests(struct store *s, struct snapshot **out, size_t *n, size_t *bad);
/* Resolve a hex prefix among the snapshots the signed list names: -ENODATA when the head
 * names no list (the caller falls back to all manifests); else as store_resolve_snapshot. */
int store_live_resolve(struct store *s, const char *prefix, struct snapshot *out);
/* Check a snapshot object's magic and signature without keys: -EBADMSG if forged. */
int store_snapshot_check(const uint8_t sid[STORE_ID_LEN], const uint8_t pk[SIGN_PK_LEN],
			 const uint8_t id[ID_LEN], const uint8_t *obj, size_t n);
void store_free_snapshots(struct snapshot *v, size_t n);
/* The verified head pointer; -ENOENT when the store has no snapshot yet. */
int store_read_head(struct store *s, struct head *out);
/* Sign, seal and upload a manifest (create-only; sealer only); fills sn->id. It is not the
 * head until store_publish_head makes it so. */
int store_write_snapshot(struct store *s, struct snapshot *sn);
/* The newest head for a writer: heads/latest, or the newest snapshot of a signed list
 * generation beyond it (a writer that did not get to update heads/latest; verified like the
 * head, the result checked against the trust state). -ENOENT: no snapshot yet.
 * (store_head.c) */
int store_head_walk(struct store *s, struct head *out);
/* Make h (whose snapshot is written) the head if and only if the head is still parent (NULL:
 * the store has no snapshot yet): the create-only put of the next snapshot-list generation
 * decides between writers racing for the same next head, then heads/latest follows (its
 * expiry: h's time to expires). -EEXIST: another writer moved the head first (nothing was
 * changed). */
int store_publish_head(struct store *s, const uint8_t *parent, const struct head *h);
/* The same, calling claim(ctx, next) in the edit that publishes (before the snapshot is
 * added): a writer takes back the packs prune condemned and refuses (non-zero, returned) to
 * publish over packs prune swept (lifecycle/gcwriter.h gcw_claim). */
struct snaplist;
int store_publish_head_claim(struct store *s, const uint8_t *parent, const struct head *h,
			     int (*claim)(void *ctx, struct snaplist *next), void *ctx);
/* Parse and verify a head pointer object against a store id and signing key, without a
 * store handle and without the trust checks (the keyless copier). -EBADMSG if forged. */
/* Several embassies (remote_mirrors(r) > 1): the bytes of the newest head pointer that
 * verifies (store id sid, signed by pk or, when not NULL, by pk2) across the mirrors, the others
 * reported in the log and in the mirrors' stats (store_heads.c). -ENOENT when no mirror has one,
 * -EIO when none that answered has one and some did not answer, -EBADMSG when only forged ones were
 * served. The caller checks the result against its trust state. */
int store_head_newest(struct remote *r, const uint8_t sid[STORE_ID_LEN],
		      const uint8_t pk[SIGN_PK_LEN], const uint8_t *pk2, uint8_t **data, size_t *n);
int store_head_decode(const uint8_t sid[STORE_ID_LEN], const uint8_t pk[SIGN_PK_LEN],
		      const uint8_t *data, size_t n, struct head *out);
/* Re-sign the head pointer with a new expiry (sealer only), without a new snapshot. Refuses
 * (-ESTALE) a head below the remembered sequence (or list generation) or below the newest
 * manifest that verifies, and (-ENODATA) to run without a remembered sequence for the store
 * unless without_state: re-signing turns whatever the host serves into a fresh head. */
int store_refresh_head(struct store *s, int64_t valid_for_s, bool without_state, struct head *out);
/* Sign heads with a timestamp key (an "embassy-signing-key-v1" file, FORMAT.md 19) instead of
 * the sealer key, for store_refresh_head on a reader's open: it must be the timestamp key the
 * store's root document names (-EKEYREJECTED otherwise; -EBADMSG not a signing key file). */
int store_set_timestamp_key(struct store *s, const char *path);
/* "latest", a full hex id, or a unique prefix. -ENOENT none, -ENOTUNIQ ambiguous. */
int store_resolve_snapshot(struct store *s, const char *spec, struct snapshot *out);

/* ---- reading ---- */
/* Fetch, verify and open a record (through the caches). *plain malloc'd, *len = ref->plen.
 * -EBADMSG: the record is tampered, substituted or its pack object missing (logged with the
 * object's name); -EIO / -ETIMEDOUT: the store could not be reached. */
int store_fetch(struct store *s, enum record_type type, const struct rec_ref *ref, uint8_t **plain,
		size_t *len);
int store_load_tree(struct store *s, const struct rec_ref *ref, struct tree **out);
/* Records prune moved (lifecycle/reloc.h, docs/FORMAT.md 16.3.1): point a ref, or every ref
 * of a decoded tree, at the record's current place. The table comes from the signed list
 * the head names, loaded once per open store; -EBADMSG when the list names a table the store
 * does not produce intact. store_load_tree does this itself; code that decodes trees on its
 * own (walk, prefetch) calls store_reloc_tree. store_reloc_set: prune's own table. */
struct reloc;
int store_reloc_ref(struct store *s, struct rec_ref *ref);
int store_reloc_tree(struct store *s, struct tree *t);
int store_reloc_set(struct store *s, const struct reloc *r);
/* Walk path ("" or "/" = root) from a snapshot's root. On success *dir is the tree holding
 * the entry and *ent points into it (caller frees *dir); for the root itself *ent is NULL. */
int store_lookup(struct store *s, const struct snapshot *sn, const char *path, struct tree **dir,
		 const struct tree_entry **ent);
/* Read up to len bytes of a file at off into buf. Holes read as zeros. Returns bytes read
 * (short only at end of file) or -errno (-EBADMSG on a missing or bad record, -EIO when
 * the store cannot be reached). */
ssize_t store_read_file(struct store *s, const struct tree_entry *e, uint64_t off, size_t len,
			uint8_t *buf);

/* A persistent cache of *ciphertext* consulted by the read path before the remote (the
 * mount's disk cache). part is REC_WHOLE (record.h) for a whole record, or frame i of a
 * framed record: then the bytes are the record's header (frec_header_len bytes) followed by
 * the frame's ciphertext, enough to verify and open that frame alone. What comes from it is
 * verified like anything fetched; a part that fails is dropped and fetched again. Callbacks
 * must be thread-safe. */
struct store_fetch_hook {
	int (*get)(void *ctx, const struct rec_ref *ref, uint32_t part, uint8_t **rec, size_t *len);
	void (*put)(void *ctx, const struct rec_ref *ref, uint32_t part, const uint8_t *rec,
		    size_t len);
	void (*drop)(void *ctx, const struct rec_ref *ref, uint32_t part);
	void *ctx;
};
void store_set_fetch_hook(struct store *s, struct store_fetch_hook *h);
/* Resize the memory cache of opened records (default 256 MiB). Call before reading. */
int store_set_memory_cache(struct store *s, size_t bytes);
/* Fetch many records of one type, coalescing neighbours in a pack into one ranged read and
 * running reads in parallel. results[i] is 0 or -errno; bufs[i] a new cbuf reference. */
struct cbuf;
int store_fetch_many(struct store *s, enum record_type type, const struct rec_ref *refs, size_t n,
		     struct cbuf **bufs, int *results);
/* Read every ref from the store itself and open it, bypassing the caches (which are keyed
 * by id: a second stored copy of a record would never be read): for verify, which must
 * check each stored copy. results[i] as for store_fetch_many. */
int store_check_many(struct store *s, enum record_type type, const struct rec_ref *refs, size_t n,
		     int *results);
/* Like store_fetch, through the memory cache, returning a shared buffer. */
int store_fetch_cbuf(struct store *s, enum record_type type, const struct rec_ref *ref,
		     struct cbuf **out);

/* ---- framed data records, a frame at a time (format 2; store_frames.c) ---- */
/* Frames first … last of data record ref, each a new reference on a shared buffer of that
 * frame's plaintext (frame i holds bytes [i * FREC_FRAME, …) of the record), through the
 * memory cache; what is missing comes with one ranged read (two when the record's header is
 * neither cached nor predictable) and is opened on all cores. Whole or nothing: -EBADMSG
 * when a frame (or the header) fails verification or its pack is missing (logged with the
 * frame), -EIO / -ETIMEDOUT when the store could not be reached. */
int store_fetch_frames(struct store *s, const struct rec_ref *ref, uint32_t first, uint32_t last,
		       struct cbuf **out);
/* (store_pf.c) Bring every frame of the data records refs into the memory cache (the prefetcher):
 * neighbours in a pack are read together, frames opened on all cores. Frames that fail are
 * left out (their reader fetches them and gets the error). */
int store_prefetch_frames(struct store *s, const struct rec_ref *refs, size_t n);
/* Frames first … last of data record ref leave the memory cache (their buffers live on while
 * readers hold them): a sequential reader has had them and will not ask again, so the frames
 * behind it make room at once and their pool slots are reused for the frames ahead, instead
 * of the cache filling with them and fresh pages being faulted in and zeroed. With the
 * record's last frame its cached header goes too. */
void store_forget_frames(struct store *s, const struct rec_ref *ref, uint32_t first, uint32_t last);

/* ---- records in the store's format (store_rec.c) ---- */
/* Is a record of this type framed (crypto/frec.h) in this store? (format 2 data records) */
bool store_framed(const struct store *s, enum record_type type);
/* The id of plain as a record of type. For a framed record *hashes (if hashes is not NULL)
 * gets its malloc'd frame hashes, to hand to store_record_seal; otherwise NULL. */
int store_record_id(const struct store *s, enum record_type type, const void *plain, size_t len,
		    uint8_t id[ID_LEN], uint8_t **hashes);
/* Seal plain (with its id) into a malloc'd record; hashes from store_record_id, or NULL. */
int store_record_seal(const struct store *s, enum record_type type, const uint8_t id[ID_LEN],
		      const uint8_t *hashes, const void *plain, size_t len, int zlevel,
		      uint8_t **out, size_t *outlen);
/* Open a whole record (ref names it; rec is its len bytes) into a new shared buffer, checking
 * the plaintext length against ref->plen. -EBADMSG, -ENOMEM. */
int store_record_open(const struct store *s, enum record_type type, const struct rec_ref *ref,
		      const uint8_t *rec, size_t len, struct cbuf **out);

/* Object names. */
void store_pack_key(const uint8_t pack[PACK_ID_LEN], char out[64]);

#endif
