/* Settings: defaults when absent, round trip, and a clear refusal (never a
 * silent reset) when the file is damaged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/settings.h"
#include "util/fileio.h"

static char dir[64], path[128], err[256];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/ray-settings-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/settings.json", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

static void test_missing_gives_defaults(void **state)
{
	struct settings s;

	(void)state;
	assert_int_equal(settings_load(path, &s, err, sizeof(err)), 0);
	assert_true(s.want_up);
	assert_false(s.has_operator);
}

static void test_round_trip(void **state)
{
	struct settings s = {.has_operator = true, .operator_uid = 1000, .want_up = false}, t;

	(void)state;
	s.nrelays = 2;
	strcpy(s.relays[0], "http://198.18.0.1:3340");
	strcpy(s.relays[1], "http://[2001:db8::1]:443");
	assert_int_equal(settings_save(path, &s), 0);
	assert_int_equal(settings_load(path, &t, err, sizeof(err)), 0);
	assert_true(t.has_operator);
	assert_int_equal(t.operator_uid, 1000);
	assert_false(t.want_up);
	assert_int_equal(t.nrelays, 2);
	assert_string_equal(t.relays[0], "http://198.18.0.1:3340");
	assert_string_equal(t.relays[1], "http://[2001:db8::1]:443");
}

static void test_damaged_is_refused(void **state)
{
	static const char *bad[] = {
		"",
		"{",
		"[]",
		"{\"up\": \"yes\"}",
		"{\"operator_uid\": -1}",
		"{\"operator_uid\": \"root\"}",
		"{\"operator_uid\": 1e99}",
		"{\"up\": true, \"up\": false}",
		"{\"relays\": \"http://a:1\"}",
		"{\"relays\": [1]}",
		"{\"relays\": [\"\"]}",
		"{\"relays\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}",
	};
	struct settings s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(file_write_atomic(path, bad[i], strlen(bad[i]), 0600), 0);
		err[0] = '\0';
		assert_int_equal(settings_load(path, &s, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, path));
	}
	/* unknown keys are for newer versions: ignored */
	{
		const char *newer = "{\"up\":false,\"future\":1}";

		assert_int_equal(file_write_atomic(path, newer, strlen(newer), 0600), 0);
	}
	assert_int_equal(settings_load(path, &s, err, sizeof(err)), 0);
	assert_false(s.want_up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_gives_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
