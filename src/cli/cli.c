#include "cli/cli.h"
#include "cli/cli_util.h"
#include "daemon/daemon.h"
#include "ipc/ipc_client.h"
#include "os/tun.h"
#include "path/relay_client.h"
#include "relay/relay_server.h"
#include "session/session.h"
#include "util/fileio.h"
#include "util/version.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cli_command {
	const char *name;
	const char *usage;
	const char *summary;
	const char *help; /* the rest of `ray help NAME` */
	int (*run)(struct cli *cli, int argc, char **argv);
};

static const struct cli_command *cli_find(const char *name);

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("ray: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int cli_usage(const struct cli_command *c)
{
	fprintf(stderr, "ray: usage: ray %s %s (see 'ray help %s')\n", c->name, c->usage, c->name);
	return 2;
}

/* Send CMD with ARGS (stolen; NULL for none). On success returns the result
 * object (a new reference, possibly an empty object); on failure prints the
 * one-line reason and returns NULL. */
json_t *cli_call_timeout(struct cli *cli, const char *cmd, json_t *args, int timeout_ms)
{
	char err[512];
	json_t *req, *resp, *result;

	req = json_pack("{s:s, s:o}", "cmd", cmd, "args", args ? args : json_object());
	resp = ipc_client_call(cli->socket_path, req, timeout_ms, err, sizeof(err));
	json_decref(req);
	if (!resp) {
		cli_fail("%s", err);
		return NULL;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *msg = json_string_value(json_object_get(resp, "error"));

		cli_fail("%s", msg ? msg : "the daemon refused without a reason");
		json_decref(resp);
		return NULL;
	}
	result = json_object_get(resp, "result");
	result = result ? json_incref(result) : json_object();
	json_decref(resp);
	return result;
}

json_t *cli_call(struct cli *cli, const char *cmd, json_t *args)
{
	return cli_call_timeout(cli, cmd, args, IPC_TIMEOUT_MS);
}

void cli_print_json(const json_t *obj)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text) {
		puts(text);
		free(text);
	}
}

const char *cli_json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "-";
}

/* Runs a command that takes no arguments and prints a one-line confirmation. */
static int cli_simple(struct cli *cli, const char *cmd, int argc, const char *done)
{
	json_t *r;

	if (argc > 0)
		return cli_usage(cli_find(cmd));
	r = cli_call(cli, cmd, NULL);
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else if (done)
		puts(done);
	json_decref(r);
	return 0;
}

static void print_peers(const json_t *peers)
{
	const json_t *p;
	size_t i;

	if (json_array_size(peers) == 0)
		return;
	printf("\n  %-12s %-16s %-8s %-22s %-10s %10s %10s\n", "peer", "ipv4", "path", "endpoint",
	       "handshake", "rx", "tx");
	json_array_foreach(peers, i, p)
	{
		const char *id = json_string_value(json_object_get(p, "id"));
		json_t *hs = json_object_get(p, "last_handshake");
		char ago[32] = "never";

		if (json_is_integer(hs))
			snprintf(ago, sizeof(ago), "%llds ago",
				 (long long)(time(NULL) - json_integer_value(hs)));
		/* Through a relay, where it goes is the relay. */
		printf("  %-12.10s %-16s %-8s %-22s %-10s %10lld %10lld\n",
		       id ? id : cli_json_str(p, "wg_public_key"), cli_json_str(p, "ipv4"),
		       cli_json_str(p, "path"),
		       strcmp(cli_json_str(p, "path"), "relay") == 0 ? cli_json_str(p, "relay")
								     : cli_json_str(p, "endpoint"),
		       ago, (long long)json_integer_value(json_object_get(p, "rx_bytes")),
		       (long long)json_integer_value(json_object_get(p, "tx_bytes")));
	}
}

static void print_relays(const json_t *relays, const json_t *public_ep)
{
	const json_t *r;
	size_t i;

	json_array_foreach(relays, i, r)
	{
		printf("  relay %s (%s%s)\n", cli_json_str(r, "url"),
		       json_is_true(json_object_get(r, "connected")) ? "connected"
								     : "not connected",
		       json_is_true(json_object_get(r, "home")) ? ", home" : "");
	}
	if (json_is_string(public_ep))
		printf("  public endpoint %s\n", json_string_value(public_ep));
}

static int cmd_netcheck(struct cli *cli, int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli_find("netcheck"));
	r = cli_call(cli, "netcheck", NULL);
	if (!r)
		return 1;
	if (cli->json) {
		cli_print_json(r);
		json_decref(r);
		return 0;
	}
	printf("UDP: %s\n", json_is_true(json_object_get(r, "udp")) ? "yes" : "no answer");
	printf("public addresses:");
	json_array_foreach(json_object_get(r, "public_addresses"), i, v)
		printf(" %s", json_string_value(v));
	printf("%s\n", json_array_size(json_object_get(r, "public_addresses")) ? "" : " unknown");
	v = json_object_get(r, "mapping_varies_by_destination");
	printf("mapping varies by destination: %s\n",
	       json_is_null(v)	 ? "unknown (needs two STUN answers)"
	       : json_is_true(v) ? "yes (symmetric NAT: peers will use relays)"
				 : "no (hole punching can work)");
	v = json_object_get(r, "port_mapping");
	if (!json_is_object(v))
		printf("port mapping: not checked (no home relay)\n");
	else
		printf("port mapping: UPnP %s, NAT-PMP %s%s%s\n",
		       json_is_true(json_object_get(v, "upnp")) ? "yes" : "no",
		       json_is_true(json_object_get(v, "nat_pmp")) ? "yes" : "no",
		       json_is_string(json_object_get(v, "external")) ? ", mapped to " : "",
		       json_is_string(json_object_get(v, "external"))
			       ? json_string_value(json_object_get(v, "external"))
			       : "");
	json_array_foreach(json_object_get(r, "relays"), i, v)
	{
		json_t *lat = json_object_get(v, "stun_latency_ms");

		printf("relay %s: %s, ", cli_json_str(v, "url"),
		       json_is_true(json_object_get(v, "connected")) ? "connected"
								     : "not connected");
		if (json_is_number(lat))
			printf("latency %.1f ms\n", json_number_value(lat));
		else
			printf("no STUN answer\n");
	}
	printf("preferred relay: %s\n", cli_json_str(r, "preferred_relay"));
	json_decref(r);
	return 0;
}

/* Options of the network commands into ARGS: "--name V" becomes
 * {"name": V}; FLAGS (NULL-terminated) take no value and become true.
 * Returns the index of the first non-option, or -1 on a bad option. */
static int cli_net_options(int argc, char **argv, const char *const *with_value,
			   const char *const *flags, json_t *args, int *positional, int max_pos)
{
	int npos = 0;

	for (int i = 0; i < argc; i++) {
		bool done = false;

		if (strncmp(argv[i], "--", 2) != 0) {
			if (npos == max_pos)
				return -1;
			positional[npos++] = i;
			continue;
		}
		for (const char *const *f = flags; *f && !done; f++) {
			if (strcmp(argv[i] + 2, *f) == 0) {
				json_object_set_new(args, *f, json_true());
				done = true;
			}
		}
		for (const char *const *o = with_value; *o && !done; o++) {
			if (strcmp(argv[i] + 2, *o) == 0 && i + 1 < argc) {
				json_object_set_new(args, *o, json_string(argv[++i]));
				done = true;
			}
		}
		if (!done)
			return -1;
	}
	return npos;
}

static int cmd_create(struct cli *cli, int argc, char **argv)
{
	static const char *const values[] = {"name", "hostname", NULL};
	static const char *const flags[] = {"open", NULL};
	json_t *args = json_object(), *r;
	int pos[1];

	if (cli_net_options(argc, argv, values, flags, args, pos, 0) != 0) {
		json_decref(args);
		return cli_usage(cli_find("create"));
	}
	r = cli_call(cli, "create", args);
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else
		printf("created network %s (%s)\n  room id  %s\n  you      %s, %s, %s\n"
		       "invite others with: ray invite %s\n",
		       cli_json_str(r, "name"),
		       json_is_true(json_object_get(r, "open")) ? "open" : "closed",
		       cli_json_str(r, "room_id"), cli_json_str(r, "hostname"),
		       cli_json_str(r, "ipv4"), cli_json_str(r, "ipv6"), cli_json_str(r, "name"));
	json_decref(r);
	return 0;
}

static int parse_ulong(const char *text, unsigned long min, unsigned long max, unsigned long *out);

/* `ray invite NET --list` and `--revoke ID`. Takes ARGS. */
static int cli_invites(struct cli *cli, json_t *args)
{
	const char *revoke = json_string_value(json_object_get(args, "revoke"));
	json_t *r, *e;
	unsigned long id;
	size_t i;

	if (revoke) {
		if (parse_ulong(revoke, 1, UINT32_MAX, &id) < 0) {
			json_decref(args);
			return cli_fail("--revoke: '%s' is not an invite id", revoke);
		}
		json_object_set_new(args, "revoke", json_integer((json_int_t)id));
	}
	json_object_del(args, "list");
	r = cli_call(cli, "invites", args);
	if (!r)
		return 1;
	if (cli->json) {
		cli_print_json(r);
	} else if (revoke) {
		printf("invite %lu revoked\n", id);
	} else {
		printf("%-10s %-8s %-9s %-20s %s\n", "id", "state", "kind", "expires", "hostname");
		json_array_foreach(json_object_get(r, "invites"), i, e)
		{
			time_t exp = (time_t)json_integer_value(json_object_get(e, "expires"));
			char when[32] = "never";

			if (exp)
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&exp));
			printf("%-10lld %-8s %-9s %-20s %s\n",
			       (long long)json_integer_value(json_object_get(e, "id")),
			       cli_json_str(e, "state"),
			       json_is_true(json_object_get(e, "reusable")) ? "reusable" : "single",
			       when, cli_json_str(e, "hostname"));
		}
	}
	json_decref(r);
	return 0;
}

static int cmd_kick(struct cli *cli, int argc, char **argv)
{
	json_t *r;

	if (argc != 2)
		return cli_usage(cli_find("kick"));
	r = cli_call(cli, "kick", json_pack("{s:s, s:s}", "network", argv[0], "peer", argv[1]));
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else
		printf("%s removed from %s\n", cli_json_str(r, "removed"),
		       cli_json_str(r, "network"));
	json_decref(r);
	return 0;
}

static int cmd_hostname(struct cli *cli, int argc, char **argv)
{
	json_t *r;

	if (argc != 2)
		return cli_usage(cli_find("hostname"));
	r = cli_call_timeout(cli, "hostname",
			     json_pack("{s:s, s:s}", "network", argv[0], "hostname", argv[1]),
			     30000);
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else
		printf("this node is now %s in %s\n", cli_json_str(r, "hostname"),
		       cli_json_str(r, "network"));
	json_decref(r);
	return 0;
}

static int cmd_admin(struct cli *cli, int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	if (argc == 3 && strcmp(argv[0], "add") == 0)
		r = cli_call_timeout(cli, "admin",
				     json_pack("{s:s, s:s}", "network", argv[1], "peer", argv[2]),
				     30000);
	else if (argc == 2 && strcmp(argv[0], "list") == 0)
		r = cli_call(cli, "admin", json_pack("{s:s}", "network", argv[1]));
	else
		return cli_usage(cli_find("admin"));
	if (!r)
		return 1;
	if (cli->json) {
		cli_print_json(r);
	} else if (argc == 3) {
		printf("%s is a coordinator of %s now\n", cli_json_str(r, "coordinator"),
		       cli_json_str(r, "network"));
	} else {
		json_array_foreach(json_object_get(r, "coordinators"), i, v)
			printf("%s\n", json_string_value(v));
	}
	json_decref(r);
	return 0;
}

static int cmd_requests(struct cli *cli, int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	if (argc == 1)
		r = cli_call(cli, "requests", json_pack("{s:s}", "network", argv[0]));
	else if (argc == 3 && (strcmp(argv[1], "accept") == 0 || strcmp(argv[1], "deny") == 0))
		r = cli_call(cli, "requests",
			     json_pack("{s:s, s:s, s:s}", "network", argv[0], "action", argv[1],
				       "id", argv[2]));
	else
		return cli_usage(cli_find("requests"));
	if (!r)
		return 1;
	if (cli->json) {
		cli_print_json(r);
	} else if (argc == 3) {
		printf("%s %s\n", argv[2], strcmp(argv[1], "accept") == 0 ? "admitted" : "denied");
	} else {
		json_array_foreach(json_object_get(r, "requests"), i, v)
			printf("%.12s  %-20s %llds ago\n", cli_json_str(v, "id"),
			       cli_json_str(v, "hostname"),
			       (long long)json_integer_value(json_object_get(v, "age_s")));
		if (!json_array_size(json_object_get(r, "requests")))
			printf("no pending requests\n");
	}
	json_decref(r);
	return 0;
}

static int cmd_nuke(struct cli *cli, int argc, char **argv)
{
	json_t *r;
	bool force = argc == 2 && strcmp(argv[1], "--force") == 0;

	if (argc != 1 && !force)
		return cli_usage(cli_find("nuke"));
	r = cli_call(cli, "nuke", json_pack("{s:s, s:b}", "network", argv[0], "force", force));
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else
		printf("%s dissolved; its members remove it\n", cli_json_str(r, "dissolved"));
	json_decref(r);
	return 0;
}

static int cmd_leave(struct cli *cli, int argc, char **argv)
{
	json_t *r;

	if (argc != 1)
		return cli_usage(cli_find("leave"));
	r = cli_call(cli, "leave", json_pack("{s:s}", "network", argv[0]));
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else
		printf("left %s\n", cli_json_str(r, "left"));
	json_decref(r);
	return 0;
}

static int cmd_invite(struct cli *cli, int argc, char **argv)
{
	static const char *const values[] = {"expires", "hostname", "revoke", NULL};
	static const char *const flags[] = {"reusable", "list", NULL};
	json_t *args = json_object(), *r;
	int pos[1];

	if (cli_net_options(argc, argv, values, flags, args, pos, 1) != 1) {
		json_decref(args);
		return cli_usage(cli_find("invite"));
	}
	json_object_set_new(args, "network", json_string(argv[pos[0]]));
	if (json_object_get(args, "list") || json_object_get(args, "revoke"))
		return cli_invites(cli, args);
	r = cli_call(cli, "invite", args);
	if (!r)
		return 1;
	if (cli->json) {
		cli_print_json(r);
	} else {
		time_t exp = (time_t)json_integer_value(json_object_get(r, "expires"));
		char when[64] = "never";

		if (exp)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&exp));
		printf("%s\n(invite %lld, %s, expires %s; give it to the new member: ray join "
		       "CODE)\n",
		       cli_json_str(r, "code"),
		       (long long)json_integer_value(json_object_get(r, "id")),
		       json_is_true(json_object_get(r, "reusable")) ? "reusable" : "single use",
		       when);
	}
	json_decref(r);
	return 0;
}

static int cmd_join(struct cli *cli, int argc, char **argv)
{
	static const char *const values[] = {"name", "hostname", NULL};
	static const char *const flags[] = {"auto-accept-firewall", NULL};
	json_t *args = json_object(), *r;
	int pos[1];

	if (cli_net_options(argc, argv, values, flags, args, pos, 1) != 1) {
		json_decref(args);
		return cli_usage(cli_find("join"));
	}
	if (json_object_get(args, "auto-accept-firewall")) {
		json_object_del(args, "auto-accept-firewall");
		json_object_set_new(args, "auto_accept_firewall", json_true());
	}
	json_object_set_new(args, "code", json_string(argv[pos[0]]));
	/* the coordinator may be reached through a relay, possibly after a
	 * first coordinator did not answer */
	r = cli_call_timeout(cli, "join", args, 90000);
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else if (json_is_true(json_object_get(r, "pending")))
		printf("the network is closed: your request waits for a coordinator's approval\n"
		       "(ray requests NET accept on their side); the join completes by itself\n");
	else
		printf("joined network %s as %s (%s, %s)\n", cli_json_str(r, "name"),
		       cli_json_str(r, "hostname"), cli_json_str(r, "ipv4"),
		       cli_json_str(r, "ipv6"));
	json_decref(r);
	return 0;
}

static int cmd_firewall(struct cli *cli, int argc, char **argv)
{
	return cli_firewall(cli, argc, argv);
}

/* Joins by room id a coordinator has yet to approve. */
static void print_pending_joins(const json_t *joins)
{
	const json_t *j;
	size_t i;

	json_array_foreach(joins, i, j)
	{
		time_t since = (time_t)json_integer_value(json_object_get(j, "since"));
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&since));
		printf("  pending join %s%s%s: waiting for a coordinator's approval since %s\n",
		       cli_json_str(j, "room_id"),
		       json_is_string(json_object_get(j, "name")) ? " as " : "",
		       json_is_string(json_object_get(j, "name")) ? cli_json_str(j, "name") : "",
		       when);
	}
}

static void print_networks(const json_t *networks)
{
	const json_t *n, *m;
	size_t i, k;

	json_array_foreach(networks, i, n)
	{
		printf("\n  network %s (%s, %s) room %.12s...\n", cli_json_str(n, "name"),
		       cli_json_str(n, "role"),
		       json_is_true(json_object_get(n, "open")) ? "open" : "closed",
		       cli_json_str(n, "room_id"));
		json_array_foreach(json_object_get(n, "members"), k, m)
		{
			const char *path = json_is_string(json_object_get(m, "path"))
						   ? cli_json_str(m, "path")
						   : "";
			bool coord = json_is_true(json_object_get(m, "coordinator"));

			printf("    %-20s %-16s %-8s %s%s%s\n", cli_json_str(m, "hostname"),
			       cli_json_str(m, "ipv4"),
			       json_is_true(json_object_get(m, "self"))	    ? "(you)"
			       : json_is_true(json_object_get(m, "online")) ? "online"
									    : "offline",
			       path, *path && coord ? ", " : "", coord ? "coordinator" : "");
		}
	}
}

static void print_dns(const json_t *dns)
{
	const json_t *v;
	size_t i;

	if (!json_is_object(dns))
		return;
	printf("  dns   100.100.100.53, fd72:6179::53; system: %s, %s\n", cli_json_str(dns, "mode"),
	       json_is_true(json_object_get(dns, "system_configured")) ? "configured"
								       : "not configured");
	if (json_is_string(json_object_get(dns, "error")))
		printf("        error: %s\n", cli_json_str(dns, "error"));
	if (json_array_size(json_object_get(dns, "search"))) {
		printf("        search");
		json_array_foreach(json_object_get(dns, "search"), i, v)
			printf(" %s", json_string_value(v));
		printf("\n");
	}
}

static void print_firewall(const json_t *fw)
{
	if (!json_is_object(fw))
		return;
	if (!json_is_true(json_object_get(fw, "enabled"))) {
		printf("  fw    OFF: members reach every port (ray firewall on)\n");
		return;
	}
	printf("  fw    inbound default %s, %zu rule(s)%s (ray firewall show)\n",
	       cli_json_str(fw, "default"), json_array_size(json_object_get(fw, "rules")),
	       json_is_true(json_object_get(fw, "reject")) ? ", reject on" : "");
}

static int cmd_status(struct cli *cli, int argc, char **argv)
{
	json_t *r, *networks;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli_find("status"));
	r = cli_call(cli, "status", NULL);
	if (!r)
		return 1;
	if (cli->json) {
		cli_print_json(r);
	} else {
		networks = json_object_get(r, "networks");
		printf("rayfish %s, %s\n", cli_json_str(r, "version"), cli_json_str(r, "state"));
		printf("  id    %s\n", cli_json_str(r, "id"));
		printf("  ipv4  %s\n", cli_json_str(r, "ipv4"));
		printf("  ipv6  %s\n", cli_json_str(r, "ipv6"));
		print_dns(json_object_get(r, "dns"));
		print_firewall(json_object_get(r, "firewall"));
		if (json_array_size(networks) == 0 &&
		    json_array_size(json_object_get(r, "pending_joins")) == 0)
			printf("  networks: none (ray create, or ray join CODE)\n");
		print_networks(networks);
		print_pending_joins(json_object_get(r, "pending_joins"));
		print_relays(json_object_get(r, "relays"), json_object_get(r, "public_endpoint"));
		print_peers(json_object_get(r, "peers"));
	}
	json_decref(r);
	return 0;
}

static int cmd_id(struct cli *cli, int argc, char **argv)
{
	json_t *r;

	(void)argv;
	if (argc > 0)
		return cli_usage(cli_find("id"));
	r = cli_call(cli, "id", NULL);
	if (!r)
		return 1;
	if (cli->json) {
		cli_print_json(r);
	} else {
		printf("id             %s\n", cli_json_str(r, "id"));
		printf("wg public key  %s\n", cli_json_str(r, "wg_public_key"));
		printf("ipv4           %s\n", cli_json_str(r, "ipv4"));
		printf("ipv6           %s\n", cli_json_str(r, "ipv6"));
	}
	json_decref(r);
	return 0;
}

static int cmd_up(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	return cli_simple(cli, "up", argc, "rayfish is up");
}

static int cmd_down(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	return cli_simple(cli, "down", argc,
			  "rayfish is down (standby: sessions stay, traffic stops)");
}

static int cmd_shutdown(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	return cli_simple(cli, "shutdown", argc, "daemon is shutting down");
}

static int cmd_set_operator(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *c = cli_find("set-operator");
	json_t *args, *r;
	char *end;

	if (argc != 1)
		return cli_usage(c);
	if (strcmp(argv[0], "--clear") == 0) {
		args = json_pack("{s:n}", "uid");
	} else {
		struct passwd *pw = getpwnam(argv[0]);
		unsigned long uid;

		errno = 0;
		uid = strtoul(argv[0], &end, 10);
		if (pw)
			uid = pw->pw_uid;
		else if (errno || *end || end == argv[0] || uid >= 0xffffffffUL)
			return cli_fail("no such user: %s", argv[0]);
		args = json_pack("{s:I}", "uid", (json_int_t)uid);
	}
	r = cli_call(cli, "set-operator", args);
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else if (json_is_null(json_object_get(r, "operator_uid")))
		puts("operator cleared: only root may change rayfish");
	else
		printf("operator set to %s (uid %lld): that user can now run ray without sudo\n",
		       argv[0], (long long)json_integer_value(json_object_get(r, "operator_uid")));
	json_decref(r);
	return 0;
}

static int parse_ulong(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*text || *text == '-' || *text == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(text, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

/* ray debug send PEER BYTES [--timeout SECONDS] */
static int cli_debug_send(struct cli *cli, int argc, char **argv)
{
	unsigned long bytes, timeout = 30;
	char err[512];
	json_t *req, *resp, *r;
	int ret = 1;

	if (parse_ulong(argv[1], 0, 1 << 20, &bytes) < 0)
		return cli_fail("'%s' is not a byte count", argv[1]);
	if (argc == 4 && strcmp(argv[2], "--timeout") == 0) {
		if (parse_ulong(argv[3], 1, 120, &timeout) < 0)
			return cli_fail("--timeout: '%s' is not 1-120 seconds", argv[3]);
	} else if (argc != 2) {
		return cli_usage(cli_find("debug"));
	}
	req = json_pack("{s:s, s:{s:s, s:I, s:I}}", "cmd", "debug-send", "args", "peer", argv[0],
			"bytes", (json_int_t)bytes, "timeout_ms", (json_int_t)timeout * 1000);
	resp = ipc_client_call(cli->socket_path, req, (int)timeout * 1000 + 5000, err, sizeof(err));
	json_decref(req);
	if (!resp)
		return cli_fail("%s", err);
	r = json_object_get(resp, "result");
	if (json_is_true(json_object_get(resp, "ok")) && r) {
		if (cli->json)
			cli_print_json(r);
		else
			printf("%lu bytes arrived intact in %.3f s\n", bytes,
			       json_real_value(json_object_get(r, "seconds")));
		ret = 0;
	} else {
		const char *why = json_string_value(json_object_get(resp, "error"));

		cli_fail("%s", why ? why : "send failed");
	}
	json_decref(resp);
	return ret;
}

static int cmd_debug(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *c = cli_find("debug");
	json_t *args, *allowed, *r;

	if (argc >= 3 && strcmp(argv[0], "send") == 0)
		return cli_debug_send(cli, argc - 1, argv + 1);
	if (argc < 3 || strcmp(argv[0], "peer") != 0)
		return cli_usage(c);
	if (strcmp(argv[1], "remove") == 0) {
		if (argc != 3)
			return cli_usage(c);
		r = cli_call(cli, "debug-peer-remove", json_pack("{s:s}", "peer", argv[2]));
		if (!r)
			return 1;
		if (cli->json)
			cli_print_json(r);
		else
			printf("peer removed\n");
		json_decref(r);
		return 0;
	}
	if (strcmp(argv[1], "add") != 0)
		return cli_usage(c);
	allowed = json_array();
	args = json_pack("{s:s, s:o}", "peer", argv[2], "allowed_ips", allowed);
	for (int i = 3; i < argc; i++) {
		if (i + 1 >= argc) {
			json_decref(args);
			return cli_usage(c);
		}
		if (strcmp(argv[i], "--endpoint") == 0) {
			json_object_set_new(args, "endpoint", json_string(argv[++i]));
		} else if (strcmp(argv[i], "--allowed-ip") == 0) {
			json_array_append_new(allowed, json_string(argv[++i]));
		} else {
			json_decref(args);
			return cli_usage(c);
		}
	}
	r = cli_call(cli, "debug-peer-add", args);
	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else
		printf("peer added: %s\n", cli_json_str(r, "wg_public_key"));
	json_decref(r);
	return 0;
}

static int cmd_ping(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *c = cli_find("ping");
	const char *peer = NULL;
	unsigned long count = 4, timeout = 3;
	unsigned received = 0;
	double min = 0, max = 0, sum = 0;
	json_t *results = json_array(), *r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			if (parse_ulong(argv[++i], 1, 100000, &count) < 0)
				return cli_fail("-c: '%s' is not a count", argv[i]);
		} else if (strcmp(argv[i], "-W") == 0 && i + 1 < argc) {
			if (parse_ulong(argv[++i], 1, 60, &timeout) < 0)
				return cli_fail("-W: '%s' is not a timeout in seconds (1-60)",
						argv[i]);
		} else if (!peer && argv[i][0] != '-') {
			peer = argv[i];
		} else {
			json_decref(results);
			return cli_usage(c);
		}
	}
	if (!peer) {
		json_decref(results);
		return cli_usage(c);
	}
	for (unsigned long n = 0; n < count; n++) {
		struct timespec interval = {1, 0};
		char err[512];
		json_t *req, *resp;

		if (n > 0)
			nanosleep(&interval, NULL);
		req = json_pack("{s:s, s:{s:s, s:I}}", "cmd", "ping", "args", "peer", peer,
				"timeout_ms", (json_int_t)timeout * 1000);
		resp = ipc_client_call(cli->socket_path, req, (int)timeout * 1000 + 5000, err,
				       sizeof(err));
		json_decref(req);
		if (!resp) {
			json_decref(results);
			return cli_fail("%s", err);
		}
		r = json_object_get(resp, "result");
		if (json_is_true(json_object_get(resp, "ok")) && r) {
			double rtt = json_real_value(json_object_get(r, "rtt_ms"));

			if (!received || rtt < min)
				min = rtt;
			if (!received || rtt > max)
				max = rtt;
			sum += rtt;
			received++;
			json_array_append(results, r);
			if (!cli->json)
				printf("pong from %.10s via %s %s in %.3f ms\n",
				       cli_json_str(r, "peer"), cli_json_str(r, "path"),
				       cli_json_str(r, "endpoint"), rtt);
		} else {
			const char *why = json_string_value(json_object_get(resp, "error"));

			/* A peer that does not exist will not start existing. */
			if (why && strncmp(why, "no answer", 9) != 0) {
				cli_fail("%s", why);
				json_decref(resp);
				json_decref(results);
				return 1;
			}
			if (!cli->json)
				printf("%s\n", why ? why : "no answer");
		}
		json_decref(resp);
		fflush(stdout);
	}
	if (cli->json) {
		json_t *out =
			json_pack("{s:s, s:I, s:I, s:o}", "peer", peer, "sent", (json_int_t)count,
				  "received", (json_int_t)received, "replies", results);

		if (received) {
			json_object_set_new(out, "rtt_min_ms", json_real(min));
			json_object_set_new(out, "rtt_avg_ms", json_real(sum / received));
			json_object_set_new(out, "rtt_max_ms", json_real(max));
		}
		cli_print_json(out);
		json_decref(out);
	} else {
		json_decref(results);
		printf("%lu sent, %u received", count, received);
		if (received)
			printf(", rtt min/avg/max %.3f/%.3f/%.3f ms", min, sum / received, max);
		printf("\n");
	}
	return received ? 0 : 1;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

static int cmd_daemon(struct cli *cli, int argc, char **argv)
{
	struct daemon_options o = {
		.state_dir = env_or("RAYFISH_DIR", RAY_DEFAULT_STATE_DIR),
		.socket_path = cli->socket_path,
		.tun_name = "ray0",
		.mtu = SESSION_DEFAULT_MTU,
		.port = SESSION_DEFAULT_PORT,
		.system_dns = -1,
	};
	char socket_dir[PATH_MAX], *slash;
	unsigned long v;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--debug") == 0) {
			o.debug = true;
			continue;
		}
		if (!val)
			return cli_usage(cli_find("daemon"));
		i++;
		if (strcmp(arg, "--state-dir") == 0) {
			o.state_dir = val;
		} else if (strcmp(arg, "--tun") == 0) {
			if (strlen(val) == 0 || strlen(val) >= TUN_NAME_MAX || strchr(val, '/'))
				return cli_fail("--tun: '%s' is not an interface name", val);
			o.tun_name = val;
		} else if (strcmp(arg, "--port") == 0) {
			if (parse_ulong(val, 0, 65535, &v) < 0)
				return cli_fail("--port: '%s' is not a port (0-65535)", val);
			o.port = (uint16_t)v;
		} else if (strcmp(arg, "--relay") == 0) {
			char host[256];
			uint16_t port;

			if (relay_client_parse_url(val, host, &port) < 0 ||
			    strlen(val) > SETTINGS_RELAY_URL_MAX)
				return cli_fail(
					"--relay: '%s' is not a relay URL (http://HOST:PORT)", val);
			if (o.nrelays == SETTINGS_RELAYS_MAX)
				return cli_fail("--relay: at most %d relays", SETTINGS_RELAYS_MAX);
			o.relays[o.nrelays++] = val;
		} else if (strcmp(arg, "--system-dns") == 0) {
			if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0)
				return cli_fail("--system-dns: '%s' is not on or off", val);
			o.system_dns = strcmp(val, "on") == 0;
		} else if (strcmp(arg, "--mtu") == 0) {
			if (parse_ulong(val, SESSION_MIN_MTU, 65535 - 80, &v) < 0)
				return cli_fail("--mtu: '%s' is not an MTU (%d-65455)", val,
						SESSION_MIN_MTU);
			o.mtu = (unsigned)v;
		} else if (strcmp(arg, "--threads") == 0) {
			if (parse_ulong(val, 1, 2, &v) < 0)
				return cli_fail("--threads: '%s' is not 1 or 2", val);
			o.threads = (unsigned)v;
		} else {
			return cli_usage(cli_find("daemon"));
		}
	}
	if (snprintf(socket_dir, sizeof(socket_dir), "%s", o.socket_path) >=
	    (int)sizeof(socket_dir))
		return cli_fail("socket path too long: %s", o.socket_path);
	slash = strrchr(socket_dir, '/');
	if (slash && slash != socket_dir) {
		*slash = '\0';
		if (file_mkdirs(socket_dir, 0755) < 0)
			return cli_fail("cannot create %s: %s", socket_dir, strerror(errno));
	}
	return daemon_run(&o);
}

static int cmd_relay(struct cli *cli, int argc, char **argv)
{
	struct relay_server_config cfg;
	struct relay_options o = {
		.listen = NULL,
		.state_dir = env_or("RAYFISH_RELAY_DIR", RAY_DEFAULT_RELAY_DIR),
		.stun_port = 3478,
		.config = &cfg,
	};
	unsigned long v;

	(void)cli;
	relay_server_config_default(&cfg);
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return cli_usage(cli_find("relay"));
		i++;
		if (strcmp(arg, "--listen") == 0) {
			struct sockaddr_storage sa;
			socklen_t sa_len;

			if (relay_server_parse_listen(val, &sa, &sa_len) < 0)
				return cli_fail("--listen: '%s' is not HOST:PORT with a numeric "
						"host (e.g. 0.0.0.0:3340 or [::]:3340)",
						val);
			o.listen = val;
		} else if (strcmp(arg, "--stun-port") == 0) {
			if (parse_ulong(val, 0, 65535, &v) < 0)
				return cli_fail("--stun-port: '%s' is not a port (0-65535; 0: "
						"no STUN)",
						val);
			o.stun_port = (uint16_t)v;
		} else if (strcmp(arg, "--state-dir") == 0) {
			o.state_dir = val;
		} else if (strcmp(arg, "--rate-limit") == 0) {
			if (parse_ulong(val, 0, 1000000, &v) < 0)
				return cli_fail("--rate-limit: '%s' is not Mbit/s (0-1000000; 0: "
						"unlimited)",
						val);
			cfg.rate_bytes_per_s = (uint64_t)v * 1000000 / 8;
		} else {
			return cli_usage(cli_find("relay"));
		}
	}
	if (!o.listen)
		return cli_fail("relay: --listen HOST:PORT is required");
	return relay_server_run(&o);
}

static int cmd_help(struct cli *cli, int argc, char **argv);

static int cmd_version(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 0)
		return cli_usage(cli_find("version"));
	if (cli->json)
		printf("{\"version\": \"%s\"}\n", RAY_VERSION);
	else
		printf("ray %s\n", RAY_VERSION);
	return 0;
}

static const struct cli_command cli_commands[] = {
	{"daemon",
	 "[--state-dir DIR] [--tun NAME] [--port N] [--mtu N] [--threads N] [--relay URL]... "
	 "[--system-dns on|off] [--debug]",
	 "run the daemon in the foreground",
	 "Runs the rayfish daemon: the root process that owns the tunnel, the sessions\n"
	 "and all network state. Logs go to stderr and to STATE_DIR/logs/.\n"
	 "  --state-dir DIR  state directory (env RAYFISH_DIR; default " RAY_DEFAULT_STATE_DIR ")\n"
	 "  --tun NAME       TUN device name (default ray0)\n"
	 "  --port N         UDP port for peers (default 41383; 0: any)\n"
	 "  --mtu N          tunnel MTU (default 1420; below 1280 IPv6 stops working)\n"
	 "  --threads N      threads encrypting and decrypting packets: 1 or 2 (default:\n"
	 "                   2 when the host has four cores or more)\n"
	 "  --relay URL      home relay, http://HOST:PORT (repeatable, up to 4); saved,\n"
	 "                   so later starts without --relay use the same ones\n"
	 "  --system-dns on|off\n"
	 "                   while up, point the host's resolver at Magic DNS for .ray\n"
	 "                   names (systemd-resolved, else /etc/resolv.conf; default on;\n"
	 "                   saved)\n"
	 "  --debug          log debug messages\n"
	 "Stops on SIGTERM, SIGINT or 'ray shutdown'.\n",
	 cmd_daemon},
	{"relay", "--listen HOST:PORT [--stun-port N] [--state-dir DIR] [--rate-limit MBIT]",
	 "run a relay server in the foreground",
	 "Runs a relay: daemons connect to http://HOST:PORT, prove their key, and\n"
	 "exchange end-to-end encrypted packets through it when no direct path\n"
	 "exists yet. It also stores signed discovery records and answers STUN.\n"
	 "  --listen HOST:PORT  TCP address to serve (numeric; [::]:PORT for all)\n"
	 "  --stun-port N       UDP port for STUN binding requests (default 3478; 0: off)\n"
	 "  --state-dir DIR     holds relay.key (env RAYFISH_RELAY_DIR; default\n"
	 "                      " RAY_DEFAULT_RELAY_DIR ")\n"
	 "  --rate-limit MBIT   per-client rate limit in Mbit/s (default 64; 0: none)\n"
	 "Needs no root. Stops on SIGTERM or SIGINT.\n",
	 cmd_relay},
	{"status", "[--json]", "show this node, its state and its networks",
	 "Shows this node's id, addresses, state (up or down) and networks.\n"
	 "Open to every local user.\n",
	 cmd_status},
	{"id", "[--json]", "show this node's id, WireGuard key and addresses",
	 "Prints the node id (z-base-32 of the ed25519 public key), the WireGuard\n"
	 "public key derived from it (base64, as wg prints keys) and the mesh\n"
	 "addresses derived from it. Open to every local user.\n",
	 cmd_id},
	{"up", "", "start the data plane",
	 "Brings the data plane up (remembered across restarts).\n"
	 "Needs root or the operator (see 'ray set-operator').\n",
	 cmd_up},
	{"down", "", "standby: stop traffic, keep sessions",
	 "Stops carrying traffic; the daemon keeps running and stays reachable to\n"
	 "its peers' control messages (remembered across restarts).\n"
	 "Needs root or the operator (see 'ray set-operator').\n",
	 cmd_down},
	{"shutdown", "", "stop the daemon",
	 "Asks the daemon to exit cleanly. Needs root or the operator.\n", cmd_shutdown},
	{"set-operator", "USER|UID|--clear", "let a user run ray without sudo",
	 "Lets USER run commands that change rayfish without root, as Tailscale's\n"
	 "--operator does. Root only; remembered across restarts. --clear revokes it.\n",
	 cmd_set_operator},
	{"ping", "PEER [-c N] [-W SECONDS] [--json]", "ping a peer over the control channel",
	 "Measures the round trip to PEER through its encrypted session (not ICMP),\n"
	 "once a second, and names the path it took. PEER is a node id, a unique\n"
	 "prefix of one, a mesh address, or wg:KEY. -c: count (default 4);\n"
	 "-W: seconds to wait for each answer (default 3). Works while down.\n"
	 "Exits 1 if no answer came.\n",
	 cmd_ping},
	{"debug",
	 "peer add ID [--endpoint IP:PORT] [--allowed-ip CIDR]... | peer remove ID | "
	 "send PEER BYTES [--timeout S]",
	 "static peers, until networks exist",
	 "Adds or removes a peer by hand. ID is a node id, or wg:BASE64 for a plain\n"
	 "WireGuard peer (which then needs at least one --allowed-ip). A node id's\n"
	 "mesh addresses are its allowed IPs. 'send' sends BYTES random bytes (up to\n"
	 "1 MiB less 64) over the control channel and checks the peer's hash of them.\n"
	 "Needs root or the operator.\n",
	 cmd_debug},
	{"create", "[--open] [--name NAME] [--hostname H] [--json]", "create a network",
	 "Creates a network with a new key; this node is its coordinator. Closed\n"
	 "(invite only) unless --open. Without --name it gets a friendly name.\n",
	 cmd_create},
	{"invite", "NET [--expires DURATION] [--hostname H] [--reusable] | --list | --revoke ID",
	 "make, list or revoke invite codes",
	 "Prints a code that lets one node join NET (a coordinator's command).\n"
	 "  --expires D   7d by default; e.g. 12h, 30m\n"
	 "  --hostname H  the joiner gets this hostname\n"
	 "  --reusable    many nodes may use it until it expires\n"
	 "  --list        the invites made here and their state\n"
	 "  --revoke ID   an unused invite stops working\n",
	 cmd_invite},
	{"kick", "NET PEER", "remove a member from a network",
	 "A coordinator removes PEER (hostname, host.net, mesh IP or id prefix);\n"
	 "every member drops it within seconds.\n",
	 cmd_kick},
	{"requests", "NET [accept|deny ID]", "join requests waiting for approval",
	 "Lists who asked to join the closed network NET by its room id, or admits\n"
	 "or refuses one (ID: id prefix or the hostname it asked for).\n",
	 cmd_requests},
	{"admin", "add NET PEER | list NET", "co-coordinators of a network",
	 "add: give PEER the network key, so it can admit, invite and publish\n"
	 "too (admission keeps working when any one coordinator is offline).\n"
	 "list: the coordinators.\n",
	 cmd_admin},
	{"hostname", "NET NAME", "rename this node in a network",
	 "Asks a coordinator to rename this node; if NAME is taken the node gets\n"
	 "NAME-1, NAME-2 ... Every member sees the new name within seconds.\n",
	 cmd_hostname},
	{"nuke", "NET [--force]", "dissolve a network",
	 "A coordinator dissolves NET: every member removes it (at once if\n"
	 "online, when it comes back otherwise). --force: even when other\n"
	 "coordinators exist.\n",
	 cmd_nuke},
	{"leave", "NET", "leave a network",
	 "Tells the coordinators and forgets the network here.\n", cmd_leave},
	{"join", "CODE [--name ALIAS] [--hostname H] [--auto-accept-firewall] [--json]",
	 "join a network with an invite code",
	 "Asks the network's coordinator (through a relay if needed) to admit this\n"
	 "node, then connects to every member.\n"
	 "  --auto-accept-firewall  install the firewall rules the coordinators\n"
	 "                          suggest for this node without asking\n",
	 cmd_join},
	{"firewall", "show | add | remove | default | reject | on | off | suggest | ...",
	 "this node's firewall for mesh traffic",
	 "Filters what members send this node (inbound) and what it sends them\n"
	 "(outbound), on top of the host's own firewall. By default inbound TCP\n"
	 "and UDP are denied, ping is allowed (rule 1, removable), outbound is\n"
	 "allowed, and the answers of allowed connections come back.\n"
	 "Order: tracked connections pass; then the rules, first match wins:\n"
	 "local rules in the order shown, then each network's suggested rules;\n"
	 "then the default. Rules and settings persist across restarts.\n"
	 "  show [--json]                        rules, settings, counters\n"
	 "  add (in|out) (allow|deny) [--proto tcp|udp|icmp|any] [--port N|N-M]\n"
	 "      [--peer PEER | --user ID] [--network NET]\n"
	 "                                       append a local rule; PEER: hostname,\n"
	 "                                       host.net, mesh IP or id prefix\n"
	 "  remove INDEX                         remove rule INDEX (a suggested one\n"
	 "                                       stays away until it changes)\n"
	 "  default (allow|deny)                 what inbound traffic no rule matches gets\n"
	 "  reject (on|off)                      answer denied TCP with RST and UDP\n"
	 "                                       with port unreachable (fail fast)\n"
	 "  on | off                             off: members reach every port\n"
	 "  suggest NET --for HOST|'*' [in|out] (allow|deny) [--proto P] [--port N|N-M]\n"
	 "      [--peer HOST]                    a coordinator suggests a rule to the\n"
	 "                                       members called HOST (or all)\n"
	 "  suggestions NET [--remove INDEX]     the rules NET's coordinators suggest\n"
	 "  pending NET                          suggested rules waiting for you\n"
	 "  accept NET | deny NET                install or refuse the pending rules\n"
	 "  auto-accept NET (on|off)             install NET's suggestions by themselves\n",
	 cmd_firewall},
	{"netcheck", "[--json]", "check this node's network: UDP, NAT, relays",
	 "Measures now, from the peers' UDP port: whether UDP gets out, the public\n"
	 "address(es) each relay's STUN sees, whether the NAT maps ports differently\n"
	 "per destination (symmetric NAT: no direct paths, peers use relays), whether\n"
	 "the gateway offers port mapping (UPnP, NAT-PMP), the latency to each relay\n"
	 "and the preferred one. Takes about 2 seconds. Open to every local user.\n",
	 cmd_netcheck},
	{"version", "[--json]", "print the version", "Prints the version of ray.\n", cmd_version},
	{"help", "[COMMAND]", "show help for a command",
	 "Lists the commands, or shows one command's help.\n", cmd_help},
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static const struct cli_command *cli_find(const char *name)
{
	for (size_t i = 0; i < CLI_NCOMMANDS; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

static void cli_print_overview(FILE *out)
{
	fprintf(out,
		"ray %s: a peer-to-peer mesh VPN\n\n"
		"usage: ray [--socket PATH] [--json] COMMAND [ARGS]\n\ncommands:\n",
		RAY_VERSION);
	for (size_t i = 0; i < CLI_NCOMMANDS; i++)
		fprintf(out, "  %-14s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fprintf(out,
		"\nglobal options:\n"
		"  --socket PATH  daemon socket (env RAYFISH_SOCKET; default " RAY_DEFAULT_SOCKET
		")\n"
		"  --json         machine-readable output\n"
		"\nRun 'ray help COMMAND' for details.\n");
}

static int cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *c;

	(void)cli;
	if (argc == 0) {
		cli_print_overview(stdout);
		return 0;
	}
	if (argc > 1)
		return cli_usage(cli_find("help"));
	c = cli_find(argv[0]);
	if (!c)
		return cli_fail("unknown command '%s' (see 'ray help')", argv[0]);
	printf("usage: ray %s %s\n\n%s", c->name, c->usage, c->help);
	return 0;
}

int cli_main(int argc, char **argv)
{
	struct cli cli = {.socket_path = env_or("RAYFISH_SOCKET", RAY_DEFAULT_SOCKET)};
	const struct cli_command *c = NULL;
	char **rest;
	int nrest = 0, ret;

	/* Global options may stand anywhere; the rest keeps its order. */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest)
		return cli_fail("out of memory");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			cli.json = true;
		} else if (strcmp(argv[i], "--socket") == 0) {
			if (i + 1 >= argc) {
				free(rest);
				return cli_fail("--socket needs a path");
			}
			cli.socket_path = argv[++i];
		} else if (!c && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
			c = cli_find("help");
		} else if (!c && argv[i][0] != '-') {
			c = cli_find(argv[i]);
			if (!c) {
				ret = cli_fail("unknown command '%s' (see 'ray help')", argv[i]);
				goto out;
			}
		} else if (!c) {
			ret = cli_fail("unknown option '%s' (see 'ray help')", argv[i]);
			goto out;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			rest[0] = (char *)c->name;
			nrest = 1;
			c = cli_find("help");
			break;
		} else {
			rest[nrest++] = argv[i];
		}
	}
	if (!c) {
		cli_print_overview(stderr);
		ret = 2;
		goto out;
	}
	ret = c->run(&cli, nrest, rest);
out:
	free(rest);
	return ret;
}
