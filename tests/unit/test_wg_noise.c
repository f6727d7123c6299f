/* The handshake state machine: two nodes driven against each other through
 * handshakes and data exchange, a known-answer vector, and the ways a
 * message can be wrong.
 *
 * The vector was computed once with an independent Python model of the
 * whitepaper (hashlib.blake2s, hmac, and the `cryptography` package's X25519
 * and ChaCha20-Poly1305) from the fixed keys below. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "wg/cookie.h"
#include "wg/keypair.h"
#include "wg/messages.h"
#include "wg/noise.h"
#include "wg/tai64n.h"

/* Static and ephemeral private keys: bytes 1..32, 33..64, 65..96, 97..128.
 * psk: 32 bytes of 0xa5. Sender indices: initiator 0x11223344, responder
 * 0xaabbccdd. kat_msg1/kat_msg2 carry mac1 and a zero mac2. kat_data is the
 * initiator's first packet ("hello, wiregu", 13 bytes, padded to 16);
 * kat_data_r the responder's first ("pong", padded). */
static const uint8_t kat_si[32] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
	0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
};
static const uint8_t kat_sr[32] = {
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36,
	0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
};
static const uint8_t kat_ei[32] = {
	0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
	0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56,
	0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60,
};
static const uint8_t kat_er[32] = {
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
	0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76,
	0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80,
};
static const uint8_t kat_ts[12] = {
	0x40, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x0a, 0xbc, 0xd0, 0x00,
};
static const uint8_t kat_msg1[148] = {
	0x01, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11, 0x64, 0xb1, 0x01, 0xb1, 0xd0, 0xbe, 0x5a,
	0x87, 0x04, 0xbd, 0x07, 0x8f, 0x98, 0x95, 0x00, 0x1f, 0xc0, 0x3e, 0x8e, 0x9f, 0x95, 0x22,
	0xf1, 0x88, 0xdd, 0x12, 0x8d, 0x98, 0x46, 0xd4, 0x84, 0x66, 0x15, 0x8a, 0x0e, 0x4c, 0xa2,
	0x42, 0xd1, 0x51, 0xca, 0x97, 0xab, 0x90, 0x15, 0x9a, 0x98, 0xb6, 0x7e, 0x61, 0x66, 0x25,
	0xe6, 0x8b, 0x40, 0x65, 0xd3, 0x57, 0x37, 0x6b, 0x65, 0x98, 0xe6, 0x44, 0xad, 0x7d, 0x67,
	0x8c, 0x02, 0x95, 0xd2, 0x2d, 0xe4, 0xcb, 0x43, 0xd5, 0x13, 0x55, 0x81, 0xed, 0x36, 0x34,
	0x6b, 0xfa, 0x7c, 0xf4, 0x2a, 0x18, 0x2b, 0x85, 0x28, 0x93, 0xd0, 0xc5, 0x88, 0x7b, 0xc4,
	0x37, 0x66, 0x15, 0x9a, 0x06, 0x17, 0xa7, 0x1e, 0x0f, 0x72, 0x70, 0x9e, 0x85, 0x6c, 0xca,
	0x0f, 0xba, 0x66, 0x9c, 0x82, 0x9b, 0xd1, 0x63, 0xd9, 0x33, 0xa9, 0xf0, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t kat_msg2[92] = {
	0x02, 0x00, 0x00, 0x00, 0xdd, 0xcc, 0xbb, 0xaa, 0x44, 0x33, 0x22, 0x11, 0x24, 0x4f,
	0xe3, 0xb9, 0x63, 0xe8, 0x99, 0xdd, 0x29, 0x5b, 0xaf, 0xfc, 0xe2, 0x48, 0xd3, 0x53,
	0x0f, 0x3a, 0x9a, 0x74, 0x79, 0xba, 0x06, 0x30, 0x02, 0x68, 0x0e, 0xbf, 0xe7, 0xad,
	0xad, 0x49, 0x0f, 0x57, 0xff, 0xe0, 0x19, 0x73, 0x88, 0x85, 0x70, 0xfb, 0x61, 0x42,
	0x67, 0x57, 0xb2, 0xf5, 0xce, 0x9c, 0xf0, 0x14, 0x6a, 0xf9, 0x3e, 0x25, 0xd6, 0xa3,
	0xa8, 0xda, 0x25, 0x6a, 0xcf, 0xdc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t kat_t_send_i[32] = {
	0xe3, 0x91, 0x6b, 0xcf, 0xbb, 0xb2, 0x2d, 0xf8, 0x81, 0x82, 0xfb,
	0xb8, 0xa7, 0xa7, 0x16, 0xce, 0xcd, 0x48, 0x16, 0x08, 0xda, 0x4a,
	0x00, 0x90, 0x66, 0xb6, 0xb5, 0xb7, 0x6e, 0xfc, 0x08, 0xba,
};
static const uint8_t kat_t_recv_i[32] = {
	0x4a, 0x3f, 0x7b, 0xf2, 0x14, 0x9b, 0xb9, 0xe7, 0xa6, 0xeb, 0x1b,
	0x70, 0xb1, 0x17, 0x99, 0x79, 0xb4, 0xc9, 0x7e, 0xa3, 0xb7, 0xac,
	0xc8, 0x49, 0xd7, 0xfc, 0x19, 0x94, 0x13, 0x4a, 0x9b, 0x1e,
};
static const uint8_t kat_data[48] = {
	0x04, 0x00, 0x00, 0x00, 0xdd, 0xcc, 0xbb, 0xaa, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x43, 0x80, 0x3e, 0x57, 0xfd, 0x05, 0x44, 0x3d,
	0x64, 0xc3, 0x82, 0x73, 0xdf, 0xab, 0x6b, 0x12, 0xf2, 0x2a, 0xf8, 0x33,
	0x6a, 0xb4, 0x80, 0x50, 0x3c, 0xe9, 0x9a, 0x51, 0x81, 0x18, 0x48, 0xb3,
};
static const uint8_t kat_data_r[48] = {
	0x04, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x19, 0x4e, 0xa7, 0x25, 0x53, 0x58, 0x8a, 0x14,
	0x03, 0xfe, 0xa4, 0x65, 0x0b, 0xfe, 0x48, 0x75, 0xb6, 0x06, 0x4a, 0x1c,
	0xe3, 0x0e, 0x58, 0x70, 0xcb, 0xdd, 0x5d, 0xa0, 0x8d, 0x90, 0x64, 0xe4,
};

#define KAT_SENDER_I 0x11223344u
#define KAT_SENDER_R 0xaabbccddu
#define MAX_INDICES  8
#define BUF_LEN	     256
#define SEC	     WG_NSEC_PER_SEC
#define MS	     1000000ULL

/* One side: an identity, the one peer it knows, and the caller's index map. */
struct node {
	struct wg_noise_local local;
	struct wg_noise_upcalls up;
	struct wg_noise_remote peer;
	bool know_peer;
	uint32_t idx[MAX_INDICES]; /* local indices mapped to peer */
	size_t nidx;
	uint32_t next_idx;
	const uint8_t *eph; /* fixed ephemeral private key, or NULL */
	struct wg_cookie_checker cc;
	struct wg_cookie_maker cm;
	uint64_t wall; /* wall-clock seconds for timestamps */
};

static struct wg_noise_remote *up_remote_get(void *arg, const uint8_t public[WG_KEY_LEN])
{
	struct node *n = arg;

	if (n->know_peer && memcmp(public, n->peer.r_public, WG_KEY_LEN) == 0)
		return &n->peer;
	return NULL;
}

static int up_index_new(void *arg, struct wg_noise_remote *r, uint32_t *index)
{
	struct node *n = arg;

	assert_ptr_equal(r, &n->peer);
	assert_true(n->nidx < MAX_INDICES);
	*index = n->next_idx++;
	n->idx[n->nidx++] = *index;
	return 0;
}

static struct wg_noise_remote *up_index_get(void *arg, uint32_t index)
{
	struct node *n = arg;
	size_t i;

	for (i = 0; i < n->nidx; i++)
		if (n->idx[i] == index)
			return &n->peer;
	return NULL;
}

static void up_index_drop(void *arg, uint32_t index)
{
	struct node *n = arg;
	size_t i;

	for (i = 0; i < n->nidx; i++)
		if (n->idx[i] == index)
			break;
	/* Every drop must match a live index: no double drops, no leaks. */
	assert_true(i < n->nidx);
	n->idx[i] = n->idx[--n->nidx];
}

static void up_random(void *arg, uint8_t *buf, size_t len)
{
	struct node *n = arg;

	if (n->eph)
		memcpy(buf, n->eph, len);
	else
		randombytes_buf(buf, len);
}

static void node_init(struct node *n, const uint8_t priv[32], const uint8_t peer_pub[32],
		      const uint8_t *psk, uint32_t idx_base)
{
	memset(n, 0, sizeof(*n));
	n->up.u_arg = n;
	n->up.u_remote_get = up_remote_get;
	n->up.u_index_new = up_index_new;
	n->up.u_index_get = up_index_get;
	n->up.u_index_drop = up_index_drop;
	n->up.u_random = up_random;
	assert_int_equal(wg_noise_local_init(&n->local, priv, &n->up, NULL), 0);
	wg_noise_remote_init(&n->peer, &n->local, peer_pub, psk);
	n->know_peer = true;
	n->next_idx = idx_base;
	n->wall = 1700000000;
	wg_cookie_checker_init(&n->cc, n->local.l_public);
	wg_cookie_maker_init(&n->cm, peer_pub);
}

static void node_fini(struct node *n)
{
	wg_noise_remote_destroy(&n->peer);
	assert_int_equal(n->nidx, 0);
	wg_noise_local_destroy(&n->local);
}

/* A pair with random static keys. */
static void pair_init(struct node *a, struct node *b, const uint8_t *psk_a, const uint8_t *psk_b)
{
	uint8_t sa[32], sb[32], pa[32], pb[32];

	randombytes_buf(sa, sizeof(sa));
	randombytes_buf(sb, sizeof(sb));
	crypto_scalarmult_base(pa, sa);
	crypto_scalarmult_base(pb, sb);
	node_init(a, sa, pb, psk_a, 100);
	node_init(b, sb, pa, psk_b, 200);
}

static int send_initiation(struct node *n, uint8_t buf[WG_MSG_INITIATION_LEN], uint64_t now)
{
	struct wg_msg_initiation m;
	uint8_t ts[WG_TAI64N_LEN];
	int ret;

	wg_tai64n_encode(ts, n->wall++, 0);
	ret = wg_noise_create_initiation(&n->peer, &m, ts);
	if (ret < 0)
		return ret;
	wg_msg_initiation_encode(&m, buf);
	return wg_cookie_maker_add_macs(&n->cm, buf, WG_MSG_INITIATION_LEN, now);
}

/* What a caller does with a received initiation: macs, decode, consume. */
static int recv_initiation(struct node *n, const uint8_t *buf, size_t len, uint64_t now)
{
	struct wg_msg_initiation m;
	struct wg_noise_remote *r = NULL;
	int ret;

	if (wg_cookie_checker_validate(&n->cc, buf, len, (const uint8_t *)"src", 3, now, false) !=
	    WG_COOKIE_ACCEPT)
		return -EPERM;
	ret = wg_msg_initiation_decode(buf, len, &m);
	if (ret < 0)
		return ret;
	ret = wg_noise_consume_initiation(&n->local, &m, now, &r);
	if (ret == 0)
		assert_ptr_equal(r, &n->peer);
	return ret;
}

static int send_response(struct node *n, uint8_t buf[WG_MSG_RESPONSE_LEN], uint64_t now)
{
	struct wg_msg_response m;
	int ret;

	ret = wg_noise_create_response(&n->peer, &m, now);
	if (ret < 0)
		return ret;
	wg_msg_response_encode(&m, buf);
	return wg_cookie_maker_add_macs(&n->cm, buf, WG_MSG_RESPONSE_LEN, now);
}

static int recv_response(struct node *n, const uint8_t *buf, size_t len, uint64_t now)
{
	struct wg_msg_response m;
	struct wg_noise_remote *r = NULL;
	int ret;

	if (wg_cookie_checker_validate(&n->cc, buf, len, (const uint8_t *)"src", 3, now, false) !=
	    WG_COOKIE_ACCEPT)
		return -EPERM;
	ret = wg_msg_response_decode(buf, len, &m);
	if (ret < 0)
		return ret;
	ret = wg_noise_consume_response(&n->local, &m, now, &r);
	if (ret == 0)
		assert_ptr_equal(r, &n->peer);
	return ret;
}

/* A full handshake, I initiating to R. */
static void handshake(struct node *i, struct node *r, uint64_t now)
{
	uint8_t m1[WG_MSG_INITIATION_LEN], m2[WG_MSG_RESPONSE_LEN];

	assert_int_equal(send_initiation(i, m1, now), 0);
	assert_int_equal(recv_initiation(r, m1, sizeof(m1), now), 0);
	assert_int_equal(send_response(r, m2, now), 0);
	assert_int_equal(recv_response(i, m2, sizeof(m2), now), 0);
}

static int send_data(struct node *n, uint64_t now, const char *text, uint8_t buf[BUF_LEN],
		     size_t *len)
{
	size_t tl = strlen(text);

	memcpy(buf + WG_DATA_HEADER_LEN, text, tl);
	return wg_keypairs_encrypt(&n->peer.r_keypairs, now, buf, BUF_LEN, tl, 0, len);
}

/* Decrypt a copy of BUF; on success check the plaintext is TEXT. */
static int recv_data(struct node *n, uint64_t now, const uint8_t *buf, size_t len, const char *text)
{
	uint8_t copy[BUF_LEN];
	size_t plen = 0, tl = text ? strlen(text) : 0;
	int ret;

	assert_true(len <= sizeof(copy));
	memcpy(copy, buf, len);
	/* The caller's map routes the packet by receiver index. */
	if (len >= 8 && up_index_get(n, wg_le32_get(copy + 4)) == NULL)
		return -ENOKEY;
	ret = wg_keypairs_decrypt(&n->peer.r_keypairs, now, copy, len, &plen);
	if (ret >= 0 && text) {
		assert_true(plen >= tl && plen % WG_DATA_PADDING == 0);
		assert_memory_equal(copy + WG_DATA_HEADER_LEN, text, tl);
	}
	return ret;
}

static void test_known_answer(void **state)
{
	struct node a, b;
	struct wg_msg_initiation mi;
	struct wg_msg_response mr;
	struct wg_noise_remote *r;
	struct wg_aead ae;
	uint8_t pa[32], pb[32], psk[32], buf[BUF_LEN], m1[148], m2[92];
	size_t len;

	(void)state;
	memset(psk, 0xa5, sizeof(psk));
	crypto_scalarmult_base(pa, kat_si);
	crypto_scalarmult_base(pb, kat_sr);
	node_init(&a, kat_si, pb, psk, KAT_SENDER_I);
	node_init(&b, kat_sr, pa, psk, KAT_SENDER_R);
	a.eph = kat_ei;
	b.eph = kat_er;

	assert_int_equal(wg_noise_create_initiation(&a.peer, &mi, kat_ts), 0);
	wg_msg_initiation_encode(&mi, m1);
	assert_int_equal(wg_cookie_maker_add_macs(&a.cm, m1, sizeof(m1), 0), 0);
	assert_memory_equal(m1, kat_msg1, sizeof(m1));

	assert_int_equal(recv_initiation(&b, kat_msg1, sizeof(kat_msg1), 0), 0);
	assert_int_equal(wg_noise_create_response(&b.peer, &mr, 0), 0);
	wg_msg_response_encode(&mr, m2);
	assert_int_equal(wg_cookie_maker_add_macs(&b.cm, m2, sizeof(m2), 0), 0);
	assert_memory_equal(m2, kat_msg2, sizeof(m2));

	assert_int_equal(wg_msg_response_decode(kat_msg2, sizeof(kat_msg2), &mr), 0);
	assert_int_equal(wg_noise_consume_response(&a.local, &mr, 0, &r), 0);

	assert_int_equal(send_data(&a, 0, "hello, wiregu", buf, &len), 0);
	assert_int_equal(len, sizeof(kat_data));
	assert_memory_equal(buf, kat_data, sizeof(kat_data));
	assert_int_equal(recv_data(&b, 0, kat_data, sizeof(kat_data), "hello, wiregu"),
			 WG_KEYPAIR_F_CONFIRMED);

	assert_int_equal(send_data(&b, 0, "pong", buf, &len), 0);
	assert_memory_equal(buf, kat_data_r, sizeof(kat_data_r));
	assert_int_equal(recv_data(&a, 0, kat_data_r, sizeof(kat_data_r), "pong"), 0);

	/* The transport keys themselves, through the AEAD interface. */
	assert_int_equal(wg_aead_init(&ae, kat_t_send_i, kat_t_recv_i), 0);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + WG_DATA_HEADER_LEN, "hello, wiregu", 13);
	assert_int_equal(wg_aead_seal(&ae, 0, buf + 16, 16, buf + 32), 0);
	assert_memory_equal(buf + 16, kat_data + 16, 32);
	memcpy(buf, kat_data_r, sizeof(kat_data_r));
	assert_int_equal(wg_aead_open(&ae, 0, buf + 16, 16, buf + 32), 0);
	assert_memory_equal(buf + 16, "pong\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	wg_aead_destroy(&ae);

	node_fini(&a);
	node_fini(&b);
}

static void test_handshake_and_data(void **state)
{
	struct node a, b;
	uint8_t buf[BUF_LEN];
	size_t len;
	char text[64];
	int i;

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	handshake(&a, &b, 1 * SEC);

	/* The responder may not send first: its keypair is unconfirmed. */
	assert_int_equal(send_data(&b, 1 * SEC, "too early", buf, &len), -ENOKEY);
	assert_null(b.peer.r_keypairs.kps_current);
	assert_non_null(b.peer.r_keypairs.kps_next);

	/* The initiator's first packet, a keepalive, confirms it. */
	assert_int_equal(send_data(&a, 1 * SEC, "", buf, &len), 0);
	assert_int_equal(len, WG_DATA_MIN_LEN);
	assert_int_equal(recv_data(&b, 1 * SEC, buf, len, ""),
			 WG_KEYPAIR_F_CONFIRMED | WG_KEYPAIR_F_KEEPALIVE);
	assert_non_null(b.peer.r_keypairs.kps_current);
	assert_null(b.peer.r_keypairs.kps_next);

	for (i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "a to b %d", i);
		assert_int_equal(send_data(&a, 2 * SEC, text, buf, &len), 0);
		assert_int_equal(recv_data(&b, 2 * SEC, buf, len, text), 0);
		snprintf(text, sizeof(text), "b to a, a bit longer, %d", i);
		assert_int_equal(send_data(&b, 2 * SEC, text, buf, &len), 0);
		assert_int_equal(recv_data(&a, 2 * SEC, buf, len, text), 0);
	}

	node_fini(&a);
	node_fini(&b);
}

static void test_replay_and_reorder(void **state)
{
	struct node a, b;
	uint8_t pkt[5][BUF_LEN];
	size_t len[5];
	static const int order[] = {2, 0, 1, 4, 3};
	int i;

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	handshake(&a, &b, 0);
	for (i = 0; i < 5; i++)
		assert_true(send_data(&a, 0, "x", pkt[i], &len[i]) >= 0);
	for (i = 0; i < 5; i++)
		assert_true(recv_data(&b, 0, pkt[order[i]], len[order[i]], "x") >= 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(recv_data(&b, 0, pkt[i], len[i], "x"), -EALREADY);
	node_fini(&a);
	node_fini(&b);
}

static void test_replayed_initiation(void **state)
{
	struct node a, b;
	uint8_t m1[148], m1b[148], m2[92], old[148];

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	assert_int_equal(send_initiation(&a, old, 0), 0); /* an earlier timestamp */
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 10 * SEC), 0);

	/* The same initiation again, even much later, is a replay. */
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 20 * SEC), -EALREADY);
	/* So is any older one. */
	assert_int_equal(recv_initiation(&b, old, sizeof(old), 20 * SEC), -EALREADY);

	/* The rejected copies changed nothing: the handshake completes. */
	assert_int_equal(send_response(&b, m2, 20 * SEC), 0);
	assert_int_equal(recv_response(&a, m2, sizeof(m2), 20 * SEC), 0);

	/* A fresh initiation within 1/50 s of the last accepted is a flood. */
	assert_int_equal(send_initiation(&a, m1b, 0), 0);
	assert_int_equal(recv_initiation(&b, m1b, sizeof(m1b), 10 * SEC + 19 * MS), -EBUSY);
	assert_int_equal(recv_initiation(&b, m1b, sizeof(m1b), 10 * SEC + 20 * MS), 0);
	node_fini(&a);
	node_fini(&b);
}

static void test_wrong_keys(void **state)
{
	struct node a, b, c;
	struct wg_msg_initiation mi;
	struct wg_noise_remote *r;
	uint8_t m1[148], m2[92], psk1[32], psk2[32], sc[32], pc[32], sx[32], px[32];

	(void)state;
	/* The responder does not know the initiator's static key. */
	pair_init(&a, &b, NULL, NULL);
	b.know_peer = false;
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 0), -ENOENT);
	node_fini(&a);
	node_fini(&b);

	/* The initiator has the wrong key for the responder: mac1 fails, and
	 * without the mac check the static key fails to decrypt. */
	randombytes_buf(sc, sizeof(sc));
	randombytes_buf(sx, sizeof(sx));
	crypto_scalarmult_base(pc, sc);
	crypto_scalarmult_base(px, sx);
	randombytes_buf(sx, sizeof(sx)); /* b's real key: not sx */
	node_init(&b, sx, pc, NULL, 200);
	node_init(&c, sc, px, NULL, 300);
	assert_int_equal(send_initiation(&c, m1, 0), 0);
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 0), -EPERM);
	assert_int_equal(wg_msg_initiation_decode(m1, sizeof(m1), &mi), 0);
	assert_int_equal(wg_noise_consume_initiation(&b.local, &mi, 0, &r), -EBADMSG);
	node_fini(&b);
	node_fini(&c);

	/* A low-order ephemeral (all-zero shared secret) is refused. */
	pair_init(&a, &b, NULL, NULL);
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	assert_int_equal(wg_msg_initiation_decode(m1, sizeof(m1), &mi), 0);
	memset(mi.ephemeral, 0, sizeof(mi.ephemeral));
	assert_int_equal(wg_noise_consume_initiation(&b.local, &mi, 0, &r), -EINVAL);
	node_fini(&a);
	node_fini(&b);

	/* Mismatched preshared keys: the response fails to decrypt and the
	 * initiator stays waiting. */
	memset(psk1, 1, sizeof(psk1));
	memset(psk2, 2, sizeof(psk2));
	pair_init(&a, &b, psk1, psk2);
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 0), 0);
	assert_int_equal(send_response(&b, m2, 0), 0);
	assert_int_equal(recv_response(&a, m2, sizeof(m2), 0), -EBADMSG);
	assert_int_equal(a.peer.r_hs.hs_state, WG_NOISE_CREATED_INITIATION);
	assert_null(a.peer.r_keypairs.kps_current);
	/* With the same psk on both ends it works. */
	wg_noise_remote_set_psk(&b.peer, psk1);
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), SEC), 0);
	assert_int_equal(send_response(&b, m2, SEC), 0);
	assert_int_equal(recv_response(&a, m2, sizeof(m2), SEC), 0);
	/* The same response twice: the handshake is gone. */
	assert_int_equal(recv_response(&a, m2, sizeof(m2), SEC), -EINVAL);
	node_fini(&a);
	node_fini(&b);
}

static void test_response_unknown_index(void **state)
{
	struct node a, b;
	uint8_t m1[148], m2[92];
	struct wg_msg_response mr;
	struct wg_noise_remote *r;

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 0), 0);
	assert_int_equal(send_response(&b, m2, 0), 0);
	assert_int_equal(wg_msg_response_decode(m2, sizeof(m2), &mr), 0);
	mr.receiver ^= 0x80000000u;
	assert_int_equal(wg_noise_consume_response(&a.local, &mr, 0, &r), -ENOENT);
	/* A response without a pending initiation. */
	assert_int_equal(wg_noise_create_response(&a.peer, &mr, 0), -EINVAL);
	node_fini(&a);
	node_fini(&b);
}

static void test_flip_every_byte(void **state)
{
	struct node a, b;
	uint8_t m1[148], m2[92], bad[BUF_LEN], data[BUF_LEN];
	struct wg_msg_initiation mi;
	struct wg_noise_remote *r;
	size_t i, len;
	int bit;

	(void)state;
	pair_init(&a, &b, NULL, NULL);

	/* Initiation: every byte up to mac2 is covered by mac1; past the
	 * sender index the Noise transcript covers them too. mac2 is checked
	 * only under load (see test_wg_cookie). */
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	for (i = 0; i < WG_INIT_OFF_MAC2; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, m1, sizeof(m1));
			bad[i] ^= (uint8_t)(1 << bit);
			assert_int_not_equal(recv_initiation(&b, bad, sizeof(m1), 0), 0);
			if (i < WG_INIT_OFF_EPHEMERAL || i >= WG_INIT_OFF_MAC1)
				continue;
			assert_int_equal(wg_msg_initiation_decode(bad, sizeof(m1), &mi), 0);
			assert_int_not_equal(wg_noise_consume_initiation(&b.local, &mi, 0, &r), 0);
		}
	}
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 0), 0);

	/* Response. */
	assert_int_equal(send_response(&b, m2, 0), 0);
	for (i = 0; i < WG_RESP_OFF_MAC2; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, m2, sizeof(m2));
			bad[i] ^= (uint8_t)(1 << bit);
			assert_int_not_equal(recv_response(&a, bad, sizeof(m2), 0), 0);
		}
	}
	assert_int_equal(recv_response(&a, m2, sizeof(m2), 0), 0);

	/* Transport: every byte of header, ciphertext and tag. */
	assert_int_equal(send_data(&a, 0, "flip me, all of me", data, &len), 0);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, data, len);
			bad[i] ^= (uint8_t)(1 << bit);
			assert_true(recv_data(&b, 0, bad, len, NULL) < 0);
		}
	}
	assert_int_equal(recv_data(&b, 0, data, len, "flip me, all of me"), WG_KEYPAIR_F_CONFIRMED);
	node_fini(&a);
	node_fini(&b);
}

static void test_truncated_and_oversized(void **state)
{
	struct node a, b;
	uint8_t m1[149], m2[93], data[BUF_LEN];
	size_t len;

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	m1[148] = 0;
	assert_int_not_equal(recv_initiation(&b, m1, 147, 0), 0);
	assert_int_not_equal(recv_initiation(&b, m1, 149, 0), 0);
	assert_int_not_equal(recv_initiation(&b, m1, 0, 0), 0);
	assert_int_equal(recv_initiation(&b, m1, 148, 0), 0);

	assert_int_equal(send_response(&b, m2, 0), 0);
	m2[92] = 0;
	assert_int_not_equal(recv_response(&a, m2, 91, 0), 0);
	assert_int_not_equal(recv_response(&a, m2, 93, 0), 0);
	assert_int_not_equal(recv_response(&a, m2, 4, 0), 0);
	assert_int_equal(recv_response(&a, m2, 92, 0), 0);

	assert_int_equal(send_data(&a, 0, "0123456789abcdef0", data, &len), 0);
	assert_int_equal(len, WG_DATA_MIN_LEN + 32);
	assert_int_equal(recv_data(&b, 0, data, WG_DATA_MIN_LEN - 1, NULL), -EINVAL);
	assert_int_equal(recv_data(&b, 0, data, WG_DATA_MIN_LEN, NULL), -EBADMSG);
	assert_int_equal(recv_data(&b, 0, data, len - 1, NULL), -EBADMSG);
	data[len] = 0;
	assert_int_equal(recv_data(&b, 0, data, len + 1, NULL), -EBADMSG);
	assert_int_equal(recv_data(&b, 0, data, len, "0123456789abcdef0"), WG_KEYPAIR_F_CONFIRMED);
	node_fini(&a);
	node_fini(&b);
}

static void test_rekey_rotation(void **state)
{
	struct node a, b;
	uint8_t old_a[BUF_LEN], old_b[BUF_LEN], buf[BUF_LEN];
	size_t len_a, len_b, len;

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	handshake(&a, &b, 0);
	assert_int_equal(send_data(&a, 0, "first", buf, &len), 0);
	assert_int_equal(recv_data(&b, 0, buf, len, "first"), WG_KEYPAIR_F_CONFIRMED);

	/* Packets in flight on the first keypair, delivered after the rekey. */
	assert_int_equal(send_data(&a, SEC, "late from a", old_a, &len_a), 0);
	assert_int_equal(send_data(&b, SEC, "late from b", old_b, &len_b), 0);

	/* Second handshake, a initiating again. */
	handshake(&a, &b, 2 * SEC);
	assert_non_null(a.peer.r_keypairs.kps_previous);
	assert_non_null(b.peer.r_keypairs.kps_next);
	/* b still sends on the old keypair until the new one is confirmed. */
	assert_int_equal(send_data(&b, 2 * SEC, "b on old", buf, &len), 0);
	assert_int_equal(recv_data(&a, 2 * SEC, buf, len, "b on old"), 0);
	assert_int_equal(recv_data(&a, 2 * SEC, old_b, len_b, "late from b"), 0);
	assert_int_equal(send_data(&a, 2 * SEC, "a on new", buf, &len), 0);
	assert_int_equal(recv_data(&b, 2 * SEC, buf, len, "a on new"), WG_KEYPAIR_F_CONFIRMED);
	assert_int_equal(recv_data(&b, 2 * SEC, old_a, len_a, "late from a"), 0);
	assert_int_equal(send_data(&b, 2 * SEC, "b on new", buf, &len), 0);
	assert_int_equal(recv_data(&a, 2 * SEC, buf, len, "b on new"), 0);

	/* Third, the other way round. */
	handshake(&b, &a, 3 * SEC);
	assert_int_equal(send_data(&b, 3 * SEC, "b leads", buf, &len), 0);
	assert_int_equal(recv_data(&a, 3 * SEC, buf, len, "b leads"), WG_KEYPAIR_F_CONFIRMED);
	assert_int_equal(send_data(&a, 3 * SEC, "a follows", buf, &len), 0);
	assert_int_equal(recv_data(&b, 3 * SEC, buf, len, "a follows"), 0);

	/* At most three keypairs' indices are live on each side. */
	assert_true(a.nidx <= 3 && b.nidx <= 3);

	/* Zeroing the keys drops every index and stops traffic. */
	wg_noise_remote_clear(&a.peer);
	assert_int_equal(a.nidx, 0);
	assert_int_equal(send_data(&a, 3 * SEC, "gone", buf, &len), -ENOKEY);
	node_fini(&a);
	node_fini(&b);
}

static void test_repeated_initiation(void **state)
{
	struct node a, b;
	uint8_t m1[148], m1b[148], m2[92];

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	/* A retry replaces the pending handshake and its index. */
	assert_int_equal(send_initiation(&a, m1, 0), 0);
	assert_int_equal(a.nidx, 1);
	assert_int_equal(send_initiation(&a, m1b, 5 * SEC), 0);
	assert_int_equal(a.nidx, 1);
	/* The answer to the first one is now stale. */
	assert_int_equal(recv_initiation(&b, m1, sizeof(m1), 5 * SEC), 0);
	assert_int_equal(send_response(&b, m2, 5 * SEC), 0);
	assert_int_not_equal(recv_response(&a, m2, sizeof(m2), 5 * SEC), 0);
	/* The second one completes. */
	assert_int_equal(recv_initiation(&b, m1b, sizeof(m1b), 6 * SEC), 0);
	assert_int_equal(send_response(&b, m2, 6 * SEC), 0);
	assert_int_equal(recv_response(&a, m2, sizeof(m2), 6 * SEC), 0);
	node_fini(&a);
	node_fini(&b);
}

/* Both sides initiate at once; each answers the other, and the later
 * completion wins on each side; traffic still flows. */
static void test_simultaneous_initiation(void **state)
{
	struct node a, b;
	uint8_t ma[148], mb[148], ra[92], rb[92], buf[BUF_LEN];
	size_t len;

	(void)state;
	pair_init(&a, &b, NULL, NULL);
	assert_int_equal(send_initiation(&a, ma, 0), 0);
	assert_int_equal(send_initiation(&b, mb, 0), 0);
	assert_int_equal(recv_initiation(&b, ma, sizeof(ma), 0), 0);
	assert_int_equal(send_response(&b, rb, 0), 0);
	assert_int_equal(recv_response(&a, rb, sizeof(rb), 0), 0);
	/* b's own initiation was abandoned when it consumed a's. */
	assert_int_equal(recv_initiation(&a, mb, sizeof(mb), 0), 0);
	assert_int_equal(send_response(&a, ra, 0), 0);
	assert_int_not_equal(recv_response(&b, ra, sizeof(ra), 0), 0);

	assert_int_equal(send_data(&a, 0, "still works", buf, &len), 0);
	assert_int_equal(recv_data(&b, 0, buf, len, "still works"), WG_KEYPAIR_F_CONFIRMED);
	assert_int_equal(send_data(&b, 0, "yes", buf, &len), 0);
	assert_int_equal(recv_data(&a, 0, buf, len, "yes"), 0);
	node_fini(&a);
	node_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_replay_and_reorder),
		cmocka_unit_test(test_replayed_initiation),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_response_unknown_index),
		cmocka_unit_test(test_flip_every_byte),
		cmocka_unit_test(test_truncated_and_oversized),
		cmocka_unit_test(test_rekey_rotation),
		cmocka_unit_test(test_repeated_initiation),
		cmocka_unit_test(test_simultaneous_initiation),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
