/* kahu — watching resource types: list, then watch, resuming, re-listing.
 *
 * Two layers:
 *
 *  - the event stream parser (kube_wparse_*), pure: a watch response body is a stream
 *    of JSON objects {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {…}},
 *    one after another (kube-apiserver writes a newline after each; nothing else may
 *    come between them).  Bytes are fed in pieces of any size, cut anywhere; each
 *    event is handed on once its last byte is in.  Memory is the largest single event
 *    (up to a limit), whatever the length of the stream.
 *
 *  - the watcher (kube_watch_run): for each of a set of types, a thread of its own that
 *    lists the type (paged, streamed: kube/pager.h), then watches it from the list's
 *    resourceVersion with bookmarks, and keeps a map of what it has seen (namespace/name
 *    → resourceVersion).  A watch that ends (the server's timeoutSeconds) is opened
 *    again at once from the last resourceVersion reached (an event's or a bookmark's);
 *    one that breaks (a reset, a cut body, 5xx) is opened again after a backoff wait
 *    (util/backoff.c), from the same place; an event the map already holds at that
 *    resourceVersion is not reported again.  A 410 Expired (an ERROR event or the
 *    answer's status) re-lists the type: the list is compared with the map, and what
 *    was added, changed or deleted meanwhile is reported as events marked `relisted`,
 *    after one KUBE_WEV_RELIST event saying why.  Events of all the types reach the
 *    callback one at a time (a lock), on the types' threads.
 *
 * The watches use a client of their own (kube/client.h) made from the configuration,
 * whose request slots are the watched types' (one long request each) plus one, so a
 * backup run's requests never wait behind watches, and whose idle timeout is longer
 * than the watches' timeoutSeconds.  Costs, per watched type: one thread (its stack is
 * reserved, not resident), one HTTP/1.1 connection to the API server for as long as
 * the watch is open, and the map of the type's objects (about 100 bytes an object);
 * docs/ARCHITECTURE.md ("Watching") has what 60 types measured. */
#ifndef KAHU_KUBE_WATCH_H
#define KAHU_KUBE_WATCH_H

#include <jansson.h>
#include <stddef.h>

struct kube_config;

/* ---- the event stream parser --------------------------------------------------- */

enum kube_wtype {
	KUBE_WEV_ADDED,
	KUBE_WEV_MODIFIED,
	KUBE_WEV_DELETED,
	KUBE_WEV_BOOKMARK,
	KUBE_WEV_ERROR,
	/* From the watcher only (never parsed): */
	KUBE_WEV_SYNCED,   /* the first list of a type is done (count: its objects) */
	KUBE_WEV_RELIST,   /* a re-list starts after a 410 (message: the server's) */
	KUBE_WEV_RESUMED,  /* a broken watch was opened again (message: how it broke) */
};

/* The name of a type ("ADDED", …). */
const char *kube_wtype_name(enum kube_wtype t);

struct kube_wevent {
	enum kube_wtype type;
	/* ADDED/MODIFIED/DELETED: the object's metadata (namespace "" for a cluster-scoped
	 * one); BOOKMARK: resource_version only. */
	const char *ns, *name, *resource_version;
	json_t *object;      /* the event's object (borrowed; ERROR: the Status) */
	/* ERROR: the Status's code (0 when it has none), reason and message ("" when
	 * absent). */
	long code;
	const char *reason, *message;
};

/* Return 0 to go on, or a negative kahu_err (message set), which stops the parse and
 * is returned by kube_wparse_feed. */
typedef int (*kube_wparse_fn)(void *ud, const struct kube_wevent *ev);

struct kube_wparse;

/* max_event: the largest event in bytes (0: 64 MiB). */
struct kube_wparse *kube_wparse_new(size_t max_event, kube_wparse_fn fn, void *ud);
void kube_wparse_free(struct kube_wparse *p);
/* A new stream (buffers kept, errors forgotten). */
void kube_wparse_reset(struct kube_wparse *p);
/* The next bytes of the stream.  Returns 0 or a negative kahu_err: KAHU_EPROTO with a
 * message naming the byte offset for what is not a stream of watch events (not JSON,
 * not an object, no known "type", an ADDED/MODIFIED/DELETED object without
 * metadata.name or resourceVersion, …, an event larger than max_event); the
 * callback's code as it returned it.  The first error sticks. */
int kube_wparse_feed(struct kube_wparse *p, const void *data, size_t len);
/* The stream has ended: 0 when it ended between events, KAHU_EPROTO when in one. */
int kube_wparse_finish(struct kube_wparse *p);
/* Events handed on since the last reset. */
size_t kube_wparse_events(const struct kube_wparse *p);

/* ---- the watcher ------------------------------------------------------------------ */

struct kube_watch_target {
	const char *group;         /* "" for core */
	const char *version;
	const char *resource;      /* plural */
	const char *kind;
	int namespaced;
	const char *namespace;     /* NULL: all namespaces (or cluster-scoped) */
	const char *label_selector;/* NULL: none */
};

struct kube_watch_event {
	const struct kube_watch_target *target;
	enum kube_wtype type;      /* ADDED, MODIFIED, DELETED, SYNCED, RELIST, RESUMED */
	const char *ns, *name;     /* ADDED/MODIFIED/DELETED */
	const char *resource_version;
	json_t *object;            /* ADDED/MODIFIED/DELETED with want_objects, else NULL
				    * (borrowed); for `relisted` DELETED: NULL */
	int relisted;              /* found by comparing a re-list with what was known */
	int listed;                /* ADDED with report_listed: there at the first list (the
				    * object as it stood, not a change) */
	long count;                /* SYNCED: objects listed */
	const char *message;       /* RELIST, RESUMED: why */
};

/* Called with one event at a time.  Return 0 to go on, or a negative kahu_err (message
 * set) to stop every watch: kube_watch_run returns it. */
typedef int (*kube_watch_fn)(void *ud, const struct kube_watch_event *ev);

struct kube_watch_opts {
	int want_objects;          /* hand the objects of events to the callback */
	int report_listed;         /* hand each object of a type's first list over as ADDED
				    * with `listed` set (before its SYNCED) */
	long timeout_s;            /* the watches' timeoutSeconds; default 290 */
	long backoff_base_ms;      /* the first wait after a broken watch; default 500 */
	long backoff_cap_ms;       /* default 30000 */
	size_t max_event;          /* default 64 MiB */
	const char *user_agent;
	/* Polled from every watch's thread at once (may be NULL; it must be thread-safe):
	 * non-zero stops every watch, and kube_watch_run returns 0.  The cancellation
	 * token (util/cancel.h) stops them too (KAHU_EINTR). */
	int (*stop)(void *ud);
};

/* Watch the n targets until the callback or `stop` ends it, the run is cancelled, or
 * a type fails for good (401 after a refresh, 403, 404, a 4xx other than 410, a list
 * that cannot be read, a stream that is not watch events): that type's error,
 * "watch of RESOURCE: …", is returned and the other watches are stopped.  Broken
 * connections and 5xx are retried without end (backoff capped). */
int kube_watch_run(const struct kube_config *cfg, const struct kube_watch_target *t, size_t n,
		   const struct kube_watch_opts *o, kube_watch_fn fn, void *ud);

#endif
