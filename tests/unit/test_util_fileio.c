/* Crash-safe writes: a writer killed at any moment leaves the old or the new
 * content, never a mix, and temporary files are cleaned up afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "util/fileio.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/ray-fileio-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/f", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_write_read(void **state)
{
	char *out = NULL;
	size_t len = 0;
	struct stat st;

	(void)state;
	assert_int_equal(file_write_atomic(path, "hello", 5, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_read_all(path, 100, &out, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(out, "hello");
	free(out);
	assert_int_equal(file_write_atomic(path, "bye", 3, 0644), 0);
	assert_int_equal(file_read_all(path, 100, &out, &len), 0);
	assert_string_equal(out, "bye");
	free(out);
	assert_int_equal(file_read_all(path, 2, &out, &len), -EFBIG);
	assert_int_equal(file_read_all(dir, 100, &out, &len), -EINVAL);
	assert_int_equal(file_read_all("/nonexistent/x", 100, &out, &len), -ENOENT);
}

/* Each generation is 4 MiB of one byte value, so a torn write would show up
 * as a short file or mixed bytes. */
#define GEN_SIZE (4u << 20)

static int check_whole(const char *p)
{
	char *out = NULL;
	size_t len = 0;
	int ret = file_read_all(p, GEN_SIZE, &out, &len);

	if (ret < 0)
		return ret;
	if (len != GEN_SIZE)
		ret = -EIO;
	for (size_t i = 1; ret == 0 && i < len; i++)
		if (out[i] != out[0])
			ret = -EIO;
	free(out);
	return ret;
}

static void test_killed_writer_leaves_old_or_new(void **state)
{
	char *buf = malloc(GEN_SIZE);
	int round;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', GEN_SIZE);
	assert_int_equal(file_write_atomic(path, buf, GEN_SIZE, 0600), 0);
	srand((unsigned)time(NULL));
	for (round = 0; round < 12; round++) {
		struct timespec delay = {0, (long)(rand() % 40 + 1) * 1000000L};
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			for (char c = 'b';; c = (char)(c == 'z' ? 'b' : c + 1)) {
				memset(buf, c, GEN_SIZE);
				file_write_atomic(path, buf, GEN_SIZE, 0600);
			}
		}
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		assert_int_equal(check_whole(path), 0);
	}
	file_remove_stale_temps(dir);
	{
		DIR *d = opendir(dir);
		struct dirent *de;
		int n = 0;

		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
		assert_int_equal(n, 1);
	}
	free(buf);
}

static void test_mkdirs(void **state)
{
	char p[192];
	struct stat st;

	(void)state;
	snprintf(p, sizeof(p), "%s/a/b/c", dir);
	assert_int_equal(file_mkdirs(p, 0700), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(file_mkdirs(p, 0700), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer_leaves_old_or_new, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
