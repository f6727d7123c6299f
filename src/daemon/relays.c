#include "daemon/relays.h"
#include "crypto/keytext.h"
#include "daemon/daemon.h"
#include "path/record.h"
#include "path/portmap.h"
#include "path/record_client.h"
#include "path/relay_client.h"
#include "session/session.h"
#include "util/eventloop.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* How often to ask STUN, check whether the record changed, and look up
 * peers that have no relay yet. */
#define RELAYS_TICK_MS 10000
/* A record lives 30 minutes and is republished every 10, so two lost
 * publishes in a row still leave a valid one. */
#define RELAYS_RECORD_LIFE_MS  (30 * 60 * 1000ull)
#define RELAYS_REPUBLISH_MS    (10 * 60 * 1000ull)
#define RELAYS_HTTP_TIMEOUT_MS 5000

static uint64_t relays_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- records ------------------------------------------------------------- */

static struct relays_pending *relays_pending_slot(struct relays *r)
{
	for (unsigned i = 0; i < RELAYS_PENDING_MAX; i++) {
		if (!r->pending[i].req)
			return &r->pending[i];
	}
	return NULL;
}

static void relays_put_done(void *arg, int status, const struct record *rec)
{
	struct relays_pending *pp = arg;

	(void)rec;
	pp->req = NULL;
	/* -EALREADY: the store has this one already (a retry); fine. */
	if (status < 0 && status != -EALREADY)
		log_warn("cannot publish this node's record: %s", strerror(-status));
}

void relays_publish_record(struct daemon *d, const uint8_t signer[32], const uint8_t *buf,
			   size_t len)
{
	struct relays *r = &d->relays;

	for (unsigned i = 0; i < r->nconns; i++) {
		struct relays_pending *pp;

		if (!r->conns[i].home || !(pp = relays_pending_slot(r)))
			continue;
		pp->d = d;
		pp->get = false;
		if (record_client_put(d->loop, r->conns[i].url, signer, buf, len,
				      RELAYS_HTTP_TIMEOUT_MS, relays_put_done, pp, &pp->req) < 0)
			pp->req = NULL;
	}
}

int relays_fetch_record(struct daemon *d, const uint8_t signer[32], record_request_cb cb, void *arg,
			struct record_request **out)
{
	struct relays *r = &d->relays;

	for (unsigned i = 0; i < r->nconns; i++) {
		if (r->conns[i].home)
			return record_client_get(d->loop, r->conns[i].url, signer,
						 RELAYS_HTTP_TIMEOUT_MS, cb, arg, out);
	}
	return -ENOENT;
}

/* The record: home relays, and the candidate addresses the session knows. */
static void relays_publish(struct daemon *d)
{
	struct relays *r = &d->relays;
	struct record rec = {.kind = RECORD_NODE};
	struct record_node *node = &rec.body.node;
	struct endpoint eps[RECORD_MAX_ADDRS];
	uint8_t buf[RECORD_MAX_LEN];
	size_t len, off = 0;
	unsigned n;
	int ret;

	memcpy(rec.signer, d->identity.sign_public, 32);
	rec.timestamp_ms = relays_wall_ms();
	rec.expires_ms = rec.timestamp_ms + RELAYS_RECORD_LIFE_MS;
	for (unsigned i = 0; i < r->nconns && node->relay_count < RECORD_MAX_RELAYS; i++) {
		if (r->conns[i].home)
			strcpy(node->relays[node->relay_count++], r->conns[i].url);
	}
	if (!node->relay_count)
		return;
	n = session_candidates(d->session, eps, RECORD_MAX_ADDRS);
	for (unsigned i = 0; i < n; i++)
		node->addrs[node->addr_count++] = eps[i];
	ret = record_sign(&rec, d->identity.sign_secret, buf, sizeof(buf), &len);
	if (ret < 0) {
		log_warn("cannot sign this node's record: %s", strerror(-ret));
		return;
	}
	r->published_ms = rec.timestamp_ms;
	for (unsigned i = 0; i < n; i++) {
		char t[ENDPOINT_TEXT_MAX];

		endpoint_format(&eps[i], t);
		off += (size_t)snprintf(r->published_addrs + off, sizeof(r->published_addrs) - off,
					"%s ", t);
		if (off >= sizeof(r->published_addrs))
			break;
	}
	relays_publish_record(d, d->identity.sign_public, buf, len);
}

/* Whether the addresses we would publish differ from the last record. */
static bool relays_addrs_changed(struct daemon *d)
{
	struct endpoint eps[RECORD_MAX_ADDRS];
	char now[sizeof(d->relays.published_addrs)];
	unsigned n = session_candidates(d->session, eps, RECORD_MAX_ADDRS);
	size_t off = 0;

	now[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		char t[ENDPOINT_TEXT_MAX];

		endpoint_format(&eps[i], t);
		off += (size_t)snprintf(now + off, sizeof(now) - off, "%s ", t);
		if (off >= sizeof(now))
			break;
	}
	return strcmp(now, d->relays.published_addrs) != 0;
}

static void relays_get_done(void *arg, int status, const struct record *rec)
{
	struct relays_pending *pp = arg;
	struct daemon *d = pp->d;
	char name[NODE_ID_TEXT_LEN + 1];
	struct peer *p;

	pp->req = NULL;
	keytext_format_node_id(pp->node_id, name);
	if (status < 0) {
		if (status != -ENOENT)
			log_warn("cannot look up %.10s: %s", name, strerror(-status));
		return;
	}
	p = session_peer_by_node_id(d->session, pp->node_id);
	if (!p || rec->kind != RECORD_NODE)
		return; /* removed meanwhile */
	for (unsigned i = 0; i < rec->body.node.relay_count; i++) {
		struct relay_client *rc = relays_get(d, rec->body.node.relays[i]);

		if (rc) {
			session_peer_set_relay(d->session, p, rc);
			break;
		}
	}
	for (unsigned i = 0; i < rec->body.node.addr_count; i++)
		session_peer_add_candidate(d->session, p, &rec->body.node.addrs[i]);
	log_info("%.10s: record found (%u relays, %u addresses)", name, rec->body.node.relay_count,
		 rec->body.node.addr_count);
}

void relays_resolve(struct daemon *d, const uint8_t node_id[32])
{
	struct relays *r = &d->relays;

	for (unsigned i = 0; i < r->nconns; i++) {
		struct relays_pending *pp;

		if (!r->conns[i].home)
			continue;
		for (unsigned j = 0; j < RELAYS_PENDING_MAX; j++) {
			if (r->pending[j].req && r->pending[j].get &&
			    memcmp(r->pending[j].node_id, node_id, 32) == 0)
				return; /* already asking */
		}
		pp = relays_pending_slot(r);
		if (!pp)
			return;
		pp->d = d;
		pp->get = true;
		memcpy(pp->node_id, node_id, 32);
		if (record_client_get(d->loop, r->conns[i].url, node_id, RELAYS_HTTP_TIMEOUT_MS,
				      relays_get_done, pp, &pp->req) < 0)
			pp->req = NULL;
		return; /* one home relay at a time is enough; the tick retries */
	}
}

/* ---- connections --------------------------------------------------------- */

static void relays_on_recv(void *arg, struct relay_client *rc, const uint8_t src[32],
			   uint8_t *payload, size_t len)
{
	struct daemon *d = arg;

	session_relay_input(d->session, rc, src, payload, len);
}

/* The relay says DST is not connected to it: stop sending there; the next
 * tick looks its record up again. */
static void relays_on_peer_gone(void *arg, struct relay_client *rc, const uint8_t dst[32])
{
	struct daemon *d = arg;
	struct peer *p = session_peer_by_node_id(d->session, dst);

	if (p && p->relay == rc)
		session_peer_set_relay(d->session, p, NULL);
}

/* Our public address changed (the NAT got a new one, or we moved): TCP
 * connections through the NAT are dead or soon will be, so reconnect now
 * rather than when a keep-alive notices. */
static void relays_on_stun(void *arg, int status, const struct endpoint *mapped, uint64_t rtt_ns)
{
	struct daemon *d = arg;
	struct relays *r = &d->relays;

	(void)rtt_ns;
	if (status < 0)
		return;
	if (endpoint_is_set(&r->reflexive) && !endpoint_equal(&r->reflexive, mapped)) {
		for (unsigned i = 0; i < r->nconns; i++)
			relay_client_reconnect(r->conns[i].rc);
	}
	r->reflexive = *mapped;
}

static void relays_stun(struct daemon *d, struct relay_client *rc)
{
	struct endpoint ep;

	if (relay_client_ready(rc) && relay_client_stun_endpoint(rc, &ep))
		session_stun_query(d->session, &ep, true, relays_on_stun, d);
}

static void relays_on_state(void *arg, struct relay_client *rc, bool ready)
{
	struct daemon *d = arg;
	struct relays *r = &d->relays;

	log_info("relay %s: %s", relay_client_url(rc), ready ? "connected" : "disconnected");
	if (!ready)
		return;
	for (unsigned i = 0; i < r->nconns; i++) {
		if (r->conns[i].rc == rc && r->conns[i].home) {
			relays_stun(d, rc);
			relays_publish(d);
		}
	}
}

struct relay_client *relays_get(struct daemon *d, const char *url)
{
	struct relay_client_callbacks cb = {
		.arg = d,
		.on_recv = relays_on_recv,
		.on_peer_gone = relays_on_peer_gone,
		.on_state = relays_on_state,
	};
	struct relays *r = &d->relays;
	struct relays_conn *c;

	for (unsigned i = 0; i < r->nconns; i++) {
		if (strcmp(r->conns[i].url, url) == 0)
			return r->conns[i].rc;
	}
	if (r->nconns == RELAYS_MAX || strlen(url) > RELAYS_URL_MAX)
		return NULL;
	c = &r->conns[r->nconns];
	if (relay_client_new(d->loop, url, d->identity.sign_secret, &cb, &c->rc) < 0)
		return NULL;
	strcpy(c->url, url);
	c->home = false;
	r->nconns++;
	return c->rc;
}

static void relays_tick(struct loop *loop, void *arg)
{
	struct daemon *d = arg;
	struct relays *r = &d->relays;

	r->timer = loop_timer_add(loop, RELAYS_TICK_MS, relays_tick, d);
	for (unsigned i = 0; i < r->nconns; i++) {
		if (r->conns[i].home)
			relays_stun(d, r->conns[i].rc);
	}
	if (relays_wall_ms() - r->published_ms > RELAYS_REPUBLISH_MS || relays_addrs_changed(d))
		relays_publish(d);
	/* Peers known by id whose relay we have not learned yet. */
	for (struct peer *p = session_peers(d->session); p; p = p->next) {
		if (p->has_node_id && !p->relay)
			relays_resolve(d, p->node_id);
	}
}

static void relays_on_portmap(void *arg, const struct portmap_result *res)
{
	struct daemon *d = arg;

	session_set_mapped(d->session, res->mapped ? &res->external : NULL);
}

int relays_start(struct daemon *d)
{
	struct relays *r = &d->relays;

	for (unsigned i = 0; i < d->settings.nrelays; i++) {
		struct relay_client *rc = relays_get(d, d->settings.relays[i]);

		if (!rc) {
			log_error("cannot use relay %s: not an http://HOST:PORT URL",
				  d->settings.relays[i]);
			return -EINVAL;
		}
		for (unsigned j = 0; j < r->nconns; j++) {
			if (r->conns[j].rc == rc)
				r->conns[j].home = true;
		}
	}
	if (!r->nconns)
		return 0;
	r->timer = loop_timer_add(d->loop, RELAYS_TICK_MS, relays_tick, d);
	/* Without it peers still meet through hole punching or the relay. */
	if (portmap_new(d->loop, session_port(d->session), relays_on_portmap, d, &r->portmap) < 0)
		log_warn("port mapping (UPnP, NAT-PMP) unavailable");
	return 0;
}

void relays_stop(struct daemon *d)
{
	struct relays *r = &d->relays;

	if (r->timer)
		loop_timer_cancel(d->loop, r->timer);
	r->timer = 0;
	if (d->session)
		session_stun_cancel(d->session, d);
	portmap_free(r->portmap);
	r->portmap = NULL;
	for (unsigned i = 0; i < RELAYS_PENDING_MAX; i++) {
		if (r->pending[i].req)
			record_client_cancel(r->pending[i].req);
		r->pending[i].req = NULL;
	}
	for (unsigned i = 0; i < r->nconns; i++) {
		if (d->session)
			session_relay_gone(d->session, r->conns[i].rc);
		relay_client_free(r->conns[i].rc);
	}
	r->nconns = 0;
}

json_t *relays_status(struct daemon *d)
{
	struct relays *r = &d->relays;
	json_t *list = json_array();

	for (unsigned i = 0; list && i < r->nconns; i++) {
		struct relay_client_stats st;

		relay_client_get_stats(r->conns[i].rc, &st);
		json_array_append_new(
			list, json_pack("{s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I}", "url",
					r->conns[i].url, "home", r->conns[i].home, "connected",
					relay_client_ready(r->conns[i].rc), "rtt_ms",
					(json_int_t)st.rtt_ms, "tx_bytes", (json_int_t)st.tx_bytes,
					"rx_bytes", (json_int_t)st.rx_bytes, "connects",
					(json_int_t)st.connects, "drops",
					(json_int_t)(st.drop_queue_full + st.drop_not_ready)));
	}
	return list;
}
