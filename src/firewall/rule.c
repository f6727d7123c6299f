#include "firewall/rule.h"

#include "control/codec.h"
#include "crypto/keytext.h"
#include "net/group.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	SUGGEST_DIRECTION = 0,
	SUGGEST_ACTION = 1,
	SUGGEST_PROTO = 2,
	SUGGEST_PORT_MIN = 3,
	SUGGEST_PORT_MAX = 4,
	SUGGEST_PEER = 5,
};

static bool rule_proto_matches(uint8_t proto, const struct fw_flow *f)
{
	switch (proto) {
	case FW_PROTO_TCP:
		return f->t.proto == IPPROTO_TCP;
	case FW_PROTO_UDP:
		return f->t.proto == IPPROTO_UDP;
	case FW_PROTO_ICMP:
		return f->t.proto == IPPROTO_ICMP || f->t.proto == IPPROTO_ICMPV6;
	default:
		return true;
	}
}

bool fw_rule_matches(const struct fw_rule *r, const struct fw_flow *f, bool outbound,
		     const struct fw_peer_info *peer)
{
	if (r->direction != (outbound ? FW_OUT : FW_IN) || !rule_proto_matches(r->proto, f))
		return false;
	if (r->port_max) {
		uint16_t port = f->t.dport; /* the port connected to */

		/* A port rule says nothing about packets without ports. */
		if (!f->has_ports || f->t.proto == IPPROTO_ICMP || f->t.proto == IPPROTO_ICMPV6 ||
		    port < r->port_min || port > r->port_max)
			return false;
	}
	if ((r->has_peer || r->has_user) && !peer->has_id)
		return false;
	if (r->has_peer && memcmp(r->peer, peer->id, 32) != 0)
		return false;
	if (r->has_user && memcmp(r->user, peer->id, 32) != 0)
		return false;
	if (r->has_network && (r->network_bit < 0 || !(peer->tags & (1u << r->network_bit))))
		return false;
	return true;
}

bool fw_rule_equal(const struct fw_rule *a, const struct fw_rule *b)
{
	return a->direction == b->direction && a->action == b->action && a->proto == b->proto &&
	       a->port_min == b->port_min && a->port_max == b->port_max &&
	       a->has_peer == b->has_peer && (!a->has_peer || !memcmp(a->peer, b->peer, 32)) &&
	       a->has_user == b->has_user && (!a->has_user || !memcmp(a->user, b->user, 32)) &&
	       a->has_network == b->has_network &&
	       (!a->has_network || !memcmp(a->network, b->network, 32)) &&
	       a->suggested == b->suggested && (!a->suggested || !memcmp(a->origin, b->origin, 32));
}

static const char *const proto_names[] = {"any", "tcp", "udp", "icmp"};

int fw_proto_parse(const char *text, uint8_t *proto)
{
	for (uint8_t i = 0; i < 4; i++) {
		if (strcmp(text, proto_names[i]) == 0) {
			*proto = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fw_proto_name(uint8_t proto)
{
	return proto < 4 ? proto_names[proto] : "?";
}

static int port_parse(const char *s, char **end, uint16_t *port)
{
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, end, 10);
	if (errno || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int fw_ports_parse(const char *text, uint16_t *min, uint16_t *max)
{
	char *end;

	if (port_parse(text, &end, min) < 0)
		return -EINVAL;
	if (*end == '\0') {
		*max = *min;
		return 0;
	}
	if (*end != '-' || port_parse(end + 1, &end, max) < 0 || *end != '\0' || *max < *min)
		return -EINVAL;
	return 0;
}

int fw_rule_check(const struct fw_rule *r, char *err, size_t err_len)
{
	if (r->direction > FW_OUT || r->action > FW_DENY || r->proto > FW_PROTO_ICMP) {
		snprintf(err, err_len, "bad direction, action or protocol");
		return -EINVAL;
	}
	if (r->port_max && (r->port_min < 1 || r->port_min > r->port_max)) {
		snprintf(err, err_len, "bad port range");
		return -EINVAL;
	}
	if (!r->port_max && r->port_min) {
		snprintf(err, err_len, "bad port range");
		return -EINVAL;
	}
	if (r->port_max && r->proto == FW_PROTO_ICMP) {
		snprintf(err, err_len, "ICMP has no ports: leave out --port");
		return -EINVAL;
	}
	if (r->suggested && (!r->has_network || memcmp(r->network, r->origin, 32) != 0)) {
		snprintf(err, err_len, "a suggested rule applies to its own network only");
		return -EINVAL;
	}
	return 0;
}

static void ports_format(uint16_t min, uint16_t max, char out[16])
{
	if (min == max)
		snprintf(out, 16, "%u", min);
	else
		snprintf(out, 16, "%u-%u", min, max);
}

static int json_set_id(json_t *o, const char *key, const uint8_t id[32])
{
	char text[NODE_ID_TEXT_LEN + 1];

	keytext_format_node_id(id, text);
	return json_object_set_new(o, key, json_string(text));
}

json_t *fw_rule_to_json(const struct fw_rule *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "direction", r->direction == FW_IN ? "in" : "out",
			      "action", r->action == FW_ALLOW ? "allow" : "deny", "proto",
			      fw_proto_name(r->proto));
	char ports[16];
	int err = 0;

	if (!o)
		return NULL;
	if (r->port_max) {
		ports_format(r->port_min, r->port_max, ports);
		err |= json_object_set_new(o, "ports", json_string(ports));
	}
	if (r->has_peer)
		err |= json_set_id(o, "peer", r->peer);
	if (r->peer_name[0])
		err |= json_object_set_new(o, "peer_name", json_string(r->peer_name));
	if (r->has_user)
		err |= json_set_id(o, "user", r->user);
	if (r->has_network)
		err |= json_set_id(o, "network", r->network);
	if (r->suggested)
		err |= json_set_id(o, "origin", r->origin);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int json_get_id(const json_t *o, const char *key, bool *has, uint8_t id[32])
{
	const json_t *v = json_object_get(o, key);

	*has = v != NULL;
	if (!v)
		return 0;
	return json_is_string(v) && keytext_parse_node_id(json_string_value(v), id) == 0 ? 0
											 : -EINVAL;
}

int fw_rule_from_json(const json_t *o, struct fw_rule *r, char *err, size_t err_len)
{
	const char *dir, *action, *proto, *ports = NULL, *name = NULL;

	memset(r, 0, sizeof(*r));
	r->network_bit = -1;
	if (!json_is_object(o) ||
	    json_unpack((json_t *)o, "{s:s, s:s, s:s, s?s, s?s}", "direction", &dir, "action",
			&action, "proto", &proto, "ports", &ports, "peer_name", &name) < 0)
		goto bad;
	if (strcmp(dir, "in") == 0)
		r->direction = FW_IN;
	else if (strcmp(dir, "out") == 0)
		r->direction = FW_OUT;
	else
		goto bad;
	if (strcmp(action, "allow") == 0)
		r->action = FW_ALLOW;
	else if (strcmp(action, "deny") == 0)
		r->action = FW_DENY;
	else
		goto bad;
	if (fw_proto_parse(proto, &r->proto) < 0)
		goto bad;
	if (ports && fw_ports_parse(ports, &r->port_min, &r->port_max) < 0)
		goto bad;
	if (name) {
		if (strlen(name) > FW_HOSTNAME_MAX)
			goto bad;
		strcpy(r->peer_name, name);
	}
	if (json_get_id(o, "peer", &r->has_peer, r->peer) < 0 ||
	    json_get_id(o, "user", &r->has_user, r->user) < 0 ||
	    json_get_id(o, "network", &r->has_network, r->network) < 0 ||
	    json_get_id(o, "origin", &r->suggested, r->origin) < 0)
		goto bad;
	return fw_rule_check(r, err, err_len);
bad:
	snprintf(err, err_len, "not a firewall rule");
	return -EINVAL;
}

int fw_suggestion_encode(const struct fw_suggestion *s, uint8_t *out, size_t cap)
{
	struct ctl_codec_writer w;
	size_t host_len = strlen(s->peer_host), len;
	bool ports = s->port_max != 0;

	if (s->direction > FW_OUT || s->action > FW_DENY || s->proto > FW_PROTO_ICMP ||
	    (ports &&
	     (s->port_min < 1 || s->port_min > s->port_max || s->proto == FW_PROTO_ICMP)) ||
	    (!ports && s->port_min) || (host_len && !group_hostname_valid(s->peer_host)))
		return -EINVAL;
	ctl_codec_writer_init(&w, out, cap);
	ctl_codec_put_map(&w, 3 + (ports ? 2 : 0) + (host_len ? 1 : 0));
	ctl_codec_put_uint(&w, SUGGEST_DIRECTION);
	ctl_codec_put_uint(&w, s->direction);
	ctl_codec_put_uint(&w, SUGGEST_ACTION);
	ctl_codec_put_uint(&w, s->action);
	ctl_codec_put_uint(&w, SUGGEST_PROTO);
	ctl_codec_put_uint(&w, s->proto);
	if (ports) {
		ctl_codec_put_uint(&w, SUGGEST_PORT_MIN);
		ctl_codec_put_uint(&w, s->port_min);
		ctl_codec_put_uint(&w, SUGGEST_PORT_MAX);
		ctl_codec_put_uint(&w, s->port_max);
	}
	if (host_len) {
		ctl_codec_put_uint(&w, SUGGEST_PEER);
		ctl_codec_put_str(&w, s->peer_host, host_len);
	}
	if (ctl_codec_writer_error(&w))
		return ctl_codec_writer_error(&w);
	ctl_codec_writer_data(&w, &len);
	return (int)len;
}

static int get_small_uint(struct ctl_codec_reader *r, uint64_t max, uint64_t *v)
{
	int err = ctl_codec_get_uint(r, v);

	return err ? err : (*v > max ? -EBADMSG : 0);
}

int fw_suggestion_decode(const uint8_t *buf, size_t len, struct fw_suggestion *s)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map map;
	uint64_t key, v = 0;
	unsigned seen = 0;
	const char *host;
	size_t host_len;
	int err;

	memset(s, 0, sizeof(*s));
	ctl_codec_reader_init(&r, buf, len, CTL_CODEC_CANONICAL);
	err = ctl_codec_map_begin(&r, &map);
	while (!err && (err = ctl_codec_map_next(&r, &map, &key)) > 0) {
		err = 0;
		switch (key) {
		case SUGGEST_DIRECTION:
			err = get_small_uint(&r, FW_OUT, &v);
			s->direction = (uint8_t)v;
			break;
		case SUGGEST_ACTION:
			err = get_small_uint(&r, FW_DENY, &v);
			s->action = (uint8_t)v;
			break;
		case SUGGEST_PROTO:
			err = get_small_uint(&r, FW_PROTO_ICMP, &v);
			s->proto = (uint8_t)v;
			break;
		case SUGGEST_PORT_MIN:
			err = get_small_uint(&r, 65535, &v);
			s->port_min = (uint16_t)v;
			break;
		case SUGGEST_PORT_MAX:
			err = get_small_uint(&r, 65535, &v);
			s->port_max = (uint16_t)v;
			break;
		case SUGGEST_PEER:
			err = ctl_codec_get_str(&r, &host, &host_len);
			if (!err && (host_len == 0 || host_len > FW_HOSTNAME_MAX ||
				     memchr(host, '\0', host_len)))
				err = -EBADMSG;
			if (!err) {
				memcpy(s->peer_host, host, host_len);
				s->peer_host[host_len] = '\0';
				if (!group_hostname_valid(s->peer_host))
					err = -EBADMSG;
			}
			break;
		default:
			err = ctl_codec_skip(&r);
			break;
		}
		if (key <= SUGGEST_PEER)
			seen |= 1u << key;
	}
	if (!err)
		err = ctl_codec_reader_end(&r);
	if (err || (seen & 7) != 7 || !!(seen & 8) != !!(seen & 16))
		return -EBADMSG;
	if (s->port_max &&
	    (s->port_min < 1 || s->port_min > s->port_max || s->proto == FW_PROTO_ICMP))
		return -EBADMSG;
	if ((seen & 8) && !s->port_max)
		return -EBADMSG;
	return 0;
}

void fw_suggestion_describe(const struct fw_suggestion *s, char *out, size_t cap)
{
	char ports[16] = "";

	if (s->port_max)
		ports_format(s->port_min, s->port_max, ports);
	snprintf(out, cap, "%s %s %s%s%s%s%s", s->direction == FW_IN ? "in" : "out",
		 s->action == FW_ALLOW ? "allow" : "deny", fw_proto_name(s->proto),
		 ports[0] ? " port " : "", ports, s->peer_host[0] ? " peer " : "", s->peer_host);
}
