/* Discovery records. Most inputs go to record_parse_verify (random bytes
 * almost never carry a valid signature, so this mostly exercises the
 * canonical parse and the body checks, which run before it). Inputs that
 * start with 0xff instead fill a struct record with the bytes that follow,
 * sign it with a fixed key and check the round trip: whatever record_sign
 * accepts, record_parse_verify accepts at its timestamp and gives back the
 * same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "path/endpoint.h"
#include "path/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct record *a, const struct record *b)
{
	unsigned i;

	if (a->kind != b->kind || memcmp(a->signer, b->signer, RECORD_KEY_LEN) ||
	    a->timestamp_ms != b->timestamp_ms || a->expires_ms != b->expires_ms)
		return false;
	switch (a->kind) {
	case RECORD_NODE:
		if (a->body.node.relay_count != b->body.node.relay_count ||
		    a->body.node.addr_count != b->body.node.addr_count)
			return false;
		for (i = 0; i < a->body.node.relay_count; i++)
			if (strcmp(a->body.node.relays[i], b->body.node.relays[i]))
				return false;
		for (i = 0; i < a->body.node.addr_count; i++)
			if (!endpoint_equal(&a->body.node.addrs[i], &b->body.node.addrs[i]))
				return false;
		return true;
	case RECORD_NETWORK:
		if (a->body.network.seed_count != b->body.network.seed_count)
			return false;
		return !memcmp(a->body.network.group_hash, b->body.network.group_hash,
			       RECORD_HASH_LEN) &&
		       !memcmp(a->body.network.seeds, b->body.network.seeds,
			       (size_t)a->body.network.seed_count * RECORD_KEY_LEN);
	case RECORD_CONTACT:
		return !memcmp(a->body.contact.node_id, b->body.contact.node_id, RECORD_KEY_LEN);
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	static bool have_key;
	uint8_t seed[crypto_sign_SEEDBYTES], buf[RECORD_MAX_LEN];
	struct record r, got;
	uint64_t now = 0;
	size_t len, i;

	if (!have_key) {
		if (sodium_init() < 0)
			abort();
		memset(seed, 0x42, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		have_key = true;
	}

	if (size == 0 || data[0] != 0xff) {
		/* the clock from the last 8 bytes, so time checks vary too */
		for (i = 0; i < 8 && i < size; i++)
			now = now << 8 | data[size - 1 - i];
		if (record_parse_verify(data, size, now, &r) == 0 && record_is_newer(&r, &r))
			abort();
		return 0;
	}

	memset(&r, 0, sizeof(r));
	memcpy(&r, data + 1, size - 1 < sizeof(r) ? size - 1 : sizeof(r));
	/* small counts and a known kind, or almost nothing would pass */
	r.kind = (enum record_kind)(r.kind % 4);
	r.body.node.relay_count %= RECORD_MAX_RELAYS + 2;
	r.body.node.addr_count %= RECORD_MAX_ADDRS + 2;
	if (r.kind == RECORD_NETWORK)
		r.body.network.seed_count %= RECORD_MAX_SEEDS + 2;
	memcpy(r.signer, pk, RECORD_KEY_LEN);
	if (record_sign(&r, sk, buf, sizeof(buf), &len))
		return 0;
	if (len > RECORD_MAX_LEN)
		abort();
	if (record_parse_verify(buf, len, r.timestamp_ms, &got))
		abort();
	if (!same(&r, &got))
		abort();
	return 0;
}
