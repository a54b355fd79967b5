/* kahu — restore transforms (kahu-transform(5)): objects changed on their way into the
 * target cluster, after the namespace mapping and before they are created (or compared),
 * by an ordered list of rules.
 *
 * A rule of the transform file (`--transform FILE`, YAML) selects objects by resource
 * (globs of group-resource: "persistentvolumeclaims", "deployments.apps"; a pattern
 * without a dot matches the resource in any group), target namespace (globs; a rule with
 * namespaces never selects a cluster-scoped object), name (globs, and/or a POSIX
 * extended regular expression), label selector (labelsel.h), and conditions on the
 * current value of fields (JSON Pointers: equals, exists, matches); it applies a JSON
 * Patch, a JSON Merge Patch or a strategic merge patch (transform_patch.h).  Every error
 * of the file is KAHU_EUSAGE naming FILE:LINE, found before anything is written.
 *
 * The shortcuts add built-in rules after the file's: --storage-class-mappings OLD:NEW
 * (claims, PVs, StatefulSets' volumeClaimTemplates), --image-mappings OLD:NEW (a prefix
 * of the image of every container of pods, pod templates and cron jobs; OLD=NEW when a
 * prefix holds a colon), --replicas-override NS/KIND/NAME=N.  Each applies a JSON Patch
 * made for the object, shown like a file rule's.
 *
 * A rule whose JSON Patch `test` does not hold is not applied to that object; any other
 * patch that cannot apply fails the item (nothing is created).  Rules that applied to no
 * item are reported at the end of the restore. */
#ifndef KAHU_ENGINE_TRANSFORM_H
#define KAHU_ENGINE_TRANSFORM_H

#include <jansson.h>
#include <stddef.h>

#include "util/strv.h"

#define TRANSFORM_FILE_MAX (1024 * 1024)

struct transform_set;

/* The transform file.  KAHU_EUSAGE with FILE:LINE; KAHU_ENOTFOUND/KAHU_EIO when it
 * cannot be read.  *ts is created, or the rules appended to it. */
int transform_load(const char *path, struct transform_set **ts);
int transform_parse(const char *text, size_t len, const char *name, struct transform_set **ts);

/* The shortcuts (the flags' text; several values comma-separated).  KAHU_EUSAGE naming
 * the flag and the bad value. */
int transform_add_storage_classes(struct transform_set **ts, const char *spec);
int transform_add_images(struct transform_set **ts, const char *spec);
int transform_add_replicas(struct transform_set **ts, const char *spec);

size_t transform_count(const struct transform_set *ts);

/* Applies the rules, in order, to *obj (an object of group-resource `gr`, already in
 * its target namespace; replaced by the patched object).  *applied: NULL when no rule
 * applied, else a new array of {"rule", "source", "type", "patch"} in the order they
 * applied.  0, or -1 with *why (allocated) when a patch could not apply: the item
 * fails, *obj is the object as it came (no rule's change kept).  Thread-safe (the
 * per-rule counts are atomic). */
int transform_apply(struct transform_set *ts, const char *gr, json_t **obj, json_t **applied, char **why);

/* One warning per rule that applied to no object (appended, allocated). */
void transform_unused(const struct transform_set *ts, struct strv *warnings);
void transform_free(struct transform_set *ts);

#endif
