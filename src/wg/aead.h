/* Transport AEAD: ChaCha20-Poly1305 (RFC 8439) through OpenSSL 3 libcrypto,
 * with the key schedule done once per keypair. One context seals, one opens;
 * per packet only the nonce is set, the data is encrypted in place and
 * nothing is allocated. The nonce is 4 zero bytes || the 64-bit counter,
 * little-endian; there is no associated data.
 *
 * A struct wg_aead is not safe for concurrent use: callers that spread a
 * keypair's packets over threads give each thread its own wg_aead. */
#ifndef RAY_WG_AEAD_H
#define RAY_WG_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "wg/messages.h"

struct evp_cipher_ctx_st;

struct wg_aead {
	struct evp_cipher_ctx_st *ae_seal; /* keyed with the sending key */
	struct evp_cipher_ctx_st *ae_open; /* keyed with the receiving key */
};

/* Allocate both contexts and set their keys. On error (-ENOMEM, -EIO) the
 * struct is left empty; wg_aead_destroy() is safe on it either way. */
int wg_aead_init(struct wg_aead *ae, const uint8_t send_key[WG_KEY_LEN],
		 const uint8_t recv_key[WG_KEY_LEN]);

/* Free both contexts; OpenSSL wipes the key schedules. Idempotent. */
void wg_aead_destroy(struct wg_aead *ae);

/* Encrypt BUF[0..LEN) in place and write the tag to TAG. Returns 0 or -EIO. */
int wg_aead_seal(struct wg_aead *ae, uint64_t counter, uint8_t *buf, size_t len,
		 uint8_t tag[WG_AEAD_TAG_LEN]);

/* Decrypt BUF[0..LEN) in place if TAG authenticates it. Returns 0, or
 * -EBADMSG (BUF then holds garbage the caller must drop). */
int wg_aead_open(struct wg_aead *ae, uint64_t counter, uint8_t *buf, size_t len,
		 const uint8_t tag[WG_AEAD_TAG_LEN]);

#endif
