/* libFuzzer target for the root document (store/root.c): a roots/<version> object is served
 * by the host, so root_decode gets any bytes. Whatever parses is then checked as a first
 * version and as a successor of itself (both must refuse: the harness's keys signed nothing),
 * and its fields must respect the bounds the parser promises. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "root.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sid[STORE_ID_LEN] = {0x5e};
	static uint8_t origin[SIGN_PK_LEN] = {1};
	uint8_t h[32];
	struct root r;
	int ret;

	if (secmem_init())
		abort();
	ret = root_decode(data, size, &r);
	if (ret) {
		if (ret != -EBADMSG && ret != -ENOMEM)
			abort();
		return 0;
	}
	if (r.nofficers < 1 || r.nofficers > ROOT_OFFICERS_MAX || r.threshold < 1 ||
	    r.threshold > r.nofficers || r.nsigs > ROOT_SIGS_MAX || r.nretired > ROOT_RETIRED_MAX ||
	    r.version < 1 || r.version > ROOT_VERSION_LIMIT || !r.body ||
	    strlen(r.body) != r.body_len)
		abort();
	root_hash(&r, h);
	if (!root_verify_first(&r, sid, origin)) /* nobody holds origin's secret key */
		abort();
	if (!root_verify_next(&r, &r)) /* a version never follows itself */
		abort();
	(void)root_snapshot_key_ok(&r, origin, 1);
	root_clear(&r);
	return 0;
}
