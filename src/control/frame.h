/* Control frames: the plaintext of a WireGuard transport packet whose first
 * byte is 0x01 (IP packets start with version nibble 4 or 6). All integers
 * are big-endian. Byte 1 holds the frame version (high nibble, 1) and type
 * (low nibble); a frame with another version is rejected, so a later format
 * can be introduced under a new version.
 *
 * DATA (0x11): one fragment of a message, 26-byte header.
 *
 *    0      1      2        6        10       14       18          22      24      26
 *   +------+------+--------+--------+--------+--------+-----------+-------+-------+---------
 *   | 0x01 | 0x11 | epoch  |  base  |  seq   | msg_id | total_len | index | count | payload
 *   +------+------+--------+--------+--------+--------+-----------+-------+-------+---------
 *
 *   epoch     random non-zero id of the sending channel instance; a new
 *             epoch tells the receiver the sender restarted
 *   base      lowest message id the sender still has unacknowledged: every id
 *             before it is done, so the receiver may forget them
 *   seq       transmission number, new for every frame sent, resends
 *             included; echoed in ACKs for RTT samples and loss detection
 *   msg_id    message id (serial number arithmetic, wraps)
 *   total_len whole message length in bytes
 *   index     fragment index, < count
 *   count     fragments in the message, 1..65535
 *
 *   A message is cut into COUNT fragments of equal size S = ceil(total_len /
 *   count), the last one holding the rest (total_len - S * (count - 1), at
 *   least 1 byte); an empty message is one empty fragment. So a fragment's
 *   offset and length follow from its header alone, whatever MTU the sender
 *   used, and a payload of any other length is rejected.
 *
 * ACK (0x12): 16-byte header followed by exactly nranges 8-byte ranges.
 *
 *    0      1      2        6        10       14        16        24
 *   +------+------+--------+--------+--------+---------+---------+---------+-----
 *   | 0x01 | 0x12 | epoch  |  cum   |  echo  | nranges | range 0 | range 1 | ...
 *   +------+------+--------+--------+--------+---------+---------+---------+-----
 *   range:  msg_id (4) | lo (2) | hi (2)
 *
 *   epoch     the epoch of the DATA stream being acknowledged
 *   cum       every message id up to and including cum is fully received
 *   echo      highest DATA seq received (serial arithmetic)
 *   nranges   number of ranges that follow (so a cut frame is detected)
 *   range     fragments lo..hi (inclusive, lo <= hi) of msg_id are received;
 *             hi = 0xffff means "to the last fragment", so (id, 0, 0xffff)
 *             acknowledges the whole message
 */
#ifndef RAY_CONTROL_FRAME_H
#define RAY_CONTROL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define CTL_FRAME_MARKER    0x01
#define CTL_FRAME_VERSION   1
#define CTL_FRAME_DATA	    0x1
#define CTL_FRAME_ACK	    0x2
#define CTL_FRAME_DATA_HDR  26
#define CTL_FRAME_ACK_HDR   16
#define CTL_FRAME_RANGE_LEN 8
#define CTL_FRAME_MAX_FRAGS 65535
#define CTL_FRAME_ACK_ALL   0xffff /* range hi: through the last fragment */

struct ctl_frame_data {
	uint32_t fd_epoch;
	uint32_t fd_base;
	uint32_t fd_seq;
	uint32_t fd_msg_id;
	uint32_t fd_total_len;
	uint16_t fd_index;
	uint16_t fd_count;
	const uint8_t *fd_payload; /* decode: points into the frame */
	size_t fd_payload_len;
};

struct ctl_frame_range {
	uint32_t fr_msg_id;
	uint16_t fr_lo;
	uint16_t fr_hi;
};

struct ctl_frame_ack {
	uint32_t fa_epoch;
	uint32_t fa_cum;
	uint32_t fa_echo;
	size_t fa_nranges;
	const uint8_t *fa_ranges; /* raw; read with ctl_frame_ack_range() */
};

struct ctl_frame {
	uint8_t f_type; /* CTL_FRAME_DATA or CTL_FRAME_ACK */
	union {
		struct ctl_frame_data f_data;
		struct ctl_frame_ack f_ack;
	};
};

/* Parse and fully validate a frame; on success F points into BUF. Returns 0,
 * -EBADMSG (wrong marker, truncated, inconsistent fields) or -EPROTONOSUPPORT
 * (unknown version or type). */
int ctl_frame_decode(const uint8_t *buf, size_t len, struct ctl_frame *f);

/* Range I (< fa_nranges) of a decoded ACK. */
void ctl_frame_ack_range(const struct ctl_frame_ack *a, size_t i, struct ctl_frame_range *r);

/* Fragments needed to send TOTAL bytes in frames of at most MAX_FRAME bytes;
 * 0 when it would take more than CTL_FRAME_MAX_FRAGS or MAX_FRAME is too
 * small to carry a payload byte. */
uint32_t ctl_frame_frag_count(uint32_t total, size_t max_frame);

/* Offset and length of fragment INDEX of a TOTAL-byte message cut into COUNT
 * fragments. Returns 0, or -EBADMSG when the three do not fit together. */
int ctl_frame_frag_span(uint32_t total, uint32_t count, uint32_t index, uint32_t *off,
			uint32_t *len);

/* Encode into BUF (CAP bytes). D's payload must be fragment fd_index's exact
 * span. Return the frame length, or -EMSGSIZE / -EINVAL. */
int ctl_frame_encode_data(uint8_t *buf, size_t cap, const struct ctl_frame_data *d);
int ctl_frame_encode_ack(uint8_t *buf, size_t cap, uint32_t epoch, uint32_t cum, uint32_t echo,
			 const struct ctl_frame_range *ranges, size_t nranges);

/* How many ranges fit in an ACK of at most MAX_FRAME bytes. */
size_t ctl_frame_ack_capacity(size_t max_frame);

#endif
