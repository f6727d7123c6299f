#include "daemon/daemon.h"
#include "crypto/keytext.h"
#include "daemon/ipc_server.h"
#include "daemon/fwservice.h"
#include "daemon/magicdns.h"
#include "daemon/netcheck.h"
#include "daemon/static_peers.h"
#include "session/session.h"
#include "util/eventloop.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/version.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <stdlib.h>

static int daemon_lock_state_dir(struct daemon *d)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/daemon.lock", d->options.state_dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return -errno;
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int ret = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(d->lock_fd);
		d->lock_fd = -1;
		return ret;
	}
	return 0;
}

static const char *identity_error(int ret)
{
	switch (ret) {
	case -EPERM:
		return "it is accessible to other users or owned by another user; "
		       "run: chmod 600 on it (and chown it to this user)";
	case -EINVAL:
		return "it is malformed or truncated (expected one line of base64)";
	case -EACCES:
		return "permission denied";
	default:
		return strerror(-ret);
	}
}

static int daemon_load_identity(struct daemon *d)
{
	char path[PATH_MAX];
	int ret;

	if (snprintf(path, sizeof(path), "%s/identity.key", d->options.state_dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	ret = identity_load_or_create(path, &d->identity);
	if (ret < 0)
		log_error("cannot use identity key %s: %s", path, identity_error(ret));
	return ret;
}

static void daemon_signal(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
		loop_stop(loop);
	}
}

static int daemon_watch_signals(struct daemon *d)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0)
		return -errno;
	return loop_fd_add(d->loop, d->signal_fd, EPOLLIN, daemon_signal, d);
}

int daemon_set_active(struct daemon *d, bool up, char *err, size_t err_len)
{
	struct settings next = d->settings;
	int ret;

	if (d->active != up) {
		ret = session_set_up(d->session, up, err, err_len);
		if (ret < 0)
			return ret;
		log_info("data plane %s", up ? "up" : "down (standby)");
		d->active = up;
	}
	magicdns_set_active(d, up);
	next.want_up = up;
	ret = settings_save(d->settings_path, &next);
	if (ret < 0) {
		snprintf(err, err_len, "cannot save settings: %s", strerror(-ret));
		return ret;
	}
	d->settings = next;
	return 0;
}

/* Test-only: RAYFISH_TEST_REKEY_AFTER=SECONDS shortens WireGuard's rekey
 * interval so tests see rekeys. Reject-after-time stays at 180 s: the slack
 * between the two is what lets a lost initiation be retried (REKEY_TIMEOUT,
 * 5 s) before the keys expire. */
static void daemon_timer_config(struct wg_timer_config *cfg)
{
	const char *v = getenv("RAYFISH_TEST_REKEY_AFTER");
	unsigned long secs;

	wg_timer_config_default(cfg);
	if (!v || !*v)
		return;
	secs = strtoul(v, NULL, 10);
	if (secs < 1 || secs > 120)
		return;
	cfg->tc_rekey_after_time = secs * WG_NSEC_PER_SEC;
	log_warn("test setting: rekey after %lu s", secs);
}

static int daemon_start_session(struct daemon *d)
{
	struct session_config cfg = {
		.tun_name = d->options.tun_name,
		.mtu = d->options.mtu,
		.port = d->options.port,
		.threads = d->options.threads,
	};
	char err[256];

	daemon_timer_config(&cfg.timers);
	if (cfg.mtu < SESSION_IPV6_MIN_MTU)
		log_warn("MTU %u is below 1280, IPv6's minimum: mesh IPv6 will not work", cfg.mtu);
	d->session =
		session_new(d->loop, &d->identity, &cfg, daemon_on_request, d, err, sizeof(err));
	if (!d->session) {
		log_error("%s", err);
		return -1;
	}
	if (magicdns_start(d) < 0)
		return -1;
	if (fwservice_start(d, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (static_peers_load(d, err, sizeof(err)) < 0 || networks_load(d, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (d->settings.want_up && session_set_up(d->session, true, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	d->active = d->settings.want_up;
	magicdns_set_active(d, d->active);
	return 0;
}

/* --relay URLs replace the saved home relays, and are saved: the next start
 * without --relay uses them. */
static int daemon_start_relays(struct daemon *d)
{
	struct settings next = d->settings;
	int ret;

	if (d->options.nrelays) {
		next.nrelays = d->options.nrelays;
		for (unsigned i = 0; i < d->options.nrelays; i++)
			snprintf(next.relays[i], sizeof(next.relays[i]), "%s",
				 d->options.relays[i]);
		ret = settings_save(d->settings_path, &next);
		if (ret < 0) {
			log_error("cannot save settings: %s", strerror(-ret));
			return ret;
		}
		d->settings = next;
	}
	ret = relays_start(d);
	if (ret < 0)
		return ret;
	networks_start(d);
	for (struct peer *p = session_peers(d->session); p; p = p->next) {
		if (p->has_node_id)
			relays_resolve(d, p->node_id);
	}
	return 0;
}

static void daemon_stop_timer(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

void daemon_request_shutdown(struct daemon *d)
{
	/* After the current response has gone out. */
	loop_timer_add(d->loop, 0, daemon_stop_timer, d);
}

int daemon_run(const struct daemon_options *options)
{
	struct daemon d = {.options = *options, .lock_fd = -1, .signal_fd = -1};
	char logs[PATH_MAX], err[512], id[NODE_ID_TEXT_LEN + 1];
	int status = 1, ret;

	if (sodium_init() < 0) {
		log_error("libsodium failed to initialize");
		return 1;
	}
	log_set_level(options->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	ret = file_mkdirs(options->state_dir, 0700);
	if (ret < 0) {
		log_error("cannot create state directory %s: %s", options->state_dir,
			  strerror(-ret));
		return 1;
	}
	ret = daemon_lock_state_dir(&d);
	if (ret < 0) {
		log_error("cannot lock state directory %s: %s", options->state_dir,
			  ret == -EBUSY ? "another daemon is using it" : strerror(-ret));
		return 1;
	}
	snprintf(logs, sizeof(logs), "%s/logs", options->state_dir);
	if ((ret = log_open_dir(logs)) < 0)
		log_warn("cannot log to %s: %s", logs, strerror(-ret));
	file_remove_stale_temps(options->state_dir);

	if (daemon_load_identity(&d) < 0)
		goto out_unlock;
	snprintf(d.settings_path, sizeof(d.settings_path), "%s/settings.json", options->state_dir);
	if (settings_load(d.settings_path, &d.settings, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_identity;
	}
	if (options->system_dns >= 0 && d.settings.dns_system != (options->system_dns == 1)) {
		struct settings next = d.settings;

		next.dns_system = options->system_dns == 1;
		if ((ret = settings_save(d.settings_path, &next)) < 0) {
			log_error("cannot save settings: %s", strerror(-ret));
			goto out_identity;
		}
		d.settings = next;
	}
	d.loop = loop_new();
	if (!d.loop) {
		log_error("cannot create event loop: %s", strerror(errno));
		goto out_identity;
	}
	if ((ret = daemon_watch_signals(&d)) < 0) {
		log_error("cannot watch signals: %s", strerror(-ret));
		goto out_signals;
	}
	/* The socket first: it tells whether another daemon is already here. */
	d.ipc = ipc_server_new(d.loop, options->socket_path, daemon_handle_request, &d, err,
			       sizeof(err));
	if (!d.ipc) {
		log_error("%s", err);
		goto out_signals;
	}
	if (daemon_start_session(&d) < 0 || daemon_start_relays(&d) < 0)
		goto out_session;
	d.started_ms = loop_now_ms();
	keytext_format_node_id(d.identity.sign_public, id);
	log_info("rayfish %s daemon started: id %s, state %s, socket %s, tun %s, udp port %u, %s",
		 RAY_VERSION, id, options->state_dir, options->socket_path,
		 session_tun_name(d.session), session_port(d.session),
		 d.active ? "up" : "down (standby)");

	ret = loop_run(d.loop);
	if (ret < 0) {
		log_error("event loop failed: %s", strerror(-ret));
	} else {
		log_info("daemon stopped");
		status = 0;
	}

out_session:
	netcheck_stop(&d);
	networks_stop(&d);
	relays_stop(&d);
	magicdns_stop(&d);
	fwservice_stop(&d);
	session_free(d.session);
	static_peers_free(&d);
	ipc_server_free(d.ipc);
out_signals:
	if (d.signal_fd >= 0) {
		loop_fd_remove(d.loop, d.signal_fd);
		close(d.signal_fd);
	}
	loop_free(d.loop);
out_identity:
	identity_wipe(&d.identity);
out_unlock:
	close(d.lock_fd);
	log_close();
	return status;
}
