/* fs_watch: a long-running mount re-reads the head pointer every fs_opts.recheck_s seconds.
 * The mount keeps showing what it verified at start (snapshots are immutable; a new one
 * would need a remount): this only makes sure the operator hears, in the mount's log
 * (syslog when detached), that the store moved on, that its head expired (a freeze), or
 * that it was rolled back — never an unmount. Each change is logged once; the trust layer
 * (store_read_head) adds its own lines and keeps raising the remembered sequence.
 *
 * One thread; its fields are guarded by fs.watch_lock. Stopped by fs_watch_stop, which
 * wakes it at once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"
#include "hex.h"
#include "log.h"

static void watch_check(struct fs *fs)
{
	struct head h;
	struct timespec now;
	char id[2 * ID_LEN + 1];
	int ret = store_read_head(fs->s, &h);

	if (ret == -ESTALE || ret == -EKEYEXPIRED || ret == -EBADMSG) {
		if (ret != fs->w_last_err)
			log_err(
			    "re-check of the head pointer: %s; this mount keeps showing what it "
			    "verified when it started",
			    ret == -ESTALE	  ? "the store was rolled back (see above)"
			    : ret == -EKEYEXPIRED ? "it expired (--require-fresh): the host may "
						    "be freezing the store"
						  : "it does not verify (forged or damaged)");
		fs->w_last_err = ret;
		return;
	}
	if (ret) {
		log_warn("cannot re-check the head pointer: %s", strerror(-ret));
		return;
	}
	fs->w_last_err = 0;
	if (!fs->head_known) { /* --snapshot mounts: what was there when we first looked */
		fs->head_known = true;
		fs->head_seq = h.seq;
	} else if (h.seq > fs->head_seq) {
		hex_encode(h.snapshot, ID_LEN, id);
		log_warn("the store moved on: its head now names sequence %llu (snapshot %.12s), "
			 "this mount shows sequence %llu; remount to see the new snapshot",
			 (unsigned long long)h.seq, id, (unsigned long long)fs->head_seq);
		fs->head_seq = h.seq;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (h.expires_ns < (int64_t)now.tv_sec * 1000000000 + now.tv_nsec) {
		if (!fs->w_expired)
			log_warn("the head pointer has expired: the sealer has not refreshed it, "
				 "or the host is freezing the store; newer snapshots may exist");
		fs->w_expired = true;
	} else {
		fs->w_expired = false;
	}
}

static void *watch_main(void *arg)
{
	struct fs *fs = arg;
	struct timespec until;

	pthread_mutex_lock(&fs->watch_lock);
	while (!fs->watch_stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += fs->o.recheck_s;
		while (!fs->watch_stop && pthread_cond_timedwait(&fs->watch_cond, &fs->watch_lock,
								 &until) != ETIMEDOUT)
			;
		if (fs->watch_stop)
			break;
		pthread_mutex_unlock(&fs->watch_lock);
		watch_check(fs); /* only this thread touches the w_ and head_ fields meanwhile */
		pthread_mutex_lock(&fs->watch_lock);
	}
	pthread_mutex_unlock(&fs->watch_lock);
	return NULL;
}

int fs_watch_start(struct fs *fs)
{
	pthread_condattr_t ca;

	if (fs->o.recheck_s <= 0 || fs->watch_up)
		return 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fs->watch_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&fs->watch_lock, NULL);
	fs->watch_stop = false;
	if (pthread_create(&fs->watch, NULL, watch_main, fs)) {
		pthread_cond_destroy(&fs->watch_cond);
		pthread_mutex_destroy(&fs->watch_lock);
		return -EAGAIN;
	}
	fs->watch_up = true;
	return 0;
}

void fs_watch_stop(struct fs *fs)
{
	if (!fs->watch_up)
		return;
	pthread_mutex_lock(&fs->watch_lock);
	fs->watch_stop = true;
	pthread_cond_broadcast(&fs->watch_cond);
	pthread_mutex_unlock(&fs->watch_lock);
	pthread_join(fs->watch, NULL);
	pthread_cond_destroy(&fs->watch_cond);
	pthread_mutex_destroy(&fs->watch_lock);
	fs->watch_up = false;
}
