/*
 * wrappers.c - steps every generated kernel wrapper takes, once here
 * rather than spelt out in each (templates/user/kwrap.c.m4).
 */
#include "nooks.h"
#include "nooks_internal.h"

void *nooks_in_arg(struct nooks_domain *d, const void *p, const struct nooks_type *t)
{
	void *obj;

	if (!p)
		return NULL;
	obj = nooks_in(d, p, t);
	if (!obj)
		nooks_refused(d, p, t);
	return obj;
}

struct nooks_binding *nooks_bind_registration(struct nooks_domain *d, const void *table,
					      const void *wrappers, size_t size, int *fresh)
{
	struct nooks_binding *b;

	*fresh = 0;
	if (!table)
		return NULL;
	/* registered again with the table the kernel already calls (its
	 * binding, as the extension's shadow shows it): the same binding */
	b = (struct nooks_binding *)nooks_binding_of(table);
	if (b)
		return b->domain == d ? b : NULL;
	*fresh = 1;
	/* the table registered on other objects already (a file system's
	 * inodes): its binding, which the extension has not checked out of
	 * its memory again -- one binding per table, not per object */
	if (nooks_check_buffer(d, table, size, 0) == 0 &&
	    (b = nk_tracker_shared_binding(d, table, wrappers, size)))
		return b;
	return nooks_bind_ops(d, table, wrappers, size);
}
