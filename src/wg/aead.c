#include "wg/aead.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>

#define NONCE_LEN 12

static EVP_CIPHER_CTX *ctx_new(const uint8_t key[WG_KEY_LEN], int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int wg_aead_init(struct wg_aead *ae, const uint8_t send_key[WG_KEY_LEN],
		 const uint8_t recv_key[WG_KEY_LEN])
{
	ae->ae_seal = ctx_new(send_key, 1);
	ae->ae_open = ctx_new(recv_key, 0);
	if (ae->ae_seal == NULL || ae->ae_open == NULL) {
		wg_aead_destroy(ae);
		return -ENOMEM;
	}
	return 0;
}

void wg_aead_destroy(struct wg_aead *ae)
{
	EVP_CIPHER_CTX_free(ae->ae_seal);
	EVP_CIPHER_CTX_free(ae->ae_open);
	ae->ae_seal = NULL;
	ae->ae_open = NULL;
}

static void make_nonce(uint8_t nonce[NONCE_LEN], uint64_t counter)
{
	nonce[0] = nonce[1] = nonce[2] = nonce[3] = 0;
	wg_le64_put(nonce + 4, counter);
}

int wg_aead_seal(struct wg_aead *ae, uint64_t counter, uint8_t *buf, size_t len,
		 uint8_t tag[WG_AEAD_TAG_LEN])
{
	uint8_t nonce[NONCE_LEN];
	int outl;

	if (len > INT_MAX)
		return -EIO;
	make_nonce(nonce, counter);
	/* A NULL cipher and key keep the key schedule; only the nonce changes. */
	if (EVP_CipherInit_ex(ae->ae_seal, NULL, NULL, NULL, nonce, 1) != 1)
		return -EIO;
	if (len && EVP_CipherUpdate(ae->ae_seal, buf, &outl, buf, (int)len) != 1)
		return -EIO;
	if (EVP_CipherFinal_ex(ae->ae_seal, buf + len, &outl) != 1)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(ae->ae_seal, EVP_CTRL_AEAD_GET_TAG, WG_AEAD_TAG_LEN, tag) != 1)
		return -EIO;
	return 0;
}

int wg_aead_open(struct wg_aead *ae, uint64_t counter, uint8_t *buf, size_t len,
		 const uint8_t tag[WG_AEAD_TAG_LEN])
{
	uint8_t nonce[NONCE_LEN];
	int outl;

	if (len > INT_MAX)
		return -EBADMSG;
	make_nonce(nonce, counter);
	if (EVP_CipherInit_ex(ae->ae_open, NULL, NULL, NULL, nonce, 0) != 1)
		return -EBADMSG;
	/* OpenSSL copies the tag in; the cast drops const for its ctrl API only. */
	if (EVP_CIPHER_CTX_ctrl(ae->ae_open, EVP_CTRL_AEAD_SET_TAG, WG_AEAD_TAG_LEN,
				(void *)(uintptr_t)tag) != 1)
		return -EBADMSG;
	if (len && EVP_CipherUpdate(ae->ae_open, buf, &outl, buf, (int)len) != 1)
		return -EBADMSG;
	if (EVP_CipherFinal_ex(ae->ae_open, buf + len, &outl) != 1)
		return -EBADMSG;
	return 0;
}
