/* Address derivation. The vectors were computed by an independent Python
 * implementation of the rule documented in crypto/address.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

#include "crypto/address.h"

static void key_fill(uint8_t key[32], int fill)
{
	for (int i = 0; i < 32; i++)
		key[i] = fill < 0 ? (uint8_t)i : (uint8_t)fill;
}

static void assert_ipv4(uint32_t ip, const char *want)
{
	struct in_addr a = {htonl(ip)};
	char text[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, text, sizeof(text));
	assert_string_equal(text, want);
}

static void test_vectors(void **state)
{
	static const struct {
		int fill;	   /* -1: bytes 0..31 */
		const char *v4[3]; /* collision index 0, 1, 7 */
		const char *v6;
	} vectors[] = {
		{-1,
		 {"100.86.101.48", "100.86.99.149", "100.86.89.243"},
		 "fd72:6179:cb2f:5160:fc1f:7e05:a55e:f49d"},
		{0xff,
		 {"100.87.251.76", "100.87.249.177", "100.87.240.15"},
		 "fd72:6179:e202:1160:500f:119:b8b:9f36"},
		{0x00,
		 {"100.98.36.84", "100.98.34.185", "100.98.25.23"},
		 "fd72:6179:89eb:d6a:8a69:1dae:2cd1:5ed0"},
	};
	static const uint32_t index[3] = {0, 1, 7};
	char text[INET6_ADDRSTRLEN];
	struct in6_addr v6;
	uint8_t key[32];

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		key_fill(key, vectors[i].fill);
		for (int j = 0; j < 3; j++)
			assert_ipv4(address_ipv4_derive(key, index[j]), vectors[i].v4[j]);
		address_ipv6_derive(key, &v6);
		inet_ntop(AF_INET6, &v6, text, sizeof(text));
		assert_string_equal(text, vectors[i].v6);
	}
}

/* Key 00 00 37 84 00...: index 0 first maps into 100.100.100.0/24 (to
 * 100.100.100.235), which is reserved, so the rehash rule applies. */
static void test_reserved_range_is_skipped(void **state)
{
	uint8_t key[32] = {0x00, 0x00, 0x37, 0x84};

	(void)state;
	assert_ipv4(address_ipv4_derive(key, 0), "100.66.3.165");
}

static void test_random_ids_stay_in_prefix(void **state)
{
	uint8_t key[32];
	struct in6_addr v6;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		uint32_t ip;

		randombytes_buf(key, sizeof(key));
		ip = address_ipv4_derive(key, (uint32_t)(i % 4));
		assert_true(address_ipv4_in_mesh(ip));
		assert_int_not_equal(ip, 0x64400000u); /* network 100.64.0.0 */
		assert_int_not_equal(ip, 0x647fffffu); /* broadcast 100.127.255.255 */
		assert_int_not_equal(ip & 0xffffff00u, 0x64646400u);
		address_ipv6_derive(key, &v6);
		assert_true(address_ipv6_in_mesh(&v6));
		assert_memory_not_equal(&v6, &address_dns_ipv6, 16);
	}
}

static void test_mesh_membership(void **state)
{
	struct in6_addr outside = {{{0xfd, 0x72, 0x61, 0x7a}}};

	(void)state;
	assert_true(address_ipv4_in_mesh(0x64400000u));
	assert_true(address_ipv4_in_mesh(0x647fffffu));
	assert_false(address_ipv4_in_mesh(0x643fffffu));
	assert_false(address_ipv4_in_mesh(0x64800000u));
	assert_true(address_ipv6_in_mesh(&address_dns_ipv6));
	assert_false(address_ipv6_in_mesh(&outside));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_reserved_range_is_skipped),
		cmocka_unit_test(test_random_ids_stay_in_prefix),
		cmocka_unit_test(test_mesh_membership),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
