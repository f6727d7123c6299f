/* Forwarding of DNS queries the daemon does not answer itself (names outside
 * .ray) to the host's upstream resolvers, asynchronously, on the daemon's
 * event loop. Nothing here blocks: non-blocking UDP sockets, non-blocking
 * TCP connects, loop timers.
 *
 * State is bounded: a fixed table of DNS_FORWARD_PENDING_MAX queries in
 * flight (each with a copy of its query, at most DNS_FORWARD_QUERY_MAX bytes,
 * and of the caller's client blob, at most DNS_FORWARD_CLIENT_MAX bytes), at
 * most DNS_FORWARD_TCP_MAX TCP fallbacks at once; the only allocations after
 * dns_forward_new are the loop's timers and a TCP answer's buffer.
 *
 * Upstreams are tried in list order. A query goes to one upstream over UDP
 * and waits try_ms (DNS_FORWARD_TRY_MS) for an answer, then goes to the next
 * one (wrapping around), each upstream at most DNS_FORWARD_TRIES times and
 * the whole query at most total_ms (DNS_FORWARD_TOTAL_MS); then the callback
 * gets -ETIMEDOUT. An answer with rcode SERVFAIL or REFUSED moves the query
 * to the next upstream that has not refused it yet, at once; from the last
 * such upstream it is delivered as it is.
 *
 * Anti-spoofing: every query goes out with a fresh random id, unique among
 * those in flight. An answer is taken only when it comes from the address
 * and port of an upstream this query was sent to, has QR set and that id,
 * and its question equals the query's (name compared ASCII
 * case-insensitively, type and class exactly). Anything else is dropped
 * silently and counted in the stats. The UDP sockets (one per address
 * family, created on first use) are unconnected: recvfrom tells the source.
 *
 * Truncation: an answer with TC set over UDP is fetched again over TCP from
 * the same upstream (2-byte length framing, a deadline of tcp_ms,
 * DNS_FORWARD_TCP_MS) when the client could take more than the UDP answer
 * gave (MAX_ANSWER larger than it); otherwise, or when no TCP slot is free,
 * the truncated answer is delivered and the client retries over TCP itself.
 * A TCP failure (refused, reset, closed early, a wrong answer, the deadline)
 * ends the query with that error. Every answer delivered fits MAX_ANSWER:
 * one larger (a TCP answer for a UDP client, an upstream ignoring the
 * client's EDNS size) is cut to its header and question with TC set and no
 * other records (no OPT either), so the client retries over TCP.
 *
 * A query longer than 512 bytes (a TCP client's, or an EDNS one) goes over
 * TCP from the start, to the first upstream, with no UDP phase and no
 * failover: a server is only bound to take a UDP query of up to 512 bytes.
 *
 * Upstreams can be replaced at any time; queries in flight carry on with the
 * new list from their next try (an answer from the upstream a query was last
 * sent to is still taken).
 */
#ifndef RAY_DNS_FORWARD_H
#define RAY_DNS_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "util/eventloop.h"

#define DNS_FORWARD_PENDING_MAX	  256
#define DNS_FORWARD_UPSTREAMS_MAX 8
#define DNS_FORWARD_QUERY_MAX	  4096 /* a query, as the client sent it (DNS_TCP_QUERY_MAX) */
#define DNS_FORWARD_CLIENT_MAX	  64   /* the caller's opaque client blob */
#define DNS_FORWARD_TCP_MAX	  32   /* TCP fallbacks in flight */
#define DNS_FORWARD_TRIES	  2    /* UDP sends per upstream and query */
#define DNS_FORWARD_TRY_MS	  1500
#define DNS_FORWARD_TOTAL_MS	  5000 /* UDP phase; a TCP fallback adds at most tcp_ms */
#define DNS_FORWARD_TCP_MS	  2000
#define DNS_FORWARD_ANSWER_MAX	  65535

struct dns_forward;

/* One call per query accepted by dns_forward_query, from the event loop.
 * CLIENT (CLIENT_LEN bytes) is the copy of the blob given with the query.
 * STATUS 0: ANSWER (LEN bytes, at most the query's MAX_ANSWER) is the answer
 * to send back to the client, its id the client's; its rcode may be anything
 * (NXDOMAIN, a last upstream's SERVFAIL, ...). STATUS < 0: no answer;
 * ANSWER is then the client's query cut to its header (the client's id,
 * counts but the question's zeroed) and question, so the caller can answer
 * SERVFAIL itself (dns_error_reply):
 *   -ETIMEDOUT     no upstream answered in time (or the TCP fallback did not);
 *   -ENETUNREACH   no upstreams left (the list was emptied meanwhile);
 *   -ECONNREFUSED, -ECONNRESET, -EPROTO (a bad TCP answer), other -errno of
 *                  the TCP fallback or of sending; -ENOMEM.
 * The callback may call dns_forward_query and dns_forward_set_upstreams; it
 * must not call dns_forward_free. ANSWER is valid only during the call. */
typedef void (*dns_forward_fn)(void *arg, const void *client, size_t client_len, int status,
			       const uint8_t *answer, size_t len);

struct dns_forward_stats {
	uint64_t queries;   /* accepted by dns_forward_query */
	uint64_t answers;   /* delivered with status 0 */
	uint64_t failures;  /* delivered with status < 0 (timeouts included) */
	uint64_t timeouts;  /* of those, -ETIMEDOUT */
	uint64_t retries;   /* UDP sends after the first */
	uint64_t tcp;	    /* TCP queries started: fallbacks, and queries over 512 bytes */
	uint64_t truncated; /* answers cut to fit MAX_ANSWER */
	uint64_t dropped;   /* datagrams ignored: unknown id, wrong source or question, junk */
};

/* A forwarder with no upstreams, or NULL when out of memory. CB and ARG get
 * the answers. The loop must outlive the forwarder. */
struct dns_forward *dns_forward_new(struct loop *loop, dns_forward_fn cb, void *arg);

/* Closes the sockets, cancels the timers and drops the queries in flight
 * WITHOUT calling the callback for them (the caller, which is going away
 * too, forgets its clients). NULL is a no-op. */
void dns_forward_free(struct dns_forward *f);

/* Replaces the upstream list by a copy of UPS[0..N-1] (N = 0 empties it):
 * AF_INET or AF_INET6 addresses with a port (IPv4-mapped IPv6 addresses are
 * taken as IPv4). 0; -EINVAL for N > DNS_FORWARD_UPSTREAMS_MAX, another
 * family or port 0 (the list is then left as it was). */
int dns_forward_set_upstreams(struct dns_forward *f, const struct sockaddr_storage *ups,
			      unsigned n);

/* Forwards QUERY (LEN bytes: a client's query, QR clear, exactly one
 * question) as it is, but for its id. MAX_ANSWER is the largest answer the
 * client can take over its transport: its EDNS size over UDP, 512 for a
 * plain UDP client, 65535 over TCP (taken as at least 512 and at most
 * 65535). CLIENT (CLIENT_LEN bytes, up to DNS_FORWARD_CLIENT_MAX; NULL when
 * 0) is copied and handed back to the callback.
 * Returns 0: the callback runs exactly once, later, from the loop (never
 * from within this call). Otherwise no callback:
 *   -EINVAL      a malformed query (short, QR set, not one question), or
 *                CLIENT_LEN too large;
 *   -EMSGSIZE    LEN > DNS_FORWARD_QUERY_MAX;
 *   -ENETUNREACH no upstreams;
 *   -EBUSY       DNS_FORWARD_PENDING_MAX queries are in flight (or, for a
 *                query over 512 bytes, DNS_FORWARD_TCP_MAX TCP queries);
 *   -ENOMEM, or the -errno of opening a socket or of sending to every
 *   upstream. */
int dns_forward_query(struct dns_forward *f, const uint8_t *query, size_t len, size_t max_answer,
		      const void *client, size_t client_len);

/* Queries in flight. */
unsigned dns_forward_pending(const struct dns_forward *f);

void dns_forward_get_stats(const struct dns_forward *f, struct dns_forward_stats *out);

/* Overrides DNS_FORWARD_TRY_MS, DNS_FORWARD_TOTAL_MS and DNS_FORWARD_TCP_MS
 * for queries forwarded from now on (0 keeps a value); for tests, and for a
 * setting. */
void dns_forward_set_timeouts(struct dns_forward *f, unsigned try_ms, unsigned total_ms,
			      unsigned tcp_ms);

#endif
