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
};

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
	}
	return -EBADMSG;
}

int relay_proto_http_request_parse(const uint8_t *buf, size_t len, size_t *head_len)
{
	static const char method[] = "GET ", version[] = " HTTP/1.1";
	struct relay_proto_headers h = {0};
	const char *pos = (const char *)buf, *end, *line, *target;
	size_t n, line_len, target_len;
	bool bad = false;
	int ret;

	ret = relay_proto_http_head(buf, len, &n);
	if (ret < 0)
		return ret;
	end = pos + n;
	line = relay_proto_http_line(&pos, end, &line_len, &bad);
	if (!line || bad || line_len < sizeof(method) - 1 + sizeof(version) - 1 + 1)
		return -EBADMSG;
	if (memcmp(line, method, sizeof(method) - 1) != 0 ||
	    memcmp(line + line_len - (sizeof(version) - 1), version, sizeof(version) - 1) != 0)
		return -EBADMSG;
	target = line + sizeof(method) - 1;
	target_len = line_len - (sizeof(method) - 1) - (sizeof(version) - 1);
	if (memchr(target, ' ', target_len) || target[0] != '/')
		return -EBADMSG;
	ret = relay_proto_http_headers(&pos, end, &h);
	if (ret < 0)
		return ret;
	if (h.hosts != 1) /* RFC 9112 §3.2: exactly one Host */
		return -EBADMSG;
	if (target_len != sizeof(RELAY_PROTO_PATH) - 1 ||
	    memcmp(target, RELAY_PROTO_PATH, target_len) != 0)
		return -ENOENT;
	if (!h.upgrade || !h.connection)
		return -EPROTONOSUPPORT;
	*head_len = n;
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
