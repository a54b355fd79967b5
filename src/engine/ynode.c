/* kahu — reading kahu's YAML files node by node.  See ynode.h. */
#include "engine/ynode.h"

#include <stdio.h>

#include "util/err.h"

int ynode_verror(const char *file, const yaml_node_t *n, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	return kahu_error_set(KAHU_EUSAGE, "%s:%lu: %s", file, (unsigned long)n->start_mark.line + 1, msg);
}

static int fail(const char *file, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(const char *file, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ynode_verror(file, n, fmt, ap);
	va_end(ap);
	return rc;
}

int ynode_strings(yaml_document_t *doc, const char *file, yaml_node_t *n, const char *key,
		  bool nonempty, struct strv *out)
{
	if (ynode_scalar(n)) {
		strv_push(out, ynode_scalar(n));
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(file, n, "%s: expected a list of strings", key);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(doc, *it);
		if (!ynode_scalar(e))
			return fail(file, e, "%s: expected a string", key);
		strv_push(out, ynode_scalar(e));
	}
	if (nonempty && !out->n)
		return fail(file, n, "%s: the list is empty", key);
	return 0;
}
