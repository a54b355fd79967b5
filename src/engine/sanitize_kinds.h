/* kahu — the per-kind rules of restore cleaning, as a table (inside the engine; the
 * public interface is sanitize.h, whose restore_clean documents what they do).
 *
 * restore_clean applies the generic rules to every object (the never-restored check
 * of controller-owned objects, server-set metadata, status, kahu's labels,
 * metadata.namespace through the mapping) and looks the object's type up here for
 * the rest.  One row a type: a new kind that needs cleaning is one row and one small
 * function in sanitize_kinds.c.  Every hook may be NULL. */
#ifndef KAHU_ENGINE_SANITIZE_KINDS_H
#define KAHU_ENGINE_SANITIZE_KINDS_H

#include <jansson.h>
#include <stddef.h>
#include <string.h>

#include "engine/sanitize.h"

struct sanitize_kind {
	const char *gr;     /* kahu's type name ("services", "jobs.batch"): restore_clean's key */
	const char *group;  /* the API group of its objects ("" for the core group) and */
	const char *kind;   /* their kind: the key of ns_map_apply and of the comparison */
	/* Every object of the type is skipped, for this reason. */
	const char *never;
	/* Why this object of the type is not restored (a static string), or NULL; runs
	 * after `never`, before the controller-owned check. */
	const char *(*skip)(json_t *obj, const struct restore_clean_opts *o);
	/* What the source cluster set or allocated, dropped in place; runs after the
	 * generic metadata and status cleaning. */
	void (*clean)(json_t *obj, const struct restore_clean_opts *o);
	/* Namespace references of the object beyond metadata.namespace (which the
	 * generic mapping does), mapped in place; `m` is not NULL. */
	void (*map)(const struct ns_map *m, json_t *obj);
	/* An object as the target cluster holds it, brought to what `clean` would have
	 * left of it (the target's own allocations dropped) before it is compared with
	 * the backup's. */
	void (*live)(json_t *obj);
};

/* The row of a type by its name, or NULL (only the generic rules apply). */
const struct sanitize_kind *sanitize_kind_by_type(const char *gr);
/* The row of an object by the group of its apiVersion (any version) and its kind, or
 * NULL (no apiVersion or kind, or a kind without a row). */
const struct sanitize_kind *sanitize_kind_by_object(json_t *obj);
/* The whole table, in no particular order: *rows and the number of rows. */
size_t sanitize_kind_table(const struct sanitize_kind **rows);

/* Small JSON helpers of the two files. */

/* o[k1][k2]…, NULL-terminated list of keys; NULL when any step is missing. */
json_t *sanitize_jget(json_t *o, ...);
#define JGET(o, ...) sanitize_jget((o), __VA_ARGS__, (const char *)NULL)

static inline const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static inline int starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Replace the namespace name o[k] (a string) by its mapping, if any. */
void sanitize_map_field(const struct ns_map *m, json_t *o, const char *k);

/* Set by the endpoints controller on the Endpoints of a Service with a selector. */
#define EP_CONTROLLER_ANNOTATION "endpoints.kubernetes.io/last-change-trigger-time"

#endif
