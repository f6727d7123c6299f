/* The relay's record store: store and fetch the exact bytes, replace only
 * with a strictly newer record, refuse what record_parse_verify refuses
 * (bad signature, expired, malformed, too big) and a record put under
 * another signer's ID, expiry on lookup and by the bounded sweep, and the
 * cap on the number of records. Time is an argument, so nothing waits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "path/record.h"
#include "relay/record_store.h"

#define NOW  1700000000000ull
#define HOUR 3600000ull

struct key {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

struct signed_record {
	uint8_t buf[RECORD_MAX_LEN];
	size_t len;
};

static void key_from(uint8_t fill, struct key *k)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	memset(seed, fill, sizeof(seed));
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

/* A node record of K dated TS, valid for TTL. */
static void make(const struct key *k, uint64_t ts, uint64_t ttl, struct signed_record *out)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.kind = RECORD_NODE;
	memcpy(r.signer, k->pk, RECORD_KEY_LEN);
	r.timestamp_ms = ts;
	r.expires_ms = ts + ttl;
	r.body.node.relay_count = 1;
	strcpy(r.body.node.relays[0], "http://192.0.2.1:3340");
	r.body.node.addr_count = 1;
	assert_int_equal(endpoint_parse("198.51.100.7:41383", &r.body.node.addrs[0]), 0);
	assert_int_equal(record_sign(&r, k->sk, out->buf, sizeof(out->buf), &out->len), 0);
}

static void expect_stored(struct record_store *st, const struct key *k, uint64_t now,
			  const struct signed_record *want)
{
	uint8_t got[RECORD_MAX_LEN];
	size_t len = 0;

	assert_int_equal(record_store_get(st, k->pk, now, got, &len), 0);
	assert_int_equal(len, want->len);
	assert_memory_equal(got, want->buf, len);
}

static void test_store_and_replace(void **state)
{
	struct record_store *st;
	struct key a, b;
	struct signed_record r1, r2, rb;
	uint8_t got[RECORD_MAX_LEN];
	size_t len;

	(void)state;
	key_from(1, &a);
	key_from(2, &b);
	make(&a, NOW, HOUR, &r1);
	make(&a, NOW + 1, HOUR, &r2);
	make(&b, NOW, HOUR, &rb);
	assert_int_equal(record_store_new(0, &st), 0);
	assert_int_equal(record_store_get(st, a.pk, NOW, got, &len), -ENOENT);
	assert_int_equal(record_store_put(st, a.pk, r1.buf, r1.len, NOW), 0);
	assert_int_equal(record_store_put(st, b.pk, rb.buf, rb.len, NOW), 0);
	assert_int_equal(record_store_count(st), 2);
	expect_stored(st, &a, NOW, &r1);
	expect_stored(st, &b, NOW, &rb);
	/* newer replaces; the same again, or the older one, is refused */
	assert_int_equal(record_store_put(st, a.pk, r2.buf, r2.len, NOW), 0);
	assert_int_equal(record_store_put(st, a.pk, r2.buf, r2.len, NOW), -EALREADY);
	assert_int_equal(record_store_put(st, a.pk, r1.buf, r1.len, NOW), -EALREADY);
	assert_int_equal(record_store_count(st), 2);
	expect_stored(st, &a, NOW, &r2);
	expect_stored(st, &b, NOW, &rb);
	record_store_free(st);
	record_store_free(NULL);
}

static void test_same_timestamp_other_bytes(void **state)
{
	struct record_store *st;
	struct key a;
	struct signed_record r1, r2;

	(void)state;
	key_from(1, &a);
	make(&a, NOW, HOUR, &r1);
	make(&a, NOW, 2 * HOUR, &r2); /* same timestamp, other content */
	assert_true(r1.len != r2.len || memcmp(r1.buf, r2.buf, r1.len) != 0);
	assert_int_equal(record_store_new(0, &st), 0);
	assert_int_equal(record_store_put(st, a.pk, r1.buf, r1.len, NOW), 0);
	assert_int_equal(record_store_put(st, a.pk, r2.buf, r2.len, NOW), -EALREADY);
	expect_stored(st, &a, NOW, &r1);
	record_store_free(st);
}

static void test_refusals(void **state)
{
	struct record_store *st;
	struct key a, b;
	struct signed_record r, bad;
	uint8_t big[RECORD_MAX_LEN + 1] = {0}, got[RECORD_MAX_LEN];
	size_t len;

	(void)state;
	key_from(1, &a);
	key_from(2, &b);
	make(&a, NOW, HOUR, &r);
	assert_int_equal(record_store_new(0, &st), 0);
	/* a flipped bit in the signature (the last 64 bytes) */
	bad = r;
	bad.buf[bad.len - 5] ^= 0x10;
	assert_int_equal(record_store_put(st, a.pk, bad.buf, bad.len, NOW), -EKEYREJECTED);
	/* a valid record under someone else's ID */
	assert_int_equal(record_store_put(st, b.pk, r.buf, r.len, NOW), -EINVAL);
	/* expired, and dated too far ahead */
	assert_int_equal(record_store_put(st, a.pk, r.buf, r.len, NOW + HOUR), -ESTALE);
	assert_int_equal(record_store_put(st, a.pk, r.buf, r.len, NOW - RECORD_MAX_FUTURE_MS - 1),
			 -ERANGE);
	/* garbage, truncation, nothing, too big */
	assert_int_equal(record_store_put(st, a.pk, r.buf, r.len - 1, NOW), -EBADMSG);
	assert_int_equal(record_store_put(st, a.pk, (const uint8_t *)"hello", 5, NOW), -EBADMSG);
	assert_int_equal(record_store_put(st, a.pk, r.buf, 0, NOW), -EBADMSG);
	assert_int_equal(record_store_put(st, a.pk, big, sizeof(big), NOW), -EMSGSIZE);
	assert_int_equal(record_store_count(st), 0);
	assert_int_equal(record_store_get(st, a.pk, NOW, got, &len), -ENOENT);
	assert_int_equal(record_store_get(st, b.pk, NOW, got, &len), -ENOENT);
	record_store_free(st);
}

static void test_expiry_on_lookup(void **state)
{
	struct record_store *st;
	struct key a;
	struct signed_record r, old;
	uint8_t got[RECORD_MAX_LEN];
	size_t len;

	(void)state;
	key_from(1, &a);
	make(&a, NOW, HOUR, &r);
	make(&a, NOW - 1000, 2 * HOUR, &old);
	assert_int_equal(record_store_new(0, &st), 0);
	assert_int_equal(record_store_put(st, a.pk, r.buf, r.len, NOW), 0);
	expect_stored(st, &a, NOW + HOUR - 1, &r);
	/* at its expiry time it is gone, and dropped */
	assert_int_equal(record_store_get(st, a.pk, NOW + HOUR, got, &len), -ENOENT);
	assert_int_equal(record_store_count(st), 0);
	/* an older record may come back once the newer one has expired */
	assert_int_equal(record_store_put(st, a.pk, r.buf, r.len, NOW), 0);
	assert_int_equal(record_store_put(st, a.pk, old.buf, old.len, NOW + HOUR - 1), -EALREADY);
	assert_int_equal(record_store_put(st, a.pk, old.buf, old.len, NOW + HOUR), 0);
	expect_stored(st, &a, NOW + HOUR, &old);
	assert_int_equal(record_store_count(st), 1);
	record_store_free(st);
}

static void test_full(void **state)
{
	struct record_store *st;
	struct key k[5];
	struct signed_record r[5], short_lived, newer;

	(void)state;
	for (int i = 0; i < 5; i++) {
		key_from((uint8_t)(10 + i), &k[i]);
		make(&k[i], NOW, HOUR, &r[i]);
	}
	assert_int_equal(record_store_new(3, &st), 0);
	make(&k[0], NOW, 1000, &short_lived);
	assert_int_equal(record_store_put(st, k[0].pk, short_lived.buf, short_lived.len, NOW), 0);
	assert_int_equal(record_store_put(st, k[1].pk, r[1].buf, r[1].len, NOW), 0);
	assert_int_equal(record_store_put(st, k[2].pk, r[2].buf, r[2].len, NOW), 0);
	assert_int_equal(record_store_put(st, k[3].pk, r[3].buf, r[3].len, NOW), -ENOSPC);
	/* replacing a stored signer's record needs no room */
	make(&k[1], NOW + 5, HOUR, &newer);
	assert_int_equal(record_store_put(st, k[1].pk, newer.buf, newer.len, NOW), 0);
	assert_int_equal(record_store_count(st), 3);
	/* once one has expired, a put makes room by dropping it */
	assert_int_equal(record_store_put(st, k[3].pk, r[3].buf, r[3].len, NOW + 1000), 0);
	assert_int_equal(record_store_count(st), 3);
	assert_int_equal(record_store_put(st, k[4].pk, r[4].buf, r[4].len, NOW + 1000), -ENOSPC);
	expect_stored(st, &k[1], NOW + 1000, &newer);
	expect_stored(st, &k[2], NOW + 1000, &r[2]);
	expect_stored(st, &k[3], NOW + 1000, &r[3]);
	record_store_free(st);
}

/* Many records: the table grows and every one is found; the sweep drops
 * expired ones a bounded amount at a time and keeps the live ones. */
static void test_many_and_sweep(void **state)
{
	enum { N = 1500 };
	static struct key keys[N];
	struct record_store *st;
	struct signed_record r;
	size_t dropped = 0, calls = 0, n;

	(void)state;
	assert_int_equal(record_store_new(0, &st), 0);
	for (int i = 0; i < N; i++) {
		uint8_t seed[crypto_sign_SEEDBYTES] = {0};

		memcpy(seed, &i, sizeof(i));
		seed[31] = 0x77;
		crypto_sign_seed_keypair(keys[i].pk, keys[i].sk, seed);
		/* even ones live an hour, odd ones a second */
		make(&keys[i], NOW, i % 2 ? 1000 : HOUR, &r);
		assert_int_equal(record_store_put(st, keys[i].pk, r.buf, r.len, NOW), 0);
	}
	assert_int_equal(record_store_count(st), N);
	for (int i = 0; i < N; i++) {
		uint8_t got[RECORD_MAX_LEN];
		size_t len;

		assert_int_equal(record_store_get(st, keys[i].pk, NOW, got, &len), 0);
	}
	assert_int_equal(record_store_expire(st, NOW + 999, 1000000), 0);
	while (dropped < N / 2) {
		n = record_store_expire(st, NOW + 1000, 100);
		assert_true(n <= 100);
		dropped += n;
		assert_true(++calls < 1000);
	}
	assert_int_equal(dropped, N / 2);
	assert_true(calls > 1); /* the budget was respected */
	assert_int_equal(record_store_count(st), N / 2);
	assert_int_equal(record_store_expire(st, NOW + 1000, 1000000), 0);
	for (int i = 0; i < N; i++) {
		uint8_t got[RECORD_MAX_LEN];
		size_t len;

		assert_int_equal(record_store_get(st, keys[i].pk, NOW + 1000, got, &len),
				 i % 2 ? -ENOENT : 0);
	}
	record_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_and_replace),
		cmocka_unit_test(test_same_timestamp_other_bytes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_expiry_on_lookup),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_many_and_sweep),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
