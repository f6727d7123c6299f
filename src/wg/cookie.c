#include "wg/cookie.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "wg/hash.h"

static void derive_keys(uint8_t mac1_key[WG_HASH_LEN], uint8_t cookie_key[WG_HASH_LEN],
			const uint8_t public[WG_KEY_LEN])
{
	wg_hash(mac1_key, WG_LABEL_MAC1, strlen(WG_LABEL_MAC1), public, WG_KEY_LEN);
	wg_hash(cookie_key, WG_LABEL_COOKIE, strlen(WG_LABEL_COOKIE), public, WG_KEY_LEN);
}

/* Offset of mac1 in MSG if it is a handshake message, else 0. */
static size_t mac1_offset(const uint8_t *msg, size_t len)
{
	switch (wg_msg_type(msg, len)) {
	case WG_MSG_INITIATION:
		return WG_INIT_OFF_MAC1;
	case WG_MSG_RESPONSE:
		return WG_RESP_OFF_MAC1;
	default:
		return 0;
	}
}

void wg_cookie_checker_init(struct wg_cookie_checker *cc, const uint8_t local_public[WG_KEY_LEN])
{
	memset(cc, 0, sizeof(*cc));
	derive_keys(cc->cc_mac1_key, cc->cc_cookie_key, local_public);
}

void wg_cookie_checker_destroy(struct wg_cookie_checker *cc)
{
	sodium_memzero(cc, sizeof(*cc));
}

/* The cookie for SRC under the current secret, rotating it when old. */
static void make_cookie(struct wg_cookie_checker *cc, uint8_t cookie[WG_COOKIE_LEN],
			const uint8_t *src, size_t src_len, uint64_t now)
{
	if (!cc->cc_secret_valid || now - cc->cc_secret_birth >= WG_COOKIE_REFRESH_TIME) {
		randombytes_buf(cc->cc_secret, sizeof(cc->cc_secret));
		cc->cc_secret_birth = now;
		cc->cc_secret_valid = true;
	}
	wg_hash_mac(cookie, cc->cc_secret, sizeof(cc->cc_secret), src, src_len);
}

enum wg_cookie_verdict wg_cookie_checker_validate(struct wg_cookie_checker *cc, const uint8_t *msg,
						  size_t len, const uint8_t *src, size_t src_len,
						  uint64_t now, bool under_load)
{
	uint8_t mac[WG_MAC_LEN], cookie[WG_COOKIE_LEN];
	enum wg_cookie_verdict v = WG_COOKIE_DROP;
	size_t off = mac1_offset(msg, len);

	if (off == 0 || src_len > WG_COOKIE_ADDR_MAX)
		goto out;
	wg_hash_mac(mac, cc->cc_mac1_key, sizeof(cc->cc_mac1_key), msg, off);
	if (sodium_memcmp(mac, msg + off, WG_MAC_LEN) != 0)
		goto out;
	v = WG_COOKIE_ACCEPT;
	if (!under_load)
		goto out;

	make_cookie(cc, cookie, src, src_len, now);
	wg_hash_mac(mac, cookie, sizeof(cookie), msg, off + WG_MAC_LEN);
	if (sodium_memcmp(mac, msg + off + WG_MAC_LEN, WG_MAC_LEN) != 0)
		v = WG_COOKIE_SEND_REPLY;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return v;
}

int wg_cookie_checker_create_reply(struct wg_cookie_checker *cc,
				   uint8_t out[WG_MSG_COOKIE_REPLY_LEN], const uint8_t *msg,
				   size_t len, const uint8_t *src, size_t src_len, uint64_t now)
{
	uint8_t cookie[WG_COOKIE_LEN];
	size_t off = mac1_offset(msg, len);

	if (off == 0 || src_len > WG_COOKIE_ADDR_MAX)
		return -EINVAL;

	make_cookie(cc, cookie, src, src_len, now);
	out[0] = WG_MSG_COOKIE_REPLY;
	out[1] = out[2] = out[3] = 0;
	/* The reply goes to the sender of MSG, named by its sender index. */
	wg_le32_put(out + WG_COOKIE_OFF_RECEIVER, wg_msg_sender(msg));
	randombytes_buf(out + WG_COOKIE_OFF_NONCE, WG_XAEAD_NONCE_LEN);
	/* The mac1 as AD binds the reply to the message it answers. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + WG_COOKIE_OFF_COOKIE, NULL, cookie,
						   sizeof(cookie), msg + off, WG_MAC_LEN, NULL,
						   out + WG_COOKIE_OFF_NONCE, cc->cc_cookie_key);
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

void wg_cookie_maker_init(struct wg_cookie_maker *cm, const uint8_t remote_public[WG_KEY_LEN])
{
	memset(cm, 0, sizeof(*cm));
	derive_keys(cm->cm_mac1_key, cm->cm_cookie_key, remote_public);
}

void wg_cookie_maker_destroy(struct wg_cookie_maker *cm)
{
	sodium_memzero(cm, sizeof(*cm));
}

int wg_cookie_maker_add_macs(struct wg_cookie_maker *cm, uint8_t *msg, size_t len, uint64_t now)
{
	size_t off = mac1_offset(msg, len);

	if (off == 0)
		return -EINVAL;
	wg_hash_mac(msg + off, cm->cm_mac1_key, sizeof(cm->cm_mac1_key), msg, off);
	memcpy(cm->cm_last_mac1, msg + off, WG_MAC_LEN);
	cm->cm_last_mac1_valid = true;

	if (cm->cm_cookie_valid && now - cm->cm_cookie_birth < WG_COOKIE_REFRESH_TIME)
		wg_hash_mac(msg + off + WG_MAC_LEN, cm->cm_cookie, sizeof(cm->cm_cookie), msg,
			    off + WG_MAC_LEN);
	else
		memset(msg + off + WG_MAC_LEN, 0, WG_MAC_LEN);
	return 0;
}

int wg_cookie_maker_consume_reply(struct wg_cookie_maker *cm, const uint8_t *msg, size_t len,
				  uint64_t now)
{
	uint8_t cookie[WG_COOKIE_LEN];
	int ret = -EINVAL;

	if (wg_msg_type(msg, len) != WG_MSG_COOKIE_REPLY || !cm->cm_last_mac1_valid)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, NULL, NULL, msg + WG_COOKIE_OFF_COOKIE, WG_COOKIE_LEN + WG_AEAD_TAG_LEN,
		    cm->cm_last_mac1, WG_MAC_LEN, msg + WG_COOKIE_OFF_NONCE,
		    cm->cm_cookie_key) != 0)
		goto out;
	memcpy(cm->cm_cookie, cookie, sizeof(cookie));
	cm->cm_cookie_birth = now;
	cm->cm_cookie_valid = true;
	/* One reply per message sent: a replayed reply finds nothing to match. */
	cm->cm_last_mac1_valid = false;
	ret = 0;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}
