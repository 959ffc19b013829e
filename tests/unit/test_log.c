/* Unit tests of the logger: escaping of host-chosen bytes, credential redaction, the file
 * sink. */
#include "log.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void clean_is(const char *in, size_t n, const char *want)
{
	char out[256];

	log_clean(in, n, out, sizeof(out));
	cr_assert_str_eq(out, want);
}

Test(log, escapes_control_bytes_and_bad_utf8)
{
	clean_is("plain text", 10, "plain text");
	clean_is("\033[31mred\033[0m", 12, "\\033[31mred\\033[0m");
	clean_is("a\nb\r\tc", 6, "a\\nb\\r\\tc");
	clean_is("del\177", 4, "del\\177");
	clean_is("nul\0x", 5, "nul\\000x");
	/* valid UTF-8 stays readable; C1 controls (U+009B = CSI) and broken sequences do not */
	clean_is("Tallinn \xc3\xa4\xe2\x82\xac", 13, "Tallinn \xc3\xa4\xe2\x82\xac");
	clean_is("\xc2\x9b"
		 "2J",
		 4, "\\302\\2332J");
	clean_is("\x9b"
		 "2J",
		 3, "\\2332J");
	clean_is("\xe2\x82", 2, "\\342\\202");
	clean_is("\xc0\xaf", 2, "\\300\\257"); /* overlong '/' */
}

Test(log, truncates_at_a_character_boundary)
{
	char out[8];
	size_t n = log_clean("abc\033def", 7, out, sizeof(out));

	/* "abc\033" is 7 bytes: it fits exactly; the rest does not */
	cr_assert_str_eq(out, "abc\\033");
	cr_assert_eq(n, 7);
	n = log_clean("abcdef\033", 7, out, sizeof(out));
	cr_assert_str_eq(out, "abcdef", "an escape is never cut in half");
	cr_assert_eq(n, 6);
}

Test(log, redacts_url_credentials)
{
	char s[256];

	strcpy(s, "GET https://alice:s3cr3t@127.0.0.1:9/store/x: refused");
	log_redact_urls(s, false);
	cr_assert_str_eq(s, "GET https://***@127.0.0.1:9/store/x: refused");
	strcpy(s, "two: http://u:p@h/ and s3x://tok@h2?q and http://plain/x");
	log_redact_urls(s, false);
	cr_assert_str_eq(s, "two: http://***@h/ and s3x://***@h2?q and http://plain/x");
	/* an '@' in the path is not userinfo; a password holding '@' is cut at the last one */
	strcpy(s, "https://host/a@b and https://u:p@ss@host/");
	log_redact_urls(s, false);
	cr_assert_str_eq(s, "https://host/a@b and https://***@host/");
	/* keep_len: the same length, every byte of the credentials starred (for argv) */
	strcpy(s, "https://alice:s3cr3t@127.0.0.1/");
	log_redact_urls(s, true);
	cr_assert_str_eq(s, "https://************@127.0.0.1/");
	strcpy(s, "ftp://a@h/");
	log_redact_urls(s, false);
	cr_assert_str_eq(s, "ftp://*@h/", "never longer than the original");
	strcpy(s, "://nouser@x");
	log_redact_urls(s, false);
	cr_assert_str_eq(s, "://nouser@x", "no scheme: not a URL");
}

Test(log, file_sink_gets_clean_lines)
{
	char path[] = "/tmp/test_log.XXXXXX", buf[4096];
	int fd = mkstemp(path);
	struct stat st;
	ssize_t n;

	cr_assert_geq(fd, 0);
	close(fd);
	unlink(path);
	cr_assert_eq(log_to_file(path), 0);
	log_err("href '%s' from https://bob:hunter2@h/", "\033]0;pwned\007");
	log_warn("second line");
	cr_assert_eq(log_to_file("/dev/null"), -EINVAL, "a device is not a log file");
	log_use_fd(-1);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_null(memchr(buf, '\033', (size_t)n), "a raw ESC reached the log: %s", buf);
	cr_assert_null(strstr(buf, "hunter2"), "a password reached the log: %s", buf);
	cr_assert_not_null(strstr(buf, "error: href '\\033]0;pwned\\a' from https://***@h/\n"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "warning: second line\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "Z embassy["), "timestamped: %s", buf);
}

/* Callers log why, then return -errno: a log write that fails (here: a full device) must
 * not replace the errno they are about to return. */
Test(log, logging_keeps_errno)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	log_use_fd(fd);
	errno = EACCES;
	log_err("cannot open %s", "x");
	cr_assert_eq(errno, EACCES, "errno after a failed log write: %s", strerror(errno));
	errno = ENOENT;
	log_warn("%s", "y");
	cr_assert_eq(errno, ENOENT);
	log_use_fd(-1);
	errno = EROFS;
	log_info("not shown at this level");
	cr_assert_eq(errno, EROFS);
}

Test(log, symlink_is_not_followed)
{
	char dir[] = "/tmp/test_log.XXXXXX", link[64], target[64];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/log", dir);
	snprintf(target, sizeof(target), "%s/victim", dir);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_lt(log_open_file(link), 0);
	cr_assert_neq(access(target, F_OK), 0, "the symlink's target was created");
	unlink(link);
	rmdir(dir);
}
