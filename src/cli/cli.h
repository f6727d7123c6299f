/* The `ray` command line: parses arguments, talks to the daemon, prints. */
#ifndef RAY_CLI_CLI_H
#define RAY_CLI_CLI_H

#define RAY_DEFAULT_STATE_DIR "/var/lib/rayfish"
#define RAY_DEFAULT_RELAY_DIR "/var/lib/rayfish-relay"
#define RAY_DEFAULT_SOCKET    "/run/rayfish/ray.sock"

/* Returns the process exit status: 0 on success, 1 on failure, 2 on misuse. */
int cli_main(int argc, char **argv);

#endif
