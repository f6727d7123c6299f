/* The daemon's side of IPC: a non-blocking Unix socket server on the event
 * loop. Each connection carries one request and gets one response; a client
 * that is slow, silent or hostile only ever holds its own connection. */
#ifndef RAY_DAEMON_IPC_SERVER_H
#define RAY_DAEMON_IPC_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct loop;
struct ipc_server;

struct ipc_caller {
	pid_t pid;
	uid_t uid; /* from SO_PEERCRED: the kernel vouches for it */
	gid_t gid;
};

/* The connection a request came on, for answering later. */
struct ipc_request;

/* A handler's answer that is not ready yet: it will come through
 * ipc_request_reply(). */
#define IPC_DEFERRED ((json_t *)&ipc_deferred_marker)
extern const int ipc_deferred_marker;

/* Returns the whole response object (a new reference), built with
 * ipc_response_ok / ipc_response_error, or IPC_DEFERRED. */
typedef json_t *(*ipc_handler)(struct ipc_request *req, const char *cmd, json_t *args,
			       const struct ipc_caller *caller, void *arg);

/* Answer a deferred request (RESPONSE is stolen). REQ is gone afterwards.
 * Every deferred request must be answered exactly once, and before
 * ipc_server_free(): the request's own timeout is the deferring code's job. */
void ipc_request_reply(struct ipc_request *req, json_t *response);

/* Bind PATH (mode 0666; authority comes from SO_PEERCRED, not the mode) after
 * checking that no live daemon serves it; a stale socket file is replaced.
 * Returns NULL with a reason in ERR. */
struct ipc_server *ipc_server_new(struct loop *loop, const char *path, ipc_handler handler,
				  void *arg, char *err, size_t err_len);
/* Closes every connection and removes the socket file. */
void ipc_server_free(struct ipc_server *server);

/* Response builders. ok steals RESULT (NULL for none). */
json_t *ipc_response_ok(json_t *result);
json_t *ipc_response_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
