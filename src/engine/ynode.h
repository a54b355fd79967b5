/* kahu — reading kahu's YAML files (the hooks file, the transform file, plans) node by node:
 * errors as FILE:LINE, scalars, lists of strings.  Over libyaml's document API. */
#ifndef KAHU_ENGINE_YNODE_H
#define KAHU_ENGINE_YNODE_H

#include <stdarg.h>
#include <stdbool.h>

#include <yaml.h>

#include "util/strv.h"

/* KAHU_EUSAGE with "FILE:LINE: message", LINE being the node's. */
int ynode_verror(const char *file, const yaml_node_t *n, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* The value of a scalar node, NULL for any other node (or NULL). */
static inline const char *ynode_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A list of strings, or one string, appended to `out`; `nonempty`: an empty list is
 * an error.  Errors name `key`. */
int ynode_strings(yaml_document_t *doc, const char *file, yaml_node_t *n, const char *key,
		  bool nonempty, struct strv *out);

#endif
