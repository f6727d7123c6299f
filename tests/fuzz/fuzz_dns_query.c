/* The Magic DNS resolver over arbitrary datagrams, with a small table.
 * Properties checked besides memory safety (ASan/UBSan, leaks): the result
 * is > 0, 0 or -EBADMSG; 0 only for a message of at least a header; every
 * answer fits the buffer, parses back with ldns, is a response (QR) with
 * the query's id, and has no answer records when TC is set; an answer with
 * a 512-byte cap is never longer than 512. The same for dns_error_reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>

#include <ldns/ldns.h>

#include "dns/resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_table *fuzz_table(void)
{
	static const char *const spec[][4] = {
		{"b", "net1", "100.64.1.2", "fd72:6179::1:2"},
		{"b", "net2", "100.64.1.3", "fd72:6179::1:3"},
		{"c", "net1", "100.127.0.1", "::"},
		{"twin", "net1", "100.66.0.9", "fd72:6179::9"},
		{"twin", "net2", "100.66.0.9", "fd72:6179::9"},
	};
	static struct dns_table *t;

	if (t)
		return t;
	t = dns_table_new();
	if (!t)
		abort();
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		struct dns_name_entry e;

		memset(&e, 0, sizeof(e));
		strcpy(e.host, spec[i][0]);
		strcpy(e.network, spec[i][1]);
		if (inet_pton(AF_INET, spec[i][2], &e.v4) != 1 ||
		    inet_pton(AF_INET6, spec[i][3], &e.v6) != 1 || dns_table_add(t, &e))
			abort();
	}
	return t;
}

static void check_answer(const uint8_t *data, size_t size, const uint8_t *out, int n, size_t cap)
{
	ldns_pkt *a = NULL;

	if (n == 0 && size >= DNS_HEADER_LEN)
		return;
	if (n == -EBADMSG)
		return;
	if (n <= 0 || (size_t)n > cap || (size_t)n < DNS_HEADER_LEN)
		abort();
	if (out[0] != data[0] || out[1] != data[1] || !(out[2] & 0x80))
		abort();
	if (ldns_wire2pkt(&a, out, (size_t)n) != LDNS_STATUS_OK)
		abort();
	if (ldns_pkt_tc(a) && ldns_pkt_ancount(a))
		abort();
	ldns_pkt_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535];
	const struct dns_table *t = fuzz_table();
	int n;

	n = dns_answer(t, data, size, out, DNS_UDP_MAX);
	check_answer(data, size, out, n, DNS_UDP_MAX);
	n = dns_answer(t, data, size, out, sizeof(out));
	check_answer(data, size, out, n, sizeof(out));
	if (size >= 1) {
		/* a cap from the first byte, down to below a header */
		size_t cap = data[0] % 64;

		n = dns_answer(t, data, size, out, cap);
		if (n != -ENOBUFS || cap >= DNS_HEADER_LEN)
			check_answer(data, size, out, n, cap);
	}
	n = dns_error_reply(data, size, DNS_RCODE_REFUSED, out, DNS_UDP_MAX);
	check_answer(data, size, out, n, DNS_UDP_MAX);
	return 0;
}
