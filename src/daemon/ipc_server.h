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

/* Returns the whole response object (a new reference), built with
 * ipc_response_ok / ipc_response_error. */
typedef json_t *(*ipc_handler)(const char *cmd, json_t *args, const struct ipc_caller *caller,
			       void *arg);

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
