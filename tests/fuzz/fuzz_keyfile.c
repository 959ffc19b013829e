/* libFuzzer target for keyfile_load: the key files a recovery officer is handed (and could be
 * handed a forged one of). The input is written to a private temporary file (mode 0600). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyfile.h"
#include "secmem.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyfile kf;
	int fd, ret;

	if (!path[0]) {
		if (secmem_init())
			abort();
		snprintf(path, sizeof(path), "%s/fuzz-keyfile-XXXXXX",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd))
		abort();
	ret = keyfile_load(path, &kf);
	if (ret == 0) {
		if (kf.kind < KEYFILE_SEALER || kf.kind > KEYFILE_SIGNING_PUB)
			abort();
		if (kf.kind == KEYFILE_SEALER && (!kf.master || !kf.secret))
			abort();
		keyfile_clear(&kf);
	} else if (ret != -EBADMSG && ret != -ENOMEM && ret != -EPERM && ret != -EFBIG) {
		abort();
	}
	return 0;
}
