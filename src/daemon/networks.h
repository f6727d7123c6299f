/* The networks this node belongs to (DESIGN.md §7): their keys, rosters
 * (net/group.h) and, for coordinators, invite ledgers; persisted one file per
 * network in STATE_DIR/networks/; applied to the session engine (every
 * member a peer with the addresses its roster gives); kept in step with the
 * network record its coordinators sign and publish at the relays.
 *
 * Trust: a roster is believed when its hash is the one in the network record
 * signed by the network key (fetched from a relay), or when it came from the
 * coordinator our invite code named, in answer to our join. Messages from
 * peers are only triggers to re-check. */
#ifndef RAY_DAEMON_NETWORKS_H
#define RAY_DAEMON_NETWORKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETWORKS_MAX 16

struct daemon;
struct peer;
struct ipc_request;
struct network;

struct networks {
	struct network *list[NETWORKS_MAX];
	unsigned n;
	uint64_t timer, prune_timer;
	struct networks_join *joins; /* `ray join`s waiting for a coordinator */
	bool ipv4_conflict;	     /* our rosters disagree on our IPv4 (warned) */
};

/* Load STATE_DIR/networks/ and apply every roster. A damaged file is an
 * error (ERR), not a silent loss. */
int networks_load(struct daemon *d, char *err, size_t err_len);
/* Start the periodic refresh (after the relays). */
void networks_start(struct daemon *d);
/* Answer pending joins, cancel requests, free everything. */
void networks_stop(struct daemon *d);

/* A control request from P about networks: true if it was one (answered). */
bool networks_on_request(struct daemon *d, struct peer *p, uint32_t req_id, uint32_t method,
			 const uint8_t *body, size_t len);

/* The node id of the member called TEXT ("host" or "host.network") in our
 * networks. -ENOENT none, -EEXIST the name means different nodes in two
 * networks. */
int networks_resolve_member(struct daemon *d, const char *text, uint8_t id[32]);

/* Whether node ID is on the roster of any of our networks. */
bool networks_has_member(struct daemon *d, const uint8_t id[32]);

/* Magic DNS: every member with a hostname of every network, as entries of
 * T (HOST.ALIAS.ray); aliases that are not DNS labels are left out. */
struct dns_table;
void networks_dns_entries(struct daemon *d, struct dns_table *t);
/* The aliases of our networks that are DNS labels, up to MAX. */
unsigned networks_dns_aliases(struct daemon *d, const char **out, unsigned max);

/* For the firewall: our networks in order, index I being bit I of a peer's
 * filter_tags (set on every roster change). */
struct group;
unsigned networks_count(struct daemon *d);
const struct group *networks_roster(struct daemon *d, unsigned i, const uint8_t **room,
				    const char **alias);
/* NAME (alias or room id) to its index; -ENOENT. */
int networks_lookup(struct daemon *d, const char *name, unsigned *index);
bool networks_is_coordinator(struct daemon *d, unsigned index);
/* Coordinators: append a suggested firewall rule (SUBJECT a hostname or
 * "*", RULE the encoded suggestion) to network INDEX's roster, or remove
 * its RULE-th; then publish it. 0, -EPERM (not a coordinator), -ENOENT, or
 * group_rule_add's errors. */
int networks_suggest_add(struct daemon *d, unsigned index, const char *subject, const uint8_t *rule,
			 size_t len);
int networks_suggest_remove(struct daemon *d, unsigned index, unsigned rule);

/* IPC commands. */
json_t *networks_cmd_create(struct daemon *d, json_t *args);
json_t *networks_cmd_invite(struct daemon *d, json_t *args);
json_t *networks_cmd_join(struct daemon *d, struct ipc_request *req, json_t *args);
json_t *networks_cmd_kick(struct daemon *d, json_t *args);
/* {network, force}: dissolve (a coordinator); members remove it. */
json_t *networks_cmd_nuke(struct daemon *d, json_t *args);
/* {network}: pending join requests; {network, action: accept|deny, id}. */
json_t *networks_cmd_requests(struct daemon *d, json_t *args);
/* {network, peer}: grant the network key to a member; {network}: list the
 * coordinators. */
json_t *networks_cmd_admin(struct daemon *d, struct ipc_request *req, json_t *args);
/* {network, hostname}: through a coordinator unless this node is one. */
json_t *networks_cmd_hostname(struct daemon *d, struct ipc_request *req, json_t *args);
json_t *networks_cmd_leave(struct daemon *d, json_t *args);
/* {network} lists the invites; {network, revoke: ID} revokes one. */
json_t *networks_cmd_invites(struct daemon *d, json_t *args);
/* For `ray status`: one object per network with its members. */
json_t *networks_status(struct daemon *d);
/* For `ray status`: joins by room id waiting for approval, [{room_id, since
 * (unix seconds), name}]; they are kept in STATE_DIR/joins/ across restarts. */
json_t *networks_pending_joins(struct daemon *d);

#endif
