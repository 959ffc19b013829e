/* progress: how long work shows how far it got — done/total, rate, ETA.
 *
 * On a terminal: a one-line bar on stderr, redrawn at most 10 times a second, drawn only
 * when stderr is a terminal and not -q (so logs and pipes never see carriage returns).
 * With --json: one {"type":"progress",...} object per line on stdout, at most once per
 * EMBASSY_PROGRESS_INTERVAL (milliseconds, default 1000; 0: at every update), before the
 * command's summary object (docs/JSON.md). Called from one thread at a time (the core's
 * progress callbacks are). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_NS	      100000000ll
#define JSON_DEFAULT_INTERVAL 1000000000ll
#define BAR_WIDTH	      24

struct progress {
	const char *label;
	const char *unit; /* "bytes" (sizes and rates) or a count: "records" */
	bool json;
	int64_t start_ns, last_ns, interval_ns;
	bool drawn;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static struct progress *create(const char *label, const char *unit, bool json)
{
	struct progress *p = calloc(1, sizeof(*p));
	const char *iv = getenv("EMBASSY_PROGRESS_INTERVAL");

	if (!p)
		return NULL; /* no progress is not worth failing for */
	p->label = label;
	p->unit = unit;
	p->json = json;
	p->start_ns = now_ns();
	p->interval_ns = json ? JSON_DEFAULT_INTERVAL : REDRAW_NS;
	if (json && iv && *iv)
		p->interval_ns = atoll(iv) * 1000000ll;
	return p;
}

struct progress *progress_new(const char *label, bool bytes)
{
	if (cli_quiet() || !isatty(STDERR_FILENO))
		return NULL;
	return create(label, bytes ? "bytes" : "records", false);
}

struct progress *progress_start(const char *label, const char *unit, bool json)
{
	if (cli_quiet() || (!json && !isatty(STDERR_FILENO)))
		return NULL;
	return create(label, unit, json);
}

static void format_amount(const struct progress *p, uint64_t n, char out[32])
{
	if (strcmp(p->unit, "bytes") == 0)
		cli_format_size(n, out);
	else
		snprintf(out, 32, "%llu", (unsigned long long)n);
}

static void format_eta(double secs, char out[32])
{
	unsigned long s = secs > 359999 ? 359999 : (unsigned long)secs;

	snprintf(out, 32, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
}

/* Seconds left at the average rate so far; < 0 when unknown. */
static double eta_of(const struct progress_counts *c, double per_s)
{
	if (per_s <= 0 || !c->total || c->total_partial || c->total <= c->done)
		return c->total && !c->total_partial && c->total <= c->done ? 0 : -1;
	return (double)(c->total - c->done) / per_s;
}

static void emit_json(struct progress *p, const struct progress_counts *c, double secs,
		      double per_s)
{
	char k1[48], k2[48];
	double eta = eta_of(c, per_s);
	json_t *o =
	    json_pack("{s:s, s:f}", "type", "progress", "elapsed_s", cli_elapsed_s(p->start_ns));

	if (!o)
		return;
	snprintf(k1, sizeof(k1), "%s_done", p->unit);
	snprintf(k2, sizeof(k2), "%s_total", p->unit);
	json_object_set_new(o, k1, json_integer((json_int_t)c->done));
	json_object_set_new(o, k2,
			    c->total_partial ? json_null() : json_integer((json_int_t)c->total));
	if (c->items_label) {
		snprintf(k1, sizeof(k1), "%s_done", c->items_label);
		snprintf(k2, sizeof(k2), "%s_total", c->items_label);
		json_object_set_new(o, k1, json_integer((json_int_t)c->items_done));
		json_object_set_new(o, k2,
				    c->total_partial ? json_null()
						     : json_integer((json_int_t)c->items_total));
	}
	snprintf(k1, sizeof(k1), "%s_per_s", p->unit);
	json_object_set_new(o, k1, json_integer((json_int_t)per_s));
	json_object_set_new(o, "eta_s",
			    eta < 0 ? json_null() : json_integer((json_int_t)(eta + 0.999)));
	cli_print_json(o);
	fflush(stdout);
}

static void draw_bar(struct progress *p, const struct progress_counts *c, double per_s)
{
	char d[32], t[32], rate[32], eta[32] = "-", bar[BAR_WIDTH + 1], items[80] = "";
	double frac = c->total ? (double)c->done / (double)c->total : 0, left = eta_of(c, per_s);
	int fill;

	if (frac > 1)
		frac = 1;
	fill = (int)(frac * BAR_WIDTH);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	format_amount(p, c->done, d);
	format_amount(p, c->total, t);
	format_amount(p, (uint64_t)per_s, rate);
	if (left >= 0) /* round up: "0:00:00" would read as done */
		format_eta(left + 0.999, eta);
	if (c->items_label)
		snprintf(items, sizeof(items), "  %llu/%llu%s %s",
			 (unsigned long long)c->items_done, (unsigned long long)c->items_total,
			 c->total_partial ? "+" : "", c->items_label);
	if (c->total == 0) /* total not known (yet): what was done, and how fast */
		fprintf(stderr, "\r\033[K%s %s%s  %s/s", p->label, d, items, rate);
	else
		fprintf(stderr, "\r\033[K%s [%s] %3d%% %s / %s%s%s  %s/s  ETA %s", p->label, bar,
			(int)(frac * 100), d, t, c->total_partial ? "+" : "", items, rate, eta);
	fflush(stderr);
}

void progress_show(struct progress *p, const struct progress_counts *c)
{
	int64_t now;
	double secs, per_s;

	if (!p)
		return;
	now = now_ns();
	if ((p->drawn || p->json) && now - p->last_ns < p->interval_ns)
		return;
	if (p->json && !p->drawn && now - p->start_ns < p->interval_ns)
		return; /* short runs: the summary alone */
	p->last_ns = now;
	secs = (double)(now - p->start_ns) / 1e9;
	per_s = secs > 0.2 ? (double)c->done / secs : 0;
	if (p->json)
		emit_json(p, c, secs, per_s);
	else
		draw_bar(p, c, per_s);
	p->drawn = true;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total)
{
	struct progress_counts c = {.done = done, .total = total};

	progress_show(p, &c);
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	if (p->drawn && !p->json) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(p);
}
