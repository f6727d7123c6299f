/* Magic DNS resolver core: see dns/resolver.h. */
#include "dns/resolver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define DNS_NAME_LABELS_MAX 128 /* a 255-byte name has at most 127 labels */
#define DNS_SOA_MNAME	    "ray."
#define DNS_SOA_RNAME	    "hostmaster.ray."
#define DNS_REV6_APEX	    "9.7.1.6.2.7.d.f.ip6.arpa."

struct dns_table {
	struct dns_name_entry *entries;
	size_t count, cap;
};

struct dns_label {
	const uint8_t *p;
	size_t len;
};

/* A name split in labels, leftmost first, the root label left out. */
struct dns_name {
	struct dns_label l[DNS_NAME_LABELS_MAX];
	size_t n;
};

enum dns_zone { DNS_ZONE_NONE, DNS_ZONE_RAY, DNS_ZONE_REV4, DNS_ZONE_REV6 };

/* What a name in one of our zones is: nothing, a node with no records of
 * its own (apex, network, reverse prefix), a host, or a reverse address. */
struct dns_lookup {
	enum dns_zone zone;
	bool exists;
	bool apex;
	const struct dns_name_entry *host; /* forward: the entry */
	uint8_t addr[16];		   /* reverse: the full address */
	bool reverse_full;
	uint8_t rev4_octet; /* REV4: the /16 (64..127) */
};

struct dns_table *dns_table_new(void)
{
	return calloc(1, sizeof(struct dns_table));
}

void dns_table_free(struct dns_table *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t);
}

size_t dns_table_count(const struct dns_table *t)
{
	return t->count;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Copies the label SRC lowercased into DST; false unless it is 1–63
 * letters, digits and '-' not at either end. */
static bool label_copy(char dst[DNS_LABEL_MAX + 1], const char src[DNS_LABEL_MAX + 1])
{
	size_t n = strnlen(src, DNS_LABEL_MAX + 1);

	if (n == 0 || n > DNS_LABEL_MAX || src[0] == '-' || src[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = ascii_lower(src[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		dst[i] = c;
	}
	memset(dst + n, 0, DNS_LABEL_MAX + 1 - n);
	return true;
}

int dns_table_add(struct dns_table *t, const struct dns_name_entry *e)
{
	struct dns_name_entry copy;

	memset(&copy, 0, sizeof(copy));
	if (!label_copy(copy.host, e->host) || !label_copy(copy.network, e->network))
		return -EINVAL;
	copy.v4 = e->v4;
	copy.v6 = e->v6;
	for (size_t i = 0; i < t->count; i++) {
		if (!strcmp(t->entries[i].host, copy.host) &&
		    !strcmp(t->entries[i].network, copy.network))
			return -EEXIST;
	}
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct dns_name_entry *n = reallocarray(t->entries, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->entries = n;
		t->cap = cap;
	}
	t->entries[t->count++] = copy;
	return 0;
}

/* Label L equals the lowercase text S, ASCII case-insensitively. */
static bool label_is(const struct dns_label *l, const char *s)
{
	size_t n = strlen(s);

	if (l->len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ascii_lower((char)l->p[i]) != s[i])
			return false;
	}
	return true;
}

/* Splits the uncompressed wire name RDF (as ldns gives it) in labels. */
static bool name_split(const ldns_rdf *rdf, struct dns_name *name)
{
	const uint8_t *p = ldns_rdf_data(rdf);
	size_t size = ldns_rdf_size(rdf), pos = 0;

	name->n = 0;
	if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME || !p)
		return false;
	while (pos < size) {
		size_t len = p[pos];

		if (len == 0)
			return pos + 1 == size;
		if (len > DNS_LABEL_MAX || pos + 1 + len > size || name->n == DNS_NAME_LABELS_MAX)
			return false;
		name->l[name->n].p = p + pos + 1;
		name->l[name->n].len = len;
		name->n++;
		pos += 1 + len;
	}
	return false;
}

/* Canonical decimal 0..255 (no leading zero); -1 otherwise. */
static int label_octet(const struct dns_label *l)
{
	int v = 0;

	if (l->len == 0 || l->len > 3 || (l->len > 1 && l->p[0] == '0'))
		return -1;
	for (size_t i = 0; i < l->len; i++) {
		if (l->p[i] < '0' || l->p[i] > '9')
			return -1;
		v = v * 10 + (l->p[i] - '0');
	}
	return v <= 255 ? v : -1;
}

/* One hex digit, either case; -1 otherwise. */
static int label_nibble(const struct dns_label *l)
{
	char c;

	if (l->len != 1)
		return -1;
	c = ascii_lower((char)l->p[0]);
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return ((a[bytes] ^ b[bytes]) & mask) == 0;
	}
	return true;
}

static bool addr_is_zero(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (a[i])
			return false;
	}
	return true;
}

/* Some entry's v4 (LEN 4) or v6 (LEN 16) address starts with the BITS
 * first bits of ADDR. */
static bool table_has_prefix(const struct dns_table *t, const uint8_t *addr, size_t len,
			     unsigned bits)
{
	for (size_t i = 0; i < t->count; i++) {
		const uint8_t *a =
			len == 4 ? (const uint8_t *)&t->entries[i].v4 : t->entries[i].v6.s6_addr;

		if (!addr_is_zero(a, len) && prefix_equal(a, addr, bits))
			return true;
	}
	return false;
}

static void lookup_ray(const struct dns_table *t, const struct dns_name *name,
		       struct dns_lookup *lk)
{
	const struct dns_label *first = &name->l[0];
	const struct dns_name_entry *found = NULL;
	size_t hosts = 0;
	bool network = false;

	lk->zone = DNS_ZONE_RAY;
	if (name->n == 1) {
		lk->exists = lk->apex = true;
		return;
	}
	if (name->n == 3) {
		for (size_t i = 0; i < t->count; i++) {
			if (label_is(first, t->entries[i].host) &&
			    label_is(&name->l[1], t->entries[i].network)) {
				lk->exists = true;
				lk->host = &t->entries[i];
				return;
			}
		}
		return;
	}
	if (name->n != 2)
		return;
	for (size_t i = 0; i < t->count; i++) {
		if (label_is(first, t->entries[i].host)) {
			hosts++;
			found = &t->entries[i];
		}
		if (label_is(first, t->entries[i].network))
			network = true;
	}
	if (hosts == 1) {
		lk->exists = true;
		lk->host = found;
	} else if (network) {
		lk->exists = true;
	}
}

/* N.M.L.K.100.in-addr.arpa with K in 64..127; ZONE_NONE for the rest. */
static void lookup_rev4(const struct dns_table *t, const struct dns_name *name,
			struct dns_lookup *lk)
{
	size_t n = name->n, extra;
	int octet;

	if (n < 4 || !label_is(&name->l[n - 1], "arpa") || !label_is(&name->l[n - 2], "in-addr") ||
	    label_octet(&name->l[n - 3]) != 100)
		return;
	octet = label_octet(&name->l[n - 4]);
	if (octet < 64 || octet > 127)
		return;
	lk->zone = DNS_ZONE_REV4;
	lk->rev4_octet = (uint8_t)octet;
	lk->addr[0] = 100;
	lk->addr[1] = (uint8_t)octet;
	extra = n - 4;
	if (extra > 2)
		return;
	for (size_t i = 0; i < extra; i++) {
		octet = label_octet(&name->l[n - 5 - i]);
		if (octet < 0)
			return;
		lk->addr[2 + i] = (uint8_t)octet;
	}
	lk->apex = extra == 0;
	lk->reverse_full = extra == 2;
	lk->exists = lk->apex || table_has_prefix(t, lk->addr, 4, (unsigned)(2 + extra) * 8);
}

/* Nibbles under 9.7.1.6.2.7.d.f.ip6.arpa; ZONE_NONE for the rest. */
static void lookup_rev6(const struct dns_table *t, const struct dns_name *name,
			struct dns_lookup *lk)
{
	static const uint8_t zone[8] = {0xf, 0xd, 0x7, 0x2, 0x6, 0x1, 0x7, 0x9};
	size_t n = name->n, extra;

	if (n < 10 || !label_is(&name->l[n - 1], "arpa") || !label_is(&name->l[n - 2], "ip6"))
		return;
	for (size_t i = 0; i < 8; i++) {
		if (label_nibble(&name->l[n - 3 - i]) != zone[i])
			return;
	}
	lk->zone = DNS_ZONE_REV6;
	extra = n - 10;
	if (extra > 24)
		return;
	lk->addr[0] = 0xfd;
	lk->addr[1] = 0x72;
	lk->addr[2] = 0x61;
	lk->addr[3] = 0x79;
	for (size_t i = 0; i < extra; i++) {
		int nib = label_nibble(&name->l[n - 11 - i]);
		size_t at = 8 + i;

		if (nib < 0)
			return;
		lk->addr[at / 2] |= (uint8_t)(at % 2 ? nib : nib << 4);
	}
	lk->apex = extra == 0;
	lk->reverse_full = extra == 24;
	lk->exists = lk->apex || table_has_prefix(t, lk->addr, 16, (unsigned)(8 + extra) * 4);
}

static void lookup(const struct dns_table *t, const struct dns_name *name, struct dns_lookup *lk)
{
	memset(lk, 0, sizeof(*lk));
	if (name->n == 0)
		return;
	if (label_is(&name->l[name->n - 1], "ray")) {
		lookup_ray(t, name, lk);
		return;
	}
	lookup_rev4(t, name, lk);
	if (lk->zone == DNS_ZONE_NONE)
		lookup_rev6(t, name, lk);
}

/* A new RR OWNER TYPE IN TTL 5 with no rdata yet; NULL when out of memory. */
static ldns_rr *rr_new(const ldns_rdf *owner, ldns_rr_type type)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *o = ldns_rdf_clone(owner);

	if (!rr || !o) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(o);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, DNS_TTL);
	return rr;
}

/* Pushes RDF onto RR, freeing both on failure. */
static bool rr_push(ldns_rr *rr, ldns_rdf *rdf)
{
	if (!rdf || !ldns_rr_push_rdf(rr, rdf)) {
		ldns_rdf_deep_free(rdf);
		return false;
	}
	return true;
}

/* Adds RR (owned) to SECTION of P; -ENOMEM (RR freed) on failure. */
static int pkt_add(ldns_pkt *p, ldns_pkt_section section, ldns_rr *rr)
{
	if (!rr)
		return -ENOMEM;
	if (!ldns_pkt_push_rr(p, section, rr)) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	return 0;
}

static int add_addr(ldns_pkt *p, const ldns_rdf *owner, ldns_rr_type type, const void *addr)
{
	bool v4 = type == LDNS_RR_TYPE_A;
	size_t len = v4 ? 4 : 16;
	ldns_rr *rr;

	if (addr_is_zero(addr, len))
		return 0;
	rr = rr_new(owner, type);
	if (rr && !rr_push(rr, ldns_rdf_new_frm_data(v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, len,
						     addr))) {
		ldns_rr_free(rr);
		rr = NULL;
	}
	return pkt_add(p, LDNS_SECTION_ANSWER, rr);
}

static int add_ptr(ldns_pkt *p, const ldns_rdf *owner, const struct dns_name_entry *e)
{
	char target[2 * (DNS_LABEL_MAX + 1) + sizeof("ray.")];
	ldns_rr *rr;

	snprintf(target, sizeof(target), "%s.%s.ray.", e->host, e->network);
	rr = rr_new(owner, LDNS_RR_TYPE_PTR);
	if (rr && !rr_push(rr, ldns_dname_new_frm_str(target))) {
		ldns_rr_free(rr);
		rr = NULL;
	}
	return pkt_add(p, LDNS_SECTION_ANSWER, rr);
}

/* The SOA of LK's zone into SECTION. */
static int add_soa(ldns_pkt *p, const struct dns_lookup *lk, ldns_pkt_section section)
{
	char apex[sizeof("127.100.in-addr.arpa.")];
	const char *owner = apex;
	ldns_rdf *o = NULL;
	ldns_rr *rr = NULL;
	int ret = -ENOMEM;

	if (lk->zone == DNS_ZONE_RAY)
		owner = "ray.";
	else if (lk->zone == DNS_ZONE_REV6)
		owner = DNS_REV6_APEX;
	else
		snprintf(apex, sizeof(apex), "%u.100.in-addr.arpa.", lk->rev4_octet);
	o = ldns_dname_new_frm_str(owner);
	if (!o)
		goto out;
	rr = rr_new(o, LDNS_RR_TYPE_SOA);
	if (!rr)
		goto out;
	if (!rr_push(rr, ldns_dname_new_frm_str(DNS_SOA_MNAME)) ||
	    !rr_push(rr, ldns_dname_new_frm_str(DNS_SOA_RNAME)) ||
	    !rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, 1)) ||
	    !rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 60)) ||
	    !rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 60)) ||
	    !rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 60)) ||
	    !rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, DNS_TTL)))
		goto out;
	ret = pkt_add(p, section, rr);
	rr = NULL;
out:
	ldns_rr_free(rr);
	ldns_rdf_deep_free(o);
	return ret;
}

/* The records of LK of type QTYPE into the answer of P. */
static int add_answers(const struct dns_table *t, ldns_pkt *p, const struct dns_lookup *lk,
		       const ldns_rdf *owner, ldns_rr_type qtype)
{
	bool any = qtype == LDNS_RR_TYPE_ANY;
	int ret = 0;

	if (lk->apex && (any || qtype == LDNS_RR_TYPE_SOA))
		ret = add_soa(p, lk, LDNS_SECTION_ANSWER);
	if (ret)
		return ret;
	if (lk->host) {
		if (any || qtype == LDNS_RR_TYPE_A)
			ret = add_addr(p, owner, LDNS_RR_TYPE_A, &lk->host->v4);
		if (!ret && (any || qtype == LDNS_RR_TYPE_AAAA))
			ret = add_addr(p, owner, LDNS_RR_TYPE_AAAA, &lk->host->v6);
		return ret;
	}
	if (!lk->reverse_full || !(any || qtype == LDNS_RR_TYPE_PTR))
		return 0;
	for (size_t i = 0; i < t->count && !ret; i++) {
		const struct dns_name_entry *e = &t->entries[i];

		if (lk->zone == DNS_ZONE_REV4 ? !memcmp(&e->v4, lk->addr, 4)
					      : !memcmp(e->v6.s6_addr, lk->addr, 16))
			ret = add_ptr(p, owner, e);
	}
	return ret;
}

/* Header-only reply to the 12-byte header HDR. */
static int header_reply(const uint8_t *hdr, int rcode, uint8_t *out, size_t out_cap)
{
	if (out_cap < DNS_HEADER_LEN)
		return -ENOBUFS;
	memset(out, 0, DNS_HEADER_LEN);
	out[0] = hdr[0];
	out[1] = hdr[1];
	out[2] = (uint8_t)(0x80 | (hdr[2] & 0x79)); /* QR, opcode, RD */
	out[3] = (uint8_t)(0x80 | (rcode & 0xf));   /* RA, rcode */
	return DNS_HEADER_LEN;
}

/* The bytes of a message whose counts ldns walks to exactly LEN bytes. */
static bool wire_exact(const uint8_t *wire, size_t len)
{
	static const ldns_pkt_section sections[4] = {LDNS_SECTION_QUESTION, LDNS_SECTION_ANSWER,
						     LDNS_SECTION_AUTHORITY,
						     LDNS_SECTION_ADDITIONAL};
	size_t pos = DNS_HEADER_LEN;

	for (size_t s = 0; s < 4; s++) {
		unsigned count = (unsigned)(wire[4 + 2 * s] << 8 | wire[5 + 2 * s]);

		for (unsigned i = 0; i < count; i++) {
			ldns_rr *rr = NULL;
			ldns_status st = ldns_wire2rr(&rr, wire, len, &pos, sections[s]);

			ldns_rr_free(rr);
			if (st != LDNS_STATUS_OK)
				return false;
		}
	}
	return pos == len;
}

/* Writes P into OUT; when it does not fit, P loses its records and gets TC;
 * when even that does not fit, a header with TC. */
static int pkt_emit(ldns_pkt *p, uint8_t *out, size_t out_cap)
{
	uint8_t *wire = NULL;
	size_t size = 0;
	int ret;

	if (out_cap < DNS_HEADER_LEN)
		return -ENOBUFS;
	if (ldns_pkt2wire(&wire, p, &size) != LDNS_STATUS_OK) {
		ret = -ENOMEM;
		goto out;
	}
	if (size > out_cap) {
		free(wire);
		wire = NULL;
		ldns_rr_list_deep_free(ldns_pkt_answer(p));
		ldns_rr_list_deep_free(ldns_pkt_authority(p));
		ldns_rr_list_deep_free(ldns_pkt_additional(p));
		ldns_pkt_set_answer(p, ldns_rr_list_new());
		ldns_pkt_set_authority(p, ldns_rr_list_new());
		ldns_pkt_set_additional(p, ldns_rr_list_new());
		ldns_pkt_set_ancount(p, 0);
		ldns_pkt_set_nscount(p, 0);
		ldns_pkt_set_arcount(p, 0);
		ldns_pkt_set_tc(p, true);
		if (!ldns_pkt_answer(p) || !ldns_pkt_authority(p) || !ldns_pkt_additional(p) ||
		    ldns_pkt2wire(&wire, p, &size) != LDNS_STATUS_OK) {
			ret = -ENOMEM;
			goto out;
		}
		if (size > out_cap) {
			/* the question alone is too long: header, no question */
			memset(wire + 4, 0, 8);
			size = DNS_HEADER_LEN;
		}
	}
	memcpy(out, wire, size);
	ret = (int)size;
out:
	free(wire);
	return ret;
}

/* A reply to the parsed query Q (id, opcode QUERY, RD copied, question
 * echoed), with RCODE, QR and RA. NULL when out of memory. */
static ldns_pkt *reply_new(const ldns_pkt *q, const ldns_rr *question, int rcode)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *qc;

	if (!p)
		return NULL;
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, ldns_pkt_rd(q));
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	if (question) {
		qc = ldns_rr_clone(question);
		if (!qc || !ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qc)) {
			ldns_rr_free(qc);
			ldns_pkt_free(p);
			return NULL;
		}
	}
	return p;
}

/* Parses QUERY for a single question; FORMERR or NOTIMP when it is not one
 * (written into OUT, returned > 0), -EBADMSG for a drop, 0 and *Q, *QUESTION
 * set otherwise (free *Q). */
static int query_parse(const uint8_t *query, size_t len, uint8_t *out, size_t out_cap, ldns_pkt **q,
		       const ldns_rr **question)
{
	*q = NULL;
	*question = NULL;
	if (len < DNS_HEADER_LEN || (query[2] & 0x80))
		return -EBADMSG;
	if (((query[2] >> 3) & 0xf) != LDNS_PACKET_QUERY)
		return header_reply(query, DNS_RCODE_NOTIMP, out, out_cap);
	if (!wire_exact(query, len) || ldns_wire2pkt(q, query, len) != LDNS_STATUS_OK)
		goto formerr;
	if (ldns_pkt_qdcount(*q) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(*q)) != 1)
		goto formerr;
	*question = ldns_rr_list_rr(ldns_pkt_question(*q), 0);
	if (!*question || !ldns_rr_owner(*question))
		goto formerr;
	return 0;
formerr:
	ldns_pkt_free(*q);
	*q = NULL;
	*question = NULL;
	return header_reply(query, DNS_RCODE_FORMERR, out, out_cap);
}

static bool qtype_unsupported(ldns_rr_type type)
{
	return type == LDNS_RR_TYPE_AXFR || type == LDNS_RR_TYPE_IXFR ||
	       type == LDNS_RR_TYPE_MAILA || type == LDNS_RR_TYPE_MAILB;
}

int dns_answer(const struct dns_table *t, const uint8_t *query, size_t len, uint8_t *out,
	       size_t out_cap)
{
	const ldns_rr *question;
	ldns_pkt *q = NULL, *p = NULL;
	struct dns_name name;
	struct dns_lookup lk;
	const ldns_rdf *owner;
	ldns_rr_type qtype;
	ldns_rr_class qclass;
	int ret;

	ret = query_parse(query, len, out, out_cap, &q, &question);
	if (ret || !q)
		goto out;
	owner = ldns_rr_owner(question);
	if (!name_split(owner, &name)) {
		ret = header_reply(query, DNS_RCODE_FORMERR, out, out_cap);
		goto out;
	}
	lookup(t, &name, &lk);
	if (lk.zone == DNS_ZONE_NONE) {
		ret = 0;
		goto out;
	}
	qtype = ldns_rr_get_type(question);
	qclass = ldns_rr_get_class(question);
	p = reply_new(q, question, DNS_RCODE_NOERROR);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	ldns_pkt_set_aa(p, true);
	if (qclass != LDNS_RR_CLASS_IN && qclass != LDNS_RR_CLASS_ANY) {
		ldns_pkt_set_aa(p, false);
		ldns_pkt_set_rcode(p, DNS_RCODE_REFUSED);
	} else if (qtype_unsupported(qtype)) {
		ldns_pkt_set_rcode(p, DNS_RCODE_NOTIMP);
	} else if (!lk.exists) {
		ldns_pkt_set_rcode(p, DNS_RCODE_NXDOMAIN);
		ret = add_soa(p, &lk, LDNS_SECTION_AUTHORITY);
	} else {
		ret = add_answers(t, p, &lk, owner, qtype);
		if (!ret && ldns_pkt_ancount(p) == 0)
			ret = add_soa(p, &lk, LDNS_SECTION_AUTHORITY);
	}
	if (ret)
		goto out;
	ret = pkt_emit(p, out, out_cap);
out:
	ldns_pkt_free(p);
	ldns_pkt_free(q);
	return ret;
}

int dns_error_reply(const uint8_t *query, size_t len, int rcode, uint8_t *out, size_t out_cap)
{
	ldns_pkt *q = NULL, *p = NULL;
	const ldns_rr *question = NULL;
	int ret;

	if (len < DNS_HEADER_LEN)
		return -EBADMSG;
	if (rcode < 0 || rcode > 15)
		return -EINVAL;
	if (!wire_exact(query, len) || ldns_wire2pkt(&q, query, len) != LDNS_STATUS_OK ||
	    ldns_pkt_qdcount(q) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1) {
		ret = header_reply(query, rcode, out, out_cap);
		goto out;
	}
	question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	p = reply_new(q, question, rcode);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	ldns_pkt_set_opcode(p, ldns_pkt_get_opcode(q));
	ret = pkt_emit(p, out, out_cap);
out:
	ldns_pkt_free(p);
	ldns_pkt_free(q);
	return ret;
}

size_t dns_query_udp_size(const uint8_t *query, size_t len)
{
	ldns_pkt *q = NULL;
	size_t size = DNS_UDP_MAX;

	if (len < DNS_HEADER_LEN || !wire_exact(query, len) ||
	    ldns_wire2pkt(&q, query, len) != LDNS_STATUS_OK)
		return size;
	if (ldns_pkt_edns(q) && ldns_pkt_edns_udp_size(q) > DNS_UDP_MAX)
		size = ldns_pkt_edns_udp_size(q);
	ldns_pkt_free(q);
	return size;
}
