/*
 * dump.c - the checked model as stable text (nooksc --dump).
 *
 * One declaration per line in source order (imports first, where the
 * parser met them), members indented by a tab, each with its C spelling
 * and its interpreted annotations in a fixed order.  Defaults are spelt
 * out (fields say `readonly`, parameters `borrow` when they are untracked
 * pointers), so a test that compares dumps sees what the checks decided,
 * not just what was written.  Nothing here depends on paths or time.
 */
#include <string.h>

#include "internal.h"

static const char *const access_names[] = { "readonly", "writable", "private", "hidden" };
static const char *const dir_names[] = { NULL, "in", "out", "inout" };

static void attrs_put(FILE *out, struct nooksc *nc, const struct idl_attrs *a,
		      bool field, const struct idl_type *t)
{
	if (field)
		fprintf(out, " %s", access_names[a->access]);
	if (a->dir)
		fprintf(out, " %s", dir_names[a->dir]);
	if (a->string)
		fprintf(out, a->count ? " string(%s)" : " string",
			a->count ? expr_to_c(nc, a->count) : "");
	else if (a->count)
		fprintf(out, " count(%s)", expr_to_c(nc, a->count));
	if (a->bytes)
		fprintf(out, " bytes(%s)", expr_to_c(nc, a->bytes));
	if (a->nullable)
		fputs(" nullable", out);
	if (a->opaque)
		fputs(" opaque", out);
	if (a->alloc_fn)
		fprintf(out, " alloc(%s)", a->alloc_fn->name);
	if (a->release)
		fputs(" release", out);
	if (a->transfer)
		fputs(" transfer", out);
	if (!field && t && type_is_pointer(t) && !a->release && !a->transfer &&
	    !a->alloc_fn && !a->opaque)
		fputs(" borrow", out);
	if (a->registers)
		fprintf(out, " registers(%s)", expr_to_c(nc, a->registers));
	if (a->undo_fn)
		fprintf(out, " undo(%s)", a->undo_fn->name);
	if (a->has_fault)
		fprintf(out, a->fault ? " fault(%s)" : " fault", a->fault ? expr_to_c(nc, a->fault) : "");
	if (a->timeout_ms >= 0)
		fprintf(out, " timeout(%lld)", a->timeout_ms);
	if (a->lock)
		fprintf(out, " lock(%s)", a->lock->name);
	if (a->unlock)
		fprintf(out, " unlock(%s)", a->unlock->name);
	if (a->replay)
		fputs(" replay", out);
	if (a->deferred)
		fputs(" deferred", out);
}

static void func_put(FILE *out, struct nooksc *nc, const struct idl_decl *f,
		     const char *indent, const char *from)
{
	fprintf(out, "%s%s %s: %s", indent, f->is_ops_entry ? "entry" : "kernel",
		f->name, type_to_c(nc, f->type, f->name));
	attrs_put(out, nc, &f->attrs, false, NULL);
	if (from)
		fprintf(out, " (from %s)", from);
	fputc('\n', out);
	for (const struct idl_var *v = f->type->params; v; v = v->next) {
		fprintf(out, "%s\tparam %s: %s", indent, v->name ? v->name : "?",
			type_to_c(nc, v->type, NULL));
		attrs_put(out, nc, &v->attrs, false, v->type);
		fputc('\n', out);
	}
}

static const char *origin(const struct idl_model *m, const struct idl_decl *d)
{
	return d->file == m->main || !d->file->interface ? NULL : d->file->interface;
}

void nooksc_dump(FILE *out, const struct idl_model *m)
{
	struct nooksc *nc = m->nc;
	const struct idl_decl *d, *e;

	fprintf(out, "interface %s\n", m->main->interface ? m->main->interface : "?");
	if (m->main->header)
		fprintf(out, "header \"%s\"\n", m->main->header);
	for (const struct idl_import *i = m->main->imports; i; i = i->next)
		fprintf(out, "import \"%s\" -> interface %s\n", i->name,
			i->file && i->file->interface ? i->file->interface : "?");

	for_each_decl(m, d) {
		const char *from = origin(m, d);
		switch (d->kind) {
		case D_STRUCT:
			fprintf(out, "%s%s %s", d->opaque ? "opaque " : "",
				d->is_union ? "union" : "struct", d->name);
			if (d->tracked)
				fputs(" tracked", out);
			break;
		case D_ENUM:
			fprintf(out, "enum %s", d->name);
			break;
		case D_TYPEDEF:
			fprintf(out, "typedef %s", type_to_c(nc, d->type, d->name));
			break;
		case D_CONST:
			fprintf(out, "const %s", type_to_c(nc, d->type, d->name));
			if (d->ival_known)
				fprintf(out, " = %lld", d->ival);
			else if (d->value)
				fprintf(out, " = %s", expr_to_c(nc, d->value));
			break;
		case D_OPS:
			fprintf(out, "ops %s", d->name);
			break;
		case D_FUNC:
			func_put(out, nc, d, "", from);
			continue;
		default:
			break;
		}
		if (from)
			fprintf(out, " (from %s)", from);
		fputc('\n', out);

		for (const struct idl_var *v = d->kind == D_STRUCT ? d->fields : NULL; v; v = v->next) {
			fprintf(out, "\tfield %s: %s", v->name ? v->name : "?",
				type_to_c(nc, v->type, NULL));
			attrs_put(out, nc, &v->attrs, true, v->type);
			fputc('\n', out);
		}
		for_each_member(d, e) {
			if (e->kind == D_FUNC) {
				func_put(out, nc, e, "\t", NULL);
			} else if (e->ival_known) {
				fprintf(out, "\t%s = %lld\n", e->name, e->ival);
			} else {
				fprintf(out, "\t%s = %s\n", e->name,
					e->value ? expr_to_c(nc, e->value) : "?");
			}
		}
	}
}
