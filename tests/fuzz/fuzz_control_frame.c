/* Control frames from a hostile peer. The input is a list of records
 *
 *	op (1) | len (2, big-endian) | bytes (len)
 *
 * op bit 0: if the bytes are an ACK, stamp our real epoch in it so ACK
 *           processing is reached despite the random epoch
 * op bit 1: advance the clock by (op >> 2) * 50 ms and run the timers
 * op bit 2: also queue the bytes as an outgoing message first
 * Every frame is decoded (a decoded frame must re-encode to the same bytes)
 * and fed to one channel. Nothing may crash or leak; reassembly memory must
 * stay within its budget. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/frame.h"
#include "control/reliable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct harness {
	uint32_t epoch; /* ours, learnt from the first DATA we send */
};

static int capture_send(void *user, const uint8_t *frame, size_t len)
{
	struct harness *h = user;

	if (len >= CTL_FRAME_DATA_HDR && frame[1] == 0x11)
		h->epoch = (uint32_t)frame[2] << 24 | (uint32_t)frame[3] << 16 |
			   (uint32_t)frame[4] << 8 | frame[5];
	return 0;
}

static void ignore_deliver(void *user, uint64_t now, uint32_t id, const uint8_t *msg, size_t len)
{
	(void)user;
	(void)now;
	(void)id;
	(void)msg;
	(void)len;
}

static void check_round_trip(const uint8_t *buf, size_t len)
{
	struct ctl_frame_range *ranges;
	struct ctl_frame f;
	uint8_t *out;
	size_t i;
	int n;

	if (ctl_frame_decode(buf, len, &f))
		return;
	out = malloc(len);
	if (!out)
		return;
	if (f.f_type == CTL_FRAME_DATA) {
		n = ctl_frame_encode_data(out, len, &f.f_data);
	} else {
		ranges = calloc(f.f_ack.fa_nranges + 1, sizeof(*ranges));
		if (!ranges) {
			free(out);
			return;
		}
		for (i = 0; i < f.f_ack.fa_nranges; i++)
			ctl_frame_ack_range(&f.f_ack, i, &ranges[i]);
		n = ctl_frame_encode_ack(out, len, f.f_ack.fa_epoch, f.f_ack.fa_cum,
					 f.f_ack.fa_echo, ranges, f.f_ack.fa_nranges);
		free(ranges);
	}
	if (n < 0 || (size_t)n != len || memcmp(out, buf, len))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_channel_config cfg;
	struct ctl_channel_stats st;
	struct harness h = {0};
	struct ctl_channel *ch;
	uint64_t now = 1000000000ull;
	uint8_t frame[1420];
	size_t len;
	uint8_t op;

	ctl_channel_config_default(&cfg);
	/* small budgets so the limits are actually hit */
	cfg.cc_rx_budget = 64 * 1024;
	cfg.cc_rx_max_msgs = 8;
	cfg.cc_tx_budget = 256 * 1024;
	ch = ctl_channel_new(&cfg, capture_send, ignore_deliver, &h);
	if (!ch)
		return 0;
	while (size >= 3) {
		op = data[0];
		len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (len > sizeof(frame))
			len = sizeof(frame);
		memcpy(frame, data, len);
		data += len;
		size -= len;
		if (op & 4)
			ctl_channel_send(ch, now, frame, len, NULL);
		if ((op & 1) && len >= CTL_FRAME_ACK_HDR && frame[1] == 0x12 && h.epoch) {
			frame[2] = (uint8_t)(h.epoch >> 24);
			frame[3] = (uint8_t)(h.epoch >> 16);
			frame[4] = (uint8_t)(h.epoch >> 8);
			frame[5] = (uint8_t)h.epoch;
		}
		check_round_trip(frame, len);
		ctl_channel_receive(ch, now, frame, len);
		if (op & 2) {
			now += (uint64_t)(op >> 2) * 50000000ull;
			ctl_channel_poll(ch, now);
		}
		ctl_channel_stats(ch, &st);
		if (st.cs_rx_bytes > cfg.cc_rx_budget || st.cs_rx_msgs > cfg.cc_rx_max_msgs ||
		    st.cs_tx_bytes > cfg.cc_tx_budget || st.cs_in_flight > cfg.cc_window)
			abort();
	}
	/* and everything times out in the end */
	ctl_channel_poll(ch, now + 3600000000000ull);
	ctl_channel_poll(ch, now + 7200000000000ull);
	ctl_channel_stats(ch, &st);
	if (st.cs_tx_msgs || st.cs_rx_msgs || st.cs_in_flight)
		abort();
	ctl_channel_free(ch);
	return 0;
}
