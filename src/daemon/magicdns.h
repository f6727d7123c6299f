/* Magic DNS in the daemon (DESIGN.md §3): answers HOST.NETWORK.ray, HOST.ray
 * and the mesh reverse names from the verified rosters at 100.100.100.53
 * and fd72:6179::53, port 53 over UDP and TCP (RFC 7766, through the
 * userspace responder in dns/tcp_responder), intercepted from the TUN (no
 * socket on the host's port 53); forwards other names to the host's resolvers as they
 * were before rayfish touched the system; and, while the data plane is up,
 * points the host's resolver at itself (systemd-resolved's ~ray routing
 * domain on the TUN link, or our nameserver first in /etc/resolv.conf).
 *
 * In resolv.conf mode, names outside our zones are answered REFUSED rather
 * than forwarded, so the system resolver moves on to the user's own servers
 * at once. Queries are rate-limited per source address, over either
 * transport (a TCP query over the limit resets its connection); forwarding is
 * asynchronous, so a slow upstream never holds up the data path. */
#ifndef RAY_DAEMON_MAGICDNS_H
#define RAY_DAEMON_MAGICDNS_H

#include <jansson.h>
#include <stdbool.h>

struct daemon;

/* After the session exists: repairs a system configuration a crash left
 * behind, then takes the service packets. 0 or -errno (reason logged). */
int magicdns_start(struct daemon *d);
/* Reverts the system configuration; frees everything. */
void magicdns_stop(struct daemon *d);
/* The rosters changed: rebuild the names, and the search domains. */
void magicdns_update(struct daemon *d);
/* `ray up` / `ray down`: configure or revert the host's resolver. Failure
 * is reported in the status and the log, never fatal to the data plane. */
void magicdns_set_active(struct daemon *d, bool up);
/* For `ray status`: mode, whether the host uses us, upstreams, counters. */
json_t *magicdns_status(struct daemon *d);

#endif
