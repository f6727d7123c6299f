/* The IPC wire format between `ray` and `ray daemon`: one request, one
 * response, each a 4-byte big-endian length followed by that many bytes of a
 * JSON object.
 *
 *   request:  {"cmd": "status", "args": {...}}
 *   response: {"ok": true, "result": {...}} or {"ok": false, "error": "reason"}
 */
#ifndef RAY_IPC_IPC_FRAME_H
#define RAY_IPC_IPC_FRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_HEADER_LEN	 4
#define IPC_MAX_REQUEST	 (64 * 1024)
#define IPC_MAX_RESPONSE (16 * 1024 * 1024)

/* Length from a frame header. */
uint32_t ipc_frame_length(const uint8_t header[IPC_HEADER_LEN]);

/* Serialize OBJ as one frame into a malloc'd buffer the caller frees.
 * Returns 0, -EMSGSIZE when it would exceed MAX, or -ENOMEM. */
int ipc_frame_encode(const json_t *obj, size_t max, uint8_t **out, size_t *out_len);

/* Parse a frame body (without header) as a JSON object. Returns a new
 * reference, or NULL with a reason in ERR. */
json_t *ipc_frame_decode(const uint8_t *body, size_t len, char *err, size_t err_len);

/* Validate a decoded request: sets *CMD to its "cmd" string and *ARGS to its
 * "args" object (an empty one is added when absent); both are borrowed from
 * REQUEST. Returns 0, or -EINVAL with a reason in ERR. */
int ipc_request_parse(json_t *request, const char **cmd, json_t **args, char *err, size_t err_len);

#endif
