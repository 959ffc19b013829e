/* testwrap: run one test so that nothing it started outlives it and it cannot hang the suite.
 * tests/CMakeLists.txt runs every script test through it.
 *
 *   testwrap [--timeout SECS] [--grace SECS] [--linger SECS] [--sanitizer-logs] [--] CMD...
 *
 * - It becomes a child subreaper (PR_SET_CHILD_SUBREAPER): every process the test starts, even
 *   a daemon that forks twice or calls setsid, stays a descendant of testwrap, so it is found
 *   at the end instead of being adopted by init and keeping ctest's output pipe open.
 * - CMD runs in its own process group with stdin from /dev/null.
 * - After --timeout SECS (0: none), or when testwrap gets SIGTERM, SIGINT or SIGHUP, the test's
 *   process group gets SIGTERM: the command the script is waiting on dies, so the script's EXIT
 *   trap runs and cleans up (unmounts, stops servers). After --grace SECS (default 20) the group
 *   gets SIGKILL. ctest's own TIMEOUT, a SIGKILL that no cleanup survives, is set later than
 *   timeout + grace.
 * - When CMD has exited, descendants still running get --linger SECS (default 5) to exit on
 *   their own (a mount daemon finishing after fusermount3 -u); each one still alive then is
 *   named on stderr, killed (SIGTERM, then SIGKILL) and reaped, and the test fails: a test must
 *   stop what it started.
 *
 * - --sanitizer-logs (the ASan+UBSan build): every process of the test writes its sanitizer
 *   reports to files in a private directory (log_path appended to ASAN_OPTIONS and
 *   UBSAN_OPTIONS) instead of its stderr, which for a daemonised mount is /dev/null. Each report
 *   is printed when the test ends, and the test fails: a leak or error in any process counts.
 *
 * Exit status: CMD's own (77 stays 77: ctest's skip code), 128+N if CMD died of signal N, 124 on
 * timeout, 1 when the test passed or skipped but left processes behind, 2 on usage errors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS    4096
#define CMDLINE_MAX  300
#define EXIT_SKIP    77
#define EXIT_TIMEOUT 124
#define REPORT_MAX   (16u << 10)

static const char *prog = "testwrap";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The parent PID from /proc/PID/stat ("pid (comm) state ppid ..."; comm may hold ')'); -1
 * when the process is gone or a zombie (dead, only waiting to be reaped). */
static pid_t proc_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || strlen(p) < 5 || p[2] == 'Z')
		return -1;
	return (pid_t)strtol(p + 4, NULL, 10); /* skip ") S " */
}

/* Every live descendant of this process, into pids[] (at most MAX_PROCS); returns the count. */
static size_t descendants(pid_t *pids)
{
	static pid_t all[MAX_PROCS], parent[MAX_PROCS];
	size_t nall = 0, n = 0, i, j;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while ((de = readdir(d)) && nall < MAX_PROCS) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);

		if (pid <= 0)
			continue;
		all[nall] = pid;
		parent[nall++] = proc_ppid(pid);
	}
	closedir(d);
	/* breadth first from ourselves: pids[0..n) are the descendants found so far */
	for (i = 0; i < nall; i++)
		if (parent[i] == getpid())
			pids[n++] = all[i];
	for (j = 0; j < n; j++)
		for (i = 0; i < nall && n < MAX_PROCS; i++)
			if (parent[i] == pids[j])
				pids[n++] = all[i];
	return n;
}

static void describe(pid_t pid)
{
	char path[64], buf[CMDLINE_MAX + 1];
	ssize_t n = 0, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, CMDLINE_MAX);
		close(fd);
	}
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	fprintf(stderr, "%s:   pid %d: %s\n", prog, (int)pid, n ? buf : "(zombie or gone)");
}

static void reap_all(pid_t main_pid, int *main_status, bool *main_done)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == main_pid) {
			*main_status = st;
			*main_done = true;
		}
}

/* Wait for a blocked signal until the absolute time DEADLINE (0: forever); returns it or 0. */
static int wait_signal(const sigset_t *set, double deadline)
{
	struct timespec ts;
	double left;
	int sig;

	if (deadline <= 0) {
		sig = sigwaitinfo(set, NULL);
		return sig < 0 ? 0 : sig;
	}
	left = deadline - now();
	if (left <= 0)
		return 0;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	sig = sigtimedwait(set, NULL, &ts);
	return sig < 0 ? 0 : sig;
}

/* Kill every remaining descendant (SIGTERM, then SIGKILL after 2 s) and reap them. */
static void kill_descendants(const sigset_t *set, pid_t main_pid, int *st, bool *done)
{
	static pid_t pids[MAX_PROCS];
	double end = now() + 2;
	size_t n, i;

	n = descendants(pids);
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while ((n = descendants(pids)) > 0 && now() < end) {
		wait_signal(set, now() + 0.05 < end ? now() + 0.05 : end);
		reap_all(main_pid, st, done);
	}
	end = now() + 10;
	while ((n = descendants(pids)) > 0 && now() < end) {
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		wait_signal(set, now() + 0.05);
		reap_all(main_pid, st, done);
	}
	reap_all(main_pid, st, done);
}

/* Point ASAN_OPTIONS and UBSAN_OPTIONS at files under a new private directory; returns it. */
static char *sanitizer_logs_begin(void)
{
	static const char *vars[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS"};
	const char *tmp = getenv("TMPDIR");
	char *dir, *val;
	size_t k;

	if (asprintf(&dir, "%s/testwrap-san.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, dir, strerror(errno));
		free(dir);
		return NULL;
	}
	for (k = 0; k < 2; k++) {
		const char *old = getenv(vars[k]);

		/* one name for both: whichever variable a runtime reads last sets its log_path */
		if (asprintf(&val, "%s%slog_path=%s/sanitizer", old ? old : "",
			     old && *old ? ":" : "", dir) < 0)
			continue;
		setenv(vars[k], val, 1);
		free(val);
	}
	return dir;
}

/* Print and remove every report in DIR, then DIR; returns how many there were. */
static int sanitizer_logs_end(char *dir)
{
	char path[4096], buf[REPORT_MAX];
	struct dirent *de;
	int n = 0, fd;
	ssize_t len;
	DIR *d;

	if (!dir || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		len = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "%s: sanitizer report %s:\n%.*s%s\n", prog, de->d_name,
			(int)(len > 0 ? len : 0), buf,
			len == (ssize_t)sizeof(buf) ? "\n[...]" : "");
		unlink(path);
		n++;
	}
	closedir(d);
	rmdir(dir);
	free(dir);
	return n;
}

static double arg_secs(const char *opt, const char *val)
{
	char *end;
	double v;

	errno = 0;
	v = val ? strtod(val, &end) : -1;
	if (!val || errno || *end || v < 0) {
		fprintf(stderr, "%s: %s needs a number of seconds\n", prog, opt);
		exit(2);
	}
	return v;
}

static pid_t start(char **argv, const sigset_t *old)
{
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	setpgid(0, 0);
	sigprocmask(SIG_SETMASK, old, NULL);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "%s: cannot run %s: %s\n", prog, argv[0], strerror(errno));
	_exit(127);
}

int main(int argc, char **argv)
{
	double timeout = 0, grace = 20, linger = 5, deadline, end;
	bool san_logs = false;
	char *san_dir = NULL;
	int nreports;
	bool main_done = false, timed_out = false, stopping = false;
	static pid_t left[MAX_PROCS];
	sigset_t set, old;
	int i = 1, st = 0, sig, rc;
	pid_t pid;
	size_t n, k;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--timeout")) {
			timeout = arg_secs(argv[i], argv[i + 1]);
			i++;
		} else if (!strcmp(argv[i], "--grace")) {
			grace = arg_secs(argv[i], argv[i + 1]);
			i++;
		} else if (!strcmp(argv[i], "--sanitizer-logs")) {
			san_logs = true;
		} else if (!strcmp(argv[i], "--linger")) {
			linger = arg_secs(argv[i], argv[i + 1]);
			i++;
		} else {
			fprintf(
			    stderr,
			    "usage: %s [--timeout S] [--grace S] [--linger S] [--sanitizer-logs] "
			    "[--] CMD...\n",
			    prog);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "%s: no command\n", prog);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		fprintf(stderr, "%s: warning: cannot become a subreaper: %s\n", prog,
			strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (san_logs)
		san_dir = sanitizer_logs_begin();
	pid = start(argv + i, &old);
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return 2;
	}
	setpgid(pid, pid); /* also here: no race with the first kill(-pid) */

	deadline = timeout > 0 ? now() + timeout : 0;
	while (!main_done) {
		sig = wait_signal(&set, deadline);
		if (sig == SIGCHLD || sig == 0)
			reap_all(pid, &st, &main_done);
		if (main_done)
			break;
		if (sig == 0 && deadline > 0 && now() >= deadline) {
			if (!stopping) {
				fprintf(stderr,
					"%s: TIMEOUT: still running after %.0f s: SIGTERM to the "
					"test\n",
					prog, timeout);
				timed_out = stopping = true;
				kill(-pid, SIGTERM);
				deadline = now() + grace;
			} else {
				fprintf(stderr, "%s: no exit %.0f s after SIGTERM: SIGKILL\n", prog,
					grace);
				kill(-pid, SIGKILL);
				deadline = 0;
			}
		} else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			if (!stopping) {
				stopping = true;
				kill(-pid, SIGTERM);
				deadline = now() + grace;
			} else {
				kill(-pid, SIGKILL);
			}
		}
	}

	/* the test is over; what it started gets LINGER seconds to finish by itself */
	end = now() + (stopping ? 0 : linger);
	while ((n = descendants(left)) > 0 && now() < end) {
		sig = wait_signal(&set, now() + 0.05 < end ? now() + 0.05 : end);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			end = 0;
		reap_all(pid, &st, &main_done);
	}
	if (n > 0) {
		fprintf(stderr, "%s: the test left %zu process(es) running; killing them:\n", prog,
			n);
		for (k = 0; k < n; k++)
			describe(left[k]);
		kill_descendants(&set, pid, &st, &main_done);
	}

	if (WIFEXITED(st))
		rc = WEXITSTATUS(st);
	else
		rc = 128 + WTERMSIG(st);
	if (timed_out)
		rc = EXIT_TIMEOUT;
	nreports = sanitizer_logs_end(san_dir);
	if (nreports > 0 && (rc == 0 || rc == EXIT_SKIP)) {
		fprintf(stderr, "%s: FAIL: %d sanitizer report(s)\n", prog, nreports);
		rc = 1;
	}
	if (n > 0 && (rc == 0 || rc == EXIT_SKIP)) {
		fprintf(stderr, "%s: FAIL: a test must stop every process it started\n", prog);
		rc = 1;
	}
	return rc;
}
