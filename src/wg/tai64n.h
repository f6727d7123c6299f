/* TAI64N timestamps for handshake initiations (whitepaper section 5.1): the
 * responder accepts an initiation only if its timestamp is greater than the
 * last one it accepted from that peer. */
#ifndef RAY_WG_TAI64N_H
#define RAY_WG_TAI64N_H

#include <stdint.h>

#include "wg/messages.h"

/* Encode the wall-clock time UNIX_SEC + NSEC (nsec < 10^9) as TAI64N:
 * 2^62 + 10 + seconds as 8 bytes big-endian, then nanoseconds as 4 bytes
 * big-endian. The nanoseconds are rounded down to a multiple of 2^24 (about
 * 16.8 ms, under 1/WG_INITIATIONS_PER_SEC) as WireGuard does, so the
 * timestamp does not leak a fine-grained clock. */
void wg_tai64n_encode(uint8_t out[WG_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec);

/* <0, 0, >0 as A is earlier than, equal to or later than B. */
int wg_tai64n_compare(const uint8_t a[WG_TAI64N_LEN], const uint8_t b[WG_TAI64N_LEN]);

#endif
