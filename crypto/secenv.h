/* secenv: secrets handed to embassy in its environment (EMBASSY_PASSPHRASE,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) are taken out of it once, first thing in main:
 * copied into secmem, wiped where the kernel keeps the process's original environment
 * (/proc/PID/environ shows that area for the life of the process, and a forked mount
 * daemon inherits it), and unset, so no child process (fusermount3, anything libfuse or
 * libcurl might start) is ever handed them. Readers ask secenv_get instead of getenv.
 * Not thread-safe: capture and forget run before any thread is started. */
#ifndef EMBASSY_SECENV_H
#define EMBASSY_SECENV_H

/* Move every secret variable out of the environment. 0 or -ENOMEM. */
int secenv_capture(void);
/* The value of a secret variable: the captured copy, or getenv() in a program that never
 * captured (tools, unit tests). NULL when unset or empty. */
const char *secenv_get(const char *name);
/* Wipe a captured value once it has been used (e.g. the passphrase after unlocking). */
void secenv_forget(const char *name);

#endif
