/* kahu — a Kubernetes object as JSON text: what a backup reads of it, and its stored form.
 *
 * A backup stores each object as the bytes the server sent.  It reads only what its
 * scope and its index need (metadata.name, namespace, uid, resourceVersion, labels,
 * and whether apiVersion and kind are there), so the object is never parsed whole:
 * one walk over its bytes finds the top-level members and the members of "metadata";
 * only those small values are decoded.
 *
 * The text must be one JSON object whose syntax has been checked (an item the list
 * scanner handed on, listscan.h).  The walk is still bounded by the text's length and
 * fails cleanly on anything that is not JSON.  Where a key repeats, the last one
 * counts, as in jansson (which reads the stored objects back at restore).  A key is
 * compared after its escapes are decoded ("\u006eame" is "name").
 *
 * Numbers are checked as jansson reads them: an integer beyond 64 bits or a real beyond
 * the range of a double is an error, as it was when each item was parsed whole. */
#ifndef KAHU_KUBE_OBJTEXT_H
#define KAHU_KUBE_OBJTEXT_H

#include <jansson.h>
#include <stddef.h>

struct objtext {
	/* {"metadata":{"name","namespace","uid","resourceVersion","labels"}}, with the
	 * members the object has (the four names only when they are strings, which may
	 * hold "\u0000": compare lengths); "metadata" is absent when the object has none
	 * and {} when it is not an object.  Owned by the objtext. */
	json_t *summary;
	int has_api_version;     /* the object has a top-level "apiVersion"… */
	int api_version_string;  /* …and it is a string */
	int has_kind;
	int kind_string;
	int has_members;         /* the object is not {} */
	int compact;             /* no whitespace outside strings */
};

/* Reads `json` (len bytes).  Returns 0, or KAHU_EPROTO with a message naming what
 * and where ("too big integer (at its byte 120)"), which quotes nothing of the
 * object (it may be a Secret). */
int objtext_scan(const char *json, size_t len, struct objtext *out);
void objtext_clear(struct objtext *o);

/* The stored form: `insert` (ins_len bytes of members, e.g.
 * "\"apiVersion\":\"v1\",\"kind\":\"Pod\"", or none) placed right after the opening
 * '{', with a ',' when the object has members of its own, and whitespace outside
 * strings dropped unless `compact` says there is none.  The same bytes in give the
 * same bytes out.  Returns the text (NUL-terminated, *out_len bytes; free()). */
char *objtext_store(const char *json, size_t len, const char *insert, size_t ins_len,
		    int compact, size_t *out_len);

/* The value of the object's top-level member `key` (its last occurrence) as a span of
 * `json`: returns 1 and sets *val and *vlen, 0 when there is none (or the text is not
 * an object). */
int objtext_member(const char *json, size_t len, const char *key, const char **val,
		   size_t *vlen);

/* A JSON string value (a span starting and ending with '"') decoded into a json_t
 * string (which may hold NUL bytes), or NULL when the span is not a string. */
json_t *objtext_string(const char *val, size_t vlen);

#endif
