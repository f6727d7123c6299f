#include "net/invite_ledger.h"
#include "net/group.h"
#include "crypto/keytext.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_LEDGER_JSON_VERSION 1
#define INVITE_LEDGER_FIELDS	   10 /* keys of one JSON entry */
#define INVITE_LEDGER_MINT_TRIES   64

struct invite_ledger {
	struct invite_ledger_entry *entries;
	size_t n, cap;
};

static const char *const invite_ledger_state_names[] = {
	[INVITE_LEDGER_OPEN] = "open",
	[INVITE_LEDGER_USED] = "used",
	[INVITE_LEDGER_REVOKED] = "revoked",
};

struct invite_ledger *invite_ledger_new(void)
{
	return calloc(1, sizeof(struct invite_ledger));
}

void invite_ledger_free(struct invite_ledger *l)
{
	if (!l)
		return;
	if (l->entries)
		sodium_memzero(l->entries, l->cap * sizeof(l->entries[0]));
	free(l->entries);
	free(l);
}

static struct invite_ledger_entry *invite_ledger_lookup(const struct invite_ledger *l, uint32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->entries[i].id == id)
			return &l->entries[i];
	return NULL;
}

const struct invite_ledger_entry *invite_ledger_find(const struct invite_ledger *l, uint32_t id)
{
	return invite_ledger_lookup(l, id);
}

const struct invite_ledger_entry *invite_ledger_list(const struct invite_ledger *l, size_t *n)
{
	*n = l->n;
	return l->entries;
}

/* Room for one more entry. The old array is wiped before it is freed. */
static int invite_ledger_reserve(struct invite_ledger *l)
{
	struct invite_ledger_entry *grown;
	size_t cap;

	if (l->n >= INVITE_LEDGER_MAX)
		return -ENOSPC;
	if (l->n < l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 16;
	if (cap > INVITE_LEDGER_MAX)
		cap = INVITE_LEDGER_MAX;
	grown = calloc(cap, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	if (l->entries) {
		memcpy(grown, l->entries, l->n * sizeof(*grown));
		sodium_memzero(l->entries, l->cap * sizeof(*grown));
		free(l->entries);
	}
	l->entries = grown;
	l->cap = cap;
	return 0;
}

static bool invite_ledger_expired(const struct invite_ledger_entry *e, uint64_t now)
{
	return e->expires != 0 && now >= e->expires;
}

int invite_ledger_mint(struct invite_ledger *l, uint64_t now, uint64_t ttl, const char *hostname,
		       bool reusable, struct invite_code *out)
{
	struct invite_ledger_entry *e;
	uint32_t id = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (hostname && *hostname && !group_hostname_valid(hostname)) {
		ret = -EINVAL;
		goto out;
	}
	if ((ttl == 0 && !reusable) || now > INT64_MAX || ttl > (uint64_t)INT64_MAX - now) {
		ret = -EINVAL;
		goto out;
	}
	if ((ret = invite_ledger_reserve(l)) < 0)
		goto out;
	for (int i = 0; i < INVITE_LEDGER_MINT_TRIES && id == 0; i++) {
		id = randombytes_random();
		if (id != 0 && invite_ledger_lookup(l, id))
			id = 0;
	}
	if (id == 0) {
		ret = -EAGAIN; /* 64 collisions among at most 4096 of 2^32 ids: not in practice */
		goto out;
	}

	out->id = id;
	randombytes_buf(out->secret, sizeof(out->secret));
	out->expires = ttl ? now + ttl : 0;
	out->reusable = reusable;
	if (hostname && *hostname)
		strcpy(out->hostname, hostname);

	e = &l->entries[l->n];
	memset(e, 0, sizeof(*e));
	e->id = id;
	invite_secret_hash(out->secret, e->secret_hash);
	e->created = now;
	e->expires = out->expires;
	e->reusable = reusable;
	e->state = INVITE_LEDGER_OPEN;
	strcpy(e->hostname, out->hostname);
	l->n++;
	ret = 0;
out:
	if (ret < 0)
		sodium_memzero(out, sizeof(*out));
	return ret;
}

int invite_ledger_redeem(struct invite_ledger *l, uint32_t id,
			 const uint8_t secret[INVITE_SECRET_LEN], uint64_t now,
			 const uint8_t joiner[INVITE_KEY_LEN], struct invite_ledger_entry *out)
{
	struct invite_ledger_entry *e = invite_ledger_lookup(l, id);
	uint8_t hash[INVITE_HASH_LEN];
	int ret;

	if (!e) {
		ret = -ENOENT;
		goto out;
	}
	invite_secret_hash(secret, hash);
	if (sodium_memcmp(hash, e->secret_hash, sizeof(hash)) != 0) {
		ret = -EPERM;
		goto out;
	}
	if (e->state == INVITE_LEDGER_REVOKED) {
		ret = -ECANCELED;
		goto out;
	}
	if (e->state == INVITE_LEDGER_USED) {
		ret = -EALREADY;
		goto out;
	}
	if (invite_ledger_expired(e, now)) {
		ret = -ESTALE;
		goto out;
	}
	if (!e->reusable) {
		e->state = INVITE_LEDGER_USED;
		e->closed = now;
	}
	if (e->uses < UINT32_MAX)
		e->uses++;
	e->has_used_by = true;
	memcpy(e->used_by, joiner, INVITE_KEY_LEN);
	if (out)
		*out = *e;
	ret = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	return ret;
}

int invite_ledger_restore(struct invite_ledger *l, uint32_t id,
			  const uint8_t joiner[INVITE_KEY_LEN])
{
	struct invite_ledger_entry *e = invite_ledger_lookup(l, id);

	if (!e)
		return -ENOENT;
	if (e->state == INVITE_LEDGER_REVOKED)
		return -ECANCELED;
	if (e->reusable) {
		if (e->uses == 0)
			return -EINVAL;
		e->uses--;
		return 0;
	}
	if (e->state != INVITE_LEDGER_USED)
		return -EINVAL;
	if (!e->has_used_by || memcmp(e->used_by, joiner, INVITE_KEY_LEN) != 0)
		return -EPERM;
	e->state = INVITE_LEDGER_OPEN;
	e->closed = 0;
	e->uses = 0;
	e->has_used_by = false;
	memset(e->used_by, 0, sizeof(e->used_by));
	return 0;
}

int invite_ledger_add_shared(struct invite_ledger *l, uint32_t id,
			     const uint8_t secret_hash[INVITE_HASH_LEN], uint64_t expires,
			     const char *hostname, uint64_t now)
{
	struct invite_ledger_entry *e = invite_ledger_lookup(l, id);
	int ret;

	if (id == 0 || expires == 0 || expires > INT64_MAX || now > INT64_MAX ||
	    (hostname && *hostname && !group_hostname_valid(hostname)))
		return -EINVAL;
	if (e) {
		/* a gossiped hash is public; no need for constant time */
		if (e->reusable || memcmp(e->secret_hash, secret_hash, INVITE_HASH_LEN) != 0)
			return -EEXIST;
		return 1;
	}
	if ((ret = invite_ledger_reserve(l)) < 0)
		return ret;
	e = &l->entries[l->n];
	memset(e, 0, sizeof(*e));
	e->id = id;
	memcpy(e->secret_hash, secret_hash, INVITE_HASH_LEN);
	e->created = now;
	e->expires = expires;
	e->state = INVITE_LEDGER_OPEN;
	if (hostname && *hostname)
		strcpy(e->hostname, hostname);
	l->n++;
	return 0;
}

int invite_ledger_mark_used(struct invite_ledger *l, uint32_t id,
			    const uint8_t joiner[INVITE_KEY_LEN], uint64_t now)
{
	struct invite_ledger_entry *e = invite_ledger_lookup(l, id);

	if (!e)
		return -ENOENT;
	if (e->reusable)
		return -EINVAL;
	if (e->state == INVITE_LEDGER_REVOKED)
		return -ECANCELED;
	if (e->state == INVITE_LEDGER_USED)
		return memcmp(e->used_by, joiner, INVITE_KEY_LEN) == 0 ? 0 : -EALREADY;
	e->state = INVITE_LEDGER_USED;
	e->closed = now;
	e->uses = 1;
	e->has_used_by = true;
	memcpy(e->used_by, joiner, INVITE_KEY_LEN);
	return 0;
}

int invite_ledger_revoke(struct invite_ledger *l, uint32_t id, uint64_t now)
{
	struct invite_ledger_entry *e = invite_ledger_lookup(l, id);

	if (!e)
		return -ENOENT;
	if (e->state == INVITE_LEDGER_USED)
		return -EALREADY;
	if (e->state == INVITE_LEDGER_REVOKED)
		return -ECANCELED;
	e->state = INVITE_LEDGER_REVOKED;
	e->closed = now;
	return 0;
}

size_t invite_ledger_prune(struct invite_ledger *l, uint64_t now, uint64_t keep)
{
	size_t kept = 0, removed;

	for (size_t i = 0; i < l->n; i++) {
		const struct invite_ledger_entry *e = &l->entries[i];
		uint64_t since = e->expires > e->closed ? e->expires : e->closed;
		bool finished = e->state != INVITE_LEDGER_OPEN || invite_ledger_expired(e, now);

		if (finished && now >= since && now - since >= keep)
			continue;
		if (kept != i)
			l->entries[kept] = *e;
		kept++;
	}
	removed = l->n - kept;
	if (removed)
		sodium_memzero(&l->entries[kept], removed * sizeof(l->entries[0]));
	l->n = kept;
	return removed;
}

/* ---- JSON ---- */

static json_t *invite_ledger_entry_json(const struct invite_ledger_entry *e)
{
	char hash[INVITE_HASH_LEN * 2 + 1], node[NODE_ID_TEXT_LEN + 1];

	sodium_bin2hex(hash, sizeof(hash), e->secret_hash, sizeof(e->secret_hash));
	if (e->has_used_by)
		keytext_format_node_id(e->used_by, node);
	return json_pack("{s:I, s:s, s:I, s:I, s:b, s:s, s:s?, s:s?, s:I, s:I}", "id",
			 (json_int_t)e->id, "secret_hash", hash, "created", (json_int_t)e->created,
			 "expires", (json_int_t)e->expires, "reusable", (int)e->reusable, "state",
			 invite_ledger_state_names[e->state], "hostname",
			 e->hostname[0] ? e->hostname : NULL, "used_by",
			 e->has_used_by ? node : NULL, "closed", (json_int_t)e->closed, "uses",
			 (json_int_t)e->uses);
}

int invite_ledger_to_json(const struct invite_ledger *l, char **out)
{
	json_t *root = NULL, *list = json_array();
	int ret = -ENOMEM;

	*out = NULL;
	if (!list)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		const struct invite_ledger_entry *e = &l->entries[i];

		if (e->created > INT64_MAX || e->expires > INT64_MAX || e->closed > INT64_MAX) {
			ret = -ERANGE;
			goto out;
		}
		if (json_array_append_new(list, invite_ledger_entry_json(e)) < 0)
			goto out;
	}
	root = json_pack("{s:i, s:O}", "version", INVITE_LEDGER_JSON_VERSION, "invites", list);
	if (!root)
		goto out;
	*out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (*out)
		ret = 0;
out:
	json_decref(root);
	json_decref(list);
	return ret;
}

static int invite_ledger_json_uint(json_t *obj, const char *key, uint64_t max, uint64_t *v)
{
	json_t *j = json_object_get(obj, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return -EINVAL;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* The string value of KEY: exactly LEN bytes when EXACT, else at most LEN;
 * NULL when it is not such a string. */
static const char *invite_ledger_json_str(json_t *obj, const char *key, size_t len, bool exact)
{
	json_t *j = json_object_get(obj, key);
	size_t n;

	if (!json_is_string(j))
		return NULL;
	n = json_string_length(j);
	if (n > len || (exact && n != len) || strlen(json_string_value(j)) != n)
		return NULL;
	return json_string_value(j);
}

static int invite_ledger_hex32(const char *hex, uint8_t out[INVITE_HASH_LEN])
{
	for (size_t i = 0; i < INVITE_HASH_LEN * 2; i++) {
		char c = hex[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int invite_ledger_entry_parse(json_t *obj, struct invite_ledger_entry *e)
{
	const char *s;
	json_t *j;
	uint64_t v;
	int st;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(obj) || json_object_size(obj) != INVITE_LEDGER_FIELDS)
		return -EINVAL;

	if (invite_ledger_json_uint(obj, "id", UINT32_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	e->id = (uint32_t)v;
	s = invite_ledger_json_str(obj, "secret_hash", INVITE_HASH_LEN * 2, true);
	if (!s || invite_ledger_hex32(s, e->secret_hash) < 0)
		return -EINVAL;
	if (invite_ledger_json_uint(obj, "created", INT64_MAX, &e->created) < 0 ||
	    invite_ledger_json_uint(obj, "expires", INT64_MAX, &e->expires) < 0 ||
	    invite_ledger_json_uint(obj, "closed", INT64_MAX, &e->closed) < 0 ||
	    invite_ledger_json_uint(obj, "uses", UINT32_MAX, &v) < 0)
		return -EINVAL;
	e->uses = (uint32_t)v;

	j = json_object_get(obj, "reusable");
	if (!json_is_boolean(j))
		return -EINVAL;
	e->reusable = json_is_true(j);

	s = invite_ledger_json_str(obj, "state", 16, false);
	if (!s)
		return -EINVAL;
	for (st = 0; st < (int)(sizeof(invite_ledger_state_names) / sizeof(char *)); st++)
		if (strcmp(s, invite_ledger_state_names[st]) == 0)
			break;
	if (st == (int)(sizeof(invite_ledger_state_names) / sizeof(char *)))
		return -EINVAL;
	e->state = (enum invite_ledger_state)st;

	j = json_object_get(obj, "hostname");
	if (!json_is_null(j)) {
		s = invite_ledger_json_str(obj, "hostname", INVITE_HOSTNAME_MAX, false);
		if (!s || !group_hostname_valid(s))
			return -EINVAL;
		strcpy(e->hostname, s);
	}

	j = json_object_get(obj, "used_by");
	if (!json_is_null(j)) {
		char back[NODE_ID_TEXT_LEN + 1];

		s = invite_ledger_json_str(obj, "used_by", NODE_ID_TEXT_LEN, true);
		if (!s || keytext_parse_node_id(s, e->used_by) < 0)
			return -EINVAL;
		keytext_format_node_id(e->used_by, back);
		if (strcmp(back, s) != 0)
			return -EINVAL; /* upper case: not what we write */
		e->has_used_by = true;
	}

	/* What the operations can produce, and nothing else. */
	if (e->expires == 0 && !e->reusable)
		return -EINVAL;
	if (e->state == INVITE_LEDGER_OPEN && e->closed != 0)
		return -EINVAL;
	if (!e->reusable) {
		if (e->state == INVITE_LEDGER_USED && (!e->has_used_by || e->uses != 1))
			return -EINVAL;
		if (e->state != INVITE_LEDGER_USED && (e->has_used_by || e->uses != 0))
			return -EINVAL;
	} else if (e->state == INVITE_LEDGER_USED) {
		return -EINVAL;
	}
	return 0;
}

static int invite_ledger_cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static bool invite_ledger_json_keys(json_t *obj, const char *const *keys, size_t n)
{
	if (!json_is_object(obj) || json_object_size(obj) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(obj, keys[i]))
			return false;
	return true;
}

int invite_ledger_from_json(const char *text, size_t len, struct invite_ledger **out)
{
	static const char *const top_keys[] = {"version", "invites"};
	static const char *const entry_keys[INVITE_LEDGER_FIELDS] = {
		"id",	 "secret_hash", "created", "expires", "reusable",
		"state", "hostname",	"used_by", "closed",  "uses"};
	struct invite_ledger *l = NULL;
	uint32_t *ids = NULL;
	json_error_t jerr;
	json_t *root = NULL, *list, *item;
	uint64_t version;
	size_t i, n;
	int ret = -EINVAL;

	*out = NULL;
	if (len > INVITE_LEDGER_JSON_MAX) {
		ret = -EMSGSIZE;
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!invite_ledger_json_keys(root, top_keys, 2))
		goto out;
	if (invite_ledger_json_uint(root, "version", UINT32_MAX, &version) < 0 ||
	    version != INVITE_LEDGER_JSON_VERSION)
		goto out;
	list = json_object_get(root, "invites");
	if (!json_is_array(list) || json_array_size(list) > INVITE_LEDGER_MAX)
		goto out;
	n = json_array_size(list);

	ret = -ENOMEM;
	l = invite_ledger_new();
	if (!l)
		goto out;
	if (n > 0) {
		l->entries = calloc(n, sizeof(l->entries[0]));
		ids = calloc(n, sizeof(ids[0]));
		if (!l->entries || !ids)
			goto out;
		l->cap = n;
	}
	ret = -EINVAL;
	json_array_foreach(list, i, item)
	{
		if (!invite_ledger_json_keys(item, entry_keys, INVITE_LEDGER_FIELDS) ||
		    invite_ledger_entry_parse(item, &l->entries[i]) < 0)
			goto out;
		ids[i] = l->entries[i].id;
		l->n++;
	}
	if (n > 1) {
		qsort(ids, n, sizeof(ids[0]), invite_ledger_cmp_id);
		for (i = 1; i < n; i++)
			if (ids[i] == ids[i - 1])
				goto out;
	}
	*out = l;
	l = NULL;
	ret = 0;
out:
	invite_ledger_free(l);
	free(ids);
	json_decref(root);
	return ret;
}
