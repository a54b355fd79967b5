/* kahu — fuzz target: the watch event stream parser (src/kube/watch.c), which reads
 * what an API server (or anything on the way to it) sends on a watch.
 *
 * The first byte chooses the size of the pieces the rest is fed in (0: all at once) and
 * a limit on an event's size; the rest is the stream.  Invariants: whatever the pieces,
 * the same events come out with the same result as when the stream is fed whole; every
 * event handed on is one jansson reads back as an object with a "type"; an ADDED,
 * MODIFIED or DELETED event has a name and a resourceVersion, a BOOKMARK a
 * resourceVersion; no more events than the stream has '{' bytes; an error is
 * KAHU_EPROTO with a message saying it is about the watch stream. */
#include "fuzz.h"

#include <jansson.h>

#include "kube/watch.h"
#include "util/buf.h"
#include "util/err.h"

struct seen {
	struct kbuf log;
	size_t n;
};

static int on_ev(void *ud, const struct kube_wevent *ev)
{
	struct seen *s = ud;
	FUZZ_CHECK(json_is_object(ev->object));
	if (ev->type <= KUBE_WEV_DELETED)
		FUZZ_CHECK(ev->name && *ev->name && ev->ns && ev->resource_version && *ev->resource_version);
	if (ev->type == KUBE_WEV_BOOKMARK)
		FUZZ_CHECK(ev->resource_version && *ev->resource_version);
	if (ev->type == KUBE_WEV_ERROR)
		FUZZ_CHECK(ev->reason && ev->message);
	s->n++;
	kbuf_addf(&s->log, "%s|%s|%s|%s|%ld\n", kube_wtype_name(ev->type), ev->ns ? ev->ns : "",
		  ev->name ? ev->name : "", ev->resource_version ? ev->resource_version : "", ev->code);
	return 0;
}

static int parse(const uint8_t *d, size_t len, size_t step, size_t max, struct seen *s)
{
	struct kube_wparse *p = kube_wparse_new(max, on_ev, s);
	int rc = 0;
	if (!step)
		rc = kube_wparse_feed(p, d, len);
	for (size_t at = 0; step && at < len && rc == 0; at += step)
		rc = kube_wparse_feed(p, d + at, len - at < step ? len - at : step);
	if (rc == 0)
		rc = kube_wparse_finish(p);
	FUZZ_CHECK(kube_wparse_events(p) == s->n);
	kube_wparse_free(p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	size_t step = (mode & 15) ? (size_t)(mode & 15) * 5 - 4 : 0;
	size_t max = (mode & 0x10) ? 200 : 0;
	const uint8_t *d = data + 1;
	size_t len = size - 1;

	struct seen whole = { .log = KBUF_INIT }, cut = { .log = KBUF_INIT };
	int rc1 = parse(d, len, 0, max, &whole);
	char *m1 = strdup(rc1 < 0 ? kahu_error_last() : "");
	int rc2 = parse(d, len, step, max, &cut);
	FUZZ_CHECK(rc1 == rc2);
	FUZZ_CHECK(!strcmp(kbuf_str(&whole.log), kbuf_str(&cut.log)));
	if (rc1 < 0) {
		FUZZ_CHECK(rc1 == KAHU_EPROTO);
		FUZZ_CHECK(strncmp(m1, "watch stream: ", 14) == 0);
	}
	size_t braces = 0;
	for (size_t i = 0; i < len; i++)
		braces += d[i] == '{';
	FUZZ_CHECK(whole.n <= braces);
	free(m1);
	kbuf_free(&whole.log);
	kbuf_free(&cut.log);
	return 0;
}
