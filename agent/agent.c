/* agent: where the agent lives, and the client side of its protocol (agent.h). */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_int.h"
#include "secmem.h"

int agent_paths(char *dir, size_t dlen, char *sock, size_t slen)
{
	const char *d = getenv("EMBASSY_AGENT_DIR"), *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (d && *d)
		n = snprintf(dir, dlen, "%s", d);
	else if (rt && *rt == '/')
		n = snprintf(dir, dlen, "%s/embassy-agent", rt);
	else
		n = snprintf(dir, dlen, "/tmp/embassy-agent-%u", (unsigned)getuid());
	if (n < 0 || (size_t)n >= dlen)
		return -ENAMETOOLONG;
	n = snprintf(sock, slen, "%s/agent.sock", dir);
	if (n < 0 || (size_t)n >= slen || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int agent_check_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return -errno;
	/* a symlink, someone else's directory, or one others may enter or change: a place
	 * where another user could have put a socket of theirs, or could read ours */
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

int agent_sockaddr(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/* Read or write exactly n bytes, waiting at most AGENT_IO_MS for each step. */
int agent_io(int fd, void *buf, size_t n, bool wr)
{
	uint8_t *p = buf;

	while (n) {
		struct pollfd pfd = {.fd = fd, .events = wr ? POLLOUT : POLLIN};
		ssize_t k;
		int r = poll(&pfd, 1, AGENT_IO_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		k = wr ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The peer of a connected Unix socket runs as our user. */
bool agent_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == getuid();
}

static int connect_agent(void)
{
	char dir[512], path[600];
	struct sockaddr_un sa;
	int fd, ret = agent_paths(dir, sizeof(dir), path, sizeof(path));

	if (ret || agent_check_dir(dir) < 0 || agent_sockaddr(path, &sa) < 0)
		return -ENOTCONN; /* none, or not one we may trust */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || !agent_peer_ok(fd)) {
		close(fd);
		return -ENOTCONN;
	}
	return fd;
}

/* One request; *payload (secure memory, AGENT_REPLY_MAX bytes) gets the reply's payload. */
static int call(uint8_t op, const uint8_t *id, const uint8_t *bundle, uint8_t *payload,
		size_t *plen)
{
	uint8_t *req = secmem_alloc(AGENT_REQ_LEN), hdr[5];
	int fd = -1, ret = req ? 0 : -ENOMEM;
	uint32_t len;

	if (!ret) {
		memset(req, 0, AGENT_REQ_LEN);
		memcpy(req, AGENT_MAGIC, 4);
		req[4] = op;
		if (id)
			memcpy(req + 5, id, AGENT_ID_LEN);
		if (bundle)
			memcpy(req + 5 + AGENT_ID_LEN, bundle, AGENT_BUNDLE_LEN);
		fd = connect_agent();
		ret = fd < 0 ? fd : 0;
	}
	if (!ret)
		ret = agent_io(fd, req, AGENT_REQ_LEN, true);
	if (!ret)
		ret = agent_io(fd, hdr, sizeof(hdr), false);
	if (!ret) {
		len = (uint32_t)hdr[1] | (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3] << 16 |
		      (uint32_t)hdr[4] << 24;
		ret = len > AGENT_REPLY_MAX || (len && !payload) ? -EIO : 0;
	}
	if (!ret && len)
		ret = agent_io(fd, payload, len, false);
	if (!ret) {
		if (plen)
			*plen = len;
		ret = hdr[0] == AGENT_OK	 ? 0
		      : hdr[0] == AGENT_NOT_HELD ? -ENOKEY
		      : hdr[0] == AGENT_FULL	 ? -ENOSPC
						 : -EINVAL;
	}
	if (fd >= 0)
		close(fd);
	secmem_free(req);
	return ret;
}

int agent_get(const uint8_t id[AGENT_ID_LEN], uint8_t *out)
{
	uint8_t *p = secmem_alloc(AGENT_REPLY_MAX);
	size_t len = 0;
	int ret = p ? call(AGENT_OP_GET, id, NULL, p, &len) : -ENOMEM;

	if (!ret && len != AGENT_BUNDLE_LEN)
		ret = -EIO;
	if (!ret)
		memcpy(out, p, AGENT_BUNDLE_LEN);
	secmem_free(p);
	return ret;
}

int agent_add(const uint8_t id[AGENT_ID_LEN], const uint8_t *bundle)
{
	return call(AGENT_OP_ADD, id, bundle, NULL, NULL);
}

int agent_remove(const uint8_t *id)
{
	return call(id ? AGENT_OP_REMOVE : AGENT_OP_REMOVE_ALL, id, NULL, NULL, NULL);
}

int agent_stop(void)
{
	return call(AGENT_OP_STOP, NULL, NULL, NULL, NULL);
}

int agent_status(struct agent_status *st)
{
	uint8_t *p = secmem_alloc(AGENT_REPLY_MAX);
	size_t len = 0;
	int ret = p ? call(AGENT_OP_STATUS, NULL, NULL, p, &len) : -ENOMEM;

	memset(st, 0, sizeof(*st));
	if (!ret && len < 12)
		ret = -EIO;
	if (!ret) {
		for (int i = 7; i >= 0; i--)
			st->expires = st->expires << 8 | p[i];
		st->n =
		    (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
		if (st->n > AGENT_MAX_KEYS || len != 12 + st->n * AGENT_ID_LEN)
			ret = -EIO;
		else
			memcpy(st->ids, p + 12, st->n * AGENT_ID_LEN);
	}
	secmem_free(p);
	return ret;
}
