/* The peer table: receiver indices survive growth and deletion (backward
 * shift), routing picks the longest prefix, removal drops a peer's indices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "session/peer.h"

static void test_index_map(void **state)
{
	struct peer_table t;
	struct peer a, b;
	uint32_t idx[2000];

	(void)state;
	peer_table_init(&t);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(peer_index_new(&t, i % 2 ? &a : &b, &idx[i]), 0);
	for (int i = 0; i < 2000; i++)
		assert_ptr_equal(peer_index_get(&t, idx[i]), i % 2 ? &a : &b);
	/* drop every third, the rest must still be found */
	for (int i = 0; i < 2000; i += 3)
		peer_index_drop(&t, idx[i]);
	for (int i = 0; i < 2000; i++)
		assert_ptr_equal(peer_index_get(&t, idx[i]), i % 3 ? (i % 2 ? &a : &b) : NULL);
	assert_int_equal(t.nused, 2000 - 667);
	t.peers = NULL;
	peer_table_destroy(&t);
}

static void test_route_and_remove(void **state)
{
	struct wg_noise_local local;
	struct wg_noise_upcalls up = {0};
	uint8_t sk[32], k1[32], k2[32];
	struct peer_table t;
	struct peer *p1, *p2;
	struct ip_addr a;
	unsigned len;
	uint32_t i1;

	(void)state;
	randombytes_buf(sk, sizeof(sk));
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	assert_int_equal(wg_noise_local_init(&local, sk, &up, NULL), 0);
	peer_table_init(&t);
	p1 = peer_table_add(&t, &local, k1, NULL);
	p2 = peer_table_add(&t, &local, k2, NULL);
	ip_prefix_parse("10.0.0.0/8", &a, &len);
	peer_add_allowed(p1, &a, len);
	ip_prefix_parse("10.1.0.0/16", &a, &len);
	peer_add_allowed(p2, &a, len);
	ip_prefix_parse("10.1.2.3", &a, &len);
	assert_ptr_equal(peer_table_route(&t, &a), p2);
	ip_prefix_parse("10.2.0.1", &a, &len);
	assert_ptr_equal(peer_table_route(&t, &a), p1);
	ip_prefix_parse("11.0.0.1", &a, &len);
	assert_null(peer_table_route(&t, &a));
	assert_ptr_equal(peer_table_by_wg_key(&t, k2), p2);
	assert_int_equal(peer_index_new(&t, p2, &i1), 0);
	peer_table_remove(&t, p2);
	assert_null(peer_index_get(&t, i1));
	assert_null(peer_table_by_wg_key(&t, k2));
	assert_int_equal(t.count, 1);
	peer_table_destroy(&t);
	wg_noise_local_destroy(&local);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_map),
		cmocka_unit_test(test_route_and_remove),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
