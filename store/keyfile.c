#include "keyfile.h"

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
#include "secmem.h"

#define KEYFILE_MAX 8192 /* a sealer key file with KEY_EPOCH_MAX epoch lines fits */

/* Read the whole (small) file into secmem: it holds secrets. */
static int read_secret_file(const char *path, char **buf, bool need_private)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = -EBADMSG;
		goto out;
	}
	if (need_private && (st.st_mode & 077)) {
		log_err("%s: key file is readable by others (mode %04o); run chmod 600 %s", path,
			(unsigned)(st.st_mode & 07777), path);
		ret = -EPERM;
		goto out;
	}
	*buf = secmem_alloc(KEYFILE_MAX + 1);
	if (!*buf) {
		ret = -ENOMEM;
		goto out;
	}
	n = read(fd, *buf, KEYFILE_MAX);
	if (n < 0 || n == KEYFILE_MAX) {
		ret = n < 0 ? -errno : -EBADMSG;
		secmem_free(*buf);
		*buf = NULL;
		goto out;
	}
	(*buf)[n] = 0;
out:
	close(fd);
	return ret;
}

/* Find "name <hex>" on its own line and decode exactly len bytes. */
static int field(const char *text, const char *name, uint8_t *out, size_t len)
{
	size_t nl = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nl) || p[nl] != ' ')
			continue;
		const char *h = p + nl + 1;
		if (strspn(h, "0123456789abcdef") != 2 * len || (h[2 * len] && h[2 * len] != '\n'))
			return -EBADMSG;
		/* hex_decode wants exactly 2*len chars then NUL: copy (secmem, it is a secret) */
		char *tmp = secmem_alloc(2 * len + 1);
		int ret = -ENOMEM;
		if (tmp) {
			memcpy(tmp, h, 2 * len);
			tmp[2 * len] = 0;
			ret = hex_decode(tmp, out, len) ? -EBADMSG : 0;
			secmem_free(tmp);
		}
		return ret;
	}
	return -EBADMSG;
}

/* The key epochs a rotation appended (FORMAT.md 15.2): "epoch <n> <64 hex>", n = 1, 2, … in
 * order. A malformed or out-of-order line fails the whole file: a sealer that silently fell
 * back to an older epoch would seal future data for removed key holders. */
static int load_epochs(const char *text, struct keyfile *kf)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char name[32];
		unsigned n = kf->nepochs + 1;

		if (strncmp(p, "epoch ", 6))
			continue;
		if (n > KEY_EPOCH_MAX)
			return -EBADMSG;
		if (!kf->epochs && !(kf->epochs = secmem_alloc(KEY_EPOCH_MAX * KEY_LEN)))
			return -ENOMEM;
		snprintf(name, sizeof(name), "epoch %u", n);
		if (strncmp(p, name, strlen(name)) || p[strlen(name)] != ' ' ||
		    field(p, name, kf->epochs + (size_t)(n - 1) * KEY_LEN, KEY_LEN))
			return -EBADMSG;
		kf->nepochs = n;
	}
	return 0;
}

static int load_sealer(const char *text, struct keyfile *kf)
{
	kf->kind = KEYFILE_SEALER;
	kf->master = secmem_alloc(KEY_LEN);
	kf->secret = secmem_alloc(SIGN_SK_LEN);
	if (!kf->master || !kf->secret)
		return -ENOMEM;
	if (field(text, "store", kf->store_id, STORE_ID_LEN) ||
	    field(text, "master", kf->master, KEY_LEN) ||
	    field(text, "sign", kf->secret, SIGN_SK_LEN))
		return -EBADMSG;
	crypto_sign_ed25519_sk_to_pk(kf->pub, kf->secret);
	if (strstr(text, "\norigin ")) { /* optional; malformed: the whole file is */
		if (field(text, "origin", kf->origin, SIGN_PK_LEN))
			return -EBADMSG;
		kf->has_origin = true;
	}
	return load_epochs(text, kf);
}

static int load_signing(const char *text, struct keyfile *kf)
{
	uint8_t pk[SIGN_PK_LEN];
	kf->kind = KEYFILE_SIGNING;
	kf->secret = secmem_alloc(SIGN_SK_LEN);
	if (!kf->secret)
		return -ENOMEM;
	if (field(text, "public", kf->pub, SIGN_PK_LEN) ||
	    field(text, "secret", kf->secret, SIGN_SK_LEN))
		return -EBADMSG;
	crypto_sign_ed25519_sk_to_pk(pk, kf->secret);
	return memcmp(pk, kf->pub, SIGN_PK_LEN) ? -EBADMSG : 0;
}

/* Every "trust <32 hex>" line. A malformed one fails the whole file: an anchor that is
 * silently dropped would turn a pinned officer back into trust on first use. */
static int load_trust(const char *text, struct keyfile *kf)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "trust ", 6))
			continue;
		if (strspn(p + 6, "0123456789abcdef") != 32 || (p[38] && p[38] != '\n'))
			return -EBADMSG;
		if (kf->ntrust == KEYFILE_MAX_TRUST)
			return -EBADMSG;
		memcpy(kf->trust[kf->ntrust], p + 6, 32);
		kf->trust[kf->ntrust++][32] = 0;
	}
	return 0;
}

bool keyfile_trusts(const struct keyfile *kf, const char *fpr)
{
	for (unsigned i = 0; i < kf->ntrust; i++)
		if (!strcmp(kf->trust[i], fpr))
			return true;
	return false;
}

static int load_recipient(const char *text, struct keyfile *kf)
{
	uint8_t check[32];
	kf->kind = KEYFILE_RECIPIENT;
	kf->secret = secmem_alloc(32);
	if (!kf->secret)
		return -ENOMEM;
	if (field(text, "public", kf->pub, 32) || field(text, "secret", kf->secret, 32) ||
	    load_trust(text, kf))
		return -EBADMSG;
	/* a key file whose halves do not match would fail later, obscurely */
	crypto_scalarmult_base(check, kf->secret);
	return sodium_memcmp(check, kf->pub, 32) ? -EBADMSG : 0;
}

int keyfile_load(const char *path, struct keyfile *kf)
{
	char *text = NULL;
	int ret;

	memset(kf, 0, sizeof(*kf));
	ret = read_secret_file(path, &text, false);
	if (ret)
		return ret;
	if (!strncmp(text, "embassy-recipient-pub-v1\n", 25)) {
		kf->kind = KEYFILE_RECIPIENT_PUB;
		ret = field(text, "public", kf->pub, 32);
		goto out;
	}
	if (!strncmp(text, "embassy-signing-pub-v1\n", 23)) {
		kf->kind = KEYFILE_SIGNING_PUB;
		ret = field(text, "public", kf->pub, SIGN_PK_LEN);
		goto out;
	}
	secmem_free(text);
	text = NULL;
	ret = read_secret_file(path, &text, true);
	if (ret)
		return ret;
	if (!strncmp(text, "embassy-sealer-key-v1\n", 22))
		ret = load_sealer(text, kf);
	else if (!strncmp(text, "embassy-recipient-key-v1\n", 25))
		ret = load_recipient(text, kf);
	else if (!strncmp(text, "embassy-signing-key-v1\n", 23))
		ret = load_signing(text, kf);
	else
		ret = -EBADMSG;
out:
	secmem_free(text);
	if (ret)
		keyfile_clear(kf);
	return ret;
}

void keyfile_clear(struct keyfile *kf)
{
	secmem_free(kf->master);
	secmem_free(kf->secret);
	secmem_free(kf->epochs);
	memset(kf, 0, sizeof(*kf));
}

static int write_exclusive(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600), ret = 0;
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}

int keyfile_write_sealer(const char *path, const uint8_t store_id[STORE_ID_LEN],
			 const uint8_t master[KEY_LEN], const uint8_t sign_sk[SIGN_SK_LEN])
{
	return keyfile_write_sealer_origin(path, store_id, master, sign_sk, NULL);
}

int keyfile_write_sealer_origin(const char *path, const uint8_t store_id[STORE_ID_LEN],
				const uint8_t master[KEY_LEN], const uint8_t sign_sk[SIGN_SK_LEN],
				const uint8_t *origin)
{
	char *text = secmem_alloc(KEYFILE_MAX);
	char sid[2 * STORE_ID_LEN + 1], m[2 * KEY_LEN + 1], sk[2 * SIGN_SK_LEN + 1];
	int ret;
	if (!text)
		return -ENOMEM;
	hex_encode(store_id, STORE_ID_LEN, sid);
	hex_encode(master, KEY_LEN, m);
	hex_encode(sign_sk, SIGN_SK_LEN, sk);
	snprintf(text, KEYFILE_MAX, "embassy-sealer-key-v1\nstore %s\nmaster %s\nsign %s\n", sid, m,
		 sk);
	if (origin) {
		char o[2 * SIGN_PK_LEN + 1];
		size_t l = strlen(text);
		hex_encode(origin, SIGN_PK_LEN, o);
		snprintf(text + l, KEYFILE_MAX - l, "origin %s\n", o);
	}
	ret = write_exclusive(path, text);
	secmem_wipe(m, sizeof(m));
	secmem_wipe(sk, sizeof(sk));
	secmem_free(text);
	return ret;
}

int keyfile_write_recipient(const char *path, const uint8_t pk[32], const uint8_t sk[32])
{
	char *text = secmem_alloc(KEYFILE_MAX), *pubpath = NULL;
	char p[65], s[65];
	int ret;
	if (!text)
		return -ENOMEM;
	hex_encode(pk, 32, p);
	hex_encode(sk, 32, s);
	snprintf(text, KEYFILE_MAX, "embassy-recipient-key-v1\npublic %s\nsecret %s\n", p, s);
	secmem_wipe(s, sizeof(s));
	ret = write_exclusive(path, text);
	if (!ret && asprintf(&pubpath, "%s.pub", path) > 0) {
		snprintf(text, KEYFILE_MAX, "embassy-recipient-pub-v1\npublic %s\n", p);
		ret = write_exclusive(pubpath, text);
		free(pubpath);
	}
	secmem_free(text);
	return ret;
}

int keyfile_write_signing(const char *path, const uint8_t sk[SIGN_SK_LEN])
{
	char *text = secmem_alloc(KEYFILE_MAX), *pubpath = NULL;
	char p[2 * SIGN_PK_LEN + 1], *s = secmem_alloc(2 * SIGN_SK_LEN + 1);
	uint8_t pk[SIGN_PK_LEN];
	int ret = -ENOMEM;
	if (!text || !s)
		goto out;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	hex_encode(pk, SIGN_PK_LEN, p);
	hex_encode(sk, SIGN_SK_LEN, s);
	snprintf(text, KEYFILE_MAX, "embassy-signing-key-v1\npublic %s\nsecret %s\n", p, s);
	ret = write_exclusive(path, text);
	if (!ret && asprintf(&pubpath, "%s.pub", path) > 0) {
		snprintf(text, KEYFILE_MAX, "embassy-signing-pub-v1\npublic %s\n", p);
		ret = write_exclusive(pubpath, text);
		free(pubpath);
	}
out:
	secmem_free(s);
	secmem_free(text);
	return ret;
}

/* The file with one more line, written beside it (new random name, O_EXCL, 0600, same
 * owner) and renamed over it: a crash leaves the old file or the new one, never half. */
static int rewrite_with(const char *path, const char *text, const char *line)
{
	char *tmp = NULL, rnd[17];
	uint8_t r[8];
	struct stat st;
	size_t tl = strlen(text), ll = strlen(line);
	bool nl = tl && text[tl - 1] != '\n';
	int fd, ret = 0;

	if (lstat(path, &st))
		return -errno;
	randombytes_buf(r, sizeof(r));
	hex_encode(r, sizeof(r), rnd);
	if (asprintf(&tmp, "%s.tmp.%s", path, rnd) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		free(tmp);
		return ret;
	}
	errno = 0;
	if (fchown(fd, st.st_uid, st.st_gid) && errno != EPERM)
		ret = -errno;
	if (!ret && (write(fd, text, tl) != (ssize_t)tl || (nl && write(fd, "\n", 1) != 1) ||
		     write(fd, line, ll) != (ssize_t)ll || fsync(fd)))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

int keyfile_add_trust(const char *path, const char *fpr)
{
	struct keyfile kf;
	char *text = NULL, line[48];
	int ret;

	if (strlen(fpr) != 32 || strspn(fpr, "0123456789abcdef") != 32)
		return -EINVAL;
	ret = keyfile_load(path, &kf);
	if (ret)
		return ret;
	if (kf.kind != KEYFILE_RECIPIENT)
		ret = -EBADMSG;
	else if (keyfile_trusts(&kf, fpr))
		ret = 0;
	else if (kf.ntrust == KEYFILE_MAX_TRUST)
		ret = -ENOSPC;
	else if (!(ret = read_secret_file(path, &text, true))) {
		snprintf(line, sizeof(line), "trust %s\n", fpr);
		ret = strlen(text) + strlen(line) + 1 >= KEYFILE_MAX
			  ? -ENOSPC
			  : rewrite_with(path, text, line);
	}
	secmem_free(text);
	keyfile_clear(&kf);
	return ret;
}

int keyfile_add_epoch(const char *path, unsigned epoch, const uint8_t key[KEY_LEN])
{
	struct keyfile kf;
	char *text = NULL, *line = secmem_alloc(128), hex[2 * KEY_LEN + 1];
	int ret = line ? keyfile_load(path, &kf) : -ENOMEM;

	if (ret) {
		secmem_free(line);
		return ret;
	}
	if (kf.kind != KEYFILE_SEALER)
		ret = -EBADMSG;
	else if (epoch != kf.nepochs + 1 || epoch > KEY_EPOCH_MAX)
		ret = -EINVAL;
	else if (!(ret = read_secret_file(path, &text, true))) {
		hex_encode(key, KEY_LEN, hex);
		snprintf(line, 128, "epoch %u %s\n", epoch, hex);
		secmem_wipe(hex, sizeof(hex));
		ret = strlen(text) + strlen(line) + 1 >= KEYFILE_MAX
			  ? -ENOSPC
			  : rewrite_with(path, text, line);
	}
	secmem_free(line);
	secmem_free(text);
	keyfile_clear(&kf);
	return ret;
}
