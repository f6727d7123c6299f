#include "crypto/identity.h"
#include "crypto/keytext.h"
#include "util/fileio.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file holds the ed25519 seed as one line of base64, like a wg key. */
#define IDENTITY_FILE_MAX 128

int identity_from_seed(const uint8_t seed[32], struct identity *id)
{
	if (crypto_sign_seed_keypair(id->sign_public, id->sign_secret, seed) != 0)
		return -EINVAL;
	if (crypto_sign_ed25519_pk_to_curve25519(id->wg_public, id->sign_public) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(id->wg_secret, id->sign_secret) != 0) {
		identity_wipe(id);
		return -EINVAL;
	}
	return 0;
}

static int identity_create(const char *path, struct identity *id)
{
	uint8_t seed[32];
	char text[KEY_BASE64_TEXT_LEN + 2];
	int ret;

	randombytes_buf(seed, sizeof(seed));
	ret = identity_from_seed(seed, id);
	if (ret < 0)
		goto out;
	keytext_format_base64(seed, text);
	strcat(text, "\n");
	ret = file_write_atomic(path, text, strlen(text), 0600);
	if (ret < 0)
		identity_wipe(id);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	return ret;
}

static int identity_check_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((st.st_mode & 077) || st.st_uid != geteuid())
		return -EPERM;
	return 0;
}

int identity_load_or_create(const char *path, struct identity *id)
{
	uint8_t seed[32];
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = identity_check_file(path);
	if (ret == -ENOENT)
		return identity_create(path, id);
	if (ret < 0)
		return ret;
	ret = file_read_all(path, IDENTITY_FILE_MAX, &text, &len);
	if (ret == -EFBIG) {
		ret = -EINVAL;
		goto out;
	}
	if (ret < 0)
		goto out;
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	ret = keytext_parse_base64(text, seed);
	if (ret < 0)
		goto out;
	ret = identity_from_seed(seed, id);
out:
	sodium_memzero(seed, sizeof(seed));
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	return ret;
}

void identity_wipe(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}
