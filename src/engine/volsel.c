/* kahu — volume selection: modes, quantities, the policy file, the choice per claim,
 * the PVC → pods index. */
#include "engine/volsel.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "engine/labelsel.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/mem.h"
#include "util/strv.h"

int vol_mode_parse(const char *s, enum vol_mode *out)
{
	static const struct { const char *name; enum vol_mode m; } t[] = {
		{ "auto", VOL_MODE_AUTO }, { "none", VOL_MODE_NONE },
		{ "fs", VOL_MODE_FS }, { "csi", VOL_MODE_CSI },
	};
	for (size_t i = 0; s && i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].m;
			return 0;
		}
	return kahu_error_set(KAHU_EUSAGE, "--volume-data: \"%s\" is not one of none, fs, csi, auto",
			      s ? s : "");
}

const char *vol_mode_name(enum vol_mode m)
{
	switch (m) {
	case VOL_MODE_NONE: return "none";
	case VOL_MODE_FS: return "fs";
	case VOL_MODE_CSI: return "csi";
	default: return "auto";
	}
}

const char *vol_method_name(enum vol_method m)
{
	switch (m) {
	case VOL_METHOD_FS: return "fs";
	case VOL_METHOD_CSI: return "csi";
	default: return "skip";
	}
}

unsigned vol_access_mode(const char *s)
{
	if (!s)
		return 0;
	if (strcmp(s, "ReadWriteOnce") == 0)
		return VOL_ACCESS_RWO;
	if (strcmp(s, "ReadOnlyMany") == 0)
		return VOL_ACCESS_ROX;
	if (strcmp(s, "ReadWriteMany") == 0)
		return VOL_ACCESS_RWX;
	if (strcmp(s, "ReadWriteOncePod") == 0)
		return VOL_ACCESS_RWOP;
	return 0;
}

/* ---- quantities ---- */

int vol_quantity_parse(const char *s, uint64_t *out)
{
	static const struct { const char *sfx; long double mul; } sfx[] = {
		{ "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L },
		{ "Ti", 1099511627776.0L }, { "Pi", 1125899906842624.0L },
		{ "Ei", 1152921504606846976.0L },
		{ "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L }, { "P", 1e15L },
		{ "E", 1e18L }, { "", 1.0L },
	};
	if (!s || !*s)
		return -1;
	const char *p = s;
	if (*p == '+')
		p++;
	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
		return -1;
	long double v = 0;
	while (isdigit((unsigned char)*p))
		v = v * 10 + (*p++ - '0');
	if (*p == '.') {
		long double f = 0.1L;
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			v += (*p++ - '0') * f;
			f /= 10;
		}
	}
	long double mul = -1;
	if ((*p == 'e' || *p == 'E') && (isdigit((unsigned char)p[1]) ||
					 ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
		int neg = 0, e = 0;
		p++;
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		while (isdigit((unsigned char)*p) && e < 100)
			e = e * 10 + (*p++ - '0');
		if (*p)
			return -1;
		mul = 1;
		for (int i = 0; i < e; i++)
			mul = neg ? mul / 10 : mul * 10;
	} else {
		for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
			if (strcmp(p, sfx[i].sfx) == 0) {
				mul = sfx[i].mul;
				break;
			}
	}
	if (mul < 0)
		return -1;
	v *= mul;
	if (v > 18446744073709551615.0L)
		return -1;
	uint64_t n = (uint64_t)v;
	if ((long double)n < v)
		n++;
	*out = n;
	return 0;
}

/* ---- the policy ---- */

enum cmp_op { CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_EQ };

struct size_cmp {
	enum cmp_op op;
	uint64_t v;
};

struct vol_rule {
	int line;
	struct strv classes;        /* globs; empty: any */
	struct labelsel *sel;       /* NULL: any */
	unsigned modes;             /* any of; 0: any */
	struct size_cmp size[4];
	int nsize;
	enum vol_method action;
};

struct vol_policy {
	char *file;
	struct vol_rule *rules;
	size_t n;
};

size_t vol_policy_rules(const struct vol_policy *p)
{
	return p ? p->n : 0;
}

void vol_policy_free(struct vol_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		strv_free(&p->rules[i].classes);
		labelsel_free(p->rules[i].sel);
	}
	free(p->rules);
	free(p->file);
	free(p);
}

struct pctx {
	yaml_document_t *doc;
	const char *file;
};

static int perr(const struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(const struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return kahu_error_set(KAHU_EUSAGE, "%s:%lu: %s", c->file,
			      (unsigned long)(n ? n->start_mark.line + 1 : 1), msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar or a sequence of scalars, each pushed to `out`. */
static int string_list(const struct pctx *c, const yaml_node_t *n, const char *what,
		       struct strv *out)
{
	if (scalar(n)) {
		strv_push(out, scalar(n));
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return perr(c, n, "%s: expected a string or a list of strings", what);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		const yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		if (!scalar(e))
			return perr(c, e, "%s: expected a string", what);
		strv_push(out, scalar(e));
	}
	if (out->n == 0)
		return perr(c, n, "%s: the list is empty", what);
	return 0;
}

static int parse_size(const struct pctx *c, const yaml_node_t *n, struct vol_rule *r)
{
	const char *s = scalar(n);
	if (!s || !*s)
		return perr(c, n, "size: expected comparisons such as \">10Gi\" or \">=1Gi,<100Gi\"");
	struct strv parts = STRV_INIT;
	strv_split(&parts, s, ',');
	int rc = 0;
	if (parts.n == 0 || parts.n > 4)
		rc = perr(c, n, "size: \"%s\": one to four comparisons, separated by commas", s);
	for (size_t i = 0; rc == 0 && i < parts.n; i++) {
		const char *p = parts.v[i];
		struct size_cmp *k = &r->size[r->nsize++];
		if (strncmp(p, ">=", 2) == 0)
			k->op = CMP_GE, p += 2;
		else if (strncmp(p, "<=", 2) == 0)
			k->op = CMP_LE, p += 2;
		else if (strncmp(p, "==", 2) == 0)
			k->op = CMP_EQ, p += 2;
		else if (*p == '>')
			k->op = CMP_GT, p++;
		else if (*p == '<')
			k->op = CMP_LT, p++;
		else if (*p == '=')
			k->op = CMP_EQ, p++;
		else {
			rc = perr(c, n, "size: \"%s\": a comparison starts with <, <=, >, >= or =", parts.v[i]);
			break;
		}
		while (*p == ' ')
			p++;
		if (vol_quantity_parse(p, &k->v) < 0)
			rc = perr(c, n, "size: \"%s\" is not a quantity of bytes (e.g. 10Gi, 500M)", p);
	}
	strv_free(&parts);
	return rc;
}

static int parse_match(const struct pctx *c, const yaml_node_t *n, struct vol_rule *r)
{
	if (n->type != YAML_MAPPING_NODE)
		return perr(c, n, "match: expected a mapping");
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
		const yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
		const char *key = scalar(k);
		int rc = 0;
		if (!key)
			return perr(c, k, "match: expected a key");
		if (strcmp(key, "storageClass") == 0) {
			if (r->classes.n)
				return perr(c, k, "match: storageClass given twice");
			rc = string_list(c, v, "storageClass", &r->classes);
		} else if (strcmp(key, "selector") == 0) {
			if (r->sel)
				return perr(c, k, "match: selector given twice");
			if (!scalar(v))
				return perr(c, v, "selector: expected a label selector string (app=db,tier in (a,b))");
			if (labelsel_parse(scalar(v), &r->sel) < 0)
				return perr(c, v, "selector: %s", kahu_error_last());
		} else if (strcmp(key, "accessModes") == 0) {
			struct strv m = STRV_INIT;
			if (r->modes)
				return perr(c, k, "match: accessModes given twice");
			rc = string_list(c, v, "accessModes", &m);
			for (size_t i = 0; rc == 0 && i < m.n; i++) {
				unsigned bit = vol_access_mode(m.v[i]);
				if (!bit)
					rc = perr(c, v, "accessModes: \"%s\" is not one of ReadWriteOnce, "
						  "ReadOnlyMany, ReadWriteMany, ReadWriteOncePod", m.v[i]);
				r->modes |= bit;
			}
			strv_free(&m);
		} else if (strcmp(key, "size") == 0) {
			if (r->nsize)
				return perr(c, k, "match: size given twice");
			rc = parse_size(c, v, r);
		} else {
			return perr(c, k, "match: unknown key \"%s\" (storageClass, selector, accessModes, size)", key);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_rule(const struct pctx *c, const yaml_node_t *n, struct vol_rule *r)
{
	int have_action = 0;
	r->line = (int)n->start_mark.line + 1;
	if (n->type != YAML_MAPPING_NODE)
		return perr(c, n, "a rule is a mapping with match and action");
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
		const yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
		const char *key = scalar(k);
		if (!key)
			return perr(c, k, "a rule: expected a key");
		if (strcmp(key, "match") == 0) {
			int rc = parse_match(c, v, r);
			if (rc < 0)
				return rc;
		} else if (strcmp(key, "action") == 0) {
			const char *a = scalar(v);
			if (a && strcmp(a, "skip") == 0)
				r->action = VOL_METHOD_SKIP;
			else if (a && strcmp(a, "fs") == 0)
				r->action = VOL_METHOD_FS;
			else if (a && strcmp(a, "csi") == 0)
				r->action = VOL_METHOD_CSI;
			else
				return perr(c, v, "action: \"%s\" is not one of skip, fs, csi", a ? a : "");
			have_action = 1;
		} else {
			return perr(c, k, "a rule: unknown key \"%s\" (match, action)", key);
		}
	}
	if (!have_action)
		return perr(c, n, "the rule has no action (skip, fs or csi)");
	return 0;
}

int vol_policy_parse(const char *text, size_t len, const char *file, struct vol_policy **out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct pctx c = { &doc, file };
	struct vol_policy *p = NULL;
	int rc = 0;

	*out = NULL;
	if (!yaml_parser_initialize(&parser))
		return kahu_error_set(KAHU_ENOMEM, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = kahu_error_set(KAHU_EUSAGE, "%s:%lu: %s", file,
				    (unsigned long)parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "not valid YAML");
		yaml_parser_delete(&parser);
		return rc;
	}
	const yaml_node_t *root = yaml_document_get_root_node(&doc);
	p = xcalloc(1, sizeof *p);
	p->file = xstrdup(file);
	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = perr(&c, root, "expected a mapping with version and rules");
		goto out;
	}
	const yaml_node_t *rules = NULL;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
		const yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
		const char *key = scalar(k);
		if (key && strcmp(key, "version") == 0) {
			if (!scalar(v) || strcmp(scalar(v), "1") != 0) {
				rc = perr(&c, v, "version: only version 1 is known");
				goto out;
			}
		} else if (key && strcmp(key, "rules") == 0) {
			rules = v;
		} else {
			rc = perr(&c, k, "unknown key \"%s\" (version, rules)", key ? key : "");
			goto out;
		}
	}
	if (!rules || rules->type != YAML_SEQUENCE_NODE) {
		rc = perr(&c, rules ? rules : root, "rules: expected a list of rules");
		goto out;
	}
	size_t n = (size_t)(rules->data.sequence.items.top - rules->data.sequence.items.start);
	p->rules = xcalloc(n ? n : 1, sizeof *p->rules);
	for (yaml_node_item_t *it = rules->data.sequence.items.start; it < rules->data.sequence.items.top; it++) {
		struct vol_rule *r = &p->rules[p->n++];
		if ((rc = parse_rule(&c, yaml_document_get_node(&doc, *it), r)) < 0)
			goto out;
	}
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		vol_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int vol_policy_load(const char *path, struct vol_policy **out)
{
	enum { MAX = 1 << 20 };
	FILE *f = fopen(path, "re");
	if (!f)
		return kahu_error_set(KAHU_EUSAGE, "--volume-policy: cannot read %s: %s", path, strerror(errno));
	char *buf = xmalloc(MAX + 1);
	size_t n = fread(buf, 1, MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	int rc;
	if (bad)
		rc = kahu_error_set(KAHU_EUSAGE, "--volume-policy: cannot read %s", path);
	else if (n > MAX)
		rc = kahu_error_set(KAHU_EUSAGE, "--volume-policy: %s is larger than 1 MiB", path);
	else
		rc = vol_policy_parse(buf, n, path, out);
	free(buf);
	return rc;
}

static int size_ok(const struct vol_rule *r, uint64_t size)
{
	for (int i = 0; i < r->nsize; i++) {
		uint64_t v = r->size[i].v;
		int ok;
		switch (r->size[i].op) {
		case CMP_LT: ok = size < v; break;
		case CMP_LE: ok = size <= v; break;
		case CMP_GT: ok = size > v; break;
		case CMP_GE: ok = size >= v; break;
		default: ok = size == v; break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

static int rule_matches(const struct vol_rule *r, const struct vol_pvc *p)
{
	if (r->classes.n) {
		int any = 0;
		for (size_t i = 0; !any && i < r->classes.n; i++)
			any = fnmatch(r->classes.v[i], p->storage_class ? p->storage_class : "", 0) == 0;
		if (!any)
			return 0;
	}
	if (r->sel && !labelsel_match(r->sel, p->labels))
		return 0;
	if (r->modes && !(r->modes & p->access_modes))
		return 0;
	return size_ok(r, p->size);
}

/* ---- the choice ---- */

static void set(struct vol_choice *c, enum vol_method m, int failed, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct vol_choice *c, enum vol_method m, int failed, const char *fmt, ...)
{
	va_list ap;
	c->method = m;
	c->failed = failed;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof c->reason, fmt, ap);
	va_end(ap);
}

/* `why` chose csi: the claim's class, or the failure. */
static void csi(struct vol_choice *c, const struct vol_pvc *p, const char *why)
{
	if (!p->driver)
		set(c, VOL_METHOD_CSI, 1, "%s, but the volume is not a CSI volume", why);
	else if (!p->snapshot_class)
		set(c, VOL_METHOD_CSI, 1, "%s, but no VolumeSnapshotClass is for driver %s", why, p->driver);
	else
		set(c, VOL_METHOD_CSI, 0, "%s (VolumeSnapshotClass %s)", why, p->snapshot_class);
}

void vol_choose(enum vol_mode mode, const struct vol_policy *pol, const struct vol_pvc *p,
		struct vol_choice *out)
{
	if (!p->bound) {
		set(out, VOL_METHOD_SKIP, 0, "not bound to a volume");
		return;
	}
	if (mode == VOL_MODE_NONE) {
		set(out, VOL_METHOD_SKIP, 0, "--volume-data none");
		return;
	}
	if (p->annotation) {
		const char *a = p->annotation;
		if (strcmp(a, "skip") == 0)
			set(out, VOL_METHOD_SKIP, 0, "annotation " VOL_ANNOTATION "=skip");
		else if (strcmp(a, "fs") == 0)
			set(out, VOL_METHOD_FS, 0, "annotation " VOL_ANNOTATION "=fs");
		else if (strcmp(a, "csi") == 0)
			csi(out, p, "annotation " VOL_ANNOTATION "=csi");
		else
			set(out, VOL_METHOD_SKIP, 1, "annotation " VOL_ANNOTATION "=\"%.100s\" is not one of "
			    "fs, csi, skip", a);
		return;
	}
	if (p->velero_exclude_pod) {
		if (mode != VOL_MODE_FS && p->driver && p->snapshot_class) {
			char why[300];
			snprintf(why, sizeof why, "no file copy: " VOL_VELERO_EXCLUDE " of pod %s",
				 p->velero_exclude_pod);
			csi(out, p, why);
		}
		else
			set(out, VOL_METHOD_SKIP, 0, "excluded by " VOL_VELERO_EXCLUDE " of pod %s",
			    p->velero_exclude_pod);
		return;
	}
	if (p->velero_include_pod) {
		set(out, VOL_METHOD_FS, 0, "named by " VOL_VELERO_INCLUDE " of pod %s", p->velero_include_pod);
		return;
	}
	for (size_t i = 0; pol && i < pol->n; i++) {
		const struct vol_rule *r = &pol->rules[i];
		if (!rule_matches(r, p))
			continue;
		char why[300];
		snprintf(why, sizeof why, "volume policy %s:%d (rule %zu)", pol->file, r->line, i + 1);
		if (r->action == VOL_METHOD_CSI)
			csi(out, p, why);
		else
			set(out, r->action, 0, "%s", why);
		return;
	}
	switch (mode) {
	case VOL_MODE_FS:
		set(out, VOL_METHOD_FS, 0, "--volume-data fs");
		break;
	case VOL_MODE_CSI:
		csi(out, p, "--volume-data csi");
		break;
	default:
		if (p->driver && p->snapshot_class)
			set(out, VOL_METHOD_CSI, 0, "--volume-data auto: VolumeSnapshotClass %s is for driver %s",
			    p->snapshot_class, p->driver);
		else if (p->driver)
			set(out, VOL_METHOD_FS, 0, "--volume-data auto: no VolumeSnapshotClass for driver %s",
			    p->driver);
		else
			set(out, VOL_METHOD_FS, 0, "--volume-data auto: not a CSI volume");
	}
}

/* ---- the index ---- */

struct vol_index {
	struct vol_claim_use **slots;
	size_t cap, n;
};

struct vol_index *vol_index_new(void)
{
	struct vol_index *ix = xcalloc(1, sizeof *ix);
	ix->cap = 64;
	ix->slots = xcalloc(ix->cap, sizeof *ix->slots);
	return ix;
}

static uint64_t key_hash(const char *ns, const char *claim)
{
	uint64_t h = kahu_fnv1a64_add(KAHU_FNV1A64_BASIS, ns, strlen(ns) + 1);
	return kahu_fnv1a64_add(h, claim, strlen(claim));
}

static struct vol_claim_use **slot(const struct vol_index *ix, const char *ns, const char *claim)
{
	size_t i = (size_t)(key_hash(ns, claim) & (ix->cap - 1));
	while (ix->slots[i] && (strcmp(ix->slots[i]->namespace_, ns) != 0 ||
				strcmp(ix->slots[i]->claim, claim) != 0))
		i = (i + 1) & (ix->cap - 1);
	return &ix->slots[i];
}

static struct vol_claim_use *use_get(struct vol_index *ix, const char *ns, const char *claim)
{
	struct vol_claim_use **s = slot(ix, ns, claim);
	if (*s)
		return *s;
	if ((ix->n + 1) * 2 > ix->cap) {
		struct vol_claim_use **old = ix->slots;
		size_t oldcap = ix->cap;
		ix->cap *= 2;
		ix->slots = xcalloc(ix->cap, sizeof *ix->slots);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				*slot(ix, old[i]->namespace_, old[i]->claim) = old[i];
		free(old);
		s = slot(ix, ns, claim);
	}
	*s = xcalloc(1, sizeof **s);
	(*s)->namespace_ = xstrdup(ns);
	(*s)->claim = xstrdup(claim);
	ix->n++;
	return *s;
}

const struct vol_claim_use *vol_index_get(const struct vol_index *ix, const char *ns,
					  const char *claim)
{
	return *slot(ix, ns, claim);
}

size_t vol_index_size(const struct vol_index *ix)
{
	return ix->n;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Whether the comma-separated list `list` names `name`. */
static int names(const char *list, const char *name)
{
	if (!list)
		return 0;
	struct strv v = STRV_INIT;
	strv_split(&v, list, ',');
	int found = strv_contains(&v, name);
	strv_free(&v);
	return found;
}

/* The container of `containers` that mounts volume `vol`, with its mount. */
static json_t *mounting(json_t *containers, const char *vol, json_t **mount)
{
	size_t i, j;
	json_t *c, *m;
	json_array_foreach(containers, i, c) {
		json_array_foreach(json_object_get(c, "volumeMounts"), j, m) {
			const char *n = jstr(m, "name");
			if (n && strcmp(n, vol) == 0 && jstr(m, "mountPath")) {
				*mount = m;
				return c;
			}
		}
	}
	return NULL;
}

int vol_index_add_pod(struct vol_index *ix, json_t *pod)
{
	json_t *md = json_object_get(pod, "metadata");
	const char *name = jstr(md, "name"), *ns = jstr(md, "namespace");
	if (!name || !ns)
		return kahu_error_set(KAHU_EDATA, "a pod without metadata.name or metadata.namespace");
	if (json_object_get(md, "deletionTimestamp") && !json_is_null(json_object_get(md, "deletionTimestamp")))
		return 0;
	json_t *ann = json_object_get(md, "annotations");
	const char *inc = jstr(ann, VOL_VELERO_INCLUDE), *exc = jstr(ann, VOL_VELERO_EXCLUDE);
	json_t *spec = json_object_get(pod, "spec");
	const char *phase = jstr(json_object_get(pod, "status"), "phase");
	int running = phase && strcmp(phase, "Running") == 0;
	const char *node = jstr(spec, "nodeName");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		const char *vname = jstr(v, "name");
		json_t *ref = json_object_get(v, "persistentVolumeClaim");
		char *claim = NULL;
		if (!vname)
			continue;
		if (ref && jstr(ref, "claimName"))
			claim = xstrdup(jstr(ref, "claimName"));
		else if (json_object_get(v, "ephemeral"))
			claim = xasprintf("%s-%s", name, vname);   /* the generic ephemeral claim's name */
		if (!claim)
			continue;
		struct vol_claim_use *u = use_get(ix, ns, claim);
		free(claim);
		if (names(inc, vname) && !u->velero_include_pod)
			u->velero_include_pod = xasprintf("%s/%s", ns, name);
		if (names(exc, vname) && !u->velero_exclude_pod)
			u->velero_exclude_pod = xasprintf("%s/%s", ns, name);
		if (!running)
			continue;
		json_t *mount = NULL, *c;
		int init = 0;
		c = mounting(json_object_get(spec, "containers"), vname, &mount);
		if (!c) {
			c = mounting(json_object_get(spec, "initContainers"), vname, &mount);
			init = 1;
		}
		if (!c || !jstr(c, "name"))
			continue;
		u->mounts = xrealloc(u->mounts, (u->nmounts + 1) * sizeof *u->mounts);
		struct vol_mount *m = &u->mounts[u->nmounts++];
		m->pod = xstrdup(name);
		m->node = xstrdup(node);
		m->container = xstrdup(jstr(c, "name"));
		m->mount_path = xstrdup(jstr(mount, "mountPath"));
		m->read_only = json_is_true(json_object_get(mount, "readOnly")) ||
			       (ref && json_is_true(json_object_get(ref, "readOnly")));
		m->init = init;
	}
	return 0;
}

const struct vol_mount *vol_claim_best_mount(const struct vol_claim_use *u)
{
	if (!u)
		return NULL;
	for (size_t i = 0; i < u->nmounts; i++)
		if (!u->mounts[i].init)
			return &u->mounts[i];
	return u->nmounts ? &u->mounts[0] : NULL;
}

void vol_index_free(struct vol_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->cap; i++) {
		struct vol_claim_use *u = ix->slots[i];
		if (!u)
			continue;
		for (size_t j = 0; j < u->nmounts; j++) {
			free(u->mounts[j].pod);
			free(u->mounts[j].node);
			free(u->mounts[j].container);
			free(u->mounts[j].mount_path);
		}
		free(u->mounts);
		free(u->namespace_);
		free(u->claim);
		free(u->velero_include_pod);
		free(u->velero_exclude_pod);
		free(u);
	}
	free(ix->slots);
	free(ix);
}
