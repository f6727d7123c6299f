#include "net/group.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/codec.h"
#include "crypto/address.h"
#include "crypto/keytext.h"

/* Map keys, in wire order; *_FIELDS is one past the last known key. */
#define TOP_NAME	0
#define TOP_OPEN	1
#define TOP_VERSION	2
#define TOP_MEMBERS	3
#define TOP_APPROVED	4
#define TOP_KEYS	5
#define TOP_RULES	6
#define TOP_FIELDS	7
#define MEMBER_ID	0
#define MEMBER_INDEX	1
#define MEMBER_HOST	2
#define MEMBER_COORD	3
#define MEMBER_JOINED	4
#define MEMBER_FIELDS	5
#define APPROVED_ID	0
#define APPROVED_HOST	1
#define APPROVED_EXP	2
#define APPROVED_FIELDS 3
#define KEY_ID		0
#define KEY_HASH	1
#define KEY_HOST	2
#define KEY_EXP		3
#define KEY_FIELDS	4
#define RULE_SUBJECT	0
#define RULE_RULE	1
#define RULE_FIELDS	2

#define GROUP_DEFAULT_PREFIX "node-"
#define GROUP_DEFAULT_ID_LEN 8

/* Unknown (trailing) entries of one map, kept as they came: COUNT key/value
 * pairs in LEN canonical bytes. */
struct group_ext {
	uint8_t *bytes;
	size_t len;
	uint32_t count;
};

struct member_slot {
	struct group_member m; /* first: pointers to it are handed out */
	struct group_ext ext;
};

struct approved_slot {
	struct group_approved a;
	struct group_ext ext;
};

struct key_slot {
	struct group_key k;
	struct group_ext ext;
};

struct rule_slot {
	struct group_rule r;
	struct group_ext ext;
};

struct group {
	char name[GROUP_NAME_MAX + 1];
	bool open;
	uint64_t version;
	struct member_slot *members; /* sorted by id */
	unsigned nmembers, cmembers;
	struct approved_slot *approved; /* sorted by id */
	unsigned napproved, capproved;
	struct key_slot *keys; /* sorted by id */
	unsigned nkeys, ckeys;
	struct rule_slot *rules; /* in the order given */
	unsigned nrules, crules;
	struct group_ext ext;
};

/* ---- hostnames ---- */

static bool group_label_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > GROUP_HOSTNAME_MAX || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

bool group_hostname_valid(const char *s)
{
	return group_label_ok(s, strnlen(s, GROUP_HOSTNAME_MAX + 1));
}

int group_hostname_normalize(const char *in, char out[GROUP_HOSTNAME_MAX + 1])
{
	size_t len = strnlen(in, GROUP_HOSTNAME_MAX + 1), i;

	out[0] = '\0';
	if (len > GROUP_HOSTNAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++)
		out[i] = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] - 'A' + 'a') : in[i];
	out[len] = '\0';
	if (!group_label_ok(out, len)) {
		out[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

static void group_default_hostname(const uint8_t id[GROUP_ID_LEN], char out[GROUP_HOSTNAME_MAX + 1])
{
	char text[NODE_ID_TEXT_LEN + 1];
	size_t plen = sizeof(GROUP_DEFAULT_PREFIX) - 1;

	keytext_format_node_id(id, text);
	memcpy(out, GROUP_DEFAULT_PREFIX, plen);
	memcpy(out + plen, text, GROUP_DEFAULT_ID_LEN);
	out[plen + GROUP_DEFAULT_ID_LEN] = '\0';
}

/* ---- storage ---- */

static void group_ext_free(struct group_ext *e)
{
	free(e->bytes);
	memset(e, 0, sizeof(*e));
}

/* ARR (N used of *CAP, SIZE bytes each) with room for one more: the same or
 * a reallocated array, or NULL when out of memory (ARR is then untouched). */
static void *group_grow(void *arr, unsigned n, unsigned *cap, size_t size)
{
	unsigned ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(arr, (size_t)ncap * size);
	if (p)
		*cap = ncap;
	return p;
}

/* Binary search of ID in N sorted entries STRIDE bytes apart whose ids
 * start at FIRST_ID: its index, or where it would go; *FOUND tells which. */
static unsigned group_id_search(const uint8_t *first_id, size_t stride, unsigned n,
				const uint8_t *id, bool *found)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = memcmp(first_id + (size_t)mid * stride, id, GROUP_ID_LEN);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static unsigned group_member_pos(const struct group *g, const uint8_t *id, bool *found)
{
	return group_id_search(g->nmembers ? g->members[0].m.id : NULL, sizeof(*g->members),
			       g->nmembers, id, found);
}

static unsigned group_approved_pos(const struct group *g, const uint8_t *id, bool *found)
{
	return group_id_search(g->napproved ? g->approved[0].a.id : NULL, sizeof(*g->approved),
			       g->napproved, id, found);
}

static unsigned group_key_pos(const struct group *g, uint32_t id, bool *found)
{
	unsigned lo = 0, hi = g->nkeys;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (g->keys[mid].k.id == id) {
			*found = true;
			return mid;
		}
		if (g->keys[mid].k.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* ---- the group ---- */

int group_new(const char *name, bool open, struct group **out)
{
	struct group *g = NULL;
	int err;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g) {
		err = -ENOMEM;
		goto out;
	}
	err = group_hostname_normalize(name, g->name);
	if (err)
		goto out;
	g->open = open;
	*out = g;
	g = NULL;
out:
	group_free(g);
	return err;
}

void group_free(struct group *g)
{
	unsigned i;

	if (!g)
		return;
	for (i = 0; i < g->nmembers; i++)
		group_ext_free(&g->members[i].ext);
	for (i = 0; i < g->napproved; i++)
		group_ext_free(&g->approved[i].ext);
	for (i = 0; i < g->nkeys; i++)
		group_ext_free(&g->keys[i].ext);
	for (i = 0; i < g->nrules; i++)
		group_ext_free(&g->rules[i].ext);
	group_ext_free(&g->ext);
	free(g->members);
	free(g->approved);
	free(g->keys);
	free(g->rules);
	free(g);
}

const char *group_name(const struct group *g)
{
	return g->name;
}

int group_set_name(struct group *g, const char *name)
{
	char n[GROUP_NAME_MAX + 1];
	int err = group_hostname_normalize(name, n);

	if (!err)
		memcpy(g->name, n, sizeof(n));
	return err;
}

bool group_is_open(const struct group *g)
{
	return g->open;
}

void group_set_open(struct group *g, bool open)
{
	g->open = open;
}

uint64_t group_version(const struct group *g)
{
	return g->version;
}

void group_bump_version(struct group *g, uint64_t now_ms)
{
	uint64_t next = g->version < UINT64_MAX ? g->version + 1 : UINT64_MAX;

	g->version = now_ms > next ? now_ms : next;
}

bool group_expire(struct group *g, uint64_t now_ms)
{
	unsigned i, n;
	bool changed = false;

	for (i = n = 0; i < g->napproved; i++) {
		uint64_t e = g->approved[i].a.expires_ms;

		if (e && e <= now_ms) {
			group_ext_free(&g->approved[i].ext);
			changed = true;
		} else {
			g->approved[n++] = g->approved[i];
		}
	}
	g->napproved = n;
	for (i = n = 0; i < g->nkeys; i++) {
		uint64_t e = g->keys[i].k.expires_ms;

		if (e && e <= now_ms) {
			group_ext_free(&g->keys[i].ext);
			changed = true;
		} else {
			g->keys[n++] = g->keys[i];
		}
	}
	g->nkeys = n;
	return changed;
}

/* ---- hostname collisions ---- */

/* Whether NAME is held by a member other than ID, reserved by an approved
 * entry for another node than ID, or bound by a reusable key other than
 * KEY_ID (0: none). ID may be NULL: nobody is excepted. */
static bool group_name_taken(const struct group *g, const char *name, const uint8_t *id,
			     uint32_t key_id)
{
	unsigned i;

	for (i = 0; i < g->nmembers; i++) {
		const struct group_member *m = &g->members[i].m;

		if (strcmp(m->hostname, name) == 0 && (!id || memcmp(m->id, id, GROUP_ID_LEN)))
			return true;
	}
	for (i = 0; i < g->napproved; i++) {
		const struct group_approved *a = &g->approved[i].a;

		if (strcmp(a->hostname, name) == 0 && (!id || memcmp(a->id, id, GROUP_ID_LEN)))
			return true;
	}
	for (i = 0; i < g->nkeys; i++) {
		const struct group_key *k = &g->keys[i].k;

		if (strcmp(k->hostname, name) == 0 && k->id != key_id)
			return true;
	}
	return false;
}

/* OUT = WISH (a valid hostname) if it is free for ID (and KEY_ID), else the
 * first free of WISH-1, WISH-2, ... with WISH cut (and stripped of trailing
 * dashes) so that the whole stays within GROUP_HOSTNAME_MAX. */
static void group_resolve_hostname(const struct group *g, const char *wish, const uint8_t *id,
				   uint32_t key_id, char out[GROUP_HOSTNAME_MAX + 1])
{
	size_t wlen = strlen(wish), blen;
	char suffix[16];
	unsigned k;
	int slen;

	memcpy(out, wish, wlen + 1);
	/* Each K gives another name (the digits after its last '-' differ)
	 * and fewer than GROUP_MAX_MEMBERS + GROUP_MAX_APPROVED +
	 * GROUP_MAX_KEYS names are taken, so this ends soon. */
	for (k = 1; group_name_taken(g, out, id, key_id); k++) {
		slen = snprintf(suffix, sizeof(suffix), "-%u", k);
		blen = wlen;
		if (blen > GROUP_HOSTNAME_MAX - (size_t)slen)
			blen = GROUP_HOSTNAME_MAX - (size_t)slen;
		while (blen > 1 && wish[blen - 1] == '-')
			blen--;
		memcpy(out, wish, blen);
		memcpy(out + blen, suffix, (size_t)slen + 1);
	}
}

/* ---- members ---- */

const struct group_member *group_member_by_id(const struct group *g, const uint8_t id[GROUP_ID_LEN])
{
	bool found;
	unsigned i = group_member_pos(g, id, &found);

	return found ? &g->members[i].m : NULL;
}

const struct group_member *group_member_by_hostname(const struct group *g, const char *hostname)
{
	unsigned i;

	for (i = 0; i < g->nmembers; i++)
		if (strcmp(g->members[i].m.hostname, hostname) == 0)
			return &g->members[i].m;
	return NULL;
}

const struct group_member *group_member_by_ipv4(const struct group *g, uint32_t ipv4)
{
	unsigned i;

	for (i = 0; i < g->nmembers; i++)
		if (g->members[i].m.ipv4 == ipv4)
			return &g->members[i].m;
	return NULL;
}

unsigned group_member_count(const struct group *g)
{
	return g->nmembers;
}

const struct group_member *group_member_at(const struct group *g, unsigned i)
{
	return i < g->nmembers ? &g->members[i].m : NULL;
}

uint32_t group_member_ipv4(const struct group_member *m)
{
	return m->ipv4;
}

/* The common part of group_member_add and group_member_add_key (KEY, if not
 * NULL, is the redeemed key). */
static int group_member_insert(struct group *g, const uint8_t id[GROUP_ID_LEN],
			       const struct group_key *key, const char *wish, bool coordinator,
			       uint64_t now_ms, const struct group_member **out)
{
	char want[GROUP_HOSTNAME_MAX + 1], name[GROUP_HOSTNAME_MAX + 1];
	const struct group_approved *a;
	struct member_slot *slots, *s;
	unsigned pos, idx;
	uint32_t ipv4 = 0;
	bool found;
	int err;

	pos = group_member_pos(g, id, &found);
	if (found)
		return -EEXIST;
	if (g->nmembers >= GROUP_MAX_MEMBERS)
		return -ENOSPC;
	if (key && key->hostname[0])
		wish = key->hostname;
	a = group_approved_by_id(g, id);
	if (wish && wish[0]) {
		err = group_hostname_normalize(wish, want);
		if (err)
			return err;
	} else if (a && a->hostname[0]) {
		memcpy(want, a->hostname, sizeof(want));
	} else {
		group_default_hostname(id, want);
	}
	for (idx = 0; idx <= UINT8_MAX; idx++) {
		ipv4 = address_ipv4_derive(id, idx);
		if (!group_member_by_ipv4(g, ipv4))
			break;
	}
	if (idx > UINT8_MAX)
		return -EADDRNOTAVAIL;
	group_resolve_hostname(g, want, id, key ? key->id : 0, name);

	slots = group_grow(g->members, g->nmembers, &g->cmembers, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	g->members = slots;
	memmove(&slots[pos + 1], &slots[pos], (g->nmembers - pos) * sizeof(*slots));
	g->nmembers++;
	s = &slots[pos];
	memset(s, 0, sizeof(*s));
	memcpy(s->m.id, id, GROUP_ID_LEN);
	s->m.collision_index = (uint8_t)idx;
	s->m.coordinator = coordinator;
	memcpy(s->m.hostname, name, sizeof(name));
	s->m.joined_ms = now_ms;
	s->m.ipv4 = ipv4;
	if (a)
		group_approved_remove(g, id);
	if (out)
		*out = &s->m;
	return 0;
}

int group_member_add(struct group *g, const uint8_t id[GROUP_ID_LEN], const char *hostname_wish,
		     bool coordinator, uint64_t now_ms, const struct group_member **out)
{
	return group_member_insert(g, id, NULL, hostname_wish, coordinator, now_ms, out);
}

int group_member_add_key(struct group *g, const uint8_t id[GROUP_ID_LEN], uint32_t key_id,
			 const char *hostname_wish, uint64_t now_ms,
			 const struct group_member **out)
{
	const struct group_key *k = group_key_by_id(g, key_id);

	if (!k)
		return -ENOENT;
	if (k->expires_ms && k->expires_ms <= now_ms)
		return -ESTALE;
	return group_member_insert(g, id, k, hostname_wish, false, now_ms, out);
}

int group_member_remove(struct group *g, const uint8_t id[GROUP_ID_LEN])
{
	bool found;
	unsigned i = group_member_pos(g, id, &found);

	if (!found)
		return -ENOENT;
	group_ext_free(&g->members[i].ext);
	memmove(&g->members[i], &g->members[i + 1], (g->nmembers - i - 1) * sizeof(*g->members));
	g->nmembers--;
	return 0;
}

int group_member_set_hostname(struct group *g, const uint8_t id[GROUP_ID_LEN], const char *wish,
			      char out_assigned[GROUP_HOSTNAME_MAX + 1])
{
	char want[GROUP_HOSTNAME_MAX + 1], name[GROUP_HOSTNAME_MAX + 1];
	struct group_member *m;
	bool found;
	unsigned i = group_member_pos(g, id, &found);
	int err;

	if (!found)
		return -ENOENT;
	m = &g->members[i].m;
	if (wish && wish[0]) {
		err = group_hostname_normalize(wish, want);
		if (err)
			return err;
	} else {
		group_default_hostname(id, want);
	}
	group_resolve_hostname(g, want, id, 0, name);
	memcpy(m->hostname, name, sizeof(name));
	if (out_assigned)
		memcpy(out_assigned, name, sizeof(name));
	return 0;
}

int group_member_set_coordinator(struct group *g, const uint8_t id[GROUP_ID_LEN], bool on)
{
	bool found;
	unsigned i = group_member_pos(g, id, &found);

	if (!found)
		return -ENOENT;
	g->members[i].m.coordinator = on;
	return 0;
}

/* ---- approved entries ---- */

int group_approved_add(struct group *g, const uint8_t id[GROUP_ID_LEN], const char *hostname,
		       uint64_t expires_ms)
{
	char name[GROUP_HOSTNAME_MAX + 1] = "";
	struct approved_slot *slots;
	unsigned pos;
	bool found;
	int err;

	if (expires_ms == 0)
		return -EINVAL;
	if (hostname && hostname[0]) {
		err = group_hostname_normalize(hostname, name);
		if (err)
			return err;
	}
	pos = group_approved_pos(g, id, &found);
	if (found || group_member_by_id(g, id))
		return -EEXIST;
	if (name[0] && group_name_taken(g, name, id, 0))
		return -EADDRINUSE;
	if (g->napproved >= GROUP_MAX_APPROVED)
		return -ENOSPC;
	slots = group_grow(g->approved, g->napproved, &g->capproved, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	g->approved = slots;
	memmove(&slots[pos + 1], &slots[pos], (g->napproved - pos) * sizeof(*slots));
	g->napproved++;
	memset(&slots[pos], 0, sizeof(slots[pos]));
	memcpy(slots[pos].a.id, id, GROUP_ID_LEN);
	memcpy(slots[pos].a.hostname, name, sizeof(name));
	slots[pos].a.expires_ms = expires_ms;
	return 0;
}

int group_approved_remove(struct group *g, const uint8_t id[GROUP_ID_LEN])
{
	bool found;
	unsigned i = group_approved_pos(g, id, &found);

	if (!found)
		return -ENOENT;
	group_ext_free(&g->approved[i].ext);
	memmove(&g->approved[i], &g->approved[i + 1],
		(g->napproved - i - 1) * sizeof(*g->approved));
	g->napproved--;
	return 0;
}

const struct group_approved *group_approved_by_id(const struct group *g,
						  const uint8_t id[GROUP_ID_LEN])
{
	bool found;
	unsigned i = group_approved_pos(g, id, &found);

	return found ? &g->approved[i].a : NULL;
}

unsigned group_approved_count(const struct group *g)
{
	return g->napproved;
}

const struct group_approved *group_approved_at(const struct group *g, unsigned i)
{
	return i < g->napproved ? &g->approved[i].a : NULL;
}

/* ---- reusable keys ---- */

int group_key_add(struct group *g, uint32_t id, const uint8_t secret_hash[GROUP_HASH_LEN],
		  const char *hostname, uint64_t expires_ms)
{
	char name[GROUP_HOSTNAME_MAX + 1] = "";
	struct key_slot *slots;
	unsigned pos, i;
	bool found;
	int err;

	if (id == 0)
		return -EINVAL;
	if (hostname && hostname[0]) {
		err = group_hostname_normalize(hostname, name);
		if (err)
			return err;
	}
	pos = group_key_pos(g, id, &found);
	if (found)
		return -EEXIST;
	for (i = 0; i < g->nkeys; i++)
		if (sodium_memcmp(g->keys[i].k.secret_hash, secret_hash, GROUP_HASH_LEN) == 0)
			return -EEXIST;
	if (name[0] && group_name_taken(g, name, NULL, 0))
		return -EADDRINUSE;
	if (g->nkeys >= GROUP_MAX_KEYS)
		return -ENOSPC;
	slots = group_grow(g->keys, g->nkeys, &g->ckeys, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	g->keys = slots;
	memmove(&slots[pos + 1], &slots[pos], (g->nkeys - pos) * sizeof(*slots));
	g->nkeys++;
	memset(&slots[pos], 0, sizeof(slots[pos]));
	slots[pos].k.id = id;
	memcpy(slots[pos].k.secret_hash, secret_hash, GROUP_HASH_LEN);
	memcpy(slots[pos].k.hostname, name, sizeof(name));
	slots[pos].k.expires_ms = expires_ms;
	return 0;
}

int group_key_remove(struct group *g, uint32_t id)
{
	bool found;
	unsigned i = group_key_pos(g, id, &found);

	if (!found)
		return -ENOENT;
	group_ext_free(&g->keys[i].ext);
	memmove(&g->keys[i], &g->keys[i + 1], (g->nkeys - i - 1) * sizeof(*g->keys));
	g->nkeys--;
	return 0;
}

const struct group_key *group_key_by_id(const struct group *g, uint32_t id)
{
	bool found;
	unsigned i = group_key_pos(g, id, &found);

	return found ? &g->keys[i].k : NULL;
}

const struct group_key *group_key_match(const struct group *g,
					const uint8_t secret_hash[GROUP_HASH_LEN], uint64_t now_ms)
{
	const struct group_key *match = NULL;
	unsigned i;

	for (i = 0; i < g->nkeys; i++) {
		const struct group_key *k = &g->keys[i].k;

		if (sodium_memcmp(k->secret_hash, secret_hash, GROUP_HASH_LEN) == 0 &&
		    (k->expires_ms == 0 || k->expires_ms > now_ms))
			match = k;
	}
	return match;
}

unsigned group_key_count(const struct group *g)
{
	return g->nkeys;
}

const struct group_key *group_key_at(const struct group *g, unsigned i)
{
	return i < g->nkeys ? &g->keys[i].k : NULL;
}

/* ---- rules ---- */

static bool group_subject_ok(const char *s, size_t len)
{
	return (len == 1 && s[0] == '*') || group_label_ok(s, len);
}

/* Exactly one canonical msgpack value. */
static bool group_rule_ok(const uint8_t *rule, size_t len)
{
	struct ctl_codec_reader r;

	ctl_codec_reader_init(&r, rule, len, CTL_CODEC_CANONICAL);
	return len > 0 && ctl_codec_skip(&r) == 0 && ctl_codec_reader_end(&r) == 0;
}

int group_rule_add(struct group *g, const char *subject, const uint8_t *rule, size_t len)
{
	char name[GROUP_HOSTNAME_MAX + 1];
	struct rule_slot *slots, *s;
	int err;

	if (strcmp(subject, "*") == 0) {
		memcpy(name, "*", 2);
	} else {
		err = group_hostname_normalize(subject, name);
		if (err)
			return err;
	}
	if (len > GROUP_RULE_MAX)
		return -EMSGSIZE;
	if (!group_rule_ok(rule, len))
		return -EINVAL;
	if (g->nrules >= GROUP_MAX_RULES)
		return -ENOSPC;
	slots = group_grow(g->rules, g->nrules, &g->crules, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	g->rules = slots;
	s = &slots[g->nrules++];
	memset(s, 0, sizeof(*s));
	memcpy(s->r.subject, name, sizeof(name));
	s->r.len = (uint16_t)len;
	memcpy(s->r.rule, rule, len);
	return 0;
}

int group_rule_remove(struct group *g, unsigned i)
{
	if (i >= g->nrules)
		return -ENOENT;
	group_ext_free(&g->rules[i].ext);
	memmove(&g->rules[i], &g->rules[i + 1], (g->nrules - i - 1) * sizeof(*g->rules));
	g->nrules--;
	return 0;
}

void group_rule_clear(struct group *g)
{
	unsigned i;

	for (i = 0; i < g->nrules; i++)
		group_ext_free(&g->rules[i].ext);
	g->nrules = 0;
}

unsigned group_rule_count(const struct group *g)
{
	return g->nrules;
}

const struct group_rule *group_rule_at(const struct group *g, unsigned i)
{
	return i < g->nrules ? &g->rules[i].r : NULL;
}

/* ---- encoding ---- */

void group_hash(const uint8_t *buf, size_t len, uint8_t out[GROUP_HASH_LEN])
{
	crypto_generichash(out, GROUP_HASH_LEN, buf, len, NULL, 0);
}

/* Writes the kept unknown entries of a map (its header counted them). */
static int group_put_ext(struct ctl_codec_writer *w, const struct group_ext *e)
{
	struct ctl_codec_reader r;
	uint64_t i;
	int err = 0;

	ctl_codec_reader_init(&r, e->bytes, e->len, CTL_CODEC_CANONICAL);
	for (i = 0; !err && i < 2 * (uint64_t)e->count; i++)
		err = ctl_codec_copy(&r, w);
	return err ? err : ctl_codec_writer_error(w);
}

static void group_put_str(struct ctl_codec_writer *w, const char *s)
{
	ctl_codec_put_str(w, s, strlen(s));
}

static int group_put_member(struct ctl_codec_writer *w, const struct member_slot *s)
{
	ctl_codec_put_map(w, MEMBER_FIELDS + s->ext.count);
	ctl_codec_put_uint(w, MEMBER_ID);
	ctl_codec_put_bin(w, s->m.id, GROUP_ID_LEN);
	ctl_codec_put_uint(w, MEMBER_INDEX);
	ctl_codec_put_uint(w, s->m.collision_index);
	ctl_codec_put_uint(w, MEMBER_HOST);
	group_put_str(w, s->m.hostname);
	ctl_codec_put_uint(w, MEMBER_COORD);
	ctl_codec_put_bool(w, s->m.coordinator);
	ctl_codec_put_uint(w, MEMBER_JOINED);
	ctl_codec_put_uint(w, s->m.joined_ms);
	return group_put_ext(w, &s->ext);
}

static int group_put_approved(struct ctl_codec_writer *w, const struct approved_slot *s)
{
	bool host = s->a.hostname[0] != '\0';

	ctl_codec_put_map(w, APPROVED_FIELDS - !host + s->ext.count);
	ctl_codec_put_uint(w, APPROVED_ID);
	ctl_codec_put_bin(w, s->a.id, GROUP_ID_LEN);
	if (host) {
		ctl_codec_put_uint(w, APPROVED_HOST);
		group_put_str(w, s->a.hostname);
	}
	ctl_codec_put_uint(w, APPROVED_EXP);
	ctl_codec_put_uint(w, s->a.expires_ms);
	return group_put_ext(w, &s->ext);
}

static int group_put_key(struct ctl_codec_writer *w, const struct key_slot *s)
{
	bool host = s->k.hostname[0] != '\0';

	ctl_codec_put_map(w, KEY_FIELDS - !host + s->ext.count);
	ctl_codec_put_uint(w, KEY_ID);
	ctl_codec_put_uint(w, s->k.id);
	ctl_codec_put_uint(w, KEY_HASH);
	ctl_codec_put_bin(w, s->k.secret_hash, GROUP_HASH_LEN);
	if (host) {
		ctl_codec_put_uint(w, KEY_HOST);
		group_put_str(w, s->k.hostname);
	}
	ctl_codec_put_uint(w, KEY_EXP);
	ctl_codec_put_uint(w, s->k.expires_ms);
	return group_put_ext(w, &s->ext);
}

static int group_put_rule(struct ctl_codec_writer *w, const struct rule_slot *s)
{
	ctl_codec_put_map(w, RULE_FIELDS + s->ext.count);
	ctl_codec_put_uint(w, RULE_SUBJECT);
	group_put_str(w, s->r.subject);
	ctl_codec_put_uint(w, RULE_RULE);
	ctl_codec_put_bin(w, s->r.rule, s->r.len);
	return group_put_ext(w, &s->ext);
}

int group_encode(const struct group *g, uint8_t **out, size_t *len)
{
	struct ctl_codec_writer w;
	unsigned i;
	int err = 0;

	*out = NULL;
	*len = 0;
	ctl_codec_writer_init_dynamic(&w, GROUP_MAX_BYTES);
	ctl_codec_put_map(&w, TOP_FIELDS + g->ext.count);
	ctl_codec_put_uint(&w, TOP_NAME);
	group_put_str(&w, g->name);
	ctl_codec_put_uint(&w, TOP_OPEN);
	ctl_codec_put_bool(&w, g->open);
	ctl_codec_put_uint(&w, TOP_VERSION);
	ctl_codec_put_uint(&w, g->version);
	ctl_codec_put_uint(&w, TOP_MEMBERS);
	ctl_codec_put_array(&w, g->nmembers);
	for (i = 0; !err && i < g->nmembers; i++)
		err = group_put_member(&w, &g->members[i]);
	ctl_codec_put_uint(&w, TOP_APPROVED);
	ctl_codec_put_array(&w, g->napproved);
	for (i = 0; !err && i < g->napproved; i++)
		err = group_put_approved(&w, &g->approved[i]);
	ctl_codec_put_uint(&w, TOP_KEYS);
	ctl_codec_put_array(&w, g->nkeys);
	for (i = 0; !err && i < g->nkeys; i++)
		err = group_put_key(&w, &g->keys[i]);
	ctl_codec_put_uint(&w, TOP_RULES);
	ctl_codec_put_array(&w, g->nrules);
	for (i = 0; !err && i < g->nrules; i++)
		err = group_put_rule(&w, &g->rules[i]);
	if (!err)
		err = group_put_ext(&w, &g->ext);
	if (err)
		goto out;
	*out = ctl_codec_writer_take(&w, len);
	if (!*out)
		err = -ENOMEM;
out:
	ctl_codec_writer_release(&w);
	return err;
}

/* ---- decoding ---- */

/* An unknown map key whose entry starts at KEY_POS (its key already read):
 * skips its value and counts it in E; *START keeps where the first began. */
static int group_ext_skip(struct ctl_codec_reader *r, size_t key_pos, struct group_ext *e,
			  size_t *start)
{
	int err = ctl_codec_skip(r);

	if (err)
		return err;
	if (e->count++ == 0)
		*start = key_pos;
	return 0;
}

/* After a map: keep the unknown entries that began at START. */
static int group_ext_finish(const struct ctl_codec_reader *r, size_t start, struct group_ext *e)
{
	if (!e->count)
		return 0;
	e->len = r->cr_pos - start;
	e->bytes = malloc(e->len);
	if (!e->bytes)
		return -ENOMEM;
	memcpy(e->bytes, r->cr_buf + start, e->len);
	return 0;
}

static int group_get_id(struct ctl_codec_reader *r, uint8_t out[GROUP_ID_LEN])
{
	const uint8_t *p;
	size_t len;
	int err = ctl_codec_get_bin(r, &p, &len);

	if (err)
		return err;
	if (len != GROUP_ID_LEN)
		return -EBADMSG;
	memcpy(out, p, len);
	return 0;
}

/* A str that is a valid hostname, or "*" too when STAR. */
static int group_get_label(struct ctl_codec_reader *r, bool star, char out[GROUP_HOSTNAME_MAX + 1])
{
	const char *s;
	size_t len;
	int err = ctl_codec_get_str(r, &s, &len);

	if (err)
		return err;
	if (star ? !group_subject_ok(s, len) : !group_label_ok(s, len))
		return -EBADMSG;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int group_get_uint_max(struct ctl_codec_reader *r, uint64_t max, uint64_t *v)
{
	int err = ctl_codec_get_uint(r, v);

	if (err)
		return err;
	return *v > max ? -EBADMSG : 0;
}

static int group_get_member(struct ctl_codec_reader *r, struct member_slot *s)
{
	struct ctl_codec_map m;
	size_t at, start = 0;
	uint64_t key = 0, v = 0;
	unsigned seen = 0;
	int err;

	err = ctl_codec_map_begin(r, &m);
	while (!err) {
		at = r->cr_pos;
		err = ctl_codec_map_next(r, &m, &key);
		if (err <= 0)
			break;
		switch (key) {
		case MEMBER_ID:
			err = group_get_id(r, s->m.id);
			break;
		case MEMBER_INDEX:
			err = group_get_uint_max(r, UINT8_MAX, &v);
			s->m.collision_index = (uint8_t)v;
			break;
		case MEMBER_HOST:
			err = group_get_label(r, false, s->m.hostname);
			break;
		case MEMBER_COORD:
			err = ctl_codec_get_bool(r, &s->m.coordinator);
			break;
		case MEMBER_JOINED:
			err = ctl_codec_get_uint(r, &s->m.joined_ms);
			break;
		default:
			err = group_ext_skip(r, at, &s->ext, &start);
			break;
		}
		if (key < MEMBER_FIELDS)
			seen |= 1u << key;
	}
	if (err)
		return err;
	if (seen != (1u << MEMBER_FIELDS) - 1)
		return -EBADMSG;
	s->m.ipv4 = address_ipv4_derive(s->m.id, s->m.collision_index);
	return group_ext_finish(r, start, &s->ext);
}

static int group_get_approved(struct ctl_codec_reader *r, struct approved_slot *s)
{
	struct ctl_codec_map m;
	size_t at, start = 0;
	uint64_t key = 0;
	unsigned seen = 0;
	int err;

	err = ctl_codec_map_begin(r, &m);
	while (!err) {
		at = r->cr_pos;
		err = ctl_codec_map_next(r, &m, &key);
		if (err <= 0)
			break;
		switch (key) {
		case APPROVED_ID:
			err = group_get_id(r, s->a.id);
			break;
		case APPROVED_HOST:
			err = group_get_label(r, false, s->a.hostname);
			break;
		case APPROVED_EXP:
			err = ctl_codec_get_uint(r, &s->a.expires_ms);
			if (!err && s->a.expires_ms == 0)
				err = -EBADMSG;
			break;
		default:
			err = group_ext_skip(r, at, &s->ext, &start);
			break;
		}
		if (key < APPROVED_FIELDS)
			seen |= 1u << key;
	}
	if (err)
		return err;
	if ((seen | 1u << APPROVED_HOST) != (1u << APPROVED_FIELDS) - 1)
		return -EBADMSG;
	return group_ext_finish(r, start, &s->ext);
}

static int group_get_key(struct ctl_codec_reader *r, struct key_slot *s)
{
	struct ctl_codec_map m;
	size_t at, start = 0;
	uint64_t key = 0, v = 0;
	unsigned seen = 0;
	int err;

	err = ctl_codec_map_begin(r, &m);
	while (!err) {
		at = r->cr_pos;
		err = ctl_codec_map_next(r, &m, &key);
		if (err <= 0)
			break;
		switch (key) {
		case KEY_ID:
			err = group_get_uint_max(r, UINT32_MAX, &v);
			if (!err && v == 0)
				err = -EBADMSG;
			s->k.id = (uint32_t)v;
			break;
		case KEY_HASH:
			err = group_get_id(r, s->k.secret_hash);
			break;
		case KEY_HOST:
			err = group_get_label(r, false, s->k.hostname);
			break;
		case KEY_EXP:
			err = ctl_codec_get_uint(r, &s->k.expires_ms);
			break;
		default:
			err = group_ext_skip(r, at, &s->ext, &start);
			break;
		}
		if (key < KEY_FIELDS)
			seen |= 1u << key;
	}
	if (err)
		return err;
	if ((seen | 1u << KEY_HOST) != (1u << KEY_FIELDS) - 1)
		return -EBADMSG;
	return group_ext_finish(r, start, &s->ext);
}

static int group_get_rule(struct ctl_codec_reader *r, struct rule_slot *s)
{
	struct ctl_codec_map m;
	size_t at, start = 0, len;
	const uint8_t *p;
	uint64_t key = 0;
	unsigned seen = 0;
	int err;

	err = ctl_codec_map_begin(r, &m);
	while (!err) {
		at = r->cr_pos;
		err = ctl_codec_map_next(r, &m, &key);
		if (err <= 0)
			break;
		switch (key) {
		case RULE_SUBJECT:
			err = group_get_label(r, true, s->r.subject);
			break;
		case RULE_RULE:
			err = ctl_codec_get_bin(r, &p, &len);
			if (!err && (len > GROUP_RULE_MAX || !group_rule_ok(p, len)))
				err = -EBADMSG;
			if (!err) {
				memcpy(s->r.rule, p, len);
				s->r.len = (uint16_t)len;
			}
			break;
		default:
			err = group_ext_skip(r, at, &s->ext, &start);
			break;
		}
		if (key < RULE_FIELDS)
			seen |= 1u << key;
	}
	if (err)
		return err;
	if (seen != (1u << RULE_FIELDS) - 1)
		return -EBADMSG;
	return group_ext_finish(r, start, &s->ext);
}

/* An array header of at most MAX elements, and zeroed room for them in
 * *SLOTS (SIZE bytes each; *CAP set). */
static int group_get_list(struct ctl_codec_reader *r, unsigned max, void **slots, unsigned *cap,
			  size_t size, uint32_t *n)
{
	int err = ctl_codec_get_array(r, n);

	if (err)
		return err;
	if (*n > max)
		return -EBADMSG;
	if (*n == 0)
		return 0;
	*slots = calloc(*n, size);
	if (!*slots)
		return -ENOMEM;
	*cap = *n;
	return 0;
}

static int group_get_members(struct ctl_codec_reader *r, struct group *g)
{
	void *slots = NULL;
	uint32_t n, i;
	int err =
		group_get_list(r, GROUP_MAX_MEMBERS, &slots, &g->cmembers, sizeof(*g->members), &n);

	g->members = slots;
	for (i = 0; !err && i < n; i++) {
		g->nmembers = i + 1; /* freed with the group, even half decoded */
		err = group_get_member(r, &g->members[i]);
		if (!err && i &&
		    memcmp(g->members[i - 1].m.id, g->members[i].m.id, GROUP_ID_LEN) >= 0)
			err = -EBADMSG;
	}
	return err;
}

static int group_get_approveds(struct ctl_codec_reader *r, struct group *g)
{
	void *slots = NULL;
	uint32_t n, i;
	int err = group_get_list(r, GROUP_MAX_APPROVED, &slots, &g->capproved, sizeof(*g->approved),
				 &n);

	g->approved = slots;
	for (i = 0; !err && i < n; i++) {
		g->napproved = i + 1;
		err = group_get_approved(r, &g->approved[i]);
		if (!err && i &&
		    memcmp(g->approved[i - 1].a.id, g->approved[i].a.id, GROUP_ID_LEN) >= 0)
			err = -EBADMSG;
	}
	return err;
}

static int group_get_keys(struct ctl_codec_reader *r, struct group *g)
{
	void *slots = NULL;
	uint32_t n, i;
	int err = group_get_list(r, GROUP_MAX_KEYS, &slots, &g->ckeys, sizeof(*g->keys), &n);

	g->keys = slots;
	for (i = 0; !err && i < n; i++) {
		g->nkeys = i + 1;
		err = group_get_key(r, &g->keys[i]);
		if (!err && i && g->keys[i - 1].k.id >= g->keys[i].k.id)
			err = -EBADMSG;
	}
	return err;
}

static int group_get_rules(struct ctl_codec_reader *r, struct group *g)
{
	void *slots = NULL;
	uint32_t n, i;
	int err = group_get_list(r, GROUP_MAX_RULES, &slots, &g->crules, sizeof(*g->rules), &n);

	g->rules = slots;
	for (i = 0; !err && i < n; i++) {
		g->nrules = i + 1;
		err = group_get_rule(r, &g->rules[i]);
	}
	return err;
}

static int group_cmp_hostname(const void *a, const void *b)
{
	const struct group_member *const *x = a, *const *y = b;

	return strcmp((*x)->hostname, (*y)->hostname);
}

static int group_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Members' hostnames and IPv4s distinct. */
static int group_check_members(const struct group *g)
{
	const struct group_member **byname = NULL;
	uint32_t *ips = NULL;
	unsigned i, n = g->nmembers;
	int err = 0;

	if (n < 2)
		return 0;
	byname = calloc(n, sizeof(*byname));
	ips = calloc(n, sizeof(*ips));
	if (!byname || !ips) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		byname[i] = &g->members[i].m;
		ips[i] = g->members[i].m.ipv4;
	}
	qsort(byname, n, sizeof(*byname), group_cmp_hostname);
	qsort(ips, n, sizeof(*ips), group_cmp_u32);
	for (i = 1; i < n && !err; i++)
		if (strcmp(byname[i - 1]->hostname, byname[i]->hostname) == 0 ||
		    ips[i - 1] == ips[i])
			err = -EBADMSG;
out:
	free(byname);
	free(ips);
	return err;
}

int group_decode(const uint8_t *buf, size_t len, struct group **out)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	struct group *g = NULL;
	size_t at, start = 0;
	uint64_t key = 0;
	unsigned seen = 0;
	int err;

	*out = NULL;
	if (len > GROUP_MAX_BYTES)
		return -EMSGSIZE;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	ctl_codec_reader_init(&r, buf, len, CTL_CODEC_CANONICAL);
	err = ctl_codec_map_begin(&r, &m);
	while (!err) {
		at = r.cr_pos;
		err = ctl_codec_map_next(&r, &m, &key);
		if (err <= 0)
			break;
		switch (key) {
		case TOP_NAME:
			err = group_get_label(&r, false, g->name);
			break;
		case TOP_OPEN:
			err = ctl_codec_get_bool(&r, &g->open);
			break;
		case TOP_VERSION:
			err = ctl_codec_get_uint(&r, &g->version);
			break;
		case TOP_MEMBERS:
			err = group_get_members(&r, g);
			break;
		case TOP_APPROVED:
			err = group_get_approveds(&r, g);
			break;
		case TOP_KEYS:
			err = group_get_keys(&r, g);
			break;
		case TOP_RULES:
			err = group_get_rules(&r, g);
			break;
		default:
			err = group_ext_skip(&r, at, &g->ext, &start);
			break;
		}
		if (key < TOP_FIELDS)
			seen |= 1u << key;
	}
	if (err)
		goto out;
	err = seen == (1u << TOP_FIELDS) - 1 ? 0 : -EBADMSG;
	if (!err)
		err = group_ext_finish(&r, start, &g->ext);
	if (!err)
		err = ctl_codec_reader_end(&r);
	if (!err)
		err = group_check_members(g);
out:
	if (err) {
		group_free(g);
		return err == -ENOMEM ? -ENOMEM : -EBADMSG;
	}
	*out = g;
	return 0;
}
