// SPDX-License-Identifier: GPL-2.0
/*
 * recovery.c - the recovery manager of nooks.ko (docs/kmod.md).
 *
 * After a fault (main.c's die notifier failed the domain: its wrappers
 * now return their fault values without entering it), in a work item:
 *   1. what the kernel knows of the net devices the module registered
 *      (name, MTU, address, up, IPv4 addresses) is written down: the
 *      configuration to replay;
 *   2. its registrations are undone (unregister_netdev) and its objects
 *      released (free_netdev, consume_skb), newest first;
 *   3. its exit function will not run (main.c's nooks_k_exit skips a
 *      failed module's: it would work on objects released already);
 *   4. the user-mode agent (nooks.agent=, tools/kmod/nooks-agent) is
 *      started with "recover MODULE CONFIG...": it unloads the module,
 *      loads it again as it was loaded and replays the configuration.
 */
#include <linux/inetdevice.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/umh.h>
#include "internal.h"
#include "netdev_kmod.h"

#define NOOKS_K_MAXCFG 8
#define NOOKS_K_CFGLEN 256

/* "dev=NAME,mtu=N,mac=M,up=0|1,addr=A/P..." */
static void netdev_config(struct net_device *dev, char *buf, size_t len)
{
	const struct in_ifaddr *ifa;
	struct in_device *in;
	size_t n;

	rtnl_lock();
	n = scnprintf(buf, len, "dev=%s,mtu=%u,mac=%pM,up=%d", dev->name, dev->mtu,
		      dev->dev_addr, !!(dev->flags & IFF_UP));
	in = __in_dev_get_rtnl(dev);
	if (in)
		in_dev_for_each_ifa_rtnl(ifa, in)
			n += scnprintf(buf + n, len - n, ",addr=%pI4/%u", &ifa->ifa_local, ifa->ifa_prefixlen);
	rtnl_unlock();
}

void nooks_k_recover(struct work_struct *work)
{
	struct nooks_kdom *dom = container_of(work, struct nooks_kdom, recover);
	char *envp[] = { "HOME=/", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char *argv[NOOKS_K_MAXCFG + 4];
	void *devs[NOOKS_K_MAXCFG];
	unsigned int nregs, nobjs, ndevs, i;
	char *cfg;
	int err;

	pr_err("nooks: %s: recovering\n", dom->name);
	cfg = kzalloc(NOOKS_K_MAXCFG * NOOKS_K_CFGLEN, GFP_KERNEL);
	ndevs = cfg ? nooks_k_regs_of(dom, &nooks_ktype_net_device, devs, NOOKS_K_MAXCFG) : 0;
	for (i = 0; i < ndevs; i++)
		netdev_config(devs[i], cfg + i * NOOKS_K_CFGLEN, NOOKS_K_CFGLEN);
	nooks_k_cleanup(dom, &nregs, &nobjs);
	pr_err("nooks: %s: undid %u registrations, released %u objects; starting %s\n",
	       dom->name, nregs, nobjs, nooks_k_agent);
	argv[0] = nooks_k_agent;
	argv[1] = "recover";
	argv[2] = dom->name;
	for (i = 0; i < ndevs; i++)
		argv[3 + i] = cfg + i * NOOKS_K_CFGLEN;
	argv[3 + ndevs] = NULL;
	err = call_usermodehelper(nooks_k_agent, argv, envp, UMH_WAIT_EXEC);
	if (err)
		pr_err("nooks: %s: cannot start the agent %s (%d): the module stays down\n",
		       dom->name, nooks_k_agent, err);
	kfree(cfg);
}
