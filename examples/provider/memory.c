/* An example kahu storage provider: "memory", objects kept in the memory of the kahu
 * process (so they live as long as the run).  It shows the whole provider ABI on a
 * page or two, built from <kahu/backend.h> alone:
 *
 *   cc -std=c99 -fPIC -shared -fvisibility=hidden $(pkg-config --cflags kahu-backend) \
 *      -o kahu-memory.so memory.c -lpthread
 *
 * and found by kahu as kahu-memory.so in a directory of KAHU_PLUGIN_PATH or in
 * $(pkg-config --variable=backenddir kahu-backend).
 *
 * Configuration: "space" (optional) names a separate set of objects; every handle
 * opened on the same space sees the same objects, from any thread (one mutex). */
#include <kahu/backend.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mem_obj {
	char *space, *key;
	unsigned char *data;
	size_t len;
	int64_t mtime;
};

/* Shared by all handles: guarded by mem_mu. */
static pthread_mutex_t mem_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mem_obj *objs;
static size_t nobjs;

struct kahu_backend_handle {
	const struct kahu_host *host;
	char space[128];
	char err[256];
};

struct kahu_backend_put {
	struct kahu_backend_handle *h;
	char *key;
	unsigned int flags;
	unsigned char *data;
	size_t len, cap;
};

static char *mem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static int mem_err(struct kahu_backend_handle *h, int rc, const char *what, const char *key)
{
	snprintf(h->err, sizeof h->err, "%s %s in space \"%s\"", what, key, h->space);
	return rc;
}

/* Locked. */
static struct mem_obj *mem_find(const char *space, const char *key)
{
	for (size_t i = 0; i < nobjs; i++)
		if (strcmp(objs[i].space, space) == 0 && strcmp(objs[i].key, key) == 0)
			return &objs[i];
	return NULL;
}

static const struct kahu_backend_option mem_options[] = {
	{ "space", "name of a separate set of objects (default: \"default\")", 0 },
	{ NULL, NULL, 0 },
};

static int mem_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		    size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		    size_t errbuf_len)
{
	const char *space = "default";
	*out = NULL;
	for (size_t i = 0; i < nconfig; i++)
		if (strcmp(config[i].key, "space") == 0)
			space = config[i].value;
	if (!*space || strlen(space) >= sizeof((*out)->space)) {
		snprintf(errbuf, errbuf_len, "space must be 1 to 127 bytes long");
		return KAHU_BACKEND_ECONFIG;
	}
	struct kahu_backend_handle *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(errbuf, errbuf_len, "out of memory");
		return KAHU_BACKEND_EPERMANENT;
	}
	h->host = host;
	snprintf(h->space, sizeof h->space, "%s", space);
	*out = h;
	return KAHU_BACKEND_OK;
}

static void mem_close(struct kahu_backend_handle *h)
{
	free(h);
}

static const char *mem_errmsg(struct kahu_backend_handle *h)
{
	return h->err;
}

static int mem_put_begin(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			 uint64_t size_hint, struct kahu_backend_put **out)
{
	(void)size_hint;
	*out = NULL;
	if (flags & ~KAHU_PUT_EXCLUSIVE)
		return mem_err(h, KAHU_BACKEND_EUNSUPPORTED, "unsupported put flags for", key);
	struct kahu_backend_put *p = calloc(1, sizeof *p);
	if (!p || !(p->key = mem_strdup(key))) {
		free(p);
		return mem_err(h, KAHU_BACKEND_EPERMANENT, "out of memory writing", key);
	}
	p->h = h;
	p->flags = flags;
	*out = p;
	return KAHU_BACKEND_OK;
}

static int mem_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	if (len > p->cap - p->len) {
		size_t cap = p->cap ? p->cap : 4096;
		while (cap - p->len < len)
			cap *= 2;
		unsigned char *d = realloc(p->data, cap);
		if (!d)
			return mem_err(p->h, KAHU_BACKEND_ENOSPACE, "out of memory writing", p->key);
		p->data = d;
		p->cap = cap;
	}
	memcpy(p->data + p->len, buf, len);
	p->len += len;
	return KAHU_BACKEND_OK;
}

static void mem_put_abort(struct kahu_backend_put *p)
{
	if (!p)
		return;
	free(p->data);
	free(p->key);
	free(p);
}

static int mem_put_commit(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	int rc = KAHU_BACKEND_OK;
	pthread_mutex_lock(&mem_mu);
	struct mem_obj *o = mem_find(h->space, p->key);
	if (o && (p->flags & KAHU_PUT_EXCLUSIVE)) {
		rc = mem_err(h, KAHU_BACKEND_EEXISTS, "already exists:", p->key);
	} else if (!o) {
		struct mem_obj *n = realloc(objs, (nobjs + 1) * sizeof *objs);
		char *space = mem_strdup(h->space);
		if (!n || !space) {
			if (n)
				objs = n;
			free(space);
			rc = mem_err(h, KAHU_BACKEND_ENOSPACE, "out of memory writing", p->key);
		} else {
			objs = n;
			o = &objs[nobjs++];
			o->space = space;
			o->key = p->key;  /* taken over */
			p->key = NULL;
			o->data = NULL;
		}
	}
	if (o && rc == KAHU_BACKEND_OK) {
		free(o->data);
		o->data = p->data;  /* taken over */
		o->len = p->len;
		o->mtime = (int64_t)time(NULL);
		p->data = NULL;
	}
	pthread_mutex_unlock(&mem_mu);
	mem_put_abort(p);  /* frees what was not taken over */
	return rc;
}

static int mem_get(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		   uint64_t length, kahu_backend_write_fn sink, void *ud)
{
	/* A copy, so that the sink runs without the lock. */
	pthread_mutex_lock(&mem_mu);
	struct mem_obj *o = mem_find(h->space, key);
	size_t from = o && offset < o->len ? (size_t)offset : o ? o->len : 0;
	size_t n = o ? o->len - from : 0;
	if (length != KAHU_BACKEND_TO_END && length < n)
		n = (size_t)length;
	unsigned char *copy = o && n ? malloc(n) : NULL;
	if (copy)
		memcpy(copy, o->data + from, n);
	pthread_mutex_unlock(&mem_mu);
	if (!o)
		return mem_err(h, KAHU_BACKEND_ENOTFOUND, "not found:", key);
	if (n && !copy)
		return mem_err(h, KAHU_BACKEND_EPERMANENT, "out of memory reading", key);
	int rc = KAHU_BACKEND_OK;
	if (n && sink(ud, copy, n) != 0)
		rc = mem_err(h, KAHU_BACKEND_ECALLBACK, "reading stopped by kahu:", key);
	free(copy);
	return rc;
}

static int mem_stat(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *st)
{
	pthread_mutex_lock(&mem_mu);
	struct mem_obj *o = mem_find(h->space, key);
	if (o) {
		memset(st, 0, sizeof *st);
		st->size = o->len;
		st->mtime = o->mtime;
	}
	pthread_mutex_unlock(&mem_mu);
	return o ? KAHU_BACKEND_OK : mem_err(h, KAHU_BACKEND_ENOTFOUND, "not found:", key);
}

static int mem_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mem_obj *)a)->key, ((const struct mem_obj *)b)->key);
}

static int mem_list(struct kahu_backend_handle *h, const char *prefix, kahu_backend_list_fn cb,
		    void *ud)
{
	/* Snapshot the matching keys, sort them byte-wise, call back without the lock. */
	size_t plen = strlen(prefix), n = 0;
	pthread_mutex_lock(&mem_mu);
	struct mem_obj *snap = calloc(nobjs ? nobjs : 1, sizeof *snap);
	for (size_t i = 0; snap && i < nobjs; i++) {
		if (strcmp(objs[i].space, h->space) != 0 || strncmp(objs[i].key, prefix, plen) != 0)
			continue;
		snap[n] = objs[i];
		snap[n].key = mem_strdup(objs[i].key);
		snap[n].data = NULL;
		if (snap[n].key)
			n++;
	}
	pthread_mutex_unlock(&mem_mu);
	if (!snap)
		return mem_err(h, KAHU_BACKEND_EPERMANENT, "out of memory listing", prefix);
	qsort(snap, n, sizeof *snap, mem_key_cmp);
	int rc = KAHU_BACKEND_OK;
	for (size_t i = 0; i < n; i++) {
		struct kahu_backend_stat st;
		memset(&st, 0, sizeof st);
		st.size = snap[i].len;
		st.mtime = snap[i].mtime;
		if (rc == KAHU_BACKEND_OK && cb(ud, snap[i].key, &st) != 0)
			rc = mem_err(h, KAHU_BACKEND_ECALLBACK, "listing stopped by kahu at", snap[i].key);
		free(snap[i].key);
	}
	free(snap);
	return rc;
}

static int mem_remove(struct kahu_backend_handle *h, const char *key)
{
	pthread_mutex_lock(&mem_mu);
	struct mem_obj *o = mem_find(h->space, key);
	if (o) {
		free(o->space);
		free(o->key);
		free(o->data);
		*o = objs[--nobjs];
		if (!nobjs) {  /* nothing left: nothing held */
			free(objs);
			objs = NULL;
		}
	}
	pthread_mutex_unlock(&mem_mu);
	return o ? KAHU_BACKEND_OK : mem_err(h, KAHU_BACKEND_ENOTFOUND, "not found:", key);
}

static const struct kahu_backend mem_backend = {
	KAHU_BACKEND_HEADER,
	.name = "memory",
	.version = "1.0.0",
	.description = "objects in the memory of the kahu process (an example provider)",
	.capabilities = KAHU_BACKEND_CAP_METADATA | KAHU_BACKEND_CAP_RANGE_READ |
			KAHU_BACKEND_CAP_ATOMIC_PUT | KAHU_BACKEND_CAP_EXCLUSIVE_PUT,
	.options = mem_options,
	.open = mem_open,
	.close = mem_close,
	.errmsg = mem_errmsg,
	.put_begin = mem_put_begin,
	.put_write = mem_put_write,
	.put_commit = mem_put_commit,
	.put_abort = mem_put_abort,
	.get = mem_get,
	.stat = mem_stat,
	.list = mem_list,
	.remove = mem_remove,
};

/* The one exported symbol.  A plugin with several providers would export
 * kahu_plugin_init instead and call reg->add() once per provider. */
int kahu_backend_init(const struct kahu_host *host, const struct kahu_backend **out)
{
	/* This provider uses nothing newer than ABI 1.0 of the host. */
	if (host->abi_major != KAHU_BACKEND_ABI_MAJOR)
		return KAHU_BACKEND_EUNSUPPORTED;
	*out = &mem_backend;
	return KAHU_BACKEND_OK;
}
