/*
 * hang_mutex_twice - hole 4: a mutex locked twice by the same thread.
 *
 * init locks a mutex, then locks it again (mutexes are not recursive).
 *
 * Native: hang (the load never answers).
 * Isolated: the wait is bounded (init's bound, or a lock wait the runtime
 * interrupts): the load fails, the lock is given back.
 */
#include "nk/core.h"
#include "nk/module.h"

static struct mutex *m;

int init_module(void)
{
	m = mutex_create();
	if (!m)
		return -ENOMEM;
	mutex_lock(m);
	mutex_lock(m);		/* the bug */
	mutex_unlock(m);
	mutex_unlock(m);
	return 0;
}

void cleanup_module(void)
{
	mutex_destroy(m);
}
