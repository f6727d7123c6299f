#include "wg/messages.h"

#include <errno.h>
#include <string.h>

int wg_msg_type(const uint8_t *buf, size_t len)
{
	if (len < 4 || buf[1] != 0 || buf[2] != 0 || buf[3] != 0)
		return -EINVAL;
	switch (buf[0]) {
	case WG_MSG_INITIATION:
		return len == WG_MSG_INITIATION_LEN ? WG_MSG_INITIATION : -EINVAL;
	case WG_MSG_RESPONSE:
		return len == WG_MSG_RESPONSE_LEN ? WG_MSG_RESPONSE : -EINVAL;
	case WG_MSG_COOKIE_REPLY:
		return len == WG_MSG_COOKIE_REPLY_LEN ? WG_MSG_COOKIE_REPLY : -EINVAL;
	case WG_MSG_DATA:
		return len >= WG_DATA_MIN_LEN ? WG_MSG_DATA : -EINVAL;
	default:
		return -EINVAL;
	}
}

static void put_header(uint8_t *out, uint8_t type)
{
	out[0] = type;
	out[1] = 0;
	out[2] = 0;
	out[3] = 0;
}

void wg_msg_initiation_encode(const struct wg_msg_initiation *m, uint8_t out[WG_MSG_INITIATION_LEN])
{
	put_header(out, WG_MSG_INITIATION);
	wg_le32_put(out + WG_INIT_OFF_SENDER, m->sender);
	memcpy(out + WG_INIT_OFF_EPHEMERAL, m->ephemeral, sizeof(m->ephemeral));
	memcpy(out + WG_INIT_OFF_STATIC, m->encrypted_static, sizeof(m->encrypted_static));
	memcpy(out + WG_INIT_OFF_TIMESTAMP, m->encrypted_timestamp, sizeof(m->encrypted_timestamp));
	memset(out + WG_INIT_OFF_MAC1, 0, WG_MACS_LEN);
}

int wg_msg_initiation_decode(const uint8_t *buf, size_t len, struct wg_msg_initiation *m)
{
	if (wg_msg_type(buf, len) != WG_MSG_INITIATION)
		return -EINVAL;
	m->sender = wg_le32_get(buf + WG_INIT_OFF_SENDER);
	memcpy(m->ephemeral, buf + WG_INIT_OFF_EPHEMERAL, sizeof(m->ephemeral));
	memcpy(m->encrypted_static, buf + WG_INIT_OFF_STATIC, sizeof(m->encrypted_static));
	memcpy(m->encrypted_timestamp, buf + WG_INIT_OFF_TIMESTAMP, sizeof(m->encrypted_timestamp));
	return 0;
}

void wg_msg_response_encode(const struct wg_msg_response *m, uint8_t out[WG_MSG_RESPONSE_LEN])
{
	put_header(out, WG_MSG_RESPONSE);
	wg_le32_put(out + WG_RESP_OFF_SENDER, m->sender);
	wg_le32_put(out + WG_RESP_OFF_RECEIVER, m->receiver);
	memcpy(out + WG_RESP_OFF_EPHEMERAL, m->ephemeral, sizeof(m->ephemeral));
	memcpy(out + WG_RESP_OFF_EMPTY, m->encrypted_nothing, sizeof(m->encrypted_nothing));
	memset(out + WG_RESP_OFF_MAC1, 0, WG_MACS_LEN);
}

int wg_msg_response_decode(const uint8_t *buf, size_t len, struct wg_msg_response *m)
{
	if (wg_msg_type(buf, len) != WG_MSG_RESPONSE)
		return -EINVAL;
	m->sender = wg_le32_get(buf + WG_RESP_OFF_SENDER);
	m->receiver = wg_le32_get(buf + WG_RESP_OFF_RECEIVER);
	memcpy(m->ephemeral, buf + WG_RESP_OFF_EPHEMERAL, sizeof(m->ephemeral));
	memcpy(m->encrypted_nothing, buf + WG_RESP_OFF_EMPTY, sizeof(m->encrypted_nothing));
	return 0;
}

uint32_t wg_msg_receiver(const uint8_t *buf)
{
	if (buf[0] == WG_MSG_RESPONSE)
		return wg_le32_get(buf + WG_RESP_OFF_RECEIVER);
	return wg_le32_get(buf + 4);
}

uint32_t wg_msg_sender(const uint8_t *buf)
{
	return wg_le32_get(buf + 4);
}
