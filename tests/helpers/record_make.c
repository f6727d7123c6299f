/* Write a signed node record (path/record.h) to stdout, for tests that talk
 * to a relay's record store with curl.
 *
 *   record_make [--key FILE] [--age-ms N] [--ttl-ms N] [--relay URL]...
 *               [--addr IP:PORT]... [--id]
 *
 * --key FILE   sign with the identity in FILE (created if missing, as the
 *              daemon does); without it, a fresh key
 * --age-ms N   timestamp = now - N ms (default 0; negative: in the future)
 * --ttl-ms N   expires = timestamp + N ms (default one hour)
 * --relay, --addr   body entries (default: no relays, no addresses)
 * --id         print the signer's node id (z-base-32) instead of a record
 *
 * The node id always goes to stderr as "id: ...". Exit 0, 1 on errors,
 * 2 on bad arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/identity.h"
#include "crypto/keytext.h"
#include "path/endpoint.h"
#include "path/record.h"

int main(int argc, char **argv)
{
	struct identity id;
	struct record r;
	struct timespec ts;
	const char *key_file = NULL;
	char text[NODE_ID_TEXT_LEN + 1];
	uint8_t buf[RECORD_MAX_LEN];
	long long age = 0, ttl = 3600000;
	int only_id = 0, ret, status = 1;
	size_t len;

	memset(&r, 0, sizeof(r));
	memset(&id, 0, sizeof(id));
	r.kind = RECORD_NODE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--id") == 0) {
			only_id = 1;
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (strcmp(a, "--key") == 0) {
			key_file = v;
		} else if (strcmp(a, "--age-ms") == 0) {
			age = atoll(v);
		} else if (strcmp(a, "--ttl-ms") == 0) {
			ttl = atoll(v);
		} else if (strcmp(a, "--relay") == 0) {
			if (r.body.node.relay_count >= RECORD_MAX_RELAYS ||
			    strlen(v) > RECORD_RELAY_URL_MAX)
				goto usage;
			strcpy(r.body.node.relays[r.body.node.relay_count++], v);
		} else if (strcmp(a, "--addr") == 0) {
			if (r.body.node.addr_count >= RECORD_MAX_ADDRS ||
			    endpoint_parse(v, &r.body.node.addrs[r.body.node.addr_count]) < 0)
				goto usage;
			r.body.node.addr_count++;
		} else {
			goto usage;
		}
	}
	if (sodium_init() < 0)
		return 1;
	if (key_file) {
		ret = identity_load_or_create(key_file, &id);
		if (ret < 0) {
			fprintf(stderr, "record_make: %s: %s\n", key_file, strerror(-ret));
			goto out;
		}
	} else {
		crypto_sign_keypair(id.sign_public, id.sign_secret);
	}
	keytext_format_node_id(id.sign_public, text);
	fprintf(stderr, "id: %s\n", text);
	if (only_id) {
		printf("%s\n", text);
		status = 0;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(r.signer, id.sign_public, RECORD_KEY_LEN);
	r.timestamp_ms = (uint64_t)((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - age);
	r.expires_ms = r.timestamp_ms + (uint64_t)ttl;
	ret = record_sign(&r, id.sign_secret, buf, sizeof(buf), &len);
	if (ret < 0) {
		fprintf(stderr, "record_make: cannot sign: %s\n", strerror(-ret));
		goto out;
	}
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "record_make: cannot write the record\n");
		goto out;
	}
	status = 0;
out:
	identity_wipe(&id);
	return status;
usage:
	fprintf(stderr, "usage: record_make [--key FILE] [--age-ms N] [--ttl-ms N] "
			"[--relay URL]... [--addr IP:PORT]... [--id]\n");
	return 2;
}
