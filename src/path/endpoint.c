#include "path/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int endpoint_parse_port(const char *text, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!*text || *text == '-' || *text == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int endpoint_parse(const char *text, struct endpoint *ep)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon;
	struct in_addr v4;
	uint16_t port;
	size_t len;

	memset(ep, 0, sizeof(*ep));
	ep->sin6.sin6_family = AF_INET6;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		len = (size_t)(close - text - 1);
		if (len == 0 || len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, &ep->sin6.sin6_addr) != 1)
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		len = (size_t)(colon - text);
		if (len == 0 || len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, len);
		host[len] = '\0';
		if (inet_pton(AF_INET, host, &v4) != 1)
			return -EINVAL;
		ep->sin6.sin6_addr.s6_addr[10] = 0xff;
		ep->sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&ep->sin6.sin6_addr.s6_addr[12], &v4, 4);
	}
	if (endpoint_parse_port(colon + 1, &port) < 0)
		return -EINVAL;
	ep->sin6.sin6_port = htons(port);
	return 0;
}

void endpoint_format(const struct endpoint *ep, char out[ENDPOINT_TEXT_MAX])
{
	char host[INET6_ADDRSTRLEN];
	const struct in6_addr *a = &ep->sin6.sin6_addr;

	if (IN6_IS_ADDR_V4MAPPED(a)) {
		inet_ntop(AF_INET, &a->s6_addr[12], host, sizeof(host));
		snprintf(out, ENDPOINT_TEXT_MAX, "%s:%u", host, ntohs(ep->sin6.sin6_port));
	} else {
		inet_ntop(AF_INET6, a, host, sizeof(host));
		snprintf(out, ENDPOINT_TEXT_MAX, "[%s]:%u", host, ntohs(ep->sin6.sin6_port));
	}
}

bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->sin6.sin6_port == b->sin6.sin6_port &&
	       memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

bool endpoint_is_set(const struct endpoint *ep)
{
	return ep->sin6.sin6_port != 0;
}
