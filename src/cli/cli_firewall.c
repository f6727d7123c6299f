/* `ray firewall ...`: the per-device firewall's rules and suggestions. */
#include "cli/cli_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIREWALL_USAGE                                                                             \
	"usage: ray firewall show | add (in|out) (allow|deny) [--proto tcp|udp|icmp|any]\n"        \
	"         [--port N|N-M] [--peer PEER|--user ID] [--network NET] | remove INDEX |\n"       \
	"         default (allow|deny) | reject (on|off) | on | off |\n"                           \
	"         suggest NET --for HOST|'*' [in|out] (allow|deny) [--proto P] [--port N|N-M]\n"   \
	"         [--peer HOST] | suggestions NET [--remove INDEX] | pending NET |\n"              \
	"         accept NET | deny NET | auto-accept NET (on|off)   (see 'ray help firewall')"

static int usage(void)
{
	fprintf(stderr, "ray: %s\n", FIREWALL_USAGE);
	return 2;
}

/* "--name VALUE" options among ARGV into ARGS; the rest into POS (at most
 * MAX). Returns the number of positionals, or -1. */
static int options(int argc, char **argv, const char *const *names, json_t *args, char **pos,
		   int max)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *const *o;

		if (strncmp(argv[i], "--", 2) != 0) {
			if (n == max)
				return -1;
			pos[n++] = argv[i];
			continue;
		}
		for (o = names; *o && strcmp(argv[i] + 2, *o) != 0; o++)
			;
		if (!*o || i + 1 >= argc)
			return -1;
		json_object_set_new(args, *o, json_string(argv[++i]));
	}
	return n;
}

static void print_rule(const json_t *r)
{
	const char *ports = json_string_value(json_object_get(r, "ports"));
	const char *peer = json_string_value(json_object_get(r, "peer_name"));
	const char *net = json_string_value(json_object_get(r, "network_name"));

	if (!peer)
		peer = json_string_value(json_object_get(r, "peer"));
	printf("  %3lld  %-3s %-5s %-4s",
	       (long long)json_integer_value(json_object_get(r, "index")),
	       cli_json_str(r, "direction"), cli_json_str(r, "action"), cli_json_str(r, "proto"));
	if (ports)
		printf(" port %s", ports);
	if (peer)
		printf(" peer %.20s", peer);
	if (json_object_get(r, "user"))
		printf(" user %.12s", cli_json_str(r, "user"));
	if (json_object_get(r, "origin"))
		printf("   (suggested by %s)", net ? net : "a network we left");
	else if (net)
		printf(" network %s", net);
	putchar('\n');
}

static void print_status(const json_t *st)
{
	const json_t *c = json_object_get(st, "counters"), *r;
	size_t i;

	printf("firewall %s, inbound default %s, reject %s\n",
	       json_is_true(json_object_get(st, "enabled")) ? "on" : "OFF",
	       cli_json_str(st, "default"),
	       json_is_true(json_object_get(st, "reject")) ? "on" : "off");
	json_array_foreach(json_object_get(st, "rules"), i, r) print_rule(r);
	if (!json_array_size(json_object_get(st, "rules")))
		printf("  (no rules)\n");
	printf("in %lld passed, %lld dropped; out %lld passed, %lld dropped; %lld rejected; "
	       "%lld tracked flows\n",
	       (long long)json_integer_value(json_object_get(c, "in_passed")),
	       (long long)json_integer_value(json_object_get(c, "in_dropped")),
	       (long long)json_integer_value(json_object_get(c, "out_passed")),
	       (long long)json_integer_value(json_object_get(c, "out_dropped")),
	       (long long)json_integer_value(json_object_get(c, "rejected")),
	       (long long)json_integer_value(json_object_get(c, "flows")));
}

/* Call the daemon and print the result: as JSON with --json, else with
 * PRINT or the line DONE. */
static int run(struct cli *cli, const char *cmd, json_t *args, void (*print)(const json_t *),
	       const char *done)
{
	json_t *r = cli_call(cli, cmd, args);

	if (!r)
		return 1;
	if (cli->json)
		cli_print_json(r);
	else if (print)
		print(r);
	else if (done)
		puts(done);
	json_decref(r);
	return 0;
}

static void print_added(const json_t *r)
{
	printf("added rule %lld:\n", (long long)json_integer_value(json_object_get(r, "index")));
	print_rule(r);
}

static void print_removed(const json_t *r)
{
	printf("removed:\n");
	print_rule(r);
}

static void print_suggested(const json_t *r)
{
	printf("suggested in %s for %s: %s\n", cli_json_str(r, "network"), cli_json_str(r, "for"),
	       cli_json_str(r, "rule"));
}

static void print_suggestions(const json_t *r)
{
	const json_t *s;
	size_t i;

	json_array_foreach(json_object_get(r, "suggestions"), i, s)
		printf("  %3lld  for %-16s %s\n",
		       (long long)json_integer_value(json_object_get(s, "index")),
		       cli_json_str(s, "for"), cli_json_str(s, "rule"));
	if (!json_array_size(json_object_get(r, "suggestions")))
		printf("no suggested rules in %s\n", cli_json_str(r, "network"));
}

static void print_pending(const json_t *r)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(r, "pending"), i, p) print_rule(p);
	if (!json_array_size(json_object_get(r, "pending")))
		printf("no suggested rules wait for approval in %s%s\n", cli_json_str(r, "network"),
		       json_is_true(json_object_get(r, "auto_accept")) ? " (auto-accept is on)"
								       : "");
	else
		printf("install them with: ray firewall accept %s (or deny)\n",
		       cli_json_str(r, "network"));
}

static void print_counted(const json_t *r)
{
	const char *what = json_object_get(r, "accepted") ? "accepted" : "denied";

	printf("%lld suggested rule(s) %s in %s\n",
	       (long long)json_integer_value(json_object_get(r, what)), what,
	       cli_json_str(r, "network"));
}

static int on_off(const char *text, bool *on)
{
	if (strcmp(text, "on") == 0)
		*on = true;
	else if (strcmp(text, "off") == 0)
		*on = false;
	else
		return -1;
	return 0;
}

/* add/suggest: "[in|out] (allow|deny)" and the selector options. */
static int rule_command(struct cli *cli, const char *op, int argc, char **argv, const char *network)
{
	static const char *const names[] = {"proto",   "port", "peer", "user",
					    "network", "for",  NULL};
	json_t *args = json_pack("{s:s}", "op", op);
	char *pos[2];
	int n = options(argc, argv, names, args, pos, 2);

	if (n < 1 || (n == 1 && !network)) {
		json_decref(args);
		return usage();
	}
	json_object_set_new(args, "direction", json_string(n == 2 ? pos[0] : "in"));
	json_object_set_new(args, "action", json_string(pos[n - 1]));
	if (network) {
		json_object_set_new(args, "network", json_string(network));
		if (!json_object_get(args, "for")) {
			json_decref(args);
			return cli_fail("suggest needs --for HOST or --for '*'");
		}
	}
	return run(cli, "firewall", args, network ? print_suggested : print_added, NULL);
}

int cli_firewall(struct cli *cli, int argc, char **argv)
{
	const char *op = argc > 0 ? argv[0] : "show";
	unsigned long index;
	char *end;
	bool on;

	if (strcmp(op, "show") == 0 && argc <= 1)
		return run(cli, "firewall-show", json_pack("{s:s}", "op", "show"), print_status,
			   NULL);
	if (strcmp(op, "add") == 0)
		return rule_command(cli, "add", argc - 1, argv + 1, NULL);
	if (strcmp(op, "remove") == 0 && argc == 2) {
		index = strtoul(argv[1], &end, 10);
		if (*end || !index || index > 100000)
			return cli_fail("remove: '%s' is not a rule number (see ray firewall show)",
					argv[1]);
		return run(cli, "firewall",
			   json_pack("{s:s, s:I}", "op", "remove", "index", (json_int_t)index),
			   print_removed, NULL);
	}
	if (strcmp(op, "default") == 0 && argc == 2)
		return run(cli, "firewall",
			   json_pack("{s:s, s:s}", "op", "default", "value", argv[1]), print_status,
			   NULL);
	if (strcmp(op, "reject") == 0 && argc == 2) {
		if (on_off(argv[1], &on) < 0)
			return usage();
		return run(cli, "firewall", json_pack("{s:s, s:b}", "op", "reject", "value", on),
			   print_status, NULL);
	}
	if ((strcmp(op, "on") == 0 || strcmp(op, "off") == 0) && argc == 1)
		return run(cli, "firewall",
			   json_pack("{s:s, s:b}", "op", "enable", "value", strcmp(op, "on") == 0),
			   print_status, NULL);
	if (argc < 2)
		return usage();
	if (strcmp(op, "suggest") == 0)
		return rule_command(cli, "suggest", argc - 2, argv + 2, argv[1]);
	if (strcmp(op, "suggestions") == 0 && argc == 2)
		return run(cli, "firewall-show",
			   json_pack("{s:s, s:s}", "op", "suggestions", "network", argv[1]),
			   print_suggestions, NULL);
	if (strcmp(op, "suggestions") == 0 && argc == 4 && strcmp(argv[2], "--remove") == 0) {
		index = strtoul(argv[3], &end, 10);
		if (*end || !index || index > 100000)
			return cli_fail("--remove: '%s' is not a suggestion number", argv[3]);
		return run(cli, "firewall",
			   json_pack("{s:s, s:s, s:I}", "op", "unsuggest", "network", argv[1],
				     "index", (json_int_t)index),
			   NULL, "suggestion withdrawn; members drop it within seconds");
	}
	if (strcmp(op, "pending") == 0 && argc == 2)
		return run(cli, "firewall-show",
			   json_pack("{s:s, s:s}", "op", "pending", "network", argv[1]),
			   print_pending, NULL);
	if ((strcmp(op, "accept") == 0 || strcmp(op, "deny") == 0) && argc == 2)
		return run(cli, "firewall", json_pack("{s:s, s:s}", "op", op, "network", argv[1]),
			   print_counted, NULL);
	if (strcmp(op, "auto-accept") == 0 && argc == 3) {
		if (on_off(argv[2], &on) < 0)
			return usage();
		return run(cli, "firewall",
			   json_pack("{s:s, s:s, s:b}", "op", "auto-accept", "network", argv[1],
				     "on", on),
			   NULL,
			   on ? "suggested rules of this network now install by themselves"
			      : "suggested rules of this network now wait for ray firewall accept");
	}
	return usage();
}
