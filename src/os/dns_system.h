/* Pointing the host's resolver at Magic DNS, and putting it back.
 *
 * Two ways, chosen by dns_system_detect():
 *   - systemd-resolved (resolv.conf points into /run/systemd/resolve/ and
 *     resolved is running): resolvectl gives the TUN link our servers and
 *     the routing domains ~ray and the mesh reverse zones, plus a search
 *     domain NET.ray per network; only those names come to us. Reverting is
 *     `resolvectl revert`; the link's settings die with the link, so a
 *     crash leaves nothing to repair.
 *   - /etc/resolv.conf (dns/resolv_conf.h renders it): our nameserver first,
 *     the user's servers and lines after it, our search domains first. The
 *     user's bytes are saved in STATE_DIR/dns/resolv.conf.orig before the
 *     first write (or STATE_DIR/dns/resolv.conf.absent when there was no
 *     file) and stay there until a revert put them back, so a crash is
 *     repaired at the next start.
 *
 * Writing resolv.conf: by rename when it is a plain file; in place when it
 * is a symlink (resolvconf, NetworkManager: the link stays) or a bind mount
 * (containers, `ip netns exec`), where rename fails with EBUSY.
 *
 * Reverting never clobbers someone else's file: when the current file is
 * not one we rendered (a DHCP client replaced it while we were up), it is
 * left alone and the backup dropped.
 *
 * A DHCP client or NetworkManager may rewrite resolv.conf while we are up;
 * dns_system_watch_* tell when it changed, dns_system_applied whether it is
 * still ours, and applying again takes the new file as the user's.
 *
 * Calls block briefly (file writes; resolvectl waited for at most 5 s);
 * the daemon makes them on `ray up`, `ray down`, roster changes and when
 * the file was rewritten. */
#ifndef RAY_OS_DNS_SYSTEM_H
#define RAY_OS_DNS_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum dns_system_mode { DNS_SYSTEM_OFF, DNS_SYSTEM_RESOLVED, DNS_SYSTEM_RESOLV_CONF };

struct dns_system_config {
	const char *state_dir;	 /* the backup lives in STATE_DIR/dns/ */
	const char *resolv_conf; /* "/etc/resolv.conf"; tests pass their own */
	const char *tun_name;	 /* the link resolvectl configures */
};

enum dns_system_mode dns_system_detect(const struct dns_system_config *c);
/* "off", "resolved", "resolv.conf". */
const char *dns_system_mode_name(enum dns_system_mode m);

/* At start: a backup a crash left behind is put back (see revert). 0, or
 * -errno with a reason in ERR. */
int dns_system_repair(const struct dns_system_config *c, char *err, size_t err_len);

/* Configure (again: with new SEARCH domains, NSEARCH up to 16, e.g.
 * "net1.ray"). Idempotent; never backs up a file of ours as the user's. */
int dns_system_apply(const struct dns_system_config *c, enum dns_system_mode m,
		     const char *const *search, unsigned nsearch, char *err, size_t err_len);

/* Put back what was there before dns_system_apply. */
int dns_system_revert(const struct dns_system_config *c, enum dns_system_mode m, char *err,
		      size_t err_len);

/* Whether the system still points at us: resolv.conf mode, the file is one
 * we rendered; resolved mode, true (the link's settings are ours until the
 * link goes). */
bool dns_system_applied(const struct dns_system_config *c, enum dns_system_mode m);

/* An inotify descriptor (non-blocking) watching resolv.conf, in place and
 * replaced, or -errno. */
int dns_system_watch_open(const struct dns_system_config *c);
/* Drain FD; true when resolv.conf may have changed. Follows a replaced
 * file. */
bool dns_system_watch_changed(const struct dns_system_config *c, int fd);

/* The host's resolvers as they were before we configured anything (the
 * backup when there is one, else the current file), never our own
 * 100.100.100.53 / fd72:6179::53; in resolved mode its stub 127.0.0.53.
 * Up to MAX, port 53. Returns the count. */
unsigned dns_system_upstreams(const struct dns_system_config *c, enum dns_system_mode m,
			      struct sockaddr_storage *out, unsigned max);

#endif
