#include "firewall/conntrack.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NS_PER_S 1000000000ull

enum ct_state {
	CT_FREE = 0,
	CT_TCP_SYN,
	CT_TCP_ESTABLISHED,
	CT_TCP_CLOSING,
	CT_TCP_CLOSED,
	CT_UDP,
	CT_UDP_REPLIED,
	CT_ICMP,
	CT_OTHER,
};

/* A flow from our side: local and remote address and port. Hashed as
 * bytes, so built zeroed. */
struct ct_key {
	uint8_t local[16], remote[16];
	uint16_t lport, rport;
	uint8_t family, proto;
	uint8_t pad[2];
};

struct ct_entry {
	struct ct_key key;
	uint64_t last_ns;
	uint8_t state;
	bool opened_outbound;
	bool recheck; /* opened by a peer under other rules */
};

struct fw_ct {
	struct ct_entry *entries;
	unsigned nbuckets; /* a power of two */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	/* The entry found last: a bulk transfer's packets, both ways, hit it
	 * without hashing. Checked like any entry, so never stale. */
	struct ct_entry *recent;
	uint64_t inserted, evicted;
};

struct fw_ct *fw_ct_new(unsigned capacity)
{
	struct fw_ct *ct = calloc(1, sizeof(*ct));
	unsigned n = 1;

	if (!ct)
		return NULL;
	while (n * FW_CT_WAYS < capacity && n < (1u << 24))
		n <<= 1;
	ct->nbuckets = n;
	ct->entries = calloc((size_t)n * FW_CT_WAYS, sizeof(*ct->entries));
	if (!ct->entries) {
		free(ct);
		return NULL;
	}
	randombytes_buf(ct->hash_key, sizeof(ct->hash_key));
	return ct;
}

void fw_ct_free(struct fw_ct *ct)
{
	if (!ct)
		return;
	free(ct->entries);
	sodium_memzero(ct->hash_key, sizeof(ct->hash_key));
	free(ct);
}

static void ct_key_make(const struct fw_tuple *t, bool outbound, struct ct_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = t->family;
	k->proto = t->proto;
	if (outbound) {
		memcpy(k->local, t->src, 16);
		memcpy(k->remote, t->dst, 16);
		k->lport = t->sport;
		k->rport = t->dport;
	} else {
		memcpy(k->local, t->dst, 16);
		memcpy(k->remote, t->src, 16);
		k->lport = t->dport;
		k->rport = t->sport;
	}
}

static uint64_t ct_timeout_ns(uint8_t state)
{
	static const uint32_t seconds[] = {
		[CT_TCP_SYN] = FW_CT_TCP_SYN_S,
		[CT_TCP_ESTABLISHED] = FW_CT_TCP_ESTABLISHED_S,
		[CT_TCP_CLOSING] = FW_CT_TCP_CLOSING_S,
		[CT_TCP_CLOSED] = FW_CT_TCP_CLOSED_S,
		[CT_UDP] = FW_CT_UDP_S,
		[CT_UDP_REPLIED] = FW_CT_UDP_REPLIED_S,
		[CT_ICMP] = FW_CT_ICMP_S,
		[CT_OTHER] = FW_CT_OTHER_S,
	};

	return state < sizeof(seconds) / sizeof(seconds[0]) ? seconds[state] * NS_PER_S : 0;
}

static bool ct_live(const struct ct_entry *e, uint64_t now)
{
	return e->state != CT_FREE && now - e->last_ns < ct_timeout_ns(e->state);
}

static struct ct_entry *ct_bucket(struct fw_ct *ct, const struct ct_key *k)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)k, sizeof(*k), ct->hash_key);
	memcpy(&v, h, sizeof(v));
	return &ct->entries[(size_t)(v & (ct->nbuckets - 1)) * FW_CT_WAYS];
}

/* K's live entry, or NULL; *BUCKET (if not NULL) is K's bucket. */
static struct ct_entry *ct_find(struct fw_ct *ct, const struct ct_key *k, uint64_t now,
				struct ct_entry **bucket)
{
	struct ct_entry *b;

	if (!bucket && ct->recent && ct_live(ct->recent, now) &&
	    memcmp(&ct->recent->key, k, sizeof(*k)) == 0)
		return ct->recent;
	b = ct_bucket(ct, k);
	if (bucket)
		*bucket = b;
	for (unsigned i = 0; i < FW_CT_WAYS; i++) {
		if (ct_live(&b[i], now) && memcmp(&b[i].key, k, sizeof(*k)) == 0)
			return ct->recent = &b[i];
	}
	return NULL;
}

/* Update E for a TCP packet with FLAGS, in the direction the flow was opened
 * in (ORIGINAL) or back. */
static bool ct_tcp_update(struct ct_entry *e, uint8_t flags, bool original)
{
	bool syn = (flags & (FW_TCP_SYN | FW_TCP_ACK)) == FW_TCP_SYN;

	if (syn) {
		if (!original)
			return false;
		if (e->state == CT_TCP_CLOSING || e->state == CT_TCP_CLOSED)
			e->state = CT_TCP_SYN; /* the port pair, reused */
		return true;
	}
	if (flags & FW_TCP_RST)
		e->state = CT_TCP_CLOSED;
	else if (flags & FW_TCP_FIN) {
		if (e->state != CT_TCP_CLOSED)
			e->state = CT_TCP_CLOSING;
	} else if (e->state == CT_TCP_SYN && !original)
		e->state = CT_TCP_ESTABLISHED;
	return true;
}

/* E saw a packet F in the direction ORIGINAL or back. False: a new
 * connection on E's ports, not part of E. */
static bool ct_update(struct ct_entry *e, const struct fw_flow *f, bool original, uint64_t now)
{
	if (e->key.proto == IPPROTO_TCP) {
		if (!ct_tcp_update(e, f->tcp_flags, original))
			return false;
	} else if (e->state == CT_UDP && !original) {
		e->state = CT_UDP_REPLIED;
	}
	e->last_ns = now;
	return true;
}

enum fw_ct_result fw_ct_check(struct fw_ct *ct, const struct fw_flow *f, bool outbound,
			      uint64_t now_ns)
{
	struct ct_key k;
	struct ct_entry *e;

	if (!f->has_ports)
		return FW_CT_MISS;
	ct_key_make(&f->t, outbound, &k);
	e = ct_find(ct, &k, now_ns, NULL);
	if (!e)
		return FW_CT_MISS;
	if (e->recheck)
		return FW_CT_RECHECK;
	return ct_update(e, f, e->opened_outbound == outbound, now_ns) ? FW_CT_PASS : FW_CT_MISS;
}

void fw_ct_settle(struct fw_ct *ct, const struct fw_flow *f, bool outbound, bool allowed,
		  uint64_t now_ns)
{
	struct ct_key k;
	struct ct_entry *e;

	ct_key_make(&f->t, outbound, &k);
	e = ct_find(ct, &k, now_ns, NULL);
	if (!e)
		return;
	if (allowed) {
		e->recheck = false;
		ct_update(e, f, e->opened_outbound == outbound, now_ns);
	} else {
		e->last_ns = now_ns; /* held closed while the peer keeps trying */
	}
}

bool fw_ct_related(struct fw_ct *ct, const struct fw_flow *f, bool outbound, uint64_t now_ns)
{
	struct ct_key k;

	if (!f->icmp_error)
		return false;
	/* The quoted packet went the other way: an error coming in is about a
	 * packet we sent. */
	ct_key_make(&f->inner, !outbound, &k);
	return ct_find(ct, &k, now_ns, NULL) != NULL;
}

static uint8_t ct_initial_state(const struct fw_flow *f)
{
	switch (f->t.proto) {
	case IPPROTO_TCP:
		if (f->tcp_flags & FW_TCP_RST)
			return CT_FREE;
		if ((f->tcp_flags & (FW_TCP_SYN | FW_TCP_ACK)) == FW_TCP_SYN)
			return CT_TCP_SYN;
		/* Picked up mid-stream (after a restart): the rules allowed it. */
		return f->tcp_flags & FW_TCP_FIN ? CT_TCP_CLOSING : CT_TCP_ESTABLISHED;
	case IPPROTO_UDP:
		return CT_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return CT_ICMP;
	default:
		return CT_OTHER;
	}
}

/* Which entry of bucket B a new flow takes: a free or expired one, else the
 * least recently used, established TCP last. */
static struct ct_entry *ct_victim(struct fw_ct *ct, struct ct_entry *b, uint64_t now)
{
	struct ct_entry *best = NULL;
	bool best_est = true;

	for (unsigned i = 0; i < FW_CT_WAYS; i++) {
		bool est;

		if (!ct_live(&b[i], now))
			return &b[i];
		est = b[i].state == CT_TCP_ESTABLISHED;
		if (!best || (best_est && !est) ||
		    (best_est == est && b[i].last_ns < best->last_ns)) {
			best = &b[i];
			best_est = est;
		}
	}
	ct->evicted++;
	return best;
}

void fw_ct_admit(struct fw_ct *ct, const struct fw_flow *f, bool outbound, uint64_t now_ns)
{
	struct ct_key k;
	struct ct_entry *e, *b;
	uint8_t state = ct_initial_state(f);

	if (!f->has_ports || state == CT_FREE)
		return;
	ct_key_make(&f->t, outbound, &k);
	e = ct_find(ct, &k, now_ns, &b);
	if (!e) {
		e = ct_victim(ct, b, now_ns);
		ct->inserted++;
	}
	e->key = k;
	e->state = state;
	e->opened_outbound = outbound;
	e->recheck = false;
	e->last_ns = now_ns;
}

void fw_ct_recheck_inbound(struct fw_ct *ct)
{
	size_t n = (size_t)ct->nbuckets * FW_CT_WAYS;

	for (size_t i = 0; i < n; i++) {
		if (ct->entries[i].state != CT_FREE && !ct->entries[i].opened_outbound)
			ct->entries[i].recheck = true;
	}
}

void fw_ct_get_stats(const struct fw_ct *ct, uint64_t now_ns, struct fw_ct_stats *st)
{
	size_t n = (size_t)ct->nbuckets * FW_CT_WAYS;

	memset(st, 0, sizeof(*st));
	st->capacity = (unsigned)n;
	for (size_t i = 0; i < n; i++)
		st->entries += ct_live(&ct->entries[i], now_ns);
	st->inserted = ct->inserted;
	st->evicted = ct->evicted;
}
