/* kahu — the pure parts of a restore: which stored objects are restored at all, how
 * they are cleaned and mapped to other namespaces before they are created, which API
 * version of the target cluster serves them, and how an existing object compares
 * with the backup's.  Nothing here talks to a cluster.
 *
 * Objects are jansson values as the backup stores them: the API's JSON with apiVersion
 * and kind.  A group-resource is kahu's name of a type: "deployments.apps", core types
 * without a group ("configmaps").
 *
 * Owned objects (a deliberate decision, see Velero #6945): an object whose
 * ownerReferences name a *controller* owner that recreates it from its template is not
 * restored, because restoring both the owner and the object makes duplicates (the
 * restored ReplicaSet is orphaned — its owner has a new UID — and the Deployment makes
 * a second one).  The pairs are: Pods of ReplicaSets, StatefulSets, DaemonSets and
 * Jobs; ReplicaSets of Deployments; Jobs of CronJobs.  (ControllerRevisions are never
 * restored: they mean something only beside their owner's UID, and the StatefulSet or
 * DaemonSet controller writes a new one from its template.)  With restore_owned the
 * owned objects are restored, and like every restored object they
 * lose their ownerReferences (the owners' UIDs are stale: keeping them would let the
 * garbage collector delete the object at once); their controller may adopt them when
 * its selector matches.  Objects owned by other kinds (custom resources of operators,
 * non-controller owners) are always restored, without ownerReferences. */
#ifndef KAHU_ENGINE_SANITIZE_H
#define KAHU_ENGINE_SANITIZE_H

#include <jansson.h>

#include "util/strv.h"

struct kube_discovery;
struct kube_resource;

#define KAHU_LABEL_BACKUP "kahu.io/backup-name"
#define KAHU_LABEL_RESTORE "kahu.io/restore-name"

/* ---- namespace mapping ---- */

/* Source namespace -> target namespace, from --namespace-mappings. */
struct ns_map;

/* Parse "src:dst,src2:dst2" (blanks around the fields are ignored).  Both names must
 * be DNS-1123 labels (at most 63 of a-z 0-9 '-', starting and ending with a letter or
 * digit); a source may appear once.  Errors are KAHU_EUSAGE with a message naming the
 * bad field.  Mapping several sources to one target is allowed (they merge). */
int ns_map_parse(const char *spec, struct ns_map **out);
/* The target of `ns`: its mapping, or `ns` itself when it is not mapped (NULL map or
 * NULL ns allowed; NULL ns returns NULL). */
const char *ns_map_target(const struct ns_map *m, const char *ns);
size_t ns_map_count(const struct ns_map *m);
void ns_map_free(struct ns_map *m);

/* Apply the mapping to one object in place: metadata.namespace; the name of a
 * Namespace; subjects[].namespace of RoleBindings and ClusterRoleBindings; a PV's
 * spec.claimRef.namespace; and references to Services of webhooks
 * (webhooks[].clientConfig.service.namespace), APIServices (spec.service.namespace)
 * and CRD conversion webhooks (spec.conversion.webhook.clientConfig.service.namespace),
 * which would otherwise point to the old namespace.  restore_clean calls it. */
void ns_map_apply(const struct ns_map *m, json_t *obj);

/* ---- cleaning ---- */

struct restore_clean_opts {
	const char *backup_name;
	const char *restore_name;
	int preserve_nodeports;           /* keep Services' nodePorts and healthCheckNodePort */
	int restore_owned;                /* restore controller-owned objects (see above) */
	/* Group-resources whose status is kept.  An entry matches a group-resource when it
	 * is equal to it ("deployments.apps"), is its plural alone ("deployments"), or is
	 * "*".  NULL: none.  (The API server ignores status on create for most types; it
	 * matters for custom resources without a status subresource.) */
	const struct strv *status_include;
	const struct ns_map *map;         /* may be NULL */
	int volume_data_restored;         /* kahu restores volume data: PVCs are
					     re-provisioned (spec.volumeName cleared) and
					     PVs bound to a claim are not restored */
	/* Set by restore_clean_opts_init(): the label values (at most 63 characters,
	 * valid label values; a longer name is cut and ends with a hash of the whole). */
	char *backup_label;
	char *restore_label;
};

/* Fill the derived fields; call after setting the fields above.  Does not clear them. */
void restore_clean_opts_init(struct restore_clean_opts *o);
void restore_clean_opts_release(struct restore_clean_opts *o);
/* A valid label value for `s` (caller frees): `s` itself when it is one; otherwise
 * invalid characters become '-', and a value longer than 63 characters is cut to 46
 * and followed by '-' and 16 hex digits of a hash of `s`. */
char *restore_label_value(const char *s);

enum clean_verdict { CLEAN_RESTORE = 0, CLEAN_SKIP = 1 };

/* Decide whether `obj` (of type `group_resource`) is restored and clean it in place.
 * Returns CLEAN_SKIP with *skip_reason set to a static string ("never restored:
 * nodes belong to the cluster", "owned by ReplicaSet (its controller recreates it)",
 * …), or CLEAN_RESTORE with obj ready to create in the target:
 *   - metadata: uid, resourceVersion, selfLink, generation, creationTimestamp,
 *     deletionTimestamp, deletionGracePeriodSeconds, managedFields, ownerReferences
 *     and (when a name is set) generateName are dropped; the annotation
 *     kubectl.kubernetes.io/last-applied-configuration is kept (kubectl apply needs
 *     it); labels kahu.io/backup-name and kahu.io/restore-name are set;
 *   - status is dropped unless status_include names the type;
 *   - Services: clusterIP/clusterIPs cleared unless "None"; nodePorts dropped unless
 *     preserve_nodeports or named in last-applied-configuration; healthCheckNodePort
 *     likewise;
 *   - PVs: spec.claimRef uid and resourceVersion cleared; PVCs: the bind and
 *     provisioner annotations dropped, spec.volumeName too when volume_data_restored;
 *   - Pods: spec.nodeName cleared; service-account token volumes (secret volumes of
 *     "<sa>-token-xxxxx" Secrets and projected "kube-api-access-*" volumes) and their
 *     mounts in every container, init container and ephemeral container dropped;
 *   - Jobs: the generated selector and controller-uid labels dropped (unless
 *     spec.manualSelector), else the API server rejects the create;
 *   - ServiceAccounts: references to generated "<sa>-token-xxxxx" Secrets dropped;
 *   - Secrets of type kubernetes.io/service-account-token that the operator asked for
 *     (not generated ones, which are skipped): data and the SA uid annotation dropped
 *     so the token controller issues a fresh token of the target cluster;
 *   - the namespace mapping (ns_map_apply).
 * Never restored: nodes, events (both groups), componentstatuses, bindings, the
 * review types, csinodes, volumeattachments, controllerrevisions, leases in
 * kube-system and kube-node-lease, pods in phase Succeeded or Failed, mirror pods,
 * finished Jobs (condition Complete or Failed true), generated service-account token
 * Secrets, local APIServices (spec.service null: "v1.", "v1.apps"…), the "kubernetes"
 * Service and its Endpoints/EndpointSlices in default, "kube-root-ca.crt"
 * ConfigMaps, Endpoints maintained by the endpoints controller (annotation
 * endpoints.kubernetes.io/last-change-trigger-time: Services with a selector),
 * EndpointSlices managed by Kubernetes' controllers (label
 * endpointslice.kubernetes.io/managed-by), controller-owned objects (see the top),
 * PVs claimed by a PVC when volume_data_restored; and a malformed object (not a JSON
 * object, or without metadata.name).
 * The rules of single kinds (skips, cleaners, namespace references, the comparison's
 * view of live objects) are rows of the table in sanitize_kinds.h; the metadata,
 * status, owner, label and metadata.namespace rules apply to every object. */
int restore_clean(json_t *obj, const char *group_resource, const struct restore_clean_opts *o,
		  const char **skip_reason);

/* ---- API versions of the target ---- */

/* Choose the target cluster's resource for `obj` (matched by the group of its
 * apiVersion and its kind, among creatable resources):
 *   1. the object's own group/version when served;
 *   2. else the group's preferred version when it serves the kind;
 *   3. else the most stable served version of the group that serves the kind (GA over
 *      beta over alpha, then the highest number);
 * in cases 2 and 3 obj's apiVersion is rewritten (the API server converts built-in
 * kinds between versions; for a CRD the object must also be valid in the new
 * version's schema, which is the best a client can do without conversion webhooks)
 * and the change is logged at info level.  Returns 0 with *out pointing into
 * `target`.  Fails (KAHU_ENOTFOUND, message also in *why when why is not NULL; the
 * caller frees it) when the group or the kind is not served at all:
 *   "the target cluster does not serve group foo.example.com (kind Widget,
 *    foo.example.com/v1): restore its CRD first or include customresourcedefinitions"
 *   "the target cluster does not serve group policy (kind PodSecurityPolicy,
 *    policy/v1beta1): Kubernetes removed this API or it is not enabled"
 *   "the target cluster serves group apps but no version of it serves kind Foo (it
 *    serves apps/v1)"
 * (groups without a dot or ending in .k8s.io are Kubernetes' own), adding, when
 * another built-in group serves the kind, "; kind Ingress is served as
 * networking.k8s.io/v1 (a different group: convert the object first)".  A malformed
 * object (no apiVersion or kind) is KAHU_EDATA.  On success *why stays NULL. */
int restore_pick_version(json_t *obj, const struct kube_discovery *target,
			 const struct kube_resource **out, char **why);

/* Order of API versions by stability: negative when `a` is more stable than `b`
 * ("v2" < "v1" < "v2beta1" < "v1beta2" < "v1alpha1" < other strings). */
int kube_version_cmp(const char *a, const char *b);

/* ---- existing objects ---- */

/* An RFC 7386 merge patch that brings `live` to the state of `backup_clean` (an
 * object restore_clean returned), or an empty object when there is nothing to do:
 *   - metadata.labels and metadata.annotations: keys of the backup whose value
 *     differs are set; keys only live has are kept (conservative); annotations that
 *     controllers maintain (deployment.kubernetes.io/revision …) are left alone;
 *   - data, binaryData and stringData: replaced exactly (keys only live has are
 *     removed);
 *   - every other top-level field except apiVersion, kind, metadata and status (spec,
 *     rules, subjects, webhooks, type …): the backup's values, recursively; fields only
 *     live has are defaults or allocations of the target (clusterIP, nodePort,
 *     volumeName) and are left alone; an array that differs is replaced whole.  Two
 *     arrays are equal when they have the same length and each backup element is
 *     equal to live's in the same sense (live's elements may carry defaults).
 * Live's service-account token volumes and references are ignored like the backup's.
 * Caller json_decref()s the result. */
json_t *restore_merge_patch(json_t *backup_clean, json_t *live);
/* 1 when the merge patch would change nothing but kahu's own labels (status, server
 * fields, defaults and allocations of live are ignored), 0 when they differ. */
int restore_same(json_t *backup_clean, json_t *live);

#endif
