/* A small plugin for `kahu location probe`'s tests: the provider "t-probe" keeps one
 * object in memory; its "fail" option (write, read, list or delete) makes that
 * operation fail, so each step of a probe can be made to fail.  Its "bucket" option
 * is required (to test required keys) and it has a "prefix" option (--prefix).
 * Written against <kahu/backend.h> alone. */
#include <kahu/backend.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kahu_backend_handle {
	char err[256];
};

static int tp_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		   size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		   size_t errbuf_len)
{
	(void)host; (void)config; (void)nconfig; (void)errbuf; (void)errbuf_len;
	struct kahu_backend_handle *h = calloc(1, sizeof *h);
	if (!h)
		return KAHU_BACKEND_EPERMANENT;
	snprintf(h->err, sizeof h->err, "no error");
	*out = h;
	return KAHU_BACKEND_OK;
}

static void tp_close(struct kahu_backend_handle *h)
{
	free(h);
}

static const char *tp_errmsg(struct kahu_backend_handle *h)
{
	return h->err;
}

struct kahu_backend_put {
	struct kahu_backend_handle *h;
	char key[256];
	char data[4096];
	size_t len;
};

static struct {
	char fail[16];
	char key[256];
	char data[4096];
	size_t len;
	int have;
} mem;

static int pr_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		   size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		   size_t errbuf_len)
{
	int rc = tp_open(host, config, nconfig, out, errbuf, errbuf_len);
	for (size_t i = 0; rc == 0 && i < nconfig; i++)
		if (strcmp(config[i].key, "fail") == 0)
			snprintf(mem.fail, sizeof mem.fail, "%s", config[i].value);
	return rc;
}

static int pr_failing(struct kahu_backend_handle *h, const char *op, const char *key)
{
	if (strcmp(mem.fail, op) != 0)
		return 0;
	snprintf(h->err, sizeof h->err, "%s %s: refused by the test provider", op, key);
	return 1;
}

static int pr_put_begin(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			uint64_t size_hint, struct kahu_backend_put **out)
{
	(void)flags; (void)size_hint;
	*out = NULL;
	if (pr_failing(h, "write", key))
		return KAHU_BACKEND_EPERMANENT;
	struct kahu_backend_put *p = calloc(1, sizeof *p);
	if (!p)
		return KAHU_BACKEND_EPERMANENT;
	p->h = h;
	snprintf(p->key, sizeof p->key, "%s", key);
	*out = p;
	return KAHU_BACKEND_OK;
}

static int pr_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	if (len > sizeof p->data - p->len)
		return KAHU_BACKEND_ENOSPACE;
	memcpy(p->data + p->len, buf, len);
	p->len += len;
	return KAHU_BACKEND_OK;
}

static int pr_put_commit(struct kahu_backend_put *p)
{
	snprintf(mem.key, sizeof mem.key, "%s", p->key);
	memcpy(mem.data, p->data, p->len);
	mem.len = p->len;
	mem.have = 1;
	free(p);
	return KAHU_BACKEND_OK;
}

static void pr_put_abort(struct kahu_backend_put *p)
{
	free(p);
}

static int pr_get(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		  uint64_t length, kahu_backend_write_fn sink, void *ud)
{
	(void)offset; (void)length;
	if (pr_failing(h, "read", key))
		return KAHU_BACKEND_EPERMANENT;
	if (!mem.have || strcmp(key, mem.key) != 0) {
		snprintf(h->err, sizeof h->err, "%s: no such object", key);
		return KAHU_BACKEND_ENOTFOUND;
	}
	return sink(ud, mem.data, mem.len) ? KAHU_BACKEND_ECALLBACK : KAHU_BACKEND_OK;
}

static int pr_stat(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *st)
{
	if (!mem.have || strcmp(key, mem.key) != 0) {
		snprintf(h->err, sizeof h->err, "%s: no such object", key);
		return KAHU_BACKEND_ENOTFOUND;
	}
	memset(st, 0, sizeof *st);
	st->size = mem.len;
	return KAHU_BACKEND_OK;
}

static int pr_list(struct kahu_backend_handle *h, const char *prefix, kahu_backend_list_fn cb,
		   void *ud)
{
	if (pr_failing(h, "list", prefix))
		return KAHU_BACKEND_EPERMANENT;
	struct kahu_backend_stat st = { .size = mem.len };
	if (mem.have && strncmp(mem.key, prefix, strlen(prefix)) == 0 && cb(ud, mem.key, &st))
		return KAHU_BACKEND_ECALLBACK;
	return KAHU_BACKEND_OK;
}

static int pr_remove(struct kahu_backend_handle *h, const char *key)
{
	if (pr_failing(h, "delete", key))
		return KAHU_BACKEND_EPERMANENT;
	if (!mem.have || strcmp(key, mem.key) != 0) {
		snprintf(h->err, sizeof h->err, "%s: no such object", key);
		return KAHU_BACKEND_ENOTFOUND;
	}
	mem.have = 0;
	return KAHU_BACKEND_OK;
}

static const struct kahu_backend_option pr_options[] = {
	{ "fail", "the operation that fails: write, read, list or delete", 0 },
	{ "bucket", "a name (required, to test required keys)", KAHU_BACKEND_OPT_REQUIRED },
	{ "prefix", "where the location starts", 0 },
	{ NULL, NULL, 0 },
};

static const struct kahu_backend tp_backend = {
	KAHU_BACKEND_HEADER, .name = "t-probe", .version = "3", .description = "probe test",
	.capabilities = KAHU_BACKEND_CAP_METADATA | KAHU_BACKEND_CAP_ATOMIC_PUT,
	.options = pr_options, .open = pr_open, .close = tp_close, .errmsg = tp_errmsg,
	.put_begin = pr_put_begin, .put_write = pr_put_write, .put_commit = pr_put_commit,
	.put_abort = pr_put_abort, .get = pr_get, .stat = pr_stat, .list = pr_list,
	.remove = pr_remove,
};

int kahu_backend_init(const struct kahu_host *host, const struct kahu_backend **out)
{
	(void)host;
	*out = &tp_backend;
	return KAHU_BACKEND_OK;
}
