/* Arbitrary bytes to every message consumer of a fixed responder: cookie
 * checks, initiation, response, cookie reply and transport data. Nothing may
 * crash, read out of bounds or leak, whatever the input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sodium.h>

#include "wg/cookie.h"
#include "wg/keypair.h"
#include "wg/messages.h"
#include "wg/noise.h"
#include "wg/tai64n.h"

#define LOCAL_INDEX   0x01000001u /* the pending initiation */
#define KEYPAIR_INDEX 0x01000002u /* the installed keypair */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fixture {
	struct wg_noise_local local;
	struct wg_noise_upcalls up;
	struct wg_noise_remote peer;
	struct wg_cookie_checker cc;
	struct wg_cookie_maker cm;
	uint32_t next_index;
};

static struct wg_noise_remote *remote_get(void *arg, const uint8_t public[WG_KEY_LEN])
{
	struct fixture *f = arg;

	return memcmp(public, f->peer.r_public, WG_KEY_LEN) == 0 ? &f->peer : NULL;
}

static int index_new(void *arg, struct wg_noise_remote *r, uint32_t *index)
{
	struct fixture *f = arg;

	(void)r;
	*index = f->next_index++;
	return 0;
}

static struct wg_noise_remote *index_get(void *arg, uint32_t index)
{
	struct fixture *f = arg;

	return index >= LOCAL_INDEX && index < f->next_index ? &f->peer : NULL;
}

static void index_drop(void *arg, uint32_t index)
{
	(void)arg;
	(void)index;
}

static void fixture_init(struct fixture *f)
{
	uint8_t priv[32], peer_public[32], ts[WG_TAI64N_LEN], k1[32], k2[32];
	struct wg_msg_initiation m;

	memset(f, 0, sizeof(*f));
	f->up.u_arg = f;
	f->up.u_remote_get = remote_get;
	f->up.u_index_new = index_new;
	f->up.u_index_get = index_get;
	f->up.u_index_drop = index_drop;
	f->next_index = LOCAL_INDEX;
	/* Fixed keys, so a corpus entry means the same thing on every run. */
	memset(priv, 0x11, sizeof(priv));
	wg_noise_local_init(&f->local, priv, &f->up, NULL);
	memset(priv, 0x22, sizeof(priv));
	crypto_scalarmult_base(peer_public, priv);
	wg_noise_remote_init(&f->peer, &f->local, peer_public, NULL);
	wg_cookie_checker_init(&f->cc, f->local.l_public);
	wg_cookie_maker_init(&f->cm, peer_public);

	/* A pending initiation, so responses find a handshake. */
	wg_tai64n_encode(ts, 1700000000, 0);
	wg_noise_create_initiation(&f->peer, &m, ts);
	/* And a keypair, so data finds one. */
	memset(k1, 0x33, sizeof(k1));
	memset(k2, 0x44, sizeof(k2));
	wg_keypairs_install(&f->peer.r_keypairs, true, k1, k2, KEYPAIR_INDEX, 7, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fixture f;
	static bool ready;
	struct wg_msg_initiation mi;
	struct wg_msg_response mr, out;
	struct wg_noise_remote *r;
	uint8_t buf[4096], reply[WG_MSG_COOKIE_REPLY_LEN];
	size_t plen;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		fixture_init(&f);
		ready = true;
	}
	if (size > sizeof(buf))
		return 0;

	/* Each consumer sees the raw input, whatever its type byte says. */
	wg_cookie_checker_validate(&f.cc, data, size, data, size < 18 ? size : 18, 0, false);
	if (wg_cookie_checker_validate(&f.cc, data, size, data, 6 < size ? 6 : size, 0, true) ==
	    WG_COOKIE_SEND_REPLY)
		wg_cookie_checker_create_reply(&f.cc, reply, data, size, data, 6, 0);

	if (wg_msg_initiation_decode(data, size, &mi) == 0 &&
	    wg_noise_consume_initiation(&f.local, &mi, 0, &r) == 0)
		wg_noise_create_response(r, &out, 0);

	if (wg_msg_response_decode(data, size, &mr) == 0)
		wg_noise_consume_response(&f.local, &mr, 0, &r);

	wg_cookie_maker_consume_reply(&f.cm, data, size, 0);

	memcpy(buf, data, size);
	wg_keypairs_decrypt(&f.peer.r_keypairs, 0, buf, size, &plen);
	/* And once more routed to the live keypair, to reach the AEAD. */
	if (size >= WG_DATA_MIN_LEN) {
		buf[0] = WG_MSG_DATA;
		buf[1] = buf[2] = buf[3] = 0;
		wg_le32_put(buf + WG_DATA_OFF_RECEIVER, KEYPAIR_INDEX);
		wg_keypairs_decrypt(&f.peer.r_keypairs, 0, buf, size, &plen);
	}
	return 0;
}
