/* Daemon settings persisted in STATE_DIR/settings.json. */
#ifndef RAY_DAEMON_SETTINGS_H
#define RAY_DAEMON_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SETTINGS_RELAYS_MAX    4
#define SETTINGS_RELAY_URL_MAX 255

struct settings {
	bool has_operator;
	uid_t operator_uid; /* may run mutating commands without root */
	bool want_up;	    /* data plane active; `ray down` clears it */
	bool dns_system;    /* point the host's resolver at Magic DNS while up */
	unsigned nrelays;   /* home relays, "http://HOST:PORT" */
	char relays[SETTINGS_RELAYS_MAX][SETTINGS_RELAY_URL_MAX + 1];
};

void settings_defaults(struct settings *s);

/* Load from PATH; a missing file yields the defaults. A file that exists but
 * cannot be parsed is an error (-EINVAL, reason in ERR): refusing to start is
 * better than silently forgetting the user's settings. */
int settings_load(const char *path, struct settings *s, char *err, size_t err_len);

/* Parse the file's TEXT; PATH only names it in errors. */
int settings_parse(const char *text, size_t len, const char *path, struct settings *s, char *err,
		   size_t err_len);

/* Atomically replace PATH. Returns 0 or -errno. */
int settings_save(const char *path, const struct settings *s);

#endif
