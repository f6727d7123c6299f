/* The host's resolver configuration: see os/dns_system.h. */
#include "os/dns_system.h"
#include "dns/resolv_conf.h"
#include "util/fileio.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DNS_SYSTEM_SERVER4	  "100.100.100.53"
#define DNS_SYSTEM_SERVER6	  "fd72:6179::53"
#define DNS_SYSTEM_RESOLVED_DIR	  "/run/systemd/resolve/"
#define DNS_SYSTEM_RESOLVED_SOCK  "/run/systemd/resolve/io.systemd.Resolve"
#define DNS_SYSTEM_RESOLVED_STUB  "127.0.0.53"
#define DNS_SYSTEM_SEARCH_MAX	  16
#define DNS_SYSTEM_CMD_TIMEOUT_MS 5000
#define DNS_SYSTEM_REV4_FIRST	  64 /* 64.100.in-addr.arpa .. 127.100.in-addr.arpa */
#define DNS_SYSTEM_REV4_LAST	  127

static const char *const dns_system_ours[] = {DNS_SYSTEM_SERVER4, DNS_SYSTEM_SERVER6};

const char *dns_system_mode_name(enum dns_system_mode m)
{
	switch (m) {
	case DNS_SYSTEM_RESOLVED:
		return "resolved";
	case DNS_SYSTEM_RESOLV_CONF:
		return "resolv.conf";
	default:
		return "off";
	}
}

static bool dns_system_have_resolvectl(void)
{
	return access("/usr/bin/resolvectl", X_OK) == 0 || access("/bin/resolvectl", X_OK) == 0;
}

enum dns_system_mode dns_system_detect(const struct dns_system_config *c)
{
	char real[PATH_MAX];

	if (realpath(c->resolv_conf, real) &&
	    strncmp(real, DNS_SYSTEM_RESOLVED_DIR, strlen(DNS_SYSTEM_RESOLVED_DIR)) == 0 &&
	    access(DNS_SYSTEM_RESOLVED_SOCK, F_OK) == 0 && dns_system_have_resolvectl())
		return DNS_SYSTEM_RESOLVED;
	return DNS_SYSTEM_RESOLV_CONF;
}

/* ---- backup files ---------------------------------------------------------- */

static int dns_system_path(const struct dns_system_config *c, const char *name, char *out)
{
	if (snprintf(out, PATH_MAX, "%s/dns/%s", c->state_dir, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The user's file as saved: 0 with *TEXT (free it), or *TEXT NULL and
 * *ABSENT when there was none; -ENOENT when there is no backup. */
static int dns_system_backup_read(const struct dns_system_config *c, char **text, size_t *len,
				  bool *absent)
{
	char path[PATH_MAX];
	int ret;

	*text = NULL;
	*len = 0;
	*absent = false;
	if ((ret = dns_system_path(c, "resolv.conf.orig", path)) < 0)
		return ret;
	ret = file_read_all(path, RESOLV_CONF_MAX, text, len);
	if (ret != -ENOENT)
		return ret;
	if ((ret = dns_system_path(c, "resolv.conf.absent", path)) < 0)
		return ret;
	if (access(path, F_OK) < 0)
		return -ENOENT;
	*absent = true;
	return 0;
}

static int dns_system_backup_write(const struct dns_system_config *c, const char *text, size_t len)
{
	char dir[PATH_MAX], orig[PATH_MAX], absent[PATH_MAX];
	int ret;

	if (snprintf(dir, sizeof(dir), "%s/dns", c->state_dir) >= (int)sizeof(dir) ||
	    dns_system_path(c, "resolv.conf.orig", orig) < 0 ||
	    dns_system_path(c, "resolv.conf.absent", absent) < 0)
		return -ENAMETOOLONG;
	if ((ret = file_mkdirs(dir, 0700)) < 0)
		return ret;
	if (!text) {
		ret = file_write_atomic(absent, "", 0, 0600);
		if (!ret)
			unlink(orig);
		return ret;
	}
	ret = file_write_atomic(orig, text, len, 0600);
	if (!ret)
		unlink(absent);
	return ret;
}

static void dns_system_backup_drop(const struct dns_system_config *c)
{
	char path[PATH_MAX];

	if (dns_system_path(c, "resolv.conf.orig", path) == 0)
		unlink(path);
	if (dns_system_path(c, "resolv.conf.absent", path) == 0)
		unlink(path);
}

/* ---- resolv.conf ------------------------------------------------------------ */

/* Rename where it works; in place through a symlink or over a bind mount. */
static int dns_system_write(const char *path, const char *text, size_t len)
{
	struct stat st;
	int ret;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return file_write_in_place(path, text, len);
	ret = file_write_atomic(path, text, len, 0644);
	if (ret == -EBUSY || ret == -EXDEV || ret == -EPERM || ret == -EACCES)
		ret = file_write_in_place(path, text, len);
	return ret;
}

static int dns_system_file_apply(const struct dns_system_config *c, const char *const *search,
				 unsigned nsearch, char *err, size_t err_len)
{
	char *cur = NULL, *orig = NULL, *out = NULL;
	size_t cur_len = 0, orig_len = 0, out_len = 0;
	bool absent = false;
	int ret;

	ret = file_read_all(c->resolv_conf, RESOLV_CONF_MAX, &cur, &cur_len);
	if (ret < 0 && ret != -ENOENT) {
		snprintf(err, err_len, "cannot read %s: %s", c->resolv_conf, strerror(-ret));
		goto out;
	}
	if (cur && resolv_conf_is_ours(cur, cur_len)) {
		/* ours already: render again from the user's saved file */
		ret = dns_system_backup_read(c, &orig, &orig_len, &absent);
		if (ret == -ENOENT) {
			/* its backup is gone (a wiped state directory): our best
			 * guess at the user's file becomes the backup */
			ret = resolv_conf_unrender(cur, cur_len, dns_system_ours, 2, &orig,
						   &orig_len);
			if (!ret)
				ret = dns_system_backup_write(c, orig, orig_len);
		}
	} else {
		/* the user's file: saved before anything is written */
		orig = cur;
		orig_len = cur_len;
		cur = NULL;
		ret = dns_system_backup_write(c, orig, orig_len);
	}
	if (ret < 0) {
		snprintf(err, err_len, "cannot save the original %s in %s/dns: %s", c->resolv_conf,
			 c->state_dir, strerror(-ret));
		goto out;
	}
	ret = resolv_conf_render(orig, orig_len, dns_system_ours, 1, search, nsearch, &out,
				 &out_len, NULL);
	if (ret < 0) {
		snprintf(err, err_len, "cannot render %s: %s", c->resolv_conf, strerror(-ret));
		goto out;
	}
	ret = dns_system_write(c->resolv_conf, out, out_len);
	if (ret < 0)
		snprintf(err, err_len, "cannot write %s: %s", c->resolv_conf, strerror(-ret));
out:
	free(cur);
	free(orig);
	free(out);
	return ret;
}

static int dns_system_file_revert(const struct dns_system_config *c, char *err, size_t err_len)
{
	char *cur = NULL, *orig = NULL;
	size_t cur_len = 0, orig_len = 0;
	bool absent;
	int ret;

	ret = dns_system_backup_read(c, &orig, &orig_len, &absent);
	if (ret == -ENOENT)
		return 0; /* nothing of ours to undo */
	if (ret < 0) {
		snprintf(err, err_len, "cannot read the saved %s: %s", c->resolv_conf,
			 strerror(-ret));
		goto out;
	}
	ret = file_read_all(c->resolv_conf, RESOLV_CONF_MAX, &cur, &cur_len);
	if (ret < 0 && ret != -ENOENT) {
		snprintf(err, err_len, "cannot read %s: %s", c->resolv_conf, strerror(-ret));
		goto out;
	}
	if (!cur || !resolv_conf_is_ours(cur, cur_len)) {
		log_info("%s was replaced by someone else while rayfish was up: left as it is",
			 c->resolv_conf);
		ret = 0;
	} else if (absent) {
		ret = unlink(c->resolv_conf) < 0 && errno != ENOENT ? -errno : 0;
	} else {
		ret = dns_system_write(c->resolv_conf, orig, orig_len);
	}
	if (ret < 0) {
		snprintf(err, err_len, "cannot restore %s: %s", c->resolv_conf, strerror(-ret));
		goto out;
	}
	dns_system_backup_drop(c);
out:
	free(cur);
	free(orig);
	return ret;
}

/* ---- systemd-resolved --------------------------------------------------------- */

/* Runs ARGV (no shell), its output discarded, for at most 5 s. 0 when it
 * exits 0; -ETIMEDOUT, -ECHILD (failed), -errno. */
static int dns_system_run(char *const argv[])
{
	struct timespec nap = {0, 10 * 1000000};
	int status, waited = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= DNS_SYSTEM_CMD_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		nanosleep(&nap, NULL);
		waited += 10;
	}
}

static int dns_system_resolved_apply(const struct dns_system_config *c, const char *const *search,
				     unsigned nsearch, char *err, size_t err_len)
{
	enum {
		ARGS_MAX = 3 + 2 + (DNS_SYSTEM_REV4_LAST - DNS_SYSTEM_REV4_FIRST + 1) +
			   DNS_SYSTEM_SEARCH_MAX + 1
	};
	char rev4[DNS_SYSTEM_REV4_LAST - DNS_SYSTEM_REV4_FIRST + 1][32];
	char *dns[] = {"resolvectl",	   "dns", (char *)c->tun_name, DNS_SYSTEM_SERVER4,
		       DNS_SYSTEM_SERVER6, NULL};
	char *route[] = {"resolvectl", "default-route", (char *)c->tun_name, "no", NULL};
	char *domain[ARGS_MAX];
	unsigned n = 0;
	int ret;

	domain[n++] = "resolvectl";
	domain[n++] = "domain";
	domain[n++] = (char *)c->tun_name;
	domain[n++] = "~ray";
	domain[n++] = "~9.7.1.6.2.7.d.f.ip6.arpa";
	for (unsigned i = 0; i < sizeof(rev4) / sizeof(rev4[0]); i++) {
		snprintf(rev4[i], sizeof(rev4[i]), "~%u.100.in-addr.arpa",
			 DNS_SYSTEM_REV4_FIRST + i);
		domain[n++] = rev4[i];
	}
	for (unsigned i = 0; i < nsearch && i < DNS_SYSTEM_SEARCH_MAX; i++)
		domain[n++] = (char *)search[i];
	domain[n] = NULL;
	if ((ret = dns_system_run(dns)) < 0 || (ret = dns_system_run(domain)) < 0) {
		snprintf(err, err_len, "resolvectl failed on %s: %s", c->tun_name,
			 ret == -ECHILD ? "it exited with an error" : strerror(-ret));
		return ret;
	}
	/* only our names come to us, not every name (older resolved lacks it) */
	dns_system_run(route);
	return 0;
}

static int dns_system_resolved_revert(const struct dns_system_config *c, char *err, size_t err_len)
{
	char *revert[] = {"resolvectl", "revert", (char *)c->tun_name, NULL};
	int ret = dns_system_run(revert);

	if (ret < 0)
		snprintf(err, err_len, "resolvectl revert %s failed: %s", c->tun_name,
			 ret == -ECHILD ? "it exited with an error" : strerror(-ret));
	return ret;
}

/* ---- the interface ------------------------------------------------------------ */

int dns_system_repair(const struct dns_system_config *c, char *err, size_t err_len)
{
	char *orig = NULL;
	size_t len;
	bool absent;
	int ret = dns_system_backup_read(c, &orig, &len, &absent);

	free(orig);
	if (ret == -ENOENT)
		return 0;
	log_info("a previous run left %s configured: restoring it", c->resolv_conf);
	return dns_system_file_revert(c, err, err_len);
}

int dns_system_apply(const struct dns_system_config *c, enum dns_system_mode m,
		     const char *const *search, unsigned nsearch, char *err, size_t err_len)
{
	if (nsearch > DNS_SYSTEM_SEARCH_MAX)
		nsearch = DNS_SYSTEM_SEARCH_MAX;
	switch (m) {
	case DNS_SYSTEM_RESOLVED:
		return dns_system_resolved_apply(c, search, nsearch, err, err_len);
	case DNS_SYSTEM_RESOLV_CONF:
		return dns_system_file_apply(c, search, nsearch, err, err_len);
	default:
		return 0;
	}
}

int dns_system_revert(const struct dns_system_config *c, enum dns_system_mode m, char *err,
		      size_t err_len)
{
	switch (m) {
	case DNS_SYSTEM_RESOLVED:
		return dns_system_resolved_revert(c, err, err_len);
	case DNS_SYSTEM_RESOLV_CONF:
		return dns_system_file_revert(c, err, err_len);
	default:
		return 0;
	}
}

bool dns_system_applied(const struct dns_system_config *c, enum dns_system_mode m)
{
	char *cur = NULL;
	size_t len = 0;
	bool ours;

	if (m != DNS_SYSTEM_RESOLV_CONF)
		return true;
	if (file_read_all(c->resolv_conf, RESOLV_CONF_MAX, &cur, &len) < 0)
		return false;
	ours = resolv_conf_is_ours(cur, len);
	free(cur);
	return ours;
}

#define DNS_SYSTEM_WATCH_FILE                                                                      \
	(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define DNS_SYSTEM_WATCH_DIR (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR)

/* The directory holding resolv.conf, and its base name. */
static int dns_system_split(const struct dns_system_config *c, char *dir, const char **base)
{
	const char *slash = strrchr(c->resolv_conf, '/');

	if (!slash || (size_t)(slash - c->resolv_conf) >= PATH_MAX)
		return -EINVAL;
	memcpy(dir, c->resolv_conf, (size_t)(slash - c->resolv_conf));
	dir[slash - c->resolv_conf] = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	*base = slash + 1;
	return 0;
}

int dns_system_watch_open(const struct dns_system_config *c)
{
	char dir[PATH_MAX];
	const char *base;
	int fd, ret = dns_system_split(c, dir, &base);

	if (ret < 0)
		return ret;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The file itself may be missing now; the directory says when it comes. */
	if (inotify_add_watch(fd, dir, DNS_SYSTEM_WATCH_DIR) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	inotify_add_watch(fd, c->resolv_conf, DNS_SYSTEM_WATCH_FILE);
	return fd;
}

bool dns_system_watch_changed(const struct dns_system_config *c, int fd)
{
	union {
		struct inotify_event ev;
		char bytes[4096];
	} buf;
	char dir[PATH_MAX];
	const char *base;
	bool changed = false, replaced = false;
	ssize_t n;

	if (dns_system_split(c, dir, &base) < 0)
		return false;
	while ((n = read(fd, buf.bytes, sizeof(buf.bytes))) > 0) {
		for (size_t off = 0; off + sizeof(struct inotify_event) <= (size_t)n;) {
			const struct inotify_event *ev = (const void *)(buf.bytes + off);
			size_t next = off + sizeof(*ev) + ev->len;

			if (next > (size_t)n)
				break;
			if (ev->len == 0) {
				changed = true; /* the file itself */
				replaced |= (ev->mask &
					     (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0;
			} else if (strnlen(ev->name, ev->len) == strlen(base) &&
				   memcmp(ev->name, base, strlen(base)) == 0) {
				changed = replaced = true;
			}
			off = next;
		}
	}
	if (replaced)
		inotify_add_watch(fd, c->resolv_conf, DNS_SYSTEM_WATCH_FILE);
	return changed;
}

unsigned dns_system_upstreams(const struct dns_system_config *c, enum dns_system_mode m,
			      struct sockaddr_storage *out, unsigned max)
{
	struct resolv_conf_info *info = NULL;
	char *text = NULL;
	size_t len = 0;
	bool absent;
	unsigned n = 0;

	if (m == DNS_SYSTEM_RESOLVED && max > 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out[0];

		memset(&out[0], 0, sizeof(out[0]));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
		inet_pton(AF_INET, DNS_SYSTEM_RESOLVED_STUB, &sin->sin_addr);
		return 1;
	}
	if (dns_system_backup_read(c, &text, &len, &absent) == -ENOENT &&
	    file_read_all(c->resolv_conf, RESOLV_CONF_MAX, &text, &len) < 0)
		goto out;
	info = calloc(1, sizeof(*info));
	if (!info || !text || resolv_conf_parse(text, len, info) < 0)
		goto out;
	for (unsigned i = 0; i < info->nservers && n < max; i++) {
		const struct resolv_conf_server *s = &info->servers[i];
		char host[INET6_ADDRSTRLEN];
		bool ours = false;

		inet_ntop(s->family, &s->addr, host, sizeof(host));
		for (unsigned k = 0; k < 2; k++)
			ours |= strcmp(host, dns_system_ours[k]) == 0;
		if (ours)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		if (s->family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&out[n];

			sin->sin_family = AF_INET;
			sin->sin_port = htons(53);
			sin->sin_addr = s->addr.v4;
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out[n];

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(53);
			sin6->sin6_addr = s->addr.v6;
			if (s->scope[0]) {
				char *end;
				unsigned long idx = strtoul(s->scope, &end, 10);

				sin6->sin6_scope_id =
					*end ? if_nametoindex(s->scope) : (uint32_t)idx;
			}
		}
		n++;
	}
out:
	free(info);
	free(text);
	return n;
}
