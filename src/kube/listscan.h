/* kahu — the item scanner of a LIST response body.
 *
 * A LIST body is one JSON object, {"kind":…, "apiVersion":…, "metadata":{…},
 * "items":[{…}, {…}, …]}, and may be of any size (a server may ignore `limit`).  The
 * scanner takes the body in pieces as they arrive and hands on each element of the
 * top-level "items" array, as JSON text, as soon as its last byte is in: memory is the
 * largest single item plus fixed buffers, whatever the size of the page.
 *
 * It checks the whole body's JSON syntax (strings and their escapes, \u escapes and
 * surrogate pairs, UTF-8, numbers, literals, nesting, nothing after the object), so a
 * body it accepts is one that a JSON parser accepts, and it never hands on a partial
 * item as complete: a body cut anywhere fails at listscan_finish.  What it checks of the
 * list's form: the body is an object; "items", when present, is an array or null; each
 * element is an object; "items", "metadata", "kind" and "apiVersion" appear once at
 * most.  The values of "metadata", "kind" and "apiVersion" are kept as JSON text (in
 * any order with "items"); other top-level members are checked and skipped.
 *
 * Errors are KAHU_EPROTO with a message naming the byte offset and, inside the items,
 * the item's position; the first error sticks (later calls return it again). */
#ifndef KAHU_KUBE_LISTSCAN_H
#define KAHU_KUBE_LISTSCAN_H

#include <stddef.h>
#include <stdint.h>

/* As deep as jansson parses (JSON_PARSER_MAX_DEPTH). */
#define LISTSCAN_MAX_DEPTH 2048
/* The most bytes kept of "metadata", "kind" or "apiVersion". */
#define LISTSCAN_MAX_META (1024 * 1024)

struct listscan;

/* One complete item: `json` (len bytes, NUL-terminated, starting with '{' and ending
 * with '}') is valid until the callback returns; `index` counts from 0 in this body.
 * Return 0 to go on, or a negative kahu_err (message set), which stops the scan and is
 * returned by listscan_feed. */
typedef int (*listscan_item_fn)(void *ud, const char *json, size_t len, size_t index);

enum listscan_items { LISTSCAN_ITEMS_MISSING, LISTSCAN_ITEMS_NULL, LISTSCAN_ITEMS_ARRAY };

/* What an error was about (for callers and the fuzz target). */
enum listscan_error {
	LISTSCAN_OK,
	LISTSCAN_ESYNTAX,     /* not JSON, or cut short */
	LISTSCAN_EFORM,       /* JSON, but not a list: not an object, items not an array… */
	LISTSCAN_ELIMIT,      /* an item or a kept value larger than allowed, nesting too deep */
	LISTSCAN_ECALLBACK,   /* the item callback stopped the scan */
};

enum listscan_top { LISTSCAN_KIND, LISTSCAN_API_VERSION, LISTSCAN_METADATA, LISTSCAN_NTOP };

/* max_item: the largest item in bytes (0: no limit). */
struct listscan *listscan_new(size_t max_item, listscan_item_fn fn, void *ud);
void listscan_free(struct listscan *s);
/* Start on a new body (buffers are kept). */
void listscan_reset(struct listscan *s);
/* The next piece of the body.  Returns 0 or a negative kahu_err. */
int listscan_feed(struct listscan *s, const void *data, size_t len);
/* The body has ended.  Returns 0 when it was one complete JSON object (followed by
 * whitespace only), else a negative kahu_err. */
int listscan_finish(struct listscan *s);

enum listscan_error listscan_error_kind(const struct listscan *s);
enum listscan_items listscan_items_form(const struct listscan *s);
/* Items handed on so far in this body. */
size_t listscan_items(const struct listscan *s);
uint64_t listscan_offset(const struct listscan *s);
/* The JSON text of a top-level member once its value is complete, else NULL. */
const char *listscan_top(const struct listscan *s, enum listscan_top which, size_t *len);

#endif
