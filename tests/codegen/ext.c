/*
 * ext.c - the extension's side of the code-generation tests: kernel calls
 * made inside crossings into its domain (ext.h).
 */
#include <CUnit/CUnit.h>

#include "ext.h"

enum nooks_backend test_backend;
struct nooks_domain *ext_self;

struct nooks_domain *ext_domain(const char *name)
{
	struct nooks_domain *d = nooks_domain_create(name, test_backend);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	return d;
}

/* One call: up to three arguments and a result, run by op. */
struct xcall {
	void (*op)(struct xcall *c);
	void *p, *q;
	long n;
	long ret;
	void *pret;
};

static void run(void *arg)
{
	struct xcall *c = arg;
	c->op(c);
}

/* c->op as ext_self; X_DOWN when the crossing did not enter. */
static void call(struct xcall *c)
{
	c->ret = X_DOWN;
	c->pret = NULL;
	if (!ext_self)
		c->op(c);
	else
		nooks_xpc_ext(ext_self, run, c, 0);
}

#define OP(name, body) static void op_##name(struct xcall *c) { body; }

OP(dev_alloc, c->pret = nooks_kw_tk_dev_alloc((int)c->n))
OP(dev_free, nooks_kw_tk_dev_free(c->p); c->ret = 0)
OP(dev_put, c->ret = nooks_kw_tk_dev_put(c->p))
OP(register, c->ret = nooks_kw_tk_register(c->p))
OP(unregister, nooks_kw_tk_unregister(c->p); c->ret = 0)
OP(read, c->ret = nooks_kw_tk_read(c->p, c->q, (unsigned int)c->n))
OP(write_words, c->ret = nooks_kw_tk_write_words(c->p, c->q, (int)c->n))
OP(reverse_words, c->ret = nooks_kw_tk_reverse_words(c->p, (int)c->n))
OP(set_name, c->ret = nooks_kw_tk_set_name(c->p, c->q))
OP(set_tag, c->ret = nooks_kw_tk_set_tag(c->p, c->q))
OP(mtu_out, c->ret = nooks_kw_tk_mtu_out(c->p, c->q))
OP(maybe, c->ret = nooks_kw_tk_maybe(c->p))
OP(get_mtu, c->ret = nooks_kw_tk_get_mtu(c->p))
OP(pkt_alloc, c->ret = nooks_kw_tk_pkt_alloc(c->p, (unsigned int)c->n))
OP(pkt_send, c->ret = nooks_kw_tk_pkt_send(c->p, c->q))
OP(lock_get, c->pret = nooks_kw_tk_lock_get())
OP(lock, nooks_kw_tk_lock(c->p); c->ret = 0)
OP(unlock, nooks_kw_tk_unlock(c->p); c->ret = 0)

static struct xcall callv(struct xcall c)
{
	call(&c);
	return c;
}

#define CALL(name, ...) callv((struct xcall){ .op = op_##name, __VA_ARGS__ })

struct tk_dev *X_dev_alloc(int priv) { return CALL(dev_alloc, .n = priv).pret; }
void X_dev_free(struct tk_dev *dev) { CALL(dev_free, .p = dev); }
int X_dev_put(struct tk_dev *dev) { return (int)CALL(dev_put, .p = dev).ret; }
int X_register(struct tk_dev *dev) { return (int)CALL(register, .p = dev).ret; }
void X_unregister(struct tk_dev *dev) { CALL(unregister, .p = dev); }
int X_read(struct tk_dev *dev, void *buf, unsigned int len)
{
	return (int)CALL(read, .p = dev, .q = buf, .n = len).ret;
}
int X_write_words(struct tk_dev *dev, const int *words, int n)
{
	return (int)CALL(write_words, .p = dev, .q = (void *)words, .n = n).ret;
}
int X_reverse_words(int *words, int n) { return (int)CALL(reverse_words, .p = words, .n = n).ret; }
int X_set_name(struct tk_dev *dev, const char *name)
{
	return (int)CALL(set_name, .p = dev, .q = (void *)name).ret;
}
int X_set_tag(struct tk_dev *dev, const char *tag)
{
	return (int)CALL(set_tag, .p = dev, .q = (void *)tag).ret;
}
int X_mtu_out(struct tk_dev *dev, int *mtu) { return (int)CALL(mtu_out, .p = dev, .q = mtu).ret; }
int X_maybe(struct tk_dev *dev) { return (int)CALL(maybe, .p = dev).ret; }
int X_get_mtu(const struct tk_dev *dev) { return (int)CALL(get_mtu, .p = (void *)dev).ret; }
int X_pkt_alloc(struct tk_pkt **pkt, unsigned int len) { return (int)CALL(pkt_alloc, .p = pkt, .n = len).ret; }
int X_pkt_send(struct tk_dev *dev, struct tk_pkt *pkt) { return (int)CALL(pkt_send, .p = dev, .q = pkt).ret; }
struct tk_lock *X_lock_get(void) { return CALL(lock_get, .n = 0).pret; }
void X_lock(struct tk_lock *l) { CALL(lock, .p = l); }
void X_unlock(struct tk_lock *l) { CALL(unlock, .p = l); }

void ext_recover(struct nooks_domain *d, struct nooks_release_stats *st)
{
	nooks_domain_fail(d, "the test kills it");
	CU_ASSERT_EQUAL(nooks_domain_state(d), ISOLATING ? NOOKS_DOWN : NOOKS_UP);
	CU_ASSERT_EQUAL(nooks_domain_reset(d, st), 0);
	CU_ASSERT_EQUAL(nooks_domain_state(d), NOOKS_UP);
}

unsigned long ext_calls(const struct nooks_domain *d)
{
	struct nooks_domain_stats st;
	nooks_domain_stats(d, &st);
	return st.calls;
}
