/* Small plugins for the loader's tests, one per variant (store.mk builds each with
 * another -D):
 *   TP_MULTI     kahu_plugin_init registering the providers "t-one" and "t-two"
 *   TP_BADMAJOR  kahu_backend_init with ABI major 2
 *   TP_NOSYM     no entry symbol at all
 *   TP_SHORT     declares minor 1 with the struct size of minor 0
 *   TP_KIND      registers a table of a kind kahu does not know
 *   TP_FLAKY     the provider "flaky": every operation fails transiently; it creates
 *                the file named by its "mark" option the first time it is called
 * Written against <kahu/backend.h> alone, like any third party's plugin. */
#include <kahu/backend.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

struct kahu_backend_handle {
	char mark[512];
	char err[256];
};

static int tp_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		   size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		   size_t errbuf_len)
{
	(void)host;
	(void)errbuf;
	(void)errbuf_len;
	struct kahu_backend_handle *h = calloc(1, sizeof *h);
	if (!h)
		return KAHU_BACKEND_EPERMANENT;
	for (size_t i = 0; i < nconfig; i++)
		if (strcmp(config[i].key, "mark") == 0)
			snprintf(h->mark, sizeof h->mark, "%s", config[i].value);
	snprintf(h->err, sizeof h->err, "the test plugin does nothing");
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

#ifdef TP_FLAKY
static int tp_fail(struct kahu_backend_handle *h)
{
	if (h->mark[0]) {
		int fd = open(h->mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	snprintf(h->err, sizeof h->err, "the server is busy (a test provider that always is)");
	return KAHU_BACKEND_ETRANSIENT;
}
#else
static int tp_fail(struct kahu_backend_handle *h)
{
	(void)h;
	return KAHU_BACKEND_ENOTFOUND;
}
#endif

static int tp_put_begin(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			uint64_t size_hint, struct kahu_backend_put **out)
{
	(void)key; (void)flags; (void)size_hint;
	*out = NULL;
	return tp_fail(h);
}

static int tp_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	(void)p; (void)buf; (void)len;
	return KAHU_BACKEND_EPERMANENT;
}

static int tp_put_commit(struct kahu_backend_put *p)
{
	(void)p;
	return KAHU_BACKEND_EPERMANENT;
}

static void tp_put_abort(struct kahu_backend_put *p)
{
	(void)p;
}

static int tp_get(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		  uint64_t length, kahu_backend_write_fn sink, void *ud)
{
	(void)key; (void)offset; (void)length; (void)sink; (void)ud;
	return tp_fail(h);
}

static int tp_stat(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *st)
{
	(void)key; (void)st;
	return tp_fail(h);
}

static int tp_list(struct kahu_backend_handle *h, const char *prefix, kahu_backend_list_fn cb,
		   void *ud)
{
	(void)prefix; (void)cb; (void)ud;
#ifdef TP_FLAKY
	return tp_fail(h);
#else
	(void)h;
	return KAHU_BACKEND_OK;
#endif
}

static int tp_remove(struct kahu_backend_handle *h, const char *key)
{
	(void)key;
	return tp_fail(h);
}

static const struct kahu_backend_option tp_options[] = {
	{ "mark", "a file created when the provider is first used", 0 },
	{ "path", "ignored", 0 },
	{ NULL, NULL, 0 },
};

#define TP_OPS                                                                     \
	.options = tp_options, .open = tp_open, .close = tp_close, .errmsg = tp_errmsg, \
	.put_begin = tp_put_begin, .put_write = tp_put_write,                       \
	.put_commit = tp_put_commit, .put_abort = tp_put_abort, .get = tp_get,      \
	.stat = tp_stat, .list = tp_list, .remove = tp_remove

#if defined(TP_MULTI) || defined(TP_KIND)
static const struct kahu_backend tp_one = {
	KAHU_BACKEND_HEADER, .name = "t-one", .version = "1", .description = "first", TP_OPS,
};
static const struct kahu_backend tp_two = {
	KAHU_BACKEND_HEADER, .name = "t-two", .version = "2", .description = "second", TP_OPS,
};

int kahu_plugin_init(const struct kahu_host *host, struct kahu_plugin_registry *reg)
{
	(void)host;
	if (reg->add(reg, KAHU_PLUGIN_KIND_STORAGE, &tp_one) < 0)
		return KAHU_BACKEND_EUNSUPPORTED;
#ifdef TP_KIND
	static const unsigned int mover[4] = { 1, 0, sizeof mover, 0 };
	if (reg->add(reg, 7, mover) < 0)
		return KAHU_BACKEND_EUNSUPPORTED;
#endif
	return reg->add(reg, KAHU_PLUGIN_KIND_STORAGE, &tp_two);
}
#elif defined(TP_NOSYM)
static const struct kahu_backend tp_backend = {
	KAHU_BACKEND_HEADER, .name = "t-nosym", .version = "1", .description = "test", TP_OPS,
};

/* Exported, but not an entry point kahu knows. */
KAHU_BACKEND_EXPORT const struct kahu_backend *kahu_backend_something_else(void);
const struct kahu_backend *kahu_backend_something_else(void)
{
	return &tp_backend;
}
#else
static const struct kahu_backend tp_backend = {
#if defined(TP_BADMAJOR)
	2, 0, sizeof(struct kahu_backend), .name = "t-bad",
#elif defined(TP_SHORT)
	KAHU_BACKEND_ABI_MAJOR, 1, KAHU_BACKEND_MIN_SIZE, .name = "t-short",
#else
	KAHU_BACKEND_HEADER, .name = "flaky",
#endif
	.version = "1", .description = "test", TP_OPS,
};

int kahu_backend_init(const struct kahu_host *host, const struct kahu_backend **out)
{
	(void)host;
	*out = &tp_backend;
	return KAHU_BACKEND_OK;
}
#endif
