// SPDX-License-Identifier: GPL-2.0
/*
 * nkvnic.c - a small virtual NIC for the kernel-module target's tests
 * (tests/kmod, docs/kmod.md).  An ordinary Linux 6.1 driver written
 * against the calls idl/linux-6.1 describes (alloc_etherdev, register_netdev,
 * netdev_alloc_skb, skb_put, eth_type_trans, netif_rx, consume_skb,
 * free_netdev) and nothing of Nooks: it is built by kbuild as it is and
 * isolated by binding a copy of the .ko to nooks.ko's wrappers
 * (tools/kmod/wrap.sh).
 *
 * Its wire has a peer that answers: a frame sent to it is consumed and,
 * when it is an ARP request or an ICMP echo request to an IPv4 address,
 * the answer (from the peer's MAC 02:6e:6b:00:00:01) is received on the
 * same device, so `ping` of any address on the device's subnet but its
 * own works through the driver's transmit and receive paths.
 *
 * Bugs on request, for the tests (writable parameters):
 *   fault=1        the next transmit dereferences NULL (then it is 0 again)
 *   double_free=1  the next transmit releases its reply buffer twice
 *   hang=1         the next transmit spins until hang is 0 again
 *   init_fault=1   module_init dereferences NULL after registering its
 *                  first device (a load-time parameter)
 *   exit_fault=1   module_exit dereferences NULL before unregistering
 */
#include <linux/etherdevice.h>
#include <linux/icmp.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netdevice.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("nkvnic: a virtual NIC whose wire answers ARP and ping");

static int ndevs = 1;
module_param(ndevs, int, 0444);
static int fault;
module_param(fault, int, 0644);
static int double_free;
module_param(double_free, int, 0644);
static int hang;
module_param(hang, int, 0644);
static int init_fault;
module_param(init_fault, int, 0444);
static int exit_fault;
module_param(exit_fault, int, 0644);

#define NKV_MAX 4
static struct net_device *nkv_devs[NKV_MAX];
static const u8 peer_mac[ETH_ALEN] = { 0x02, 0x6e, 0x6b, 0x00, 0x00, 0x01 };

struct nkv_priv {
	unsigned long answered;
	int *counter;	/* NULL: what fault=1 writes through */
};

struct arp_eth_ipv4 {
	struct arphdr hdr;
	u8 sha[ETH_ALEN];
	__be32 sip;
	u8 tha[ETH_ALEN];
	__be32 tip;
} __packed;

/* the peer's answer to frame, or NULL */
static struct sk_buff *answer(struct net_device *dev, const u8 *frame, unsigned int len)
{
	const struct ethhdr *eth = (const void *)frame;
	struct sk_buff *r;
	struct ethhdr *reth;

	if (len < ETH_HLEN)
		return NULL;
	if (eth->h_proto == htons(ETH_P_ARP)) {
		const struct arp_eth_ipv4 *a = (const void *)(frame + ETH_HLEN);
		struct arp_eth_ipv4 *ra;

		if (len < ETH_HLEN + sizeof(*a) || a->hdr.ar_op != htons(ARPOP_REQUEST) ||
		    a->hdr.ar_pro != htons(ETH_P_IP) || a->tip == a->sip)
			return NULL;
		r = netdev_alloc_skb(dev, ETH_HLEN + sizeof(*a));
		if (!r)
			return NULL;
		reth = skb_put(r, ETH_HLEN + sizeof(*a));
		memcpy(reth->h_dest, eth->h_source, ETH_ALEN);
		memcpy(reth->h_source, peer_mac, ETH_ALEN);
		reth->h_proto = htons(ETH_P_ARP);
		ra = (void *)(reth + 1);
		ra->hdr = a->hdr;
		ra->hdr.ar_op = htons(ARPOP_REPLY);
		memcpy(ra->sha, peer_mac, ETH_ALEN);
		ra->sip = a->tip;
		memcpy(ra->tha, a->sha, ETH_ALEN);
		ra->tip = a->sip;
		return r;
	}
	if (eth->h_proto == htons(ETH_P_IP)) {
		const struct iphdr *ip = (const void *)(frame + ETH_HLEN);
		struct iphdr *rip;
		struct icmphdr *ricmp;
		unsigned int ihl;
		u32 sum;

		if (len < ETH_HLEN + sizeof(*ip))
			return NULL;
		ihl = ip->ihl * 4;
		if (ip->protocol != IPPROTO_ICMP || len < ETH_HLEN + ihl + sizeof(struct icmphdr) ||
		    ((const struct icmphdr *)(frame + ETH_HLEN + ihl))->type != ICMP_ECHO)
			return NULL;
		r = netdev_alloc_skb(dev, len);
		if (!r)
			return NULL;
		reth = skb_put(r, len);
		memcpy(reth, frame, len);
		memcpy(reth->h_dest, eth->h_source, ETH_ALEN);
		memcpy(reth->h_source, peer_mac, ETH_ALEN);
		rip = (void *)(reth + 1);
		rip->saddr = ip->daddr;
		rip->daddr = ip->saddr;
		ricmp = (void *)((u8 *)rip + ihl);
		ricmp->type = ICMP_ECHOREPLY;
		/* type 8 -> 0: the one's complement sum grows by 0x0800 */
		sum = (u32)ntohs((__force __be16)ricmp->checksum) + 0x0800;
		sum = (sum & 0xffff) + (sum >> 16);
		ricmp->checksum = (__force __sum16)htons((u16)sum);
		return r;
	}
	return NULL;
}

static netdev_tx_t nkv_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct nkv_priv *p = netdev_priv(dev);
	struct sk_buff *r = answer(dev, skb->data, skb->len);

	if (READ_ONCE(fault)) {
		WRITE_ONCE(fault, 0);
		(*p->counter)++;	/* NULL */
	}
	while (READ_ONCE(hang))
		cpu_relax();
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += skb->len;
	consume_skb(skb);
	if (r && READ_ONCE(double_free)) {
		WRITE_ONCE(double_free, 0);
		consume_skb(r);
		consume_skb(r);	/* the bug */
		return NETDEV_TX_OK;
	}
	if (r) {
		r->protocol = eth_type_trans(r, dev);
		dev->stats.rx_packets++;
		dev->stats.rx_bytes += r->len;
		p->answered++;
		netif_rx(r);
	}
	return NETDEV_TX_OK;
}

static int nkv_open(struct net_device *dev)
{
	netif_start_queue(dev);
	return 0;
}

static int nkv_stop(struct net_device *dev)
{
	netif_stop_queue(dev);
	return 0;
}

static int nkv_change_mtu(struct net_device *dev, int mtu)
{
	dev->mtu = mtu;
	return 0;
}

static const struct net_device_ops nkv_ops = {
	.ndo_open = nkv_open,
	.ndo_stop = nkv_stop,
	.ndo_start_xmit = nkv_xmit,
	.ndo_change_mtu = nkv_change_mtu,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

static void nkv_remove(void)
{
	int i;

	for (i = 0; i < NKV_MAX; i++) {
		if (!nkv_devs[i])
			continue;
		unregister_netdev(nkv_devs[i]);
		free_netdev(nkv_devs[i]);
		nkv_devs[i] = NULL;
	}
}

static int __init nkv_init(void)
{
	int i, err;

	if (ndevs < 1 || ndevs > NKV_MAX)
		return -EINVAL;
	for (i = 0; i < ndevs; i++) {
		struct net_device *dev = alloc_etherdev(sizeof(struct nkv_priv));

		if (!dev) {
			nkv_remove();
			return -ENOMEM;
		}
		strscpy(dev->name, "nkv%d", IFNAMSIZ);
		dev->netdev_ops = &nkv_ops;
		dev->min_mtu = 68;
		dev->max_mtu = 9000;
		eth_hw_addr_random(dev);
		err = register_netdev(dev);
		if (err) {
			free_netdev(dev);
			nkv_remove();
			return err;
		}
		nkv_devs[i] = dev;
		if (init_fault) {
			struct nkv_priv *p = netdev_priv(dev);

			(*p->counter)++;	/* NULL */
		}
	}
	return 0;
}

static void __exit nkv_exit(void)
{
	if (READ_ONCE(exit_fault)) {
		struct nkv_priv *p = netdev_priv(nkv_devs[0]);

		(*p->counter)++;	/* NULL */
	}
	nkv_remove();
}

module_init(nkv_init);
module_exit(nkv_exit);
