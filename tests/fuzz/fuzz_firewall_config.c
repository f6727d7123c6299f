/* The firewall's saved configuration (and rules in IPC requests), from
 * arbitrary JSON text. Properties checked besides memory safety: fw_load
 * returns 0 or -EINVAL; on -EINVAL the firewall is unchanged (its saved form
 * is the same) and the reason is set; on 0, what fw_save writes loads again
 * (also through text) into a fresh firewall and saves the same. A rule that
 * fw_rule_from_json takes goes to JSON and back to an equal rule. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "firewall/firewall.h"
#include "firewall/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rule(const json_t *o)
{
	struct fw_rule r, back;
	char err[128];
	json_t *j;

	err[0] = '\0';
	if (fw_rule_from_json(o, &r, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
		return;
	}
	if (fw_rule_check(&r, err, sizeof(err)) < 0)
		abort();
	j = fw_rule_to_json(&r);
	if (!j || fw_rule_from_json(j, &back, err, sizeof(err)) < 0)
		abort();
	if (!fw_rule_equal(&r, &back) || strcmp(r.peer_name, back.peer_name) != 0)
		abort();
	json_decref(j);
}

static json_t *through_text(const json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	json_t *back;

	if (!text)
		abort();
	back = json_loads(text, 0, NULL);
	if (!back)
		abort();
	free(text);
	return back;
}

static void check_config(const json_t *config)
{
	static struct firewall *fw;
	struct firewall *again;
	json_t *before, *after, *saved, *text, *resaved;
	char err[256];
	int ret;

	if (!fw && !(fw = fw_new(8)))
		abort();
	before = fw_save(fw);
	err[0] = '\0';
	ret = fw_load(fw, config, err, sizeof(err));
	if (ret == -EINVAL) {
		after = fw_save(fw);
		if (!err[0] || !before || !after || !json_equal(before, after))
			abort();
		json_decref(after);
		json_decref(before);
		return;
	}
	if (ret != 0)
		abort();
	json_decref(before);
	saved = fw_save(fw);
	if (!saved)
		abort();
	text = through_text(saved);
	again = fw_new(8);
	if (!again || fw_load(again, text, err, sizeof(err)) != 0)
		abort();
	resaved = fw_save(again);
	if (!resaved || !json_equal(saved, resaved))
		abort();
	if (fw_rule_count(again) != fw_rule_count(fw))
		abort();
	for (unsigned i = 0; i < fw_rule_count(fw); i++) {
		if (!fw_rule_equal(fw_rule_at(fw, i), fw_rule_at(again, i)))
			abort();
	}
	if (fw_enabled(again) != fw_enabled(fw) || fw_reject(again) != fw_reject(fw) ||
	    fw_default_inbound(again) != fw_default_inbound(fw))
		abort();
	json_decref(resaved);
	json_decref(text);
	json_decref(saved);
	fw_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	const json_t *rules, *v;
	size_t i;

	if (!root)
		return 0;
	check_config(root);
	check_rule(root);
	rules = json_is_array(root) ? root : json_object_get(root, "rules");
	if (json_is_array(rules)) {
		json_array_foreach(rules, i, v)
		{
			check_rule(v);
		}
	}
	json_decref(root);
	return 0;
}
