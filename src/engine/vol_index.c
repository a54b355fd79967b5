/* kahu — the listing's records, index lines and path checks.  See vol_int.h. */
#include "engine/vol_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "archive/key.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

void vol_entry_clear(struct vol_entry *e)
{
	free(e->path);
	free(e->target);
	free(e->backup);
	memset(e, 0, sizeof *e);
	e->segment = -1;
}

char *vol_path_printable(const char *path, size_t len)
{
	struct kbuf b = KBUF_INIT;
	char *tmp = xmalloc(len + 1);
	memcpy(tmp, path, len);
	tmp[len] = 0;
	kbuf_adds(&b, "\"");
	kbuf_add_printable(&b, tmp, 0);
	kbuf_adds(&b, "\"");
	free(tmp);
	return kbuf_detach(&b);
}

int vol_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int vol_path_check(const char *path, size_t len, const char *what)
{
	const char *why = NULL;
	if (len == 0)
		why = "empty path";
	else if (memchr(path, 0, len))
		why = "NUL byte in the path";
	else if (path[0] == '/')
		why = "absolute path";
	else {
		size_t start = 0;
		for (size_t i = 0; i <= len; i++) {
			if (i < len && path[i] != '/')
				continue;
			size_t n = i - start;
			if (n == 0)
				why = "empty path component";
			else if (n == 1 && path[start] == '.')
				why = "\".\" component";
			else if (n == 2 && path[start] == '.' && path[start + 1] == '.')
				why = "\"..\" component";
			if (why)
				break;
			start = i + 1;
		}
	}
	if (!why)
		return 0;
	char *p = vol_path_printable(path, len);
	int rc = kahu_error_set(KAHU_EDATA, "%s %s: %s", what, p, why);
	free(p);
	return rc;
}

bool vol_glob_match_any(const char *const *globs, const char *path)
{
	if (!globs)
		return false;
	size_t len = strlen(path);
	char *tmp = xmalloc(len + 1);
	bool hit = false;
	for (size_t i = 0; !hit && i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		memcpy(tmp, path, i);
		tmp[i] = 0;
		for (const char *const *g = globs; *g && !hit; g++)
			hit = fnmatch(*g, tmp, 0) == 0;
	}
	free(tmp);
	return hit;
}

/* ---- the listing ---- */

static int num_field(const char **p, const char *end, int base, uint64_t *out)
{
	const char *s = *p;
	const char *bar = memchr(s, '|', (size_t)(end - s));
	if (!bar || bar == s || bar - s > 20)
		return -1;
	uint64_t v = 0;
	for (const char *q = s; q < bar; q++) {
		int d;
		if (*q >= '0' && *q <= '9')
			d = *q - '0';
		else if (base == 16 && *q >= 'a' && *q <= 'f')
			d = *q - 'a' + 10;
		else if (base == 16 && *q >= 'A' && *q <= 'F')
			d = *q - 'A' + 10;
		else
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	*p = bar + 1;
	return 0;
}

int vol_listing_record(const char *rec, size_t len, const char *nonce, struct vol_entry *e)
{
	const char *end = rec + len, *p = rec;
	size_t nl = strlen(nonce);
	uint64_t v[8];
	static const char *names[8] = { "inode", "links", "mode", "uid", "gid", "size", "mtime", "ctime" };

	vol_entry_clear(e);
	if (len < nl + 1 || memcmp(rec, nonce, nl) || rec[nl] != '|')
		return kahu_error_set(KAHU_EDATA, "volume listing: a record without the run's marker");
	p += nl + 1;
	for (int i = 0; i < 8; i++)
		if (num_field(&p, end, i == 2 ? 16 : 10, &v[i]) < 0)
			return kahu_error_set(KAHU_EDATA, "volume listing: a record with a bad %s field",
					      names[i]);
	if (end - p < 3 || p[0] != '.' || p[1] != '/')
		return kahu_error_set(KAHU_EDATA, "volume listing: a name that does not start with \"./\"");
	p += 2;
	size_t plen = (size_t)(end - p);
	int rc = vol_path_check(p, plen, "volume listing: refused path");
	if (rc < 0)
		return rc;
	if ((int64_t)v[6] < 0 || (int64_t)v[7] < 0)
		return kahu_error_set(KAHU_EDATA, "volume listing: time out of range");
	e->path = xmalloc(plen + 1);
	memcpy(e->path, p, plen);
	e->path[plen] = 0;
	e->path_len = plen;
	e->ino = v[0];
	e->nlink = v[1];
	e->mode = (uint32_t)(v[2] & 07777);
	e->uid = v[3];
	e->gid = v[4];
	e->size = v[5];
	e->mtime = (int64_t)v[6];
	e->ctime = (int64_t)v[7];
	switch (v[2] & S_IFMT) {
	case S_IFREG: e->type = VOL_T_FILE; break;
	case S_IFDIR: e->type = VOL_T_DIR; e->size = 0; break;
	case S_IFLNK: e->type = VOL_T_SYMLINK; break;
	case S_IFIFO: e->type = VOL_T_FIFO; e->size = 0; break;
	default: return 0;
	}
	if (e->type != VOL_T_FILE)
		e->size = e->type == VOL_T_SYMLINK ? e->size : 0;
	return 1;
}

void vol_listing_init(struct vol_listing *l, FILE *f, const char *nonce)
{
	memset(l, 0, sizeof *l);
	l->now = -1;
	l->f = f;
	l->nonce = nonce;
}

void vol_listing_free(struct vol_listing *l)
{
	kbuf_free(&l->rec);
	kbuf_free(&l->next);
	free(l->prev);
	l->prev = NULL;
	free(l->line);
	l->line = NULL;
	l->cap = 0;
}

/* One physical line (with its '\n' removed) into b: 1, or 0 at the end. */
static int read_line(struct vol_listing *l, struct kbuf *b, bool *had_nl)
{
	kbuf_reset(b);
	*had_nl = false;
	ssize_t n = getline(&l->line, &l->cap, l->f);
	if (n <= 0)
		return 0;
	if (l->line[n - 1] == '\n') {
		*had_nl = true;
		n--;
	}
	kbuf_add(b, l->line, (size_t)n);
	return 1;
}

static bool starts_record(const struct kbuf *b, const char *nonce)
{
	size_t n = strlen(nonce);
	return b->len > n && !memcmp(b->data, nonce, n) && b->data[n] == '|';
}

int vol_listing_next(struct vol_listing *l, struct vol_entry *e)
{
	bool nl;
	for (;;) {
		if (!l->have_next) {
			if (l->eof || !read_line(l, &l->next, &nl)) {
				l->eof = true;
				if (ferror(l->f))
					return kahu_error_set(KAHU_EIO, "volume listing: cannot read its spool: %s",
							      strerror(errno));
				return 0;
			}
			if (!nl)
				return kahu_error_set(KAHU_EDATA, "volume listing: it ends inside a record");
		}
		l->have_next = false;
		if (!starts_record(&l->next, l->nonce))
			return kahu_error_set(KAHU_EDATA, "volume listing: text that is not a record of this run");
		size_t nonce_len = strlen(l->nonce);
		if (l->n == 0 && l->now < 0 && l->next.len > nonce_len + 5 &&
		    !memcmp(l->next.data + nonce_len + 1, "now|", 4)) {
			char *end = NULL;
			errno = 0;
			long long t = strtoll(l->next.data + nonce_len + 5, &end, 10);
			if (errno || end != l->next.data + l->next.len || t < 0)
				return kahu_error_set(KAHU_EDATA, "volume listing: a bad start time");
			l->now = t;
			continue;
		}
		kbuf_reset(&l->rec);
		kbuf_add(&l->rec, l->next.data, l->next.len);
		/* Continuation lines: a newline inside the name. */
		for (;;) {
			if (!read_line(l, &l->next, &nl)) {
				l->eof = true;
				break;
			}
			if (!nl)
				return kahu_error_set(KAHU_EDATA, "volume listing: it ends inside a record");
			if (starts_record(&l->next, l->nonce)) {
				l->have_next = true;
				break;
			}
			kbuf_addc(&l->rec, '\n');
			kbuf_add(&l->rec, kbuf_str(&l->next), l->next.len);
		}
		int rc = vol_listing_record(l->rec.data, l->rec.len, l->nonce, e);
		if (rc < 0)
			return rc;
		if (l->prev && vol_path_cmp(l->prev, l->prev_len, e->path, e->path_len) >= 0)
			return kahu_error_set(KAHU_EDATA, "volume listing: not sorted at record %" PRIu64,
					      l->n + 1);
		free(l->prev);
		l->prev = xstrdup(e->path);
		l->prev_len = e->path_len;
		l->n++;
		if (rc == 0) {
			char *p = vol_path_printable(e->path, e->path_len);
			log_warn("volume: %s is a socket or device file, not kept", p);
			free(p);
			vol_entry_clear(e);
			continue; /* sockets and devices are not kept */
		}
		return 1;
	}
}

/* ---- index lines ---- */

static bool utf8_ok(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;
	json_decref(j);
	return ok;
}

static void set_name(json_t *o, const char *key, const char *key64, const char *s)
{
	if (utf8_ok(s)) {
		json_object_set_new(o, key, json_string(s));
		return;
	}
	size_t n = strlen(s);
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b = xmalloc(cap);
	sodium_bin2base64(b, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(o, key64, json_string(b));
	free(b);
}

/* ---- content hashes ---- */

void vol_chash_init(struct vol_chash *c, const char *like)
{
	c->b2 = like && strlen(like) == VOL_B2_HEX_LEN ? kahu_hash_new() : NULL;
	if (!c->b2)
		kahu_xxh64_init(&c->x);
}

void vol_chash_update(struct vol_chash *c, const void *data, size_t len)
{
	if (c->b2)
		kahu_hash_update(c->b2, data, len);
	else
		kahu_xxh64_update(&c->x, data, len);
}

void vol_chash_final(struct vol_chash *c, char out[65])
{
	if (c->b2) {
		kahu_hash_final_hex(c->b2, out);
		kahu_hash_free(c->b2);
		c->b2 = NULL;
	} else {
		kahu_xxh64_hex(&c->x, out);
	}
}

void vol_chash_drop(struct vol_chash *c)
{
	if (c->b2)
		kahu_hash_free(c->b2);
	c->b2 = NULL;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

char *vol_index_format_json(const struct vol_entry *e)
{
	json_t *o = json_object();
	char t[2] = { e->type, 0 };
	set_name(o, "path", "path_b64", e->path);
	json_object_set_new(o, "type", json_string(t));
	json_object_set_new(o, "mode", json_integer((json_int_t)e->mode));
	json_object_set_new(o, "uid", json_integer((json_int_t)e->uid));
	json_object_set_new(o, "gid", json_integer((json_int_t)e->gid));
	json_object_set_new(o, "size", json_integer((json_int_t)e->size));
	json_object_set_new(o, "mtime", json_integer((json_int_t)e->mtime));
	json_object_set_new(o, "ctime", json_integer((json_int_t)e->ctime));
	json_object_set_new(o, "ino", json_integer((json_int_t)e->ino));
	json_object_set_new(o, "nlink", json_integer((json_int_t)e->nlink));
	if (e->target)
		set_name(o, "target", "target_b64", e->target);
	if (e->hash[0])
		json_object_set_new(o, strlen(e->hash) == VOL_B2_HEX_LEN ? "hash" : "xxh64",
				    json_string(e->hash));
	if (e->racy)
		json_object_set_new(o, "racy", json_true());
	if (e->backup && e->segment >= 0) {
		json_object_set_new(o, "backup", json_string(e->backup));
		json_object_set_new(o, "segment", json_integer(e->segment));
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static int get_name(json_t *o, const char *key, const char *key64, bool required, char **out,
		    const char **why)
{
	json_t *v = json_object_get(o, key), *v64 = json_object_get(o, key64);
	*out = NULL;
	if (v && v64) {
		*why = "both a name and its base64 form";
		return -1;
	}
	if (v) {
		if (!json_is_string(v) || memchr(json_string_value(v), 0, json_string_length(v))) {
			*why = "a name that is not a string";
			return -1;
		}
		*out = xstrdup(json_string_value(v));
		return 0;
	}
	if (v64) {
		const char *s = json_string_value(v64);
		size_t n = s ? strlen(s) : 0, got = 0;
		unsigned char *bin = xmalloc(n + 1);
		if (!s || sodium_base642bin(bin, n + 1, s, n, NULL, &got, NULL,
					    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    memchr(bin, 0, got)) {
			free(bin);
			*why = "a base64 name that does not decode";
			return -1;
		}
		bin[got] = 0;
		*out = (char *)bin;
		return 0;
	}
	if (required) {
		*why = "no path";
		return -1;
	}
	return 0;
}

static int get_uint(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int vol_index_parse_json(const char *line, size_t len, struct vol_entry *e, bool complete)
{
	json_error_t jerr;
	const char *why = NULL;
	uint64_t mode = 0, mt = 0, ct = 0;
	vol_entry_clear(e);
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return kahu_error_set(KAHU_EDATA, "volume index: a line that is not a JSON object");
	}
	const char *t = json_string_value(json_object_get(o, "type"));
	if (get_name(o, "path", "path_b64", true, &e->path, &why) < 0 ||
	    get_name(o, "target", "target_b64", false, &e->target, &why) < 0)
		goto bad;
	e->path_len = strlen(e->path);
	if (!t || strlen(t) != 1 || !strchr("fdlhp", t[0])) {
		why = "unknown type";
		goto bad;
	}
	e->type = t[0];
	if (get_uint(o, "mode", &mode) < 0 || mode > 07777 || get_uint(o, "uid", &e->uid) < 0 ||
	    get_uint(o, "gid", &e->gid) < 0 || get_uint(o, "size", &e->size) < 0 ||
	    get_uint(o, "mtime", &mt) < 0 || get_uint(o, "ctime", &ct) < 0 ||
	    get_uint(o, "ino", &e->ino) < 0 || get_uint(o, "nlink", &e->nlink) < 0) {
		why = "a missing or bad number";
		goto bad;
	}
	e->mode = (uint32_t)mode;
	e->mtime = (int64_t)mt;
	e->ctime = (int64_t)ct;
	if ((complete && (e->type == VOL_T_SYMLINK || e->type == VOL_T_HARDLINK) && !e->target) ||
	    (e->type != VOL_T_SYMLINK && e->type != VOL_T_HARDLINK && e->target)) {
		why = e->target ? "a target on an entry that is no link" : "a link without target";
		goto bad;
	}
	e->racy = json_is_true(json_object_get(o, "racy"));
	json_t *h = json_object_get(o, "hash"), *x = json_object_get(o, "xxh64");
	if (h && x) {
		why = "two content hashes";
		goto bad;
	}
	if (h || x) {
		const char *hs = json_string_value(h ? h : x);
		size_t want = h ? VOL_B2_HEX_LEN : VOL_XXH64_HEX_LEN;
		if (!hs || strlen(hs) != want || !lower_hex(hs, want)) {
			why = "a bad hash";
			goto bad;
		}
		memcpy(e->hash, hs, want + 1);
	}
	json_t *b = json_object_get(o, "backup"), *s = json_object_get(o, "segment");
	if ((b != NULL) != (s != NULL) || (b && (!json_is_string(b) || !json_is_integer(s) ||
						  json_integer_value(s) < 0 ||
						  json_integer_value(s) > 999999))) {
		why = "a bad content location";
		goto bad;
	}
	if (b) {
		e->backup = xstrdup(json_string_value(b));
		e->segment = (long)json_integer_value(s);
	}
	if (complete && e->type == VOL_T_FILE && e->size > 0 && (!b || !e->hash[0])) {
		why = "a file without content location";
		goto bad;
	}
	json_decref(o);
	return 0;
bad:
	json_decref(o);
	vol_entry_clear(e);
	return kahu_error_set(KAHU_EDATA, "volume index: %s", why);
}

/* ---- index lines without jansson ----
 *
 * An index holds one line per entry and an incremental backup reads and writes every
 * line of its parent's index (the plan, the transfer list, the new index), so the
 * common lines take a direct path: names of printable ASCII without '"' or '\', the
 * keys kahu writes, sorted, no white space.  Anything else goes through jansson
 * (vol_index_format_json, vol_index_parse_json), and so does a line the direct parser
 * would refuse, so that the message is the same; the direct forms give what the
 * jansson forms give (fuzz_volindex compares them). */

static bool plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

static void put_str(struct kbuf *b, const char *key, const char *v)
{
	if (b->len > 1)
		kbuf_addc(b, ',');
	kbuf_addc(b, '"');
	kbuf_adds(b, key);
	kbuf_adds(b, "\":\"");
	kbuf_adds(b, v);
	kbuf_addc(b, '"');
}

static void put_int(struct kbuf *b, const char *key, long long v)
{
	char num[24], *q = num + sizeof num;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	*--q = 0;
	do
		*--q = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--q = '-';
	if (b->len > 1)
		kbuf_addc(b, ',');
	kbuf_addc(b, '"');
	kbuf_adds(b, key);
	kbuf_adds(b, "\":");
	kbuf_adds(b, q);
}

char *vol_index_format(const struct vol_entry *e)
{
	char t[2] = { e->type, 0 };
	bool loc = e->backup && e->segment >= 0;
	if (!plain(e->path) || (e->target && !plain(e->target)) || !plain(e->hash) || !plain(t) ||
	    (loc && !plain(e->backup)))
		return vol_index_format_json(e);
	struct kbuf b = KBUF_INIT;
	kbuf_addc(&b, '{');
	/* the keys in bytewise order, as JSON_SORT_KEYS */
	if (loc)
		put_str(&b, "backup", e->backup);
	put_int(&b, "ctime", (long long)e->ctime);
	put_int(&b, "gid", (long long)e->gid);
	bool b2 = strlen(e->hash) == VOL_B2_HEX_LEN;
	if (b2)
		put_str(&b, "hash", e->hash);
	put_int(&b, "ino", (long long)e->ino);
	put_int(&b, "mode", (long long)e->mode);
	put_int(&b, "mtime", (long long)e->mtime);
	put_int(&b, "nlink", (long long)e->nlink);
	put_str(&b, "path", e->path);
	if (e->racy)
		kbuf_adds(&b, ",\"racy\":true");
	if (loc)
		put_int(&b, "segment", (long long)e->segment);
	put_int(&b, "size", (long long)e->size);
	if (e->target)
		put_str(&b, "target", e->target);
	put_str(&b, "type", t);
	put_int(&b, "uid", (long long)e->uid);
	if (e->hash[0] && !b2)
		put_str(&b, "xxh64", e->hash);
	kbuf_addc(&b, '}');
	return kbuf_detach(&b);
}

enum fast_val { FV_STR, FV_INT, FV_TRUE, FV_FALSE };

/* One value at *p: a string of plain bytes (start, length), a non-negative integer
 * that fits json_int_t, or true/false.  false: not such a value. */
static bool fast_value(const char **p, const char *end, enum fast_val *kind, const char **s,
		       size_t *slen, uint64_t *num)
{
	const char *q = *p;
	if (q >= end)
		return false;
	if (*q == '"') {
		const char *start = ++q;
		while (q < end && *q != '"') {
			unsigned char c = (unsigned char)*q;
			if (c < 0x20 || c > 0x7e || c == '\\')
				return false;
			q++;
		}
		if (q >= end)
			return false;
		*kind = FV_STR;
		*s = start;
		*slen = (size_t)(q - start);
		*p = q + 1;
		return true;
	}
	if (*q >= '0' && *q <= '9') {
		uint64_t v = 0;
		const char *start = q;
		for (; q < end && *q >= '0' && *q <= '9'; q++) {
			if (q - start >= 18 || (q > start && *start == '0'))
				return false; /* long (jansson's range checks them) or a leading zero */
			v = v * 10 + (uint64_t)(*q - '0');
		}
		*kind = FV_INT;
		*num = v;
		*p = q;
		return true;
	}
	if (end - q >= 4 && !memcmp(q, "true", 4)) {
		*kind = FV_TRUE;
		*p = q + 4;
		return true;
	}
	if (end - q >= 5 && !memcmp(q, "false", 5)) {
		*kind = FV_FALSE;
		*p = q + 5;
		return true;
	}
	return false;
}

static char *span_dup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* The direct parse: 1 with *e, or 0 (e cleared) when the line is not one it takes or
 * would be refused: the caller then asks jansson. */
static int parse_fast(const char *line, size_t len, struct vol_entry *e, bool complete)
{
	enum { K_MODE, K_UID, K_GID, K_SIZE, K_MTIME, K_CTIME, K_INO, K_NLINK, K_N };
	static const char *const keys[] = { "backup", "ctime", "gid", "hash", "ino", "mode", "mtime",
					    "nlink", "path", "racy", "segment", "size", "target",
					    "type", "uid", "xxh64" };
	static const int num_of[] = { -1, K_CTIME, K_GID, -1, K_INO, K_MODE, K_MTIME, K_NLINK, -1,
				      -1, -1, K_SIZE, -1, -1, K_UID, -1 };
	const char *p = line, *end = line + len;
	const char *type = NULL, *backup = NULL, *path = NULL, *target = NULL;
	size_t type_len = 0, backup_len = 0, path_len = 0, target_len = 0;
	uint64_t num[K_N], segment = 0;
	unsigned have = 0;             /* the numbers present, a bit each */
	bool has_seg = false, racy = false;
	int last = -1;

	vol_entry_clear(e);
	if (p >= end || *p++ != '{' || p >= end || *p == '}')
		return 0;
	for (;;) {
		if (p >= end || *p++ != '"')
			return 0;
		const char *k = p;
		while (p < end && *p != '"')
			p++;
		if (p >= end)
			return 0;
		size_t klen = (size_t)(p - k);
		p++;
		int ki = -1;
		for (int i = last + 1; i < (int)(sizeof keys / sizeof keys[0]); i++)
			if (strlen(keys[i]) == klen && !memcmp(keys[i], k, klen)) {
				ki = i;
				break;
			}
		if (ki < 0 || p >= end || *p++ != ':')
			return 0; /* unknown, out of order or repeated: jansson's turn */
		last = ki;
		enum fast_val kind;
		const char *s = NULL;
		size_t slen = 0;
		uint64_t v = 0;
		if (!fast_value(&p, end, &kind, &s, &slen, &v))
			return 0;
		const char *key = keys[ki];
		if (num_of[ki] >= 0) {
			if (kind != FV_INT)
				return 0;
			num[num_of[ki]] = v;
			have |= 1u << num_of[ki];
		} else if (!strcmp(key, "segment")) {
			if (kind != FV_INT)
				return 0;
			segment = v;
			has_seg = true;
		} else if (!strcmp(key, "racy")) {
			if (kind != FV_TRUE && kind != FV_FALSE)
				return 0;
			racy = kind == FV_TRUE;
		} else if (kind != FV_STR) {
			return 0;
		} else if (!strcmp(key, "backup")) {
			backup = s, backup_len = slen;
		} else if (!strcmp(key, "hash") || !strcmp(key, "xxh64")) {
			size_t want = key[0] == 'h' ? VOL_B2_HEX_LEN : VOL_XXH64_HEX_LEN;
			if (e->hash[0] || slen != want || !lower_hex(s, slen))
				return 0;
			memcpy(e->hash, s, slen);
			e->hash[slen] = 0;
		} else if (!strcmp(key, "path")) {
			path = s, path_len = slen;
		} else if (!strcmp(key, "target")) {
			target = s, target_len = slen;
		} else { /* type */
			type = s, type_len = slen;
		}
		if (p >= end)
			return 0;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}' || p != end)
			return 0;
		break;
	}
	char t = type && type_len == 1 ? type[0] : 0;
	bool link = t == VOL_T_SYMLINK || t == VOL_T_HARDLINK;
	if (!path || !t || !strchr("fdlhp", t) || have != (1u << K_N) - 1 || num[K_MODE] > 07777 ||
	    (complete && link && !target) || (!link && target) || (backup != NULL) != has_seg ||
	    segment > 999999 ||
	    (complete && t == VOL_T_FILE && num[K_SIZE] > 0 && (!backup || !e->hash[0]))) {
		e->hash[0] = 0;
		return 0;
	}
	e->path = span_dup(path, path_len);
	e->path_len = path_len;
	e->type = t;
	e->mode = (uint32_t)num[K_MODE];
	e->uid = num[K_UID];
	e->gid = num[K_GID];
	e->size = num[K_SIZE];
	e->mtime = (int64_t)num[K_MTIME];
	e->ctime = (int64_t)num[K_CTIME];
	e->ino = num[K_INO];
	e->nlink = num[K_NLINK];
	e->target = target ? span_dup(target, target_len) : NULL;
	e->racy = racy;
	if (backup) {
		e->backup = span_dup(backup, backup_len);
		e->segment = (long)segment;
	}
	return 1;
}

int vol_index_parse(const char *line, size_t len, struct vol_entry *e)
{
	return vol_index_parse_ex(line, len, e, true);
}

int vol_index_parse_ex(const char *line, size_t len, struct vol_entry *e, bool complete)
{
	if (parse_fast(line, len, e, complete) == 1)
		return 0;
	return vol_index_parse_json(line, len, e, complete);
}
