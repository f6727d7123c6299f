/* Network control messages: round trips, the join request's rules (a room
 * is required, an invite id comes with its secret), invite gossip's rules (a
 * share is a hash with its expiry), and truncations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "control/codec.h"
#include "net/messages.h"

static void test_join_round_trip(void **state)
{
	struct net_msg_join in = {.has_invite = true, .invite_id = 77}, out;
	struct ctl_codec_writer w;
	uint8_t buf[256];
	size_t len;

	(void)state;
	memset(in.room, 0xab, sizeof(in.room));
	memset(in.secret, 0x5a, sizeof(in.secret));
	strcpy(in.hostname, "laptop");
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(net_msg_join_encode(&w, &in), 0);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_join_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(net_msg_join_decode(buf, i, &out), -EBADMSG);

	/* by room id alone */
	in.has_invite = false;
	in.invite_id = 0;
	memset(in.secret, 0, sizeof(in.secret));
	in.hostname[0] = '\0';
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(net_msg_join_encode(&w, &in), 0);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_join_decode(buf, len, &out), 0);
	assert_false(out.has_invite);
	assert_string_equal(out.hostname, "");
}

static void test_join_refusals(void **state)
{
	struct ctl_codec_writer w;
	struct net_msg_join out;
	uint8_t buf[256], room[32] = {1}, secret[16] = {2};
	size_t len;

	(void)state;
	/* an invite id without a secret */
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 2);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_bin(&w, room, 32);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_uint(&w, 5);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_join_decode(buf, len, &out), -EBADMSG);
	/* no room */
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 1);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_bin(&w, secret, 16);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_join_decode(buf, len, &out), -EBADMSG);
	/* a short room */
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 1);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_bin(&w, room, 31);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_join_decode(buf, len, &out), -EBADMSG);
	/* a hostname too long */
	{
		char host[80];

		memset(host, 'a', sizeof(host));
		ctl_codec_writer_init(&w, buf, sizeof(buf));
		ctl_codec_put_map(&w, 2);
		ctl_codec_put_uint(&w, 1);
		ctl_codec_put_bin(&w, room, 32);
		ctl_codec_put_uint(&w, 4);
		ctl_codec_put_str(&w, host, sizeof(host));
		ctl_codec_writer_data(&w, &len);
		assert_int_equal(net_msg_join_decode(buf, len, &out), -EBADMSG);
	}
}

static void test_room_and_blob(void **state)
{
	struct net_msg_room in = {.version = 123456789}, out;
	struct ctl_codec_writer w;
	const uint8_t *blob;
	uint8_t buf[256], data[40];
	size_t len, blen;

	(void)state;
	memset(in.room, 7, sizeof(in.room));
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(net_msg_room_encode(&w, &in), 0);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_room_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	in.version = 0;
	in.has_hash = true;
	memset(in.hash, 9, sizeof(in.hash));
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(net_msg_room_encode(&w, &in), 0);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_room_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(net_msg_room_decode(buf, i, &out), -EBADMSG);

	memset(data, 3, sizeof(data));
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(net_msg_blob_encode(&w, data, sizeof(data)), 0);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_blob_decode(buf, len, &blob, &blen), 0);
	assert_int_equal(blen, sizeof(data));
	assert_memory_equal(blob, data, sizeof(data));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(net_msg_blob_decode(buf, i, &blob, &blen), -EBADMSG);
}

static void test_grant(void **state)
{
	struct net_msg_grant in, out;
	struct ctl_codec_writer w;
	uint8_t buf[256];
	size_t len;

	(void)state;
	memset(in.room, 1, sizeof(in.room));
	memset(in.secret, 2, sizeof(in.secret));
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(net_msg_grant_encode(&w, &in), 0);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_grant_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(net_msg_grant_decode(buf, i, &out), -EBADMSG);
}

static void invite_encode(const struct net_msg_invite *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct ctl_codec_writer w;

	ctl_codec_writer_init(&w, buf, cap);
	assert_int_equal(net_msg_invite_encode(&w, m), 0);
	ctl_codec_writer_data(&w, len);
}

static void test_invite(void **state)
{
	struct net_msg_invite in = {.id = 0xdeadbeef, .has_share = true, .expires = 1700086400},
			      out;
	struct ctl_codec_writer w;
	uint8_t buf[256], room[32] = {1}, hash[32] = {2};
	size_t len;

	(void)state;
	/* a share, with and without a bound hostname */
	memset(in.room, 0x11, sizeof(in.room));
	memset(in.secret_hash, 0x22, sizeof(in.secret_hash));
	strcpy(in.hostname, "printer");
	invite_encode(&in, buf, sizeof(buf), &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(net_msg_invite_decode(buf, i, &out), -EBADMSG);
	memset(in.hostname, 0, sizeof(in.hostname));
	invite_encode(&in, buf, sizeof(buf), &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));

	/* used (a joiner), revoked (the id alone) */
	memset(&in, 0, sizeof(in));
	memset(in.room, 0x33, sizeof(in.room));
	in.id = 1;
	in.has_joiner = true;
	memset(in.joiner, 0x44, sizeof(in.joiner));
	invite_encode(&in, buf, sizeof(buf), &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(net_msg_invite_decode(buf, i, &out), -EBADMSG);
	in.has_joiner = false;
	memset(in.joiner, 0, sizeof(in.joiner));
	invite_encode(&in, buf, sizeof(buf), &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	assert_false(out.has_share);

	/* a hash without its expiry */
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 3);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_bin(&w, room, 32);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_uint(&w, 5);
	ctl_codec_put_uint(&w, 6);
	ctl_codec_put_bin(&w, hash, 32);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), -EBADMSG);
	/* an expiry without its hash */
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 3);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_bin(&w, room, 32);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_uint(&w, 5);
	ctl_codec_put_uint(&w, 7);
	ctl_codec_put_uint(&w, 99);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), -EBADMSG);
	/* a hostname outside a share */
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 3);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_bin(&w, room, 32);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_uint(&w, 5);
	ctl_codec_put_uint(&w, 4);
	ctl_codec_put_str(&w, "x", 1);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), -EBADMSG);
	/* id 0, an id past 32 bits, no id, no room */
	for (int c = 0; c < 4; c++) {
		ctl_codec_writer_init(&w, buf, sizeof(buf));
		ctl_codec_put_map(&w, c < 2 ? 2 : 1);
		if (c != 3) {
			ctl_codec_put_uint(&w, 1);
			ctl_codec_put_bin(&w, room, 32);
		}
		if (c != 2) {
			ctl_codec_put_uint(&w, 2);
			ctl_codec_put_uint(&w, c == 0 ? 0 : c == 1 ? 1ull << 32 : 7);
		}
		ctl_codec_writer_data(&w, &len);
		assert_int_equal(net_msg_invite_decode(buf, len, &out), -EBADMSG);
	}
	/* a short joiner; unknown keys are skipped */
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 3);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_bin(&w, room, 32);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_uint(&w, 5);
	ctl_codec_put_uint(&w, 8);
	ctl_codec_put_bin(&w, hash, 31);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), -EBADMSG);
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	ctl_codec_put_map(&w, 3);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_bin(&w, room, 32);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_uint(&w, 5);
	ctl_codec_put_uint(&w, 99);
	ctl_codec_put_str(&w, "later", 5);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(net_msg_invite_decode(buf, len, &out), 0);
	assert_int_equal(out.id, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_round_trip), cmocka_unit_test(test_join_refusals),
		cmocka_unit_test(test_room_and_blob),	cmocka_unit_test(test_grant),
		cmocka_unit_test(test_invite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
