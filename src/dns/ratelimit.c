/* Per-source DNS rate limiting: see dns/ratelimit.h. */
#include "dns/ratelimit.h"

#include <errno.h>
#include <string.h>

#include <netinet/in.h>

_Static_assert((DNS_RATELIMIT_SLOTS & (DNS_RATELIMIT_SLOTS - 1)) == 0,
	       "DNS_RATELIMIT_SLOTS must be a power of two");
_Static_assert(DNS_RATELIMIT_PROBE <= DNS_RATELIMIT_SLOTS, "probe window larger than the table");

#define RL_NS_PER_S 1000000000ull

void dns_ratelimit_init(struct dns_ratelimit *r, unsigned rate_per_s, unsigned burst)
{
	if (!rate_per_s)
		rate_per_s = DNS_RATELIMIT_RATE;
	if (rate_per_s > RL_NS_PER_S)
		rate_per_s = RL_NS_PER_S;
	if (!burst)
		burst = DNS_RATELIMIT_BURST;
	memset(r, 0, sizeof(*r));
	r->interval_ns = RL_NS_PER_S / rate_per_s;
	r->tolerance_ns = (uint64_t)(burst - 1) * r->interval_ns;
}

/* FNV-1a over the 16 bytes, then a multiply-xorshift so that the low bits,
 * which pick the window, depend on every input byte. */
static unsigned rl_hash(const uint8_t addr[16])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < 16; i++) {
		h ^= addr[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (unsigned)h;
}

bool dns_ratelimit_allow(struct dns_ratelimit *r, const uint8_t addr[16], uint64_t now_ns)
{
	unsigned start = rl_hash(addr);
	struct dns_ratelimit_bucket *b = NULL, *victim = NULL;
	uint64_t tat;

	for (unsigned i = 0; i < DNS_RATELIMIT_PROBE; i++) {
		struct dns_ratelimit_bucket *c = &r->b[(start + i) & (DNS_RATELIMIT_SLOTS - 1)];

		if (c->tat_ns && !memcmp(c->addr, addr, 16)) {
			b = c;
			break;
		}
		if (!victim || c->tat_ns < victim->tat_ns)
			victim = c;
	}
	if (!b) {
		/* Empty, full (TAT passed) or nearest to full: see the header. */
		b = victim;
		memcpy(b->addr, addr, 16);
		b->tat_ns = 0;
	}
	tat = b->tat_ns > now_ns ? b->tat_ns : now_ns;
	if (tat - now_ns > r->tolerance_ns)
		return false;
	/* Never 0, which marks an empty slot (a clock starting at 0). */
	b->tat_ns = tat + r->interval_ns;
	return true;
}

int dns_ratelimit_key(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(out, &in6->sin6_addr, 16);
		return 0;
	}
	return -EINVAL;
}
