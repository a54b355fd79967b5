/* kahu — printing results: table, json, yaml, name; and checking that stdout really
 * received them. */
#ifndef KAHU_CLI_OUTPUT_H
#define KAHU_CLI_OUTPUT_H

#include <stdio.h>
#include <jansson.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_YAML, OUT_NAME };

/* NULL means the default (table). */
enum out_format out_format_parse(const char *s);

int out_json(FILE *f, json_t *v);   /* pretty, 2-space indent, newline */
int out_yaml(FILE *f, json_t *v);   /* block style YAML document */

/* A simple table: add the header then rows of the same width; printed with columns
 * aligned (two spaces apart), kubectl-style upper-case headers. */
struct out_table;
struct out_table *out_table_new(size_t ncols, const char *const *headers);
void out_table_row(struct out_table *t, const char *const *cells);
void out_table_print(struct out_table *t, FILE *f);
void out_table_free(struct out_table *t);

/* Flush and check stdout (EPIPE, ENOSPC…): 0, or KAHU_EIO with the reason. */
int out_finish_stdout(void);

/* Human sizes and durations for tables. */
void out_human_bytes(unsigned long long n, char *buf, size_t len);

#endif
