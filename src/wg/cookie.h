/* Cookies: the DoS mitigation of whitepaper section 5.4.7.
 *
 * Every handshake message ends in mac1 || mac2. mac1 = MAC(HASH(LABEL_MAC1 ||
 * Spub_receiver), msg up to mac1) proves the sender knows our public key.
 * Under load a responder also wants mac2 = MAC(cookie, msg up to mac2), where
 * cookie = MAC(secret, source address) with a secret rotated every two
 * minutes; lacking it, the responder answers with a cookie reply instead of
 * doing Diffie-Hellman, and the initiator retries with mac2.
 *
 * The checker is the receiving side (one per interface), the maker the
 * sending side (one per peer). The source address is opaque bytes chosen by
 * the caller, e.g. the IP address then the UDP port in network byte order. */
#ifndef RAY_WG_COOKIE_H
#define RAY_WG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/messages.h"

#define WG_COOKIE_ADDR_MAX 32 /* longest source address accepted */

struct wg_cookie_checker {
	uint8_t cc_mac1_key[WG_HASH_LEN];   /* HASH(LABEL_MAC1 || our public key) */
	uint8_t cc_cookie_key[WG_HASH_LEN]; /* HASH(LABEL_COOKIE || our public key) */
	uint8_t cc_secret[WG_COOKIE_SECRET_LEN];
	uint64_t cc_secret_birth; /* monotonic ns */
	bool cc_secret_valid;
};

struct wg_cookie_maker {
	uint8_t cm_mac1_key[WG_HASH_LEN];   /* HASH(LABEL_MAC1 || peer's public key) */
	uint8_t cm_cookie_key[WG_HASH_LEN]; /* HASH(LABEL_COOKIE || peer's public key) */
	uint8_t cm_cookie[WG_COOKIE_LEN];
	uint64_t cm_cookie_birth;
	bool cm_cookie_valid;
	uint8_t cm_last_mac1[WG_MAC_LEN]; /* of our last handshake message, AD of the reply */
	bool cm_last_mac1_valid;
};

/* What to do with a received handshake message. */
enum wg_cookie_verdict {
	WG_COOKIE_DROP = 0,   /* bad length or mac1: drop silently */
	WG_COOKIE_ACCEPT,     /* process it */
	WG_COOKIE_SEND_REPLY, /* under load without a valid mac2: answer with
			       * wg_cookie_checker_create_reply(), then drop */
};

void wg_cookie_checker_init(struct wg_cookie_checker *cc, const uint8_t local_public[WG_KEY_LEN]);
/* Wipe the secret; call wg_cookie_checker_init() again to reuse. */
void wg_cookie_checker_destroy(struct wg_cookie_checker *cc);

/* Check the macs of the handshake message MSG[0..LEN) (an initiation or
 * response) that came from SRC[0..SRC_LEN). UNDER_LOAD is the caller's
 * judgement; mac2 is only required then. */
enum wg_cookie_verdict wg_cookie_checker_validate(struct wg_cookie_checker *cc, const uint8_t *msg,
						  size_t len, const uint8_t *src, size_t src_len,
						  uint64_t now, bool under_load);

/* Build in OUT the cookie reply to MSG[0..LEN) from SRC. Returns 0 or
 * -EINVAL (not a handshake message, or SRC too long). */
int wg_cookie_checker_create_reply(struct wg_cookie_checker *cc,
				   uint8_t out[WG_MSG_COOKIE_REPLY_LEN], const uint8_t *msg,
				   size_t len, const uint8_t *src, size_t src_len, uint64_t now);

void wg_cookie_maker_init(struct wg_cookie_maker *cm, const uint8_t remote_public[WG_KEY_LEN]);
void wg_cookie_maker_destroy(struct wg_cookie_maker *cm);

/* Fill in mac1, and mac2 if we hold a cookie younger than
 * WG_COOKIE_REFRESH_TIME (else zeros), of the encoded handshake message
 * MSG[0..LEN) we are about to send. Returns 0 or -EINVAL. */
int wg_cookie_maker_add_macs(struct wg_cookie_maker *cm, uint8_t *msg, size_t len, uint64_t now);

/* Take the cookie from the reply MSG[0..LEN) to our last handshake message.
 * Returns 0, or -EINVAL (malformed, unexpected, or fails to decrypt). */
int wg_cookie_maker_consume_reply(struct wg_cookie_maker *cm, const uint8_t *msg, size_t len,
				  uint64_t now);

#endif
