/*
 * netdrv - a network driver for nkernel's emulated card (nk/nic.h),
 * written against the nk API only, after Linux's e1000: descriptor rings
 * in its own memory mapped for the card, an interrupt handler that masks
 * the card's interrupts and schedules NAPI, and a NAPI poll that reaps
 * sent frames, hands received ones to the kernel, refills the receive
 * ring and unmasks.  The same netdrv.so runs natively or isolated.
 *
 * Parameters: nic=N (the card, default 0), name=TEMPLATE (default
 * eth%d), ring=N (descriptors per ring, a power of 2 from 8 to 4096,
 * default 256), weight=N (the NAPI budget, default 64).
 *
 * ndo_start_xmit and the poll both run on the kernel's net thread, never
 * at once; the interrupt handler runs on the card's thread and only
 * reads the cause, masks and schedules.  Configuration (open, stop, MTU,
 * address) runs under the kernel's configuration lock.
 *
 * Built with -DNETDRV_USE_AFTER_FREE (netdrv_buggy.so) it carries the
 * bug Nooks caught in the 3c90x driver: every bug_every-th (default 100)
 * frame it has sent, it writes the buffer after freeing it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NK_FAULT_INJECTION	/* nkctl inject netdrv FAULT */
#include "nk/core.h"
#include "nk/module.h"
#include "nk/netdevice.h"

#define NETDRV_INTS	(NIC_INT_TXDW | NIC_INT_RXT0 | NIC_INT_DMAE)

struct netdrv {
	struct net_device *dev;
	struct nic_device *nic;
	struct napi_struct *napi;
	unsigned n;			/* descriptors per ring */
	struct nic_desc *tx_ring, *rx_ring;
	dma_addr_t tx_dma, rx_dma;
	struct sk_buff **tx_skb, **rx_skb;
	unsigned tx_next, tx_clean;	/* free-running: next to use, next to reap */
	unsigned rx_next, rx_fill;	/* next to look at, next to refill */
	unsigned bufsize;		/* receive buffers: MTU and header */
	int up;
	unsigned long rx_packets, rx_bytes, tx_packets, tx_bytes;
	unsigned long rx_errors, tx_errors, rx_dropped, tx_dropped;
	unsigned long sent;		/* frames reaped, for the buggy variant */
};

static struct netdrv *drv;
static unsigned nic_index, ring_size = 256, weight = 64, bug_every = 100;
static char ifname[IFNAMSIZ] = "eth%d";

static unsigned desc_status(const struct nic_desc *d)
{
	return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
}

/* ---- rings --------------------------------------------------------------- */

/* Gives the card receive buffers up to rx_next (one slot held back, so
 * that a full ring is never mistaken for an empty one). */
static void rx_refill(struct netdrv *p)
{
	unsigned filled = 0;
	while (p->rx_fill != p->rx_next + p->n) {
		unsigned i = p->rx_fill % p->n;
		struct sk_buff *skb = p->rx_skb[i];
		if (!skb) {
			skb = netdev_alloc_skb(p->dev, p->bufsize);
			if (!skb)
				break;
			dma_addr_t a = nic_dma_map_skb(p->nic, skb);
			if (a == NIC_DMA_ERROR) {
				kfree_skb(skb);
				break;
			}
			p->rx_skb[i] = skb;
			p->rx_ring[i].addr = a;
		}
		p->rx_ring[i].len = (unsigned short)p->bufsize;
		__atomic_store_n(&p->rx_ring[i].status, 0, __ATOMIC_RELEASE);
		p->rx_fill++;
		filled++;
	}
	if (filled)
		nic_writel(p->nic, NIC_RDT, (p->rx_fill - 1) % p->n);
}

/* Reaps the frames the card has sent. */
static void tx_clean(struct netdrv *p)
{
	unsigned pkts = 0, bytes = 0;
	while (p->tx_clean != p->tx_next) {
		unsigned i = p->tx_clean % p->n;
		struct nic_desc *d = &p->tx_ring[i];
		unsigned st = desc_status(d);
		if (!(st & NIC_DESC_DD))
			break;
		struct sk_buff *skb = p->tx_skb[i];
		if (st & NIC_DESC_ERR) {
			p->tx_errors++;
		} else {
			pkts++;
			bytes += d->len;
		}
		p->tx_skb[i] = NULL;
		dev_consume_skb_any(skb);	/* unmaps it too */
#ifdef NETDRV_USE_AFTER_FREE
		if (++p->sent % bug_every == 0)
			skb->len = 0;	/* the 3c90x bug: a write to a freed buffer */
#endif
		p->tx_clean++;
	}
	if (pkts) {
		p->tx_packets += pkts;
		p->tx_bytes += bytes;
		dev_sw_netstats_tx_add(p->dev, pkts, bytes);
		if (p->tx_next - p->tx_clean < p->n / 2 && netif_queue_stopped(p->dev))
			netif_wake_queue(p->dev);
	}
}

static int netdrv_poll(struct napi_struct *napi, int budget)
{
	struct netdrv *p = napi->data;
	int work = 0;

	while (work < budget) {
		unsigned i = p->rx_next % p->n;
		struct nic_desc *d = &p->rx_ring[i];
		unsigned st = desc_status(d);
		if (!(st & NIC_DESC_DD) || p->rx_next + 1 == p->rx_fill)
			break;
		struct sk_buff *skb = p->rx_skb[i];
		if (st & NIC_DESC_ERR) {
			p->rx_errors++;		/* the buffer goes back as it is */
		} else {
			p->rx_packets++;
			p->rx_bytes += d->len;
			skb_put(skb, d->len);
			netif_receive_skb(skb);	/* the kernel's now */
			p->rx_skb[i] = NULL;
		}
		p->rx_next++;
		work++;
	}
	rx_refill(p);
	tx_clean(p);
	if (work < budget) {
		napi_complete_done(napi, work);
		nic_writel(p->nic, NIC_IMS, NETDRV_INTS);
	}
	return work;
}

static int netdrv_irq(struct nic_device *nic)
{
	struct netdrv *p = nic->irq_data;
	if (!nic_readl(nic, NIC_ICR))	/* reading clears the causes */
		return IRQ_NONE;
	nic_writel(nic, NIC_IMC, ~0u);
	napi_schedule(p->napi);
	return IRQ_HANDLED;
}

static const struct napi_ops netdrv_napi_ops = { .poll = netdrv_poll };
static const struct nic_irq_ops netdrv_irq_ops = { .handler = netdrv_irq };

static void program_addr(struct netdrv *p, const unsigned char *a)
{
	nic_writel(p->nic, NIC_RAL, a[0] | a[1] << 8 | a[2] << 16 | (unsigned)a[3] << 24);
	nic_writel(p->nic, NIC_RAH, a[4] | a[5] << 8);
}

/* ---- net_device_ops ---------------------------------------------------------- */

static void rings_free(struct netdrv *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		if (p->tx_skb[i])
			kfree_skb(p->tx_skb[i]);
		if (p->rx_skb[i])
			kfree_skb(p->rx_skb[i]);
		p->tx_skb[i] = p->rx_skb[i] = NULL;
	}
	if (p->tx_dma)
		nic_dma_unmap(p->nic, p->tx_dma);
	if (p->rx_dma)
		nic_dma_unmap(p->nic, p->rx_dma);
	p->tx_dma = p->rx_dma = 0;
	free(p->tx_ring);
	free(p->rx_ring);
	p->tx_ring = p->rx_ring = NULL;
}

static int netdrv_open(struct net_device *dev)
{
	struct netdrv *p = netdev_priv(dev);
	size_t bytes = p->n * sizeof(struct nic_desc);

	p->tx_ring = aligned_alloc(64, bytes);
	p->rx_ring = aligned_alloc(64, bytes);
	if (!p->tx_ring || !p->rx_ring)
		goto fail;
	memset(p->tx_ring, 0, bytes);
	memset(p->rx_ring, 0, bytes);
	p->tx_dma = nic_dma_map(p->nic, p->tx_ring, bytes);
	p->rx_dma = nic_dma_map(p->nic, p->rx_ring, bytes);
	if (p->tx_dma == NIC_DMA_ERROR || p->rx_dma == NIC_DMA_ERROR)
		goto fail;
	p->tx_next = p->tx_clean = p->rx_next = p->rx_fill = 0;
	p->bufsize = dev->mtu + ETH_HLEN;

	nic_writel(p->nic, NIC_CTRL, NIC_CTRL_RST);
	nic_writel(p->nic, NIC_TDBAL, (unsigned)p->tx_dma);
	nic_writel(p->nic, NIC_TDBAH, (unsigned)(p->tx_dma >> 32));
	nic_writel(p->nic, NIC_TDLEN, p->n);
	nic_writel(p->nic, NIC_RDBAL, (unsigned)p->rx_dma);
	nic_writel(p->nic, NIC_RDBAH, (unsigned)(p->rx_dma >> 32));
	nic_writel(p->nic, NIC_RDLEN, p->n);
	nic_writel(p->nic, NIC_MAXFRAME, dev->mtu + ETH_HLEN);
	program_addr(p, dev->dev_addr);
	rx_refill(p);
	if (p->rx_fill != p->n)
		goto fail;
	if (nic_request_irq(p->nic))
		goto fail;
	napi_enable(p->napi);
	nic_writel(p->nic, NIC_RCTL, NIC_RCTL_EN);
	nic_writel(p->nic, NIC_TCTL, NIC_TCTL_EN);
	nic_writel(p->nic, NIC_IMS, NETDRV_INTS);
	p->up = 1;
	if (nic_readl(p->nic, NIC_STATUS) & NIC_STATUS_LU)
		netif_carrier_on(dev);
	return 0;
fail:
	nic_writel(p->nic, NIC_CTRL, NIC_CTRL_RST);
	rings_free(p);
	return -ENOMEM;
}

static int netdrv_stop(struct net_device *dev)
{
	struct netdrv *p = netdev_priv(dev);
	if (!p->up)
		return 0;
	p->up = 0;
	netif_carrier_off(dev);
	nic_writel(p->nic, NIC_IMC, ~0u);
	nic_free_irq(p->nic);
	napi_disable(p->napi);
	nic_writel(p->nic, NIC_CTRL, NIC_CTRL_RST);
	rings_free(p);
	return 0;
}

static netdev_tx_t netdrv_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct netdrv *p = netdev_priv(dev);
	unsigned used = p->tx_next - p->tx_clean;
	dma_addr_t a;

	if (used >= p->n - 1 || (a = nic_dma_map_skb(p->nic, skb)) == NIC_DMA_ERROR) {
		p->tx_dropped++;
		kfree_skb(skb);
		netif_stop_queue(dev);
		return NETDEV_TX_OK;
	}
	unsigned i = p->tx_next % p->n;
	p->tx_skb[i] = skb;
	p->tx_ring[i].addr = a;
	p->tx_ring[i].len = (unsigned short)skb->len;
	__atomic_store_n(&p->tx_ring[i].status, 0, __ATOMIC_RELEASE);
	p->tx_next++;
	nic_writel(p->nic, NIC_TDT, p->tx_next % p->n);
	if (used + 1 >= p->n - 2)
		netif_stop_queue(dev);	/* woken when tx_clean has made room */
	return NETDEV_TX_OK;
}

static int netdrv_change_mtu(struct net_device *dev, int new_mtu)
{
	struct netdrv *p = netdev_priv(dev);
	if (new_mtu < (int)dev->min_mtu || new_mtu > (int)dev->max_mtu)
		return -EINVAL;
	dev->mtu = (unsigned)new_mtu;
	/* buffers take the new size as the ring is refilled */
	p->bufsize = dev->mtu + ETH_HLEN;
	nic_writel(p->nic, NIC_MAXFRAME, dev->mtu + ETH_HLEN);
	return 0;
}

static int netdrv_set_mac_address(struct net_device *dev, const unsigned char *addr)
{
	struct netdrv *p = netdev_priv(dev);
	if (addr[0] & 1)
		return -EINVAL;		/* multicast */
	memcpy(dev->dev_addr, addr, ETH_ALEN);
	program_addr(p, addr);
	return 0;
}

static void netdrv_get_stats(struct net_device *dev)
{
	struct netdrv *p = netdev_priv(dev);
	struct net_device_stats *s = &dev->stats;
	s->rx_packets = p->rx_packets;
	s->rx_bytes = p->rx_bytes;
	s->tx_packets = p->tx_packets;
	s->tx_bytes = p->tx_bytes;
	s->rx_errors = p->rx_errors + nic_readl(p->nic, NIC_ROC);
	s->tx_errors = p->tx_errors;
	s->rx_dropped = p->rx_dropped + nic_readl(p->nic, NIC_FILT);
	s->tx_dropped = p->tx_dropped;
}

static const struct net_device_ops netdrv_ops = {
	.ndo_open = netdrv_open,
	.ndo_stop = netdrv_stop,
	.ndo_start_xmit = netdrv_start_xmit,
	.ndo_change_mtu = netdrv_change_mtu,
	.ndo_set_mac_address = netdrv_set_mac_address,
	.ndo_get_stats = netdrv_get_stats,
};

/* ---- the module ---------------------------------------------------------------- */

static int param_uint(const char *name, unsigned *v, unsigned lo, unsigned hi)
{
	char buf[16], *end;
	int r = module_param_get(name, buf, sizeof(buf));
	if (r == -ENOENT)
		return 0;
	unsigned long x = r < 0 ? 0 : strtoul(buf, &end, 10);
	if (r < 0 || !*buf || *end || x < lo || x > hi) {
		pr_err("netdrv: %s=%s: not a number in [%u, %u]", name, r < 0 ? "?" : buf, lo, hi);
		return -EINVAL;
	}
	*v = (unsigned)x;
	return 0;
}

int init_module(void)
{
	struct netdrv *p;
	int r;

	if (param_uint("nic", &nic_index, 0, 7) || param_uint("ring", &ring_size, 8, 4096) ||
	    param_uint("weight", &weight, 1, 256) || param_uint("bug_every", &bug_every, 1, 1000000))
		return -EINVAL;
	if (ring_size & (ring_size - 1)) {
		pr_err("netdrv: ring=%u: not a power of 2", ring_size);
		return -EINVAL;
	}
	r = module_param_get("name", ifname, sizeof(ifname));
	if (r < 0 && r != -ENOENT)
		return -EINVAL;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n = ring_size;
	p->tx_skb = calloc(p->n, sizeof(*p->tx_skb));
	p->rx_skb = calloc(p->n, sizeof(*p->rx_skb));
	if (!p->tx_skb || !p->rx_skb) {
		r = -ENOMEM;
		goto fail;
	}
	p->nic = nic_claim(nic_index);
	if (!p->nic) {
		pr_err("netdrv: no card %u, or it is claimed", nic_index);
		r = -ENODEV;
		goto fail;
	}
	p->dev = alloc_netdev(ifname);
	if (!p->dev) {
		r = -ENOMEM;
		goto fail;
	}
	p->napi = netif_napi_add(p->dev, (int)weight);
	if (!p->napi) {
		r = -ENOMEM;
		goto fail;
	}
	p->napi->ops = &netdrv_napi_ops;
	p->napi->data = p;
	p->nic->irq_ops = &netdrv_irq_ops;
	p->nic->irq_data = p;

	unsigned lo = nic_readl(p->nic, NIC_PERM_RAL), hi = nic_readl(p->nic, NIC_PERM_RAH);
	unsigned char addr[ETH_ALEN] = { lo & 0xff, lo >> 8 & 0xff, lo >> 16 & 0xff, lo >> 24,
					 hi & 0xff, hi >> 8 & 0xff };
	struct net_device *dev = p->dev;
	memcpy(dev->dev_addr, addr, ETH_ALEN);
	dev->max_mtu = NK_MAX_MTU;
	dev->priv = p;
	dev->netdev_ops = &netdrv_ops;
	drv = p;
	r = register_netdev(dev);
	if (r) {
		pr_err("netdrv: register_netdev: %d", r);
		drv = NULL;
		goto fail;
	}
	pr_info("netdrv: %s on card %u, %u descriptors per ring", dev->name, nic_index, p->n);
	return 0;
fail:
	if (p->napi)
		netif_napi_del(p->napi);
	if (p->dev)
		free_netdev(p->dev);
	if (p->nic)
		nic_release(p->nic);
	free(p->tx_skb);
	free(p->rx_skb);
	free(p);
	return r;
}

void cleanup_module(void)
{
	struct netdrv *p = drv;
	if (!p)
		return;
	unregister_netdev(p->dev);	/* ndo_stop */
	netif_napi_del(p->napi);
	free_netdev(p->dev);
	nic_release(p->nic);
	free(p->tx_skb);
	free(p->rx_skb);
	free(p);
	drv = NULL;
}
