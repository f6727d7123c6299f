/* The network roster (group blob): canonical encoding that round-trips byte
 * for byte, strict decoding of hostile input, hostname and IPv4 collision
 * resolution, caps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/codec.h"
#include "crypto/address.h"
#include "crypto/keytext.h"
#include "net/group.h"

#define NOW 1700000000000ull

/* ---- helpers ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* splitmix64: deterministic ids for a fixed seed */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_id(uint8_t id[32])
{
	for (int i = 0; i < 32; i += 8) {
		uint64_t v = rng_next();

		memcpy(id + i, &v, 8);
	}
}

/* An id that is N in its last two bytes, otherwise FILL: ordered by N. */
static void seq_id(uint8_t id[32], uint8_t fill, unsigned n)
{
	memset(id, fill, 32);
	id[30] = (uint8_t)(n >> 8);
	id[31] = (uint8_t)n;
}

static void encode(const struct group *g, uint8_t **buf, size_t *len)
{
	assert_int_equal(group_encode(g, buf, len), 0);
	assert_non_null(*buf);
	assert_true(*len > 0 && *len <= GROUP_MAX_BYTES);
}

/* Decodes BUF and checks that it re-encodes to the same bytes. */
static struct group *decode_same(const uint8_t *buf, size_t len)
{
	struct group *g;
	uint8_t *again;
	size_t alen;

	assert_int_equal(group_decode(buf, len, &g), 0);
	encode(g, &again, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(again, buf, len);
	free(again);
	return g;
}

static void assert_refused(const uint8_t *buf, size_t len)
{
	struct group *g = (struct group *)1;

	assert_int_equal(group_decode(buf, len, &g), -EBADMSG);
	assert_null(g);
}

static uint8_t *take(struct ctl_codec_writer *w, size_t *len)
{
	uint8_t *buf;

	assert_int_equal(ctl_codec_writer_error(w), 0);
	buf = ctl_codec_writer_take(w, len);
	assert_non_null(buf);
	return buf;
}

static void assert_refused_writer(struct ctl_codec_writer *w)
{
	size_t len;
	uint8_t *buf = take(w, &len);

	assert_refused(buf, len);
	free(buf);
}

/* Replaces the first occurrence of FROM by TO (same length) in BUF. */
static void patch(uint8_t *buf, size_t len, const void *from, const void *to, size_t n)
{
	uint8_t *p = memmem(buf, len, from, n);

	assert_non_null(p);
	memcpy(p, to, n);
}

static const uint8_t rule_any[] = {0x82, 0x00, 0xa5, 'a', 'l', 'l', 'o', 'w', 0x01, 0x16};

/* A group with every kind of entry. */
static struct group *full_group(void)
{
	uint8_t a[32], b[32], c[32], d[32], hash[32];
	struct group *g;

	assert_int_equal(group_new("Office", false, &g), 0);
	seq_id(a, 0x11, 1);
	seq_id(b, 0x22, 2);
	seq_id(c, 0x33, 3);
	seq_id(d, 0x44, 4);
	assert_int_equal(group_member_add(g, b, "laptop", false, NOW + 1, NULL), 0);
	assert_int_equal(group_member_add(g, a, "server", true, NOW, NULL), 0);
	assert_int_equal(group_member_add(g, c, NULL, false, NOW + 2, NULL), 0);
	assert_int_equal(group_approved_add(g, d, "phone", NOW + 3600000), 0);
	seq_id(d, 0x55, 5);
	assert_int_equal(group_approved_add(g, d, NULL, NOW + 7200000), 0);
	memset(hash, 0xaa, sizeof(hash));
	assert_int_equal(group_key_add(g, 0x12345678, hash, "printer", 0), 0);
	memset(hash, 0xbb, sizeof(hash));
	assert_int_equal(group_key_add(g, 7, hash, NULL, NOW + 86400000), 0);
	assert_int_equal(group_rule_add(g, "*", rule_any, sizeof(rule_any)), 0);
	assert_int_equal(group_rule_add(g, "Laptop", (const uint8_t *)"\x90", 1), 0);
	group_bump_version(g, NOW + 10);
	return g;
}

/* ---- hostnames ---- */

static void test_hostname_normalize(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{"web", "web"},
		{"Web-01", "web-01"},
		{"a", "a"},
		{"0", "0"},
		{"a-b-c", "a-b-c"},
		{"a--b", "a--b"},
		{"xn--bcher-kva", "xn--bcher-kva"},
		{"012345678901234567890123456789012345678901234567890123456789012",
		 "012345678901234567890123456789012345678901234567890123456789012"},
		{"0123456789012345678901234567890123456789012345678901234567890123", NULL},
		{"", NULL},
		{"-web", NULL},
		{"web-", NULL},
		{"-", NULL},
		{"we b", NULL},
		{"we_b", NULL},
		{"web.local", NULL},
		{"caf\xc3\xa9", NULL},
		{"*", NULL},
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = group_hostname_normalize(cases[i].in, out);

		if (cases[i].out) {
			assert_int_equal(err, 0);
			assert_string_equal(out, cases[i].out);
			assert_true(group_hostname_valid(out));
		} else {
			assert_int_equal(err, -EINVAL);
			assert_string_equal(out, "");
		}
	}
	assert_false(group_hostname_valid("Web"));
	assert_true(group_hostname_valid("web"));
}

static void test_new_name_version(void **state)
{
	struct group *g = (struct group *)1;

	(void)state;
	assert_int_equal(group_new("", true, &g), -EINVAL);
	assert_null(g);
	assert_int_equal(group_new("no way", true, &g), -EINVAL);
	assert_int_equal(group_new("Home-Net", true, &g), 0);
	assert_string_equal(group_name(g), "home-net");
	assert_true(group_is_open(g));
	group_set_open(g, false);
	assert_false(group_is_open(g));
	assert_int_equal(group_set_name(g, "bad name"), -EINVAL);
	assert_string_equal(group_name(g), "home-net");
	assert_int_equal(group_set_name(g, "Lab"), 0);
	assert_string_equal(group_name(g), "lab");

	assert_int_equal(group_version(g), 0);
	group_bump_version(g, 5);
	assert_int_equal(group_version(g), 5);
	group_bump_version(g, 3); /* a clock behind: still grows */
	assert_int_equal(group_version(g), 6);
	group_bump_version(g, 6);
	assert_int_equal(group_version(g), 7);
	group_bump_version(g, NOW);
	assert_int_equal(group_version(g), NOW);
	group_free(g);
	group_free(NULL);
}

/* ---- encoding ---- */

static void test_roundtrip(void **state)
{
	struct group *g = full_group(), *h;
	const struct group_member *m;
	const struct group_approved *a;
	const struct group_key *k;
	const struct group_rule *r;
	uint8_t *buf, id[32];
	size_t len;

	(void)state;
	encode(g, &buf, &len);
	h = decode_same(buf, len);
	assert_string_equal(group_name(h), "office");
	assert_false(group_is_open(h));
	assert_int_equal(group_version(h), NOW + 10);

	assert_int_equal(group_member_count(h), 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct group_member *x = group_member_at(g, i), *y = group_member_at(h, i);

		assert_memory_equal(x->id, y->id, 32);
		assert_int_equal(x->collision_index, y->collision_index);
		assert_int_equal(x->coordinator, y->coordinator);
		assert_string_equal(x->hostname, y->hostname);
		assert_int_equal(x->joined_ms, y->joined_ms);
		assert_int_equal(x->ipv4, y->ipv4);
		assert_int_equal(group_member_ipv4(y),
				 address_ipv4_derive(y->id, y->collision_index));
	}
	assert_null(group_member_at(h, 3));
	m = group_member_at(h, 0); /* sorted by id: 0x11.. first */
	assert_string_equal(m->hostname, "server");
	assert_true(m->coordinator);
	assert_int_equal(m->joined_ms, NOW);
	assert_int_equal(m->collision_index, 0);
	assert_string_equal(group_member_at(h, 1)->hostname, "laptop");
	assert_false(group_member_at(h, 1)->coordinator);

	assert_int_equal(group_approved_count(h), 2);
	a = group_approved_at(h, 0);
	assert_string_equal(a->hostname, "phone");
	assert_int_equal(a->expires_ms, NOW + 3600000);
	assert_string_equal(group_approved_at(h, 1)->hostname, "");
	assert_null(group_approved_at(h, 2));

	assert_int_equal(group_key_count(h), 2);
	k = group_key_at(h, 0); /* sorted by id */
	assert_int_equal(k->id, 7);
	assert_string_equal(k->hostname, "");
	assert_int_equal(k->expires_ms, NOW + 86400000);
	k = group_key_at(h, 1);
	assert_int_equal(k->id, 0x12345678);
	assert_string_equal(k->hostname, "printer");
	assert_int_equal(k->expires_ms, 0);

	assert_int_equal(group_rule_count(h), 2);
	r = group_rule_at(h, 0); /* in the order given */
	assert_string_equal(r->subject, "*");
	assert_int_equal(r->len, sizeof(rule_any));
	assert_memory_equal(r->rule, rule_any, sizeof(rule_any));
	assert_string_equal(group_rule_at(h, 1)->subject, "laptop");
	assert_null(group_rule_at(h, 2));

	/* the default hostname */
	seq_id(id, 0x33, 3);
	m = group_member_by_id(h, id);
	assert_non_null(m);
	{
		char text[NODE_ID_TEXT_LEN + 1], want[64];

		keytext_format_node_id(id, text);
		snprintf(want, sizeof(want), "node-%.8s", text);
		assert_string_equal(m->hostname, want);
	}

	/* an empty group round-trips too */
	group_free(h);
	free(buf);
	assert_int_equal(group_new("x", true, &h), 0);
	encode(h, &buf, &len);
	group_free(decode_same(buf, len));
	group_free(h);
	free(buf);
	group_free(g);
}

/* A fixed vector: the layout in group.h, byte by byte. */
static void test_layout_vector(void **state)
{
	static const uint8_t want[] = {
		0x87,		  /* map of 7 */
		0x00, 0xa1, 'n',  /* name */
		0x01, 0xc3,	  /* open */
		0x02, 0x05,	  /* version */
		0x03, 0x91,	  /* members: 1 */
		0x85,		  /* member: map of 5 */
		0x00, 0xc4, 0x20, /* id: bin 32 */
		0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
		0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
		0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x01, 0x00, /* collision 0 */
		0x02, 0xa1, 'h',					    /* hostname */
		0x03, 0xc3,						    /* coordinator */
		0x04, 0xcc, 0xc8,					    /* joined 200 */
		0x04, 0x90,						    /* approved: none */
		0x05, 0x90,						    /* keys: none */
		0x06, 0x91,						    /* rules: 1 */
		0x82, 0x00, 0xa1, '*',	0x01, 0xc4, 0x01, 0xc0,
	};
	uint8_t id[32], *buf;
	struct group *g;
	size_t len;

	(void)state;
	memset(id, 7, sizeof(id));
	assert_int_equal(group_new("n", true, &g), 0);
	assert_int_equal(group_member_add(g, id, "h", true, 200, NULL), 0);
	assert_int_equal(group_rule_add(g, "*", (const uint8_t *)"\xc0", 1), 0);
	group_bump_version(g, 5);
	encode(g, &buf, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, len);
	group_free(decode_same(want, sizeof(want)));
	free(buf);
	group_free(g);
}

typedef void (*mutation_fn)(struct group *g);

static void mut_name(struct group *g)
{
	assert_int_equal(group_set_name(g, "office2"), 0);
}
static void mut_open(struct group *g)
{
	group_set_open(g, true);
}
static void mut_version(struct group *g)
{
	group_bump_version(g, 0);
}
static void mut_member_add(struct group *g)
{
	uint8_t id[32];

	seq_id(id, 0x66, 6);
	assert_int_equal(group_member_add(g, id, NULL, false, NOW, NULL), 0);
}
static void mut_member_remove(struct group *g)
{
	assert_int_equal(group_member_remove(g, group_member_at(g, 2)->id), 0);
}
static void mut_hostname(struct group *g)
{
	uint8_t id[32];

	memcpy(id, group_member_at(g, 1)->id, 32);
	assert_int_equal(group_member_set_hostname(g, id, "desktop", NULL), 0);
}
static void mut_coordinator(struct group *g)
{
	uint8_t id[32];

	memcpy(id, group_member_at(g, 1)->id, 32);
	assert_int_equal(group_member_set_coordinator(g, id, true), 0);
}
static void mut_approved_add(struct group *g)
{
	uint8_t id[32];

	seq_id(id, 0x77, 7);
	assert_int_equal(group_approved_add(g, id, NULL, NOW), 0);
}
static void mut_approved_remove(struct group *g)
{
	uint8_t id[32];

	memcpy(id, group_approved_at(g, 0)->id, 32);
	assert_int_equal(group_approved_remove(g, id), 0);
}
static void mut_key_add(struct group *g)
{
	uint8_t hash[32] = {1};

	assert_int_equal(group_key_add(g, 99, hash, NULL, 0), 0);
}
static void mut_key_remove(struct group *g)
{
	assert_int_equal(group_key_remove(g, 7), 0);
}
static void mut_rule_add(struct group *g)
{
	assert_int_equal(group_rule_add(g, "*", (const uint8_t *)"\x01", 1), 0);
}
static void mut_rule_remove(struct group *g)
{
	assert_int_equal(group_rule_remove(g, 0), 0);
}
static void mut_rule_order(struct group *g)
{
	assert_int_equal(group_rule_remove(g, 0), 0);
	assert_int_equal(group_rule_add(g, "*", rule_any, sizeof(rule_any)), 0);
}
static void mut_expire(struct group *g)
{
	assert_true(group_expire(g, NOW + 86400000));
}

static void test_hash_changes(void **state)
{
	static const mutation_fn muts[] = {
		mut_name,	 mut_open,	    mut_version,
		mut_member_add,	 mut_member_remove, mut_hostname,
		mut_coordinator, mut_approved_add,  mut_approved_remove,
		mut_key_add,	 mut_key_remove,    mut_rule_add,
		mut_rule_remove, mut_rule_order,    mut_expire,
	};
	uint8_t base_hash[32], hash[32], seen[sizeof(muts) / sizeof(muts[0])][32], *base, *buf;
	struct group *g = full_group();
	size_t blen, len;

	(void)state;
	encode(g, &base, &blen);
	group_hash(base, blen, base_hash);
	/* BLAKE2b-256, unkeyed */
	crypto_generichash(hash, 32, base, blen, NULL, 0);
	assert_memory_equal(hash, base_hash, 32);
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		struct group *h;

		assert_int_equal(group_decode(base, blen, &h), 0);
		muts[i](h);
		encode(h, &buf, &len);
		group_hash(buf, len, hash);
		assert_memory_not_equal(hash, base_hash, 32);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(hash, seen[j], 32);
		memcpy(seen[i], hash, 32);
		free(buf);
		group_free(h);
	}
	/* and no change, no new hash */
	{
		struct group *h;

		assert_int_equal(group_decode(base, blen, &h), 0);
		assert_false(group_expire(h, NOW));
		encode(h, &buf, &len);
		group_hash(buf, len, hash);
		assert_memory_equal(hash, base_hash, 32);
		free(buf);
		group_free(h);
	}
	free(base);
	group_free(g);
}

static void test_truncations(void **state)
{
	struct group *g = full_group(), *h;
	uint8_t *buf;
	size_t len;

	(void)state;
	encode(g, &buf, &len);
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */

		memcpy(copy, buf, n);
		assert_refused(copy, n);
		free(copy);
	}
	assert_refused(NULL, 0);
	/* and one byte more */
	{
		uint8_t *longer = malloc(len + 1);

		memcpy(longer, buf, len);
		longer[len] = 0x00;
		assert_refused(longer, len + 1);
		longer[len] = 0xc0;
		assert_refused(longer, len + 1);
		free(longer);
	}
	assert_int_equal(group_decode(buf, GROUP_MAX_BYTES + 1, &h), -EMSGSIZE);
	free(buf);
	group_free(g);
}

/* Two members "host-a" (id 0x01..) and "host-b" (id 0x02..), version 5. */
static void two_members(uint8_t **buf, size_t *len)
{
	uint8_t a[32], b[32];
	struct group *g;

	seq_id(a, 0x01, 1);
	seq_id(b, 0x02, 2);
	assert_int_equal(group_new("abc", false, &g), 0);
	assert_int_equal(group_member_add(g, a, "host-a", true, 100, NULL), 0);
	assert_int_equal(group_member_add(g, b, "host-b", false, 100, NULL), 0);
	group_bump_version(g, 5);
	encode(g, buf, len);
	group_free(g);
	group_free(decode_same(*buf, *len));
}

/* Inserts the N bytes at INS into a copy of BUF at OFF (replacing DEL bytes). */
static uint8_t *splice(const uint8_t *buf, size_t len, size_t off, size_t del, const void *ins,
		       size_t n, size_t *out_len)
{
	uint8_t *out = malloc(len - del + n);

	memcpy(out, buf, off);
	memcpy(out + off, ins, n);
	memcpy(out + off + n, buf + off + del, len - off - del);
	*out_len = len - del + n;
	return out;
}

static void test_noncanonical(void **state)
{
	uint8_t *buf, *bad, a[32], b[32], *p, *pa, *pb;
	size_t len, blen;

	(void)state;
	two_members(&buf, &len);
	seq_id(a, 0x01, 1);
	seq_id(b, 0x02, 2);
	assert_int_equal(buf[0], 0x87);
	assert_memory_equal(buf + 1,
			    "\x00\xa3"
			    "abc"
			    "\x01\xc2\x02\x05",
			    9);

	/* longer forms: map header, string header, integer */
	bad = splice(buf, len, 0, 1, "\xde\x00\x07", 3, &blen);
	assert_refused(bad, blen);
	free(bad);
	bad = splice(buf, len, 2, 1, "\xd9\x03", 2, &blen);
	assert_refused(bad, blen);
	free(bad);
	bad = splice(buf, len, 9, 1, "\xcc\x05", 2, &blen);
	assert_refused(bad, blen);
	free(bad);
	bad = splice(buf, len, 9, 1, "\xd0\x05", 2, &blen); /* signed form */
	assert_refused(bad, blen);
	free(bad);
	/* the collision index 0 as uint8 */
	p = memmem(buf, len, a, 32);
	assert_non_null(p);
	assert_memory_equal(p + 32, "\x01\x00", 2);
	bad = splice(buf, len, (size_t)(p - buf) + 33, 1, "\xcc\x00", 2, &blen);
	assert_refused(bad, blen);
	free(bad);

	/* keys out of order: open before name */
	bad = malloc(len);
	memcpy(bad, buf, len);
	memcpy(bad + 1,
	       "\x01\xc2\x00\xa3"
	       "abc",
	       7);
	assert_refused(bad, len);
	/* duplicate key: name twice instead of name, open */
	memcpy(bad, buf, len);
	memcpy(bad + 6, "\x00\xc2", 2);
	assert_refused(bad, len);

	/* duplicate member, unsorted members */
	memcpy(bad, buf, len);
	patch(bad, len, b, a, 32);
	assert_refused(bad, len);
	pa = memmem(buf, len, a, 32);
	pb = memmem(buf, len, b, 32);
	memcpy(bad, buf, len);
	memcpy(bad + (pa - buf), b, 32);
	memcpy(bad + (pb - buf), a, 32);
	assert_refused(bad, len);
	/* (while swapping only their hostnames is fine) */
	pa = memmem(buf, len, "host-a", 6);
	pb = memmem(buf, len, "host-b", 6);
	memcpy(bad, buf, len);
	memcpy(bad + (pa - buf), "host-b", 6);
	memcpy(bad + (pb - buf), "host-a", 6);
	group_free(decode_same(bad, len));

	/* duplicate hostname */
	memcpy(bad, buf, len);
	patch(bad, len, "host-b", "host-a", 6);
	assert_refused(bad, len);
	/* bad hostnames */
	static const char *const bad_names[] = {"Host-b", "-ost-b", "hostb-",  "host-_",
						"host-.", "host- ", "host-\0", "host-\xe9"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		memcpy(bad, buf, len);
		patch(bad, len, "host-b", bad_names[i], 6);
		assert_refused(bad, len);
	}
	/* a bad network name */
	memcpy(bad, buf, len);
	patch(bad, len, "abc", "aBc", 3);
	assert_refused(bad, len);
	free(bad);
	/* a collision index over 255 */
	bad = splice(buf, len, (size_t)(p - buf) + 33, 1, "\xcd\x01\x00", 3, &blen);
	assert_refused(bad, blen);
	free(bad);
	/* an id of 31 bytes */
	bad = splice(buf, len, (size_t)(p - buf) - 1, 2, "\x1f", 1, &blen);
	assert_refused(bad, blen);
	free(bad);
	/* a wrong type: open as 0 */
	bad = splice(buf, len, 7, 1, "\x00", 1, &blen);
	assert_refused(bad, blen);
	free(bad);
	/* trailing bytes */
	bad = splice(buf, len, len, 0, "\x00", 1, &blen);
	assert_refused(bad, blen);
	free(bad);
	free(buf);
}

/* ---- hand-built encodings ---- */

static void put_member(struct ctl_codec_writer *w, const uint8_t id[32], uint64_t idx,
		       const char *host, unsigned extra)
{
	ctl_codec_put_map(w, 5 + extra);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_bin(w, id, 32);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_uint(w, idx);
	ctl_codec_put_uint(w, 2);
	ctl_codec_put_str(w, host, strlen(host));
	ctl_codec_put_uint(w, 3);
	ctl_codec_put_bool(w, false);
	ctl_codec_put_uint(w, 4);
	ctl_codec_put_uint(w, 1);
}

static void put_head(struct ctl_codec_writer *w, unsigned entries)
{
	ctl_codec_put_map(w, entries);
	ctl_codec_put_uint(w, 0);
	ctl_codec_put_str(w, "net", 3);
	ctl_codec_put_uint(w, 1);
	ctl_codec_put_bool(w, true);
	ctl_codec_put_uint(w, 2);
	ctl_codec_put_uint(w, 1);
}

/* A whole group of NM members, NA approved, NK keys, NR rules, all valid. */
static void put_group(struct ctl_codec_writer *w, unsigned nm, unsigned na, unsigned nk,
		      unsigned nr)
{
	static uint8_t used[1u << 19]; /* a bit per mesh IPv4 */
	uint8_t id[32], hash[32];
	char host[64];

	memset(used, 0, sizeof(used));
	put_head(w, 7);
	ctl_codec_put_uint(w, 3);
	ctl_codec_put_array(w, nm);
	for (unsigned i = 0, n = 0; i < nm; n++) {
		uint32_t ip;

		seq_id(id, 0x10, n);
		ip = address_ipv4_derive(id, 0) & 0x3fffff;
		if (used[ip / 8] & (1u << (ip % 8)))
			continue; /* keep the IPv4s distinct */
		used[ip / 8] |= (uint8_t)(1u << (ip % 8));
		snprintf(host, sizeof(host), "m%u", i);
		put_member(w, id, 0, host, 0);
		i++;
	}
	ctl_codec_put_uint(w, 4);
	ctl_codec_put_array(w, na);
	for (unsigned i = 0; i < na; i++) {
		seq_id(id, 0x20, i);
		snprintf(host, sizeof(host), "a%u", i);
		ctl_codec_put_map(w, 3);
		ctl_codec_put_uint(w, 0);
		ctl_codec_put_bin(w, id, 32);
		ctl_codec_put_uint(w, 1);
		ctl_codec_put_str(w, host, strlen(host));
		ctl_codec_put_uint(w, 2);
		ctl_codec_put_uint(w, NOW);
	}
	ctl_codec_put_uint(w, 5);
	ctl_codec_put_array(w, nk);
	for (unsigned i = 0; i < nk; i++) {
		memset(hash, (int)i, sizeof(hash));
		ctl_codec_put_map(w, 3);
		ctl_codec_put_uint(w, 0);
		ctl_codec_put_uint(w, i + 1);
		ctl_codec_put_uint(w, 1);
		ctl_codec_put_bin(w, hash, 32);
		ctl_codec_put_uint(w, 3);
		ctl_codec_put_uint(w, 0);
	}
	ctl_codec_put_uint(w, 6);
	ctl_codec_put_array(w, nr);
	for (unsigned i = 0; i < nr; i++) {
		ctl_codec_put_map(w, 2);
		ctl_codec_put_uint(w, 0);
		ctl_codec_put_str(w, "*", 1);
		ctl_codec_put_uint(w, 1);
		ctl_codec_put_bin(w, "\x80", 1);
	}
}

static void test_caps(void **state)
{
	static const unsigned caps[4] = {GROUP_MAX_MEMBERS, GROUP_MAX_APPROVED, GROUP_MAX_KEYS,
					 GROUP_MAX_RULES};
	struct ctl_codec_writer w;
	struct group *g;
	uint8_t *buf;
	size_t len;

	(void)state;
	/* every list at its cap decodes, and re-encodes the same */
	ctl_codec_writer_init_dynamic(&w, 4 * GROUP_MAX_BYTES);
	put_group(&w, caps[0], caps[1], caps[2], caps[3]);
	buf = take(&w, &len);
	g = decode_same(buf, len);
	assert_int_equal(group_member_count(g), GROUP_MAX_MEMBERS);
	assert_int_equal(group_approved_count(g), GROUP_MAX_APPROVED);
	assert_int_equal(group_key_count(g), GROUP_MAX_KEYS);
	assert_int_equal(group_rule_count(g), GROUP_MAX_RULES);
	group_free(g);
	free(buf);
	/* one more in any of them does not */
	for (int k = 0; k < 4; k++) {
		unsigned n[4] = {0, 0, 0, 0};

		n[k] = caps[k] + 1;
		ctl_codec_writer_init_dynamic(&w, 4 * GROUP_MAX_BYTES);
		put_group(&w, n[0], n[1], n[2], n[3]);
		assert_refused_writer(&w);
	}
}

static void test_malformed_built(void **state)
{
	struct ctl_codec_writer w;
	uint8_t id[32], id2[32], *buf;
	struct group *g;
	size_t len;

	(void)state;
	seq_id(id, 0x10, 1);
	seq_id(id2, 0x10, 2);

	/* a required key missing: no rules */
	ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
	put_head(&w, 6);
	for (unsigned k = 3; k <= 5; k++) {
		ctl_codec_put_uint(&w, k);
		ctl_codec_put_array(&w, 0);
	}
	assert_refused_writer(&w);
	/* a member without joined */
	ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
	put_head(&w, 7);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_array(&w, 1);
	ctl_codec_put_map(&w, 4);
	ctl_codec_put_uint(&w, 0);
	ctl_codec_put_bin(&w, id, 32);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_uint(&w, 0);
	ctl_codec_put_uint(&w, 2);
	ctl_codec_put_str(&w, "x", 1);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_bool(&w, false);
	for (unsigned k = 4; k <= 6; k++) {
		ctl_codec_put_uint(&w, k);
		ctl_codec_put_array(&w, 0);
	}
	assert_refused_writer(&w);

	/* unknown keys: accepted in ascending order, kept, re-encoded */
	ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
	put_head(&w, 9);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_array(&w, 2);
	put_member(&w, id, 0, "x", 2);
	ctl_codec_put_uint(&w, 5);
	ctl_codec_put_array(&w, 2);
	ctl_codec_put_int(&w, -40);
	ctl_codec_put_map(&w, 1);
	ctl_codec_put_uint(&w, 1);
	ctl_codec_put_nil(&w);
	ctl_codec_put_uint(&w, 200);
	ctl_codec_put_str(&w, "later", 5);
	put_member(&w, id2, 0, "y", 0);
	for (unsigned k = 4; k <= 6; k++) {
		ctl_codec_put_uint(&w, k);
		ctl_codec_put_array(&w, 0);
	}
	ctl_codec_put_uint(&w, 7);
	ctl_codec_put_bin(&w, "\x01\x02", 2);
	ctl_codec_put_uint(&w, 1000);
	ctl_codec_put_uint(&w, UINT64_MAX);
	buf = take(&w, &len);
	g = decode_same(buf, len);
	assert_int_equal(group_member_count(g), 2);
	/* edits keep them */
	{
		uint8_t id3[32], *again;
		size_t alen;
		struct group *h;

		seq_id(id3, 0x10, 3);
		assert_int_equal(group_member_add(g, id3, "z", false, 1, NULL), 0);
		assert_int_equal(group_member_set_hostname(g, id, "xx", NULL), 0);
		encode(g, &again, &alen);
		assert_non_null(memmem(again, alen, "later", 5));
		assert_non_null(memmem(again, alen, "\xcd\x03\xe8\xcf\xff\xff", 6));
		h = decode_same(again, alen);
		assert_string_equal(group_member_by_id(h, id)->hostname, "xx");
		group_free(h);
		free(again);
	}
	group_free(g);
	free(buf);

	/* unknown keys out of order, or not unsigned integers */
	ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
	put_head(&w, 7);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_array(&w, 1);
	put_member(&w, id, 0, "x", 2);
	ctl_codec_put_uint(&w, 9);
	ctl_codec_put_nil(&w);
	ctl_codec_put_uint(&w, 8);
	ctl_codec_put_nil(&w);
	for (unsigned k = 4; k <= 6; k++) {
		ctl_codec_put_uint(&w, k);
		ctl_codec_put_array(&w, 0);
	}
	assert_refused_writer(&w);
	ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
	put_head(&w, 7);
	ctl_codec_put_uint(&w, 3);
	ctl_codec_put_array(&w, 1);
	put_member(&w, id, 0, "x", 1);
	ctl_codec_put_str(&w, "k", 1);
	ctl_codec_put_nil(&w);
	for (unsigned k = 4; k <= 6; k++) {
		ctl_codec_put_uint(&w, k);
		ctl_codec_put_array(&w, 0);
	}
	assert_refused_writer(&w);
	/* an unknown value that is a float */
	ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
	put_group(&w, 0, 0, 0, 0);
	buf = take(&w, &len);
	buf[0] = 0x88;
	buf = realloc(buf, len + 6);
	memcpy(buf + len, "\x07\xca\x00\x00\x00\x00", 6);
	assert_refused(buf, len + 6);
	buf[len + 1] = 0xc0; /* nil instead: fine, after the float's bytes */
	assert_refused(buf, len + 6);
	group_free(decode_same(buf, len + 2));
	free(buf);

	/* approved: expires 0; keys: id 0, id over 32 bits, unsorted */
	for (int c = 0; c < 4; c++) {
		uint8_t hash[32] = {0};

		ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
		put_head(&w, 7);
		ctl_codec_put_uint(&w, 3);
		ctl_codec_put_array(&w, 0);
		ctl_codec_put_uint(&w, 4);
		ctl_codec_put_array(&w, c == 0);
		if (c == 0) {
			ctl_codec_put_map(&w, 2);
			ctl_codec_put_uint(&w, 0);
			ctl_codec_put_bin(&w, id, 32);
			ctl_codec_put_uint(&w, 2);
			ctl_codec_put_uint(&w, 0);
		}
		ctl_codec_put_uint(&w, 5);
		ctl_codec_put_array(&w, c == 3 ? 2 : c != 0);
		for (int i = 0; i < (c == 3 ? 2 : c != 0); i++) {
			ctl_codec_put_map(&w, 3);
			ctl_codec_put_uint(&w, 0);
			ctl_codec_put_uint(&w, c == 1 ? 0 : c == 2 ? 1ull << 32 : 5u - (unsigned)i);
			ctl_codec_put_uint(&w, 1);
			hash[0] = (uint8_t)i;
			ctl_codec_put_bin(&w, hash, 32);
			ctl_codec_put_uint(&w, 3);
			ctl_codec_put_uint(&w, 0);
		}
		ctl_codec_put_uint(&w, 6);
		ctl_codec_put_array(&w, 0);
		assert_refused_writer(&w);
	}

	/* rules: too long, not msgpack, not canonical, two values, bad subject */
	static const struct {
		const char *subject;
		const char *rule;
		size_t len;
	} bad_rules[] = {
		{"*", "\xc4\x01", 2},		  /* truncated */
		{"*", "\xc1", 1},		  /* never used */
		{"*", "\xcc\x05", 2},		  /* not shortest */
		{"*", "\xca\x00\x00\x00\x00", 5}, /* float */
		{"*", "\x01\x02", 2},		  /* two values */
		{"*", "", 0},			  /* empty */
		{"**", "\x01", 1},
		{"Web", "\x01", 1},
		{"", "\x01", 1},
	};
	for (size_t i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
		put_head(&w, 7);
		for (unsigned k = 3; k <= 5; k++) {
			ctl_codec_put_uint(&w, k);
			ctl_codec_put_array(&w, 0);
		}
		ctl_codec_put_uint(&w, 6);
		ctl_codec_put_array(&w, 1);
		ctl_codec_put_map(&w, 2);
		ctl_codec_put_uint(&w, 0);
		ctl_codec_put_str(&w, bad_rules[i].subject, strlen(bad_rules[i].subject));
		ctl_codec_put_uint(&w, 1);
		ctl_codec_put_bin(&w, bad_rules[i].rule, bad_rules[i].len);
		assert_refused_writer(&w);
	}
	{
		uint8_t big[GROUP_RULE_MAX + 1];

		memset(big, 0, sizeof(big));
		big[0] = 0xc4;
		big[1] = GROUP_RULE_MAX - 2 + 1; /* one canonical bin of 257 bytes */
		ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
		put_head(&w, 7);
		for (unsigned k = 3; k <= 5; k++) {
			ctl_codec_put_uint(&w, k);
			ctl_codec_put_array(&w, 0);
		}
		ctl_codec_put_uint(&w, 6);
		ctl_codec_put_array(&w, 1);
		ctl_codec_put_map(&w, 2);
		ctl_codec_put_uint(&w, 0);
		ctl_codec_put_str(&w, "*", 1);
		ctl_codec_put_uint(&w, 1);
		ctl_codec_put_bin(&w, big, sizeof(big));
		assert_refused_writer(&w);
	}
}

/* ---- addresses ---- */

/* Two ids whose index-0 IPv4s collide: a birthday search over seeded random
 * ids (the /10 has 2^22 hosts, so a few thousand ids suffice). */
static void find_collision(uint8_t a[32], uint8_t b[32])
{
	enum { N = 20000 };
	uint32_t *slot = calloc(1u << 22, sizeof(*slot));
	uint8_t(*ids)[32] = malloc(N * 32);

	assert_non_null(slot);
	assert_non_null(ids);
	rng_state = 42;
	for (unsigned i = 0; i < N; i++) {
		uint32_t ip;

		rng_id(ids[i]);
		ip = address_ipv4_derive(ids[i], 0);
		assert_true(address_ipv4_in_mesh(ip));
		if (slot[ip & 0x3fffff]) {
			memcpy(a, ids[slot[ip & 0x3fffff] - 1], 32);
			memcpy(b, ids[i], 32);
			free(slot);
			free(ids);
			return;
		}
		slot[ip & 0x3fffff] = i + 1;
	}
	fail_msg("no collision in %d ids", N);
}

static void test_ipv4_collision(void **state)
{
	uint8_t a[32], b[32], f[3][32], *b1, *b2, *buf;
	struct group *g1, *g2, *h;
	const struct group_member *ma, *mb;
	size_t l1, l2, len;

	(void)state;
	find_collision(a, b);
	assert_int_equal(address_ipv4_derive(a, 0), address_ipv4_derive(b, 0));
	rng_state = 7;
	for (int i = 0; i < 3; i++)
		rng_id(f[i]);

	/* the second gets the next index, and another address */
	assert_int_equal(group_new("net", false, &g1), 0);
	assert_int_equal(group_member_add(g1, a, NULL, false, 1, &ma), 0);
	assert_int_equal(ma->collision_index, 0);
	assert_int_equal(group_member_add(g1, b, NULL, false, 1, &mb), 0);
	assert_int_equal(mb->collision_index, 1);
	assert_int_equal(group_member_ipv4(mb), address_ipv4_derive(b, 1));
	ma = group_member_by_id(g1, a);
	assert_int_not_equal(group_member_ipv4(ma), group_member_ipv4(mb));
	assert_ptr_equal(group_member_by_ipv4(g1, address_ipv4_derive(a, 0)), ma);
	assert_ptr_equal(group_member_by_ipv4(g1, address_ipv4_derive(b, 1)), mb);
	assert_null(group_member_by_ipv4(g1, ADDRESS_DNS_IPV4));

	/* The address is a function of the roster, not of how it was built:
	 * the same roster reached with the other members in another order
	 * encodes identically, and members decoding it agree. */
	assert_int_equal(group_new("net", false, &g2), 0);
	for (int i = 2; i >= 0; i--)
		assert_int_equal(group_member_add(g2, f[i], NULL, false, 1, NULL), 0);
	assert_int_equal(group_member_add(g2, a, NULL, false, 1, NULL), 0);
	assert_int_equal(group_member_add(g2, b, NULL, false, 1, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(group_member_add(g1, f[i], NULL, false, 1, NULL), 0);
	encode(g1, &b1, &l1);
	encode(g2, &b2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	h = decode_same(b1, l1);
	assert_int_equal(group_member_by_id(h, b)->collision_index, 1);
	assert_int_equal(group_member_ipv4(group_member_by_id(h, b)), address_ipv4_derive(b, 1));
	group_free(h);

	/* two coordinators holding the roster with only A compute the same
	 * index for B */
	assert_int_equal(group_member_remove(g1, b), 0);
	assert_int_equal(group_member_remove(g2, b), 0);
	free(b1);
	free(b2);
	encode(g1, &b1, &l1);
	group_free(g2);
	g2 = decode_same(b1, l1);
	assert_int_equal(group_member_add(g1, b, NULL, false, 2, &mb), 0);
	assert_int_equal(mb->collision_index, 1);
	assert_int_equal(group_member_add(g2, b, NULL, false, 2, &mb), 0);
	assert_int_equal(mb->collision_index, 1);
	free(b1);
	encode(g1, &b1, &l1);
	encode(g2, &b2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	free(b1);
	free(b2);

	/* a member keeps its address when the other leaves and comes back;
	 * whoever came first keeps index 0 */
	assert_int_equal(group_member_remove(g1, a), 0);
	assert_int_equal(group_member_by_id(g1, b)->collision_index, 1);
	assert_int_equal(group_member_add(g1, a, NULL, false, 3, &ma), 0);
	assert_int_equal(ma->collision_index, 0);
	group_free(g1);
	assert_int_equal(group_new("net", false, &g1), 0);
	assert_int_equal(group_member_add(g1, b, NULL, false, 1, NULL), 0);
	assert_int_equal(group_member_add(g1, a, NULL, false, 1, &ma), 0);
	assert_int_equal(ma->collision_index, 1);
	assert_int_equal(group_member_by_id(g1, b)->collision_index, 0);

	/* a roster where both hold the same address is refused */
	encode(g1, &buf, &len);
	{
		uint8_t *p = memmem(buf, len, a, 32);

		assert_non_null(p);
		assert_memory_equal(p + 32, "\x01\x01", 2);
		p[33] = 0x00;
		assert_refused(buf, len);
	}
	free(buf);
	group_free(g1);
	group_free(g2);
}

/* ---- hostnames ---- */

static void test_hostname_collisions(void **state)
{
	char long63[64], long62[64], want[64], got[64];
	const struct group_member *m;
	struct group *g;
	uint8_t id[32];
	unsigned n = 0;

	(void)state;
	assert_int_equal(group_new("net", false, &g), 0);
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = {"web", "web-1", "web-2"};

		seq_id(id, 1, n++);
		assert_int_equal(group_member_add(g, id, "web", false, 1, &m), 0);
		assert_string_equal(m->hostname, names[i]);
	}
	seq_id(id, 1, n++);
	assert_int_equal(group_member_add(g, id, "WeB", false, 1, &m), 0);
	assert_string_equal(m->hostname, "web-3");
	/* someone whose wish is already a suffixed name */
	seq_id(id, 1, n++);
	assert_int_equal(group_member_add(g, id, "web-1", false, 1, &m), 0);
	assert_string_equal(m->hostname, "web-1-1");
	assert_ptr_equal(group_member_by_hostname(g, "web-1-1"), m);
	assert_null(group_member_by_hostname(g, "web-4"));

	/* bad wishes */
	seq_id(id, 1, n);
	assert_int_equal(group_member_add(g, id, "we b", false, 1, &m), -EINVAL);
	assert_int_equal(group_member_add(g, id, "-web", false, 1, &m), -EINVAL);
	assert_null(group_member_by_id(g, id));

	/* truncation at 63 */
	memset(long63, 'a', 63);
	long63[63] = '\0';
	for (int i = 0; i <= 10; i++) {
		seq_id(id, 2, (unsigned)i);
		assert_int_equal(group_member_add(g, id, long63, false, 1, &m), 0);
		if (i == 0) {
			assert_string_equal(m->hostname, long63);
		} else {
			size_t base = i < 10 ? 61 : 60;

			snprintf(want, sizeof(want), "%.*s-%d", (int)base, long63, i);
			assert_int_equal(strlen(want), 63);
			assert_string_equal(m->hostname, want);
		}
		assert_true(group_hostname_valid(m->hostname));
	}
	/* a cut that would end in '-' drops it */
	memset(long62, 'b', 60);
	memcpy(long62 + 60, "-cc", 4); /* 63 characters */
	for (int i = 0; i < 2; i++) {
		seq_id(id, 3, (unsigned)i);
		assert_int_equal(group_member_add(g, id, long62, false, 1, &m), 0);
	}
	snprintf(want, sizeof(want), "%.60s-1", long62);
	assert_string_equal(m->hostname, want);

	/* renames: to one's own name is no collision */
	seq_id(id, 1, 1); /* "web-1" */
	assert_int_equal(group_member_set_hostname(g, id, "web", got), 0);
	assert_string_equal(got, "web-1");
	assert_int_equal(group_member_set_hostname(g, id, "web-1", got), 0);
	assert_string_equal(got, "web-1");
	assert_int_equal(group_member_set_hostname(g, id, "db", got), 0);
	assert_string_equal(got, "db");
	assert_int_equal(group_member_set_hostname(g, id, "Bad Name", got), -EINVAL);
	assert_string_equal(group_member_by_id(g, id)->hostname, "db");
	/* "web-1" is free again */
	seq_id(id, 1, n++);
	assert_int_equal(group_member_add(g, id, "web", false, 1, &m), 0);
	assert_string_equal(m->hostname, "web-1");
	assert_int_equal(group_member_set_hostname(g, id, NULL, got), 0);
	assert_int_equal(strncmp(got, "node-", 5), 0);
	assert_int_equal(strlen(got), 13);
	seq_id(id, 9, 9);
	assert_int_equal(group_member_set_hostname(g, id, "x", got), -ENOENT);
	assert_int_equal(group_member_set_coordinator(g, id, true), -ENOENT);
	group_free(g);
}

static void test_reservations(void **state)
{
	uint8_t x[32], y[32], z[32], k1[32], k2[32], hash[32], hash2[32];
	const struct group_member *m;
	struct group *g;

	(void)state;
	seq_id(x, 1, 1);
	seq_id(y, 2, 2);
	seq_id(z, 3, 3);
	seq_id(k1, 4, 4);
	seq_id(k2, 5, 5);
	memset(hash, 0x5a, sizeof(hash));
	memset(hash2, 0x5b, sizeof(hash2));
	assert_int_equal(group_new("net", false, &g), 0);
	assert_int_equal(group_member_add(g, z, "web", true, 1, NULL), 0);

	/* approved entries */
	assert_int_equal(group_approved_add(g, x, "db", 0), -EINVAL);
	assert_int_equal(group_approved_add(g, x, "d b", 100), -EINVAL);
	assert_int_equal(group_approved_add(g, x, "web", 100), -EADDRINUSE);
	assert_int_equal(group_approved_add(g, z, NULL, 100), -EEXIST);
	assert_int_equal(group_approved_add(g, x, "DB", 100), 0);
	assert_int_equal(group_approved_add(g, x, NULL, 100), -EEXIST);
	assert_string_equal(group_approved_by_id(g, x)->hostname, "db");
	assert_int_equal(group_approved_add(g, y, "db", 100), -EADDRINUSE);
	assert_int_equal(group_member_set_hostname(g, z, "db", NULL), 0);
	assert_string_equal(group_member_by_id(g, z)->hostname, "db-1");
	assert_int_equal(group_member_add(g, y, "db", false, 1, &m), 0);
	assert_string_equal(m->hostname, "db-2");
	/* X joins without a wish: gets the reserved name, the entry is used */
	assert_int_equal(group_member_add(g, x, NULL, false, 1, &m), 0);
	assert_string_equal(m->hostname, "db");
	assert_null(group_approved_by_id(g, x));
	assert_int_equal(group_approved_count(g), 0);
	assert_int_equal(group_member_add(g, x, NULL, false, 1, &m), -EEXIST);
	assert_int_equal(group_approved_remove(g, x), -ENOENT);

	/* reusable keys */
	assert_int_equal(group_key_add(g, 0, hash, NULL, 0), -EINVAL);
	assert_int_equal(group_key_add(g, 1, hash, "db", 0), -EADDRINUSE);
	assert_int_equal(group_key_add(g, 1, hash, "-x", 0), -EINVAL);
	assert_int_equal(group_key_add(g, 1, hash, "Printer", 0), 0);
	assert_int_equal(group_key_add(g, 1, hash2, NULL, 0), -EEXIST);
	assert_int_equal(group_key_add(g, 2, hash, NULL, 0), -EEXIST);
	assert_int_equal(group_key_add(g, 2, hash2, "printer", 0), -EADDRINUSE);
	assert_int_equal(group_approved_add(g, k1, "printer", 100), -EADDRINUSE);
	assert_int_equal(group_key_add(g, 3, hash2, NULL, 50), 0);
	assert_string_equal(group_key_by_id(g, 1)->hostname, "printer");
	assert_null(group_key_by_id(g, 2));
	/* a wish for the bound name is resolved around it */
	assert_int_equal(group_member_set_hostname(g, y, "printer", NULL), 0);
	assert_string_equal(group_member_by_id(g, y)->hostname, "printer-1");
	/* nodes joining by the key get it, then suffixes */
	assert_int_equal(group_member_add_key(g, k1, 1, "ignored", 10, &m), 0);
	assert_string_equal(m->hostname, "printer");
	assert_false(m->coordinator);
	assert_int_equal(group_member_add_key(g, k2, 1, NULL, 10, &m), 0);
	assert_string_equal(m->hostname, "printer-2");
	assert_int_equal(group_member_remove(g, k2), 0);
	assert_int_equal(group_member_add_key(g, k2, 9, NULL, 10, &m), -ENOENT);
	assert_int_equal(group_member_add_key(g, k2, 3, NULL, 50, &m), -ESTALE);
	assert_int_equal(group_member_add_key(g, k2, 3, "Lab", 49, &m), 0);
	assert_string_equal(m->hostname, "lab");

	/* matching a secret's hash */
	assert_ptr_equal(group_key_match(g, hash, 1ull << 60), group_key_by_id(g, 1));
	assert_ptr_equal(group_key_match(g, hash2, 49), group_key_by_id(g, 3));
	assert_null(group_key_match(g, hash2, 50));
	hash[31] ^= 1;
	assert_null(group_key_match(g, hash, 0));

	/* expiry */
	assert_int_equal(group_approved_add(g, k1, NULL, 100), -EEXIST); /* a member */
	assert_int_equal(group_member_remove(g, k1), 0);
	assert_int_equal(group_member_remove(g, k1), -ENOENT);
	assert_int_equal(group_approved_add(g, k1, "printer-9", 100), 0);
	assert_int_equal(group_approved_add(g, k2, NULL, 200), -EEXIST);
	assert_int_equal(group_member_remove(g, k2), 0);
	assert_int_equal(group_approved_add(g, k2, NULL, 200), 0);
	assert_false(group_expire(g, 49));
	assert_true(group_expire(g, 50)); /* key 3 */
	assert_null(group_key_by_id(g, 3));
	assert_int_equal(group_key_count(g), 1);
	assert_true(group_expire(g, 100)); /* approved k1 */
	assert_null(group_approved_by_id(g, k1));
	assert_non_null(group_approved_by_id(g, k2));
	assert_false(group_expire(g, 150));
	assert_true(group_expire(g, UINT64_MAX));
	assert_int_equal(group_approved_count(g), 0);
	assert_int_equal(group_key_count(g), 1); /* never expires */
	assert_int_equal(group_key_remove(g, 1), 0);
	assert_int_equal(group_key_remove(g, 1), -ENOENT);
	group_free(g);
}

static void test_rules(void **state)
{
	uint8_t big[GROUP_RULE_MAX + 1];
	struct group *g;

	(void)state;
	assert_int_equal(group_new("net", false, &g), 0);
	assert_int_equal(group_rule_add(g, "web server", rule_any, sizeof(rule_any)), -EINVAL);
	assert_int_equal(group_rule_add(g, "**", rule_any, sizeof(rule_any)), -EINVAL);
	assert_int_equal(group_rule_add(g, "*", rule_any, 0), -EINVAL);
	assert_int_equal(group_rule_add(g, "*", rule_any, sizeof(rule_any) - 1), -EINVAL);
	assert_int_equal(group_rule_add(g, "*", (const uint8_t *)"\x01\x01", 2), -EINVAL);
	assert_int_equal(group_rule_add(g, "*", (const uint8_t *)"\xcc\x01", 2), -EINVAL);
	memset(big, 0, sizeof(big));
	big[0] = 0xc4;
	big[1] = GROUP_RULE_MAX - 2;
	assert_int_equal(group_rule_add(g, "*", big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(group_rule_add(g, "*", big, GROUP_RULE_MAX), 0);
	for (unsigned i = 1; i < GROUP_MAX_RULES; i++)
		assert_int_equal(group_rule_add(g, i % 2 ? "Web" : "*", (const uint8_t *)"\x07", 1),
				 0);
	assert_int_equal(group_rule_add(g, "*", (const uint8_t *)"\x07", 1), -ENOSPC);
	assert_int_equal(group_rule_count(g), GROUP_MAX_RULES);
	assert_string_equal(group_rule_at(g, 1)->subject, "web");
	assert_int_equal(group_rule_remove(g, 0), 0);
	assert_int_equal(group_rule_at(g, 0)->len, 1);
	assert_int_equal(group_rule_remove(g, GROUP_MAX_RULES - 1), -ENOENT);
	group_rule_clear(g);
	assert_int_equal(group_rule_count(g), 0);
	assert_null(group_rule_at(g, 0));
	group_free(g);
}

/* The largest roster: every list full, every string at its longest. */
static void test_full_roster(void **state)
{
	uint8_t id[32], hash[32], rule[GROUP_RULE_MAX], *buf;
	char host[64];
	struct group *g, *h;
	size_t len;

	(void)state;
	rule[0] = 0xc4;
	rule[1] = GROUP_RULE_MAX - 2;
	memset(rule + 2, 0xee, GROUP_RULE_MAX - 2);
	assert_int_equal(
		group_new("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", true,
			  &g),
		0);
	rng_state = 1;
	for (unsigned i = 0; i < GROUP_MAX_MEMBERS; i++) {
		rng_id(id);
		snprintf(host, sizeof(host), "m%062u", i);
		assert_int_equal(group_member_add(g, id, host, i == 0, UINT64_MAX - i, NULL), 0);
	}
	rng_id(id);
	assert_int_equal(group_member_add(g, id, NULL, false, 1, NULL), -ENOSPC);
	for (unsigned i = 0; i < GROUP_MAX_APPROVED; i++) {
		rng_id(id);
		snprintf(host, sizeof(host), "a%062u", i);
		assert_int_equal(group_approved_add(g, id, host, UINT64_MAX), 0);
	}
	rng_id(id);
	assert_int_equal(group_approved_add(g, id, NULL, 1), -ENOSPC);
	for (unsigned i = 0; i < GROUP_MAX_KEYS; i++) {
		rng_id(hash);
		snprintf(host, sizeof(host), "k%062u", i);
		assert_int_equal(group_key_add(g, UINT32_MAX - i, hash, host, UINT64_MAX), 0);
	}
	rng_id(hash);
	assert_int_equal(group_key_add(g, 1, hash, NULL, 0), -ENOSPC);
	for (unsigned i = 0; i < GROUP_MAX_RULES; i++) {
		snprintf(host, sizeof(host), "m%062u", i);
		assert_int_equal(group_rule_add(g, host, rule, sizeof(rule)), 0);
	}
	group_bump_version(g, UINT64_MAX);
	group_bump_version(g, 0);
	assert_int_equal(group_version(g), UINT64_MAX);

	encode(g, &buf, &len);
	assert_true(len <= GROUP_MAX_BYTES);
	assert_true(len > 238000); /* the worst case of the layout: about 234 KiB */
	h = decode_same(buf, len);
	assert_int_equal(group_member_count(h), GROUP_MAX_MEMBERS);
	for (unsigned i = 1; i < GROUP_MAX_MEMBERS; i++)
		assert_true(memcmp(group_member_at(h, i - 1)->id, group_member_at(h, i)->id, 32) <
			    0);
	/* a decoded full roster is still full */
	rng_id(id);
	assert_int_equal(group_member_add(h, id, NULL, false, 1, NULL), -ENOSPC);
	assert_int_equal(group_member_remove(h, group_member_at(h, 5)->id), 0);
	assert_int_equal(group_member_add(h, id, NULL, false, 1, NULL), 0);
	group_free(h);
	free(buf);
	group_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostname_normalize),
		cmocka_unit_test(test_new_name_version),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_layout_vector),
		cmocka_unit_test(test_hash_changes),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_noncanonical),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_malformed_built),
		cmocka_unit_test(test_ipv4_collision),
		cmocka_unit_test(test_hostname_collisions),
		cmocka_unit_test(test_reservations),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_full_roster),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
