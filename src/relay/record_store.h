/* The relay's record store (DESIGN.md §5): signed discovery records
 * (path/record.h) kept in memory, one per signer, like a pkarr relay.
 *
 * A record is verified when it is put (record_parse_verify at the caller's
 * wall-clock time) and stored as the exact bytes the signer made, so a
 * reader can verify it again. A newer record (strictly later timestamp)
 * replaces the stored one; anything else is refused, so replaying a record
 * changes nothing. Expired records are dropped when they are looked at, and
 * by record_store_expire, which the relay calls from its 1 s sweep with a
 * bound on the work per call.
 *
 * Signers are chosen by clients, so the hash table is keyed with SipHash
 * and a random key. The number of records is capped; memory is about
 * 100 bytes plus the record's size (at most RECORD_MAX_LEN) per record. */
#ifndef RAY_RELAY_RECORD_STORE_H
#define RAY_RELAY_RECORD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "path/record.h"

#define RECORD_STORE_DEFAULT_MAX 100000

struct record_store;

/* A store for at most MAX_RECORDS records (0: RECORD_STORE_DEFAULT_MAX).
 * The caller frees *OUT with record_store_free. 0 or -ENOMEM. */
int record_store_new(size_t max_records, struct record_store **out);
/* NULL is a no-op. */
void record_store_free(struct record_store *st);

/* Store the record BUF (LEN bytes) under ID at wall-clock time NOW_MS (unix
 * ms); the store copies the bytes. Returns 0, or
 *   -EMSGSIZE        LEN > RECORD_MAX_LEN
 *   any error of record_parse_verify (-EBADMSG, -EPROTONOSUPPORT, -ERANGE,
 *                    -ESTALE expired, -EKEYREJECTED bad signature)
 *   -EINVAL          ID is not the record's signer
 *   -EALREADY        the stored record of ID is as new or newer
 *   -ENOSPC          the store is full (after dropping what has expired)
 *   -ENOMEM */
int record_store_put(struct record_store *st, const uint8_t id[RECORD_KEY_LEN], const uint8_t *buf,
		     size_t len, uint64_t now_ms);

/* Copy the unexpired record of ID into OUT (RECORD_MAX_LEN bytes); *LEN =
 * its size. 0 or -ENOENT. */
int record_store_get(struct record_store *st, const uint8_t id[RECORD_KEY_LEN], uint64_t now_ms,
		     uint8_t out[RECORD_MAX_LEN], size_t *len);

/* Drop expired records, looking at no more than about BUDGET of them; the
 * next call goes on where this one stopped, so repeated calls cover the
 * whole store. Returns the number dropped. */
size_t record_store_expire(struct record_store *st, uint64_t now_ms, size_t budget);

/* Records held now. */
size_t record_store_count(const struct record_store *st);

#endif
