/*
 * util.h - what the kernel library's tests share: suite registration,
 * a clock, loopback socket pairs, and waiting for a condition.
 */
#ifndef NK_TEST_UTIL_H
#define NK_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "nk/net.h"

void register_core_tests(void);
void register_kthread_tests(void);
void register_net_tests(void);
void register_fs_tests(void);
void register_workqueue_tests(void);
void register_ds_tests(void);
void register_leak_tests(void);

/* CLOCK_MONOTONIC, in milliseconds. */
uint64_t t_now_ms(void);

/* A listening socket on 127.0.0.1, port chosen by the system: 0 or -errno. */
int t_listener(struct socket **l, unsigned short *port);
/* A connected pair over loopback (client, server side): 0 or -errno. */
int t_pair(struct socket **client, struct socket **server);

/* Waits up to ms for *flag to become nonzero; its final value. */
int t_wait_flag(volatile int *flag, unsigned ms);

#endif
