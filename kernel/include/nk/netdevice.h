/*
 * nk/netdevice.h - network devices and packet buffers, after Linux's
 * driver model: a driver allocates a struct net_device, fills in its
 * net_device_ops and registers it; the kernel hands it frames to send
 * (ndo_start_xmit) and the driver hands the kernel the frames it
 * received (netif_receive_skb) from a NAPI poll.  idl/nk/netdev.idl
 * annotates it, and the emulated card's API (nk/nic.h).
 *
 * nkernel's net core joins each registered device to a TAP device of
 * the host named like it: what the host sends there goes to the
 * driver's ndo_start_xmit, what the driver receives comes out there.
 * docs/netdrv.md describes the model and where it differs from Linux.
 */
#ifndef NK_NETDEVICE_H
#define NK_NETDEVICE_H

#include <stdbool.h>

#include "nk/core.h"
#include "nk/nic.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IFNAMSIZ		/* <net/if.h> has the same */
#define IFNAMSIZ	16
#endif
#define ETH_ALEN	6
#define ETH_HLEN	14	/* destination, source, type */
#define ETH_DATA_LEN	1500
#define ETH_MIN_MTU	68
#define NK_MAX_MTU	9000	/* the largest MTU the net core takes */
#define NET_SKB_PAD	64	/* headroom before a buffer's data */

#ifndef IFF_UP
#define IFF_UP		0x1	/* open (as <net/if.h>) */
#endif

enum netdev_tx {
	NETDEV_TX_OK = 0,	/* the driver took the buffer (sent, queued or dropped) */
	NETDEV_TX_BUSY = 0x10,	/* not supported: the buffer is the driver's either way */
};
typedef enum netdev_tx netdev_tx_t;

/*
 * A packet buffer: one block, this header then the buffer (headroom,
 * data, tailroom).  It holds no pointer: the data is at skb_data(skb)
 * whatever address the buffer is seen at.  A driver never writes it: the
 * card fills it by DMA and the kernel's calls (skb_put) change it.
 */
struct sk_buff {
	unsigned int len;		/* bytes of data */
	unsigned int data_off;		/* where the data starts in head[] */
	unsigned int size;		/* bytes of head[] */
	unsigned int magic;		/* the kernel's: live or freed */
	unsigned int dma_nic;		/* the kernel's: the card it is mapped for */
	int ifindex;			/* the kernel's: its device */
	dma_addr_t dma_addr;		/* the kernel's: that mapping, or 0 */
	unsigned char head[];
};

static inline unsigned char *skb_data(const struct sk_buff *skb)
{
	return (unsigned char *)skb->head + skb->data_off;
}

/* What a device counted; the driver's own (ndo_get_stats fills them). */
struct net_device_stats {
	unsigned long rx_packets;
	unsigned long tx_packets;
	unsigned long rx_bytes;
	unsigned long tx_bytes;
	unsigned long rx_errors;
	unsigned long tx_errors;
	unsigned long rx_dropped;
	unsigned long tx_dropped;
};

struct net_device;

struct net_device_ops {
	/* The kernel opens a device when it is registered and stops it
	 * when it is unregistered. */
	int (*ndo_open)(struct net_device *dev);
	int (*ndo_stop)(struct net_device *dev);
	/* skb is the driver's from the call on (NETDEV_TX_OK always). */
	netdev_tx_t (*ndo_start_xmit)(struct sk_buff *skb, struct net_device *dev);
	/* Configuration: the driver checks the value, sets dev->mtu or
	 * dev->dev_addr and programs the card; 0 or -errno. */
	int (*ndo_change_mtu)(struct net_device *dev, int new_mtu);
	int (*ndo_set_mac_address)(struct net_device *dev, const unsigned char *addr);
	/* Fills dev->stats. */
	void (*ndo_get_stats)(struct net_device *dev);
};

struct net_device {
	char name[IFNAMSIZ];		/* a template ("eth%d") until registered */
	int ifindex;			/* a number of its own, never reused */
	unsigned int flags;		/* IFF_UP while open */
	unsigned int mtu;
	unsigned int min_mtu;		/* the driver's limits, set before registering */
	unsigned int max_mtu;
	unsigned char dev_addr[ETH_ALEN];
	struct net_device_stats stats;
	const struct net_device_ops *netdev_ops;
	void *priv;			/* the driver's */
	void *kpriv;			/* the kernel's */
};

/*
 * NAPI: a driver polls its card for work when the kernel says, instead
 * of in its interrupt handler.  The handler masks the card's interrupts
 * and calls napi_schedule; the kernel then calls ops->poll(napi, budget)
 * on its net thread until a poll does less than budget and calls
 * napi_complete_done, after which the driver unmasks the interrupts.
 */
struct napi_struct;

struct napi_ops {
	int (*poll)(struct napi_struct *napi, int budget);	/* work done */
};

struct napi_struct {
	const struct napi_ops *ops;	/* set before napi_enable */
	void *data;			/* the driver's */
	int weight;			/* the budget of each poll */
	void *kpriv;			/* the kernel's */
};

/* A device named after name ("eth%d": the first free number), MTU 1500,
 * no address; NULL on failure.  Its private data is the driver's own
 * memory, in dev->priv (netdev_priv). */
struct net_device *alloc_netdev(const char *name);
static inline struct net_device *alloc_etherdev(void)
{
	return alloc_netdev("eth%d");
}
static inline void *netdev_priv(const struct net_device *dev)
{
	return dev->priv;
}
void free_netdev(struct net_device *dev);
/* Names, registers and opens the device (ndo_open); 0, -EINVAL (no ops,
 * a bad MTU or name), -EEXIST, -EBUSY (the host's TAP device), or what
 * ndo_open returned. */
int register_netdev(struct net_device *dev);
/* Stops (ndo_stop) and unregisters it; waits for a call of its ops the
 * kernel is making. */
void unregister_netdev(struct net_device *dev);

/* A buffer for len bytes of data, NET_SKB_PAD of headroom, len 0. */
struct sk_buff *netdev_alloc_skb(struct net_device *dev, unsigned int len);
/* Frees a buffer: dropped (kfree_skb) or done with (dev_consume_skb_any). */
void kfree_skb(struct sk_buff *skb);
void dev_consume_skb_any(struct sk_buff *skb);
/* Adds len bytes to the data (the card wrote them); nothing if they do
 * not fit. */
void skb_put(struct sk_buff *skb, unsigned int len);
/* Hands a received frame to the kernel, which owns it from then on. */
void netif_receive_skb(struct sk_buff *skb);

void netif_carrier_on(struct net_device *dev);
void netif_carrier_off(struct net_device *dev);
bool netif_carrier_ok(const struct net_device *dev);
/* Flow control: no more ndo_start_xmit until the driver wakes the queue. */
void netif_stop_queue(struct net_device *dev);
void netif_wake_queue(struct net_device *dev);
bool netif_queue_stopped(const struct net_device *dev);
/* Frames the card has sent. */
void dev_sw_netstats_tx_add(struct net_device *dev, unsigned int packets, unsigned int len);

/* A NAPI context of dev, polled with budget weight (1..256). */
struct napi_struct *netif_napi_add(struct net_device *dev, int weight);
void netif_napi_del(struct napi_struct *napi);
/* Polls may run from now on (napi->ops set). */
void napi_enable(struct napi_struct *napi);
/* No more polls; waits for one that is running. */
void napi_disable(struct napi_struct *napi);
/* Polls soon (on the kernel's net thread). */
void napi_schedule(struct napi_struct *napi);
/* The poll that calls it is the last until the next napi_schedule. */
void napi_complete_done(struct napi_struct *napi, int work_done);

#ifdef __cplusplus
}
#endif

#endif
