/* kahu — pods/exec over a WebSocket (v5.channel.k8s.io, v4.channel.k8s.io).  See exec.h.
 *
 * The connection: the transport lends a handle set CONNECT_ONLY (kube_transport_open_raw)
 * with the cluster's TLS, proxy and client certificate; curl_easy_perform connects, and
 * from then on the bytes are ours, through curl_easy_send and curl_easy_recv on a
 * non-blocking socket, waiting with poll(2) on it (CURLINFO_ACTIVESOCKET) and on the
 * cancellation token's descriptor.  libcurl may hold decrypted bytes the socket no
 * longer shows, so a receive is always tried before a wait.
 *
 * The Upgrade request is written here: its request line from the handle's URL, then
 * the transport's header lines (Host for a tls-server-name, Authorization), then the
 * WebSocket ones; the buffer that held the credentials is wiped once sent.
 *
 * Receiving: bytes go into a buffer of RBUF bytes and through the frame decoder
 * (ws.c); stdout pieces point into that buffer until the caller took them.  When the
 * buffer is empty and a stdout frame still has payload to come, the payload is
 * received straight into the caller's buffer (ws_decoder_skip), so a large stream is
 * copied once, by the kernel or the TLS library.  stderr keeps a 4 KiB tail (and goes
 * to a descriptor when one is set), channel 3 gathers the Status (at most STATUS_MAX).
 *
 * Sending: whole frames are appended to an output buffer and sent from it as the
 * socket takes them, never waiting for the socket alone: a ping's pong and the reply
 * to a close go after the frames already there, never inside one.  A write that cannot
 * send takes in what arrives (pings answered) and returns once stdout is ready for the
 * caller (kube_exec_write_some), or keeps that stdout for later reads, bounded
 * (kube_exec_write); frames still queued go on while the caller reads.  So neither
 * side can block the other for ever. */
#include "kube/exec.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "kube/client.h"
#include "kube/transport.h"
#include "kube/ws.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#define RBUF (256u * 1024)          /* the receive buffer */
#define TLS_RBUF (64u * 1024)       /* OpenSSL's read buffer, read ahead (tls_read_ahead) */
#define RESP_HEAD_MAX (64u * 1024)  /* the Upgrade answer's status line and headers */
#define RESP_BODY_MAX (64u * 1024)  /* the body of a refused Upgrade */
#define STATUS_MAX (64u * 1024)     /* the channel-3 Status */
#define TAIL_MAX 4096u              /* stderr kept for messages */
#define IN_FRAME_MAX (1024u * 1024) /* stdin bytes per frame (at most) */
#define OUT_BATCH (256u * 1024)     /* frames gathered before they are sent */
#define MAX_MESSAGE (1ull << 32)    /* the longest message accepted from the server */
#define HANDSHAKE_IDLE_MS 60000     /* the upgrade's answer, when no idle timeout is set */

#define PROTO_V5 "v5.channel.k8s.io"
#define PROTO_V4 "v4.channel.k8s.io"

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_ERROR = 3, CH_RESIZE = 4, CH_CLOSE = 255 };

struct kube_exec {
	struct kube_transport *t;
	struct kube_conn conn;
	curl_socket_t fd;
	char *what;                 /* "pod NS/POD" (container C) for messages */
	const char *proto;
	bool v5, want_stdin, stdin_closed;
	int idle_ms;
	int timeout_ms;             /* the whole command's, from open; 0: none */
	int64_t deadline;           /* monotonic ms; 0: none */
	int stderr_fd;

	struct ws_decoder dec;
	uint8_t *rbuf;
	size_t rpos, rlen;          /* undecoded: rbuf[rpos..rlen) */
	int chan;                   /* the channel of the message being received; -1:
				     * its first byte has not come yet */
	bool in_msg;

	const uint8_t *piece;       /* stdout ready for the caller (in rbuf) */
	size_t piece_len;
	struct kbuf spill;          /* stdout that came during kube_exec_write */
	size_t spill_pos;

	struct kbuf status;
	bool status_done;
	bool ended;                 /* the server closed (close frame or end of stream) */
	char tail[TAIL_MAX + 1];
	size_t tail_len;
	unsigned long long stdout_bytes;
	unsigned long long stdin_bytes; /* stdin bytes put into frames */

	struct kbuf out;            /* frames to send: out.data[out_pos..out.len) */
	size_t out_pos;

	struct kahu_error_state err; /* a broken session stays broken */
	bool failed;
	bool direct;                /* a stdout payload is being received into the caller's buffer */
	bool salvaging;
};

/* ---- small helpers ---------------------------------------------------------------- */

static int fail(struct kube_exec *x, int code)
{
	if (!x->failed) {
		x->failed = true;
		kahu_error_capture(&x->err);
		x->err.code = code;
	}
	return code;
}

static int broken(struct kube_exec *x, const char *why)
{
	if (x->stdin_bytes && !x->stdout_bytes)
		kahu_error_set(KAHU_EIO, "exec stream broken after %llu bytes of input: %s (%s)",
			       x->stdin_bytes, why, x->what);
	else if (x->stdin_bytes)
		kahu_error_set(KAHU_EIO, "exec stream broken after %llu bytes (%llu bytes of input "
			       "written): %s (%s)", x->stdout_bytes, x->stdin_bytes, why, x->what);
	else
		kahu_error_set(KAHU_EIO, "exec stream broken after %llu bytes: %s (%s)",
			       x->stdout_bytes, why, x->what);
	return fail(x, KAHU_EIO);
}

/* The command ended (its Status came) while input was left to write: what it did not
 * read is not dropped in silence.  The session is not failed: finish still gives the
 * exit code, the stderr tail says why. */
static int ended_early(struct kube_exec *x, size_t left)
{
	return kahu_error_set(KAHU_EFAIL, "exec in %s: the command ended before it read all of "
			      "its input (%llu bytes written, %zu more to write)", x->what,
			      x->stdin_bytes, left);
}

static void tail_add(struct kube_exec *x, const uint8_t *p, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(x->tail, p + n - TAIL_MAX, TAIL_MAX);
		x->tail_len = TAIL_MAX;
	} else {
		if (x->tail_len + n > TAIL_MAX) {
			size_t drop = x->tail_len + n - TAIL_MAX;
			memmove(x->tail, x->tail + drop, x->tail_len - drop);
			x->tail_len -= drop;
		}
		memcpy(x->tail + x->tail_len, p, n);
		x->tail_len += n;
	}
	x->tail[x->tail_len] = '\0';
}

char *kube_exec_query(const struct kube_exec_opts *o)
{
	struct kbuf q = KBUF_INIT;
	for (size_t i = 0; o->argv && o->argv[i]; i++) {
		char *e = curl_easy_escape(NULL, o->argv[i], 0);
		if (!e)
			abort();
		kbuf_addf(&q, "%scommand=%s", q.len ? "&" : "", e);
		curl_free(e);
	}
	if (o->container) {
		char *e = curl_easy_escape(NULL, o->container, 0);
		if (!e)
			abort();
		kbuf_addf(&q, "&container=%s", e);
		curl_free(e);
	}
	kbuf_addf(&q, "%sstdout=true&stderr=true", o->stdin_ ? "&stdin=true&" : "&");
	return kbuf_detach(&q);
}

/* ---- waiting and raw I/O ---------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Past the command's timeout, whatever arrives (stderr, stdout, nothing): KAHU_ETEMP.
 * Else 0, with *left the ms until then (-1: no timeout). */
static int check_deadline(struct kube_exec *x, int *left)
{
	*left = -1;
	if (!x->deadline)
		return 0;
	int64_t l = x->deadline - mono_ms();
	if (l <= 0) {
		kahu_error_set(KAHU_ETEMP, "exec in %s: the command did not end within %d ms",
			       x->what, x->timeout_ms);
		return fail(x, KAHU_ETEMP);
	}
	*left = l > INT_MAX ? INT_MAX : (int)l;
	return 0;
}

/* Waits until the socket is ready for `events`; returns the revents, or an error:
 * KAHU_EINTR when cancelled, KAHU_ETEMP after the idle timeout. */
static int wait_sock(struct kube_exec *x, short events, short *revents)
{
	int cfd = kahu_cancel_fd();
	for (;;) {
		if (kahu_cancelled()) {
			kahu_error_set(KAHU_EINTR, "interrupted");
			return fail(x, KAHU_EINTR);
		}
		struct pollfd p[2] = { { .fd = x->fd, .events = events },
				       { .fd = cfd, .events = POLLIN } };
		int left, rc;
		if ((rc = check_deadline(x, &left)) < 0)
			return rc;
		int timeout = x->idle_ms > 0 ? x->idle_ms : -1;
		int by_deadline = left >= 0 && (timeout < 0 || left < timeout);
		if (by_deadline)
			timeout = left;
		if (cfd < 0 && (timeout < 0 || timeout > 100))
			timeout = 100; /* no descriptor for the token: look at it often */
		int n = poll(p, cfd >= 0 ? 2 : 1, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			kahu_error_set(KAHU_EIO, "cannot wait for the exec stream: %s",
				       strerror(errno));
			return fail(x, KAHU_EIO);
		}
		if (n == 0) {
			if (by_deadline || (cfd < 0 && (x->idle_ms <= 0 || x->idle_ms > 100)))
				continue; /* the deadline (checked above), or only the token's slice elapsed */
			kahu_error_set(KAHU_ETEMP, "exec stream idle: nothing from %s for %d ms",
				       x->what, x->idle_ms);
			return fail(x, KAHU_ETEMP);
		}
		if (p[0].revents) {
			*revents = p[0].revents;
			return 0;
		}
	}
}

/* Receives up to len bytes: 0 with *got (0: the server closed the connection); 1 when
 * the connection failed (*why says how; no message set); or the wait's error. */
static int flush_out(struct kube_exec *x);

static bool out_pending(const struct kube_exec *x)
{
	return x->out_pos < x->out.len;
}

static int net_recv(struct kube_exec *x, void *buf, size_t len, size_t *got, const char **why)
{
	for (;;) {
		size_t n = 0;
		int left, rc;
		if ((rc = check_deadline(x, &left)) < 0)
			return rc;
		CURLcode cc = curl_easy_recv(x->conn.h, buf, len, &n);
		if (cc == CURLE_OK) {
			*got = n;
			return 0;
		}
		if (cc != CURLE_AGAIN) {
			*why = x->conn.errbuf[0] ? x->conn.errbuf : curl_easy_strerror(cc);
			return 1;
		}
		/* Frames queued to send (stdin, its close, a pong) go on while waiting: the
		 * command may need them before it writes again. */
		short rev;
		if ((rc = wait_sock(x, out_pending(x) ? POLLIN | POLLOUT : POLLIN, &rev)) < 0)
			return rc;
		if ((rev & POLLOUT) && (rc = flush_out(x)) < 0)
			return rc;
	}
}

static void out_frame(struct kube_exec *x, enum ws_opcode op, const uint8_t *pre, size_t prelen,
		      const void *data, size_t len)
{
	uint8_t key[4];
	ws_random_key(key);
	kbuf_grow(&x->out, WS_HEADER_MAX + prelen + len);
	uint8_t *p = (uint8_t *)x->out.data + x->out.len;
	size_t h = ws_frame_header(p, op, true, prelen + len, key);
	if (prelen)
		memcpy(p + h, pre, prelen);
	if (len)
		memcpy(p + h + prelen, data, len);
	ws_mask(p + h, prelen + len, key, 0);
	x->out.len += h + prelen + len;
	x->out.data[x->out.len] = '\0';
}

static int decode_buffered(struct kube_exec *x);

/* The connection failed while frames were sent: what the server said before (stderr,
 * the command's Status, its close) may still wait to be received.  It is taken in
 * without waiting (stdout kept for the reads, bounded), so that a command that has
 * ended is reported by its status and stderr rather than as a broken stream. */
static void salvage(struct kube_exec *x)
{
	while (!x->ended && !x->failed) {
		if (x->piece_len) {
			if (x->spill.len - x->spill_pos + x->piece_len > KUBE_EXEC_SPILL_MAX)
				return;
			kbuf_add(&x->spill, x->piece, x->piece_len);
			x->piece_len = 0;
			continue;
		}
		if (x->rpos < x->rlen) {
			if (decode_buffered(x) < 0)
				return;
			continue;
		}
		size_t n = 0;
		if (curl_easy_recv(x->conn.h, x->rbuf, RBUF, &n) != CURLE_OK || n == 0)
			return;
		x->rpos = 0;
		x->rlen = n;
	}
}

/* Sends as much of what is queued as the socket takes now. */
static int flush_out(struct kube_exec *x)
{
	while (out_pending(x)) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(x->conn.h, x->out.data + x->out_pos,
					     x->out.len - x->out_pos, &n);
		if (cc == CURLE_OK) {
			x->out_pos += n;
			continue;
		}
		if (cc == CURLE_AGAIN)
			return 0;
		char why[CURL_ERROR_SIZE];
		snprintf(why, sizeof why, "%s", x->conn.errbuf[0] ? x->conn.errbuf : curl_easy_strerror(cc));
		if (!x->status_done && !x->ended && !x->salvaging && !x->direct) {
			x->salvaging = true;
			salvage(x);
			x->salvaging = false;
			if (x->failed)
				return kahu_error_restore(&x->err);
		}
		if (x->status_done || x->ended) {
			/* The command has ended or the server closed: what it did not read
			 * (or the reply to its close) is dropped; a stream that ended without
			 * a status is reported as broken by the reads. */
			x->out_pos = x->out.len;
			x->ended = true;
			break;
		}
		return broken(x, why);
	}
	kbuf_reset(&x->out);
	x->out_pos = 0;
	return 0;
}

/* ---- receiving -------------------------------------------------------------------- */

/* A piece of a message's payload on channel x->chan. */
static int on_payload(struct kube_exec *x, const uint8_t *p, size_t n)
{
	if (!n)
		return 0;
	switch (x->chan) {
	case CH_STDOUT:
		x->stdout_bytes += n;
		x->piece = p;
		x->piece_len = n;
		return 0;
	case CH_STDERR:
		tail_add(x, p, n);
		if (x->stderr_fd >= 0) {
			while (n) {
				ssize_t w = write(x->stderr_fd, p, n);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break; /* stderr is best effort */
				p += w;
				n -= (size_t)w;
			}
		}
		return 0;
	case CH_ERROR:
		if (x->status.len + n > STATUS_MAX) {
			kahu_error_set(KAHU_EPROTO, "the status of the command in %s is longer "
				       "than %u bytes", x->what, STATUS_MAX);
			return fail(x, KAHU_EPROTO);
		}
		kbuf_add(&x->status, p, n);
		return 0;
	default:
		return 0; /* stdin echoed, resize, close: nothing for a reader */
	}
}

/* Decodes what is buffered, until a stdout piece is ready for the caller (in read mode)
 * or the buffer is used up.  Returns 0 or an error. */
static int decode_buffered(struct kube_exec *x)
{
	while (x->rpos < x->rlen && !x->piece_len && !x->ended) {
		struct ws_event ev;
		size_t used;
		int rc = ws_decode(&x->dec, x->rbuf + x->rpos, x->rlen - x->rpos, &used, &ev);
		if (rc < 0) {
			kahu_error_wrap(rc, "exec stream from %s", x->what);
			return fail(x, rc);
		}
		x->rpos += used;
		switch (ev.kind) {
		case WS_EV_NONE:
			break;
		case WS_EV_DATA: {
			if (ev.opcode != WS_OP_BINARY) {
				kahu_error_set(KAHU_EPROTO, "exec stream from %s: a text message "
					       "(no base64 subprotocol was offered)", x->what);
				return fail(x, KAHU_EPROTO);
			}
			const uint8_t *p = ev.data;
			size_t n = ev.len;
			if (ev.msg_start)
				x->chan = -1;
			if (x->chan < 0 && n) {
				x->chan = p[0];
				p++;
				n--;
			}
			if ((rc = on_payload(x, p, n)) < 0)
				return rc;
			x->in_msg = !ev.msg_end;
			if (ev.msg_end) {
				if (x->chan == CH_ERROR)
					x->status_done = true;
				x->chan = -1;
			}
			break;
		}
		case WS_EV_PING:
			out_frame(x, WS_OP_PONG, NULL, 0, ev.data, ev.len);
			if ((rc = flush_out(x)) < 0)
				return rc;
			break;
		case WS_EV_PONG:
			break;
		case WS_EV_CLOSE: {
			uint8_t code[2] = { (uint8_t)(ev.close_code >> 8), (uint8_t)ev.close_code };
			x->ended = true;
			if (!x->status_done && ev.close_code != WS_CLOSE_NORMAL) {
				struct kbuf r = KBUF_INIT;
				kbuf_add(&r, ev.reason, ev.reason_len);
				struct kbuf pr = KBUF_INIT;
				kbuf_add_printable(&pr, kbuf_str(&r), 0);
				log_debug("exec stream from %s closed with code %u: %s", x->what,
					  ev.close_code, kbuf_str(&pr));
				kbuf_free(&r);
				kbuf_free(&pr);
			}
			out_frame(x, WS_OP_CLOSE, NULL, 0, code,
				  ev.close_code == WS_CLOSE_NO_STATUS ? 0 : 2);
			flush_out(x); /* best effort: the server may be gone */
			break;
		}
		}
	}
	return 0;
}

/* Takes in what is there without waiting: returns 1 when bytes came (or the end), 0
 * when none were ready, or an error. */
static int pump(struct kube_exec *x)
{
	int rc;
	if ((rc = decode_buffered(x)) < 0)
		return rc;
	if (x->rpos < x->rlen || x->piece_len || x->ended)
		return 0; /* a stdout piece in the buffer waits for the caller */
	x->rpos = x->rlen = 0;
	size_t n = 0;
	CURLcode cc = curl_easy_recv(x->conn.h, x->rbuf, RBUF, &n);
	if (cc == CURLE_AGAIN)
		return 0;
	if (cc != CURLE_OK)
		return broken(x, x->conn.errbuf[0] ? x->conn.errbuf : curl_easy_strerror(cc));
	if (n == 0) {
		x->ended = true;
		if (!x->status_done)
			return broken(x, "the connection closed before the command's status came");
		return 1;
	}
	x->rlen = n;
	if ((rc = decode_buffered(x)) < 0)
		return rc;
	return 1;
}

/* Waits for and decodes more of the stream (read mode): returns 0 or an error. */
static int receive_more(struct kube_exec *x, void *direct, size_t direct_len, size_t *direct_got)
{
	int rc;
	*direct_got = 0;
	if ((rc = decode_buffered(x)) < 0)
		return rc;
	if (x->piece_len || x->ended)
		return 0;
	/* The buffer is used up. */
	x->rpos = x->rlen = 0;
	uint64_t left = ws_decoder_data_left(&x->dec);
	if (direct && left && x->chan == CH_STDOUT) {
		size_t want = left < direct_len ? (size_t)left : direct_len;
		size_t n;
		const char *why;
		x->direct = true;
		rc = net_recv(x, direct, want, &n, &why);
		x->direct = false;
		if (rc < 0)
			return rc;
		if (rc > 0)
			return broken(x, why);
		if (n == 0)
			goto closed;
		if (ws_decoder_skip(&x->dec, n)) {
			x->in_msg = false;
			x->chan = -1;
		}
		x->stdout_bytes += n;
		*direct_got = n;
		return 0;
	}
	size_t n;
	const char *why;
	if ((rc = net_recv(x, x->rbuf, RBUF, &n, &why)) < 0)
		return rc;
	if (rc > 0)
		return broken(x, why);
	if (n == 0)
		goto closed;
	x->rlen = n;
	return decode_buffered(x);
closed:
	x->ended = true;
	if (!x->status_done)
		return broken(x, "the connection closed before the command's status came");
	return 0;
}

/* ---- the API ---------------------------------------------------------------------- */

int kube_exec_read(struct kube_exec *x, void *buf, size_t len, size_t *got)
{
	*got = 0;
	if (x->failed)
		return kahu_error_restore(&x->err);
	for (;;) {
		if (x->spill_pos < x->spill.len) {
			size_t n = x->spill.len - x->spill_pos;
			if (n > len)
				n = len;
			memcpy(buf, x->spill.data + x->spill_pos, n);
			x->spill_pos += n;
			if (x->spill_pos == x->spill.len) {
				kbuf_reset(&x->spill);
				x->spill_pos = 0;
			}
			*got = n;
			return 0;
		}
		if (x->piece_len) {
			size_t n = x->piece_len < len ? x->piece_len : len;
			memcpy(buf, x->piece, n);
			x->piece += n;
			x->piece_len -= n;
			*got = n;
			return 0;
		}
		if (x->ended) {
			if (!x->status_done)
				return broken(x, "the stream ended before the command's status");
			return 0;
		}
		if (len == 0)
			return 0;
		size_t direct = 0;
		int rc = receive_more(x, buf, len, &direct);
		if (rc < 0)
			return rc;
		if (direct) {
			*got = direct;
			return 0;
		}
	}
}

int kube_exec_write_some(struct kube_exec *x, const void *buf, size_t len, size_t *written)
{
	const uint8_t *p = buf;
	static const uint8_t ch0 = CH_STDIN;
	int rc;

	*written = 0;
	if (x->failed)
		return kahu_error_restore(&x->err);
	if (!x->want_stdin || x->stdin_closed)
		return kahu_error_set(KAHU_EINTERNAL, "exec in %s: stdin is %s", x->what,
				      x->want_stdin ? "closed" : "not open");
	/* What came meanwhile (stderr, the Status) is taken in first: a command that has
	 * ended is seen at once, not after the rest of its input. */
	if ((rc = pump(x)) < 0)
		return rc;
	for (;;) {
		if (x->status_done || x->ended) {
			if (!x->status_done)
				return broken(x, "the connection closed before the command's status came");
			return ended_early(x, len);
		}
		if ((rc = flush_out(x)) < 0)
			return rc;
		/* Queue more while the socket takes it all. */
		while (*written < len && !out_pending(x) && !x->status_done && !x->ended) {
			size_t n = len - *written < IN_FRAME_MAX ? len - *written : IN_FRAME_MAX;
			out_frame(x, WS_OP_BINARY, &ch0, 1, p + *written, n);
			*written += n;
			x->stdin_bytes += n;
			if ((rc = flush_out(x)) < 0)
				return rc;
		}
		if (*written || x->piece_len)
			return 0;
		/* Nothing went: wait for room, taking in what comes meanwhile (a stdout
		 * piece ends the call, so that the caller reads it). */
		if ((rc = pump(x)) < 0)
			return rc;
		if (x->piece_len || rc > 0)
			continue;
		short rev;
		if ((rc = wait_sock(x, x->ended ? POLLOUT : POLLOUT | POLLIN, &rev)) < 0)
			return rc;
	}
}

int kube_exec_write(struct kube_exec *x, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		size_t w;
		int rc = kube_exec_write_some(x, p, len, &w);
		if (rc < 0)
			return rc;
		p += w;
		len -= w;
		/* stdout that came meanwhile is kept for the reads, bounded. */
		if (x->piece_len) {
			if (x->spill.len - x->spill_pos + x->piece_len > KUBE_EXEC_SPILL_MAX) {
				kahu_error_set(KAHU_EIO, "more than %u MiB of output from %s came "
					       "while its input was written and was not read",
					       KUBE_EXEC_SPILL_MAX >> 20, x->what);
				return fail(x, KAHU_EIO);
			}
			kbuf_add(&x->spill, x->piece, x->piece_len);
			x->piece_len = 0;
		}
	}
	return 0;
}

bool kube_exec_can_half_close(const struct kube_exec *x)
{
	return x->v5;
}

bool kube_exec_ended(const struct kube_exec *x)
{
	return x->status_done;
}

int kube_exec_close_stdin(struct kube_exec *x)
{
	if (x->failed)
		return kahu_error_restore(&x->err);
	if (!x->want_stdin || x->stdin_closed || !x->v5 || x->ended || x->status_done) {
		x->stdin_closed = x->want_stdin;
		return 0;
	}
	static const uint8_t close0[2] = { CH_CLOSE, CH_STDIN };
	x->stdin_closed = true;
	out_frame(x, WS_OP_BINARY, NULL, 0, close0, sizeof close0);
	return flush_out(x); /* what is left goes on while reading */
}

/* The exit code from the Status: 0 or an error with the message set. */
static int status_exit_code(struct kube_exec *x, int *exit_code)
{
	json_error_t je;
	json_t *st = json_loadb(x->status.data ? x->status.data : "", x->status.len, 0, &je);
	int rc = 0;

	if (!json_is_object(st)) {
		rc = kahu_error_set(KAHU_EPROTO, "the status of the command in %s is not a JSON "
				    "object", x->what);
		goto out;
	}
	const char *s = json_string_value(json_object_get(st, "status"));
	const char *reason = json_string_value(json_object_get(st, "reason"));
	const char *msg = json_string_value(json_object_get(st, "message"));
	if (s && strcmp(s, "Success") == 0) {
		*exit_code = 0;
		goto out;
	}
	if (reason && strcmp(reason, "NonZeroExitCode") == 0) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(st, "details"), "causes"), i, c) {
			const char *r = json_string_value(json_object_get(c, "reason"));
			const char *m = json_string_value(json_object_get(c, "message"));
			if (!r || strcmp(r, "ExitCode") != 0 || !m)
				continue;
			char *end;
			errno = 0;
			long v = strtol(m, &end, 10);
			if (errno || end == m || *end || v < 0 || v > 255) {
				rc = kahu_error_set(KAHU_EPROTO, "the status of the command in %s "
						    "names exit code \"%.32s\"", x->what, m);
				goto out;
			}
			*exit_code = (int)v;
			goto out;
		}
	}
	struct kbuf b = KBUF_INIT;
	kbuf_add_printable(&b, msg ? msg : reason ? reason : "no message", 0);
	rc = kahu_error_set(KAHU_EFAIL, "the command in %s failed: %s", x->what, kbuf_str(&b));
	kbuf_free(&b);
out:
	json_decref(st);
	return rc;
}

int kube_exec_finish(struct kube_exec *x, int *exit_code)
{
	uint8_t scratch[16384];
	size_t got;
	int rc;

	*exit_code = -1;
	if (x->failed)
		return kahu_error_restore(&x->err);
	if (x->want_stdin && !x->stdin_closed && (rc = kube_exec_close_stdin(x)) < 0)
		return rc;
	do {
		if ((rc = kube_exec_read(x, scratch, sizeof scratch, &got)) < 0)
			return rc;
	} while (got);
	if (!x->status_done)
		return broken(x, "the stream ended without the command's status");
	return status_exit_code(x, exit_code);
}

const char *kube_exec_stderr_tail(const struct kube_exec *x)
{
	return x->tail;
}

const char *kube_exec_protocol(const struct kube_exec *x)
{
	return x->proto;
}

size_t kube_exec_ready(const struct kube_exec *x)
{
	return (x->spill.len - x->spill_pos) + x->piece_len;
}

unsigned long long kube_exec_stdout_bytes(const struct kube_exec *x)
{
	return x->stdout_bytes;
}

void kube_exec_set_stderr_fd(struct kube_exec *x, int fd)
{
	x->stderr_fd = fd;
}

void kube_exec_free(struct kube_exec *x)
{
	if (!x)
		return;
	if (x->conn.h)
		kube_transport_discard(x->t, &x->conn);
	free(x->rbuf);
	kbuf_free(&x->spill);
	kbuf_free(&x->status);
	kbuf_free(&x->out);
	free(x->what);
	free(x);
}

/* ---- the handshake ---------------------------------------------------------------- */

static int set_connect_error(struct kube_exec *x, CURLcode cc)
{
	const char *server = kube_transport_server(x->t);
	const char *detail = x->conn.errbuf[0] ? x->conn.errbuf : curl_easy_strerror(cc);
	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return kahu_error_set(KAHU_EINTR, "interrupted");
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		return kahu_error_set(KAHU_EUNREACHABLE, "cannot reach %s: %s", server, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		return kahu_error_set(KAHU_ETLS, "TLS with %s failed: %s", server, detail);
	default:
		return kahu_error_set(KAHU_EUNREACHABLE, "cannot connect to %s for exec: %s",
				      server, detail);
	}
}

/* Sends all of buf (blocking, with the token and the idle timeout). */
static int send_all(struct kube_exec *x, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(x->conn.h, buf + off, len - off, &n);
		if (cc == CURLE_OK) {
			off += n;
			continue;
		}
		if (cc != CURLE_AGAIN)
			return kahu_error_set(KAHU_EUNREACHABLE, "exec in %s: cannot send the "
					      "request: %s", x->what, curl_easy_strerror(cc));
		short rev;
		int rc = wait_sock(x, POLLOUT, &rev);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The value of header `name` in the head (NUL-terminated, lines ending in CRLF), copied
 * into out; NULL when absent. */
static const char *header_value(const char *head, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");
	while (p && p[2]) {
		p += 2;
		const char *e = strstr(p, "\r\n");
		if (!e)
			break;
		if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = e;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t n = (size_t)(ve - v) < outlen - 1 ? (size_t)(ve - v) : outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return out;
		}
		p = e;
	}
	return NULL;
}

/* The body of a refused Upgrade: Content-Length, chunked, or up to the end. */
static int read_body(struct kube_exec *x, const char *head, struct kbuf *body)
{
	char v[64];
	long clen = -1;
	bool chunked = false;
	if (header_value(head, "Content-Length", v, sizeof v))
		clen = strtol(v, NULL, 10);
	if (header_value(head, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked"))
		chunked = true;
	struct kbuf raw = KBUF_INIT;
	kbuf_add(&raw, x->rbuf + x->rpos, x->rlen - x->rpos);
	for (;;) {
		if (clen >= 0 && !chunked && raw.len >= (size_t)clen)
			break;
		if (chunked && raw.data && strstr(raw.data, "\r\n0\r\n"))
			break;
		if (chunked && raw.len >= 3 && strncmp(raw.data, "0\r\n", 3) == 0)
			break;
		if (raw.len >= RESP_BODY_MAX)
			break;
		uint8_t tmp[4096];
		size_t n;
		const char *why;
		if (net_recv(x, tmp, sizeof tmp, &n, &why) != 0 || n == 0)
			break;
		kbuf_add(&raw, tmp, n);
	}
	x->failed = false; /* what the body's reading met is not the answer's error */
	if (!chunked) {
		kbuf_add(body, raw.data, clen >= 0 && (size_t)clen < raw.len ? (size_t)clen : raw.len);
	} else {
		const char *p = raw.data ? raw.data : "";
		const char *end = p + raw.len;
		while (p < end) {
			char *e;
			unsigned long n = strtoul(p, &e, 16);
			const char *line = strstr(p, "\r\n");
			if (!line || n == 0)
				break;
			p = line + 2;
			if ((size_t)(end - p) < n)
				n = (unsigned long)(end - p);
			kbuf_add(body, p, n);
			p += n + 2;
		}
	}
	kbuf_free(&raw);
	return 0;
}

static int refused(struct kube_exec *x, const struct kube_exec_opts *o, long status,
		   const char *head)
{
	struct kbuf body = KBUF_INIT;
	read_body(x, head, &body);
	char *m = kube_status_message(&body);
	struct kbuf msg = KBUF_INIT;
	kbuf_add_printable(&msg, m ? m : "", 0);
	free(m);
	const char *sm = kbuf_str(&msg);
	const char *sep = *sm ? ": " : "";
	int rc;

	switch (status) {
	case 401:
		rc = kahu_error_set(KAHU_EAUTH, "exec in %s: 401 Unauthorized: the server did "
				    "not accept the credentials%s%s", x->what, sep, sm);
		break;
	case 403:
		rc = kahu_error_set(KAHU_EFORBIDDEN, "exec in %s: 403 Forbidden: the credentials "
				    "lack the pods/exec permission (verb create on resource "
				    "pods/exec) in namespace %s%s%s", x->what, o->namespace_, sep, sm);
		break;
	case 404:
		rc = kahu_error_set(KAHU_ENOTFOUND, "exec in %s: 404 Not Found: no pod %s in "
				    "namespace %s%s%s", x->what, o->pod, o->namespace_, sep, sm);
		break;
	case 400:
		if (strstr(sm, "is not valid for pod"))
			rc = kahu_error_set(KAHU_ENOTFOUND, "exec in %s: 400 Bad Request: "
					    "container %s not found%s%s", x->what,
					    o->container ? o->container : "(default)", sep, sm);
		else if (strstr(sm, "must be specified"))
			rc = kahu_error_set(KAHU_EUSAGE, "exec in %s: 400 Bad Request: the pod has "
					    "several containers, name one%s%s", x->what, sep, sm);
		else if (strstr(sm, "container not found") || strstr(sm, "not running") ||
			 strstr(sm, "waiting to start") || strstr(sm, "host assigned"))
			rc = kahu_error_set(KAHU_ETEMP, "exec in %s: 400 Bad Request: the container "
					    "is not running%s%s", x->what, sep, sm);
		else if (strstr(sm, "completed pod"))
			rc = kahu_error_set(KAHU_EFAIL, "exec in %s: 400 Bad Request: the pod has "
					    "completed%s%s", x->what, sep, sm);
		else
			rc = kahu_error_set(KAHU_EPROTO, "exec in %s: 400 Bad Request%s%s",
					    x->what, sep, sm);
		break;
	default:
		rc = kahu_error_set(status >= 500 || status == 429 ? KAHU_ETEMP : KAHU_EPROTO,
				    "exec in %s: the server refused the upgrade with HTTP %ld%s%s",
				    x->what, status, sep, sm);
		break;
	}
	kbuf_free(&msg);
	kbuf_free(&body);
	return rc;
}

/* Connects, sends the Upgrade request and reads the answer.  Returns 0 (upgraded), a
 * positive HTTP status (401, after which the caller may retry once), or an error. */
/* Through OpenSSL, a TLS record is read with two receives (its header, then its body):
 * a stream of 16 KiB records cost a system call per 8 KiB and, over loopback, the
 * kernel's acknowledgements of each.  The stream's connection reads ahead instead, into
 * a buffer of TLS_RBUF bytes, so that one receive takes what the socket holds, up to
 * that.  Not more: before each record OpenSSL moves what is left in its buffer to the
 * buffer's start, so a buffer of many records copies them several times (256 KiB: some
 * 2.6 bytes moved per byte received, as much user time as the receives saved; 64 KiB:
 * a receive per 32 KiB, half a byte moved per byte).
 * Reading ahead, OpenSSL may hold whole records the socket no longer shows: safe here,
 * since this connection is only read by loops that try a receive before they wait
 * (OpenSSL's handshake, libcurl's proxy tunnel reading its answer, net_recv and pump),
 * and it is never handed back to the pool (kube_exec_free discards it).  The two
 * OpenSSL functions are looked up in the process, where libcurl's OpenSSL put them: kahu
 * gains no build dependency, and with another TLS library nothing changes. */
static CURLcode tls_read_ahead(CURL *h, void *ssl_ctx, void *ud)
{
	(void)h;
	(void)ud;
	void *a = dlsym(RTLD_DEFAULT, "SSL_CTX_ctrl");
	void *b = dlsym(RTLD_DEFAULT, "SSL_CTX_set_default_read_buffer_len");
	if (!a || !b)
		return CURLE_OK;
	long (*ctx_ctrl)(void *, int, long, void *);
	void (*set_len)(void *, size_t);
	/* (dlsym returns an object pointer: copied, not cast, into the function pointers) */
	memcpy(&ctx_ctrl, &a, sizeof a);
	memcpy(&set_len, &b, sizeof b);
	set_len(ssl_ctx, TLS_RBUF);
	ctx_ctrl(ssl_ctx, 41 /* SSL_CTRL_SET_READ_AHEAD */, 1, NULL);
	return CURLE_OK;
}

/* libcurl's TLS library is OpenSSL (its version string names the one in use first) */
static bool tls_is_openssl(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	return v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

static int handshake(struct kube_exec *x, const struct kube_exec_opts *o, const char *path)
{
	int rc;
	if ((rc = kube_transport_open_raw(x->t, path, NULL, &x->conn)) < 0)
		return rc;
	if (tls_is_openssl())
		curl_easy_setopt(x->conn.h, CURLOPT_SSL_CTX_FUNCTION, tls_read_ahead);
	CURLcode cc = curl_easy_perform(x->conn.h);
	if (cc != CURLE_OK)
		return set_connect_error(x, cc);
	curl_socket_t s = CURL_SOCKET_BAD;
	if (curl_easy_getinfo(x->conn.h, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
	    s == CURL_SOCKET_BAD)
		return kahu_error_set(KAHU_EINTERNAL, "exec in %s: no socket after connecting",
				      x->what);
	x->fd = s;

	/* The request line's target and the Host from the handle's URL. */
	char *url = NULL;
	curl_easy_getinfo(x->conn.h, CURLINFO_EFFECTIVE_URL, &url);
	CURLU *u = curl_url();
	char *upath = NULL, *uquery = NULL, *host = NULL, *port = NULL;
	if (!u || !url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &upath, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		return kahu_error_set(KAHU_EINTERNAL, "exec in %s: cannot read back the URL",
				      x->what);
	}
	curl_url_get(u, CURLUPART_QUERY, &uquery, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);

	char key[25], want_accept[29];
	ws_new_key(key);
	ws_accept(key, want_accept);
	struct kbuf req = KBUF_INIT;
	kbuf_addf(&req, "GET %s%s%s HTTP/1.1\r\n", upath, uquery ? "?" : "", uquery ? uquery : "");
	bool have_host = false;
	for (struct curl_slist *l = x->conn.headers; l; l = l->next)
		if (strncasecmp(l->data, "Host:", 5) == 0)
			have_host = true;
	if (!have_host)
		kbuf_addf(&req, "Host: %s%s%s\r\n", host, port ? ":" : "", port ? port : "");
	curl_free(upath);
	curl_free(uquery);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	kbuf_addf(&req, "User-Agent: kahu/%s\r\n", PACKAGE_VERSION);
	for (struct curl_slist *l = x->conn.headers; l; l = l->next)
		kbuf_addf(&req, "%s\r\n", l->data);
	kbuf_addf(&req, "Connection: Upgrade\r\nUpgrade: websocket\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
		  "Sec-WebSocket-Protocol: %s\r\n\r\n", key,
		  (o->flags & KUBE_EXEC_V4_ONLY) ? PROTO_V4 : PROTO_V5 ", " PROTO_V4);
	rc = send_all(x, req.data, req.len);
	kbuf_free_secret(&req); /* it held the credentials */
	if (rc < 0)
		return rc;

	/* The answer's head; what follows it is the stream's first bytes. */
	size_t have = 0;
	char *end = NULL;
	for (;;) {
		size_t n;
		if (have >= RESP_HEAD_MAX)
			return kahu_error_set(KAHU_EPROTO, "exec in %s: the answer to the upgrade "
					      "has more than %u bytes of headers", x->what,
					      RESP_HEAD_MAX);
		const char *why;
		if ((rc = net_recv(x, x->rbuf + have, RESP_HEAD_MAX - have, &n, &why)) < 0)
			return rc;
		if (rc > 0)
			return kahu_error_set(KAHU_EUNREACHABLE, "exec in %s: no answer to the "
					      "upgrade: %s", x->what, why);
		if (n == 0)
			return kahu_error_set(KAHU_EUNREACHABLE, "exec in %s: the server closed the "
					      "connection without answering the upgrade", x->what);
		have += n;
		x->rbuf[have] = '\0';
		if ((end = strstr((char *)x->rbuf, "\r\n\r\n")))
			break;
	}
	size_t head_len = (size_t)(end - (char *)x->rbuf) + 4;
	char *head = xmalloc(head_len + 1);
	memcpy(head, x->rbuf, head_len);
	head[head_len - 2] = '\0'; /* keeps the last header's CRLF */
	x->rpos = head_len;
	x->rlen = have;

	long status = 0;
	if (sscanf(head, "HTTP/1.%*d %ld", &status) != 1) {
		free(head);
		return kahu_error_set(KAHU_EPROTO, "exec in %s: the answer to the upgrade is not "
				      "HTTP", x->what);
	}
	if (status != 101) {
		if (status == 401 && kube_transport_reauth(x->t)) {
			free(head);
			return 401;
		}
		rc = refused(x, o, status, head);
		free(head);
		return rc;
	}
	char v[256];
	rc = 0;
	if (!header_value(head, "Upgrade", v, sizeof v) || strcasecmp(v, "websocket") != 0)
		rc = kahu_error_set(KAHU_EPROTO, "exec in %s: the server switched to a protocol "
				    "other than websocket", x->what);
	else if (!header_value(head, "Sec-WebSocket-Accept", v, sizeof v) ||
		 strcmp(v, want_accept) != 0)
		rc = kahu_error_set(KAHU_EPROTO, "exec in %s: the server's Sec-WebSocket-Accept "
				    "does not match the key sent", x->what);
	else if (!header_value(head, "Sec-WebSocket-Protocol", v, sizeof v))
		rc = kahu_error_set(KAHU_EPROTO, "exec in %s: the server chose no subprotocol "
				    "(kahu speaks " PROTO_V5 " and " PROTO_V4 ")", x->what);
	else if (strcmp(v, PROTO_V5) == 0 && !(o->flags & KUBE_EXEC_V4_ONLY))
		x->proto = PROTO_V5, x->v5 = true;
	else if (strcmp(v, PROTO_V4) == 0)
		x->proto = PROTO_V4;
	else {
		struct kbuf b = KBUF_INIT;
		kbuf_add_printable(&b, v, 0);
		rc = kahu_error_set(KAHU_EPROTO, "exec in %s: the server chose subprotocol "
				    "\"%s\", which was not offered", x->what, kbuf_str(&b));
		kbuf_free(&b);
	}
	free(head);
	return rc;
}

int kube_exec_open(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec **out)
{
	*out = NULL;
	if (!o->namespace_ || !*o->namespace_ || !o->pod || !*o->pod)
		return kahu_error_set(KAHU_EUSAGE, "exec: a namespace and a pod are needed");
	if (!o->argv || !o->argv[0])
		return kahu_error_set(KAHU_EUSAGE, "exec: no command given");
	if (o->container && !*o->container)
		return kahu_error_set(KAHU_EUSAGE, "exec: empty container name");

	struct kube_exec *x = xcalloc(1, sizeof *x);
	x->t = kube_client_transport(c);
	x->fd = CURL_SOCKET_BAD;
	x->stderr_fd = -1;
	x->chan = -1;
	x->idle_ms = o->idle_timeout_ms;
	x->want_stdin = o->stdin_;
	x->rbuf = xmalloc(RBUF + 1);
	ws_decoder_init(&x->dec, false, MAX_MESSAGE);
	{
		struct kbuf w = KBUF_INIT;
		kbuf_adds(&w, "pod ");
		kbuf_add_printable(&w, o->namespace_, 0);
		kbuf_addc(&w, '/');
		kbuf_add_printable(&w, o->pod, 0);
		if (o->container) {
			kbuf_adds(&w, " container ");
			kbuf_add_printable(&w, o->container, 0);
		}
		x->what = kbuf_detach(&w);
	}

	char *ns = curl_easy_escape(NULL, o->namespace_, 0);
	char *pod = curl_easy_escape(NULL, o->pod, 0);
	char *q = kube_exec_query(o);
	char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/exec?%s", ns, pod, q);
	curl_free(ns);
	curl_free(pod);
	free(q);

	int rc;
	x->idle_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms : HANDSHAKE_IDLE_MS;
	for (int attempt = 0;; attempt++) {
		rc = handshake(x, o, path);
		if (rc != 401 || attempt > 0)
			break;
		kube_transport_discard(x->t, &x->conn); /* and again with fresh credentials */
		x->rpos = x->rlen = 0;
	}
	free(path);
	if (rc == 401)
		rc = kahu_error_set(KAHU_EAUTH, "exec in %s: 401 Unauthorized", x->what);
	if (rc < 0) {
		kube_exec_free(x);
		return rc;
	}
	x->failed = false;
	x->idle_ms = o->idle_timeout_ms;
	x->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
	x->deadline = x->timeout_ms ? mono_ms() + x->timeout_ms : 0;
	/* Bytes after the answer's head are frames already: keep them at the buffer's start. */
	memmove(x->rbuf, x->rbuf + x->rpos, x->rlen - x->rpos);
	x->rlen -= x->rpos;
	x->rpos = 0;
	log_debug("exec in %s: %s", x->what, x->proto);
	*out = x;
	return 0;
}
