/* kahu — WebSocket framing (RFC 6455), pure: no I/O, no allocation after init.
 *
 * What the pods/exec channel (exec.c) speaks over a connection it took over:
 *
 *   - the encoder writes a frame header (FIN, opcode, the 7-, 16- or 64-bit length,
 *     the mask bit and key) and masks a payload in place, eight bytes at a time.  A
 *     client masks every frame with a fresh random key (ws_random_key, libsodium);
 *   - the decoder is incremental: bytes are fed as they arrive, in pieces of any size,
 *     and come out as events.  A data frame's payload is handed on in pieces that point
 *     into the fed buffer (nothing is copied), each marked with whether it begins or
 *     ends its message, so a message of any length passes in constant memory; control
 *     frames (close, ping, pong) may arrive between the fragments of a message and are
 *     gathered whole (they are at most 125 bytes).  It refuses what RFC 6455 forbids
 *     or kahu never negotiates: reserved bits (no extension is offered), unknown
 *     opcodes, masked frames from a server (unmasked ones from a client), fragmented or
 *     oversized control frames, a continuation with no message begun or a new message
 *     inside a fragmented one, a 64-bit length with its top bit set, a close payload of
 *     one byte or with an invalid code, and a message longer than the configured
 *     maximum;
 *   - ws_accept computes Sec-WebSocket-Accept from Sec-WebSocket-Key (SHA-1 of the key
 *     and the protocol's GUID, in base64), with a small SHA-1 of its own (RFC 3174).
 *
 * Errors are KAHU_EPROTO with a message naming what was wrong (err.h). */
#ifndef KAHU_KUBE_WS_H
#define KAHU_KUBE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* The longest frame header: 2 bytes, a 64-bit length, a 4-byte key. */
#define WS_HEADER_MAX 14
/* The longest control payload. */
#define WS_CONTROL_MAX 125

/* Close codes kahu sends or names. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_NO_STATUS 1005 /* reported when a close frame carries no code */
#define WS_CLOSE_TOO_BIG 1009

/* ---- encoding --------------------------------------------------------------------- */

/* Writes the header of a frame of `len` payload bytes into hdr (WS_HEADER_MAX bytes
 * of room) and returns its length.  key: the masking key, NULL for an unmasked frame
 * (a server's). */
size_t ws_frame_header(uint8_t *hdr, enum ws_opcode op, bool fin, uint64_t len,
		       const uint8_t key[4]);
/* XORs data[0..len) with the key, as the bytes at `offset` onwards of a payload
 * (so a payload may be masked in pieces).  Masking twice unmasks. */
void ws_mask(uint8_t *data, size_t len, const uint8_t key[4], uint64_t offset);
/* Four random bytes (libsodium's randombytes_buf). */
void ws_random_key(uint8_t key[4]);
/* A whole masked client frame: header then the masked copy of payload, written to out
 * (len + WS_HEADER_MAX bytes of room); returns the frame's length. */
size_t ws_client_frame(uint8_t *out, enum ws_opcode op, bool fin, const void *payload,
		       size_t len);

/* ---- decoding --------------------------------------------------------------------- */

enum ws_event_kind {
	WS_EV_NONE = 0,  /* the fed bytes were used up (or ended inside a header) */
	WS_EV_DATA,      /* a piece of a text or binary message's payload */
	WS_EV_PING,
	WS_EV_PONG,
	WS_EV_CLOSE,
};

struct ws_event {
	enum ws_event_kind kind;
	/* WS_EV_DATA: the message's opcode (text or binary); the piece (may be empty,
	 * so that an empty message or frame is still seen); whether it is the first
	 * piece of its message and whether the last.  The piece points into the buffer
	 * given to ws_decode (a server role's frame unmasked there in place).
	 * WS_EV_PING, WS_EV_PONG, WS_EV_CLOSE: the whole payload, in the decoder (valid
	 * until the next call); for a close, also its code (WS_CLOSE_NO_STATUS when it
	 * has none) and reason (the payload after the code). */
	enum ws_opcode opcode;
	const uint8_t *data;
	size_t len;
	bool msg_start, msg_end;
	uint16_t close_code;
	const uint8_t *reason;
	size_t reason_len;
};

struct ws_decoder {
	/* configuration (ws_decoder_init) */
	bool server;             /* frames must be masked (a server reading a client) */
	uint64_t max_message;    /* longest message accepted, all its frames together */
	/* the frame being read */
	uint8_t hdr[WS_HEADER_MAX];
	size_t hdr_have;         /* header bytes gathered (0: between frames) */
	size_t hdr_need;         /* 2 until the length form is known */
	bool in_payload;         /* header complete, payload bytes pending */
	enum ws_opcode op;
	bool fin;
	uint8_t key[4];
	bool masked;
	uint64_t left;           /* payload bytes of this frame still to come */
	uint64_t offset;         /* payload bytes of this frame already seen */
	/* the message being read */
	bool in_message;         /* a fragmented text/binary message is open */
	enum ws_opcode msg_op;
	uint64_t msg_len;        /* its bytes so far */
	bool msg_started;        /* its first piece was handed on */
	/* a control frame being gathered */
	uint8_t ctl[WS_CONTROL_MAX];
	bool closed;             /* a close frame was decoded: nothing may follow */
};

/* server: true to decode what a client sends (masked), false for a client reading a
 * server.  max_message: 0 for no limit. */
void ws_decoder_init(struct ws_decoder *d, bool server, uint64_t max_message);

/* Decodes from buf[0..len): returns 0 with *used (the bytes taken) and *ev (at most one
 * event: WS_EV_NONE when it needs more bytes), or KAHU_EPROTO with the message set
 * (the stream cannot be read on).  Call it again on the rest.  buf is written only
 * in the server role (unmasked in place). */
int ws_decode(struct ws_decoder *d, uint8_t *buf, size_t len, size_t *used,
	      struct ws_event *ev);

/* The payload bytes of the current data frame that have not been fed yet (0 between
 * frames or in a control frame).  A client may receive up to that many bytes straight
 * into a buffer of its own and account for them with ws_decoder_skip instead of feeding
 * them: they are the rest of the same piece of the same message. */
uint64_t ws_decoder_data_left(const struct ws_decoder *d);
/* Marks n (<= ws_decoder_data_left, client role) payload bytes as read.  Returns true
 * when that ended the message (its last frame's last byte). */
bool ws_decoder_skip(struct ws_decoder *d, uint64_t n);

/* ---- the handshake ---------------------------------------------------------------- */

/* SHA-1 of data (RFC 3174). */
void ws_sha1(const void *data, size_t len, uint8_t out[20]);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key GUID)); out has room
 * for 29 bytes (28 and a NUL). */
void ws_accept(const char *key, char out[29]);
/* A fresh Sec-WebSocket-Key: 16 random bytes in base64; out has room for 25 bytes. */
void ws_new_key(char out[25]);

#endif
