/* profile: configure once. A profile is a small file of "key = value" lines naming what the
 * commands would otherwise repeat — the store URL, the CA, the key file, the trust
 * fingerprint, the cache directory. It names files; it never holds a secret (a
 * "passphrase" key is refused: a profile is readable, a passphrase file is mode 0600).
 *
 * Because passphrase-command runs a command, a profile that others could write would let
 * them run code as the reader: it must be owned by root or the caller and not writable by
 * group or others, as sudo and ssh treat their configuration. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define PROFILE_MAX_BYTES   (64 << 10)
#define PROFILE_MAX_ENTRIES 256

/* Keys a profile may hold: the long options worth configuring once, plus the defaults of
 * positional arguments. A key is handed to a command only if it takes that option, so one
 * profile serves mount, ls and seal alike; a key in no command is a typo and refused. */
static const char *const known_keys[] = {
    /* positional defaults */
    "store", "mountpoint", "path",
    /* credentials and store access (every command) */
    "passphrase-file", "passphrase-command", "key-file", "share-file", "sealer-key", "cacert",
    "tls-cert", "tls-key", "s3-endpoint", "timeout", "trust", "min-sequence", "state-dir",
    "allow-rollback", "require-fresh", "quiet", "verbose",
    /* mount */
    "cache-dir", "cache-size", "memory-cache", "allow-other", "uid", "gid", "umask", "offline",
    "snapshot",
    /* seal and refresh-head */
    "tag", "host", "valid-for", "compression-level", "threads", "exclude"};

static struct {
	char *text; /* the file, split in place */
	const char *key[PROFILE_MAX_ENTRIES], *val[PROFILE_MAX_ENTRIES];
	size_t n;
} prof;

static bool known(const char *key)
{
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (strcmp(known_keys[i], key) == 0)
			return true;
	return false;
}

/* Where profile NAME lives: a path as given, else the first existing of the user's and the
 * system's. *path is malloc'd. */
static int find(const char *name, char **path)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *user = NULL;

	if (strchr(name, '/'))
		return (*path = strdup(name)) ? 0 : -ENOMEM;
	if (!*name || name[0] == '.') {
		cli_error("profile name '%s' is not a name", name);
		return -EINVAL;
	}
	if (xdg && *xdg) {
		if (asprintf(&user, "%s/embassy/%s.conf", xdg, name) < 0)
			return -ENOMEM;
	} else if (home && *home && asprintf(&user, "%s/.config/embassy/%s.conf", home, name) < 0) {
		return -ENOMEM;
	}
	if (user && access(user, F_OK) == 0) {
		*path = user;
		return 0;
	}
	if (asprintf(path, "/etc/embassy/%s.conf", name) < 0) {
		free(user);
		return -ENOMEM;
	}
	if (access(*path, F_OK) == 0) {
		free(user);
		return 0;
	}
	cli_error("no profile '%s': neither %s nor %s exists", name, user ? user : "~/.config/…",
		  *path);
	free(user);
	free(*path);
	return -ENOENT;
}

static int read_file(const char *path, char **text)
{
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret = -EINVAL;

	if (fd < 0) {
		ret = -errno;
		cli_error("profile %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > PROFILE_MAX_BYTES) {
		cli_error("profile %s is not a regular file of at most %d bytes", path,
			  PROFILE_MAX_BYTES);
		goto out;
	}
	if ((sb.st_uid != 0 && sb.st_uid != geteuid()) || (sb.st_mode & 022)) {
		cli_error("profile %s may be changed by others (owner uid %u, mode %04o); it must "
			  "belong to root or you and not be group- or world-writable",
			  path, (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
		ret = -EPERM;
		goto out;
	}
	*text = malloc((size_t)sb.st_size + 1);
	if (!*text) {
		ret = -ENOMEM;
		goto out;
	}
	n = read(fd, *text, (size_t)sb.st_size);
	if (n != sb.st_size) {
		cli_error("profile %s: short read", path);
		free(*text);
		*text = NULL;
		ret = -EIO;
		goto out;
	}
	(*text)[n] = '\0';
	ret = 0;
out:
	close(fd);
	return ret;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* One line: "" or a comment, or "key = value". */
static int parse_line(const char *path, unsigned lineno, char *line)
{
	char *eq, *key, *val;

	line = trim(line);
	if (!*line || *line == '#' || *line == ';')
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		cli_error("profile %s line %u: expected 'key = value'", path, lineno);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	for (char *p = key; *p; p++)
		if (*p == '_') /* fstab spelling: key_file */
			*p = '-';
	if (strcmp(key, "passphrase") == 0) {
		cli_error("profile %s line %u: a profile never holds the passphrase; put it in a "
			  "mode 0600 file and name it with passphrase-file, or use "
			  "passphrase-command",
			  path, lineno);
		return -EINVAL;
	}
	if (!known(key)) {
		cli_error("profile %s line %u: unknown key '%s' (embassy(1), PROFILES, lists "
			  "them)",
			  path, lineno, key);
		return -EINVAL;
	}
	if (!*val) {
		cli_error("profile %s line %u: '%s' has no value", path, lineno, key);
		return -EINVAL;
	}
	if (prof.n == PROFILE_MAX_ENTRIES) {
		cli_error("profile %s: more than %d settings", path, PROFILE_MAX_ENTRIES);
		return -EINVAL;
	}
	prof.key[prof.n] = key;
	prof.val[prof.n++] = val;
	return 0;
}

int profile_load(const char *name)
{
	char *path = NULL, *line, *next;
	unsigned lineno = 0;
	int err;

	free(prof.text);
	memset(&prof, 0, sizeof(prof));
	err = find(name, &path);
	if (err < 0)
		return err;
	err = read_file(path, &prof.text);
	for (line = prof.text; !err && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		err = parse_line(path, ++lineno, line);
	}
	free(path);
	return err;
}

bool profile_entry(size_t i, const char **key, const char **val)
{
	if (i >= prof.n)
		return false;
	*key = prof.key[i];
	*val = prof.val[i];
	return true;
}

const char *profile_get(const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < prof.n; i++)
		if (strcmp(prof.key[i], key) == 0)
			v = prof.val[i];
	return v;
}

size_t profile_all(const char *key, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < prof.n && n < max; i++)
		if (strcmp(prof.key[i], key) == 0)
			out[n++] = prof.val[i];
	return n;
}

int profile_bool(const char *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
										    "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}
