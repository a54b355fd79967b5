/* kahu — restore transforms (see transform.h). */
#include "engine/transform.h"
#include "engine/labelsel.h"
#include "engine/transform_patch.h"
#include "engine/ynode.h"
#include "util/buf.h"
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
#include <strings.h>
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
	size_t group;           /* rules made from one Velero rule: 1 + its index; 0 for others */
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
	int nested;       /* the text of a ConfigMap's data key */
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
				free(c->path); /* a path given twice: the last one */
				c->path = NULL;
				if ((rc = ypointer(y, vn, k, &c->path)) < 0)
					return rc;
			} else if (strcmp(k, "equals") == 0) {
				json_decref(c->equals);
				c->equals = NULL;
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

/* ---- Velero's resource modifiers (kahu-transform(5), VELERO'S FORMAT) ----
 *
 * A file with `resourceModifierRules` (version v1), or a ConfigMap holding such a file
 * in its one data key, is translated into kahu's rules: each Velero rule becomes one
 * rule per patch kind it has (its JSON patches together; each merge and strategic patch
 * alone), with the rule's conditions.  Errors name FILE:LINE like the rest. */

/* A Velero patch value is a string read as Velero reads it: "" and "\"…\"" are
 * strings (the quotes removed), null, true and false (any case) and numbers are JSON's,
 * text starting with { or [ is JSON, anything else a string.  (The YAML quoting is not
 * seen: Velero reads every value into a string first.)  A mapping or a list is taken
 * as the JSON value it is. */
static int velero_value(struct yctx *y, yaml_node_t *n, const char *key, json_t **out)
{
	const char *s = yscalar(n);
	*out = NULL;
	if (!s)
		return yjson(y, n, 0, out);
	size_t l = strlen(s);
	if (!l) {
		*out = json_string("");
	} else if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
		*out = json_stringn(s + 1, l - 2);
	} else if (strcmp(s, "null") == 0) {
		*out = json_null();
	} else if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
		*out = json_boolean(tolower((unsigned char)s[0]) == 't');
	} else if (s[0] == '{' || s[0] == '[') {
		json_error_t je;
		if (!(*out = json_loads(s, JSON_DECODE_ANY, &je)))
			return yerr(y, n, "%s: text starting with %c is read as JSON, and it is not valid JSON: %s",
				    key, s[0], je.text);
	} else {
		char *end = NULL;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!*end && !errno && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+')) {
			*out = json_integer(v);
		} else {
			double d = strtod(s, &end);
			if (!*end && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.') &&
			    strspn(s, "0123456789.eE+-") == l)
				*out = json_real(d);
			else
				*out = json_string(s);
		}
	}
	return 0;
}

/* Text held in a scalar (a ConfigMap's data, a patchData) parsed as YAML, its lines
 * counted in the file: it is preceded by as many newlines as lines come before it. */
static int yembedded(struct yctx *y, yaml_node_t *n, const char *key, yaml_document_t *doc, char **padded)
{
	const char *s = yscalar(n);
	yaml_parser_t parser;
	if (!s)
		return yerr(y, n, "%s: expected a string holding YAML", key);
	size_t base = n->start_mark.line + (n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
					    n->data.scalar.style == YAML_FOLDED_SCALAR_STYLE);
	size_t l = strlen(s);
	/* Aliases can repeat a large text: each parse is charged to the budget. */
	if (y->budget < l / 64 + 1)
		return yerr(y, n, "%s: more than 100000 values (aliases expanded)", key);
	y->budget -= l / 64 + 1;
	*padded = xmalloc(base + l + 1);
	memset(*padded, '\n', base);
	memcpy(*padded + base, s, l + 1);
	if (!yaml_parser_initialize(&parser))
		return kahu_error_set(KAHU_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)*padded, base + l);
	int rc = 0;
	if (!yaml_parser_load(&parser, doc))
		rc = kahu_error_set(KAHU_EUSAGE, "%s:%lu: %s: invalid YAML: %s", y->file,
				    (unsigned long)parser.problem_mark.line + 1, key,
				    parser.problem ? parser.problem : "unreadable");
	else if (!yaml_document_get_root_node(doc)) {
		yaml_document_delete(doc);
		rc = yerr(y, n, "%s: empty", key);
	}
	yaml_parser_delete(&parser);
	return rc;
}

/* patchData: YAML or JSON text (a mapping given as such is taken too). */
static int velero_patch_data(struct yctx *y, yaml_node_t *n, json_t **out)
{
	yaml_document_t doc;
	char *padded = NULL;
	int rc;
	*out = NULL;
	if (n->type == YAML_MAPPING_NODE)
		return yjson(y, n, 0, out);
	if ((rc = yembedded(y, n, "patchData", &doc, &padded)) < 0) {
		free(padded);
		return rc;
	}
	struct yctx in = { .doc = &doc, .file = y->file, .text = padded, .len = strlen(padded), .budget = y->budget };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	rc = yjson(&in, root, 0, out);
	y->budget = in.budget;
	if (rc == 0 && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = yerr(&in, root, "patchData: expected a mapping (the fields to merge)");
	}
	yaml_document_delete(&doc);
	free(padded);
	return rc;
}

/* Velero's resourceNameRegex is an RE2 expression; kahu's a POSIX extended one: \d,
 * \w and \s (and \D, \W, \S) outside brackets are rewritten, RE2's (?…) groups and
 * flags have no POSIX form and are refused. */
static int velero_regex(struct yctx *y, yaml_node_t *n, char **out)
{
	const char *s = yscalar(n);
	struct kbuf b = KBUF_INIT;
	int in_bracket = 0;
	if (!s)
		return yerr(y, n, "resourceNameRegex: expected a regular expression");
	for (const char *p = s; *p; p++) {
		if (!in_bracket && p[0] == '(' && p[1] == '?') {
			kbuf_free(&b);
			return yerr(y, n, "resourceNameRegex: \"%s\": RE2's (?…) groups and flags have no POSIX "
				    "form (kahu's regular expressions are POSIX extended ones)", s);
		}
		if (*p == '\\' && p[1]) {
			const char *cls = NULL;
			switch (p[1]) {
			case 'd': cls = "[0-9]"; break;
			case 'D': cls = "[^0-9]"; break;
			case 'w': cls = "[A-Za-z0-9_]"; break;
			case 'W': cls = "[^A-Za-z0-9_]"; break;
			case 's': cls = "[[:space:]]"; break;
			case 'S': cls = "[^[:space:]]"; break;
			}
			if (cls && !in_bracket)
				kbuf_adds(&b, cls);
			else
				kbuf_add(&b, p, 2);
			p++;
			continue;
		}
		if (*p == '[' && !in_bracket) {
			in_bracket = 1;
			kbuf_addc(&b, *p);
			if (p[1] == '^')
				kbuf_addc(&b, *++p);
			if (p[1] == ']')
				kbuf_addc(&b, *++p);
			continue;
		}
		if (*p == ']' && in_bracket)
			in_bracket = 0;
		kbuf_addc(&b, *p);
	}
	*out = xstrdup(kbuf_str(&b));
	kbuf_free(&b);
	return 0;
}

/* labelSelector {matchLabels, matchExpressions} as kahu's selector text. */
static int velero_selector(struct yctx *y, yaml_node_t *n, char **out)
{
	yaml_node_t *kn, *vn, *e, *ekn, *evn, *v;
	struct kbuf b = KBUF_INIT;
	int rc = 0;
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "labelSelector: expected a mapping (matchLabels, matchExpressions)");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "matchLabels") == 0) {
			if (vn->type != YAML_MAPPING_NODE) {
				rc = yerr(y, vn, "matchLabels: expected a mapping of labels");
				goto out;
			}
			yaml_node_t *lk, *lv;
			for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
				lk = ynode(y, q->key);
				lv = ynode(y, q->value);
				if (!yscalar(lk) || !yscalar(lv)) {
					rc = yerr(y, lk, "matchLabels: expected label: value");
					goto out;
				}
				kbuf_addf(&b, "%s%s=%s", b.len ? "," : "", yscalar(lk), yscalar(lv));
			}
		} else if (strcmp(k, "matchExpressions") == 0) {
			if (vn->type != YAML_SEQUENCE_NODE) {
				rc = yerr(y, vn, "matchExpressions: expected a list");
				goto out;
			}
			YSEQ_FOREACH(y, vn, e) {
				const char *key = NULL, *op = NULL;
				yaml_node_t *vals = NULL;
				if (e->type != YAML_MAPPING_NODE) {
					rc = yerr(y, e, "matchExpressions: expected a mapping (key, operator, values)");
					goto out;
				}
				for (yaml_node_pair_t *q = e->data.mapping.pairs.start; q < e->data.mapping.pairs.top; q++) {
					ekn = ynode(y, q->key);
					evn = ynode(y, q->value);
					const char *ek = yscalar(ekn) ? yscalar(ekn) : "";
					if (strcmp(ek, "key") == 0)
						key = yscalar(evn);
					else if (strcmp(ek, "operator") == 0)
						op = yscalar(evn);
					else if (strcmp(ek, "values") == 0)
						vals = evn;
					else {
						rc = yerr(y, ekn, "unknown key \"%s\" in a match expression (key, operator, values)", ek);
						goto out;
					}
				}
				if (!key || !op) {
					rc = yerr(y, e, "a match expression needs key and operator");
					goto out;
				}
				int set = strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0;
				if (!set && strcmp(op, "Exists") && strcmp(op, "DoesNotExist")) {
					rc = yerr(y, e, "operator \"%s\": expected In, NotIn, Exists or DoesNotExist", op);
					goto out;
				}
				if (set != (vals && vals->type == YAML_SEQUENCE_NODE &&
					    vals->data.sequence.items.top > vals->data.sequence.items.start)) {
					rc = yerr(y, e, "operator %s %s values", op, set ? "needs" : "takes no");
					goto out;
				}
				if (b.len)
					kbuf_addc(&b, ',');
				if (!set) {
					kbuf_addf(&b, "%s%s", strcmp(op, "Exists") ? "!" : "", key);
					continue;
				}
				kbuf_addf(&b, "%s %s (", key, strcmp(op, "In") == 0 ? "in" : "notin");
				int first = 1;
				for (yaml_node_item_t *vi = vals->data.sequence.items.start;
				     vi < vals->data.sequence.items.top; vi++) {
					v = ynode(y, *vi);
					if (!yscalar(v)) {
						rc = yerr(y, v, "values: expected strings");
						goto out;
					}
					kbuf_addf(&b, "%s%s", first ? "" : ",", yscalar(v));
					first = 0;
				}
				kbuf_addc(&b, ')');
			}
		} else {
			rc = yerr(y, kn, "unknown key \"%s\" in labelSelector (matchLabels, matchExpressions)", k);
			goto out;
		}
	}
	*out = xstrdup(kbuf_str(&b));
out:
	kbuf_free(&b);
	return rc;
}

/* What a Velero rule's conditions select, given to each rule made from it. */
struct vcond {
	char *resource, *regex, *selector;
	struct strv namespaces;
	struct cond *matches;
	size_t nmatches;
};

static void vcond_clear(struct vcond *c)
{
	free(c->resource);
	free(c->regex);
	free(c->selector);
	strv_free(&c->namespaces);
	for (size_t i = 0; i < c->nmatches; i++) {
		free(c->matches[i].path);
		json_decref(c->matches[i].equals);
	}
	free(c->matches);
}

static int velero_conditions(struct yctx *y, yaml_node_t *n, struct vcond *c)
{
	yaml_node_t *kn, *vn, *e, *mk, *mv;
	int rc;
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "conditions: expected a mapping (groupResource, resourceNameRegex, namespaces, "
			    "labelSelector, matches)");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "groupResource") == 0) {
			if (!yscalar(vn) || !*yscalar(vn))
				return yerr(y, vn, "groupResource: expected a resource (persistentvolumeclaims, "
					    "deployments.apps, *)");
			free(c->resource);
			c->resource = xstrdup(yscalar(vn));
			for (char *p = c->resource; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		} else if (strcmp(k, "resourceNameRegex") == 0) {
			regex_t *re = NULL;
			free(c->regex);
			c->regex = NULL;
			if ((rc = velero_regex(y, vn, &c->regex)) < 0)
				return rc;
			/* checked as kahu will compile it */
			yaml_node_t tmp = *vn;
			tmp.data.scalar.value = (yaml_char_t *)c->regex;
			if ((rc = yregex(y, &tmp, k, &re)) < 0)
				return rc;
			regfree(re);
			free(re);
		} else if (strcmp(k, "namespaces") == 0) {
			if ((rc = ynode_strings(y->doc, y->file, vn, k, false, &c->namespaces)) < 0)
				return rc;
		} else if (strcmp(k, "labelSelector") == 0) {
			struct labelsel *sel = NULL;
			free(c->selector);
			c->selector = NULL;
			if ((rc = velero_selector(y, vn, &c->selector)) < 0)
				return rc;
			if ((rc = labelsel_parse(c->selector, &sel)) < 0)
				return kahu_error_wrap(rc, "%s:%lu: labelSelector", y->file,
						       (unsigned long)vn->start_mark.line + 1);
			labelsel_free(sel);
		} else if (strcmp(k, "matches") == 0) {
			if (vn->type != YAML_SEQUENCE_NODE)
				return yerr(y, vn, "matches: expected a list of {path, value}");
			YSEQ_FOREACH(y, vn, e) {
				if (e->type != YAML_MAPPING_NODE)
					return yerr(y, e, "matches: expected a mapping (path, value)");
				c->matches = xrealloc(c->matches, (c->nmatches + 1) * sizeof *c->matches);
				struct cond *m = &c->matches[c->nmatches++];
				memset(m, 0, sizeof *m);
				m->exists = -1;
				for (yaml_node_pair_t *mp = e->data.mapping.pairs.start; mp < e->data.mapping.pairs.top; mp++) {
					mk = ynode(y, mp->key);
					mv = ynode(y, mp->value);
					const char *mkey = yscalar(mk) ? yscalar(mk) : "";
					if (strcmp(mkey, "path") == 0) {
						free(m->path);
						m->path = NULL;
						if ((rc = ypointer(y, mv, mkey, &m->path)) < 0)
							return rc;
					} else if (strcmp(mkey, "value") == 0) {
						json_decref(m->equals);
						m->equals = NULL;
						if ((rc = velero_value(y, mv, mkey, &m->equals)) < 0)
							return rc;
					} else {
						return yerr(y, mk, "unknown key \"%s\" in matches (path, value)", mkey);
					}
				}
				if (!m->path || !m->equals)
					return yerr(y, e, "a match needs path and value");
			}
		} else {
			return yerr(y, kn, "unknown key \"%s\" in conditions (groupResource, resourceNameRegex, "
				    "namespaces, labelSelector, matches)", k);
		}
	}
	if (!c->resource)
		return yerr(y, n, "conditions without groupResource (Velero requires it; \"*\" is every resource)");
	return 0;
}

/* A kahu rule from a Velero rule's conditions and one patch. */
static void velero_emit(struct transform_set **ts, const struct vcond *c, size_t group, enum rule_kind kind,
			json_t *patch, char *name, char *source)
{
	struct rule *r = rule_new(ts);
	r->group = group;
	r->name = name;
	r->source = source;
	r->kind = kind;
	r->patch = patch;
	strv_push(&r->resources, c->resource);
	for (size_t i = 0; i < c->namespaces.n; i++)
		strv_push(&r->namespaces, c->namespaces.v[i]);
	if (c->regex) {
		r->name_re = xmalloc(sizeof *r->name_re);
		if (regcomp(r->name_re, c->regex, REG_EXTENDED | REG_NOSUB) != 0) {
			free(r->name_re); /* (compiled once already: cannot happen) */
			r->name_re = NULL;
		}
	}
	if (c->selector && labelsel_parse(c->selector, &r->sel) < 0)
		kahu_error_clear();
	if (c->nmatches) {
		r->conds = xcalloc(c->nmatches, sizeof *r->conds);
		r->nconds = c->nmatches;
		for (size_t i = 0; i < c->nmatches; i++) {
			r->conds[i].path = xstrdup(c->matches[i].path);
			r->conds[i].equals = json_incref(c->matches[i].equals);
			r->conds[i].exists = -1;
		}
	}
}

static char *vsource(const struct yctx *y, yaml_node_t *n)
{
	return xasprintf("%s:%lu", y->file, (unsigned long)n->start_mark.line + 1);
}

static int velero_rule(struct yctx *y, yaml_node_t *n, size_t idx, struct transform_set **ts)
{
	/* One group per Velero rule in the whole set (files are appended). */
	size_t group = 1;
	for (size_t i = 0; *ts && i < (*ts)->n; i++)
		if ((*ts)->r[i].group >= group)
			group = (*ts)->r[i].group + 1;
	yaml_node_t *kn, *vn, *e, *pk, *pv;
	yaml_node_t *conds = NULL, *patches = NULL, *merges = NULL, *strategics = NULL;
	struct vcond c = { 0 };
	json_t *ops = NULL;
	char *why = NULL;
	int rc = 0;
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "a rule of resourceModifierRules: expected a mapping (conditions, patches, "
			    "mergePatches, strategicPatches)");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		yaml_node_t **slot = strcmp(k, "conditions") == 0 ? &conds : strcmp(k, "patches") == 0 ? &patches :
				     strcmp(k, "mergePatches") == 0 ? &merges :
				     strcmp(k, "strategicPatches") == 0 ? &strategics : NULL;
		if (!slot)
			return yerr(y, kn, "unknown key \"%s\" in a rule of resourceModifierRules (conditions, "
				    "patches, mergePatches, strategicPatches)", k);
		if (slot != &conds && vn->type != YAML_SEQUENCE_NODE)
			return yerr(y, vn, "%s: expected a list", k);
		*slot = vn;
	}
	if (!conds)
		return yerr(y, n, "a rule of resourceModifierRules without conditions (groupResource is required)");
	if ((rc = velero_conditions(y, conds, &c)) < 0)
		goto out;
	int any = 0;
	if (patches && patches->data.sequence.items.top > patches->data.sequence.items.start) {
		ops = json_array();
		YSEQ_FOREACH(y, patches, e) {
			json_t *op = json_object();
			json_array_append_new(ops, op);
			if (e->type != YAML_MAPPING_NODE) {
				rc = yerr(y, e, "patches: expected a mapping (operation, path, from, value)");
				goto out;
			}
			YMAP_FOREACH(y, e, pk, pv) {
				const char *k = yscalar(pk) ? yscalar(pk) : "";
				json_t *v = NULL;
				if (strcmp(k, "operation") == 0 || strcmp(k, "path") == 0 || strcmp(k, "from") == 0) {
					if (!yscalar(pv)) {
						rc = yerr(y, pv, "%s: expected a string", k);
						goto out;
					}
					json_object_set_new(op, k[0] == 'o' ? "op" : k, json_string(yscalar(pv)));
				} else if (strcmp(k, "value") == 0) {
					if ((rc = velero_value(y, pv, k, &v)) < 0)
						goto out;
					json_object_set_new(op, "value", v);
				} else {
					rc = yerr(y, pk, "unknown key \"%s\" in a patch (operation, path, from, value)", k);
					goto out;
				}
			}
			const char *o = json_string_value(json_object_get(op, "op"));
			/* Velero gives a missing value as the empty string. */
			if (o && !json_object_get(op, "value") &&
			    (strcmp(o, "add") == 0 || strcmp(o, "replace") == 0 || strcmp(o, "test") == 0))
				json_object_set_new(op, "value", json_string(""));
			if (!json_object_get(op, "from") && o && (strcmp(o, "copy") == 0 || strcmp(o, "move") == 0)) {
				rc = yerr(y, e, "patches: operation %s needs from", o);
				goto out;
			}
			/* Checked one at a time, for its line; numbered in the list. */
			json_t *one = json_pack("[O]", op);
			rc = json_patch_check(one, &why);
			json_decref(one);
			if (rc < 0) {
				if (strncmp(why, "operation 1", 11) == 0)
					rc = yerr(y, e, "patches: operation %zu%s", json_array_size(ops), why + 11);
				else
					rc = yerr(y, e, "patches: %s", why);
				goto out;
			}
		}
		velero_emit(ts, &c, group, RK_JSON, ops, xasprintf("resourceModifierRules[%zu].patches", idx),
			    vsource(y, patches));
		ops = NULL;
		any = 1;
	}
	for (int s = 0; s < 2; s++) {
		yaml_node_t *list = s ? strategics : merges;
		const char *key = s ? "strategicPatches" : "mergePatches";
		size_t j = 0;
		if (!list)
			continue;
		YSEQ_FOREACH(y, list, e) {
			json_t *patch = NULL;
			yaml_node_t *data = NULL;
			if (e->type != YAML_MAPPING_NODE) {
				rc = yerr(y, e, "%s: expected a mapping (patchData)", key);
				goto out;
			}
			YMAP_FOREACH(y, e, pk, pv) {
				if (!yscalar(pk) || strcmp(yscalar(pk), "patchData") != 0) {
					rc = yerr(y, pk, "unknown key \"%s\" in %s (patchData)",
						  yscalar(pk) ? yscalar(pk) : "", key);
					goto out;
				}
				data = pv;
			}
			if (!data) {
				rc = yerr(y, e, "%s: an entry without patchData", key);
				goto out;
			}
			if ((rc = velero_patch_data(y, data, &patch)) < 0)
				goto out;
			if (s) {
				json_t *m = json_strategic_merge(NULL, patch, &why);
				json_decref(m);
				if (!m) {
					json_decref(patch);
					rc = yerr(y, data, "strategicPatches: %s", why);
					goto out;
				}
			}
			velero_emit(ts, &c, group, s ? RK_STRATEGIC : RK_MERGE, patch,
				    xasprintf("resourceModifierRules[%zu].%s[%zu]", idx, key, j++), vsource(y, e));
			any = 1;
		}
	}
	if (!any)
		rc = yerr(y, n, "a rule of resourceModifierRules without patches, mergePatches or strategicPatches");
out:
	free(why);
	json_decref(ops);
	vcond_clear(&c);
	return rc;
}

static int velero_root(struct yctx *y, yaml_node_t *root, struct transform_set **ts)
{
	yaml_node_t *kn, *vn, *e, *version = NULL, *rules = NULL;
	int rc;
	YMAP_FOREACH(y, root, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "version") == 0)
			version = vn;
		else if (strcmp(k, "resourceModifierRules") == 0)
			rules = vn;
		else
			return yerr(y, kn, "unknown key \"%s\" in Velero's resource modifiers (version, "
				    "resourceModifierRules)", k);
	}
	if (!version)
		return yerr(y, root, "Velero's resource modifiers without version (v1)");
	if (!rules)
		return yerr(y, root, "Velero's resource modifiers without resourceModifierRules");
	if (!yscalar(version) || strcmp(yscalar(version), "v1") != 0)
		return yerr(y, version, "version: Velero's resource modifiers are known in version v1 only");
	if (rules->type != YAML_SEQUENCE_NODE || rules->data.sequence.items.top == rules->data.sequence.items.start)
		return yerr(y, rules, "resourceModifierRules: expected a non-empty list");
	size_t i = 0;
	YSEQ_FOREACH(y, rules, e)
		if ((rc = velero_rule(y, e, i++, ts)) < 0)
			return rc;
	return 0;
}

static int yroot(struct yctx *y, yaml_node_t *root, struct transform_set **ts);

/* A ConfigMap (as Velero takes its resource modifiers): the file in its one data key. */
static int configmap_root(struct yctx *y, yaml_node_t *root, struct transform_set **ts)
{
	yaml_node_t *kn, *vn, *data = NULL, *dk = NULL, *dv = NULL;
	YMAP_FOREACH(y, root, kn, vn)
		if (yscalar(kn) && strcmp(yscalar(kn), "data") == 0)
			data = vn;
	if (!data || data->type != YAML_MAPPING_NODE)
		return yerr(y, root, "a ConfigMap without data: the rules are expected in its one data key");
	size_t n = (size_t)(data->data.mapping.pairs.top - data->data.mapping.pairs.start);
	if (n != 1)
		return yerr(y, data, "data: a ConfigMap of resource modifiers has exactly one key (it has %zu)", n);
	YMAP_FOREACH(y, data, kn, vn) {
		dk = kn;
		dv = vn;
	}
	const char *key = yscalar(dk) ? yscalar(dk) : "data";
	yaml_document_t doc;
	char *padded = NULL;
	int rc = yembedded(y, dv, key, &doc, &padded);
	if (rc == 0) {
		struct yctx in = { .doc = &doc, .file = y->file, .text = padded, .len = strlen(padded),
				   .budget = y->budget, .nested = 1 };
		yaml_node_t *r = yaml_document_get_root_node(&doc);
		rc = yroot(&in, r, ts);
		y->budget = in.budget;
		yaml_document_delete(&doc);
	}
	free(padded);
	return rc;
}

/* Which format: Velero's (resourceModifierRules), a ConfigMap holding a file, or kahu's. */
static int yformat(const struct yctx *y, yaml_node_t *root)
{
	yaml_node_t *kn, *vn;
	int velero = 0, cm = 0;
	YMAP_FOREACH(y, root, kn, vn) {
		const char *k = yscalar(kn) ? yscalar(kn) : "";
		if (strcmp(k, "resourceModifierRules") == 0)
			velero = 1;
		else if (strcmp(k, "kind") == 0 && yscalar(vn) && strcmp(yscalar(vn), "ConfigMap") == 0)
			cm = 1;
	}
	return velero ? 1 : cm ? 2 : 0;
}

static int yroot(struct yctx *y, yaml_node_t *root, struct transform_set **ts)
{
	yaml_node_t *kn, *vn, *e;
	int rc, have_rules = 0;
	if (root->type != YAML_MAPPING_NODE)
		return yerr(y, root, "the transform file: expected a mapping (version, rules)");
	switch (yformat(y, root)) {
	case 1:
		return velero_root(y, root, ts);
	case 2:
		if (y->nested)
			return yerr(y, root, "a ConfigMap inside a ConfigMap");
		return configmap_root(y, root, ts);
	}
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
		size_t groups = 0;
		for (size_t i = 0; i < (*out)->n; i++)
			if ((*out)->r[i].group > groups)
				groups = (*out)->r[i].group;
		for (size_t i = 0; i < ts->n; i++) {
			struct rule *r = rule_new(out);
			*r = ts->r[i];
			if (r->group)
				r->group += groups;
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
static int rule_apply(struct rule *r, const char *gr, json_t *base, json_t **obj, json_t **patch, char **why)
{
	json_t *ops = NULL, *m;
	char *e = NULL;
	int rc;
	*patch = NULL;
	switch (r->kind) {
	case RK_JSON: case RK_MERGE: case RK_STRATEGIC:
		if (!selects(r, gr, base))
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
	json_t *orig = json_incref(*obj), *base = NULL;
	*applied = NULL;
	for (size_t i = 0; ts && i < ts->n; i++) {
		struct rule *r = &ts->r[i];
		json_t *patch = NULL;
		/* The rules of one Velero rule select on the object as it was before the
		 * first of them (its conditions are judged once, as Velero does). */
		if (!r->group || i == 0 || ts->r[i - 1].group != r->group) {
			json_decref(base);
			base = json_incref(*obj);
		}
		int rc = rule_apply(r, gr, r->group ? base : *obj, obj, &patch, why);
		if (rc < 0) {
			json_decref(base);
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
	json_decref(base);
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
