#include "net/messages.h"

#include <errno.h>
#include <string.h>

#define KEY_ROOM       1
#define KEY_INVITE     2
#define KEY_SECRET     3
#define KEY_HOSTNAME   4
#define KEY_VERSION    2
#define KEY_HASH       2
#define KEY_BLOB       1
#define KEY_SECRET64   5
#define KEY_SHARE_HASH 6
#define KEY_EXPIRES    7
#define KEY_JOINER     8

int net_msg_join_encode(struct ctl_codec_writer *w, const struct net_msg_join *m)
{
	size_t hlen = strnlen(m->hostname, sizeof(m->hostname));

	ctl_codec_put_map(w, 1 + (m->has_invite ? 2 : 0) + (hlen ? 1 : 0));
	ctl_codec_put_uint(w, KEY_ROOM);
	ctl_codec_put_bin(w, m->room, sizeof(m->room));
	if (m->has_invite) {
		ctl_codec_put_uint(w, KEY_INVITE);
		ctl_codec_put_uint(w, m->invite_id);
		ctl_codec_put_uint(w, KEY_SECRET);
		ctl_codec_put_bin(w, m->secret, sizeof(m->secret));
	}
	if (hlen) {
		ctl_codec_put_uint(w, KEY_HOSTNAME);
		ctl_codec_put_str(w, m->hostname, hlen);
	}
	return ctl_codec_writer_error(w);
}

/* A bin of exactly LEN bytes into OUT. */
static int get_fixed_bin(struct ctl_codec_reader *r, uint8_t *out, size_t len)
{
	const uint8_t *p;
	size_t n;
	int err = ctl_codec_get_bin(r, &p, &n);

	if (err)
		return err;
	if (n != len)
		return -EBADMSG;
	memcpy(out, p, len);
	return 0;
}

int net_msg_join_decode(const uint8_t *buf, size_t len, struct net_msg_join *m)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map map;
	unsigned seen = 0;
	uint64_t key, v;
	const char *s;
	size_t slen;
	int err;

	memset(m, 0, sizeof(*m));
	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &map);
	while (!err && (err = ctl_codec_map_next(&r, &map, &key)) > 0) {
		switch (key) {
		case KEY_ROOM:
			err = get_fixed_bin(&r, m->room, sizeof(m->room));
			seen |= 1;
			break;
		case KEY_INVITE:
			err = ctl_codec_get_uint(&r, &v);
			if (!err && v > UINT32_MAX)
				err = -EBADMSG;
			m->invite_id = (uint32_t)v;
			seen |= 2;
			break;
		case KEY_SECRET:
			err = get_fixed_bin(&r, m->secret, sizeof(m->secret));
			seen |= 4;
			break;
		case KEY_HOSTNAME:
			err = ctl_codec_get_str(&r, &s, &slen);
			if (!err &&
			    (slen == 0 || slen > NET_MSG_HOSTNAME_MAX || memchr(s, 0, slen)))
				err = -EBADMSG;
			if (!err)
				memcpy(m->hostname, s, slen);
			break;
		default:
			err = ctl_codec_skip(&r);
		}
	}
	if (!err)
		err = ctl_codec_reader_end(&r);
	/* an invite id without its secret, or the reverse, is not a request */
	if (!err && (!(seen & 1) || (seen & 6) == 2 || (seen & 6) == 4))
		err = -EBADMSG;
	m->has_invite = (seen & 6) == 6;
	if (err)
		memset(m, 0, sizeof(*m));
	return err ? -EBADMSG : 0;
}

int net_msg_room_encode(struct ctl_codec_writer *w, const struct net_msg_room *m)
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, KEY_ROOM);
	ctl_codec_put_bin(w, m->room, sizeof(m->room));
	if (m->has_hash) {
		ctl_codec_put_uint(w, KEY_HASH);
		ctl_codec_put_bin(w, m->hash, sizeof(m->hash));
	} else {
		ctl_codec_put_uint(w, KEY_VERSION);
		ctl_codec_put_uint(w, m->version);
	}
	return ctl_codec_writer_error(w);
}

int net_msg_room_decode(const uint8_t *buf, size_t len, struct net_msg_room *m)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map map;
	bool room = false;
	uint64_t key;
	int err;

	memset(m, 0, sizeof(*m));
	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &map);
	while (!err && (err = ctl_codec_map_next(&r, &map, &key)) > 0) {
		if (key == KEY_ROOM) {
			err = get_fixed_bin(&r, m->room, sizeof(m->room));
			room = true;
		} else if (key == KEY_VERSION && ctl_codec_peek(&r) != CTL_CODEC_BIN) {
			err = ctl_codec_get_uint(&r, &m->version);
		} else if (key == KEY_HASH) {
			err = get_fixed_bin(&r, m->hash, sizeof(m->hash));
			m->has_hash = true;
		} else {
			err = ctl_codec_skip(&r);
		}
	}
	if (!err)
		err = ctl_codec_reader_end(&r);
	if (!err && !room)
		err = -EBADMSG;
	if (err)
		memset(m, 0, sizeof(*m));
	return err ? -EBADMSG : 0;
}

int net_msg_blob_encode(struct ctl_codec_writer *w, const uint8_t *blob, size_t len)
{
	ctl_codec_put_map(w, 1);
	ctl_codec_put_uint(w, KEY_BLOB);
	ctl_codec_put_bin(w, blob, len);
	return ctl_codec_writer_error(w);
}

int net_msg_blob_decode(const uint8_t *buf, size_t len, const uint8_t **blob, size_t *blob_len)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map map;
	bool seen = false;
	uint64_t key;
	int err;

	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &map);
	while (!err && (err = ctl_codec_map_next(&r, &map, &key)) > 0) {
		if (key == KEY_BLOB) {
			err = ctl_codec_get_bin(&r, blob, blob_len);
			seen = true;
		} else {
			err = ctl_codec_skip(&r);
		}
	}
	if (!err)
		err = ctl_codec_reader_end(&r);
	if (!err && (!seen || *blob_len > NET_MSG_BLOB_MAX))
		err = -EBADMSG;
	return err ? -EBADMSG : 0;
}

int net_msg_grant_encode(struct ctl_codec_writer *w, const struct net_msg_grant *m)
{
	ctl_codec_put_map(w, 2);
	ctl_codec_put_uint(w, KEY_ROOM);
	ctl_codec_put_bin(w, m->room, sizeof(m->room));
	ctl_codec_put_uint(w, KEY_SECRET64);
	ctl_codec_put_bin(w, m->secret, sizeof(m->secret));
	return ctl_codec_writer_error(w);
}

int net_msg_grant_decode(const uint8_t *buf, size_t len, struct net_msg_grant *m)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map map;
	unsigned seen = 0;
	uint64_t key;
	int err;

	memset(m, 0, sizeof(*m));
	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &map);
	while (!err && (err = ctl_codec_map_next(&r, &map, &key)) > 0) {
		if (key == KEY_ROOM) {
			err = get_fixed_bin(&r, m->room, sizeof(m->room));
			seen |= 1;
		} else if (key == KEY_SECRET64) {
			err = get_fixed_bin(&r, m->secret, sizeof(m->secret));
			seen |= 2;
		} else {
			err = ctl_codec_skip(&r);
		}
	}
	if (!err)
		err = ctl_codec_reader_end(&r);
	if (!err && seen != 3)
		err = -EBADMSG;
	if (err)
		memset(m, 0, sizeof(*m));
	return err ? -EBADMSG : 0;
}

int net_msg_invite_encode(struct ctl_codec_writer *w, const struct net_msg_invite *m)
{
	size_t hlen = m->has_share ? strnlen(m->hostname, sizeof(m->hostname)) : 0;

	ctl_codec_put_map(w, 2 + (hlen ? 1 : 0) + (m->has_share ? 2 : 0) + (m->has_joiner ? 1 : 0));
	ctl_codec_put_uint(w, KEY_ROOM);
	ctl_codec_put_bin(w, m->room, sizeof(m->room));
	ctl_codec_put_uint(w, KEY_INVITE);
	ctl_codec_put_uint(w, m->id);
	if (hlen) {
		ctl_codec_put_uint(w, KEY_HOSTNAME);
		ctl_codec_put_str(w, m->hostname, hlen);
	}
	if (m->has_share) {
		ctl_codec_put_uint(w, KEY_SHARE_HASH);
		ctl_codec_put_bin(w, m->secret_hash, sizeof(m->secret_hash));
		ctl_codec_put_uint(w, KEY_EXPIRES);
		ctl_codec_put_uint(w, m->expires);
	}
	if (m->has_joiner) {
		ctl_codec_put_uint(w, KEY_JOINER);
		ctl_codec_put_bin(w, m->joiner, sizeof(m->joiner));
	}
	return ctl_codec_writer_error(w);
}

int net_msg_invite_decode(const uint8_t *buf, size_t len, struct net_msg_invite *m)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map map;
	unsigned seen = 0;
	uint64_t key, v;
	const char *s;
	size_t slen;
	int err;

	memset(m, 0, sizeof(*m));
	ctl_codec_reader_init(&r, buf, len, 0);
	err = ctl_codec_map_begin(&r, &map);
	while (!err && (err = ctl_codec_map_next(&r, &map, &key)) > 0) {
		switch (key) {
		case KEY_ROOM:
			err = get_fixed_bin(&r, m->room, sizeof(m->room));
			seen |= 1;
			break;
		case KEY_INVITE:
			err = ctl_codec_get_uint(&r, &v);
			if (!err && (v == 0 || v > UINT32_MAX))
				err = -EBADMSG;
			m->id = (uint32_t)v;
			seen |= 2;
			break;
		case KEY_HOSTNAME:
			err = ctl_codec_get_str(&r, &s, &slen);
			if (!err &&
			    (slen == 0 || slen > NET_MSG_HOSTNAME_MAX || memchr(s, 0, slen)))
				err = -EBADMSG;
			if (!err)
				memcpy(m->hostname, s, slen);
			seen |= 4;
			break;
		case KEY_SHARE_HASH:
			err = get_fixed_bin(&r, m->secret_hash, sizeof(m->secret_hash));
			seen |= 8;
			break;
		case KEY_EXPIRES:
			err = ctl_codec_get_uint(&r, &m->expires);
			seen |= 16;
			break;
		case KEY_JOINER:
			err = get_fixed_bin(&r, m->joiner, sizeof(m->joiner));
			m->has_joiner = true;
			break;
		default:
			err = ctl_codec_skip(&r);
		}
	}
	if (!err)
		err = ctl_codec_reader_end(&r);
	/* a share is the hash and the expiry together; a hostname belongs to one */
	if (!err && ((seen & 3) != 3 || (seen & 24) == 8 || (seen & 24) == 16 ||
		     ((seen & 4) && !(seen & 8))))
		err = -EBADMSG;
	m->has_share = (seen & 24) == 24;
	if (err)
		memset(m, 0, sizeof(*m));
	return err ? -EBADMSG : 0;
}
