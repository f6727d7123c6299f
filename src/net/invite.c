#include "net/invite.h"
#include "net/group.h"
#include "crypto/keytext.h"
#include "crypto/zbase32.h"
#include "path/relay_client.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#define INVITE_FLAG_REUSABLE  0x01u
#define INVITE_FLAG_HOSTNAME  0x02u
#define INVITE_COORD_SHIFT    2
#define INVITE_COORD_MASK     0x07u
#define INVITE_RELAY_SHIFT    5
#define INVITE_RELAY_MASK     0x03u
#define INVITE_FLAG_RESERVED  0x80u
#define INVITE_URL_SCHEME     "http://"
#define INVITE_URL_SCHEME_LEN (sizeof(INVITE_URL_SCHEME) - 1)
#define INVITE_PREFIX_LEN     (sizeof(INVITE_TEXT_PREFIX) - 1)
#define INVITE_BUF_MAX	      (INVITE_PAYLOAD_MAX + INVITE_CHECK_LEN)

static bool invite_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The text between surrounding whitespace: *START and its length. */
static size_t invite_trim(const char *text, const char **start)
{
	size_t len;

	while (invite_is_space(*text))
		text++;
	len = strlen(text);
	while (len > 0 && invite_is_space(text[len - 1]))
		len--;
	*start = text;
	return len;
}

/* A relay URL as relay_client_parse_url takes it, with the "http://" prefix
 * spelled in lowercase (so the encoder can drop it and the parser add it). */
static int invite_relay_check(const char *url)
{
	char host[256];
	uint16_t port;
	size_t len = strnlen(url, INVITE_URL_MAX + 1);

	if (len > INVITE_URL_MAX)
		return -EMSGSIZE;
	if (strncmp(url, INVITE_URL_SCHEME, INVITE_URL_SCHEME_LEN) != 0 ||
	    len == INVITE_URL_SCHEME_LEN || relay_client_parse_url(url, host, &port) < 0)
		return -EINVAL;
	return 0;
}

static void invite_checksum(const uint8_t *payload, size_t len, uint8_t out[INVITE_CHECK_LEN])
{
	uint8_t h[crypto_generichash_BYTES_MIN];

	crypto_generichash(h, sizeof(h), payload, len, NULL, 0);
	memcpy(out, h, INVITE_CHECK_LEN);
}

void invite_secret_hash(const uint8_t secret[INVITE_SECRET_LEN], uint8_t out[INVITE_HASH_LEN])
{
	crypto_generichash(out, INVITE_HASH_LEN, secret, INVITE_SECRET_LEN, NULL, 0);
}

static size_t invite_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		uint8_t b = (uint8_t)(v & 0x7f);

		v >>= 7;
		p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v);
	return n;
}

/* Shortest-form LEB128 from P[*POS..LEN). */
static int invite_get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < 10; i++) {
		uint8_t b;

		if (*pos >= len)
			return -EINVAL;
		b = p[(*pos)++];
		if (i == 9 && b > 1)
			return -EINVAL; /* beyond 64 bits */
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return -EINVAL; /* not the shortest form */
			*v = x;
			return 0;
		}
	}
	return -EINVAL;
}

/* Fills BUF with PAYLOAD || CHECK; returns its length or a negative errno. */
static int invite_build(const struct invite_code *c, uint8_t buf[INVITE_BUF_MAX])
{
	size_t n = 0, hlen = strnlen(c->hostname, sizeof(c->hostname));
	uint8_t flags = 0;
	int err;

	if (c->ncoordinators > INVITE_COORDINATORS_MAX || c->nrelays > INVITE_RELAYS_MAX)
		return -EINVAL;
	if (hlen > INVITE_HOSTNAME_MAX)
		return -EMSGSIZE;
	if (hlen > 0 && !group_hostname_valid(c->hostname))
		return -EINVAL;
	for (unsigned i = 0; i < c->nrelays; i++)
		if ((err = invite_relay_check(c->relays[i])) < 0)
			return err;

	if (c->reusable)
		flags |= INVITE_FLAG_REUSABLE;
	if (hlen > 0)
		flags |= INVITE_FLAG_HOSTNAME;
	flags |= (uint8_t)(c->ncoordinators << INVITE_COORD_SHIFT);
	flags |= (uint8_t)(c->nrelays << INVITE_RELAY_SHIFT);

	buf[n++] = INVITE_VERSION;
	buf[n++] = flags;
	memcpy(buf + n, c->network_key, INVITE_KEY_LEN);
	n += INVITE_KEY_LEN;
	buf[n++] = (uint8_t)(c->id >> 24);
	buf[n++] = (uint8_t)(c->id >> 16);
	buf[n++] = (uint8_t)(c->id >> 8);
	buf[n++] = (uint8_t)c->id;
	memcpy(buf + n, c->secret, INVITE_SECRET_LEN);
	n += INVITE_SECRET_LEN;
	n += invite_put_varint(buf + n, c->expires);
	if (hlen > 0) {
		buf[n++] = (uint8_t)hlen;
		memcpy(buf + n, c->hostname, hlen);
		n += hlen;
	}
	for (unsigned i = 0; i < c->ncoordinators; i++) {
		memcpy(buf + n, c->coordinators[i], INVITE_KEY_LEN);
		n += INVITE_KEY_LEN;
	}
	for (unsigned i = 0; i < c->nrelays; i++) {
		size_t ulen = strlen(c->relays[i]) - INVITE_URL_SCHEME_LEN;

		buf[n++] = (uint8_t)ulen;
		memcpy(buf + n, c->relays[i] + INVITE_URL_SCHEME_LEN, ulen);
		n += ulen;
	}
	invite_checksum(buf, n, buf + n);
	return (int)(n + INVITE_CHECK_LEN);
}

int invite_code_encode(const struct invite_code *c, char *out, size_t cap)
{
	uint8_t buf[INVITE_BUF_MAX];
	size_t tlen;
	int ret, n;

	n = invite_build(c, buf);
	if (n < 0) {
		ret = n;
		goto out;
	}
	tlen = INVITE_PREFIX_LEN + ZBASE32_ENCODED_LEN((size_t)n);
	if (cap < tlen + 1) {
		ret = -ENOBUFS;
		goto out;
	}
	memcpy(out, INVITE_TEXT_PREFIX, INVITE_PREFIX_LEN);
	zbase32_encode(buf, (size_t)n, out + INVITE_PREFIX_LEN);
	ret = (int)tlen;
out:
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* Checks the "ray<digits>-" prefix; returns its length, or -EINVAL /
 * -EPROTONOSUPPORT. */
static int invite_prefix(const char *t, size_t len)
{
	size_t i = 3;

	if (len < 3 || strncasecmp(t, "ray", 3) != 0)
		return -EINVAL;
	while (i < len && i < 12 && t[i] >= '0' && t[i] <= '9')
		i++;
	if (i == 3 || i >= len || t[i] != '-')
		return -EINVAL;
	if (i != INVITE_PREFIX_LEN - 1 ||
	    strncasecmp(t, INVITE_TEXT_PREFIX, INVITE_PREFIX_LEN) != 0)
		return -EPROTONOSUPPORT;
	return (int)INVITE_PREFIX_LEN;
}

/* Reads the payload layout (checksum already verified). */
static int invite_read(const uint8_t *p, size_t len, struct invite_code *c)
{
	size_t pos = 2;
	unsigned ncoord, nrelay;
	uint8_t flags;

	if (len < 2)
		return -EINVAL;
	if (p[0] != INVITE_VERSION)
		return -EPROTONOSUPPORT;
	flags = p[1];
	ncoord = (flags >> INVITE_COORD_SHIFT) & INVITE_COORD_MASK;
	nrelay = (flags >> INVITE_RELAY_SHIFT) & INVITE_RELAY_MASK;
	if ((flags & INVITE_FLAG_RESERVED) || ncoord > INVITE_COORDINATORS_MAX ||
	    nrelay > INVITE_RELAYS_MAX)
		return -EINVAL;
	c->reusable = flags & INVITE_FLAG_REUSABLE;

	if (len - pos < INVITE_KEY_LEN + 4 + INVITE_SECRET_LEN)
		return -EINVAL;
	memcpy(c->network_key, p + pos, INVITE_KEY_LEN);
	pos += INVITE_KEY_LEN;
	c->id = (uint32_t)p[pos] << 24 | (uint32_t)p[pos + 1] << 16 | (uint32_t)p[pos + 2] << 8 |
		(uint32_t)p[pos + 3];
	pos += 4;
	memcpy(c->secret, p + pos, INVITE_SECRET_LEN);
	pos += INVITE_SECRET_LEN;
	if (invite_get_varint(p, len, &pos, &c->expires) < 0)
		return -EINVAL;

	if (flags & INVITE_FLAG_HOSTNAME) {
		size_t hlen;

		if (pos >= len)
			return -EINVAL;
		hlen = p[pos++];
		if (hlen == 0 || hlen > INVITE_HOSTNAME_MAX || hlen > len - pos)
			return -EINVAL;
		memcpy(c->hostname, p + pos, hlen);
		c->hostname[hlen] = '\0';
		pos += hlen;
		if (!group_hostname_valid(c->hostname))
			return -EINVAL;
	}

	if ((len - pos) / INVITE_KEY_LEN < ncoord)
		return -EINVAL;
	for (unsigned i = 0; i < ncoord; i++) {
		memcpy(c->coordinators[i], p + pos, INVITE_KEY_LEN);
		pos += INVITE_KEY_LEN;
	}
	c->ncoordinators = ncoord;

	for (unsigned i = 0; i < nrelay; i++) {
		size_t ulen;

		if (pos >= len)
			return -EINVAL;
		ulen = p[pos++];
		if (ulen == 0 || ulen > INVITE_URL_MAX - INVITE_URL_SCHEME_LEN ||
		    ulen > len - pos || memchr(p + pos, '\0', ulen))
			return -EINVAL;
		memcpy(c->relays[i], INVITE_URL_SCHEME, INVITE_URL_SCHEME_LEN);
		memcpy(c->relays[i] + INVITE_URL_SCHEME_LEN, p + pos, ulen);
		c->relays[i][INVITE_URL_SCHEME_LEN + ulen] = '\0';
		pos += ulen;
		if (invite_relay_check(c->relays[i]) < 0)
			return -EINVAL;
	}
	c->nrelays = nrelay;

	return pos == len ? 0 : -EINVAL;
}

int invite_code_parse(const char *text, struct invite_code *c)
{
	uint8_t buf[INVITE_BUF_MAX], check[INVITE_CHECK_LEN];
	const char *t;
	size_t len, zlen, blen;
	int ret, plen;

	memset(c, 0, sizeof(*c));
	len = invite_trim(text, &t);
	plen = invite_prefix(t, len);
	if (plen < 0) {
		ret = plen;
		goto out;
	}
	if (len > INVITE_CODE_TEXT_MAX) {
		ret = -EMSGSIZE;
		goto out;
	}
	zlen = len - (size_t)plen;
	blen = zlen * 5 / 8;
	if (ZBASE32_ENCODED_LEN(blen) != zlen || blen < 2 + INVITE_CHECK_LEN ||
	    zbase32_decode(t + plen, zlen, buf, blen) < 0) {
		ret = -EINVAL;
		goto out;
	}
	blen -= INVITE_CHECK_LEN;
	invite_checksum(buf, blen, check);
	if (sodium_memcmp(check, buf + blen, INVITE_CHECK_LEN) != 0) {
		ret = -EBADMSG;
		goto out;
	}
	ret = invite_read(buf, blen, c);
out:
	if (ret < 0)
		sodium_memzero(c, sizeof(*c));
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

enum invite_text_kind invite_text_kind(const char *text)
{
	const char *t;
	size_t len = invite_trim(text, &t);
	int p = invite_prefix(t, len);

	if (p >= 0 || p == -EPROTONOSUPPORT)
		return INVITE_TEXT_CODE;
	if (len == INVITE_ROOM_ID_LEN && !memchr(t, '-', len))
		return INVITE_TEXT_ROOM_ID;
	return INVITE_TEXT_OTHER;
}

void invite_room_id_format(const uint8_t key[INVITE_KEY_LEN], char out[INVITE_ROOM_ID_LEN + 1])
{
	keytext_format_node_id(key, out);
}

int invite_room_id_parse(const char *text, uint8_t key[INVITE_KEY_LEN])
{
	const char *t;
	size_t len = invite_trim(text, &t);

	if (len != INVITE_ROOM_ID_LEN)
		return -EINVAL;
	return zbase32_decode(t, len, key, INVITE_KEY_LEN);
}
