/* Signed discovery records: round trip of each kind, the exact bytes that are
 * signed (checked with libsodium directly, not through the module), a flipped
 * bit anywhere, a substituted signer, time limits, non-canonical encodings
 * that carry a valid signature, caps on both sides, record_is_newer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "control/codec.h"
#include "path/endpoint.h"
#include "path/record.h"

#define NOW  1700000000000ull
#define HOUR 3600000ull

struct keys {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

static struct keys key_a, key_b;

static int setup(void **state)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(seed, 0x01, sizeof(seed));
	crypto_sign_seed_keypair(key_a.pk, key_a.sk, seed);
	memset(seed, 0x02, sizeof(seed));
	crypto_sign_seed_keypair(key_b.pk, key_b.sk, seed);
	return 0;
}

static void base(struct record *r, enum record_kind kind, const struct keys *k)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	memcpy(r->signer, k->pk, RECORD_KEY_LEN);
	r->timestamp_ms = NOW;
	r->expires_ms = NOW + HOUR;
}

static void node_record(struct record *r)
{
	struct record_node *n = &r->body.node;

	base(r, RECORD_NODE, &key_a);
	n->relay_count = 2;
	strcpy(n->relays[0], "https://relay.example.net");
	strcpy(n->relays[1], "rayrelay://r2.example.org:4433");
	n->addr_count = 3;
	assert_int_equal(endpoint_parse("192.0.2.7:51820", &n->addrs[0]), 0);
	assert_int_equal(endpoint_parse("[2001:db8::7]:51820", &n->addrs[1]), 0);
	assert_int_equal(endpoint_parse("[fe80::1]:1", &n->addrs[2]), 0);
}

static void network_record(struct record *r)
{
	struct record_network *net = &r->body.network;
	unsigned i;

	base(r, RECORD_NETWORK, &key_a);
	memset(net->group_hash, 0x47, sizeof(net->group_hash));
	net->seed_count = 3;
	for (i = 0; i < 3; i++)
		memset(net->seeds[i], 0x10 + (int)i, RECORD_KEY_LEN);
}

static void contact_record(struct record *r)
{
	base(r, RECORD_CONTACT, &key_a);
	memcpy(r->body.contact.node_id, key_b.pk, RECORD_KEY_LEN);
}

static void assert_records_equal(const struct record *a, const struct record *b)
{
	unsigned i;

	assert_int_equal(a->kind, b->kind);
	assert_memory_equal(a->signer, b->signer, RECORD_KEY_LEN);
	assert_true(a->timestamp_ms == b->timestamp_ms);
	assert_true(a->expires_ms == b->expires_ms);
	switch (a->kind) {
	case RECORD_NODE:
		assert_int_equal(a->body.node.relay_count, b->body.node.relay_count);
		for (i = 0; i < a->body.node.relay_count; i++)
			assert_string_equal(a->body.node.relays[i], b->body.node.relays[i]);
		assert_int_equal(a->body.node.addr_count, b->body.node.addr_count);
		for (i = 0; i < a->body.node.addr_count; i++)
			assert_true(endpoint_equal(&a->body.node.addrs[i], &b->body.node.addrs[i]));
		break;
	case RECORD_NETWORK:
		assert_memory_equal(a->body.network.group_hash, b->body.network.group_hash,
				    RECORD_HASH_LEN);
		assert_int_equal(a->body.network.seed_count, b->body.network.seed_count);
		for (i = 0; i < a->body.network.seed_count; i++)
			assert_memory_equal(a->body.network.seeds[i], b->body.network.seeds[i],
					    RECORD_KEY_LEN);
		break;
	case RECORD_CONTACT:
		assert_memory_equal(a->body.contact.node_id, b->body.contact.node_id,
				    RECORD_KEY_LEN);
		break;
	}
}

/* Append key 6 and a signature by SK over the context, a 6-entry map header
 * and BUF[1..LEN) (keys 0..5 after BUF's own map header): how a signer that
 * does not use record_sign would do it. Returns the new length. */
static size_t finish(uint8_t *buf, size_t len, const uint8_t *sk)
{
	uint8_t msg[16 + 2048], sig[64];

	assert_true(len <= 2048);
	memcpy(msg, "rayfish-record-1", 16);
	msg[16] = 0x86;
	memcpy(msg + 17, buf + 1, len - 1);
	crypto_sign_detached(sig, NULL, msg, 16 + len, sk);
	buf[len++] = 0x06;
	buf[len++] = 0xc4;
	buf[len++] = 0x40;
	memcpy(buf + len, sig, 64);
	return len + 64;
}

/* ---- round trips and layout ---- */

static void round_trip(const struct record *r)
{
	uint8_t buf[RECORD_MAX_LEN], again[RECORD_MAX_LEN], msg[16 + RECORD_MAX_LEN];
	size_t len, len2;
	struct record got;

	assert_int_equal(record_sign(r, key_a.sk, buf, sizeof(buf), &len), 0);
	assert_true(len <= RECORD_MAX_LEN);
	assert_int_equal(record_parse_verify(buf, len, NOW, &got), 0);
	assert_records_equal(&got, r);

	/* ed25519 is deterministic: signing again gives the same bytes */
	assert_int_equal(record_sign(r, key_a.sk, again, sizeof(again), &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);

	/* layout: fixmap 7; 0 → 1; 1 → kind; 2 → bin 32 signer; ...; the last
	 * 67 bytes are key 6, bin 8 of 64, the signature */
	assert_int_equal(buf[0], 0x87);
	assert_memory_equal(buf + 1, "\x00\x01\x01", 3);
	assert_int_equal(buf[4], r->kind);
	assert_memory_equal(buf + 5, "\x02\xc4\x20", 3);
	assert_memory_equal(buf + 8, r->signer, RECORD_KEY_LEN);
	assert_memory_equal(buf + len - 67, "\x06\xc4\x40", 3);
	assert_memory_equal(buf + len - 64, got.signature, RECORD_SIG_LEN);

	/* the signature is over context || 0x86 || keys 0..5, independently */
	memcpy(msg, "rayfish-record-1", 16);
	msg[16] = 0x86;
	memcpy(msg + 17, buf + 1, len - 67 - 1);
	assert_int_equal(crypto_sign_verify_detached(buf + len - 64, msg, 16 + len - 67, key_a.pk),
			 0);
	/* the whole record is one canonical value */
	{
		struct ctl_codec_reader cr;

		ctl_codec_reader_init(&cr, buf, len, CTL_CODEC_CANONICAL);
		assert_int_equal(ctl_codec_skip(&cr), 0);
		assert_int_equal(ctl_codec_reader_end(&cr), 0);
	}
}

static void test_round_trip_node(void **state)
{
	struct record r;

	(void)state;
	node_record(&r);
	round_trip(&r);
	/* empty lists are fine too */
	r.body.node.relay_count = 0;
	r.body.node.addr_count = 0;
	round_trip(&r);
}

static void test_round_trip_network(void **state)
{
	struct record r;

	(void)state;
	network_record(&r);
	round_trip(&r);
	r.body.network.seed_count = 0;
	round_trip(&r);
}

static void test_round_trip_contact(void **state)
{
	struct record r;

	(void)state;
	contact_record(&r);
	round_trip(&r);
}

static void test_node_body_bytes(void **state)
{
	/* body of a node record with one relay "r" and 192.0.2.7:51820 and
	 * [2001:db8::7]:51820: map 2, 0 → [str "r"], 1 → [bin 7, bin 19] */
	static const uint8_t want[] = {
		0x05, 0x82, 0x00, 0x91, 0xa1, 'r',  0x01, 0x92, 0xc4, 0x07, 0x04, 192,	0,
		2,    7,    0xca, 0x6c, 0xc4, 0x13, 0x06, 0x20, 0x01, 0x0d, 0xb8, 0,	0,
		0,    0,    0,	  0,	0,    0,    0,	  0,	0,    7,    0xca, 0x6c,
	};
	uint8_t buf[RECORD_MAX_LEN];
	struct record r;
	size_t len;

	(void)state;
	node_record(&r);
	r.body.node.relay_count = 1;
	strcpy(r.body.node.relays[0], "r");
	r.body.node.addr_count = 2;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf + len - 67 - sizeof(want), want, sizeof(want));
}

/* ---- tampering ---- */

static void test_every_bit_flip(void **state)
{
	static void (*const makers[])(struct record *) = {node_record, network_record,
							  contact_record};
	uint8_t buf[RECORD_MAX_LEN];
	struct record r, got;
	size_t len, i, m;
	int bit;

	(void)state;
	for (m = 0; m < 3; m++) {
		makers[m](&r);
		assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), 0);
		for (i = 0; i < len; i++)
			for (bit = 0; bit < 8; bit++) {
				buf[i] ^= (uint8_t)(1u << bit);
				assert_int_not_equal(record_parse_verify(buf, len, NOW, &got), 0);
				buf[i] ^= (uint8_t)(1u << bit);
			}
		assert_int_equal(record_parse_verify(buf, len, NOW, &got), 0);
		/* and every truncation */
		for (i = 0; i < len; i++)
			assert_int_equal(record_parse_verify(buf, i, NOW, &got), -EBADMSG);
	}
}

static void test_other_signer(void **state)
{
	uint8_t buf[RECORD_MAX_LEN];
	struct record r, got;
	size_t len;

	(void)state;
	contact_record(&r);
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), 0);
	/* signed by A, presented as B's */
	memcpy(buf + 8, key_b.pk, RECORD_KEY_LEN);
	assert_int_equal(record_parse_verify(buf, len, NOW, &got), -EKEYREJECTED);
	/* the output is wiped on failure */
	assert_true(sodium_is_zero((const unsigned char *)&got, sizeof(got)));
	/* record_sign refuses a key that is not the record's signer */
	assert_int_equal(record_sign(&r, key_b.sk, buf, sizeof(buf), &len), -EINVAL);
	/* B signing its own record is fine */
	memcpy(r.signer, key_b.pk, RECORD_KEY_LEN);
	assert_int_equal(record_sign(&r, key_b.sk, buf, sizeof(buf), &len), 0);
	assert_int_equal(record_parse_verify(buf, len, NOW, &got), 0);
}

/* ---- time ---- */

static void test_time_limits(void **state)
{
	uint8_t buf[RECORD_MAX_LEN];
	struct record r, got;
	size_t len;

	(void)state;
	contact_record(&r);
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), 0);
	/* expired: expires <= now */
	assert_int_equal(record_parse_verify(buf, len, NOW + HOUR - 1, &got), 0);
	assert_int_equal(record_parse_verify(buf, len, NOW + HOUR, &got), -ESTALE);
	assert_int_equal(record_parse_verify(buf, len, UINT64_MAX, &got), -ESTALE);
	/* future-dated: up to 5 minutes of skew */
	assert_int_equal(record_parse_verify(buf, len, NOW - RECORD_MAX_FUTURE_MS, &got), 0);
	assert_int_equal(record_parse_verify(buf, len, NOW - RECORD_MAX_FUTURE_MS - 1, &got),
			 -ERANGE);
	assert_int_equal(record_parse_verify(buf, len, 0, &got), -ERANGE);

	/* expires must follow timestamp */
	r.expires_ms = r.timestamp_ms;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
}

static void test_is_newer(void **state)
{
	struct record a, b;

	(void)state;
	contact_record(&a);
	contact_record(&b);
	assert_false(record_is_newer(&a, &b));
	assert_false(record_is_newer(&b, &a));
	b.timestamp_ms++;
	assert_true(record_is_newer(&b, &a));
	assert_false(record_is_newer(&a, &b));
}

/* ---- hand-made encodings with valid signatures ---- */

/* Raw bytes into a writer: for forms the writer would never produce. */
static void put_raw(struct ctl_codec_writer *w, const void *p, size_t n)
{
	assert_true(n <= w->cw_cap - w->cw_len);
	memcpy(w->cw_buf + w->cw_len, p, n);
	w->cw_len += n;
}

enum variant {
	V_CANONICAL,
	V_LONG_VERSION,
	V_LONG_KIND,
	V_LONG_TIMESTAMP,
	V_LONG_KEY,
	V_BIN16_SIGNER,
	V_MAP16_BODY,
	V_UNSORTED_KEYS,
	V_DUPLICATE_KEY,
	V_UNSORTED_BODY,
	V_FLOAT_IN_UNKNOWN,
	V_MISSING_BODY_KEY,
	V_VERSION_2,
	V_KIND_4,
	V_SIGNER_31,
	V_NEGATIVE_TIMESTAMP,
	V_UNKNOWN_BODY_KEY, /* accepted */
	V_COUNT,
};

/* A contact record at time 1'000'000 ms (so that timestamps fit uint32 and
 * a uint64 form is non-canonical) in variant V, signed by key A. */
static size_t contact_raw(enum variant v, uint8_t *buf, size_t cap)
{
	struct ctl_codec_writer w;
	size_t len;

	ctl_codec_writer_init(&w, buf, cap);
	ctl_codec_put_map(&w, 7);
	if (v == V_LONG_KEY)
		put_raw(&w, "\xcc\x00", 2);
	else
		ctl_codec_put_uint(&w, 0);
	if (v == V_LONG_VERSION)
		put_raw(&w, "\xcc\x01", 2);
	else
		ctl_codec_put_uint(&w, v == V_VERSION_2 ? 2 : 1);
	ctl_codec_put_uint(&w, 1);
	if (v == V_LONG_KIND)
		put_raw(&w, "\xcc\x03", 2);
	else
		ctl_codec_put_uint(&w, v == V_KIND_4 ? 4 : RECORD_CONTACT);
	ctl_codec_put_uint(&w, 2);
	if (v == V_BIN16_SIGNER) {
		put_raw(&w, "\xc5\x00\x20", 3);
		put_raw(&w, key_a.pk, 32);
	} else {
		ctl_codec_put_bin(&w, key_a.pk, v == V_SIGNER_31 ? 31 : 32);
	}
	if (v == V_UNSORTED_KEYS) {
		ctl_codec_put_uint(&w, 4);
		ctl_codec_put_uint(&w, 2000000);
		ctl_codec_put_uint(&w, 3);
		ctl_codec_put_uint(&w, 1000000);
	} else if (v == V_DUPLICATE_KEY) {
		ctl_codec_put_uint(&w, 3);
		ctl_codec_put_uint(&w, 1000000);
		ctl_codec_put_uint(&w, 3);
		ctl_codec_put_uint(&w, 1000000);
	} else {
		ctl_codec_put_uint(&w, 3);
		if (v == V_LONG_TIMESTAMP)
			put_raw(&w, "\xcf\x00\x00\x00\x00\x00\x0f\x42\x40", 9);
		else if (v == V_NEGATIVE_TIMESTAMP)
			ctl_codec_put_int(&w, -1);
		else
			ctl_codec_put_uint(&w, 1000000);
		ctl_codec_put_uint(&w, 4);
		ctl_codec_put_uint(&w, 2000000);
	}
	ctl_codec_put_uint(&w, 5);
	switch (v) {
	case V_MAP16_BODY:
		put_raw(&w, "\xde\x00\x01", 3);
		ctl_codec_put_uint(&w, 0);
		ctl_codec_put_bin(&w, key_b.pk, 32);
		break;
	case V_UNSORTED_BODY:
		ctl_codec_put_map(&w, 2);
		ctl_codec_put_uint(&w, 9);
		ctl_codec_put_nil(&w);
		ctl_codec_put_uint(&w, 0);
		ctl_codec_put_bin(&w, key_b.pk, 32);
		break;
	case V_FLOAT_IN_UNKNOWN:
		ctl_codec_put_map(&w, 2);
		ctl_codec_put_uint(&w, 0);
		ctl_codec_put_bin(&w, key_b.pk, 32);
		ctl_codec_put_uint(&w, 9);
		put_raw(&w, "\xca\x3f\x80\x00\x00", 5); /* float32 1.0 */
		break;
	case V_MISSING_BODY_KEY:
		ctl_codec_put_map(&w, 1);
		ctl_codec_put_uint(&w, 9);
		ctl_codec_put_bin(&w, key_b.pk, 32);
		break;
	case V_UNKNOWN_BODY_KEY:
		ctl_codec_put_map(&w, 2);
		ctl_codec_put_uint(&w, 0);
		ctl_codec_put_bin(&w, key_b.pk, 32);
		ctl_codec_put_uint(&w, 9);
		ctl_codec_put_array(&w, 2);
		ctl_codec_put_str(&w, "future", 6);
		ctl_codec_put_map(&w, 1);
		ctl_codec_put_uint(&w, 1);
		ctl_codec_put_bool(&w, true);
		break;
	default:
		ctl_codec_put_map(&w, 1);
		ctl_codec_put_uint(&w, 0);
		ctl_codec_put_bin(&w, key_b.pk, 32);
		break;
	}
	assert_int_equal(ctl_codec_writer_error(&w), 0);
	len = finish(buf, w.cw_len, key_a.sk);
	assert_true(len <= cap);
	return len;
}

static void test_hand_made(void **state)
{
	static const int want[V_COUNT] = {
		[V_CANONICAL] = 0,
		[V_LONG_VERSION] = -EBADMSG,
		[V_LONG_KIND] = -EBADMSG,
		[V_LONG_TIMESTAMP] = -EBADMSG,
		[V_LONG_KEY] = -EBADMSG,
		[V_BIN16_SIGNER] = -EBADMSG,
		[V_MAP16_BODY] = -EBADMSG,
		[V_UNSORTED_KEYS] = -EBADMSG,
		[V_DUPLICATE_KEY] = -EBADMSG,
		[V_UNSORTED_BODY] = -EBADMSG,
		[V_FLOAT_IN_UNKNOWN] = -EBADMSG,
		[V_MISSING_BODY_KEY] = -EBADMSG,
		[V_VERSION_2] = -EPROTONOSUPPORT,
		[V_KIND_4] = -EPROTONOSUPPORT,
		[V_SIGNER_31] = -EBADMSG,
		[V_NEGATIVE_TIMESTAMP] = -EBADMSG,
		[V_UNKNOWN_BODY_KEY] = 0,
	};
	uint8_t buf[RECORD_MAX_LEN];
	struct record got;
	size_t len;
	int v, err;

	(void)state;
	for (v = 0; v < V_COUNT; v++) {
		len = contact_raw((enum variant)v, buf, sizeof(buf));
		err = record_parse_verify(buf, len, 1500000, &got);
		if (err != want[v])
			print_message("variant %d: %d, want %d\n", v, err, want[v]);
		assert_int_equal(err, want[v]);
	}
	len = contact_raw(V_CANONICAL, buf, sizeof(buf));
	assert_int_equal(record_parse_verify(buf, len, 1500000, &got), 0);
	assert_memory_equal(got.body.contact.node_id, key_b.pk, 32);
	/* trailing byte after the map */
	buf[len] = 0xc0;
	assert_int_equal(record_parse_verify(buf, len + 1, 1500000, &got), -EBADMSG);
}

static void test_unknown_key_cannot_be_stripped(void **state)
{
	uint8_t buf[RECORD_MAX_LEN], stripped[RECORD_MAX_LEN];
	size_t len, canon_len, body, tail;
	struct record got;

	(void)state;
	len = contact_raw(V_UNKNOWN_BODY_KEY, buf, sizeof(buf));
	assert_int_equal(record_parse_verify(buf, len, 1500000, &got), 0);
	canon_len = contact_raw(V_CANONICAL, stripped, sizeof(stripped));
	/* Rebuild: the unknown entry removed, body count 1, old signature. */
	body = canon_len - 67; /* keys 0..5 of the canonical record */
	tail = 67;
	memcpy(stripped + body, buf + len - tail, tail);
	assert_int_equal(record_parse_verify(stripped, canon_len, 1500000, &got), -EKEYREJECTED);
}

/* ---- caps ---- */

static void test_sign_caps(void **state)
{
	uint8_t buf[RECORD_MAX_LEN + 64];
	struct record r, saved;
	size_t len, l;

	(void)state;
	node_record(&r);
	saved = r;
	r.body.node.relay_count = RECORD_MAX_RELAYS + 1;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	r = saved;
	r.body.node.addr_count = RECORD_MAX_ADDRS + 1;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	r = saved;
	memset(r.body.node.relays[1], 'a', sizeof(r.body.node.relays[1])); /* no NUL */
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	r.body.node.relays[1][RECORD_RELAY_URL_MAX] = '\0'; /* 255: fine */
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), 0);
	r = saved;
	strcpy(r.body.node.relays[1], "http://a b");
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	r.body.node.relays[1][0] = '\0';
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	r = saved;
	r.body.node.addrs[0].sin6.sin6_port = 0;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	r = saved;
	r.kind = (enum record_kind)4;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	network_record(&r);
	r.body.network.seed_count = RECORD_MAX_SEEDS + 1;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EINVAL);
	r.body.network.seed_count = RECORD_MAX_SEEDS;
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), 0);
	assert_int_equal(record_parse_verify(buf, len, NOW, &(struct record){0}), 0);

	/* the 1000-byte cap: grow the last relay URL until it no longer fits */
	node_record(&r);
	r.body.node.relay_count = 4;
	r.body.node.addr_count = RECORD_MAX_ADDRS;
	for (l = 0; l < RECORD_MAX_ADDRS; l++)
		r.body.node.addrs[l] = saved.body.node.addrs[l % 2];
	memset(r.body.node.relays[0], 'x', 200);
	memset(r.body.node.relays[1], 'y', 200);
	memset(r.body.node.relays[2], 'z', 100);
	for (l = 32; l <= RECORD_RELAY_URL_MAX; l++) {
		memset(r.body.node.relays[3], 'w', l);
		r.body.node.relays[3][l] = '\0';
		if (record_sign(&r, key_a.sk, buf, sizeof(buf), &len) != 0)
			break;
		assert_true(len <= RECORD_MAX_LEN);
	}
	assert_true(l > 32 && l <= RECORD_RELAY_URL_MAX);
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), -EMSGSIZE);
	r.body.node.relays[3][l - 1] = '\0';
	assert_int_equal(record_sign(&r, key_a.sk, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, RECORD_MAX_LEN);
	assert_int_equal(record_parse_verify(buf, len, NOW, &(struct record){0}), 0);
	/* too small an output buffer */
	assert_int_equal(record_sign(&r, key_a.sk, buf, RECORD_MAX_LEN - 1, &len), -ENOBUFS);
}

/* A node record whose body is written by BODY, signed by key A. */
static size_t node_raw(void (*body)(struct ctl_codec_writer *), uint8_t *buf, size_t cap)
{
	struct ctl_codec_writer w;
	size_t len;

	ctl_codec_writer_init(&w, buf, cap);
	ctl_codec_put_map(&w, 7);
	ctl_codec_put_uint(&w, 0);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_uint(&w, RECORD_NODE);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_bin(&w, key_a.pk, 32);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_uint(&w, NOW);
	ctl_codec_put_uint(&w, 4);
	ctl_codec_put_uint(&w, NOW + HOUR);
	ctl_codec_put_uint(&w, 5);
	body(&w);
	assert_int_equal(ctl_codec_writer_error(&w), 0);
	len = finish(buf, w.cw_len, key_a.sk);
	assert_true(len <= cap);
	return len;
}

static void body_ok(struct ctl_codec_writer *w)
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 1);
	ctl_codec_put_str(w, "r", 1);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 1);
	ctl_codec_put_bin(w, "\x04\x01\x02\x03\x04\x00\x01", 7);
}

static void body_five_relays(struct ctl_codec_writer *w)
{
	int i;

	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 5);
	for (i = 0; i < 5; i++)
		ctl_codec_put_str(w, "r", 1);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 0);
}

static void body_seventeen_addrs(struct ctl_codec_writer *w)
{
	int i;

	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 0);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 17);
	for (i = 0; i < 17; i++)
		ctl_codec_put_bin(w, "\x04\x01\x02\x03\x04\x00\x01", 7);
}

static void body_long_relays(struct ctl_codec_writer *w)
{
	char url[RECORD_RELAY_URL_MAX];
	int i;

	memset(url, 'u', sizeof(url));
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 4);
	for (i = 0; i < 4; i++)
		ctl_codec_put_str(w, url, sizeof(url));
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 0);
}

static void body_url_256(struct ctl_codec_writer *w)
{
	char url[256];

	memset(url, 'u', sizeof(url));
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 1);
	ctl_codec_put_str(w, url, sizeof(url));
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 0);
}

static void body_url_nul(struct ctl_codec_writer *w)
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 1);
	ctl_codec_put_str(w, "a\0b", 3);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 0);
}

static void body_addr_with(struct ctl_codec_writer *w, const void *addr, size_t len)
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 0);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 1);
	ctl_codec_put_bin(w, addr, len);
}

static void body_addr_mapped_as_v6(struct ctl_codec_writer *w)
{
	body_addr_with(w, "\x06\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04\x00\x01", 19);
}

static void body_addr_port0(struct ctl_codec_writer *w)
{
	body_addr_with(w, "\x04\x01\x02\x03\x04\x00\x00", 7);
}

static void body_addr_bad_family(struct ctl_codec_writer *w)
{
	body_addr_with(w, "\x06\x01\x02\x03\x04\x00\x01", 7);
}

static void body_addr_v6_ok(struct ctl_codec_writer *w)
{
	body_addr_with(w, "\x06\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x01", 19);
}

static void body_addr_as_str(struct ctl_codec_writer *w)
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_array(w, 0);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_array(w, 1);
	ctl_codec_put_str(w, "1.2.3.4:1", 9);
}

static void test_parse_caps(void **state)
{
	static const struct {
		void (*body)(struct ctl_codec_writer *);
		int want;
	} cases[] = {
		{body_ok, 0},
		{body_addr_v6_ok, 0},
		{body_five_relays, -EBADMSG},
		{body_seventeen_addrs, -EBADMSG},
		{body_long_relays, -EMSGSIZE},
		{body_url_256, -EBADMSG},
		{body_url_nul, -EBADMSG},
		{body_addr_mapped_as_v6, -EBADMSG},
		{body_addr_port0, -EBADMSG},
		{body_addr_bad_family, -EBADMSG},
		{body_addr_as_str, -EBADMSG},
	};
	uint8_t buf[2048];
	struct record got;
	char text[ENDPOINT_TEXT_MAX];
	size_t len, i;
	int err;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = node_raw(cases[i].body, buf, sizeof(buf));
		err = record_parse_verify(buf, len, NOW, &got);
		if (err != cases[i].want)
			print_message("case %zu: %d, want %d\n", i, err, cases[i].want);
		assert_int_equal(err, cases[i].want);
	}
	len = node_raw(body_ok, buf, sizeof(buf));
	assert_int_equal(record_parse_verify(buf, len, NOW, &got), 0);
	assert_string_equal(got.body.node.relays[0], "r");
	endpoint_format(&got.body.node.addrs[0], text);
	assert_string_equal(text, "1.2.3.4:1");
	len = node_raw(body_addr_v6_ok, buf, sizeof(buf));
	assert_int_equal(record_parse_verify(buf, len, NOW, &got), 0);
	endpoint_format(&got.body.node.addrs[0], text);
	assert_string_equal(text, "[2001:db8::1]:1");

	/* over the size cap, whatever the bytes */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(record_parse_verify(buf, RECORD_MAX_LEN + 1, NOW, &got), -EMSGSIZE);
	assert_int_equal(record_parse_verify(NULL, 0, NOW, &got), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_node),
		cmocka_unit_test(test_round_trip_network),
		cmocka_unit_test(test_round_trip_contact),
		cmocka_unit_test(test_node_body_bytes),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_other_signer),
		cmocka_unit_test(test_time_limits),
		cmocka_unit_test(test_is_newer),
		cmocka_unit_test(test_hand_made),
		cmocka_unit_test(test_unknown_key_cannot_be_stripped),
		cmocka_unit_test(test_sign_caps),
		cmocka_unit_test(test_parse_caps),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
