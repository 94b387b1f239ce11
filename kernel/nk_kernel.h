/*
 * nk_kernel.h - what the kernel program (nkernel) and the kernel's tests
 * call of the kernel library besides its API (kernel/include/nk/).  Not
 * for extensions: nothing here is in an IDL.
 */
#ifndef NK_KERNEL_H
#define NK_KERNEL_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Module parameters: from nk_params_enter() to nk_params_leave(), on the
 * calling thread, module_param_get(name) finds "name=value" among the n
 * strings of kv (which must stay valid until then).
 */
void nk_params_enter(char *const *kv, int n);
void nk_params_leave(void);

/* Where printk_line writes (default: standard error).  One write(2) per
 * line: "<level>[seconds.micros] message\n". */
void nk_log_to_fd(int fd);

/* What the kernel holds now, for leak checks and nkctl. */
struct nk_kernel_stats {
	long sockets;		/* live struct socket */
	long files;		/* live struct file */
	long tasks;		/* live struct task_struct */
	long threads;		/* kernel threads running */
	long parked;		/* pooled threads waiting for a task */
	long works;		/* live struct delayed_work */
	long locks;		/* live mutexes and spinlocks */
	long skbs;		/* live struct sk_buff */
	long netdevs;		/* live struct net_device */
};
void nk_kernel_stats(struct nk_kernel_stats *out);

/*
 * Liveness bounds of the kernel library (0: none).  kthread_stop() waits
 * this long for a thread to end; a thread of an isolated module that
 * ignores the stop fails the module (default 5000 ms).  A work item may
 * run this long (its kernel calls included) before the worker fails its
 * isolated module and goes on with the other works (default 2000 ms).
 */
void nk_set_stop_bound(unsigned ms);
void nk_set_work_bound(unsigned ms);

/*
 * Network (netdev.c, nicdev.c; docs/netdrv.md).  nk_nic_create makes
 * emulated card number N (the next one) with the host TAP device wire as
 * its wire, and starts its device thread: N, or -1 and a reason in err.
 * nk_net_command serves nkctl's `net` command: argv as given (argv[0] is
 * "net"), lines to out; 0, or -1 and a reason in err.
 */
int nk_nic_create(const char *wire, char *err, size_t errlen);
int nk_net_command(int argc, char **argv, FILE *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
