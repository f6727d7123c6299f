#include "session/session.h"
#include "control/frame.h"
#include "control/reliable.h"
#include "control/rpc.h"
#include "crypto/address.h"
#include "crypto/identity.h"
#include "os/netif.h"
#include "control/messages.h"
#include "os/tun.h"
#include "path/relay_client.h"
#include "path/stun.h"
#include "path/udp.h"
#include "session/parallel.h"
#include "util/eventloop.h"
#include "util/log.h"
#include "wg/tai64n.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Batches per wake-up on one fd before letting the other fd have a turn. */
#define SESSION_BATCHES_PER_TURN 4
/* Handshake messages per second that we process at full cost; beyond it we
 * are "under load" and demand cookies (WireGuard's DoS defence). */
#define SESSION_HANDSHAKES_PER_SEC 256
#define SESSION_BUF_SIZE	   PEER_PACKET_MAX
#define NSEC_PER_MSEC		   1000000ull
/* Path frames: plaintext starting 0x02 (0x01 is a control frame, IP
 * packets start 0x4_ or 0x6_). Unreliable by design: a lost probe is a
 * signal, not something to retransmit.
 *   PATH_PING  0x02 0x01 txid(8)   sent directly to a candidate endpoint
 *   PATH_PONG  0x02 0x02 txid(8)   the answer, to where the PING came from */
#define SESSION_PATH_MARKER    0x02
#define SESSION_PATH_PING      0x01
#define SESSION_PATH_PONG      0x02
#define SESSION_PATH_FRAME_LEN 10
/* A peer counts as active (worth probing for) this long after traffic. */
#define SESSION_ACTIVE_NS	   (60000ull * NSEC_PER_MSEC)
#define SESSION_CANDIDATES_TIMEOUT (5000ull * NSEC_PER_MSEC)
/* Strangers (would-be joiners) held at once; the oldest makes room. */
#define SESSION_STRANGERS_MAX 64

/* A STUN binding request of ours in flight. */
#define SESSION_STUN_MAX 16
struct session_stun {
	uint8_t txid[STUN_TXID_LEN];
	uint64_t sent_ns;
	bool used, update; /* UPDATE: the answer is our reflexive address */
	session_stun_fn cb;
	void *arg;
};

/* A data message of a received batch, its opening prepared. The peer is
 * looked up again by index when it is finished: handling an earlier message
 * may have removed it. */
#define SESSION_UNKNOWN_INDEX_GAP_NS (100 * 1000000ull) /* at most 10 lookups a second */

struct session_rx_data {
	uint8_t *buf;
	size_t len;
	uint32_t index;
	const struct endpoint *ep;
};

struct session {
	struct loop *loop;
	struct session_config cfg;
	session_request_fn on_request;
	void *arg;
	struct wg_noise_upcalls upcalls;
	struct wg_noise_local local;
	struct wg_cookie_checker cookies;
	struct peer_table peers;
	struct udp_socket udp;
	int tun_fd, ifindex;
	char tun_name[TUN_NAME_MAX];
	uint16_t port;
	bool up;
	struct in_addr ipv4;
	struct in6_addr ipv6;
	uint64_t jitter_state;	    /* xorshift: timer jitter needs no secrecy, and no syscall */
	uint64_t load_window_start; /* monotonic ns */
	unsigned load_count;
	struct session_stats stats;
	struct endpoint reflexive; /* our address as a relay's STUN saw it */
	struct endpoint mapped;	   /* a port the gateway maps to us (UPnP, NAT-PMP) */
	bool admit_strangers;	   /* accept initiations from unknown ids via relays */
	struct session_stun stun[SESSION_STUN_MAX];
	uint8_t *bufs; /* UDP_BATCH buffers of SESSION_BUF_SIZE, for sending */
	struct udp_batch batch;
	struct udp_rx *rx;
	session_service_fn service_fn;
	void *service_arg;
	session_filter_fn filter_fn;
	void *filter_arg;
	/* Crypto on both cores: a batch's seals (one per datagram of BATCH)
	 * and opens run on this thread and a helper (session/parallel.h). */
	struct parallel *par;
	struct wg_crypto_job tx_jobs[UDP_BATCH];
	struct wg_crypto_job rx_jobs[UDP_RX_MAX];
	struct session_rx_data rx_data[UDP_RX_MAX];
	unsigned nrx_data;
	uint64_t unknown_index_ns; /* last data for an index we lack, acted on */
};

/* Per-peer control state, hung off peer->ctl: the reliable channel and the
 * request/response layer on it. */
struct peer_ctl {
	struct session *s;
	struct peer *p;
	struct ctl_channel *ch;
	struct ctl_rpc *rpc;
};

/* A request of ours in flight: who to tell. */
struct session_pending {
	session_response_fn cb;
	void *arg;
};

/* Where a packet came from: directly over UDP, or through a relay that
 * vouches for the sender's node id. */
struct session_src {
	const struct endpoint *ep;
	struct relay_client *relay;
	const uint8_t *node_id;
};

static void session_peer_timer_arm(struct session *s, struct peer *p, uint64_t at);
static int session_candidates_body(struct session *s, uint8_t *buf, size_t cap, size_t *len);
static struct peer *session_stranger_add(struct session *s, const uint8_t node_id[32]);
static void session_candidates_learn(struct session *s, struct peer *p, const uint8_t *body,
				     size_t len, uint64_t now);

static uint32_t session_jitter(struct session *s)
{
	uint64_t x = s->jitter_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->jitter_state = x;
	return (uint32_t)(x >> 32);
}

static void session_peer_timers_run(struct session *s, struct peer *p, uint64_t now);

static uint64_t wall_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	return (uint64_t)ts->tv_sec;
}

/* ---- noise upcalls ------------------------------------------------------ */

static struct wg_noise_remote *upcall_remote_get(void *arg, const uint8_t public[WG_KEY_LEN])
{
	struct session *s = arg;
	struct peer *p = peer_table_by_wg_key(&s->peers, public);

	return p ? &p->noise : NULL;
}

static int upcall_index_new(void *arg, struct wg_noise_remote *r, uint32_t *index)
{
	struct session *s = arg;

	return peer_index_new(&s->peers, peer_from_remote(r), index);
}

static struct wg_noise_remote *upcall_index_get(void *arg, uint32_t index)
{
	struct session *s = arg;
	struct peer *p = peer_index_get(&s->peers, index);

	return p ? &p->noise : NULL;
}

static void upcall_index_drop(void *arg, uint32_t index)
{
	struct session *s = arg;

	peer_index_drop(&s->peers, index);
}

/* ---- sending ------------------------------------------------------------ */

static bool session_peer_has_relay(const struct peer *p)
{
	return p->relay && relay_client_ready(p->relay);
}

/* Whether to send to P directly now: always for a peer without a relay (a
 * plain WireGuard peer, a static endpoint), otherwise only while the direct
 * path is proven. */
static bool session_peer_direct(const struct peer *p, uint64_t now)
{
	if (!session_peer_has_relay(p))
		return endpoint_is_set(&p->endpoint);
	return pathsel_direct_ok(&p->paths, now) && endpoint_is_set(&p->endpoint);
}

static bool session_peer_reachable(const struct peer *p)
{
	return endpoint_is_set(&p->endpoint) || session_peer_has_relay(p);
}

/* Send one WireGuard message to P by the path in use. */
static int session_xmit(struct session *s, struct peer *p, const uint8_t *msg, size_t len,
			uint64_t now)
{
	if (session_peer_direct(p, now))
		return udp_send(&s->udp, &p->endpoint, msg, len);
	if (session_peer_has_relay(p))
		return relay_client_send(p->relay, p->node_id, msg, len);
	s->stats.drop_no_endpoint++;
	return -EDESTADDRREQ;
}

static void session_initiate(struct session *s, struct peer *p, uint64_t now)
{
	uint8_t msg[WG_MSG_INITIATION_LEN], stamp[WG_TAI64N_LEN];
	struct wg_msg_initiation m;
	struct timespec ts;
	int ret;

	if (!session_peer_reachable(p))
		return; /* nowhere to send it yet */
	wall_now(&ts);
	wg_tai64n_encode(stamp, (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
	ret = wg_noise_create_initiation(&p->noise, &m, stamp);
	if (ret < 0) {
		log_warn("cannot create a handshake initiation: %s", strerror(-ret));
		return;
	}
	wg_msg_initiation_encode(&m, msg);
	wg_cookie_maker_add_macs(&p->cookie, msg, sizeof(msg), now);
	if (session_xmit(s, p, msg, sizeof(msg), now) == 0)
		wg_timers_packet_sent(&p->timers, now);
	/* Through a relay: the same initiation to every direct candidate at
	 * once. Whichever copy arrives first counts (the others are replays of
	 * its timestamp); a direct one proves that path from the start. */
	if (session_peer_has_relay(p) && !pathsel_direct_ok(&p->paths, now)) {
		for (unsigned i = 0; i < p->paths.ncand; i++)
			udp_send(&s->udp, &p->paths.cand[i], msg, sizeof(msg));
	}
	wg_timers_handshake_initiated(&p->timers, now, session_jitter(s));
	s->stats.handshakes_initiated++;
	session_peer_timer_arm(s, p, now);
}

static void session_want_handshake(struct session *s, struct peer *p, uint64_t now)
{
	if (wg_timers_want_handshake(&p->timers, now))
		session_initiate(s, p, now);
}

/* Encrypt and send one plaintext now (keepalives, control frames, staged
 * packets, path probes). PAD: pad to 16 as WireGuard does (IP packets);
 * control and path frames go unpadded so that their receiver sees their exact
 * length. TO: send there directly (a path probe) instead of by the path in
 * use. */
static int session_send_one_to(struct session *s, struct peer *p, const uint8_t *plain, size_t len,
			       bool pad, const struct endpoint *to, uint64_t now)
{
	uint8_t buf[SESSION_BUF_SIZE];
	size_t out_len = 0;
	int ret;

	if (len > SESSION_BUF_SIZE - WG_DATA_MIN_LEN - WG_DATA_PADDING)
		return -EMSGSIZE;
	if (!to && !session_peer_reachable(p)) {
		s->stats.drop_no_endpoint++;
		return -EDESTADDRREQ;
	}
	if (len)
		memcpy(buf + WG_DATA_HEADER_LEN, plain, len);
	ret = wg_keypairs_encrypt(&p->noise.r_keypairs, now, buf, sizeof(buf), len,
				  pad ? s->cfg.mtu : len, &out_len);
	if (ret < 0)
		return ret;
	if (ret & WG_KEYPAIR_F_REKEY)
		session_want_handshake(s, p, now);
	if (to) {
		udp_send(&s->udp, to, buf, out_len);
		return 0; /* probes are not traffic: the timers ignore them */
	}
	session_xmit(s, p, buf, out_len, now);
	wg_timers_packet_sent(&p->timers, now);
	if (len > 0) {
		wg_timers_data_sent(&p->timers, now, session_jitter(s));
		p->tx_bytes += len;
		p->last_activity = now;
	}
	return 0;
}

static int session_send_one(struct session *s, struct peer *p, const uint8_t *plain, size_t len,
			    bool pad, uint64_t now)
{
	return session_send_one_to(s, p, plain, len, pad, NULL, now);
}

/* Hold a plaintext until a handshake completes. */
static void session_stage(struct session *s, struct peer *p, const uint8_t *plain, size_t len,
			  uint64_t now)
{
	if (len > PEER_PACKET_MAX)
		return;
	if (!p->staged) {
		p->staged = malloc((size_t)PEER_STAGED_MAX * PEER_PACKET_MAX);
		if (!p->staged)
			return;
	}
	if (p->nstaged == PEER_STAGED_MAX) {
		/* Keep the newest, as WireGuard does: drop the oldest. */
		memmove(p->staged, p->staged + PEER_PACKET_MAX,
			(size_t)(PEER_STAGED_MAX - 1) * PEER_PACKET_MAX);
		memmove(p->staged_len, p->staged_len + 1,
			(PEER_STAGED_MAX - 1) * sizeof(p->staged_len[0]));
		p->nstaged--;
		s->stats.drop_staged_full++;
	}
	memcpy(p->staged + (size_t)p->nstaged * PEER_PACKET_MAX, plain, len);
	p->staged_len[p->nstaged++] = (uint16_t)len;
	session_want_handshake(s, p, now);
}

static void session_flush_staged(struct session *s, struct peer *p, uint64_t now)
{
	unsigned n = p->nstaged, i;

	p->nstaged = 0;
	for (i = 0; i < n; i++) {
		const uint8_t *pkt = p->staged + (size_t)i * PEER_PACKET_MAX;

		/* Control frames (0x01) go unpadded, IP packets padded. */
		if (session_send_one(s, p, pkt, p->staged_len[i], pkt[0] != CTL_FRAME_MARKER, now) <
		    0)
			break;
	}
	/* Anything that did not go out is put back, in order. */
	for (; i < n; i++) {
		memmove(p->staged + (size_t)p->nstaged * PEER_PACKET_MAX,
			p->staged + (size_t)i * PEER_PACKET_MAX, p->staged_len[i]);
		p->staged_len[p->nstaged++] = p->staged_len[i];
	}
}

/* ---- control channel ---------------------------------------------------- */

static int ctl_send_frame(void *user, const uint8_t *frame, size_t len)
{
	struct peer_ctl *pc = user;
	uint64_t now = loop_now_ns();
	int ret = session_send_one(pc->s, pc->p, frame, len, false, now);

	if (ret == -ENOKEY || ret == -EKEYEXPIRED) {
		session_stage(pc->s, pc->p, frame, len, now);
		ret = 0;
	}
	return ret;
}

static void ctl_deliver(void *user, uint64_t now, uint32_t msg_id, const uint8_t *msg, size_t len)
{
	struct peer_ctl *pc = user;

	(void)msg_id;
	if (ctl_rpc_input(pc->rpc, now, msg, len) < 0)
		pc->s->stats.drop_malformed++;
}

/* A message of ours failed: the channel saw no progress for its whole
 * timeout, so the peer is unreachable and every request waiting on it would
 * fail too. Tell them now rather than at their own deadlines. */
static void ctl_message_failed(void *user, uint32_t msg_id, int status)
{
	struct peer_ctl *pc = user;

	(void)msg_id;
	if (status < 0)
		ctl_rpc_fail_all(pc->rpc, loop_now_ns(), status);
}

static int rpc_send(void *user, uint64_t now, const uint8_t *msg, size_t len)
{
	struct peer_ctl *pc = user;

	return ctl_channel_send(pc->ch, now, msg, len, NULL);
}

static void rpc_request(void *user, struct ctl_rpc *rpc, uint64_t now, uint32_t req_id,
			uint32_t method, const uint8_t *body, size_t len)
{
	struct peer_ctl *pc = user;

	if (method == CTL_MSG_CANDIDATES) {
		uint8_t out[CTL_CANDIDATES_MAX * 20 + 16];
		size_t out_len = 0;

		session_candidates_learn(pc->s, pc->p, body, len, now);
		if (session_candidates_body(pc->s, out, sizeof(out), &out_len) < 0)
			ctl_rpc_respond(rpc, now, req_id, -ENOBUFS, NULL, 0);
		else
			ctl_rpc_respond(rpc, now, req_id, 0, out, out_len);
		return;
	}
	if (pc->s->on_request)
		pc->s->on_request(pc->s->arg, pc->p, req_id, method, body, len);
	else
		ctl_rpc_respond(rpc, now, req_id, -ENOSYS, NULL, 0);
}

static struct peer_ctl *session_peer_ctl(struct session *s, struct peer *p)
{
	struct ctl_channel_config cfg;
	struct peer_ctl *pc = p->ctl;

	if (pc)
		return pc;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	ctl_channel_config_default(&cfg);
	/* A frame must fit one tunnel packet. */
	cfg.cc_max_frame = s->cfg.mtu;
	cfg.cc_done = ctl_message_failed;
	pc->s = s;
	pc->p = p;
	pc->ch = ctl_channel_new(&cfg, ctl_send_frame, ctl_deliver, pc);
	pc->rpc = ctl_rpc_new(rpc_send, rpc_request, pc);
	if (!pc->ch || !pc->rpc) {
		ctl_rpc_free(pc->rpc);
		ctl_channel_free(pc->ch);
		free(pc);
		return NULL;
	}
	p->ctl = pc;
	return pc;
}

static void session_peer_ctl_free(struct peer *p)
{
	struct peer_ctl *pc = p->ctl;

	if (!pc)
		return;
	ctl_rpc_free(pc->rpc); /* pending requests hear -ECANCELED */
	ctl_channel_free(pc->ch);
	free(pc);
	p->ctl = NULL;
}

static void session_response(void *arg, uint64_t now, uint32_t req_id, int status,
			     const uint8_t *body, size_t len)
{
	struct session_pending *pending = arg;

	(void)now;
	(void)req_id;
	pending->cb(pending->arg, status, body, len);
	free(pending);
}

int session_request(struct session *s, struct peer *p, uint32_t method, const uint8_t *body,
		    size_t len, uint64_t timeout, session_response_fn cb, void *arg)
{
	struct peer_ctl *pc = p->ctl;
	struct session_pending *pending = malloc(sizeof(*pending));
	uint64_t now = loop_now_ns();
	int ret;

	if (!pending)
		return -ENOMEM;
	pending->cb = cb;
	pending->arg = arg;
	ret = ctl_rpc_request(pc->rpc, now, method, body, len, timeout, session_response, pending,
			      NULL);
	if (ret < 0) {
		free(pending);
		return ret;
	}
	session_peer_timers_run(s, p, now);
	return 0;
}

int session_respond(struct session *s, struct peer *p, uint32_t req_id, int32_t status,
		    const uint8_t *body, size_t len)
{
	struct peer_ctl *pc = p->ctl;
	uint64_t now = loop_now_ns();
	int ret = ctl_rpc_respond(pc->rpc, now, req_id, status, body, len);

	session_peer_timers_run(s, p, now);
	return ret;
}

void session_control_stats(struct session *s, struct peer *p, struct ctl_channel_stats *st)
{
	(void)s;
	ctl_channel_stats(((struct peer_ctl *)p->ctl)->ch, st);
}

/* ---- direct paths and candidates ---------------------------------------- */

/* Our candidate endpoints: the address a relay's STUN saw, then the host's
 * own addresses (not loopback, not the tunnel, not link-local), all with our
 * UDP port. */
static unsigned session_local_candidates(struct session *s, struct endpoint *out, unsigned max)
{
	struct ifaddrs *list, *ifa;
	unsigned n = 0;

	if (n < max && endpoint_is_set(&s->mapped))
		out[n++] = s->mapped;
	if (n < max && endpoint_is_set(&s->reflexive) &&
	    !(n && endpoint_equal(&out[0], &s->reflexive)))
		out[n++] = s->reflexive;
	if (getifaddrs(&list) < 0)
		return n;
	for (ifa = list; ifa && n < max; ifa = ifa->ifa_next) {
		struct endpoint ep = {0};
		bool dup = false;

		if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP) ||
		    (ifa->ifa_flags & IFF_LOOPBACK) || strcmp(ifa->ifa_name, s->tun_name) == 0)
			continue;
		ep.sin6.sin6_family = AF_INET6;
		ep.sin6.sin6_port = htons(s->port);
		if (ifa->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)ifa->ifa_addr;

			ep.sin6.sin6_addr.s6_addr[10] = 0xff;
			ep.sin6.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&ep.sin6.sin6_addr.s6_addr[12], &sin->sin_addr, 4);
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 =
				(const struct sockaddr_in6 *)ifa->ifa_addr;

			if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
				continue;
			ep.sin6.sin6_addr = sin6->sin6_addr;
		} else {
			continue;
		}
		for (unsigned i = 0; i < n; i++)
			dup |= endpoint_equal(&out[i], &ep);
		if (!dup)
			out[n++] = ep;
	}
	freeifaddrs(list);
	return n;
}

static int session_candidates_body(struct session *s, uint8_t *buf, size_t cap, size_t *len)
{
	struct endpoint eps[CTL_CANDIDATES_MAX];
	unsigned n = session_local_candidates(s, eps, CTL_CANDIDATES_MAX);
	struct ctl_codec_writer w;
	int ret;

	ctl_codec_writer_init(&w, buf, cap);
	ret = ctl_msg_candidates_encode(&w, eps, n);
	ctl_codec_writer_data(&w, len);
	return ret;
}

static void session_candidates_learn(struct session *s, struct peer *p, const uint8_t *body,
				     size_t len, uint64_t now)
{
	struct endpoint eps[CTL_CANDIDATES_MAX];
	unsigned n = 0;

	if (ctl_msg_candidates_decode(body, len, eps, CTL_CANDIDATES_MAX, &n) < 0) {
		s->stats.drop_malformed++;
		return;
	}
	for (unsigned i = 0; i < n; i++)
		pathsel_add_candidate(&p->paths, &eps[i]);
	pathsel_kick(&p->paths, now);
}

static void session_candidates_answer(void *arg, int status, const uint8_t *body, size_t len)
{
	struct peer *p = arg;
	struct peer_ctl *pc = p->ctl;

	p->candidates_pending = false;
	if (status == 0 && pc) {
		uint64_t now = loop_now_ns();

		session_candidates_learn(pc->s, p, body, len, now);
		session_peer_timers_run(pc->s, p, now);
	}
}

/* Tell P where we may be reachable directly; its answer says the same of
 * it. Both sides then probe every candidate (hole punching). */
static void session_candidates_send(struct session *s, struct peer *p)
{
	uint8_t body[CTL_CANDIDATES_MAX * 20 + 16];
	size_t len = 0;

	if (!p->relay || p->candidates_pending || !p->ctl ||
	    session_candidates_body(s, body, sizeof(body), &len) < 0)
		return;
	if (session_request(s, p, CTL_MSG_CANDIDATES, body, len, SESSION_CANDIDATES_TIMEOUT,
			    session_candidates_answer, p) == 0)
		p->candidates_pending = true;
}

static void session_receive_path_frame(struct session *s, struct peer *p, const uint8_t *plain,
				       size_t len, const struct session_src *src, uint64_t now)
{
	uint8_t pong[SESSION_PATH_FRAME_LEN];
	uint64_t txid;

	if (len != SESSION_PATH_FRAME_LEN || !src->ep) {
		s->stats.drop_malformed++;
		return;
	}
	memcpy(&txid, plain + 2, sizeof(txid));
	if (plain[1] == SESSION_PATH_PING) {
		pong[0] = SESSION_PATH_MARKER;
		pong[1] = SESSION_PATH_PONG;
		memcpy(pong + 2, &txid, sizeof(txid));
		session_send_one_to(s, p, pong, sizeof(pong), false, src->ep, now);
	} else if (plain[1] == SESSION_PATH_PONG) {
		pathsel_pong(&p->paths, txid, now);
	}
}

/* Send the probes P's path selection asks for; returns when to look again. */
static uint64_t session_paths_run(struct session *s, struct peer *p, uint64_t now)
{
	struct endpoint eps[PATHSEL_MAX_CANDIDATES];
	uint8_t ping[SESSION_PATH_FRAME_LEN];
	bool active = p->last_activity && now - p->last_activity < SESSION_ACTIVE_NS;
	uint64_t next;
	unsigned n;

	if (!p->relay)
		return WG_TIMERS_NEVER;
	n = pathsel_poll(&p->paths, now, active, eps, PATHSEL_MAX_CANDIDATES, &next);
	ping[0] = SESSION_PATH_MARKER;
	ping[1] = SESSION_PATH_PING;
	memcpy(ping + 2, &p->paths.probe_txid, sizeof(p->paths.probe_txid));
	for (unsigned i = 0; i < n; i++)
		session_send_one_to(s, p, ping, sizeof(ping), false, &eps[i], now);
	if (p->path_direct && !pathsel_direct_ok(&p->paths, now)) {
		char name[16];

		p->path_direct = false;
		peer_short_name(p, name);
		log_info("path to %s: relay (the direct path stopped answering)", name);
	}
	return next;
}

/* Peers reached through a relay should hear of a new candidate of ours. */
static void session_candidates_changed(struct session *s)
{
	for (struct peer *p = s->peers.peers; p; p = p->next) {
		if (p->relay && p->last_activity)
			session_candidates_send(s, p);
	}
}

/* A STUN answer on the peers' socket. True if BUF was one (consumed). */
static bool session_receive_stun(struct session *s, const uint8_t *buf, size_t len)
{
	struct endpoint mapped;
	char text[ENDPOINT_TEXT_MAX];
	struct session_stun *t = NULL;

	if (len < STUN_HEADER_LEN || buf[0] != 0x01 || buf[1] != 0x01)
		return false;
	for (unsigned i = 0; i < SESSION_STUN_MAX && !t; i++) {
		if (s->stun[i].used &&
		    stun_parse_binding_response(buf, len, s->stun[i].txid, &mapped) == 0)
			t = &s->stun[i];
	}
	if (!t)
		return true;
	t->used = false;
	if (t->cb)
		t->cb(t->arg, 0, &mapped, loop_now_ns() - t->sent_ns);
	if (!t->update || endpoint_equal(&mapped, &s->reflexive))
		return true;
	s->reflexive = mapped;
	endpoint_format(&mapped, text);
	log_info("public address (STUN): %s", text);
	session_candidates_changed(s);
	return true;
}

/* ---- timers ------------------------------------------------------------- */

struct peer_timer_arg {
	struct session *s;
	struct peer *p;
};

static void session_peer_timer_fire(struct loop *loop, void *arg);

static uint64_t peer_timers_next(const struct wg_timers *t);

/* Run P's due timers, then make sure the loop wakes us for the next one. */
static void session_peer_timers_run(struct session *s, struct peer *p, uint64_t now)
{
	uint64_t next = WG_TIMERS_NEVER, ctl_next;
	unsigned actions = wg_timers_poll(&p->timers, now, &next);

	if (actions & WG_TIMERS_ZERO_KEYS)
		wg_noise_remote_clear(&p->noise);
	if (actions & WG_TIMERS_GIVE_UP) {
		char name[16], ep[ENDPOINT_TEXT_MAX];

		if (!p->gave_up) {
			peer_short_name(p, name);
			endpoint_format(&p->endpoint, ep);
			log_warn("no handshake with %s at %s after %llu s of trying; dropping %u "
				 "queued packets",
				 name, ep,
				 (unsigned long long)(s->cfg.timers.tc_rekey_attempt_time /
						      WG_NSEC_PER_SEC),
				 p->nstaged);
		}
		p->gave_up = true;
		p->nstaged = 0;
	}
	if (actions & WG_TIMERS_SEND_INITIATION)
		session_initiate(s, p, now);
	if (actions & WG_TIMERS_SEND_KEEPALIVE)
		session_send_one(s, p, NULL, 0, true, now);
	/* The actions may have armed new deadlines. */
	next = peer_timers_next(&p->timers);
	ctl_next = session_paths_run(s, p, now);
	if (ctl_next < next)
		next = ctl_next;
	if (p->ctl) {
		struct peer_ctl *pc = p->ctl;

		ctl_next = ctl_rpc_poll(pc->rpc, now);
		if (ctl_next < next)
			next = ctl_next;
		ctl_next = ctl_channel_poll(pc->ch, now);
		if (ctl_next < next)
			next = ctl_next;
	}
	if (p->timer_id) {
		loop_timer_cancel(s->loop, p->timer_id);
		p->timer_id = 0;
	}
	p->timer_at = 0;
	if (next != WG_TIMERS_NEVER)
		session_peer_timer_arm(s, p, next);
}

static void session_peer_timer_fire(struct loop *loop, void *arg)
{
	struct peer *p = arg;
	struct peer_ctl *pc = p->ctl; /* every peer has one: it leads back to S */

	(void)loop;
	p->timer_id = 0;
	p->timer_at = 0;
	session_peer_timers_run(pc->s, p, loop_now_ns());
}

/* Wake for P no later than AT (monotonic ns). Earlier wake-ups are
 * harmless: the timers are polled and re-armed. */
static void session_peer_timer_arm(struct session *s, struct peer *p, uint64_t at)
{
	uint64_t now = loop_now_ns(), delay_ms;

	if (p->timer_id && p->timer_at <= at)
		return;
	if (p->timer_id)
		loop_timer_cancel(s->loop, p->timer_id);
	delay_ms = at > now ? (at - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC : 0;
	p->timer_id = loop_timer_add(s->loop, delay_ms, session_peer_timer_fire, p);
	p->timer_at = at;
}

/* The earliest deadline of P's WireGuard timers, without firing any. */
static uint64_t peer_timers_next(const struct wg_timers *t)
{
	uint64_t next = t->t_retransmit_at;

	if (t->t_keepalive_at < next)
		next = t->t_keepalive_at;
	if (t->t_new_handshake_at < next)
		next = t->t_new_handshake_at;
	if (t->t_zero_keys_at < next)
		next = t->t_zero_keys_at;
	if (t->t_persistent_at < next)
		next = t->t_persistent_at;
	return next;
}

/* After events on P: make sure the loop wakes us by its earliest deadline.
 * Cheap enough for every packet: it arms a timer only when a deadline moved
 * earlier than the one armed. */
static void session_peer_touch(struct session *s, struct peer *p, uint64_t now)
{
	uint64_t next = peer_timers_next(&p->timers);

	(void)now;
	if (next != WG_TIMERS_NEVER)
		session_peer_timer_arm(s, p, next);
}

/* ---- receiving ---------------------------------------------------------- */

/* Answer a handshake message the way it came. */
static int session_reply(struct session *s, const struct session_src *src, const uint8_t *msg,
			 size_t len)
{
	if (src->ep)
		return udp_send(&s->udp, src->ep, msg, len);
	return relay_client_send(src->relay, src->node_id, msg, len);
}

/* An authenticated packet from P arrived as SRC says. */
static void session_peer_heard(struct session *s, struct peer *p, const struct session_src *src,
			       uint64_t now)
{
	char name[16], ep[ENDPOINT_TEXT_MAX];

	if (!src->ep) {
		/* The relay it came through reaches the peer, but the one we use
		 * (its home relay) is kept while it works: the peer may send through
		 * ours and listen on its own. */
		if (!session_peer_has_relay(p))
			p->relay = src->relay;
		return;
	}
	if (!p->relay) {
		/* No relay: WireGuard's roaming, the last source wins. */
		if (!endpoint_equal(&p->endpoint, src->ep))
			p->endpoint = *src->ep;
		return;
	}
	if (pathsel_direct_rx(&p->paths, src->ep, now)) {
		p->endpoint = *src->ep;
		peer_short_name(p, name);
		endpoint_format(src->ep, ep);
		log_info("path to %s: direct via %s", name, ep);
		p->path_direct = true;
	}
	(void)s;
}

static bool session_under_load(struct session *s, uint64_t now)
{
	if (now - s->load_window_start > 1000 * NSEC_PER_MSEC) {
		s->load_window_start = now;
		s->load_count = 0;
	}
	return ++s->load_count > SESSION_HANDSHAKES_PER_SEC;
}

/* What a cookie binds to: the UDP source, or the node id the relay vouched
 * for. */
static size_t session_cookie_source(const struct session_src *src, uint8_t out[32])
{
	if (!src->ep) {
		memcpy(out, src->node_id, 32);
		return 32;
	}
	memcpy(out, &src->ep->sin6.sin6_addr, 16);
	memcpy(out + 16, &src->ep->sin6.sin6_port, 2);
	return 18;
}

static void session_handshake_completed(struct session *s, struct peer *p, uint64_t now)
{
	char name[16], ep[ENDPOINT_TEXT_MAX];
	struct timespec ts;

	/* Once per session, not per rekey: a log line every two minutes per
	 * peer would bury everything else. */
	if (!p->last_handshake || p->gave_up) {
		peer_short_name(p, name);
		if (session_peer_direct(p, now) || !p->relay)
			endpoint_format(&p->endpoint, ep);
		else
			snprintf(ep, sizeof(ep), "relay");
		log_info("session with %s established via %s", name, ep);
	}
	p->gave_up = false;
	p->last_handshake = (time_t)wall_now(&ts);
	s->stats.handshakes_completed++;
	wg_timers_handshake_complete(&p->timers, now);
	/* Through a relay: look for a direct path (again, at every rekey). */
	if (p->relay && !pathsel_direct_ok(&p->paths, now)) {
		pathsel_kick(&p->paths, now);
		session_candidates_send(s, p);
	}
}

static void session_receive_handshake(struct session *s, uint8_t *buf, size_t len, int type,
				      const struct session_src *from, uint64_t now)
{
	uint8_t src[32], reply[WG_MSG_COOKIE_REPLY_LEN];
	size_t src_len = session_cookie_source(from, src);
	struct wg_noise_remote *r = NULL;
	enum wg_cookie_verdict verdict;
	struct peer *p;

	verdict = wg_cookie_checker_validate(&s->cookies, buf, len, src, src_len, now,
					     session_under_load(s, now));
	if (verdict == WG_COOKIE_DROP) {
		s->stats.drop_malformed++;
		return;
	}
	if (verdict == WG_COOKIE_SEND_REPLY) {
		if (wg_cookie_checker_create_reply(&s->cookies, reply, buf, len, src, src_len,
						   now) == 0 &&
		    session_reply(s, from, reply, sizeof(reply)) == 0)
			s->stats.cookies_sent++;
		return;
	}
	if (type == WG_MSG_INITIATION) {
		struct wg_msg_initiation m;
		struct wg_msg_response resp;
		uint8_t out[WG_MSG_RESPONSE_LEN];

		if (wg_msg_initiation_decode(buf, len, &m) < 0 ||
		    wg_noise_consume_initiation(&s->local, &m, now, &r) < 0) {
			s->stats.drop_decrypt++;
			return;
		}
		p = peer_from_remote(r);
		session_peer_heard(s, p, from, now);
		wg_timers_packet_received(&p->timers, now);
		if (wg_noise_create_response(r, &resp, now) < 0)
			return;
		wg_msg_response_encode(&resp, out);
		wg_cookie_maker_add_macs(&p->cookie, out, sizeof(out), now);
		if (session_reply(s, from, out, sizeof(out)) == 0)
			wg_timers_packet_sent(&p->timers, now);
		wg_timers_session_derived(&p->timers, now);
		session_peer_touch(s, p, now);
	} else {
		struct wg_msg_response m;

		if (wg_msg_response_decode(buf, len, &m) < 0 ||
		    wg_noise_consume_response(&s->local, &m, now, &r) < 0) {
			s->stats.drop_decrypt++;
			return;
		}
		p = peer_from_remote(r);
		session_peer_heard(s, p, from, now);
		wg_timers_packet_received(&p->timers, now);
		wg_timers_session_derived(&p->timers, now);
		session_handshake_completed(s, p, now);
		/* The responder waits for our first packet to confirm the keypair. */
		if (p->nstaged)
			session_flush_staged(s, p, now);
		else
			session_send_one(s, p, NULL, 0, true, now);
		session_peer_touch(s, p, now);
	}
}

static void session_receive_cookie(struct session *s, const uint8_t *buf, size_t len, uint64_t now)
{
	struct peer *p = peer_index_get(&s->peers, wg_msg_receiver(buf));

	if (!p || wg_cookie_maker_consume_reply(&p->cookie, buf, len, now) < 0)
		s->stats.drop_malformed++;
}

/* The IP packet length from its header, or 0 if it is not one we accept. */
static size_t session_inner_length(const uint8_t *pkt, size_t len, struct ip_addr *src)
{
	struct ip_addr dst;
	size_t ip_len;

	if (ippacket_addrs(pkt, len, src, &dst) < 0)
		return 0;
	if (pkt[0] >> 4 == 4)
		ip_len = (size_t)pkt[2] << 8 | pkt[3];
	else
		ip_len = ((size_t)pkt[4] << 8 | pkt[5]) + 40;
	return ip_len;
}

/* A data message from P, opened: PLAIN_LEN bytes after the header of BUF,
 * with the wg_keypair_flags FLAGS. */
static void session_receive_opened(struct session *s, struct peer *p, uint8_t *buf,
				   size_t plain_len, int flags, const struct session_src *from,
				   uint64_t now)
{
	uint8_t *plain = buf + WG_DATA_HEADER_LEN;
	size_t ip_len;
	struct ip_addr src;

	/* Authenticated: the peer may have roamed, or a path proved itself. */
	session_peer_heard(s, p, from, now);
	p->last_rx = now;
	wg_timers_packet_received(&p->timers, now);
	if (flags & WG_KEYPAIR_F_CONFIRMED) {
		session_handshake_completed(s, p, now);
		session_flush_staged(s, p, now);
	}
	if (flags & WG_KEYPAIR_F_REKEY)
		session_want_handshake(s, p, now);
	if (flags & WG_KEYPAIR_F_KEEPALIVE)
		return;
	if (plain[0] == SESSION_PATH_MARKER) {
		/* Probes are not traffic: no timers, no activity. */
		session_receive_path_frame(s, p, plain, plain_len, from, now);
		return;
	}
	wg_timers_data_received(&p->timers, now);
	p->last_activity = now;

	if (plain[0] == CTL_FRAME_MARKER) {
		struct peer_ctl *pc = session_peer_ctl(s, p);

		p->rx_bytes += plain_len; /* as tx_bytes counts control frames too */
		if (pc && ctl_channel_receive(pc->ch, now, plain, plain_len) < 0)
			s->stats.drop_malformed++;
		if (pc)
			session_peer_timers_run(s, p, now);
		return;
	}
	ip_len = session_inner_length(plain, plain_len, &src);
	if (!ip_len) {
		s->stats.drop_malformed++;
		return;
	}
	if (!peer_allows(p, &src)) {
		s->stats.drop_bad_source++;
		return;
	}
	if (!s->up) {
		s->stats.drop_down++;
		return;
	}
	if (s->filter_fn) {
		uint8_t reply[SESSION_FILTER_REPLY_MAX];
		int verdict = s->filter_fn(s->filter_arg, p, false, plain, ip_len, now, reply,
					   sizeof(reply));

		if (verdict != 0) {
			s->stats.drop_filtered++;
			if (verdict > 0)
				session_send_one(s, p, reply, (size_t)verdict, true, now);
			return;
		}
	}
	ippacket_clamp_mss(plain, ip_len, s->cfg.mtu);
	if (write(s->tun_fd, plain, ip_len) == (ssize_t)ip_len) {
		p->rx_bytes += ip_len;
		s->stats.rx_packets++;
	}
}

/* Whether EP is P's endpoint or one of its candidates. */
static bool session_peer_at(const struct peer *p, const struct endpoint *ep)
{
	if (endpoint_equal(&p->endpoint, ep))
		return true;
	for (unsigned i = 0; i < p->paths.ncand; i++)
		if (endpoint_equal(&p->paths.cand[i], ep))
			return true;
	return false;
}

/* Data for a receiver index we do not have: most likely a peer still
 * using keys from before we restarted, which it would keep doing until its
 * rekey timeout (15 s). If the packet came from where a peer of ours is (the
 * relay vouches for ids; a UDP source may be forged, hence the rate limit
 * and nothing but a handshake of our own), start a handshake with it now. */
static void session_receive_unknown_index(struct session *s, const struct session_src *from,
					  uint64_t now)
{
	struct peer *p = NULL;

	s->stats.drop_decrypt++;
	if (now - s->unknown_index_ns < SESSION_UNKNOWN_INDEX_GAP_NS)
		return;
	s->unknown_index_ns = now;
	if (from->node_id) {
		p = peer_table_by_node_id(&s->peers, from->node_id);
	} else if (from->ep) {
		for (p = s->peers.peers; p && !session_peer_at(p, from->ep); p = p->next)
			;
	}
	if (p && !p->stranger)
		session_want_handshake(s, p, now);
}

/* A data message on its own (from a relay): opened on this thread. */
static void session_receive_data(struct session *s, uint8_t *buf, size_t len,
				 const struct session_src *from, uint64_t now)
{
	struct peer *p = peer_index_get(&s->peers, wg_msg_receiver(buf));
	size_t plain_len = 0;
	int flags;

	if (!p) {
		session_receive_unknown_index(s, from, now);
		return;
	}
	flags = wg_keypairs_decrypt(&p->noise.r_keypairs, now, buf, len, &plain_len);
	if (flags < 0) {
		s->stats.drop_decrypt++;
		return;
	}
	session_receive_opened(s, p, buf, plain_len, flags, from, now);
}

static void session_crypto_job(void *arg, size_t i, unsigned lane)
{
	struct wg_crypto_job *jobs = arg;

	wg_crypto_job_run(&jobs[i], lane);
}

/* Open the data messages held back so far, on both threads, then handle
 * them in the order they came. */
static void session_rx_flush(struct session *s, uint64_t now)
{
	unsigned n = s->nrx_data;

	s->nrx_data = 0;
	parallel_run(s->par, session_crypto_job, s->rx_jobs, n);
	for (unsigned i = 0; i < n; i++) {
		struct session_rx_data *m = &s->rx_data[i];
		struct wg_crypto_job *job = &s->rx_jobs[i];
		struct peer *p = peer_index_get(&s->peers, m->index);
		struct session_src from = {.ep = m->ep};
		size_t plain_len = 0;
		int flags;

		/* The job's keypair must still be this peer's. */
		if (!p || wg_keypairs_lookup(&p->noise.r_keypairs, job->index) != job->kp) {
			s->stats.drop_decrypt++;
			continue;
		}
		flags = wg_keypairs_decrypt_finish(&p->noise.r_keypairs, now, job, &plain_len);
		if (flags < 0) {
			s->stats.drop_decrypt++;
			continue;
		}
		session_receive_opened(s, p, m->buf, plain_len, flags, &from, now);
	}
}

/* A data message of a UDP batch: checked now, opened with the others at
 * the next session_rx_flush. */
static void session_rx_hold(struct session *s, uint8_t *buf, size_t len, const struct endpoint *ep,
			    uint64_t now)
{
	uint32_t index = wg_msg_receiver(buf);
	struct peer *p = peer_index_get(&s->peers, index);
	struct session_rx_data *m;

	if (!p) {
		struct session_src from = {.ep = ep};

		session_receive_unknown_index(s, &from, now);
		return;
	}
	if (s->nrx_data == UDP_RX_MAX) {
		s->stats.drop_decrypt++;
		return;
	}
	if (wg_keypairs_decrypt_prepare(&p->noise.r_keypairs, now, buf, len,
					&s->rx_jobs[s->nrx_data]) < 0) {
		s->stats.drop_decrypt++;
		return;
	}
	m = &s->rx_data[s->nrx_data++];
	*m = (struct session_rx_data){.buf = buf, .len = len, .index = index, .ep = ep};
}

/* One WireGuard message of TYPE (wg_msg_type), from wherever it came. */
static void session_receive(struct session *s, uint8_t *buf, size_t len, int type,
			    const struct session_src *from, uint64_t now)
{
	switch (type) {
	case WG_MSG_DATA:
		session_receive_data(s, buf, len, from, now);
		break;
	case WG_MSG_INITIATION:
	case WG_MSG_RESPONSE:
		session_receive_handshake(s, buf, len, type, from, now);
		break;
	case WG_MSG_COOKIE_REPLY:
		session_receive_cookie(s, buf, len, now);
		break;
	default:
		s->stats.drop_malformed++;
	}
}

static void session_udp_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct session *s = arg;
	struct udp_rx *rx = s->rx;

	(void)loop;
	(void)fd;
	(void)events;
	for (int turn = 0; turn < SESSION_BATCHES_PER_TURN; turn++) {
		int n = udp_recv(&s->udp, rx);
		uint64_t now = loop_now_ns();

		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			uint8_t *buf = rx->data[i];
			size_t len = rx->lens[i];
			struct session_src from = {.ep = &rx->eps[rx->from[i]]};
			int type = wg_msg_type(buf, len);

			if (type == WG_MSG_DATA) {
				session_rx_hold(s, buf, len, from.ep, now);
				continue;
			}
			/* Anything else sees the data before it handled first. */
			session_rx_flush(s, now);
			if (type < 0 && session_receive_stun(s, buf, len))
				continue;
			session_receive(s, buf, len, type, &from, now);
		}
		session_rx_flush(s, now);
		/* A partial batch: the socket is drained. */
		if (rx->nmsgs < UDP_RX_BUFS)
			return;
	}
}

/* ---- from TUN to peers -------------------------------------------------- */

static bool session_is_service_addr(const struct ip_addr *a)
{
	static const uint8_t dns4[4] = {ADDRESS_DNS_IPV4 >> 24, ADDRESS_DNS_IPV4 >> 16 & 0xff,
					ADDRESS_DNS_IPV4 >> 8 & 0xff, ADDRESS_DNS_IPV4 & 0xff};

	if (a->family == AF_INET)
		return memcmp(a->bytes, dns4, 4) == 0;
	return memcmp(a->bytes, &address_dns_ipv6, 16) == 0;
}

void session_set_filter(struct session *s, session_filter_fn fn, void *arg)
{
	s->filter_fn = fn;
	s->filter_arg = arg;
}

void session_set_service_handler(struct session *s, session_service_fn fn, void *arg)
{
	s->service_fn = fn;
	s->service_arg = arg;
}

int session_tun_write(struct session *s, const uint8_t *pkt, size_t len)
{
	ssize_t n;

	if (!s->up)
		return -ENETDOWN;
	n = write(s->tun_fd, pkt, len);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Seal the datagrams of B (their jobs in s->tx_jobs) on both threads; any
 * that failed to seal leave the batch. */
static void session_tx_seal(struct session *s, struct udp_batch *b)
{
	unsigned kept = 0;

	parallel_run(s->par, session_crypto_job, s->tx_jobs, b->count);
	for (unsigned i = 0; i < b->count; i++) {
		uint8_t *buf = b->bufs[i];

		if (s->tx_jobs[i].verdict < 0)
			continue;
		/* Swapped, not copied: every buffer stays in the batch once. */
		b->bufs[i] = b->bufs[kept];
		b->bufs[kept] = buf;
		b->lens[kept] = b->lens[i];
		b->eps[kept] = b->eps[i];
		kept++;
	}
	b->count = kept;
}

static void session_tun_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct session *s = arg;
	struct udp_batch *b = &s->batch;
	size_t room = SESSION_BUF_SIZE - WG_DATA_MIN_LEN - WG_DATA_PADDING;

	(void)loop;
	(void)events;
	for (int turn = 0; turn < SESSION_BATCHES_PER_TURN; turn++) {
		uint64_t now = loop_now_ns();
		unsigned got = 0;

		b->count = 0;
		for (; got < UDP_BATCH; got++) {
			uint8_t *buf = b->bufs[b->count], *pkt = buf + WG_DATA_HEADER_LEN;
			struct ip_addr src, dst;
			struct peer *p;
			struct wg_crypto_job *job;
			size_t out_len = 0;
			ssize_t n = read(fd, pkt, room);
			int ret;

			if (n <= 0)
				break;
			if (ippacket_addrs(pkt, (size_t)n, &src, &dst) < 0) {
				s->stats.drop_malformed++;
				continue;
			}
			if (s->service_fn && session_is_service_addr(&dst)) {
				s->service_fn(s->service_arg, pkt, (size_t)n);
				continue;
			}
			p = peer_table_route(&s->peers, &dst);
			if (!p) {
				s->stats.drop_no_route++;
				continue;
			}
			if (s->filter_fn) {
				uint8_t reply[SESSION_FILTER_REPLY_MAX];
				int verdict = s->filter_fn(s->filter_arg, p, true, pkt, (size_t)n,
							   now, reply, sizeof(reply));

				if (verdict != 0) {
					s->stats.drop_filtered++;
					if (verdict > 0 &&
					    write(fd, reply, (size_t)verdict) != (ssize_t)verdict)
						s->stats.drop_malformed++;
					continue;
				}
			}
			ippacket_clamp_mss(pkt, (size_t)n, s->cfg.mtu);
			if (!session_peer_reachable(p)) {
				s->stats.drop_no_endpoint++;
				continue;
			}
			p->last_activity = now;
			job = &s->tx_jobs[b->count];
			ret = wg_keypairs_encrypt_prepare(&p->noise.r_keypairs, now, buf,
							  SESSION_BUF_SIZE, (size_t)n, s->cfg.mtu,
							  &out_len, job);
			if (ret < 0) {
				session_stage(s, p, pkt, (size_t)n, now);
				continue;
			}
			if (ret & WG_KEYPAIR_F_REKEY)
				session_want_handshake(s, p, now);
			wg_timers_packet_sent(&p->timers, now);
			wg_timers_data_sent(&p->timers, now, session_jitter(s));
			p->tx_bytes += (uint64_t)n;
			session_peer_touch(s, p, now);
			if (!session_peer_direct(p, now)) {
				/* The relay client queues a copy, so seal it now; one
				 * write per turn. */
				wg_crypto_job_run(job, 0);
				if (job->verdict < 0 ||
				    relay_client_send(p->relay, p->node_id, buf, out_len) < 0)
					s->stats.drop_relay++;
				else
					s->stats.tx_packets++;
				continue;
			}
			b->lens[b->count] = out_len;
			b->eps[b->count] = p->endpoint;
			b->count++;
		}
		session_tx_seal(s, b);
		s->stats.tx_packets += b->count;
		if (b->count)
			udp_send_batch(&s->udp, b);
		if (got < UDP_BATCH)
			return;
	}
}

/* ---- lifecycle ---------------------------------------------------------- */

/* 0: two when the host has four cores or more. On two, the kernel's half of
 * every packet (TUN and UDP syscalls) and the applications already fill the
 * other core: a helper there measured 10% slower (bench/compare.sh threads). */
static unsigned session_threads(unsigned wanted)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (wanted)
		return wanted;
	return cores >= 4 ? 2 : 1;
}

struct session *session_new(struct loop *loop, const struct identity *id,
			    const struct session_config *cfg, session_request_fn on_request,
			    void *arg, char *err, size_t err_len)
{
	struct session *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->cfg = *cfg;
	s->on_request = on_request;
	s->arg = arg;
	s->tun_fd = -1;
	s->udp.fd = -1;
	randombytes_buf(&s->jitter_state, sizeof(s->jitter_state));
	s->jitter_state |= 1;
	peer_table_init(&s->peers);
	s->upcalls = (struct wg_noise_upcalls){
		.u_arg = s,
		.u_remote_get = upcall_remote_get,
		.u_index_new = upcall_index_new,
		.u_index_get = upcall_index_get,
		.u_index_drop = upcall_index_drop,
	};
	if (wg_noise_local_init(&s->local, id->wg_secret, &s->upcalls, &s->cfg.timers) < 0) {
		snprintf(err, err_len, "unusable WireGuard key");
		goto fail;
	}
	wg_cookie_checker_init(&s->cookies, id->wg_public);
	s->ipv4.s_addr = htonl(address_ipv4_derive(id->sign_public, 0));
	address_ipv6_derive(id->sign_public, &s->ipv6);

	ret = parallel_new(&s->par, session_threads(cfg->threads));
	if (ret < 0) {
		snprintf(err, err_len, "cannot start the crypto thread: %s", strerror(-ret));
		goto fail;
	}
	log_info("data path crypto on %u thread%s", parallel_threads(s->par),
		 parallel_threads(s->par) > 1 ? "s" : "");

	s->bufs = malloc((size_t)UDP_BATCH * SESSION_BUF_SIZE);
	s->rx = udp_rx_new();
	if (!s->bufs || !s->rx) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < UDP_BATCH; i++)
		s->batch.bufs[i] = s->bufs + (size_t)i * SESSION_BUF_SIZE;

	ret = tun_open(cfg->tun_name, s->tun_name);
	if (ret < 0) {
		snprintf(err, err_len, "cannot create TUN device %s: %s%s", cfg->tun_name,
			 strerror(-ret),
			 ret == -EPERM || ret == -EACCES ? " (needs root or CAP_NET_ADMIN)"
			 : ret == -EBUSY ? " (another daemon uses it? pick a name with --tun)"
					 : "");
		goto fail;
	}
	s->tun_fd = ret;
	s->ifindex = netif_index(s->tun_name);
	if (s->ifindex < 0 || (ret = netif_set_mtu(s->ifindex, cfg->mtu)) < 0) {
		snprintf(err, err_len, "cannot configure %s: %s", s->tun_name,
			 strerror(s->ifindex < 0 ? -s->ifindex : -ret));
		goto fail;
	}
	ret = udp_open(&s->udp, cfg->port, &s->port);
	if (ret < 0) {
		snprintf(err, err_len, "cannot open UDP port %u: %s", cfg->port, strerror(-ret));
		goto fail;
	}
	log_info("UDP offloads: segmentation %s, receive coalescing %s", s->udp.gso ? "on" : "off",
		 s->udp.gro ? "on" : "off");
	if (loop_fd_add(loop, s->udp.fd, EPOLLIN, session_udp_readable, s) < 0 ||
	    loop_fd_add(loop, s->tun_fd, EPOLLIN, session_tun_readable, s) < 0) {
		snprintf(err, err_len, "cannot watch the tunnel's file descriptors");
		goto fail;
	}
	return s;
fail:
	session_free(s);
	return NULL;
}

void session_free(struct session *s)
{
	char err[128];

	if (!s)
		return;
	if (s->up)
		session_set_up(s, false, err, sizeof(err));
	for (struct peer *p = s->peers.peers; p; p = p->next) {
		if (p->timer_id)
			loop_timer_cancel(s->loop, p->timer_id);
		session_peer_ctl_free(p);
	}
	peer_table_destroy(&s->peers);
	if (s->udp.fd >= 0) {
		loop_fd_remove(s->loop, s->udp.fd);
		udp_close(&s->udp);
	}
	udp_rx_free(s->rx);
	if (s->tun_fd >= 0) {
		loop_fd_remove(s->loop, s->tun_fd);
		close(s->tun_fd);
	}
	parallel_free(s->par);
	wg_cookie_checker_destroy(&s->cookies);
	wg_noise_local_destroy(&s->local);
	free(s->bufs);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

int session_set_up(struct session *s, bool up, char *err, size_t err_len)
{
	struct in_addr net4 = {htonl(ADDRESS_IPV4_PREFIX)};
	int ret;

	/* The kernel turns IPv6 off on a link below IPv6's minimum MTU. */
	bool ipv6 = s->cfg.mtu >= SESSION_IPV6_MIN_MTU;

	if (up) {
		if ((ret = netif_set_up(s->ifindex, true)) < 0 ||
		    (ret = netif_addr_add(s->ifindex, AF_INET, &s->ipv4, 32)) < 0 ||
		    (ipv6 && (ret = netif_addr_add(s->ifindex, AF_INET6, &s->ipv6, 128)) < 0) ||
		    (ret = netif_route_add(s->ifindex, AF_INET, &net4, ADDRESS_IPV4_PREFIX_LEN)) <
			    0 ||
		    (ipv6 && (ret = netif_route_add(s->ifindex, AF_INET6, &address_ipv6_prefix,
						    ADDRESS_IPV6_PREFIX_LEN)) < 0)) {
			snprintf(err, err_len, "cannot bring %s up: %s", s->tun_name,
				 strerror(-ret));
			netif_set_up(s->ifindex, false);
			return ret;
		}
		if (netif_route_overlaps(s->ifindex, AF_INET, &net4, ADDRESS_IPV4_PREFIX_LEN))
			log_warn("another route already covers part of 100.64.0.0/10 (another "
				 "VPN or a CGNAT network?): mesh IPv4 may not work; IPv6 will");
	} else {
		netif_route_del(s->ifindex, AF_INET, &net4, ADDRESS_IPV4_PREFIX_LEN);
		netif_route_del(s->ifindex, AF_INET6, &address_ipv6_prefix,
				ADDRESS_IPV6_PREFIX_LEN);
		netif_addr_del(s->ifindex, AF_INET, &s->ipv4, 32);
		netif_addr_del(s->ifindex, AF_INET6, &s->ipv6, 128);
		ret = netif_set_up(s->ifindex, false);
		if (ret < 0) {
			snprintf(err, err_len, "cannot bring %s down: %s", s->tun_name,
				 strerror(-ret));
			return ret;
		}
	}
	s->up = up;
	return 0;
}

struct in_addr session_local_ipv4(const struct session *s)
{
	return s->ipv4;
}

int session_set_local_ipv4(struct session *s, const struct in_addr *ipv4)
{
	int ret;

	if (!address_ipv4_in_mesh(ntohl(ipv4->s_addr)))
		return -EINVAL;
	if (ipv4->s_addr == s->ipv4.s_addr)
		return 0;
	if (s->up) {
		/* Add before delete: a moment with no mesh address would
		 * fail the host's sends and drop what peers send us. */
		ret = netif_addr_add(s->ifindex, AF_INET, ipv4, 32);
		if (ret < 0)
			return ret;
		ret = netif_addr_del(s->ifindex, AF_INET, &s->ipv4, 32);
		if (ret < 0) {
			/* The old address may be a colliding node's now: kept
			 * as local, it would shadow that node. Back out, so
			 * the caller sees nothing changed and can try again. */
			netif_addr_del(s->ifindex, AF_INET, ipv4, 32);
			return ret;
		}
	}
	s->ipv4 = *ipv4;
	return 0;
}

uint16_t session_port(const struct session *s)
{
	return s->port;
}

const char *session_tun_name(const struct session *s)
{
	return s->tun_name;
}

struct peer *session_peer_add(struct session *s, const uint8_t wg_public[32],
			      const uint8_t *node_id, const struct endpoint *ep, int *err)
{
	struct peer *p;

	if (peer_table_by_wg_key(&s->peers, wg_public)) {
		*err = -EEXIST;
		return NULL;
	}
	if (sodium_memcmp(wg_public, s->local.l_public, 32) == 0) {
		*err = -EINVAL;
		return NULL;
	}
	p = peer_table_add(&s->peers, &s->local, wg_public, &s->cfg.timers);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	if (node_id) {
		struct ip_addr a = {.family = AF_INET};
		uint32_t v4 = htonl(address_ipv4_derive(node_id, 0));

		p->has_node_id = true;
		memcpy(p->node_id, node_id, 32);
		memcpy(a.bytes, &v4, 4);
		peer_add_allowed(p, &a, 32);
		struct in6_addr v6;

		address_ipv6_derive(node_id, &v6);
		a.family = AF_INET6;
		memcpy(a.bytes, &v6, sizeof(v6));
		peer_add_allowed(p, &a, 128);
	}
	if (ep)
		p->endpoint = *ep;
	p->created_ns = loop_now_ns();
	if (!session_peer_ctl(s, p)) {
		peer_table_remove(&s->peers, p);
		*err = -ENOMEM;
		return NULL;
	}
	return p;
}

void session_peer_remove(struct session *s, struct peer *p)
{
	if (p->timer_id)
		loop_timer_cancel(s->loop, p->timer_id);
	session_peer_ctl_free(p);
	peer_table_remove(&s->peers, p);
}

struct peer *session_peers(struct session *s)
{
	return s->peers.peers;
}

struct peer *session_peer_by_node_id(struct session *s, const uint8_t id[32])
{
	return peer_table_by_node_id(&s->peers, id);
}

struct peer *session_peer_by_wg_key(struct session *s, const uint8_t key[32])
{
	return peer_table_by_wg_key(&s->peers, key);
}

void session_get_stats(const struct session *s, struct session_stats *st)
{
	struct parallel_stats ps;

	*st = s->stats;
	parallel_get_stats(s->par, &ps);
	st->crypto_threads = parallel_threads(s->par);
	st->crypto_batches = ps.runs;
	st->crypto_packets = ps.items;
	st->crypto_helper_packets = ps.helper_items;
}

/* ---- relays and paths --------------------------------------------------- */

void session_relay_input(struct session *s, struct relay_client *rc, const uint8_t src_id[32],
			 uint8_t *buf, size_t len)
{
	struct session_src from = {.relay = rc, .node_id = src_id};
	int type = wg_msg_type(buf, len);

	/* Only an initiation can come from someone we do not know yet: a
	 * configured peer, or a stranger when we admit them (someone asking to
	 * join; the relay vouches for the id, the handshake must prove the key
	 * it converts to). Everything else finds its peer by receiver index,
	 * as from UDP, with no lookup by id per packet. */
	if (type == WG_MSG_INITIATION && !peer_table_by_node_id(&s->peers, src_id) &&
	    !session_stranger_add(s, src_id)) {
		s->stats.drop_unknown_sender++;
		return;
	}
	session_receive(s, buf, len, type, &from, loop_now_ns());
}

/* A peer for a stranger whose initiation came through a relay. Bounded:
 * the oldest stranger makes room. */
static struct peer *session_stranger_add(struct session *s, const uint8_t node_id[32])
{
	struct peer *p, *oldest = NULL;
	unsigned n = 0;
	uint8_t wg[32];

	if (!s->admit_strangers || crypto_sign_ed25519_pk_to_curve25519(wg, node_id) != 0)
		return NULL;
	for (p = s->peers.peers; p; p = p->next) {
		if (!p->stranger)
			continue;
		n++;
		if (!oldest || p->created_ns < oldest->created_ns)
			oldest = p;
	}
	if (n >= SESSION_STRANGERS_MAX && oldest)
		session_peer_remove(s, oldest);
	if (peer_table_by_wg_key(&s->peers, wg) || sodium_memcmp(wg, s->local.l_public, 32) == 0)
		return NULL;
	p = peer_table_add(&s->peers, &s->local, wg, &s->cfg.timers);
	if (!p)
		return NULL;
	p->stranger = true;
	p->has_node_id = true;
	memcpy(p->node_id, node_id, 32);
	p->created_ns = loop_now_ns();
	if (!session_peer_ctl(s, p)) {
		peer_table_remove(&s->peers, p);
		return NULL;
	}
	s->stats.strangers_admitted++;
	return p;
}

void session_set_admit_strangers(struct session *s, bool on)
{
	s->admit_strangers = on;
}

void session_relay_gone(struct session *s, struct relay_client *rc)
{
	for (struct peer *p = s->peers.peers; p; p = p->next) {
		if (p->relay == rc)
			p->relay = NULL;
	}
}

void session_peer_set_relay(struct session *s, struct peer *p, struct relay_client *rc)
{
	(void)s;
	p->relay = rc;
}

void session_peer_add_candidate(struct session *s, struct peer *p, const struct endpoint *ep)
{
	if (pathsel_add_candidate(&p->paths, ep))
		pathsel_kick(&p->paths, loop_now_ns());
	if (!endpoint_is_set(&p->endpoint))
		p->endpoint = *ep;
	(void)s;
}

const char *session_peer_path(struct session *s, struct peer *p)
{
	uint64_t now = loop_now_ns();

	(void)s;
	if (session_peer_direct(p, now))
		return "direct";
	if (session_peer_has_relay(p))
		return "relay";
	return "none";
}

int session_stun_query(struct session *s, const struct endpoint *server, bool update,
		       session_stun_fn cb, void *arg)
{
	struct session_stun *t = NULL;
	uint8_t req[STUN_REQUEST_MAX];
	size_t len;

	for (unsigned i = 0; i < SESSION_STUN_MAX && !t; i++) {
		if (!s->stun[i].used)
			t = &s->stun[i];
	}
	if (!t) {
		/* All busy: the oldest has surely timed out for its asker. */
		t = &s->stun[0];
		for (unsigned i = 1; i < SESSION_STUN_MAX; i++) {
			if (s->stun[i].sent_ns < t->sent_ns)
				t = &s->stun[i];
		}
	}
	randombytes_buf(t->txid, sizeof(t->txid));
	if (stun_build_binding_request(t->txid, false, req, sizeof(req), &len) < 0)
		return -ENOBUFS;
	t->used = true;
	t->update = update;
	t->cb = cb;
	t->arg = arg;
	t->sent_ns = loop_now_ns();
	return udp_send(&s->udp, server, req, len);
}

void session_stun_cancel(struct session *s, void *arg)
{
	for (unsigned i = 0; i < SESSION_STUN_MAX; i++) {
		if (s->stun[i].used && s->stun[i].arg == arg)
			s->stun[i].cb = NULL;
	}
}

bool session_reflexive(const struct session *s, struct endpoint *ep)
{
	*ep = s->reflexive;
	return endpoint_is_set(ep);
}

unsigned session_candidates(struct session *s, struct endpoint *out, unsigned max)
{
	return session_local_candidates(s, out, max);
}

void session_set_mapped(struct session *s, const struct endpoint *ep)
{
	struct endpoint none = {0};

	if (!ep)
		ep = &none;
	if (endpoint_equal(ep, &s->mapped))
		return;
	s->mapped = *ep;
	session_candidates_changed(s);
}

void session_peer_set_addresses(struct session *s, struct peer *p, const struct in_addr *ipv4)
{
	struct ip_addr a = {.family = AF_INET};
	struct in6_addr v6;

	(void)s;
	p->nallowed = 0;
	p->stranger = false;
	if (!ipv4 || !p->has_node_id)
		return;
	memcpy(a.bytes, ipv4, 4);
	peer_add_allowed(p, &a, 32);
	address_ipv6_derive(p->node_id, &v6);
	a.family = AF_INET6;
	memcpy(a.bytes, &v6, sizeof(v6));
	peer_add_allowed(p, &a, 128);
}
