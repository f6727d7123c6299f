/* The codec reader over arbitrary bytes, in both modes, plus the decoders
 * built on it (PING/PONG, RPC envelopes). Properties checked: nothing reads
 * out of bounds (ASan), a failed read leaves the position alone, and a
 * value a canonical reader accepts re-encodes to the very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/codec.h"
#include "control/messages.h"
#include "path/endpoint.h"
#include "control/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ignore_send(void *user, uint64_t now, const uint8_t *msg, size_t len)
{
	(void)user;
	(void)now;
	(void)msg;
	(void)len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_codec_writer w;
	struct ctl_codec_reader r;
	struct ctl_codec_map m;
	struct ctl_msg_ping ping;
	struct ctl_rpc *rpc;
	const uint8_t *out;
	size_t pos, out_len;
	uint64_t key;
	int err, canon_ok;

	/* skip everything, both modes; position unchanged on error */
	ctl_codec_reader_init(&r, data, size, 0);
	for (;;) {
		pos = r.cr_pos;
		if (ctl_codec_skip(&r)) {
			if (r.cr_pos != pos)
				abort();
			break;
		}
	}
	ctl_codec_reader_init(&r, data, size, CTL_CODEC_CANONICAL);
	canon_ok = ctl_codec_skip(&r) == 0 && ctl_codec_reader_end(&r) == 0;

	/* canonical input re-encodes to itself */
	ctl_codec_reader_init(&r, data, size, CTL_CODEC_CANONICAL);
	ctl_codec_writer_init_dynamic(&w, size + 16);
	err = ctl_codec_copy(&r, &w);
	if (canon_ok) {
		if (err || ctl_codec_reader_end(&r))
			abort();
		out = ctl_codec_writer_data(&w, &out_len);
		if (out_len != size || memcmp(out, data, size))
			abort();
	}
	ctl_codec_writer_release(&w);

	/* a map walk with unknown keys skipped */
	ctl_codec_reader_init(&r, data, size, size & 1 ? CTL_CODEC_CANONICAL : 0);
	if (ctl_codec_map_begin(&r, &m) == 0)
		while (ctl_codec_map_next(&r, &m, &key) > 0 && ctl_codec_skip(&r) == 0)
			;

	ctl_msg_ping_decode(data, size, &ping);
	{
		struct endpoint eps[CTL_CANDIDATES_MAX];
		unsigned n = 0;

		/* a peer's CANDIDATES: what parses re-encodes and parses the same */
		if (ctl_msg_candidates_decode(data, size, eps, CTL_CANDIDATES_MAX, &n) == 0) {
			struct endpoint again[CTL_CANDIDATES_MAX];
			uint8_t buf[CTL_CANDIDATES_MAX * 20 + 16];
			unsigned n_again = 0;

			if (n > CTL_CANDIDATES_MAX)
				abort();
			ctl_codec_writer_init(&w, buf, sizeof(buf));
			if (ctl_msg_candidates_encode(&w, eps, n) != 0)
				abort();
			out = ctl_codec_writer_data(&w, &out_len);
			if (ctl_msg_candidates_decode(out, out_len, again, CTL_CANDIDATES_MAX,
						      &n_again) != 0 ||
			    n_again != n)
				abort();
			for (unsigned i = 0; i < n; i++) {
				if (!endpoint_equal(&eps[i], &again[i]))
					abort();
			}
		}
	}

	rpc = ctl_rpc_new(ignore_send, NULL, NULL);
	if (rpc) {
		ctl_rpc_input(rpc, 0, data, size);
		ctl_rpc_free(rpc);
	}
	return 0;
}
