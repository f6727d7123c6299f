/* What the `ray` subcommands share: the daemon call and output helpers
 * (cli/cli.c). */
#ifndef RAY_CLI_CLI_UTIL_H
#define RAY_CLI_CLI_UTIL_H

#include <jansson.h>
#include <stdbool.h>

#define IPC_TIMEOUT_MS 10000

struct cli {
	const char *socket_path;
	bool json;
};

/* Prints "ray: " and the message to stderr; returns 1 (the exit status). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Send CMD with ARGS (stolen; NULL for none). On success returns the result
 * object (a new reference, possibly an empty object); on failure prints the
 * one-line reason and returns NULL. */
json_t *cli_call_timeout(struct cli *cli, const char *cmd, json_t *args, int timeout_ms);
json_t *cli_call(struct cli *cli, const char *cmd, json_t *args);
void cli_print_json(const json_t *obj);
/* OBJ's string KEY, or "-". */
const char *cli_json_str(const json_t *obj, const char *key);

/* `ray firewall ...` (cli/cli_firewall.c). */
int cli_firewall(struct cli *cli, int argc, char **argv);

#endif
