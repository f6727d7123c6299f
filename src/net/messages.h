/* Control messages about networks (DESIGN.md §7), carried like every other
 * control request (control/messages.h): a body is a canonical map with small
 * unsigned keys; readers skip keys they do not know.
 *
 *   CTL_MSG_JOIN (4)      joiner -> coordinator
 *       request  {1: room bin32, 2: invite id uint, 3: secret bin16,
 *                 4: hostname str}   (2 and 3 absent: join by room id)
 *       response {1: blob bin}: the roster with the joiner in it; or an
 *                error status (net/messages.h NET_JOIN_* meanings below)
 *   CTL_MSG_SYNC (5)      member -> member
 *       request  {1: room bin32, 2: version uint}: "the roster changed";
 *                only a trigger to re-read the signed network record
 *       response {} (empty)
 *   CTL_MSG_ADMIN_GRANT (9) coordinator -> member
 *       request  {1: room bin32, 5: network secret key bin64}: "you are a
 *                coordinator now" (inside the WireGuard session: encrypted
 *                end to end); accepted only from a coordinator on our
 *                roster, and only a key whose public half is the room
 *       response {} (empty)
 *   CTL_MSG_RENAME (8)    member -> coordinator
 *       request  a JOIN body without an invite: {1: room, 4: hostname}
 *       response {1: blob}: the roster with the member's new hostname
 *                (name-1, name-2 ... when the name is taken)
 *   CTL_MSG_LEAVE (7)     member -> coordinators
 *       request  {1: room bin32, 2: 0}: "take me off the roster"
 *       response {} (empty)
 *   CTL_MSG_BLOB_GET (6)  member -> member
 *       request  {1: room bin32, 2: hash bin32}
 *       response {1: blob bin} whose BLAKE2b-256 is the hash asked for; the
 *                asker checks it
 *
 * Invite gossip between coordinators (single-use invites live in each
 * coordinator's ledger, net/invite_ledger.h; reusable keys ride the roster).
 * All take struct net_msg_invite; the responses are empty unless said
 * otherwise, the status says what the receiver's ledger holds:
 *   CTL_MSG_INVITE_SHARE (10)
 *       request  {1: room bin32, 2: invite id uint, 4: bound hostname str
 *                (absent: none), 6: secret hash bin32, 7: expires uint}: an
 *                invite the sender minted (never its secret)
 *       status   0 stored (or known), -EEXIST the id belongs to another
 *                invite here (refused), -ENOSPC ledger full
 *   CTL_MSG_INVITE_USED (11)
 *       request  {1: room, 2: invite id, 8: joiner bin32}: "burned for
 *                JOINER"; the sender asks before it admits (see
 *                daemon/networks.c) and tells again after
 *       status   0 burned here too, -EALREADY used by another joiner (the
 *                body names it: {1: room, 2: invite id, 8: joiner}),
 *                -EKEYREVOKED revoked, -ENOENT unknown (share it first)
 *   CTL_MSG_INVITE_REVOKED (12)
 *       request  {1: room, 2: invite id}
 *       status   0 revoked here too, -EALREADY used, -ENOENT unknown
 *   CTL_MSG_INVITE_RESTORED (13)
 *       request  {1: room, 2: invite id, 8: joiner}: the admission of
 *                JOINER failed after all: open again
 *       status   0, or -EPERM when another joiner holds it
 *
 * A message naming a network is answered only for a sender on that
 * network's roster, except JOIN (daemon/networks.c enforces it); invite
 * gossip only for one that is a coordinator there.
 *
 * JOIN refusals (negative status): -ENOENT no such network or invite,
 * -ESTALE invite expired, -EALREADY invite used, -EKEYREVOKED invite revoked,
 * -EPERM wrong secret or not allowed, -EADDRINUSE the invite's hostname is
 * taken, -EINPROGRESS queued for a coordinator's approval (closed network,
 * no invite), -ENOSPC network full. */
#ifndef RAY_NET_MESSAGES_H
#define RAY_NET_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/codec.h"

enum net_msg_method {
	CTL_MSG_JOIN = 4,
	CTL_MSG_SYNC = 5,
	CTL_MSG_BLOB_GET = 6,
	CTL_MSG_LEAVE = 7,
	CTL_MSG_RENAME = 8,
	CTL_MSG_ADMIN_GRANT = 9,
	CTL_MSG_INVITE_SHARE = 10,
	CTL_MSG_INVITE_USED = 11,
	CTL_MSG_INVITE_REVOKED = 12,
	CTL_MSG_INVITE_RESTORED = 13,
};

#define NET_MSG_HOSTNAME_MAX 63
#define NET_MSG_SECRET_LEN   16
#define NET_MSG_BLOB_MAX     (256 * 1024)

struct net_msg_join {
	uint8_t room[32];
	bool has_invite;
	uint32_t invite_id;
	uint8_t secret[NET_MSG_SECRET_LEN];
	char hostname[NET_MSG_HOSTNAME_MAX + 1]; /* "" for none */
};

int net_msg_join_encode(struct ctl_codec_writer *w, const struct net_msg_join *m);
/* 0 or -EBADMSG (missing room, half an invite, bad lengths). */
int net_msg_join_decode(const uint8_t *buf, size_t len, struct net_msg_join *m);

/* SYNC, LEAVE and BLOB_GET: a room and a number or a hash. */
struct net_msg_room {
	uint8_t room[32];
	uint64_t version; /* SYNC */
	bool has_hash;	  /* BLOB_GET */
	uint8_t hash[32];
};

int net_msg_room_encode(struct ctl_codec_writer *w, const struct net_msg_room *m);
int net_msg_room_decode(const uint8_t *buf, size_t len, struct net_msg_room *m);

/* ADMIN_GRANT. */
struct net_msg_grant {
	uint8_t room[32];
	uint8_t secret[64];
};
int net_msg_grant_encode(struct ctl_codec_writer *w, const struct net_msg_grant *m);
int net_msg_grant_decode(const uint8_t *buf, size_t len, struct net_msg_grant *m);

/* Invite gossip. ID is never 0; HAS_SHARE: SECRET_HASH and EXPIRES (and the
 * optional HOSTNAME) are present; HAS_JOINER: JOINER is. */
struct net_msg_invite {
	uint8_t room[32];
	uint32_t id;
	bool has_share;
	uint8_t secret_hash[32];
	uint64_t expires;
	char hostname[NET_MSG_HOSTNAME_MAX + 1]; /* "" for none */
	bool has_joiner;
	uint8_t joiner[32];
};
int net_msg_invite_encode(struct ctl_codec_writer *w, const struct net_msg_invite *m);
/* 0 or -EBADMSG (no room or id, id 0, a hash without its expiry or the
 * reverse, a hostname without them, bad lengths). */
int net_msg_invite_decode(const uint8_t *buf, size_t len, struct net_msg_invite *m);

/* JOIN and BLOB_GET responses: {1: blob}. BLOB points into BUF. */
int net_msg_blob_encode(struct ctl_codec_writer *w, const uint8_t *blob, size_t len);
int net_msg_blob_decode(const uint8_t *buf, size_t len, const uint8_t **blob, size_t *blob_len);

#endif
