/* Control requests from peers, dispatched by method. */
#include "control/messages.h"
#include "daemon/daemon.h"
#include "session/session.h"

#include <errno.h>

void daemon_on_request(void *arg, struct peer *p, uint32_t req_id, uint32_t method,
		       const uint8_t *body, size_t len)
{
	struct daemon *d = arg;
	struct ctl_msg_ping ping;

	switch (method) {
	case CTL_MSG_PING:
		/* PONG echoes the body: the requester times it by its own clock. */
		if (ctl_msg_ping_decode(body, len, &ping) < 0) {
			session_respond(d->session, p, req_id, -EBADMSG, NULL, 0);
			return;
		}
		session_respond(d->session, p, req_id, 0, body, len);
		return;
	default:
		session_respond(d->session, p, req_id, -ENOSYS, NULL, 0);
	}
}
