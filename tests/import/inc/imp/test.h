/*
 * imp/test.h - a header for nooksc import's golden test: one of each
 * construct import must write, leave out with a TODO, or pull in.
 */
#ifndef IMP_TEST_H
#define IMP_TEST_H

typedef unsigned long __kernel_size_t;
typedef __kernel_size_t size_t;
typedef _Bool bool;
typedef unsigned int __attribute__((__mode__(__SI__))) u32;
typedef struct { int counter; } atomic_t;	/* no tag: left out */

enum imp_state { IMP_DOWN = -1, IMP_UP = 1, IMP_BUSY };

struct imp_stats {
	unsigned long rx, tx;
};

struct imp_list {
	struct imp_list *next, *prev;
};

union imp_addr {
	u32 v4;
	unsigned char v6[16];
};

struct imp_dev;

struct imp_dev_ops {
	struct module *owner;			/* not a function: left out */
	int (*open)(struct imp_dev *dev);
	void (*close)(struct imp_dev *);	/* unnamed: arg1 */
	long (*ioctl)(struct imp_dev *dev, unsigned int cmd, unsigned long arg);
	int (*walk)(struct imp_dev *dev, int (*fn)(void *p, int n), void *p);
};

struct imp_dev {
	char name[16];
	unsigned int flags;
	unsigned int up : 1;			/* bit-field: left out */
	const struct imp_dev_ops *ops;
	struct imp_stats stats;			/* by value, imported */
	struct imp_list list;			/* by value, not imported */
	atomic_t refcnt;			/* no tag */
	enum imp_state state;
	union {
		void *priv;
		unsigned long cookie;
	};
	struct {
		int a, b;
	} pair;					/* member of an untagged type */
	union imp_addr *addr;
	size_t len;
	bool ready;
	unsigned char data[];
};

struct imp_dev *imp_alloc(const char *name, size_t priv_len);
void imp_free(struct imp_dev *dev);
int imp_register(struct imp_dev *dev);
int imp_copy(struct imp_dev *, void *to, size_t len);
struct imp_stats imp_get_stats(const struct imp_dev *dev);
int imp_log(const char *fmt, ...);
void imp_noargs(void);
static inline int imp_inline(int x) { return x + 1; }
int imp_anon(atomic_t *v);		/* no tag: left out */

#endif
