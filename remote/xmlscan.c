/* xmlscan: see xmlscan.h. Replies come from an untrusted host: every scan is bounded by
 * end, and anything unexpected is -EBADMSG rather than a guess. */
#include "xmlscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void xmlscan_init(struct xmlscan *s, const char *buf, size_t len)
{
	s->p = buf;
	s->end = buf + len;
}

/* Position just after the first occurrence of pat in [p, end), or NULL. */
static const char *skip_past(const char *p, const char *end, const char *pat)
{
	size_t n = strlen(pat);

	for (; (size_t)(end - p) >= n; p++)
		if (memcmp(p, pat, n) == 0)
			return p + n;
	return NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void set_name(struct xml_tok *t, const char *a, const char *b)
{
	const char *colon = a;

	for (const char *q = a; q < b; q++)
		if (*q == ':')
			colon = q + 1;
	t->name = colon;
	t->name_len = (size_t)(b - colon);
}

/* A tag starting at s->p ("<name ...>" or "</name>"). */
static int scan_tag(struct xmlscan *s, struct xml_tok *t)
{
	const char *p = s->p + 1, *end = s->end, *name;
	char quote = 0;
	int closing = 0;

	if (p < end && *p == '/') {
		closing = 1;
		p++;
	}
	name = p;
	while (p < end && !is_space(*p) && *p != '>' && *p != '/')
		p++;
	if (p == name || p >= end)
		return -EBADMSG;
	set_name(t, name, p);
	for (; p < end; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '>') {
			break;
		}
	}
	if (p >= end)
		return -EBADMSG;
	t->type = closing ? XML_END : (p[-1] == '/' ? XML_EMPTY : XML_START);
	s->p = p + 1;
	return 1;
}

int xmlscan_next(struct xmlscan *s, struct xml_tok *t)
{
	const char *q;

	memset(t, 0, sizeof(*t));
	while (s->p < s->end) {
		if (*s->p != '<') {
			q = memchr(s->p, '<', (size_t)(s->end - s->p));
			q = q ? q : s->end;
			t->type = XML_TEXT;
			t->text = s->p;
			t->text_len = (size_t)(q - s->p);
			s->p = q;
			return 1;
		}
		if (s->end - s->p >= 9 && memcmp(s->p, "<![CDATA[", 9) == 0) {
			q = skip_past(s->p + 9, s->end, "]]>");
			if (!q)
				return -EBADMSG;
			t->type = XML_TEXT;
			t->text = s->p + 9;
			t->text_len = (size_t)(q - 3 - t->text);
			s->p = q;
			return 1;
		}
		if (s->end - s->p >= 2 && s->p[1] == '?')
			q = skip_past(s->p, s->end, "?>");
		else if (s->end - s->p >= 4 && memcmp(s->p, "<!--", 4) == 0)
			q = skip_past(s->p + 4, s->end, "-->");
		else if (s->end - s->p >= 2 && s->p[1] == '!') {
			q = skip_past(s->p, s->end, ">");
			/* no internal DTD subsets: entity definitions are an attack surface */
			if (q && memchr(s->p, '[', (size_t)(q - s->p)))
				return -EBADMSG;
		} else
			return scan_tag(s, t);
		if (!q)
			return -EBADMSG;
		s->p = q;
	}
	return 0;
}

int xmlscan_is(const struct xml_tok *t, const char *name)
{
	return t->name_len == strlen(name) && memcmp(t->name, name, t->name_len) == 0;
}

static int put_utf8(char *o, size_t *k, unsigned long cp)
{
	/* Only what keys and tokens need; anything else is refused. */
	if (cp == 0 || cp > 0x7f)
		return -EBADMSG;
	o[(*k)++] = (char)cp;
	return 0;
}

static int char_ref(const char *e, size_t len, char *o, size_t *k)
{
	char tmp[16], *stop;
	unsigned long cp;
	int hex = len > 1 && (e[1] == 'x' || e[1] == 'X');

	if (len < 2 || len - 1 - hex >= sizeof(tmp) || len - 1 - hex == 0)
		return -EBADMSG;
	memcpy(tmp, e + 1 + hex, len - 1 - hex);
	tmp[len - 1 - hex] = '\0';
	cp = strtoul(tmp, &stop, hex ? 16 : 10);
	if (*stop)
		return -EBADMSG;
	return put_utf8(o, k, cp);
}

int xmlscan_unescape(const char *s, size_t n, char **out)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
	char *o = malloc(n + 1);
	size_t i = 0, k = 0;
	int ret = 0;

	if (!o)
		return -ENOMEM;
	while (i < n && ret == 0) {
		const char *semi;
		size_t len, j;

		if (s[i] != '&') {
			o[k++] = s[i++];
			continue;
		}
		semi = memchr(s + i, ';', n - i);
		if (!semi)
			ret = -EBADMSG;
		else if ((len = (size_t)(semi - s - i - 1)) > 0 && s[i + 1] == '#')
			ret = char_ref(s + i + 1, len, o, &k);
		else {
			for (j = 0; j < sizeof(ents) / sizeof(ents[0]); j++)
				if (strlen(ents[j].name) == len &&
				    memcmp(ents[j].name, s + i + 1, len) == 0)
					break;
			if (j == sizeof(ents) / sizeof(ents[0]))
				ret = -EBADMSG;
			else
				o[k++] = ents[j].c;
		}
		i = semi ? (size_t)(semi - s) + 1 : n;
	}
	if (ret < 0) {
		free(o);
		return ret;
	}
	o[k] = '\0';
	*out = o;
	return 0;
}

int xmlscan_text(struct xmlscan *s, const struct xml_tok *start, char **out)
{
	struct xml_tok t;
	const char *first = NULL;
	size_t len = 0;
	int ret;

	if (start->type == XML_EMPTY)
		return xmlscan_unescape("", 0, out);
	while ((ret = xmlscan_next(s, &t)) == 1) {
		if (t.type == XML_END)
			break;
		if (t.type != XML_TEXT || (first && t.text != first + len))
			return -EBADMSG; /* nested elements or split text: not a value */
		if (!first)
			first = t.text;
		len += t.text_len;
	}
	if (ret != 1 || t.name_len != start->name_len ||
	    memcmp(t.name, start->name, t.name_len) != 0)
		return -EBADMSG;
	return xmlscan_unescape(first ? first : "", len, out);
}
