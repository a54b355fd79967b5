/* kahu — backup/restore scope: flag parsing, resolution and decisions.  See scope.h. */
#include "engine/scope.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "engine/labelsel.h"
#include "kube/discovery.h"
#include "kube/resource.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

struct kahu_scope {
	struct strv ns_inc, ns_exc;     /* namespace patterns */
	int ns_inc_all;                 /* no include list, or it holds "*" */
	struct strv res_inc_raw, res_exc_raw;   /* as typed, for (re-)resolution */
	struct strv res_inc, res_exc;   /* group-resources once resolved; sorted, unique */
	int res_inc_all;
	int resolved;
	enum scope_cluster_mode cluster;
	struct labelsel *sel;           /* NULL when none or empty */
	char *sel_str;                  /* canonical form of sel */
	struct orsel *orsel;            /* two parts or more; one part is stored as sel */
	int sel_given, orsel_given;
	struct strv name_inc, name_exc; /* glob patterns */
	int name_inc_all;
};

struct kahu_scope *scope_new(void)
{
	struct kahu_scope *s = xcalloc(1, sizeof *s);
	s->ns_inc_all = 1;
	s->res_inc_all = 1;
	s->name_inc_all = 1;
	s->cluster = SCOPE_CLUSTER_AUTO;
	return s;
}

void scope_free(struct kahu_scope *s)
{
	if (!s)
		return;
	strv_free(&s->ns_inc);
	strv_free(&s->ns_exc);
	strv_free(&s->res_inc_raw);
	strv_free(&s->res_exc_raw);
	strv_free(&s->res_inc);
	strv_free(&s->res_exc);
	labelsel_free(s->sel);
	free(s->sel_str);
	orsel_free(s->orsel);
	strv_free(&s->name_inc);
	strv_free(&s->name_exc);
	free(s);
}

/* ---- list helpers ---- */

/* Split a flag's comma list; unlike strv_split, empty entries are errors because they
 * are almost always a typo or an unset shell variable. */
static int split_list(const char *flag, const char *csv, struct strv *out)
{
	const char *p = csv;
	int blank = 1;
	for (const char *q = csv; *q; q++)
		if (!isspace((unsigned char)*q))
			blank = 0;
	if (blank)
		return kahu_error_set(KAHU_EUSAGE,
				      "%s: empty list (omit the option, or use '*' for all)",
				      flag);
	for (;;) {
		const char *e = strchr(p, ',');
		const char *a = p, *b = e ? e : p + strlen(p);
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (a == b)
			return kahu_error_set(KAHU_EUSAGE, "%s: empty entry in \"%s\"", flag,
					      csv);
		strv_push_owned(out, xstrndup(a, (size_t)(b - a)));
		if (!e)
			return 0;
		p = e + 1;
	}
}

static int glob_match_any(const struct strv *pats, const char *s)
{
	for (size_t i = 0; i < pats->n; i++)
		if (fnmatch(pats->v[i], s, 0) == 0)
			return 1;
	return 0;
}

/* Length of a bracket expression starting at p ('['), or 0 when unterminated.  As in
 * fnmatch(3), a ']' right after "[", "[!" or "[^" is a literal. */
static size_t bracket_len(const char *p)
{
	size_t i = 1;
	if (p[i] == '!' || p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	for (; p[i]; i++)
		if (p[i] == ']')
			return i + 1;
	return 0;
}

static int has_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* A namespace pattern: a DNS label, or lowercase letters, digits, '-' and glob
 * characters. */
static int check_ns_pattern(const char *flag, const char *p)
{
	for (size_t i = 0; p[i]; i++) {
		char c = p[i];
		if (c == '[') {
			size_t n = bracket_len(p + i);
			if (!n)
				return kahu_error_set(KAHU_EUSAGE,
						      "%s: unterminated '[' in \"%s\"", flag, p);
			i += n - 1;
			continue;
		}
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '*' || c == '?')
			continue;
		if (c >= 'A' && c <= 'Z')
			return kahu_error_set(KAHU_EUSAGE,
					      "%s: invalid namespace \"%s\": namespace names "
					      "are lowercase", flag, p);
		return kahu_error_set(KAHU_EUSAGE,
				      "%s: invalid namespace \"%s\": only lowercase letters, "
				      "digits, '-' and the wildcards * ? [...] are allowed",
				      flag, p);
	}
	if (!has_glob(p)) {
		size_t n = strlen(p);
		if (n > 63)
			return kahu_error_set(KAHU_EUSAGE,
					      "%s: invalid namespace \"%s\": longer than 63 "
					      "characters", flag, p);
		if (p[0] == '-' || p[n - 1] == '-')
			return kahu_error_set(KAHU_EUSAGE,
					      "%s: invalid namespace \"%s\": must start and "
					      "end with a letter or digit", flag, p);
	}
	return 0;
}

/* Object-name pattern: no blanks, at most one '/', terminated brackets. */
static int check_name_pattern(const char *flag, const char *p)
{
	const char *slash = strchr(p, '/');
	if (slash && (strchr(slash + 1, '/') || slash == p || !slash[1]))
		return kahu_error_set(KAHU_EUSAGE,
				      "%s: invalid pattern \"%s\": use NAME or NAMESPACE/NAME",
				      flag, p);
	for (size_t i = 0; p[i]; i++) {
		if (isspace((unsigned char)p[i]) || iscntrl((unsigned char)p[i]))
			return kahu_error_set(KAHU_EUSAGE,
					      "%s: invalid pattern \"%s\": blanks are not "
					      "allowed", flag, p);
		if (p[i] == '[') {
			size_t n = bracket_len(p + i);
			if (!n)
				return kahu_error_set(KAHU_EUSAGE,
						      "%s: unterminated '[' in \"%s\"", flag, p);
			i += n - 1;
		}
	}
	return 0;
}

/* Parse an include/exclude pair; `check` validates each entry.  On success the lists
 * replace out_inc/out_exc and *inc_all says whether the include list means "all". */
static int set_pair(const char *what, const char *inc_flag, const char *exc_flag,
		    const char *include_csv, const char *exclude_csv,
		    int (*check)(const char *flag, const char *p),
		    struct strv *out_inc, struct strv *out_exc, int *inc_all)
{
	struct strv inc = STRV_INIT, exc = STRV_INIT;
	int err = 0;

	if (include_csv && (err = split_list(inc_flag, include_csv, &inc)) < 0)
		goto out;
	if (exclude_csv && (err = split_list(exc_flag, exclude_csv, &exc)) < 0)
		goto out;
	for (size_t i = 0; check && i < inc.n; i++)
		if ((err = check(inc_flag, inc.v[i])) < 0)
			goto out;
	for (size_t i = 0; check && i < exc.n; i++)
		if ((err = check(exc_flag, exc.v[i])) < 0)
			goto out;
	if (strv_contains(&exc, "*")) {
		err = kahu_error_set(KAHU_EUSAGE, "%s: '*' would exclude everything",
				     exc_flag);
		goto out;
	}
	for (size_t i = 0; i < inc.n; i++) {
		if (strv_contains(&exc, inc.v[i])) {
			err = kahu_error_set(KAHU_EUSAGE, "%s \"%s\" is both included (%s) "
					     "and excluded (%s)", what, inc.v[i], inc_flag,
					     exc_flag);
			goto out;
		}
	}
	strv_sort_uniq(&inc);
	strv_sort_uniq(&exc);
	/* With "*" the other entries are redundant, but they are kept so resource
	 * names still get checked for typos. */
	*inc_all = inc.n == 0 || strv_contains(&inc, "*");
	strv_free(out_inc);
	strv_free(out_exc);
	*out_inc = inc;
	*out_exc = exc;
	return 0;
out:
	strv_free(&inc);
	strv_free(&exc);
	return err;
}

/* ---- setters ---- */

int scope_set_namespaces(struct kahu_scope *s, const char *include_csv,
			 const char *exclude_csv)
{
	return set_pair("namespace", "--include-namespaces", "--exclude-namespaces",
			include_csv, exclude_csv, check_ns_pattern, &s->ns_inc, &s->ns_exc,
			&s->ns_inc_all);
}

static void lower_all(struct strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		for (char *p = v->v[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	strv_sort_uniq(v);
}

static void strv_copy(struct strv *dst, const struct strv *src)
{
	strv_free(dst);
	for (size_t i = 0; i < src->n; i++)
		strv_push(dst, src->v[i]);
}

int scope_set_resources(struct kahu_scope *s, const char *include_csv,
			const char *exclude_csv)
{
	struct strv inc = STRV_INIT, exc = STRV_INIT;
	int all;
	/* Names are compared as typed here (Kinds differ from plurals); the real
	 * overlap check happens after resolution. */
	int err = set_pair("resource type", "--include-resources", "--exclude-resources",
			   include_csv, exclude_csv, NULL, &inc, &exc, &all);
	if (err < 0)
		return err;
	strv_free(&s->res_inc_raw);
	strv_free(&s->res_exc_raw);
	s->res_inc_raw = inc;
	s->res_exc_raw = exc;
	s->res_inc_all = all;
	/* Until scope_resolve runs, the names stand for themselves (lower-cased), so a
	 * scope built from group-resources (e.g. read back from a backup) works too. */
	strv_copy(&s->res_inc, &s->res_inc_raw);
	strv_copy(&s->res_exc, &s->res_exc_raw);
	lower_all(&s->res_inc);
	lower_all(&s->res_exc);
	s->resolved = 0;
	return 0;
}

int scope_set_cluster_resources(struct kahu_scope *s, const char *mode)
{
	if (!mode || strcmp(mode, "auto") == 0)
		s->cluster = SCOPE_CLUSTER_AUTO;
	else if (strcmp(mode, "true") == 0)
		s->cluster = SCOPE_CLUSTER_TRUE;
	else if (strcmp(mode, "false") == 0)
		s->cluster = SCOPE_CLUSTER_FALSE;
	else
		return kahu_error_set(KAHU_EUSAGE,
				      "--include-cluster-resources: \"%s\" is not one of auto, "
				      "true, false", mode);
	return 0;
}

static int both_selectors(void)
{
	return kahu_error_set(KAHU_EUSAGE, "use either --selector or --or-selector, not both");
}

static void set_plain_selector(struct kahu_scope *s, struct labelsel *sel)
{
	labelsel_free(s->sel);
	free(s->sel_str);
	s->sel = NULL;
	s->sel_str = NULL;
	if (sel && labelsel_is_empty(sel)) {
		labelsel_free(sel);
		return;
	}
	s->sel = sel;
	s->sel_str = sel ? labelsel_to_string(sel) : NULL;
}

int scope_set_selector(struct kahu_scope *s, const char *text)
{
	struct labelsel *sel = NULL;
	if (!text)
		return 0;
	if (s->orsel_given)
		return both_selectors();
	int err = labelsel_parse(text, &sel);
	if (err < 0)
		return err;
	set_plain_selector(s, sel);
	s->sel_given = 1;
	return 0;
}

int scope_set_or_selector(struct kahu_scope *s, const char *text)
{
	struct orsel *o = NULL;
	if (!text)
		return 0;
	if (s->sel_given)
		return both_selectors();
	int err = orsel_parse(text, &o);
	if (err < 0)
		return err;
	/* Keep the canonical form (parts sorted, duplicates gone): re-parse it. */
	char *canon = orsel_to_string(o);
	orsel_free(o);
	err = orsel_parse(canon, &o);
	free(canon);
	if (err < 0)
		return kahu_error_wrap(KAHU_EINTERNAL, "canonical or-selector");
	orsel_free(s->orsel);
	s->orsel = NULL;
	set_plain_selector(s, NULL);
	if (orsel_count(o) == 1) {
		/* One selector without "or" is a plain selector: store it as such, so
		 * the server can filter and equal scopes compare equal. */
		char *text1 = labelsel_to_string(orsel_get(o, 0));
		struct labelsel *sel;
		err = labelsel_parse(text1, &sel);
		free(text1);
		orsel_free(o);
		if (err < 0)
			return kahu_error_wrap(KAHU_EINTERNAL, "canonical selector");
		set_plain_selector(s, sel);
	} else {
		/* orsel_parse rejects empty parts, so no part matches everything. */
		s->orsel = o;
	}
	s->orsel_given = 1;
	return 0;
}

int scope_set_names(struct kahu_scope *s, const char *include_csv, const char *exclude_csv)
{
	return set_pair("name", "--include-names", "--exclude-names", include_csv,
			exclude_csv, check_name_pattern, &s->name_inc, &s->name_exc,
			&s->name_inc_all);
}

/* ---- resolution ---- */

/* "deployments.apps" / "configmaps": Velero's naming, like kube_group_resource(). */
static char *group_resource(const struct kube_resource *r)
{
	if (!r->group || !*r->group)
		return xstrdup(r->resource);
	return xasprintf("%s.%s", r->resource, r->group);
}

static int is_namespaces_type(const struct kube_resource *r)
{
	return (!r->group || !*r->group) && strcmp(r->resource, "namespaces") == 0;
}

static void describe_unknown(struct kbuf *msg, const struct kube_discovery *d,
			     const char *name)
{
	const char *sugg[3];
	size_t n = kube_discovery_suggest(d, name, sugg, 3);
	if (msg->len)
		kbuf_adds(msg, "; ");
	kbuf_addf(msg, "unknown resource type \"%s\"", name);
	if (strchr(name, '/')) {
		kbuf_adds(msg, " (subresources are not selected on their own)");
		return;
	}
	if (!n)
		return;
	kbuf_adds(msg, " (did you mean ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			kbuf_adds(msg, i + 1 == n ? " or " : ", ");
		kbuf_adds(msg, sugg[i]);
	}
	kbuf_adds(msg, "?)");
}

static void resolve_list(const struct strv *raw, const struct kube_discovery *d,
			 struct strv *out, struct kbuf *unknown,
			 const struct kube_resource ***found, size_t *nfound)
{
	for (size_t i = 0; i < raw->n; i++) {
		if (strcmp(raw->v[i], "*") == 0)
			continue;
		const struct kube_resource *r = kube_discovery_find(d, raw->v[i]);
		if (!r) {
			describe_unknown(unknown, d, raw->v[i]);
			continue;
		}
		strv_push_owned(out, group_resource(r));
		if (found) {
			*found = xrealloc(*found, (*nfound + 1) * sizeof **found);
			(*found)[(*nfound)++] = r;
		}
	}
	strv_sort_uniq(out);
}

int scope_resolve(struct kahu_scope *s, const struct kube_discovery *d,
		  struct strv *warnings)
{
	struct strv inc = STRV_INIT, exc = STRV_INIT;
	struct kbuf unknown = KBUF_INIT;
	const struct kube_resource **found = NULL;
	size_t nfound = 0;
	int err = 0;

	resolve_list(&s->res_inc_raw, d, &inc, &unknown, &found, &nfound);
	resolve_list(&s->res_exc_raw, d, &exc, &unknown, NULL, NULL);
	if (unknown.len) {
		err = kahu_error_set(KAHU_EUSAGE, "%s", kbuf_str(&unknown));
		goto out;
	}
	for (size_t i = 0; i < inc.n; i++) {
		if (strv_contains(&exc, inc.v[i])) {
			err = kahu_error_set(KAHU_EUSAGE,
					     "resource type \"%s\" is both included "
					     "(--include-resources) and excluded "
					     "(--exclude-resources)", inc.v[i]);
			goto out;
		}
	}
	for (size_t i = 0; warnings && i < nfound; i++) {
		const struct kube_resource *r = found[i];
		if (r->namespaced || is_namespaces_type(r) || s->cluster != SCOPE_CLUSTER_FALSE)
			continue;
		char *gr = group_resource(r);
		strv_push_owned(warnings,
				xasprintf("--include-resources names the cluster-scoped type "
					  "%s, but --include-cluster-resources=false "
					  "excludes it", gr));
		free(gr);
	}
	strv_free(&s->res_inc);
	strv_free(&s->res_exc);
	s->res_inc = inc;
	s->res_exc = exc;
	inc = (struct strv)STRV_INIT;
	exc = (struct strv)STRV_INIT;
	s->resolved = 1;
out:
	strv_free(&inc);
	strv_free(&exc);
	kbuf_free(&unknown);
	free(found);
	return err;
}

/* ---- decisions ---- */

/* A plain include list of namespaces (no glob characters) is listed namespace by
 * namespace instead of across the cluster: faster, and it works for users whose rights
 * end at their namespaces. */
int scope_literal_namespaces(const struct kahu_scope *scope, struct strv *out)
{
	if (!scope_has_namespace_filter(scope))
		return 0;
	json_t *j = scope_to_json(scope);
	json_t *inc = json_object_get(j, "includeNamespaces");
	int literal = 1;
	size_t i;
	json_t *v;
	json_array_foreach(inc, i, v)
		if (!json_string_value(v) || strpbrk(json_string_value(v), "*?["))
			literal = 0;
	json_array_foreach(inc, i, v)
		if (literal && scope_wants_namespace(scope, json_string_value(v)))
			strv_push(out, json_string_value(v));
	json_decref(j);
	return literal;
}

int scope_has_namespace_filter(const struct kahu_scope *s)
{
	return !s->ns_inc_all;
}

enum scope_cluster_mode scope_cluster_mode(const struct kahu_scope *s)
{
	return s->cluster;
}

enum scope_type_decision scope_wants_type(const struct kahu_scope *s,
					  const struct kube_resource *r)
{
	char *gr = group_resource(r);
	int excluded = strv_contains(&s->res_exc, gr);
	int named = !s->res_inc_all && strv_contains(&s->res_inc, gr);
	free(gr);

	if (excluded)
		return SCOPE_TYPE_NO;
	if (is_namespaces_type(r)) {
		if (named)
			return SCOPE_TYPE_YES;
		if (s->res_inc_all && s->cluster != SCOPE_CLUSTER_FALSE && !s->sel &&
		    !s->orsel && s->name_inc_all && s->name_exc.n == 0)
			return SCOPE_TYPE_YES;
		return SCOPE_TYPE_ONLY_REFERENCED;
	}
	if (r->namespaced)
		return s->res_inc_all || named ? SCOPE_TYPE_YES : SCOPE_TYPE_NO;
	if (s->cluster == SCOPE_CLUSTER_FALSE)
		return SCOPE_TYPE_NO;
	if (named)
		return SCOPE_TYPE_YES;
	if (!s->res_inc_all)
		return SCOPE_TYPE_ONLY_REFERENCED;
	if (s->cluster == SCOPE_CLUSTER_TRUE)
		return SCOPE_TYPE_YES;
	return scope_has_namespace_filter(s) ? SCOPE_TYPE_ONLY_REFERENCED : SCOPE_TYPE_YES;
}

int scope_wants_namespace(const struct kahu_scope *s, const char *ns)
{
	if (!s->ns_inc_all && !glob_match_any(&s->ns_inc, ns))
		return 0;
	return !glob_match_any(&s->ns_exc, ns);
}

static int name_pattern_match(const char *pat, const char *ns, const char *name)
{
	if (!strchr(pat, '/'))
		return fnmatch(pat, name, 0) == 0;
	if (!ns)
		return 0;   /* NAMESPACE/NAME patterns only select namespaced objects */
	char *full = xasprintf("%s/%s", ns, name);
	int m = fnmatch(pat, full, 0) == 0;
	free(full);
	return m;
}

static int names_wanted(const struct kahu_scope *s, const char *ns, const char *name)
{
	int in = s->name_inc_all;
	for (size_t i = 0; !in && i < s->name_inc.n; i++)
		in = name_pattern_match(s->name_inc.v[i], ns, name);
	if (!in)
		return 0;
	for (size_t i = 0; i < s->name_exc.n; i++)
		if (name_pattern_match(s->name_exc.v[i], ns, name))
			return 0;
	return 1;
}

static const char *meta_str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							  key));
	return v && *v ? v : NULL;
}

static int has_exclude_label(json_t *obj)
{
	json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	const char *v = json_string_value(json_object_get(labels, SCOPE_EXCLUDE_LABEL));
	return v && strcmp(v, "true") == 0;
}

static int is_namespace_object(const struct kube_resource *r, json_t *obj)
{
	if (r)
		return is_namespaces_type(r);
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	return kind && av && strcmp(kind, "Namespace") == 0 && strcmp(av, "v1") == 0;
}

enum scope_reason scope_wants_object(const struct kahu_scope *s,
				     const struct kube_resource *r, json_t *obj)
{
	const char *name = meta_str(obj, "name");
	const char *ns = meta_str(obj, "namespace");

	if (!name)
		name = "";
	if (is_namespace_object(r, obj)) {
		if (!scope_wants_namespace(s, name))
			return SCOPE_EXCLUDED_NAMESPACE;
		ns = NULL;
	} else if (ns && !scope_wants_namespace(s, ns)) {
		return SCOPE_EXCLUDED_NAMESPACE;
	}
	if (has_exclude_label(obj))
		return SCOPE_EXCLUDED_LABEL;
	if (!names_wanted(s, ns, name))
		return SCOPE_EXCLUDED_NAME;
	json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	if (s->sel && !labelsel_match(s->sel, labels))
		return SCOPE_EXCLUDED_SELECTOR;
	if (s->orsel && !orsel_match(s->orsel, labels))
		return SCOPE_EXCLUDED_SELECTOR;
	return SCOPE_INCLUDED;
}

enum scope_reason scope_wants_referenced(const struct kahu_scope *s, json_t *obj)
{
	(void)s;
	return has_exclude_label(obj) ? SCOPE_EXCLUDED_LABEL : SCOPE_INCLUDED;
}

const char *scope_reason_name(enum scope_reason r)
{
	switch (r) {
	case SCOPE_INCLUDED: return "included";
	case SCOPE_EXCLUDED_NAMESPACE: return "excluded: namespace";
	case SCOPE_EXCLUDED_NAME: return "excluded: name";
	case SCOPE_EXCLUDED_SELECTOR: return "excluded: label selector";
	case SCOPE_EXCLUDED_LABEL: return "excluded: label " SCOPE_EXCLUDE_LABEL "=true";
	}
	return "unknown";
}

const char *scope_server_label_selector(const struct kahu_scope *s)
{
	return s->sel_str;
}

/* ---- canonical JSON ---- */

static json_t *json_list(const struct strv *v, int all)
{
	json_t *a = json_array();
	if (all) {
		json_array_append_new(a, json_string("*"));
		return a;
	}
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static const char *cluster_mode_name(enum scope_cluster_mode m)
{
	return m == SCOPE_CLUSTER_TRUE ? "true" : m == SCOPE_CLUSTER_FALSE ? "false" : "auto";
}

json_t *scope_to_json(const struct kahu_scope *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "includeNamespaces", json_list(&s->ns_inc, s->ns_inc_all));
	json_object_set_new(o, "excludeNamespaces", json_list(&s->ns_exc, 0));
	json_object_set_new(o, "includeResources", json_list(&s->res_inc, s->res_inc_all));
	json_object_set_new(o, "excludeResources", json_list(&s->res_exc, 0));
	json_object_set_new(o, "includeClusterResources",
			    json_string(cluster_mode_name(s->cluster)));
	json_object_set_new(o, "labelSelector",
			    s->sel_str ? json_string(s->sel_str) : json_null());
	json_t *ors = json_array();
	if (s->orsel) {
		struct strv parts = STRV_INIT;
		for (size_t i = 0; i < orsel_count(s->orsel); i++)
			strv_push_owned(&parts, labelsel_to_string(orsel_get(s->orsel, i)));
		strv_sort_uniq(&parts);
		for (size_t i = 0; i < parts.n; i++)
			json_array_append_new(ors, json_string(parts.v[i]));
		strv_free(&parts);
	}
	json_object_set_new(o, "orLabelSelectors", ors);
	json_object_set_new(o, "includeNames", json_list(&s->name_inc, s->name_inc_all));
	json_object_set_new(o, "excludeNames", json_list(&s->name_exc, 0));
	return o;
}

int scope_equal(const struct kahu_scope *a, const struct kahu_scope *b)
{
	json_t *ja = scope_to_json(a), *jb = scope_to_json(b);
	int eq = json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return eq;
}
