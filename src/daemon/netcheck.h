/* `ray netcheck`: what the network between this node and its peers looks
 * like, measured now from the peers' UDP socket:
 *   - whether UDP gets out at all (any STUN answer);
 *   - the public address(es) each relay's STUN sees;
 *   - whether the mapping varies by destination (symmetric NAT: then hole
 *     punching cannot work and peers stay on relays). Each relay answers
 *     STUN on its port N and on N+1 (relay/relay_proto.h), so one relay
 *     suffices to tell;
 *   - whether the gateway maps ports (UPnP IGD, NAT-PMP);
 *   - the latency to each relay, and the preferred (lowest-latency) one. */
#ifndef RAY_DAEMON_NETCHECK_H
#define RAY_DAEMON_NETCHECK_H

#include <jansson.h>

struct daemon;
struct ipc_request;

/* The IPC command: answers REQ later (IPC_DEFERRED), after at most
 * NETCHECK_TIMEOUT_MS. One at a time. */
#define NETCHECK_TIMEOUT_MS 2000
json_t *netcheck_start(struct daemon *d, struct ipc_request *req, json_t *args);
/* Answer a running netcheck now with an error (the daemon is stopping). */
void netcheck_stop(struct daemon *d);

#endif
