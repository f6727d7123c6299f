/* The IPC commands the daemon answers, and who may run them. */
#include "crypto/address.h"
#include "crypto/keytext.h"
#include "daemon/daemon.h"
#include "daemon/ipc_server.h"
#include "util/eventloop.h"
#include "util/log.h"
#include "util/version.h"

#include <arpa/inet.h>
#include <string.h>

enum command_access {
	ACCESS_READ,   /* any local user */
	ACCESS_MUTATE, /* root or the operator */
	ACCESS_ROOT,   /* root only */
};

struct command {
	const char *name;
	enum command_access access;
	json_t *(*run)(struct daemon *d, json_t *args, const struct ipc_caller *caller);
};

static json_t *addresses_json(const struct daemon *d, json_t *obj)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], id[NODE_ID_TEXT_LEN + 1];
	struct in_addr a4 = {htonl(address_ipv4_derive(d->identity.sign_public, 0))};
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

static json_t *cmd_status(struct daemon *d, json_t *args, const struct ipc_caller *caller)
{
	json_t *r = json_object();

	(void)args;
	(void)caller;
	json_object_set_new(r, "version", json_string(RAY_VERSION));
	addresses_json(d, r);
	json_object_set_new(r, "state", json_string(d->active ? "up" : "down"));
	json_object_set_new(r, "networks", json_array());
	json_object_set_new(r, "operator_uid",
			    d->settings.has_operator ? json_integer(d->settings.operator_uid)
						     : json_null());
	json_object_set_new(r, "uptime_seconds",
			    json_integer((json_int_t)((loop_now_ms() - d->started_ms) / 1000)));
	return ipc_response_ok(r);
}

static json_t *set_active(struct daemon *d, bool up)
{
	int ret = daemon_set_active(d, up);

	if (ret < 0)
		return ipc_response_error("cannot save settings: %s", strerror(-ret));
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

static const struct command commands[] = {
	{"status", ACCESS_READ, cmd_status},
	{"id", ACCESS_READ, cmd_id},
	{"up", ACCESS_MUTATE, cmd_up},
	{"down", ACCESS_MUTATE, cmd_down},
	{"shutdown", ACCESS_MUTATE, cmd_shutdown},
	{"set-operator", ACCESS_ROOT, cmd_set_operator},
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

json_t *daemon_handle_request(const char *cmd, json_t *args, const struct ipc_caller *caller,
			      void *arg)
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
		return commands[i].run(d, args, caller);
	}
	return ipc_response_error("unknown command '%.64s'", cmd);
}
