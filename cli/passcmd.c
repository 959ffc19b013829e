/* passcmd: --passphrase-command CMD — the passphrase from another program (systemd-ask-password,
 * a vault client, a hardware token's tool), so that it is never in a file, an argument or
 * the environment. CMD runs under /bin/sh with our stdin and stderr (it may prompt) and its
 * stdout on a pipe; the first line is read straight into the caller's secure buffer with
 * read(2) — no stdio buffer keeps a copy — and nothing after it is read. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "secmem.h"

/* Read up to the first newline or EOF; more output is not read (the pipe is closed after,
 * and a command still writing gets SIGPIPE). Returns the line's length or -errno. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		if (n == size - 1) /* longer than the buffer: refused */
			return -E2BIG;
		r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		char *nl = memchr(buf + n, '\n', (size_t)r);
		if (nl) {
			n = (size_t)(nl - buf);
			break;
		}
		n += (size_t)r;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	secmem_wipe(buf + n, size - n); /* whatever came after the line */
	return (ssize_t)n;
}

static void child(const char *cmd, int out)
{
	/* nothing secret goes to the child: the passphrase variable is not inherited */
	unsetenv("EMBASSY_PASSPHRASE");
	if (dup2(out, STDOUT_FILENO) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

int passcmd_read(const char *cmd, char *buf, size_t size, size_t *len)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL); /* the child must not flush our buffered output a second time */
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		cli_error("cannot run the passphrase command: %s", strerror(errno));
		return EXIT_AUTH;
	}
	if (pid == 0)
		child(cmd, p[1]);
	close(p[1]);
	n = read_line(p[0], buf, size);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (status != 0 || n <= 0) {
		secmem_wipe(buf, size);
		if (status == -1 || !WIFEXITED(status))
			cli_error("passphrase command '%s' was killed (signal %d)", cmd,
				  status == -1 ? 0 : WTERMSIG(status));
		else if (WEXITSTATUS(status))
			cli_error("passphrase command '%s' failed (exit status %d)", cmd,
				  WEXITSTATUS(status));
		else if (n == -E2BIG)
			cli_error("passphrase command '%s' printed a line longer than %zu bytes",
				  cmd, size - 1);
		else
			cli_error("passphrase command '%s' printed no passphrase", cmd);
		return EXIT_AUTH;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return EXIT_OK;
}
