/* A peer's UDP address. IPv4 is kept as a v4-mapped IPv6 address so that one
 * dual-stack socket and one type serve both families. */
#ifndef RAY_PATH_ENDPOINT_H
#define RAY_PATH_ENDPOINT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define ENDPOINT_TEXT_MAX (INET6_ADDRSTRLEN + 8)

struct endpoint {
	struct sockaddr_in6 sin6;
};

/* "1.2.3.4:51820", "[fd00::1]:51820". Returns 0 or -EINVAL. */
int endpoint_parse(const char *text, struct endpoint *ep);
void endpoint_format(const struct endpoint *ep, char out[ENDPOINT_TEXT_MAX]);
bool endpoint_equal(const struct endpoint *a, const struct endpoint *b);
bool endpoint_is_set(const struct endpoint *ep);

#endif
