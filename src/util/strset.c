#include "util/strset.h"
#include "util/hash.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t find_slot(char **slots, size_t cap, const char *str)
{
	size_t i = (size_t)kahu_fnv1a64_str(str) & (cap - 1);
	while (slots[i] && strcmp(slots[i], str) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static void grow(struct strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 16;
	char **slots = xcalloc(cap, sizeof *slots);
	char **values = s->values ? xcalloc(cap, sizeof *values) : NULL;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slots[i])
			continue;
		size_t j = find_slot(slots, cap, s->slots[i]);
		slots[j] = s->slots[i];
		if (values)
			values[j] = s->values[i];
	}
	free(s->slots);
	free(s->values);
	s->slots = slots;
	s->values = values;
	s->cap = cap;
}

void strset_put(struct strset *s, const char *key, const char *value)
{
	if ((s->n + 1) * 4 > s->cap * 3)
		grow(s);
	if (!s->values)
		s->values = xcalloc(s->cap, sizeof *s->values);
	size_t i = find_slot(s->slots, s->cap, key);
	if (!s->slots[i]) {
		s->slots[i] = xstrdup(key);
		s->n++;
	}
	free(s->values[i]);
	s->values[i] = xstrdup(value);
}

const char *strset_get(const struct strset *s, const char *key)
{
	if (!s->cap || !s->values)
		return NULL;
	return s->values[find_slot(s->slots, s->cap, key)];
}

int strset_add(struct strset *s, const char *str)
{
	if ((s->n + 1) * 4 > s->cap * 3)
		grow(s);
	size_t i = find_slot(s->slots, s->cap, str);
	if (s->slots[i])
		return 0;
	s->slots[i] = xstrdup(str);
	s->n++;
	return 1;
}

int strset_has(const struct strset *s, const char *str)
{
	if (!s->cap)
		return 0;
	return s->slots[find_slot(s->slots, s->cap, str)] != NULL;
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++) {
		free(s->slots[i]);
		if (s->values)
			free(s->values[i]);
	}
	free(s->slots);
	free(s->values);
	s->values = NULL;
	s->slots = NULL;
	s->cap = s->n = 0;
}
