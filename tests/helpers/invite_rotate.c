/* The same invite with its coordinators in another order, for tests that
 * make a joiner ask a co-coordinator first.
 *
 *   invite_rotate CODE        print CODE with its first coordinator moved last
 *   invite_rotate --list CODE print its coordinators' node ids, one a line
 *
 * Exit 0, 1 when CODE is not an invite, 2 on bad arguments. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crypto/keytext.h"
#include "net/invite.h"

int main(int argc, char **argv)
{
	struct invite_code c;
	char text[INVITE_CODE_TEXT_MAX + 1], id[NODE_ID_TEXT_LEN + 1];
	uint8_t first[INVITE_KEY_LEN];
	int list = argc == 3 && strcmp(argv[1], "--list") == 0, status = 1;

	if (argc != 2 && !list) {
		fprintf(stderr, "usage: invite_rotate [--list] CODE\n");
		return 2;
	}
	if (invite_code_parse(argv[argc - 1], &c) < 0) {
		fprintf(stderr, "not an invite code\n");
		return 1;
	}
	if (list) {
		for (unsigned i = 0; i < c.ncoordinators; i++) {
			keytext_format_node_id(c.coordinators[i], id);
			printf("%s\n", id);
		}
		status = 0;
		goto out;
	}
	if (c.ncoordinators > 1) {
		memcpy(first, c.coordinators[0], sizeof(first));
		memmove(c.coordinators[0], c.coordinators[1],
			(c.ncoordinators - 1) * sizeof(c.coordinators[0]));
		memcpy(c.coordinators[c.ncoordinators - 1], first, sizeof(first));
	}
	if (invite_code_encode(&c, text, sizeof(text)) < 0) {
		fprintf(stderr, "cannot encode the invite\n");
		goto out;
	}
	printf("%s\n", text);
	status = 0;
out:
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(text, sizeof(text));
	return status;
}
