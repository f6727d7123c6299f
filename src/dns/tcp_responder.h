/* DNS over TCP (RFC 7766: each message behind a 2-byte length) for Magic
 * DNS, as a minimal userspace TCP responder: the daemon has no socket on
 * port 53, it reads the client's segments from the TUN and writes ours
 * back. Pure: no sockets, no timers, the time is an argument; the only
 * allocation is dns_tcp_new's (a fixed table of connections, about 70 KiB
 * each: a longest query and a longest answer).
 *
 * What it does with a segment (IPv4, or IPv6 with TCP as the first next
 * header; every length checked, the TCP checksum verified, anything else
 * dropped and counted):
 *   - a SYN for a new connection: SYN-ACK with a random ISN, our MSS from
 *     the MTU and a fixed window of DNS_TCP_WINDOW (no window scaling, no
 *     other options); a full table evicts the least recently active entry
 *     (with a RST to its client);
 *   - in-order data is taken at once and ACKed (by the answer's segment
 *     when the answer comes at once, else by a bare ACK); out-of-order or
 *     duplicate data is dropped and what we have is ACKed again; a segment
 *     overlapping what we have keeps its new part;
 *   - each whole message goes up to the query callback with the
 *     connection's id, in order (pipelined queries each get theirs); a
 *     message longer than DNS_TCP_QUERY_MAX resets the connection;
 *   - dns_tcp_answer sends an answer on that connection: the length, then
 *     the message, in segments of at most the MSS with ACK|PSH, never more
 *     than the client's window allows; the rest goes out as its ACKs open
 *     the window;
 *   - the client's FIN is answered with our FIN (with its ACK) once every
 *     query it sent is answered and sent; the entry is freed when our FIN is
 *     ACKed, or at once on an acceptable RST (RFC 5961: at exactly the next
 *     sequence number; elsewhere in the window it gets a challenge ACK);
 *   - a segment for no connection gets a RST (RFC 9293 3.10.7.1), unless it
 *     is a RST; a SYN for an existing connection gets a challenge ACK, but
 *     a retransmitted SYN of one still in its handshake gets the SYN-ACK
 *     again;
 *   - an entry idle for DNS_TCP_IDLE_NS (nothing from the client, no
 *     answer) is reset and freed.
 *
 * No retransmission timer: our segments go straight into the local kernel
 * through the TUN, where nothing is lost in transit. A segment we fail to
 * hand over is tried again with the connection's next segment from the
 * client; the client's own timers retransmit its SYN, data and FIN, and a
 * retransmission makes us send our part again.
 */
#ifndef RAY_DNS_TCP_RESPONDER_H
#define RAY_DNS_TCP_RESPONDER_H

#include <stddef.h>
#include <stdint.h>

#include "session/ippacket.h"

#define DNS_TCP_CONNS	  64	/* connections at once by default, at most 256 */
#define DNS_TCP_QUERY_MAX 4096	/* a longer query resets its connection */
#define DNS_TCP_MSG_MAX	  65535 /* an answer, without its length */
#define DNS_TCP_WINDOW	  8192	/* the receive window we advertise */
#define DNS_TCP_IDLE_NS	  (10ull * 1000000000ull)
#define DNS_TCP_MTU_MIN	  576

struct dns_tcp;

/* An IP packet for a client, to write to the TUN: 0, or -errno when it was
 * not taken (it is tried again later, see above). PKT is valid only during
 * the call. */
typedef int (*dns_tcp_send_fn)(void *arg, const uint8_t *pkt, size_t len);

/* A whole query MSG (LEN bytes, without its length; LEN may be anything up
 * to DNS_TCP_QUERY_MAX, 0 included) from CLIENT on connection ID. The
 * callback must later call dns_tcp_answer or dns_tcp_abort with ID (or may
 * do so at once, from within the callback); until every query is answered,
 * the client's FIN waits. It must not call dns_tcp_input or dns_tcp_free.
 * MSG is valid only during the call. */
typedef void (*dns_tcp_query_fn)(void *arg, uint64_t id, const struct ip_addr *client,
				 const uint8_t *msg, size_t len);

struct dns_tcp_stats {
	uint64_t segments;    /* taken (valid checksum, a TCP segment) */
	uint64_t malformed;   /* dropped: lengths, checksum, not TCP, a fragment */
	uint64_t connections; /* accepted (SYN-ACK sent) */
	uint64_t queries;     /* handed to the query callback */
	uint64_t answers;     /* taken by dns_tcp_answer */
	uint64_t resets;      /* RSTs sent: no connection, aborts, evictions, expiry */
	uint64_t oversize;    /* connections reset for a query over DNS_TCP_QUERY_MAX */
	uint64_t evicted;     /* connections pushed out by a new one, table full */
	uint64_t expired;     /* connections idle for DNS_TCP_IDLE_NS */
	unsigned open;	      /* connections in the table now (not yet idle too long) */
	unsigned size;	      /* the table's */
};

/* A responder on TCP port PORT (segments to another port are refused with
 * a RST, as by a host where nothing listens there) for a tunnel of MTU bytes
 * (DNS_TCP_MTU_MIN to 65535: our segments are never longer, our MSS fits
 * it), with room for CONNS connections (1 to 256; DNS_TCP_CONNS), or NULL
 * (out of memory, an argument out of range). SEND and QUERY get ARG. */
struct dns_tcp *dns_tcp_new(unsigned mtu, uint16_t port, unsigned conns, dns_tcp_send_fn send,
			    dns_tcp_query_fn query, void *arg);
/* Frees everything, sending nothing. NULL is a no-op. */
void dns_tcp_free(struct dns_tcp *t);

/* A packet PKT (LEN bytes) from a client to us, at NOW_NS (monotonic).
 * 0 when it was a TCP segment (whatever became of it), -EINVAL when it is
 * not one (lengths, protocol, an IPv4 fragment), -EBADMSG for a wrong
 * checksum. */
int dns_tcp_input(struct dns_tcp *t, const uint8_t *pkt, size_t len, uint64_t now_ns);

/* Sends MSG (LEN bytes, at most DNS_TCP_MSG_MAX) as the answer to one query
 * of connection ID. 0; -ENOENT when the connection is gone (the client
 * reset or closed it, or it was evicted or expired: the answer is dropped);
 * -EMSGSIZE; -ENOBUFS when it does not fit behind the bytes still waiting
 * for the client's window (the connection is then reset). */
int dns_tcp_answer(struct dns_tcp *t, uint64_t id, const uint8_t *msg, size_t len, uint64_t now_ns);

/* Resets connection ID (a query we will not answer) and frees it. 0, or
 * -ENOENT. */
int dns_tcp_abort(struct dns_tcp *t, uint64_t id);

/* Resets and frees every connection idle since NOW_NS - DNS_TCP_IDLE_NS
 * (dns_tcp_input does it too). */
void dns_tcp_expire(struct dns_tcp *t, uint64_t now_ns);

/* The counters, and the connections open at NOW_NS. */
void dns_tcp_get_stats(const struct dns_tcp *t, uint64_t now_ns, struct dns_tcp_stats *out);

#endif
