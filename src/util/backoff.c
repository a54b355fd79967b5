#include "util/backoff.h"
#include "util/cancel.h"

#include <ctype.h>
#include <stdint.h>
#include <time.h>

long kahu_backoff_delay(const struct kahu_backoff *b, int attempt, unsigned random)
{
	long ms = b->base_ms > 0 ? b->base_ms : 0;

	for (int i = 1; i < attempt && i <= 16 && (b->cap_ms <= 0 || ms < b->cap_ms); i++)
		ms *= 2;
	if (b->cap_ms > 0 && ms > b->cap_ms)
		ms = b->cap_ms;
	if (b->jitter_div) {
		long spread = ms / (long)b->jitter_div;
		ms = ms - spread + (long)(random % (unsigned long)(2 * spread + 1));
		if (b->cap_ms > 0 && ms > b->cap_ms)
			ms = b->cap_ms;
	}
	return ms;
}

int kahu_backoff_plan(struct kahu_backoff *b, int attempt, long asked_ms, long *want_ms,
		      long *wait_ms)
{
	long want = asked_ms >= 0 ? asked_ms : kahu_backoff_delay(b, attempt, kahu_random());
	*want_ms = *wait_ms = want;
	if (b->budget_ms <= 0)
		return KAHU_BACKOFF_WAIT;
	long left = b->budget_ms - b->waited_ms;
	if (left <= 0) {
		*wait_ms = 0;
		return KAHU_BACKOFF_SPENT;
	}
	if (want > left) {
		*wait_ms = left;
		return KAHU_BACKOFF_SHORTENED;
	}
	return KAHU_BACKOFF_WAIT;
}

int kahu_backoff_wait(struct kahu_backoff *b, long ms)
{
	b->waited_ms += ms;
	return kahu_cancel_sleep(ms);
}

long kahu_parse_retry_after(const char *value, long cap_s)
{
	long v = 0;
	const char *p = value;

	if (!p)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v < cap_s)
			v = v * 10 + (*p - '0');
	}
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p)
		return -1;
	return v > cap_s ? cap_s : v;
}

unsigned kahu_random(void)
{
	static _Thread_local uint32_t state;

	if (!state) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)&state ^ 0x9e3779b9u;
		if (!state)
			state = 1;
	}
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}
