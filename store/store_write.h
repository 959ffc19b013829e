/* store_write: the signed objects a sealer publishes, for the writers outside store/ (the
 * lifecycle: snapshot lists, forget, prune; the write-through commit). Readers never need it. */
#ifndef EMBASSY_STORE_WRITE_H
#define EMBASSY_STORE_WRITE_H
#include <jansson.h>

#include "store.h"

/* Parse a signed envelope {"format":N,"body":"...","sig":hex}: returns the body string
 * (borrowed from *root) after checking the signature with pk (skipped when pk is NULL).
 * -EPROTONOSUPPORT when N is not a supported format. */
int store_envelope_open(const uint8_t *data, size_t len, const char *ctx, const uint8_t *pk,
			json_t **root, const char **body, size_t *body_len);
/* Sign body (dumped compact, keys sorted) under ctx with the sealer's key. */
int store_envelope_make(const struct store *s, const char *ctx, json_t *body, char **out);

/* Object names outside the content-named prefixes. */
#define STORE_KEY_DESCRIPTOR "embassy.json"
#define STORE_KEY_HEAD	     "heads/latest"
/* A descriptor checked without keys (the keyless copier): its body's store id and signing
 * key, after its signature verified under that key. The caller must still pin the key
 * (trust_check_key): a self-signed descriptor proves nothing by itself. -EBADMSG if forged. */
int store_descriptor_check(const uint8_t *data, size_t n, uint8_t sid[STORE_ID_LEN],
			   uint8_t pk[SIGN_PK_LEN]);

/* Sign, seal and upload a manifest (create-only); fills sn->id. */
int store_write_snapshot(struct store *s, struct snapshot *sn);
/* Sign and publish the head pointer (replaces it); remembers its seq and gen. */
int store_write_head(struct store *s, const struct head *h);

#endif
