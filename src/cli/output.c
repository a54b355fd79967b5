#include "cli/output.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"

#include <errno.h>
#include <string.h>
#include <yaml.h>

enum out_format out_format_parse(const char *s)
{
	if (!s || strcmp(s, "table") == 0)
		return OUT_TABLE;
	if (strcmp(s, "json") == 0)
		return OUT_JSON;
	if (strcmp(s, "yaml") == 0)
		return OUT_YAML;
	return OUT_NAME;
}

int out_json(FILE *f, json_t *v)
{
	if (json_dumpf(v, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return kahu_error_set(KAHU_EIO, "cannot write JSON output");
	fputc('\n', f);
	return 0;
}

static int yaml_out_handler(void *data, unsigned char *buffer, size_t size)
{
	return fwrite(buffer, 1, size, (FILE *)data) == size;
}

static int emit_scalar(yaml_emitter_t *e, const char *tag, const char *s, yaml_scalar_style_t st)
{
	yaml_event_t ev;
	yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)tag, (yaml_char_t *)s,
				     (int)strlen(s), 1, 1, st);
	return yaml_emitter_emit(e, &ev);
}

static int emit_value(yaml_emitter_t *e, json_t *v)
{
	yaml_event_t ev;
	char num[64];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		yaml_mapping_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_MAP_TAG, 1,
						    YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_object_foreach(v, k, x) {
			if (!emit_scalar(e, YAML_STR_TAG, k, YAML_ANY_SCALAR_STYLE) || !emit_value(e, x))
				return 0;
		}
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		yaml_sequence_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_SEQ_TAG, 1,
						     YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_array_foreach(v, i, x) {
			if (!emit_value(e, x))
				return 0;
		}
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	}
	case JSON_STRING: {
		/* Quote strings that YAML would read as something else. */
		const char *s = json_string_value(v);
		int plain_ok = *s && strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "null") &&
			strcmp(s, "~") && strcmp(s, "yes") && strcmp(s, "no") && strcmp(s, "on") &&
			strcmp(s, "off") && strspn(s, "0123456789.-+eE") != strlen(s);
		return emit_scalar(e, YAML_STR_TAG, s,
				   plain_ok ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	}
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(e, YAML_INT_TAG, num, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(v));
		return emit_scalar(e, YAML_FLOAT_TAG, num, YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(e, YAML_BOOL_TAG, "true", YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(e, YAML_BOOL_TAG, "false", YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(e, YAML_NULL_TAG, "null", YAML_PLAIN_SCALAR_STYLE);
	}
	return 0;
}

int out_yaml(FILE *f, json_t *v)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int ok;

	if (!yaml_emitter_initialize(&e))
		return kahu_error_set(KAHU_ENOMEM, "cannot initialise the YAML emitter");
	yaml_emitter_set_output(&e, yaml_out_handler, f);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = yaml_emitter_emit(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	ok = ok && emit_value(&e, v);
	yaml_document_end_event_initialize(&ev, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	ok = ok && yaml_emitter_emit(&e, &ev);
	int rc = ok ? 0 : kahu_error_set(KAHU_EIO, "cannot write YAML output: %s",
					 e.problem ? e.problem : "write error");
	yaml_emitter_delete(&e);
	return rc;
}

struct out_table {
	size_t ncols;
	struct strv cells; /* row-major, header first */
};

struct out_table *out_table_new(size_t ncols, const char *const *headers)
{
	struct out_table *t = xcalloc(1, sizeof *t);
	t->ncols = ncols;
	out_table_row(t, headers);
	return t;
}

void out_table_row(struct out_table *t, const char *const *cells)
{
	/* Cells hold names from clusters and archives: printable only (JSON and YAML
	 * output escape on their own). */
	struct kbuf cell = KBUF_INIT;
	for (size_t i = 0; i < t->ncols; i++) {
		kbuf_reset(&cell);
		kbuf_add_printable(&cell, cells[i] ? cells[i] : "", 0);
		strv_push(&t->cells, kbuf_str(&cell));
	}
	kbuf_free(&cell);
}

void out_table_print(struct out_table *t, FILE *f)
{
	size_t rows = t->cells.n / t->ncols;
	size_t *w = xcalloc(t->ncols, sizeof *w);
	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells.v[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells.v[r * t->ncols + c];
			if (c + 1 == t->ncols)
				fprintf(f, "%s\n", cell);
			else
				fprintf(f, "%-*s  ", (int)w[c], cell);
		}
	}
	free(w);
}

void out_table_free(struct out_table *t)
{
	if (!t)
		return;
	strv_free(&t->cells);
	free(t);
}

int out_finish_stdout(void)
{
	int err = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		err = errno ? errno : EIO;
	if (fclose(stdout) != 0 && !err)
		err = errno ? errno : EIO;
	if (err)
		return kahu_error_set(err == ENOSPC ? KAHU_ENOSPC : KAHU_EIO,
				      "write error on standard output: %s", strerror(err));
	return 0;
}

void out_human_bytes(unsigned long long n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}
