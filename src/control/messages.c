#include "control/messages.h"

#include <errno.h>
#include <string.h>

int ctl_msg_ping_encode(struct ctl_codec_writer *w, const struct ctl_msg_ping *p)
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, CTL_PING_KEY_NONCE);
	ctl_codec_put_uint(w, p->mp_nonce);
	ctl_codec_put_uint(w, CTL_PING_KEY_SENT);
	ctl_codec_put_uint(w, p->mp_sent_ns);
	return ctl_codec_writer_error(w);
}

int ctl_msg_ping_decode(const uint8_t *buf, size_t len, struct ctl_msg_ping *p)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	struct ctl_msg_ping out;
	unsigned seen = 0;
	uint64_t key;
	int err;

	memset(&out, 0, sizeof(out));
	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &m);
	if (err)
		goto out;
	while ((err = ctl_codec_map_next(&r, &m, &key)) > 0) {
		switch (key) {
		case CTL_PING_KEY_NONCE:
			err = ctl_codec_get_uint(&r, &out.mp_nonce);
			seen |= 1;
			break;
		case CTL_PING_KEY_SENT:
			err = ctl_codec_get_uint(&r, &out.mp_sent_ns);
			seen |= 2;
			break;
		default:
			err = ctl_codec_skip(&r);
			break;
		}
		if (err)
			goto out;
	}
	if (err)
		goto out;
	err = ctl_codec_reader_end(&r);
	if (!err && seen != 3)
		err = -EBADMSG;
	if (!err)
		*p = out;
out:
	return err;
}

int ctl_msg_echo_request_encode(struct ctl_codec_writer *w, const uint8_t *data, size_t len)
{
	ctl_codec_put_map(w, 1);
	ctl_codec_put_uint(w, CTL_ECHO_KEY_DATA);
	ctl_codec_put_bin(w, data, len);
	return ctl_codec_writer_error(w);
}

int ctl_msg_echo_request_decode(const uint8_t *buf, size_t len, const uint8_t **data,
				size_t *data_len)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	bool seen = false;
	uint64_t key;
	int err;

	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &m);
	while (!err && (err = ctl_codec_map_next(&r, &m, &key)) > 0) {
		if (key == CTL_ECHO_KEY_DATA) {
			err = ctl_codec_get_bin(&r, data, data_len);
			seen = true;
		} else {
			err = ctl_codec_skip(&r);
		}
	}
	if (err)
		return err;
	return seen ? 0 : -EBADMSG;
}

int ctl_msg_echo_reply_encode(struct ctl_codec_writer *w, uint64_t length,
			      const uint8_t digest[CTL_ECHO_DIGEST_LEN])
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, CTL_ECHO_KEY_LENGTH);
	ctl_codec_put_uint(w, length);
	ctl_codec_put_uint(w, CTL_ECHO_KEY_DIGEST);
	ctl_codec_put_bin(w, digest, CTL_ECHO_DIGEST_LEN);
	return ctl_codec_writer_error(w);
}

int ctl_msg_echo_reply_decode(const uint8_t *buf, size_t len, uint64_t *length,
			      uint8_t digest[CTL_ECHO_DIGEST_LEN])
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	const uint8_t *d;
	unsigned seen = 0;
	uint64_t key;
	size_t dlen;
	int err;

	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &m);
	while (!err && (err = ctl_codec_map_next(&r, &m, &key)) > 0) {
		if (key == CTL_ECHO_KEY_LENGTH) {
			err = ctl_codec_get_uint(&r, length);
			seen |= 1;
		} else if (key == CTL_ECHO_KEY_DIGEST) {
			err = ctl_codec_get_bin(&r, &d, &dlen);
			if (!err && dlen != CTL_ECHO_DIGEST_LEN)
				err = -EBADMSG;
			if (!err)
				memcpy(digest, d, CTL_ECHO_DIGEST_LEN);
			seen |= 2;
		} else {
			err = ctl_codec_skip(&r);
		}
	}
	if (err)
		return err;
	return seen == 3 ? 0 : -EBADMSG;
}
