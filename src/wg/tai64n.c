#include "wg/tai64n.h"

#include <string.h>

#define TAI64_BASE     0x400000000000000aULL /* 2^62 + 10 (TAI - UTC in 1972) */
#define TAI64N_NS_MASK 0x00ffffffU

static void be_put(uint8_t *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

void wg_tai64n_encode(uint8_t out[WG_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec)
{
	be_put(out, TAI64_BASE + unix_sec, 8);
	be_put(out + 8, nsec & ~TAI64N_NS_MASK, 4);
}

int wg_tai64n_compare(const uint8_t a[WG_TAI64N_LEN], const uint8_t b[WG_TAI64N_LEN])
{
	/* Big-endian fields in order of significance: bytewise order is time order. */
	return memcmp(a, b, WG_TAI64N_LEN);
}
