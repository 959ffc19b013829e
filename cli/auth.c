/* auth: gathering credentials for a store — the sealer key, a key file, or a passphrase from
 * --passphrase-file, EMBASSY_PASSPHRASE or the terminal — and opening the store with them.
 * Passphrases live in secmem and are wiped as soon as the store is open. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "keyadmin.h"
#include "keyfile.h"
#include "secenv.h"
#include "secmem.h"

#define PASS_MAX 1024

/* The terminal state to put back if the user interrupts a prompt with echo off. */
static struct termios saved_tio;
static volatile sig_atomic_t tty_fd = -1;

static void prompt_sigint(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* What a file given on the command line must be. Officers' key files and share files are
 * read by check_officer_files(), which says what they must be. */
enum kf_want { KF_SHARE, KF_OFFICER, KF_READER, KF_SEALER };

/* A public key file (.pub) given where the private one belongs: told apart by its first
 * line, read before the mode check, so it is not answered with "chmod 600" advice. */
static bool is_public_key_file(const char *path)
{
	char head[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head) - 1);
	close(fd);
	head[n > 0 ? n : 0] = '\0';
	return !strncmp(head, "embassy-recipient-pub-v1\n", 25) ||
	       !strncmp(head, "embassy-signing-pub-v1\n", 23);
}

/* The file's contents, read as the store would: a damaged or foreign file is a key file
 * error (exit 4), not the store failing authentication ("do not trust this copy"). */
static int check_key_content(const char *what, const char *path, enum kf_want want)
{
	struct keyfile kf;
	int err = keyfile_load(path, &kf);
	bool ok = !err && (kf.kind == KEYFILE_SEALER ||
			   (want == KF_READER && kf.kind == KEYFILE_RECIPIENT));

	if (err && err != -EBADMSG)
		cli_error("%s %s: %s", what, path, strerror(-err));
	else if (err)
		cli_error("%s %s is not an embassy key file (damaged, or another kind of file)",
			  what, path);
	else if (!ok && kf.kind == KEYFILE_RECIPIENT)
		cli_error("sealer key %s is a recipient key file ('embassy keygen'), which only "
			  "reads; give the file 'embassy init --sealer-key' wrote",
			  path);
	else if (!ok)
		cli_error("%s %s is a signing key file, which opens no store; give a recipient "
			  "key file ('embassy keygen') or the sealer key",
			  what, path);
	keyfile_clear(&kf);
	return ok ? EXIT_OK : EXIT_AUTH;
}

/* A key file must exist before the store is asked about it: store_open's -ENOENT would
 * otherwise read as "not a store". */
static int check_key_file(const char *what, const char *path, enum kf_want want)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		cli_error("%s %s: %s; give the path of an existing key file", what, path,
			  strerror(errno));
		return EXIT_AUTH;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error("%s %s is not a regular file", what, path);
		return EXIT_AUTH;
	}
	if (want != KF_SHARE && is_public_key_file(path)) {
		cli_error("%s %s is a public key file, which opens nothing; give the private key "
			  "file (without .pub)",
			  what, path);
		return EXIT_AUTH;
	}
	/* the store refuses it too (-EPERM); saying so here keeps it to one clear line */
	if (st.st_mode & 077) {
		cli_error("%s %s is readable by group or others (mode %04o); refusing it: run "
			  "'chmod 600 %s'",
			  what, path, (unsigned)(st.st_mode & 07777), path);
		return EXIT_AUTH;
	}
	return want < KF_READER ? EXIT_OK : check_key_content(what, path, want);
}

/* Strip one trailing newline (and a CR before it): files and terminals end lines. */
static size_t chomp(char *s, size_t n)
{
	if (n && s[n - 1] == '\n')
		n--;
	if (n && s[n - 1] == '\r')
		n--;
	s[n] = '\0';
	return n;
}

/* The first line of a passphrase file, read with read(2) straight into buf (secmem): no
 * stdio buffer keeps a copy. A regular file readable or writable by group or others is
 * refused, like a key file: the passphrase opens the whole store. (Pipes and terminals,
 * e.g. --passphrase-file <(pass show embassy), are not files anyone else can open.) */
static int pass_from_file(const char *path, char *buf, size_t *len)
{
	struct stat st;
	size_t n = 0;
	ssize_t r = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), ret = EXIT_AUTH;

	if (fd < 0) {
		cli_error("passphrase file %s: %s", path, strerror(errno));
		return EXIT_AUTH;
	}
	if (fstat(fd, &st) < 0) {
		cli_error("passphrase file %s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		cli_error("passphrase file %s is readable or writable by group or others (mode "
			  "%04o); refusing it: run 'chmod 600 %s'",
			  path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	/* up to the first newline; a line longer than the buffer is refused, not cut */
	while (n < PASS_MAX - 1 && !memchr(buf, '\n', n) && r > 0) {
		r = read(fd, buf + n, PASS_MAX - 1 - n);
		if (r < 0 && errno == EINTR)
			r = 1;
		else if (r < 0) {
			cli_error("passphrase file %s: %s", path, strerror(errno));
			goto out;
		} else
			n += (size_t)r;
	}
	char *nl = memchr(buf, '\n', n);
	if (!nl && n == PASS_MAX - 1) {
		cli_error("passphrase file %s: the first line is longer than %d bytes", path,
			  PASS_MAX - 2);
		goto out;
	}
	n = nl ? (size_t)(nl - buf) + 1 : n;
	secmem_wipe(buf + n, PASS_MAX - n); /* whatever followed the first line */
	*len = chomp(buf, n);
	if (*len == 0) {
		cli_error("passphrase file %s is empty or holds an empty first line", path);
		goto out;
	}
	if (memchr(buf, '\0', *len)) {
		cli_error("passphrase file %s holds a NUL byte in its first line", path);
		goto out;
	}
	ret = EXIT_OK;
out:
	close(fd);
	return ret;
}

/* Prompt on the controlling terminal with echo off. Only when stdin is a terminal, so a
 * script without credentials fails at once instead of hanging. */
static int pass_from_tty(const char *prompt, char *buf, size_t *len)
{
	struct termios tio;
	struct sigaction sa = {.sa_handler = prompt_sigint}, old_int, old_term;
	ssize_t n = 0;
	int fd = -1, ret = EXIT_AUTH;

	if (!isatty(STDIN_FILENO) || (fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0) {
		cli_error("no credentials: give --key-file FILE, --passphrase-file FILE or "
			  "--passphrase-command CMD, or set EMBASSY_PASSPHRASE");
		return EXIT_AUTH;
	}
	if (tcgetattr(fd, &saved_tio) < 0) {
		cli_error("cannot read the terminal's settings: %s", strerror(errno));
		goto out;
	}
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)ECHO;
	tio.c_lflag |= ECHONL;
	tty_fd = fd;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* echo off before the prompt: TCSAFLUSH drops typed-ahead input, never the answer */
	if (tcsetattr(fd, TCSAFLUSH, &tio) < 0 || write(fd, prompt, strlen(prompt)) < 0)
		goto restore;
	n = read(fd, buf, PASS_MAX - 1);
	tcsetattr(fd, TCSAFLUSH, &saved_tio);
restore:
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (n <= 0) {
		cli_error("no passphrase read from the terminal");
		goto out;
	}
	*len = chomp(buf, (size_t)n);
	ret = EXIT_OK;
out:
	close(fd);
	return ret;
}

/* EMBASSY_PASSPHRASE left the environment at start (main.c, secenv.h); its protected copy
 * is wiped once taken. */
static int pass_from_env(char *buf, size_t *len)
{
	const char *v = secenv_get("EMBASSY_PASSPHRASE");
	size_t n;

	if (!v)
		return -ENOENT;
	n = strlen(v);
	if (n >= PASS_MAX) {
		cli_error("EMBASSY_PASSPHRASE is longer than %d bytes", PASS_MAX - 1);
		return EXIT_AUTH;
	}
	memcpy(buf, v, n + 1);
	secenv_forget("EMBASSY_PASSPHRASE");
	*len = n;
	return EXIT_OK;
}

static int pass_alloc(struct cli_auth *out)
{
	out->pass = secmem_alloc(PASS_MAX);
	if (!out->pass) {
		cli_error("cannot allocate protected memory for the passphrase");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Passphrase from file or environment; -ENOENT when neither is given. */
static int pass_given(const struct cli_ctx *c, struct cli_auth *out)
{
	int ret;

	if (c->passphrase_file)
		ret = pass_from_file(c->passphrase_file, out->pass, &out->a.passlen);
	else if (c->passphrase_command)
		ret = passcmd_read(c->passphrase_command, out->pass, PASS_MAX, &out->a.passlen);
	else
		ret = pass_from_env(out->pass, &out->a.passlen);
	if (ret == EXIT_OK)
		out->a.passphrase = out->pass;
	return ret;
}

/* Officers' files are read here first, so a wrong file is one clear line (exit 4) and not
 * a store-level error. */
static int check_officer_files(const struct cli_ctx *c)
{
	struct quorum_share sh;
	struct keyfile kf;
	int ret, err;

	for (size_t i = 0; i < c->nkey_files; i++) {
		if ((ret = check_key_file("key file", c->key_files[i], KF_OFFICER)) != EXIT_OK)
			return ret;
		err = keyfile_load(c->key_files[i], &kf);
		if (!err && kf.kind != KEYFILE_RECIPIENT)
			err = -EBADMSG;
		keyfile_clear(&kf);
		if (err) {
			cli_error("key file %s is not a recipient key file ('embassy keygen'), as "
				  "an officer of a quorum holds: %s",
				  c->key_files[i],
				  err == -EBADMSG ? "wrong kind or malformed" : strerror(-err));
			return EXIT_AUTH;
		}
	}
	for (size_t i = 0; i < c->nshare_files; i++) {
		if ((ret = check_key_file("share file", c->share_files[i], KF_SHARE)) != EXIT_OK)
			return ret;
		err = quorum_share_read(c->share_files[i], &sh);
		quorum_share_clear(&sh);
		if (err) {
			cli_error("share file %s is not a quorum share ('embassy key share'): %s",
				  c->share_files[i],
				  err == -EBADMSG ? "malformed" : strerror(-err));
			return EXIT_AUTH;
		}
	}
	return EXIT_OK;
}

int auth_gather(const struct cli_ctx *c, bool need_sealer, struct cli_auth *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->a.trust = &c->trust;
	if (need_sealer && !c->sealer_key) {
		cli_error("%s needs the sealer's identity: give --sealer-key FILE", c->cmd);
		return EXIT_USAGE;
	}
	if (c->sealer_key) {
		out->a.sealer_key = c->sealer_key;
		return check_key_file("sealer key", c->sealer_key, KF_SEALER);
	}
	out->a.quorum = &out->quorum;
	if (c->nkey_files > 1 || c->nshare_files) {
		/* officers of a quorum: every file is checked before the store is asked */
		if ((ret = check_officer_files(c)) != EXIT_OK)
			return ret;
		if (!c->nkey_files && c->key_file) { /* EMBASSY_KEY_FILE: one more officer */
			if ((ret = check_key_file("key file", c->key_file, KF_READER)) != EXIT_OK)
				return ret;
			out->a.key_file = c->key_file;
		}
		out->a.key_files = c->key_files;
		out->a.nkey_files = c->nkey_files;
		out->a.share_files = c->share_files;
		out->a.nshare_files = c->nshare_files;
		return EXIT_OK;
	}
	if (c->key_file) {
		out->a.key_file = c->key_file;
		return check_key_file("key file", c->key_file, KF_READER);
	}
	ret = pass_alloc(out);
	if (ret != EXIT_OK)
		return ret;
	ret = pass_given(c, out);
	if (ret == -ENOENT) {
		ret = pass_from_tty("Store passphrase: ", out->pass, &out->a.passlen);
		if (ret == EXIT_OK)
			out->a.passphrase = out->pass;
	}
	if (ret != EXIT_OK)
		auth_clear(out);
	return ret;
}

/* A new passphrase on the terminal, asked twice. optional: an empty answer means none. */
static int pass_new_tty(bool optional, struct cli_auth *out)
{
	char *again = secmem_alloc(PASS_MAX);
	size_t againlen = 0;
	int ret = EXIT_FAIL;

	if (!again)
		return ret;
	ret = pass_from_tty("New store passphrase: ", out->pass, &out->a.passlen);
	if (ret != EXIT_OK)
		goto out;
	if (out->a.passlen == 0 && optional) /* empty: recipients only */
		goto out;
	ret = pass_from_tty("Repeat passphrase: ", again, &againlen);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_AUTH;
	if (againlen != out->a.passlen || memcmp(again, out->pass, againlen) != 0) {
		cli_error("the passphrases differ; nothing was done");
		goto out;
	}
	if (out->a.passlen == 0) {
		cli_error("an empty passphrase is not allowed");
		goto out;
	}
	out->a.passphrase = out->pass;
	ret = EXIT_OK;
out:
	secmem_free(again);
	return ret;
}

int auth_new_passphrase(const struct cli_ctx *c, bool optional, struct cli_auth *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pass_alloc(out);
	if (ret != EXIT_OK)
		return ret;
	ret = pass_given(c, out);
	if (ret == -ENOENT) {
		/* No passphrase given: with recipients a script may do without one. */
		if (optional && !isatty(STDIN_FILENO))
			ret = EXIT_OK;
		else
			ret = pass_new_tty(optional, out);
	}
	if (ret != EXIT_OK)
		auth_clear(out);
	else if (!out->a.passphrase)
		out->a.passlen = 0;
	return ret;
}

int auth_passphrase(const struct cli_ctx *c, const char *prompt, struct cli_auth *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pass_alloc(out);
	if (ret != EXIT_OK)
		return ret;
	ret = pass_given(c, out);
	if (ret == -ENOENT) {
		ret = pass_from_tty(prompt, out->pass, &out->a.passlen);
		if (ret == EXIT_OK)
			out->a.passphrase = out->pass;
	}
	if (ret != EXIT_OK)
		auth_clear(out);
	return ret;
}

int auth_passphrase_from(const char *file, const char *cmd, struct cli_auth *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pass_alloc(out);
	if (ret != EXIT_OK)
		return ret;
	if (file)
		ret = pass_from_file(file, out->pass, &out->a.passlen);
	else if (cmd)
		ret = passcmd_read(cmd, out->pass, PASS_MAX, &out->a.passlen);
	else
		ret = pass_new_tty(false, out);
	if (ret == EXIT_OK)
		out->a.passphrase = out->pass;
	else
		auth_clear(out);
	return ret;
}

void auth_clear(struct cli_auth *a)
{
	secmem_free(a->pass); /* wipes */
	memset(a, 0, sizeof(*a));
}

/* One line saying what went wrong opening the store, and the exit code for it. */
static int open_error(const struct cli_ctx *c, const char *url, const struct cli_auth *ca, int err)
{
	const char *kf = ca->a.sealer_key ? ca->a.sealer_key : ca->a.key_file;

	switch (err) {
	case -ENOENT:
		cli_error("%s is not an embassy store (no embassy.json); check the path or URL",
			  url);
		return EXIT_NOSTORE;
	case -EPROTONOSUPPORT:
		cli_error("store %s has a format newer than this embassy supports (format %d); "
			  "upgrade embassy",
			  url, STORE_FORMAT);
		return EXIT_NOSTORE;
	case -EKEYREJECTED:
		if (ca->quorum.m)
			cli_error("the %u shares given do not open quorum entry %s of store %s (a "
				  "share from another quorum or store, or a damaged share)",
				  ca->quorum.given, ca->quorum.entry, url);
		else if (kf)
			cli_error("key file %s does not open store %s (wrong key or another store)",
				  kf, url);
		else
			cli_error("wrong passphrase for store %s", url);
		return EXIT_AUTH;
	case -ENOKEY:
		if (ca->quorum.m)
			cli_error("store %s: quorum needs %u officers, %u given (entry %s, %u of "
				  "%u); add the --key-file or --share-file of more officers",
				  url, ca->quorum.m, ca->quorum.given, ca->quorum.entry,
				  ca->quorum.m, ca->quorum.n);
		else if (ca->a.nkey_files || ca->a.nshare_files)
			cli_error("store %s has no key entry or quorum entry that the given key "
				  "and share files belong to (files from another store or quorum?)",
				  url);
		else if (kf)
			cli_error(
			    "store %s has no key entry for key file %s (the store was not made "
			    "with --recipient for it)",
			    url, kf);
		else
			cli_error("store %s has no passphrase entry; use --key-file", url);
		return EXIT_AUTH;
	case -EPERM:
		cli_error("key file %s is readable by group or others; refusing it: run 'chmod "
			  "600 %s'",
			  kf ? kf : "?", kf ? kf : "FILE");
		return EXIT_AUTH;
	case -EBADMSG:
		cli_error("store %s failed authentication (descriptor or key entry tampered or "
			  "damaged); do not trust this copy",
			  url);
		return EXIT_INTEGRITY;
	case -EINVAL:
		cli_error("cannot use store %s: invalid address or options", url);
		return EXIT_USAGE;
	case -EKEYREVOKED:
		cli_error("sealer key %s was retired by the root document of store %s (a key "
			  "rotation): seal with the sealer key file the rotation wrote",
			  kf ? kf : "?", url);
		return EXIT_AUTH;
	case -ELOOP:
		cli_error("store %s has more root document versions than a reader walks: refusing "
			  "it (a hostile host?)",
			  url);
		return EXIT_INTEGRITY;
	case -E2BIG:
		cli_error("store %s lists more than %d key entries: not reading them (a broken or "
			  "hostile host; a real store has a handful)",
			  url, KEY_NAMES_MAX);
		return EXIT_INTEGRITY;
	case -ENOTRECOVERABLE:
		cli_error("store %s not opened: this host's trust state cannot be used safely (see "
			  "above)",
			  url);
		return EXIT_FAIL;
	default:
		cli_error("cannot open store %s: %s", url, strerror(-err));
		return cli_exit_for(err);
	}
}

/* Use a running embassy agent's keys? Not for sealing, nor when told not to, nor when no
 * agent of ours runs or it holds no key at all (then nothing is asked of the store twice). */
static bool agent_wanted(const struct cli_ctx *c, bool need_sealer)
{
	const char *e = getenv("EMBASSY_AGENT");
	struct agent_status st;

	if (need_sealer || c->sealer_key || c->no_agent ||
	    (e && (!strcmp(e, "off") || !strcmp(e, "0") || !strcmp(e, "no"))))
		return false;
	return agent_status(&st) == 0 && st.n > 0;
}

int cli_open_store(const struct cli_ctx *c, const char *url, bool need_sealer, struct store **out)
{
	struct cli_auth ca;
	int ret, err;

	if (need_sealer && (ret = cli_refuse_multi(c, url)) != EXIT_OK)
		return ret; /* writers write to one store */
	/* a key the agent holds first: no passphrase read, asked for or run through the KDF */
	if (agent_wanted(c, need_sealer)) {
		struct cli_auth aa = {.a = {.trust = &c->trust, .agent = true}};
		err = store_open(url, &c->ro, &aa.a, out);
		if (err == 0)
			return EXIT_OK;
		if (err != -ENOKEY)
			return open_error(c, url, &aa, err);
	}
	ret = auth_gather(c, need_sealer, &ca);
	if (ret != EXIT_OK)
		return ret;
	err = store_open(url, &c->ro, &ca.a, out);
	if (err < 0) {
		ret = open_error(c, url, &ca, err);
		goto out;
	}
	if (need_sealer && !store_can_seal(*out)) {
		cli_error("%s is not a sealer key for store %s (it can read, not seal)",
			  c->sealer_key, url);
		store_close(*out);
		*out = NULL;
		ret = EXIT_AUTH;
	}
out:
	auth_clear(&ca);
	return ret;
}
