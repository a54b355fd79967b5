#include "engine/bread.h"
#include "archive/key.h"
#include "archive/seal.h"
#include "archive/manifest.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PULL_SIZE (1u << 20)

struct bread {
	struct kahu_store *st;
	char *key;
	uint64_t off, size;
	struct kbuf buf;
	size_t pos;
	struct kahu_hash *hash;  /* NULL for an object bound to its run */
	char *want_hash;
	bool bound;              /* no hash: its envelope must carry `run` */
	uint8_t run[16];
	bool run_checked;        /* read through the envelope with the run expected */
	struct bundle_reader *br;
};

#define MANIFEST_MAX (64u << 20)

int bread_manifest(struct kahu_store *st, const struct kahu_key *key, const char *name,
		   int verify, struct manifest **out)
{
	struct kbuf text = KBUF_INIT;
	struct manifest *m = NULL;
	char *path = layout_backup_manifest(name);
	int rc;

	*out = NULL;
	if ((rc = store_read_small(st, path, MANIFEST_MAX, &text)) < 0)
		goto out;
	if ((rc = manifest_parse(text.data ? text.data : "", text.len, &m)) < 0) {
		kahu_error_wrap(rc, "backup %s", name);
		goto out;
	}
	if (verify && (rc = manifest_authenticate(m, m->encrypted ? key : NULL)) < 0)
		goto out;
	*out = m;
	m = NULL;
out:
	manifest_free(m);
	kbuf_free(&text);
	free(path);
	return rc;
}

int bread_chain_runs(struct kahu_store *st, const struct kahu_key *key, const char *name,
		     bool allow_unencrypted, struct strset *out)
{
	char *cur = xstrdup(name);
	int rc = 0;
	for (unsigned n = 0; cur; n++) {
		struct manifest *m = NULL;
		if (n > 1000) {
			rc = kahu_error_set(KAHU_EDATA, "the backup chain of %s does not end", name);
			break;
		}
		if (strset_get(out, cur)) {
			rc = kahu_error_set(KAHU_EDATA, "the backup chain of %s holds %s twice", name, cur);
			break;
		}
		if ((rc = bread_manifest(st, key, cur, 1, &m)) < 0) {
			if (rc == KAHU_ENOTFOUND && n > 0)
				kahu_error_set(rc, "backup %s, in the chain of %s, is missing", cur, name);
			break;
		}
		if (key && !m->encrypted && !allow_unencrypted) {
			rc = kahu_error_set(KAHU_ECRYPTO, "backup %s (in the chain of %s) is not "
					    "encrypted, so it cannot be authenticated", cur, name);
			manifest_free(m);
			break;
		}
		bool bound = false;
		for (size_t i = 0; i < m->n_objects && !bound; i++)
			bound = !m->objects[i].blake2b[0];
		strset_put(out, cur, bound && m->run[0] ? m->run : "");
		free(cur);
		cur = m->parent && *m->parent ? xstrdup(m->parent) : NULL;
		manifest_free(m);
	}
	free(cur);
	return rc;
}

int backup_read_manifest(struct repo *repo, const char *name, int verify, struct manifest **out)
{
	const struct kahu_key *key = NULL;
	struct manifest *m = NULL;
	int rc;

	*out = NULL;
	if ((rc = repo_valid_name(name)) < 0)
		return rc;
	rc = bread_manifest(repo_store(repo), NULL, name, 0, &m);
	if (rc == KAHU_ENOTFOUND) {
		int state = repo_backup_exists(repo, name);
		if (state == REPO_BACKUP_VOLUME_DATA)
			return kahu_error_set(KAHU_ENOTFOUND, "no backup named %s on location %s: backups/%s/ "
					      "there holds the volume data of a backup of another location",
					      name, repo_location(repo)->name, name);
		return kahu_error_set(KAHU_ENOTFOUND, state == REPO_BACKUP_INCOMPLETE ?
				      "backup %s is incomplete (an interrupted run): only prune can remove it" :
				      "no backup named %s on location %s", name, repo_location(repo)->name);
	}
	/* The key is needed only to authenticate an encrypted manifest. */
	if (rc == 0 && verify && m->encrypted)
		rc = repo_key(repo, &key);
	if (rc == 0 && verify)
		rc = manifest_authenticate(m, key);
	if (rc < 0) {
		manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

const struct manifest_object *bread_find_object(const struct manifest *m, const char *object)
{
	for (size_t i = 0; m && i < m->n_objects; i++)
		if (layout_rel_is(m->objects[i].path, object))
			return &m->objects[i];
	return NULL;
}

static int append(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

int bread_pull(void *ud, void *buf, size_t cap, size_t *got)
{
	struct bread *b = ud;
	if (b->pos == b->buf.len) {
		kbuf_reset(&b->buf);
		b->pos = 0;
		if (b->off < b->size) {
			uint64_t want = b->size - b->off < PULL_SIZE ? b->size - b->off : PULL_SIZE;
			int rc = store_get(b->st, b->key, b->off, want, append, &b->buf);
			if (rc < 0)
				return rc;
			if (b->buf.len == 0)
				return kahu_error_set(KAHU_EDATA, "%s: shorter than the manifest says (truncated)", b->key);
			b->off += b->buf.len;
			if (b->hash)
				kahu_hash_update(b->hash, b->buf.data, b->buf.len);
		}
	}
	size_t n = b->buf.len - b->pos < cap ? b->buf.len - b->pos : cap;
	memcpy(buf, b->buf.data + b->pos, n);
	b->pos += n;
	*got = n;
	return 0;
}

int bread_open_raw(struct kahu_store *st, const char *backup, const struct manifest_object *object,
		   struct bread **out)
{
	struct bread *b = xcalloc(1, sizeof *b);
	struct store_stat ss;
	int rc;

	*out = NULL;
	b->st = st;
	b->key = layout_backup_object(backup, object->path);
	b->size = object->size;
	b->bound = manifest_object_run(object, b->run);
	if (!b->bound) {
		b->want_hash = xstrdup(object->blake2b);
		b->hash = kahu_hash_new();
	}
	rc = store_stat(st, b->key, &ss);
	if (rc == KAHU_ENOTFOUND)
		rc = kahu_error_set(KAHU_EDATA, "%s is missing from the location", b->key);
	else if (rc == 0 && ss.size != b->size)
		rc = kahu_error_set(KAHU_EDATA, "%s has %llu bytes, the manifest says %llu (truncated or replaced)",
				    b->key, (unsigned long long)ss.size, (unsigned long long)b->size);
	if (rc < 0) {
		bread_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

int bread_open_bundle(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		      const struct manifest_object *object, struct bread **out)
{
	int rc = bread_open_raw(st, backup, object, out);
	if (rc < 0)
		return rc;
	if ((*out)->bound) /* kahu binds only the volume data to its run */
		rc = kahu_error_set(KAHU_EDATA, "%s carries no hash in the manifest: not a metadata "
				    "archive kahu writes", (*out)->key);
	else
		rc = bundle_reader_new(key, (*out)->key, bread_pull, *out, &(*out)->br);
	if (rc < 0) {
		bread_free(*out);
		*out = NULL;
	}
	return rc;
}

struct bundle_reader *bread_bundle(struct bread *b) { return b->br; }
const char *bread_path(const struct bread *b) { return b->key; }

int bread_finish(struct bread *b)
{
	char buf[65536], hex[KAHU_HASH_HEX_LEN + 1];
	size_t got;
	int rc;

	if (b->br)
		rc = bundle_reader_finish(b->br);
	else
		while ((rc = bread_pull(b, buf, sizeof buf, &got)) == 0 && got)
			;
	if (rc < 0)
		return rc;
	if (b->bound) {
		/* Authenticated by its envelope, bound to the manifest's run: read with the key. */
		if (b->off != b->size)
			return kahu_error_set(KAHU_EDATA, "%s: shorter than the manifest says (truncated)", b->key);
		if (!b->run_checked)
			return kahu_error_set(KAHU_EINTERNAL, "%s is bound to its backup's run and has no "
					      "hash: it is checked by opening it with the key", b->key);
		return 0;
	}
	kahu_hash_final_hex(b->hash, hex);
	kahu_hash_free(b->hash);
	b->hash = NULL;
	if (b->off != b->size || !b->want_hash || strcmp(hex, b->want_hash) != 0)
		return kahu_error_set(KAHU_EDATA, "%s does not match the hash in the manifest (altered or replaced)", b->key);
	return 0;
}

void bread_free(struct bread *b)
{
	if (!b)
		return;
	bundle_reader_free(b->br);
	kahu_hash_free(b->hash);
	kbuf_free(&b->buf);
	free(b->key);
	free(b->want_hash);
	free(b);
}

int bread_index(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		const struct manifest *m, bread_line_fn fn, void *ud)
{
	return bread_index_spec(st, key, backup, m, fn, ud, NULL);
}

int bread_index_spec(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		     const struct manifest *m, bread_line_fn fn, void *ud, json_t **spec)
{
	const struct manifest_object *obj = bread_find_object(m, LAYOUT_METADATA);
	struct bread *b = NULL;
	struct bundle_entry e;
	struct kbuf line = KBUF_INIT;
	int rc, found = 0;

	if (!obj)
		return kahu_error_set(KAHU_EDATA, "the manifest of backup %s names no metadata archive", backup);
	if ((rc = bread_open_bundle(st, key, backup, obj, &b)) < 0)
		return rc;
	if (spec)
		*spec = NULL;
	while ((rc = bundle_next(b->br, &e)) == 1) {
		if (spec && !*spec && strcmp(e.name, "kahu/backup.json") == 0) {
			kbuf_reset(&line);
			if ((rc = bundle_read_all(b->br, &line, 64u << 20)) < 0)
				break;
			*spec = json_loadb(line.data ? line.data : "", line.len, 0, NULL);
			if (!json_is_object(*spec)) {
				json_decref(*spec);
				*spec = NULL;
				rc = kahu_error_set(KAHU_EDATA, "%s: kahu/backup.json is not a JSON object", b->key);
				break;
			}
			kbuf_reset(&line);
			continue;
		}
		if (strcmp(e.name, "kahu/index.jsonl") != 0)
			continue;
		found = 1;
		char buf[65536];
		size_t got;
		while ((rc = bundle_read_data(b->br, buf, sizeof buf, &got)) == 0 && got) {
			for (size_t i = 0; i < got && rc == 0; i++) {
				if (buf[i] != '\n') {
					kbuf_addc(&line, buf[i]);
					continue;
				}
				rc = fn(ud, line.data ? line.data : "", line.len);
				kbuf_reset(&line);
			}
			if (rc < 0)
				break;
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && !found)
		rc = kahu_error_set(KAHU_EDATA, "%s has no kahu/index.jsonl", b->key);
	if (rc == 0 && spec && !*spec)
		rc = kahu_error_set(KAHU_EDATA, "%s has no kahu/backup.json", b->key);
	if (rc == 0)
		rc = bread_finish(b);
	if (rc < 0 && spec) {
		json_decref(*spec);
		*spec = NULL;
	}
	bread_free(b);
	kbuf_free(&line);
	return rc;
}

int bread_unpack(struct bread *b, const struct kahu_key *key, kahu_write_fn out, void *ud)
{
	struct seal_reader sr;
	char buf[65536];
	size_t got;
	int rc = seal_reader_open(&sr, key, b->key, out, ud);

	if (rc == 0 && b->bound) {
		if (!key)
			rc = kahu_error_set(KAHU_ECRYPTO, "%s is encrypted, but no key was given", b->key);
		else
			seal_reader_expect_run(&sr, b->run);
	}
	while (rc == 0 && (rc = bread_pull(b, buf, sizeof buf, &got)) == 0 && got)
		rc = seal_reader_feed(&sr, buf, got);
	if (rc == 0)
		rc = seal_reader_finish(&sr);
	if (rc == 0)
		b->run_checked = b->bound;
	if (rc == 0)
		rc = bread_finish(b);
	seal_reader_close(&sr);
	return rc;
}

/* '\\' and '\t' escaped, so that a tab in a (hostile) name cannot make two items'
 * keys equal. */
static void key_part(struct kbuf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '\t')
			kbuf_addc(b, '\\');
		kbuf_addc(b, *s == '\t' ? 't' : *s);
	}
}

char *bread_item_key(const char *group_resource, const char *ns, const char *name)
{
	struct kbuf b = KBUF_INIT;
	key_part(&b, group_resource);
	kbuf_addc(&b, '\t');
	key_part(&b, ns);
	kbuf_addc(&b, '\t');
	key_part(&b, name);
	return kbuf_detach(&b);
}
