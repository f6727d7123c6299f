/* The coordinator's invite ledger: minting, redeeming once, reuse, revoking,
 * expiry, restoring after a failed admission, invites shared by and burned
 * at other coordinators, pruning, and its JSON form
 * (strict on load; never the secret). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/zbase32.h"
#include "net/invite_ledger.h"

#define NOW  1700000000ull
#define HOUR 3600ull
#define DAY  (24 * HOUR)

static void joiner(uint8_t out[32], uint8_t seed)
{
	memset(out, seed, 32);
}

static struct invite_ledger *ledger(void)
{
	struct invite_ledger *l = invite_ledger_new();

	assert_non_null(l);
	return l;
}

static void test_mint(void **state)
{
	struct invite_ledger *l = ledger();
	const struct invite_ledger_entry *e;
	struct invite_code c, d;
	uint8_t hash[32], zero[16] = {0};
	size_t n;

	(void)state;
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, "laptop", false, &c), 0);
	assert_int_not_equal(c.id, 0);
	assert_memory_not_equal(c.secret, zero, 16);
	assert_true(c.expires == NOW + DAY);
	assert_false(c.reusable);
	assert_string_equal(c.hostname, "laptop");
	assert_int_equal(c.ncoordinators, 0);
	assert_int_equal(c.nrelays, 0);

	e = invite_ledger_list(l, &n);
	assert_int_equal(n, 1);
	assert_int_equal(e->id, c.id);
	invite_secret_hash(c.secret, hash);
	assert_memory_equal(e->secret_hash, hash, 32);
	assert_true(e->created == NOW);
	assert_true(e->expires == NOW + DAY);
	assert_int_equal(e->state, INVITE_LEDGER_OPEN);
	assert_string_equal(e->hostname, "laptop");
	assert_false(e->has_used_by);
	assert_ptr_equal(invite_ledger_find(l, c.id), e);
	assert_null(invite_ledger_find(l, c.id + 1));

	assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &d), 0);
	assert_int_not_equal(d.id, c.id);
	assert_memory_not_equal(d.secret, c.secret, 16);
	assert_string_equal(d.hostname, "");
	assert_int_equal(invite_ledger_mint(l, NOW, 0, "", true, &d), 0);
	assert_true(d.expires == 0);
	assert_true(d.reusable);

	/* refusals leave OUT zeroed and the ledger as it was */
	assert_int_equal(invite_ledger_mint(l, NOW, 0, NULL, false, &d), -EINVAL);
	assert_int_equal(d.id, 0);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, "Laptop", false, &d), -EINVAL);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, "a.b", false, &d), -EINVAL);
	assert_int_equal(invite_ledger_mint(l, NOW, UINT64_MAX, NULL, false, &d), -EINVAL);
	assert_int_equal(invite_ledger_mint(l, UINT64_MAX, 1, NULL, false, &d), -EINVAL);
	invite_ledger_list(l, &n);
	assert_int_equal(n, 3);
	sodium_memzero(&c, sizeof(c));
	invite_ledger_free(l);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void test_mint_until_full(void **state)
{
	struct invite_ledger *l = ledger();
	static uint32_t ids[INVITE_LEDGER_MAX];
	struct invite_code c;

	(void)state;
	for (size_t i = 0; i < INVITE_LEDGER_MAX; i++) {
		assert_int_equal(invite_ledger_mint(l, NOW, HOUR, NULL, false, &c), 0);
		ids[i] = c.id;
	}
	assert_int_equal(invite_ledger_mint(l, NOW, HOUR, NULL, false, &c), -ENOSPC);
	qsort(ids, INVITE_LEDGER_MAX, sizeof(ids[0]), cmp_u32);
	for (size_t i = 1; i < INVITE_LEDGER_MAX; i++)
		assert_int_not_equal(ids[i], ids[i - 1]);
	assert_int_not_equal(ids[0], 0);
	/* once they have expired and aged, pruning makes room */
	assert_int_equal(
		invite_ledger_prune(l, NOW + HOUR + INVITE_LEDGER_KEEP, INVITE_LEDGER_KEEP),
		INVITE_LEDGER_MAX);
	assert_int_equal(invite_ledger_mint(l, NOW, HOUR, NULL, false, &c), 0);
	invite_ledger_free(l);
}

static void test_redeem_once(void **state)
{
	struct invite_ledger *l = ledger();
	const struct invite_ledger_entry *e;
	struct invite_ledger_entry copy;
	struct invite_code c;
	uint8_t a[32], b[32], wrong[16];

	(void)state;
	joiner(a, 0xaa);
	joiner(b, 0xbb);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, "printer", false, &c), 0);
	memcpy(wrong, c.secret, 16);
	wrong[15] ^= 1;

	assert_int_equal(invite_ledger_redeem(l, c.id, wrong, NOW + 1, a, NULL), -EPERM);
	assert_int_equal(invite_ledger_redeem(l, c.id + 1, c.secret, NOW + 1, a, NULL), -ENOENT);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 1, a, &copy), 0);
	assert_string_equal(copy.hostname, "printer");
	assert_false(copy.reusable);
	e = invite_ledger_find(l, c.id);
	assert_int_equal(e->state, INVITE_LEDGER_USED);
	assert_true(e->has_used_by);
	assert_memory_equal(e->used_by, a, 32);
	assert_true(e->closed == NOW + 1);
	assert_int_equal(e->uses, 1);

	/* used: the same code again, by anyone, is "already used" */
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 2, b, NULL), -EALREADY);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 2, a, NULL), -EALREADY);
	/* and without the secret nothing is learned about its state */
	assert_int_equal(invite_ledger_redeem(l, c.id, wrong, NOW + 2, b, NULL), -EPERM);
	assert_int_equal(invite_ledger_revoke(l, c.id, NOW + 3), -EALREADY);
	e = invite_ledger_find(l, c.id);
	assert_memory_equal(e->used_by, a, 32);
	invite_ledger_free(l);
}

static void test_two_redeems_one_wins(void **state)
{
	struct invite_ledger *l = ledger();
	struct invite_code c;
	uint8_t a[32], b[32];

	(void)state;
	joiner(a, 1);
	joiner(b, 2);
	for (int i = 0; i < 200; i++) {
		int ra, rb;

		assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &c), 0);
		if (i % 2) {
			ra = invite_ledger_redeem(l, c.id, c.secret, NOW, a, NULL);
			rb = invite_ledger_redeem(l, c.id, c.secret, NOW, b, NULL);
		} else {
			rb = invite_ledger_redeem(l, c.id, c.secret, NOW, b, NULL);
			ra = invite_ledger_redeem(l, c.id, c.secret, NOW, a, NULL);
		}
		assert_int_equal((ra == 0) + (rb == 0), 1);
		assert_int_equal(ra == 0 ? rb : ra, -EALREADY);
	}
	invite_ledger_free(l);
}

static void test_revoke(void **state)
{
	struct invite_ledger *l = ledger();
	struct invite_code c;
	uint8_t a[32];

	(void)state;
	joiner(a, 3);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &c), 0);
	assert_int_equal(invite_ledger_revoke(l, c.id, NOW + 5), 0);
	assert_int_equal(invite_ledger_find(l, c.id)->state, INVITE_LEDGER_REVOKED);
	assert_true(invite_ledger_find(l, c.id)->closed == NOW + 5);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 6, a, NULL), -ECANCELED);
	assert_int_equal(invite_ledger_revoke(l, c.id, NOW + 7), -ECANCELED);
	assert_int_equal(invite_ledger_revoke(l, c.id + 1, NOW + 7), -ENOENT);
	assert_int_equal(invite_ledger_restore(l, c.id, a), -ECANCELED);
	/* revoked beats expired */
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 2 * DAY, a, NULL),
			 -ECANCELED);
	invite_ledger_free(l);
}

static void test_expiry(void **state)
{
	struct invite_ledger *l = ledger();
	struct invite_code c, d;
	uint8_t a[32];

	(void)state;
	joiner(a, 4);
	assert_int_equal(invite_ledger_mint(l, NOW, HOUR, NULL, false, &c), 0);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + HOUR, a, NULL), -ESTALE);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 10 * DAY, a, NULL), -ESTALE);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + HOUR - 1, a, NULL), 0);
	/* used beats expired: a replay after expiry still says "already used" */
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + DAY, a, NULL), -EALREADY);

	/* an expired invite can still be revoked */
	assert_int_equal(invite_ledger_mint(l, NOW, HOUR, NULL, false, &d), 0);
	assert_int_equal(invite_ledger_revoke(l, d.id, NOW + DAY), 0);
	invite_ledger_free(l);
}

static void test_restore(void **state)
{
	struct invite_ledger *l = ledger();
	const struct invite_ledger_entry *e;
	struct invite_code c;
	uint8_t a[32], b[32];

	(void)state;
	joiner(a, 5);
	joiner(b, 6);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, "nas", false, &c), 0);
	assert_int_equal(invite_ledger_restore(l, c.id, a), -EINVAL); /* not used */
	assert_int_equal(invite_ledger_restore(l, c.id + 1, a), -ENOENT);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW, a, NULL), 0);
	assert_int_equal(invite_ledger_restore(l, c.id, b), -EPERM); /* not b's burn */
	/* a's admission failed (its bound hostname was taken): open again */
	assert_int_equal(invite_ledger_restore(l, c.id, a), 0);
	e = invite_ledger_find(l, c.id);
	assert_int_equal(e->state, INVITE_LEDGER_OPEN);
	assert_false(e->has_used_by);
	assert_true(e->closed == 0);
	assert_int_equal(e->uses, 0);
	assert_int_equal(invite_ledger_restore(l, c.id, a), -EINVAL);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 1, b, NULL), 0);
	assert_memory_equal(invite_ledger_find(l, c.id)->used_by, b, 32);
	assert_int_equal(invite_ledger_redeem(l, c.id, c.secret, NOW + 2, a, NULL), -EALREADY);
	invite_ledger_free(l);
}

/* Two coordinators' ledgers kept in step by gossip: a share, a burn and a
 * revoke carry over; ids the minters picked twice are refused, not merged. */
static void test_shared(void **state)
{
	struct invite_ledger *a = ledger(), *b = ledger();
	const struct invite_ledger_entry *e;
	struct invite_code c, r, fleet;
	char *json = NULL;
	uint8_t hash[32], other[32], j1[32], j2[32];
	struct invite_ledger *back;

	(void)state;
	joiner(j1, 0x11);
	joiner(j2, 0x22);
	assert_int_equal(invite_ledger_mint(a, NOW, DAY, "printer", false, &c), 0);
	invite_secret_hash(c.secret, hash);
	assert_int_equal(invite_ledger_add_shared(b, c.id, hash, c.expires, "printer", NOW + 1), 0);
	e = invite_ledger_find(b, c.id);
	assert_non_null(e);
	assert_memory_equal(e->secret_hash, hash, 32);
	assert_true(e->expires == NOW + DAY);
	assert_true(e->created == NOW + 1);
	assert_false(e->reusable);
	assert_int_equal(e->state, INVITE_LEDGER_OPEN);
	assert_string_equal(e->hostname, "printer");
	/* again: known, nothing changes */
	assert_int_equal(invite_ledger_add_shared(b, c.id, hash, c.expires, "printer", NOW + 2), 1);
	assert_true(invite_ledger_find(b, c.id)->created == NOW + 1);

	/* b redeems the code a minted (the secret checks against the hash) */
	assert_int_equal(invite_ledger_redeem(b, c.id, c.secret, NOW + 3, j1, NULL), 0);
	/* ... and a learns of it: burned for j1; j1 again is fine, j2 is not */
	assert_int_equal(invite_ledger_mark_used(a, c.id, j1, NOW + 4), 0);
	e = invite_ledger_find(a, c.id);
	assert_int_equal(e->state, INVITE_LEDGER_USED);
	assert_memory_equal(e->used_by, j1, 32);
	assert_true(e->closed == NOW + 4);
	assert_int_equal(e->uses, 1);
	assert_int_equal(invite_ledger_mark_used(a, c.id, j1, NOW + 5), 0);
	assert_int_equal(invite_ledger_mark_used(a, c.id, j2, NOW + 5), -EALREADY);
	assert_int_equal(invite_ledger_redeem(a, c.id, c.secret, NOW + 6, j2, NULL), -EALREADY);
	/* a share arriving late does not reopen it */
	assert_int_equal(invite_ledger_add_shared(a, c.id, hash, c.expires, "printer", NOW + 7), 1);
	assert_int_equal(invite_ledger_find(a, c.id)->state, INVITE_LEDGER_USED);
	/* restore undoes a gossiped burn for the same joiner only */
	assert_int_equal(invite_ledger_restore(a, c.id, j2), -EPERM);
	assert_int_equal(invite_ledger_restore(a, c.id, j1), 0);
	assert_int_equal(invite_ledger_mark_used(a, c.id, j2, NOW + 8), 0);

	/* a revoke carries over; a revoked invite is not burned */
	assert_int_equal(invite_ledger_mint(a, NOW, DAY, NULL, false, &r), 0);
	invite_secret_hash(r.secret, hash);
	assert_int_equal(invite_ledger_add_shared(b, r.id, hash, r.expires, NULL, NOW), 0);
	assert_string_equal(invite_ledger_find(b, r.id)->hostname, "");
	assert_int_equal(invite_ledger_revoke(a, r.id, NOW + 1), 0);
	assert_int_equal(invite_ledger_revoke(b, r.id, NOW + 2), 0);
	assert_int_equal(invite_ledger_redeem(b, r.id, r.secret, NOW + 3, j1, NULL), -ECANCELED);
	assert_int_equal(invite_ledger_mark_used(b, r.id, j1, NOW + 3), -ECANCELED);
	assert_int_equal(invite_ledger_mark_used(b, r.id + 1, j1, NOW + 3), -ENOENT);

	/* the same id with another secret: ours stays */
	memset(other, 0x5a, sizeof(other));
	assert_int_equal(invite_ledger_add_shared(a, c.id, other, NOW + DAY, NULL, NOW), -EEXIST);
	assert_int_equal(invite_ledger_find(a, c.id)->state, INVITE_LEDGER_USED);
	/* nor may a share take the id of a reusable key */
	assert_int_equal(invite_ledger_mint(a, NOW, 0, NULL, true, &fleet), 0);
	assert_int_equal(invite_ledger_mark_used(a, fleet.id, j1, NOW), -EINVAL);
	invite_secret_hash(fleet.secret, hash);
	assert_int_equal(invite_ledger_add_shared(a, fleet.id, hash, NOW + DAY, NULL, NOW),
			 -EEXIST);
	/* what a share must carry */
	assert_int_equal(invite_ledger_add_shared(b, 0, hash, NOW + DAY, NULL, NOW), -EINVAL);
	assert_int_equal(invite_ledger_add_shared(b, 99, hash, 0, NULL, NOW), -EINVAL);
	assert_int_equal(invite_ledger_add_shared(b, 99, hash, NOW + DAY, "Bad.Name", NOW),
			 -EINVAL);
	assert_int_equal(invite_ledger_add_shared(b, 99, hash, UINT64_MAX, NULL, NOW), -EINVAL);
	assert_null(invite_ledger_find(b, 99));

	/* both ledgers persist what gossip wrote */
	assert_int_equal(invite_ledger_to_json(b, &json), 0);
	assert_int_equal(invite_ledger_from_json(json, strlen(json), &back), 0);
	assert_int_equal(invite_ledger_find(back, c.id)->state, INVITE_LEDGER_USED);
	assert_int_equal(invite_ledger_find(back, r.id)->state, INVITE_LEDGER_REVOKED);
	invite_ledger_free(back);
	free(json);
	assert_int_equal(invite_ledger_to_json(a, &json), 0);
	assert_int_equal(invite_ledger_from_json(json, strlen(json), &back), 0);
	assert_memory_equal(invite_ledger_find(back, c.id)->used_by, j2, 32);
	invite_ledger_free(back);
	free(json);
	invite_ledger_free(a);
	invite_ledger_free(b);
}

static void test_shared_until_full(void **state)
{
	struct invite_ledger *l = ledger();
	uint8_t hash[32] = {7};

	(void)state;
	for (uint32_t i = 1; i <= INVITE_LEDGER_MAX; i++)
		assert_int_equal(invite_ledger_add_shared(l, i, hash, NOW + DAY, NULL, NOW), 0);
	assert_int_equal(
		invite_ledger_add_shared(l, INVITE_LEDGER_MAX + 1, hash, NOW + DAY, NULL, NOW),
		-ENOSPC);
	/* a known one is still known */
	assert_int_equal(invite_ledger_add_shared(l, 1, hash, NOW + DAY, NULL, NOW), 1);
	invite_ledger_free(l);
}

static void test_reusable(void **state)
{
	struct invite_ledger *l = ledger();
	const struct invite_ledger_entry *e;
	struct invite_code forever, week;
	uint8_t j[32];

	(void)state;
	assert_int_equal(invite_ledger_mint(l, NOW, 0, NULL, true, &forever), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, 7 * DAY, NULL, true, &week), 0);
	for (int i = 0; i < 100; i++) {
		joiner(j, (uint8_t)i);
		assert_int_equal(invite_ledger_redeem(l, forever.id, forever.secret,
						      NOW + (uint64_t)i * 365 * DAY, j, NULL),
				 0);
		assert_int_equal(invite_ledger_redeem(l, week.id, week.secret,
						      NOW + (uint64_t)i * HOUR, j, NULL),
				 0);
	}
	e = invite_ledger_find(l, forever.id);
	assert_int_equal(e->state, INVITE_LEDGER_OPEN);
	assert_int_equal(e->uses, 100);
	assert_memory_equal(e->used_by, j, 32);
	assert_int_equal(invite_ledger_redeem(l, week.id, week.secret, NOW + 7 * DAY, j, NULL),
			 -ESTALE);
	assert_int_equal(invite_ledger_restore(l, week.id, j), 0);
	assert_int_equal(invite_ledger_find(l, week.id)->uses, 99);
	/* revoking a reusable key ends it */
	assert_int_equal(invite_ledger_revoke(l, forever.id, NOW), 0);
	assert_int_equal(invite_ledger_redeem(l, forever.id, forever.secret, NOW, j, NULL),
			 -ECANCELED);
	invite_ledger_free(l);
}

static void test_prune(void **state)
{
	struct invite_ledger *l = ledger();
	struct invite_code open_fresh, open_old, used_recent, used_old, revoked_old, forever,
		expired;
	const uint64_t keep = 30 * DAY, later = NOW + 60 * DAY;
	uint8_t a[32];
	size_t n;

	(void)state;
	joiner(a, 7);
	assert_int_equal(invite_ledger_mint(l, NOW, 90 * DAY, NULL, false, &open_fresh), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &open_old), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, 45 * DAY, NULL, false, &used_recent), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &used_old), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, 0, NULL, true, &revoked_old), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, 0, NULL, true, &forever), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, 40 * DAY, NULL, false, &expired), 0);
	assert_int_equal(
		invite_ledger_redeem(l, used_recent.id, used_recent.secret, NOW + DAY, a, NULL), 0);
	assert_int_equal(invite_ledger_redeem(l, used_old.id, used_old.secret, NOW, a, NULL), 0);
	assert_int_equal(invite_ledger_revoke(l, revoked_old.id, NOW), 0);

	assert_int_equal(invite_ledger_prune(l, NOW, keep), 0);
	/* at +60 days: used_old (expired +1 d), open_old (+1 d) and revoked_old
	 * (+0) go; used_recent expired at +45 d and expired at +40 d stay (less
	 * than 30 days ago) */
	assert_int_equal(invite_ledger_prune(l, later, keep), 3);
	invite_ledger_list(l, &n);
	assert_int_equal(n, 4);
	assert_non_null(invite_ledger_find(l, open_fresh.id));
	assert_non_null(invite_ledger_find(l, used_recent.id));
	assert_non_null(invite_ledger_find(l, forever.id));
	assert_non_null(invite_ledger_find(l, expired.id));
	assert_null(invite_ledger_find(l, used_old.id));
	/* the replayed code still gets its precise answer */
	assert_int_equal(
		invite_ledger_redeem(l, used_recent.id, used_recent.secret, later, a, NULL),
		-EALREADY);
	assert_int_equal(invite_ledger_redeem(l, expired.id, expired.secret, later, a, NULL),
			 -ESTALE);
	/* at +80 days those two have aged out too; the fresh one (expires at
	 * +90 d) and the never-expiring key remain */
	assert_int_equal(invite_ledger_prune(l, NOW + 80 * DAY, keep), 2);
	assert_non_null(invite_ledger_find(l, open_fresh.id));
	assert_non_null(invite_ledger_find(l, forever.id));
	invite_ledger_free(l);
}

/* ---- JSON ---- */

static struct invite_ledger *busy_ledger(struct invite_code codes[6])
{
	struct invite_ledger *l = ledger();
	uint8_t a[32];

	joiner(a, 0x42);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, "laptop", false, &codes[0]), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &codes[1]), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, 0, NULL, true, &codes[2]), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, HOUR, "tv", true, &codes[3]), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &codes[4]), 0);
	assert_int_equal(invite_ledger_mint(l, NOW, DAY, NULL, false, &codes[5]), 0);
	assert_int_equal(invite_ledger_redeem(l, codes[0].id, codes[0].secret, NOW + 1, a, NULL),
			 0);
	assert_int_equal(invite_ledger_redeem(l, codes[2].id, codes[2].secret, NOW + 2, a, NULL),
			 0);
	assert_int_equal(invite_ledger_redeem(l, codes[3].id, codes[3].secret, NOW + 3, a, NULL),
			 0);
	assert_int_equal(invite_ledger_revoke(l, codes[4].id, NOW + 4), 0);
	return l;
}

static void test_json_round_trip(void **state)
{
	struct invite_code codes[6];
	struct invite_ledger *l = busy_ledger(codes), *back;
	const struct invite_ledger_entry *e1, *e2;
	char *text, *again;
	size_t n1, n2;

	(void)state;
	assert_int_equal(invite_ledger_to_json(l, &text), 0);
	assert_int_equal(invite_ledger_from_json(text, strlen(text), &back), 0);
	e1 = invite_ledger_list(l, &n1);
	e2 = invite_ledger_list(back, &n2);
	assert_int_equal(n1, 6);
	assert_int_equal(n2, n1);
	for (size_t i = 0; i < n1; i++) {
		assert_int_equal(e1[i].id, e2[i].id);
		assert_memory_equal(e1[i].secret_hash, e2[i].secret_hash, 32);
		assert_true(e1[i].created == e2[i].created);
		assert_true(e1[i].expires == e2[i].expires);
		assert_true(e1[i].closed == e2[i].closed);
		assert_int_equal(e1[i].reusable, e2[i].reusable);
		assert_int_equal(e1[i].state, e2[i].state);
		assert_string_equal(e1[i].hostname, e2[i].hostname);
		assert_int_equal(e1[i].has_used_by, e2[i].has_used_by);
		assert_memory_equal(e1[i].used_by, e2[i].used_by, 32);
		assert_int_equal(e1[i].uses, e2[i].uses);
	}
	assert_int_equal(invite_ledger_to_json(back, &again), 0);
	assert_string_equal(again, text);
	/* and it still works: the loaded ledger burns and refuses alike */
	assert_int_equal(invite_ledger_redeem(back, codes[0].id, codes[0].secret, NOW + 5,
					      e1[0].used_by, NULL),
			 -EALREADY);
	assert_int_equal(invite_ledger_redeem(back, codes[1].id, codes[1].secret, NOW + 5,
					      e1[0].used_by, NULL),
			 0);
	free(text);
	free(again);
	invite_ledger_free(back);

	/* empty */
	assert_int_equal(invite_ledger_to_json(l, &text), 0);
	free(text);
	invite_ledger_free(l);
	l = ledger();
	assert_int_equal(invite_ledger_to_json(l, &text), 0);
	assert_int_equal(invite_ledger_from_json(text, strlen(text), &back), 0);
	invite_ledger_list(back, &n1);
	assert_int_equal(n1, 0);
	free(text);
	invite_ledger_free(back);
	invite_ledger_free(l);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void assert_absent(const char *json, const char *needle)
{
	char folded[64], *j = strdup(json);

	assert_non_null(j);
	if (strstr(json, needle))
		fail_msg("ledger JSON contains %s", needle);
	snprintf(folded, sizeof(folded), "%s", needle);
	lower(folded);
	lower(j);
	if (strstr(j, folded))
		fail_msg("ledger JSON contains %s (any case)", needle);
	free(j);
}

static void test_json_never_holds_secret(void **state)
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	struct invite_code codes[6];
	struct invite_ledger *l = busy_ledger(codes);
	char *text, hex[33], b64[32], zb[ZBASE32_ENCODED_LEN(16) + 1];

	(void)state;
	assert_int_equal(invite_ledger_to_json(l, &text), 0);
	for (int i = 0; i < 6; i++) {
		const uint8_t *s = codes[i].secret;

		assert_null(memmem(text, strlen(text), s, 16));
		sodium_bin2hex(hex, sizeof(hex), s, 16);
		assert_absent(text, hex);
		/* any 8 bytes of it, too */
		for (int off = 0; off <= 8; off++) {
			hex[0] = '\0';
			sodium_bin2hex(hex, sizeof(hex), s + off, 8);
			assert_absent(text, hex);
		}
		for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
			sodium_bin2base64(b64, sizeof(b64), s, 16, variants[v]);
			assert_null(strstr(text, b64));
			sodium_bin2base64(b64, sizeof(b64), s, 15, variants[v]);
			assert_null(strstr(text, b64));
		}
		zbase32_encode(s, 16, zb);
		assert_absent(text, zb);
		zbase32_encode(s, 15, zb);
		assert_absent(text, zb);
	}
	free(text);
	invite_ledger_free(l);
}

/* One valid document; each case changes one thing and must be refused. */
static const char valid_doc[] =
	"{\"version\": 1, \"invites\": ["
	"{\"id\": 7, \"secret_hash\": "
	"\"c7cb5d1a1a214f1d833a21fe6c7b2420e417c2f220784cbe90072975131bc367\", "
	"\"created\": 100, \"expires\": 200, \"reusable\": false, \"state\": \"used\", "
	"\"hostname\": \"laptop\", "
	"\"used_by\": \"yyyoryarywdyqnyjbefoadeqbhebnrounoktcfaadrpbs8y7daxo\", "
	"\"closed\": 150, \"uses\": 1}, "
	"{\"id\": 8, \"secret_hash\": "
	"\"0000000000000000000000000000000000000000000000000000000000000000\", "
	"\"created\": 100, \"expires\": 0, \"reusable\": true, \"state\": \"open\", "
	"\"hostname\": null, \"used_by\": null, \"closed\": 0, \"uses\": 0}]}";

static char *replaced(const char *from, const char *to)
{
	const char *at = strstr(valid_doc, from);
	size_t len = strlen(valid_doc) - strlen(from) + strlen(to);
	char *out = malloc(len + 1);

	if (!at)
		fail_msg("test bug: %s not in the document", from);
	assert_non_null(out);
	memcpy(out, valid_doc, (size_t)(at - valid_doc));
	strcpy(out + (at - valid_doc), to);
	strcat(out, at + strlen(from));
	return out;
}

static void test_json_strict(void **state)
{
	static const struct {
		const char *from, *to;
	} cases[] = {
		{"\"version\": 1", "\"version\": 2"},
		{"\"version\": 1", "\"version\": \"1\""},
		{"\"version\": 1,", "\"version\": 1, \"extra\": 1,"},
		{"\"version\": 1,", ""},
		{"\"id\": 7,", "\"id\": \"7\","},
		{"\"id\": 7,", "\"id\": 0,"},
		{"\"id\": 7,", "\"id\": -7,"},
		{"\"id\": 7,", "\"id\": 7.0,"},
		{"\"id\": 7,", "\"id\": 4294967296,"},
		{"\"id\": 7,", "\"id\": 7, \"id\": 9,"},
		{"\"id\": 7,", "\"id\": 7, \"secret\": \"00\","},
		{"\"id\": 8,", "\"id\": 7,"},
		{"\"c7cb", "\"C7CB"},
		{"\"c7cb", "\"c7cg"},
		{"\"c7cb", "\"c7c"},
		{"\"c7cb", "\"c7cb00"},
		{"\"created\": 100, \"expires\": 200", "\"created\": -1, \"expires\": 200"},
		{"\"created\": 100, \"expires\": 200", "\"created\": 1e2, \"expires\": 200"},
		{"\"created\": 100, \"expires\": 200", "\"created\": true, \"expires\": 200"},
		{"\"created\": 100, \"expires\": 200", "\"created\": 100, \"expires\": null"},
		{"\"created\": 100, \"expires\": 200", "\"created\": 100, \"expires\": 0"},
		{"\"created\": 100, \"expires\": 200",
		 "\"created\": 100, \"expires\": 9223372036854775808"},
		{"\"reusable\": false", "\"reusable\": 0"},
		{"\"reusable\": false", "\"reusable\": true"}, /* a reusable key is never "used" */
		{"\"state\": \"used\"", "\"state\": \"expired\""},
		{"\"state\": \"used\"", "\"state\": \"Used\""},
		{"\"state\": \"used\"", "\"state\": \"open\""},
		{"\"state\": \"used\"", "\"state\": 1"},
		{"\"hostname\": \"laptop\"", "\"hostname\": \"Laptop\""},
		{"\"hostname\": \"laptop\"", "\"hostname\": \"\""},
		{"\"hostname\": \"laptop\"", "\"hostname\": 5"},
		{"\"hostname\": \"laptop\"", "\"hostname\": \"lap\\u0000top\""},
		{"\"used_by\": \"yyyo", "\"used_by\": \"YYYO"},
		{"\"used_by\": \"yyyo", "\"used_by\": \"yyy"},
		{"\"used_by\": \"yyyoryarywdyqnyjbefoadeqbhebnrounoktcfaadrpbs8y7daxo\"",
		 "\"used_by\": null"},
		{"\"closed\": 150, \"uses\": 1", "\"closed\": 150, \"uses\": 2"},
		{"\"closed\": 150, \"uses\": 1", "\"closed\": 150, \"uses\": 1.5"},
		{"\"closed\": 150, \"uses\": 1", "\"uses\": 1"},
		{"\"closed\": 0, \"uses\": 0", "\"closed\": 5, \"uses\": 0"},
		{"\"reusable\": true, \"state\": \"open\"",
		 "\"reusable\": true, \"state\": \"used\""},
		{"\"hostname\": null, \"used_by\": null", "\"hostname\": null, \"used_by\": []"},
		{"\"invites\": [", "\"invites\": [1, "},
		{"\"invites\": [", "\"invites\": [{}, "},
		{"\"invites\": [", "\"invites\": [null, "},
		{"0}]}", "0}]"},
		{"0}]}", "0}]} x"},
	};
	static const char *const whole[] = {
		"",
		"null",
		"[]",
		"{}",
		"{\"version\": 1}",
		"{\"invites\": []}",
		"{\"version\": 1, \"invites\": {}}",
		"{\"version\": 1, \"invites\": null}",
		"\xff\xfe",
	};
	struct invite_ledger *l;

	(void)state;
	assert_int_equal(invite_ledger_from_json(valid_doc, strlen(valid_doc), &l), 0);
	invite_ledger_free(l);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *doc = replaced(cases[i].from, cases[i].to);

		l = (struct invite_ledger *)1;
		if (invite_ledger_from_json(doc, strlen(doc), &l) != -EINVAL)
			fail_msg("accepted case %zu: %s", i, doc);
		assert_null(l);
		free(doc);
	}
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		assert_int_equal(invite_ledger_from_json(whole[i], strlen(whole[i]), &l), -EINVAL);
	assert_int_equal(invite_ledger_from_json("{\"version\": 1, \"invites\": []}", 29, &l), 0);
	invite_ledger_free(l);
	/* a truncated file */
	for (size_t n = 0; n < strlen(valid_doc); n += 7)
		assert_int_equal(invite_ledger_from_json(valid_doc, n, &l), -EINVAL);
}

static void test_json_bounds(void **state)
{
	const size_t entry_max = 400;
	size_t cap = (INVITE_LEDGER_MAX + 1) * entry_max + 64, len;
	char *doc = malloc(cap);
	struct invite_ledger *l;

	(void)state;
	assert_non_null(doc);
	for (int count = INVITE_LEDGER_MAX; count <= INVITE_LEDGER_MAX + 1; count++) {
		len = (size_t)snprintf(doc, cap, "{\"version\": 1, \"invites\": [");
		for (int i = 1; i <= count; i++)
			len += (size_t)snprintf(
				doc + len, cap - len,
				"%s{\"id\": %d, \"secret_hash\": \"%064d\", \"created\": 1, "
				"\"expires\": 0, \"reusable\": true, \"state\": \"open\", "
				"\"hostname\": null, \"used_by\": null, \"closed\": 0, \"uses\": "
				"0}",
				i > 1 ? ", " : "", i, i);
		len += (size_t)snprintf(doc + len, cap - len, "]}");
		assert_true(len < cap);
		if (count == INVITE_LEDGER_MAX) {
			assert_int_equal(invite_ledger_from_json(doc, len, &l), 0);
			invite_ledger_free(l);
		} else {
			assert_int_equal(invite_ledger_from_json(doc, len, &l), -EINVAL);
		}
	}
	free(doc);

	doc = malloc(INVITE_LEDGER_JSON_MAX + 1);
	assert_non_null(doc);
	memset(doc, ' ', INVITE_LEDGER_JSON_MAX + 1);
	assert_int_equal(invite_ledger_from_json(doc, INVITE_LEDGER_JSON_MAX + 1, &l), -EMSGSIZE);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint),
		cmocka_unit_test(test_mint_until_full),
		cmocka_unit_test(test_redeem_once),
		cmocka_unit_test(test_two_redeems_one_wins),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_shared_until_full),
		cmocka_unit_test(test_reusable),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_never_holds_secret),
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_json_bounds),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
