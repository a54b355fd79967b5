/* kahu — JSON Patch, JSON Merge Patch and strategic merge patch (see transform_patch.h). */
#include "engine/transform_patch.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

/* ---- JSON Pointer (RFC 6901) ---- */

int jptr_parse(const char *ptr, struct strv *tokens, char **why)
{
	if (!*ptr)
		return 0;
	if (*ptr != '/') {
		*why = xasprintf("\"%s\" is not a JSON Pointer (it must be empty or start with '/')", ptr);
		return -1;
	}
	const char *p = ptr + 1;
	for (;;) {
		size_t n = strcspn(p, "/");
		char *tok = xmalloc(n + 1), *o = tok;
		for (size_t i = 0; i < n; i++) {
			if (p[i] != '~') {
				*o++ = p[i];
				continue;
			}
			if (i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
				*o++ = p[i + 1] == '0' ? '~' : '/';
				i++;
				continue;
			}
			free(tok);
			*why = xasprintf("JSON Pointer \"%s\": '~' must be followed by 0 or 1", ptr);
			return -1;
		}
		*o = 0;
		strv_push_owned(tokens, tok);
		if (!p[n])
			break;
		p += n + 1;
	}
	return 0;
}

/* An array index token: digits without a leading zero ("0" itself is fine).  -1 when
 * not one; "-" is handled by the caller. */
static long array_index(const char *tok)
{
	if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
		return -1;
	for (const char *c = tok; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	return atol(tok);
}

static json_t *child(json_t *v, const char *tok)
{
	if (json_is_object(v))
		return json_object_get(v, tok);
	if (json_is_array(v)) {
		long i = array_index(tok);
		return i >= 0 ? json_array_get(v, (size_t)i) : NULL;
	}
	return NULL;
}

json_t *jptr_get(json_t *doc, const char *ptr)
{
	struct strv t = STRV_INIT;
	char *why = NULL;
	if (jptr_parse(ptr, &t, &why) < 0) {
		free(why);
		return NULL;
	}
	json_t *v = doc;
	for (size_t i = 0; v && i < t.n; i++)
		v = child(v, t.v[i]);
	strv_free(&t);
	return v;
}

int json_value_equal(json_t *a, json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!json_value_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach(a, k, v) {
			json_t *w = json_object_get(b, k);
			if (!w || !json_value_equal(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

/* ---- JSON Patch (RFC 6902) ---- */

enum jop { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST, OP_BAD };

static enum jop op_of(const char *s)
{
	static const char *const names[] = { "add", "remove", "replace", "move", "copy", "test" };
	for (int i = 0; s && i < OP_BAD; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum jop)i;
	return OP_BAD;
}

int json_patch_check(json_t *patch, char **why)
{
	size_t i;
	json_t *op;
	if (!json_is_array(patch)) {
		*why = xstrdup("a JSON Patch is a list of operations");
		return -1;
	}
	json_array_foreach(patch, i, op) {
		char *e = NULL;
		if (!json_is_object(op)) {
			*why = xasprintf("operation %zu: not a mapping", i + 1);
			return -1;
		}
		const char *name = json_string_value(json_object_get(op, "op"));
		enum jop o = op_of(name);
		if (o == OP_BAD) {
			*why = name ? xasprintf("operation %zu: unknown op \"%s\" (add, remove, replace, move, copy, test)",
						i + 1, name)
				    : xasprintf("operation %zu: no op", i + 1);
			return -1;
		}
		const char *keys[2] = { "path", (o == OP_MOVE || o == OP_COPY) ? "from" : NULL };
		for (int k = 0; k < 2 && keys[k]; k++) {
			const char *p = json_string_value(json_object_get(op, keys[k]));
			struct strv t = STRV_INIT;
			if (!p) {
				*why = xasprintf("operation %zu (%s): no %s", i + 1, name, keys[k]);
				return -1;
			}
			int rc = jptr_parse(p, &t, &e);
			strv_free(&t);
			if (rc < 0) {
				*why = xasprintf("operation %zu (%s): %s: %s", i + 1, name, keys[k], e);
				free(e);
				return -1;
			}
		}
		if ((o == OP_ADD || o == OP_REPLACE || o == OP_TEST) && !json_object_get(op, "value")) {
			*why = xasprintf("operation %zu (%s %s): no value", i + 1, name,
					 json_string_value(json_object_get(op, "path")));
			return -1;
		}
		if (o == OP_MOVE) {
			const char *from = json_string_value(json_object_get(op, "from"));
			const char *path = json_string_value(json_object_get(op, "path"));
			size_t fl = strlen(from);
			if (strncmp(path, from, fl) == 0 && path[fl] == '/') {
				*why = xasprintf("operation %zu (move): \"%s\" cannot move into its own child \"%s\"",
						 i + 1, from, path);
				return -1;
			}
		}
	}
	return 0;
}

/* The parent of the location `ptr` names, and its last token (*last, allocated).  NULL
 * for the root (*last NULL).  *why when the parent does not exist. */
static json_t *parent_of(json_t *doc, const char *ptr, char **last, char **why)
{
	struct strv t = STRV_INIT;
	*last = NULL;
	if (jptr_parse(ptr, &t, why) < 0)
		return NULL;
	if (!t.n) {
		strv_free(&t);
		return NULL;
	}
	json_t *v = doc;
	for (size_t i = 0; v && i + 1 < t.n; i++)
		v = child(v, t.v[i]);
	if (!v || !(json_is_object(v) || json_is_array(v))) {
		*why = xasprintf("the parent of %s does not exist", ptr);
		strv_free(&t);
		return NULL;
	}
	*last = xstrdup(t.v[t.n - 1]);
	strv_free(&t);
	return v;
}

/* add: `value` (a reference taken) at ptr. */
static int op_add(json_t **doc, const char *ptr, json_t *value, char **why)
{
	char *last = NULL;
	if (!*ptr) {
		json_decref(*doc);
		*doc = value;
		return 0;
	}
	json_t *p = parent_of(*doc, ptr, &last, why);
	int rc = -1;
	if (!p)
		goto out;
	if (json_is_object(p)) {
		json_object_set(p, last, value);
		rc = 0;
	} else if (strcmp(last, "-") == 0) {
		json_array_append(p, value);
		rc = 0;
	} else {
		long i = array_index(last);
		if (i < 0 || (size_t)i > json_array_size(p))
			*why = xasprintf("%s: index %s is out of range (the array has %zu elements)", ptr, last,
					 json_array_size(p));
		else
			rc = json_array_insert(p, (size_t)i, value) == 0 ? 0 : -1;
	}
out:
	json_decref(value);
	free(last);
	return rc;
}

/* remove: the value at ptr, returned (a reference) in *old when old is not NULL. */
static int op_remove(json_t **doc, const char *ptr, json_t **old, char **why)
{
	char *last = NULL;
	if (!*ptr) {
		*why = xstrdup("the whole document cannot be removed");
		return -1;
	}
	json_t *p = parent_of(*doc, ptr, &last, why);
	json_t *v = p ? child(p, last) : NULL;
	if (p && !v)
		*why = xasprintf("%s does not exist", ptr);
	if (!v) {
		free(last);
		return -1;
	}
	if (old)
		*old = json_incref(v);
	if (json_is_object(p))
		json_object_del(p, last);
	else
		json_array_remove(p, (size_t)array_index(last));
	free(last);
	return 0;
}

static int apply_op(json_t **doc, json_t *op, char **why)
{
	const char *path = json_string_value(json_object_get(op, "path"));
	const char *from = json_string_value(json_object_get(op, "from"));
	json_t *value = json_object_get(op, "value"), *v;
	switch (op_of(json_string_value(json_object_get(op, "op")))) {
	case OP_ADD:
		return op_add(doc, path, json_deep_copy(value), why);
	case OP_REMOVE:
		return op_remove(doc, path, NULL, why);
	case OP_REPLACE:
		if (!jptr_get(*doc, path)) {
			*why = xasprintf("%s does not exist", path);
			return -1;
		}
		return op_add(doc, path, json_deep_copy(value), why) < 0 ? -1 :
		       0; /* (in an array, add inserts: replace removes first) */
	case OP_MOVE:
		if (strcmp(from, path) == 0) {
			if (!jptr_get(*doc, from)) {
				*why = xasprintf("%s does not exist", from);
				return -1;
			}
			return 0;
		}
		if (op_remove(doc, from, &v, why) < 0)
			return -1;
		return op_add(doc, path, v, why);
	case OP_COPY:
		if (!(v = jptr_get(*doc, from))) {
			*why = xasprintf("%s does not exist", from);
			return -1;
		}
		return op_add(doc, path, json_deep_copy(v), why);
	case OP_TEST:
		v = jptr_get(*doc, path);
		if (!v || !json_value_equal(v, value)) {
			*why = v ? xasprintf("test %s: the value differs", path) : xasprintf("test %s: it does not exist", path);
			return JPATCH_TEST_FAILED;
		}
		return 0;
	case OP_BAD:
		break;
	}
	*why = xstrdup("unknown op");
	return -1;
}

int json_patch_apply(json_t **doc, json_t *patch, char **why)
{
	if (json_patch_check(patch, why) < 0)
		return -1;
	json_t *work = json_deep_copy(*doc);
	size_t i;
	json_t *op;
	json_array_foreach(patch, i, op) {
		int rc;
		char *e = NULL;
		const char *path = json_string_value(json_object_get(op, "path"));
		const char *name = json_string_value(json_object_get(op, "op"));
		/* replace in an array: remove, then add at the same index */
		if (op_of(name) == OP_REPLACE && *path) {
			json_t *old = NULL;
			rc = op_remove(&work, path, &old, &e);
			json_decref(old);
			if (rc == 0)
				rc = op_add(&work, path, json_deep_copy(json_object_get(op, "value")), &e);
		} else {
			rc = apply_op(&work, op, &e);
		}
		if (rc != 0) {
			*why = rc == JPATCH_TEST_FAILED ? xasprintf("operation %zu: %s", i + 1, e) :
			       xasprintf("operation %zu (%s %s): %s", i + 1, name, path, e);
			free(e);
			json_decref(work);
			return rc == JPATCH_TEST_FAILED ? JPATCH_TEST_FAILED : -1;
		}
	}
	json_decref(*doc);
	*doc = work;
	return JPATCH_APPLIED;
}

/* ---- JSON Merge Patch (RFC 7386) ---- */

json_t *json_merge_patch(json_t *target, json_t *patch)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *k;
	json_t *v;
	json_object_foreach(patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(out, k);
			continue;
		}
		json_object_set_new(out, k, json_merge_patch(json_object_get(out, k), v));
	}
	return out;
}

/* ---- strategic merge patch ---- */

/* The merge key of a list field, by name; NULL: the list is replaced. */
static const char *merge_key(const char *field, json_t *elem)
{
	static const char *const keys[][2] = {
		{ "containers", "name" }, { "initContainers", "name" }, { "ephemeralContainers", "name" },
		{ "env", "name" }, { "volumes", "name" }, { "imagePullSecrets", "name" },
		{ "volumeMounts", "mountPath" }, { "volumeDevices", "devicePath" },
	};
	if (strcmp(field, "ports") == 0)
		return json_object_get(elem, "containerPort") ? "containerPort" : "port";
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(field, keys[i][0]) == 0)
			return keys[i][1];
	return NULL;
}

static const char *directive(json_t *v)
{
	return json_string_value(json_object_get(v, "$patch"));
}

/* A copy of a patch value without its directives (for what is added as it is). */
static json_t *strip(json_t *v)
{
	if (json_is_array(v)) {
		json_t *out = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			if (!(json_is_object(e) && directive(e)))
				json_array_append_new(out, strip(e));
		return out;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	json_t *out = json_object();
	const char *k;
	json_t *e;
	json_object_foreach(v, k, e)
		if (k[0] != '$' && !json_is_null(e))
			json_object_set_new(out, k, strip(e));
	return out;
}

static json_t *smp(json_t *target, json_t *patch, char **why);

static json_t *smp_list(json_t *target, json_t *patch, const char *field, char **why)
{
	size_t i;
	json_t *e;
	json_array_foreach(patch, i, e) {
		const char *d = json_is_object(e) ? directive(e) : NULL;
		if (d && strcmp(d, "replace") == 0)
			return strip(patch);
	}
	json_t *out = json_is_array(target) ? json_deep_copy(target) : json_array();
	json_array_foreach(patch, i, e) {
		const char *key = merge_key(field, e);
		json_t *kv = json_is_object(e) ? json_object_get(e, key) : NULL;
		const char *d = json_is_object(e) ? directive(e) : NULL;
		if (!kv) {
			*why = xasprintf("%s: element %zu has no %s (the list's merge key)", field, i + 1, key);
			json_decref(out);
			return NULL;
		}
		if (d && strcmp(d, "delete") != 0) {
			*why = xasprintf("%s: element %zu: unknown directive $patch: %s (delete, replace)", field, i + 1, d);
			json_decref(out);
			return NULL;
		}
		size_t j, found = (size_t)-1;
		json_t *te;
		json_array_foreach(out, j, te)
			if (json_is_object(te) && json_object_get(te, key) &&
			    json_value_equal(json_object_get(te, key), kv)) {
				found = j;
				break;
			}
		if (d) {
			if (found != (size_t)-1)
				json_array_remove(out, found);
			continue;
		}
		if (found == (size_t)-1) {
			json_array_append_new(out, strip(e));
			continue;
		}
		json_t *m = smp(json_array_get(out, found), e, why);
		if (!m) {
			json_decref(out);
			return NULL;
		}
		json_array_set_new(out, found, m);
	}
	return out;
}

static json_t *smp(json_t *target, json_t *patch, char **why)
{
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	const char *d = directive(patch);
	if (d && strcmp(d, "replace") == 0)
		return strip(patch);
	if (d) {
		*why = xasprintf("unknown directive $patch: %s on a mapping (replace; delete is for list elements)", d);
		return NULL;
	}
	json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
	const char *k;
	json_t *v;
	json_object_foreach(patch, k, v) {
		json_t *m;
		if (k[0] == '$')
			continue;
		if (json_is_null(v)) {
			json_object_del(out, k);
			continue;
		}
		if (json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0)) &&
		    merge_key(k, json_array_get(v, 0)))
			m = smp_list(json_object_get(out, k), v, k, why);
		else if (json_is_array(v))
			m = strip(v);
		else
			m = smp(json_object_get(out, k), v, why);
		if (!m) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, k, m);
	}
	return out;
}

json_t *json_strategic_merge(json_t *target, json_t *patch, char **why)
{
	if (!json_is_object(patch)) {
		*why = xstrdup("a strategic merge patch is a mapping");
		return NULL;
	}
	return smp(target, patch, why);
}
