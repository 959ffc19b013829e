/* ctl: the control socket and the committer thread of a --rw mount (see ctl.h). */
#include "ctl.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "hex.h"
#include "log.h"

#define REQUEST_MAX (64u << 10)
#define REPLY_MAX   (64u << 20)
#define RETRY_S	    30 /* after a failed periodic commit (store unreachable), try again */

struct ctl {
	struct live *l;
	struct ctl_opts o;
	char *mountpoint;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	pthread_t acceptor, committer;
	bool acceptor_up, committer_up;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;	  /* lock */
	bool kicked;	  /* lock: writers need room */
	unsigned clients; /* lock: connections being served */
};

/* ---- where the socket is ---- */

static int runtime_dir(char *out, size_t size)
{
	const char *env = getenv("EMBASSY_RUNTIME_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(out, size, "%s", env);
	else if (geteuid() == 0)
		snprintf(out, size, "/run/embassy");
	else if (xdg && *xdg)
		snprintf(out, size, "%s/embassy", xdg);
	else
		snprintf(out, size, "/tmp/embassy-%u", (unsigned)geteuid());
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(out, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM; /* someone else's, or open to others: not a place for our socket */
	return 0;
}

static int sock_path(const char *mountpoint, char *out, size_t size)
{
	char dir[200], *real = realpath(mountpoint, NULL), hex[33];
	uint8_t h[16];
	int ret;

	if (!real)
		return -errno;
	crypto_generichash(h, sizeof(h), (const uint8_t *)real, strlen(real), NULL, 0);
	free(real);
	hex_encode(h, sizeof(h), hex);
	if ((ret = runtime_dir(dir, sizeof(dir))))
		return ret;
	if ((size_t)snprintf(out, size, "%s/rw-%s.sock", dir, hex) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- replies ---- */

static void hexid(json_t *o, const char *key, const uint8_t *id)
{
	char hex[2 * ID_LEN + 1];
	hex_encode(id, ID_LEN, hex);
	json_object_set_new(o, key, json_string(hex));
}

static json_t *conflicts_json(const struct commit_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->nconflicts; i++) {
		const struct commit_conflict *c = &r->conflicts[i];
		json_array_append_new(a, json_pack("{s:s, s:s?, s:s}", "path", c->path, "copy",
						   c->copy, "what", c->what));
	}
	return a;
}

static json_t *result_json(const struct commit_result *r)
{
	json_t *o =
	    json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "nothing", r->nothing, "merged",
		      r->merged, "seq", (json_int_t)r->seq, "entries", (json_int_t)r->entries,
		      "chunks", (json_int_t)r->chunks, "chunks_new", (json_int_t)r->chunks_new,
		      "bytes_new", (json_int_t)r->bytes_new, "time", (json_int_t)r->time_ns);
	if (!o)
		return NULL;
	if (r->no_base) { /* nothing committed, nothing sealed before either */
		json_object_set_new(o, "snapshot", json_null());
		json_object_set_new(o, "seq", json_null());
		json_object_set_new(o, "time", json_null());
		json_object_set_new(o, "time_ns", json_null());
	} else {
		hexid(o, "snapshot", r->snapshot);
	}
	if (!r->nothing)
		hexid(o, "ours", r->ours);
	json_object_set_new(o, "adopted", json_boolean(r->adopted));
	if (r->adopt_why)
		json_object_set_new(o, "adopt_deferred", json_string(r->adopt_why));
	json_object_set_new(o, "conflicts", conflicts_json(r));
	return o;
}

static json_t *error_json(int err)
{
	return json_pack("{s:s, s:i}", "error", strerror(-err), "errno", -err);
}

static json_t *do_status(struct ctl *c)
{
	struct live_status st;
	struct commit_info ci;
	struct stat mst;
	json_t *o;

	live_get_status(c->l, &st);
	commit_get_info(c->l, &ci);
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:b, s:I}", "mountpoint", c->mountpoint,
		      "pending_entries", (json_int_t)st.pending_entries, "pending_bytes",
		      (json_int_t)st.pending_bytes, "journal_bytes", (json_int_t)st.journal_bytes,
		      "journal_max", (json_int_t)st.journal_max, "journal_dir", st.journal_dir,
		      "commit_running", ci.running, "commit_every", (json_int_t)c->o.commit_every);
	if (o)
		json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
	if (o && st.has_base) {
		hexid(o, "base", st.base);
		json_object_set_new(o, "base_seq", json_integer((json_int_t)st.base_seq));
		json_object_set_new(o, "base_time", json_integer((json_int_t)st.base_time_ns));
	}
	if (o && st.adopt_why) {
		json_t *d = json_pack("{s:s}", "reason", st.adopt_why);
		if (d)
			hexid(d, "merge", st.adopt_id);
		json_object_set_new(o, "adopt_deferred", d);
	}
	if (o && stat(c->mountpoint, &mst) == 0)
		json_object_set_new(o, "dev", json_integer((json_int_t)mst.st_dev));
	if (o)
		json_object_set_new(o, "last_commit",
				    ci.have_last ? result_json(&ci.last) : json_null());
	if (o && ci.last_err)
		json_object_set_new(o, "last_error",
				    json_pack("{s:s, s:I}", "error", strerror(-ci.last_err), "time",
					      (json_int_t)ci.last_err_ns));
	commit_info_clear(&ci);
	return o;
}

static json_t *do_commit(struct ctl *c, json_t *req)
{
	const char *tags[256];
	size_t ntags = 0;
	json_t *t, *a = json_object_get(req, "tags");
	struct commit_opts o = {.valid_for_s = c->o.valid_for_s};
	struct commit_result r;
	size_t i;
	int ret;

	json_array_foreach(a, i, t)
	{
		if (ntags < 256 && json_is_string(t))
			tags[ntags++] = json_string_value(t);
	}
	o.tags = tags;
	o.ntags = ntags;
	ret = commit_run(c->l, &o, &r);
	json_t *out = ret ? error_json(ret) : result_json(&r);
	commit_result_clear(&r);
	return out;
}

/* ---- serving ---- */

struct client {
	struct ctl *c;
	int fd;
};

static bool peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
	       (cr.uid == 0 || cr.uid == geteuid());
}

static char *read_line(int fd, size_t max)
{
	char *buf = malloc(max + 1);
	size_t have = 0;

	while (buf && have < max) {
		ssize_t n = read(fd, buf + have, max - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (memchr(buf + have - (size_t)n, '\n', (size_t)n))
			break;
	}
	if (buf)
		buf[have] = 0;
	return buf;
}

static void *serve_client(void *arg)
{
	struct client *cl = arg;
	struct ctl *c = cl->c;
	char *line = peer_ok(cl->fd) ? read_line(cl->fd, REQUEST_MAX) : NULL;
	json_t *req = line ? json_loads(line, 0, NULL) : NULL, *rep;
	const char *op = json_string_value(json_object_get(req, "op"));

	if (!op)
		rep = json_pack("{s:s}", "error", "bad request");
	else if (!strcmp(op, "status"))
		rep = do_status(c);
	else if (!strcmp(op, "commit"))
		rep = do_commit(c, req);
	else
		rep = json_pack("{s:s}", "error", "unknown request");
	char *text = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
	if (text) {
		size_t len = strlen(text), off = 0;
		text[len] = 0;
		while (off < len) {
			ssize_t n = write(cl->fd, text + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		if (write(cl->fd, "\n", 1) != 1)
			log_debug("control: a client went away");
	}
	free(text);
	json_decref(rep);
	json_decref(req);
	free(line);
	close(cl->fd);
	free(cl);
	pthread_mutex_lock(&c->lock);
	c->clients--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct ctl *c = arg;
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		pthread_mutex_lock(&c->lock);
		bool stop = c->stopping;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;
		if (poll(&p, 1, 200) <= 0)
			continue;
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		struct client *cl = fd >= 0 ? malloc(sizeof(*cl)) : NULL;
		pthread_t t;
		if (!cl) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		*cl = (struct client){.c = c, .fd = fd};
		pthread_mutex_lock(&c->lock);
		c->clients++;
		pthread_mutex_unlock(&c->lock);
		if (pthread_create(&t, NULL, serve_client, cl) == 0) {
			pthread_detach(t);
		} else {
			close(fd);
			free(cl);
			pthread_mutex_lock(&c->lock);
			c->clients--;
			pthread_mutex_unlock(&c->lock);
		}
	}
	return NULL;
}

/* ---- the committer ---- */

static void kick(void *ctx)
{
	struct ctl *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->kicked = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void *committer_main(void *arg)
{
	struct ctl *c = arg;
	int64_t wait_s = c->o.commit_every;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_s > 0 ? wait_s : 3600;
		while (!c->stopping && !c->kicked &&
		       pthread_cond_timedwait(&c->cond, &c->lock, &until) != ETIMEDOUT)
			;
		if (c->stopping)
			break;
		bool due = c->kicked || c->o.commit_every > 0;
		c->kicked = false;
		pthread_mutex_unlock(&c->lock);
		struct commit_opts o = {.valid_for_s = c->o.valid_for_s};
		struct commit_result r;
		int ret = due ? commit_run(c->l, &o, &r) : 0;
		if (due && ret)
			log_err(
			    "commit of %s failed: %s; the changes stay in the journal, retrying "
			    "in %d s",
			    c->mountpoint, strerror(-ret), RETRY_S);
		else if (due && !r.nothing)
			log_info("committed %s%s (%zu conflict(s))", c->mountpoint,
				 r.merged ? ", merged with the head" : "", r.nconflicts);
		if (due && !ret)
			commit_result_clear(&r);
		wait_s = ret ? RETRY_S : c->o.commit_every;
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- life ---- */

int ctl_start(struct live *l, const struct ctl_opts *o, struct ctl **out)
{
	struct ctl *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ret;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->l = l;
	c->o = *o;
	c->fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->mountpoint = strdup(o->mountpoint);
	ret = c->mountpoint ? sock_path(o->mountpoint, c->path, sizeof(c->path)) : -ENOMEM;
	if (!ret) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
		unlink(c->path); /* a dead mount's */
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    chmod(c->path, 0600) < 0 || listen(c->fd, 16) < 0)
			ret = -errno;
	}
	if (!ret && !(c->acceptor_up = !pthread_create(&c->acceptor, NULL, acceptor_main, c)))
		ret = -EAGAIN;
	if (!ret && !(c->committer_up = !pthread_create(&c->committer, NULL, committer_main, c)))
		ret = -EAGAIN;
	if (ret) {
		log_err("control socket for %s: %s", o->mountpoint, strerror(-ret));
		ctl_stop(c);
		return ret;
	}
	live_set_commit_kick(l, kick, c);
	*out = c;
	return 0;
}

void ctl_stop(struct ctl *c)
{
	if (!c)
		return;
	live_set_commit_kick(c->l, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->acceptor_up)
		pthread_join(c->acceptor, NULL);
	if (c->committer_up)
		pthread_join(c->committer, NULL);
	pthread_mutex_lock(&c->lock);
	while (c->clients) /* a commit asked for by a client finishes first */
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->mountpoint);
	free(c);
}

/* ---- the client ---- */

int ctl_call(const char *mountpoint, const char *request, char **reply)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[sizeof(sa.sun_path)];
	int fd, ret = sock_path(mountpoint, path, sizeof(path));

	*reply = NULL;
	if (ret)
		return ret;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	size_t len = strlen(request), off = 0;
	while (off < len) {
		ssize_t n = write(fd, request + off, len - off);
		if (n <= 0) {
			close(fd);
			return -EIO;
		}
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1) {
		close(fd);
		return -EIO;
	}
	*reply = read_line(fd, REPLY_MAX); /* a commit may take long: no timeout */
	close(fd);
	if (!*reply)
		return -ENOMEM;
	return **reply ? 0 : -EIO;
}
