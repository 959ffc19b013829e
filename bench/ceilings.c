/* ceilings: single-core throughput of the core primitives, the upper bound for any
 * pipeline built on them. Each cell repeats its work for at least 0.5 s.
 * Usage: ceilings [--json] */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunker.h"
#include "keys.h"
#include "record.h"
#include "secmem.h"

#define DATA_LEN  (64u << 20)
#define PIECE_LEN (1u << 20) /* records are sealed per 1 MiB piece, the average chunk */
#define NPIECES	  (DATA_LEN / PIECE_LEN)
#define MIN_SECS  0.5

struct bench {
	const char *name;
	struct keys *k;
	struct chunker ch;
	const uint8_t *data;
	uint8_t *rec[NPIECES];
	size_t reclen[NPIECES];
	uint8_t id[NPIECES][ID_LEN];
	size_t stored; /* total record bytes of the last seal pass */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Deterministic xorshift so the CSV is the same on every run. */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Rows like a population register export: id, names, birth date, town, IBAN. */
static void fill_csv(uint8_t *buf, size_t len)
{
	static const char *const sur[] = {"Tamm",   "Saar",  "Sepp", "Magi",   "Kask",	"Kukk",
					  "Rebane", "Ilves", "Parn", "Koppel", "Lepik", "Oja"};
	static const char *const giv[] = {"Mari", "Jaan",   "Kadri",  "Toomas", "Anu",	 "Peeter",
					  "Liis", "Andres", "Kersti", "Mart",	"Tiina", "Rein"};
	static const char *const town[] = {"Tallinn",	   "Tartu",    "Narva",	  "Parnu",
					   "Kohtla-Jarve", "Viljandi", "Rakvere", "Kuressaare"};
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t off = 0;
	char row[160];

	while (off < len) {
		uint64_t r = rng(&s), q = rng(&s);
		int n = snprintf(row, sizeof(row), "%06llu,%s,%s,%04u-%02u-%02u,%s,EE%02u%016llu\n",
				 (unsigned long long)(r % 1000000), sur[(r >> 20) % 12],
				 giv[(r >> 24) % 12], 1920 + (unsigned)((r >> 28) % 100),
				 1 + (unsigned)((r >> 35) % 12), 1 + (unsigned)((r >> 40) % 28),
				 town[(r >> 45) % 8], (unsigned)(q % 100),
				 (unsigned long long)((q >> 8) % 10000000000000000ull));
		size_t take = (size_t)n < len - off ? (size_t)n : len - off;

		memcpy(buf + off, row, take);
		off += take;
	}
}

static void op_chunker(struct bench *b, int zlevel)
{
	size_t off = 0;

	while (off < DATA_LEN)
		off += chunker_cut(&b->ch, b->data + off, DATA_LEN - off);
}

static void op_id(struct bench *b, int zlevel)
{
	for (size_t i = 0; i < NPIECES; i++)
		record_id(b->k, REC_DATA, b->data + i * PIECE_LEN, PIECE_LEN, b->id[i]);
}

static void op_seal(struct bench *b, int zlevel)
{
	b->stored = 0;
	for (size_t i = 0; i < NPIECES; i++) {
		free(b->rec[i]);
		if (record_seal(b->k, REC_DATA, b->id[i], b->data + i * PIECE_LEN, PIECE_LEN,
				zlevel, &b->rec[i], &b->reclen[i]) != 0)
			abort();
		b->stored += b->reclen[i];
	}
}

static void op_open(struct bench *b, int zlevel)
{
	for (size_t i = 0; i < NPIECES; i++) {
		uint8_t *out;
		size_t len;

		if (record_open(b->k, REC_DATA, b->id[i], b->rec[i], b->reclen[i], PIECE_LEN, &out,
				&len) != 0)
			abort();
		free(out);
	}
}

/* Repeat whole passes over the data until MIN_SECS have passed; MB/s (10^6). */
static double run_cell(struct bench *b, void (*op)(struct bench *, int), int zlevel)
{
	double start = now(), t;
	size_t passes = 0;

	do {
		op(b, zlevel);
		passes++;
		t = now() - start;
	} while (t < MIN_SECS);
	return (double)passes * DATA_LEN / t / 1e6;
}

struct cell {
	const char *op;
	void (*fn)(struct bench *, int);
	int zlevel;
};

static const struct cell cells[] = {
    {"chunker", op_chunker, 0},	       {"record_id (keyed BLAKE2b)", op_id, 0},
    {"seal zstd-3", op_seal, 3},       {"open zstd-3", op_open, 3},
    {"seal uncompressed", op_seal, 0}, {"open uncompressed", op_open, 0},
};
#define NCELLS (sizeof(cells) / sizeof(cells[0]))

static int bench_init(struct bench *b, const char *name, const uint8_t *data)
{
	uint8_t master[KEY_LEN], sid[STORE_ID_LEN];
	int ret;

	memset(b, 0, sizeof(*b));
	b->name = name;
	b->data = data;
	randombytes_buf(master, sizeof(master));
	randombytes_buf(sid, sizeof(sid));
	ret = keys_new(master, sid, &b->k);
	if (ret == 0)
		ret = chunker_init(&b->ch, CHUNKER_MIN, CHUNKER_AVG, CHUNKER_MAX,
				   keys_get(b->k, KEY_CHUNKER));
	secmem_wipe(master, sizeof(master));
	return ret;
}

static void bench_fini(struct bench *b)
{
	for (size_t i = 0; i < NPIECES; i++)
		free(b->rec[i]);
	keys_free(b->k);
}

/* Run every cell on one data set; ratio = stored/plain bytes of the zstd-3 records. */
static int bench_data(const char *name, const uint8_t *data, double mbs[NCELLS], double *ratio)
{
	struct bench *b = malloc(sizeof(*b));
	int ret = -ENOMEM;

	if (!b)
		goto out;
	ret = bench_init(b, name, data);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < NCELLS; i++) {
		mbs[i] = run_cell(b, cells[i].fn, cells[i].zlevel);
		if (cells[i].fn == op_seal && cells[i].zlevel == 3)
			*ratio = (double)b->stored / DATA_LEN;
	}
out:
	if (b)
		bench_fini(b);
	free(b);
	return ret;
}

static void print_table(const char *const names[2], double mbs[2][NCELLS], const double ratio[2])
{
	printf("single core, %u MiB per data set, records of %u KiB, MB/s = 10^6 B/s\n",
	       DATA_LEN >> 20, PIECE_LEN >> 10);
	printf("%-28s %14s %14s\n", "operation", names[0], names[1]);
	for (size_t i = 0; i < NCELLS; i++)
		printf("%-28s %14.0f %14.0f\n", cells[i].op, mbs[0][i], mbs[1][i]);
	printf("%-28s %14.3f %14.3f\n", "zstd-3 record size ratio", ratio[0], ratio[1]);
}

static void print_json(const char *const names[2], double mbs[2][NCELLS], const double ratio[2])
{
	printf("{\"data_bytes\":%u,\"record_bytes\":%u,\"unit\":\"MB/s\",\"results\":[", DATA_LEN,
	       PIECE_LEN);
	for (size_t d = 0; d < 2; d++)
		for (size_t i = 0; i < NCELLS; i++)
			printf("%s{\"op\":\"%s\",\"data\":\"%s\",\"mb_s\":%.1f}", d || i ? "," : "",
			       cells[i].op, names[d], mbs[d][i]);
	printf("],\"zstd3_ratio\":{\"%s\":%.4f,\"%s\":%.4f}}\n", names[0], ratio[0], names[1],
	       ratio[1]);
}

int main(int argc, char **argv)
{
	static const char *const names[2] = {"random", "csv"};
	double mbs[2][NCELLS], ratio[2] = {0, 0};
	uint8_t *data[2] = {malloc(DATA_LEN), malloc(DATA_LEN)};
	int json = argc > 1 && strcmp(argv[1], "--json") == 0;
	int ret = 1;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: %s [--json]\n", argv[0]);
		goto out;
	}
	if (secmem_init() < 0 || !data[0] || !data[1])
		goto out;
	randombytes_buf(data[0], DATA_LEN);
	fill_csv(data[1], DATA_LEN);
	for (size_t d = 0; d < 2; d++)
		if (bench_data(names[d], data[d], mbs[d], &ratio[d]) < 0)
			goto out;
	if (json)
		print_json(names, mbs, ratio);
	else
		print_table(names, mbs, ratio);
	ret = 0;
out:
	free(data[0]);
	free(data[1]);
	return ret;
}
