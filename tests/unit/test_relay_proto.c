/* The relay protocol codec: frames, HTTP upgrade heads, auth signatures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay/relay_proto.h"

#define REQ                                                                                        \
	"GET /relay HTTP/1.1\r\nHost: relay.example:3340\r\nUpgrade: rayfish-relay-1\r\n"          \
	"Connection: Upgrade\r\n\r\n"

static void test_frame_round_trip(void **state)
{
	static const size_t lens[] = {0, 1, 32, 100, 1500, 65535};
	uint8_t *buf = malloc(RELAY_PROTO_HEADER_LEN + 65535), *payload = malloc(65535);
	struct relay_frame f;

	(void)state;
	for (size_t i = 0; i < 65535; i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t split = lens[i] / 3;
		int n = relay_proto_frame_encode(RELAY_SEND, payload, split, payload + split,
						 lens[i] - split, buf, 3 + 65535);

		assert_int_equal(n, 3 + (int)lens[i]);
		assert_int_equal(buf[0], RELAY_SEND);
		assert_int_equal(buf[1] << 8 | buf[2], lens[i]);
		assert_int_equal(relay_proto_frame_decode(buf, (size_t)n, 65535, &f), n);
		assert_int_equal(f.type, RELAY_SEND);
		assert_int_equal(f.len, lens[i]);
		assert_ptr_equal(f.payload, buf + 3);
		if (lens[i])
			assert_memory_equal(f.payload, payload, lens[i]);
		/* every strict prefix is "need more", never a frame */
		for (size_t cut = 0; cut < (size_t)n; cut += (cut < 70 ? 1 : 4093))
			assert_int_equal(relay_proto_frame_decode(buf, cut, 65535, &f), 0);
		/* followed by another frame: only the first is taken */
		if (lens[i] < 1000) {
			buf[n] = RELAY_PING;
			assert_int_equal(relay_proto_frame_decode(buf, (size_t)n + 1, 65535, &f),
					 n);
		}
	}
	free(buf);
	free(payload);
}

static void test_frame_limits(void **state)
{
	uint8_t buf[16], big[70000] = {0};
	struct relay_frame f;

	(void)state;
	assert_int_equal(relay_proto_frame_encode(RELAY_PING, "12345678", 8, NULL, 0, buf, 10),
			 -ENOBUFS);
	assert_int_equal(relay_proto_frame_encode(RELAY_PING, "12345678", 8, NULL, 0, buf, 11), 11);
	assert_int_equal(
		relay_proto_frame_encode(RELAY_SEND, big, 65000, big, 1000, big, sizeof(big)),
		-EMSGSIZE);
	/* a header announcing more than the cap is an error as soon as it is seen */
	buf[0] = RELAY_SEND;
	buf[1] = 0x10;
	buf[2] = 0x01; /* 4097 */
	assert_int_equal(relay_proto_frame_decode(buf, 3, 4096, &f), -EMSGSIZE);
	assert_int_equal(relay_proto_frame_decode(buf, 3, 4097, &f), 0);
	assert_int_equal(relay_proto_frame_decode(buf, 2, 4096, &f), 0);
}

static void test_payload_parsers(void **state)
{
	uint8_t p[RELAY_PROTO_AUTH_LEN + 1] = {RELAY_PROTO_VERSION}, pk[32], nonce[32], sig[64];

	(void)state;
	for (size_t i = 1; i < sizeof(p); i++)
		p[i] = (uint8_t)i;
	assert_int_equal(relay_proto_parse_challenge(p, RELAY_PROTO_CHALLENGE_LEN, pk, nonce), 0);
	assert_memory_equal(pk, p + 1, 32);
	assert_memory_equal(nonce, p + 33, 32);
	for (size_t len = 0; len < RELAY_PROTO_CHALLENGE_LEN; len++)
		assert_int_equal(relay_proto_parse_challenge(p, len, pk, nonce), -EBADMSG);
	assert_int_equal(relay_proto_parse_challenge(p, RELAY_PROTO_CHALLENGE_LEN + 1, pk, nonce),
			 -EBADMSG);
	p[0] = 2;
	assert_int_equal(relay_proto_parse_challenge(p, RELAY_PROTO_CHALLENGE_LEN, pk, nonce),
			 -EPROTONOSUPPORT);
	assert_int_equal(relay_proto_parse_auth(p, RELAY_PROTO_AUTH_LEN, pk, sig), 0);
	assert_memory_equal(pk, p, 32);
	assert_memory_equal(sig, p + 32, 64);
	for (size_t len = 0; len <= sizeof(p); len++) {
		if (len != RELAY_PROTO_AUTH_LEN)
			assert_int_equal(relay_proto_parse_auth(p, len, pk, sig), -EBADMSG);
	}
}

static void test_auth_signature(void **state)
{
	uint8_t pk[32], sk[64], other_pk[32], other_sk[64], server[32], nonce[32], sig[64];
	uint8_t msg[20 + 64];

	(void)state;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(other_pk, other_sk);
	randombytes_buf(server, sizeof(server));
	randombytes_buf(nonce, sizeof(nonce));
	relay_proto_auth_sign(sk, server, nonce, sig);
	assert_int_equal(relay_proto_auth_verify(pk, server, nonce, sig), 0);
	/* the signed message is exactly context || server pk || nonce */
	memcpy(msg, "rayfish-relay-auth-1", 20);
	memcpy(msg + 20, server, 32);
	memcpy(msg + 52, nonce, 32);
	assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof(msg), pk), 0);

	assert_int_equal(relay_proto_auth_verify(other_pk, server, nonce, sig), -EPERM);
	nonce[5] ^= 1;
	assert_int_equal(relay_proto_auth_verify(pk, server, nonce, sig), -EPERM);
	nonce[5] ^= 1;
	server[31] ^= 0x80;
	assert_int_equal(relay_proto_auth_verify(pk, server, nonce, sig), -EPERM);
	server[31] ^= 0x80;
	for (size_t bit = 0; bit < 512; bit += 37) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(relay_proto_auth_verify(pk, server, nonce, sig), -EPERM);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* signed by another key but claiming ours */
	relay_proto_auth_sign(other_sk, server, nonce, sig);
	assert_int_equal(relay_proto_auth_verify(pk, server, nonce, sig), -EPERM);
	memset(sig, 0, sizeof(sig));
	assert_int_equal(relay_proto_auth_verify(pk, server, nonce, sig), -EPERM);
}

static int parse_req(const char *text, size_t *head)
{
	return relay_proto_http_request_parse((const uint8_t *)text, strlen(text), head);
}

static void test_http_request_good(void **state)
{
	static const char *good[] = {
		REQ,
		"GET /relay HTTP/1.1\r\nhost: x\r\nupgrade: RAYFISH-RELAY-1\r\nconnection: "
		"keep-alive, Upgrade\r\nUser-Agent: t\r\n\r\n",
		"GET /relay HTTP/1.1\r\nConnection:upgrade\r\nUpgrade: h2c, rayfish-relay-1 \r\n"
		"X-Empty:\r\nHost: [::1]:1\r\n\r\n",
	};
	char buf[256];
	size_t head = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse_req(good[i], &head), 0);
		assert_int_equal(head, strlen(good[i]));
	}
	/* what our own client writes is what the server accepts */
	assert_int_equal(relay_proto_http_request_write("relay.example:3340", buf, sizeof(buf)),
			 (int)strlen(REQ));
	assert_string_equal(buf, REQ);
	assert_int_equal(relay_proto_http_request_write("a b", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(relay_proto_http_request_write("x:1\r\nEvil: 1", buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(relay_proto_http_request_write("relay.example:3340", buf, 20), -ENOBUFS);
	/* bytes after the head are not part of it */
	snprintf(buf, sizeof(buf), "%s\x02\x01", REQ);
	assert_int_equal(parse_req(buf, &head), 0);
	assert_int_equal(head, strlen(REQ));
}

static void test_http_request_bad(void **state)
{
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{"POST /relay HTTP/1.1\r\nHost: x\r\n\r\n", -EBADMSG},
		{"GET /relay HTTP/1.0\r\nHost: x\r\nUpgrade: rayfish-relay-1\r\nConnection: "
		 "Upgrade\r\n\r\n",
		 -EBADMSG},
		{"GET  /relay HTTP/1.1\r\nHost: x\r\n\r\n", -EBADMSG},
		{"GET relay HTTP/1.1\r\nHost: x\r\n\r\n", -EBADMSG},
		{"GET /relay HTTP/1.1\r\nUpgrade: rayfish-relay-1\r\nConnection: Upgrade\r\n\r\n",
		 -EBADMSG}, /* no Host */
		{"GET /relay HTTP/1.1\r\nHost: a\r\nHost: b\r\nUpgrade: rayfish-relay-1\r\n"
		 "Connection: Upgrade\r\n\r\n",
		 -EBADMSG},
		{"GET /relay HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", -EBADMSG},
		{"GET /relay HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", -EBADMSG},
		{"GET /relay HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", -EBADMSG},
		{"GET /relay HTTP/1.1\r\nHost: x\nUpgrade: rayfish-relay-1\r\n\r\n", -EBADMSG},
		{"GET /relay HTTP/1.1\r\nHost: x\x01y\r\n\r\n", -EBADMSG},
		{"\r\n\r\n", -EBADMSG},
		{"GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: rayfish-relay-1\r\nConnection: "
		 "Upgrade\r\n\r\n",
		 -ENOENT},
		{"GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
		 "Upgrade\r\n\r\n",
		 -EPROTONOSUPPORT},
		{"GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: rayfish-relay-2\r\nConnection: "
		 "Upgrade\r\n\r\n",
		 -EPROTONOSUPPORT},
		{"GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: rayfish-relay-1\r\n\r\n",
		 -EPROTONOSUPPORT}, /* no Connection: Upgrade */
		{"GET /relay HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\r\n", -EPROTONOSUPPORT},
	};
	size_t head;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = parse_req(cases[i].text, &head);

		if (ret != cases[i].err)
			print_error("case %zu: got %d want %d\n", i, ret, cases[i].err);
		assert_int_equal(ret, cases[i].err);
	}
}

static void test_http_request_split_and_oversized(void **state)
{
	const char *req = REQ;
	size_t len = strlen(req), head;
	uint8_t *big = malloc(RELAY_PROTO_HTTP_MAX + 100);

	(void)state;
	/* as it arrives, a byte at a time: incomplete until the last byte */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(relay_proto_http_request_parse((const uint8_t *)req, i, &head),
				 -EAGAIN);
	assert_int_equal(relay_proto_http_request_parse((const uint8_t *)req, len, &head), 0);

	/* a head of exactly 8 KiB is allowed; one byte more is not */
	memset(big, 'a', RELAY_PROTO_HTTP_MAX + 100);
	memcpy(big,
	       "GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: rayfish-relay-1\r\nConnection: "
	       "Upgrade\r\nX-Pad: ",
	       83);
	memcpy(big + RELAY_PROTO_HTTP_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(relay_proto_http_request_parse(big, RELAY_PROTO_HTTP_MAX, &head), 0);
	assert_int_equal(head, RELAY_PROTO_HTTP_MAX);
	memset(big + RELAY_PROTO_HTTP_MAX - 4, 'a', 4);
	memcpy(big + RELAY_PROTO_HTTP_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(relay_proto_http_request_parse(big, RELAY_PROTO_HTTP_MAX - 1, &head),
			 -EAGAIN);
	assert_int_equal(relay_proto_http_request_parse(big, RELAY_PROTO_HTTP_MAX, &head),
			 -EMSGSIZE);
	assert_int_equal(relay_proto_http_request_parse(big, RELAY_PROTO_HTTP_MAX + 1, &head),
			 -EMSGSIZE);
	free(big);
}

static void test_http_error_responses(void **state)
{
	static const int errs[] = {-EBADMSG,  -ENOENT, -EPROTONOSUPPORT,
				   -EMSGSIZE, -EINVAL, -ETIMEDOUT};
	static const char *codes[] = {" 400 ", " 404 ", " 426 ", " 431 ", " 400 ", " 408 "};

	(void)state;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *r = relay_proto_http_error_response(errs[i]), *body, *cl;
		size_t body_len;

		assert_memory_equal(r, "HTTP/1.1", 8);
		assert_memory_equal(r + 8, codes[i], 5);
		body = strstr(r, "\r\n\r\n");
		assert_non_null(body);
		body += 4;
		body_len = strlen(body);
		/* one line of body, and Content-Length says exactly its size */
		assert_true(body_len > 1 && body[body_len - 1] == '\n');
		assert_null(memchr(body, '\n', body_len - 1));
		cl = strstr(r, "Content-Length: ");
		assert_non_null(cl);
		assert_int_equal(strtoul(cl + 16, NULL, 10), body_len);
	}
}

static void test_http_response(void **state)
{
	static const char ok[] = RELAY_PROTO_HTTP_RESPONSE_101 "\x01\x00\x41";
	size_t head, n = sizeof(RELAY_PROTO_HTTP_RESPONSE_101) - 1;

	(void)state;
	assert_int_equal(
		relay_proto_http_response_parse((const uint8_t *)ok, sizeof(ok) - 1, &head, NULL),
		0);
	assert_int_equal(head, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
			relay_proto_http_response_parse((const uint8_t *)ok, i, &head, NULL),
			-EAGAIN);
	const char *refused = relay_proto_http_error_response(-EPROTONOSUPPORT);
	assert_int_equal(relay_proto_http_response_parse((const uint8_t *)refused, strlen(refused),
							 &head, NULL),
			 -ECONNREFUSED);
	static const char *bad[] = {
		("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
		 "Upgrade\r\n\r\n"),
		"HTTP/1.1 1x1 Nope\r\n\r\n",
		"HTTP/1.1 1010\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(relay_proto_http_response_parse((const uint8_t *)bad[i],
								 strlen(bad[i]), &head, NULL),
				 -EBADMSG);
}

static int parse_head(const char *text, struct relay_http_request *r)
{
	return relay_proto_http_request_head((const uint8_t *)text, strlen(text), r);
}

static void test_http_request_head_good(void **state)
{
	static const char put[] = "PUT /records/abc HTTP/1.1\r\nHost: r:1\r\nContent-Type: "
				  "application/octet-stream\r\ncontent-length:  123 \r\n"
				  "Expect: 100-Continue\r\n\r\nBODY";
	static const char get[] = "GET /records/abc HTTP/1.1\r\nHost: r:1\r\nAccept: */*\r\n\r\n";
	struct relay_http_request r;

	(void)state;
	assert_int_equal(parse_head(put, &r), 0);
	assert_int_equal(r.method, RELAY_HTTP_PUT);
	assert_int_equal(r.target_len, strlen("/records/abc"));
	assert_memory_equal(r.target, "/records/abc", r.target_len);
	assert_int_equal(r.head_len, strlen(put) - 4);
	assert_int_equal(r.content_length, 123);
	assert_true(r.expect_continue);
	assert_false(r.upgrade);

	assert_int_equal(parse_head(get, &r), 0);
	assert_int_equal(r.method, RELAY_HTTP_GET);
	assert_int_equal(r.head_len, strlen(get));
	assert_true(r.content_length == RELAY_PROTO_NO_LENGTH);
	assert_false(r.expect_continue);

	/* the upgrade request reads the same way, flagged */
	assert_int_equal(parse_head(REQ, &r), 0);
	assert_int_equal(r.method, RELAY_HTTP_GET);
	assert_memory_equal(r.target, "/relay", 6);
	assert_true(r.upgrade);

	/* lengths: zero, leading zeros, and a huge one saturates */
	assert_int_equal(parse_head("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &r),
			 0);
	assert_int_equal(r.content_length, 0);
	assert_int_equal(
		parse_head("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n", &r), 0);
	assert_int_equal(r.content_length, 7);
	assert_int_equal(parse_head("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: "
				    "99999999999999999999999999999\r\n\r\n",
				    &r),
			 0);
	assert_true(r.content_length == RELAY_PROTO_LENGTH_HUGE);
}

static void test_http_request_head_bad(void **state)
{
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{"POST /records/x HTTP/1.1\r\nHost: h\r\n\r\n", -EBADMSG},
		{"DELETE /records/x HTTP/1.1\r\nHost: h\r\n\r\n", -EBADMSG},
		{"put /records/x HTTP/1.1\r\nHost: h\r\n\r\n", -EBADMSG},
		{"PUT records/x HTTP/1.1\r\nHost: h\r\n\r\n", -EBADMSG},
		{"PUT  /x HTTP/1.1\r\nHost: h\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.0\r\nHost: h\r\n\r\n", -EBADMSG},
		{"PUT / HTTP/1.1\r\n\r\n", -EBADMSG}, /* no Host */
		{"PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: "
		 "chunked\r\n\r\n",
		 -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		 -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", -EBADMSG},
		{"PUT /x HTTP/1.1\r\nHost: h\r\n", -EAGAIN},
		{"", -EAGAIN},
	};
	struct relay_http_request r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = parse_head(cases[i].text, &r);

		if (ret != cases[i].err)
			print_error("case %zu: got %d want %d\n", i, ret, cases[i].err);
		assert_int_equal(ret, cases[i].err);
	}
	/* the upgrade parser keeps its answers for other methods and paths */
	assert_int_equal(parse_req("PUT /relay HTTP/1.1\r\nHost: x\r\nUpgrade: rayfish-relay-1\r\n"
				   "Connection: Upgrade\r\n\r\n",
				   &(size_t){0}),
			 -EBADMSG);
	assert_int_equal(parse_req("GET /records/x HTTP/1.1\r\nHost: x\r\n\r\n", &(size_t){0}),
			 -ENOENT);
}

static void test_http_response_head(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				 "Content-Length: 3\r\nConnection: close\r\n\r\nabc";
	struct relay_http_response r;

	(void)state;
	assert_int_equal(relay_proto_http_response_head((const uint8_t *)ok, strlen(ok), &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.head_len, strlen(ok) - 3);
	assert_int_equal(r.content_length, 3);
	for (size_t i = 0; i < r.head_len; i++)
		assert_int_equal(relay_proto_http_response_head((const uint8_t *)ok, i, &r),
				 -EAGAIN);
	assert_int_equal(
		relay_proto_http_response_head((const uint8_t *)"HTTP/1.1 204\r\n\r\n", 16, &r), 0);
	assert_int_equal(r.status, 204);
	assert_true(r.content_length == RELAY_PROTO_NO_LENGTH);
	static const char *bad[] = {
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
			relay_proto_http_response_head((const uint8_t *)bad[i], strlen(bad[i]), &r),
			-EBADMSG);
}

static void test_http_response_writers(void **state)
{
	static const unsigned statuses[] = {200, 400, 403, 404, 408, 409, 410, 413, 503, 299};
	char buf[RELAY_PROTO_HTTP_101_MAX], big[256];
	struct relay_http_response r;
	size_t head;
	uint16_t port = 1;
	int n;

	(void)state;
	/* the 101 without STUN is the constant; with it, the client reads the port */
	n = relay_proto_http_101_write(0, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(RELAY_PROTO_HTTP_RESPONSE_101));
	assert_string_equal(buf, RELAY_PROTO_HTTP_RESPONSE_101);
	assert_int_equal(
		relay_proto_http_response_parse((const uint8_t *)buf, (size_t)n, &head, &port), 0);
	assert_int_equal(port, 0);
	n = relay_proto_http_101_write(65535, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\r\nRayfish-Stun-Port: 65535\r\n"));
	assert_int_equal(
		relay_proto_http_response_parse((const uint8_t *)buf, (size_t)n, &head, &port), 0);
	assert_int_equal(head, (size_t)n);
	assert_int_equal(port, 65535);
	assert_int_equal(relay_proto_http_101_write(3478, buf, 20), -ENOBUFS);

	/* every status we write reads back with its length */
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		n = relay_proto_http_response_write(statuses[i], "text/plain", 12, big,
						    sizeof(big));
		assert_true(n > 0);
		assert_non_null(strstr(big, "\r\nConnection: close\r\n\r\n"));
		assert_int_equal(
			relay_proto_http_response_head((const uint8_t *)big, (size_t)n, &r), 0);
		assert_int_equal(r.status, statuses[i]);
		assert_int_equal(r.head_len, (size_t)n);
		assert_int_equal(r.content_length, 12);
	}
	n = relay_proto_http_response_write(204, "text/plain", 0, big, sizeof(big));
	assert_string_equal(big, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	assert_int_equal(n, (int)strlen(big));
	n = relay_proto_http_response_write(200, NULL, 0, big, sizeof(big));
	assert_null(strstr(big, "Content-Type"));
	assert_int_equal(relay_proto_http_response_write(101, NULL, 0, big, sizeof(big)), -EINVAL);
	assert_int_equal(relay_proto_http_response_write(600, NULL, 0, big, sizeof(big)), -EINVAL);
	assert_int_equal(relay_proto_http_response_write(200, "a\r\nX: y", 0, big, sizeof(big)),
			 -EINVAL);
	assert_int_equal(relay_proto_http_response_write(200, "text/plain", 0, big, 30), -ENOBUFS);
	/* the fixed 408 for a request that does not come in time */
	assert_memory_equal(relay_proto_http_error_response(-ETIMEDOUT), "HTTP/1.1 408 ", 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_limits),
		cmocka_unit_test(test_payload_parsers),
		cmocka_unit_test(test_auth_signature),
		cmocka_unit_test(test_http_request_good),
		cmocka_unit_test(test_http_request_bad),
		cmocka_unit_test(test_http_request_split_and_oversized),
		cmocka_unit_test(test_http_error_responses),
		cmocka_unit_test(test_http_response),
		cmocka_unit_test(test_http_request_head_good),
		cmocka_unit_test(test_http_request_head_bad),
		cmocka_unit_test(test_http_response_head),
		cmocka_unit_test(test_http_response_writers),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
