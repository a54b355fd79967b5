#include "engine/bread.h"
#include "archive/key.h"
#include "archive/seal.h"
#include "archive/manifest.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#define PULL_SIZE (1u << 20)

struct bread {
	struct kahu_store *st;
	char *key;
	uint64_t off, size;
	struct kbuf buf;
	size_t pos;
	struct kahu_hash *hash;
	char *want_hash;
	struct bundle_reader *br;
};

#define MANIFEST_MAX (64u << 20)

int bread_manifest(struct kahu_store *st, const struct kahu_key *key, const char *name,
		   int verify, json_t **doc, int *encrypted)
{
	struct kbuf text = KBUF_INIT;
	struct manifest *m = NULL;
	char *path = layout_backup_manifest(name);
	int rc;

	*doc = NULL;
	if ((rc = store_read_small(st, path, MANIFEST_MAX, &text)) < 0)
		goto out;
	if ((rc = manifest_parse(text.data, text.len, &m)) < 0) {
		kahu_error_wrap(rc, "backup %s", name);
		goto out;
	}
	if (encrypted)
		*encrypted = m->encrypted;
	if (verify && (rc = manifest_verify(text.data, text.len, m->encrypted ? key : NULL)) < 0)
		goto out;
	*doc = json_loadb(text.data, text.len, 0, NULL);
out:
	manifest_free(m);
	kbuf_free(&text);
	free(path);
	return rc;
}

json_t *bread_find_object(json_t *manifest, const char *object)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(manifest, "objects"), i, o) {
		const char *p = json_string_value(json_object_get(o, "path"));
		if (layout_rel_is(p, object))
			return o;
	}
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
			kahu_hash_update(b->hash, b->buf.data, b->buf.len);
		}
	}
	size_t n = b->buf.len - b->pos < cap ? b->buf.len - b->pos : cap;
	memcpy(buf, b->buf.data + b->pos, n);
	b->pos += n;
	*got = n;
	return 0;
}

int bread_open_raw(struct kahu_store *st, const char *backup, json_t *object, struct bread **out)
{
	struct bread *b = xcalloc(1, sizeof *b);
	struct store_stat ss;
	int rc;

	*out = NULL;
	b->st = st;
	b->key = layout_backup_object(backup, json_string_value(json_object_get(object, "path")));
	b->size = (uint64_t)json_integer_value(json_object_get(object, "size"));
	b->want_hash = xstrdup(json_string_value(json_object_get(object, "blake2b")));
	b->hash = kahu_hash_new();
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
		      json_t *object, struct bread **out)
{
	int rc = bread_open_raw(st, backup, object, out);
	if (rc < 0)
		return rc;
	if ((rc = bundle_reader_new(key, (*out)->key, bread_pull, *out, &(*out)->br)) < 0) {
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
		json_t *manifest, bread_line_fn fn, void *ud)
{
	return bread_index_spec(st, key, backup, manifest, fn, ud, NULL);
}

int bread_index_spec(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		     json_t *manifest, bread_line_fn fn, void *ud, json_t **spec)
{
	json_t *obj = bread_find_object(manifest, LAYOUT_METADATA);
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

	while (rc == 0 && (rc = bread_pull(b, buf, sizeof buf, &got)) == 0 && got)
		rc = seal_reader_feed(&sr, buf, got);
	if (rc == 0)
		rc = seal_reader_finish(&sr);
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
