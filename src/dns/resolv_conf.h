/* resolv.conf as text: read the host's resolvers out of it, and write the
 * version that puts Magic DNS first. Pure: no files, no sockets, no global
 * state (the file I/O, the backup and the revert are os/dns_system's).
 *
 * Parsing follows glibc's res_init, which is what the programs on the host
 * see:
 *   - a keyword counts only at the start of a line, followed by a space or a
 *     tab ("  nameserver x" and "nameserverx" are ignored, as by glibc);
 *   - lines starting with '#' or ';' are comments; a '#' or ';' ends a
 *     nameserver, search or domain line (glibc cuts an address there);
 *   - "nameserver ADDR": ADDR is IPv4 or IPv6 (inet_pton), an IPv6 address
 *     may carry "%SCOPE" (an interface name or index), which is kept as text
 *     in the result (the caller resolves it: if_nametoindex is I/O); a line
 *     whose address does not parse is skipped; all valid lines are listed,
 *     up to RESOLV_CONF_MAX_SERVERS (glibc itself uses only the first 3);
 *   - "search A B …" and "domain A" set the search list; the last such line
 *     wins (one "domain" gives a list of one);
 *   - lines end at '\n'; a NUL byte ends the line's content for parsing (as
 *     for glibc's string functions); '\r' counts as a space (so a file edited
 *     on Windows keeps its servers); any bytes are accepted.
 * Text longer than RESOLV_CONF_MAX is refused (-EFBIG).
 *
 * Rendering (resolv_conf_render) produces, from the user's file ORIG:
 *     # rayfish: Magic DNS (ray down restores the original)
 *     nameserver 100.100.100.53            (ours, in the order given)
 *     search net1.ray net2.ray home.lan    (ours first, then ORIG's list)
 *     …every line of ORIG except its search and domain lines, in order…
 * Since glibc reads only the last search/domain line, ORIG's lines are
 * folded into ours instead of being kept. Domains are compared ASCII
 * case-insensitively, ignoring one trailing dot, and listed once.
 *
 * The search line is kept within the classic resolver limits of 6 domains
 * and a 256-byte buffer, i.e. 255 characters with the spaces (glibc before
 * 2.26 and musl ignore what lies beyond, or cut a domain in the middle): ours come first so they
 * are the ones kept; the domains left out are named on a comment line after the search line ("#
 * rayfish: search domains left out: …") and counted in *DROPPED, and they come back with the
 * original file on `ray down`.
 *
 * Our nameservers come first; with 3 servers of the user's after them,
 * glibc ignores the last one (MAXNS is 3). Every original line is kept. */
#ifndef RAY_DNS_RESOLV_CONF_H
#define RAY_DNS_RESOLV_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <net/if.h>
#include <netinet/in.h>

#define RESOLV_CONF_MAX		(64 * 1024) /* bytes of text accepted */
#define RESOLV_CONF_MAX_SERVERS 16
#define RESOLV_CONF_MAX_SEARCH	16  /* domains kept by resolv_conf_parse */
#define RESOLV_CONF_DOMAIN_MAX	253 /* characters of one domain */
#define RESOLV_CONF_SEARCH_N	6   /* the classic limits of the search list */
#define RESOLV_CONF_SEARCH_LEN	256 /* … including the spaces between domains */

/* The first line of every file we render. */
#define RESOLV_CONF_MARKER "# rayfish: Magic DNS (ray down restores the original)"

struct resolv_conf_server {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	char scope[IF_NAMESIZE]; /* IPv6 "%SCOPE" without the '%'; "" for none */
};

struct resolv_conf_info {
	struct resolv_conf_server servers[RESOLV_CONF_MAX_SERVERS]; /* in file order */
	unsigned nservers;
	/* The last search/domain line's domains, up to RESOLV_CONF_MAX_SEARCH
	 * (more, and words longer than RESOLV_CONF_DOMAIN_MAX, are skipped). */
	char search[RESOLV_CONF_MAX_SEARCH][RESOLV_CONF_DOMAIN_MAX + 1];
	unsigned nsearch;
};

/* Parses TEXT (LEN bytes, not necessarily NUL-terminated) into *INFO.
 * 0, or -EFBIG when LEN > RESOLV_CONF_MAX. A scope longer than an
 * interface name makes its line invalid (skipped). */
int resolv_conf_parse(const char *text, size_t len, struct resolv_conf_info *info);

/* Renders our file from the user's ORIG (LEN bytes; NULL/0 for none) as
 * described above, into a malloc'd NUL-terminated buffer *OUT of *OUT_LEN
 * bytes (the caller frees). SERVERS are NSERVERS (1–8) address texts;
 * SEARCH are NSEARCH (0–64) domains of letters, digits, '-', '_' and '.'
 * (not starting with '-' or '.'). The last line always ends with '\n'.
 * ORIG must be the user's file, not one we rendered (see resolv_conf_is_ours).
 * DROPPED (may be NULL) gets the number of domains left out of the search
 * line. 0, -EINVAL (a bad server or domain), -EFBIG (ORIG too long), -ENOMEM. */
int resolv_conf_render(const char *orig, size_t len, const char *const *servers, unsigned nservers,
		       const char *const *search, unsigned nsearch, char **out, size_t *out_len,
		       unsigned *dropped);

/* True when TEXT's first line is RESOLV_CONF_MARKER: a file we rendered. */
bool resolv_conf_is_ours(const char *text, size_t len);

/* The best guess at the user's file when one of ours is found without its
 * backup (a wiped state directory): TEXT minus every line starting with
 * "# rayfish:", minus the nameserver lines for SERVERS, and with the "ray"
 * and "*.ray" domains taken out of the search line (dropped when nothing
 * remains). For a file rendered from an ORIG without search/domain lines,
 * "# rayfish:" lines or our servers, and ending in '\n', this gives ORIG
 * back exactly. Same buffer contract and errors as resolv_conf_render. */
int resolv_conf_unrender(const char *text, size_t len, const char *const *servers,
			 unsigned nservers, char **out, size_t *out_len);

#endif
