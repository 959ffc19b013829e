/* agent: the unlocked-key agent (agent/agent.h) — start, add a store's key, status, remove,
 * stop. Commands use a running agent by themselves (cli/auth.c: cli_open_store). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "hex.h"
#include "log.h"
#include "secmem.h"

#define LIFETIME_DEFAULT (60 * 60)	    /* 1 hour */
#define LIFETIME_MAX	 (7 * 24 * 60 * 60) /* a week */

static const char help[] =
    "NAME\n"
    "  embassy agent - hold stores' keys for a while, so commands skip the passphrase\n"
    "\n"
    "SYNOPSIS\n"
    "  embassy agent start [--lifetime DURATION] [--foreground]\n"
    "  embassy agent add STORE [CREDENTIALS]\n"
    "  embassy agent status [--json]\n"
    "  embassy agent remove STORE | --all\n"
    "  embassy agent stop\n"
    "\n"
    "DESCRIPTION\n"
    "  Opening a store with a passphrase runs Argon2id, by design slow (about a second\n"
    "  with the defaults); a key file or a quorum of officers is slow in other ways. The\n"
    "  agent, like ssh-agent, pays that once: 'agent add' opens the store with the usual\n"
    "  credentials and hands its key bundle (store id, master key, signing public key) to\n"
    "  the agent; from then on every command of the same user that opens that store (ls,\n"
    "  cat, restore, verify, snapshots, mount, info) takes the key from the agent without\n"
    "  reading or asking for a passphrase, and a remount is ready in a fraction of a\n"
    "  second. The key is checked against the store's signed descriptor like one from a key\n"
    "  entry; sealing always needs the sealer key file.\n"
    "\n"
    "  The agent keeps the keys in locked, guarded memory, never on disk; it cannot be\n"
    "  traced or dumped by the user's other processes; it answers only its own user (the\n"
    "  socket's directory is 0700, the socket 0600, and the peer's uid is checked); after\n"
    "  --lifetime it wipes every key and exits, as on 'agent stop' or SIGTERM. Anyone who\n"
    "  runs as this user (or root) meanwhile can read the stores it holds keys for: stop it\n"
    "  when the work is done.\n"
    "\n"
    "  start   start the agent in the background (it prints its socket and end)\n"
    "    --lifetime DURATION  wipe and exit after this long (default 1h, at most 7d)\n"
    "    --foreground         stay in the foreground, log to standard error\n"
    "  add     open STORE with the credentials given (or asked for) and give its key to\n"
    "          the agent\n"
    "  status  whether an agent runs, until when, and which store ids it holds keys for;\n"
    "          exit 1 when none runs\n"
    "    --json               one JSON object: running, socket, expires, stores\n"
    "  remove  wipe the key of STORE (its descriptor names the store id), or all keys\n"
    "    --all                every key\n"
    "  stop    wipe every key and exit\n"
    "\n"
    "  The agent's socket is $EMBASSY_AGENT_DIR/agent.sock, else\n"
    "  $XDG_RUNTIME_DIR/embassy-agent/agent.sock, else /tmp/embassy-agent-UID/agent.sock.\n"
    "  EMBASSY_AGENT=off makes commands ignore a running agent.\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy agent start --lifetime 8h\n"
    "  embassy agent add /srv/embassy\n"
    "  embassy mount /srv/embassy /mnt/registers      # no passphrase asked\n"
    "  embassy agent stop\n";

struct agent_args {
	int64_t lifetime;
	bool foreground, all, json;
};

static int parse(struct cli_ctx *c, struct agent_args *a, int argc, char **argv)
{
	const struct opts_spec options[] = {
	    OPTS_DURATION(0, "lifetime", &a->lifetime, LIFETIME_MAX,
			  "--lifetime needs a duration of 1s to 7d, not '{arg}'"),
	    OPTS_FLAG(0, "foreground", &a->foreground), OPTS_FLAG(0, "all", &a->all),
	    OPTS_FLAG(0, "json", &a->json), OPTS_END};

	opts_init(c, "agent");
	memset(a, 0, sizeof(*a));
	a->lifetime = LIFETIME_DEFAULT;
	return opts_parse(c, argc, argv, OPTS_COMMON(CLI_COMMON_OPTIONS), options);
}

static void when(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(out, 32, "%llu", (unsigned long long)t);
}

static const char *sock_path(void)
{
	static char dir[512], sock[600];

	return agent_paths(dir, sizeof(dir), sock, sizeof(sock)) == 0 ? sock : "?";
}

/* ---- start ---- */

static void tell_parent(void *ctx)
{
	int fd = *(int *)ctx;

	if (fd >= 0 && write(fd, "R", 1) != 1)
		log_warn("cannot tell the starting process that the agent runs");
	if (fd >= 0)
		close(fd);
}

/* The child's half: its own session, no terminal, logs to syslog. */
static void detach(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	if (chdir("/") < 0)
		log_debug("chdir /: %s", strerror(errno));
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	log_use_syslog(true);
}

static int cmd_start(struct cli_ctx *c, struct agent_args *a)
{
	char dir[512], sock[600], end[32];
	uint64_t expires = (uint64_t)time(NULL) + (uint64_t)a->lifetime;
	int lfd, p[2] = {-1, -1}, err = agent_paths(dir, sizeof(dir), sock, sizeof(sock));
	pid_t pid;
	char r;

	if (!err)
		err = agent_listen(dir, sock, &lfd);
	if (err == -EADDRINUSE) {
		cli_error("an agent already runs on %s ('embassy agent stop' first)", sock);
		return EXIT_FAIL;
	}
	if (err) {
		cli_error("cannot start the agent in %s: %s%s", dir, strerror(-err),
			  err == -EPERM ? " (the directory must be yours, mode 0700, not a link)"
					: "");
		return EXIT_FAIL;
	}
	when(expires, end);
	if (a->foreground) {
		if (!cli_quiet())
			fprintf(stderr, "embassy: agent on %s until %s\n", sock, end);
		return agent_serve(lfd, sock, expires, NULL, NULL) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		cli_error("cannot start the agent: %s", strerror(errno));
		close(lfd);
		unlink(sock);
		return EXIT_FAIL;
	}
	if (pid == 0) {
		close(p[0]);
		detach();
		_exit(agent_serve(lfd, sock, expires, tell_parent, &p[1]) < 0 ? EXIT_FAIL
									      : EXIT_OK);
	}
	close(p[1]);
	close(lfd);
	if (read(p[0], &r, 1) != 1) {
		close(p[0]);
		waitpid(pid, NULL, 0);
		cli_error("the agent exited before it was ready");
		return EXIT_FAIL;
	}
	close(p[0]);
	if (!cli_quiet())
		printf("agent %ld on %s until %s\n", (long)pid, sock, end);
	(void)c;
	return EXIT_OK;
}

/* ---- add, remove ---- */

static int not_running(void)
{
	cli_error("no agent runs on %s ('embassy agent start')", sock_path());
	return EXIT_FAIL;
}

static int cmd_add(struct cli_ctx *c, const char *url)
{
	struct store *s = NULL;
	uint8_t *bundle = secmem_alloc(AGENT_BUNDLE_LEN);
	struct agent_status st;
	int ret, err;

	if (!bundle)
		return EXIT_FAIL;
	if (agent_status(&st) < 0) {
		secmem_free(bundle);
		return not_running();
	}
	c->no_agent = true; /* unlock with the credentials, not with what the agent has */
	ret = cli_open_store(c, url, false, &s);
	if (ret == EXIT_OK) {
		err = store_key_bundle(s, bundle);
		if (!err)
			err = agent_add(bundle + 8, bundle);
		if (err == -ENOSPC)
			cli_error("the agent holds %d keys already; remove one first",
				  AGENT_MAX_KEYS);
		else if (err)
			cli_error("cannot hand the key to the agent: %s", strerror(-err));
		else if (!cli_quiet())
			printf("agent holds the key of store %s\n", store_id_hex(s));
		ret = err ? EXIT_FAIL : EXIT_OK;
	}
	store_close(s);
	secmem_free(bundle);
	return ret;
}

static int cmd_remove(struct cli_ctx *c, const struct agent_args *a, const char *url)
{
	uint8_t id[AGENT_ID_LEN];
	char hex[2 * AGENT_ID_LEN + 1];
	int err = 0;

	if (!a->all) {
		err = store_peek_id(url, &c->ro, id);
		if (err) {
			cli_error("cannot read the store id of %s: %s", url, strerror(-err));
			return err == -ENOENT ? EXIT_NOSTORE : cli_exit_for(err);
		}
	}
	err = agent_remove(a->all ? NULL : id);
	if (err == -ENOTCONN)
		return not_running();
	if (err == -ENOKEY) {
		hex_encode(id, AGENT_ID_LEN, hex);
		cli_error("the agent holds no key for store %s", hex);
		return EXIT_FAIL;
	}
	if (err) {
		cli_error("cannot talk to the agent: %s", strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* ---- status, stop ---- */

static int print_status_json(const struct agent_status *st, bool running)
{
	json_t *o = json_object(), *ids = json_array();
	char hex[2 * AGENT_ID_LEN + 1];

	for (size_t i = 0; running && ids && i < st->n; i++) {
		hex_encode(st->ids[i], AGENT_ID_LEN, hex);
		json_array_append_new(ids, json_string(hex));
	}
	json_object_set_new(o, "running", json_boolean(running));
	json_object_set_new(o, "socket", json_string(sock_path()));
	if (running)
		json_object_set_new(o, "expires", json_integer((json_int_t)st->expires));
	json_object_set_new(o, "stores", ids);
	return cli_print_json(o);
}

static int cmd_status(const struct agent_args *a)
{
	struct agent_status st;
	char hex[2 * AGENT_ID_LEN + 1], end[32];
	int err = agent_status(&st);

	if (err && err != -ENOTCONN) {
		cli_error("cannot talk to the agent: %s", strerror(-err));
		return EXIT_FAIL;
	}
	if (a->json) {
		int r = print_status_json(&st, !err);
		return r != EXIT_OK ? r : err ? EXIT_FAIL : EXIT_OK;
	}
	if (err) {
		if (!cli_quiet())
			printf("no agent runs on %s\n", sock_path());
		return EXIT_FAIL;
	}
	when(st.expires, end);
	if (!cli_quiet()) {
		printf("agent on %s until %s, %zu key(s)\n", sock_path(), end, st.n);
		for (size_t i = 0; i < st.n; i++) {
			hex_encode(st.ids[i], AGENT_ID_LEN, hex);
			printf("store %s\n", hex);
		}
	}
	return EXIT_OK;
}

static int cmd_stop(void)
{
	int err = agent_stop();

	if (err == -ENOTCONN) {
		cli_note("no agent was running");
		return EXIT_OK;
	}
	if (err) {
		cli_error("cannot talk to the agent: %s", strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* ---- dispatch ---- */

static int run(int argc, char **argv)
{
	struct cli_ctx c;
	struct agent_args a;
	const char *sub = argc >= 2 && argv[1][0] != '-' ? argv[1] : NULL, *url = NULL;
	int ret, nargs;

	if (sub) { /* the subcommand, then the options */
		argc--;
		argv++;
	}
	ret = parse(&c, &a, argc, argv);
	if (ret != EXIT_OK)
		return ret;
	if (c.help)
		return opts_help(&c);
	if (!sub)
		return opts_usage(&c, "agent needs start, add, status, remove or stop");
	nargs = argc - optind;
	if (strcmp(sub, "start") && (a.lifetime != LIFETIME_DEFAULT || a.foreground))
		return opts_usage(&c, "only start takes --lifetime and --foreground");
	if (a.all && strcmp(sub, "remove"))
		return opts_usage(&c, "only remove takes --all");
	if (a.json && strcmp(sub, "status"))
		return opts_usage(&c, "only status takes --json");
	if (!strcmp(sub, "add") || (!strcmp(sub, "remove") && !a.all)) {
		url = opts_one_store(&c, argc, argv);
		if (!url)
			return EXIT_USAGE;
		nargs = argc - optind;
	}
	if (nargs)
		return opts_usage(&c, "unexpected argument '%s'", argv[optind]);
	if (!strcmp(sub, "start"))
		return cmd_start(&c, &a);
	if (!strcmp(sub, "add"))
		return cmd_add(&c, url);
	if (!strcmp(sub, "remove"))
		return cmd_remove(&c, &a, url);
	if (!strcmp(sub, "status"))
		return cmd_status(&a);
	if (!strcmp(sub, "stop"))
		return cmd_stop();
	return opts_usage(&c, "agent has no subcommand '%s': start, add, status, remove or stop",
			  sub);
}

const struct cli_cmd cli_cmd_agent = {
    "agent", "hold stores' keys for a while, so commands skip the passphrase", help, run};
