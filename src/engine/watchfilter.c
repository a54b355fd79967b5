/* kahu — which watched changes start an event-driven backup (watchfilter.h). */
#include "engine/watchfilter.h"

#include "engine/scope.h"
#include "kube/resource.h"

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
