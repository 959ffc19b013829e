/* multi_int: what multi.c (the backend) and multi_list.c (listings) share. Not a public API:
 * callers use multi.h and remote.h. */
#ifndef EMBASSY_MULTI_INT_H
#define EMBASSY_MULTI_INT_H
#include <pthread.h>
#include <stdatomic.h>

#include "multi.h"

#define KEY_LEN 160 /* object names are short (packs/xx/<64 hex>); longer: not noted */
#define BAD_MAX 256 /* objects some mirror served tampered bytes of (a ring) */

struct member {
	void *be; /* immutable after open; thread-safe */
	const struct backend_ops *ops;
	char *name;						   /* credentials starred */
	_Atomic uint64_t gets, bytes, failures, missing, rejected; /* no lock: atomic */
	int head;						   /* guarded by multi.lock */
	uint64_t head_seq;					   /* guarded by multi.lock */
};

struct badkey {
	char key[KEY_LEN];
	uint32_t mask; /* mirrors whose bytes of key failed verification */
};

struct multi {
	size_t n; /* immutable after open */
	struct member m[MULTI_MAX];
	uint64_t timeout_ms; /* immutable */

	pthread_mutex_t lock; /* guards pick, bad, nbad and the members' head fields */
	struct mpick pick;
	struct badkey bad[BAD_MAX]; /* a ring */
	size_t nbad;
};

enum multi_outcome { MULTI_OK, MULTI_NEXT, MULTI_STOP };

uint64_t multi_now_us(void);
/* The mirrors to ask for key, first choice first, skipping those whose bytes of key failed
 * verification (key NULL: skip none); returns how many. */
size_t multi_order_for(struct multi *mu, const char *key, size_t order[MULTI_MAX]);
/* A mirror is asked within a slice of the budget while another remains to be asked. */
uint64_t multi_slice_ms(const struct multi *mu);
/* Account for mirror i's answer ret to a request of bytes bytes that took us. */
enum multi_outcome multi_account(struct multi *mu, size_t i, const char *key, int ret, uint64_t us,
				 uint64_t bytes);
/* The error to report when no mirror answered, given the one so far and the next. */
int multi_worse(int have, int ret);
/* The union of the mirrors' listings (backend_ops.list). */
int multi_list(void *be, const char *prefix, int (*cb)(void *ctx, const char *key), void *ctx);

#endif
