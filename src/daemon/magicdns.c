/* Magic DNS in the daemon: see daemon/magicdns.h. */
#include "daemon/magicdns.h"
#include "crypto/address.h"
#include "daemon/daemon.h"
#include "daemon/networks.h"
#include "dns/forward.h"
#include "dns/ratelimit.h"
#include "dns/resolver.h"
#include "dns/tcp_responder.h"
#include "os/dns_system.h"
#include "session/ippacket.h"
#include "session/session.h"
#include "util/eventloop.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAGICDNS_PORT	      53
#define MAGICDNS_SEARCH_MAX   NETWORKS_MAX
#define MAGICDNS_UPSTREAM_MAX 8
#define MAGICDNS_RATE	      200 /* queries per second per source */
#define MAGICDNS_BURST	      400
#define MAGICDNS_IP_UDP_MAX   48 /* IPv6 and UDP headers */
#define MAGICDNS_RESOLV_CONF  "/etc/resolv.conf"
#define MAGICDNS_WATCH_MS     200 /* a rewrite comes in steps: look once it settled */

/* Who asked: where its answer goes (copied into a forwarded query). */
struct magicdns_client {
	struct ip_addr addr;
	uint16_t port;	     /* over UDP */
	uint16_t max_answer; /* its UDP size within our MTU, or 65535 over TCP */
	uint64_t tcp_id;     /* its TCP connection; 0 over UDP */
};

struct magicdns_stats {
	uint64_t queries, answered, forwarded, refused, servfail, rate_limited, dropped;
	uint64_t tcp_queries;
};

struct magicdns {
	struct daemon *d;
	struct dns_table *table;
	struct dns_forward *forward;
	struct dns_tcp *tcp;
	struct dns_ratelimit limit;
	struct dns_system_config sys;
	enum dns_system_mode mode;		  /* detected at start */
	bool applied;				  /* the host's resolver points at us */
	char sys_error[256];			  /* why applying failed, "" if it did not */
	char search[MAGICDNS_SEARCH_MAX][64 + 4]; /* "ALIAS.ray" */
	unsigned nsearch;
	char state_dir[PATH_MAX];
	char resolv_conf[PATH_MAX];
	struct sockaddr_storage upstreams[MAGICDNS_UPSTREAM_MAX];
	unsigned nupstreams;
	struct magicdns_stats stats;
	int watch_fd;	      /* inotify on resolv.conf, -1 when not watching */
	uint64_t watch_timer; /* a change seen, looked at shortly */
	unsigned reasserted;  /* times someone replaced our resolv.conf */
	size_t mtu;
	/* one answer at a time: room for the IP and UDP headers in front */
	uint8_t buf[MAGICDNS_IP_UDP_MAX + 65535];
};

static struct magicdns *magicdns_of(struct daemon *d)
{
	return d->dns;
}

/* Sends ANSWER (LEN bytes, anywhere, M->buf included) from our service
 * address to CLIENT through the TUN. */
static void magicdns_send(struct magicdns *m, const struct ip_addr *client, uint16_t port,
			  const uint8_t *answer, size_t len)
{
	struct ippacket_udp u = {
		.dst = *client,
		.sport = MAGICDNS_PORT,
		.dport = port,
		.payload = answer,
		.payload_len = len,
	};
	int n;

	u.src.family = client->family;
	if (client->family == AF_INET) {
		uint32_t a = htonl(ADDRESS_DNS_IPV4);

		memcpy(u.src.bytes, &a, 4);
	} else {
		memcpy(u.src.bytes, &address_dns_ipv6, 16);
	}
	n = ippacket_udp_build(&u, m->buf, sizeof(m->buf));
	if (n < 0 || session_tun_write(m->d->session, m->buf, (size_t)n) < 0)
		m->stats.dropped++;
}

/* ANSWER to C, over its transport. */
static void magicdns_reply(struct magicdns *m, const struct magicdns_client *c,
			   const uint8_t *answer, size_t len)
{
	if (!c->tcp_id) {
		magicdns_send(m, &c->addr, c->port, answer, len);
		return;
	}
	/* -ENOENT: the client closed or reset the connection meanwhile */
	if (dns_tcp_answer(m->tcp, c->tcp_id, answer, len, loop_now_ns()) < 0)
		m->stats.dropped++;
}

/* A query of C we do not answer. Over UDP silence; over TCP the client
 * would wait for it on the connection, so reset that. */
static void magicdns_drop(struct magicdns *m, const struct magicdns_client *c)
{
	if (c->tcp_id)
		dns_tcp_abort(m->tcp, c->tcp_id);
}

/* An answer without records to QUERY, with RCODE. */
static void magicdns_reply_empty(struct magicdns *m, const struct magicdns_client *c,
				 const uint8_t *query, size_t len, int rcode)
{
	uint8_t *out = m->buf + MAGICDNS_IP_UDP_MAX;
	int n = query ? dns_error_reply(query, len, rcode, out, c->max_answer) : -EBADMSG;

	if (n < DNS_HEADER_LEN) {
		m->stats.dropped++;
		magicdns_drop(m, c);
		return;
	}
	magicdns_reply(m, c, out, (size_t)n);
}

static void magicdns_forwarded(void *arg, const void *client, size_t client_len, int status,
			       const uint8_t *answer, size_t len)
{
	struct magicdns *m = arg;
	struct magicdns_client c;

	if (client_len != sizeof(c))
		return;
	memcpy(&c, client, sizeof(c)); /* the blob is bytes: no alignment */
	if (status < 0) {
		/* ANSWER is the client's own query then */
		m->stats.servfail++;
		magicdns_reply_empty(m, &c, answer, len, DNS_RCODE_SERVFAIL);
		return;
	}
	/* the forwarder cut it to the client's size already */
	magicdns_reply(m, &c, answer, len);
}

static void magicdns_forward(struct magicdns *m, struct magicdns_client *c, const uint8_t *query,
			     size_t len)
{
	int ret;

	if (!c->tcp_id) {
		size_t max = dns_query_udp_size(query, len);

		if (max > m->mtu - MAGICDNS_IP_UDP_MAX)
			max = m->mtu - MAGICDNS_IP_UDP_MAX;
		c->max_answer = (uint16_t)max;
	}
	ret = dns_forward_query(m->forward, query, len, c->max_answer, c, sizeof(*c));
	if (ret < 0) {
		m->stats.servfail++;
		magicdns_reply_empty(m, c, query, len, DNS_RCODE_SERVFAIL);
		return;
	}
	m->stats.forwarded++;
}

/* QUERY (LEN bytes) from C, over UDP or TCP: answered from our names,
 * refused, or forwarded; rate-limited per source address either way. */
static void magicdns_query(struct magicdns *m, struct magicdns_client *c, const uint8_t *query,
			   size_t len)
{
	uint8_t key[16];
	int n;

	m->stats.queries++;
	memset(key, 0, sizeof(key));
	if (c->addr.family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, c->addr.bytes, 4);
	} else {
		memcpy(key, c->addr.bytes, 16);
	}
	if (!dns_ratelimit_allow(&m->limit, key, loop_now_ns())) {
		m->stats.rate_limited++;
		magicdns_drop(m, c);
		return;
	}
	/* Our own names never carry EDNS: 512 bytes is their limit over
	 * UDP; over TCP the message's. */
	n = dns_answer(m->table, query, len, m->buf + MAGICDNS_IP_UDP_MAX,
		       c->tcp_id ? DNS_TCP_MSG_MAX : DNS_UDP_MAX);
	if (n > 0) {
		m->stats.answered++;
		magicdns_reply(m, c, m->buf + MAGICDNS_IP_UDP_MAX, (size_t)n);
	} else if (n == 0 && m->applied && m->mode == DNS_SYSTEM_RESOLV_CONF) {
		m->stats.refused++;
		magicdns_reply_empty(m, c, query, len, DNS_RCODE_REFUSED);
	} else if (n == 0) {
		magicdns_forward(m, c, query, len);
	} else {
		m->stats.dropped++;
		magicdns_drop(m, c);
	}
}

/* A whole query on a TCP connection. */
static void magicdns_tcp_query(void *arg, uint64_t id, const struct ip_addr *client,
			       const uint8_t *msg, size_t len)
{
	struct magicdns *m = arg;
	struct magicdns_client c = {.addr = *client, .max_answer = DNS_TCP_MSG_MAX, .tcp_id = id};

	m->stats.tcp_queries++;
	magicdns_query(m, &c, msg, len);
}

static int magicdns_tcp_send(void *arg, const uint8_t *pkt, size_t len)
{
	struct magicdns *m = arg;

	return session_tun_write(m->d->session, pkt, len);
}

/* A packet from the TUN to 100.100.100.53 or fd72:6179::53. */
static void magicdns_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct magicdns *m = arg;
	struct magicdns_client c = {.max_answer = DNS_UDP_MAX};
	struct ippacket_udp u;

	if (ippacket_udp_parse(pkt, len, &u) < 0) {
		/* TCP, or nothing we answer */
		if (dns_tcp_input(m->tcp, pkt, len, loop_now_ns()) < 0)
			m->stats.dropped++;
		return;
	}
	if (u.dport != MAGICDNS_PORT) {
		m->stats.dropped++;
		return;
	}
	c.addr = u.src;
	c.port = u.sport;
	magicdns_query(m, &c, u.payload, u.payload_len);
}

/* The host's resolvers, as they were before we configured anything. */
static void magicdns_read_upstreams(struct magicdns *m)
{
	m->nupstreams = dns_system_upstreams(&m->sys, m->mode, m->upstreams, MAGICDNS_UPSTREAM_MAX);
	if (dns_forward_set_upstreams(m->forward, m->upstreams, m->nupstreams) < 0)
		log_warn("magic dns: cannot use the host's resolvers for other names");
}

static void magicdns_apply(struct magicdns *m)
{
	const char *search[MAGICDNS_SEARCH_MAX];
	char err[256];

	for (unsigned i = 0; i < m->nsearch; i++)
		search[i] = m->search[i];
	if (dns_system_apply(&m->sys, m->mode, search, m->nsearch, err, sizeof(err)) < 0) {
		if (strcmp(err, m->sys_error) != 0)
			log_warn("magic dns: cannot configure the system resolver (%s): %s",
				 dns_system_mode_name(m->mode), err);
		snprintf(m->sys_error, sizeof(m->sys_error), "%s", err);
		return;
	}
	if (!m->applied)
		log_info("magic dns: system resolver uses 100.100.100.53 for .ray (%s)",
			 dns_system_mode_name(m->mode));
	m->applied = true;
	m->sys_error[0] = '\0';
}

static void magicdns_revert(struct magicdns *m)
{
	char err[256];

	if (!m->applied)
		return;
	if (dns_system_revert(&m->sys, m->mode, err, sizeof(err)) < 0) {
		log_warn("magic dns: cannot restore the system resolver: %s (the next start "
			 "tries again)",
			 err);
		snprintf(m->sys_error, sizeof(m->sys_error), "%s", err);
	} else {
		log_info("magic dns: system resolver restored");
	}
	m->applied = false;
}

/* Someone (a DHCP client, NetworkManager, an admin) rewrote resolv.conf
 * while we were up: take theirs as the user's file and put us first again,
 * with its servers as our upstreams. */
static void magicdns_watch_settled(struct loop *loop, void *arg)
{
	struct magicdns *m = arg;

	(void)loop;
	m->watch_timer = 0;
	if (!m->applied || dns_system_applied(&m->sys, m->mode))
		return; /* our own write, or we are down */
	log_info("magic dns: %s was rewritten by someone else: adding 100.100.100.53 to it "
		 "again",
		 m->resolv_conf);
	m->reasserted++;
	m->applied = false;
	magicdns_apply(m);
	magicdns_read_upstreams(m);
}

static void magicdns_watch_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct magicdns *m = arg;

	(void)events;
	if (dns_system_watch_changed(&m->sys, fd) && !m->watch_timer)
		m->watch_timer = loop_timer_add(loop, MAGICDNS_WATCH_MS, magicdns_watch_settled, m);
}

void magicdns_set_active(struct daemon *d, bool up)
{
	struct magicdns *m = magicdns_of(d);

	if (!m || m->mode == DNS_SYSTEM_OFF)
		return;
	if (up) {
		magicdns_apply(m);
		magicdns_read_upstreams(m); /* the file may have changed while we were down */
	} else
		magicdns_revert(m);
}

/* Whether the search domains changed, after copying the new ones in. */
static bool magicdns_take_search(struct magicdns *m)
{
	const char *aliases[MAGICDNS_SEARCH_MAX];
	unsigned n = networks_dns_aliases(m->d, aliases, MAGICDNS_SEARCH_MAX);
	bool changed = n != m->nsearch;

	for (unsigned i = 0; i < n; i++) {
		char name[sizeof(m->search[0])];

		snprintf(name, sizeof(name), "%s.ray", aliases[i]);
		if (strcmp(name, m->search[i]) != 0)
			changed = true;
		memcpy(m->search[i], name, sizeof(name));
	}
	m->nsearch = n;
	return changed;
}

void magicdns_update(struct daemon *d)
{
	struct magicdns *m = magicdns_of(d);
	struct dns_table *t;

	if (!m)
		return;
	t = dns_table_new();
	if (!t) {
		log_warn("magic dns: out of memory; names keep their previous answers");
		return;
	}
	networks_dns_entries(d, t);
	dns_table_free(m->table);
	m->table = t;
	if (magicdns_take_search(m) && m->applied)
		magicdns_apply(m);
}

int magicdns_start(struct daemon *d)
{
	struct magicdns *m = calloc(1, sizeof(*m));
	char err[256];
	int ret = -ENOMEM;

	if (!m)
		goto fail;
	m->d = d;
	m->mtu = d->options.mtu;
	snprintf(m->state_dir, sizeof(m->state_dir), "%s", d->options.state_dir);
	snprintf(m->resolv_conf, sizeof(m->resolv_conf), "%s", MAGICDNS_RESOLV_CONF);
	m->sys.state_dir = m->state_dir;
	m->sys.resolv_conf = m->resolv_conf;
	m->sys.tun_name = session_tun_name(d->session);
	m->table = dns_table_new();
	m->forward = dns_forward_new(d->loop, magicdns_forwarded, m);
	m->tcp = dns_tcp_new(m->mtu, MAGICDNS_PORT, DNS_TCP_CONNS, magicdns_tcp_send,
			     magicdns_tcp_query, m);
	if (!m->table || !m->forward || !m->tcp)
		goto fail;
	dns_ratelimit_init(&m->limit, MAGICDNS_RATE, MAGICDNS_BURST);
	m->mode = d->settings.dns_system ? dns_system_detect(&m->sys) : DNS_SYSTEM_OFF;
	/* A crash while up left the host pointing at us: put it back first,
	 * so the upstreams read next are the user's. */
	if (dns_system_repair(&m->sys, err, sizeof(err)) < 0)
		log_warn("magic dns: cannot repair the system resolver: %s", err);
	magicdns_read_upstreams(m);
	m->watch_fd = -1;
	if (m->mode == DNS_SYSTEM_RESOLV_CONF) {
		m->watch_fd = dns_system_watch_open(&m->sys);
		if (m->watch_fd < 0 ||
		    loop_fd_add(d->loop, m->watch_fd, EPOLLIN, magicdns_watch_readable, m) < 0) {
			log_warn("magic dns: cannot watch %s (%s): a rewrite of it goes unnoticed",
				 m->resolv_conf, strerror(m->watch_fd < 0 ? -m->watch_fd : errno));
			if (m->watch_fd >= 0)
				close(m->watch_fd);
			m->watch_fd = -1;
		}
	}
	d->dns = m;
	session_set_service_handler(d->session, magicdns_packet, m);
	magicdns_update(d);
	return 0;
fail:
	log_error("magic dns: cannot start: %s", strerror(-ret));
	if (m) {
		dns_tcp_free(m->tcp);
		dns_forward_free(m->forward);
		dns_table_free(m->table);
		free(m);
	}
	return ret;
}

void magicdns_stop(struct daemon *d)
{
	struct magicdns *m = magicdns_of(d);

	if (!m)
		return;
	session_set_service_handler(d->session, NULL, NULL);
	if (m->watch_timer)
		loop_timer_cancel(d->loop, m->watch_timer);
	if (m->watch_fd >= 0) {
		loop_fd_remove(d->loop, m->watch_fd);
		close(m->watch_fd);
	}
	magicdns_revert(m);
	dns_tcp_free(m->tcp);
	dns_forward_free(m->forward);
	dns_table_free(m->table);
	free(m);
	d->dns = NULL;
}

json_t *magicdns_status(struct daemon *d)
{
	struct magicdns *m = magicdns_of(d);
	json_t *ups, *search, *o;

	if (!m)
		return json_null();
	ups = json_array();
	search = json_array();
	for (unsigned i = 0; i < m->nupstreams; i++) {
		char host[INET6_ADDRSTRLEN] = "";
		const struct sockaddr_storage *ss = &m->upstreams[i];

		if (ss->ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host,
				  sizeof(host));
		else
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host,
				  sizeof(host));
		json_array_append_new(ups, json_string(host));
	}
	for (unsigned i = 0; i < m->nsearch; i++)
		json_array_append_new(search, json_string(m->search[i]));
	o = json_pack("{s:s, s:b, s:i, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "mode",
		      dns_system_mode_name(m->mode), "system_configured", m->applied,
		      "system_reasserted", (int)m->reasserted, "upstreams", ups, "search", search,
		      "names", (json_int_t)dns_table_count(m->table), "queries",
		      (json_int_t)m->stats.queries, "answered", (json_int_t)m->stats.answered,
		      "forwarded", (json_int_t)m->stats.forwarded, "refused",
		      (json_int_t)m->stats.refused, "servfail", (json_int_t)m->stats.servfail,
		      "rate_limited", (json_int_t)m->stats.rate_limited, "dropped",
		      (json_int_t)m->stats.dropped);
	if (o) {
		struct dns_forward_stats fs;
		struct dns_tcp_stats ts;

		dns_forward_get_stats(m->forward, &fs);
		json_object_set_new(o, "forward_tcp", json_integer((json_int_t)fs.tcp));
		json_object_set_new(o, "forward_timeouts", json_integer((json_int_t)fs.timeouts));
		dns_tcp_get_stats(m->tcp, loop_now_ns(), &ts);
		json_object_set_new(o, "tcp_connections", json_integer((json_int_t)ts.connections));
		json_object_set_new(o, "tcp_open", json_integer((json_int_t)ts.open));
		json_object_set_new(o, "tcp_queries",
				    json_integer((json_int_t)m->stats.tcp_queries));
		json_object_set_new(o, "tcp_resets", json_integer((json_int_t)ts.resets));
	}
	if (o && m->sys_error[0])
		json_object_set_new(o, "error", json_string(m->sys_error));
	return o;
}
