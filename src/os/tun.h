/* The TUN device: IP packets in and out, one per read/write. */
#ifndef RAY_OS_TUN_H
#define RAY_OS_TUN_H

#include <stddef.h>

#define TUN_NAME_MAX 16 /* IFNAMSIZ */

/* Create (or attach to) TUN device NAME without packet info headers.
 * Returns a non-blocking fd, or -errno. The kernel's name for it goes to
 * ACTUAL (TUN_NAME_MAX bytes). */
int tun_open(const char *name, char actual[TUN_NAME_MAX]);

#endif
