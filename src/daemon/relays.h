/* The daemon's relays (DESIGN.md §5): a connection to each home relay (from
 * `--relay URL` or settings.json) and, on demand, to the home relays of
 * peers; the node record published at the home relays; and peers' records
 * resolved from them when a peer is known by id alone.
 *
 * Home relays also serve STUN: the daemon asks them for its public address
 * from the peers' UDP socket, puts it in its record and tells peers (the
 * session engine does the telling). */
#ifndef RAY_DAEMON_RELAYS_H
#define RAY_DAEMON_RELAYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "path/endpoint.h"
#include "path/record_client.h"

#define RELAYS_MAX	   8
#define RELAYS_HOME_MAX	   4
#define RELAYS_URL_MAX	   255
#define RELAYS_PENDING_MAX 32

struct daemon;
struct relay_client;
struct record_request;

struct relays_conn {
	char url[RELAYS_URL_MAX + 1];
	struct relay_client *rc;
	bool home;
};

struct relays_pending {
	struct daemon *d;
	struct record_request *req; /* NULL: slot free */
	uint8_t node_id[32];	    /* whose record is fetched (GET) */
	bool get;
};

struct portmap;

struct relays {
	struct portmap *portmap; /* UPnP / NAT-PMP on the gateway, with home relays */
	struct relays_conn conns[RELAYS_MAX];
	unsigned nconns;
	struct relays_pending pending[RELAYS_PENDING_MAX];
	uint64_t timer;
	uint64_t published_ms;	   /* wall clock of the last publish, 0: never */
	struct endpoint reflexive; /* the public address STUN last told us */
	char published_addrs[512]; /* what the last record said, to spot changes */
};

/* Connect to the home relays in d->settings and, when there are any, ask
 * the gateway for a port mapping. Returns 0 or -errno. */
int relays_start(struct daemon *d);
/* Close every connection and cancel requests; after session_free. */
void relays_stop(struct daemon *d);

/* The connection to URL, made if there is none yet; NULL if the URL is bad
 * or all RELAYS_MAX slots are taken. */
struct relay_client *relays_get(struct daemon *d, const char *url);

/* Fetch NODE_ID's record from the home relays and point its peer at the
 * relays and addresses it lists. Does nothing without home relays. */
void relays_resolve(struct daemon *d, const uint8_t node_id[32]);

/* PUT the signed record BUF of SIGNER to every home relay (best effort;
 * failures are logged). */
void relays_publish_record(struct daemon *d, const uint8_t signer[32], const uint8_t *buf,
			   size_t len);
/* GET SIGNER's record from the first home relay: as record_client_get
 * (path/record_client.h); -ENOENT without home relays. */
int relays_fetch_record(struct daemon *d, const uint8_t signer[32], record_request_cb cb, void *arg,
			struct record_request **out);

/* For `ray status`: [{url, home, connected, rtt_ms, ...}]. */
json_t *relays_status(struct daemon *d);

#endif
