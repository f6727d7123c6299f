/* Peers configured by hand (`ray debug peer add`), until networks exist:
 * applied to the session engine and persisted in STATE_DIR/peers.json as
 * the list of add requests, so a restart brings them back. */
#ifndef RAY_DAEMON_STATIC_PEERS_H
#define RAY_DAEMON_STATIC_PEERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct peer;

/* A node id, or "wg:BASE64" for a plain WireGuard key: fills WG and, for a
 * node id, NODE_ID. Returns 0 or -EINVAL. */
int static_peers_parse_name(const char *text, uint8_t wg[32], uint8_t node_id[32],
			    bool *has_node_id);

/* Add the peer ARGS describes ({"peer", "endpoint"?, "allowed_ips"?}) and
 * persist it. On failure nothing changed and ERR says why. */
struct peer *static_peers_add(struct daemon *d, const json_t *args, char *err, size_t err_len);

/* Remove peer NAME (node id or wg:KEY) and persist. Returns 0 or -errno. */
int static_peers_remove(struct daemon *d, const char *name, char *err, size_t err_len);

/* Load peers.json at start. A damaged file is an error (ERR), not a reset. */
int static_peers_load(struct daemon *d, char *err, size_t err_len);
void static_peers_free(struct daemon *d);

/* Whether node NODE_ID was added by hand. */
bool static_peers_has(struct daemon *d, const uint8_t node_id[32]);

#endif
