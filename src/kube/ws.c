/* kahu — WebSocket framing (RFC 6455).  See ws.h. */
#include "kube/ws.h"

#include <string.h>

#include <sodium.h>

#include "util/err.h"

/* ---- encoding --------------------------------------------------------------------- */

size_t ws_frame_header(uint8_t *hdr, enum ws_opcode op, bool fin, uint64_t len,
		       const uint8_t key[4])
{
	size_t n = 0;
	uint8_t maskbit = key ? 0x80 : 0;

	hdr[n++] = (uint8_t)((fin ? 0x80 : 0) | ((unsigned)op & 0x0f));
	if (len < 126) {
		hdr[n++] = (uint8_t)(maskbit | len);
	} else if (len <= 0xffff) {
		hdr[n++] = maskbit | 126;
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = maskbit | 127;
		for (int i = 7; i >= 0; i--)
			hdr[n++] = (uint8_t)(len >> (8 * i));
	}
	if (key) {
		memcpy(hdr + n, key, 4);
		n += 4;
	}
	return n;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t key[4], uint64_t offset)
{
	uint8_t k8[8];
	for (size_t i = 0; i < 8; i++)
		k8[i] = key[(offset + i) & 3];
	uint64_t k;
	memcpy(&k, k8, 8);
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, data + i, 8);
		v ^= k;
		memcpy(data + i, &v, 8);
	}
	/* The tail starts at a multiple of 8 from `offset`, so k8's phase still holds. */
	for (size_t j = 0; i < len; i++, j++)
		data[i] ^= k8[j];
}

void ws_random_key(uint8_t key[4])
{
	randombytes_buf(key, 4);
}

size_t ws_client_frame(uint8_t *out, enum ws_opcode op, bool fin, const void *payload,
		       size_t len)
{
	uint8_t key[4];
	ws_random_key(key);
	size_t h = ws_frame_header(out, op, fin, len, key);
	if (len)
		memcpy(out + h, payload, len);
	ws_mask(out + h, len, key, 0);
	return h + len;
}

/* ---- decoding --------------------------------------------------------------------- */

void ws_decoder_init(struct ws_decoder *d, bool server, uint64_t max_message)
{
	memset(d, 0, sizeof *d);
	d->server = server;
	d->max_message = max_message;
	d->hdr_need = 2;
}

static bool is_control(enum ws_opcode op)
{
	return ((unsigned)op & 0x8) != 0;
}

static void frame_done(struct ws_decoder *d)
{
	d->in_payload = false;
	d->hdr_have = 0;
	d->hdr_need = 2;
	if (!is_control(d->op) && d->fin) {
		d->in_message = false;
		d->msg_started = false;
		d->msg_len = 0;
	}
}

/* Checks the first two header bytes; sets the header's full length. */
static int first_bytes(struct ws_decoder *d)
{
	uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
	unsigned op = b0 & 0x0f;

	if (b0 & 0x70)
		return kahu_error_set(KAHU_EPROTO, "WebSocket frame with reserved bits set "
				      "(0x%02x; no extension was negotiated)", b0 & 0x70);
	switch (op) {
	case WS_OP_CONT: case WS_OP_TEXT: case WS_OP_BINARY:
	case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
		break;
	default:
		return kahu_error_set(KAHU_EPROTO, "WebSocket frame with unknown opcode 0x%x", op);
	}
	bool masked = (b1 & 0x80) != 0;
	if (masked && !d->server)
		return kahu_error_set(KAHU_EPROTO, "masked WebSocket frame from the server");
	if (!masked && d->server)
		return kahu_error_set(KAHU_EPROTO, "unmasked WebSocket frame from a client");
	unsigned l7 = b1 & 0x7f;
	size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (masked ? 4 : 0);
	d->op = (enum ws_opcode)op;
	d->fin = (b0 & 0x80) != 0;
	d->masked = masked;
	d->hdr_need = need;
	if (is_control(d->op)) {
		if (!d->fin)
			return kahu_error_set(KAHU_EPROTO, "fragmented WebSocket control frame "
					      "(opcode 0x%x)", op);
		if (l7 > WS_CONTROL_MAX)
			return kahu_error_set(KAHU_EPROTO, "WebSocket control frame longer than "
					      "%d bytes (opcode 0x%x)", WS_CONTROL_MAX, op);
	}
	return 0;
}

/* The header is complete: its length, key, and what it means for the message. */
static int header_done(struct ws_decoder *d)
{
	unsigned l7 = d->hdr[1] & 0x7f;
	size_t p = 2;
	uint64_t len = l7;

	if (l7 == 126) {
		len = ((uint64_t)d->hdr[2] << 8) | d->hdr[3];
		p = 4;
	} else if (l7 == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | d->hdr[2 + i];
		p = 10;
		if (len >> 63)
			return kahu_error_set(KAHU_EPROTO, "WebSocket frame length with the most "
					      "significant bit set");
	}
	if (d->masked)
		memcpy(d->key, d->hdr + p, 4);
	d->left = len;
	d->offset = 0;
	d->in_payload = true;
	if (is_control(d->op))
		return 0;
	if (d->op == WS_OP_CONT) {
		if (!d->in_message)
			return kahu_error_set(KAHU_EPROTO, "WebSocket continuation frame with "
					      "no message begun");
	} else {
		if (d->in_message)
			return kahu_error_set(KAHU_EPROTO, "new WebSocket message (opcode 0x%x) "
					      "inside a fragmented one", (unsigned)d->op);
		d->in_message = true;
		d->msg_op = d->op;
		d->msg_len = 0;
		d->msg_started = false;
	}
	if (d->max_message && (len > d->max_message || d->msg_len + len > d->max_message))
		return kahu_error_set(KAHU_EPROTO, "WebSocket message longer than %llu bytes",
				      (unsigned long long)d->max_message);
	d->msg_len += len;
	return 0;
}

static bool valid_close_code(unsigned c)
{
	if (c >= 3000 && c <= 4999)
		return true;
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014);
}

/* A control frame is complete in d->ctl: its event. */
static int control_event(struct ws_decoder *d, struct ws_event *ev)
{
	size_t n = (size_t)d->offset;
	ev->data = d->ctl;
	ev->len = n;
	switch (d->op) {
	case WS_OP_PING:
		ev->kind = WS_EV_PING;
		break;
	case WS_OP_PONG:
		ev->kind = WS_EV_PONG;
		break;
	default:
		ev->kind = WS_EV_CLOSE;
		d->closed = true;
		ev->close_code = WS_CLOSE_NO_STATUS;
		if (n == 1)
			return kahu_error_set(KAHU_EPROTO, "WebSocket close frame of one byte");
		if (n >= 2) {
			ev->close_code = (uint16_t)((d->ctl[0] << 8) | d->ctl[1]);
			if (!valid_close_code(ev->close_code))
				return kahu_error_set(KAHU_EPROTO, "WebSocket close frame with "
						      "invalid code %u", ev->close_code);
			ev->reason = d->ctl + 2;
			ev->reason_len = n - 2;
		}
		break;
	}
	frame_done(d);
	return 0;
}

int ws_decode(struct ws_decoder *d, uint8_t *buf, size_t len, size_t *used,
	      struct ws_event *ev)
{
	size_t pos = 0;
	int rc;

	memset(ev, 0, sizeof *ev);
	*used = 0;
	if (d->closed) {
		if (len)
			return kahu_error_set(KAHU_EPROTO, "WebSocket data after the close frame");
		return 0;
	}
	if (!d->in_payload) {
		while (d->hdr_have < d->hdr_need && pos < len) {
			d->hdr[d->hdr_have++] = buf[pos++];
			if (d->hdr_have == 2 && (rc = first_bytes(d)) < 0)
				return rc;
		}
		*used = pos;
		if (d->hdr_have < d->hdr_need)
			return 0;
		if ((rc = header_done(d)) < 0)
			return rc;
		if (d->left == 0) {
			if (is_control(d->op))
				return control_event(d, ev);
			ev->kind = WS_EV_DATA;
			ev->opcode = d->msg_op;
			ev->data = buf + pos;
			ev->msg_start = !d->msg_started;
			ev->msg_end = d->fin;
			d->msg_started = true;
			frame_done(d);
			return 0;
		}
	}

	size_t avail = len - pos;
	size_t n = d->left < avail ? (size_t)d->left : avail;
	if (is_control(d->op)) {
		memcpy(d->ctl + d->offset, buf + pos, n);
		if (d->masked)
			ws_mask(d->ctl + d->offset, n, d->key, d->offset);
		d->offset += n;
		d->left -= n;
		*used = pos + n;
		if (d->left)
			return 0;
		return control_event(d, ev);
	}
	if (n == 0) {
		*used = pos;
		return 0;
	}
	if (d->masked)
		ws_mask(buf + pos, n, d->key, d->offset);
	ev->kind = WS_EV_DATA;
	ev->opcode = d->msg_op;
	ev->data = buf + pos;
	ev->len = n;
	ev->msg_start = !d->msg_started;
	d->msg_started = true;
	d->offset += n;
	d->left -= n;
	*used = pos + n;
	if (d->left == 0) {
		ev->msg_end = d->fin;
		frame_done(d);
	}
	return 0;
}

uint64_t ws_decoder_data_left(const struct ws_decoder *d)
{
	if (!d->in_payload || is_control(d->op) || d->masked)
		return 0;
	return d->left;
}

bool ws_decoder_skip(struct ws_decoder *d, uint64_t n)
{
	if (n > ws_decoder_data_left(d))
		n = ws_decoder_data_left(d);
	d->left -= n;
	d->offset += n;
	d->msg_started = true;
	if (d->left)
		return false;
	bool end = d->fin;
	frame_done(d);
	return end;
}

/* ---- SHA-1 (RFC 3174) and the handshake ------------------------------------------ */

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80];
	for (int t = 0; t < 16; t++)
		w[t] = ((uint32_t)p[4 * t] << 24) | ((uint32_t)p[4 * t + 1] << 16) |
		       ((uint32_t)p[4 * t + 2] << 8) | p[4 * t + 3];
	for (int t = 16; t < 80; t++)
		w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int t = 0; t < 80; t++) {
		uint32_t f, k;
		if (t < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (t < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (t < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		uint32_t tmp = rol(a, 5) + f + e + w[t] + k;
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = tmp;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void ws_sha1(const void *data, size_t len, uint8_t out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	const uint8_t *p = data;
	size_t left = len;
	uint8_t block[64];

	for (; left >= 64; p += 64, left -= 64)
		sha1_block(h, p);
	memset(block, 0, sizeof block);
	if (left)
		memcpy(block, p, left);
	block[left] = 0x80;
	if (left >= 56) {
		sha1_block(h, block);
		memset(block, 0, sizeof block);
	}
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		block[63 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, block);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void ws_accept(const char *key, char out[29])
{
	size_t kl = strlen(key);
	char buf[256];
	uint8_t dig[20];

	if (kl > sizeof buf - sizeof WS_GUID)
		kl = sizeof buf - sizeof WS_GUID; /* a longer key cannot match ours anyway */
	memcpy(buf, key, kl);
	memcpy(buf + kl, WS_GUID, sizeof WS_GUID - 1);
	ws_sha1(buf, kl + sizeof WS_GUID - 1, dig);
	sodium_bin2base64(out, 29, dig, sizeof dig, sodium_base64_VARIANT_ORIGINAL);
}

void ws_new_key(char out[25])
{
	uint8_t k[16];
	randombytes_buf(k, sizeof k);
	sodium_bin2base64(out, 25, k, sizeof k, sodium_base64_VARIANT_ORIGINAL);
}
