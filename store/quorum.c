/* quorum: M-of-N quorum entries (building, checking, opening a share, unlocking with enough
 * shares) and officers' share files; see quorum.h and docs/FORMAT.md 5.3. Pure format code:
 * reading the entries from a store and unlocking it with them is keyadmin.c's. */
#include "quorum.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "refjson.h"
#include "secmem.h"
#include "shamir.h"
#include "wrap.h"

#define QUORUM_AD	  "EMBQ1"
#define QUORUM_AD_LEN	  5
#define QUORUM_NONCE_LEN  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define QUORUM_TAG_LEN	  crypto_aead_xchacha20poly1305_ietf_ABYTES
#define QUORUM_SEALED_LEN (QUORUM_SHARE_LEN + crypto_box_SEALBYTES)
#define QUORUM_MAX_SECRET 4096
#define SHARE_FILE_MAGIC  "embassy-quorum-share-v1\n"
#define SHARE_FILE_MAX	  1024

_Static_assert(QUORUM_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "Q");

/* ---- small JSON helpers ---- */

static int set_hex(json_t *obj, const char *name, const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 1);
	int ret = -ENOMEM;

	if (s) {
		hex_encode(data, len, s);
		ret = json_object_set_new(obj, name, json_string(s)) ? -ENOMEM : 0;
	}
	free(s);
	return ret;
}

/* obj[name] as exactly len bytes; -EBADMSG otherwise. */
static int get_hex(const json_t *obj, const char *name, uint8_t *out, size_t len)
{
	const json_t *v = json_object_get(obj, name);

	if (!json_is_string(v) || json_string_length(v) != 2 * len ||
	    hex_decode(json_string_value(v), out, len) < 0)
		return -EBADMSG;
	return 0;
}

/* ---- quorum entries ---- */

int quorum_entry_make(const void *secret, size_t len, unsigned m, const uint8_t (*pks)[32],
		      unsigned n, json_t **entry)
{
	uint8_t nonce[QUORUM_NONCE_LEN], rid[32], sealed[QUORUM_SEALED_LEN];
	uint8_t *q = NULL, *ct = NULL, *shares[SHAMIR_MAX_SHARES] = {0};
	json_t *e = NULL, *arr = NULL;
	int ret = -EINVAL;

	*entry = NULL;
	if (m < 1 || m > n || n > SHAMIR_MAX_SHARES || len == 0 || len > QUORUM_MAX_SECRET)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (sodium_memcmp(pks[i], pks[j], 32) == 0)
				return -EINVAL; /* one officer twice would lower the quorum */
	ret = -ENOMEM;
	q = secmem_alloc(QUORUM_KEY_LEN);
	ct = malloc(len + QUORUM_TAG_LEN);
	e = json_object();
	arr = json_array();
	if (!q || !ct || !e || !arr)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_keygen(q);
	randombytes_buf(nonce, sizeof(nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    ct, NULL, secret, len, (const uint8_t *)QUORUM_AD, QUORUM_AD_LEN, NULL, nonce, q);
	ret = shamir_split(q, QUORUM_KEY_LEN, m, n, shares);
	if (ret)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		json_t *slot = json_object();

		ret = -ENOMEM;
		if (!slot || json_array_append_new(arr, slot))
			goto out;
		ret = -EINVAL; /* a public key that is not a curve point */
		if (crypto_box_seal(sealed, shares[i], QUORUM_SHARE_LEN, pks[i]) != 0)
			goto out;
		wrap_recipient_id(pks[i], rid); /* never the public key itself: see wrap.h */
		ret = set_hex(slot, "recipient_id", rid, sizeof(rid));
		if (!ret)
			ret = set_hex(slot, "ct", sealed, sizeof(sealed));
		if (ret)
			goto out;
	}
	ret = -ENOMEM;
	if (json_object_set_new(e, "type", json_string("quorum")) ||
	    json_object_set_new(e, "m", json_integer(m)) ||
	    json_object_set_new(e, "n", json_integer(n)) ||
	    set_hex(e, "nonce", nonce, sizeof(nonce)) || set_hex(e, "ct", ct, len + QUORUM_TAG_LEN))
		goto out;
	ret = json_object_set(e, "shares", arr) ? -ENOMEM : 0;
	if (ret)
		goto out;
	*entry = e;
	e = NULL;
out:
	shamir_free(shares, n);
	secmem_free(q);
	free(ct);
	json_decref(arr);
	json_decref(e);
	return ret;
}

int quorum_entry_params(const json_t *entry, unsigned *m, unsigned *n)
{
	const char *t = json_string_value(json_object_get(entry, "type"));
	const json_t *sh = json_object_get(entry, "shares");
	uint64_t vm, vn;

	if (!json_is_object(entry) || !t)
		return -EBADMSG;
	if (strcmp(t, "quorum") != 0)
		return -EINVAL;
	if (refjson_get_uint(entry, "m", SHAMIR_MAX_SHARES, &vm) ||
	    refjson_get_uint(entry, "n", SHAMIR_MAX_SHARES, &vn) || vm < 1 || vm > vn ||
	    !json_is_array(sh) || json_array_size(sh) != vn)
		return -EBADMSG;
	*m = (unsigned)vm;
	*n = (unsigned)vn;
	return 0;
}

int quorum_entry_open_share(const json_t *entry, const uint8_t pk[32], const uint8_t sk[32],
			    uint8_t **share)
{
	uint8_t rid[32], erid[32], sealed[QUORUM_SEALED_LEN];
	unsigned m, n;
	int ret = quorum_entry_params(entry, &m, &n);

	*share = NULL;
	if (ret)
		return ret;
	wrap_recipient_id(pk, rid);
	for (unsigned i = 0; i < n; i++) {
		const json_t *slot = json_array_get(json_object_get(entry, "shares"), i);
		uint8_t *sh;

		if (get_hex(slot, "recipient_id", erid, sizeof(erid)))
			return -EBADMSG;
		if (sodium_memcmp(erid, rid, sizeof(rid)) != 0)
			continue;
		if (get_hex(slot, "ct", sealed, sizeof(sealed)))
			return -EBADMSG;
		sh = secmem_alloc(QUORUM_SHARE_LEN);
		if (!sh)
			return -ENOMEM;
		if (crypto_box_seal_open(sh, sealed, sizeof(sealed), pk, sk) != 0) {
			secmem_free(sh);
			return -EKEYREJECTED;
		}
		if (sh[0] < 1 || sh[0] > n) {
			secmem_free(sh);
			return -EBADMSG;
		}
		*share = sh;
		return 0;
	}
	return -ENOKEY;
}

int quorum_entry_unlock(const json_t *entry, const uint8_t *const *shares, size_t k,
			uint8_t **secret, size_t *len)
{
	uint8_t nonce[QUORUM_NONCE_LEN];
	const json_t *jct = json_object_get(entry, "ct");
	size_t ctlen = json_string_length(jct) / 2;
	uint8_t *q = NULL, *ct = NULL, *plain = NULL;
	unsigned m, n;
	int ret = quorum_entry_params(entry, &m, &n);

	*secret = NULL;
	*len = 0;
	if (ret)
		return ret;
	if (get_hex(entry, "nonce", nonce, sizeof(nonce)) || !json_is_string(jct) ||
	    ctlen <= QUORUM_TAG_LEN || ctlen > QUORUM_MAX_SECRET + QUORUM_TAG_LEN)
		return -EBADMSG;
	ret = -ENOMEM;
	q = secmem_alloc(QUORUM_KEY_LEN);
	ct = malloc(ctlen);
	plain = secmem_alloc(ctlen - QUORUM_TAG_LEN);
	if (!q || !ct || !plain)
		goto out;
	ret = -EBADMSG;
	if (get_hex(entry, "ct", ct, ctlen))
		goto out;
	/* fewer than m shares cannot be right, and would only be slower to reject */
	ret = -EKEYREJECTED;
	if (k < m || shamir_combine(shares, k, QUORUM_KEY_LEN, q) < 0)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, ct, ctlen,
						       (const uint8_t *)QUORUM_AD, QUORUM_AD_LEN,
						       nonce, q) != 0)
		goto out;
	*secret = plain;
	*len = ctlen - QUORUM_TAG_LEN;
	plain = NULL;
	ret = 0;
out:
	secmem_free(q);
	secmem_free(plain);
	free(ct);
	return ret;
}

/* ---- share files ---- */

static bool quorum_name_ok(const char *name)
{
	size_t pl = strlen(QUORUM_PREFIX), n = strlen(name);

	return n > pl && n < KEY_NAME_MAX && strncmp(name, QUORUM_PREFIX, pl) == 0 &&
	       strspn(name + pl, "0123456789abcdef") == n - pl;
}

int quorum_share_write(const char *path, const struct quorum_share *sh)
{
	char *text = secmem_alloc(SHARE_FILE_MAX);
	char hex[2 * QUORUM_SHARE_LEN + 1];
	int fd = -1, ret = -EINVAL;
	size_t len;

	if (!text)
		return -ENOMEM;
	if (!quorum_name_ok(sh->entry))
		goto out;
	hex_encode(sh->share, QUORUM_SHARE_LEN, hex);
	len = (size_t)snprintf(text, SHARE_FILE_MAX, SHARE_FILE_MAGIC "entry %s\nshare %s\n",
			       sh->entry, hex);
	secmem_wipe(hex, sizeof(hex));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = 0;
	/* exactly 0600 whatever the umask */
	if (fchmod(fd, 0600) || write(fd, text, len) != (ssize_t)len || fsync(fd))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
out:
	secmem_free(text);
	return ret;
}

void quorum_share_clear(struct quorum_share *sh)
{
	secmem_free(sh->share);
	memset(sh, 0, sizeof(*sh));
}

/* "name value\n" at p: returns the value's start and length, or NULL. */
static const char *share_line(const char *p, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *end;

	if (strncmp(p, name, nl) != 0 || p[nl] != ' ')
		return NULL;
	p += nl + 1;
	end = strchr(p, '\n');
	if (!end)
		return NULL;
	*vlen = (size_t)(end - p);
	return p;
}

int quorum_share_read(const char *path, struct quorum_share *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *text = NULL, *hex = NULL;
	const char *p, *v;
	struct stat st;
	size_t vlen;
	ssize_t n;
	int ret = -EBADMSG;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_mode & 077) {
		log_err("%s: share file is readable by others (mode %04o); run chmod 600 %s", path,
			(unsigned)(st.st_mode & 07777), path);
		ret = -EPERM;
		goto out;
	}
	ret = -ENOMEM;
	text = secmem_alloc(SHARE_FILE_MAX + 1);
	hex = secmem_alloc(2 * QUORUM_SHARE_LEN + 1);
	out->share = secmem_alloc(QUORUM_SHARE_LEN);
	if (!text || !hex || !out->share)
		goto out;
	n = read(fd, text, SHARE_FILE_MAX);
	ret = n < 0 ? -errno : -EBADMSG;
	if (n < 0 || n == SHARE_FILE_MAX)
		goto out;
	text[n] = '\0';
	ret = -EBADMSG;
	p = text;
	if (strncmp(p, SHARE_FILE_MAGIC, strlen(SHARE_FILE_MAGIC)) != 0)
		goto out;
	p += strlen(SHARE_FILE_MAGIC);
	v = share_line(p, "entry", &vlen);
	if (!v || vlen >= KEY_NAME_MAX)
		goto out;
	memcpy(out->entry, v, vlen);
	out->entry[vlen] = '\0';
	if (!quorum_name_ok(out->entry))
		goto out;
	p = v + vlen + 1;
	v = share_line(p, "share", &vlen);
	if (!v || vlen != 2 * QUORUM_SHARE_LEN || v[vlen + 1] != '\0')
		goto out;
	memcpy(hex, v, vlen);
	hex[vlen] = '\0';
	if (hex_decode(hex, out->share, QUORUM_SHARE_LEN) < 0 || out->share[0] == 0)
		goto out;
	ret = 0;
out:
	secmem_free(hex);
	secmem_free(text);
	close(fd);
	if (ret)
		quorum_share_clear(out);
	return ret;
}
