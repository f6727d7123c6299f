#ifndef RAY_UTIL_VERSION_H
#define RAY_UTIL_VERSION_H

#define RAY_VERSION "0.1.0"

#endif
