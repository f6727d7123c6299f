/* Mesh addresses derived from a node's identity.
 *
 * IPv4, in 100.64.0.0/10: h = FNV-1a-32 over the 32-byte public key followed by
 * the collision index as 4 bytes big-endian; host = h mod (2^22 - 2) + 1, so
 * never the network or broadcast address of the /10. While the result falls in
 * 100.100.100.0/24 (reserved for services such as Magic DNS), h is replaced by
 * FNV-1a-32 over h's 4 bytes big-endian and the mapping is repeated.
 *
 * IPv6: fd72:6179::/32 ("ray" ULA) followed by the first 12 bytes of
 * BLAKE2b-256 (unkeyed) of the public key. It never changes. */
#ifndef RAY_CRYPTO_ADDRESS_H
#define RAY_CRYPTO_ADDRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#define ADDRESS_IPV4_PREFIX	0x64400000u /* 100.64.0.0 */
#define ADDRESS_IPV4_PREFIX_LEN 10
#define ADDRESS_IPV6_PREFIX_LEN 32
#define ADDRESS_DNS_IPV4	0x64646435u	  /* 100.100.100.53 */
extern const struct in6_addr address_ipv6_prefix; /* fd72:6179:: */
extern const struct in6_addr address_dns_ipv6;	  /* fd72:6179::53 */

/* Host byte order. */
uint32_t address_ipv4_derive(const uint8_t public_key[32], uint32_t collision_index);
void address_ipv6_derive(const uint8_t public_key[32], struct in6_addr *out);

bool address_ipv4_in_mesh(uint32_t ipv4);
bool address_ipv6_in_mesh(const struct in6_addr *ipv6);

#endif
