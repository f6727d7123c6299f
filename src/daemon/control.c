/* Control requests from peers, dispatched by method. */
#include "control/messages.h"
#include "daemon/daemon.h"
#include "daemon/networks.h"
#include "session/session.h"

#include "control/codec.h"

#include <errno.h>
#include <sodium.h>

void daemon_on_request(void *arg, struct peer *p, uint32_t req_id, uint32_t method,
		       const uint8_t *body, size_t len)
{
	struct daemon *d = arg;
	struct ctl_msg_ping ping;

	if (networks_on_request(d, p, req_id, method, body, len))
		return;
	/* A stranger may only ask to join. */
	if (p->stranger) {
		session_respond(d->session, p, req_id, -EPERM, NULL, 0);
		return;
	}
	switch (method) {
	case CTL_MSG_PING:
		/* PONG echoes the body: the requester times it by its own clock. */
		if (ctl_msg_ping_decode(body, len, &ping) < 0) {
			session_respond(d->session, p, req_id, -EBADMSG, NULL, 0);
			return;
		}
		session_respond(d->session, p, req_id, 0, body, len);
		return;
	case CTL_MSG_ECHO: {
		uint8_t digest[CTL_ECHO_DIGEST_LEN], out[64];
		struct ctl_codec_writer w;
		const uint8_t *data;
		size_t data_len, out_len;

		if (ctl_msg_echo_request_decode(body, len, &data, &data_len) < 0) {
			session_respond(d->session, p, req_id, -EBADMSG, NULL, 0);
			return;
		}
		crypto_generichash(digest, sizeof(digest), data, data_len, NULL, 0);
		ctl_codec_writer_init(&w, out, sizeof(out));
		ctl_msg_echo_reply_encode(&w, data_len, digest);
		ctl_codec_writer_data(&w, &out_len);
		session_respond(d->session, p, req_id, 0, out, out_len);
		return;
	}
	default:
		session_respond(d->session, p, req_id, -ENOSYS, NULL, 0);
	}
}
