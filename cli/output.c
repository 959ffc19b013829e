/* output: how names, times and sizes are printed. Names are arbitrary bytes (any but '/'
 * and NUL), so they are escaped like `ls -b`: a name can never put a control character on
 * the user's terminal, and every printed name is one line. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hex.h"
#include "log.h"

/* Compact; reals (elapsed_s) with 10 significant digits: 0.055, not 0.055000000000000000. */
#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/* One definition of "printable" for the logger and the CLI's output alike. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	return log_utf8_char(s, n);
}

bool cli_utf8_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0, k; i < len; i += k)
		if ((k = utf8_char(u + i, len - i)) == 0)
			return false;
	return true;
}

static void put_escape(FILE *f, unsigned char c)
{
	static const char from[] = "\a\b\t\n\v\f\r", to[] = "abtnvfr";
	const char *p = c ? memchr(from, c, sizeof(from) - 1) : NULL;

	if (p)
		fprintf(f, "\\%c", to[p - from]);
	else
		fprintf(f, "\\%03o", c);
}

void cli_print_name(FILE *f, const char *name, size_t len)
{
	const unsigned char *u = (const unsigned char *)name;

	for (size_t i = 0, k; i < len; i += k) {
		k = utf8_char(u + i, len - i);
		if (k == 0) {
			put_escape(f, u[i]);
			k = 1;
		} else if (u[i] == '\\' || u[i] == ' ') {
			/* as ls -b: a backslash or space is escaped so output splits unambiguously
			 */
			fprintf(f, "\\%c", u[i]);
		} else {
			fwrite(u + i, 1, k, f);
		}
	}
}

void cli_print_text(FILE *f, const char *text, size_t len)
{
	const unsigned char *u = (const unsigned char *)text;

	for (size_t i = 0, k; i < len; i += k) {
		k = utf8_char(u + i, len - i);
		if (k == 0) {
			put_escape(f, u[i]);
			k = 1;
		} else {
			fwrite(u + i, 1, k, f);
		}
	}
}

void cli_format_time(int64_t ns, bool with_ns, char out[48])
{
	time_t secs = (time_t)(ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000);
	long frac = (long)(ns - (int64_t)secs * 1000000000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&secs, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, 48, "?");
		return;
	}
	if (with_ns)
		snprintf(out, 48, "%s.%09ldZ", base, frac);
	else
		snprintf(out, 48, "%sZ", base);
}

void cli_format_size(uint64_t n, char out[32])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(out, 32, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, 32, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int cli_print_json(json_t *o)
{
	int ret;

	if (!o)
		return -ENOMEM;
	/* one line per value: streams of objects read line by line, and jq reads them all */
	ret = json_dumpf(o, stdout, JSON_DUMP_FLAGS) < 0 || putchar('\n') == EOF ? -EIO : 0;
	json_decref(o);
	return ret;
}

int64_t cli_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int cli_print_json_list(json_t *arr)
{
	size_t n = json_array_size(arr);
	int ret = 0;

	if (!arr)
		return -ENOMEM;
	/* an array for json.load and jq alike, one element per line for grep and head */
	fputs(n ? "[\n" : "[]\n", stdout);
	for (size_t i = 0; i < n && !ret; i++) {
		if (json_dumpf(json_array_get(arr, i), stdout, JSON_DUMP_FLAGS) < 0)
			ret = -EIO;
		fputs(i + 1 < n ? ",\n" : "\n]\n", stdout);
	}
	json_decref(arr);
	return ret;
}

double cli_elapsed_s(int64_t start_ns)
{
	/* milliseconds are precision enough for a summary, and print short */
	return (double)((cli_monotonic_ns() - start_ns + 500000) / 1000000) / 1000.0;
}

void cli_json_set_name(struct json_t *o, const char *key, const char *s, size_t len)
{
	char hexkey[64], *buf = NULL, *hex;
	size_t size = 0;
	FILE *f;

	if (cli_utf8_ok(s, len)) {
		json_object_set_new(o, key, json_stringn(s, len));
		return;
	}
	if ((f = open_memstream(&buf, &size)) != NULL) {
		cli_print_name(f, s, len);
		fclose(f);
		json_object_set_new(o, key, json_stringn(buf, size));
	}
	free(buf);
	if ((hex = malloc(2 * len + 1)) != NULL) {
		hex_encode((const uint8_t *)s, len, hex);
		snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
		json_object_set_new(o, hexkey, json_string(hex));
	}
	free(hex);
}

const char *cli_entry_type(int type)
{
	static const char *const names[] = {"?",    "file", "dir", "symlink",
					    "fifo", "chr",  "blk", "socket"};

	return type >= 0 && (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}
