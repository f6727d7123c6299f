/* The hash functions of the WireGuard whitepaper, section 5.4:
 * HASH = BLAKE2s-256, MAC = keyed BLAKE2s-128, HMAC = HMAC-BLAKE2s-256 and
 * KDF_n = HKDF with HMAC-BLAKE2s, built on libb2. */
#ifndef RAY_WG_HASH_H
#define RAY_WG_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "wg/messages.h"

/* OUT = HASH(A || B); B may be NULL with B_LEN 0. */
void wg_hash(uint8_t out[WG_HASH_LEN], const void *a, size_t a_len, const void *b, size_t b_len);

/* H = HASH(H || DATA), the Noise MixHash. */
void wg_hash_mix(uint8_t h[WG_HASH_LEN], const void *data, size_t len);

/* OUT = MAC(KEY, DATA): BLAKE2s keyed with KEY (1..32 bytes), 16-byte output. */
void wg_hash_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t key_len, const void *data,
		 size_t len);

/* OUT = HMAC(KEY, DATA) with BLAKE2s-256; KEY is at most 64 bytes. */
void wg_hash_hmac(uint8_t out[WG_HASH_LEN], const uint8_t *key, size_t key_len, const void *data,
		  size_t len);

/* (OUT1, OUT2, OUT3) = KDF_n(KEY, INPUT): n is the number of non-NULL outputs,
 * taken in order (OUT2 only with OUT1, OUT3 only with OUT2). Outputs may alias
 * KEY. */
void wg_hash_kdf(uint8_t out1[WG_HASH_LEN], uint8_t out2[WG_HASH_LEN], uint8_t out3[WG_HASH_LEN],
		 const uint8_t key[WG_HASH_LEN], const void *input, size_t input_len);

#endif
