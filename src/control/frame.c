#include "control/frame.h"

#include <errno.h>
#include <string.h>

#define TYPE_BYTE(t) ((uint8_t)(CTL_FRAME_VERSION << 4 | (t)))

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint32_t ctl_frame_frag_count(uint32_t total, size_t max_frame)
{
	uint64_t payload, count;

	if (max_frame <= CTL_FRAME_DATA_HDR)
		return 0;
	if (total == 0)
		return 1;
	payload = max_frame - CTL_FRAME_DATA_HDR;
	count = ((uint64_t)total + payload - 1) / payload;
	return count > CTL_FRAME_MAX_FRAGS ? 0 : (uint32_t)count;
}

int ctl_frame_frag_span(uint32_t total, uint32_t count, uint32_t index, uint32_t *off,
			uint32_t *len)
{
	uint64_t size;

	if (count == 0 || count > CTL_FRAME_MAX_FRAGS || index >= count)
		return -EBADMSG;
	if (total == 0) {
		if (count != 1)
			return -EBADMSG;
		*off = 0;
		*len = 0;
		return 0;
	}
	size = ((uint64_t)total + count - 1) / count;
	/* The last fragment must hold at least one byte. */
	if (size * (count - 1) >= total)
		return -EBADMSG;
	*off = (uint32_t)(size * index);
	*len = index + 1 < count ? (uint32_t)size : (uint32_t)(total - size * (count - 1));
	return 0;
}

static int decode_data(const uint8_t *buf, size_t len, struct ctl_frame_data *d)
{
	uint32_t off, span;

	if (len < CTL_FRAME_DATA_HDR)
		return -EBADMSG;
	d->fd_epoch = get32(buf + 2);
	d->fd_base = get32(buf + 6);
	d->fd_seq = get32(buf + 10);
	d->fd_msg_id = get32(buf + 14);
	d->fd_total_len = get32(buf + 18);
	d->fd_index = get16(buf + 22);
	d->fd_count = get16(buf + 24);
	d->fd_payload = buf + CTL_FRAME_DATA_HDR;
	d->fd_payload_len = len - CTL_FRAME_DATA_HDR;
	if (d->fd_epoch == 0)
		return -EBADMSG;
	if (ctl_frame_frag_span(d->fd_total_len, d->fd_count, d->fd_index, &off, &span))
		return -EBADMSG;
	if (d->fd_payload_len != span)
		return -EBADMSG;
	return 0;
}

static int decode_ack(const uint8_t *buf, size_t len, struct ctl_frame_ack *a)
{
	struct ctl_frame_range r;
	size_t i;

	if (len < CTL_FRAME_ACK_HDR)
		return -EBADMSG;
	a->fa_epoch = get32(buf + 2);
	a->fa_cum = get32(buf + 6);
	a->fa_echo = get32(buf + 10);
	a->fa_nranges = get16(buf + 14);
	a->fa_ranges = buf + CTL_FRAME_ACK_HDR;
	if (a->fa_epoch == 0 || len - CTL_FRAME_ACK_HDR != a->fa_nranges * CTL_FRAME_RANGE_LEN)
		return -EBADMSG;
	for (i = 0; i < a->fa_nranges; i++) {
		ctl_frame_ack_range(a, i, &r);
		if (r.fr_lo > r.fr_hi)
			return -EBADMSG;
	}
	return 0;
}

int ctl_frame_decode(const uint8_t *buf, size_t len, struct ctl_frame *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	if (len < 2 || buf[0] != CTL_FRAME_MARKER)
		return -EBADMSG;
	if (buf[1] >> 4 != CTL_FRAME_VERSION)
		return -EPROTONOSUPPORT;
	switch (buf[1] & 0x0f) {
	case CTL_FRAME_DATA:
		err = decode_data(buf, len, &f->f_data);
		break;
	case CTL_FRAME_ACK:
		err = decode_ack(buf, len, &f->f_ack);
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (err) {
		memset(f, 0, sizeof(*f));
		return err;
	}
	f->f_type = buf[1] & 0x0f;
	return 0;
}

void ctl_frame_ack_range(const struct ctl_frame_ack *a, size_t i, struct ctl_frame_range *r)
{
	const uint8_t *p = a->fa_ranges + i * CTL_FRAME_RANGE_LEN;

	r->fr_msg_id = get32(p);
	r->fr_lo = get16(p + 4);
	r->fr_hi = get16(p + 6);
}

int ctl_frame_encode_data(uint8_t *buf, size_t cap, const struct ctl_frame_data *d)
{
	uint32_t off, span;

	if (d->fd_epoch == 0 ||
	    ctl_frame_frag_span(d->fd_total_len, d->fd_count, d->fd_index, &off, &span) ||
	    span != d->fd_payload_len)
		return -EINVAL;
	if (cap < CTL_FRAME_DATA_HDR || d->fd_payload_len > cap - CTL_FRAME_DATA_HDR)
		return -EMSGSIZE;
	buf[0] = CTL_FRAME_MARKER;
	buf[1] = TYPE_BYTE(CTL_FRAME_DATA);
	put32(buf + 2, d->fd_epoch);
	put32(buf + 6, d->fd_base);
	put32(buf + 10, d->fd_seq);
	put32(buf + 14, d->fd_msg_id);
	put32(buf + 18, d->fd_total_len);
	put16(buf + 22, d->fd_index);
	put16(buf + 24, d->fd_count);
	if (d->fd_payload_len)
		memcpy(buf + CTL_FRAME_DATA_HDR, d->fd_payload, d->fd_payload_len);
	return (int)(CTL_FRAME_DATA_HDR + d->fd_payload_len);
}

int ctl_frame_encode_ack(uint8_t *buf, size_t cap, uint32_t epoch, uint32_t cum, uint32_t echo,
			 const struct ctl_frame_range *ranges, size_t nranges)
{
	uint8_t *p;
	size_t i;

	if (epoch == 0)
		return -EINVAL;
	for (i = 0; i < nranges; i++)
		if (ranges[i].fr_lo > ranges[i].fr_hi)
			return -EINVAL;
	if (cap < CTL_FRAME_ACK_HDR || nranges > ctl_frame_ack_capacity(cap))
		return -EMSGSIZE;
	buf[0] = CTL_FRAME_MARKER;
	buf[1] = TYPE_BYTE(CTL_FRAME_ACK);
	put32(buf + 2, epoch);
	put32(buf + 6, cum);
	put32(buf + 10, echo);
	put16(buf + 14, (uint16_t)nranges);
	p = buf + CTL_FRAME_ACK_HDR;
	for (i = 0; i < nranges; i++, p += CTL_FRAME_RANGE_LEN) {
		put32(p, ranges[i].fr_msg_id);
		put16(p + 4, ranges[i].fr_lo);
		put16(p + 6, ranges[i].fr_hi);
	}
	return (int)(p - buf);
}

size_t ctl_frame_ack_capacity(size_t max_frame)
{
	size_t n;

	if (max_frame < CTL_FRAME_ACK_HDR)
		return 0;
	n = (max_frame - CTL_FRAME_ACK_HDR) / CTL_FRAME_RANGE_LEN;
	return n > UINT16_MAX ? UINT16_MAX : n;
}
