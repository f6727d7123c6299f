/* IPC request bytes, as a local client sends them: frame header, JSON body,
 * request validation. */
#include <stdint.h>
#include <stdlib.h>

#include "ipc/ipc_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cmd;
	char err[256];
	json_t *req, *args;

	if (size >= IPC_HEADER_LEN && ipc_frame_length(data) > IPC_MAX_REQUEST)
		return 0;
	req = ipc_frame_decode(data, size, err, sizeof(err));
	if (!req)
		return 0;
	if (ipc_request_parse(req, &cmd, &args, err, sizeof(err)) == 0)
		(void)json_object_size(args);
	json_decref(req);
	return 0;
}
