#include "path/stun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#define STUN_BINDING_REQUEST  0x0001
#define STUN_BINDING_SUCCESS  0x0101
#define STUN_ATTR_MAPPED      0x0001
#define STUN_ATTR_CHANGE_REQ  0x0003
#define STUN_ATTR_INTEGRITY   0x0008
#define STUN_ATTR_XOR_MAPPED  0x0020
#define STUN_ATTR_SOFTWARE    0x8022
#define STUN_ATTR_FINGERPRINT 0x8028
#define STUN_FINGERPRINT_XOR  0x5354554eu
#define STUN_FAMILY_IPV4      0x01
#define STUN_FAMILY_IPV6      0x02

static const char stun_software[] = "rayfish";

/* What one pass over a well-formed message found. */
struct stun_scan {
	uint16_t type;
	const uint8_t *xor_mapped; /* value of the first XOR-MAPPED-ADDRESS */
	size_t xor_mapped_len;
	const uint8_t *mapped; /* value of the first MAPPED-ADDRESS */
	size_t mapped_len;
	uint32_t change_flags; /* of every CHANGE-REQUEST (RFC 3489), ORed */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t stun_fingerprint(const uint8_t *msg, size_t len)
{
	/* Bitwise reflected CRC-32 (polynomial 0x04C11DB7): STUN messages are
	 * tiny, so a table would buy nothing. */
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= msg[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc ^ STUN_FINGERPRINT_XOR;
}

/* Check the header and walk every attribute of the datagram BUF; fill *S.
 * CLASSIC: an RFC 3489 message, whose bytes 4..7 are part of the transaction
 * id and must not be the magic cookie; otherwise they must be. 0 or
 * -EBADMSG. */
static int stun_scan(const uint8_t *buf, size_t len, bool classic, struct stun_scan *s)
{
	bool after_integrity = false;
	size_t pos, left, padded;
	uint16_t type, alen;

	memset(s, 0, sizeof(*s));
	if (!buf || len < STUN_HEADER_LEN)
		return -EBADMSG;
	if (buf[0] & 0xc0)
		return -EBADMSG;
	if ((get32(buf + 4) == STUN_MAGIC_COOKIE) == classic)
		return -EBADMSG;
	alen = get16(buf + 2);
	if (alen % 4 || (size_t)alen != len - STUN_HEADER_LEN)
		return -EBADMSG;
	s->type = get16(buf);

	for (pos = STUN_HEADER_LEN; pos < len; pos += 4 + padded) {
		left = len - pos;
		if (left < 4)
			return -EBADMSG;
		type = get16(buf + pos);
		alen = get16(buf + pos + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > left - 4)
			return -EBADMSG;
		if (type == STUN_ATTR_FINGERPRINT) {
			/* Must be last, and covers everything before it. */
			if (alen != 4 || left != 8)
				return -EBADMSG;
			if (get32(buf + pos + 4) != stun_fingerprint(buf, pos))
				return -EBADMSG;
			continue;
		}
		if (after_integrity)
			continue;
		switch (type) {
		case STUN_ATTR_XOR_MAPPED:
			if (!s->xor_mapped) {
				s->xor_mapped = buf + pos + 4;
				s->xor_mapped_len = alen;
			}
			break;
		case STUN_ATTR_MAPPED:
			if (!s->mapped) {
				s->mapped = buf + pos + 4;
				s->mapped_len = alen;
			}
			break;
		case STUN_ATTR_INTEGRITY:
			after_integrity = true;
			break;
		case STUN_ATTR_CHANGE_REQ:
			/* a malformed one reads as "change something": not answered */
			s->change_flags |= alen == 4 ? get32(buf + pos + 4) : 0xffffffffu;
			break;
		default:
			/* Unknown or not needed, comprehension-required or not:
			 * ignored, see stun.h. */
			break;
		}
	}
	return 0;
}

/* Decode a (XOR-)MAPPED-ADDRESS value V of VLEN bytes. For the XOR form,
 * HDR is the message header: bytes 4..19 are the cookie and the transaction
 * id, the mask for the address (IPv4 uses only the cookie). 0, -ENOENT
 * (unknown family) or -EBADMSG. */
static int stun_decode_address(const uint8_t *v, size_t vlen, const uint8_t *hdr,
			       struct endpoint *ep)
{
	struct endpoint tmp;
	uint8_t *a = tmp.sin6.sin6_addr.s6_addr;
	uint16_t port;
	int i;

	if (vlen < 4)
		return -EBADMSG;
	memset(&tmp, 0, sizeof(tmp));
	tmp.sin6.sin6_family = AF_INET6;
	port = get16(v + 2);
	if (hdr)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	switch (v[1]) {
	case STUN_FAMILY_IPV4:
		if (vlen != 8)
			return -EBADMSG;
		a[10] = 0xff;
		a[11] = 0xff;
		for (i = 0; i < 4; i++)
			a[12 + i] = v[4 + i] ^ (hdr ? hdr[4 + i] : 0);
		break;
	case STUN_FAMILY_IPV6:
		if (vlen != 20)
			return -EBADMSG;
		for (i = 0; i < 16; i++)
			a[i] = v[4 + i] ^ (hdr ? hdr[4 + i] : 0);
		break;
	default:
		return -ENOENT;
	}
	/* Port 0 cannot be where the request came from. */
	if (port == 0)
		return -EBADMSG;
	tmp.sin6.sin6_port = htons(port);
	*ep = tmp;
	return 0;
}

int stun_build_binding_request(const uint8_t txid[STUN_TXID_LEN], bool fingerprint, uint8_t *out,
			       size_t cap, size_t *len)
{
	size_t n = STUN_HEADER_LEN + (fingerprint ? 8 : 0);

	if (cap < n)
		return -ENOBUFS;
	put16(out, STUN_BINDING_REQUEST);
	put16(out + 2, (uint16_t)(n - STUN_HEADER_LEN));
	put32(out + 4, STUN_MAGIC_COOKIE);
	memmove(out + 8, txid, STUN_TXID_LEN);
	if (fingerprint) {
		put16(out + 20, STUN_ATTR_FINGERPRINT);
		put16(out + 22, 4);
		put32(out + 24, stun_fingerprint(out, 20));
	}
	*len = n;
	return 0;
}

int stun_parse_binding_response(const uint8_t *buf, size_t len, const uint8_t txid[STUN_TXID_LEN],
				struct endpoint *mapped)
{
	struct stun_scan s;
	int err;

	err = stun_scan(buf, len, false, &s);
	if (err)
		return err;
	if (s.type != STUN_BINDING_SUCCESS)
		return -ENOMSG;
	/* The id is what stops an off-path host from feeding us an address;
	 * compare it without a data-dependent early exit. */
	if (sodium_memcmp(buf + 8, txid, STUN_TXID_LEN) != 0)
		return -ESRCH;
	err = -ENOENT;
	if (s.xor_mapped)
		err = stun_decode_address(s.xor_mapped, s.xor_mapped_len, buf, mapped);
	if (err == -ENOENT && s.mapped)
		err = stun_decode_address(s.mapped, s.mapped_len, NULL, mapped);
	return err;
}

bool stun_is_binding_request(const uint8_t *buf, size_t len)
{
	struct stun_scan s;

	return stun_scan(buf, len, false, &s) == 0 && s.type == STUN_BINDING_REQUEST;
}

int stun_write_binding_response(const uint8_t *req, size_t req_len, const struct endpoint *observed,
				uint8_t *out, size_t cap, size_t *len)
{
	const uint8_t *a = observed->sin6.sin6_addr.s6_addr;
	bool v4 = IN6_IS_ADDR_V4MAPPED(&observed->sin6.sin6_addr);
	size_t alen = v4 ? 8 : 20;
	size_t sw_len = sizeof(stun_software) - 1;
	size_t sw_padded = (sw_len + 3) & ~(size_t)3;
	size_t n = STUN_HEADER_LEN + 4 + alen + 4 + sw_padded + 8;
	uint8_t hdr[STUN_HEADER_LEN];
	uint16_t port;
	size_t pos, i;

	if (!stun_is_binding_request(req, req_len))
		return -EBADMSG;
	if (observed->sin6.sin6_family != AF_INET6)
		return -EINVAL;
	if (cap < n)
		return -ENOBUFS;
	/* Header first into a copy, so OUT may be the request's own buffer. */
	put16(hdr, STUN_BINDING_SUCCESS);
	put16(hdr + 2, (uint16_t)(n - STUN_HEADER_LEN));
	memcpy(hdr + 4, req + 4, 16); /* cookie and transaction id */
	memcpy(out, hdr, sizeof(hdr));
	pos = STUN_HEADER_LEN;

	port = ntohs(observed->sin6.sin6_port);
	put16(out + pos, STUN_ATTR_XOR_MAPPED);
	put16(out + pos + 2, (uint16_t)alen);
	out[pos + 4] = 0;
	out[pos + 5] = v4 ? STUN_FAMILY_IPV4 : STUN_FAMILY_IPV6;
	put16(out + pos + 6, port ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16));
	for (i = 0; i < alen - 4; i++)
		out[pos + 8 + i] = (v4 ? a[12 + i] : a[i]) ^ hdr[4 + i];
	pos += 4 + alen;

	put16(out + pos, STUN_ATTR_SOFTWARE);
	put16(out + pos + 2, (uint16_t)sw_len);
	memset(out + pos + 4, 0, sw_padded);
	memcpy(out + pos + 4, stun_software, sw_len);
	pos += 4 + sw_padded;

	put16(out + pos, STUN_ATTR_FINGERPRINT);
	put16(out + pos + 2, 4);
	put32(out + pos + 4, stun_fingerprint(out, pos));
	*len = n;
	return 0;
}

bool stun_is_classic_binding_request(const uint8_t *buf, size_t len)
{
	struct stun_scan s;

	/* Only the "change IP" (4) and "change port" (2) flags mean anything;
	 * a server with one address can honour neither. */
	return stun_scan(buf, len, true, &s) == 0 && s.type == STUN_BINDING_REQUEST &&
	       (s.change_flags & 6) == 0;
}

int stun_write_classic_binding_response(const uint8_t *req, size_t req_len,
					const struct endpoint *observed, uint8_t *out, size_t cap,
					size_t *len)
{
	const uint8_t *a = observed->sin6.sin6_addr.s6_addr;
	bool v4 = IN6_IS_ADDR_V4MAPPED(&observed->sin6.sin6_addr);
	size_t alen = v4 ? 8 : 20;
	size_t n = STUN_HEADER_LEN + 4 + alen;
	uint8_t id[16];

	if (!stun_is_classic_binding_request(req, req_len))
		return -EBADMSG;
	if (observed->sin6.sin6_family != AF_INET6)
		return -EINVAL;
	if (cap < n)
		return -ENOBUFS;
	memcpy(id, req + 4, sizeof(id)); /* OUT may be the request's own buffer */
	put16(out, STUN_BINDING_SUCCESS);
	put16(out + 2, (uint16_t)(n - STUN_HEADER_LEN));
	memcpy(out + 4, id, sizeof(id));
	put16(out + 20, STUN_ATTR_MAPPED);
	put16(out + 22, (uint16_t)alen);
	out[24] = 0;
	out[25] = v4 ? STUN_FAMILY_IPV4 : STUN_FAMILY_IPV6;
	put16(out + 26, ntohs(observed->sin6.sin6_port));
	memcpy(out + 28, v4 ? a + 12 : a, alen - 4);
	*len = n;
	return 0;
}
