/* mac1, mac2 and cookie replies: a responder under load, an initiator that
 * learns a cookie and retries, and the ways replies and macs can be wrong. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "wg/cookie.h"
#include "wg/messages.h"

#define SEC WG_NSEC_PER_SEC

static const uint8_t src1[6] = {192, 0, 2, 1, 0xca, 0x6c};    /* 192.0.2.1:51820 */
static const uint8_t src2[6] = {198, 51, 100, 7, 0xca, 0x6c}; /* another host */

struct fixture {
	uint8_t responder_public[32];
	struct wg_cookie_checker cc; /* responder */
	struct wg_cookie_maker cm;   /* initiator's view of the responder */
	uint8_t msg[WG_MSG_INITIATION_LEN];
};

static void fixture_init(struct fixture *f)
{
	uint8_t priv[32];
	size_t i;

	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(f->responder_public, priv);
	wg_cookie_checker_init(&f->cc, f->responder_public);
	wg_cookie_maker_init(&f->cm, f->responder_public);
	/* Any well-formed initiation will do: macs do not look inside. */
	memset(f->msg, 0, sizeof(f->msg));
	f->msg[0] = WG_MSG_INITIATION;
	for (i = 4; i < WG_INIT_OFF_MAC1; i++)
		f->msg[i] = (uint8_t)i;
}

static void fixture_fini(struct fixture *f)
{
	wg_cookie_checker_destroy(&f->cc);
	wg_cookie_maker_destroy(&f->cm);
}

static enum wg_cookie_verdict check(struct fixture *f, const uint8_t *msg, size_t len,
				    const uint8_t *src, uint64_t now, bool load)
{
	return wg_cookie_checker_validate(&f->cc, msg, len, src, 6, now, load);
}

static void test_mac1(void **state)
{
	struct fixture f;
	struct wg_cookie_maker wrong;
	uint8_t other[32], bad[WG_MSG_INITIATION_LEN];
	size_t i;

	(void)state;
	fixture_init(&f);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 0), 0);
	/* No cookie yet: mac2 is zero. */
	for (i = WG_INIT_OFF_MAC2; i < sizeof(f.msg); i++)
		assert_int_equal(f.msg[i], 0);
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, 0, false), WG_COOKIE_ACCEPT);

	/* Every byte up to and including mac1 is covered. */
	for (i = 0; i < WG_INIT_OFF_MAC2; i++) {
		memcpy(bad, f.msg, sizeof(bad));
		bad[i] ^= 0x40;
		assert_int_equal(check(&f, bad, sizeof(bad), src1, 0, false), WG_COOKIE_DROP);
	}
	/* Wrong lengths and types. */
	assert_int_equal(check(&f, f.msg, sizeof(f.msg) - 1, src1, 0, false), WG_COOKIE_DROP);
	assert_int_equal(check(&f, f.msg, 4, src1, 0, false), WG_COOKIE_DROP);
	memcpy(bad, f.msg, sizeof(bad));
	bad[0] = WG_MSG_DATA;
	assert_int_equal(check(&f, bad, sizeof(bad), src1, 0, false), WG_COOKIE_DROP);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, bad, sizeof(bad), 0), -EINVAL);

	/* mac1 made for another responder's key. */
	randombytes_buf(other, sizeof(other));
	wg_cookie_maker_init(&wrong, other);
	memcpy(bad, f.msg, sizeof(bad));
	assert_int_equal(wg_cookie_maker_add_macs(&wrong, bad, sizeof(bad), 0), 0);
	assert_int_equal(check(&f, bad, sizeof(bad), src1, 0, false), WG_COOKIE_DROP);
	fixture_fini(&f);
}

static void test_cookie_under_load(void **state)
{
	struct fixture f;
	uint8_t reply[WG_MSG_COOKIE_REPLY_LEN];

	(void)state;
	fixture_init(&f);
	wg_le32_put(f.msg + WG_INIT_OFF_SENDER, 0xcafe0001);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 0), 0);

	/* Under load, a valid mac1 without mac2 earns a cookie reply. */
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, 0, true), WG_COOKIE_SEND_REPLY);
	assert_int_equal(
		wg_cookie_checker_create_reply(&f.cc, reply, f.msg, sizeof(f.msg), src1, 6, 0), 0);
	assert_int_equal(wg_msg_type(reply, sizeof(reply)), WG_MSG_COOKIE_REPLY);
	assert_int_equal(wg_msg_receiver(reply), 0xcafe0001);

	/* The initiator takes the cookie and its next message carries mac2. */
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), SEC), 0);
	/* One reply per message sent: a second copy is refused. */
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), SEC), -EINVAL);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 2 * SEC), 0);
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, 2 * SEC, true), WG_COOKIE_ACCEPT);
	/* The cookie is bound to the source address. */
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src2, 2 * SEC, true),
			 WG_COOKIE_SEND_REPLY);
	/* Not under load, mac2 does not matter. */
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src2, 2 * SEC, false), WG_COOKIE_ACCEPT);

	fixture_fini(&f);
}

static void test_mac2_flips(void **state)
{
	struct fixture f;
	uint8_t reply[WG_MSG_COOKIE_REPLY_LEN], bad[WG_MSG_INITIATION_LEN];
	size_t i;

	(void)state;
	fixture_init(&f);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 0), 0);
	assert_int_equal(
		wg_cookie_checker_create_reply(&f.cc, reply, f.msg, sizeof(f.msg), src1, 6, 0), 0);
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), 0), 0);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 0), 0);
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, 0, true), WG_COOKIE_ACCEPT);
	/* Under load every byte counts: before mac1 mac1 fails, in mac2 it does. */
	for (i = 0; i < sizeof(f.msg); i++) {
		memcpy(bad, f.msg, sizeof(bad));
		bad[i] ^= 0x01;
		assert_int_not_equal(check(&f, bad, sizeof(bad), src1, 0, true), WG_COOKIE_ACCEPT);
	}
	fixture_fini(&f);
}

static void test_cookie_reply_tampering(void **state)
{
	struct fixture f;
	uint8_t reply[WG_MSG_COOKIE_REPLY_LEN], bad[WG_MSG_COOKIE_REPLY_LEN];
	uint8_t msg2[WG_MSG_INITIATION_LEN], other[32];
	size_t i;

	(void)state;
	fixture_init(&f);

	/* A reply before we sent anything is unexpected. */
	assert_int_equal(
		wg_cookie_checker_create_reply(&f.cc, reply, f.msg, sizeof(f.msg), src1, 6, 0), 0);
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), 0), -EINVAL);

	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 0), 0);
	assert_int_equal(
		wg_cookie_checker_create_reply(&f.cc, reply, f.msg, sizeof(f.msg), src1, 6, 0), 0);
	/* Nonce and encrypted cookie are authenticated; the receiver index
	 * only routes the reply to a peer (the caller's lookup). */
	for (i = 0; i < sizeof(reply); i++) {
		if (i >= WG_COOKIE_OFF_RECEIVER && i < WG_COOKIE_OFF_NONCE)
			continue;
		memcpy(bad, reply, sizeof(bad));
		bad[i] ^= 0x80;
		assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, bad, sizeof(bad), 0),
				 -EINVAL);
	}
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply) - 1, 0),
			 -EINVAL);

	/* A reply to a different message (another mac1) does not decrypt. */
	memcpy(msg2, f.msg, sizeof(msg2));
	msg2[10] ^= 1;
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, msg2, sizeof(msg2), 0), 0);
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), 0), -EINVAL);

	/* A reply under another responder's key does not decrypt. */
	randombytes_buf(other, sizeof(other));
	wg_cookie_maker_init(&f.cm, other);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 0), 0);
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), 0), -EINVAL);

	/* Building a reply needs a handshake message. */
	assert_int_equal(wg_cookie_checker_create_reply(&f.cc, reply, f.msg, 10, src1, 6, 0),
			 -EINVAL);
	fixture_fini(&f);
}

static void test_cookie_lifetimes(void **state)
{
	struct fixture f;
	uint8_t reply[WG_MSG_COOKIE_REPLY_LEN];
	size_t i;
	bool zero;

	(void)state;
	fixture_init(&f);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 0), 0);
	assert_int_equal(
		wg_cookie_checker_create_reply(&f.cc, reply, f.msg, sizeof(f.msg), src1, 6, 0), 0);
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), 10 * SEC), 0);

	/* The maker uses its cookie for less than COOKIE_REFRESH_TIME. */
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg),
						  10 * SEC + WG_COOKIE_REFRESH_TIME - 1),
			 0);
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, 10 * SEC, true), WG_COOKIE_ACCEPT);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg),
						  10 * SEC + WG_COOKIE_REFRESH_TIME),
			 0);
	zero = true;
	for (i = WG_INIT_OFF_MAC2; i < sizeof(f.msg); i++)
		zero = zero && f.msg[i] == 0;
	assert_true(zero);
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, 10 * SEC, true),
			 WG_COOKIE_SEND_REPLY);

	/* The checker's secret rotates after COOKIE_REFRESH_TIME (it was made
	 * at 0): cookies from the old secret stop working. */
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), 20 * SEC), 0);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, f.msg, sizeof(f.msg), 20 * SEC), 0);
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, WG_COOKIE_REFRESH_TIME - 1, true),
			 WG_COOKIE_ACCEPT);
	assert_int_equal(check(&f, f.msg, sizeof(f.msg), src1, WG_COOKIE_REFRESH_TIME, true),
			 WG_COOKIE_SEND_REPLY);
	fixture_fini(&f);
}

/* Responses carry macs the same way, at their own offsets. */
static void test_response_macs(void **state)
{
	struct fixture f;
	uint8_t resp[WG_MSG_RESPONSE_LEN], reply[WG_MSG_COOKIE_REPLY_LEN];

	(void)state;
	fixture_init(&f);
	memset(resp, 0x33, sizeof(resp));
	resp[0] = WG_MSG_RESPONSE;
	resp[1] = resp[2] = resp[3] = 0;
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, resp, sizeof(resp), 0), 0);
	assert_int_equal(check(&f, resp, sizeof(resp), src1, 0, false), WG_COOKIE_ACCEPT);
	assert_int_equal(check(&f, resp, sizeof(resp), src1, 0, true), WG_COOKIE_SEND_REPLY);
	assert_int_equal(
		wg_cookie_checker_create_reply(&f.cc, reply, resp, sizeof(resp), src1, 6, 0), 0);
	assert_int_equal(wg_msg_receiver(reply), 0x33333333);
	assert_int_equal(wg_cookie_maker_consume_reply(&f.cm, reply, sizeof(reply), 0), 0);
	assert_int_equal(wg_cookie_maker_add_macs(&f.cm, resp, sizeof(resp), 0), 0);
	assert_int_equal(check(&f, resp, sizeof(resp), src1, 0, true), WG_COOKIE_ACCEPT);
	fixture_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac1),
		cmocka_unit_test(test_cookie_under_load),
		cmocka_unit_test(test_mac2_flips),
		cmocka_unit_test(test_cookie_reply_tampering),
		cmocka_unit_test(test_cookie_lifetimes),
		cmocka_unit_test(test_response_macs),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
