/*
 * internal.h - what the kernel library's subsystems share and nothing
 * else sees: the live-object counters behind nk_kernel_stats(), the
 * monotonic clock, and the one blocking primitive every kernel call that
 * waits goes through (nk_wait), so that stopping a kernel thread or
 * interrupting it with a signal ends any wait of it the same way.
 */
#ifndef NK_INTERNAL_H
#define NK_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Nothing here is API: hidden from extensions and from nkernel. */
#pragma GCC visibility push(hidden)

/* Live objects, for nk_kernel_stats() (core.c). */
extern atomic_long nk_nr_sockets;
extern atomic_long nk_nr_files;
extern atomic_long nk_nr_tasks;
extern atomic_long nk_nr_threads;
extern atomic_long nk_nr_works;
extern atomic_long nk_nr_locks;
extern atomic_long nk_nr_skbs;		/* netdev.c */
extern atomic_long nk_nr_netdevs;

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t nk_now_ms(void);

/*
 * Waits until fd has one of events (POLLIN, POLLOUT), on the calling
 * thread, for at most timeout_ms (-1: for ever).  On a kernel thread the
 * wait also ends when the thread is asked to stop.  0: fd is ready (or
 * has an error the next call on it reports); -EINTR: the thread is being
 * stopped, or a signal interrupted the wait (never retried: recovery
 * interrupts an extension's threads this way); -EAGAIN: timed out.
 */
int nk_wait(int fd, short events, int timeout_ms);
/* Locks the calling thread holds (core.c): a pooled kernel thread whose
 * threadfn returned with one ends instead of parking (kthread.c). */
int nk_locks_held(void);
/* Pooled kernel threads parked now (kthread.c). */
long nk_kthreads_parked(void);

struct socket;
/* The host fd of a live socket, or -EBADF (net.c). */
int nk_sock_fd(const struct socket *sock);

struct sk_buff;
/* Drops the card mapping a buffer being freed still has (nicdev.c). */
void nk_nic_unmap_skb(struct sk_buff *skb);
/* nkctl net: a line per card (nicdev.c). */
void nk_nic_show(FILE *out);

#pragma GCC visibility pop

#endif
