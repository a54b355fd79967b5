/* kahu — what a backup or a restore covers: the scope flags shared by `backup create`
 * and `restore create`, and the decisions the engine takes while streaming.
 *
 * Build a scope from the flag values (NULL = flag not given), resolve resource names
 * against discovery, then ask:
 *   scope_wants_type()       once per resource type, before listing it;
 *   scope_wants_namespace()  to skip whole namespaces;
 *   scope_wants_object()     per object of a SCOPE_TYPE_YES type;
 *   scope_wants_referenced() per object an included item needs (ONLY_REFERENCED types).
 *
 * Semantics follow Velero (PRIOR-ART.md) with these deliberate differences:
 *   - namespace excludes accept globs ("kube-*", "team-?"), and exclude wins;
 *   - --include-names/--exclude-names filter by object name (globs); a pattern that
 *     contains '/' is matched against "namespace/name" of namespaced objects;
 *   - the label kahu.io/exclude-from-backup=true (exactly "true") excludes an object
 *     even when it is otherwise needed. */
#ifndef KAHU_ENGINE_SCOPE_H
#define KAHU_ENGINE_SCOPE_H

#include <jansson.h>

#include "util/strv.h"

struct kube_discovery;
struct kube_resource;
struct kahu_scope;

#define SCOPE_EXCLUDE_LABEL "kahu.io/exclude-from-backup"

enum scope_cluster_mode {
	SCOPE_CLUSTER_AUTO = 0,
	SCOPE_CLUSTER_TRUE,
	SCOPE_CLUSTER_FALSE,
};

enum scope_type_decision {
	SCOPE_TYPE_NO = 0,
	SCOPE_TYPE_YES,              /* list the type; filter objects with scope_wants_object */
	SCOPE_TYPE_ONLY_REFERENCED,  /* do not list it for itself; keep only objects that
					included items need (the PV bound to an included PVC,
					the CRD of an included custom resource, the Namespace
					of an included namespaced object), each still checked
					with scope_wants_referenced */
};

enum scope_reason {
	SCOPE_INCLUDED = 0,
	SCOPE_EXCLUDED_NAMESPACE,
	SCOPE_EXCLUDED_NAME,
	SCOPE_EXCLUDED_SELECTOR,
	SCOPE_EXCLUDED_LABEL,
};

struct kahu_scope *scope_new(void);
void scope_free(struct kahu_scope *s);

/* Comma-separated lists; blanks around entries are ignored.  NULL means the flag was
 * not given; an empty list or an empty entry ("a,,b", "a,") is a KAHU_EUSAGE error
 * naming the flag.  Namespace patterns are DNS labels with glob characters (* ? [..]);
 * an exclude of "*" and an entry in both lists are errors. */
int scope_set_namespaces(struct kahu_scope *s, const char *include_csv,
			 const char *exclude_csv);
/* Resource names as users type them (plural, plural.group, Kind, singular, short
 * name; "*" = all), resolved later by scope_resolve. */
int scope_set_resources(struct kahu_scope *s, const char *include_csv,
			const char *exclude_csv);
/* "auto" (NULL), "true" or "false". */
int scope_set_cluster_resources(struct kahu_scope *s, const char *mode);
/* -l/--selector.  An empty selector is the same as none.  Setting both a selector and
 * an or-selector is an error (as in Velero). */
int scope_set_selector(struct kahu_scope *s, const char *text);
int scope_set_or_selector(struct kahu_scope *s, const char *text);
/* Glob patterns on object names. */
int scope_set_names(struct kahu_scope *s, const char *include_csv, const char *exclude_csv);

/* Turn resource names into group-resources ("deployments.apps", "configmaps").  Every
 * unknown name is reported in one KAHU_EUSAGE error, each with close matches:
 *   unknown resource type "deploymnts" (did you mean deployments?)
 * A type both included and excluded is an error.  Non-fatal remarks (a cluster-scoped
 * type named in --include-resources while --include-cluster-resources=false) are
 * pushed to `warnings` when it is not NULL.  May be called again with another
 * discovery (e.g. the restore target's). */
int scope_resolve(struct kahu_scope *s, const struct kube_discovery *d,
		  struct strv *warnings);

/* Decision for a whole resource type (see enum scope_type_decision).
 *  - A type in --exclude-resources: NO.  With an explicit --include-resources list,
 *    namespaced types not in it: NO.
 *  - Cluster-scoped types (except namespaces): false → NO; named explicitly in
 *    --include-resources → YES; true → YES when the resource filter allows it;
 *    auto → YES when no namespace filter is given (--include-namespaces absent or
 *    containing "*"; --exclude-namespaces alone is not a namespace filter),
 *    otherwise ONLY_REFERENCED.  A cluster-scoped type left out by an explicit
 *    --include-resources list is ONLY_REFERENCED (needed objects are still kept)
 *    unless the mode is false.
 *  - namespaces: YES (each Namespace object checked against the namespace filter by
 *    scope_wants_object) when named in --include-resources, or when the whole content
 *    of namespaces is wanted: resource filter allows everything, mode is not false,
 *    no selector and no name filter.  Otherwise ONLY_REFERENCED: the engine keeps the
 *    Namespace objects of namespaces holding included items — so the Namespace
 *    object of an included namespace is kept whenever anything in it is. */
enum scope_type_decision scope_wants_type(const struct kahu_scope *s,
					  const struct kube_resource *r);
/* Namespace include/exclude (globs, fnmatch(3) without FNM_PATHNAME); exclude wins. */
int scope_wants_namespace(const struct kahu_scope *s, const char *ns);
/* Per-object decision, in this order: namespace (a namespaced object's namespace; a
 * Namespace object's own name), the exclude label, names, selector/or-selector.
 * `r` is the object's type; it may be NULL when the object carries apiVersion/kind
 * (list items from the API server do not). */
enum scope_reason scope_wants_object(const struct kahu_scope *s,
				     const struct kube_resource *r, json_t *obj);
/* For an object of an ONLY_REFERENCED type that an included item needs: only the
 * exclude label can drop it (SCOPE_EXCLUDED_LABEL), else SCOPE_INCLUDED. */
enum scope_reason scope_wants_referenced(const struct kahu_scope *s, json_t *obj);
const char *scope_reason_name(enum scope_reason r);  /* "included", "excluded: namespace"… */

/* The labelSelector to send when listing a SCOPE_TYPE_YES type, so the server filters
 * first: the canonical -l selector, or NULL when there is none or only an
 * or-selector (the server has no OR).  Owned by the scope. */
const char *scope_server_label_selector(const struct kahu_scope *s);
int scope_has_namespace_filter(const struct kahu_scope *s);
/* For a plain include list of namespaces (no glob characters): 1, and `out` filled
 * with the namespaces the filter keeps (maybe none); 0 otherwise. */
int scope_literal_namespaces(const struct kahu_scope *s, struct strv *out);
enum scope_cluster_mode scope_cluster_mode(const struct kahu_scope *s);

/* Canonical description, stored in kahu/backup.json and compared to find a parent of
 * the same scope:
 *   {"includeNamespaces":[..],"excludeNamespaces":[..],"includeResources":[..],
 *    "excludeResources":[..],"includeClusterResources":"auto",
 *    "labelSelector":"..." | null,"orLabelSelectors":[..],"includeNames":[..],
 *    "excludeNames":[..]}
 * Lists are sorted and de-duplicated; an include list meaning "everything" is ["*"];
 * resources are group-resources once resolved (the raw names, lower-cased, before).
 * The caller owns the reference. */
json_t *scope_to_json(const struct kahu_scope *s);
int scope_equal(const struct kahu_scope *a, const struct kahu_scope *b);

#endif
