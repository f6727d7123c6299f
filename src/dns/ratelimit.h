/* A per-source rate limiter for the resolver: a token bucket per source
 * address, RATE queries a second with bursts of BURST. Pure: the time is an
 * argument, no I/O, no allocation (the table is embedded by value).
 *
 * Each bucket is kept as GCRA's "theoretical arrival time" TAT: a query at
 * NOW is allowed when TAT <= NOW + (BURST - 1) / RATE, and then moves TAT to
 * max(TAT, NOW) + 1 / RATE; a refused query changes nothing. A bucket whose
 * TAT has passed is full, the same as no bucket at all.
 *
 * The table is bounded: DNS_RATELIMIT_SLOTS buckets, a source hashed to a
 * window of DNS_RATELIMIT_PROBE slots. A source not in its window takes an
 * empty or full slot there, else the one whose TAT is earliest (nearest to
 * full: forgetting it gives away the fewest tokens). So:
 *   - a source that keeps to RATE (its queries 1/RATE apart or more) is
 *     never refused, whatever any other source sends: its bucket is full at
 *     each query, and forgetting a full bucket loses nothing;
 *   - a source over its rate holds a TAT later than any fresh source's, so a
 *     flood of spoofed one-off sources evicts those among themselves before
 *     it; it can only get a fresh bucket when every bucket of its window is
 *     further in debt than its own.
 * The hash is not keyed: choosing addresses that collide only causes
 * evictions, and an eviction only ever resets a bucket to what a new source
 * gets anyway.
 *
 * Keys are 16 bytes: IPv6 addresses, IPv4 as IPv4-mapped (::ffff:a.b.c.d).
 * A caller that wants one bucket per IPv6 prefix zeroes the host bits. */
#ifndef RAY_DNS_RATELIMIT_H
#define RAY_DNS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#define DNS_RATELIMIT_SLOTS 256 /* a power of two */
#define DNS_RATELIMIT_PROBE 8
#define DNS_RATELIMIT_RATE  50	/* queries a second, per source */
#define DNS_RATELIMIT_BURST 100 /* queries at once, per source */

struct dns_ratelimit_bucket {
	uint8_t addr[16];
	uint64_t tat_ns; /* 0: an empty slot */
};

struct dns_ratelimit {
	uint64_t interval_ns;  /* 1 / rate */
	uint64_t tolerance_ns; /* (burst - 1) / rate */
	struct dns_ratelimit_bucket b[DNS_RATELIMIT_SLOTS];
};

/* An empty table: RATE_PER_S queries a second (1 to 1e9), bursts of BURST
 * (at least 1); 0 for either takes the default above. */
void dns_ratelimit_init(struct dns_ratelimit *r, unsigned rate_per_s, unsigned burst);

/* Whether a query from ADDR at NOW_NS (a monotonic clock, never going back)
 * is allowed; counts it when it is. */
bool dns_ratelimit_allow(struct dns_ratelimit *r, const uint8_t addr[16], uint64_t now_ns);

/* The key of the source SA (AF_INET or AF_INET6) into OUT: 0 or -EINVAL. */
int dns_ratelimit_key(const struct sockaddr *sa, uint8_t out[16]);

#endif
