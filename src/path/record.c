#include "path/record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "control/codec.h"

#define RECORD_CONTEXT_LEN (sizeof(RECORD_SIGN_CONTEXT) - 1)
/* Top-level keys, in wire order. */
#define RECORD_KEY_VERSION   0
#define RECORD_KEY_KIND	     1
#define RECORD_KEY_SIGNER    2
#define RECORD_KEY_TIMESTAMP 3
#define RECORD_KEY_EXPIRES   4
#define RECORD_KEY_BODY	     5
#define RECORD_KEY_SIGNATURE 6
#define RECORD_KEYS	     7
/* Body keys. */
#define NODE_KEY_RELAYS	  0
#define NODE_KEY_ADDRS	  1
#define NETWORK_KEY_GROUP 0
#define NETWORK_KEY_SEEDS 1
#define CONTACT_KEY_NODE  0
#define ADDR_FAMILY_V4	  4
#define ADDR_FAMILY_V6	  6
#define ADDR_V4_LEN	  7
#define ADDR_V6_LEN	  19

/* A relay URL byte: printable ASCII without space, so a URL is one token in
 * logs and configs and cannot smuggle control characters to a terminal. */
static bool record_url_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > RECORD_RELAY_URL_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool record_addr_ok(const struct endpoint *ep)
{
	return ep->sin6.sin6_family == AF_INET6 && ep->sin6.sin6_port != 0;
}

/* The rules record_parse_verify enforces, for a record about to be signed. */
static int record_check(const struct record *r)
{
	const struct record_node *n = &r->body.node;
	unsigned i;

	if (r->expires_ms <= r->timestamp_ms)
		return -EINVAL;
	switch (r->kind) {
	case RECORD_NODE:
		if (n->relay_count > RECORD_MAX_RELAYS || n->addr_count > RECORD_MAX_ADDRS)
			return -EINVAL;
		for (i = 0; i < n->relay_count; i++)
			if (!record_url_ok(n->relays[i],
					   strnlen(n->relays[i], sizeof(n->relays[i]))))
				return -EINVAL;
		for (i = 0; i < n->addr_count; i++)
			if (!record_addr_ok(&n->addrs[i]))
				return -EINVAL;
		return 0;
	case RECORD_NETWORK:
		return r->body.network.seed_count > RECORD_MAX_SEEDS ? -EINVAL : 0;
	case RECORD_CONTACT:
		return 0;
	default:
		return -EINVAL;
	}
}

static void record_put_addr(struct ctl_codec_writer *w, const struct endpoint *ep)
{
	const uint8_t *a = ep->sin6.sin6_addr.s6_addr;
	uint16_t port = ntohs(ep->sin6.sin6_port);
	uint8_t b[ADDR_V6_LEN];
	size_t n;

	if (IN6_IS_ADDR_V4MAPPED(&ep->sin6.sin6_addr)) {
		b[0] = ADDR_FAMILY_V4;
		memcpy(b + 1, a + 12, 4);
		n = ADDR_V4_LEN;
	} else {
		b[0] = ADDR_FAMILY_V6;
		memcpy(b + 1, a, 16);
		n = ADDR_V6_LEN;
	}
	b[n - 2] = (uint8_t)(port >> 8);
	b[n - 1] = (uint8_t)port;
	ctl_codec_put_bin(w, b, n);
}

static void record_put_body(struct ctl_codec_writer *w, const struct record *r)
{
	const struct record_node *n = &r->body.node;
	const struct record_network *net = &r->body.network;
	unsigned i;

	switch (r->kind) {
	case RECORD_NODE:
		ctl_codec_put_map(w, 2);
		ctl_codec_put_uint(w, NODE_KEY_RELAYS);
		ctl_codec_put_array(w, n->relay_count);
		for (i = 0; i < n->relay_count; i++)
			ctl_codec_put_str(w, n->relays[i], strlen(n->relays[i]));
		ctl_codec_put_uint(w, NODE_KEY_ADDRS);
		ctl_codec_put_array(w, n->addr_count);
		for (i = 0; i < n->addr_count; i++)
			record_put_addr(w, &n->addrs[i]);
		break;
	case RECORD_NETWORK:
		ctl_codec_put_map(w, 2);
		ctl_codec_put_uint(w, NETWORK_KEY_GROUP);
		ctl_codec_put_bin(w, net->group_hash, RECORD_HASH_LEN);
		ctl_codec_put_uint(w, NETWORK_KEY_SEEDS);
		ctl_codec_put_array(w, net->seed_count);
		for (i = 0; i < net->seed_count; i++)
			ctl_codec_put_bin(w, net->seeds[i], RECORD_KEY_LEN);
		break;
	case RECORD_CONTACT:
		ctl_codec_put_map(w, 1);
		ctl_codec_put_uint(w, CONTACT_KEY_NODE);
		ctl_codec_put_bin(w, r->body.contact.node_id, RECORD_KEY_LEN);
		break;
	}
}

/* Keys 0..5 under a map header of N entries: N = 6 is what is signed, N = 7
 * the start of the record on the wire. */
static void record_put_unsigned(struct ctl_codec_writer *w, const struct record *r, uint32_t n)
{
	ctl_codec_put_map(w, n);
	ctl_codec_put_uint(w, RECORD_KEY_VERSION);
	ctl_codec_put_uint(w, RECORD_VERSION);
	ctl_codec_put_uint(w, RECORD_KEY_KIND);
	ctl_codec_put_uint(w, (uint64_t)r->kind);
	ctl_codec_put_uint(w, RECORD_KEY_SIGNER);
	ctl_codec_put_bin(w, r->signer, RECORD_KEY_LEN);
	ctl_codec_put_uint(w, RECORD_KEY_TIMESTAMP);
	ctl_codec_put_uint(w, r->timestamp_ms);
	ctl_codec_put_uint(w, RECORD_KEY_EXPIRES);
	ctl_codec_put_uint(w, r->expires_ms);
	ctl_codec_put_uint(w, RECORD_KEY_BODY);
	record_put_body(w, r);
}

int record_sign(const struct record *r, const uint8_t secret_key[64], uint8_t *out, size_t cap,
		size_t *len)
{
	uint8_t msg[RECORD_CONTEXT_LEN + RECORD_MAX_LEN];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sig[RECORD_SIG_LEN];
	struct ctl_codec_writer w;
	size_t total;
	int err;

	err = record_check(r);
	if (err)
		goto out;
	crypto_sign_ed25519_sk_to_pk(pk, secret_key);
	if (sodium_memcmp(pk, r->signer, RECORD_KEY_LEN) != 0) {
		err = -EINVAL;
		goto out;
	}

	memcpy(msg, RECORD_SIGN_CONTEXT, RECORD_CONTEXT_LEN);
	ctl_codec_writer_init(&w, msg + RECORD_CONTEXT_LEN, RECORD_MAX_LEN);
	record_put_unsigned(&w, r, RECORD_KEYS - 1);
	err = ctl_codec_writer_error(&w);
	if (err) {
		err = err == -ENOBUFS ? -EMSGSIZE : err;
		goto out;
	}
	/* The full map differs only in its header (0x86 → 0x87, both one
	 * byte) and the tail: key 6 (1 byte), bin 8 header (2), signature. */
	total = w.cw_len + 1 + 2 + RECORD_SIG_LEN;
	if (total > RECORD_MAX_LEN) {
		err = -EMSGSIZE;
		goto out;
	}
	if (total > cap) {
		err = -ENOBUFS;
		goto out;
	}
	if (crypto_sign_detached(sig, NULL, msg, RECORD_CONTEXT_LEN + w.cw_len, secret_key)) {
		err = -EINVAL;
		goto out;
	}

	/* The encoding is deterministic, so writing it again gives the very
	 * bytes just signed. */
	ctl_codec_writer_init(&w, out, cap);
	record_put_unsigned(&w, r, RECORD_KEYS);
	ctl_codec_put_uint(&w, RECORD_KEY_SIGNATURE);
	ctl_codec_put_bin(&w, sig, RECORD_SIG_LEN);
	err = ctl_codec_writer_error(&w);
	if (!err && w.cw_len != total)
		err = -EINVAL; /* cannot happen: the two encodings disagree */
	if (!err)
		*len = w.cw_len;
out:
	return err;
}

/* A bin value of exactly LEN bytes, copied to DST. */
static int record_get_fixed(struct ctl_codec_reader *r, uint8_t *dst, size_t len)
{
	const uint8_t *p;
	size_t n;

	if (ctl_codec_get_bin(r, &p, &n) || n != len)
		return -EBADMSG;
	memcpy(dst, p, len);
	return 0;
}

static int record_get_relays(struct ctl_codec_reader *r, struct record_node *n)
{
	const char *s;
	uint32_t count, i;
	size_t len;

	if (ctl_codec_get_array(r, &count) || count > RECORD_MAX_RELAYS)
		return -EBADMSG;
	for (i = 0; i < count; i++) {
		if (ctl_codec_get_str(r, &s, &len) || !record_url_ok(s, len))
			return -EBADMSG;
		memcpy(n->relays[i], s, len);
		n->relays[i][len] = '\0';
	}
	n->relay_count = count;
	return 0;
}

static int record_get_addrs(struct ctl_codec_reader *r, struct record_node *n)
{
	struct endpoint *ep;
	const uint8_t *p;
	uint32_t count, i;
	uint8_t *a;
	size_t len;

	if (ctl_codec_get_array(r, &count) || count > RECORD_MAX_ADDRS)
		return -EBADMSG;
	for (i = 0; i < count; i++) {
		if (ctl_codec_get_bin(r, &p, &len))
			return -EBADMSG;
		ep = &n->addrs[i];
		memset(ep, 0, sizeof(*ep));
		ep->sin6.sin6_family = AF_INET6;
		a = ep->sin6.sin6_addr.s6_addr;
		if (len == ADDR_V4_LEN && p[0] == ADDR_FAMILY_V4) {
			a[10] = 0xff;
			a[11] = 0xff;
			memcpy(a + 12, p + 1, 4);
		} else if (len == ADDR_V6_LEN && p[0] == ADDR_FAMILY_V6) {
			memcpy(a, p + 1, 16);
			/* One encoding per address: IPv4 is family 4. */
			if (IN6_IS_ADDR_V4MAPPED(&ep->sin6.sin6_addr))
				return -EBADMSG;
		} else {
			return -EBADMSG;
		}
		ep->sin6.sin6_port = htons((uint16_t)(p[len - 2] << 8 | p[len - 1]));
		if (ep->sin6.sin6_port == 0)
			return -EBADMSG;
	}
	n->addr_count = count;
	return 0;
}

static int record_get_seeds(struct ctl_codec_reader *r, struct record_network *net)
{
	uint32_t count, i;

	if (ctl_codec_get_array(r, &count) || count > RECORD_MAX_SEEDS)
		return -EBADMSG;
	for (i = 0; i < count; i++)
		if (record_get_fixed(r, net->seeds[i], RECORD_KEY_LEN))
			return -EBADMSG;
	net->seed_count = count;
	return 0;
}

/* One body field: KEY of a body of OUT->kind. *KNOWN tells whether the key
 * is one this version reads; unknown ones are skipped. */
static int record_get_field(struct ctl_codec_reader *r, struct record *out, uint64_t key,
			    bool *known)
{
	*known = true;
	if (out->kind == RECORD_NODE && key == NODE_KEY_RELAYS)
		return record_get_relays(r, &out->body.node);
	if (out->kind == RECORD_NODE && key == NODE_KEY_ADDRS)
		return record_get_addrs(r, &out->body.node);
	if (out->kind == RECORD_NETWORK && key == NETWORK_KEY_GROUP)
		return record_get_fixed(r, out->body.network.group_hash, RECORD_HASH_LEN);
	if (out->kind == RECORD_NETWORK && key == NETWORK_KEY_SEEDS)
		return record_get_seeds(r, &out->body.network);
	if (out->kind == RECORD_CONTACT && key == CONTACT_KEY_NODE)
		return record_get_fixed(r, out->body.contact.node_id, RECORD_KEY_LEN);
	/* A later version's field: skipped here, still covered by the
	 * signature. */
	*known = false;
	return ctl_codec_skip(r) ? -EBADMSG : 0;
}

/* The body map of OUT->kind; every known key is required (each one at most
 * once, which the canonical key order guarantees). */
static int record_get_body(struct ctl_codec_reader *r, struct record *out)
{
	unsigned seen = 0, need = out->kind == RECORD_CONTACT ? 1 : 2;
	struct ctl_codec_map m;
	uint64_t key;
	bool known;
	int more;

	if (ctl_codec_map_begin(r, &m))
		return -EBADMSG;
	while ((more = ctl_codec_map_next(r, &m, &key)) > 0) {
		if (record_get_field(r, out, key, &known))
			return -EBADMSG;
		seen += known;
	}
	if (more < 0 || seen != need)
		return -EBADMSG;
	return 0;
}

int record_parse_verify(const uint8_t *buf, size_t len, uint64_t now_ms, struct record *out)
{
	uint8_t msg[RECORD_CONTEXT_LEN + RECORD_MAX_LEN];
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	size_t sig_pos = 0;
	uint64_t key, v;
	unsigned k;
	int err = -EBADMSG;

	memset(out, 0, sizeof(*out));
	if (len > RECORD_MAX_LEN) {
		err = -EMSGSIZE;
		goto out;
	}
	if (!buf)
		goto out; /* the codec reader would do arithmetic on NULL */
	ctl_codec_reader_init(&r, buf, len, CTL_CODEC_CANONICAL);
	if (ctl_codec_map_begin(&r, &m) || m.cm_left != RECORD_KEYS)
		goto out;
	for (k = 0; k < RECORD_KEYS; k++) {
		if (k == RECORD_KEY_SIGNATURE)
			sig_pos = r.cr_pos;
		if (ctl_codec_map_next(&r, &m, &key) != 1 || key != k)
			goto out;
		switch (k) {
		case RECORD_KEY_VERSION:
			if (ctl_codec_get_uint(&r, &v))
				goto out;
			if (v != RECORD_VERSION) {
				err = -EPROTONOSUPPORT;
				goto out;
			}
			break;
		case RECORD_KEY_KIND:
			if (ctl_codec_get_uint(&r, &v))
				goto out;
			if (v != RECORD_NODE && v != RECORD_NETWORK && v != RECORD_CONTACT) {
				err = -EPROTONOSUPPORT;
				goto out;
			}
			out->kind = (enum record_kind)v;
			break;
		case RECORD_KEY_SIGNER:
			if (record_get_fixed(&r, out->signer, RECORD_KEY_LEN))
				goto out;
			break;
		case RECORD_KEY_TIMESTAMP:
			if (ctl_codec_get_uint(&r, &out->timestamp_ms))
				goto out;
			break;
		case RECORD_KEY_EXPIRES:
			if (ctl_codec_get_uint(&r, &out->expires_ms))
				goto out;
			break;
		case RECORD_KEY_BODY:
			if (record_get_body(&r, out))
				goto out;
			break;
		case RECORD_KEY_SIGNATURE:
			if (record_get_fixed(&r, out->signature, RECORD_SIG_LEN))
				goto out;
			break;
		}
	}
	if (ctl_codec_reader_end(&r) || out->expires_ms <= out->timestamp_ms)
		goto out;

	if (out->timestamp_ms > now_ms && out->timestamp_ms - now_ms > RECORD_MAX_FUTURE_MS) {
		err = -ERANGE;
		goto out;
	}
	if (out->expires_ms <= now_ms) {
		err = -ESTALE;
		goto out;
	}

	/* Signed bytes: context, the 6-entry map header, then keys 0..5 as
	 * they are on the wire (the 7-entry header is one byte too, and the
	 * canonical reader guarantees the fixmap form). */
	memcpy(msg, RECORD_SIGN_CONTEXT, RECORD_CONTEXT_LEN);
	msg[RECORD_CONTEXT_LEN] = 0x80 | (RECORD_KEYS - 1);
	memcpy(msg + RECORD_CONTEXT_LEN + 1, buf + 1, sig_pos - 1);
	if (crypto_sign_verify_detached(out->signature, msg, RECORD_CONTEXT_LEN + sig_pos,
					out->signer) != 0) {
		err = -EKEYREJECTED;
		goto out;
	}
	err = 0;
out:
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

bool record_is_newer(const struct record *a, const struct record *b)
{
	return a->timestamp_ms > b->timestamp_ms;
}
