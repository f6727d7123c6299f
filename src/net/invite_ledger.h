/* The coordinator's ledger of the invites it minted (DESIGN.md §7): for each,
 * its id, the BLAKE2b-256 hash of its secret (never the secret), creation and
 * expiry times, bound hostname, reusable flag, state and who used it.
 *
 * Pure and single-threaded: one owner (the daemon's event loop), time is an
 * argument (unix seconds). A redeem checks and burns in one call, so of two
 * joiners presenting the same single-use invite exactly one gets in; the
 * caller persists the ledger (invite_ledger_to_json) before admitting.
 *
 * Persistence, JSON (strict: every field required, no unknown ones, right
 * types and ranges, unique ids, at most INVITE_LEDGER_MAX entries):
 *
 *   {"version": 1, "invites": [
 *     {"id": 305419896, "secret_hash": "<64 hex>", "created": 1700000000,
 *      "expires": 1700086400, "reusable": false, "state": "used",
 *      "hostname": "laptop" | null, "used_by": "<node id>" | null,
 *      "closed": 1700000100, "uses": 1}]}
 *
 * "state" is "open", "used" or "revoked" ("expired" is open with expires
 * passed); "closed" is when it was used or revoked (0 while open); "used_by"
 * is the joiner of a used single-use invite, or the last joiner of a reusable
 * one; "uses" counts redemptions. */
#ifndef RAY_NET_INVITE_LEDGER_H
#define RAY_NET_INVITE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/invite.h"

#define INVITE_LEDGER_MAX      4096
#define INVITE_LEDGER_KEEP     (30 * 24 * 3600) /* prune: keep finished entries this long */
#define INVITE_LEDGER_JSON_MAX (4u << 20)	/* longest JSON text accepted */

enum invite_ledger_state {
	INVITE_LEDGER_OPEN = 0,
	INVITE_LEDGER_USED,
	INVITE_LEDGER_REVOKED,
};

struct invite_ledger_entry {
	uint32_t id; /* never 0 */
	uint8_t secret_hash[INVITE_HASH_LEN];
	uint64_t created;
	uint64_t expires; /* 0 = never (reusable only) */
	uint64_t closed;  /* when used or revoked, 0 while open */
	bool reusable;
	enum invite_ledger_state state;		/* a reusable invite is never USED */
	char hostname[INVITE_HOSTNAME_MAX + 1]; /* bound hostname, "" for none */
	bool has_used_by;
	uint8_t used_by[INVITE_KEY_LEN];
	uint32_t uses;
};

struct invite_ledger;

/* An empty ledger, or NULL when out of memory. Free with invite_ledger_free. */
struct invite_ledger *invite_ledger_new(void);
/* Wipes and frees L; NULL is a no-op. */
void invite_ledger_free(struct invite_ledger *l);

/* Mints an invite: a fresh nonzero id (not in the ledger), a random secret
 * (only its hash is kept), expiry NOW + TTL (TTL 0 = never, reusable only),
 * the bound HOSTNAME (NULL or "" for none) and the REUSABLE flag. Fills OUT
 * with those and zeroes the rest: the caller adds the network key and the
 * bootstrap hints, and wipes OUT after use. Returns 0, -EINVAL (bad hostname,
 * TTL 0 for a single-use invite, time overflow), -ENOSPC (INVITE_LEDGER_MAX
 * entries: prune first) or -ENOMEM. */
int invite_ledger_mint(struct invite_ledger *l, uint64_t now, uint64_t ttl, const char *hostname,
		       bool reusable, struct invite_code *out);

/* The entries, oldest first, *N of them; valid until the next change. */
const struct invite_ledger_entry *invite_ledger_list(const struct invite_ledger *l, size_t *n);
/* The entry with ID, or NULL; valid until the next change. */
const struct invite_ledger_entry *invite_ledger_find(const struct invite_ledger *l, uint32_t id);

/* Redeems invite ID with the presented SECRET for JOINER at NOW. The secret
 * is checked first (in constant time), so a caller without it learns nothing
 * about the invite's state. On success a single-use invite is burned (USED,
 * used_by JOINER); a reusable one counts a use. OUT, if not NULL, receives a
 * copy of the entry (its hostname binding). Returns 0 or:
 *   -ENOENT unknown id, -EPERM wrong secret, -ECANCELED revoked,
 *   -EALREADY already used, -ESTALE expired. */
int invite_ledger_redeem(struct invite_ledger *l, uint32_t id,
			 const uint8_t secret[INVITE_SECRET_LEN], uint64_t now,
			 const uint8_t joiner[INVITE_KEY_LEN], struct invite_ledger_entry *out);

/* Undoes the redeem of invite ID by JOINER whose admission then failed (e.g.
 * its bound hostname was taken): a single-use invite is open again, a
 * reusable one counts one use less. Returns 0 or -ENOENT unknown id,
 * -ECANCELED revoked meanwhile, -EINVAL not used, -EPERM used by another. */
int invite_ledger_restore(struct invite_ledger *l, uint32_t id,
			  const uint8_t joiner[INVITE_KEY_LEN]);

/* Revokes invite ID at NOW. Returns 0 or -ENOENT unknown id, -EALREADY used,
 * -ECANCELED already revoked. */
int invite_ledger_revoke(struct invite_ledger *l, uint32_t id, uint64_t now);

/* Invites another coordinator minted (its INVITE_SHARE): a single-use
 * invite ID with the SECRET_HASH of its secret, EXPIRES (not 0) and bound
 * HOSTNAME (NULL or "" for none), open, created NOW. Ids are random 32-bit
 * numbers picked by each minter, so two coordinators rarely pick the same;
 * when they do, the entry here is kept. Returns 0 added, 1 known already
 * (same id and hash: its state is left as it is), -EEXIST the id belongs to
 * another invite here (or a reusable one), -EINVAL (id 0, expiry 0, bad
 * hostname), -ENOSPC or -ENOMEM. */
int invite_ledger_add_shared(struct invite_ledger *l, uint32_t id,
			     const uint8_t secret_hash[INVITE_HASH_LEN], uint64_t expires,
			     const char *hostname, uint64_t now);

/* Another coordinator burned single-use invite ID for JOINER at NOW (its
 * INVITE_USED): burn it here too. Returns 0 (also when JOINER used it here
 * already), or -ENOENT unknown id, -EINVAL reusable, -ECANCELED revoked,
 * -EALREADY used by another joiner. */
int invite_ledger_mark_used(struct invite_ledger *l, uint32_t id,
			    const uint8_t joiner[INVITE_KEY_LEN], uint64_t now);

/* Removes finished entries (used, revoked or expired) whose expiry and closing
 * time are both at least KEEP seconds before NOW, so a replayed code keeps
 * getting its precise refusal for that long. Returns how many were removed. */
size_t invite_ledger_prune(struct invite_ledger *l, uint64_t now, uint64_t keep);

/* The JSON text (NUL-terminated) in *OUT, which the caller frees with free().
 * Returns 0, -ERANGE (a time beyond INT64_MAX) or -ENOMEM. */
int invite_ledger_to_json(const struct invite_ledger *l, char **out);

/* A new ledger from the LEN bytes of TEXT in *OUT. Returns 0, -EINVAL
 * (malformed, wrong types, missing or unknown fields, duplicate ids, more than
 * INVITE_LEDGER_MAX entries), -EMSGSIZE (over INVITE_LEDGER_JSON_MAX bytes)
 * or -ENOMEM. */
int invite_ledger_from_json(const char *text, size_t len, struct invite_ledger **out);

#endif
