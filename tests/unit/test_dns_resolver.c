/* Magic DNS resolver core: queries built with ldns (and raw bytes for the
 * hostile ones) against a small table, answers parsed back with ldns.
 *
 * Table: b and c in net1, b again in net2 (so "b.ray" is ambiguous →
 * NXDOMAIN), d in net2 without a v6 address, solo only in net2, and twin,
 * one node (same addresses) in net1 and net2: its reverse names have two PTRs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/resolver.h"

#define QID 0x4242

static struct dns_table *table;

struct entry_spec {
	const char *host, *network, *v4, *v6;
};

static const struct entry_spec entries[] = {
	{"b", "net1", "100.64.1.2", "fd72:6179:1111:2222:3333:4444:5555:6666"},
	{"c", "net1", "100.64.1.3", "fd72:6179::c"},
	{"b", "net2", "100.100.7.8", "fd72:6179::b2"},
	{"d", "net2", "100.127.255.254", "::"},
	{"solo", "net2", "100.65.0.1", "fd72:6179::50"},
	{"twin", "net1", "100.66.0.9", "fd72:6179:abcd::9"},
	{"twin", "net2", "100.66.0.9", "fd72:6179:abcd::9"},
};

static int setup(void **state)
{
	(void)state;
	table = dns_table_new();
	assert_non_null(table);
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		struct dns_name_entry e;

		memset(&e, 0, sizeof(e));
		snprintf(e.host, sizeof(e.host), "%s", entries[i].host);
		snprintf(e.network, sizeof(e.network), "%s", entries[i].network);
		assert_int_equal(inet_pton(AF_INET, entries[i].v4, &e.v4), 1);
		assert_int_equal(inet_pton(AF_INET6, entries[i].v6, &e.v6), 1);
		assert_int_equal(dns_table_add(table, &e), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dns_table_free(table);
	table = NULL;
	return 0;
}

/* Wire form of a query NAME TYPE CLASS with RD, id QID; *LEN its size.
 * Free with free(). */
static uint8_t *make_query(const char *name, ldns_rr_type type, ldns_rr_class class, size_t *len)
{
	ldns_rdf *dname = ldns_dname_new_frm_str(name);
	ldns_pkt *q;
	uint8_t *wire = NULL;

	assert_non_null(dname);
	q = ldns_pkt_query_new(dname, type, class, LDNS_RD);
	assert_non_null(q);
	ldns_pkt_set_id(q, QID);
	assert_int_equal(ldns_pkt2wire(&wire, q, len), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	return wire;
}

/* Answers NAME TYPE CLASS with OUT_CAP bytes and parses the answer. */
static ldns_pkt *ask_cap(const char *name, ldns_rr_type type, ldns_rr_class class, size_t out_cap)
{
	uint8_t out[65535];
	size_t len;
	uint8_t *query = make_query(name, type, class, &len);
	ldns_pkt *a = NULL;
	int n;

	n = dns_answer(table, query, len, out, out_cap);
	free(query);
	assert_true(n > 0);
	assert_true((size_t)n <= out_cap);
	assert_int_equal(ldns_wire2pkt(&a, out, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(a), QID);
	assert_true(ldns_pkt_qr(a));
	assert_true(ldns_pkt_ra(a));
	assert_true(ldns_pkt_rd(a));
	assert_int_equal(ldns_pkt_get_opcode(a), LDNS_PACKET_QUERY);
	return a;
}

static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	return ask_cap(name, type, LDNS_RR_CLASS_IN, DNS_UDP_MAX);
}

/* The question is echoed as asked. */
static void assert_question(const ldns_pkt *a, const char *name, ldns_rr_type type)
{
	ldns_rdf *want = ldns_dname_new_frm_str(name);
	const ldns_rr *q;

	assert_int_equal(ldns_pkt_qdcount(a), 1);
	q = ldns_rr_list_rr(ldns_pkt_question(a), 0);
	assert_int_equal(ldns_rdf_compare(ldns_rr_owner(q), want), 0);
	assert_int_equal(ldns_rr_get_type(q), type);
	ldns_rdf_deep_free(want);
}

static void assert_rdata_str(const ldns_rr *rr, const char *text)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));

	assert_non_null(s);
	assert_string_equal(s, text);
	free(s);
}

/* One answer record of TYPE with rdata TEXT, owner NAME, TTL 5, AA. */
static void expect_one(const char *name, ldns_rr_type type, const char *text)
{
	ldns_pkt *a = ask(name, type);
	const ldns_rr *rr;
	ldns_rdf *owner = ldns_dname_new_frm_str(name);

	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(a));
	assert_false(ldns_pkt_tc(a));
	assert_question(a, name, type);
	assert_int_equal(ldns_pkt_ancount(a), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(a), 0);
	assert_int_equal(ldns_rr_get_type(rr), type);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	assert_int_equal(ldns_rr_ttl(rr), DNS_TTL);
	assert_int_equal(ldns_rdf_compare(ldns_rr_owner(rr), owner), 0);
	assert_rdata_str(rr, text);
	ldns_rdf_deep_free(owner);
	ldns_pkt_free(a);
}

/* A negative answer: RCODE, no answer, the SOA of ZONE in authority. */
static void expect_negative(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode,
			    const char *zone)
{
	ldns_pkt *a = ask(name, type);
	const ldns_rr *soa;
	ldns_rdf *apex = ldns_dname_new_frm_str(zone);

	assert_int_equal(ldns_pkt_get_rcode(a), rcode);
	assert_true(ldns_pkt_aa(a));
	assert_question(a, name, type);
	assert_int_equal(ldns_pkt_ancount(a), 0);
	assert_int_equal(ldns_pkt_nscount(a), 1);
	soa = ldns_rr_list_rr(ldns_pkt_authority(a), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rdf_compare(ldns_rr_owner(soa), apex), 0);
	assert_int_equal(ldns_rr_ttl(soa), DNS_TTL);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), DNS_TTL);
	ldns_rdf_deep_free(apex);
	ldns_pkt_free(a);
}

static void expect_nxdomain(const char *name, ldns_rr_type type, const char *zone)
{
	expect_negative(name, type, LDNS_RCODE_NXDOMAIN, zone);
}

static void expect_nodata(const char *name, ldns_rr_type type, const char *zone)
{
	expect_negative(name, type, LDNS_RCODE_NOERROR, zone);
}

static int answer_raw(const uint8_t *q, size_t len, uint8_t *out, size_t cap)
{
	return dns_answer(table, q, len, out, cap);
}

/* A header-only reply with RCODE to a query with id QID. */
static void expect_header_reply(const uint8_t *q, size_t len, int rcode)
{
	uint8_t out[DNS_UDP_MAX];
	int n = answer_raw(q, len, out, sizeof(out));

	assert_int_equal(n, DNS_HEADER_LEN);
	assert_int_equal(out[0] << 8 | out[1], q[0] << 8 | q[1]);
	assert_true(out[2] & 0x80);			     /* QR */
	assert_int_equal(out[2] & 0x79, q[2] & 0x79);	     /* opcode, RD */
	assert_int_equal(out[3], 0x80 | rcode);		     /* RA, rcode */
	assert_memory_equal(out + 4, "\0\0\0\0\0\0\0\0", 8); /* no records */
}

static void test_forward_a_aaaa(void **state)
{
	(void)state;
	expect_one("b.net1.ray", LDNS_RR_TYPE_A, "100.64.1.2");
	expect_one("b.net1.ray.", LDNS_RR_TYPE_AAAA, "fd72:6179:1111:2222:3333:4444:5555:6666");
	expect_one("c.net1.ray", LDNS_RR_TYPE_A, "100.64.1.3");
	expect_one("b.net2.ray", LDNS_RR_TYPE_A, "100.100.7.8");
	expect_one("b.net2.ray", LDNS_RR_TYPE_AAAA, "fd72:6179::b2");
	expect_one("d.net2.ray", LDNS_RR_TYPE_A, "100.127.255.254");
}

static void test_case_insensitive(void **state)
{
	(void)state;
	/* the answer's owner is the name as asked (checked in expect_one) */
	expect_one("B.NET1.RAY", LDNS_RR_TYPE_A, "100.64.1.2");
	expect_one("b.Net1.rAy.", LDNS_RR_TYPE_AAAA, "fd72:6179:1111:2222:3333:4444:5555:6666");
	expect_one("SOLO.Ray", LDNS_RR_TYPE_A, "100.65.0.1");
}

static void test_short_name(void **state)
{
	(void)state;
	/* unambiguous: one network has the host */
	expect_one("solo.ray", LDNS_RR_TYPE_A, "100.65.0.1");
	expect_one("c.ray", LDNS_RR_TYPE_AAAA, "fd72:6179::c");
	/* ambiguous: b is in net1 and net2; twin too, even as the same node */
	expect_nxdomain("b.ray", LDNS_RR_TYPE_A, "ray.");
	expect_nxdomain("b.ray", LDNS_RR_TYPE_AAAA, "ray.");
	expect_nxdomain("twin.ray", LDNS_RR_TYPE_A, "ray.");
	/* the full names still work */
	expect_one("twin.net2.ray", LDNS_RR_TYPE_A, "100.66.0.9");
}

static void test_nxdomain(void **state)
{
	(void)state;
	expect_nxdomain("nobody.net1.ray", LDNS_RR_TYPE_A, "ray.");
	expect_nxdomain("b.net3.ray", LDNS_RR_TYPE_A, "ray.");
	expect_nxdomain("nobody.ray", LDNS_RR_TYPE_AAAA, "ray.");
	expect_nxdomain("x.b.net1.ray", LDNS_RR_TYPE_A, "ray.");
	expect_nxdomain("b.net1.net1.ray", LDNS_RR_TYPE_A, "ray.");
	expect_nxdomain("solo.net1.ray", LDNS_RR_TYPE_A, "ray."); /* solo is in net2 */
}

static void test_nodata(void **state)
{
	(void)state;
	expect_nodata("b.net1.ray", LDNS_RR_TYPE_MX, "ray.");
	expect_nodata("b.net1.ray", LDNS_RR_TYPE_TXT, "ray.");
	expect_nodata("solo.ray", LDNS_RR_TYPE_MX, "ray.");
	expect_nodata("d.net2.ray", LDNS_RR_TYPE_AAAA, "ray."); /* no v6 */
	expect_nodata("b.net1.ray", LDNS_RR_TYPE_PTR, "ray.");
	/* names with only children: the apex and the networks */
	expect_nodata("ray", LDNS_RR_TYPE_A, "ray.");
	expect_nodata("net1.ray", LDNS_RR_TYPE_A, "ray.");
	expect_nodata("NET2.ray", LDNS_RR_TYPE_AAAA, "ray.");
}

static void test_any_and_soa(void **state)
{
	ldns_pkt *a;

	(void)state;
	a = ask("b.net1.ray", LDNS_RR_TYPE_ANY);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(a), 2);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(a), 0)), LDNS_RR_TYPE_A);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(a), 1)),
			 LDNS_RR_TYPE_AAAA);
	ldns_pkt_free(a);

	a = ask("d.net2.ray", LDNS_RR_TYPE_ANY);
	assert_int_equal(ldns_pkt_ancount(a), 1);
	ldns_pkt_free(a);

	a = ask("RAY.", LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(a));
	assert_int_equal(ldns_pkt_ancount(a), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(a), 0)),
			 LDNS_RR_TYPE_SOA);
	ldns_pkt_free(a);

	expect_nodata("ray", LDNS_RR_TYPE_NS, "ray.");
}

static void test_ptr_v4(void **state)
{
	ldns_pkt *a;

	(void)state;
	expect_one("2.1.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "b.net1.ray.");
	expect_one("8.7.100.100.IN-ADDR.ARPA.", LDNS_RR_TYPE_PTR, "b.net2.ray.");
	expect_one("254.255.127.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "d.net2.ray.");

	/* one node in two networks: both names */
	a = ask("9.0.66.100.in-addr.arpa", LDNS_RR_TYPE_PTR);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(a), 2);
	assert_rdata_str(ldns_rr_list_rr(ldns_pkt_answer(a), 0), "twin.net1.ray.");
	assert_rdata_str(ldns_rr_list_rr(ldns_pkt_answer(a), 1), "twin.net2.ray.");
	ldns_pkt_free(a);

	expect_nxdomain("3.2.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "64.100.in-addr.arpa.");
	expect_nxdomain("1.1.1.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "64.100.in-addr.arpa.");
	expect_nxdomain("02.1.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "64.100.in-addr.arpa.");
	expect_nxdomain("x.1.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "64.100.in-addr.arpa.");
	expect_nxdomain("256.1.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "64.100.in-addr.arpa.");
	expect_nxdomain("1.5.80.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "80.100.in-addr.arpa.");
	/* prefixes with members below, and zone apexes, exist */
	expect_nodata("1.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "64.100.in-addr.arpa.");
	expect_nodata("80.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "80.100.in-addr.arpa.");
	expect_nodata("2.1.64.100.in-addr.arpa", LDNS_RR_TYPE_A, "64.100.in-addr.arpa.");
	expect_nxdomain("2.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, "64.100.in-addr.arpa.");
}

/* ip6.arpa name of ADDR, nibbles in lowercase or uppercase. */
static void rev6_name(const char *addr, bool upper, char *buf, size_t cap)
{
	struct in6_addr a;
	size_t pos = 0;

	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	for (int i = 15; i >= 0; i--) {
		pos += (size_t)snprintf(buf + pos, cap - pos, upper ? "%X.%X." : "%x.%x.",
					a.s6_addr[i] & 0xf, a.s6_addr[i] >> 4);
	}
	snprintf(buf + pos, cap - pos, "ip6.arpa.");
}

static void test_ptr_v6(void **state)
{
	char name[128];
	ldns_pkt *a;

	(void)state;
	rev6_name("fd72:6179:1111:2222:3333:4444:5555:6666", false, name, sizeof(name));
	expect_one(name, LDNS_RR_TYPE_PTR, "b.net1.ray.");
	rev6_name("fd72:6179::c", true, name, sizeof(name));
	expect_one(name, LDNS_RR_TYPE_PTR, "c.net1.ray.");

	rev6_name("fd72:6179:abcd::9", false, name, sizeof(name));
	a = ask(name, LDNS_RR_TYPE_PTR);
	assert_int_equal(ldns_pkt_ancount(a), 2);
	ldns_pkt_free(a);

	rev6_name("fd72:6179::d", false, name, sizeof(name));
	expect_nxdomain(name, LDNS_RR_TYPE_PTR, "9.7.1.6.2.7.d.f.ip6.arpa.");
	expect_nodata("9.7.1.6.2.7.d.f.ip6.arpa", LDNS_RR_TYPE_PTR, "9.7.1.6.2.7.d.f.ip6.arpa.");
	/* fd72:6179:1... has members: a prefix node */
	expect_nodata("1.9.7.1.6.2.7.d.f.ip6.arpa", LDNS_RR_TYPE_PTR, "9.7.1.6.2.7.d.f.ip6.arpa.");
	expect_nxdomain("e.9.7.1.6.2.7.d.f.ip6.arpa", LDNS_RR_TYPE_PTR,
			"9.7.1.6.2.7.d.f.ip6.arpa.");
	expect_nxdomain("zz.9.7.1.6.2.7.d.f.ip6.arpa", LDNS_RR_TYPE_PTR,
			"9.7.1.6.2.7.d.f.ip6.arpa.");
	/* 33 nibbles */
	snprintf(name, sizeof(name), "0.");
	rev6_name("fd72:6179::c", false, name + 2, sizeof(name) - 2);
	expect_nxdomain(name, LDNS_RR_TYPE_PTR, "9.7.1.6.2.7.d.f.ip6.arpa.");
}

/* Well-formed queries outside our zones: 0, for the caller to forward. */
static void test_not_ours(void **state)
{
	static const char *const names[] = {
		"example.com",
		".",
		"arpa",
		"in-addr.arpa",
		"100.in-addr.arpa",
		"63.100.in-addr.arpa",
		"1.1.128.100.in-addr.arpa",
		"1.2.3.4.in-addr.arpa",
		"064.100.in-addr.arpa",
		"ip6.arpa",
		"7.1.6.2.7.d.f.ip6.arpa",
		"8.7.1.6.2.7.d.f.ip6.arpa",
		"ray.example.com",
		"rayx",
	};
	uint8_t out[DNS_UDP_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;
		uint8_t *q = make_query(names[i], LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, &len);

		assert_int_equal(answer_raw(q, len, out, sizeof(out)), 0);
		free(q);
		q = make_query(names[i], LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, &len);
		assert_int_equal(answer_raw(q, len, out, sizeof(out)), 0);
		free(q);
	}
}

static void test_class_and_meta_types(void **state)
{
	ldns_pkt *a;

	(void)state;
	a = ask_cap("b.net1.ray", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_ancount(a), 0);
	ldns_pkt_free(a);

	a = ask_cap("b.net1.ray", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY, DNS_UDP_MAX);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(a), 1);
	ldns_pkt_free(a);

	a = ask("ray", LDNS_RR_TYPE_AXFR);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOTIMPL);
	ldns_pkt_free(a);
	a = ask("64.100.in-addr.arpa", LDNS_RR_TYPE_IXFR);
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOTIMPL);
	ldns_pkt_free(a);
}

/* The query for b.net1.ray A, by hand. */
static const uint8_t raw_query[] = {
	0x42, 0x42, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* header */
	0x01, 'b',  0x04, 'n',	'e',  't',  '1',  0x03, 'r',  'a',  'y',  0x00, /* name */
	0x00, 0x01, 0x00, 0x01,							/* A IN */
};

static void test_raw_query(void **state)
{
	uint8_t out[DNS_UDP_MAX];
	int n;

	(void)state;
	n = answer_raw(raw_query, sizeof(raw_query), out, sizeof(out));
	/* header, question, answer: compressed owner, A IN, TTL 5, 4 bytes */
	assert_int_equal(n, (int)sizeof(raw_query) + 16);
	assert_memory_equal(out, "\x42\x42\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00", 12);
	assert_memory_equal(out + 12, raw_query + 12, sizeof(raw_query) - 12);
	assert_memory_equal(out + sizeof(raw_query),
			    "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x64\x40\x01\x02", 16);
}

static void test_formerr(void **state)
{
	uint8_t q[sizeof(raw_query) + 64];
	uint8_t out[DNS_UDP_MAX];

	(void)state;
	/* no question */
	memcpy(q, raw_query, 12);
	q[5] = 0;
	expect_header_reply(q, 12, DNS_RCODE_FORMERR);
	/* two questions */
	memcpy(q, raw_query, sizeof(raw_query));
	memcpy(q + sizeof(raw_query), raw_query + 12, sizeof(raw_query) - 12);
	q[5] = 2;
	expect_header_reply(q, 2 * sizeof(raw_query) - 12, DNS_RCODE_FORMERR);
	/* trailing garbage */
	memcpy(q, raw_query, sizeof(raw_query));
	q[sizeof(raw_query)] = 0;
	expect_header_reply(q, sizeof(raw_query) + 1, DNS_RCODE_FORMERR);
	memset(q + sizeof(raw_query), 0xff, 40);
	expect_header_reply(q, sizeof(raw_query) + 40, DNS_RCODE_FORMERR);
	/* counts announcing records that are not there */
	memcpy(q, raw_query, sizeof(raw_query));
	q[7] = 1;
	expect_header_reply(q, sizeof(raw_query), DNS_RCODE_FORMERR);
	q[7] = 0;
	q[11] = 1;
	expect_header_reply(q, sizeof(raw_query), DNS_RCODE_FORMERR);
	/* a compression pointer to itself, a pointer forward, a label past the end */
	memcpy(q, raw_query, 12);
	memcpy(q + 12, "\xc0\x0c\x00\x01\x00\x01", 6);
	expect_header_reply(q, 18, DNS_RCODE_FORMERR);
	memcpy(q + 12, "\xc0\x20\x00\x01\x00\x01", 6);
	expect_header_reply(q, 18, DNS_RCODE_FORMERR);
	memcpy(q + 12, "\x3f\x61\x00\x01\x00\x01", 6);
	expect_header_reply(q, 18, DNS_RCODE_FORMERR);
	/* a label of 64 bytes (reserved label type 01) */
	memcpy(q + 12, "\x40\x61\x00\x01\x00\x01", 6);
	expect_header_reply(q, 18, DNS_RCODE_FORMERR);
	/* opcode STATUS, NOTIFY, UPDATE: NOTIMP */
	memcpy(q, raw_query, sizeof(raw_query));
	for (int op = 1; op < 16; op++) {
		q[2] = (uint8_t)(0x01 | op << 3);
		expect_header_reply(q, sizeof(raw_query), DNS_RCODE_NOTIMP);
	}
	/* a response (QR set) and runts are dropped */
	memcpy(q, raw_query, sizeof(raw_query));
	q[2] |= 0x80;
	assert_int_equal(answer_raw(q, sizeof(raw_query), out, sizeof(out)), -EBADMSG);
	for (size_t len = 0; len < DNS_HEADER_LEN; len++)
		assert_int_equal(answer_raw(raw_query, len, out, sizeof(out)), -EBADMSG);
	assert_int_equal(answer_raw(NULL, 0, out, sizeof(out)), -EBADMSG);
}

/* Every proper prefix of Q: dropped or FORMERR, never an answer. */
static void check_truncations(const uint8_t *q, size_t len)
{
	uint8_t out[DNS_UDP_MAX];

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		int n;

		assert_non_null(copy);
		memcpy(copy, q, cut);
		n = answer_raw(copy, cut, out, sizeof(out));
		if (cut < DNS_HEADER_LEN) {
			assert_int_equal(n, -EBADMSG);
		} else {
			assert_int_equal(n, DNS_HEADER_LEN);
			assert_int_equal(out[3] & 0xf, DNS_RCODE_FORMERR);
		}
		free(copy);
	}
}

static void test_every_truncation(void **state)
{
	static const char *const names[] = {"b.net1.ray", "example.com", "2.1.64.100.in-addr.arpa"};
	uint8_t *wire = NULL;
	size_t len;
	ldns_pkt *q;

	(void)state;
	check_truncations(raw_query, sizeof(raw_query));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t *w = make_query(names[i], LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, &len);

		check_truncations(w, len);
		free(w);
	}
	/* with an EDNS OPT record, as dig sends */
	q = ldns_pkt_query_new(ldns_dname_new_frm_str("b.net1.ray"), LDNS_RR_TYPE_A,
			       LDNS_RR_CLASS_IN, LDNS_RD);
	assert_non_null(q);
	ldns_pkt_set_edns_udp_size(q, 1232);
	ldns_pkt_set_edns_do(q, true);
	assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_arcount(q), 0); /* counted on the wire, not in q */
	assert_int_equal(wire[11], 1);
	assert_true(answer_raw(wire, len, (uint8_t[DNS_UDP_MAX]){0}, DNS_UDP_MAX) > DNS_HEADER_LEN);
	check_truncations(wire, len);
	free(wire);
	ldns_pkt_free(q);
}

static void test_udp_truncation(void **state)
{
	struct dns_table *saved = table;
	uint8_t out[DNS_UDP_MAX];
	uint8_t *q;
	size_t len;
	ldns_pkt *a;
	int n;

	(void)state;
	/* one node in 12 networks with long names: 12 PTRs of ~80 bytes */
	table = dns_table_new();
	assert_non_null(table);
	for (int i = 0; i < 12; i++) {
		struct dns_name_entry e;

		memset(&e, 0, sizeof(e));
		snprintf(e.host, sizeof(e.host), "node");
		snprintf(e.network, sizeof(e.network), "%02d%061d", i, 0);
		inet_pton(AF_INET, "100.64.0.1", &e.v4);
		inet_pton(AF_INET6, "fd72:6179::1", &e.v6);
		assert_int_equal(dns_table_add(table, &e), 0);
	}
	a = ask_cap("1.0.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, DNS_UDP_MAX);
	assert_true(ldns_pkt_tc(a));
	assert_true(ldns_pkt_aa(a));
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
	assert_question(a, "1.0.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR);
	assert_int_equal(ldns_pkt_ancount(a), 0);
	assert_int_equal(ldns_pkt_nscount(a), 0);
	ldns_pkt_free(a);

	/* over TCP it fits */
	a = ask_cap("1.0.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 65535);
	assert_false(ldns_pkt_tc(a));
	assert_int_equal(ldns_pkt_ancount(a), 12);
	ldns_pkt_free(a);

	/* a buffer that holds the header only */
	q = make_query("1.0.64.100.in-addr.arpa", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, &len);
	n = dns_answer(table, q, len, out, DNS_HEADER_LEN);
	assert_int_equal(n, DNS_HEADER_LEN);
	assert_true(out[2] & 0x02); /* TC */
	assert_memory_equal(out + 4, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(dns_answer(table, q, len, out, DNS_HEADER_LEN - 1), -ENOBUFS);
	free(q);

	dns_table_free(table);
	table = saved;
}

static void test_table_add(void **state)
{
	static const char *const bad[] = {"", "-a", "a-", "a.b", "a b", "é", "a_b"};
	struct dns_table *t = dns_table_new();
	struct dns_name_entry e;
	uint8_t out[DNS_UDP_MAX];
	uint8_t *q;
	size_t len;

	(void)state;
	assert_non_null(t);
	memset(&e, 0, sizeof(e));
	snprintf(e.network, sizeof(e.network), "net");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(e.host, sizeof(e.host), "%s", bad[i]);
		assert_int_equal(dns_table_add(t, &e), -EINVAL);
	}
	/* 64 characters, unterminated */
	memset(e.host, 'a', sizeof(e.host));
	assert_int_equal(dns_table_add(t, &e), -EINVAL);
	memset(e.host, 'a', sizeof(e.host) - 1);
	e.host[63] = 0;
	assert_int_equal(dns_table_add(t, &e), 0);
	snprintf(e.host, sizeof(e.host), "Mixed-Case9");
	snprintf(e.network, sizeof(e.network), "Net");
	assert_int_equal(dns_table_add(t, &e), 0);
	snprintf(e.host, sizeof(e.host), "mixed-case9");
	snprintf(e.network, sizeof(e.network), "net");
	assert_int_equal(dns_table_add(t, &e), -EEXIST);
	snprintf(e.network, sizeof(e.network), "bad.net");
	assert_int_equal(dns_table_add(t, &e), -EINVAL);
	assert_int_equal(dns_table_count(t), 2);

	/* names are stored lowercased; an entry with no addresses: NODATA */
	q = make_query("mixed-case9.net.ray", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, &len);
	assert_true(dns_answer(t, q, len, out, sizeof(out)) > 0);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_NOERROR);
	assert_int_equal(out[7], 0); /* no answer */
	free(q);
	dns_table_free(t);
	dns_table_free(NULL);
}

static void test_empty_table(void **state)
{
	struct dns_table *t = dns_table_new();
	uint8_t out[DNS_UDP_MAX];
	uint8_t *q;
	size_t len;

	(void)state;
	q = make_query("b.net1.ray", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, &len);
	assert_true(dns_answer(t, q, len, out, sizeof(out)) > 0);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_NXDOMAIN);
	free(q);
	dns_table_free(t);
}

static void test_error_reply(void **state)
{
	uint8_t out[DNS_UDP_MAX];
	uint8_t *q;
	size_t len;
	ldns_pkt *a = NULL;
	int n;

	(void)state;
	q = make_query("example.com", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, &len);
	n = dns_error_reply(q, len, DNS_RCODE_REFUSED, out, sizeof(out));
	assert_int_equal(n, (int)len);
	assert_int_equal(ldns_wire2pkt(&a, out, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(a), QID);
	assert_true(ldns_pkt_qr(a));
	assert_true(ldns_pkt_rd(a));
	assert_false(ldns_pkt_aa(a));
	assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_REFUSED);
	assert_question(a, "example.com", LDNS_RR_TYPE_A);
	ldns_pkt_free(a);
	/* garbage after the header: header only */
	q[5] = 3;
	assert_int_equal(dns_error_reply(q, len, DNS_RCODE_SERVFAIL, out, sizeof(out)), 12);
	assert_int_equal(out[3], 0x80 | DNS_RCODE_SERVFAIL);
	assert_int_equal(dns_error_reply(q, 11, DNS_RCODE_SERVFAIL, out, sizeof(out)), -EBADMSG);
	assert_int_equal(dns_error_reply(q, len, 16, out, sizeof(out)), -EINVAL);
	free(q);
}

/* The UDP size a client takes: 512 unless its EDNS OPT says more. */
static void test_query_udp_size(void **state)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL, *plain;
	size_t len, plain_len;

	(void)state;
	plain = make_query("b.net1.ray", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, &plain_len);
	assert_int_equal(dns_query_udp_size(plain, plain_len), DNS_UDP_MAX);
	assert_int_equal(dns_query_udp_size(plain, plain_len - 1), DNS_UDP_MAX);
	assert_int_equal(dns_query_udp_size(plain, 3), DNS_UDP_MAX);
	free(plain);
	for (unsigned size = 0; size <= 4096; size += 1232) {
		assert_int_equal(ldns_pkt_query_new_frm_str(&q, "example.com", LDNS_RR_TYPE_A,
							    LDNS_RR_CLASS_IN, LDNS_RD),
				 LDNS_STATUS_OK);
		ldns_pkt_set_edns_udp_size(q, (uint16_t)size);
		ldns_pkt_set_edns_do(q, true); /* makes ldns emit the OPT record */
		assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
		assert_int_equal(dns_query_udp_size(wire, len),
				 size < DNS_UDP_MAX ? DNS_UDP_MAX : size);
		free(wire);
		ldns_pkt_free(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_a_aaaa),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_short_name),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_any_and_soa),
		cmocka_unit_test(test_ptr_v4),
		cmocka_unit_test(test_ptr_v6),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_class_and_meta_types),
		cmocka_unit_test(test_raw_query),
		cmocka_unit_test(test_formerr),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_udp_truncation),
		cmocka_unit_test(test_table_add),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_query_udp_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
