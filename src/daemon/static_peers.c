#include "daemon/static_peers.h"
#include "daemon/relays.h"
#include "crypto/keytext.h"
#include "daemon/daemon.h"
#include "session/session.h"
#include "util/fileio.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEERS_FILE_MAX (1 << 20)

int static_peers_parse_name(const char *text, uint8_t wg[32], uint8_t node_id[32],
			    bool *has_node_id)
{
	if (strncmp(text, "wg:", 3) == 0) {
		*has_node_id = false;
		return keytext_parse_base64(text + 3, wg);
	}
	if (keytext_parse_node_id(text, node_id) < 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(wg, node_id) != 0)
		return -EINVAL;
	*has_node_id = true;
	return 0;
}

static void peers_path(const struct daemon *d, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/peers.json", d->options.state_dir);
}

static int static_peers_save(struct daemon *d)
{
	char path[PATH_MAX], *text;
	int ret;

	peers_path(d, path);
	text = json_dumps(d->static_peers, JSON_INDENT(2));
	if (!text)
		return -ENOMEM;
	ret = file_write_atomic(path, text, strlen(text), 0600);
	free(text);
	return ret;
}

/* Apply ARGS to the session; returns the new peer or NULL with ERR. */
static struct peer *static_peers_apply(struct daemon *d, const json_t *args, char *err,
				       size_t err_len)
{
	const char *name = json_string_value(json_object_get(args, "peer"));
	const char *ep_text = json_string_value(json_object_get(args, "endpoint"));
	json_t *allowed = json_object_get(args, "allowed_ips"), *v;
	struct ip_addr prefixes[PEER_MAX_ALLOWED];
	unsigned lens[PEER_MAX_ALLOWED], n = 0, max;
	uint8_t wg[32], node_id[32];
	struct endpoint ep;
	struct peer *p;
	bool has_id;
	size_t i;
	int ret = 0;

	if (!name || static_peers_parse_name(name, wg, node_id, &has_id) < 0) {
		snprintf(err, err_len, "'%s' is not a node id or wg:BASE64 key", name ? name : "");
		return NULL;
	}
	if (ep_text && endpoint_parse(ep_text, &ep) < 0) {
		snprintf(err, err_len, "'%s' is not an endpoint (IP:PORT or [IPv6]:PORT)", ep_text);
		return NULL;
	}
	if (allowed && !json_is_array(allowed)) {
		snprintf(err, err_len, "allowed_ips must be a list");
		return NULL;
	}
	/* A node id's own two addresses take two of the slots. */
	max = PEER_MAX_ALLOWED - (has_id ? 2 : 0);
	json_array_foreach(allowed, i, v)
	{
		const char *t = json_string_value(v);

		if (n >= max) {
			snprintf(err, err_len, "too many allowed IPs (at most %u)", max);
			return NULL;
		}
		if (!t || ip_prefix_parse(t, &prefixes[n], &lens[n]) < 0) {
			snprintf(err, err_len, "'%s' is not an IP prefix (like 10.0.0.2/32)",
				 t ? t : "");
			return NULL;
		}
		n++;
	}
	if (!has_id && n == 0) {
		snprintf(err, err_len, "a plain WireGuard peer needs --allowed-ip CIDR");
		return NULL;
	}
	p = session_peer_add(d->session, wg, has_id ? node_id : NULL, ep_text ? &ep : NULL, &ret);
	if (!p) {
		snprintf(err, err_len, "%s",
			 ret == -EEXIST	  ? "that peer is already added"
			 : ret == -EINVAL ? "that is this node's own key"
					  : strerror(-ret));
		return NULL;
	}
	for (i = 0; i < n; i++)
		peer_add_allowed(p, &prefixes[i], lens[i]);
	/* Known by id: its record says which relay reaches it, and where. */
	if (has_id)
		relays_resolve(d, node_id);
	return p;
}

struct peer *static_peers_add(struct daemon *d, const json_t *args, char *err, size_t err_len)
{
	json_t *entry;
	struct peer *p;
	int ret;

	p = static_peers_apply(d, args, err, err_len);
	if (!p)
		return NULL;
	/* Keep only what the request meant, in a stable form. */
	entry = json_pack("{s:O}", "peer", json_object_get(args, "peer"));
	if (json_object_get(args, "endpoint"))
		json_object_set(entry, "endpoint", json_object_get(args, "endpoint"));
	if (json_array_size(json_object_get(args, "allowed_ips")))
		json_object_set(entry, "allowed_ips", json_object_get(args, "allowed_ips"));
	json_array_append_new(d->static_peers, entry);
	ret = static_peers_save(d);
	if (ret < 0) {
		/* Not saved means not added: nothing half-configured. */
		json_array_remove(d->static_peers, json_array_size(d->static_peers) - 1);
		session_peer_remove(d->session, p);
		snprintf(err, err_len, "cannot save peers.json: %s", strerror(-ret));
		return NULL;
	}
	return p;
}

int static_peers_remove(struct daemon *d, const char *name, char *err, size_t err_len)
{
	uint8_t wg[32], node_id[32], other[32], other_id[32];
	json_t *entry, *saved = json_deep_copy(d->static_peers);
	struct peer *p;
	bool has_id;
	size_t i;
	int ret;

	if (static_peers_parse_name(name, wg, node_id, &has_id) < 0) {
		snprintf(err, err_len, "'%s' is not a node id or wg:BASE64 key", name);
		ret = -EINVAL;
		goto out;
	}
	p = session_peer_by_wg_key(d->session, wg);
	if (!p) {
		snprintf(err, err_len, "no such peer: %s", name);
		ret = -ENOENT;
		goto out;
	}
	json_array_foreach(d->static_peers, i, entry)
	{
		const char *t = json_string_value(json_object_get(entry, "peer"));

		if (t && static_peers_parse_name(t, other, other_id, &has_id) == 0 &&
		    memcmp(other, wg, 32) == 0) {
			json_array_remove(d->static_peers, i);
			break;
		}
	}
	ret = static_peers_save(d);
	if (ret < 0) {
		json_decref(d->static_peers);
		d->static_peers = saved;
		saved = NULL;
		snprintf(err, err_len, "cannot save peers.json: %s", strerror(-ret));
		goto out;
	}
	session_peer_remove(d->session, p);
out:
	json_decref(saved);
	return ret;
}

int static_peers_load(struct daemon *d, char *err, size_t err_len)
{
	char path[PATH_MAX], *text = NULL, why[256];
	json_error_t jerr;
	json_t *list = NULL, *entry;
	size_t len = 0, i;
	int ret;

	d->static_peers = json_array();
	peers_path(d, path);
	ret = file_read_all(path, PEERS_FILE_MAX, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = -EINVAL;
	list = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_array(list)) {
		snprintf(err, err_len, "%s is corrupt (%s); fix or remove it", path,
			 list ? "not a list" : jerr.text);
		goto out;
	}
	json_array_foreach(list, i, entry)
	{
		if (!json_is_object(entry) || !static_peers_apply(d, entry, why, sizeof(why))) {
			snprintf(err, err_len, "%s: entry %zu: %s; fix or remove it", path, i,
				 json_is_object(entry) ? why : "not an object");
			goto out;
		}
		json_array_append(d->static_peers, entry);
	}
	if (i)
		log_info("%zu static peers loaded from %s", i, path);
	ret = 0;
out:
	json_decref(list);
	free(text);
	return ret;
}

void static_peers_free(struct daemon *d)
{
	json_decref(d->static_peers);
	d->static_peers = NULL;
}

bool static_peers_has(struct daemon *d, const uint8_t node_id[32])
{
	uint8_t wg[32], other[32];
	json_t *entry;
	bool has_id;
	size_t i;

	json_array_foreach(d->static_peers, i, entry)
	{
		const char *t = json_string_value(json_object_get(entry, "peer"));

		if (t && static_peers_parse_name(t, wg, other, &has_id) == 0 && has_id &&
		    memcmp(other, node_id, 32) == 0)
			return true;
	}
	return false;
}
