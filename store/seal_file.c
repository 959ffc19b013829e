/* seal_file: one regular file's content, extent by extent (holes are not stored). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "seal_int.h"

static int push_chunk(struct sealer *sl, struct tree_entry *e, uint64_t foff, const uint8_t *p,
		      size_t len)
{
	if ((e->nchunks & (e->nchunks + 1)) == 0 || e->nchunks == 0) { /* grow at 2^k - 1 */
		size_t cap = e->nchunks ? 2 * (e->nchunks + 1) : 4;
		struct chunk_ref *c = realloc(e->chunks, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		e->chunks = c;
	}
	memset(&e->chunks[e->nchunks], 0, sizeof(*e->chunks));
	e->chunks[e->nchunks].foff = foff;
	e->chunks[e->nchunks].rec.plen = (uint32_t)len;
	sl->prog.bytes_read += len;
	return sbatch_add(sl, e, e->nchunks++, p, len);
}

/* Chunk [start, end) of fd. *got: where reading actually stopped (a file may shrink).
 * buf[head, head+have) holds unchunked bytes; they move to the front only when fewer than
 * a maximal chunk remain, so each byte is moved at most once. */
static int seal_extent(struct sealer *sl, int fd, struct tree_entry *e, uint64_t start,
		       uint64_t end, uint64_t *got)
{
	uint8_t *buf = sl->readbuf;
	size_t cap = 2 * (size_t)sl->ck.max, have = 0, head = 0;
	uint64_t pos = start; /* file offset of buf[head] */
	bool eof = false;
	int ret = 0;

	while (!ret && (have || !eof)) {
		if (!eof && have < sl->ck.max) {
			memmove(buf, buf + head, have);
			head = 0;
		}
		while (!eof && head + have < cap) {
			uint64_t want = cap - head - have;
			if (pos + have + want > end)
				want = end - pos - have;
			ssize_t n =
			    want ? pread(fd, buf + head + have, want, (off_t)(pos + have)) : 0;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				eof = true;
			have += (size_t)n;
		}
		if (!have)
			break;
		/* a buffer shorter than a maximal chunk is only passed at the end of the extent */
		size_t cut = chunker_cut(&sl->ck, buf + head, have);
		ret = push_chunk(sl, e, pos, buf + head, cut);
		head += cut;
		have -= cut;
		pos += cut;
		seal_report(sl, false);
	}
	*got = pos;
	return ret;
}

static uint64_t next_data(int fd, uint64_t off, uint64_t size)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO ? size
				      : off; /* ENXIO: only a hole is left; else unsupported */
	return (uint64_t)d;
}

static uint64_t next_hole(int fd, uint64_t off, uint64_t size)
{
	off_t h = lseek(fd, (off_t)off, SEEK_HOLE);
	return h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
}

int seal_file_content(struct sealer *sl, int fd, struct tree_entry *e, const struct stat *st)
{
	uint64_t size = (uint64_t)st->st_size, off = 0, got = 0;
	int ret = 0;
	struct stat after;

	/* a file with fewer allocated blocks than its size may have holes */
	bool sparse = (uint64_t)st->st_blocks * 512 < size;
	while (!ret && off < size) {
		uint64_t d = sparse ? next_data(fd, off, size) : off;
		if (d >= size)
			break;
		uint64_t h = sparse ? next_hole(fd, d, size) : size;
		ret = seal_extent(sl, fd, e, d, h, &got);
		if (!ret && got < h) { /* the file shrank under us */
			size = got;
			break;
		}
		off = h;
	}
	e->size = size;
	if (!ret && (fstat(fd, &after) || after.st_size != st->st_size ||
		     after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
		     after.st_mtim.tv_nsec != st->st_mtim.tv_nsec)) {
		log_warn("%s: file changed while it was read; recorded %llu bytes as read", e->name,
			 (unsigned long long)size);
		sl->res->warnings++;
	}
	return ret;
}
