/* STUN Binding: the RFC 5769 sample messages, a request → response → parse
 * round trip for both families, and hostile input: every truncation, wrong
 * cookie, wrong transaction id, attribute lengths that run past the end;
 * and the RFC 3489 request Debian's `stun` client sends, with its answer.
 *
 * MESSAGE-INTEGRITY in the samples is not checked: the module has no
 * credentials and does not verify it (see path/stun.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "path/endpoint.h"
#include "path/stun.h"

/* RFC 5769 §2.1: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
 * MESSAGE-INTEGRITY, FINGERPRINT. */
static const uint8_t rfc_request[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e,
	0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24,
	0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
	0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68,
	0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5,
	0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2: SOFTWARE, XOR-MAPPED-ADDRESS 192.0.2.1:32853,
 * MESSAGE-INTEGRITY, FINGERPRINT. */
static const uint8_t rfc_response_v4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
	0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b,
	0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 §2.3: the same with XOR-MAPPED-ADDRESS
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc_response_v6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02,
	0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5,
	0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6,
	0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const uint8_t rfc_txid[STUN_TXID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
						0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

/* ---- a small message builder for hand-made cases ---- */

struct msg {
	uint8_t b[256];
	size_t len;
};

static void msg_set_len(struct msg *m)
{
	m->b[2] = (uint8_t)((m->len - STUN_HEADER_LEN) >> 8);
	m->b[3] = (uint8_t)(m->len - STUN_HEADER_LEN);
}

static void msg_init(struct msg *m, uint16_t type, const uint8_t txid[STUN_TXID_LEN])
{
	memset(m, 0, sizeof(*m));
	m->b[0] = (uint8_t)(type >> 8);
	m->b[1] = (uint8_t)type;
	m->b[4] = 0x21;
	m->b[5] = 0x12;
	m->b[6] = 0xa4;
	m->b[7] = 0x42;
	memcpy(m->b + 8, txid, STUN_TXID_LEN);
	m->len = STUN_HEADER_LEN;
}

/* Attribute TYPE with VLEN bytes of V, zero-padded to 4. */
static void msg_attr(struct msg *m, uint16_t type, const void *v, size_t vlen)
{
	m->b[m->len] = (uint8_t)(type >> 8);
	m->b[m->len + 1] = (uint8_t)type;
	m->b[m->len + 2] = (uint8_t)(vlen >> 8);
	m->b[m->len + 3] = (uint8_t)vlen;
	memcpy(m->b + m->len + 4, v, vlen);
	m->len += 4 + ((vlen + 3) & ~(size_t)3);
	msg_set_len(m);
}

static void msg_fingerprint(struct msg *m)
{
	uint8_t v[4] = {0};
	uint32_t fp;

	msg_attr(m, 0x8028, v, 4);
	fp = stun_fingerprint(m->b, m->len - 8);
	m->b[m->len - 4] = (uint8_t)(fp >> 24);
	m->b[m->len - 3] = (uint8_t)(fp >> 16);
	m->b[m->len - 2] = (uint8_t)(fp >> 8);
	m->b[m->len - 1] = (uint8_t)fp;
}

static void assert_endpoint_text(const struct endpoint *ep, const char *want)
{
	char text[ENDPOINT_TEXT_MAX];

	endpoint_format(ep, text);
	assert_string_equal(text, want);
}

/* ---- RFC 5769 ---- */

static void test_rfc5769_fingerprints(void **state)
{
	(void)state;
	/* CRC-32 check value of "123456789" is 0xcbf43926. */
	assert_int_equal(stun_fingerprint((const uint8_t *)"123456789", 9),
			 0xcbf43926u ^ 0x5354554eu);
	assert_int_equal(stun_fingerprint(rfc_request, sizeof(rfc_request) - 8), 0xe57a3bcfu);
	assert_int_equal(stun_fingerprint(rfc_response_v4, sizeof(rfc_response_v4) - 8),
			 0xc07d4c96u);
	assert_int_equal(stun_fingerprint(rfc_response_v6, sizeof(rfc_response_v6) - 8),
			 0xc8fb0b4cu);
}

static void test_rfc5769_request(void **state)
{
	uint8_t buf[sizeof(rfc_request)];

	(void)state;
	/* USERNAME, PRIORITY (comprehension-required) and an unchecked
	 * MESSAGE-INTEGRITY do not stop a Binding Request. */
	assert_true(stun_is_binding_request(rfc_request, sizeof(rfc_request)));
	assert_false(stun_is_binding_request(rfc_response_v4, sizeof(rfc_response_v4)));
	/* one changed bit anywhere before FINGERPRINT breaks it */
	memcpy(buf, rfc_request, sizeof(buf));
	buf[30] ^= 0x01; /* inside SOFTWARE */
	assert_false(stun_is_binding_request(buf, sizeof(buf)));
	memcpy(buf, rfc_request, sizeof(buf));
	buf[sizeof(buf) - 1] ^= 0x80; /* the FINGERPRINT itself */
	assert_false(stun_is_binding_request(buf, sizeof(buf)));
}

static void test_rfc5769_response_v4(void **state)
{
	struct endpoint ep;

	(void)state;
	assert_int_equal(stun_parse_binding_response(rfc_response_v4, sizeof(rfc_response_v4),
						     rfc_txid, &ep),
			 0);
	assert_endpoint_text(&ep, "192.0.2.1:32853");
	assert_true(IN6_IS_ADDR_V4MAPPED(&ep.sin6.sin6_addr));
	assert_int_equal(ep.sin6.sin6_family, AF_INET6);
}

static void test_rfc5769_response_v6(void **state)
{
	struct endpoint ep, want;

	(void)state;
	assert_int_equal(stun_parse_binding_response(rfc_response_v6, sizeof(rfc_response_v6),
						     rfc_txid, &ep),
			 0);
	assert_endpoint_text(&ep, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	assert_int_equal(endpoint_parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853", &want), 0);
	assert_true(endpoint_equal(&ep, &want));
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
	static const char *const addrs[] = {
		"192.0.2.1:32853", "203.0.113.9:65535",
		"1.2.3.4:1",	   "[2001:db8::1]:443",
		"[fe80::1]:1",	   "[2001:db8:1234:5678:11:2233:4455:6677]:32853",
	};
	uint8_t txid[STUN_TXID_LEN], req[STUN_REQUEST_MAX], resp[STUN_RESPONSE_MAX];
	struct endpoint observed, got;
	size_t req_len, resp_len, i;
	int fp;

	(void)state;
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		for (fp = 0; fp < 2; fp++) {
			memset(txid, (int)(i * 16 + (size_t)fp + 1), sizeof(txid));
			txid[0] = 0xa5;
			assert_int_equal(
				stun_build_binding_request(txid, fp, req, sizeof(req), &req_len),
				0);
			assert_int_equal(req_len, fp ? 28 : 20);
			assert_true(stun_is_binding_request(req, req_len));
			assert_int_equal(endpoint_parse(addrs[i], &observed), 0);
			assert_int_equal(stun_write_binding_response(req, req_len, &observed, resp,
								     sizeof(resp), &resp_len),
					 0);
			assert_int_equal(resp_len,
					 IN6_IS_ADDR_V4MAPPED(&observed.sin6.sin6_addr) ? 52 : 64);
			assert_false(stun_is_binding_request(resp, resp_len));
			assert_int_equal(stun_parse_binding_response(resp, resp_len, txid, &got),
					 0);
			assert_true(endpoint_equal(&got, &observed));
			assert_endpoint_text(&got, addrs[i]);
		}
	}
}

static void test_response_layout(void **state)
{
	uint8_t req[STUN_REQUEST_MAX], resp[STUN_RESPONSE_MAX];
	struct endpoint observed;
	size_t req_len, resp_len;

	(void)state;
	assert_int_equal(stun_build_binding_request(rfc_txid, false, req, sizeof(req), &req_len),
			 0);
	assert_int_equal(endpoint_parse("192.0.2.1:32853", &observed), 0);
	assert_int_equal(
		stun_write_binding_response(req, req_len, &observed, resp, sizeof(resp), &resp_len),
		0);
	/* header: success, length 32, cookie, the request's transaction id */
	assert_memory_equal(resp, "\x01\x01\x00\x20\x21\x12\xa4\x42", 8);
	assert_memory_equal(resp + 8, rfc_txid, STUN_TXID_LEN);
	/* XOR-MAPPED-ADDRESS as in RFC 5769 §2.2 */
	assert_memory_equal(resp + 20, "\x00\x20\x00\x08\x00\x01\xa1\x47\xe1\x12\xa6\x43", 12);
	/* SOFTWARE "rayfish", one zero byte of padding */
	assert_memory_equal(resp + 32, "\x80\x22\x00\x07rayfish\x00", 12);
	/* FINGERPRINT last */
	assert_memory_equal(resp + 44, "\x80\x28\x00\x04", 4);
}

static void test_response_in_place(void **state)
{
	uint8_t buf[STUN_RESPONSE_MAX], txid[STUN_TXID_LEN];
	struct endpoint observed, got;
	size_t len;

	(void)state;
	memset(txid, 0x5a, sizeof(txid));
	assert_int_equal(stun_build_binding_request(txid, true, buf, sizeof(buf), &len), 0);
	assert_int_equal(endpoint_parse("[2001:db8::7]:9", &observed), 0);
	assert_int_equal(stun_write_binding_response(buf, len, &observed, buf, sizeof(buf), &len),
			 0);
	assert_int_equal(stun_parse_binding_response(buf, len, txid, &got), 0);
	assert_true(endpoint_equal(&got, &observed));
}

static void test_buffer_too_small(void **state)
{
	uint8_t req[STUN_REQUEST_MAX], resp[STUN_RESPONSE_MAX];
	struct endpoint observed;
	size_t req_len, resp_len;

	(void)state;
	assert_int_equal(stun_build_binding_request(rfc_txid, true, req, 27, &req_len), -ENOBUFS);
	assert_int_equal(stun_build_binding_request(rfc_txid, false, req, 19, &req_len), -ENOBUFS);
	assert_int_equal(stun_build_binding_request(rfc_txid, false, req, 20, &req_len), 0);
	assert_int_equal(endpoint_parse("192.0.2.1:32853", &observed), 0);
	assert_int_equal(stun_write_binding_response(req, req_len, &observed, resp, 51, &resp_len),
			 -ENOBUFS);
	assert_int_equal(endpoint_parse("[::1]:1", &observed), 0);
	assert_int_equal(stun_write_binding_response(req, req_len, &observed, resp, 63, &resp_len),
			 -ENOBUFS);
	/* only Binding Requests get an answer */
	assert_int_equal(stun_write_binding_response(rfc_response_v4, sizeof(rfc_response_v4),
						     &observed, resp, sizeof(resp), &resp_len),
			 -EBADMSG);
	observed.sin6.sin6_family = AF_INET;
	assert_int_equal(
		stun_write_binding_response(req, req_len, &observed, resp, sizeof(resp), &resp_len),
		-EINVAL);
}

/* ---- hostile input ---- */

static void test_every_truncation(void **state)
{
	static const struct {
		const uint8_t *b;
		size_t len;
	} msgs[] = {
		{rfc_response_v4, sizeof(rfc_response_v4)},
		{rfc_response_v6, sizeof(rfc_response_v6)},
	};
	uint8_t req[STUN_REQUEST_MAX], resp[STUN_RESPONSE_MAX], copy[128];
	struct endpoint ep, observed;
	size_t req_len, resp_len, i, n;

	(void)state;
	for (i = 0; i < 2; i++)
		for (n = 0; n < msgs[i].len; n++) {
			/* a copy of exactly N bytes, so ASan sees any overread */
			memcpy(copy, msgs[i].b, n);
			assert_int_not_equal(stun_parse_binding_response(copy, n, rfc_txid, &ep),
					     0);
		}
	assert_int_equal(endpoint_parse("192.0.2.1:32853", &observed), 0);
	assert_int_equal(stun_build_binding_request(rfc_txid, true, req, sizeof(req), &req_len), 0);
	assert_int_equal(
		stun_write_binding_response(req, req_len, &observed, resp, sizeof(resp), &resp_len),
		0);
	for (n = 0; n < resp_len; n++)
		assert_int_equal(stun_parse_binding_response(resp, n, rfc_txid, &ep), -EBADMSG);
	for (n = 0; n < req_len; n++)
		assert_false(stun_is_binding_request(req, n));
	for (n = 0; n < sizeof(rfc_request); n++)
		assert_false(stun_is_binding_request(rfc_request, n));
	/* and trailing bytes are refused too */
	memcpy(copy, rfc_response_v4, sizeof(rfc_response_v4));
	copy[sizeof(rfc_response_v4)] = 0;
	assert_int_equal(
		stun_parse_binding_response(copy, sizeof(rfc_response_v4) + 1, rfc_txid, &ep),
		-EBADMSG);
	assert_int_equal(stun_parse_binding_response(NULL, 0, rfc_txid, &ep), -EBADMSG);
	assert_false(stun_is_binding_request(NULL, 0));
}

static void test_wrong_cookie(void **state)
{
	static const uint8_t xaddr[8] = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	struct endpoint ep;
	struct msg m;

	(void)state;
	/* without FINGERPRINT, so only the cookie is wrong */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), 0);
	m.b[7] ^= 0x01;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);

	msg_init(&m, 0x0001, rfc_txid);
	assert_true(stun_is_binding_request(m.b, m.len));
	m.b[4] = 0;
	assert_false(stun_is_binding_request(m.b, m.len));
}

static void test_wrong_transaction_id(void **state)
{
	uint8_t other[STUN_TXID_LEN];
	struct endpoint ep;
	size_t i;

	(void)state;
	for (i = 0; i < STUN_TXID_LEN; i++) {
		memcpy(other, rfc_txid, sizeof(other));
		other[i] ^= 0x40;
		assert_int_equal(stun_parse_binding_response(rfc_response_v4,
							     sizeof(rfc_response_v4), other, &ep),
				 -ESRCH);
	}
}

static void test_attribute_overflow(void **state)
{
	static const uint8_t xaddr[8] = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	struct endpoint ep;
	struct msg m;

	(void)state;
	/* XOR-MAPPED-ADDRESS claiming one byte more than the message holds,
	 * then 0xffff, then a length whose padding runs past the end */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	m.b[23] = 9;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	m.b[22] = 0xff;
	m.b[23] = 0xff;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	m.b[22] = 0;
	m.b[23] = 5; /* 5 + 3 padding = 8 fits: well-formed, but a bad address */
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);

	/* header length: not a multiple of 4, larger, smaller than the data */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	m.b[3] = 13;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	m.b[3] = 16;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	m.b[3] = 8;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	m.b[2] = 0xff;
	m.b[3] = 0xfc;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);

	/* a request with an attribute running past the end */
	msg_init(&m, 0x0001, rfc_txid);
	msg_attr(&m, 0x8022, "rayfish", 7);
	assert_true(stun_is_binding_request(m.b, m.len));
	m.b[23] = 9;
	assert_false(stun_is_binding_request(m.b, m.len));
}

static void test_fingerprint_rules(void **state)
{
	static const uint8_t xaddr[8] = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	struct endpoint ep;
	struct msg m;

	(void)state;
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	msg_fingerprint(&m);
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), 0);
	/* wrong value */
	m.b[m.len - 1] ^= 1;
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	/* not last */
	msg_init(&m, 0x0101, rfc_txid);
	msg_fingerprint(&m);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	/* wrong length */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	msg_attr(&m, 0x8028, "\0\0\0\0\0\0\0", 8);
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
}

static void test_response_kinds(void **state)
{
	static const uint8_t xaddr[8] = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	static const uint8_t plain[8] = {0x00, 0x01, 0x80, 0x55, 192, 0, 2, 1};
	static const uint8_t plain2[8] = {0x00, 0x01, 0x00, 0x07, 10, 0, 0, 1};
	static const uint8_t bad_family[8] = {0x00, 0x03, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	static const uint8_t v4_len20[20] = {0x00, 0x01, 0xa1, 0x47};
	static const uint8_t zero_port[8] = {0x00, 0x01, 0x21, 0x12, 0xe1, 0x12, 0xa6, 0x43};
	static const uint8_t error_code[8] = {0, 0, 4, 0, 'B', 'a', 'd', ' '};
	struct endpoint ep;
	struct msg m;

	(void)state;
	/* error response, indication, request, other method */
	msg_init(&m, 0x0111, rfc_txid);
	msg_attr(&m, 0x0009, error_code, sizeof(error_code));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -ENOMSG);
	msg_init(&m, 0x0011, rfc_txid);
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -ENOMSG);
	msg_init(&m, 0x0001, rfc_txid);
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -ENOMSG);
	msg_init(&m, 0x0103, rfc_txid);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -ENOMSG);
	/* top two bits set: not STUN */
	msg_init(&m, 0x4101, rfc_txid);
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);

	/* no address at all */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x8022, "x", 1);
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -ENOENT);
	/* MAPPED-ADDRESS alone (an RFC 3489-era server) */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0001, plain, sizeof(plain));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), 0);
	assert_endpoint_text(&ep, "192.0.2.1:32853");
	/* XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS, whatever the order */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0001, plain2, sizeof(plain2));
	msg_attr(&m, 0x0004, plain2, sizeof(plain2)); /* SOURCE-ADDRESS: ignored */
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), 0);
	assert_endpoint_text(&ep, "192.0.2.1:32853");
	/* of two XOR-MAPPED-ADDRESS the first counts */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	msg_attr(&m, 0x0020, zero_port, sizeof(zero_port));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), 0);
	/* unknown family: fall back to MAPPED-ADDRESS, else nothing usable */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, bad_family, sizeof(bad_family));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -ENOENT);
	msg_attr(&m, 0x0001, plain2, sizeof(plain2));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), 0);
	assert_endpoint_text(&ep, "10.0.0.1:7");
	/* wrong length for the family, port 0 */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, v4_len20, sizeof(v4_len20));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0020, zero_port, sizeof(zero_port));
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -EBADMSG);
	/* after MESSAGE-INTEGRITY only FINGERPRINT counts */
	msg_init(&m, 0x0101, rfc_txid);
	msg_attr(&m, 0x0008, v4_len20, sizeof(v4_len20));
	msg_attr(&m, 0x0020, xaddr, sizeof(xaddr));
	msg_fingerprint(&m);
	assert_int_equal(stun_parse_binding_response(m.b, m.len, rfc_txid, &ep), -ENOENT);
}

static void test_not_stun(void **state)
{
	/* a WireGuard handshake initiation's first bytes, zero-filled to 148 */
	uint8_t wg[148] = {0x01, 0x00, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
	struct endpoint ep;

	(void)state;
	assert_false(stun_is_binding_request(wg, sizeof(wg)));
	assert_int_not_equal(stun_parse_binding_response(wg, sizeof(wg), rfc_txid, &ep), 0);
	memset(wg, 0, sizeof(wg));
	assert_false(stun_is_binding_request(wg, 20));
}

/* ---- RFC 3489 clients ---- */

/* What Debian's `stun` 0.97 sends first (captured): Binding Request, no
 * magic cookie (a 16-byte id), CHANGE-REQUEST with no flags. */
static const uint8_t classic_request[] = {
	0x00, 0x01, 0x00, 0x08, 0x01, 0x7a, 0x5f, 0x3b, 0x3c, 0xdb, 0x00, 0x12, 0xf9, 0x59,
	0x78, 0x67, 0xcd, 0x11, 0x0c, 0x08, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
};

static void test_classic_request(void **state)
{
	uint8_t req[sizeof(classic_request)], out[STUN_RESPONSE_MAX];
	struct endpoint ep;
	size_t len = 0;

	(void)state;
	memcpy(req, classic_request, sizeof(req));
	assert_true(stun_is_classic_binding_request(req, sizeof(req)));
	assert_false(stun_is_binding_request(req, sizeof(req)));
	assert_int_equal(stun_write_binding_response(req, sizeof(req), &ep, out, sizeof(out), &len),
			 -EBADMSG);
	/* its answer: MAPPED-ADDRESS 192.0.2.1:32853, the 16 id bytes, nothing else */
	assert_int_equal(endpoint_parse("192.0.2.1:32853", &ep), 0);
	assert_int_equal(
		stun_write_classic_binding_response(req, sizeof(req), &ep, out, sizeof(out), &len),
		0);
	assert_int_equal(len, 32);
	{
		static const uint8_t want[32] = {
			0x01, 0x01, 0x00, 0x0c, 0x01, 0x7a, 0x5f, 0x3b, 0x3c, 0xdb, 0x00,
			0x12, 0xf9, 0x59, 0x78, 0x67, 0xcd, 0x11, 0x0c, 0x08, 0x00, 0x01,
			0x00, 0x08, 0x00, 0x01, 0x80, 0x55, 0xc0, 0x00, 0x02, 0x01,
		};
		assert_memory_equal(out, want, sizeof(want));
	}
	/* IPv6 observed: family 2, 20-byte value */
	assert_int_equal(endpoint_parse("[2001:db8::7]:1", &ep), 0);
	assert_int_equal(
		stun_write_classic_binding_response(req, sizeof(req), &ep, out, sizeof(out), &len),
		0);
	assert_int_equal(len, STUN_CLASSIC_RESPONSE_MAX);
	assert_int_equal(out[25], 0x02);
	assert_int_equal(stun_write_classic_binding_response(req, sizeof(req), &ep, out, 43, &len),
			 -ENOBUFS);
	/* in place */
	assert_int_equal(endpoint_parse("192.0.2.1:32853", &ep), 0);
	memcpy(out, req, sizeof(req));
	assert_int_equal(
		stun_write_classic_binding_response(out, sizeof(req), &ep, out, sizeof(out), &len),
		0);
	assert_memory_equal(out + 4, classic_request + 4, 16);
	/* "change IP" or "change port": we cannot, so no answer */
	req[27] = 0x04;
	assert_false(stun_is_classic_binding_request(req, sizeof(req)));
	req[27] = 0x02;
	assert_false(stun_is_classic_binding_request(req, sizeof(req)));
	req[27] = 0x01; /* not a flag RFC 3489 defines */
	assert_true(stun_is_classic_binding_request(req, sizeof(req)));
	req[23] = 0x02; /* a CHANGE-REQUEST of the wrong size counts as asking */
	assert_false(stun_is_classic_binding_request(req, sizeof(req)));
	/* no attributes at all */
	memcpy(req, classic_request, STUN_HEADER_LEN);
	req[3] = 0;
	assert_true(stun_is_classic_binding_request(req, STUN_HEADER_LEN));
	/* truncated, a response, and an RFC 5389 request are not classic requests */
	for (size_t n = 0; n < sizeof(classic_request); n++)
		assert_false(stun_is_classic_binding_request(classic_request, n));
	memcpy(req, classic_request, sizeof(req));
	req[1] = 0x01;
	req[0] = 0x01;
	assert_false(stun_is_classic_binding_request(req, sizeof(req)));
	assert_false(stun_is_classic_binding_request(rfc_request, sizeof(rfc_request)));
	assert_int_equal(stun_write_classic_binding_response(rfc_request, sizeof(rfc_request), &ep,
							     out, sizeof(out), &len),
			 -EBADMSG);
	memset(&ep, 0, sizeof(ep));
	assert_int_equal(stun_write_classic_binding_response(classic_request,
							     sizeof(classic_request), &ep, out,
							     sizeof(out), &len),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_fingerprints),
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_response_v4),
		cmocka_unit_test(test_rfc5769_response_v6),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_response_layout),
		cmocka_unit_test(test_response_in_place),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_wrong_cookie),
		cmocka_unit_test(test_wrong_transaction_id),
		cmocka_unit_test(test_attribute_overflow),
		cmocka_unit_test(test_fingerprint_rules),
		cmocka_unit_test(test_response_kinds),
		cmocka_unit_test(test_not_stun),
		cmocka_unit_test(test_classic_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
