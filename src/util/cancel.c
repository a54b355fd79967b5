#include "util/cancel.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static atomic_int reason;
/* The pipe's ends, -1 until created.  The read end is readable once a byte was
 * written: every poller wakes, and keeps waking, until a reset drains it. */
static atomic_int rfd = -1, wfd = -1;
static pthread_once_t pipe_once = PTHREAD_ONCE_INIT;
static int pipe_err;

static void make_pipe(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		pipe_err = errno;
		return;
	}
	atomic_store(&rfd, p[0]);
	atomic_store(&wfd, p[1]);
}

int kahu_cancel_init(void)
{
	pthread_once(&pipe_once, make_pipe);
	return atomic_load(&rfd) >= 0 ? 0 : KAHU_EIO;
}

/* Sequentially consistent atomics: either this sees the pipe, or the sleeper that
 * created it sees the reason before it polls. */
void kahu_cancel(int why)
{
	int expected = 0;
	atomic_compare_exchange_strong(&reason, &expected, why ? why : -1);
	int fd = atomic_load(&wfd);
	if (fd >= 0) {
		int saved = errno;
		ssize_t n = write(fd, "x", 1); /* a full pipe is readable already */
		(void)n;
		errno = saved;
	}
}

/* A thread that removes what an interrupted run created (kahu_cancel_shield) sees no
 * cancellation: its requests and waits run to their own timeouts. */
static _Thread_local int shielded;

void kahu_cancel_shield(int on)
{
	shielded = on ? 1 : 0;
}

int kahu_cancelled(void)
{
	return shielded ? 0 : atomic_load(&reason);
}

int kahu_cancel_fd(void)
{
	if (shielded)
		return -1;
	kahu_cancel_init();
	return atomic_load(&rfd);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kahu_cancel_sleep(long ms)
{
	int fd = kahu_cancel_fd();
	int64_t end = mono_ms() + (ms > 0 ? ms : 0);

	for (;;) {
		if (kahu_cancelled())
			return KAHU_EINTR;
		int64_t left = end - mono_ms();
		if (left <= 0)
			return 0;
		if (fd < 0) {
			/* No pipe (descriptors exhausted): short naps, still interruptible. */
			struct timespec ts = { 0, (left < 50 ? left : 50) * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return KAHU_EINTR;
		/* 0: timed out (checked above); <0: EINTR, look again */
	}
}

void kahu_cancel_reset(void)
{
	int fd = atomic_load(&rfd);
	char b[64];
	if (fd >= 0)
		while (read(fd, b, sizeof b) > 0)
			;
	atomic_store(&reason, 0);
}
