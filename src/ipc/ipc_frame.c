#include "ipc/ipc_frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t ipc_frame_length(const uint8_t header[IPC_HEADER_LEN])
{
	return (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 |
	       header[3];
}

int ipc_frame_encode(const json_t *obj, size_t max, uint8_t **out, size_t *out_len)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	size_t len;
	uint8_t *frame;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	if (len > max) {
		free(text);
		return -EMSGSIZE;
	}
	frame = malloc(IPC_HEADER_LEN + len);
	if (!frame) {
		free(text);
		return -ENOMEM;
	}
	frame[0] = (uint8_t)(len >> 24);
	frame[1] = (uint8_t)(len >> 16);
	frame[2] = (uint8_t)(len >> 8);
	frame[3] = (uint8_t)len;
	memcpy(frame + IPC_HEADER_LEN, text, len);
	free(text);
	*out = frame;
	*out_len = IPC_HEADER_LEN + len;
	return 0;
}

json_t *ipc_frame_decode(const uint8_t *body, size_t len, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *obj;

	obj = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		snprintf(err, err_len, "malformed JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(obj)) {
		snprintf(err, err_len, "expected a JSON object");
		json_decref(obj);
		return NULL;
	}
	return obj;
}

int ipc_request_parse(json_t *request, const char **cmd, json_t **args, char *err, size_t err_len)
{
	json_t *c = json_object_get(request, "cmd");
	json_t *a = json_object_get(request, "args");

	if (!json_is_string(c)) {
		snprintf(err, err_len, "request has no \"cmd\" string");
		return -EINVAL;
	}
	if (a && !json_is_object(a)) {
		snprintf(err, err_len, "\"args\" must be an object");
		return -EINVAL;
	}
	if (!a) {
		a = json_object();
		if (json_object_set_new(request, "args", a) < 0) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
	}
	*cmd = json_string_value(c);
	*args = a;
	return 0;
}
