/* The WireGuard wire: every message layout and protocol constant, per the
 * WireGuard whitepaper (Donenfeld), sections 5.4 and 6.
 *
 * Messages are byte arrays. Multi-byte integers on the wire are little-endian
 * and are read and written with the helpers below, never by casting a packet
 * buffer to a struct. The wg_msg_* structs hold decoded fields in host order
 * and the opaque byte fields verbatim. */
#ifndef RAY_WG_MESSAGES_H
#define RAY_WG_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

/* Noise and WireGuard names mixed into the handshake hash. */
#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER	"WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1	"mac1----"
#define WG_LABEL_COOKIE "cookie--"

/* Sizes of the primitives. */
#define WG_KEY_LEN	     32 /* X25519 keys, symmetric keys, preshared key */
#define WG_HASH_LEN	     32 /* BLAKE2s-256 */
#define WG_MAC_LEN	     16 /* keyed BLAKE2s-128 */
#define WG_COOKIE_LEN	     16
#define WG_AEAD_TAG_LEN	     16
#define WG_XAEAD_NONCE_LEN   24 /* XChaCha20-Poly1305, cookie replies */
#define WG_TAI64N_LEN	     12
#define WG_COOKIE_SECRET_LEN 32
#define WG_BLAKE2S_BLOCK_LEN 64 /* HMAC block size */

/* Message types (first byte; the next three bytes are reserved, zero). */
#define WG_MSG_INITIATION   1
#define WG_MSG_RESPONSE	    2
#define WG_MSG_COOKIE_REPLY 3
#define WG_MSG_DATA	    4

/* Handshake initiation, 148 bytes. */
#define WG_INIT_OFF_SENDER    4
#define WG_INIT_OFF_EPHEMERAL 8
#define WG_INIT_OFF_STATIC    40 /* AEAD(Spub_i), 32 + 16 */
#define WG_INIT_OFF_TIMESTAMP 88 /* AEAD(TAI64N), 12 + 16 */
#define WG_INIT_OFF_MAC1      116
#define WG_INIT_OFF_MAC2      132
#define WG_MSG_INITIATION_LEN 148

/* Handshake response, 92 bytes. */
#define WG_RESP_OFF_SENDER    4
#define WG_RESP_OFF_RECEIVER  8
#define WG_RESP_OFF_EPHEMERAL 12
#define WG_RESP_OFF_EMPTY     44 /* AEAD(empty), 0 + 16 */
#define WG_RESP_OFF_MAC1      60
#define WG_RESP_OFF_MAC2      76
#define WG_MSG_RESPONSE_LEN   92

/* Cookie reply, 64 bytes. */
#define WG_COOKIE_OFF_RECEIVER	4
#define WG_COOKIE_OFF_NONCE	8
#define WG_COOKIE_OFF_COOKIE	32 /* XAEAD(cookie), 16 + 16 */
#define WG_MSG_COOKIE_REPLY_LEN 64

/* Transport data: 16-byte header, then ciphertext of the padded plaintext
 * and its tag. An empty plaintext is a keepalive. */
#define WG_DATA_OFF_RECEIVER 4
#define WG_DATA_OFF_COUNTER  8
#define WG_DATA_HEADER_LEN   16
#define WG_DATA_MIN_LEN	     (WG_DATA_HEADER_LEN + WG_AEAD_TAG_LEN)
#define WG_DATA_PADDING	     16 /* plaintext is padded to a multiple of this */

/* Every mac-protected message ends in mac1 || mac2. */
#define WG_MACS_LEN (2 * WG_MAC_LEN)

/* Protocol limits, whitepaper section 6 ("Timers & Stateless UX"). */
#define WG_REKEY_AFTER_MESSAGES	 (1ULL << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13)) /* 2^64 - 2^13 - 1 */
#define WG_NSEC_PER_SEC		 1000000000ULL
#define WG_REKEY_AFTER_TIME	 (120 * WG_NSEC_PER_SEC)
#define WG_REJECT_AFTER_TIME	 (180 * WG_NSEC_PER_SEC)
#define WG_REKEY_ATTEMPT_TIME	 (90 * WG_NSEC_PER_SEC)
#define WG_REKEY_TIMEOUT	 (5 * WG_NSEC_PER_SEC)
#define WG_KEEPALIVE_TIMEOUT	 (10 * WG_NSEC_PER_SEC)
#define WG_REKEY_TIMEOUT_JITTER	 (334 * 1000000ULL)	 /* jitter is in [0, 333] ms */
#define WG_COOKIE_REFRESH_TIME	 (120 * WG_NSEC_PER_SEC) /* responder secret and cookie lifetime */
#define WG_INITIATIONS_PER_SEC	 50 /* accepted initiations per peer per second */

/* Decoded handshake initiation; mac1 and mac2 stay in the byte buffer. */
struct wg_msg_initiation {
	uint32_t sender;
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t encrypted_static[WG_KEY_LEN + WG_AEAD_TAG_LEN];
	uint8_t encrypted_timestamp[WG_TAI64N_LEN + WG_AEAD_TAG_LEN];
};

/* Decoded handshake response. */
struct wg_msg_response {
	uint32_t sender;
	uint32_t receiver;
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t encrypted_nothing[WG_AEAD_TAG_LEN];
};

static inline uint32_t wg_le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void wg_le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t wg_le64_get(const uint8_t *p)
{
	return (uint64_t)wg_le32_get(p) | (uint64_t)wg_le32_get(p + 4) << 32;
}

static inline void wg_le64_put(uint8_t *p, uint64_t v)
{
	wg_le32_put(p, (uint32_t)v);
	wg_le32_put(p + 4, (uint32_t)(v >> 32));
}

/* The type of the message in BUF if its header is well formed (reserved bytes
 * zero) and LEN is right for that type: exact for handshake messages, at least
 * WG_DATA_MIN_LEN for data. Returns WG_MSG_* or -EINVAL. */
int wg_msg_type(const uint8_t *buf, size_t len);

/* Encoders write the whole message with zero mac1 and mac2; add the macs with
 * wg_cookie_maker_add_macs() afterwards. Decoders check the type and length
 * (via wg_msg_type) and return 0 or -EINVAL. */
void wg_msg_initiation_encode(const struct wg_msg_initiation *m,
			      uint8_t out[WG_MSG_INITIATION_LEN]);
int wg_msg_initiation_decode(const uint8_t *buf, size_t len, struct wg_msg_initiation *m);
void wg_msg_response_encode(const struct wg_msg_response *m, uint8_t out[WG_MSG_RESPONSE_LEN]);
int wg_msg_response_decode(const uint8_t *buf, size_t len, struct wg_msg_response *m);

/* The receiver index of a cookie reply or data message, the sender index of a
 * handshake message; the caller checks the type first. */
uint32_t wg_msg_receiver(const uint8_t *buf);
uint32_t wg_msg_sender(const uint8_t *buf);

#endif
