/* resolv.conf text from anywhere: parsed, rendered with our server and
 * search domains, and un-rendered. Properties besides memory safety: the
 * rendering starts with our marker and our nameserver, is recognized as
 * ours, and keeps every nameserver the input had. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolv_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const servers[] = {"100.100.100.53"};
	static const char *const search[] = {"net1.ray", "home.ray"};
	static struct resolv_conf_info in, out;
	const char *text = (const char *)data;
	char *r = NULL, *u = NULL;
	size_t rlen = 0, ulen = 0;

	if (resolv_conf_parse(text, size, &in) < 0)
		return 0;
	if (resolv_conf_render(text, size, servers, 1, search, 2, &r, &rlen, NULL) < 0)
		return 0;
	if (!resolv_conf_is_ours(r, rlen) ||
	    strncmp(r + strlen(RESOLV_CONF_MARKER) + 1, "nameserver 100.100.100.53\n", 26) != 0)
		abort();
	if (resolv_conf_parse(r, rlen, &out) < 0)
		abort();
	/* ours first, then the input's (up to the cap) */
	if (out.nservers < 1 ||
	    (in.nservers < RESOLV_CONF_MAX_SERVERS && out.nservers < in.nservers + 1))
		abort();
	if (resolv_conf_unrender(r, rlen, servers, 1, &u, &ulen) == 0 &&
	    resolv_conf_is_ours(u, ulen))
		abort();
	free(r);
	free(u);
	return 0;
}
