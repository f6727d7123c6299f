#include "dns/resolv_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RC_MAX_OURS_SERVERS 8
#define RC_MAX_OURS_SEARCH  64
#define RC_OURS_PREFIX	    "# rayfish:"
#define RC_DROPPED_PREFIX   "# rayfish: search domains left out:"

/* One line of the text: [p, p + len) without its '\n'; CONTENT is the part
 * before any NUL byte, which is all a C-string parser like glibc's sees. */
struct rc_line {
	const char *p;
	size_t len;
	size_t content;
};

/* A growing output buffer; the first failure sticks so callers check once. */
struct rc_buf {
	char *p;
	size_t len, cap;
	int err;
};

struct rc_word {
	const char *p;
	size_t len;
};

static bool rc_next_line(const char *text, size_t len, size_t *pos, struct rc_line *l)
{
	const char *nl, *nul;

	if (*pos >= len)
		return false;
	l->p = text + *pos;
	nl = memchr(l->p, '\n', len - *pos);
	l->len = nl ? (size_t)(nl - l->p) : len - *pos;
	*pos += l->len + (nl ? 1 : 0);
	nul = memchr(l->p, '\0', l->len);
	l->content = nul ? (size_t)(nul - l->p) : l->len;
	return true;
}

/* glibc's MATCH(): the keyword at the very start, then a space or a tab.
 * *REST is the offset just after the keyword. */
static bool rc_keyword(const struct rc_line *l, const char *kw, size_t *rest)
{
	size_t n = strlen(kw);

	if (l->content <= n || memcmp(l->p, kw, n) != 0)
		return false;
	if (l->p[n] != ' ' && l->p[n] != '\t')
		return false;
	*rest = n;
	return true;
}

static bool rc_is_search_line(const struct rc_line *l)
{
	size_t rest;

	return rc_keyword(l, "search", &rest) || rc_keyword(l, "domain", &rest);
}

static bool rc_space(char c)
{
	/* '\r' too: a file edited on Windows should not hide its servers. */
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next word of L's content from *POS; a '#' or ';' ends the line (glibc
 * cuts a nameserver's address there; no domain contains them). */
static bool rc_next_word(const struct rc_line *l, size_t *pos, struct rc_word *w)
{
	size_t i = *pos;

	while (i < l->content && rc_space(l->p[i]))
		i++;
	if (i >= l->content || l->p[i] == '#' || l->p[i] == ';')
		return false;
	w->p = l->p + i;
	while (i < l->content && !rc_space(l->p[i]) && l->p[i] != '#' && l->p[i] != ';')
		i++;
	w->len = (size_t)(l->p + i - w->p);
	*pos = i;
	return true;
}

/* ADDR[%SCOPE] of a nameserver line into S; false when it is not one. */
static bool rc_parse_server(const struct rc_word *w, struct resolv_conf_server *s)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	char *pct;

	if (w->len >= sizeof(buf))
		return false;
	memcpy(buf, w->p, w->len);
	buf[w->len] = '\0';
	memset(s, 0, sizeof(*s));
	if (inet_pton(AF_INET, buf, &s->addr.v4) == 1) {
		s->family = AF_INET;
		return true;
	}
	pct = strchr(buf, '%');
	if (pct) {
		*pct++ = '\0';
		if (!*pct || strlen(pct) >= sizeof(s->scope))
			return false;
		strcpy(s->scope, pct);
	}
	if (inet_pton(AF_INET6, buf, &s->addr.v6) != 1)
		return false;
	s->family = AF_INET6;
	return true;
}

int resolv_conf_parse(const char *text, size_t len, struct resolv_conf_info *info)
{
	struct rc_line l;
	size_t pos = 0;

	memset(info, 0, sizeof(*info));
	if (len > RESOLV_CONF_MAX)
		return -EFBIG;
	while (rc_next_line(text, len, &pos, &l)) {
		struct rc_word w;
		size_t at;

		if (rc_keyword(&l, "nameserver", &at)) {
			struct resolv_conf_server s;

			if (info->nservers < RESOLV_CONF_MAX_SERVERS && rc_next_word(&l, &at, &w) &&
			    rc_parse_server(&w, &s))
				info->servers[info->nservers++] = s;
		} else if (rc_keyword(&l, "search", &at) || rc_keyword(&l, "domain", &at)) {
			bool domain = l.p[0] == 'd';

			/* The last line wins: start the list over. */
			info->nsearch = 0;
			while (info->nsearch < RESOLV_CONF_MAX_SEARCH &&
			       rc_next_word(&l, &at, &w)) {
				if (w.len > RESOLV_CONF_DOMAIN_MAX)
					continue;
				memcpy(info->search[info->nsearch], w.p, w.len);
				info->search[info->nsearch++][w.len] = '\0';
				if (domain)
					break;
			}
		}
	}
	return 0;
}

static void rc_put(struct rc_buf *b, const void *data, size_t len)
{
	if (b->err)
		return;
	if (len > b->cap - b->len - 1 || !b->p) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (len > cap - b->len - 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void rc_puts(struct rc_buf *b, const char *s)
{
	rc_put(b, s, strlen(s));
}

/* Hands the buffer to the caller, or frees it and returns the error. */
static int rc_finish(struct rc_buf *b, char **out, size_t *out_len)
{
	if (!b->err && !b->p)
		rc_put(b, "", 0);
	if (b->err) {
		free(b->p);
		return b->err;
	}
	*out = b->p;
	*out_len = b->len;
	return 0;
}

static bool rc_valid_server(const char *s)
{
	struct in6_addr a;

	return s && (inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1);
}

static bool rc_valid_domain(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > RESOLV_CONF_DOMAIN_MAX || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* Domain equality as the resolver sees it: case-insensitive, "a." == "a". */
static bool rc_same_domain(const struct rc_word *a, const struct rc_word *b)
{
	size_t la = a->len, lb = b->len;

	if (la > 1 && a->p[la - 1] == '.')
		la--;
	if (lb > 1 && b->p[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a->p, b->p, la) == 0;
}

/* "ray" or "*.ray", which only we put on a search line. */
static bool rc_is_ray_domain(const struct rc_word *w)
{
	size_t n = w->len;

	if (n > 1 && w->p[n - 1] == '.')
		n--;
	return (n == 3 || (n > 3 && w->p[n - 4] == '.')) &&
	       strncasecmp(w->p + n - 3, "ray", 3) == 0;
}

/* The search list, ours first: keeps a domain while the list stays within
 * the classic limits, else puts it on the dropped list. */
struct rc_search {
	struct rc_word kept[RESOLV_CONF_SEARCH_N];
	unsigned nkept;
	size_t kept_len; /* characters of "a b c" */
	struct rc_buf dropped;
	unsigned ndropped;
};

static void rc_search_add(struct rc_search *s, const struct rc_word *w)
{
	size_t need = s->kept_len + (s->nkept ? 1 : 0) + w->len;

	if (w->len == 0)
		return;
	for (unsigned i = 0; i < s->nkept; i++)
		if (rc_same_domain(&s->kept[i], w))
			return;
	if (s->nkept < RESOLV_CONF_SEARCH_N && need < RESOLV_CONF_SEARCH_LEN) {
		s->kept[s->nkept++] = *w;
		s->kept_len = need;
		return;
	}
	rc_put(&s->dropped, " ", 1);
	rc_put(&s->dropped, w->p, w->len);
	s->ndropped++;
}

int resolv_conf_render(const char *orig, size_t len, const char *const *servers, unsigned nservers,
		       const char *const *search, unsigned nsearch, char **out, size_t *out_len,
		       unsigned *dropped)
{
	struct rc_search s = {.nkept = 0};
	struct rc_buf b = {.p = NULL};
	struct rc_line l, last = {.p = NULL};
	size_t pos = 0;
	int ret;

	if (!orig)
		len = 0;
	if (len > RESOLV_CONF_MAX) {
		ret = -EFBIG;
		goto out;
	}
	ret = -EINVAL;
	if (nservers == 0 || nservers > RC_MAX_OURS_SERVERS || nsearch > RC_MAX_OURS_SEARCH)
		goto out;
	for (unsigned i = 0; i < nservers; i++)
		if (!rc_valid_server(servers[i]))
			goto out;
	for (unsigned i = 0; i < nsearch; i++)
		if (!rc_valid_domain(search[i]))
			goto out;

	for (unsigned i = 0; i < nsearch; i++) {
		struct rc_word w = {search[i], strlen(search[i])};

		rc_search_add(&s, &w);
	}
	while (rc_next_line(orig, len, &pos, &l))
		if (rc_is_search_line(&l))
			last = l;
	if (last.p) {
		struct rc_word w;
		size_t at = 6; /* "search" and "domain" are both 6 letters */

		while (rc_next_word(&last, &at, &w)) {
			rc_search_add(&s, &w);
			if (last.p[0] == 'd')
				break;
		}
	}

	rc_puts(&b, RESOLV_CONF_MARKER "\n");
	for (unsigned i = 0; i < nservers; i++) {
		rc_puts(&b, "nameserver ");
		rc_puts(&b, servers[i]);
		rc_puts(&b, "\n");
	}
	if (s.nkept) {
		rc_puts(&b, "search");
		for (unsigned i = 0; i < s.nkept; i++) {
			rc_put(&b, " ", 1);
			rc_put(&b, s.kept[i].p, s.kept[i].len);
		}
		rc_puts(&b, "\n");
	}
	if (s.ndropped) {
		rc_puts(&b, RC_DROPPED_PREFIX);
		rc_put(&b, s.dropped.p, s.dropped.len);
		rc_puts(&b, "\n");
	}
	pos = 0;
	while (rc_next_line(orig, len, &pos, &l)) {
		if (rc_is_search_line(&l))
			continue;
		rc_put(&b, l.p, l.len);
		rc_put(&b, "\n", 1);
	}
	ret = s.dropped.err ? s.dropped.err : 0;
	if (ret == 0 && dropped)
		*dropped = s.ndropped;
out:
	free(s.dropped.p);
	if (ret < 0) {
		free(b.p);
		return ret;
	}
	return rc_finish(&b, out, out_len);
}

bool resolv_conf_is_ours(const char *text, size_t len)
{
	size_t n = strlen(RESOLV_CONF_MARKER);

	return text && len >= n && memcmp(text, RESOLV_CONF_MARKER, n) == 0 &&
	       (len == n || text[n] == '\n');
}

static bool rc_is_our_server(const struct rc_line *l, const char *const *servers, unsigned nservers)
{
	struct resolv_conf_server s;
	struct rc_word w;
	size_t at;

	if (!rc_keyword(l, "nameserver", &at) || !rc_next_word(l, &at, &w) ||
	    !rc_parse_server(&w, &s) || s.scope[0])
		return false;
	for (unsigned i = 0; i < nservers; i++) {
		uint8_t a[sizeof(struct in6_addr)];

		if (inet_pton(s.family, servers[i], a) == 1 &&
		    memcmp(a, &s.addr, s.family == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

int resolv_conf_unrender(const char *text, size_t len, const char *const *servers,
			 unsigned nservers, char **out, size_t *out_len)
{
	struct rc_buf b = {.p = NULL};
	struct rc_line l;
	size_t pos = 0, pre = strlen(RC_OURS_PREFIX);

	if (!text)
		len = 0;
	if (len > RESOLV_CONF_MAX)
		return -EFBIG;
	for (unsigned i = 0; i < nservers; i++)
		if (!rc_valid_server(servers[i]))
			return -EINVAL;
	while (rc_next_line(text, len, &pos, &l)) {
		if (l.len >= pre && memcmp(l.p, RC_OURS_PREFIX, pre) == 0)
			continue;
		if (rc_is_our_server(&l, servers, nservers))
			continue;
		if (rc_is_search_line(&l)) {
			struct rc_buf line = {.p = NULL};
			struct rc_word w;
			size_t at = 6;

			rc_put(&line, l.p, 6);
			while (rc_next_word(&l, &at, &w)) {
				if (rc_is_ray_domain(&w))
					continue;
				rc_put(&line, " ", 1);
				rc_put(&line, w.p, w.len);
			}
			if (line.len > 6)
				rc_put(&b, line.p, line.len);
			if (line.err)
				b.err = line.err;
			free(line.p);
			if (line.len > 6)
				rc_put(&b, "\n", 1);
			continue;
		}
		rc_put(&b, l.p, l.len);
		rc_put(&b, "\n", 1);
	}
	return rc_finish(&b, out, out_len);
}
