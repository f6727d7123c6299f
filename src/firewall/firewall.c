#include "firewall/firewall.h"

#include "session/ippacket.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The smallest offset (8-byte units) a later TCP fragment may have: past
 * the 20-byte header of the first. */
#define FW_TCP_FRAG_MIN 3

struct firewall {
	bool enabled, reject;
	uint8_t default_in;
	struct fw_rule rules[FW_RULES_MAX]; /* NLOCAL local ones, then suggested */
	unsigned n, nlocal;
	uint8_t networks[FW_NETWORKS_MAX][32];
	unsigned nnetworks;
	struct fw_ct *ct;
	struct fw_stats stats;
};

static void fw_seed(struct firewall *fw)
{
	struct fw_rule ping = {.direction = FW_IN, .action = FW_ALLOW, .proto = FW_PROTO_ICMP};

	fw->enabled = true;
	fw->reject = false;
	fw->default_in = FW_DENY;
	fw->n = fw->nlocal = 0;
	fw_rule_add(fw, &ping);
}

struct firewall *fw_new(unsigned ct_capacity)
{
	struct firewall *fw = calloc(1, sizeof(*fw));

	if (!fw)
		return NULL;
	fw->ct = fw_ct_new(ct_capacity ? ct_capacity : FW_CT_DEFAULT_CAPACITY);
	if (!fw->ct) {
		free(fw);
		return NULL;
	}
	fw_seed(fw);
	return fw;
}

void fw_free(struct firewall *fw)
{
	if (!fw)
		return;
	fw_ct_free(fw->ct);
	free(fw);
}

static int fw_answer(struct firewall *fw, const struct fw_flow *f, const uint8_t *pkt, size_t len,
		     uint8_t *reply, size_t cap)
{
	int n = -EINVAL;

	if (!fw->reject || f->later_fragment)
		return FW_DROP;
	if (f->t.proto == IPPROTO_TCP)
		n = ippacket_tcp_reset_build(pkt, len, reply, cap);
	else if (f->t.proto == IPPROTO_UDP)
		n = ippacket_port_unreachable_build(pkt, len, reply, cap);
	if (n <= 0)
		return FW_DROP;
	fw->stats.rejected++;
	return n;
}

/* What the rules (then the default) say about F. */
static uint8_t fw_decide(const struct firewall *fw, const struct fw_flow *f, bool outbound,
			 const struct fw_peer_info *peer)
{
	for (unsigned i = 0; i < fw->n; i++) {
		if (fw_rule_matches(&fw->rules[i], f, outbound, peer))
			return fw->rules[i].action;
	}
	return outbound ? FW_ALLOW : fw->default_in;
}

/* A packet of a flow a peer opened under other rules: would the rules let
 * that peer open it now? */
static bool fw_recheck(const struct firewall *fw, const struct fw_flow *f, bool outbound,
		       const struct fw_peer_info *peer)
{
	struct fw_flow opening = *f;

	if (outbound) {
		memcpy(opening.t.src, f->t.dst, 16);
		memcpy(opening.t.dst, f->t.src, 16);
		opening.t.sport = f->t.dport;
		opening.t.dport = f->t.sport;
	}
	return fw_decide(fw, &opening, false, peer) == FW_ALLOW;
}

int fw_filter(struct firewall *fw, const struct fw_peer_info *peer, bool outbound,
	      const uint8_t *pkt, size_t len, uint64_t now_ns, uint8_t *reply, size_t cap)
{
	uint64_t *passed = outbound ? &fw->stats.out_passed : &fw->stats.in_passed;
	uint64_t *dropped = outbound ? &fw->stats.out_dropped : &fw->stats.in_dropped;
	struct fw_flow f;
	bool allowed;

	if (!fw->enabled)
		return FW_PASS;
	if (fw_flow_parse(pkt, len, &f) < 0) {
		(*dropped)++;
		return FW_DROP;
	}
	if (f.later_fragment) {
		/* Decided with the first fragment: without it these reassemble into
		 * nothing. But a TCP fragment starting inside the first one's
		 * header would rewrite ports or flags (RFC 1858): never. */
		if (f.t.proto == IPPROTO_TCP && f.frag_offset < FW_TCP_FRAG_MIN) {
			(*dropped)++;
			return FW_DROP;
		}
		(*passed)++;
		return FW_PASS;
	}
	switch (fw_ct_check(fw->ct, &f, outbound, now_ns)) {
	case FW_CT_PASS:
		(*passed)++;
		return FW_PASS;
	case FW_CT_RECHECK:
		allowed = fw_recheck(fw, &f, outbound, peer);
		fw_ct_settle(fw->ct, &f, outbound, allowed, now_ns);
		if (!allowed)
			goto deny;
		(*passed)++;
		return FW_PASS;
	default:
		break;
	}
	if (fw_ct_related(fw->ct, &f, outbound, now_ns)) {
		(*passed)++;
		return FW_PASS;
	}
	if (fw_decide(fw, &f, outbound, peer) == FW_ALLOW) {
		fw_ct_admit(fw->ct, &f, outbound, now_ns);
		(*passed)++;
		return FW_PASS;
	}
deny:
	(*dropped)++;
	return fw_answer(fw, &f, pkt, len, reply, cap);
}

void fw_set_enabled(struct firewall *fw, bool on)
{
	fw->enabled = on;
}

bool fw_enabled(const struct firewall *fw)
{
	return fw->enabled;
}

void fw_set_default_inbound(struct firewall *fw, uint8_t action)
{
	fw->default_in = action == FW_ALLOW ? FW_ALLOW : FW_DENY;
	fw_ct_recheck_inbound(fw->ct);
}

uint8_t fw_default_inbound(const struct firewall *fw)
{
	return fw->default_in;
}

void fw_set_reject(struct firewall *fw, bool on)
{
	fw->reject = on;
}

bool fw_reject(const struct firewall *fw)
{
	return fw->reject;
}

unsigned fw_rule_count(const struct firewall *fw)
{
	return fw->n;
}

const struct fw_rule *fw_rule_at(const struct firewall *fw, unsigned i)
{
	return i < fw->n ? &fw->rules[i] : NULL;
}

static int8_t fw_network_bit(const struct firewall *fw, const uint8_t room[32])
{
	for (unsigned i = 0; i < fw->nnetworks; i++) {
		if (memcmp(fw->networks[i], room, 32) == 0)
			return (int8_t)i;
	}
	return -1;
}

static void fw_insert(struct firewall *fw, unsigned at, const struct fw_rule *r)
{
	memmove(&fw->rules[at + 1], &fw->rules[at], (fw->n - at) * sizeof(*r));
	fw->rules[at] = *r;
	fw->rules[at].network_bit = r->has_network ? fw_network_bit(fw, r->network) : -1;
	fw->n++;
}

int fw_rule_add(struct firewall *fw, const struct fw_rule *r)
{
	char why[64];

	if (r->suggested || fw_rule_check(r, why, sizeof(why)) < 0)
		return -EINVAL;
	if (fw->n >= FW_RULES_MAX)
		return -ENOSPC;
	fw_insert(fw, fw->nlocal++, r);
	fw_ct_recheck_inbound(fw->ct);
	return 0;
}

int fw_rule_remove(struct firewall *fw, unsigned i)
{
	if (i >= fw->n)
		return -ENOENT;
	memmove(&fw->rules[i], &fw->rules[i + 1], (fw->n - i - 1) * sizeof(fw->rules[0]));
	fw->n--;
	if (i < fw->nlocal)
		fw->nlocal--;
	fw_ct_recheck_inbound(fw->ct);
	return 0;
}

int fw_set_suggested(struct firewall *fw, const uint8_t room[32], const struct fw_rule *rules,
		     unsigned n)
{
	unsigned kept = 0, i;
	char why[64];

	for (i = 0; i < n; i++) {
		if (!rules[i].suggested || memcmp(rules[i].origin, room, 32) != 0 ||
		    fw_rule_check(&rules[i], why, sizeof(why)) < 0)
			return -EINVAL;
	}
	for (i = fw->nlocal; i < fw->n; i++)
		kept += memcmp(fw->rules[i].origin, room, 32) != 0;
	if (fw->nlocal + kept + n > FW_RULES_MAX)
		return -ENOSPC;
	for (i = fw->nlocal; i < fw->n;) {
		if (memcmp(fw->rules[i].origin, room, 32) == 0) {
			memmove(&fw->rules[i], &fw->rules[i + 1],
				(fw->n - i - 1) * sizeof(fw->rules[0]));
			fw->n--;
		} else {
			i++;
		}
	}
	for (i = 0; i < n; i++)
		fw_insert(fw, fw->n, &rules[i]);
	fw_ct_recheck_inbound(fw->ct);
	return 0;
}

void fw_set_networks(struct firewall *fw, const uint8_t (*rooms)[32], unsigned n)
{
	if (n > FW_NETWORKS_MAX)
		n = FW_NETWORKS_MAX;
	if (n)
		memcpy(fw->networks, rooms, (size_t)n * 32);
	fw->nnetworks = n;
	for (unsigned i = 0; i < fw->n; i++) {
		struct fw_rule *r = &fw->rules[i];

		r->network_bit = r->has_network ? fw_network_bit(fw, r->network) : -1;
	}
}

void fw_get_stats(const struct firewall *fw, uint64_t now_ns, struct fw_stats *st)
{
	*st = fw->stats;
	fw_ct_get_stats(fw->ct, now_ns, &st->ct);
}

json_t *fw_save(const struct firewall *fw)
{
	json_t *o, *rules = json_array();

	if (!rules)
		return NULL;
	for (unsigned i = 0; i < fw->n; i++) {
		if (json_array_append_new(rules, fw_rule_to_json(&fw->rules[i])) < 0) {
			json_decref(rules);
			return NULL;
		}
	}
	o = json_pack("{s:i, s:b, s:s, s:b, s:o}", "version", 1, "enabled", fw->enabled, "default",
		      fw->default_in == FW_ALLOW ? "allow" : "deny", "reject", fw->reject, "rules",
		      rules);
	return o;
}

int fw_load(struct firewall *fw, const json_t *config, char *err, size_t err_len)
{
	struct fw_rule *rules = NULL;
	const char *def;
	int enabled, reject, version, ret = -EINVAL;
	json_t *list, *v;
	unsigned nlocal = 0;
	size_t i;
	char why[96];

	if (!json_is_object(config) ||
	    json_unpack((json_t *)config, "{s:i, s:b, s:s, s:b, s:o}", "version", &version,
			"enabled", &enabled, "default", &def, "reject", &reject, "rules",
			&list) < 0 ||
	    version != 1 || !json_is_array(list) ||
	    (strcmp(def, "allow") != 0 && strcmp(def, "deny") != 0)) {
		snprintf(err, err_len, "not a firewall configuration (version 1)");
		goto out;
	}
	if (json_array_size(list) > FW_RULES_MAX) {
		snprintf(err, err_len, "more than %d rules", FW_RULES_MAX);
		goto out;
	}
	rules = calloc(json_array_size(list) + 1, sizeof(*rules));
	if (!rules) {
		ret = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	json_array_foreach(list, i, v)
	{
		if (fw_rule_from_json(v, &rules[i], why, sizeof(why)) < 0) {
			snprintf(err, err_len, "rule %zu: %s", i + 1, why);
			goto out;
		}
		if (!rules[i].suggested && nlocal != i) {
			snprintf(err, err_len, "rule %zu: a local rule after suggested ones",
				 i + 1);
			goto out;
		}
		nlocal += !rules[i].suggested;
	}
	fw->enabled = enabled;
	fw->reject = reject;
	fw->default_in = strcmp(def, "allow") == 0 ? FW_ALLOW : FW_DENY;
	fw->n = fw->nlocal = 0;
	for (i = 0; i < json_array_size(list); i++)
		fw_insert(fw, fw->n, &rules[i]);
	fw->nlocal = nlocal;
	fw_ct_recheck_inbound(fw->ct);
	ret = 0;
out:
	free(rules);
	return ret;
}
