/* `ray daemon`: the long-lived root process that owns all network state.
 * Every other subcommand talks to it over IPC. */
#ifndef RAY_DAEMON_DAEMON_H
#define RAY_DAEMON_DAEMON_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "daemon/networks.h"
#include "daemon/relays.h"
#include "daemon/settings.h"

struct loop;
struct ipc_server;
struct ipc_caller;
struct session;
struct netcheck;

struct daemon_options {
	const char *state_dir;
	const char *socket_path;
	const char *tun_name; /* "ray0" */
	unsigned mtu;
	unsigned threads; /* --threads: 0 auto */
	uint16_t port;
	bool debug;
	/* --relay URL (repeatable): replaces the saved home relays when given */
	unsigned nrelays;
	const char *relays[SETTINGS_RELAYS_MAX];
	int system_dns; /* --system-dns: 1 on, 0 off, -1 as saved */
};

struct daemon {
	struct daemon_options options;
	struct loop *loop;
	struct ipc_server *ipc;
	struct session *session;
	json_t *static_peers; /* the add requests behind peers.json */
	struct identity identity;
	struct settings settings;
	struct relays relays;
	struct networks networks;
	struct netcheck *netcheck; /* the running `ray netcheck`, if any */
	struct magicdns *dns;
	struct fwservice *fw;
	char settings_path[PATH_MAX];
	int lock_fd;
	int signal_fd;
	bool active; /* the data plane state `ray up` / `ray down` toggle */
	uint64_t started_ms;
};

/* Runs the daemon in the foreground until SIGTERM, SIGINT or `ray shutdown`.
 * Returns the process exit status. */
int daemon_run(const struct daemon_options *options);

/* Apply `ray up` / `ray down`: change the state, then persist the wish.
 * Returns 0 or -errno with a reason in ERR. */
int daemon_set_active(struct daemon *d, bool up, char *err, size_t err_len);
void daemon_request_shutdown(struct daemon *d);

/* A control request from a peer (daemon/control.c). */
struct peer;
void daemon_on_request(void *arg, struct peer *p, uint32_t req_id, uint32_t method,
		       const uint8_t *body, size_t len);

/* The peer NAME means: a member's hostname or host.network, a mesh
 * address, a node id or unique prefix of one, or wg:KEY. NULL with the
 * reason in ERR (daemon/commands.c). */
struct peer *daemon_peer_resolve(struct daemon *d, const char *name, const char **err);

/* The IPC request handler (daemon/commands.c). */
struct ipc_request;
json_t *daemon_handle_request(struct ipc_request *req, const char *cmd, json_t *args,
			      const struct ipc_caller *caller, void *arg);

#endif
