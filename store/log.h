/* log: the one place every diagnostic goes through — the core's, the CLI's (cli_error),
 * the remote layer's (remote_log) and libfuse's (fs.c).
 *
 * Sinks, one at a time: stderr (default, "embassy: error: …"), a log file (log_to_file:
 * appended, one timestamped line per message, 0600), or syslog/journal (log_use_syslog: a
 * daemonised mount, whose stderr is /dev/null). A file given explicitly wins over syslog.
 *
 * Every message is cleaned before it is written (log_redact_urls, log_clean): control characters
 * and bytes that are not valid UTF-8 are escaped (\n, \033, …), so a string a host chose (a
 * Location header, a PROPFIND href, an S3 key, "&#27;" in XML, an error body) can never drive the
 * terminal or forge a log line; and the user:password part of any URL in the text is
 * replaced by "***", so a credential never reaches a log even if a caller printed a raw
 * URL. Thread-safe: each message is formatted and cleaned first, then written with one call. */
#ifndef EMBASSY_LOG_H
#define EMBASSY_LOG_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

void log_use_syslog(bool on);
/* Open path for appending (created 0600; a symlink or a non-regular file is refused):
 * an fd for log_use_fd, or -errno. Lets a command check the file before it needs it. */
int log_open_file(const char *path);
/* Write to fd (taken over) from now on; -1 goes back to stderr or syslog. */
void log_use_fd(int fd);
/* Both at once: 0 or -errno. */
int log_to_file(const char *path);
/* 0 = errors, warnings and notices only, 1 = info, 2 = debug. */
void log_set_level(int level);
/* errno is the same after a log call as before it (a caller may log, then return -errno). */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/* Length of the UTF-8 sequence at s (n > 0 bytes left) if it is valid and not a control
 * character (C0, DEL, C1), else 0. Overlong forms and surrogates are invalid. */
size_t log_utf8_char(const unsigned char *s, size_t n);
/* Write in[0..n) to out (cap > 0, always NUL-terminated, truncated to fit) with control
 * characters and invalid UTF-8 escaped as ls -b does (\n, \t, \033, \377). Returns the
 * length written. log_msg applies log_redact_urls, then this, to every message. */
size_t log_clean(const char *in, size_t n, char *out, size_t cap);
/* Redact the user:password part of every "scheme://user:password@host" in s, in place:
 * the userinfo becomes "***" (the string never grows), or with keep_len every byte of it
 * becomes '*' (for argv, which ps reads as a fixed area). */
void log_redact_urls(char *s, bool keep_len);

#endif
