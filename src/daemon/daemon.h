/* `ray daemon`: the long-lived root process that owns all network state.
 * Every other subcommand talks to it over IPC. */
#ifndef RAY_DAEMON_DAEMON_H
#define RAY_DAEMON_DAEMON_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "daemon/settings.h"

struct loop;
struct ipc_server;
struct ipc_caller;

struct daemon_options {
	const char *state_dir;
	const char *socket_path;
	bool debug;
};

struct daemon {
	struct daemon_options options;
	struct loop *loop;
	struct ipc_server *ipc;
	struct identity identity;
	struct settings settings;
	char settings_path[PATH_MAX];
	int lock_fd;
	int signal_fd;
	bool active; /* the data plane state `ray up` / `ray down` toggle */
	uint64_t started_ms;
};

/* Runs the daemon in the foreground until SIGTERM, SIGINT or `ray shutdown`.
 * Returns the process exit status. */
int daemon_run(const struct daemon_options *options);

/* Apply `ray up` / `ray down`: persist the wish, then change the state. */
int daemon_set_active(struct daemon *d, bool up);
void daemon_request_shutdown(struct daemon *d);

/* The IPC request handler (daemon/commands.c). */
json_t *daemon_handle_request(const char *cmd, json_t *args, const struct ipc_caller *caller,
			      void *arg);

#endif
