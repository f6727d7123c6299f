#include "net/names.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define NAMES_WORDS 64

/* Our own lists: short, plain, lowercase a-z, at most 7 letters each. */
static const char *const names_moods[NAMES_WORDS] = {
	"brave",  "calm",   "clever", "cozy",	"eager",  "gentle", "happy",  "jolly",
	"kind",	  "lively", "lucky",  "merry",	"mighty", "nimble", "noble",  "proud",
	"quick",  "quiet",  "swift",  "witty",	"bold",	  "bright", "cheery", "daring",
	"fancy",  "fluffy", "frosty", "giddy",	"glad",	  "grand",  "hardy",  "humble",
	"keen",	  "lofty",  "loyal",  "mellow", "misty",  "modest", "neat",   "patient",
	"plucky", "polite", "rapid",  "rustic", "shiny",  "silent", "sleepy", "smooth",
	"snappy", "snug",   "sunny",  "sturdy", "tidy",	  "tiny",   "trusty", "vivid",
	"warm",	  "wise",   "zesty",  "breezy", "dapper", "spry",   "cosmic", "curious",
};

static const char *const names_colors[NAMES_WORDS] = {
	"amber",   "azure",  "beige",	"blue",	   "bronze", "cedar",	"coral",  "cobalt",
	"copper",  "cream",  "crimson", "cyan",	   "denim",  "emerald", "fern",	  "flax",
	"garnet",  "golden", "granite", "green",   "hazel",  "honey",	"indigo", "ivory",
	"jade",	   "khaki",  "lemon",	"lilac",   "lime",   "linen",	"maple",  "marble",
	"mauve",   "mint",   "mossy",	"navy",	   "ochre",  "olive",	"opal",	  "orange",
	"peach",   "pearl",  "pewter",	"pine",	   "plum",   "quartz",	"ruby",	  "rust",
	"saffron", "sage",   "sandy",	"scarlet", "sepia",  "silver",	"slate",  "steel",
	"tawny",   "teal",   "topaz",	"umber",   "velvet", "violet",	"walnut", "wheat",
};

static const char *const names_creatures[NAMES_WORDS] = {
	"fox",	  "otter",   "badger",	"beaver", "bison",  "crane",  "deer",	 "dolphin",
	"eagle",  "falcon",  "finch",	"gecko",  "heron",  "ibis",   "koala",	 "lark",
	"lemur",  "lynx",    "marten",	"mole",	  "moose",  "newt",   "owl",	 "panda",
	"parrot", "pelican", "penguin", "puffin", "quail",  "rabbit", "raven",	 "robin",
	"seal",	  "shrew",   "sparrow", "squid",  "stork",  "swan",   "tapir",	 "tiger",
	"toad",	  "trout",   "turtle",	"walrus", "wombat", "wren",   "yak",	 "zebra",
	"dove",	  "elk",     "gull",	"hare",	  "ibex",   "kiwi",   "llama",	 "orca",
	"pika",	  "wolf",    "hawk",	"bear",	  "bee",    "beetle", "cricket", "moth",
};

int names_generate(char *out, size_t cap)
{
	const char *a = names_moods[randombytes_uniform(NAMES_WORDS)];
	const char *b = names_colors[randombytes_uniform(NAMES_WORDS)];
	const char *c = names_creatures[randombytes_uniform(NAMES_WORDS)];
	size_t len = strlen(a) + strlen(b) + strlen(c) + 2;

	if (cap < len + 1)
		return -ENOBUFS;
	snprintf(out, cap, "%s-%s-%s", a, b, c);
	return (int)len;
}
