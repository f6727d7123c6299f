/* The CLI's side of IPC: connect, send one request, read one response. */
#ifndef RAY_IPC_IPC_CLIENT_H
#define RAY_IPC_IPC_CLIENT_H

#include <jansson.h>
#include <stddef.h>

/* Send REQUEST to the daemon at SOCKET_PATH and wait up to TIMEOUT_MS for the
 * whole response. Returns a new reference to the response object, or NULL
 * with a one-line reason in ERR. */
json_t *ipc_client_call(const char *socket_path, const json_t *request, int timeout_ms, char *err,
			size_t err_len);

/* True when a daemon accepts connections on SOCKET_PATH. */
int ipc_client_probe(const char *socket_path);

#endif
