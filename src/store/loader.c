#include "store/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

#ifndef KAHU_BACKEND_DIR
#define KAHU_BACKEND_DIR "/usr/local/lib/kahu/backends"
#endif

#define LOADER_ENV_PATH "KAHU_PLUGIN_PATH"

struct loaded_file {
	char *path;   /* real path */
	void *dl;     /* NULL: tried and refused */
	int err;      /* the refusal, repeated on a second try */
	char *why;
};

struct storage_entry {
	const struct kahu_backend *be;
	char *origin;
};

static pthread_mutex_t loader_mu = PTHREAD_MUTEX_INITIALIZER;
static struct loaded_file *files;
static size_t nfiles;
static struct storage_entry *storage;
static size_t nstorage_all;
static struct strv registered = STRV_INIT;

/* ---- the search path ---- */

/* Is the running executable the kahu of the build tree this was compiled in? */
static int running_from_build_tree(void)
{
#ifdef KAHU_BUILD_DIR
	char exe[PATH_MAX], build[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0 || !realpath(KAHU_BUILD_DIR, build))
		return 0;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	return strcmp(exe, build) == 0;
#else
	return 0;
#endif
}

static void search_dirs(struct strv *dirs)
{
	const char *env = getenv(LOADER_ENV_PATH);
	if (env)
		strv_split(dirs, env, ':');
	strv_push(dirs, KAHU_BACKEND_DIR);
#ifdef KAHU_BUILD_MODULE_DIRS
	if (running_from_build_tree())
		strv_split(dirs, KAHU_BUILD_MODULE_DIRS, ':');
#endif
}

/* ---- checks before dlopen ---- */

static int owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* The file (already open as fd, at real path `path`) and its directory. */
static int check_safe(const char *path, int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return kahu_error_set(KAHU_EIO, "plugin %s: cannot stat: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return kahu_error_set(KAHU_EFAIL, "plugin %s is not a regular file", path);
	if (!owner_ok(sb.st_uid))
		return kahu_error_set(KAHU_EPERM, "plugin %s is owned by uid %u, neither root nor the "
				      "user running kahu: not loaded", path, (unsigned)sb.st_uid);
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return kahu_error_set(KAHU_EPERM, "plugin %s is %s-writable (mode %04o): not loaded",
				      path, sb.st_mode & S_IWOTH ? "world" : "group",
				      (unsigned)(sb.st_mode & 07777));
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	int err = KAHU_OK;
	if (stat(dir, &sb) < 0)
		err = kahu_error_set(KAHU_EIO, "plugin %s: cannot stat its directory: %s", path,
				     strerror(errno));
	else if (!owner_ok(sb.st_uid))
		err = kahu_error_set(KAHU_EPERM, "plugin %s: its directory %s is owned by uid %u, "
				     "neither root nor the user running kahu: not loaded", path, dir,
				     (unsigned)sb.st_uid);
	else if (sb.st_mode & (S_IWGRP | S_IWOTH))
		err = kahu_error_set(KAHU_EPERM, "plugin %s: its directory %s is %s-writable (mode "
				     "%04o): not loaded", path, dir,
				     sb.st_mode & S_IWOTH ? "world" : "group",
				     (unsigned)(sb.st_mode & 07777));
	free(dir);
	return err;
}

/* ---- registration ---- */

struct reg_ctx {
	const char *path;
	const struct kahu_backend **tables;
	size_t n;
	int err;       /* first refusal */
};

static int reg_storage(struct reg_ctx *c, const struct kahu_backend *be)
{
	int err = store_check_abi(be, c->path);
	if (err < 0) {
		if (!c->err)
			c->err = err;
		return err;
	}
	c->tables = xrealloc(c->tables, (c->n + 1) * sizeof *c->tables);
	c->tables[c->n++] = be;
	return KAHU_OK;
}

static int reg_add(struct kahu_plugin_registry *reg, unsigned int kind, const void *table)
{
	struct reg_ctx *c = reg->host_ud;
	if (kind == KAHU_PLUGIN_KIND_STORAGE)
		return reg_storage(c, table) < 0 ? KAHU_BACKEND_EUNSUPPORTED : KAHU_BACKEND_OK;
	int err = kahu_error_set(KAHU_EFAIL, "plugin %s registers a plugin of kind %u, which this "
				 "kahu (provider ABI %d.%d) does not know", c->path, kind,
				 KAHU_BACKEND_ABI_MAJOR, KAHU_BACKEND_ABI_MINOR);
	if (!c->err)
		c->err = err;
	return KAHU_BACKEND_EUNSUPPORTED;
}

static struct storage_entry *find_entry(const char *name)
{
	for (size_t i = 0; i < nstorage_all; i++)
		if (strcmp(storage[i].be->name, name) == 0)
			return &storage[i];
	return NULL;
}

/* Run the entry point of `dl` and check what it offers.  Locked. */
static int register_file(const char *path, void *dl, unsigned int *nstorage)
{
	struct reg_ctx c = { .path = path };
	kahu_plugin_init_fn pinit;
	kahu_backend_init_fn binit;
	/* dlsym returns an object pointer; the cast through the union-free memcpy keeps
	 * -pedantic quiet about function/object pointer conversion. */
	void *sym = dlsym(dl, KAHU_PLUGIN_INIT_SYMBOL);
	if (sym) {
		memcpy(&pinit, &sym, sizeof pinit);
		struct kahu_plugin_registry reg = {
			.abi_major = KAHU_BACKEND_ABI_MAJOR,
			.abi_minor = KAHU_BACKEND_ABI_MINOR,
			.struct_size = sizeof reg,
			.add = reg_add,
			.host_ud = &c,
		};
		int rc = pinit(store_host(), &reg);
		if (c.err) {
			free(c.tables);
			return c.err;
		}
		if (rc < 0) {
			free(c.tables);
			return kahu_error_set(KAHU_EFAIL, "plugin %s: its %s refused to work with this kahu "
					      "(code %d)", path, KAHU_PLUGIN_INIT_SYMBOL, rc);
		}
	} else if ((sym = dlsym(dl, KAHU_BACKEND_INIT_SYMBOL)) != NULL) {
		memcpy(&binit, &sym, sizeof binit);
		const struct kahu_backend *be = NULL;
		int rc = binit(store_host(), &be);
		if (rc < 0)
			return kahu_error_set(KAHU_EFAIL, "plugin %s: its %s refused to work with this kahu "
					      "(code %d)", path, KAHU_BACKEND_INIT_SYMBOL, rc);
		if (reg_storage(&c, be) < 0) {
			free(c.tables);
			return c.err;
		}
	} else {
		return kahu_error_set(KAHU_EFAIL, "plugin %s exports no entry symbol (%s or %s): not "
				      "a kahu plugin", path, KAHU_PLUGIN_INIT_SYMBOL,
				      KAHU_BACKEND_INIT_SYMBOL);
	}
	unsigned int added = 0;
	for (size_t i = 0; i < c.n; i++) {
		struct storage_entry *e = find_entry(c.tables[i]->name);
		if (e) {
			log_debug("storage provider %s of %s is hidden by the one of %s", c.tables[i]->name,
				  path, e->origin);
			continue;
		}
		storage = xrealloc(storage, (nstorage_all + 1) * sizeof *storage);
		storage[nstorage_all].be = c.tables[i];
		storage[nstorage_all].origin = xstrdup(path);
		nstorage_all++;
		added++;
		log_debug("storage provider %s %s (ABI %u.%u) loaded from %s", c.tables[i]->name,
			  c.tables[i]->version ? c.tables[i]->version : "", c.tables[i]->abi_major,
			  c.tables[i]->abi_minor, path);
	}
	free(c.tables);
	if (nstorage)
		*nstorage = added;
	return KAHU_OK;
}

static struct loaded_file *find_file(const char *real)
{
	for (size_t i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, real) == 0)
			return &files[i];
	return NULL;
}

static int open_checked(const char *real, void **out, unsigned int *nstorage);

static int load_locked(const char *path, unsigned int *nstorage)
{
	char real[PATH_MAX];
	if (nstorage)
		*nstorage = 0;
	if (!realpath(path, real))
		return kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO,
				      "plugin %s: %s", path, strerror(errno));
	struct loaded_file *lf = find_file(real);
	if (lf)
		return lf->dl ? KAHU_OK : kahu_error_set(lf->err, "%s", lf->why);
	void *dl = NULL;
	int err = open_checked(real, &dl, nstorage);
	files = xrealloc(files, (nfiles + 1) * sizeof *files);
	lf = &files[nfiles++];
	lf->path = xstrdup(real);
	lf->dl = dl;
	lf->err = err;
	lf->why = err < 0 ? xstrdup(kahu_error_last()) : NULL;
	return err;
}

/* Open, check, dlopen and register `real`.  Locked. */
static int open_checked(const char *real, void **out, unsigned int *nstorage)
{
	/* The file may not be swapped between the check and dlopen: only root or the
	 * user can write its directory, and they could as well replace kahu.  (dlopen by
	 * /proc/self/fd/N would not help: the loader caches objects by that name.) */
	int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO, "plugin %s: %s",
				      real, strerror(errno));
	int err = check_safe(real, fd);
	close(fd);
	if (err < 0)
		return err;
	void *dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *why = dlerror();
		return kahu_error_set(KAHU_EFAIL, "plugin %s cannot be loaded: %s", real,
				      why ? why : "unknown reason");
	}
	if ((err = register_file(real, dl, nstorage)) < 0) {
		dlclose(dl);
		return err;
	}
	*out = dl;
	return KAHU_OK;
}

int loader_load_file(const char *path, unsigned int *nstorage)
{
	pthread_mutex_lock(&loader_mu);
	int err = load_locked(path, nstorage);
	pthread_mutex_unlock(&loader_mu);
	return err;
}

/* ---- lookup ---- */

static int name_ok(const char *name)
{
	if (!*name || strlen(name) > 64)
		return 0;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return 0;
	return 1;
}

static int is_plugin_name(const char *f)
{
	size_t n = strlen(f);
	return n > 8 && strncmp(f, "kahu-", 5) == 0 && strcmp(f + n - 3, ".so") == 0;
}

/* Load the other kahu-*.so files of `dir` until `name` is registered.  Locked. */
static void scan_dir(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct strv names = STRV_INIT;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (is_plugin_name(de->d_name))
			strv_push(&names, de->d_name);
	closedir(d);
	strv_sort(&names);
	for (size_t i = 0; i < names.n && !find_entry(name); i++) {
		char *p = xasprintf("%s/%s", dir, names.v[i]);
		char real[PATH_MAX];
		if (realpath(p, real) && !find_file(real) && load_locked(p, NULL) < 0)
			log_warn("%s", kahu_error_last());
		free(p);
	}
	strv_free(&names);
}

int loader_find_storage(const char *name, const struct kahu_backend **be, const char **origin)
{
	*be = NULL;
	*origin = NULL;
	if (!name_ok(name))
		return kahu_error_set(KAHU_ECONFIG, "invalid storage provider name \"%s\" (expected "
				      "lowercase letters, digits and '-')", name);
	struct strv dirs = STRV_INIT;
	search_dirs(&dirs);
	int err = KAHU_OK;
	pthread_mutex_lock(&loader_mu);
	struct storage_entry *e = find_entry(name);
	/* kahu-NAME.so, directory by directory */
	for (size_t i = 0; !e && i < dirs.n; i++) {
		char *p = xasprintf("%s/kahu-%s.so", dirs.v[i], name);
		if (access(p, F_OK) == 0) {
			err = load_locked(p, NULL);
			e = find_entry(name);
		}
		free(p);
		if (err < 0)
			break;
	}
	/* then the files registered in the configuration */
	for (size_t i = 0; err == KAHU_OK && !e && i < registered.n; i++) {
		char real[PATH_MAX];
		if (realpath(registered.v[i], real) && find_file(real))
			continue;
		if (load_locked(registered.v[i], NULL) < 0)
			log_warn("%s", kahu_error_last());
		e = find_entry(name);
	}
	/* then whatever else is there */
	for (size_t i = 0; err == KAHU_OK && !e && i < dirs.n; i++) {
		scan_dir(dirs.v[i], name);
		e = find_entry(name);
	}
	if (e) {
		*be = e->be;
		*origin = e->origin;
		err = KAHU_OK;
	} else if (err == KAHU_OK) {
		char *where = strv_join(&dirs, ":");
		err = kahu_error_set(KAHU_ENOTFOUND, "no storage provider named \"%s\" (looked for "
				     "kahu-%s.so and other plugins in %s)", name, name, where);
		free(where);
	}
	pthread_mutex_unlock(&loader_mu);
	strv_free(&dirs);
	return err;
}

void loader_each_storage(void (*fn)(void *ud, const struct kahu_backend *be, const char *origin),
			 void *ud)
{
	pthread_mutex_lock(&loader_mu);
	for (size_t i = 0; i < nstorage_all; i++)
		fn(ud, storage[i].be, storage[i].origin);
	pthread_mutex_unlock(&loader_mu);
}

void loader_set_registered(char *const *paths, size_t n)
{
	pthread_mutex_lock(&loader_mu);
	strv_free(&registered);
	for (size_t i = 0; i < n; i++)
		strv_push(&registered, paths[i]);
	pthread_mutex_unlock(&loader_mu);
}

/* Which of the search directories `i` of search_dirs is: the first ones come from
 * KAHU_PLUGIN_PATH, then the module directory, then the build tree's. */
static const char *dir_source(size_t i, size_t nenv)
{
	if (i < nenv)
		return "KAHU_PLUGIN_PATH";
	if (i == nenv)
		return "module directory";
	return "build tree";
}

static void report_file(const char *path, const char *source,
			void (*fn)(void *ud, const struct loader_file *f), void *ud)
{
	char real[PATH_MAX];
	struct loader_file f = { .path = path, .source = source };
	pthread_mutex_lock(&loader_mu);
	f.err = load_locked(path, NULL);
	char *why = f.err < 0 ? xstrdup(kahu_error_last()) : NULL;
	pthread_mutex_unlock(&loader_mu);
	f.why = why;
	f.real = realpath(path, real) ? real : NULL;
	fn(ud, &f);
	free(why);
}

void loader_load_all(void (*fn)(void *ud, const struct loader_file *f), void *ud)
{
	struct strv dirs = STRV_INIT, env = STRV_INIT;
	const char *e = getenv(LOADER_ENV_PATH);
	if (e)
		strv_split(&env, e, ':');
	search_dirs(&dirs);
	for (size_t i = 0; i < dirs.n; i++) {
		DIR *d = opendir(dirs.v[i]);
		if (!d)
			continue;
		struct strv names = STRV_INIT;
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (is_plugin_name(de->d_name))
				strv_push(&names, de->d_name);
		closedir(d);
		strv_sort(&names);
		for (size_t j = 0; j < names.n; j++) {
			char *p = xasprintf("%s/%s", dirs.v[i], names.v[j]);
			report_file(p, dir_source(i, env.n), fn, ud);
			free(p);
		}
		strv_free(&names);
	}
	struct strv regs = STRV_INIT;
	pthread_mutex_lock(&loader_mu);
	for (size_t i = 0; i < registered.n; i++)
		strv_push(&regs, registered.v[i]);
	pthread_mutex_unlock(&loader_mu);
	for (size_t i = 0; i < regs.n; i++)
		report_file(regs.v[i], "registered", fn, ud);
	strv_free(&regs);
	strv_free(&env);
	strv_free(&dirs);
}

void loader_reset(void)
{
	pthread_mutex_lock(&loader_mu);
	strv_free(&registered);
	for (size_t i = 0; i < nstorage_all; i++)
		free(storage[i].origin);
	free(storage);
	storage = NULL;
	nstorage_all = 0;
	for (size_t i = 0; i < nfiles; i++) {
		if (files[i].dl)
			dlclose(files[i].dl);
		free(files[i].path);
		free(files[i].why);
	}
	free(files);
	files = NULL;
	nfiles = 0;
	pthread_mutex_unlock(&loader_mu);
}
