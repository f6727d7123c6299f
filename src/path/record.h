/* Signed discovery records (DESIGN.md §5): what a relay's store and the DHT
 * hold, keyed by the signer's public key.
 *
 * Pure code: no allocation, no I/O; the current time is an argument.
 *
 * Wire format: the canonical msgpack subset of control/codec.h, one map with
 * exactly these keys, in this order:
 *
 *	0 version    uint, RECORD_VERSION (1)
 *	1 kind       uint, enum record_kind
 *	2 signer     bin 32, ed25519 public key
 *	3 timestamp  uint, unix ms; the version of the record (newer replaces older)
 *	4 expires    uint, unix ms, > timestamp
 *	5 body       map, keys per kind (below)
 *	6 signature  bin 64, ed25519 over "rayfish-record-1" || the canonical
 *	             encoding of the map with keys 0..5 only (header 0x86)
 *
 * Bodies (every key below is required; unknown keys, which must be unsigned
 * integers in ascending order like any canonical map, are skipped on parse,
 * and since the signature covers the exact bytes they cannot be stripped):
 *
 *	node     0 relays     array (≤ 4) of str, 1..255 bytes of 0x21..0x7e
 *	         1 addresses  array (≤ 16) of bin: family 4 + 4 address bytes
 *	                      + 2-byte port (7 bytes), or family 6 + 16 + 2 (19);
 *	                      big-endian port, not 0; an IPv4 address is never
 *	                      sent as family 6 v4-mapped
 *	network  0 group      bin 32, hash of the group blob
 *	         1 seeds      array (≤ 16) of bin 32, node ids
 *	contact  0 node       bin 32, node id
 *
 * A whole record is at most RECORD_MAX_LEN bytes (fits a pkarr-sized store),
 * enforced when signing and when parsing. Unknown top-level keys, versions or
 * kinds are refused: changing those means a new version.
 *
 * Checks of record_parse_verify, cheapest first: size, canonical encoding
 * (shortest integer and length forms, ascending keys, no float/ext, nothing
 * after the map), version, kind, body caps and shapes, timestamp at most
 * RECORD_MAX_FUTURE_MS ahead of now, expires > now, then the signature.
 */
#ifndef RAY_PATH_RECORD_H
#define RAY_PATH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path/endpoint.h"

#define RECORD_VERSION	     1
#define RECORD_MAX_LEN	     1000
#define RECORD_KEY_LEN	     32
#define RECORD_SIG_LEN	     64
#define RECORD_HASH_LEN	     32
#define RECORD_MAX_RELAYS    4
#define RECORD_RELAY_URL_MAX 255
#define RECORD_MAX_ADDRS     16
#define RECORD_MAX_SEEDS     16
/* Clock skew we tolerate for a record dated in the future. */
#define RECORD_MAX_FUTURE_MS (5 * 60 * 1000)
/* Domain separation: a record signature can never be a valid signature of
 * anything else the same key signs. */
#define RECORD_SIGN_CONTEXT "rayfish-record-1"

enum record_kind {
	RECORD_NODE = 1,
	RECORD_NETWORK = 2,
	RECORD_CONTACT = 3,
};

/* Node id → where to reach it. */
struct record_node {
	unsigned relay_count;
	/* NUL-terminated URLs, 1..RECORD_RELAY_URL_MAX bytes each */
	char relays[RECORD_MAX_RELAYS][RECORD_RELAY_URL_MAX + 1];
	unsigned addr_count;
	/* sin6_family AF_INET6, IPv4 v4-mapped, port set; flowinfo and
	 * scope id are not carried (zero after parse) */
	struct endpoint addrs[RECORD_MAX_ADDRS];
};

/* Network public key → group blob and where to start. */
struct record_network {
	uint8_t group_hash[RECORD_HASH_LEN];
	unsigned seed_count;
	uint8_t seeds[RECORD_MAX_SEEDS][RECORD_KEY_LEN];
};

/* Contact key → node id. */
struct record_contact {
	uint8_t node_id[RECORD_KEY_LEN];
};

/* One record in memory, fixed size (about 1.6 KiB), no pointers: it may be
 * copied and stored as is. Only the member of BODY named by KIND is used. */
struct record {
	enum record_kind kind;
	uint8_t signer[RECORD_KEY_LEN];
	uint64_t timestamp_ms;
	uint64_t expires_ms;
	union {
		struct record_node node;
		struct record_network network;
		struct record_contact contact;
	} body;
	/* Filled by record_parse_verify; record_sign ignores it. */
	uint8_t signature[RECORD_SIG_LEN];
};

/* Encode and sign R with SECRET_KEY (libsodium's 64-byte ed25519 secret key,
 * whose public half must equal R->signer) into OUT (CAP bytes); *LEN = bytes
 * written. Returns 0, or
 *   -EINVAL    R breaks a rule above (kind, counts, URL bytes, address
 *              family/port, expires <= timestamp) or the key is not R's signer
 *   -EMSGSIZE  the record would exceed RECORD_MAX_LEN
 *   -ENOBUFS   CAP is too small
 * OUT is untouched on error. */
int record_sign(const struct record *r, const uint8_t secret_key[64], uint8_t *out, size_t cap,
		size_t *len);

/* Parse BUF (LEN bytes) and verify it at time NOW_MS (unix ms) into *OUT.
 * Returns 0, or
 *   -EMSGSIZE         LEN > RECORD_MAX_LEN
 *   -EBADMSG          malformed, non-canonical, missing or unknown top-level
 *                     keys, a body over its caps or of the wrong shape
 *   -EPROTONOSUPPORT  another version, or an unknown kind
 *   -ERANGE           timestamp more than RECORD_MAX_FUTURE_MS after NOW_MS
 *   -ESTALE           expired (expires <= NOW_MS)
 *   -EKEYREJECTED     the signature does not verify for the signer
 * *OUT is zeroed on error. */
int record_parse_verify(const uint8_t *buf, size_t len, uint64_t now_ms, struct record *out);

/* Whether A should replace B in a store: A's timestamp is strictly later.
 * Compares timestamps only; the caller compares records stored under the
 * same key (signer) and kind, both verified. An equal timestamp keeps the
 * stored one, so replaying a record changes nothing. */
bool record_is_newer(const struct record *a, const struct record *b);

#endif
