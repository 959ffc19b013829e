#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool use_syslog;
static int level;

void log_use_syslog(bool on)
{
	if (on && !use_syslog)
		openlog("embassy", LOG_PID, LOG_DAEMON);
	use_syslog = on;
}

void log_set_level(int l)
{
	level = l;
}

void log_msg(int prio, const char *fmt, ...)
{
	char buf[16384]; /* deep paths come first in many messages */
	va_list ap;

	if ((prio == LOG_INFO && level < 1) || (prio == LOG_DEBUG && level < 2))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(prio, "%s", buf);
		return;
	}
	const char *tag = prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "";
	/* one fprintf per line so concurrent threads do not interleave */
	fprintf(stderr, "embassy: %s%s\n", tag, buf);
}
