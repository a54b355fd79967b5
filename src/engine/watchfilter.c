/* kahu — which watched changes start an event-driven backup (watchfilter.h). */
#include "engine/watchfilter.h"

#include "engine/scope.h"
#include "kube/resource.h"

#include "util/mem.h"
#include "util/strset.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int watch_type_starts_runs(const char *group_resource)
{
	static const char *const quiet[] = { "events", "events.events.k8s.io",
					     "leases.coordination.k8s.io" };
	for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
		if (!strcmp(group_resource, quiet[i]))
			return 0;
	return 1;
}

int watch_change_starts_run(const struct kahu_scope *s, const struct kube_resource *r,
			    json_t *obj, const char *ns)
{
	if (!obj)
		return !r->namespaced || !ns || !*ns || scope_wants_namespace(s, ns);
	json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	const char *by = json_string_value(json_object_get(labels, WATCH_MANAGED_BY_LABEL));
	if (by && !strcmp(by, "kahu"))
		return 0;
	return scope_wants_object(s, r, obj) == SCOPE_INCLUDED;
}

void watch_fingerprint(json_t *obj, char out[WATCH_FP_LEN + 1])
{
	unsigned char h[WATCH_FP_LEN / 2];
	json_t *c = json_is_object(obj) ? json_copy(obj) : NULL;   /* shallow */
	char *text = NULL;
	if (c) {
		json_object_del(c, "status");
		json_t *md = json_object_get(c, "metadata");
		if (json_is_object(md)) {
			md = json_copy(md);
			json_object_del(md, "resourceVersion");
			json_object_del(md, "managedFields");
			json_object_del(md, "generation");
			json_object_set_new(c, "metadata", md);
		}
		text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		json_decref(c);
	}
	crypto_generichash(h, sizeof h, (const unsigned char *)(text ? text : ""), text ? strlen(text) : 0,
			   NULL, 0);
	free(text);
	sodium_bin2hex(out, WATCH_FP_LEN + 1, h, sizeof h);
}

/* A map key -> fingerprint; a forgotten object's value is "" until the map is rebuilt
 * (once the forgotten outnumber the live: objects with generated names come and go). */
struct watch_fps {
	struct strset m;
	size_t live, gone;
};

struct watch_fps *watch_fps_new(void)
{
	struct watch_fps *f = xcalloc(1, sizeof *f);
	f->m = (struct strset)STRSET_INIT;
	return f;
}

void watch_fps_free(struct watch_fps *f)
{
	if (!f)
		return;
	strset_free(&f->m);
	free(f);
}

size_t watch_fps_count(const struct watch_fps *f)
{
	return f->live;
}

static void rebuild(struct watch_fps *f)
{
	struct strset n = STRSET_INIT;
	for (size_t i = 0; i < f->m.cap; i++) {
		const char *k = f->m.slots[i], *v = k && f->m.values ? f->m.values[i] : NULL;
		if (k && v && *v)
			strset_put(&n, k, v);
	}
	strset_free(&f->m);
	f->m = n;
	f->gone = 0;
}

int watch_fps_update(struct watch_fps *f, const char *key, json_t *obj)
{
	const char *old = strset_get(&f->m, key);
	int known = old && *old;
	if (!obj) {
		if (known) {
			strset_put(&f->m, key, "");
			f->live--;
			if (++f->gone > f->live && f->gone > 64)
				rebuild(f);
		}
		return 1;
	}
	char fp[WATCH_FP_LEN + 1];
	watch_fingerprint(obj, fp);
	if (known && strcmp(old, fp) == 0)
		return 0;
	if (!known) {
		f->live++;
		if (old)
			f->gone--;
	}
	strset_put(&f->m, key, fp);
	return 1;
}
