/* Friendly network names (DESIGN.md §7): "adjective-adjective-noun", such as
 * "gentle-amber-fox", from three built-in lists of 64 short lowercase words
 * (262144 names). Every name is a valid DNS label of at most NAMES_MAX_LEN
 * characters. */
#ifndef RAY_NET_NAMES_H
#define RAY_NET_NAMES_H

#include <stddef.h>

#define NAMES_MAX_LEN 23 /* three words of at most 7 letters, two dashes */

/* Writes a random name and a NUL to OUT (CAP bytes; NAMES_MAX_LEN + 1
 * suffice). Returns its length or -ENOBUFS. */
int names_generate(char *out, size_t cap);

#endif
