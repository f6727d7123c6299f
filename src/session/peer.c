#include "session/peer.h"
#include "crypto/keytext.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_SLOTS_MIN 64

void peer_table_init(struct peer_table *t)
{
	memset(t, 0, sizeof(*t));
}

void peer_table_destroy(struct peer_table *t)
{
	while (t->peers)
		peer_table_remove(t, t->peers);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

struct peer *peer_table_add(struct peer_table *t, struct wg_noise_local *local,
			    const uint8_t wg_public[WG_KEY_LEN], const struct wg_timer_config *cfg)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	wg_noise_remote_init(&p->noise, local, wg_public, NULL);
	wg_cookie_maker_init(&p->cookie, wg_public);
	wg_timers_init(&p->timers, cfg);
	pathsel_init(&p->paths);
	p->next = t->peers;
	t->peers = p;
	t->count++;
	return p;
}

void peer_table_remove(struct peer_table *t, struct peer *p)
{
	struct peer **pp;

	for (pp = &t->peers; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			t->count--;
			break;
		}
	}
	wg_noise_remote_destroy(&p->noise);
	wg_cookie_maker_destroy(&p->cookie);
	wg_timers_stop(&p->timers);
	/* Any index still mapped to P (a handshake's) must not dangle. */
	for (unsigned i = 0; i < t->nslots;) {
		if (t->slots[i].peer == p)
			peer_index_drop(t, t->slots[i].index); /* may refill slot I */
		else
			i++;
	}
	if (p->staged) {
		sodium_memzero(p->staged, (size_t)PEER_STAGED_MAX * PEER_PACKET_MAX);
		free(p->staged);
	}
	sodium_memzero(p, sizeof(*p));
	free(p);
}

void peer_short_name(const struct peer *p, char out[16])
{
	char text[NODE_ID_TEXT_LEN + 1];

	if (p->has_node_id) {
		keytext_format_node_id(p->node_id, text);
		snprintf(out, 16, "%.10s", text);
	} else {
		keytext_format_base64(p->noise.r_public, text);
		snprintf(out, 16, "wg:%.10s", text);
	}
}

struct peer *peer_table_by_wg_key(const struct peer_table *t, const uint8_t key[WG_KEY_LEN])
{
	for (struct peer *p = t->peers; p; p = p->next)
		if (memcmp(p->noise.r_public, key, WG_KEY_LEN) == 0)
			return p;
	return NULL;
}

struct peer *peer_table_by_node_id(const struct peer_table *t, const uint8_t id[32])
{
	for (struct peer *p = t->peers; p; p = p->next)
		if (p->has_node_id && memcmp(p->node_id, id, 32) == 0)
			return p;
	return NULL;
}

struct peer *peer_table_route(const struct peer_table *t, const struct ip_addr *dst)
{
	struct peer *best = NULL;
	int best_len = -1;

	for (struct peer *p = t->peers; p; p = p->next) {
		for (unsigned i = 0; i < p->nallowed; i++) {
			const struct peer_prefix *a = &p->allowed[i];

			if (a->len > best_len && ip_addr_in_prefix(dst, &a->addr, a->len)) {
				best = p;
				best_len = a->len;
			}
		}
	}
	return best;
}

bool peer_allows(const struct peer *p, const struct ip_addr *addr)
{
	for (unsigned i = 0; i < p->nallowed; i++)
		if (ip_addr_in_prefix(addr, &p->allowed[i].addr, p->allowed[i].len))
			return true;
	return false;
}

int peer_add_allowed(struct peer *p, const struct ip_addr *addr, unsigned len)
{
	if (p->nallowed >= PEER_MAX_ALLOWED)
		return -ENOSPC;
	if (len > (addr->family == AF_INET ? 32u : 128u))
		return -EINVAL;
	p->allowed[p->nallowed].addr = *addr;
	p->allowed[p->nallowed].len = (uint8_t)len;
	p->nallowed++;
	return 0;
}

static unsigned index_hash(uint32_t index, unsigned nslots)
{
	/* Indices are random already; mixing guards against a poor source. */
	return (index * 2654435761u) & (nslots - 1);
}

static int index_grow(struct peer_table *t)
{
	unsigned n = t->nslots ? t->nslots * 2 : INDEX_SLOTS_MIN;
	struct peer_index_slot *slots = calloc(n, sizeof(*slots)), *old = t->slots;
	unsigned old_n = t->nslots;

	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	t->nslots = n;
	t->nused = 0;
	for (unsigned i = 0; i < old_n; i++) {
		unsigned j;

		if (!old[i].peer)
			continue;
		for (j = index_hash(old[i].index, n); slots[j].peer; j = (j + 1) & (n - 1))
			;
		slots[j] = old[i];
		t->nused++;
	}
	free(old);
	return 0;
}

static struct peer_index_slot *index_find(const struct peer_table *t, uint32_t index)
{
	if (!t->nslots)
		return NULL;
	for (unsigned j = index_hash(index, t->nslots);; j = (j + 1) & (t->nslots - 1)) {
		if (!t->slots[j].peer)
			return NULL;
		if (t->slots[j].index == index)
			return &t->slots[j];
	}
}

int peer_index_new(struct peer_table *t, struct peer *p, uint32_t *index)
{
	uint32_t candidate;
	unsigned j;
	int ret;

	if ((t->nused + 1) * 2 > t->nslots) {
		ret = index_grow(t);
		if (ret < 0)
			return ret;
	}
	do
		candidate = randombytes_random();
	while (index_find(t, candidate));
	for (j = index_hash(candidate, t->nslots); t->slots[j].peer; j = (j + 1) & (t->nslots - 1))
		;
	t->slots[j].index = candidate;
	t->slots[j].peer = p;
	t->nused++;
	*index = candidate;
	return 0;
}

struct peer *peer_index_get(const struct peer_table *t, uint32_t index)
{
	struct peer_index_slot *s = index_find(t, index);

	return s ? s->peer : NULL;
}

void peer_index_drop(struct peer_table *t, uint32_t index)
{
	struct peer_index_slot *s = index_find(t, index);
	unsigned i, j, k;

	if (!s)
		return;
	/* Backward-shift deletion keeps probe chains whole without tombstones. */
	i = (unsigned)(s - t->slots);
	t->slots[i].peer = NULL;
	t->nused--;
	for (j = (i + 1) & (t->nslots - 1); t->slots[j].peer; j = (j + 1) & (t->nslots - 1)) {
		k = index_hash(t->slots[j].index, t->nslots);
		/* Move J back to I if its home K does not lie cyclically in (I, J]. */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			t->slots[i] = t->slots[j];
			t->slots[j].peer = NULL;
			i = j;
		}
	}
}
