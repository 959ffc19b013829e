/* libFuzzer target for xmlscan, the tokenizer behind the WebDAV PROPFIND (multistatus) and S3
 * ListObjectsV2 replies a host sends. Drives it the way remote/http.c and remote/s3.c do
 * (token loop, xmlscan_text on start tags, unescaping) and checks it never points outside
 * its input. Byte 0 picks the driver. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmlscan.h"

static const char *lo, *hi;

static void inside(const char *p, size_t n)
{
	if (n && (p < lo || p + n > hi))
		abort();
}

/* PROPFIND: <response> … <href>text</href> … <collection/> … </response> */
static void multistatus(const char *buf, size_t len)
{
	struct xmlscan s;
	struct xml_tok t;
	char *href = NULL;
	xmlscan_init(&s, buf, len);
	while (xmlscan_next(&s, &t) == 1) {
		inside(t.name, t.name_len);
		inside(t.text, t.text_len);
		if (t.type == XML_START && xmlscan_is(&t, "href") && !href) {
			if (xmlscan_text(&s, &t, &href) < 0)
				break;
		} else if (t.type == XML_END && xmlscan_is(&t, "response")) {
			free(href);
			href = NULL;
		}
	}
	free(href);
}

/* ListObjectsV2: <ListBucketResult> <Key>, <IsTruncated>, <NextContinuationToken> */
static void list_page(const char *buf, size_t len)
{
	struct xmlscan s;
	struct xml_tok t;
	xmlscan_init(&s, buf, len);
	while (xmlscan_next(&s, &t) == 1) {
		char *v = NULL;
		if (t.type == XML_TEXT) {
			if (!xmlscan_unescape(t.text, t.text_len, &v)) {
				if (strlen(v) > t.text_len)
					abort();
				free(v);
			}
			continue;
		}
		if (t.type != XML_START && t.type != XML_EMPTY)
			continue;
		if (!xmlscan_is(&t, "Key") && !xmlscan_is(&t, "IsTruncated") &&
		    !xmlscan_is(&t, "NextContinuationToken") && !xmlscan_is(&t, "Code"))
			continue;
		if (xmlscan_text(&s, &t, &v) < 0)
			break;
		free(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	if (size < 1)
		return 0;
	/* an exact-size copy, so ASan catches any read past the end */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	lo = copy;
	hi = copy + size - 1;
	if (data[0] & 1)
		list_page(copy, size - 1);
	else
		multistatus(copy, size - 1);
	free(copy);
	return 0;
}
