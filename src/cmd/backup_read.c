/* kahu backup describe|download|verify|logs — reading backups back. */
#include "cmd/common_opts.h"
#include "archive/bundle.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/manifest.h"
#include "archive/zstream.h"
#include "engine/bread.h"
#include "engine/hook_record.h"
#include "engine/voldata.h"
#include "store/layout.h"
#include "store/volloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading a manifest ---- */


/* Open a backup's metadata bundle for reading: the manifest verified, the key. */
struct opened {
	struct manifest *m;
	const struct kahu_key *key;
	struct bread *b;
	struct bundle_reader *br;
};

static int open_metadata_common(const struct kahu_ctx *ctx, struct repo *repo, const char *name,
				struct opened *op, int bundle)
{
	int rc;
	memset(op, 0, sizeof *op);
	if ((rc = run_read_trusted(&ctx->rr, repo, name, &op->m)) < 0)
		return rc;
	if (op->m->encrypted && (rc = repo_key(repo, &op->key)) < 0)
		return rc;
	const struct manifest_object *obj = bread_find_object(op->m, LAYOUT_METADATA);
	if (!obj)
		return kahu_error_set(KAHU_EDATA, "the manifest of backup %s names no metadata archive", name);
	rc = bundle ? bread_open_bundle(repo_store(repo), op->key, name, obj, &op->b)
		    : bread_open_raw(repo_store(repo), name, obj, &op->b);
	if (rc == 0 && bundle)
		op->br = bread_bundle(op->b);
	return rc;
}

static int open_metadata(const struct kahu_ctx *ctx, struct repo *repo, const char *name,
			 struct opened *op)
{
	return open_metadata_common(ctx, repo, name, op, 1);
}

static int open_metadata_source(const struct kahu_ctx *ctx, struct repo *repo, const char *name,
				struct opened *op)
{
	return open_metadata_common(ctx, repo, name, op, 0);
}

static int close_metadata(struct opened *op, int check)
{
	int rc = 0;
	if (check && op->b)
		rc = bread_finish(op->b);
	bread_free(op->b);
	op->b = NULL;
	op->br = NULL;
	manifest_free(op->m);
	op->m = NULL;
	return rc;
}

/* ---- describe ---- */

/* "ns/name" or "name" of the object in the current member; NULL when it has none. */
static int member_real_name(struct bundle_reader *br, char **out)
{
	struct kbuf b = KBUF_INIT;
	int rc = bundle_read_all(br, &b, 64u << 20);
	*out = NULL;
	if (rc == 0) {
		json_t *o = json_loadb(b.data ? b.data : "", b.len, JSON_ALLOW_NUL, NULL);
		json_t *md = json_object_get(o, "metadata");
		const char *ns = json_string_value(json_object_get(md, "namespace"));
		const char *n = json_string_value(json_object_get(md, "name"));
		if (n)
			*out = ns ? xasprintf("%s/%s", ns, n) : xstrdup(n);
		json_decref(o);
	}
	kbuf_free(&b);
	return rc;
}

/* What a catalog's method means to a reader. */
static const char *method_text(const char *m)
{
	if (!m)
		return "";
	if (strcmp(m, "exec") == 0)
		return "exec in app pod";
	if (strcmp(m, "helper") == 0)
		return "helper pod";
	if (strcmp(m, "csi") == 0)
		return "CSI snapshot";
	if (strcmp(m, "csi+data") == 0)
		return "CSI + data movement";
	return m;
}

/* The catalog's lines, each with its throughput (bytes read a second) added: the
 * backup's `volumes` for describe.  *vols NULL when the backup has no catalog. */
static int read_volumes(struct repo *repo, const struct kahu_key *key, const char *name, json_t **vols)
{
	json_t *lines = NULL, *line;
	size_t i;
	int rc = vol_cat_read(repo_store(repo), key, name, &lines);
	*vols = NULL;
	if (rc == KAHU_ENOTFOUND) {
		kahu_error_clear();
		return 0;
	}
	if (rc < 0)
		return kahu_error_wrap(rc, "reading the volume catalog of backup %s", name);
	json_array_foreach(lines, i, line) {
		struct vol_cat_entry e;
		if ((rc = vol_cat_entry_from_json(line, &e)) < 0) {
			json_decref(lines);
			return kahu_error_wrap(rc, "the volume catalog of backup %s, line %zu", name, i + 1);
		}
		json_int_t tp = e.duration_ms > 0 ?
			(json_int_t)((double)e.counts.bytes_read * 1000.0 / (double)e.duration_ms) : 0;
		json_object_set_new(line, "throughputBytesPerSecond", json_integer(tp));
	}
	*vols = lines;
	return 0;
}

static void print_catalog_volumes(json_t *vols)
{
	size_t i;
	json_t *v;
	if (!vols)
		return;
	printf("\nVolumes:\n");
	if (!json_array_size(vols)) {
		printf("  none\n");
		return;
	}
	static const char *const hdr[] = { "  PVC", "METHOD", "STATUS", "FILES", "READ", "STORED",
					   "INCREMENTAL", "DURATION", "THROUGHPUT", "RETRIES", "REASON" };
	struct out_table *t = out_table_new(11, hdr);
	json_array_foreach(vols, i, v) {
		struct vol_cat_entry e;
		if (vol_cat_entry_from_json(v, &e) < 0)
			continue;   /* read_volumes checked every line */
		char files[32], rd[32], st[32], inc[32], dur[32], tp[40], retries[16];
		int csi_only = e.method && strcmp(e.method, "csi") == 0;
		char *id = xasprintf("  %s/%s", e.namespace_ ? e.namespace_ : "", e.pvc ? e.pvc : "");
		snprintf(files, sizeof files, "%llu", (unsigned long long)e.counts.files);
		out_human_bytes(e.counts.bytes_read, rd, sizeof rd);
		out_human_bytes(e.counts.bytes_stored, st, sizeof st);
		out_human_bytes(e.counts.bytes_transferred, inc, sizeof inc);
		snprintf(dur, sizeof dur, "%.1fs", e.duration_ms > 0 ? (double)e.duration_ms / 1000.0 : 0.0);
		out_human_bytes((unsigned long long)json_integer_value(json_object_get(v, "throughputBytesPerSecond")),
				tp, sizeof tp - 2);
		strcat(tp, "/s");
		snprintf(retries, sizeof retries, "%u", e.retries);
		/* A CSI snapshot without data movement reads no file: its counts say nothing. */
		const char *row[] = { id, method_text(e.method), e.status ? e.status : "",
				      csi_only ? "-" : files, csi_only ? "-" : rd, csi_only ? "-" : st,
				      csi_only ? "-" : inc, dur, csi_only ? "-" : tp, retries,
				      e.reason ? e.reason : "" };
		out_table_row(t, row);
		free(id);
	}
	out_table_print(t, stdout);
	out_table_free(t);
}

/* CMD_REPO */
static int run_backup_describe(struct kahu_ctx *ctx)
{
	struct repo *repo = ctx->repo;
	struct opened op;
	struct bundle_entry e;
	json_t *spec = NULL;
	int details = inv_count(ctx->inv, OPT_DETAILS) > 0;
	json_t *items = details ? json_object() : NULL, *vols = NULL, *volloc = NULL, *after = NULL;
	char *after_error = NULL;
	const char *name = ctx->inv->args.v[0];
	int rc, encrypted = 0;
	char key_id[KAHU_KEY_ID_HEX_LEN + 1] = "";
	char *cluster_server = NULL, *cluster_uid = NULL;

	memset(&op, 0, sizeof op);
	if ((rc = open_metadata(ctx, repo, name, &op)) < 0)
		goto out;
	encrypted = op.m->encrypted;
	snprintf(key_id, sizeof key_id, "%s", op.m->key_id);
	cluster_server = op.m->cluster.server ? xstrdup(op.m->cluster.server) : NULL;
	cluster_uid = op.m->cluster.uid ? xstrdup(op.m->cluster.uid) : NULL;
	if (op.m->volume_location.name)
		volloc = json_pack("{s:s, s:s}", "name", op.m->volume_location.name, "provider",
				   op.m->volume_location.provider);
	while ((rc = bundle_next(op.br, &e)) == 1) {
		if (strcmp(e.name, "kahu/backup.json") == 0) {
			struct kbuf b = KBUF_INIT;
			if ((rc = bundle_read_all(op.br, &b, 64u << 20)) < 0) {
				kbuf_free(&b);
				goto out;
			}
			spec = json_loadb(b.data, b.len, 0, NULL);
			kbuf_free(&b);
		} else if (details && strncmp(e.name, "resources/", 10) == 0) {
			/* resources/<type>/namespaces/<ns>/<name>.json or resources/<type>/cluster/<name>.json */
			char *p = xstrdup(e.name + 10);
			char *slash = strchr(p, '/');
			if (slash) {
				*slash = '\0';
				char *rest = slash + 1, *real = NULL;
				size_t l = strlen(rest);
				if (l > 5 && strcmp(rest + l - 5, ".json") == 0)
					rest[l - 5] = '\0';
				if (strncmp(rest, "namespaces/", 11) == 0)
					rest += 11;
				else if (strncmp(rest, "cluster/", 8) == 0)
					rest += 8;
				/* An encoded name (FORMAT.md): the real one is in the object. */
				if (strstr(e.name, "/%") && (rc = member_real_name(op.br, &real)) < 0) {
					free(p);
					goto out;
				}
				json_t *arr = json_object_get(items, p);
				if (!arr)
					json_object_set_new(items, p, arr = json_array());
				json_array_append_new(arr, json_string(real ? real : rest));
				free(real);
			}
			free(p);
		}
	}
	if (rc < 0)
		goto out;
	{
		const struct kahu_key *key = op.key;
		/* The local after hooks ran once the manifest was written: their outcomes are
		 * beside it (engine/hook_record.h), when kept.  One that is refused is a
		 * warning; the rest of the backup still shows. */
		if (hook_record_get(repo_store(repo), key, name, op.m, &after, NULL) < 0) {
			log_warn("backup %s: the outcome of its after hooks is not shown: %s", name,
				 kahu_error_last());
			after_error = xstrdup(kahu_error_last());
			kahu_error_clear();
		}
		if ((rc = close_metadata(&op, 1)) < 0)
			goto out;
		if (!spec) {
			rc = kahu_error_set(KAHU_EDATA, "backup %s has no kahu/backup.json", name);
			goto out;
		}
		/* The rest of the backup is still worth showing when its catalog is not
		 * (backup verify checks every object): a warning, and the reason in the output. */
		if (read_volumes(repo, key, name, &vols) < 0) {
			log_warn("%s", kahu_error_last());
			json_object_set_new(spec, "volumesError", json_string(kahu_error_last()));
			kahu_error_clear();
		}
	}
	if (vols)
		json_object_set(spec, "volumes", vols);
	if (after)
		json_object_set(spec, "afterHooks", after);
	if (after_error)
		json_object_set_new(spec, "afterHooksError", json_string(after_error));
	if (items)
		json_object_set(spec, "items_by_type", items);
	/* JSON and YAML: the manifest's record of the cluster. */
	if (cluster_server)
		json_object_set_new(spec, "sourceCluster", json_pack("{s:s, s:s?}", "server", cluster_server,
								      "uid", cluster_uid));
	/* Where the volume data is, when not beside the metadata (store/volloc.h). */
	if (volloc)
		json_object_set(spec, "volumeLocation", volloc);
	/* What the manifest's MAC vouches for: nothing, for an unencrypted backup. */
	json_object_set_new(spec, "authenticated", json_boolean(encrypted));

	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		rc = ctx->out == OUT_JSON ? out_json(stdout, spec) : out_yaml(stdout, spec);
		goto out;
	}
	printf("Name:         %s\n", name);
	printf("Status:       %s\n", json_string_value(json_object_get(spec, "status")));
	printf("Type:         %s", json_string_value(json_object_get(spec, "type")));
	if (json_is_string(json_object_get(spec, "parent")))
		printf(" (parent %s, chain from %s)", json_string_value(json_object_get(spec, "parent")),
		       json_string_value(json_object_get(spec, "chainFull")));
	if (encrypted)
		printf("\nEncryption:   key %s (authenticated)\n", key_id);
	else
		printf("\nEncryption:   none: NOT authenticated (no MAC: anyone who can write to the location could have written it)\n");
	printf("Started:      %s\nCompleted:    %s\n", json_string_value(json_object_get(spec, "started")),
	       json_string_value(json_object_get(spec, "completed")));
	json_t *cl = json_object_get(spec, "cluster");
	if (cl)
		printf("Cluster:      %s (context %s, %s)\n", json_string_value(json_object_get(cl, "server")),
		       json_string_value(json_object_get(cl, "context")), json_string_value(json_object_get(cl, "version")));
	/* The source cluster's identity as the manifest (covered by its MAC) records it. */
	if (cluster_uid)
		printf("Cluster UID:  %s (namespace kube-system)\n", cluster_uid);
	else
		printf("Cluster UID:  %s\n", cluster_server ? "unknown (namespace kube-system could not be read)"
		       : "not recorded (written before kahu recorded it)");
	if (volloc)
		printf("Volume data:  on location %s (provider %s)\n",
		       json_string_value(json_object_get(volloc, "name")),
		       json_string_value(json_object_get(volloc, "provider")));
	printf("Items:        %lld (%lld stored in this backup)\n",
	       (long long)json_integer_value(json_object_get(spec, "items")),
	       (long long)json_integer_value(json_object_get(spec, "storedItems")));
	char *scope = json_dumps(json_object_get(spec, "scope"), JSON_COMPACT | JSON_SORT_KEYS);
	printf("Scope:        %s\n", scope);
	free(scope);
	printf("\nResources:\n");
	static const char *const hdr[] = { "  TYPE", "ITEMS", "EXCLUDED", "RESULT" };
	struct out_table *t = out_table_new(4, hdr);
	size_t i;
	json_t *ty;
	json_array_foreach(json_object_get(spec, "types"), i, ty) {
		char n1[32], n2[32];
		snprintf(n1, sizeof n1, "%lld", (long long)json_integer_value(json_object_get(ty, "items")));
		snprintf(n2, sizeof n2, "%lld", (long long)json_integer_value(json_object_get(ty, "excluded")));
		const char *res = json_string_value(json_object_get(ty, "error"));
		const char *from = json_string_value(json_object_get(ty, "carriedOverFrom"));
		char *tn = xasprintf("  %s", json_string_value(json_object_get(ty, "resource")));
		char *carried = res && from ? xasprintf("%s; the items are carried over from backup %s", res, from) : NULL;
		json_int_t nfailed = json_integer_value(json_object_get(ty, "failedItems"));
		if (!carried && !res && nfailed)
			carried = xasprintf("%lld object%s not backed up (%s)", (long long)nfailed,
					    nfailed == 1 ? "" : "s",
					    json_string_value(json_object_get(ty, "failedItem")));
		const char *row[] = { tn, n1, n2, carried ? carried : res ? res :
				      json_is_string(json_object_get(ty, "warning")) ?
				      json_string_value(json_object_get(ty, "warning")) : "ok" };
		out_table_row(t, row);
		free(carried);
		free(tn);
	}
	out_table_print(t, stdout);
	out_table_free(t);
	cmd_print_hooks(stdout, json_object_get(spec, "hooks"));
	cmd_print_hooks_titled(stdout, "After hooks (run once the backup was committed, kept beside it)",
			       after);
	if (after_error)
		printf("\nAfter hooks:  not shown: %s\n", after_error);
	if (json_is_string(json_object_get(spec, "volumesError")))
		printf("\nVolumes:      not shown: %s\n", json_string_value(json_object_get(spec, "volumesError")));
	print_catalog_volumes(vols);
	if (items) {
		const char *k;
		json_t *v;
		printf("\nItems:\n");
		json_object_foreach(items, k, v) {
			printf("  %s:\n", k);
			json_array_foreach(v, i, ty)
				printf("    - %s\n", json_string_value(ty));
		}
	}
out:
	close_metadata(&op, 0);
	json_decref(spec);
	json_decref(items);
	json_decref(vols);
	json_decref(volloc);
	json_decref(after);
	free(after_error);
	free(cluster_server);
	free(cluster_uid);
	return rc;
}

/* ---- download ---- */

static int write_out(void *ud, const void *buf, size_t len)
{
	if (kahu_write_all(*(int *)ud, buf, len) < 0)
		return kahu_error_set(errno == ENOSPC ? KAHU_ENOSPC : KAHU_EIO, "write error: %s",
				      strerror(errno));
	return 0;
}

static int parse_backup_download(struct kahu_ctx *ctx, void **spec)
{
	(void)spec;
	const char *vol = inv_str(ctx->inv, OPT_VOLUME);
	if (inv_str(ctx->inv, OPT_FILE) && inv_str(ctx->inv, OPT_EXTRACT))
		return kahu_error_set(KAHU_EUSAGE, "-o/--file and --extract exclude each other");
	if (vol && !inv_str(ctx->inv, OPT_EXTRACT))
		return kahu_error_set(KAHU_EUSAGE, "--volume needs --extract DIR");
	if (inv_count(ctx->inv, OPT_PATH) && !vol)
		return kahu_error_set(KAHU_EUSAGE, "--path selects files of a volume: it needs --volume NAMESPACE/PVC");
	if (vol) {
		const char *slash = strchr(vol, '/');
		if (!slash || slash == vol || !slash[1] || strchr(slash + 1, '/'))
			return kahu_error_set(KAHU_EUSAGE, "--volume %s: expected NAMESPACE/PVC", vol);
	}
	return 0;
}

/* backup download NAME --volume NS/PVC --extract DIR [--path GLOB]… */
static int download_volume(struct kahu_ctx *ctx, const char *name, const char *vol, const char *dir)
{
	struct repo *repo = ctx->repo, *vrepo = NULL;
	struct manifest *m = NULL;
	const struct kahu_key *key = NULL;
	json_t *cat = NULL;
	char *ns = xstrdup(vol), *pvc = strchr(ns, '/');
	struct strset chain = STRSET_INIT;
	int rc;

	*pvc++ = 0;
	if ((rc = run_read_trusted(&ctx->rr, repo, name, &m)) < 0 ||
	    (m->encrypted && (rc = repo_key(repo, &key)) < 0) ||
	    (rc = vol_cat_read(repo_store(repo), key, name, &cat)) < 0)
		goto out;
	json_t *line = vol_cat_find(cat, ns, pvc);
	struct vol_cat_entry e;
	if (!line) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "backup %s holds no data of volume %s", name, vol);
		goto out;
	}
	if ((rc = vol_cat_entry_from_json(line, &e)) < 0)
		goto out;
	if (!e.status || strcmp(e.status, "Completed") != 0) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "backup %s holds no data of volume %s (%s%s%s)", name, vol,
				    e.status ? e.status : "no status", e.reason ? ": " : "", e.reason ? e.reason : "");
		goto out;
	}
	/* The volume objects' location, when the backup put them elsewhere. */
	if ((rc = volloc_open_for(repo, m, &vrepo)) < 0)
		goto out;
	/* each segment read bound to the run of the backup of the chain that wrote it */
	if (key && m->authenticated &&
	    (rc = bread_chain_runs(repo_store(repo), key, name, ctx->rr.allow_unencrypted, &chain)) < 0)
		goto out;
	const struct strv *paths = inv_list(ctx->inv, OPT_PATH);
	struct vol_extract_spec x = { .st = repo_store(vrepo ? vrepo : repo), .key = key, .backup = name, .vid = e.vid,
				      .dest = dir, .paths = paths && paths->n ? (const char *const *)paths->v : NULL,
				      .run = m->authenticated && m->run[0] ? m->run : NULL,
				      .chain_runs = chain.n ? &chain : NULL };
	struct vol_restore_result r;
	if ((rc = vol_extract_local(&x, &r)) < 0) {
		kahu_error_wrap(rc, "extracting volume %s of backup %s into %s", vol, name, dir);
		goto out;
	}
	printf("Extracted volume %s of backup %s into %s: %llu files, %llu directories, %llu links, %llu bytes.\n",
	       vol, name, dir, (unsigned long long)r.files, (unsigned long long)r.dirs,
	       (unsigned long long)r.links, (unsigned long long)r.bytes);
out:
	strset_free(&chain);
	json_decref(cat);
	repo_close(vrepo);
	manifest_free(m);
	free(ns);
	return rc;
}

/* CMD_REPO */
static int run_backup_download(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	const char *file = inv_str(ctx->inv, OPT_FILE);
	const char *dir = inv_str(ctx->inv, OPT_EXTRACT);
	struct repo *repo = ctx->repo;
	struct opened op;
	char *tmp = NULL, *target = NULL;
	int fd, rc;

	memset(&op, 0, sizeof op);
	if (inv_str(ctx->inv, OPT_VOLUME))
		return download_volume(ctx, name, inv_str(ctx->inv, OPT_VOLUME), dir);
	if ((rc = (dir ? open_metadata : open_metadata_source)(ctx, repo, name, &op)) < 0)
		goto out;
	if (dir) {
		struct bundle_extract_stats es = { 0 };
		if ((rc = bundle_extract(op.br, dir, &es)) < 0 || (rc = bread_finish(op.b)) < 0) {
			kahu_error_wrap(rc, "extracting backup %s into %s (what was extracted cannot be trusted)", name, dir);
			goto out;
		}
		printf("Extracted backup %s into %s: %llu files", name, dir, (unsigned long long)es.files);
		if (es.shortened)
			printf(", %llu with a name too long for the file system, written under its "
			       "encoded form (see kahu-backup(1))", (unsigned long long)es.shortened);
		printf(".\n");
		goto out;
	}
	/* The tar file: written to a private temporary file beside the target, put in its
	 * place when the whole bundle verified, so a bad backup never leaves a plausible
	 * file behind. */
	target = file ? xstrdup(file) : xasprintf("%s.tar", name);
	if ((fd = kahu_tmpfile_beside(target, ".part.", "the downloaded tar", &tmp)) < 0) {
		rc = fd;
		goto out;
	}
	/* The tar is the bundle's plaintext: no tar parsing needed. */
	rc = bread_unpack(op.b, op.key, write_out, &fd);
	if (rc == 0)
		rc = kahu_tmpfile_commit(fd, tmp, target);
	else
		kahu_tmpfile_discard(fd, tmp);
	if (rc < 0) {
		kahu_error_wrap(rc, "download of backup %s failed, nothing was written", name);
		goto out;
	}
	fprintf(stderr, "Backup %s downloaded to %s (the decrypted tar: it holds Secrets in the clear, mode 0600).\n",
		name, target);
out:
	close_metadata(&op, 0);
	free(tmp);
	free(target);
	return rc;
}

/* ---- verify ---- */

/* CMD_REPO */
static int discard(void *ud, const void *buf, size_t len)
{
	(void)ud;
	(void)buf;
	(void)len;
	return 0;
}

static int run_backup_verify(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct repo *repo = ctx->repo;
	struct opened op;
	struct bundle_entry e;
	long members = 0;
	char *volumes_on = NULL;
	int rc;

	memset(&op, 0, sizeof op);
	if ((rc = open_metadata(ctx, repo, name, &op)) < 0)
		goto out;
	int encrypted = op.m->encrypted;
	/* Every member is read through, so every chunk is authenticated; each object is
	 * parsed as JSON to name a bad one precisely. */
	while ((rc = bundle_next(op.br, &e)) == 1) {
		members++;
		struct kbuf b = KBUF_INIT;
		if ((rc = bundle_read_all(op.br, &b, 256u << 20)) < 0) {
			kahu_error_wrap(rc, "backup %s, member %s", name, e.name);
			kbuf_free(&b);
			goto out;
		}
		if (strncmp(e.name, "resources/", 10) == 0) {
			json_error_t je;
			json_t *o = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &je);
			if (!o) {
				rc = kahu_error_set(KAHU_EDATA, "backup %s: %s is not valid JSON: %s", name, e.name, je.text);
				kbuf_free(&b);
				goto out;
			}
			json_decref(o);
		}
		kbuf_free(&b);
	}
	if (rc < 0)
		goto out;
	if ((rc = close_metadata(&op, 1)) < 0)
		goto out;
	/* The other objects: size and hash, or (bound to the run) size and envelope. */
	struct manifest *m;
	struct repo *vrepo = NULL;
	if ((rc = backup_read_manifest(repo, name, 1, &m)) < 0)
		goto out;
	/* The volume objects on the volume location (store/volloc.h), its marker checked. */
	rc = volloc_open_for(repo, m, &vrepo);
	for (size_t i = 0; rc == 0 && i < m->n_objects; i++) {
		if (layout_rel_is(m->objects[i].path, LAYOUT_METADATA))
			continue;
		struct repo *where = vrepo && manifest_object_in_volloc(m, m->objects[i].path) ? vrepo : repo;
		struct bread *b = NULL;
		uint8_t run[16];
		const struct kahu_key *key = NULL;
		bool bound = manifest_object_run(&m->objects[i], run);
		/* One bound to the backup's run (no hash) is authenticated by opening it. */
		if (bound && (rc = repo_key(repo, &key)) < 0)
			break;
		if ((rc = bread_open_raw(repo_store(where), name, &m->objects[i], &b)) == 0)
			rc = bound ? bread_unpack(b, key, discard, NULL) : bread_finish(b);
		bread_free(b);
		if (rc < 0 && where == vrepo)
			kahu_error_wrap(rc, "volume location %s", repo_location(vrepo)->name);
	}
	if (rc == 0 && vrepo)
		volumes_on = xstrdup(repo_location(vrepo)->name);
	repo_close(vrepo);
	manifest_free(m);
	if (rc < 0)
		goto out;
	if (volumes_on)
		printf("The volume data of backup %s on location %s matches its manifest.\n", name, volumes_on);
	if (encrypted)
		printf("Backup %s is intact: manifest authenticated, %ld archive members read and checked.\n", name, members);
	else
		printf("Backup %s matches its manifest (%ld archive members read and checked), but is NOT "
		       "authenticated: it is not encrypted, its manifest carries no MAC.\n", name, members);
out:
	free(volumes_on);
	close_metadata(&op, 0);
	return rc;
}

/* ---- logs ---- */

static int to_stdout(void *ud, const void *buf, size_t len)
{
	(void)ud;
	if (fwrite(buf, 1, len, stdout) != len)
		return kahu_error_set(KAHU_EIO, "write error on standard output: %s", strerror(errno));
	return 0;
}

/* The local after hooks' outcomes kept beside the backup (engine/hook_record.h), as
 * lines of the log's form after it, each marked "afterCommit": they ran once the
 * manifest was written.  A record that is refused is a warning. */
static void print_after_hooks_log(struct repo *repo, const struct kahu_key *key, const char *name,
				  const struct manifest *m)
{
	json_t *hooks = NULL;
	char *written = NULL, when[40];
	if (hook_record_get(repo_store(repo), key, name, m, &hooks, &written) < 0) {
		log_warn("backup %s: the outcome of its after hooks is not shown: %s", name, kahu_error_last());
		kahu_error_clear();
		return;
	}
	time_rfc3339(m->completed, when, sizeof when);
	cmd_print_after_hooks_log(stdout, hooks, written ? written : when);
	json_decref(hooks);
	free(written);
}

/* CMD_REPO */
static int run_backup_logs(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct repo *repo = ctx->repo;
	struct manifest *m = NULL;
	const struct kahu_key *key = NULL;
	struct bread *b = NULL;
	int rc;

	if ((rc = run_read_trusted(&ctx->rr, repo, name, &m)) < 0)
		goto out;
	if (m->encrypted && (rc = repo_key(repo, &key)) < 0)
		goto out;
	const struct manifest_object *obj = bread_find_object(m, LAYOUT_LOG);
	if (!obj) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "backup %s has no stored log", name);
		goto out;
	}
	if ((rc = bread_open_raw(repo_store(repo), name, obj, &b)) == 0)
		rc = bread_unpack(b, key, to_stdout, NULL);
	if (rc == 0)
		print_after_hooks_log(repo, key, name, m);
out:
	bread_free(b);
	manifest_free(m);
	return rc;
}

/* ---- tables ---- */

static const struct kahu_opt describe_opts[] = {
	OPTION(DETAILS, 0, NULL, "also list every item, by type", NULL, 0, NULL),
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_ALLOW_UNENCRYPTED,
	OPT_END
};

static const struct kahu_opt download_opts[] = {
	OPTION(FILE, 'o', "FILE", "where to write the decrypted tar (default NAME.tar)", "file", 0, NULL),
	OPTION(EXTRACT, 0, "DIR", "extract the backup's files into DIR instead (safe: no absolute paths, no .., no links)", "dir", 0, NULL),
	OPTION(VOLUME, 0, "NAMESPACE/PVC", "with --extract: extract the data of this volume instead", NULL, 0, NULL),
	OPTION(PATH, 0, "GLOB", "with --volume: only the paths matching GLOB (and what is below them); may be repeated", NULL, OPTF_REPEAT, NULL),
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_ALLOW_UNENCRYPTED,
	OPT_END
};

const struct kahu_cmd cmd_backup_describe_entry = {
	.name = "backup describe", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Show a backup's scope, results and warnings per type (needs the key)",
	.outputs = "table json yaml", .opts = describe_opts, .run = run_backup_describe,
	.flags = CMD_REPO, .args_complete = "@backup",
};

const struct kahu_cmd cmd_backup_download_entry = {
	.name = "backup download", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Write a backup's decrypted tar to a file, or extract it into a directory",
	.opts = download_opts, .parse = parse_backup_download, .run = run_backup_download,
	.flags = CMD_REPO, .args_complete = "@backup",
};

const struct kahu_cmd cmd_backup_verify_entry = {
	.name = "backup verify", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Check a backup: the manifest's MAC, every object's hash, every chunk's authentication",
	.opts = cmd_repo_read_opts, .run = run_backup_verify, .flags = CMD_REPO,
	.args_complete = "@backup",
};

const struct kahu_cmd cmd_backup_logs_entry = {
	.name = "backup logs", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Print the log a backup stored with itself (JSON lines)",
	.opts = cmd_repo_read_opts, .run = run_backup_logs, .flags = CMD_REPO,
	.args_complete = "@backup",
};
