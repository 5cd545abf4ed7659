/* table.c - every listing of iscadm three ways: a table for people, -p for
 * scripts (colon-separated, no header, ':' and '\' escaped as zoneadm
 * does), --json (an array of objects).  Values arrive already bounded and
 * escaped where an ISC could have chosen them. */
#include "adm.h"

#include <getopt.h>

int table_opts(int argc, char **argv, enum table_fmt *fmt)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0 } };
	int c;
	*fmt = TABLE_TEXT;
	optind = 0;
	while ((c = getopt_long(argc, argv, "p", opts, NULL)) != -1) {
		if (c == 'p')
			*fmt = TABLE_PARSABLE;
		else if (c == 'j')
			*fmt = TABLE_JSON;
		else
			return -1;
	}
	return optind;
}

void table_begin(struct table *t, enum table_fmt fmt, const struct table_col *cols, size_t ncols)
{
	*t = (struct table){ .fmt = fmt, .cols = cols, .ncols = ncols };
	for (size_t i = 0; i < ncols; i++)
		if (cols[i].width >= 0)
			t->last = i;
	if (fmt == TABLE_JSON)
		t->arr = json_object_new_array();
	if (fmt != TABLE_TEXT)
		return;
	for (size_t i = 0; i < ncols; i++)
		if (cols[i].width >= 0)
			printf("%-*s%s", i < t->last ? cols[i].width : 0, cols[i].head,
			       i < t->last ? " " : "");
	putchar('\n');
}

static void parsable_field(const char *v)
{
	for (; *v; v++) {
		if (*v == ':' || *v == '\\')
			putchar('\\');
		putchar(*v);
	}
}

void table_row(struct table *t, const char *const *vals)
{
	json_object *o = t->fmt == TABLE_JSON ? json_object_new_object() : NULL;
	bool first = true;
	for (size_t i = 0; i < t->ncols; i++) {
		const struct table_col *c = &t->cols[i];
		const char *v = vals[i] ? vals[i] : "";
		if (o) {
			json_object_object_add(o, c->key, json_object_new_string(v));
			continue;
		}
		if (c->width < 0)      /* in --json only */
			continue;
		if (t->fmt == TABLE_PARSABLE) {
			if (!first)
				putchar(':');
			parsable_field(v);
		} else {
			printf("%-*s%s", i < t->last ? c->width : 0, *v ? v : "-", i < t->last ? " " : "");
		}
		first = false;
	}
	if (o)
		json_object_array_add(t->arr, o);
	else
		putchar('\n');
}

void table_end(struct table *t)
{
	if (t->arr)
		puts(json_object_to_json_string_ext(t->arr, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(t->arr);
	t->arr = NULL;
}
