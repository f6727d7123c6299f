/* Wire layouts, TAI64N, and the hash/KDF primitives against vectors computed
 * independently with Python's hashlib and hmac. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wg/hash.h"
#include "wg/messages.h"
#include "wg/tai64n.h"

/* HMAC-BLAKE2s("key", "The quick brown fox jumps over the lazy dog") */
static const uint8_t kat_hmac[32] = {
	0xf9, 0x32, 0x15, 0xbb, 0x90, 0xd4, 0xaf, 0x4c, 0x30, 0x61, 0xcd,
	0x93, 0x2f, 0xb1, 0x69, 0xfb, 0x8b, 0xb8, 0xa9, 0x1d, 0x0b, 0x40,
	0x22, 0xba, 0xea, 0x12, 0x71, 0xe1, 0x32, 0x3c, 0xd9, 0xa0,
};

/* KDF3(32 zero bytes, "input") */
static const uint8_t kat_kdf1[32] = {
	0xfb, 0xff, 0x61, 0x19, 0xf2, 0x65, 0x25, 0x15, 0x60, 0x57, 0x6e,
	0x82, 0x51, 0x8f, 0x61, 0xae, 0xb4, 0x20, 0xcf, 0xf5, 0x5b, 0x5d,
	0xcf, 0x64, 0x94, 0x75, 0xb7, 0x58, 0xa0, 0x1f, 0x39, 0x51,
};
static const uint8_t kat_kdf2[32] = {
	0xa5, 0x34, 0xdd, 0x2f, 0x7d, 0x3e, 0x7e, 0x61, 0x45, 0x08, 0xdb,
	0xa7, 0xc6, 0x75, 0xd5, 0xcf, 0x10, 0x08, 0xb3, 0x83, 0x67, 0x0c,
	0xd8, 0xfd, 0x46, 0x23, 0x1a, 0xa3, 0x8b, 0xbf, 0xb6, 0x18,
};
static const uint8_t kat_kdf3[32] = {
	0x61, 0x83, 0x28, 0x29, 0x7d, 0x2a, 0xf9, 0xaf, 0x1d, 0xf2, 0xc2,
	0xef, 0x6b, 0xba, 0x1a, 0xb4, 0x1d, 0xdf, 0xb8, 0xe0, 0xfd, 0x0e,
	0xe8, 0xbd, 0xb7, 0xef, 0x23, 0x77, 0x90, 0xeb, 0xa0, 0x11,
};

/* BLAKE2s-256(CONSTRUCTION), the initial chaining key */
static const uint8_t kat_ck0[32] = {
	0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35,
	0xe2, 0xa0, 0x25, 0xd2, 0xd0, 0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72,
	0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
};

/* BLAKE2s-128 keyed with 16 bytes of 0x01, of "abc" */
static const uint8_t kat_mac[16] = {
	0x01, 0x1f, 0xe4, 0x21, 0x9a, 0x14, 0x01, 0x41,
	0x49, 0x18, 0x4c, 0xf6, 0x6d, 0x37, 0xe7, 0xa3,
};

static void test_hash_vectors(void **state)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	uint8_t zero[32] = {0}, out[32], k1[32], k2[32], k3[32], key[16];

	(void)state;
	wg_hash_hmac(out, (const uint8_t *)"key", 3, fox, strlen(fox));
	assert_memory_equal(out, kat_hmac, 32);

	wg_hash_kdf(k1, k2, k3, zero, "input", 5);
	assert_memory_equal(k1, kat_kdf1, 32);
	assert_memory_equal(k2, kat_kdf2, 32);
	assert_memory_equal(k3, kat_kdf3, 32);
	/* Fewer outputs are prefixes of the same expansion. */
	memset(k2, 0, sizeof(k2));
	wg_hash_kdf(k1, k2, NULL, zero, "input", 5);
	assert_memory_equal(k2, kat_kdf2, 32);
	/* Output aliasing the key, as the chaining key update does. */
	wg_hash_kdf(zero, NULL, NULL, zero, "input", 5);
	assert_memory_equal(zero, kat_kdf1, 32);

	wg_hash(out, WG_CONSTRUCTION, strlen(WG_CONSTRUCTION), NULL, 0);
	assert_memory_equal(out, kat_ck0, 32);

	memset(key, 1, sizeof(key));
	wg_hash_mac(out, key, sizeof(key), "abc", 3);
	assert_memory_equal(out, kat_mac, 16);
}

static void test_msg_type(void **state)
{
	uint8_t buf[200] = {0};

	(void)state;
	buf[0] = WG_MSG_INITIATION;
	assert_int_equal(wg_msg_type(buf, 148), WG_MSG_INITIATION);
	assert_int_equal(wg_msg_type(buf, 147), -EINVAL);
	assert_int_equal(wg_msg_type(buf, 149), -EINVAL);
	buf[0] = WG_MSG_RESPONSE;
	assert_int_equal(wg_msg_type(buf, 92), WG_MSG_RESPONSE);
	assert_int_equal(wg_msg_type(buf, 91), -EINVAL);
	assert_int_equal(wg_msg_type(buf, 93), -EINVAL);
	buf[0] = WG_MSG_COOKIE_REPLY;
	assert_int_equal(wg_msg_type(buf, 64), WG_MSG_COOKIE_REPLY);
	assert_int_equal(wg_msg_type(buf, 63), -EINVAL);
	assert_int_equal(wg_msg_type(buf, 65), -EINVAL);
	buf[0] = WG_MSG_DATA;
	assert_int_equal(wg_msg_type(buf, 32), WG_MSG_DATA);
	assert_int_equal(wg_msg_type(buf, 200), WG_MSG_DATA);
	assert_int_equal(wg_msg_type(buf, 31), -EINVAL);
	assert_int_equal(wg_msg_type(buf, 0), -EINVAL);
	/* Reserved bytes must be zero: the type is a little-endian u32. */
	buf[2] = 1;
	assert_int_equal(wg_msg_type(buf, 32), -EINVAL);
	buf[2] = 0;
	buf[0] = 0;
	assert_int_equal(wg_msg_type(buf, 32), -EINVAL);
	buf[0] = 5;
	assert_int_equal(wg_msg_type(buf, 32), -EINVAL);
}

static void test_codec_roundtrip(void **state)
{
	struct wg_msg_initiation in, in2;
	struct wg_msg_response rs, rs2;
	uint8_t b1[WG_MSG_INITIATION_LEN], b2[WG_MSG_RESPONSE_LEN];
	size_t i;

	(void)state;
	in.sender = 0x01020304;
	for (i = 0; i < sizeof(in.ephemeral); i++)
		in.ephemeral[i] = (uint8_t)i;
	memset(in.encrypted_static, 0xaa, sizeof(in.encrypted_static));
	memset(in.encrypted_timestamp, 0xbb, sizeof(in.encrypted_timestamp));
	wg_msg_initiation_encode(&in, b1);
	assert_int_equal(b1[0], 1);
	assert_int_equal(b1[4], 0x04); /* little-endian */
	assert_int_equal(b1[7], 0x01);
	assert_int_equal(b1[WG_INIT_OFF_STATIC], 0xaa);
	assert_int_equal(b1[WG_INIT_OFF_TIMESTAMP + 27], 0xbb);
	assert_int_equal(b1[WG_INIT_OFF_MAC1], 0);
	assert_int_equal(wg_msg_sender(b1), 0x01020304);
	assert_int_equal(wg_msg_initiation_decode(b1, sizeof(b1), &in2), 0);
	assert_memory_equal(&in, &in2, sizeof(in));
	assert_int_equal(wg_msg_initiation_decode(b1, sizeof(b1) - 1, &in2), -EINVAL);

	rs.sender = 7;
	rs.receiver = 0xfffffffe;
	memset(rs.ephemeral, 0xcc, sizeof(rs.ephemeral));
	memset(rs.encrypted_nothing, 0xdd, sizeof(rs.encrypted_nothing));
	wg_msg_response_encode(&rs, b2);
	assert_int_equal(wg_msg_receiver(b2), 0xfffffffe);
	assert_int_equal(wg_msg_sender(b2), 7);
	assert_int_equal(wg_msg_response_decode(b2, sizeof(b2), &rs2), 0);
	assert_memory_equal(&rs, &rs2, sizeof(rs));
	assert_int_equal(wg_msg_response_decode(b1, sizeof(b1), &rs2), -EINVAL);
	assert_int_equal(wg_msg_initiation_decode(b2, sizeof(b2), &in2), -EINVAL);
}

static void test_le_helpers(void **state)
{
	uint8_t b[8];

	(void)state;
	wg_le64_put(b, 0x0102030405060708ULL);
	assert_int_equal(b[0], 8);
	assert_int_equal(b[7], 1);
	assert_true(wg_le64_get(b) == 0x0102030405060708ULL);
	wg_le32_put(b, 0xdeadbeef);
	assert_int_equal(wg_le32_get(b), 0xdeadbeef);
}

static void test_tai64n(void **state)
{
	static const uint8_t expect[12] = {0x40, 0,    0,    0,	   0x65, 0x53,
					   0xf1, 0x0a, 0x0a, 0x00, 0x00, 0x00};
	uint8_t a[12], b[12];

	(void)state;
	/* 1700000000 s = 0x6553f100; nanoseconds keep only bits 24..31. */
	wg_tai64n_encode(a, 1700000000, 0x0abcdef1);
	assert_memory_equal(a, expect, 12);

	/* Within one 2^24 ns step the timestamps are equal; across, ordered. */
	wg_tai64n_encode(a, 1700000000, 0x01000000);
	wg_tai64n_encode(b, 1700000000, 0x01ffffff);
	assert_int_equal(wg_tai64n_compare(a, b), 0);
	wg_tai64n_encode(b, 1700000000, 0x02000000);
	assert_true(wg_tai64n_compare(a, b) < 0);
	wg_tai64n_encode(b, 1700000001, 0);
	assert_true(wg_tai64n_compare(a, b) < 0);
	assert_true(wg_tai64n_compare(b, a) > 0);
	/* Seconds dominate nanoseconds. */
	wg_tai64n_encode(a, 1699999999, 999999999);
	assert_true(wg_tai64n_compare(a, b) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),	cmocka_unit_test(test_msg_type),
		cmocka_unit_test(test_codec_roundtrip), cmocka_unit_test(test_le_helpers),
		cmocka_unit_test(test_tai64n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
