/* The msgpack subset: boundary values of every type, shortest forms,
 * canonical checks, truncation, skipping unknown keys, nesting cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/codec.h"

#define BIG (1u << 20)

static void test_uint_boundaries(void **state)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{0, 1},	    {1, 1},	{127, 1},	 {128, 2},	  {255, 2},	   {256, 3},
		{65535, 3}, {65536, 5}, {UINT32_MAX, 5}, {1ull << 32, 9}, {UINT64_MAX, 9},
	};
	struct ctl_codec_writer w;
	struct ctl_codec_reader r;
	uint8_t buf[16];
	uint64_t v;
	int64_t i;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		ctl_codec_writer_init(&w, buf, sizeof(buf));
		assert_int_equal(ctl_codec_put_uint(&w, cases[k].v), 0);
		assert_int_equal(w.cw_len, cases[k].len);
		ctl_codec_reader_init(&r, buf, w.cw_len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_peek(&r), CTL_CODEC_INT);
		assert_int_equal(ctl_codec_get_uint(&r, &v), 0);
		assert_true(v == cases[k].v);
		assert_int_equal(ctl_codec_reader_end(&r), 0);
		/* as a signed value: fits unless above INT64_MAX */
		ctl_codec_reader_init(&r, buf, w.cw_len, CTL_CODEC_CANONICAL);
		if (cases[k].v > INT64_MAX) {
			assert_int_equal(ctl_codec_get_int(&r, &i), -ERANGE);
			assert_int_equal(r.cr_pos, 0);
		} else {
			assert_int_equal(ctl_codec_get_int(&r, &i), 0);
			assert_true((uint64_t)i == cases[k].v);
		}
	}
}

static void test_int_boundaries(void **state)
{
	static const struct {
		int64_t v;
		size_t len;
	} cases[] = {
		{-1, 1},	{-32, 1},	{-33, 2},
		{-128, 2},	{-129, 3},	{-32768, 3},
		{-32769, 5},	{INT32_MIN, 5}, {(int64_t)INT32_MIN - 1, 9},
		{INT64_MIN, 9}, {0, 1},		{127, 1},
		{128, 2},	{INT64_MAX, 9},
	};
	struct ctl_codec_writer w;
	struct ctl_codec_reader r;
	uint8_t buf[16];
	uint64_t u;
	int64_t v;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		ctl_codec_writer_init(&w, buf, sizeof(buf));
		assert_int_equal(ctl_codec_put_int(&w, cases[k].v), 0);
		assert_int_equal(w.cw_len, cases[k].len);
		ctl_codec_reader_init(&r, buf, w.cw_len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_get_int(&r, &v), 0);
		assert_true(v == cases[k].v);
		assert_int_equal(ctl_codec_reader_end(&r), 0);
		ctl_codec_reader_init(&r, buf, w.cw_len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_get_uint(&r, &u), cases[k].v < 0 ? -ERANGE : 0);
	}
}

static void test_nil_bool(void **state)
{
	struct ctl_codec_writer w;
	struct ctl_codec_reader r;
	uint8_t buf[8];
	bool b;

	(void)state;
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_nil(&w);
	ctl_codec_put_bool(&w, true);
	ctl_codec_put_bool(&w, false);
	assert_int_equal(ctl_codec_writer_error(&w), 0);
	assert_int_equal(w.cw_len, 3);
	assert_memory_equal(buf, "\xc0\xc3\xc2", 3);
	ctl_codec_reader_init(&r, buf, 3, CTL_CODEC_CANONICAL);
	assert_int_equal(ctl_codec_get_bool(&r, &b), -EINVAL);
	assert_int_equal(ctl_codec_get_nil(&r), 0);
	assert_int_equal(ctl_codec_get_bool(&r, &b), 0);
	assert_true(b);
	assert_int_equal(ctl_codec_get_bool(&r, &b), 0);
	assert_false(b);
	assert_int_equal(ctl_codec_reader_end(&r), 0);
	assert_int_equal(ctl_codec_get_nil(&r), -EBADMSG);
}

/* str and bin at each length boundary: header size and exact bytes back. */
static void test_bytes_boundaries(void **state)
{
	static const struct {
		size_t len;
		size_t str_hdr;
		size_t bin_hdr;
	} cases[] = {
		{0, 1, 2},   {1, 1, 2},	    {31, 1, 2},	   {32, 2, 2},	   {255, 2, 2},
		{256, 3, 3}, {65535, 3, 3}, {65536, 5, 5}, {100000, 5, 5},
	};
	struct ctl_codec_writer w;
	struct ctl_codec_reader r;
	uint8_t *payload = malloc(100000);
	const uint8_t *bp;
	const char *sp;
	size_t k, n, i;
	uint8_t *out;

	(void)state;
	assert_non_null(payload);
	for (i = 0; i < 100000; i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		ctl_codec_writer_init_dynamic(&w, BIG);
		assert_int_equal(ctl_codec_put_str(&w, (const char *)payload, cases[k].len), 0);
		assert_int_equal(ctl_codec_put_bin(&w, payload, cases[k].len), 0);
		out = ctl_codec_writer_take(&w, &n);
		assert_non_null(out);
		assert_int_equal(n, cases[k].str_hdr + cases[k].bin_hdr + 2 * cases[k].len);
		ctl_codec_reader_init(&r, out, n, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_peek(&r), CTL_CODEC_STR);
		assert_int_equal(ctl_codec_get_bin(&r, &bp, &i), -EINVAL);
		assert_int_equal(ctl_codec_get_str(&r, &sp, &i), 0);
		assert_int_equal(i, cases[k].len);
		assert_memory_equal(sp, payload, i);
		assert_int_equal(ctl_codec_get_bin(&r, &bp, &i), 0);
		assert_int_equal(i, cases[k].len);
		assert_memory_equal(bp, payload, i);
		assert_int_equal(ctl_codec_reader_end(&r), 0);
		free(out);
	}
	free(payload);
}

static void test_container_boundaries(void **state)
{
	static const struct {
		uint32_t n;
		size_t hdr;
	} cases[] = {{0, 1}, {15, 1}, {16, 3}, {65535, 3}, {65536, 5}};
	struct ctl_codec_writer w;
	struct ctl_codec_reader r;
	size_t k, len;
	uint32_t i, n;
	uint64_t v;
	uint8_t *out;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		/* array of N small ints */
		ctl_codec_writer_init_dynamic(&w, BIG);
		ctl_codec_put_array(&w, cases[k].n);
		for (i = 0; i < cases[k].n; i++)
			ctl_codec_put_uint(&w, i & 0x7f);
		out = ctl_codec_writer_take(&w, &len);
		assert_non_null(out);
		assert_int_equal(len, cases[k].hdr + cases[k].n);
		ctl_codec_reader_init(&r, out, len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_get_array(&r, &n), 0);
		assert_int_equal(n, cases[k].n);
		for (i = 0; i < n; i++) {
			assert_int_equal(ctl_codec_get_uint(&r, &v), 0);
			assert_int_equal(v, i & 0x7f);
		}
		assert_int_equal(ctl_codec_reader_end(&r), 0);
		ctl_codec_reader_init(&r, out, len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_skip(&r), 0);
		assert_int_equal(ctl_codec_reader_end(&r), 0);
		free(out);

		/* map of N ascending keys to nil */
		ctl_codec_writer_init_dynamic(&w, BIG);
		ctl_codec_put_map(&w, cases[k].n);
		for (i = 0; i < cases[k].n; i++) {
			ctl_codec_put_uint(&w, i);
			ctl_codec_put_nil(&w);
		}
		out = ctl_codec_writer_take(&w, &len);
		assert_non_null(out);
		ctl_codec_reader_init(&r, out, len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_peek(&r), CTL_CODEC_MAP);
		assert_int_equal(ctl_codec_skip(&r), 0);
		assert_int_equal(ctl_codec_reader_end(&r), 0);
		ctl_codec_reader_init(&r, out, len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_get_map(&r, &n), 0);
		assert_int_equal(n, cases[k].n);
		free(out);
	}
}

/* Encodings a lenient reader accepts and a canonical one refuses, with the
 * value the lenient reader must see. */
static void test_canonical_rejects_long_forms(void **state)
{
	static const struct {
		const char *enc;
		size_t len;
		int type;
		int64_t value; /* INT: value; STR/BIN/ARRAY/MAP: length */
	} cases[] = {
		{"\xcc\x05", 2, CTL_CODEC_INT, 5},
		{"\xcd\x00\xff", 3, CTL_CODEC_INT, 255},
		{"\xce\x00\x00\xff\xff", 5, CTL_CODEC_INT, 65535},
		{"\xcf\x00\x00\x00\x00\xff\xff\xff\xff", 9, CTL_CODEC_INT, UINT32_MAX},
		{"\xd0\xff", 2, CTL_CODEC_INT, -1},
		{"\xd0\x05", 2, CTL_CODEC_INT, 5},
		{"\xd1\xff\x80", 3, CTL_CODEC_INT, -128},
		{"\xd2\xff\xff\x80\x00", 5, CTL_CODEC_INT, -32768},
		{"\xd3\xff\xff\xff\xff\x80\x00\x00\x00", 9, CTL_CODEC_INT, INT32_MIN},
		{"\xd3\x00\x00\x00\x00\x00\x00\x00\x01", 9, CTL_CODEC_INT, 1},
		{"\xd9\x01x", 3, CTL_CODEC_STR, 1},
		{"\xda\x00\x01x", 4, CTL_CODEC_STR, 1},
		{"\xc5\x00\x01x", 4, CTL_CODEC_BIN, 1},
		{"\xc6\x00\x00\x00\x01x", 6, CTL_CODEC_BIN, 1},
		{"\xdc\x00\x01\xc0", 4, CTL_CODEC_ARRAY, 1},
		{"\xdd\x00\x00\x00\x01\xc0", 6, CTL_CODEC_ARRAY, 1},
		{"\xde\x00\x01\x01\xc0", 5, CTL_CODEC_MAP, 1},
		{"\xdf\x00\x00\x00\x01\x01\xc0", 7, CTL_CODEC_MAP, 1},
	};
	struct ctl_codec_reader r;
	const uint8_t *p;
	uint32_t n;
	int64_t v;
	size_t k, len;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		ctl_codec_reader_init(&r, cases[k].enc, cases[k].len, 0);
		assert_int_equal(ctl_codec_peek(&r), cases[k].type);
		switch (cases[k].type) {
		case CTL_CODEC_INT:
			assert_int_equal(ctl_codec_get_int(&r, &v), 0);
			assert_true(v == cases[k].value);
			break;
		case CTL_CODEC_STR:
		case CTL_CODEC_BIN:
			if (cases[k].type == CTL_CODEC_STR)
				assert_int_equal(ctl_codec_get_str(&r, (const char **)&p, &len), 0);
			else
				assert_int_equal(ctl_codec_get_bin(&r, &p, &len), 0);
			assert_int_equal(len, cases[k].value);
			assert_int_equal(p[0], 'x');
			break;
		default:
			if (cases[k].type == CTL_CODEC_MAP)
				assert_int_equal(ctl_codec_get_map(&r, &n), 0);
			else
				assert_int_equal(ctl_codec_get_array(&r, &n), 0);
			assert_int_equal(n, cases[k].value);
			assert_int_equal(ctl_codec_skip(&r), 0);
			if (cases[k].type == CTL_CODEC_MAP)
				assert_int_equal(ctl_codec_skip(&r), 0);
			break;
		}
		assert_int_equal(ctl_codec_reader_end(&r), 0);

		ctl_codec_reader_init(&r, cases[k].enc, cases[k].len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_peek(&r), -EBADMSG);
		assert_int_equal(ctl_codec_skip(&r), -EBADMSG);
		assert_int_equal(r.cr_pos, 0);
	}
}

static void test_canonical_map_order(void **state)
{
	/* {2: nil, 1: nil} and {1: nil, 1: nil} and {"a": nil} */
	static const uint8_t unsorted[] = {0x82, 0x02, 0xc0, 0x01, 0xc0};
	static const uint8_t dup[] = {0x82, 0x01, 0xc0, 0x01, 0xc0};
	static const uint8_t strkey[] = {0x81, 0xa1, 'a', 0xc0};
	static const uint8_t sorted[] = {0x82, 0x01, 0xc0, 0x02, 0xc0};
	const uint8_t *bad[] = {unsorted, dup};
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	uint64_t key;
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		ctl_codec_reader_init(&r, bad[k], 5, 0);
		assert_int_equal(ctl_codec_skip(&r), 0);
		ctl_codec_reader_init(&r, bad[k], 5, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_skip(&r), -EBADMSG);
		assert_int_equal(ctl_codec_map_begin(&r, &m), 0);
		assert_int_equal(ctl_codec_map_next(&r, &m, &key), 1);
		assert_int_equal(ctl_codec_get_nil(&r), 0);
		assert_int_equal(ctl_codec_map_next(&r, &m, &key), -EBADMSG);
		/* lenient: both keys come through */
		ctl_codec_reader_init(&r, bad[k], 5, 0);
		assert_int_equal(ctl_codec_map_begin(&r, &m), 0);
		assert_int_equal(ctl_codec_map_next(&r, &m, &key), 1);
		assert_int_equal(ctl_codec_skip(&r), 0);
		assert_int_equal(ctl_codec_map_next(&r, &m, &key), 1);
		assert_int_equal(ctl_codec_skip(&r), 0);
		assert_int_equal(ctl_codec_map_next(&r, &m, &key), 0);
	}
	ctl_codec_reader_init(&r, sorted, sizeof(sorted), CTL_CODEC_CANONICAL);
	assert_int_equal(ctl_codec_skip(&r), 0);
	ctl_codec_reader_init(&r, strkey, sizeof(strkey), 0);
	assert_int_equal(ctl_codec_skip(&r), 0);
	ctl_codec_reader_init(&r, strkey, sizeof(strkey), CTL_CODEC_CANONICAL);
	assert_int_equal(ctl_codec_skip(&r), -EBADMSG);
	ctl_codec_reader_init(&r, strkey, sizeof(strkey), 0);
	assert_int_equal(ctl_codec_map_begin(&r, &m), 0);
	assert_int_equal(ctl_codec_map_next(&r, &m, &key), -EINVAL);
}

/* A value using every type, nested. */
static uint8_t *sample(size_t *len)
{
	struct ctl_codec_writer w;
	static uint8_t blob[300];

	memset(blob, 0xab, sizeof(blob));
	ctl_codec_writer_init_dynamic(&w, BIG);
	ctl_codec_put_map(&w, 6);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_uint(&w, 0x123456789ull);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_int(&w, -40000);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_str(&w, "hello, world: a string over 31 bytes", 36);
	ctl_codec_put_uint(&w, 4);
	ctl_codec_put_bin(&w, blob, sizeof(blob));
	ctl_codec_put_uint(&w, 5);
	ctl_codec_put_array(&w, 4);
	ctl_codec_put_nil(&w);
	ctl_codec_put_bool(&w, true);
	ctl_codec_put_map(&w, 1);
	ctl_codec_put_uint(&w, 9);
	ctl_codec_put_array(&w, 0);
	ctl_codec_put_uint(&w, 300);
	ctl_codec_put_uint(&w, 200);
	ctl_codec_put_int(&w, -3);
	return ctl_codec_writer_take(&w, len);
}

static void test_every_truncation_rejected(void **state)
{
	struct ctl_codec_reader r;
	uint8_t *buf, *copy;
	size_t len, cut;
	uint64_t key;
	struct ctl_codec_map m;
	int err;

	(void)state;
	buf = sample(&len);
	assert_non_null(buf);
	ctl_codec_reader_init(&r, buf, len, CTL_CODEC_CANONICAL);
	assert_int_equal(ctl_codec_skip(&r), 0);
	assert_int_equal(ctl_codec_reader_end(&r), 0);
	for (cut = 0; cut < len; cut++) {
		/* an exact-size copy so ASan sees any read past the cut */
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, buf, cut);
		ctl_codec_reader_init(&r, copy, cut, 0);
		assert_int_equal(ctl_codec_skip(&r), -EBADMSG);
		assert_int_equal(r.cr_pos, 0);
		/* walking it field by field fails somewhere, cleanly */
		ctl_codec_reader_init(&r, copy, cut, 0);
		err = ctl_codec_map_begin(&r, &m);
		while (!err && (err = ctl_codec_map_next(&r, &m, &key)) > 0)
			err = ctl_codec_skip(&r);
		if (!err)
			err = ctl_codec_reader_end(&r);
		assert_int_equal(err, -EBADMSG);
		free(copy);
	}
	free(buf);
}

/* A reader that knows keys 1 and 3 reads a message from a newer writer. */
static void test_skip_unknown_keys(void **state)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	const char *s = NULL;
	uint64_t key, a = 0;
	size_t len, slen = 0;
	unsigned skipped = 0;
	uint8_t *buf;
	int err;

	(void)state;
	buf = sample(&len);
	assert_non_null(buf);
	ctl_codec_reader_init(&r, buf, len, CTL_CODEC_CANONICAL);
	assert_int_equal(ctl_codec_map_begin(&r, &m), 0);
	while ((err = ctl_codec_map_next(&r, &m, &key)) > 0) {
		switch (key) {
		case 1:
			err = ctl_codec_get_uint(&r, &a);
			break;
		case 3:
			err = ctl_codec_get_str(&r, &s, &slen);
			break;
		default:
			err = ctl_codec_skip(&r);
			skipped++;
			break;
		}
		assert_int_equal(err, 0);
	}
	assert_int_equal(err, 0);
	assert_int_equal(ctl_codec_reader_end(&r), 0);
	assert_true(a == 0x123456789ull);
	assert_int_equal(slen, 36);
	assert_memory_equal(s, "hello, world", 12);
	assert_int_equal(skipped, 4);
	free(buf);
}

static void test_depth_cap(void **state)
{
	uint8_t buf[100000];
	struct ctl_codec_reader r;

	(void)state;
	/* CTL_CODEC_MAX_DEPTH nested one-element arrays around a nil: fine */
	memset(buf, 0x91, CTL_CODEC_MAX_DEPTH);
	buf[CTL_CODEC_MAX_DEPTH] = 0xc0;
	ctl_codec_reader_init(&r, buf, CTL_CODEC_MAX_DEPTH + 1, CTL_CODEC_CANONICAL);
	assert_int_equal(ctl_codec_skip(&r), 0);
	/* one more level: refused */
	memset(buf, 0x91, CTL_CODEC_MAX_DEPTH + 1);
	buf[CTL_CODEC_MAX_DEPTH + 1] = 0xc0;
	ctl_codec_reader_init(&r, buf, CTL_CODEC_MAX_DEPTH + 2, 0);
	assert_int_equal(ctl_codec_skip(&r), -ELOOP);
	assert_int_equal(r.cr_pos, 0);
	/* maps too, and a very deep input does not hurt the stack */
	memset(buf, 0x81, sizeof(buf));
	ctl_codec_reader_init(&r, buf, sizeof(buf), 0);
	assert_int_equal(ctl_codec_skip(&r), -ELOOP);
}

static void test_lying_lengths(void **state)
{
	static const struct {
		const char *enc;
		size_t len;
	} cases[] = {
		{"\xdd\xff\xff\xff\xff\xc0", 6},	 /* array of 4G elements */
		{"\xdf\x00\x00\x00\x02\x01\xc0\x02", 8}, /* map of 2 pairs, 1.5 present */
		{"\xc6\xff\xff\xff\xff", 5},
		{"\xdb\x00\x00\x01\x00xx", 7},
		{"\xc9\x00\x00\x00\x04\x01xyz", 9},
		{"\xc1", 1}, /* never used */
		{"\xcb\x00\x00", 3},
	};
	struct ctl_codec_reader r;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		ctl_codec_reader_init(&r, cases[k].enc, cases[k].len, 0);
		assert_int_equal(ctl_codec_skip(&r), -EBADMSG);
		assert_int_equal(r.cr_pos, 0);
	}
}

/* float and ext are skippable (lenient) but never readable or canonical. */
static void test_float_ext(void **state)
{
	static const uint8_t enc[] = {0x93, 0xca, 0,	0,    0,    0,	  0xd5, 0x01,
				      0xaa, 0xbb, 0xc7, 0x02, 0x05, 0x11, 0x22};
	struct ctl_codec_reader r;
	uint64_t v;
	uint32_t n;

	(void)state;
	ctl_codec_reader_init(&r, enc, sizeof(enc), 0);
	assert_int_equal(ctl_codec_skip(&r), 0);
	assert_int_equal(ctl_codec_reader_end(&r), 0);
	ctl_codec_reader_init(&r, enc, sizeof(enc), 0);
	assert_int_equal(ctl_codec_get_array(&r, &n), 0);
	assert_int_equal(ctl_codec_peek(&r), CTL_CODEC_OTHER);
	assert_int_equal(ctl_codec_get_uint(&r, &v), -EINVAL);
	ctl_codec_reader_init(&r, enc, sizeof(enc), CTL_CODEC_CANONICAL);
	assert_int_equal(ctl_codec_skip(&r), -EBADMSG);
}

static void test_writer_limits(void **state)
{
	struct ctl_codec_writer w;
	uint8_t buf[4];
	uint8_t *out;
	size_t len;

	(void)state;
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(ctl_codec_put_uint(&w, 1000), 0);
	assert_int_equal(ctl_codec_put_uint(&w, 1000), -ENOBUFS);
	/* sticky: even a write that would fit fails now */
	assert_int_equal(ctl_codec_put_nil(&w), -ENOBUFS);
	assert_int_equal(ctl_codec_writer_error(&w), -ENOBUFS);
	assert_int_equal(w.cw_len, 3);

	ctl_codec_writer_init_dynamic(&w, 100);
	assert_int_equal(ctl_codec_put_bin(&w, buf, 4), 0);
	assert_int_equal(ctl_codec_put_str(&w, (const char *)buf, 200), -EMSGSIZE);
	out = ctl_codec_writer_take(&w, &len);
	assert_null(out);
	assert_int_equal(len, 0);

	ctl_codec_writer_init_dynamic(&w, 100);
	assert_int_equal(ctl_codec_put_array(&w, 2), 0);
	out = ctl_codec_writer_take(&w, &len);
	assert_non_null(out);
	assert_int_equal(len, 1);
	assert_int_equal(out[0], 0x92);
	free(out);
}

/* Re-encoding what a canonical reader accepted gives the same bytes. */
static void test_canonical_reencode(void **state)
{
	struct ctl_codec_writer w;
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	uint8_t *buf, out[1024];
	const uint8_t *b;
	size_t len, blen;
	uint64_t key, u;
	int64_t i;

	(void)state;
	ctl_codec_writer_init_dynamic(&w, 1024);
	ctl_codec_put_map(&w, 3);
	ctl_codec_put_uint(&w, 0);
	ctl_codec_put_int(&w, -200);
	ctl_codec_put_uint(&w, 7);
	ctl_codec_put_uint(&w, 70000);
	ctl_codec_put_uint(&w, 300);
	ctl_codec_put_bin(&w, "abc", 3);
	buf = ctl_codec_writer_take(&w, &len);
	assert_non_null(buf);

	ctl_codec_reader_init(&r, buf, len, CTL_CODEC_CANONICAL);
	ctl_codec_writer_init(&w, out, sizeof(out));
	assert_int_equal(ctl_codec_map_begin(&r, &m), 0);
	ctl_codec_put_map(&w, 3);
	assert_int_equal(ctl_codec_map_next(&r, &m, &key), 1);
	ctl_codec_put_uint(&w, key);
	assert_int_equal(ctl_codec_get_int(&r, &i), 0);
	ctl_codec_put_int(&w, i);
	assert_int_equal(ctl_codec_map_next(&r, &m, &key), 1);
	ctl_codec_put_uint(&w, key);
	assert_int_equal(ctl_codec_get_uint(&r, &u), 0);
	ctl_codec_put_uint(&w, u);
	assert_int_equal(ctl_codec_map_next(&r, &m, &key), 1);
	ctl_codec_put_uint(&w, key);
	assert_int_equal(ctl_codec_get_bin(&r, &b, &blen), 0);
	ctl_codec_put_bin(&w, b, blen);
	assert_int_equal(ctl_codec_map_next(&r, &m, &key), 0);
	assert_int_equal(ctl_codec_writer_error(&w), 0);
	assert_int_equal(w.cw_len, len);
	assert_memory_equal(out, buf, len);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint_boundaries),
		cmocka_unit_test(test_int_boundaries),
		cmocka_unit_test(test_nil_bool),
		cmocka_unit_test(test_bytes_boundaries),
		cmocka_unit_test(test_container_boundaries),
		cmocka_unit_test(test_canonical_rejects_long_forms),
		cmocka_unit_test(test_canonical_map_order),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_skip_unknown_keys),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_float_ext),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_canonical_reencode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
