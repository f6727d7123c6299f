/* Magic DNS: the pure core of the resolver the daemon answers on
 * 100.100.100.53 and fd72:6179::53. One query in, one answer out; no
 * sockets, no time, no global state. The DNS wire format is ldns's.
 *
 * The table holds the names this node answers, built from the verified
 * rosters by the daemon (and rebuilt when a roster changes: TTLs are 5 s).
 * For each entry (HOST, NETWORK, v4, v6):
 *   - HOST.NETWORK.ray      A v4, AAAA v6;
 *   - HOST.ray              the same, when exactly one network has HOST;
 *                           when several do, the name is NXDOMAIN (it names
 *                           no single node; HOST.NETWORK.ray does);
 *   - the reverse names of v4 (under 100.64.0.0/10, in-addr.arpa) and v6
 *     (under fd72:6179::/32, ip6.arpa): PTR HOST.NETWORK.ray. — one PTR per
 *     entry with that address (the same node in two networks has two names).
 * An all-zero address means "none" (no A or no AAAA: NODATA).
 *
 * Zones answered here, authoritatively (AA set): "ray.", the 64 /16
 * reverse zones 64.100.in-addr.arpa. .. 127.100.in-addr.arpa., and
 * 9.7.1.6.2.7.d.f.ip6.arpa. Within them:
 *   - names matching is ASCII case-insensitive; the answer's owner is the
 *     question's name as asked;
 *   - a name that does not exist: NXDOMAIN, with the zone's SOA in the
 *     authority section (negative TTL 5 s);
 *   - a name that exists without data of the asked type (MX for a host,
 *     the zone apex, "NETWORK.ray", a reverse prefix with members under it):
 *     NODATA, i.e. NOERROR, no answer, the SOA in authority;
 *   - SOA at a zone apex is answered; ANY gives A and AAAA (or the PTRs);
 *   - a class other than IN (or ANY): REFUSED; AXFR, IXFR, MAILA, MAILB: NOTIMP.
 * Every answer copies the query's id, opcode and RD, sets QR and RA; TTL 5 s.
 * No EDNS in answers (an OPT in the query is parsed and ignored).
 *
 * Malformed queries:
 *   - shorter than the 12-byte header, or QR set (a response: answering it
 *     could start a loop between two servers): dropped, -EBADMSG;
 *   - opcode other than QUERY: NOTIMP (header only);
 *   - anything ldns cannot parse, trailing bytes after the last record the
 *     counts announce, no question or more than one: FORMERR (header only).
 * A well-formed query for a name outside those zones gives 0: the caller
 * forwards it upstream (or answers REFUSED itself with dns_error_reply()).
 */
#ifndef RAY_DNS_RESOLVER_H
#define RAY_DNS_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#define DNS_HEADER_LEN	   12
#define DNS_UDP_MAX	   512 /* out_cap for a plain UDP answer */
#define DNS_TTL		   5
#define DNS_LABEL_MAX	   63
#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

struct dns_name_entry {
	char host[DNS_LABEL_MAX + 1];	 /* one DNS label: letters, digits, '-' */
	char network[DNS_LABEL_MAX + 1]; /* the local alias of the network, one label */
	struct in_addr v4;		 /* 0.0.0.0: none */
	struct in6_addr v6;		 /* ::: none */
};

struct dns_table;

/* An empty table, or NULL when out of memory. Free with dns_table_free. */
struct dns_table *dns_table_new(void);
void dns_table_free(struct dns_table *t);

/* Adds a copy of E (names lowercased). 0; -EINVAL when HOST or NETWORK is
 * not a label of 1–63 letters, digits and '-' (not at either end);
 * -EEXIST when HOST.NETWORK is already in the table; -ENOMEM. */
int dns_table_add(struct dns_table *t, const struct dns_name_entry *e);

/* Number of entries. */
size_t dns_table_count(const struct dns_table *t);

/* Answers the query QUERY (LEN bytes) from T, writing at most OUT_CAP bytes
 * into OUT (DNS_UDP_MAX for UDP: a larger answer is cut to its question with
 * TC set; the client retries over TCP, where the caller passes up to 65535).
 * Returns:
 *   > 0       bytes written to OUT, to send back;
 *   0         the query is not for us: forward it upstream;
 *   -EBADMSG  drop the query (see above);
 *   -ENOBUFS  OUT_CAP is smaller than a header; -ENOMEM. */
int dns_answer(const struct dns_table *t, const uint8_t *query, size_t len, uint8_t *out,
	       size_t out_cap);

/* An answer with no records and rcode RCODE (0–15) to the query QUERY: id,
 * opcode and RD copied, QR and RA set, the question echoed when the query
 * has exactly one that parses (header only otherwise). For the caller's
 * REFUSED (names outside .ray when the resolver is not the only one) and
 * SERVFAIL (upstream failed). Bytes written, -EBADMSG (shorter than a
 * header), -ENOBUFS or -ENOMEM. */
int dns_error_reply(const uint8_t *query, size_t len, int rcode, uint8_t *out, size_t out_cap);

/* The largest UDP answer the sender of QUERY (LEN bytes) takes: the
 * payload size of its EDNS OPT record (at least DNS_UDP_MAX), or
 * DNS_UDP_MAX without one or when QUERY does not parse. */
size_t dns_query_udp_size(const uint8_t *query, size_t len);

#endif
