/* The per-source rate limiter, on a fake clock: a burst is allowed then cut,
 * tokens come back at the rate, sources are independent, and a flood of
 * spoofed one-off sources neither refuses a client that keeps to the rate
 * nor lets a real flooding source out of its limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dns/ratelimit.h"

#define MS 1000000ull
#define S  1000000000ull

static void addr_of(uint8_t out[16], uint32_t v4)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(v4)};

	assert_int_equal(dns_ratelimit_key((const struct sockaddr *)&in, out), 0);
}

static unsigned allowed_now(struct dns_ratelimit *r, const uint8_t a[16], uint64_t now, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += dns_ratelimit_allow(r, a, now);
	return ok;
}

static void test_burst_then_cut(void **state)
{
	static struct dns_ratelimit r;
	uint8_t a[16];

	(void)state;
	dns_ratelimit_init(&r, 0, 0); /* the defaults: 50/s, burst 100 */
	addr_of(a, 0x0a000001);
	/* A clock that starts at 0 must work too. */
	assert_int_equal(allowed_now(&r, a, 0, 150), DNS_RATELIMIT_BURST);
	assert_false(dns_ratelimit_allow(&r, a, 1 * MS));
}

static void test_refill(void **state)
{
	static struct dns_ratelimit r;
	uint8_t a[16];
	uint64_t t = 5 * S;

	(void)state;
	dns_ratelimit_init(&r, 10, 5);
	addr_of(a, 0x0a000002);
	assert_int_equal(allowed_now(&r, a, t, 10), 5);
	/* One token per 100 ms. */
	assert_false(dns_ratelimit_allow(&r, a, t + 99 * MS));
	assert_true(dns_ratelimit_allow(&r, a, t + 100 * MS));
	assert_false(dns_ratelimit_allow(&r, a, t + 150 * MS));
	/* After a long idle time the bucket is full again, not fuller. */
	t += 100 * S;
	assert_int_equal(allowed_now(&r, a, t, 10), 5);
	/* A steady 10/s is allowed for good. */
	for (unsigned i = 1; i <= 100; i++)
		assert_true(dns_ratelimit_allow(&r, a, t + i * 100 * MS));
}

static void test_sources_independent(void **state)
{
	static struct dns_ratelimit r;
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	uint8_t a[16], b[16], c[16];

	(void)state;
	dns_ratelimit_init(&r, 50, 100);
	addr_of(a, 0x0a000003);
	addr_of(b, 0x0a000004);
	assert_int_equal(inet_pton(AF_INET6, "fd72:6179::3", &in6.sin6_addr), 1);
	assert_int_equal(dns_ratelimit_key((const struct sockaddr *)&in6, c), 0);
	assert_int_equal(allowed_now(&r, a, S, 200), 100);
	assert_int_equal(allowed_now(&r, b, S, 200), 100);
	assert_int_equal(allowed_now(&r, c, S, 200), 100);
	assert_false(dns_ratelimit_allow(&r, a, S));
}

static void test_key(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr sa = {.sa_family = AF_UNIX};
	uint8_t out[16];
	static const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64, 0, 1};

	(void)state;
	assert_int_equal(inet_pton(AF_INET, "100.64.0.1", &in.sin_addr), 1);
	assert_int_equal(dns_ratelimit_key((const struct sockaddr *)&in, out), 0);
	assert_memory_equal(out, want, 16);
	assert_int_equal(dns_ratelimit_key(&sa, out), -EINVAL);
}

/* 10,000 distinct spoofed sources, 1,000 queries a second for 10 s (each
 * address once), beside a client at 20/s and a real source flooding at
 * 1,000/s. The property the header states: the steady client is never
 * refused; the flooder gets no more than its burst plus its rate. */
static void test_flood(void **state)
{
	static struct dns_ratelimit r;
	uint8_t steady[16], flooder[16], spoof[16];
	unsigned steady_ok = 0, steady_n = 0, flood_ok = 0;

	(void)state;
	dns_ratelimit_init(&r, 50, 100);
	addr_of(steady, 0xc0a80001);
	addr_of(flooder, 0xc0a80002);
	for (uint64_t ms = 1; ms <= 10000; ms++) {
		uint64_t now = 1000 * S + ms * MS;

		addr_of(spoof, 0x0b000000u + (uint32_t)ms);
		dns_ratelimit_allow(&r, spoof, now);
		flood_ok += dns_ratelimit_allow(&r, flooder, now);
		if (ms % 50 == 0) {
			steady_n++;
			steady_ok += dns_ratelimit_allow(&r, steady, now);
		}
	}
	assert_int_equal(steady_n, 200);
	assert_int_equal(steady_ok, steady_n);
	assert_true(flood_ok <= 100 + 50 * 10 + 1);
	assert_true(flood_ok >= 50 * 10); /* and it was not locked out either */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_cut),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_sources_independent),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
