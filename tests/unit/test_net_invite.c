/* Invite codes: the text form, its checksum, and refusals. The fixed vectors
 * were computed with an independent Python implementation of the layout
 * (hashlib.blake2b, z-base-32 written from the spec). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/zbase32.h"
#include "net/group.h"
#include "net/invite.h"

static const char typical_text[] =
	"ray1-yr1yyyenycnykbo8byrownacbw8y6rytnejtefesnhcb1go5doqth8a1gtm8tefbwkt4jjpgw6wkuk"
	"imi1s47mhyozk4wb1yefbrgtnfe3dwo1kkjpgr4u1xkbeirw4wkimfqsn3mjpiazk6mhedrcbufaanhcjtgczd"
	"qqtugo5uohzm9zyo";

static const char reusable_text[] = "ray1-yrboyyenycnykbo8byrownacbw8y6rytnejtefesnhcb1go5doqth8"
				    "ayyyyyxefbwkt4jjpgw6wkukimi1s47mayy3sgnhdwp7agrghwoo";

/* network key 00..1f, id 0x12345678, secret a0..af, expiring, one coordinator
 * 40..5f, one relay: the shape of a typical code. */
static void typical(struct invite_code *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 32; i++) {
		c->network_key[i] = (uint8_t)i;
		c->coordinators[0][i] = (uint8_t)(0x40 + i);
	}
	for (int i = 0; i < 16; i++)
		c->secret[i] = (uint8_t)(0xa0 + i);
	c->id = 0x12345678;
	c->expires = 1700086400;
	c->ncoordinators = 1;
	c->nrelays = 1;
	strcpy(c->relays[0], "http://203.0.113.7:3478");
}

/* Every optional field, at its largest where that is cheap. */
static void full(struct invite_code *c)
{
	memset(c, 0, sizeof(*c));
	randombytes_buf(c->network_key, sizeof(c->network_key));
	randombytes_buf(c->secret, sizeof(c->secret));
	c->id = 0xfffffffe;
	c->expires = UINT64_MAX;
	c->reusable = true;
	strcpy(c->hostname, "build-server-07");
	c->ncoordinators = INVITE_COORDINATORS_MAX;
	for (unsigned i = 0; i < c->ncoordinators; i++)
		randombytes_buf(c->coordinators[i], INVITE_KEY_LEN);
	c->nrelays = INVITE_RELAYS_MAX;
	strcpy(c->relays[0], "http://[2001:db8::1]:443");
	strcpy(c->relays[1], "http://relay.example.net:3478/");
}

/* "ray1-" + z-base-32(PAYLOAD || checksum): lets a test write any payload. */
static void raw_code(const uint8_t *payload, size_t len, char *out)
{
	uint8_t buf[INVITE_PAYLOAD_MAX + 64], h[16];

	assert_true(len + 4 <= sizeof(buf));
	memcpy(buf, payload, len);
	crypto_generichash(h, sizeof(h), payload, len, NULL, 0);
	memcpy(buf + len, h, 4);
	strcpy(out, "ray1-");
	zbase32_encode(buf, len + 4, out + 5);
}

static void test_fixed_vectors(void **state)
{
	struct invite_code c, back;
	char text[INVITE_CODE_TEXT_MAX + 1];

	(void)state;
	typical(&c);
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), 185);
	assert_string_equal(text, typical_text);
	assert_int_equal(invite_code_parse(typical_text, &back), 0);
	assert_memory_equal(&back, &c, sizeof(c));

	/* Reusable, never expires, bound hostname, no hints. */
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 32; i++)
		c.network_key[i] = (uint8_t)i;
	for (int i = 0; i < 16; i++)
		c.secret[i] = (uint8_t)(0xa0 + i);
	c.id = 7;
	c.reusable = true;
	strcpy(c.hostname, "laptop");
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), 111);
	assert_string_equal(text, reusable_text);
	assert_int_equal(invite_code_parse(reusable_text, &back), 0);
	assert_memory_equal(&back, &c, sizeof(c));
}

static void test_secret_hash_vector(void **state)
{
	static const uint8_t expect[32] = {0xc7, 0xcb, 0x5d, 0x1a, 0x1a, 0x21, 0x4f, 0x1d,
					   0x83, 0x3a, 0x21, 0xfe, 0x6c, 0x7b, 0x24, 0x20,
					   0xe4, 0x17, 0xc2, 0xf2, 0x20, 0x78, 0x4c, 0xbe,
					   0x90, 0x07, 0x29, 0x75, 0x13, 0x1b, 0xc3, 0x67};
	uint8_t secret[16], hash[32];

	(void)state;
	for (int i = 0; i < 16; i++)
		secret[i] = (uint8_t)i;
	invite_secret_hash(secret, hash);
	assert_memory_equal(hash, expect, 32);
}

static void test_round_trip_every_field(void **state)
{
	struct invite_code c, back;
	char text[INVITE_CODE_TEXT_MAX + 1], again[INVITE_CODE_TEXT_MAX + 1];
	int n;

	(void)state;
	for (int round = 0; round < 50; round++) {
		full(&c);
		n = invite_code_encode(&c, text, sizeof(text));
		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(text));
		assert_int_equal(invite_code_parse(text, &back), 0);
		assert_memory_equal(&back, &c, sizeof(c));
		assert_int_equal(invite_code_encode(&back, again, sizeof(again)), n);
		assert_string_equal(again, text);
	}
	/* Each optional field alone. */
	for (int mask = 0; mask < 8; mask++) {
		full(&c);
		if (!(mask & 1))
			memset(c.hostname, 0, sizeof(c.hostname));
		if (!(mask & 2))
			c.ncoordinators = 0;
		if (!(mask & 4))
			c.nrelays = 0;
		if (!c.ncoordinators)
			memset(c.coordinators, 0, sizeof(c.coordinators));
		if (!c.nrelays)
			memset(c.relays, 0, sizeof(c.relays));
		c.expires = (uint64_t)mask * 1000;
		c.reusable = mask & 1;
		assert_true(invite_code_encode(&c, text, sizeof(text)) > 0);
		assert_int_equal(invite_code_parse(text, &back), 0);
		assert_memory_equal(&back, &c, sizeof(c));
	}
}

static void test_largest_code_fits_text_max(void **state)
{
	struct invite_code c, back;
	char text[INVITE_CODE_TEXT_MAX + 1];

	(void)state;
	full(&c);
	memset(c.hostname, 'h', INVITE_HOSTNAME_MAX);
	c.hostname[INVITE_HOSTNAME_MAX] = '\0';
	for (unsigned i = 0; i < INVITE_RELAYS_MAX; i++) {
		/* "http://" + 242 + ":65535" = 255 */
		strcpy(c.relays[i], "http://");
		memset(c.relays[i] + 7, 'a' + (char)i, 242);
		strcpy(c.relays[i] + 249, ":65535");
		assert_int_equal(strlen(c.relays[i]), INVITE_URL_MAX);
	}
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), INVITE_CODE_TEXT_MAX);
	assert_int_equal(invite_code_parse(text, &back), 0);
	assert_memory_equal(&back, &c, sizeof(c));
	assert_int_equal(invite_code_encode(&c, text, INVITE_CODE_TEXT_MAX), -ENOBUFS);
}

static const char zb_alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";

static void test_every_single_change_caught(void **state)
{
	char text[INVITE_CODE_TEXT_MAX + 1], bad[INVITE_CODE_TEXT_MAX + 1];
	struct invite_code c;
	size_t len, last;
	int tried = 0;

	(void)state;
	full(&c);
	assert_true(invite_code_encode(&c, text, sizeof(text)) > 0);
	len = strlen(text);
	last = len - 1;
	for (size_t pos = 0; pos < len; pos++) {
		/* every other character of the alphabet, and some outside it */
		for (const char *r = zb_alphabet; *r; r++) {
			if (*r == text[pos])
				continue;
			strcpy(bad, text);
			bad[pos] = *r;
			int err = invite_code_parse(bad, &c);

			if (pos >= 5 && pos != last)
				assert_int_equal(err, -EBADMSG);
			else
				assert_true(err == -EBADMSG || err == -EINVAL ||
					    err == -EPROTONOSUPPORT);
			tried++;
		}
		for (const char *r = "0lv2-_ .\x01\xff"; *r; r++) {
			if (*r == text[pos])
				continue;
			strcpy(bad, text);
			bad[pos] = *r;
			if (invite_code_parse(bad, &c) >= 0)
				fail_msg("accepted a change at %zu to %d", pos, *r);
		}
	}
	assert_true(tried > 30 * (int)len);
	/* Adjacent transpositions too. */
	for (size_t pos = 5; pos + 1 < len; pos++) {
		if (text[pos] == text[pos + 1])
			continue;
		strcpy(bad, text);
		bad[pos] = text[pos + 1];
		bad[pos + 1] = text[pos];
		assert_true(invite_code_parse(bad, &c) < 0);
	}
}

static void test_truncations_and_extensions(void **state)
{
	char text[INVITE_CODE_TEXT_MAX + 2], cut[INVITE_CODE_TEXT_MAX + 2];
	struct invite_code c;
	size_t len;

	(void)state;
	typical(&c);
	assert_true(invite_code_encode(&c, text, sizeof(text)) > 0);
	len = strlen(text);
	for (size_t n = 0; n < len; n++) {
		memcpy(cut, text, n);
		cut[n] = '\0';
		assert_true(invite_code_parse(cut, &c) < 0);
		/* and a code missing a character in the middle */
		memcpy(cut, text, n);
		strcpy(cut + n, text + n + 1);
		assert_true(invite_code_parse(cut, &c) < 0);
	}
	for (const char *r = zb_alphabet; *r; r++) {
		strcpy(cut, text);
		cut[len] = *r;
		cut[len + 1] = '\0';
		assert_true(invite_code_parse(cut, &c) < 0);
	}
	/* a failed parse leaves nothing behind */
	for (size_t i = 0; i < sizeof(c); i++)
		assert_int_equal(((uint8_t *)&c)[i], 0);
}

static void test_case_and_whitespace(void **state)
{
	char text[INVITE_CODE_TEXT_MAX + 1], buf[INVITE_CODE_TEXT_MAX + 32];
	struct invite_code c, back;

	(void)state;
	full(&c);
	assert_true(invite_code_encode(&c, text, sizeof(text)) > 0);
	for (size_t i = 0; text[i]; i++)
		buf[i] = (char)toupper((unsigned char)text[i]);
	buf[strlen(text)] = '\0';
	assert_int_equal(invite_code_parse(buf, &back), 0);
	assert_memory_equal(&back, &c, sizeof(c));

	snprintf(buf, sizeof(buf), " \t\r\n%s\n\n ", text);
	assert_int_equal(invite_code_parse(buf, &back), 0);
	assert_memory_equal(&back, &c, sizeof(c));

	/* whitespace inside, or other decorations, is not an invite */
	strcpy(buf, text);
	memmove(buf + 21, buf + 20, strlen(buf + 20) + 1);
	buf[20] = ' ';
	assert_int_equal(invite_code_parse(buf, &back), -EINVAL);
	snprintf(buf, sizeof(buf), "\"%s\"", text);
	assert_int_equal(invite_code_parse(buf, &back), -EINVAL);
	snprintf(buf, sizeof(buf), "%s.", text);
	assert_int_equal(invite_code_parse(buf, &back), -EINVAL);
}

static void test_error_codes(void **state)
{
	char text[INVITE_CODE_TEXT_MAX + 64], big[INVITE_CODE_TEXT_MAX + 64];
	uint8_t p[INVITE_PAYLOAD_MAX + 8];
	struct invite_code c;
	size_t n;

	(void)state;
	assert_int_equal(invite_code_parse("", &c), -EINVAL);
	assert_int_equal(invite_code_parse("   ", &c), -EINVAL);
	assert_int_equal(invite_code_parse("ray1-", &c), -EINVAL);
	assert_int_equal(invite_code_parse("ray-yyyy", &c), -EINVAL);
	assert_int_equal(invite_code_parse("rayfish", &c), -EINVAL);
	assert_int_equal(invite_code_parse("ray2-yyyyyyyy", &c), -EPROTONOSUPPORT);
	assert_int_equal(invite_code_parse("RAY10-yyyyyyyy", &c), -EPROTONOSUPPORT);

	strcpy(big, "ray1-");
	memset(big + 5, 'y', INVITE_CODE_TEXT_MAX);
	big[INVITE_CODE_TEXT_MAX + 5] = '\0';
	assert_int_equal(invite_code_parse(big, &c), -EMSGSIZE);

	/* A well-formed minimal payload, then one defect at a time with a
	 * correct checksum. */
	memset(p, 0, sizeof(p));
	p[0] = 1;
	p[1] = 0;
	n = 2 + 32 + 4 + 16 + 1; /* expiry 0 */
	raw_code(p, n, text);
	assert_int_equal(invite_code_parse(text, &c), 0);

	p[0] = 2; /* version */
	raw_code(p, n, text);
	assert_int_equal(invite_code_parse(text, &c), -EPROTONOSUPPORT);
	p[0] = 1;

	p[1] = 0x80; /* reserved flag */
	raw_code(p, n, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	p[1] = 5 << 2; /* five coordinators (with the bytes for them) */
	raw_code(p, n + 5 * 32, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	p[1] = 3 << 5; /* three relays */
	raw_code(p, n, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	p[1] = 1 << 2; /* one coordinator, bytes missing */
	raw_code(p, n + 31, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	p[1] = 0;

	raw_code(p, n + 1, text); /* trailing byte */
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	raw_code(p, n - 1, text); /* no expiry */
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);

	p[n - 1] = 0x80; /* expiry 0 in two bytes: not the shortest form */
	p[n] = 0x00;
	raw_code(p, n + 1, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	memset(p + n - 1, 0xff, 9); /* 2^64 and more */
	p[n + 8] = 0x02;
	raw_code(p, n + 9, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	p[n + 8] = 0x01; /* UINT64_MAX */
	raw_code(p, n + 9, text);
	assert_int_equal(invite_code_parse(text, &c), 0);
	assert_true(c.expires == UINT64_MAX);
	p[n - 1] = 0;

	/* hostname: "Up" is not lowercase, "-a" starts with a dash, length 0 */
	p[1] = 0x02;
	memcpy(p + n, "\x02Up", 3);
	raw_code(p, n + 3, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	memcpy(p + n, "\x02-a", 3);
	raw_code(p, n + 3, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	memcpy(p + n, "\x00", 1);
	raw_code(p, n + 1, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	memcpy(p + n, "\x02up", 3);
	raw_code(p, n + 3, text);
	assert_int_equal(invite_code_parse(text, &c), 0);
	assert_string_equal(c.hostname, "up");

	/* relays: "h:1" fine; no port, an embedded NUL, length past the end */
	p[1] = 1 << 5;
	memcpy(p + n, "\x03h:1", 4);
	raw_code(p, n + 4, text);
	assert_int_equal(invite_code_parse(text, &c), 0);
	assert_string_equal(c.relays[0], "http://h:1");
	memcpy(p + n, "\x03h:x", 4);
	raw_code(p, n + 4, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	memcpy(p + n, "\x03h\0:", 4);
	raw_code(p, n + 4, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	memcpy(p + n, "\x04h:1", 4);
	raw_code(p, n + 4, text);
	assert_int_equal(invite_code_parse(text, &c), -EINVAL);

	/* non-zero z-base-32 padding bits: 59 bytes leave 3 spare bits */
	p[1] = 0;
	raw_code(p, n, text);
	n = strlen(text);
	assert_int_equal(n, 5 + ZBASE32_ENCODED_LEN(59));
	for (const char *r = zb_alphabet; *r; r++) {
		int v = (int)(r - zb_alphabet);

		text[n - 1] = *r;
		if (v & 7)
			assert_int_equal(invite_code_parse(text, &c), -EINVAL);
	}
}

static void test_encode_refuses_bad_fields(void **state)
{
	char text[INVITE_CODE_TEXT_MAX + 1];
	struct invite_code c;

	(void)state;
	typical(&c);
	memset(c.hostname, 'a', sizeof(c.hostname)); /* 64, no NUL */
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EMSGSIZE);
	strcpy(c.hostname, "Laptop");
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EINVAL);
	strcpy(c.hostname, "lap top");
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EINVAL);
	strcpy(c.hostname, "laptop-");
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EINVAL);
	c.hostname[0] = '\0';

	memset(c.relays[0], 'a', sizeof(c.relays[0])); /* 256, no NUL */
	memcpy(c.relays[0], "http://", 7);
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EMSGSIZE);
	static const char *const bad_urls[] = {
		"",
		"http://",
		"https://relay:443",
		"HTTP://relay:1",
		"http://relay",
		"http://relay:0",
		"http://relay:65536",
		"relay:1",
		"http://re lay:1",
		"http://1.2.3:4",
	};
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		strcpy(c.relays[0], bad_urls[i]);
		assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EINVAL);
	}
	typical(&c);
	c.ncoordinators = INVITE_COORDINATORS_MAX + 1;
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EINVAL);
	typical(&c);
	c.nrelays = INVITE_RELAYS_MAX + 1;
	assert_int_equal(invite_code_encode(&c, text, sizeof(text)), -EINVAL);
	typical(&c);
	assert_int_equal(invite_code_encode(&c, text, 185), -ENOBUFS);
	assert_int_equal(invite_code_encode(&c, text, 186), 185);
}

static void test_room_id_versus_code(void **state)
{
	uint8_t key[32], back[32];
	char room[INVITE_ROOM_ID_LEN + 1], buf[128];
	struct invite_code c;

	(void)state;
	randombytes_buf(key, sizeof(key));
	invite_room_id_format(key, room);
	assert_int_equal(strlen(room), 52);
	assert_int_equal(invite_text_kind(room), INVITE_TEXT_ROOM_ID);
	assert_int_equal(invite_room_id_parse(room, back), 0);
	assert_memory_equal(back, key, 32);

	snprintf(buf, sizeof(buf), "  %s\n", room);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(invite_text_kind(buf), INVITE_TEXT_ROOM_ID);
	assert_int_equal(invite_room_id_parse(buf, back), 0);
	assert_memory_equal(back, key, 32);

	/* a room id is not an invite code, and the other way round */
	assert_int_equal(invite_code_parse(room, &c), -EINVAL);
	assert_int_equal(invite_room_id_parse(typical_text, back), -EINVAL);
	assert_int_equal(invite_text_kind(typical_text), INVITE_TEXT_CODE);
	assert_int_equal(invite_text_kind(" RAY1-abc "), INVITE_TEXT_CODE);
	assert_int_equal(invite_text_kind("ray2-abc"), INVITE_TEXT_CODE);

	assert_int_equal(invite_text_kind(""), INVITE_TEXT_OTHER);
	assert_int_equal(invite_text_kind("ray"), INVITE_TEXT_OTHER);
	assert_int_equal(invite_text_kind("my-network"), INVITE_TEXT_OTHER);
	room[51] = '\0';
	assert_int_equal(invite_text_kind(room), INVITE_TEXT_OTHER);
	assert_int_equal(invite_room_id_parse(room, back), -EINVAL);
	room[51] = 'y';
	room[10] = '-';
	assert_int_equal(invite_text_kind(room), INVITE_TEXT_OTHER);
	assert_int_equal(invite_room_id_parse(room, back), -EINVAL);
}

static void test_hostname_rule(void **state)
{
	char long_name[70];

	(void)state;
	assert_true(group_hostname_valid("a"));
	assert_true(group_hostname_valid("laptop-2"));
	assert_true(group_hostname_valid("0day"));
	assert_false(group_hostname_valid(""));
	assert_false(group_hostname_valid("-a"));
	assert_false(group_hostname_valid("a-"));
	assert_false(group_hostname_valid("A"));
	assert_false(group_hostname_valid("a.b"));
	assert_false(group_hostname_valid("a_b"));
	memset(long_name, 'a', 63);
	long_name[63] = '\0';
	assert_true(group_hostname_valid(long_name));
	long_name[63] = 'a';
	long_name[64] = '\0';
	assert_false(group_hostname_valid(long_name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_vectors),
		cmocka_unit_test(test_secret_hash_vector),
		cmocka_unit_test(test_round_trip_every_field),
		cmocka_unit_test(test_largest_code_fits_text_max),
		cmocka_unit_test(test_every_single_change_caught),
		cmocka_unit_test(test_truncations_and_extensions),
		cmocka_unit_test(test_case_and_whitespace),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_encode_refuses_bad_fields),
		cmocka_unit_test(test_room_id_versus_code),
		cmocka_unit_test(test_hostname_rule),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
