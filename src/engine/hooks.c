/* kahu — hook definitions: pod annotations (kahu's and Velero's) and the hooks file
 * (kahu-hooks(5)), validated before a run writes anything. */
#include "engine/hooks.h"

#include "engine/labelsel.h"
#include "engine/ynode.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define HOOKS_FILE_MAX (1u << 20)

int hook_command_parse(const char *text, const char *where, struct strv *argv)
{
	const char *p = text;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p != '[') {
		/* A plain string is the command itself, one word (as Velero reads it). */
		if (!*p)
			return kahu_error_set(KAHU_EUSAGE, "%s: the command is empty", where);
		strv_push(argv, text);
		return 0;
	}
	json_error_t je;
	json_t *a = json_loads(p, JSON_REJECT_DUPLICATES, &je);
	if (!a)
		return kahu_error_set(KAHU_EUSAGE, "%s: invalid command: not a JSON array of strings "
				      "(%s at column %d)", where, je.text, je.column);
	if (!json_is_array(a) || json_array_size(a) == 0) {
		int is_array = json_is_array(a);
		json_decref(a);
		return kahu_error_set(KAHU_EUSAGE, "%s: invalid command: %s", where,
				      is_array ? "the array is empty" : "not a JSON array of strings");
	}
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || (i == 0 && !*json_string_value(v))) {
			const char *what = json_is_string(v) ? "an empty program name" : "not a string";
			json_decref(a);
			return kahu_error_set(KAHU_EUSAGE, "%s: invalid command: element %zu is %s", where, i, what);
		}
	}
	json_array_foreach(a, i, v)
		strv_push(argv, json_string_value(v));
	json_decref(a);
	return 0;
}

int hook_duration_parse(const char *text, const char *where, int64_t *seconds)
{
	int64_t s = 0;
	char *end;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (*text && isdigit((unsigned char)*text) && !*end && !errno) {
		s = n;
	} else if (!*text || duration_parse(text, where, &s) < 0) {
		return kahu_error_set(KAHU_EUSAGE, "%s: invalid duration \"%s\" (use e.g. 30s, 5m, 1h30m)",
				      where, text);
	}
	if (s <= 0 || s > 7 * 86400)
		return kahu_error_set(KAHU_EUSAGE, "%s: invalid duration \"%s\": between 1s and 7d",
				      where, text);
	*seconds = s;
	return 0;
}

int hook_on_error_parse(const char *text, const char *where, enum hook_on_error *out)
{
	if (strcasecmp(text, "Fail") == 0)
		*out = HOOK_FAIL;
	else if (strcasecmp(text, "Continue") == 0)
		*out = HOOK_CONTINUE;
	else
		return kahu_error_set(KAHU_EUSAGE, "%s: unknown on-error value \"%s\" (Fail or Continue)",
				      where, text);
	return 0;
}

void hook_exec_clear(struct hook_exec *h)
{
	free(h->name);
	free(h->source);
	free(h->container);
	strv_free(&h->argv);
	memset(h, 0, sizeof *h);
}

void hook_init_clear(struct hook_init *h)
{
	free(h->name);
	free(h->image);
	free(h->source);
	strv_free(&h->argv);
	memset(h, 0, sizeof *h);
}

static void exec_defaults(struct hook_exec *h)
{
	h->on_error = HOOK_FAIL;
	h->timeout_s = HOOK_DEFAULT_TIMEOUT;
	h->wait_timeout_s = HOOK_DEFAULT_WAIT_TIMEOUT;
}

/* ---- annotations ---- */

static const char *when_prefix(enum hook_when when)
{
	switch (when) {
	case HOOK_BACKUP_PRE: return "pre.hook.backup";
	case HOOK_BACKUP_POST: return "post.hook.backup";
	case HOOK_RESTORE_POST: return "post.hook.restore";
	}
	return "";
}

static const char *ann(json_t *anns, const char *prefix, const char *vendor, const char *key)
{
	char k[128];
	snprintf(k, sizeof k, "%s.%s/%s", prefix, vendor, key);
	return json_string_value(json_object_get(anns, k));
}

static json_t *pod_annotations(json_t *pod)
{
	return json_object_get(json_object_get(pod, "metadata"), "annotations");
}

/* The annotations' hook for `when`: kahu's group when it has a command, else Velero's.
 * *found 0 when neither has one. */
static int annotation_hook(json_t *pod, enum hook_when when, struct hook_exec *h, int *found)
{
	json_t *meta = json_object_get(pod, "metadata"), *anns = pod_annotations(pod);
	const char *prefix = when_prefix(when), *vendor = "kahu.io";
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	int rc;

	*found = 0;
	if (!ann(anns, prefix, vendor, "command")) {
		vendor = "velero.io";
		if (!ann(anns, prefix, vendor, "command"))
			return 0;
	}
	char where[512];
	memset(h, 0, sizeof *h);
	exec_defaults(h);
	h->name = xstrdup("annotation");
	h->source = xasprintf("%s annotation", strcmp(vendor, "kahu.io") == 0 ? "kahu" : "velero");
	const char *v;
	snprintf(where, sizeof where, "pod %s/%s: annotation %s.%s/command", ns ? ns : "", name ? name : "",
		 prefix, vendor);
	if ((rc = hook_command_parse(ann(anns, prefix, vendor, "command"), where, &h->argv)) < 0)
		goto fail;
	if ((v = ann(anns, prefix, vendor, "container")) && *v)
		h->container = xstrdup(v);
	snprintf(where, sizeof where, "pod %s/%s: annotation %s.%s/on-error", ns ? ns : "", name ? name : "",
		 prefix, vendor);
	if ((v = ann(anns, prefix, vendor, "on-error")) && (rc = hook_on_error_parse(v, where, &h->on_error)) < 0)
		goto fail;
	const char *tkey = when == HOOK_RESTORE_POST ? "exec-timeout" : "timeout";
	snprintf(where, sizeof where, "pod %s/%s: annotation %s.%s/%s", ns ? ns : "", name ? name : "",
		 prefix, vendor, tkey);
	if ((v = ann(anns, prefix, vendor, tkey)) && (rc = hook_duration_parse(v, where, &h->timeout_s)) < 0)
		goto fail;
	if (when == HOOK_RESTORE_POST) {
		snprintf(where, sizeof where, "pod %s/%s: annotation %s.%s/wait-timeout", ns ? ns : "",
			 name ? name : "", prefix, vendor);
		if ((v = ann(anns, prefix, vendor, "wait-timeout")) &&
		    (rc = hook_duration_parse(v, where, &h->wait_timeout_s)) < 0)
			goto fail;
	}
	*found = 1;
	return 0;
fail:
	hook_exec_clear(h);
	return rc;
}

static void exec_copy(struct hook_exec *dst, const struct hook_exec *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->source = xstrdup(src->source);
	dst->container = xstrdup(src->container);
	memset(&dst->argv, 0, sizeof dst->argv);
	for (size_t i = 0; i < src->argv.n; i++)
		strv_push(&dst->argv, src->argv.v[i]);
}

int hook_selector_match(const struct hook_selector *sel, const char *resource, const char *ns,
			json_t *labels)
{
	if (sel->namespaces.n) {
		size_t i;
		for (i = 0; i < sel->namespaces.n; i++)
			if (ns && fnmatch(sel->namespaces.v[i], ns, 0) == 0)
				break;
		if (i == sel->namespaces.n)
			return 0;
	}
	if (sel->resources.n && !strv_contains(&sel->resources, resource) &&
	    !strv_contains(&sel->resources, "*"))
		return 0;
	if (sel->labels && !labelsel_match(sel->labels, labels))
		return 0;
	return 1;
}

int hook_pod_hooks(const struct hook_set *hs, json_t *pod, enum hook_when when,
		   struct hook_exec **hooks, size_t *n)
{
	struct hook_exec h;
	int found, rc;

	if ((rc = annotation_hook(pod, when, &h, &found)) < 0)
		return rc;
	if (found) {
		*hooks = xrealloc(*hooks, (*n + 1) * sizeof **hooks);
		(*hooks)[(*n)++] = h;
	}
	if (!hs)
		return 0;
	json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	for (size_t i = 0; i < hs->nrules; i++) {
		const struct hook_rule *r = &hs->rules[i];
		if (!hook_selector_match(&r->sel, "pods", ns, json_object_get(meta, "labels")))
			continue;
		const struct hook_exec *v = when == HOOK_BACKUP_PRE ? r->pre :
					    when == HOOK_BACKUP_POST ? r->post : r->restore_post;
		size_t nv = when == HOOK_BACKUP_PRE ? r->npre :
			    when == HOOK_BACKUP_POST ? r->npost : r->nrestore_post;
		for (size_t j = 0; j < nv; j++) {
			*hooks = xrealloc(*hooks, (*n + 1) * sizeof **hooks);
			exec_copy(&(*hooks)[(*n)++], &v[j]);
		}
	}
	return 0;
}

int hook_init_hooks(const struct hook_set *hs, const char *resource, const char *ns,
		    json_t *pod_meta, struct hook_init **hooks, size_t *n)
{
	json_t *anns = json_object_get(pod_meta, "annotations");
	const char *vendor = "kahu.io";
	int rc;

	if (!ann(anns, "init.hook.restore", vendor, "container-image"))
		vendor = "velero.io";
	const char *image = ann(anns, "init.hook.restore", vendor, "container-image");
	if (image) {
		struct hook_init h = { 0 };
		char where[512];
		const char *name = json_string_value(json_object_get(pod_meta, "name"));
		snprintf(where, sizeof where, "%s %s/%s: annotation init.hook.restore.%s/command", resource,
			 ns ? ns : "", name ? name : "", vendor);
		const char *cmd = ann(anns, "init.hook.restore", vendor, "command");
		if (!*image)
			return kahu_error_set(KAHU_EUSAGE, "%s %s/%s: annotation init.hook.restore.%s/"
					      "container-image is empty", resource, ns ? ns : "",
					      name ? name : "", vendor);
		if (cmd && (rc = hook_command_parse(cmd, where, &h.argv)) < 0)
			return rc;
		const char *cname = ann(anns, "init.hook.restore", vendor, "container-name");
		h.name = xstrdup(cname && *cname ? cname : "restore-hook");
		h.image = xstrdup(image);
		h.source = xasprintf("%s annotation", strcmp(vendor, "kahu.io") == 0 ? "kahu" : "velero");
		*hooks = xrealloc(*hooks, (*n + 1) * sizeof **hooks);
		(*hooks)[(*n)++] = h;
	}
	if (!hs)
		return 0;
	for (size_t i = 0; i < hs->nrules; i++) {
		const struct hook_rule *r = &hs->rules[i];
		if (!r->ninit || !hook_selector_match(&r->sel, resource, ns, json_object_get(pod_meta, "labels")))
			continue;
		for (size_t j = 0; j < r->ninit; j++) {
			struct hook_init h = { 0 };
			h.name = xstrdup(r->init[j].name);
			h.image = xstrdup(r->init[j].image);
			h.source = xstrdup(r->init[j].source);
			for (size_t k = 0; k < r->init[j].argv.n; k++)
				strv_push(&h.argv, r->init[j].argv.v[k]);
			*hooks = xrealloc(*hooks, (*n + 1) * sizeof **hooks);
			(*hooks)[(*n)++] = h;
		}
	}
	return 0;
}

/* ---- containers ---- */

static json_t *container_status(json_t *pod, const char *list, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), list), i, c)
		if (json_is_string(json_object_get(c, "name")) &&
		    strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return c;
	return NULL;
}

static void add_state(struct kbuf *b, json_t *st)
{
	json_t *state = json_object_get(st, "state");
	const char *k;
	json_t *v;
	if (!state || !json_object_size(state)) {
		kbuf_adds(b, "no status");
		return;
	}
	json_object_foreach(state, k, v) {
		kbuf_adds(b, k);
		const char *reason = json_string_value(json_object_get(v, "reason"));
		if (reason) {
			kbuf_adds(b, ": ");
			kbuf_add_printable(b, reason, 0);
		}
		break;
	}
}

char *hook_container_states(json_t *pod)
{
	struct kbuf b = KBUF_INIT;
	json_t *spec = json_object_get(pod, "spec"), *c;
	size_t i;
	const char *lists[] = { "containers", "initContainers" };
	const char *slists[] = { "containerStatuses", "initContainerStatuses" };
	for (int l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			const char *name = json_string_value(json_object_get(c, "name"));
			if (!name)
				continue;
			if (b.len)
				kbuf_adds(&b, ", ");
			kbuf_add_printable(&b, name, 0);
			kbuf_adds(&b, l ? " (init" : " (");
			const char *rp = json_string_value(json_object_get(c, "restartPolicy"));
			if (l && rp && strcmp(rp, "Always") == 0)
				kbuf_adds(&b, ", sidecar");
			if (l)
				kbuf_adds(&b, ", ");
			add_state(&b, container_status(pod, slists[l], name));
			kbuf_addc(&b, ')');
		}
	}
	if (!b.len)
		kbuf_adds(&b, "none");
	return kbuf_detach(&b);
}

/* Copies the members `keys` of `src` that are present into `dst`. */
static void copy_members(json_t *dst, json_t *src, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(src, *keys);
		if (v)
			json_object_set(dst, *keys, v);
	}
}

/* An array of objects, each cut down to `keys`; NULL when `src` is not an array. */
static json_t *trim_array(json_t *src, const char *const *keys)
{
	if (!json_is_array(src))
		return NULL;
	json_t *a = json_array(), *e;
	size_t i;
	json_array_foreach(src, i, e) {
		json_t *o = json_object();
		if (json_is_object(e))
			copy_members(o, e, keys);
		json_array_append_new(a, o);
	}
	return a;
}

json_t *hook_pod_trim(json_t *pod)
{
	static const char *const meta_keys[] = { "name", "namespace", "labels", "annotations", NULL };
	static const char *const cont_keys[] = { "name", NULL };
	static const char *const init_keys[] = { "name", "restartPolicy", NULL };
	static const char *const st_keys[] = { "name", "state", NULL };
	static const char *const lists[][2] = {
		{ "containers", "containerStatuses" }, { "initContainers", "initContainerStatuses" },
	};
	json_t *out = json_object(), *meta = json_object(), *spec = json_object(), *status = json_object();
	json_t *src_spec = json_object_get(pod, "spec"), *src_status = json_object_get(pod, "status");

	copy_members(meta, json_object_get(pod, "metadata"), meta_keys);
	for (int l = 0; l < 2; l++) {
		json_t *a = trim_array(json_object_get(src_spec, lists[l][0]), l ? init_keys : cont_keys);
		if (a)
			json_object_set_new(spec, lists[l][0], a);
		if ((a = trim_array(json_object_get(src_status, lists[l][1]), st_keys)))
			json_object_set_new(status, lists[l][1], a);
	}
	json_t *phase = json_object_get(src_status, "phase");
	if (phase)
		json_object_set(status, "phase", phase);
	json_object_set_new(out, "metadata", meta);
	json_object_set_new(out, "spec", spec);
	json_object_set_new(out, "status", status);
	return out;
}

int hook_container_resolve(json_t *pod, const char *name, const char **container, int *running)
{
	json_t *spec = json_object_get(pod, "spec"), *c;
	const char *found = NULL, *slist = "containerStatuses";
	size_t i;

	if (!name) {
		found = json_string_value(json_object_get(json_array_get(json_object_get(spec, "containers"), 0), "name"));
	} else {
		json_array_foreach(json_object_get(spec, "containers"), i, c)
			if (json_is_string(json_object_get(c, "name")) &&
			    strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
				found = json_string_value(json_object_get(c, "name"));
		if (!found) {
			json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
				const char *rp = json_string_value(json_object_get(c, "restartPolicy"));
				if (json_is_string(json_object_get(c, "name")) &&
				    strcmp(json_string_value(json_object_get(c, "name")), name) == 0 &&
				    rp && strcmp(rp, "Always") == 0) {
					found = json_string_value(json_object_get(c, "name"));
					slist = "initContainerStatuses";
				}
			}
		}
	}
	if (!found) {
		char *states = hook_container_states(pod);
		json_t *meta = json_object_get(pod, "metadata");
		struct kbuf nb = KBUF_INIT;
		kbuf_add_printable(&nb, name ? name : "", 0);
		int rc = kahu_error_set(KAHU_ENOTFOUND, name ? "pod %s/%s has no container \"%s\" (its containers: %s)" :
					"pod %s/%s has no container%s (its containers: %s)",
					json_string_value(json_object_get(meta, "namespace")) ?: "",
					json_string_value(json_object_get(meta, "name")) ?: "",
					kbuf_str(&nb), states);
		kbuf_free(&nb);
		free(states);
		return rc;
	}
	*container = found;
	const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
	json_t *st = container_status(pod, slist, found);
	*running = phase && strcmp(phase, "Running") == 0 &&
		   st && json_object_get(json_object_get(st, "state"), "running") != NULL;
	return 0;
}

/* ---- the hooks file ---- */

struct yctx {
	yaml_document_t *doc;
	const char *file;
};

static int yerr(const struct yctx *y, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int yerr(const struct yctx *y, yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ynode_verror(y->file, n, fmt, ap);
	va_end(ap);
	return rc;
}

static const char *yscalar(yaml_node_t *n)
{
	return ynode_scalar(n);
}

static yaml_node_t *ynode(const struct yctx *y, int id)
{
	return yaml_document_get_node(y->doc, id);
}

static int ystring(const struct yctx *y, yaml_node_t *n, const char *key, const char **out)
{
	if (!yscalar(n))
		return yerr(y, n, "%s: expected a string", key);
	*out = yscalar(n);
	return 0;
}

/* A list of strings, or one string. */
static int ystrings(const struct yctx *y, yaml_node_t *n, const char *key, struct strv *out)
{
	return ynode_strings(y->doc, y->file, n, key, false, out);
}

/* A command: a list of strings (argv) or a string (a JSON array, or one word). */
static int ycommand(const struct yctx *y, yaml_node_t *n, struct strv *argv)
{
	if (yscalar(n)) {
		char where[512];
		snprintf(where, sizeof where, "%s:%lu: command", y->file, (unsigned long)n->start_mark.line + 1);
		return hook_command_parse(yscalar(n), where, argv);
	}
	int rc = ystrings(y, n, "command", argv);
	if (rc == 0 && (!argv->n || !*argv->v[0]))
		return yerr(y, n, "command: %s", argv->n ? "an empty program name" : "the list is empty");
	return rc;
}

static int yduration(const struct yctx *y, yaml_node_t *n, const char *key, int64_t *out)
{
	char where[512];
	const char *s = NULL;
	int rc;
	if ((rc = ystring(y, n, key, &s)) < 0)
		return rc;
	snprintf(where, sizeof where, "%s:%lu: %s", y->file, (unsigned long)n->start_mark.line + 1, key);
	return hook_duration_parse(s, where, out);
}

/* An on-error value, its errors naming FILE:LINE. */
static int yon_error(const struct yctx *y, yaml_node_t *n, const char *key, enum hook_on_error *out)
{
	char where[512];
	const char *s = NULL;
	int rc;
	if ((rc = ystring(y, n, key, &s)) < 0)
		return rc;
	snprintf(where, sizeof where, "%s:%lu: %s", y->file, (unsigned long)n->start_mark.line + 1, key);
	return hook_on_error_parse(s, where, out);
}

#define YMAP_FOREACH_P(y, n, kn, vn, it)                                                  \
	for (yaml_node_pair_t *it = (n)->data.mapping.pairs.start;                          \
	     it < (n)->data.mapping.pairs.top && ((kn) = ynode(y, it->key), (vn) = ynode(y, it->value), 1); \
	     it++)
#define YMAP_FOREACH(y, n, kn, vn) YMAP_FOREACH_P(y, n, kn, vn, p_)

static int ymapping(const struct yctx *y, yaml_node_t *n, const char *what)
{
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "%s: expected a mapping", what);
	return 0;
}

static int yexec(const struct yctx *y, yaml_node_t *n, const char *rule, int restore, struct hook_exec *h)
{
	yaml_node_t *kn, *vn;
	int rc, have_cmd = 0;
	const char *s = NULL;

	memset(h, 0, sizeof *h);
	exec_defaults(h);
	h->name = xstrdup(rule);
	h->source = xasprintf("%s:%lu", y->file, (unsigned long)n->start_mark.line + 1);
	if ((rc = ymapping(y, n, "an exec hook")) < 0)
		return rc;
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "container") == 0) {
			if ((rc = ystring(y, vn, k, &s)) < 0)
				return rc;
			free(h->container);
			h->container = xstrdup(s);
		} else if (strcmp(k, "command") == 0) {
			strv_free(&h->argv);
			if ((rc = ycommand(y, vn, &h->argv)) < 0)
				return rc;
			have_cmd = 1;
		} else if (strcmp(k, "on-error") == 0) {
			if ((rc = yon_error(y, vn, k, &h->on_error)) < 0)
				return rc;
		} else if (strcmp(k, restore ? "exec-timeout" : "timeout") == 0) {
			if ((rc = yduration(y, vn, k, &h->timeout_s)) < 0)
				return rc;
		} else if (restore && strcmp(k, "wait-timeout") == 0) {
			if ((rc = yduration(y, vn, k, &h->wait_timeout_s)) < 0)
				return rc;
		} else {
			return yerr(y, kn, "unknown key \"%s\" in an exec hook (container, command, on-error, %s)",
				    k, restore ? "exec-timeout, wait-timeout" : "timeout");
		}
	}
	if (!have_cmd)
		return yerr(y, n, "an exec hook without a command");
	return 0;
}

static int yexecs(const struct yctx *y, yaml_node_t *n, const char *rule, int restore,
		  struct hook_exec **v, size_t *nv)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(y, n, "expected a list of exec hooks");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		*v = xrealloc(*v, (*nv + 1) * sizeof **v);
		int rc = yexec(y, ynode(y, *it), rule, restore, &(*v)[*nv]);
		(*nv)++;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int yinits(const struct yctx *y, yaml_node_t *n, struct hook_rule *r)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(y, n, "init: expected a list of init containers");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = ynode(y, *it), *kn, *vn;
		const char *s = NULL;
		int rc;
		r->init = xrealloc(r->init, (r->ninit + 1) * sizeof *r->init);
		struct hook_init *h = &r->init[r->ninit++];
		memset(h, 0, sizeof *h);
		h->source = xasprintf("%s:%lu", y->file, (unsigned long)e->start_mark.line + 1);
		if ((rc = ymapping(y, e, "an init container")) < 0)
			return rc;
		YMAP_FOREACH(y, e, kn, vn) {
			const char *k = yscalar(kn) ? yscalar(kn) : "";
			if (strcmp(k, "name") == 0 || strcmp(k, "image") == 0) {
				if ((rc = ystring(y, vn, k, &s)) < 0)
					return rc;
				char **dst = k[0] == 'n' ? &h->name : &h->image;
				free(*dst);
				*dst = xstrdup(s);
			} else if (strcmp(k, "command") == 0) {
				strv_free(&h->argv);
				if ((rc = ycommand(y, vn, &h->argv)) < 0)
					return rc;
			} else {
				return yerr(y, kn, "unknown key \"%s\" in an init container (name, image, command)", k);
			}
		}
		if (!h->image || !*h->image)
			return yerr(y, e, "an init container without an image");
		if (!h->name)
			h->name = xasprintf("restore-hook-%zu", r->ninit);
	}
	return 0;
}

static int yrule(const struct yctx *y, yaml_node_t *n, struct hook_rule *r, const struct hook_set *hs)
{
	yaml_node_t *kn, *vn;
	const char *s = NULL;
	int rc;

	if ((rc = ymapping(y, n, "a hook")) < 0)
		return rc;
	YMAP_FOREACH(y, n, kn, vn) {
		if (yscalar(kn) && strcmp(yscalar(kn), "name") == 0) {
			if ((rc = ystring(y, vn, "name", &s)) < 0)
				return rc;
			if (!*s)
				return yerr(y, vn, "name: empty");
			for (size_t i = 0; i < hs->nrules; i++)
				if (hs->rules[i].name && strcmp(hs->rules[i].name, s) == 0)
					return yerr(y, vn, "a second hook named \"%s\"", s);
			r->name = xstrdup(s);
		}
	}
	if (!r->name)
		r->name = xasprintf("hook-%zu", hs->nrules + 1);
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "name") == 0) {
			continue;
		} else if (strcmp(k, "namespaces") == 0) {
			if ((rc = ystrings(y, vn, k, &r->sel.namespaces)) < 0)
				return rc;
		} else if (strcmp(k, "resources") == 0) {
			if ((rc = ystrings(y, vn, k, &r->sel.resources)) < 0)
				return rc;
			for (size_t i = 0; i < r->sel.resources.n; i++)
				for (char *c = r->sel.resources.v[i]; *c; c++)
					*c = (char)tolower((unsigned char)*c);
		} else if (strcmp(k, "selector") == 0) {
			if ((rc = ystring(y, vn, k, &s)) < 0)
				return rc;
			if ((rc = labelsel_parse(s, &r->sel.labels)) < 0)
				return kahu_error_wrap(rc, "%s:%lu: selector", y->file,
						       (unsigned long)vn->start_mark.line + 1);
		} else if (strcmp(k, "pre") == 0) {
			if ((rc = yexecs(y, vn, r->name, 0, &r->pre, &r->npre)) < 0)
				return rc;
		} else if (strcmp(k, "post") == 0) {
			if ((rc = yexecs(y, vn, r->name, 0, &r->post, &r->npost)) < 0)
				return rc;
		} else if (strcmp(k, "restore-post") == 0) {
			if ((rc = yexecs(y, vn, r->name, 1, &r->restore_post, &r->nrestore_post)) < 0)
				return rc;
		} else if (strcmp(k, "init") == 0) {
			if ((rc = yinits(y, vn, r)) < 0)
				return rc;
		} else {
			return yerr(y, kn, "unknown key \"%s\" in hook \"%s\" (name, namespaces, resources, "
				    "selector, pre, post, restore-post, init)", k, r->name);
		}
	}
	return 0;
}

static int ylocals(const struct yctx *y, yaml_node_t *n, struct hook_local **v, size_t *nv)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(y, n, "expected a list of local hooks");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = ynode(y, *it), *kn, *vn;
		const char *s = NULL;
		int rc;
		*v = xrealloc(*v, (*nv + 1) * sizeof **v);
		struct hook_local *h = &(*v)[(*nv)++];
		memset(h, 0, sizeof *h);
		h->timeout_s = HOOK_DEFAULT_TIMEOUT;
		h->on_error = HOOK_FAIL;
		if ((rc = ymapping(y, e, "a local hook")) < 0)
			return rc;
		YMAP_FOREACH(y, e, kn, vn) {
			const char *k = yscalar(kn) ? yscalar(kn) : "";
			if (strcmp(k, "name") == 0) {
				if ((rc = ystring(y, vn, k, &s)) < 0)
					return rc;
				free(h->name);
				h->name = xstrdup(s);
			} else if (strcmp(k, "command") == 0) {
				strv_free(&h->argv);
				if ((rc = ycommand(y, vn, &h->argv)) < 0)
					return rc;
			} else if (strcmp(k, "timeout") == 0) {
				if ((rc = yduration(y, vn, k, &h->timeout_s)) < 0)
					return rc;
			} else if (strcmp(k, "on-error") == 0) {
				if ((rc = yon_error(y, vn, k, &h->on_error)) < 0)
					return rc;
			} else {
				return yerr(y, kn, "unknown key \"%s\" in a local hook (name, command, timeout, on-error)", k);
			}
		}
		if (!h->argv.n)
			return yerr(y, e, "a local hook without a command");
		if (!h->name)
			h->name = xstrdup(h->argv.v[0]);
	}
	return 0;
}

static int yroot(const struct yctx *y, yaml_node_t *root, struct hook_set *hs)
{
	yaml_node_t *kn, *vn;
	int rc;

	if ((rc = ymapping(y, root, "the hooks file")) < 0)
		return rc;
	YMAP_FOREACH(y, root, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "hooks") == 0) {
			if (vn->type != YAML_SEQUENCE_NODE)
				return yerr(y, vn, "hooks: expected a list");
			for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
				hs->rules = xrealloc(hs->rules, (hs->nrules + 1) * sizeof *hs->rules);
				struct hook_rule *r = &hs->rules[hs->nrules];
				memset(r, 0, sizeof *r);
				rc = yrule(y, ynode(y, *it), r, hs);
				hs->nrules++;
				if (rc < 0)
					return rc;
			}
		} else if (strcmp(k, "local") == 0) {
			yaml_node_t *lk, *lv;
			if ((rc = ymapping(y, vn, "local")) < 0)
				return rc;
			YMAP_FOREACH_P(y, vn, lk, lv, q_) {
				const char *w = yscalar(lk) ? yscalar(lk) : "";
				if (strcmp(w, "before") == 0)
					rc = ylocals(y, lv, &hs->before, &hs->nbefore);
				else if (strcmp(w, "after") == 0)
					rc = ylocals(y, lv, &hs->after, &hs->nafter);
				else
					rc = yerr(y, lk, "unknown key \"%s\" in local (before, after)", w);
				if (rc < 0)
					return rc;
			}
		} else {
			return yerr(y, kn, "unknown key \"%s\" (hooks, local)", k);
		}
	}
	return 0;
}

int hook_set_parse(const char *text, size_t len, const char *name, struct hook_set **out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct hook_set *hs = xcalloc(1, sizeof *hs);
	int rc = 0;

	*out = NULL;
	hs->path = xstrdup(name);
	if (!yaml_parser_initialize(&parser)) {
		hook_set_free(hs);
		return kahu_error_set(KAHU_ENOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = kahu_error_set(KAHU_EUSAGE, "%s:%lu: invalid YAML: %s", name,
				    (unsigned long)parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "unreadable");
		yaml_parser_delete(&parser);
		hook_set_free(hs);
		return rc;
	}
	struct yctx y = { .doc = &doc, .file = name };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root)
		rc = yroot(&y, root, hs);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		hook_set_free(hs);
		return rc;
	}
	*out = hs;
	return 0;
}

int hook_set_load(const char *path, struct hook_set **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO,
				      "cannot read the hooks file %s: %s", path, strerror(errno));
	char *buf = xmalloc(HOOKS_FILE_MAX + 1);
	size_t n = fread(buf, 1, HOOKS_FILE_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	int rc;
	if (bad)
		rc = kahu_error_set(KAHU_EIO, "cannot read the hooks file %s", path);
	else if (n > HOOKS_FILE_MAX)
		rc = kahu_error_set(KAHU_EUSAGE, "the hooks file %s is larger than 1 MiB", path);
	else
		rc = hook_set_parse(buf, n, path, out);
	free(buf);
	return rc;
}

void hook_set_free(struct hook_set *hs)
{
	if (!hs)
		return;
	for (size_t i = 0; i < hs->nrules; i++) {
		struct hook_rule *r = &hs->rules[i];
		free(r->name);
		strv_free(&r->sel.namespaces);
		strv_free(&r->sel.resources);
		labelsel_free(r->sel.labels);
		for (size_t j = 0; j < r->npre; j++)
			hook_exec_clear(&r->pre[j]);
		for (size_t j = 0; j < r->npost; j++)
			hook_exec_clear(&r->post[j]);
		for (size_t j = 0; j < r->nrestore_post; j++)
			hook_exec_clear(&r->restore_post[j]);
		for (size_t j = 0; j < r->ninit; j++)
			hook_init_clear(&r->init[j]);
		free(r->pre);
		free(r->post);
		free(r->restore_post);
		free(r->init);
	}
	free(hs->rules);
	struct hook_local *ls[2] = { hs->before, hs->after };
	size_t ns[2] = { hs->nbefore, hs->nafter };
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < ns[l]; i++) {
			free(ls[l][i].name);
			strv_free(&ls[l][i].argv);
		}
		free(ls[l]);
	}
	free(hs->path);
	free(hs);
}
