#include "daemon/netcheck.h"
#include "daemon/daemon.h"
#include "daemon/ipc_server.h"
#include "path/portmap.h"
#include "path/relay_client.h"
#include "session/session.h"
#include "util/eventloop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Each STUN request goes out twice (a lost datagram should not read as "no
 * UDP"): now and after this long. */
#define NETCHECK_RESEND_MS 500
#define NETCHECK_PROBES	   (RELAYS_MAX * 2)

struct netcheck_probe {
	struct netcheck *nc;
	unsigned conn;		/* index in d->relays.conns */
	struct endpoint server; /* the relay's STUN port, or the port after it */
	bool answered;
	struct endpoint mapped;
	uint64_t rtt_ns;
};

struct netcheck {
	struct daemon *d;
	struct ipc_request *req;
	uint64_t timer, resend_timer;
	unsigned n;
	struct netcheck_probe probes[NETCHECK_PROBES];
};

static void netcheck_answer(void *arg, int status, const struct endpoint *mapped, uint64_t rtt_ns)
{
	struct netcheck_probe *pr = arg;

	if (status < 0 || pr->answered)
		return;
	pr->answered = true;
	pr->mapped = *mapped;
	pr->rtt_ns = rtt_ns;
}

static void netcheck_send(struct netcheck *nc)
{
	for (unsigned i = 0; i < nc->n; i++) {
		if (!nc->probes[i].answered)
			session_stun_query(nc->d->session, &nc->probes[i].server, false,
					   netcheck_answer, &nc->probes[i]);
	}
}

static void netcheck_resend(struct loop *loop, void *arg)
{
	struct netcheck *nc = arg;

	(void)loop;
	nc->resend_timer = 0;
	netcheck_send(nc);
}

static json_t *endpoint_json(const struct endpoint *ep)
{
	char text[ENDPOINT_TEXT_MAX];

	endpoint_format(ep, text);
	return json_string(text);
}

static json_t *netcheck_report(struct netcheck *nc)
{
	struct relays *r = &nc->d->relays;
	json_t *out = json_object(), *addrs = json_array(), *relays = json_array();
	const char *preferred = NULL;
	uint64_t best = UINT64_MAX;
	bool udp = false, varies = false;
	unsigned answered = 0;
	const struct endpoint *first = NULL;

	for (unsigned i = 0; i < nc->n; i++) {
		struct netcheck_probe *pr = &nc->probes[i];
		bool seen = false;
		size_t k;
		json_t *v;

		if (!pr->answered)
			continue;
		udp = true;
		answered++;
		if (!first)
			first = &pr->mapped;
		else if (!endpoint_equal(first, &pr->mapped))
			varies = true;
		json_array_foreach(addrs, k, v)
		{
			json_t *t = endpoint_json(&pr->mapped);

			seen |= json_equal(v, t);
			json_decref(t);
		}
		if (!seen)
			json_array_append_new(addrs, endpoint_json(&pr->mapped));
	}
	for (unsigned c = 0; c < r->nconns; c++) {
		struct relay_client_stats st;
		struct netcheck_probe *main = NULL;
		json_t *o;

		relay_client_get_stats(r->conns[c].rc, &st);
		for (unsigned i = 0; i < nc->n && !main; i++) {
			if (nc->probes[i].conn == c && nc->probes[i].answered)
				main = &nc->probes[i];
		}
		o = json_pack("{s:s, s:b, s:b}", "url", r->conns[c].url, "home", r->conns[c].home,
			      "connected", relay_client_ready(r->conns[c].rc));
		json_object_set_new(o, "stun_latency_ms",
				    main ? json_real((double)main->rtt_ns / 1e6) : json_null());
		json_object_set_new(o, "public_endpoint",
				    main ? endpoint_json(&main->mapped) : json_null());
		json_object_set_new(o, "tcp_rtt_ms",
				    st.rtt_ms ? json_integer((json_int_t)st.rtt_ms) : json_null());
		json_array_append_new(relays, o);
		if (r->conns[c].home && main && main->rtt_ns < best) {
			best = main->rtt_ns;
			preferred = r->conns[c].url;
		}
	}
	json_object_set_new(out, "udp", json_boolean(udp));
	json_object_set_new(out, "public_addresses", addrs);
	/* Two answers from different destinations are needed to tell. */
	json_object_set_new(out, "mapping_varies_by_destination",
			    answered >= 2 ? json_boolean(varies) : json_null());
	{
		struct portmap_result pm;

		if (r->portmap && portmap_get(r->portmap, &pm))
			json_object_set_new(
				out, "port_mapping",
				json_pack("{s:b, s:b, s:o}", "upnp", pm.upnp, "nat_pmp", pm.natpmp,
					  "external",
					  pm.mapped ? endpoint_json(&pm.external) : json_null()));
		else
			json_object_set_new(out, "port_mapping", json_null());
	}
	json_object_set_new(out, "relays", relays);
	json_object_set_new(out, "preferred_relay",
			    preferred ? json_string(preferred) : json_null());
	return out;
}

static void netcheck_finish(struct netcheck *nc, json_t *response)
{
	struct daemon *d = nc->d;

	for (unsigned i = 0; i < nc->n; i++)
		session_stun_cancel(d->session, &nc->probes[i]);
	if (nc->timer)
		loop_timer_cancel(d->loop, nc->timer);
	if (nc->resend_timer)
		loop_timer_cancel(d->loop, nc->resend_timer);
	ipc_request_reply(nc->req, response);
	d->netcheck = NULL;
	free(nc);
}

static void netcheck_done(struct loop *loop, void *arg)
{
	struct netcheck *nc = arg;

	(void)loop;
	nc->timer = 0;
	netcheck_finish(nc, ipc_response_ok(netcheck_report(nc)));
}

json_t *netcheck_start(struct daemon *d, struct ipc_request *req, json_t *args)
{
	struct relays *r = &d->relays;
	struct netcheck *nc;

	(void)args;
	if (d->netcheck)
		return ipc_response_error("a netcheck is already running; try again in a moment");
	nc = calloc(1, sizeof(*nc));
	if (!nc)
		return ipc_response_error("out of memory");
	nc->d = d;
	nc->req = req;
	for (unsigned c = 0; c < r->nconns && nc->n + 2 <= NETCHECK_PROBES; c++) {
		struct endpoint ep;

		if (!relay_client_stun_endpoint(r->conns[c].rc, &ep))
			continue;
		for (unsigned k = 0; k < 2 && ntohs(ep.sin6.sin6_port) + k <= 65535; k++) {
			struct netcheck_probe *pr = &nc->probes[nc->n++];

			pr->nc = nc;
			pr->conn = c;
			pr->server = ep;
			pr->server.sin6.sin6_port = htons((uint16_t)(ntohs(ep.sin6.sin6_port) + k));
		}
	}
	netcheck_send(nc);
	nc->resend_timer = loop_timer_add(d->loop, NETCHECK_RESEND_MS, netcheck_resend, nc);
	nc->timer = loop_timer_add(d->loop, NETCHECK_TIMEOUT_MS, netcheck_done, nc);
	d->netcheck = nc;
	return IPC_DEFERRED;
}

void netcheck_stop(struct daemon *d)
{
	if (d->netcheck)
		netcheck_finish(d->netcheck, ipc_response_error("the daemon is shutting down"));
}
