/* Unit tests for the WebSocket framing (src/kube/ws.c). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube/ws.h"
#include "util/buf.h"
#include "util/err.h"

/* What a decode of a whole stream produced: data messages joined with '|' after
 * their opcode ("B:" or "T:"), control frames as "<ping:..>", "<pong:..>",
 * "<close:CODE:reason>". */
struct seen {
	struct kbuf out;
	int rc;          /* the error, 0 when none */
	size_t events;
};

static void note(struct seen *s, const struct ws_event *ev)
{
	s->events++;
	switch (ev->kind) {
	case WS_EV_DATA:
		if (ev->msg_start)
			kbuf_adds(&s->out, ev->opcode == WS_OP_TEXT ? "T:" : "B:");
		kbuf_add(&s->out, ev->data, ev->len);
		if (ev->msg_end)
			kbuf_addc(&s->out, '|');
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		kbuf_addf(&s->out, "<%s:%.*s>", ev->kind == WS_EV_PING ? "ping" : "pong",
			  (int)ev->len, (const char *)ev->data);
		break;
	case WS_EV_CLOSE:
		kbuf_addf(&s->out, "<close:%u:%.*s>", ev->close_code, (int)ev->reason_len,
			  (const char *)ev->reason);
		break;
	default:
		break;
	}
}

/* Feeds `in` in pieces of `step` bytes (0: all at once) to a decoder. */
static struct seen decode_all(const void *in, size_t len, size_t step, bool server,
			      uint64_t max)
{
	struct seen s = { KBUF_INIT, 0, 0 };
	struct ws_decoder d;
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, in, len);
	ws_decoder_init(&d, server, max);
	size_t off = 0;
	while (off < len) {
		size_t piece = step && step < len - off ? step : len - off;
		size_t p = 0;
		while (p < piece) {
			struct ws_event ev;
			size_t used;
			int rc = ws_decode(&d, copy + off + p, piece - p, &used, &ev);
			if (rc < 0) {
				s.rc = rc;
				free(copy);
				return s;
			}
			ck_assert_uint_le(used, piece - p);
			p += used;
			if (ev.kind == WS_EV_NONE) {
				ck_assert_uint_eq(p, piece); /* NONE only when all was taken */
				break;
			}
			note(&s, &ev);
		}
		off += piece;
	}
	free(copy);
	return s;
}

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
}

/* ---- RFC 6455 §5.7, byte for byte --------------------------------------------------- */

static const uint8_t key_5_7[4] = { 0x37, 0xfa, 0x21, 0x3d };

START_TEST(test_rfc_unmasked_text)
{
	static const uint8_t want[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	uint8_t out[32];
	size_t h = ws_frame_header(out, WS_OP_TEXT, true, 5, NULL);
	memcpy(out + h, "Hello", 5);
	ck_assert_uint_eq(h + 5, sizeof want);
	ck_assert_mem_eq(out, want, sizeof want);
	struct seen s = decode_all(want, sizeof want, 0, false, 0);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_str_eq(kbuf_str(&s.out), "T:Hello|");
	kbuf_free(&s.out);
}
END_TEST

START_TEST(test_rfc_masked_text)
{
	static const uint8_t want[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
					0x9f, 0x4d, 0x51, 0x58 };
	uint8_t out[32];
	size_t h = ws_frame_header(out, WS_OP_TEXT, true, 5, key_5_7);
	memcpy(out + h, "Hello", 5);
	ws_mask(out + h, 5, key_5_7, 0);
	ck_assert_uint_eq(h + 5, sizeof want);
	ck_assert_mem_eq(out, want, sizeof want);
	/* A server reads it; a client refuses a masked frame. */
	struct seen s = decode_all(want, sizeof want, 0, true, 0);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_str_eq(kbuf_str(&s.out), "T:Hello|");
	kbuf_free(&s.out);
	s = decode_all(want, sizeof want, 0, false, 0);
	ck_assert_int_eq(s.rc, KAHU_EPROTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "masked"));
	kbuf_free(&s.out);
}
END_TEST

START_TEST(test_rfc_fragmented)
{
	static const uint8_t want[] = { 0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f };
	uint8_t out[32];
	size_t n = ws_frame_header(out, WS_OP_TEXT, false, 3, NULL);
	memcpy(out + n, "Hel", 3);
	n += 3;
	size_t h = ws_frame_header(out + n, WS_OP_CONT, true, 2, NULL);
	memcpy(out + n + h, "lo", 2);
	n += h + 2;
	ck_assert_uint_eq(n, sizeof want);
	ck_assert_mem_eq(out, want, sizeof want);
	struct seen s = decode_all(want, sizeof want, 0, false, 0);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_str_eq(kbuf_str(&s.out), "T:Hello|");
	kbuf_free(&s.out);
}
END_TEST

START_TEST(test_rfc_ping_pong)
{
	static const uint8_t ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	static const uint8_t pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
					0x9f, 0x4d, 0x51, 0x58 };
	uint8_t out[32];
	size_t h = ws_frame_header(out, WS_OP_PING, true, 5, NULL);
	memcpy(out + h, "Hello", 5);
	ck_assert_mem_eq(out, ping, sizeof ping);
	h = ws_frame_header(out, WS_OP_PONG, true, 5, key_5_7);
	memcpy(out + h, "Hello", 5);
	ws_mask(out + h, 5, key_5_7, 0);
	ck_assert_mem_eq(out, pong, sizeof pong);
	struct seen s = decode_all(ping, sizeof ping, 0, false, 0);
	ck_assert_str_eq(kbuf_str(&s.out), "<ping:Hello>");
	kbuf_free(&s.out);
	s = decode_all(pong, sizeof pong, 0, true, 0);
	ck_assert_str_eq(kbuf_str(&s.out), "<pong:Hello>");
	kbuf_free(&s.out);
}
END_TEST

START_TEST(test_rfc_lengths_256_64k)
{
	static const uint8_t h256[] = { 0x82, 0x7e, 0x01, 0x00 };
	static const uint8_t h64k[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 };
	uint8_t out[WS_HEADER_MAX];
	ck_assert_uint_eq(ws_frame_header(out, WS_OP_BINARY, true, 256, NULL), sizeof h256);
	ck_assert_mem_eq(out, h256, sizeof h256);
	ck_assert_uint_eq(ws_frame_header(out, WS_OP_BINARY, true, 65536, NULL), sizeof h64k);
	ck_assert_mem_eq(out, h64k, sizeof h64k);
}
END_TEST

/* ---- every length boundary, both roles, whole and byte by byte --------------------- */

START_TEST(test_length_boundaries)
{
	static const size_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 70000 };
	static const size_t hdr_len[] = { 2, 2, 2, 4, 4, 4, 10, 10 };
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		size_t len = lens[i];
		uint8_t *payload = malloc(len + 1);
		for (size_t j = 0; j < len; j++)
			payload[j] = (uint8_t)(j * 7 + 3);
		uint8_t *frame = malloc(len + WS_HEADER_MAX);
		for (int masked = 0; masked <= 1; masked++) {
			size_t n;
			if (masked) {
				n = ws_client_frame(frame, WS_OP_BINARY, true, payload, len);
				ck_assert_uint_eq(n, len + hdr_len[i] + 4);
				ck_assert(frame[1] & 0x80);
			} else {
				size_t h = ws_frame_header(frame, WS_OP_BINARY, true, len, NULL);
				ck_assert_uint_eq(h, hdr_len[i]);
				memcpy(frame + h, payload, len);
				n = h + len;
			}
			size_t steps[] = { 0, 1, 3, 4096 };
			for (size_t k = 0; k < 4; k++) {
				if (steps[k] == 1 && len > 70000)
					continue;
				struct seen s = decode_all(frame, n, steps[k], masked, 0);
				ck_assert_int_eq(s.rc, 0);
				ck_assert_uint_eq(s.out.len, 2 + len + 1);
				ck_assert_mem_eq(s.out.data, "B:", 2);
				if (len)
					ck_assert_mem_eq(s.out.data + 2, payload, len);
				ck_assert_int_eq(s.out.data[2 + len], '|');
				kbuf_free(&s.out);
			}
		}
		free(frame);
		free(payload);
	}
}
END_TEST

/* A stream of several messages, fragmented, with control frames between the
 * fragments, gives the same result however it is cut. */
static void build_stream(struct kbuf *b, bool masked)
{
	uint8_t f[300];
	size_t n;
#define PUT(op, fin, str)                                                              \
	do {                                                                           \
		if (masked) {                                                          \
			n = ws_client_frame(f, op, fin, str, strlen(str));             \
		} else {                                                               \
			n = ws_frame_header(f, op, fin, strlen(str), NULL);            \
			memcpy(f + n, str, strlen(str));                               \
			n += strlen(str);                                              \
		}                                                                      \
		kbuf_add(b, f, n);                                                     \
	} while (0)
	PUT(WS_OP_BINARY, false, "\x01one ");
	PUT(WS_OP_PING, true, "p1");
	PUT(WS_OP_CONT, false, "");
	PUT(WS_OP_PONG, true, "");
	PUT(WS_OP_CONT, true, "two");
	PUT(WS_OP_TEXT, true, "");
	PUT(WS_OP_BINARY, true, "\x02three");
	PUT(WS_OP_CLOSE, true, "\x03\xe8" "bye");
#undef PUT
}

START_TEST(test_split_feeding)
{
	for (int masked = 0; masked <= 1; masked++) {
		struct kbuf stream = KBUF_INIT;
		build_stream(&stream, masked);
		struct seen whole = decode_all(stream.data, stream.len, 0, masked, 0);
		ck_assert_int_eq(whole.rc, 0);
		ck_assert_str_eq(kbuf_str(&whole.out),
				 "B:\x01one <ping:p1><pong:>two|T:|B:\x02three|<close:1000:bye>");
		for (size_t step = 1; step < 12; step++) {
			struct seen s = decode_all(stream.data, stream.len, step, masked, 0);
			ck_assert_int_eq(s.rc, 0);
			ck_assert_str_eq(kbuf_str(&s.out), kbuf_str(&whole.out));
			kbuf_free(&s.out);
		}
		kbuf_free(&whole.out);
		kbuf_free(&stream);
	}
}
END_TEST

START_TEST(test_close_no_code)
{
	static const uint8_t f[] = { 0x88, 0x00 };
	struct seen s = decode_all(f, sizeof f, 0, false, 0);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_str_eq(kbuf_str(&s.out), "<close:1005:>");
	kbuf_free(&s.out);
}
END_TEST

/* ---- refusals -------------------------------------------------------------------- */

static void refused(const void *in, size_t len, bool server, uint64_t max, const char *what)
{
	for (size_t step = 0; step <= 1; step++) {
		struct seen s = decode_all(in, len, step, server, max);
		ck_assert_msg(s.rc == KAHU_EPROTO, "accepted (step %zu), wanted: %s", step, what);
		ck_assert_msg(strstr(kahu_error_last(), what), "message \"%s\" lacks \"%s\"",
			      kahu_error_last(), what);
		kbuf_free(&s.out);
	}
}

START_TEST(test_refusals)
{
	refused("\xc1\x00", 2, false, 0, "reserved bits");
	refused("\xa2\x00", 2, false, 0, "reserved bits");
	refused("\x92\x00", 2, false, 0, "reserved bits");
	refused("\x83\x00", 2, false, 0, "unknown opcode 0x3");
	refused("\x87\x00", 2, false, 0, "unknown opcode 0x7");
	refused("\x8b\x00", 2, false, 0, "unknown opcode 0xb");
	refused("\x8f\x00", 2, false, 0, "unknown opcode 0xf");
	refused("\x82\x81\x01\x02\x03\x04x", 7, false, 0, "masked WebSocket frame from the server");
	refused("\x82\x01x", 3, true, 0, "unmasked WebSocket frame from a client");
	refused("\x09\x00", 2, false, 0, "fragmented WebSocket control frame");
	refused("\x08\x00", 2, false, 0, "fragmented WebSocket control frame");
	refused("\x89\x7e\x00\x7e", 4, false, 0, "control frame longer than 125");
	refused("\x8a\x7f\x00\x00\x00\x00\x00\x00\x00\x7e", 10, false, 0,
		"control frame longer than 125");
	refused("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, false, 0,
		"most significant bit");
	refused("\x80\x01x", 3, false, 0, "continuation frame with no message begun");
	refused("\x02\x01x\x82\x01y", 6, false, 0, "inside a fragmented one");
	refused("\x02\x01x\x01\x01y", 6, false, 0, "inside a fragmented one");
	refused("\x88\x01\x03", 3, false, 0, "close frame of one byte");
	refused("\x88\x02\x03\xed", 4, false, 0, "invalid code 1005");
	refused("\x88\x02\x03\xee", 4, false, 0, "invalid code 1006");
	refused("\x88\x02\x03\xe7", 4, false, 0, "invalid code 999");
	refused("\x88\x02\x13\x88", 4, false, 0, "invalid code 5000");
	refused("\x88\x00\x82\x00", 4, false, 0, "after the close frame");
	/* The maximum message size: one frame, and fragments that add up. */
	refused("\x82\x05hello", 7, false, 4, "longer than 4 bytes");
	refused("\x02\x03hel\x80\x02lo", 9, false, 4, "longer than 4 bytes");
	struct seen s = decode_all("\x02\x02he\x80\x02lo", 8, 0, false, 4);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_str_eq(kbuf_str(&s.out), "B:helo|");
	kbuf_free(&s.out);
	/* The largest length a 64-bit field may hold is read, then refused by the limit. */
	refused("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10, false, 1 << 20,
		"longer than 1048576 bytes");
}
END_TEST

/* ---- masking, the payload taken past the decoder --------------------------------- */

START_TEST(test_mask_pieces)
{
	uint8_t a[100], b[100];
	const uint8_t key[4] = { 0xde, 0xad, 0xbe, 0xef };
	for (size_t i = 0; i < sizeof a; i++)
		a[i] = b[i] = (uint8_t)i;
	ws_mask(a, sizeof a, key, 0);
	for (size_t i = 0; i < sizeof a; i++)
		ck_assert_uint_eq(a[i], (uint8_t)(i ^ key[i % 4]));
	/* In pieces of every odd size, at odd offsets. */
	for (size_t off = 0, step = 1; off < sizeof b; off += step, step += 2) {
		size_t n = off + step > sizeof b ? sizeof b - off : step;
		ws_mask(b + off, n, key, off);
	}
	ck_assert_mem_eq(a, b, sizeof a);
}
END_TEST

START_TEST(test_skip)
{
	uint8_t f[600];
	size_t h = ws_frame_header(f, WS_OP_BINARY, false, 300, NULL);
	memset(f + h, 'a', 300);
	size_t n = h + 300;
	h = ws_frame_header(f + n, WS_OP_CONT, true, 200, NULL);
	memset(f + n + h, 'b', 200);
	n += h + 200;

	struct ws_decoder d;
	struct ws_event ev;
	size_t used;
	ws_decoder_init(&d, false, 0);
	ck_assert_int_eq(ws_decode(&d, f, 5, &used, &ev), 0); /* header and 1 byte */
	ck_assert_int_eq(ev.kind, WS_EV_DATA);
	ck_assert(ev.msg_start);
	ck_assert_uint_eq(ev.len, 1);
	ck_assert_uint_eq(ws_decoder_data_left(&d), 299);
	ck_assert(!ws_decoder_skip(&d, 299)); /* the frame ends, not the message */
	ck_assert_uint_eq(ws_decoder_data_left(&d), 0);
	size_t p = 4 + 300;
	ck_assert_int_eq(ws_decode(&d, f + p, 6, &used, &ev), 0); /* header and 2 bytes */
	ck_assert_int_eq(ev.kind, WS_EV_DATA);
	ck_assert(!ev.msg_start);
	ck_assert_uint_eq(ev.len, 2);
	ck_assert_uint_eq(ws_decoder_data_left(&d), 198);
	ck_assert(ws_decoder_skip(&d, ws_decoder_data_left(&d)));
	/* Between frames and messages now: the next frame starts a message. */
	ck_assert_int_eq(ws_decode(&d, (uint8_t *)"\x82\x01z", 3, &used, &ev), 0);
	ck_assert(ev.msg_start && ev.msg_end);
}
END_TEST

/* ---- SHA-1 (RFC 3174's test vectors) and Sec-WebSocket-Accept -------------------- */

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02X", d[i]);
}

START_TEST(test_sha1_vectors)
{
	static const struct {
		const char *in;
		size_t repeat;
		const char *want;
	} v[] = {
		{ "abc", 1, "A9993E364706816ABA3E25717850C26C9CD0D89D" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
		  "84983E441C3BD26EBAAE4AA1F95129E5E54670F1" },
		{ "a", 1000000, "34AA973CD4C4DAA4F61EEB2BDBAD27316534016F" },
		{ "0123456701234567012345670123456701234567012345670123456701234567", 10,
		  "DEA356A2CDDD90C7A7ECEDC5EBB563934F460452" },
		{ "", 1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709" },
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		size_t l = strlen(v[i].in);
		struct kbuf b = KBUF_INIT;
		for (size_t r = 0; r < v[i].repeat; r++)
			kbuf_add(&b, v[i].in, l);
		uint8_t d[20];
		char h[41];
		ws_sha1(b.data ? b.data : "", b.len, d);
		hex(d, 20, h);
		ck_assert_str_eq(h, v[i].want);
		kbuf_free(&b);
	}
	/* Every length around the padding boundary against a second computation. */
	for (size_t l = 50; l < 70; l++) {
		char in[70];
		memset(in, 'x', l);
		uint8_t d1[20], d2[20];
		ws_sha1(in, l, d1);
		ws_sha1(in, l, d2);
		ck_assert_mem_eq(d1, d2, 20);
	}
}
END_TEST

START_TEST(test_accept)
{
	char out[29];
	ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 §1.3 */
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	char k1[25], k2[25];
	ws_new_key(k1);
	ws_new_key(k2);
	ck_assert_uint_eq(strlen(k1), 24);
	ck_assert_str_ne(k1, k2);
}
END_TEST

static Suite *ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rfc_unmasked_text);
	tcase_add_test(tc, test_rfc_masked_text);
	tcase_add_test(tc, test_rfc_fragmented);
	tcase_add_test(tc, test_rfc_ping_pong);
	tcase_add_test(tc, test_rfc_lengths_256_64k);
	tcase_add_test(tc, test_length_boundaries);
	tcase_add_test(tc, test_split_feeding);
	tcase_add_test(tc, test_close_no_code);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_mask_pieces);
	tcase_add_test(tc, test_skip);
	tcase_add_test(tc, test_sha1_vectors);
	tcase_add_test(tc, test_accept);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(ws_suite)
