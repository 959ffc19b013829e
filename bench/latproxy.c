/* latproxy: a TCP proxy that delays the bytes in each direction by a fixed time, to measure
 * a store over a long link without touching the machine's network setup. It forwards bytes
 * untouched (TLS stays end to end), does not limit bandwidth, and keeps each connection's
 * byte order; connection setup itself is not delayed (the first bytes each way are).
 *
 *   latproxy --upstream HOST:PORT --delay-ms D [--port P] [--port-file FILE]
 *
 * One thread, epoll. Per direction a ring buffer of the bytes read and a queue of stamps (where
 * each read's bytes end, when they may leave); a direction stops reading while RING bytes or
 * STAMPS reads wait (like a full TCP window). The ring is mapped once per connection and
 * reused, and epoll interest changes only when it must: the proxy's own CPU per byte stays
 * small beside the daemon's and the server's it sits between (a malloc'd 256 KiB chunk per
 * read cost 6 CPU-s per GiB forwarded, a third of a 30 ms HTTPS read). Runs until killed
 * (SIGTERM/SIGINT: exit 0). Prints nothing but errors. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING   (64u << 20) /* bytes waiting per direction at most (like a full TCP window) */
#define STAMPS 8192	   /* reads waiting per direction at most */
#define MAX_EV 64

/* Bytes read from `from` wait in a ring buffer (mapped once per direction, reused: no
 * allocation or fresh page per read) until due; each read leaves a stamp (where its bytes end,
 * when they may leave). Positions are byte counts since the connection opened; the ring index
 * is the position modulo RING. */
struct stamp {
	uint64_t end, due; /* due: ns, CLOCK_MONOTONIC */
};

struct dir { /* bytes read from `from`, written to `to` after the delay */
	int from, to;
	uint8_t *ring;
	uint64_t rpos, wpos;	 /* written out / read in so far */
	struct stamp st[STAMPS]; /* st[sh % STAMPS] .. st[(se - 1) % STAMPS] are waiting */
	uint64_t sh, se;
	int eof;      /* from said EOF: shut down to's write side once drained */
	int shut;     /* done */
	int want_out; /* EPOLLOUT armed on to */
};

struct conn {
	int fd[2];	   /* 0: client, 1: upstream */
	uint32_t armed[2]; /* epoll events registered for fd[side] */
	struct dir d[2];   /* d[0]: client -> upstream, d[1]: upstream -> client */
	struct conn *next;
	int dead;
};

static uint64_t delay_ns;
static int ep;
static struct conn *conns;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int dir_full(const struct dir *d)
{
	return d->wpos - d->rpos >= RING || d->se - d->sh >= STAMPS;
}

/* epoll interest of one fd: readable while its inbound direction has room, writable while
 * its outbound direction has due bytes that did not fit. Changed only when it differs. */
static void rearm(struct conn *c, int side)
{
	struct dir *in = &c->d[side], *out = &c->d[!side];
	struct epoll_event ev = {0};

	if (!in->eof && !dir_full(in))
		ev.events |= EPOLLIN;
	if (out->want_out)
		ev.events |= EPOLLOUT;
	if (ev.events == c->armed[side])
		return;
	ev.data.u64 = ((uint64_t)(uintptr_t)c << 1) | (uint64_t)side; /* low bit: which fd */
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[side], &ev) == 0)
		c->armed[side] = ev.events;
}

static void conn_close(struct conn *c)
{
	for (int s = 0; s < 2; s++) {
		if (c->d[s].ring)
			munmap(c->d[s].ring, RING);
		c->d[s].ring = NULL;
		c->d[s].rpos = c->d[s].wpos = 0;
		c->d[s].sh = c->d[s].se = 0;
		if (c->fd[s] >= 0) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[s], NULL);
			close(c->fd[s]);
			c->fd[s] = -1;
		}
	}
	c->dead = 1;
}

/* Read what is there into the ring, due after the delay (one stamp per read). */
static void pump_in(struct conn *c, int side)
{
	struct dir *d = &c->d[side];

	while (!d->eof && !dir_full(d)) {
		size_t at = (size_t)(d->wpos % RING);
		size_t room = RING - (size_t)(d->wpos - d->rpos);
		ssize_t n = read(c->fd[side], d->ring + at, room < RING - at ? room : RING - at);

		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) { /* reset: tear the connection down */
				conn_close(c);
				return;
			}
			d->eof = 1;
			break;
		}
		d->wpos += (uint64_t)n;
		d->st[d->se % STAMPS] = (struct stamp){.end = d->wpos, .due = now_ns() + delay_ns};
		d->se++;
	}
}

/* Write the due bytes of direction side; returns the next due time (0: none waiting). */
static uint64_t pump_out(struct conn *c, int side, uint64_t now)
{
	struct dir *d = &c->d[side];
	int to = c->fd[!side];

	d->want_out = 0;
	while (d->sh < d->se && d->st[d->sh % STAMPS].due <= now) {
		const struct stamp *t = &d->st[d->sh % STAMPS];
		size_t at = (size_t)(d->rpos % RING);
		uint64_t want = t->end - d->rpos;
		ssize_t n = write(to, d->ring + at, want < RING - at ? (size_t)want : RING - at);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			d->want_out = 1;
			return 0;
		}
		if (n < 0) {
			conn_close(c);
			return 0;
		}
		d->rpos += (uint64_t)n;
		if (d->rpos == t->end)
			d->sh++;
	}
	if (d->sh == d->se && d->eof && !d->shut) {
		shutdown(to, SHUT_WR);
		d->shut = 1;
	}
	return d->sh < d->se ? d->st[d->sh % STAMPS].due : 0;
}

static int add_fd(struct conn *c, int side)
{
	struct epoll_event ev = {.events = EPOLLIN};

	ev.data.u64 = ((uint64_t)(uintptr_t)c << 1) | (uint64_t)side;
	c->armed[side] = ev.events;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[side], &ev);
}

static void accept_one(int lfd, const struct addrinfo *up)
{
	struct conn *c;
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), ufd;

	if (cfd < 0)
		return;
	ufd = socket(up->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* a blocking connect to a local upstream is quick, and keeps the loop simple */
	if (ufd < 0 || connect(ufd, up->ai_addr, up->ai_addrlen) < 0 || nonblock(cfd) < 0 ||
	    nonblock(ufd) < 0 || !(c = calloc(1, sizeof(*c)))) {
		close(cfd);
		if (ufd >= 0)
			close(ufd);
		return;
	}
	c->fd[0] = c->d[0].from = c->d[1].to = cfd;
	c->fd[1] = c->d[1].from = c->d[0].to = ufd;
	for (int s = 0; s < 2; s++) {
		/* reserved, not committed: only the pages the bytes in flight touch are used */
		void *m = mmap(NULL, RING, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		c->d[s].ring = m == MAP_FAILED ? NULL : m;
	}
	if (!c->d[0].ring || !c->d[1].ring || add_fd(c, 0) < 0 || add_fd(c, 1) < 0) {
		conn_close(c);
		free(c);
		return;
	}
	c->next = conns;
	conns = c;
}

static int listen_on(int port, int *bound)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*bound = ntohs(a.sin_port);
	return fd;
}

static void reap(void)
{
	for (struct conn **pp = &conns; *pp;) {
		struct conn *c = *pp;
		int done = c->dead || (c->d[0].shut && c->d[1].shut);
		if (done) {
			if (!c->dead)
				conn_close(c);
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static int run(int lfd, const struct addrinfo *up)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0}, evs[MAX_EV];

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return 1;
	while (!stop) {
		uint64_t now = now_ns(), next = 0;
		int timeout, n;

		for (struct conn *c = conns; c; c = c->next)
			for (int s = 0; s < 2 && !c->dead; s++) {
				uint64_t due = pump_out(c, s, now);
				if (due && (!next || due < next))
					next = due;
			}
		for (struct conn *c = conns; c; c = c->next)
			if (!c->dead)
				for (int s = 0; s < 2; s++)
					rearm(c, s);
		reap();
		timeout = next ? (int)((next - now + 999999) / 1000000) : 1000;
		n = epoll_wait(ep, evs, MAX_EV, timeout);
		for (int i = 0; i < n; i++) {
			struct conn *c;
			int side;

			if (evs[i].data.u64 == 0) {
				accept_one(lfd, up);
				continue;
			}
			c = (struct conn *)(uintptr_t)(evs[i].data.u64 >> 1);
			side = (int)(evs[i].data.u64 & 1);
			if (!c->dead && (evs[i].events & EPOLLERR))
				conn_close(c); /* reset: nothing more will get through */
			else if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP)))
				pump_in(c, side);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *upstream = NULL, *port_file = NULL;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *up;
	int port = 0, bound, lfd;
	double delay_ms = -1;
	char host[256], *colon;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--upstream"))
			upstream = argv[i + 1];
		else if (!strcmp(argv[i], "--delay-ms"))
			delay_ms = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
	}
	if (!upstream || delay_ms < 0 || strlen(upstream) >= sizeof(host) ||
	    !(colon = strrchr(strcpy(host, upstream), ':'))) {
		fprintf(stderr, "usage: latproxy --upstream HOST:PORT --delay-ms D [--port P] "
				"[--port-file FILE]\n");
		return 2;
	}
	*colon = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &up) != 0) {
		fprintf(stderr, "latproxy: cannot resolve %s\n", upstream);
		return 1;
	}
	delay_ns = (uint64_t)(delay_ms * 1e6);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	lfd = listen_on(port, &bound);
	if (lfd < 0) {
		perror("latproxy: listen");
		return 1;
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f || fprintf(f, "%d\n", bound) < 0 || fclose(f) != 0) {
			perror("latproxy: port file");
			return 1;
		}
	}
	return run(lfd, up);
}
