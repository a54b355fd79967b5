/* Unit tests: the backup manifest (backup.json), index lines, resource member names. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "archive/bundle.h"
#include "archive/key.h"
#include "archive/manifest.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static struct kahu_key *test_key(uint8_t seed)
{
	uint8_t m[KAHU_KEY_BYTES];
	struct kahu_key *k = NULL;
	for (size_t i = 0; i < sizeof m; i++)
		m[i] = (uint8_t)(seed * 31 + i);
	ck_assert_int_eq(kahu_key_from_bytes(m, &k), 0);
	return k;
}

static struct manifest *sample(void)
{
	struct manifest *m = manifest_new();
	m->kahu_version = xstrdup("0.1.0");
	m->name = xstrdup("nightly-2");
	m->created = 1735787045;   /* 2025-01-02T03:04:05Z */
	m->completed = 1735787100; /* 2025-01-02T03:05:00Z */
	m->expires = 1738379045;   /* 2025-02-01T03:04:05Z */
	m->status = MANIFEST_PARTIALLY_FAILED;
	m->type = MANIFEST_INCREMENTAL;
	m->parent = xstrdup("nightly-1");
	m->base = xstrdup("full-1");
	manifest_add_label(m, "team", "shop");
	manifest_add_label(m, "env", "prod \xc3\xa9t\xc3\xa9");
	m->counts = (struct manifest_counts){ .items = 412, .types = 57, .skipped = 3,
					      .failed = 1, .volumes = 2, .warnings = 4,
					      .errors = 1 };
	m->stored_bytes = 5000123;
	manifest_scope_digest(NULL, "{\"namespaces\":[\"shop\"]}", 23, m->scope_digest);
	manifest_add_object(m, "metadata.tar.zst.kenc", 123, H1);
	manifest_add_object(m, "volumes/0001.tar.zst.kenc", 5000000, H2);
	return m;
}

static char *to_json(const struct manifest *m, const struct kahu_key *key)
{
	char *text = NULL;
	ck_assert_msg(manifest_to_json(m, key, &text) == 0, "%s", kahu_error_last());
	return text;
}

START_TEST(test_roundtrip)
{
	struct kahu_key *key = test_key(1);
	struct manifest *m = sample(), *p = NULL;
	char *text = to_json(m, key), *again;
	char id[KAHU_KEY_ID_HEX_LEN + 1];
	size_t len = strlen(text);
	ck_assert(len > 0 && text[len - 1] == '\n');
	ck_assert(strchr(text, '\n') == text + len - 1); /* one line, compact */
	ck_assert_ptr_nonnull(strstr(text, "\"mac\":\""));
	ck_assert_ptr_nonnull(strstr(text, "\"created\":\"2025-01-02T03:04:05Z\""));
	ck_assert_ptr_nonnull(strstr(text, "\"encryption\":\"xchacha20poly1305-secretstream\""));
	ck_assert_int_eq(manifest_parse(text, len, &p), 0);
	ck_assert_int_eq(p->format, 1);
	ck_assert_str_eq(p->kahu_version, "0.1.0");
	ck_assert_str_eq(p->name, "nightly-2");
	ck_assert_int_eq((long)p->created, 1735787045L);
	ck_assert_int_eq((long)p->completed, 1735787100L);
	ck_assert_int_eq((long)p->expires, 1738379045L);
	ck_assert_int_eq(p->status, MANIFEST_PARTIALLY_FAILED);
	ck_assert_int_eq(p->type, MANIFEST_INCREMENTAL);
	ck_assert_str_eq(p->parent, "nightly-1");
	ck_assert_str_eq(p->base, "full-1");
	ck_assert_uint_eq(p->n_labels, 2);
	ck_assert_str_eq(p->labels[0].key, "env"); /* sorted */
	ck_assert_str_eq(p->labels[0].value, "prod \xc3\xa9t\xc3\xa9");
	ck_assert_str_eq(p->labels[1].key, "team");
	ck_assert_uint_eq(p->counts.items, 412);
	ck_assert_uint_eq(p->counts.types, 57);
	ck_assert_uint_eq(p->counts.skipped, 3);
	ck_assert_uint_eq(p->counts.failed, 1);
	ck_assert_uint_eq(p->counts.volumes, 2);
	ck_assert_uint_eq(p->counts.warnings, 4);
	ck_assert_uint_eq(p->counts.errors, 1);
	ck_assert_uint_eq(p->stored_bytes, 5000123);
	ck_assert_str_eq(p->scope_digest, m->scope_digest);
	ck_assert_uint_eq(p->n_objects, 2);
	ck_assert_str_eq(p->objects[1].path, "volumes/0001.tar.zst.kenc");
	ck_assert_uint_eq(p->objects[1].size, 5000000);
	ck_assert_str_eq(p->objects[1].blake2b, H2);
	ck_assert(p->encrypted && p->has_mac);
	ck_assert_str_eq(p->key_id, kahu_key_id_hex(key, id));
	ck_assert_ptr_null(manifest_auth_warning(p));
	/* deterministic: the parsed manifest serializes to the same text */
	again = to_json(p, key);
	ck_assert_str_eq(again, text);
	ck_assert_int_eq(manifest_verify(text, len, key), 0);
	manifest_free(p);
	ck_assert_int_eq(manifest_load(text, len, key, &p), 0);
	ck_assert_str_eq(p->name, "nightly-2");
	manifest_free(p);
	free(again);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_full_unencrypted_exact)
{
	struct manifest *m = manifest_new(), *p = NULL;
	m->kahu_version = xstrdup("0.1.0");
	m->name = xstrdup("b1");
	m->created = 0;
	m->completed = 60;
	m->status = MANIFEST_COMPLETED;
	m->type = MANIFEST_FULL;
	memset(m->scope_digest, 'a', KAHU_HASH_HEX_LEN);
	manifest_add_object(m, "metadata.tar.zst", 9, H1);
	char *text = to_json(m, NULL);
	ck_assert_str_eq(text,
			 "{\"completed\":\"1970-01-01T00:01:00Z\",\"counts\":{\"errors\":0,"
			 "\"failed\":0,\"items\":0,\"skipped\":0,\"types\":0,\"volumes\":0,"
			 "\"warnings\":0},\"created\":\"1970-01-01T00:00:00Z\","
			 "\"encryption\":\"none\",\"format\":1,\"kahu_version\":\"0.1.0\","
			 "\"labels\":{},\"name\":\"b1\",\"objects\":[{\"blake2b\":\"" H1 "\","
			 "\"path\":\"metadata.tar.zst\",\"size\":9}],\"scope_digest\":"
			 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
			 "\"sizes\":{\"stored\":0},\"status\":\"Completed\",\"type\":\"full\"}\n");
	ck_assert_int_eq(manifest_parse(text, strlen(text), &p), 0);
	ck_assert(!p->encrypted && !p->has_mac);
	ck_assert_str_eq(p->key_id, "");
	ck_assert_ptr_null(p->parent);
	ck_assert_int_eq((long)p->expires, 0);
	ck_assert_str_eq(manifest_auth_warning(p),
			 "backup b1 was written without encryption: its manifest carries no MAC "
			 "and cannot be authenticated");
	/* without a key there is nothing to check */
	ck_assert_int_eq(manifest_verify(text, strlen(text), NULL), 0);
	/* with a key, a manifest without MAC is refused (stripped or downgraded?) */
	struct kahu_key *key = test_key(2);
	ck_assert_int_eq(manifest_verify(text, strlen(text), key), KAHU_ECRYPTO);
	ck_assert_str_eq(kahu_error_last(),
			 "the manifest of backup b1 carries no MAC (it says the backup was "
			 "written without encryption), so it cannot be authenticated with the "
			 "key in use: refusing it");
	manifest_free(p);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_keys)
{
	struct kahu_key *key = test_key(3), *other = test_key(4);
	struct manifest *m = sample(), *p = NULL;
	char *text = to_json(m, key), *msg;
	char id1[KAHU_KEY_ID_HEX_LEN + 1], id2[KAHU_KEY_ID_HEX_LEN + 1];
	ck_assert_int_eq(manifest_verify(text, strlen(text), other), KAHU_ECRYPTO);
	msg = xasprintf("the manifest of backup nightly-2 was written with key %s, the key in use "
			"is %s", kahu_key_id_hex(key, id1), kahu_key_id_hex(other, id2));
	ck_assert_str_eq(kahu_error_last(), msg);
	free(msg);
	ck_assert_int_eq(manifest_verify(text, strlen(text), NULL), KAHU_ECRYPTO);
	msg = xasprintf("backup nightly-2 is encrypted (key %s): its manifest can only be "
			"authenticated with that key", id1);
	ck_assert_str_eq(kahu_error_last(), msg);
	free(msg);
	ck_assert_int_eq(manifest_load(text, strlen(text), other, &p), KAHU_ECRYPTO);
	ck_assert_ptr_null(p);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
	kahu_key_free(other);
}
END_TEST

/* Change one leaf of the JSON document (recursively, every one in turn). */
static json_t *mutate_leaf(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return json_integer(json_integer_value(v) + 1);
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		char *c = xstrdup(s);
		if (n == 0 || (unsigned char)s[n - 1] >= 0x80) {
			free(c);
			char *x = xasprintf("%sx", s);
			json_t *r = json_string(x);
			free(x);
			return r;
		}
		/* keep hex hex and times times: change the last digit or letter */
		char *last = c + n - 1;
		if (*last == 'Z')
			last--;
		if (*last >= '0' && *last <= '8')
			(*last)++;
		else if (*last == '9')
			*last = '0';
		else if (*last == 'f')
			*last = 'e';
		else if (*last >= 'a' && *last < 'z')
			(*last)++;
		else
			*last = 'a';
		json_t *r = json_string(c);
		free(c);
		return r;
	}
	default:
		return NULL;
	}
}

struct walk {
	const struct kahu_key *key;
	const char *orig;
	int leaves, crypto_fails;
};

static void check_mutated(struct walk *w, json_t *root, const char *what)
{
	char *text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_ne(text, w->orig);
	int rc = manifest_verify(text, strlen(text), w->key);
	ck_assert_msg(rc == KAHU_ECRYPTO || rc == KAHU_EDATA, "%s: changed, yet verified (rc %d)",
		      what, rc);
	if (rc == KAHU_ECRYPTO)
		w->crypto_fails++;
	w->leaves++;
	free(text);
}

static void walk_leaves(struct walk *w, json_t *root, json_t *node, const char *path)
{
	if (json_is_object(node)) {
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(node, tmp, k, v) {
			char *sub = xasprintf("%s.%s", path, k);
			if (json_is_object(v) || json_is_array(v)) {
				walk_leaves(w, root, v, sub);
			} else {
				json_t *keep = json_incref(v);
				json_t *nv = mutate_leaf(v);
				ck_assert_ptr_nonnull(nv);
				json_object_set_new(node, k, nv);
				check_mutated(w, root, sub);
				json_object_set_new(node, k, keep);
			}
			free(sub);
		}
	} else if (json_is_array(node)) {
		for (size_t i = 0; i < json_array_size(node); i++) {
			char *sub = xasprintf("%s[%zu]", path, i);
			walk_leaves(w, root, json_array_get(node, i), sub);
			free(sub);
		}
	}
}

START_TEST(test_any_field_changed)
{
	struct kahu_key *key = test_key(5);
	struct manifest *m = sample();
	char *text = to_json(m, key);
	json_t *root = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(root);
	char *orig = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	struct walk w = { key, orig, 0, 0 };
	walk_leaves(&w, root, root, "");
	ck_assert_int_ge(w.leaves, 25);
	/* all but the changes parse_root refuses outright are caught by the MAC */
	ck_assert_int_ge(w.crypto_fails, w.leaves - 4);
	/* the original still verifies after the walk put everything back */
	char *back = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(back, orig);
	ck_assert_int_eq(manifest_verify(back, strlen(back), key), 0);
	/* a field added, a field removed, a label added, an object removed */
	json_object_set_new(root, "extra", json_true());
	check_mutated(&w, root, "added field");
	json_object_del(root, "extra");
	json_object_del(root, "expires");
	check_mutated(&w, root, "removed expires");
	json_object_set_new(root, "expires", json_string("2025-02-01T03:04:05Z"));
	json_object_set_new(json_object_get(root, "labels"), "x", json_string("y"));
	check_mutated(&w, root, "added label");
	json_object_del(json_object_get(root, "labels"), "x");
	json_array_remove(json_object_get(root, "objects"), 1);
	check_mutated(&w, root, "removed object");
	/* specific, with the message */
	json_decref(root);
	root = json_loads(text, 0, NULL);
	json_object_set_new(json_object_get(root, "counts"), "errors", json_integer(0));
	json_object_set_new(root, "status", json_string("Completed"));
	char *t2 = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_int_eq(manifest_verify(t2, strlen(t2), key), KAHU_ECRYPTO);
	ck_assert_str_eq(kahu_error_last(), "the manifest of backup nightly-2 failed "
			 "authentication: it was altered or forged");
	/* reformatting (whitespace, key order) does not matter */
	json_t *again = json_loads(text, 0, NULL);
	char *pretty = json_dumps(again, JSON_INDENT(2));
	ck_assert_int_eq(manifest_verify(pretty, strlen(pretty), key), 0);
	json_decref(again);
	free(pretty);
	free(t2);
	free(back);
	free(orig);
	json_decref(root);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

/* Without the key, an attacker can only recompute an unkeyed hash. */
START_TEST(test_forged_without_key)
{
	struct kahu_key *key = test_key(6);
	struct manifest *m = sample();
	char *text = to_json(m, key);
	json_t *root = json_loads(text, 0, NULL);
	json_object_set_new(root, "name", json_string("evil"));
	json_object_set_new(root, "expires", json_string("2099-01-01T00:00:00Z"));
	json_object_del(root, "mac");
	char *canon = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	char h[KAHU_HASH_HEX_LEN + 1];
	json_object_set_new(root, "mac", json_string(kahu_key_hash(canon, strlen(canon), h)));
	char *forged = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_int_eq(manifest_verify(forged, strlen(forged), key), KAHU_ECRYPTO);
	ck_assert_str_eq(kahu_error_last(), "the manifest of backup evil failed authentication: "
			 "it was altered or forged");
	/* stripping the MAC and claiming "none" does not help either */
	json_object_del(root, "mac");
	json_object_del(root, "key_id");
	json_object_set_new(root, "encryption", json_string("none"));
	free(forged);
	forged = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_int_eq(manifest_verify(forged, strlen(forged), key), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "carries no MAC"));
	free(forged);
	free(canon);
	json_decref(root);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

/* Take a valid unencrypted manifest, apply an edit, expect parse to fail with `msg`. */
static void expect_malformed(const char *path_key, json_t *value, const char *msg)
{
	struct manifest *m = sample(), *p = NULL;
	char *text = to_json(m, NULL);
	json_t *root = json_loads(text, 0, NULL);
	json_t *obj = root;
	char *k = xstrdup(path_key), *dot = strchr(k, '.');
	if (dot) {
		*dot = '\0';
		obj = json_object_get(root, k);
		if (json_is_array(obj))
			obj = json_array_get(obj, 0);
	}
	const char *leaf = dot ? dot + 1 : k;
	if (value)
		json_object_set_new(obj, leaf, value);
	else
		json_object_del(obj, leaf);
	char *bad = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_int_eq(manifest_parse(bad, strlen(bad), &p), KAHU_EDATA);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(kahu_error_last(), msg);
	ck_assert_int_eq(manifest_verify(bad, strlen(bad), NULL), KAHU_EDATA);
	free(bad);
	free(k);
	json_decref(root);
	free(text);
	manifest_free(m);
}

static void expect_malformed_text(const char *text, const char *msg)
{
	struct manifest *p = NULL;
	ck_assert_int_eq(manifest_parse(text, strlen(text), &p), KAHU_EDATA);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(kahu_error_last(), msg);
}

#define RUN "00112233445566778899aabbccddeeff"

/* Objects bound to the run carry no hash: format 2, only with a key; one without them
 * stays format 1 (run or not), so a kahu reading format 1 reads it. */
START_TEST(test_run_objects)
{
	struct kahu_key *key = test_key(1);
	struct manifest *m = sample(), *p = NULL;
	char *text = to_json(m, key), *again;
	uint8_t run[16];

	manifest_set_run(m, RUN);
	free(text);
	text = to_json(m, key);
	ck_assert_ptr_nonnull(strstr(text, "\"format\":1,"));
	ck_assert_ptr_nonnull(strstr(text, "\"run\":\"" RUN "\""));
	manifest_add_object(m, "volumes/v/data-000001.tar.zst.kenc", 77, NULL);
	free(text);
	text = to_json(m, key);
	ck_assert_ptr_nonnull(strstr(text, "\"format\":2,"));
	ck_assert_ptr_nonnull(strstr(text, "{\"path\":\"volumes/v/data-000001.tar.zst.kenc\",\"size\":77}"));
	ck_assert_int_eq(manifest_load(text, strlen(text), key, &p), 0);
	ck_assert_int_eq(p->format, 2);
	ck_assert_str_eq(p->run, RUN);
	ck_assert_uint_eq(p->n_objects, 3);
	ck_assert_str_eq(p->objects[2].blake2b, "");
	ck_assert(manifest_object_run(&p->objects[2], run));
	ck_assert_uint_eq(run[0], 0x00);
	ck_assert_uint_eq(run[15], 0xff);
	ck_assert(!manifest_object_run(&p->objects[0], run)); /* hashed */
	again = to_json(p, key);
	ck_assert_str_eq(again, text);
	free(again);
	manifest_free(p);
	/* never without a key */
	ck_assert_int_lt(manifest_to_json(m, NULL, &again), 0);
	/* the run is under the MAC */
	char *edited = xstrdup(text);
	char *r = strstr(edited, RUN);
	r[0] = '1';
	ck_assert_int_eq(manifest_verify(edited, strlen(edited), key), KAHU_ECRYPTO);
	free(edited);
	/* format 2 without a run, unencrypted, or format 1 with an object lacking its hash */
	ck_assert_int_eq(manifest_parse("{\"format\":1,\"objects\":[{\"path\":\"a\",\"size\":1}]}", 48, &p) < 0 ||
			 p == NULL, 1);
	manifest_free(m);
	free(text);
	kahu_key_free(key);
}
END_TEST

/* A backup with volume data is format 3 (XXH64 content hashes in its indexes), with a
 * key (run-bound objects, the run required) and without (every object hashed, no run);
 * it stays format 3 when parsed and written again. */
START_TEST(test_format_xxh64)
{
	struct kahu_key *key = test_key(1);
	struct manifest *m = sample(), *p = NULL;
	char *text, *again;

	text = to_json(m, key);
	ck_assert_ptr_nonnull(strstr(text, "\"format\":1,"));
	free(text);
	manifest_require_format(m, MANIFEST_FORMAT_XXH64);
	manifest_require_format(m, MANIFEST_FORMAT_VERSION); /* never lowers it */
	manifest_set_run(m, RUN);
	manifest_add_object(m, "volumes/v/index.jsonl.zst.kenc", 12, NULL);
	text = to_json(m, key);
	ck_assert_ptr_nonnull(strstr(text, "\"format\":3,"));
	ck_assert_int_eq(manifest_load(text, strlen(text), key, &p), 0);
	ck_assert_int_eq(p->format, MANIFEST_FORMAT_XXH64);
	ck_assert_str_eq(p->objects[2].blake2b, "");
	again = to_json(p, key);
	ck_assert_str_eq(again, text);
	free(again);
	manifest_free(p);
	free(text);
	manifest_free(m);

	/* unencrypted: every object with its hash, no run */
	m = sample();
	manifest_require_format(m, MANIFEST_FORMAT_XXH64);
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "\"format\":3,"));
	ck_assert_int_eq(manifest_parse(text, strlen(text), &p), 0);
	ck_assert_int_eq(p->format, MANIFEST_FORMAT_XXH64);
	manifest_free(p);
	/* an object bound to a run needs a key */
	manifest_add_object(m, "volumes/v/index.jsonl.zst", 12, NULL);
	ck_assert_int_lt(manifest_to_json(m, NULL, &again), 0);
	/* format 3 unencrypted with an object that has no hash */
	char *edited = xstrdup(text);
	char *h = strstr(edited, "\"blake2b\":");
	ck_assert_ptr_nonnull(h);
	memcpy(h, "\"xlake2b\"", 10);
	ck_assert_int_lt(manifest_parse(edited, strlen(edited), &p), 0);
	free(edited);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_malformed)
{
	expect_malformed_text("", "malformed manifest: invalid JSON at line 1, column 0: "
			      "'[' or '{' expected near end of file");
	expect_malformed_text("{\"name\": ", "malformed manifest: invalid JSON at line 1, "
			      "column 9: unexpected token near end of file");
	expect_malformed_text("[1]", "malformed manifest: expected a JSON object, not an array");
	expect_malformed_text("{\"format\":1,\"format\":1}", "malformed manifest: invalid JSON at "
			      "line 1, column 20: duplicate object key near '\"format\"'");
	expect_malformed_text("{\"format\":4}", "malformed manifest: unsupported manifest format "
			      "4 (this kahu reads formats 1 to 3)");
	expect_malformed_text("{\"format\":0}", "malformed manifest: unsupported manifest format "
			      "0 (this kahu reads formats 1 to 3)");
	expect_malformed_text("{\"format\":2}", "malformed manifest: \"run\" is missing");
	expect_malformed_text("{\"format\":\"1\"}", "malformed manifest: \"format\" must be an "
			      "integer, not a string");
	expect_malformed("name", NULL, "malformed manifest: \"name\" is missing");
	expect_malformed("name", json_integer(5), "malformed manifest: \"name\" must be a "
			 "string, not an integer");
	expect_malformed("name", json_string("a/b"), "malformed manifest: \"name\" contains '/'");
	expect_malformed("name", json_string(".."), "malformed manifest: \"name\" is \".\" or "
			 "\"..\"");
	expect_malformed("name", json_string("a\nb"), "malformed manifest: \"name\" contains a "
			 "control character");
	char big[300];
	memset(big, 'n', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_malformed("name", json_string(big), "malformed manifest: \"name\" is longer than "
			 "253 bytes");
	expect_malformed("created", json_string("2025-01-02 03:04:05"), "malformed manifest: "
			 "\"created\" is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
	expect_malformed("created", json_string("2025-02-30T03:04:05Z"), "malformed manifest: "
			 "\"created\" is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
	expect_malformed("completed", json_string("2025-01-02T03:04:05+02:00"),
			 "malformed manifest: \"completed\" is not an RFC 3339 UTC time "
			 "(YYYY-MM-DDTHH:MM:SSZ)");
	expect_malformed("expires", json_integer(5), "malformed manifest: \"expires\" must be a "
			 "string, not an integer");
	expect_malformed("status", json_string("Done"), "malformed manifest: unknown status "
			 "\"Done\"");
	expect_malformed("type", json_string("full"), "malformed manifest: a full backup has no "
			 "\"parent\" or \"base\"");
	expect_malformed("parent", NULL, "malformed manifest: \"parent\" is missing");
	expect_malformed("labels", json_array(), "malformed manifest: \"labels\" must be an "
			 "object, not an array");
	expect_malformed("labels.team", json_integer(1), "malformed manifest: label \"team\" must "
			 "be a string, not an integer");
	expect_malformed("counts.items", json_integer(-1), "malformed manifest: counts \"items\" "
			 "must not be negative");
	expect_malformed("counts.items", json_real(1e30), "malformed manifest: counts \"items\" "
			 "must be an integer, not a real number");
	expect_malformed("counts.errors", NULL, "malformed manifest: counts \"errors\" is "
			 "missing");
	expect_malformed("sizes.stored", json_true(), "malformed manifest: sizes \"stored\" must "
			 "be an integer, not a boolean");
	expect_malformed("scope_digest", json_string("abc"), "malformed manifest: "
			 "\"scope_digest\" is not 64 lowercase hex digits");
	expect_malformed("objects", json_object(), "malformed manifest: \"objects\" must be an "
			 "array, not an object");
	expect_malformed("objects.path", json_string("../x"), "malformed manifest: objects[0] "
			 "\"path\": member name \"../x\" has a '..' component");
	expect_malformed("objects.path", json_string("/etc/passwd"), "malformed manifest: "
			 "objects[0] \"path\": member name \"/etc/passwd\" is an absolute path");
	expect_malformed("objects.size", json_string("1"), "malformed manifest: objects[0] "
			 "\"size\" must be an integer, not a string");
	expect_malformed("objects.blake2b", json_string(H1 "00"), "malformed manifest: objects[0] "
			 "\"blake2b\" is longer than 64 bytes");
	expect_malformed("objects.blake2b", json_string("0123456789ABCDEF0123456789abcdef"
							"0123456789abcdef0123456789abcdef"),
			 "malformed manifest: objects[0] \"blake2b\" is not 64 lowercase hex "
			 "digits");
	expect_malformed("encryption", json_string("rot13"), "malformed manifest: unsupported "
			 "encryption \"rot13\"");
	expect_malformed("encryption", json_string("xchacha20poly1305-secretstream"),
			 "malformed manifest: \"key_id\" must be 32 lowercase hex digits");
	expect_malformed("mac", json_string(H1), "malformed manifest: an unencrypted manifest "
			 "has no \"key_id\" or \"mac\"");
	/* integers beyond 64 bits: jansson refuses them */
	struct manifest *m = sample(), *p = NULL;
	char *text = to_json(m, NULL);
	char *huge = xstrdup(text);
	char *at = strstr(huge, "\"items\":412");
	ck_assert_ptr_nonnull(at);
	char *patched = xasprintf("%.*s\"items\":99999999999999999999999%s", (int)(at - huge),
				  huge, at + strlen("\"items\":412"));
	ck_assert_int_eq(manifest_parse(patched, strlen(patched), &p), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "too big integer"));
	/* a text over the size limit is refused before parsing */
	char *giant = xmalloc(MANIFEST_TEXT_MAX + 2);
	memset(giant, ' ', MANIFEST_TEXT_MAX + 1);
	giant[MANIFEST_TEXT_MAX + 1] = '\0';
	ck_assert_int_eq(manifest_parse(giant, MANIFEST_TEXT_MAX + 1, &p), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), "malformed manifest: 16777217 bytes, more than the "
			 "16777216 allowed");
	free(giant);
	free(patched);
	free(huge);
	free(text);
	manifest_free(m);
}
END_TEST

START_TEST(test_to_json_refuses_bad_struct)
{
	struct manifest *m = sample();
	char *text = NULL;
	free(m->name);
	m->name = xstrdup("a/b");
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of a/b: the backup name \"a/b\" contains '/'");
	free(m->name);
	m->name = xstrdup("ok");
	free(m->parent);
	m->parent = NULL;
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of ok: the parent is missing");
	m->parent = xstrdup("p");
	m->objects[0].blake2b[0] = 'X';
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	m->objects[0].blake2b[0] = '0';
	manifest_add_label(m, "team", "again");
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of ok: label \"team\" given twice");
	ck_assert_ptr_null(text);
	manifest_free(m);
	/* invalid UTF-8 */
	m = sample();
	manifest_add_label(m, "x", "\xff");
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of nightly-2: a label is not valid UTF-8");
	manifest_free(m);
}
END_TEST

START_TEST(test_scope_digest)
{
	char a[KAHU_HASH_HEX_LEN + 1], b[KAHU_HASH_HEX_LEN + 1], c[KAHU_HASH_HEX_LEN + 1];
	/* Unencrypted backups (no key): plain BLAKE2b-256. */
	manifest_scope_digest(NULL, "{}", 2, a);
	kahu_key_hash("{}", 2, b);
	ck_assert_str_eq(a, b);
	manifest_scope_digest(NULL, "{\"a\":1}", 7, b);
	ck_assert_str_ne(a, b);

	/* With a key: keyed, so the plain hash of a guessed scope does not match it, and
	 * another key gives another digest; the same key, the same digest. */
	uint8_t m1[KAHU_KEY_BYTES], m2[KAHU_KEY_BYTES];
	memset(m1, 1, sizeof m1);
	memset(m2, 2, sizeof m2);
	struct kahu_key *k1 = NULL, *k2 = NULL;
	ck_assert_int_eq(kahu_key_from_bytes(m1, &k1), 0);
	ck_assert_int_eq(kahu_key_from_bytes(m2, &k2), 0);
	manifest_scope_digest(k1, "{}", 2, b);
	ck_assert_str_ne(a, b);
	ck_assert_uint_eq(strlen(b), KAHU_HASH_HEX_LEN);
	manifest_scope_digest(k1, "{}", 2, c);
	ck_assert_str_eq(b, c);
	manifest_scope_digest(k2, "{}", 2, c);
	ck_assert_str_ne(b, c);
	kahu_key_free(k1);
	kahu_key_free(k2);
}
END_TEST

/* ---- index lines, resource paths -------------------------------------------------- */

START_TEST(test_index_lines)
{
	struct kbuf out = KBUF_INIT;
	struct index_entry e = { .resource = "deployments.apps", .ns = "shop", .name = "web",
				 .uid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427", .rv = "42" };
	memcpy(e.hash, H1, sizeof e.hash);
	ck_assert_int_eq(index_line_format(&e, &out), 0);
	struct index_entry c = { .resource = "clusterroles.rbac.authorization.k8s.io",
				 .name = "system:controller:foo" };
	memcpy(c.hash, H2, sizeof c.hash);
	ck_assert_int_eq(index_line_format(&c, &out), 0);
	ck_assert_str_eq(kbuf_str(&out),
			 "{\"h\":\"" H1 "\",\"n\":\"web\",\"ns\":\"shop\",\"r\":\"deployments.apps\","
			 "\"rv\":\"42\",\"uid\":\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"}\n"
			 "{\"h\":\"" H2 "\",\"n\":\"system:controller:foo\","
			 "\"r\":\"clusterroles.rbac.authorization.k8s.io\"}\n");
	struct index_entry p;
	char *nl = strchr(out.data, '\n');
	ck_assert_int_eq(index_line_parse(out.data, (size_t)(nl - out.data + 1), &p), 0);
	ck_assert_str_eq(p.resource, "deployments.apps");
	ck_assert_str_eq(p.ns, "shop");
	ck_assert_str_eq(p.name, "web");
	ck_assert_str_eq(p.uid, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
	ck_assert_str_eq(p.rv, "42");
	ck_assert_str_eq(p.hash, H1);
	index_entry_clear(&p);
	ck_assert_int_eq(index_line_parse(nl + 1, strlen(nl + 1), &p), 0);
	ck_assert_ptr_null(p.ns);
	ck_assert_ptr_null(p.uid);
	ck_assert_str_eq(p.name, "system:controller:foo");
	index_entry_clear(&p);
	index_entry_clear(NULL);

	static const struct { const char *line, *msg; } bad[] = {
		{ "", "malformed index line: invalid JSON at column 0: '[' or '{' expected near "
		      "end of file" },
		{ "[]", "malformed index line: expected an object, not an array" },
		{ "{\"n\":\"x\",\"h\":\"" H1 "\"}", "malformed index line: \"r\" is missing" },
		{ "{\"r\":\"x\",\"n\":5,\"h\":\"" H1 "\"}",
		  "malformed index line: \"n\" must be a string, not an integer" },
		{ "{\"r\":\"x\",\"n\":\"\",\"h\":\"" H1 "\"}", "malformed index line: \"n\" is empty" },
		{ "{\"r\":\"x\",\"n\":\"y\",\"h\":\"abc\"}",
		  "malformed index line: \"h\" is not 64 lowercase hex digits" },
		{ "{\"r\":\"x\",\"r\":\"x\",\"n\":\"y\",\"h\":\"" H1 "\"}",
		  "malformed index line: invalid JSON at column 12: duplicate object key near "
		  "'\"r\"'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_int_eq(index_line_parse(bad[i].line, strlen(bad[i].line), &p), KAHU_EDATA);
		ck_assert_str_eq(kahu_error_last(), bad[i].msg);
		ck_assert_ptr_null(p.resource);
	}
	struct index_entry nohash = { .resource = "x", .name = "y" };
	ck_assert_int_eq(index_line_format(&nohash, &out), KAHU_EUSAGE);
	struct index_entry noname = { .resource = "x" };
	memcpy(noname.hash, H1, sizeof noname.hash);
	ck_assert_int_eq(index_line_format(&noname, &out), KAHU_EUSAGE);
	kbuf_free(&out);
}
END_TEST

/* The index line as jansson writes it (the form index lines had before they were
 * printed directly): NULL when a field is not valid UTF-8. */
static char *index_line_jansson(const struct index_entry *e)
{
	json_t *o = json_object();
	const char *keys[] = { "r", "ns", "n", "uid", "rv", "h" };
	const char *vals[] = { e->resource, e->ns, e->name, e->uid, e->rv, e->hash };
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		if (!vals[i])
			continue;
		json_t *s = json_string(vals[i]);
		if (!s) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, keys[i], s);
	}
	char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	char *line = xasprintf("%s\n", text);
	free(text);
	return line;
}

/* Formats e both ways: the same bytes, or both refuse it. */
static void index_line_same(const struct index_entry *e)
{
	struct kbuf out = KBUF_INIT;
	char *want = index_line_jansson(e);
	int rc = index_line_format(e, &out);
	if (!want) {
		ck_assert_int_eq(rc, KAHU_EUSAGE);
		ck_assert_msg(strstr(kahu_error_last(), "is not valid UTF-8") != NULL, "%s",
			      kahu_error_last());
		ck_assert_uint_eq(out.len, 0);
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(kbuf_str(&out), want);
		struct index_entry p;
		ck_assert_int_eq(index_line_parse(out.data, out.len, &p), 0);
		ck_assert_str_eq(p.name, e->name);
		index_entry_clear(&p);
	}
	free(want);
	kbuf_free(&out);
}

START_TEST(test_index_line_printer)
{
	/* every byte in every field, alone and among others; escapes, DEL, '/', UTF-8 of
	 * each length, and what is not UTF-8 (overlong, surrogates, beyond U+10FFFF, cut
	 * short, stray continuation bytes) */
	static const char *const special[] = {
		"web", "a\"b", "a\\b", "a/b", "\x7f", "tab\there", "nl\nx\r\b\f", "\x01\x1f\x1e",
		"caf\xc3\xa9", "\xe2\x82\xac uro", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
		"\xc2\x80\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xed\xa0\x80",
		"\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\x80", "\xbf",
		"\xc3", "\xe2\x82", "\xf0\x9f\x98", "a\xc3(", "\xe2(\xa1", "ns/with\"every\\thing\x1b[31m",
	};
	const size_t ns = sizeof special / sizeof *special;
	struct index_entry e = { .resource = "configmaps", .ns = "shop", .name = "web",
				 .uid = "u", .rv = "1" };
	memcpy(e.hash, H1, sizeof e.hash);
	for (size_t i = 0; i < ns; i++) {
		e.resource = "configmaps"; e.ns = "shop"; e.name = "web"; e.uid = "u"; e.rv = "1";
		const char **fields[] = { (const char **)&e.resource, (const char **)&e.ns,
					  (const char **)&e.name, (const char **)&e.uid,
					  (const char **)&e.rv };
		for (size_t f = 0; f < 5; f++) {
			const char *keep = *fields[f];
			*fields[f] = special[i];
			index_line_same(&e);
			*fields[f] = keep;
		}
	}
	char one[4] = "a?b";
	for (unsigned c = 1; c < 256; c++) {
		one[1] = (char)c;
		e.resource = "configmaps"; e.ns = one; e.name = one; e.uid = NULL; e.rv = NULL;
		index_line_same(&e);
		e.ns = NULL; e.uid = one; e.rv = one;
		index_line_same(&e);
	}
	/* random strings: mostly ASCII, some bytes of multibyte sequences, some control
	 * characters, valid or not (a fixed seed: the same cases each run) */
	uint32_t seed = 12345;
	char buf[5][24];
	for (int round = 0; round < 20000; round++) {
		for (int f = 0; f < 5; f++) {
			size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 20;
			for (size_t k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				unsigned r = seed >> 16, c;
				switch (r % 8) {
				case 0: c = 1 + (r >> 3) % 0x1f; break;          /* control */
				case 1: c = 0x80 + (r >> 3) % 0x80; break;        /* high byte */
				case 2: c = "\"\\/\x7f"[(r >> 3) % 4]; break;
				default: c = 0x20 + (r >> 3) % 0x5f; break;       /* printable */
				}
				buf[f][k] = (char)c;
			}
			buf[f][n] = '\0';
		}
		seed = seed * 1103515245u + 12345u;
		e.resource = buf[0];
		e.ns = seed & 0x10000 ? buf[1] : NULL;
		e.name = buf[2];
		e.uid = seed & 0x20000 ? buf[3] : NULL;
		e.rv = seed & 0x40000 ? buf[4] : NULL;
		index_line_same(&e);
	}
	/* valid multibyte text at random: the same bytes as jansson's, each time */
	static const char *const pieces[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					      "\"", "\\", "\n", "\x7f", "\xd7\x90", "\xe4\xb8\xad" };
	for (int round = 0; round < 5000; round++) {
		struct kbuf t = KBUF_INIT;
		seed = seed * 1103515245u + 12345u;
		unsigned n = 1 + (seed >> 16) % 12;
		for (unsigned k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			kbuf_adds(&t, pieces[(seed >> 16) % 10]);
		}
		e.resource = "configmaps"; e.ns = t.data; e.name = t.data; e.uid = t.data; e.rv = NULL;
		index_line_same(&e);
		kbuf_free(&t);
	}
}
END_TEST

START_TEST(test_resource_path)
{
	char *p = NULL;
	ck_assert_int_eq(bundle_resource_path("deployments.apps", "shop", "web", &p), 0);
	ck_assert_str_eq(p, "resources/deployments.apps/namespaces/shop/web.json");
	free(p);
	ck_assert_int_eq(bundle_resource_path("namespaces", NULL, "shop", &p), 0);
	ck_assert_str_eq(p, "resources/namespaces/cluster/shop.json");
	free(p);
	ck_assert_int_eq(bundle_resource_path("clusterroles.rbac.authorization.k8s.io", NULL,
					      "system:controller:foo", &p), 0);
	ck_assert_str_eq(p, "resources/clusterroles.rbac.authorization.k8s.io/cluster/"
			 "system:controller:foo.json");
	free(p);
	/* printable UTF-8 and spaces stand as they are */
	ck_assert_int_eq(bundle_resource_path("roles.rbac.authorization.k8s.io", "shop",
					      "\xe6\x97\xa5\xe6\x9c\xac \\ x", &p), 0);
	ck_assert_str_eq(p, "resources/roles.rbac.authorization.k8s.io/namespaces/shop/"
			 "\xe6\x97\xa5\xe6\x9c\xac \\ x.json");
	free(p);
	/* only empty components are refused */
	ck_assert_int_eq(bundle_resource_path("", NULL, "x", &p), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "empty group-resource: it cannot name an archive member");
	ck_assert_int_eq(bundle_resource_path("configmaps", "", "x", &p), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "empty namespace: it cannot name an archive member");
	ck_assert_int_eq(bundle_resource_path("configmaps", "ns", "", &p), KAHU_EUSAGE);
	ck_assert_ptr_null(p);
}
END_TEST

#define H_DOTDOT "d6fdb8083ccb3ee7695a0a289bd23e26aa894fca5c28007299f2db7874b29ddd"
#define H_A_NL_B "988752c3f530a9eb435d32e601ee72385d5d50f2dd26235807d17fbb69ace717"
#define H_A253 "04a42cc4867c0d570f2f5924e207b3b5057d25ec233b304c9ceb846fad931c69"
#define H_A241 "e5ae7d3c214885022586d3cb19d0bb8ddbea5a51aa999e6598f599134d55e93c"
#define H_EVIL "0dc26689aec1013ad52059d7a22fd7be26bf2d9302b4d90cae1d07c7411bd1d5"
#define H_PCT_X "0f84b070dac1a0170cf1099b30086ca10574925c2491e9d24644d9fab749a6b4"
#define H_C1 "32b7f408a11eeccf2878764c61a4e724d3bf7bdb68d56841fb3109c46c2ccf7c"
#define H_X5000 "a90895877799c6cc11eee87d47a1797980e06dd016e6bd96c23663df57bdbd0e"
#define A48 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Names no file system or tar reader should take as they are get the encoded form,
 * with known BLAKE2b-256 values (hashlib.blake2b(name, digest_size=32)). */
START_TEST(test_resource_path_encoded)
{
	char a253[254], a240[241], a241[242], *x5000 = xmalloc(5001);
	memset(a253, 'a', 253);
	a253[253] = '\0';
	memset(a240, 'a', 240);
	a240[240] = '\0';
	memset(a241, 'a', 241);
	a241[241] = '\0';
	memset(x5000, 'x', 5000);
	x5000[5000] = '\0';
	char *x48 = xstrndup(x5000, 48);
	const struct { const char *gr, *ns, *name, *want; } cases[] = {
		{ "configmaps", "shop", "..", "resources/configmaps/namespaces/shop/%..~" H_DOTDOT ".json" },
		{ "configmaps", "..", "x", "resources/configmaps/namespaces/%..~" H_DOTDOT "/x.json" },
		{ "roles.rbac.authorization.k8s.io", "shop", "a\nb",
		  "resources/roles.rbac.authorization.k8s.io/namespaces/shop/%a_b~" H_A_NL_B ".json" },
		{ "configmaps", "shop", a253, "resources/configmaps/namespaces/shop/%" A48 "~" H_A253 ".json" },
		{ "configmaps", "shop", a241, "resources/configmaps/namespaces/shop/%" A48 "~" H_A241 ".json" },
		{ "configmaps", "shop", "../../etc/evil",
		  "resources/configmaps/namespaces/shop/%.._.._etc_evil~" H_EVIL ".json" },
		{ "configmaps", NULL, "%x", "resources/configmaps/cluster/%_x~" H_PCT_X ".json" },
		{ "%x", NULL, "a", "resources/%_x~" H_PCT_X "/cluster/a.json" },
		{ "clusterroles.rbac.authorization.k8s.io", NULL, "\xc2\x85",
		  "resources/clusterroles.rbac.authorization.k8s.io/cluster/%__~" H_C1 ".json" },
	};
	char *p = NULL;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ck_assert_int_eq(bundle_resource_path(cases[i].gr, cases[i].ns, cases[i].name, &p), 0);
		ck_assert_str_eq(p, cases[i].want);
		free(p);
	}
	/* 240 bytes stand as they are (245 with ".json"), 5,000 are encoded */
	ck_assert_int_eq(bundle_resource_path("configmaps", "shop", a240, &p), 0);
	char *want = xasprintf("resources/configmaps/namespaces/shop/%s.json", a240);
	ck_assert_str_eq(p, want);
	free(want);
	free(p);
	ck_assert_int_eq(bundle_resource_path("roles.rbac.authorization.k8s.io", "shop", x5000, &p), 0);
	want = xasprintf("resources/roles.rbac.authorization.k8s.io/namespaces/shop/%%%s~%s.json",
			 x48, H_X5000);
	ck_assert_str_eq(p, want);
	free(want);
	free(p);

	/* Every one-byte name and every byte in a name gives a valid member name whose
	 * components fit in 255 bytes, and no two names share a member. */
	char *seen[512];
	size_t n = 0;
	for (int c = 1; c < 256; c++) {
		char one[2] = { (char)c, '\0' }, mid[4] = { 'a', (char)c, 'b', '\0' };
		const char *names[] = { one, mid };
		for (int k = 0; k < 2; k++) {
			ck_assert_int_eq(bundle_resource_path("configmaps", names[k], names[k], &p), 0);
			ck_assert_msg(bundle_name_check(p) == 0, "%s", kahu_error_last());
			for (const char *c0 = p, *sl; c0; c0 = sl ? sl + 1 : NULL) {
				sl = strchr(c0, '/');
				ck_assert_uint_le(sl ? (size_t)(sl - c0) : strlen(c0), 245);
			}
			for (size_t j = 0; j < n; j++)
				ck_assert_str_ne(seen[j], p);
			seen[n++] = p;
		}
	}
	for (size_t j = 0; j < n; j++)
		free(seen[j]);

	/* what is safe */
	ck_assert(bundle_component_safe("web", 3));
	ck_assert(bundle_component_safe("system:controller:foo", 21));
	ck_assert(bundle_component_safe(".a", 2));
	ck_assert(bundle_component_safe("...", 3));
	ck_assert(!bundle_component_safe("", 0));
	ck_assert(!bundle_component_safe(".", 1));
	ck_assert(!bundle_component_safe("a/b", 3));
	ck_assert(!bundle_component_safe("a\x7f", 2));
	ck_assert(!bundle_component_safe("a\t", 2));
	ck_assert(!bundle_component_safe("\xff", 1));
	ck_assert(!bundle_component_safe("\xe6\x97", 2));     /* cut sequence */
	ck_assert(!bundle_component_safe("\xe6\x97\xa5", 2)); /* cut by the length */
	ck_assert(bundle_component_safe("\xe6\x97\xa5", 3));
	ck_assert(bundle_component_safe("\xc2\xa0", 2));      /* U+00A0 is printable */
	free(x48);
	free(x5000);
}
END_TEST

/* What every reader gets: the typed manifest, with the text it was parsed from and
 * whether it was authenticated. */
START_TEST(test_typed_read)
{
	struct kahu_key *k = test_key(1), *k2 = test_key(2);
	struct manifest *src = sample(), *m = NULL;
	char *text = to_json(src, k);

	/* parsed: every field typed, the text kept as it was, not yet authenticated */
	ck_assert_int_eq(manifest_parse(text, strlen(text), &m), 0);
	ck_assert_str_eq(m->name, "nightly-2");
	ck_assert_int_eq(m->status, MANIFEST_PARTIALLY_FAILED);
	ck_assert_int_eq(m->type, MANIFEST_INCREMENTAL);
	ck_assert_str_eq(m->parent, "nightly-1");
	ck_assert_str_eq(m->base, "full-1");
	ck_assert_uint_eq(m->counts.items, 412);
	ck_assert_uint_eq(m->n_objects, 2);
	ck_assert_str_eq(m->labels[0].key, "env"); /* sorted */
	ck_assert(m->encrypted && m->has_mac && !m->authenticated);
	ck_assert_uint_eq(m->text_len, strlen(text));
	ck_assert(memcmp(m->text, text, m->text_len) == 0 && m->text[m->text_len] == '\0');

	/* authenticated with its key only */
	ck_assert_int_eq(manifest_authenticate(m, k2), KAHU_ECRYPTO);
	ck_assert(!m->authenticated);
	ck_assert_int_eq(manifest_authenticate(m, NULL), KAHU_ECRYPTO);
	ck_assert(!m->authenticated);
	ck_assert_int_eq(manifest_authenticate(m, k), 0);
	ck_assert(m->authenticated);

	/* a copy is the same manifest, authenticated as the original */
	struct manifest *c = manifest_copy(m);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->name, m->name);
	ck_assert_str_eq(c->objects[1].path, "volumes/0001.tar.zst.kenc");
	ck_assert(c->authenticated);
	ck_assert(memcmp(c->text, text, c->text_len) == 0);
	manifest_free(c);
	manifest_free(m);
	m = NULL;

	/* one byte of the text changed: parses, fails authentication */
	char *p = strstr(text, "\"items\":412");
	ck_assert_ptr_nonnull(p);
	p[9] = '3';
	ck_assert_int_eq(manifest_parse(text, strlen(text), &m), 0);
	ck_assert_int_eq(manifest_authenticate(m, k), KAHU_ECRYPTO);
	ck_assert(!m->authenticated);
	ck_assert_str_eq(kahu_error_last(), "the manifest of backup nightly-2 failed "
			 "authentication: it was altered or forged");
	manifest_free(m);
	m = NULL;
	free(text);

	/* unencrypted: nothing to authenticate it with, never "authenticated" */
	text = to_json(src, NULL);
	ck_assert_int_eq(manifest_load(text, strlen(text), NULL, &m), 0);
	ck_assert(!m->encrypted && !m->has_mac && !m->authenticated);
	ck_assert_str_eq(m->key_id, "");
	ck_assert_int_eq(manifest_authenticate(m, k), KAHU_ECRYPTO); /* a downgrade, with a key */
	manifest_free(m);
	m = NULL;
	free(text);

	/* refused forms: no manifest comes out */
	static const char *const refused[] = {
		"", "[]", "{\"format\":1}", "{\"format\":1,\"format\":1}",
		"{\"format\":2,\"name\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		ck_assert_int_eq(manifest_parse(refused[i], strlen(refused[i]), &m), KAHU_EDATA);
		ck_assert_ptr_null(m);
	}
	ck_assert_ptr_null(manifest_copy(src)); /* built, not parsed: no text */
	manifest_free(src);
	kahu_key_free(k);
	kahu_key_free(k2);
}
END_TEST

/* ---- the source cluster ("cluster": server URL, kube-system's UID) ---------------- */

#define UID1 "3f2a9c1d-7e4b-4c1a-9d2e-0a1b2c3d4e5f"
#define URL1 "https://api.prod.example:6443"

static struct manifest *sample_cluster(const char *uid)
{
	struct manifest *m = sample();
	manifest_set_cluster(m, URL1, uid);
	return m;
}

/* A manifest with a cluster, its "cluster" member edited (value NULL: removed); parse
 * must fail with msg. */
static void expect_bad_cluster(const char *leaf, json_t *value, const char *msg)
{
	struct manifest *m = sample_cluster(UID1), *p = NULL;
	char *text = to_json(m, NULL);
	json_t *root = json_loads(text, 0, NULL);
	if (!leaf)
		json_object_set_new(root, "cluster", value);
	else if (value)
		json_object_set_new(json_object_get(root, "cluster"), leaf, value);
	else
		json_object_del(json_object_get(root, "cluster"), leaf);
	char *bad = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_int_eq(manifest_parse(bad, strlen(bad), &p), KAHU_EDATA);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(kahu_error_last(), msg);
	free(bad);
	json_decref(root);
	free(text);
	manifest_free(m);
}

START_TEST(test_cluster_roundtrip)
{
	struct kahu_key *key = test_key(9);
	struct manifest *m = sample_cluster(UID1), *p = NULL;
	char *text = to_json(m, key), *again;
	ck_assert_ptr_nonnull(strstr(text, "\"cluster\":{\"server\":\"" URL1 "\",\"uid\":\"" UID1 "\"}"));
	ck_assert_int_eq(manifest_load(text, strlen(text), key, &p), 0);
	ck_assert_str_eq(p->cluster.server, URL1);
	ck_assert_str_eq(p->cluster.uid, UID1);
	again = to_json(p, key);
	ck_assert_str_eq(again, text);
	free(again);
	struct manifest *c = manifest_copy(p);
	ck_assert_str_eq(c->cluster.uid, UID1);
	manifest_free(c);
	manifest_free(p);
	free(text);
	manifest_free(m);

	/* the UID unknown: the server alone */
	m = sample_cluster(NULL);
	text = to_json(m, key);
	ck_assert_ptr_nonnull(strstr(text, "\"cluster\":{\"server\":\"" URL1 "\"}"));
	ck_assert_int_eq(manifest_load(text, strlen(text), key, &p), 0);
	ck_assert_str_eq(p->cluster.server, URL1);
	ck_assert_ptr_null(p->cluster.uid);
	manifest_free(p);
	free(text);
	manifest_free(m);

	/* "uid": null reads as unknown */
	m = sample_cluster(UID1);
	text = to_json(m, NULL);
	json_t *root = json_loads(text, 0, NULL);
	json_object_set_new(json_object_get(root, "cluster"), "uid", json_null());
	char *t2 = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_int_eq(manifest_parse(t2, strlen(t2), &p), 0);
	ck_assert_ptr_null(p->cluster.uid);
	manifest_free(p);
	free(t2);
	json_decref(root);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

/* Manifests written before the member existed read as they did, and verify. */
START_TEST(test_cluster_absent)
{
	struct kahu_key *key = test_key(10);
	struct manifest *m = sample(), *p = NULL;
	char *text = to_json(m, key);
	ck_assert_ptr_null(strstr(text, "\"cluster\""));
	ck_assert_int_eq(manifest_load(text, strlen(text), key, &p), 0);
	ck_assert_ptr_null(p->cluster.server);
	ck_assert_ptr_null(p->cluster.uid);
	char out[64];
	manifest_cluster_short(&p->cluster, out, sizeof out);
	ck_assert_str_eq(out, "-");
	ck_assert(!manifest_cluster_matches(&p->cluster, UID1));
	ck_assert(!manifest_cluster_matches(&p->cluster, URL1));
	struct manifest_cluster cur = { .server = (char *)URL1, .uid = (char *)UID1 };
	ck_assert(!manifest_cluster_same(&p->cluster, &cur));
	manifest_free(p);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

/* The MAC covers the member: changed, removed or added, it fails authentication. */
START_TEST(test_cluster_mac)
{
	struct kahu_key *key = test_key(11);
	struct manifest *m = sample_cluster(UID1);
	char *text = to_json(m, key);
	json_t *root = json_loads(text, 0, NULL);
	char *orig = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	struct walk w = { key, orig, 0, 0 };
	walk_leaves(&w, root, json_object_get(root, "cluster"), "cluster");
	ck_assert_int_eq(w.leaves, 2);
	ck_assert_int_eq(w.crypto_fails, 2);
	json_t *c = json_incref(json_object_get(root, "cluster"));
	json_object_del(root, "cluster");
	check_mutated(&w, root, "cluster removed");
	ck_assert_int_eq(w.crypto_fails, 3);
	json_object_set_new(root, "cluster", c);
	json_object_del(c, "uid");
	check_mutated(&w, root, "uid removed");
	ck_assert_int_eq(w.crypto_fails, 4);
	json_decref(root);
	free(orig);
	free(text);
	manifest_free(m);
	/* added to a manifest written without it */
	m = sample();
	text = to_json(m, key);
	root = json_loads(text, 0, NULL);
	orig = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	w = (struct walk){ key, orig, 0, 0 };
	json_object_set_new(root, "cluster", json_pack("{s:s, s:s}", "server", URL1, "uid", UID1));
	check_mutated(&w, root, "cluster added");
	ck_assert_int_eq(w.crypto_fails, 1);
	json_decref(root);
	free(orig);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_cluster_malformed)
{
	expect_bad_cluster(NULL, json_string(URL1), "malformed manifest: \"cluster\" must be an "
			   "object, not a string");
	expect_bad_cluster("server", NULL, "malformed manifest: cluster \"server\" is missing");
	expect_bad_cluster("server", json_integer(1), "malformed manifest: cluster \"server\" must "
			   "be a string, not an integer");
	expect_bad_cluster("server", json_string(""), "malformed manifest: cluster \"server\" is "
			   "empty");
	expect_bad_cluster("server", json_string("https://a\n"), "malformed manifest: cluster "
			   "\"server\" contains a control character");
	expect_bad_cluster("uid", json_string(""), "malformed manifest: cluster \"uid\" is empty");
	expect_bad_cluster("uid", json_true(), "malformed manifest: cluster \"uid\" must be a "
			   "string, not a boolean");
	char big[MANIFEST_UID_MAX + 2];
	memset(big, 'u', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_bad_cluster("uid", json_string(big), "malformed manifest: cluster \"uid\" is longer "
			   "than 128 bytes");

	/* and the writer refuses what the parser would */
	struct manifest *m = sample();
	char *text = NULL;
	manifest_set_cluster(m, NULL, UID1);
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of nightly-2: a cluster UID without its server");
	manifest_set_cluster(m, "https://x\x1b[2J", NULL);
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of nightly-2: bad cluster server URL");
	manifest_set_cluster(m, URL1, big);
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of nightly-2: bad cluster UID");
	ck_assert_ptr_null(text);
	manifest_free(m);
}
END_TEST

START_TEST(test_cluster_short_and_match)
{
	struct manifest_cluster c = { .server = (char *)URL1, .uid = (char *)UID1 };
	char out[64];
	manifest_cluster_short(&c, out, sizeof out);
	ck_assert_str_eq(out, "3f2a9c1d");
	c.uid = NULL;
	manifest_cluster_short(&c, out, sizeof out);
	ck_assert_str_eq(out, "api.prod.example:6443");
	c.server = (char *)"https://admin@10.0.0.1:443/k8s/clusters/c-1?x=1";
	manifest_cluster_short(&c, out, sizeof out);
	ck_assert_str_eq(out, "10.0.0.1:443");
	c.server = (char *)"https://a-very-long-host-name.example";
	manifest_cluster_short(&c, out, 8);
	ck_assert_str_eq(out, "a-very-");

	c = (struct manifest_cluster){ .server = (char *)URL1, .uid = (char *)UID1 };
	ck_assert(manifest_cluster_matches(&c, UID1));
	ck_assert(manifest_cluster_matches(&c, "3f2a9c1d"));
	ck_assert(manifest_cluster_matches(&c, "3f2a"));
	ck_assert(!manifest_cluster_matches(&c, "3f2")); /* too short a prefix */
	ck_assert(!manifest_cluster_matches(&c, "3f2a9c1e"));
	ck_assert(!manifest_cluster_matches(&c, UID1 "0"));
	ck_assert(manifest_cluster_matches(&c, URL1));
	ck_assert(manifest_cluster_matches(&c, URL1 "/"));
	ck_assert(!manifest_cluster_matches(&c, "https://api.prod.example"));
	ck_assert(!manifest_cluster_matches(&c, "https://api.prod.example:64430"));
	ck_assert(!manifest_cluster_matches(&c, ""));
	c.uid = NULL;
	ck_assert(!manifest_cluster_matches(&c, "3f2a9c1d"));
	ck_assert(manifest_cluster_matches(&c, URL1));

	/* the same cluster as a live one: by UID when both are known, else by URL */
	struct manifest_cluster b = { .server = (char *)URL1, .uid = (char *)UID1 };
	struct manifest_cluster cur = { .server = (char *)"https://other:6443", .uid = (char *)UID1 };
	ck_assert(manifest_cluster_same(&b, &cur));     /* the URL changed, the UID did not */
	cur.uid = (char *)"00000000-0000-4000-8000-000000000000";
	cur.server = (char *)URL1;
	ck_assert(!manifest_cluster_same(&b, &cur));    /* the URL reused by another cluster */
	cur.uid = NULL;
	ck_assert(manifest_cluster_same(&b, &cur));
	b.uid = NULL;
	cur.uid = (char *)UID1;
	ck_assert(manifest_cluster_same(&b, &cur));
	cur.server = (char *)"https://other:6443";
	ck_assert(!manifest_cluster_same(&b, &cur));
}
END_TEST


/* ---- the volume location ("volume_location": name, provider, token) ---------------- */

#define TOKEN1 "0123456789abcdef0123456789abcdef"

START_TEST(test_volloc_roundtrip_and_mac)
{
	struct kahu_key *key = test_key(12);
	struct manifest *m = sample(), *p = NULL;
	manifest_set_volume_location(m, "vols", "s3", TOKEN1);
	char *text = to_json(m, key);
	ck_assert_ptr_nonnull(strstr(text, "\"volume_location\":{\"name\":\"vols\",\"provider\":\"s3\","
				     "\"token\":\"" TOKEN1 "\"}"));
	ck_assert_int_eq(manifest_load(text, strlen(text), key, &p), 0);
	ck_assert_str_eq(p->volume_location.name, "vols");
	ck_assert_str_eq(p->volume_location.provider, "s3");
	ck_assert_str_eq(p->volume_location.token, TOKEN1);
	ck_assert(manifest_object_in_volloc(p, "volumes/0123/index.jsonl.zst.kenc"));
	ck_assert(!manifest_object_in_volloc(p, "volumes.jsonl.zst.kenc"));
	ck_assert(!manifest_object_in_volloc(p, "metadata.tar.zst.kenc"));
	struct manifest *c = manifest_copy(p);
	ck_assert_str_eq(c->volume_location.token, TOKEN1);
	manifest_free(c);
	manifest_free(p);

	/* the MAC covers every leaf, the member's removal and its addition */
	json_t *root = json_loads(text, 0, NULL);
	char *orig = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	struct walk w = { key, orig, 0, 0 };
	walk_leaves(&w, root, json_object_get(root, "volume_location"), "volume_location");
	ck_assert_int_eq(w.leaves, 3);
	ck_assert_int_eq(w.crypto_fails, 3);
	json_t *v = json_incref(json_object_get(root, "volume_location"));
	json_object_del(root, "volume_location");
	check_mutated(&w, root, "volume_location removed");
	ck_assert_int_eq(w.crypto_fails, 4);
	json_decref(v);
	json_decref(root);
	free(orig);
	free(text);
	manifest_free(m);

	m = sample();
	text = to_json(m, key);
	ck_assert_ptr_null(strstr(text, "volume_location"));
	ck_assert_int_eq(manifest_load(text, strlen(text), key, &p), 0);
	ck_assert_ptr_null(p->volume_location.name);
	ck_assert(!manifest_object_in_volloc(p, "volumes/0123/index.jsonl.zst.kenc"));
	manifest_free(p);
	root = json_loads(text, 0, NULL);
	orig = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	w = (struct walk){ key, orig, 0, 0 };
	json_object_set_new(root, "volume_location", json_pack("{s:s, s:s, s:s}", "name", "vols",
							       "provider", "fs", "token", TOKEN1));
	check_mutated(&w, root, "volume_location added");
	ck_assert_int_eq(w.crypto_fails, 1);
	json_decref(root);
	free(orig);
	free(text);
	manifest_free(m);
	kahu_key_free(key);
}
END_TEST

static void expect_bad_volloc(const char *leaf, json_t *value, const char *msg)
{
	struct manifest *m = sample(), *p = NULL;
	manifest_set_volume_location(m, "vols", "fs", TOKEN1);
	char *text = to_json(m, NULL);
	json_t *root = json_loads(text, 0, NULL);
	if (!leaf)
		json_object_set_new(root, "volume_location", value);
	else if (value)
		json_object_set_new(json_object_get(root, "volume_location"), leaf, value);
	else
		json_object_del(json_object_get(root, "volume_location"), leaf);
	char *bad = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_int_eq(manifest_parse(bad, strlen(bad), &p), KAHU_EDATA);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(kahu_error_last(), msg);
	free(bad);
	json_decref(root);
	free(text);
	manifest_free(m);
}

START_TEST(test_volloc_malformed)
{
	expect_bad_volloc(NULL, json_string("vols"), "malformed manifest: \"volume_location\" must be "
			  "an object, not a string");
	expect_bad_volloc("name", NULL, "malformed manifest: volume_location \"name\" is missing");
	expect_bad_volloc("token", NULL, "malformed manifest: volume_location \"token\" is missing");
	expect_bad_volloc("name", json_string(""), "malformed manifest: volume_location \"name\" or "
			  "\"provider\" is empty or holds a control character");
	expect_bad_volloc("token", json_string("0123456789ABCDEF0123456789ABCDEF"), "malformed manifest: "
			  "volume_location \"token\" is not 32 lowercase hex digits");
	expect_bad_volloc("token", json_string("abc"), "malformed manifest: volume_location \"token\" "
			  "is not 32 lowercase hex digits");

	/* and the writer refuses what the parser would */
	struct manifest *m = sample();
	char *text = NULL;
	manifest_set_volume_location(m, "vols", "fs", "xyz");
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "manifest of nightly-2: bad volume_location");
	manifest_set_volume_location(m, "a\nb", "fs", TOKEN1);
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), KAHU_EUSAGE);
	ck_assert_ptr_null(text);
	manifest_set_volume_location(m, NULL, NULL, NULL);
	ck_assert_int_eq(manifest_to_json(m, NULL, &text), 0);
	free(text);
	manifest_free(m);
}
END_TEST

static Suite *manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("manifest");
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_full_unencrypted_exact);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_any_field_changed);
	tcase_add_test(tc, test_forged_without_key);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_to_json_refuses_bad_struct);
	tcase_add_test(tc, test_scope_digest);
	tcase_add_test(tc, test_typed_read);
	suite_add_tcase(s, tc);
	tc = tcase_create("cluster");
	tcase_add_test(tc, test_cluster_roundtrip);
	tcase_add_test(tc, test_cluster_absent);
	tcase_add_test(tc, test_cluster_mac);
	tcase_add_test(tc, test_cluster_malformed);
	tcase_add_test(tc, test_cluster_short_and_match);
	suite_add_tcase(s, tc);
	tc = tcase_create("volume_location");
	tcase_add_test(tc, test_volloc_roundtrip_and_mac);
	tcase_add_test(tc, test_volloc_malformed);
	suite_add_tcase(s, tc);
	tc = tcase_create("index");
	tcase_add_test(tc, test_index_lines);
	tcase_add_test(tc, test_index_line_printer);
	tcase_add_test(tc, test_resource_path);
	tcase_add_test(tc, test_resource_path_encoded);
	tcase_add_test(tc, test_run_objects);
	tcase_add_test(tc, test_format_xxh64);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(manifest_suite)
