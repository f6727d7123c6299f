/* Port mapping: ask the local gateway to forward a UDP port to us, so that the
 * gateway's external address:port can be offered to peers as a direct-path
 * candidate, and `ray netcheck` can say whether the gateway maps ports.
 *
 * Protocols, in order: NAT-PMP (RFC 6886, libnatpmp; the gateway is the
 * default route's next hop), then UPnP IGD (miniupnpc: SSDP discovery, then
 * SOAP to the gateway's WANIPConnection service). Both ask for the external
 * port equal to the internal one; the gateway may grant another. The mapping
 * is requested for PORTMAP_LIFETIME_S and renewed at half its granted
 * lifetime; a failed renewal starts a full probe again. With nothing found,
 * the gateway is probed again every PORTMAP_RETRY_S (and on portmap_refresh).
 *
 * Both libraries block (SSDP waits, HTTP/SOAP calls), so all probing runs in
 * one worker thread per portmap that owns the libraries' state; it hands each
 * result to the event loop through an eventfd, and the callback runs on the
 * loop. The loop never waits on the worker except in portmap_free.
 *
 * Logs one info line when a mapping is made, one warning when a mapping that
 * worked is lost; nothing per renewal. IPv4 only (NAT-PMP and IGDv1 are). */
#ifndef RAY_PATH_PORTMAP_H
#define RAY_PATH_PORTMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "path/endpoint.h"

#define PORTMAP_LIFETIME_S 7200 /* asked for; renewed at half the granted lifetime */
#define PORTMAP_RETRY_S	   600	/* probe again this often while nothing is mapped */

struct loop;
struct portmap;

struct portmap_result {
	bool upnp;		  /* a UPnP IGD answered */
	bool natpmp;		  /* a NAT-PMP gateway answered */
	bool mapped;		  /* a mapping exists now */
	struct endpoint external; /* the gateway's external addr:port for our port (if mapped) */
	uint32_t lifetime_s;	  /* as granted; 0 for a permanent UPnP lease (if mapped) */
	const char *method;	  /* "nat-pmp", "upnp", or NULL; a static string */
};

/* Runs on the loop. R is valid during the call only. The callback must not
 * call portmap_free on the portmap that called it. */
typedef void (*portmap_fn)(void *arg, const struct portmap_result *r);

/* Start mapping INTERNAL_PORT (UDP) on the default gateway. CB runs on LOOP
 * with the first result (a full probe takes about 1 s, up to 3 s when the
 * gateway does not answer at all) and whenever the result changes after
 * that, "nothing found" included.
 * Returns 0 and *OUT (freed with portmap_free), or -EINVAL / -ENOMEM /
 * -errno of eventfd or pthread_create. */
int portmap_new(struct loop *loop, uint16_t internal_port, portmap_fn cb, void *arg,
		struct portmap **out);

/* Probe again now, as on start (local addresses or the gateway changed). */
void portmap_refresh(struct portmap *pm);

/* The last result handed to the callback; false (and *R untouched) before
 * the first. */
bool portmap_get(const struct portmap *pm, struct portmap_result *r);

/* Stop: delete the mapping at the gateway (best effort) and end the worker.
 * Blocks the caller until the worker has exited: bounded by the libraries'
 * timeouts, about 1 s for NAT-PMP and a few seconds for an unresponsive UPnP
 * gateway. NULL is a no-op. */
void portmap_free(struct portmap *pm);

#endif
