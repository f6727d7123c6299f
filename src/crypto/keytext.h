/* Text forms of public keys: node ids (z-base-32) and WireGuard keys (base64). */
#ifndef RAY_CRYPTO_KEYTEXT_H
#define RAY_CRYPTO_KEYTEXT_H

#include <stddef.h>
#include <stdint.h>

#define KEY_LEN		    32
#define NODE_ID_TEXT_LEN    52 /* z-base-32 of 32 bytes */
#define NODE_ID_SHORT_LEN   10 /* the prefix shown where space is tight */
#define KEY_BASE64_TEXT_LEN 44

void keytext_format_node_id(const uint8_t key[KEY_LEN], char out[NODE_ID_TEXT_LEN + 1]);
/* Returns 0, or -EINVAL unless TEXT is exactly one canonical node id. */
int keytext_parse_node_id(const char *text, uint8_t key[KEY_LEN]);

void keytext_format_base64(const uint8_t key[KEY_LEN], char out[KEY_BASE64_TEXT_LEN + 1]);
/* Returns 0, or -EINVAL unless TEXT is exactly 44 characters of padded base64. */
int keytext_parse_base64(const char *text, uint8_t key[KEY_LEN]);

#endif
