/* kahu — the order in which a restore creates resource types.
 *
 * Velero's default high-priority list, in its order, comes first; Velero writes some
 * names without their group, kahu uses real group-resources ("storageclasses" is
 * "storageclasses.storage.k8s.io"; Velero's singular "volumesnapshotclass" is the
 * type "volumesnapshotclasses.snapshot.storage.k8s.io"):
 *    0 customresourcedefinitions.apiextensions.k8s.io
 *    1 namespaces
 *    2 storageclasses.storage.k8s.io
 *    3 volumesnapshotclasses.snapshot.storage.k8s.io
 *    4 volumesnapshotcontents.snapshot.storage.k8s.io
 *    5 volumesnapshots.snapshot.storage.k8s.io
 *    6 persistentvolumes
 *    7 persistentvolumeclaims
 *    8 clusterroles.rbac.authorization.k8s.io
 *    9 roles.rbac.authorization.k8s.io
 *   10 serviceaccounts
 *   11 clusterrolebindings.rbac.authorization.k8s.io
 *   12 rolebindings.rbac.authorization.k8s.io
 *   13 secrets
 *   14 configmaps
 *   15 limitranges
 *   16 priorityclasses.scheduling.k8s.io
 *   17 pods
 *   18 replicasets.apps
 *   19 endpoints
 *   20 services
 * Every other type follows, alphabetically by group-resource (byte order).  CRDs are
 * first, so the engine can wait for them to be established before anything else. */
#ifndef KAHU_ENGINE_ORDER_H
#define KAHU_ENGINE_ORDER_H

#define RESTORE_PRIORITY_HIGH_N 21
#define RESTORE_PRIORITY_OTHER RESTORE_PRIORITY_HIGH_N

/* 0..20 for the list above (Velero's short spellings are accepted too:
 * "customresourcedefinitions", "clusterroles", "volumesnapshotclass.snapshot.storage.k8s.io"
 * …), RESTORE_PRIORITY_OTHER for everything else. */
int restore_priority(const char *group_resource);
/* qsort-style comparison of two group-resources in restore order. */
int restore_type_cmp(const char *a, const char *b);
/* 1 for customresourcedefinitions.apiextensions.k8s.io (or plain
 * "customresourcedefinitions"), else 0. */
int restore_is_crd(const char *group_resource);
/* The group-resource of the high-priority list at `i` (0..20), else NULL. */
const char *restore_priority_name(int i);

#endif
