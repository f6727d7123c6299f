#include "control/rpc.h"

#include "control/codec.h"
#include "control/messages.h"
#include "control/reliable.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	bool used;
	uint32_t id;
	uint64_t deadline;
	ctl_rpc_response_fn cb;
	void *arg;
};

struct ctl_rpc {
	ctl_rpc_send_fn send;
	ctl_rpc_request_fn handler;
	void *user;
	uint32_t next_id;
	struct pending pending[CTL_RPC_MAX_PENDING];
};

/* A decoded envelope; body points into the message. */
struct envelope {
	uint64_t kind;
	uint64_t id;
	uint64_t method;
	int64_t status;
	const uint8_t *body;
	size_t body_len;
};

struct ctl_rpc *ctl_rpc_new(ctl_rpc_send_fn send, ctl_rpc_request_fn handler, void *user)
{
	struct ctl_rpc *rpc;

	if (!send || sodium_init() < 0)
		return NULL;
	rpc = calloc(1, sizeof(*rpc));
	if (!rpc)
		return NULL;
	rpc->send = send;
	rpc->handler = handler;
	rpc->user = user;
	randombytes_buf(&rpc->next_id, sizeof(rpc->next_id));
	return rpc;
}

void ctl_rpc_fail_all(struct ctl_rpc *rpc, uint64_t now, int status)
{
	struct pending p;
	unsigned i;

	for (i = 0; i < CTL_RPC_MAX_PENDING; i++) {
		if (!rpc->pending[i].used)
			continue;
		p = rpc->pending[i];
		rpc->pending[i].used = false;
		p.cb(p.arg, now, p.id, status, NULL, 0);
	}
}

void ctl_rpc_free(struct ctl_rpc *rpc)
{
	if (!rpc)
		return;
	ctl_rpc_fail_all(rpc, 0, -ECANCELED);
	free(rpc);
}

static struct pending *find(struct ctl_rpc *rpc, uint32_t id)
{
	unsigned i;

	for (i = 0; i < CTL_RPC_MAX_PENDING; i++)
		if (rpc->pending[i].used && rpc->pending[i].id == id)
			return &rpc->pending[i];
	return NULL;
}

/* Encode an envelope (keys ascending, absent ones skipped) and send it. */
static int send_envelope(struct ctl_rpc *rpc, uint64_t now, const struct envelope *e)
{
	struct ctl_codec_writer w;
	bool request = e->kind == CTL_ENV_REQUEST;
	const uint8_t *msg;
	size_t len;
	int err;

	ctl_codec_writer_init_dynamic(&w, CTL_CHANNEL_MAX_MSG);
	ctl_codec_put_map(&w, e->body_len ? 4 : 3);
	ctl_codec_put_uint(&w, CTL_ENV_KEY_KIND);
	ctl_codec_put_uint(&w, e->kind);
	ctl_codec_put_uint(&w, CTL_ENV_KEY_ID);
	ctl_codec_put_uint(&w, e->id);
	if (request) {
		ctl_codec_put_uint(&w, CTL_ENV_KEY_METHOD);
		ctl_codec_put_uint(&w, e->method);
	} else {
		ctl_codec_put_uint(&w, CTL_ENV_KEY_STATUS);
		ctl_codec_put_int(&w, e->status);
	}
	if (e->body_len) {
		ctl_codec_put_uint(&w, CTL_ENV_KEY_BODY);
		ctl_codec_put_bin(&w, e->body, e->body_len);
	}
	err = ctl_codec_writer_error(&w);
	if (err)
		goto out;
	msg = ctl_codec_writer_data(&w, &len);
	err = rpc->send(rpc->user, now, msg, len);
out:
	ctl_codec_writer_release(&w);
	return err;
}

int ctl_rpc_request(struct ctl_rpc *rpc, uint64_t now, uint32_t method, const uint8_t *body,
		    size_t len, uint64_t timeout, ctl_rpc_response_fn cb, void *arg,
		    uint32_t *req_id)
{
	struct envelope e = {
		.kind = CTL_ENV_REQUEST, .method = method, .body = body, .body_len = len};
	struct pending *slot = NULL;
	unsigned i;
	int err;

	for (i = 0; i < CTL_RPC_MAX_PENDING && !slot; i++)
		if (!rpc->pending[i].used)
			slot = &rpc->pending[i];
	if (!slot)
		return -ENOBUFS;
	/* Ids are never 0 and never reused while pending. */
	do
		e.id = ++rpc->next_id;
	while (e.id == 0 || find(rpc, (uint32_t)e.id));
	/* Take the slot before sending: a loopback pipe may answer at once. */
	slot->used = true;
	slot->id = (uint32_t)e.id;
	slot->deadline = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
	slot->cb = cb;
	slot->arg = arg;
	if (req_id)
		*req_id = slot->id;
	err = send_envelope(rpc, now, &e);
	if (err && slot->used && slot->id == e.id)
		slot->used = false;
	return err;
}

int ctl_rpc_cancel(struct ctl_rpc *rpc, uint32_t req_id)
{
	struct pending *p = find(rpc, req_id);

	if (!p)
		return -ENOENT;
	p->used = false;
	return 0;
}

int ctl_rpc_respond(struct ctl_rpc *rpc, uint64_t now, uint32_t req_id, int32_t status,
		    const uint8_t *body, size_t len)
{
	struct envelope e = {.kind = CTL_ENV_RESPONSE,
			     .id = req_id,
			     .status = status,
			     .body = body,
			     .body_len = len};

	return send_envelope(rpc, now, &e);
}

static int parse_envelope(const uint8_t *msg, size_t len, struct envelope *e)
{
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	unsigned seen = 0;
	uint64_t key;
	int err;

	memset(e, 0, sizeof(*e));
	ctl_codec_reader_init(&r, msg, len, 0);
	err = ctl_codec_map_begin(&r, &m);
	if (err)
		goto out;
	while ((err = ctl_codec_map_next(&r, &m, &key)) > 0) {
		switch (key) {
		case CTL_ENV_KEY_KIND:
			err = ctl_codec_get_uint(&r, &e->kind);
			break;
		case CTL_ENV_KEY_ID:
			err = ctl_codec_get_uint(&r, &e->id);
			break;
		case CTL_ENV_KEY_METHOD:
			err = ctl_codec_get_uint(&r, &e->method);
			break;
		case CTL_ENV_KEY_STATUS:
			err = ctl_codec_get_int(&r, &e->status);
			break;
		case CTL_ENV_KEY_BODY:
			err = ctl_codec_get_bin(&r, &e->body, &e->body_len);
			break;
		default:
			err = ctl_codec_skip(&r);
			break;
		}
		if (err)
			goto out;
		if (key < 32)
			seen |= 1u << key;
	}
	if (err)
		goto out;
	err = ctl_codec_reader_end(&r);
	if (err)
		goto out;
	if (!(seen & 1u << CTL_ENV_KEY_KIND) || !(seen & 1u << CTL_ENV_KEY_ID) ||
	    e->id > UINT32_MAX)
		err = -EBADMSG;
	else if (e->kind == CTL_ENV_REQUEST &&
		 (!(seen & 1u << CTL_ENV_KEY_METHOD) || e->method > UINT32_MAX))
		err = -EBADMSG;
	else if (e->kind == CTL_ENV_RESPONSE && (!(seen & 1u << CTL_ENV_KEY_STATUS) ||
						 e->status < INT32_MIN || e->status > INT32_MAX))
		err = -EBADMSG;
out:
	return err < 0 ? -EBADMSG : 0;
}

int ctl_rpc_input(struct ctl_rpc *rpc, uint64_t now, const uint8_t *msg, size_t len)
{
	struct pending *slot, p;
	struct envelope e;
	int err;

	err = parse_envelope(msg, len, &e);
	if (err)
		return err;
	switch (e.kind) {
	case CTL_ENV_REQUEST:
		if (rpc->handler)
			rpc->handler(rpc->user, rpc, now, (uint32_t)e.id, (uint32_t)e.method,
				     e.body, e.body_len);
		else
			ctl_rpc_respond(rpc, now, (uint32_t)e.id, -ENOSYS, NULL, 0);
		break;
	case CTL_ENV_RESPONSE:
		slot = find(rpc, (uint32_t)e.id);
		if (!slot)
			break;
		/* Free the slot first: the callback may send a new request. */
		p = *slot;
		slot->used = false;
		p.cb(p.arg, now, p.id, (int)e.status, e.body, e.body_len);
		break;
	default:
		/* A kind from a later version: not for us. */
		break;
	}
	return 0;
}

uint64_t ctl_rpc_poll(struct ctl_rpc *rpc, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct pending p;
	unsigned i;

	for (i = 0; i < CTL_RPC_MAX_PENDING; i++) {
		if (!rpc->pending[i].used || now < rpc->pending[i].deadline)
			continue;
		p = rpc->pending[i];
		rpc->pending[i].used = false;
		p.cb(p.arg, now, p.id, -ETIMEDOUT, NULL, 0);
	}
	for (i = 0; i < CTL_RPC_MAX_PENDING; i++)
		if (rpc->pending[i].used && rpc->pending[i].deadline < next)
			next = rpc->pending[i].deadline;
	return next;
}
