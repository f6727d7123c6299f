/* resolv.conf text (dns/resolv_conf) and the system configuration on files
 * (os/dns_system, file mode, in a temp directory): parsing as glibc reads
 * it; our rendering first with the user's lines kept and search domains
 * merged; apply then revert gives the user's bytes back, also after a
 * second apply, after a "crash" (repair), with no file at all, through a
 * symlink; a file replaced by someone else is left alone; the upstreams
 * come from the saved file and never name us. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/resolv_conf.h"
#include "os/dns_system.h"
#include "util/fileio.h"

static const char user_file[] = "# the user's\n"
				"nameserver 10.0.0.53\n"
				"nameserver fe80::1%lo\n"
				"domain old.example\n"
				"search home.lan corp.example\n"
				"options timeout:2\n";

static void test_parse(void **state)
{
	struct resolv_conf_info info;
	char buf[64];

	(void)state;
	assert_int_equal(resolv_conf_parse(user_file, strlen(user_file), &info), 0);
	assert_int_equal(info.nservers, 2);
	inet_ntop(AF_INET, &info.servers[0].addr.v4, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.53");
	assert_int_equal(info.servers[1].family, AF_INET6);
	assert_string_equal(info.servers[1].scope, "lo");
	/* the last search/domain line wins, as for glibc */
	assert_int_equal(info.nsearch, 2);
	assert_string_equal(info.search[0], "home.lan");
	assert_string_equal(info.search[1], "corp.example");
	assert_int_equal(resolv_conf_parse("nameserver x\n nameserver 1.2.3.4\n", 34, &info), 0);
	assert_int_equal(info.nservers, 0);
	assert_int_equal(resolv_conf_parse(user_file, RESOLV_CONF_MAX + 1, &info), -EFBIG);
}

static void test_render(void **state)
{
	static const char *const ours[] = {"100.100.100.53"};
	static const char *const search[] = {"net1.ray", "home.lan"};
	char *out = NULL, *back = NULL;
	size_t len, blen;

	(void)state;
	assert_int_equal(resolv_conf_render(user_file, strlen(user_file), ours, 1, search, 2, &out,
					    &len, NULL),
			 0);
	assert_string_equal(out, RESOLV_CONF_MARKER "\n"
						    "nameserver 100.100.100.53\n"
						    "search net1.ray home.lan corp.example\n"
						    "# the user's\n"
						    "nameserver 10.0.0.53\n"
						    "nameserver fe80::1%lo\n"
						    "options timeout:2\n");
	assert_true(resolv_conf_is_ours(out, len));
	assert_false(resolv_conf_is_ours(user_file, strlen(user_file)));
	assert_int_equal(resolv_conf_unrender(out, len, ours, 1, &back, &blen), 0);
	assert_false(resolv_conf_is_ours(back, blen));
	assert_non_null(strstr(back, "nameserver 10.0.0.53\n"));
	assert_null(strstr(back, "100.100.100.53"));
	assert_null(strstr(back, ".ray"));
	free(out);
	free(back);
	assert_int_equal(resolv_conf_render(NULL, 0, ours, 0, search, 2, &out, &len, NULL),
			 -EINVAL);
}

struct files {
	char dir[64], state[96], conf[96];
	struct dns_system_config c;
};

static void files_init(struct files *f, const char *content)
{
	strcpy(f->dir, "/tmp/ray-dnssys-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->conf, sizeof(f->conf), "%s/resolv.conf", f->dir);
	assert_int_equal(file_mkdirs(f->state, 0700), 0);
	if (content)
		assert_int_equal(file_write_atomic(f->conf, content, strlen(content), 0644), 0);
	f->c.state_dir = f->state;
	f->c.resolv_conf = f->conf;
	f->c.tun_name = "ray-test0";
}

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len;

	if (file_read_all(path, 1 << 20, &text, &len) < 0)
		return NULL;
	return text;
}

static void files_done(struct files *f)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void apply(struct files *f, const char *dom)
{
	const char *search[] = {dom};
	char err[256];

	assert_int_equal(
		dns_system_apply(&f->c, DNS_SYSTEM_RESOLV_CONF, search, 1, err, sizeof(err)), 0);
}

static void test_apply_revert(void **state)
{
	struct files f;
	char err[256], *text;

	(void)state;
	files_init(&f, user_file);
	assert_int_equal(dns_system_detect(&f.c), DNS_SYSTEM_RESOLV_CONF);
	apply(&f, "net1.ray");
	text = slurp(f.conf);
	assert_true(resolv_conf_is_ours(text, strlen(text)));
	free(text);
	apply(&f, "net2.ray"); /* again, new domains: the backup stays the user's */
	text = slurp(f.conf);
	assert_non_null(strstr(text, "search net2.ray home.lan"));
	free(text);
	assert_int_equal(dns_system_revert(&f.c, DNS_SYSTEM_RESOLV_CONF, err, sizeof(err)), 0);
	text = slurp(f.conf);
	assert_string_equal(text, user_file);
	free(text);
	/* reverting twice is harmless */
	assert_int_equal(dns_system_revert(&f.c, DNS_SYSTEM_RESOLV_CONF, err, sizeof(err)), 0);
	files_done(&f);
}

static void test_crash_repair_and_upstreams(void **state)
{
	struct sockaddr_storage ups[4];
	struct files f;
	char err[256], *text, host[64];

	(void)state;
	files_init(&f, user_file);
	apply(&f, "net1.ray");
	/* while ours is in place, the upstreams are the user's */
	assert_int_equal(dns_system_upstreams(&f.c, DNS_SYSTEM_RESOLV_CONF, ups, 4), 2);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ups[0])->sin_addr, host, sizeof(host));
	assert_string_equal(host, "10.0.0.53");
	assert_int_equal(ntohs(((struct sockaddr_in *)&ups[0])->sin_port), 53);
	/* the daemon dies here; the next start repairs */
	assert_int_equal(dns_system_repair(&f.c, err, sizeof(err)), 0);
	text = slurp(f.conf);
	assert_string_equal(text, user_file);
	free(text);
	files_done(&f);
}

static void test_replaced_absent_symlink(void **state)
{
	static const char dhcp[] = "nameserver 192.0.2.1\n";
	struct files f;
	char err[256], *text, target[128];
	struct stat st;

	(void)state;
	/* replaced by someone else while up: left alone */
	files_init(&f, user_file);
	apply(&f, "net1.ray");
	assert_int_equal(file_write_atomic(f.conf, dhcp, strlen(dhcp), 0644), 0);
	assert_int_equal(dns_system_revert(&f.c, DNS_SYSTEM_RESOLV_CONF, err, sizeof(err)), 0);
	text = slurp(f.conf);
	assert_string_equal(text, dhcp);
	free(text);
	files_done(&f);

	/* no file at all: ours is created, then removed */
	files_init(&f, NULL);
	apply(&f, "net1.ray");
	assert_int_equal(access(f.conf, F_OK), 0);
	assert_int_equal(dns_system_revert(&f.c, DNS_SYSTEM_RESOLV_CONF, err, sizeof(err)), 0);
	assert_int_equal(access(f.conf, F_OK), -1);
	files_done(&f);

	/* a symlink stays a symlink; its target gets ours, then the user's */
	files_init(&f, NULL);
	snprintf(target, sizeof(target), "%s/real.conf", f.dir);
	assert_int_equal(file_write_atomic(target, user_file, strlen(user_file), 0644), 0);
	assert_int_equal(symlink(target, f.conf), 0);
	apply(&f, "net1.ray");
	assert_int_equal(lstat(f.conf, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	text = slurp(target);
	assert_true(resolv_conf_is_ours(text, strlen(text)));
	free(text);
	assert_int_equal(dns_system_revert(&f.c, DNS_SYSTEM_RESOLV_CONF, err, sizeof(err)), 0);
	text = slurp(target);
	assert_string_equal(text, user_file);
	free(text);
	files_done(&f);
}

/* The watch sees the file rewritten in place and replaced by rename (and
 * follows the new file), not its neighbours; applied says whose it is. */
static void test_watch_and_applied(void **state)
{
	struct files f;
	char other[128], tmp[128];
	int fd;

	(void)state;
	files_init(&f, user_file);
	assert_false(dns_system_applied(&f.c, DNS_SYSTEM_RESOLV_CONF));
	assert_true(dns_system_applied(&f.c, DNS_SYSTEM_RESOLVED));
	fd = dns_system_watch_open(&f.c);
	assert_true(fd >= 0);
	assert_false(dns_system_watch_changed(&f.c, fd));
	apply(&f, "net1.ray");
	assert_true(dns_system_applied(&f.c, DNS_SYSTEM_RESOLV_CONF));
	assert_true(dns_system_watch_changed(&f.c, fd));
	assert_false(dns_system_watch_changed(&f.c, fd));

	snprintf(other, sizeof(other), "%s/hosts", f.dir);
	assert_int_equal(file_write_atomic(other, "x\n", 2, 0644), 0);
	assert_false(dns_system_watch_changed(&f.c, fd));

	/* a DHCP client's way: a new file renamed over ours */
	snprintf(tmp, sizeof(tmp), "%s/resolv.conf.dhcp", f.dir);
	assert_int_equal(file_write_atomic(tmp, "nameserver 10.0.0.1\n", 20, 0644), 0);
	(void)dns_system_watch_changed(&f.c, fd);
	assert_int_equal(rename(tmp, f.conf), 0);
	assert_true(dns_system_watch_changed(&f.c, fd));
	assert_false(dns_system_applied(&f.c, DNS_SYSTEM_RESOLV_CONF));
	/* in place, into the file that replaced ours */
	{
		FILE *w = fopen(f.conf, "a");

		assert_non_null(w);
		fputs("options edns0\n", w);
		fclose(w);
	}
	assert_true(dns_system_watch_changed(&f.c, fd));
	close(fd);
	files_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_apply_revert),
		cmocka_unit_test(test_crash_repair_and_upstreams),
		cmocka_unit_test(test_replaced_absent_symlink),
		cmocka_unit_test(test_watch_and_applied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
