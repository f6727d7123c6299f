/* Transport keypairs: slot rotation, confirmation, data sealing and opening,
 * padding, replay, counter exhaustion and expiry, and the AEAD underneath.
 * Keypairs are installed with fixed keys; no handshake is needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wg/aead.h"
#include "wg/keypair.h"
#include "wg/messages.h"
#include "wg/timers.h"

#define SEC	WG_NSEC_PER_SEC
#define BUF_LEN 2048

/* ChaCha20-Poly1305 of bytes 0..99 zero-padded to 112, key 0x80..0x9f,
 * counter 0x0102030405060708, computed with Python's `cryptography`. */
static const uint8_t kat_ct[128] = {
	0xf4, 0xb0, 0xec, 0xb8, 0x54, 0xdf, 0x5d, 0xda, 0x2b, 0xb8, 0x7b, 0x80, 0x02, 0x7a, 0x6b,
	0xd0, 0xe3, 0x62, 0x46, 0xf8, 0x26, 0x3f, 0x85, 0xb9, 0x13, 0x29, 0x62, 0x85, 0x79, 0x56,
	0x97, 0x7d, 0xa4, 0x47, 0x16, 0x96, 0x99, 0xdb, 0x52, 0x4b, 0x54, 0xb6, 0x2b, 0xe1, 0x16,
	0x49, 0xda, 0x70, 0xe2, 0xe2, 0xa9, 0xc2, 0xc6, 0x4f, 0xbc, 0xc2, 0xf6, 0xf3, 0x92, 0x5b,
	0x79, 0x97, 0xba, 0x4a, 0x3e, 0xc3, 0x70, 0xda, 0x7d, 0xd9, 0x98, 0xd9, 0x4e, 0xb4, 0x89,
	0x54, 0x7b, 0x1f, 0x82, 0x84, 0x8d, 0x5b, 0xee, 0xb1, 0xca, 0xec, 0x3a, 0xea, 0xa0, 0xad,
	0x07, 0xc5, 0x93, 0xb7, 0xcb, 0x3d, 0x69, 0x50, 0x84, 0xf2, 0xfa, 0x28, 0x97, 0x3a, 0xd8,
	0xf0, 0xc1, 0xda, 0x17, 0xb9, 0xeb, 0x0c, 0x1c, 0x21, 0xf4, 0xfc, 0xb4, 0x56, 0x5e, 0x5e,
	0x2e, 0x7f, 0xa2, 0x2f, 0x3d, 0x60, 0xe9, 0x19,
};

/* Dropped indices, in order. */
struct drops {
	uint32_t idx[16];
	size_t n;
};

static void on_drop(void *arg, uint32_t index)
{
	struct drops *d = arg;

	assert_true(d->n < 16);
	d->idx[d->n++] = index;
}

struct pair {
	struct wg_keypairs a, b; /* a initiates */
	struct drops da, db;
};

static void key_for(uint8_t key[32], int n)
{
	memset(key, n, 32);
}

/* Handshake number N: a gets local index 2N, b 2N+1. */
static void install(struct pair *p, int n, uint64_t now)
{
	uint8_t k1[32], k2[32];

	key_for(k1, 2 * n);
	key_for(k2, 2 * n + 1);
	assert_int_equal(wg_keypairs_install(&p->a, true, k1, k2, 2 * n, 2 * n + 1, now), 0);
	assert_int_equal(wg_keypairs_install(&p->b, false, k2, k1, 2 * n + 1, 2 * n, now), 0);
}

static void pair_init(struct pair *p, const struct wg_timer_config *cfg)
{
	memset(p, 0, sizeof(*p));
	wg_keypairs_init(&p->a, cfg, on_drop, &p->da);
	wg_keypairs_init(&p->b, cfg, on_drop, &p->db);
}

static void pair_fini(struct pair *p)
{
	wg_keypairs_clear(&p->a);
	wg_keypairs_clear(&p->b);
}

static int seal(struct wg_keypairs *k, uint64_t now, const char *text, uint8_t *buf, size_t *len)
{
	size_t tl = strlen(text);

	memcpy(buf + WG_DATA_HEADER_LEN, text, tl);
	return wg_keypairs_encrypt(k, now, buf, BUF_LEN, tl, 0, len);
}

static int open_copy(struct wg_keypairs *k, uint64_t now, const uint8_t *buf, size_t len)
{
	uint8_t copy[BUF_LEN];
	size_t plen;

	memcpy(copy, buf, len);
	return wg_keypairs_decrypt(k, now, copy, len, &plen);
}

static void test_aead_known_answer(void **state)
{
	struct wg_keypairs k;
	uint8_t key[32], other[32], buf[BUF_LEN];
	size_t i, len;

	(void)state;
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	memset(other, 0, sizeof(other));
	wg_keypairs_init(&k, NULL, NULL, NULL);
	assert_int_equal(wg_keypairs_install(&k, true, key, other, 1, 0x01020304, 0), 0);
	k.kps_current->kp_send_counter = 0x0102030405060708ULL;
	for (i = 0; i < 100; i++)
		buf[WG_DATA_HEADER_LEN + i] = (uint8_t)i;
	assert_int_equal(wg_keypairs_encrypt(&k, 0, buf, sizeof(buf), 100, 0, &len), 0);
	assert_int_equal(len, 16 + 128);
	assert_memory_equal(buf, "\x04\0\0\0\x04\x03\x02\x01\x08\x07\x06\x05\x04\x03\x02\x01", 16);
	assert_memory_equal(buf + 16, kat_ct, sizeof(kat_ct));
	wg_keypairs_clear(&k);
}

/* A batch's AEAD split off: sealed on alternating lanes, opened on the other
 * ones, finished in order; a duplicate inside the batch, a forgery, and a
 * keypair confirmed mid-batch behave as one packet at a time would. */
static void test_crypto_jobs(void **state)
{
	struct pair p;
	struct wg_crypto_job jobs[6];
	uint8_t bufs[6][BUF_LEN];
	size_t lens[6], plen;
	unsigned i;

	(void)state;
	pair_init(&p, NULL);
	install(&p, 1, 0);
	for (i = 0; i < 5; i++) {
		memset(bufs[i] + WG_DATA_HEADER_LEN, 'a' + (int)i, 40);
		assert_int_equal(wg_keypairs_encrypt_prepare(&p.a, 0, bufs[i], BUF_LEN, 40, 0,
							     &lens[i], &jobs[i]),
				 0);
	}
	for (i = 0; i < 5; i++)
		wg_crypto_job_run(&jobs[i], i % WG_LANES);
	for (i = 0; i < 5; i++)
		assert_int_equal(jobs[i].verdict, 0);
	memcpy(bufs[5], bufs[1], lens[1]); /* a duplicate */
	lens[5] = lens[1];
	bufs[3][WG_DATA_HEADER_LEN + 7] ^= 1; /* a forgery */
	for (i = 0; i < 6; i++)
		assert_int_equal(wg_keypairs_decrypt_prepare(&p.b, 0, bufs[i], lens[i], &jobs[i]),
				 0);
	for (i = 0; i < 6; i++)
		wg_crypto_job_run(&jobs[i], (i + 1) % WG_LANES);
	/* The first confirms b's next keypair; the rest are on it too. */
	assert_int_equal(wg_keypairs_decrypt_finish(&p.b, 0, &jobs[0], &plen),
			 WG_KEYPAIR_F_CONFIRMED);
	assert_int_equal(plen, 48);
	assert_int_equal(bufs[0][WG_DATA_HEADER_LEN], 'a');
	assert_int_equal(wg_keypairs_decrypt_finish(&p.b, 0, &jobs[1], &plen), 0);
	assert_int_equal(wg_keypairs_decrypt_finish(&p.b, 0, &jobs[2], &plen), 0);
	assert_int_equal(bufs[2][WG_DATA_HEADER_LEN + 39], 'c');
	assert_int_equal(wg_keypairs_decrypt_finish(&p.b, 0, &jobs[3], &plen), -EBADMSG);
	assert_int_equal(wg_keypairs_decrypt_finish(&p.b, 0, &jobs[4], &plen), 0);
	assert_int_equal(wg_keypairs_decrypt_finish(&p.b, 0, &jobs[5], &plen), -EALREADY);

	/* A job whose keypair went away before it was finished is dropped. */
	assert_int_equal(seal(&p.a, 0, "late", bufs[0], &lens[0]), 0);
	assert_int_equal(wg_keypairs_decrypt_prepare(&p.b, 0, bufs[0], lens[0], &jobs[0]), 0);
	wg_crypto_job_run(&jobs[0], 1);
	wg_keypairs_clear(&p.b);
	assert_int_equal(wg_keypairs_decrypt_finish(&p.b, 0, &jobs[0], &plen), -ENOKEY);
	pair_fini(&p);
}

static void test_confirmation_and_rotation(void **state)
{
	struct pair p;
	uint8_t buf[BUF_LEN], old[BUF_LEN];
	size_t len, old_len;

	(void)state;
	pair_init(&p, NULL);
	install(&p, 1, 0);
	assert_int_equal(seal(&p.b, 0, "x", buf, &len), -ENOKEY);
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	assert_int_equal(wg_le32_get(buf + 4), 3); /* b's index */
	assert_int_equal(open_copy(&p.b, 0, buf, len), WG_KEYPAIR_F_CONFIRMED);
	assert_int_equal(open_copy(&p.b, 0, buf, len), -EALREADY);
	assert_int_equal(seal(&p.b, 0, "y", buf, &len), 0);
	assert_int_equal(open_copy(&p.a, 0, buf, len), 0);
	assert_int_equal(seal(&p.b, 0, "late", old, &old_len), 0);

	/* Second handshake: a switches at once, b keeps sending on the old
	 * keypair until a's first packet on the new one. */
	install(&p, 2, SEC);
	assert_ptr_equal(p.a.kps_current, wg_keypairs_lookup(&p.a, 4));
	assert_ptr_equal(p.a.kps_previous, wg_keypairs_lookup(&p.a, 2));
	assert_ptr_equal(p.b.kps_next, wg_keypairs_lookup(&p.b, 5));
	assert_int_equal(seal(&p.b, SEC, "z", buf, &len), 0);
	assert_int_equal(wg_le32_get(buf + 4), 2); /* still the old keypair */
	assert_int_equal(open_copy(&p.a, SEC, buf, len), 0);

	/* Third handshake before b confirmed the second: a's unconfirmed
	 * second keypair becomes previous, the first is destroyed; b replaces
	 * its next. */
	install(&p, 3, 2 * SEC);
	assert_int_equal(p.da.n, 1);
	assert_int_equal(p.da.idx[0], 2);
	assert_int_equal(p.db.n, 1);
	assert_int_equal(p.db.idx[0], 5);
	assert_ptr_equal(p.a.kps_previous, wg_keypairs_lookup(&p.a, 4));
	assert_int_equal(open_copy(&p.a, 2 * SEC, old, old_len), -ENOKEY);

	assert_int_equal(seal(&p.a, 2 * SEC, "w", buf, &len), 0);
	assert_int_equal(open_copy(&p.b, 2 * SEC, buf, len), WG_KEYPAIR_F_CONFIRMED);
	assert_ptr_equal(p.b.kps_current, wg_keypairs_lookup(&p.b, 7));
	assert_ptr_equal(p.b.kps_previous, wg_keypairs_lookup(&p.b, 3));
	assert_null(p.b.kps_next);

	pair_fini(&p);
	assert_int_equal(p.da.n, 3);
	assert_int_equal(p.db.n, 3);
	assert_null(wg_keypairs_lookup(&p.a, 6));
}

static void test_padding(void **state)
{
	struct pair p;
	uint8_t buf[BUF_LEN], copy[BUF_LEN];
	size_t len, plen, i;

	(void)state;
	pair_init(&p, NULL);
	install(&p, 1, 0);
	for (i = 0; i <= 40; i++) {
		memset(buf + WG_DATA_HEADER_LEN, 0xee, i);
		memset(buf + WG_DATA_HEADER_LEN + i, 0x77, 32); /* must become zeros */
		assert_true(wg_keypairs_encrypt(&p.a, 0, buf, sizeof(buf), i, 0, &len) >= 0);
		assert_int_equal(len, WG_DATA_MIN_LEN + (i + 15) / 16 * 16);
		memcpy(copy, buf, len);
		assert_true(wg_keypairs_decrypt(&p.b, 0, copy, len, &plen) >= 0);
		assert_int_equal(plen, (i + 15) / 16 * 16);
		while (plen > i)
			assert_int_equal(copy[WG_DATA_HEADER_LEN + --plen], 0);
	}
	/* Padding never takes a packet past the MTU. */
	assert_true(wg_keypairs_encrypt(&p.a, 0, buf, sizeof(buf), 1419, 1420, &len) >= 0);
	assert_int_equal(len, WG_DATA_MIN_LEN + 1420);
	assert_true(wg_keypairs_encrypt(&p.a, 0, buf, sizeof(buf), 1409, 1420, &len) >= 0);
	assert_int_equal(len, WG_DATA_MIN_LEN + 1420);
	assert_true(wg_keypairs_encrypt(&p.a, 0, buf, sizeof(buf), 1408, 1420, &len) >= 0);
	assert_int_equal(len, WG_DATA_MIN_LEN + 1408);
	assert_true(wg_keypairs_encrypt(&p.a, 0, buf, sizeof(buf), 1500, 1420, &len) >= 0);
	assert_int_equal(len, WG_DATA_MIN_LEN + 1500);
	/* The buffer must hold header, padded plaintext and tag. */
	assert_int_equal(wg_keypairs_encrypt(&p.a, 0, buf, WG_DATA_MIN_LEN + 15, 1, 0, &len),
			 -EMSGSIZE);
	assert_true(wg_keypairs_encrypt(&p.a, 0, buf, WG_DATA_MIN_LEN + 16, 1, 0, &len) >= 0);
	pair_fini(&p);
}

static void test_counter_exhaustion(void **state)
{
	struct pair p;
	uint8_t buf[BUF_LEN];
	size_t len;

	(void)state;
	pair_init(&p, NULL);
	install(&p, 1, 0);

	/* The rekey hint comes once REKEY_AFTER_MESSAGES have been sent. */
	p.a.kps_current->kp_send_counter = WG_REKEY_AFTER_MESSAGES - 2;
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.b, 0, buf, len), WG_KEYPAIR_F_CONFIRMED);
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), WG_KEYPAIR_F_REKEY);
	assert_int_equal(open_copy(&p.b, 0, buf, len), 0);

	/* The last usable nonce is REJECT_AFTER_MESSAGES - 1. */
	p.a.kps_current->kp_send_counter = WG_REJECT_AFTER_MESSAGES - 1;
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), WG_KEYPAIR_F_REKEY);
	assert_true(wg_le64_get(buf + 8) == WG_REJECT_AFTER_MESSAGES - 1);
	assert_int_equal(open_copy(&p.b, 0, buf, len), 0);
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), -EKEYEXPIRED);
	/* And the receiver, having seen it, takes nothing more on that keypair. */
	p.a.kps_current->kp_send_counter = 5;
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.b, 0, buf, len), -EKEYEXPIRED);
	pair_fini(&p);

	/* A counter at or past the limit is refused before any crypto. */
	pair_init(&p, NULL);
	install(&p, 1, 0);
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	wg_le64_put(buf + 8, WG_REJECT_AFTER_MESSAGES);
	assert_int_equal(open_copy(&p.b, 0, buf, len), -EALREADY);
	pair_fini(&p);
}

static void test_expiry_by_time(void **state)
{
	const uint64_t t0 = 1000 * SEC;
	struct pair p;
	uint8_t buf[BUF_LEN];
	size_t len;

	(void)state;
	pair_init(&p, NULL);
	install(&p, 1, t0);
	assert_int_equal(seal(&p.a, t0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.b, t0, buf, len), WG_KEYPAIR_F_CONFIRMED);

	/* Initiator: rekey hint at REKEY_AFTER_TIME when sending. */
	assert_int_equal(seal(&p.a, t0 + WG_REKEY_AFTER_TIME - 1, "x", buf, &len), 0);
	assert_int_equal(seal(&p.a, t0 + WG_REKEY_AFTER_TIME, "x", buf, &len), WG_KEYPAIR_F_REKEY);
	/* Responder: never by time on send. */
	assert_int_equal(seal(&p.b, t0 + WG_REKEY_AFTER_TIME, "x", buf, &len), 0);

	/* Initiator receiving: once, at REJECT - KEEPALIVE - REKEY_TIMEOUT. */
	assert_int_equal(seal(&p.b, t0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.a, t0 + 165 * SEC - 1, buf, len), 0);
	assert_int_equal(seal(&p.b, t0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.a, t0 + 165 * SEC, buf, len), WG_KEYPAIR_F_REKEY);
	assert_int_equal(seal(&p.b, t0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.a, t0 + 166 * SEC, buf, len), 0);

	/* REJECT_AFTER_TIME: neither side sends nor receives. */
	assert_int_equal(seal(&p.a, t0 + WG_REJECT_AFTER_TIME - 1, "x", buf, &len),
			 WG_KEYPAIR_F_REKEY);
	assert_int_equal(open_copy(&p.b, t0 + WG_REJECT_AFTER_TIME - 1, buf, len), 0);
	assert_int_equal(seal(&p.a, t0 + WG_REJECT_AFTER_TIME - 1, "x", buf, &len),
			 WG_KEYPAIR_F_REKEY);
	assert_int_equal(open_copy(&p.b, t0 + WG_REJECT_AFTER_TIME, buf, len), -EKEYEXPIRED);
	assert_int_equal(seal(&p.a, t0 + WG_REJECT_AFTER_TIME, "x", buf, &len), -EKEYEXPIRED);
	assert_int_equal(seal(&p.b, t0 + WG_REJECT_AFTER_TIME, "x", buf, &len), -EKEYEXPIRED);
	pair_fini(&p);
}

/* Integration tests shorten the limits to force a rekey mid-transfer. */
static void test_shortened_limits(void **state)
{
	struct wg_timer_config cfg;
	struct pair p;
	uint8_t buf[BUF_LEN];
	size_t len;
	int i;

	(void)state;
	wg_timer_config_default(&cfg);
	cfg.tc_rekey_after_time = 2 * SEC;
	cfg.tc_rekey_after_messages = 10;
	pair_init(&p, &cfg);
	install(&p, 1, 0);
	for (i = 1; i < 10; i++)
		assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), WG_KEYPAIR_F_REKEY);
	pair_fini(&p);

	pair_init(&p, &cfg);
	install(&p, 1, 0);
	assert_int_equal(seal(&p.a, 2 * SEC - 1, "x", buf, &len), 0);
	assert_int_equal(seal(&p.a, 2 * SEC, "x", buf, &len), WG_KEYPAIR_F_REKEY);
	pair_fini(&p);
}

static void test_window_and_forgery(void **state)
{
	struct pair p;
	uint8_t held[BUF_LEN], buf[BUF_LEN], forged[BUF_LEN];
	size_t held_len, len, flen;

	(void)state;
	pair_init(&p, NULL);
	install(&p, 1, 0);
	assert_int_equal(seal(&p.a, 0, "held back", held, &held_len), 0);
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.b, 0, buf, len), WG_KEYPAIR_F_CONFIRMED);

	/* A forged packet far ahead fails to authenticate and must not move
	 * the window: the held packet is still accepted afterwards. */
	memcpy(forged, buf, len);
	flen = len;
	wg_le64_put(forged + 8, 1000000);
	assert_int_equal(open_copy(&p.b, 0, forged, flen), -EBADMSG);

	/* Just inside the window: accepted. */
	p.a.kps_current->kp_send_counter = WG_REPLAY_WINDOW;
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.b, 0, buf, len), 0);
	assert_int_equal(open_copy(&p.b, 0, held, held_len), 0);
	assert_int_equal(open_copy(&p.b, 0, held, held_len), -EALREADY);

	/* Out of the window: rejected even though never seen. */
	assert_int_equal(seal(&p.a, 0, "x", held, &held_len), 0); /* counter W + 1 */
	p.a.kps_current->kp_send_counter = 3 * WG_REPLAY_WINDOW;
	assert_int_equal(seal(&p.a, 0, "x", buf, &len), 0);
	assert_int_equal(open_copy(&p.b, 0, buf, len), 0);
	assert_int_equal(open_copy(&p.b, 0, held, held_len), -EALREADY);

	/* Unknown receiver index; malformed. */
	wg_le32_put(buf + 4, 12345);
	assert_int_equal(open_copy(&p.b, 0, buf, len), -ENOKEY);
	assert_int_equal(open_copy(&p.b, 0, buf, WG_DATA_MIN_LEN - 1), -EINVAL);
	pair_fini(&p);
}

static void test_keepalive(void **state)
{
	struct pair p;
	uint8_t buf[BUF_LEN];
	size_t len;

	(void)state;
	pair_init(&p, NULL);
	install(&p, 1, 0);
	assert_int_equal(seal(&p.a, 0, "", buf, &len), 0);
	assert_int_equal(len, WG_DATA_MIN_LEN);
	assert_int_equal(open_copy(&p.b, 0, buf, len),
			 WG_KEYPAIR_F_CONFIRMED | WG_KEYPAIR_F_KEEPALIVE);
	assert_int_equal(seal(&p.b, 0, "", buf, &len), 0);
	assert_int_equal(open_copy(&p.a, 0, buf, len), WG_KEYPAIR_F_KEEPALIVE);
	pair_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aead_known_answer),
		cmocka_unit_test(test_crypto_jobs),
		cmocka_unit_test(test_confirmation_and_rotation),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_counter_exhaustion),
		cmocka_unit_test(test_expiry_by_time),
		cmocka_unit_test(test_shortened_limits),
		cmocka_unit_test(test_window_and_forgery),
		cmocka_unit_test(test_keepalive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
