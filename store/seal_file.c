/* seal_file: one regular file's content, extent by extent (holes are not stored). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "seal_int.h"

#define READ_STEP (1u << 20)
/* How far ahead of the chunker the kernel is asked to read (posix_fadvise WILLNEED): the disk
 * works on the next megabytes while this thread hashes and chunks, instead of every read
 * waiting for the device (a cold seal slept in the read path ~19,000 times). */
#define READ_AHEAD (16u << 20)

/* The chunk at the current batch's arena + used (have unchunked bytes there) is e's next. */
static int push_chunk(struct sealer *sl, struct tree_entry *e, uint64_t foff, size_t len,
		      size_t have)
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
	return sbatch_take(sl, e, e->nchunks++, len, have);
}

/* Chunk [start, end) of fd. *got: where reading actually stopped (a file may shrink).
 * The file is read straight into the batch's arena, where its chunks are sealed from: the
 * unchunked bytes (have of them) always start at the arena's free space; only when a batch
 * is handed over are they moved into the next one (at most a maximal chunk and a read). */
static int seal_extent(struct sealer *sl, int fd, struct tree_entry *e, uint64_t start,
		       uint64_t end, uint64_t *got)
{
	size_t have = 0, max = sl->ck.max;
	uint64_t pos = start; /* file offset of the first unchunked byte */
	/* readahead asked for up to here; a file read in one go needs none */
	uint64_t ra = end - start > READ_STEP + max ? start : end;
	bool eof = false;
	int ret = 0;

	while (!ret && (have || !eof)) {
		uint8_t *buf;
		if (ra < end && ra < pos + READ_AHEAD / 2) {
			uint64_t n = end - ra < READ_AHEAD ? end - ra : READ_AHEAD;
			(void)posix_fadvise(fd, (off_t)ra, (off_t)n, POSIX_FADV_WILLNEED);
			ra += n;
		}
		/* a maximal chunk and one read ahead: never less than a chunker cut needs */
		while (!eof && have < max) {
			uint64_t want = READ_STEP + max - have;
			if (pos + have + want > end)
				want = end - pos - have;
			buf = sbatch_room(sl, have, want, &ret);
			if (ret)
				return ret;
			ssize_t n = want ? pread(fd, buf + have, want, (off_t)(pos + have)) : 0;
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
		buf = sl->cur->arena + sl->cur->used;
		/* a buffer shorter than a maximal chunk is only passed at the end of the extent */
		size_t cut = chunker_cut(&sl->ck, buf, have);
		ret = push_chunk(sl, e, pos, cut, have);
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
