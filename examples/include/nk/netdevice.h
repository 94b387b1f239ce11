/*
 * nk/netdevice.h - the example kernel API's network devices, the C header
 * examples/idl/netdev.idl annotates.  Declarations only (see nk/core.h).
 */
#ifndef NK_NETDEVICE_H
#define NK_NETDEVICE_H

#include "nk/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum netdev_tx {
	NETDEV_TX_OK = 0x00,
	NETDEV_TX_BUSY = 0x10,
};
typedef enum netdev_tx netdev_tx_t;

struct net_device;
struct sk_buff;

struct net_device_stats {
	unsigned long rx_packets;
	unsigned long tx_packets;
};

struct sk_buff {
	unsigned int len;
	unsigned char *data;
	struct net_device *dev;
};

struct net_device_ops {
	int (*ndo_open)(struct net_device *dev);
	int (*ndo_stop)(struct net_device *dev);
	netdev_tx_t (*ndo_start_xmit)(struct sk_buff *skb, struct net_device *dev);
	int (*ndo_set_mac_address)(struct net_device *dev, void *addr);
	void (*ndo_tx_timeout)(struct net_device *dev, unsigned int txqueue);
};

struct net_device {
	char name[IFNAMSIZ];
	unsigned int flags;
	unsigned int mtu;
	struct net_device_stats stats;
	void *priv;
	unsigned long state;
	const struct net_device_ops *netdev_ops;
};

struct net_device *alloc_etherdev(int sizeof_priv);
void free_netdev(struct net_device *dev);
int register_netdev(struct net_device *dev);
void unregister_netdev(struct net_device *dev);
struct sk_buff *netdev_alloc_skb(struct net_device *dev, unsigned int len);
void kfree_skb(struct sk_buff *skb);
int netif_rx(struct sk_buff *skb);
int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, int len);

#ifdef __cplusplus
}
#endif

#endif
