/* The IPC commands the daemon answers, and who may run them. */
#include "control/codec.h"
#include "control/messages.h"
#include "control/reliable.h"
#include "crypto/address.h"
#include "crypto/keytext.h"
#include "daemon/daemon.h"
#include "daemon/fwservice.h"
#include "daemon/ipc_server.h"
#include "daemon/magicdns.h"
#include "daemon/netcheck.h"
#include "daemon/static_peers.h"
#include "path/relay_client.h"
#include "session/session.h"
#include "util/eventloop.h"
#include "util/log.h"
#include "util/version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum command_access {
	ACCESS_READ,   /* any local user */
	ACCESS_MUTATE, /* root or the operator */
	ACCESS_ROOT,   /* root only */
};

struct command {
	const char *name;
	enum command_access access;
	json_t *(*run)(struct daemon *d, json_t *args, const struct ipc_caller *caller);
	/* Commands that may answer later take the request instead. */
	json_t *(*run_deferred)(struct daemon *d, struct ipc_request *req, json_t *args);
};

static json_t *addresses_json(const struct daemon *d, json_t *obj)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], id[NODE_ID_TEXT_LEN + 1];
	/* what is on the TUN: a roster may have given us another index */
	struct in_addr a4 = session_local_ipv4(d->session);
	struct in6_addr a6;

	address_ipv6_derive(d->identity.sign_public, &a6);
	inet_ntop(AF_INET, &a4, v4, sizeof(v4));
	inet_ntop(AF_INET6, &a6, v6, sizeof(v6));
	keytext_format_node_id(d->identity.sign_public, id);
	json_object_set_new(obj, "id", json_string(id));
	json_object_set_new(obj, "ipv4", json_string(v4));
	json_object_set_new(obj, "ipv6", json_string(v6));
	return obj;
}

static json_t *cmd_id(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	char wg[KEY_BASE64_TEXT_LEN + 1];
	json_t *r = addresses_json(d, json_object());

	(void)args;
	(void)caller;
	keytext_format_base64(d->identity.wg_public, wg);
	json_object_set_new(r, "wg_public_key", json_string(wg));
	return ipc_response_ok(r);
}

static json_t *peer_json(struct daemon *d, struct peer *p)
{
	struct ctl_channel_stats cs;
	char text[ENDPOINT_TEXT_MAX > 64 ? ENDPOINT_TEXT_MAX : 64], wg[KEY_BASE64_TEXT_LEN + 1];
	char id[NODE_ID_TEXT_LEN + 1];
	json_t *o = json_object(), *allowed = json_array();

	if (p->has_node_id) {
		keytext_format_node_id(p->node_id, id);
		json_object_set_new(o, "id", json_string(id));
	} else {
		json_object_set_new(o, "id", json_null());
	}
	keytext_format_base64(p->noise.r_public, wg);
	json_object_set_new(o, "wg_public_key", json_string(wg));
	json_object_set_new(o, "ipv4", json_null());
	json_object_set_new(o, "ipv6", json_null());
	for (unsigned i = 0; i < p->nallowed; i++) {
		const struct peer_prefix *a = &p->allowed[i];

		ip_prefix_format(&a->addr, a->len, text, sizeof(text));
		json_array_append_new(allowed, json_string(text));
		if (p->has_node_id && a->len == (a->addr.family == AF_INET ? 32 : 128)) {
			*strchr(text, '/') = '\0';
			json_object_set_new(o, a->addr.family == AF_INET ? "ipv4" : "ipv6",
					    json_string(text));
		}
	}
	json_object_set_new(o, "allowed_ips", allowed);
	if (endpoint_is_set(&p->endpoint)) {
		endpoint_format(&p->endpoint, text);
		json_object_set_new(o, "endpoint", json_string(text));
	} else {
		json_object_set_new(o, "endpoint", json_null());
	}
	json_object_set_new(o, "path", json_string(session_peer_path(d->session, p)));
	json_object_set_new(o, "relay",
			    p->relay ? json_string(relay_client_url(p->relay)) : json_null());
	json_object_set_new(o, "last_handshake",
			    p->last_handshake ? json_integer((json_int_t)p->last_handshake)
					      : json_null());
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)p->rx_bytes));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)p->tx_bytes));
	session_control_stats(d->session, p, &cs);
	json_object_set_new(
		o, "control",
		json_pack("{s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "srtt_ms",
			  (double)cs.cs_srtt / 1e6, "rto_ms", (double)cs.cs_rto / 1e6, "msgs_sent",
			  (json_int_t)cs.cs_msgs_sent, "msgs_failed", (json_int_t)cs.cs_msgs_failed,
			  "msgs_delivered", (json_int_t)cs.cs_msgs_delivered,
			  "frames_retransmitted", (json_int_t)cs.cs_frames_retransmitted,
			  "frames_dropped", (json_int_t)cs.cs_frames_dropped, "queued",
			  (json_int_t)cs.cs_tx_msgs, "in_flight", (json_int_t)cs.cs_in_flight));
	return o;
}

static json_t *cmd_status(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	json_t *r = json_object(), *peers = json_array();

	(void)args;
	(void)caller;
	json_object_set_new(r, "version", json_string(RAY_VERSION));
	addresses_json(d, r);
	json_object_set_new(r, "state", json_string(d->active ? "up" : "down"));
	json_object_set_new(r, "networks", networks_status(d));
	json_object_set_new(r, "pending_joins", networks_pending_joins(d));
	for (struct peer *p = session_peers(d->session); p; p = p->next)
		json_array_append_new(peers, peer_json(d, p));
	json_object_set_new(r, "peers", peers);
	json_object_set_new(r, "relays", relays_status(d));
	json_object_set_new(r, "dns", magicdns_status(d));
	{
		struct endpoint pub;
		char text[ENDPOINT_TEXT_MAX];

		if (session_reflexive(d->session, &pub)) {
			endpoint_format(&pub, text);
			json_object_set_new(r, "public_endpoint", json_string(text));
		} else {
			json_object_set_new(r, "public_endpoint", json_null());
		}
	}
	json_object_set_new(r, "tun", json_string(session_tun_name(d->session)));
	json_object_set_new(r, "firewall", fwservice_status(d));
	json_object_set_new(r, "port", json_integer(session_port(d->session)));
	{
		struct session_stats st;

		session_get_stats(d->session, &st);
		json_object_set_new(
			r, "counters",
			json_pack(
				"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
				"s:I, s:I}",
				"rx_packets", (json_int_t)st.rx_packets, "tx_packets",
				(json_int_t)st.tx_packets, "drop_no_route",
				(json_int_t)st.drop_no_route, "drop_no_endpoint",
				(json_int_t)st.drop_no_endpoint, "drop_bad_source",
				(json_int_t)st.drop_bad_source, "drop_decrypt",
				(json_int_t)st.drop_decrypt, "drop_malformed",
				(json_int_t)st.drop_malformed, "drop_staged_full",
				(json_int_t)st.drop_staged_full, "drop_down",
				(json_int_t)st.drop_down, "drop_filtered",
				(json_int_t)st.drop_filtered, "drop_relay",
				(json_int_t)st.drop_relay, "drop_unknown_sender",
				(json_int_t)st.drop_unknown_sender, "handshakes_initiated",
				(json_int_t)st.handshakes_initiated, "handshakes_completed",
				(json_int_t)st.handshakes_completed, "cookies_sent",
				(json_int_t)st.cookies_sent));
		json_object_set_new(r, "crypto",
				    json_pack("{s:i, s:I, s:I, s:I}", "threads",
					      (int)st.crypto_threads, "batches",
					      (json_int_t)st.crypto_batches, "packets",
					      (json_int_t)st.crypto_packets, "helper_packets",
					      (json_int_t)st.crypto_helper_packets));
	}
	json_object_set_new(r, "operator_uid",
			    d->settings.has_operator ? json_integer(d->settings.operator_uid)
						     : json_null());
	json_object_set_new(r, "uptime_seconds",
			    json_integer((json_int_t)((loop_now_ms() - d->started_ms) / 1000)));
	return ipc_response_ok(r);
}

static json_t *set_active(struct daemon *d, bool up)
{
	char err[256];

	if (daemon_set_active(d, up, err, sizeof(err)) < 0)
		return ipc_response_error("%s", err);
	return ipc_response_ok(json_pack("{s:s}", "state", up ? "up" : "down"));
}

static json_t *cmd_up(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)args;
	(void)caller;
	return set_active(d, true);
}

static json_t *cmd_down(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)args;
	(void)caller;
	return set_active(d, false);
}

static json_t *cmd_shutdown(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)args;
	log_info("shutdown requested by uid %u (pid %d)", (unsigned)caller->uid, (int)caller->pid);
	daemon_request_shutdown(d);
	return ipc_response_ok(NULL);
}

static json_t *cmd_set_operator(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	struct settings next = d->settings;
	json_t *uid = json_object_get(args, "uid");
	int ret;

	(void)caller;
	if (json_is_null(uid)) {
		next.has_operator = false;
		next.operator_uid = 0;
	} else if (json_is_integer(uid) && json_integer_value(uid) >= 0 &&
		   json_integer_value(uid) < (json_int_t)0xffffffff) {
		next.has_operator = true;
		next.operator_uid = (uid_t)json_integer_value(uid);
	} else {
		return ipc_response_error("set-operator needs \"uid\": a uid or null");
	}
	ret = settings_save(d->settings_path, &next);
	if (ret < 0)
		return ipc_response_error("cannot save settings: %s", strerror(-ret));
	d->settings = next;
	if (next.has_operator)
		log_info("operator set to uid %u", (unsigned)next.operator_uid);
	else
		log_info("operator cleared");
	return ipc_response_ok(
		json_pack("{s:o}", "operator_uid",
			  next.has_operator ? json_integer(next.operator_uid) : json_null()));
}

static json_t *cmd_debug_peer_add(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	char err[256];
	struct peer *p = static_peers_add(d, args, err, sizeof(err));

	(void)caller;
	if (!p)
		return ipc_response_error("%s", err);
	log_info("peer %s added", json_string_value(json_object_get(args, "peer")));
	return ipc_response_ok(peer_json(d, p));
}

static json_t *cmd_debug_peer_remove(struct daemon *d, json_t *args,
				     const struct ipc_caller *caller)
{
	const char *name = json_string_value(json_object_get(args, "peer"));
	char err[256];

	(void)caller;
	if (!name)
		return ipc_response_error("debug-peer-remove needs a peer");
	if (static_peers_remove(d, name, err, sizeof(err)) < 0)
		return ipc_response_error("%s", err);
	log_info("peer %s removed", name);
	return ipc_response_ok(NULL);
}

/* A peer named by node id, a unique prefix of one (4+ characters), a mesh
 * address, or wg:BASE64. Sets ERR to a reason when there is none. */
struct peer *daemon_peer_resolve(struct daemon *d, const char *name, const char **err)
{
	uint8_t wg[32], node_id[32];
	struct peer *found = NULL;
	struct ip_addr addr;
	unsigned len;
	size_t n = strlen(name);
	bool has_id;

	*err = "no such peer";
	if (static_peers_parse_name(name, wg, node_id, &has_id) == 0)
		return session_peer_by_wg_key(d->session, wg);
	if (ip_prefix_parse(name, &addr, &len) == 0) {
		if (len != (addr.family == AF_INET ? 32u : 128u)) {
			*err = "give an address, not a prefix";
			return NULL;
		}
		for (struct peer *p = session_peers(d->session); p; p = p->next)
			if (peer_allows(p, &addr))
				return p;
		return NULL;
	}
	/* a hostname in one of our networks, or host.network */
	if (networks_resolve_member(d, name, node_id) == 0)
		return session_peer_by_node_id(d->session, node_id);
	if (n < 4 || n >= NODE_ID_TEXT_LEN) {
		*err = "not a member's hostname, a node id, a unique id prefix (4+ characters), "
		       "a mesh address or wg:KEY";
		return NULL;
	}
	for (struct peer *p = session_peers(d->session); p; p = p->next) {
		char id[NODE_ID_TEXT_LEN + 1];

		if (!p->has_node_id)
			continue;
		keytext_format_node_id(p->node_id, id);
		if (strncasecmp(id, name, n) != 0)
			continue;
		if (found) {
			*err = "ambiguous id prefix";
			return NULL;
		}
		found = p;
	}
	return found;
}

#define PING_TIMEOUT_MS_MAX 60000

struct ping_request {
	struct daemon *d;
	struct ipc_request *req;
	uint64_t sent_ns;
	char peer[NODE_ID_TEXT_LEN + 8];
	char endpoint[RELAYS_URL_MAX + 1]; /* or the relay's URL */
	char path[8];
};

static void ping_done(void *arg, int status, const uint8_t *body, size_t len)
{
	struct ping_request *pr = arg;
	struct ctl_msg_ping pong;
	uint64_t now = loop_now_ns();

	if (status == 0 &&
	    (ctl_msg_ping_decode(body, len, &pong) < 0 || pong.mp_sent_ns != pr->sent_ns))
		status = -EBADMSG;
	if (status == 0)
		ipc_request_reply(pr->req, ipc_response_ok(json_pack(
						   "{s:s, s:f, s:s, s:s}", "peer", pr->peer,
						   "rtt_ms", (double)(now - pr->sent_ns) / 1e6,
						   "path", pr->path, "endpoint", pr->endpoint)));
	else if (status == -ETIMEDOUT)
		ipc_request_reply(pr->req, ipc_response_error("no answer from %s", pr->peer));
	else if (status == -ECANCELED)
		ipc_request_reply(pr->req, ipc_response_error("ping to %s cancelled: peer removed",
							      pr->peer));
	else
		ipc_request_reply(pr->req, ipc_response_error("ping to %s failed: %s", pr->peer,
							      strerror(-status)));
	free(pr);
}

static json_t *cmd_ping(struct daemon *d, struct ipc_request *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "peer")), *why;
	json_int_t timeout_ms = json_integer_value(json_object_get(args, "timeout_ms"));
	struct ctl_codec_writer w;
	struct ctl_msg_ping ping;
	struct ping_request *pr;
	uint8_t body[64];
	size_t body_len;
	struct peer *p;
	int ret;

	if (!name)
		return ipc_response_error("ping needs a peer");
	p = daemon_peer_resolve(d, name, &why);
	if (!p)
		return ipc_response_error("%s: %s", why, name);
	if (timeout_ms <= 0 || timeout_ms > PING_TIMEOUT_MS_MAX)
		timeout_ms = 3000;
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return ipc_response_error("out of memory");
	pr->d = d;
	pr->req = req;
	pr->sent_ns = loop_now_ns();
	if (p->has_node_id) {
		keytext_format_node_id(p->node_id, pr->peer);
	} else {
		strcpy(pr->peer, "wg:");
		keytext_format_base64(p->noise.r_public, pr->peer + 3);
	}
	snprintf(pr->path, sizeof(pr->path), "%s", session_peer_path(d->session, p));
	if (strcmp(pr->path, "relay") == 0)
		snprintf(pr->endpoint, sizeof(pr->endpoint), "%s", relay_client_url(p->relay));
	else if (endpoint_is_set(&p->endpoint))
		endpoint_format(&p->endpoint, pr->endpoint);
	ping.mp_nonce = randombytes_random();
	ping.mp_sent_ns = pr->sent_ns;
	ctl_codec_writer_init(&w, body, sizeof(body));
	ctl_msg_ping_encode(&w, &ping);
	ctl_codec_writer_data(&w, &body_len);
	ret = session_request(d->session, p, CTL_MSG_PING, body, body_len,
			      (uint64_t)timeout_ms * 1000000ull, ping_done, pr);
	if (ret < 0) {
		free(pr);
		return ipc_response_error("cannot ping %s: %s", name, strerror(-ret));
	}
	return IPC_DEFERRED;
}

#define DEBUG_SEND_MAX (CTL_CHANNEL_MAX_MSG - 64) /* room for the envelope */

struct send_request {
	struct ipc_request *req;
	uint64_t sent_ns;
	size_t len;
	uint8_t digest[CTL_ECHO_DIGEST_LEN];
};

static void debug_send_done(void *arg, int status, const uint8_t *body, size_t len)
{
	struct send_request *sr = arg;
	uint8_t digest[CTL_ECHO_DIGEST_LEN];
	uint64_t length = 0;

	if (status == 0 &&
	    (ctl_msg_echo_reply_decode(body, len, &length, digest) < 0 || length != sr->len ||
	     sodium_memcmp(digest, sr->digest, sizeof(digest)) != 0))
		status = -EBADMSG;
	if (status == 0)
		ipc_request_reply(sr->req, ipc_response_ok(json_pack(
						   "{s:I, s:b, s:f}", "bytes", (json_int_t)sr->len,
						   "intact", 1, "seconds",
						   (double)(loop_now_ns() - sr->sent_ns) / 1e9)));
	else
		ipc_request_reply(sr->req,
				  ipc_response_error("send failed: %s",
						     status == -EBADMSG
							     ? "the peer received other bytes"
							     : strerror(-status)));
	free(sr);
}

/* Send BYTES random bytes to a peer over the control channel; the peer
 * answers with their length and hash. */
static json_t *cmd_debug_send(struct daemon *d, struct ipc_request *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "peer")), *why;
	json_int_t bytes = json_integer_value(json_object_get(args, "bytes"));
	json_int_t timeout_ms = json_integer_value(json_object_get(args, "timeout_ms"));
	struct ctl_codec_writer w;
	struct send_request *sr;
	uint8_t *data, *msg;
	size_t msg_len;
	struct peer *p;
	int ret;

	if (!name || !(p = daemon_peer_resolve(d, name, &why)))
		return ipc_response_error("no such peer: %s", name ? name : "");
	if (bytes < 0 || bytes > DEBUG_SEND_MAX)
		return ipc_response_error("bytes must be 0..%d", DEBUG_SEND_MAX);
	if (timeout_ms <= 0 || timeout_ms > 120000)
		timeout_ms = 30000;
	sr = calloc(1, sizeof(*sr));
	data = malloc((size_t)bytes + 1);
	if (!sr || !data) {
		free(sr);
		free(data);
		return ipc_response_error("out of memory");
	}
	randombytes_buf(data, (size_t)bytes);
	crypto_generichash(sr->digest, sizeof(sr->digest), data, (size_t)bytes, NULL, 0);
	ctl_codec_writer_init_dynamic(&w, CTL_CHANNEL_MAX_MSG);
	ctl_msg_echo_request_encode(&w, data, (size_t)bytes);
	free(data);
	msg = ctl_codec_writer_take(&w, &msg_len);
	if (!msg) {
		free(sr);
		return ipc_response_error("cannot encode the message");
	}
	sr->req = req;
	sr->len = (size_t)bytes;
	sr->sent_ns = loop_now_ns();
	ret = session_request(d->session, p, CTL_MSG_ECHO, msg, msg_len,
			      (uint64_t)timeout_ms * 1000000ull, debug_send_done, sr);
	free(msg);
	if (ret < 0) {
		free(sr);
		return ipc_response_error("cannot send: %s", strerror(-ret));
	}
	return IPC_DEFERRED;
}

static json_t *cmd_create(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return networks_cmd_create(d, args);
}

static json_t *cmd_invite(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return networks_cmd_invite(d, args);
}

static json_t *cmd_kick(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return networks_cmd_kick(d, args);
}

static json_t *cmd_leave(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return networks_cmd_leave(d, args);
}

static json_t *cmd_invites(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return networks_cmd_invites(d, args);
}

static json_t *cmd_requests(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return networks_cmd_requests(d, args);
}

static json_t *cmd_nuke(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return networks_cmd_nuke(d, args);
}

static json_t *cmd_firewall(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return fwservice_cmd(d, args);
}

static json_t *cmd_firewall_show(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	(void)caller;
	return fwservice_cmd_show(d, args);
}

static const struct command commands[] = {
	{"status", ACCESS_READ, cmd_status, NULL},
	{"id", ACCESS_READ, cmd_id, NULL},
	{"up", ACCESS_MUTATE, cmd_up, NULL},
	{"down", ACCESS_MUTATE, cmd_down, NULL},
	{"shutdown", ACCESS_MUTATE, cmd_shutdown, NULL},
	{"set-operator", ACCESS_ROOT, cmd_set_operator, NULL},
	{"debug-peer-add", ACCESS_MUTATE, cmd_debug_peer_add, NULL},
	{"debug-peer-remove", ACCESS_MUTATE, cmd_debug_peer_remove, NULL},
	{"ping", ACCESS_READ, NULL, cmd_ping},
	{"debug-send", ACCESS_MUTATE, NULL, cmd_debug_send},
	{"netcheck", ACCESS_READ, NULL, netcheck_start},
	{"create", ACCESS_MUTATE, cmd_create, NULL},
	{"invite", ACCESS_MUTATE, cmd_invite, NULL},
	{"join", ACCESS_MUTATE, NULL, networks_cmd_join},
	{"kick", ACCESS_MUTATE, cmd_kick, NULL},
	{"hostname", ACCESS_MUTATE, NULL, networks_cmd_hostname},
	{"admin", ACCESS_MUTATE, NULL, networks_cmd_admin},
	{"requests", ACCESS_MUTATE, cmd_requests, NULL},
	{"nuke", ACCESS_MUTATE, cmd_nuke, NULL},
	{"leave", ACCESS_MUTATE, cmd_leave, NULL},
	{"invites", ACCESS_MUTATE, cmd_invites, NULL},
	{"firewall", ACCESS_MUTATE, cmd_firewall, NULL},
	{"firewall-show", ACCESS_READ, cmd_firewall_show, NULL},
};

static const char *command_denied(const struct daemon *d, const struct command *c,
				  const struct ipc_caller *caller)
{
	if (c->access == ACCESS_READ || caller->uid == 0)
		return NULL;
	if (c->access == ACCESS_ROOT)
		return "permission denied: only root may do this (re-run with sudo)";
	if (d->settings.has_operator && caller->uid == d->settings.operator_uid)
		return NULL;
	return "permission denied: this user may not change rayfish; "
	       "grant access with: sudo ray set-operator USER";
}

json_t *daemon_handle_request(struct ipc_request *req, const char *cmd, json_t *args,
			      const struct ipc_caller *caller, void *arg)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *denied;

		if (strcmp(commands[i].name, cmd) != 0)
			continue;
		denied = command_denied(d, &commands[i], caller);
		if (denied) {
			log_info("refused '%s' from uid %u (pid %d)", cmd, (unsigned)caller->uid,
				 (int)caller->pid);
			return ipc_response_error("%s", denied);
		}
		if (commands[i].run_deferred)
			return commands[i].run_deferred(d, req, args);
		return commands[i].run(d, args, caller);
	}
	return ipc_response_error("unknown command '%.64s'", cmd);
}
