#include "pack.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "store_int.h"

#define PACK_BUF_ALIGN 4096

/* A full pack on its way to the store. */
struct upload {
	uint8_t id[PACK_ID_LEN];
	uint8_t *buf;
	size_t len, cap;
	struct index_entry *ents;
	size_t nents;
};

struct packer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t uploader;
	bool uploader_up;
	/* guarded by lock: the one upload in flight (pending), its outcome, shutdown */
	bool pending, stopping;
	struct upload up;
	int up_err;
	/* guarded by lock: an uploaded pack's buffer kept for the next pack. A pack buffer is
	 * above glibc's mmap threshold, so a fresh one per pack cost 8,448 page faults and an
	 * unmap (TLB shootdown on every core) per 33 MiB: all of a seal's minor faults. */
	uint8_t *spare;
	size_t spare_cap;
	/* owned by the sealing thread */
	struct store *s;
	struct dedup *d;
	size_t target;
	uint8_t id[PACK_ID_LEN];
	uint8_t *buf;
	size_t len, cap;
	struct index_entry *ents;
	size_t nents, capents;
	struct packer_stats st;
};

static void *uploader_main(void *arg);
static int start_upload(struct packer *p);

int packer_new(struct store *s, struct dedup *d, size_t target, struct packer **out)
{
	struct packer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->d = d;
	p->target = target;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->uploader, NULL, uploader_main, p)) {
		packer_free(p);
		return -EAGAIN;
	}
	p->uploader_up = true;
	*out = p;
	return 0;
}

void packer_free(struct packer *p)
{
	if (!p)
		return;
	if (p->uploader_up) {
		pthread_mutex_lock(&p->lock);
		while (p->pending)
			pthread_cond_wait(&p->cond, &p->lock);
		p->stopping = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->uploader, NULL);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->buf);
	free(p->spare);
	free(p->ents);
	free(p);
}

void packer_get_stats(const struct packer *p, struct packer_stats *st)
{
	*st = p->st;
}

static int reserve(struct packer *p, size_t more)
{
	if (!p->buf) {
		pthread_mutex_lock(&p->lock);
		p->buf = p->spare;
		p->cap = p->spare_cap;
		p->spare = NULL;
		p->spare_cap = 0;
		pthread_mutex_unlock(&p->lock);
	}
	if (p->len + more > p->cap) {
		/* room for the target and a record past it: a pack closes only once it reaches
		 * its target, so its last record may end up to a maximal record beyond. Growing
		 * then (a 32 MiB copy into fresh pages, the old buffer unmapped) was 45 % of a
		 * seal's page faults; untouched room costs no memory. */
		size_t cap = p->cap ? p->cap : 2 * p->target + (1u << 20);
		while (cap < p->len + more)
			cap *= 2;
		/* page-aligned: the local store writes a pack's whole pages with O_DIRECT */
		void *b;
		if (posix_memalign(&b, PACK_BUF_ALIGN, cap))
			return -ENOMEM;
		if (p->len)
			memcpy(b, p->buf, p->len);
		free(p->buf);
		p->buf = b;
		p->cap = cap;
	}
	if (p->nents == p->capents) {
		size_t cap = p->capents ? 2 * p->capents : 256;
		struct index_entry *e = realloc(p->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		p->ents = e;
		p->capents = cap;
	}
	return 0;
}

int packer_add(struct packer *p, enum record_type type, const uint8_t id[ID_LEN],
	       const uint8_t *rec, size_t len, uint32_t plen, struct rec_ref *ref)
{
	int ret = reserve(p, len + 8);
	if (ret)
		return ret;
	if (p->len == 0) { /* a new pack */
		randombytes_buf(p->id, PACK_ID_LEN);
		memcpy(p->buf, PACK_MAGIC, 8);
		p->len = 8;
	}
	memcpy(ref->id, id, ID_LEN);
	memcpy(ref->pack, p->id, PACK_ID_LEN);
	ref->off = p->len;
	ref->len = (uint32_t)len;
	ref->plen = plen;
	memcpy(p->buf + p->len, rec, len);
	p->len += len;
	p->ents[p->nents++] = (struct index_entry){.type = (uint8_t)type, .ref = *ref};
	ret = dedup_add(p->d, ref);
	if (!ret && p->len >= p->target)
		ret = start_upload(p);
	return ret;
}

/* The index object of a pack: sealed, named by its own id. */
static int write_index(struct packer *p, const struct upload *u)
{
	const struct keys *k = store_keys(p->s);
	char *json = NULL, key[128], idh[2 * ID_LEN + 1];
	uint8_t id[ID_LEN], *rec = NULL;
	size_t rlen;
	int ret = index_encode(u->id, u->ents, u->nents, &json);

	if (ret)
		return ret;
	record_id(k, REC_INDEX, json, strlen(json), id);
	ret = record_seal(k, REC_INDEX, id, json, strlen(json), 3, &rec, &rlen);
	if (!ret) {
		hex_encode(id, ID_LEN, idh);
		snprintf(key, sizeof(key), "index/%s", idh);
		ret = remote_put(store_remote(p->s), key, rec, rlen, 0);
	}
	free(rec);
	free(json);
	return ret;
}

/* The index first, the pack after: a seal killed in between leaves an index naming a pack
 * that is not there, which dedup_load ignores (it only trusts entries whose pack is listed);
 * the other order would leave a pack no index names, never reused by the next seal. */
static int upload(struct packer *p, const struct upload *u)
{
	char key[64];
	int ret;
	store_pack_key(u->id, key);
	ret = write_index(p, u);
	if (!ret)
		ret = remote_put(store_remote(p->s), key, u->buf, u->len, REMOTE_CREATE_ONLY);
	if (ret)
		log_err("uploading %s: %s", key, strerror(-ret));
	return ret;
}

static void *uploader_main(void *arg)
{
	struct packer *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->pending && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->pending)
			break;
		struct upload u = p->up;
		pthread_mutex_unlock(&p->lock);
		int ret = upload(p, &u);
		free(u.ents);
		pthread_mutex_lock(&p->lock);
		if (!p->spare) {
			p->spare = u.buf;
			p->spare_cap = u.cap;
			u.buf = NULL;
		}
		free(u.buf);
		if (ret && !p->up_err)
			p->up_err = ret;
		p->pending = false;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Wait until no upload is in flight; returns the first upload error. */
static int wait_upload(struct packer *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->pending)
		pthread_cond_wait(&p->cond, &p->lock);
	int ret = p->up_err;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* Hand the current pack to the uploader (one in flight: a slow store holds the seal back). */
static int start_upload(struct packer *p)
{
	int ret = wait_upload(p);
	if (ret || p->len == 0)
		return ret;
	pthread_mutex_lock(&p->lock);
	memcpy(p->up.id, p->id, PACK_ID_LEN);
	p->up.buf = p->buf;
	p->up.len = p->len;
	p->up.cap = p->cap;
	p->up.ents = p->ents;
	p->up.nents = p->nents;
	p->pending = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	p->st.packs++;
	p->st.bytes += p->len;
	p->st.records += p->nents;
	p->buf = NULL;
	p->ents = NULL;
	p->len = p->cap = p->nents = p->capents = 0;
	return 0;
}

int packer_flush(struct packer *p)
{
	int ret = start_upload(p);
	return ret ? ret : wait_upload(p);
}
