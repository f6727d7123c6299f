/* Message body encoding: a subset of MessagePack (https://msgpack.org/).
 *
 * Types: nil, bool, integers (positive/negative fixint, uint8..64,
 * int8..64), bin 8/16/32, str 8/16/32 (fixstr too), array and map
 * (fix/16/32). Float and ext are not written; the reader skips them in
 * lenient mode so a later version may use them in fields we do not know.
 *
 * Convention for messages: a map whose keys are small unsigned integers.
 * A decoder walks the map with ctl_codec_map_next() and calls
 * ctl_codec_skip() for every key it does not know, so old readers accept
 * messages from newer writers.
 *
 * Canonical form (for anything that is hashed or signed): the writer always
 * emits the shortest encoding of every integer and length, and non-negative
 * integers always in the unsigned family. The caller writes map keys in
 * strictly ascending order. A reader in CTL_CODEC_CANONICAL mode rejects
 * non-shortest forms, float/ext, map keys that are not unsigned integers and
 * keys that are not strictly ascending (so duplicates too); re-encoding an
 * accepted value then gives the same bytes.
 *
 * The reader never reads outside its buffer: every length is checked against
 * the bytes left before use, element counts must fit in the bytes left, and
 * nesting is capped at CTL_CODEC_MAX_DEPTH. On error a reader's position is
 * unchanged. Pointers returned for bin/str point into the reader's buffer and
 * live as long as it does; str bytes are not checked to be UTF-8.
 *
 * Errors (negative errno):
 *   -EBADMSG  truncated, malformed, or non-canonical in canonical mode
 *   -EINVAL   the next value has another type than the one asked for
 *   -ERANGE   an integer does not fit the asked type
 *   -ELOOP    nesting deeper than CTL_CODEC_MAX_DEPTH
 *   -ENOBUFS  writer: fixed buffer full
 *   -EMSGSIZE writer: growable buffer would exceed its maximum
 *   -ENOMEM   writer: allocation failed
 */
#ifndef RAY_CONTROL_CODEC_H
#define RAY_CONTROL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_CODEC_MAX_DEPTH 16
#define CTL_CODEC_CANONICAL 0x1u

enum ctl_codec_type {
	CTL_CODEC_NIL = 1,
	CTL_CODEC_BOOL,
	CTL_CODEC_INT,
	CTL_CODEC_BIN,
	CTL_CODEC_STR,
	CTL_CODEC_ARRAY,
	CTL_CODEC_MAP,
	CTL_CODEC_OTHER, /* float or ext: skippable, not readable */
};

struct ctl_codec_writer {
	uint8_t *cw_buf;
	size_t cw_len;
	size_t cw_cap;
	size_t cw_max; /* growable: never grow beyond this many bytes */
	bool cw_owned; /* cw_buf is ours (malloc'd) and may grow */
	int cw_err;    /* first error; later writes do nothing */
};

struct ctl_codec_reader {
	const uint8_t *cr_buf;
	size_t cr_len;
	size_t cr_pos;
	unsigned cr_flags; /* CTL_CODEC_CANONICAL */
};

/* State of one map walk, see ctl_codec_map_next(). */
struct ctl_codec_map {
	uint32_t cm_left; /* entries not yet started */
	uint64_t cm_last; /* previous key, for the canonical order check */
	bool cm_started;
};

/* Writer into BUF (CAP bytes) owned by the caller. */
void ctl_codec_writer_init(struct ctl_codec_writer *w, uint8_t *buf, size_t cap);
/* Writer into a buffer it allocates and grows up to MAX bytes. Release it with
 * ctl_codec_writer_release() or take it with ctl_codec_writer_take(). */
void ctl_codec_writer_init_dynamic(struct ctl_codec_writer *w, size_t max);
/* Free a dynamic writer's buffer (no-op for fixed). */
void ctl_codec_writer_release(struct ctl_codec_writer *w);
/* Dynamic writer: hand the buffer to the caller, who frees it. Returns NULL
 * with *LEN = 0 when a write failed or nothing was written; the writer is
 * empty afterwards either way. */
uint8_t *ctl_codec_writer_take(struct ctl_codec_writer *w, size_t *len);
/* 0, or the first error any write hit. */
int ctl_codec_writer_error(const struct ctl_codec_writer *w);
/* Bytes written so far (valid until the next write). */
const uint8_t *ctl_codec_writer_data(const struct ctl_codec_writer *w, size_t *len);

/* Each returns 0 or the writer's (sticky) error, so a sequence of writes
 * can be checked once at the end. */
int ctl_codec_put_nil(struct ctl_codec_writer *w);
int ctl_codec_put_bool(struct ctl_codec_writer *w, bool v);
int ctl_codec_put_uint(struct ctl_codec_writer *w, uint64_t v);
int ctl_codec_put_int(struct ctl_codec_writer *w, int64_t v);
int ctl_codec_put_bin(struct ctl_codec_writer *w, const void *p, size_t len);
int ctl_codec_put_str(struct ctl_codec_writer *w, const char *p, size_t len);
/* Container headers; the caller then writes N elements (2*N for a map). */
int ctl_codec_put_array(struct ctl_codec_writer *w, uint32_t n);
int ctl_codec_put_map(struct ctl_codec_writer *w, uint32_t n);

void ctl_codec_reader_init(struct ctl_codec_reader *r, const void *buf, size_t len, unsigned flags);
size_t ctl_codec_remaining(const struct ctl_codec_reader *r);
/* 0 when every byte was consumed, else -EBADMSG. */
int ctl_codec_reader_end(const struct ctl_codec_reader *r);
/* Type of the next value (enum ctl_codec_type) without consuming it. */
int ctl_codec_peek(const struct ctl_codec_reader *r);

int ctl_codec_get_nil(struct ctl_codec_reader *r);
int ctl_codec_get_bool(struct ctl_codec_reader *r, bool *v);
int ctl_codec_get_uint(struct ctl_codec_reader *r, uint64_t *v);
int ctl_codec_get_int(struct ctl_codec_reader *r, int64_t *v);
int ctl_codec_get_bin(struct ctl_codec_reader *r, const uint8_t **p, size_t *len);
int ctl_codec_get_str(struct ctl_codec_reader *r, const char **p, size_t *len);
/* Container headers: *N elements (pairs for a map) follow. */
int ctl_codec_get_array(struct ctl_codec_reader *r, uint32_t *n);
int ctl_codec_get_map(struct ctl_codec_reader *r, uint32_t *n);
/* Consume one whole value of any type, nested values included. */
int ctl_codec_skip(struct ctl_codec_reader *r);
/* Read one value (nested ones whole) and write it to W as read: in a
 * canonical reader, canonical bytes come out unchanged. Returns 0, a reader
 * or writer error, or -EBADMSG for a value the writer has no form for
 * (float, ext). */
int ctl_codec_copy(struct ctl_codec_reader *r, struct ctl_codec_writer *w);

/* Map walk with unsigned integer keys:
 *
 *	if ((err = ctl_codec_map_begin(r, &m)))
 *		goto out;
 *	while ((err = ctl_codec_map_next(r, &m, &key)) > 0) {
 *		switch (key) {
 *		case 1: err = ctl_codec_get_uint(r, &x); break;
 *		default: err = ctl_codec_skip(r); break;
 *		}
 *		if (err)
 *			goto out;
 *	}
 *
 * map_next returns 1 with the next key (its value is next in R), 0 after the
 * last entry, or a negative error (a key that is not an unsigned integer:
 * -EINVAL; in canonical mode a key not above the previous: -EBADMSG). */
int ctl_codec_map_begin(struct ctl_codec_reader *r, struct ctl_codec_map *m);
int ctl_codec_map_next(struct ctl_codec_reader *r, struct ctl_codec_map *m, uint64_t *key);

#endif
