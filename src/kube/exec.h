/* kahu — running a command in a container: pods/exec over a WebSocket.
 *
 * A pull API, single-threaded: open starts the command (the Upgrade request over a
 * connection taken from the transport, CONNECT_ONLY, HTTP/1.1), then the caller reads
 * its stdout, writes its stdin, closes stdin, and finishes to learn the exit code.
 *
 *     struct kube_exec *x;
 *     const char *argv[] = { "tar", "-c", "-f", "-", ".", NULL };
 *     struct kube_exec_opts o = { .namespace_ = "ns", .pod = "p", .argv = argv };
 *     if ((rc = kube_exec_open(kc, &o, &x)) < 0)
 *             return rc;                               // message set
 *     while ((rc = kube_exec_read(x, buf, sizeof buf, &got)) == 0 && got)
 *             ...use buf[0..got)...
 *     if (rc == 0)
 *             rc = kube_exec_finish(x, &exit_code);
 *     kube_exec_free(x);
 *
 * The subprotocols offered are v5.channel.k8s.io (stdin can be closed: the command
 * sees end of file) and v4.channel.k8s.io; each binary message is one byte of channel
 * (0 stdin, 1 stdout, 2 stderr, 3 the Status of the command as JSON, 4 resize, 255
 * close in v5) then its data.  stdout is handed over as it comes (a frame's payload is
 * received straight into the caller's buffer when it can be); stderr keeps its last
 * 4 KiB for messages; the Status says how the command ended.
 *
 * Errors are 0 or a negative kahu_err with the message set (err.h):
 *   open:   the connection's (KAHU_EUNREACHABLE, KAHU_ETLS, KAHU_EINTR); 401 KAHU_EAUTH;
 *           403 KAHU_EFORBIDDEN naming the missing pods/exec (create) permission in the
 *           namespace; 404 KAHU_ENOTFOUND naming the pod; 400: a container not found
 *           (KAHU_ENOTFOUND), not running yet (KAHU_ETEMP), none named in a pod of several
 *           (KAHU_EUSAGE), a completed pod (KAHU_EFAIL), with the server's message; a server that
 *           speaks neither subprotocol, a bad handshake: KAHU_EPROTO;
 *   later:  "exec stream broken after N bytes" (KAHU_EIO) when the connection ends or
 *           resets before the Status came (what the server sent before the reset,
 *           stderr and the Status too, is still taken in, also when a send failed): the
 *           caller may run the command again; a write when the command has ended (its
 *           Status came) before it read all of its input: KAHU_EFAIL "the command ended
 *           before it read all of its input" (the input is not dropped in silence; the
 *           session is not failed: finish gives the exit code, the stderr tail why);
 *           KAHU_ETEMP when nothing arrived for idle_timeout_ms or the command had not
 *           ended timeout_ms after open (checked whatever arrives); KAHU_EINTR when the run
 *           was cancelled (util/cancel.h); KAHU_EPROTO for a frame or channel that
 *           breaks the protocol; KAHU_EFAIL for a Status that is neither success nor
 *           an exit code (the command could not be started: its message). */
#ifndef KAHU_KUBE_EXEC_H
#define KAHU_KUBE_EXEC_H

#include <stdbool.h>
#include <stddef.h>

struct kube_client;
struct kube_exec;

enum {
	KUBE_EXEC_V4_ONLY = 1 << 0, /* offer v4.channel.k8s.io alone (tests) */
};

struct kube_exec_opts {
	const char *namespace_, *pod, *container;   /* container NULL: the server's default */
	const char *const *argv;                     /* NULL-terminated */
	bool stdin_;                                 /* open channel 0 */
	int idle_timeout_ms;                         /* no frame for this long: KAHU_ETEMP; 0 = none */
	int timeout_ms;                              /* the command not ended this long after open:
						      * KAHU_ETEMP, whatever it writes; 0 = none */
	unsigned flags;                              /* KUBE_EXEC_V4_ONLY (tests), ... */
};

/* stdout that arrives while kube_exec_write waits to send is kept, up to this much;
 * beyond it the write fails: a caller with much to write and much to read uses
 * kube_exec_write_some and reads what is ready between its calls. */
#define KUBE_EXEC_SPILL_MAX (64u << 20)

int kube_exec_open(struct kube_client *c, const struct kube_exec_opts *o, struct kube_exec **out);
/* stdout: *got == 0 once stdout ended (the server closed the stream after the Status). */
int kube_exec_read(struct kube_exec *x, void *buf, size_t len, size_t *got);
/* stdin (drains incoming frames as needed: never deadlocks).  What arrived meanwhile is
 * taken in first, so a command that has ended is seen before more is sent. */
int kube_exec_write(struct kube_exec *x, const void *buf, size_t len);
/* stdin, as much as goes without waiting for the caller to read: *written (> 0 unless
 * stdout is ready to be read, kube_exec_ready) bytes were taken; the caller reads what
 * is ready, then goes on.  Memory stays bounded whatever the command writes back.
 * Frames queued but not yet sent go on during the following reads. */
int kube_exec_write_some(struct kube_exec *x, const void *buf, size_t len, size_t *written);
/* v5: close channel 0 (the frame goes on during the following reads); v4: nothing to send (returns 0, kube_exec_can_half_close() false). */
int kube_exec_close_stdin(struct kube_exec *x);
bool kube_exec_can_half_close(const struct kube_exec *x);
/* The command has ended: its Status came (writes then fail, KAHU_EFAIL; finish gives
 * its exit code). */
bool kube_exec_ended(const struct kube_exec *x);
/* Reads to the end (stdout left unread is dropped); the exit code from the channel-3
 * Status: Success 0, a NonZeroExitCode its ExitCode cause. */
int kube_exec_finish(struct kube_exec *x, int *exit_code);
/* The last <= 4 KiB of stderr (NUL-terminated), for messages. */
const char *kube_exec_stderr_tail(const struct kube_exec *x);
/* "v5.channel.k8s.io" | "v4.channel.k8s.io" */
const char *kube_exec_protocol(const struct kube_exec *x);
/* stdout bytes already received and not yet read (kube_exec_read hands them over
 * without waiting). */
size_t kube_exec_ready(const struct kube_exec *x);
/* stdout bytes received so far. */
unsigned long long kube_exec_stdout_bytes(const struct kube_exec *x);
/* stderr is also written to fd as it comes (best effort; -1: only the tail is kept). */
void kube_exec_set_stderr_fd(struct kube_exec *x, int fd);
/* Closes the connection (kube_transport_discard). NULL is allowed. */
void kube_exec_free(struct kube_exec *x);

/* What goes between `.../pods/POD/exec?` and the end of the request line (every argv
 * element a command= parameter, values percent-encoded).  Caller frees.  For tests. */
char *kube_exec_query(const struct kube_exec_opts *o);

#endif
