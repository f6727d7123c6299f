/* Interface configuration through rtnetlink: link state, MTU, addresses,
 * routes. Every call is synchronous and returns 0 or -errno (the kernel's
 * answer). */
#ifndef RAY_OS_NETIF_H
#define RAY_OS_NETIF_H

#include <stdbool.h>

/* Index of interface NAME, or -errno. */
int netif_index(const char *name);
int netif_set_up(int ifindex, bool up);
int netif_set_mtu(int ifindex, unsigned mtu);

/* FAMILY is AF_INET or AF_INET6; ADDR is a struct in_addr / in6_addr.
 * Adding what exists already and deleting what is absent both succeed. */
int netif_addr_add(int ifindex, int family, const void *addr, int prefix_len);
int netif_addr_del(int ifindex, int family, const void *addr, int prefix_len);
int netif_route_add(int ifindex, int family, const void *dst, int prefix_len);
int netif_route_del(int ifindex, int family, const void *dst, int prefix_len);

/* True when some route other than through IFINDEX covers part of DST/LEN
 * (another VPN or a CGNAT network already uses the range). */
bool netif_route_overlaps(int ifindex, int family, const void *dst, int prefix_len);

#endif
