/* log: see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_IN  16384 /* deep paths come first in many messages */
#define LINE_MAX_OUT (LINE_MAX_IN + 1024)

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static bool use_syslog;	 /* sink_lock */
static int file_fd = -1; /* sink_lock */
static int level;	 /* set once at start, before threads */

void log_use_syslog(bool on)
{
	pthread_mutex_lock(&sink_lock);
	if (on && !use_syslog)
		openlog("embassy", LOG_PID, LOG_DAEMON);
	use_syslog = on;
	pthread_mutex_unlock(&sink_lock);
}

int log_open_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), err;

	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else
		return fd;
	close(fd);
	return err;
}

void log_use_fd(int fd)
{
	int old;

	pthread_mutex_lock(&sink_lock);
	old = file_fd;
	file_fd = fd;
	pthread_mutex_unlock(&sink_lock);
	if (old >= 0 && old != fd)
		close(old);
}

int log_to_file(const char *path)
{
	int fd = log_open_file(path);

	if (fd < 0)
		return fd;
	log_use_fd(fd);
	return 0;
}

void log_set_level(int l)
{
	level = l;
}

/* ---- cleaning ---- */

size_t log_utf8_char(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

/* The escape of one byte that may not be shown as it is: \n style or \ooo. */
static int escape_byte(unsigned char c, char out[5])
{
	static const char from[] = "\a\b\t\n\v\f\r", to[] = "abtnvfr";
	const char *p = c ? memchr(from, c, sizeof(from) - 1) : NULL;

	if (p)
		return snprintf(out, 5, "\\%c", to[p - from]);
	return snprintf(out, 5, "\\%03o", c);
}

size_t log_clean(const char *in, size_t n, char *out, size_t cap)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t k = 0;

	for (size_t i = 0, len; i < n; i += len) {
		char esc[5];
		const char *src = in + i;
		size_t w;

		len = log_utf8_char(u + i, n - i);
		if (len == 0) {
			w = (size_t)escape_byte(u[i], esc);
			src = esc;
			len = 1;
		} else {
			w = len;
		}
		if (k + w >= cap)
			break; /* truncate at a character boundary */
		memcpy(out + k, src, w);
		k += w;
	}
	out[k] = '\0';
	return k;
}

static bool is_scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '-' || c == '.';
}

void log_redact_urls(char *s, bool keep_len)
{
	for (char *p = strstr(s, "://"); p; p = strstr(p, "://")) {
		char *sep = p, *auth = p + 3, *end, *at = NULL;

		p = auth;
		if (sep == s || !is_scheme_char(sep[-1]))
			continue; /* "://" without a scheme before it: not a URL */
		/* the authority ends at the path, query, fragment or anything unlike a URL */
		for (end = auth; *end && !strchr("/?#\"' \t\r\n<>", *end); end++)
			if (*end == '@')
				at = end;
		if (!at)
			continue;
		if (keep_len) {
			memset(auth, '*', (size_t)(at - auth));
		} else {
			size_t stars = at - auth < 3 ? (size_t)(at - auth) : 3;
			memset(auth, '*', stars);
			memmove(auth + stars, at, strlen(at) + 1);
		}
	}
}

/* ---- writing ---- */

static const char *tag_of(int prio)
{
	return prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "";
}

static void write_file(int fd, int prio, const char *msg)
{
	char line[LINE_MAX_OUT + 128], stamp[32];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ embassy[%ld]: %s%s\n", stamp,
		     ts.tv_nsec / 1000000, (long)getpid(), tag_of(prio), msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	/* O_APPEND and one write: lines of concurrent threads never interleave */
	if (write(fd, line, (size_t)n) < 0)
		return; /* nowhere left to say it */
}

void log_vmsg(int prio, const char *fmt, va_list ap)
{
	char raw[LINE_MAX_IN], msg[LINE_MAX_OUT];
	int saved = errno; /* callers say why, then return -errno: writing must not change it */

	if ((prio == LOG_INFO && level < 1) || (prio == LOG_DEBUG && level < 2))
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_redact_urls(raw, false);
	log_clean(raw, strlen(raw), msg, sizeof(msg));
	pthread_mutex_lock(&sink_lock);
	if (file_fd >= 0)
		write_file(file_fd, prio, msg);
	else if (use_syslog)
		syslog(prio, "%s", msg);
	else /* one fprintf per line so concurrent threads do not interleave */
		fprintf(stderr, "embassy: %s%s\n", tag_of(prio), msg);
	pthread_mutex_unlock(&sink_lock);
	errno = saved;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}
