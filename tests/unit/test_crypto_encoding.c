/* z-base-32 and the text forms of keys. Vectors: the z-base-32 spec's
 * examples, and keys encoded by an independent Python implementation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "crypto/keytext.h"
#include "crypto/zbase32.h"

static void test_zbase32_spec_vectors(void **state)
{
	static const uint8_t a[] = {0xf0, 0xbf, 0xc7}, b[] = {0xd4, 0x7a, 0x04};
	char out[16];
	uint8_t back[3];

	(void)state;
	zbase32_encode(a, sizeof(a), out);
	assert_string_equal(out, "6n9hq");
	zbase32_encode(b, sizeof(b), out);
	assert_string_equal(out, "4t7ye");
	assert_int_equal(zbase32_decode("6n9hq", 5, back, 3), 0);
	assert_memory_equal(back, a, 3);
}

static void test_node_id_vectors(void **state)
{
	static const struct {
		uint8_t fill; /* 0x100 = bytes 0..31 */
		const char *text;
	} vectors[] = {
		{0x00, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"},
		{0xff, "999999999999999999999999999999999999999999999999999o"},
	};
	uint8_t key[32], seq[32], back[32];
	char text[NODE_ID_TEXT_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		memset(key, vectors[i].fill, sizeof(key));
		keytext_format_node_id(key, text);
		assert_string_equal(text, vectors[i].text);
		assert_int_equal(keytext_parse_node_id(vectors[i].text, back), 0);
		assert_memory_equal(back, key, 32);
	}
	for (int i = 0; i < 32; i++)
		seq[i] = (uint8_t)i;
	keytext_format_node_id(seq, text);
	assert_string_equal(text, "yyyoryarywdyqnyjbefoadeqbhebnrounoktcfaadrpbs8y7daxo");
}

static void test_node_id_round_trip_random(void **state)
{
	uint8_t key[32], back[32];
	char text[NODE_ID_TEXT_LEN + 1];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		randombytes_buf(key, sizeof(key));
		keytext_format_node_id(key, text);
		assert_int_equal(strlen(text), NODE_ID_TEXT_LEN);
		assert_int_equal(keytext_parse_node_id(text, back), 0);
		assert_memory_equal(back, key, 32);
	}
}

static void test_node_id_rejects_bad_input(void **state)
{
	const char *good = "yyyoryarywdyqnyjbefoadeqbhebnrounoktcfaadrpbs8y7daxo";
	char text[64];
	uint8_t key[32];

	(void)state;
	assert_int_equal(keytext_parse_node_id("", key), -EINVAL);
	/* one short, one long */
	snprintf(text, sizeof(text), "%.51s", good);
	assert_int_equal(keytext_parse_node_id(text, key), -EINVAL);
	snprintf(text, sizeof(text), "%sy", good);
	assert_int_equal(keytext_parse_node_id(text, key), -EINVAL);
	/* characters outside the alphabet: 0 l v 2 and punctuation */
	for (const char *bad = "0lv2 -_=/+"; *bad; bad++) {
		strcpy(text, good);
		text[20] = *bad;
		assert_int_equal(keytext_parse_node_id(text, key), -EINVAL);
	}
	/* non-zero padding bits in the last character: one value, one text */
	strcpy(text, good);
	text[51] = 'n'; /* value 2: a padding bit set */
	assert_int_equal(keytext_parse_node_id(text, key), -EINVAL);
	/* upper case is the same id */
	for (int i = 0; good[i]; i++)
		text[i] = (char)(good[i] >= 'a' && good[i] <= 'z' ? good[i] - 32 : good[i]);
	text[52] = '\0';
	assert_int_equal(keytext_parse_node_id(text, key), 0);
}

static void test_base64_keys(void **state)
{
	uint8_t key[32], back[32];
	char text[KEY_BASE64_TEXT_LEN + 1];

	(void)state;
	memset(key, 0, sizeof(key));
	keytext_format_base64(key, text);
	assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	randombytes_buf(key, sizeof(key));
	keytext_format_base64(key, text);
	assert_int_equal(keytext_parse_base64(text, back), 0);
	assert_memory_equal(back, key, 32);
	assert_int_equal(keytext_parse_base64("AAAA", back), -EINVAL);
	assert_int_equal(keytext_parse_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", back),
			 -EINVAL);
	assert_int_equal(keytext_parse_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!=", back),
			 -EINVAL);
	/* non-zero unused bits: a second spelling of the zero key */
	assert_int_equal(keytext_parse_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", back),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zbase32_spec_vectors),
		cmocka_unit_test(test_node_id_vectors),
		cmocka_unit_test(test_node_id_round_trip_random),
		cmocka_unit_test(test_node_id_rejects_bad_input),
		cmocka_unit_test(test_base64_keys),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
