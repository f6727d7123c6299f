#include "daemon/networks.h"
#include "control/codec.h"
#include "crypto/address.h"
#include "crypto/keytext.h"
#include "daemon/daemon.h"
#include "daemon/fwservice.h"
#include "daemon/ipc_server.h"
#include "daemon/relays.h"
#include "daemon/magicdns.h"
#include "daemon/static_peers.h"
#include "dns/resolver.h"
#include "net/group.h"
#include "net/invite.h"
#include "net/invite_ledger.h"
#include "net/messages.h"
#include "net/names.h"
#include "path/record.h"
#include "path/relay_client.h"
#include "session/session.h"
#include "util/eventloop.h"
#include "util/fileio.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* A network file: the roster (at most a 1 MiB control message) in base64 and,
 * on a coordinator, the ledger (INVITE_LEDGER_JSON_MAX compact, indented
 * here). */
#define NETWORKS_FILE_MAX	   (8u << 20)
#define NETWORKS_TICK_MS	   30000
#define NETWORKS_JOIN_TIMEOUT_NS   (20000ull * 1000000)
#define NETWORKS_BLOB_TIMEOUT_NS   (10000ull * 1000000)
#define NETWORKS_SYNC_TIMEOUT_NS   (10000ull * 1000000)
#define NETWORKS_RECORD_LIFE_MS	   (30 * 60 * 1000ull)
#define NETWORKS_DISSOLVED_LIFE_MS (7 * 24 * 3600 * 1000ull)
#define NETWORKS_STRANGER_LIFE_NS  (120000ull * 1000000)
#define NETWORKS_INVITE_TTL_S	   (7 * 24 * 3600ull)
#define NETWORKS_SYNC_RETRIES	   8
#define NETWORKS_REQUESTS_MAX	   64
#define NETWORKS_REQUEST_LIFE_MS   (3600 * 1000ull)
#define NETWORKS_PENDING_RETRY_MS  5000
#define NETWORKS_SYNC_RETRY_MS	   500
#define NETWORKS_GOSSIP_TARGETS	   16 /* other coordinators kept in step */
#define NETWORKS_GOSSIP_QUEUE_MAX  16384
#define NETWORKS_GOSSIP_WINDOW	   8 /* requests in flight per coordinator */
#define NETWORKS_GOSSIP_TIMEOUT_NS (10000ull * 1000000)
#define NETWORKS_GOSSIP_RETRY_MS   2000
#define NETWORKS_GOSSIP_BACKOFF_MS 60000
#define NETWORKS_CLAIM_TIMEOUT_NS  (3000ull * 1000000)
#define NETWORKS_JOIN_FILE_MAX	   (64u << 10)
#define NETWORKS_JOIN_FILE_VERSION 1

/* Someone asked to join a closed network by its room id. */
struct networks_request {
	bool used, denied;
	uint8_t id[32];
	char hostname[GROUP_HOSTNAME_MAX + 1];
	uint64_t when_ms;
};

/* Another coordinator of a network, as invite gossip sees it. */
struct network_gossip_target {
	uint8_t id[32];
	unsigned in_flight, fails;
	uint64_t not_before_ms; /* backing off after a failure */
};

/* Invite INVITE's state, still to be told to coordinator TO. */
struct network_gossip_item {
	uint8_t to[32];
	uint32_t invite;
	uint32_t seq; /* of the request in flight */
	bool in_flight;
	bool again;	  /* the state changed while in flight: send again */
	bool share_first; /* TO does not know the invite: share it, then the rest */
};

/* A single-use invite burned here for JOINER, whose admission waits for the
 * other coordinators' word (networks_admit). */
struct networks_claim {
	struct networks_claim *next;
	struct network *n;
	uint64_t timer; /* test-only: the claim waits (RAYFISH_TEST_CLAIM_DELAY_MS) */
	uint32_t seq;
	uint8_t joiner[32];
	uint32_t req_id; /* the JOIN to answer */
	struct net_msg_join join;
	struct invite_ledger_entry entry;
	unsigned waiting; /* answers still to come */
	int verdict;	  /* 0, or another coordinator's -EALREADY / -EKEYREVOKED */
	bool lost;	  /* we gave the invite to a lower joiner id meanwhile */
	bool has_holder;  /* with -EALREADY: the joiner it is used by there */
	uint8_t holder[32];
};

struct network {
	char alias[64];	  /* what commands call it here */
	uint8_t room[32]; /* the network's public key */
	bool coordinator; /* holds SECRET */
	uint8_t secret[64];
	char hostname[64]; /* the one we asked for */
	struct group *group;
	uint8_t *blob; /* group's encoding, and its hash */
	size_t blob_len;
	uint8_t hash[32];
	struct invite_ledger *ledger; /* coordinators */
	bool refreshing;	      /* a record fetch or blob request in flight */
	struct record_request *record_req;
	void *record_ctx; /* its callback's argument, freed here if cancelled */
	/* A SYNC said the roster is at WANT_VERSION; the relay may not have the
	 * new record yet when we ask, so we ask again a few times. */
	uint64_t want_version;
	unsigned attempts;
	bool has_want_source;
	uint8_t want_source[32];
	uint64_t retry_timer;
	uint64_t published_ts; /* timestamp of our last network record */
	struct daemon *d;
	/* join requests waiting for approval (closed network, by room id) */
	struct networks_request requests[NETWORKS_REQUESTS_MAX];
	/* coordinators: invite gossip to the others */
	struct network_gossip_target targets[NETWORKS_GOSSIP_TARGETS];
	unsigned ntargets;
	struct network_gossip_item *outbox;
	size_t noutbox, outbox_cap;
	uint32_t gossip_seq;
	uint64_t gossip_timer, gossip_due_ms;
	struct networks_claim *claims;
	uint32_t claim_seq;
};

/* `ray join`, waiting for a coordinator's answer. */
struct networks_join {
	struct networks_join *next;
	struct daemon *d;
	struct ipc_request *req;
	struct invite_code code;
	char alias[64];
	unsigned tried; /* coordinators asked so far */
	uint8_t asked[32];
	bool dead;    /* answered at shutdown; freed when its request's callback runs */
	bool by_room; /* no invite: an open network's room id */
	struct record_request *record_req; /* by room: the network record, first */
	uint64_t retry_timer;		   /* waiting for approval: ask again then */
	uint64_t waiting_since_ms;
	bool auto_accept_firewall; /* install the coordinators' suggested rules */
	bool restored;		   /* read from STATE_DIR/joins/ at start: ask again */
	bool in_flight;		   /* our JOIN request is in the session */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct network *networks_by_room(struct daemon *d, const uint8_t room[32])
{
	for (unsigned i = 0; i < d->networks.n; i++) {
		if (memcmp(d->networks.list[i]->room, room, 32) == 0)
			return d->networks.list[i];
	}
	return NULL;
}

/* By alias, room id text or a unique alias prefix. */
static struct network *networks_find(struct daemon *d, const char *name)
{
	uint8_t room[32];

	if (!name)
		return NULL;
	if (invite_room_id_parse(name, room) == 0)
		return networks_by_room(d, room);
	for (unsigned i = 0; i < d->networks.n; i++) {
		if (strcmp(d->networks.list[i]->alias, name) == 0)
			return d->networks.list[i];
	}
	return NULL;
}

static void network_free(struct network *n)
{
	if (!n)
		return;
	if (n->record_req) {
		record_client_cancel(n->record_req);
		free(n->record_ctx);
	}
	if (n->retry_timer)
		loop_timer_cancel(n->d->loop, n->retry_timer);
	if (n->gossip_timer)
		loop_timer_cancel(n->d->loop, n->gossip_timer);
	free(n->outbox);
	while (n->claims) {
		/* their answers find no claim and are dropped */
		struct networks_claim *c = n->claims;

		n->claims = c->next;
		if (c->timer)
			loop_timer_cancel(n->d->loop, c->timer);
		sodium_memzero(c, sizeof(*c));
		free(c);
	}
	group_free(n->group);
	free(n->blob);
	invite_ledger_free(n->ledger);
	sodium_memzero(n, sizeof(*n));
	free(n);
}

/* ---- persistence ---------------------------------------------------------- */

static void network_path(struct daemon *d, const struct network *n, char out[PATH_MAX])
{
	char room[INVITE_ROOM_ID_LEN + 1];

	invite_room_id_format(n->room, room);
	snprintf(out, PATH_MAX, "%s/networks/%s.json", d->options.state_dir, room);
}

static json_t *b64_json(const uint8_t *buf, size_t len)
{
	size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(cap);
	json_t *v;

	if (!text)
		return NULL;
	sodium_bin2base64(text, cap, buf, len, sodium_base64_VARIANT_ORIGINAL);
	v = json_string(text);
	sodium_memzero(text, cap);
	free(text);
	return v;
}

static int b64_parse(const json_t *v, uint8_t *out, size_t cap, size_t *len)
{
	const char *t = json_string_value(v);

	if (!t || sodium_base642bin(out, cap, t, strlen(t), NULL, len, NULL,
				    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -EINVAL;
	return 0;
}

/* Forgets invites finished (used, revoked, expired) over INVITE_LEDGER_KEEP
 * ago, so years of invites never fill the ledger; a code that old is then
 * refused as unknown rather than as used. The caller saves. */
static void network_ledger_prune(struct network *n, uint64_t now)
{
	size_t removed = invite_ledger_prune(n->ledger, now, INVITE_LEDGER_KEEP);

	if (removed)
		log_info("network %s: %zu invites finished over %d days ago forgotten", n->alias,
			 removed, INVITE_LEDGER_KEEP / (24 * 3600));
}

static int network_save(struct daemon *d, struct network *n)
{
	char path[PATH_MAX], dir[PATH_MAX], room[INVITE_ROOM_ID_LEN + 1], *text = NULL,
									  *ledger = NULL;
	json_t *o;
	int ret;

	snprintf(dir, sizeof(dir), "%s/networks", d->options.state_dir);
	ret = file_mkdirs(dir, 0700);
	if (ret < 0)
		return ret;
	invite_room_id_format(n->room, room);
	o = json_pack("{s:s, s:s, s:s, s:o}", "alias", n->alias, "room", room, "hostname",
		      n->hostname, "blob", b64_json(n->blob, n->blob_len));
	if (!o)
		return -ENOMEM;
	if (n->coordinator) {
		json_object_set_new(o, "secret", b64_json(n->secret, sizeof(n->secret)));
		if (invite_ledger_to_json(n->ledger, &ledger) == 0) {
			json_object_set_new(o, "ledger", json_loads(ledger, 0, NULL));
			free(ledger);
		}
	}
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	network_path(d, n, path);
	ret = file_write_atomic(path, text, strlen(text), 0600);
	sodium_memzero(text, strlen(text));
	free(text);
	return ret;
}

/* Take BLOB (LEN bytes) as N's roster: decode, hash, keep. */
static int network_set_blob(struct network *n, const uint8_t *blob, size_t len)
{
	struct group *g;
	uint8_t *copy;
	int ret = group_decode(blob, len, &g);

	if (ret < 0)
		return ret;
	copy = malloc(len);
	if (!copy) {
		group_free(g);
		return -ENOMEM;
	}
	memcpy(copy, blob, len);
	group_free(n->group);
	free(n->blob);
	n->group = g;
	n->blob = copy;
	n->blob_len = len;
	group_hash(blob, len, n->hash);
	return 0;
}

/* Re-encode N's roster after a change of ours. */
static int network_encode(struct network *n)
{
	uint8_t *buf;
	size_t len;
	int ret = group_encode(n->group, &buf, &len);

	if (ret < 0)
		return ret;
	free(n->blob);
	n->blob = buf;
	n->blob_len = len;
	group_hash(buf, len, n->hash);
	return 0;
}

/* After a change of N's roster here: a new version, encoded and saved.
 * Returns 0 or -errno (then the caller undoes its change). */
static int network_commit(struct daemon *d, struct network *n)
{
	int ret;

	group_bump_version(n->group, wall_ms());
	ret = network_encode(n);
	if (ret == 0)
		ret = network_save(d, n);
	/* names change with a rename, which routes nothing anew */
	magicdns_update(d);
	return ret;
}

static int network_load_file(struct daemon *d, const char *path, char *err, size_t err_len)
{
	struct network *n = calloc(1, sizeof(*n));
	char *text = NULL;
	uint8_t *blob = NULL;
	json_t *o = NULL, *v;
	size_t len = 0, blob_len = 0;
	int ret = -EINVAL;

	if (!n)
		return -ENOMEM;
	ret = file_read_all(path, NETWORKS_FILE_MAX, &text, &len);
	if (ret < 0) {
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	blob = malloc(len);
	if (!json_is_object(o) || !blob ||
	    snprintf(n->alias, sizeof(n->alias), "%s",
		     json_string_value(json_object_get(o, "alias")) ?: "") <= 0 ||
	    invite_room_id_parse(json_string_value(json_object_get(o, "room")) ?: "", n->room) <
		    0 ||
	    b64_parse(json_object_get(o, "blob"), blob, len, &blob_len) < 0 ||
	    network_set_blob(n, blob, blob_len) < 0) {
		snprintf(err, err_len, "%s is damaged; fix or remove it", path);
		goto out;
	}
	snprintf(n->hostname, sizeof(n->hostname), "%s",
		 json_string_value(json_object_get(o, "hostname")) ?: "");
	v = json_object_get(o, "secret");
	if (v) {
		uint8_t pk[32];
		size_t slen = 0;
		char *ledger = json_dumps(json_object_get(o, "ledger"), 0);

		if (b64_parse(v, n->secret, sizeof(n->secret), &slen) < 0 ||
		    slen != sizeof(n->secret) || crypto_sign_ed25519_sk_to_pk(pk, n->secret) != 0 ||
		    memcmp(pk, n->room, 32) != 0 || !ledger ||
		    invite_ledger_from_json(ledger, strlen(ledger), &n->ledger) < 0) {
			free(ledger);
			snprintf(err, err_len, "%s: the network key or invite ledger is damaged",
				 path);
			goto out;
		}
		free(ledger);
		n->coordinator = true;
	}
	if (d->networks.n == NETWORKS_MAX) {
		snprintf(err, err_len, "too many networks (at most %d)", NETWORKS_MAX);
		goto out;
	}
	n->d = d;
	d->networks.list[d->networks.n++] = n;
	n = NULL;
	ret = 0;
out:
	json_decref(o);
	if (text)
		sodium_memzero(text, len);
	free(text);
	free(blob);
	network_free(n);
	return ret;
}

/* ---- applying rosters ----------------------------------------------------- */

static bool networks_is_coordinator_anywhere(struct daemon *d)
{
	for (unsigned i = 0; i < d->networks.n; i++) {
		if (d->networks.list[i]->coordinator)
			return true;
	}
	return false;
}

bool networks_has_member(struct daemon *d, const uint8_t id[32])
{
	for (unsigned i = 0; i < d->networks.n; i++) {
		if (group_member_by_id(d->networks.list[i]->group, id))
			return true;
	}
	return false;
}

/* Peers of no network (and not configured by hand, and not strangers
 * asking to join) go. */
static void networks_prune(struct loop *loop, void *arg)
{
	struct daemon *d = arg;
	struct peer *p, *next;

	(void)loop;
	d->networks.prune_timer = 0;
	if (d->networks.joins)
		return; /* coordinators we are asking stay until they answer */
	for (p = session_peers(d->session); p; p = next) {
		next = p->next;
		if (p->has_node_id && !p->stranger && !static_peers_has(d, p->node_id) &&
		    !networks_has_member(d, p->node_id))
			session_peer_remove(d->session, p);
	}
}

/* Our networks' indices into d->networks.list, by room id: the same order
 * on every node, unlike the list's (creation, join and readdir order). */
static void networks_by_room_order(struct daemon *d, unsigned order[NETWORKS_MAX])
{
	for (unsigned i = 0; i < d->networks.n; i++) {
		unsigned k = i;

		for (; k > 0 && memcmp(d->networks.list[order[k - 1]]->room,
				       d->networks.list[i]->room, 32) > 0;
		     k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
}

/* Our own mesh IPv4: our entry's in the rosters (a collision with another
 * member's derived address gives us a later index), or index 0 in no
 * network. Each roster picks our index on its own, so two networks may
 * disagree; then the first by room id wins, the same rule we apply to a
 * peer in several networks, so that members sharing that network agree. */
static void networks_apply_self(struct daemon *d, const unsigned order[NETWORKS_MAX])
{
	struct in_addr want = {htonl(address_ipv4_derive(d->identity.sign_public, 0))}, was;
	const struct network *from = NULL;
	char text[INET_ADDRSTRLEN], old[INET_ADDRSTRLEN];
	bool conflict = false;
	int ret;

	for (unsigned j = 0; j < d->networks.n; j++) {
		const struct network *n = d->networks.list[order[j]];
		const struct group_member *me =
			group_member_by_id(n->group, d->identity.sign_public);
		uint32_t v4;

		if (!me)
			continue;
		v4 = htonl(group_member_ipv4(me));
		if (!from) {
			want.s_addr = v4;
			from = n;
		} else if (v4 != want.s_addr) {
			conflict = true;
		}
	}
	inet_ntop(AF_INET, &want, text, sizeof(text));
	/* once per episode, not on every roster change */
	if (conflict && !d->networks.ipv4_conflict)
		log_warn("our networks give this node different IPv4 addresses: %s (network %s) "
			 "goes on %s; members who share only the other networks with us may not "
			 "reach us by IPv4",
			 text, from->alias, session_tun_name(d->session));
	d->networks.ipv4_conflict = conflict;
	was = session_local_ipv4(d->session);
	if (was.s_addr == want.s_addr)
		return;
	inet_ntop(AF_INET, &was, old, sizeof(old));
	ret = session_set_local_ipv4(d->session, &want);
	if (ret < 0) {
		/* kept as it was: the next roster change tries again */
		log_warn("cannot change our mesh IPv4 from %s to %s: %s", old, text,
			 strerror(-ret));
		return;
	}
	log_info("mesh IPv4 %s (was %s)%s", text, old,
		 from ? "" : ": in no network, back to the derived address");
}

/* Every member a peer with its roster address (a member of several of our
 * networks: the first network's by room id); our own address from our
 * entries; peers of no network (and not configured by hand) removed soon
 * after. */
static void networks_apply(struct daemon *d)
{
	unsigned order[NETWORKS_MAX];
	struct peer *p;

	networks_by_room_order(d, order);
	for (p = session_peers(d->session); p; p = p->next)
		p->filter_tags = 0;
	for (unsigned j = 0; j < d->networks.n; j++) {
		unsigned i = order[j];
		struct group *g = d->networks.list[i]->group;

		for (unsigned k = 0; k < group_member_count(g); k++) {
			const struct group_member *m = group_member_at(g, k);
			struct in_addr v4 = {htonl(group_member_ipv4(m))};
			uint8_t wg[32];
			int err = 0;

			if (memcmp(m->id, d->identity.sign_public, 32) == 0)
				continue;
			p = session_peer_by_node_id(d->session, m->id);
			if (!p && crypto_sign_ed25519_pk_to_curve25519(wg, m->id) == 0)
				p = session_peer_add(d->session, wg, m->id, NULL, &err);
			if (!p)
				continue;
			/* no tag yet: no earlier network (by room id) has it */
			if (!p->filter_tags)
				session_peer_set_addresses(d->session, p, &v4);
			p->filter_tags |= 1u << i;
			if (!p->relay)
				relays_resolve(d, m->id);
		}
	}
	networks_apply_self(d, order);
	session_set_admit_strangers(d->session, networks_is_coordinator_anywhere(d));
	magicdns_update(d);
	fwservice_update(d);
	/* Removing a peer from inside one of its own callbacks (a LEAVE it
	 * sent, a roster it answered) would free it under the caller: prune
	 * from a fresh turn of the loop instead. */
	if (!d->networks.prune_timer)
		d->networks.prune_timer = loop_timer_add(d->loop, 0, networks_prune, d);
}

void networks_dns_entries(struct daemon *d, struct dns_table *t)
{
	for (unsigned i = 0; i < d->networks.n; i++) {
		struct network *n = d->networks.list[i];

		if (!group_hostname_valid(n->alias))
			continue;
		for (unsigned k = 0; k < group_member_count(n->group); k++) {
			const struct group_member *m = group_member_at(n->group, k);
			struct dns_name_entry e = {.v4 = {htonl(group_member_ipv4(m))}};

			if (!m->hostname[0])
				continue;
			snprintf(e.host, sizeof(e.host), "%s", m->hostname);
			snprintf(e.network, sizeof(e.network), "%s", n->alias);
			address_ipv6_derive(m->id, &e.v6);
			/* hostnames are labels and distinct on a verified roster */
			dns_table_add(t, &e);
		}
	}
}

unsigned networks_dns_aliases(struct daemon *d, const char **out, unsigned max)
{
	unsigned count = 0;

	for (unsigned i = 0; i < d->networks.n && count < max; i++) {
		if (group_hostname_valid(d->networks.list[i]->alias))
			out[count++] = d->networks.list[i]->alias;
	}
	return count;
}

/* ---- the network record --------------------------------------------------- */

/* The signed network record: the roster's hash and the coordinators. A
 * dissolved network's record names the all-zero hash and lives a week, so
 * members that were away learn of it too. */
static void network_publish_record(struct daemon *d, struct network *n, bool dissolved)
{
	struct record rec = {.kind = RECORD_NETWORK};
	struct record_network *body = &rec.body.network;
	uint8_t buf[RECORD_MAX_LEN];
	size_t len;
	int ret;

	if (!n->coordinator)
		return;
	memcpy(rec.signer, n->room, 32);
	/* The record's timestamp follows the roster's version, not the clock:
	 * a coordinator republishing an older roster can never outbid the
	 * record of a newer one at the relay (which keeps the newest). */
	rec.timestamp_ms = group_version(n->group) + 1;
	/* ... and still grows by one a minute, so a republish after a restart
	 * refreshes the record (a newer roster's version is wall-clock ms:
	 * far ahead) */
	if (wall_ms() > group_version(n->group))
		rec.timestamp_ms += (wall_ms() - group_version(n->group)) / 60000;
	if (rec.timestamp_ms <= n->published_ts)
		rec.timestamp_ms = n->published_ts + 1;
	if (dissolved && wall_ms() > rec.timestamp_ms)
		rec.timestamp_ms = wall_ms();
	rec.expires_ms =
		wall_ms() + (dissolved ? NETWORKS_DISSOLVED_LIFE_MS : NETWORKS_RECORD_LIFE_MS);
	if (rec.expires_ms <= rec.timestamp_ms)
		rec.expires_ms = rec.timestamp_ms + NETWORKS_RECORD_LIFE_MS;
	n->published_ts = rec.timestamp_ms;
	if (!dissolved)
		memcpy(body->group_hash, n->hash, 32);
	for (unsigned k = 0;
	     !dissolved && k < group_member_count(n->group) && body->seed_count < RECORD_MAX_SEEDS;
	     k++) {
		const struct group_member *m = group_member_at(n->group, k);

		if (m->coordinator)
			memcpy(body->seeds[body->seed_count++], m->id, 32);
	}
	ret = record_sign(&rec, n->secret, buf, sizeof(buf), &len);
	if (ret < 0) {
		log_warn("network %s: cannot sign its record: %s", n->alias, strerror(-ret));
		return;
	}
	relays_publish_record(d, n->room, buf, len);
}

static void network_publish(struct daemon *d, struct network *n)
{
	network_publish_record(d, n, false);
}

/* ---- keeping rosters in step ------------------------------------------------ */

struct networks_refresh {
	struct daemon *d;
	uint8_t room[32];
	uint8_t want[32]; /* the hash the signed record names */
};

static void networks_sync_all(struct daemon *d, struct network *n, const uint8_t *except);
static void networks_remove(struct daemon *d, struct network *n);
static int networks_take_grant(struct daemon *d, struct peer *p, const struct net_msg_grant *g);
static void networks_retry(struct loop *loop, void *arg);
static void network_gossip_schedule(struct network *n, uint64_t delay_ms);
static int network_drop_member(struct daemon *d, struct network *n, const uint8_t id[32]);
static int network_rename_member(struct daemon *d, struct network *n, const uint8_t id[32],
				 const char *wish, char assigned[GROUP_HOSTNAME_MAX + 1]);

static void networks_blob_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	struct networks_refresh *r = arg;
	struct network *n = networks_by_room(r->d, r->room);
	const uint8_t *blob;
	uint8_t hash[32];
	size_t blob_len;

	if (!n)
		goto out;
	n->refreshing = false;
	if (status < 0 || net_msg_blob_decode(body, len, &blob, &blob_len) < 0) {
		/* The peer has moved past the roster the record named (joins in
		 * quick succession), or is away: read the record again soon. */
		if (status != -ECANCELED && n->want_version > group_version(n->group) &&
		    n->attempts < NETWORKS_SYNC_RETRIES && !n->retry_timer)
			n->retry_timer = loop_timer_add(r->d->loop, NETWORKS_SYNC_RETRY_MS,
							networks_retry, n);
		goto out;
	}
	group_hash(blob, blob_len, hash);
	if (sodium_memcmp(hash, r->want, 32) != 0) {
		log_warn("network %s: a peer sent a roster that is not the signed one", n->alias);
		goto out;
	}
	/* The signed record names a roster older than ours (a coordinator
	 * that was away published it, or ours is newer): keep ours and, as a
	 * coordinator, publish it. */
	{
		struct group *g;

		if (group_decode(blob, blob_len, &g) < 0)
			goto out;
		if (group_version(g) <= group_version(n->group)) {
			group_free(g);
			network_publish(r->d, n);
			goto out;
		}
		group_free(g);
	}
	if (network_set_blob(n, blob, blob_len) < 0)
		goto out;
	if (!group_member_by_id(n->group, r->d->identity.sign_public)) {
		log_info("network %s: this node was removed from it", n->alias);
		networks_remove(r->d, n);
		goto out;
	}
	log_info("network %s: roster updated (%u members)", n->alias, group_member_count(n->group));
	network_save(r->d, n);
	networks_apply(r->d);
	/* a new coordinator is told our invites */
	network_gossip_schedule(n, 0);
	/* more changes were announced meanwhile */
	if (n->want_version > group_version(n->group) && !n->retry_timer) {
		n->attempts = 0;
		n->retry_timer =
			loop_timer_add(r->d->loop, NETWORKS_SYNC_RETRY_MS, networks_retry, n);
	}
out:
	free(r);
}

/* Ask a member (SOURCE first, then any with a session) for the roster with
 * hash R->want. Takes R. */
static void networks_blob_fetch(struct daemon *d, struct network *n, struct networks_refresh *r,
				const uint8_t *source)
{
	struct net_msg_room m = {.has_hash = true};
	struct ctl_codec_writer w;
	uint8_t body[128];
	size_t len;
	struct peer *p = source ? session_peer_by_node_id(d->session, source) : NULL;

	/* one with a session, else a coordinator, else anyone: the request
	 * itself makes the session */
	for (int pass = 0; pass < 3 && !p; pass++) {
		for (unsigned k = 0; !p && k < group_member_count(n->group); k++) {
			const struct group_member *mem = group_member_at(n->group, k);
			struct peer *q = session_peer_by_node_id(d->session, mem->id);

			if (q && (pass == 2 || (pass == 0 && q->last_handshake) ||
				  (pass == 1 && mem->coordinator)))
				p = q;
		}
	}
	if (!p) {
		n->refreshing = false;
		free(r);
		return;
	}
	memcpy(m.room, n->room, 32);
	memcpy(m.hash, r->want, 32);
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_room_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	if (session_request(d->session, p, CTL_MSG_BLOB_GET, body, len, NETWORKS_BLOB_TIMEOUT_NS,
			    networks_blob_answer, r) < 0) {
		n->refreshing = false;
		free(r);
	}
}

static void networks_refresh(struct daemon *d, struct network *n, const uint8_t *source);

static void networks_retry(struct loop *loop, void *arg)
{
	struct network *n = arg;

	(void)loop;
	n->retry_timer = 0;
	n->attempts++;
	networks_refresh(n->d, n, n->has_want_source ? n->want_source : NULL);
}

struct networks_record_ctx {
	struct daemon *d;
	uint8_t room[32];
	bool has_source;
	uint8_t source[32];
};

static void networks_record_answer(void *arg, int status, const struct record *rec)
{
	struct networks_record_ctx *c = arg;
	struct network *n = networks_by_room(c->d, c->room);
	struct networks_refresh *r;

	if (!n)
		goto out;
	n->record_req = NULL;
	n->record_ctx = NULL;
	n->refreshing = false;
	if (status == 0 && rec->kind == RECORD_NETWORK &&
	    sodium_is_zero(rec->body.network.group_hash, 32)) {
		log_info("network %s was dissolved by a coordinator", n->alias);
		networks_remove(c->d, n);
		goto out;
	}
	if (status == 0 && rec->kind == RECORD_NETWORK &&
	    memcmp(rec->body.network.group_hash, n->hash, 32) == 0 &&
	    n->want_version > group_version(n->group) && n->attempts < NETWORKS_SYNC_RETRIES &&
	    !n->retry_timer)
		n->retry_timer =
			loop_timer_add(c->d->loop, NETWORKS_SYNC_RETRY_MS, networks_retry, n);
	if (status < 0 || rec->kind != RECORD_NETWORK ||
	    memcmp(rec->body.network.group_hash, n->hash, 32) == 0) {
		/* none at the relay, or ours: a coordinator (re)publishes it,
		 * which also keeps it from expiring */
		if (n->coordinator && n->want_version <= group_version(n->group) &&
		    (status == -ENOENT || status == -ESTALE ||
		     (status == 0 && rec->expires_ms < wall_ms() + NETWORKS_RECORD_LIFE_MS / 2)))
			network_publish(c->d, n);
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto out;
	r->d = c->d;
	memcpy(r->room, n->room, 32);
	memcpy(r->want, rec->body.network.group_hash, 32);
	n->refreshing = true;
	networks_blob_fetch(c->d, n, r, c->has_source ? c->source : NULL);
out:
	free(c);
}

/* Re-read N's signed record; fetch the roster it names if it is not ours. */
static void networks_refresh(struct daemon *d, struct network *n, const uint8_t *source)
{
	struct networks_record_ctx *c;

	if (n->refreshing)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->d = d;
	memcpy(c->room, n->room, 32);
	if (source) {
		c->has_source = true;
		memcpy(c->source, source, 32);
	}
	if (relays_fetch_record(d, n->room, networks_record_answer, c, &n->record_req) < 0) {
		free(c);
		return;
	}
	n->record_ctx = c;
	n->refreshing = true;
}

static void networks_sync_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	(void)arg;
	(void)status;
	(void)body;
	(void)len;
}

/* Tell every member with a session (but EXCEPT) that N's roster changed. */
static void networks_sync_all(struct daemon *d, struct network *n, const uint8_t *except)
{
	struct net_msg_room m = {.version = group_version(n->group)};
	struct ctl_codec_writer w;
	uint8_t body[128];
	size_t len;

	memcpy(m.room, n->room, 32);
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_room_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	for (unsigned k = 0; k < group_member_count(n->group); k++) {
		const struct group_member *mem = group_member_at(n->group, k);
		struct peer *p;

		if (memcmp(mem->id, d->identity.sign_public, 32) == 0 ||
		    (except && memcmp(mem->id, except, 32) == 0))
			continue;
		p = session_peer_by_node_id(d->session, mem->id);
		if (p)
			session_request(d->session, p, CTL_MSG_SYNC, body, len,
					NETWORKS_SYNC_TIMEOUT_NS, networks_sync_answer, NULL);
	}
}

/* ---- invite gossip between coordinators ----------------------------------- */

/* Single-use invites live in each coordinator's ledger. A coordinator tells
 * the others what it minted (INVITE_SHARE), burned (INVITE_USED) or revoked
 * (INVITE_REVOKED), so that any of them admits with any code and a used
 * code is used at all of them. What is to be told waits in a per-network
 * outbox, one item per (coordinator, invite), until that coordinator
 * answers; the message is picked from the ledger when it is sent, so it
 * always carries the latest state. At start, and whenever a member becomes
 * a coordinator, it is told every live invite: the outbox itself need not
 * be persisted. */

struct networks_gossip_ctx {
	struct daemon *d;
	uint8_t room[32];
	uint8_t to[32];
	uint32_t invite, method, seq;
};

static struct network_gossip_target *network_gossip_target(struct network *n, const uint8_t id[32])
{
	for (unsigned i = 0; i < n->ntargets; i++) {
		if (memcmp(n->targets[i].id, id, 32) == 0)
			return &n->targets[i];
	}
	return NULL;
}

static struct network_gossip_item *network_gossip_find(struct network *n, const uint8_t to[32],
						       uint32_t invite)
{
	for (size_t i = 0; i < n->noutbox; i++) {
		if (n->outbox[i].invite == invite && memcmp(n->outbox[i].to, to, 32) == 0)
			return &n->outbox[i];
	}
	return NULL;
}

static void network_gossip_drop(struct network *n, struct network_gossip_item *it)
{
	*it = n->outbox[--n->noutbox];
}

/* The claim under way for INVITE, if any: its burn here is not final. */
static struct networks_claim *network_claim_of(struct network *n, uint32_t invite)
{
	for (struct networks_claim *c = n->claims; c; c = c->next) {
		if (c->join.invite_id == invite)
			return c;
	}
	return NULL;
}

/* Tell TO invite INVITE's state (again, if it changed while in flight). */
static void network_gossip_enqueue(struct network *n, const uint8_t to[32], uint32_t invite)
{
	struct network_gossip_item *it = network_gossip_find(n, to, invite);

	if (it) {
		it->again = it->in_flight;
		return;
	}
	if (n->noutbox == n->outbox_cap) {
		size_t cap = n->outbox_cap ? n->outbox_cap * 2 : 64;
		struct network_gossip_item *grown;

		if (cap > NETWORKS_GOSSIP_QUEUE_MAX ||
		    !(grown = realloc(n->outbox, cap * sizeof(*grown)))) {
			/* the next start tells it everything again */
			log_warn("network %s: invite gossip queue full; dropping an update",
				 n->alias);
			return;
		}
		n->outbox = grown;
		n->outbox_cap = cap;
	}
	it = &n->outbox[n->noutbox++];
	memset(it, 0, sizeof(*it));
	memcpy(it->to, to, 32);
	it->invite = invite;
}

static void network_gossip_enqueue_all(struct network *n, uint32_t invite)
{
	for (unsigned i = 0; i < n->ntargets; i++)
		network_gossip_enqueue(n, n->targets[i].id, invite);
}

static void network_gossip_run(struct loop *loop, void *arg);

/* Run the outbox in DELAY_MS (or sooner, if it is due sooner already). */
static void network_gossip_schedule(struct network *n, uint64_t delay_ms)
{
	uint64_t due = loop_now_ms() + delay_ms;

	if (n->gossip_timer && n->gossip_due_ms <= due)
		return;
	if (n->gossip_timer)
		loop_timer_cancel(n->d->loop, n->gossip_timer);
	n->gossip_timer = loop_timer_add(n->d->loop, delay_ms, network_gossip_run, n);
	n->gossip_due_ms = due;
}

static void network_gossip_failed(struct network_gossip_target *t)
{
	unsigned shift = t->fails < 5 ? t->fails : 5;
	uint64_t delay = (uint64_t)NETWORKS_GOSSIP_RETRY_MS << shift;

	t->fails++;
	t->not_before_ms =
		loop_now_ms() +
		(delay < NETWORKS_GOSSIP_BACKOFF_MS ? delay : NETWORKS_GOSSIP_BACKOFF_MS);
}

/* The other coordinators are those of the verified roster. One that is new
 * here (also every one at start) is told every live single-use invite. */
static void network_gossip_targets(struct daemon *d, struct network *n)
{
	struct network_gossip_target keep[NETWORKS_GOSSIP_TARGETS];
	bool fresh[NETWORKS_GOSSIP_TARGETS] = {false};
	uint64_t now = wall_ms() / 1000;
	const struct invite_ledger_entry *e;
	unsigned nkeep = 0;
	size_t count;

	for (unsigned k = 0; k < group_member_count(n->group) && nkeep < NETWORKS_GOSSIP_TARGETS;
	     k++) {
		const struct group_member *m = group_member_at(n->group, k);
		struct network_gossip_target *t;

		if (!m->coordinator || memcmp(m->id, d->identity.sign_public, 32) == 0)
			continue;
		t = network_gossip_target(n, m->id);
		if (t) {
			keep[nkeep] = *t;
		} else {
			memset(&keep[nkeep], 0, sizeof(keep[0]));
			memcpy(keep[nkeep].id, m->id, 32);
			fresh[nkeep] = true;
		}
		nkeep++;
	}
	memcpy(n->targets, keep, nkeep * sizeof(keep[0]));
	n->ntargets = nkeep;
	for (size_t i = 0; i < n->noutbox;) {
		if (network_gossip_target(n, n->outbox[i].to))
			i++;
		else
			network_gossip_drop(n, &n->outbox[i]);
	}
	e = invite_ledger_list(n->ledger, &count);
	for (unsigned t = 0; t < nkeep; t++) {
		if (!fresh[t])
			continue;
		for (size_t i = 0; i < count; i++) {
			if (!e[i].reusable && e[i].expires > now)
				network_gossip_enqueue(n, n->targets[t].id, e[i].id);
		}
	}
}

static void network_gossip_answer(void *arg, int status, const uint8_t *body, size_t len);

/* Send IT to P: the invite's state in the ledger now. -ENODATA: nothing to
 * tell (gone from the ledger, or a reusable key). */
static int network_gossip_send(struct daemon *d, struct network *n, struct network_gossip_item *it,
			       struct peer *p)
{
	const struct invite_ledger_entry *e = invite_ledger_find(n->ledger, it->invite);
	struct net_msg_invite m = {.id = it->invite};
	struct networks_gossip_ctx *c;
	struct ctl_codec_writer w;
	uint8_t body[256];
	size_t len;
	int ret;

	if (!e || e->reusable)
		return -ENODATA;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memcpy(m.room, n->room, 32);
	if (it->share_first || e->state == INVITE_LEDGER_OPEN) {
		c->method = CTL_MSG_INVITE_SHARE;
		m.has_share = true;
		memcpy(m.secret_hash, e->secret_hash, 32);
		m.expires = e->expires;
		snprintf(m.hostname, sizeof(m.hostname), "%s", e->hostname);
	} else if (e->state == INVITE_LEDGER_USED) {
		c->method = CTL_MSG_INVITE_USED;
		m.has_joiner = true;
		memcpy(m.joiner, e->used_by, 32);
	} else {
		c->method = CTL_MSG_INVITE_REVOKED;
	}
	c->d = d;
	memcpy(c->room, n->room, 32);
	memcpy(c->to, it->to, 32);
	c->invite = it->invite;
	c->seq = ++n->gossip_seq;
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_invite_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	/* in flight before it is: a failing channel may answer at once, and
	 * the answer may move IT */
	it->in_flight = true;
	it->again = false;
	it->seq = c->seq;
	ret = session_request(d->session, p, c->method, body, len, NETWORKS_GOSSIP_TIMEOUT_NS,
			      network_gossip_answer, c);
	if (ret < 0) {
		it->in_flight = false;
		free(c);
	}
	return ret;
}

static void network_gossip_pump(struct daemon *d, struct network *n)
{
	uint64_t now = loop_now_ms(), next = 0;

	if (!n->coordinator || !n->ledger) {
		n->noutbox = 0;
		n->ntargets = 0;
		return;
	}
	network_gossip_targets(d, n);
	for (size_t i = 0; i < n->noutbox;) {
		struct network_gossip_item *it = &n->outbox[i];
		struct network_gossip_target *t = network_gossip_target(n, it->to);
		struct peer *p;
		int ret;

		if (!t) {
			network_gossip_drop(n, it);
			continue;
		}
		/* nothing about an invite being claimed: its state is not final */
		if (it->in_flight || network_claim_of(n, it->invite)) {
			i++;
			continue;
		}
		if (t->not_before_ms > now) {
			if (!next || t->not_before_ms < next)
				next = t->not_before_ms;
			i++;
			continue;
		}
		/* one that does not answer gets one request at a time */
		if (t->in_flight >= (t->fails ? 1 : NETWORKS_GOSSIP_WINDOW)) {
			i++;
			continue;
		}
		p = session_peer_by_node_id(d->session, t->id);
		t->in_flight++;
		ret = p ? network_gossip_send(d, n, it, p) : -ENOTCONN;
		if (ret < 0)
			t->in_flight--;
		if (ret == -ENODATA) {
			network_gossip_drop(n, it);
			continue;
		}
		if (ret < 0) {
			network_gossip_failed(t);
			if (!next || t->not_before_ms < next)
				next = t->not_before_ms;
		}
		i++;
	}
	if (next)
		network_gossip_schedule(n, next > now ? next - now : 0);
}

static void network_gossip_run(struct loop *loop, void *arg)
{
	struct network *n = arg;

	(void)loop;
	n->gossip_timer = 0;
	network_gossip_pump(n->d, n);
}

static void network_gossip_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	struct networks_gossip_ctx *c = arg;
	struct network *n = networks_by_room(c->d, c->room);
	const struct invite_ledger_entry *e;
	struct network_gossip_target *t;
	struct network_gossip_item *it;
	char who[NODE_ID_TEXT_LEN + 1];

	(void)body;
	(void)len;
	if (!n || !n->coordinator)
		goto out; /* gone, or the daemon is stopping */
	t = network_gossip_target(n, c->to);
	if (t && t->in_flight)
		t->in_flight--;
	it = network_gossip_find(n, c->to, c->invite);
	if (!it || !it->in_flight || it->seq != c->seq)
		goto kick;
	it->in_flight = false;
	e = invite_ledger_find(n->ledger, c->invite);
	if (t && status != -ETIMEDOUT && status != -ECANCELED) {
		t->fails = 0;
		t->not_before_ms = 0;
	}
	switch (status) {
	case 0:
		it->share_first = false;
		/* a share of an invite that is closed here is followed by its state */
		if (!it->again &&
		    !(e && c->method == CTL_MSG_INVITE_SHARE && e->state != INVITE_LEDGER_OPEN))
			network_gossip_drop(n, it);
		break;
	case -ENOENT:
		/* it does not know the invite (share it first), or, answering a
		 * share, holds no ledger of this network */
		if (c->method != CTL_MSG_INVITE_SHARE)
			it->share_first = true;
		else
			network_gossip_drop(n, it);
		break;
	case -EEXIST:
		keytext_format_node_id(c->to, who);
		log_warn("network %s: coordinator %.8s has another invite with id %u; this one is "
			 "not shared with it",
			 n->alias, who, c->invite);
		network_gossip_drop(n, it);
		break;
	case -EALREADY:
	case -EKEYREVOKED:
		/* closed there: if we are behind, its own gossip tells us */
		network_gossip_drop(n, it);
		break;
	default:
		if (t)
			network_gossip_failed(t);
		if (!t)
			network_gossip_drop(n, it);
	}
kick:
	/* from a fresh turn of the loop: this may run inside a peer's removal */
	network_gossip_schedule(n, 0);
out:
	free(c);
}

/* Invite gossip from P. Only a coordinator of the network on our verified
 * roster may send it. Returns the status to answer. */
static int networks_take_gossip(struct daemon *d, struct peer *p, uint32_t method,
				const struct net_msg_invite *m)
{
	struct network *n = networks_by_room(d, m->room);
	const struct group_member *sender = n ? group_member_by_id(n->group, p->node_id) : NULL;
	uint64_t now = wall_ms() / 1000;
	const struct invite_ledger_entry *e;
	struct network_gossip_target *t;
	struct networks_claim *claim;
	bool fresh;
	char name[16];
	int ret;

	peer_short_name(p, name);
	if (!n || p->stranger || !sender || !sender->coordinator) {
		log_warn("invite gossip from %s, not a coordinator of that network: ignored", name);
		return -EPERM;
	}
	if (!n->coordinator)
		return -ENOENT; /* no ledger here (yet) */
	switch (method) {
	case CTL_MSG_INVITE_SHARE:
		if (!m->has_share)
			return -EBADMSG;
		network_ledger_prune(n, now);
		ret = invite_ledger_add_shared(n->ledger, m->id, m->secret_hash, m->expires,
					       m->hostname, now);
		if (ret == -EEXIST)
			log_warn("network %s: %s shared invite %u, but that id is another invite "
				 "here: refused",
				 n->alias, name, m->id);
		if (ret == 0)
			log_info("network %s: invite %u shared by %s", n->alias, m->id, name);
		if (ret == 1) {
			/* known: if it is closed here, the sender is behind */
			e = invite_ledger_find(n->ledger, m->id);
			if (e->state != INVITE_LEDGER_OPEN)
				network_gossip_enqueue(n, p->node_id, m->id);
			ret = 0;
		}
		break;
	case CTL_MSG_INVITE_USED:
		if (!m->has_joiner)
			return -EBADMSG;
		e = invite_ledger_find(n->ledger, m->id);
		fresh = e && e->state == INVITE_LEDGER_OPEN;
		ret = invite_ledger_mark_used(n->ledger, m->id, m->joiner, now);
		claim = network_claim_of(n, m->id);
		if (ret == -EALREADY && claim && !claim->lost &&
		    memcmp(m->joiner, claim->joiner, 32) < 0) {
			/* Two coordinators are each asking about their own joiner
			 * with the same code: the lower joiner id gets it, at both. */
			log_info(
				"network %s: invite %u is claimed at %s too; the other joiner gets "
				"it",
				n->alias, m->id, name);
			claim->lost = true;
			invite_ledger_restore(n->ledger, m->id, claim->joiner);
			ret = invite_ledger_mark_used(n->ledger, m->id, m->joiner, now);
			fresh = ret == 0;
		}
		if (ret == 0 && fresh)
			log_info("network %s: invite %u used (at %s)", n->alias, m->id, name);
		break;
	case CTL_MSG_INVITE_REVOKED:
		ret = invite_ledger_revoke(n->ledger, m->id, now);
		if (ret == 0)
			log_info("network %s: invite %u revoked (by %s)", n->alias, m->id, name);
		if (ret == -ECANCELED)
			ret = 0; /* here too already */
		break;
	case CTL_MSG_INVITE_RESTORED:
		if (!m->has_joiner)
			return -EBADMSG;
		ret = invite_ledger_restore(n->ledger, m->id, m->joiner);
		if (ret == -EINVAL)
			ret = 0; /* open here already */
		break;
	default:
		return -EINVAL;
	}
	if (ret == -ECANCELED)
		ret = -EKEYREVOKED; /* on the wire -ECANCELED reads as "request cancelled" */
	else if (ret == -EINVAL)
		ret = -EEXIST; /* a reusable key here */
	if (ret == 0) {
		int err = network_save(d, n);

		if (err < 0) {
			log_warn("network %s: cannot save the invite ledger: %s", n->alias,
				 strerror(-err));
			ret = err; /* the sender tries again */
		}
	}
	/* it answers us: whatever waits for it goes now */
	t = network_gossip_target(n, p->node_id);
	if (t && t->fails) {
		t->fails = 0;
		t->not_before_ms = 0;
	}
	network_gossip_schedule(n, 0);
	return ret;
}

/* ---- requests from peers -------------------------------------------------- */

static int networks_join_refusal(int ret)
{
	switch (ret) {
	case -ECANCELED:
		/* on the wire -ECANCELED would read as "request cancelled" */
		return -EKEYREVOKED;
	case -EKEYREVOKED: /* so another coordinator said */
	case -ENOENT:
	case -ESTALE:
	case -EALREADY:
	case -EPERM:
	case -EADDRINUSE:
	case -EINPROGRESS:
	case -ENOSPC:
		return ret;
	default:
		return -EPERM;
	}
}

/* A join request by room id to closed network N: remembered for a
 * coordinator's `ray requests`, answered "wait" (-EINPROGRESS), or -EPERM
 * once denied. */
static int network_request_note(struct network *n, const uint8_t id[32], const char *hostname)
{
	struct networks_request *free_slot = NULL, *oldest = NULL;
	uint64_t now = wall_ms();

	for (unsigned i = 0; i < NETWORKS_REQUESTS_MAX; i++) {
		struct networks_request *r = &n->requests[i];

		if (r->used && now - r->when_ms > NETWORKS_REQUEST_LIFE_MS)
			r->used = false;
		if (r->used && memcmp(r->id, id, 32) == 0) {
			if (r->denied)
				return -EPERM;
			r->when_ms = now;
			return -EINPROGRESS;
		}
		if (!r->used && !free_slot)
			free_slot = r;
		if (r->used && (!oldest || r->when_ms < oldest->when_ms))
			oldest = r;
	}
	if (!free_slot)
		free_slot = oldest;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	memcpy(free_slot->id, id, 32);
	snprintf(free_slot->hostname, sizeof(free_slot->hostname), "%s", hostname);
	free_slot->when_ms = now;
	log_info("network %s: a join request is waiting (ray requests %s)", n->alias, n->alias);
	return -EINPROGRESS;
}

/* Put JOINER on N's roster; an invite in M was redeemed here already (ENTRY
 * the ledger's copy, or a reusable key). Saved, published, applied, told. On
 * failure the invite is restored. */
static int network_admit_member(struct daemon *d, struct network *n, const uint8_t joiner[32],
				const struct net_msg_join *m,
				const struct invite_ledger_entry *entry)
{
	const char *wish = m->hostname[0] ? m->hostname : NULL;
	const struct group_member *mem;
	char name[NODE_ID_TEXT_LEN + 1];
	int ret;

	if (m->has_invite && entry->hostname[0] && !entry->reusable)
		wish = entry->hostname;
	if (m->has_invite && entry->reusable)
		ret = group_member_add_key(n->group, joiner, m->invite_id, wish, wall_ms(), &mem);
	else
		ret = group_member_add(n->group, joiner, wish, false, wall_ms(), &mem);
	if (ret == 0 && m->has_invite && !entry->reusable && entry->hostname[0] &&
	    strcmp(mem->hostname, entry->hostname) != 0) {
		/* the invite bound a hostname someone else has: undo, keep it */
		group_member_remove(n->group, joiner);
		ret = -EADDRINUSE;
	}
	if (ret < 0) {
		if (m->has_invite)
			invite_ledger_restore(n->ledger, m->invite_id, joiner);
		return ret;
	}
	ret = network_commit(d, n);
	if (ret < 0) {
		/* not saved means not admitted */
		group_member_remove(n->group, joiner);
		network_encode(n);
		if (m->has_invite)
			invite_ledger_restore(n->ledger, m->invite_id, joiner);
		return ret;
	}
	keytext_format_node_id(joiner, name);
	log_info("network %s: %.10s joined as %s", n->alias, name, mem->hostname);
	if (m->has_invite && !entry->reusable) {
		network_gossip_enqueue_all(n, m->invite_id);
		network_gossip_schedule(n, 0);
	}
	network_publish(d, n);
	networks_apply(d);
	networks_sync_all(d, n, joiner);
	return 0;
}

static void networks_respond_blob(struct daemon *d, struct peer *p, uint32_t req_id,
				  const struct network *n);

static void networks_noop_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	(void)arg;
	(void)status;
	(void)body;
	(void)len;
}

/* The body of invite gossip METHOD about invite ID for JOINER. */
static size_t network_gossip_body(struct network *n, uint32_t id, const uint8_t joiner[32],
				  uint8_t *body, size_t cap)
{
	struct net_msg_invite m = {.id = id, .has_joiner = true};
	struct ctl_codec_writer w;
	size_t len;

	memcpy(m.room, n->room, 32);
	memcpy(m.joiner, joiner, 32);
	ctl_codec_writer_init(&w, body, cap);
	net_msg_invite_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	return len;
}

struct networks_claim_ctx {
	struct daemon *d;
	uint8_t room[32];
	uint32_t seq;
};

/* Every other coordinator has answered the claim C (or not, in time): admit
 * its joiner, or refuse it, and answer its JOIN. */
static void network_claim_done(struct daemon *d, struct network *n, struct networks_claim *c)
{
	struct networks_claim **pos;
	uint64_t now = wall_ms() / 1000;
	struct peer *p;
	int ret = c->lost ? -EALREADY : c->verdict;

	for (pos = &n->claims; *pos; pos = &(*pos)->next) {
		if (*pos == c) {
			*pos = c->next;
			break;
		}
	}
	if (ret == 0) {
		ret = network_admit_member(d, n, c->joiner, &c->join, &c->entry);
		if (ret < 0) {
			/* the others burned it for this joiner too: best effort */
			uint8_t body[160];
			size_t len = network_gossip_body(n, c->join.invite_id, c->joiner, body,
							 sizeof(body));

			for (unsigned i = 0; i < n->ntargets; i++) {
				p = session_peer_by_node_id(d->session, n->targets[i].id);
				if (p)
					session_request(d->session, p, CTL_MSG_INVITE_RESTORED,
							body, len, NETWORKS_GOSSIP_TIMEOUT_NS,
							networks_noop_answer, NULL);
			}
		}
	} else {
		/* Another coordinator has it used or revoked: so do we. Used
		 * by the joiner it names, whose own claim then meets no
		 * objection here; ours stays burned meanwhile, so no joiner
		 * gets in here before its gossip arrives. */
		if (ret == -EKEYREVOKED &&
		    invite_ledger_restore(n->ledger, c->join.invite_id, c->joiner) == 0)
			invite_ledger_revoke(n->ledger, c->join.invite_id, now);
		if (ret == -EALREADY && !c->lost && c->has_holder &&
		    invite_ledger_restore(n->ledger, c->join.invite_id, c->joiner) == 0 &&
		    invite_ledger_mark_used(n->ledger, c->join.invite_id, c->holder, now) < 0)
			invite_ledger_mark_used(n->ledger, c->join.invite_id, c->joiner, now);
		network_save(d, n);
		log_info("network %s: invite %u is %s at another coordinator; join refused",
			 n->alias, c->join.invite_id, ret == -EKEYREVOKED ? "revoked" : "used");
	}
	p = session_peer_by_node_id(d->session, c->joiner);
	if (p && ret < 0)
		session_respond(d->session, p, c->req_id, networks_join_refusal(ret), NULL, 0);
	else if (p)
		networks_respond_blob(d, p, c->req_id, n);
	sodium_memzero(c, sizeof(*c));
	free(c);
	network_gossip_schedule(n, 0);
}

static void network_claim_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	struct networks_claim_ctx *x = arg;
	struct network *n = networks_by_room(x->d, x->room);
	struct networks_claim *c = NULL;

	for (c = n ? n->claims : NULL; c && c->seq != x->seq; c = c->next)
		;
	if (!c)
		goto out;
	/* -ENOENT (it does not know the invite), silence: no objection; the
	 * outbox tells it afterwards */
	if ((status == -EALREADY || status == -EKEYREVOKED) && !c->verdict) {
		struct net_msg_invite held;

		c->verdict = status;
		if (status == -EALREADY && net_msg_invite_decode(body, len, &held) == 0 &&
		    held.has_joiner && held.id == c->join.invite_id &&
		    memcmp(held.joiner, c->joiner, 32) != 0) {
			c->has_holder = true;
			memcpy(c->holder, held.joiner, 32);
		}
	}
	if (--c->waiting == 0)
		network_claim_done(x->d, n, c);
out:
	free(x);
}

/* Ask every other coordinator about claim C (INVITE_USED); one that is away
 * is told later, by the outbox. */
static void network_claim_send(struct daemon *d, struct network *n, struct networks_claim *c)
{
	uint8_t body[160];
	size_t len = network_gossip_body(n, c->join.invite_id, c->joiner, body, sizeof(body));

	/* lost already (while held): nothing to claim */
	for (unsigned i = 0; i < n->ntargets && !c->lost; i++) {
		struct peer *p = session_peer_by_node_id(d->session, n->targets[i].id);
		struct networks_claim_ctx *x;

		if (!p || n->targets[i].fails || !(x = calloc(1, sizeof(*x))))
			continue;
		x->d = d;
		memcpy(x->room, n->room, 32);
		x->seq = c->seq;
		c->waiting++;
		if (session_request(d->session, p, CTL_MSG_INVITE_USED, body, len,
				    NETWORKS_CLAIM_TIMEOUT_NS, network_claim_answer, x) < 0) {
			c->waiting--;
			free(x);
		}
	}
	/* our own count: no one to ask after all, or all answered already */
	if (--c->waiting == 0)
		network_claim_done(d, n, c);
}

static void network_claim_fire(struct loop *loop, void *arg)
{
	struct networks_claim *c = arg;

	(void)loop;
	c->timer = 0;
	network_claim_send(c->n->d, c->n, c);
}

/* Before a single-use invite burned here admits JOINER, the other
 * coordinators hear of it (INVITE_USED) and may object: it is used or
 * revoked there. Two coordinators claiming one code for two joiners at once
 * settle on the lower joiner id (networks_take_gossip). So a code admits once
 * while the coordinators reach each other; one that is away is told later.
 * Returns 1 (asking; the JOIN is answered then), 0 (no other coordinator:
 * admit now) or a refusal. */
static int network_claim_start(struct daemon *d, struct network *n, const uint8_t joiner[32],
			       uint32_t req_id, const struct net_msg_join *m,
			       const struct invite_ledger_entry *entry)
{
	const char *delay = getenv("RAYFISH_TEST_CLAIM_DELAY_MS");
	const struct group_member *holder;
	struct networks_claim *c;

	/* a hostname the invite binds, taken: refused before anyone is asked */
	holder = entry->hostname[0] ? group_member_by_hostname(n->group, entry->hostname) : NULL;
	if (holder && memcmp(holder->id, joiner, 32) != 0) {
		invite_ledger_restore(n->ledger, m->invite_id, joiner);
		return -EADDRINUSE;
	}
	network_gossip_targets(d, n);
	if (!n->ntargets)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return 0; /* admit alone, as with every other coordinator away */
	c->n = n;
	c->seq = ++n->claim_seq;
	memcpy(c->joiner, joiner, 32);
	c->req_id = req_id;
	c->join = *m;
	sodium_memzero(c->join.secret, sizeof(c->join.secret)); /* checked already */
	c->entry = *entry;
	/* linked, and one count of our own until every request is out: a
	 * failing channel may answer one at once */
	c->waiting = 1;
	c->next = n->claims;
	n->claims = c;
	/* Test-only: hold the claim, so that two coordinators' claims cross. */
	if (delay && *delay && strtoul(delay, NULL, 10) > 0 && strtoul(delay, NULL, 10) <= 10000) {
		log_warn("test setting: a claim waits %lu ms", strtoul(delay, NULL, 10));
		c->timer = loop_timer_add(d->loop, strtoul(delay, NULL, 10), network_claim_fire, c);
		if (c->timer)
			return 1;
	}
	network_claim_send(d, n, c);
	return 1;
}

/* A JOIN from P. Returns 0 (admitted, or in already), 1 (the answer comes
 * later, network_claim_done) or a refusal. */
static int networks_admit(struct daemon *d, struct peer *p, uint32_t req_id,
			  const struct net_msg_join *m, struct network **out)
{
	struct network *n = networks_by_room(d, m->room);
	struct invite_ledger_entry entry = {0};
	int ret;

	if (!n || !n->coordinator)
		return -ENOENT;
	*out = n;
	if (group_member_by_id(n->group, p->node_id))
		return 0; /* already in: a retry of a join that was answered */
	if (m->has_invite) {
		ret = invite_ledger_redeem(n->ledger, m->invite_id, m->secret, wall_ms() / 1000,
					   p->node_id, &entry);
		if (ret == -ENOENT) {
			/* not minted here: a reusable key in the roster, minted by
			 * another coordinator */
			const struct group_key *key = group_key_by_id(n->group, m->invite_id);
			uint8_t hash[32];

			invite_secret_hash(m->secret, hash);
			if (!key || sodium_memcmp(hash, key->secret_hash, 32) != 0)
				return -ENOENT;
			memset(&entry, 0, sizeof(entry));
			entry.reusable = true;
			ret = 0;
		}
		if (ret < 0)
			return ret;
		if (!entry.reusable) {
			ret = network_claim_start(d, n, p->node_id, req_id, m, &entry);
			if (ret != 0)
				return ret;
		}
	} else if (!group_is_open(n->group)) {
		return network_request_note(n, p->node_id, m->hostname);
	}
	return network_admit_member(d, n, p->node_id, m, &entry);
}

static void networks_respond_blob(struct daemon *d, struct peer *p, uint32_t req_id,
				  const struct network *n)
{
	struct ctl_codec_writer w;
	uint8_t *body;
	size_t len;

	ctl_codec_writer_init_dynamic(&w, n->blob_len + 64);
	net_msg_blob_encode(&w, n->blob, n->blob_len);
	body = ctl_codec_writer_take(&w, &len);
	session_respond(d->session, p, req_id, body ? 0 : -ENOMEM, body, body ? len : 0);
	free(body);
}

bool networks_on_request(struct daemon *d, struct peer *p, uint32_t req_id, uint32_t method,
			 const uint8_t *body, size_t len)
{
	struct net_msg_join join;
	struct net_msg_room room;
	struct network *n = NULL;
	int ret;

	switch (method) {
	case CTL_MSG_JOIN:
		if (net_msg_join_decode(body, len, &join) < 0) {
			session_respond(d->session, p, req_id, -EBADMSG, NULL, 0);
			return true;
		}
		ret = networks_admit(d, p, req_id, &join, &n);
		sodium_memzero(&join, sizeof(join));
		if (ret == 1)
			return true; /* answered when the other coordinators have */
		if (ret < 0)
			session_respond(d->session, p, req_id, networks_join_refusal(ret), NULL, 0);
		else
			networks_respond_blob(d, p, req_id, n);
		return true;
	case CTL_MSG_ADMIN_GRANT: {
		struct net_msg_grant grant;

		ret = net_msg_grant_decode(body, len, &grant);
		if (ret == 0)
			ret = networks_take_grant(d, p, &grant);
		sodium_memzero(&grant, sizeof(grant));
		session_respond(d->session, p, req_id, ret, NULL, 0);
		return true;
	}
	case CTL_MSG_INVITE_SHARE:
	case CTL_MSG_INVITE_USED:
	case CTL_MSG_INVITE_REVOKED:
	case CTL_MSG_INVITE_RESTORED: {
		struct net_msg_invite inv;

		ret = net_msg_invite_decode(body, len, &inv);
		if (ret == 0)
			ret = networks_take_gossip(d, p, method, &inv);
		if (ret == -EALREADY && method == CTL_MSG_INVITE_USED) {
			/* whom it is used by here: a claimer that lost takes that */
			const struct invite_ledger_entry *e;
			struct ctl_codec_writer w;
			uint8_t out[160];
			size_t olen;

			n = networks_by_room(d, inv.room);
			e = n && n->ledger ? invite_ledger_find(n->ledger, inv.id) : NULL;
			if (e && e->has_used_by) {
				inv.has_share = false;
				inv.hostname[0] = '\0';
				inv.has_joiner = true;
				memcpy(inv.joiner, e->used_by, 32);
				ctl_codec_writer_init(&w, out, sizeof(out));
				net_msg_invite_encode(&w, &inv);
				ctl_codec_writer_data(&w, &olen);
				session_respond(d->session, p, req_id, ret, out, olen);
				return true;
			}
		}
		session_respond(d->session, p, req_id, ret, NULL, 0);
		return true;
	}
	case CTL_MSG_RENAME: {
		char assigned[GROUP_HOSTNAME_MAX + 1];

		if (net_msg_join_decode(body, len, &join) < 0 || !join.hostname[0] || p->stranger ||
		    !(n = networks_by_room(d, join.room)) || !n->coordinator ||
		    !group_member_by_id(n->group, p->node_id)) {
			session_respond(d->session, p, req_id, -EPERM, NULL, 0);
			return true;
		}
		ret = network_rename_member(d, n, p->node_id, join.hostname, assigned);
		if (ret < 0)
			session_respond(d->session, p, req_id, ret, NULL, 0);
		else
			networks_respond_blob(d, p, req_id, n);
		return true;
	}
	case CTL_MSG_SYNC:
	case CTL_MSG_LEAVE:
	case CTL_MSG_BLOB_GET:
		/* Only from members of the network named. */
		if (net_msg_room_decode(body, len, &room) < 0 || p->stranger ||
		    !(n = networks_by_room(d, room.room)) ||
		    !group_member_by_id(n->group, p->node_id)) {
			session_respond(d->session, p, req_id, -EPERM, NULL, 0);
			return true;
		}
		if (method == CTL_MSG_LEAVE) {
			session_respond(d->session, p, req_id, n->coordinator ? 0 : -EPERM, NULL,
					0);
			if (n->coordinator) {
				char name[16];

				peer_short_name(p, name);
				log_info("network %s: %s left", n->alias, name);
				network_drop_member(d, n, p->node_id);
			}
		} else if (method == CTL_MSG_SYNC) {
			session_respond(d->session, p, req_id, 0, NULL, 0);
			if (room.version > group_version(n->group)) {
				n->want_version = room.version;
				n->attempts = 0;
				n->has_want_source = true;
				memcpy(n->want_source, p->node_id, 32);
				networks_refresh(d, n, p->node_id);
			}
		} else if (!room.has_hash || memcmp(room.hash, n->hash, 32) != 0) {
			session_respond(d->session, p, req_id, -ENOENT, NULL, 0);
		} else {
			networks_respond_blob(d, p, req_id, n);
		}
		return true;
	default:
		return false;
	}
}

/* ---- IPC: create, invite, join ------------------------------------------- */

static json_t *network_summary(struct daemon *d, const struct network *n)
{
	char room[INVITE_ROOM_ID_LEN + 1], v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	const struct group_member *me = group_member_by_id(n->group, d->identity.sign_public);
	/* the address on the TUN, which this roster's entry gave us unless
	 * another network's roster decides (networks_apply_self) */
	struct in_addr a4 = session_local_ipv4(d->session);
	struct in6_addr a6;

	invite_room_id_format(n->room, room);
	inet_ntop(AF_INET, &a4, v4, sizeof(v4));
	address_ipv6_derive(d->identity.sign_public, &a6);
	inet_ntop(AF_INET6, &a6, v6, sizeof(v6));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", n->alias, "room_id", room,
			 "hostname", me ? me->hostname : "", "ipv4", v4, "ipv6", v6, "open",
			 group_is_open(n->group));
}

static int networks_add(struct daemon *d, struct network *n, char *err, size_t err_len)
{
	int ret;

	if (d->networks.n == NETWORKS_MAX) {
		snprintf(err, err_len, "this node is in %d networks already", NETWORKS_MAX);
		return -ENOSPC;
	}
	ret = network_save(d, n);
	if (ret < 0) {
		snprintf(err, err_len, "cannot save the network: %s", strerror(-ret));
		return ret;
	}
	n->d = d;
	d->networks.list[d->networks.n++] = n;
	return 0;
}

json_t *networks_cmd_create(struct daemon *d, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *hostname = json_string_value(json_object_get(args, "hostname"));
	bool open = json_is_true(json_object_get(args, "open"));
	struct network *n = calloc(1, sizeof(*n));
	const struct group_member *me;
	uint8_t pk[32];
	char err[256];
	json_t *out = NULL;
	int ret;

	if (!n)
		return ipc_response_error("out of memory");
	if (name) {
		if (!group_hostname_valid(name)) {
			out = ipc_response_error("'%s' is not a network name (lowercase letters, "
						 "digits and '-', up to 63)",
						 name);
			goto out;
		}
		snprintf(n->alias, sizeof(n->alias), "%s", name);
	} else {
		names_generate(n->alias, sizeof(n->alias));
	}
	if (networks_find(d, n->alias)) {
		out = ipc_response_error("a network named %s exists already", n->alias);
		goto out;
	}
	if (hostname && !group_hostname_valid(hostname)) {
		out = ipc_response_error("'%s' is not a hostname (lowercase letters, digits "
					 "and '-', up to 63)",
					 hostname);
		goto out;
	}
	snprintf(n->hostname, sizeof(n->hostname), "%s", hostname ? hostname : "");
	crypto_sign_keypair(pk, n->secret);
	memcpy(n->room, pk, 32);
	n->coordinator = true;
	n->ledger = invite_ledger_new();
	if (!n->ledger || group_new(n->alias, open, &n->group) < 0 ||
	    group_member_add(n->group, d->identity.sign_public, hostname, true, wall_ms(), &me) <
		    0 ||
	    (group_bump_version(n->group, wall_ms()), network_encode(n) < 0)) {
		out = ipc_response_error("cannot create the network");
		goto out;
	}
	ret = networks_add(d, n, err, sizeof(err));
	if (ret < 0) {
		out = ipc_response_error("%s", err);
		goto out;
	}
	log_info("network %s created (%s)", n->alias, open ? "open" : "closed");
	network_publish(d, n);
	networks_apply(d);
	out = ipc_response_ok(network_summary(d, n));
	n = NULL;
out:
	network_free(n);
	return out;
}

/* A duration like "7d", "12h", "30m", "90s" or plain seconds. */
static int parse_duration(const char *text, uint64_t *secs)
{
	char *end;
	unsigned long long v = strtoull(text, &end, 10);
	uint64_t mult = 1;

	if (end == text)
		return -EINVAL;
	if (*end == 'd')
		mult = 86400;
	else if (*end == 'h')
		mult = 3600;
	else if (*end == 'm')
		mult = 60;
	else if (*end == 's' || *end == '\0')
		mult = 1;
	else
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	if (v == 0 || v > 10 * 365 * 86400ull / mult)
		return -EINVAL;
	*secs = v * mult;
	return 0;
}

json_t *networks_cmd_invite(struct daemon *d, json_t *args)
{
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	const char *expires = json_string_value(json_object_get(args, "expires"));
	const char *hostname = json_string_value(json_object_get(args, "hostname"));
	bool reusable = json_is_true(json_object_get(args, "reusable")), key_added = false;
	char text[INVITE_CODE_TEXT_MAX + 1];
	uint64_t ttl = NETWORKS_INVITE_TTL_S, now;
	struct invite_code code;
	int ret;

	if (!n)
		return ipc_response_error("no such network: %s",
					  json_string_value(json_object_get(args, "network"))
						  ?: "");
	if (!n->coordinator)
		return ipc_response_error("only a coordinator of %s can invite", n->alias);
	if (expires && parse_duration(expires, &ttl) < 0)
		return ipc_response_error("--expires: '%s' is not a duration (like 7d, 12h, 30m)",
					  expires);
	if (hostname && !group_hostname_valid(hostname))
		return ipc_response_error("'%s' is not a hostname", hostname);
	now = wall_ms() / 1000;
	network_ledger_prune(n, now);
	ret = invite_ledger_mint(n->ledger, now, ttl, hostname, reusable, &code);
	if (ret == -ENOSPC)
		return ipc_response_error("the invite ledger of %s is full: %d invites are open "
					  "or were closed in the last %d days",
					  n->alias, INVITE_LEDGER_MAX,
					  INVITE_LEDGER_KEEP / (24 * 3600));
	if (ret < 0)
		return ipc_response_error("cannot mint an invite: %s", strerror(-ret));
	if (reusable) {
		/* A fleet key rides the signed roster, so every coordinator admits
		 * with it; only its hash is there. */
		uint8_t hash[32];

		invite_secret_hash(code.secret, hash);
		ret = group_key_add(n->group, code.id, hash, hostname, code.expires * 1000);
		if (ret == 0) {
			group_bump_version(n->group, wall_ms());
			ret = network_encode(n);
		}
		if (ret < 0) {
			invite_ledger_revoke(n->ledger, code.id, wall_ms() / 1000);
			sodium_memzero(code.secret, sizeof(code.secret));
			return ipc_response_error("cannot add the key to the roster: %s",
						  strerror(-ret));
		}
		key_added = true;
	}
	memcpy(code.network_key, n->room, 32);
	/* bootstrap hints: this coordinator first, then others, and our relays */
	memcpy(code.coordinators[code.ncoordinators++], d->identity.sign_public, 32);
	for (unsigned k = 0;
	     k < group_member_count(n->group) && code.ncoordinators < INVITE_COORDINATORS_MAX;
	     k++) {
		const struct group_member *m = group_member_at(n->group, k);

		if (m->coordinator && memcmp(m->id, d->identity.sign_public, 32) != 0)
			memcpy(code.coordinators[code.ncoordinators++], m->id, 32);
	}
	for (unsigned i = 0; i < d->relays.nconns && code.nrelays < INVITE_RELAYS_MAX; i++) {
		if (d->relays.conns[i].home)
			snprintf(code.relays[code.nrelays++], sizeof(code.relays[0]), "%s",
				 d->relays.conns[i].url);
	}
	ret = network_save(d, n);
	if (ret >= 0)
		ret = invite_code_encode(&code, text, sizeof(text));
	sodium_memzero(code.secret, sizeof(code.secret));
	if (ret >= 0 && key_added) {
		network_publish(d, n);
		networks_sync_all(d, n, NULL);
	}
	if (ret >= 0 && !reusable) {
		/* the other coordinators admit with it too */
		network_gossip_enqueue_all(n, code.id);
		network_gossip_schedule(n, 0);
	}
	if (ret < 0) {
		invite_ledger_revoke(n->ledger, code.id, wall_ms() / 1000);
		return ipc_response_error("cannot save the invite: %s", strerror(-ret));
	}
	return ipc_response_ok(json_pack("{s:I, s:s, s:I, s:b}", "id", (json_int_t)code.id, "code",
					 text, "expires", (json_int_t)code.expires, "reusable",
					 reusable));
}

/* ---- joins waiting for approval, on disk ---------------------------------- */

/* A join by room id that a coordinator queued for approval is kept in
 * STATE_DIR/joins/ROOM.json (0600) until it is admitted, refused or an hour
 * old, so that a restart of this daemon keeps asking:
 *
 *   {"version": 1, "room": "<room id>", "name": "<alias>" | "",
 *    "hostname": "<wish>" | "", "coordinators": ["<node id>", ...],
 *    "relays": ["http://...", ...], "since": <unix ms>,
 *    "auto_accept_firewall": false}
 */

static void networks_join_path(struct daemon *d, const uint8_t room[32], char out[PATH_MAX])
{
	char text[INVITE_ROOM_ID_LEN + 1];

	invite_room_id_format(room, text);
	snprintf(out, PATH_MAX, "%s/joins/%s.json", d->options.state_dir, text);
}

static int networks_join_save(struct networks_join *j)
{
	char path[PATH_MAX], dir[PATH_MAX], room[INVITE_ROOM_ID_LEN + 1], *text = NULL;
	json_t *o = NULL, *coords = json_array(), *relays = json_array();
	int ret = -ENOMEM;

	if (!coords || !relays)
		goto out;
	for (unsigned i = 0; i < j->code.ncoordinators; i++) {
		char id[NODE_ID_TEXT_LEN + 1];

		keytext_format_node_id(j->code.coordinators[i], id);
		if (json_array_append_new(coords, json_string(id)) < 0)
			goto out;
	}
	for (unsigned i = 0; i < j->code.nrelays; i++) {
		if (json_array_append_new(relays, json_string(j->code.relays[i])) < 0)
			goto out;
	}
	invite_room_id_format(j->code.network_key, room);
	o = json_pack("{s:i, s:s, s:s, s:s, s:O, s:O, s:I, s:b}", "version",
		      NETWORKS_JOIN_FILE_VERSION, "room", room, "name", j->alias, "hostname",
		      j->code.hostname, "coordinators", coords, "relays", relays, "since",
		      (json_int_t)j->waiting_since_ms, "auto_accept_firewall",
		      j->auto_accept_firewall);
	if (!o || !(text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS)))
		goto out;
	snprintf(dir, sizeof(dir), "%s/joins", j->d->options.state_dir);
	ret = file_mkdirs(dir, 0700);
	if (ret < 0)
		goto out;
	networks_join_path(j->d, j->code.network_key, path);
	ret = file_write_atomic(path, text, strlen(text), 0600);
out:
	free(text);
	json_decref(o);
	json_decref(coords);
	json_decref(relays);
	return ret;
}

static void networks_join_unlink(struct networks_join *j)
{
	char path[PATH_MAX];

	networks_join_path(j->d, j->code.network_key, path);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
}

/* A string of at most MAX bytes (no NUL inside) at KEY, or NULL. */
static const char *networks_json_str(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int networks_join_parse(json_t *o, struct networks_join *j)
{
	static const char *const keys[] = {
		"version",	"room",	  "name",  "hostname",
		"coordinators", "relays", "since", "auto_accept_firewall"};
	const char *room, *name, *host;
	json_t *coords, *relays, *v;
	size_t i;

	if (!json_is_object(o) || json_object_size(o) != sizeof(keys) / sizeof(keys[0]))
		return -EINVAL;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!json_object_get(o, keys[i]))
			return -EINVAL;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != NETWORKS_JOIN_FILE_VERSION)
		return -EINVAL;
	room = networks_json_str(o, "room", INVITE_ROOM_ID_LEN);
	name = networks_json_str(o, "name", sizeof(j->alias) - 1);
	host = networks_json_str(o, "hostname", INVITE_HOSTNAME_MAX);
	if (!room || invite_room_id_parse(room, j->code.network_key) < 0 || !name ||
	    (*name && !group_hostname_valid(name)) || !host ||
	    (*host && !group_hostname_valid(host)))
		return -EINVAL;
	snprintf(j->alias, sizeof(j->alias), "%s", name);
	snprintf(j->code.hostname, sizeof(j->code.hostname), "%s", host);
	coords = json_object_get(o, "coordinators");
	relays = json_object_get(o, "relays");
	if (!json_is_array(coords) || json_array_size(coords) > INVITE_COORDINATORS_MAX ||
	    !json_is_array(relays) || json_array_size(relays) > INVITE_RELAYS_MAX)
		return -EINVAL;
	json_array_foreach(coords, i, v)
	{
		if (!json_is_string(v) ||
		    keytext_parse_node_id(json_string_value(v), j->code.coordinators[i]) < 0)
			return -EINVAL;
		j->code.ncoordinators++;
	}
	json_array_foreach(relays, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) > INVITE_URL_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return -EINVAL;
		snprintf(j->code.relays[i], sizeof(j->code.relays[i]), "%s", json_string_value(v));
		j->code.nrelays++;
	}
	v = json_object_get(o, "since");
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return -EINVAL;
	j->waiting_since_ms = (uint64_t)json_integer_value(v);
	v = json_object_get(o, "auto_accept_firewall");
	if (!json_is_boolean(v))
		return -EINVAL;
	j->auto_accept_firewall = json_is_true(v);
	return 0;
}

static int networks_join_load_file(struct daemon *d, const char *path, char *err, size_t err_len)
{
	struct networks_join *j = calloc(1, sizeof(*j));
	char *text = NULL, room[INVITE_ROOM_ID_LEN + 1];
	json_t *o = NULL;
	size_t len;
	int ret;

	if (!j)
		return -ENOMEM;
	ret = file_read_all(path, NETWORKS_JOIN_FILE_MAX, &text, &len);
	if (ret < 0) {
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(-ret));
		goto out;
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	ret = networks_join_parse(o, j);
	if (ret < 0) {
		snprintf(err, err_len, "%s is damaged; fix or remove it", path);
		goto out;
	}
	j->d = d;
	invite_room_id_format(j->code.network_key, room);
	if (networks_by_room(d, j->code.network_key)) {
		networks_join_unlink(j); /* admitted as we went down */
		goto out;
	}
	if (wall_ms() - j->waiting_since_ms >= NETWORKS_REQUEST_LIFE_MS) {
		log_info("join of %s: no coordinator approved it within an hour; giving up", room);
		networks_join_unlink(j);
		goto out;
	}
	for (struct networks_join *q = d->networks.joins; q; q = q->next) {
		if (memcmp(q->code.network_key, j->code.network_key, 32) == 0)
			goto out; /* the same file twice cannot happen; be safe */
	}
	j->by_room = true;
	j->restored = true;
	j->next = d->networks.joins;
	d->networks.joins = j;
	log_info("join of %s: still waiting for approval (since %llu s ago)", room,
		 (unsigned long long)((wall_ms() - j->waiting_since_ms) / 1000));
	j = NULL;
out:
	json_decref(o);
	free(text);
	free(j);
	return ret;
}

static int networks_joins_load(struct daemon *d, char *err, size_t err_len)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret = 0;

	snprintf(dir, sizeof(dir), "%s/joins", d->options.state_dir);
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	file_remove_stale_temps(dir);
	while ((e = readdir(dp))) {
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		ret = networks_join_load_file(d, path, err, err_len);
		if (ret < 0)
			break;
	}
	closedir(dp);
	return ret;
}

json_t *networks_pending_joins(struct daemon *d)
{
	json_t *list = json_array();

	for (struct networks_join *j = d->networks.joins; j; j = j->next) {
		char room[INVITE_ROOM_ID_LEN + 1];

		if (!j->by_room || !j->waiting_since_ms || j->dead)
			continue;
		invite_room_id_format(j->code.network_key, room);
		json_array_append_new(list, json_pack("{s:s, s:I, s:s?}", "room_id", room, "since",
						      (json_int_t)(j->waiting_since_ms / 1000),
						      "name", j->alias[0] ? j->alias : NULL));
	}
	return list;
}

static void networks_join_finish(struct networks_join *j, json_t *response)
{
	struct networks_join **pos;

	for (pos = &j->d->networks.joins; *pos; pos = &(*pos)->next) {
		if (*pos == j) {
			*pos = j->next;
			break;
		}
	}
	/* admitted, refused or given up: no longer waiting */
	if (j->by_room && j->waiting_since_ms)
		networks_join_unlink(j);
	if (j->req) {
		ipc_request_reply(j->req, response);
	} else {
		/* a join that waited for approval: nobody is waiting on IPC */
		json_t *err = json_object_get(response, "error");

		if (err)
			log_warn("join by room id: %s", json_string_value(err));
		json_decref(response);
	}
	sodium_memzero(&j->code, sizeof(j->code));
	free(j);
}

static const char *networks_refusal_text(int status)
{
	switch (status) {
	case -ENOENT:
		return "the coordinator does not know this network or invite";
	case -ESTALE:
		return "this invite has expired";
	case -EALREADY:
		return "this invite has been used already";
	case -EKEYREVOKED:
		return "this invite was revoked";
	case -EPERM:
		return "not allowed (a wrong invite secret, or a coordinator denied the request)";
	case -EADDRINUSE:
		return "the hostname this invite reserves is taken";
	case -EINPROGRESS:
		return "the network is closed: ask a coordinator for an invite code (ray invite)";
	case -ENOSPC:
		return "the network is full";
	default:
		return NULL;
	}
}

static void networks_join_ask(struct networks_join *j);

static void networks_join_retry(struct loop *loop, void *arg)
{
	struct networks_join *j = arg;

	(void)loop;
	j->retry_timer = 0;
	networks_join_ask(j);
}

static void networks_join_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	struct networks_join *j = arg;
	struct daemon *d = j->d;
	struct network *n = NULL;
	const char *why = networks_refusal_text(status);
	const uint8_t *blob;
	size_t blob_len;
	char err[256];

	if (j->dead) {
		free(j);
		return;
	}
	j->in_flight = false;
	if (status == -ETIMEDOUT || status == -ECANCELED) {
		networks_join_ask(j); /* the next coordinator, or give up */
		return;
	}
	if (status == -EINPROGRESS && j->by_room &&
	    (!j->waiting_since_ms || wall_ms() - j->waiting_since_ms < NETWORKS_REQUEST_LIFE_MS)) {
		/* Queued: tell the user now, keep asking until approved. */
		if (j->req) {
			char room[INVITE_ROOM_ID_LEN + 1];
			int ret;

			invite_room_id_format(j->code.network_key, room);
			ipc_request_reply(j->req, ipc_response_ok(json_pack("{s:b, s:s}", "pending",
									    1, "room_id", room)));
			j->req = NULL;
			j->waiting_since_ms = wall_ms();
			/* a restart of this daemon keeps asking */
			ret = networks_join_save(j);
			if (ret < 0)
				log_warn("join of %s: cannot save the waiting request: %s", room,
					 strerror(-ret));
		}
		j->tried = 0;
		j->retry_timer =
			loop_timer_add(d->loop, NETWORKS_PENDING_RETRY_MS, networks_join_retry, j);
		return;
	}
	if (status < 0) {
		networks_join_finish(
			j, ipc_response_error("join refused: %s", why ? why : strerror(-status)));
		return;
	}
	n = calloc(1, sizeof(*n));
	if (!n || net_msg_blob_decode(body, len, &blob, &blob_len) < 0 ||
	    network_set_blob(n, blob, blob_len) < 0 ||
	    !group_member_by_id(n->group, d->identity.sign_public)) {
		network_free(n);
		networks_join_finish(j, ipc_response_error("the coordinator's answer is not a "
							   "roster with this node in it"));
		return;
	}
	memcpy(n->room, j->code.network_key, 32);
	snprintf(n->alias, sizeof(n->alias), "%s", j->alias[0] ? j->alias : group_name(n->group));
	snprintf(n->hostname, sizeof(n->hostname), "%s", j->code.hostname);
	if (networks_find(d, n->alias))
		snprintf(n->alias, sizeof(n->alias), "%.50s-%02x%02x", group_name(n->group),
			 n->room[0], n->room[1]);
	if (networks_add(d, n, err, sizeof(err)) < 0) {
		network_free(n);
		networks_join_finish(j, ipc_response_error("%s", err));
		return;
	}
	if (j->auto_accept_firewall)
		fwservice_set_auto_accept(d, n->room, true);
	log_info("joined network %s (%u members)", n->alias, group_member_count(n->group));
	/* applied first: the answer shows the address the roster gave us */
	networks_apply(d);
	networks_join_finish(j, ipc_response_ok(network_summary(d, n)));
}

/* Ask the next coordinator named by the invite. */
static void networks_join_ask(struct networks_join *j)
{
	struct daemon *d = j->d;
	struct net_msg_join m = {.has_invite = !j->by_room};
	struct ctl_codec_writer w;
	uint8_t body[256], wg[32];
	size_t len;
	struct peer *p = NULL;
	int err = 0;

	while (!p && j->tried < j->code.ncoordinators) {
		const uint8_t *id = j->code.coordinators[j->tried++];

		memcpy(j->asked, id, 32);
		p = session_peer_by_node_id(d->session, id);
		if (!p && crypto_sign_ed25519_pk_to_curve25519(wg, id) == 0) {
			p = session_peer_add(d->session, wg, id, NULL, &err);
			if (p)
				session_peer_set_addresses(d->session, p, NULL);
		}
		if (p && !p->relay) {
			for (unsigned i = 0; i < j->code.nrelays && !p->relay; i++) {
				struct relay_client *rc = relays_get(d, j->code.relays[i]);

				if (rc)
					session_peer_set_relay(d->session, p, rc);
			}
			relays_resolve(d, id);
		}
	}
	if (!p && j->waiting_since_ms &&
	    wall_ms() - j->waiting_since_ms < NETWORKS_REQUEST_LIFE_MS) {
		/* waiting for approval: a coordinator away now answers later */
		j->tried = 0;
		j->retry_timer =
			loop_timer_add(d->loop, NETWORKS_PENDING_RETRY_MS, networks_join_retry, j);
		return;
	}
	if (!p) {
		networks_join_finish(j, ipc_response_error("no coordinator of this network "
							   "answered; is it online?"));
		networks_apply(d);
		return;
	}
	memcpy(m.room, j->code.network_key, 32);
	m.invite_id = j->code.id;
	memcpy(m.secret, j->code.secret, sizeof(m.secret));
	snprintf(m.hostname, sizeof(m.hostname), "%s", j->code.hostname);
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_join_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	sodium_memzero(&m, sizeof(m));
	j->in_flight = session_request(d->session, p, CTL_MSG_JOIN, body, len,
				       NETWORKS_JOIN_TIMEOUT_NS, networks_join_answer, j) == 0;
	if (!j->in_flight)
		networks_join_ask(j);
	sodium_memzero(body, sizeof(body));
}

static void networks_join_record(void *arg, int status, const struct record *rec)
{
	struct networks_join *j = arg;

	j->record_req = NULL;
	if (status < 0 || rec->kind != RECORD_NETWORK) {
		networks_join_finish(
			j, ipc_response_error("no such network: %s",
					      status == -ENOENT
						      ? "its relays know no record for it"
						      : strerror(status < 0 ? -status : EPROTO)));
		return;
	}
	for (unsigned i = 0;
	     i < rec->body.network.seed_count && j->code.ncoordinators < INVITE_COORDINATORS_MAX;
	     i++)
		memcpy(j->code.coordinators[j->code.ncoordinators++], rec->body.network.seeds[i],
		       32);
	/* The coordinators' home relays come from their own records; ours is
	 * a good first guess. */
	for (unsigned i = 0; i < j->d->relays.nconns && j->code.nrelays < INVITE_RELAYS_MAX; i++) {
		if (j->d->relays.conns[i].home)
			snprintf(j->code.relays[j->code.nrelays++], sizeof(j->code.relays[0]), "%s",
				 j->d->relays.conns[i].url);
	}
	networks_join_ask(j);
}

json_t *networks_cmd_join(struct daemon *d, struct ipc_request *req, json_t *args)
{
	const char *text = json_string_value(json_object_get(args, "code"));
	const char *alias = json_string_value(json_object_get(args, "name"));
	const char *hostname = json_string_value(json_object_get(args, "hostname"));
	struct networks_join *j;
	int ret;

	if (!text)
		return ipc_response_error("join needs an invite code or a room id");
	if (alias && !group_hostname_valid(alias))
		return ipc_response_error("--name: '%s' is not a network name", alias);
	if (hostname && !group_hostname_valid(hostname))
		return ipc_response_error("--hostname: '%s' is not a hostname", hostname);
	j = calloc(1, sizeof(*j));
	if (!j)
		return ipc_response_error("out of memory");
	if (invite_text_kind(text) == INVITE_TEXT_ROOM_ID) {
		j->by_room = true;
		ret = invite_room_id_parse(text, j->code.network_key);
	} else {
		ret = invite_code_parse(text, &j->code);
	}
	if (ret < 0) {
		free(j);
		return ipc_response_error("invalid invite code: %s",
					  ret == -EBADMSG ? "checksum mismatch (mistyped?)"
					  : ret == -EPROTONOSUPPORT ? "made by a newer rayfish"
								    : "not a rayfish invite");
	}
	if (networks_by_room(d, j->code.network_key)) {
		free(j);
		return ipc_response_error("this node is already in that network");
	}
	for (struct networks_join *q = d->networks.joins; q; q = q->next) {
		if (memcmp(q->code.network_key, j->code.network_key, 32) == 0 && !q->dead) {
			sodium_memzero(&j->code, sizeof(j->code));
			free(j);
			return ipc_response_error(
				"a join of that network is under way already%s",
				q->waiting_since_ms ? " (waiting for a coordinator's approval)"
						    : "");
		}
	}
	if (j->code.expires && j->code.expires <= wall_ms() / 1000) {
		free(j);
		return ipc_response_error("join refused: this invite has expired");
	}
	if (hostname)
		snprintf(j->code.hostname, sizeof(j->code.hostname), "%s", hostname);
	snprintf(j->alias, sizeof(j->alias), "%s", alias ? alias : "");
	j->auto_accept_firewall = json_is_true(json_object_get(args, "auto_accept_firewall"));
	j->d = d;
	j->req = req;
	j->next = d->networks.joins;
	d->networks.joins = j;
	if (!j->by_room) {
		networks_join_ask(j);
		return IPC_DEFERRED;
	}
	/* By room id: the signed network record names the coordinators. */
	ret = relays_fetch_record(d, j->code.network_key, networks_join_record, j, &j->record_req);
	if (ret < 0) {
		d->networks.joins = j->next;
		free(j);
		return ipc_response_error("cannot look the network up: %s",
					  ret == -ENOENT
						  ? "no relay configured (ray daemon --relay)"
						  : strerror(-ret));
	}
	return IPC_DEFERRED;
}

/* ---- leaving, kicking, listing ------------------------------------------- */

/* Forget N here: its file and its state. */
static void networks_forget(struct daemon *d, struct network *n)
{
	char path[PATH_MAX];

	network_path(d, n, path);
	unlink(path);
	fwservice_network_gone(d, n->room);
	for (unsigned i = 0; i < d->networks.n; i++) {
		if (d->networks.list[i] == n) {
			d->networks.list[i] = d->networks.list[--d->networks.n];
			break;
		}
	}
	network_free(n);
}

/* ... and its peers (those of no other network). */
static void networks_remove(struct daemon *d, struct network *n)
{
	networks_forget(d, n);
	networks_apply(d);
}

/* A member of N by hostname, "host.network", mesh IPv4 or a unique id
 * prefix (4 characters at least). NULL with *WHY. */
static const struct group_member *network_member_resolve(struct network *n, const char *text,
							 const char **why)
{
	const struct group_member *m, *found = NULL;
	char host[GROUP_HOSTNAME_MAX + 1];
	struct in_addr a4;
	const char *dot = strchr(text, '.');

	*why = "no such member";
	if (inet_pton(AF_INET, text, &a4) == 1)
		return group_member_by_ipv4(n->group, ntohl(a4.s_addr));
	if (dot && (size_t)(dot - text) <= GROUP_HOSTNAME_MAX && strcmp(dot + 1, n->alias) == 0) {
		memcpy(host, text, (size_t)(dot - text));
		host[dot - text] = '\0';
		return group_member_by_hostname(n->group, host);
	}
	if ((m = group_member_by_hostname(n->group, text)))
		return m;
	for (unsigned k = 0; k < group_member_count(n->group); k++) {
		char id[NODE_ID_TEXT_LEN + 1];

		m = group_member_at(n->group, k);
		keytext_format_node_id(m->id, id);
		if (strlen(text) >= 4 && strncasecmp(id, text, strlen(text)) == 0) {
			if (found) {
				*why = "ambiguous id prefix";
				return NULL;
			}
			found = m;
		}
	}
	return found;
}

/* Take ID off N's roster (a coordinator's act), publish, tell the rest. */
/* A change a coordinator made to network N's roster: save, publish, tell
 * the members. Undone by the caller when this fails. */
static int network_publish_change(struct daemon *d, struct network *n)
{
	int ret = network_commit(d, n);

	if (ret < 0)
		return ret;
	network_publish(d, n);
	networks_apply(d);
	networks_sync_all(d, n, NULL);
	return 0;
}

static int network_drop_member(struct daemon *d, struct network *n, const uint8_t id[32])
{
	int ret = group_member_remove(n->group, id);

	return ret < 0 ? ret : network_publish_change(d, n);
}

json_t *networks_cmd_kick(struct daemon *d, json_t *args)
{
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	const char *who = json_string_value(json_object_get(args, "peer"));
	const struct group_member *m;
	const char *why = "no such member";
	char host[GROUP_HOSTNAME_MAX + 1];
	uint8_t id[32];
	int ret;

	if (!n)
		return ipc_response_error("no such network");
	if (!n->coordinator)
		return ipc_response_error("only a coordinator of %s can remove members", n->alias);
	if (!who || !(m = network_member_resolve(n, who, &why)))
		return ipc_response_error("%s: %s", why, who ? who : "");
	if (memcmp(m->id, d->identity.sign_public, 32) == 0)
		return ipc_response_error("that is this node; use ray leave %s", n->alias);
	memcpy(id, m->id, 32);
	snprintf(host, sizeof(host), "%s", m->hostname);
	ret = network_drop_member(d, n, id);
	if (ret < 0)
		return ipc_response_error("cannot remove %s: %s", host, strerror(-ret));
	log_info("network %s: %s removed", n->alias, host);
	return ipc_response_ok(json_pack("{s:s, s:s}", "network", n->alias, "removed", host));
}

/* A coordinator heard (or did not hear) our LEAVE: now drop the peers of
 * the network we left. Not when the session itself is going away. */
static void networks_leave_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	(void)body;
	(void)len;
	if (status != -ECANCELED)
		networks_apply(arg);
}

json_t *networks_cmd_leave(struct daemon *d, json_t *args)
{
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	struct net_msg_room m = {0};
	struct ctl_codec_writer w;
	char alias[64];
	uint8_t body[128];
	unsigned asked = 0;
	size_t len;

	if (!n)
		return ipc_response_error("no such network");
	/* Best effort: the coordinators prune us when they hear it; this node
	 * is out either way. */
	memcpy(m.room, n->room, 32);
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_room_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	for (unsigned k = 0; k < group_member_count(n->group); k++) {
		const struct group_member *mem = group_member_at(n->group, k);
		struct peer *p;

		if (!mem->coordinator || memcmp(mem->id, d->identity.sign_public, 32) == 0)
			continue;
		p = session_peer_by_node_id(d->session, mem->id);
		if (p && session_request(d->session, p, CTL_MSG_LEAVE, body, len,
					 NETWORKS_SYNC_TIMEOUT_NS, networks_leave_answer, d) == 0)
			asked++;
	}
	snprintf(alias, sizeof(alias), "%s", n->alias);
	/* The coordinators' peers stay until they answer (or time out). */
	networks_forget(d, n);
	if (!asked)
		networks_apply(d);
	log_info("left network %s", alias);
	return ipc_response_ok(json_pack("{s:s}", "left", alias));
}

json_t *networks_cmd_invites(struct daemon *d, json_t *args)
{
	static const char *const states[] = {"open", "used", "revoked"};
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	json_t *revoke = json_object_get(args, "revoke"), *list;
	const struct invite_ledger_entry *e;
	size_t count;
	int ret;

	if (!n)
		return ipc_response_error("no such network");
	if (!n->coordinator)
		return ipc_response_error("only a coordinator of %s has invites", n->alias);
	if (revoke) {
		if (!json_is_integer(revoke) || json_integer_value(revoke) <= 0 ||
		    json_integer_value(revoke) > UINT32_MAX)
			return ipc_response_error("--revoke needs an invite id");
		ret = invite_ledger_revoke(n->ledger, (uint32_t)json_integer_value(revoke),
					   wall_ms() / 1000);
		if (ret == 0) {
			network_gossip_enqueue_all(n, (uint32_t)json_integer_value(revoke));
			network_gossip_schedule(n, 0);
		}
		if (group_key_remove(n->group, (uint32_t)json_integer_value(revoke)) == 0) {
			group_bump_version(n->group, wall_ms());
			if (network_encode(n) == 0) {
				network_publish(d, n);
				networks_sync_all(d, n, NULL);
			}
			if (ret == -ENOENT)
				ret = 0; /* a key another coordinator minted */
		}
		if (ret == 0)
			ret = network_save(d, n);
		if (ret < 0)
			return ipc_response_error("cannot revoke invite %lld: %s",
						  (long long)json_integer_value(revoke),
						  ret == -ENOENT ? "no such invite"
								 : strerror(-ret));
		return ipc_response_ok(json_pack("{s:O}", "revoked", revoke));
	}
	list = json_array();
	e = invite_ledger_list(n->ledger, &count);
	for (size_t i = 0; i < count; i++)
		json_array_append_new(
			list, json_pack("{s:I, s:s, s:I, s:b, s:s, s:I}", "id", (json_int_t)e[i].id,
					"state", states[e[i].state], "expires",
					(json_int_t)e[i].expires, "reusable", e[i].reusable,
					"hostname", e[i].hostname, "uses", (json_int_t)e[i].uses));
	return ipc_response_ok(json_pack("{s:o}", "invites", list));
}

/* A coordinator renames member ID (collisions get name-1 ...), publishes,
 * tells the others. */
static int network_rename_member(struct daemon *d, struct network *n, const uint8_t id[32],
				 const char *wish, char assigned[GROUP_HOSTNAME_MAX + 1])
{
	int ret = group_member_set_hostname(n->group, id, wish, assigned);

	if (ret == 0)
		ret = network_commit(d, n);
	if (ret < 0)
		return ret;
	log_info("network %s: a member is now %s", n->alias, assigned);
	network_publish(d, n);
	networks_sync_all(d, n, id);
	return 0;
}

struct networks_rename {
	struct daemon *d;
	struct ipc_request *req;
	uint8_t room[32];
};

static void networks_rename_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	struct networks_rename *r = arg;
	struct network *n = networks_by_room(r->d, r->room);
	const struct group_member *me;
	const uint8_t *blob;
	size_t blob_len;

	if (status == -ECANCELED && !n) {
		ipc_request_reply(r->req, ipc_response_error("the network went away"));
	} else if (status < 0 || !n) {
		ipc_request_reply(
			r->req,
			ipc_response_error("rename refused: %s",
					   status == -EINVAL
						   ? "not a valid hostname"
						   : strerror(status < 0 ? -status : ENOENT)));
	} else if (net_msg_blob_decode(body, len, &blob, &blob_len) < 0 ||
		   network_set_blob(n, blob, blob_len) < 0 ||
		   !(me = group_member_by_id(n->group, r->d->identity.sign_public))) {
		ipc_request_reply(r->req, ipc_response_error("the coordinator's answer is not a "
							     "roster with this node in it"));
	} else {
		snprintf(n->hostname, sizeof(n->hostname), "%s", me->hostname);
		network_save(r->d, n);
		networks_apply(r->d);
		ipc_request_reply(r->req,
				  ipc_response_ok(json_pack("{s:s, s:s}", "network", n->alias,
							    "hostname", me->hostname)));
	}
	free(r);
}

json_t *networks_cmd_hostname(struct daemon *d, struct ipc_request *req, json_t *args)
{
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	const char *wish = json_string_value(json_object_get(args, "hostname"));
	char assigned[GROUP_HOSTNAME_MAX + 1];
	struct net_msg_join m = {0};
	struct ctl_codec_writer w;
	struct networks_rename *r;
	uint8_t body[256];
	size_t len;
	int ret;

	if (!n)
		return ipc_response_error("no such network");
	if (!wish || !group_hostname_valid(wish))
		return ipc_response_error("'%s' is not a hostname (lowercase letters, digits and "
					  "'-', up to 63)",
					  wish ? wish : "");
	if (n->coordinator) {
		ret = network_rename_member(d, n, d->identity.sign_public, wish, assigned);
		if (ret < 0)
			return ipc_response_error("cannot rename: %s", strerror(-ret));
		snprintf(n->hostname, sizeof(n->hostname), "%s", assigned);
		network_save(d, n);
		return ipc_response_ok(
			json_pack("{s:s, s:s}", "network", n->alias, "hostname", assigned));
	}
	memcpy(m.room, n->room, 32);
	snprintf(m.hostname, sizeof(m.hostname), "%s", wish);
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_join_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	for (unsigned k = 0; k < group_member_count(n->group); k++) {
		const struct group_member *c = group_member_at(n->group, k);
		struct peer *p = session_peer_by_node_id(d->session, c->id);

		if (!c->coordinator || !p || !(r = calloc(1, sizeof(*r))))
			continue;
		r->d = d;
		r->req = req;
		memcpy(r->room, n->room, 32);
		if (session_request(d->session, p, CTL_MSG_RENAME, body, len,
				    NETWORKS_JOIN_TIMEOUT_NS, networks_rename_answer, r) == 0)
			return IPC_DEFERRED;
		free(r);
	}
	return ipc_response_error("no coordinator of %s is reachable to rename this node",
				  n->alias);
}

/* ---- co-coordinators ------------------------------------------------------ */

/* A coordinator of N on our roster gave us N's key. */
static int networks_take_grant(struct daemon *d, struct peer *p, const struct net_msg_grant *g)
{
	struct network *n = networks_by_room(d, g->room);
	const struct group_member *sender;
	uint8_t pk[32];
	int ret;

	if (!n || p->stranger || !(sender = group_member_by_id(n->group, p->node_id)) ||
	    !sender->coordinator)
		return -EPERM;
	if (crypto_sign_ed25519_sk_to_pk(pk, g->secret) != 0 || sodium_memcmp(pk, n->room, 32) != 0)
		return -EKEYREJECTED;
	if (n->coordinator)
		return 0;
	n->ledger = invite_ledger_new();
	if (!n->ledger)
		return -ENOMEM;
	memcpy(n->secret, g->secret, sizeof(n->secret));
	n->coordinator = true;
	ret = network_save(d, n);
	if (ret < 0) {
		/* not saved: not taken, so a restart cannot half-forget it */
		sodium_memzero(n->secret, sizeof(n->secret));
		invite_ledger_free(n->ledger);
		n->ledger = NULL;
		n->coordinator = false;
		return ret;
	}
	log_info("network %s: this node is a coordinator now", n->alias);
	networks_apply(d);
	network_gossip_schedule(n, 0);
	return 0;
}

struct networks_grant {
	struct daemon *d;
	struct ipc_request *req;
	uint8_t room[32];
	uint8_t member[32];
	char hostname[GROUP_HOSTNAME_MAX + 1];
};

static void networks_grant_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	struct networks_grant *g = arg;
	struct network *n = networks_by_room(g->d, g->room);
	int ret;

	(void)body;
	(void)len;
	if (status < 0 || !n) {
		ipc_request_reply(g->req,
				  ipc_response_error("%s did not take the key: %s", g->hostname,
						     strerror(status < 0 ? -status : ENOENT)));
		goto out;
	}
	ret = group_member_set_coordinator(n->group, g->member, true);
	if (ret == 0)
		ret = network_commit(g->d, n);
	if (ret < 0) {
		ipc_request_reply(g->req, ipc_response_error("%s has the key, but the roster "
							     "could not be updated: %s",
							     g->hostname, strerror(-ret)));
		goto out;
	}
	log_info("network %s: %s is a coordinator now", n->alias, g->hostname);
	network_publish(g->d, n);
	networks_sync_all(g->d, n, NULL);
	/* ... and gets our whole ledger */
	network_gossip_schedule(n, 0);
	ipc_request_reply(g->req, ipc_response_ok(json_pack("{s:s, s:s}", "network", n->alias,
							    "coordinator", g->hostname)));
out:
	free(g);
}

json_t *networks_cmd_admin(struct daemon *d, struct ipc_request *req, json_t *args)
{
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	const char *who = json_string_value(json_object_get(args, "peer"));
	const char *why = "no such member";
	const struct group_member *m;
	struct net_msg_grant msg;
	struct ctl_codec_writer w;
	struct networks_grant *g;
	uint8_t body[160];
	struct peer *p;
	size_t len;
	int ret;

	if (!n)
		return ipc_response_error("no such network");
	if (!who) {
		json_t *list = json_array();

		for (unsigned k = 0; k < group_member_count(n->group); k++) {
			m = group_member_at(n->group, k);
			if (m->coordinator)
				json_array_append_new(list, json_string(m->hostname));
		}
		return ipc_response_ok(
			json_pack("{s:s, s:o}", "network", n->alias, "coordinators", list));
	}
	if (!n->coordinator)
		return ipc_response_error("only a coordinator of %s can grant its key", n->alias);
	if (!(m = network_member_resolve(n, who, &why)))
		return ipc_response_error("%s: %s", why, who);
	if (m->coordinator)
		return ipc_response_error("%s is a coordinator already", m->hostname);
	p = session_peer_by_node_id(d->session, m->id);
	if (!p || !p->last_handshake)
		return ipc_response_error("%s is not reachable now; try when it is online",
					  m->hostname);
	g = calloc(1, sizeof(*g));
	if (!g)
		return ipc_response_error("out of memory");
	g->d = d;
	g->req = req;
	memcpy(g->room, n->room, 32);
	memcpy(g->member, m->id, 32);
	snprintf(g->hostname, sizeof(g->hostname), "%s", m->hostname);
	memcpy(msg.room, n->room, 32);
	memcpy(msg.secret, n->secret, sizeof(msg.secret));
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_grant_encode(&w, &msg);
	ctl_codec_writer_data(&w, &len);
	ret = session_request(d->session, p, CTL_MSG_ADMIN_GRANT, body, len,
			      NETWORKS_JOIN_TIMEOUT_NS, networks_grant_answer, g);
	sodium_memzero(&msg, sizeof(msg));
	sodium_memzero(body, sizeof(body));
	if (ret < 0) {
		free(g);
		return ipc_response_error("cannot reach %s: %s", m->hostname, strerror(-ret));
	}
	return IPC_DEFERRED;
}

json_t *networks_cmd_requests(struct daemon *d, json_t *args)
{
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	const char *action = json_string_value(json_object_get(args, "action"));
	const char *who = json_string_value(json_object_get(args, "id"));
	struct networks_request *r = NULL;
	const struct group_member *m;
	uint64_t now = wall_ms();
	json_t *list;
	int ret;

	if (!n)
		return ipc_response_error("no such network");
	if (!n->coordinator)
		return ipc_response_error("only a coordinator of %s sees its requests", n->alias);
	if (!action) {
		list = json_array();
		for (unsigned i = 0; i < NETWORKS_REQUESTS_MAX; i++) {
			char id[NODE_ID_TEXT_LEN + 1];

			r = &n->requests[i];
			if (!r->used || r->denied || now - r->when_ms > NETWORKS_REQUEST_LIFE_MS)
				continue;
			keytext_format_node_id(r->id, id);
			json_array_append_new(list,
					      json_pack("{s:s, s:s, s:I}", "id", id, "hostname",
							r->hostname, "age_s",
							(json_int_t)((now - r->when_ms) / 1000)));
		}
		return ipc_response_ok(
			json_pack("{s:s, s:o}", "network", n->alias, "requests", list));
	}
	for (unsigned i = 0; who && i < NETWORKS_REQUESTS_MAX && !r; i++) {
		char id[NODE_ID_TEXT_LEN + 1];
		struct networks_request *q = &n->requests[i];

		if (!q->used || q->denied)
			continue;
		keytext_format_node_id(q->id, id);
		if ((strlen(who) >= 4 && strncasecmp(id, who, strlen(who)) == 0) ||
		    (q->hostname[0] && strcmp(q->hostname, who) == 0))
			r = q;
	}
	if (!r)
		return ipc_response_error("no such request: %s", who ? who : "");
	if (strcmp(action, "deny") == 0) {
		r->denied = true;
		r->when_ms = now;
		return ipc_response_ok(json_pack("{s:s}", "denied", who));
	}
	if (strcmp(action, "accept") != 0)
		return ipc_response_error("requests: accept or deny");
	ret = group_member_add(n->group, r->id, r->hostname[0] ? r->hostname : NULL, false, now,
			       &m);
	if (ret == 0)
		ret = network_commit(d, n);
	if (ret < 0) {
		group_member_remove(n->group, r->id);
		network_encode(n);
		return ipc_response_error("cannot admit: %s", strerror(-ret));
	}
	r->used = false;
	log_info("network %s: request approved, %s joins", n->alias, m->hostname);
	network_publish(d, n);
	networks_apply(d);
	networks_sync_all(d, n, NULL);
	return ipc_response_ok(json_pack("{s:s, s:s}", "accepted", who, "hostname", m->hostname));
}

json_t *networks_cmd_nuke(struct daemon *d, json_t *args)
{
	struct network *n = networks_find(d, json_string_value(json_object_get(args, "network")));
	bool force = json_is_true(json_object_get(args, "force"));
	struct net_msg_room m = {.version = UINT64_MAX};
	struct ctl_codec_writer w;
	unsigned others = 0;
	char alias[64];
	uint8_t body[128];
	size_t len;

	if (!n)
		return ipc_response_error("no such network");
	if (!n->coordinator)
		return ipc_response_error("only a coordinator of %s can dissolve it", n->alias);
	for (unsigned k = 0; k < group_member_count(n->group); k++) {
		const struct group_member *mem = group_member_at(n->group, k);

		others += mem->coordinator && memcmp(mem->id, d->identity.sign_public, 32) != 0;
	}
	if (others && !force)
		return ipc_response_error("%s has %u other coordinators; add --force to dissolve "
					  "it anyway",
					  n->alias, others);
	network_publish_record(d, n, true);
	/* Members re-read the record now; those away, when they return. */
	memcpy(m.room, n->room, 32);
	ctl_codec_writer_init(&w, body, sizeof(body));
	net_msg_room_encode(&w, &m);
	ctl_codec_writer_data(&w, &len);
	for (unsigned k = 0; k < group_member_count(n->group); k++) {
		const struct group_member *mem = group_member_at(n->group, k);
		struct peer *p = session_peer_by_node_id(d->session, mem->id);

		if (p && memcmp(mem->id, d->identity.sign_public, 32) != 0)
			session_request(d->session, p, CTL_MSG_SYNC, body, len,
					NETWORKS_SYNC_TIMEOUT_NS, networks_sync_answer, NULL);
	}
	snprintf(alias, sizeof(alias), "%s", n->alias);
	networks_remove(d, n);
	log_info("network %s dissolved", alias);
	return ipc_response_ok(json_pack("{s:s}", "dissolved", alias));
}

/* ---- status ------------------------------------------------------------- */

json_t *networks_status(struct daemon *d)
{
	json_t *list = json_array();
	uint64_t now = (uint64_t)time(NULL);

	for (unsigned i = 0; i < d->networks.n; i++) {
		struct network *n = d->networks.list[i];
		json_t *o = network_summary(d, n), *members = json_array();

		json_object_set_new(o, "role",
				    json_string(n->coordinator ? "coordinator" : "member"));
		json_object_set_new(o, "version",
				    json_integer((json_int_t)group_version(n->group)));
		for (unsigned k = 0; k < group_member_count(n->group); k++) {
			const struct group_member *m = group_member_at(n->group, k);
			struct peer *p = session_peer_by_node_id(d->session, m->id);
			char id[NODE_ID_TEXT_LEN + 1], v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
			struct in_addr a4 = {htonl(group_member_ipv4(m))};
			struct in6_addr a6;
			bool self = memcmp(m->id, d->identity.sign_public, 32) == 0;
			json_t *mo;

			keytext_format_node_id(m->id, id);
			inet_ntop(AF_INET, &a4, v4, sizeof(v4));
			address_ipv6_derive(m->id, &a6);
			inet_ntop(AF_INET6, &a6, v6, sizeof(v6));
			mo = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "id", id, "hostname",
				       m->hostname, "ipv4", v4, "ipv6", v6, "coordinator",
				       m->coordinator, "self", self);
			json_object_set_new(
				mo, "online",
				json_boolean(self || (p && p->last_handshake &&
						      now - (uint64_t)p->last_handshake < 180)));
			json_object_set_new(mo, "path",
					    p ? json_string(session_peer_path(d->session, p))
					      : json_null());
			json_object_set_new(mo, "rx_bytes",
					    json_integer(p ? (json_int_t)p->rx_bytes : 0));
			json_object_set_new(mo, "tx_bytes",
					    json_integer(p ? (json_int_t)p->tx_bytes : 0));
			json_array_append_new(members, mo);
		}
		json_object_set_new(o, "members", members);
		json_array_append_new(list, o);
	}
	return list;
}

/* ---- lifecycle ---------------------------------------------------------- */

int networks_load(struct daemon *d, char *err, size_t err_len)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int ret = 0;

	snprintf(dir, sizeof(dir), "%s/networks", d->options.state_dir);
	dp = opendir(dir);
	if (!dp && errno != ENOENT)
		return -errno;
	while (dp && (e = readdir(dp))) {
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		ret = network_load_file(d, path, err, err_len);
		if (ret < 0)
			break;
	}
	if (dp)
		closedir(dp);
	if (ret == 0 && d->networks.n) {
		log_info("%u networks loaded", d->networks.n);
		networks_apply(d);
	}
	/* after the networks: a join admitted meanwhile is done */
	if (ret == 0)
		ret = networks_joins_load(d, err, err_len);
	return ret;
}

static void networks_tick(struct loop *loop, void *arg)
{
	struct daemon *d = arg;
	uint64_t now = loop_now_ns();
	struct peer *p, *next;

	d->networks.timer = loop_timer_add(loop, NETWORKS_TICK_MS, networks_tick, d);
	for (unsigned i = 0; i < d->networks.n; i++) {
		struct network *n = d->networks.list[i];

		networks_refresh(d, n, NULL);
	}
	/* strangers that did not join in time */
	for (p = session_peers(d->session); p; p = next) {
		next = p->next;
		if (p->stranger && now - p->created_ns > NETWORKS_STRANGER_LIFE_NS)
			session_peer_remove(d->session, p);
	}
}

void networks_start(struct daemon *d)
{
	/* What the relays hold first: another coordinator may have changed
	 * the roster while this node was away. */
	for (unsigned i = 0; i < d->networks.n; i++) {
		networks_refresh(d, d->networks.list[i], NULL);
		/* the other coordinators hear our whole ledger */
		network_gossip_schedule(d->networks.list[i], 0);
	}
	d->networks.timer = loop_timer_add(d->loop, NETWORKS_TICK_MS, networks_tick, d);
	/* joins still waiting for approval ask again, now that relays run */
	for (struct networks_join *j = d->networks.joins; j; j = j->next) {
		if (j->restored && !j->retry_timer)
			j->retry_timer = loop_timer_add(d->loop, 0, networks_join_retry, j);
	}
}

void networks_stop(struct daemon *d)
{
	if (d->networks.timer)
		loop_timer_cancel(d->loop, d->networks.timer);
	if (d->networks.prune_timer)
		loop_timer_cancel(d->loop, d->networks.prune_timer);
	d->networks.timer = d->networks.prune_timer = 0;
	/* A join's request is still in the session, whose freeing will call
	 * back: answer now, free then. */
	while (d->networks.joins) {
		struct networks_join *j = d->networks.joins;

		d->networks.joins = j->next;
		if (j->req)
			ipc_request_reply(j->req,
					  ipc_response_error("the daemon is shutting down"));
		sodium_memzero(&j->code, sizeof(j->code));
		if (!j->in_flight) {
			/* looking the network up, waiting to ask again, or
			 * restored and not asked yet: no session request */
			if (j->record_req)
				record_client_cancel(j->record_req);
			if (j->retry_timer)
				loop_timer_cancel(d->loop, j->retry_timer);
			free(j);
			continue;
		}
		j->dead = true;
	}
	for (unsigned i = 0; i < d->networks.n; i++)
		network_free(d->networks.list[i]);
	d->networks.n = 0;
}

int networks_resolve_member(struct daemon *d, const char *text, uint8_t id[32])
{
	const struct group_member *found = NULL;
	const char *dot = strchr(text, '.');
	size_t hlen = dot ? (size_t)(dot - text) : strlen(text);
	char host[GROUP_HOSTNAME_MAX + 1];

	if (hlen == 0 || hlen > GROUP_HOSTNAME_MAX)
		return -ENOENT;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	for (unsigned i = 0; i < d->networks.n; i++) {
		struct network *n = d->networks.list[i];
		const struct group_member *m;

		if (dot && strcmp(dot + 1, n->alias) != 0)
			continue;
		m = group_member_by_hostname(n->group, host);
		if (!m || memcmp(m->id, d->identity.sign_public, 32) == 0)
			continue;
		if (found && memcmp(found->id, m->id, 32) != 0)
			return -EEXIST; /* the same name in two networks: say which */
		found = m;
	}
	if (!found)
		return -ENOENT;
	memcpy(id, found->id, 32);
	return 0;
}

unsigned networks_count(struct daemon *d)
{
	return d->networks.n;
}

const struct group *networks_roster(struct daemon *d, unsigned i, const uint8_t **room,
				    const char **alias)
{
	if (i >= d->networks.n)
		return NULL;
	*room = d->networks.list[i]->room;
	*alias = d->networks.list[i]->alias;
	return d->networks.list[i]->group;
}

int networks_lookup(struct daemon *d, const char *name, unsigned *index)
{
	struct network *n = networks_find(d, name);

	for (unsigned i = 0; n && i < d->networks.n; i++) {
		if (d->networks.list[i] == n) {
			*index = i;
			return 0;
		}
	}
	return -ENOENT;
}

bool networks_is_coordinator(struct daemon *d, unsigned index)
{
	return index < d->networks.n && d->networks.list[index]->coordinator;
}

int networks_suggest_add(struct daemon *d, unsigned index, const char *subject, const uint8_t *rule,
			 size_t len)
{
	struct network *n = index < d->networks.n ? d->networks.list[index] : NULL;
	int ret;

	if (!n || !n->coordinator)
		return -EPERM;
	ret = group_rule_add(n->group, subject, rule, len);
	if (ret < 0)
		return ret;
	ret = network_publish_change(d, n);
	if (ret < 0)
		group_rule_remove(n->group, group_rule_count(n->group) - 1);
	return ret;
}

int networks_suggest_remove(struct daemon *d, unsigned index, unsigned rule)
{
	struct network *n = index < d->networks.n ? d->networks.list[index] : NULL;
	struct group_rule saved;
	int ret;

	if (!n || !n->coordinator)
		return -EPERM;
	if (rule >= group_rule_count(n->group))
		return -ENOENT;
	saved = *group_rule_at(n->group, rule);
	group_rule_remove(n->group, rule);
	ret = network_publish_change(d, n);
	if (ret < 0)
		group_rule_add(n->group, saved.subject, saved.rule, saved.len); /* at the end */
	return ret;
}
