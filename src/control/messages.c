#include "control/messages.h"

#include "path/endpoint.h"

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

int ctl_msg_candidates_encode(struct ctl_codec_writer *w, const struct endpoint *eps, unsigned n)
{
	if (n > CTL_CANDIDATES_MAX)
		n = CTL_CANDIDATES_MAX;
	ctl_codec_put_map(w, 1);
	ctl_codec_put_uint(w, CTL_CANDIDATES_KEY_ADDRS);
	ctl_codec_put_array(w, n);
	for (unsigned i = 0; i < n; i++) {
		const struct in6_addr *a = &eps[i].sin6.sin6_addr;
		uint8_t b[18];
		size_t len;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(b, &a->s6_addr[12], 4);
			len = 4;
		} else {
			memcpy(b, a, 16);
			len = 16;
		}
		memcpy(b + len, &eps[i].sin6.sin6_port, 2);
		ctl_codec_put_bin(w, b, len + 2);
	}
	return ctl_codec_writer_error(w);
}

int ctl_msg_candidates_decode(const uint8_t *buf, size_t len, struct endpoint *eps, unsigned max,
			      unsigned *n)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	unsigned got = 0;
	uint32_t count;
	uint64_t key;
	int err;

	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &m);
	while (!err && (err = ctl_codec_map_next(&r, &m, &key)) > 0) {
		if (key != CTL_CANDIDATES_KEY_ADDRS) {
			err = ctl_codec_skip(&r);
			continue;
		}
		err = ctl_codec_get_array(&r, &count);
		if (!err && count > CTL_CANDIDATES_MAX)
			err = -EBADMSG;
		for (uint32_t i = 0; !err && i < count; i++) {
			struct endpoint ep = {0};
			const uint8_t *b;
			size_t blen;

			err = ctl_codec_get_bin(&r, &b, &blen);
			if (err || (blen != 6 && blen != 18) || got >= max)
				continue;
			ep.sin6.sin6_family = AF_INET6;
			if (blen == 6) {
				ep.sin6.sin6_addr.s6_addr[10] = 0xff;
				ep.sin6.sin6_addr.s6_addr[11] = 0xff;
				memcpy(&ep.sin6.sin6_addr.s6_addr[12], b, 4);
			} else {
				memcpy(&ep.sin6.sin6_addr, b, 16);
			}
			memcpy(&ep.sin6.sin6_port, b + blen - 2, 2);
			eps[got++] = ep;
		}
	}
	if (!err)
		err = ctl_codec_reader_end(&r);
	*n = err ? 0 : got;
	return err;
}
