/* kahu — restore order of resource types (see order.h). */
#include <string.h>

#include "engine/order.h"

static const char *const high[RESTORE_PRIORITY_HIGH_N] = {
	"customresourcedefinitions.apiextensions.k8s.io",
	"namespaces",
	"storageclasses.storage.k8s.io",
	"volumesnapshotclasses.snapshot.storage.k8s.io",
	"volumesnapshotcontents.snapshot.storage.k8s.io",
	"volumesnapshots.snapshot.storage.k8s.io",
	"persistentvolumes",
	"persistentvolumeclaims",
	"clusterroles.rbac.authorization.k8s.io",
	"roles.rbac.authorization.k8s.io",
	"serviceaccounts",
	"clusterrolebindings.rbac.authorization.k8s.io",
	"rolebindings.rbac.authorization.k8s.io",
	"secrets",
	"configmaps",
	"limitranges",
	"priorityclasses.scheduling.k8s.io",
	"pods",
	"replicasets.apps",
	"endpoints",
	"services",
};

/* Velero's own spellings where they differ from the group-resource. */
static const struct {
	const char *velero;
	int prio;
} aliases[] = {
	{ "customresourcedefinitions", 0 },
	{ "storageclasses", 2 },
	{ "volumesnapshotclass.snapshot.storage.k8s.io", 3 },
	{ "clusterroles", 8 },
	{ "roles", 9 },
	{ "clusterrolebindings", 11 },
	{ "rolebindings", 12 },
	{ "priorityclasses", 16 },
};

int restore_priority(const char *gr)
{
	if (!gr)
		return RESTORE_PRIORITY_OTHER;
	for (int i = 0; i < RESTORE_PRIORITY_HIGH_N; i++)
		if (strcmp(gr, high[i]) == 0)
			return i;
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strcmp(gr, aliases[i].velero) == 0)
			return aliases[i].prio;
	return RESTORE_PRIORITY_OTHER;
}

int restore_type_cmp(const char *a, const char *b)
{
	int pa = restore_priority(a), pb = restore_priority(b);
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return strcmp(a ? a : "", b ? b : "");
}

int restore_is_crd(const char *gr)
{
	return restore_priority(gr) == 0;
}

const char *restore_priority_name(int i)
{
	return i >= 0 && i < RESTORE_PRIORITY_HIGH_N ? high[i] : NULL;
}
