/* Friendly network names: three lowercase words joined by dashes, always a
 * valid DNS label, and actually random. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "net/names.h"

#define ROUNDS 1000

static void assert_label(const char *name)
{
	size_t len = strlen(name), dashes = 0;

	assert_true(len >= 1 && len <= 63 && len <= NAMES_MAX_LEN);
	assert_true(name[0] != '-' && name[len - 1] != '-');
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '-') {
			dashes++;
			assert_true(name[i + 1] != '-'); /* no empty word */
			continue;
		}
		assert_true(name[i] >= 'a' && name[i] <= 'z');
	}
	assert_int_equal(dashes, 2);
}

static void test_names_are_labels(void **state)
{
	static char names[ROUNDS][NAMES_MAX_LEN + 1];
	size_t distinct_first = 0, distinct_last = 0, distinct = 0;

	(void)state;
	for (int i = 0; i < ROUNDS; i++) {
		int n = names_generate(names[i], sizeof(names[i]));

		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(names[i]));
		assert_label(names[i]);
	}
	/* not all the same, in each of the three positions */
	for (int i = 1; i < ROUNDS; i++) {
		const char *a = names[0], *b = names[i];

		distinct += strcmp(a, b) != 0;
		distinct_first += strncmp(a, b, (size_t)(strchr(a, '-') - a + 1)) != 0;
		distinct_last += strcmp(strrchr(a, '-'), strrchr(b, '-')) != 0;
	}
	assert_true(distinct > ROUNDS / 2);
	assert_true(distinct_first > ROUNDS / 2);
	assert_true(distinct_last > ROUNDS / 2);
}

static void test_names_buffer(void **state)
{
	char small[8], exact[NAMES_MAX_LEN + 1];

	(void)state;
	assert_int_equal(names_generate(small, 0), -ENOBUFS);
	assert_int_equal(names_generate(small, sizeof(small)), -ENOBUFS);
	for (int i = 0; i < 100; i++)
		assert_true(names_generate(exact, sizeof(exact)) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_are_labels),
		cmocka_unit_test(test_names_buffer),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
