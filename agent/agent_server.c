/* agent_server: the agent daemon's loop (agent.h). One thread, one request per connection;
 * every bundle, request and reply buffer lives in secure memory (guarded, locked, wiped on
 * free), and the process is made non-dumpable before the first bundle arrives. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"
#include "log.h"
#include "secmem.h"

struct slot {
	uint8_t id[AGENT_ID_LEN];
	uint8_t bundle[AGENT_BUNDLE_LEN];
	bool used;
};

struct server {
	struct slot *slots; /* secmem, AGENT_MAX_KEYS */
	uint8_t *req;	    /* secmem, AGENT_REQ_LEN */
	uint8_t *reply;	    /* secmem, 5 + AGENT_REPLY_MAX */
	uint64_t expires;
	bool stop;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

int agent_listen(const char *dir, const char *sock, int *lfd)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, ret;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	ret = agent_check_dir(dir);
	if (!ret)
		ret = agent_sockaddr(sock, &sa);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE; /* an agent answers there */
	}
	unlink(sock); /* a stale socket of an agent that died */
	old = umask(077);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sock, 0600) < 0 ||
		      listen(fd, 16) < 0
		  ? -errno
		  : 0;
	umask(old);
	if (ret) {
		close(fd);
		return ret;
	}
	*lfd = fd;
	return 0;
}

static struct slot *find(struct server *sv, const uint8_t *id)
{
	for (int i = 0; i < AGENT_MAX_KEYS; i++)
		if (sv->slots[i].used && !memcmp(sv->slots[i].id, id, AGENT_ID_LEN))
			return &sv->slots[i];
	return NULL;
}

static void wipe_slot(struct slot *s)
{
	secmem_wipe(s, sizeof(*s));
}

/* Handle the request in sv->req; the reply (status, payload) goes to sv->reply. */
static size_t handle(struct server *sv)
{
	uint8_t op = sv->req[4], *id = sv->req + 5, *bundle = id + AGENT_ID_LEN;
	uint8_t *st = sv->reply, *p = sv->reply + 5;
	struct slot *s = find(sv, id);
	size_t len = 0, n = 0;

	*st = AGENT_OK;
	if (memcmp(sv->req, AGENT_MAGIC, 4)) {
		*st = AGENT_BAD;
	} else if (op == AGENT_OP_GET) {
		if (s) {
			memcpy(p, s->bundle, AGENT_BUNDLE_LEN);
			len = AGENT_BUNDLE_LEN;
		} else {
			*st = AGENT_NOT_HELD;
		}
	} else if (op == AGENT_OP_ADD) {
		for (int i = 0; !s && i < AGENT_MAX_KEYS; i++)
			if (!sv->slots[i].used)
				s = &sv->slots[i];
		if (s) {
			memcpy(s->id, id, AGENT_ID_LEN);
			memcpy(s->bundle, bundle, AGENT_BUNDLE_LEN);
			s->used = true;
		} else {
			*st = AGENT_FULL;
		}
	} else if (op == AGENT_OP_REMOVE) {
		if (s)
			wipe_slot(s);
		else
			*st = AGENT_NOT_HELD;
	} else if (op == AGENT_OP_REMOVE_ALL) {
		for (int i = 0; i < AGENT_MAX_KEYS; i++)
			wipe_slot(&sv->slots[i]);
	} else if (op == AGENT_OP_STATUS) {
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t)(sv->expires >> (8 * i));
		for (int i = 0; i < AGENT_MAX_KEYS; i++)
			if (sv->slots[i].used)
				memcpy(p + 12 + AGENT_ID_LEN * n++, sv->slots[i].id, AGENT_ID_LEN);
		for (int i = 0; i < 4; i++)
			p[8 + i] = (uint8_t)(n >> (8 * i));
		len = 12 + n * AGENT_ID_LEN;
	} else if (op == AGENT_OP_STOP) {
		sv->stop = true;
	} else {
		*st = AGENT_BAD;
	}
	for (int i = 0; i < 4; i++)
		sv->reply[1 + i] = (uint8_t)(len >> (8 * i));
	return 5 + len;
}

static void serve_one(struct server *sv, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (!agent_peer_ok(fd)) {
		log_warn("refused a connection from another user");
	} else if (agent_io(fd, sv->req, AGENT_REQ_LEN, false) == 0) {
		size_t n = handle(sv);
		agent_io(fd, sv->reply, n, true);
	}
	close(fd);
	secmem_wipe(sv->req, AGENT_REQ_LEN);
	secmem_wipe(sv->reply, 5 + AGENT_REPLY_MAX);
}

static void harden(void)
{
	struct rlimit no = {0, 0};

	/* no core file, and no ptrace or /proc/PID/mem for processes of the same user */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &no);
}

static void on_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int agent_serve(int lfd, const char *sock, uint64_t expires, void (*ready)(void *), void *ctx)
{
	struct server sv = {.expires = expires};
	int ret = 0;

	harden();
	sv.slots = secmem_alloc(AGENT_MAX_KEYS * sizeof(*sv.slots));
	sv.req = secmem_alloc(AGENT_REQ_LEN);
	sv.reply = secmem_alloc(5 + AGENT_REPLY_MAX);
	if (!sv.slots || !sv.req || !sv.reply) {
		ret = -ENOMEM;
		goto out;
	}
	memset(sv.slots, 0, AGENT_MAX_KEYS * sizeof(*sv.slots));
	on_signals();
	if (ready)
		ready(ctx);
	while (!sv.stop && !got_signal) {
		uint64_t now = (uint64_t)time(NULL);
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		if (now >= sv.expires)
			break;
		/* wake at the expiry at the latest (and every minute: the clock may jump) */
		uint64_t ms = (sv.expires - now) * 1000;
		if (poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms) > 0)
			serve_one(&sv, lfd);
	}
	if (got_signal)
		log_info("signal %d: wiping the keys and exiting", (int)got_signal);
	else if (!sv.stop)
		log_info("lifetime over: wiping the keys and exiting");
out:
	secmem_free(sv.slots); /* wipes */
	secmem_free(sv.req);
	secmem_free(sv.reply);
	close(lfd);
	unlink(sock);
	return ret;
}
