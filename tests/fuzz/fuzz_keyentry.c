/* libFuzzer target for the key entries a host serves (keys/pass-*, keys/rcpt-*):
 * unwrap_passphrase and unwrap_recipient on any JSON. A KDF cost above 1 MiB or 4 passes is
 * lowered here before unwrapping (only to keep executions fast: the bound checks themselves
 * are exercised by entries under the cap, and negative or non-integer values pass through).
 * Byte 0 of the input picks the function; the rest is the entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"
#include "wrap.h"

static uint8_t pk[32], *sk;

static void cap_kdf(json_t *e)
{
	json_t *m = json_object_get(e, "memlimit"), *o = json_object_get(e, "opslimit");
	if (json_is_integer(m) && json_integer_value(m) > (1 << 20))
		json_object_set_new(e, "memlimit", json_integer(WRAP_MIN_MEM));
	if (json_is_integer(o) && json_integer_value(o) > 4)
		json_object_set_new(e, "opslimit", json_integer(1));
}

static void check(int ret, uint8_t *secret, size_t len)
{
	if (ret == 0) {
		if (!secret || len > (64u << 10))
			abort();
		secmem_free(secret);
	} else if (ret != -EBADMSG && ret != -EKEYREJECTED && ret != -EINVAL && ret != -ENOKEY &&
		   ret != -ENOMEM) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *secret = NULL;
	size_t len = 0;
	json_t *e;

	if (!sk) {
		if (secmem_init() || !(sk = secmem_alloc(32)) || wrap_recipient_keypair(pk, sk))
			abort();
	}
	if (size < 1 || !(e = json_loadb((const char *)data + 1, size - 1, 0, NULL)))
		return 0;
	if (data[0] & 1) {
		check(unwrap_recipient(e, pk, sk, &secret, &len), secret, len);
	} else {
		cap_kdf(e);
		check(unwrap_passphrase(e, "pw", 2, &secret, &len), secret, len);
	}
	json_decref(e);
	return 0;
}
