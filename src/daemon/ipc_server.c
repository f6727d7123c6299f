#include "daemon/ipc_server.h"
#include "ipc/ipc_client.h"
#include "ipc/ipc_frame.h"
#include "util/eventloop.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define IPC_MAX_CONNECTIONS 128
#define IPC_CONN_TIMEOUT_MS 5000 /* from accept to the last byte of the response */

const int ipc_deferred_marker;

struct ipc_conn {
	struct ipc_server *server;
	struct ipc_conn *prev, *next;
	int fd;
	struct ipc_caller caller;
	uint64_t timer;
	uint8_t header[IPC_HEADER_LEN];
	size_t header_got;
	uint8_t *body;
	uint32_t body_len;
	size_t body_got;
	bool deferred; /* someone holds it to answer later: never evict it */
	uint8_t *out;  /* the framed response, once there is one */
	size_t out_len, out_sent;
};

struct ipc_server {
	struct loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ipc_handler handler;
	void *arg;
	struct ipc_conn *conns; /* newest first */
	int nconns;
};

json_t *ipc_response_ok(json_t *result)
{
	json_t *r = json_object();

	json_object_set_new(r, "ok", json_true());
	if (result)
		json_object_set_new(r, "result", result);
	return r;
}

json_t *ipc_response_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *r = json_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(r, "ok", json_false());
	json_object_set_new(r, "error", json_string(msg));
	return r;
}

static void ipc_conn_close(struct ipc_conn *conn)
{
	struct ipc_server *server = conn->server;

	loop_fd_remove(server->loop, conn->fd);
	loop_timer_cancel(server->loop, conn->timer);
	close(conn->fd);
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		server->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	server->nconns--;
	free(conn->body);
	free(conn->out);
	free(conn);
}

static void ipc_conn_timeout(struct loop *loop, void *arg)
{
	struct ipc_conn *conn = arg;

	(void)loop;
	conn->timer = 0;
	log_debug("ipc: closing connection from pid %d: timed out", (int)conn->caller.pid);
	ipc_conn_close(conn);
}

/* Returns true when the connection is finished (closed or to be closed). */
static bool ipc_conn_flush(struct ipc_conn *conn)
{
	while (conn->out_sent < conn->out_len) {
		ssize_t n = send(conn->fd, conn->out + conn->out_sent,
				 conn->out_len - conn->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			loop_fd_modify(conn->server->loop, conn->fd, EPOLLOUT);
			return false;
		}
		if (n < 0)
			return true;
		conn->out_sent += (size_t)n;
	}
	/* Response sent: half-close so the client sees EOF, then let go. */
	shutdown(conn->fd, SHUT_WR);
	return true;
}

/* Queue RESPONSE (stolen) and start sending it. */
static bool ipc_conn_respond(struct ipc_conn *conn, json_t *response)
{
	int ret;

	if (!response)
		response = ipc_response_error("internal error");
	ret = ipc_frame_encode(response, IPC_MAX_RESPONSE, &conn->out, &conn->out_len);
	json_decref(response);
	if (ret < 0) {
		response = ipc_response_error("response too large or out of memory");
		ret = ipc_frame_encode(response, IPC_MAX_RESPONSE, &conn->out, &conn->out_len);
		json_decref(response);
		if (ret < 0)
			return true;
	}
	return ipc_conn_flush(conn);
}

static bool ipc_conn_dispatch(struct ipc_conn *conn)
{
	char err[256];
	const char *cmd;
	json_t *request, *args, *response;

	request = ipc_frame_decode(conn->body, conn->body_len, err, sizeof(err));
	if (!request)
		return ipc_conn_respond(conn, ipc_response_error("bad request: %s", err));
	if (ipc_request_parse(request, &cmd, &args, err, sizeof(err)) < 0) {
		response = ipc_response_error("bad request: %s", err);
	} else {
		response = conn->server->handler((struct ipc_request *)conn, cmd, args,
						 &conn->caller, conn->server->arg);
	}
	json_decref(request);
	if (response == IPC_DEFERRED) {
		/* The deferring code bounds the wait, not the read timeout. */
		loop_timer_cancel(conn->server->loop, conn->timer);
		conn->timer = 0;
		conn->deferred = true;
		return false;
	}
	return ipc_conn_respond(conn, response);
}

void ipc_request_reply(struct ipc_request *req, json_t *response)
{
	struct ipc_conn *conn = (struct ipc_conn *)req;

	conn->deferred = false;
	if (ipc_conn_respond(conn, response))
		ipc_conn_close(conn);
	else if (!conn->timer)
		conn->timer = loop_timer_add(conn->server->loop, IPC_CONN_TIMEOUT_MS,
					     ipc_conn_timeout, conn);
}

/* Read what is there; returns true when the connection is finished. */
static bool ipc_conn_read(struct ipc_conn *conn)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t n;

		if (conn->header_got < IPC_HEADER_LEN) {
			dst = conn->header + conn->header_got;
			want = IPC_HEADER_LEN - conn->header_got;
		} else {
			dst = conn->body + conn->body_got;
			want = conn->body_len - conn->body_got;
		}
		n = recv(conn->fd, dst, want, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0)
			return true; /* EOF or error before a whole request: nothing to answer */

		if (conn->header_got < IPC_HEADER_LEN) {
			conn->header_got += (size_t)n;
			if (conn->header_got < IPC_HEADER_LEN)
				continue;
			conn->body_len = ipc_frame_length(conn->header);
			if (conn->body_len == 0 || conn->body_len > IPC_MAX_REQUEST)
				return ipc_conn_respond(
					conn,
					ipc_response_error("bad request: length %u (limit %d)",
							   conn->body_len, IPC_MAX_REQUEST));
			conn->body = malloc(conn->body_len);
			if (!conn->body)
				return true;
			continue;
		}
		conn->body_got += (size_t)n;
		if (conn->body_got == conn->body_len) {
			loop_fd_modify(conn->server->loop, conn->fd, 0);
			return ipc_conn_dispatch(conn);
		}
	}
}

static void ipc_conn_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct ipc_conn *conn = arg;
	bool done;

	(void)loop;
	(void)fd;
	if (conn->out)
		done = ipc_conn_flush(conn);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		done = ipc_conn_read(conn);
	else
		done = false;
	if (done)
		ipc_conn_close(conn);
}

/* Full: the oldest connection goes, so idle clients cannot lock others out. */
static void ipc_server_evict_oldest(struct ipc_server *server)
{
	struct ipc_conn *oldest = NULL;

	for (struct ipc_conn *c = server->conns; c; c = c->next)
		if (!c->deferred)
			oldest = c;
	if (oldest) {
		log_debug("ipc: too many connections, closing the oldest (pid %d)",
			  (int)oldest->caller.pid);
		ipc_conn_close(oldest);
	}
}

static void ipc_server_accept(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct ipc_server *server = arg;

	(void)events;
	for (;;) {
		struct ucred cred;
		socklen_t cred_len = sizeof(cred);
		struct ipc_conn *conn;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if ((errno == EMFILE || errno == ENFILE) && server->conns) {
				log_warn("ipc: accept: %s; closing the oldest connection",
					 strerror(errno));
				ipc_server_evict_oldest(server);
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				log_warn("ipc: accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0) {
			close(cfd);
			continue;
		}
		if (server->nconns >= IPC_MAX_CONNECTIONS)
			ipc_server_evict_oldest(server);
		conn = calloc(1, sizeof(*conn));
		if (!conn) {
			close(cfd);
			continue;
		}
		conn->server = server;
		conn->fd = cfd;
		conn->caller.pid = cred.pid;
		conn->caller.uid = cred.uid;
		conn->caller.gid = cred.gid;
		if (loop_fd_add(loop, cfd, EPOLLIN, ipc_conn_event, conn) < 0 ||
		    !(conn->timer =
			      loop_timer_add(loop, IPC_CONN_TIMEOUT_MS, ipc_conn_timeout, conn))) {
			loop_fd_remove(loop, cfd);
			close(cfd);
			free(conn);
			continue;
		}
		conn->next = server->conns;
		if (server->conns)
			server->conns->prev = conn;
		server->conns = conn;
		server->nconns++;
	}
}

struct ipc_server *ipc_server_new(struct loop *loop, const char *path, ipc_handler handler,
				  void *arg, char *err, size_t err_len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct ipc_server *server = NULL;
	int fd = -1;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, err_len, "socket path too long: %s", path);
		return NULL;
	}
	if (ipc_client_probe(path)) {
		snprintf(err, err_len, "another daemon is already serving %s", path);
		return NULL;
	}
	/* Nobody answers: whatever is there is a stale socket from a crash. */
	unlink(path);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(err, err_len, "cannot listen on %s: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, 0666) < 0 || listen(fd, 64) < 0) {
		snprintf(err, err_len, "cannot listen on %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	server = calloc(1, sizeof(*server));
	if (!server) {
		snprintf(err, err_len, "out of memory");
		goto fail_unlink;
	}
	server->loop = loop;
	server->fd = fd;
	strcpy(server->path, path);
	server->handler = handler;
	server->arg = arg;
	if (loop_fd_add(loop, fd, EPOLLIN, ipc_server_accept, server) < 0) {
		snprintf(err, err_len, "cannot watch %s", path);
		goto fail_unlink;
	}
	return server;

fail_unlink:
	unlink(path);
fail:
	free(server);
	if (fd >= 0)
		close(fd);
	return NULL;
}

void ipc_server_free(struct ipc_server *server)
{
	if (!server)
		return;
	while (server->conns)
		ipc_conn_close(server->conns);
	loop_fd_remove(server->loop, server->fd);
	close(server->fd);
	unlink(server->path);
	free(server);
}
