#include "relay/record_store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define RECORD_STORE_BUCKETS_MIN 256
#define RECORD_STORE_FULL_SWEEP	 1024 /* work spent looking for expired records when full */

struct record_entry {
	struct record_entry *next;
	uint64_t timestamp_ms, expires_ms;
	uint8_t signer[RECORD_KEY_LEN];
	size_t len;
	uint8_t bytes[]; /* LEN bytes: the record as signed */
};

struct record_store {
	struct record_entry **buckets;
	size_t nbuckets, count, max;
	size_t cursor; /* the next bucket record_store_expire looks at */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

int record_store_new(size_t max_records, struct record_store **out)
{
	struct record_store *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->max = max_records ? max_records : RECORD_STORE_DEFAULT_MAX;
	st->nbuckets = RECORD_STORE_BUCKETS_MIN;
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	if (!st->buckets) {
		free(st);
		return -ENOMEM;
	}
	crypto_shorthash_keygen(st->hash_key);
	*out = st;
	return 0;
}

void record_store_free(struct record_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct record_entry *e = st->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(st->buckets);
	sodium_memzero(st->hash_key, sizeof(st->hash_key));
	free(st);
}

size_t record_store_count(const struct record_store *st)
{
	return st->count;
}

static size_t record_store_bucket(const struct record_store *st, size_t nbuckets,
				  const uint8_t id[RECORD_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	/* signers are chosen by clients: a keyed hash keeps chains short */
	crypto_shorthash(h, id, RECORD_KEY_LEN, st->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (nbuckets - 1));
}

/* The link that points at ID's entry (or at the NULL ending its chain). */
static struct record_entry **record_store_find(struct record_store *st,
					       const uint8_t id[RECORD_KEY_LEN])
{
	struct record_entry **pos = &st->buckets[record_store_bucket(st, st->nbuckets, id)];

	while (*pos && memcmp((*pos)->signer, id, RECORD_KEY_LEN) != 0)
		pos = &(*pos)->next;
	return pos;
}

static void record_store_unlink(struct record_store *st, struct record_entry **pos)
{
	struct record_entry *e = *pos;

	*pos = e->next;
	free(e);
	st->count--;
}

/* ID's live entry's link, after dropping it if it has expired. */
static struct record_entry **record_store_lookup(struct record_store *st,
						 const uint8_t id[RECORD_KEY_LEN], uint64_t now_ms)
{
	struct record_entry **pos = record_store_find(st, id);

	if (*pos && (*pos)->expires_ms <= now_ms)
		record_store_unlink(st, pos);
	return pos;
}

/* Double the table while it stays within what MAX records need. */
static void record_store_grow(struct record_store *st)
{
	size_t old_n = st->nbuckets, n = old_n * 2;
	struct record_entry **old = st->buckets, **nb;

	if (st->count < old_n || old_n >= st->max)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < old_n; i++) {
		struct record_entry *e = old[i], *next;

		for (; e; e = next) {
			size_t b = record_store_bucket(st, n, e->signer);

			next = e->next;
			e->next = nb[b];
			nb[b] = e;
		}
	}
	st->buckets = nb;
	st->nbuckets = n;
	st->cursor = 0;
	free(old);
}

int record_store_put(struct record_store *st, const uint8_t id[RECORD_KEY_LEN], const uint8_t *buf,
		     size_t len, uint64_t now_ms)
{
	struct record r;
	struct record_entry **pos, *e;
	int ret;

	if (len > RECORD_MAX_LEN)
		return -EMSGSIZE;
	ret = record_parse_verify(buf, len, now_ms, &r);
	if (ret < 0)
		return ret;
	if (sodium_memcmp(r.signer, id, RECORD_KEY_LEN) != 0)
		return -EINVAL;
	pos = record_store_lookup(st, id, now_ms);
	/* as record_is_newer: only a strictly later timestamp replaces */
	if (*pos && r.timestamp_ms <= (*pos)->timestamp_ms)
		return -EALREADY;
	if (!*pos && st->count >= st->max) {
		record_store_expire(st, now_ms, RECORD_STORE_FULL_SWEEP);
		if (st->count >= st->max)
			return -ENOSPC;
		pos = record_store_find(st, id);
	}
	e = malloc(sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	e->timestamp_ms = r.timestamp_ms;
	e->expires_ms = r.expires_ms;
	memcpy(e->signer, id, RECORD_KEY_LEN);
	e->len = len;
	memcpy(e->bytes, buf, len);
	if (*pos) {
		/* replace in place: same chain position */
		e->next = (*pos)->next;
		free(*pos);
		*pos = e;
		return 0;
	}
	e->next = NULL;
	*pos = e;
	st->count++;
	record_store_grow(st);
	return 0;
}

int record_store_get(struct record_store *st, const uint8_t id[RECORD_KEY_LEN], uint64_t now_ms,
		     uint8_t out[RECORD_MAX_LEN], size_t *len)
{
	struct record_entry **pos = record_store_lookup(st, id, now_ms);

	if (!*pos)
		return -ENOENT;
	memcpy(out, (*pos)->bytes, (*pos)->len);
	*len = (*pos)->len;
	return 0;
}

size_t record_store_expire(struct record_store *st, uint64_t now_ms, size_t budget)
{
	size_t dropped = 0, work = 0;

	/* each bucket visited and each record looked at is one unit of work;
	 * a chain is finished once started, and chains are short */
	for (size_t visited = 0; visited < st->nbuckets && work < budget; visited++) {
		struct record_entry **pos = &st->buckets[st->cursor];

		while (*pos) {
			work++;
			if ((*pos)->expires_ms <= now_ms) {
				record_store_unlink(st, pos);
				dropped++;
			} else {
				pos = &(*pos)->next;
			}
		}
		work++;
		st->cursor = (st->cursor + 1) & (st->nbuckets - 1);
	}
	return dropped;
}
