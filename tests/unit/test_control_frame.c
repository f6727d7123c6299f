/* Control frame wire format: fragmentation arithmetic, round trips, every
 * truncation and every bad header rejected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/frame.h"

static uint8_t msg[1 << 20];

static void fill_msg(void)
{
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 31 + (i >> 8));
}

/* Fragment I of a TOTAL-byte message sent in frames of MAX bytes. */
static int make_data(uint8_t *buf, size_t cap, uint32_t total, size_t max, uint32_t i)
{
	struct ctl_frame_data d = {
		.fd_epoch = 0xdeadbeef, .fd_base = 7, .fd_seq = 0x01020304, .fd_msg_id = 9};
	uint32_t off, len;

	d.fd_total_len = total;
	d.fd_count = (uint16_t)ctl_frame_frag_count(total, max);
	d.fd_index = (uint16_t)i;
	if (ctl_frame_frag_span(total, d.fd_count, i, &off, &len))
		return -EINVAL;
	d.fd_payload = msg + off;
	d.fd_payload_len = len;
	return ctl_frame_encode_data(buf, cap, &d);
}

static void test_fragment_arithmetic(void **state)
{
	static const struct {
		uint32_t total;
		size_t max;
		uint32_t count;
	} cases[] = {
		{0, 1420, 1},	 {1, 1420, 1},	       {1394, 1420, 1},	     {1395, 1420, 2},
		{1500, 1420, 2}, {1 << 20, 1420, 753}, {1 << 20, 64, 27595}, {1 << 20, 26, 0},
		{100, 27, 100},	 {65536, 27, 0},
	};
	uint32_t count, i, off, len, next;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		count = ctl_frame_frag_count(cases[k].total, cases[k].max);
		assert_int_equal(count, cases[k].count);
		if (!count)
			continue;
		/* fragments tile the message, fit the frame, sizes differ by <= 1 */
		for (i = 0, next = 0; i < count; i++) {
			assert_int_equal(ctl_frame_frag_span(cases[k].total, count, i, &off, &len),
					 0);
			assert_int_equal(off, next);
			assert_true(len + CTL_FRAME_DATA_HDR <= cases[k].max);
			assert_true(cases[k].total == 0 || len >= 1);
			next += len;
		}
		assert_int_equal(next, cases[k].total);
	}
	assert_int_equal(ctl_frame_frag_span(10, 0, 0, &off, &len), -EBADMSG);
	assert_int_equal(ctl_frame_frag_span(10, 2, 2, &off, &len), -EBADMSG);
	assert_int_equal(ctl_frame_frag_span(0, 2, 0, &off, &len), -EBADMSG);
	/* 5 bytes in 4 fragments of 2 would leave the last one empty */
	assert_int_equal(ctl_frame_frag_span(5, 4, 0, &off, &len), -EBADMSG);
	assert_int_equal(ctl_frame_frag_span(5, 5, 4, &off, &len), 0);
	assert_int_equal(ctl_frame_frag_span(70000, 65536, 0, &off, &len), -EBADMSG);
}

static void test_data_round_trip(void **state)
{
	static const uint32_t totals[] = {0, 1, 1394, 1395, 5000, 1 << 20};
	uint8_t buf[1420];
	struct ctl_frame f;
	uint32_t count, i, off, len;
	size_t k;
	int n;

	(void)state;
	fill_msg();
	for (k = 0; k < sizeof(totals) / sizeof(totals[0]); k++) {
		count = ctl_frame_frag_count(totals[k], sizeof(buf));
		for (i = 0; i < count; i++) {
			n = make_data(buf, sizeof(buf), totals[k], sizeof(buf), i);
			assert_true(n >= CTL_FRAME_DATA_HDR);
			assert_int_equal(buf[0], 0x01);
			assert_int_equal(buf[1], 0x11);
			assert_int_equal(ctl_frame_decode(buf, (size_t)n, &f), 0);
			assert_int_equal(f.f_type, CTL_FRAME_DATA);
			assert_int_equal(f.f_data.fd_epoch, 0xdeadbeef);
			assert_int_equal(f.f_data.fd_base, 7);
			assert_int_equal(f.f_data.fd_seq, 0x01020304);
			assert_int_equal(f.f_data.fd_msg_id, 9);
			assert_int_equal(f.f_data.fd_total_len, totals[k]);
			assert_int_equal(f.f_data.fd_index, i);
			assert_int_equal(f.f_data.fd_count, count);
			ctl_frame_frag_span(totals[k], count, i, &off, &len);
			assert_int_equal(f.f_data.fd_payload_len, len);
			assert_ptr_equal(f.f_data.fd_payload, buf + CTL_FRAME_DATA_HDR);
			if (len)
				assert_memory_equal(f.f_data.fd_payload, msg + off, len);
		}
	}
}

static void test_data_layout(void **state)
{
	static const uint8_t want[] = {
		0x01, 0x11,		/* marker, version 1 / DATA */
		0xde, 0xad, 0xbe, 0xef, /* epoch */
		0,    0,    0,	  7,	/* base */
		0xa0, 0xb0, 0xc0, 0xd0, /* seq */
		0,    0,    0,	  9,	/* msg_id */
		0,    0,    0,	  3,	/* total_len */
		0,    0,		/* index */
		0,    1,		/* count */
		'a',  'b',  'c',
	};
	struct ctl_frame_data d = {.fd_epoch = 0xdeadbeef,
				   .fd_base = 7,
				   .fd_seq = 0xa0b0c0d0,
				   .fd_msg_id = 9,
				   .fd_total_len = 3,
				   .fd_index = 0,
				   .fd_count = 1,
				   .fd_payload = (const uint8_t *)"abc",
				   .fd_payload_len = 3};
	uint8_t buf[64];

	(void)state;
	assert_int_equal(ctl_frame_encode_data(buf, sizeof(buf), &d), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* not enough room, or a payload that is not the fragment's span */
	assert_int_equal(ctl_frame_encode_data(buf, CTL_FRAME_DATA_HDR + 2, &d), -EMSGSIZE);
	d.fd_payload_len = 2;
	assert_int_equal(ctl_frame_encode_data(buf, sizeof(buf), &d), -EINVAL);
	d.fd_payload_len = 3;
	d.fd_epoch = 0;
	assert_int_equal(ctl_frame_encode_data(buf, sizeof(buf), &d), -EINVAL);
}

static void test_ack_round_trip(void **state)
{
	struct ctl_frame_range ranges[3] = {
		{.fr_msg_id = 5, .fr_lo = 0, .fr_hi = CTL_FRAME_ACK_ALL},
		{.fr_msg_id = 6, .fr_lo = 3, .fr_hi = 3},
		{.fr_msg_id = 0xffffffff, .fr_lo = 10, .fr_hi = 700},
	};
	struct ctl_frame_range r;
	uint8_t buf[64];
	struct ctl_frame f;
	size_t i;
	int n;

	(void)state;
	n = ctl_frame_encode_ack(buf, sizeof(buf), 77, 4, 0x55667788, ranges, 3);
	assert_int_equal(n, CTL_FRAME_ACK_HDR + 3 * CTL_FRAME_RANGE_LEN);
	assert_int_equal(buf[1], 0x12);
	assert_int_equal(ctl_frame_decode(buf, (size_t)n, &f), 0);
	assert_int_equal(f.f_type, CTL_FRAME_ACK);
	assert_int_equal(f.f_ack.fa_epoch, 77);
	assert_int_equal(f.f_ack.fa_cum, 4);
	assert_int_equal(f.f_ack.fa_echo, 0x55667788);
	assert_int_equal(f.f_ack.fa_nranges, 3);
	for (i = 0; i < 3; i++) {
		ctl_frame_ack_range(&f.f_ack, i, &r);
		assert_int_equal(r.fr_msg_id, ranges[i].fr_msg_id);
		assert_int_equal(r.fr_lo, ranges[i].fr_lo);
		assert_int_equal(r.fr_hi, ranges[i].fr_hi);
	}
	/* cumulative only */
	n = ctl_frame_encode_ack(buf, sizeof(buf), 77, 0xffffffff, 1, NULL, 0);
	assert_int_equal(n, CTL_FRAME_ACK_HDR);
	assert_int_equal(ctl_frame_decode(buf, (size_t)n, &f), 0);
	assert_int_equal(f.f_ack.fa_cum, 0xffffffff);
	assert_int_equal(f.f_ack.fa_nranges, 0);

	assert_int_equal(ctl_frame_ack_capacity(1420), (1420 - CTL_FRAME_ACK_HDR) / 8);
	assert_int_equal(ctl_frame_encode_ack(buf, CTL_FRAME_ACK_HDR + 8 * 2, 77, 4, 1, ranges, 3),
			 -EMSGSIZE);
	assert_int_equal(ctl_frame_encode_ack(buf, CTL_FRAME_ACK_HDR - 1, 77, 4, 1, NULL, 0),
			 -EMSGSIZE);
	ranges[1].fr_lo = 4;
	ranges[1].fr_hi = 3;
	assert_int_equal(ctl_frame_encode_ack(buf, sizeof(buf), 77, 4, 1, ranges, 3), -EINVAL);
}

/* Each shorter prefix of FRAME is rejected, read from an exact-size copy. */
static void check_truncations(const uint8_t *frame, size_t len)
{
	struct ctl_frame f;
	uint8_t *copy;
	size_t cut;

	for (cut = 0; cut < len; cut++) {
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, frame, cut);
		assert_int_equal(ctl_frame_decode(copy, cut, &f), -EBADMSG);
		free(copy);
	}
}

static void test_every_truncation_rejected(void **state)
{
	struct ctl_frame_range ranges[2] = {{1, 0, 5}, {2, 7, 9}};
	uint8_t buf[1420];
	int n;

	(void)state;
	fill_msg();
	n = make_data(buf, sizeof(buf), 5000, sizeof(buf), 0);
	check_truncations(buf, (size_t)n);
	n = make_data(buf, sizeof(buf), 5000, sizeof(buf), 3);
	check_truncations(buf, (size_t)n);
	n = make_data(buf, sizeof(buf), 0, sizeof(buf), 0);
	check_truncations(buf, (size_t)n);
	n = ctl_frame_encode_ack(buf, sizeof(buf), 1, 2, 3, ranges, 2);
	check_truncations(buf, (size_t)n);
	n = ctl_frame_encode_ack(buf, sizeof(buf), 1, 2, 3, NULL, 0);
	check_truncations(buf, (size_t)n);
}

static void test_bad_headers_rejected(void **state)
{
	struct ctl_frame_range ranges[1] = {{1, 0, 5}};
	uint8_t data[64], ack[64], bad[64];
	struct ctl_frame f;
	int nd, na;

	(void)state;
	fill_msg();
	nd = make_data(data, sizeof(data), 10, sizeof(data), 0);
	na = ctl_frame_encode_ack(ack, sizeof(ack), 1, 2, 3, ranges, 1);
	assert_true(nd > 0 && na > 0);

	/* marker: IPv4, IPv6, zero, and 0x02 */
	memcpy(bad, data, (size_t)nd);
	bad[0] = 0x45;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EBADMSG);
	bad[0] = 0x60;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EBADMSG);
	bad[0] = 0x00;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EBADMSG);
	bad[0] = 0x02;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EBADMSG);
	/* version and type */
	memcpy(bad, data, (size_t)nd);
	bad[1] = 0x21;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EPROTONOSUPPORT);
	bad[1] = 0x01;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EPROTONOSUPPORT);
	bad[1] = 0x10;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EPROTONOSUPPORT);
	bad[1] = 0x13;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EPROTONOSUPPORT);
	/* DATA: zero epoch, index past count, a trailing byte, count 0 */
	memcpy(bad, data, (size_t)nd);
	memset(bad + 2, 0, 4);
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EBADMSG);
	memcpy(bad, data, (size_t)nd);
	bad[23] = 1;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EBADMSG);
	memcpy(bad, data, (size_t)nd);
	bad[nd] = 0;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd + 1, &f), -EBADMSG);
	memcpy(bad, data, (size_t)nd);
	bad[25] = 0;
	assert_int_equal(ctl_frame_decode(bad, (size_t)nd, &f), -EBADMSG);
	/* ACK: zero epoch, lo > hi, count that disagrees with the length */
	memcpy(bad, ack, (size_t)na);
	memset(bad + 2, 0, 4);
	assert_int_equal(ctl_frame_decode(bad, (size_t)na, &f), -EBADMSG);
	memcpy(bad, ack, (size_t)na);
	bad[CTL_FRAME_ACK_HDR + 5] = 6; /* lo = 6 > hi = 5 */
	assert_int_equal(ctl_frame_decode(bad, (size_t)na, &f), -EBADMSG);
	memcpy(bad, ack, (size_t)na);
	bad[15] = 2;
	assert_int_equal(ctl_frame_decode(bad, (size_t)na, &f), -EBADMSG);
	memset(bad + na, 0, 8);
	assert_int_equal(ctl_frame_decode(bad, (size_t)na + 8, &f), 0);
	assert_int_equal(ctl_frame_decode(ack, (size_t)na, &f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragment_arithmetic),
		cmocka_unit_test(test_data_round_trip),
		cmocka_unit_test(test_data_layout),
		cmocka_unit_test(test_ack_round_trip),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_bad_headers_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
