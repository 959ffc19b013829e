/* help: `embassy help` and what is generated from the --help texts — the one source of the
 * manual. `embassy help --man [CMD]` renders a text as a man page (troff), so embassy(1) and
 * embassy-CMD(1) are built from the same strings --help prints and cannot drift; `help
 * --commands` and `help --options CMD` let the build, the bash completion and the tests
 * find every command and option in the command table, including commands added later.
 *
 * The texts follow one layout (docs/CLI.md): section headings in capitals at column 0,
 * body indented two spaces; in option sections a term ("-l", "--key-file FILE", "0") then
 * two or more spaces and its description, continued on deeper-indented lines. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef EMBASSY_VERSION
#define EMBASSY_VERSION "0.1.0"
#endif

/* ---- troff ---- */

/* A UTF-8 sequence as troff's \[uXXXX] (troff reads ASCII); returns the bytes used. */
static size_t put_utf8(FILE *f, const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	unsigned cp = c & (0x3f >> (len - 1));

	if (len > n)
		return 1;
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
	fprintf(f, "\\[u%04X]", cp);
	return len;
}

/* Text with troff's special characters escaped; '-' as \- so options copy and paste. */
static void put_roff(FILE *f, const char *s, size_t n)
{
	if (n && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			fputs("\\e", f);
		else if (c == '-')
			fputs("\\-", f);
		else if (c >= 0xc0 && c < 0xf8)
			i += put_utf8(f, s + i, n - i) - 1;
		else if (c < 0x80)
			fputc(c, f);
	}
}

static size_t indent_of(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && line[i] == ' ')
		i++;
	return i;
}

/* Sections whose lines are "term  description" lists. */
static bool is_list_section(const char *h)
{
	static const char *const lists[] = {
	    "OPTIONS", "CREDENTIALS", "SEALER",	     "STORE ACCESS", "TRUST",
	    "GENERAL", "EXIT STATUS", "ENVIRONMENT", "COMMANDS",     "FILES"};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strncmp(h, lists[i], strlen(lists[i])) == 0)
			return true;
	return false;
}

static bool is_verbatim_section(const char *h)
{
	return strncmp(h, "SYNOPSIS", 8) == 0 || strncmp(h, "EXAMPLE", 7) == 0;
}

/* Where a list line's description starts (after a gap of 2+ spaces), or 0 for none. */
static size_t term_end(const char *line, size_t n, size_t ind)
{
	for (size_t i = ind + 1; i + 1 < n; i++)
		if (line[i] == ' ' && line[i + 1] == ' ')
			return i;
	return 0;
}

struct man_state {
	FILE *f;
	const char *title; /* embassy-seal */
	char section[64];
	bool nf;	 /* inside .nf */
	bool in_item;	 /* after a .TP, continuation lines belong to it */
	size_t item_ind; /* indent of the term of that item */
};

static void end_nf(struct man_state *m)
{
	if (m->nf)
		fputs(".fi\n.RE\n", m->f);
	m->nf = false;
}

static void put_term(FILE *f, const char *t, size_t n)
{
	/* the option itself bold, its argument as is: "--key-file FILE" */
	size_t word = 0;

	while (word < n && t[word] != ' ' && t[word] != '=')
		word++;
	if (t[0] == '-' || isdigit((unsigned char)t[0]) || isupper((unsigned char)t[0])) {
		fputs("\\fB", f);
		put_roff(f, t, word);
		fputs("\\fR", f);
		put_roff(f, t + word, n - word);
	} else {
		put_roff(f, t, n);
	}
	fputc('\n', f);
}

static void list_line(struct man_state *m, const char *line, size_t n, size_t ind)
{
	size_t te = term_end(line, n, ind), d;

	if (m->in_item && ind > m->item_ind) { /* continuation of a description */
		put_roff(m->f, line + ind, n - ind);
		fputc('\n', m->f);
		return;
	}
	if (ind == 2 && line[ind] != '-' && !te && !isdigit((unsigned char)line[ind])) {
		fputs(m->in_item ? ".PP\n" : "", m->f); /* prose inside a list section */
		m->in_item = false;
		put_roff(m->f, line + ind, n - ind);
		fputc('\n', m->f);
		return;
	}
	fputs(".TP\n", m->f);
	m->in_item = true;
	m->item_ind = ind;
	if (!te) {
		put_term(m->f, line + ind, n - ind);
		return;
	}
	put_term(m->f, line + ind, te - ind);
	d = te;
	while (d < n && line[d] == ' ')
		d++;
	put_roff(m->f, line + d, n - d);
	fputc('\n', m->f);
}

static void body_line(struct man_state *m, const char *line, size_t n)
{
	size_t ind = indent_of(line, n);
	const char *dash;

	if (ind == n) { /* blank */
		end_nf(m);
		if (!is_verbatim_section(m->section))
			fputs(".PP\n", m->f);
		m->in_item = false;
		return;
	}
	if (strcmp(m->section, "NAME") == 0 && (dash = strstr(line, " - ")) && dash < line + n) {
		/* whatis(1) reads "name \- description" */
		fprintf(m->f, "%s \\- ", m->title);
		put_roff(m->f, dash + 3, n - (size_t)(dash + 3 - line));
		fputc('\n', m->f);
		return;
	}
	if (is_verbatim_section(m->section)) {
		put_roff(m->f, line + (ind >= 2 ? 2 : ind), n - (ind >= 2 ? 2 : ind));
		fputc('\n', m->f);
		return;
	}
	if (is_list_section(m->section)) {
		list_line(m, line, n, ind);
		return;
	}
	if (ind > 2 && !m->nf) { /* a table or listing inside prose */
		fputs(".RS\n.nf\n", m->f);
		m->nf = true;
	} else if (ind <= 2) {
		end_nf(m);
	}
	put_roff(m->f, line + (m->nf ? 2 : ind), n - (m->nf ? 2 : ind));
	fputc('\n', m->f);
}

static void heading(struct man_state *m, const char *line, size_t n)
{
	end_nf(m);
	if (is_verbatim_section(m->section))
		fputs(".fi\n", m->f);
	m->in_item = false;
	snprintf(m->section, sizeof(m->section), "%.*s", (int)n, line);
	fputs(".SH \"", m->f);
	put_roff(m->f, line, n);
	fputs("\"\n", m->f);
	if (is_verbatim_section(m->section))
		fputs(".nf\n", m->f);
}

/* Render a --help text as a man page named title (e.g. "embassy-seal"). */
static void render_man(FILE *f, const char *title, const char *text)
{
	struct man_state m = {.f = f, .title = title};
	char upper[64];
	size_t i;

	for (i = 0; title[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)toupper((unsigned char)title[i]);
	upper[i] = '\0';
	fprintf(f,
		".\\\" Generated by 'embassy help --man' from the --help text; do not edit.\n"
		".TH \"%s\" 1 \"\" \"embassy %s\" \"embassy manual\"\n.nh\n.ad l\n",
		upper, EMBASSY_VERSION);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n && p[0] != ' ')
			heading(&m, p, n);
		else if (m.section[0])
			body_line(&m, p, n);
		p += n + (nl ? 1 : 0);
	}
	end_nf(&m);
	if (is_verbatim_section(m.section))
		fputs(".fi\n", f);
}

static void see_also(FILE *f, const char *except)
{
	const struct cli_cmd *c;
	bool first = true;

	fputs(".SH \"SEE ALSO\"\n", f);
	if (except) {
		fputs("\\fBembassy\\fR(1)", f);
		first = false;
	}
	for (size_t i = 0; (c = cli_command(i)) != NULL; i++) {
		if (except && strcmp(c->name, except) == 0)
			continue;
		fprintf(f, "%s\\fBembassy\\-%s\\fR(1)", first ? "" : ",\n", c->name);
		first = false;
	}
	fputs(",\n\\fBmount.fuse.embassy\\fR(8) (\\fBembassy help mount\\fR)\n", f);
}

/* ---- the command list ---- */

void help_usage(FILE *f)
{
	const struct cli_cmd *c;
	int width = 0;

	for (size_t i = 0; (c = cli_command(i)) != NULL; i++)
		if ((int)strlen(c->name) > width)
			width = (int)strlen(c->name);
	fputs("NAME\n"
	      "  embassy - encrypted, signed snapshots of critical registers in a data embassy\n"
	      "\n"
	      "SYNOPSIS\n"
	      "  embassy [-q] [-v] [--profile NAME] COMMAND [OPTIONS] [ARGS]\n"
	      "  embassy help [COMMAND] | embassy COMMAND --help\n"
	      "  embassy --version\n"
	      "\n"
	      "DESCRIPTION\n"
	      "  Keeps encrypted, signed, deduplicated snapshots of critical registers in a data\n"
	      "  embassy (an untrusted host abroad), and restores, lists, mounts or verifies\n"
	      "  them. The host can neither read, forge nor silently roll back the data.\n"
	      "\n"
	      "COMMANDS\n",
	      f);
	for (size_t i = 0; (c = cli_command(i)) != NULL; i++)
		fprintf(f, "  %-*s  %s\n", width, c->name, c->summary);
	fputs("\n"
	      "OPTIONS\n"
	      "  -q, --quiet     no progress, notes or summaries; silent on success\n"
	      "  -v, --verbose   more diagnostics (twice: debug)\n"
	      "  --profile NAME  read defaults from a profile (see PROFILES)\n"
	      "  -h, --help      this text\n"
	      "  -V, --version   print the version\n"
	      "\n" CLI_HELP_PROFILES "\n" CLI_HELP_ENVIRONMENT "\n" CLI_HELP_EXIT,
	      f);
}

/* ---- embassy help ... ---- */

static int man_page(const char *name)
{
	const struct cli_cmd *c;
	char title[64];
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	if (!name) {
		mem = open_memstream(&text, &len);
		if (!mem)
			return EXIT_FAIL;
		help_usage(mem);
		fclose(mem);
		render_man(stdout, "embassy", text);
		see_also(stdout, NULL);
		free(text);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
	}
	c = cli_find(name);
	if (!c) {
		cli_error("no command '%s' (see 'embassy --help')", name);
		return EXIT_USAGE;
	}
	snprintf(title, sizeof(title), "embassy-%s", c->name);
	render_man(stdout, title, c->help);
	see_also(stdout, c->name);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}

static int options_of(const char *name)
{
	const struct cli_cmd *c = cli_find(name);
	char *argv[] = {(char *)name, "--help", NULL};

	if (!c) {
		cli_error("no command '%s' (see 'embassy --help')", name);
		return EXIT_USAGE;
	}
	/* the command's first getopt_long prints its table and exits */
	opts_set_introspect();
	optind = 0;
	c->run(2, argv);
	cli_error("command '%s' parses no options with getopt_long", name);
	return EXIT_FAIL;
}

int help_run(int argc, char **argv)
{
	const struct cli_cmd *c;

	if (argc < 2) {
		help_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--commands") == 0) {
		for (size_t i = 0; (c = cli_command(i)) != NULL; i++)
			printf("%s\n", c->name);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--man") == 0)
		return man_page(argc > 2 ? argv[2] : NULL);
	if (strcmp(argv[1], "--options") == 0 && argc > 2)
		return options_of(argv[2]);
	c = cli_find(argv[1]);
	if (!c) {
		cli_error("no command '%s' (see 'embassy --help')", argv[1]);
		return EXIT_USAGE;
	}
	fputs(c->help, stdout);
	return EXIT_OK;
}
