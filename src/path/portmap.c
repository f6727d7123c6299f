#include "path/portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <natpmp.h>

#include "util/eventloop.h"
#include "util/log.h"

/* NAT-PMP: libnatpmp resends at 250, 750, 1750 ms...; wait this long for an
 * answer to one request (an ICMP port unreachable ends it at once). */
#define PORTMAP_NATPMP_WAIT_MS	 2000
#define PORTMAP_NATPMP_DELETE_MS 1000
/* UPnP: one SSDP search (all types at once), answers collected this long. */
#define PORTMAP_UPNP_DISCOVER_MS 1000
#define PORTMAP_RENEW_MIN_S	 30
#define PORTMAP_DESCRIPTION	 "rayfish"

/* UPnP error codes (UPnP IGD WANIPConnection). */
#define PORTMAP_UPNP_CONFLICT  718 /* ConflictInMappingEntry */
#define PORTMAP_UPNP_PERMANENT 725 /* OnlyPermanentLeasesSupported */

enum { PORTMAP_CMD_REFRESH = 1, PORTMAP_CMD_QUIT = 2 };
enum portmap_method { PORTMAP_NONE, PORTMAP_NATPMP, PORTMAP_UPNP };

/* What a probe or a renewal found, as the worker hands it to the loop. */
struct portmap_report {
	struct portmap_result r;
	const char *why; /* when not mapped: why not (a static string) */
};

/* The worker thread's own state; nothing else touches it while the worker
 * runs. It owns the libraries' state. */
struct portmap_worker {
	enum portmap_method method; /* of the mapping that exists now */
	uint16_t ext_port;	    /* granted for it */
	struct endpoint external;   /* its external address:port */
	natpmp_t nat;
	bool nat_open;
	struct UPNPUrls urls;
	struct IGDdatas igd;
	bool igd_open;
	char lanaddr[64]; /* our address towards the IGD */
	struct portmap_report rep;
	uint64_t next_ms; /* monotonic: when to renew, or to probe again */
};

struct portmap {
	/* Set by portmap_new; read-only after. */
	struct loop *loop;
	uint16_t port;
	portmap_fn cb;
	void *arg;
	int wake_worker; /* eventfd: the loop wakes the worker (a command) */
	int wake_loop;	 /* eventfd: the worker wakes the loop (a report) */
	pthread_t thread;

	pthread_mutex_t lock; /* guards cmd and pending */
	unsigned cmd;	      /* PORTMAP_CMD_* bits */
	struct portmap_report pending;
	bool has_pending;

	/* The loop's side. */
	struct portmap_result last;
	bool has_last;

	struct portmap_worker w;
};

/* ---- Shared: commands and reports, under the lock. */

static void portmap_command(struct portmap *pm, unsigned cmd)
{
	uint64_t one = 1;

	pthread_mutex_lock(&pm->lock);
	pm->cmd |= cmd;
	pthread_mutex_unlock(&pm->lock);
	/* Only fails when the counter would overflow: then it is nonzero anyway. */
	if (write(pm->wake_worker, &one, sizeof(one)) < 0)
		return;
}

/* The commands given since the last call; QUIT stays set. */
static unsigned portmap_take_commands(struct portmap *pm)
{
	unsigned cmd;

	pthread_mutex_lock(&pm->lock);
	cmd = pm->cmd;
	pm->cmd &= PORTMAP_CMD_QUIT;
	pthread_mutex_unlock(&pm->lock);
	return cmd;
}

static bool portmap_quitting(struct portmap *pm)
{
	bool quit;

	pthread_mutex_lock(&pm->lock);
	quit = pm->cmd & PORTMAP_CMD_QUIT;
	pthread_mutex_unlock(&pm->lock);
	return quit;
}

static void portmap_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing to drain */
}

/* ---- The worker: NAT-PMP. */

static void portmap_report_unmapped(struct portmap_report *rep, const char *why)
{
	rep->r.mapped = false;
	memset(&rep->r.external, 0, sizeof(rep->r.external));
	rep->r.lifetime_s = 0;
	rep->r.method = NULL;
	rep->why = why;
}

static void portmap_report_mapped(struct portmap_report *rep, const char *method,
				  struct in_addr addr, uint16_t port, uint32_t lifetime_s)
{
	struct sockaddr_in6 *s6 = &rep->r.external.sin6;

	memset(s6, 0, sizeof(*s6));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	s6->sin6_addr.s6_addr[10] = 0xff;
	s6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6->sin6_addr.s6_addr[12], &addr, 4);
	rep->r.mapped = true;
	rep->r.lifetime_s = lifetime_s;
	rep->r.method = method;
	rep->why = NULL;
}

static void portmap_natpmp_close(struct portmap_worker *w)
{
	if (!w->nat_open)
		return;
	closenatpmp(&w->nat);
	w->nat_open = false;
}

/* A socket towards the default gateway. 0 or a NATPMP_ERR_* code. */
static int portmap_natpmp_open(struct portmap_worker *w)
{
	int r;

	portmap_natpmp_close(w);
	w->nat.s = -1;
	r = initnatpmp(&w->nat, 0, 0);
	if (r < 0) {
		/* libnatpmp leaves its socket open when it fails after socket(). */
		if (w->nat.s >= 0)
			close(w->nat.s);
		return r;
	}
	if (fcntl(w->nat.s, F_SETFD, FD_CLOEXEC) < 0) {
		closenatpmp(&w->nat);
		return NATPMP_ERR_FCNTLERROR;
	}
	w->nat_open = true;
	return 0;
}

/* Whether R, from readnatpmpresponseorretry, came from the gateway (a
 * success, or an error code the gateway sent). */
static bool portmap_natpmp_answered(int r)
{
	switch (r) {
	case 0:
	case NATPMP_ERR_UNSUPPORTEDVERSION:
	case NATPMP_ERR_UNSUPPORTEDOPCODE:
	case NATPMP_ERR_UNDEFINEDERROR:
	case NATPMP_ERR_NOTAUTHORIZED:
	case NATPMP_ERR_NETWORKFAILURE:
	case NATPMP_ERR_OUTOFRESOURCES:
		return true;
	default:
		return false;
	}
}

static int portmap_natpmp_send(struct portmap *pm, bool map, uint16_t ext_port, uint32_t lifetime_s)
{
	if (map)
		return sendnewportmappingrequest(&pm->w.nat, NATPMP_PROTOCOL_UDP, pm->port,
						 ext_port, lifetime_s);
	return sendpublicaddressrequest(&pm->w.nat);
}

/* Send a request (a UDP mapping if MAP, else the public address) and wait at
 * most WAIT_MS for its answer, resent on libnatpmp's schedule; with
 * INTERRUPTIBLE, portmap_free ends the wait. 0 and *RESP, or a NATPMP_ERR_*
 * code (NATPMP_ERR_NOGATEWAYSUPPORT on timeout). */
static int portmap_natpmp_ask(struct portmap *pm, bool map, uint16_t ext_port, uint32_t lifetime_s,
			      uint64_t wait_ms, bool interruptible, natpmpresp_t *resp)
{
	uint16_t want = map ? NATPMP_RESPTYPE_UDPPORTMAPPING : NATPMP_RESPTYPE_PUBLICADDRESS;
	uint64_t deadline = loop_now_ms() + wait_ms;
	int r;

	r = portmap_natpmp_send(pm, map, ext_port, lifetime_s);
	if (r < 0)
		return r;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = pm->w.nat.s, .events = POLLIN},
					{.fd = pm->wake_worker, .events = POLLIN}};
		uint64_t now = loop_now_ms();
		int64_t timeout_ms;
		struct timeval tv;

		if (now >= deadline)
			return NATPMP_ERR_NOGATEWAYSUPPORT;
		timeout_ms = (int64_t)(deadline - now);
		if (getnatpmprequesttimeout(&pm->w.nat, &tv) == 0) {
			int64_t retry_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;

			if (retry_ms < 0)
				retry_ms = 0;
			if (retry_ms < timeout_ms)
				timeout_ms = retry_ms;
		}
		if (poll(pfd, interruptible ? 2 : 1, (int)timeout_ms) < 0 && errno != EINTR)
			return NATPMP_ERR_RECVFROM;
		if (interruptible && (pfd[1].revents & POLLIN)) {
			portmap_drain(pm->wake_worker);
			if (portmap_quitting(pm))
				return NATPMP_ERR_NOGATEWAYSUPPORT;
		}
		r = readnatpmpresponseorretry(&pm->w.nat, resp);
		if (r == NATPMP_TRYAGAIN)
			continue;
		if (r == 0 && resp->type != want) {
			/* A late answer to an earlier request: ask again. */
			r = portmap_natpmp_send(pm, map, ext_port, lifetime_s);
			if (r < 0)
				return r;
			continue;
		}
		return r;
	}
}

/* Ask the gateway for its public address and to map our port to EXT_PORT
 * (a hint). Fills the report; true if mapped. */
static bool portmap_natpmp_map(struct portmap *pm, uint16_t ext_port)
{
	struct portmap_worker *w = &pm->w;
	struct portmap_report *rep = &w->rep;
	struct in_addr public_addr;
	natpmpresp_t resp;
	int r;

	r = portmap_natpmp_ask(pm, false, 0, 0, PORTMAP_NATPMP_WAIT_MS, true, &resp);
	if (!portmap_natpmp_answered(r)) {
		portmap_report_unmapped(rep, "no NAT-PMP answer");
		return false;
	}
	rep->r.natpmp = true;
	public_addr = resp.pnu.publicaddress.addr;
	if (r < 0 || public_addr.s_addr == htonl(INADDR_ANY)) {
		portmap_report_unmapped(rep, "the NAT-PMP gateway has no public address");
		return false;
	}
	r = portmap_natpmp_ask(pm, true, ext_port, PORTMAP_LIFETIME_S, PORTMAP_NATPMP_WAIT_MS, true,
			       &resp);
	if (r < 0) {
		portmap_report_unmapped(rep, portmap_natpmp_answered(r)
						     ? "the NAT-PMP gateway refused the mapping"
						     : "no NAT-PMP answer to the mapping request");
		return false;
	}
	if (resp.pnu.newportmapping.privateport != pm->port ||
	    resp.pnu.newportmapping.mappedpublicport == 0 ||
	    resp.pnu.newportmapping.lifetime == 0) {
		portmap_report_unmapped(rep, "a malformed NAT-PMP mapping answer");
		return false;
	}
	w->method = PORTMAP_NATPMP;
	w->ext_port = resp.pnu.newportmapping.mappedpublicport;
	portmap_report_mapped(rep, "nat-pmp", public_addr, w->ext_port,
			      resp.pnu.newportmapping.lifetime);
	w->external = rep->r.external;
	return true;
}

static void portmap_natpmp_probe(struct portmap *pm)
{
	if (portmap_natpmp_open(&pm->w) < 0) {
		portmap_report_unmapped(&pm->w.rep, "no default gateway");
		return;
	}
	portmap_natpmp_map(pm, pm->port);
}

static void portmap_natpmp_delete(struct portmap *pm)
{
	natpmpresp_t resp;

	/* RFC 6886 §3.4: lifetime 0 and external port 0 delete the mapping. */
	portmap_natpmp_ask(pm, true, 0, 0, PORTMAP_NATPMP_DELETE_MS, false, &resp);
}

/* ---- The worker: UPnP IGD. */

static void portmap_upnp_close(struct portmap_worker *w)
{
	if (!w->igd_open)
		return;
	FreeUPNPUrls(&w->urls);
	w->igd_open = false;
}

/* Map our port to EXT_PORT through the IGD found by portmap_upnp_probe.
 * Fills the report; true if mapped. */
static bool portmap_upnp_map(struct portmap *pm, uint16_t ext_port)
{
	struct portmap_worker *w = &pm->w;
	const char *url = w->urls.controlURL, *service = w->igd.first.servicetype;
	char ext_ip[40] = "", ext[8], in[8], granted[8] = "", lease[12];
	uint32_t lifetime_s = PORTMAP_LIFETIME_S;
	struct in_addr addr;
	unsigned long v;
	char *end;
	int r;

	if (UPNP_GetExternalIPAddress(url, service, ext_ip) != 0 ||
	    inet_pton(AF_INET, ext_ip, &addr) != 1 || addr.s_addr == htonl(INADDR_ANY)) {
		portmap_report_unmapped(&w->rep, "the UPnP IGD has no external address");
		return false;
	}
	snprintf(ext, sizeof(ext), "%u", (unsigned)ext_port);
	snprintf(in, sizeof(in), "%u", (unsigned)pm->port);
	snprintf(lease, sizeof(lease), "%u", (unsigned)PORTMAP_LIFETIME_S);
	r = UPNP_AddPortMapping(url, service, ext, in, w->lanaddr, PORTMAP_DESCRIPTION, "UDP", NULL,
				lease);
	if (r == PORTMAP_UPNP_PERMANENT) {
		snprintf(lease, sizeof(lease), "0");
		lifetime_s = 0;
		r = UPNP_AddPortMapping(url, service, ext, in, w->lanaddr, PORTMAP_DESCRIPTION,
					"UDP", NULL, lease);
	}
	if (r == PORTMAP_UPNP_CONFLICT) {
		/* Taken by another host: let an IGDv2 pick a free port. */
		r = UPNP_AddAnyPortMapping(url, service, ext, in, w->lanaddr, PORTMAP_DESCRIPTION,
					   "UDP", NULL, lease, granted);
		if (r == 0) {
			errno = 0;
			v = strtoul(granted, &end, 10);
			if (errno || end == granted || *end || v == 0 || v > 65535)
				r = -1;
			else
				ext_port = (uint16_t)v;
		}
	}
	if (r != 0) {
		portmap_report_unmapped(&w->rep, "the UPnP IGD refused the mapping");
		return false;
	}
	w->method = PORTMAP_UPNP;
	w->ext_port = ext_port;
	portmap_report_mapped(&w->rep, "upnp", addr, ext_port, lifetime_s);
	w->external = w->rep.r.external;
	return true;
}

static void portmap_upnp_delete(const struct UPNPUrls *urls, const struct IGDdatas *igd,
				uint16_t ext_port)
{
	char ext[8];

	snprintf(ext, sizeof(ext), "%u", (unsigned)ext_port);
	UPNP_DeletePortMapping(urls->controlURL, igd->first.servicetype, ext, "UDP", NULL);
}

/* Look for an IGD (kept open in the worker if found); with MAP, map our port
 * through it. */
static void portmap_upnp_probe(struct portmap *pm, bool map)
{
	static const char *const types[] = {
		"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
		"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
		NULL,
	};
	struct portmap_worker *w = &pm->w;
	struct UPNPDev *devs;
	int err = 0, r;

	portmap_upnp_close(w);
	devs = upnpDiscoverDevices(types, PORTMAP_UPNP_DISCOVER_MS, NULL, NULL, UPNP_LOCAL_PORT_ANY,
				   0, 2, &err, 1);
	if (!devs)
		return;
	memset(&w->urls, 0, sizeof(w->urls));
	memset(&w->igd, 0, sizeof(w->igd));
	r = portmap_quitting(pm) ? 0
				 : UPNP_GetValidIGD(devs, &w->urls, &w->igd, w->lanaddr,
						    (int)sizeof(w->lanaddr));
	freeUPNPDevlist(devs);
	w->igd_open = true;
	if (r != 1 && r != 2) { /* 0: none answered; 3: a UPnP device, not an IGD */
		portmap_upnp_close(w);
		return;
	}
	w->rep.r.upnp = true;
	if (r == 2) {
		if (map)
			portmap_report_unmapped(&w->rep, "the UPnP IGD is not connected");
		portmap_upnp_close(w);
		return;
	}
	if (!map || portmap_quitting(pm) || !portmap_upnp_map(pm, pm->port))
		portmap_upnp_close(w);
}

/* ---- The worker: probing, renewing, deleting. */

/* Everything from scratch: NAT-PMP, then UPnP (discovered even when NAT-PMP
 * mapped, to report it). */
static void portmap_probe(struct portmap *pm)
{
	struct portmap_worker *w = &pm->w;
	enum portmap_method old_method = w->method;
	struct endpoint old_external = w->external;
	uint16_t old_port = w->ext_port;
	struct UPNPUrls old_urls = w->urls;
	struct IGDdatas old_igd = w->igd;
	bool old_igd_open = w->igd_open;

	/* The old IGD's URLs are kept until the end, to delete its mapping if
	 * the new one lives elsewhere. */
	w->igd_open = false;
	memset(&w->urls, 0, sizeof(w->urls));
	memset(&w->rep, 0, sizeof(w->rep));
	w->method = PORTMAP_NONE;

	portmap_natpmp_probe(pm);
	if (!portmap_quitting(pm))
		portmap_upnp_probe(pm, !w->rep.r.mapped);
	if (!w->rep.r.mapped && !w->rep.r.natpmp && !w->rep.r.upnp)
		portmap_report_unmapped(&w->rep, "no NAT-PMP or UPnP gateway");
	else if (!w->rep.r.mapped && !w->rep.why)
		portmap_report_unmapped(&w->rep, "no mapping");

	if (old_igd_open) {
		/* Not when the new mapping has the same external endpoint: the
		 * gateway may hold one rule for both protocols. */
		if (old_method == PORTMAP_UPNP && w->rep.r.mapped &&
		    !endpoint_equal(&old_external, &w->rep.r.external))
			portmap_upnp_delete(&old_urls, &old_igd, old_port);
		FreeUPNPUrls(&old_urls);
	}
}

/* Renew the mapping that exists now. True if it still does. */
static bool portmap_renew(struct portmap *pm)
{
	struct portmap_worker *w = &pm->w;

	switch (w->method) {
	case PORTMAP_NATPMP:
		return portmap_natpmp_map(pm, w->ext_port);
	case PORTMAP_UPNP:
		return portmap_upnp_map(pm, w->ext_port);
	case PORTMAP_NONE:
		break;
	}
	return false;
}

static void portmap_unmap(struct portmap *pm)
{
	struct portmap_worker *w = &pm->w;

	switch (w->method) {
	case PORTMAP_NATPMP:
		portmap_natpmp_delete(pm);
		break;
	case PORTMAP_UPNP:
		portmap_upnp_delete(&w->urls, &w->igd, w->ext_port);
		break;
	case PORTMAP_NONE:
		break;
	}
	w->method = PORTMAP_NONE;
}

static void portmap_schedule(struct portmap_worker *w)
{
	uint64_t secs = PORTMAP_RETRY_S;

	if (w->rep.r.mapped) {
		secs = (w->rep.r.lifetime_s ? w->rep.r.lifetime_s : PORTMAP_LIFETIME_S) / 2;
		if (secs < PORTMAP_RENEW_MIN_S)
			secs = PORTMAP_RENEW_MIN_S;
	}
	w->next_ms = loop_now_ms() + secs * 1000;
}

static void portmap_publish(struct portmap *pm)
{
	uint64_t one = 1;

	pthread_mutex_lock(&pm->lock);
	pm->pending = pm->w.rep;
	pm->has_pending = true;
	pthread_mutex_unlock(&pm->lock);
	if (write(pm->wake_loop, &one, sizeof(one)) < 0)
		return; /* the counter is nonzero: the loop will look */
}

static void *portmap_worker_main(void *arg)
{
	struct portmap *pm = arg;
	struct portmap_worker *w = &pm->w;
	bool probe = true;

	for (;;) {
		unsigned cmd = portmap_take_commands(pm);
		uint64_t now = loop_now_ms(), wait_ms;
		struct pollfd pfd = {.fd = pm->wake_worker, .events = POLLIN};

		if (cmd & PORTMAP_CMD_QUIT)
			break;
		if (cmd & PORTMAP_CMD_REFRESH)
			probe = true;
		if (probe || now >= w->next_ms) {
			if (probe || !portmap_renew(pm))
				portmap_probe(pm);
			probe = false;
			if (portmap_quitting(pm))
				break;
			portmap_schedule(w);
			portmap_publish(pm);
			continue;
		}
		wait_ms = w->next_ms - now;
		if (poll(&pfd, 1, wait_ms > INT_MAX ? INT_MAX : (int)wait_ms) > 0)
			portmap_drain(pm->wake_worker);
	}
	portmap_unmap(pm);
	portmap_natpmp_close(w);
	portmap_upnp_close(w);
	return NULL;
}

/* ---- The loop's side. */

static bool portmap_result_equal(const struct portmap_result *a, const struct portmap_result *b)
{
	return a->upnp == b->upnp && a->natpmp == b->natpmp && a->mapped == b->mapped &&
	       a->lifetime_s == b->lifetime_s && a->method == b->method &&
	       (!a->mapped || endpoint_equal(&a->external, &b->external));
}

static void portmap_log(const struct portmap *pm, const struct portmap_report *rep)
{
	const struct portmap_result *r = &rep->r, *old = pm->has_last ? &pm->last : NULL;
	char ext[ENDPOINT_TEXT_MAX];

	if (r->mapped) {
		if (old && old->mapped && old->method == r->method &&
		    endpoint_equal(&old->external, &r->external))
			return;
		endpoint_format(&r->external, ext);
		log_info("port mapping (%s): %s -> udp %u", r->method, ext, (unsigned)pm->port);
	} else if (old && old->mapped) {
		log_warn("port mapping (%s) lost: %s", old->method, rep->why);
	} else {
		log_debug("port mapping: none for udp %u (%s; nat-pmp %s, upnp %s)",
			  (unsigned)pm->port, rep->why, r->natpmp ? "yes" : "no",
			  r->upnp ? "yes" : "no");
	}
}

static void portmap_on_report(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct portmap *pm = arg;
	struct portmap_report rep;
	struct portmap_result copy;
	bool have;

	(void)loop;
	(void)events;
	portmap_drain(fd);
	pthread_mutex_lock(&pm->lock);
	have = pm->has_pending;
	rep = pm->pending;
	pm->has_pending = false;
	pthread_mutex_unlock(&pm->lock);
	if (!have || (pm->has_last && portmap_result_equal(&pm->last, &rep.r)))
		return;
	portmap_log(pm, &rep);
	pm->last = rep.r;
	pm->has_last = true;
	copy = rep.r;
	pm->cb(pm->arg, &copy);
}

/* ---- Public. */

static void portmap_destroy(struct portmap *pm, bool on_loop)
{
	if (on_loop)
		loop_fd_remove(pm->loop, pm->wake_loop);
	if (pm->wake_loop >= 0)
		close(pm->wake_loop);
	if (pm->wake_worker >= 0)
		close(pm->wake_worker);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

int portmap_new(struct loop *loop, uint16_t internal_port, portmap_fn cb, void *arg,
		struct portmap **out)
{
	struct portmap *pm = NULL;
	sigset_t all, old;
	bool on_loop = false;
	int r;

	if (!loop || !cb || !out || internal_port == 0)
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->loop = loop;
	pm->port = internal_port;
	pm->cb = cb;
	pm->arg = arg;
	pm->wake_worker = -1;
	pm->wake_loop = -1;
	pthread_mutex_init(&pm->lock, NULL);

	pm->wake_worker = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pm->wake_loop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pm->wake_worker < 0 || pm->wake_loop < 0) {
		r = -errno;
		goto out;
	}
	r = loop_fd_add(loop, pm->wake_loop, EPOLLIN, portmap_on_report, pm);
	if (r < 0)
		goto out;
	on_loop = true;

	/* The worker takes no signals: they stay with the daemon's signalfd, and
	 * a SIGPIPE from a SOAP write is only an EPIPE. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&pm->thread, NULL, portmap_worker_main, pm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto out;
	*out = pm;
	pm = NULL;
out:
	if (pm)
		portmap_destroy(pm, on_loop);
	return r;
}

void portmap_refresh(struct portmap *pm)
{
	portmap_command(pm, PORTMAP_CMD_REFRESH);
}

bool portmap_get(const struct portmap *pm, struct portmap_result *r)
{
	if (!pm->has_last)
		return false;
	*r = pm->last;
	return true;
}

void portmap_free(struct portmap *pm)
{
	if (!pm)
		return;
	portmap_command(pm, PORTMAP_CMD_QUIT);
	pthread_join(pm->thread, NULL);
	portmap_destroy(pm, true);
}
