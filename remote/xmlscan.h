/* xmlscan: a minimal, bounded XML tokenizer for the small replies of WebDAV (PROPFIND
 * multistatus) and S3 (ListObjectsV2, multipart). Not a validating parser: it yields start
 * tags, end tags and text, with element names stripped of any namespace prefix, and refuses
 * (-EBADMSG) what it cannot tokenize. Never reads outside [p, end). */
#ifndef EMBASSY_XMLSCAN_H
#define EMBASSY_XMLSCAN_H
#include <stddef.h>

enum xml_type { XML_START, XML_END, XML_EMPTY, XML_TEXT };

struct xml_tok {
	enum xml_type type;
	const char *name; /* local name (after "prefix:"), not NUL-terminated */
	size_t name_len;
	const char *text; /* XML_TEXT: raw text, entities still escaped */
	size_t text_len;
};

struct xmlscan {
	const char *p, *end;
};

void xmlscan_init(struct xmlscan *s, const char *buf, size_t len);
/* 1: a token in *t; 0: end of input; -EBADMSG: malformed. */
int xmlscan_next(struct xmlscan *s, struct xml_tok *t);
/* 1 if the token's local name is name. */
int xmlscan_is(const struct xml_tok *t, const char *name);
/* Text content of the element whose start tag was just read (text up to its end tag),
 * unescaped into a malloc'd NUL-terminated string. An empty element gives "". */
int xmlscan_text(struct xmlscan *s, const struct xml_tok *start, char **out);
/* Decode &amp; &lt; &gt; &quot; &apos; &#N; &#xN; into a malloc'd string; -EBADMSG on
 * unknown entities, NUL or non-ASCII character references. */
int xmlscan_unescape(const char *s, size_t n, char **out);

#endif
