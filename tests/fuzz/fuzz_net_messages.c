/* Network control messages from peers: whatever decodes re-encodes and
 * decodes to the same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/codec.h"
#include "net/messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_msg_join join, join2;
	struct net_msg_room room, room2;
	struct ctl_codec_writer w;
	const uint8_t *blob;
	uint8_t buf[512];
	size_t len, blen;

	if (net_msg_join_decode(data, size, &join) == 0) {
		ctl_codec_writer_init(&w, buf, sizeof(buf));
		if (net_msg_join_encode(&w, &join) != 0)
			abort();
		ctl_codec_writer_data(&w, &len);
		if (net_msg_join_decode(buf, len, &join2) != 0 ||
		    memcmp(&join, &join2, sizeof(join)))
			abort();
	}
	if (net_msg_room_decode(data, size, &room) == 0) {
		ctl_codec_writer_init(&w, buf, sizeof(buf));
		if (net_msg_room_encode(&w, &room) != 0)
			abort();
		ctl_codec_writer_data(&w, &len);
		if (net_msg_room_decode(buf, len, &room2) != 0)
			abort();
		/* a decoded message may carry both a version and a hash; the
		 * encoding keeps the hash */
		if (memcmp(room.room, room2.room, 32) || room.has_hash != room2.has_hash ||
		    (room.has_hash && memcmp(room.hash, room2.hash, 32)))
			abort();
	}
	{
		struct net_msg_grant g, g2;

		if (net_msg_grant_decode(data, size, &g) == 0) {
			ctl_codec_writer_init(&w, buf, sizeof(buf));
			if (net_msg_grant_encode(&w, &g) != 0)
				abort();
			ctl_codec_writer_data(&w, &len);
			if (net_msg_grant_decode(buf, len, &g2) != 0 || memcmp(&g, &g2, sizeof(g)))
				abort();
		}
	}
	{
		struct net_msg_invite v, v2;

		if (net_msg_invite_decode(data, size, &v) == 0) {
			ctl_codec_writer_init(&w, buf, sizeof(buf));
			if (net_msg_invite_encode(&w, &v) != 0)
				abort();
			ctl_codec_writer_data(&w, &len);
			if (net_msg_invite_decode(buf, len, &v2) != 0 || memcmp(&v, &v2, sizeof(v)))
				abort();
		}
	}
	if (net_msg_blob_decode(data, size, &blob, &blen) == 0 &&
	    (blob < data || blob + blen > data + size))
		abort();
	return 0;
}
