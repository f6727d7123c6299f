#include "daemon/settings.h"
#include "util/fileio.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTINGS_FILE_MAX (64 * 1024)

void settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	s->want_up = true;
	s->dns_system = true;
}

int settings_parse(const char *text, size_t len, const char *path, struct settings *s, char *err,
		   size_t err_len)
{
	json_error_t jerr;
	json_t *root, *v;
	int ret = -EINVAL;

	settings_defaults(s);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		snprintf(err, err_len, "%s is corrupt (%s); fix or remove it", path,
			 root ? "not a JSON object" : jerr.text);
		goto out;
	}
	v = json_object_get(root, "operator_uid");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (json_int_t)0xfffffffe) {
			snprintf(err, err_len, "%s: operator_uid must be a uid", path);
			goto out;
		}
		s->has_operator = true;
		s->operator_uid = (uid_t)json_integer_value(v);
	}
	v = json_object_get(root, "up");
	if (v) {
		if (!json_is_boolean(v)) {
			snprintf(err, err_len, "%s: up must be true or false", path);
			goto out;
		}
		s->want_up = json_is_true(v);
	}
	v = json_object_get(root, "dns_system");
	if (v) {
		if (!json_is_boolean(v)) {
			snprintf(err, err_len, "%s: dns_system must be true or false", path);
			goto out;
		}
		s->dns_system = json_is_true(v);
	}
	v = json_object_get(root, "relays");
	if (v) {
		size_t i;
		json_t *url;

		if (!json_is_array(v) || json_array_size(v) > SETTINGS_RELAYS_MAX) {
			snprintf(err, err_len, "%s: relays must be a list of at most %d URLs", path,
				 SETTINGS_RELAYS_MAX);
			goto out;
		}
		json_array_foreach(v, i, url)
		{
			const char *t = json_string_value(url);

			if (!t || strlen(t) == 0 || strlen(t) > SETTINGS_RELAY_URL_MAX) {
				snprintf(err, err_len, "%s: relays[%zu] is not a relay URL", path,
					 i);
				goto out;
			}
			strcpy(s->relays[s->nrelays++], t);
		}
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int settings_load(const char *path, struct settings *s, char *err, size_t err_len)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	settings_defaults(s);
	ret = file_read_all(path, SETTINGS_FILE_MAX, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = settings_parse(text, len, path, s, err, err_len);
	free(text);
	return ret;
}

int settings_save(const char *path, const struct settings *s)
{
	json_t *root, *relays = json_array();
	char *text;
	int ret;

	for (unsigned i = 0; relays && i < s->nrelays; i++)
		json_array_append_new(relays, json_string(s->relays[i]));
	root = json_pack("{s:o, s:b, s:b, s:o}", "operator_uid",
			 s->has_operator ? json_integer(s->operator_uid) : json_null(), "up",
			 s->want_up, "dns_system", s->dns_system, "relays", relays);
	if (!root)
		return -ENOMEM;
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (!text)
		return -ENOMEM;
	ret = file_write_atomic(path, text, strlen(text), 0600);
	free(text);
	return ret;
}
