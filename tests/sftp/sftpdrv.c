/* sftpdrv — drive one storage provider module directly, for the sftp provider's tests.
 *
 *   sftpdrv MODULE.so KEY=VALUE... -- OP [ARGS]
 *
 *   put KEY [excl]          the object's bytes from stdin
 *   get KEY [OFFSET LENGTH] the bytes on stdout (LENGTH 0: to the end)
 *   stat KEY                "SIZE MTIME"
 *   list PREFIX             one "KEY SIZE" line per object
 *   rm KEY
 *   cleanup PREFIX          "removed N"
 *   probe
 *
 * Exit status: 0, or the provider's code negated (1 ENOTFOUND, 2 EAUTH, 3 ETRANSIENT,
 * 4 EPERMANENT, 5 ENOSPACE, 6 EEXISTS, 7 ECONFIG, ...), with errmsg() on stderr; 100
 * for a usage or loading error.  Only the public header: this is how any host sees a
 * provider. */
#include <kahu/backend.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void host_log(const struct kahu_host *host, int level, const char *fmt, ...)
{
	va_list ap;
	(void)host;
	fprintf(stderr, "log[%d]: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int host_cancelled(const struct kahu_host *host)
{
	(void)host;
	return 0;
}

static const struct kahu_host host = {
	KAHU_BACKEND_ABI_MAJOR, KAHU_BACKEND_ABI_MINOR, sizeof(struct kahu_host), "test",
	host_log, host_cancelled,
};

static int out_write(void *ud, const void *buf, size_t len)
{
	(void)ud;
	return fwrite(buf, 1, len, stdout) == len ? 0 : 1;
}

static int out_list(void *ud, const char *key, const struct kahu_backend_stat *st)
{
	(void)ud;
	printf("%s %llu\n", key, (unsigned long long)st->size);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: sftpdrv MODULE.so KEY=VALUE... -- OP [ARGS]\n");
	return 100;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	void *dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "sftpdrv: %s\n", dlerror());
		return 100;
	}
	kahu_backend_init_fn init = (kahu_backend_init_fn)(uintptr_t)dlsym(dl, KAHU_BACKEND_INIT_SYMBOL);
	const struct kahu_backend *be = NULL;
	if (!init || init(&host, &be) < 0 || !be) {
		fprintf(stderr, "sftpdrv: %s: no provider\n", argv[1]);
		return 100;
	}
	struct kahu_backend_kv kv[32];
	size_t nkv = 0;
	int i = 2;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq || nkv == 32)
			return usage();
		*eq = '\0';
		kv[nkv].key = argv[i];
		kv[nkv].value = eq + 1;
		nkv++;
	}
	if (i + 1 >= argc)
		return usage();
	const char *op = argv[i + 1];
	char **a = argv + i + 2;
	int na = argc - i - 2;

	struct kahu_backend_handle *h = NULL;
	char err[1024] = "";
	int rc = be->open(&host, kv, nkv, &h, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "open: %s\n", err);
		return -rc;
	}
	if (strcmp(op, "put") == 0 && na >= 1) {
		struct kahu_backend_put *p = NULL;
		unsigned int flags = na >= 2 && strcmp(a[1], "excl") == 0 ? KAHU_PUT_EXCLUSIVE : 0;
		rc = be->put_begin(h, a[0], flags, KAHU_BACKEND_SIZE_UNKNOWN, &p);
		char buf[65536];
		size_t n;
		while (rc == 0 && (n = fread(buf, 1, sizeof buf, stdin)) > 0)
			rc = be->put_write(p, buf, n);
		if (p)
			rc = rc == 0 ? be->put_commit(p) : (be->put_abort(p), rc);
	} else if (strcmp(op, "get") == 0 && na >= 1) {
		uint64_t off = na >= 3 ? strtoull(a[1], NULL, 10) : 0;
		uint64_t len = na >= 3 ? strtoull(a[2], NULL, 10) : KAHU_BACKEND_TO_END;
		rc = be->get(h, a[0], off, len, out_write, NULL);
	} else if (strcmp(op, "stat") == 0 && na >= 1) {
		struct kahu_backend_stat st;
		if ((rc = be->stat(h, a[0], &st)) == 0)
			printf("%llu %lld\n", (unsigned long long)st.size, (long long)st.mtime);
	} else if (strcmp(op, "list") == 0) {
		rc = be->list(h, na >= 1 ? a[0] : "", out_list, NULL);
	} else if (strcmp(op, "rm") == 0 && na >= 1) {
		rc = be->remove(h, a[0]);
	} else if (strcmp(op, "cleanup") == 0) {
		unsigned int removed = 0;
		if ((rc = be->cleanup(h, na >= 1 ? a[0] : "", &removed)) == 0)
			printf("removed %u\n", removed);
	} else if (strcmp(op, "probe") == 0) {
		rc = be->probe(h);
	} else {
		be->close(h);
		return usage();
	}
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", op, be->errmsg(h));
	be->close(h);
	fflush(stdout);
	return rc < 0 ? -rc : 0;
}
