/* z-base-32 (Zooko's human-oriented base-32), lowercase, bits taken MSB first. */
#ifndef RAY_CRYPTO_ZBASE32_H
#define RAY_CRYPTO_ZBASE32_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for LEN bytes, without the terminating NUL. */
#define ZBASE32_ENCODED_LEN(len) (((len)*8 + 4) / 5)

/* Writes ZBASE32_ENCODED_LEN(len) characters and a NUL to OUT, which must hold
 * that many plus one. */
void zbase32_encode(const uint8_t *in, size_t len, char *out);

/* Decodes exactly OUT_LEN bytes from the IN_LEN characters of IN. Upper case is
 * accepted. Returns -EINVAL on a wrong length, a character outside the
 * alphabet, or non-zero padding bits (so every value has one text form). */
int zbase32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len);

#endif
