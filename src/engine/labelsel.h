/* kahu — Kubernetes label selectors (the `-l/--selector` grammar of kubectl and the
 * API server) and Velero-style "or" selectors.
 *
 * Grammar (comma = AND, blanks around tokens are ignored):
 *     key  key=value  key==value  key!=value  !key
 *     key in (v1,v2)  key notin (v1,v2)  key>N  key<N   (N an integer)
 * Keys are an optional DNS-subdomain prefix and '/' followed by a name of at most 63
 * characters ([A-Za-z0-9], then [-A-Za-z0-9_.], ending alphanumeric); values are
 * empty or follow the same rule as names.  Matching follows Kubernetes: `!=` and
 * `notin` match objects that do not have the key at all.
 *
 * Deliberate differences from apimachinery's parser: `key in ()` is rejected (the
 * server reads it as "the empty value", which nobody means), and the words `in` and
 * `notin` are allowed as keys and values. */
#ifndef KAHU_ENGINE_LABELSEL_H
#define KAHU_ENGINE_LABELSEL_H

#include <jansson.h>

struct labelsel;
struct orsel;

/* Parse `text`; the empty string (or only blanks) is the selector that matches
 * everything.  Errors are KAHU_EUSAGE with a message such as
 *   invalid label selector "a in (b": missing ')' at position 8
 * where positions count bytes from 1. */
int labelsel_parse(const char *text, struct labelsel **out);
/* 1 when the object's labels (a JSON object of strings, or NULL) satisfy every
 * requirement, else 0. */
int labelsel_match(const struct labelsel *s, json_t *labels);
/* Canonical text the API server accepts as labelSelector: requirements sorted by key
 * (then operator and values), values of in/notin sorted and de-duplicated, `==`
 * written `=`.  Equal selectors give equal strings.  Caller frees. */
char *labelsel_to_string(const struct labelsel *s);
/* 1 when the selector has no requirement (matches everything). */
int labelsel_is_empty(const struct labelsel *s);
void labelsel_free(struct labelsel *s);

/* "a=b or c in (d)": a list of selectors separated by the word `or` (blank-delimited,
 * outside parentheses), matching when ANY of them matches (Velero's --or-selector).
 * Every part must be non-empty; a single selector without `or` is allowed. */
int orsel_parse(const char *text, struct orsel **out);
int orsel_match(const struct orsel *o, json_t *labels);
/* Canonical parts, sorted and de-duplicated, joined with " or ".  Caller frees. */
char *orsel_to_string(const struct orsel *o);
size_t orsel_count(const struct orsel *o);
const struct labelsel *orsel_get(const struct orsel *o, size_t i);
void orsel_free(struct orsel *o);

/* Validation of label keys and values, shared with other label-handling code.
 * Return 1 when valid; otherwise 0 and, when `why` is not NULL, a static reason. */
int label_key_valid(const char *key, const char **why);
int label_value_valid(const char *value, const char **why);

#endif
