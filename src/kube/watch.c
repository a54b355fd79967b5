/* kahu — watching resource types: the event stream parser and the watcher (watch.h). */
#include "kube/watch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "kube/client.h"
#include "kube/pager.h"
#include "kube/resource.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"

#define DEFAULT_MAX_EVENT ((size_t)64 << 20)

const char *kube_wtype_name(enum kube_wtype t)
{
	switch (t) {
	case KUBE_WEV_ADDED: return "ADDED";
	case KUBE_WEV_MODIFIED: return "MODIFIED";
	case KUBE_WEV_DELETED: return "DELETED";
	case KUBE_WEV_BOOKMARK: return "BOOKMARK";
	case KUBE_WEV_ERROR: return "ERROR";
	case KUBE_WEV_SYNCED: return "SYNCED";
	case KUBE_WEV_RELIST: return "RELIST";
	case KUBE_WEV_RESUMED: return "RESUMED";
	}
	return "?";
}

/* ---- the event stream parser ------------------------------------------------------ */

/* The scanner finds where each top-level object ends (strings, their escapes and
 * nesting followed byte by byte), keeping the event's bytes; jansson then reads the
 * one event (and checks its syntax, UTF-8 and all). */
struct kube_wparse {
	kube_wparse_fn fn;
	void *ud;
	size_t max_event;
	struct kbuf ev;       /* the bytes of the event being received */
	uint64_t off;         /* bytes fed since the reset */
	uint64_t ev_start;    /* offset of the event's first byte */
	size_t depth;         /* 0: between events */
	int in_string, escape;
	size_t events;
	int err;              /* the first error, sticky */
	struct kahu_error_state err_state;
};

struct kube_wparse *kube_wparse_new(size_t max_event, kube_wparse_fn fn, void *ud)
{
	struct kube_wparse *p = xcalloc(1, sizeof *p);
	p->fn = fn;
	p->ud = ud;
	p->max_event = max_event ? max_event : DEFAULT_MAX_EVENT;
	return p;
}

void kube_wparse_free(struct kube_wparse *p)
{
	if (!p)
		return;
	kbuf_free(&p->ev);
	free(p);
}

void kube_wparse_reset(struct kube_wparse *p)
{
	kbuf_reset(&p->ev);
	p->off = p->ev_start = 0;
	p->depth = 0;
	p->in_string = p->escape = 0;
	p->events = 0;
	p->err = 0;
}

size_t kube_wparse_events(const struct kube_wparse *p)
{
	return p->events;
}

static int fail(struct kube_wparse *p, int code)
{
	p->err = code;
	kahu_error_capture(&p->err_state);
	return code;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s;
}

/* One complete event: p->ev holds its bytes. */
static int deliver(struct kube_wparse *p)
{
	json_error_t jerr;
	json_t *root = json_loadb(p->ev.data, p->ev.len, 0, &jerr);
	unsigned long long at = (unsigned long long)p->ev_start;
	int rc;
	if (!root)
		return kahu_error_set(KAHU_EPROTO, "watch stream: the event at byte %llu is not JSON: %s",
				      at, jerr.text);
	struct kube_wevent ev = { .reason = "", .message = "" };
	const char *type = jstr(root, "type");
	json_t *obj = json_object_get(root, "object");
	rc = KAHU_EPROTO;
	if (!type) {
		kahu_error_set(rc, "watch stream: the event at byte %llu has no \"type\" string", at);
		goto out;
	}
	if (!json_is_object(obj)) {
		kahu_error_set(rc, "watch stream: the %.20s event at byte %llu has no \"object\" object",
			       type, at);
		goto out;
	}
	ev.object = obj;
	if (!strcmp(type, "ADDED"))
		ev.type = KUBE_WEV_ADDED;
	else if (!strcmp(type, "MODIFIED"))
		ev.type = KUBE_WEV_MODIFIED;
	else if (!strcmp(type, "DELETED"))
		ev.type = KUBE_WEV_DELETED;
	else if (!strcmp(type, "BOOKMARK"))
		ev.type = KUBE_WEV_BOOKMARK;
	else if (!strcmp(type, "ERROR"))
		ev.type = KUBE_WEV_ERROR;
	else {
		struct kbuf t = KBUF_INIT;
		kbuf_add_printable(&t, type, 0);
		kahu_error_set(rc, "watch stream: the event at byte %llu has an unknown type \"%.40s\"",
			       at, kbuf_str(&t));
		kbuf_free(&t);
		goto out;
	}
	if (ev.type == KUBE_WEV_ERROR) {
		json_t *code = json_object_get(obj, "code");
		ev.code = json_is_integer(code) ? (long)json_integer_value(code) : 0;
		ev.reason = jstr(obj, "reason") ? jstr(obj, "reason") : "";
		ev.message = jstr(obj, "message") ? jstr(obj, "message") : "";
	} else {
		json_t *md = json_object_get(obj, "metadata");
		ev.resource_version = json_is_object(md) ? jstr(md, "resourceVersion") : NULL;
		if (!ev.resource_version || !*ev.resource_version) {
			kahu_error_set(rc, "watch stream: the %s event at byte %llu has no "
				       "metadata.resourceVersion", type, at);
			goto out;
		}
		if (ev.type != KUBE_WEV_BOOKMARK) {
			ev.name = jstr(md, "name");
			ev.ns = jstr(md, "namespace");
			if (!ev.name || !*ev.name) {
				kahu_error_set(rc, "watch stream: the %s event at byte %llu has no "
					       "metadata.name", type, at);
				goto out;
			}
			if (!ev.ns)
				ev.ns = "";
		}
	}
	p->events++;
	rc = p->fn ? p->fn(p->ud, &ev) : 0;
out:
	json_decref(root);
	return rc;
}

int kube_wparse_feed(struct kube_wparse *p, const void *data, size_t len)
{
	const unsigned char *s = data;
	if (p->err)
		return kahu_error_restore(&p->err_state);
	size_t i = 0;
	while (i < len) {
		if (p->depth == 0) {
			/* between events: whitespace, then '{' */
			unsigned char c = s[i];
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
				i++;
				p->off++;
				continue;
			}
			if (c != '{')
				return fail(p, kahu_error_set(KAHU_EPROTO, "watch stream: expected an "
							      "event ('{') at byte %llu, got 0x%02x",
							      (unsigned long long)p->off, c));
			kbuf_reset(&p->ev);
			p->ev_start = p->off;
			p->depth = 1;
			p->in_string = p->escape = 0;
			kbuf_addc(&p->ev, '{');
			i++;
			p->off++;
			continue;
		}
		/* inside an event: take bytes up to its end (or the piece's) */
		size_t j = i;
		int done = 0;
		for (; j < len; j++) {
			unsigned char c = s[j];
			if (p->in_string) {
				if (p->escape)
					p->escape = 0;
				else if (c == '\\')
					p->escape = 1;
				else if (c == '"')
					p->in_string = 0;
				continue;
			}
			if (c == '"')
				p->in_string = 1;
			else if (c == '{' || c == '[') {
				if (++p->depth > 4096)
					return fail(p, kahu_error_set(KAHU_EPROTO, "watch stream: the event "
								      "at byte %llu is nested too deeply",
								      (unsigned long long)p->ev_start));
			} else if (c == '}' || c == ']') {
				if (--p->depth == 0) {
					j++;
					done = 1;
					break;
				}
			}
		}
		if (p->ev.len + (j - i) > p->max_event)
			return fail(p, kahu_error_set(KAHU_EPROTO, "watch stream: the event at byte "
						      "%llu is larger than %zu bytes",
						      (unsigned long long)p->ev_start, p->max_event));
		kbuf_add(&p->ev, s + i, j - i);
		p->off += j - i;
		i = j;
		if (done) {
			int rc = deliver(p);
			kbuf_reset(&p->ev);
			if (rc < 0)
				return fail(p, rc);
		}
	}
	return 0;
}

int kube_wparse_finish(struct kube_wparse *p)
{
	if (p->err)
		return kahu_error_restore(&p->err_state);
	if (p->depth)
		return fail(p, kahu_error_set(KAHU_EPROTO, "watch stream: cut short in the event at "
					      "byte %llu (%zu bytes of it received)",
					      (unsigned long long)p->ev_start, p->ev.len));
	return 0;
}

/* ---- the watcher ------------------------------------------------------------------- */

struct wset {
	const struct kube_watch_opts *o;
	kube_watch_fn fn;
	void *ud;
	struct kube_client *client;
	pthread_mutex_t lock;      /* one callback at a time; the first error */
	atomic_int stopping;       /* 1: stop (asked), 2: stop (error) */
	int rc;
	struct kahu_error_state err;
};

enum why { WHY_NONE, WHY_EXPIRED, WHY_ERROR_EVENT, WHY_FATAL };

struct wtype {
	struct wset *set;
	const struct kube_watch_target *t;
	struct kube_resource r;
	char *label;               /* "configmaps", "deployments.apps" */
	struct strset known;       /* "ns/name" → resourceVersion; "" once deleted */
	size_t deleted;            /* keys of `known` whose value is "" */
	char *rv;                  /* where the next watch starts */
	struct kube_wparse *parser;
	enum why why;
	char *why_msg;
	long events;               /* events of the current watch */
};

static int set_stopped(struct wset *s)
{
	if (atomic_load(&s->stopping))
		return 1;
	if (s->o->stop && s->o->stop(s->ud)) {
		int zero = 0;
		atomic_compare_exchange_strong(&s->stopping, &zero, 1);
		return 1;
	}
	return 0;
}

/* The first failure stops the set; its code and message are what kube_watch_run returns. */
static int set_fail(struct wset *s, int rc)
{
	pthread_mutex_lock(&s->lock);
	if (!s->rc) {
		s->rc = rc;
		kahu_error_capture(&s->err);
	}
	atomic_store(&s->stopping, 2);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int report(struct wtype *w, struct kube_watch_event *ev)
{
	struct wset *s = w->set;
	ev->target = w->t;
	pthread_mutex_lock(&s->lock);
	int rc = atomic_load(&s->stopping) ? 0 : s->fn(s->ud, ev);
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return set_fail(s, rc);
	return 0;
}

/* Drop the deleted keys from the map once they are more than the live ones (objects
 * with generated names come and go: the map must not grow with them). */
static void forget_deleted(struct wtype *w)
{
	if (w->deleted < 1024 || w->deleted * 2 < w->known.n)
		return;
	struct strset live = STRSET_INIT;
	for (size_t i = 0; i < w->known.cap; i++) {
		const char *key = w->known.slots[i];
		const char *v = key && w->known.values ? w->known.values[i] : NULL;
		if (key && v && *v)
			strset_put(&live, key, v);
	}
	strset_free(&w->known);
	w->known = live;
	w->deleted = 0;
}

static char *okey(const char *ns, const char *name)
{
	return xasprintf("%s/%s", ns ? ns : "", name);
}

static void set_rv(struct wtype *w, const char *rv)
{
	free(w->rv);
	w->rv = xstrdup(rv);
}

static int on_event(void *ud, const struct kube_wevent *e)
{
	struct wtype *w = ud;
	if (e->type == KUBE_WEV_BOOKMARK) {
		set_rv(w, e->resource_version);
		return 0;
	}
	if (e->type == KUBE_WEV_ERROR) {
		free(w->why_msg);
		w->why_msg = xasprintf("%ld %s: %s", e->code, e->reason, e->message);
		if (e->code == 410) {
			w->why = WHY_EXPIRED;
			return kahu_error_set(KAHU_EDATA, "watch of %s: %s", w->label, e->message);
		}
		w->why = WHY_ERROR_EVENT;
		return kahu_error_set(KAHU_ETEMP, "watch of %s: the server sent an error: %s",
				      w->label, w->why_msg);
	}
	char *key = okey(e->ns, e->name);
	const char *old = strset_get(&w->known, key);
	int dup;
	if (e->type == KUBE_WEV_DELETED)
		dup = old == NULL || !*old;
	else
		dup = old && !strcmp(old, e->resource_version);
	set_rv(w, e->resource_version);
	int rc = 0;
	if (!dup) {
		if (e->type == KUBE_WEV_DELETED)
			w->deleted++;
		else if (old && !*old)
			w->deleted--;
		strset_put(&w->known, key, e->type == KUBE_WEV_DELETED ? "" : e->resource_version);
		w->events++;
		struct kube_watch_event ev = {
			.type = e->type, .ns = e->ns, .name = e->name,
			.resource_version = e->resource_version,
			.object = w->set->o->want_objects ? e->object : NULL,
		};
		rc = report(w, &ev);
	} else {
		log_debug("watch of %s: %s %s at %s already seen", w->label, kube_wtype_name(e->type),
			  key, e->resource_version);
	}
	free(key);
	forget_deleted(w);
	return rc;
}

/* ---- listing ---- */

struct listing {
	struct wtype *w;
	struct strset now;
	int initial;
	long count;
};

static int on_item(void *ud, const struct kube_item *it)
{
	struct listing *l = ud;
	struct wtype *w = l->w;
	json_t *md = json_object_get(it->summary, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
	if (!name || !rv)
		return kahu_error_set(KAHU_EPROTO, "list of %s: an item without metadata.name or "
				      "resourceVersion", w->label);
	char *key = okey(ns, name);
	strset_put(&l->now, key, rv);
	l->count++;
	int rc = 0;
	if (l->initial && w->set->o->report_listed) {
		json_t *obj = w->set->o->want_objects ? json_loadb(it->text, it->len, 0, NULL) : NULL;
		struct kube_watch_event ev = { .type = KUBE_WEV_ADDED, .ns = ns ? ns : "", .name = name,
					       .resource_version = rv, .object = obj, .listed = 1 };
		rc = report(w, &ev);
		json_decref(obj);
	} else if (!l->initial) {
		const char *old = strset_get(&w->known, key);
		enum kube_wtype t = (!old || !*old) ? KUBE_WEV_ADDED : KUBE_WEV_MODIFIED;
		if (t == KUBE_WEV_ADDED || strcmp(old, rv)) {
			json_t *obj = NULL;
			if (w->set->o->want_objects)
				obj = json_loadb(it->text, it->len, 0, NULL);
			struct kube_watch_event ev = { .type = t, .ns = ns ? ns : "", .name = name,
						       .resource_version = rv, .object = obj,
						       .relisted = 1 };
			rc = report(w, &ev);
			json_decref(obj);
		}
	}
	free(key);
	return rc;
}

static int list_type(struct wtype *w, int initial)
{
	struct listing l = { .w = w, .now = STRSET_INIT, .initial = initial };
	struct kube_list_opts lo = { .namespace = w->t->namespaced ? w->t->namespace : NULL,
				     .label_selector = w->t->label_selector,
				     .max_item = w->set->o->max_event };
	struct kube_list_stats st = { 0 };
	int rc = kube_list_text(w->set->client, &w->r, &lo, on_item, &l, &st);
	if (rc == 0 && !initial) {
		/* what is known and was not listed was deleted meanwhile */
		for (size_t i = 0; rc == 0 && i < w->known.cap; i++) {
			const char *key = w->known.slots[i];
			const char *v = key && w->known.values ? w->known.values[i] : NULL;
			if (!key || !v || !*v || strset_get(&l.now, key))
				continue;
			const char *slash = strchr(key, '/');
			char *ns = xstrndup(key, (size_t)(slash - key));
			struct kube_watch_event ev = { .type = KUBE_WEV_DELETED, .ns = ns,
						       .name = slash + 1, .resource_version = v,
						       .relisted = 1 };
			rc = report(w, &ev);
			free(ns);
		}
	}
	if (rc == 0) {
		strset_free(&w->known);
		w->known = l.now;
		w->deleted = 0;
		l.now = (struct strset)STRSET_INIT;
		set_rv(w, st.resource_version ? st.resource_version : "");
		if (initial) {
			struct kube_watch_event ev = { .type = KUBE_WEV_SYNCED, .count = l.count,
						       .resource_version = w->rv };
			rc = report(w, &ev);
		}
	}
	strset_free(&l.now);
	kube_list_stats_clear(&st);
	return rc;
}

/* ---- watching ---- */

static int s_begin(void *ud, int attempt)
{
	struct wtype *w = ud;
	(void)attempt;
	kube_wparse_reset(w->parser);
	return 0;
}

static int s_data(void *ud, const char *p, size_t n)
{
	struct wtype *w = ud;
	int rc = kube_wparse_feed(w->parser, p, n);
	if (rc < 0 && w->why == WHY_NONE)
		w->why = rc == KAHU_EPROTO ? WHY_FATAL : WHY_NONE;
	return rc;
}

static int s_cancelled(void *ud)
{
	struct wtype *w = ud;
	return set_stopped(w->set);
}

/* One watch request: 0 when it ended cleanly, else a negative code with w->why. */
static int watch_once(struct wtype *w)
{
	struct kbuf path = KBUF_INIT;
	char *base = kube_resource_path(&w->r, w->t->namespaced ? w->t->namespace : NULL, NULL);
	char tmo[32];
	kbuf_adds(&path, base);
	free(base);
	kube_query_add(&path, "watch", "1");
	kube_query_add(&path, "allowWatchBookmarks", "true");
	if (w->rv && *w->rv)
		kube_query_add(&path, "resourceVersion", w->rv);
	snprintf(tmo, sizeof tmo, "%ld", w->set->o->timeout_s > 0 ? w->set->o->timeout_s : 290);
	kube_query_add(&path, "timeoutSeconds", tmo);
	if (w->t->label_selector && *w->t->label_selector)
		kube_query_add(&path, "labelSelector", w->t->label_selector);
	w->why = WHY_NONE;
	w->events = 0;
	struct kube_stream s = { .begin = s_begin, .data = s_data, .cancelled = s_cancelled, .ud = w };
	struct kube_response resp = { 0 };
	int rc = kube_request_stream(w->set->client, kbuf_str(&path), NULL, KUBE_REQ_NO_RETRY, &s, &resp);
	if (rc == 0)
		rc = kube_wparse_finish(w->parser);
	if (rc < 0 && resp.status == 410 && w->why == WHY_NONE) {
		w->why = WHY_EXPIRED;
		free(w->why_msg);
		w->why_msg = xstrdup(kahu_error_last());
	}
	kube_response_clear(&resp);
	kbuf_free(&path);
	return rc;
}

static int retryable(int rc)
{
	return rc == KAHU_ETEMP || rc == KAHU_EUNREACHABLE;
}

/* Sleep ms unless the set stops first; 0, or 1 when stopped. */
static int nap(struct wset *s, long ms)
{
	while (ms > 0) {
		long slice = ms < 200 ? ms : 200;
		if (kahu_cancel_sleep(slice) < 0 || set_stopped(s))
			return 1;
		ms -= slice;
	}
	return set_stopped(s);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *wtype_main(void *arg)
{
	struct wtype *w = arg;
	struct wset *s = w->set;
	struct kahu_backoff b = { .base_ms = s->o->backoff_base_ms > 0 ? s->o->backoff_base_ms : 500,
				  .cap_ms = s->o->backoff_cap_ms > 0 ? s->o->backoff_cap_ms : 30000,
				  .jitter_div = 4 };
	int attempt = 0, need_list = 1, initial = 1, rc;
	while (!set_stopped(s)) {
		if (need_list) {
			rc = list_type(w, initial);
			if (rc < 0) {
				if (set_stopped(s))
					break;
				if (!retryable(rc)) {
					set_fail(s, kahu_error_wrap(rc, "watch of %s", w->label));
					break;
				}
				long want, wait;
				kahu_backoff_plan(&b, ++attempt, -1, &want, &wait);
				log_info("watch of %s: list failed (%s); again in %ld ms", w->label,
					 kahu_error_last(), wait);
				if (nap(s, wait))
					break;
				continue;
			}
			need_list = initial = 0;
		}
		long t0 = now_ms();
		rc = watch_once(w);
		if (set_stopped(s))
			break;
		if (rc == 0) {
			/* the server ended it (timeoutSeconds): again from where it got to; a
			 * watch that ended at once without news waits, not to spin */
			if (w->events == 0 && now_ms() - t0 < 1000) {
				long want, wait;
				kahu_backoff_plan(&b, ++attempt, -1, &want, &wait);
				if (nap(s, wait))
					break;
			} else {
				attempt = 0;
			}
			continue;
		}
		if (w->why == WHY_EXPIRED) {
			struct kube_watch_event ev = { .type = KUBE_WEV_RELIST,
						       .resource_version = w->rv,
						       .message = w->why_msg ? w->why_msg : "410 Expired" };
			log_info("watch of %s: resourceVersion %s is too old (%s): listing again",
				 w->label, w->rv ? w->rv : "", ev.message);
			if (report(w, &ev) < 0)
				break;
			need_list = 1;
			continue;
		}
		if (w->why == WHY_FATAL || !(retryable(rc) || w->why == WHY_ERROR_EVENT)) {
			if (rc != KAHU_EINTR || !set_stopped(s))
				set_fail(s, rc == KAHU_EINTR ? rc : kahu_error_wrap(rc, "watch of %s", w->label));
			break;
		}
		char *msg = xstrdup(kahu_error_last());
		long want, wait;
		if (w->events > 0)
			attempt = 0;
		kahu_backoff_plan(&b, ++attempt, -1, &want, &wait);
		log_info("watch of %s broke (%s); resuming from %s in %ld ms", w->label, msg,
			 w->rv ? w->rv : "", wait);
		if (nap(s, wait)) {
			free(msg);
			break;
		}
		struct kube_watch_event ev = { .type = KUBE_WEV_RESUMED, .resource_version = w->rv,
					       .message = msg };
		rc = report(w, &ev);
		free(msg);
		if (rc < 0)
			break;
	}
	return NULL;
}

int kube_watch_run(const struct kube_config *cfg, const struct kube_watch_target *t, size_t n,
		   const struct kube_watch_opts *o, kube_watch_fn fn, void *ud)
{
	if (n == 0)
		return kahu_error_set(KAHU_EUSAGE, "nothing to watch");
	long tmo = o->timeout_s > 0 ? o->timeout_s : 290;
	struct kube_client_opts co = {
		.max_requests = (int)n + 1,
		/* longer than a quiet watch lasts: the server ends it first */
		.timeout_ms = (tmo + 60) * 1000L,
		.user_agent = o->user_agent,
	};
	struct wset s = { .o = o, .fn = fn, .ud = ud };
	int rc = kube_client_new(cfg, &co, &s.client);
	if (rc < 0)
		return rc;
	pthread_mutex_init(&s.lock, NULL);
	atomic_init(&s.stopping, 0);
	struct wtype *w = xcalloc(n, sizeof *w);
	pthread_t *th = xcalloc(n, sizeof *th);
	size_t started = 0;
	for (size_t i = 0; i < n; i++) {
		w[i].set = &s;
		w[i].t = &t[i];
		w[i].r.group = (char *)(t[i].group ? t[i].group : "");
		w[i].r.version = (char *)t[i].version;
		w[i].r.resource = (char *)t[i].resource;
		w[i].r.kind = (char *)(t[i].kind ? t[i].kind : "");
		w[i].r.namespaced = t[i].namespaced;
		w[i].r.verbs = KUBE_VERB_LIST | KUBE_VERB_WATCH;
		w[i].label = kube_group_resource(&w[i].r);
		w[i].known = (struct strset)STRSET_INIT;
		w[i].parser = kube_wparse_new(o->max_event, on_event, &w[i]);
	}
	for (size_t i = 0; i < n; i++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 512 * 1024);
		int e = pthread_create(&th[i], &attr, wtype_main, &w[i]);
		pthread_attr_destroy(&attr);
		if (e) {
			set_fail(&s, kahu_error_set(KAHU_EFAIL, "cannot start the watch of %s: %s",
						    w[i].label, strerror(e)));
			break;
		}
		started++;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < n; i++) {
		free(w[i].label);
		strset_free(&w[i].known);
		free(w[i].rv);
		free(w[i].why_msg);
		kube_wparse_free(w[i].parser);
	}
	free(w);
	free(th);
	kube_client_free(s.client);
	pthread_mutex_destroy(&s.lock);
	if (s.rc)
		return kahu_error_restore(&s.err);
	if (kahu_cancelled())
		return kahu_error_set(KAHU_EINTR, "watch: interrupted");
	return 0;
}
