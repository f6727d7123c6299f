/* Invite codes (DESIGN.md §7): self-contained text that lets a joiner into a
 * closed network with nothing else: the network key, the invite's id and
 * secret, and bootstrap hints (coordinator node ids, relay URLs).
 *
 * Text form: "ray1-" then z-base-32 (lowercase; crypto/zbase32.h) of
 * PAYLOAD || CHECK, where CHECK is the first 4 bytes of BLAKE2b-128(PAYLOAD),
 * so a mistyped character is caught. Upper case and surrounding whitespace
 * are accepted on input; anything else is refused. Every invite has exactly
 * one (lowercase) text: the parser refuses non-zero z-base-32 padding bits,
 * non-shortest varints, reserved flag bits and trailing bytes.
 *
 * PAYLOAD, a length-checked binary layout (integers big-endian):
 *
 *   u8      version (INVITE_VERSION)
 *   u8      flags: bit 0 reusable, bit 1 hostname present,
 *           bits 2-4 coordinator count (0..4), bits 5-6 relay count (0..2),
 *           bit 7 reserved (0)
 *   32      network public key (the room id)
 *   u32     invite id
 *   16      secret
 *   varint  expiry, unix seconds, 0 = never (LEB128, shortest form)
 *   [u8 len (1..63), len bytes]   bound hostname, when flagged
 *   32 * n  coordinator node ids
 *   n * [u8 len, len bytes]       relay URLs without their "http://" prefix
 *
 * A code with one coordinator and one relay ("http://203.0.113.7:3478") is
 * 112 bytes, 185 characters of text.
 *
 * Errors (negative errno). The parser checks, in order: the prefix (-EINVAL,
 * or -EPROTONOSUPPORT for another format such as "ray2-..."), the length
 * (-EMSGSIZE past INVITE_CODE_TEXT_MAX), the z-base-32 (-EINVAL), the
 * checksum (-EBADMSG: mistyped?), the payload version (-EPROTONOSUPPORT),
 * then the layout (-EINVAL).
 * The encoder returns -EINVAL for a bad field, -EMSGSIZE for an overlong one
 * (hostname, relay URL), -ENOBUFS when OUT is too small.
 *
 * The struct holds the secret: wipe it (sodium_memzero) after use. */
#ifndef RAY_NET_INVITE_H
#define RAY_NET_INVITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INVITE_VERSION		1
#define INVITE_KEY_LEN		32
#define INVITE_SECRET_LEN	16
#define INVITE_HASH_LEN		32
#define INVITE_HOSTNAME_MAX	63
#define INVITE_COORDINATORS_MAX 4
#define INVITE_RELAYS_MAX	2
#define INVITE_URL_MAX		255 /* the whole URL, "http://" included */
#define INVITE_CHECK_LEN	4
#define INVITE_TEXT_PREFIX	"ray1-"

/* The longest payload and text (without the NUL). */
#define INVITE_PAYLOAD_MAX                                                                         \
	(2 + INVITE_KEY_LEN + 4 + INVITE_SECRET_LEN + 10 + 1 + INVITE_HOSTNAME_MAX +               \
	 INVITE_COORDINATORS_MAX * INVITE_KEY_LEN + INVITE_RELAYS_MAX * (1 + INVITE_URL_MAX - 7))
#define INVITE_CODE_TEXT_MAX                                                                       \
	(sizeof(INVITE_TEXT_PREFIX) - 1 + (((INVITE_PAYLOAD_MAX + INVITE_CHECK_LEN) * 8 + 4) / 5))

/* A room id is the network key as a node id: 52 characters of z-base-32. */
#define INVITE_ROOM_ID_LEN 52

struct invite_code {
	uint8_t network_key[INVITE_KEY_LEN];
	uint32_t id;
	uint8_t secret[INVITE_SECRET_LEN];
	uint64_t expires; /* unix seconds, 0 = never */
	bool reusable;
	char hostname[INVITE_HOSTNAME_MAX + 1]; /* bound hostname, "" for none */
	unsigned ncoordinators;
	uint8_t coordinators[INVITE_COORDINATORS_MAX][INVITE_KEY_LEN];
	unsigned nrelays;
	/* "http://HOST:PORT" as relay_client_parse_url takes it, "http://" in lowercase */
	char relays[INVITE_RELAYS_MAX][INVITE_URL_MAX + 1];
};

enum invite_text_kind {
	INVITE_TEXT_OTHER = 0,
	INVITE_TEXT_CODE,    /* starts with "ray<digits>-": parse with invite_code_parse */
	INVITE_TEXT_ROOM_ID, /* 52 characters: parse with invite_room_id_parse */
};

/* Writes the text form and a NUL to OUT (CAP bytes; INVITE_CODE_TEXT_MAX + 1
 * always suffice). Returns its length, or a negative errno (see above). */
int invite_code_encode(const struct invite_code *c, char *out, size_t cap);

/* Parses TEXT into C. Returns 0, or a negative errno (see above) with C
 * zeroed. */
int invite_code_parse(const char *text, struct invite_code *c);

/* OUT = BLAKE2b-256(SECRET): what a coordinator keeps instead of the secret. */
void invite_secret_hash(const uint8_t secret[INVITE_SECRET_LEN], uint8_t out[INVITE_HASH_LEN]);

/* Whether TEXT looks like an invite code or a room id (surrounding whitespace
 * ignored); nothing is validated beyond that. A room id never contains '-'. */
enum invite_text_kind invite_text_kind(const char *text);

void invite_room_id_format(const uint8_t key[INVITE_KEY_LEN], char out[INVITE_ROOM_ID_LEN + 1]);
/* Surrounding whitespace and upper case are accepted. Returns 0 or -EINVAL. */
int invite_room_id_parse(const char *text, uint8_t key[INVITE_KEY_LEN]);

#endif
