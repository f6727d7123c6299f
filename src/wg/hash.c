#include "wg/hash.h"

#include <blake2.h>
#include <sodium.h>
#include <string.h>

void wg_hash(uint8_t out[WG_HASH_LEN], const void *a, size_t a_len, const void *b, size_t b_len)
{
	blake2s_state s;

	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, a, a_len);
	if (b_len)
		blake2s_update(&s, b, b_len);
	blake2s_final(&s, out, WG_HASH_LEN);
	sodium_memzero(&s, sizeof(s));
}

void wg_hash_mix(uint8_t h[WG_HASH_LEN], const void *data, size_t len)
{
	wg_hash(h, h, WG_HASH_LEN, data, len);
}

void wg_hash_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t key_len, const void *data,
		 size_t len)
{
	blake2s_state s;

	blake2s_init_key(&s, WG_MAC_LEN, key, key_len);
	blake2s_update(&s, data, len);
	blake2s_final(&s, out, WG_MAC_LEN);
	sodium_memzero(&s, sizeof(s));
}

void wg_hash_hmac(uint8_t out[WG_HASH_LEN], const uint8_t *key, size_t key_len, const void *data,
		  size_t len)
{
	uint8_t pad[WG_BLAKE2S_BLOCK_LEN];
	uint8_t inner[WG_HASH_LEN];
	blake2s_state s;
	size_t i;

	/* Keys here are never longer than a block, so no pre-hashing step. */
	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, key_len);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, pad, sizeof(pad));
	blake2s_update(&s, data, len);
	blake2s_final(&s, inner, sizeof(inner));

	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, pad, sizeof(pad));
	blake2s_update(&s, inner, sizeof(inner));
	blake2s_final(&s, out, WG_HASH_LEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&s, sizeof(s));
}

void wg_hash_kdf(uint8_t out1[WG_HASH_LEN], uint8_t out2[WG_HASH_LEN], uint8_t out3[WG_HASH_LEN],
		 const uint8_t key[WG_HASH_LEN], const void *input, size_t input_len)
{
	uint8_t secret[WG_HASH_LEN];
	uint8_t t[WG_HASH_LEN + 1];

	/* Extract, then expand one block per requested output:
	 * T_i = HMAC(secret, T_{i-1} || i), with T_0 empty. */
	wg_hash_hmac(secret, key, WG_HASH_LEN, input, input_len);

	t[0] = 1;
	wg_hash_hmac(t, secret, sizeof(secret), t, 1);
	memcpy(out1, t, WG_HASH_LEN);
	if (out2 == NULL)
		goto out;

	t[WG_HASH_LEN] = 2;
	wg_hash_hmac(t, secret, sizeof(secret), t, sizeof(t));
	memcpy(out2, t, WG_HASH_LEN);
	if (out3 == NULL)
		goto out;

	t[WG_HASH_LEN] = 3;
	wg_hash_hmac(t, secret, sizeof(secret), t, sizeof(t));
	memcpy(out3, t, WG_HASH_LEN);
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(t, sizeof(t));
}
