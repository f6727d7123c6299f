/* IPC framing and request validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc_frame.h"

static void test_encode_decode(void **state)
{
	json_t *obj = json_pack("{s:s, s:{s:i}}", "cmd", "status", "args", "n", 5), *back;
	uint8_t *frame = NULL;
	size_t len = 0;
	char err[128];

	(void)state;
	assert_int_equal(ipc_frame_encode(obj, IPC_MAX_REQUEST, &frame, &len), 0);
	assert_int_equal(ipc_frame_length(frame), len - IPC_HEADER_LEN);
	back = ipc_frame_decode(frame + IPC_HEADER_LEN, len - IPC_HEADER_LEN, err, sizeof(err));
	assert_non_null(back);
	assert_true(json_equal(obj, back));
	free(frame);
	json_decref(back);
	assert_int_equal(ipc_frame_encode(obj, 5, &frame, &len), -EMSGSIZE);
	json_decref(obj);
}

static void test_decode_rejects(void **state)
{
	static const char *bad[] = {"", "[1]", "\"s\"", "{", "{\"a\":1,\"a\":2}", "nul"};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(ipc_frame_decode((const uint8_t *)bad[i], strlen(bad[i]), err,
					     sizeof(err)));
		assert_true(strlen(err) > 0);
	}
}

static void test_request_parse(void **state)
{
	json_t *req = json_pack("{s:s}", "cmd", "id"), *args;
	const char *cmd;
	char err[128];

	(void)state;
	assert_int_equal(ipc_request_parse(req, &cmd, &args, err, sizeof(err)), 0);
	assert_string_equal(cmd, "id");
	assert_true(json_is_object(args));
	json_decref(req);
	req = json_pack("{s:i}", "cmd", 1);
	assert_int_equal(ipc_request_parse(req, &cmd, &args, err, sizeof(err)), -EINVAL);
	json_decref(req);
	req = json_pack("{s:s, s:[]}", "cmd", "id", "args");
	assert_int_equal(ipc_request_parse(req, &cmd, &args, err, sizeof(err)), -EINVAL);
	json_decref(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_request_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
