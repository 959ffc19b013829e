/* testwrap: run one test so that nothing it started outlives it and it cannot hang the suite.
 * tests/CMakeLists.txt runs every script test through it.
 *
 *   testwrap [--timeout S] [--load-scale MAX] [--grace S] [--linger S] [--sanitizer-logs]
 *            [--] CMD [ARGS...]
 *
 * - It becomes a child subreaper (PR_SET_CHILD_SUBREAPER): every process the test starts, even
 *   a daemon that forks twice or calls setsid, stays a descendant of testwrap, so it is found
 *   at the end instead of being adopted by init and keeping ctest's output pipe open.
 * - CMD runs in its own process group with stdin from /dev/null.
 * - After --timeout S (0: none), or when testwrap gets SIGTERM, SIGINT or SIGHUP, the test and
 *   every process it started get SIGTERM: the command the script waits on dies (also one in a
 *   process group of its own, such as timeout(1)'s), so the script's EXIT trap runs and cleans
 *   up. After --grace S (default 20) they all get SIGKILL.
 * - --load-scale MAX: the timeout is a budget for a machine with one runnable task per CPU; it
 *   stretches by the highest load factor (1-minute load average / CPUs, at least 1, at most MAX)
 *   seen while the test runs, so a test slowed down by a busy machine is not mistaken for a
 *   hung one, while a quiet machine finds a hang at the budget. ctest's own TIMEOUT, a SIGKILL
 *   that no cleanup survives, is set later than timeout x MAX + grace.
 * - When CMD has exited, descendants still running get --linger S (default 5) to exit on their
 *   own (a mount daemon finishing after fusermount3 -u); each one still alive then is named on
 *   stderr, killed (SIGTERM, then SIGKILL) and reaped, and the test fails: a test must stop what
 *   it started.
 * - --sanitizer-logs (the ASan+UBSan build): every process of the test writes its sanitizer
 *   reports to files in a private directory (log_path appended to ASAN_OPTIONS and
 *   UBSAN_OPTIONS) instead of its stderr, which for a daemonised mount is /dev/null. Each report
 *   is printed when the test ends, and the test fails: a leak or error in any process counts.
 *
 * Exit status: CMD's own (77 stays 77: ctest's skip code), 128+N if CMD died of signal N, 124 on
 * timeout, 1 when the test passed or skipped but left processes behind or a sanitizer report,
 * 2 on usage errors. */
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

/* What testwrap knows about the test it runs. */
struct run {
	pid_t pid;			 /* the test's process (and process group) */
	int status;			 /* its wait status, once done */
	bool done;			 /* it has exited and been reaped */
	bool stopping;			 /* SIGTERM sent (timeout or a signal to testwrap) */
	bool timed_out;			 /* ... because of the timeout */
	double budget, load_max, factor; /* timeout = budget x factor (1 <= factor <= load_max) */
	double grace, linger;
	double kill_at; /* when stopping: SIGKILL at this time (0: sent) */
	sigset_t set;	/* the signals testwrap waits for */
};

static void reap_all(struct run *r)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == r->pid) {
			r->status = st;
			r->done = true;
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

/* Send SIG to the test's process group and to every descendant of testwrap. */
static void signal_all(const struct run *r, int sig)
{
	static pid_t pids[MAX_PROCS];
	size_t n, i;

	kill(-r->pid, sig);
	n = descendants(pids);
	for (i = 0; i < n; i++)
		kill(pids[i], sig);
}

/* Kill every remaining descendant (SIGTERM, then SIGKILL after 2 s) and reap them. */
static void kill_descendants(struct run *r)
{
	static pid_t pids[MAX_PROCS];
	double end = now() + 2;
	size_t n, i;

	n = descendants(pids);
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while (descendants(pids) > 0 && now() < end) {
		wait_signal(&r->set, now() + 0.05 < end ? now() + 0.05 : end);
		reap_all(r);
	}
	end = now() + 10;
	while ((n = descendants(pids)) > 0 && now() < end) {
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		wait_signal(&r->set, now() + 0.05);
		reap_all(r);
	}
	reap_all(r);
}

/* The machine's load factor now: 1-minute load average per CPU, within [1, max]. */
static double load_factor(double max)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double load, f;

	if (max <= 1 || getloadavg(&load, 1) != 1 || cpus < 1)
		return 1;
	f = load / (double)cpus;
	return f < 1 ? 1 : f > max ? max : f;
}

static void begin_stop(struct run *r)
{
	r->stopping = true;
	r->kill_at = now() + r->grace;
	signal_all(r, SIGTERM);
}

/* Run until the test has exited: enforce the (load-scaled) timeout and forward signals. */
static void wait_test(struct run *r, double start)
{
	double f, deadline, wake;
	int sig;

	while (!r->done) {
		if (!r->stopping && (f = load_factor(r->load_max)) > r->factor)
			r->factor = f;
		deadline = r->budget > 0 ? start + r->budget * r->factor : 0;
		if (r->stopping)
			wake = r->kill_at > 0 ? r->kill_at : 0;
		else /* every second: the load factor may grow */
			wake = deadline > 0 && deadline < now() + 1 ? deadline : now() + 1;
		sig = wait_signal(&r->set, wake);
		if (sig == SIGCHLD || sig == 0)
			reap_all(r);
		if (r->done)
			break;
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			if (!r->stopping)
				begin_stop(r);
		} else if (!r->stopping && deadline > 0 && now() >= deadline) {
			fprintf(
			    stderr,
			    "%s: TIMEOUT: still running after %.0f s (budget %.0f s x load factor "
			    "%.1f): SIGTERM to the test and everything it started\n",
			    prog, now() - start, r->budget, r->factor);
			r->timed_out = true;
			begin_stop(r);
		}
		if (r->stopping && r->kill_at > 0 && now() >= r->kill_at) {
			fprintf(stderr, "%s: no exit %.0f s after SIGTERM: SIGKILL\n", prog,
				r->grace);
			signal_all(r, SIGKILL);
			r->kill_at = 0;
		}
	}
}

/* After the test: LINGER seconds for what it started to end by itself, then kill the rest.
 * Returns how many processes were left. */
static size_t sweep(struct run *r)
{
	static pid_t left[MAX_PROCS];
	double end = now() + (r->stopping ? 0 : r->linger);
	size_t n, k;
	int sig;

	while ((n = descendants(left)) > 0 && now() < end) {
		sig = wait_signal(&r->set, now() + 0.05 < end ? now() + 0.05 : end);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			end = 0;
		reap_all(r);
	}
	if (n > 0) {
		fprintf(stderr, "%s: the test left %zu process(es) running; killing them:\n", prog,
			n);
		for (k = 0; k < n; k++)
			describe(left[k]);
		kill_descendants(r);
	}
	return n;
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

static void usage_exit(void)
{
	fprintf(stderr,
		"usage: %s [--timeout S] [--load-scale MAX] [--grace S] [--linger S] "
		"[--sanitizer-logs] [--] CMD...\n",
		prog);
	exit(2);
}

/* The value of option argv[*i] (seconds); advances *i past it. */
static double opt_secs(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		usage_exit();
	(*i)++;
	return arg_secs(argv[*i - 1], argv[*i]);
}

/* Options into R; returns the index of CMD in argv. */
static int parse_args(int argc, char **argv, struct run *r, bool *san_logs)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--sanitizer-logs"))
			*san_logs = true;
		else if (!strcmp(argv[i], "--timeout"))
			r->budget = opt_secs(argc, argv, &i);
		else if (!strcmp(argv[i], "--load-scale"))
			r->load_max = opt_secs(argc, argv, &i);
		else if (!strcmp(argv[i], "--grace"))
			r->grace = opt_secs(argc, argv, &i);
		else if (!strcmp(argv[i], "--linger"))
			r->linger = opt_secs(argc, argv, &i);
		else
			usage_exit();
	}
	if (i >= argc)
		usage_exit();
	return i;
}

int main(int argc, char **argv)
{
	struct run r = {.grace = 20, .linger = 5, .load_max = 1, .factor = 1};
	bool san_logs = false;
	char *san_dir = NULL;
	int cmd, rc, reports;
	sigset_t old;
	size_t left;

	cmd = parse_args(argc, argv, &r, &san_logs);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		fprintf(stderr, "%s: warning: cannot become a subreaper: %s\n", prog,
			strerror(errno));
	sigemptyset(&r.set);
	sigaddset(&r.set, SIGCHLD);
	sigaddset(&r.set, SIGTERM);
	sigaddset(&r.set, SIGINT);
	sigaddset(&r.set, SIGHUP);
	sigprocmask(SIG_BLOCK, &r.set, &old);
	if (san_logs)
		san_dir = sanitizer_logs_begin();
	r.pid = start(argv + cmd, &old);
	if (r.pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return 2;
	}
	setpgid(r.pid, r.pid); /* also here: no race with the first kill(-pid) */

	wait_test(&r, now());
	left = sweep(&r);
	reports = sanitizer_logs_end(san_dir);

	rc = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
	if (r.timed_out)
		rc = EXIT_TIMEOUT;
	if (reports > 0 && (rc == 0 || rc == EXIT_SKIP)) {
		fprintf(stderr, "%s: FAIL: %d sanitizer report(s)\n", prog, reports);
		rc = 1;
	}
	if (left > 0 && (rc == 0 || rc == EXIT_SKIP)) {
		fprintf(stderr, "%s: FAIL: a test must stop every process it started\n", prog);
		rc = 1;
	}
	return rc;
}
