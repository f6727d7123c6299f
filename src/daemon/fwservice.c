#include "daemon/fwservice.h"

#include "crypto/keytext.h"
#include "daemon/daemon.h"
#include "daemon/ipc_server.h"
#include "daemon/networks.h"
#include "firewall/firewall.h"
#include "net/group.h"
#include "session/peer.h"
#include "session/session.h"
#include "util/eventloop.h"
#include "util/fileio.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FWSERVICE_FILE_MAX (1u << 20)

/* What this node keeps about one network's suggestions. */
struct fwservice_network {
	bool used;
	uint8_t room[32];
	bool auto_accept;
	struct fw_rule pending[FW_RULES_MAX]; /* offered, not yet accepted or denied */
	unsigned npending;
	struct fw_rule declined[FW_RULES_MAX]; /* denied here: not offered again */
	unsigned ndeclined;
};

struct fwservice {
	struct firewall *fw;
	char path[PATH_MAX];
	/* every network we know something about: ours, and ones whose
	 * settings were loaded before their roster */
	struct fwservice_network nets[NETWORKS_MAX * 2];
	struct fw_rule scratch[FW_RULES_MAX], installed[FW_RULES_MAX], keep[FW_RULES_MAX];
};

static struct fwservice_network *fws_net(struct fwservice *fs, const uint8_t room[32], bool create)
{
	struct fwservice_network *free_slot = NULL;

	for (unsigned i = 0; i < sizeof(fs->nets) / sizeof(fs->nets[0]); i++) {
		if (fs->nets[i].used && memcmp(fs->nets[i].room, room, 32) == 0)
			return &fs->nets[i];
		if (!fs->nets[i].used && !free_slot)
			free_slot = &fs->nets[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	memcpy(free_slot->room, room, 32);
	return free_slot;
}

static void id_text(const uint8_t id[32], char out[NODE_ID_TEXT_LEN + 1])
{
	keytext_format_node_id(id, out);
}

/* ---- the rules file ------------------------------------------------------ */

static int fws_save(struct daemon *d)
{
	struct fwservice *fs = d->fw;
	json_t *o = fw_save(fs->fw), *autos = json_array(), *declined = json_object();
	char room[NODE_ID_TEXT_LEN + 1], *text;
	int ret = -ENOMEM;

	if (!o || !autos || !declined)
		goto out;
	for (unsigned i = 0; i < sizeof(fs->nets) / sizeof(fs->nets[0]); i++) {
		struct fwservice_network *n = &fs->nets[i];
		json_t *list;

		if (!n->used)
			continue;
		id_text(n->room, room);
		if (n->auto_accept)
			json_array_append_new(autos, json_string(room));
		if (!n->ndeclined)
			continue;
		list = json_array();
		for (unsigned k = 0; k < n->ndeclined; k++)
			json_array_append_new(list, fw_rule_to_json(&n->declined[k]));
		json_object_set_new(declined, room, list);
	}
	json_object_set(o, "auto_accept", autos);
	json_object_set(o, "declined", declined);
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		goto out;
	ret = file_write_atomic(fs->path, text, strlen(text), 0600);
	free(text);
	if (ret < 0)
		log_warn("cannot save %s: %s", fs->path, strerror(-ret));
out:
	json_decref(o);
	json_decref(autos);
	json_decref(declined);
	return ret;
}

/* The parts of firewall.json beyond the firewall's own. */
static int fws_load_networks(struct fwservice *fs, const json_t *o, char *err, size_t err_len)
{
	const json_t *autos = json_object_get(o, "auto_accept");
	const json_t *declined = json_object_get(o, "declined"), *v, *list;
	const char *key;
	uint8_t room[32];
	size_t i;
	char why[96];

	if ((autos && !json_is_array(autos)) || (declined && !json_is_object(declined)))
		goto bad;
	json_array_foreach(autos, i, v)
	{
		struct fwservice_network *n;

		if (!json_is_string(v) || keytext_parse_node_id(json_string_value(v), room) < 0 ||
		    !(n = fws_net(fs, room, true)))
			goto bad;
		n->auto_accept = true;
	}
	json_object_foreach((json_t *)declined, key, list)
	{
		struct fwservice_network *n;

		if (keytext_parse_node_id(key, room) < 0 || !json_is_array(list) ||
		    json_array_size(list) > FW_RULES_MAX || !(n = fws_net(fs, room, true)))
			goto bad;
		json_array_foreach(list, i, v)
		{
			if (fw_rule_from_json(v, &n->declined[i], why, sizeof(why)) < 0) {
				snprintf(err, err_len, "declined rule: %s", why);
				return -EINVAL;
			}
		}
		n->ndeclined = (unsigned)json_array_size(list);
	}
	return 0;
bad:
	snprintf(err, err_len, "bad auto_accept or declined lists");
	return -EINVAL;
}

static int fws_filter(void *arg, const struct peer *p, bool outbound, const uint8_t *pkt,
		      size_t len, uint64_t now, uint8_t *reply, size_t cap)
{
	struct fwservice *fs = arg;
	struct fw_peer_info info = {
		.has_id = p->has_node_id, .id = p->node_id, .tags = p->filter_tags};

	return fw_filter(fs->fw, &info, outbound, pkt, len, now, reply, cap);
}

int fwservice_start(struct daemon *d, char *err, size_t err_len)
{
	struct fwservice *fs = calloc(1, sizeof(*fs));
	json_t *o = NULL;
	json_error_t jerr;
	char *text = NULL, why[160];
	size_t len;
	int ret;

	if (!fs || !(fs->fw = fw_new(0))) {
		free(fs);
		snprintf(err, err_len, "firewall: out of memory");
		return -ENOMEM;
	}
	snprintf(fs->path, sizeof(fs->path), "%s/firewall.json", d->options.state_dir);
	ret = file_read_all(fs->path, FWSERVICE_FILE_MAX, &text, &len);
	if (ret == -ENOENT) {
		ret = 0;
	} else if (ret < 0) {
		snprintf(err, err_len, "%s: %s", fs->path, strerror(-ret));
	} else if (!(o = json_loadb(text, len, 0, &jerr))) {
		snprintf(err, err_len, "%s: line %d: %s (fix it or remove the file)", fs->path,
			 jerr.line, jerr.text);
		ret = -EINVAL;
	} else if ((ret = fw_load(fs->fw, o, why, sizeof(why))) < 0 ||
		   (ret = fws_load_networks(fs, o, why, sizeof(why))) < 0) {
		snprintf(err, err_len, "%s: %s (fix it or remove the file)", fs->path, why);
	}
	json_decref(o);
	free(text);
	if (ret < 0) {
		fw_free(fs->fw);
		free(fs);
		return ret;
	}
	d->fw = fs;
	session_set_filter(d->session, fws_filter, fs);
	return 0;
}

void fwservice_stop(struct daemon *d)
{
	if (!d->fw)
		return;
	if (d->session)
		session_set_filter(d->session, NULL, NULL);
	fw_free(d->fw->fw);
	free(d->fw);
	d->fw = NULL;
}

/* ---- suggestions ---------------------------------------------------------- */

static bool rule_in(const struct fw_rule *r, const struct fw_rule *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fw_rule_equal(r, &list[i]))
			return true;
	}
	return false;
}

/* Network I's suggestions for this node, as rules, into OUT. */
static unsigned fws_materialize(struct daemon *d, const struct group *g, const uint8_t room[32],
				struct fw_rule *out)
{
	const struct group_member *me = group_member_by_id(g, d->identity.sign_public);
	unsigned n = 0;

	if (!me)
		return 0;
	for (unsigned i = 0; i < group_rule_count(g) && n < FW_RULES_MAX; i++) {
		const struct group_rule *gr = group_rule_at(g, i);
		const struct group_member *peer = NULL;
		struct fw_suggestion s;
		struct fw_rule *r = &out[n];

		if (strcmp(gr->subject, "*") != 0 && strcmp(gr->subject, me->hostname) != 0)
			continue;
		if (fw_suggestion_decode(gr->rule, gr->len, &s) < 0)
			continue; /* a newer kind of rule: not ours to guess at */
		if (s.peer_host[0] && !(peer = group_member_by_hostname(g, s.peer_host)))
			continue; /* until that member joins */
		memset(r, 0, sizeof(*r));
		r->direction = s.direction;
		r->action = s.action;
		r->proto = s.proto;
		r->port_min = s.port_min;
		r->port_max = s.port_max;
		if (peer) {
			r->has_peer = true;
			memcpy(r->peer, peer->id, 32);
			snprintf(r->peer_name, sizeof(r->peer_name), "%s", peer->hostname);
		}
		r->has_network = r->suggested = true;
		memcpy(r->network, room, 32);
		memcpy(r->origin, room, 32);
		r->network_bit = -1;
		n++;
	}
	return n;
}

/* The installed suggested rules of ROOM, into OUT. */
static unsigned fws_installed(struct fwservice *fs, const uint8_t room[32], struct fw_rule *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < fw_rule_count(fs->fw); i++) {
		const struct fw_rule *r = fw_rule_at(fs->fw, i);

		if (r->suggested && memcmp(r->origin, room, 32) == 0)
			out[n++] = *r;
	}
	return n;
}

/* Bring network ROOM's installed and pending rules in line with what its
 * coordinators suggest now. Returns whether the installed rules changed. */
static bool fws_reconcile(struct daemon *d, const struct group *g, const uint8_t room[32],
			  const char *alias)
{
	struct fwservice *fs = d->fw;
	struct fwservice_network *net = fws_net(fs, room, true);
	struct fw_rule *want = fs->scratch, *installed = fs->installed, *keep = fs->keep;
	unsigned nwant = fws_materialize(d, g, room, want), ninst, nkeep = 0;
	bool changed;

	if (!net)
		return false;
	ninst = fws_installed(fs, room, installed);
	net->npending = 0;
	for (unsigned i = 0; i < nwant; i++) {
		if (net->auto_accept || rule_in(&want[i], installed, ninst))
			keep[nkeep++] = want[i];
		else if (!rule_in(&want[i], net->declined, net->ndeclined))
			net->pending[net->npending++] = want[i];
	}
	changed = nkeep != ninst;
	for (unsigned i = 0; !changed && i < nkeep; i++)
		changed = !fw_rule_equal(&keep[i], &installed[i]);
	if (changed && fw_set_suggested(fs->fw, room, keep, nkeep) < 0) {
		log_warn("network %s: too many firewall rules to install its suggestions", alias);
		return false;
	}
	if (changed)
		log_info("network %s: %u suggested firewall rule(s) installed", alias, nkeep);
	if (net->npending)
		log_info("network %s: %u suggested firewall rule(s) wait for "
			 "`ray firewall accept %s`",
			 alias, net->npending, alias);
	return changed;
}

void fwservice_update(struct daemon *d)
{
	uint8_t rooms[NETWORKS_MAX][32];
	unsigned n = networks_count(d);
	bool changed = false;

	if (!d->fw)
		return;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *room;
		const char *alias;

		networks_roster(d, i, &room, &alias);
		memcpy(rooms[i], room, 32);
	}
	fw_set_networks(d->fw->fw, (const uint8_t(*)[32])rooms, n);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *room;
		const char *alias;
		const struct group *g = networks_roster(d, i, &room, &alias);

		changed |= fws_reconcile(d, g, room, alias);
	}
	if (changed)
		fws_save(d);
}

void fwservice_set_auto_accept(struct daemon *d, const uint8_t room[32], bool on)
{
	struct fwservice_network *n;

	if (!d->fw || !(n = fws_net(d->fw, room, true)))
		return;
	n->auto_accept = on;
	fws_save(d);
}

void fwservice_network_gone(struct daemon *d, const uint8_t room[32])
{
	struct fwservice_network *n;

	if (!d->fw)
		return;
	fw_set_suggested(d->fw->fw, room, NULL, 0);
	n = fws_net(d->fw, room, false);
	if (n)
		n->used = false;
	fws_save(d);
}

/* ---- commands ------------------------------------------------------------ */

static json_t *rule_json(struct daemon *d, const struct fw_rule *r, unsigned index)
{
	json_t *o = fw_rule_to_json(r);

	if (!o)
		return NULL;
	json_object_set_new(o, "index", json_integer(index + 1));
	for (unsigned i = 0; i < networks_count(d); i++) {
		const uint8_t *room;
		const char *alias;

		networks_roster(d, i, &room, &alias);
		if (r->has_network && memcmp(room, r->network, 32) == 0)
			json_object_set_new(o, "network_name", json_string(alias));
	}
	return o;
}

static json_t *rules_json(struct daemon *d, const struct fw_rule *rules, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, rule_json(d, &rules[i], i));
	return a;
}

/* The selector fields of ARGS (as `ray firewall add` and `suggest` take
 * them) into R. 0, or -EINVAL with the reason in ERR. */
static int rule_args(const json_t *args, struct fw_rule *r, char *err, size_t err_len)
{
	const char *dir = json_string_value(json_object_get(args, "direction"));
	const char *action = json_string_value(json_object_get(args, "action"));
	const char *proto = json_string_value(json_object_get(args, "proto"));
	const char *port = json_string_value(json_object_get(args, "port"));

	memset(r, 0, sizeof(*r));
	r->network_bit = -1;
	if (!dir || (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)) {
		snprintf(err, err_len, "direction must be in or out");
		return -EINVAL;
	}
	r->direction = strcmp(dir, "in") == 0 ? FW_IN : FW_OUT;
	if (!action || (strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0)) {
		snprintf(err, err_len, "action must be allow or deny");
		return -EINVAL;
	}
	r->action = strcmp(action, "allow") == 0 ? FW_ALLOW : FW_DENY;
	if (proto && fw_proto_parse(proto, &r->proto) < 0) {
		snprintf(err, err_len, "--proto: '%.32s' is not tcp, udp, icmp or any", proto);
		return -EINVAL;
	}
	if (port && fw_ports_parse(port, &r->port_min, &r->port_max) < 0) {
		snprintf(err, err_len, "--port: '%.32s' is not a port (1-65535) or range N-M",
			 port);
		return -EINVAL;
	}
	return fw_rule_check(r, err, err_len);
}

static json_t *cmd_add(struct daemon *d, json_t *args)
{
	const char *peer = json_string_value(json_object_get(args, "peer"));
	const char *user = json_string_value(json_object_get(args, "user"));
	const char *net = json_string_value(json_object_get(args, "network"));
	struct fwservice *fs = d->fw;
	struct fw_rule r;
	unsigned index;
	char err[128];
	int ret;

	if (rule_args(args, &r, err, sizeof(err)) < 0)
		return ipc_response_error("%s", err);
	if (peer && user)
		return ipc_response_error("give --peer or --user, not both");
	if (peer) {
		const char *why;
		struct peer *p = daemon_peer_resolve(d, peer, &why);
		uint8_t id[32];

		if (p && p->has_node_id) {
			memcpy(r.peer, p->node_id, 32);
		} else if (networks_resolve_member(d, peer, id) == 0) {
			memcpy(r.peer, id, 32); /* a member we have no session with yet */
		} else {
			return ipc_response_error("--peer %.64s: %s", peer,
						  p ? "a plain WireGuard peer has no node id"
						    : why);
		}
		r.has_peer = true;
		snprintf(r.peer_name, sizeof(r.peer_name), "%s", peer);
	}
	if (user) {
		if (keytext_parse_node_id(user, r.user) < 0)
			return ipc_response_error("--user: '%.64s' is not a node id", user);
		r.has_user = true;
	}
	if (net) {
		const uint8_t *room;
		const char *alias;

		if (networks_lookup(d, net, &index) < 0)
			return ipc_response_error("--network: no such network: %.64s", net);
		networks_roster(d, index, &room, &alias);
		memcpy(r.network, room, 32);
		r.has_network = true;
	}
	ret = fw_rule_add(fs->fw, &r);
	if (ret < 0)
		return ipc_response_error("cannot add the rule: %s",
					  ret == -ENOSPC ? "too many rules" : strerror(-ret));
	fws_save(d);
	fwservice_update(d); /* the new rule's network bit */
	/* the last local rule */
	for (index = 0; index + 1 < fw_rule_count(fs->fw); index++) {
		if (fw_rule_at(fs->fw, index + 1)->suggested)
			break;
	}
	return ipc_response_ok(rule_json(d, fw_rule_at(fs->fw, index), index));
}

static json_t *cmd_remove(struct daemon *d, json_t *args)
{
	json_int_t index = json_integer_value(json_object_get(args, "index"));
	struct fwservice *fs = d->fw;
	const struct fw_rule *r;
	struct fw_rule removed;
	json_t *out;

	if (index < 1 || !(r = fw_rule_at(fs->fw, (unsigned)index - 1)))
		return ipc_response_error("no rule %lld (see ray firewall show)", (long long)index);
	removed = *r;
	if (removed.suggested) {
		/* Declined: it stays gone while its coordinators keep suggesting it. */
		struct fwservice_network *n = fws_net(fs, removed.origin, true);

		if (n && n->ndeclined < FW_RULES_MAX &&
		    !rule_in(&removed, n->declined, n->ndeclined))
			n->declined[n->ndeclined++] = removed;
	}
	out = rule_json(d, &removed, (unsigned)index - 1);
	fw_rule_remove(fs->fw, (unsigned)index - 1);
	fws_save(d);
	return ipc_response_ok(out);
}

static struct fwservice_network *net_arg(struct daemon *d, json_t *args, unsigned *index,
					 const char **alias, const char **err)
{
	const char *name = json_string_value(json_object_get(args, "network"));
	const uint8_t *room;

	*err = "no such network";
	if (!name || networks_lookup(d, name, index) < 0)
		return NULL;
	networks_roster(d, *index, &room, alias);
	*err = "too many networks";
	return fws_net(d->fw, room, true);
}

static json_t *cmd_suggest(struct daemon *d, json_t *args)
{
	const char *subject = json_string_value(json_object_get(args, "for"));
	const char *peer = json_string_value(json_object_get(args, "peer"));
	struct fw_suggestion s;
	uint8_t buf[FW_SUGGESTION_MAX];
	const char *alias, *why;
	struct fw_rule r;
	char err[128], text[160];
	unsigned index;
	int len, ret;

	if (!net_arg(d, args, &index, &alias, &why))
		return ipc_response_error("%s", why);
	if (!networks_is_coordinator(d, index))
		return ipc_response_error("only a coordinator of %s can suggest rules", alias);
	if (!subject || (strcmp(subject, "*") != 0 && !group_hostname_valid(subject)))
		return ipc_response_error("--for: give a member's hostname or '*'");
	if (rule_args(args, &r, err, sizeof(err)) < 0)
		return ipc_response_error("%s", err);
	memset(&s, 0, sizeof(s));
	s.direction = r.direction;
	s.action = r.action;
	s.proto = r.proto;
	s.port_min = r.port_min;
	s.port_max = r.port_max;
	if (peer) {
		if (!group_hostname_valid(peer))
			return ipc_response_error(
				"--peer: a suggestion names a member by hostname");
		snprintf(s.peer_host, sizeof(s.peer_host), "%s", peer);
	}
	len = fw_suggestion_encode(&s, buf, sizeof(buf));
	if (len < 0)
		return ipc_response_error("cannot encode the rule");
	ret = networks_suggest_add(d, index, subject, buf, (size_t)len);
	if (ret < 0)
		return ipc_response_error("cannot suggest the rule: %s",
					  ret == -ENOSPC ? "the roster holds no more rules"
							 : strerror(-ret));
	fw_suggestion_describe(&s, text, sizeof(text));
	log_info("network %s: suggested for %s: %s", alias, subject, text);
	return ipc_response_ok(
		json_pack("{s:s, s:s, s:s}", "network", alias, "for", subject, "rule", text));
}

static json_t *cmd_unsuggest(struct daemon *d, json_t *args)
{
	json_int_t rule = json_integer_value(json_object_get(args, "index"));
	const char *alias, *why;
	unsigned index;
	int ret;

	if (!net_arg(d, args, &index, &alias, &why))
		return ipc_response_error("%s", why);
	if (!networks_is_coordinator(d, index))
		return ipc_response_error("only a coordinator of %s can withdraw rules", alias);
	ret = rule < 1 ? -ENOENT : networks_suggest_remove(d, index, (unsigned)rule - 1);
	if (ret == -ENOENT)
		return ipc_response_error("no suggestion %lld (see ray firewall suggestions %s)",
					  (long long)rule, alias);
	if (ret < 0)
		return ipc_response_error("cannot withdraw the rule: %s", strerror(-ret));
	return ipc_response_ok(json_pack("{s:s, s:I}", "network", alias, "removed", rule));
}

static json_t *cmd_accept(struct daemon *d, json_t *args, bool accept)
{
	struct fwservice *fs = d->fw;
	struct fwservice_network *n;
	struct fw_rule *all = fs->scratch;
	const char *alias, *why;
	unsigned index, count, done;
	const uint8_t *room;

	if (!(n = net_arg(d, args, &index, &alias, &why)))
		return ipc_response_error("%s", why);
	networks_roster(d, index, &room, &alias);
	done = n->npending;
	if (accept) {
		count = fws_installed(fs, room, all);
		if (count + n->npending > FW_RULES_MAX)
			return ipc_response_error("too many rules");
		memcpy(all + count, n->pending, n->npending * sizeof(*all));
		if (fw_set_suggested(fs->fw, room, all, count + n->npending) < 0)
			return ipc_response_error("too many rules");
	} else {
		for (unsigned i = 0; i < n->npending && n->ndeclined < FW_RULES_MAX; i++)
			n->declined[n->ndeclined++] = n->pending[i];
	}
	n->npending = 0;
	fws_save(d);
	fwservice_update(d);
	log_info("network %s: %u suggested firewall rule(s) %s", alias, done,
		 accept ? "accepted" : "denied");
	return ipc_response_ok(json_pack("{s:s, s:i}", "network", alias,
					 accept ? "accepted" : "denied", (int)done));
}

static json_t *cmd_auto_accept(struct daemon *d, json_t *args)
{
	struct fwservice_network *n;
	const char *alias, *why;
	unsigned index;
	bool on = json_is_true(json_object_get(args, "on"));

	if (!(n = net_arg(d, args, &index, &alias, &why)))
		return ipc_response_error("%s", why);
	n->auto_accept = on;
	fws_save(d);
	fwservice_update(d);
	return ipc_response_ok(json_pack("{s:s, s:b}", "network", alias, "auto_accept", on));
}

static json_t *cmd_setting(struct daemon *d, json_t *args, const char *op)
{
	struct fwservice *fs = d->fw;
	json_t *v = json_object_get(args, "value");
	const char *text = json_string_value(v);

	if (strcmp(op, "default") == 0) {
		if (!text || (strcmp(text, "allow") != 0 && strcmp(text, "deny") != 0))
			return ipc_response_error("default must be allow or deny");
		fw_set_default_inbound(fs->fw, strcmp(text, "allow") == 0 ? FW_ALLOW : FW_DENY);
	} else if (!json_is_boolean(v)) {
		return ipc_response_error("%s must be on or off", op);
	} else if (strcmp(op, "reject") == 0) {
		fw_set_reject(fs->fw, json_is_true(v));
	} else {
		fw_set_enabled(fs->fw, json_is_true(v));
		if (!json_is_true(v))
			log_warn("firewall off: every member may reach every port of this node");
	}
	if (fws_save(d) < 0)
		return ipc_response_error("cannot save %s", fs->path);
	return ipc_response_ok(fwservice_status(d));
}

json_t *fwservice_cmd(struct daemon *d, json_t *args)
{
	const char *op = json_string_value(json_object_get(args, "op"));

	if (!d->fw)
		return ipc_response_error("the firewall is not running");
	if (!op)
		return ipc_response_error("firewall: missing op");
	if (strcmp(op, "add") == 0)
		return cmd_add(d, args);
	if (strcmp(op, "remove") == 0)
		return cmd_remove(d, args);
	if (strcmp(op, "default") == 0 || strcmp(op, "reject") == 0 || strcmp(op, "enable") == 0)
		return cmd_setting(d, args, op);
	if (strcmp(op, "suggest") == 0)
		return cmd_suggest(d, args);
	if (strcmp(op, "unsuggest") == 0)
		return cmd_unsuggest(d, args);
	if (strcmp(op, "accept") == 0 || strcmp(op, "deny") == 0)
		return cmd_accept(d, args, strcmp(op, "accept") == 0);
	if (strcmp(op, "auto-accept") == 0)
		return cmd_auto_accept(d, args);
	return ipc_response_error("firewall: unknown op '%.32s'", op);
}

static json_t *show_suggestions(struct daemon *d, json_t *args)
{
	const char *alias, *why;
	const struct group *g;
	const uint8_t *room;
	unsigned index;
	json_t *a;

	if (!net_arg(d, args, &index, &alias, &why))
		return ipc_response_error("%s", why);
	g = networks_roster(d, index, &room, &alias);
	a = json_array();
	for (unsigned i = 0; i < group_rule_count(g); i++) {
		const struct group_rule *gr = group_rule_at(g, i);
		struct fw_suggestion s;
		char text[160];

		if (fw_suggestion_decode(gr->rule, gr->len, &s) < 0)
			snprintf(text, sizeof(text), "(a rule this version does not know)");
		else
			fw_suggestion_describe(&s, text, sizeof(text));
		json_array_append_new(a, json_pack("{s:i, s:s, s:s}", "index", (int)i + 1, "for",
						   gr->subject, "rule", text));
	}
	return ipc_response_ok(json_pack("{s:s, s:o}", "network", alias, "suggestions", a));
}

json_t *fwservice_cmd_show(struct daemon *d, json_t *args)
{
	const char *op = json_string_value(json_object_get(args, "op"));
	struct fwservice_network *n;
	const char *alias, *why;
	unsigned index;

	if (!d->fw)
		return ipc_response_error("the firewall is not running");
	if (!op || strcmp(op, "show") == 0)
		return ipc_response_ok(fwservice_status(d));
	if (strcmp(op, "suggestions") == 0)
		return show_suggestions(d, args);
	if (strcmp(op, "pending") == 0) {
		if (!(n = net_arg(d, args, &index, &alias, &why)))
			return ipc_response_error("%s", why);
		return ipc_response_ok(json_pack("{s:s, s:b, s:o}", "network", alias, "auto_accept",
						 n->auto_accept, "pending",
						 rules_json(d, n->pending, n->npending)));
	}
	return ipc_response_error("firewall: unknown op '%.32s'", op);
}

json_t *fwservice_status(struct daemon *d)
{
	struct fwservice *fs = d->fw;
	struct fw_stats st;
	json_t *rules;

	if (!fs)
		return json_null();
	rules = json_array();
	for (unsigned i = 0; i < fw_rule_count(fs->fw); i++)
		json_array_append_new(rules, rule_json(d, fw_rule_at(fs->fw, i), i));
	fw_get_stats(fs->fw, loop_now_ns(), &st);
	return json_pack("{s:b, s:s, s:b, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			 "enabled", fw_enabled(fs->fw), "default",
			 fw_default_inbound(fs->fw) == FW_ALLOW ? "allow" : "deny", "reject",
			 fw_reject(fs->fw), "rules", rules, "counters", "in_passed",
			 (json_int_t)st.in_passed, "in_dropped", (json_int_t)st.in_dropped,
			 "out_passed", (json_int_t)st.out_passed, "out_dropped",
			 (json_int_t)st.out_dropped, "rejected", (json_int_t)st.rejected, "flows",
			 (json_int_t)st.ct.entries, "flows_capacity", (json_int_t)st.ct.capacity,
			 "flows_evicted", (json_int_t)st.ct.evicted);
}
