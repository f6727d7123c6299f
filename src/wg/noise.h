/* The WireGuard handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (whitepaper
 * section 5.4), as a state machine with no I/O:
 *
 *   initiator                              responder
 *   wg_noise_create_initiation  ---1--->   wg_noise_consume_initiation
 *   wg_noise_consume_response   <--2----   wg_noise_create_response
 *
 * Each step works on a copy of the handshake and commits only after every
 * check passed; secrets on the stack are wiped on every exit. Completing a
 * handshake installs a transport keypair in the remote's wg_keypairs (current
 * for the initiator, next for the responder).
 *
 * Messages come in decoded (wg_msg_*_decode) and go out as structs to encode;
 * mac1/mac2 are the cookie module's job and must be checked first.
 *
 * The caller owns the maps from static key and from local index to its peers
 * and reaches them through struct wg_noise_upcalls. Not safe for concurrent
 * use: serialise calls per local identity. */
#ifndef RAY_WG_NOISE_H
#define RAY_WG_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/keypair.h"
#include "wg/messages.h"
#include "wg/timers.h"

struct wg_noise_remote;

struct wg_noise_upcalls {
	void *u_arg; /* first argument of every upcall */
	/* The remote whose static public key is PUBLIC, or NULL to refuse. */
	struct wg_noise_remote *(*u_remote_get)(void *arg, const uint8_t public[WG_KEY_LEN]);
	/* Pick a fresh, unused, random local index and map it to R.
	 * Returns 0 or a negative errno. */
	int (*u_index_new)(void *arg, struct wg_noise_remote *r, uint32_t *index);
	/* The remote that INDEX is mapped to, or NULL. */
	struct wg_noise_remote *(*u_index_get)(void *arg, uint32_t index);
	/* Unmap INDEX; the handshake or keypair that held it is gone. */
	void (*u_index_drop)(void *arg, uint32_t index);
	/* Fill BUF with LEN random bytes (ephemeral keys). NULL: libsodium's
	 * randombytes_buf; tests set it for known-answer vectors. */
	void (*u_random)(void *arg, uint8_t *buf, size_t len);
};

/* Our static identity. */
struct wg_noise_local {
	uint8_t l_public[WG_KEY_LEN];
	uint8_t l_private[WG_KEY_LEN];
	const struct wg_noise_upcalls *l_upcalls;
	const struct wg_timer_config *l_cfg;
};

enum wg_noise_state {
	WG_NOISE_ZEROED = 0,
	WG_NOISE_CREATED_INITIATION,  /* initiator waiting for the response */
	WG_NOISE_CONSUMED_INITIATION, /* responder ready to create the response */
};

/* A handshake in progress. */
struct wg_noise_handshake {
	enum wg_noise_state hs_state;
	uint32_t hs_local_index; /* owned (mapped) in CREATED_INITIATION */
	uint32_t hs_remote_index;
	uint8_t hs_ephemeral_private[WG_KEY_LEN];
	uint8_t hs_remote_ephemeral[WG_KEY_LEN];
	uint8_t hs_hash[WG_HASH_LEN];
	uint8_t hs_ck[WG_HASH_LEN]; /* chaining key */
};

/* A peer, as the handshake sees it. */
struct wg_noise_remote {
	uint8_t r_public[WG_KEY_LEN];
	uint8_t r_psk[WG_KEY_LEN];	    /* all zero when none is configured */
	uint8_t r_timestamp[WG_TAI64N_LEN]; /* greatest accepted from the peer */
	uint64_t r_last_consumed;	    /* monotonic ns of the last accepted initiation */
	bool r_consumed_any;
	struct wg_noise_handshake r_hs;
	struct wg_keypairs r_keypairs;
	struct wg_noise_local *r_local;
};

/* Set up L with the X25519 private key PRIVATE. UPCALLS and CFG (NULL:
 * defaults) must outlive L and its remotes. Returns 0 or -EINVAL. */
int wg_noise_local_init(struct wg_noise_local *l, const uint8_t private[WG_KEY_LEN],
			const struct wg_noise_upcalls *upcalls, const struct wg_timer_config *cfg);
void wg_noise_local_destroy(struct wg_noise_local *l);

/* Set up R for the peer PUBLIC with preshared key PSK (NULL: none). */
void wg_noise_remote_init(struct wg_noise_remote *r, struct wg_noise_local *l,
			  const uint8_t public[WG_KEY_LEN], const uint8_t psk[WG_KEY_LEN]);
void wg_noise_remote_set_psk(struct wg_noise_remote *r, const uint8_t psk[WG_KEY_LEN]);
/* Abandon the handshake and destroy every keypair, dropping their indices
 * (the timers' ZERO_KEYS action). R stays usable. */
void wg_noise_remote_clear(struct wg_noise_remote *r);
/* Clear R and wipe its preshared key. */
void wg_noise_remote_destroy(struct wg_noise_remote *r);

/* Initiator: start a handshake with R, stamped TIMESTAMP (wg_tai64n_encode of
 * the wall clock). Fills M. Returns 0, -EINVAL (peer key unusable) or the
 * u_index_new error. */
int wg_noise_create_initiation(struct wg_noise_remote *r, struct wg_msg_initiation *m,
			       const uint8_t timestamp[WG_TAI64N_LEN]);

/* Responder: process an initiation received at monotonic time NOW. On
 * success *OUT is the remote it came from; answer with
 * wg_noise_create_response(). Errors: -EBADMSG fails to decrypt, -ENOENT
 * unknown static key, -EALREADY timestamp not newer (replay), -EBUSY more
 * than WG_INITIATIONS_PER_SEC from this peer, -EINVAL invalid key. */
int wg_noise_consume_initiation(struct wg_noise_local *l, const struct wg_msg_initiation *m,
				uint64_t now, struct wg_noise_remote **out);

/* Responder: answer the initiation consumed from R, filling M, and install
 * the new keypair as next. Errors: -EINVAL no consumed initiation, the
 * u_index_new error, -ENOMEM. */
int wg_noise_create_response(struct wg_noise_remote *r, struct wg_msg_response *m, uint64_t now);

/* Initiator: process a response; on success the new keypair is current and
 * *OUT is its remote. Errors: -ENOENT unknown receiver index, -EINVAL no
 * initiation pending for it or invalid key, -EBADMSG fails to decrypt,
 * -ENOMEM. */
int wg_noise_consume_response(struct wg_noise_local *l, const struct wg_msg_response *m,
			      uint64_t now, struct wg_noise_remote **out);

#endif
