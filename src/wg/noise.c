#include "wg/noise.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "wg/hash.h"
#include "wg/tai64n.h"

static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

/* ck = HASH(CONSTRUCTION); h = HASH(HASH(ck || IDENTIFIER) || Spub_responder) */
static void handshake_start(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN],
			    const uint8_t responder_public[WG_KEY_LEN])
{
	wg_hash(ck, WG_CONSTRUCTION, strlen(WG_CONSTRUCTION), NULL, 0);
	wg_hash(h, ck, WG_HASH_LEN, WG_IDENTIFIER, strlen(WG_IDENTIFIER));
	wg_hash_mix(h, responder_public, WG_KEY_LEN);
}

/* ck = KDF1(ck, e); h = HASH(h || e) */
static void mix_ephemeral(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN],
			  const uint8_t ephemeral[WG_KEY_LEN])
{
	wg_hash_kdf(ck, NULL, NULL, ck, ephemeral, WG_KEY_LEN);
	wg_hash_mix(h, ephemeral, WG_KEY_LEN);
}

/* (ck, key) = KDF2(ck, DH(priv, pub)), or ck = KDF1(...) when KEY is NULL.
 * Fails on a low-order point (an all-zero shared secret). */
static int mix_dh(uint8_t ck[WG_HASH_LEN], uint8_t key[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
		  const uint8_t pub[WG_KEY_LEN])
{
	uint8_t shared[WG_KEY_LEN];
	int ret = -EINVAL;

	if (crypto_scalarmult(shared, priv, pub) != 0)
		goto out;
	wg_hash_kdf(ck, key, NULL, ck, shared, sizeof(shared));
	ret = 0;
out:
	sodium_memzero(shared, sizeof(shared));
	return ret;
}

/* (ck, tau, key) = KDF3(ck, psk); h = HASH(h || tau) */
static void mix_psk(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
		    const uint8_t psk[WG_KEY_LEN])
{
	uint8_t tau[WG_HASH_LEN];

	wg_hash_kdf(ck, tau, key, ck, psk, WG_KEY_LEN);
	wg_hash_mix(h, tau, sizeof(tau));
	sodium_memzero(tau, sizeof(tau));
}

/* out = AEAD(key, 0, in, h); h = HASH(h || out). OUT has LEN + 16 bytes. */
static void seal_and_mix(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[WG_KEY_LEN],
			 uint8_t h[WG_HASH_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, h, WG_HASH_LEN, NULL,
						  zero_nonce, key);
	wg_hash_mix(h, out, len + WG_AEAD_TAG_LEN);
}

/* out = AEAD-Open(key, 0, in, h); h = HASH(h || in). IN has LEN + 16 bytes. */
static int open_and_mix(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[WG_KEY_LEN],
			uint8_t h[WG_HASH_LEN])
{
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len + WG_AEAD_TAG_LEN, h,
						      WG_HASH_LEN, zero_nonce, key) != 0)
		return -EBADMSG;
	wg_hash_mix(h, in, len + WG_AEAD_TAG_LEN);
	return 0;
}

static void new_ephemeral(struct wg_noise_local *l, uint8_t priv[WG_KEY_LEN],
			  uint8_t pub[WG_KEY_LEN])
{
	const struct wg_noise_upcalls *u = l->l_upcalls;

	if (u->u_random)
		u->u_random(u->u_arg, priv, WG_KEY_LEN);
	else
		randombytes_buf(priv, WG_KEY_LEN);
	crypto_scalarmult_base(pub, priv);
}

/* Forget the handshake, unmapping the index it owns. */
static void handshake_clear(struct wg_noise_remote *r)
{
	const struct wg_noise_upcalls *u = r->r_local->l_upcalls;

	if (r->r_hs.hs_state == WG_NOISE_CREATED_INITIATION && u->u_index_drop)
		u->u_index_drop(u->u_arg, r->r_hs.hs_local_index);
	sodium_memzero(&r->r_hs, sizeof(r->r_hs));
}

int wg_noise_local_init(struct wg_noise_local *l, const uint8_t private[WG_KEY_LEN],
			const struct wg_noise_upcalls *upcalls, const struct wg_timer_config *cfg)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->l_private, private, WG_KEY_LEN);
	l->l_upcalls = upcalls;
	l->l_cfg = cfg ? cfg : &wg_timer_config_defaults;
	if (crypto_scalarmult_base(l->l_public, l->l_private) != 0) {
		sodium_memzero(l, sizeof(*l));
		return -EINVAL;
	}
	return 0;
}

void wg_noise_local_destroy(struct wg_noise_local *l)
{
	sodium_memzero(l, sizeof(*l));
}

void wg_noise_remote_init(struct wg_noise_remote *r, struct wg_noise_local *l,
			  const uint8_t public[WG_KEY_LEN], const uint8_t psk[WG_KEY_LEN])
{
	memset(r, 0, sizeof(*r));
	memcpy(r->r_public, public, WG_KEY_LEN);
	if (psk)
		memcpy(r->r_psk, psk, WG_KEY_LEN);
	r->r_local = l;
	wg_keypairs_init(&r->r_keypairs, l->l_cfg, l->l_upcalls->u_index_drop, l->l_upcalls->u_arg);
}

void wg_noise_remote_set_psk(struct wg_noise_remote *r, const uint8_t psk[WG_KEY_LEN])
{
	if (psk)
		memcpy(r->r_psk, psk, WG_KEY_LEN);
	else
		sodium_memzero(r->r_psk, WG_KEY_LEN);
}

void wg_noise_remote_clear(struct wg_noise_remote *r)
{
	handshake_clear(r);
	wg_keypairs_clear(&r->r_keypairs);
}

void wg_noise_remote_destroy(struct wg_noise_remote *r)
{
	wg_noise_remote_clear(r);
	sodium_memzero(r->r_psk, sizeof(r->r_psk));
}

int wg_noise_create_initiation(struct wg_noise_remote *r, struct wg_msg_initiation *m,
			       const uint8_t timestamp[WG_TAI64N_LEN])
{
	struct wg_noise_local *l = r->r_local;
	const struct wg_noise_upcalls *u = l->l_upcalls;
	struct wg_noise_handshake hs;
	uint8_t key[WG_KEY_LEN];
	int ret;

	memset(&hs, 0, sizeof(hs));
	handshake_start(hs.hs_ck, hs.hs_hash, r->r_public);

	/* e */
	new_ephemeral(l, hs.hs_ephemeral_private, m->ephemeral);
	mix_ephemeral(hs.hs_ck, hs.hs_hash, m->ephemeral);

	/* es */
	ret = mix_dh(hs.hs_ck, key, hs.hs_ephemeral_private, r->r_public);
	if (ret < 0)
		goto out;

	/* s */
	seal_and_mix(m->encrypted_static, l->l_public, WG_KEY_LEN, key, hs.hs_hash);

	/* ss */
	ret = mix_dh(hs.hs_ck, key, l->l_private, r->r_public);
	if (ret < 0)
		goto out;

	/* {t} */
	seal_and_mix(m->encrypted_timestamp, timestamp, WG_TAI64N_LEN, key, hs.hs_hash);

	ret = u->u_index_new(u->u_arg, r, &hs.hs_local_index);
	if (ret < 0)
		goto out;
	m->sender = hs.hs_local_index;

	/* Commit. */
	handshake_clear(r);
	hs.hs_state = WG_NOISE_CREATED_INITIATION;
	r->r_hs = hs;
out:
	sodium_memzero(&hs, sizeof(hs));
	sodium_memzero(key, sizeof(key));
	return ret;
}

int wg_noise_consume_initiation(struct wg_noise_local *l, const struct wg_msg_initiation *m,
				uint64_t now, struct wg_noise_remote **out)
{
	const struct wg_noise_upcalls *u = l->l_upcalls;
	struct wg_noise_remote *r;
	struct wg_noise_handshake hs;
	uint8_t key[WG_KEY_LEN];
	uint8_t s[WG_KEY_LEN];
	uint8_t t[WG_TAI64N_LEN];
	int ret;

	memset(&hs, 0, sizeof(hs));
	handshake_start(hs.hs_ck, hs.hs_hash, l->l_public);

	/* e */
	mix_ephemeral(hs.hs_ck, hs.hs_hash, m->ephemeral);

	/* es */
	ret = mix_dh(hs.hs_ck, key, l->l_private, m->ephemeral);
	if (ret < 0)
		goto out;

	/* s */
	ret = open_and_mix(s, m->encrypted_static, WG_KEY_LEN, key, hs.hs_hash);
	if (ret < 0)
		goto out;
	r = u->u_remote_get(u->u_arg, s);
	if (r == NULL) {
		ret = -ENOENT;
		goto out;
	}

	/* ss */
	ret = mix_dh(hs.hs_ck, key, l->l_private, s);
	if (ret < 0)
		goto out;

	/* {t} */
	ret = open_and_mix(t, m->encrypted_timestamp, WG_TAI64N_LEN, key, hs.hs_hash);
	if (ret < 0)
		goto out;

	/* A replayed initiation carries an old timestamp. A flood of fresh
	 * ones is limited so it cannot keep resetting our handshake. */
	if (wg_tai64n_compare(t, r->r_timestamp) <= 0) {
		ret = -EALREADY;
		goto out;
	}
	if (r->r_consumed_any &&
	    now - r->r_last_consumed < WG_NSEC_PER_SEC / WG_INITIATIONS_PER_SEC) {
		ret = -EBUSY;
		goto out;
	}

	/* Commit. */
	handshake_clear(r);
	hs.hs_state = WG_NOISE_CONSUMED_INITIATION;
	hs.hs_remote_index = m->sender;
	memcpy(hs.hs_remote_ephemeral, m->ephemeral, WG_KEY_LEN);
	r->r_hs = hs;
	memcpy(r->r_timestamp, t, WG_TAI64N_LEN);
	r->r_last_consumed = now;
	r->r_consumed_any = true;
	*out = r;
out:
	sodium_memzero(&hs, sizeof(hs));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(t, sizeof(t));
	return ret;
}

/* Split: (T_i->r, T_r->i) = KDF2(ck, empty), then install the keypair. */
static int begin_session(struct wg_noise_remote *r, const struct wg_noise_handshake *hs,
			 bool initiator, uint64_t now)
{
	uint8_t t1[WG_KEY_LEN], t2[WG_KEY_LEN];
	int ret;

	wg_hash_kdf(t1, t2, NULL, hs->hs_ck, NULL, 0);
	if (initiator)
		ret = wg_keypairs_install(&r->r_keypairs, true, t1, t2, hs->hs_local_index,
					  hs->hs_remote_index, now);
	else
		ret = wg_keypairs_install(&r->r_keypairs, false, t2, t1, hs->hs_local_index,
					  hs->hs_remote_index, now);
	sodium_memzero(t1, sizeof(t1));
	sodium_memzero(t2, sizeof(t2));
	return ret;
}

int wg_noise_create_response(struct wg_noise_remote *r, struct wg_msg_response *m, uint64_t now)
{
	struct wg_noise_local *l = r->r_local;
	const struct wg_noise_upcalls *u = l->l_upcalls;
	struct wg_noise_handshake hs;
	uint8_t key[WG_KEY_LEN];
	bool have_index = false;
	int ret = -EINVAL;

	hs = r->r_hs;
	if (hs.hs_state != WG_NOISE_CONSUMED_INITIATION)
		goto out;

	/* e */
	new_ephemeral(l, hs.hs_ephemeral_private, m->ephemeral);
	mix_ephemeral(hs.hs_ck, hs.hs_hash, m->ephemeral);

	/* ee */
	ret = mix_dh(hs.hs_ck, NULL, hs.hs_ephemeral_private, hs.hs_remote_ephemeral);
	if (ret < 0)
		goto out;

	/* se */
	ret = mix_dh(hs.hs_ck, NULL, hs.hs_ephemeral_private, r->r_public);
	if (ret < 0)
		goto out;

	/* psk */
	mix_psk(hs.hs_ck, hs.hs_hash, key, r->r_psk);

	/* {} */
	seal_and_mix(m->encrypted_nothing, NULL, 0, key, hs.hs_hash);

	ret = u->u_index_new(u->u_arg, r, &hs.hs_local_index);
	if (ret < 0)
		goto out;
	have_index = true;
	m->sender = hs.hs_local_index;
	m->receiver = hs.hs_remote_index;

	/* Commit: the keypair takes over the index; the handshake is done. */
	ret = begin_session(r, &hs, false, now);
	if (ret < 0)
		goto out;
	have_index = false;
	sodium_memzero(&r->r_hs, sizeof(r->r_hs));
out:
	if (have_index && u->u_index_drop)
		u->u_index_drop(u->u_arg, hs.hs_local_index);
	sodium_memzero(&hs, sizeof(hs));
	sodium_memzero(key, sizeof(key));
	return ret;
}

int wg_noise_consume_response(struct wg_noise_local *l, const struct wg_msg_response *m,
			      uint64_t now, struct wg_noise_remote **out)
{
	const struct wg_noise_upcalls *u = l->l_upcalls;
	struct wg_noise_remote *r;
	struct wg_noise_handshake hs;
	uint8_t key[WG_KEY_LEN];
	int ret = -ENOENT;

	memset(&hs, 0, sizeof(hs));
	r = u->u_index_get(u->u_arg, m->receiver);
	if (r == NULL)
		goto out;
	hs = r->r_hs;
	ret = -EINVAL;
	if (hs.hs_state != WG_NOISE_CREATED_INITIATION || hs.hs_local_index != m->receiver)
		goto out;

	/* e */
	mix_ephemeral(hs.hs_ck, hs.hs_hash, m->ephemeral);

	/* ee */
	ret = mix_dh(hs.hs_ck, NULL, hs.hs_ephemeral_private, m->ephemeral);
	if (ret < 0)
		goto out;

	/* se */
	ret = mix_dh(hs.hs_ck, NULL, l->l_private, m->ephemeral);
	if (ret < 0)
		goto out;

	/* psk */
	mix_psk(hs.hs_ck, hs.hs_hash, key, r->r_psk);

	/* {} */
	ret = open_and_mix(NULL, m->encrypted_nothing, 0, key, hs.hs_hash);
	if (ret < 0)
		goto out;

	/* Commit: the keypair takes over the index; the handshake is done. */
	hs.hs_remote_index = m->sender;
	ret = begin_session(r, &hs, true, now);
	if (ret < 0)
		goto out;
	sodium_memzero(&r->r_hs, sizeof(r->r_hs));
	*out = r;
out:
	sodium_memzero(&hs, sizeof(hs));
	sodium_memzero(key, sizeof(key));
	return ret;
}
