/* kahu — fuzz target: the WebSocket frame decoder (src/kube/ws.c), which reads what an
 * API server (or anything on the way to it) sends on a pods/exec stream.
 *
 * The first byte chooses the role (client or server), the size of the pieces the rest
 * is fed in and a maximum message size; the rest is the stream.  Invariants: a decode
 * never takes more than it is given, it always makes progress or asks for more, a data
 * piece lies inside the fed bytes, a control payload is at most 125 bytes, a message is
 * never longer than the maximum, and the bytes skipped past the decoder (the client's
 * direct receive) keep it in step. */
#include "fuzz.h"

#include "kube/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	bool server = mode & 1;
	bool skip = (mode & 2) && !server;
	size_t step = ((mode >> 2) & 7) ? ((mode >> 2) & 7) * 3 - 2 : 0; /* 0: all at once */
	uint64_t max = (mode & 0x20) ? 300 : 0;
	size_t len = size - 1;
	uint8_t *buf = malloc(len ? len : 1);
	memcpy(buf, data + 1, len);

	struct ws_decoder d;
	ws_decoder_init(&d, server, max);
	uint64_t msg = 0;
	size_t off = 0;
	while (off < len) {
		size_t piece = step && step < len - off ? step : len - off;
		size_t p = 0;
		while (p < piece) {
			struct ws_event ev;
			size_t used;
			if (ws_decode(&d, buf + off + p, piece - p, &used, &ev) < 0)
				goto out;
			FUZZ_CHECK(used <= piece - p);
			if (ev.kind == WS_EV_DATA) {
				FUZZ_CHECK(ev.data >= buf + off + p);
				FUZZ_CHECK(ev.data + ev.len <= buf + off + p + used);
				FUZZ_CHECK(ev.opcode == WS_OP_TEXT || ev.opcode == WS_OP_BINARY);
				if (ev.msg_start)
					msg = 0;
				msg += ev.len;
				FUZZ_CHECK(!max || msg <= max);
			} else if (ev.kind != WS_EV_NONE) {
				FUZZ_CHECK(ev.len <= WS_CONTROL_MAX);
				FUZZ_CHECK(ev.data == d.ctl);
			}
			p += used;
			if (ev.kind == WS_EV_NONE) {
				FUZZ_CHECK(p == piece);
				break;
			}
			/* Part of a data frame's rest taken "directly", as exec.c does. */
			uint64_t left = ws_decoder_data_left(&d);
			if (skip && left && p < piece) {
				size_t n = left < piece - p ? (size_t)left : piece - p;
				n = (n + 1) / 2;
				ws_decoder_skip(&d, n);
				msg += n;
				p += n;
			}
		}
		off += piece;
	}
out:
	free(buf);
	return 0;
}
