/* The identity key file: created private, loaded back, refused when unsafe
 * or damaged; the WireGuard key is the X25519 form of the same identity. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/identity.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/ray-identity-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/identity.key", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_file(const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	fchmod(fd, mode);
	close(fd);
}

static void test_create_then_load(void **state)
{
	struct identity a, b;
	struct stat st;
	uint8_t wg_public[32];

	(void)state;
	assert_int_equal(identity_load_or_create(path, &a), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(identity_load_or_create(path, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* the WireGuard public key belongs to the derived secret */
	crypto_scalarmult_base(wg_public, a.wg_secret);
	assert_memory_equal(wg_public, a.wg_public, 32);
	identity_wipe(&a);
	identity_wipe(&b);
}

static void test_known_seed(void **state)
{
	/* RFC 8032 test 1: this seed has this ed25519 public key. */
	static const uint8_t seed[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
		0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
		0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
	};
	static const uint8_t pk[32] = {
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
		0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
		0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
	};
	struct identity id;

	(void)state;
	assert_int_equal(identity_from_seed(seed, &id), 0);
	assert_memory_equal(id.sign_public, pk, 32);
	/* the same file format as `wg genkey`: one line of base64 */
	write_file("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n", 45, 0600);
	identity_wipe(&id);
	assert_int_equal(identity_load_or_create(path, &id), 0);
	assert_memory_equal(id.sign_public, pk, 32);
	identity_wipe(&id);
}

static void test_refuses_unsafe_or_damaged(void **state)
{
	struct identity id;

	(void)state;
	write_file("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n", 45, 0644);
	assert_int_equal(identity_load_or_create(path, &id), -EPERM);
	write_file("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n", 45, 0640);
	assert_int_equal(identity_load_or_create(path, &id), -EPERM);
	write_file("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZ", 32, 0600);
	assert_int_equal(identity_load_or_create(path, &id), -EINVAL);
	write_file("", 0, 0600);
	assert_int_equal(identity_load_or_create(path, &id), -EINVAL);
	write_file("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\nextra\n", 51, 0600);
	assert_int_equal(identity_load_or_create(path, &id), -EINVAL);
	write_file("!WGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n", 45, 0600);
	assert_int_equal(identity_load_or_create(path, &id), -EINVAL);
	{
		char big[4096];

		memset(big, 'A', sizeof(big));
		write_file(big, sizeof(big), 0600);
		assert_int_equal(identity_load_or_create(path, &id), -EINVAL);
	}
	/* the damaged file is left alone, never replaced by a new identity */
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, 4096);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_then_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_unsafe_or_damaged, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
