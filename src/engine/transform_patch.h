/* kahu — the patch kinds of restore transforms (kahu-transform(5)), pure, on jansson:
 *
 *   - JSON Patch (RFC 6902): add, remove, replace, move, copy, test; paths are JSON
 *     Pointers (RFC 6901, ~0 and ~1 escapes, "-" for the end of an array).  A patch
 *     applies whole or not at all; numbers compare by value in `test` (1 equals 1.0).
 *   - JSON Merge Patch (RFC 7386).
 *   - Strategic merge patch, for the lists of built-in types whose merge keys are known
 *     (by field name): containers, initContainers and ephemeralContainers by name, ports
 *     by containerPort (by port for elements without one: Services' ports), env,
 *     volumes and imagePullSecrets by name, volumeMounts and volumeDevices by mountPath
 *     and devicePath; any other list is replaced.  Directives: `$patch: delete` on a
 *     list element removes the element of the same key, `$patch: replace` on a mapping
 *     replaces it whole, and a `{$patch: replace}` element replaces its list with the
 *     patch's other elements; other `$` keys are ignored.
 *
 * Errors come back as an allocated message in *why (the caller adds where the patch
 * came from); nothing here logs. */
#ifndef KAHU_ENGINE_TRANSFORM_PATCH_H
#define KAHU_ENGINE_TRANSFORM_PATCH_H

#include <jansson.h>

#include "util/strv.h"

/* A JSON Pointer's reference tokens, unescaped ("" → none).  -1 with *why when it is
 * not a pointer (no leading '/', a '~' not followed by 0 or 1). */
int jptr_parse(const char *ptr, struct strv *tokens, char **why);
/* The value `ptr` points at in `doc` (borrowed), or NULL. */
json_t *jptr_get(json_t *doc, const char *ptr);

/* Checks the shape of a JSON Patch (an array of operations, each with a known op, a
 * valid path, `value` or `from` where the op needs one).  0, or -1 with *why naming the
 * operation (counted from 1). */
int json_patch_check(json_t *patch, char **why);

enum { JPATCH_APPLIED = 0, JPATCH_TEST_FAILED = 1 };
/* Applies `patch` to *doc (replaced by the patched document on success; the root may
 * change).  JPATCH_APPLIED; JPATCH_TEST_FAILED when a `test` operation does not hold
 * (*doc unchanged, *why says which); -1 with *why when an operation cannot apply (a
 * path that does not exist, an index out of range): *doc unchanged. */
int json_patch_apply(json_t **doc, json_t *patch, char **why);

/* RFC 7386: returns the patched target (a new reference; `target` is left as it was,
 * may be NULL). */
json_t *json_merge_patch(json_t *target, json_t *patch);

/* The strategic merge of `patch` into `target` (a mapping): returns the merged document
 * (new reference; `target` left as it was), or NULL with *why (a list element without
 * its merge key, an unknown `$patch` directive). */
json_t *json_strategic_merge(json_t *target, json_t *patch, char **why);

/* 1 when equal as JSON values (numbers by value, objects whatever their key order). */
int json_value_equal(json_t *a, json_t *b);

#endif
