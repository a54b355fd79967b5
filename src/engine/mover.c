/* kahu — the cluster data mover: spec, run bundle, worker and result.  See mover.h. */
#include "engine/mover.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/key.h"
#include "archive/manifest.h"
#include "archive/seal.h"
#include "archive/stream.h"
#include "engine/vol_local.h"
#include "store/config.h"
#include "store/layout.h"
#include "store/repo.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"

#define MOVER_RESULT_KIND "KahuMoverResult"
#define MOVER_FILE_MAX (1024 * 1024) /* a file carried into the bundle */

/* ---- the spec ---- */

void mover_spec_clear(struct mover_spec *s)
{
	free(s->backup);
	free(s->vid);
	free(s->label);
	free(s->parent);
	strv_free(&s->exclude);
	free(s->attempt);
	free(s->mount_path);
	free(s->run);
	free(s->parent_run);
	json_decref(s->chain_runs);
	memset(s, 0, sizeof *s);
}

json_t *mover_spec_json(const struct mover_spec *s)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", s->restore ? "restore" : "backup",
			      "backup", s->backup ? s->backup : "", "vid", s->vid ? s->vid : "",
			      "label", s->label ? s->label : "", "attempt",
			      s->attempt ? s->attempt : "");
	if (s->parent)
		json_object_set_new(j, "parent", json_string(s->parent));
	if (s->exclude.n) {
		json_t *a = json_array();
		for (size_t i = 0; i < s->exclude.n; i++)
			json_array_append_new(a, json_string(s->exclude.v[i]));
		json_object_set_new(j, "exclude", a);
	}
	if (s->compression_level)
		json_object_set_new(j, "compressionLevel", json_integer(s->compression_level));
	if (s->segment_bytes)
		json_object_set_new(j, "segmentBytes", json_integer((json_int_t)s->segment_bytes));
	if (s->delete_extra)
		json_object_set_new(j, "deleteExtra", json_true());
	if (s->mount_path)
		json_object_set_new(j, "mountPath", json_string(s->mount_path));
	if (s->run)
		json_object_set_new(j, "run", json_string(s->run));
	if (s->parent_run)
		json_object_set_new(j, "parentRun", json_string(s->parent_run));
	if (s->chain_runs)
		json_object_set(j, "chainRuns", s->chain_runs);
	return j;
}

static int attempt_ok(const char *a)
{
	size_t n = strlen(a);
	if (n < 1 || n > MOVER_ATTEMPT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '-'))
			return 0;
	return 1;
}

/* A printable string without control characters, at most max bytes. */
static int text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int hex_ok(const char *s, size_t n);

static int spec_bad(const char *field, const char *what)
{
	return kahu_error_set(KAHU_EUSAGE, "mover spec: %s: %s", field, what);
}

/* A string member: *out allocated, or left NULL when absent and optional. */
static int spec_str(json_t *j, const char *field, int required, char **out)
{
	json_t *v = json_object_get(j, field);
	if (!v) {
		if (required)
			return spec_bad(field, "missing");
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))
		return spec_bad(field, "not a string");
	*out = xstrdup(json_string_value(v));
	return 0;
}

int mover_spec_parse(json_t *j, struct mover_spec *out)
{
	static const char *const known[] = { "op", "backup", "vid", "label", "attempt", "parent",
					     "exclude", "compressionLevel", "segmentBytes",
					     "deleteExtra", "mountPath", "run", "parentRun",
					     "chainRuns", NULL };
	struct mover_spec s = { 0 };
	const char *k;
	json_t *v;
	int rc;

	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return spec_bad("(document)", "not a JSON object");
	json_object_foreach(j, k, v) {
		size_t i;
		for (i = 0; known[i] && strcmp(known[i], k) != 0; i++)
			;
		if (!known[i]) {
			char esc[80];
			size_t n = 0;
			for (const char *p = k; *p && n + 5 < sizeof esc; p++)
				n += (size_t)snprintf(esc + n, sizeof esc - n,
						      (unsigned char)*p < 0x20 || *p == 0x7f ? "\\x%02x" : "%c",
						      (unsigned char)*p);
			return spec_bad(esc, "unknown member");
		}
	}
	const char *op = json_string_value(json_object_get(j, "op"));
	if (!op)
		return spec_bad("op", "missing or not a string (backup or restore)");
	if (strcmp(op, "backup") == 0)
		s.restore = 0;
	else if (strcmp(op, "restore") == 0)
		s.restore = 1;
	else
		return spec_bad("op", "neither backup nor restore");
	if ((rc = spec_str(j, "backup", 1, &s.backup)) < 0 ||
	    (rc = spec_str(j, "vid", 1, &s.vid)) < 0 ||
	    (rc = spec_str(j, "label", 1, &s.label)) < 0 ||
	    (rc = spec_str(j, "attempt", 1, &s.attempt)) < 0 ||
	    (rc = spec_str(j, "parent", 0, &s.parent)) < 0 ||
	    (rc = spec_str(j, "mountPath", 0, &s.mount_path)) < 0 ||
	    (rc = spec_str(j, "run", 0, &s.run)) < 0 ||
	    (rc = spec_str(j, "parentRun", 0, &s.parent_run)) < 0)
		goto fail;
	if (s.run && !hex_ok(s.run, MANIFEST_RUN_HEX_LEN)) {
		rc = spec_bad("run", "not 32 lowercase hex digits");
		goto fail;
	}
	if (s.parent_run && !hex_ok(s.parent_run, MANIFEST_RUN_HEX_LEN)) {
		rc = spec_bad("parentRun", "not 32 lowercase hex digits");
		goto fail;
	}
	if (s.parent_run && (s.restore || !s.parent || !s.run)) {
		rc = spec_bad("parentRun", "only a backup with a parent and a run names its parent's run");
		goto fail;
	}
	if (layout_name_check(s.backup) < 0) {
		rc = spec_bad("backup", kahu_error_last());
		goto fail;
	}
	if (s.parent && layout_name_check(s.parent) < 0) {
		rc = spec_bad("parent", kahu_error_last());
		goto fail;
	}
	if (s.parent && s.restore) {
		rc = spec_bad("parent", "a restore has no parent (the backup's index names its chain)");
		goto fail;
	}
	if (layout_vid_check(s.vid) < 0) {
		rc = spec_bad("vid", "not 32 lowercase hex digits");
		goto fail;
	}
	if (!attempt_ok(s.attempt)) {
		rc = spec_bad("attempt", "not 1 to 40 of a-z, 0-9 and -");
		goto fail;
	}
	if (!text_ok(s.label, 512)) {
		rc = spec_bad("label", "longer than 512 bytes or holds control characters");
		goto fail;
	}
	if (s.mount_path && (s.mount_path[0] != '/' || !text_ok(s.mount_path, PATH_MAX - 1))) {
		rc = spec_bad("mountPath", "not an absolute path");
		goto fail;
	}
	if ((v = json_object_get(j, "chainRuns"))) {
		const char *name;
		json_t *r;
		if (!s.restore || !s.run) {
			rc = spec_bad("chainRuns", "only a restore with a run names the runs of its chain");
			goto fail;
		}
		if (!json_is_object(v) || json_object_size(v) > 1000) {
			rc = spec_bad("chainRuns", "not an object of at most 1000 members");
			goto fail;
		}
		json_object_foreach(v, name, r) {
			const char *rv = json_string_value(r);
			if (layout_name_check(name) < 0 || !rv ||
			    (*rv && !hex_ok(rv, MANIFEST_RUN_HEX_LEN))) {
				rc = spec_bad("chainRuns", "a member that is not a backup name with a run "
					      "id of 32 lowercase hex digits or \"\"");
				goto fail;
			}
		}
		const char *own = json_string_value(json_object_get(v, s.backup));
		if (!own || strcmp(own, s.run) != 0) {
			rc = spec_bad("chainRuns", "does not name the backup with its run");
			goto fail;
		}
		s.chain_runs = json_incref(v);
	}
	v = json_object_get(j, "exclude");
	if (v) {
		size_t i;
		json_t *e;
		if (!json_is_array(v)) {
			rc = spec_bad("exclude", "not an array of strings");
			goto fail;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || json_string_length(e) != strlen(json_string_value(e)) ||
			    !json_string_length(e)) {
				rc = spec_bad("exclude", "not an array of non-empty strings");
				goto fail;
			}
			strv_push(&s.exclude, json_string_value(e));
		}
		if (s.restore && s.exclude.n) {
			rc = spec_bad("exclude", "only a backup excludes paths");
			goto fail;
		}
	}
	v = json_object_get(j, "compressionLevel");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 22) {
			rc = spec_bad("compressionLevel", "not an integer from 1 to 22");
			goto fail;
		}
		s.compression_level = (int)json_integer_value(v);
	}
	v = json_object_get(j, "segmentBytes");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < (1 << 20) ||
		    json_integer_value(v) > ((json_int_t)4 << 30)) {
			rc = spec_bad("segmentBytes", "not an integer from 1 MiB to 4 GiB");
			goto fail;
		}
		s.segment_bytes = (uint64_t)json_integer_value(v);
	}
	v = json_object_get(j, "deleteExtra");
	if (v) {
		if (!json_is_boolean(v)) {
			rc = spec_bad("deleteExtra", "not a boolean");
			goto fail;
		}
		s.delete_extra = json_is_true(v);
		if (s.delete_extra && !s.restore) {
			rc = spec_bad("deleteExtra", "only a restore deletes extra files");
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	mover_spec_clear(&s);
	return rc;
}

int mover_spec_parse_text(const char *text, struct mover_spec *out)
{
	json_error_t je;
	memset(out, 0, sizeof *out);
	if (strlen(text) > 64 * 1024)
		return kahu_error_set(KAHU_EUSAGE, "mover spec: longer than 64 KiB");
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return kahu_error_set(KAHU_EUSAGE, "mover spec: not valid JSON: %s (column %d)",
				      je.text, je.column);
	int rc = mover_spec_parse(j, out);
	json_decref(j);
	return rc;
}

/* ---- the run bundle ---- */

static char *home_path(const char *rel)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	return xasprintf("%s/%s", home, rel);
}

/* "~/x" → $HOME/x; other paths as they are.  Allocated; NULL without a home. */
static char *expand_home(const char *p)
{
	if (p[0] == '~' && p[1] == '/')
		return home_path(p + 2);
	return xstrdup(p);
}

/* Read a file of this machine for the bundle into data[name].  Files that hold secrets
 * (`private`) must be private to their owner, as kahu requires of its own. */
static int carry_file(json_t *data, const char *name, const char *path, int private_,
		      const char *what)
{
	char *p = expand_home(path);
	struct kbuf b = KBUF_INIT;
	size_t len = 0;
	int rc;
	if (!p)
		return kahu_error_set(KAHU_ECONFIG, "%s %s: the home directory is not known", what, path);
	kbuf_grow(&b, MOVER_FILE_MAX + 1);
	if (private_) {
		rc = kahu_read_private(p, what, b.data, MOVER_FILE_MAX + 1, &len);
	} else {
		rc = 0;
		FILE *f = fopen(p, "rb");
		if (!f) {
			rc = kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO,
					    "cannot read %s %s: %s", what, p, strerror(errno));
		} else {
			len = fread(b.data, 1, MOVER_FILE_MAX + 1, f);
			if (ferror(f))
				rc = kahu_error_set(KAHU_EIO, "cannot read %s %s: %s", what, p,
						    strerror(errno));
			else if (len > MOVER_FILE_MAX)
				rc = kahu_error_set(KAHU_EDATA, "%s %s: larger than %d bytes", what, p,
						    MOVER_FILE_MAX);
			fclose(f);
		}
	}
	if (rc == 0)
		json_object_set_new(data, name, json_stringn(b.data, len));
	kbuf_free_secret(&b);
	free(p);
	return rc;
}

static const struct kahu_backend_option *find_option(const struct kahu_backend *be, const char *key)
{
	for (const struct kahu_backend_option *o = be->options; o && o->key; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static int truthy(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* s3: the credentials the provider would find on this machine when the location names
 * no credentials file, as a file of the bundle. */
static int s3_credentials(json_t *data, json_t *conf)
{
	const char *ak = env_nonempty("AWS_ACCESS_KEY_ID"), *sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
	if (ak || sk) {
		if (!ak || !sk)
			return kahu_error_set(KAHU_ECONFIG, "%s is set but %s is not: the movers "
					      "need both", ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
					      ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		const char *tok = env_nonempty("AWS_SESSION_TOKEN");
		struct kbuf b = KBUF_INIT;
		kbuf_addf(&b, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", ak, sk);
		if (tok)
			kbuf_addf(&b, "aws_session_token = %s\n", tok);
		json_object_set_new(data, "credentials-file", json_stringn(b.data, b.len));
		kbuf_free_secret(&b);
		json_object_set_new(conf, "credentials-file", json_string("credentials-file"));
		json_object_set_new(conf, "profile", json_string("default"));
		return 0;
	}
	if (env_nonempty("AWS_ROLE_ARN") && env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE"))
		return kahu_error_set(KAHU_EUSAGE, "the S3 credentials are a web identity "
				      "(AWS_ROLE_ARN), which cannot be given to the movers: name a "
				      "credentials-file in the location, or give the movers a Secret "
				      "of your own (--mover-secret)");
	const char *f = env_nonempty("AWS_SHARED_CREDENTIALS_FILE");
	char *def = f ? xstrdup(f) : home_path(".aws/credentials");
	struct stat st;
	if (!def || stat(def, &st) < 0) {
		int rc = kahu_error_set(KAHU_ECONFIG, "no S3 credentials to give the movers: set "
					"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a "
					"credentials-file in the location, or write %s",
					def ? def : "~/.aws/credentials");
		free(def);
		return rc;
	}
	int rc = carry_file(data, "credentials-file", def, 1, "the S3 credentials file");
	free(def);
	if (rc < 0)
		return rc;
	json_object_set_new(conf, "credentials-file", json_string("credentials-file"));
	return 0;
}

int mover_bundle_build(const struct kahu_location *loc, const struct kahu_key *key,
		       json_t **data_out)
{
	const struct kahu_backend *be = NULL;
	const char *origin = NULL;
	int rc;

	*data_out = NULL;
	if (strcmp(loc->provider, "fs") == 0)
		return kahu_error_set(KAHU_EUSAGE, "location %s is a directory of this machine "
				      "(provider fs), which movers in the cluster cannot reach: use "
				      "an S3 or SFTP location (--volume-location), or --data-mover "
				      "local", loc->name);
	if (key == NULL && !loc->no_encryption)
		return kahu_error_set(KAHU_EINTERNAL, "location %s is encrypted but no key was "
				      "given for the movers", loc->name);
	if ((rc = store_find_provider(loc->provider, &be, &origin)) < 0)
		return kahu_error_wrap(rc, "location %s", loc->name);

	json_t *data = json_object(), *conf = json_object();
	int is_s3 = strcmp(loc->provider, "s3") == 0, is_sftp = strcmp(loc->provider, "sftp") == 0;
	for (size_t i = 0; i < loc->nkv; i++) {
		const char *k = loc->kv[i].key, *v = loc->kv[i].value;
		const struct kahu_backend_option *o = find_option(be, k);
		if (o && (o->flags & KAHU_BACKEND_OPT_PATH)) {
			int private_ = !(is_s3 && strcmp(k, "ca-bundle") == 0) &&
				       !(is_sftp && strcmp(k, "known-hosts") == 0);
			char what[96];
			snprintf(what, sizeof what, "the %s of location %s", k, loc->name);
			if ((rc = carry_file(data, k, v, private_, what)) < 0)
				goto fail;
			json_object_set_new(conf, k, json_string(k));
		} else {
			json_object_set_new(conf, k, json_string(v));
		}
	}
	if (is_s3 && !json_object_get(conf, "credentials-file")) {
		if ((rc = s3_credentials(data, conf)) < 0)
			goto fail;
	} else if (is_s3 && !json_object_get(conf, "profile") && env_nonempty("AWS_PROFILE")) {
		json_object_set_new(conf, "profile", json_string(getenv("AWS_PROFILE")));
	}
	if (is_sftp) {
		if (truthy(json_string_value(json_object_get(conf, "use-agent")))) {
			rc = kahu_error_set(KAHU_EUSAGE, "location %s authenticates with ssh-agent "
					    "(use-agent), which the movers cannot use: name an "
					    "identity-file", loc->name);
			goto fail;
		}
		if (!json_object_get(conf, "user")) {
			struct passwd *pw = getpwuid(getuid());
			if (pw)
				json_object_set_new(conf, "user", json_string(pw->pw_name));
		}
		static const char *const ids[] = { ".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa", NULL };
		for (size_t i = 0; ids[i] && !json_object_get(conf, "identity-file"); i++) {
			char *p = home_path(ids[i]);
			struct stat st;
			if (p && stat(p, &st) == 0) {
				if ((rc = carry_file(data, "identity-file", p, 1, "the SSH identity")) < 0) {
					free(p);
					goto fail;
				}
				json_object_set_new(conf, "identity-file", json_string("identity-file"));
			}
			free(p);
		}
		if (!json_object_get(conf, "known-hosts")) {
			char *p = home_path(".ssh/known_hosts");
			if (!p || (rc = carry_file(data, "known-hosts", p, 0, "the known_hosts file")) < 0) {
				if (!p)
					rc = kahu_error_set(KAHU_ECONFIG, "the home directory is not known");
				free(p);
				goto fail;
			}
			free(p);
			json_object_set_new(conf, "known-hosts", json_string("known-hosts"));
		}
	}

	json_t *l = json_pack("{s:s, s:o}", "provider", loc->provider, "config", conf);
	conf = NULL;
	if (key) {
		json_object_set_new(l, "keyFile", json_string(MOVER_BUNDLE_KEY));
		char b64[sodium_base64_ENCODED_LEN(KAHU_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1];
		sodium_bin2base64(b64, sizeof b64 - 1, key->master, KAHU_KEY_BYTES,
				  sodium_base64_VARIANT_ORIGINAL);
		size_t n = strlen(b64);
		b64[n] = '\n';
		json_object_set_new(data, MOVER_BUNDLE_KEY, json_stringn(b64, n + 1));
		sodium_memzero(b64, sizeof b64);
	} else {
		json_object_set_new(l, "encryption", json_false());
	}
	if (loc->access == LOCATION_READ_ONLY)
		json_object_set_new(l, "access", json_string("ReadOnly"));
	json_t *cfg = json_pack("{s:i, s:s, s:{s:o}}", "version", KAHU_CONFIG_VERSION, "defaultLocation",
				MOVER_BUNDLE_LOCATION, "locations", MOVER_BUNDLE_LOCATION, l);
	char *text = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(cfg);
	json_object_set_new(data, MOVER_BUNDLE_CONFIG, json_string(text));
	free(text);
	*data_out = data;
	return 0;
fail:
	json_decref(conf);
	json_decref(data);
	return rc;
}

void mover_bundle_free(json_t *data)
{
	const char *k;
	json_t *v;
	if (!data)
		return;
	json_object_foreach(data, k, v) {
		(void)k;
		if (json_is_string(v))
			sodium_memzero((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(data);
}

static int name_ok(const char *n)
{
	if (!*n || n[0] == '.' || strlen(n) > 253)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

int mover_bundle_write_dir(const json_t *data, const char *dir)
{
	struct strv made = STRV_INIT;
	const char *k;
	json_t *v;
	int rc;
	if ((rc = kahu_mkdirs(dir, 0700)) < 0)
		return rc;
	json_object_foreach((json_t *)data, k, v) {
		if (!name_ok(k) || !json_is_string(v)) {
			rc = kahu_error_set(KAHU_EINTERNAL, "bundle entry %s: not a file name", k);
			break;
		}
		char *p = xasprintf("%s/%s", dir, k);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			rc = kahu_error_set(errno == EEXIST ? KAHU_EEXIST : KAHU_EIO,
					    "cannot create %s: %s", p, strerror(errno));
			free(p);
			break;
		}
		strv_push_owned(&made, p);
		if ((rc = kahu_write_all(fd, json_string_value(v), json_string_length(v))) < 0 ||
		    fchmod(fd, 0400) < 0 || fsync(fd) < 0) {
			rc = rc < 0 ? rc : kahu_error_set(KAHU_EIO, "cannot write %s: %s", p, strerror(errno));
			close(fd);
			break;
		}
		close(fd);
	}
	/* all or nothing: what this call wrote goes again when a file failed */
	for (size_t i = 0; rc < 0 && i < made.n; i++)
		unlink(made.v[i]);
	strv_free(&made);
	return rc;
}

/* ---- exit statuses (kahu(1) EXIT STATUS; main.c maps codes the same way) ---- */

static int exit_status_of(int code)
{
	switch (code) {
	case KAHU_OK: return 0;
	case KAHU_EUSAGE: return 64;
	case KAHU_ECONFIG: return 78;
	case KAHU_ENOTFOUND: return 66;
	case KAHU_EEXIST: return 73;
	case KAHU_EDATA: case KAHU_EPROTO: return 65;
	case KAHU_ECRYPTO: case KAHU_EPERM: case KAHU_EFORBIDDEN: return 77;
	case KAHU_EIO: case KAHU_ENOSPC: return 74;
	case KAHU_EUNREACHABLE: return 69;
	case KAHU_ETLS: return 76;
	case KAHU_EAUTH: return 80;
	case KAHU_ETEMP: case KAHU_ELOCKED: case KAHU_ECONFLICT: return 75;
	case KAHU_EINTR: return kahu_cancelled() == SIGTERM ? 143 : 130;
	case KAHU_EPARTIAL: return 2;
	case KAHU_EINTERNAL: case KAHU_ENOMEM: return 70;
	default: return 1;
	}
}

int mover_exit_code(int st)
{
	switch (st) {
	case 0: return KAHU_OK;
	case 2: return KAHU_EPARTIAL;
	case 64: return KAHU_EUSAGE;
	case 65: return KAHU_EDATA;
	case 66: return KAHU_ENOTFOUND;
	case 69: return KAHU_EUNREACHABLE;
	case 70: return KAHU_EINTERNAL;
	case 73: return KAHU_EEXIST;
	case 74: return KAHU_EIO;
	case 75: return KAHU_ETEMP;
	case 76: return KAHU_ETLS;
	case 77: return KAHU_EPERM;
	case 78: return KAHU_ECONFIG;
	case 80: return KAHU_EAUTH;
	case 130: case 143: return KAHU_EINTR;
	default: return KAHU_EFAIL;
	}
}

static int code_of_name(const char *name)
{
	for (int c = KAHU_EFAIL; c >= KAHU_ELOCKED; c--)
		if (strcmp(kahu_err_name(c), name) == 0)
			return c;
	return KAHU_EFAIL;
}

/* ---- the termination message ---- */

static char *term_error(int code, const char *msg)
{
	char buf[MOVER_TERMINATION_MAX / 2];
	/* Kubernetes keeps 4096 bytes of a termination message: the error is cut to fit. */
	snprintf(buf, sizeof buf, "%s", msg && *msg ? msg : "failed");
	size_t n = strlen(buf);
	if (n == sizeof buf - 1) { /* cut: not inside a UTF-8 sequence */
		while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)buf[n - 1] & 0x80))
			n--;
		buf[n] = '\0';
	}
	json_t *j = json_pack("{s:s, s:s, s:i}", "error", buf, "code", kahu_err_name(code), "exit",
			      exit_status_of(code));
	if (!j) /* not UTF-8 (or cut inside a character) */
		j = json_pack("{s:s, s:s, s:i}", "error", "failed (the message is not UTF-8)", "code",
			      kahu_err_name(code), "exit", exit_status_of(code));
	char *t = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return t;
}

int mover_termination_write(const char *message)
{
	const char *path = getenv(MOVER_ENV_TERMINATION_LOG);
	if (!path || !*path) {
		if (access(MOVER_TERMINATION_LOG, W_OK) != 0)
			return 0;
		path = MOVER_TERMINATION_LOG;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kahu_error_set(KAHU_EIO, "cannot write the termination message to %s: %s", path,
				      strerror(errno));
	int rc = kahu_write_all(fd, message, strlen(message));
	if (rc == 0)
		rc = kahu_write_all(fd, "\n", 1);
	if (close(fd) < 0 && rc == 0)
		rc = kahu_error_set(KAHU_EIO, "cannot write %s: %s", path, strerror(errno));
	return rc;
}

void mover_term_clear(struct mover_term *t)
{
	free(t->error);
	free(t->result);
	json_decref(t->doc);
	memset(t, 0, sizeof *t);
}

static int get_u64(json_t *o, const char *k, uint64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int hex_ok(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int mover_term_parse(const char *text, struct mover_term *out)
{
	json_error_t je;
	memset(out, 0, sizeof *out);
	if (!text || !*text)
		return kahu_error_set(KAHU_EDATA, "the mover left no termination message");
	size_t len = strlen(text);
	if (len > MOVER_TERMINATION_MAX)
		return kahu_error_set(KAHU_EDATA, "the mover's termination message is longer than %d "
				      "bytes", MOVER_TERMINATION_MAX);
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return kahu_error_set(KAHU_EDATA, "the mover's termination message is not a JSON "
				      "object%s%s", j ? "" : ": ", j ? "" : je.text);
	}
	out->doc = j;
	json_t *err = json_object_get(j, "error");
	if (err) {
		json_t *ex = json_object_get(j, "exit");
		const char *code = json_string_value(json_object_get(j, "code"));
		if (!json_is_string(err) || !json_is_integer(ex) || json_integer_value(ex) < 1 ||
		    json_integer_value(ex) > 255 || json_object_get(j, "result")) {
			mover_term_clear(out);
			return kahu_error_set(KAHU_EDATA, "the mover's termination message: an error "
					      "needs a string \"error\" and an \"exit\" status from 1 to 255");
		}
		out->failed = 1;
		out->error = xstrdup(json_string_value(err));
		out->exit_status = (int)json_integer_value(ex);
		out->code = code ? code_of_name(code) : mover_exit_code(out->exit_status);
		return 0;
	}
	json_t *res = json_object_get(j, "result");
	if (res) {
		const char *h = json_string_value(json_object_get(j, "blake2b"));
		if (!json_is_string(res) || !h || !hex_ok(h, KAHU_HASH_HEX_LEN) ||
		    get_u64(j, "files", &out->files) < 0 || get_u64(j, "bytes", &out->bytes) < 0) {
			mover_term_clear(out);
			return kahu_error_set(KAHU_EDATA, "the mover's termination message: a result "
					      "needs \"result\", a BLAKE2b \"blake2b\" of 64 hex digits, "
					      "\"files\" and \"bytes\"");
		}
		out->result = xstrdup(json_string_value(res));
		memcpy(out->blake2b, h, KAHU_HASH_HEX_LEN + 1);
		return 0;
	}
	/* a restore's counts */
	uint64_t u;
	static const char *const counts[] = { "files", "dirs", "links", "bytes", "deleted", "retries", NULL };
	for (size_t i = 0; counts[i]; i++)
		if (get_u64(j, counts[i], &u) < 0) {
			mover_term_clear(out);
			return kahu_error_set(KAHU_EDATA, "the mover's termination message has neither "
					      "\"error\", \"result\" nor the counts of a restore "
					      "(\"%s\" missing or not a count)", counts[i]);
		}
	get_u64(j, "files", &out->files);
	get_u64(j, "bytes", &out->bytes);
	return 0;
}

int mover_restore_result_parse(const char *termination_message, struct vol_restore_result *out)
{
	struct mover_term t;
	memset(out, 0, sizeof *out);
	int rc = mover_term_parse(termination_message, &t);
	if (rc < 0)
		return rc;
	if (t.failed) {
		rc = kahu_error_set(t.code, "%s", t.error);
		json_t *inc = json_object_get(t.doc, "incomplete");
		out->incomplete = json_is_true(inc);
		mover_term_clear(&t);
		return rc;
	}
	if (t.result) {
		mover_term_clear(&t);
		return kahu_error_set(KAHU_EDATA, "the mover's termination message is a backup's, not "
				      "a restore's");
	}
	uint64_t u = 0;
	get_u64(t.doc, "files", &out->files);
	get_u64(t.doc, "dirs", &out->dirs);
	get_u64(t.doc, "links", &out->links);
	get_u64(t.doc, "bytes", &out->bytes);
	get_u64(t.doc, "deleted", &out->deleted);
	get_u64(t.doc, "retries", &u);
	out->retries = u > UINT_MAX ? UINT_MAX : (unsigned)u;
	out->incomplete = json_is_true(json_object_get(t.doc, "incomplete"));
	if (get_u64(t.doc, "durationMs", &u) == 0)
		out->duration_ms = u > INT64_MAX ? INT64_MAX : (int64_t)u;
	mover_term_clear(&t);
	return 0;
}

/* ---- the result object ---- */

char *mover_result_path(const struct mover_spec *s, int encrypted)
{
	return layout_mover_result(s->backup, s->vid, s->attempt, encrypted);
}

static json_t *result_doc(const struct mover_spec *s, const struct vol_backup_result *r)
{
	const struct vol_counts *c = &r->counts;
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:i, "
			 "s:i, s:i, s:I, s:O}",
			 "kind", MOVER_RESULT_KIND, "version", 1, "backup", s->backup, "vid", s->vid,
			 "attempt", s->attempt, "counts", "files", (json_int_t)c->files, "dirs",
			 (json_int_t)c->dirs, "links", (json_int_t)c->links, "bytesRead",
			 (json_int_t)c->bytes_read, "bytesStored", (json_int_t)c->bytes_stored,
			 "bytesTransferred", (json_int_t)c->bytes_transferred, "unchanged",
			 (json_int_t)c->unchanged, "segments", (int)r->segments, "retries",
			 (int)r->retries, "vanished", (int)r->vanished, "durationMs",
			 (json_int_t)r->duration_ms, "objects", r->objects);
}

static int result_bad(const char *what)
{
	return kahu_error_set(KAHU_EDATA, "the mover's result: %s", what);
}

int mover_result_parse(const struct mover_spec *s, const char *text, size_t len,
		       struct vol_backup_result *out)
{
	json_error_t je;
	memset(out, 0, sizeof *out);
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	int rc = 0;
	if (!json_is_object(j)) {
		rc = kahu_error_set(KAHU_EDATA, "the mover's result: not a JSON object%s%s",
				    j ? "" : ": ", j ? "" : je.text);
		goto out;
	}
	const char *kind = json_string_value(json_object_get(j, "kind"));
	if (!kind || strcmp(kind, MOVER_RESULT_KIND) != 0) {
		rc = result_bad("kind is not " MOVER_RESULT_KIND);
		goto out;
	}
	if (json_integer_value(json_object_get(j, "version")) != 1 ||
	    !json_is_integer(json_object_get(j, "version"))) {
		rc = result_bad("a version this kahu does not read (1)");
		goto out;
	}
	const char *b = json_string_value(json_object_get(j, "backup"));
	const char *v = json_string_value(json_object_get(j, "vid"));
	const char *a = json_string_value(json_object_get(j, "attempt"));
	if (!b || !v || !a || strcmp(b, s->backup) != 0 || strcmp(v, s->vid) != 0 ||
	    strcmp(a, s->attempt) != 0) {
		rc = result_bad("it was written for another backup, volume or attempt");
		goto out;
	}
	json_t *c = json_object_get(j, "counts");
	struct vol_counts *vc = &out->counts;
	uint64_t u[4];
	if (!json_is_object(c) || get_u64(c, "files", &vc->files) < 0 ||
	    get_u64(c, "dirs", &vc->dirs) < 0 || get_u64(c, "links", &vc->links) < 0 ||
	    get_u64(c, "bytesRead", &vc->bytes_read) < 0 ||
	    get_u64(c, "bytesStored", &vc->bytes_stored) < 0 ||
	    get_u64(c, "bytesTransferred", &vc->bytes_transferred) < 0 ||
	    get_u64(c, "unchanged", &vc->unchanged) < 0 || get_u64(j, "segments", &u[0]) < 0 ||
	    get_u64(j, "retries", &u[1]) < 0 || get_u64(j, "vanished", &u[2]) < 0 ||
	    get_u64(j, "durationMs", &u[3]) < 0 || u[0] > LAYOUT_VOLUME_SEGMENT_MAX ||
	    u[1] > UINT_MAX || u[2] > UINT_MAX || u[3] > INT64_MAX) {
		rc = result_bad("counts missing or not counts");
		goto out;
	}
	out->segments = (unsigned)u[0];
	out->retries = (unsigned)u[1];
	out->vanished = (unsigned)u[2];
	out->duration_ms = (int64_t)u[3];
	json_t *objs = json_object_get(j, "objects"), *o;
	size_t i;
	if (!json_is_array(objs) || json_array_size(objs) == 0) {
		rc = result_bad("no objects (a volume has at least its index)");
		goto out;
	}
	char prefix[sizeof "volumes/" + VOL_ID_HEX_LEN + 1];
	snprintf(prefix, sizeof prefix, "volumes/%s/", s->vid);
	json_t *clean = json_array();
	json_array_foreach(objs, i, o) {
		const char *p = json_string_value(json_object_get(o, "path"));
		const char *h = json_string_value(json_object_get(o, "blake2b"));
		uint64_t size;
		if (s->run && (!json_is_object(o) || json_object_size(o) != 2 || !p ||
			       get_u64(o, "size", &size) < 0)) {
			/* bound to the run (manifest format 2): no hash of the stored bytes */
			rc = result_bad("an object of a backup bound to its run without path and "
					"size alone");
		} else if (!s->run && (!json_is_object(o) || json_object_size(o) != 3 || !p || !h ||
				       !hex_ok(h, KAHU_HASH_HEX_LEN) || get_u64(o, "size", &size) < 0)) {
			rc = result_bad("an object without path, size and blake2b");
		} else if (strncmp(p, prefix, strlen(prefix)) != 0 || strchr(p + strlen(prefix), '/') ||
			   !p[strlen(prefix)]) {
			rc = kahu_error_set(KAHU_EDATA, "the mover's result names an object outside "
					    "its volume's directory (%s): %.200s", prefix, p);
		} else {
			char *full = layout_backup_object(s->backup, p);
			if (store_key_valid(full) < 0)
				rc = kahu_error_set(KAHU_EDATA, "the mover's result names an invalid "
						    "object: %.200s", p);
			free(full);
		}
		if (rc < 0) {
			json_decref(clean);
			goto out;
		}
		if (s->run)
			json_array_append_new(clean, json_pack("{s:s, s:I}", "path", p, "size",
							       (json_int_t)size));
		else
			json_array_append_new(clean, json_pack("{s:s, s:I, s:s}", "path", p, "size",
							       (json_int_t)size, "blake2b", h));
	}
	out->objects = clean;
out:
	json_decref(j);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

struct stat_ctx {
	json_t *objects;   /* expected, by path relative to the backup */
	const char *backup;
};

int mover_result_read(struct kahu_store *st, const struct kahu_key *key,
		      const struct mover_spec *s, const char *termination_message,
		      struct vol_backup_result *out)
{
	struct mover_term t;
	struct kbuf stored = KBUF_INIT, plain = KBUF_INIT;
	struct seal_reader sr = { 0 };
	char *path = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = mover_term_parse(termination_message, &t)) < 0)
		return rc;
	if (t.failed) {
		rc = kahu_error_set(t.code, "%s", t.error);
		out->reason = xstrdup(t.error);
		goto out;
	}
	path = mover_result_path(s, key != NULL);
	if (!t.result || strcmp(t.result, path) != 0) {
		rc = kahu_error_set(KAHU_EDATA, "the mover's termination message names %s as its "
				    "result, not %s", t.result ? t.result : "no object", path);
		goto out;
	}
	rc = store_read_small(st, path, MOVER_RESULT_MAX, &stored);
	if (rc == KAHU_ENOTFOUND) {
		rc = kahu_error_set(KAHU_EDATA, "the mover's result %s is not on the location", path);
		goto out;
	}
	if (rc < 0)
		goto out;
	char hex[KAHU_HASH_HEX_LEN + 1];
	kahu_key_hash(stored.data ? stored.data : "", stored.len, hex);
	if (strcmp(hex, t.blake2b) != 0) {
		rc = kahu_error_set(KAHU_EDATA, "the mover's result %s is not what the mover wrote: "
				    "its BLAKE2b is %s, the termination message says %s", path, hex,
				    t.blake2b);
		goto out;
	}
	if ((rc = seal_reader_open(&sr, key, path, kahu_write_to_kbuf, &plain)) < 0 ||
	    (rc = seal_reader_feed(&sr, stored.data, stored.len)) < 0 ||
	    (rc = seal_reader_finish(&sr)) < 0)
		goto out;
	if ((rc = mover_result_parse(s, plain.data ? plain.data : "", plain.len, out)) < 0)
		goto out;
	json_t *o;
	size_t i;
	json_array_foreach(out->objects, i, o) {
		const char *rel = json_string_value(json_object_get(o, "path"));
		uint64_t want = (uint64_t)json_integer_value(json_object_get(o, "size"));
		char *full = layout_backup_object(s->backup, rel);
		struct store_stat ss;
		rc = store_stat(st, full, &ss);
		if (rc == KAHU_ENOTFOUND)
			rc = kahu_error_set(KAHU_EDATA, "the mover's result lists %s, which is not on "
					    "the location", full);
		else if (rc == 0 && ss.size != want)
			rc = kahu_error_set(KAHU_EDATA, "the mover's result lists %s with %" PRIu64
					    " bytes, the location holds %" PRIu64, full, want, ss.size);
		free(full);
		if (rc < 0)
			goto out;
	}
	if ((rc = store_remove(st, path)) == KAHU_ENOTFOUND) {
		kahu_error_clear();
		rc = 0;
	}
out:
	if (rc < 0 && out->objects) {
		json_decref(out->objects);
		out->objects = NULL;
	}
	if (rc < 0 && !out->reason)
		out->reason = xstrdup(kahu_error_last());
	seal_reader_close(&sr);
	kbuf_free(&stored);
	kbuf_free(&plain);
	free(path);
	mover_term_clear(&t);
	return rc;
}

/* ---- the worker ---- */

/* Resolve the bundle's file names (options flagged KAHU_BACKEND_OPT_PATH that hold a
 * relative name) against its directory. */
static int resolve_bundle_paths(struct kahu_location *loc, const char *dir)
{
	const struct kahu_backend *be = NULL;
	const char *origin = NULL;
	int rc = store_find_provider(loc->provider, &be, &origin);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < loc->nkv; i++) {
		const struct kahu_backend_option *o = find_option(be, loc->kv[i].key);
		const char *v = loc->kv[i].value;
		if (!o || !(o->flags & KAHU_BACKEND_OPT_PATH) || v[0] == '/' || v[0] == '~')
			continue;
		if (strchr(v, '/') || v[0] == '.' || !*v)
			return kahu_error_set(KAHU_ECONFIG, "the bundle's %s names %s, not a file of "
					      "the bundle", loc->kv[i].key, v);
		char *p = xasprintf("%s/%s", dir, v);
		free((char *)loc->kv[i].value);
		loc->kv[i].value = p;
	}
	return 0;
}

static char *term_backup(const char *path, const char *hash, const struct vol_backup_result *r)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "result", path, "blake2b", hash, "files",
			      (json_int_t)r->counts.files, "bytes", (json_int_t)r->counts.bytes_transferred);
	char *t = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return t;
}

static char *term_restore(const struct vol_restore_result *r)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:i, s:b, s:I}", "files", (json_int_t)r->files,
			      "dirs", (json_int_t)r->dirs, "links", (json_int_t)r->links, "bytes",
			      (json_int_t)r->bytes, "deleted", (json_int_t)r->deleted, "retries",
			      (int)r->retries, "incomplete", r->incomplete, "durationMs",
			      (json_int_t)r->duration_ms);
	char *t = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return t;
}

/* Remove what a backup wrote (its result could not be stored). */
static void remove_objects(struct kahu_store *st, const char *backup, json_t *objects)
{
	json_t *o;
	size_t i;
	json_array_foreach(objects, i, o) {
		char *full = layout_backup_object(backup, json_string_value(json_object_get(o, "path")));
		if (store_remove(st, full) < 0 && kahu_error_code() != KAHU_ENOTFOUND)
			log_warn("cannot remove %s: %s", full, kahu_error_last());
		free(full);
	}
}

static int write_result(struct kahu_store *st, const struct kahu_key *key, const struct mover_spec *s,
			const struct vol_backup_result *r, char **termination)
{
	char *path = mover_result_path(s, key != NULL);
	json_t *doc = result_doc(s, r);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	struct kbuf sealed = KBUF_INIT;
	struct seal_writer sw = { 0 };
	int rc;
	json_decref(doc);
	if ((rc = seal_open(&sw, key, path, 3, kahu_write_to_kbuf, &sealed)) == 0 &&
	    (rc = seal_write(&sw, text, strlen(text))) == 0 &&
	    (rc = seal_write(&sw, "\n", 1)) == 0 && (rc = seal_finish(&sw)) == 0)
		rc = store_write_small(st, path, sealed.data, sealed.len);
	if (rc == 0) {
		char hex[KAHU_HASH_HEX_LEN + 1];
		kahu_key_hash(sealed.data, sealed.len, hex);
		*termination = term_backup(path, hex, r);
	} else {
		kahu_error_wrap(rc, "writing the mover's result %s", path);
	}
	seal_close(&sw);
	kbuf_free(&sealed);
	free(text);
	free(path);
	return rc;
}

struct leftover_ud {
	struct strv keys;
};

static int leftover_cb(void *ud, const char *key, const struct store_stat *st)
{
	(void)st;
	strv_push(&((struct leftover_ud *)ud)->keys, key);
	return 0;
}

/* Before a backup mover writes: the backup must not be complete yet, and what an earlier
 * attempt for this volume left (a mover killed or evicted while writing, whose objects
 * no manifest references) is removed, so that the attempt starts from nothing. */
static int clear_earlier_attempts(struct kahu_store *st, const struct mover_spec *s)
{
	char *manifest = layout_backup_manifest(s->backup);
	struct store_stat ss;
	int rc = store_stat(st, manifest, &ss);
	free(manifest);
	if (rc == 0)
		return kahu_error_set(KAHU_EEXIST, "backup %s is already complete on the location: a "
				      "mover does not write into it", s->backup);
	if (rc != KAHU_ENOTFOUND)
		return rc;
	kahu_error_clear();
	struct leftover_ud lu = { STRV_INIT };
	char *dir = layout_backup_dir(s->backup);
	char *vols = xasprintf("%svolumes/%s/", dir, s->vid);
	char *res = xasprintf("%s" LAYOUT_MOVERS "%s-", dir, s->vid);
	if ((rc = store_list(st, vols, leftover_cb, &lu)) == 0)
		rc = store_list(st, res, leftover_cb, &lu);
	for (size_t i = 0; rc == 0 && i < lu.keys.n; i++) {
		rc = store_remove(st, lu.keys.v[i]);
		if (rc == KAHU_ENOTFOUND) {
			kahu_error_clear();
			rc = 0;
		}
	}
	if (rc == 0 && lu.keys.n)
		log_warn("%s: removed %zu objects an earlier attempt left", s->label, lu.keys.n);
	strv_free(&lu.keys);
	free(dir);
	free(vols);
	free(res);
	return rc;
}

/* ---- live progress ---- */

size_t mover_progress_line(char *buf, size_t size, const struct mover_progress *p)
{
	int n = snprintf(buf, size, MOVER_PROGRESS_PREFIX "bytes=%" PRIu64 " entries=%" PRIu64 "\n",
			 p->bytes, p->entries);
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

/* A decimal u64 at s[0..n): digits only, no leading zero but "0". */
static int progress_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* One field "key=value" at s[0..n) (no spaces in it). */
static int progress_field(const char *s, size_t n, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	if (n <= kl || memcmp(s, key, kl) != 0 || s[kl] != '=')
		return -1;
	return progress_u64(s + kl + 1, n - kl - 1, out);
}

/* A field a later version may add: [a-z][a-z0-9_]* = [A-Za-z0-9._-]+, bounded. */
static int progress_other(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || n > 96 || s[0] < 'a' || s[0] > 'z')
		return -1;
	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
		i++;
	if (i == n || s[i] != '=' || i + 1 == n)
		return -1;
	for (i++; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return -1;
	return 0;
}

static int progress_one(const char *l, size_t n, struct mover_progress *out)
{
	size_t pl = strlen(MOVER_PROGRESS_PREFIX);
	if (n < pl || n > 512 || memcmp(l, MOVER_PROGRESS_PREFIX, pl) != 0)
		return 0;
	struct mover_progress p = { 0, 0 };
	const char *s = l + pl, *end = l + n;
	for (int field = 0; s < end || field < 2; field++) {
		const char *sp = memchr(s, ' ', (size_t)(end - s));
		size_t fl = (size_t)((sp ? sp : end) - s);
		if (field == 0 ? progress_field(s, fl, "bytes", &p.bytes) < 0 :
		    field == 1 ? progress_field(s, fl, "entries", &p.entries) < 0 :
		    progress_other(s, fl) < 0)
			return 0;
		s += fl;
		if (sp && ++s == end)
			return 0;         /* a trailing space */
	}
	*out = p;
	return 1;
}

int mover_progress_parse(const char *text, size_t len, struct mover_progress *out)
{
	if (!text)
		return 0;
	/* the complete lines, newest first */
	size_t end = len;
	while (end > 0 && text[end - 1] != '\n')
		end--;
	while (end > 0) {
		size_t nl = end - 1, start = nl;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		if (progress_one(text + start, nl - start, out))
			return 1;
		end = start;
	}
	return 0;
}

struct progress_ud {
	struct timespec last;
	int written;                   /* lines so far */
	int test_stop;                 /* MOVER_ENV_TEST_STOP=1: stop after the first line */
};

/* The pod's log: a progress line when due (the first entry, then every
 * MOVER_PROGRESS_EVERY_S seconds). */
static void progress(void *ud, const struct vol_progress *p)
{
	struct progress_ud *pu = ud;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pu->written && (now.tv_sec - pu->last.tv_sec) * 1000000000LL + (now.tv_nsec - pu->last.tv_nsec) <
				   (long long)MOVER_PROGRESS_EVERY_S * 1000000000LL)
		return;
	char line[128];
	struct mover_progress mp = { p->bytes, p->files };
	size_t n = mover_progress_line(line, sizeof line, &mp);
	ssize_t w;
	do
		w = write(STDERR_FILENO, line, n);
	while (w < 0 && errno == EINTR);
	pu->last = now;
	if (pu->written++ == 0 && pu->test_stop)
		raise(SIGSTOP);
}

int mover_run(const struct mover_spec *s, const char *bundle_dir, char **termination)
{
	struct kahu_config *cfg = NULL;
	struct repo *repo = NULL;
	const struct kahu_key *key = NULL;
	struct vol_local local = { 0 };
	char *cfg_path = NULL, *key_path = NULL;
	const char *mount = s->mount_path ? s->mount_path : MOVER_VOLUME_MOUNT;
	const char *ts = getenv(MOVER_ENV_TEST_STOP);
	struct progress_ud pu = { .test_stop = ts && strcmp(ts, "1") == 0 };
	int rc;

	*termination = NULL;
	if (!bundle_dir)
		bundle_dir = MOVER_BUNDLE_MOUNT;
	cfg_path = xasprintf("%s/" MOVER_BUNDLE_CONFIG, bundle_dir);
	key_path = xasprintf("%s/" MOVER_BUNDLE_KEY, bundle_dir);
	struct stat st;
	if (stat(bundle_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "the mover's bundle %s is not a directory (is "
				    "the run's Secret mounted?)", bundle_dir);
		goto out;
	}
	if (stat(cfg_path, &st) < 0) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "the mover's bundle has no %s", cfg_path);
		goto out;
	}
	if ((rc = config_load(cfg_path, &cfg)) < 0)
		goto out;
	const struct kahu_location *cl = NULL;
	if ((rc = config_location(cfg, MOVER_BUNDLE_LOCATION, &cl)) < 0)
		goto out;
	struct kahu_location *loc = (struct kahu_location *)cl;
	if ((rc = resolve_bundle_paths(loc, bundle_dir)) < 0)
		goto out;
	if (!s->restore && loc->access == LOCATION_READ_ONLY) {
		rc = kahu_error_set(KAHU_EPERM, "the mover's location is read-only");
		goto out;
	}
	struct repo_opts ro = { .config = cfg, .location = MOVER_BUNDLE_LOCATION,
				.key_file = loc->no_encryption ? NULL : key_path };
	if ((rc = repo_open(&ro, &repo)) < 0)
		goto out;
	if (!loc->no_encryption && (rc = repo_key(repo, &key)) < 0)
		goto out;
	struct kahu_store *store = repo_store(repo);
	if (s->run && !key) {
		rc = kahu_error_set(KAHU_EUSAGE, "mover spec: run: the location is not encrypted, "
				    "so nothing is bound to a run");
		goto out;
	}
	if (stat(mount, &st) < 0) {
		rc = kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO, "%s: the volume's "
				    "mount %s: %s", s->label, mount, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = kahu_error_set(KAHU_EDATA, "%s: the volume's mount %s is not a directory",
				    s->label, mount);
		goto out;
	}
	if (!s->restore) {
		struct vol_backup_spec bs = {
			.ops = &vol_local_ops, .ctx = &local, .mount_path = mount,
			.backup = s->backup, .vid = s->vid, .st = store, .key = key,
			.compression_level = s->compression_level, .parent = s->parent,
			.exclude = s->exclude.n ? (const char *const *)s->exclude.v : NULL,
			.retries = -1, .segment_bytes = s->segment_bytes, .label = s->label,
			.progress = progress, .progress_ud = &pu, .run = s->run,
			.parent_run = s->parent_run,
		};
		struct vol_backup_result br = { 0 };
		rc = clear_earlier_attempts(store, s);
		if (rc == 0)
			rc = vol_backup(&bs, &br);
		if (rc == 0) {
			rc = write_result(store, key, s, &br, termination);
			if (rc < 0) {
				struct kahu_error_state es;
				kahu_error_capture(&es);
				remove_objects(store, s->backup, br.objects);
				kahu_error_restore(&es);
			} else {
				log_info("%s: %" PRIu64 " files, %" PRIu64 " bytes read, %" PRIu64
					 " stored, %u segments", s->label, br.counts.files,
					 br.counts.bytes_read, br.counts.bytes_stored, br.segments);
			}
		}
		vol_backup_result_free(&br);
	} else {
		struct strset chain = STRSET_INIT;
		const char *cname;
		json_t *crun;
		json_object_foreach(s->chain_runs, cname, crun)
			strset_put(&chain, cname, json_string_value(crun));
		struct vol_restore_spec rs = {
			.ops = &vol_local_ops, .ctx = &local, .mount_path = mount, .st = store,
			.key = key, .backup = s->backup, .vid = s->vid,
			.delete_extra = s->delete_extra != 0, .progress = progress,
			.progress_ud = &pu, .label = s->label, .run = s->run,
			.chain_runs = s->chain_runs ? &chain : NULL,
		};
		struct vol_restore_result rr = { 0 };
		rc = vol_restore(&rs, &rr);
		strset_free(&chain);
		if (rc == 0) {
			*termination = term_restore(&rr);
		} else if (rr.incomplete) {
			struct kahu_error_state es;
			kahu_error_capture(&es);
			char *t = term_error(es.code, es.msg);
			json_t *j = json_loads(t, 0, NULL);
			free(t);
			json_object_set_new(j, "incomplete", json_true());
			*termination = json_dumps(j, JSON_COMPACT);
			json_decref(j);
			kahu_error_restore(&es);
		}
	}
out:
	if (rc < 0 && !*termination)
		*termination = term_error(rc, kahu_error_last());
	repo_close(repo);
	config_free(cfg);
	free(cfg_path);
	free(key_path);
	return rc;
}
