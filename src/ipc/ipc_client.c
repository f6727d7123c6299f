#include "ipc/ipc_client.h"
#include "ipc/ipc_frame.h"
#include "util/eventloop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int ipc_connect(const char *socket_path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

int ipc_client_probe(const char *socket_path)
{
	int fd = ipc_connect(socket_path);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Waits for EVENTS on FD until DEADLINE (monotonic ms). */
static int ipc_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	uint64_t now = loop_now_ms();
	int n;

	if (now >= deadline)
		return -ETIMEDOUT;
	n = poll(&pfd, 1, (int)(deadline - now));
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return 0;
}

static int ipc_send_all(int fd, const uint8_t *data, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int ret;

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		ret = ipc_wait(fd, POLLOUT, deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int ipc_recv_all(int fd, uint8_t *data, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = recv(fd, data, len, MSG_DONTWAIT);
		int ret;

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		ret = ipc_wait(fd, POLLIN, deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

json_t *ipc_client_call(const char *socket_path, const json_t *request, int timeout_ms, char *err,
			size_t err_len)
{
	uint64_t deadline = loop_now_ms() + (uint64_t)timeout_ms;
	uint8_t header[IPC_HEADER_LEN];
	uint8_t *frame = NULL, *body = NULL;
	size_t frame_len = 0;
	uint32_t len;
	json_t *response = NULL;
	int fd, ret;

	fd = ipc_connect(socket_path);
	if (fd < 0) {
		snprintf(err, err_len,
			 "cannot reach the daemon at %s: %s (is 'ray daemon' running?)",
			 socket_path, strerror(-fd));
		return NULL;
	}
	ret = ipc_frame_encode(request, IPC_MAX_REQUEST, &frame, &frame_len);
	if (ret < 0) {
		snprintf(err, err_len, "cannot encode the request: %s", strerror(-ret));
		goto out;
	}
	ret = ipc_send_all(fd, frame, frame_len, deadline);
	if (ret == 0)
		ret = ipc_recv_all(fd, header, sizeof(header), deadline);
	if (ret < 0) {
		snprintf(err, err_len, "daemon at %s: %s", socket_path,
			 ret == -ETIMEDOUT ? "no answer in time" : strerror(-ret));
		goto out;
	}
	len = ipc_frame_length(header);
	if (len == 0 || len > IPC_MAX_RESPONSE) {
		snprintf(err, err_len, "daemon sent a response of invalid length %u", len);
		goto out;
	}
	body = malloc(len);
	if (!body) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	ret = ipc_recv_all(fd, body, len, deadline);
	if (ret < 0) {
		snprintf(err, err_len, "daemon at %s: %s", socket_path,
			 ret == -ETIMEDOUT ? "no answer in time" : strerror(-ret));
		goto out;
	}
	response = ipc_frame_decode(body, len, err, err_len);
out:
	free(body);
	free(frame);
	close(fd);
	return response;
}
