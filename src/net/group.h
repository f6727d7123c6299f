/* The network roster, or "group blob" (DESIGN.md §7): what a network's
 * coordinators sign (its hash goes into the network record,
 * path/record.h struct record_network.group_hash) and what every member
 * fetches, verifies by hash and applies.
 *
 * Pure code: no I/O, no global state; the current time is an argument (unix
 * ms). One owner, no locking.
 *
 * Wire format: the canonical msgpack subset of control/codec.h, one map with
 * these keys in this order, every one required except where "absent" is
 * allowed, nothing after the map:
 *
 *	0 name      str, 1..63 bytes, a DNS label (group_hostname_valid)
 *	1 open      bool: anyone with the room id may join
 *	2 version   uint, grows with every change (group_bump_version)
 *	3 members   array (<= GROUP_MAX_MEMBERS) of maps, node ids strictly
 *	            ascending (memcmp order):
 *	              0 id           bin 32, the member's ed25519 public key
 *	              1 collision    uint 0..255, the index its IPv4 derives with
 *	              2 hostname     str, a DNS label
 *	              3 coordinator  bool
 *	              4 joined       uint, unix ms
 *	            hostnames distinct, derived IPv4s distinct
 *	4 approved  array (<= GROUP_MAX_APPROVED) of maps, ids strictly ascending:
 *	              0 id           bin 32, a node approved but not yet joined
 *	              1 hostname     str, a DNS label (absent: none)
 *	              2 expires      uint, unix ms, not 0
 *	5 keys      array (<= GROUP_MAX_KEYS) of maps, ids strictly ascending:
 *	              0 id           uint 1..2^32-1 (the invite id)
 *	              1 hash         bin 32, BLAKE2b-256 of the key's secret
 *	                             (invite_secret_hash); never the secret
 *	              2 hostname     str, a DNS label the key binds (absent: none)
 *	              3 expires      uint, unix ms, 0 = never
 *	6 rules     array (<= GROUP_MAX_RULES) of maps, in the order given:
 *	              0 subject      str, a DNS label (a hostname) or "*"
 *	              1 rule         bin 1..GROUP_RULE_MAX, exactly one canonical
 *	                             msgpack value, opaque here (the firewall
 *	                             defines its inside)
 *
 * Forward compatibility: in every one of these maps a key above the last one
 * listed (necessarily trailing, keys being ascending) is unknown. Its value
 * must be canonical like the rest; it is kept as it came and re-encoded in
 * place, so a coordinator running an older version that edits the roster
 * does not drop a newer version's fields, and every accepted encoding
 * re-encodes to the same bytes. Known keys never change meaning.
 *
 * Decoding is strict: an encoding longer than GROUP_MAX_BYTES is refused
 * with -EMSGSIZE, anything else wrong (truncated, not canonical, keys missing
 * or out of order, wrong types, over a cap, invalid hostname, duplicate or
 * unsorted ids, duplicate member hostnames or IPv4s, trailing bytes) with
 * -EBADMSG. Within the caps, without unknown fields, an encoding always fits
 * GROUP_MAX_BYTES (about 234 KiB at most).
 *
 * Invariants the mutators keep (decoding checks only the per-list ones
 * above): a node is a member or approved, not both; a hostname belongs to at
 * most one of: a member, an approved entry, a reusable key binding (except
 * the members that joined by that key, see group_member_add_key).
 *
 * Addresses: a member's IPv4 is address_ipv4_derive(id, collision index)
 * (crypto/address.h). A joining member gets the smallest index whose address
 * no current member holds, so it is a function of the roster that every
 * coordinator computes alike; a member keeps its index (and address) for as
 * long as it stays in the roster, whoever joins or leaves. Its IPv6 needs no
 * index (address_ipv6_derive).
 *
 * Hostnames: lowercase DNS labels, 1..63 of [a-z0-9-], not starting or ending
 * with '-'. A wished name already held or reserved by someone else becomes
 * "name-1", "name-2", ... (the smallest free; the base is cut, and dashes at
 * its end dropped, to stay within 63). With no wish a member gets
 * "node-" and the first 8 characters of its z-base-32 node id.
 *
 * Ownership: a struct group is created by group_new or group_decode and freed
 * by group_free. Pointers to entries (group_member_at, ..._by_id, ...) point
 * into it and are valid until the next change of the group. Entry lists are
 * kept in wire order, so index i of an iteration is the i-th in the encoding.
 *
 * Errors are negative errno codes, listed per function. */
#ifndef RAY_NET_GROUP_H
#define RAY_NET_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GROUP_MAX_BYTES	   (256 * 1024) /* cap on an encoding */
#define GROUP_MAX_MEMBERS  1024
#define GROUP_MAX_APPROVED 256
#define GROUP_MAX_KEYS	   64
#define GROUP_MAX_RULES	   256
#define GROUP_RULE_MAX	   256 /* bytes of one rule */
#define GROUP_NAME_MAX	   63
#define GROUP_HOSTNAME_MAX 63
#define GROUP_ID_LEN	   32
#define GROUP_HASH_LEN	   32

struct group;

struct group_member {
	uint8_t id[GROUP_ID_LEN];
	uint8_t collision_index;
	bool coordinator;
	char hostname[GROUP_HOSTNAME_MAX + 1];
	uint64_t joined_ms;
	uint32_t ipv4; /* address_ipv4_derive(id, collision_index), host order */
};

/* Approved by a coordinator, not yet joined. */
struct group_approved {
	uint8_t id[GROUP_ID_LEN];
	char hostname[GROUP_HOSTNAME_MAX + 1]; /* "" for none */
	uint64_t expires_ms;
};

/* A reusable key (`ray invite --reusable`). */
struct group_key {
	uint32_t id; /* never 0 */
	uint8_t secret_hash[GROUP_HASH_LEN];
	char hostname[GROUP_HOSTNAME_MAX + 1]; /* bound hostname, "" for none */
	uint64_t expires_ms;		       /* 0 = never */
};

/* A suggested firewall rule. */
struct group_rule {
	char subject[GROUP_HOSTNAME_MAX + 1]; /* a hostname or "*" */
	uint16_t len;
	uint8_t rule[GROUP_RULE_MAX]; /* LEN bytes: one canonical msgpack value */
};

/* ---- hostnames ---- */

/* Whether S is a lowercase DNS label as above. */
bool group_hostname_valid(const char *s);
/* OUT = IN lowercased (ASCII). Returns 0, or -EINVAL when that is not a
 * valid hostname (OUT is then ""). */
int group_hostname_normalize(const char *in, char out[GROUP_HOSTNAME_MAX + 1]);

/* ---- the group ---- */

/* An empty roster named NAME (normalized like a hostname), version 0, in
 * *OUT; free it with group_free. Returns 0, -EINVAL (bad name) or -ENOMEM. */
int group_new(const char *name, bool open, struct group **out);
/* NULL is a no-op. */
void group_free(struct group *g);

/* The canonical encoding in *OUT (malloc'd, the caller frees it), *LEN bytes.
 * Returns 0, -EMSGSIZE (over GROUP_MAX_BYTES, only possible with unknown
 * fields kept from a decode) or -ENOMEM. */
int group_encode(const struct group *g, uint8_t **out, size_t *len);
/* A new group from the LEN bytes at BUF in *OUT (NULL on error). Returns 0,
 * -EMSGSIZE (LEN over GROUP_MAX_BYTES), -EBADMSG (see above) or -ENOMEM. */
int group_decode(const uint8_t *buf, size_t len, struct group **out);
/* OUT = BLAKE2b-256 of the encoding: what the network record carries. */
void group_hash(const uint8_t *buf, size_t len, uint8_t out[GROUP_HASH_LEN]);

const char *group_name(const struct group *g);
/* Returns 0 or -EINVAL (NAME normalized like a hostname). */
int group_set_name(struct group *g, const char *name);
bool group_is_open(const struct group *g);
void group_set_open(struct group *g, bool open);
uint64_t group_version(const struct group *g);
/* Version = max(version + 1, NOW_MS), so that of concurrent coordinators the
 * newest change wins. Nothing else changes the version: the coordinator
 * calls this once after every batch of changes it publishes. */
void group_bump_version(struct group *g, uint64_t now_ms);

/* Removes approved entries and reusable keys whose expiry (not 0) is at or
 * before NOW_MS. Returns whether anything was removed. */
bool group_expire(struct group *g, uint64_t now_ms);

/* ---- members ---- */

/* Adds node ID, joined at NOW_MS, with the hostname HOSTNAME_WISH
 * (normalized; NULL or "": the one its approved entry reserved, if any, else
 * the default), resolved
 * against collisions, and the smallest free collision index. An approved
 * entry for ID is consumed. *OUT (if OUT is not NULL) is the new member.
 * Returns 0, -EINVAL (invalid wish), -EEXIST (already a member), -ENOSPC
 * (GROUP_MAX_MEMBERS), -EADDRNOTAVAIL (all 256 addresses of ID taken) or
 * -ENOMEM. Nothing changes on error. */
int group_member_add(struct group *g, const uint8_t id[GROUP_ID_LEN], const char *hostname_wish,
		     bool coordinator, uint64_t now_ms, const struct group_member **out);
/* Like group_member_add (never a coordinator) for a node that redeemed the
 * reusable key KEY_ID: the key's bound hostname, if any, replaces the wish
 * and is not reserved against it (several nodes by one key get "name",
 * "name-1", ...). Also -ENOENT (no such key) or -ESTALE (expired at NOW_MS). */
int group_member_add_key(struct group *g, const uint8_t id[GROUP_ID_LEN], uint32_t key_id,
			 const char *hostname_wish, uint64_t now_ms,
			 const struct group_member **out);
/* Returns 0 or -ENOENT. */
int group_member_remove(struct group *g, const uint8_t id[GROUP_ID_LEN]);
/* Renames member ID to WISH (normalized; NULL or "": the default), resolved against collisions
 * (its own current name never collides); OUT_ASSIGNED (if not NULL) receives
 * the name given. Returns 0, -EINVAL (invalid wish) or -ENOENT. */
int group_member_set_hostname(struct group *g, const uint8_t id[GROUP_ID_LEN], const char *wish,
			      char out_assigned[GROUP_HOSTNAME_MAX + 1]);
/* Returns 0 or -ENOENT. */
int group_member_set_coordinator(struct group *g, const uint8_t id[GROUP_ID_LEN], bool on);

/* Lookups; NULL when absent. */
const struct group_member *group_member_by_id(const struct group *g,
					      const uint8_t id[GROUP_ID_LEN]);
const struct group_member *group_member_by_hostname(const struct group *g, const char *hostname);
/* IPV4 in host byte order. */
const struct group_member *group_member_by_ipv4(const struct group *g, uint32_t ipv4);
/* Members in node id order: 0 <= I < group_member_count; NULL past the end. */
unsigned group_member_count(const struct group *g);
const struct group_member *group_member_at(const struct group *g, unsigned i);
/* The member's IPv4 (host byte order). */
uint32_t group_member_ipv4(const struct group_member *m);

/* ---- approved entries ---- */

/* Approves node ID until EXPIRES_MS (not 0), reserving HOSTNAME (NULL or ""
 * for none; normalized, not collision-resolved: the coordinator chose it).
 * Returns 0, -EINVAL (bad hostname, EXPIRES_MS 0), -EEXIST (ID is a member or
 * already approved), -EADDRINUSE (hostname held or reserved by another),
 * -ENOSPC (GROUP_MAX_APPROVED) or -ENOMEM. */
int group_approved_add(struct group *g, const uint8_t id[GROUP_ID_LEN], const char *hostname,
		       uint64_t expires_ms);
/* Returns 0 or -ENOENT. */
int group_approved_remove(struct group *g, const uint8_t id[GROUP_ID_LEN]);
const struct group_approved *group_approved_by_id(const struct group *g,
						  const uint8_t id[GROUP_ID_LEN]);
/* In node id order. */
unsigned group_approved_count(const struct group *g);
const struct group_approved *group_approved_at(const struct group *g, unsigned i);

/* ---- reusable keys ---- */

/* Adds reusable key ID (not 0) with SECRET_HASH, binding HOSTNAME (NULL or ""
 * for none; normalized, not collision-resolved), until EXPIRES_MS (0 =
 * never). Returns 0, -EINVAL (ID 0, bad hostname), -EEXIST (ID or hash
 * already there), -EADDRINUSE (hostname held or reserved by another),
 * -ENOSPC (GROUP_MAX_KEYS) or -ENOMEM. */
int group_key_add(struct group *g, uint32_t id, const uint8_t secret_hash[GROUP_HASH_LEN],
		  const char *hostname, uint64_t expires_ms);
/* Returns 0 or -ENOENT. */
int group_key_remove(struct group *g, uint32_t id);
const struct group_key *group_key_by_id(const struct group *g, uint32_t id);
/* The key whose hash is SECRET_HASH and which has not expired at NOW_MS, or
 * NULL. Every key is compared, each in constant time. */
const struct group_key *group_key_match(const struct group *g,
					const uint8_t secret_hash[GROUP_HASH_LEN], uint64_t now_ms);
/* In id order. */
unsigned group_key_count(const struct group *g);
const struct group_key *group_key_at(const struct group *g, unsigned i);

/* ---- suggested firewall rules ---- */

/* Appends a rule: SUBJECT a hostname (normalized) or "*", RULE LEN bytes of
 * exactly one canonical msgpack value. Returns 0, -EINVAL (bad subject, rule
 * empty or not one canonical value), -EMSGSIZE (LEN over GROUP_RULE_MAX),
 * -ENOSPC (GROUP_MAX_RULES) or -ENOMEM. */
int group_rule_add(struct group *g, const char *subject, const uint8_t *rule, size_t len);
/* Removes the I-th rule, the later ones move up. Returns 0 or -ENOENT. */
int group_rule_remove(struct group *g, unsigned i);
void group_rule_clear(struct group *g);
/* In the order given. */
unsigned group_rule_count(const struct group *g);
const struct group_rule *group_rule_at(const struct group *g, unsigned i);

#endif
