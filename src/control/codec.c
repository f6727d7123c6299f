#include "control/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One decoded value header. */
struct head {
	enum ctl_codec_type type;
	bool neg;     /* INT: negative, value in i */
	uint64_t u;   /* INT (non-negative) or BOOL value */
	int64_t i;    /* INT (negative) value */
	uint32_t len; /* BIN/STR/OTHER: payload bytes; ARRAY/MAP: element count */
	size_t hlen;  /* bytes of the header itself */
};

/* ---- writer ---- */

void ctl_codec_writer_init(struct ctl_codec_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->cw_buf = buf;
	w->cw_cap = cap;
	w->cw_max = cap;
}

void ctl_codec_writer_init_dynamic(struct ctl_codec_writer *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->cw_max = max;
	w->cw_owned = true;
}

void ctl_codec_writer_release(struct ctl_codec_writer *w)
{
	if (w->cw_owned)
		free(w->cw_buf);
	w->cw_buf = NULL;
	w->cw_len = 0;
	w->cw_cap = 0;
}

uint8_t *ctl_codec_writer_take(struct ctl_codec_writer *w, size_t *len)
{
	uint8_t *buf = NULL;

	*len = 0;
	if (w->cw_owned && !w->cw_err && w->cw_len) {
		buf = w->cw_buf;
		*len = w->cw_len;
		w->cw_buf = NULL;
	}
	ctl_codec_writer_release(w);
	return buf;
}

int ctl_codec_writer_error(const struct ctl_codec_writer *w)
{
	return w->cw_err;
}

const uint8_t *ctl_codec_writer_data(const struct ctl_codec_writer *w, size_t *len)
{
	*len = w->cw_len;
	return w->cw_buf;
}

/* Make room for N more bytes, or record why not. */
static int reserve(struct ctl_codec_writer *w, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (w->cw_err)
		return w->cw_err;
	if (n <= w->cw_cap - w->cw_len)
		return 0;
	if (!w->cw_owned)
		return w->cw_err = -ENOBUFS;
	if (n > w->cw_max - w->cw_len)
		return w->cw_err = -EMSGSIZE;
	cap = w->cw_cap < 64 ? 64 : w->cw_cap;
	while (cap - w->cw_len < n && cap < w->cw_max)
		cap = cap > w->cw_max / 2 ? w->cw_max : cap * 2;
	if (cap > w->cw_max)
		cap = w->cw_max;
	p = realloc(w->cw_buf, cap);
	if (!p)
		return w->cw_err = -ENOMEM;
	w->cw_buf = p;
	w->cw_cap = cap;
	return 0;
}

/* Tag byte followed by the low N bytes of V, big-endian. */
static int put_head(struct ctl_codec_writer *w, uint8_t tag, unsigned n, uint64_t v)
{
	int err = reserve(w, 1 + n);
	unsigned k;

	if (err)
		return err;
	w->cw_buf[w->cw_len++] = tag;
	for (k = n; k > 0; k--)
		w->cw_buf[w->cw_len++] = (uint8_t)(v >> (8 * (k - 1)));
	return 0;
}

static int put_bytes(struct ctl_codec_writer *w, const void *p, size_t len)
{
	int err = reserve(w, len);

	if (err)
		return err;
	if (len)
		memcpy(w->cw_buf + w->cw_len, p, len);
	w->cw_len += len;
	return 0;
}

int ctl_codec_put_nil(struct ctl_codec_writer *w)
{
	return put_head(w, 0xc0, 0, 0);
}

int ctl_codec_put_bool(struct ctl_codec_writer *w, bool v)
{
	return put_head(w, v ? 0xc3 : 0xc2, 0, 0);
}

int ctl_codec_put_uint(struct ctl_codec_writer *w, uint64_t v)
{
	if (v <= 0x7f)
		return put_head(w, (uint8_t)v, 0, 0);
	if (v <= UINT8_MAX)
		return put_head(w, 0xcc, 1, v);
	if (v <= UINT16_MAX)
		return put_head(w, 0xcd, 2, v);
	if (v <= UINT32_MAX)
		return put_head(w, 0xce, 4, v);
	return put_head(w, 0xcf, 8, v);
}

int ctl_codec_put_int(struct ctl_codec_writer *w, int64_t v)
{
	if (v >= 0)
		return ctl_codec_put_uint(w, (uint64_t)v);
	if (v >= -32)
		return put_head(w, (uint8_t)v, 0, 0);
	if (v >= INT8_MIN)
		return put_head(w, 0xd0, 1, (uint64_t)v);
	if (v >= INT16_MIN)
		return put_head(w, 0xd1, 2, (uint64_t)v);
	if (v >= INT32_MIN)
		return put_head(w, 0xd2, 4, (uint64_t)v);
	return put_head(w, 0xd3, 8, (uint64_t)v);
}

/* Header for a length-prefixed type: TAGS are the 8/16/32-bit forms. */
static int put_len(struct ctl_codec_writer *w, const uint8_t tags[3], size_t len)
{
	if (w->cw_err)
		return w->cw_err;
	if (len <= UINT8_MAX && tags[0])
		return put_head(w, tags[0], 1, len);
	if (len <= UINT16_MAX)
		return put_head(w, tags[1], 2, len);
	if (len <= UINT32_MAX)
		return put_head(w, tags[2], 4, len);
	return w->cw_err = -EMSGSIZE;
}

int ctl_codec_put_bin(struct ctl_codec_writer *w, const void *p, size_t len)
{
	static const uint8_t tags[3] = {0xc4, 0xc5, 0xc6};
	int err = put_len(w, tags, len);

	return err ? err : put_bytes(w, p, len);
}

int ctl_codec_put_str(struct ctl_codec_writer *w, const char *p, size_t len)
{
	static const uint8_t tags[3] = {0xd9, 0xda, 0xdb};
	int err;

	if (len < 32)
		err = put_head(w, (uint8_t)(0xa0 | len), 0, 0);
	else
		err = put_len(w, tags, len);
	return err ? err : put_bytes(w, p, len);
}

int ctl_codec_put_array(struct ctl_codec_writer *w, uint32_t n)
{
	static const uint8_t tags[3] = {0, 0xdc, 0xdd};

	if (n < 16)
		return put_head(w, (uint8_t)(0x90 | n), 0, 0);
	return put_len(w, tags, n);
}

int ctl_codec_put_map(struct ctl_codec_writer *w, uint32_t n)
{
	static const uint8_t tags[3] = {0, 0xde, 0xdf};

	if (n < 16)
		return put_head(w, (uint8_t)(0x80 | n), 0, 0);
	return put_len(w, tags, n);
}

/* ---- reader ---- */

void ctl_codec_reader_init(struct ctl_codec_reader *r, const void *buf, size_t len, unsigned flags)
{
	static const uint8_t empty[1];

	/* No NULL base: even arithmetic on it is undefined. */
	r->cr_buf = buf ? buf : empty;
	r->cr_len = buf ? len : 0;
	r->cr_pos = 0;
	r->cr_flags = flags;
}

size_t ctl_codec_remaining(const struct ctl_codec_reader *r)
{
	return r->cr_len - r->cr_pos;
}

int ctl_codec_reader_end(const struct ctl_codec_reader *r)
{
	return r->cr_pos == r->cr_len ? 0 : -EBADMSG;
}

/* Big-endian N bytes at P+OFF, if they lie within LEFT bytes. */
static bool load_be(const uint8_t *p, size_t left, size_t off, unsigned n, uint64_t *v)
{
	unsigned k;

	if (off > left || n > left - off)
		return false;
	*v = 0;
	for (k = 0; k < n; k++)
		*v = *v << 8 | p[off + k];
	return true;
}

/* Length field of N bytes after the tag; MIN is the smallest value this form
 * may carry in canonical mode. */
static int head_len(const uint8_t *p, size_t left, unsigned n, uint64_t min, bool canon,
		    struct head *h)
{
	uint64_t v;

	if (!load_be(p, left, 1, n, &v))
		return -EBADMSG;
	if (canon && v < min)
		return -EBADMSG;
	h->len = (uint32_t)v;
	h->hlen = 1 + n;
	return 0;
}

static int head_uint(const uint8_t *p, size_t left, unsigned n, bool canon, struct head *h)
{
	/* Smallest value for which an N-byte form is the shortest one. */
	uint64_t min = n == 1 ? 0x80 : 1ull << (4 * n);
	uint64_t v;

	if (!load_be(p, left, 1, n, &v))
		return -EBADMSG;
	if (canon && v < min)
		return -EBADMSG;
	h->type = CTL_CODEC_INT;
	h->u = v;
	h->hlen = 1 + n;
	return 0;
}

static int head_sint(const uint8_t *p, size_t left, unsigned n, bool canon, struct head *h)
{
	/* Lowest value a shorter form could hold: anything at or above it
	 * (all non-negative values included) is not canonical here. */
	static const int64_t shorter_min[9] = {
		[1] = -32, [2] = INT8_MIN, [4] = INT16_MIN, [8] = INT32_MIN};
	uint64_t sign = 1ull << (8 * n - 1);
	uint64_t mask = sign | (sign - 1);
	uint64_t v;
	int64_t i;

	if (!load_be(p, left, 1, n, &v))
		return -EBADMSG;
	i = (v & sign) ? -(int64_t)(~v & mask) - 1 : (int64_t)v;
	if (canon && i >= shorter_min[n])
		return -EBADMSG;
	h->type = CTL_CODEC_INT;
	if (i < 0) {
		h->neg = true;
		h->i = i;
	} else {
		h->u = (uint64_t)i;
	}
	h->hlen = 1 + n;
	return 0;
}

/* Decode the header of the value at POS and check that its payload (or, for
 * containers, its minimum possible size) lies within the buffer. */
static int read_head(const struct ctl_codec_reader *r, size_t pos, struct head *h)
{
	const uint8_t *p = r->cr_buf + pos;
	size_t left = r->cr_len - pos;
	bool canon = r->cr_flags & CTL_CODEC_CANONICAL;
	uint8_t b;
	int err = 0;

	memset(h, 0, sizeof(*h));
	if (left < 1)
		return -EBADMSG;
	b = p[0];
	h->hlen = 1;
	if (b <= 0x7f) {
		h->type = CTL_CODEC_INT;
		h->u = b;
	} else if (b <= 0x8f) {
		h->type = CTL_CODEC_MAP;
		h->len = b & 0x0f;
	} else if (b <= 0x9f) {
		h->type = CTL_CODEC_ARRAY;
		h->len = b & 0x0f;
	} else if (b <= 0xbf) {
		h->type = CTL_CODEC_STR;
		h->len = b & 0x1f;
	} else if (b >= 0xe0) {
		h->type = CTL_CODEC_INT;
		h->neg = true;
		h->i = (int64_t)b - 256;
	} else {
		switch (b) {
		case 0xc0:
			h->type = CTL_CODEC_NIL;
			break;
		case 0xc2:
		case 0xc3:
			h->type = CTL_CODEC_BOOL;
			h->u = b & 1;
			break;
		case 0xc4:
		case 0xc5:
		case 0xc6:
			h->type = CTL_CODEC_BIN;
			err = head_len(p, left, 1u << (b - 0xc4),
				       b == 0xc4 ? 0 : 1ull << (8 << (b - 0xc5)), canon, h);
			break;
		case 0xc7:
		case 0xc8:
		case 0xc9:
			/* ext 8/16/32: length, then a one-byte ext type */
			h->type = CTL_CODEC_OTHER;
			err = head_len(p, left, 1u << (b - 0xc7), 0, canon, h);
			h->hlen++;
			break;
		case 0xca:
		case 0xcb:
			h->type = CTL_CODEC_OTHER;
			h->len = b == 0xca ? 4 : 8;
			break;
		case 0xcc:
		case 0xcd:
		case 0xce:
		case 0xcf:
			err = head_uint(p, left, 1u << (b - 0xcc), canon, h);
			break;
		case 0xd0:
		case 0xd1:
		case 0xd2:
		case 0xd3:
			err = head_sint(p, left, 1u << (b - 0xd0), canon, h);
			break;
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			/* fixext: one-byte ext type, then 1..16 bytes */
			h->type = CTL_CODEC_OTHER;
			h->len = 1u << (b - 0xd4);
			h->hlen = 2;
			break;
		case 0xd9:
		case 0xda:
		case 0xdb:
			h->type = CTL_CODEC_STR;
			err = head_len(p, left, 1u << (b - 0xd9),
				       b == 0xd9 ? 32 : 1ull << (8 << (b - 0xda)), canon, h);
			break;
		case 0xdc:
		case 0xdd:
			h->type = CTL_CODEC_ARRAY;
			err = head_len(p, left, 2u << (b - 0xdc), b == 0xdc ? 16 : 1ull << 16,
				       canon, h);
			break;
		case 0xde:
		case 0xdf:
			h->type = CTL_CODEC_MAP;
			err = head_len(p, left, 2u << (b - 0xde), b == 0xde ? 16 : 1ull << 16,
				       canon, h);
			break;
		default: /* 0xc1 is never used */
			return -EBADMSG;
		}
	}
	if (err)
		return err;
	if (h->type == CTL_CODEC_OTHER && canon)
		return -EBADMSG;
	if (h->hlen > left)
		return -EBADMSG;
	left -= h->hlen;
	/* Every element takes at least one byte: a count larger than what is
	 * left is a lie, and rejecting it here bounds all later work. */
	switch (h->type) {
	case CTL_CODEC_BIN:
	case CTL_CODEC_STR:
	case CTL_CODEC_OTHER:
	case CTL_CODEC_ARRAY:
		if (h->len > left)
			return -EBADMSG;
		break;
	case CTL_CODEC_MAP:
		if (2 * (uint64_t)h->len > left)
			return -EBADMSG;
		break;
	default:
		break;
	}
	return 0;
}

int ctl_codec_peek(const struct ctl_codec_reader *r)
{
	struct head h;
	int err = read_head(r, r->cr_pos, &h);

	return err ? err : (int)h.type;
}

/* Read the next header and require type TYPE; consumes nothing. */
static int expect(const struct ctl_codec_reader *r, enum ctl_codec_type type, struct head *h)
{
	int err = read_head(r, r->cr_pos, h);

	if (err)
		return err;
	return h->type == type ? 0 : -EINVAL;
}

int ctl_codec_get_nil(struct ctl_codec_reader *r)
{
	struct head h;
	int err = expect(r, CTL_CODEC_NIL, &h);

	if (!err)
		r->cr_pos += h.hlen;
	return err;
}

int ctl_codec_get_bool(struct ctl_codec_reader *r, bool *v)
{
	struct head h;
	int err = expect(r, CTL_CODEC_BOOL, &h);

	if (!err) {
		*v = h.u;
		r->cr_pos += h.hlen;
	}
	return err;
}

int ctl_codec_get_uint(struct ctl_codec_reader *r, uint64_t *v)
{
	struct head h;
	int err = expect(r, CTL_CODEC_INT, &h);

	if (err)
		return err;
	if (h.neg)
		return -ERANGE;
	*v = h.u;
	r->cr_pos += h.hlen;
	return 0;
}

int ctl_codec_get_int(struct ctl_codec_reader *r, int64_t *v)
{
	struct head h;
	int err = expect(r, CTL_CODEC_INT, &h);

	if (err)
		return err;
	if (!h.neg && h.u > INT64_MAX)
		return -ERANGE;
	*v = h.neg ? h.i : (int64_t)h.u;
	r->cr_pos += h.hlen;
	return 0;
}

static int get_bytes(struct ctl_codec_reader *r, enum ctl_codec_type type, const uint8_t **p,
		     size_t *len)
{
	struct head h;
	int err = expect(r, type, &h);

	if (err)
		return err;
	*p = r->cr_buf + r->cr_pos + h.hlen;
	*len = h.len;
	r->cr_pos += h.hlen + h.len;
	return 0;
}

int ctl_codec_get_bin(struct ctl_codec_reader *r, const uint8_t **p, size_t *len)
{
	return get_bytes(r, CTL_CODEC_BIN, p, len);
}

int ctl_codec_get_str(struct ctl_codec_reader *r, const char **p, size_t *len)
{
	const uint8_t *b;
	int err = get_bytes(r, CTL_CODEC_STR, &b, len);

	if (!err)
		*p = (const char *)b;
	return err;
}

static int get_container(struct ctl_codec_reader *r, enum ctl_codec_type type, uint32_t *n)
{
	struct head h;
	int err = expect(r, type, &h);

	if (!err) {
		*n = h.len;
		r->cr_pos += h.hlen;
	}
	return err;
}

int ctl_codec_get_array(struct ctl_codec_reader *r, uint32_t *n)
{
	return get_container(r, CTL_CODEC_ARRAY, n);
}

int ctl_codec_get_map(struct ctl_codec_reader *r, uint32_t *n)
{
	return get_container(r, CTL_CODEC_MAP, n);
}

/* Skip the value at *POS, which sits at nesting DEPTH; advance *POS only on
 * success. Recursion is bounded by CTL_CODEC_MAX_DEPTH. */
static int skip_at(const struct ctl_codec_reader *r, size_t *pos, unsigned depth)
{
	bool canon = r->cr_flags & CTL_CODEC_CANONICAL;
	size_t p = *pos;
	uint64_t n, k, last = 0;
	struct head h;
	int err;

	err = read_head(r, p, &h);
	if (err)
		return err;
	p += h.hlen;
	switch (h.type) {
	case CTL_CODEC_BIN:
	case CTL_CODEC_STR:
	case CTL_CODEC_OTHER:
		p += h.len;
		break;
	case CTL_CODEC_ARRAY:
	case CTL_CODEC_MAP:
		if (depth >= CTL_CODEC_MAX_DEPTH)
			return -ELOOP;
		n = h.type == CTL_CODEC_MAP ? 2 * (uint64_t)h.len : h.len;
		for (k = 0; k < n; k++) {
			if (canon && h.type == CTL_CODEC_MAP && k % 2 == 0) {
				struct head key;

				err = read_head(r, p, &key);
				if (err)
					return err;
				if (key.type != CTL_CODEC_INT || key.neg || (k && key.u <= last))
					return -EBADMSG;
				last = key.u;
			}
			err = skip_at(r, &p, depth + 1);
			if (err)
				return err;
		}
		break;
	default:
		break;
	}
	*pos = p;
	return 0;
}

int ctl_codec_skip(struct ctl_codec_reader *r)
{
	return skip_at(r, &r->cr_pos, 0);
}

static int copy_at(struct ctl_codec_reader *r, struct ctl_codec_writer *w, unsigned depth)
{
	const uint8_t *p;
	const char *s;
	uint64_t u, k;
	int64_t i;
	uint32_t n;
	size_t len;
	bool b;
	int err;

	switch (ctl_codec_peek(r)) {
	case CTL_CODEC_NIL:
		err = ctl_codec_get_nil(r);
		return err ? err : ctl_codec_put_nil(w);
	case CTL_CODEC_BOOL:
		err = ctl_codec_get_bool(r, &b);
		return err ? err : ctl_codec_put_bool(w, b);
	case CTL_CODEC_INT:
		if (ctl_codec_get_uint(r, &u) == 0)
			return ctl_codec_put_uint(w, u);
		err = ctl_codec_get_int(r, &i);
		return err ? err : ctl_codec_put_int(w, i);
	case CTL_CODEC_BIN:
		err = ctl_codec_get_bin(r, &p, &len);
		return err ? err : ctl_codec_put_bin(w, p, len);
	case CTL_CODEC_STR:
		err = ctl_codec_get_str(r, &s, &len);
		return err ? err : ctl_codec_put_str(w, s, len);
	case CTL_CODEC_ARRAY:
	case CTL_CODEC_MAP:
		if (depth >= CTL_CODEC_MAX_DEPTH)
			return -ELOOP;
		if (ctl_codec_peek(r) == CTL_CODEC_ARRAY) {
			err = ctl_codec_get_array(r, &n);
			if (!err)
				err = ctl_codec_put_array(w, n);
			u = n;
		} else {
			err = ctl_codec_get_map(r, &n);
			if (!err)
				err = ctl_codec_put_map(w, n);
			u = 2 * (uint64_t)n;
		}
		for (k = 0; !err && k < u; k++)
			err = copy_at(r, w, depth + 1);
		return err;
	default:
		return -EBADMSG;
	}
}

int ctl_codec_copy(struct ctl_codec_reader *r, struct ctl_codec_writer *w)
{
	return copy_at(r, w, 0);
}

int ctl_codec_map_begin(struct ctl_codec_reader *r, struct ctl_codec_map *m)
{
	uint32_t n;
	int err = ctl_codec_get_map(r, &n);

	if (err)
		return err;
	m->cm_left = n;
	m->cm_last = 0;
	m->cm_started = false;
	return 0;
}

int ctl_codec_map_next(struct ctl_codec_reader *r, struct ctl_codec_map *m, uint64_t *key)
{
	struct head h;
	int err;

	if (!m->cm_left)
		return 0;
	err = expect(r, CTL_CODEC_INT, &h);
	if (err)
		return err;
	if (h.neg)
		return -EINVAL;
	if ((r->cr_flags & CTL_CODEC_CANONICAL) && m->cm_started && h.u <= m->cm_last)
		return -EBADMSG;
	r->cr_pos += h.hlen;
	m->cm_left--;
	m->cm_last = h.u;
	m->cm_started = true;
	*key = h.u;
	return 1;
}
