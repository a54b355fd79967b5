/* kahu — libFuzzer target for the LIST item scanner (src/kube/listscan.c).
 *
 * Each input is scanned twice: in one piece, and in pieces of varying sizes derived
 * from the input (1 byte up to a few hundred).  Invariants checked:
 *  - both runs agree: outcome, message, every item's bytes, the kept top-level values;
 *  - every item handed on starts with '{', ends with '}', is NUL-terminated and within
 *    the size limit, and none comes after the callback stopped the scan;
 *  - against jansson: a body the scanner accepts parses (unless jansson refuses it for
 *    a reason that is not syntax: a NUL in a key, an integer or real out of range), and
 *    its "items" elements, "kind", "apiVersion" and "metadata" equal what the scanner
 *    handed on; a body the scanner calls a syntax error does not parse (unless it holds
 *    a NUL byte, which jansson lets pass after a token); a form error is
 *    about a body that is really not list-shaped (or repeats a member);
 *  - a body cut short anywhere before its last non-blank byte fails with a syntax
 *    error, and the items handed on until then are a prefix of the whole body's.
 *
 * Built by `make fuzz` with clang -fsanitize=fuzzer; by hand, from the source tree:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz_listscan.c src/kube/listscan.c src/util/buf.c src/util/err.c \
 *     src/util/mem.c -ljansson -lsodium -lpthread -o fuzz_listscan
 *   ./fuzz_listscan -max_total_time=60 tests/fuzz/corpus/listscan
 * (with -Itests/fuzz for fuzz.h) */
#include "fuzz.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/listscan.h"
#include "util/err.h"

#define MAX_ITEMS 4096

struct result {
	int rc;
	enum listscan_error kind;
	char msg[512];
	char *items[MAX_ITEMS];
	size_t lens[MAX_ITEMS];
	size_t n;
	size_t stop_at;     /* the callback fails on this item (SIZE_MAX: never) */
	size_t max_item;
	int stopped;
	char *top[LISTSCAN_NTOP];
	enum listscan_items form;
};

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_listscan: invariant broken: %s\n", what);
		abort();
	}
}

static int on_item(void *ud, const char *json, size_t len, size_t index)
{
	struct result *r = ud;
	check(!r->stopped, "no item after the callback stopped the scan");
	check(index == r->n, "items are numbered in order");
	check(len >= 2 && json[0] == '{' && json[len - 1] == '}', "an item is an object's text");
	check(json[len] == '\0', "an item is NUL-terminated");
	check(!r->max_item || len <= r->max_item, "an item is within the limit");
	if (index == r->stop_at) {
		r->stopped = 1;
		return kahu_error_set(KAHU_EIO, "stopped at item %zu", index);
	}
	if (r->n < MAX_ITEMS) {
		r->items[r->n] = malloc(len + 1);
		memcpy(r->items[r->n], json, len + 1);
		r->lens[r->n] = len;
	}
	r->n++;
	return 0;
}

static uint64_t hash(const uint8_t *d, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 1099511628211ull;
	return h;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Scan data[0..n) in pieces (seed 0: one piece); finish when `finish`. */
static void scan(const uint8_t *d, size_t n, uint64_t seed, int finish, struct result *r)
{
	struct listscan *s = listscan_new(r->max_item, on_item, r);
	size_t off = 0;
	int rc = 0;

	while (off < n && rc == 0) {
		size_t piece = n - off;
		if (seed) {
			uint64_t x = next(&seed);
			/* mostly small pieces, sometimes single bytes, sometimes large */
			piece = (x & 3) == 0 ? 1 : (x & 3) == 1 ? 1 + (x >> 8) % 7 : 1 + (x >> 8) % 300;
			if (piece > n - off)
				piece = n - off;
		}
		rc = listscan_feed(s, d + off, piece);
		off += piece;
	}
	if (rc == 0 && finish)
		rc = listscan_finish(s);
	if (rc < 0) {
		/* the error sticks */
		check(listscan_feed(s, "{", 1) == rc, "an error sticks (feed)");
		check(listscan_finish(s) == rc, "an error sticks (finish)");
	}
	r->rc = rc;
	r->kind = listscan_error_kind(s);
	snprintf(r->msg, sizeof r->msg, "%s", rc < 0 ? kahu_error_last() : "");
	r->form = listscan_items_form(s);
	check(listscan_items(s) == r->n + (r->stopped ? 1 : 0), "the item count");
	for (int k = 0; k < LISTSCAN_NTOP; k++) {
		size_t len;
		const char *t = listscan_top(s, (enum listscan_top)k, &len);
		r->top[k] = t ? strndup(t, len) : NULL;
	}
	check((rc < 0) == (r->kind != LISTSCAN_OK), "an error has a kind");
	check(r->kind != LISTSCAN_ECALLBACK || r->stopped, "a callback error comes from the callback");
	listscan_free(s);
}

static void clear(struct result *r)
{
	for (size_t i = 0; i < r->n && i < MAX_ITEMS; i++)
		free(r->items[i]);
	for (int k = 0; k < LISTSCAN_NTOP; k++)
		free(r->top[k]);
}

static int semantic_only(const char *text)
{
	return strstr(text, "NUL byte in object key") || strstr(text, "too big") ||
	       strstr(text, "overflow");
}

static json_t *load(const char *text, size_t len, json_error_t *err)
{
	return json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, err);
}

static int list_shaped(json_t *ref)
{
	if (!json_is_object(ref))
		return 0;
	json_t *items = json_object_get(ref, "items");
	if (items && !json_is_null(items) && !json_is_array(items))
		return 0;
	size_t i;
	json_t *v;
	json_array_foreach(items, i, v)
		if (!json_is_object(v))
			return 0;
	return 1;
}

static void compare_with_jansson(const uint8_t *d, size_t n, const struct result *w)
{
	static const char *const names[LISTSCAN_NTOP] = { "kind", "apiVersion", "metadata" };
	json_error_t err;
	json_t *ref = load((const char *)d, n, &err);

	if (w->rc == 0) {
		check(ref || semantic_only(err.text), "jansson parses what the scanner accepts");
		if (ref) {
			check(json_is_object(ref), "the body is an object");
			json_t *items = json_object_get(ref, "items");
			if (w->form == LISTSCAN_ITEMS_MISSING)
				check(!items, "items missing");
			else if (w->form == LISTSCAN_ITEMS_NULL)
				check(json_is_null(items), "items null");
			else
				check(json_is_array(items) && json_array_size(items) == w->n,
				      "as many items as jansson sees");
			for (size_t i = 0; i < w->n && i < MAX_ITEMS; i++) {
				json_t *it = load(w->items[i], w->lens[i], &err);
				check(it && json_equal(it, json_array_get(items, i)), "the same item");
				json_decref(it);
			}
			for (int k = 0; k < LISTSCAN_NTOP; k++) {
				json_t *want = json_object_get(ref, names[k]);
				check(!want == !w->top[k], "a top-level member kept iff present");
				if (want) {
					json_t *got = load(w->top[k], strlen(w->top[k]), &err);
					check(got && json_equal(got, want), "the same top-level member");
					json_decref(got);
				}
			}
		}
	} else if (w->kind == LISTSCAN_ESYNTAX && !memchr(d, 0, n)) {
		/* (jansson 2.14 lets a NUL byte pass right after a token: "[1\0]" parses) */
		check(!ref, "jansson refuses what the scanner calls a syntax error");
	} else if (w->kind == LISTSCAN_EFORM && ref) {
		/* jansson keeps the last of repeated keys, the scanner saw the first */
		json_t *strict = json_loadb((const char *)d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL |
					    JSON_REJECT_DUPLICATES, &err);
		if (strict)
			check(!list_shaped(ref), "a form error is real");
		json_decref(strict);
	}
	json_decref(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	uint64_t h = hash(d, n) | 1;
	struct result whole = { 0 }, pieces = { 0 };
	size_t max_item = n % 3 == 0 ? 48 : 0;
	size_t stop_at = n % 5 == 0 ? (size_t)(h >> 40) % 4 : SIZE_MAX;

	whole.max_item = pieces.max_item = max_item;
	whole.stop_at = pieces.stop_at = stop_at;
	scan(d, n, 0, 1, &whole);
	scan(d, n, h, 1, &pieces);

	check(whole.rc == pieces.rc, "the same outcome in pieces");
	check(whole.kind == pieces.kind, "the same kind of error in pieces");
	check(strcmp(whole.msg, pieces.msg) == 0, "the same message in pieces");
	check(whole.n == pieces.n, "as many items in pieces");
	check(whole.form == pieces.form, "the same items form in pieces");
	for (size_t i = 0; i < whole.n && i < MAX_ITEMS; i++)
		check(whole.lens[i] == pieces.lens[i] &&
		      memcmp(whole.items[i], pieces.items[i], whole.lens[i]) == 0,
		      "the same items in pieces");
	for (int k = 0; k < LISTSCAN_NTOP; k++)
		check((!whole.top[k] && !pieces.top[k]) ||
		      (whole.top[k] && pieces.top[k] && strcmp(whole.top[k], pieces.top[k]) == 0),
		      "the same top-level members in pieces");

	if (stop_at == SIZE_MAX)
		compare_with_jansson(d, n, &whole);

	if (whole.rc == 0) {
		/* the last non-blank byte: a cut before it must fail */
		size_t last = n;
		while (last > 0 && strchr(" \t\r\n", d[last - 1]) && d[last - 1])
			last--;
		for (int k = 0; k < 3 && last > 0; k++) {
			size_t cut = (size_t)(next(&h) % last);
			struct result pre = { 0 };
			pre.max_item = max_item;
			pre.stop_at = stop_at;
			scan(d, cut, h, 1, &pre);
			check(pre.rc < 0, "a cut body fails");
			check(pre.kind == LISTSCAN_ESYNTAX || pre.kind == LISTSCAN_ECALLBACK,
			      "a cut body is a syntax error");
			check(pre.n <= whole.n, "no more items from a cut body");
			for (size_t i = 0; i < pre.n && i < MAX_ITEMS; i++)
				check(pre.lens[i] == whole.lens[i] &&
				      memcmp(pre.items[i], whole.items[i], pre.lens[i]) == 0,
				      "a cut body's items are the whole body's first ones");
			clear(&pre);
		}
	}
	clear(&whole);
	clear(&pieces);
	kahu_error_clear();
	return 0;
}
