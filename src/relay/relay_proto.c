#include "relay/relay_proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

int relay_proto_frame_decode(const uint8_t *buf, size_t len, size_t max_payload,
			     struct relay_frame *f)
{
	size_t plen;

	if (len < RELAY_PROTO_HEADER_LEN)
		return 0;
	plen = (size_t)buf[1] << 8 | buf[2];
	if (plen > max_payload)
		return -EMSGSIZE;
	if (len - RELAY_PROTO_HEADER_LEN < plen)
		return 0;
	f->type = buf[0];
	f->len = (uint16_t)plen;
	f->payload = buf + RELAY_PROTO_HEADER_LEN;
	return (int)(RELAY_PROTO_HEADER_LEN + plen);
}

int relay_proto_frame_encode(uint8_t type, const void *part1, size_t len1, const void *part2,
			     size_t len2, uint8_t *out, size_t out_cap)
{
	size_t plen = len1 + len2;

	if (len1 > RELAY_PROTO_MAX_PAYLOAD || plen > RELAY_PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (out_cap < RELAY_PROTO_HEADER_LEN + plen)
		return -ENOBUFS;
	out[0] = type;
	out[1] = (uint8_t)(plen >> 8);
	out[2] = (uint8_t)plen;
	if (len1)
		memcpy(out + RELAY_PROTO_HEADER_LEN, part1, len1);
	if (len2)
		memcpy(out + RELAY_PROTO_HEADER_LEN + len1, part2, len2);
	return (int)(RELAY_PROTO_HEADER_LEN + plen);
}

int relay_proto_parse_challenge(const uint8_t *p, size_t len, uint8_t server_pk[32],
				uint8_t nonce[32])
{
	if (len != RELAY_PROTO_CHALLENGE_LEN)
		return -EBADMSG;
	if (p[0] != RELAY_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	memcpy(server_pk, p + 1, RELAY_PROTO_KEY_LEN);
	memcpy(nonce, p + 1 + RELAY_PROTO_KEY_LEN, RELAY_PROTO_NONCE_LEN);
	return 0;
}

int relay_proto_parse_auth(const uint8_t *p, size_t len, uint8_t node_id[32], uint8_t sig[64])
{
	if (len != RELAY_PROTO_AUTH_LEN)
		return -EBADMSG;
	memcpy(node_id, p, RELAY_PROTO_KEY_LEN);
	memcpy(sig, p + RELAY_PROTO_KEY_LEN, RELAY_PROTO_SIG_LEN);
	return 0;
}

#define AUTH_CONTEXT_LEN (sizeof(RELAY_PROTO_AUTH_CONTEXT) - 1)
#define AUTH_MSG_LEN	 (AUTH_CONTEXT_LEN + RELAY_PROTO_KEY_LEN + RELAY_PROTO_NONCE_LEN)

static void relay_proto_auth_message(const uint8_t server_pk[32], const uint8_t nonce[32],
				     uint8_t msg[AUTH_MSG_LEN])
{
	memcpy(msg, RELAY_PROTO_AUTH_CONTEXT, AUTH_CONTEXT_LEN);
	memcpy(msg + AUTH_CONTEXT_LEN, server_pk, RELAY_PROTO_KEY_LEN);
	memcpy(msg + AUTH_CONTEXT_LEN + RELAY_PROTO_KEY_LEN, nonce, RELAY_PROTO_NONCE_LEN);
}

void relay_proto_auth_sign(const uint8_t node_secret[64], const uint8_t server_pk[32],
			   const uint8_t nonce[32], uint8_t sig[64])
{
	uint8_t msg[AUTH_MSG_LEN];

	relay_proto_auth_message(server_pk, nonce, msg);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), node_secret);
}

int relay_proto_auth_verify(const uint8_t node_id[32], const uint8_t server_pk[32],
			    const uint8_t nonce[32], const uint8_t sig[64])
{
	uint8_t msg[AUTH_MSG_LEN];

	relay_proto_auth_message(server_pk, nonce, msg);
	/* libsodium also refuses small-order and non-canonical keys/signatures */
	if (crypto_sign_verify_detached(sig, msg, sizeof(msg), node_id) != 0)
		return -EPERM;
	return 0;
}

/* ---- HTTP/1.1 heads ---------------------------------------------------- */

/* Finds the blank line. 0 and *HEAD_LEN, -EAGAIN or -EMSGSIZE. */
static int relay_proto_http_head(const uint8_t *buf, size_t len, size_t *head_len)
{
	size_t n = len < RELAY_PROTO_HTTP_MAX ? len : RELAY_PROTO_HTTP_MAX;

	for (size_t i = 0; i + 4 <= n; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n') {
			*head_len = i + 4;
			return 0;
		}
	}
	return len >= RELAY_PROTO_HTTP_MAX ? -EMSGSIZE : -EAGAIN;
}

/* The next CRLF-terminated line of [*pos, end); NULL at the end. Bare CR or
 * LF, NUL and other control bytes (but HT) make *BAD true. */
static const char *relay_proto_http_line(const char **pos, const char *end, size_t *line_len,
					 bool *bad)
{
	const char *start = *pos;

	for (const char *p = start; p + 1 < end; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			*line_len = (size_t)(p - start);
			*pos = p + 2;
			return start;
		}
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*bad = true;
		if (*p == 0x7f)
			*bad = true;
	}
	return NULL;
}

static bool relay_proto_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Is TOKEN one of the comma-separated, case-insensitive items of VALUE? */
static bool relay_proto_has_token(const char *value, size_t len, const char *token)
{
	size_t tlen = strlen(token), i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (relay_proto_is_ows(value[i]) || value[i] == ','))
			i++;
		s = i;
		while (i < len && value[i] != ',')
			i++;
		e = i;
		while (e > s && relay_proto_is_ows(value[e - 1]))
			e--;
		if (e - s == tlen && strncasecmp(value + s, token, tlen) == 0)
			return true;
	}
	return false;
}

struct relay_proto_headers {
	bool upgrade, connection;
	int hosts;
	uint16_t stun_port; /* 0: none, or not a valid port */
	int lengths;	    /* Content-Length headers seen */
	bool bad_length, transfer_encoding, expect_continue;
	uint64_t content_length;
};

/* A Content-Length value: digits only; big values saturate. */
static bool relay_proto_length_value(const char *v, size_t len, uint64_t *out)
{
	uint64_t n = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		if (n < RELAY_PROTO_LENGTH_HUGE)
			n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n < RELAY_PROTO_LENGTH_HUGE ? n : RELAY_PROTO_LENGTH_HUGE;
	return true;
}

static uint16_t relay_proto_port_value(const char *v, size_t len)
{
	unsigned long port = 0;

	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		port = port * 10 + (unsigned long)(v[i] - '0');
	}
	return port <= 65535 ? (uint16_t)port : 0;
}

/* Parses header lines until the blank one. 0 or -EBADMSG. */
static int relay_proto_http_headers(const char **pos, const char *end,
				    struct relay_proto_headers *h)
{
	const char *line;
	size_t len;
	bool bad = false;

	while ((line = relay_proto_http_line(pos, end, &len, &bad))) {
		const char *colon, *value;
		size_t name_len, value_len;

		if (bad)
			return -EBADMSG;
		if (len == 0)
			return 0;
		/* obsolete line folding is refused (RFC 9112 §5.2 allows it) */
		if (relay_proto_is_ows(line[0]))
			return -EBADMSG;
		colon = memchr(line, ':', len);
		if (!colon || colon == line)
			return -EBADMSG;
		name_len = (size_t)(colon - line);
		for (size_t i = 0; i < name_len; i++) {
			if (relay_proto_is_ows(line[i]))
				return -EBADMSG;
		}
		value = colon + 1;
		value_len = len - name_len - 1;
		while (value_len && relay_proto_is_ows(*value)) {
			value++;
			value_len--;
		}
		while (value_len && relay_proto_is_ows(value[value_len - 1]))
			value_len--;
		if (name_len == 7 && strncasecmp(line, "Upgrade", 7) == 0)
			h->upgrade |= relay_proto_has_token(value, value_len, RELAY_PROTO_TOKEN);
		else if (name_len == 10 && strncasecmp(line, "Connection", 10) == 0)
			h->connection |= relay_proto_has_token(value, value_len, "upgrade");
		else if (name_len == 4 && strncasecmp(line, "Host", 4) == 0)
			h->hosts++;
		else if (name_len == sizeof(RELAY_PROTO_STUN_HEADER) - 1 &&
			 strncasecmp(line, RELAY_PROTO_STUN_HEADER, name_len) == 0)
			h->stun_port = relay_proto_port_value(value, value_len);
		else if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
			h->lengths++;
			if (!relay_proto_length_value(value, value_len, &h->content_length))
				h->bad_length = true;
		} else if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0)
			h->transfer_encoding = true;
		else if (name_len == 6 && strncasecmp(line, "Expect", 6) == 0)
			h->expect_continue |=
				value_len == 12 && strncasecmp(value, "100-continue", 12) == 0;
	}
	return -EBADMSG;
}

int relay_proto_http_request_head(const uint8_t *buf, size_t len, struct relay_http_request *req)
{
	static const char version[] = " HTTP/1.1";
	struct relay_proto_headers h = {0};
	const char *pos = (const char *)buf, *end, *line, *target;
	size_t n, line_len, target_len, mlen;
	enum relay_http_method method;
	bool bad = false;
	int ret;

	ret = relay_proto_http_head(buf, len, &n);
	if (ret < 0)
		return ret;
	end = pos + n;
	line = relay_proto_http_line(&pos, end, &line_len, &bad);
	if (!line || bad || line_len < 4)
		return -EBADMSG;
	if (memcmp(line, "GET ", 4) == 0)
		method = RELAY_HTTP_GET;
	else if (memcmp(line, "PUT ", 4) == 0)
		method = RELAY_HTTP_PUT;
	else
		return -EBADMSG;
	mlen = 4;
	if (line_len < mlen + 1 + sizeof(version) - 1 ||
	    memcmp(line + line_len - (sizeof(version) - 1), version, sizeof(version) - 1) != 0)
		return -EBADMSG;
	target = line + mlen;
	target_len = line_len - mlen - (sizeof(version) - 1);
	if (memchr(target, ' ', target_len) || target[0] != '/')
		return -EBADMSG;
	ret = relay_proto_http_headers(&pos, end, &h);
	if (ret < 0)
		return ret;
	if (h.hosts != 1) /* RFC 9112 §3.2: exactly one Host */
		return -EBADMSG;
	/* RFC 9112 §6.3: a Transfer-Encoding we do not do, or a doubtful
	 * length, leaves no safe way to find the body's end */
	if (h.transfer_encoding || h.bad_length || h.lengths > 1)
		return -EBADMSG;
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->target = target;
	req->target_len = target_len;
	req->head_len = n;
	req->content_length = h.lengths ? h.content_length : RELAY_PROTO_NO_LENGTH;
	req->upgrade = h.upgrade && h.connection;
	req->expect_continue = h.expect_continue;
	return 0;
}

int relay_proto_http_request_parse(const uint8_t *buf, size_t len, size_t *head_len)
{
	struct relay_http_request r;
	int ret;

	ret = relay_proto_http_request_head(buf, len, &r);
	if (ret < 0)
		return ret;
	if (r.method != RELAY_HTTP_GET)
		return -EBADMSG;
	if (r.target_len != sizeof(RELAY_PROTO_PATH) - 1 ||
	    memcmp(r.target, RELAY_PROTO_PATH, r.target_len) != 0)
		return -ENOENT;
	if (!r.upgrade)
		return -EPROTONOSUPPORT;
	*head_len = r.head_len;
	return 0;
}

const char *relay_proto_http_error_response(int err)
{
	switch (err) {
	case -EMSGSIZE:
		return "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: "
		       "text/plain\r\nContent-Length: 22\r\nConnection: close\r\n\r\n"
		       "request head too long\n";
	case -ENOENT:
		return "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: "
		       "10\r\nConnection: close\r\n\r\nnot found\n";
	case -EPROTONOSUPPORT:
		return "HTTP/1.1 426 Upgrade Required\r\nUpgrade: " RELAY_PROTO_TOKEN
		       "\r\nConnection: Upgrade, close\r\nContent-Type: text/plain\r\n"
		       "Content-Length: 34\r\n\r\nexpected Upgrade: " RELAY_PROTO_TOKEN "\n";
	case -ETIMEDOUT:
		return "HTTP/1.1 408 Request Timeout\r\nContent-Type: "
		       "text/plain\r\nContent-Length: "
		       "16\r\nConnection: close\r\n\r\nrequest timeout\n";
	default:
		return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: "
		       "12\r\nConnection: close\r\n\r\nbad request\n";
	}
}

int relay_proto_http_request_write(const char *hostport, char *out, size_t out_cap)
{
	int n;

	for (const char *p = hostport; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return -EINVAL;
	}
	n = snprintf(out, out_cap,
		     "GET " RELAY_PROTO_PATH " HTTP/1.1\r\nHost: %s\r\nUpgrade: " RELAY_PROTO_TOKEN
		     "\r\nConnection: Upgrade\r\n\r\n",
		     hostport);
	if (n < 0 || (size_t)n >= out_cap)
		return -ENOBUFS;
	return n;
}

int relay_proto_http_response_parse(const uint8_t *buf, size_t len, size_t *head_len,
				    uint16_t *stun_port)
{
	static const char prefix[] = "HTTP/1.1 ";
	struct relay_proto_headers h = {0};
	const char *pos = (const char *)buf, *end, *line;
	size_t n, line_len;
	bool bad = false;
	int ret;

	ret = relay_proto_http_head(buf, len, &n);
	if (ret < 0)
		return ret;
	end = pos + n;
	line = relay_proto_http_line(&pos, end, &line_len, &bad);
	if (!line || bad || line_len < sizeof(prefix) - 1 + 3 ||
	    memcmp(line, prefix, sizeof(prefix) - 1) != 0)
		return -EBADMSG;
	for (int i = 0; i < 3; i++) {
		char c = line[sizeof(prefix) - 1 + (size_t)i];

		if (c < '0' || c > '9')
			return -EBADMSG;
	}
	if (line_len > sizeof(prefix) - 1 + 3 && line[sizeof(prefix) - 1 + 3] != ' ')
		return -EBADMSG;
	if (memcmp(line + sizeof(prefix) - 1, "101", 3) != 0)
		return -ECONNREFUSED;
	ret = relay_proto_http_headers(&pos, end, &h);
	if (ret < 0)
		return ret;
	if (!h.upgrade || !h.connection)
		return -EBADMSG;
	*head_len = n;
	if (stun_port)
		*stun_port = h.stun_port;
	return 0;
}

/* The status line of BUF's head: 0 and *STATUS, or -EBADMSG. */
static int relay_proto_status_line(const char *line, size_t line_len, unsigned *status)
{
	static const char prefix[] = "HTTP/1.1 ";
	size_t p = sizeof(prefix) - 1;

	if (line_len < p + 3 || memcmp(line, prefix, p) != 0)
		return -EBADMSG;
	for (size_t i = 0; i < 3; i++) {
		if (line[p + i] < '0' || line[p + i] > '9')
			return -EBADMSG;
	}
	if (line_len > p + 3 && line[p + 3] != ' ')
		return -EBADMSG;
	*status = (unsigned)(line[p] - '0') * 100 + (unsigned)(line[p + 1] - '0') * 10 +
		  (unsigned)(line[p + 2] - '0');
	return *status >= 100 ? 0 : -EBADMSG;
}

int relay_proto_http_response_head(const uint8_t *buf, size_t len, struct relay_http_response *resp)
{
	struct relay_proto_headers h = {0};
	const char *pos = (const char *)buf, *end, *line;
	size_t n, line_len;
	unsigned status;
	bool bad = false;
	int ret;

	ret = relay_proto_http_head(buf, len, &n);
	if (ret < 0)
		return ret;
	end = pos + n;
	line = relay_proto_http_line(&pos, end, &line_len, &bad);
	if (!line || bad || relay_proto_status_line(line, line_len, &status) < 0)
		return -EBADMSG;
	ret = relay_proto_http_headers(&pos, end, &h);
	if (ret < 0)
		return ret;
	if (h.transfer_encoding || h.bad_length || h.lengths > 1)
		return -EBADMSG;
	resp->status = status;
	resp->head_len = n;
	resp->content_length = h.lengths ? h.content_length : RELAY_PROTO_NO_LENGTH;
	return 0;
}

int relay_proto_http_101_write(uint16_t stun_port, char *out, size_t out_cap)
{
	int n;

	if (stun_port)
		n = snprintf(out, out_cap,
			     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: " RELAY_PROTO_TOKEN
			     "\r\nConnection: Upgrade\r\n" RELAY_PROTO_STUN_HEADER ": %u\r\n\r\n",
			     (unsigned)stun_port);
	else
		n = snprintf(out, out_cap, "%s", RELAY_PROTO_HTTP_RESPONSE_101);
	if (n < 0 || (size_t)n >= out_cap)
		return -ENOBUFS;
	return n;
}

static const char *relay_proto_reason(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

int relay_proto_http_response_write(unsigned status, const char *content_type, size_t body_len,
				    char *out, size_t out_cap)
{
	int n;

	if (status < 200 || status > 599)
		return -EINVAL;
	if (content_type) {
		for (const char *p = content_type; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -EINVAL;
		}
	}
	if (status == 204)
		n = snprintf(out, out_cap, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	else
		n = snprintf(out, out_cap,
			     "HTTP/1.1 %u %s\r\n%s%s%sContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n",
			     status, relay_proto_reason(status),
			     content_type ? "Content-Type: " : "", content_type ? content_type : "",
			     content_type ? "\r\n" : "", body_len);
	if (n < 0 || (size_t)n >= out_cap)
		return -ENOBUFS;
	return n;
}
