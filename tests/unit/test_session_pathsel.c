/* Path selection: what a peer with a relay probes and when, when the direct
 * path counts as proven, which endpoint wins when several answer, and that a
 * silent path is given up within the trust window. Also the CANDIDATES
 * message that carries the endpoints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/codec.h"
#include "control/messages.h"
#include "path/endpoint.h"
#include "session/pathsel.h"

#define MS 1000000ull

static struct endpoint ep(const char *text)
{
	struct endpoint e;

	assert_int_equal(endpoint_parse(text, &e), 0);
	return e;
}

static void test_candidates_filtered_and_deduplicated(void **state)
{
	struct pathsel ps;
	struct endpoint a = ep("198.18.0.3:41383"), zero = {0};

	(void)state;
	pathsel_init(&ps);
	assert_true(pathsel_add_candidate(&ps, &a));
	assert_false(pathsel_add_candidate(&ps, &a));
	assert_false(pathsel_add_candidate(&ps, &zero));
	a = ep("127.0.0.1:1");
	assert_false(pathsel_add_candidate(&ps, &a));
	a = ep("[::1]:1");
	assert_false(pathsel_add_candidate(&ps, &a));
	a = ep("224.0.0.1:1");
	assert_false(pathsel_add_candidate(&ps, &a));
	a = ep("0.0.0.0:1");
	assert_false(pathsel_add_candidate(&ps, &a));
	assert_int_equal(ps.ncand, 1);
	/* Full: the oldest goes, the count stays bounded. */
	for (unsigned i = 0; i < 3 * PATHSEL_MAX_CANDIDATES; i++) {
		char t[32];

		snprintf(t, sizeof(t), "198.18.1.%u:7", i + 1);
		a = ep(t);
		assert_true(pathsel_add_candidate(&ps, &a));
	}
	assert_int_equal(ps.ncand, PATHSEL_MAX_CANDIDATES);
}

static void test_burst_then_reprobe(void **state)
{
	struct pathsel ps;
	struct endpoint out[PATHSEL_MAX_CANDIDATES], a = ep("198.18.0.3:1"), b = ep("10.0.0.2:1");
	uint64_t now = 1000 * MS, next, rounds = 0, txid;

	(void)state;
	pathsel_init(&ps);
	pathsel_add_candidate(&ps, &a);
	pathsel_add_candidate(&ps, &b);
	/* Idle peers are not probed. */
	assert_int_equal(pathsel_poll(&ps, now, false, out, 16, &next), 0);
	assert_true(next == UINT64_MAX);
	pathsel_kick(&ps, now);
	txid = ps.probe_txid;
	/* A burst of rounds over the first seconds, every candidate each time. */
	for (uint64_t t = now; t < now + 5000 * MS; t += 50 * MS) {
		unsigned n = pathsel_poll(&ps, t, true, out, 16, &next);

		if (n) {
			assert_int_equal(n, 2);
			rounds++;
		}
		assert_true(next > t);
	}
	assert_int_equal(rounds, 6);
	assert_true(ps.probe_txid == txid + 6);
	/* Then one round per PATHSEL_REPROBE_NS. */
	rounds = 0;
	for (uint64_t t = now + 5000 * MS; t < now + 5000 * MS + 2 * PATHSEL_REPROBE_NS;
	     t += 100 * MS)
		rounds += pathsel_poll(&ps, t, true, out, 16, &next) ? 1 : 0;
	assert_true(rounds >= 1 && rounds <= 2);
}

static void test_direct_proven_then_lost(void **state)
{
	struct pathsel ps;
	struct endpoint out[PATHSEL_MAX_CANDIDATES], a = ep("198.18.0.3:1");
	uint64_t now = 1000 * MS, next;
	unsigned heartbeats = 0;

	(void)state;
	pathsel_init(&ps);
	assert_false(pathsel_direct_ok(&ps, now));
	assert_true(pathsel_direct_rx(&ps, &a, now));
	assert_true(pathsel_direct_ok(&ps, now));
	assert_false(pathsel_direct_rx(&ps, &a, now + MS)); /* same one: no change */
	/* While proven and active: heartbeats to the current endpoint only. */
	for (uint64_t t = now; t < now + 4000 * MS; t += 100 * MS) {
		unsigned n = pathsel_poll(&ps, t, true, out, 16, &next);

		if (n) {
			assert_int_equal(n, 1);
			assert_true(endpoint_equal(&out[0], &a));
			heartbeats++;
		}
	}
	assert_true(heartbeats >= 2 && heartbeats <= 3);
	/* Nothing heard for the trust window: no longer proven. */
	assert_true(pathsel_direct_ok(&ps, now + MS + PATHSEL_TRUST_NS - MS));
	assert_false(pathsel_direct_ok(&ps, now + MS + PATHSEL_TRUST_NS));
}

static void test_switching_rules(void **state)
{
	struct pathsel ps;
	struct endpoint pub = ep("198.18.0.3:1"), pub2 = ep("198.18.0.13:1"),
			lan = ep("10.0.1.2:1");
	uint64_t now = 1000 * MS;

	(void)state;
	pathsel_init(&ps);
	assert_true(pathsel_direct_rx(&ps, &pub, now));
	/* Another public endpoint while the current one is fresh: kept. */
	assert_false(pathsel_direct_rx(&ps, &pub2, now + 100 * MS));
	assert_true(endpoint_equal(&ps.current, &pub));
	/* A LAN endpoint is better: taken at once. */
	assert_true(pathsel_direct_rx(&ps, &lan, now + 200 * MS));
	assert_true(endpoint_equal(&ps.current, &lan));
	/* And a public one does not displace it while the LAN one answers. */
	assert_false(pathsel_direct_rx(&ps, &pub, now + 300 * MS));
	/* Once the LAN one is stale, whatever answers takes over. */
	assert_true(pathsel_direct_rx(&ps, &pub2, now + 200 * MS + PATHSEL_STALE_NS + MS));
	assert_true(endpoint_equal(&ps.current, &pub2));
	/* The peer-reflexive address was learned as a candidate. */
	assert_true(ps.ncand >= 2);
}

static void test_local_classes(void **state)
{
	const char *local[] = {"10.1.2.3:1",	"172.16.0.1:1", "172.31.255.1:1", "192.168.1.1:1",
			       "169.254.1.1:1", "[fd00::1]:1",	"[fe80::1]:1"};
	const char *public[] = {"198.18.0.1:1",	   "172.32.0.1:1",     "8.8.8.8:1",
				"[2001:db8::1]:1", "[fd72:6179::1]:1", "100.64.0.1:1"};

	(void)state;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		struct endpoint e = ep(local[i]);

		assert_true(pathsel_endpoint_is_local(&e));
	}
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
		struct endpoint e = ep(public[i]);

		assert_false(pathsel_endpoint_is_local(&e));
	}
}

static void test_candidates_message(void **state)
{
	struct endpoint in[3] = {ep("198.18.0.3:41383"), ep("[2001:db8::7]:9"), ep("10.0.0.1:1")};
	struct endpoint out[CTL_CANDIDATES_MAX];
	struct ctl_codec_writer w;
	uint8_t buf[512];
	size_t len;
	unsigned n;

	(void)state;
	ctl_codec_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(ctl_msg_candidates_encode(&w, in, 3), 0);
	ctl_codec_writer_data(&w, &len);
	assert_int_equal(ctl_msg_candidates_decode(buf, len, out, CTL_CANDIDATES_MAX, &n), 0);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_true(endpoint_equal(&in[i], &out[i]));
	/* A smaller destination keeps the first ones. */
	assert_int_equal(ctl_msg_candidates_decode(buf, len, out, 2, &n), 0);
	assert_int_equal(n, 2);
	/* Every truncation fails cleanly. */
	for (size_t i = 0; i < len; i++)
		assert_true(ctl_msg_candidates_decode(buf, i, out, CTL_CANDIDATES_MAX, &n) < 0);
	/* Over the cap is refused. */
	{
		uint8_t big[1024];

		ctl_codec_writer_init(&w, big, sizeof(big));
		ctl_codec_put_map(&w, 1);
		ctl_codec_put_uint(&w, CTL_CANDIDATES_KEY_ADDRS);
		ctl_codec_put_array(&w, CTL_CANDIDATES_MAX + 1);
		for (unsigned i = 0; i <= CTL_CANDIDATES_MAX; i++)
			ctl_codec_put_bin(&w, "\x01\x02\x03\x04\x05\x06", 6);
		ctl_codec_writer_data(&w, &len);
		assert_int_equal(ctl_msg_candidates_decode(big, len, out, CTL_CANDIDATES_MAX, &n),
				 -EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates_filtered_and_deduplicated),
		cmocka_unit_test(test_burst_then_reprobe),
		cmocka_unit_test(test_direct_proven_then_lost),
		cmocka_unit_test(test_switching_rules),
		cmocka_unit_test(test_local_classes),
		cmocka_unit_test(test_candidates_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
