/* A node's identity: an ed25519 keypair kept in one 0600 file, and the X25519
 * keypair derived from it that serves as the WireGuard static key. */
#ifndef RAY_CRYPTO_IDENTITY_H
#define RAY_CRYPTO_IDENTITY_H

#include <stdint.h>

struct identity {
	uint8_t sign_public[32]; /* the node id */
	uint8_t sign_secret[64];
	uint8_t wg_public[32];
	uint8_t wg_secret[32];
};

/* Load the identity from PATH, or create it there (mode 0600) if PATH does
 * not exist. Errors: -EACCES unreadable, -EPERM readable by group or others
 * or owned by another user, -EINVAL malformed or truncated, other -errno. */
int identity_load_or_create(const char *path, struct identity *id);

/* Derive the whole identity from a 32-byte ed25519 seed. */
int identity_from_seed(const uint8_t seed[32], struct identity *id);

void identity_wipe(struct identity *id);

#endif
