/* Transport keypairs of one peer and the type-4 data messages they seal and
 * open (whitepaper sections 5.4.6 and 6). A peer holds up to three:
 *   current   sends and receives;
 *   previous  the one before, still received on while packets drain;
 *   next      a responder's new keypair, unconfirmed: it is not used to send
 *             until the initiator's first data packet arrives on it.
 *
 * No allocation, locks or logging per packet. A struct wg_keypairs is not safe
 * for concurrent use; the caller serialises access per peer. The one
 * exception is the AEAD step of a data message: prepared by the owner
 * (wg_keypairs_*_prepare), it may run on up to WG_LANES threads at once, each
 * with its own lane (wg_crypto_job_run), while the owner waits; the owner
 * then finishes it (wg_keypairs_decrypt_finish). */
#ifndef RAY_WG_KEYPAIR_H
#define RAY_WG_KEYPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/aead.h"
#include "wg/messages.h"
#include "wg/replay.h"
#include "wg/timers.h"

#define WG_LANES 2 /* threads that may seal or open with one keypair at once */

struct wg_keypair {
	bool kp_valid;
	bool kp_initiator;	 /* we sent the initiation that made it */
	bool kp_lastminute;	 /* receive-side rekey already requested */
	uint32_t kp_local_index; /* receiver index of packets sent to us */
	uint32_t kp_remote_index;
	uint64_t kp_birthdate;	  /* monotonic ns at derivation */
	uint64_t kp_send_counter; /* nonce of the next packet we send */
	struct wg_replay kp_replay;
	struct wg_aead kp_aead[WG_LANES]; /* the same keys, one context per lane */
};

/* Called when a keypair is destroyed, so the caller can unmap its index. */
typedef void (*wg_keypair_index_drop_fn)(void *arg, uint32_t local_index);

struct wg_keypairs {
	struct wg_keypair kps_slot[3]; /* storage for the three roles below */
	struct wg_keypair *kps_current;
	struct wg_keypair *kps_previous;
	struct wg_keypair *kps_next;
	const struct wg_timer_config *kps_cfg;
	wg_keypair_index_drop_fn kps_index_drop;
	void *kps_arg;
};

/* CFG (NULL: defaults) must outlive KPS; INDEX_DROP may be NULL. */
void wg_keypairs_init(struct wg_keypairs *kps, const struct wg_timer_config *cfg,
		      wg_keypair_index_drop_fn index_drop, void *arg);

/* Destroy every keypair (wiping keys, dropping indices). KPS stays usable. */
void wg_keypairs_clear(struct wg_keypairs *kps);

/* Install a keypair freshly derived by a handshake. As initiator it becomes
 * current at once; as responder it becomes next. Old keypairs are rotated out
 * and destroyed as the whitepaper describes. Returns 0, or -ENOMEM with
 * nothing changed. */
int wg_keypairs_install(struct wg_keypairs *kps, bool initiator, const uint8_t send_key[WG_KEY_LEN],
			const uint8_t recv_key[WG_KEY_LEN], uint32_t local_index,
			uint32_t remote_index, uint64_t now);

/* The keypair whose local index is INDEX, or NULL. */
struct wg_keypair *wg_keypairs_lookup(struct wg_keypairs *kps, uint32_t index);

/* Flags of a successful encrypt or decrypt, OR-ed together. */
enum wg_keypair_flags {
	WG_KEYPAIR_F_REKEY = 1 << 0,	 /* start a new handshake soon */
	WG_KEYPAIR_F_CONFIRMED = 1 << 1, /* decrypt: next became current */
	WG_KEYPAIR_F_KEEPALIVE = 1 << 2, /* decrypt: empty plaintext */
};

/* Seal a data message in place. The caller puts PLAIN_LEN bytes of plaintext
 * at BUF + WG_DATA_HEADER_LEN; this zero-pads it to a multiple of 16 (but not
 * beyond MTU when MTU is non-zero), writes the header in front and the tag
 * behind, and sets *OUT_LEN to the message length. SIZE is the capacity of
 * BUF; WG_DATA_MIN_LEN + PLAIN_LEN + 15 always suffices. PLAIN_LEN 0 makes a
 * keepalive.
 * Returns wg_keypair_flags (>= 0) or: -ENOKEY no current keypair,
 * -EKEYEXPIRED current keypair too old or out of nonces (both: queue the
 * packet and handshake), -EMSGSIZE SIZE too small, -EIO. */
int wg_keypairs_encrypt(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t size,
			size_t plain_len, size_t mtu, size_t *out_len);

/* The AEAD step of one data message, split out of encrypt and decrypt so
 * that a batch's can run on several threads. */
struct wg_crypto_job {
	struct wg_keypair *kp;
	uint8_t *data; /* the plaintext or ciphertext; the tag follows it */
	size_t len;    /* without the tag */
	uint64_t counter;
	uint32_t index; /* decrypt: KP's local index, to see it survived */
	bool open;
	int verdict; /* out: 0, -EBADMSG (open) or -EIO */
};

/* wg_keypairs_encrypt without the sealing: everything else is done (the
 * counter is taken, *OUT_LEN set); JOB seals the message when run. */
int wg_keypairs_encrypt_prepare(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t size,
				size_t plain_len, size_t mtu, size_t *out_len,
				struct wg_crypto_job *job);

/* Seal or open with lane LANE (< WG_LANES) of the job's keypair. Touches
 * nothing but the job, its data and that lane: safe on any thread while no
 * two jobs run on one lane of one keypair. */
void wg_crypto_job_run(struct wg_crypto_job *job, unsigned lane);

/* wg_keypairs_decrypt in two halves around wg_crypto_job_run: prepare
 * returns 0 or the errors of decrypt found before opening; finish, after the
 * job ran, the rest (its verdict, the replay window, confirmation). Jobs of
 * one batch must be finished in the order they were prepared. */
int wg_keypairs_decrypt_prepare(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t len,
				struct wg_crypto_job *job);
int wg_keypairs_decrypt_finish(struct wg_keypairs *kps, uint64_t now,
			       const struct wg_crypto_job *job, size_t *plain_len);

/* Open the data message BUF[0..LEN) in place. On success the plaintext,
 * padding included, is at BUF + WG_DATA_HEADER_LEN, *PLAIN_LEN bytes long.
 * The counter is checked against the replay window only after the packet
 * authenticates.
 * Returns wg_keypair_flags (>= 0) or a reason to drop: -EINVAL malformed,
 * -ENOKEY no keypair with that index, -EKEYEXPIRED keypair too old or
 * exhausted, -EBADMSG failed authentication, -EALREADY replayed or older
 * than the window. */
int wg_keypairs_decrypt(struct wg_keypairs *kps, uint64_t now, uint8_t *buf, size_t len,
			size_t *plain_len);

#endif
