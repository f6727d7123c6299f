#include "session/pathsel.h"

#include <string.h>

/* A burst: rounds at these offsets from the kick, then one every
 * PATHSEL_REPROBE_NS. Several rounds because hole punching needs both sides'
 * probes to cross while the other's NAT mapping is open, and the two sides
 * start at different times. */
static const uint64_t pathsel_burst_ms[] = {0, 250, 500, 1000, 2000, 4000};
#define PATHSEL_BURST_ROUNDS (sizeof(pathsel_burst_ms) / sizeof(pathsel_burst_ms[0]))
#define NSEC_PER_MSEC	     1000000ull

void pathsel_init(struct pathsel *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->next_probe_ns = UINT64_MAX;
	ps->burst = PATHSEL_BURST_ROUNDS;
}

static bool pathsel_usable(const struct endpoint *ep)
{
	const struct in6_addr *a = &ep->sin6.sin6_addr;

	if (!endpoint_is_set(ep) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
	    IN6_IS_ADDR_MULTICAST(a))
		return false;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		uint8_t b0 = a->s6_addr[12];

		return b0 != 0 && b0 != 127 && b0 < 224;
	}
	return true;
}

bool pathsel_add_candidate(struct pathsel *ps, const struct endpoint *ep)
{
	struct endpoint clean = {0};

	if (!pathsel_usable(ep))
		return false;
	clean.sin6.sin6_family = AF_INET6;
	clean.sin6.sin6_addr = ep->sin6.sin6_addr;
	clean.sin6.sin6_port = ep->sin6.sin6_port;
	clean.sin6.sin6_scope_id = ep->sin6.sin6_scope_id;
	for (unsigned i = 0; i < ps->ncand; i++) {
		if (endpoint_equal(&ps->cand[i], &clean))
			return false;
	}
	if (ps->ncand < PATHSEL_MAX_CANDIDATES) {
		ps->cand[ps->ncand++] = clean;
	} else {
		ps->cand[ps->cand_next] = clean;
		ps->cand_next = (ps->cand_next + 1) % PATHSEL_MAX_CANDIDATES;
	}
	return true;
}

void pathsel_kick(struct pathsel *ps, uint64_t now)
{
	ps->burst = 0;
	ps->next_probe_ns = now;
}

bool pathsel_endpoint_is_local(const struct endpoint *ep)
{
	const uint8_t *b = ep->sin6.sin6_addr.s6_addr;

	if (IN6_IS_ADDR_V4MAPPED(&ep->sin6.sin6_addr)) {
		b += 12;
		return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		       (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254);
	}
	/* ULA fc00::/7 but not the mesh's own fd72:6179::/32, and fe80::/10 */
	if ((b[0] & 0xfe) == 0xfc)
		return !(b[0] == 0xfd && b[1] == 0x72 && b[2] == 0x61 && b[3] == 0x79);
	return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
}

bool pathsel_direct_rx(struct pathsel *ps, const struct endpoint *from, uint64_t now)
{
	bool is_current = endpoint_is_set(&ps->current) && endpoint_equal(&ps->current, from);

	if (!is_current) {
		bool stale = !endpoint_is_set(&ps->current) ||
			     now - ps->current_rx_ns > PATHSEL_STALE_NS;
		bool better =
			pathsel_endpoint_is_local(from) && !pathsel_endpoint_is_local(&ps->current);

		if (!stale && !better)
			return false;
		ps->current = *from;
		pathsel_add_candidate(ps, from); /* peer-reflexive: probe it later too */
	}
	ps->current_rx_ns = now;
	if (ps->next_heartbeat_ns < now || !is_current)
		ps->next_heartbeat_ns = now + PATHSEL_HEARTBEAT_NS;
	return !is_current;
}

bool pathsel_direct_ok(const struct pathsel *ps, uint64_t now)
{
	return endpoint_is_set(&ps->current) && now - ps->current_rx_ns < PATHSEL_TRUST_NS;
}

unsigned pathsel_poll(struct pathsel *ps, uint64_t now, bool active, struct endpoint *out,
		      unsigned max, uint64_t *next)
{
	bool direct = pathsel_direct_ok(ps, now);
	unsigned n = 0;

	*next = UINT64_MAX;
	if (!active)
		return 0;
	if (direct) {
		/* Keep the proof fresh; no rounds to every candidate meanwhile. */
		if (now >= ps->next_heartbeat_ns) {
			if (max > 0)
				out[n++] = ps->current;
			ps->next_heartbeat_ns = now + PATHSEL_HEARTBEAT_NS;
			ps->probe_sent_ns = now;
			ps->probe_txid++;
		}
		*next = ps->next_heartbeat_ns;
		return n;
	}
	if (ps->ncand == 0)
		return 0;
	if (ps->next_probe_ns == UINT64_MAX)
		ps->next_probe_ns = now;
	if (now >= ps->next_probe_ns) {
		for (unsigned i = 0; i < ps->ncand && n < max; i++)
			out[n++] = ps->cand[i];
		ps->probe_sent_ns = now;
		ps->probe_txid++;
		if (ps->burst + 1 < PATHSEL_BURST_ROUNDS) {
			ps->next_probe_ns = now + (pathsel_burst_ms[ps->burst + 1] -
						   pathsel_burst_ms[ps->burst]) *
							  NSEC_PER_MSEC;
			ps->burst++;
		} else {
			ps->burst = PATHSEL_BURST_ROUNDS;
			ps->next_probe_ns = now + PATHSEL_REPROBE_NS;
		}
	}
	*next = ps->next_probe_ns;
	/* The direct path, if any, expires at a known time: look again then. */
	if (endpoint_is_set(&ps->current)) {
		uint64_t expiry = ps->current_rx_ns + PATHSEL_TRUST_NS;

		if (expiry > now && expiry < *next)
			*next = expiry;
	}
	return n;
}

void pathsel_pong(struct pathsel *ps, uint64_t txid, uint64_t now)
{
	if (txid == ps->probe_txid && now >= ps->probe_sent_ns)
		ps->rtt_ns = now - ps->probe_sent_ns;
}
