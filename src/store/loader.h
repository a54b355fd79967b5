/* kahu — the plugin loader: shared objects written against include/kahu/backend.h,
 * found, checked and loaded with dlopen (docs/BACKEND-ABI.md).
 *
 * Where (in this order; missing directories are skipped):
 *   1. each directory of KAHU_PLUGIN_PATH (':'-separated);
 *   2. the installed module directory, $(pkglibdir)/backends (KAHU_BACKEND_DIR);
 *   3. only when the running kahu is the one in its build tree: that tree's module
 *      directories (backends/<name>/.libs), so a build runs without installing.
 * The provider "NAME" is looked for as kahu-NAME.so in each directory first; when no
 * such file exists, the other kahu-*.so files are loaded in name order and asked what
 * they register.  The first provider registered under a name wins.
 *
 * A file is refused, with a message naming it, when it or its directory is group- or
 * world-writable or owned by someone other than root or the user (KAHU_EPERM), when it
 * is not a shared object dlopen accepts, when it exports no entry symbol, when its
 * entry refuses, or when a table it registers fails the ABI checks (major, the struct
 * size its minor requires, the required operations; KAHU_EFAIL).  A refused file
 * registers nothing.
 *
 * Loaded objects stay loaded until the process ends: stores point into them.  Safe to
 * call from several threads. */
#ifndef KAHU_STORE_LOADER_H
#define KAHU_STORE_LOADER_H

#include <kahu/backend.h>

/* Load one file (a path, not a name) and register what it offers.  *nstorage (may be
 * NULL) counts the storage providers it registered.  Loading a file twice is a no-op. */
int loader_load_file(const char *path, unsigned int *nstorage);

/* The storage provider called `name`, loading what the search needs.  `*origin` names
 * the file it came from (valid until loader_reset).  KAHU_ENOTFOUND when no file
 * provides it; KAHU_ECONFIG for a name outside [a-z0-9-]; a refusal of kahu-NAME.so
 * is returned as it is (refusals of other files are logged as warnings). */
int loader_find_storage(const char *name, const struct kahu_backend **be, const char **origin);

/* Call `fn` for each storage provider registered so far, in registration order. */
void loader_each_storage(void (*fn)(void *ud, const struct kahu_backend *be, const char *origin),
			 void *ud);

/* Plugin files registered in the configuration (`kahu provider register`): when
 * kahu-NAME.so is found in no directory, these files are loaded, in order, before the
 * other kahu-*.so files of the directories.  Copied; replaces an earlier list. */
void loader_set_registered(char *const *paths, size_t n);

/* One plugin file found by loader_load_all. */
struct loader_file {
	const char *path;     /* as found (directory + name, or as registered) */
	const char *source;   /* "KAHU_PLUGIN_PATH", "module directory", "build tree",
			       * "registered" */
	int err;              /* 0: loaded; else the refusal */
	const char *why;      /* the refusal's message (naming the file), else NULL */
	const char *real;     /* its real path (what providers' origins name), or NULL */
};

/* Load every plugin file there is (each kahu-*.so of each directory, in the search
 * order, then the registered files) and call `fn` once per file, loaded or refused.
 * Refusals are reported, not returned and not logged.  Afterwards
 * loader_each_storage sees every provider they offer. */
void loader_load_all(void (*fn)(void *ud, const struct loader_file *f), void *ud);

/* Forget every registration and unload every file (unit tests only: no store may be
 * open on a provider of them). */
void loader_reset(void);

#endif
