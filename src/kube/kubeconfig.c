/* kahu — kubeconfig loading with libyaml's document API.
 *
 * Every file is parsed into a yaml_document_t and kept until the end of the load.  The
 * named lists (clusters, users, contexts) of all files are indexed by name, first file
 * wins as in kubectl; only the selected context, its cluster and its user are then
 * decoded.  Decoding lazily means a broken entry that is not used does not stop the
 * run, and credentials of other users are never base64-decoded into memory.
 *
 * Messages: "file:line: users[0].user.field: problem" (libyaml marks are 0-based, the
 * messages 1-based).  Secrets never appear in them: only field names and paths do. */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"

#define KUBECONFIG_MAX_SIZE (16u << 20) /* a kubeconfig larger than this is a mistake */
#define SA_DIR "var/run/secrets/kubernetes.io/serviceaccount"

struct kc_file {
	char *path;
	char *dir;            /* for relative paths */
	char *text;           /* file contents (may hold secrets: zeroed on free) */
	size_t len;
	yaml_document_t doc;
	int have_doc;
};

/* One named entry (a cluster, user or context) in a file. */
struct kc_entry {
	const char *name;     /* points into the document */
	struct kc_file *f;
	yaml_node_t *item;    /* the list item {name:, cluster:} */
	yaml_node_t *body;    /* the inner mapping, NULL when absent or null */
	yaml_node_t *at;      /* where messages about the entry point: "cluster:" key */
	char *path;           /* "clusters[2].cluster", for messages */
};

/* The entries of one kind, in the order they were found, and an index by name (open
 * addressing, linear probing) so that merging n entries and looking one up take
 * linear and constant time.  The hash is keyed with a random key per load, so that
 * names chosen to collide cannot make it quadratic again. */
struct kc_list {
	struct kc_entry *v;
	size_t n, cap;
	size_t *slots;        /* index + 1 into v; 0: empty */
	size_t nslots;        /* a power of two, or 0 */
	const unsigned char *hash_key; /* crypto_shorthash_KEYBYTES, the set's */
};

struct kc_set {
	struct kc_file **files;
	size_t nfiles;
	struct kc_list clusters, users, contexts;
	const char *current;          /* first non-empty current-context */
	char *source;                 /* the files, ':'-joined, for messages */
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	int keyed;
};

/* ---- small helpers ---- */

static int line_of(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 1;
}

/* "file:line: path: message", KAHU_ECONFIG unless told otherwise. */
static int __attribute__((format(printf, 5, 6)))
kc_err(int code, const struct kc_file *f, const yaml_node_t *n, const char *path,
       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (path && *path)
		return kahu_error_set(code, "%s:%d: %s: %s", f->path, line_of(n), path, msg);
	return kahu_error_set(code, "%s:%d: %s", f->path, line_of(n), msg);
}

static const char *node_type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* A plain `~`, `null` or empty scalar means "not set", as in YAML 1.1/Go. */
static int is_null(const yaml_node_t *n)
{
	if (!n)
		return 1;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* The key node of `key` in `map`: field errors point at the key's line, which for a
 * block mapping value is the line before the value. */
static yaml_node_t *map_key(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return k;
	}
	return NULL;
}

static char *join_path(const char *base, const char *key)
{
	return *base ? xasprintf("%s.%s", base, key) : xstrdup(key);
}

/* Optional string field.  *out stays NULL when absent, null or empty. */
static int get_str(struct kc_file *f, yaml_node_t *map, const char *base, const char *key,
		   const char **out)
{
	yaml_node_t *n = map_get(&f->doc, map, key);
	*out = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE) {
		char *p = join_path(base, key);
		int r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, map, key), p, "expected a string, found %s",
			       node_type_name(n));
		free(p);
		return r;
	}
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		char *p = join_path(base, key);
		int r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, map, key), p, "contains a NUL character");
		free(p);
		return r;
	}
	*out = (const char *)n->data.scalar.value;
	return 0;
}

static int get_dup(struct kc_file *f, yaml_node_t *map, const char *base, const char *key,
		   char **out)
{
	const char *s;
	int r = get_str(f, map, base, key, &s);
	if (r == 0 && s)
		*out = xstrdup(s);
	return r;
}

/* Booleans as sigs.k8s.io/yaml (YAML 1.1) reads them. */
static int get_bool(struct kc_file *f, yaml_node_t *map, const char *base, const char *key,
		    int *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					   "on", "On", "ON", "y", "Y" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO",
					  "off", "Off", "OFF", "n", "N" };
	yaml_node_t *n = map_get(&f->doc, map, key);
	if (is_null(n))
		return 0;
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = (const char *)n->data.scalar.value;
		for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
			if (!strcmp(s, yes[i]))
				return *out = 1, 0;
			if (!strcmp(s, no[i]))
				return *out = 0, 0;
		}
	}
	char *p = join_path(base, key);
	int r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, map, key), p, "expected true or false");
	free(p);
	return r;
}

/* Base64 field (certificate-authority-data…) decoded into `out`.  `secret`: the
 * buffer is sized once so no copy of a key is left behind by a realloc. */
static int get_b64(struct kc_file *f, yaml_node_t *map, const char *base, const char *key,
		   struct kbuf *out, int secret)
{
	const char *s;
	int r = get_str(f, map, base, key, &s);
	if (r < 0 || !s)
		return r;
	size_t len = strlen(s), bin_len = 0;
	const char *end = NULL;
	kbuf_grow(out, len / 4 * 3 + 3);
	if (sodium_base642bin((unsigned char *)out->data, out->cap - 1, s, len, " \t\r\n",
			      &bin_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + len) {
		if (secret)
			kbuf_free_secret(out);
		else
			kbuf_free(out);
		char *p = join_path(base, key);
		r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, map, key), p, "invalid base64");
		free(p);
		return r;
	}
	out->len = bin_len;
	out->data[bin_len] = '\0';
	if (bin_len == 0) {
		kbuf_free(out);
	}
	return 0;
}

static char *resolve_path(const struct kc_file *f, const char *p)
{
	if (!p || p[0] == '/' || !f->dir)
		return xstrdup(p);
	if (p[0] == '~' && p[1] == '/') {
		/* client-go expands ~ in paths */
		const char *home = getenv("HOME");
		if (home && *home)
			return xasprintf("%s/%s", home, p + 2);
	}
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return xasprintf("%s/%s", f->dir, p);
}

static int get_path(struct kc_file *f, yaml_node_t *map, const char *base, const char *key,
		    char **out)
{
	const char *s;
	int r = get_str(f, map, base, key, &s);
	if (r == 0 && s)
		*out = resolve_path(f, s);
	return r;
}

/* ---- files ---- */

static void kc_file_free(struct kc_file *f)
{
	if (!f)
		return;
	if (f->have_doc) {
		/* scalars hold tokens and keys */
		for (yaml_node_t *n = f->doc.nodes.start; n < f->doc.nodes.top; n++)
			if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
				sodium_memzero(n->data.scalar.value, n->data.scalar.length);
		yaml_document_delete(&f->doc);
	}
	if (f->text)
		free_secret(f->text, f->len);
	free(f->path);
	free(f->dir);
	free(f);
}

static void parser_wipe(yaml_parser_t *p)
{
	/* libyaml copies the input into its own buffers; zero them before freeing */
	if (p->buffer.start)
		sodium_memzero(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start)
		sodium_memzero(p->raw_buffer.start,
			       (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	yaml_parser_delete(p);
}

static char *dir_of(const char *path)
{
	char *abs = NULL;
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return NULL;
		abs = xasprintf("%s/%s", cwd, path);
	} else {
		abs = xstrdup(path);
	}
	char *slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0';
	else
		*slash = '\0';
	return abs;
}

/* Parse `text` (taken over) as the kubeconfig named `name`. */
static int kc_parse(char *text, size_t len, const char *name, const char *dir,
		    struct kc_file **out)
{
	struct kc_file *f = xcalloc(1, sizeof *f);
	yaml_parser_t parser;
	int r = 0;

	f->path = xstrdup(name);
	f->dir = dir ? xstrdup(dir) : NULL;
	f->text = text;
	f->len = len;
	if (!yaml_parser_initialize(&parser)) {
		kc_file_free(f);
		return kahu_error_set(KAHU_ENOMEM, "%s: cannot initialize the YAML parser", name);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &f->doc)) {
		r = kahu_error_set(KAHU_ECONFIG, "%s:%zu:%zu: YAML syntax error: %s%s%s", name,
				   parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				   parser.problem ? parser.problem : "invalid YAML",
				   parser.context ? " " : "",
				   parser.context ? parser.context : "");
		parser_wipe(&parser);
		kc_file_free(f);
		return r;
	}
	f->have_doc = 1;
	parser_wipe(&parser);
	*out = f;
	return 0;
}

/* Read a file.  ENOENT → KAHU_ENOTFOUND (the caller decides whether that is fine). */
static int read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return kahu_error_set(e == ENOENT || e == ENOTDIR ? KAHU_ENOTFOUND : KAHU_EIO,
				      "cannot open %s: %s", path, strerror(e));
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return kahu_error_set(KAHU_EIO, "cannot stat %s: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return kahu_error_set(KAHU_EIO, "cannot read %s: %s", path, strerror(EISDIR));
	}
	/* pipes (--kubeconfig <(…)) have no size: read them to EOF, bounded below */
	if (S_ISREG(st.st_mode) && st.st_size > KUBECONFIG_MAX_SIZE) {
		close(fd);
		return kahu_error_set(KAHU_EIO, "%s: larger than %u MiB, not a kubeconfig", path,
				      KUBECONFIG_MAX_SIZE >> 20);
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	if (cap < 4096)
		cap = 4096;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > KUBECONFIG_MAX_SIZE) {
				free_secret(buf, cap);
				close(fd);
				return kahu_error_set(KAHU_EIO, "%s: larger than %u MiB, not a kubeconfig",
						      path, KUBECONFIG_MAX_SIZE >> 20);
			}
			/* grow without leaving a copy of the secrets behind */
			char *nb = xmalloc(cap * 2);
			memcpy(nb, buf, n);
			free_secret(buf, cap);
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free_secret(buf, cap);
			close(fd);
			return kahu_error_set(KAHU_EIO, "cannot read %s: %s", path, strerror(e));
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* ---- the merged set ---- */

static size_t kc_hash(const struct kc_list *l, const char *name)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	crypto_shorthash(h, (const unsigned char *)name, strlen(name), l->hash_key);
	for (size_t i = 0; i < sizeof h; i++)
		v = v << 8 | h[i];
	return (size_t)v;
}

/* The slot that holds `name`, or the empty slot where it would go (nslots > 0). */
static size_t *kc_slot(const struct kc_list *l, const char *name)
{
	size_t mask = l->nslots - 1;
	for (size_t i = kc_hash(l, name) & mask;; i = (i + 1) & mask) {
		size_t *sl = &l->slots[i];
		if (!*sl || !strcmp(l->v[*sl - 1].name, name))
			return sl;
	}
}

static void kc_rehash(struct kc_list *l)
{
	l->nslots = l->nslots ? 2 * l->nslots : 64;
	free(l->slots);
	l->slots = xcalloc(l->nslots, sizeof *l->slots);
	for (size_t i = 0; i < l->n; i++)
		*kc_slot(l, l->v[i].name) = i + 1;
}

static struct kc_entry *kc_find(const struct kc_list *l, const char *name)
{
	if (!l->nslots)
		return NULL;
	size_t *sl = kc_slot(l, name);
	return *sl ? &l->v[*sl - 1] : NULL;
}

/* The names, sorted, for messages: the first KC_NAMES_SHOWN and how many more. */
#define KC_NAMES_SHOWN 20
static char *kc_names(const struct kc_list *l)
{
	struct strv s = STRV_INIT;
	for (size_t i = 0; i < l->n; i++)
		strv_push(&s, l->v[i].name);
	if (!s.n) {
		strv_free(&s);
		return xstrdup("none");
	}
	strv_sort(&s);
	size_t more = 0;
	if (s.n > KC_NAMES_SHOWN) {
		more = s.n - KC_NAMES_SHOWN;
		while (s.n > KC_NAMES_SHOWN)
			free(s.v[--s.n]);
		s.v[s.n] = NULL;
	}
	char *j = strv_join(&s, ", ");
	strv_free(&s);
	if (more) {
		char *m = xasprintf("%s and %zu more", j, more);
		free(j);
		j = m;
	}
	return j;
}

static void kc_set_free(struct kc_set *s)
{
	struct kc_list *lists[] = { &s->clusters, &s->users, &s->contexts };
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < lists[i]->n; j++)
			free(lists[i]->v[j].path);
		free(lists[i]->v);
		free(lists[i]->slots);
	}
	for (size_t i = 0; i < s->nfiles; i++)
		kc_file_free(s->files[i]);
	free(s->files);
	free(s->source);
}

/* Index the named list `key` ("clusters") of one file; `inner` is "cluster". */
static int kc_index(struct kc_set *s, struct kc_file *f, yaml_node_t *root, const char *key,
		    const char *inner, struct kc_list *l)
{
	yaml_node_t *seq = map_get(&f->doc, root, key);
	if (is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return kc_err(KAHU_ECONFIG, f, seq, key, "expected a list, found %s",
			      node_type_name(seq));
	int idx = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++, idx++) {
		yaml_node_t *item = yaml_document_get_node(&f->doc, *it);
		char path[64];
		snprintf(path, sizeof path, "%s[%d]", key, idx);
		if (!item || item->type != YAML_MAPPING_NODE)
			return kc_err(KAHU_ECONFIG, f, item, path, "expected a mapping, found %s",
				      item ? node_type_name(item) : "nothing");
		const char *name;
		int r = get_str(f, item, path, "name", &name);
		if (r < 0)
			return r;
		if (!name)
			return kc_err(KAHU_ECONFIG, f, item, path, "has no name");
		yaml_node_t *body = map_get(&f->doc, item, inner);
		if (is_null(body))
			body = NULL;
		else if (body->type != YAML_MAPPING_NODE)
			return kc_err(KAHU_ECONFIG, f, body, path, "%s: expected a mapping, found %s",
				      inner, node_type_name(body));
		if ((l->n + 1) * 4 > l->nslots * 3)
			kc_rehash(l);
		size_t *sl = kc_slot(l, name);
		if (*sl)
			continue; /* the first definition wins */
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 8;
			l->v = xrealloc(l->v, l->cap * sizeof *l->v);
		}
		l->v[l->n++] = (struct kc_entry){
			.name = name, .f = f, .item = item, .body = body,
			.at = body ? map_key(&f->doc, item, inner) : item,
			.path = xasprintf("%s.%s", path, inner),
		};
		*sl = l->n;
	}
	return 0;
}

static int kc_add_file(struct kc_set *s, struct kc_file *f)
{
	if (!s->keyed) {
		crypto_shorthash_keygen(s->hash_key);
		s->clusters.hash_key = s->users.hash_key = s->contexts.hash_key = s->hash_key;
		s->keyed = 1;
	}
	s->files = xrealloc(s->files, (s->nfiles + 1) * sizeof *s->files);
	s->files[s->nfiles++] = f;

	yaml_node_t *root = yaml_document_get_root_node(&f->doc);
	if (is_null(root))
		return 0; /* an empty file adds nothing, as with kubectl */
	if (root->type != YAML_MAPPING_NODE)
		return kahu_error_set(KAHU_ECONFIG, "%s:%d: not a kubeconfig: expected a mapping at the top level, found %s",
				      f->path, line_of(root), node_type_name(root));
	const char *cur;
	int r;
	if ((r = get_str(f, root, "", "current-context", &cur)) < 0)
		return r;
	if (cur && !s->current)
		s->current = cur;
	if ((r = kc_index(s, f, root, "clusters", "cluster", &s->clusters)) < 0 ||
	    (r = kc_index(s, f, root, "users", "user", &s->users)) < 0 ||
	    (r = kc_index(s, f, root, "contexts", "context", &s->contexts)) < 0)
		return r;
	return 0;
}

/* ---- decoding the selected entries ---- */

static int decode_cluster(struct kc_entry *e, struct kube_config *c)
{
	struct kc_file *f = e->f;
	yaml_node_t *m = e->body;
	const char *server;
	int r;

	if ((r = get_str(f, m, e->path, "server", &server)) < 0 ||
	    (r = get_path(f, m, e->path, "certificate-authority", &c->ca_file)) < 0 ||
	    (r = get_b64(f, m, e->path, "certificate-authority-data", &c->ca_data, 0)) < 0 ||
	    (r = get_bool(f, m, e->path, "insecure-skip-tls-verify",
			  &c->insecure_skip_tls_verify)) < 0 ||
	    (r = get_dup(f, m, e->path, "tls-server-name", &c->tls_server_name)) < 0 ||
	    (r = get_dup(f, m, e->path, "proxy-url", &c->proxy_url)) < 0)
		return r;
	if (!server)
		return kc_err(KAHU_ECONFIG, f, e->at, e->path, "cluster \"%s\" has no server",
			      e->name);
	/* client-go accepts a bare host:port and means https */
	if (strstr(server, "://"))
		c->server = xstrdup(server);
	else
		c->server = xasprintf("https://%s", server);
	size_t n = strlen(c->server);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	if (strncmp(c->server, "https://", 8) && strncmp(c->server, "http://", 7))
		return kc_err(KAHU_ECONFIG, f, map_key(&f->doc, m, "server"), e->path,
			      "server: unsupported scheme (expected https:// or http://)");
	if (c->ca_file && c->ca_data.len)
		return kc_err(KAHU_ECONFIG, f, e->at, e->path,
			      "certificate-authority and certificate-authority-data are both set; use only one");
	if (c->insecure_skip_tls_verify && (c->ca_file || c->ca_data.len))
		log_warn("%s: cluster \"%s\" sets insecure-skip-tls-verify and a certificate authority; the server certificate is not verified",
			 f->path, e->name);
	return 0;
}

static int decode_exec(struct kc_file *f, yaml_node_t *m, yaml_node_t *at, const char *base,
		       const char *user, struct kube_exec_config **out)
{
	struct kube_exec_config *x = xcalloc(1, sizeof *x);
	const char *cmd = NULL, *mode = NULL;
	int r;

	*out = x;
	if ((r = get_dup(f, m, base, "apiVersion", &x->api_version)) < 0 ||
	    (r = get_str(f, m, base, "command", &cmd)) < 0 ||
	    (r = get_str(f, m, base, "interactiveMode", &mode)) < 0 ||
	    (r = get_dup(f, m, base, "installHint", &x->install_hint)) < 0 ||
	    (r = get_bool(f, m, base, "provideClusterInfo", &x->provide_cluster_info)) < 0)
		return r;
	char *p = join_path(base, "apiVersion");
	if (!x->api_version)
		r = kc_err(KAHU_ECONFIG, f, at, p, "missing (use client.authentication.k8s.io/v1)");
	else if (!strcmp(x->api_version, "client.authentication.k8s.io/v1alpha1"))
		r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, m, "apiVersion"), p,
			   "client.authentication.k8s.io/v1alpha1 is no longer supported (removed in Kubernetes 1.24); update the credential plugin of user \"%s\" and use client.authentication.k8s.io/v1 or v1beta1",
			   user);
	else if (strcmp(x->api_version, "client.authentication.k8s.io/v1") &&
		 strcmp(x->api_version, "client.authentication.k8s.io/v1beta1"))
		r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, m, "apiVersion"), p,
			   "unsupported exec plugin API version \"%s\" (expected client.authentication.k8s.io/v1 or v1beta1)",
			   x->api_version);
	free(p);
	if (r < 0)
		return r;
	if (!cmd)
		return kc_err(KAHU_ECONFIG, f, at, base, "command is missing");
	/* client-go: a command with a '/' is relative to the kubeconfig; a bare name is
	 * looked up in PATH */
	x->command = strchr(cmd, '/') ? resolve_path(f, cmd) : xstrdup(cmd);

	int v1 = !strcmp(x->api_version, "client.authentication.k8s.io/v1");
	if (!mode) {
		if (v1)
			return kc_err(KAHU_ECONFIG, f, at, base,
				      "interactiveMode is required with client.authentication.k8s.io/v1 (Never, IfAvailable or Always)");
		mode = "IfAvailable";
	}
	if (strcmp(mode, "Never") && strcmp(mode, "IfAvailable") && strcmp(mode, "Always")) {
		p = join_path(base, "interactiveMode");
		r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, m, "interactiveMode"), p,
			   "\"%s\" is not one of Never, IfAvailable, Always", mode);
		free(p);
		return r;
	}
	x->interactive_mode = xstrdup(mode);

	yaml_node_t *args = map_get(&f->doc, m, "args");
	if (!is_null(args)) {
		if (args->type != YAML_SEQUENCE_NODE) {
			p = join_path(base, "args");
			r = kc_err(KAHU_ECONFIG, f, args, p, "expected a list of strings");
			free(p);
			return r;
		}
		int i = 0;
		for (yaml_node_item_t *it = args->data.sequence.items.start;
		     it < args->data.sequence.items.top; it++, i++) {
			yaml_node_t *a = yaml_document_get_node(&f->doc, *it);
			if (!a || a->type != YAML_SCALAR_NODE) {
				p = xasprintf("%s.args[%d]", base, i);
				r = kc_err(KAHU_ECONFIG, f, a ? a : args, p, "expected a string");
				free(p);
				return r;
			}
			strv_push(&x->args, (const char *)a->data.scalar.value);
		}
	}

	yaml_node_t *env = map_get(&f->doc, m, "env");
	if (!is_null(env)) {
		if (env->type != YAML_SEQUENCE_NODE) {
			p = join_path(base, "env");
			r = kc_err(KAHU_ECONFIG, f, env, p, "expected a list of {name, value}");
			free(p);
			return r;
		}
		int i = 0;
		for (yaml_node_item_t *it = env->data.sequence.items.start;
		     it < env->data.sequence.items.top; it++, i++) {
			yaml_node_t *ev = yaml_document_get_node(&f->doc, *it);
			const char *name = NULL, *value = NULL;
			p = xasprintf("%s.env[%d]", base, i);
			if (!ev || ev->type != YAML_MAPPING_NODE)
				r = kc_err(KAHU_ECONFIG, f, ev ? ev : env, p,
					   "expected a mapping {name, value}");
			else if ((r = get_str(f, ev, p, "name", &name)) == 0 &&
				 (r = get_str(f, ev, p, "value", &value)) == 0 &&
				 (!name || strchr(name, '=')))
				r = kc_err(KAHU_ECONFIG, f, ev, p,
					   name ? "invalid variable name" : "name is missing");
			free(p);
			if (r < 0)
				return r;
			strv_push_owned(&x->env, xasprintf("%s=%s", name, value ? value : ""));
		}
	}
	return 0;
}

static int decode_user(struct kc_entry *e, struct kube_config *c)
{
	struct kc_file *f = e->f;
	yaml_node_t *m = e->body;
	int r;

	if ((r = get_dup(f, m, e->path, "token", &c->token)) < 0 ||
	    (r = get_path(f, m, e->path, "tokenFile", &c->token_file)) < 0 ||
	    (r = get_path(f, m, e->path, "client-certificate", &c->client_cert_file)) < 0 ||
	    (r = get_path(f, m, e->path, "client-key", &c->client_key_file)) < 0 ||
	    (r = get_b64(f, m, e->path, "client-certificate-data", &c->client_cert_data, 0)) < 0 ||
	    (r = get_b64(f, m, e->path, "client-key-data", &c->client_key_data, 1)) < 0 ||
	    (r = get_dup(f, m, e->path, "username", &c->username)) < 0 ||
	    (r = get_dup(f, m, e->path, "password", &c->password)) < 0)
		return r;

	/* The token becomes an Authorization header: a line break in it would add
	 * headers of its own (Go's HTTP client, so kubectl, refuses such a token too). */
	for (const unsigned char *q = (const unsigned char *)c->token; q && *q; q++) {
		if ((*q < 0x20 && *q != '\t') || *q == 0x7f) {
			char *p = join_path(e->path, "token");
			r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, m, "token"), p,
				   "contains a control character (a token is one line)");
			free(p);
			return r;
		}
	}

	yaml_node_t *exec = map_get(&f->doc, m, "exec");
	if (!is_null(exec)) {
		char *p = join_path(e->path, "exec");
		if (exec->type != YAML_MAPPING_NODE)
			r = kc_err(KAHU_ECONFIG, f, exec, p, "expected a mapping");
		else
			r = decode_exec(f, exec, map_key(&f->doc, m, "exec"), p, e->name,
					&c->exec);
		free(p);
		if (r < 0)
			return r;
	}

	int has_cert = c->client_cert_file || c->client_cert_data.len;
	int has_key = c->client_key_file || c->client_key_data.len;
	int has_token = c->token || c->token_file;
	int has_basic = c->username || c->password;

	yaml_node_t *ap = map_get(&f->doc, m, "auth-provider");
	if (!is_null(ap)) {
		const char *apname = NULL;
		char *p = join_path(e->path, "auth-provider");
		if (ap->type == YAML_MAPPING_NODE)
			get_str(f, ap, p, "name", &apname);
		if (!has_token && !has_cert && !has_basic && !c->exec) {
			r = kc_err(KAHU_ECONFIG, f, map_key(&f->doc, m, "auth-provider"), p,
				   "user \"%s\" uses the auth-provider \"%s\", which kubectl removed in 1.26 and kahu does not support; switch to an exec credential plugin (e.g. gke-gcloud-auth-plugin for GKE, kubelogin for Azure or OIDC) and update the kubeconfig",
				   e->name, apname ? apname : "?");
			free(p);
			return r;
		}
		log_warn("%s:%d: %s: user \"%s\": auth-provider is not supported, ignoring it",
			 f->path, line_of(map_key(&f->doc, m, "auth-provider")), p, e->name);
		free(p);
	}

	if (c->client_cert_file && c->client_cert_data.len)
		return kc_err(KAHU_ECONFIG, f, e->at, e->path,
			      "client-certificate and client-certificate-data are both set; use only one");
	if (c->client_key_file && c->client_key_data.len)
		return kc_err(KAHU_ECONFIG, f, e->at, e->path,
			      "client-key and client-key-data are both set; use only one");
	if (has_cert != has_key)
		return kc_err(KAHU_ECONFIG, f, e->at, e->path,
			      "user \"%s\" has a client %s but no client %s", e->name,
			      has_cert ? "certificate" : "key", has_cert ? "key" : "certificate");
	if (has_token && has_basic)
		return kc_err(KAHU_ECONFIG, f, e->at, e->path,
			      "user \"%s\" sets both a token and username/password; use only one",
			      e->name);
	if (c->exec && has_basic)
		return kc_err(KAHU_ECONFIG, f, e->at, e->path,
			      "user \"%s\" sets both exec and username/password; use only one",
			      e->name);
	return 0;
}

static int kc_select(struct kc_set *s, const struct kube_load_opts *o, struct kube_config *c)
{
	const char *want = o && o->context && *o->context ? o->context : s->current;
	int r;

	if (!want) {
		char *names = kc_names(&s->contexts);
		if (!s->contexts.n && !s->clusters.n && !s->users.n)
			r = kahu_error_set(KAHU_ENOTFOUND, "%s: the kubeconfig is empty (no contexts, clusters or users)",
					   s->source);
		else
			r = kahu_error_set(KAHU_ENOTFOUND, "%s: current-context is not set; choose one with --context (known contexts: %s)",
					   s->source, names);
		free(names);
		return r;
	}
	struct kc_entry *ctx = kc_find(&s->contexts, want);
	if (!ctx) {
		char *names = kc_names(&s->contexts);
		r = kahu_error_set(KAHU_ENOTFOUND, "%s: context \"%s\" not found (known contexts: %s)",
				   s->source, want, names);
		free(names);
		return r;
	}
	c->context_name = xstrdup(want);

	const char *cl = NULL, *us = NULL, *ns = NULL;
	struct kc_file *f = ctx->f;
	if ((r = get_str(f, ctx->body, ctx->path, "cluster", &cl)) < 0 ||
	    (r = get_str(f, ctx->body, ctx->path, "user", &us)) < 0 ||
	    (r = get_str(f, ctx->body, ctx->path, "namespace", &ns)) < 0)
		return r;
	if (!cl)
		return kc_err(KAHU_ECONFIG, f, ctx->at, ctx->path,
			      "context \"%s\" has no cluster", want);
	struct kc_entry *ce = kc_find(&s->clusters, cl);
	struct kc_entry *ue = us ? kc_find(&s->users, us) : NULL;
	if (!ce || (us && !ue)) {
		char *cn = kc_names(&s->clusters), *un = kc_names(&s->users);
		if (!ce && us && !ue)
			r = kc_err(KAHU_ECONFIG, f, ctx->at, ctx->path,
				   "context \"%s\" refers to cluster \"%s\" and user \"%s\", which are not defined (known clusters: %s; known users: %s)",
				   want, cl, us, cn, un);
		else if (!ce)
			r = kc_err(KAHU_ECONFIG, f, ctx->at, ctx->path,
				   "context \"%s\" refers to cluster \"%s\", which is not defined (known clusters: %s)",
				   want, cl, cn);
		else
			r = kc_err(KAHU_ECONFIG, f, ctx->at, ctx->path,
				   "context \"%s\" refers to user \"%s\", which is not defined (known users: %s)",
				   want, us, un);
		free(cn);
		free(un);
		return r;
	}
	c->cluster_name = xstrdup(cl);
	c->user_name = xstrdup(us ? us : "");
	if ((r = decode_cluster(ce, c)) < 0)
		return r;
	if (ue && (r = decode_user(ue, c)) < 0)
		return r;

	if (o && o->namespace && *o->namespace) {
		c->namespace = xstrdup(o->namespace);
		c->namespace_explicit = 1;
	} else if (ns) {
		c->namespace = xstrdup(ns);
		c->namespace_explicit = 1;
	} else {
		c->namespace = xstrdup("default");
	}
	return 0;
}

static int kc_finish(struct kc_set *s, const struct kube_load_opts *o, struct kube_config **out)
{
	struct kube_config *c = xcalloc(1, sizeof *c);
	int r = kc_select(s, o, c);
	if (r < 0) {
		kube_config_free(c);
		return r;
	}
	c->source = xstrdup(s->source);
	*out = c;
	return 0;
}

/* ---- public ---- */

int kube_config_load_string(const char *yaml, const char *name, const char *dir,
			    const struct kube_load_opts *o, struct kube_config **out)
{
	struct kc_set s = { 0 };
	struct kc_file *f;
	size_t len = strlen(yaml);
	int r;

	*out = NULL;
	s.source = xstrdup(name);
	if ((r = kc_parse(xstrndup(yaml, len), len, name, dir, &f)) < 0 ||
	    (r = kc_add_file(&s, f)) < 0 || (r = kc_finish(&s, o, out)) < 0)
		goto out;
out:
	kc_set_free(&s);
	return r;
}

static int load_file(struct kc_set *s, const char *path, int must_exist)
{
	char *text = NULL;
	size_t len = 0;
	struct kc_file *f;
	int r = read_file(path, &text, &len);
	if (r == KAHU_ENOTFOUND && !must_exist)
		return 1;
	if (r < 0)
		return r;
	char *dir = dir_of(path);
	r = kc_parse(text, len, path, dir, &f);
	free(dir);
	if (r < 0)
		return r;
	return kc_add_file(s, f);
}

static char *default_path(void)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	return home ? xasprintf("%s/.kube/config", home) : NULL;
}

/* Read the kubeconfig files kubectl would read, into `s`; `found` lists those that
 * exist.  Returns 1 when none exists (the caller decides what that means). */
static int kc_gather(const struct kube_load_opts *o, struct kc_set *s, struct strv *found,
		     struct strv *paths, const char **what)
{
	const char *env = getenv("KUBECONFIG");
	int r;

	if (o && o->kubeconfig) {
		if ((r = load_file(s, o->kubeconfig, 1)) < 0)
			return r;
		strv_push(found, o->kubeconfig);
		return 0;
	}
	if (env && *env) {
		*what = "KUBECONFIG";
		struct strv raw = STRV_INIT;
		struct strset seen = STRSET_INIT;
		strv_split(&raw, env, ':');
		for (size_t i = 0; i < raw.n; i++)
			if (strset_add(&seen, raw.v[i]))
				strv_push(paths, raw.v[i]);
		strv_free(&raw);
		strset_free(&seen);
	} else {
		*what = "the default kubeconfig";
		char *p = default_path();
		if (p)
			strv_push_owned(paths, p);
	}
	for (size_t i = 0; i < paths->n; i++) {
		r = load_file(s, paths->v[i], 0);
		if (r < 0)
			return r;
		if (r == 0)
			strv_push(found, paths->v[i]);
		else
			log_debug("kubeconfig %s does not exist, skipping", paths->v[i]);
	}
	return found->n ? 0 : 1;
}

int kube_config_list_contexts(const struct kube_load_opts *o, struct strv *names)
{
	struct kc_set s = { 0 };
	struct strv paths = STRV_INIT, found = STRV_INIT;
	const char *what = NULL;
	int r = kc_gather(o, &s, &found, &paths, &what);
	if (r == 0)
		for (size_t i = 0; i < s.contexts.n; i++)
			strv_push(names, s.contexts.v[i].name);
	kc_set_free(&s);
	strv_free(&paths);
	strv_free(&found);
	return r < 0 ? r : 0;
}

int kube_config_load(const struct kube_load_opts *o, struct kube_config **out)
{
	struct kc_set s = { 0 };
	struct strv paths = STRV_INIT, found = STRV_INIT;
	const char *what = NULL;
	int r;

	*out = NULL;
	r = kc_gather(o, &s, &found, &paths, &what);
	if (r < 0)
		goto out;
	if (r == 1) {
		const char *host = getenv("KUBERNETES_SERVICE_HOST");
		if (host && *host && !(o && o->context)) {
			log_info("no kubeconfig found, using the in-cluster service account");
			/* The root is "/" in a pod; tests name another (kahu(1) ENVIRONMENT). */
			const char *root = o && o->in_cluster_root ? o->in_cluster_root :
					   getenv("KAHU_IN_CLUSTER_ROOT");
			r = kube_config_in_cluster(root && *root ? root : "/", out);
			if (r == 0 && o && o->namespace && *o->namespace) {
				free((*out)->namespace);
				(*out)->namespace = xstrdup(o->namespace);
				(*out)->namespace_explicit = 1;
			}
			goto out;
		}
		char *list = paths.n ? strv_join(&paths, ", ") : xstrdup("$HOME/.kube/config");
		r = kahu_error_set(KAHU_ENOTFOUND,
				   "no kubeconfig found: %s (%s) does not exist and not running in a cluster; set KUBECONFIG or use --kubeconfig",
				   what, list);
		free(list);
		goto out;
	}
	s.source = strv_join(&found, ":");
	r = kc_finish(&s, o, out);
out:
	kc_set_free(&s);
	strv_free(&paths);
	strv_free(&found);
	return r;
}

/* Read a small file that must exist; trailing whitespace trimmed. */
static int read_small(const char *path, char **out)
{
	char *text;
	size_t len;
	int r = read_file(path, &text, &len);
	if (r < 0)
		return r;
	while (len > 0 && strchr(" \t\r\n", text[len - 1]))
		text[--len] = '\0';
	*out = text;
	return 0;
}

int kube_config_in_cluster(const char *root, struct kube_config **out)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config *c;
	char *token_file, *ca, *nsf, *ns = NULL;
	struct stat st;
	int r;

	*out = NULL;
	if (!root || !*root)
		root = "/";
	if (!host || !*host || !port || !*port)
		return kahu_error_set(KAHU_ENOTFOUND,
				      "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
	const char *sep = root[strlen(root) - 1] == '/' ? "" : "/";
	token_file = xasprintf("%s%s%s/token", root, sep, SA_DIR);
	ca = xasprintf("%s%s%s/ca.crt", root, sep, SA_DIR);
	nsf = xasprintf("%s%s%s/namespace", root, sep, SA_DIR);
	if (access(token_file, R_OK) < 0) {
		int e = errno;
		r = kahu_error_set(e == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO,
				   "in-cluster configuration: cannot read the service account token %s: %s",
				   token_file, strerror(e));
		free(token_file);
		free(ca);
		free(nsf);
		return r;
	}
	c = xcalloc(1, sizeof *c);
	c->source = xstrdup("in-cluster");
	c->context_name = xstrdup("in-cluster");
	c->cluster_name = xstrdup("in-cluster");
	c->user_name = xstrdup("in-cluster");
	if (strchr(host, ':') && host[0] != '[')
		c->server = xasprintf("https://[%s]:%s", host, port);
	else
		c->server = xasprintf("https://%s:%s", host, port);
	c->token_file = token_file;
	if (stat(ca, &st) == 0) {
		c->ca_file = ca;
	} else {
		log_warn("in-cluster configuration: %s: %s, using the system CA certificates",
			 ca, strerror(errno));
		free(ca);
	}
	if (read_small(nsf, &ns) == 0 && *ns) {
		c->namespace = ns;
		c->namespace_explicit = 1;
	} else {
		free(ns);
		c->namespace = xstrdup("default");
	}
	free(nsf);
	*out = c;
	return 0;
}

static void exec_free(struct kube_exec_config *x)
{
	if (!x)
		return;
	free(x->api_version);
	free(x->command);
	strv_free(&x->args);
	/* env values may carry secrets */
	for (size_t i = 0; i < x->env.n; i++)
		sodium_memzero(x->env.v[i], strlen(x->env.v[i]));
	strv_free(&x->env);
	free(x->interactive_mode);
	free(x->install_hint);
	free(x);
}

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->source);
	free(c->context_name);
	free(c->cluster_name);
	free(c->user_name);
	free(c->namespace);
	free(c->server);
	free(c->ca_file);
	kbuf_free(&c->ca_data);
	free(c->tls_server_name);
	free(c->proxy_url);
	free_secret_str(c->token);
	free(c->token_file);
	free(c->client_cert_file);
	free(c->client_key_file);
	kbuf_free(&c->client_cert_data);
	kbuf_free_secret(&c->client_key_data);
	free(c->username);
	free_secret_str(c->password);
	exec_free(c->exec);
	free(c);
}
