/* Writes the seed corpus of fuzz_record (layout in fuzz_record.h). Not built by CMake;
 * run once by hand when the record format changes:
 *   cc -std=c11 -D_GNU_SOURCE -I crypto tests/fuzz/gen_record_corpus.c crypto/hex.c crypto/keys.c
 * crypto/record.c crypto/secmem.c \
 *      $(pkg-config --cflags --libs libsodium libzstd jansson) -o /tmp/gen \
 *      && /tmp/gen tests/fuzz/corpus/record */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "fuzz_record.h"
#include "secmem.h"

static void put(const char *dir, const char *name, uint8_t mode, const uint8_t *id,
		const void *payload, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(id, 1, ID_LEN, f) != ID_LEN ||
	    (len && fwrite(payload, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A valid sealed record of plain, stored for mode (type and round-trip level). */
static void put_record(const char *dir, const char *name, struct keys *k, uint8_t mode,
		       const void *plain, size_t len, int zlevel)
{
	enum record_type t = (enum record_type)((mode & 3) + 1);
	uint8_t id[ID_LEN], *rec;
	size_t reclen;

	record_id(k, t, plain, len, id);
	if (record_seal(k, t, id, plain, len, zlevel, &rec, &reclen) != 0)
		exit(1);
	put(dir, name, mode, id, rec, reclen);
	free(rec);
}

/* An "inner" input: flag||body that the fuzzer seals itself. */
static void put_inner(const char *dir, const char *name, struct keys *k, const char *text,
		      int compress)
{
	size_t len = strlen(text);
	uint8_t id[ID_LEN], msg[4096];
	size_t blen = len;

	record_id(k, REC_DATA, text, len, id);
	msg[0] = (uint8_t)compress;
	if (compress)
		blen = ZSTD_compress(msg + 1, sizeof(msg) - 1, text, len, 3);
	else
		memcpy(msg + 1, text, len);
	put(dir, name, FUZZ_INNER, id, msg, 1 + blen);
}

int main(int argc, char **argv)
{
	static const char tree[] = "{\"entries\":[{\"name\":\"population.db\",\"type\":\"file\","
				   "\"mode\":420,\"size\":1048576,\"chunks\":[]}]}";
	char csv[4096];
	struct keys *k;

	if (argc != 2 || secmem_init() < 0 || !(k = fuzz_record_keys()))
		return 2;
	for (size_t off = 0; off + 40 < sizeof(csv); off += 39)
		snprintf(csv + off, 40, "%06zu,Tamm,Mari,1984-03-12,Tallinn,EE3",
			 off * 7919 % 999983);
	put_record(argv[1], "data_raw", k, 0x00, "hello embassy", 13, 0);
	put_record(argv[1], "data_empty", k, 0x00, "", 0, 0);
	put_record(argv[1], "tree_zstd", k, 0x31, tree, strlen(tree), 3);
	put_record(argv[1], "index_csv_zstd", k, 0x32, csv, strlen(csv), 3);
	put_record(argv[1], "manifest_raw", k, 0x13, "seq=1 parent=none", 17, 1);
	put_inner(argv[1], "inner_raw", k, "inner plain body", 0);
	put_inner(argv[1], "inner_zstd", k, csv, 1);
	keys_free(k);
	return 0;
}
