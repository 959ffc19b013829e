/* jrec: journal record bodies round-trip, and malformed ones are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "jrec.h"

static struct jop sample(uint8_t type)
{
	static const uint8_t data[] = "some bytes\0with a nul";
	struct jop op = {.type = type,
			 .jid = 77,
			 .parent = 5,
			 .newparent = 9,
			 .gen = 3,
			 .epoch = 12,
			 .mode = S_IFREG | 0640,
			 .uid = 1000,
			 .gid = 100,
			 .flags = 1,
			 .valid = 0x3f,
			 .nlink = 2,
			 .rdev = 0x0801,
			 .size = 123456789,
			 .off = 4096,
			 .len = 512,
			 .base_len = 1000,
			 .atime = -5,
			 .mtime = 1795768268612071302,
			 .ctime = 7,
			 .time = 1795768268612071303,
			 .has_origin = true,
			 .name = "name.txt",
			 .namelen = 8,
			 .name2 = "other",
			 .name2len = 5,
			 .data = data,
			 .datalen = sizeof(data),
			 .has_id = true,
			 .pos = {.seg = 4, .off = 64, .len = 600},
			 .doff = JREC_WRITE_HDR};
	for (int i = 0; i < ID_LEN; i++)
		op.id[i] = (uint8_t)i;
	if (type == JOP_NODE || type == JOP_BIND) {
		op.name = "dir/sub/name.txt";
		op.namelen = strlen(op.name);
	}
	if (type == JOP_NODE || type == JOP_CREATE) {
		op.data = (const uint8_t *)"target";
		op.datalen = 6;
	}
	return op;
}

Test(jrec, every_type_round_trips)
{
	struct jbuf b = {0};
	for (uint8_t t = JOP_GEN; t < JOP_MAX; t++) {
		struct jop in = sample(t), out;
		cr_assert_eq(jrec_encode(&in, &b), 0, "type %d", t);
		cr_assert_eq(jrec_decode(b.p, b.len, &out), 0, "type %d", t);
		cr_assert_eq(out.type, t);
		/* the members each type carries come back */
		switch (t) {
		case JOP_WRITE:
			cr_assert_eq(out.jid, 77);
			cr_assert_eq(out.off, 4096);
			cr_assert_eq(out.time, in.time);
			cr_assert_eq(out.datalen, in.datalen);
			cr_assert_arr_eq(out.data, in.data, in.datalen);
			cr_assert_eq(out.data, b.p + JREC_WRITE_HDR,
				     "WRITE data sits at a fixed offset");
			break;
		case JOP_RENAME:
			cr_assert_eq(out.parent, 5);
			cr_assert_eq(out.newparent, 9);
			cr_assert_eq(out.namelen, 8);
			cr_assert_arr_eq(out.name, "name.txt", 8);
			cr_assert_arr_eq(out.name2, "other", 5);
			cr_assert_eq(out.flags, 1);
			break;
		case JOP_NODE:
			cr_assert(out.has_origin);
			cr_assert_arr_eq(out.name, "dir/sub/name.txt", 16);
			cr_assert_eq(out.mode, in.mode);
			cr_assert_eq(out.nlink, 2);
			cr_assert_eq(out.size, in.size);
			cr_assert_eq(out.base_len, 1000);
			cr_assert_eq(out.atime, -5);
			cr_assert_eq(out.flags, 1);
			break;
		case JOP_EXTENT:
			cr_assert_eq(out.pos.seg, 4);
			cr_assert_eq(out.pos.off, 64);
			cr_assert_eq(out.pos.len, 600);
			cr_assert_eq(out.len, 512);
			cr_assert_eq(out.epoch, 12);
			break;
		case JOP_GEN:
		case JOP_INTENT:
		case JOP_COMMITTED:
			cr_assert_arr_eq(out.id, in.id, ID_LEN);
			cr_assert_eq(out.epoch, 12);
			break;
		case JOP_SETATTR:
			cr_assert_eq(out.valid, 0x3f);
			cr_assert_eq(out.size, in.size);
			cr_assert_eq(out.mtime, in.mtime);
			break;
		default:
			break;
		}
	}
	jbuf_free(&b);
}

Test(jrec, every_truncation_and_extension_is_refused)
{
	struct jbuf b = {0};
	struct jop out;
	for (uint8_t t = JOP_GEN; t < JOP_MAX; t++) {
		struct jop in = sample(t);
		cr_assert_eq(jrec_encode(&in, &b), 0);
		for (size_t n = 0; n < b.len; n++)
			cr_assert_eq(jrec_decode(b.p, n, &out), -EBADMSG, "type %d cut at %zu", t,
				     n);
		uint8_t *longer = malloc(b.len + 1);
		memcpy(longer, b.p, b.len);
		longer[b.len] = 0;
		cr_assert_eq(jrec_decode(longer, b.len + 1, &out), -EBADMSG, "type %d + 1 byte", t);
		free(longer);
	}
	jbuf_free(&b);
}

Test(jrec, bad_names_and_paths_are_refused)
{
	const char *bad_names[] = {"", ".", "..", "a/b"};
	const char *bad_paths[] = {"/a", "a/", "a//b", "a/../b", "./a"};
	struct jbuf b = {0};
	struct jop out;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++) {
		struct jop in = sample(JOP_CREATE);
		in.name = bad_names[i];
		in.namelen = strlen(bad_names[i]);
		cr_assert_eq(jrec_encode(&in, &b), 0);
		cr_assert_eq(jrec_decode(b.p, b.len, &out), -EBADMSG, "name '%s'", bad_names[i]);
	}
	struct jop in = sample(JOP_UNLINK);
	in.name = "a\0b";
	in.namelen = 3;
	cr_assert_eq(jrec_encode(&in, &b), 0);
	cr_assert_eq(jrec_decode(b.p, b.len, &out), -EBADMSG, "a name with a NUL");
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(*bad_paths); i++) {
		struct jop p = sample(JOP_BIND);
		p.name = bad_paths[i];
		p.namelen = strlen(bad_paths[i]);
		cr_assert_eq(jrec_encode(&p, &b), 0);
		cr_assert_eq(jrec_decode(b.p, b.len, &out), -EBADMSG, "path '%s'", bad_paths[i]);
	}
	struct jop root = sample(JOP_BIND);
	root.name = "";
	root.namelen = 0;
	cr_assert_eq(jrec_encode(&root, &b), 0);
	cr_assert_eq(jrec_decode(b.p, b.len, &out), 0, "the root's path is empty");
	/* a symlink without a target, a write without data, an unknown type */
	struct jop s = sample(JOP_CREATE);
	s.mode = S_IFLNK | 0777;
	s.datalen = 0;
	cr_assert_eq(jrec_encode(&s, &b), 0);
	cr_assert_eq(jrec_decode(b.p, b.len, &out), -EBADMSG);
	struct jop w = sample(JOP_WRITE);
	w.datalen = 0;
	cr_assert_eq(jrec_encode(&w, &b), 0);
	cr_assert_eq(jrec_decode(b.p, b.len, &out), -EBADMSG);
	uint8_t unknown[] = {JOP_MAX};
	cr_assert_eq(jrec_decode(unknown, 1, &out), -EBADMSG);
	jbuf_free(&b);
}
