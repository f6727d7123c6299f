#include "crypto/address.h"

#include <sodium.h>
#include <string.h>

#define FNV32_OFFSET	  0x811c9dc5u
#define FNV32_PRIME	  0x01000193u
#define IPV4_HOSTS	  ((1u << (32 - ADDRESS_IPV4_PREFIX_LEN)) - 2u)
#define IPV4_RESERVED_NET 0x64646400u /* 100.100.100.0/24 */

const struct in6_addr address_ipv6_prefix = {{{0xfd, 0x72, 0x61, 0x79}}};
const struct in6_addr address_dns_ipv6 = {{{0xfd, 0x72, 0x61, 0x79, [15] = 0x53}}};

static uint32_t fnv1a32(uint32_t h, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= data[i];
		h *= FNV32_PRIME;
	}
	return h;
}

static void put_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

uint32_t address_ipv4_derive(const uint8_t public_key[32], uint32_t collision_index)
{
	uint8_t be[4];
	uint32_t h, ip;

	put_be32(be, collision_index);
	h = fnv1a32(fnv1a32(FNV32_OFFSET, public_key, 32), be, sizeof(be));
	for (;;) {
		ip = ADDRESS_IPV4_PREFIX | (h % IPV4_HOSTS + 1u);
		if ((ip & 0xffffff00u) != IPV4_RESERVED_NET)
			return ip;
		put_be32(be, h);
		h = fnv1a32(FNV32_OFFSET, be, sizeof(be));
	}
}

void address_ipv6_derive(const uint8_t public_key[32], struct in6_addr *out)
{
	uint8_t digest[32];

	crypto_generichash(digest, sizeof(digest), public_key, 32, NULL, 0);
	memcpy(out->s6_addr, address_ipv6_prefix.s6_addr, 4);
	memcpy(out->s6_addr + 4, digest, 12);
}

bool address_ipv4_in_mesh(uint32_t ipv4)
{
	return (ipv4 >> (32 - ADDRESS_IPV4_PREFIX_LEN)) ==
	       (ADDRESS_IPV4_PREFIX >> (32 - ADDRESS_IPV4_PREFIX_LEN));
}

bool address_ipv6_in_mesh(const struct in6_addr *ipv6)
{
	return memcmp(ipv6->s6_addr, address_ipv6_prefix.s6_addr, 4) == 0;
}
