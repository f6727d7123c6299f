#include "path/record_client.h"
#include "path/relay_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keytext.h"
#include "relay/relay_proto.h"
#include "util/eventloop.h"

#define RECORD_CLIENT_HOST_MAX 255
#define RECORD_CLIENT_PUT_MAX  65536 /* sanity cap on what we send; the relay takes 1000 */
#define RECORD_CLIENT_RBUF     (RELAY_PROTO_HTTP_MAX + RECORD_MAX_LEN)
#define RECORD_CLIENT_REQ_HEAD 512

struct record_request {
	struct loop *loop;
	record_request_cb cb;
	void *arg;
	int fd;
	bool get, connected, writing, in_callback;
	int write_err; /* the write side failed: the answer may still be readable */
	uint8_t signer[RECORD_KEY_LEN];
	uint64_t timeout_timer, fail_timer;
	int fail_status;
	uint8_t *wbuf; /* the whole request */
	size_t wlen, woff;
	uint8_t rbuf[RECORD_CLIENT_RBUF];
	size_t rlen;
	struct record rec; /* a fetched record, once verified */
};

static uint64_t record_client_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A relay URL (the same syntax as relay_client_parse_url): HOST without
 * brackets, HOSTPORT as the Host header wants it. 0 or -EINVAL. */
static int record_client_parse_url(const char *url, char hostport[RECORD_CLIENT_HOST_MAX + 8],
				   char host[RECORD_CLIENT_HOST_MAX + 1], uint16_t *port)
{
	char parsed[256];
	int n;

	if (relay_client_parse_url(url, parsed, port) < 0 ||
	    strlen(parsed) > RECORD_CLIENT_HOST_MAX)
		return -EINVAL;
	strcpy(host, parsed);
	n = snprintf(hostport, RECORD_CLIENT_HOST_MAX + 8, strchr(host, ':') ? "[%s]:%u" : "%s:%u",
		     host, *port);
	return n > 0 && n < RECORD_CLIENT_HOST_MAX + 8 ? 0 : -EINVAL;
}

/* HOST (numeric IPv4 or IPv6, or a name: getaddrinfo, which blocks) and
 * PORT into SA. 0 or -EHOSTUNREACH. */
static int record_client_resolve(const char *host, uint16_t port, struct sockaddr_storage *sa,
				 socklen_t *sa_len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*sa_len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*sa_len = sizeof(*s6);
		return 0;
	}
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return -EHOSTUNREACH;
	if (res->ai_addrlen > sizeof(*sa)) {
		freeaddrinfo(res);
		return -EHOSTUNREACH;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*sa_len = res->ai_addrlen;
	freeaddrinfo(res);
	if (sa->ss_family == AF_INET)
		s4->sin_port = htons(port);
	else if (sa->ss_family == AF_INET6)
		s6->sin6_port = htons(port);
	else
		return -EHOSTUNREACH;
	return 0;
}

/* Release everything but the struct itself. */
static void record_client_detach(struct record_request *req)
{
	if (req->timeout_timer)
		loop_timer_cancel(req->loop, req->timeout_timer);
	if (req->fail_timer)
		loop_timer_cancel(req->loop, req->fail_timer);
	req->timeout_timer = req->fail_timer = 0;
	if (req->fd >= 0) {
		loop_fd_remove(req->loop, req->fd);
		close(req->fd);
		req->fd = -1;
	}
	free(req->wbuf);
	req->wbuf = NULL;
}

static void record_client_free(struct record_request *req)
{
	record_client_detach(req);
	free(req);
}

/* The one and only callback, then the end of REQ. */
static void record_client_finish(struct record_request *req, int status)
{
	record_client_detach(req);
	req->in_callback = true;
	req->cb(req->arg, status, status == 0 && req->get ? &req->rec : NULL);
	free(req);
}

static int record_client_status_errno(unsigned status)
{
	switch (status) {
	case 400:
		return -EBADMSG;
	case 403:
		return -EKEYREJECTED;
	case 404:
		return -ENOENT;
	case 409:
		return -EALREADY;
	case 410:
		return -ESTALE;
	case 413:
		return -EMSGSIZE;
	case 503:
		return -EBUSY;
	default:
		return -EPROTO;
	}
}

/* A whole answer: STATUS and its BODY. */
static int record_client_answer(struct record_request *req, unsigned status, const uint8_t *body,
				size_t len)
{
	int ret;

	if (!req->get)
		return status >= 200 && status < 300 ? 0 : record_client_status_errno(status);
	if (status != 200)
		return record_client_status_errno(status);
	/* never trust the relay: verify, and check it is the record we asked for */
	ret = record_parse_verify(body, len, record_client_wall_ms(), &req->rec);
	if (ret < 0)
		return ret;
	if (sodium_memcmp(req->rec.signer, req->signer, RECORD_KEY_LEN) != 0)
		return -EKEYREJECTED;
	return 0;
}

/* What has been read so far: 1 if it is a whole answer (and *STATUS is the
 * request's outcome), 0 if more is needed, or 1 with an error status. EOF:
 * the server has closed. */
static int record_client_parse(struct record_request *req, bool eof, int *status)
{
	struct relay_http_response resp;
	size_t body;
	int ret;

	for (;;) {
		ret = relay_proto_http_response_head(req->rbuf, req->rlen, &resp);
		if (ret == -EAGAIN) {
			if (!eof && req->rlen < sizeof(req->rbuf))
				return 0;
			*status = req->write_err ? req->write_err : -EPROTO;
			return 1;
		}
		if (ret < 0) {
			*status = -EPROTO;
			return 1;
		}
		if (resp.status >= 200)
			break;
		/* an interim answer (100 Continue): skip it */
		memmove(req->rbuf, req->rbuf + resp.head_len, req->rlen - resp.head_len);
		req->rlen -= resp.head_len;
	}
	body = req->rlen - resp.head_len;
	if (resp.content_length != RELAY_PROTO_NO_LENGTH) {
		if (resp.content_length > sizeof(req->rbuf) - resp.head_len) {
			*status = -EPROTO; /* no record is that big */
			return 1;
		}
		if (body < resp.content_length) {
			if (!eof)
				return 0;
			*status = -EPROTO; /* cut short */
			return 1;
		}
		body = (size_t)resp.content_length;
	} else if (!eof) {
		if (req->rlen == sizeof(req->rbuf)) {
			*status = -EPROTO;
			return 1;
		}
		return 0; /* the body ends at EOF */
	}
	*status = record_client_answer(req, resp.status, req->rbuf + resp.head_len, body);
	return 1;
}

/* Read what there is; finish REQ once the answer is whole. Returns true if
 * REQ is gone. */
static bool record_client_read(struct record_request *req)
{
	int status;

	for (;;) {
		ssize_t n = recv(req->fd, req->rbuf + req->rlen, sizeof(req->rbuf) - req->rlen,
				 MSG_DONTWAIT);
		bool eof = n == 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return false;
			eof = true;
			if (!req->write_err)
				req->write_err = -errno;
		}
		if (n > 0)
			req->rlen += (size_t)n;
		if (record_client_parse(req, eof, &status)) {
			record_client_finish(req, status);
			return true;
		}
		if (eof)
			return false; /* not reached: parse answers at EOF */
	}
}

static void record_client_write(struct record_request *req)
{
	while (req->woff < req->wlen) {
		ssize_t n = send(req->fd, req->wbuf + req->woff, req->wlen - req->woff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* the server may have answered early (a 413) and closed:
			 * read what it said */
			req->write_err = -errno;
			break;
		}
		req->woff += (size_t)n;
	}
	req->writing = false;
	free(req->wbuf);
	req->wbuf = NULL;
	loop_fd_modify(req->loop, req->fd, EPOLLIN);
}

static void record_client_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct record_request *req = arg;

	(void)loop;
	if (!req->connected) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			record_client_finish(req, -err);
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLIN | EPOLLHUP | EPOLLERR)))
			return;
		req->connected = true;
	}
	if (req->writing && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		record_client_write(req);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		record_client_read(req);
}

static void record_client_timeout(struct loop *loop, void *arg)
{
	struct record_request *req = arg;

	(void)loop;
	req->timeout_timer = 0;
	record_client_finish(req, -ETIMEDOUT);
}

static void record_client_fail_later(struct loop *loop, void *arg)
{
	struct record_request *req = arg;

	(void)loop;
	req->fail_timer = 0;
	record_client_finish(req, req->fail_status);
}

/* Build the request, connect, arm the timeout. BODY is NULL for a GET. */
static int record_client_start(struct loop *loop, const char *url,
			       const uint8_t signer[RECORD_KEY_LEN], const uint8_t *body,
			       size_t body_len, uint64_t timeout_ms, record_request_cb cb,
			       void *arg, struct record_request **out)
{
	char hostport[RECORD_CLIENT_HOST_MAX + 8], host[RECORD_CLIENT_HOST_MAX + 1];
	char id[NODE_ID_TEXT_LEN + 1];
	struct sockaddr_storage sa;
	socklen_t sa_len;
	struct record_request *req = NULL;
	uint16_t port;
	int ret, n;

	if (out)
		*out = NULL;
	if (!loop || !cb || !signer)
		return -EINVAL;
	ret = record_client_parse_url(url, hostport, host, &port);
	if (ret < 0)
		return ret;
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->loop = loop;
	req->cb = cb;
	req->arg = arg;
	req->fd = -1;
	req->get = body == NULL;
	memcpy(req->signer, signer, RECORD_KEY_LEN);
	keytext_format_node_id(signer, id);
	req->wbuf = malloc(RECORD_CLIENT_REQ_HEAD + body_len);
	if (!req->wbuf) {
		ret = -ENOMEM;
		goto out;
	}
	if (body)
		n = snprintf((char *)req->wbuf, RECORD_CLIENT_REQ_HEAD,
			     "PUT /records/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
			     "application/octet-stream\r\nContent-Length: %zu\r\nConnection: "
			     "close\r\n\r\n",
			     id, hostport, body_len);
	else
		n = snprintf((char *)req->wbuf, RECORD_CLIENT_REQ_HEAD,
			     "GET /records/%s HTTP/1.1\r\nHost: %s\r\nAccept: "
			     "application/octet-stream\r\nConnection: close\r\n\r\n",
			     id, hostport);
	if (n < 0 || n >= RECORD_CLIENT_REQ_HEAD) {
		ret = -EINVAL;
		goto out;
	}
	if (body_len)
		memcpy(req->wbuf + n, body, body_len);
	req->wlen = (size_t)n + body_len;
	req->writing = true;

	req->timeout_timer = loop_timer_add(loop, timeout_ms, record_client_timeout, req);
	if (!req->timeout_timer) {
		ret = -ENOMEM;
		goto out;
	}
	ret = record_client_resolve(host, port, &sa, &sa_len);
	if (ret == 0) {
		req->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (req->fd < 0) {
			ret = -errno;
			goto out;
		}
		if (connect(req->fd, (struct sockaddr *)&sa, sa_len) == 0)
			req->connected = true;
		else if (errno != EINPROGRESS)
			ret = -errno;
	}
	if (ret < 0) {
		/* the callback must not run inside this call: tell it later */
		req->fail_status = ret;
		req->fail_timer = loop_timer_add(loop, 0, record_client_fail_later, req);
		if (!req->fail_timer) {
			ret = -ENOMEM;
			goto out;
		}
		if (req->fd >= 0) {
			close(req->fd);
			req->fd = -1;
		}
	} else {
		ret = loop_fd_add(loop, req->fd, EPOLLIN | EPOLLOUT, record_client_event, req);
		if (ret < 0) {
			close(req->fd);
			req->fd = -1;
			goto out;
		}
	}
	if (out)
		*out = req;
	return 0;
out:
	record_client_free(req);
	return ret;
}

int record_client_put(struct loop *loop, const char *url, const uint8_t signer[32],
		      const uint8_t *buf, size_t len, uint64_t timeout_ms, record_request_cb cb,
		      void *arg, struct record_request **out)
{
	if (!buf || len == 0 || len > RECORD_CLIENT_PUT_MAX) {
		if (out)
			*out = NULL;
		return -EINVAL;
	}
	return record_client_start(loop, url, signer, buf, len, timeout_ms, cb, arg, out);
}

int record_client_get(struct loop *loop, const char *url, const uint8_t signer[32],
		      uint64_t timeout_ms, record_request_cb cb, void *arg,
		      struct record_request **out)
{
	return record_client_start(loop, url, signer, NULL, 0, timeout_ms, cb, arg, out);
}

void record_client_cancel(struct record_request *req)
{
	/* inside its own callback the request is already finished: freed after */
	if (!req || req->in_callback)
		return;
	record_client_free(req);
}
