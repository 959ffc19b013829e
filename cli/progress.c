/* progress: a one-line progress bar on stderr — done/total, rate, ETA — drawn only when
 * stderr is a terminal and not -q (so logs and pipes never see carriage returns), at most 10 times
 * a second. Called from one thread at a time (the core's progress callbacks are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_NS 100000000ll
#define BAR_WIDTH 24

struct progress {
	const char *label;
	bool bytes; /* units: bytes (sizes and rates) or plain counts */
	int64_t start_ns, last_ns;
	bool drawn;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

struct progress *progress_new(const char *label, bool bytes)
{
	struct progress *p;

	if (cli_quiet() || !isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL; /* no bar is not worth failing for */
	p->label = label;
	p->bytes = bytes;
	p->start_ns = now_ns();
	return p;
}

static void format_amount(const struct progress *p, uint64_t n, char out[32])
{
	if (p->bytes)
		cli_format_size(n, out);
	else
		snprintf(out, 32, "%llu", (unsigned long long)n);
}

static void format_eta(double secs, char out[32])
{
	unsigned long s = secs > 359999 ? 359999 : (unsigned long)secs;

	snprintf(out, 32, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
}

void progress_update(struct progress *p, uint64_t done, uint64_t total)
{
	char d[32], t[32], rate[32], eta[32] = "-", bar[BAR_WIDTH + 1];
	int64_t now;
	double secs, per_s, frac;
	int fill;

	if (!p)
		return;
	now = now_ns();
	if (p->drawn && now - p->last_ns < REDRAW_NS)
		return;
	p->last_ns = now;
	secs = (double)(now - p->start_ns) / 1e9;
	per_s = secs > 0.2 ? (double)done / secs : 0;
	frac = total ? (double)done / (double)total : 0;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * BAR_WIDTH);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	format_amount(p, done, d);
	format_amount(p, total, t);
	format_amount(p, (uint64_t)per_s, rate);
	if (per_s > 0 && total > done) /* round up: "0:00:00" would read as done */
		format_eta((double)(total - done) / per_s + 0.999, eta);
	if (total == 0) /* total not known (yet): what was done, and how fast */
		fprintf(stderr, "\r\033[K%s %s  %s/s", p->label, d, rate);
	else
		fprintf(stderr, "\r\033[K%s [%s] %3d%% %s / %s  %s/s  ETA %s", p->label, bar,
			(int)(frac * 100), d, t, rate, eta);
	fflush(stderr);
	p->drawn = true;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(p);
}
