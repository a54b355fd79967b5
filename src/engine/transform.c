/* kahu — restore transforms (see transform.h). */
#include "engine/transform.h"
#include "engine/labelsel.h"
#include "engine/transform_patch.h"
#include "engine/ynode.h"
#include "util/err.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum rule_kind { RK_JSON, RK_MERGE, RK_STRATEGIC, RK_STORAGE_CLASS, RK_IMAGE, RK_REPLICAS };

static const char *const kind_names[] = { "jsonPatch", "mergePatch", "strategicPatch",
					  "storageClassMapping", "imageMapping", "replicasOverride" };

struct cond {
	char *path;
	json_t *equals;   /* or NULL */
	int exists;       /* -1: not asked */
	regex_t *re;      /* matches, or NULL */
};

struct rule {
	char *name, *source;
	enum rule_kind kind;
	struct strv resources, namespaces, names;
	regex_t *name_re;
	struct labelsel *sel;
	struct cond *conds;
	size_t nconds;
	json_t *patch;          /* file rules */
	struct strv from, to;   /* storage classes, image prefixes */
	char *ns, *res, *obj;   /* replicas override: its object */
	long replicas;
	long applied;           /* atomic */
};

struct transform_set {
	struct rule *r;
	size_t n;
};

static struct rule *rule_new(struct transform_set **ts)
{
	if (!*ts)
		*ts = xcalloc(1, sizeof **ts);
	struct transform_set *s = *ts;
	s->r = xrealloc(s->r, (s->n + 1) * sizeof *s->r);
	struct rule *r = &s->r[s->n++];
	memset(r, 0, sizeof *r);
	return r;
}

static void rule_clear(struct rule *r)
{
	free(r->name);
	free(r->source);
	strv_free(&r->resources);
	strv_free(&r->namespaces);
	strv_free(&r->names);
	if (r->name_re) {
		regfree(r->name_re);
		free(r->name_re);
	}
	labelsel_free(r->sel);
	for (size_t i = 0; i < r->nconds; i++) {
		free(r->conds[i].path);
		json_decref(r->conds[i].equals);
		if (r->conds[i].re) {
			regfree(r->conds[i].re);
			free(r->conds[i].re);
		}
	}
	free(r->conds);
	json_decref(r->patch);
	strv_free(&r->from);
	strv_free(&r->to);
	free(r->ns);
	free(r->res);
	free(r->obj);
}

void transform_free(struct transform_set *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->n; i++)
		rule_clear(&ts->r[i]);
	free(ts->r);
	free(ts);
}

size_t transform_count(const struct transform_set *ts)
{
	return ts ? ts->n : 0;
}

/* ---- the file ---- */

struct yctx {
	yaml_document_t *doc;
	const char *file;
	const char *text;   /* the file's text: a node's explicit tag is seen in it */
	size_t len;
	size_t budget;    /* nodes left to convert (aliases can multiply them) */
};

static int yerr(const struct yctx *y, yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
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

#define YMAP_FOREACH(y, n, kn, vn)                                                          \
	for (yaml_node_pair_t *p_ = (n)->data.mapping.pairs.start;                          \
	     p_ < (n)->data.mapping.pairs.top && ((kn) = ynode(y, p_->key), (vn) = ynode(y, p_->value), 1); \
	     p_++)
#define YSEQ_FOREACH(y, n, e)                                                               \
	for (yaml_node_item_t *i_ = (n)->data.sequence.items.start;                         \
	     i_ < (n)->data.sequence.items.top && ((e) = ynode(y, *i_), 1); i_++)

/* A plain scalar's value as YAML 1.2's core schema reads it; quoted scalars and those
 * tagged !!str are strings.  (libyaml gives every untagged scalar the tag !!str: an
 * explicit tag is told by the '!' the node starts with.) */
static json_t *yscalar_json(const struct yctx *y, yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	const char *tag = (const char *)n->tag;
	size_t at = n->start_mark.index;
	int tagged = at < y->len && y->text[at] == '!';
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || (tagged && tag && strcmp(tag, YAML_STR_TAG) == 0))
		return json_stringn(s, n->data.scalar.length);
	if (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	char *end = NULL;
	const char *d = s + (*s == '-' || *s == '+');
	if (isdigit((unsigned char)*d)) {
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!*end && !errno)
			return json_integer(v);
		double f = strtod(s, &end);
		if (!*end && strspn(d, "0123456789.eE+-") == strlen(d))
			return json_real(f);
	}
	return json_stringn(s, n->data.scalar.length);
}

static int yjson(struct yctx *y, yaml_node_t *n, int depth, json_t **out)
{
	yaml_node_t *kn, *vn, *e;
	*out = NULL;
	if (!n)
		return kahu_error_set(KAHU_EUSAGE, "%s: a node is missing", y->file);
	if (depth > 64)
		return yerr(y, n, "nested more than 64 levels deep");
	if (!y->budget--)
		return yerr(y, n, "more than 100000 values (aliases expanded)");
	switch (n->type) {
	case YAML_SCALAR_NODE:
		*out = yscalar_json(y, n);
		return 0;
	case YAML_SEQUENCE_NODE:
		*out = json_array();
		YSEQ_FOREACH(y, n, e) {
			json_t *v;
			if (yjson(y, e, depth + 1, &v) < 0) {
				json_decref(*out);
				*out = NULL;
				return kahu_error_code();
			}
			json_array_append_new(*out, v);
		}
		return 0;
	case YAML_MAPPING_NODE:
		*out = json_object();
		YMAP_FOREACH(y, n, kn, vn) {
			json_t *v;
			if (!yscalar(kn)) {
				json_decref(*out);
				*out = NULL;
				return yerr(y, kn ? kn : n, "a mapping key must be a string");
			}
			if (json_object_get(*out, yscalar(kn))) {
				json_decref(*out);
				*out = NULL;
				return yerr(y, kn, "the key \"%s\" appears twice", yscalar(kn));
			}
			if (yjson(y, vn, depth + 1, &v) < 0) {
				json_decref(*out);
				*out = NULL;
				return kahu_error_code();
			}
			json_object_set_new(*out, yscalar(kn), v);
		}
		return 0;
	default:
		return yerr(y, n, "an empty node");
	}
}

static int ystrings(const struct yctx *y, yaml_node_t *n, const char *key, struct strv *out)
{
	return ynode_strings(y->doc, y->file, n, key, true, out);
}

/* A repetition operator right after another (a** or a+{2}): undefined in POSIX EREs,
 * and what makes glibc's compiler take minutes.  NULL when there is none, else where. */
static const char *double_repetition(const char *re)
{
	int prev_rep = 0;
	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			prev_rep = 0;
		} else if (*p == '[') {
			/* a bracket expression: "]" first is a literal */
			const char *q = p + 1;
			if (*q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			if (!*q)
				return NULL; /* (regcomp refuses it) */
			p = q;
			prev_rep = 0;
		} else if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
			if (prev_rep)
				return p;
			if (*p == '{' && strchr(p, '}'))
				p = strchr(p, '}');
			prev_rep = 1;
		} else {
			prev_rep = 0;
		}
	}
	return NULL;
}

static int yregex(const struct yctx *y, yaml_node_t *n, const char *key, regex_t **out)
{
	const char *s = yscalar(n);
	if (!s)
		return yerr(y, n, "%s: expected a regular expression", key);
	if (strlen(s) > 1024)
		return yerr(y, n, "%s: a regular expression longer than 1024 characters", key);
	const char *dr = double_repetition(s);
	if (dr)
		return yerr(y, n, "%s: invalid regular expression \"%s\": a repetition operator right after "
			    "another (at character %zu)", key, s, (size_t)(dr - s) + 1);
	regex_t *re = xmalloc(sizeof *re);
	int rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];
		regerror(rc, re, msg, sizeof msg);
		free(re);
		return yerr(y, n, "%s: invalid regular expression \"%s\": %s", key, s, msg);
	}
	*out = re;
	return 0;
}

static int ypointer(const struct yctx *y, yaml_node_t *n, const char *key, char **out)
{
	const char *s = yscalar(n);
	struct strv t = STRV_INIT;
	char *why = NULL;
	if (!s)
		return yerr(y, n, "%s: expected a JSON Pointer", key);
	int rc = jptr_parse(s, &t, &why);
	strv_free(&t);
	if (rc < 0) {
		rc = yerr(y, n, "%s: %s", key, why);
		free(why);
		return rc;
	}
	*out = xstrdup(s);
	return 0;
}

static int yconds(struct yctx *y, yaml_node_t *n, struct rule *r)
{
	yaml_node_t *e, *kn, *vn;
	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(y, n, "conditions: expected a list");
	YSEQ_FOREACH(y, n, e) {
		int rc, tests = 0;
		if (e->type != YAML_MAPPING_NODE)
			return yerr(y, e, "a condition: expected a mapping (path, and equals, exists or matches)");
		r->conds = xrealloc(r->conds, (r->nconds + 1) * sizeof *r->conds);
		struct cond *c = &r->conds[r->nconds++];
		memset(c, 0, sizeof *c);
		c->exists = -1;
		YMAP_FOREACH(y, e, kn, vn) {
			const char *k = yscalar(kn) ? yscalar(kn) : "";
			if (strcmp(k, "path") == 0) {
				free(c->path);
				if ((rc = ypointer(y, vn, k, &c->path)) < 0)
					return rc;
			} else if (strcmp(k, "equals") == 0) {
				json_decref(c->equals);
				if ((rc = yjson(y, vn, 0, &c->equals)) < 0)
					return rc;
				tests++;
			} else if (strcmp(k, "exists") == 0) {
				json_t *b = NULL;
				if ((rc = yjson(y, vn, 0, &b)) < 0)
					return rc;
				if (!json_is_boolean(b)) {
					json_decref(b);
					return yerr(y, vn, "exists: expected true or false");
				}
				c->exists = json_is_true(b);
				json_decref(b);
				tests++;
			} else if (strcmp(k, "matches") == 0) {
				if (c->re)
					return yerr(y, kn, "matches: given twice");
				if ((rc = yregex(y, vn, k, &c->re)) < 0)
					return rc;
				tests++;
			} else {
				return yerr(y, kn, "unknown key \"%s\" in a condition (path, equals, exists, matches)", k);
			}
		}
		if (!c->path)
			return yerr(y, e, "a condition without a path");
		if (tests != 1)
			return yerr(y, e, "a condition needs exactly one of equals, exists, matches");
	}
	return 0;
}

static int yrule(struct yctx *y, yaml_node_t *n, struct transform_set *ts, struct rule *r)
{
	yaml_node_t *kn, *vn;
	int rc, kinds = 0;
	char *why = NULL;

	r->source = xasprintf("%s:%lu", y->file, (unsigned long)n->start_mark.line + 1);
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "a rule: expected a mapping");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "name") == 0) {
			if (!yscalar(vn) || !*yscalar(vn))
				return yerr(y, vn, "name: expected a non-empty string");
			for (size_t i = 0; i + 1 < ts->n; i++)
				if (ts->r[i].name && strcmp(ts->r[i].name, yscalar(vn)) == 0)
					return yerr(y, vn, "a second rule named \"%s\"", yscalar(vn));
			free(r->name);
			r->name = xstrdup(yscalar(vn));
		} else if (strcmp(k, "resources") == 0) {
			if ((rc = ystrings(y, vn, k, &r->resources)) < 0)
				return rc;
			for (size_t i = 0; i < r->resources.n; i++)
				for (char *c = r->resources.v[i]; *c; c++)
					*c = (char)tolower((unsigned char)*c);
		} else if (strcmp(k, "namespaces") == 0) {
			if ((rc = ystrings(y, vn, k, &r->namespaces)) < 0)
				return rc;
		} else if (strcmp(k, "names") == 0) {
			if ((rc = ystrings(y, vn, k, &r->names)) < 0)
				return rc;
		} else if (strcmp(k, "nameRegex") == 0) {
			if (r->name_re)
				return yerr(y, kn, "nameRegex: given twice");
			if ((rc = yregex(y, vn, k, &r->name_re)) < 0)
				return rc;
		} else if (strcmp(k, "selector") == 0) {
			if (!yscalar(vn))
				return yerr(y, vn, "selector: expected a label selector");
			labelsel_free(r->sel);
			r->sel = NULL;
			if ((rc = labelsel_parse(yscalar(vn), &r->sel)) < 0)
				return kahu_error_wrap(rc, "%s:%lu: selector", y->file,
						       (unsigned long)vn->start_mark.line + 1);
		} else if (strcmp(k, "conditions") == 0) {
			if ((rc = yconds(y, vn, r)) < 0)
				return rc;
		} else if (strcmp(k, "jsonPatch") == 0 || strcmp(k, "mergePatch") == 0 ||
			   strcmp(k, "strategicPatch") == 0) {
			if (kinds++)
				return yerr(y, kn, "%s: a rule has one patch (jsonPatch, mergePatch or strategicPatch)", k);
			r->kind = k[0] == 'j' ? RK_JSON : k[0] == 'm' ? RK_MERGE : RK_STRATEGIC;
			if ((rc = yjson(y, vn, 0, &r->patch)) < 0)
				return rc;
			if (r->kind == RK_JSON && json_patch_check(r->patch, &why) < 0) {
				rc = yerr(y, vn, "jsonPatch: %s", why);
				free(why);
				return rc;
			}
			if (r->kind != RK_JSON && !json_is_object(r->patch))
				return yerr(y, vn, "%s: expected a mapping", k);
			if (r->kind == RK_STRATEGIC) {
				/* Directives checked now: a merge into nothing meets them all. */
				json_t *m = json_strategic_merge(NULL, r->patch, &why);
				json_decref(m);
				if (!m) {
					rc = yerr(y, vn, "strategicPatch: %s", why);
					free(why);
					return rc;
				}
			}
		} else {
			return yerr(y, kn, "unknown key \"%s\" in a rule (name, resources, namespaces, names, nameRegex, "
				    "selector, conditions, jsonPatch, mergePatch, strategicPatch)", k);
		}
	}
	if (!kinds)
		return yerr(y, n, "a rule without a patch (jsonPatch, mergePatch or strategicPatch)");
	if (!r->name)
		r->name = xasprintf("rule-%zu", ts->n);
	return 0;
}

static int yroot(struct yctx *y, yaml_node_t *root, struct transform_set **ts)
{
	yaml_node_t *kn, *vn, *e;
	int rc, have_rules = 0;
	if (root->type != YAML_MAPPING_NODE)
		return yerr(y, root, "the transform file: expected a mapping (version, rules)");
	YMAP_FOREACH(y, root, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "version") == 0) {
			if (!yscalar(vn) || (strcmp(yscalar(vn), "v1") && strcmp(yscalar(vn), "1")))
				return yerr(y, vn, "version: only v1 is known");
		} else if (strcmp(k, "rules") == 0) {
			if (vn->type != YAML_SEQUENCE_NODE)
				return yerr(y, vn, "rules: expected a list");
			have_rules = 1;
			YSEQ_FOREACH(y, vn, e) {
				struct rule *r = rule_new(ts);
				if ((rc = yrule(y, e, *ts, r)) < 0)
					return rc;
			}
		} else {
			return yerr(y, kn, "unknown key \"%s\" (version, rules)", k);
		}
	}
	if (!have_rules)
		return yerr(y, root, "the transform file has no rules");
	return 0;
}

int transform_parse(const char *text, size_t len, const char *name, struct transform_set **out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct transform_set *ts = NULL;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return kahu_error_set(KAHU_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = kahu_error_set(KAHU_EUSAGE, "%s:%lu: invalid YAML: %s", name,
				    (unsigned long)parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "unreadable");
		yaml_parser_delete(&parser);
		return rc;
	}
	struct yctx y = { .doc = &doc, .file = name, .text = text, .len = len, .budget = 100000 };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root)
		rc = kahu_error_set(KAHU_EUSAGE, "%s:1: the transform file is empty", name);
	else
		rc = yroot(&y, root, &ts);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		transform_free(ts);
		return rc;
	}
	/* Appended to what the caller has. */
	if (*out && ts) {
		for (size_t i = 0; i < ts->n; i++) {
			struct rule *r = rule_new(out);
			*r = ts->r[i];
		}
		free(ts->r);
		free(ts);
	} else {
		*out = ts;
	}
	return 0;
}

int transform_load(const char *path, struct transform_set **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO,
				      "cannot read the transform file %s: %s", path, strerror(errno));
	char *buf = xmalloc(TRANSFORM_FILE_MAX + 1);
	size_t n = fread(buf, 1, TRANSFORM_FILE_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	int rc;
	if (bad)
		rc = kahu_error_set(KAHU_EIO, "cannot read the transform file %s", path);
	else if (n > TRANSFORM_FILE_MAX)
		rc = kahu_error_set(KAHU_EUSAGE, "the transform file %s is larger than 1 MiB", path);
	else
		rc = transform_parse(buf, n, path, out);
	free(buf);
	return rc;
}

/* ---- the shortcuts ---- */

/* "OLD:NEW" (or OLD=NEW) pairs, comma-separated, into from/to. */
static int pairs(const char *flag, const char *spec, int allow_eq, struct strv *from, struct strv *to)
{
	struct strv parts = STRV_INIT;
	int rc = 0;
	strv_split(&parts, spec, ',');
	for (size_t i = 0; i < parts.n && rc == 0; i++) {
		const char *p = parts.v[i];
		const char *sep = allow_eq ? strchr(p, '=') : NULL;
		if (!sep) {
			sep = strchr(p, ':');
			if (sep && allow_eq && strchr(sep + 1, ':'))
				rc = kahu_error_set(KAHU_EUSAGE, "%s: \"%s\" has more than one ':'; write OLD=NEW "
						    "when a prefix holds a colon (a registry's port)", flag, p);
		}
		if (rc)
			break;
		if (!sep || sep == p || !sep[1]) {
			rc = kahu_error_set(KAHU_EUSAGE, "%s: \"%s\" is not OLD:NEW%s", flag, p,
					    allow_eq ? " (or OLD=NEW)" : "");
			break;
		}
		char *old = xstrndup(p, (size_t)(sep - p));
		if (strv_contains(from, old)) {
			rc = kahu_error_set(KAHU_EUSAGE, "%s: \"%s\" is mapped twice", flag, old);
			free(old);
			break;
		}
		strv_push_owned(from, old);
		strv_push(to, sep + 1);
	}
	strv_free(&parts);
	return rc;
}

int transform_add_storage_classes(struct transform_set **ts, const char *spec)
{
	struct strv from = STRV_INIT, to = STRV_INIT;
	int rc = pairs("--storage-class-mappings", spec, 0, &from, &to);
	if (rc < 0) {
		strv_free(&from);
		strv_free(&to);
		return rc;
	}
	struct rule *r = rule_new(ts);
	r->kind = RK_STORAGE_CLASS;
	r->name = xstrdup("storage-class-mappings");
	r->source = xstrdup("--storage-class-mappings");
	r->from = from;
	r->to = to;
	return 0;
}

int transform_add_images(struct transform_set **ts, const char *spec)
{
	struct strv from = STRV_INIT, to = STRV_INIT;
	int rc = pairs("--image-mappings", spec, 1, &from, &to);
	if (rc < 0) {
		strv_free(&from);
		strv_free(&to);
		return rc;
	}
	struct rule *r = rule_new(ts);
	r->kind = RK_IMAGE;
	r->name = xstrdup("image-mappings");
	r->source = xstrdup("--image-mappings");
	r->from = from;
	r->to = to;
	return 0;
}

/* deployment, Deployment, deployments, deployments.apps → deployments */
static const char *replicas_resource(const char *kind)
{
	static const char *const ok[] = { "deployments", "statefulsets", "replicasets", "replicationcontrollers" };
	char buf[64];
	size_t n = strcspn(kind, ".");
	if (n + 2 > sizeof buf)
		return NULL;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)kind[i]);
	buf[n] = 0;
	if (n && buf[n - 1] != 's')
		strcat(buf, "s");
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(buf, ok[i]) == 0)
			return ok[i];
	return NULL;
}

int transform_add_replicas(struct transform_set **ts, const char *spec)
{
	struct strv parts = STRV_INIT;
	int rc = 0;
	strv_split(&parts, spec, ',');
	for (size_t i = 0; i < parts.n && rc == 0; i++) {
		const char *p = parts.v[i];
		const char *s1 = strchr(p, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL, *eq = strrchr(p, '=');
		char *end = NULL;
		long n = eq ? strtol(eq + 1, &end, 10) : -1;
		if (!s1 || !s2 || !eq || eq < s2 || s1 == p || s2 == s1 + 1 || eq == s2 + 1 || !eq[1] || *end ||
		    n < 0 || n > 1000000) {
			rc = kahu_error_set(KAHU_EUSAGE, "--replicas-override: \"%s\" is not NAMESPACE/KIND/NAME=N "
					    "(N from 0 to 1000000)", p);
			break;
		}
		char *kind = xstrndup(s1 + 1, (size_t)(s2 - s1 - 1));
		const char *res = replicas_resource(kind);
		if (!res) {
			rc = kahu_error_set(KAHU_EUSAGE, "--replicas-override: \"%s\": KIND must be deployment, "
					    "statefulset, replicaset or replicationcontroller, not \"%s\"", p, kind);
			free(kind);
			break;
		}
		free(kind);
		struct rule *r = rule_new(ts);
		r->kind = RK_REPLICAS;
		r->name = xstrndup(p, (size_t)(eq - p));
		r->source = xstrdup("--replicas-override");
		r->ns = xstrndup(p, (size_t)(s1 - p));
		r->res = xstrdup(res);
		r->obj = xstrndup(s2 + 1, (size_t)(eq - s2 - 1));
		r->replicas = n;
	}
	strv_free(&parts);
	return rc;
}

/* ---- matching and applying ---- */

static json_t *metaf(json_t *o, const char *f)
{
	return json_object_get(json_object_get(o, "metadata"), f);
}

static int glob_any(const struct strv *pats, const char *s)
{
	for (size_t i = 0; i < pats->n; i++)
		if (fnmatch(pats->v[i], s, 0) == 0)
			return 1;
	return 0;
}

static int resource_match(const struct strv *pats, const char *gr)
{
	size_t rl = strcspn(gr, ".");
	char *res = xstrndup(gr, rl);
	int hit = 0;
	for (size_t i = 0; i < pats->n && !hit; i++)
		hit = fnmatch(pats->v[i], gr, 0) == 0 ||
		      (!strchr(pats->v[i], '.') && fnmatch(pats->v[i], res, 0) == 0);
	free(res);
	return hit;
}

static int conds_hold(const struct rule *r, json_t *obj)
{
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];
		json_t *v = jptr_get(obj, c->path);
		if (c->exists >= 0 && !v != !c->exists)
			return 0;
		if (c->equals && (!v || !json_value_equal(v, c->equals)))
			return 0;
		if (c->re && (!json_is_string(v) || regexec(c->re, json_string_value(v), 0, NULL, 0) != 0))
			return 0;
	}
	return 1;
}

static int selects(const struct rule *r, const char *gr, json_t *obj)
{
	const char *ns = json_string_value(metaf(obj, "namespace"));
	const char *name = json_string_value(metaf(obj, "name"));
	if (r->resources.n && !resource_match(&r->resources, gr))
		return 0;
	if (r->namespaces.n && (!ns || !glob_any(&r->namespaces, ns)))
		return 0;
	if (r->names.n && (!name || !glob_any(&r->names, name)))
		return 0;
	if (r->name_re && (!name || regexec(r->name_re, name, 0, NULL, 0) != 0))
		return 0;
	if (r->sel && !labelsel_match(r->sel, metaf(obj, "labels")))
		return 0;
	return conds_hold(r, obj);
}

static void op_replace(json_t *ops, const char *path, json_t *value)
{
	json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "replace", "path", path, "value", value));
}

static const char *mapped(const struct rule *r, const char *v)
{
	for (size_t i = 0; v && i < r->from.n; i++)
		if (strcmp(r->from.v[i], v) == 0)
			return r->to.v[i];
	return NULL;
}

static json_t *storage_class_ops(const struct rule *r, const char *gr, json_t *obj)
{
	json_t *ops = json_array();
	const char *to;
	if (strcmp(gr, "persistentvolumeclaims") == 0 || strcmp(gr, "persistentvolumes") == 0) {
		if ((to = mapped(r, json_string_value(jptr_get(obj, "/spec/storageClassName")))))
			op_replace(ops, "/spec/storageClassName", json_string(to));
		const char *ann = "/metadata/annotations/volume.beta.kubernetes.io~1storage-class";
		if ((to = mapped(r, json_string_value(jptr_get(obj, ann)))))
			op_replace(ops, ann, json_string(to));
	} else if (strcmp(gr, "statefulsets.apps") == 0) {
		json_t *vcts = jptr_get(obj, "/spec/volumeClaimTemplates"), *t;
		size_t i;
		json_array_foreach(vcts, i, t)
			if ((to = mapped(r, json_string_value(jptr_get(t, "/spec/storageClassName"))))) {
				char *p = xasprintf("/spec/volumeClaimTemplates/%zu/spec/storageClassName", i);
				op_replace(ops, p, json_string(to));
				free(p);
			}
	}
	return ops;
}

/* Where a type keeps its pod spec. */
static const char *pod_spec_path(const char *gr)
{
	static const char *const t[][2] = {
		{ "pods", "/spec" },
		{ "deployments.apps", "/spec/template/spec" },
		{ "statefulsets.apps", "/spec/template/spec" },
		{ "daemonsets.apps", "/spec/template/spec" },
		{ "replicasets.apps", "/spec/template/spec" },
		{ "replicationcontrollers", "/spec/template/spec" },
		{ "jobs.batch", "/spec/template/spec" },
		{ "cronjobs.batch", "/spec/jobTemplate/spec/template/spec" },
		{ "podtemplates", "/template/spec" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(gr, t[i][0]) == 0)
			return t[i][1];
	return NULL;
}

static json_t *image_ops(const struct rule *r, const char *gr, json_t *obj)
{
	static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };
	const char *base = pod_spec_path(gr);
	json_t *ops = json_array();
	json_t *spec = base ? jptr_get(obj, base) : NULL;
	for (size_t l = 0; spec && l < 3; l++) {
		json_t *c;
		size_t i;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			const char *img = json_string_value(json_object_get(c, "image"));
			size_t best = 0, bi = 0;
			for (size_t m = 0; img && m < r->from.n; m++) {
				size_t fl = strlen(r->from.v[m]);
				if (fl > best && strncmp(img, r->from.v[m], fl) == 0) {
					best = fl;
					bi = m;
				}
			}
			if (!best)
				continue;
			char *p = xasprintf("%s/%s/%zu/image", base, lists[l], i);
			char *nv = xasprintf("%s%s", r->to.v[bi], img + best);
			op_replace(ops, p, json_string(nv));
			free(p);
			free(nv);
		}
	}
	return ops;
}

static json_t *replicas_ops(const struct rule *r, const char *gr, json_t *obj)
{
	json_t *ops = json_array();
	size_t rl = strcspn(gr, ".");
	const char *ns = json_string_value(metaf(obj, "namespace"));
	const char *name = json_string_value(metaf(obj, "name"));
	const char *group = gr[rl] ? gr + rl + 1 : "";
	if (strlen(r->res) == rl && strncmp(gr, r->res, rl) == 0 &&
	    strcmp(group, strcmp(r->res, "replicationcontrollers") == 0 ? "" : "apps") == 0 &&
	    ns && name && strcmp(ns, r->ns) == 0 && strcmp(name, r->obj) == 0)
		json_array_append_new(ops, json_pack("{s:s, s:s, s:I}", "op", "add", "path", "/spec/replicas",
						     "value", (json_int_t)r->replicas));
	return ops;
}

/* One rule on *obj: 1 applied, 0 not (not selected, a test failed), -1 with *why. */
static int rule_apply(struct rule *r, const char *gr, json_t **obj, json_t **patch, char **why)
{
	json_t *ops = NULL, *m;
	char *e = NULL;
	int rc;
	*patch = NULL;
	switch (r->kind) {
	case RK_JSON: case RK_MERGE: case RK_STRATEGIC:
		if (!selects(r, gr, *obj))
			return 0;
		if (r->kind == RK_MERGE) {
			m = json_merge_patch(*obj, r->patch);
		} else if (r->kind == RK_STRATEGIC) {
			if (!(m = json_strategic_merge(*obj, r->patch, &e))) {
				*why = xasprintf("transform rule %s (%s): %s", r->name, r->source, e);
				free(e);
				return -1;
			}
		} else {
			ops = json_incref(r->patch);
			break;
		}
		json_decref(*obj);
		*obj = m;
		*patch = json_incref(r->patch);
		return 1;
	case RK_STORAGE_CLASS:
		ops = storage_class_ops(r, gr, *obj);
		break;
	case RK_IMAGE:
		ops = image_ops(r, gr, *obj);
		break;
	case RK_REPLICAS:
		ops = replicas_ops(r, gr, *obj);
		break;
	}
	if (!json_array_size(ops)) {
		json_decref(ops);
		return 0;
	}
	rc = json_patch_apply(obj, ops, &e);
	if (rc == JPATCH_TEST_FAILED) {
		free(e);
		json_decref(ops);
		return 0;
	}
	if (rc < 0) {
		*why = xasprintf("transform rule %s (%s): %s", r->name, r->source, e);
		free(e);
		json_decref(ops);
		return -1;
	}
	*patch = ops;
	return 1;
}

int transform_apply(struct transform_set *ts, const char *gr, json_t **obj, json_t **applied, char **why)
{
	/* The patches make new documents, never change the one they are given: the
	 * object as it came is kept for a failure. */
	json_t *orig = json_incref(*obj);
	*applied = NULL;
	for (size_t i = 0; ts && i < ts->n; i++) {
		struct rule *r = &ts->r[i];
		json_t *patch = NULL;
		int rc = rule_apply(r, gr, obj, &patch, why);
		if (rc < 0) {
			json_decref(*applied);
			*applied = NULL;
			json_decref(*obj);
			*obj = orig;
			return -1;
		}
		if (!rc)
			continue;
		__atomic_add_fetch(&r->applied, 1, __ATOMIC_RELAXED);
		if (!*applied)
			*applied = json_array();
		json_array_append_new(*applied, json_pack("{s:s, s:s, s:s, s:o}", "rule", r->name, "source", r->source,
							  "type", kind_names[r->kind], "patch", patch));
	}
	json_decref(orig);
	return 0;
}

void transform_unused(const struct transform_set *ts, struct strv *warnings)
{
	for (size_t i = 0; ts && i < ts->n; i++)
		if (!__atomic_load_n(&ts->r[i].applied, __ATOMIC_RELAXED))
			strv_push_owned(warnings, xasprintf("transform rule %s (%s) applied to no object",
							    ts->r[i].name, ts->r[i].source));
}
